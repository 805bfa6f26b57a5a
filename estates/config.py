"""Configuration as data: every tunable number, with its default and its reason.

A :class:`Config` is frozen and checks its values when built. ``--config
estates.toml`` overrides any subset of the defaults; unknown keys are refused,
so a typo never silently leaves a default in force. The defaults are written
out in ``estates/default_config.toml`` (kept equal to this module by a test).
"""

from __future__ import annotations

import math
import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from estates.errors import ConfigError

#: ERIC 2016/17 site-sheet headers, renamed once at load to snake_case with units.
ERIC_SITE_COLUMNS: dict[str, str] = {
    "Organisation Code": "trust_code",
    "Organisation Name": "trust_name",
    "Commissioning Region": "commissioning_region",
    "Organisation Type": "trust_type",
    "Site Code": "site_code",
    "Site Name": "site_name",
    "Site Type": "site_type",
    "Gross internal floor area (m²)": "floor_area_gia_m2",
    "Occupied floor area (m²)": "floor_area_occupied_m2",
    "NHS estate occupied floor area (%)": "nhs_occupied_floor_pct",
    "Site heated volume (m³)": "heated_volume_m3",
    "Land area owned (Hectares)": "land_owned_ha",
    "Land area not delivering services (Hectares)": "land_unused_ha",
    "Clinical space (m²)": "clinical_space_m2",
    "Non-clinical space (m²)": "non_clinical_space_m2",
    "Not functionally suitable - occupied floor area (%)": "not_functionally_suitable_pct",
    "Floor area - empty (%)": "floor_empty_pct",
    "Floor area - under used (%)": "floor_underused_pct",
    "Age profile - pre 1948 (%)": "age_pre1948_pct",
    "Cost to eradicate high risk backlog (£)": "backlog_high_gbp",
    "Cost to eradicate significant risk backlog (£)": "backlog_significant_gbp",
    "Cost to eradicate moderate risk backlog (£)": "backlog_moderate_gbp",
    "Cost to eradicate low risk backlog (£)": "backlog_low_gbp",
    "Parking spaces available (No.)": "parking_spaces",
}

#: ERIC text columns; every other renamed column is numeric.
ERIC_TEXT_COLUMNS = frozenset(
    {
        "trust_code",
        "trust_name",
        "commissioning_region",
        "trust_type",
        "site_code",
        "site_name",
        "site_type",
    }
)

#: The ERIC site code of a trust's bundle of small sites: not a place.
ERIC_AGGREGATE_CODE = "AGGRE"

#: Where the default £11bn target comes from.
TARGET_SOURCE = (
    "London health and care devolution memorandum of understanding (November 2017): "
    "NHS estate in London valued at £11bn"
)


@dataclass(frozen=True)
class ValidationConfig:
    """Limits that separate a plausible record from a data-entry error."""

    #: A point inside no borough but this close (metres) to one takes the
    #: nearest borough: the ONS boundaries exclude the Thames.
    nearest_within_m: float = 250.0
    #: Land owned above this many times the site's floor area (GIA) is flagged
    #: as implausible. In ERIC 2016/17 London the largest real ratio is 31
    #: (Queen Mary's Hospital, Sidcup); 19 Aberdeen Park's 103 ha on 399 m² is 2,581.
    max_land_to_floor_ratio: float = 100.0
    #: Any single site reporting more land than this (ha) is rejected as absurd.
    #: The largest real London-trust site, Broadmoor, reports 146.86 ha.
    max_site_land_ha: float = 1000.0
    #: CSV files larger than this (bytes) are refused; use GeoParquet instead.
    max_csv_bytes: int = 512 * 1024**2

    def __post_init__(self) -> None:
        _positive(self, "nearest_within_m", allow_zero=True)
        _positive(self, "max_land_to_floor_ratio")
        _positive(self, "max_site_land_ha")
        _positive(self, "max_csv_bytes")


@dataclass(frozen=True)
class ScoreConfig:
    """Weights of the disposal score (see ``docs/scoring.md``).

    The score is ``w_value * value_part + w_share * share_part + w_backlog *
    backlog_part - penalty_pfi * pfi - penalty_quality * has_unresolved_flag``,
    each part scaled to [0, 1] across the scored sites and the three weights
    divided by their sum (so only their ratios matter), clipped to [0, 1].
    See ``docs/scoring.md``.
    """

    #: Weight of the estimated value of unused land.
    weight_value: float = 0.5
    #: Weight of the share of the site's land that is unused.
    weight_share: float = 0.3
    #: Weight of the backlog maintenance cost a disposal would avoid.
    weight_backlog: float = 0.2
    #: Penalty for a PFI site (a contractual constraint on disposal).
    penalty_pfi: float = 0.25
    #: Penalty for an unresolved data-quality flag.
    penalty_quality: float = 0.25

    def __post_init__(self) -> None:
        for f in fields(self):
            _positive(self, f.name, allow_zero=True)
        if self.weight_value + self.weight_share + self.weight_backlog <= 0:
            msg = "score weights weight_value, weight_share and weight_backlog are all 0"
            raise ConfigError(msg)


#: Allowed values of ``[valuation] method``.
VALUATION_CHOICES = ("range", "average")


@dataclass(frozen=True)
class ValuationConfig:
    """The target the disposal pipeline is measured against."""

    #: Value of NHS land in London put on it by the 2017 memorandum (£).
    target_gbp: float = 11e9
    #: Where that target comes from.
    target_source: str = TARGET_SOURCE
    #: How unused land is valued: "range" (MHCLG 2017 policy-appraisal values,
    #: industrial to residential £/ha by borough, or a --land-values file) or "average"
    #: (the target ÷ hectares owned at located London sites: derived from the target,
    #: not a land value, refused below 250 ha).
    method: str = "range"

    def __post_init__(self) -> None:
        _positive(self, "target_gbp")
        if self.method not in VALUATION_CHOICES:
            msg = (
                f"config [valuation] method = {self.method!r} is not one of "
                f"{', '.join(repr(c) for c in VALUATION_CHOICES)}"
            )
            raise ConfigError(msg)


@dataclass(frozen=True)
class Config:
    """All settings of one run. Build with :func:`load_config` or directly."""

    validation: ValidationConfig = field(default_factory=ValidationConfig)
    score: ScoreConfig = field(default_factory=ScoreConfig)
    valuation: ValuationConfig = field(default_factory=ValuationConfig)


_SECTIONS = {"validation": ValidationConfig, "score": ScoreConfig, "valuation": ValuationConfig}

#: Largest config file read, in bytes: the defaults take about 2 KiB.
MAX_CONFIG_BYTES = 1024**2

#: Upper bounds of numeric settings, with the reason they are sane: a weight
#: of 1e308 overflows the score to 0 everywhere, and no London site is larger
#: than London.
_MAXIMA: dict[tuple[str, str], float] = {
    ("validation", "nearest_within_m"): 10_000.0,  # 10 km: further is another borough
    ("validation", "max_land_to_floor_ratio"): 1e6,
    ("validation", "max_site_land_ha"): 160_000.0,  # Greater London is about 157,000 ha
    ("validation", "max_csv_bytes"): float(1 << 40),  # 1 TiB
    ("score", "weight_value"): 1e6,  # only the ratios of the three weights matter
    ("score", "weight_share"): 1e6,
    ("score", "weight_backlog"): 1e6,
    ("score", "penalty_pfi"): 1.0,  # the score lies in [0, 1]
    ("score", "penalty_quality"): 1.0,
    ("valuation", "target_gbp"): 1e15,  # a thousand trillion pounds
}


def load_config(
    path: Path | None = None, *, option_names: Mapping[str, str] | None = None, **overrides: Any
) -> Config:
    """Return the default :class:`Config`, updated from a TOML file and overrides.

    Parameters
    ----------
    path : pathlib.Path, optional
        A TOML file with any of the sections ``[validation]``, ``[score]``,
        ``[valuation]``. Unknown sections or keys are refused.
    **overrides
        ``section__key=value`` pairs applied after the file, e.g.
        ``valuation__target_gbp=5e9`` (the CLI's ``--target-gbp``).
    option_names : mapping of str to str, optional
        The command-line option each override came from, e.g.
        ``{"valuation__target_gbp": "--target-gbp"}``: a value out of range is
        then reported as that option's (``--target-gbp -5 must be more than
        zero``), since the user typed no config setting.

    Raises
    ------
    ConfigError
        For an unreadable file, unknown key, wrong type or out-of-range value.

    Examples
    --------
    >>> load_config(valuation__target_gbp=5e9).valuation.target_gbp
    5000000000.0
    >>> load_config(score__weight_vaule=1)
    Traceback (most recent call last):
    ...
    estates.errors.ConfigError: unknown setting [score] weight_vaule; known: ...
    """
    data: dict[str, dict[str, Any]] = {}
    if path is not None:
        try:
            data = tomllib.loads(_read_config_text(Path(path)))
        except tomllib.TOMLDecodeError as exc:
            msg = f"{path}: not valid TOML ({exc})"
            raise ConfigError(msg) from exc
    for key, value in overrides.items():
        section, _, name = key.partition("__")
        data.setdefault(section, {})[name] = value
    config = Config()
    for section, values in data.items():
        if section not in _SECTIONS:
            msg = f"unknown config section [{section}]; known: {', '.join(sorted(_SECTIONS))}"
            raise ConfigError(msg)
        if not isinstance(values, dict):
            msg = f"config [{section}] must be a table of settings"
            raise ConfigError(msg)
        cls = _SECTIONS[section]
        known = {f.name: f for f in fields(cls)}
        for name, value in values.items():
            if name not in known:
                msg = f"unknown setting [{section}] {name}; known: {', '.join(sorted(known))}"
                raise ConfigError(msg)
            default = getattr(getattr(config, section), name)
            values[name] = _coerce(section, name, value, default)
        try:
            config = replace(config, **{section: replace(getattr(config, section), **values)})
        except _OutOfRangeError as exc:
            key = f"{exc.section}__{exc.name}"
            option = (option_names or {}).get(key)
            if option is None or key not in overrides:
                raise
            python = f"{exc.name}={exc.value!r} {exc.need}"
            raise ConfigError(python, cli_message=f"{option} {exc.value:g} {exc.need}") from exc
    return config


class _OutOfRangeError(ConfigError):
    """A numeric setting out of its range, with what it needs, for :func:`load_config` to name."""

    def __init__(self, section: str, name: str, value: float, need: str) -> None:
        super().__init__(f"config [{section}] {name} = {value!r} {need}")
        self.section, self.name, self.value, self.need = section, name, value, need

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.section, self.name, self.value, self.need)


def _read_config_text(path: Path) -> str:
    """Return a config file's text, read only from a regular file of bounded size.

    ``--config /dev/zero`` would grow without end and a FIFO would block the
    run forever, so anything but a regular file is refused before it is
    opened, and at most :data:`MAX_CONFIG_BYTES` are read.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        msg = f"{path}: no such config file"
        raise ConfigError(msg) from exc
    except OSError as exc:
        msg = f"{path}: cannot read the config file ({exc.strerror})"
        raise ConfigError(msg) from exc
    if not stat.S_ISREG(info.st_mode):
        msg = f"{path}: not a regular file; --config takes a TOML file"
        raise ConfigError(msg)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        msg = f"{path}: cannot read the config file ({exc.strerror})"
        raise ConfigError(msg) from exc
    if len(raw) > MAX_CONFIG_BYTES:
        msg = f"{path}: over the {MAX_CONFIG_BYTES // 1024} KiB limit for a config file"
        raise ConfigError(msg)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        msg = f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})"
        raise ConfigError(msg) from exc


def _coerce(section: str, name: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool) or isinstance(value, bool):
        ok = isinstance(value, bool) and isinstance(default, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float))
        value = float(value) if ok else value
    elif isinstance(default, int):
        ok = isinstance(value, int)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        msg = (
            f"config [{section}] {name} = {value!r} should be a {type(default).__name__} "
            f"(default {default!r})"
        )
        raise ConfigError(msg)
    return value


def _positive(obj: object, name: str, *, allow_zero: bool = False) -> None:
    value = getattr(obj, name)
    section = type(obj).__name__.removesuffix("Config").lower()
    bad = not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero)
    if bad:
        need = "zero or more" if allow_zero else "more than zero"
        raise _OutOfRangeError(section, name, value, f"must be {need}")
    most = _MAXIMA.get((section, name))
    if most is not None and value > most:
        raise _OutOfRangeError(section, name, value, f"must be at most {most:g}")
