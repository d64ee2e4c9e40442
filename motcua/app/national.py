"""The national page's data: sweep folders written by ``motcua sweep``, and opening one
province's saved runs in the workspace so the Placement and Compare pages show them.

No Streamlit here: the page (``app_pages/national.py``) only displays.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from motcua.app.workspace import Workspace, WorkspaceError, check_id

#: Folder of the workspace searched for sweeps (``workspace/sweeps/<name>/sweep.json``).
SWEEPS_DIR = "sweeps"
#: Colour classes of the share of residents covered today: (lower bound, colour).
COVERAGE_CLASSES: tuple[tuple[float, str], ...] = (
    (0.0, "#b2182b"), (0.90, "#ef8a62"), (0.95, "#fddbc7"), (0.98, "#92c5de"), (0.995, "#2166ac"),
)
NO_DATA_COLOR = "#bdbdbd"


def find_sweeps(ws: Workspace) -> list[Path]:
    """Sweep folders: those named in ``$MOTCUA_SWEEP`` (``os.pathsep``-separated), then
    ``workspace/sweeps/*``, each holding a ``sweep.json``; newest first within the workspace."""
    found: list[Path] = []
    for text in os.environ.get("MOTCUA_SWEEP", "").split(os.pathsep):
        if text.strip() and (Path(text) / "sweep.json").is_file():
            found.append(Path(text).resolve())
    base = ws.root / SWEEPS_DIR
    if base.is_dir():
        inside = [p.resolve() for p in base.iterdir() if (p / "sweep.json").is_file()]
        found += sorted(inside, key=lambda p: p.stat().st_mtime, reverse=True)
    return list(dict.fromkeys(found))


def is_sweep(folder: str | Path) -> bool:
    return (Path(folder) / "sweep.json").is_file()


def load_sweep(folder: str | Path) -> gpd.GeoDataFrame:
    """The provinces of a sweep: ``provinces.gpkg`` (or ``provinces.csv`` without outlines).

    Raises ``FileNotFoundError`` naming the folder when it holds neither.
    """
    folder = Path(folder)
    gpkg, csv = folder / "provinces.gpkg", folder / "provinces.csv"
    if gpkg.is_file():
        table = gpd.read_file(gpkg, layer="provinces")
    elif csv.is_file():
        frame = pd.read_csv(csv)
        table = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame)), crs=4326)
    else:
        msg = f"{folder}: no provinces.gpkg or provinces.csv; expected a folder of motcua sweep"
        raise FileNotFoundError(msg)
    if "error" not in table:
        table["error"] = None
    table["error"] = table["error"].where(table["error"].notna() & (table["error"] != ""), None)
    return table


def coverage_color(share: Any) -> str:
    """Colour of a province by its share of residents covered today."""
    try:
        value = float(share)
    except (TypeError, ValueError):
        return NO_DATA_COLOR
    if value != value:
        return NO_DATA_COLOR
    color = COVERAGE_CLASSES[0][1]
    for lower, c in COVERAGE_CLASSES:
        if value >= lower:
            color = c
    return color


def province_runs(folder: str | Path, slug: str) -> dict[str, Path]:
    """Saved runs of one province of a sweep, by model label (``coverage``, ``lscp``, ``mclp-50``)."""
    base = Path(folder) / "provinces" / check_id(slug, "province")
    runs = base / "runs"
    if not runs.is_dir():
        return {}
    return {p.name: p for p in sorted(runs.iterdir()) if (p / "result.json").is_file()}


def _run_id(folder: Path, slug: str, label: str) -> str:
    row = folder / "provinces" / slug / "row.json"
    stamp = row.read_text(encoding="utf-8") if row.is_file() else ""
    digest = hashlib.sha1(f"{folder.resolve()}|{stamp}".encode()).hexdigest()[:8]
    return check_id(f"sweep-{slug}-{label}-{digest}"[:80])


def open_province(ws: Workspace, folder: str | Path, slug: str) -> tuple[str | None, dict[str, str]]:
    """Copy one province's scenario and runs into the workspace (once) for the other pages.

    Returns ``(scenario_ref, {model label: run id})``.  The run ids are the same
    every time for the same finished province, so opening it twice copies nothing.
    """
    folder = Path(folder)
    runs = province_runs(folder, slug)
    if not runs:
        msg = f"{folder}: province {slug!r} has no saved run (not finished?)"
        raise WorkspaceError(msg)
    ids = {label: _run_id(folder, slug, label) for label in runs}
    existing = [i for i in ids.values() if (ws.runs_dir / i / "meta.json").is_file()]
    scenario_ref: str | None = None
    if existing:
        scenario_ref = ws.run_info(existing[0]).scenario_ref or None
    scenario_dir = folder / "provinces" / slug / "scenario"
    if scenario_ref is None and (scenario_dir / "scenario.toml").is_file():
        row = json.loads((folder / "provinces" / slug / "row.json").read_text(encoding="utf-8"))
        scenario_ref = ws.add_scenario(scenario_dir, str(row.get("name") or slug))
    for label, path in runs.items():
        run_id = ids[label]
        if (ws.runs_dir / run_id / "meta.json").is_file():
            continue
        meta = json.loads((path / "result.json").read_text(encoding="utf-8"))
        ws.save_run(
            "placement", lambda dest, src=path: shutil.copytree(src, dest),
            label=f"{meta.get('scenario', slug)} · {label} (motcua sweep)",
            scenario_ref=scenario_ref or "", scenario_name=str(meta.get("scenario", slug)),
            params=meta.get("request", {}), figures=meta.get("figures", {}),
            report=meta.get("report", {}), run_id=run_id)
    return scenario_ref, ids
