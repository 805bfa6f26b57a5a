"""The disposal pipeline against the target: ranked potential and, given a file, progress.

Without a ``--pipeline`` file, :func:`cumulative_pipeline` lists the ranked
candidates (:func:`estates.stages.score.rank_sites`) in rank order with their running
total of estimated value and hectares, and the share of the target each
running total reaches. With a file (:func:`estates.io.inputs.load_disposal_pipeline`),
:func:`track_progress` checks every row against the site table and adds up
realised receipts (sold sites) and the estimated value of sites at each
earlier stage. Bad rows are rejected, never guessed at: each becomes a
``rejected`` finding naming the file, row, column and fix.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from estates.errors import DataValidationError
from estates.findings import MAX_FINDINGS_PER_CHECK, Checked, Findings
from estates.frames import number_column
from estates.io.csv_reader import is_missing, parse_numbers
from estates.logs import counted
from estates.report.aggregate import _round, _text

log = logging.getLogger("estates")

#: The stages of a disposal, in order.
PIPELINE_STAGES = ("identified", "declared_surplus", "on_market", "sold")
#: Shares of the target at which ``summary.json`` says how many ranked sites it takes.
MILESTONES = (0.1, 0.25, 0.5, 1.0)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


#: ``summary.json`` lists this many ranked sites one by one in ``pipeline.cumulative``;
#: with more than twice as many, it lists them and then as many evenly spaced ranks, up to
#: the last, so the summary stays small however many sites are ranked.
CUMULATIVE_LISTED = 1000


def cumulative_pipeline(
    sites: pd.DataFrame, *, target_gbp: float, listed: int | None = None
) -> list[dict[str, Any]]:
    """Return the ranked candidates in rank order with running totals against the target.

    Parameters
    ----------
    sites : pandas.DataFrame
        The ranked site table (``disposal_rank``, ``land_unused_ha``,
        ``estimated_value_gbp``); left unchanged.
    target_gbp : float
        The target (£).
    listed : int, optional
        With more than ``2 * listed`` ranked sites, return the first ``listed``
        and ``listed`` evenly spaced ranks after them, the last included. The
        running totals are those of every ranked site either way.

    Returns
    -------
    list of dict
        One entry per ranked site (or per listed rank): ``rank``, ``site_code``, ``site_name``,
        ``borough_name``, ``land_unused_ha`` (ha), ``estimated_value_gbp`` (£),
        ``cumulative_value_gbp`` (£), ``cumulative_land_unused_ha`` (ha) and
        ``cumulative_share_of_target`` (0-1). A site with no estimated value
        adds nothing to the running value.

    Examples
    --------
    >>> s = pd.DataFrame({"site_code": ["A", "B", "C"], "site_name": ["a", "b", "c"],
    ...     "borough_name": ["X", "Y", "Z"], "disposal_rank": pd.array([2, 1, None], "Int64"),
    ...     "land_unused_ha": [1.0, 2.0, 0.0], "estimated_value_gbp": [10.0, 20.0, 0.0]})
    >>> [(e["site_code"], e["cumulative_share_of_target"]) for e in cumulative_pipeline(s,
    ...     target_gbp=60.0)]
    [('B', 0.333333333), ('A', 0.5)]
    """
    return _entries(_running(sites), target_gbp=target_gbp, listed=listed)


_Running = tuple[pd.DataFrame, pd.Series, pd.Series, pd.Series, pd.Series]


def _running(sites: pd.DataFrame) -> _Running:
    """Return the ranked sites in rank order, their value and land, and both running sums."""
    if "disposal_rank" in sites:
        ranked = sites.loc[sites["disposal_rank"].notna()].sort_values("disposal_rank")
    else:
        ranked = sites.iloc[:0]
    value = number_column(ranked, "estimated_value_gbp")
    land = number_column(ranked, "land_unused_ha")
    return ranked, value, land, value.fillna(0.0).cumsum(), land.fillna(0.0).cumsum()


def _entries(running: _Running, *, target_gbp: float, listed: int | None) -> list[dict[str, Any]]:
    """Return :func:`cumulative_pipeline`'s entries from :func:`_running`'s result."""
    ranked, value, land, cum_value, cum_land = running
    if listed is not None and len(ranked) > 2 * listed:
        keep = np.unique(
            np.concatenate(
                [np.arange(listed), np.linspace(listed, len(ranked) - 1, listed).round()]
            ).astype(int)
        )
        ranked, value, land = ranked.iloc[keep], value.iloc[keep], land.iloc[keep]
        cum_value, cum_land = cum_value.iloc[keep], cum_land.iloc[keep]

    def column(name: str) -> list[Any]:
        if name not in ranked:
            return [None] * len(ranked)
        values: list[Any] = ranked[name].astype(object).tolist()
        return values

    return [
        {
            "rank": int(rank),
            "site_code": _text(code),
            "site_name": _text(name),
            "borough_name": _text(borough),
            "land_unused_ha": _round(ha, 6),
            "estimated_value_gbp": _round(gbp, 0),
            "cumulative_value_gbp": _round(cum_gbp, 0),
            "cumulative_land_unused_ha": _round(cum_ha, 6),
            "cumulative_share_of_target": _round(cum_gbp / target_gbp, 9),
        }
        for rank, code, name, borough, ha, gbp, cum_gbp, cum_ha in zip(
            ranked["disposal_rank"].tolist(),
            column("site_code"),
            column("site_name"),
            column("borough_name"),
            land.tolist(),
            value.tolist(),
            cum_value.tolist(),
            cum_land.tolist(),
            strict=True,
        )
    ]


def milestones(cumulative: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return, for each share in :data:`MILESTONES`, how many ranked sites reach it.

    Examples
    --------
    >>> c = [{"cumulative_share_of_target": 0.2, "cumulative_land_unused_ha": 1.0},
    ...      {"cumulative_share_of_target": 0.6, "cumulative_land_unused_ha": 3.0}]
    >>> [(m["share"], m["sites"]) for m in milestones(c)]
    [(0.1, 1), (0.25, 2), (0.5, 2), (1.0, None)]
    """
    return _milestones(
        [entry["cumulative_share_of_target"] for entry in cumulative],
        [entry["cumulative_land_unused_ha"] for entry in cumulative],
    )


def _milestones(shares: list[float | None], lands: list[float | None]) -> list[dict[str, Any]]:
    """Milestones from every ranked site's rounded running share and hectares, in rank order."""
    out = []
    for share in MILESTONES:
        hit = next((i for i, s in enumerate(shares) if (s or 0.0) >= share), None)
        out.append(
            {
                "share": share,
                "reached": hit is not None,
                "sites": None if hit is None else hit + 1,
                "land_unused_ha": None if hit is None else lands[hit],
            }
        )
    return out


def track_progress(
    sites: pd.DataFrame,
    records: pd.DataFrame,
    *,
    target_gbp: float,
) -> Checked[dict[str, Any]]:
    """Check a disposal pipeline file against the site table and add up its progress.

    Each row needs a known ``site_code`` (an ERIC aggregate row is not a site),
    a ``stage`` in :data:`PIPELINE_STAGES`, receipts (£, 0 or more) if and only
    if the stage is ``sold``, an ISO ``date`` (YYYY-MM-DD), and no earlier row
    for the same site. Any other row is rejected: one ``rejected`` finding per
    problem (checks ``blank_site_code``, ``unknown_site_code``,
    ``ambiguous_site_code``, ``unknown_stage``, ``bad_receipts``,
    ``sold_without_receipts``, ``receipts_not_sold``, ``bad_date``,
    ``duplicate_site_code``).

    Parameters
    ----------
    sites : pandas.DataFrame
        The ranked site table; left unchanged.
    records : pandas.DataFrame
        From :func:`estates.io.inputs.load_disposal_pipeline`.
    target_gbp : float
        The target (£).

    Returns
    -------
    Checked
        ``findings``: one per problem of a rejected row; past
        :data:`~estates.findings.MAX_FINDINGS_PER_CHECK` of one check they are
        counted, not kept, so a file of junk rows costs no memory per row.
        ``value``: a dict of ``file``, ``rows_read``, ``rows_accepted``, ``rows_rejected``,
        ``stages`` (per stage: ``sites``, ``land_unused_ha``,
        ``estimated_value_gbp``, ``receipts_gbp``), ``realised_receipts_gbp``
        (sold), ``estimated_value_not_sold_gbp`` (the other stages),
        ``total_gbp`` (their sum), ``share_of_target``,
        ``realised_share_of_target``, ``sites_not_valued`` and ``sites``.

    Raises
    ------
    DataValidationError
        If no row of the file is usable; the message gives the first problem.

    Examples
    --------
    >>> s = pd.DataFrame({"site_code": ["A", "B"], "site_name": ["a", "b"],
    ...     "land_unused_ha": [1.0, 2.0], "estimated_value_gbp": [10.0, 20.0]})
    >>> r = pd.DataFrame({"site_code": ["A", "B", "Z"], "stage": ["sold", "on_market", "sold"],
    ...     "receipts_text": ["12", "", "5"], "date_text": ["2018-05-01"] * 3,
    ...     "source_file": "p.csv", "source_row": [2, 3, 4]})
    >>> p, f = track_progress(s, r, target_gbp=100.0)
    >>> p["realised_receipts_gbp"], p["estimated_value_not_sold_gbp"], p["share_of_target"]
    (12.0, 20.0, 0.32)
    >>> [str(x) for x in f]
    ["p.csv row 4 (site Z): site_code 'Z' is not in the site table; ..."]
    """
    name = str(records["source_file"].iloc[0]) if len(records) else "pipeline file"
    findings = Findings(max_per_check=MAX_FINDINGS_PER_CHECK)
    lookup = _site_lookup(sites)
    accepted: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    first_problem: str | None = None
    rejected = 0
    for rec, receipts in _pipeline_rows(records, name):
        row = int(rec["source_row"])
        problems = _row_problems(rec, receipts, lookup, seen)
        if problems:
            rejected += 1
            site_code = None if is_missing(rec["site_code"]) else rec["site_code"]
            for check, column, value, reason in problems:
                finding = findings.add(
                    name,
                    row,
                    reason,
                    action="rejected",
                    check=check,
                    site_code=site_code,
                    column=column,
                    value=value,
                )
                first_problem = first_problem or str(finding)
            continue
        code = str(rec["site_code"]).strip()
        seen[code] = row
        site = sites.loc[lookup[code][0]]
        accepted.append(
            {
                "site_code": code,
                "site_name": _text(site.get("site_name")),
                "borough_name": _text(site.get("borough_name")),
                "stage": _stage(rec["stage"]),
                "date": str(rec["date_text"]).strip(),
                "receipts_gbp": _round(receipts, 0),
                "land_unused_ha": _round(site.get("land_unused_ha"), 6),
                "estimated_value_gbp": _round(site.get("estimated_value_gbp"), 0),
                "disposal_rank": None
                if pd.isna(site.get("disposal_rank", pd.NA))
                else int(site["disposal_rank"]),
                "source_row": row,
            }
        )
    if not accepted:
        msg = (
            f"{name}: no usable rows ({rejected} rejected); first problem: {first_problem}"
            if first_problem
            else f"{name}: no rows"
        )
        raise DataValidationError(msg)
    result = _progress_totals(accepted, target_gbp=target_gbp)
    log.info(
        "disposal pipeline %s: %s accepted, %d rejected; %s of the target",
        name,
        counted(len(accepted), "row"),
        rejected,
        f"{result['share_of_target']:.1%}",
    )
    section = {
        "file": name,
        "rows_read": len(records),
        "rows_accepted": len(accepted),
        "rows_rejected": rejected,
        **result,
        "sites": accepted,
    }
    return Checked(section, findings)


def summarise_pipeline(
    sites: pd.DataFrame,
    records: pd.DataFrame | None,
    *,
    target_gbp: float,
) -> Checked[dict[str, Any]]:
    """Return ``summary.json``'s ``pipeline`` section, and the findings on the pipeline file.

    Parameters
    ----------
    sites : pandas.DataFrame
        The ranked site table; left unchanged.
    records : pandas.DataFrame or None
        A loaded ``--pipeline`` file, or None.
    target_gbp : float
        The target (£).

    Returns
    -------
    Checked
        ``findings``: the rejected pipeline rows (:func:`track_progress`).
        ``value``: a dict of ``target_gbp``, ``ranked_sites``, ``land_unused_ha``,
        ``estimated_value_gbp`` and ``share_of_target`` of all ranked sites,
        ``milestones`` (:func:`milestones`), ``cumulative``
        (:func:`cumulative_pipeline` with ``listed=CUMULATIVE_LISTED``),
        ``cumulative_listed`` (which ranks it lists, in words) and ``progress``
        (:func:`track_progress`, or None without a file).

    Examples
    --------
    >>> s = pd.DataFrame({"site_code": ["A"], "disposal_rank": pd.array([1], "Int64"),
    ...     "land_unused_ha": [2.0], "estimated_value_gbp": [5.0]})
    >>> d, _ = summarise_pipeline(s, None, target_gbp=10.0)
    >>> d["share_of_target"], d["progress"]
    (0.5, None)
    """
    running = _running(sites)
    ranked, _, _, cum_value, cum_land = running
    progress = None if records is None else track_progress(sites, records, target_gbp=target_gbp)
    section = pipeline_section(
        ranked=len(ranked),
        listed=_entries(running, target_gbp=target_gbp, listed=CUMULATIVE_LISTED),
        milestones=_milestones(
            [_round(v / target_gbp, 9) for v in cum_value.tolist()],
            [_round(v, 6) for v in cum_land.tolist()],
        ),
        progress=None if progress is None else progress.value,
        target_gbp=target_gbp,
    )
    return Checked(section, Findings() if progress is None else progress.findings)


def pipeline_section(
    *,
    ranked: int,
    listed: list[dict[str, Any]],
    milestones: list[dict[str, Any]],
    progress: dict[str, Any] | None,
    target_gbp: float,
) -> dict[str, Any]:
    """Return ``summary.json``'s ``pipeline`` section from its parts (:func:`summarise_pipeline`).

    ``listed`` are the :func:`cumulative_pipeline` entries (the last ranked site
    always among them) and ``milestones`` come from every ranked site's running
    totals, however they were added up.
    """
    last = listed[-1] if listed else None
    return {
        "target_gbp": target_gbp,
        "ranking": "candidates (in London, land_unused_ha > 0) by disposal_score, best first",
        "ranked_sites": ranked,
        "land_unused_ha": last["cumulative_land_unused_ha"] if last else 0.0,
        "estimated_value_gbp": last["cumulative_value_gbp"] if last else 0.0,
        "share_of_target": last["cumulative_share_of_target"] if last else 0.0,
        "milestones": milestones,
        "cumulative_listed": (
            "every ranked site"
            if len(listed) == ranked
            else f"the first {CUMULATIVE_LISTED:,} ranked sites, then "
            f"{len(listed) - CUMULATIVE_LISTED:,} evenly spaced ranks up to the last "
            f"({ranked:,}); every site's rank is in the site table (disposal_rank)"
        ),
        "cumulative": listed,
        "progress": progress,
    }


class RunningTotals:
    """The running totals of ranked sites fed in rank order, a batch at a time.

    Gives what :func:`summarise_pipeline` reads from a whole ranked table —
    the listed :func:`cumulative_pipeline` entries and the milestones — while
    holding only the listed rows: the build engine feeds it its ranked sites
    straight from disk. The running sums are added up in rank order, as the
    in-memory ``cumsum`` does, so the figures are the same to the last bit.
    """

    def __init__(self, ranked: int, *, target_gbp: float, listed: int = CUMULATIVE_LISTED) -> None:
        self.ranked = ranked
        self.target_gbp = target_gbp
        if ranked > 2 * listed:
            spaced = np.linspace(listed, ranked - 1, listed).round()
            keep = np.unique(np.concatenate([np.arange(listed), spaced]).astype(int))
        else:
            keep = np.arange(ranked)
        self._keep = keep
        self._done = 0
        self._value = 0.0
        self._land = 0.0
        self._pieces: list[pd.DataFrame] = []
        self._hits: dict[float, tuple[int, float | None]] = {}

    @property
    def kept(self) -> np.ndarray:
        """Return the places in rank order (0 for the first) of the rows it keeps, ascending.

        Only these rows' texts are read (:meth:`entries`): a caller that has to
        fetch the texts, such as the site names, need fetch only theirs.
        """
        return self._keep

    def add(self, batch: pd.DataFrame) -> None:
        """Add the next ranked sites, in rank order (``disposal_rank``, value and land columns)."""
        if not len(batch):
            return
        value = number_column(batch, "estimated_value_gbp")
        land = number_column(batch, "land_unused_ha")
        cum_value = np.cumsum(np.concatenate([[self._value], value.fillna(0.0).to_numpy()]))[1:]
        cum_land = np.cumsum(np.concatenate([[self._land], land.fillna(0.0).to_numpy()]))[1:]
        shares = np.array([_round(v / self.target_gbp, 9) or 0.0 for v in cum_value.tolist()])
        for share in MILESTONES:
            if share in self._hits:
                continue
            hit = np.flatnonzero(shares >= share)
            if len(hit):
                i = int(hit[0])
                self._hits[share] = (self._done + i + 1, _round(float(cum_land[i]), 6))
        start, stop = self._done, self._done + len(batch)
        kept = self._keep[(self._keep >= start) & (self._keep < stop)] - start
        if len(kept):
            self._pieces.append(
                batch.iloc[kept].assign(_cum_value=cum_value[kept], _cum_land=cum_land[kept])
            )
        self._value, self._land = float(cum_value[-1]), float(cum_land[-1])
        self._done = stop

    def entries(self) -> list[dict[str, Any]]:
        """Return the listed :func:`cumulative_pipeline` entries."""
        if not self._pieces:
            return []
        rows = pd.concat(self._pieces, ignore_index=True)
        running = (
            rows,
            number_column(rows, "estimated_value_gbp"),
            number_column(rows, "land_unused_ha"),
            rows["_cum_value"],
            rows["_cum_land"],
        )
        return _entries(running, target_gbp=self.target_gbp, listed=None)

    def milestones(self) -> list[dict[str, Any]]:
        """Return :func:`milestones` over every ranked site added."""
        return [
            {
                "share": share,
                "reached": share in self._hits,
                "sites": self._hits[share][0] if share in self._hits else None,
                "land_unused_ha": self._hits[share][1] if share in self._hits else None,
            }
            for share in MILESTONES
        ]


def _site_lookup(sites: pd.DataFrame) -> dict[str, list[Any]]:
    lookup: dict[str, list[Any]] = {}
    aggregate = (
        sites["is_aggregate"].astype("boolean").fillna(False)
        if "is_aggregate" in sites
        else pd.Series(False, index=sites.index)
    )
    for idx, code in sites["site_code"].astype("string").items():
        if pd.notna(code) and not aggregate[idx]:
            lookup.setdefault(str(code).strip(), []).append(idx)
    return lookup


#: Pipeline rows checked at a time: the Python objects of one slice, not of the file.
_SLICE_ROWS = 50_000


def _pipeline_rows(records: pd.DataFrame, name: str) -> Iterator[tuple[dict[str, Any], float]]:
    """Yield each pipeline row as a plain dict, with its receipts parsed (NaN if none).

    A slice at a time, as plain tuples (not ``iterrows``): a million-row file
    of junk takes seconds, and only one slice's cells are Python objects at once.
    """
    columns = list(records.columns)
    for start in range(0, len(records), _SLICE_ROWS):
        part = records.iloc[start : start + _SLICE_ROWS]
        receipts = parse_numbers(
            part["receipts_text"].astype(object),
            column="receipts_gbp",
            source_file=name,
            findings=None,
        ).tolist()
        cells = [part[c].tolist() for c in columns]
        for values, number in zip(zip(*cells, strict=True), receipts, strict=True):
            yield dict(zip(columns, values, strict=True)), number


def _stage(text: object) -> str:
    return re.sub(r"[\s-]+", "_", str(text).strip().lower())


def _row_problems(
    rec: Mapping[str, Any],
    receipts: float,
    lookup: dict[str, list[Any]],
    seen: dict[str, int],
) -> list[tuple[str, str, str | None, str]]:
    problems: list[tuple[str, str, str | None, str]] = []
    code_text = "" if is_missing(rec["site_code"]) else str(rec["site_code"]).strip()
    if not code_text:
        problems.append(
            ("blank_site_code", "site_code", None, "site_code is blank; give the ERIC site code")
        )
    elif code_text not in lookup:
        problems.append(
            (
                "unknown_site_code",
                "site_code",
                code_text,
                f"site_code {code_text!r} is not in the site table; check it against "
                "sites.csv (ERIC aggregate rows are not sites)",
            )
        )
    elif len(lookup[code_text]) > 1:
        problems.append(
            (
                "ambiguous_site_code",
                "site_code",
                code_text,
                f"site_code {code_text!r} names {len(lookup[code_text])} sites in the site "
                "table; make the site codes unique",
            )
        )
    elif code_text in seen:
        problems.append(
            (
                "duplicate_site_code",
                "site_code",
                code_text,
                f"site {code_text} already appears at row {seen[code_text]}; keep one row per "
                "site, at its latest stage",
            )
        )
    stage_text = "" if is_missing(rec["stage"]) else str(rec["stage"])
    stage = _stage(stage_text)
    if stage not in PIPELINE_STAGES:
        problems.append(
            (
                "unknown_stage",
                "stage",
                stage_text,
                f"stage {stage_text!r} is not one of {', '.join(PIPELINE_STAGES)}",
            )
        )
    receipts_text = str(rec["receipts_text"]).strip()
    has_text = not is_missing(receipts_text)
    if has_text and not (receipts >= 0):
        problems.append(
            (
                "bad_receipts",
                "receipts_gbp",
                receipts_text,
                f"receipts_gbp {receipts_text!r} is not a number of pounds, 0 or more; "
                "write e.g. 12500000",
            )
        )
    elif stage == "sold" and not has_text:
        problems.append(
            (
                "sold_without_receipts",
                "receipts_gbp",
                None,
                "stage is sold but receipts_gbp is blank; give the receipts in £",
            )
        )
    elif stage in PIPELINE_STAGES and stage != "sold" and has_text:
        problems.append(
            (
                "receipts_not_sold",
                "receipts_gbp",
                receipts_text,
                f"receipts_gbp is given but the stage is {stage}; blank it, or set the "
                "stage to sold",
            )
        )
    date_text = "" if is_missing(rec["date_text"]) else str(rec["date_text"]).strip()
    if not _is_iso_date(date_text):
        problems.append(
            (
                "bad_date",
                "date",
                date_text or None,
                f"date {date_text!r} is not an ISO date; write YYYY-MM-DD, e.g. 2018-04-01",
            )
        )
    return problems


def _is_iso_date(text: str) -> bool:
    if not _ISO_DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _progress_totals(accepted: list[dict[str, Any]], *, target_gbp: float) -> dict[str, Any]:
    stages: dict[str, dict[str, Any]] = {}
    for stage in PIPELINE_STAGES:
        rows = [a for a in accepted if a["stage"] == stage]
        stages[stage] = {
            "sites": len(rows),
            "land_unused_ha": _round(_total(a["land_unused_ha"] for a in rows), 6),
            "estimated_value_gbp": _round(_total(a["estimated_value_gbp"] for a in rows), 0),
            "receipts_gbp": _round(_total(a["receipts_gbp"] for a in rows), 0)
            if stage == "sold"
            else None,
        }
    realised = stages["sold"]["receipts_gbp"] or 0.0
    estimated = sum(stages[s]["estimated_value_gbp"] or 0.0 for s in PIPELINE_STAGES if s != "sold")
    not_valued = sum(
        1 for a in accepted if a["stage"] != "sold" and a["estimated_value_gbp"] is None
    )
    total = realised + estimated
    return {
        "stages": stages,
        "realised_receipts_gbp": realised,
        "estimated_value_not_sold_gbp": estimated,
        "total_gbp": total,
        "share_of_target": _round(total / target_gbp, 9),
        "realised_share_of_target": _round(realised / target_gbp, 9),
        "sites_not_valued": not_valued,
    }


def _total(values: Any) -> float:
    return float(sum(v for v in values if v is not None))
