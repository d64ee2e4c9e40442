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
