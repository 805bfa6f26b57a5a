"""Draw a series of matplotlib figures on one Agg canvas and write each as a PNG, quickly.

A build draws six pictures of the same size (London's and one per pilot) that
share most of their text: the footer of caveats and credits, the legend's
headings and entries. matplotlib's Agg renderer lays out and rasterises every
line of text again for each picture, glyph by glyph (since 3.11 with a Python
loop per glyph), which was most of a picture's drawing time; and
``Figure.savefig`` writes the PNG with Pillow's adaptive row filters at zlib
level 6, which was most of the rest.

:class:`PictureSeries` keeps what one picture drew for the next:

- each line of plain text is rasterised once, into a small RGBA image (a
  *stamp*) keyed by the text, the font, the colour, the resolution and the
  hinting setting, and that image is blended where the line goes, its origin
  at a whole pixel (as matplotlib placed text up to 3.10). A line drawn again,
  in this picture or a later one, costs one image blend. A new line is
  rasterised by FreeType in one call, as matplotlib did up to 3.10, unless
  its font lacks a character or it asks for font features. The line is laid
  out once: the layout that measures it (for matplotlib's text placement)
  also gives the coverage its stamps are made of, whatever their colour;
- a part every picture repeats (the legend's shared rows) can be kept whole
  (:meth:`PictureSeries.stamp`) and moved into place by whole pixels;
- one renderer serves every picture of the same pixel size, so matplotlib's
  own cache of text extents (kept per renderer) serves them all too.

:func:`write_png` writes the canvas as an 8-bit RGB PNG (RGBA if any pixel is
not opaque) with no row filter and zlib level 3: on these flat-coloured maps
that is both smaller and four times faster than the adaptive filters.

Everything here is a pure function of its inputs: the same figures give the
same bytes, whatever was drawn before (a stamp does not depend on where its
line goes).
"""

from __future__ import annotations

import contextlib
import math
import struct
import zlib
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import matplotlib as mpl
import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends import backend_agg
from matplotlib.figure import Figure
from matplotlib.font_manager import findfont, get_font

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["PictureSeries", "write_png"]

#: zlib level of the PNGs: unfiltered, ``london.png`` takes 359 KiB in 21 ms at level 3, against
#: 335 KiB in 60 ms at level 6 (and 463 KiB in 130 ms through Pillow's adaptive filters).
PNG_LEVEL = 3

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# matplotlib's Agg backend carries no annotations: its classes are used as ``Any``.
_RendererAgg: Any = backend_agg.RendererAgg
_FigureCanvasAgg: Any = backend_agg.FigureCanvasAgg
_get_hinting_flag: Any = backend_agg.get_hinting_flag


class PictureSeries:
    """Figures drawn one after another, sharing rasterised text and the renderer.

    Make each figure with :meth:`new_figure`, add its artists as usual, then
    :meth:`save_png` it (or :meth:`queue_png` it and, after the last,
    :meth:`wait`, or leave a ``with`` block). Figures of other sizes work
    too; they get their own renderer.

    Examples
    --------
    >>> import tempfile
    >>> series = PictureSeries()
    >>> out = Path(tempfile.mkdtemp())
    >>> for name in ("a", "b"):
    ...     fig = series.new_figure((2, 1), dpi=100)
    ...     _ = fig.text(0.1, 0.5, "The same words")
    ...     _ = series.save_png(fig, out / f"{name}.png")
    >>> (out / "a.png").read_bytes() == (out / "b.png").read_bytes()
    True
    >>> series.stamp_count  # the line was rasterised once
    1
    """

    def __init__(self) -> None:
        self._renderers: dict[tuple[int, int, float], _StampRenderer] = {}
        self._stamps: dict[tuple[Any, ...], _Stamp | None] = {}
        self._layouts: dict[tuple[Any, ...], _Layout] = {}
        self._drawn: dict[tuple[Any, ...], _Stamp] = {}  # pixels, left, bottom
        self._writer: ThreadPoolExecutor | None = None
        self._writing: Future[None] | None = None

    @property
    def stamp_count(self) -> int:
        """Number of distinct lines of text rasterised so far."""
        return len(self._stamps)

    def new_figure(self, figsize: tuple[float, float], *, dpi: float) -> Figure:
        """Return an empty white figure of ``figsize`` inches at ``dpi``, on this series' canvas."""
        figure = Figure(figsize=figsize, dpi=dpi, facecolor="white")
        _SeriesCanvas(figure, self)
        return figure

    def adopt(self, figure: Figure) -> Figure:
        """Take ``figure``, made by another series' :meth:`new_figure` and not drawn, as its own."""
        canvas = figure.canvas
        if not isinstance(canvas, _SeriesCanvas):
            msg = "a series adopts only figures made by a series' new_figure"
            raise ValueError(msg)
        canvas.series = self
        return figure

    def scratch(self, width: int, height: int, dpi: float) -> Any:
        """Return a new transparent renderer that draws text from this series' stamps."""
        return _StampRenderer(width, height, dpi, self._stamps, self._layouts)

    def renderer(self, width: int, height: int, dpi: float) -> Any:
        """Return the series' renderer for a canvas of ``width`` x ``height`` pixels at ``dpi``."""
        key = (width, height, dpi)
        if key not in self._renderers:
            self._renderers[key] = _StampRenderer(width, height, dpi, self._stamps, self._layouts)
        return self._renderers[key]

    def stamp(
        self,
        key: Hashable,
        make: Callable[[], Artist],
        *,
        shift: tuple[int, int] = (0, 0),
        zorder: float = 5,
    ) -> Artist:
        """Return an artist that draws what ``make()`` returns, rasterised once per ``key``.

        For a part that pictures repeat (a legend's shared rows): the first
        figure to draw it calls ``make``, draws the artist on a transparent
        canvas and keeps its pixels; later figures blend those pixels and never
        call ``make``. ``key`` must name everything the part shows; ``make``
        must put it in the same place (in display space) every time. Each
        figure blends it ``shift`` whole pixels (right, up) from that place, so
        where the part stands needs no new rasterising and never changes its
        pixels.
        """
        return _StampArtist(self, key, make, shift, zorder)

    def save_png(self, figure: Figure, path: Path) -> Path:
        """Draw ``figure`` (made by :meth:`new_figure`) and write it to ``path`` as a PNG."""
        write_png(Path(path), self._drawn_pixels(figure), dpi=figure.dpi)
        return Path(path)

    def queue_png(self, figure: Figure, path: Path) -> Path:
        """Draw ``figure`` now and write its PNG on a second thread; :meth:`wait` for it.

        Encoding a picture (dropping its alpha channel, deflating it, writing
        the file) runs almost entirely outside the interpreter's lock, so the
        next figure is drawn meanwhile. One PNG is written at a time, and the
        one before is finished before another is queued, so no more than two
        pictures' pixels are held. The bytes are those :meth:`save_png` writes.
        """
        pixels = np.array(self._drawn_pixels(figure))  # the renderer is drawn over next
        previous, self._writing = self._writing, None
        if previous is not None:
            previous.result()
        if self._writer is None:
            from concurrent.futures import ThreadPoolExecutor

            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="estates-png")
        self._writing = self._writer.submit(write_png, Path(path), pixels, dpi=figure.dpi)
        return Path(path)

    def __enter__(self) -> PictureSeries:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        """Finish the PNG being written (:meth:`wait`); after an error, without raising another."""
        if kind is None:
            self.wait()
            return
        with contextlib.suppress(Exception):
            self.wait()

    def wait(self) -> None:
        """Finish the PNG :meth:`queue_png` is writing, raising what writing it raised."""
        writing, writer = self._writing, self._writer
        self._writing = self._writer = None
        try:
            if writing is not None:
                writing.result()
        finally:
            if writer is not None:
                writer.shutdown(wait=True)

    def _drawn_pixels(self, figure: Figure) -> np.ndarray:
        """Draw ``figure`` on this series' renderer and return its RGBA pixels (not a copy)."""
        canvas = figure.canvas
        if not isinstance(canvas, _SeriesCanvas) or canvas.series is not self:
            msg = "a series draws only figures made by this series' new_figure"
            raise ValueError(msg)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())


class _SeriesCanvas(_FigureCanvasAgg):  # type: ignore[misc]  # untyped base
    """An Agg canvas whose renderer belongs to a :class:`PictureSeries`."""

    def __init__(self, figure: Figure, series: PictureSeries) -> None:
        super().__init__(figure)
        self.series = series

    def get_renderer(self) -> Any:
        """Return the series' renderer for this figure's pixel size and resolution."""
        width, height = self.get_width_height(physical=True)
        self.renderer = self.series.renderer(width, height, self.figure.dpi)
        return self.renderer


class _StampArtist(Artist):
    """An artist drawn from pixels its series keeps (see ``PictureSeries.stamp``)."""

    def __init__(
        self,
        series: PictureSeries,
        key: Hashable,
        make: Callable[[], Artist],
        shift: tuple[int, int],
        zorder: float,
    ) -> None:
        super().__init__()
        self._series = series
        self._key = key
        self._make = make
        self._shift = shift
        self.set_zorder(zorder)

    def draw(self, renderer: Any) -> None:
        """Blend the kept pixels; make, draw and keep them first if this key is new."""
        if not self.get_visible():
            return
        width, height = int(renderer.width), int(renderer.height)
        key = (self._key, width, height, renderer.dpi)
        drawn = self._series._drawn
        if key not in drawn:
            scratch = self._series.scratch(width, height, renderer.dpi)
            self._make().draw(scratch)
            image = np.asarray(scratch.buffer_rgba())
            ink = image[..., 3] > 0
            rows = np.flatnonzero(ink.any(axis=1))
            cols = np.flatnonzero(ink.any(axis=0))
            if not len(rows):
                drawn[key] = np.empty((0, 0, 4), dtype=np.uint8), 0, 0
            else:
                pixels = image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1][::-1].copy()
                drawn[key] = pixels, int(cols[0]), height - int(rows[-1]) - 1
        pixels, left, bottom = drawn[key]
        if pixels.size:
            gc = renderer.new_gc()
            renderer.draw_image(gc, left + self._shift[0], bottom + self._shift[1], pixels)
            gc.restore()


#: A rasterised line: its RGBA pixels (rows bottom-up, as ``draw_image`` takes them) and the
#: offset of their top-left corner from the line's origin, in whole pixels (x right, y down).
_Stamp = tuple[np.ndarray, int, int]


class _Layout(NamedTuple):
    """A line of plain text laid out once: its extent and, if one FreeType call draws it, its ink.

    ``width``, ``height`` and ``descent`` are in pixels, as matplotlib measures
    them. ``coverage`` is the line's ink (rows top-down, cropped to it), with
    the offset of its top-left corner from the line's origin, ``left`` and
    ``top`` (x right, y down); None when the font lacks a character.
    """

    width: float
    height: float
    descent: float
    coverage: np.ndarray | None
    left: int
    top: int


class _StampRenderer(_RendererAgg):  # type: ignore[misc]  # untyped base
    """``RendererAgg`` that draws each line of plain text from a stamp, rasterised once."""

    def __init__(
        self,
        width: int,
        height: int,
        dpi: float,
        stamps: dict[tuple[Any, ...], _Stamp | None],
        layouts: dict[tuple[Any, ...], _Layout],
    ) -> None:
        super().__init__(width, height, dpi)
        self._stamps = stamps
        self._layouts = layouts

    def get_text_width_height_descent(self, s: str, prop: Any, ismath: Any) -> Any:
        """Return a line's width, height and descent in pixels, measured once per series."""
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        return self._layout(s, prop)[:3]

    def _layout(self, s: str, prop: Any) -> _Layout:
        """Lay ``s`` out as matplotlib measures it, once per series; keep its ink if plain.

        The font is matplotlib's own for ``prop`` (with its fallbacks), so the
        extent is matplotlib's. The ink is kept when the first font has every
        character: then FreeType's one-call line rendering draws it as
        matplotlib up to 3.10 did.
        """
        key = (s, hash(prop), self.dpi, *_text_settings())
        if key in self._layouts:
            return self._layouts[key]
        font = self._prepare_font(prop)
        font.set_text(s, 0.0, flags=_get_hinting_flag())
        width, height = font.get_width_height()
        descent = font.get_descent()
        coverage, left, top = None, 0, 0
        first = get_font(findfont(prop))
        if all(first.get_char_index(ord(c)) for c in set(s)):
            font.draw_glyphs_to_bitmap(antialiased=True)
            ink = np.asarray(font.get_image())
            rows = np.flatnonzero(ink.any(axis=1))
            cols = np.flatnonzero(ink.any(axis=0))
            if not len(rows):
                coverage = np.empty((0, 0), dtype=np.uint8)
            else:
                coverage = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].copy()
                # Where matplotlib up to 3.10 put the bitmap: its bottom one pixel under
                # baseline + descent.
                x, y = font.get_bitmap_offset()
                left = round(x / 64) + int(cols[0])
                top = round(y / 64 + descent / 64) + 1 - ink.shape[0] + int(rows[0])
        layout = _Layout(width / 64, height / 64, descent / 64, coverage, left, top)
        self._layouts[key] = layout
        return layout

    def draw_text(  # noqa: PLR0917 - matplotlib's signature
        self,
        gc: Any,
        x: float,
        y: float,
        s: str,
        prop: Any,
        angle: float,
        ismath: Any = False,
        mtext: Any = None,
    ) -> None:
        """Draw ``s`` with its baseline's left end at ``x``, ``y`` (pixels, y down).

        Mathematics, turned text and translucent colours are drawn as
        matplotlib draws them; so is a line whose ink would leave its stamp.
        """
        if ismath or angle % 360 or gc.get_alpha() != 1 or not gc.get_antialiased():
            super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
            return
        key = (
            s,
            hash(prop),
            tuple(gc.get_rgb()),
            gc.get_forced_alpha(),
            self.dpi,
            *_text_settings(),
            repr(getattr(mtext, "get_fontfeatures", lambda: None)()),
            repr(getattr(mtext, "get_language", lambda: None)()),
        )
        if key not in self._stamps:
            self._stamps[key] = self._rasterise(gc, s, prop, mtext)
        stamp = self._stamps[key]
        if stamp is None:  # ink beyond the stamp's margin: draw it directly
            super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
            return
        pixels, dx, dy = stamp
        if not pixels.size:
            return
        top = round(y) + dy
        self.draw_image(gc, round(x) + dx, self.height - top - pixels.shape[0], pixels)

    def _rasterise(self, gc: Any, s: str, prop: Any, mtext: Any) -> _Stamp | None:
        """Rasterise ``s`` at a whole-pixel origin, in one FreeType call where that draws it alike.

        That is when the font has every character and the text asks for no
        font features or language; otherwise as matplotlib draws it.
        """
        plain = getattr(mtext, "get_fontfeatures", lambda: None)() is None
        plain &= getattr(mtext, "get_language", lambda: None)() is None
        stamp = self._rasterise_line(gc, s, prop) if plain else None
        return stamp if stamp is not None else self._rasterise_glyphs(gc, s, prop, mtext)

    def _rasterise_line(self, gc: Any, s: str, prop: Any) -> _Stamp | None:
        """Colour the ink of ``s`` as laid out by FreeType's own line rendering.

        matplotlib 3.11 renders and blends each glyph in a Python loop; the
        line's layout (:meth:`_layout`) renders it into one coverage bitmap in
        C, five times as fast. Returns None if the font lacks a character
        (matplotlib would take it from a fallback font).
        """
        layout = self._layout(s, prop)
        if layout.coverage is None:
            return None
        pixels = np.empty((*layout.coverage.shape, 4), dtype=np.uint8)
        pixels[..., :3] = [round(255 * c) for c in gc.get_rgb()[:3]]
        pixels[..., 3] = layout.coverage
        return pixels[::-1].copy(), layout.left, layout.top

    def _rasterise_glyphs(self, gc: Any, s: str, prop: Any, mtext: Any) -> _Stamp | None:
        """Draw ``s`` on a transparent scratch canvas at a whole-pixel origin; crop to its ink."""
        width, height, descent = self.get_text_width_height_descent(s, prop, False)
        margin = math.ceil(prop.get_size_in_points() * self.dpi / 72) + 2
        base = margin + math.ceil(height - descent)
        scratch = _RendererAgg(
            math.ceil(width) + 2 * margin, math.ceil(height) + 2 * margin + 1, self.dpi
        )
        scratch_gc = scratch.new_gc()
        scratch_gc.copy_properties(gc)
        scratch_gc.set_clip_rectangle(None)
        scratch_gc.set_clip_path(None)
        scratch.draw_text(scratch_gc, margin, base, s, prop, 0.0, False, mtext)
        scratch_gc.restore()
        image = np.asarray(scratch.buffer_rgba())
        ink = image[..., 3] > 0
        rows = np.flatnonzero(ink.any(axis=1))
        cols = np.flatnonzero(ink.any(axis=0))
        if not len(rows):
            return np.empty((0, 0, 4), dtype=np.uint8), 0, 0
        if rows[0] == 0 or cols[0] == 0 or rows[-1] == len(ink) - 1 or cols[-1] == len(ink[0]) - 1:
            return None
        pixels = image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1][::-1].copy()
        return pixels, int(cols[0]) - margin, int(rows[0]) - base


def _text_settings() -> tuple[str, Any]:
    """Return the rc settings that change how a line of text is laid out and rasterised."""
    return str(mpl.rcParams["text.hinting"]), mpl.rcParams["text.kerning_factor"]


def write_png(path: Path, rgba: np.ndarray, *, dpi: float) -> None:
    """Write an RGBA pixel array (rows top-down) to ``path`` as a PNG.

    The file is 8-bit RGB when every pixel is opaque, else RGBA; every row is
    stored unfiltered and the whole deflated at :data:`PNG_LEVEL`. The
    resolution is recorded (``pHYs``, pixels per metre, as Pillow rounds it);
    nothing else is, so the same pixels give the same bytes.

    Parameters
    ----------
    path : pathlib.Path
        The file to write; its folder must exist.
    rgba : numpy.ndarray
        ``(height, width, 4)`` unsigned 8-bit pixels. Left unchanged.
    dpi : float
        Resolution in dots per inch.

    Raises
    ------
    ValueError
        If ``rgba`` is not a non-empty ``(height, width, 4)`` uint8 array.

    Examples
    --------
    >>> import tempfile
    >>> from PIL import Image
    >>> pixels = np.zeros((2, 3, 4), dtype=np.uint8); pixels[..., 0] = 200; pixels[..., 3] = 255
    >>> out = Path(tempfile.mkdtemp()) / "p.png"
    >>> write_png(out, pixels, dpi=150)
    >>> with Image.open(out) as im:
    ...     im.mode, im.size, im.getpixel((2, 1)), round(im.info["dpi"][0])
    ('RGB', (3, 2), (200, 0, 0), 150)
    """
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8 or not rgba.size:
        msg = f"write_png needs a (height, width, 4) uint8 array, got {rgba.dtype} {rgba.shape}"
        raise ValueError(msg)
    from PIL import Image

    height, width = rgba.shape[:2]
    opaque = bool(rgba[..., 3].min() == 255)
    channels = 3 if opaque else 4
    pixels = rgba
    if opaque:  # Pillow drops the alpha channel three times as fast as a strided numpy copy
        pixels = np.asarray(Image.fromarray(np.ascontiguousarray(rgba)).convert("RGB"))
    raw = np.empty((height, 1 + channels * width), dtype=np.uint8)
    raw[:, 0] = 0  # each row's filter: none
    raw[:, 1:] = pixels.reshape(height, channels * width)
    per_metre = int(dpi / 0.0254 + 0.5)
    header = struct.pack(">IIBBBBB", width, height, 8, 2 if opaque else 6, 0, 0, 0)
    Path(path).write_bytes(
        _PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1))
        + _chunk(b"IDAT", zlib.compress(raw.data, PNG_LEVEL))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    """Return one PNG chunk: length, type, data and the CRC of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
