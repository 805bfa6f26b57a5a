"""Settings: defaults written out, unknown keys refused, values checked."""

from __future__ import annotations

import os
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from estates.config import Config, load_config
from estates.errors import ConfigError

DEFAULTS = Path(__file__).parents[1] / "estates" / "default_config.toml"


def test_default_config_file_equals_the_defaults():
    assert load_config(DEFAULTS) == Config()


def test_every_setting_is_in_the_default_file_with_a_comment():
    text = DEFAULTS.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    lines = text.splitlines()
    for section in fields(Config):
        keys = {f.name for f in fields(getattr(Config(), section.name))}
        assert set(data[section.name]) == keys
        for key in keys:
            at = next(i for i, line in enumerate(lines) if line.startswith(f"{key} ="))
            assert lines[at - 1].startswith("#"), f"{key} has no comment above it"


@pytest.mark.parametrize(
    ("toml", "match"),
    [
        ("[score]\nweight_vaule = 1\n", "unknown setting \\[score\\] weight_vaule"),
        ("[scoring]\n", "unknown config section \\[scoring\\]"),
        ("[score]\nweight_value = 'high'\n", "should be a float"),
        ("[validation]\nnearest_within_m = -1\n", "must be zero or more"),
        ("[score]\nweight_value = 0\nweight_share = 0\nweight_backlog = 0\n", "all 0"),
        ("[score\n", "not valid TOML"),
    ],
)
def test_bad_config_is_refused_with_a_clear_message(tmp_path, toml, match):
    path = tmp_path / "estates.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=match):
        load_config(path)


def test_a_partial_file_keeps_the_other_defaults(tmp_path):
    path = tmp_path / "estates.toml"
    path.write_text("[score]\npenalty_pfi = 0.5\n")
    config = load_config(path)
    assert config.score.penalty_pfi == 0.5
    assert config.score.weight_value == Config().score.weight_value
    assert config.validation == Config().validation


# --- files that are not config files -------------------------------------------------


def test_a_config_that_is_not_a_regular_file_is_refused_without_reading_it(tmp_path):
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)  # opening it for reading would block forever
    with pytest.raises(ConfigError, match=r"config\.toml: not a regular file"):
        load_config(fifo)
    with pytest.raises(ConfigError, match="/dev/zero: not a regular file"):
        load_config(Path("/dev/zero"))
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(tmp_path)


def test_a_config_over_the_size_limit_is_refused(tmp_path):
    path = tmp_path / "big.toml"
    comment = "# " + "x" * 1000 + "\n"
    path.write_text("[score]\nweight_value = 1\n" + comment * 1100, encoding="utf-8")
    with pytest.raises(ConfigError, match="over the 1024 KiB limit"):
        load_config(path)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("score__weight_value", 1e308),
        ("score__weight_share", 1e7),
        ("score__penalty_quality", 1.5),
        ("validation__nearest_within_m", 1e9),
        ("validation__max_site_land_ha", 1e12),
        ("valuation__target_gbp", 1e300),
    ],
)
def test_numbers_beyond_sane_bounds_are_refused(setting, value):
    section, _, name = setting.partition("__")
    with pytest.raises(ConfigError, match=rf"\[{section}\] {name} = .* must be at most"):
        load_config(**{setting: value})


def test_an_override_from_an_option_is_reported_under_that_option(tmp_path):
    names = {"valuation__target_gbp": "--target-gbp"}
    with pytest.raises(ConfigError) as err:
        load_config(option_names=names, valuation__target_gbp=-5.0)
    assert str(err.value) == "target_gbp=-5.0 must be more than zero"
    assert err.value.for_command_line == "--target-gbp -5 must be more than zero"
    with pytest.raises(ConfigError) as err:
        load_config(option_names=names, valuation__target_gbp=1e20)
    assert err.value.for_command_line == "--target-gbp 1e+20 must be at most 1e+15"
    # A bad value in the file is the file's, and the option given beside it wins.
    path = tmp_path / "estates.toml"
    path.write_text("[valuation]\ntarget_gbp = -3\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, option_names=names)
    assert (
        err.value.for_command_line == "config [valuation] target_gbp = -3.0 must be more than zero"
    )
    config = load_config(path, option_names=names, valuation__target_gbp=5e9)
    assert config.valuation.target_gbp == 5e9
