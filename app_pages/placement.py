"""Placement page: choose a model and standard, solve, and read the map and key figures."""

from __future__ import annotations

import time
from dataclasses import asdict, replace

import altair as alt
import pandas as pd
import streamlit as st

from app_pages import _common as c
from app_pages._placement_view import (
    load_run,
    result_map,
    run_label,
    run_title,
    served_area,
    settings_rows,
)
from geodata.coverage import existing_site_mask
from geodata.scenario import Scenario
from motcua.app import maps
from motcua.app.i18n import (
    coverage_text,
    fmt_datetime,
    fmt_int,
    fmt_minutes,
    fmt_pct,
    fmt_short,
    fmt_signed,
    t,
)
from motcua.app.workspace import RunInfo
from motcua.errors import InvalidInputError
from motcua.placement import (
    MODELS,
    PlacementRequest,
    PlacementRun,
    closures_table,
    explain,
    run_placement,
)


def key_figures(run: PlacementRun) -> None:
    lang = c.lang()
    f = run.figures  # the one place this page reads the figures (with _show_run's tables)
    cols = st.columns(5)
    cols[0].metric(c.tr("covered_share"), fmt_pct(f.covered_share, 1, lang))
    cols[1].metric(c.tr("uncovered_people"), fmt_short(f.uncovered_population, lang),
                   help=c.tr("people_value", value=fmt_int(f.uncovered_population, lang)))
    cols[2].metric(c.tr("mean_travel"), fmt_minutes(f.mean_minutes, lang))
    cols[3].metric(c.tr("worst_travel"), fmt_minutes(f.worst_minutes, lang))
    cols[4].metric(c.tr("open_points"), fmt_int(f.open_points, lang))
    st.caption(c.tr("open_points_help", kept=fmt_int(f.kept_points, lang),
                    new=fmt_int(f.new_points, lang),
                    closed=fmt_int(f.closed_points, lang)))
    total = f.total_population or 0.0
    twice = f.double_covered_population
    if twice is not None:
        st.caption(c.tr("double_covered_help", people=fmt_int(twice, lang),
                        share=fmt_pct(twice / total if total else None, 1, lang)))
    unreachable = f.uncoverable_population or 0.0
    if unreachable > 0:
        st.caption(c.tr("unreachable_help", people=fmt_int(unreachable, lang),
                        share=fmt_pct(unreachable / total if total else None, 1, lang)))
    if run.weighted_by_dossiers:
        st.caption(c.tr("weighted_by_dossiers"))
    closed = int(f.closed_points or 0)
    if closed:
        st.info(c.tr("closes_existing", n=fmt_int(closed, lang)))
    overloaded = int(f.overloaded_points or 0)
    if overloaded and not run.request.capacitated:
        st.warning(c.tr("overloaded_uncapacitated", n=fmt_int(overloaded, lang),
                        top=fmt_pct(f.max_utilisation, 0, lang)))


def _closures(run: PlacementRun) -> None:
    """The offices that can close, the largest savings first, with their travel cost."""
    st.subheader(c.tr("closures_title"))
    table = closures_table(run)
    if table.empty:
        st.caption(c.tr("closures_none"))
        return
    st.dataframe(table, hide_index=True, width="stretch", height=300, column_config={
        "id": st.column_config.TextColumn(c.tr("site_id"), width="small"),
        "name": c.tr("name")})


def _pareto_chart(pareto: pd.DataFrame, current_p: int) -> alt.Chart:
    data = pareto.assign(share=pareto["covered_share"])
    tooltip = [alt.Tooltip("p:Q", title=c.tr("n_points")),
               alt.Tooltip("share:Q", format=".1%", title=c.tr("covered_share"))]
    if "added_population" in data:  # results saved before it was added lack it
        tooltip.append(alt.Tooltip("added_population:Q", format=",.0f", title=c.tr("added_people")))
    base = alt.Chart(data).encode(
        x=alt.X("p:Q", title=c.tr("n_points")),
        y=alt.Y("share:Q", title=c.tr("covered_share"), axis=alt.Axis(format="%"),
                scale=alt.Scale(zero=False)),
        tooltip=[*tooltip, alt.Tooltip("status:N", title=c.tr("status"))],
    )
    line = base.mark_line(point=True)
    rule = alt.Chart(pd.DataFrame({"p": [current_p]})).mark_rule(strokeDash=[4, 4], color="#888").encode(x="p:Q")
    return (line + rule).properties(height=280)


def _show_run(scenario: Scenario | None, info: RunInfo) -> None:
    run = load_run(str(info.result_dir))
    lang = c.lang()
    st.subheader(c.md_escape(info.label))
    st.caption(c.md_escape(f"{info.scenario_name} · {fmt_datetime(info.created, lang)} · "
                           f"{coverage_text(run.coverage_label, lang)}"))
    c.synthetic_banner(info.synthetic)
    answer = explain(run.figures, run.request, lang)
    if answer and run.report.status.has_solution:
        st.info(c.md_escape(answer))  # the planner's question answered in one sentence
    key_figures(run)  # the answer first, then how sure the solver is of it
    c.show_report(run.report, elapsed=info.params.get("elapsed_s"))
    meaning = run.objective_meaning(lang)
    if meaning:
        st.caption(meaning)
    if run.request.model == "closure" and run.report.status.has_solution:
        _closures(run)

    st.subheader(c.tr("result_map"))
    served = None
    same_scenario = scenario is not None and scenario.name == run.scenario_name
    minutes = float(run.request.minutes or (scenario.settings.coverage.max_minutes if scenario else 30.0))
    if same_scenario and st.toggle(c.tr("show_isochrones"), key="show_iso"):
        assert scenario is not None
        with st.spinner(c.tr("computing_isochrones")):
            served = served_area(scenario, info.run_id, minutes, run.sites[run.sites["open"]])
    bounds = maps.bounds_of(run.demand, run.sites[run.sites["open"] | run.sites["closed_now"]])
    size_max = float(run.demand["population"].max() or 1.0)
    outline = c.outline_of(scenario, run.demand) if same_scenario else None
    c.show_map(result_map(run, bounds=bounds, size_max=size_max,
                          label=c.map_label(info.synthetic), served=served, outline=outline),
               key=f"placement_map_{info.run_id}", height=520)
    st.caption(c.tr("map_legend_placement"))
    c.basemap_caption(maps.basemap_available())

    left, right = st.columns(2)
    with left:
        st.markdown(f"**{c.tr('load_per_point')}**")
        open_sites = run.sites[run.sites["open"]]
        # the name beside the id (a narrow column, so the figures stay in sight)
        table = pd.DataFrame(open_sites.drop(columns="geometry"))[
            ["utilisation", "load_per_day", "capacity_per_day", "name", "kind"]
        ].sort_values("utilisation", ascending=False)
        kinds = c.kind_labels()
        table["kind"] = table["kind"].map(lambda k: kinds.get(k, k))
        table["load_per_day"] = table["load_per_day"].astype(float).round(1)
        table["capacity_per_day"] = table["capacity_per_day"].astype(float).round(0)
        # headers in words (a copied or exported table keeps them), names not ids
        table = table.rename(columns={"utilisation": c.tr("utilisation"), "load_per_day": c.tr("load_col"),
                                      "capacity_per_day": c.tr("capacity_col"), "name": c.tr("name"),
                                      "kind": c.tr("kind")})
        localized = "localized" if lang != "en" else None
        st.dataframe(table, hide_index=True, width="stretch", height=300, column_config={
            c.tr("utilisation"): st.column_config.ProgressColumn(format="percent", min_value=0.0,
                                                                 max_value=1.5),
            c.tr("load_col"): st.column_config.NumberColumn(format=localized or "%.1f"),
            c.tr("capacity_col"): st.column_config.NumberColumn(format=localized or "%.0f"),
            c.tr("name"): st.column_config.TextColumn(width="medium")})
    with right:
        by_commune = run.figures.uncovered_by_commune
        st.markdown(f"**{c.tr('uncovered_by_commune')}**")
        if by_commune:
            uncovered = pd.DataFrame({c.tr("commune"): list(by_commune),
                                      c.tr("uncovered_people"): list(by_commune.values())})
            unreachable_by = run.figures.uncoverable_by_commune
            if unreachable_by:  # absent from results saved before it was added
                uncovered[c.tr("unreachable_col")] = [unreachable_by.get(k, 0.0) for k in by_commune]
            num = st.column_config.NumberColumn(format="localized" if lang != "en" else "%.0f")
            st.dataframe(uncovered.round(0), hide_index=True, width="stretch", height=300,
                         column_config={col: num for col in uncovered.columns[1:]})
        else:
            st.success(c.tr("everyone_covered"))

    if run.pareto is not None and len(run.pareto):
        st.subheader(c.tr("pareto"))
        st.altair_chart(_pareto_chart(run.pareto, run.figures.open_points or 0),
                        width="stretch")
        with st.expander(c.tr("pareto_table")):
            lang = c.lang()
            par = run.pareto
            added = par["added_population"] if "added_population" in par else pd.Series(float("nan"), par.index)
            st.dataframe(pd.DataFrame({  # formatted in the page's language, "–" where nothing is added
                c.tr("n_points"): par["p"].astype(int),
                c.tr("covered_share"): [fmt_pct(v, 1, lang) for v in par["covered_share"]],
                c.tr("added_people"): [fmt_signed(v, 0, lang) for v in added],
                c.tr("status"): [c.status_text(str(v)) for v in par["status"]]}),
                hide_index=True, width="stretch")

    with st.expander(c.tr("run_settings")):
        params = {**info.params, **asdict(run.request)}
        names = dict(zip(run.sites["id"].astype(str), run.sites["name"].astype(str), strict=True))
        st.dataframe(pd.DataFrame([(k, v) for k, v, _ in settings_rows(params, None, lang, names)],
                                  columns=[c.tr("setting"), c.tr("run_settings")]),
                     hide_index=True, width="stretch")

    st.subheader(c.tr("downloads"))
    files = [("download_xlsx", "result.xlsx",
              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
             ("download_gpkg", "result.gpkg", "application/geopackage+sqlite3"),
             ("download_geojson", "sites.geojson", "application/geo+json"),
             ("download_csv", "sites.csv", "text/csv"),
             ("download_demand_csv", "demand.csv", "text/csv")]
    # results saved before the workbook existed have no result.xlsx
    files = [f for f in files if (info.result_dir / f[1]).is_file()]
    for col, (label, name, mime) in zip(st.columns(len(files)), files, strict=True):
        path = info.result_dir / name
        col.download_button(c.tr(label), data=path.read_bytes(), file_name=f"{info.run_id}-{name}",
                            mime=mime, key=f"dl_{name}", on_click="ignore")


def _request_form(scenario: Scenario, bad: list[str]) -> tuple[PlacementRequest, str]:
    """The placement form: the first choices on top, the rest under "advanced options".

    An option is shown only where the chosen model uses it (``PlacementRequest.option_applies``,
    the rule the command line's check uses too): a draft of the request, completed as the
    form goes, decides what comes next. The label of every number box that does not hold
    a valid number is appended to ``bad``."""
    lang = c.lang()  # bound now: select boxes call their format_func outside the script run
    sites = scenario.sites
    existing_mask = existing_site_mask(sites)
    existing = int(existing_mask.sum())
    std = scenario.settings.coverage
    a, b, d = st.columns(3)
    model = a.selectbox(c.tr("model"), MODELS, key="model", format_func=lambda m: t(f"model_{m}", lang),
                        placeholder=c.tr("choose_option"))
    minutes = c.number_field(b, c.tr("max_minutes"), min_value=1.0, max_value=240.0,
                             value=float(std.max_minutes), step=5.0, key="minutes", decimals=0,
                             bad=bad)
    km = c.number_field(d, c.tr("max_km"), min_value=0.5, max_value=100.0, value=float(std.max_km),
                        step=0.5, key="km", decimals=1, bad=bad)
    draft = PlacementRequest(model=model)
    # the planner's questions: every commune keeps its one-stop desk, N points added to
    # the network, or which offices can close (the closure model); each shown only where
    # the model uses it (the rule the command line checks)
    a, b, d = st.columns(3)
    keep_choice, add, max_loss = "none", 0, 0.0
    if draft.option_applies("keep_existing"):
        keep_choice = a.selectbox(c.tr("keep_existing"), ("none", "all", "branches", "receptions"),
                                  key="keep_existing",
                                  format_func=lambda x: t(f"keep_existing_{x}", lang),
                                  help=c.tr("keep_existing_help"), placeholder=c.tr("choose_option"))
    if draft.option_applies("add"):
        add = b.number_input(c.tr("add_points"), min_value=0, max_value=max(1, len(sites)),
                             value=0, step=1, key="add_points", format="%d",
                             help=c.tr("add_points_help"))
    # the capacities box is further down (advanced options); its last value decides here
    capacities_ticked = draft.option_applies("capacitated") and bool(st.session_state.get("capacitated"))
    if replace(draft, capacitated=capacities_ticked).option_applies("max_loss"):
        max_loss = c.number_field(d, c.tr("max_loss"), min_value=0.0, value=0.0, step=100.0,
                                  key="max_loss", decimals=0, help=c.tr("max_loss_help"), bad=bad)
    keep_existing = keep_choice if keep_choice != "none" else None
    if keep_existing is None and draft.option_applies("keep_existing"):
        st.caption(c.tr("keep_existing_hint", n=fmt_int(existing, lang)))
    adding = int(add) if add else None
    draft = replace(draft, keep_existing=keep_existing, add=adding,
                    max_loss=float(max_loss) if max_loss > 0 else None)
    a, b, d = st.columns(3)
    by_budget = False
    if draft.option_applies("budget"):
        limit = a.radio(c.tr("limit_by"), ("points", "budget"), key="limit_by", horizontal=True,
                        format_func=lambda x: t("n_points" if x == "points" else "budget", lang))
        by_budget = limit == "budget"
    p = None
    if draft.option_applies("p") and not by_budget:
        p = b.number_input(c.tr("n_points"), min_value=1, max_value=max(1, len(sites)),
                           value=max(1, existing), step=1, key="p", format="%d")
    budget = None
    if by_budget:
        budget = c.number_field(b, c.tr("budget"), min_value=0.0,
                                value=float(sites.loc[sites["kind"] != "candidate", "opening_cost"].sum()),
                                step=1.0, key="budget", decimals=0, bad=bad)
    time_limit = d.number_input(c.tr("time_limit_s"), min_value=1, max_value=3600, value=30, step=5,
                                key="place_time_limit", format="%d")
    draft = replace(draft, budget=float(budget) if by_budget and budget is not None else None)
    ids = sites["id"].astype(str).tolist()
    names = dict(zip(ids, sites["name"].astype(str), strict=True)) if "name" in sites else {}

    def site_label(i: str) -> str:
        return f"{names.get(i, '')} ({i})" if names.get(i) else i

    with st.expander(c.tr("advanced_options")):
        a, b, d = st.columns(3)
        capacitated = False
        if draft.option_applies("capacitated"):
            capacitated = a.checkbox(c.tr("use_capacity"), key="capacitated")
        draft = replace(draft, capacitated=bool(capacitated))
        penalty = 0.0
        if draft.option_applies("overload_penalty"):
            penalty = c.number_field(a, c.tr("overload_penalty"), min_value=0.0, value=0.0, step=0.5,
                                     key="overload_penalty", decimals=1,
                                     help=c.tr("overload_penalty_help"), bad=bad)
        single = False
        if draft.option_applies("single_assignment"):
            single = a.checkbox(c.tr("single_assignment"), key="single_assignment",
                                help=c.tr("single_assignment_help"))
        # capacities are dossiers per day, so the capacitated models always count dossiers
        weighting = "in_person"
        if draft.option_applies("weighting"):
            weighting = a.radio(c.tr("weighting"), ("population", "in_person"), key="weighting",
                                format_func=lambda x: t(f"weighting_{x}", lang))
        min_cov = 0.0
        if draft.option_applies("min_covered_pct"):
            min_cov = c.number_field(a, c.tr("min_covered"), min_value=0.0, max_value=100.0, value=0.0,
                                     step=1.0, key="min_covered", decimals=0,
                                     help=c.tr("min_covered_help"), bad=bad)
        backup = False
        if draft.option_applies("backup"):
            backup = b.checkbox(c.tr("backup"), key="backup", help=c.tr("backup_help"))
        draft = replace(draft, backup=bool(backup))
        lexi = False
        if draft.option_applies("lexicographic"):
            lexi = b.checkbox(c.tr("lexicographic"), key="lexicographic",
                              help=c.tr("lexicographic_help"))
        pareto_on = b.checkbox(c.tr("pareto_on"), key="pareto_on")
        pareto_max = 0
        if pareto_on:
            pareto_max = b.number_input(c.tr("pareto_max"), min_value=1, max_value=max(1, len(sites)),
                                        value=min(len(sites), max(10, existing)), step=1,
                                        key="pareto_max", format="%d")
        seed = d.number_input(c.tr("seed"), min_value=0, max_value=2**31 - 1, value=0, step=1,
                              key="place_seed", format="%d")
        threads = d.selectbox(c.tr("threads"), (1, 2), key="place_threads",
                              placeholder=c.tr("choose_option"))
        # this run's overrides of the scenario's site statuses
        a, b = st.columns(2)
        keep_open = a.multiselect(c.tr("keep_open"), ids, key="keep_open", format_func=site_label,
                                  help=c.tr("keep_open_help"), placeholder=c.tr("choose_options"))
        close = b.multiselect(c.tr("close_sites"), [i for i in ids if i not in keep_open],
                              key="close_sites", format_func=site_label,
                              help=c.tr("close_sites_help"), placeholder=c.tr("choose_options"))
    req = replace(
        draft,
        p=int(p) if p is not None else None,
        minutes=float(minutes) if minutes != std.max_minutes else None,
        km=float(km) if km != std.max_km else None,
        single_assignment=bool(single),
        overload_penalty=float(penalty) if penalty > 0 else None,
        keep_open=tuple(keep_open), close=tuple(close),
        lexicographic=bool(lexi),
        weighting=weighting,
        min_covered_pct=float(min_cov) if min_cov > 0 else None,
        pareto=int(pareto_max) if pareto_on else None,
        time_limit_s=float(time_limit), seed=int(seed), threads=int(threads),
    )
    default_label = run_label(req, scenario, lang)
    label = st.text_input(c.tr("run_label"), value=default_label,
                          key=f"place_label_{default_label}")
    return req, label


def body() -> None:
    st.title(c.tr("placement_title"))
    loaded = c.current_scenario()
    ws = c.workspace()
    scenario: Scenario | None = None
    if loaded is not None:
        ref, scenario = loaded
        st.caption(c.tr("current_scenario", name=c.md_escape(scenario.name)))
        c.synthetic_banner(scenario.settings.synthetic)

    finished = c.follow_job("placement")
    if finished is not None:
        if finished.error:
            st.error(c.tr("solve_failed", error=""))
            c.show_error_text(finished.error)
        else:
            st.session_state["placement_fresh"] = finished.run_id
            st.success(c.tr("solve_done", run_id=finished.run_id))

    # results first: the run just finished (or picked) on top, the form below it
    c.saved_runs_section(ws, "placement", lambda info: _show_run(scenario, info), divider=False,
                         title=run_title)
    if loaded is not None and scenario is not None:
        st.subheader(c.tr("new_solve"))
        st.info(c.tr("placement_hint"))
        with st.container(border=True):
            bad: list[str] = []
            request, label = _request_form(scenario, bad)
            running = "job_placement" in st.session_state
            if st.button(c.tr("run"), type="primary", key="run_placement", disabled=running):
                try:
                    if bad:
                        raise InvalidInputError(c.tr("fix_numbers", fields=", ".join(bad)))
                    request.check()
                except InvalidInputError as exc:
                    c.show_error_text(str(exc))
                else:
                    scen = scenario

                    def work(job: c.Job) -> RunInfo:
                        run = run_placement(scen, request, stop=job.stop,
                                            progress=job.tell)
                        std = scen.settings.coverage
                        params = {**asdict(request),
                                  "standard_minutes": request.minutes or std.max_minutes,
                                  "standard_km": request.km or std.max_km,
                                  "elapsed_s": round(time.monotonic() - job.started, 2)}
                        return ws.save_run("placement", run.save, label=label, scenario_ref=ref,
                                           scenario_name=scen.name,
                                           synthetic=scen.settings.synthetic,
                                           params=params, figures=run.figures.to_dict(),
                                           report=run.report.to_dict())

                    c.start_job("placement", float(request.time_limit_s or 60.0), work)
                    st.rerun()


body()
