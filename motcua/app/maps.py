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

import html
import json
import logging
import math
import os
import threading
import urllib.request
from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template

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
        control_scale=False,  # Leaflet's default scale adds miles: a metric one is added below
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
    _Script("L.control.scale({imperial: false, metric: true}).addTo(MAP);").add_to(m)
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


def link_views(m: folium.Map, group: str) -> None:
    """Keep the maps of ``group`` on one view: panning or zooming one moves the others.

    Each map is in an iframe of its own, served by the app (same origin as the page):
    it registers itself in the page's ``__motcuaViews[group]`` and, after each move,
    sets the view of the others (maps of a previous run, no longer in the page, are
    dropped); a map drawn after another starts on that one's view. ``group`` is a fixed
    word of the app, never user text."""
    if not group.isidentifier():
        raise ValueError(f"map group must be a plain word, not {group!r}")
    _Script(
        "(function(){try{const top=window.parent;"
        "const all=(top.__motcuaViews=top.__motcuaViews||{});"
        f"const live=m=>{{try{{return m._container.isConnected"
        "&&m._container.ownerDocument.defaultView.frameElement.isConnected;}catch(e){return false;}};"
        f"const maps=(all['{group}']=(all['{group}']||[]).filter(live));"
        # a map drawn after another takes its view (both were fitted to the same bounds,
        # but containers a pixel apart give centres a few metres apart)
        "if(maps.length)MAP.setView(maps[0].getCenter(),maps[0].getZoom(),{animate:false});"
        "maps.push(MAP);"
        "MAP.on('moveend',()=>{if(MAP._motcuaFollowing)return;"
        f"for(const o of all['{group}']){{if(o===MAP||!live(o))continue;"
        "o._motcuaFollowing=true;try{o.setView(MAP.getCenter(),MAP.getZoom(),{animate:false});}"
        "finally{o._motcuaFollowing=false;}}});"
        "}catch(e){}})();").add_to(m)


class _Script(MacroElement):  # type: ignore[misc]
    """A line of our own JavaScript run after the map exists (``MAP`` names it); no user text."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "Script"
        self._code = code

    @property
    def code(self) -> str:
        return self._code.replace("MAP", self._parent.get_name())


_JS_TEMPLATE = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def _escape(text: object) -> str:
    """Text made safe for Leaflet's HTML (tooltips, legend, label): ``html.escape``,
    plus the characters of a JavaScript template literal (`` ` ``, ``$``, ``\\``) as
    HTML entities, since folium pastes a marker's tooltip into one unescaped."""
    return html.escape(str(text), quote=True).translate(_JS_TEMPLATE)


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


def _safe(value: Any) -> Any:
    """A property value for the page: text HTML-escaped (Leaflet tooltips are HTML)."""
    value = _plain(value)
    return _escape(value) if isinstance(value, str) else value


def _features(gdf: gpd.GeoDataFrame, props: Sequence[str], points: bool) -> dict[str, Any]:
    """Compact GeoJSON of ``gdf`` (WGS84, rounded) keeping only ``props`` columns.

    Text values are HTML-escaped: folium's ``GeoJsonTooltip`` puts them into the
    page with ``innerHTML``, so a site named ``<img onerror=...>`` would run.
    """
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
            {"type": "Feature", "properties": {k: _safe(v) for k, v in rec.items()},
             "geometry": {"type": "Point", "coordinates": pt}}
            for rec, pt in zip(records, xy, strict=True)]}
    feats = []
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        feats.append({
            "type": "Feature",
            "properties": {c: _safe(g[c].iloc[i]) for c in cols},
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
    min_zoom: float | None = None,
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
    min_zoom : show the points only from this zoom level on (a province's demand is a
        density surface, :func:`add_density`, until the user zooms in).
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
            # half pixels: a few dozen styles for the browser, not one per point
            r = max(2.0, round(2 * max_radius_px * math.sqrt(max(v, 0.0) / top)) / 2)
        return {"radius": r, "color": "#222" if not square else fill, "weight": weight,
                "fill": True, "fillColor": fill, "fillOpacity": fill_opacity}

    if square:
        for feat in data["features"]:
            lon, lat = feat["geometry"]["coordinates"]
            st = style(feat)
            html = (f'<div style="width:12px;height:12px;margin:-6px 0 0 -6px;background:{st["fillColor"]};'
                    'border:2px solid #fff;box-shadow:0 0 0 1px #000"></div>')
            # properties are escaped already (_features); the labels are escaped here
            tip = "<br>".join(f"{_escape(label)}: {feat['properties'].get(col)}"
                              for col, label in tooltip.items())
            folium.Marker([lat, lon], icon=folium.DivIcon(html=html, icon_size=(0, 0)),
                          tooltip=tip or None).add_to(m)
        return
    if len(data["features"]) >= COMPACT_FROM:
        layer: Any = _CompactPoints(data["features"], style, tooltip).add_to(m)
    else:
        layer = folium.GeoJson(
            data,
            name=name,
            marker=folium.CircleMarker(radius=radius_px),
            style_function=style,
            tooltip=_tooltip(tooltip),
        ).add_to(m)
    if min_zoom is not None:
        ly = layer.get_name()
        _Script(f"(function(){{const f=()=>{{if(MAP.getZoom()>={float(min_zoom)})"
                f"{{if(!MAP.hasLayer({ly}))MAP.addLayer({ly});}}else MAP.removeLayer({ly});}};"
                "MAP.on('zoomend', f); f();})();").add_to(m)


#: From this many points on, :func:`add_points` sends a layer compactly
#: (:class:`_CompactPoints`) instead of as GeoJSON: a province's 8,000 demand cells as
#: GeoJSON were 1.7 MB of the page's 2.3 MB.
COMPACT_FROM = 500


class _CompactPoints(MacroElement):  # type: ignore[misc]
    """Circle markers sent as one compact array, drawn and given tooltips in the browser.

    folium's GeoJson repeats every key, the geometry's type and each feature's style for
    every point; here each point is ``[lat, lon, style, value...]``: a style is an index
    into the layer's few distinct styles, and a tooltip value an index into a table of
    the distinct texts of its column (thousands of demand cells share a few dozen commune
    names). Tooltips are built on hover from the same table as folium's (``<th>`` label,
    ``<td>`` value), one tooltip for the layer like a GeoJson layer. Values and labels
    arrive escaped already (:func:`_features`, :func:`_escape`): no ``<`` can end the
    script early, and the tooltip HTML carries no user markup."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "var {{ this.get_name() }} = (function(){"
        "const D={{ this.payload }};"
        "const g=L.featureGroup();"
        "for(const p of D.p){const mk=L.circleMarker([p[0],p[1]],D.s[p[2]]);mk._v=p;g.addLayer(mk);}"
        "if(D.l.length)g.bindTooltip(function(mk){let h='<table>';"
        "for(let i=0;i<D.l.length;i++){const v=mk._v[3+i];"
        "const t=v===null?'':(D.t[i]?D.t[i][v]:v);"
        "h+='<tr><th>'+D.l[i]+'</th><td>'+t+'</td></tr>';}"
        "return h+'</table>';},{sticky:true});"
        "g.addTo({{ this._parent.get_name() }});return g;})();"
        "{% endmacro %}")

    def __init__(self, features: Sequence[dict[str, Any]],
                 style: Any, tooltip: dict[str, str]) -> None:
        super().__init__()
        self._name = "CompactPoints"
        cols = list(tooltip)
        styles: dict[str, int] = {}
        style_list: list[dict[str, Any]] = []
        tables: list[dict[Any, int] | None] = []
        for col in cols:
            values = [f["properties"].get(col) for f in features]
            texts = {v for v in values if v is not None}
            # a table of texts when a column holds only texts and they repeat; numbers,
            # mixed columns and unique texts go inline
            tabled = (texts and all(isinstance(v, str) for v in texts)
                      and len(texts) * 2 <= len(values))
            tables.append({t: i for i, t in enumerate(sorted(texts))} if tabled else None)
        rows = []
        for f in features:
            st = style(f)
            key = json.dumps(st, sort_keys=True)
            if key not in styles:
                styles[key] = len(style_list)
                style_list.append(st)
            lon, lat = f["geometry"]["coordinates"]
            row: list[Any] = [lat, lon, styles[key]]
            for col, table in zip(cols, tables, strict=True):
                v = f["properties"].get(col)
                row.append(table[v] if table is not None and v is not None else v)
            rows.append(row)
        payload = {"s": style_list, "l": [_escape(tooltip[c]) for c in cols],
                   "t": [list(t) if t is not None else None for t in tables], "p": rows}
        self.payload = json.dumps(payload, ensure_ascii=False, allow_nan=False,
                                  separators=(",", ":"))


#: From this many demand points on, demand is drawn as a density surface (with the
#: points from :data:`POINTS_ZOOM` on): thousands of dots make one dark mass.
DENSITY_FROM = 3000
POINTS_ZOOM = 12.0


def add_density(
    m: folium.Map,
    gdf: gpd.GeoDataFrame,
    *,
    weight_col: str,
    leaflet_base: str | None = STATIC_LEAFLET,
    gradient: dict[float, str] | None = None,
    name: str = "density",
) -> None:
    """A heat layer of ``gdf``'s points weighted by ``weight_col`` (Leaflet.heat, vendored
    in ``static/leaflet/leaflet-heat.js``; folium's CDN copy when ``leaflet_base`` is None)."""
    from folium.plugins import HeatMap

    if gdf is None or not len(gdf):
        return
    g = gdf.to_crs(4326)
    pts = g.geometry.where(g.geometry.geom_type == "Point", g.geometry.representative_point())
    xy = shapely.get_coordinates(pts.to_numpy())
    w = pd.to_numeric(g[weight_col], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    # whole numbers without ".0": a province's heat layer is thousands of triples
    data = [[round(y, 5), round(x, 5), int(r) if (r := round(float(v), 1)).is_integer() else r]
            for (x, y), v in zip(xy, w, strict=True) if v > 0]
    heat = HeatMap(data, name=name, radius=14, blur=12, min_opacity=0.25, gradient=gradient)
    if leaflet_base is not None:
        heat.default_js = [("leaflet-heat.js", f"{leaflet_base}/leaflet-heat.js")]
    heat.add_to(m)


def outline(communes: gpd.GeoDataFrame | None, demand: gpd.GeoDataFrame | None
            ) -> gpd.GeoDataFrame | None:
    """Boundaries to orient by: the scenario's commune polygons when it has them, else
    the convex hull of its demand points (``None`` when there is neither)."""
    if communes is not None and len(communes):
        g = communes.to_crs(4326)
        return g[g.geometry.notna() & ~g.geometry.is_empty][["geometry"]]
    if demand is None or not len(demand):
        return None
    hull = demand.to_crs(4326).geometry.union_all().convex_hull
    return gpd.GeoDataFrame(geometry=[hull], crs=4326)


def add_outline(m: folium.Map, shapes: gpd.GeoDataFrame | None) -> None:
    """Thin grey boundaries, no fill, under everything else."""
    add_shapes(m, shapes, name="outline", color="#555555", weight=0.8, fill_opacity=0,
               simplify_deg=0.0005)


def _tooltip(tooltip: dict[str, str] | None) -> folium.GeoJsonTooltip | None:
    """Hover text naming ``tooltip``'s columns; labels HTML-escaped like the values."""
    if not tooltip:
        return None
    return folium.GeoJsonTooltip(list(tooltip), aliases=[_escape(a) for a in tooltip.values()])


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
    color_col: str | None = None,
    keep: Sequence[str] = (),
) -> None:
    """Draw polygons or lines (isochrones, roads, boundaries) in one colour, or, with
    ``color_col``, each shape filled with the colour held in that column (a choropleth;
    ``color`` then draws the outlines). ``keep``: more columns carried in each feature's
    properties (what a click on the shape sends back to the page)."""
    if gdf is None or not len(gdf):
        return
    g = gdf[gdf.geometry.notna()].to_crs(4326)
    if simplify_deg:
        g = g.set_geometry(g.geometry.simplify(simplify_deg))
    fields = list(dict.fromkeys([*(tooltip or {}), *([color_col] if color_col else []), *keep]))
    data = _features(g, fields, points=False)

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        fill = str(feature["properties"].get(color_col) or "#999") if color_col else color
        return {"color": color, "weight": weight, "fill": fill_opacity > 0, "fillColor": fill,
                "fillOpacity": fill_opacity}

    folium.GeoJson(data, name=name, style_function=style, tooltip=_tooltip(tooltip)).add_to(m)


def add_legend(m: folium.Map, items: Sequence[tuple[str, str]], *, square: Sequence[bool] = (),
               title: str = "Legend", open_: bool = True) -> None:
    """A small legend in the bottom-right corner, folded away under ``title`` with a
    click (``open_=False``: folded from the start, for small maps): ``(colour, label)`` pairs."""
    rows = []
    for i, (color, label) in enumerate(items):
        radius = "0" if (i < len(square) and square[i]) else "50%"
        rows.append(
            f'<div><span style="display:inline-block;width:10px;height:10px;border-radius:{radius};'
            f'background:{color};border:1px solid #222;margin-right:5px"></span>{_escape(label)}</div>'
        )
    html = (
        '<details style="position:absolute;bottom:18px;right:8px;z-index:1000;'
        'background:rgba(255,255,255,.92);padding:2px 8px;font:12px sans-serif;'
        f'border:1px solid #bbb;border-radius:4px;max-width:45%"{" open" if open_ else ""}>'
        f'<summary style="cursor:pointer;font-weight:bold">{_escape(title)}</summary>'
        + "".join(rows) + "</details>"
    )
    m.get_root().html.add_child(folium.Element(html))  # type: ignore[attr-defined]
