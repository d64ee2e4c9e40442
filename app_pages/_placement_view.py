"""Placement results on a map, shared by the Placement and Compare pages."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from app_pages import _common as c
from geodata.scenario import Scenario
from motcua.app import maps
from motcua.app.i18n import TEXTS, fmt_datetime, fmt_num, t
from motcua.placement import PlacementRequest, PlacementRun


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
               served: gpd.GeoDataFrame | None = None, outline: Any = None,
               legend_open: bool = True) -> Any:
    """Covered / uncovered people and kept / new / closed points, on a given extent and scale.

    A province's thousands of demand areas: the covered ones as a density surface (each
    area from zoom 12 on), the uncovered ones always as points (they are the question)."""
    m = maps.new_map(bounds, basemap=maps.basemap_available(), leaflet_base=c.leaflet_base(),
                     label=label)
    maps.add_outline(m, outline if outline is not None else maps.outline(None, run.demand))
    if served is not None:
        maps.add_shapes(m, served, name="isochrones", color=maps.COLORS["isochrone"], weight=1,
                        fill_opacity=0.12)
    demand = c.with_tip_numbers(run.demand.assign(state=demand_state(run.demand)),
                                {"population": 0, "minutes": 1})
    tip = {"name": c.tr("name"), "population_text": c.tr("population"),
           "minutes_text": c.tr("travel_min_col")}
    if len(demand) > maps.DENSITY_FROM:
        covered = demand[demand["state"] == "covered"]
        maps.add_density(m, covered, weight_col="population", leaflet_base=c.leaflet_base())
        maps.add_points(m, covered, name="covered", color=maps.COLORS["covered"],
                        size_col="population", size_max=size_max, radius_px=3, max_radius_px=10,
                        fill_opacity=0.5, weight=0.3, tooltip=tip, min_zoom=maps.POINTS_ZOOM)
        demand = demand[demand["state"] != "covered"]
    maps.add_points(m, demand, name="demand", color_col="state", colors=maps.COLORS,
                    size_col="population", size_max=size_max, radius_px=3, max_radius_px=10,
                    fill_opacity=0.5, weight=0.3, tooltip=tip)
    sites = c.with_tip_numbers(site_change(run.sites), {"load_per_day": 1})
    maps.add_points(m, sites, name="sites", color_col="change", colors=maps.COLORS, radius_px=6,
                    weight=1.5, fill_opacity=0.95,
                    tooltip={"name": c.tr("name"), "change_label": c.tr("change"),
                             "load_per_day_text": c.tr("load_col")})
    maps.add_legend(m, [(maps.COLORS["covered"], c.tr("legend_covered")),
                        (maps.COLORS["uncovered"], c.tr("legend_uncovered")),
                        (maps.COLORS["unreachable"], c.tr("legend_unreachable")),
                        (maps.COLORS["kept"], c.tr("legend_kept")),
                        (maps.COLORS["new"], c.tr("legend_new")),
                        (maps.COLORS["closed"], c.tr("legend_closed"))],
                    title=c.legend_title(), open_=legend_open)
    return m


def model_short(model: str, lang: str) -> str:
    """``MCLP``, ``p-median``...: the abbreviation in brackets of the model's name."""
    name = t(f"model_{model}", lang) if f"model_{model}" in TEXTS else model
    return name.rsplit("(", 1)[-1].rstrip(")") if "(" in name else name


def _options(params: dict[str, Any], lang: str) -> list[str]:
    out = []
    if params.get("capacitated"):
        out.append(t("setting_capacitated", lang).lower())
    if params.get("backup"):
        out.append(t("setting_backup", lang).lower())
    if params.get("lexicographic"):
        out.append(t("lexicographic_short", lang))
    if params.get("keep_existing"):
        out.append(t("keep_existing_short", lang))
    if params.get("add"):
        out.append(f"+{fmt_num(params['add'], 0, lang)} {t('points_unit', lang)}")
    if params.get("max_loss"):
        out.append(f"{t('max_loss', lang).lower()} {fmt_num(params['max_loss'], 0, lang)}")
    if params.get("keep_open"):
        out.append(f"{t('setting_keep_open', lang).lower()} {len(params['keep_open'])}")
    if params.get("close"):
        out.append(f"{t('setting_close', lang).lower()} {len(params['close'])}")
    return out


def describe(params: dict[str, Any], lang: str, minutes: float | None = None) -> str:
    """Model · standard · points · options, from a run's settings (what tells runs apart)."""
    parts = [model_short(str(params.get("model", "")), lang)]
    mins = params.get("minutes") or params.get("standard_minutes") or minutes
    if mins:
        parts.append(t("minutes", lang, value=fmt_num(float(mins), 0, lang)))
    if params.get("km"):
        parts.append(f"{fmt_num(float(params['km']), 1, lang)} km")
    if params.get("p"):
        parts.append(f"{fmt_num(params['p'], 0, lang)} {t('points_unit', lang)}")
    elif params.get("budget"):
        parts.append(f"{t('setting_budget', lang).lower()} {fmt_num(params['budget'], 0, lang)}")
    return " · ".join(parts + _options(params, lang))


def run_label(req: PlacementRequest, scenario: Scenario, lang: str) -> str:
    """The default name of a new result: what was asked, in words."""
    return describe(asdict(req), lang, minutes=scenario.settings.coverage.max_minutes)


def run_title(info: Any, lang: str) -> str:
    """A saved placement in a picker: its name, then model, standard, points, options and
    time, so two runs never look alike."""
    what = describe(info.params, lang)
    created = fmt_datetime(info.created, lang) if info.created else ""
    label = info.label if info.label != what else ""
    return " · ".join(x for x in (label, what, created) if x)


#: Settings shown in "run settings" and compared on the Compare page, in this order.
SETTINGS: tuple[str, ...] = ("model", "minutes", "km", "p", "budget", "capacitated",
                             "single_assignment", "overload_penalty", "backup", "lexicographic",
                             "min_covered_pct", "weighting", "keep_open", "close", "pareto",
                             "time_limit_s", "seed", "threads")


def setting_value(key: str, value: Any, lang: str, params: dict[str, Any] | None = None,
                  names: dict[str, str] | None = None) -> str:
    """One setting as a reader sees it: words for codes, the default named as such."""
    params = params or {}
    if key == "model":
        return t(f"model_{value}", lang) if f"model_{value}" in TEXTS else str(value)
    if key in ("minutes", "km") and value is None:
        std = params.get(f"standard_{key}")
        return (t("default_value", lang, value=fmt_num(float(std), 0 if key == "minutes" else 1, lang))
                if std is not None else t("default_value", lang, value="").replace(" ()", "").strip())
    if value is None or value == () or value == []:
        return "–"
    if isinstance(value, bool):
        return t("yes" if value else "no", lang)
    if key == "weighting":
        return t(f"weighting_{value}", lang) if f"weighting_{value}" in TEXTS else str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join((names or {}).get(str(v), str(v)) for v in value)
    if isinstance(value, float):
        return fmt_num(value, 0 if value.is_integer() else 1, lang)
    if isinstance(value, int):
        return fmt_num(value, 0, lang)
    return str(value)


def settings_rows(params_a: dict[str, Any], params_b: dict[str, Any] | None, lang: str,
                  names: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """``(setting, A, B)`` for every setting (``B`` empty without a second run); the
    caller keeps the rows that differ."""
    rows = []
    for key in SETTINGS:
        if key not in params_a and (params_b is None or key not in params_b):
            continue
        a = setting_value(key, params_a.get(key), lang, params_a, names)
        b = setting_value(key, params_b.get(key), lang, params_b, names) if params_b is not None else ""
        rows.append((t(f"setting_{key}", lang) if f"setting_{key}" in TEXTS else key, a, b))
    return rows
