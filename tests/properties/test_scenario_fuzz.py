"""Random bytes and corrupted cells never escape as anything but a ScenarioError."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geodata._errors import ScenarioError, ScenarioWarning
from geodata.scenario import load_scenario
from tests.scenarios.conftest import FILES

FILE_NAMES = sorted(FILES)


def _load(files: dict[str, bytes]) -> None:
    folder = Path(tempfile.mkdtemp())
    try:
        for name, data in files.items():
            (folder / name).write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScenarioWarning)
            try:
                s = load_scenario(folder)
            except ScenarioError as exc:
                assert exc.problems, "a ScenarioError always lists its problems"
                assert all(p.file for p in exc.problems)
                return
        # if it loaded, the invariants of a valid scenario hold
        assert (s.demand["population"] >= 0).all()
        assert s.sites["id"].is_unique
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(FILE_NAMES), data=st.binary(max_size=400))
def test_random_bytes_in_any_file(name: str, data: bytes) -> None:
    files = {k: v.encode() for k, v in FILES.items()}
    files[name] = data
    _load(files)


CELL = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "nan", "inf", "-1", "1e309", "0", "true", ";", "2026-02-30", "\ufeff",
                     "Đầm Hà", "s1", "NULL", "  ", '"', "1,5"]),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from([n for n in FILE_NAMES if n.endswith(".csv")]),
       row=st.integers(0, 3), column=st.integers(0, 9), value=CELL)
def test_corrupted_cell(name: str, row: int, column: int, value: str) -> None:
    lines = FILES[name].splitlines()
    row = min(row, len(lines) - 1)
    cells = lines[row].split(",")
    cells[min(column, len(cells) - 1)] = value
    lines[row] = ",".join(cells)
    files = {k: v.encode() for k, v in FILES.items()}
    files[name] = ("\n".join(lines) + "\n").encode("utf-8", errors="surrogatepass")
    _load(files)


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200))
def test_random_toml(text: str) -> None:
    files = {k: v.encode() for k, v in FILES.items()}
    files["scenario.toml"] = text.encode("utf-8", errors="surrogatepass")
    _load(files)
