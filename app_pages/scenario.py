"""Scenario page: choose or upload a scenario, see its key figures and a map."""

from __future__ import annotations

import geopandas as gpd
import streamlit as st

from app_pages import _common as c
from geodata.scenario import Scenario
from geodata.summary import summarize_scenario
from motcua.app import maps
from motcua.app.i18n import fmt_int, fmt_pct, fmt_short, in_language

UPLOAD_TYPES = ["zip", "toml", "csv", "geojson", "json", "gpkg", "graphml", "osm", "xml"]


def _on_upload() -> None:
    """Check, unpack and validate the uploaded files; open them only if they are a valid
    scenario (bounded by the upload limits; on any failure the previous scenario stays open)."""
    files = st.session_state.get("upload") or []
    st.session_state.pop("upload_result", None)
    if not files:
        return
    names = ", ".join(f.name for f in files)
    try:
        ref, name = c.workspace().add_upload([(f.name, f.getvalue()) for f in files])
    except (ValueError, OSError) as exc:  # ScenarioError, UploadError: named problems
        c.logger.info("upload %s refused: %s", names, exc)
        st.session_state["upload_result"] = ("error", names, str(exc))
        return
    st.session_state["scenario_ref"] = ref
    st.session_state["scenario_pick"] = ref
    st.session_state["upload_result"] = ("ok", names, name)


def _on_pick() -> None:
    st.session_state["scenario_ref"] = st.session_state["scenario_pick"]
    st.session_state.pop("upload_result", None)


def body() -> None:
    st.title(c.tr("scenario_title"))
    ws = c.workspace()
    refs = ws.list_scenarios()
    current = st.session_state.get("scenario_ref")
    if current and current not in refs:
        refs.insert(0, current)
    if refs:
        if st.session_state.get("scenario_pick") not in refs:
            st.session_state["scenario_pick"] = current if current in refs else refs[0]
        st.selectbox(c.tr("choose_scenario"), refs, key="scenario_pick",
                     format_func=lambda r: c.scenario_title(ws, r), on_change=_on_pick,
                     placeholder=c.tr("choose_option"))
    st.file_uploader(c.tr("upload_scenario"), type=UPLOAD_TYPES, accept_multiple_files=True,
                     key="upload", on_change=_on_upload,
                     help=c.tr("upload_help", mb=int(st.get_option("server.maxUploadSize"))))
    result = st.session_state.get("upload_result")
    if result and result[0] == "error":
        st.error(c.tr("upload_failed", files=c.md_escape(result[1])))
        c.show_error_text(result[2])
    elif result:
        st.success(c.tr("upload_ok", name=c.md_escape(result[2])))

    loaded = c.current_scenario()
    if loaded is None:
        return
    ref, scenario = loaded
    st.subheader(c.tr("current_scenario", name=c.md_escape(scenario.name)))
    if scenario.settings.description:
        # "tiếng Việt | English" (the demo's, motcua import's): the half of the page's language
        st.caption(c.md_escape(in_language(scenario.settings.description, c.lang())))
    c.synthetic_banner(scenario.settings.synthetic)
    if scenario.warnings:
        with st.expander(c.tr("scenario_warnings") + f" ({len(scenario.warnings)})"):
            for w in scenario.warnings:
                st.text(w)

    summary = summarize_scenario(scenario)
    lang = c.lang()
    n_sites = sum(v for k, v in summary.sites_by_kind.items() if k != "candidate")
    # two rows of four: seven cards in one row cut "999.997" and "3,121,…" off
    cols = [*st.columns(4), *st.columns(4)]
    cols[0].metric(c.tr("population"), fmt_short(summary.population, lang),
                   help=c.tr("people_value", value=fmt_int(summary.population, lang)))
    cols[1].metric(c.tr("communes"), fmt_int(summary.communes, lang))
    cols[2].metric(c.tr("sites"), fmt_int(n_sites, lang))
    cols[3].metric(c.tr("candidates"), fmt_int(summary.sites_by_kind.get("candidate", 0), lang))
    cols[4].metric(c.tr("staff"), fmt_int(summary.staff, lang))
    cols[5].metric(c.tr("dossiers_per_week"), fmt_short(summary.dossiers_per_week, lang))
    cols[6].metric(c.tr("online_share"),
                   fmt_pct(summary.online_share, 1, lang) if summary.online_share is not None
                   else c.tr("not_available"))

    st.subheader(c.tr("scenario_map"))
    roads = None
    if scenario.roads_path is not None and st.toggle(c.tr("show_roads"), key="show_roads"):
        try:
            roads = _roads(scenario, str(scenario.roads_path))
        except Exception as exc:  # noqa: BLE001 - a bad road file must not hide the map
            st.warning(c.tr("roads_unavailable", error=c.md_escape(str(exc))))
    basemap = maps.basemap_available()
    m = maps.new_map(maps.bounds_of(scenario.demand, scenario.sites), basemap=basemap,
                     leaflet_base=c.leaflet_base(), label=c.map_label(scenario.settings.synthetic))
    maps.add_outline(m, c.outline_of(scenario))
    if roads is not None:
        maps.add_shapes(m, roads, name="roads", color=maps.COLORS["road"], weight=1, fill_opacity=0,
                        simplify_deg=0.0001)
    dense = len(scenario.demand) > maps.DENSITY_FROM
    if dense:  # a province: a density surface, each demand area when zoomed in
        maps.add_density(m, scenario.demand, weight_col="population", leaflet_base=c.leaflet_base())
    maps.add_points(m, c.with_tip_numbers(scenario.demand, {"population": 0}), name="demand",
                    color=maps.COLORS["demand"],
                    size_col="population", radius_px=4, max_radius_px=12, fill_opacity=0.45,
                    tooltip={"name": c.tr("name"), "population_text": c.tr("population")},
                    min_zoom=maps.POINTS_ZOOM if dense else None)
    sites = c.sites_in_draw_order(
        scenario.sites.assign(kind_label=scenario.sites["kind"].map(c.kind_labels())))
    candidates = sites["kind"] == "candidate"
    maps.add_points(m, sites[candidates], name="candidates", color=maps.COLORS["candidate"],
                    radius_px=3, weight=0.5, fill_opacity=0.5,
                    tooltip={"name": c.tr("name"), "kind_label": c.tr("kind")})
    maps.add_points(m, sites[~candidates], name="sites", color_col="kind", colors=maps.COLORS,
                    radius_px=6, weight=1.5, fill_opacity=0.95,
                    tooltip={"name": c.tr("name"), "kind_label": c.tr("kind")})
    maps.add_legend(m, [(maps.COLORS["demand"], c.tr("legend_density") if dense else c.tr("population")),
                        (maps.COLORS["branch"], c.tr("kind_branch")),
                        (maps.COLORS["reception"], c.tr("kind_reception")),
                        (maps.COLORS["candidate"], c.tr("kind_candidate"))],
                    title=c.legend_title())
    c.show_map(m, key="scenario_map")
    st.caption(c.tr("map_legend_scenario") + (" " + c.tr("map_points_zoom") if dense else ""))
    c.basemap_caption(basemap)


@st.cache_resource(max_entries=2, show_spinner=False)
def _roads(_scenario: Scenario, key: str) -> gpd.GeoDataFrame:
    """Road lines of the scenario's network for display, each two-way street drawn once."""
    import osmnx as ox

    from geodata.coverage import scenario_graph

    graph, _source = scenario_graph(_scenario)
    if graph is None:
        return gpd.GeoDataFrame(geometry=[], crs=4326)
    edges = ox.graph_to_gdfs(graph, nodes=False)[["geometry"]]
    u = edges.index.get_level_values(0)
    v = edges.index.get_level_values(1)
    pairs = set(zip(u, v, strict=True))
    keep = [a < b or (b, a) not in pairs for a, b in zip(u, v, strict=True)]
    return edges[keep].to_crs(4326)


body()
