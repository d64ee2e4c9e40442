"""compare page (wired when its library module lands)."""

from __future__ import annotations

import streamlit as st

from app_pages import _common as c

st.title(c.tr("compare_title"))
