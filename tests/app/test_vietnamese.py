"""Vietnamese from edge to edge: weekdays, fields, short figures, move reasons and
shortfalls as sentences, the travel method, and the printable brief of a comparison."""

from __future__ import annotations

import re

import pytest

from motcua.app.brief import brief_html
from motcua.app.i18n import (
    coverage_text,
    explain,
    fmt_day,
    fmt_pp,
    fmt_seconds,
    fmt_short,
    fmt_weekday,
    label_of,
)

#: English words that must not be left in a Vietnamese sentence.
ENGLISH = re.compile(r"\b(on|at|home|min|covers|wait|stays|staffs|short|takes|works|beyond|"
                     r"people|counter|qualified|Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b")


def test_weekdays_and_days() -> None:
    assert [fmt_weekday(d) for d in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")] == [
        "T2", "T3", "T4", "T5", "T6", "T7", "CN"]
    assert fmt_weekday("Sat", "en") == "Sat"
    assert fmt_day("Mon", "2026-11-23") == "T2 23/11"
    assert fmt_day("Mon", "2026-11-23", "en") == "Mon 23/11"


def test_codes_in_words() -> None:
    assert label_of("field", "land") == "Đất đai"
    assert label_of("channel", "in_person") == "tiếp nhận trực tiếp"
    assert label_of("channel", "online") == "hồ sơ trực tuyến"
    assert label_of("source", "model") == "dự báo"
    assert label_of("field", "unheard_of") == "unheard_of"


def test_short_figures_fit_a_card() -> None:
    assert fmt_short(999_997) == "999.997"
    assert fmt_short(3_121_456) == "3,12 triệu"
    assert fmt_short(3_121_456, "en") == "3.12 M"
    assert fmt_pp(-0.5) == "−0,5 điểm %"
    assert fmt_seconds(2.44) == "2,4 giây"
    assert fmt_seconds(75.0, "en") == "75 s"


@pytest.mark.parametrize(("english", "vietnamese"), [
    ("staffs a counter at R003 on Sat (Erlang C asks for 1; short 1 -> 0); takes in-person "
     "work at R003 on Sat (beyond capacity 367 -> 0 min); R003's wait no end (queue grows) -> "
     "3 min; R003 76 % -> 85 %; home B01 73 % -> 85 %",
     "Thêm người cho một quầy tại Xã A thứ Bảy (cần 1 quầy có người; thiếu 1 → 0); nhận bớt "
     "hồ sơ tiếp nhận trực tiếp tại Xã A thứ Bảy (phần việc vượt năng lực 367 → 0 phút); "
     "thời gian chờ tại Xã A không dứt (hàng chờ dài mãi) → 3 phút; mức tải tại Xã A "
     "76 % → 85 %; đơn vị gốc B01: mức tải 73 % → 85 %."),
    ("covers the justice counter at R003 on Fri; home B01 stays at 80 %",
     "Đảm nhận quầy tư pháp – hộ tịch tại Xã A thứ Sáu; đơn vị gốc B01 vẫn ở mức tải 80 %."),
    ("1,234 min of work beyond 3 people's day; Erlang C asks for 4 staffed counters, "
     "3 people there",
     "1.234 phút công việc vượt quá ngày làm việc của 3 cán bộ; cần 4 quầy có người (theo "
     "mô hình hàng chờ Erlang C), chỉ có 3 cán bộ."),
    ("online minutes: no one qualified works that day",
     "Hồ sơ trực tuyến: không có cán bộ đủ chuyên môn làm việc ngày này."),
])
def test_reasons_and_shortfalls_as_sentences(english: str, vietnamese: str) -> None:
    assert explain(english, "vi", {"R003": "Xã A"}) == vietnamese
    assert not ENGLISH.search(explain(english, "vi"))
    assert explain(english, "en", {"R003": "Xã A"}).startswith(english[0].upper())


def test_travel_method_in_words() -> None:
    assert coverage_text("road network, motorbike") == "theo mạng đường, xe máy"
    assert coverage_text("road network, motorbike", "en") == "road network, motorbike"
    assert "không có mạng đường" in coverage_text("straight line x 1.3 at 30 km/h (no road network)")


def test_brief_escapes_and_carries_the_figures() -> None:
    page = brief_html(lang="vi", scenario="<b>Tỉnh</b>", made_on="06/12/2026",
                      run_a="MCLP · 30 phút", run_b="MCLP · 20 phút",
                      figures=[["Tỷ lệ dân được phục vụ", "90,0 %", "100,0 %", "+10,0 điểm %"]],
                      settings=[["Số điểm", "2", "3"]], changes=[("Điểm mở thêm", "1")],
                      map_png=b"\x89PNG", link="http://127.0.0.1/?page=compare&a=x&b=y",
                      synthetic=True)
    assert "&lt;b&gt;Tỉnh&lt;/b&gt;" in page and "<b>Tỉnh</b>" not in page
    for text in ("+10,0 điểm %", "100,0 %", "Số điểm", "data:image/png;base64,", "SYNTHETIC"):
        assert text in page
    assert "http" not in page.replace("http://127.0.0.1/?page=compare&amp;a=x&amp;b=y", "")
