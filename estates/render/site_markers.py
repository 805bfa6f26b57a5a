"""The sites of a picture: one circle each, rasterised once per size and colour (matplotlib, Agg).

A picture of a large site file draws a hundred thousand circles or more.
``Axes.scatter`` has the renderer trace every circle's outline anew (Agg
rasterises one path per site: about 20 µs each); :class:`SiteMarkers` hands it
one circle for each run of sites of the same size and colour, which Agg
rasterises once and stamps at every site of the run, each at a whole pixel,
as the web map places its circles. The circles are drawn in the order given,
so a caller's rule of which lies on top still holds, and they look as
``scatter`` draws them but for that placing (at most half a pixel).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.colors import to_rgba
from matplotlib.path import Path
from matplotlib.transforms import Affine2D, IdentityTransform

from estates import style

__all__ = ["SiteMarkers", "score_colour_codes"]


def score_colour_codes(scores: np.ndarray) -> np.ndarray:
    """Return each score's place in ``SCORE_PALETTE + (UNSCORED_COLOUR,)``, as ``score_colour``.

    Examples
    --------
    >>> score_colour_codes(np.array([0.05, 0.2, 0.21, 0.95, 1.5, -1.0, np.nan])).tolist()
    [0, 0, 1, 4, 4, 0, 5]
    """
    scores = np.asarray(scores, dtype=float)
    bins = np.asarray(style.SCORE_BINS, dtype=float)
    # The first bin whose bound is at least the score, as score_colour's ``score <= bound``.
    codes = np.minimum(np.searchsorted(bins, scores, side="left"), len(bins) - 1)
    codes[np.isnan(scores)] = len(bins)
    return codes


class SiteMarkers(Artist):
    """Circles at points in data coordinates, drawn in order, runs of one size and colour at once.

    Parameters
    ----------
    x, y : numpy.ndarray
        The circles' centres, in the axes' data coordinates, in drawing order.
    diameters : numpy.ndarray
        Each circle's diameter in points (``scatter``'s ``s`` is its square).
    colours : numpy.ndarray
        Each circle's fill, as its place in ``palette``.
    palette : sequence of str
        The fill colours.
    edgecolor, linewidth, alpha : str, float, float
        The outline's colour and width (points), and the opacity of fill and outline.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        diameters: np.ndarray,
        colours: np.ndarray,
        palette: Sequence[str],
        *,
        edgecolor: str,
        linewidth: float,
        alpha: float,
        zorder: float,
    ) -> None:
        super().__init__()
        n = len(x)
        if not len(y) == len(diameters) == len(colours) == n:
            msg = "SiteMarkers needs a y, a diameter and a colour for every x"
            raise ValueError(msg)
        self._xy = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
        self._diameters = np.asarray(diameters, dtype=float)
        self._colours = np.asarray(colours, dtype=np.intp)
        self._faces = [to_rgba(c, alpha) for c in palette]
        self._edge = to_rgba(edgecolor, alpha)
        self._linewidth = linewidth
        self.set_alpha(alpha)
        self.set_zorder(zorder)

    def runs(self) -> list[tuple[int, int]]:
        """Return ``(start, stop)`` of each run of circles of the same diameter and colour."""
        n = len(self._xy)
        if not n:
            return []
        changes = (np.diff(self._diameters) != 0) | (np.diff(self._colours) != 0)
        starts = np.concatenate([[0], np.flatnonzero(changes) + 1])
        stops = np.concatenate([starts[1:], [n]])
        return list(zip(starts.tolist(), stops.tolist(), strict=True))

    def draw(self, renderer: Any) -> None:
        """Stamp each run's circle at its sites' pixels, run by run in order."""
        if not self.get_visible() or not len(self._xy):
            return
        renderer.open_group("site_markers", self.get_gid())
        pixels = self.get_transform().transform(self._xy)
        gc = renderer.new_gc()
        if self.get_clip_on():  # the axes' box, as every artist of theirs
            box = self.get_clip_box()
            if box is not None:
                gc.set_clip_rectangle(box)
            gc.set_clip_path(self.get_clip_path())
        gc.set_linewidth(self._linewidth)
        gc.set_foreground(self._edge, isRGBA=True)
        gc.set_alpha(self.get_alpha())
        circle, placed = Path.unit_circle(), IdentityTransform()
        for start, stop in self.runs():
            radius = renderer.points_to_pixels(float(self._diameters[start])) / 2
            renderer.draw_markers(
                gc,
                circle,
                Affine2D().scale(radius),
                Path(pixels[start:stop]),
                placed,
                self._faces[int(self._colours[start])],
            )
        gc.restore()
        renderer.close_group("site_markers")
        self.stale = False
