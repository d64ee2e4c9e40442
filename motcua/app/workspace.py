"""The workspace: a folder where the app keeps results and uploaded scenarios.

Results survive a browser refresh and can be opened by a link, because each one
is a folder on disk named by its run id::

    workspace/
      runs/<run_id>/meta.json      what, when, on which scenario, with which settings
      runs/<run_id>/result/        the run's own ``save(dir)`` output
      scenarios/<scenario_id>/     uploaded scenarios, as validated

The folder is ``$MOTCUA_WORKSPACE`` or ``./workspace``. Run and scenario ids
come from URLs, so they are checked against :data:`ID_PATTERN` before any path
is built from them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

logger = logging.getLogger(__name__)

RunKind = Literal["placement", "staffing"]
RUN_KINDS: tuple[RunKind, ...] = ("placement", "staffing")
#: Ids that are safe as a single folder name and in a URL.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")
#: Where shipped scenarios live (``scenarios/`` of the repository).
SHIPPED_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
#: Prefix of scenario references that point into the workspace.
UPLOADED_PREFIX = "ws:"


class WorkspaceError(ValueError):
    """A run or scenario id is malformed or does not exist in the workspace."""


def default_root() -> Path:
    """``$MOTCUA_WORKSPACE`` if set, else ``./workspace``."""
    return Path(os.environ.get("MOTCUA_WORKSPACE", "workspace")).resolve()


def check_id(value: str, what: str = "run id") -> str:
    """Return ``value`` if it is a safe id, else raise :class:`WorkspaceError`."""
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        msg = f"invalid {what} {value!r}: expected letters, digits, '-' or '_' (at most 80)"
        raise WorkspaceError(msg)
    return value


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
        """A fresh id such as ``placement-20261121-140512-3fa2`` (sortable by time)."""
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        return f"{kind}-{stamp}-{secrets.token_hex(2)}"

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
            msg = f"run {run_id!r} already exists in {self.runs_dir}"
            raise WorkspaceError(msg)
        tmp = self.runs_dir / f".tmp-{run_id}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
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
                json.dumps(meta, ensure_ascii=False, indent=1, default=_json_default),
                encoding="utf-8",
            )
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
            msg = f"no saved result {run_id!r} in {self.runs_dir}"
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
            if path.name.startswith(".") or not ID_PATTERN.match(path.name):
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
        """Copy a validated scenario folder into the workspace; return its reference."""
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        scenario_id = check_id(f"{_slug(name)}-{stamp}-{secrets.token_hex(2)}", "scenario id")
        self.scenarios_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.scenarios_dir / f".tmp-{scenario_id}"
        shutil.copytree(folder, tmp)
        tmp.rename(self.scenarios_dir / scenario_id)
        return UPLOADED_PREFIX + scenario_id

    def scenario_folder(self, ref: str) -> Path:
        """Folder of a scenario reference: ``demo`` (shipped) or ``ws:<id>`` (uploaded)."""
        if ref.startswith(UPLOADED_PREFIX):
            folder = self.scenarios_dir / check_id(ref[len(UPLOADED_PREFIX):], "scenario id")
        else:
            folder = SHIPPED_SCENARIOS / check_id(ref, "scenario name")
        if not (folder / "scenario.toml").is_file():
            msg = f"no scenario {ref!r} (looked for {folder / 'scenario.toml'})"
            raise WorkspaceError(msg)
        return folder

    def list_scenarios(self) -> list[str]:
        """References of the shipped scenarios, then the uploaded ones (newest first)."""
        refs = []
        if SHIPPED_SCENARIOS.is_dir():
            refs += sorted(
                p.name for p in SHIPPED_SCENARIOS.iterdir()
                if (p / "scenario.toml").is_file() and ID_PATTERN.match(p.name)
            )
        if self.scenarios_dir.is_dir():
            refs += [
                UPLOADED_PREFIX + p.name
                for p in sorted(self.scenarios_dir.iterdir(), reverse=True)
                if (p / "scenario.toml").is_file() and ID_PATTERN.match(p.name)
            ]
        return refs
