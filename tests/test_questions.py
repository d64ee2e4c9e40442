"""The planner's questions (issue #17): keep every existing office, add N points, which
offices can close.  A hand-checkable line of villages (5 km straight-line standard)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from geodata.scenario import load_scenario
from motcua.cli import main
from motcua.placement import PlacementRequest, closures_table, run_placement
from optimizer import placement as pl
from optimizer._status import SolveStatus
from optimizer.errors import InvalidInputError

TINY = Path(__file__).parent / "app" / "data" / "tiny"

# On latitude 21, 0.03 degrees of longitude are 3.1 km and 0.06 are 6.2 km (> 5 km):
# o1 covers d1; o2 covers d1 and d2; o3 covers d2; o4 covers d3 (the only office that
# does); the candidate c1 covers d4, which no office reaches today.
SITES = """id,name,lon,lat,kind,status,counters
o1,Một cửa xã A,105.800,21.000,reception,optional,1
o2,Một cửa xã B,105.830,21.000,reception,optional,1
o3,Một cửa xã C,105.860,21.000,reception,optional,1
o4,Chi nhánh D,105.920,21.000,branch,optional,1
c1,Bưu điện E,106.100,21.000,candidate,optional,0
"""
DEMAND = """id,name,lon,lat,population,commune_code,commune_name
d1,Thôn Một,105.800,21.000,1000,c1,Xã A
d2,Thôn Hai,105.860,21.000,2000,c2,Xã C
d3,Thôn Ba,105.920,21.000,1500,c3,Xã D
d4,Thôn Bốn,106.100,21.000,500,c4,Xã E
"""


@pytest.fixture
def line(tmp_path: Path) -> Path:
    folder = tmp_path / "line"
    shutil.copytree(TINY, folder)
    (folder / "sites.csv").write_text(SITES, encoding="utf-8")
    (folder / "demand.csv").write_text(DEMAND, encoding="utf-8")
    (folder / "staff.csv").unlink()
    (folder / "workload.csv").unlink()
    toml = (folder / "scenario.toml").read_text(encoding="utf-8")
    toml = toml.replace('staff = "staff.csv"\n', "").replace('workload = "workload.csv"\n', "")
    (folder / "scenario.toml").write_text(toml, encoding="utf-8")
    return folder


def _open(run: object) -> list[str]:
    sites = run.sites  # type: ignore[attr-defined]
    return sorted(sites.loc[sites["open"], "id"])


def test_lscp_alone_closes_offices_but_keep_existing_keeps_every_one(line: Path) -> None:
    sc = load_scenario(line)
    free = run_placement(sc, PlacementRequest(model="lscp"))
    assert _open(free) == ["c1", "o2", "o4"]  # o1 and o3 closed: what issue #17 found
    kept = run_placement(sc, PlacementRequest(model="lscp", keep_existing="all"))
    assert kept.status is SolveStatus.OPTIMAL
    assert _open(kept) == ["c1", "o1", "o2", "o3", "o4"]
    f = kept.figures
    assert (f.new_points, f.closed_points, f.fixed_points) == (1, 0, 4)
    assert f.kept_alone_covered_population == 4500
    assert f.covered_population == 5000
    assert f.explanation == (
        "With the 4 existing offices kept open, 1 new points are the fewest that bring "
        "everyone reachable within the standard: 5,000 residents covered (100.0%), against "
        "4,500 (90.0%) with the kept offices alone.")
    # one kind only: the branch o4 stays, the reception points may close
    branches = run_placement(sc, PlacementRequest(model="lscp", keep_existing="branches"))
    assert _open(branches) == ["c1", "o2", "o4"]
    assert branches.figures.fixed_points == 1


def test_add_n_keeps_the_network_and_says_what_the_new_points_buy(line: Path) -> None:
    sc = load_scenario(line)
    run = run_placement(sc, PlacementRequest(model="mclp", add=1))
    assert run.status is SolveStatus.OPTIMAL
    assert run.figures.p == 5  # 4 existing kept + 1
    assert _open(run) == ["c1", "o1", "o2", "o3", "o4"]
    assert run.figures.added_covered_population == 500
    assert run.figures.explanation == (
        "Adding up to 1 point(s) to the 4 kept offices (1 new opened) covers 500 more "
        "residents: 5,000 (100.0%) instead of 4,500 (90.0%) with the kept offices alone.")
    for model in ("pmedian", "pcenter"):
        r = run_placement(sc, PlacementRequest(model=model, add=1))
        assert r.figures.p == 5 and "c1" in _open(r) and r.figures.closed_points == 0


def test_closure_keeps_the_only_office_of_a_village(line: Path, tmp_path: Path) -> None:
    sc = load_scenario(line)
    run = run_placement(sc, PlacementRequest(model="closure"))
    assert run.status is SolveStatus.OPTIMAL and run.report.gap == 0
    # d1 has o1 and o2, d2 has o2 and o3, d3 only o4: keep o2 and o4, close o1 and o3
    assert _open(run) == ["o2", "o4"]
    f = run.figures
    assert (f.closable_points, f.savings, f.sole_cover_points) == (2, 2.0, 1)
    assert f.covered_population == f.covered_today_population == 4500
    assert f.explanation == (
        "2 of the 4 existing offices can close (saving 2 in opening cost) while all 4,500 "
        "residents covered today stay within the standard; 2 stay open, 1 of them because a "
        "village has no other office within the standard.")
    table = closures_table(run)
    assert table["id"].tolist() == ["o1", "o3"]  # equal savings: fewest people first
    assert table["name"].tolist() == ["Một cửa xã A", "Một cửa xã C"]
    assert table["served_population"].tolist() == [1000, 2000]
    assert (table["mean_minutes_before"] == 0).all()  # each village had its office on site
    assert (table["mean_minutes_after"] > 0).all() and (table["lost_population"] == 0).all()
    run.save(tmp_path / "out")
    assert "o3,Một cửa xã C" in (tmp_path / "out" / "closures.csv").read_text(encoding="utf-8")
    assert "assigned_site_name" in (tmp_path / "out" / "demand.csv").read_text(encoding="utf-8")


def test_closure_refuses_to_strand_a_village_unless_the_loss_is_allowed(line: Path) -> None:
    sc = load_scenario(line)
    with pytest.raises(InvalidInputError, match=r"closing o4 would strand 1 demand point\(s\), "
                       r"1,500 residents .*d3 Thôn Ba \(1,500\)"):
        run_placement(sc, PlacementRequest(model="closure", close=("o4",)))
    # 1,500 people may lose coverage: o4 can close too, and only o2 stays
    run = run_placement(sc, PlacementRequest(model="closure", max_loss=1500))
    assert run.status is SolveStatus.OPTIMAL
    assert _open(run) == ["o2"]
    assert run.figures.lost_population == 1500
    assert "at most 1,500 of the 4,500 residents covered today leaving the standard (1,500 do)" \
        in run.figures.explanation
    with pytest.raises(InvalidInputError, match=r"closure: site\(s\) c1 must stay open but "
                       "are not existing offices"):
        run_placement(sc, PlacementRequest(model="closure", keep_open=("c1",)))
    # 1,499 is not enough for d3
    assert _open(run_placement(sc, PlacementRequest(model="closure", max_loss=1499))) == [
        "o2", "o4"]


def _with_capacities(line: Path, share: dict[str, float]) -> Path:
    """The line with each office's capacity a multiple of villages' in-person dossiers a
    day (``share``: office -> {village: factor} written as "o2": "d2+0.5*d1")."""
    from motcua.placement import in_person_per_day

    sc = load_scenario(line)
    per_day = dict(zip(sc.demand["id"], in_person_per_day(sc, sc.demand["population"].to_numpy()),
                       strict=True))
    lines = SITES.strip().splitlines()
    out = [lines[0] + ",capacity_per_day"]
    for row in lines[1:]:
        office = row.split(",")[0]
        cap = eval(share.get(office, "0"), {}, per_day)  # noqa: S307 (the test's own text)
        out.append(f"{row},{cap:.6f}")
    (line / "sites.csv").write_text("\n".join(out) + "\n", encoding="utf-8")
    return line


def test_capacitated_closure_keeps_an_office_the_plain_one_closes(line: Path) -> None:
    # o2 alone would cover d1 and d2 but holds only d2 and half of d1; o3 holds a tenth of
    # d2 (d1 has half d2's dossiers, so o3 cannot free room enough): the one cheapest set
    # that holds everything is o1 (d1), o2 (d2), o4 (d3)
    _with_capacities(line, {"o1": "d1", "o2": "d2 + 0.5 * d1", "o3": "0.1 * d2", "o4": "d3"})
    sc = load_scenario(line)
    plain = run_placement(sc, PlacementRequest(model="closure"))
    assert _open(plain) == ["o2", "o4"] and plain.figures.overloaded_points == 1
    run = run_placement(sc, PlacementRequest(model="closure", capacitated=True))
    assert run.status is SolveStatus.OPTIMAL and run.report.gap == 0
    assert _open(run) == ["o1", "o2", "o4"]
    f = run.figures
    assert f.model == "capacitated_closure" and f.objective == 3
    assert (f.closable_points, f.overloaded_points, f.lost_population) == (1, 0, 0)
    assert f.covered_population == f.covered_today_population == 4500
    loads = run.sites.set_index("id")
    assert (loads["load_per_day"] <= loads["capacity_per_day"] + 1e-3).all()  # rounded to 3
    assert f.explanation.startswith(
        "1 of the 4 existing offices can close (saving 1 in opening cost) while every "
        "in-person dossier of the 4,500 residents covered today is still taken within the "
        "standard and within capacity; 3 stay open, the fullest at 100% of its capacity")
    assert run.objective_meaning("en").startswith("The objective is the total opening cost "
                                                  "of the offices kept")
    # a small overload penalty makes overloading o2 cheaper than keeping o1: o2 and o4
    # stay, o2 over its capacity by half of d1's dossiers, and the sentence says so
    cheap = run_placement(sc, PlacementRequest(model="closure", capacitated=True,
                                               overload_penalty=0.01))
    assert _open(cheap) == ["o2", "o4"] and cheap.figures.overloaded_points == 1
    over = cheap.sites.set_index("id").loc["o2"]
    assert over["load_per_day"] - over["capacity_per_day"] == pytest.approx(
        cheap.figures.overload_per_day, abs=1e-3)
    assert "2 stay open, 1 of them over capacity by" in cheap.figures.explanation


def test_capacitated_closure_refuses_a_loss_allowance(line: Path) -> None:
    assert PlacementRequest(model="closure", capacitated=True).option_applies("capacitated")
    assert not PlacementRequest(model="closure", capacitated=True).option_applies("max_loss")
    with pytest.raises(InvalidInputError, match="maximum loss applies to closure without "
                       "capacities .* with model closure --capacitated"):
        PlacementRequest(model="closure", capacitated=True, max_loss=10).check()


def test_closure_optimizer_by_hand() -> None:
    c = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=bool)
    w = [100, 200, 50, 70]
    res = pl.closure(c, w, [0, 1, 2])
    assert res.objective == 2 and 2 in res.open_sites.tolist()  # site 2 alone covers row 2
    assert res.uncoverable.tolist() == [3]  # no existing office covers row 3 today
    assert pl.sole_cover_sites(c, [0, 1, 2], w).tolist() == [2]
    costly = pl.closure(c, w, [0, 1, 2], costs=[5, 1, 1, 1])
    assert costly.open_sites.tolist() == [1, 2]  # keep the cheap ones
    assert pl.closure(c, w, [0, 1, 2], max_loss=50).open_sites.tolist() == [1]
    assert pl.closure(c, w, [0, 1, 2], max_loss=49).objective == 2
    with pytest.raises(InvalidInputError, match="closure needs existing offices"):
        pl.closure(c, w, [])


def test_options_combine_by_the_one_rule() -> None:
    with pytest.raises(InvalidInputError, match="cannot be combined with --points"):
        PlacementRequest(model="mclp", p=3, add=1).check()
    with pytest.raises(InvalidInputError, match="--add N applies to mclp, pmedian and pcenter"):
        PlacementRequest(model="lscp", add=1).check()
    with pytest.raises(InvalidInputError, match="does not apply to closure"):
        PlacementRequest(model="closure", keep_existing="all").check()
    with pytest.raises(InvalidInputError, match="maximum loss applies to closure"):
        PlacementRequest(model="lscp", max_loss=10).check()
    PlacementRequest(model="mclp", add=2).check()  # no --points needed
    assert not PlacementRequest(model="mclp", add=2).option_applies("p")


def test_cli_answers_each_question_in_one_sentence(
        line: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["place", str(line), "--keep-existing"]) == 0
    assert "answer: With the 4 existing offices kept open, 1 new points" in capsys.readouterr().out
    assert main(["place", str(line), "--model", "mclp", "--add", "1"]) == 0
    assert "answer: Adding up to 1 point(s) to the 4 kept offices (1 new opened)" in capsys.readouterr().out
    assert main(["place", str(line), "--model", "closure"]) == 0
    out = capsys.readouterr().out
    assert "answer: 2 of the 4 existing offices can close" in out
    assert "  o1 Một cửa xã A: 1, 1,000 people" in out
    assert main(["place", str(line), "--model", "closure", "--close", "o4"]) == 1  # an input error
    assert "would strand" in capsys.readouterr().err
    assert main(["place", str(line), "--model", "closure", "--capacitated"]) == 0
    out = capsys.readouterr().out
    assert "answer: 2 of the 4 existing offices can close" in out  # no capacities in the file:
    assert "within the standard and within capacity" in out  # each office's counters' rate
    assert main(["place", str(line), "--model", "closure", "--capacitated",
                 "--max-loss", "10"]) == 1
    assert "maximum loss applies to closure without capacities" in capsys.readouterr().err


def _box(lon0: float, lon1: float) -> list[list[list[float]]]:
    return [[[lon0, 20.99], [lon1, 20.99], [lon1, 21.01], [lon0, 21.01], [lon0, 20.99]]]


def test_sanity_warnings_name_the_row(line: Path) -> None:
    import json
    import warnings

    from geodata._errors import ScenarioWarning

    # a post office 2.9 degrees east (~301 km): a lost decimal point
    (line / "sites.csv").write_text(SITES + "c2,Bưu điện xa,109.000,21.000,candidate,optional,0\n",
                                    encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScenarioWarning)
        sc = load_scenario(line)
    far = [w for w in sc.warnings if "c2" in w]
    assert far == ["sites.csv row 7: site c2 (Bưu điện xa) is 302 km outside the "
                   "demand points' area (more than 20 km; a lost decimal point in lon/lat?)"]
    assert any(str(w.message) == far[0] for w in caught)
    # with the communes: one without an office, an office outside its commune, counts
    # that do not add up, dossiers at a candidate
    feats = [("Xã A", "c1", 1000, _box(105.79, 105.815)),
             ("Xã C", "c2", 2500, _box(105.815, 105.89)),
             ("Xã G", "c9", 0, _box(106.2, 106.3))]
    (line / "communes.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": code, "name": name, "commune_code": code,
                                           "population": pop},
         "geometry": {"type": "Polygon", "coordinates": box}}
        for name, code, pop, box in feats]}), encoding="utf-8")
    (line / "sites.csv").write_text(SITES.replace(
        "o3,Một cửa xã C,105.860,21.000,reception,optional,1",
        "o3,Một cửa xã C,105.860,21.000,reception,optional,1,c1").replace(
        "kind,status,counters", "kind,status,counters,commune_code"), encoding="utf-8")
    (line / "workload.csv").write_text(
        "date,site_id,field,channel,dossiers\n2025-03-03,c1,land,in_person,7\n", encoding="utf-8")
    toml = (line / "scenario.toml").read_text(encoding="utf-8")
    (line / "scenario.toml").write_text(toml.replace(
        'sites = "sites.csv"\n',
        'sites = "sites.csv"\ncommunes = "communes.geojson"\nworkload = "workload.csv"\n'),
        encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        sc = load_scenario(line)
    # c1 (106.1) is 10 km from commune c9's polygon: within the 20 km, not named
    assert sc.warnings == (
        "communes.geojson: commune Xã G (c9) has no office (no existing branch or reception "
        "point inside it)",
        "sites.csv row 4: office o3 (Một cửa xã C) is 4.7 km outside its commune Xã A (c1)",
        "demand.csv: the demand rows of commune Xã C (c2) sum to 2,000 residents, its polygon "
        "in communes.geojson says 2,500",
        "workload.csv: 7 dossiers at site c1 (Bưu điện E), which is not an open office today "
        "(a candidate or closed site)",
    )


def test_validate_prints_the_sanity_warnings(line: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import warnings

    from geodata._errors import ScenarioWarning

    (line / "sites.csv").write_text(SITES + "c2,Bưu điện xa,109.000,21.000,candidate,optional,0\n",
                                    encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        assert main(["validate", str(line)]) == 0
    out = capsys.readouterr().out
    assert ("  warning: sites.csv row 7: site c2 (Bưu điện xa) is 302 km outside the demand "
            "points' area (more than 20 km; a lost decimal point in lon/lat?)") in out
