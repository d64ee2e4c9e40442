"""Maps for the app: folium (Leaflet) maps that work offline.

Why folium and not pydeck: the app is often used on office machines without a
GPU and sometimes without internet. pydeck draws with WebGL, which falls back
to software rendering there and took 4-10 s per map in our measurements
(``../shared/recipes/README.md``); Leaflet draws with SVG/canvas and took
about 2 s for 2,000 polygons. Leaflet is vendored in ``static/leaflet`` and
served by Streamlit's static serving, so no CDN is needed. A basemap
(OpenStreetMap tiles) is added only when the tile server answers a quick
probe (:func:`basemap_available`); without it the map has no background but
still shows every layer.

All inputs are GeoDataFrames; they are drawn in EPSG:4326 with coordinates
rounded to 1e-5 degrees (about 1 m) to keep the page small.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

logger = logging.getLogger(__name__)

#: Tile server probed by :func:`basemap_available` and used for the basemap.
TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
TILE_ATTRIBUTION = "© OpenStreetMap contributors"
PROBE_URL = "https://tile.openstreetmap.org/0/0/0.png"
#: URL prefix of the vendored Leaflet under Streamlit's static serving.
STATIC_LEAFLET = "/app/static/leaflet"

#: Colours used by every map, so the same thing always has the same colour.
COLORS: dict[str, str] = {
    "demand": "#2b6cb0",
    "covered": "#2b6cb0",
    "uncovered": "#d62728",
    "unreachable": "#8c564b",
    "newly_covered": "#2ca02c",
    "newly_uncovered": "#d62728",
    "branch": "#c0392b",
    "reception": "#e67e22",
    "candidate": "#7f8c8d",
    "kept": "#2ca02c",
    "new": "#8e44ad",
    "closed": "#111111",
    "opened": "#8e44ad",
    "isochrone": "#1f77b4",
    "road": "#8a8a8a",
}

_probe_lock = threading.Lock()
_probe_result: list[bool] = []
_probe_thread: list[threading.Thread] = []


def _probe(url: str, timeout_s: float) -> None:
    try:
        req = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "motcua"})
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 - fixed https URL
            ok = 200 <= resp.status < 400
    except Exception as exc:  # noqa: BLE001 - any failure means "no basemap"
        logger.info("basemap not reachable (%s): %s", url, exc)
        ok = False
    _probe_result.append(ok)


def basemap_available(wait_s: float = 1.5) -> bool:
    """Whether the OpenStreetMap tile server answers; checked once per process.

    ``$MOTCUA_BASEMAP`` forces the answer: ``off`` (tests, offline installs) or
    ``on``. Otherwise one HEAD request is sent in a background thread and waited
    for at most ``wait_s`` seconds (name resolution can hang far longer than a
    socket timeout on an offline machine); until it has answered, the answer is
    ``False`` and the map is drawn without a basemap.
    """
    forced = os.environ.get("MOTCUA_BASEMAP", "").strip().lower()
    if forced in ("off", "0", "no", "false", "none"):
        return False
    if forced in ("on", "1", "yes", "true"):
        return True
    with _probe_lock:
        if not _probe_thread:
            th = threading.Thread(target=_probe, args=(PROBE_URL, 3.0), daemon=True)
            th.start()
            _probe_thread.append(th)
    _probe_thread[0].join(wait_s)
    return bool(_probe_result and _probe_result[0])


def bounds_of(*frames: gpd.GeoDataFrame | None, pad: float = 0.03) -> list[list[float]]:
    """``[[south, west], [north, east]]`` of all frames in WGS84, padded by ``pad`` of the span."""
    boxes = [f.to_crs(4326).total_bounds for f in frames if f is not None and len(f)]
    if not boxes:
        return [[8.0, 102.0], [23.5, 110.0]]  # Vietnam
    west = min(b[0] for b in boxes)
    south = min(b[1] for b in boxes)
    east = max(b[2] for b in boxes)
    north = max(b[3] for b in boxes)
    dx = max(east - west, 0.005) * pad
    dy = max(north - south, 0.005) * pad
    return [[south - dy, west - dx], [north + dy, east + dx]]


def new_map(
    bounds: Sequence[Sequence[float]],
    *,
    basemap: bool,
    leaflet_base: str | None = STATIC_LEAFLET,
    label: str | None = None,
) -> folium.Map:
    """An empty Leaflet map fitted to ``bounds``.

    Parameters
    ----------
    bounds : ``[[south, west], [north, east]]`` in degrees (see :func:`bounds_of`).
    basemap : add OpenStreetMap tiles (only when :func:`basemap_available`).
    leaflet_base : URL folder holding ``leaflet.js`` and ``leaflet.css``; ``None``
        keeps folium's CDN (needs internet). Only Leaflet is loaded: the maps use
        no Bootstrap or icon fonts, so nothing else is fetched.
    label : text shown in a box in the top-right corner (e.g. "SYNTHETIC").
    """
    (south, west), (north, east) = bounds
    m = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        zoom_start=11,
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
        # quarter zoom steps: fitted to whole steps, a province filled as little as a
        # third of the map's width
        zoom_snap=0.25,
        zoom_delta=0.5,
    )
    if leaflet_base is not None:
        m.default_js = [("leaflet", f"{leaflet_base}/leaflet.js")]
        m.default_css = [("leaflet_css", f"{leaflet_base}/leaflet.css")]
    else:
        m.default_js = [js for js in m.default_js if js[0] == "leaflet"]
        m.default_css = [css for css in m.default_css if css[0] == "leaflet_css"]
    if basemap:
        folium.TileLayer(TILE_URL, attr=TILE_ATTRIBUTION, name="OpenStreetMap", max_zoom=19).add_to(m)
    m.fit_bounds([[south, west], [north, east]])
    if label:
        html = (
            '<div style="position:absolute;top:8px;right:8px;z-index:1000;background:#fff3cd;'
            "color:#7a4b00;border:1px solid #e0b000;padding:2px 8px;font:bold 12px sans-serif;"
            f'border-radius:4px">{_escape(label)}</div>'
        )
        m.get_root().html.add_child(folium.Element(html))  # type: ignore[attr-defined]
    return m


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _round_coords(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 5)
    if isinstance(obj, (list, tuple)):
        return [_round_coords(x) for x in obj]
    return obj


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _features(gdf: gpd.GeoDataFrame, props: Sequence[str], points: bool) -> dict[str, Any]:
    """Compact GeoJSON of ``gdf`` (WGS84, rounded) keeping only ``props`` columns."""
    g = gdf.to_crs(4326) if gdf.crs is not None else gdf
    geoms = g.geometry
    if points:
        geoms = geoms.where(geoms.geom_type == "Point", geoms.representative_point())
    cols = [c for c in props if c in g.columns]
    if points:
        ok = ~(geoms.isna() | geoms.is_empty).to_numpy()
        xy = np.round(shapely.get_coordinates(geoms.to_numpy()[ok]), 5).tolist()
        records = pd.DataFrame(g.loc[ok, cols]).to_dict(orient="records") if cols else [{}] * len(xy)
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {k: _plain(v) for k, v in rec.items()},
             "geometry": {"type": "Point", "coordinates": pt}}
            for rec, pt in zip(records, xy, strict=True)]}
    feats = []
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        feats.append({
            "type": "Feature",
            "properties": {c: _plain(g[c].iloc[i]) for c in cols},
            "geometry": {"type": geom.geom_type,
                         "coordinates": _round_coords(geom.__geo_interface__["coordinates"])},
        })
    return {"type": "FeatureCollection", "features": feats}


def add_points(
    m: folium.Map,
    gdf: gpd.GeoDataFrame,
    *,
    name: str,
    color: str | None = None,
    color_col: str | None = None,
    colors: dict[str, str] | None = None,
    size_col: str | None = None,
    size_max: float | None = None,
    radius_px: float = 5.0,
    max_radius_px: float = 14.0,
    tooltip: dict[str, str] | None = None,
    weight: float = 1.0,
    fill_opacity: float = 0.75,
    square: bool = False,
) -> None:
    """Draw points (polygons at a representative point) as circles or squares.

    Parameters
    ----------
    color : one colour for all, or ``color_col`` + ``colors`` (category -> colour).
    size_col, size_max : radius grows with the square root of ``size_col`` and
        reaches ``max_radius_px`` at ``size_max`` (pass the same ``size_max`` to
        two maps to give them the same scale).
    tooltip : column -> label shown on hover.
    square : draw squares (used for opened/closed points on the change map).
    """
    if gdf is None or not len(gdf):
        return
    tooltip = tooltip or {}
    props = list(tooltip) + [c for c in (color_col, size_col) if c]
    data = _features(gdf, list(dict.fromkeys(props)), points=True)
    top = float(size_max) if size_max else None
    if size_col and top is None:
        top = float(pd.to_numeric(gdf[size_col], errors="coerce").max() or 1.0)

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        p = feature["properties"]
        fill = (colors or {}).get(str(p.get(color_col)), color or "#333") if color_col else (color or "#333")
        r = radius_px
        if size_col and top:
            v = float(p.get(size_col) or 0.0)
            r = max(2.0, max_radius_px * math.sqrt(max(v, 0.0) / top))
        return {"radius": r, "color": "#222" if not square else fill, "weight": weight,
                "fill": True, "fillColor": fill, "fillOpacity": fill_opacity}

    if square:
        for feat in data["features"]:
            lon, lat = feat["geometry"]["coordinates"]
            st = style(feat)
            html = (f'<div style="width:12px;height:12px;margin:-6px 0 0 -6px;background:{st["fillColor"]};'
                    'border:2px solid #fff;box-shadow:0 0 0 1px #000"></div>')
            tip = "<br>".join(f"{label}: {feat['properties'].get(col)}" for col, label in tooltip.items())
            folium.Marker([lat, lon], icon=folium.DivIcon(html=html, icon_size=(0, 0)),
                          tooltip=tip or None).add_to(m)
        return
    folium.GeoJson(
        data,
        name=name,
        marker=folium.CircleMarker(radius=radius_px),
        style_function=style,
        tooltip=folium.GeoJsonTooltip(list(tooltip), aliases=list(tooltip.values())) if tooltip else None,
    ).add_to(m)


def add_shapes(
    m: folium.Map,
    gdf: gpd.GeoDataFrame | None,
    *,
    name: str,
    color: str,
    weight: float = 1.0,
    fill_opacity: float = 0.15,
    simplify_deg: float = 0.0,
    tooltip: dict[str, str] | None = None,
) -> None:
    """Draw polygons or lines (isochrones, roads, boundaries) in one colour."""
    if gdf is None or not len(gdf):
        return
    g = gdf.to_crs(4326)
    if simplify_deg:
        g = g.set_geometry(g.geometry.simplify(simplify_deg))
    data = _features(g, list(tooltip or {}), points=False)
    style: Callable[[dict[str, Any]], dict[str, Any]] = lambda _f: {  # noqa: E731
        "color": color, "weight": weight, "fill": fill_opacity > 0, "fillColor": color,
        "fillOpacity": fill_opacity}
    folium.GeoJson(
        data, name=name, style_function=style,
        tooltip=folium.GeoJsonTooltip(list(tooltip), aliases=list(tooltip.values())) if tooltip else None,
    ).add_to(m)


def add_legend(m: folium.Map, items: Sequence[tuple[str, str]], *, square: Sequence[bool] = ()) -> None:
    """A small legend box in the bottom-left corner: ``(colour, label)`` pairs."""
    rows = []
    for i, (color, label) in enumerate(items):
        radius = "0" if (i < len(square) and square[i]) else "50%"
        rows.append(
            f'<div><span style="display:inline-block;width:10px;height:10px;border-radius:{radius};'
            f'background:{color};border:1px solid #222;margin-right:5px"></span>{_escape(label)}</div>'
        )
    html = (
        '<div style="position:absolute;bottom:44px;left:8px;z-index:1000;background:rgba(255,255,255,.9);'
        'padding:4px 8px;font:12px sans-serif;border:1px solid #bbb;border-radius:4px">'
        + "".join(rows) + "</div>"
    )
    m.get_root().html.add_child(folium.Element(html))  # type: ignore[attr-defined]


def add_choropleth(
    m: folium.Map,
    gdf: gpd.GeoDataFrame | None,
    *,
    name: str,
    color_col: str,
    weight: float = 1.0,
    fill_opacity: float = 0.7,
    simplify_deg: float = 0.0,
    tooltip: dict[str, str] | None = None,
) -> None:
    """Draw polygons each filled with the colour held in its ``color_col`` column."""
    if gdf is None or not len(gdf):
        return
    g = gdf[gdf.geometry.notna()].to_crs(4326)
    if simplify_deg:
        g = g.set_geometry(g.geometry.simplify(simplify_deg))
    data = _features(g, list(dict.fromkeys([*(tooltip or {}), color_col])), points=False)

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        fill = str(feature["properties"].get(color_col) or "#999")
        return {"color": "#333", "weight": weight, "fill": True, "fillColor": fill,
                "fillOpacity": fill_opacity}

    folium.GeoJson(
        data, name=name, style_function=style,
        tooltip=folium.GeoJsonTooltip(list(tooltip), aliases=list(tooltip.values())) if tooltip else None,
    ).add_to(m)
