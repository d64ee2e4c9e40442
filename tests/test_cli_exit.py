"""The ``motcua`` console script ends when its work is done, not when an abandoned
engine run ends (issue #16: ``motcua place`` answers within its limit)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A real HiGHS run (a random set cover far too hard for half a second), told 60 s and
# abandoned after 0.5 s, exactly as a placement model abandons an engine at its share;
# then the console script's entry point runs a quick command.
SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from optimizer._mip import SparseMip, solve_mip
    from optimizer.placement import engines_running
    from motcua.cli import entry

    rng = np.random.default_rng(0)
    n_rows, n_cols = 3000, 600
    rows, cols = np.nonzero(rng.random((n_rows, n_cols)) < 0.01)
    # every row coverable: one more random site each
    rows = np.concatenate([rows, np.arange(n_rows)])
    cols = np.concatenate([cols, rng.integers(0, n_cols, n_rows)])
    mip = SparseMip()
    mip.add_variables(n_cols, integer=True, objective=1.0)
    mip.add_rows(n_rows, rows, cols, 1.0, lb=1.0)
    sol = solve_mip(mip, engine="highs", time_limit_s=60.0, wall_limit_s=0.5)
    print("abandoned", engines_running(), sol.report.status.name, flush=True)
    print("entry", time.time(), flush=True)
    entry(["validate", sys.argv[1]])
    """
)


def test_console_script_exits_without_waiting_for_an_abandoned_engine(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script), str(ROOT / "scenarios" / "demo")],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    ended = time.time()
    lines = proc.stdout.splitlines()
    abandoned = next(line for line in lines if line.startswith("abandoned"))
    # the engine really was still running when the command started
    assert int(abandoned.split()[1]) == 1, proc.stdout + proc.stderr
    started = float(next(line for line in lines if line.startswith("entry")).split()[1])
    assert proc.returncode == 0, proc.stderr
    # the command's own output is there (printed and flushed before the exit)
    assert "demo" in proc.stdout.lower(), proc.stdout
    # it ended without waiting for HiGHS's 60 s (generous margin for a loaded machine)
    assert ended - started < 20.0, (ended - started, proc.stderr)
    assert "terminate called" not in proc.stderr


NATIVE = textwrap.dedent(
    """
    import os, sys
    from motcua.cli.main import native_output_to_stderr

    with native_output_to_stderr():
        os.write(1, b"a solver's stray line\\n")  # as a native library writes it
        print('{"status": "OPTIMAL"}')
    print("after")
    os.write(1, b"native after\\n")
    """
)


def test_native_output_goes_to_stderr_and_python_output_to_stdout(
        tmp_path: Path, capfd) -> None:  # type: ignore[no-untyped-def]
    """While ``motcua`` runs, a native library's line on file descriptor 1 (HiGHS
    prints one now and then from a MIP) goes to the standard error, so ``--json`` stays
    JSON; Python's own output still reaches the standard output, and after it the
    standard output is as before. Checked in a process of its own (the process's own
    stdout) and under a test's capture."""
    script = tmp_path / "native.py"
    script.write_text(NATIVE, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, check=True)
    assert proc.stdout == '{"status": "OPTIMAL"}\nafter\nnative after\n'
    assert proc.stderr == "a solver's stray line\n"

    import os

    from motcua.cli.main import native_output_to_stderr

    with native_output_to_stderr():
        os.write(1, b"native\n")
        print("python")
    out, err = capfd.readouterr()
    assert (out, err) == ("python\n", "native\n")
