"""Where a build puts its site table and findings: files (:class:`FileSink`) or memory.

The engine (:mod:`estates.builder.engine`) hands each ranked part of the site
table and each part's findings to a sink, in input order. ``estates build``
writes them straight to ``sites.*`` and ``rejected.csv`` (:class:`FileSink`),
so the table is never whole in memory; :func:`estates.run` collects them
(:class:`MemorySink`) to return the table.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Protocol

import geopandas as gpd
import pandas as pd

from estates.findings import Findings
from estates.io.tables import SiteTableWriter, append_csv


class Sink(Protocol):
    """What the engine writes to."""

    def write_sites(self, sites: gpd.GeoDataFrame) -> None:
        """Take the next part of the site table (WGS84)."""

    def write_findings(self, findings: Findings) -> None:
        """Take the next findings, in ``rejected.csv`` order."""

    def close(self) -> None:
        """Finish: every part has been given."""


class _FindingCounts:
    def __init__(self) -> None:
        self.rows = 0
        self.by_check: dict[str, Counter[str]] = {
            a: Counter() for a in ("rejected", "flagged", "warning")
        }

    def count(self, findings: Findings) -> None:
        self.rows += len(findings)
        for f in findings:
            self.by_check[f.action][f.check] += 1


class FileSink:
    """Append the site table and the findings to the files of ``folder``.

    The site table goes to ``sites.parquet``, ``sites.gpkg`` and ``sites.csv``;
    the findings to ``rejected.csv``.
    """

    def __init__(self, folder: Path, *, bom: bool = False) -> None:
        self.folder = folder
        self.counts = _FindingCounts()
        self._writer = SiteTableWriter(folder, bom=bom)
        self._findings = (folder / "rejected.csv").open("w", encoding="utf-8", newline="")
        append_csv(Findings().to_frame(), self._findings, header=True)  # the header alone

    def write_sites(self, sites: gpd.GeoDataFrame) -> None:
        """Append ``sites`` to the three site files."""
        self._writer.write(sites)

    def write_findings(self, findings: Findings) -> None:
        """Append ``findings`` to ``rejected.csv``; keep only their counts."""
        if not len(findings):
            return
        append_csv(findings.to_frame(), self._findings, header=False)
        self.counts.count(findings)

    def close(self) -> None:
        """Finish the site files and close ``rejected.csv``."""
        self._writer.close()
        self._findings.close()

    def abandon(self) -> None:
        """Close ``rejected.csv`` after a failed build (the folder is thrown away)."""
        self._findings.close()


class MemorySink:
    """Collect the site table and the findings in memory."""

    def __init__(self) -> None:
        self.counts = _FindingCounts()
        self.findings = Findings()
        self._parts: list[gpd.GeoDataFrame] = []

    def write_sites(self, sites: gpd.GeoDataFrame) -> None:
        """Keep ``sites``."""
        self._parts.append(sites)

    def write_findings(self, findings: Findings) -> None:
        """Keep ``findings``."""
        self.findings.extend(findings)
        self.counts.count(findings)

    def close(self) -> None:
        """Nothing to finish."""

    def abandon(self) -> None:
        """Nothing to close."""

    def sites(self) -> gpd.GeoDataFrame:
        """Return the site table: every part, in order (WGS84)."""
        if len(self._parts) == 1:
            return self._parts[0]
        return gpd.GeoDataFrame(pd.concat(self._parts), crs=self._parts[0].crs)
