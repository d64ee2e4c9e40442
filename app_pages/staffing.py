"""Staffing page: next week's forecast (editable), rebalance, roster, heatmaps and moves."""

from __future__ import annotations

import datetime as dt
import io
import time
import zipfile
from collections.abc import Callable
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app_pages import _common as c
from geodata.scenario import Scenario
from motcua.app.i18n import (
    coverage_text,
    explain,
    fmt_date,
    fmt_day,
    fmt_int,
    fmt_num,
    fmt_pct,
    fmt_pp,
    fmt_weekday,
    forecast_text,
    label_of,
)
from motcua.app.workspace import RunInfo, Workspace
from motcua.errors import InvalidInputError
from motcua.staffing import (
    MAX_OVERRIDE_DOSSIERS,
    StaffingMetrics,
    StaffingOptions,
    StaffingRun,
    _forecast_for,
    parse_week,
    run_staffing,
)

EDITABLE_KEY = ["date", "site_id", "field", "channel"]
#: Sites shown in the heatmaps unless the user asks for all (the busiest first).
HEATMAP_SITES = 30


def _default_week(scenario: Scenario) -> str:
    """The ISO week after the last day of workload history (this week without history)."""
    if scenario.workload.empty:
        last = dt.date.today()
    else:
        last = pd.to_datetime(scenario.workload["date"]).max().date()
    monday = last + dt.timedelta(days=7 - last.weekday())
    y, w, _ = monday.isocalendar()
    return f"{y}-W{w:02d}"


@st.cache_data(max_entries=16, show_spinner=False)
def _forecast(_scenario: Scenario, ref: str, week: str) -> pd.DataFrame:
    fc = _forecast_for(_scenario, parse_week(week), StaffingOptions(), None)
    table = fc.table.copy()
    table["date"] = table["date"].map(str)
    return table


@st.cache_resource(max_entries=16, show_spinner=False)
def _load_run(path: str) -> StaffingRun:
    return StaffingRun.load(path)


def _override(original: pd.DataFrame, shown: pd.DataFrame, edited: pd.DataFrame
              ) -> pd.DataFrame | None:
    """Rows whose dossiers the user changed, in the form ``run_staffing`` accepts.

    ``shown`` is the table as shown (same rows in the same order as ``original``, cells
    translated, dossiers rounded to one decimal) and ``edited`` the editor's copy of it,
    so rows are matched by position."""
    col = c.tr("col_dossiers")
    before = pd.to_numeric(shown[col], errors="coerce").to_numpy()
    new = pd.to_numeric(edited[col], errors="coerce").to_numpy()
    changed = abs(before - new) > 1e-9
    if not changed.any():
        return None
    out = original.loc[changed, ["site_id", "date", "field", "channel"]].assign(dossiers=new[changed])
    out["date"] = pd.to_datetime(out["date"]).dt.date
    return out.reset_index(drop=True)


def _site_names(scenario: Scenario | None) -> dict[str, str]:
    """Site id -> name (people know the names, not the ids)."""
    if scenario is None or "name" not in scenario.sites:
        return {}
    return dict(zip(scenario.sites["id"].astype(str), scenario.sites["name"].astype(str),
                    strict=True))


def _shown_forecast(table: pd.DataFrame, names: dict[str, str], lang: str) -> pd.DataFrame:
    """The forecast as shown: days, sites, fields, channels and sources in words."""
    return pd.DataFrame({
        c.tr("col_date"): [fmt_date(d, lang) for d in table["date"]],
        c.tr("col_weekday"): [fmt_weekday(w, lang) for w in table["weekday"]],
        c.tr("col_site"): [names.get(str(x), str(x)) for x in table["site_id"]],
        c.tr("col_field"): [label_of("field", f, lang) for f in table["field"]],
        c.tr("col_channel"): [label_of("channel", ch, lang) for ch in table["channel"]],
        c.tr("col_dossiers"): table["dossiers"].astype(float).round(1),
        c.tr("col_source"): [label_of("source", x, lang) for x in table["source"]],
    })


def _shown_moves(moves: pd.DataFrame, names: dict[str, str], lang: str) -> pd.DataFrame:
    return pd.DataFrame({
        c.tr("person"): moves["name"] if "name" in moves else moves["person_id"],
        c.tr("col_date"): [fmt_day(w, d, lang) for w, d in zip(moves["weekday"], moves["date"],
                                                                 strict=True)],
        c.tr("col_from"): [names.get(str(x), str(x)) for x in moves["from_site"]],
        c.tr("col_to"): [names.get(str(x), str(x)) for x in moves["to_site"]],
        c.tr("col_travel"): moves["travel_min"].astype(int),
        c.tr("col_reason"): [explain(r, lang, names) for r in moves["reason"]],
    })


def _shown_roster(roster: pd.DataFrame, names: dict[str, str], lang: str) -> pd.DataFrame:
    """Person x day -> where they work (the site's name, "nghỉ" when off)."""
    if roster.empty:
        return pd.DataFrame(columns=[c.tr("person"), c.tr("home_site")])
    r = roster.assign(col=[fmt_day(w, d, lang) for w, d in zip(roster["weekday"], roster["date"],
                                                                strict=True)],
                      cell=[names.get(str(x), str(x)) if isinstance(x, str) and x else c.tr("off_day")
                            for x in roster["site_id"]],
                      who=roster["name"] if "name" in roster else roster["person_id"],
                      home=[names.get(str(x), str(x)) for x in roster["home_site"]])
    wide = r.pivot(index=["person_id", "who", "home"], columns="col", values="cell")
    wide = wide.loc[:, list(dict.fromkeys(r["col"]))].reset_index().drop(columns="person_id")
    return wide.rename(columns={"who": c.tr("person"), "home": c.tr("home_site")})


def _shown_shortfalls(short: pd.DataFrame, names: dict[str, str], lang: str) -> pd.DataFrame:
    return pd.DataFrame({
        c.tr("col_site"): [names.get(str(x), str(x)) or "–" for x in short["site_id"]],
        c.tr("col_date"): [fmt_day(w, d, lang) for w, d in zip(short["weekday"], short["date"],
                                                                 strict=True)],
        c.tr("col_field"): [label_of("field", f, lang) for f in short["field"]],
        c.tr("col_minutes_short"): short["minutes_short"].astype(float).round(0).astype(int),
        c.tr("col_counters_short"): short["counters_short"].astype(int),
        c.tr("col_detail"): [explain(x, lang, names) for x in short["detail"]],
    })


def _heatmap(df: pd.DataFrame, title: str, top: float, names: dict[str, str],
             lang: str) -> alt.Chart:
    """Site x day utilisation; both charts share ``top`` so equal colours mean equal load."""
    site = df["site_id"].astype(str).map(lambda x: names.get(x, x))
    data = df.assign(day=[fmt_day(w, d, lang) for w, d in zip(df["weekday"], df["date"], strict=True)],
                     site=site, pct=(100 * df["utilisation"]).round(0),
                     shown=[fmt_pct(u, 0, lang) for u in df["utilisation"]])
    order = list(data.groupby("site")["utilisation"].max().sort_values(ascending=False).index)
    base = alt.Chart(data, title=title).encode(
        x=alt.X("day:O", title=None, sort=list(dict.fromkeys(data["day"]))),
        y=alt.Y("site:N", title=None, sort=order),
    )
    rect = base.mark_rect().encode(
        color=alt.Color("utilisation:Q", title=c.tr("utilisation"),
                        scale=alt.Scale(domain=[0, 1, top], range=["#f7fbff", "#fdd49e", "#b30000"]),
                        legend=alt.Legend(format=".0%")),
        tooltip=[alt.Tooltip("site:N", title=c.tr("col_site")),
                 alt.Tooltip("day:N", title=c.tr("col_date")),
                 alt.Tooltip("staff:Q", title=c.tr("staff")),
                 alt.Tooltip("shown:N", title=c.tr("utilisation"))],
    )
    text = base.mark_text(fontSize=11).encode(text=alt.Text("pct:Q", format=".0f"))
    return (rect + text).properties(height=max(120, 28 * data["site_id"].nunique()))


def _csv_zip(run: StaffingRun) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, df in run.tables.items():
            zf.writestr(f"{name}.csv", df.to_csv(index=False).encode("utf-8-sig"))
        zf.writestr("roster_wide.csv", run.roster_wide().to_csv(index=False).encode("utf-8-sig"))
    return buf.getvalue()


def _key_figures(run: StaffingRun) -> dict[str, float]:
    """The run's figures this page shows (one place reads ``run.metrics``)."""
    m = run.metrics
    return {"peak_before": float(m.peak_utilisation_before),
            "peak_after": float(m.peak_utilisation_after),
            "moves": float(m.moves), "shortfalls": float(m.shortfalls),
            "shortfall_minutes": float(m.shortfall_minutes or 0.0),
            "before_proven": float(m.before_proven)}


def plans_table(m: StaffingMetrics, lang: str) -> pd.DataFrame:
    """Today / pooled / planned side by side: one row per figure, texts in ``lang``.

    A run saved before the three plans has no ``*_today`` figures: shown as a dash.
    """
    plans = ("today", "pooled", "after")

    def row(label: str, key: str, fmt: Callable[[float | None], str]) -> list[str]:
        return [c.tr(label)] + [fmt(getattr(m, f"{key}_{p}", None)) for p in plans]

    rows = [
        row("fig_overload", "overload_min", lambda v: fmt_int(v, lang)),
        row("fig_peak", "peak_utilisation", lambda v: fmt_pct(v, 1, lang)),
        row("fig_wait", "wait_mean_min", lambda v: fmt_num(v, 1, lang)),
        row("fig_counters", "counters_short", lambda v: fmt_int(v, lang)),
        [c.tr("fig_moves"), fmt_int(0, lang), fmt_int(0, lang), fmt_int(m.moves, lang)],
    ]
    cols = [c.tr("plan_figure"), c.tr("plan_today"), c.tr("plan_pooled"), c.tr("plan_planned")]
    return pd.DataFrame(rows, columns=cols)


def _show_run(ws: Workspace, info: RunInfo, scenario: Scenario | None) -> None:
    lang = c.lang()
    run = _load_run(str(info.result_dir))
    names = _site_names(scenario if scenario is not None and scenario.name == info.scenario_name
                        else None)
    days = parse_week(run.week)
    week = c.tr("week_heading", week=run.week, start=fmt_date(days[0], lang),
                end=fmt_date(days[-1], lang))
    st.subheader(c.md_escape(info.label if info.label != run.week else week))
    st.caption(c.md_escape(f"{week} · {info.scenario_name} · {info.created.replace('T', ' ')}"))
    c.synthetic_banner(info.synthetic)
    f = _key_figures(run)
    cols = st.columns(4)
    change = round(100 * (f["peak_after"] - f["peak_before"]), 1)
    # Streamlit reads the arrow from a leading ASCII "-" (fmt_pp writes a true minus sign)
    delta = ("-" if change < 0 else "") + fmt_pp(abs(change) if change < 0 else change, 1, lang)
    cols[0].metric(c.tr("peak_before"), fmt_pct(f["peak_before"], 1, lang))
    cols[1].metric(c.tr("peak_after"), fmt_pct(f["peak_after"], 1, lang),
                   delta=delta.replace("+", "", 1) if change < 0 else delta,
                   delta_color="inverse" if change else "off", help=c.tr("peak_change_help"))
    cols[2].metric(c.tr("n_moves"), fmt_int(f["moves"], lang))
    cols[3].metric(c.tr("shortfall_count"), fmt_int(f["shortfalls"], lang),
                   help=c.tr("shortfall_count_help", minutes=fmt_int(f["shortfall_minutes"], lang)))
    c.show_report(run.report, elapsed=info.params.get("elapsed_s"))
    if f["before_proven"] == 0.0:
        st.caption(c.tr("before_not_proven"))
    st.markdown(f"**{c.tr('plans_title')}**")
    st.dataframe(plans_table(run.metrics, lang), hide_index=True, width="stretch")
    st.caption(c.tr("plans_caption"))

    before, after = run.tables["site_days_before"], run.tables["site_days_after"]
    top = max(1.2, float(before["utilisation"].max()), float(after["utilisation"].max()))
    peak = (pd.concat([before, after]).groupby("site_id")["utilisation"].max()
            .sort_values(ascending=False))
    if len(peak) > HEATMAP_SITES and not st.toggle(c.tr("all_sites", n=fmt_int(len(peak), lang)),
                                                   key="heat_all"):
        keep = list(peak.index[:HEATMAP_SITES])
        st.caption(c.tr("busiest_sites", n=HEATMAP_SITES))
    else:
        keep = list(peak.index)
    before = before[before["site_id"].isin(keep)]
    after = after[after["site_id"].isin(keep)]
    left, right = st.columns(2)
    left.altair_chart(_heatmap(before, c.tr("utilisation_before"), top, names, lang), width="stretch")
    right.altair_chart(_heatmap(after, c.tr("utilisation_after"), top, names, lang), width="stretch")

    st.subheader(c.tr("moves"))
    if run.moves.empty:
        st.info(c.tr("no_moves" if run.report.is_optimal else "no_moves_unproven"))
    else:
        st.dataframe(_shown_moves(run.moves, names, lang), hide_index=True, width="stretch",
                     column_config={c.tr("col_reason"): st.column_config.TextColumn(width="large")})
    st.subheader(c.tr("roster"))
    st.dataframe(_shown_roster(run.roster, names, lang), hide_index=True, width="stretch")
    if not run.shortfalls.empty:
        with st.expander(c.tr("shortfalls") + f" ({fmt_int(len(run.shortfalls), lang)})"):
            st.dataframe(_shown_shortfalls(run.shortfalls, names, lang), hide_index=True,
                         width="stretch")
    with st.expander(c.tr("run_settings")):
        p = info.params
        travel = run.travel_source.split(" (")[0]
        rows = [("setting_week", run.week),
                ("setting_max_moves", fmt_int(p["max_moves"], lang) if p.get("max_moves")
                 else c.tr("no_limit")),
                ("setting_time_limit_s", fmt_int(p.get("time_limit_s"), lang)),
                ("setting_seed", fmt_int(p.get("seed"), lang)),
                ("setting_threads", fmt_int(p.get("threads"), lang)),
                ("setting_forecast_edits", fmt_int(p.get("forecast_edits", 0), lang)),
                ("setting_forecast_method", forecast_text(run.forecast_method, lang)),
                ("setting_travel", coverage_text(travel, lang) if travel.startswith("road network")
                 and lang != "en" else c.plain_path(travel))]
        st.dataframe(pd.DataFrame([(c.tr(k), v) for k, v in rows],
                                  columns=[c.tr("setting"), c.tr("run_settings")]),
                     hide_index=True, width="stretch",
                     column_config={c.tr("run_settings"): st.column_config.TextColumn(width="large")})

    st.subheader(c.tr("downloads"))
    d1, d2 = st.columns(2)
    xlsx = info.result_dir / "staffing.xlsx"
    d1.download_button(c.tr("download_xlsx"), data=xlsx.read_bytes(), file_name=f"{info.run_id}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key="dl_staff_xlsx", on_click="ignore")
    d2.download_button(c.tr("download_csv_zip"), data=lambda: _csv_zip(run),
                       file_name=f"{info.run_id}-csv.zip", mime="application/zip",
                       key="dl_staff_csv", on_click="ignore")


def body() -> None:
    st.title(c.tr("staffing_title"))
    loaded = c.current_scenario()
    if loaded is None:
        return
    ref, scenario = loaded
    ws = c.workspace()
    lang = c.lang()
    st.caption(c.tr("current_scenario", name=c.md_escape(scenario.name)))
    c.synthetic_banner(scenario.settings.synthetic)

    finished = c.follow_job("staffing")
    if finished is not None:
        if finished.error:
            st.error(c.tr("solve_failed", error=""))
            c.show_error_text(finished.error)
        else:
            st.session_state["staffing_fresh"] = finished.run_id
            st.success(c.tr("solve_done", run_id=finished.run_id))

    # results first: the plan just made (or picked) above the form that makes a new one
    results = st.container()
    if scenario.staff.empty:
        st.info(c.tr("no_staff"))
    else:
        st.subheader(c.tr("new_solve"))
        with st.form("staffing_form", border=True):
            a, b, d = st.columns(3)
            week = a.text_input(c.tr("week"), value=_default_week(scenario), key="week")
            max_moves = b.number_input(c.tr("max_moves"), min_value=0, max_value=1000, value=0,
                                       step=1, key="max_moves", format="%d")
            time_limit = d.number_input(c.tr("time_limit_s"), min_value=1, max_value=600, value=60,
                                        step=1, key="staff_time_limit", format="%d")
            a, b, _ = st.columns(3)
            seed = a.number_input(c.tr("seed"), min_value=0, max_value=2**31 - 1, value=0, step=1,
                                  key="staff_seed", format="%d")
            threads = b.selectbox(c.tr("threads"), (1, 2), key="staff_threads",
                                  placeholder=c.tr("choose_option"))
            st.form_submit_button(c.tr("forecast_load"))
        try:
            dates = parse_week(week)
        except InvalidInputError:
            st.error(c.md_escape(c.tr("bad_week", value=week)))
            dates = []
        if dates:
            st.caption(c.tr("week_dates", start=fmt_date(dates[0], lang), end=fmt_date(dates[-1], lang)))
            forecast = _forecast(scenario, ref, week)
            st.subheader(c.tr("forecast"))
            shown = _shown_forecast(forecast, _site_names(scenario), lang)
            edited = st.data_editor(
                shown, key=f"forecast_{ref}_{week}", hide_index=True, width="stretch",
                disabled=[col for col in shown.columns if col != c.tr("col_dossiers")],
                column_config={
                    c.tr("col_dossiers"): st.column_config.NumberColumn(
                        min_value=0.0,
                        max_value=float(MAX_OVERRIDE_DOSSIERS),
                        # the browser's own number format: 11,4 on a Vietnamese computer
                        format="localized" if lang != "en" else "%.1f")},
                height=260,
            )
            label = st.text_input(c.tr("run_label"), value=f"{week}", key="staff_label")
            running = "job_staffing" in st.session_state
            if st.button(c.tr("run"), type="primary", key="run_staffing", disabled=running):
                override = _override(forecast, shown, edited)
                params: dict[str, Any] = {"week": week, "max_moves": int(max_moves) or None,
                                          "time_limit_s": float(time_limit), "seed": int(seed),
                                          "threads": int(threads),
                                          "forecast_edits": 0 if override is None else len(override)}

                def work(job: c.Job) -> Any:
                    run = run_staffing(scenario, week=week, max_moves=params["max_moves"],
                                       forecast_override=override, time_limit_s=float(time_limit),
                                       seed=params["seed"], threads=params["threads"],
                                       stop=job.stop, progress=job.tell)
                    params["elapsed_s"] = round(time.monotonic() - job.started, 2)
                    return ws.save_run("staffing", run.save, label=label, scenario_ref=ref,
                                       scenario_name=scenario.name,
                                       synthetic=scenario.settings.synthetic, params=params,
                                       figures=run.metrics.to_dict(), report=run.report.to_dict())

                c.start_job("staffing", float(time_limit), work)
                st.rerun()

    with results:
        c.saved_runs_section(ws, "staffing", lambda info: _show_run(ws, info, scenario),
                             divider=False)


body()
