"""Fixtures for the app tests: a temporary workspace holding a tiny hand-made scenario."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from motcua.app.workspace import Workspace

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
