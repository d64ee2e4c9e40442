"""Province-size point layers: sent compactly, drawn the same (issue #19 item 5).

A placement map of a province (about 8,200 demand cells at 1 km for Quảng Ninh) was
2.3-2.6 MB of HTML, 1.7 MB of it the covered cells as GeoJSON; from
:data:`maps.COMPACT_FROM` points on, :func:`maps.add_points` sends one array instead.
These tests check the compact layer carries the same styles and tooltip texts as the
GeoJSON one, keeps user text escaped, stays within a size budget at province size, and
draws and shows its tooltips in Chromium."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.app import maps
from tests.app.test_browser import CHROMIUM, FLAGS
from tests.app.test_maps import EVIL

REPO = Path(__file__).resolve().parents[2]
TIP = {"name": "Tên", "population_text": "Dân số", "minutes_text": "Phút"}
#: real 2025 commune names are 8-25 characters; the synthetic ones are as long
COMMUNES = [f"Phường Hạ Long Số {i}" for i in range(54)]


def province(n: int = 8200, seed: int = 0) -> gpd.GeoDataFrame:
    """``n`` demand cells over Quảng Ninh's extent shaped like a placement result's demand
    (54 commune names, people, minutes, covered / uncovered / unreachable)."""
    rng = np.random.default_rng(seed)
    pop = np.round(rng.gamma(1.2, 150, n), 0)
    mins = np.round(rng.random(n) * 40, 1)
    return gpd.GeoDataFrame(
        {"name": rng.choice(COMMUNES, n), "population": pop,
         "population_text": [f"{int(p):,}".replace(",", ".") for p in pop],
         "minutes_text": [f"{m:.1f}".replace(".", ",") for m in mins],
         "state": rng.choice(["covered", "uncovered", "unreachable"], n, p=[0.85, 0.1, 0.05])},
        geometry=gpd.points_from_xy(106.9 + rng.random(n) * 1.4, 20.8 + rng.random(n) * 0.8),
        crs=4326)


def placement_map(demand: gpd.GeoDataFrame) -> Any:
    """The layers ``app_pages/_placement_view.result_map`` draws for a province."""
    m = maps.new_map(maps.bounds_of(demand), basemap=False)
    covered = demand[demand["state"] == "covered"]
    maps.add_density(m, covered, weight_col="population")
    maps.add_points(m, covered, name="covered", color=maps.COLORS["covered"],
                    size_col="population", size_max=1000.0, radius_px=3, max_radius_px=10,
                    fill_opacity=0.5, weight=0.3, tooltip=TIP, min_zoom=maps.POINTS_ZOOM)
    maps.add_points(m, demand[demand["state"] != "covered"], name="demand", color_col="state",
                    colors=maps.COLORS, size_col="population", size_max=1000.0, radius_px=3,
                    max_radius_px=10, fill_opacity=0.5, weight=0.3, tooltip=TIP)
    return m


def _layers(m: Any, kind: str) -> list[Any]:
    return [ch for ch in m._children.values() if type(ch).__name__ == kind]


def _decoded(layer: Any) -> list[tuple[list[float], dict[str, Any], list[Any]]]:
    """(lat/lon, style, tooltip texts) of each point of a compact layer."""
    d = json.loads(layer.payload)
    out = []
    for p in d["p"]:
        texts = [None if v is None else (d["t"][i][v] if d["t"][i] else v)
                 for i, v in enumerate(p[3:])]
        out.append((p[:2], d["s"][p[2]], texts))
    return out


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(maps.COMPACT_FROM, maps.COMPACT_FROM + 300))
def test_compact_layer_draws_what_geojson_drew(seed: int, n: int) -> None:
    """Same points, same styles (colour by category, radius by people), same tooltip texts."""
    d = province(n, seed)
    d.loc[d.index[::7], "name"] = None  # missing names stay missing
    kw: dict[str, Any] = dict(name="d", color_col="state", colors=maps.COLORS,
                              size_col="population", size_max=1000.0, radius_px=3,
                              max_radius_px=10, tooltip=TIP)
    m = maps.new_map(maps.bounds_of(d), basemap=False)
    maps.add_points(m, d, **kw)
    (compact,) = _layers(m, "_CompactPoints")
    assert not _layers(m, "GeoJson")
    old = maps.COMPACT_FROM
    try:
        maps.COMPACT_FROM = 10**9
        g = maps.new_map(maps.bounds_of(d), basemap=False)
        maps.add_points(g, d, **kw)
    finally:
        maps.COMPACT_FROM = old
    (gj,) = _layers(g, "GeoJson")
    want = [(list(reversed(f["geometry"]["coordinates"])), gj.style_function(f),
             [f["properties"].get(c) for c in TIP]) for f in gj.data["features"]]
    assert _decoded(compact) == want


def test_small_layers_stay_geojson() -> None:
    m = maps.new_map(maps.bounds_of(province(10)), basemap=False)
    maps.add_points(m, province(maps.COMPACT_FROM - 1), name="d", color="#000", tooltip=TIP)
    assert len(_layers(m, "GeoJson")) == 1 and not _layers(m, "_CompactPoints")


def test_compact_layer_escapes_user_text() -> None:
    d = province(maps.COMPACT_FROM)
    d.loc[d.index[:300], "name"] = EVIL  # repeated: goes to the text table
    d["minutes_text"] = [f"{EVIL}{i}" for i in range(len(d))]  # unique: inline
    m = maps.new_map(maps.bounds_of(d), basemap=False)
    maps.add_points(m, d, name="d", color="#000", tooltip={"name": EVIL, "minutes_text": "Phút"})
    html = m.get_root().render()
    for raw in ("<img src=x", "onerror=\"window", "`${alert", "</script>`", "\\</script>"):
        assert raw not in html, raw
    safe = ("&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;&#96;&#36;{alert(1)}&#96;"
            "&#92;&lt;/script&gt;")
    texts = [t for _, _, t in _decoded(_layers(m, "_CompactPoints")[0])]
    assert texts[0][0] == safe and texts[0][1] == f"{safe}0" and texts[-1][1].startswith(safe)
    assert json.loads(_layers(m, "_CompactPoints")[0].payload)["l"][0] == safe


#: bytes of a province's placement map. Measured on this synthetic Quảng Ninh (8,200
#: cells, the 54-name table of a real import): 2,266,547 bytes as GeoJSON, about 0.50 MB
#: compact -- 0.25 MB the covered cells, 0.19 MB the density layer, 0.05 MB the 1,200
#: uncovered cells. The budget: 80 bytes a cell (rounded coordinates, a style index,
#: three short tooltip values) plus 50 kB for Leaflet's page, a third of the GeoJSON page.
BUDGET = 8200 * 80 + 50_000


def test_province_placement_map_stays_under_budget() -> None:
    demand = province()
    html = placement_map(demand).get_root().render()
    size = len(html.encode("utf-8"))
    assert size < BUDGET, size
    # nothing dropped: every cell is on the map (covered ones from zoom 12 on)
    layers = [json.loads(ly.payload)["p"] for ly in _layers(placement_map(demand), "_CompactPoints")]
    assert sum(len(p) for p in layers) == len(demand)


@pytest.mark.browser
@pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"no system chromium at {CHROMIUM}")
def test_province_map_draws_and_shows_tooltips_in_chromium(tmp_path: Path) -> None:
    """The page draws in Chromium: the uncovered cells at once, the covered ones from zoom
    12 on, each with its tooltip (commune name and figures), and no user script runs."""
    from playwright.sync_api import sync_playwright

    demand = province(3000, seed=3)
    demand.loc[demand.index[:40], "name"] = EVIL
    html = placement_map(demand).get_root().render().replace(
        maps.STATIC_LEAFLET, (REPO / "static" / "leaflet").as_uri())
    page_file = tmp_path / "map.html"
    page_file.write_text(html, encoding="utf-8")
    n_cov = int((demand["state"] == "covered").sum())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=[*FLAGS, "--allow-file-access-from-files"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            start = time.perf_counter()
            page.goto(page_file.as_uri(), wait_until="load")
            page.locator(".leaflet-overlay-pane canvas").first.wait_for(state="attached")
            drawn = time.perf_counter() - start
            count = """() => { const m = Object.values(window).find(v => v instanceof L.Map);
                let n = 0; m.eachLayer(l => { if (l instanceof L.CircleMarker) n++; }); return n; }"""
            assert page.evaluate(count) == len(demand) - n_cov  # covered hidden below zoom 12
            # zoom in (again, should the initial fit still be animating) until the covered
            # cells are added
            page.wait_for_function(f"""() => {{
                const m = Object.values(window).find(v => v instanceof L.Map);
                if (m.getZoom() < 12 && !m._animatingZoom) m.setZoom(12.5, {{animate: false}});
                return ({count})() === {len(demand)}; }}""", polling=200, timeout=15_000)
            texts = page.evaluate("""() => {
                const out = [];
                const m = Object.values(window).find(v => v instanceof L.Map);
                m.eachLayer(l => {
                    if (!(l instanceof L.FeatureGroup && l.getTooltip())) return;
                    const kids = l.getLayers(), texts = [];
                    for (const k of [kids[0], kids[kids.length - 1]]) {
                        k.fire('mouseover', {latlng: k.getLatLng()}, true);
                        texts.push(l.getTooltip().getElement().innerText);
                        k.fire('mouseout', {latlng: k.getLatLng()}, true);
                    }
                    out.push([kids.length, texts]);
                });
                return out; }""")
            page.wait_for_timeout(300)
            assert page.evaluate("() => window.__xss") is None
        finally:
            browser.close()
    # the compact layer (the covered cells; the few hundred uncovered ones are GeoJSON):
    # its first and last cells' tooltips show their own name and figures
    (compact,) = [tips for n, tips in texts if n == n_cov]
    covered = demand[demand["state"] == "covered"]
    for tip, (_, row) in zip(compact, [*covered.head(1).iterrows(), *covered.tail(1).iterrows()],
                             strict=True):
        lines = tip.splitlines()
        assert any(line.startswith("Tên") and line.endswith(row["name"]) for line in lines), tip
        assert any(line.startswith("Dân số") and line.endswith(row["population_text"])
                   for line in lines), tip
        assert any(line.startswith("Phút") and line.endswith(row["minutes_text"])
                   for line in lines), tip
    assert covered["name"].iloc[0] == EVIL  # shown as written, not run
    assert drawn < 30.0


@pytest.mark.shared_data
def test_real_quang_ninh_placement_map_stays_under_budget(
        quang_ninh_2025: tuple[Path, Any], tmp_path: Path) -> None:
    """The same budget on the real province: Quảng Ninh 2025 imported as ``motcua import``
    does (8,211 cells at 1 km), every existing office kept (LSCP). Measured: 2,242,709 bytes
    with GeoJSON point layers, 578,923 compact (its spread population has decimals, so
    the density layer is longer than the synthetic one's)."""
    from motcua.placement import PlacementRequest, run_placement

    _folder, scenario = quang_ninh_2025
    run = run_placement(scenario, PlacementRequest(model="lscp", keep_existing="all"),
                        cache_dir=tmp_path / "cache")
    d = run.demand.assign(
        state=run.demand["covered"].map({True: "covered", False: "uncovered"}),
        population_text=[f"{v:,.0f}".replace(",", ".") for v in run.demand["population"]],
        minutes_text=[f"{v:.1f}".replace(".", ",") for v in run.demand["minutes"]])
    assert len(d) > 8000
    m = placement_map(d)
    size = len(m.get_root().render().encode("utf-8"))
    assert size < BUDGET, size
    # every cell drawn: the 7,913 covered ones compact, the few hundred uncovered as GeoJSON
    compact = sum(len(json.loads(ly.payload)["p"]) for ly in _layers(m, "_CompactPoints"))
    geojson = sum(len(ly.data["features"]) for ly in _layers(m, "GeoJson"))
    assert compact > 7000 and compact + geojson == len(d)
