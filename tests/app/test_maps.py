"""Map building: offline Leaflet, layers, shared scale, basemap switch."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from motcua.app import maps


def _points() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["A", "B", "C"], "population": [100.0, 400.0, 0.0], "kind": ["branch", "reception", "x"]},
        geometry=[Point(105.8, 21.0), Point(105.9, 21.1), Point(105.85, 21.05)], crs=4326)


def _html(m: object) -> str:
    return m.get_root().render()  # type: ignore[attr-defined]


def test_offline_map_loads_only_vendored_leaflet() -> None:
    m = maps.new_map(maps.bounds_of(_points()), basemap=False)
    html = _html(m)
    assert "/app/static/leaflet/leaflet.js" in html
    for cdn in ("cdn.jsdelivr", "cdnjs", "code.jquery", "bootstrapcdn", "tile.openstreetmap"):
        assert cdn not in html, cdn


def test_basemap_adds_osm_tiles_only_when_asked() -> None:
    html = _html(maps.new_map(maps.bounds_of(_points()), basemap=True))
    assert "tile.openstreetmap.org" in html


def test_basemap_switch_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_BASEMAP", "off")
    assert maps.basemap_available() is False
    monkeypatch.setenv("MOTCUA_BASEMAP", "on")
    assert maps.basemap_available() is True


def test_points_sized_by_shared_scale_and_coloured_by_category() -> None:
    m = maps.new_map(maps.bounds_of(_points()), basemap=False, label="SYNTHETIC")
    maps.add_points(m, _points(), name="p", color_col="kind", colors=maps.COLORS,
                    size_col="population", size_max=400.0, max_radius_px=10.0, radius_px=3.0,
                    tooltip={"name": "Tên"})
    gj = next(ch for ch in m._children.values() if type(ch).__name__ == "GeoJson")
    feats = gj.data["features"]
    styles = [gj.style_function(f) for f in feats]
    assert [s["radius"] for s in styles] == [5.0, 10.0, 2.0]  # sqrt(100/400)*10, full size, minimum
    assert styles[0]["fillColor"] == maps.COLORS["branch"] and styles[2]["fillColor"] == "#333"
    assert feats[0]["properties"] == {"name": "A", "kind": "branch", "population": 100.0}
    assert "SYNTHETIC" in _html(m)


def test_bounds_cover_all_frames_and_default_to_vietnam() -> None:
    poly = gpd.GeoDataFrame(geometry=[box(106.0, 20.0, 106.2, 20.2)], crs=4326)
    (s, w), (n, e) = maps.bounds_of(_points(), poly, pad=0.0)
    assert (s, w, n, e) == pytest.approx((20.0, 105.8, 21.1, 106.2))
    (s, w), (n, e) = maps.bounds_of(None)
    assert 8 <= s < n <= 24 and 102 <= w < e <= 110


def test_polygons_and_coordinates_are_rounded() -> None:
    poly = gpd.GeoDataFrame({"site": ["s1"]},
                            geometry=[box(106.0000001, 20.0, 106.2, 20.2000049)], crs=4326)
    m = maps.new_map(maps.bounds_of(poly), basemap=False)
    maps.add_shapes(m, poly, name="iso", color="#123456", tooltip={"site": "Điểm"})
    gj = next(ch for ch in m._children.values() if type(ch).__name__ == "GeoJson")
    text = json.dumps(gj.data)
    assert "106.0000001" not in text and "106.0" in text


EVIL = '<img src=x onerror="window.__xss=1">`${alert(1)}`\\</script>'


def test_user_text_in_tooltips_legend_and_label_is_escaped() -> None:
    """Leaflet tooltips are HTML (GeoJsonTooltip uses innerHTML; a marker's tooltip is
    pasted into a JavaScript template literal): every user text reaches the page escaped."""
    pts = _points().assign(name=[EVIL, "B & C", "plain"])
    m = maps.new_map(maps.bounds_of(pts), basemap=False, label=EVIL)
    maps.add_points(m, pts, name="p", color_col="kind", colors=maps.COLORS,
                    tooltip={"name": EVIL, "kind": "Loại"})
    maps.add_points(m, pts, name="sq", color="#000", square=True, tooltip={"name": EVIL})
    maps.add_shapes(m, gpd.GeoDataFrame({"name": [EVIL]}, geometry=[box(105.8, 21.0, 105.9, 21.1)],
                                        crs=4326), name="s", color="#000", tooltip={"name": EVIL})
    maps.add_legend(m, [("#000", EVIL)])
    gj = next(ch for ch in m._children.values() if type(ch).__name__ == "GeoJson")
    safe = ("&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;&#96;&#36;{alert(1)}&#96;"
            "&#92;&lt;/script&gt;")
    assert gj.data["features"][0]["properties"]["name"] == safe
    assert gj.data["features"][1]["properties"]["name"] == "B &amp; C"
    assert gj.data["features"][0]["properties"]["kind"] == "branch"  # colours still match
    html = _html(m)
    for raw in ("<img src=x", "onerror=\"window", "`${alert", "</script>`", "\\</script>"):
        assert raw not in html, raw
    assert html.count(safe) >= 5  # label, legend, circle + square tooltips, shape tooltip


def test_linked_maps_register_in_the_page_and_follow_each_other() -> None:
    m = maps.new_map(maps.bounds_of(_points()), basemap=False)
    maps.link_views(m, "compare")
    html = _html(m)
    name = m.get_name()
    # the map joins the page's group, takes the view of a map drawn before it, and moves
    # the others after each of its own moves (the browser test drives it)
    assert "top.__motcuaViews" in html and "all['compare']" in html
    assert f"{name}.setView(maps[0].getCenter()" in html and f"{name}.on('moveend'" in html
    with pytest.raises(ValueError):
        maps.link_views(m, "x'];alert(1);//")
