"""motcua's Streamlit app: ``streamlit run app.py`` (or ``motcua demo``).

A thin entry point: language switch, navigation between the five pages in
``app_pages/`` and a last line of defence so no traceback ever reaches the
screen. Links like ``?page=compare&a=RUN1&b=RUN2`` open a page directly.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

_APP_DIR = Path(__file__).resolve().parent
if str(_APP_DIR) not in sys.path:  # so app_pages is importable however the app is started
    sys.path.insert(0, str(_APP_DIR))

import streamlit as st  # noqa: E402

from app_pages import _common as c  # noqa: E402
from motcua.app.i18n import LANG_NAMES, LANGS  # noqa: E402

# an emoji icon: Streamlit draws it as an inline SVG, where a ":material/...:" page icon
# is fetched from fonts.gstatic.com (a request leaving the machine on every page)
st.set_page_config(page_title="Motcua", page_icon="🏛️", layout="wide")
c.init_session()

PAGES = {
    "scenario": st.Page("app_pages/scenario.py", title=c.tr("nav_scenario"), icon=":material/map:",
                        url_path="scenario", default=True),
    "placement": st.Page("app_pages/placement.py", title=c.tr("nav_placement"), icon=":material/location_on:",
                         url_path="placement"),
    "staffing": st.Page("app_pages/staffing.py", title=c.tr("nav_staffing"), icon=":material/groups:",
                        url_path="staffing"),
    "compare": st.Page("app_pages/compare.py", title=c.tr("nav_compare"), icon=":material/compare:",
                       url_path="compare"),
    "national": st.Page("app_pages/national.py", title=c.tr("nav_national"), icon=":material/public:",
                        url_path="national"),
}
page = st.navigation(list(PAGES.values()))

target = st.query_params.get("page")
if target is not None:
    rest = {k: v for k, v in st.query_params.to_dict().items() if k != "page"}
    if target in PAGES and PAGES[target].url_path != page.url_path:
        st.switch_page(PAGES[target], query_params=rest)
    del st.query_params["page"]

with st.sidebar:
    st.radio(c.tr("language"), LANGS, format_func=LANG_NAMES.__getitem__, key="lang",
             horizontal=True)
c.sync_query_params()
c.localise_widgets()

try:
    page.run()
except Exception as exc:  # noqa: BLE001 - the last line of defence: never a traceback
    logging.getLogger("motcua.app").exception("page %s failed", page.url_path)
    st.error(c.tr("unexpected_error", error=c.md_escape(f"{type(exc).__name__}: {exc}")))
