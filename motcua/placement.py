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
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
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
from optimizer import placement as pl
from optimizer._status import SolverReport, SolveStatus, check_seed_threads
from optimizer.errors import InvalidInputError

logger = logging.getLogger(__name__)

Model = Literal["lscp", "mclp", "pmedian", "pcenter"]
MODELS: tuple[str, ...] = ("lscp", "mclp", "pmedian", "pcenter")
#: The models that can respect site capacities.
CAPACITATED_MODELS: tuple[str, ...] = ("lscp", "mclp")
#: The request's options whose use depends on the others (:meth:`PlacementRequest.option_applies`).
OPTIONS: tuple[str, ...] = ("p", "budget", "capacitated", "single_assignment", "overload_penalty",
                            "backup", "lexicographic", "min_covered_pct", "weighting")
Weighting = Literal["population", "in_person"]
#: ``figures["weights"]`` of a run weighted by in-person dossiers per day.
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
        ``budget``), ``pmedian`` (least weighted minutes), ``pcenter`` (least worst minutes).
    p : number of points (mclp, pmedian, pcenter, backup); must-open sites included.
    budget : total opening cost for mclp instead of ``p``.
    minutes, km : overrides of the scenario's coverage standard.
    capacitated : respect each site's ``capacity_per_day`` (in-person dossiers per day).
    single_assignment : with ``capacitated``, each demand point goes to one site.
    backup : maximise the population covered twice (needs ``p``).
    lexicographic : mclp with ``p``: the most covered, then the fewest points that
        keep that coverage, then the least weighted travel time to an open point.
    overload_penalty : with ``capacitated``: a point may take more than its capacity,
        each in-person dossier per day over it costing this much (opening-cost
        units without ``p``, dossiers per day with ``p``); ``None``: capacity is a hard limit.
    keep_open, close : site ids that must stay open, or may not open, in this run
        (over the scenario's ``status``; an existing point closed here counts as
        closed in the figures).
    min_covered_pct : pmedian: at least this percentage of the weight within the
        coverage standard of an open point (the covered share of the figures).
    pareto : also compute the covered share for p = 1 .. pareto.
    weighting : ``population`` or ``in_person`` dossiers per working day.
    mode : travel mode overriding the scenario's.
    time_limit_s, seed, threads : solver settings, saved with the result.
    engine : ``auto`` (SCIP for LSCP components up to 2,000 sites, HiGHS otherwise),
        ``highs`` or ``scip``.
    """

    model: Model = "lscp"
    p: int | None = None
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
            "p": m != "lscp",  # lscp finds the number of points itself
            "budget": m == "mclp" and not self.backup and not self.lexicographic,
            "capacitated": m in CAPACITATED_MODELS and not self.backup and not self.lexicographic,
            "single_assignment": self.capacitated,
            "overload_penalty": self.capacitated,
            "backup": m == "mclp" and not self.capacitated and self.budget is None,
            "lexicographic": (m == "mclp" and not self.capacitated and not self.backup
                              and self.budget is None),
            "min_covered_pct": m == "pmedian",
            "weighting": not self.capacitated,
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
        needs_p = self.model in ("pmedian", "pcenter") or self.backup or self.lexicographic or (
            self.model == "mclp" and self.budget is None)
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
            msg = "capacities apply to lscp and mclp"
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
            msg = ("a covered-share floor applies to pmedian and is a percentage in (0, 100], "
                   f"got {self.min_covered_pct} with model {self.model}")
            raise InvalidInputError(msg)
        if self.p is not None and not self.option_applies("p"):
            msg = ("the number of points (p / --points) applies to mclp, pmedian and pcenter; "
                   "lscp finds the fewest points itself")
            raise InvalidInputError(msg)
        if self.budget is not None and not self.option_applies("budget"):
            msg = "a budget applies to mclp (--model mclp --budget B)"
            raise InvalidInputError(msg)


@dataclass(frozen=True, eq=False)
class PlacementRun:
    """A solved placement for a scenario, ready to show, save and compare.

    figures : key numbers (covered population and share, uncovered population,
        mean / worst minutes, open / new / closed counts, ...).
    sites : GeoDataFrame (EPSG:4326) with ``open, new, closed_now, fixed, load,
        capacity_per_day, utilisation`` added.
    demand : GeoDataFrame with ``assigned_site, minutes, covered, coverable``.
    pareto : table ``p, covered_population, covered_share, added_population, best_bound,
        gap, status`` (``added_population``: covered beyond ``p - 1`` points, exact when both
        rows are OPTIMAL).
    """

    request: PlacementRequest
    report: SolverReport
    figures: dict[str, Any]
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
        return bool(self.figures.get("weights") == DOSSIER_WEIGHTS)

    def objective_meaning(self, lang: str) -> str | None:
        """What the objective measures for this run's model, in ``lang`` (``None`` if unknown)."""
        from motcua.app.i18n import TEXTS, t

        model = str(self.figures.get("model", self.request.model))
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
            "figures": self.figures,
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

        def num(key: str) -> float | None:
            v = f.get(key)
            return None if v is None else float(v)

        items: list[tuple[str, Any]] = [
            ("scenario", self.scenario_name), ("model", req.model),
            ("objective measures", self.objective_meaning("en") or ""),
            ("status", rep.status.value), ("objective", rep.objective),
            ("best bound", rep.best_bound), ("gap", rep.gap),
            ("proven optimal", "yes" if rep.status is SolveStatus.OPTIMAL else "no"),
            ("solver", rep.summary()), ("seed", rep.seed), ("threads", rep.threads),
            ("time limit (s)", rep.time_limit_s), ("travel times", self.coverage_label),
            ("travel-time warnings", "\n".join(self.coverage_warnings)),
            ("residents", num("total_population")), ("covered", num("covered_population")),
            ("covered share", num("covered_share")), ("uncovered", num("uncovered_population")),
            ("of whom no candidate can reach", num("uncoverable_population")),
            ("within reach of two or more points", num("double_covered_population")),
            ("mean travel (min)", num("mean_minutes")), ("worst travel (min)", num("worst_minutes")),
            ("open points", f.get("open_points")), ("kept open", f.get("kept_points")),
            ("newly opened", f.get("new_points")), ("closed", f.get("closed_points")),
            ("overloaded points", f.get("overloaded_points")),
            ("max utilisation", num("max_utilisation")),
            ("weights", f.get("weights", "population")),
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
        rep = meta["report"]
        report = _report_from_dict(rep)
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
            figures=meta["figures"],
            sites=sites,
            demand=demand,
            pareto=pareto,
            coverage_label=meta["coverage_method"],
            scenario_name=meta["scenario"],
            stages=tuple(_report_from_dict(s) for s in meta.get("stages", [])),
            coverage_warnings=tuple(meta.get("coverage_warnings", [])),
        )


def _report_from_dict(rep: dict[str, Any]) -> SolverReport:
    def num(v: Any) -> float:
        return math.nan if v is None else float(v)

    return SolverReport(
        status=SolveStatus(rep["status"]), objective=num(rep["objective"]),
        best_bound=num(rep["best_bound"]), gap=num(rep["gap"]),
        wall_time_s=float(rep["wall_time_s"]), solver=rep["solver"], seed=int(rep["seed"]),
        threads=int(rep["threads"]), time_limit_s=rep["time_limit_s"],
        message=rep.get("message", ""),
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
    col = "commune_name" if "commune_name" in demand else "id"
    return demand[col].fillna("?").astype(str)


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
    return status


def run_placement(
    scenario: Scenario,
    request: PlacementRequest,
    stop: threading.Event | None = None,
    progress: Callable[[str], None] | None = None,
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
    say = progress or (lambda _msg: None)
    std = scenario.settings.coverage
    if request.minutes is not None:
        std = replace(std, max_minutes=request.minutes)
    if request.km is not None:
        std = replace(std, max_km=request.km)
    cutoff = std.max_minutes * CUTOFF_FACTOR if request.model in ("pmedian", "pcenter") else None
    say("building the coverage matrix")
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
    costs = sites["opening_cost"].fillna(1.0).to_numpy(dtype=float)
    capacity = sites["capacity_per_day"].fillna(0.0).to_numpy(dtype=float)
    kw: dict[str, Any] = {"fixed": fixed, "closed": closed, "time_limit_s": request.time_limit_s,
                          "seed": request.seed, "threads": request.threads,
                          "engine": request.engine, "stop": stop}
    say(f"solving {request.model}")
    res: pl.PlacementResult
    if request.model == "lscp":
        if request.capacitated:
            res = pl.capacitated(cov.covered, weights, capacity, costs=costs,
                                 single_assignment=request.single_assignment,
                                 overload_penalty=request.overload_penalty,
                                 minutes=cov.minutes, **kw)
        else:
            res = pl.lscp(cov.covered, weights, costs=costs, minutes=cov.minutes, **kw)
    elif request.model == "mclp":
        if request.capacitated:
            res = pl.capacitated(cov.covered, weights, capacity, request.p,
                                 single_assignment=request.single_assignment,
                                 overload_penalty=request.overload_penalty,
                                 minutes=cov.minutes, **kw)
        elif request.backup:
            assert request.p is not None
            res = pl.backup(cov.covered, weights, request.p, minutes=cov.minutes, **kw)
        elif request.lexicographic:
            assert request.p is not None
            res = pl.lexicographic(cov.covered, weights, request.p, minutes=cov.minutes, **kw)
        else:
            res = pl.mclp(cov.covered, weights, request.p, budget=request.budget, costs=costs,
                          minutes=cov.minutes, **kw)
    elif request.model == "pmedian":
        assert request.p is not None
        floor: dict[str, Any] = {}
        if request.min_covered_pct is not None:
            # the floor counts people within the standard (minutes and/or km, as the
            # figures do), whatever point they are assigned to
            floor = {"covered": cov.covered, "min_covered_share": request.min_covered_pct / 100.0}
        res = pl.p_median(cov.minutes, weights, request.p,
                          unassigned_penalty_min=2.0 * cov.cutoff_minutes, **floor, **kw)
    else:
        assert request.p is not None
        res = pl.p_center(cov.minutes, weights, request.p, **kw)
    pareto_df = None
    if request.pareto is not None:
        say(f"Pareto curve for 1..{request.pareto} points")
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
    say("summarising")
    return _summarise(scenario, sc, request, res, population, per_day, capacity, status,
                      pareto_df)


def _summarise(scenario: Scenario, sc: Any, request: PlacementRequest, res: pl.PlacementResult,
               population: np.ndarray[Any, Any], per_day: np.ndarray[Any, Any],
               capacity: np.ndarray[Any, Any], status: np.ndarray[Any, Any],
               pareto_df: pd.DataFrame | None) -> PlacementRun:
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
    covered_flag = share >= 1.0 - 1e-6
    # coverable: within the standard of a site this run may open (closed ones excluded)
    coverable = np.asarray(covered_csr[:, np.flatnonzero(status != "closed")].sum(axis=1)
                           ).ravel() > 0
    site_ids = sites["id"].astype(str).to_numpy()
    demand["assigned_site"] = np.where(a >= 0, site_ids[np.maximum(a, 0)], None)
    demand["minutes"] = res.travel_min
    demand["covered"] = covered_flag
    demand["coverable"] = coverable
    demand["in_person_per_day"] = per_day
    if capacitated:
        demand["assigned_share"] = np.round(share, 6)
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
    has_tm = assigned & np.isfinite(tm) & (share > 0 if capacitated else True)
    # travel over the people assigned (their share, with capacities)
    tw = population * share if capacitated else population
    figures: dict[str, Any] = {
        "model": res.model,
        "objective": res.objective,
        "total_population": total,
        "covered_population": cov_pop,
        "covered_share": cov_pop / total if total > 0 else None,
        "uncovered_population": total - cov_pop,
        "uncoverable_population": float(population[~coverable].sum()),
        "uncovered_by_commune": by_commune,
        "uncoverable_by_commune": unreachable_by_commune,
        "mean_minutes": float(np.average(tm[has_tm], weights=tw[has_tm]))
        if has_tm.any() and tw[has_tm].sum() > 0 else None,
        "worst_minutes": float(tm[has_tm].max()) if has_tm.any() else None,
        "open_points": int(is_open.sum()),
        "new_points": int((is_open & ~existing).sum()),
        "closed_points": int((existing & ~is_open).sum()),
        "kept_points": int((existing & is_open).sum()),
        "double_covered_population": float(population[n_open_cover >= 2].sum()),
        "overloaded_points": int(((load > capacity + 1e-6) & is_open).sum()),
        # people within the standard of an open point (with capacities, some of them
        # may not be assigned: the point is full)
        "near_open_population": float(population[near_open].sum()),
        "overload_per_day": float(overload.sum()),
        "max_utilisation": float(util[is_open].max()) if is_open.any() else None,
        "weights": DOSSIER_WEIGHTS if request.by_dossiers else "population",
        "synthetic": bool(scenario.settings.synthetic),
    }
    logger.info("placement %s: %s", request.model, res.report.summary())
    return PlacementRun(
        request=request, report=res.report, figures=figures, sites=sites, demand=demand,
        pareto=pareto_df, coverage_label=cov.label, scenario_name=scenario.name,
        stages=res.stages, coverage_warnings=tuple(sc.report.warnings),
    )
