"""The ``motcua`` command: help on every command, validate's exit codes and messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from motcua.cli import COMMANDS, build_parser, main
from tests.scenarios.conftest import DEMAND, MakeScenario


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    names = set(sub.choices)  # type: ignore[arg-type]
    assert "validate" in names
    for name in names:
        assert name in COMMANDS
        with pytest.raises(SystemExit) as info:
            main([name, "--help"])
        assert info.value.code == 0
        assert "usage: motcua" in capsys.readouterr().out


def test_validate_ok_prints_summary(make_scenario: MakeScenario, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(make_scenario())]) == 0
    out = capsys.readouterr().out
    assert "Scenario: Xã Thử nghiệm" in out
    assert "population: 7,000 in 3 demand rows" in out


def test_validate_bad_prints_every_error_and_exits_1(
    make_scenario: MakeScenario, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_scenario(**{"demand.csv": DEMAND.replace("1200", "-3").replace("d2,", "d1,")})
    assert main(["validate", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "2 problems in scenario" in err
    assert "demand.csv, column 'population', row 2: out of range (value '-3')" in err
    assert "demand.csv, column 'id', row 3: duplicate id" in err
    assert "Traceback" not in err


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "motcua.cli", "validate", str(tmp_path / "missing")],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 1
    assert "scenario folder not found" in proc.stderr
    assert "Traceback" not in proc.stderr


TINY = Path(__file__).resolve().parent / "app" / "data" / "tiny"


def test_help_lists_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    table = out.split("exit codes:\n", 1)[1]
    codes = [line.split()[0] for line in table.splitlines() if line[:3].strip().isdigit()]
    assert codes == ["0", "1", "2", "3", "130"]
    assert "3   place, staff: the solver found no solution" in table
    assert "130 interrupted" in table


def test_python_m_motcua_cli_and_no_streamlit_at_import() -> None:
    """``python -m motcua.cli`` runs; importing the command line loads neither
    streamlit nor the app's pages (the CLI runs where the app is not installed)."""
    code = ("import sys, motcua.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('streamlit', 'app_pages', 'folium')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "[]"
    proc = subprocess.run([sys.executable, "-m", "motcua.cli", "--version"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "motcua 0.1.0" in proc.stdout


def test_staff_without_a_solution_exits_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Like place, staff exits 3 when the solver has no solution.

    The staffing model always starts from the everyone-at-home plan, so a real run
    always has one: the run is real, then its report says NOT_SOLVED, as a model
    that found nothing in its time would (what is tested is the command's exit code).
    """
    from dataclasses import replace

    import motcua.staffing
    from optimizer._status import SolveStatus

    real = motcua.staffing.run_staffing

    def nothing_found(*args: object, **kwargs: object) -> motcua.staffing.StaffingRun:
        run = real(*args, **kwargs)  # type: ignore[arg-type]
        return replace(run, report=replace(run.report, status=SolveStatus.NOT_SOLVED))

    argv = ["staff", str(TINY), "--time-limit", "5"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0  # the real run has a plan
    capsys.readouterr()
    monkeypatch.setattr(motcua.staffing, "run_staffing", nothing_found)
    assert main([*argv, "--out", str(tmp_path / "b")]) == 3
    assert "solver: NOT_SOLVED" in capsys.readouterr().out
    assert main([*argv, "--out", str(tmp_path / "c"), "--json"]) == 3


def test_a_bug_inside_a_model_is_an_unexpected_error_not_bad_input(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A bare ValueError from inside a model is a bug (exit 2, 'report it'); an
    InvalidInputError is input the user can fix (exit 1, the message alone)."""
    from motcua import placement
    from optimizer.errors import InvalidInputError

    def broken(*args: object, **kwargs: object) -> None:
        # what a library bug looks like: numpy's message about its own arrays
        np_msg = "operands could not be broadcast together with shapes (4,) (3,)"
        raise ValueError(np_msg)

    monkeypatch.setattr(placement.pl, "lscp", broken)
    assert main(["place", str(TINY), "--model", "lscp"]) == 2
    err = capsys.readouterr().err
    assert ("motcua place: unexpected error: ValueError: operands could not be broadcast"
            in err)
    assert "Run again with --debug" in err and "Traceback" not in err

    def refuses(*args: object, **kwargs: object) -> None:
        raise InvalidInputError("3 must-open sites but only 2 points")

    monkeypatch.setattr(placement.pl, "lscp", refuses)
    assert main(["place", str(TINY), "--model", "lscp"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "motcua place: 3 must-open sites but only 2 points"
    # --debug shows the bug's traceback for the report
    monkeypatch.setattr(placement.pl, "lscp", broken)
    with pytest.raises(ValueError, match="broadcast"):
        main(["--debug", "place", str(TINY), "--model", "lscp"])


def test_staff_input_errors_of_the_service_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    # the service's week parser (InvalidInputError) names the option, before any work
    assert main(["staff", str(TINY), "--week", "2026-W99"]) == 1
    assert "--week: week '2026-W99': expected an ISO week like 2026-W48" in capsys.readouterr().err


def test_staff_names_growing_queues_and_sites_short_of_counters(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The three-plan table counts the queues with no finite wait (left out of the mean
    wait), and a line counts the site-days whose building has fewer counters than Erlang
    C asks for (no roster shortens those queues): here every site gets one counter."""
    import shutil

    import pandas as pd

    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    sites = pd.read_csv(folder / "sites.csv", dtype=str)
    sites["counters"] = "1"
    sites.to_csv(folder / "sites.csv", index=False)
    assert main(["staff", str(folder), "--time-limit", "10", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    days = pd.read_csv(tmp_path / "o" / "site_days_after.csv")
    capped = int((days["counters_needed"] > days["counters"]).sum())
    assert capped > 0  # the tiny week's busiest sites want two counters or more
    assert (f"site-days where the site has fewer counters than Erlang C asks for (the "
            f"building's limit: no roster shortens their queue): {capped}") in out
    row = next(line for line in out.splitlines() if "queues that grow:" in line)
    unstable = int(((days["expected_wait_min"] == float("inf"))
                    & (days["in_person_dossiers"] > 0)).sum())
    assert row.split("|")[2].split("(")[0].strip() == str(unstable)
