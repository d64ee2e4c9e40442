"""Shared fixtures: where the real data lives, and the demo scenario."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$MOTCUA_SHARED_DATA`` or ``../shared/data`` beside the repository."""
    return Path(os.environ.get("MOTCUA_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real Vietnamese data. Always present in CI, where its absence is a failure."""
    path = shared_data_dir()
    if not path.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"shared data not found at {path} (set MOTCUA_SHARED_DATA)")
        pytest.skip(f"shared data not found at {path}")
    return path


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return REPO / "scenarios" / "demo"


from tests.scenarios.conftest import make_scenario  # noqa: E402,F401  (shared fixture)
