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
    fmt_value,
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


def test_objectives_show_whole_numbers_without_decimals() -> None:
    # a count of points is not "137,00" (Compare's one-line report)
    assert fmt_value(137.0) == "137"
    assert fmt_value(1196.15) == "1.196,15"
    assert fmt_value(1196.15, 2, "en") == "1,196.15"
    assert fmt_value(None) == "–" and fmt_value(math.nan) == "–"


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


def test_a_two_language_description_shows_the_half_of_the_page() -> None:
    from motcua.i18n import in_language

    text = "Tỉnh thử | A test province"
    assert in_language(text, "vi") == "Tỉnh thử" and in_language(text, "en") == "A test province"
    # anything else is the user's text, shown as written
    for other in ("Tỉnh thử", "a | b | c", " | only English", "A|B"):
        assert in_language(other, "vi") == other and in_language(other, "en") == other


def test_the_importer_describes_a_scenario_in_both_languages() -> None:
    import geopandas as gpd
    from shapely.geometry import box

    from geodata.importer import ImportRequest, _describe
    from motcua.i18n import in_language

    communes = gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)])
    text = _describe(ImportRequest(name="X", description="Thử"), communes, 1283691, True, 1.3,
                     {"sites": "commune representative points (estimated, not office addresses)"})
    vi, en = in_language(text, "vi"), in_language(text, "en")
    assert vi == ("Thử Nhập bằng `motcua import`: 2 xã/phường, 1.283.691 dân. Điểm hiện có: tâm "
                  "đại diện của từng xã/phường (ước lượng, không phải địa chỉ trụ sở). KHÔNG CÓ "
                  "MẠNG ĐƯỜNG: khoảng cách theo đường chim bay × hệ số đường vòng 1,3, thời gian "
                  "đi theo tốc độ cố định.")
    assert en.startswith("Thử Imported by `motcua import`: 2 communes, 1,283,691 residents.")
    assert "straight-line fallback" in en


def test_a_figure_of_any_size_fits_a_card() -> None:
    from motcua.i18n import fmt_figure

    assert fmt_figure(8.571) == "8,57" and fmt_figure(8.571, "en") == "8.57"
    assert fmt_figure(12345.678) == "12.346"
    # a province's objective (1,213,645 people covered) was cut off as "1.213.645,00"
    assert fmt_figure(1213645.0) == "1,21 triệu" and fmt_figure(1213645.0, "en") == "1.21 M"
    assert fmt_figure(float("nan")) == "–" and fmt_figure(None) == "–"


def test_the_straight_line_by_zone_method_in_words() -> None:
    from geodata.settings import TravelSettings
    from geodata.zones import zone_label
    from motcua.i18n import coverage_text

    label = zone_label(TravelSettings(), ["urban"] * 121 + ["mountain"] * 4656 + [None] * 2, 20.0)
    label = label.removesuffix(" (no road network)") + ", land masses apart unreachable (no road network)"
    assert coverage_text(label, "vi") == (
        "theo đường chim bay theo vùng (xe máy): đô thị 20 km/h × 1,3 (121 điểm dân cư), "
        "miền núi 20 km/h × 1,6 (4.656 điểm dân cư), chưa phân vùng 20 km/h × 1,3 (2 điểm dân cư); "
        "các vùng đất liền tách biệt không tới được nhau (không có mạng đường)")
    assert coverage_text(label, "en") == label
    assert coverage_text("straight line by zone (car): something new (no road network)", "vi") == \
        "straight line by zone (car): something new (no road network)"  # unknown: as written
