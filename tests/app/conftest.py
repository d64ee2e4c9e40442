"""Fixtures for the app tests: a temporary workspace holding a tiny hand-made scenario."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from motcua.app.workspace import Workspace
from tests.conftest import communes_2025

if TYPE_CHECKING:
    from geodata.importer import ImportRequest
    from geodata.scenario import Scenario

APP_TESTS = Path(__file__).resolve().parent
REPO = APP_TESTS.parents[1]
APP = REPO / "app.py"
TINY = APP_TESTS / "data" / "tiny"


@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """An empty workspace in a temporary folder; the basemap probe is off (no network in tests)."""
    monkeypatch.setenv("MOTCUA_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("MOTCUA_BASEMAP", "off")
    return Workspace.default()


@pytest.fixture()
def tiny_ref(workspace: Workspace) -> str:
    """Reference of the tiny scenario copied into the workspace (as an upload would be)."""
    return workspace.add_scenario(TINY, "tiny")


@pytest.fixture()
def zip_folder() -> Callable[..., bytes]:
    """``zip_folder(folder, replace={name: text}, drop=(name,))``: zip bytes of a scenario."""
    return _zip_folder


def _zip_folder(folder: Path, replace: dict[str, str] | None = None, drop: tuple[str, ...] = ()) -> bytes:
    """Zip a scenario folder in memory, replacing or dropping some files."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(folder.iterdir()):
            if p.name in drop:
                continue
            text = (replace or {}).get(p.name)
            zf.writestr(f"scen/{p.name}", text if text is not None else p.read_bytes())
    return buf.getvalue()


def quang_ninh_request(shared_data: Path, cache_dir: Path) -> ImportRequest:
    """Quảng Ninh 2025 at 1 km with 4 km grid candidates, as ``motcua import`` builds it."""
    from geodata.importer import ImportRequest

    return ImportRequest(
        name="Quảng Ninh 2025", boundaries=communes_2025(shared_data, "Tỉnh Quảng Ninh"),
        cell_m=1000.0, candidates="grid", candidate_cell_m=4000.0, cache_dir=cache_dir)


@pytest.fixture(scope="session")
def quang_ninh_2025(shared_data: Path,
                    tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Scenario]:
    """Quảng Ninh 2025 imported once per test run (about 8,200 demand cells; 14 CPU
    seconds): the folder ``motcua import`` writes, and the scenario read back from it.
    Shared by the province's browser walk (which copies the folder into its workspace)
    and the compact-map budget test; neither changes it. With pytest-xdist (``.ci/run``)
    the workers share one import: the first imports, under a lock, the others read it."""
    import fcntl

    from geodata.importer import import_scenario
    from geodata.scenario import load_scenario

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, above each worker's own
    tmp = base / "quang_ninh_2025"
    tmp.mkdir(exist_ok=True)
    folder = tmp / "qn"
    with open(tmp / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (tmp / "imported").is_file():
            import_scenario(quang_ninh_request(shared_data, tmp / "cache"), folder)
            (tmp / "imported").touch()
    return folder, load_scenario(folder)
