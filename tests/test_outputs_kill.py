"""A run killed while writing its output leaves the previous output or the complete new one.

Each command runs as a real process; once its temporary output appears beside
``--out`` it is sent SIGKILL after a delay drawn (seeded) across the write
window measured on an in-process run. After every kill ``--out`` must hold exactly the files its
manifest lists, each with its recorded SHA-256 (for ``coverage``, a GeoPackage
holding the user's layer and a whole layer of its own); the next run cleans the leftovers.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point

from geodata._atomic import gpkg_layer_is_own
from tests.test_outputs import COMMANDS, argv, assert_complete, layout, leftovers, run

REPO = Path(__file__).resolve().parents[1]
KILLS = 3


def _spawn(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return subprocess.Popen([sys.executable, "-m", "motcua.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _writing(out: Path) -> bool:
    prefix = f".{out.name}.motcua-tmp-"
    return any(name.startswith(prefix) for name in os.listdir(out.parent))


def _wait_for_write(proc: subprocess.Popen[bytes], out: Path, timeout: float = 120.0) -> float:
    """Wait until the process starts writing (its temporary output exists); return that time."""
    end = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < end:
        if _writing(out):
            return time.monotonic()
        time.sleep(0.002)
    return time.monotonic()


def _check(out: Path, cmd: str) -> None:
    """``out`` is a whole output (for coverage: a GeoPackage with the user's layer and its own)."""
    if cmd == "coverage":
        assert sorted(pyogrio.list_layers(out)[:, 0]) == ["mine", "o"]
        assert gpkg_layer_is_own(out, "o", "coverage")
        assert len(gpd.read_file(out, layer="o")) == 3
        assert gpd.read_file(out, layer="mine")["note"].tolist() == ["chợ"]
        return
    assert_complete(out, cmd)


@pytest.mark.parametrize("cmd", COMMANDS)
def test_a_kill_while_writing_leaves_the_previous_or_the_new_output(tmp_path: Path, cmd: str) -> None:
    rng = random.Random(f"kill-{cmd}")
    work = layout(tmp_path)
    out = work / ("o.gpkg" if cmd == "coverage" else "o")
    if cmd == "coverage":  # a GeoPackage holding a layer of the user's
        gpd.GeoDataFrame({"note": ["chợ"]}, geometry=[Point(107.1, 21.3)], crs=4326).to_file(
            out, layer="mine", driver="GPKG")
    # the previous output, written in-process while a thread times its write window
    times: list[float] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if _writing(out) != (len(times) % 2 == 1):
                times.append(time.monotonic())
            time.sleep(0.001)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        code, _, err = run(argv(cmd, tmp_path, out))
    finally:
        done.set()
        watcher.join()
    assert code == 0, err
    assert times, "the write was not seen"
    if len(times) == 1:  # the run ended before the watcher saw the swap: bound it by the end
        assert not _writing(out)
        times.append(time.monotonic())
    window = max(times[1] - times[0], 0.005)
    _check(out, cmd)
    interrupted = 0
    for _ in range(KILLS):
        proc = _spawn(argv(cmd, tmp_path, out), work)
        _wait_for_write(proc, out)
        time.sleep(rng.uniform(0, window))
        mid_write = _writing(out)
        proc.kill()
        code = proc.wait(timeout=60)
        if code == -9 and mid_write:
            interrupted += 1
        else:
            assert code in (0, -9)
        _check(out, cmd)  # never a missing or partial output
    assert interrupted >= 1, "no kill landed inside the write: the test proved nothing"
    # the next run replaces it and removes what the killed runs left
    code, _, err = run(argv(cmd, tmp_path, out))
    assert code == 0, err
    _check(out, cmd)
    assert leftovers(work) == []
