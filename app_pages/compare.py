"""Compare page: two saved placements side by side, their differences and a map of changes.

Opened by link with ``?page=compare&a=RUN1&b=RUN2``; the address bar always holds
the link to what is on screen.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st

from app_pages import _common as c
from app_pages._placement_view import load_run, result_map, run_title, settings_rows
from motcua.app import maps
from motcua.app.brief import brief_html, changes_png
from motcua.app.i18n import (
    fmt_date,
    fmt_int,
    fmt_minutes,
    fmt_pct,
    fmt_pp,
    fmt_short,
    fmt_signed,
    t,
)
from motcua.app.workspace import RunInfo, is_id
from motcua.placement import PlacementRun

#: (figure, text key, kind) shown in the table of differences; the figures are fields of
#: :class:`~motcua.placement.PlacementFigures`.
FIGURES: tuple[tuple[str, str, str], ...] = (
    ("covered_share", "covered_share", "pct"),
    ("covered_population", "covered_people", "int"),
    ("uncovered_population", "uncovered_people", "int"),
    ("uncoverable_population", "legend_unreachable", "int"),
    ("double_covered_population", "double_covered_people", "int"),
    ("mean_minutes", "mean_travel", "min"),
    ("worst_minutes", "worst_travel", "min"),
    ("open_points", "open_points", "int"),
    ("kept_points", "kept_points", "int"),
    ("new_points", "new_points", "int"),
    ("closed_points", "closed_points", "int"),
    ("overloaded_points", "overloaded_points", "int"),
)


def _fmt(value: Any, kind: str, lang: str) -> str:
    if value is None:
        return "–"
    if kind == "pct":
        return fmt_pct(value, 1, lang)
    if kind == "min":
        return fmt_minutes(value, lang)
    return fmt_int(value, lang)


def _diff(a: Any, b: Any, kind: str, lang: str) -> str:
    if a is None or b is None or not (math.isfinite(float(a)) and math.isfinite(float(b))):
        return "–"
    d = float(b) - float(a)
    if kind == "pct":  # a change of a share is in percentage points
        return fmt_pp(100 * d, 1, lang)
    if kind == "min":
        return t("minutes", lang, value=fmt_signed(d, 1, lang))
    return fmt_signed(d, 0, lang)


def figures_table(ra: PlacementRun, rb: PlacementRun, lang: str) -> pd.DataFrame:
    rows = []
    fa, fb = ra.figures, rb.figures  # the one place this page reads the figures
    for key, text, kind in FIGURES:
        a, b = getattr(fa, key), getattr(fb, key)
        rows.append({t("figure", lang): t(text, lang), "A": _fmt(a, kind, lang),
                     "B": _fmt(b, kind, lang), t("difference", lang): _diff(a, b, kind, lang)})
    rows.append({t("figure", lang): t("status", lang), "A": c.status_text(ra.report.status.value),
                 "B": c.status_text(rb.report.status.value), t("difference", lang): ""})
    gap = [fmt_pct(r.report.gap, 2, lang) if math.isfinite(r.report.gap) else "–" for r in (ra, rb)]
    rows.append({t("figure", lang): t("gap", lang), "A": gap[0], "B": gap[1],
                 t("difference", lang): ""})
    return pd.DataFrame(rows)


def settings_table(ra: PlacementRun, rb: PlacementRun, lang: str,
                   params_a: dict[str, Any] | None = None,
                   params_b: dict[str, Any] | None = None) -> pd.DataFrame:
    """The run settings (model, standard, points, overrides, solver options...) that
    differ between A and B, named and valued in words; a standard left at the
    scenario's default shows that default."""
    pa = {**(params_a or {}), **asdict(ra.request)}
    pb = {**(params_b or {}), **asdict(rb.request)}
    names = dict(zip(ra.sites["id"].astype(str), ra.sites["name"].astype(str), strict=True))
    names.update(zip(rb.sites["id"].astype(str), rb.sites["name"].astype(str), strict=True))
    rows = [{t("setting", lang): k, "A": va, "B": vb}
            for k, va, vb in settings_rows(pa, pb, lang, names) if va != vb]
    return pd.DataFrame(rows, columns=[t("setting", lang), "A", "B"])


def _transitions(a: pd.DataFrame, b: pd.DataFrame, flag: str, gained: str,
                 lost: str) -> pd.DataFrame:
    """``b`` with a ``state`` column: ``gained`` where ``flag`` turned true from A to B,
    ``lost`` where it turned false, ``""`` otherwise; rows are matched by ``id`` and a
    row missing from ``a`` counts as false there."""
    was = (a.set_index("id")[flag].astype(bool).reindex(b["id"]).fillna(False)
           .astype(bool).to_numpy())
    now = b[flag].astype(bool).to_numpy()
    state = np.full(len(b), "", dtype=object)
    state[now & ~was] = gained
    state[~now & was] = lost
    return b.assign(state=state)


def changes(ra: PlacementRun, rb: PlacementRun) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """People whose coverage changed and points opened or closed, going from A to B.

    Demand points and sites are matched by ``id``; a point present in one run
    only counts as not covered / not open in the other.
    """
    demand = _transitions(ra.demand, rb.demand, "covered", "newly_covered", "newly_uncovered")
    demand = demand[demand["state"] != ""]
    sites = _transitions(ra.sites, rb.sites, "open", "opened", "closed")
    # a site open in A and missing from B altogether is closed too
    gone = ra.sites[ra.sites["open"].astype(bool) & ~ra.sites["id"].isin(rb.sites["id"])]
    if len(gone):
        sites = pd.concat([sites, gone.assign(state="closed")], ignore_index=True)
    return demand, gpd.GeoDataFrame(sites[sites["state"] != ""], geometry="geometry", crs=4326)


def _pick(runs: list[RunInfo], key: str, param: str, default: str, label: str) -> RunInfo:
    by_id = {r.run_id: r for r in runs}
    wanted = st.query_params.get(param)
    if not is_id(wanted):  # a run id from a link: checked as a whole before it is used
        wanted = None
    if key not in st.session_state:
        st.session_state[key] = wanted if wanted in by_id else default
    elif st.session_state[key] not in by_id:
        st.session_state[key] = default
    lg = c.lang()
    pick = st.selectbox(label, list(by_id), key=key, format_func=lambda i: run_title(by_id[i], lg),
                        placeholder=c.tr("choose_option"))
    if st.query_params.get(param) != pick:
        st.query_params[param] = pick
    return by_id[pick]


def body() -> None:
    st.title(c.tr("compare_title"))
    lang = c.lang()
    ws = c.workspace()
    runs = ws.list_runs("placement")
    for param in ("a", "b"):
        wanted = st.query_params.get(param)
        if wanted and (not is_id(wanted) or wanted not in {r.run_id for r in runs}):
            st.error(c.md_escape(c.tr("unknown_run", run_id=wanted)))
    if len(runs) < 2:
        st.info(c.tr("need_two"))
        return
    left, right = st.columns(2)
    with left:
        ia = _pick(runs, "cmp_a", "a", runs[1].run_id, c.tr("result_a"))
    with right:
        ib = _pick(runs, "cmp_b", "b", runs[0].run_id, c.tr("result_b"))
    ra, rb = load_run(str(ia.result_dir)), load_run(str(ib.result_dir))
    if ra.scenario_name != rb.scenario_name:
        st.warning(c.tr("different_scenarios", a=c.md_escape(ra.scenario_name),
                        b=c.md_escape(rb.scenario_name)))
    synthetic = ia.synthetic or ib.synthetic
    c.synthetic_banner(synthetic)
    query = f"?page=compare&a={ia.run_id}&b={ib.run_id}" + ("&lang=en" if lang == "en" else "")
    link = _origin() + "/" + query
    st.caption(c.tr("share_link"))
    st.code(link, language=None)

    table = figures_table(ra, rb, lang)
    st.dataframe(table, hide_index=True, width="stretch", height=36 * (len(table) + 1) + 4)
    diff = settings_table(ra, rb, lang, ia.params, ib.params)
    if len(diff):
        st.markdown(f"**{t('settings_differ', lang)}**")
        st.dataframe(diff, hide_index=True, width="stretch", height=36 * (len(diff) + 1) + 4,
                     key="settings_differ")
    else:
        st.caption(t("settings_same", lang))

    # the same extent and the same size scale on both maps, side by side at the same height
    # (the reports, whose warnings differ in height, go in a row of their own above them)
    bounds = maps.bounds_of(ra.demand, rb.demand, ra.sites[ra.sites["open"]], rb.sites[rb.sites["open"]])
    size_max = float(max(ra.demand["population"].max(), rb.demand["population"].max()) or 1.0)
    label = c.map_label(synthetic)
    scenario = _scenario_of(ia)
    outline = c.outline_of(scenario, rb.demand if scenario is None else None)
    runs = ((ia, ra, "A"), (ib, rb, "B"))
    for col, (info, run, name) in zip(st.columns(2), runs, strict=True):
        with col:
            st.markdown(f"**{name}: {c.md_escape(run_title(info, lang))}**")
            c.show_report(run.report, compact=True)
    # ... and locked together: panning or zooming one moves the other
    for col, (_info, run, name) in zip(st.columns(2), runs, strict=True):
        with col:
            m = result_map(run, bounds=bounds, size_max=size_max, label=label, outline=outline,
                           legend_open=False)
            maps.link_views(m, "compare")
            c.show_map(m, key=f"cmp_map_{name}", height=420)
    st.caption(c.tr("map_legend_placement"))

    st.subheader(c.tr("changes_map"))
    demand, sites = changes(ra, rb)
    cols = st.columns(4)
    newly = demand.loc[demand["state"] == "newly_covered", "population"].sum()
    lost = demand.loc[demand["state"] == "newly_uncovered", "population"].sum()
    n_opened = int((sites["state"] == "opened").sum())
    n_closed = int((sites["state"] == "closed").sum())
    cols[0].metric(c.tr("newly_covered"), fmt_short(newly, lang),
                   help=c.tr("people_value", value=fmt_int(newly, lang)))
    cols[1].metric(c.tr("newly_uncovered"), fmt_short(lost, lang),
                   help=c.tr("people_value", value=fmt_int(lost, lang)))
    cols[2].metric(c.tr("opened"), fmt_int(n_opened, lang))
    cols[3].metric(c.tr("closed"), fmt_int(n_closed, lang))
    m = maps.new_map(bounds, basemap=maps.basemap_available(), leaflet_base=c.leaflet_base(), label=label)
    maps.add_outline(m, outline)
    maps.add_points(m, c.with_tip_numbers(demand, {"population": 0}), name="changes",
                    color_col="state", colors=maps.COLORS,
                    size_col="population", size_max=size_max, radius_px=3, max_radius_px=10,
                    fill_opacity=0.7, weight=0.3,
                    tooltip={"name": c.tr("name"), "population_text": c.tr("population")})
    for state in ("opened", "closed"):
        maps.add_points(m, sites[sites["state"] == state], name=state, color=maps.COLORS[state],
                        square=True, tooltip={"name": c.tr("name")})
    maps.add_legend(m, [(maps.COLORS["newly_covered"], c.tr("newly_covered")),
                        (maps.COLORS["newly_uncovered"], c.tr("newly_uncovered")),
                        (maps.COLORS["opened"], c.tr("opened")), (maps.COLORS["closed"], c.tr("closed"))],
                    square=(False, False, True, True), title=c.legend_title())
    c.show_map(m, key="cmp_changes", height=480)
    st.caption(c.tr("map_legend_changes"))
    c.basemap_caption(maps.basemap_available())

    changed = [(c.tr("newly_covered"), fmt_int(newly, lang)),
               (c.tr("newly_uncovered"), fmt_int(lost, lang)),
               (c.tr("opened"), fmt_int(n_opened, lang)), (c.tr("closed"), fmt_int(n_closed, lang))]
    st.download_button(
        c.tr("brief"), key="dl_brief", on_click="ignore", mime="text/html",
        file_name=f"so-sanh-{ia.run_id[-8:]}-{ib.run_id[-8:]}.html" if lang != "en"
        else f"comparison-{ia.run_id[-8:]}-{ib.run_id[-8:]}.html",
        data=lambda: brief_html(
            lang=lang, scenario=rb.scenario_name, made_on=fmt_date(dt.date.today(), lang),
            run_a=run_title(ia, lang), run_b=run_title(ib, lang),
            figures=table.astype(str).to_numpy().tolist(),
            settings=diff.astype(str).to_numpy().tolist(), changes=changed,
            map_png=changes_png(outline, demand, sites, maps.COLORS, bounds), link=link,
            synthetic=synthetic).encode("utf-8"))


def _origin() -> str:
    """``http://host:port`` the browser used (empty when unknown, e.g. under AppTest)."""
    url = str(getattr(st.context, "url", "") or "")
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _scenario_of(info: RunInfo) -> Any:
    """The run's scenario (for its commune outlines), or None when it cannot be opened."""
    try:
        return c.load_ref(c.workspace(), info.scenario_ref)
    except Exception:  # noqa: BLE001 - outlines are a help, never a reason to fail
        return None


body()
