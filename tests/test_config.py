"""Settings: defaults written out, unknown keys refused, values checked."""

from __future__ import annotations

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
