"""The project's layering, checked by import-linter's contracts in pyproject.toml.

geodata must not import OR-Tools; optimizer must import neither osmnx,
Streamlit, geodata, motcua nor the app; nothing imports app_pages; the services
(placement, staffing, sweep, their texts) import neither the app nor Streamlit; no import
cycles inside optimizer.  The second test breaks every contract on purpose in a
throw-away tree, so a contract that silently stopped checking would show.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path, config: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    if not LINT.exists():
        pytest.fail(f"{LINT} is missing: install the test extra (pip install -e '.[test]')")
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run([str(LINT), "--no-cache", "--config", str(config)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def _contract_names() -> list[str]:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [c["name"] for c in cfg["tool"]["importlinter"]["contracts"]]


def test_the_project_keeps_its_import_contracts() -> None:
    run = _lint(ROOT, ROOT / "pyproject.toml", ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    names = _contract_names()
    assert len(names) == 5
    out = " ".join(run.stdout.split())  # the report wraps long names
    for name in names:
        assert f"{name} KEPT" in out, out


def test_each_contract_catches_what_it_forbids(tmp_path: Path) -> None:
    files = {
        "geodata/__init__.py": "import ortools\n",
        "optimizer/__init__.py": "",
        "optimizer/a.py": "import osmnx\nfrom optimizer import b\n",
        "optimizer/b.py": "from optimizer import a\n",
        "motcua/__init__.py": "import app_pages\n",
        "motcua/placement.py": "import motcua.app\n",
        "motcua/staffing.py": "", "motcua/sweep.py": "", "motcua/i18n.py": "",
        "motcua/errors.py": "", "motcua/progress.py": "", "motcua/app/__init__.py": "",
        "app_pages/__init__.py": "",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    config = tmp_path / "pyproject.toml"
    config.write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8")
    run = _lint(tmp_path, config, tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    out = " ".join(run.stdout.split())
    for name in _contract_names():
        assert f"{name} BROKEN" in out, out
