"""Demand parameters read back from a workload history and the population.

A workload file lists dossiers by date, site, field and channel.  With the
residents of the place it gives the two numbers ``[demand]`` of
``scenario.toml`` needs:

* **dossiers per 1,000 residents per year** = dossiers / weeks of data x
  :data:`WEEKS_PER_YEAR` / residents x 1,000;
* **in-person share** = in-person dossiers / all dossiers, overall and by field.

*Weeks of data* are the ISO weeks (Monday to Sunday) holding at least one
workload row, not the calendar span from the first date to the last: a history
with a missing month is not diluted by it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from geodata.settings import FIELDS, DemandSettings

#: Weeks in a year when turning a weekly rate into a yearly one (the same 52 as
#: ``motcua.placement.WEEKS_PER_YEAR``, which turns it back into a daily rate).
WEEKS_PER_YEAR = 52.0


def weeks_of_data(dates: pd.Series) -> int:
    """Number of ISO weeks (Monday to Sunday) holding at least one date of ``dates``."""
    d = pd.to_datetime(pd.Series(dates)).dropna()
    if d.empty:
        return 0
    iso = d.dt.isocalendar()
    return int(iso[["year", "week"]].drop_duplicates().shape[0])


@dataclass(frozen=True)
class DemandCalibration:
    """Demand parameters computed from a workload history.

    dossiers : dossiers in the history; in_person : of which filed in person.
    weeks : weeks of data (ISO weeks with at least one row).
    population : residents the rates are per.
    source : file the history came from (for the provenance comment).
    """

    dossiers: int
    in_person: int
    weeks: int
    population: float
    dossiers_per_1000_per_year: float
    in_person_share: float
    in_person_share_by_field: dict[str, float] = field(default_factory=dict)
    source: str = "workload"

    @property
    def dossiers_per_week(self) -> float:
        return self.dossiers / self.weeks if self.weeks else 0.0

    def settings(self) -> DemandSettings:
        """``[demand]`` with the calibrated values."""
        return DemandSettings(dossiers_per_1000_per_year=self.dossiers_per_1000_per_year,
                              in_person_share=self.in_person_share,
                              in_person_share_by_field=dict(self.in_person_share_by_field))

    def comment_lines(self) -> list[str]:
        """The provenance written above ``[demand]`` in ``scenario.toml``."""
        return [
            f"# [demand] calibrated by `motcua import` from {self.source}: "
            f"{self.dossiers:,} dossiers in {self.weeks} weeks of data",
            f"# ({self.dossiers_per_week:,.1f} a week x {WEEKS_PER_YEAR:g} weeks) for "
            f"{self.population:,.0f} residents = {self.dossiers_per_1000_per_year:g} per 1,000 "
            "a year;",
            f"# {self.in_person:,} of them in person = {100 * self.in_person_share:.1f} % "
            "(by field: in_person_share_by_field).",
        ]

    def summary(self) -> str:
        """One line for the command line."""
        return (f"{self.dossiers_per_1000_per_year:g} dossiers per 1,000 residents a year, "
                f"{100 * self.in_person_share:.1f} % in person (from {self.source}: "
                f"{self.dossiers:,} dossiers over {self.weeks} weeks of data, "
                f"{self.population:,.0f} residents)")


def calibrate_demand(workload: pd.DataFrame, population: float,
                     source: str = "workload") -> DemandCalibration | None:
    """Dossiers per 1,000 residents a year and in-person shares from a workload history.

    Parameters
    ----------
    workload : columns ``date, field, channel, dossiers`` (as loaded by
        :func:`geodata.scenario.load_scenario`).
    population : residents the history serves (> 0).
    source : name of the workload file, for the provenance.

    Returns
    -------
    DemandCalibration or None
        ``None`` when the history holds no dossier or there are no residents.
        Rates are rounded to 0.1 per 1,000 and shares to 0.001.
    """
    if workload is None or len(workload) == 0 or not population > 0:
        return None
    dossiers = workload["dossiers"].astype("int64")
    total = int(dossiers.sum())
    if total <= 0:
        return None
    weeks = weeks_of_data(workload["date"])
    in_person_mask = (workload["channel"].astype(str) == "in_person").to_numpy()
    in_person = int(dossiers[in_person_mask].sum())
    per_year = total / weeks * WEEKS_PER_YEAR
    by_field: dict[str, float] = {}
    frame = pd.DataFrame({"field": workload["field"].astype(str).to_numpy(),
                          "in_person": dossiers.where(in_person_mask, 0).to_numpy(),
                          "all": dossiers.to_numpy()})
    sums = frame.groupby("field")[["in_person", "all"]].sum()
    person_by_field = dict(zip(sums.index.astype(str), sums["in_person"].to_numpy(float), strict=True))
    all_by_field = dict(zip(sums.index.astype(str), sums["all"].to_numpy(float), strict=True))
    for f in FIELDS:
        if all_by_field.get(f, 0.0) > 0:
            by_field[f] = round(person_by_field[f] / all_by_field[f], 3)
    return DemandCalibration(
        dossiers=total, in_person=in_person, weeks=weeks, population=float(population),
        dossiers_per_1000_per_year=round(per_year / float(population) * 1000.0, 1),
        in_person_share=round(in_person / total, 3), in_person_share_by_field=by_field,
        source=source)


def annotate_toml(text: str, section: str, lines: list[str]) -> str:
    """Put comment ``lines`` just above the ``[section]`` header of TOML ``text``.

    ``tomli_w`` writes no comments, so they are added to its output; the
    result parses to the same data (comments are ignored by TOML readers).
    """
    header = f"[{section}]"
    out: list[str] = []
    done = False
    for line in text.splitlines():
        if not done and line.strip() == header:
            out.extend(lines)
            done = True
        out.append(line)
    if not done:
        out.extend(["", *lines])
    return "\n".join(out) + "\n"
