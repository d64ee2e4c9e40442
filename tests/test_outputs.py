"""``--out`` writes only what motcua writes (issue #14): place, staff, import and coverage.

Every command runs for real on the small test scenario (or a two-commune
boundaries file for ``import``); user files are compared byte for byte.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from geodata._atomic import MANIFEST, clean_leftovers, output_folder, read_manifest
from geodata._errors import OutputError
from motcua.cli import main
from tests.scenarios.conftest import FILES

COMMANDS = ("place", "staff", "import", "coverage")
FOLDER_COMMANDS = ("place", "staff", "import")


# --- helpers ------------------------------------------------------------------------------


def write_scenario(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def write_boundaries(path: Path) -> Path:
    g = gpd.GeoDataFrame({"code": ["c1", "c2"], "name": ["Xã A", "Xã B"], "pop": [1000, 2500]},
                         geometry=[box(107.10, 21.30, 107.13, 21.33), box(107.13, 21.30, 107.16, 21.33)],
                         crs=4326)
    g.to_file(path, driver="GeoJSON")
    return path


def argv(cmd: str, base: Path, out: str | Path, *extra: str) -> list[str]:
    """The command line of ``cmd`` on the layout made by :func:`layout` under ``base``."""
    scn, cache = str(base / "work" / "scn"), str(base / "cache")
    if cmd == "place":
        return ["place", scn, "--model", "mclp", "--points", "1", "--time-limit", "10",
                "--cache-dir", cache, "--out", str(out), *extra]
    if cmd == "staff":
        # online work pooled (the default): the old model's KeyError on this scenario is gone
        return ["staff", scn, "--time-limit", "10", "--out", str(out), *extra]
    if cmd == "import":
        return ["import", "--boundaries", str(base / "work" / "b.geojson"), "--population-column",
                "pop", "--name", "T", "--no-coverage", "--cache-dir", cache, "--out", str(out), *extra]
    return ["coverage", scn, "--cache-dir", cache, "--out", str(out), *extra]


def layout(base: Path) -> Path:
    """``base/work`` (the working folder) with ``scn/`` and the boundaries ``b.geojson``."""
    work = base / "work"
    write_scenario(work / "scn")
    write_boundaries(work / "b.geojson")
    return work


def run(args: list[str], cwd: Path | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        if cwd is not None:
            stack.enter_context(contextlib.chdir(cwd))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def snapshot(root: Path, skip: tuple[Path, ...] = ()) -> dict[str, bytes]:
    """Every file under ``root`` (links as their target text), outside ``skip``."""
    files: dict[str, bytes] = {}
    for dirpath, dirnames, names in os.walk(root):
        d = Path(dirpath)
        if any(d == s or s in d.parents for s in skip):
            continue
        for n in names + [x for x in dirnames if (d / x).is_symlink()]:
            p = d / n
            if any(p == s for s in skip):
                continue
            rel = p.relative_to(root).as_posix()
            files[rel] = os.readlink(p).encode() if p.is_symlink() else p.read_bytes()
    return files


def assert_complete(folder: Path, command: str) -> dict[str, object]:
    """``folder`` holds exactly the files of its manifest, each as written."""
    import hashlib

    manifest = read_manifest(folder)
    assert manifest is not None, f"{folder} has no manifest"
    assert manifest["command"] == command
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert present == set(manifest["files"]) | {MANIFEST}
    for rel, entry in manifest["files"].items():
        assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == entry["sha256"], rel
    return manifest


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".motcua-" in p.name and p.name != MANIFEST)


@pytest.fixture
def base(tmp_path: Path) -> Path:
    layout(tmp_path)
    return tmp_path


# --- the cases of the bug report -------------------------------------------------------------


@pytest.mark.parametrize(("cmd", "target"), [
    *((c, t) for c in FOLDER_COMMANDS for t in (".", "..")),
    *((c, t) for c in ("place", "staff") for t in ("scn", "scn/inner"))])
def test_working_folder_its_parents_and_the_scenario_are_refused(
        base: Path, cmd: str, target: str) -> None:
    work = base / "work"
    (work / "thesis.docx").write_bytes(b"my thesis")
    before = snapshot(base, skip=(base / "cache",))
    code, _, err = run(argv(cmd, base, target), cwd=work)
    assert code == 1
    assert f"motcua {cmd}: --out {target}: refusing" in err
    assert "Traceback" not in err
    assert snapshot(base, skip=(base / "cache",)) == before


@pytest.mark.parametrize("cmd", FOLDER_COMMANDS)
def test_an_input_file_and_a_regular_file_are_refused(base: Path, cmd: str) -> None:
    work = base / "work"
    (work / "afile.txt").write_text("notes", encoding="utf-8")
    before = snapshot(base, skip=(base / "cache",))
    code, _, err = run(argv(cmd, base, work / "afile.txt"))
    assert code == 1
    assert f"{work / 'afile.txt'} is an existing file, not a folder" in err
    an_input = work / ("b.geojson" if cmd == "import" else "scn/sites.csv")
    code, _, err = run(argv(cmd, base, an_input))
    assert code == 1
    assert f"it is {an_input}, an input of this run" in err or "is inside" in err
    assert snapshot(base, skip=(base / "cache",)) == before


def test_import_refuses_a_folder_holding_its_input(base: Path) -> None:
    work = base / "work"
    # a previous import output whose folder now holds the boundaries of the next import
    assert run(argv("import", base, work / "prev"))[0] == 0
    shutil.copy(work / "b.geojson", work / "prev" / "b.geojson")
    before = snapshot(base, skip=(base / "cache",))
    args = argv("import", base, work / "prev", "--overwrite")
    args[args.index("--boundaries") + 1] = str(work / "prev" / "b.geojson")
    code, _, err = run(args)
    assert code == 1 and "contains" in err and "an input of this run" in err
    assert snapshot(base, skip=(base / "cache",)) == before


@pytest.mark.parametrize("cmd", FOLDER_COMMANDS)
def test_a_folder_with_foreign_files_is_refused_and_untouched(base: Path, cmd: str) -> None:
    out = base / "work" / "out"
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"\x00thesis")
    (out / "notes.txt").write_text("ghi chú", encoding="utf-8")
    before = snapshot(base, skip=(base / "cache",))
    for extra in ((), ("--overwrite",)):
        code, _, err = run(argv(cmd, base, out, *extra))
        assert code == 1
        assert f"the folder {out} already holds files motcua did not write" in err
        assert "notes.txt, thesis.docx" in err and "even with --overwrite" in err
    assert snapshot(base, skip=(base / "cache",)) == before
    assert leftovers(out.parent) == []


@pytest.mark.parametrize("cmd", FOLDER_COMMANDS)
def test_a_symlink_is_judged_by_its_target_and_never_empties_it(base: Path, cmd: str) -> None:
    work = base / "work"
    user = base / "userdir"
    user.mkdir()
    (user / "thesis.docx").write_bytes(b"thesis")
    (work / "link").symlink_to(user, target_is_directory=True)
    before = snapshot(base, skip=(base / "cache",))
    code, _, err = run(argv(cmd, base, work / "link"))
    assert code == 1 and f"the folder {user} already holds files motcua did not write" in err
    assert snapshot(base, skip=(base / "cache",)) == before
    # a link to a previous output of the command: that folder is replaced, the link stays
    (user / "thesis.docx").unlink()
    assert run(argv(cmd, base, work / "link"))[0] == 0
    first = assert_complete(user, cmd)
    assert run(argv(cmd, base, work / "link"))[0] == 0
    assert (work / "link").is_symlink() and (work / "link").resolve() == user
    assert assert_complete(user, cmd)["created"] >= first["created"]
    assert leftovers(work) == [] and leftovers(base) == []


@pytest.mark.parametrize("cmd", FOLDER_COMMANDS)
def test_a_previous_output_is_replaced_and_an_empty_folder_used(base: Path, cmd: str) -> None:
    out = base / "work" / "out"
    out.mkdir()
    out.chmod(0o750)
    assert run(argv(cmd, base, out))[0] == 0
    assert out.stat().st_mode & 0o777 == 0o750  # the empty folder's permissions are kept
    first = assert_complete(out, cmd)
    (out / MANIFEST).touch()  # same content, newer time: still its own
    assert run(argv(cmd, base, out))[0] == 0
    second = assert_complete(out, cmd)
    assert set(second["files"]) == set(first["files"])
    assert leftovers(out.parent) == []


def test_overwrite_semantics(base: Path) -> None:
    work = base / "work"
    out = work / "out"
    assert run(argv("place", base, out))[0] == 0
    # another command's output: refused, replaced with --overwrite
    code, _, err = run(argv("staff", base, out))
    assert code == 1 and "holds the output of 'motcua place', not of 'motcua staff'" in err
    assert_complete(out, "place")
    assert run(argv("staff", base, out, "--overwrite"))[0] == 0
    assert_complete(out, "staff")
    # an edited file: refused, replaced with --overwrite
    (out / "moves.csv").write_text("my edits\n", encoding="utf-8")
    code, _, err = run(argv("staff", base, out))
    assert code == 1 and "moves.csv changed since motcua wrote it; pass --overwrite" in err
    assert (out / "moves.csv").read_text(encoding="utf-8") == "my edits\n"
    assert run(argv("staff", base, out, "--overwrite"))[0] == 0
    assert_complete(out, "staff")
    # a file the manifest does not list: refused even with --overwrite
    (out / "sub").mkdir()
    (out / "sub" / "thesis.docx").write_bytes(b"thesis")
    for extra in ((), ("--overwrite",)):
        code, _, err = run(argv("staff", base, out, *extra))
        assert code == 1 and "also files motcua did not write (sub/thesis.docx)" in err
    assert (out / "sub" / "thesis.docx").read_bytes() == b"thesis"
    # a broken manifest is no manifest: the folder is foreign
    (out / "sub" / "thesis.docx").unlink()
    (out / "sub").rmdir()
    (out / MANIFEST).write_text("{not json", encoding="utf-8")
    code, _, err = run(argv("staff", base, out, "--overwrite"))
    assert code == 1 and "already holds files motcua did not write" in err


def test_the_check_runs_before_solving(base: Path) -> None:
    # a refused --out is reported before the (possibly hour-long) solve: no cache is built
    out = base / "work" / "out"
    out.mkdir()
    (out / "x").write_text("x", encoding="utf-8")
    code, stdout, _ = run(argv("place", base, out))
    assert code == 1 and stdout == "" and not (base / "cache").exists()


@pytest.mark.parametrize("mask, dmode, fmode", [(0o022, 0o755, 0o644), (0o027, 0o750, 0o640)])
@pytest.mark.parametrize("cmd", COMMANDS)
def test_new_outputs_follow_the_umask(base: Path, cmd: str, mask: int, dmode: int, fmode: int) -> None:
    old = os.umask(mask)
    try:
        out = base / "work" / "deep" / ("o.geojson" if cmd == "coverage" else "o")
        assert run(argv(cmd, base, out))[0] == 0
    finally:
        os.umask(old)
    assert (base / "work" / "deep").stat().st_mode & 0o777 == dmode
    if cmd == "coverage":
        assert out.stat().st_mode & 0o777 == fmode
        return
    assert out.stat().st_mode & 0o777 == dmode
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files and {p.stat().st_mode & 0o777 for p in files} == {fmode}


# --- coverage files ---------------------------------------------------------------------------


def test_coverage_gpkg_keeps_the_other_layers(base: Path) -> None:
    work = base / "work"
    gpkg = work / "atlas.gpkg"
    mine = gpd.GeoDataFrame({"note": ["chợ", "trường"]}, geometry=[Point(107.1, 21.3), Point(107.2, 21.4)],
                            crs=4326)
    mine.to_file(gpkg, layer="my_places", driver="GPKG")
    for _ in range(2):  # adds its layer, then replaces it
        assert run(argv("coverage", base, gpkg))[0] == 0
        assert sorted(pyogrio.list_layers(gpkg)[:, 0]) == ["atlas", "my_places"]
        back = gpd.read_file(gpkg, layer="my_places")
        assert back["note"].tolist() == ["chợ", "trường"]
        assert len(gpd.read_file(gpkg, layer="atlas")) == 3
    # a layer of that name the user wrote: refused; --overwrite replaces that layer only
    user_layer = work / "u.gpkg"
    mine.to_file(user_layer, layer="u", driver="GPKG")
    mine.to_file(user_layer, layer="keep", driver="GPKG")
    before = user_layer.read_bytes()
    code, _, err = run(argv("coverage", base, user_layer))
    assert code == 1 and "motcua cannot tell that it wrote it" in err and "--overwrite" in err
    assert user_layer.read_bytes() == before
    assert run(argv("coverage", base, user_layer, "--overwrite"))[0] == 0
    assert len(gpd.read_file(user_layer, layer="u")) == 3
    assert gpd.read_file(user_layer, layer="keep")["note"].tolist() == ["chợ", "trường"]
    assert leftovers(work) == []


@pytest.mark.parametrize("suffix", [".geojson", ".npz", ".gpkg"])
def test_coverage_replaces_only_its_own_file(base: Path, suffix: str) -> None:
    work = base / "work"
    foreign = work / f"data{suffix}"
    foreign.write_bytes(b"user bytes, not a motcua file")
    code, _, err = run(argv("coverage", base, foreign))
    assert code == 1 and f"--out {foreign}: {foreign} already exists" in err
    assert foreign.read_bytes() == b"user bytes, not a motcua file"
    assert run(argv("coverage", base, foreign, "--overwrite"))[0] == 0
    assert foreign.read_bytes() != b"user bytes, not a motcua file"
    own = work / f"own{suffix}"
    assert run(argv("coverage", base, own))[0] == 0
    assert run(argv("coverage", base, own))[0] == 0  # its own file: replaced without --overwrite
    if suffix == ".npz":
        with np.load(own) as data:
            assert str(data["written_by"]) == "written by motcua coverage"
            assert json.loads(str(data["meta"]))["rule"] == "either"
    else:
        assert len(gpd.read_file(own)) == 3
    # inside the scenario folder: refused even with --overwrite
    code, _, err = run(argv("coverage", base, work / "scn" / f"x{suffix}", "--overwrite"))
    assert code == 1 and "is inside" in err
    assert not (work / "scn" / f"x{suffix}").exists()
    assert leftovers(work) == []


# --- leftovers -------------------------------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("cmd", COMMANDS)
def test_leftovers_of_a_killed_run_are_cleaned(base: Path, cmd: str) -> None:
    work = base / "work"
    name = "o.geojson" if cmd == "coverage" else "o"
    suffix = ".geojson" if cmd == "coverage" else ""
    if not suffix:  # a previous output in place (else the old folder would be put back)
        assert run(argv(cmd, base, work / name))[0] == 0
    pid = _dead_pid()
    stale = [work / f".{name}.motcua-tmp-{pid}-0badc0de{suffix}",
             work / f".{name}.motcua-old-{pid}-deadbeef{suffix}"]
    for p in stale:
        if suffix:
            p.write_text("half", encoding="utf-8")
        else:
            p.mkdir()
            (p / "result.json").write_text("{", encoding="utf-8")
    live = work / f".{name}.motcua-tmp-{os.getppid()}-12345678{suffix}"  # a running process
    user = [work / f".{name}.backup", work / f".{name}.old-1234abcd"]  # not names motcua makes
    for p in [live, *user]:
        p.write_text("keep", encoding="utf-8")
    assert run(argv(cmd, base, work / name))[0] == 0
    assert not any(p.exists() for p in stale)
    assert all(p.read_text(encoding="utf-8") == "keep" for p in [live, *user])


def test_a_previous_folder_moved_aside_is_put_back(tmp_path: Path) -> None:
    # where RENAME_EXCHANGE is unavailable the previous folder is renamed aside first;
    # a kill before the new one arrives is repaired by the next run
    target = tmp_path / "out"
    with output_folder(target, "place") as tmp:
        (tmp / "a.csv").write_text("1", encoding="utf-8")
    aside = tmp_path / f".out.motcua-old-{_dead_pid()}-00000000"
    target.rename(aside)
    clean_leftovers(target)
    assert not aside.exists()
    assert_complete(target, "place")


def test_a_failed_block_leaves_the_previous_folder(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with output_folder(target, "place") as tmp:
        (tmp / "a.csv").write_text("1", encoding="utf-8")
    with pytest.raises(RuntimeError), output_folder(target, "place") as tmp:
        (tmp / "a.csv").write_text("2", encoding="utf-8")
        raise RuntimeError
    assert (target / "a.csv").read_text(encoding="utf-8") == "1"
    assert leftovers(tmp_path) == []
    with pytest.raises(OutputError, match="already holds files motcua did not write"), \
            output_folder(tmp_path, "place"):
        pass


# --- random user files everywhere --------------------------------------------------------------

_name = st.text(alphabet="abcxyzĐđàế0123456789_- .", min_size=1, max_size=8).map(lambda s: "u" + s)
_path = st.lists(_name, min_size=1, max_size=3).map(lambda parts: "/".join(parts))
_files = st.dictionaries(_path, st.binary(max_size=64), min_size=1, max_size=5)
CASES = ("foreign", "cwd", "parent", "scenario", "inside", "input", "file", "new", "empty")


def _place_files(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        p = root / rel
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            if not p.exists():
                p.write_bytes(data)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            continue  # "ua" both a file and a folder: keep the first


def _target(cmd: str, case: str, work: Path) -> tuple[str, bool]:
    """(``--out``, refused?) of a case; paths relative to the working folder."""
    ext = ".geojson" if cmd == "coverage" else ""
    return {
        "foreign": (f"out/ufile{ext}" if cmd == "coverage" else "out", True),
        "cwd": (".", True), "parent": ("..", True),
        "scenario": (f"scn/n{ext}" if cmd == "coverage" else "scn", True),
        "inside": (f"scn/inner/n{ext}", True),
        "input": ("b.geojson" if cmd == "import" else "scn/sites.csv", True),
        "file": (f"afile{ext or '.txt'}", True),
        "new": (f"new/n{ext}" if cmd == "coverage" else "new", False),
        "empty": (f"empty/n{ext}" if cmd == "coverage" else "empty", False),
    }[case]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cmd=st.sampled_from(COMMANDS), case=st.sampled_from(CASES),
       in_out=_files, in_cwd=_files, in_scn=_files)
def test_user_files_survive_every_command(tmp_path_factory: pytest.TempPathFactory, cmd: str,
                                          case: str, in_out: dict[str, bytes],
                                          in_cwd: dict[str, bytes], in_scn: dict[str, bytes]) -> None:
    base = tmp_path_factory.mktemp("prop")
    work = layout(base)
    _place_files(work / "out", in_out)
    _place_files(work, in_cwd)
    _place_files(work / "scn", in_scn)
    (work / "out" / "ufile.geojson").write_bytes(b"user geojson")
    (work / ("afile.geojson" if cmd == "coverage" else "afile.txt")).write_bytes(b"user file")
    (work / "empty").mkdir()
    target, refused = _target(cmd, case, work)
    if cmd == "import" and case == "inside":
        refused = False  # import has no scenario: a new folder anywhere but the inputs is fine
    written = work / target.split("/")[0] / target.split("/")[1] if "/" in target else work / target
    before = snapshot(base, skip=(base / "cache",))
    code, _, err = run(argv(cmd, base, target), cwd=work)
    # everything but the new output is byte-identical (a refused run writes nothing at all)
    assert snapshot(base, skip=(base / "cache",) + (() if refused else (written,))) == before
    if refused:
        assert code == 1, err
        assert f"motcua {cmd}: --out {target}" in err and "Traceback" not in err
    else:
        assert code == 0, err
        out = work / target
        if cmd == "coverage":
            assert len(gpd.read_file(out)) == 3
        else:
            assert_complete(out, cmd)
    assert leftovers(work) == []
    shutil.rmtree(base)


# --- a full disk ---------------------------------------------------------------------------------


@contextlib.contextmanager
def tiny_disk(path: Path, size: str = "1m") -> Iterator[Path]:
    """A tmpfs of ``size`` at ``path`` (needs root); skipped only off CI when mount is refused."""
    path.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs: {proc.stderr}")
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=False)


def _fill(disk: Path) -> None:
    with contextlib.suppress(OSError), (disk / "filler").open("wb") as f:
        while True:
            f.write(b"x" * 4096)
            f.flush()


@pytest.mark.parametrize("cmd", COMMANDS)
def test_a_full_disk_is_named_and_keeps_the_previous_output(base: Path, cmd: str) -> None:
    with tiny_disk(base / "disk") as disk:
        out = disk / ("o.geojson" if cmd == "coverage" else "o")
        assert run(argv(cmd, base, out))[0] == 0
        before = snapshot(disk)
        _fill(disk)
        code, _, err = run(argv(cmd, base, out))
        assert code == 1
        assert err.startswith(f"motcua {cmd}: no space left on device while writing {out}")
        assert "Traceback" not in err and "FeatureError" not in err
        after = snapshot(disk)
        after.pop("filler")
        assert after == before  # the previous output, whole; no temporary leftovers


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_states_the_rules(cmd: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([cmd, "--help"])
    text = " ".join(capsys.readouterr().out.split()).replace("motcua- manifest", "motcua-manifest")
    assert "--overwrite" in text
    if cmd == "coverage":
        assert "only the layer named after the file is (re)written and every other layer is kept" in text
    else:
        assert "a previous output of this command (recognised by its .motcua-manifest.json" in text
        assert "a folder holding any file motcua did not write is refused and left untouched" in text


def test_without_rename_exchange_the_previous_folder_is_moved_aside_then_removed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import geodata._atomic as atomic

    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)  # a system without renameat2
    target = tmp_path / "out"
    for value in ("1", "2"):
        with output_folder(target, "place") as tmp:
            (tmp / "a.csv").write_text(value, encoding="utf-8")
        assert (target / "a.csv").read_text(encoding="utf-8") == value
        assert_complete(target, "place")
    assert leftovers(tmp_path) == []


def test_write_forecast_keeps_an_edited_forecast_unless_overwrite(base: Path) -> None:
    """``staff --write-forecast FILE``: a director's edited forecast is never replaced
    silently, and the refusal comes before the solve."""
    edited = base / "work" / "forecast.csv"
    edited.write_text("site_id,date,field,channel,dossiers\nB01,2026-01-05,land,in_person,7\n",
                      encoding="utf-8")
    before = edited.read_bytes()
    code, out, err = run(argv("staff", base, base / "o1", "--write-forecast", str(edited)))
    assert code == 1
    assert "forecast.csv" in err and "Traceback" not in err
    assert edited.read_bytes() == before
    assert not (base / "o1").exists()  # refused before anything was computed or written
    code, out, err = run(argv("staff", base, base / "o2", "--write-forecast", str(edited),
                              "--overwrite"))
    assert code == 0, err
    text = edited.read_text(encoding="utf-8")
    assert text != before.decode() and text.startswith("site_id,date,field,channel,dossiers")
    # an input is refused even with --overwrite
    code, out, err = run(argv("staff", base, base / "o3", "--forecast", str(edited),
                              "--write-forecast", str(edited), "--overwrite"))
    assert code == 1 and edited.read_text(encoding="utf-8") == text
