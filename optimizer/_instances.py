"""Seeded synthetic placement instances for tests and ``bench/``.

Clustered demand (towns around a few centres) and candidate sites, a straight-line
distance in km, and the sparse coverage and travel-time matrices built with a
KD-tree, never a dense demand x site matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.spatial import KDTree

#: Straight-line speed used to turn km into minutes for synthetic instances (km/h).
SYNTHETIC_SPEED_KPH = 20.0


@dataclass(frozen=True)
class Instance:
    """A placement instance: points in km, weights, and the sparse matrices."""

    demand_xy_km: npt.NDArray[np.float64]
    site_xy_km: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64]
    km: sp.csr_matrix
    minutes: sp.csr_matrix
    covered: sp.csr_matrix
    radius_km: float


def sparse_distance_km(
    demand_xy_km: npt.NDArray[np.float64],
    site_xy_km: npt.NDArray[np.float64],
    max_km: float,
) -> sp.csr_matrix:
    """Demand x site straight-line km for pairs within ``max_km`` (others absent).

    A pair at distance 0 is stored explicitly (an entry means "reachable").
    """
    tree_d = KDTree(demand_xy_km)
    tree_s = KDTree(site_xy_km)
    coo = tree_d.sparse_distance_matrix(tree_s, max_km, output_type="coo_matrix")
    rows, cols, vals = coo.row, coo.col, coo.data
    # sparse_distance_matrix drops exact-zero distances; put them back explicitly.
    zero_pairs = tree_d.query_ball_tree(tree_s, 0.0)
    zr = np.repeat(np.arange(len(zero_pairs)), [len(z) for z in zero_pairs])
    zc = np.fromiter((j for z in zero_pairs for j in z), dtype=np.int64, count=zr.size)
    rows = np.concatenate([rows, zr]).astype(np.int64)
    cols = np.concatenate([cols, zc]).astype(np.int64)
    vals = np.concatenate([vals, np.zeros(zr.size)])
    order = np.lexsort((cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    keep = np.ones(rows.size, dtype=bool)
    keep[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    indptr = np.zeros(demand_xy_km.shape[0] + 1, dtype=np.int64)
    np.add.at(indptr, rows + 1, 1)
    return sp.csr_matrix(
        (vals, cols, np.cumsum(indptr)), shape=(demand_xy_km.shape[0], site_xy_km.shape[0])
    )


def clustered_instance(
    n_demand: int,
    n_sites: int,
    *,
    radius_km: float = 5.0,
    seed: int = 0,
    n_clusters: int = 20,
    extent_km: float = 100.0,
    cluster_sd_km: float = 6.0,
    cutoff_km: float | None = None,
) -> Instance:
    """A seeded clustered instance.

    Demand and sites are drawn around ``n_clusters`` centres in a square of side
    ``extent_km``; weights are log-normal populations.  ``covered`` marks pairs
    within ``radius_km``; ``km``/``minutes`` hold pairs within ``cutoff_km``
    (default ``radius_km``), minutes at :data:`SYNTHETIC_SPEED_KPH`.
    """
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.0, extent_km, size=(n_clusters, 2))
    d = centres[rng.integers(0, n_clusters, n_demand)] + rng.normal(0, cluster_sd_km, (n_demand, 2))
    s = centres[rng.integers(0, n_clusters, n_sites)] + rng.normal(0, cluster_sd_km, (n_sites, 2))
    weights = np.round(rng.lognormal(mean=7.0, sigma=1.0, size=n_demand))
    cutoff = radius_km if cutoff_km is None else max(cutoff_km, radius_km)
    km = sparse_distance_km(d, s, cutoff)
    minutes = km.copy()
    minutes.data = minutes.data / SYNTHETIC_SPEED_KPH * 60.0
    covered = km.copy()
    covered.data = km.data <= radius_km
    covered = sp.csr_matrix(covered, dtype=bool)
    covered.eliminate_zeros()
    return Instance(d, s, weights, km, minutes, covered, radius_km)
