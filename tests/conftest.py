"""Shared fixtures: the real bundled data, read once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from estates.builder.pipeline import Result, run

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def bundled_result() -> Result:
    """One run of the whole pipeline on the bundled real data."""
    return run()


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
