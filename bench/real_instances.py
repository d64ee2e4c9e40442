"""Real-province placement instances for ``bench/bench_placement.py`` (issue #16).

Each is built with the code ``motcua import`` runs (:func:`geodata.importer.import_scenario`):
the 2025 communes of one province from ``../shared/data``, 2019 population from the
census wards by areal interpolation, the communes' representative points as existing
offices, the most populated demand point of each ``candidate_cell_m`` square as a
candidate, no roads (straight-line fallback), demand on a ``cell_m`` grid.  Built
scenarios and their coverage matrices are cached under ``bench/out/real`` (git-ignored).

    python bench/real_instances.py            # build (or load) every instance, print sizes
    python bench/real_instances.py pt-1km     # one
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _default_shared() -> Path:
    """``../shared/data`` beside the repository, or beside its worktree folder."""
    for base in (REPO.parent, REPO.parent.parent):
        if (base / "shared" / "data").is_dir():
            return base / "shared" / "data"
    return REPO.parent / "shared" / "data"


SHARED = Path(os.environ.get("MOTCUA_SHARED_DATA", _default_shared()))
OUT = REPO / "bench" / "out" / "real"
COMMUNES_2025 = "admin_2025/vn_communes_2025_sapnhap_targets_fullres.gpkg"
GADM_WARDS = "boundaries/vn_wards_gadm41_pop2019.gpkg"


@dataclass(frozen=True)
class RealInstance:
    key: str
    province: str
    cell_m: float
    candidate_cell_m: float


INSTANCES: dict[str, RealInstance] = {r.key: r for r in (
    RealInstance("qn-1km", "Tỉnh Quảng Ninh", 1000.0, 3000.0),
    RealInstance("ls-1km", "Tỉnh Lạng Sơn", 1000.0, 3000.0),
    RealInstance("pt-1km", "Tỉnh Phú Thọ", 1000.0, 3000.0),
    RealInstance("hn-400m", "Thủ Đô Hà Nội", 400.0, 2000.0),
    RealInstance("qn-400m", "Tỉnh Quảng Ninh", 400.0, 3000.0),
)}


def scenario_folder(key: str) -> Path:
    """The scenario folder of instance ``key``, imported on first use."""
    from geodata.finer import FinerUnits
    from geodata.importer import BoundarySource, ImportRequest, import_scenario

    inst = INSTANCES[key]
    folder = OUT / key
    if (folder / "scenario.toml").exists():
        return folder
    request = ImportRequest(
        name=f"{inst.province} ({inst.cell_m:g} m)",
        boundaries=BoundarySource(str(SHARED / COMMUNES_2025),
                                  filters=(("province_name", inst.province),)),
        finer_units=FinerUnits(str(SHARED / GADM_WARDS), layer="wards",
                               population_column="pop2019"),
        candidates="grid", candidate_cell_m=inst.candidate_cell_m, cell_m=inst.cell_m,
        cache_dir=OUT / "cache")
    import_scenario(request, folder)
    return folder


def matrices(key: str, model: str) -> dict[str, Any]:
    """What ``motcua place`` hands the model for ``key``: coverage (or minutes up to the
    p-median/p-center cutoff), weights (residents), must-open and closed sites, and the
    penalty ``motcua place`` charges for p-median."""
    import numpy as np

    from geodata.coverage import coverage_for_scenario
    from geodata.scenario import load_scenario
    from motcua.placement import CUTOFF_FACTOR, PlacementRequest, _run_status

    scenario = load_scenario(scenario_folder(key))
    std = scenario.settings.coverage
    cutoff = (std.max_minutes * CUTOFF_FACTOR if model in ("pmedian", "pcenter", "cpmedian")
              else None)
    sc = coverage_for_scenario(scenario, standard=std, cutoff_minutes=cutoff,
                               cache_dir=OUT / "cache")
    sites = sc.sites.reset_index(drop=True)
    status = _run_status(sites, PlacementRequest(model="lscp"))
    return {
        "covered": sc.matrix.covered, "minutes": sc.matrix.minutes,
        "weights": sc.demand["population"].to_numpy(dtype=float),
        "fixed": np.flatnonzero(status == "must_open"),
        "closed": np.flatnonzero(status == "closed"),
        "penalty": 2.0 * sc.matrix.cutoff_minutes,
        "capacity": sites["capacity_per_day"].fillna(0.0).to_numpy(dtype=float),
        "folder": str(scenario_folder(key)),
    }


def main(argv: list[str]) -> None:
    for key in argv or list(INSTANCES):
        m = matrices(key, "pmedian")
        cov = m["covered"]
        print(f"{key}: {cov.shape[0]} demand x {cov.shape[1]} sites, "
              f"{int(m['weights'].sum())} people, {cov.nnz} covering pairs, "
              f"{m['minutes'].nnz} pairs within the cutoff, {m['fixed'].size} must-open",
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
