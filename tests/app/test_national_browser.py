"""The whole-country page in a real browser: a click on a province of the map chooses it,
and the button then opens that province's result (issue #20 item 4).

The sweep is real (two provinces from ``../shared/data`` on an in-process Dask client,
coarse grid); the click is a real mouse click at the province's representative point,
placed on the screen by Leaflet's own projection.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app import test_browser as tb
from tests.app.test_browser import (
    CHROMIUM,
    REPO,
    _free_port,
    _serving,
    assert_clean,
    shot,
    wait_idle,
    wait_map,
)

# the browser and page fixtures of the main browser tests (nothing leaves 127.0.0.1)
browser_ctx = tb.browser_ctx
page = tb.page

pytestmark = [pytest.mark.browser, pytest.mark.shared_data,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no chromium at {CHROMIUM}")]

PROVINCES = ["Thành Phố Huế", "Thành Phố Đà Nẵng"]


@pytest.fixture(scope="module")
def sweep_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from distributed import Client

    from motcua.sweep import NationalData, SweepSettings, parse_models, run_sweep

    out = tmp_path_factory.mktemp("national_browser") / "sweep"
    settings = SweepSettings(models=parse_models("coverage,lscp"), cell_m=5000.0,
                             candidate_cell_m=10000.0, time_limit_s=5.0)
    with Client(processes=False, n_workers=1, threads_per_worker=1,
                dashboard_address=":0") as client:
        result = run_sweep(client, PROVINCES, NationalData.shared(shared_data), settings, out)
    assert result.failed == [], result.failed
    return out


@pytest.fixture(scope="module")
def server(sweep_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("national_server")
    port = _free_port()
    env = dict(os.environ, MOTCUA_WORKSPACE=str(tmp / "ws"), MOTCUA_BASEMAP="off",
               MOTCUA_SWEEP=str(sweep_dir))
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
           "--server.headless", "true", "--server.address", "127.0.0.1",
           "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--server.enableStaticServing", "true"]
    with _serving(cmd, REPO, env, port, tmp / "server.log") as url:
        yield {"url": url}


def _click_province(page: Any, lat: float, lon: float) -> None:
    """A real mouse click on the map at (lat, lon)."""
    frame_el = page.locator("iframe[title='streamlit_folium.st_folium']").first
    frame_el.scroll_into_view_if_needed()
    frame = frame_el.element_handle().content_frame()
    x, y = frame.evaluate(
        "([lat, lon]) => { const m = Object.values(window).find("
        "  v => v && v._leaflet_id && typeof v.latLngToContainerPoint === 'function');"
        " const p = m.latLngToContainerPoint([lat, lon]);"
        " const r = m.getContainer().getBoundingClientRect();"
        " return [r.left + p.x, r.top + p.y]; }", [lat, lon])
    box = frame_el.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def _chosen(page: Any, key: str) -> str:
    """The value a select box shows (Streamlit draws it in a combobox input or a div)."""
    box = page.locator(f".st-key-{key} [data-testid='stSelectbox']")
    inputs = box.locator("input")
    value = inputs.first.input_value() if inputs.count() else ""
    return value or box.locator("[data-baseweb='select'] div[value], [data-baseweb='select'] > div"
                                ).first.inner_text().strip()


def test_click_on_the_map_chooses_the_province(server: dict[str, Any], page: Any,
                                               sweep_dir: Path) -> None:
    from motcua.app import national

    table = national.load_sweep(sweep_dir)
    assert sorted(table["name"]) == ["Huế", "Đà Nẵng"]
    page.goto(server["url"] + "/?page=national")
    wait_idle(page)
    page.locator("[data-testid='stMain'] h1").first.wait_for(state="visible", timeout=90_000)
    wait_map(page)
    first = _chosen(page, "national_province")
    assert first in set(table["name"]), first
    # click the province that is not chosen yet: the list must follow the click
    target = table[table["name"] != first].iloc[0]
    point = target.geometry.representative_point()
    _click_province(page, point.y, point.x)
    for _ in range(120):
        wait_idle(page)
        if _chosen(page, "national_province") == target["name"]:
            break
        page.wait_for_timeout(500)
    assert _chosen(page, "national_province") == target["name"]
    assert_clean(page)
    shot(page, "national_clicked")
    # and the button opens that province on the Placement page
    page.get_by_role("button", name="Mở ở trang Bố trí điểm tiếp nhận").click()
    page.wait_for_url("**/placement**", timeout=60_000)
    wait_idle(page)
    page.locator("[data-testid='stMain'] h1").first.wait_for(state="visible", timeout=90_000)
    wait_idle(page)
    assert_clean(page)
    headings = page.locator("[data-testid='stMain'] h3").all_inner_texts()
    assert any(target["name"] in h and "lscp (motcua sweep)" in h for h in headings), headings
