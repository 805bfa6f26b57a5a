"""The build: every stage, run a part of the site records at a time, for every input size.

An input that fits in memory is one part; a larger one (or one built with
``--chunk-rows``) is read in parts of ``chunk_rows`` records. Either way the
same code runs:

1. Every input besides the sites is read and checked
   (:func:`estates.builder.reference.load_reference`), so a bad file fails
   before the long stages.
2. Each part of records is validated (keys taken by earlier parts are
   duplicates, :class:`~estates.builder.accumulators.SeenKeys`), located,
   joined, tagged and measured, and kept (in memory for one part, spilled to
   Parquet in a work folder otherwise). Its findings go to the sink.
3. Each part is valued (:class:`~estates.builder.valuing.ValuationPlan`:
   the 2017 range by default, each site on its own row), then scored with
   the whole table's divisors; its candidates' sort keys go to
   :class:`~estates.builder.ranking.Ranking`.
4. The candidates are ranked once; each part gets its ranks and goes to the
   sink (:mod:`estates.builder.sinks`); the totals, the rows the summary lists
   and the sites the maps draw are added up as it goes
   (:mod:`estates.builder.accumulators`).
5. The summary is made. Once it holds what the maps state, the caller's
   ``ready`` sees the result (the build hands the pictures to their process
   there); then a build in one part writes its site table, held until now,
   and the other ERIC years' sections are added, while the pictures are drawn.

Peak memory depends on the part size and the number of pilots, not on the
number of sites. A build in parts equals the one-part build file by file,
except that sums are added part by part (a float's last digit may differ).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa

from estates.builder.accumulators import (
    BasisTotals,
    ListedRows,
    MapSelection,
    ScaleTotals,
    SeenKeys,
    SiteTotals,
)
from estates.builder.inputs import Inputs
from estates.builder.memory import collections_skip_older_objects, release_freed_memory
from estates.builder.ranking import Ranking, Ranks
from estates.builder.reference import Reference, load_reference
from estates.builder.rows import add_pfi, finish_table
from estates.builder.sinks import FileSink, MemorySink
from estates.builder.years import EricYears, load_years, site_years_table
from estates.config import Config
from estates.crs import WGS84
from estates.errors import ConfigError
from estates.findings import MAX_FINDINGS_PER_CHECK, Findings
from estates.io import bundled
from estates.io.detect import ColumnMap
from estates.io.site_records import iter_site_records, read_site_records
from estates.logs import counted
from estates.report.aggregate import aggregate_boroughs
from estates.report.disposal import pipeline_section, track_progress
from estates.report.summary import summarise
from estates.report.years import (
    change_since,
    disposal_candidates,
    land_over_time,
    trust_level_check,
    year_sections,
)
from estates.stages.join import join_boroughs
from estates.stages.locate import locate_sites
from estates.stages.london import mark_london
from estates.stages.measures import assign_columns, measure_sites
from estates.stages.score import score_columns, score_unused_land
from estates.stages.sites import to_points
from estates.stages.tag import tag_groupings
from estates.stages.validate import validate_records
from estates.stages.valuation import Valuation

if TYPE_CHECKING:
    from estates.builder.runner import BuildReport

log = logging.getLogger("estates")

#: Rows handed to the sink at a time in a build of several parts (:meth:`_Parts.pieces`).
SINK_ROWS = 25_000
#: The most sites a map page draws, by default (:data:`estates.render.maps.MAX_MAP_SITES`).
MAX_MAP_SITES = 50_000


@dataclass
class BuildResult:
    """Everything one build produced besides the site files its sink wrote.

    Attributes
    ----------
    rows : int
        Rows of the site table.
    rejected_rows : int
        Rows of ``rejected.csv`` (findings of every kind).
    boroughs : geopandas.GeoDataFrame
        Borough polygons in WGS84 with ``subregion``, ``pilots`` and their totals.
    context : geopandas.GeoDataFrame
        NHS hospital and clinic records in WGS84, for the maps.
    groupings : pandas.DataFrame
        Pilot and sub-region memberships.
    counts : dict
        Counts per stage (``summary.json``'s ``counts``).
    summary : dict
        ``summary.json``.
    map_sites : geopandas.GeoDataFrame
        The sites some map page draws (each page's best), WGS84.
    page_totals : dict
        ``{"london": n, pilot_id: n, ...}``: located London sites per page.
    ranked : int
        Ranked sites.
    sites : geopandas.GeoDataFrame or None
        The whole site table in WGS84 (see ``docs/columns.md``), when the
        build kept it in memory (:func:`estates.build`); None when it was
        only written to files (``estates build``, or a build in parts).
    findings : Findings or None
        Every rejected, flagged or warned-about record, when kept in memory.
    site_years : geopandas.GeoDataFrame or None
        Every record of every ERIC year (WGS84), for a build of the bundled
        returns; None for a user's site files.
    report : BuildReport or None
        What publishing the output set did, when :func:`estates.build` was
        given ``out=``; None otherwise.
    """

    rows: int
    rejected_rows: int
    boroughs: gpd.GeoDataFrame
    context: gpd.GeoDataFrame
    groupings: pd.DataFrame
    counts: dict[str, Any]
    summary: dict[str, Any]
    map_sites: gpd.GeoDataFrame
    page_totals: dict[str, int] = field(default_factory=dict)
    ranked: int = 0
    sites: gpd.GeoDataFrame | None = None
    findings: Findings | None = None
    site_years: gpd.GeoDataFrame | None = None
    report: BuildReport | None = None


def run_build(
    inputs: Inputs,
    *,
    config: Config,
    sink: FileSink | MemorySink,
    chunk_rows: int | None = None,
    work_dir: Path | None = None,
    max_map_sites: int = MAX_MAP_SITES,
    ready: Callable[[BuildResult], None] | None = None,
) -> BuildResult:
    """Run every stage on ``inputs``, a part at a time, handing the site table to ``sink``.

    Parameters
    ----------
    inputs : Inputs
        The files; no site files means the bundled ERIC sites.
    config : Config
        The run's settings.
    sink : FileSink or MemorySink
        Receives the ranked site table part by part, and the findings.
    chunk_rows : int, optional
        Records per part; default: every record in one part.
    work_dir : path, optional
        Where parts are spilled (in a temporary folder removed at the end);
        default: the system's temporary folder. Only used with more than one part.
    max_map_sites : int
        The most sites a map page draws.
    ready : callable, optional
        Called with the result once everything the maps draw and state is in
        it, before the rest is done: the site table of a build in one part is
        written to ``sink`` only after it returns (a build in parts has
        written and closed its table by then), and the summary's sections of
        the ERIC years other than the headline (``years`` holds the headline
        year's alone until then; ``land_over_time``, ``change_since``,
        ``disposal_candidates``), ``site_years``, ``sites`` and ``findings``
        are added after it, to the same result, the same summary and the
        same ``years`` mapping. An exception it raises fails the build.

    Returns
    -------
    BuildResult

    Raises
    ------
    EstatesError
        For an unusable input file or option. Bad *records* never raise:
        they are rejected or flagged in the findings.
    """
    if chunk_rows is not None and chunk_rows < 1:
        msg = f"chunk_rows must be at least 1, got {chunk_rows}"
        raise ValueError(msg)
    build = _Build(
        inputs,
        config,
        sink,
        chunk_rows=chunk_rows,
        work_dir=work_dir,
        max_map_sites=max_map_sites,
        ready=ready,
    )
    try:
        with collections_skip_older_objects():
            return build.run()
    except BaseException:
        sink.abandon()
        raise
    finally:
        build.close()


class _Parts:
    """The parts of the site table between passes: in memory, or spilled to Arrow files.

    A spilled part is written as an Arrow IPC (Feather) file, LZ4-compressed:
    written and read back in about a third of the time Parquet takes, at about
    twice Parquet's size on disk (34 MB against 16 MB for 200,000 sites).
    """

    def __init__(self, work: Path | None) -> None:
        self.work = work
        self._frames: list[pd.DataFrame | Path] = []
        #: Rows of every part appended.
        self.rows = 0

    def __len__(self) -> int:
        return len(self._frames)

    def append(self, frame: pd.DataFrame) -> None:
        self._frames.append(frame)
        self.rows += len(frame)
        self.put(len(self._frames) - 1, frame)

    def put(self, i: int, frame: pd.DataFrame) -> None:
        if self.work is None:
            self._frames[i] = frame
            return
        path = self.work / f"part-{i:06d}.arrow"
        pd.DataFrame(frame).reset_index(drop=True).to_feather(path, compression="lz4")
        self._frames[i] = path

    def get(self, i: int) -> pd.DataFrame:
        item = self._frames[i]
        return pd.read_feather(item) if isinstance(item, Path) else item

    def columns(self, i: int, names: list[str]) -> pd.DataFrame:
        """Return part ``i``'s columns ``names`` (those it has), every row; only they are read."""
        item = self._frames[i]
        if isinstance(item, Path):
            with pa.OSFile(str(item), "rb") as source:
                have = set(pa.ipc.open_file(source).schema.names)
            return pd.read_feather(item, columns=[c for c in names if c in have])
        return item[[c for c in names if c in item]]

    def drop(self, i: int) -> None:
        item = self._frames[i]
        if isinstance(item, Path):
            item.unlink()

    def pieces(self, frame: pd.DataFrame) -> Iterator[pd.DataFrame]:
        """Yield ``frame`` whole, or in slices of :data:`SINK_ROWS` rows once parts are spilled.

        The writers and the accumulators take any split of the rows, and the
        sink's copies (Arrow tables, the CSV text) are made a slice at a time,
        which keeps a large build's peak memory down. A build held in memory
        whole hands its one part over as it is.
        """
        if self.work is None or len(frame) <= SINK_ROWS:
            yield frame
            return
        for start in range(0, len(frame), SINK_ROWS):
            yield frame.iloc[start : start + SINK_ROWS]

    def release(self) -> None:
        """Give the memory of the parts freed so far back to the system, once parts are spilled.

        Without it the allocators keep each freed part's pages and the peak
        grows part by part (:mod:`estates.builder.memory`); a build held in
        memory whole skips it.
        """
        if self.work is not None:
            release_freed_memory()


class _Build:
    def __init__(
        self,
        inputs: Inputs,
        config: Config,
        sink: FileSink | MemorySink,
        *,
        chunk_rows: int | None,
        work_dir: Path | None,
        max_map_sites: int,
        ready: Callable[[BuildResult], None] | None = None,
    ) -> None:
        self.inputs, self.config, self.sink = inputs, config, sink
        self.chunk_rows, self.work_dir, self.max_map_sites = chunk_rows, work_dir, max_map_sites
        self.ready = ready
        self._work: Path | None = None
        self.seen = SeenKeys(self.work)
        self.years: EricYears | None = None
        self.column_maps: list[ColumnMap] = []

    def work(self) -> Path:
        """Return the work folder, made on first use."""
        if self._work is None:
            self._work = Path(tempfile.mkdtemp(prefix="estates-parts-", dir=self.work_dir))
        return self._work

    def close(self) -> None:
        self.seen.close()
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)

    def run(self) -> BuildResult:
        inputs, config, sink = self.inputs, self.config, self.sink
        target = config.valuation.target_gbp
        # The optional files' rows (locations, pipeline) may be junk: keep the first of each check.
        opening = Findings(max_per_check=MAX_FINDINGS_PER_CHECK)
        ref = load_reference(inputs, findings=opening, valuation=config.valuation)
        sink.write_findings(opening)
        if inputs.sites and (inputs.eric or inputs.year):
            msg = (
                "--eric and --year choose among ERIC returns; they cannot be used with "
                "--sites (your own site files): leave out one or the other"
            )
            raise ConfigError(msg)
        if not inputs.sites:
            self.years = load_years(
                inputs.eric,
                year=inputs.year,
                context=ref.context,
                boroughs_bng=ref.boroughs_bng,
                groupings=ref.groupings,
                nearest_within_m=config.validation.nearest_within_m,
                locations=ref.locations,
            )

        # Pass 1: read, validate, locate, join, tag, measure each part; keep it.
        totals = SiteTotals(ref.groupings)
        basis = BasisTotals(target_gbp=target)
        parts = _Parts(None)
        for n, (records, findings) in enumerate(self._records()):
            if n == 1 and parts.work is None:
                parts = self._spilled(parts)
            sites = self._locate(records, ref, findings)
            files = set(records["source_file"].astype(str).unique())
            rejected = len(findings.rejected_rows(files))
            if len(records) != len(sites) + rejected:
                msg = (
                    f"internal check failed: {len(records)} records in, {len(sites)} kept and "
                    f"{rejected} rejected"
                )
                raise AssertionError(msg)
            totals.add_records(records, sites)
            basis.add(sites)
            parts.append(sites)
            sink.write_findings(_in_row_order(findings))
            del records, sites, findings  # before the next part is read
            parts.release()
        # Duplicates are found in pass 1 only: DuckDB's keys (its buffer, up to
        # SEEN_KEYS_MEMORY) would otherwise stay in memory until the build ends.
        self.seen.close()
        parts.release()
        log.info("read %s in %s", counted(totals.rows_in, "record"), counted(len(parts), "part"))

        # Pass 2: value each part (the average method needs the whole table's basis);
        # find the score's divisors.
        plan = ref.valuation
        if plan is None:
            msg = "internal check failed: the inputs were read without a valuation plan"
            raise AssertionError(msg)
        whole = basis.result()
        average = plan.average(whole, basis.owning_sites)
        scale = ScaleTotals()
        for i in range(len(parts)):
            valued = plan.value(parts.get(i), whole=whole, average=average)
            scale.add(valued)
            parts.put(i, valued)
            del valued
            parts.release()
        valuation = plan.describe(whole, average, used=whole.valued_boroughs)

        # Pass 3: score with the whole table's divisors; rank every candidate once.
        # Spilled parts are not written back: pass 4 scores them again, in less
        # time than a part takes to write and read.
        ranking = Ranking(target_gbp=target)
        divisors = scale.result()
        for i in range(len(parts)):
            scored = score_unused_land(parts.get(i), config=config.score, scale=divisors)
            ranking.add(scored)
            if parts.work is None:
                parts.put(i, scored)
            del scored
            parts.release()
        # The site names, read back for the few candidates the summary lists.
        ranks = ranking.result(parts.release, names=lambda i: parts.columns(i, ["site_name"]))

        # Pass 4: attach ranks, hand each part to the sink, add up what the outputs list.
        pilot_ids = list(
            dict.fromkeys(ref.groupings.loc[ref.groupings["group_type"] == "pilot", "group_id"])
        )
        selection = MapSelection(self.max_map_sites, pilot_ids)
        listed = ListedRows(ref.pipeline_records)
        # A build in one part holds its table (in memory anyway) until ``ready`` has seen
        # the result; a build in parts writes each piece as it comes (``held`` is None).
        held: list[gpd.GeoDataFrame] | None = [] if parts.work is None else None
        if held is None:
            sink.expect_sites(parts.rows)
        offset = 0
        for i in range(len(parts)):
            part = parts.get(i)
            if parts.work is not None:  # as pass 3 scored it
                part = assign_columns(
                    part, score_columns(part, config=config.score, scale=divisors)
                )
            ranked = ranks.of_part(i, part)
            parts.drop(i)
            del part
            ranked.index = pd.RangeIndex(offset, offset + len(ranked))
            offset += len(ranked)
            # Added up a part at a time: their work is mostly per call, not per row.
            totals.add_sites(ranked)
            listed.add(ranked)
            selection.add(ranked)
            for piece in parts.pieces(ranked):
                sites = _with_points(piece)
                if held is not None:
                    held.append(sites)
                else:
                    sink.write_sites(sites)
                del sites, piece
            del ranked
            parts.release()
        return self._finish(
            ref,
            totals,
            listed=listed,
            selection=selection,
            ranks=ranks,
            valuation=valuation,
            held=held,
        )

    def _finish(
        self,
        ref: Reference,
        totals: SiteTotals,
        *,
        listed: ListedRows,
        selection: MapSelection,
        ranks: Ranks,
        valuation: Valuation,
        held: list[gpd.GeoDataFrame] | None,
    ) -> BuildResult:
        inputs, config, sink = self.inputs, self.config, self.sink
        target = config.valuation.target_gbp
        boroughs_out = tag_groupings(ref.boroughs.to_crs(WGS84), ref.groupings)
        tallies = totals.tallies()
        boroughs_out = aggregate_boroughs(boroughs_out, tallies, target_gbp=target)
        kept_rows = listed.result()
        # One finding per bad pipeline row would grow with the file: keep the first.
        closing = Findings(max_per_check=MAX_FINDINGS_PER_CHECK)
        progress = None
        if ref.pipeline_records is not None:
            progress, found = track_progress(kept_rows, ref.pipeline_records, target_gbp=target)
            closing.merge(found)
        pipeline = pipeline_section(
            ranked=ranks.ranked,
            listed=ranks.running.entries(),
            milestones=ranks.running.milestones(),
            progress=progress,
            target_gbp=target,
        )
        sink.write_findings(closing)
        sink.close_findings()
        counts = totals.counts(sink.counts.by_check)
        summary = summarise(
            sites=kept_rows,
            boroughs=boroughs_out,
            groupings=ref.groupings,
            records=totals.rejected_rows(),
            valuation=valuation,
            pipeline=pipeline,
            counts=counts,
            config=config,
            bundled_sites=not inputs.sites,
            bundled_boundaries=inputs.boundaries is None,
            tallies=tallies,
        )
        # Which header of each input file the detector took for each column.
        maps = [*ref.column_maps, *self.column_maps]
        summary["inputs"] = {"columns": [m.as_record() for m in maps]}
        if self.years is not None:
            self._add_headline_year(summary, ref)
        context = gpd.GeoDataFrame(
            ref.context.drop(columns=["latitude", "longitude"]),
            geometry=gpd.points_from_xy(ref.context["longitude"], ref.context["latitude"]),
            crs=WGS84,
        )
        result = BuildResult(
            rows=totals.rows_kept,
            rejected_rows=sink.counts.rows,
            boroughs=boroughs_out,
            context=context,
            groupings=ref.groupings,
            counts=counts,
            summary=summary,
            map_sites=selection.result(),
            page_totals=selection.totals,
            ranked=ranks.ranked,
        )
        if held is None:  # a build in parts: its table is written; finish it first
            sink.close()
        if self.ready is not None:
            self.ready(result)
        if held is not None:
            for sites in held:
                sink.write_sites(sites)
            sink.close()
        if self.years is not None:
            result.site_years = self._add_other_years(summary, ref)
        memory = sink if isinstance(sink, MemorySink) else sink.memory
        if memory is not None:
            result.sites, result.findings = memory.sites(), memory.findings
        return result

    def _eric_years(self) -> EricYears:
        years = self.years
        if years is None:  # only called for a build of the ERIC returns
            msg = "internal check failed: no ERIC years loaded"
            raise AssertionError(msg)
        return years

    def _year_sections(self, ref: Reference, *, headline: bool) -> dict[str, Any]:
        """Return the sections of the headline ERIC year, or of every other year.

        Each year's section is made from its own rows alone, so the two calls
        together give what one call on every year gives.
        """
        years = self._eric_years()
        located = years.located["eric_year"].astype(str).eq(years.headline)
        returned = years.returns["eric_year"].astype(str).eq(years.headline)
        if not headline:
            located, returned = ~located, ~returned
        if not located.any():  # a build of one ERIC year has no other
            return {}
        return year_sections(
            years.located[located],
            years.returns[returned],
            trust_totals=ref.trust_totals,
            trust_file=bundled.eric_trust_path().name,
            shared=years.shared,
        )

    def _add_headline_year(self, summary: dict[str, Any], ref: Reference) -> None:
        """Add the headline ERIC year and its section, which the maps' lines state."""
        years = self._eric_years()
        summary["headline_year"] = years.headline
        summary["years"] = self._year_sections(ref, headline=True)
        if years.headline == "2016/17" and ref.trust_totals is not None:
            summary["reconciliation"]["trust_level_check"] = trust_level_check(
                summary["reconciliation"]["total"],
                ref.trust_totals,
                bundled.eric_trust_path().name,
            )

    def _add_other_years(self, summary: dict[str, Any], ref: Reference) -> gpd.GeoDataFrame:
        """Add the other ERIC years' sections and the comparisons across years to ``summary``.

        Returns the ``site_years`` table.
        """
        years = self._eric_years()
        sections = summary["years"]  # completed in place, in the years' order
        merged = sorted({**sections, **self._year_sections(ref, headline=False)}.items())
        sections.clear()
        sections.update(merged)
        summary["land_over_time"] = land_over_time(years.located, ref.groupings)
        summary["change_since"] = change_since(
            years.located, ref.groupings, before=years.previous, after=years.headline
        )
        summary["disposal_candidates"] = disposal_candidates(
            years.located, before=years.previous, after=years.headline
        )
        return site_years_table(years.located)

    def _spilled(self, parts: _Parts) -> _Parts:
        """Return ``parts`` moved to the work folder (a second part is coming)."""
        spilled = _Parts(self.work())
        for i in range(len(parts)):
            spilled.append(parts.get(i))
        return spilled

    def _records(self) -> Iterator[tuple[pd.DataFrame, Findings]]:
        """Yield each part of the records with the findings made while reading it.

        At least one part, empty if the files hold no record.
        """
        if self.years is not None:
            findings = Findings(list(self.years.findings))
            records = self.years.headline_records()
            yield from _slices(records, findings, self.chunk_rows)
            return
        limit = self.config.validation.max_csv_bytes
        yielded = False
        columns, sheet = self.inputs.columns, self.inputs.sheet
        for path in self.inputs.sites:
            read = Findings()
            # The same reader either way: in chunks, or the whole file as one.
            how: dict[str, Any] = {
                "findings": read,
                "columns": columns,
                "sheet": sheet,
                "column_maps": self.column_maps,
            }
            chunks = (
                iter_site_records(path, chunk_rows=self.chunk_rows, **how)
                if self.chunk_rows
                else iter([read_site_records(path, max_csv_bytes=limit, **how)])
            )
            for records in chunks:
                findings = Findings()
                findings.extend(read.items)
                read.items.clear()
                yielded = True
                yield records, findings
        if not yielded:
            msg = "internal check failed: the site files gave no part"
            raise AssertionError(msg)

    def _locate(self, records: pd.DataFrame, ref: Reference, findings: Findings) -> pd.DataFrame:
        validation = self.config.validation
        kept, found = validate_records(records, config=validation, known=self.seen.add(records))
        findings.merge(found)
        if "located_by" in kept:  # ERIC returns, located across years (estates.builder.years)
            frame = kept
        else:
            frame, found = locate_sites(
                kept, ref.context, locations=ref.locations, by_postcode=True
            )
            findings.merge(found)
        frame = to_points(frame)
        # One thread: the join is a few hundredths of a second of a build, and the
        # workers' chunks and borough indexes would add to its peak memory.
        frame = join_boroughs(
            frame, ref.boroughs_bng, nearest_within_m=validation.nearest_within_m, threads=1
        )
        frame, found = mark_london(
            frame,
            nearest_within_m=validation.nearest_within_m,
            # The sink lists no more than these; the rest are counted.
            max_findings=MAX_FINDINGS_PER_CHECK,
        )
        findings.merge(found)
        frame = tag_groupings(frame, ref.groupings, flags=True)
        frame = add_pfi(frame, ref.pfi_keys)
        return measure_sites(finish_table(frame))


def _slices(
    records: pd.DataFrame, findings: Findings, chunk_rows: int | None
) -> Iterator[tuple[pd.DataFrame, Findings]]:
    step = chunk_rows or max(len(records), 1)
    for start in range(0, max(len(records), 1), step):
        part = records.iloc[start : start + step]
        own = Findings()
        if start == 0:
            own.extend(findings)
        yield part, own


def _in_row_order(findings: Findings) -> Findings:
    """Return ``findings`` ordered by row (file-wide ones first), stage order kept within a row.

    Parts hold consecutive rows, so ``rejected.csv`` comes out in the same
    order whatever the part size. The counts of findings not kept go along.
    """
    items = sorted(findings, key=lambda f: -1 if f.row is None else f.row)
    return Findings(items, omitted=findings.omitted.copy())


def _with_points(sites: pd.DataFrame) -> gpd.GeoDataFrame:
    """Return ``sites`` with WGS84 points built from its latitude/longitude (None where missing)."""
    located = sites["longitude"].notna().to_numpy()
    geometry = np.full(len(sites), None, dtype=object)
    geometry[located] = gpd.points_from_xy(
        sites.loc[located, "longitude"], sites.loc[located, "latitude"]
    )
    return gpd.GeoDataFrame(sites, geometry=geometry, crs=WGS84)
