"""Size and draw time of a province's placement map (issue #19 item 5).

    python bench/bench_maps.py [--repeat 3] [--cells 8200]

Builds the layers of the Placement page's result map for a synthetic Quảng Ninh
(``--cells`` demand cells, 85 % covered, the 54 commune names of a real import;
``tests/app/test_maps_compact.py``) twice: with point layers as folium GeoJSON (as
before, ``maps.COMPACT_FROM`` set out of reach) and compact (now). For each: the
HTML bytes of ``m.get_root().render()``, the CPU seconds to build and render it, and
in headless Debian Chromium (vendored Leaflet from a file URL, basemap off) the median
of ``--repeat`` times from opening the page to its first drawn frame, and the time to
zoom to 12 (where the covered cells appear).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from motcua.app import maps  # noqa: E402
from tests.app.test_browser import CHROMIUM, FLAGS  # noqa: E402
from tests.app.test_maps_compact import placement_map, province  # noqa: E402

FRAME = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
ZOOM = """() => { const m = Object.values(window).find(v => v instanceof L.Map);
    const t0 = performance.now(); m.setZoom(12, {animate: false});
    return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(
        () => r(performance.now() - t0)))); }"""


def build(cells: int, compact: bool) -> tuple[str, float]:
    old = maps.COMPACT_FROM
    maps.COMPACT_FROM = old if compact else 10**9
    try:
        demand = province(cells)
        t = time.process_time()
        html = placement_map(demand).get_root().render()
        return html, time.process_time() - t
    finally:
        maps.COMPACT_FROM = old


def draw(html: str, repeat: int) -> tuple[float, float]:
    from playwright.sync_api import sync_playwright

    page_file = Path(tempfile.mkdtemp(prefix="bench-maps-")) / "map.html"
    page_file.write_text(html.replace(maps.STATIC_LEAFLET, (REPO / "static" / "leaflet").as_uri()),
                         encoding="utf-8")
    loads, zooms = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=[*FLAGS, "--allow-file-access-from-files"])
        try:
            for _ in range(repeat):
                page = browser.new_page(viewport={"width": 1000, "height": 600})
                t = time.perf_counter()
                page.goto(page_file.as_uri(), wait_until="load")
                page.locator(".leaflet-overlay-pane canvas").first.wait_for(state="attached")
                page.evaluate(FRAME)
                loads.append(time.perf_counter() - t)
                zooms.append(page.evaluate(ZOOM) / 1000)
                page.close()
        finally:
            browser.close()
    return statistics.median(loads), statistics.median(zooms)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cells", type=int, default=8200)
    args = ap.parse_args()
    for label, compact in (("GeoJSON (before)", False), ("compact (now)", True)):
        html, cpu = build(args.cells, compact)
        load, zoom = draw(html, args.repeat)
        print(f"{label:18s} {len(html.encode('utf-8')):>10,} bytes  build+render {cpu:5.2f} s CPU  "
              f"open->drawn {load:5.2f} s  zoom to 12 {zoom:5.2f} s")


if __name__ == "__main__":
    main()
