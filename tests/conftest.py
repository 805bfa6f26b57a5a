"""Shared fixtures: the real bundled data, read once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from estates.builder.pipeline import Inputs, Result, run

# Properties are checked for their answers, never their speed: a loaded machine
# must not fail an example for taking longer than hypothesis's default 200 ms.
settings.register_profile("estates", deadline=None)
settings.load_profile("estates")

DATA = Path(__file__).parent / "data"
#: Where the join keeps its cell tables between processes.
CACHE_ENV = "ESTATES_CACHE_DIR"


@pytest.fixture(scope="session")
def bundled_result() -> Result:
    """One run of the whole pipeline on the bundled real data (headline year 2019/20)."""
    return run()


@pytest.fixture(scope="session")
def result_2016() -> Result:
    """The bundled build with ERIC 2016/17 as its headline year (``--year 2016/17``).

    For the checks only that year carries: the trust-level file, Aberdeen Park's land.
    """
    return run(Inputs(year="2016/17"))


@pytest.fixture
def write(tmp_path: Path):
    """Write text or bytes to a file in ``tmp_path`` and return its path."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding=encoding)
        return path

    return _write


@pytest.fixture(autouse=True, scope="session")
def _fresh_join_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the join's disk cache in a folder of this run: no test sees an older run's."""
    saved = os.environ.get(CACHE_ENV)  # the join's cell tables
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("join-cache"))
    yield
    if saved is None:
        del os.environ[CACHE_ENV]
    else:
        os.environ[CACHE_ENV] = saved
