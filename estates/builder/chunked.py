"""Build from site files larger than memory, a chunk of rows at a time.

``estates build`` switches to this when the site files are large (or when
asked with ``--chunk-rows``). The stages and their code are those of
:func:`estates.builder.pipeline.run`; what differs is where the whole table's figures
come from:

1. Each chunk of records is validated (site keys seen in earlier chunks are
   kept in DuckDB, so duplicates across chunks are caught), located, joined,
   tagged and measured, and spilled to a Parquet file in a work folder. Its
   findings go straight to ``rejected.csv``.
2. The chunks are valued with the whole table's £/ha basis, and their largest
   value and backlog (the score's divisors) are found.
3. The chunks are scored; the candidates' sort keys go to DuckDB, which ranks
   them across London, per sub-region and per pilot, spilling to disk as it
   needs.
4. Each chunk gets its ranks and is appended to ``sites.parquet``,
   ``sites.gpkg`` and ``sites.csv``; its totals are added up as
   :class:`~estates.report.tally.Tally` objects, and only the rows some list shows
   (top sites, largest rows, the maps' best sites) are kept.

Peak memory depends on the chunk size and the number of pilots, not on the
number of sites. The outputs equal the in-memory build's, except that sums are
added chunk by chunk (the last digits of a float may differ) and
``rejected.csv`` lists findings chunk by chunk.
"""

from __future__ import annotations

import logging
import math
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from estates.builder import duck
from estates.builder.pipeline import (
    RECONCILED_COLUMNS,
    _add_pfi,
    _finish_table,
    _mark_london,
    load_reference,
    run_counts,
)
from estates.config import Config
from estates.crs import WGS84
from estates.errors import ConfigError
from estates.findings import Findings
from estates.io.inputs import (
    iter_site_records,
    load_locations,
)
from estates.io.tables import SiteTableWriter, _append_csv
from estates.report.disposal import RunningTotals, pipeline_section, track_progress
from estates.report.summary import largest_rows, summarise
from estates.report.tally import Tally, TallyKey, add_tallies, site_tallies
from estates.stages.join import join_boroughs
from estates.stages.locate import locate_sites
from estates.stages.measures import measure_sites
from estates.stages.score import score_scale, score_unused_land, unranked
from estates.stages.sites import to_points
from estates.stages.tag import tag_groupings
from estates.stages.validate import reject_bad_coordinates, site_keys, validate_records
from estates.stages.valuation import indicative_gbp_per_ha, value_sites, valued_borough_counts

log = logging.getLogger("estates")

#: Rows per chunk when ``estates build`` reads large site files.
DEFAULT_CHUNK_ROWS = 200_000
#: Site files larger than this (in all) are built chunk by chunk.
CHUNKED_ABOVE_BYTES = 256 * 1024**2


@dataclass
class ChunkedResult:
    """What a chunked build produced, besides the files it wrote.

    Attributes
    ----------
    sites : int
        Rows of the site table (written to ``sites.*``).
    findings : int
        Rows of ``rejected.csv``.
    map_sites : geopandas.GeoDataFrame
        The sites some map page draws (each page's best; see
        :func:`estates.render.maps.render_maps`), not the whole table.
    page_totals : dict
        ``{"london": n, pilot_id: n, ...}``: located London sites per page.
    ranked : int
        Ranked sites.
    """

    sites: int
    findings: int
    boroughs: gpd.GeoDataFrame
    context: gpd.GeoDataFrame
    groupings: pd.DataFrame
    counts: dict[str, Any]
    summary: dict[str, Any]
    map_sites: gpd.GeoDataFrame
    page_totals: dict[str, int] = field(default_factory=dict)
    ranked: int = 0


def chunked_input(inputs: Any, *, chunk_rows: int | None) -> bool:
    """Return True when a build of ``inputs`` should read its sites chunk by chunk."""
    if chunk_rows is not None:
        return True
    if not inputs.sites:
        return False
    return sum(Path(p).stat().st_size for p in inputs.sites if Path(p).is_file()) > (
        CHUNKED_ABOVE_BYTES
    )


def run_chunked(
    inputs: Any,
    folder: Path,
    *,
    config: Config | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    bom: bool = False,
    max_map_sites: int = 50_000,
) -> ChunkedResult:
    """Run every stage on ``inputs`` a chunk at a time, writing the site tables into ``folder``.

    Writes ``sites.parquet``, ``sites.gpkg`` (layer ``sites``), ``sites.csv``
    and ``rejected.csv``; the caller writes the rest from the result.

    Raises
    ------
    EstatesError
        As :func:`estates.builder.pipeline.run`, for an unusable file or option.
    """
    config = config or Config()
    if chunk_rows < 1:
        msg = f"chunk_rows must be at least 1, got {chunk_rows}"
        raise ValueError(msg)
    if not inputs.sites:
        msg = "the chunked build reads the site files given (inputs.sites); none were given"
        raise ConfigError(msg)
    work = Path(tempfile.mkdtemp(prefix="estates-chunks-", dir=folder))
    build = None
    try:
        build = _Build(
            inputs,
            folder,
            work=work,
            config=config,
            chunk_rows=chunk_rows,
            bom=bom,
            max_map_sites=max_map_sites,
        )
        return build.run()
    finally:
        if build is not None:
            build.close()
        shutil.rmtree(work, ignore_errors=True)


class _Build:
    def __init__(
        self,
        inputs: Any,
        folder: Path,
        *,
        work: Path,
        config: Config,
        chunk_rows: int,
        bom: bool,
        max_map_sites: int,
    ) -> None:
        self.inputs, self.folder, self.work, self.config = inputs, folder, work, config
        self.chunk_rows, self.bom, self.max_map_sites = chunk_rows, bom, max_map_sites
        self.db = duck.connect(work)
        self.db.execute("CREATE TABLE seen (key VARCHAR, source_file VARCHAR, source_row BIGINT)")
        self.findings_file = (folder / "rejected.csv").open("w", encoding="utf-8", newline="")
        _append_csv(Findings().to_frame(), self.findings_file, header=True)  # the header alone
        self.findings_rows = 0
        self.finding_counts: dict[str, Counter[str]] = {
            a: Counter() for a in ("rejected", "flagged", "warning")
        }
        self.parts: list[Path] = []

    def close(self) -> None:
        """Close DuckDB and ``rejected.csv`` (both may be closed already)."""
        self.db.close()
        self.findings_file.close()

    # -- findings -----------------------------------------------------------------------

    def flush(self, findings: Findings) -> None:
        """Append ``findings`` to ``rejected.csv`` and keep only their counts."""
        if not len(findings):
            return
        frame = findings.to_frame()
        _append_csv(frame, self.findings_file, header=False)
        self.findings_rows += len(frame)
        for f in findings:
            self.finding_counts[f.action][f.check] += 1

    # -- the passes ---------------------------------------------------------------------

    def run(self) -> ChunkedResult:
        inputs, config = self.inputs, self.config
        target = config.valuation.target_gbp
        opening = Findings()
        ref = load_reference(inputs, findings=opening)
        boroughs, groupings, boroughs_bng = ref.boroughs, ref.groupings, ref.boroughs_bng
        land_values, pipeline_records, context = ref.land_values, ref.pipeline_records, ref.context
        locations = None
        if inputs.locations is not None:
            locations = reject_bad_coordinates(
                load_locations(Path(inputs.locations), findings=opening), findings=opening
            )
        self.flush(opening)

        # Pass 1: read, validate, locate, join, tag, measure; spill each chunk.
        basis: list[float] = []
        valued: Counter[str] = Counter()
        tallies: dict[TallyKey, Tally] = {}
        rejected_rows: list[pd.DataFrame] = []
        source_files: set[str] = set()
        located_by: Counter[str] = Counter()
        joins: Counter[str] = Counter()
        rows_in = 0
        for records, findings in self._records():
            sites = self._locate(
                records,
                context=context,
                locations=locations,
                boroughs_bng=boroughs_bng,
                groupings=groupings,
                findings=findings,
            )
            kept = set(zip(sites["source_file"], sites["source_row"], strict=True))
            keys = zip(records["source_file"], records["source_row"], strict=True)
            rejected = records.loc[[k not in kept for k in keys]]
            if len(records) != len(sites) + len(findings.rejected_rows()):
                msg = (
                    f"internal check failed: {len(records)} records in, {len(sites)} kept and "
                    f"{len(findings.rejected_rows())} rejected"
                )
                raise AssertionError(msg)
            rows_in += len(records)
            source_files.update(records["source_file"].astype(str))
            add_tallies(
                tallies, {("records",): Tally.of(records), ("rejected",): Tally.of(rejected)}
            )
            rejected_rows.append(largest_rows(rejected[self._reconciled(records)]))
            basis.append(indicative_gbp_per_ha(sites, target_gbp=target)[1])
            valued.update(valued_borough_counts(sites).to_dict())
            located_by.update(sites["located_by"].astype(str).tolist())
            joins.update(
                sites["join_method"].astype("string").fillna("not_located").astype(str).tolist()
            )
            self._spill(sites.drop(columns=sites.geometry.name))
            self.flush(findings)
        owned_basis = math.fsum(basis)
        log.info("pass 1: %d records in %d chunks", rows_in, len(self.parts))

        # Pass 2: value with the whole table's basis; find the score's divisors.
        names = dict(zip(boroughs["borough_code"], boroughs["borough_name"], strict=True))
        value_options = {
            "target_gbp": target,
            "land_values": land_values,
            "borough_names": names,
            "borough_codes": boroughs["borough_code"],
            "basis": owned_basis,
            "valued_boroughs": dict(valued),
        }
        top_value = top_backlog = 0.0
        valuation = None
        for part in self.parts:
            sites, valuation = value_sites(pd.read_parquet(part), **value_options)
            v, b = score_scale(sites)
            top_value, top_backlog = max(top_value, v), max(top_backlog, b)

        # Pass 3: score; rank the candidates in DuckDB.
        self.db.execute(
            "CREATE TABLE keys (chunk INTEGER, row BIGINT, score DOUBLE, site VARCHAR, "
            "trust VARCHAR, subregion VARCHAR, pilots VARCHAR, site_code VARCHAR, "
            "site_name VARCHAR, borough_name VARCHAR, land_unused_ha DOUBLE, "
            "estimated_value_gbp DOUBLE)"
        )
        for i, part in enumerate(self.parts):
            sites, _ = value_sites(pd.read_parquet(part), **value_options)
            scored = score_unused_land(sites, config=config.score, largest=(top_value, top_backlog))
            scored.to_parquet(part, index=False)
            self._add_keys(i, scored)
        ranked = self._rank()

        # Pass 4: attach ranks, write the tables, add up the totals, keep what lists show.
        writer = SiteTableWriter(self.folder, bom=self.bom)
        exemplars: list[pd.DataFrame] = []
        pilot_ids = list(
            dict.fromkeys(groupings.loc[groupings["group_type"] == "pilot", "group_id"])
        )
        selection = _MapSelection(self.max_map_sites, pilot_ids)
        tracked = _pipeline_codes(pipeline_records)
        offset = 0
        for i, part in enumerate(self.parts):
            sites = self._ranked_part(i, part)
            sites.index = pd.RangeIndex(offset, offset + len(sites))
            offset += len(sites)
            writer.write(sites)
            add_tallies(tallies, site_tallies(sites, groupings))
            exemplars.append(sites.loc[_listed(sites, tracked)])
            selection.add(sites)
            part.unlink()
        writer.close()
        self.findings_file.flush()

        # The whole table's figures, from the tallies and the kept rows.
        rows_kept = offset
        boroughs_out = tag_groupings(boroughs.to_crs(WGS84), groupings)
        from estates.report.aggregate import aggregate_boroughs

        boroughs_out = aggregate_boroughs(None, boroughs_out, target_gbp=target, tallies=tallies)
        kept_rows = pd.concat(exemplars) if exemplars else None
        pipeline_findings = Findings()
        summary_pipeline = pipeline_section(
            ranked=ranked.ranked,
            listed=ranked.entries(),
            milestones=ranked.milestones(),
            progress=None
            if pipeline_records is None
            else track_progress(
                kept_rows, pipeline_records, target_gbp=target, findings=pipeline_findings
            ),
            target_gbp=target,
        )
        self.flush(pipeline_findings)
        self.findings_file.close()
        counts = run_counts(
            rows_in, rows_kept, located_by=located_by, joins=joins, by_check=self.finding_counts
        )
        rejected_frame = pd.concat(rejected_rows) if rejected_rows else pd.DataFrame()
        summary = summarise(
            sites=kept_rows,
            boroughs=boroughs_out,
            groupings=groupings,
            records=rejected_frame,
            valuation=valuation,
            pipeline=summary_pipeline,
            counts=counts,
            config=config,
            bundled_sites=False,
            bundled_boundaries=inputs.boundaries is None,
            tallies=tallies,
            source_files=sorted(source_files),
        )
        context_gdf = gpd.GeoDataFrame(
            context.drop(columns=["latitude", "longitude"]),
            geometry=gpd.points_from_xy(context["longitude"], context["latitude"]),
            crs=WGS84,
        )
        return ChunkedResult(
            sites=rows_kept,
            findings=self.findings_rows,
            boroughs=boroughs_out,
            context=context_gdf,
            groupings=groupings,
            counts=counts,
            summary=summary,
            map_sites=selection.frame(),
            page_totals=selection.totals,
            ranked=ranked.ranked,
        )

    def _records(self) -> Iterator[tuple[pd.DataFrame, Findings]]:
        """Yield each chunk of records with the findings made while reading it."""
        for path in self.inputs.sites:
            read = Findings()
            for records in iter_site_records(path, findings=read, chunk_rows=self.chunk_rows):
                records["is_aggregate"] = False
                findings = Findings()
                findings.extend(read.items)
                read.items.clear()
                yield records, findings

    def _locate(
        self,
        records: pd.DataFrame,
        *,
        context: pd.DataFrame,
        locations: pd.DataFrame | None,
        boroughs_bng: gpd.GeoDataFrame,
        groupings: pd.DataFrame,
        findings: Findings,
    ) -> gpd.GeoDataFrame:
        validation = self.config.validation
        kept = validate_records(
            records, config=validation, findings=findings, earlier=self._seen(records)
        )
        frame = locate_sites(kept, context, locations=locations, findings=findings)
        frame = to_points(frame)
        frame = join_boroughs(frame, boroughs_bng, nearest_within_m=validation.nearest_within_m)
        frame = _mark_london(frame, findings, validation.nearest_within_m)
        frame = tag_groupings(frame, groupings)
        frame = _add_pfi(frame, self.inputs)
        return measure_sites(_finish_table(frame))

    def _seen(self, records: pd.DataFrame) -> dict[str, tuple[str, int]]:
        """Return this chunk's site keys seen in earlier chunks; remember the new ones."""
        keys = site_keys(records)
        chunk = pd.DataFrame(
            {
                "key": keys,
                "source_file": records["source_file"].astype(str),
                "source_row": records["source_row"].astype("int64"),
            }
        )
        chunk = chunk[chunk["key"].notna()].drop_duplicates("key", keep="first")
        self.db.register("chunk_keys", chunk)
        earlier = self.db.execute(
            "SELECT s.key, s.source_file, s.source_row FROM seen s JOIN chunk_keys c USING (key)"
        ).fetchall()
        self.db.execute(
            "INSERT INTO seen SELECT key, source_file, source_row FROM chunk_keys "
            "WHERE key NOT IN (SELECT key FROM seen WHERE key IN (SELECT key FROM chunk_keys))"
        )
        self.db.unregister("chunk_keys")
        return {key: (src, int(row)) for key, src, row in earlier}

    def _spill(self, sites: pd.DataFrame) -> None:
        part = self.work / f"part-{len(self.parts):06d}.parquet"
        pd.DataFrame(sites).to_parquet(part, index=False)
        self.parts.append(part)

    def _reconciled(self, records: pd.DataFrame) -> list[str]:
        return [c for c in RECONCILED_COLUMNS if c in records]

    def _add_keys(self, chunk: int, scored: pd.DataFrame) -> None:
        score = pd.to_numeric(scored["disposal_score"], errors="coerce")
        candidate = score.notna().to_numpy()
        rows = scored.loc[candidate]
        keys = pd.DataFrame(
            {
                "chunk": np.full(len(rows), chunk, dtype=np.int32),
                "row": np.flatnonzero(candidate).astype(np.int64),
                "score": score[candidate].to_numpy(dtype=float),
                "site": rows["site_code"].astype("string").fillna("").astype(str),
                "trust": rows["trust_code"].astype("string").fillna("").astype(str),
                "subregion": rows["subregion"].astype("string"),
                "pilots": rows["pilots"].astype("string").fillna(""),
                "site_code": rows["site_code"].astype("string"),
                "site_name": rows["site_name"].astype("string"),
                "borough_name": rows["borough_name"].astype("string"),
                "land_unused_ha": pd.to_numeric(rows["land_unused_ha"], errors="coerce"),
                "estimated_value_gbp": pd.to_numeric(rows["estimated_value_gbp"], errors="coerce"),
            }
        )
        self.db.register("chunk_keys", keys)
        self.db.execute("INSERT INTO keys SELECT * FROM chunk_keys")
        self.db.unregister("chunk_keys")

    def _rank(self) -> RunningTotals:
        """Rank the candidates in DuckDB; spill the ranks per chunk; return the running totals.

        The order is :func:`estates.stages.score.rank_sites`'s: score (highest first),
        site code, trust code, then input order.
        """
        order = "score DESC, site, trust, chunk, row"
        self.db.execute(
            f"""
            CREATE TABLE ranked AS
            SELECT chunk, row, site_code, site_name, borough_name, land_unused_ha,
                   estimated_value_gbp, subregion, pilots,
                   row_number() OVER (ORDER BY {order}) AS disposal_rank,
                   CASE WHEN subregion IS NULL THEN NULL
                        ELSE row_number() OVER (PARTITION BY subregion ORDER BY {order}) END
                       AS subregion_rank
            FROM keys
            """
        )
        self.db.execute(
            f"""
            CREATE TABLE pilot_ranks AS
            WITH split AS (
                SELECT chunk, row, score, site, trust,
                       unnest(string_split(pilots, ';')) AS pilot,
                       unnest(range(1, len(string_split(pilots, ';')) + 1)) AS pos
                FROM keys WHERE pilots <> ''
            ), numbered AS (
                SELECT chunk, row, pos, pilot,
                       row_number() OVER (PARTITION BY pilot ORDER BY {order}) AS r
                FROM split WHERE pilot <> ''
            )
            SELECT chunk, row, string_agg(pilot || ':' || r, ';' ORDER BY pos) AS pilot_ranks
            FROM numbered GROUP BY chunk, row
            """
        )
        n = self.db.execute("SELECT count(*) FROM ranked").fetchone()[0]
        ranks_dir = self.work / "ranks"
        self.db.execute(
            f"""
            COPY (
                SELECT r.chunk, r.row, r.disposal_rank, r.subregion_rank,
                       coalesce(p.pilot_ranks, '') AS pilot_ranks
                FROM ranked r LEFT JOIN pilot_ranks p USING (chunk, row)
            ) TO '{ranks_dir}' (FORMAT parquet, PARTITION_BY (chunk))
            """
        )
        running = RunningTotals(int(n), target_gbp=self.config.valuation.target_gbp)
        reader = self.db.sql(
            "SELECT disposal_rank, site_code, site_name, borough_name, land_unused_ha, "
            "estimated_value_gbp FROM ranked ORDER BY disposal_rank"
        ).to_arrow_reader(100_000)
        for batch in reader:
            running.add(batch.to_pandas())
        # The ranks are on disk; free DuckDB's buffers before pass 4 needs the memory.
        self.db.close()
        return running

    def _ranked_part(self, chunk: int, part: Path) -> gpd.GeoDataFrame:
        scored = pd.read_parquet(part)
        out = unranked(scored)
        folder = self.work / "ranks" / f"chunk={chunk}"
        if folder.exists():
            ranks = pd.read_parquet(folder)
            rows = ranks["row"].to_numpy(dtype=np.int64)
            out.loc[out.index[rows], "disposal_rank"] = ranks["disposal_rank"].to_numpy()
            out.loc[out.index[rows], "subregion_rank"] = (
                ranks["subregion_rank"].astype("Int64").to_numpy()
            )
            out.loc[out.index[rows], "pilot_ranks"] = ranks["pilot_ranks"].astype(str).to_numpy()
        located = out["longitude"].notna().to_numpy()
        geometry = np.full(len(out), None, dtype=object)
        geometry[located] = gpd.points_from_xy(
            out.loc[located, "longitude"], out.loc[located, "latitude"]
        )
        return gpd.GeoDataFrame(out, geometry=geometry, crs=WGS84)


class _MapSelection:
    """The sites some map page draws, kept while the chunks go by.

    At most ``limit`` rows per page (London and each pilot), and only the
    columns the maps read, so its size does not grow with the site file.
    """

    def __init__(self, limit: int, pilot_ids: list[str]) -> None:
        self.limit, self.pilot_ids = limit, pilot_ids
        self.totals: dict[str, int] = {"london": 0, **dict.fromkeys(pilot_ids, 0)}
        self._kept: gpd.GeoDataFrame | None = None

    def add(self, sites: gpd.GeoDataFrame) -> None:
        from estates.render.selection import SITE_COLUMNS, page_sites

        drawn = (
            sites["in_london"].astype("boolean").fillna(False).to_numpy(dtype=bool)
            & sites["longitude"].notna().to_numpy()
            & sites["latitude"].notna().to_numpy()
        )
        pilots = sites["pilots"].astype("string").fillna("").str.split(";")
        self.totals["london"] += int(drawn.sum())
        for pid in self.pilot_ids:
            self.totals[pid] += int((drawn & pilots.map(lambda p, pid=pid: pid in p)).sum())
        here = sites.loc[drawn, [*SITE_COLUMNS, sites.geometry.name]]
        joined = here if self._kept is None else pd.concat([self._kept, here])
        self._kept = joined.loc[page_sites(joined, self.limit, self.pilot_ids)]

    def frame(self) -> gpd.GeoDataFrame:
        if self._kept is None:
            msg = "no sites"
            raise ValueError(msg)
        return self._kept


def _pipeline_codes(records: pd.DataFrame | None) -> set[str]:
    if records is None or "site_code" not in records:
        return set()
    return {str(c).strip() for c in records["site_code"].dropna()}


def _listed(sites: pd.DataFrame, tracked: set[str]) -> np.ndarray:
    """Rows a summary list could show: top-ranked per group, largest per bucket, tracked."""
    from estates.report.aggregate import TOP_N
    from estates.report.summary import reconciliation_frames

    keep = np.zeros(len(sites), dtype=bool)
    sub = pd.to_numeric(sites["subregion_rank"], errors="coerce").to_numpy(dtype=float)
    keep |= sub <= TOP_N
    pilot_best = (
        sites["pilot_ranks"]
        .astype("string")
        .fillna("")
        .map(lambda t: any(int(x.rpartition(":")[2]) <= TOP_N for x in t.split(";") if x))
    )
    keep |= pilot_best.to_numpy(dtype=bool)
    frames = reconciliation_frames(sites.iloc[:0], sites)
    position = pd.Series(np.arange(len(sites)), index=sites.index)
    for key, frame in frames.items():
        if key != "rejected":
            keep[position[largest_rows(frame).index].to_numpy()] = True
    if tracked:
        keep |= sites["site_code"].astype("string").str.strip().isin(tracked).to_numpy(bool)
    return keep
