"""Key figures of a scenario for the command line and the app."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from geodata.calibrate import weeks_of_data
from geodata.scenario import Scenario


@dataclass(frozen=True)
class ScenarioSummary:
    """What a planner checks first when opening a scenario."""

    name: str
    synthetic: bool
    population: float
    demand_rows: int
    demand_geometry: str
    communes: int
    sites_by_kind: dict[str, int]
    sites_closed: int
    sites_must_open: int
    counters: int
    staff: int
    staff_movable: int
    dossiers_per_week: float
    online_share: float | None
    workload_days: int
    workload_weeks: int
    roads: str | None
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def summarize_scenario(scenario: Scenario) -> ScenarioSummary:
    """Summarise a loaded scenario.

    ``dossiers_per_week`` averages the workload history over its weeks of data
    (total dossiers / ISO weeks holding at least one row, see
    :func:`geodata.calibrate.weeks_of_data`; a gap in the history does not
    dilute it); ``online_share`` is the share of
    dossiers filed online, ``None`` without workload.
    """
    demand, sites, staff, work = scenario.demand, scenario.sites, scenario.staff, scenario.workload
    codes = demand["commune_code"].astype(str)
    communes = int(codes[codes != ""].nunique()) if (codes != "").any() else 0
    per_week = 0.0
    online: float | None = None
    days = weeks = 0
    if len(work):
        total = float(work["dossiers"].sum())
        dates = pd.to_datetime(work["date"])
        days = int(dates.nunique())
        weeks = weeks_of_data(dates)
        per_week = total / weeks if weeks else 0.0
        online = float(work.loc[work["channel"] == "online", "dossiers"].sum()) / total if total else None
    if scenario.roads_path is not None:
        roads: str | None = scenario.roads_path.name
    elif scenario.settings.files.place:
        roads = f"download: {scenario.settings.files.place}"
    else:
        roads = None
    return ScenarioSummary(
        name=scenario.name,
        synthetic=scenario.settings.synthetic,
        population=float(demand["population"].sum()),
        demand_rows=len(demand),
        demand_geometry=", ".join(sorted(set(demand.geometry.geom_type))),
        communes=communes,
        sites_by_kind={str(k): int(v) for k, v in sites["kind"].value_counts().sort_index().items()},
        sites_closed=int((sites["status"] == "closed").sum()),
        sites_must_open=int((sites["status"] == "must_open").sum()),
        counters=int(sites["counters"].sum()),
        staff=len(staff),
        staff_movable=int(staff["movable"].astype(bool).sum()) if len(staff) else 0,
        dossiers_per_week=per_week,
        online_share=online,
        workload_days=days,
        workload_weeks=weeks,
        roads=roads,
        warnings=scenario.warnings,
    )
