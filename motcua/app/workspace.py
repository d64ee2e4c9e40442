"""The workspace: a folder where the app keeps results and uploaded scenarios.

Results survive a browser refresh and can be opened by a link, because each one
is a folder on disk named by its run id::

    workspace/
      runs/<run_id>/meta.json      what, when, on which scenario, with which settings
      runs/<run_id>/result/        the run's own ``save(dir)`` output
      scenarios/<scenario_id>/     uploaded scenarios, as validated

The folder is ``$MOTCUA_WORKSPACE`` or ``./workspace``. Run and scenario ids
come from URLs, so they are checked against :data:`ID_PATTERN` (whole-string
match) before any path is built from them; new ids end in a random uuid4, so a
result cannot be opened by guessing its link.

Every save is atomic: written into a hidden temporary folder beside its place,
then renamed, so a failed save leaves nothing half-written. Folders and files
get the modes the user's umask gives (``tempfile`` would leave them 0700/0600).
Uploads are bounded by :class:`UploadLimits` before anything is unpacked.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import re
import shutil
import struct
import uuid
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from geodata._json import dumps

logger = logging.getLogger(__name__)

RunKind = Literal["placement", "staffing"]
RUN_KINDS: tuple[RunKind, ...] = ("placement", "staffing")
#: Ids that are safe as a single folder name and in a URL (always used with ``fullmatch``).
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,79}")
#: Where shipped scenarios live (``scenarios/`` of the repository).
SHIPPED_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
#: Prefix of scenario references that point into the workspace.
UPLOADED_PREFIX = "ws:"


class WorkspaceError(ValueError):
    """A run or scenario id is malformed or does not exist in the workspace."""


def default_root() -> Path:
    """``$MOTCUA_WORKSPACE`` if set, else ``./workspace``."""
    return Path(os.environ.get("MOTCUA_WORKSPACE", "workspace")).resolve()


class UploadError(WorkspaceError):
    """An upload was refused before anything was unpacked (too big, too many files, unsafe)."""


def is_id(value: object) -> bool:
    """Whether ``value`` as a whole is a safe id (letters, digits, '-', '_'; at most 80)."""
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def check_id(value: str, what: str = "run id") -> str:
    """Return ``value`` if it is a safe id, else raise :class:`WorkspaceError`."""
    if not is_id(value):
        msg = f"invalid {what} {value!r}: expected letters, digits, '-' or '_' (at most 80)"
        raise WorkspaceError(msg)
    return value


# --- limits and modes ------------------------------------------------------------------
@dataclass(frozen=True)
class UploadLimits:
    """Bounds on an upload, checked before anything is unpacked.

    max_mb : total size of the uploaded files with every zip counted unpacked
        (``$MOTCUA_MAX_UPLOAD_MB``, default 500 MB: a province's roads, demand and
        years of workload fit several times over).
    max_files : number of files, zip members included (``$MOTCUA_MAX_UPLOAD_FILES``,
        default 2,000).
    """

    max_mb: float = 500.0
    max_files: int = 2000

    @classmethod
    def from_env(cls) -> UploadLimits:
        """The limits set in the environment; a value that is not a positive number
        is ignored with a log line."""
        default = cls()
        mb = _env_number("MOTCUA_MAX_UPLOAD_MB", default.max_mb)
        files = _env_number("MOTCUA_MAX_UPLOAD_FILES", default.max_files)
        return cls(max_mb=mb, max_files=int(files))

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 1024 * 1024)


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        logger.warning("%s=%r is not a positive number; using %g", name, raw, default)
        return default
    return value


def _read_umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no other thread runs yet when this module is imported
    os.umask(mask)
    return mask


#: The user's umask, read once at import (reading it by setting it is not thread-safe).
UMASK = _read_umask()


def apply_umask(root: Path) -> None:
    """Give ``root`` and everything under it the modes a plain ``mkdir``/``open``
    would have: folders ``0o777 & ~umask``, files ``0o666 & ~umask``
    (``tempfile.mkdtemp``/``mkstemp`` create 0700/0600 whatever the umask)."""
    dir_mode, file_mode = 0o777 & ~UMASK, 0o666 & ~UMASK
    os.chmod(root, dir_mode)
    for base, dirs, names in os.walk(root):
        for d in dirs:
            p = os.path.join(base, d)
            if not os.path.islink(p):
                os.chmod(p, dir_mode)
        for n in names:
            p = os.path.join(base, n)
            if not os.path.islink(p):
                os.chmod(p, file_mode)


# --- uploads -----------------------------------------------------------------------------
_CHUNK = 1 << 20


def _member_problem(name: str) -> str | None:
    """Why a zip member name is unsafe to unpack, or ``None``."""
    if "\\" in name or "\x00" in name:
        return "a backslash or NUL in the path"
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (parts and re.fullmatch(r"[A-Za-z]:", parts[0])):
        return "an absolute path"
    if ".." in parts:
        return "'..' in the path"
    return None


def extract_upload(files: Sequence[tuple[str, bytes]], dest: Path,
                   limits: UploadLimits | None = None) -> Path:
    """Write uploaded files into the empty folder ``dest`` (zips are unpacked) and
    return the scenario folder in it (the shallowest one holding ``scenario.toml``).

    Before anything is written, the number of files (zip members counted) and their
    total unpacked size are checked against ``limits`` (:meth:`UploadLimits.from_env`
    by default) and every zip member's path must stay inside ``dest``. While
    unpacking, each member is stopped at the size its zip declares, so a zip that
    lies about its sizes cannot write more. Raises :class:`UploadError`.
    """
    limits = limits or UploadLimits.from_env()
    count = 0
    total = 0
    plan: list[tuple[str, bytes, list[zipfile.ZipInfo] | None]] = []
    for raw_name, data in files:
        name = Path(str(raw_name).replace("\\", "/")).name
        if name in ("", ".", ".."):
            msg = f"{raw_name!r}: not a file name"
            raise UploadError(msg)
        if not name.lower().endswith(".zip"):
            count += 1
            total += len(data)
            plan.append((name, data, None))
            continue
        declared = _declared_members(data)
        if declared is not None and count + declared > limits.max_files:
            # refused from the zip's end record, before its directory is parsed
            msg = (f"{name}: the upload holds {count + declared:,} files or more; at most "
                   f"{limits.max_files:,} are accepted (MOTCUA_MAX_UPLOAD_FILES)")
            raise UploadError(msg)
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                infos = zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
            msg = f"{name}: not a valid zip file ({exc})"
            raise UploadError(msg) from None
        members = [i for i in infos if not i.is_dir()]
        count += len(members)
        if count > limits.max_files:
            msg = (f"{name}: the upload holds {count:,} files or more; at most "
                   f"{limits.max_files:,} are accepted (MOTCUA_MAX_UPLOAD_FILES)")
            raise UploadError(msg)
        for info in infos:
            why = _member_problem(info.filename)
            if why:
                msg = (f"{name}: unsafe path {info.filename!r} in the zip ({why}); "
                       "expected paths inside the scenario folder")
                raise UploadError(msg)
        total += sum(i.file_size for i in members)
        plan.append((name, data, members))
    if count > limits.max_files:
        msg = (f"the upload holds {count:,} files; at most {limits.max_files:,} are accepted "
               "(MOTCUA_MAX_UPLOAD_FILES)")
        raise UploadError(msg)
    if total > limits.max_bytes:
        msg = (f"the upload unpacks to {total / 2**20:,.1f} MB; at most {limits.max_mb:g} MB "
               "are accepted (MOTCUA_MAX_UPLOAD_MB)")
        raise UploadError(msg)

    root = dest.resolve()
    for name, data, members in plan:
        if members is None:
            (dest / name).write_bytes(data)
            continue
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in members:
                target = (dest / info.filename).resolve()
                if not target.is_relative_to(root) or target == root:
                    msg = f"{name}: unsafe path {info.filename!r} in the zip"
                    raise UploadError(msg)
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    _copy_member(zf, info, target)
                except (zipfile.BadZipFile, OSError, EOFError, ValueError,
                        NotImplementedError, RuntimeError) as exc:
                    if isinstance(exc, OSError) and exc.errno is not None:
                        raise  # the disk, not the zip
                    msg = f"{name}: member {info.filename!r} cannot be unpacked ({exc})"
                    raise UploadError(msg) from None
    tomls = sorted((p for p in dest.rglob("scenario.toml") if "__MACOSX" not in p.parts),
                   key=lambda p: (len(p.parts), str(p)))
    return tomls[0].parent if tomls else dest


def _declared_members(data: bytes) -> int | None:
    """Entries a zip's end-of-central-directory record declares (folders included), or
    ``None`` when it cannot be read cheaply (zip64, damaged: ``zipfile`` decides)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65535))
    if end < 0 or end + 22 > len(data):
        return None
    total = int(struct.unpack_from("<H", data, end + 10)[0])
    return None if total == 0xFFFF else total


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Stream one member to ``target``, never writing more than it declares."""
    left = info.file_size
    with zf.open(info) as src, open(target, "wb") as out:
        while True:
            chunk = src.read(min(_CHUNK, left + 1))
            if not chunk:
                break
            left -= len(chunk)
            if left < 0:
                msg = "it unpacks to more than its declared size"
                raise ValueError(msg)
            out.write(chunk)


def _slug(text: str) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    plain = plain.encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", plain).strip("-").lower()
    return slug[:40] or "x"


def _json_default(value: object) -> object:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "value"):  # enums
        return value.value
    return str(value)


@dataclass(frozen=True)
class RunInfo:
    """What the workspace knows about one saved run (the contents of ``meta.json``)."""

    run_id: str
    kind: RunKind
    label: str
    created: str
    scenario_ref: str
    scenario_name: str
    path: Path
    synthetic: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def result_dir(self) -> Path:
        return self.path / "result"

    @property
    def status(self) -> str:
        return str(self.report.get("status", "UNKNOWN"))


@dataclass(frozen=True)
class Workspace:
    """A workspace folder. Creating the object touches nothing on disk."""

    root: Path

    @classmethod
    def default(cls) -> Workspace:
        return cls(default_root())

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def scenarios_dir(self) -> Path:
        return self.root / "scenarios"

    # --- runs -----------------------------------------------------------------------
    def new_run_id(self, kind: RunKind) -> str:
        """A fresh id such as ``placement-20261121-140512-<32 hex digits of a uuid4>``:
        readable, and unguessable, since a result opens by its link alone."""
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        return f"{kind}-{stamp}-{uuid.uuid4().hex}"

    def save_run(
        self,
        kind: RunKind,
        save: Callable[[Path], object],
        *,
        label: str,
        scenario_ref: str,
        scenario_name: str,
        synthetic: bool = False,
        params: Mapping[str, Any] | None = None,
        figures: Mapping[str, Any] | None = None,
        report: Mapping[str, Any] | None = None,
        run_id: str | None = None,
    ) -> RunInfo:
        """Save a run atomically and return its :class:`RunInfo`.

        Parameters
        ----------
        kind : ``"placement"`` or ``"staffing"``.
        save : writes the result into the folder it is given (``run.save``).
        label : name the user gave the run.
        scenario_ref, scenario_name : the scenario it was computed on.
        synthetic : whether that scenario is synthetic (shown on every view).
        params, figures, report : JSON-able settings, key figures and solver report.
        run_id : id to use; a fresh one by default.
        """
        if kind not in RUN_KINDS:
            msg = f"unknown run kind {kind!r}; expected one of {RUN_KINDS}"
            raise WorkspaceError(msg)
        run_id = check_id(run_id or self.new_run_id(kind))
        final = self.runs_dir / run_id
        if final.exists():
            msg = f"run {run_id!r} already exists in the workspace"
            raise WorkspaceError(msg)
        tmp = self.runs_dir / f".tmp-{run_id}"
        if tmp.exists():
            shutil.rmtree(tmp)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        try:
            save(tmp / "result")
            meta = {
                "run_id": run_id,
                "kind": kind,
                "label": label or run_id,
                "created": dt.datetime.now().isoformat(timespec="seconds"),
                "scenario_ref": scenario_ref,
                "scenario_name": scenario_name,
                "synthetic": synthetic,
                "params": dict(params or {}),
                "figures": dict(figures or {}),
                "report": dict(report or {}),
            }
            (tmp / "meta.json").write_text(
                dumps(meta, indent=1, default=_json_default),
                encoding="utf-8",
            )
            apply_umask(tmp)
            tmp.rename(final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        logger.info("saved %s run %s in %s", kind, run_id, final)
        return self.run_info(run_id)

    def run_info(self, run_id: str) -> RunInfo:
        """Read ``meta.json`` of ``run_id``; :class:`WorkspaceError` if it is not there."""
        path = self.runs_dir / check_id(run_id)
        meta_path = path / "meta.json"
        if not meta_path.is_file():
            msg = f"no saved result {run_id!r} in the workspace"
            raise WorkspaceError(msg)
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        return RunInfo(
            run_id=meta["run_id"],
            kind=meta["kind"],
            label=meta.get("label", run_id),
            created=meta.get("created", ""),
            scenario_ref=meta.get("scenario_ref", ""),
            scenario_name=meta.get("scenario_name", ""),
            path=path,
            synthetic=bool(meta.get("synthetic", False)),
            params=meta.get("params", {}),
            figures=meta.get("figures", {}),
            report=meta.get("report", {}),
        )

    def list_runs(self, kind: RunKind | None = None) -> list[RunInfo]:
        """Saved runs, newest first; unreadable folders are skipped with a log line."""
        if not self.runs_dir.is_dir():
            return []
        infos = []
        for path in self.runs_dir.iterdir():
            if path.name.startswith(".") or not is_id(path.name):
                continue
            try:
                info = self.run_info(path.name)
            except (WorkspaceError, ValueError, KeyError) as exc:
                logger.warning("skipping unreadable run folder %s: %s", path, exc)
                continue
            if kind is None or info.kind == kind:
                infos.append(info)
        return sorted(infos, key=lambda i: (i.created, i.run_id), reverse=True)

    def delete_run(self, run_id: str) -> None:
        shutil.rmtree(self.runs_dir / check_id(run_id))

    # --- scenarios ------------------------------------------------------------------
    def add_scenario(self, folder: Path, name: str) -> str:
        """Copy a validated scenario folder into the workspace; return its reference.

        Only ``scenario.toml`` and the files it names are copied (whatever else lay
        beside them stays out), into a temporary folder renamed into place at the
        end: a failed copy leaves nothing behind.
        """
        from geodata.scenario import scenario_files

        wanted = scenario_files(folder)
        scenario_id = check_id(f"{_slug(name)}-{uuid.uuid4().hex}", "scenario id")
        self.scenarios_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.scenarios_dir / f".tmp-{scenario_id}"
        try:
            tmp.mkdir()
            for rel in wanted:
                target = tmp / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(folder) / rel, target)
            apply_umask(tmp)
            tmp.rename(self.scenarios_dir / scenario_id)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        logger.info("added scenario %r as %s", name, scenario_id)
        return UPLOADED_PREFIX + scenario_id

    def add_upload(self, files: Sequence[tuple[str, bytes]],
                   limits: UploadLimits | None = None) -> tuple[str, str]:
        """Check, unpack and validate uploaded files; keep the scenario if it is valid.

        ``files`` are ``(file name, content)`` pairs: a zip of a scenario folder or
        the folder's files. Returns the new scenario reference and the scenario's
        name. Raises :class:`UploadError` (too big, too many files, unsafe
        paths) or :class:`~geodata._errors.ScenarioError` (every problem named);
        either way nothing is written into the workspace.
        """
        import tempfile
        import warnings

        from geodata._errors import ScenarioWarning
        from geodata.scenario import load_scenario

        with tempfile.TemporaryDirectory(prefix="motcua-upload-") as tmp:
            folder = extract_upload(files, Path(tmp), limits)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ScenarioWarning)
                scenario = load_scenario(folder)
            ref = self.add_scenario(folder, scenario.name)
        return ref, scenario.name

    def scenario_folder(self, ref: str) -> Path:
        """Folder of a scenario reference: ``demo`` (shipped) or ``ws:<id>`` (uploaded)."""
        if ref.startswith(UPLOADED_PREFIX):
            folder = self.scenarios_dir / check_id(ref[len(UPLOADED_PREFIX):], "scenario id")
        else:
            folder = SHIPPED_SCENARIOS / check_id(ref, "scenario name")
        if not (folder / "scenario.toml").is_file():
            where = "in the workspace" if ref.startswith(UPLOADED_PREFIX) else "among the shipped scenarios"
            msg = f"no scenario {ref!r} {where}"  # no server path: the app shows this
            raise WorkspaceError(msg)
        return folder

    def list_scenarios(self) -> list[str]:
        """References of the shipped scenarios, then the uploaded ones (newest first)."""
        refs = []
        if SHIPPED_SCENARIOS.is_dir():
            refs += sorted(
                p.name for p in SHIPPED_SCENARIOS.iterdir()
                if (p / "scenario.toml").is_file() and is_id(p.name)
            )
        if self.scenarios_dir.is_dir():
            refs += [
                UPLOADED_PREFIX + p.name
                for p in sorted(self.scenarios_dir.iterdir(), reverse=True)
                if (p / "scenario.toml").is_file() and is_id(p.name)
            ]
        return refs
