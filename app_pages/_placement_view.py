"""Placement results on a map, shared by the Placement and Compare pages."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from app_pages import _common as c
from geodata.scenario import Scenario
from motcua.app import maps
from motcua.placement import PlacementRun


@st.cache_resource(max_entries=16, show_spinner=False)
def load_run(path: str) -> PlacementRun:
    """A saved placement (runs never change once saved, so the path is the key)."""
    return PlacementRun.load(path)


@st.cache_resource(max_entries=8, show_spinner=False)
def served_area(_scenario: Scenario, run_id: str, minutes: float, _open_sites: gpd.GeoDataFrame
                ) -> gpd.GeoDataFrame:
    """Union of the isochrones of the open points (one simplified polygon for the map)."""
    from geodata.coverage import scenario_graph
    from geodata.isochrones import isochrones

    graph, _ = scenario_graph(_scenario)
    iso = isochrones(graph, _open_sites, minutes, _scenario.settings.travel, _scenario.settings.crs)
    merged = iso.to_crs(_scenario.settings.crs).union_all().simplify(50.0)
    return gpd.GeoDataFrame({"minutes": [minutes]}, geometry=[merged],
                            crs=_scenario.settings.crs).to_crs(4326)


def site_change(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Sites to draw (open ones and existing ones closed), with a ``change`` category."""
    change = pd.Series("", index=sites.index)
    change[sites["open"] & ~sites["new"]] = "kept"
    change[sites["new"]] = "new"
    change[sites["closed_now"]] = "closed"
    names = {"kept": c.tr("kept"), "new": c.tr("new"), "closed": c.tr("closed_one"), "": ""}
    out = sites.assign(change=change, change_label=change.map(names))
    return out[out["change"] != ""]


def demand_state(demand: pd.DataFrame) -> pd.Series:
    """``covered``, ``uncovered`` or ``unreachable`` (no candidate within the standard)."""
    state = demand["covered"].map({True: "covered", False: "uncovered"})
    if "coverable" in demand:  # results saved before the column existed have only the two
        state[~demand["covered"].astype(bool) & ~demand["coverable"].astype(bool)] = "unreachable"
    return state


def result_map(run: PlacementRun, *, bounds: list[list[float]], size_max: float, label: str | None,
               served: gpd.GeoDataFrame | None = None) -> Any:
    """Covered / uncovered people and kept / new / closed points, on a given extent and scale."""
    m = maps.new_map(bounds, basemap=maps.basemap_available(), leaflet_base=c.leaflet_base(),
                     label=label)
    if served is not None:
        maps.add_shapes(m, served, name="isochrones", color=maps.COLORS["isochrone"], weight=1,
                        fill_opacity=0.12)
    demand = run.demand.assign(state=demand_state(run.demand))
    maps.add_points(m, demand, name="demand", color_col="state", colors=maps.COLORS,
                    size_col="population", size_max=size_max, radius_px=3, max_radius_px=10,
                    fill_opacity=0.5, weight=0.3,
                    tooltip={"name": c.tr("name"), "population": c.tr("population"),
                             "minutes": c.tr("travel_min_col")})
    sites = site_change(run.sites)
    maps.add_points(m, sites, name="sites", color_col="change", colors=maps.COLORS, radius_px=6,
                    weight=1.5, fill_opacity=0.95,
                    tooltip={"name": c.tr("name"), "change_label": c.tr("change"),
                             "load_per_day": c.tr("load_col")})
    maps.add_legend(m, [(maps.COLORS["covered"], c.tr("legend_covered")),
                        (maps.COLORS["uncovered"], c.tr("legend_uncovered")),
                        (maps.COLORS["unreachable"], c.tr("legend_unreachable")),
                        (maps.COLORS["kept"], c.tr("legend_kept")),
                        (maps.COLORS["new"], c.tr("legend_new")),
                        (maps.COLORS["closed"], c.tr("legend_closed"))])
    return m
