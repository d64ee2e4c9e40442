"""Placement for a scenario: coverage matrix + site statuses + weights -> a saved run.

:func:`run_placement` glues :mod:`geodata.coverage` (who is within the standard
of which site) to :mod:`optimizer.placement` (the models) and returns a
:class:`PlacementRun`: the request, the solver report, the key figures, the
sites and demand points as GeoDataFrames, and the Pareto table if asked.
``PlacementRun.save`` writes GeoPackage, GeoJSON, CSV and ``result.json``
atomically; ``PlacementRun.load`` reads a saved run back (the app's Compare page).
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from geodata._atomic import output_folder, write_vector
from geodata._json import dumps, json_safe
from geodata.scenario import Scenario
from motcua._excel import write_workbook
from motcua.progress import ProgressCallback, report_to
from optimizer import placement as pl
from optimizer._status import SolverReport, SolveStatus, check_seed_threads
from optimizer.errors import InvalidInputError

logger = logging.getLogger(__name__)

Model = Literal["lscp", "mclp", "pmedian", "pcenter", "closure"]
MODELS: tuple[str, ...] = ("lscp", "mclp", "pmedian", "pcenter", "closure")
#: Which existing offices ``keep_existing`` keeps open: all, or one kind.
KEEP_EXISTING: dict[str, tuple[str, ...]] = {
    "all": ("branch", "reception"), "branches": ("branch",), "receptions": ("reception",)}
#: The models that can respect site capacities.
CAPACITATED_MODELS: tuple[str, ...] = ("lscp", "mclp", "pmedian", "closure")
#: The request's options whose use depends on the others (:meth:`PlacementRequest.option_applies`).
OPTIONS: tuple[str, ...] = ("p", "budget", "capacitated", "single_assignment", "overload_penalty",
                            "backup", "lexicographic", "min_covered_pct", "weighting",
                            "keep_existing", "add", "max_loss")
Weighting = Literal["population", "in_person"]
#: ``figures.weights`` of a run weighted by in-person dossiers per day.
DOSSIER_WEIGHTS = "in-person dossiers per day"
#: p-median / p-center see travel times up to this multiple of the standard's minutes.
CUTOFF_FACTOR = 3.0
#: Working weeks per year, to turn yearly dossiers into dossiers per working day.
WEEKS_PER_YEAR = 52.0
RESULT_VERSION = 1


@dataclass(frozen=True)
class PlacementRequest:
    """What to solve.  Every field is saved with the result.

    model : ``lscp`` (fewest points), ``mclp`` (most covered with ``p`` points or
        ``budget``), ``pmedian`` (least weighted minutes), ``pcenter`` (least worst minutes),
        ``closure`` (which existing offices can close while everyone covered today stays
        covered; the fewest kept, i.e. the largest saving in opening cost).
    p : number of points (mclp, pmedian, pcenter, backup); must-open sites included.
    keep_existing : ``"all"`` (every existing branch and reception point stays open),
        ``"branches"`` or ``"receptions"`` (that kind only); ``None``: the scenario's statuses.
        With lscp the answer is the fewest NEW points covering everyone reachable.
    add : the existing network kept (``keep_existing``, ``"all"`` by default) and this many
        new points chosen: ``p`` = the points kept open + ``add`` (mclp, pmedian, pcenter).
    max_loss : closure: residents allowed to lose their coverage in total (default 0).
    budget : total opening cost for mclp instead of ``p``.
    minutes, km : overrides of the scenario's coverage standard.
    capacitated : respect each site's ``capacity_per_day`` (in-person dossiers per day).
    single_assignment : with ``capacitated``, each demand point goes to one site.
    backup : maximise the population covered twice (needs ``p``).
    lexicographic : mclp with ``p``: the most covered, then the fewest points that
        keep that coverage, then the least weighted travel time to an open point.
    overload_penalty : with ``capacitated``: a point may take more than its capacity,
        each in-person dossier per day over it costing this much (opening-cost
        units for lscp, dossiers per day for mclp, minutes for pmedian); ``None``: capacity
        is a hard limit.
    keep_open, close : site ids that must stay open, or may not open, in this run
        (over the scenario's ``status``; an existing point closed here counts as
        closed in the figures).
    min_covered_pct : pmedian: at least this percentage of the weight within the
        coverage standard of an open point (the covered share of the figures).
    pareto : also compute the covered share for p = 1 .. pareto.
    weighting : ``population`` or ``in_person`` dossiers per working day.
    mode : travel mode overriding the scenario's.
    time_limit_s, seed, threads : solver settings, saved with the result.
    engine : ``auto`` (SCIP for LSCP components up to 2,000 sites whose greedy cover is
        within 27 % of their LP, HiGHS otherwise),
        ``highs`` or ``scip``.
    """

    model: Model = "lscp"
    p: int | None = None
    keep_existing: str | None = None
    add: int | None = None
    max_loss: float | None = None
    budget: float | None = None
    minutes: float | None = None
    km: float | None = None
    capacitated: bool = False
    single_assignment: bool = False
    backup: bool = False
    lexicographic: bool = False
    min_covered_pct: float | None = None
    keep_open: tuple[str, ...] = ()
    close: tuple[str, ...] = ()
    overload_penalty: float | None = None
    pareto: int | None = None
    weighting: Weighting = "population"
    mode: str | None = None
    time_limit_s: float | None = 60.0
    seed: int = 0
    threads: int = 1
    engine: str = "auto"

    @property
    def by_dossiers(self) -> bool:
        """Weights are in-person dossiers per day: asked for, or capacities (in dossiers)."""
        return self.weighting == "in_person" or self.capacitated

    def option_applies(self, option: str) -> bool:
        """Whether ``option`` (one of :data:`OPTIONS`, a field name) can be used with this
        request's other choices (model, capacities, budget, backup, lexicographic goals).

        The one rule of which options combine: :meth:`check` refuses an option set where
        it does not apply (the ``motcua place`` command line), and the app's placement
        form disables the option's widget.  ``weighting`` does not apply with capacities
        (counted in dossiers per day, so the weights are too); asking for in-person
        dossiers with them is not an error.
        """
        m = self.model
        rules = {
            # lscp finds the number of points itself, closure keeps the fewest offices;
            # "add" gives the number of NEW points instead
            "p": m not in ("lscp", "closure") and self.add is None,
            "budget": (m == "mclp" and not self.backup and not self.lexicographic
                       and self.add is None),
            "capacitated": m in CAPACITATED_MODELS and not self.backup and not self.lexicographic,
            # closure decides which existing offices stay, so it cannot keep them all
            "keep_existing": m != "closure",
            "add": m in ("mclp", "pmedian", "pcenter") and self.budget is None and self.p is None,
            # with capacities every dossier covered today stays assigned within capacity
            "max_loss": m == "closure" and not self.capacitated,
            "single_assignment": self.capacitated,
            "overload_penalty": self.capacitated,
            "backup": m == "mclp" and not self.capacitated and self.budget is None,
            "lexicographic": (m == "mclp" and not self.capacitated and not self.backup
                              and self.budget is None),
            # the capacitated p-median has no covered-share floor
            "min_covered_pct": m == "pmedian" and not self.capacitated,
            "weighting": not self.capacitated and m != "closure",
        }
        if option not in rules:
            msg = f"option {option!r} unknown; expected one of {', '.join(OPTIONS)}"
            raise KeyError(msg)
        return rules[option]

    def check(self) -> None:
        """Raise :class:`~optimizer.errors.InvalidInputError` naming the option that cannot
        be used (see :meth:`option_applies` for which options combine)."""
        if self.model not in MODELS:
            msg = f"model {self.model!r} unknown; expected one of {', '.join(MODELS)}"
            raise InvalidInputError(msg)
        if self.lexicographic and not self.option_applies("lexicographic"):
            msg = ("lexicographic goals are an mclp variant with a number of points, without "
                   "capacities, backup or budget (--model mclp --lexicographic --points N)")
            raise InvalidInputError(msg)
        if self.keep_existing is not None and self.keep_existing not in KEEP_EXISTING:
            msg = (f"keep existing {self.keep_existing!r} unknown; expected one of "
                   f"{', '.join(KEEP_EXISTING)}")
            raise InvalidInputError(msg)
        if self.keep_existing is not None and not self.option_applies("keep_existing"):
            msg = ("keeping every existing office open does not apply to closure, which "
                   "chooses the offices to keep")
            raise InvalidInputError(msg)
        if self.add is not None and (self.p is not None or self.budget is not None):
            msg = ("--add N gives the number of new points; it cannot be combined with "
                   "--points or --budget")
            raise InvalidInputError(msg)
        if self.add is not None and not self.option_applies("add"):
            msg = "--add N applies to mclp, pmedian and pcenter (lscp finds the fewest new points)"
            raise InvalidInputError(msg)
        if self.add is not None and self.add < 1:
            msg = f"the number of points to add must be >= 1, got {self.add}"
            raise InvalidInputError(msg)
        if self.max_loss is not None and not (
                self.option_applies("max_loss") and math.isfinite(self.max_loss)
                and self.max_loss >= 0):
            msg = ("a maximum loss applies to closure without capacities (--model closure "
                   "--max-loss PEOPLE) and is a number of residents >= 0, got "
                   f"{self.max_loss} with model {self.model}"
                   + (" --capacitated" if self.capacitated else ""))
            raise InvalidInputError(msg)
        needs_p = (self.model in ("pmedian", "pcenter") or self.backup or self.lexicographic or (
            self.model == "mclp" and self.budget is None)) and self.add is None
        if needs_p and self.p is None:
            msg = f"model {self.model}{' with backup' if self.backup else ''} needs the number of points (p / --points)"
            raise InvalidInputError(msg)
        if self.p is not None and self.p < 1:
            msg = f"number of points must be >= 1, got {self.p}"
            raise InvalidInputError(msg)
        for name in ("minutes", "km", "budget", "time_limit_s"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(v) and v > 0):
                msg = f"{name} must be a positive number, got {v}"
                raise InvalidInputError(msg)
        check_seed_threads(self.seed, self.threads)
        if self.pareto is not None and self.pareto < 1:
            msg = f"pareto must be >= 1, got {self.pareto}"
            raise InvalidInputError(msg)
        if self.single_assignment and not self.option_applies("single_assignment"):
            msg = "single assignment only applies to the capacitated model (--capacitated)"
            raise InvalidInputError(msg)
        if self.capacitated and not self.option_applies("capacitated"):
            msg = ("capacities apply to lscp, mclp, pmedian and closure (not with backup or "
                   "lexicographic goals)")
            raise InvalidInputError(msg)
        if self.backup and not self.option_applies("backup"):
            msg = "backup coverage is an mclp variant (--model mclp --backup --points N)"
            raise InvalidInputError(msg)
        both = sorted(set(self.keep_open) & set(self.close))
        if both:
            msg = f"site(s) {', '.join(both)} cannot both stay open and be closed"
            raise InvalidInputError(msg)
        if self.overload_penalty is not None and not (
                self.option_applies("overload_penalty") and math.isfinite(self.overload_penalty)
                and self.overload_penalty > 0):
            msg = ("an overload penalty applies to the capacitated models (--capacitated) and "
                   f"must be a positive number, got {self.overload_penalty}")
            raise InvalidInputError(msg)
        if self.min_covered_pct is not None and (
                not self.option_applies("min_covered_pct") or not (
                    math.isfinite(self.min_covered_pct) and 0 < self.min_covered_pct <= 100)):
            msg = ("a covered-share floor applies to pmedian without capacities and is a "
                   f"percentage in (0, 100], got {self.min_covered_pct} with model "
                   f"{self.model}" + (" --capacitated" if self.capacitated else ""))
            raise InvalidInputError(msg)
        if self.p is not None and not self.option_applies("p"):
            msg = ("the number of points (p / --points) applies to mclp, pmedian and pcenter; "
                   "lscp finds the fewest points itself, closure the fewest offices to keep")
            raise InvalidInputError(msg)
        if self.budget is not None and not self.option_applies("budget"):
            msg = "a budget applies to mclp (--model mclp --budget B)"
            raise InvalidInputError(msg)


@dataclass(frozen=True)
class PlacementFigures:
    """The key figures of a placement run, saved as ``figures`` in ``result.json``.

    The field names are the keys of that JSON object (:meth:`to_dict` gives it,
    :meth:`from_dict` reads it back).  A figure that has no value (no resident,
    no travel time, ``nan`` objective) is ``None`` once saved; a figure missing
    from a result saved before it existed takes the default below (``None``:
    not recorded).

    model, objective : the model that ran and its objective (see
        :meth:`PlacementRun.objective_meaning`; ``""``: use the request's model).
    total_population, covered_population, covered_share : residents, those within
        the standard of an open point, and their share (``None`` with no resident).
    uncovered_population, uncoverable_population : residents not covered, and
        those of them no candidate this run may open can reach.
    uncovered_by_commune, uncoverable_by_commune : the same by commune name, the
        most uncovered first (only communes where someone is uncovered).
    mean_minutes, worst_minutes : resident-weighted mean and largest travel time to
        the assigned point (``None`` with no travel time).
    open_points, new_points, closed_points, kept_points : open points; of them not
        existing today; existing today and closed; existing and kept open.
    double_covered_population : residents within the standard of two or more open points.
    overloaded_points, max_utilisation : open points whose load passes their capacity,
        and the largest load / capacity.
    near_open_population : residents within the standard of an open point (with
        capacities some of them are not assigned: the point is full).
    overload_per_day : in-person dossiers a day over capacity, over all points.
    weights : ``"population"`` or :data:`DOSSIER_WEIGHTS`.
    synthetic : the scenario's data are synthetic.
    p, fixed_points : the number of points solved for (``--add``: kept + N) and the
        must-open points among them.
    kept_alone_covered_population, added_covered_population : with ``keep_existing`` or
        ``add``: residents the kept offices cover alone, and those the new points add.
    existing_points, closable_points, savings, covered_today_population,
    lost_population, sole_cover_points, max_loss, closures : closure: the offices open
        today, those that can close and their saving, the residents covered today and
        those who lose coverage, offices kept because a village has no other, the loss
        allowed, and one record per closable office (see :func:`closures_table`).
    explanation : the answer to the planner's question in one sentence (English), or
        ``None`` when the run asked none.
    """

    model: str = ""
    objective: float | None = None
    total_population: float | None = None
    covered_population: float | None = None
    covered_share: float | None = None
    uncovered_population: float | None = None
    uncoverable_population: float | None = None
    uncovered_by_commune: dict[str, float] = field(default_factory=dict)
    uncoverable_by_commune: dict[str, float] = field(default_factory=dict)
    mean_minutes: float | None = None
    worst_minutes: float | None = None
    open_points: int | None = None
    new_points: int | None = None
    closed_points: int | None = None
    kept_points: int | None = None
    double_covered_population: float | None = None
    overloaded_points: int | None = None
    near_open_population: float | None = None
    overload_per_day: float | None = None
    max_utilisation: float | None = None
    weights: str = "population"
    synthetic: bool = False
    p: int | None = None
    fixed_points: int | None = None
    kept_alone_covered_population: float | None = None
    added_covered_population: float | None = None
    existing_points: int | None = None
    closable_points: int | None = None
    savings: float | None = None
    covered_today_population: float | None = None
    lost_population: float | None = None
    sole_cover_points: int | None = None
    max_loss: float | None = None
    closures: list[dict[str, Any]] = field(default_factory=list)
    explanation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The figures by name, in field order (the ``figures`` object of ``result.json``)."""
        return {f.name: (dict(v) if isinstance(v := getattr(self, f.name), Mapping) else v)
                for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlacementFigures:
        """Figures saved by :meth:`to_dict` (any version): missing keys take their
        defaults, unknown keys are ignored, ``null`` by-commune tables are empty."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for k in ("uncovered_by_commune", "uncoverable_by_commune"):
            if k in values:
                values[k] = {str(n): float(x) for n, x in (values[k] or {}).items()}
        if values.get("model") is None:
            values.pop("model", None)
        return cls(**values)


@dataclass(frozen=True, eq=False)
class PlacementRun:
    """A solved placement for a scenario, ready to show, save and compare.

    figures : key numbers (:class:`PlacementFigures`: covered population and share,
        uncovered population, mean / worst minutes, open / new / closed counts, ...).
    sites : GeoDataFrame (EPSG:4326) with ``open, new, closed_now, fixed, load,
        capacity_per_day, utilisation`` added.
    demand : GeoDataFrame with ``assigned_site, minutes, covered, coverable``.
    pareto : table ``p, covered_population, covered_share, added_population, best_bound,
        gap, status`` (``added_population``: covered beyond ``p - 1`` points, exact when both
        rows are OPTIMAL).
    """

    request: PlacementRequest
    report: SolverReport
    figures: PlacementFigures
    sites: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    pareto: pd.DataFrame | None
    coverage_label: str
    scenario_name: str
    stages: tuple[SolverReport, ...] = field(default_factory=tuple)
    coverage_warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def status(self) -> SolveStatus:
        return self.report.status

    @property
    def weighted_by_dossiers(self) -> bool:
        """The weights were in-person dossiers per day (``weighting`` or capacities)."""
        return self.figures.weights == DOSSIER_WEIGHTS

    def objective_meaning(self, lang: str) -> str | None:
        """What the objective measures for this run's model, in ``lang`` (``None`` if unknown)."""
        from motcua.i18n import TEXTS, t

        model = self.figures.model or self.request.model
        if f"objective_{model}" not in TEXTS:
            return None
        unit = t("unit_in_person" if self.weighted_by_dossiers else "unit_population", lang)
        return t("objective_means", lang, what=t(f"objective_{model}", lang, unit=unit))

    def to_json_dict(self) -> dict[str, Any]:
        """The run without its tables, as strict JSON types (``None`` for NaN and infinity)."""
        out: dict[str, Any] = json_safe({
            "version": RESULT_VERSION,
            "scenario": self.scenario_name,
            "coverage_method": self.coverage_label,
            "coverage_warnings": list(self.coverage_warnings),
            "request": asdict(self.request),
            "report": self.report.to_dict(),
            "stages": [s.to_dict() for s in self.stages],
            "figures": self.figures.to_dict(),
            "seed": self.report.seed,
            "threads": self.report.threads,
            "time_limit_s": self.report.time_limit_s,
        })
        return out

    def save(self, folder: str | Path, *, overwrite: bool = False,
             protect: Iterable[str | Path | None] = ()) -> Path:
        """Write the run to ``folder`` atomically (temp folder, then an atomic swap).

        Files: ``result.gpkg`` (layers ``sites`` and ``demand``), ``sites.geojson``,
        ``demand.geojson``, ``sites.csv``, ``demand.csv``, ``pareto.csv`` (if any),
        ``result.xlsx`` (see :meth:`workbook`), ``result.json`` and the manifest
        ``.motcua-manifest.json``. ``folder`` must be new, empty or a previous
        ``place`` output; ``overwrite`` and ``protect`` (the scenario folder and
        inputs) as in :func:`geodata._atomic.output_folder`, which raises
        :class:`~geodata._errors.OutputError` for a refused folder or a failed write.
        """
        target = Path(folder)
        with output_folder(target, "place", overwrite=overwrite, protect=protect) as tmp:
            write_vector(self.sites, tmp / "result.gpkg", layer="sites", driver="GPKG")
            write_vector(self.demand, tmp / "result.gpkg", layer="demand", driver="GPKG")
            write_vector(self.sites, tmp / "sites.geojson", driver="GeoJSON")
            write_vector(self.demand, tmp / "demand.geojson", driver="GeoJSON")
            _csv(self.sites).to_csv(tmp / "sites.csv", index=False)
            _csv(self.demand).to_csv(tmp / "demand.csv", index=False)
            if self.pareto is not None:
                self.pareto.to_csv(tmp / "pareto.csv", index=False)
            if self.request.model == "closure":
                closures_table(self).to_csv(tmp / "closures.csv", index=False)
            write_workbook(tmp / "result.xlsx", self.workbook())
            (tmp / "result.json").write_text(
                dumps(self.to_json_dict(), indent=2), encoding="utf-8")
        logger.info("placement run saved to %s", target)
        return target

    def by_commune(self) -> pd.DataFrame:
        """Residents per commune: total, covered, uncovered and out of every candidate's reach,
        the most uncovered first (ties by name)."""
        table = commune_table(self.demand)
        return table.sort_values("uncovered", ascending=False, kind="stable").reset_index(drop=True)

    def workbook(self) -> dict[str, pd.DataFrame]:
        """The sheets of ``result.xlsx``: Summary, Sites, Communes, Demand and Pareto (if any)."""
        f, rep, req = self.figures, self.report, self.request

        def num(v: float | None) -> float | None:
            return None if v is None else float(v)

        items: list[tuple[str, Any]] = [
            ("scenario", self.scenario_name), ("model", req.model),
            ("answer", f.explanation or ""),
            ("objective measures", self.objective_meaning("en") or ""),
            ("status", rep.status.value), ("objective", rep.objective),
            ("best bound", rep.best_bound), ("gap", rep.gap),
            ("proven optimal", "yes" if rep.status is SolveStatus.OPTIMAL else "no"),
            ("solver", rep.summary()), ("seed", rep.seed), ("threads", rep.threads),
            ("time limit (s)", rep.time_limit_s), ("travel times", self.coverage_label),
            ("travel-time warnings", "\n".join(self.coverage_warnings)),
            ("residents", num(f.total_population)), ("covered", num(f.covered_population)),
            ("covered share", num(f.covered_share)), ("uncovered", num(f.uncovered_population)),
            ("of whom no candidate can reach", num(f.uncoverable_population)),
            ("within reach of two or more points", num(f.double_covered_population)),
            ("mean travel (min)", num(f.mean_minutes)), ("worst travel (min)", num(f.worst_minutes)),
            ("open points", f.open_points), ("kept open", f.kept_points),
            ("newly opened", f.new_points), ("closed", f.closed_points),
            ("overloaded points", f.overloaded_points),
            ("max utilisation", num(f.max_utilisation)),
            ("weights", f.weights),
        ]
        items += [(f"request: {k}", ", ".join(v) if isinstance(v, tuple) else v)
                  for k, v in asdict(req).items()]
        summary = pd.DataFrame(items, columns=["item", "value"])
        summary["value"] = summary["value"].map(
            lambda v: "" if v is None or (isinstance(v, float) and not math.isfinite(v)) else v)
        sites = _csv(self.sites).sort_values(["open", "utilisation"], ascending=False, kind="stable")
        sheets = {"Summary": summary, "Sites": sites, "Communes": self.by_commune(),
                  "Demand": _csv(self.demand)}
        if self.pareto is not None:
            sheets["Pareto"] = self.pareto
        if self.request.model == "closure":
            sheets["Closures"] = closures_table(self)
        return sheets

    @classmethod
    def load(cls, folder: str | Path) -> PlacementRun:
        """Read a run written by :meth:`save`."""
        path = Path(folder)
        meta_path = path / "result.json"
        if not meta_path.is_file():
            msg = f"{meta_path}: not found; expected a folder written by PlacementRun.save"
            raise FileNotFoundError(msg)
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        report = SolverReport.from_dict(meta["report"])
        sites = gpd.read_file(path / "result.gpkg", layer="sites")
        demand = gpd.read_file(path / "result.gpkg", layer="demand")
        pareto_path = path / "pareto.csv"
        pareto = pd.read_csv(pareto_path) if pareto_path.is_file() else None
        req_fields = {k: tuple(v) if isinstance(v, list) else v
                      for k, v in meta["request"].items()
                      if k in PlacementRequest.__dataclass_fields__}
        return cls(
            request=PlacementRequest(**req_fields),
            report=report,
            figures=PlacementFigures.from_dict(meta["figures"]),
            sites=sites,
            demand=demand,
            pareto=pareto,
            coverage_label=meta["coverage_method"],
            scenario_name=meta["scenario"],
            stages=tuple(SolverReport.from_dict(s) for s in meta.get("stages", [])),
            coverage_warnings=tuple(meta.get("coverage_warnings", [])),
        )


def _csv(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    out = pd.DataFrame(gdf.drop(columns="geometry"))
    out.insert(2, "lon", gdf.geometry.x.round(6))
    out.insert(3, "lat", gdf.geometry.y.round(6))
    return out


def in_person_per_day(scenario: Scenario, population: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """In-person dossiers per working day from residents and the scenario's demand settings."""
    d = scenario.settings.demand
    days_per_year = max(1.0, len(scenario.settings.work.days) * WEEKS_PER_YEAR
                        - len(scenario.settings.work.holidays))
    return np.asarray(population, dtype=float) * d.dossiers_per_1000_per_year / 1000.0 \
        * d.in_person_share / days_per_year


def _commune_names(demand: pd.DataFrame) -> pd.Series:
    """Each demand point's commune name (its own id where the scenario has no communes)."""
    out = pd.Series("", index=demand.index, dtype=object)
    # the commune's name, else its code, else the point's own name, else its id
    for col in ("commune_name", "commune_code", "name", "id"):
        if col in demand:
            v = demand[col].fillna("").astype(str).str.strip()
            out = out.where(out != "", v)
    return out.where(out != "", "?").astype(str)


def commune_table(demand: pd.DataFrame) -> pd.DataFrame:
    """Residents per commune of a result's ``demand`` (``population``, ``covered``,
    ``coverable``): population, covered, uncovered, no_candidate_can_reach and
    covered_share, by commune name."""
    pop = demand["population"].astype(float)
    covered = demand["covered"].astype(bool)
    reach = (demand["coverable"].astype(bool) if "coverable" in demand
             else pd.Series(True, index=demand.index))
    # with capacities a point may be partly assigned: its covered people are its share
    share = (demand["assigned_share"].astype(float) if "assigned_share" in demand
             else covered.astype(float))
    g = pd.DataFrame({
        "commune": _commune_names(demand), "population": pop,
        "covered": pop * share, "uncovered": pop * (1.0 - share),
        "no_candidate_can_reach": pop.where(~covered & ~reach, 0.0),
    }).groupby("commune").sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        # a commune without residents has no share (not "100 % of 0")
        g["covered_share"] = np.where(g["population"] > 0, g["covered"] / g["population"],
                                      np.nan)
    return g.reset_index()


def _run_status(sites: pd.DataFrame, request: PlacementRequest) -> np.ndarray[Any, Any]:
    """Each site's status for this run: the scenario's, with the request's overrides.

    Raises ``InvalidInputError`` naming ids that are not sites of the scenario.
    """
    ids = sites["id"].astype(str).to_numpy()
    status = sites["status"].astype(str).to_numpy().copy()
    known = set(ids.tolist())
    for name, wanted, value in (("keep open", request.keep_open, "must_open"),
                                ("close", request.close, "closed")):
        unknown = sorted(set(wanted) - known)
        if unknown:
            msg = (f"{name}: site id(s) {', '.join(unknown)} not in the scenario's sites "
                   f"(ids are the 'id' column of the sites file)")
            raise InvalidInputError(msg)
        status[np.isin(ids, list(wanted))] = value
    keep = request.keep_existing or ("all" if request.add is not None else None)
    if keep is not None:
        # the existing offices of the kind(s) asked for, unless this run closes them
        kind = sites["kind"].astype(str).to_numpy()
        status[np.isin(kind, KEEP_EXISTING[keep]) & (status != "closed")
               & existing_mask(sites)] = "must_open"
    return status


def existing_mask(sites: pd.DataFrame) -> np.ndarray[Any, Any]:
    """The scenario's existing offices (branch or reception, not closed)."""
    from geodata.coverage import existing_site_mask

    return existing_site_mask(sites)


def _refuse_stranding(sites: pd.DataFrame, demand: pd.DataFrame, covered: Any,
                      population: np.ndarray[Any, Any], status: np.ndarray[Any, Any],
                      max_loss: float) -> None:
    """Closure with offices closed by the request (``close``): refuse it when people that
    only those offices cover today (a stranded village) outnumber ``max_loss``."""
    today = existing_mask(sites)
    forced = today & (status == "closed")
    if not forced.any():
        return
    c = sp.csr_matrix(covered, dtype=bool)
    by_forced = np.asarray(c[:, np.flatnonzero(forced)].sum(axis=1)).ravel() > 0
    by_others = np.asarray(c[:, np.flatnonzero(today & ~forced)].sum(axis=1)).ravel() > 0
    stranded = by_forced & ~by_others & (population > 0)
    lost = float(population[stranded].sum())
    if lost <= max_loss:
        return
    names = demand["name"].astype(str) if "name" in demand else demand["id"].astype(str)
    first = [f"{demand['id'].iloc[i]} {names.iloc[i]} ({population[i]:,.0f})"
             for i in np.flatnonzero(stranded)[:5]]
    closed_ids = ", ".join(sites["id"].astype(str).to_numpy()[forced][:10])
    msg = (f"closing {closed_ids} would strand {int(stranded.sum())} demand point(s), "
           f"{lost:,.0f} residents with no other office within the standard: "
           f"{'; '.join(first)}; keep it open or allow the loss (--max-loss)")
    raise InvalidInputError(msg)


def run_placement(
    scenario: Scenario,
    request: PlacementRequest,
    stop: threading.Event | None = None,
    progress: ProgressCallback | None = None,
    cache_dir: Path | None = None,
) -> PlacementRun:
    """Solve ``request`` on ``scenario`` and gather the figures a planner reads.

    Must-open sites are fixed open, closed sites excluded; weights are residents
    or in-person dossiers per working day (always the latter with capacities,
    whose unit is dossiers per day).  p-median and p-center see travel times up
    to ``CUTOFF_FACTOR`` x the standard's minutes; p-median charges twice that
    cutoff for demand left beyond it.
    """
    from geodata.coverage import coverage_for_scenario

    request.check()
    say = report_to(progress)
    std = scenario.settings.coverage
    if request.minutes is not None:
        std = replace(std, max_minutes=request.minutes)
    if request.km is not None:
        std = replace(std, max_km=request.km)
    # closure reports how far the people of a closed office travel afterwards
    cutoff = (std.max_minutes * CUTOFF_FACTOR
              if request.model in ("pmedian", "pcenter", "closure") else None)
    say("matrix", "building the coverage matrix")
    sc = coverage_for_scenario(scenario, mode=request.mode, standard=std, cutoff_minutes=cutoff,
                               cache_dir=cache_dir)
    cov = sc.matrix
    sites = sc.sites.reset_index(drop=True)
    demand = sc.demand.reset_index(drop=True)
    population = demand["population"].to_numpy(dtype=float)
    per_day = in_person_per_day(scenario, population)
    weights = per_day if request.by_dossiers else population
    if not (weights > 0).any():
        # the models refuse it too (NoDemandError); here the message names the file
        what = "in-person dossiers a day" if request.by_dossiers else "residents"
        msg = (f"every demand point of {scenario.name} has 0 {what} (demand.csv, column "
               "population): there is no demand to place points for")
        raise pl.NoDemandError(msg)
    status = _run_status(sites, request)
    fixed = np.flatnonzero(status == "must_open")
    closed = np.flatnonzero(status == "closed")
    p = request.p if request.add is None else int(fixed.size) + request.add
    costs = sites["opening_cost"].fillna(1.0).to_numpy(dtype=float)
    capacity = sites["capacity_per_day"].fillna(0.0).to_numpy(dtype=float)
    kw: dict[str, Any] = {"fixed": fixed, "closed": closed, "time_limit_s": request.time_limit_s,
                          "seed": request.seed, "threads": request.threads,
                          "engine": request.engine, "stop": stop}
    say("solving", f"solving {request.model}")
    res: pl.PlacementResult
    if request.model == "closure":
        # today's offices: the scenario's existing ones this run does not close
        existing = np.flatnonzero(existing_mask(sites) & (status != "closed"))
        not_existing = np.setdiff1d(fixed, existing)
        if not_existing.size:
            ids = ", ".join(sites["id"].astype(str).to_numpy()[not_existing][:10])
            msg = (f"closure: site(s) {ids} must stay open but are not existing offices "
                   "(kind branch or reception); closure only keeps or closes existing offices")
            raise InvalidInputError(msg)
        _refuse_stranding(sites, demand, cov.covered, population, status,
                          float(request.max_loss or 0.0))
        kw_c = {k: v for k, v in kw.items() if k != "closed"}
        if request.capacitated:
            # the capacitated set cover over today's offices alone: the cheapest set kept
            # that holds every in-person dossier covered today within its capacity
            others = np.setdiff1d(np.arange(len(sites)), existing)
            res = pl.capacitated(cov.covered, weights, capacity, costs=costs, closed=others,
                                 single_assignment=request.single_assignment,
                                 overload_penalty=request.overload_penalty,
                                 minutes=cov.minutes, **kw_c)
            res = replace(res, model="capacitated_closure")
        else:
            res = pl.closure(cov.covered, population, existing, costs=costs,
                             minutes=cov.minutes, max_loss=float(request.max_loss or 0.0),
                             **kw_c)
    elif request.model == "lscp":
        if request.capacitated:
            res = pl.capacitated(cov.covered, weights, capacity, costs=costs,
                                 single_assignment=request.single_assignment,
                                 overload_penalty=request.overload_penalty,
                                 minutes=cov.minutes, **kw)
        else:
            res = pl.lscp(cov.covered, weights, costs=costs, minutes=cov.minutes, **kw)
    elif request.model == "mclp":
        if request.capacitated:
            res = pl.capacitated(cov.covered, weights, capacity, p,
                                 single_assignment=request.single_assignment,
                                 overload_penalty=request.overload_penalty,
                                 minutes=cov.minutes, **kw)
        elif request.backup:
            assert p is not None
            res = pl.backup(cov.covered, weights, p, minutes=cov.minutes, **kw)
        elif request.lexicographic:
            assert p is not None
            res = pl.lexicographic(cov.covered, weights, p, minutes=cov.minutes, **kw)
        else:
            res = pl.mclp(cov.covered, weights, p, budget=request.budget, costs=costs,
                          minutes=cov.minutes, **kw)
    elif request.model == "pmedian" and request.capacitated:
        assert p is not None
        # dossiers a day against the capacities; demand the open points cannot hold (or
        # reach within the cutoff) is left unassigned at p-median's penalty
        res = pl.capacitated_p_median(cov.minutes, weights, capacity, p,
                                      unassigned_penalty_min=2.0 * cov.cutoff_minutes,
                                      single_assignment=request.single_assignment,
                                      overload_penalty=request.overload_penalty, **kw)
    elif request.model == "pmedian":
        assert p is not None
        floor: dict[str, Any] = {}
        if request.min_covered_pct is not None:
            # the floor counts people within the standard (minutes and/or km, as the
            # figures do), whatever point they are assigned to
            floor = {"covered": cov.covered, "min_covered_share": request.min_covered_pct / 100.0}
        res = pl.p_median(cov.minutes, weights, p,
                          unassigned_penalty_min=2.0 * cov.cutoff_minutes, **floor, **kw)
    else:
        assert p is not None
        res = pl.p_center(cov.minutes, weights, p, **kw)
    pareto_df = None
    if request.pareto is not None:
        say("pareto", f"Pareto curve for 1..{request.pareto} points")
        kw_p = {k: v for k, v in kw.items()}
        # the curve is never below the single solve it is shown beside (same model,
        # same weights: plain mclp with a number of points)
        same = (request.model == "mclp" and request.p is not None and not request.by_dossiers
                and not request.capacitated and not request.backup and request.budget is None)
        known = {request.p: res} if same and request.p is not None else None
        curve = pl.pareto(cov.covered, population, request.pareto, minutes=cov.minutes,
                          known=known, **kw_p)
        total = float(population.sum())
        pareto_df = pd.DataFrame({
            "p": curve.p_values,
            "covered_population": curve.covered_weight,
            "covered_share": curve.covered_weight / total if total > 0 else np.nan,
            # what one more point buys: people covered beyond the row before (none for the first)
            "added_population": np.diff(curve.covered_weight, prepend=np.nan),
            "best_bound": curve.best_bound,
            "gap": [r.gap for r in curve.results],
            "status": [s.value for s in curve.statuses],
        })
    say("summary", "summarising")
    return _summarise(scenario, sc, request, res, population, per_day, capacity, status,
                      pareto_df, p)


def _summarise(scenario: Scenario, sc: Any, request: PlacementRequest, res: pl.PlacementResult,
               population: np.ndarray[Any, Any], per_day: np.ndarray[Any, Any],
               capacity: np.ndarray[Any, Any], status: np.ndarray[Any, Any],
               pareto_df: pd.DataFrame | None, p: int | None = None) -> PlacementRun:
    from geodata.coverage import existing_site_mask

    cov = sc.matrix
    sites = sc.sites.reset_index(drop=True).copy()
    demand = sc.demand.reset_index(drop=True).copy()
    n_sites = len(sites)
    is_open = np.zeros(n_sites, dtype=bool)
    is_open[res.open_sites] = True
    existing = existing_site_mask(sites)  # on the scenario's status, not this run's
    covered_csr = sp.csr_matrix(cov.covered, dtype=bool)
    n_open_cover = np.asarray(covered_csr[:, np.flatnonzero(is_open)].sum(axis=1)).ravel()
    near_open = n_open_cover > 0
    a = res.assignment
    # the share of each point's people counted as covered: with capacities, the share
    # assigned within the standard and within capacity (1, 0, or between when split);
    # otherwise everyone within the standard of an open point
    capacitated = res.assigned_share is not None
    share = (np.asarray(res.assigned_share, dtype=float) if res.assigned_share is not None
             else near_open.astype(float))
    # what travel figures weigh: the share assigned (the capacitated p-median assigns up
    # to its cutoff, beyond the standard: only a share assigned within it is covered; a
    # point split between sites counts as covered when its main site is within it)
    assigned_part = share
    if res.model == "capacitated_pmedian":
        within = np.zeros(a.size, dtype=bool)
        ok = np.flatnonzero(a >= 0)
        within[ok] = np.asarray(covered_csr[ok, a[ok]]).ravel()
        share = np.where(within, share, 0.0)
    covered_flag = share >= 1.0 - 1e-6
    # coverable: within the standard of a site this run may open (closed ones excluded)
    coverable = np.asarray(covered_csr[:, np.flatnonzero(status != "closed")].sum(axis=1)
                           ).ravel() > 0
    site_ids = sites["id"].astype(str).to_numpy()
    demand["assigned_site"] = np.where(a >= 0, site_ids[np.maximum(a, 0)], None)
    if "name" in sites:  # the name beside the id, in every table and export
        site_names = sites["name"].fillna("").astype(str).to_numpy()
        demand.insert(demand.columns.get_loc("assigned_site") + 1, "assigned_site_name",
                      np.where(a >= 0, site_names[np.maximum(a, 0)], None))
    demand["minutes"] = res.travel_min
    demand["covered"] = covered_flag
    demand["coverable"] = coverable
    demand["in_person_per_day"] = per_day
    if capacitated:
        demand["assigned_share"] = np.round(assigned_part, 6)
        # the model's loads (a split point loads each of its sites with its share); the
        # weights were in-person dossiers per day
        load = np.asarray(res.load, dtype=float)
    else:
        load = np.bincount(a[a >= 0], weights=per_day[a >= 0], minlength=n_sites)
    sites["open"] = is_open
    # existing points are judged on the scenario's status (one closed by this run's
    # overrides counts as closed); the table carries this run's status
    sites["status"] = status
    sites["fixed"] = status == "must_open"
    sites["new"] = is_open & ~existing
    sites["closed_now"] = existing & ~is_open
    sites["load_per_day"] = np.round(load, 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where(capacity > 0, load / capacity, np.where(load > 0, np.inf, 0.0))
    sites["utilisation"] = np.round(util, 4)
    overload = np.where(is_open, np.maximum(0.0, load - capacity), 0.0)
    if capacitated:
        sites["overload_per_day"] = np.round(overload, 3)
    total = float(population.sum())
    cov_pop = float(population @ share)
    # the communes where someone is uncovered, the most uncovered first, and how many of
    # them no candidate can reach
    table = commune_table(demand)
    table = table[table["commune"].isin(
        _commune_names(demand)[(share < 1.0 - 1e-6) & (population > 0)])].sort_values(
        "uncovered", ascending=False)
    by_commune = {str(k): float(v) for k, v in
                  zip(table["commune"], table["uncovered"], strict=True)}
    unreachable_by_commune = {str(k): float(v) for k, v in
                              zip(table["commune"], table["no_candidate_can_reach"], strict=True)}
    assigned = a >= 0
    tm = res.travel_min
    has_tm = assigned & np.isfinite(tm) & (assigned_part > 0 if capacitated else True)
    # travel over the people assigned (their share, with capacities)
    tw = population * assigned_part if capacitated else population
    figures = PlacementFigures(
        model=res.model,
        objective=res.objective,
        total_population=total,
        covered_population=cov_pop,
        covered_share=cov_pop / total if total > 0 else None,
        uncovered_population=total - cov_pop,
        uncoverable_population=float(population[~coverable].sum()),
        uncovered_by_commune=by_commune,
        uncoverable_by_commune=unreachable_by_commune,
        mean_minutes=float(np.average(tm[has_tm], weights=tw[has_tm]))
        if has_tm.any() and tw[has_tm].sum() > 0 else None,
        worst_minutes=float(tm[has_tm].max()) if has_tm.any() else None,
        open_points=int(is_open.sum()),
        new_points=int((is_open & ~existing).sum()),
        closed_points=int((existing & ~is_open).sum()),
        kept_points=int((existing & is_open).sum()),
        double_covered_population=float(population[n_open_cover >= 2].sum()),
        overloaded_points=int(((load > capacity + 1e-6) & is_open).sum()),
        # people within the standard of an open point (with capacities, some of them
        # may not be assigned: the point is full)
        near_open_population=float(population[near_open].sum()),
        overload_per_day=float(overload.sum()),
        max_utilisation=float(util[is_open].max()) if is_open.any() else None,
        weights=DOSSIER_WEIGHTS if request.by_dossiers else "population",
        synthetic=bool(scenario.settings.synthetic),
    )
    figures = replace(figures, **_question_figures(request, sites, demand, cov, res, population,
                                                    status, existing, is_open, covered_flag, p))
    # the answer in one sentence, only when there is an answer
    figures = replace(figures, explanation=explain(figures, request, "en")
                      if res.report.status.has_solution else None)
    logger.info("placement %s: %s", request.model, res.report.summary())
    return PlacementRun(
        request=request, report=res.report, figures=figures, sites=sites, demand=demand,
        pareto=pareto_df, coverage_label=cov.label, scenario_name=scenario.name,
        stages=res.stages, coverage_warnings=tuple(sc.report.warnings),
    )


def _question_figures(request: PlacementRequest, sites: pd.DataFrame, demand: pd.DataFrame,
                      cov: Any, res: pl.PlacementResult, population: np.ndarray[Any, Any],
                      status: np.ndarray[Any, Any], existing: np.ndarray[Any, Any],
                      is_open: np.ndarray[Any, Any], covered_flag: np.ndarray[Any, Any],
                      p: int | None) -> dict[str, Any]:
    """The figures of the planner's questions: what the kept offices cover alone
    (``keep_existing`` / ``add``) and, for closure, what each closure saves and costs."""
    covered_csr = sp.csr_matrix(cov.covered, dtype=bool)
    fixed = status == "must_open"
    out: dict[str, Any] = {"p": p, "fixed_points": int(fixed.sum())}
    if request.keep_existing is not None or request.add is not None:
        base = np.asarray(covered_csr[:, np.flatnonzero(fixed)].sum(axis=1)).ravel() > 0
        out["kept_alone_covered_population"] = float(population[base].sum())
        out["added_covered_population"] = float(population[covered_flag].sum()
                                                - population[base].sum())
    if request.model != "closure":
        return out
    today = existing & (status != "closed")
    base = np.asarray(covered_csr[:, np.flatnonzero(today)].sum(axis=1)).ravel() > 0
    costs = sites["opening_cost"].fillna(1.0).to_numpy(dtype=float)
    closed_now = today & ~is_open
    sole = np.zeros(len(sites), dtype=bool)
    sole[pl.sole_cover_sites(covered_csr, np.flatnonzero(today), population)] = True
    out.update({
        "existing_points": int(today.sum()),
        "closable_points": int(closed_now.sum()),
        "savings": float(costs[closed_now].sum()),
        "covered_today_population": float(population[base].sum()),
        "lost_population": float(population[base & ~covered_flag].sum()),
        "sole_cover_points": int((sole & is_open).sum()),
        "max_loss": float(request.max_loss or 0.0),
    })
    # what each closure costs in travel: the people it served today (nearest existing
    # office) and their minutes before and after
    mins = cov.minutes
    rows: list[dict[str, Any]] = []
    if mins is not None:
        from optimizer.placement.inputs import reach_of
        from optimizer.placement.result import nearest_open

        m = sp.csr_matrix(mins)
        before_site, before = nearest_open(reach_of(m), today, m)
        if res.assigned_share is not None:
            # with capacities people go where the assignment sends them, not always nearest
            after = res.travel_min  # nan where not assigned
        else:
            _, after = nearest_open(reach_of(m), is_open, m)
    else:
        before_site = np.full(len(population), -1)
        before = after = np.full(len(population), np.nan)
    names = sites["name"].fillna("").astype(str).to_numpy() if "name" in sites else \
        sites["id"].astype(str).to_numpy()
    for j in np.flatnonzero(closed_now):
        served = (before_site == j) & (population > 0)
        w = population[served]
        b, af = before[served], after[served]
        known = np.isfinite(af)

        def avg(x: np.ndarray[Any, Any], sel: np.ndarray[Any, Any], ww: np.ndarray[Any, Any]
                ) -> float | None:
            return float(np.average(x[sel], weights=ww[sel])) if sel.any() and ww[sel].sum() > 0 \
                else None

        rows.append({
            "id": str(sites["id"].iloc[j]), "name": str(names[j]),
            "saving": float(costs[j]), "served_population": float(w.sum()),
            "mean_minutes_before": avg(b, known, w), "mean_minutes_after": avg(af, known, w),
            "worst_minutes_before": float(b[known].max()) if known.any() else None,
            "worst_minutes_after": float(af[known].max()) if known.any() else None,
            "lost_population": float(w[base[served] & ~covered_flag[served]].sum()),
            "beyond_reach_population": float(w[~known].sum()),
        })
    # the largest savings first, then the fewest people affected
    rows.sort(key=lambda r: (-r["saving"], r["served_population"], r["id"]))
    for r in rows:
        for k in ("mean", "worst"):
            before_k, after_k = r[f"{k}_minutes_before"], r[f"{k}_minutes_after"]
            r[f"{k}_minutes_change"] = (None if before_k is None or after_k is None
                                        else after_k - before_k)
    out["closures"] = rows
    return out


def closures_table(run: PlacementRun) -> pd.DataFrame:
    """The offices a closure run closes, the largest savings first: id, name, saving,
    served_population, mean and worst minutes before, after and the change,
    lost_population (people no longer within the standard), beyond_reach_population."""
    cols = ["id", "name", "saving", "served_population", "mean_minutes_before",
            "mean_minutes_after", "mean_minutes_change", "worst_minutes_before",
            "worst_minutes_after", "worst_minutes_change", "lost_population",
            "beyond_reach_population"]
    return pd.DataFrame(run.figures.closures, columns=cols)


def explain(figures: PlacementFigures, request: PlacementRequest, lang: str) -> str | None:
    """The run's answer to the planner's question in one sentence (``None`` for a run that
    asked none: no ``keep_existing``, ``add`` or closure), in ``lang``."""
    from motcua.i18n import fmt_int, fmt_num, fmt_pct, t

    f = figures
    if f.open_points is None or f.objective is None:
        return None
    total = f.total_population or 0.0

    def share(x: float | None) -> str:
        return fmt_pct(None if x is None or not total else x / total, 1, lang)

    if request.model == "closure":
        if f.closable_points is None:
            return None
        loss = f.max_loss or 0.0
        key = "explain_closure" if loss <= 0 else "explain_closure_loss"
        if request.capacitated:
            key = "explain_closure_cap" if not f.overloaded_points else "explain_closure_over"
        return t(key, lang, closable=fmt_int(f.closable_points, lang),
                 existing=fmt_int(f.existing_points, lang),
                 saving=fmt_num(f.savings, 2 if f.savings % 1 else 0, lang),
                 covered=fmt_int(f.covered_today_population, lang),
                 kept=fmt_int(f.open_points, lang), sole=fmt_int(f.sole_cover_points, lang),
                 max_loss=fmt_int(loss, lang), lost=fmt_int(f.lost_population, lang),
                 fullest=fmt_pct(f.max_utilisation, 0, lang),
                 overloaded=fmt_int(f.overloaded_points, lang),
                 overload=fmt_num(f.overload_per_day or 0.0, 1, lang))
    if f.kept_alone_covered_population is None:
        return None
    fields = {"kept": fmt_int(f.fixed_points, lang), "new": fmt_int(f.new_points, lang),
              "covered": fmt_int(f.covered_population, lang),
              "share": share(f.covered_population),
              "base": fmt_int(f.kept_alone_covered_population, lang),
              "base_share": share(f.kept_alone_covered_population),
              "gain": fmt_int(f.added_covered_population, lang),
              "add": fmt_int(request.add, lang), "model": request.model}
    if request.add is not None:
        return t("explain_add", lang, **fields)
    if request.model == "lscp":
        return t("explain_keep_lscp", lang, **fields)
    return t("explain_keep", lang, **fields)
