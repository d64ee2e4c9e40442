"""Uploads are bounded and workspace saves are atomic and keep the user's umask."""

from __future__ import annotations

import contextlib
import io
import os
import stat
import struct
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import geodata.scenario  # noqa: F401 - imported before timing: add_upload needs it
from geodata._errors import ScenarioError
from motcua.app import workspace as wsmod
from motcua.app.workspace import (
    UploadError,
    UploadLimits,
    Workspace,
    WorkspaceError,
    check_id,
    extract_upload,
    is_id,
)

TINY = Path(__file__).resolve().parent / "data" / "tiny"
GB = 2**30


def _raw_zip(entries: list[tuple[str, int, int, int, bytes]]) -> bytes:
    """A zip written by hand: ``(name, method, crc, unpacked size, stored bytes)`` per
    member, so a member can hold 2 GB of zeros without compressing 2 GB here."""
    out = io.BytesIO()
    central = []
    for name, method, crc, size, data in entries:
        offset = out.tell()
        n = name.encode()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc,
                              len(data), size, len(n), 0) + n + data)
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21,
                                   crc, len(data), size, len(n), 0, 0, 0, 0,
                                   (stat.S_IFREG | 0o644) << 16, offset) + n)
    start = out.tell()
    out.write(b"".join(central))
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central),
                          out.tell() - start, start, 0))
    return out.getvalue()


def _zeros_deflated(mb: int) -> tuple[bytes, int]:
    """Raw deflate data of ``mb`` MB of zeros and its CRC, built from one repeated block
    (a full flush makes every 1 MB block compress to the same bytes)."""
    block = bytes(2**20)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mb):
        crc = zlib.crc32(block, crc)
    return one * mb + comp.flush(), crc


def _tiny_entries() -> list[tuple[str, int, int, int, bytes]]:
    return [(f"scen/{p.name}", 0, zlib.crc32(p.read_bytes()), p.stat().st_size, p.read_bytes())
            for p in sorted(TINY.iterdir())]


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """A valid tiny scenario plus 2 GB of zeros, about 2 MB zipped."""
    data, crc = _zeros_deflated(2048)
    return _raw_zip([*_tiny_entries(), ("scen/zeros.bin", 8, crc, 2 * GB, data)])


def _nothing_written(ws: Workspace) -> None:
    assert not ws.scenarios_dir.exists() or list(ws.scenarios_dir.iterdir()) == []


@contextlib.contextmanager
def _measured() -> Iterator[dict[str, float]]:
    """Wall time and peak Python allocation (tracemalloc) of the block."""
    out: dict[str, float] = {}
    tracemalloc.start()
    t0 = time.monotonic()
    try:
        yield out
    finally:
        out["seconds"] = time.monotonic() - t0
        out["peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()


# --- bounded uploads ---------------------------------------------------------------------
def test_zip_bomb_is_refused_fast_in_bounded_memory(tmp_path: Path, bomb: bytes) -> None:
    assert len(bomb) < 4 * 2**20
    with zipfile.ZipFile(io.BytesIO(bomb)) as zf:  # an honest zip: the sizes are true
        assert zf.getinfo("scen/zeros.bin").file_size == 2 * GB
    ws = Workspace(tmp_path / "ws")
    t0 = time.monotonic()
    with pytest.raises(UploadError) as info:
        ws.add_upload([("bomb.zip", bomb)], UploadLimits())
    assert time.monotonic() - t0 < 5
    assert str(info.value) == ("the upload unpacks to 2,048.0 MB; at most 500 MB are "
                               "accepted (MOTCUA_MAX_UPLOAD_MB)")
    with _measured() as m, pytest.raises(UploadError):
        ws.add_upload([("bomb.zip", bomb)], UploadLimits())
    assert m["peak_mb"] < 5, m
    _nothing_written(ws)


def test_many_member_zip_is_refused_fast(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(TINY.iterdir()):
            zf.writestr(f"scen/{p.name}", p.read_bytes())
        for i in range(50_000):
            zf.writestr(f"scen/junk/{i}.txt", b"")
    ws = Workspace(tmp_path / "ws")
    t0 = time.monotonic()
    with pytest.raises(UploadError) as info:
        ws.add_upload([("many.zip", buf.getvalue())], UploadLimits())
    assert time.monotonic() - t0 < 5
    assert str(info.value) == ("many.zip: the upload holds 50,005 files or more; at most "
                               "2,000 are accepted (MOTCUA_MAX_UPLOAD_FILES)")
    with _measured() as m, pytest.raises(UploadError):
        ws.add_upload([("many.zip", buf.getvalue())], UploadLimits())
    assert m["peak_mb"] < 5, m  # the zip's directory is not even parsed
    _nothing_written(ws)


def test_loose_files_count_towards_the_limits(tmp_path: Path) -> None:
    files = [(p.name, p.read_bytes()) for p in sorted(TINY.iterdir())]
    with pytest.raises(UploadError, match=r"^the upload holds 5 files; at most 4 are accepted"):
        extract_upload(files, tmp_path, UploadLimits(max_files=4))
    with pytest.raises(UploadError, match=r"^the upload unpacks to 0\.0 MB; at most 0\.0001 MB"):
        extract_upload(files, tmp_path, UploadLimits(max_mb=0.0001))
    assert list(tmp_path.iterdir()) == []


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_MAX_UPLOAD_MB", "50")
    monkeypatch.setenv("MOTCUA_MAX_UPLOAD_FILES", "10")
    assert UploadLimits.from_env() == UploadLimits(max_mb=50.0, max_files=10)
    monkeypatch.setenv("MOTCUA_MAX_UPLOAD_MB", "lots")
    monkeypatch.setenv("MOTCUA_MAX_UPLOAD_FILES", "-3")
    assert UploadLimits.from_env() == UploadLimits(max_mb=500.0, max_files=2000)


@pytest.mark.parametrize(("member", "why"), [
    ("../evil/scenario.toml", "'..' in the path"),
    ("scen/../../evil.csv", "'..' in the path"),
    ("/etc/cron.d/evil", "an absolute path"),
    ("C:/evil.csv", "an absolute path"),
    ("..\\evil.csv", "a backslash or NUL in the path"),
])
def test_path_traversal_members_are_refused(tmp_path: Path, member: str, why: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(TINY.iterdir()):
            zf.writestr(f"scen/{p.name}", p.read_bytes())
        zf.writestr(zipfile.ZipInfo(member), b"x")
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(UploadError) as info:
        extract_upload([("evil.zip", buf.getvalue())], dest, UploadLimits())
    assert str(info.value) == (f"evil.zip: unsafe path {member!r} in the zip ({why}); "
                               "expected paths inside the scenario folder")
    assert list(dest.iterdir()) == [] and sorted(os.listdir(tmp_path)) == ["dest"]


def test_a_zip_lying_about_its_sizes_writes_no_more_than_it_declares(tmp_path: Path) -> None:
    data, crc = _zeros_deflated(64)
    lying = _raw_zip([("scen/zeros.bin", 8, crc, 100, data)])  # says 100 bytes, holds 64 MB
    with pytest.raises(UploadError, match=r"^lie\.zip: member 'scen/zeros\.bin' cannot be unpacked"):
        extract_upload([("lie.zip", lying)], tmp_path, UploadLimits())
    written = tmp_path / "scen" / "zeros.bin"
    assert written.stat().st_size <= 100


def test_not_a_zip_is_named(tmp_path: Path) -> None:
    with pytest.raises(UploadError, match=r"^x\.zip: not a valid zip file"):
        extract_upload([("x.zip", b"not a zip at all")], tmp_path, UploadLimits())


def test_only_the_files_the_toml_names_reach_the_workspace(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(TINY.iterdir()):
            zf.writestr(f"scen/{p.name}", p.read_bytes())
        zf.writestr("scen/notes/big.bin", bytes(10_000))
        zf.writestr("scen/.git/config", b"[core]")
        zf.writestr("other/readme.txt", b"hello")
    ws = Workspace(tmp_path / "ws")
    ref, name = ws.add_upload([("scen.zip", buf.getvalue())], UploadLimits())
    assert name == "Xã Nhỏ (test)"
    folder = ws.scenario_folder(ref)
    kept = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    assert kept == ["demand.csv", "scenario.toml", "sites.csv", "staff.csv", "workload.csv"]


def test_invalid_scenario_upload_writes_nothing(tmp_path: Path) -> None:
    bad = [(p.name, p.read_bytes().replace(b"2000", b"-3") if p.name == "demand.csv"
            else p.read_bytes()) for p in sorted(TINY.iterdir())]
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(ScenarioError, match="demand.csv, column 'population', row 3"):
        ws.add_upload(bad, UploadLimits())
    _nothing_written(ws)


# --- atomic saves and modes --------------------------------------------------------------
@pytest.fixture()
def umask_027(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    old = os.umask(0o027)
    monkeypatch.setattr(wsmod, "UMASK", 0o027)
    try:
        yield 0o027
    finally:
        os.umask(old)


def _modes(root: Path) -> set[tuple[str, int]]:
    return {("d" if p.is_dir() else "f", stat.S_IMODE(p.stat().st_mode))
            for p in [root, *root.rglob("*")]}


def test_run_folders_keep_the_umask_not_mkdtemps_0700(tmp_path: Path, umask_027: int) -> None:
    from geodata._atomic import atomic_folder

    def save(folder: Path) -> None:
        with atomic_folder(folder) as tmp:  # mkdtemp: 0700
            (tmp / "sub").mkdir()
            (tmp / "sub" / "a.csv").write_text("x")
            fd = os.open(tmp / "b.csv", os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)

    info = Workspace(tmp_path / "ws").save_run("placement", save, label="x", scenario_ref="demo",
                                                scenario_name="x")
    assert _modes(info.path) == {("d", 0o750), ("f", 0o640)}


def test_uploaded_scenarios_keep_the_umask(tmp_path: Path, umask_027: int) -> None:
    ws = Workspace(tmp_path / "ws")
    ref, _ = ws.add_upload([(p.name, p.read_bytes()) for p in sorted(TINY.iterdir())])
    assert _modes(ws.scenario_folder(ref)) == {("d", 0o750), ("f", 0o640)}


def test_failed_copy_leaves_no_half_scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace(tmp_path / "ws")
    ref = ws.add_scenario(TINY, "first")
    real = wsmod.shutil.copyfile
    calls = []

    def failing(src: object, dst: object) -> object:
        calls.append(src)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(wsmod.shutil, "copyfile", failing)
    with pytest.raises(OSError, match="No space left"):
        ws.add_scenario(TINY, "second")
    assert len(calls) == 3
    assert os.listdir(ws.scenarios_dir) == [ref.removeprefix("ws:")]  # no .tmp-*, no half copy
    assert ws.list_scenarios()[-1] == ref


# --- ids ---------------------------------------------------------------------------------
def test_run_ids_are_unguessable_and_matched_whole(tmp_path: Path) -> None:
    import re
    import uuid

    ws = Workspace(tmp_path)
    ids = {ws.new_run_id("placement") for _ in range(50)}
    assert len(ids) == 50
    for run_id in ids:
        m = re.fullmatch(r"placement-\d{8}-\d{6}-([0-9a-f]{32})", run_id)
        assert m and uuid.UUID(m.group(1)).version == 4 and is_id(run_id)
    for bad in ("run-a\n", "run-a/..", "\nrun-a", "run-a\x00"):
        assert not is_id(bad)
        with pytest.raises(WorkspaceError):
            check_id(bad)
