"""Next week's dossiers per site, day, field and channel from daily history.

Method (stated in every :class:`Forecast`): a *weekday profile* times a
*recent level*.

* The level of each (site, field, channel) is its mean daily dossiers over the
  open days of the last ``recent_weeks`` weeks of history.
* The weekday profile of each (site, channel) is the mean of that weekday's
  daily totals (all fields) divided by the mean over all open history days;
  weekdays never seen in the history get factor 1.
* A day that is a holiday or not a working weekday is closed: no forecast row.

History days that are open but have no row count as zero dossiers.  Functions
here take and return plain DataFrames; reading a director's override CSV with
named errors is done by :mod:`motcua.staffing`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

import pandas as pd

__all__ = ["FORECAST_COLUMNS", "Forecast", "apply_override", "forecast_days", "open_days"]

logger = logging.getLogger(__name__)

#: Weekday codes, Monday first (``date.weekday()`` indexes into it).
WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: Columns of :attr:`Forecast.table`, also the override CSV format (plus ``weekday``, ``source``).
FORECAST_COLUMNS: tuple[str, ...] = (
    "date", "weekday", "site_id", "field", "channel", "dossiers", "source",
)
_KEY = ["site_id", "field", "channel"]


@dataclass(frozen=True)
class Forecast:
    """Expected dossiers for the open days of one week.

    Attributes
    ----------
    table : DataFrame with :data:`FORECAST_COLUMNS`; ``date`` is a
        ``datetime.date``, ``dossiers`` a float >= 0, ``source`` is ``"model"``
        or ``"override"``.
    method : plain-language description of how the numbers were made.
    open_dates : the days the forecast covers (working weekdays, no holidays).
    closed_dates : days of the week that are closed (weekend or holiday).
    """

    table: pd.DataFrame
    method: str
    open_dates: tuple[date, ...]
    closed_dates: tuple[date, ...]


def open_days(days: Iterable[date], working_days: Sequence[str], holidays: Iterable[str]) -> list[date]:
    """Return the days of ``days`` that fall on a working weekday and are not holidays.

    Parameters
    ----------
    days
        Candidate days.
    working_days
        Weekday codes that are worked (``"Mon"`` .. ``"Sun"``).
    holidays
        ISO dates that are closed.

    Returns
    -------
    list of date
        The open days, in the given order.
    """
    closed = {date.fromisoformat(h) for h in holidays}
    worked = set(working_days)
    return [d for d in days if WEEKDAYS[d.weekday()] in worked and d not in closed]


def forecast_days(
    history: pd.DataFrame,
    week_dates: Sequence[date],
    working_days: Sequence[str],
    holidays: Iterable[str] = (),
    recent_weeks: int = 4,
) -> Forecast:
    """Forecast dossiers for ``week_dates`` from daily ``history``.

    Parameters
    ----------
    history
        Columns ``date`` (datetime64 or date), ``site_id``, ``field``,
        ``channel``, ``dossiers`` (>= 0).
    week_dates
        The days to forecast (usually the seven days of an ISO week).
    working_days
        Worked weekday codes; other weekdays are closed.
    holidays
        ISO dates closed everywhere (applies to history and to the forecast).
    recent_weeks
        Weeks at the end of the history that set the level (>= 1).

    Returns
    -------
    Forecast
        One row per (open day, site, field, channel) seen in the history.

    Raises
    ------
    ValueError
        If ``recent_weeks < 1`` or the history has no open day.
    """
    if recent_weeks < 1:
        msg = f"recent_weeks must be >= 1, got {recent_weeks!r}"
        raise ValueError(msg)
    holidays = tuple(holidays)
    targets = open_days(week_dates, working_days, holidays)
    closed = tuple(d for d in week_dates if d not in set(targets))
    if history.empty:
        msg = "workload history is empty: nothing to forecast from"
        raise ValueError(msg)

    hist = history.loc[:, ["date", *_KEY, "dossiers"]].copy()
    hist["date"] = pd.to_datetime(hist["date"]).dt.date
    start, end = min(hist["date"]), max(hist["date"])
    all_days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    hist_open = open_days(all_days, working_days, holidays)
    if not hist_open:
        msg = f"workload history {start}..{end} has no open working day"
        raise ValueError(msg)

    # daily dossiers per key on every open history day, missing rows = 0
    daily = hist.groupby([*_KEY, "date"])["dossiers"].sum().unstack("date")
    daily = daily.reindex(columns=hist_open, fill_value=0.0).fillna(0.0).astype(float)

    # recent level per (site, field, channel)
    cutoff = end - timedelta(days=7 * recent_weeks)
    recent_cols = [d for d in hist_open if d > cutoff]
    level = daily[recent_cols].mean(axis=1)

    # weekday profile per (site, channel): weekday mean / overall mean of daily totals
    totals = daily.groupby(level=["site_id", "channel"]).sum()
    overall = totals.mean(axis=1)
    weekday_of = pd.Series([WEEKDAYS[d.weekday()] for d in hist_open], index=hist_open)
    by_weekday = totals.T.groupby(weekday_of).mean().T
    factor = by_weekday.div(overall.where(overall > 0), axis=0).fillna(1.0)

    rows: list[pd.DataFrame] = []
    for d in targets:
        wd = WEEKDAYS[d.weekday()]
        f = factor[wd] if wd in factor.columns else pd.Series(1.0, index=factor.index)
        f_key = f.reindex(pd.MultiIndex.from_arrays(
            [level.index.get_level_values("site_id"), level.index.get_level_values("channel")]
        )).fillna(1.0).to_numpy()
        part = level.reset_index(name="dossiers")
        part["dossiers"] = (part["dossiers"].to_numpy() * f_key).round(3)
        part["date"] = d
        part["weekday"] = wd
        rows.append(part)
    table = (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame(columns=[c for c in FORECAST_COLUMNS if c != "source"])
    )
    table["source"] = "model"
    table = table.loc[:, list(FORECAST_COLUMNS)].sort_values(
        ["date", "site_id", "field", "channel"], ignore_index=True
    )
    n_weeks = len(all_days) / 7
    hol = f"; holidays closed: {', '.join(sorted(set(holidays)))}" if holidays else "; no holidays"
    method = (
        f"weekday profile per site and channel over {n_weeks:.1f} weeks of history "
        f"({start}..{end}) x mean daily level per site, field and channel over the last "
        f"{recent_weeks} weeks; open days {', '.join(working_days)}{hol}"
    )
    logger.info("forecast: %d rows for %d open days (%s)", len(table), len(targets), method)
    return Forecast(table=table, method=method, open_dates=tuple(targets), closed_dates=closed)


def apply_override(forecast: Forecast, override: pd.DataFrame) -> Forecast:
    """Replace (or add) forecast cells with a director's numbers.

    Parameters
    ----------
    forecast
        The model forecast.
    override
        Columns ``date`` (date), ``site_id``, ``field``, ``channel``,
        ``dossiers`` (float >= 0), already validated; its days must be open days.

    Returns
    -------
    Forecast
        A new forecast whose overridden rows have ``source == "override"``.

    Raises
    ------
    ValueError
        If an override row falls on a day outside ``forecast.open_dates``.
    """
    if override.empty:
        return forecast
    bad = sorted({d for d in override["date"] if d not in set(forecast.open_dates)})
    if bad:
        msg = f"override rows on days that are not open this week: {', '.join(map(str, bad))}"
        raise ValueError(msg)
    keys = ["date", *_KEY]
    ov = override.loc[:, [*keys, "dossiers"]].copy()
    ov["dossiers"] = ov["dossiers"].astype(float)
    ov["weekday"] = [WEEKDAYS[d.weekday()] for d in ov["date"]]
    ov["source"] = "override"
    base = forecast.table.set_index(keys)
    ov_i = ov.set_index(keys)
    kept = base.loc[~base.index.isin(ov_i.index)]
    table = (
        pd.concat([kept, ov_i])
        .reset_index()
        .loc[:, list(FORECAST_COLUMNS)]
        .sort_values(["date", "site_id", "field", "channel"], ignore_index=True)
    )
    method = f"{forecast.method}; {len(ov)} cells overridden by the director"
    return replace(forecast, table=table, method=method)
