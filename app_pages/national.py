"""Whole-country page: the provinces of a ``motcua sweep`` on a map coloured by today's
coverage, their table, and one province opened on the Placement and Compare pages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app_pages import _common as c
from motcua.app import maps, national
from motcua.app.i18n import fmt_int, fmt_pct
from motcua.app.workspace import WorkspaceError


def _choose_folder() -> Path | None:
    ws = c.workspace()
    found = national.find_sweeps(ws)
    typed = st.text_input(c.tr("sweep_folder"), key="sweep_folder_typed",
                          placeholder=str(ws.root / national.SWEEPS_DIR / "2026"),
                          help=c.tr("sweep_folder_help"))
    if typed.strip():
        folder = Path(typed.strip()).expanduser()
        if not national.is_sweep(folder):
            st.error(c.tr("sweep_not_found", path=c.md_escape(str(folder))))
            return None
        return folder
    if not found:
        st.info(c.tr("no_sweep", path=c.md_escape(str(ws.root / national.SWEEPS_DIR))))
        st.code("motcua sweep --provinces all --models coverage,lscp --workers 2 "
                f"--out {ws.root / national.SWEEPS_DIR / '2026'}", language=None)
        return None
    return Path(st.selectbox(c.tr("sweep_pick"), [str(p) for p in found], key="sweep_pick",
                             placeholder=c.tr("choose_option")))


def _map(table: pd.DataFrame) -> None:
    lang = c.lang()
    shown = table.assign(
        color=table["covered_existing_share"].map(national.coverage_color),
        share_text=table["covered_existing_share"].map(lambda v: fmt_pct(v, 1, lang)),
        uncovered_text=table["uncovered_existing"].map(lambda v: fmt_int(v, lang)),
        points_text=table["lscp_points"].map(lambda v: fmt_int(v, lang)),
    )
    m = maps.new_map(maps.bounds_of(shown[shown.geometry.notna()]), basemap=maps.basemap_available(),
                     leaflet_base=c.leaflet_base())
    maps.add_shapes(m, shown, name="provinces", color="#333", color_col="color",
                    fill_opacity=0.7, simplify_deg=0.005, keep=["slug"],
                    tooltip={"name": c.tr("province"), "share_text": c.tr("covered_today"),
                             "uncovered_text": c.tr("uncovered_people"),
                             "points_text": c.tr("points_needed")})
    bounds = [f"≥ {fmt_pct(lower, 1, lang)}" for lower, _ in national.COVERAGE_CLASSES]
    maps.add_legend(m, [(color, label) for (_, color), label in
                        zip(national.COVERAGE_CLASSES, bounds, strict=True)],
                    square=[True] * len(bounds))
    # a click on a province picks it below (only clicks rerun the page, not panning)
    clicked = c.show_map(m, key="national_map", height=560, returned=["last_active_drawing"])
    _pick_clicked(clicked.get("last_active_drawing"), table)
    st.caption(c.tr("national_map_caption"))
    c.basemap_caption(maps.basemap_available())


def _pick_clicked(feature: object, table: pd.DataFrame) -> None:
    """The province clicked on the map becomes the one chosen under "open a province";
    the same click is applied once, so choosing another in the list afterwards stands."""
    props = feature.get("properties") if isinstance(feature, dict) else None
    slug = props.get("slug") if isinstance(props, dict) else None
    if not isinstance(slug, str) or slug == st.session_state.get("national_clicked"):
        return
    st.session_state["national_clicked"] = slug
    done = table[table["error"].isna()]
    if slug in set(done["slug"]):
        st.session_state["national_province"] = slug


def _table(table: pd.DataFrame) -> None:
    cols = ["name", "communes", "population", "covered_existing_share", "uncovered_existing",
            "existing_sites", "lscp_points", "lscp_new_points", "lscp_status",
            "closure_closable", "closure_cap_closable", "wall_time_s", "worker", "error"]
    extra = [x for x in table.columns if x.startswith("mclp_") and x.endswith("_covered_share")]
    frame = pd.DataFrame(table[[x for x in cols + extra if x in table.columns]])
    config = {
        "name": st.column_config.TextColumn(c.tr("province")),
        "communes": st.column_config.NumberColumn(c.tr("communes_col"), format="%d"),
        "population": st.column_config.NumberColumn(c.tr("population"), format="%d"),
        "covered_existing_share": st.column_config.ProgressColumn(
            c.tr("covered_today"), format="percent", min_value=0.0, max_value=1.0),
        "uncovered_existing": st.column_config.NumberColumn(c.tr("uncovered_people"), format="%d"),
        "existing_sites": st.column_config.NumberColumn(c.tr("existing_points"), format="%d"),
        "lscp_points": st.column_config.NumberColumn(c.tr("points_needed"), format="%d"),
        "lscp_new_points": st.column_config.NumberColumn(c.tr("new_points"), format="%d"),
        "lscp_status": st.column_config.TextColumn(c.tr("status")),
        "closure_closable": st.column_config.NumberColumn(c.tr("closable_col"), format="%d"),
        "closure_cap_closable": st.column_config.NumberColumn(c.tr("closable_cap_col"),
                                                              format="%d"),
        "wall_time_s": st.column_config.NumberColumn(c.tr("province_time"), format="%.1f"),
        "worker": st.column_config.TextColumn(c.tr("worker")),
        "error": st.column_config.TextColumn(c.tr("error_col")),
    }
    for x in extra:
        n = x.removeprefix("mclp_").removesuffix("_covered_share")
        config[x] = st.column_config.ProgressColumn(c.tr("mclp_share", n=n), format="percent",
                                                    min_value=0.0, max_value=1.0)
    st.dataframe(frame, hide_index=True, width="stretch", column_config=config,  # type: ignore[arg-type]
                 height=min(36 * (len(frame) + 1) + 4, 640), key="national_table")


def _open(folder: Path, table: pd.DataFrame) -> None:
    done = table[table["error"].isna()].sort_values("name")
    if done.empty:
        return
    st.subheader(c.tr("open_province"))
    by_slug = dict(zip(done["slug"], done["name"], strict=True))
    slug = st.selectbox(c.tr("province"), list(by_slug), format_func=by_slug.__getitem__,
                        key="national_province", placeholder=c.tr("choose_option"))
    left, right = st.columns(2)
    go_place = left.button(c.tr("open_on_placement"), key="national_open_place")
    go_compare = right.button(c.tr("open_on_compare"), key="national_open_compare")
    if not (go_place or go_compare):
        return
    try:
        ref, ids = national.open_province(c.workspace(), folder, slug)
    except (WorkspaceError, OSError, ValueError) as exc:
        c.show_error_text(str(exc))
        return
    if ref:
        st.session_state["scenario_ref"] = ref
    best = ids.get("lscp") or next(iter(ids.values()))
    if go_place:
        st.session_state["placement_fresh"] = best
        st.switch_page("app_pages/placement.py", query_params={"run": best})
    today = ids.get("coverage")
    if today is None or today == best:
        st.info(c.tr("compare_needs_two"))
        return
    st.session_state["cmp_a"], st.session_state["cmp_b"] = today, best
    st.switch_page("app_pages/compare.py", query_params={"a": today, "b": best})


def body() -> None:
    st.title(c.tr("national_title"))
    st.caption(c.tr("national_intro"))
    folder = _choose_folder()
    if folder is None:
        return
    try:
        table = national.load_sweep(folder)
    except (OSError, ValueError) as exc:
        c.show_error_text(str(exc))
        return
    lang = c.lang()
    ok = table[table["error"].isna()]
    failed = table[table["error"].notna()]
    cols = st.columns(4)
    cols[0].metric(c.tr("provinces_done"), f"{len(ok)} / {len(table)}")
    cols[1].metric(c.tr("population"), fmt_int(ok["population"].sum(), lang))
    pop = float(ok["population"].sum())
    unc = float(ok["uncovered_existing"].sum())
    cols[2].metric(c.tr("uncovered_people"), fmt_int(unc, lang),
                   help=fmt_pct(unc / pop if pop else None, 2, lang))
    if "lscp_points" in ok and ok["lscp_points"].notna().any():
        cols[3].metric(c.tr("points_needed"), fmt_int(ok["lscp_points"].sum(), lang),
                       help=c.tr("points_needed_help",
                                 new=fmt_int(ok["lscp_new_points"].sum(), lang)))
    for row in failed.itertuples():
        st.error(c.md_escape(f"{row.province}: {row.error}"))
    _map(table)
    _table(table)
    _open(folder, table)


body()
