"""Forecast: weekday profile x recent level, holidays closed, overrides."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from optimizer.forecast import apply_override, forecast_days, open_days

WEEK = [date(2026, 11, 23) + timedelta(days=i) for i in range(7)]  # 2026-W48
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


def history(weeks: int = 4) -> pd.DataFrame:
    """Site S: Mondays 20 in-person land dossiers, other weekdays 10; online 5 every day."""
    rows = []
    start = date(2026, 10, 26)  # Monday, 4 weeks before W48
    for k in range(7 * weeks):
        d = start + timedelta(days=k)
        if d.weekday() == 6:
            continue
        rows.append((d, "S", "land", "in_person", 20 if d.weekday() == 0 else 10))
        rows.append((d, "S", "land", "online", 5))
    df = pd.DataFrame(rows, columns=["date", "site_id", "field", "channel", "dossiers"])
    df["date"] = pd.to_datetime(df["date"])
    return df


def test_weekday_profile_times_level() -> None:
    fc = forecast_days(history(), WEEK, DAYS, holidays=("2026-11-26",), recent_weeks=4)
    t = fc.table
    ip = t[t["channel"] == "in_person"].set_index("date")["dossiers"]
    # level = (20 + 5 x 10) / 6 = 11.667; Monday factor 20/11.667, others 10/11.667
    assert ip[date(2026, 11, 23)] == pytest.approx(20.0)
    assert ip[date(2026, 11, 24)] == pytest.approx(10.0)
    online = t[t["channel"] == "online"]["dossiers"]
    assert online.tolist() == pytest.approx([5.0] * 5)
    # Thursday 26 is a holiday and Sunday is not worked: closed, no rows
    assert date(2026, 11, 26) not in set(t["date"]) and date(2026, 11, 29) not in set(t["date"])
    assert fc.closed_dates == (date(2026, 11, 26), date(2026, 11, 29))
    assert "weekday profile" in fc.method and "holidays closed: 2026-11-26" in fc.method
    assert set(t["source"]) == {"model"}


def test_same_pattern_longer_history_same_forecast() -> None:
    h = history(weeks=8)
    # the same weekly pattern over 8 weeks gives the forecast of its last 4 weeks
    h = h[h["date"] >= pd.Timestamp("2026-10-26")]
    fc_recent = forecast_days(h, WEEK, DAYS, recent_weeks=4)
    fc_long = forecast_days(history(8), WEEK, DAYS, recent_weeks=4)
    pd.testing.assert_frame_equal(fc_recent.table, fc_long.table)


def test_missing_history_rows_count_as_zero() -> None:
    h = history()
    h = h[~((h["date"] == pd.Timestamp("2026-11-17")) & (h["channel"] == "online"))]
    fc = forecast_days(h, WEEK, DAYS, recent_weeks=4)
    t = fc.table
    online = t[t["channel"] == "online"].set_index("date")["dossiers"]
    # 23 of 24 open days at 5, one at 0: level 115/24; Tuesday factor (15/4)/(115/24)
    assert online[date(2026, 11, 24)] == pytest.approx(3.75, abs=1e-3)
    assert online[date(2026, 11, 23)] == pytest.approx(5.0, abs=1e-3)


def test_override_replaces_and_adds_cells() -> None:
    fc = forecast_days(history(), WEEK, DAYS)
    ov = pd.DataFrame({
        "date": [date(2026, 11, 24), date(2026, 11, 24)], "site_id": ["S", "S"],
        "field": ["land", "business"], "channel": ["in_person", "online"], "dossiers": [99, 7],
    })
    out = apply_override(fc, ov)
    t = out.table.set_index(["date", "site_id", "field", "channel"])
    assert t.loc[(date(2026, 11, 24), "S", "land", "in_person"), "dossiers"] == 99.0
    assert t.loc[(date(2026, 11, 24), "S", "business", "online"), "source"] == "override"
    assert len(out.table) == len(fc.table) + 1
    assert "2 cells overridden" in out.method
    with pytest.raises(ValueError, match="not open this week: 2026-11-29"):
        apply_override(fc, ov.assign(date=[date(2026, 11, 29)] * 2))


def test_open_days_and_empty_history() -> None:
    assert open_days(WEEK, ("Mon", "Tue"), ("2026-11-24",)) == [date(2026, 11, 23)]
    empty = history().iloc[0:0]
    with pytest.raises(ValueError, match="history is empty"):
        forecast_days(empty, WEEK, DAYS)
    with pytest.raises(ValueError, match="recent_weeks"):
        forecast_days(history(), WEEK, DAYS, recent_weeks=0)
