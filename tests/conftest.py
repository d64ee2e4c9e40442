"""Shared fixtures: where the real data lives, and the demo scenario."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from geodata.importer import BoundarySource

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$MOTCUA_SHARED_DATA`` or ``../shared/data`` beside the repository."""
    return Path(os.environ.get("MOTCUA_SHARED_DATA", REPO.parent / "shared" / "data"))


#: Files of ``../shared/data`` the real-data tests read (its README says what each is).
COMMUNES_2025 = "admin_2025/vn_communes_2025_sapnhap_targets_fullres.gpkg"
TARGETS_2025 = "admin_2025/targets_communes_2025_pop2019_areaweighted.csv"
GADM_WARDS = "boundaries/vn_wards_gadm41_pop2019.gpkg"


def communes_2025(shared_data: Path, province: str) -> BoundarySource:
    """``province``'s 2025 communes (e.g. "Tỉnh Quảng Ninh") with their 2019 population
    joined from the targets table by ward code, as ``motcua import`` reads them."""
    from geodata.importer import BoundarySource

    return BoundarySource(str(shared_data / COMMUNES_2025),
                          filters=(("province_name", province),),
                          population_column="pop2019_est",
                          population_table=shared_data / TARGETS_2025,
                          join_column="ward_code")


#: Modules that take a minute or more, slowest first (``--durations`` of a whole run).
#: They are collected first: ``.ci/run`` gives each module to one of two pytest-xdist
#: workers in collection order, so a long module started last would run alone at the end.
SLOW_MODULES = (
    "tests/test_sweep.py",
    "tests/app/test_browser.py",
    "tests/app/test_browser_province.py",
    "tests/test_questions_real.py",
    "tests/app/test_apptest.py",
    "tests/test_staffing.py",
    "tests/app/test_national_browser.py",
    "tests/geodata/test_import_2025_real.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules of :data:`SLOW_MODULES` first; every module's tests keep their order."""
    rank = {module: i for i, module in enumerate(SLOW_MODULES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


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
