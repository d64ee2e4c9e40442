"""Staffing page: next week's forecast (editable), rebalance, roster, heatmaps and moves."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app_pages import _common as c
from geodata.scenario import Scenario
from motcua.app.i18n import fmt_date, fmt_int, fmt_num, fmt_pct
from motcua.app.workspace import RunInfo, Workspace
from motcua.errors import InvalidInputError
from motcua.staffing import (
    MAX_OVERRIDE_DOSSIERS,
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


def _override(original: pd.DataFrame, edited: pd.DataFrame) -> pd.DataFrame | None:
    """Rows whose dossiers the user changed, in the form ``run_staffing`` accepts."""
    merged = original.merge(edited[[*EDITABLE_KEY, "dossiers"]], on=EDITABLE_KEY,
                            suffixes=("", "_new"))
    changed = merged[(merged["dossiers"] - merged["dossiers_new"]).abs() > 1e-9]
    if changed.empty:
        return None
    out = changed[["site_id", "date", "field", "channel", "dossiers_new"]].rename(
        columns={"dossiers_new": "dossiers"})
    out["date"] = pd.to_datetime(out["date"]).dt.date
    return out.reset_index(drop=True)


def _heatmap(df: pd.DataFrame, title: str, top: float) -> alt.Chart:
    """Site x day utilisation; both charts share ``top`` so equal colours mean equal load."""
    order = list(df.groupby("site_id")["utilisation"].max().sort_values(ascending=False).index)
    data = df.assign(day=df["weekday"] + " " + df["date"].astype(str).str[8:10] + "/"
                     + df["date"].astype(str).str[5:7],
                     pct=(100 * df["utilisation"]).round(0))
    base = alt.Chart(data, title=title).encode(
        x=alt.X("day:O", title=None, sort=list(dict.fromkeys(data["day"]))),
        y=alt.Y("site_id:N", title=None, sort=order),
    )
    rect = base.mark_rect().encode(
        color=alt.Color("utilisation:Q", title="%",
                        scale=alt.Scale(domain=[0, 1, top], range=["#f7fbff", "#fdd49e", "#b30000"]),
                        legend=alt.Legend(format=".0%")),
        tooltip=["site_id", "date", "staff", "utilisation", "overload_min", "expected_wait_min"],
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


def plans_table(m: dict[str, float], lang: str) -> pd.DataFrame:
    """Today / pooled / planned side by side: one row per figure, texts in ``lang``.

    A run saved before the three plans has no ``*_today`` figures: shown as a dash.
    """
    plans = ("today", "pooled", "after")

    def row(label: str, key: str, fmt: Callable[[float | None], str]) -> list[str]:
        return [c.tr(label)] + [fmt(m.get(f"{key}_{p}")) for p in plans]

    rows = [
        row("fig_overload", "overload_min", lambda v: fmt_int(v, lang)),
        row("fig_peak", "peak_utilisation", lambda v: fmt_pct(v, 1, lang)),
        row("fig_wait", "wait_mean_min", lambda v: fmt_num(v, 1, lang)),
        row("fig_counters", "counters_short", lambda v: fmt_int(v, lang)),
        [c.tr("fig_moves"), fmt_int(0, lang), fmt_int(0, lang), fmt_int(m.get("moves"), lang)],
    ]
    cols = [c.tr("plan_figure"), c.tr("plan_today"), c.tr("plan_pooled"), c.tr("plan_planned")]
    return pd.DataFrame(rows, columns=cols)


def _show_run(ws: Workspace, info: RunInfo) -> None:
    lang = c.lang()
    run = _load_run(str(info.result_dir))
    st.subheader(c.md_escape(f"{info.label} — {run.week}"))
    st.caption(c.md_escape(f"{info.scenario_name} · {info.run_id} · {info.created.replace('T', ' ')}"))
    c.synthetic_banner(info.synthetic)
    c.show_report(run.report.to_dict())
    m = run.metrics
    cols = st.columns(4)
    change = round(100 * (m["peak_utilisation_after"] - m["peak_utilisation_before"]), 1)
    # Streamlit reads the arrow from a leading ASCII "-" (fmt_pct writes a true minus sign)
    delta = ("-" if change < 0 else "+" if change > 0 else "") + fmt_pct(abs(change) / 100, 1, lang)
    cols[0].metric(c.tr("peak_before"), fmt_pct(m["peak_utilisation_before"], 1, lang))
    cols[1].metric(c.tr("peak_after"), fmt_pct(m["peak_utilisation_after"], 1, lang),
                   delta=delta, delta_color="inverse" if change else "off")
    cols[2].metric(c.tr("n_moves"), fmt_int(m["moves"], lang))
    cols[3].metric(c.tr("shortfall_total"), fmt_int(m["shortfalls"], lang))
    if m.get("before_proven", 1.0) == 0.0:
        st.caption(c.tr("before_not_proven"))
    st.markdown(f"**{c.tr('plans_title')}**")
    st.dataframe(plans_table(m, lang), hide_index=True, width="stretch")
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
    left.altair_chart(_heatmap(before, c.tr("utilisation_before"), top), width="stretch")
    right.altair_chart(_heatmap(after, c.tr("utilisation_after"), top), width="stretch")

    st.subheader(c.tr("moves"))
    if run.moves.empty:
        st.info(c.tr("no_moves" if run.report.is_optimal else "no_moves_unproven"))
    else:
        st.dataframe(run.moves, hide_index=True, width="stretch")
    st.subheader(c.tr("roster"))
    st.dataframe(run.roster_wide(), hide_index=True, width="stretch")
    if not run.shortfalls.empty:
        with st.expander(c.tr("shortfalls") + f" ({fmt_int(len(run.shortfalls), lang)})"):
            st.dataframe(run.shortfalls, hide_index=True, width="stretch")
    with st.expander(c.tr("run_settings")):
        st.text(run.forecast_method)
        st.text(c.plain_path(run.travel_source))
        st.json(run.settings, expanded=False)

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

    if scenario.staff.empty:
        st.info(c.tr("no_staff"))
    else:
        with st.form("staffing_form", border=True):
            a, b, d = st.columns(3)
            week = a.text_input(c.tr("week"), value=_default_week(scenario), key="week")
            max_moves = b.number_input(c.tr("max_moves"), min_value=0, max_value=1000, value=0,
                                       step=1, key="max_moves")
            time_limit = d.number_input(c.tr("time_limit_s"), min_value=1, max_value=600, value=60,
                                        step=1, key="staff_time_limit")
            a, b, _ = st.columns(3)
            seed = a.number_input(c.tr("seed"), min_value=0, max_value=2**31 - 1, value=0, step=1,
                                  key="staff_seed")
            threads = b.selectbox(c.tr("threads"), (1, 2), key="staff_threads")
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
            edited = st.data_editor(
                forecast, key=f"forecast_{ref}_{week}", hide_index=True, width="stretch",
                disabled=[col for col in forecast.columns if col != "dossiers"],
                column_config={"dossiers": st.column_config.NumberColumn(
                    min_value=0.0, max_value=float(MAX_OVERRIDE_DOSSIERS), format="%.1f")},
                height=260,
            )
            label = st.text_input(c.tr("run_label"), value=f"{week}", key="staff_label")
            running = "job_staffing" in st.session_state
            if st.button(c.tr("run"), type="primary", key="run_staffing", disabled=running):
                override = _override(forecast, edited)
                params: dict[str, Any] = {"week": week, "max_moves": int(max_moves) or None,
                                          "time_limit_s": float(time_limit), "seed": int(seed),
                                          "threads": int(threads),
                                          "forecast_edits": 0 if override is None else len(override)}

                def work(job: c.Job) -> Any:
                    run = run_staffing(scenario, week=week, max_moves=params["max_moves"],
                                       forecast_override=override, time_limit_s=float(time_limit),
                                       seed=params["seed"], threads=params["threads"],
                                       stop=job.stop)
                    return ws.save_run("staffing", run.save, label=label, scenario_ref=ref,
                                       scenario_name=scenario.name,
                                       synthetic=scenario.settings.synthetic, params=params,
                                       figures=dict(run.metrics), report=run.report.to_dict())

                c.start_job("staffing", float(time_limit), work)
                st.rerun()

    c.saved_runs_section(ws, "staffing", lambda info: _show_run(ws, info))


body()
