"""The pictures drawn together are the pictures drawn one by one, byte for byte.

``render_static_maps`` shares the reprojected frames and the rasterised lines
of text between pictures (``picture_canvas.PictureSeries``); what a picture
shows must not depend on what was drawn before it, and the same inputs must
give the same bytes. ``write_png`` writes exactly the pixels it is given.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
from PIL import Image

from estates.errors import DataValidationError
from estates.render import picture_canvas
from estates.render.payload import names_from_summary, prepare_boroughs
from estates.render.picture_canvas import PictureSeries, write_png
from estates.render.static_map import MapPicture, render_static_map, render_static_maps

PILOTS = ("ncl_estates", "bhr_aco")


@pytest.fixture(scope="module")
def shared(bundled_result):
    """The boroughs, outlines and credit the build's pictures share."""
    summary = bundled_result.summary
    boroughs = prepare_boroughs(bundled_result.boroughs, names_from_summary(summary))
    return {
        "boroughs": boroughs.frame,
        "pilot_outlines": boroughs.pilot_outlines,
        "subregion_outlines": boroughs.subregion_outlines,
        "attribution": "Contains OS data © Crown copyright and database right 2020.",
    }


def _pictures(bundled_result, folder):
    pilots = bundled_result.summary["pilots"]
    london = MapPicture(
        bundled_result.map_sites,
        folder / "london.png",
        lines=("London: a headline", "A caveat that every picture states, under the map."),
    )
    return [
        london,
        *(
            MapPicture(
                bundled_result.map_sites,
                folder / f"{pid}.png",
                title=f"Pilot {pid}",
                lines=(f"{pid}: a headline", "A caveat that every picture states, under the map."),
                focus_codes=tuple(sorted(pilots[pid]["borough_codes"])),
                focus_pilot=pid,
            )
            for pid in PILOTS
        ),
    ]


def test_pictures_drawn_together_are_those_drawn_alone(bundled_result, shared, tmp_path):
    (tmp_path / "together").mkdir()
    (tmp_path / "alone").mkdir()
    boroughs, common = shared["boroughs"], {k: v for k, v in shared.items() if k != "boroughs"}
    pictures = _pictures(bundled_result, tmp_path / "together")
    together = render_static_maps(pictures, boroughs, **common)
    assert [p.name for p in together] == ["london.png", "ncl_estates.png", "bhr_aco.png"]
    # Alone, in the other order: no picture may borrow from the one drawn before it.
    for picture in reversed(_pictures(bundled_result, tmp_path / "alone")):
        render_static_map(
            picture.sites,
            boroughs,
            picture.out_path,
            title=picture.title,
            lines=picture.lines,
            focus_codes=picture.focus_codes,
            focus_pilot=picture.focus_pilot,
            **common,
        )
    for path in together:
        assert path.read_bytes() == (tmp_path / "alone" / path.name).read_bytes(), path.name


def test_a_bad_focus_writes_no_picture(bundled_result, shared, tmp_path):
    good, *_ = _pictures(bundled_result, tmp_path)
    bad = MapPicture(bundled_result.map_sites, tmp_path / "bad.png", focus_codes=("E09999999",))
    with pytest.raises(DataValidationError, match="focus_codes E09999999 name no borough"):
        render_static_maps([good, bad], shared["boroughs"])
    assert not list(tmp_path.glob("*.png"))


def test_a_line_drawn_again_is_its_first_drawing(tmp_path):
    # The same words at a whole pixel and between pixels, alone and after other text:
    # each is drawn where it belongs, from one rasterised line.
    series = PictureSeries()
    words = "Contains OS data © Crown copyright — £1.2m"
    first = series.new_figure((4, 1), dpi=150)
    first.text(0.1, 0.5, words, fontsize=7.5, color="#616e7c")
    series.save_png(first, tmp_path / "first.png")
    again = series.new_figure((4, 1), dpi=150)
    again.text(0.5, 0.1, "Something else first", fontsize=7.5)
    again.text(0.1, 0.5, words, fontsize=7.5, color="#616e7c")
    series.save_png(again, tmp_path / "again.png")
    assert series.stamp_count == 2
    first_px = np.asarray(Image.open(tmp_path / "first.png"))
    again_px = np.asarray(Image.open(tmp_path / "again.png"))
    top = slice(0, 120)  # above the other text
    assert (first_px[top] == again_px[top]).all()
    ink = (first_px[top] < 200).any(axis=2)
    assert ink.sum() > 500  # the words are drawn, not a blank stamp
    cols = np.nonzero(ink)[1]
    assert abs(cols.min() - 0.1 * 600) <= 2  # where the text starts: 10% of 600 px


LINES = (
    ("Contains OS data © Crown copyright and database right 2025 — £1.2m–£3.4bn", 7.5, "normal"),
    ("Devolution pilots", 9.5, "bold"),
    ("0.00 ha – 1.36 ha (gjpqy)", 10, "normal"),
)


def _ink_boxes(series, path):
    fig = series.new_figure((6, 1.2), dpi=150)
    for i, (words, size, weight) in enumerate(LINES):
        fig.text(0.02, 0.75 - 0.3 * i, words, fontsize=size, fontweight=weight, color="#1f2933")
    series.save_png(fig, path)
    pixels = np.asarray(Image.open(path).convert("L"))
    boxes = []
    for band in (slice(0, 60), slice(60, 110), slice(110, 180)):  # one line in each band
        rows, cols = np.nonzero(pixels[band] < 160)
        boxes.append((rows.min(), rows.max(), cols.min(), cols.max(), len(rows)))
    return boxes


def test_a_line_rasterised_at_once_matches_matplotlib_glyph_by_glyph(tmp_path, monkeypatch):
    # The fast path (FreeType renders the line) and matplotlib's own (one glyph at a time,
    # the fallback for text it cannot take) put the same ink in the same place.
    fast = _ink_boxes(PictureSeries(), tmp_path / "fast.png")
    monkeypatch.setattr(
        picture_canvas._StampRenderer, "_rasterise_line", lambda self, gc, s, prop: None
    )
    slow = _ink_boxes(PictureSeries(), tmp_path / "slow.png")
    for (r0, r1, c0, c1, ink), (s0, s1, d0, d1, slow_ink) in zip(fast, slow, strict=True):
        assert max(abs(r0 - s0), abs(r1 - s1), abs(c0 - d0), abs(c1 - d1)) <= 1
        assert abs(ink - slow_ink) <= 0.03 * slow_ink


def test_a_line_is_measured_as_matplotlib_measures_it(monkeypatch):
    # The layout that gives a line its stamp also gives matplotlib its extent: the same
    # numbers as matplotlib's own renderer, for plain lines, one with a character the
    # font lacks (no stamp is made from it) and mathematics; each line laid out once.
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    series = PictureSeries()
    ours, theirs = series.renderer(600, 200, 150), RendererAgg(600, 200, 150)
    plain = [
        ("Contains OS data © Crown copyright — £1.2m–£3.4bn", FontProperties(size=7.5)),
        ("Devolution pilots (gjpqy)", FontProperties(size=9.5, weight="bold")),
        (" ", FontProperties(size=10)),
    ]
    lacking = ("A site in 漢字 script", FontProperties(size=10))
    laid_out = []
    monkeypatch.setattr(
        picture_canvas._StampRenderer,
        "_prepare_font",
        lambda self, prop: laid_out.append(prop) or RendererAgg._prepare_font(self, prop),
    )
    for words, prop in plain * 2:
        expected = theirs.get_text_width_height_descent(words, prop, False)
        assert ours.get_text_width_height_descent(words, prop, False) == expected
    with pytest.warns(UserWarning, match="missing from font"):
        expected = theirs.get_text_width_height_descent(*lacking, False)
    with pytest.warns(UserWarning, match="missing from font"):
        assert ours.get_text_width_height_descent(*lacking, False) == expected
    assert len(laid_out) == len(plain) + 1
    assert ours._layout(*lacking).coverage is None
    assert ours._layout(*plain[0]).coverage.shape[1] > 200
    maths = (r"$\sqrt{2}$", FontProperties(size=10), True)
    assert ours.get_text_width_height_descent(*maths) == theirs.get_text_width_height_descent(
        *maths
    )


def _numbered(series, n):
    fig = series.new_figure((3, 1), dpi=100)
    fig.text(0.1, 0.4, f"Picture {n}", fontsize=30 + 5 * n)
    return fig


def test_queued_pictures_are_the_pictures_saved_one_by_one(tmp_path, monkeypatch):
    # Queued, each picture is written while the next is drawn on the same
    # renderer: each file must hold its own figure's pixels, as save_png writes them.
    write = picture_canvas.write_png

    def slow_write(*args, **kwargs):
        time.sleep(0.2)  # the next figure is drawn first
        write(*args, **kwargs)

    saved, queued = PictureSeries(), PictureSeries()
    monkeypatch.setattr(picture_canvas, "write_png", slow_write)
    for n in range(4):
        saved.save_png(_numbered(saved, n), tmp_path / f"saved{n}.png")
    for n in range(4):
        assert queued.queue_png(_numbered(queued, n), tmp_path / f"queued{n}.png") == (
            tmp_path / f"queued{n}.png"
        )
    queued.wait()
    queued.wait()  # nothing left: harmless
    sizes = set()
    for n in range(4):
        data = (tmp_path / f"queued{n}.png").read_bytes()
        assert data == (tmp_path / f"saved{n}.png").read_bytes()
        sizes.add(len(data))
    assert len(sizes) == 4  # four different pictures


def test_a_queued_picture_that_cannot_be_written_fails_the_series(tmp_path):
    series = PictureSeries()
    series.queue_png(_numbered(series, 0), tmp_path / "missing" / "first.png")
    with pytest.raises(FileNotFoundError):
        series.queue_png(_numbered(series, 1), tmp_path / "second.png")
    series.wait()
    assert not list(tmp_path.rglob("*.png"))  # the picture after the failure is not written
    series.queue_png(_numbered(series, 2), tmp_path / "missing" / "last.png")
    with pytest.raises(FileNotFoundError):
        series.wait()


def test_render_static_maps_raises_what_writing_a_picture_raised(bundled_result, shared, tmp_path):
    pictures = _pictures(bundled_result, tmp_path)
    broken = dataclasses.replace(pictures[0], out_path=tmp_path / "gone" / "london.png")
    with pytest.raises(FileNotFoundError):
        render_static_maps([pictures[1], broken], **shared)
    assert [p.name for p in tmp_path.glob("*.png")] == [pictures[1].out_path.name]
    with pytest.raises(FileNotFoundError):  # the last picture's failure too
        render_static_maps([broken], **shared)


def test_a_figure_of_another_series_is_refused(tmp_path):
    fig = PictureSeries().new_figure((1, 1), dpi=50)
    with pytest.raises(ValueError, match="only figures made by this series"):
        PictureSeries().save_png(fig, tmp_path / "x.png")


def test_write_png_keeps_every_pixel_and_translucency(tmp_path):
    rng = np.random.default_rng(7)
    opaque = rng.integers(0, 256, (31, 17, 4), dtype=np.uint8)
    opaque[..., 3] = 255
    write_png(tmp_path / "rgb.png", opaque, dpi=150)
    with Image.open(tmp_path / "rgb.png") as im:
        assert im.mode == "RGB"
        assert (np.asarray(im) == opaque[..., :3]).all()
        assert round(im.info["dpi"][0]) == 150
    clear = opaque.copy()
    clear[3, 5, 3] = 0
    write_png(tmp_path / "rgba.png", clear, dpi=72)
    with Image.open(tmp_path / "rgba.png") as im:
        assert im.mode == "RGBA"
        assert (np.asarray(im) == clear).all()


def test_write_png_refuses_other_arrays(tmp_path):
    with pytest.raises(ValueError, match=r"\(height, width, 4\) uint8 array, got float64"):
        write_png(tmp_path / "x.png", np.zeros((2, 2, 4)), dpi=150)
