"""Where a build puts its site table and findings: files (:class:`FileSink`) or memory.

The engine (:mod:`estates.builder.engine`) hands each ranked part of the site
table and each part's findings to a sink, in input order. ``estates build``
writes them straight to ``sites.*`` and ``rejected.csv`` (:class:`FileSink`),
so the table is never whole in memory; :func:`estates.build` collects them
(:class:`MemorySink`) to return the table, and with ``out=`` does both
(:class:`FileSink` with ``keep=True``).

Both list at most :data:`~estates.findings.MAX_FINDINGS_PER_CHECK` findings
per file, action and check, and end with one "and N more" row for each check
past it, so a file of junk rows gives a ``rejected.csv`` of bounded size; the
counts (``summary.json``) still hold every finding.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Protocol

import geopandas as gpd
import pandas as pd

from estates.findings import MAX_FINDINGS_PER_CHECK, Findings, omitted_finding
from estates.io.tables import SiteTableWriter, append_csv
from estates.schema import coerce_sites


class Sink(Protocol):
    """What the engine writes to."""

    def expect_sites(self, rows: int) -> None:
        """Hear how many site rows the parts will bring, before the first."""

    def write_sites(self, sites: gpd.GeoDataFrame) -> None:
        """Take the next part of the site table (WGS84)."""

    def write_findings(self, findings: Findings) -> None:
        """Take the next findings, in ``rejected.csv`` order."""

    def close_findings(self) -> None:
        """Finish the findings: none comes after; ``counts`` is final."""

    def close(self) -> None:
        """Finish: every part has been given (the findings are finished too)."""


class _FindingCounts:
    """Count every finding; pass on the first ``limit`` per file, action and check."""

    def __init__(self, limit: int = MAX_FINDINGS_PER_CHECK) -> None:
        self.rows = 0
        self.limit = limit
        self.by_check: dict[str, Counter[str]] = {
            a: Counter() for a in ("rejected", "flagged", "warning")
        }
        self._listed: Counter[tuple[str, str, str]] = Counter()
        self._omitted: Counter[tuple[str, str, str]] = Counter()

    def take(self, findings: Findings) -> Findings:
        """Count ``findings`` and return those to list, in order."""
        listed = Findings()
        for f in findings:
            self.by_check[f.action][f.check] += 1
            key: tuple[str, str, str] = (f.source_file, f.action, f.check)
            if self._listed[key] < self.limit:
                self._listed[key] += 1
                listed.items.append(f)
            else:
                self._omitted[key] += 1
        for key, n in findings.omitted.items():
            self.by_check[key[1]][key[2]] += n
            self._omitted[key] += n
        self.rows += len(listed)
        return listed

    def tail(self) -> Findings:
        """Return one "and N more" finding per file, action and check that was cut short."""
        tail = Findings(
            [
                omitted_finding(source, action, check, n)  # type: ignore[arg-type]
                for (source, action, check), n in self._omitted.items()
            ]
        )
        self._omitted.clear()
        self.rows += len(tail)
        return tail


class FileSink:
    """Append the site table and the findings to the files of ``folder``.

    The site table goes to ``sites.parquet``, ``sites.gpkg`` and ``sites.csv``;
    the findings to ``rejected.csv``. With ``layer_process=True`` the
    GeoPackage layer is written by a second process as the parts come
    (:class:`~estates.io.layer_process.LayerProcess`), finished by
    :meth:`wait_layer`. With ``keep=True`` a :class:`MemorySink`
    (``memory``) keeps a copy of both, for :func:`estates.build` to return.
    """

    def __init__(
        self, folder: Path, *, bom: bool = False, keep: bool = False, layer_process: bool = False
    ) -> None:
        self.folder = folder
        self.counts = _FindingCounts()
        self.memory: MemorySink | None = MemorySink() if keep else None
        self._writer = SiteTableWriter(folder, bom=bom, layer_process=layer_process)
        self._findings = (folder / "rejected.csv").open("w", encoding="utf-8", newline="")
        append_csv(Findings().to_frame(), self._findings, header=True)  # the header alone
        self._findings_closed = False

    def expect_sites(self, rows: int) -> None:
        """Hear how many site rows are to come (a large table's layer is written here)."""
        self._writer.expect_rows(rows)

    def write_sites(self, sites: gpd.GeoDataFrame) -> None:
        """Append ``sites`` to the three site files."""
        self._writer.write(sites)
        if self.memory is not None:
            self.memory.write_sites(sites)

    def write_findings(self, findings: Findings) -> None:
        """Append ``findings`` (the first of each check) to ``rejected.csv``; count them all."""
        listed = self.counts.take(findings)
        if len(listed):
            append_csv(listed.to_frame(), self._findings, header=False)
        if self.memory is not None:
            self.memory.write_findings(findings)

    def close_findings(self) -> None:
        """End ``rejected.csv`` with the "and N more" rows and close it (once)."""
        if self._findings_closed:
            return
        self._findings_closed = True
        tail = self.counts.tail()
        if len(tail):
            append_csv(tail.to_frame(), self._findings, header=False)
        self._findings.close()
        if self.memory is not None:
            self.memory.close_findings()

    def close(self) -> None:
        """Finish the site files and ``rejected.csv``.

        With ``layer_process``, the GeoPackage's ``sites`` layer may still be
        written by the second process: :meth:`wait_layer` finishes it.
        """
        self._writer.close()
        self.close_findings()
        if self.memory is not None:
            self.memory.close()

    def wait_layer(self) -> None:
        """Finish the GeoPackage's ``sites`` layer (:meth:`SiteTableWriter.wait_layer`)."""
        self._writer.wait_layer()

    def abandon(self) -> None:
        """Stop writing: a failed build's folder is thrown away. Harmless after :meth:`close`."""
        self._writer.abandon()
        self._findings.close()


class MemorySink:
    """Collect the site table and the findings in memory.

    With ``keep_sites=False`` only the findings are kept (a build in parts,
    whose table need not fit in memory): :meth:`sites` returns None.
    """

    def __init__(self, *, keep_sites: bool = True) -> None:
        self.counts = _FindingCounts()
        self.findings = Findings()
        self.keep_sites = keep_sites
        self._parts: list[gpd.GeoDataFrame] = []
        self._findings_closed = False

    def expect_sites(self, rows: int) -> None:
        """Nothing to prepare."""

    def write_sites(self, sites: gpd.GeoDataFrame) -> None:
        """Keep ``sites`` (unless ``keep_sites`` is False)."""
        if self.keep_sites:
            self._parts.append(sites)

    def write_findings(self, findings: Findings) -> None:
        """Keep ``findings`` (the first of each check); count them all."""
        self.findings.extend(self.counts.take(findings))

    def close_findings(self) -> None:
        """Add the "and N more" findings (once)."""
        if not self._findings_closed:
            self._findings_closed = True
            self.findings.extend(self.counts.tail())

    def close(self) -> None:
        """Finish the findings, if not done."""
        self.close_findings()

    def abandon(self) -> None:
        """Nothing to close."""

    def sites(self) -> gpd.GeoDataFrame | None:
        """Return the site table, every part in order (WGS84), or None if it was not kept.

        :func:`estates.schema.coerce_sites` gives it the column order and the
        dtypes the writers use: every flag, ``is_aggregate`` and the
        ``pilot_<id>`` columns included, is numpy ``bool``.
        """
        if not self.keep_sites:
            return None
        if len(self._parts) == 1:
            return coerce_sites(self._parts[0])
        return coerce_sites(gpd.GeoDataFrame(pd.concat(self._parts), crs=self._parts[0].crs))
