"""Every JSON file and ``--json`` output motcua writes is strict JSON: no NaN or Infinity."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from geodata._json import dumps, json_safe
from motcua.cli import main
from motcua.placement import PlacementRun
from tests.scenarios.conftest import SITES, MakeScenario


def strict(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def written_json(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".json", ".geojson"))


def test_json_safe_turns_missing_and_non_finite_numbers_into_null() -> None:
    value = {"a": math.nan, "b": [math.inf, -math.inf, np.float64("nan"), np.int64(3)],
             "c": np.array([1.5, np.nan]), "d": date(2026, 11, 23), "e": np.bool_(True),
             ("t",): 1}
    assert json_safe(value) == {"a": None, "b": [None, None, None, 3], "c": [1.5, None],
                                "d": "2026-11-23", "e": True, "('t',)": 1}
    assert strict(dumps(value)) == json_safe(value)
    with pytest.raises(ValueError, match="Out of range float values"):
        dumps({"x": object()}, default=lambda _: math.nan)  # a NaN that slips through fails loudly


def test_unsolved_placement_writes_strict_json(make_scenario: MakeScenario, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    # three sites of 0.1 dossiers a day cannot serve anyone: the capacitated model is infeasible
    sites = SITES.replace(",4,10,,", ",4,10,0.1,").replace(",2,,60,", ",2,,0.1,").replace(
        ",3,,\n", ",3,0.1,\n")
    folder = make_scenario(**{"sites.csv": sites})
    out = tmp_path / "place"
    code = main(["place", str(folder), "--model", "lscp", "--capacitated", "--json",
                 "--out", str(out), "--time-limit", "20"])
    stdout = capsys.readouterr().out
    assert code == 3
    result = strict(stdout)
    assert result["report"]["status"] == "INFEASIBLE"
    assert result["report"]["objective"] is None and result["report"]["best_bound"] is None
    files = written_json(out)
    assert {p.name for p in files} >= {"result.json", "sites.geojson", "demand.geojson"}
    for path in files:
        strict(path.read_text(encoding="utf-8"))
    # an unsolved run loads back: null objective is NaN again
    run = PlacementRun.load(out)
    assert math.isnan(run.report.objective)


def test_old_result_json_with_nan_still_loads(make_scenario: MakeScenario, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "place"
    assert main(["place", str(make_scenario()), "--model", "lscp", "--out", str(out),
                 "--time-limit", "20"]) == 0
    capsys.readouterr()
    meta = strict((out / "result.json").read_text(encoding="utf-8"))
    meta["report"]["best_bound"] = math.nan   # as versions before strict JSON wrote it
    (out / "result.json").write_text(json.dumps(meta), encoding="utf-8")
    assert "NaN" in (out / "result.json").read_text(encoding="utf-8")
    assert math.isnan(PlacementRun.load(out).report.best_bound)


def test_staffing_and_validate_write_strict_json(make_scenario: MakeScenario, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_scenario()
    out = tmp_path / "staff"
    forecast = tmp_path / "fc.csv"
    # online work pooled (the default): the small scenario once crashed there (KeyError: 1)
    code = main(["staff", str(folder), "--json", "--out", str(out),
                 "--write-forecast", str(forecast), "--time-limit", "20"])
    stdout = capsys.readouterr().out
    assert code == 0
    data = strict(stdout)
    assert set(data["tables"]) >= {"roster", "forecast"}
    files = written_json(out)
    # run.json, and the manifest that marks the folder as motcua's own
    assert [p.name for p in files] == [".motcua-manifest.json", "run.json"]
    for path in files:
        strict(path.read_text(encoding="utf-8"))
    assert main(["validate", str(folder), "--json"]) == 0
    assert strict(capsys.readouterr().out)["name"] == "Xã Thử nghiệm"
