"""Weekly staff rebalancing for a scenario: forecast, model, results and exports.

Glue between a :class:`geodata.scenario.Scenario` and the plain-array model in
:mod:`optimizer.staff_allocation`.  The app and ``motcua staff`` call
:func:`run_staffing`; the result, a :class:`StaffingRun`, saves itself as CSV
files, one printable Excel workbook and ``run.json`` (atomically) and loads back.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geodata._atomic import output_file, output_folder
from geodata._errors import Problem, ScenarioError
from geodata._json import dumps, json_safe
from geodata._numbers import NumberFormat, NumberProblem, format_number, parse_number
from geodata.scenario import Scenario, number_format
from geodata.settings import CHANNELS, FIELDS, WEEKDAYS
from motcua._excel import write_workbook
from motcua.progress import ProgressCallback, report_to
from optimizer._status import SolverReport, Stage
from optimizer.errors import InvalidInputError
from optimizer.forecast import Forecast, apply_override, forecast_days, open_days
from optimizer.queueing import required_counters
from optimizer.staff_allocation import (
    StaffAllocation,
    StaffProblem,
    solve_staff_allocation,
)

__all__ = [
    "StaffingMetrics",
    "StaffingOptions",
    "StaffingRun",
    "build_problem",
    "forecast_week",
    "modelled_sites",
    "outside_model_table",
    "parse_week",
    "read_forecast_csv",
    "run_staffing",
    "write_forecast_csv",
]

logger = logging.getLogger(__name__)

#: Tables of a run, saved as ``<name>.csv`` and one Excel sheet each.
TABLES: tuple[str, ...] = (
    "roster", "moves", "site_roster", "site_days_today", "site_days_before", "site_days_after",
    "shortfalls", "forecast", "outside_model",
)
#: Level of the dossiers a site receives: branches take district-level procedures,
#: commune reception points commune-level ones (the workload has no level column).
SITE_LEVEL: dict[str, str] = {"branch": "district", "reception": "commune", "candidate": "commune"}
LEVELS: tuple[str, ...] = ("commune", "district", "province")
#: Columns of the forecast override CSV a director edits.
OVERRIDE_COLUMNS: tuple[str, ...] = ("site_id", "date", "field", "channel", "dossiers")
#: Most dossiers one row of a forecast override may hold (one site, day, field and channel).
MAX_OVERRIDE_DOSSIERS = 100_000


@dataclass(frozen=True)
class StaffingOptions:
    """Modelling choices of a staffing run (defaults documented).

    Attributes
    ----------
    pool_online : online dossiers are processed by qualified staff at any branch,
        pooled across the province (True); False keeps them at their home site.
    max_travel_min : longest one-way trip from home for a temporary move (60 min).
    recent_weeks : weeks of history that set the forecast level (4).
    min_dossiers_for_skill : expected in-person dossiers of a field at a site-day
        from which a qualified person must be at the counter; ``None`` (default)
        means one visitor of that field expected in the peak hour, i.e.
        ``1 / peak_hour_share`` a day (5 with the default 20 % peak share).  Below
        it the odd dossier is received and passed on, not worth a trip.
    pool_outside_online : online dossiers received at sites staffed outside the model
        (reception points with no one in ``staff.csv``, run by commune officials)
        join the province pool (True) or are processed by those officials (False,
        the default: their work, like their in-person load, is not planned here).
        Only used when ``pool_online`` is on.
    pool_levels : levels of procedure whose online dossiers are pooled across the
        province (default district and province); the others (commune) are
        processed at the desk that received them. A dossier's level is that of
        the site that received it (:data:`SITE_LEVEL`: branch -> district,
        reception point -> commune).
    """

    pool_online: bool = True
    max_travel_min: float = 60.0
    recent_weeks: int = 4
    min_dossiers_for_skill: float | None = None
    pool_outside_online: bool = False
    pool_levels: tuple[str, ...] = ("district", "province")

    def __post_init__(self) -> None:
        bad = [lv for lv in self.pool_levels if lv not in LEVELS]
        if bad:
            msg = f"pool_levels: unknown level(s) {', '.join(bad)}; expected some of {LEVELS}"
            raise ValueError(msg)
        if not (math.isfinite(self.max_travel_min) and self.max_travel_min >= 0):
            msg = f"max_travel_min must be a number of minutes >= 0, got {self.max_travel_min!r}"
            raise InvalidInputError(msg)
        if self.min_dossiers_for_skill is not None and not (
                math.isfinite(self.min_dossiers_for_skill) and self.min_dossiers_for_skill >= 0):
            msg = f"min_dossiers_for_skill must be >= 0 or None, got {self.min_dossiers_for_skill!r}"
            raise InvalidInputError(msg)

    def skill_threshold(self, peak_hour_share: float) -> float:
        """Expected in-person dossiers of a field a day from which a qualified person is needed."""
        if self.min_dossiers_for_skill is not None:
            return self.min_dossiers_for_skill
        return 1.0 / peak_hour_share if peak_hour_share > 0 else 1.0

    def online_label(self) -> str:
        """How online dossiers are handled, in words, for the output."""
        if not self.pool_online:
            return "online dossiers processed at the site that received them"
        levels = " and ".join(self.pool_levels) or "no"
        kept = [lv for lv in LEVELS if lv not in self.pool_levels]
        text = (f"online dossiers of {levels}-level procedures processed by qualified staff "
                f"wherever they work that day")
        if kept:
            text += f"; {' and '.join(kept)}-level ones at the desk that received them"
        if self.pool_outside_online:
            text += "; including those received at sites staffed outside the model"
        return text


def parse_week(week: str) -> list[date]:
    """The seven days (Mon..Sun) of ISO week ``YYYY-Www``.

    Raises
    ------
    InvalidInputError
        If ``week`` is not like ``2026-W48`` (a ``ValueError``).
    """
    try:
        year_s, w_s = week.upper().split("-W")
        return [date.fromisocalendar(int(year_s), int(w_s), i) for i in range(1, 8)]
    except ValueError as exc:
        msg = f"week {week!r}: expected an ISO week like 2026-W48 ({exc})"
        raise InvalidInputError(msg) from None


def _week_label(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def read_forecast_csv(path: str | Path, scenario: Scenario, open_dates: tuple[date, ...]) -> pd.DataFrame:
    """Read a director's forecast override CSV and check every cell.

    Parameters
    ----------
    path
        CSV with columns ``site_id, date, field, channel, dossiers`` (UTF-8, BOM allowed).
    scenario
        Gives the known site ids.
    open_dates
        The open days of the week being planned.

    Returns
    -------
    DataFrame
        ``date`` (date), ``site_id, field, channel``, ``dossiers`` (float).

    Raises
    ------
    ScenarioError
        Listing every bad cell with file, row, column, value and what was expected.
    FileNotFoundError
        If the file does not exist.
    """
    path = Path(path)
    label = str(path)
    if not path.is_file():
        msg = f"forecast override file not found: {path}"
        raise FileNotFoundError(msg)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ScenarioError(Problem(file=label, message=f"not a readable CSV: {exc}")) from None
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in OVERRIDE_COLUMNS if c not in raw.columns]
    if missing:
        raise ScenarioError(Problem(
            file=label, message=f"missing column(s) {', '.join(missing)}",
            expected=f"columns {', '.join(OVERRIDE_COLUMNS)}"))
    sites = set(map(str, scenario.sites["id"]))
    fmt = number_format(scenario.settings)
    open_set = set(open_dates)
    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[Any, ...], int] = {}
    for i, r in enumerate(raw.itertuples(index=False), start=2):
        rec = dict(zip(raw.columns, r, strict=True))
        ok = True
        site = str(rec["site_id"]).strip()
        if site not in sites:
            problems.append(Problem(label, "unknown site", i, "site_id", site, "an id in sites"))
            ok = False
        day: date | None = None
        try:
            day = date.fromisoformat(str(rec["date"]).strip())
        except ValueError:
            problems.append(Problem(label, "not a date", i, "date", rec["date"], "YYYY-MM-DD"))
            ok = False
        if day is not None and day not in open_set:
            problems.append(Problem(
                label, "not an open day of the planned week", i, "date", rec["date"],
                f"one of {', '.join(map(str, sorted(open_set)))}"))
            ok = False
        fld = str(rec["field"]).strip()
        if fld not in FIELDS:
            problems.append(Problem(label, "unknown field", i, "field", fld, ", ".join(FIELDS)))
            ok = False
        ch = str(rec["channel"]).strip()
        if ch not in CHANNELS:
            problems.append(Problem(label, "unknown channel", i, "channel", ch, ", ".join(CHANNELS)))
            ok = False
        try:
            n = parse_number(str(rec["dossiers"]).strip(), fmt, quantity=True)
            if not (math.isfinite(n) and 0 <= n <= MAX_OVERRIDE_DOSSIERS):
                raise NumberProblem("bad dossier count", f"a number from 0 to {MAX_OVERRIDE_DOSSIERS}")
        except NumberProblem as exc:
            message, expected = exc.message, exc.expected
            if message == "not a number":
                message, expected = "bad dossier count", f"a number from 0 to {MAX_OVERRIDE_DOSSIERS}"
            problems.append(Problem(label, message, i, "dossiers", rec["dossiers"], expected))
            ok = False
        if ok:
            key = (site, day, fld, ch)
            if key in seen:
                problems.append(Problem(label, f"duplicate of row {seen[key]}", i, "site_id", site,
                                        "one row per site, date, field and channel"))
                continue
            seen[key] = i
            rows.append({"date": day, "site_id": site, "field": fld, "channel": ch, "dossiers": n})
    if problems:
        raise ScenarioError(problems)
    return pd.DataFrame(rows, columns=["date", "site_id", "field", "channel", "dossiers"])


def write_forecast_csv(table: pd.DataFrame, path: str | Path, fmt: NumberFormat | None = None,
                       *, overwrite: bool = False,
                       protect: Iterable[str | Path | None] = ()) -> Path:
    """Write a forecast table in the override format (``site_id, date, field, channel, dossiers``).

    The director edits the file and passes it back as the override.  ``fmt``:
    the scenario's declared number format (see :func:`geodata.scenario.number_format`),
    in which :func:`read_forecast_csv` reads the file back.  Written atomically by
    :func:`geodata._atomic.output_file`: an existing file (which may hold the
    director's edits) is replaced only with ``overwrite``, and never one of ``protect``.
    """
    path = Path(path)
    t = table.loc[:, list(OVERRIDE_COLUMNS)].copy()
    t["date"] = t["date"].map(str)
    # as read back: 12.125 would be ambiguous (12 or 12125?), so it is written 12.1250
    t["dossiers"] = [format_number(float(v), fmt) for v in t["dossiers"]]
    with output_file(path, "staff", overwrite=overwrite, protect=protect) as tmp:
        t.to_csv(tmp, index=False, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- problem


def modelled_sites(scenario: Scenario) -> pd.Series:
    """Which sites the staffing model plans: home of at least one staff member, or a branch.

    Reception points with no one in ``staff.csv`` are run by commune officials
    outside the model; candidates are never staffed; closed branches are left
    out unless someone's home is there.

    Returns
    -------
    Series of bool
        Aligned with ``scenario.sites``.
    """
    sites = scenario.sites
    homes = set(map(str, scenario.staff["home_site"]))
    is_home = sites["id"].astype(str).isin(homes)
    branch = (sites["kind"] == "branch") & (sites["status"] != "closed")
    out: pd.Series = (is_home | branch).rename("modelled")
    return out


def _outside_online_minutes(
    scenario: Scenario, forecast: Forecast, modelled: set[str], days: tuple[date, ...]
) -> np.ndarray:
    """(D, F) online processing minutes received at sites outside the model."""
    st = scenario.settings
    d_index = {d: i for i, d in enumerate(days)}
    f_index = {f: i for i, f in enumerate(FIELDS)}
    out = np.zeros((len(days), len(FIELDS)))
    t = forecast.table
    for day, sid, fld, ch, n in zip(t["date"], t["site_id"].astype(str), t["field"].astype(str),
                                    t["channel"].astype(str), t["dossiers"].astype(float),
                                    strict=True):
        if ch != "online" or sid in modelled:
            continue
        di, fi = d_index.get(day), f_index.get(fld)
        if di is None or fi is None:
            continue
        out[di, fi] += float(n) * st.processing_minutes.get(fld, 0.0)
    return out


def outside_model_table(
    scenario: Scenario, forecast: Forecast, options: StaffingOptions | None = None
) -> pd.DataFrame:
    """Sites with forecast dossiers but no modelled staff: their load, reported once.

    Parameters
    ----------
    scenario
        The scenario.
    forecast
        Expected dossiers of the planned week.
    options
        Says whether their online work joins the pool.

    Returns
    -------
    DataFrame
        One row per site outside the model with forecast dossiers:
        ``site_id, name, kind, in_person_dossiers, in_person_min, online_dossiers,
        online_min, online_handling`` (week totals; minutes are reception plus
        processing for in-person dossiers, processing for online ones).
    """
    opt = options or StaffingOptions()
    st = scenario.settings
    cols = ["site_id", "name", "kind", "in_person_dossiers", "in_person_min",
            "online_dossiers", "online_min", "online_handling"]
    sites = scenario.sites
    outside = sites.loc[~modelled_sites(scenario)]
    t = forecast.table
    if t.empty or outside.empty:
        return pd.DataFrame(columns=cols)
    t = t[t["site_id"].astype(str).isin(set(map(str, outside["id"])))]
    if t.empty:
        return pd.DataFrame(columns=cols)
    service = t["field"].map(lambda f: st.service_minutes.get(str(f), 0.0))
    processing = t["field"].map(lambda f: st.processing_minutes.get(str(f), 0.0))
    ip = t["channel"] == "in_person"
    t = t.assign(
        ip_n=np.where(ip, t["dossiers"], 0.0),
        ip_min=np.where(ip, t["dossiers"] * (service + processing), 0.0),
        on_n=np.where(ip, 0.0, t["dossiers"]),
        on_min=np.where(ip, 0.0, t["dossiers"] * processing),
    )
    g = t.groupby(t["site_id"].astype(str))[["ip_n", "ip_min", "on_n", "on_min"]].sum()
    info = outside.assign(site_id=outside["id"].astype(str)).set_index("site_id")
    handling = ("pooled" if opt.pool_online and opt.pool_outside_online
                else "processed there (outside the model)")
    out = pd.DataFrame({
        "site_id": g.index,
        "name": info.loc[g.index, "name"].astype(str).to_numpy(),
        "kind": info.loc[g.index, "kind"].astype(str).to_numpy(),
        "in_person_dossiers": g["ip_n"].round(1).to_numpy(),
        "in_person_min": g["ip_min"].round(0).to_numpy(),
        "online_dossiers": g["on_n"].round(1).to_numpy(),
        "online_min": g["on_min"].round(0).to_numpy(),
        "online_handling": handling,
    })
    out = out[(out["in_person_dossiers"] > 0) | (out["online_dossiers"] > 0)]
    return out.sort_values("in_person_min", ascending=False).reset_index(drop=True)


def _travel_matrix(scenario: Scenario, sites: pd.DataFrame) -> tuple[np.ndarray, str]:
    """Site x site one-way minutes and a label of where they came from."""
    s = scenario.settings
    try:
        from geodata.coverage import site_to_site_minutes, straight_line_label
        from geodata.roads import scenario_roads
    except ImportError:  # pragma: no cover - the travel engine is part of geodata
        lon = np.radians(sites.geometry.x.to_numpy())
        lat = np.radians(sites.geometry.y.to_numpy())
        dlat = lat[:, None] - lat[None, :]
        dlon = lon[:, None] - lon[None, :]
        a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
        km = 2 * 6371.0088 * np.arcsin(np.sqrt(a))
        return km * 1.3 / 30.0 * 60.0, "haversine x 1.3 at 30 km/h (travel engine unavailable)"
    # the same checked network as coverage and placement: a broken or misplaced road
    # file is an error here too, and what it misses is said with the travel times
    roads = scenario_roads(scenario)
    graph = roads.prepared
    minutes = site_to_site_minutes(sites, graph, s.travel, s.crs)
    label = (f"road network ({roads.source})" if graph is not None
             else straight_line_label(s.travel))
    label += "".join(f"; warning: {w}" for w in roads.warnings)
    return np.asarray(minutes, dtype=float), label


def build_problem(
    scenario: Scenario,
    forecast: Forecast,
    max_moves: int | None = None,
    options: StaffingOptions | None = None,
    travel_min: np.ndarray | None = None,
) -> tuple[StaffProblem, pd.DataFrame, str]:
    """Turn a scenario and a forecast into the model's arrays.

    Parameters
    ----------
    scenario
        The scenario (staff, sites, settings).
    forecast
        Expected dossiers on the open days of the week.
    max_moves
        Weekly cap on moves (person-days away from home); None = no cap.
    options
        Modelling choices.
    travel_min
        Site x site minutes in the order of the returned sites; computed from
        the travel engine when omitted.

    Returns
    -------
    tuple
        The :class:`StaffProblem`, the sites used (rows in model order) and the
        travel-time source label.
    """
    opt = options or StaffingOptions()
    st = scenario.settings
    days = forecast.open_dates
    sites = scenario.sites.loc[modelled_sites(scenario)].reset_index(drop=True)
    site_ids = tuple(map(str, sites["id"]))
    s_index = {sid: i for i, sid in enumerate(site_ids)}
    n_s, n_d, n_f = len(site_ids), len(days), len(FIELDS)
    d_index = {d: i for i, d in enumerate(days)}
    f_index = {f: i for i, f in enumerate(FIELDS)}

    ip = np.zeros((n_s, n_d, n_f))
    on = np.zeros((n_s, n_d, n_f))
    t = forecast.table
    for day, sid, fld, ch, n in zip(t["date"], t["site_id"].astype(str), t["field"].astype(str),
                                    t["channel"].astype(str), t["dossiers"].astype(float),
                                    strict=True):
        si, di, fi = s_index.get(sid), d_index.get(day), f_index.get(fld)
        if si is None or di is None or fi is None:
            continue
        (ip if ch == "in_person" else on)[si, di, fi] += float(n)
    service = np.array([st.service_minutes.get(f, 0.0) for f in FIELDS])
    processing = np.array([st.processing_minutes.get(f, 0.0) for f in FIELDS])
    reception = (ip * service).sum(axis=2)
    local = reception + (ip * processing).sum(axis=2)
    online_min = on * processing
    pooled_site = np.array([opt.pool_online and SITE_LEVEL.get(str(k), "commune")
                            in opt.pool_levels for k in sites["kind"]], dtype=bool)
    pool_src = online_min * pooled_site[:, None, None]
    local = local + (online_min * ~pooled_site[:, None, None]).sum(axis=2)
    if opt.pool_online and opt.pool_outside_online and n_s:
        # sites outside the model have no row: their pooled minutes are spread over the
        # modelled sites by the people based there (only today's plan sees the spread)
        extra = _outside_online_minutes(scenario, forecast, set(site_ids), days)
        based = np.bincount([s_index[str(h)] for h in scenario.staff["home_site"]],
                            minlength=n_s).astype(float)
        share = based / based.sum() if based.sum() > 0 else np.full(n_s, 1.0 / n_s)
        pool_src = pool_src + share[:, None, None] * extra[None, :, :]
    pool = pool_src.sum(axis=0)
    visitors = ip.sum(axis=2)
    service_mean = np.divide(reception, visitors, out=np.zeros_like(reception), where=visitors > 0)
    arrivals = st.work.peak_hour_share * visitors
    needed = np.zeros((n_s, n_d), dtype=np.int64)
    for s in range(n_s):
        for d in range(n_d):
            needed[s, d] = required_counters(
                float(arrivals[s, d]), float(service_mean[s, d]),
                st.work.target_wait_minutes, st.work.target_service_level)

    staff = scenario.staff.reset_index(drop=True)
    n_p = len(staff)
    home = np.array([s_index[str(h)] for h in staff["home_site"]], dtype=np.int64)
    skills = np.zeros((n_p, n_f), dtype=bool)
    available = np.zeros((n_p, n_d), dtype=bool)
    for p, (sk, leave_list, avail_list) in enumerate(
            zip(staff["skills"], staff["leave_dates"], staff["days_available"], strict=True)):
        for f in sk:
            if f in f_index:
                skills[p, f_index[f]] = True
        leave = {date.fromisoformat(str(x)) for x in leave_list}
        days_ok = {str(x) for x in avail_list}
        for d, day in enumerate(days):
            available[p, d] = WEEKDAYS[day.weekday()] in days_ok and day not in leave
    # pooled online work is processed by qualified staff wherever they work that day
    pool_site = np.ones(n_s, dtype=bool)
    if travel_min is None:
        travel_min, source = _travel_matrix(scenario, sites)
    else:
        source = "given matrix"
    pb = StaffProblem(
        person_ids=tuple(map(str, staff["id"])), site_ids=site_ids,
        days=tuple(map(str, days)), day_names=tuple(WEEKDAYS[d.weekday()] for d in days),
        fields=FIELDS, home=home, skills=skills, available=available,
        max_days=np.asarray(staff["max_days_per_week"], dtype=np.int64),
        movable=staff["movable"].astype(bool).to_numpy(),
        site_open=np.ones((n_s, n_d), dtype=bool), pool_site=pool_site,
        counters=sites["counters"].astype(np.int64).to_numpy(),
        local_min=local, reception_min=reception, pool_min=pool,
        skill_need=ip >= opt.skill_threshold(st.work.peak_hour_share),
        in_person_dossiers=visitors,
        arrivals_peak_per_hour=arrivals, service_min_mean=service_mean, counters_needed=needed,
        travel_min=np.asarray(travel_min, dtype=float), max_travel_min=opt.max_travel_min,
        day_minutes=st.work.hours_per_day * 60.0, max_moves=max_moves, pool_src=pool_src,
        ip_field_min=ip * (service + processing),
    )
    return pb, sites, source


# --------------------------------------------------------------------------- run


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json_safe(df.to_dict(orient="records"))
    return records


@dataclass(frozen=True)
class StaffingMetrics:
    """The headline figures of a staffing run, saved as ``metrics`` in ``run.json``.

    The field names are the keys of that JSON object (:meth:`to_dict` gives it,
    :meth:`from_dict` reads it back).  Three plans: ``today`` (everyone at home,
    each site its own dossiers), ``pooled`` (online work shared, no moves) and
    ``after`` (the planned plan: pooled plus moves); ``before`` repeats the pooled
    plan's figures under the names of runs saved before the three plans.

    Per plan: ``overload_min`` (demand minutes beyond capacity plus unplaced pooled
    minutes), ``peak_utilisation`` (largest demand / capacity of a site-day),
    ``online_unplaced_min`` (pooled minutes no one qualified could take),
    ``counters_short`` (staffed counters short of Erlang C), ``skill_gaps``
    (site-day-fields with in-person demand and no one qualified), ``wait_mean_min``
    and ``wait_max_min`` (expected peak-hour waits), ``queues_unstable``
    (site-days whose queue does not clear).  Then ``moves`` (person-days away from
    home), ``shortfalls`` (rows of the shortfall table) and ``shortfall_minutes``,
    ``sites_outside_model``, ``before_proven`` and ``reproducible`` (1.0 yes, 0.0 no).

    Every value is a float.  Saved files are strict JSON: an infinite value (a
    site-day with demand and no capacity) is saved as ``null`` and read back as
    ``inf``.  A figure missing from a run saved before it existed is ``nan``
    (not recorded; shown as ``n/a``), except ``online_unplaced_min_*`` and
    ``shortfall_minutes`` (0.0: none then) and ``reproducible`` (1.0).
    """

    overload_min_today: float = math.nan
    peak_utilisation_today: float = math.nan
    online_unplaced_min_today: float = 0.0
    counters_short_today: float = math.nan
    skill_gaps_today: float = math.nan
    wait_mean_min_today: float = math.nan
    wait_max_min_today: float = math.nan
    queues_unstable_today: float = math.nan
    overload_min_pooled: float = math.nan
    peak_utilisation_pooled: float = math.nan
    online_unplaced_min_pooled: float = 0.0
    counters_short_pooled: float = math.nan
    skill_gaps_pooled: float = math.nan
    wait_mean_min_pooled: float = math.nan
    wait_max_min_pooled: float = math.nan
    queues_unstable_pooled: float = math.nan
    overload_min_after: float = math.nan
    peak_utilisation_after: float = math.nan
    online_unplaced_min_after: float = 0.0
    counters_short_after: float = math.nan
    skill_gaps_after: float = math.nan
    wait_mean_min_after: float = math.nan
    wait_max_min_after: float = math.nan
    queues_unstable_after: float = math.nan
    peak_utilisation_before: float = math.nan
    overload_min_before: float = math.nan
    online_unplaced_min_before: float = 0.0
    moves: float = math.nan
    shortfalls: float = math.nan
    shortfall_minutes: float = 0.0
    sites_outside_model: float = math.nan
    before_proven: float = math.nan
    reproducible: float = 1.0

    def to_dict(self) -> dict[str, float]:
        """The figures by name, in field order (the ``metrics`` object of ``run.json``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StaffingMetrics:
        """Figures saved by :meth:`to_dict` (any version): ``null`` is ``inf``, missing
        keys take their defaults, unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: math.inf if v is None else float(v)
                      for k, v in data.items() if k in known})


@dataclass(frozen=True)
class StaffingRun:
    """A week's staffing plan for a scenario, with everything needed to reproduce it.

    Attributes
    ----------
    scenario_name, week : what was planned (``week`` like ``2026-W48``).
    report : overall solver report (status, objective, bound, gap, seed, threads).
    stages : per-stage reports (after plan).
    forecast_method : how the forecast was made (and whether overridden).
    travel_source : where travel times came from (road network or straight line).
    tables : ``roster, moves, site_days_before, site_days_after, shortfalls, forecast``.
    metrics : the three plans' figures, moves, shortfalls (:class:`StaffingMetrics`).
    settings : max_moves, options, time limit and the model's scale constants.
    """

    scenario_name: str
    week: str
    report: SolverReport
    stages: tuple[Stage, ...]
    forecast_method: str
    travel_source: str
    tables: dict[str, pd.DataFrame]
    metrics: StaffingMetrics
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def roster(self) -> pd.DataFrame:
        return self.tables["roster"]

    @property
    def moves(self) -> pd.DataFrame:
        return self.tables["moves"]

    @property
    def shortfalls(self) -> pd.DataFrame:
        return self.tables["shortfalls"]

    def outside_summary(self) -> str:
        """One line on the sites staffed outside the model (empty when there are none)."""
        t = self.tables.get("outside_model")
        if t is None or t.empty:
            return "every site with dossiers is staffed by modelled people"
        kinds = t["kind"].value_counts()
        what = " and ".join(
            f"{n} {'reception point' if k == 'reception' else str(k)}{'s' if n != 1 else ''}"
            for k, n in kinds.items())
        verb = "are" if len(t) != 1 else "is"
        return (f"{what} {verb} staffed outside the model (no one in staff.csv): their "
                f"in-person load ({t['in_person_min'].sum():,.0f} min, "
                f"{t['in_person_dossiers'].sum():,.0f} dossiers) is not planned here; "
                f"their online work is {t['online_handling'].iloc[0]}")

    def meta(self) -> dict[str, Any]:
        """Everything but the tables, JSON-ready."""
        out: dict[str, Any] = json_safe({
            "scenario": self.scenario_name, "week": self.week,
            "report": self.report.to_dict(),
            "stages": [s.to_dict() for s in self.stages],
            "forecast_method": self.forecast_method, "travel_source": self.travel_source,
            "metrics": self.metrics.to_dict(),
            "settings": self.settings,
        })
        return out

    def to_json(self) -> str:
        """The run as JSON: meta plus every table as a list of records (``inf`` as null)."""
        out = self.meta()
        out["tables"] = {name: _records(df) for name, df in self.tables.items()}
        return dumps(out, indent=1)

    def roster_wide(self) -> pd.DataFrame:
        """Person x day -> site (``off`` when not working), for printing.

        With the person's name when the roster has it, and ``why``: each day away
        from home with the reason the move was made (from ``moves``), so the sheet a
        director publishes says who is where and why.
        """
        r = self.roster
        if r.empty:
            return pd.DataFrame(columns=["person_id", "home_site"])
        r = r.assign(col=r["weekday"] + " " + r["date"].astype(str),
                     cell=r["site_id"].replace("", "off").fillna("off"))
        index = ["person_id", "name", "home_site"] if "name" in r.columns else [
            "person_id", "home_site"]
        wide = r.pivot(index=index, columns="col", values="cell")
        order = list(dict.fromkeys(r["col"]))
        out = wide.loc[:, order].reset_index()
        mv = self.moves
        if not mv.empty and {"person_id", "weekday", "to_site", "reason"} <= set(mv.columns):
            why = (mv.assign(t=mv["weekday"].astype(str) + " " + mv["to_site"].astype(str)
                             + ": " + mv["reason"].astype(str))
                   .groupby("person_id")["t"].agg("; ".join))
            out["why"] = out["person_id"].map(why).fillna("")
        else:
            out["why"] = ""
        return out

    def save(self, folder: str | Path, *, overwrite: bool = False,
             protect: Iterable[str | Path | None] = ()) -> Path:
        """Write CSVs, ``staffing.xlsx``, ``run.json`` and the manifest to ``folder`` atomically.

        Files are written to a temporary sibling folder that is then swapped in.
        ``folder`` must be new, empty or a previous ``staff`` output; ``overwrite``
        and ``protect`` (the scenario folder and inputs) as in
        :func:`geodata._atomic.output_folder`, which raises
        :class:`~geodata._errors.OutputError` for a refused folder or a failed write.

        Returns
        -------
        Path
            ``folder``.
        """
        folder = Path(folder)
        with output_folder(folder, "staff", overwrite=overwrite, protect=protect) as tmp:
            for name, df in self.tables.items():
                df.to_csv(tmp / f"{name}.csv", index=False, encoding="utf-8")
            self.roster_wide().to_csv(tmp / "roster_wide.csv", index=False, encoding="utf-8")
            (tmp / "run.json").write_text(
                dumps(self.meta(), indent=1), encoding="utf-8")
            self._write_xlsx(tmp / "staffing.xlsx")
        logger.info("staffing run saved to %s", folder)
        return folder

    def _write_xlsx(self, path: Path) -> None:
        lang = str(self.settings.get("lang", "en"))
        vi = lang == "vi"
        m = self.metrics

        def pct(v: float) -> str:
            return "n/a" if not math.isfinite(v) else f"{100 * v:.0f}%"

        def num(v: float) -> str:
            return "n/a" if not math.isfinite(v) else f"{v:,.0f}"

        plans = pd.DataFrame({
            _X["figure"][vi]: [_X[k][vi] for k in ("overload", "peak", "wait", "counters",
                                                    "skills", "moves")],
            _X["today"][vi]: [num(m.overload_min_today), pct(m.peak_utilisation_today),
                              num(m.wait_mean_min_today), num(m.counters_short_today),
                              num(m.skill_gaps_today), "0"],
            _X["pooled"][vi]: [num(m.overload_min_pooled), pct(m.peak_utilisation_pooled),
                               num(m.wait_mean_min_pooled), num(m.counters_short_pooled),
                               num(m.skill_gaps_pooled), "0"],
            _X["planned"][vi]: [num(m.overload_min_after), pct(m.peak_utilisation_after),
                                num(m.wait_mean_min_after), num(m.counters_short_after),
                                num(m.skill_gaps_after), num(m.moves)],
        })
        summary = pd.DataFrame([
            ("scenario", self.scenario_name), ("week", self.week),
            ("status", self.report.status.value),
            ("gap", "n/a" if not math.isfinite(self.report.gap) else f"{100 * self.report.gap:.2f}%"),
            ("moves", num(m.moves)), ("shortfalls", num(m.shortfalls)),
            ("outside the model", self.outside_summary()),
            ("online work", str(self.settings.get("online_handling", ""))),
            ("forecast", self.forecast_method), ("travel times", self.travel_source),
            ("solver", self.report.summary()),
        ], columns=["item", "value"])
        sheets = {_X["plans"][vi]: plans, _X["summary"][vi]: summary,
                  _X["roster"][vi]: self.roster_wide(),
                  _X["site_roster"][vi]: self.tables.get("site_roster", pd.DataFrame()),
                  _X["moves_sheet"][vi]: self.moves,
                  _X["sd_today"][vi]: self.tables.get("site_days_today", pd.DataFrame()),
                  _X["sd_pooled"][vi]: self.tables["site_days_before"],
                  _X["sd_planned"][vi]: self.tables["site_days_after"],
                  _X["shortfalls"][vi]: self.shortfalls,
                  _X["forecast"][vi]: self.tables["forecast"],
                  _X["outside"][vi]: self.tables.get("outside_model", pd.DataFrame())}
        if vi:
            sheets = {name: df.rename(columns=_VI_COLUMNS) for name, df in sheets.items()}
        write_workbook(path, sheets)

    @classmethod
    def load(cls, folder: str | Path) -> StaffingRun:
        """Read a run written by :meth:`save`."""
        folder = Path(folder)
        meta = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        report = SolverReport.from_dict(meta["report"])
        stages = tuple(Stage.from_dict(s) for s in meta["stages"])
        ids = {"person_id": str, "site_id": str, "home_site": str, "from_site": str,
               "to_site": str, "date": str, "field": str, "site_name": str,
               "home_site_name": str, "from_site_name": str, "to_site_name": str}
        tables = {}
        for name in TABLES:
            if not (folder / f"{name}.csv").is_file():  # runs saved before the table existed
                continue
            df = pd.read_csv(folder / f"{name}.csv", dtype=ids, keep_default_na=False,
                             na_values=[""])
            for c in ("site_id", "field", "from_site", "to_site", "person_id", "home_site",
                      "site_name", "home_site_name", "from_site_name", "to_site_name"):
                if c in df.columns:
                    df[c] = df[c].fillna("")
            tables[name] = df
        metrics = StaffingMetrics.from_dict(meta["metrics"])
        return cls(scenario_name=meta["scenario"], week=meta["week"], report=report,
                   stages=stages, forecast_method=meta["forecast_method"],
                   travel_source=meta["travel_source"], tables=tables, metrics=metrics,
                   settings=meta["settings"])


def forecast_week(
    scenario: Scenario, week: str | list[date], options: StaffingOptions | None = None,
    override: str | Path | pd.DataFrame | None = None,
) -> Forecast:
    """Next week's expected dossiers per site, day, field and channel.

    Parameters
    ----------
    scenario
        Loaded scenario (workload history, working days, holidays).
    week
        ISO week ``YYYY-Www`` or the list of its dates (as :func:`parse_week` returns).
    options
        Forecast window (``recent_weeks``); defaults to :class:`StaffingOptions`.
    override
        Director's CSV (``site_id, date, field, channel, dossiers``) or a
        validated DataFrame; its cells replace the model's.

    Returns
    -------
    Forecast
        Table, method text, open and closed dates.

    Raises
    ------
    ScenarioError
        No history and no override, or a bad override file.
    InvalidInputError
        A bad ``week`` string (a ``ValueError``).
    """
    dates = parse_week(week) if isinstance(week, str) else list(week)
    opt = options or StaffingOptions()
    w = scenario.settings.work
    if scenario.workload.empty:
        if override is None:
            raise ScenarioError(
                "no workload history to forecast from; add workload.csv or give a forecast file",
                file=scenario.settings.files.workload or "workload.csv")
        opened = tuple(open_days(dates, w.days, w.holidays))
        fc = Forecast(table=pd.DataFrame(columns=["date", "weekday", "site_id", "field", "channel",
                                                  "dossiers", "source"]),
                      method="director's forecast only (no history)", open_dates=opened,
                      closed_dates=tuple(d for d in dates if d not in opened))
    else:
        fc = forecast_days(scenario.workload, dates, w.days, w.holidays, opt.recent_weeks)
    if override is not None:
        table = (override if isinstance(override, pd.DataFrame)
                 else read_forecast_csv(override, scenario, fc.open_dates))
        fc = apply_override(fc, table)
    return fc


#: The name the app used before :func:`forecast_week` was public (same function).
_forecast_for = forecast_week


def run_staffing(
    scenario: Scenario,
    week: str | None = None,
    max_moves: int | None = None,
    forecast_override: str | Path | pd.DataFrame | None = None,
    time_limit_s: float | None = None,
    seed: int = 0,
    threads: int = 1,
    stop: threading.Event | None = None,
    options: StaffingOptions | None = None,
    travel_min: np.ndarray | None = None,
    deterministic_time_s: float | None = None,
    lang: str = "en",
    progress: ProgressCallback | None = None,
) -> StaffingRun:
    """Plan next week's staff for a scenario.

    Parameters
    ----------
    scenario
        Loaded scenario with staff and workload history.
    week
        ISO week ``YYYY-Www``; default the week after the last day of history.
    max_moves
        Weekly cap on moves (person-days away from home); None = no cap.
    forecast_override
        Director's CSV (``site_id, date, field, channel, dossiers``) or a
        validated DataFrame with those columns (``date`` as date).
    time_limit_s, seed, threads
        Wall-clock limit (whole solve; ``None``: the size's default,
        :func:`optimizer.staff_allocation.default_time_limit`), random seed, and
        days solved side by side.
    stop
        Set it from another thread to stop early with the best plan so far.
    options
        Modelling choices (pooling of online work, travel limit, forecast window).
    travel_min
        Optional site x site minutes (same order as the used sites); default from
        :func:`geodata.coverage.site_to_site_minutes`.
    deterministic_time_s
        CP-SAT deterministic-time budget of the planned plan (default from the
        time limit, see :func:`optimizer.staff_allocation.solve_staff_allocation`);
        the plan is the same on every run unless the wall clock binds first.
    lang
        ``en`` or ``vi``: language of the workbook's sheets and headers.
    progress
        Told each step (:class:`motcua.progress.Progress`: ``forecast``, ``model``,
        ``solving``, ``summary``).

    Returns
    -------
    StaffingRun
        Plan, tables, report; call ``save(folder)`` to export.

    Raises
    ------
    ScenarioError
        No staff, no history and no forecast, or a bad override file.
    InvalidInputError
        A bad ``week`` string, a negative ``max_moves``, no week to plan or no open day
        in it (a ``ValueError``).
    """
    opt = options or StaffingOptions()
    say = report_to(progress)
    if scenario.staff.empty:
        raise ScenarioError("no staff in the scenario: add staff.csv to plan staffing",
                            file=scenario.settings.files.staff or "staff.csv")
    if max_moves is not None and max_moves < 0:
        msg = f"max_moves must be >= 0, got {max_moves}"
        raise InvalidInputError(msg)
    if week is None:
        if scenario.workload.empty:
            msg = "give a week (e.g. 2026-W48): there is no history to infer it from"
            raise InvalidInputError(msg)
        last = pd.to_datetime(scenario.workload["date"]).max().date()
        week = _week_label(last + timedelta(days=7 - last.weekday()))
    dates = parse_week(week)
    week = _week_label(dates[0])
    say("forecast", f"forecasting {week}")
    fc = forecast_week(scenario, dates, opt, forecast_override)
    if not fc.open_dates:
        msg = f"week {week} has no open working day (all holidays or non-working days)"
        raise InvalidInputError(msg)
    say("model", "building the model (travel times, counters needed)")
    pb, _sites, source = build_problem(scenario, fc, max_moves, opt, travel_min)
    outside = outside_model_table(scenario, fc, opt)
    say("solving", "solving the three plans")
    alloc: StaffAllocation = solve_staff_allocation(
        pb, time_limit_s, seed, threads, stop, deterministic_time_s=deterministic_time_s)
    say("summary", "summarising")

    names = dict(zip(map(str, scenario.staff["id"]), map(str, scenario.staff["name"]), strict=True))
    roster = alloc.roster.copy()
    roster.insert(1, "name", roster["person_id"].map(names))
    moves = alloc.moves.copy()
    moves.insert(1, "name", moves["person_id"].map(names))
    site_names = dict(zip(map(str, scenario.sites["id"]), map(str, scenario.sites["name"]),
                          strict=True))
    roster, moves = _with_site_names(roster, site_names), _with_site_names(moves, site_names)
    forecast_table = fc.table.copy()
    forecast_table["date"] = forecast_table["date"].map(str)
    # each plan's figures (its moves are the run's, below) with the plan's suffix: an
    # unknown figure name fails here, loudly
    per_plan = {f"{name}_{key}": float(value)
                for key, plan in (("today", alloc.today), ("pooled", alloc.pooled),
                                  ("after", alloc.planned))
                for name, value in plan.figures().items() if name != "moves"}
    metrics = StaffingMetrics(
        **per_plan,
        # "before" is the pooled plan (everyone at home, online work pooled), as in
        # runs saved before the three plans
        peak_utilisation_before=alloc.peak_utilisation_before,
        overload_min_before=alloc.overload_min_before,
        online_unplaced_min_before=alloc.online_unplaced_min_before,
        moves=float(len(moves)),
        shortfalls=float(len(alloc.shortfalls)),
        shortfall_minutes=float(alloc.shortfalls["minutes_short"].sum()),
        sites_outside_model=float(len(outside)),
        # the pooled ("before") plan is an exact LP: always proven
        before_proven=1.0,
        reproducible=float(bool(alloc.settings.get("reproducible", True))),
    )
    return StaffingRun(
        scenario_name=scenario.name, week=week, report=alloc.report, stages=alloc.stages,
        forecast_method=fc.method, travel_source=source,
        tables={"roster": roster, "moves": moves, "site_roster": alloc.site_roster,
                "site_days_today": alloc.today.site_days,
                "site_days_before": alloc.site_days_before,
                "site_days_after": alloc.site_days_after, "shortfalls": alloc.shortfalls,
                "forecast": forecast_table, "outside_model": outside},
        metrics=metrics,
        settings={**alloc.settings, "pool_online": opt.pool_online,
                  "recent_weeks": opt.recent_weeks,
                  "min_dossiers_for_skill": opt.skill_threshold(
                      scenario.settings.work.peak_hour_share),
                  "pool_outside_online": opt.pool_outside_online,
                  "pool_levels": list(opt.pool_levels),
                  "online_handling": opt.online_label(),
                  "time_limit_s": alloc.settings.get("time_limit_s", time_limit_s),
                  "time_limit_default": alloc.settings.get("time_limit_default", False),
                  "seed": seed, "threads": threads,
                  "deterministic_time_s": alloc.settings.get("deterministic_time_s"),
                  "lang": lang},
    )


#: Workbook texts, (English, Vietnamese).
_X: dict[str, tuple[str, str]] = {
    "figure": ("figure", "chỉ tiêu"), "today": ("today", "hiện nay"),
    "pooled": ("pooled online", "gộp hồ sơ trực tuyến"),
    "planned": ("planned (pooled + moves)", "kế hoạch (gộp + điều động)"),
    "overload": ("overload minutes", "số phút quá tải"),
    "peak": ("peak utilisation", "mức tải cao nhất"),
    "wait": ("mean expected wait, min", "thời gian chờ trung bình (phút)"),
    "counters": ("counters short", "số quầy còn thiếu"),
    "skills": ("fields with no one qualified", "lĩnh vực thiếu người đủ chuyên môn"),
    "moves": ("moves", "lượt điều động"), "moves_sheet": ("Moves", "Điều động"),
    "plans": ("Plans", "Ba phương án"),
    "summary": ("Summary", "Tóm tắt"), "roster": ("Roster", "Lịch làm việc"),
    "site_roster": ("Sites by day", "Điểm theo ngày"),
    "sd_today": ("Today", "Hiện nay"), "sd_pooled": ("Pooled", "Gộp trực tuyến"),
    "sd_planned": ("Planned", "Kế hoạch"), "shortfalls": ("Shortfalls", "Thiếu hụt"),
    "forecast": ("Forecast", "Dự báo"), "outside": ("Outside model", "Ngoài mô hình"),
}
_VI_COLUMNS: dict[str, str] = {
    "person_id": "mã cán bộ", "name": "họ tên", "home_site": "nơi làm việc chính",
    "site_id": "mã điểm", "date": "ngày", "weekday": "thứ", "from_site": "từ",
    "to_site": "đến", "travel_min": "phút di chuyển", "reason": "lý do",
    "staff": "số cán bộ", "people": "cán bộ", "came": "đến hỗ trợ", "left": "đi hỗ trợ",
    "utilisation": "mức tải", "utilisation_today": "mức tải hiện nay",
    "utilisation_planned": "mức tải theo kế hoạch", "wait_today_min": "chờ hiện nay (phút)",
    "wait_planned_min": "chờ theo kế hoạch (phút)", "demand_min": "phút công việc",
    "capacity_min": "phút năng lực", "overload_min": "phút quá tải",
    "pooled_min": "phút trực tuyến gộp", "reception_min": "phút tiếp nhận",
    "field": "lĩnh vực", "minutes_short": "số phút thiếu", "counters_short": "số quầy thiếu",
    "detail": "chi tiết", "counters": "số quầy", "counters_needed": "số quầy cần",
    "counters_staffed": "số quầy có người", "expected_wait_min": "thời gian chờ (phút)",
    "in_person_dossiers": "hồ sơ trực tiếp", "unstaffed": "không có người",
    "item": "mục", "value": "giá trị", "why": "lý do điều động", "dossiers": "số hồ sơ", "channel": "kênh",
    "site_name": "tên điểm", "home_site_name": "tên nơi làm việc chính",
    "from_site_name": "tên điểm đi", "to_site_name": "tên điểm đến",
}


_SITE_COLUMNS = ("home_site", "site_id", "from_site", "to_site")


def _with_site_names(table: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """``table`` with each site id column followed by the site's name (``<column>_name``,
    ``site_name`` for ``site_id``); an empty id (a day off) has an empty name."""
    out = table.copy()
    for col in _SITE_COLUMNS:
        if col in out and f"{col}_name" not in out:
            name_col = "site_name" if col == "site_id" else f"{col}_name"
            out.insert(out.columns.get_loc(col) + 1, name_col,
                       [names.get(str(v), "") if isinstance(v, str) else "" for v in out[col]])
    return out


def _yes_no(flag: float | None) -> str:
    """``yes`` / ``no`` for a 0/1 metric; ``n/a`` for runs saved before it existed."""
    if flag is None or (isinstance(flag, float) and math.isnan(flag)):
        return "n/a"
    return "yes" if flag else "no (best found in its share of the time)"
