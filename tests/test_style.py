"""The one style module: Fisher-Jenks classes, the number formatter, light imports.

The classes are checked against ``mapclassify.FisherJenks`` itself (a test
dependency only) on many random draws, including heavy ties, where two
equally good breaks exist and only the same tie rule gives the same bins.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings

import hypothesis.strategies as st
import mapclassify
import numpy as np
import pytest
from browser import make_fixture
from hypothesis import given, settings

from estates import style
from estates.render.maps import render_maps
from estates.report.headline import headline_lines


def _mapclassify_bins(values: np.ndarray, k: int) -> tuple[float, ...]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Numba not installed", category=UserWarning)
        return tuple(float(b) for b in mapclassify.FisherJenks(values, k=k).bins)


@pytest.mark.parametrize("seed", range(60))
def test_fisher_jenks_bins_equal_mapclassify_on_random_draws(seed):
    rng = np.random.default_rng(seed)
    draws = {
        "normal": rng.normal(size=33) * 10 ** rng.uniform(-2, 9),
        "skewed": np.round(rng.exponential(size=33) * 50, 2),
        "ties": rng.integers(0, 7, 33).astype(float),
        "few": rng.integers(0, 4, int(rng.integers(5, 12))).astype(float),
    }
    for what, values in draws.items():
        distinct = len(np.unique(values))
        for k in range(2, min(5, distinct) + 1):
            ours = tuple(float(b) for b in style.fisher_jenks_bins(values, k))
            assert ours == _mapclassify_bins(values, k), (what, k, values.tolist())


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.floats(min_value=0, max_value=1e10, allow_nan=False, allow_subnormal=False),
        min_size=2,
        max_size=40,
    ),
    st.integers(min_value=2, max_value=5),
)
def test_fisher_jenks_bins_equal_mapclassify_hypothesis(values, k):
    y = np.asarray(values, dtype=float)
    k = min(k, len(np.unique(y)))
    if k < 2:
        assert len(np.unique(y)) == 1
        return
    assert tuple(float(b) for b in style.fisher_jenks_bins(y, k)) == _mapclassify_bins(y, k)


def test_classify_on_real_borough_figures_matches_mapclassify():
    _, boroughs, _, _ = make_fixture()
    values = boroughs["land_unused_ha"].to_numpy(dtype=float)
    classes = style.classify(values, style.UNUSED_PALETTE)
    assert classes.bins == _mapclassify_bins(values[~np.isnan(values)], 5)
    assert len(classes.colours) == 5


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (917_634_000.0, "gbp", "£917.6m"),
        (123_456_789.0, "gbp", "£123.5m"),
        (11e9, "gbp", "£11bn"),
        (1.25e9, "gbp", "£1.25bn"),
        (21_528_946.6, "gbp", "£21.5m"),
        (9_500.0, "gbp", "£10k"),
        (-2.5e6, "gbp", "-£2.5m"),
        (0.0, "gbp", "£0"),
        (42.62, "ha", "42.6 ha"),
        (0.79, "ha", "0.79 ha"),
        (1234.5, "ha", "1,234 ha"),
        (0.0834, "share", "8.3%"),
        (0.0015, "share", "0.15%"),
        (None, "share", "n/a"),
        (float("nan"), "gbp", "n/a"),
    ],
)
def test_format_figure_rule(value, unit, text):
    assert style.format_figure(value, unit) == text


def test_format_figure_refuses_an_unknown_unit():
    with pytest.raises(ValueError, match="unit must be one of gbp, ha, share, got 'acres'"):
        style.format_figure(1.0, "acres")  # type: ignore[arg-type]


def test_site_radii_equal_site_radius_px():
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.uniform(0, 40, 5000), [0.0, -1.0, np.nan, 1e9, 0.0049]])
    assert style.site_radii_px(values).tolist() == [style.site_radius_px(v) for v in values]


def _panel(path) -> str:
    """The side panel's HTML (title, figures, legend) of a map page."""
    match = re.search(r"estates\.ui\((\{.*?\})\);\n", path.read_text(encoding="utf-8"), re.S)
    assert match, "no panel"
    return json.loads(match.group(1))["panel"]


def test_terminal_headline_and_pages_write_the_same_figures(tmp_path):
    sites, boroughs, context, summary = make_fixture()
    paths = {p.name: p for p in render_maps(sites, boroughs, context, summary, tmp_path)}
    index = paths["index.html"].read_text(encoding="utf-8")
    london = _panel(paths["london.html"])
    lines = headline_lines(summary)
    figures = re.match(
        r"London: (.+ ha) not delivering services at \d+ located sites, (£\S+), (\S+%) of the "
        r"(£\S+) target",
        lines[0],
    )
    assert figures, lines[0]
    for text in figures.groups():
        assert f">{text}<" in index or f"{text} " in index, text
        assert text in london, text
    ncl = next(line for line in lines if "(ncl_estates)" in line)
    ha, gbp, share = re.search(r": (.+ ha), (£\S+), (\S+%) of the target", ncl).groups()
    ncl_page = _panel(paths["ncl_estates.html"])
    for text in (ha, gbp, share):
        assert text in index, text
        assert text in ncl_page, text


def test_importing_estates_loads_no_heavy_package():
    code = (
        "import sys, estates, estates.style, estates.render.qgis_style\n"
        "heavy = ('folium', 'branca', 'matplotlib', 'mapclassify', 'duckdb', 'scipy', 'sklearn')\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
