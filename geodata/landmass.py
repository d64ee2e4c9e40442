"""Land masses of a scenario without roads: islands are not reached by a straight line over the sea.

The commune polygons (``[files] communes``) are merged, closing gaps narrower
than ``gap_m`` (boundary files do not always meet exactly), and split into
their separate parts: the mainland and each island or group of islands.  In
the straight-line fallback a resident and a site on different land masses are
not reachable by land, unless a ferry link of the scenario (``[files] ferries``) joins
their land masses (:mod:`geodata.coverage`); residents no existing site reaches are reported.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

#: Gaps between communes narrower than this are closed before splitting land masses (m).
GAP_M = 200.0
#: A point outside every land mass belongs to the nearest one within this distance (m).
SNAP_M = 2000.0


def land_masses(communes: gpd.GeoDataFrame, crs: str, gap_m: float = GAP_M) -> npt.NDArray[np.object_]:
    """Separate parts of the union of the communes (metric ``crs``), largest first."""
    geoms = communes.to_crs(crs).geometry.to_numpy()
    merged = shapely.union_all(shapely.buffer(geoms, gap_m / 2.0))
    parts = shapely.get_parts(merged)
    order = np.argsort(-shapely.area(parts), kind="stable")
    return np.asarray(parts[order], dtype=object)


def land_labels(xy: npt.NDArray[np.float64], parts: npt.NDArray[np.object_],
                snap_m: float = SNAP_M) -> npt.NDArray[np.int64]:
    """Land mass of each point (index into ``parts``); -1 - i for a point at sea (its own)."""
    points = shapely.points(xy[:, 0], xy[:, 1])
    labels = np.full(len(xy), -1, dtype=np.int64)
    tree = shapely.STRtree(parts)
    p_idx, g_idx = tree.query(points, predicate="within")
    labels[p_idx] = g_idx
    lost = np.flatnonzero(labels < 0)
    if len(lost):
        near, dist = tree.query_nearest(points[lost], return_distance=True, all_matches=False)
        ok = dist <= snap_m
        labels[lost[near[0][ok]]] = near[1][ok]
    still = np.flatnonzero(labels < 0)
    labels[still] = -1 - still
    return labels


def read_communes(path: Path) -> gpd.GeoDataFrame:
    """The commune polygons of ``[files] communes``."""
    return gpd.read_file(path)
