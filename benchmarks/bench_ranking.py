"""Memory of the build's ranking (:class:`estates.builder.ranking.Ranking`) alone.

Feeds a fresh process synthetic scored parts (about half of each part's rows
are candidates, as in the synthetic site file of ``bench_build.py``), then
sorts them once. Reports what the ranking holds after the last part (the
resident memory it added, and Arrow's share of it), the highest resident
memory while :meth:`~estates.builder.ranking.Ranking.result` runs (sampled
every 10 ms) and what the :class:`~estates.builder.ranking.Ranks` it returns
hold, all as the rise over the resident memory before the first part, plus
the CPU time of ``result()``.

    python benchmarks/bench_ranking.py                  # 1e6 candidates
    python benchmarks/bench_ranking.py --candidates 4.2e6 --part-rows 200000
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import threading
import time

MIB = 2**20


def _rss() -> int:
    """Resident bytes of this process, from ``/proc``."""
    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[1])
    return pages * 4096


def _settle() -> None:
    """Give freed memory back (Python's, the C heap's, Arrow's pool), so RSS shows what is held."""
    import ctypes

    import pyarrow as pa

    gc.collect()
    pa.default_memory_pool().release_unused()
    ctypes.CDLL("libc.so.6").malloc_trim(0)


def _part(rng, start: int, rows: int):  # type: ignore[no-untyped-def]
    """A synthetic scored part of ``rows`` sites, numbered from ``start``."""
    import numpy as np
    import pandas as pd

    ids = np.arange(start, start + rows)
    score = rng.uniform(0, 1, rows).round(3)
    score[rng.uniform(0, 1, rows) < 0.58] = np.nan
    subregions = np.array(["ncl", "nel", "sel", "swl", "nwl", None], dtype=object)
    pilots = np.array(["p1", "p1;p2", "p3", "p4;p5", "", None], dtype=object)
    boroughs = np.array([f"Borough {i}" for i in range(33)], dtype=object)
    return pd.DataFrame(
        {
            "site_code": [f"S{i:08d}" for i in ids],
            "site_name": [f"Synthetic site {i}" for i in ids],
            "trust_code": "RXX",
            "subregion": pd.array(subregions[rng.integers(0, 6, rows)], dtype="string"),
            "pilots": pd.array(pilots[rng.integers(0, 6, rows)], dtype="string"),
            "borough_name": boroughs[rng.integers(0, 33, rows)],
            "land_unused_ha": rng.uniform(0, 1.5, rows).round(2),
            "estimated_value_gbp": rng.uniform(0, 1e7, rows).round(0),
            "disposal_score": score,
        }
    )


def measure(candidates: int, part_rows: int) -> dict[str, float]:
    """Run the ranking on synthetic parts in this process; return its figures (MiB, s)."""
    import numpy as np
    import pyarrow as pa

    from estates.builder.memory import release_freed_memory
    from estates.builder.ranking import Ranking

    rng = np.random.default_rng(20_261_206)
    sites = int(candidates / 0.42)
    _settle()
    base = _rss()
    ranking = Ranking(target_gbp=11e9)
    for start in range(0, sites, part_rows):
        part = _part(rng, start, min(part_rows, sites - start))
        ranking.add(part)
        del part
        _settle()
    held = _rss() - base
    arrow = pa.total_allocated_bytes()
    peak = [_rss()]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.01)

    def names(i: int):  # type: ignore[no-untyped-def]
        """Part ``i``'s site names, as :func:`_part` wrote them (the build reads its parts')."""
        import pandas as pd

        ids = range(i * part_rows, min((i + 1) * part_rows, sites))
        return pd.DataFrame({"site_name": [f"Synthetic site {k}" for k in ids]})

    sampler = threading.Thread(target=sample)
    sampler.start()
    cpu = time.process_time()
    # As a build in parts does: its freed memory is given back between steps.
    try:
        ranks = ranking.result(release_freed_memory, names=names)
    except TypeError:  # a ranking that keeps every name, or from before ``release`` was taken
        try:
            ranks = ranking.result(release_freed_memory)
        except TypeError:
            ranks = ranking.result()
    cpu = time.process_time() - cpu
    done.set()
    sampler.join()
    del ranking
    _settle()
    return {
        "candidates": ranks.ranked,
        "held_after_add_mib": held / MIB,
        "arrow_after_add_mib": arrow / MIB,
        "peak_in_result_mib": (peak[0] - base) / MIB,
        "ranks_mib": (_rss() - base) / MIB,
        "result_cpu_s": cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=float, default=1e6, metavar="N")
    parser.add_argument("--part-rows", type=int, default=200_000, metavar="N")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(int(args.candidates), args.part_rows)))
        return
    # A fresh process, so nothing earlier in this one counts towards its memory.
    command = [sys.executable, __file__, "--child", "--candidates", str(args.candidates)]
    out = subprocess.run(
        [*command, "--part-rows", str(args.part_rows)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures = json.loads(out.stdout)
    for key, value in figures.items():
        print(f"{key:>22}: {value:,.1f}" if isinstance(value, float) else f"{key:>22}: {value:,}")


if __name__ == "__main__":
    main()
