"""Fixtures shared by the stage tests."""

from __future__ import annotations

from typing import Any

import pytest

import estates.stages.join._frame as frame_module


@pytest.fixture
def join_pools(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ``max_workers`` of every thread pool the join makes during the test, in order."""
    made: list[int] = []
    pool = frame_module.ThreadPoolExecutor

    def recorded(max_workers: int) -> Any:
        made.append(max_workers)
        return pool(max_workers=max_workers)

    monkeypatch.setattr(frame_module, "ThreadPoolExecutor", recorded)
    return made
