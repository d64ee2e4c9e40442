"""Timing of the app in a real browser (headless Debian Chromium via Playwright).

    python bench/bench_app.py [--repeat 3] [--out bench/out/bench_app.json]

Measures, on the synthetic demo province, with the basemap off and every
request outside 127.0.0.1 refused (as offline):

* server start: ``streamlit run app.py`` until ``/_stcore/health`` answers;
* first render: a fresh browser page on ``/`` until the script has finished and
  the Leaflet map has drawn its layers (the first session also pays the imports);
* warm render: the same in a new page once the server is warm;
* peer: the same demand and sites drawn by pydeck (``map_provider=None``, the
  other offline-safe renderer) in a one-page app, timed the same way (deck.gl
  gives no "painted" signal, so its time stops when its canvas exists: a lower bound);
* placement re-solve: on the Placement page, click Run until the result is shown;
* compare: open ``?page=compare&a=..&b=..`` on two saved placements until the
  three maps have drawn.

Targets (issue 6, on 2 cores): first render < 5 s, placement re-solve < 3 s,
compare < 5 s. The machine is shared, so the median of ``--repeat`` runs is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]

PYDECK_APP = textwrap.dedent('''
    import json, warnings
    import pydeck as pdk
    import streamlit as st
    from geodata.scenario import load_scenario

    @st.cache_resource
    def data():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = load_scenario({demo!r})
        d = s.demand.to_crs(4326)
        d = d.set_geometry(d.geometry.representative_point())
        return (json.loads(d[["name", "population", "geometry"]].to_json()),
                json.loads(s.sites[["name", "kind", "geometry"]].to_json()), d.total_bounds)

    demand, sites, b = data()
    st.title("pydeck")
    st.write(f"points: {{len(demand['features'])}}")
    st.pydeck_chart(pdk.Deck(map_provider=None, initial_view_state=pdk.ViewState(
        longitude=(b[0] + b[2]) / 2, latitude=(b[1] + b[3]) / 2, zoom=9),
        layers=[pdk.Layer("GeoJsonLayer", demand, get_fill_color=[43, 108, 176, 110],
                          point_radius_min_pixels=2, get_point_radius=200),
                pdk.Layer("GeoJsonLayer", sites, get_fill_color=[192, 57, 43, 230],
                          point_radius_min_pixels=4, get_point_radius=300)]), height=460)
''')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: Path, workspace: Path, log: Path) -> Iterator[tuple[str, float]]:
    """Start the app; yield its URL and the seconds until the health endpoint answered."""
    port = _free_port()
    env = dict(os.environ, MOTCUA_WORKSPACE=str(workspace), MOTCUA_BASEMAP="off",
               PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port),
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
           "--server.enableStaticServing", "true"]
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT)
        try:
            while True:
                try:
                    if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                        break
                except OSError:
                    if time.perf_counter() - t0 > 60:
                        raise RuntimeError("server did not start; see " + str(log)) from None
                    time.sleep(0.05)
            yield url, time.perf_counter() - t0
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def wait_idle(page: Any, timeout_ms: int = 120_000) -> None:
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']",
                           state="attached", timeout=timeout_ms)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                           state="attached", timeout=timeout_ms)


def wait_leaflet(page: Any, n: int = 1) -> int:
    """Wait until ``n`` Leaflet maps have drawn; return the circles on the first one."""
    frames = page.frame_locator("iframe[title='streamlit_folium.st_folium']")
    for i in range(n):
        frames.nth(i).locator(".leaflet-overlay-pane canvas").first.wait_for(
            state="attached", timeout=120_000)
    return n


def timed(page: Any, action: Callable[[], None], done: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    action()
    done()
    return time.perf_counter() - t0


def bench(repeat: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    demo = REPO / "scenarios" / "demo"
    results: dict[str, Any] = {"repeat": repeat, "cores": os.cpu_count(),
                               "command": f"python bench/bench_app.py --repeat {repeat}"}
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-app-"))
    peer_app = tmp / "pydeck_app.py"
    peer_app.write_text(PYDECK_APP.format(demo=str(demo)), encoding="utf-8")
    first, warm, peer_first, peer_warm, starts = [], [], [], [], []
    resolve, compare = [], []
    try:
        with sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(
                str(tmp / "profile"), executable_path=CHROMIUM, headless=True, args=FLAGS,
                viewport={"width": 1400, "height": 1600}, locale="vi-VN")
            ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith(
                ("http://127.0.0.1", "data:", "blob:", "about:")) else r.abort())
            for k in range(repeat):
                ws = tmp / f"ws{k}"
                with serve(REPO / "app.py", ws, tmp / f"app{k}.log") as (url, up_s):
                    starts.append(up_s)
                    for bucket in (first, warm):
                        page = ctx.new_page()
                        bucket.append(timed(page, lambda pg=page, u=url: pg.goto(u),
                                            lambda pg=page: (wait_idle(pg), wait_leaflet(pg))))
                        page.close()
                    page = ctx.new_page()
                    page.goto(url + "/placement")
                    wait_idle(page)
                    run_ids = []
                    for n, minutes in enumerate(("30", "20", "30")):
                        box = page.get_by_label("Thời gian đi tối đa (phút)")
                        box.fill(minutes)
                        box.press("Enter")
                        wait_idle(page)
                        # re-solve = click Run until the new result's map has drawn
                        dt_s = timed(page, lambda pg=page: pg.get_by_role(
                            "button", name="Chạy", exact=True).click(),
                            lambda pg=page, k=n: (pg.get_by_text("Đã giải xong và lưu").first
                                                  .wait_for(timeout=120_000),
                                                  wait_idle(pg), wait_leaflet(pg)))
                        if n:  # the first solve also builds the coverage matrix cache
                            resolve.append(dt_s)
                        run_ids.append(page.url.split("run=")[1].split("&")[0])
                    page.close()
                    page = ctx.new_page()
                    link = f"{url}/?page=compare&a={run_ids[0]}&b={run_ids[1]}"
                    compare.append(timed(page, lambda pg=page, u=link: pg.goto(u),
                                         lambda pg=page: (wait_idle(pg), wait_leaflet(pg, 3))))
                    page.close()
                with serve(peer_app, ws, tmp / f"peer{k}.log") as (url, _):
                    for bucket in (peer_first, peer_warm):
                        page = ctx.new_page()
                        bucket.append(timed(
                            page, lambda pg=page, u=url: pg.goto(u),
                            lambda pg=page: (wait_idle(pg), pg.locator("#deckgl-overlay, canvas")
                                             .first.wait_for(state="attached", timeout=120_000),
                                             pg.wait_for_timeout(0))))
                        page.close()
            ctx.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = statistics.median
    results.update({
        "server_start_s": med(starts),
        "first_render_s": med(first), "warm_render_s": med(warm),
        "pydeck_first_render_s": med(peer_first), "pydeck_warm_render_s": med(peer_warm),
        "placement_resolve_s": med(resolve), "compare_s": med(compare),
        "all": {"first": first, "warm": warm, "pydeck_first": peer_first, "pydeck_warm": peer_warm,
                "server_start": starts, "placement_resolve": resolve, "compare": compare},
    })
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="server starts to time (median shown)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "bench_app.json")
    args = ap.parse_args()
    r = bench(args.repeat)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(r, indent=1), encoding="utf-8")
    print(f"server start           {r['server_start_s']:6.2f} s")
    print(f"first render (demo)    {r['first_render_s']:6.2f} s   target < 5 s   (folium + vendored Leaflet)")
    print(f"  pydeck, same data    {r['pydeck_first_render_s']:6.2f} s   ratio pydeck/folium "
          f"{r['pydeck_first_render_s'] / r['first_render_s']:.2f}")
    print(f"warm render            {r['warm_render_s']:6.2f} s")
    print(f"  pydeck, same data    {r['pydeck_warm_render_s']:6.2f} s   ratio pydeck/folium "
          f"{r['pydeck_warm_render_s'] / r['warm_render_s']:.2f}")
    print(f"placement re-solve     {r['placement_resolve_s']:6.2f} s   target < 3 s   (LSCP on the demo, click -> map drawn)")
    print(f"compare, three maps    {r['compare_s']:6.2f} s   target < 5 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
