"""Blank maps made ahead: the pictures drawn on them are the same bytes, and each is used once."""

from __future__ import annotations

import pytest

from estates.render import picture_frame
from estates.render.maps import prepare_maps
from estates.render.picture_canvas import PictureSeries


@pytest.fixture
def no_blank_maps():
    picture_frame._BLANK_MAPS.clear()
    yield
    picture_frame._BLANK_MAPS.clear()


def _job(result, folder):
    folder.mkdir()
    return prepare_maps(
        result.map_sites, result.boroughs, result.context, result.summary, folder
    ).pictures


def test_pictures_drawn_on_blank_maps_made_ahead_are_the_same_bytes(
    bundled_result, tmp_path, no_blank_maps
):
    fresh = _job(bundled_result, tmp_path / "fresh").draw()
    picture_frame.make_blank_maps(4)  # fewer than the six pictures: the rest make their own
    assert len(picture_frame._BLANK_MAPS[150]) == 4
    ahead = _job(bundled_result, tmp_path / "ahead").draw()
    assert picture_frame._BLANK_MAPS[150] == []  # each used once
    assert len(fresh) == len(ahead) == 6
    for one, other in zip(fresh, ahead, strict=True):
        assert one.read_bytes() == other.read_bytes(), one.name


def test_blank_maps_of_another_resolution_are_left(bundled_result, tmp_path, no_blank_maps):
    picture_frame.make_blank_maps(2, dpi=72)
    _job(bundled_result, tmp_path / "maps").draw()  # at 150 dpi
    assert len(picture_frame._BLANK_MAPS[72]) == 2


def test_a_series_adopts_only_a_series_figure():
    from matplotlib.figure import Figure

    series, other = PictureSeries(), PictureSeries()
    figure = other.new_figure((2, 1), dpi=50)
    assert series.adopt(figure) is figure
    assert figure.canvas.series is series
    with pytest.raises(ValueError, match="adopts only figures made by a series"):
        series.adopt(Figure())
