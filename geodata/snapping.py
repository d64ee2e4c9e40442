"""Snap points to their nearest network node, with the off-network access leg.

Vectorised with a KD-tree over the node coordinates in the scenario's metric
CRS.  The access leg (straight line from the point to its node) is walked at
``access_speed_kph``; points farther than ``max_snap_m`` from every node are
flagged, never treated as zero distance: :mod:`geodata.coverage` gives them no
route over the network and lists them in its report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial import KDTree

from geodata._errors import NetworkError

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
