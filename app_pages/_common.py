"""Helpers shared by the app's pages: language, workspace, current scenario, maps, solves.

Only display glue lives here; every computation is a call into ``geodata`` or
``motcua``. Functions take their data as arguments or read ``st.session_state``.
"""

from __future__ import annotations

import logging
import math
import os
import re
import string
import threading
import time
import tomllib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from geodata._errors import ScenarioError, ScenarioWarning
from geodata._numbers import NumberFormat, NumberProblem, parse_number
from geodata.scenario import Scenario, load_scenario
from geodata.settings import SITE_KINDS
from motcua.app import maps
from motcua.app.i18n import (
    DEFAULT_LANG,
    TEXTS,
    fmt_datetime,
    fmt_figure,
    fmt_num,
    fmt_pct,
    fmt_seconds,
    fmt_value,
    normalise_lang,
    t,
)
from motcua.app.workspace import RunInfo, Workspace, WorkspaceError, is_id
from motcua.errors import INPUT_ERRORS
from motcua.progress import Progress
from optimizer._status import SolverReport

logger = logging.getLogger("motcua.app")

APP_DIR = Path(__file__).resolve().parents[1]
#: Scenario opened when the URL names none (``motcua demo --scenario`` sets the variable).
DEFAULT_SCENARIO = os.environ.get("MOTCUA_DEFAULT_SCENARIO", "demo")


# --- language ------------------------------------------------------------------------
def lang() -> str:
    return normalise_lang(st.session_state.get("lang", DEFAULT_LANG))


def tr(key: str, **fields: object) -> str:
    """Text ``key`` in the current language."""
    return t(key, lang(), **fields)


def kind_labels() -> dict[str, str]:
    """Each site kind (``branch``, ``reception``, ``candidate``) in the current language."""
    return {k: tr(f"kind_{k}") for k in SITE_KINDS}


# --- session start -------------------------------------------------------------------
def init_session() -> None:
    """Read language and scenario from the URL once per session, then keep the URL in sync."""
    qp = st.query_params
    if "lang" not in st.session_state:
        st.session_state["lang"] = normalise_lang(
            qp.get("lang") or os.environ.get("MOTCUA_DEFAULT_LANG"))
    if "scenario_ref" not in st.session_state:
        st.session_state["scenario_ref"] = qp.get("scenario") or DEFAULT_SCENARIO


def sync_query_params() -> None:
    """Mirror language and scenario into the URL so a refresh or a shared link keeps them."""
    qp = st.query_params
    want = {"lang": lang() if lang() != DEFAULT_LANG else None,
            "scenario": st.session_state.get("scenario_ref")
            if st.session_state.get("scenario_ref") != DEFAULT_SCENARIO else None}
    for k, v in want.items():
        if v is None:
            if k in qp:
                del qp[k]
        elif qp.get(k) != v:
            qp[k] = v


# --- workspace and scenarios ----------------------------------------------------------
def workspace() -> Workspace:
    return Workspace.default()


def scenario_title(ws: Workspace, ref: str) -> str:
    """The ``name`` in a scenario's toml (cheap: no data files read), else the reference."""
    try:
        data = tomllib.loads((ws.scenario_folder(ref) / "scenario.toml").read_text(encoding="utf-8"))
        name = str(data.get("name") or ref)
    except (OSError, ValueError, WorkspaceError):
        name = ref
    return name if not ref.startswith("ws:") else f"{name} ({ref[3:]})"


@st.cache_resource(max_entries=8, show_spinner=False)
def _load_cached(folder: str, stamp: float) -> Scenario:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        return load_scenario(folder)


def validate_folder(folder: Path) -> Scenario:
    """Load a folder uncached (uploads); raises :class:`ScenarioError` listing every problem."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        return load_scenario(folder)


def _folder_stamp(folder: Path) -> float:
    return max((p.stat().st_mtime for p in folder.iterdir() if p.is_file()), default=0.0)


def load_ref(ws: Workspace, ref: str) -> Scenario:
    """Load a scenario reference (cached, reloaded when its files change)."""
    folder = ws.scenario_folder(ref)
    return _load_cached(str(folder), _folder_stamp(folder))


def current_scenario(show_errors: bool = True) -> tuple[str, Scenario] | None:
    """The scenario the user has open, or ``None`` (with an explanation on screen)."""
    ref = st.session_state.get("scenario_ref")
    if not ref:
        if show_errors:
            st.info(tr("no_scenario"))
        return None
    try:
        return ref, load_ref(workspace(), ref)
    except (ScenarioError, WorkspaceError) as exc:
        if show_errors:
            st.error(tr("scenario_load_failed", ref=md_escape(str(ref))))
            show_error_text(str(exc))
        return None


#: Every ASCII punctuation character: CommonMark lets each be backslash-escaped and
#: then shows it as itself, so escaping all of them is the one rule that cannot miss.
_MD_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")


#: WORD JOINER: invisible, zero width; breaks the patterns GFM turns into links by itself.
WJ = "\u2060"
_AUTOLINK = re.compile(r"(?i)(://|\bwww(?=\.)|@)")


def md_escape(text: object) -> str:
    """User text (names, labels, file names, messages quoting them) made to show exactly
    as written wherever Streamlit renders Markdown: headings, captions, alerts,
    ``st.markdown``. Every ASCII punctuation character is backslash-escaped, so no
    link (``[x](url)``, ``<url>``), emphasis, HTML tag or Streamlit directive
    (``:red[...]``, ``:material/x:``, ``$math$``) can form. GitHub-flavoured Markdown
    also links bare ``http://x``, ``www.x`` and ``a@b.c`` whatever the escapes, so an
    invisible word joiner (:data:`WJ`) goes inside ``://``, after ``www`` and after
    ``@``. Line breaks become spaces (pass lines one by one to keep them)."""
    plain = " ".join(str(text).splitlines())
    plain = _AUTOLINK.sub(lambda m: ":" + WJ + "//" if m.group(0) == "://" else m.group(0) + WJ,
                          plain)
    return _MD_SPECIAL.sub(r"\\\1", plain)


def plain_path(text: str) -> str:
    """A file path shown without the server's folders (just the file name)."""
    return Path(text).name if Path(text).is_absolute() else text


def show_error_text(text: str) -> None:
    """``st.error`` with a message shown exactly as written (line breaks kept)."""
    st.error("  \n".join(md_escape(line) for line in text.splitlines()))


def synthetic_banner(synthetic: bool) -> None:
    if synthetic:
        st.warning(tr("synthetic_badge"), icon=":material/warning:")


# --- maps ----------------------------------------------------------------------------
def leaflet_base() -> str | None:
    """Vendored Leaflet when static serving is on, else folium's CDN."""
    served = bool(st.get_option("server.enableStaticServing"))
    return maps.STATIC_LEAFLET if served and (APP_DIR / "static/leaflet/leaflet.js").is_file() else None


@st.cache_resource(max_entries=4, show_spinner=False)
def _communes(path: str, stamp: float) -> Any:
    import geopandas as gpd

    return gpd.read_file(path).to_crs(4326)


def outline_of(scenario: Scenario | None, demand: Any = None) -> Any:
    """Boundaries for a map: the scenario's ``communes`` file when it has one (read once),
    else the convex hull of the demand shown."""
    communes = None
    path = scenario.communes_path if scenario is not None else None
    if path is not None and path.is_file():
        try:
            communes = _communes(str(path), path.stat().st_mtime)
        except Exception as exc:  # noqa: BLE001 - a broken outline must not hide the map
            logger.info("communes %s not drawn: %s", path.name, exc)
    if demand is None and scenario is not None:
        demand = scenario.demand
    return maps.outline(communes, demand)


def with_tip_numbers(frame: Any, decimals: dict[str, int]) -> Any:
    """``frame`` with a ``<column>_text`` beside each column of ``decimals``: the value as
    the page's language writes it (``1.234``, ``9,7``), for map tooltips, which would
    otherwise show the raw float (``9.662397267314907``)."""
    lg = lang()
    return frame.assign(**{f"{col}_text": [fmt_num(v, d, lg) for v in frame[col]]
                           for col, d in decimals.items() if col in frame})


def sites_in_draw_order(sites: Any) -> Any:
    """Candidates first, then reception points, then branches: the canvas draws in order,
    so what exists stays on top of what could be built."""
    order = {"candidate": 0, "reception": 1, "branch": 2}
    return sites.iloc[sites["kind"].map(order).fillna(1).argsort(kind="stable")]


def legend_title() -> str:
    return tr("legend_toggle")


def map_label(synthetic: bool) -> str | None:
    return "SYNTHETIC" if synthetic else None


def show_map(m: Any, key: str, height: int = 460, returned: Sequence[str] = ()) -> dict[str, Any]:
    """Render a folium map. By default no values are sent back, so panning does not rerun
    the page; ``returned`` names what st_folium should send back (e.g. the clicked shape,
    ``"last_active_drawing"``), and only those reruns the page."""
    from streamlit_folium import st_folium

    out = st_folium(m, height=height, use_container_width=True, returned_objects=list(returned),
                    key=key)
    return out if isinstance(out, dict) else {}


def localise_widgets() -> None:
    """Streamlit's own texts that no parameter sets (file uploader's "Drag and drop
    file here", "Limit 200MB per file", "Browse files"): hidden with CSS and written in
    the page's language instead. Fixed texts only, never user text."""
    mb = int(st.get_option("server.maxUploadSize"))
    drop = tr("upload_help", mb=mb).replace('"', "")
    browse = "Chọn tệp" if lang() != "en" else "Browse files"
    st.html(
        "<style>"
        "[data-testid='stFileUploaderDropzoneInstructions'] > div > span,"
        "[data-testid='stFileUploaderDropzoneInstructions'] > div > small{display:none}"
        f"[data-testid='stFileUploaderDropzoneInstructions'] > div::after{{content:\"{drop}\";"
        "font-size:0.9rem}"
        "section[data-testid='stFileUploaderDropzone'] button p{display:none}"
        "section[data-testid='stFileUploaderDropzone'] button "
        f"[data-testid='stMarkdownContainer']::after{{content:\"{browse}\"}}"
        "[data-testid='stMetricValue'] > div{overflow:visible;text-overflow:clip}"
        # "Press Enter to apply" under a box being typed in
        "[data-testid='InputInstructions'] > span{display:none}"
        f"[data-testid='InputInstructions']::after{{content:\"{tr('press_enter')}\"}}"
        "</style>")


#: How a Vietnamese reader writes a number: decimal comma, thousands dot (``7,5``, ``1.000``).
VI_NUMBERS = NumberFormat(decimal=",", thousands=".")


def number_field(where: Any, label: str, *, value: float, min_value: float,
                 max_value: float | None = None, step: float, decimals: int, key: str,
                 bad: list[str], help: str | None = None) -> float:
    """A number input written the way of the page's language.

    ``st.number_input`` formats with a decimal point whatever the language, so in
    Vietnamese the number is a text box showing ``7,5`` / ``1.000`` and read with the
    project's number parser (decimal comma, thousands dot); a text that is not such a
    number, or out of range, is named under the box, its label appended to ``bad`` (the
    form refuses to run) and ``value`` returned. In English, ``st.number_input``."""
    lg = lang()
    if lg == "en":
        return float(where.number_input(label, min_value=min_value, max_value=max_value,
                                        value=value, step=step, key=key,
                                        format=f"%.{decimals}f", help=help))
    text = where.text_input(label, value=fmt_num(value, decimals, lg), key=f"{key}_vi",
                            help=help)
    try:
        x = parse_number(text.strip(), VI_NUMBERS) if text.strip() else math.nan
    except NumberProblem:
        x = math.nan
    if not math.isfinite(x):
        where.error(tr("bad_number", value=md_escape(text), example=fmt_num(1234.5, 1, lg)))
    elif x < min_value or (max_value is not None and x > max_value):
        where.error(tr("number_out_of_range", value=md_escape(text),
                       low=fmt_num(min_value, decimals, lg),
                       high=fmt_num(max_value, decimals, lg) if max_value is not None else "…"))
    else:
        return x
    bad.append(label)
    return value


def basemap_caption(on: bool) -> None:
    st.caption(tr("basemap_on") if on else tr("basemap_off"))


# --- solver reports ---------------------------------------------------------------------
def status_text(status: str) -> str:
    key = f"status_{status}"
    try:
        return tr(key)
    except KeyError:
        return status


def show_report(report: SolverReport, compact: bool = False, elapsed: float | None = None
                ) -> None:
    """Status, objective, bound, gap and time, next to every result.

    A FEASIBLE result is never shown as optimal: it gets a warning with its gap.
    ``compact`` gives one line (for the side-by-side columns of Compare). ``elapsed``:
    seconds from the click on Run to the saved result (the time the user waited; the
    solver's own time goes in the help), when the run recorded it.
    """
    status = report.status.value
    gap_text = fmt_pct(report.gap, 2, lang()) if math.isfinite(report.gap) else "–"
    if compact:
        line = (f"{tr('status')}: **{md_escape(status_text(status))}** · {tr('objective')}: "
                f"{fmt_value(report.objective, 2, lang())} · {tr('bound')}: "
                f"{fmt_value(report.best_bound, 2, lang())} · {tr('gap')}: {gap_text}")
        if status == "FEASIBLE":
            st.warning(line + "  \n" + tr("feasible_warning", gap=gap_text))
        elif status == "OPTIMAL":
            st.markdown(line)
        else:
            st.error(line)
        return
    cols = st.columns(5)
    cols[0].metric(tr("status"), status_text(status))
    # a province's objective runs into millions: short on the card, exact in its help
    for col, key, value in ((cols[1], "objective", report.objective),
                            (cols[2], "bound", report.best_bound)):
        col.metric(tr(key), fmt_figure(value, lang()),
                   help=fmt_num(value, 2, lang()) if value is not None and abs(value) >= 1000
                   else None)
    cols[3].metric(tr("gap"), gap_text)
    solver = fmt_seconds(report.wall_time_s, lang())
    if elapsed is not None and math.isfinite(float(elapsed)):
        cols[4].metric(tr("elapsed"), fmt_seconds(float(elapsed), lang()),
                       help=tr("elapsed_help", solver=solver))
    else:
        cols[4].metric(tr("wall_time"), solver)
    if status == "FEASIBLE":
        st.warning(tr("feasible_warning", gap=gap_text))
    elif status not in ("OPTIMAL",):
        st.error(md_escape(status_text(status)) + (f": {md_escape(report.message)}"
                                                   if report.message else ""))


# --- long solves -----------------------------------------------------------------------
@dataclass
class Job:
    """A solve running in a background thread; the page polls it."""

    kind: str
    time_limit_s: float
    stop: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)
    progress: Progress | None = None
    run_id: str | None = None
    error: str | None = None
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def tell(self, progress: Progress) -> None:
        """The service's ``progress`` callback: the step the page shows next."""
        self.progress = progress


def start_job(kind: str, time_limit_s: float, work: Callable[[Job], RunInfo]) -> Job:
    """Run ``work(job)`` in a thread. It must not call Streamlit; it returns the saved run."""
    job = Job(kind=kind, time_limit_s=time_limit_s)

    def target() -> None:
        try:
            job.run_id = work(job).run_id
        except Exception as exc:  # noqa: BLE001 - shown on the page, never as a traceback
            logger.exception("%s solve failed", kind)
            # input the user can fix is said plainly; anything else is a bug: named by its type
            job.error = str(exc) if isinstance(exc, INPUT_ERRORS) else f"{type(exc).__name__}: {exc}"

    job.thread = threading.Thread(target=target, name=f"motcua-{kind}", daemon=True)
    job.thread.start()
    st.session_state[f"job_{kind}"] = job
    return job


def follow_job(kind: str) -> Job | None:
    """If a solve of ``kind`` is running, show progress and a Stop button until it ends.

    The step the run reports (``job.progress``, set by the service's ``progress``
    callback) is shown in the page's language: text ``stage_<step>``; a step with
    no text shows the elapsed time only.

    A click anywhere reruns the page; the solve keeps running in its thread and
    this loop picks it up again. The Stop button sets the solver's stop event.
    Returns the finished job once (then forgets it), else ``None``.
    """
    job: Job | None = st.session_state.get(f"job_{kind}")
    if job is None:
        return None
    if job.running:
        # in a placeholder, so the button goes away with the progress bar when the solve ends
        stop_slot = st.empty()
        stop_slot.button(tr("stop"), key=f"stop_{kind}", on_click=job.stop.set, type="secondary")
        bar = st.progress(0.0, text=tr("solving", elapsed=0))
        while job.running:
            elapsed = time.monotonic() - job.started
            frac = min(0.99, elapsed / max(job.time_limit_s, 0.1))
            p = job.progress
            if job.stop.is_set():
                text = tr("stopping")
            elif p is not None and p.objective is not None:
                text = tr("solving_detail", elapsed=fmt_num(elapsed, 0, lang()),
                          objective=fmt_num(p.objective, 1, lang()),
                          bound=fmt_num(p.bound, 1, lang()))
            elif p is not None and f"stage_{p.step}" in TEXTS:
                text = tr("solving_stage", elapsed=fmt_num(elapsed, 0, lang()),
                          stage=tr(f"stage_{p.step}"))
            else:
                text = tr("solving", elapsed=fmt_num(elapsed, 0, lang()))
            bar.progress(frac, text=text)
            time.sleep(0.2)
        bar.empty()
        stop_slot.empty()
    del st.session_state[f"job_{kind}"]
    return job


# --- saved results ---------------------------------------------------------------------
def saved_runs_section(ws: Workspace, kind: str, show: Callable[[RunInfo], None],
                       divider: bool = True, title: Callable[[RunInfo, str], str] | None = None
                       ) -> None:
    """The "saved results" part of a solver page: pick one of the ``kind`` runs
    (the one just finished first) and ``show`` it, or say there are none yet."""
    runs = ws.list_runs(kind)
    if divider:
        st.divider()
    st.subheader(tr("saved_results"))
    if not runs:
        st.info(tr("no_results"))
        return
    show(pick_run(runs, f"{kind}_pick", fresh=st.session_state.pop(f"{kind}_fresh", None),
                  title=title))


def pick_run(runs: list[RunInfo], key: str, fresh: str | None = None,
             label: str | None = None, param: str = "run",
             title: Callable[[RunInfo, str], str] | None = None) -> RunInfo:
    """A select box over saved runs that follows the URL (``?run=ID``) and fresh solves.

    The URL parameter is read when the page opens and then mirrors the choice, so
    the address bar is always a link to what is on screen.
    """
    by_id = {r.run_id: r for r in runs}
    ids = list(by_id)
    wanted = st.query_params.get(param)
    if not is_id(wanted):  # a run id from a link: checked as a whole before it is used
        wanted = None
    if fresh in by_id:
        st.session_state[key] = fresh
    elif key not in st.session_state and wanted in by_id:
        st.session_state[key] = wanted
    elif st.session_state.get(key) not in by_id:
        st.session_state[key] = ids[0]
    lg = lang()
    name = title or run_title
    pick = st.selectbox(label or tr("saved_results"), ids, key=key,
                        format_func=lambda i: name(by_id[i], lg), placeholder=tr("choose_option"))
    if st.query_params.get(param) != pick:
        st.query_params[param] = pick
    return by_id[pick]


def run_title(info: RunInfo, lg: str) -> str:
    """A saved run in a picker: its name, scenario, status and time (no bare id)."""
    status = t(f"status_{info.status}", lg) if f"status_{info.status}" in TEXTS else info.status
    when = fmt_datetime(info.created, lg) if info.created else info.run_id
    return f"{info.label} · {info.scenario_name} · {status} · {when}"
