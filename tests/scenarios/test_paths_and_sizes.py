"""[files] paths stay inside the scenario folder; text files are read with a size cap."""

from __future__ import annotations

import gzip
import os
import time
import tracemalloc
from pathlib import Path

import pytest

from geodata._errors import ScenarioError
from geodata.scenario import load_scenario, scenario_files
from tests.scenarios.conftest import TOML, MakeScenario


def _problems(folder: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder)
    return str(info.value)


def _toml_with(key: str, value: str) -> str:
    lines = [ln for ln in TOML.splitlines() if not ln.startswith(f"{key} =")]
    at = lines.index("[files]") + 1
    lines.insert(at, f"{key} = {value!r}".replace('"', "'"))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("key", "value"), [
    ("workload", "/dev/zero"),
    ("staff", "/etc/passwd"),
    ("demand", "../outside.csv"),
    ("sites", "/tmp"),
    ("roads", "/dev/null.graphml"),
])
def test_files_outside_the_folder_or_not_files_are_refused(
        make_scenario: MakeScenario, tmp_path: Path, key: str, value: str) -> None:
    (tmp_path / "outside.csv").write_text("id,name\n", encoding="utf-8")
    folder = make_scenario(**{"scenario.toml": _toml_with(key, value)})
    t0 = time.monotonic()
    text = _problems(folder)
    assert time.monotonic() - t0 < 5  # /dev/zero is never read
    assert f"scenario.toml, [files] {key} = '{value}': must be a file inside the scenario folder" in text
    # the refused path is not also reported as missing or unreadable
    assert text.count(value) == 1, text


def test_exact_message_for_dev_zero(make_scenario: MakeScenario) -> None:
    folder = make_scenario(**{"scenario.toml": _toml_with("workload", "/dev/zero")})
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder)
    assert [str(p) for p in info.value.problems] == [
        "scenario.toml, [files] workload = '/dev/zero': must be a file inside the scenario folder"]


def test_fifo_symlink_out_and_folder_inside_are_refused(make_scenario: MakeScenario,
                                                         tmp_path: Path) -> None:
    folder = make_scenario(**{"workload.csv": None, "staff.csv": None, "demand.csv": None})
    os.mkfifo(folder / "workload.csv")  # reading it would block forever
    (folder / "staff.csv").symlink_to("/etc/passwd")
    (folder / "demand.csv").mkdir()
    t0 = time.monotonic()
    text = _problems(folder)
    assert time.monotonic() - t0 < 5
    for key, value in (("workload", "workload.csv"), ("staff", "staff.csv"),
                       ("demand", "demand.csv")):
        assert (f"scenario.toml, [files] {key} = '{value}': must be a file inside the "
                "scenario folder") in text


def test_paths_inside_the_folder_still_work(make_scenario: MakeScenario, tmp_path: Path) -> None:
    """Subfolders, ``./`` and a symlink that stays inside are fine; an absolute path
    that points inside the folder too."""
    folder = make_scenario()
    (folder / "data").mkdir()
    (folder / "staff.csv").rename(folder / "data" / "staff.csv")
    (folder / "link.csv").symlink_to(folder / "workload.csv")
    toml = (TOML.replace('staff = "staff.csv"', 'staff = "data/../data/staff.csv"')
            .replace('workload = "workload.csv"', 'workload = "./link.csv"')
            .replace('sites = "sites.csv"', f'sites = "{folder / "sites.csv"}"'))
    (folder / "scenario.toml").write_text(toml, encoding="utf-8")
    scenario = load_scenario(folder)
    assert len(scenario.staff) == 2 and len(scenario.workload) == 3
    assert scenario_files(folder) == ["scenario.toml", "demand.csv", "sites.csv",
                                      "data/staff.csv", "link.csv"]


def test_scenario_files_lists_only_what_the_toml_names(make_scenario: MakeScenario) -> None:
    folder = make_scenario()
    (folder / "junk.bin").write_bytes(b"\0" * 100)
    assert scenario_files(folder) == ["scenario.toml", "demand.csv", "sites.csv", "staff.csv",
                                      "workload.csv"]
    folder_bad = make_scenario(**{"scenario.toml": _toml_with("workload", "/dev/zero")})
    with pytest.raises(ScenarioError, match="must be a file inside the scenario folder"):
        scenario_files(folder_bad)


def test_gzip_bomb_is_stopped_at_the_cap(make_scenario: MakeScenario,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A .gz that decompresses past MOTCUA_MAX_TEXT_MB is refused after reading only
    the cap, with a message naming the file and the setting."""
    monkeypatch.setenv("MOTCUA_MAX_TEXT_MB", "2")
    header = b"date,site_id,field,channel,dossiers\n"
    bomb = gzip.compress(header + b"0" * (64 * 2**20), compresslevel=1)  # 64 MB of text
    assert len(bomb) < 2**20
    folder = make_scenario(**{"workload.csv": None, "workload.csv.gz": bomb,
                              "scenario.toml": TOML.replace("workload.csv", "workload.csv.gz")})
    tracemalloc.start()
    try:
        t0 = time.monotonic()
        with pytest.raises(ScenarioError) as info:
            load_scenario(folder)
        elapsed = time.monotonic() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ("workload.csv.gz: is larger than 2 MB once decompressed; expected a file of at "
            "most 2 MB (set MOTCUA_MAX_TEXT_MB to allow larger files)") in str(info.value)
    assert elapsed < 5
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.1f} MB for a 2 MB cap"


def test_plain_file_over_the_cap_is_refused(make_scenario: MakeScenario,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_MAX_TEXT_MB", "0.5")
    from tests.scenarios.conftest import DEMAND

    big = DEMAND + "\n".join(f"x{i},Thôn,107.1,21.3,1" for i in range(40_000)) + "\n"
    assert len(big.encode()) > 2**19
    folder = make_scenario(**{"demand.csv": big})
    assert ("demand.csv: is larger than 0.5 MB; expected a file of at most 0.5 MB "
            "(set MOTCUA_MAX_TEXT_MB to allow larger files)") in _problems(folder)
    monkeypatch.setenv("MOTCUA_MAX_TEXT_MB", "5")
    assert len(load_scenario(folder).demand) == 40_003


def test_bad_cap_setting_falls_back_to_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from geodata.settings import MAX_TEXT_MB, max_text_bytes

    for bad in ("lots", "-1", "0", "inf", "nan"):
        monkeypatch.setenv("MOTCUA_MAX_TEXT_MB", bad)
        assert max_text_bytes() == int(MAX_TEXT_MB * 2**20)
    monkeypatch.setenv("MOTCUA_MAX_TEXT_MB", "1.5")
    assert max_text_bytes() == int(1.5 * 2**20)
