"""Texts and Vietnamese number/date formats."""

from __future__ import annotations

import datetime as dt
import math
import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from motcua.app.i18n import (
    TEXTS,
    fmt_date,
    fmt_datetime,
    fmt_int,
    fmt_num,
    fmt_pct,
    fmt_signed,
    normalise_lang,
    t,
)


def test_vietnamese_formats() -> None:
    assert fmt_int(1234567) == "1.234.567"
    assert fmt_num(1234567.85, 1) == "1.234.567,9"
    assert fmt_pct(0.945) == "94,5 %"
    assert fmt_pct(1.0, 0) == "100 %"
    assert fmt_date(dt.date(2026, 11, 21)) == "21/11/2026"
    assert fmt_date("2026-11-21T14:05:00") == "21/11/2026"
    assert fmt_datetime("2026-11-21T14:05:00") == "21/11/2026 14:05"
    assert fmt_int(-1500) == "−1.500"
    assert fmt_signed(1500) == "+1.500" and fmt_signed(-2.5, 1) == "−2,5" and fmt_signed(0) == "0"


def test_english_formats() -> None:
    assert fmt_int(1234567, "en") == "1,234,567"
    assert fmt_pct(0.945, 1, "en") == "94.5%"
    assert fmt_num(0.5, 2, "en") == "0.50"


def test_missing_values_are_a_dash_never_nan() -> None:
    for v in (None, math.nan, math.inf, -math.inf):
        assert fmt_num(v) == "–"
        assert fmt_pct(v) == "–"


def test_every_text_exists_in_both_languages_with_same_fields() -> None:
    fields = string.Formatter()
    for key, (vi, en) in TEXTS.items():
        assert vi.strip() and en.strip(), key
        f_vi = {f for _, f, _, _ in fields.parse(vi) if f}
        f_en = {f for _, f, _, _ in fields.parse(en) if f}
        assert f_vi == f_en, key


def test_t_switches_language_and_rejects_unknown_keys() -> None:
    assert t("nav_compare") == "So sánh"
    assert t("nav_compare", "en") == "Compare"
    assert t("current_scenario", "en", name="X") == "Open scenario: X"
    with pytest.raises(KeyError):
        t("no_such_text")
    assert normalise_lang("en") == "en" and normalise_lang("fr") == "vi" and normalise_lang(None) == "vi"


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_grouping_round_trips(n: int) -> None:
    text = fmt_int(n)
    assert re.fullmatch(r"−?\d{1,3}(\.\d{3})*", text)
    assert int(text.replace(".", "").replace("−", "-")) == n
    assert int(fmt_int(n, "en").replace(",", "").replace("−", "-")) == n
