"""Coverage builder vs the usual osmnx/networkx way, side by side on the same instance.

Ours: :func:`geodata.coverage.build_coverage` (batched bounded multi-source
Dijkstra in scipy, from the sites on the reversed graph; it also computes the
km of every trip and the shortest-km coverage rule).  Peer: what osmnx users
usually write: ``networkx.single_source_dijkstra_path_length(G_reversed,
site_node, cutoff=..., weight="travel_time_min")`` one site at a time, then the
same access legs (minutes only, so the peer does less work than ours).  Both
use the same snapped nodes; the script checks that they give the same pairs
and minutes, then prints both times and the ratio.  Ours is timed cold (the
graph-arrays cache cleared first, so building the arrays from the networkx
graph is included; that time gives the ratio) and again warm.

Cases (each runs in its own process so that peak memory is its own):

* ``caugiay``: real OSM extract of Cầu Giấy (../shared/data), motorbike, 30 min,
  ``--sites`` (default 500) random sites and 5,000 random demand points.
* ``demo``: the synthetic demo province's full matrix (scenarios/demo).
* ``synthetic``: a synthetic 450 x 450 grid (202,500 nodes), 1,000 sites,
  20,000 demand points; the peer runs on ``--peer-sites`` sites (default 20)
  and its time is extrapolated linearly to all sites (printed as such).

Usage::

    python bench/bench_coverage.py                # all cases
    python bench/bench_coverage.py --case caugiay --sites 500 --seed 0
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CRS = "EPSG:32648"


def _shared() -> Path:
    return Path(os.environ.get("MOTCUA_SHARED_DATA", REPO.parent / "shared" / "data"))


def _random_points(xy_bounds: tuple[float, float, float, float], k: int, rng: Any,
                   prefix: str) -> Any:
    import geopandas as gpd

    x0, y0, x1, y1 = xy_bounds
    return gpd.GeoDataFrame({"id": [f"{prefix}{i}" for i in range(k)]},
                            geometry=gpd.points_from_xy(rng.uniform(x0, x1, k),
                                                        rng.uniform(y0, y1, k)), crs=CRS)


def _peer(prepared: Any, demand: Any, sites: Any, travel: Any, cutoff: float,
          site_subset: np.ndarray) -> tuple[dict[tuple[int, int], float], float]:
    """networkx single-source Dijkstra with a cutoff, one site at a time (network trips only)."""
    import networkx as nx

    from geodata.network import graph_arrays
    from geodata.snapping import snap_points

    ga = graph_arrays(prepared, CRS)
    dp = demand.to_crs(CRS).geometry
    sp_ = sites.to_crs(CRS).geometry
    ds = snap_points(np.column_stack([dp.x, dp.y]), ga.xy_m, travel.access_speed_kph,
                     travel.max_snap_m)
    ss = snap_points(np.column_stack([sp_.x, sp_.y]), ga.xy_m, travel.access_speed_kph,
                     travel.max_snap_m)
    d_ok = np.flatnonzero(~ds.too_far)
    d_node = ga.node_ids[ds.node]
    rev = prepared.reverse(copy=False)
    out: dict[tuple[int, int], float] = {}
    t0 = time.perf_counter()
    for j in site_subset:
        if ss.too_far[j]:
            continue
        budget = cutoff - ss.access_min[j]
        if budget < 0:
            continue
        dist = nx.single_source_dijkstra_path_length(rev, ga.node_ids[ss.node[j]],
                                                     cutoff=budget, weight="travel_time_min")
        for i in d_ok:
            t = dist.get(d_node[i])
            if t is not None:
                total = t + ds.access_min[i] + ss.access_min[j]
                if total <= cutoff:
                    out[(int(i), int(j))] = float(total)
    return out, time.perf_counter() - t0


def _compare(ours: dict[tuple[int, int], float], peer: dict[tuple[int, int], float],
             walk_pairs: set[tuple[int, int]]) -> str:
    """Equal where both route over the network; ours may add shorter straight walks."""
    mism = 0
    for pair, v in peer.items():
        o = ours.get(pair)
        if o is None or o > v + 1e-9 or (pair not in walk_pairs and abs(o - v) > 1e-9):
            mism += 1
    extra = [p for p in ours if p not in peer and p not in walk_pairs]
    ok = mism == 0 and not extra
    return (f"{'EQUAL' if ok else 'DIFFERENT'} ({len(peer):,} peer pairs, {mism} mismatches, "
            f"{len(extra)} extra non-walk pairs)")


def _walk_pairs(demand: Any, sites: Any, travel: Any, cutoff: float) -> set[tuple[int, int]]:
    from scipy.spatial import KDTree

    dp = demand.to_crs(CRS).geometry
    sp_ = sites.to_crs(CRS).geometry
    r = min(travel.max_snap_m, travel.access_speed_kph * cutoff / 60 * 1000)
    res = KDTree(np.column_stack([dp.x, dp.y])).sparse_distance_matrix(
        KDTree(np.column_stack([sp_.x, sp_.y])), r, output_type="ndarray")
    return set(zip(res["i"].tolist(), res["j"].tolist(), strict=True))


def _run_case(prepared: Any, demand: Any, sites: Any, travel: Any, standard: Any,
              peer_sites: int | None, name: str, extra: dict[str, Any]) -> dict[str, Any]:
    from geodata.coverage import build_coverage
    from geodata.network import clear_arrays_cache

    clear_arrays_cache()  # cold: ours includes building the graph's arrays and chains
    t0 = time.perf_counter()
    cov = build_coverage(demand, sites, prepared, standard, travel, CRS)
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    build_coverage(demand, sites, prepared, standard, travel, CRS)
    ours_warm_s = time.perf_counter() - t0
    n_sites = len(sites)
    subset = np.arange(n_sites) if peer_sites is None else np.linspace(
        0, n_sites - 1, peer_sites).astype(int)
    peer, peer_s = _peer(prepared, demand, sites, travel, standard.max_minutes, subset)
    coo = cov.minutes.tocoo()
    sub = set(subset.tolist())
    ours = {(int(i), int(j)): float(v) for i, j, v in zip(coo.row, coo.col, coo.data,
                                                           strict=True) if int(j) in sub}
    check = _compare(ours, peer, _walk_pairs(demand, sites, travel, standard.max_minutes))
    peer_full_s = peer_s * n_sites / len(subset)
    return {
        "case": name, "nodes": prepared.number_of_nodes(), "edges": prepared.number_of_edges(),
        "demand": len(demand), "sites": n_sites, "cutoff_min": standard.max_minutes,
        "pairs": int(cov.minutes.nnz), "covered_pairs": int(cov.covered.nnz),
        "ours_s": round(ours_s, 3), "ours_warm_s": round(ours_warm_s, 3),
        "peer_s": round(peer_full_s, 3),
        "peer_extrapolated_from_sites": None if peer_sites is None else int(len(subset)),
        "ratio": round(peer_full_s / ours_s, 1), "check": check,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **extra,
    }


def case_caugiay(args: argparse.Namespace) -> dict[str, Any]:
    from geodata.network import load_graph, prepare_graph
    from geodata.settings import CoverageStandard, TravelSettings

    travel = TravelSettings(mode="motorbike")
    raw = load_graph(_shared() / "roads" / "hanoi" / "hanoi_cau_giay.osm")
    t0 = time.perf_counter()
    prepared = prepare_graph(raw, travel)
    prep_s = time.perf_counter() - t0
    rng = np.random.default_rng(args.seed)
    from geodata.network import graph_arrays

    xy = graph_arrays(prepared, CRS).xy_m
    bounds = (*xy.min(axis=0), *xy.max(axis=0))
    sites = _random_points(bounds, args.sites, rng, "s")
    demand = _random_points(bounds, args.demand or 5000, rng, "d")
    return _run_case(prepared, demand, sites, travel, CoverageStandard(), None,
                     "Cầu Giấy (real OSM)", {"prepare_s": round(prep_s, 3), "seed": args.seed})


def case_demo(args: argparse.Namespace) -> dict[str, Any]:
    from geodata.demand import demand_points
    from geodata.network import cached_graph, prepare_graph
    from geodata.scenario import load_scenario

    scn = load_scenario(REPO / "scenarios" / "demo")
    assert scn.roads_path is not None
    travel = scn.settings.travel
    raw = cached_graph(scn.roads_path)
    t0 = time.perf_counter()
    prepared = prepare_graph(raw, travel)
    prep_s = time.perf_counter() - t0
    demand = demand_points(scn)
    return _run_case(prepared, demand.to_crs(CRS), scn.sites.to_crs(CRS), travel, scn.settings.coverage,
                     None, "demo province (synthetic)",
                     {"prepare_s": round(prep_s, 3)})


def case_synthetic(args: argparse.Namespace) -> dict[str, Any]:
    from geodata.network import prepare_graph
    from geodata.settings import CoverageStandard, TravelSettings
    from geodata.synthetic_roads import grid_road_graph

    side = args.side
    t0 = time.perf_counter()
    raw, xy = grid_road_graph(side, side, spacing_m=250.0, seed=args.seed, oneway_share=0.1)
    travel = TravelSettings(mode="motorbike")
    prepared = prepare_graph(raw, travel)
    del raw
    prep_s = time.perf_counter() - t0
    rng = np.random.default_rng(args.seed)
    bounds = (*xy.min(axis=0), *xy.max(axis=0))
    sites = _random_points(bounds, args.sites or 1000, rng, "s")
    demand = _random_points(bounds, args.demand or 20000, rng, "d")
    return _run_case(prepared, demand, sites, travel, CoverageStandard(), args.peer_sites,
                     f"synthetic grid {side}x{side}",
                     {"build_graph_and_prepare_s": round(prep_s, 3), "seed": args.seed})


CASES = {"caugiay": case_caugiay, "demo": case_demo, "synthetic": case_synthetic}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--case", choices=[*CASES, "all"], default="all")
    p.add_argument("--sites", type=int, default=None, help="sites (caugiay 500, synthetic 1000)")
    p.add_argument("--demand", type=int, default=None, help="random demand points")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--side", type=int, default=450, help="synthetic grid side (nodes)")
    p.add_argument("--peer-sites", type=int, default=20,
                   help="synthetic case: sites the networkx peer runs on (time extrapolated)")
    p.add_argument("--json", action="store_true", help="print one JSON line per case")
    args = p.parse_args()
    if args.case == "all":
        for name in CASES:
            cmd = [sys.executable, __file__, "--case", name, "--seed", str(args.seed),
                   "--side", str(args.side), "--peer-sites", str(args.peer_sites)]
            if args.json:
                cmd.append("--json")
            if args.sites is not None:
                cmd += ["--sites", str(args.sites)]
            subprocess.run(cmd, check=True)
        return 0
    if args.case == "caugiay" and args.sites is None:
        args.sites = 500
    res = CASES[args.case](args)
    res["python"] = platform.python_version()
    res["cpu_count"] = os.cpu_count()
    res["threads"] = 1  # scipy's Dijkstra and networkx are single-threaded
    if args.json:
        print(json.dumps(res, ensure_ascii=False))
    else:
        print(f"== {res['case']}: {res['nodes']:,} nodes, {res['edges']:,} edges, "
              f"{res['demand']:,} demand x {res['sites']:,} sites, "
              f"cutoff {res['cutoff_min']:g} min")
        peer_note = (f" (extrapolated from {res['peer_extrapolated_from_sites']} sites)"
                     if res["peer_extrapolated_from_sites"] else "")
        print(f"   ours (scipy batched bounded Dijkstra): {res['ours_s']:.2f} s "
              f"(second call, graph arrays cached: {res['ours_warm_s']:.2f} s); "
              f"peer (networkx one site at a time): {res['peer_s']:.2f} s{peer_note}; "
              f"ratio {res['ratio']:.1f}x")
        print(f"   {res['pairs']:,} pairs within the cutoff, {res['covered_pairs']:,} covered; "
              f"check vs peer: {res['check']}; peak RSS {res['peak_rss_mb']:,.0f} MB")
        print(f"   {json.dumps({k: v for k, v in res.items() if k.endswith('_s') or k == 'seed'})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
