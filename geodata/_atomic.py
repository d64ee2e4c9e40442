"""Outputs that write only what motcua writes: guarded, atomic folders and files.

Every command that writes (``place``, ``staff``, ``import``, ``coverage``) goes
through this module, and so can any other caller (the app's workspace):

:func:`output_folder`
    ``with output_folder(target, "place", overwrite=..., protect=...) as out:``
    write the files into ``out.path`` (``out / "name"`` gives a path and
    remembers it for error messages); when the block ends without error a
    manifest :data:`MANIFEST` listing every file (size and SHA-256) is added
    and the folder is swapped into ``target`` in one atomic step.
:func:`check_output_folder`
    The same checks, without writing anything: call it before a long
    computation so that a refused ``--out`` is reported at once.
:func:`output_file` / :func:`check_output_file`
    The same for a single file (``coverage --out x.geojson``), written to a
    temporary file beside it and moved into place with :func:`os.replace`.
:func:`atomic_folder`
    An unguarded atomic folder replacement, for folders that belong to motcua
    itself (the shipped demo scenario).

Rules for a folder ``target`` (symbolic links are resolved first, so a link
is judged by the folder it points to, and that folder is what is written):

1. Refused, always: the working folder or one of its ancestors; anything that
   equals, contains or lies inside a path of ``protect`` (the scenario
   folder, every input file, the cache folder); an existing path that is not
   a folder (a regular file, a device, ...).
2. Used: a folder that does not exist (its parents are created) or is empty
   (its permission bits are kept).
3. Replaced: a folder holding a manifest written by the same command whose
   files are all unchanged (same size, and same modification time or same
   SHA-256) and with nothing else in it.
4. Replaced only with ``overwrite=True``: a folder holding a manifest of
   another command, or in which listed files were edited since.
5. Refused, even with ``overwrite=True``: a non-empty folder without a valid
   manifest, and a folder holding any file or folder its manifest does not
   list (motcua never deletes a file it did not write).

A crash at any moment leaves the previous folder or the new one: the new one
is written into a temporary sibling ``.NAME.motcua-tmp-PID-XXXXXXXX`` and
exchanged with ``target`` by ``renameat2(RENAME_EXCHANGE)`` (Linux); where
that is unavailable the previous folder is renamed to
``.NAME.motcua-old-PID-XXXXXXXX`` first and the next run puts it back if the
new one never arrived. Leftovers of a killed run (names of that form whose
process is gone) are removed by the next run into the same place; no other
name is ever removed. New folders and files get the user's umask.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from geodata._errors import OutputError
from geodata._json import dumps

logger = logging.getLogger(__name__)

#: Name of the manifest motcua writes into every output folder.
MANIFEST = ".motcua-manifest.json"
_TAG = "motcua-"
#: A scratch subfolder a writer may use inside the staging folder; remove it before
#: the block ends (failed writes in it are reported under the final folder's name).
SCRATCH = ".motcua-stage"
_NO_SPACE = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
_CANNOT_WRITE = (errno.EACCES, errno.EPERM, errno.EROFS, errno.EIO, errno.EFBIG)


# --- paths ----------------------------------------------------------------------------


def _resolve(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.expanduser(os.fspath(path))).resolve()


def _inside(path: Path, folder: Path) -> bool:
    """``path`` is ``folder`` or lies somewhere under it."""
    return path == folder or folder in path.parents


def _protected(protect: Iterable[str | os.PathLike[str] | None]) -> list[Path]:
    out = []
    for p in protect:
        if p is None:
            continue
        text = os.fspath(p)
        if text.startswith("zip://"):  # zip://file.zip!inner.geojson
            text = text[len("zip://"):].split("!", 1)[0]
        if not text:
            continue
        out.append(_resolve(text))
    return out


def _check_place(target: Path, shown: str, protect: Iterable[str | os.PathLike[str] | None],
                 what: str) -> None:
    """Refuse the working folder, its ancestors and the protected paths (rule 1)."""
    cwd = Path.cwd().resolve()
    if _inside(cwd, target):
        where = "the current folder" if target == cwd else "a parent of the current folder"
        msg = (f"--out {shown}: refusing to write over {where} ({target}); "
               f"give a new {what} inside it, e.g. --out {'results' if what == 'folder' else 'out'}")
        raise OutputError(msg)
    for p in _protected(protect):
        if _inside(p, target) or _inside(target, p):
            if target == p:
                rel = "is"
            elif _inside(p, target):
                rel = "contains"
            else:
                rel = "is inside"
            msg = (f"--out {shown}: refusing to write there: it {rel} {p}, an input of this "
                   f"run (the scenario folder, an input file or the cache); choose an output "
                   f"{what} outside the scenario and the inputs")
            raise OutputError(msg)


# --- manifests ------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _entries(folder: Path) -> tuple[list[str], list[str]]:
    """Relative paths (``/``-separated) of the files and of the folders under ``folder``.

    Symbolic links count as files (they are never followed)."""
    files: list[str] = []
    dirs: list[str] = []
    for root, dirnames, filenames in os.walk(folder, followlinks=False):
        base = Path(root)
        for d in list(dirnames):
            p = base / d
            rel = p.relative_to(folder).as_posix()
            if p.is_symlink():
                files.append(rel)
                dirnames.remove(d)
            else:
                dirs.append(rel)
        files += [(base / f).relative_to(folder).as_posix() for f in filenames]
    return sorted(files), sorted(dirs)


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest of an output folder, or ``None`` when it has no valid one."""
    path = Path(folder) / MANIFEST
    if not path.is_file() or path.is_symlink():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if (not isinstance(data, dict) or data.get("written_by") != "motcua"
            or not isinstance(data.get("command"), str) or not isinstance(data.get("files"), dict)):
        return None
    return data


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("motcua")
    except PackageNotFoundError:
        return "unknown"


def _write_manifest(folder: Path, command: str) -> None:
    files, _ = _entries(folder)
    listing = {}
    for rel in files:
        p = folder / rel
        st = p.lstat()
        listing[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": _sha256(p)}
    data = {
        "written_by": "motcua", "version": _version(), "command": command,
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "note": "motcua may replace this folder on its next run with the same --out; "
                "it never deletes a file that is not listed here",
        "files": listing,
    }
    (folder / MANIFEST).write_text(dumps(data, indent=1), encoding="utf-8")


def _list(names: list[str], n: int = 5) -> str:
    text = ", ".join(names[:n])
    return text + (f" (and {len(names) - n} more)" if len(names) > n else "")


def _check_folder(target: Path, shown: str, command: str, overwrite: bool,
                  protect: Iterable[str | os.PathLike[str] | None]) -> None:
    """Raise :class:`OutputError` unless ``target`` may be (re)placed (module rules)."""
    protect = list(protect)
    _check_place(target, shown, protect, "folder")
    if not target.exists():
        return
    if not target.is_dir():
        msg = (f"--out {shown}: {target} is an existing file, not a folder; "
               f"give the name of a new folder")
        raise OutputError(msg)
    files, dirs = _entries(target)
    if not files and not dirs:
        return
    manifest = read_manifest(target)
    if manifest is None:
        msg = (f"--out {shown}: the folder {target} already holds files motcua did not write "
               f"({_list(files or dirs)}); motcua never deletes them, even with --overwrite. "
               f"Choose a new or empty folder, or move those files away")
        raise OutputError(msg)
    listed = set(manifest["files"])
    allowed = listed | {MANIFEST}
    allowed_dirs = {str(Path(f).parent.as_posix()) for f in listed}
    allowed_dirs |= {p.as_posix() for f in listed for p in Path(f).parents}
    foreign = [f for f in files if f not in allowed]
    foreign += [d for d in dirs if d not in allowed_dirs
                and not any(f.startswith(d + "/") for f in foreign)]  # empty folders
    if foreign:
        msg = (f"--out {shown}: the folder {target} holds a previous motcua output and also "
               f"files motcua did not write ({_list(foreign)}); motcua never deletes them, "
               f"even with --overwrite. Move them away or choose another folder")
        raise OutputError(msg)
    if overwrite:
        return
    if manifest["command"] != command:
        msg = (f"--out {shown}: the folder {target} holds the output of 'motcua "
               f"{manifest['command']}', not of 'motcua {command}'; pass --overwrite to "
               f"replace it, or choose another folder")
        raise OutputError(msg)
    edited = []
    for rel in files:
        if rel == MANIFEST:
            continue
        entry = manifest["files"].get(rel) or {}
        p = target / rel
        st = p.lstat()
        if p.is_symlink() or st.st_size != entry.get("size"):
            edited.append(rel)
        elif st.st_mtime_ns != entry.get("mtime_ns") and _sha256(p) != entry.get("sha256"):
            edited.append(rel)  # same size and time: unchanged without reading it again
    if edited:
        msg = (f"--out {shown}: in {target}, {_list(edited)} changed since motcua wrote "
               f"{'them' if len(edited) > 1 else 'it'}; pass --overwrite to replace the folder "
               f"anyway, or choose another folder")
        raise OutputError(msg)


def check_output_folder(target: str | os.PathLike[str], command: str, *, overwrite: bool = False,
                        protect: Iterable[str | os.PathLike[str] | None] = ()) -> Path:
    """Check that ``target`` may receive the output of ``command``; write nothing.

    Returns the resolved folder; raises :class:`OutputError` (message naming the
    folder and what to do) when the module's rules refuse it.
    """
    resolved = _resolve(target)
    _check_folder(resolved, os.fspath(target), command, overwrite, protect)
    return resolved


# --- leftovers ------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _leftover_re(name: str, suffix: str = "") -> re.Pattern[str]:
    # a GeoPackage being written may have SQLite's journal files beside it
    return re.compile(rf"^\.{re.escape(name)}\.{_TAG}(tmp|old)-(\d+)-[0-9a-f]{{8}}"
                      rf"{re.escape(suffix)}(-journal|-wal|-shm)?$")


def clean_leftovers(target: str | os.PathLike[str], suffix: str = "") -> bool:
    """Remove what killed runs left beside ``target``; restore a previous folder if needed.

    Only names this module makes (``.NAME.motcua-tmp-PID-XXXXXXXX`` and
    ``.NAME.motcua-old-PID-XXXXXXXX``, ``suffix`` appended for files) of
    processes that are no longer running are touched. An ``old`` folder (the
    previous output moved aside where ``RENAME_EXCHANGE`` is unavailable) is
    put back when ``target`` is missing and it holds a valid manifest.
    Returns whether something was put back.
    """
    target = Path(target)
    parent = target.parent
    if not parent.is_dir():
        return False
    pattern = _leftover_re(target.name, suffix)
    found = []
    for entry in parent.iterdir():
        m = pattern.match(entry.name)
        if m and not _alive(int(m.group(2))):
            found.append((m.group(1), entry))
    restored = False
    for kind, entry in sorted(found, key=lambda x: x[0] != "old"):
        if (kind == "old" and not suffix and not target.exists() and not target.is_symlink()
                and entry.is_dir() and read_manifest(entry) is not None):
            os.rename(entry, target)  # the new folder never arrived: put the previous one back
            logger.warning("restored %s from an interrupted run", target)
            restored = True
        elif entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    return restored


def _new_name(target: Path, kind: str, suffix: str = "") -> Path:
    return target.parent / f".{target.name}.{_TAG}{kind}-{os.getpid()}-{secrets.token_hex(4)}{suffix}"


# --- errors ---------------------------------------------------------------------------


def _newest(folder: Path) -> Path | None:
    best: tuple[float, Path] | None = None
    for root, _, names in os.walk(folder):
        for n in names:
            p = Path(root) / n
            try:
                t = p.lstat().st_mtime
            except OSError:
                continue
            if best is None or t > best[0]:
                best = (t, p)
    return None if best is None else best[1]


def _write_error(exc: BaseException, staged: Path, final: Path, current: Path | None) -> OutputError | None:
    """``exc`` as an :class:`OutputError` naming the file, if it is a failed write."""
    library = type(exc).__module__.split(".")[0] in ("pyogrio", "fiona")
    if isinstance(exc, OSError):
        if exc.errno not in _NO_SPACE + _CANNOT_WRITE:
            return None
    elif not library:
        return None
    file: Path | None = None
    name = getattr(exc, "filename", None)
    if isinstance(name, (str, os.PathLike)) and _inside(_resolve(name), staged):
        file = _resolve(name)
    if file is None and current is not None:
        file = current
    if file is None and staged.is_dir():
        file = _newest(staged)
    if file is None:
        file = staged
    try:
        rel = file.relative_to(staged) if staged.is_dir() else None
    except ValueError:
        rel = None
    if rel is not None and rel.parts[:1] == (SCRATCH,):
        rel = Path(*rel.parts[1:])
    shown = final / rel if rel is not None else final
    no_space = isinstance(exc, OSError) and exc.errno in _NO_SPACE
    if library:
        text = str(exc).lower()
        try:
            free = shutil.disk_usage(staged if staged.exists() else staged.parent).free
        except OSError:
            free = 1 << 30
        no_space = "no space" in text or "disk is full" in text or free < (1 << 20)
    if no_space:
        return OutputError(f"no space left on device while writing {shown}")
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return OutputError(f"could not write {shown}: {detail}")


@contextmanager
def write_errors(final: str | os.PathLike[str], staged: str | os.PathLike[str] | None = None) -> Iterator[None]:
    """Turn a failed write inside the block into :class:`OutputError` naming ``final``.

    ``ENOSPC`` (and ``EDQUOT``) become ``no space left on device while writing
    FILE``; other write failures (permission, read-only, I/O error, pyogrio and
    fiona write errors) ``could not write FILE: reason``. Anything else passes.
    """
    final_p = Path(final)
    staged_p = Path(staged) if staged is not None else final_p
    try:
        yield
    except OutputError:
        raise
    except Exception as exc:
        err = _write_error(exc, staged_p, final_p, None)
        if err is None:
            raise
        raise err from exc


def write_vector(gdf: Any, path: str | os.PathLike[str], *, driver: str, layer: str | None = None,
                 **options: Any) -> None:
    """``gdf.to_file(path, ...)``, then check that the file holds every feature.

    GDAL's GeoJSON driver ignores a failed write (a full disk leaves a short or
    empty file and no error), so the written layer is read back: a missing or
    short layer raises :class:`OSError` with ``ENOSPC`` when the disk is nearly
    full, else ``EIO`` (inside :func:`output_folder` / :func:`output_file` these
    become :class:`OutputError` naming the final file).
    """
    import pyogrio

    path = Path(path)
    gdf.to_file(path, driver=driver, layer=layer, **options)
    try:
        n = int(pyogrio.read_info(path, layer=layer)["features"])
    except Exception:  # noqa: BLE001 - unreadable right after writing: the write failed
        n = -1
    if n != len(gdf):
        try:
            free = shutil.disk_usage(path.parent).free
        except OSError:
            free = 0
        if free < (1 << 20):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(path))
        raise OSError(errno.EIO, f"{len(gdf)} features written, {max(n, 0)} read back",
                      os.fspath(path))


# --- folders --------------------------------------------------------------------------


class Staging:
    """The temporary folder an :func:`output_folder` block writes into.

    ``staging / "name"`` is ``staging.path / "name"``, remembered so that a
    failed write is reported with that file's final name.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.current: Path | None = None

    def __truediv__(self, name: str | os.PathLike[str]) -> Path:
        self.current = self.path / name
        return self.current

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def __repr__(self) -> str:
        return f"Staging({self.path!r})"


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); ``False`` where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), os.fspath(a), None, os.fspath(b))


def _swap_in(new: Path, target: Path) -> Path | None:
    """Put ``new`` at ``target``; return where the previous ``target`` went (if any)."""
    if not target.exists():
        os.rename(new, target)
        return None
    if _exchange(new, target):
        return new
    old = _new_name(target, "old")
    os.rename(target, old)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(old, target)
        raise
    return old


def _remove_previous(old: Path, target: Path) -> None:
    """Delete the files of a replaced output, only those its manifest lists."""
    manifest = read_manifest(old)
    listed = list(manifest["files"]) if manifest else []
    for rel in [*listed, MANIFEST]:
        p = old / rel
        if p.is_symlink() or p.is_file():
            p.unlink()
    for root, _, _ in sorted(os.walk(old), key=lambda x: -len(x[0])):
        try:
            os.rmdir(root)
        except OSError:
            pass
    if old.exists():  # someone put a file there while we were writing: keep it visible
        kept = target.parent / f"{target.name}.kept-{dt.datetime.now():%Y%m%d-%H%M%S}"
        os.rename(old, kept)
        logger.warning("files added to %s during the run were kept in %s", target, kept)


@contextmanager
def output_folder(target: str | os.PathLike[str], command: str, *, overwrite: bool = False,
                  protect: Iterable[str | os.PathLike[str] | None] = ()) -> Iterator[Staging]:
    """Write a new output folder of ``command`` and put it at ``target`` atomically.

    Parameters
    ----------
    target : the folder (``--out``); symbolic links are resolved.
    command : what writes it (``"place"``, ``"staff"``, ``"import"``, ...), recorded
        in the manifest; a folder of another command needs ``overwrite``.
    overwrite : also replace a motcua output of another command or with edited
        files (never a folder holding files motcua did not write).
    protect : paths the output may not equal, contain or lie inside (scenario
        folder, input files, cache); the working folder is always protected.

    Yields
    ------
    Staging
        The temporary folder to write into (``.path``). When the block ends
        without error, :data:`MANIFEST` is written, the rules are checked again
        (files may have appeared meanwhile) and the folder is swapped in. On
        error the temporary folder is removed and ``target`` is untouched;
        failed writes raise :class:`OutputError` naming the file.
    """
    protect = list(protect)
    final = check_output_folder(target, command, overwrite=overwrite, protect=protect)
    shown = os.fspath(target)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        if clean_leftovers(final):  # a previous output came back: judge it too
            _check_folder(final, shown, command, overwrite, protect)
        tmp = _new_name(final, "tmp")
        os.mkdir(tmp)  # 0o777 minus the umask (tempfile.mkdtemp would make it 0o700)
    except OSError as exc:
        err = _write_error(exc, final.parent, final.parent, None)
        if err is None:
            raise
        raise err from exc
    staging = Staging(tmp)
    try:
        try:
            yield staging
            _write_manifest(tmp, command)
        except OutputError:
            raise
        except Exception as exc:
            err = _write_error(exc, tmp, final, staging.current)
            if err is None:
                raise
            raise err from exc
        _check_folder(final, shown, command, overwrite, protect)
        if final.is_dir():
            os.chmod(tmp, final.stat().st_mode & 0o7777)
        old = _swap_in(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        _remove_previous(old, final)


# --- files ----------------------------------------------------------------------------


def _check_file(target: Path, shown: str, command: str, overwrite: bool,
                protect: Iterable[str | os.PathLike[str] | None],
                is_own: Callable[[Path], bool] | None) -> None:
    _check_place(target, shown, protect, "file")
    if not target.exists():
        return
    if not target.is_file():
        msg = f"--out {shown}: {target} exists and is not a file; give the name of a file"
        raise OutputError(msg)
    if overwrite or (is_own is not None and is_own(target)):
        return
    msg = (f"--out {shown}: {target} already exists and motcua cannot tell that it wrote it "
           f"(motcua {command} marks its own files); pass --overwrite to replace it, or "
           f"choose another name")
    raise OutputError(msg)


def check_output_file(target: str | os.PathLike[str], command: str, *, overwrite: bool = False,
                      protect: Iterable[str | os.PathLike[str] | None] = (),
                      is_own: Callable[[Path], bool] | None = None) -> Path:
    """Check that the file ``target`` may be written; write nothing.

    Refused: the same places as :func:`check_output_folder`, anything that is
    not a regular file, and an existing file ``is_own`` does not recognise
    unless ``overwrite``. Returns the resolved path.
    """
    resolved = _resolve(target)
    _check_file(resolved, os.fspath(target), command, overwrite, protect, is_own)
    return resolved


@contextmanager
def output_file(target: str | os.PathLike[str], command: str, *, overwrite: bool = False,
                protect: Iterable[str | os.PathLike[str] | None] = (),
                is_own: Callable[[Path], bool] | None = None,
                update: bool = False) -> Iterator[Path]:
    """Write a file atomically: yield a temporary path beside ``target``, then replace it.

    The temporary name keeps the suffix (drivers pick the format from it). With
    ``update`` an existing ``target`` is first copied to the temporary path, so
    the block can change part of it (a GeoPackage layer) and the rest stays.
    Refusals are those of :func:`check_output_file`; failed writes raise
    :class:`OutputError` naming ``target``.
    """
    protect = list(protect)
    final = check_output_file(target, command, overwrite=overwrite, protect=protect, is_own=is_own)
    suffix = "".join(final.suffixes[-1:])
    tmp = _new_name(final, "tmp", suffix)
    try:
        with write_errors(final, tmp):
            final.parent.mkdir(parents=True, exist_ok=True)
            clean_leftovers(final, suffix)
            if update and final.is_file():
                shutil.copyfile(final, tmp)
                shutil.copymode(final, tmp)
            yield tmp
            _check_file(final, os.fspath(target), command, overwrite, protect, is_own)
            os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --- recognising motcua's own files -----------------------------------------------------


def written_by_tag(command: str) -> str:
    """The tag motcua puts into files it writes: ``written by motcua COMMAND``."""
    return f"written by motcua {command}"


def geojson_is_own(path: Path, command: str) -> bool:
    """The GeoJSON file starts with ``"description": "written by motcua COMMAND"``."""
    try:
        with path.open("rb") as f:
            head = f.read(4096).decode("utf-8", "replace")
    except OSError:
        return False
    return re.search(r'"description"\s*:\s*"' + re.escape(written_by_tag(command)), head) is not None


def npz_is_own(path: Path, command: str) -> bool:
    """The ``.npz`` archive holds ``written_by`` = ``written by motcua COMMAND``."""
    import zipfile

    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            return "written_by" in data.files and str(data["written_by"]) == written_by_tag(command)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        return False


def gpkg_layers(path: Path) -> list[str] | None:
    """Layer names of a GeoPackage, ``None`` when ``path`` is not one."""
    import pyogrio

    try:
        return [str(x) for x in pyogrio.list_layers(path)[:, 0]]
    except Exception:  # noqa: BLE001 - any failure means: not a GeoPackage we can update
        return None


def gpkg_layer_is_own(path: Path, layer: str, command: str) -> bool:
    """The layer's metadata holds ``written_by`` = ``written by motcua COMMAND``."""
    import pyogrio

    try:
        meta = pyogrio.read_info(path, layer=layer).get("layer_metadata") or {}
    except Exception:  # noqa: BLE001
        return False
    return bool(meta.get("written_by") == written_by_tag(command))


# --- unguarded (motcua's own folders) ----------------------------------------------------


@contextmanager
def atomic_folder(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``target`` that replaces it when the block succeeds.

    Unguarded: whatever ``target`` holds is replaced. Use only for folders that
    belong to motcua (the shipped demo scenario); user outputs go through
    :func:`output_folder`. Readers see the old or the new folder, never a
    half-written one; the new folder gets the user's umask; on error ``target``
    is left exactly as it was.
    """
    final = Path(target).resolve()
    final.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(final)
    tmp = _new_name(final, "tmp")
    os.mkdir(tmp)
    try:
        yield tmp
        old = _swap_in(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
