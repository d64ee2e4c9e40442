"""Make the README's screenshot: the Placement page after an LSCP solve on the demo.

Not a test (pytest does not collect it). Run from the repository root::

    python tests/app/readme_screenshot.py docs/img/placement-lscp-demo.png

It serves the app headless on a free port with a fresh workspace, opens the
Placement page in English with Debian's Chromium (``/usr/bin/chromium`` or
``$CHROMIUM``; nothing is downloaded, no basemap), clicks Run, waits for the map,
clips the result (heading to map) and saves it as a 256-colour PNG.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
IDLE = ("[data-testid='stApp'][data-test-connection-state='CONNECTED']",
        "[data-testid='stApp'][data-test-script-state='notRunning']")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(out: Path) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="motcua-shot-"))
    port = _free_port()
    env = dict(os.environ, MOTCUA_WORKSPACE=str(tmp / "ws"), MOTCUA_BASEMAP="off")
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
           "--server.headless", "true", "--server.address", "127.0.0.1",
           "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--server.enableStaticServing", "true"]
    url = f"http://127.0.0.1:{port}"
    with open(tmp / "server.log", "wb") as log:
        server = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            for _ in range(240):
                try:
                    if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                        break
                except OSError:
                    time.sleep(0.25)
            with sync_playwright() as p:
                ctx = p.chromium.launch_persistent_context(
                    str(tmp / "profile"), executable_path=CHROMIUM, headless=True, args=FLAGS,
                    viewport={"width": 1280, "height": 3600})
                page = ctx.pages[0]
                page.goto(url + "/placement?lang=en")
                for sel in IDLE:
                    page.wait_for_selector(sel, state="attached", timeout=120_000)
                page.get_by_role("button", name="Run", exact=True).click()
                page.get_by_text("Solved and saved").first.wait_for(timeout=180_000)
                for sel in IDLE:
                    page.wait_for_selector(sel, state="attached", timeout=120_000)
                frame = page.frame_locator("iframe[title='streamlit_folium.st_folium']").first
                frame.locator(".leaflet-overlay-pane canvas, .leaflet-overlay-pane svg").first.wait_for(
                    state="attached", timeout=60_000)
                page.wait_for_function(
                    "document.querySelectorAll(\"[data-testid='stSkeleton']\").length === 0",
                    timeout=30_000)
                time.sleep(3)  # let Leaflet finish drawing
                head = page.get_by_role("heading", name="Fewest points covering everyone").last
                box = head.bounding_box()
                mp = page.locator("iframe[title='streamlit_folium.st_folium']").first.bounding_box()
                assert box is not None and mp is not None
                top, bottom = box["y"] - 16, mp["y"] + mp["height"] + 16
                raw = tmp / "raw.png"
                page.screenshot(path=str(raw), clip={"x": box["x"] - 24, "y": top,
                                                      "width": mp["width"] + 48, "height": bottom - top})
                ctx.close()
        finally:
            server.terminate()
            server.wait(10)
    img = Image.open(raw).convert("RGB")
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, optimize=True)
    print(f"wrote {out} ({out.stat().st_size:,} bytes, {img.width} x {img.height})")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs/img/placement-lscp-demo.png")
