"""Snap points to their nearest network node, with the off-network access leg.

Vectorised with a KD-tree over the node coordinates in the scenario's metric
CRS.  The access leg (straight line from the point to its node) is walked at
``access_speed_kph``; points farther than ``max_snap_m`` from every node are
flagged, never treated as zero distance: :mod:`geodata.coverage` gives them no
route over the network and lists them in its report.

:func:`road_reach` and :func:`reach_problems` say how much of a scenario's
demand and sites the network reaches, the one rule behind ``motcua validate``'s
errors and the warnings of coverage, placement and staffing.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import KDTree

from geodata._errors import CRSMismatchError, NetworkError, Problem

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snap:
    """Result of :func:`snap_points`, one entry per point.

    node : index of the nearest node (into the node array given).
    distance_m : straight-line distance to it in metres.
    access_min : minutes of the access leg at the access speed.
    too_far : True where ``distance_m > max_snap_m``.
    """

    node: npt.NDArray[np.int64]
    distance_m: npt.NDArray[np.float64]
    access_min: npt.NDArray[np.float64]
    too_far: npt.NDArray[np.bool_]


def points_xy(gdf: gpd.GeoDataFrame, crs: str, what: str) -> npt.NDArray[np.float64]:
    """(n, 2) coordinates in the metric ``crs`` of a table of points (``what`` names it in errors).

    Raises
    ------
    CRSMismatchError
        If the table declares no CRS.
    ValueError
        If a geometry is not a point.
    """
    if gdf.crs is None:
        msg = f"{what} have no CRS; expected EPSG:4326 or another declared CRS"
        raise CRSMismatchError(msg)
    geom = gdf.geometry
    if len(geom) and not (geom.geom_type == "Point").all():
        bad = gdf.index[geom.geom_type != "Point"][:5].tolist()
        msg = (f"{what} must be points (rows {bad} are not); spread polygon demand "
               "with geodata.demand.spread_population first")
        raise ValueError(msg)
    proj = geom.to_crs(crs)
    return np.column_stack([proj.x.to_numpy(dtype=float), proj.y.to_numpy(dtype=float)])


def point_ids(gdf: gpd.GeoDataFrame) -> npt.NDArray[Any]:
    """The ``id`` column of a table of points, or its index when it has none."""
    return (gdf["id"] if "id" in gdf.columns else pd.Series(gdf.index)).to_numpy()


def access_minutes(distance_m: npt.ArrayLike, access_speed_kph: float) -> npt.NDArray[np.float64]:
    """Minutes to cover ``distance_m`` metres at ``access_speed_kph``."""
    if access_speed_kph <= 0:
        msg = f"access speed must be > 0 km/h, got {access_speed_kph}"
        raise NetworkError(msg)
    return np.asarray(distance_m, dtype=float) / 1000.0 / access_speed_kph * 60.0


def snap_points(
    points_xy_m: npt.NDArray[np.float64],
    nodes_xy_m: npt.NDArray[np.float64],
    access_speed_kph: float,
    max_snap_m: float,
    tree: KDTree | None = None,
) -> Snap:
    """Nearest node of every point, in one vectorised KD-tree query.

    Parameters
    ----------
    points_xy_m : (m, 2) point coordinates in a metric CRS.
    nodes_xy_m : (n, 2) node coordinates in the same CRS.
    access_speed_kph : speed of the off-network leg.
    max_snap_m : points farther than this from every node are flagged ``too_far``.
    tree : a KD-tree already built on ``nodes_xy_m``, to reuse.

    Returns
    -------
    Snap

    Raises
    ------
    NetworkError
        If there are no nodes, or a coordinate is not finite.
    """
    points = np.asarray(points_xy_m, dtype=float).reshape(-1, 2)
    if len(nodes_xy_m) == 0:
        msg = "cannot snap points: the road network has no nodes"
        raise NetworkError(msg)
    if not np.all(np.isfinite(points)):
        bad = np.flatnonzero(~np.isfinite(points).all(axis=1))
        msg = f"cannot snap points with non-finite coordinates (rows {bad[:10].tolist()})"
        raise NetworkError(msg)
    tree = tree if tree is not None else KDTree(nodes_xy_m)
    if len(points) == 0:
        empty = np.empty(0)
        return Snap(np.empty(0, dtype=np.int64), empty, empty, np.empty(0, dtype=bool))
    dist, node = tree.query(points, k=1)
    dist = np.asarray(dist, dtype=float)
    too_far = dist > max_snap_m
    if too_far.any():
        logger.info("%d of %d points are more than %.0f m from the road network",
                    int(too_far.sum()), len(points), max_snap_m)
    return Snap(node=np.asarray(node, dtype=np.int64), distance_m=dist,
                access_min=access_minutes(dist, access_speed_kph), too_far=too_far)


# --------------------------------------------------------------------------- reach

#: Share of the demand (people; points when nobody lives there) farther than ``max_snap_m``
#: from the road network above which every result warns that the network misses the demand.
FAR_SHARE_WARNING = 0.10

Bounds = tuple[float, float, float, float]


@dataclass(frozen=True)
class RoadReach:
    """How the demand points and sites of a scenario reach its routable road network.

    A point is *reached by road* when a node of the network (prepared for
    ``mode``) lies within ``max_snap_m``; the others get no road route, only
    sites within ``max_snap_m`` on foot along the straight line.

    mode, max_snap_m : travel mode of the network and the snapping tolerance.
    demand_points, demand_population : every demand point and its people.
    far_points, far_population : those farther than ``max_snap_m``.
    nearest_km : km from the network to the demand point nearest it (``inf`` without points).
    sites : number of sites; far_site_ids : ids of those farther than ``max_snap_m``.
    network_bounds, demand_bounds : (west, south, east, north) in degrees, for the errors.
    crs : the CRS the road file declares (or says it declares none).
    """

    mode: str
    max_snap_m: float
    demand_points: int
    demand_population: float
    far_points: int
    far_population: float
    nearest_km: float
    sites: int
    far_site_ids: tuple[str, ...]
    network_bounds: Bounds
    demand_bounds: Bounds
    crs: str

    @property
    def road_points(self) -> int:
        return self.demand_points - self.far_points

    @property
    def road_population(self) -> float:
        return self.demand_population - self.far_population

    @property
    def far_share(self) -> float:
        """Share of the people (of the points when nobody lives there) not reached by road."""
        if self.demand_population > 0:
            return self.far_population / self.demand_population
        return self.far_points / self.demand_points if self.demand_points else 0.0


def road_reach(
    mode: str, max_snap_m: float,
    demand_snap_m: npt.ArrayLike, population: npt.ArrayLike,
    site_snap_m: npt.ArrayLike, site_ids: npt.ArrayLike,
    network_bounds: Bounds, demand_bounds: Bounds, crs: str,
) -> RoadReach:
    """:class:`RoadReach` from each demand point's and site's metres to its nearest road node."""
    d = np.asarray(demand_snap_m, dtype=float)
    pop = np.asarray(population, dtype=float)
    s = np.asarray(site_snap_m, dtype=float)
    far = d > max_snap_m
    far_sites = np.asarray(site_ids, dtype=object)[s > max_snap_m]
    return RoadReach(
        mode=mode, max_snap_m=float(max_snap_m), demand_points=len(d),
        demand_population=float(pop.sum()), far_points=int(far.sum()),
        far_population=float(pop[far].sum()),
        nearest_km=float(d.min()) / 1000.0 if len(d) else math.inf,
        sites=len(s), far_site_ids=tuple(str(x) for x in far_sites),
        network_bounds=network_bounds, demand_bounds=demand_bounds, crs=crs,
    )


def _extent(b: Bounds) -> str:
    return f"lon {b[0]:.3f}..{b[2]:.3f}, lat {b[1]:.3f}..{b[3]:.3f}"


def reach_problems(reach: RoadReach, label: str) -> tuple[list[Problem], list[str]]:
    """Errors and warnings about where a road network lies, the same for every command.

    Errors: no demand point, or no site, is within ``max_snap_m`` of the network
    (it routes nobody: a file of another place, or coordinates in another CRS
    than the one it declares).  Warnings: more than :data:`FAR_SHARE_WARNING` of
    the demand is not reached by road; some sites are not.

    Returns
    -------
    (problems, warnings)
        Problems name ``label``; warnings are ``"<label>: ..."`` lines.
    """
    tol = f"max_snap_m = {reach.max_snap_m:,.0f} m"
    where = (f"roads span {_extent(reach.network_bounds)}; "
             f"the demand spans {_extent(reach.demand_bounds)}")
    expected = (f"a road network around the demand and the sites (the file's CRS: "
                f"{reach.crs}; check that its coordinates are in it), or a larger "
                "[travel] max_snap_m")
    problems: list[Problem] = []
    if reach.demand_points and reach.far_points == reach.demand_points:
        problems.append(Problem(
            label, f"no demand point is within {tol} of the {reach.mode} road network: the "
                   f"nearest is {reach.nearest_km:,.1f} km away", value=where, expected=expected))
    if reach.sites and len(reach.far_site_ids) == reach.sites:
        problems.append(Problem(
            label, f"no site is within {tol} of the {reach.mode} road network",
            value=where, expected=expected))
    warnings: list[str] = []
    if problems:
        return problems, warnings
    if reach.far_share > FAR_SHARE_WARNING:
        warnings.append(
            f"{label}: only {reach.road_points:,} of {reach.demand_points:,} demand points "
            f"({reach.road_population:,.0f} of {reach.demand_population:,.0f} people) are within "
            f"{tol} of the {reach.mode} road network and reached by road; the other "
            f"{reach.far_points:,} ({reach.far_population:,.0f} people, "
            f"{100 * reach.far_share:.0f} %) reach only sites within "
            f"{reach.max_snap_m:,.0f} m on foot")
    if reach.far_site_ids:
        ids = ", ".join(reach.far_site_ids[:10])
        more = f" and {len(reach.far_site_ids) - 10} more" if len(reach.far_site_ids) > 10 else ""
        warnings.append(
            f"{label}: {len(reach.far_site_ids):,} of {reach.sites:,} sites are farther than "
            f"{tol} from the {reach.mode} road network ({ids}{more}): no road route to or "
            f"from them, only on foot within {reach.max_snap_m:,.0f} m")
    return problems, warnings
