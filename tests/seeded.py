"""Seeded synthetic site files, for the tests that need many records.

Benchmark-like data only: uniform over London's bounding box, so about 40% fall outside London.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from estates.crs import LONDON_BOUNDS_WGS84


def write_seeded_sites(path: Path, n: int, seed: int) -> Path:
    """Write ``n`` seeded site records, uniform over London's bounding box, to ``path`` (CSV)."""
    lon0, lat0, lon1, lat1 = LONDON_BOUNDS_WGS84
    rng = np.random.default_rng(seed)
    owned = rng.uniform(0, 5, n).round(2)
    pd.DataFrame(
        {
            "site_code": [f"S{i:06d}" for i in range(n)],
            "site_name": [f"Site {i}" for i in range(n)],
            "latitude": rng.uniform(lat0, lat1, n).round(6),
            "longitude": rng.uniform(lon0, lon1, n).round(6),
            "land_owned_ha": owned,
            "land_unused_ha": (owned * rng.uniform(0, 0.3, n)).round(2),
        }
    ).to_csv(path, index=False)
    return path
