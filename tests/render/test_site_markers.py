"""The pictures' site circles: drawn as ``scatter`` draws them, in order, alike ones at once."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from estates import style
from estates.render.site_markers import SiteMarkers, score_colour_codes

PALETTE = (*style.SCORE_PALETTE, style.UNSCORED_COLOUR)
EDGE = "#1f2933"


def _pixels(draw, *, axes=(0.0, 0.0, 1.0, 1.0)) -> np.ndarray:
    """RGBA pixels of a 4 x 3 inch figure at 100 dpi whose axes span 0..400 by 0..300."""
    fig = Figure(figsize=(4, 3), dpi=100, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes(axes)
    ax.set_axis_off()
    ax.set_xlim(0, 400)
    ax.set_ylim(0, 300)
    draw(ax)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)


def _markers(x, y, diameters, colours) -> SiteMarkers:
    return SiteMarkers(
        np.asarray(x, dtype=float),
        np.asarray(y, dtype=float),
        np.asarray(diameters, dtype=float),
        np.asarray(colours),
        PALETTE,
        edgecolor=EDGE,
        linewidth=0.5,
        alpha=0.92,
        zorder=5,
    )


def _scatter(ax, x, y, diameters, colours) -> None:
    ax.scatter(
        x,
        y,
        s=np.asarray(diameters, dtype=float) ** 2,
        c=[PALETTE[c] for c in colours],
        edgecolors=EDGE,
        linewidths=0.5,
        alpha=0.92,
        zorder=5,
    )


def test_score_colour_codes_are_score_colour():
    rng = np.random.default_rng(7)
    scores = np.concatenate(
        [rng.uniform(-0.5, 1.5, 5000), [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, np.nan, np.inf, -np.inf]]
    )
    scores = np.concatenate([scores, np.nextafter(scores[-9:-3], 2.0)])
    codes = score_colour_codes(scores)
    assert [PALETTE[c] for c in codes.tolist()] == [style.score_colour(s) for s in scores.tolist()]


def test_circles_are_drawn_as_scatter_draws_them():
    # Twelve circles apart from each other, of six sizes and every colour; centres on
    # whole pixels so that placing them at whole pixels moves none.
    x = np.arange(12) % 6 * 64 + 40.0
    y = np.arange(12) // 6 * 130 + 80.0
    diameters = np.array([3.0, 5.5, 8.0, 12.75, 20.0, 30.0] * 2)
    colours = np.arange(12) % len(PALETTE)
    ours = _pixels(lambda ax: ax.add_artist(_markers(x, y, diameters, colours)))
    theirs = _pixels(lambda ax: _scatter(ax, x, y, diameters, colours))
    assert ours.shape == theirs.shape == (300, 400, 3)
    inked = (theirs < 250).any(axis=2)
    assert inked.sum() > 2000  # the circles drew something
    assert ((ours < 250).any(axis=2) == inked).mean() > 0.995
    # Where they differ is the outline's anti-aliasing: every such pixel lies within
    # two pixels of a circle's edge (at 100 dpi a point is 100 / 72 pixels).
    rows, cols = np.nonzero(np.abs(ours - theirs).max(axis=2) > 2)
    centres_x, centres_y = x, 300 - y  # pixel columns and rows of the centres
    radii = diameters * 100 / 72 / 2
    from_edge = np.abs(
        np.hypot(cols[:, None] + 0.5 - centres_x, rows[:, None] + 0.5 - centres_y) - radii
    ).min(axis=1)
    assert len(rows)
    assert from_edge.max() <= 2.0
    for cx, cy, colour in zip(x, y, colours, strict=True):
        row, col = 300 - int(cy) - 1, int(cx)
        assert np.abs(ours[row, col] - theirs[row, col]).max() <= 2, PALETTE[colour]


def test_circles_are_drawn_in_the_order_given():
    # A large grey circle, a small red one on its middle, then a large yellow one over both.
    x, y = [150.0, 150.0, 170.0], [150.0, 150.0, 150.0]
    diameters, colours = [40.0, 10.0, 40.0], [5, 4, 0]
    markers = _markers(x, y, diameters, colours)
    assert markers.runs() == [(0, 1), (1, 2), (2, 3)]
    ours = _pixels(lambda ax: ax.add_artist(markers))
    theirs = _pixels(lambda ax: _scatter(ax, x, y, diameters, colours))
    assert np.abs(ours[149, 150] - theirs[149, 150]).max() <= 2
    # Yellow lies on top (it came last): the red shows through it only where it lies under.
    assert np.abs(ours[149, 150] - ours[149, 175]).max() > 10


def test_runs_join_only_neighbours_alike():
    markers = _markers([1] * 6, [1] * 6, [4, 4, 4, 6, 6, 4], [0, 0, 1, 1, 1, 1])
    assert markers.runs() == [(0, 2), (2, 3), (3, 5), (5, 6)]
    assert _markers([], [], [], []).runs() == []


def test_circles_stay_inside_the_axes():
    # The axes take the left half of the figure; a circle on their right edge is cut there.
    left = (0.0, 0.0, 0.5, 1.0)
    pixels = _pixels(lambda ax: ax.add_artist(_markers([400], [150], [40], [4])), axes=left)
    assert (pixels[:, 201:] == 255).all()
    assert (pixels[140:160, 190:200] < 250).any()


def test_every_circle_needs_its_values():
    with pytest.raises(ValueError, match="a y, a diameter and a colour for every x"):
        _markers([1, 2], [1], [4, 4], [0, 0])
