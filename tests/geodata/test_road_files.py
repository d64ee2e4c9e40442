"""Broken and misplaced road files: ``motcua validate`` names each, and place/coverage/staff agree.

Each case writes the small test scenario (tests/scenarios/conftest.py) with one
road file, then checks the exact problem through the library
(:func:`geodata.roads.check_roads`), ``motcua validate`` and ``motcua place``,
which share one rule.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import osmnx as ox
import pytest

from geodata.network import project_xy
from geodata.roads import check_roads, scenario_roads
from geodata.scenario import load_scenario
from geodata.snapping import RoadReach, reach_problems
from geodata.synthetic_roads import graph_from_metric
from motcua.cli import main
from tests.scenarios.conftest import TOML, MakeScenario

# the test scenario's points (lon/lat in its files) in its CRS, EPSG:32648
LONLAT = {"d1": (107.10, 21.30), "d2": (107.12, 21.31), "d3": (107.20, 21.35),
          "s1": (107.11, 21.30), "s2": (107.19, 21.35), "s3": (107.15, 21.32)}
_XY = project_xy([p[0] for p in LONLAT.values()], [p[1] for p in LONLAT.values()],
                 "EPSG:4326", "EPSG:32648")
XY = {k: (float(x), float(y)) for k, (x, y) in zip(LONLAT, _XY, strict=True)}
CHAIN = ("d1", "s1", "d2", "s3", "s2", "d3")
SPEEDS = ("living_street, path, primary, primary_link, residential, road, secondary, "
          "secondary_link, service, tertiary, tertiary_link, track, trunk, trunk_link, "
          "unclassified")
FILE = ("a road network saved by osmnx.save_graphml (.graphml) or an OpenStreetMap XML "
        "export (.osm)")


def roads(points: tuple[str, ...] = CHAIN, shift_m: tuple[float, float] = (0.0, 0.0),
          highway: str = "residential",
          xy: dict[str, tuple[float, float]] = XY) -> nx.MultiDiGraph:
    """A road through ``points`` (at the scenario's points ``xy``, moved by ``shift_m``)."""
    nodes = {i: (xy[p][0] + shift_m[0], xy[p][1] + shift_m[1]) for i, p in enumerate(points)}
    edges = []
    for i in range(len(points) - 1):
        (x0, y0), (x1, y1) = nodes[i], nodes[i + 1]
        edges.append((i, i + 1, highway, ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5))
    return graph_from_metric(nodes, edges)


@pytest.fixture
def with_roads(make_scenario: MakeScenario, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """``with_roads(writer, name)``: the test scenario with ``[files] roads = name``."""
    monkeypatch.setenv("MOTCUA_CACHE", str(tmp_path / "cache"))

    def make(write: Callable[[Path], Any], name: str = "roads.graphml") -> Path:
        toml = TOML.replace('workload = "workload.csv"\n',
                            f'workload = "workload.csv"\nroads = "{name}"\n')
        folder = make_scenario(**{"scenario.toml": toml})
        write(folder / name)
        return folder

    return make


def save(graph: nx.MultiDiGraph) -> Callable[[Path], None]:
    return lambda path: ox.save_graphml(graph, path)


def _graph(change: Callable[[nx.MultiDiGraph], None]) -> nx.MultiDiGraph:
    g = roads()
    change(g)
    return g


def _drop_x(g: nx.MultiDiGraph) -> None:
    del g.nodes[2]["x"]


def _crs(value: str) -> Callable[[nx.MultiDiGraph], None]:
    def change(g: nx.MultiDiGraph) -> None:
        g.graph["crs"] = value
    return change


def _metres_as_degrees(g: nx.MultiDiGraph) -> None:
    for i, p in enumerate(CHAIN):
        g.nodes[i]["x"], g.nodes[i]["y"] = XY[p]


def _no_edges(g: nx.MultiDiGraph) -> None:
    g.remove_edges_from(list(g.edges))


def _no_length(g: nx.MultiDiGraph) -> None:
    for _, _, d in g.edges(data=True):
        d.pop("length")


# (case, road file writer, file name, the one problem)
CASES: list[tuple[str, Callable[[Path], Any], str, str]] = [
    ("empty file", lambda p: p.write_bytes(b""), "roads.graphml",
     f"roads.graphml: road network file is empty; expected {FILE}"),
    ("not XML", lambda p: p.write_bytes(b"\x00\x01 not a graph"), "roads.graphml",
     "roads.graphml: could not read road network (ParseError: not well-formed (invalid "
     f"token): line 1, column 0); expected {FILE}"),
    ("empty .osm", lambda p: p.write_text("\n"), "roads.osm",
     f"roads.osm: road network file is empty; expected {FILE}"),
    ("no nodes", lambda p: nx.write_graphml(nx.MultiDiGraph(crs="EPSG:4326"), p), "roads.graphml",
     "roads.graphml: road network has no nodes; expected nodes with x (longitude) and y "
     f"(latitude) and roads between them, {FILE}"),
    ("node without coordinates", save(_graph(_drop_x)), "roads.graphml",
     f"roads.graphml, column 'x/y': node 2 has no valid coordinates (value 'x=None, "
     f"y={roads().nodes[2]['y']!r}'); expected a finite x and y on every node, in the graph's CRS "
     "(longitude and latitude for EPSG:4326)"),
    ("CRS that is not one", save(_graph(_crs("metres please"))), "roads.graphml",
     "roads.graphml, column 'crs': the graph's 'crs' is not a coordinate reference system "
     "(value 'metres please'); expected a CRS such as EPSG:4326 (what osmnx writes)"),
    ("metres declared as degrees", save(_graph(_metres_as_degrees)), "roads.graphml",
     "roads.graphml, column 'crs': node coordinates are not degrees but the graph declares "
     f"the geographic CRS EPSG:4326 (value 'x {XY['d1'][0]:.6g}..{XY['d3'][0]:.6g}, "
     f"y {XY['d1'][1]:.6g}..{XY['d3'][1]:.6g}'); expected a 'crs' graph attribute matching "
     "the coordinates (e.g. EPSG:32648 for UTM 48N metres) or longitude/latitude degrees"),
    ("no edges", save(_graph(_no_edges)), "roads.graphml",
     f"roads.graphml: road network has 6 nodes but no edges; expected roads (edges) between "
     f"the nodes, {FILE}"),
    ("edges without length", save(_graph(_no_length)), "roads.graphml",
     "roads.graphml, column 'length': edge 0->1 has no valid 'length' in metres (9 more of "
     "the 10 edges neither); expected a length in metres >= 0 on every edge (osmnx adds it)"),
    ("no road a motorbike may use", save(roads(highway="motorway")), "roads.graphml",
     "roads.graphml, column 'highway': no road in the network is usable by motorbike "
     "(value 'motorway (10 edges)'); expected edges whose 'highway' class motorbike may use "
     f"({SPEEDS}), not closed by access=no/private; or a speed for the file's classes in "
     "[travel.speeds_kph.motorbike]"),
]


@pytest.mark.parametrize(("case", "write", "name", "problem"), CASES, ids=[c[0] for c in CASES])
def test_broken_road_file_is_named_by_validate_and_place(
        case: str, write: Callable[[Path], Any], name: str, problem: str,
        with_roads: Callable[..., Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    folder = with_roads(write, name)
    scenario = load_scenario(folder)  # the tables are fine: only the roads are broken
    problems, warnings = check_roads(scenario, cache_dir=tmp_path / "cache")
    assert [str(p) for p in problems] == [problem]
    assert warnings == []
    assert main(["validate", str(folder), "--cache-dir", str(tmp_path / "cache")]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"1 problem in scenario:\n  - {problem}\n"
    assert "valid: yes" not in captured.out
    # place meets the same problem, from the same check
    assert main(["place", str(folder), "--cache-dir", str(tmp_path / "cache")]) == 1
    assert capsys.readouterr().err == f"motcua place: {problem}\n"


def test_a_good_road_file_is_valid(with_roads: Callable[..., Path], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    folder = with_roads(save(roads()))
    assert check_roads(load_scenario(folder), cache_dir=tmp_path / "cache") == ([], [])
    assert main(["validate", str(folder), "--cache-dir", str(tmp_path / "cache")]) == 0
    out = capsys.readouterr().out
    assert "valid: yes" in out and "warning" not in out


# every node 1,000 km south of a point; d1 is nearest to d3's node, 5.7 km north and 10.3 km
# east of d1: sqrt(10.300 ** 2 + (1000 - 5.678) ** 2) = 994.4 km
FAR = ("no demand point is within max_snap_m = 1,000 m of the motorbike road network: the "
       "nearest is 994.4 km away")


def test_network_far_from_the_demand_is_an_error_everywhere(
        with_roads: Callable[..., Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The bug report: roads 1,000 km away gave 'road network, motorbike, x % covered', exit 0."""
    folder = with_roads(save(roads(shift_m=(0.0, -1_000_000.0))))
    cache = str(tmp_path / "cache")
    problems, _ = check_roads(load_scenario(folder), cache_dir=tmp_path / "cache")
    assert [p.message for p in problems] == [
        FAR, "no site is within max_snap_m = 1,000 m of the motorbike road network"]
    assert problems[0].file == "roads.graphml"
    assert problems[0].expected is not None and "file's CRS: EPSG:4326" in problems[0].expected
    assert main(["validate", folder.as_posix(), "--cache-dir", cache]) == 1
    err = capsys.readouterr().err
    assert err.startswith("2 problems in scenario:\n  - roads.graphml: " + FAR)
    for command in ("coverage", "place", "staff"):
        assert main([command, str(folder), "--cache-dir", cache] if command != "staff"
                    else [command, str(folder), "--out", str(tmp_path / "staff")]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"motcua {command}: roads.graphml: {FAR}"), command
    assert not (tmp_path / "staff").exists()


def test_degrees_declared_as_utm_are_found_far_away(
        with_roads: Callable[..., Path], tmp_path: Path) -> None:
    """A file whose lon/lat are read as UTM metres lands near the equator: named, with its CRS."""
    g = roads()
    g.graph["crs"] = "EPSG:32648"
    folder = with_roads(save(g))
    problems, _ = check_roads(load_scenario(folder), cache_dir=tmp_path / "cache")
    assert problems and problems[0].message.startswith(
        "no demand point is within max_snap_m = 1,000 m of the motorbike road network")
    assert problems[0].expected is not None and "file's CRS: EPSG:32648" in problems[0].expected


PARTIAL = ("roads.graphml: only 2 of 3 demand points (2,000 of 7,000 people) are within "
           "max_snap_m = 1,000 m of the motorbike road network and reached by road; the other "
           "1 (5,000 people, 71 %) reach only sites within 1,000 m on foot")


def test_network_missing_most_people_is_warned_by_validate_coverage_place_and_staff(
        with_roads: Callable[..., Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    # the road stops at s2; d3 (5,000 people) lies 1,038 m beyond it, farther than max_snap_m
    folder = with_roads(save(roads(points=CHAIN[:-1])))
    cache = str(tmp_path / "cache")
    scenario = load_scenario(folder)
    assert check_roads(scenario, cache_dir=tmp_path / "cache") == ([], [PARTIAL])
    checked = scenario_roads(scenario, cache_dir=tmp_path / "cache")
    assert checked.reach is not None
    assert (checked.reach.far_points, checked.reach.far_population) == (1, 5000.0)

    assert main(["validate", str(folder), "--cache-dir", cache]) == 0
    assert f"  warning: {PARTIAL}\n" in capsys.readouterr().out

    assert main(["coverage", str(folder), "--cache-dir", cache]) == 0
    out = capsys.readouterr().out
    assert f"  method: road network, motorbike\n  warning: {PARTIAL}\n" in out
    # the figures say who is reached by road, who falls back on foot and who by nothing
    assert ("note: 1 demand points (5,000 people) are farther than max_snap_m from any road: "
            "no road route, only sites within max_snap_m on foot; 1 of them (5,000 people) "
            "reach no site within 30 min") in out

    out_dir = tmp_path / "placed"
    assert main(["place", str(folder), "--cache-dir", cache, "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert f"coverage: road network, motorbike\n  warning: {PARTIAL}\n" in out
    saved = json.loads((out_dir / "result.json").read_text(encoding="utf-8"))
    assert saved["coverage_warnings"] == [PARTIAL]



TINY = Path(__file__).resolve().parents[1] / "app" / "data" / "tiny"


def test_staff_warns_about_the_same_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """The app tests' tiny scenario (whose staff model solves), its road reaching d1, s1, d2 only."""
    monkeypatch.setenv("MOTCUA_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    toml = folder / "scenario.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'workload = "workload.csv"\n', 'workload = "workload.csv"\nroads = "roads.graphml"\n'),
        encoding="utf-8")
    lonlat = {"d1": (105.800, 21.000), "s1": (105.810, 21.005), "d2": (105.820, 21.010)}
    xy = project_xy([p[0] for p in lonlat.values()], [p[1] for p in lonlat.values()],
                    "EPSG:4326", "EPSG:32648")
    ox.save_graphml(roads(("d1", "s1", "d2"), xy={k: (float(x), float(y)) for k, (x, y)
                                                  in zip(lonlat, xy, strict=True)}),
                    folder / "roads.graphml")
    warnings = [
        "roads.graphml: only 2 of 4 demand points (3,000 of 5,000 people) are within "
        "max_snap_m = 1,000 m of the motorbike road network and reached by road; the other "
        "2 (2,000 people, 40 %) reach only sites within 1,000 m on foot",
        "roads.graphml: 2 of 3 sites are farther than max_snap_m = 1,000 m from the motorbike "
        "road network (s2, s3): no road route to or from them, only on foot within 1,000 m"]
    assert check_roads(load_scenario(folder)) == ([], warnings)
    assert main(["staff", str(folder), "--out", str(tmp_path / "staff"), "--time-limit", "5"]) == 0
    out = capsys.readouterr().out
    assert "".join(f"; warning: {w}" for w in warnings) in out
    saved = json.loads((tmp_path / "staff" / "run.json").read_text(encoding="utf-8"))
    assert saved["travel_source"].endswith("".join(f"; warning: {w}" for w in warnings))


def _reach(**kw: Any) -> RoadReach:
    base: dict[str, Any] = dict(
        mode="car", max_snap_m=500.0, demand_points=10, demand_population=1000.0,
        far_points=0, far_population=0.0, nearest_km=0.1, sites=4, far_site_ids=(),
        network_bounds=(105.0, 20.0, 106.0, 21.0), demand_bounds=(105.2, 20.2, 105.8, 20.8),
        crs="EPSG:4326")
    base.update(kw)
    return RoadReach(**base)


def test_reach_rule_thresholds() -> None:
    """Error only when nobody (or no site) is reached; a warning past 10 % of the people."""
    assert reach_problems(_reach(), "r.osm") == ([], [])
    assert reach_problems(_reach(far_points=9, far_population=100.0), "r.osm") == ([], [])
    problems, warnings = reach_problems(_reach(far_points=1, far_population=101.0), "r.osm")
    assert problems == [] and len(warnings) == 1 and "(101 people, 10 %)" in warnings[0]
    problems, warnings = reach_problems(_reach(far_site_ids=("s9",)), "r.osm")
    assert problems == [] and warnings == [
        "r.osm: 1 of 4 sites are farther than max_snap_m = 500 m from the car road network "
        "(s9): no road route to or from them, only on foot within 500 m"]
    problems, warnings = reach_problems(
        _reach(far_points=10, far_population=1000.0, nearest_km=2.25), "r.osm")
    assert warnings == [] and [str(p) for p in problems] == [
        "r.osm: no demand point is within max_snap_m = 500 m of the car road network: the "
        "nearest is 2.2 km away (value 'roads span lon 105.000..106.000, lat 20.000..21.000; "
        "the demand spans lon 105.200..105.800, lat 20.200..20.800'); expected a road network "
        "around the demand and the sites (the file's CRS: EPSG:4326; check that its "
        "coordinates are in it), or a larger [travel] max_snap_m"]
    # nobody lives there: the share counts points
    _, warnings = reach_problems(_reach(demand_population=0.0, far_points=2), "r.osm")
    assert len(warnings) == 1 and "(0 people, 20 %)" in warnings[0]
