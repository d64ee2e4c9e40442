"""The synthetic demo province: determinism, realism and the committed files.

Travel times are computed here directly with scipy (the coverage engine is
tested elsewhere), from the speeds written into the demo's ``scenario.toml``.
"""

from __future__ import annotations

import collections
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import numpy.typing as npt
import osmnx as ox
import pandas as pd
import pytest
import scipy.sparse as sp
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geodata.demo import (
    DEFAULT_SEED,
    HISTORY_END,
    PLAN_WEEK,
    DemoProvince,
    generate_demo,
    main,
    save_demo,
    write_demo,
)
from geodata.scenario import load_scenario
from geodata.settings import DEFAULT_PROCESSING_MINUTES, DEFAULT_SERVICE_MINUTES, FIELDS

SMALL = 0.3  # scale of the quick variants


@pytest.fixture(scope="module")
def demo() -> DemoProvince:
    """The full province with the default seed (what ``scenarios/demo`` holds)."""
    return generate_demo(DEFAULT_SEED)


# --------------------------------------------------------------------------- helpers


def _utm(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.float64]:
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True).transform(lon, lat)
    return np.column_stack([x, y])


def _edge_matrix(graph: nx.MultiDiGraph, weight: dict[str, float] | None) -> sp.csr_matrix:
    """Minutes (``weight`` = speeds in km/h per class) or km (``None``) per edge, fastest
    parallel edge kept; rows are from-nodes in ``graph.nodes`` order."""
    index = {n: i for i, n in enumerate(graph.nodes)}
    best: dict[tuple[int, int], float] = {}
    for u, v, d in graph.edges(data=True):
        km = float(d["length"]) / 1000.0
        cost = km if weight is None else km / weight[d["highway"]] * 60.0
        key = (index[u], index[v])
        best[key] = min(cost, best.get(key, np.inf))
    rows, cols = zip(*best, strict=True)
    return sp.csr_matrix((list(best.values()), (rows, cols)), shape=(len(index), len(index)))


def _uncovered(demo: DemoProvince, sites: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Demand points farther than 30 min AND 5 km (network) from every site, by motorbike.

    Points and sites join the network at their nearest node, walking the gap
    at the scenario's access speed.
    """
    graph = demo.roads
    travel = demo.settings.travel
    cov = demo.settings.coverage
    speeds = travel.speeds_kph["motorbike"]
    nodes_xy = _utm([graph.nodes[n]["x"] for n in graph.nodes],
                    [graph.nodes[n]["y"] for n in graph.nodes])
    tree = cKDTree(nodes_xy)
    gap_d, node_d = tree.query(_utm(demo.demand["lon"], demo.demand["lat"]))
    gap_s, node_s = tree.query(_utm(sites["lon"], sites["lat"]))
    walk_min_s = gap_s / 1000.0 / travel.access_speed_kph * 60.0
    # distances from every node TO a site: run Dijkstra from the sites on the transposed graph
    to_site_min = dijkstra(_edge_matrix(graph, speeds).T.tocsr(), indices=node_s)
    to_site_km = dijkstra(_edge_matrix(graph, None).T.tocsr(), indices=node_s)
    minutes = (to_site_min[:, node_d] + walk_min_s[:, None]).min(axis=0)
    minutes += gap_d / 1000.0 / travel.access_speed_kph * 60.0
    km = (to_site_km[:, node_d] + gap_s[:, None] / 1000.0).min(axis=0) + gap_d / 1000.0
    return (minutes > cov.max_minutes) & (km > cov.max_km)


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a = write_demo(tmp_path / "a", seed=7, scale=SMALL)
    b = write_demo(tmp_path / "b", seed=7, scale=SMALL)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert {"scenario.toml", "demand.csv", "sites.csv", "staff.csv", "workload.csv.gz",
            "roads.graphml"} <= set(names)
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_different_seeds_give_different_provinces() -> None:
    a, b = generate_demo(7, SMALL), generate_demo(8, SMALL)
    assert not a.demand[["lon", "lat"]].equals(b.demand[["lon", "lat"]])
    assert a.staff["name"].tolist() != b.staff["name"].tolist()
    assert not a.workload["dossiers"].equals(b.workload["dossiers"])


def test_scale_outside_zero_one_is_refused() -> None:
    with pytest.raises(ValueError, match=r"scale must be in \(0, 1\]"):
        generate_demo(1, scale=0.0)
    with pytest.raises(SystemExit):
        main(["unused", "--scale", "2"])


# --------------------------------------------------------------------------- people and places


def test_about_one_million_residents_in_about_150_communes(demo: DemoProvince) -> None:
    d = demo.demand
    assert 950_000 <= d["population"].sum() <= 1_050_000
    assert (d["population"] >= 0).all() and d["population"].dtype.kind == "i"
    assert 2_000 <= len(d) <= 4_000
    assert d["id"].is_unique
    assert 140 <= d["commune_code"].nunique() <= 160
    assert len(demo.communes) == d["commune_code"].nunique()
    by_area = demo.communes.groupby("area")["population"]
    # a dense city, market towns, lowland communes and sparse mountain communes
    assert set(by_area.groups) == {"city", "town", "lowland", "mountain"}
    mean = by_area.mean()
    assert mean["city"] > mean["lowland"] > mean["mountain"]
    assert by_area.sum()["city"] > 200_000
    # Vietnamese names with diacritics survive
    assert d["name"].str.contains("[^\x00-\x7f]").mean() > 0.5
    assert d["commune_name"].str.startswith(("Phường ", "Xã ")).all()


def test_sites_branches_receptions_and_candidates(demo: DemoProvince) -> None:
    s = demo.sites
    kinds = s["kind"].value_counts()
    assert 11 <= kinds["branch"] <= 15
    assert 140 <= kinds["reception"] <= 160
    assert 150 <= kinds["candidate"] <= 300
    assert s["id"].is_unique
    hq = s.iloc[0]
    assert hq["kind"] == "branch" and hq["status"] == "must_open"
    assert 2 <= (s.loc[s["kind"] == "branch", "status"] == "must_open").sum() < kinds["branch"]
    assert 1 <= (s["status"] == "closed").sum() <= 10
    # every commune has a reception point
    recep_codes = set(s.loc[s["kind"] == "reception", "commune_code"])
    assert recep_codes == set(demo.communes["commune_code"])
    # candidates are post offices, schools, community halls and market halls
    assert s.loc[s["kind"] == "candidate", "name"].str.startswith(
        ("Điểm bưu điện", "Bưu điện", "Trường", "Nhà văn hóa", "Chợ")).all()


def test_staff_skills_leave_and_mobility(demo: DemoProvince) -> None:
    st = demo.staff
    assert 150 <= len(st) <= 170
    assert st["id"].is_unique and st["name"].is_unique
    kind = demo.sites.set_index("id")["kind"]
    homes = st["home_site"].map(kind)
    assert homes.notna().all() and set(homes) == {"branch", "reception"}
    skills = collections.Counter(f for s in st["skills"] for f in s)
    assert set(skills) == set(FIELDS) and all(len(s) >= 1 for s in st["skills"])
    assert max(skills["land"], skills["business"]) < min(skills["justice"], skills["other"])
    on_leave = st["leave_dates"].map(lambda d: bool(set(d) & set(PLAN_WEEK)))
    assert 5 <= on_leave.sum() <= 40
    assert 0.7 <= st["movable"].mean() < 1.0
    assert set(st["max_days_per_week"]) <= {3, 5, 6}


# --------------------------------------------------------------------------- roads


def test_roads_are_an_osmnx_graph(demo: DemoProvince) -> None:
    g = demo.roads
    assert isinstance(g, nx.MultiDiGraph) and g.graph["crs"] == "EPSG:4326"
    assert len(g) <= 15_000
    xs = np.array([d["x"] for _, d in g.nodes(data=True)])
    ys = np.array([d["y"] for _, d in g.nodes(data=True)])
    assert 106.5 < xs.min() and xs.max() < 107.7 and 20.95 < ys.min() and ys.max() < 21.65
    classes = collections.Counter(d["highway"] for _, _, d in g.edges(data=True))
    assert {"trunk", "primary", "secondary", "tertiary", "unclassified",
            "residential"} <= set(classes)
    one_way = [(u, v) for u, v, d in g.edges(data=True) if d["oneway"]]
    assert one_way and all(not g.has_edge(v, u) or any(
        not d["oneway"] for d in g.get_edge_data(v, u).values()) for u, v in one_way[:200])
    # two-way roads come as edge pairs, as osmnx stores them; lengths are at least
    # the great-circle distance between the ends
    for u, v, d in list(g.edges(data=True))[:2000]:
        if not d["oneway"]:
            assert g.has_edge(v, u)
        gc = ox.distance.great_circle(g.nodes[u]["y"], g.nodes[u]["x"],
                                      g.nodes[v]["y"], g.nodes[v]["x"])
        assert d["length"] >= gc * 0.999 - 0.01


def test_every_settlement_reachable_by_motorbike(demo: DemoProvince) -> None:
    g = demo.roads
    assert nx.number_weakly_connected_components(g) == 1
    assert nx.is_strongly_connected(g)  # one-way streets included
    nodes_xy = _utm([g.nodes[n]["x"] for n in g.nodes], [g.nodes[n]["y"] for n in g.nodes])
    gap_m, _ = cKDTree(nodes_xy).query(_utm(demo.demand["lon"], demo.demand["lat"]))
    assert gap_m.max() < 300.0  # well within max_snap_m
    gap_m, _ = cKDTree(nodes_xy).query(_utm(demo.sites["lon"], demo.sites["lat"]))
    assert gap_m.max() < 100.0


def test_coverage_is_a_real_question(demo: DemoProvince) -> None:
    """Some hamlets lie beyond 30 min and 5 km of every open office; candidates reach some."""
    s = demo.sites
    offices = s[(s["kind"] != "candidate") & (s["status"] != "closed")]
    out = _uncovered(demo, offices)
    pop = demo.demand["population"].to_numpy()
    share = pop[out].sum() / pop.sum()
    assert 0.005 <= share <= 0.10, share
    assert out.sum() >= 20  # several villages, not one odd point
    areas = demo.demand["commune_code"].map(demo.communes.set_index("commune_code")["area"])
    assert (areas[out] == "mountain").mean() > 0.8
    everything = s[s["status"] != "closed"]
    still_out = _uncovered(demo, everything)
    assert pop[still_out].sum() < 0.5 * pop[out].sum()


# --------------------------------------------------------------------------- dossier history


def test_history_calendar_and_weekday_pattern(demo: DemoProvince) -> None:
    w = demo.workload
    dates = pd.DatetimeIndex(sorted(w["date"].unique()))
    assert dates[-1].date() == HISTORY_END and len(dates) == 8 * 6
    assert (dates.dayofweek < 6).all()  # Mon-Sat only
    daily = w.groupby("date")["dossiers"].sum()
    by_weekday = daily.groupby(pd.DatetimeIndex(daily.index).dayofweek).mean()
    assert by_weekday.idxmax() == 0 and by_weekday.idxmin() == 5
    assert set(w["channel"]) == {"online", "in_person"} and set(w["field"]) == set(FIELDS)
    assert set(w["site_id"]) <= set(demo.sites["id"])
    assert (w["dossiers"] >= 0).all()


def test_online_shares_between_55_and_95_percent(demo: DemoProvince) -> None:
    w = demo.workload
    table = w.pivot_table(index=["site_id", "field"], columns="channel", values="dossiers",
                          aggfunc="sum")
    total = table.sum(axis=1)
    share = (table["online"] / total)[total >= 500]  # enough dossiers for a stable share
    assert len(share) >= 50
    assert share.between(0.55, 0.95).all(), share[~share.between(0.55, 0.95)]
    by_field = w.pivot_table(index="field", columns="channel", values="dossiers", aggfunc="sum")
    field_share = by_field["online"] / by_field.sum(axis=1)
    assert field_share.between(0.55, 0.95).all()
    assert field_share["business"] > field_share["land"]
    # scenario.toml states the in-person shares the history shows
    in_person = demo.settings.demand.in_person_share_by_field
    for f in FIELDS:
        assert in_person[f] == pytest.approx(1 - field_share[f], abs=0.001)


def test_about_one_dossier_per_resident_per_year(demo: DemoProvince) -> None:
    w = demo.workload
    per_year = w["dossiers"].sum() / w["date"].nunique() * 52 * 6
    rate = per_year / demo.demand["population"].sum()
    assert 0.85 <= rate <= 1.15
    assert demo.settings.demand.dossiers_per_1000_per_year == pytest.approx(rate * 1000, abs=0.1)


def test_some_branches_overloaded_while_neighbours_idle(demo: DemoProvince) -> None:
    """Staff-days of work per day vs staff-days available: rebalancing has something to do."""
    w = demo.workload
    service = w["field"].map(DEFAULT_SERVICE_MINUTES)
    processing = w["field"].map(DEFAULT_PROCESSING_MINUTES)
    minutes = (processing + np.where(w["channel"] == "in_person", service, 0.0)) * w["dossiers"]
    load = minutes.groupby(w["site_id"]).sum() / w["date"].nunique() / 480.0
    st = demo.staff
    available = st.groupby("home_site")["max_days_per_week"].sum() / 6.0
    branches = demo.sites.loc[demo.sites["kind"] == "branch", "id"]
    util = (load[branches] / available.reindex(branches)).dropna()
    assert len(util) == len(branches)
    assert (util > 1.2).sum() >= 2
    assert (util < 0.7).sum() >= 2
    assert load[branches].sum() < available[branches].sum()  # enough staff in total


# --------------------------------------------------------------------------- committed files


def test_committed_demo_equals_fresh_generation(demo: DemoProvince, demo_dir: Path,
                                                tmp_path: Path) -> None:
    fresh = save_demo(demo, tmp_path / "demo")
    committed = sorted(p.name for p in demo_dir.iterdir())
    assert committed == sorted(p.name for p in fresh.iterdir())
    for name in committed:
        assert (demo_dir / name).read_bytes() == (fresh / name).read_bytes(), (
            f"scenarios/demo/{name} drifted from the generator; regenerate with "
            f"'python -m geodata.demo scenarios/demo --seed {DEFAULT_SEED}'")


def test_committed_demo_loads_cleanly_and_is_small(demo: DemoProvince, demo_dir: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scenario = load_scenario(demo_dir)
    assert scenario.warnings == ()
    assert scenario.settings.synthetic is True
    assert "SYNTHETIC" in scenario.name and "SYNTHETIC" in scenario.settings.description
    assert "KHÔNG CÓ THẬT" in scenario.settings.description
    assert len(scenario.demand) == len(demo.demand)
    assert len(scenario.staff) == len(demo.staff)
    assert scenario.roads_path is not None
    graph = ox.load_graphml(scenario.roads_path)
    assert len(graph) == len(demo.roads)
    assert graph.number_of_edges() == demo.roads.number_of_edges()
    size = sum(p.stat().st_size for p in demo_dir.iterdir())
    assert size < 10 * 2**20


def test_module_entry_point_writes_a_loadable_scenario(tmp_path: Path) -> None:
    assert main([str(tmp_path / "out"), "--seed", "11", "--scale", str(SMALL)]) == 0
    scenario = load_scenario(tmp_path / "out")
    assert scenario.settings.synthetic
    assert "seed 11" in scenario.settings.description
