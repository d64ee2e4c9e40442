"""Who is within the coverage standard of which site: sparse travel-time matrices.

The engine
----------
Travel goes from a demand point to a site, so shortest paths are grown *from
the sites* on the *reversed* road graph (one-way streets matter), with
``scipy.sparse.csgraph.dijkstra(..., indices=batch, limit=cutoff)``: a bounded
multi-source Dijkstra in C, a batch of sites at a time so that memory stays at
about ``batch_size x n_nodes`` numbers whatever the graph size.

A trip is ``walk to the nearest road node + drive + walk from the site's node``,
the two walks at ``access_speed_kph`` along the straight line.  Points farther
than ``max_snap_m`` from every road get no route over the network (they are
reported, never treated as zero distance).  A pair closer than ``max_snap_m``
may also be walked directly along the straight line at the access speed, when
that is faster (a resident next door to a site, a site and its village on an
island): the same assumption as an access leg, never more.

For each pair within ``cutoff_minutes`` the matrix holds the minutes of the
fastest trip and the km of that trip.  A pair is *covered* when its minutes are
within ``standard.max_minutes`` OR (``rule="either"``) / AND (``rule="both"``)
its distance is within ``standard.max_km``, the distance being the *shortest*
road distance (``km_measure="network"``, a second bounded Dijkstra on length)
or the straight-line radius (``km_measure="straight"``).  So ``covered`` may
hold pairs that ``minutes`` does not (within 5 km but beyond the time cutoff),
and a covered pair's ``km`` (fastest route) may exceed ``max_km`` when a
shorter but slower road exists.

Without a road network, distances are straight-line km x ``circuity`` at the
mode's straight-line speed, and every result says so in its ``label``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import KDTree

from geodata._errors import CRSMismatchError
from geodata.network import (
    Chains,
    GraphArrays,
    NetworkReport,
    ensure_prepared,
    graph_arrays,
    graph_chains,
    network_report,
    straight_line_speed_kph,
)
from geodata.roads import (
    scenario_graph,  # noqa: F401 - re-exported: the app and staffing use it
    scenario_roads,
)
from geodata.scenario import WGS84, Scenario
from geodata.settings import CoverageStandard, TravelSettings
from geodata.snapping import Snap, access_minutes, point_ids, points_xy, snap_points

logger = logging.getLogger(__name__)

Method = Literal["network", "straight-line"]

#: Budget of numbers held per Dijkstra batch (``batch_size x n_nodes``); about 8 bytes each,
#: times a small factor for predecessors and path sums.
BATCH_CELLS = 4_000_000
#: Largest demand x site count built as dense arrays rather than pair lists (when most
#: pairs are within reach the dense layout needs no sorting); about 18 bytes each.
DENSE_CELLS = 4_000_000
#: Tolerance when comparing minutes and km to the standard (floating-point sums).
_EPS = 1e-9
#: Bump when the matrices change meaning, to invalidate cached results.
CACHE_VERSION = "coverage-3"  # 2: the report holds the road warnings; 3: ferry links


@dataclass(frozen=True)
class CoverageMatrix:
    """Travel minutes and km between demand points and sites, and who is covered.

    minutes : CSR (demand x site): minutes of the fastest trip, an explicit entry
        for every pair within ``cutoff_minutes`` (a stored 0.0 is a real zero).
    km : CSR with the same pattern: km of that trip (network km, or straight km
        x circuity without a network).
    covered : bool CSR (demand x site): the pair meets ``standard``.
    demand_ids, site_ids : ids of the rows and columns.
    standard : the coverage standard applied.
    cutoff_minutes : time bound of ``minutes`` (>= ``standard.max_minutes``).
    method : ``"network"`` or ``"straight-line"``.
    label : human description of the method, shown with every result and map.
    """

    minutes: sp.csr_matrix
    km: sp.csr_matrix
    covered: sp.csr_matrix
    demand_ids: npt.NDArray[Any]
    site_ids: npt.NDArray[Any]
    standard: CoverageStandard
    cutoff_minutes: float
    method: Method
    label: str

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.demand_ids), len(self.site_ids))

    def dense_minutes(self) -> npt.NDArray[np.float64]:
        """Dense minutes with ``np.inf`` for pairs beyond the cutoff (small instances only)."""
        out = np.full(self.shape, np.inf)
        coo = self.minutes.tocoo()
        out[coo.row, coo.col] = coo.data
        return out


@dataclass(frozen=True)
class FerryLinks:
    """Ferry links of the straight-line fallback, in the metric CRS.

    a_xy, b_xy : (n, 2) the two piers of each link (m); minutes : (n,) one crossing,
    either way, waiting included; a_land, b_land : land mass of each pier (see
    :func:`geodata.landmass.land_labels`), or ``None`` when land masses are not known.
    """

    a_xy: npt.NDArray[np.float64]
    b_xy: npt.NDArray[np.float64]
    minutes: npt.NDArray[np.float64]
    a_land: npt.NDArray[np.int64] | None = None
    b_land: npt.NDArray[np.int64] | None = None

    def __len__(self) -> int:
        return len(self.minutes)


# --------------------------------------------------------------------------- helpers

def _row_major(rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64],
               shape: tuple[int, int]) -> tuple[npt.NDArray[Any], npt.NDArray[Any],
                                                 npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """CSR layout of (row, col) pairs in linear time, without sorting the pairs.

    A stable radix sort on the column, then scipy's linear CSC -> CSR
    transposition, which leaves every row's columns sorted and equal pairs in
    their input order.

    Returns
    -------
    indptr, indices : the CSR layout, one entry per input pair (duplicates kept).
    perm : input position of each CSR entry.
    repeat : True where an entry repeats the (row, col) of the entry before it.
    """
    n_r, n_c = shape
    key = cols.astype(np.int16 if n_c <= np.iinfo(np.int16).max else np.int32)
    by_col = np.argsort(key, kind="stable")  # radix sort for 16-bit keys
    col_ptr = np.zeros(n_c + 1, dtype=np.int64)
    np.cumsum(np.bincount(cols, minlength=n_c), out=col_ptr[1:])
    pos = np.arange(len(rows), dtype=np.int64)
    csr = sp.csc_matrix((pos, rows[by_col], col_ptr), shape=shape).tocsr()
    perm = by_col[csr.data]
    indices = csr.indices
    repeat = np.zeros(len(perm), dtype=bool)
    if len(perm) > 1:
        repeat[1:] = indices[1:] == indices[:-1]
        repeat[csr.indptr[1:-1][csr.indptr[1:-1] < len(perm)]] = False  # a row's first entry
    return csr.indptr, indices, perm, repeat


def _csr_from_pairs(rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64],
                    data: npt.NDArray[Any], shape: tuple[int, int]) -> sp.csr_matrix:
    """CSR from unique (row, col) pairs, keeping explicit zeros, sorted indices."""
    indptr, indices, perm, _ = _row_major(rows, cols, shape)
    return sp.csr_matrix((data[perm], indices, indptr), shape=shape)


def _bool_csr(indptr: npt.NDArray[Any], indices: npt.NDArray[Any], keep: npt.NDArray[np.bool_],
              shape: tuple[int, int]) -> sp.csr_matrix:
    """Bool CSR of the entries ``keep`` of a CSR layout."""
    row = np.repeat(np.arange(shape[0], dtype=np.int64), np.diff(indptr))
    new_ptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(row[keep], minlength=shape[0]), out=new_ptr[1:])
    return sp.csr_matrix((np.ones(int(keep.sum()), dtype=bool), indices[keep], new_ptr),
                         shape=shape)


def _check_inputs(demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame,
                  standard: CoverageStandard, cutoff_minutes: float | None) -> float:
    if demand.crs is not None and sites.crs is not None and demand.crs != sites.crs:
        msg = (f"demand is in {demand.crs.to_string()} but sites are in "
               f"{sites.crs.to_string()}; give both in the same CRS")
        raise CRSMismatchError(msg)
    cutoff = standard.max_minutes if cutoff_minutes is None else float(cutoff_minutes)
    if not cutoff >= standard.max_minutes:
        msg = (f"cutoff_minutes {cutoff} is below the standard's max_minutes "
               f"{standard.max_minutes}; it must be at least that")
        raise ValueError(msg)
    if standard.max_km < 0 or standard.max_minutes < 0:
        msg = f"coverage standard must be non-negative, got {standard}"
        raise ValueError(msg)
    return cutoff


def _covered_matrix(
    n_demand: int, n_sites: int,
    t_rows: npt.NDArray[np.int64], t_cols: npt.NDArray[np.int64], t_ok: npt.NDArray[np.bool_],
    k_rows: npt.NDArray[np.int64], k_cols: npt.NDArray[np.int64],
    rule: str,
) -> sp.csr_matrix:
    """Bool CSR of pairs within minutes (``t_*`` masked by ``t_ok``) and/or within km (``k_*``).

    The time pairs are unique; the km pairs may repeat each other and the time pairs.
    """
    if rule not in ("either", "both"):
        msg = f"unknown coverage rule {rule!r}; expected 'either' or 'both'"
        raise ValueError(msg)
    shape = (n_demand, n_sites)
    n_t = int(t_ok.sum())
    rows = np.concatenate([t_rows[t_ok], k_rows]).astype(np.int64)
    cols = np.concatenate([t_cols[t_ok], k_cols]).astype(np.int64)
    indptr, indices, perm, repeat = _row_major(rows, cols, shape)
    if rule == "either":
        return _bool_csr(indptr, indices, ~repeat, shape)
    # both: a time pair (first of its run, the time pairs coming first) repeated by a km pair
    first_is_time = ~repeat & (perm < n_t)
    repeated = np.zeros(len(perm), dtype=bool)
    repeated[:-1] = repeat[1:]
    return _bool_csr(indptr, indices, first_is_time & repeated, shape)


def _straight_pairs(a_xy: npt.NDArray[np.float64], b_xy: npt.NDArray[np.float64],
                    radius_m: float) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64],
                                              npt.NDArray[np.float64]]:
    """All (i, j, metres) with straight distance <= radius_m between a[i] and b[j] (zeros kept)."""
    if len(a_xy) == 0 or len(b_xy) == 0 or radius_m < 0:
        e = np.empty(0, dtype=np.int64)
        return e, e, np.empty(0)
    res = KDTree(a_xy).sparse_distance_matrix(KDTree(b_xy), radius_m, output_type="ndarray")
    return (res["i"].astype(np.int64), res["j"].astype(np.int64),
            res["v"].astype(float))


# --------------------------------------------------------------------------- engine

def _csr_lookup(m: sp.csr_matrix, rows: npt.NDArray[np.int64],
                cols: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Values ``m[rows, cols]`` of entries known to exist, vectorised (indices sorted per row)."""
    n = m.shape[1]
    entry_rows = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))
    keys = entry_rows * n + m.indices.astype(np.int64)
    pos = np.searchsorted(keys, rows.astype(np.int64) * n + cols.astype(np.int64))
    return np.asarray(m.data[pos], dtype=float)


def _tree_km(pred: npt.NDArray[np.int32], edge_km: sp.csr_matrix,
             cols: npt.NDArray[np.int64], rows_per_chunk: int | None = None,
             ) -> npt.NDArray[np.float64]:
    """Km along the shortest-path trees, from each tree's root to the nodes ``cols``.

    ``pred`` is the (b, n) predecessor matrix of a Dijkstra on the reversed
    graph (``-9999`` at roots and unreached nodes); ``edge_km`` the CSR of the
    original graph (sorted indices), so the tree edge parent -> v is the
    original edge v -> parent.  Exact path sums by pointer jumping
    (``ceil(log2(depth))`` rounds), a few rows at a time so the arrays stay in
    cache, over the nodes those rows reach only; unreached nodes get 0.

    Returns
    -------
    npt.NDArray[np.float64]
        (b, len(cols)) km.
    """
    b, n = pred.shape
    indptr = edge_km.indptr.astype(np.intp)
    indices = edge_km.indices
    data = np.asarray(edge_km.data, dtype=float)
    deg_all = np.diff(indptr)
    max_deg = int(deg_all.max()) if n else 0
    last = max(len(indices) - 1, 0)
    out = np.zeros((b, len(cols)))
    local = np.full(n, -1, dtype=np.intp)
    if rows_per_chunk is None:
        # trees covering most of the graph: 32 at a time; small trees (a large graph): one at
        # a time, as the union of several far-apart trees would be mostly empty
        rows_per_chunk = 32 if b and float((pred >= 0).mean()) > 0.5 else 1
    for r0 in range(0, b, rows_per_chunk):
        full_parent = pred[r0:r0 + rows_per_chunk]
        # only the nodes some tree of the chunk reaches (a small part of a large graph)
        used: npt.NDArray[np.bool_] = np.asarray((full_parent >= 0).any(axis=0))
        used[full_parent[full_parent >= 0]] = True
        nodes = np.flatnonzero(used)
        if len(nodes) == 0:
            continue
        k_nodes = len(nodes)
        local[nodes] = np.arange(k_nodes, dtype=np.intp)
        parent = full_parent[:, nodes]
        has = parent >= 0
        weight = np.zeros(parent.shape)
        deg = deg_all[nodes]
        first = indptr[nodes]
        # km of the edge v -> parent: the parent is one of v's few out-neighbours
        for k in range(max_deg):
            pos = np.minimum(first + k, last)
            hit = has & (k < deg)[None, :] & (indices[pos][None, :] == parent)
            np.copyto(weight, data[pos][None, :], where=hit)
        # pointer jumping on flat arrays (row r's node i at r * k_nodes + i; roots and
        # unreached nodes point at themselves with weight 0)
        n_rows = parent.shape[0]
        idx_type = np.int32 if n_rows * k_nodes < np.iinfo(np.int32).max else np.int64
        own = np.arange(k_nodes, dtype=idx_type)[None, :]
        up = (np.where(has, local[np.maximum(parent, 0)].astype(idx_type), own)
              + (np.arange(n_rows, dtype=idx_type) * k_nodes)[:, None]).ravel()
        flat_w = weight.ravel()
        while True:
            flat_w += flat_w[up]
            up_next = up[up]
            if np.array_equal(up_next, up):
                break
            up = up_next
        col_local = local[cols]
        got = col_local >= 0
        out[r0:r0 + rows_per_chunk, got] = flat_w.reshape(n_rows, k_nodes)[:, col_local[got]]
        local[nodes] = -1
    return out


def _pairs_per_source(groups: tuple[npt.NDArray[np.int64], ...], src: npt.NDArray[np.int64],
                      n_points: int) -> npt.NDArray[np.int64]:
    """Demand-point x site pairs that each source node in ``src`` stands for."""
    return groups[1][src] * n_points


def _group(keys: npt.NDArray[np.int64], members: npt.NDArray[np.int64]) -> tuple[
        npt.NDArray[np.int64], tuple[npt.NDArray[np.int64], ...]]:
    """Distinct keys and, per key, its members as (start, count, members sorted by key)."""
    uniq, inv = np.unique(keys, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    count = np.bincount(inv, minlength=len(uniq)).astype(np.int64)
    start = np.cumsum(count) - count
    return uniq, (start, count, members[order].astype(np.int64))


def _group_min(groups: tuple[npt.NDArray[np.int64], ...],
               values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    start, count, members = groups
    if len(start) == 0:
        return np.empty(0)
    return np.minimum.reduceat(values[members], start)


def _expand(groups: tuple[npt.NDArray[np.int64], ...], group_idx: npt.NDArray[np.int64],
            tag: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For each ``group_idx[i]``, one (tag[i], member) row per member of that group."""
    start, count, members = groups
    cnt = count[group_idx]
    total = int(cnt.sum())
    offs = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    return np.repeat(tag, cnt), members[np.repeat(start[group_idx], cnt) + offs]


@dataclass(frozen=True)
class _Routing:
    """The graph the searches run on: all nodes, or the contracted graph.

    compact : (n_nodes,) index of each node of the full graph in these arrays
        (-1 for a node contracted away).
    rev_time : reversed graph, fastest minutes (sorted indices).
    edge_km : forward graph, km of the fastest edge (sorted indices, pattern of ``rev_time.T``).
    rev_len : reversed graph, shortest km.
    """

    compact: npt.NDArray[np.int64]
    rev_time: sp.csr_matrix
    edge_km: sp.csr_matrix
    rev_len: sp.csr_matrix


@dataclass(frozen=True)
class _Targets:
    """How trips from the target (demand) nodes are read off searches on the routing graph.

    A target kept in the routing graph is its own end ``a`` at cost 0 (end ``b``
    unused, cost ``inf``).  A target inside a chain piece leaves it by one of
    the piece's two ends: ``a`` (towards the chain's first node) or ``b``; the
    ``*_min`` / ``*_km`` / ``*_len_km`` arrays give the minutes and km of the
    fastest way along the piece to that end and its shortest km (``inf`` when
    the piece is one-way the other way).  Indices are into the routing graph.
    """

    a: npt.NDArray[np.int64]
    b: npt.NDArray[np.int64]
    a_min: npt.NDArray[np.float64]
    b_min: npt.NDArray[np.float64]
    a_km: npt.NDArray[np.float64]
    b_km: npt.NDArray[np.float64]
    a_len_km: npt.NDArray[np.float64]
    b_len_km: npt.NDArray[np.float64]

    @staticmethod
    def themselves(nodes: npt.NDArray[np.int64]) -> _Targets:
        zero, inf = np.zeros(len(nodes)), np.full(len(nodes), np.inf)
        return _Targets(a=nodes, b=nodes, a_min=zero, b_min=inf, a_km=zero, b_km=zero,
                        a_len_km=zero, b_len_km=inf)


def _read_targets(dist: npt.NDArray[np.float64], a: npt.NDArray[np.int64],
                  b: npt.NDArray[np.int64], a_cost: npt.NDArray[np.float64],
                  b_cost: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64],
                                                            npt.NDArray[np.bool_]]:
    """Distance from each search source to each target (via the better end; ``a`` on ties)
    and where that is end ``b``."""
    via_a = dist[:, a]
    via_a += a_cost[None, :]
    via_b = dist[:, b]
    via_b += b_cost[None, :]
    use_b = via_b < via_a
    np.copyto(via_a, via_b, where=use_b)
    return via_a, use_b


def _min_edges(rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64],
               key: npt.NDArray[np.float64], tie: npt.NDArray[np.float64],
               n: int) -> npt.NDArray[np.int64]:
    """Position of the edge kept for each distinct (row, col): least ``key``, then least ``tie``;
    in row-major order."""
    order = np.lexsort((tie, key, cols, rows))
    r, c = rows[order], cols[order]
    first = np.ones(len(r), dtype=bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    return np.asarray(order[first], dtype=np.int64)


def _csr_rows(rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64],
              data: npt.NDArray[np.float64], n: int) -> sp.csr_matrix:
    """CSR from unique (row, col) pairs already in row-major order (explicit zeros kept)."""
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    m = sp.csr_matrix((data.astype(np.float64), cols.astype(np.int32),
                       indptr.astype(np.int32)), shape=(n, n))
    m.has_sorted_indices = True
    return m


def _full_routing(ga: GraphArrays, targets: npt.NDArray[np.int64]) -> tuple[
        _Routing, _Targets]:
    rev_time = ga.time_min.T.tocsr()
    rev_time.sort_indices()
    rev_len = ga.length_km.T.tocsr()
    rev_len.sort_indices()
    return (_Routing(compact=np.arange(ga.n_nodes, dtype=np.int64), rev_time=rev_time,
                     edge_km=ga.time_edge_km, rev_len=rev_len),
            _Targets.themselves(np.asarray(targets, dtype=np.int64)))


def _dead_ends(time_min: sp.csr_matrix, protect: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Nodes on dead-end spurs that no shortest path between protected nodes can use.

    Repeatedly drops unprotected nodes with at most one neighbour left (either
    direction): a trip entering such a node can only leave the way it came.

    Returns
    -------
    npt.NDArray[np.bool_]
        (n,) True for the nodes that stay.
    """
    n = time_min.shape[0]
    pat = sp.csr_matrix((np.ones(time_min.nnz, dtype=np.int32), time_min.indices,
                         time_min.indptr), shape=(n, n))
    und = (pat + pat.T).tocsr()
    und.setdiag(0)
    und.eliminate_zeros()
    und.data[:] = 1
    deg = np.diff(und.indptr).astype(np.int64)
    free = np.ones(n, dtype=bool)
    free[protect] = False
    alive = np.ones(n, dtype=bool)
    drop = free & (deg <= 1)
    while drop.any():
        alive &= ~drop
        deg -= np.asarray(und @ drop.astype(np.int32), dtype=np.int64)
        drop = alive & free & (deg <= 1)
    return alive


def _contracted_routing(ga: GraphArrays, keep: npt.NDArray[np.int64],
                        targets: npt.NDArray[np.int64] | None = None) -> tuple[
        _Routing, _Targets]:
    """The graph on the junctions and the nodes ``keep``, each chain piece between two kept
    nodes replaced by one edge per direction it can be travelled; and how to reach the
    ``targets`` (nodes inside pieces are read off the piece's ends, see :class:`_Targets`).

    First the dead-end spurs with no ``keep`` or ``targets`` node on them are
    dropped (:func:`_dead_ends`; no trip between the other nodes uses them).
    A piece's edge carries the summed minutes and the summed km of its fastest
    edges (the only route through a pass-through node is along its chain, so
    fastest trips, their km and shortest distances between kept nodes are those
    of the full graph); parallel edges keep the fastest (then the shorter) for
    the time graph and the shortest for the length graph.  A target inside a
    piece is left by one of its two ends, so its trips are the better of the
    two ends' trips plus the way along the piece: exact as well.
    """
    if targets is None:
        targets = np.empty(0, dtype=np.int64)
    keep = np.asarray(keep, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    n_full = ga.n_nodes
    alive = _dead_ends(ga.time_min, np.concatenate([keep, targets]))
    time_min, edge_km_full, length_km = ga.time_min, ga.time_edge_km, ga.length_km
    ch = ga.chains
    if not alive.all():  # route on the graph without the spurs, with its own chains
        live = np.flatnonzero(alive)
        time_min, edge_km_full, length_km = (m[live][:, live].tocsr() for m in (
            time_min, edge_km_full, length_km))
        for m in (time_min, edge_km_full, length_km):
            m.sort_indices()
        ch = graph_chains(time_min, edge_km_full, length_km)
        renumber = np.full(n_full, -1, dtype=np.int64)
        renumber[live] = np.arange(len(live), dtype=np.int64)
        keep, targets = renumber[keep], renumber[targets]
    n = time_min.shape[0]
    kept = ~ch.pass_through
    kept[keep] = True
    compact = np.full(n, -1, dtype=np.int64)
    n_k = int(kept.sum())
    compact[kept] = np.arange(n_k, dtype=np.int64)

    # edges between two junctions, as they are
    tm = time_min
    u = np.repeat(np.arange(n, dtype=np.int64), np.diff(tm.indptr))
    v = tm.indices.astype(np.int64)
    direct = ~ch.pass_through[u] & ~ch.pass_through[v]
    parts_u = [u[direct]]
    parts_v = [v[direct]]
    parts_min = [np.asarray(tm.data, dtype=float)[direct]]
    parts_km = [np.asarray(edge_km_full.data, dtype=float)[direct]]
    lm = length_km
    lu = np.repeat(np.arange(n, dtype=np.int64), np.diff(lm.indptr))
    lv = lm.indices.astype(np.int64)
    ldirect = ~ch.pass_through[lu] & ~ch.pass_through[lv]
    lparts_u, lparts_v = [lu[ldirect]], [lv[ldirect]]
    lparts_len = [np.asarray(lm.data, dtype=float)[ldirect]]

    # chain pieces between consecutive kept positions of a chain
    if len(ch.seq):
        at_kept = kept[ch.seq]
        at_kept[ch.ptr[:-1]] = True
        at_kept[ch.ptr[1:] - 1] = True
        pos = np.flatnonzero(at_kept)
        is_last = np.zeros(len(ch.seq), dtype=bool)
        is_last[ch.ptr[1:] - 1] = True
        starts = pos[:-1]
        ok = ~is_last[starts]  # a piece starts inside its chain (not at a chain's last node)
        a = ch.seq[starts[ok]]
        b = ch.seq[pos[1:][ok]]
        chain_of = np.searchsorted(ch.ptr, starts[ok], side="right") - 1

        def piece(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            return np.asarray(np.add.reduceat(values, starts)[ok], dtype=float)

        f = ch.fwd[chain_of] & (a != b)
        g = ch.bwd[chain_of] & (a != b)
        f_min, f_km, f_len = piece(ch.fwd_min), piece(ch.fwd_km), piece(ch.fwd_len_km)
        b_min, b_km, b_len = piece(ch.bwd_min), piece(ch.bwd_km), piece(ch.bwd_len_km)
        parts_u += [a[f], b[g]]
        parts_v += [b[f], a[g]]
        parts_min += [f_min[f], b_min[g]]
        parts_km += [f_km[f], b_km[g]]
        lparts_u += [a[f], b[g]]
        lparts_v += [b[f], a[g]]
        lparts_len += [f_len[f], b_len[g]]

    eu = compact[np.concatenate(parts_u)]
    ev = compact[np.concatenate(parts_v)]
    e_min = np.concatenate(parts_min)
    e_km = np.concatenate(parts_km)
    sel = _min_edges(ev, eu, e_min, e_km, n_k)  # reversed graph: row = head
    rev_time = _csr_rows(ev[sel], eu[sel], e_min[sel], n_k)
    sel_f = _min_edges(eu, ev, e_min, e_km, n_k)  # forward: the same choice per edge
    edge_km = _csr_rows(eu[sel_f], ev[sel_f], e_km[sel_f], n_k)
    lu_ = compact[np.concatenate(lparts_u)]
    lv_ = compact[np.concatenate(lparts_v)]
    l_len = np.concatenate(lparts_len)
    sel_l = _min_edges(lv_, lu_, l_len, l_len, n_k)
    rev_len = _csr_rows(lv_[sel_l], lu_[sel_l], l_len[sel_l], n_k)
    logger.debug("contracted graph: %d of %d nodes (%d on dead ends dropped), %d edges",
                 n_k, n_full, n_full - n, rev_time.nnz)
    tg = _chain_targets(ch, kept, compact, targets)
    if n < n_full:
        compact_full = np.full(n_full, -1, dtype=np.int64)
        compact_full[alive] = compact
        compact = compact_full
    routing = _Routing(compact=compact, rev_time=rev_time, edge_km=edge_km, rev_len=rev_len)
    return routing, tg


def _chain_targets(ch: Chains, kept: npt.NDArray[np.bool_], compact: npt.NDArray[np.int64],
                   targets: npt.NDArray[np.int64]) -> _Targets:
    """:class:`_Targets` of ``targets`` on the graph contracted to the ``kept`` nodes."""
    tg = _Targets.themselves(compact[targets])
    inside = np.flatnonzero(~kept[targets])
    if len(inside) == 0:
        return tg
    n_pos = len(ch.seq)
    at_kept = kept[ch.seq]
    at_kept[ch.ptr[:-1]] = True
    at_kept[ch.ptr[1:] - 1] = True
    idx = np.arange(n_pos, dtype=np.int64)
    prev_kept = np.maximum.accumulate(np.where(at_kept, idx, 0))
    next_kept = np.minimum.accumulate(np.where(at_kept, idx, n_pos - 1)[::-1])[::-1]
    # a pass-through node is inside exactly one chain, once
    pos_of = np.full(len(kept), -1, dtype=np.int64)
    interior = ~np.isin(idx, np.concatenate([ch.ptr[:-1], ch.ptr[1:] - 1]))
    pos_of[ch.seq[interior]] = idx[interior]
    p = pos_of[targets[inside]]
    pa, pb = prev_kept[p], next_kept[p]
    chain = np.searchsorted(ch.ptr, p, side="right") - 1
    back, ahead = ch.bwd[chain], ch.fwd[chain]

    def along(values: npt.NDArray[np.float64], lo: npt.NDArray[np.int64],
              hi: npt.NDArray[np.int64], ok: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
        csum = np.concatenate([[0.0], np.cumsum(values)])
        return np.where(ok, csum[hi] - csum[lo], np.inf)

    a_min = tg.a_min.copy()
    b_min = tg.b_min.copy()
    a_km, b_km = tg.a_km.copy(), tg.b_km.copy()
    a_len, b_len = tg.a_len_km.copy(), tg.b_len_km.copy()
    a, b = tg.a.copy(), tg.b.copy()
    a[inside] = compact[ch.seq[pa]]
    b[inside] = compact[ch.seq[pb]]
    # to a: backwards over the edges at positions pa..p-1; to b: forwards over p..pb-1
    a_min[inside] = along(ch.bwd_min, pa, p, back)
    a_km[inside] = np.where(back, along(ch.bwd_km, pa, p, back), 0.0)
    a_len[inside] = along(ch.bwd_len_km, pa, p, back)
    b_min[inside] = along(ch.fwd_min, p, pb, ahead)
    b_km[inside] = np.where(ahead, along(ch.fwd_km, p, pb, ahead), 0.0)
    b_len[inside] = along(ch.fwd_len_km, p, pb, ahead)
    return _Targets(a=a, b=b, a_min=a_min, b_min=b_min, a_km=a_km, b_km=b_km,
                    a_len_km=a_len, b_len_km=b_len)


@dataclass
class _DenseTrips:
    """Fastest network trips of every demand point x site pair, as dense arrays (row-major).

    minutes : ``inf`` beyond the cutoff or without a road route.
    km : km of that trip (0 where ``minutes`` is ``inf``).
    fast_in_km : the fastest road route is within ``max_km`` (so the shortest one is too).
    """

    minutes: npt.NDArray[np.float64]
    km: npt.NDArray[np.float64]
    fast_in_km: npt.NDArray[np.bool_]


def _network_pairs(
    ga: GraphArrays,
    demand_snap: Snap,
    site_snap: Snap,
    travel: TravelSettings,
    standard: CoverageStandard,
    cutoff: float,
    batch_size: int | None,
    contract: bool = True,
    dense: bool = False,
) -> tuple[dict[str, npt.NDArray[Any]], dict[str, npt.NDArray[Any]], _DenseTrips | None]:
    """Trip pairs over the network: fastest within ``cutoff`` and shortest within ``max_km``.

    With ``contract`` the searches run on the graph contracted to the junctions
    and the snapped nodes (same trips, far fewer nodes on real road graphs).
    With ``dense`` the fastest trips come back as dense demand x site arrays
    (:class:`_DenseTrips`, for instances where most pairs are within reach)
    instead of pair lists.
    """
    d_ok = np.flatnonzero(~demand_snap.too_far)
    s_ok = np.flatnonzero(~site_snap.too_far)
    # points grouped by node: route between nodes, then expand to the points on them
    d_full, d_groups = _group(demand_snap.node[d_ok], d_ok)
    s_full, s_groups = _group(site_snap.node[s_ok], s_ok)
    routing, tg = (_contracted_routing(ga, s_full, d_full) if contract
                   else _full_routing(ga, d_full))
    rev_time, rev_len, edge_km = routing.rev_time, routing.rev_len, routing.edge_km
    n = rev_time.shape[0]
    s_nodes = routing.compact[s_full]
    # the routing-graph nodes whose fastest-trip km the targets need
    ends, end_of = np.unique(np.concatenate([tg.a, tg.b]), return_inverse=True)
    end_a, end_b = end_of[:len(tg.a)], end_of[len(tg.a):]
    acc_d_min = demand_snap.access_min
    acc_d_km = demand_snap.distance_m / 1000.0
    acc_s_min = site_snap.access_min
    acc_s_km = site_snap.distance_m / 1000.0
    n_d, n_s = len(acc_d_min), len(acc_s_min)
    dense_out: _DenseTrips | None = None
    if dense:
        dense_out = _DenseTrips(minutes=np.full((n_d, n_s), np.inf), km=np.zeros((n_d, n_s)),
                                fast_in_km=np.zeros((n_d, n_s), dtype=bool))
        # column of each demand point in the per-batch node results (an extra inf column
        # for points off the network), and the source node of each site
        d_col = np.full(n_d, len(d_full), dtype=np.int64)
        d_col[d_ok] = np.searchsorted(d_full, demand_snap.node[d_ok])
        s_src = np.full(n_s, -1, dtype=np.int64)
        s_src[s_ok] = np.searchsorted(s_full, site_snap.node[s_ok])
    # the most lenient site access per source node bounds each search
    s_min_acc = _group_min(s_groups, acc_s_min)
    s_min_acc_km = _group_min(s_groups, acc_s_km)

    if batch_size is None:
        batch_size = max(1, min(1024, BATCH_CELLS // max(n, 1)))
    t_parts: dict[str, list[npt.NDArray[Any]]] = {"d": [], "s": [], "min": [], "km": []}
    k_parts: dict[str, list[npt.NDArray[Any]]] = {"d": [], "s": [], "km": []}

    def expand(src_rows: npt.NDArray[np.int64], node_cols: npt.NDArray[np.int64],
               src_batch: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], ...]:
        """(source node, demand node) pairs -> (pair index, demand point, site) triples."""
        pair, pts = _expand(d_groups, node_cols, np.arange(len(node_cols), dtype=np.int64))
        pair2, sites = _expand(s_groups, src_batch[src_rows[pair]], np.arange(len(pair)))
        return pair[pair2], pts[pair2], sites

    # identical source nodes share a search; site lists are expanded per pair
    for start in range(0, len(s_nodes), batch_size):
        src = np.arange(start, min(start + batch_size, len(s_nodes)), dtype=np.int64)
        nodes = s_nodes[src]
        # ---- fastest trips within the cutoff
        # pairs per source whose coverage is already settled without the length search
        # ("both": a pair beyond the time cutoff is settled, as not covered)
        n_pairs = _pairs_per_source(s_groups, src, len(d_ok))
        settled = np.zeros(len(src), dtype=np.int64) if standard.rule == "either" else n_pairs
        limit = cutoff - float(s_min_acc[src].min())
        if limit >= 0:
            dist, pred = dijkstra(rev_time, directed=True, indices=nodes,
                                  return_predecessors=True, limit=limit + _EPS)
            sub, use_b = _read_targets(dist, tg.a, tg.b, tg.a_min, tg.b_min)
            end_km = _tree_km(pred, edge_km, ends)
            sub_km = end_km[:, end_a]
            sub_km += tg.a_km[None, :]
            via_b = end_km[:, end_b]
            via_b += tg.b_km[None, :]
            np.copyto(sub_km, via_b, where=use_b)
            del end_km, via_b, use_b
            if dense_out is not None:
                settled = _dense_block(dense_out, sub, sub_km, src, s_src, d_col, acc_d_min,
                                       acc_d_km, acc_s_min, acc_s_km, standard, cutoff,
                                       n_pairs)
            else:
                r, c = np.nonzero(np.isfinite(sub))
                if len(r):
                    net_km = sub_km[r, c]
                    net_min = sub[r, c]
                    pair, pts, sites = expand(r.astype(np.int64), c.astype(np.int64), src)
                    total_min = net_min[pair] + acc_d_min[pts] + acc_s_min[sites]
                    total_km = net_km[pair] + acc_d_km[pts] + acc_s_km[sites]
                    keep = total_min <= cutoff + _EPS
                    t_parts["d"].append(pts[keep])
                    t_parts["s"].append(sites[keep])
                    t_parts["min"].append(total_min[keep])
                    t_parts["km"].append(total_km[keep])
                    if standard.km_measure == "network":
                        # the fastest route is a road route: within max_km by it => within max_km
                        # by the shortest one, with no length search (recorded only where it
                        # decides coverage: outside the minutes for "either", inside for "both")
                        fast_ok = keep & (total_km <= standard.max_km + _EPS)
                        in_time = keep & (total_min <= standard.max_minutes + _EPS)
                        add = fast_ok & (~in_time if standard.rule == "either" else in_time)
                        k_parts["d"].append(pts[add])
                        k_parts["s"].append(sites[add])
                        k_parts["km"].append(total_km[add])
                        if standard.rule == "either":
                            settled = np.bincount(r[pair[in_time | fast_ok]], minlength=len(src))
                        else:
                            open_ = in_time & ~fast_ok
                            settled = n_pairs - np.bincount(r[pair[open_]], minlength=len(src))
            del dist, pred
        # ---- shortest road distance within max_km (for the km rule), only from sources
        # with a pair whose coverage the minutes and the fastest route left open
        if standard.km_measure == "network":
            need = settled < n_pairs
            klimit = standard.max_km - float(s_min_acc_km[src].min())
            if klimit >= 0 and need.any():
                ksrc = src[need]
                kd = dijkstra(rev_len, directed=True, indices=s_nodes[ksrc],
                              limit=klimit + _EPS)
                ksub, _ = _read_targets(kd, tg.a, tg.b, tg.a_len_km, tg.b_len_km)
                r, c = np.nonzero(np.isfinite(ksub))
                if len(r):
                    pair, pts, sites = expand(r.astype(np.int64), c.astype(np.int64), ksrc)
                    total_km = ksub[r, c][pair] + acc_d_km[pts] + acc_s_km[sites]
                    keep = total_km <= standard.max_km + _EPS
                    k_parts["d"].append(pts[keep])
                    k_parts["s"].append(sites[keep])
                    k_parts["km"].append(total_km[keep])
                del kd
            logger.debug("length search from %d of %d source nodes", int(need.sum()), len(src))

    def cat(parts: dict[str, list[npt.NDArray[Any]]], key: str, dtype: Any) -> npt.NDArray[Any]:
        return np.concatenate(parts[key]) if parts[key] else np.empty(0, dtype=dtype)

    timed = {k: cat(t_parts, k, np.int64 if k in "ds" else float) for k in t_parts}
    short = {k: cat(k_parts, k, np.int64 if k in "ds" else float) for k in k_parts}
    return timed, short, dense_out


def _dense_block(
    out: _DenseTrips, sub: npt.NDArray[np.float64], sub_km: npt.NDArray[np.float64],
    src: npt.NDArray[np.int64], s_src: npt.NDArray[np.int64], d_col: npt.NDArray[np.int64],
    acc_d_min: npt.NDArray[np.float64], acc_d_km: npt.NDArray[np.float64],
    acc_s_min: npt.NDArray[np.float64], acc_s_km: npt.NDArray[np.float64],
    standard: CoverageStandard, cutoff: float, n_pairs: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Write the trips from the source nodes ``src`` into ``out``; the pairs per source that
    the minutes and the fastest route settle (see :func:`_network_pairs`)."""
    sites = np.flatnonzero((s_src >= src[0]) & (s_src <= src[-1]))
    if len(sites) == 0:
        return np.asarray(n_pairs, dtype=np.int64)
    rows = s_src[sites] - src[0]
    # demand-major gathers (an extra column for points off the network), then in place
    node_min = np.concatenate([sub, np.full((len(src), 1), np.inf)], axis=1).T[:, rows]
    node_km = np.concatenate([sub_km, np.zeros((len(src), 1))], axis=1).T[:, rows]
    total_min = node_min[d_col]  # (demand, sites in the batch)
    total_min += acc_d_min[:, None]
    total_min += acc_s_min[sites][None, :]
    total_km = node_km[d_col]
    total_km += acc_d_km[:, None]
    total_km += acc_s_km[sites][None, :]
    keep = total_min <= cutoff + _EPS
    total_min[~keep] = np.inf
    total_km[~keep] = 0.0
    every = len(sites) == out.minutes.shape[1]
    if every:  # one batch holds every site (sites in order): no scatter
        out.minutes = total_min
        out.km = total_km
    else:
        out.minutes[:, sites] = total_min
        out.km[:, sites] = total_km
    if standard.km_measure != "network":
        return (np.zeros(len(src), dtype=np.int64) if standard.rule == "either"
                else np.asarray(n_pairs, dtype=np.int64))
    fast_ok = keep & (total_km <= standard.max_km + _EPS)
    if every:
        out.fast_in_km = fast_ok
    else:
        out.fast_in_km[:, sites] = fast_ok
    in_time = total_min <= standard.max_minutes + _EPS
    if standard.rule == "either":
        per_site = (in_time | fast_ok).sum(axis=0)
        return np.bincount(rows, weights=per_site, minlength=len(src)).astype(np.int64)
    open_ = (in_time & ~fast_ok).sum(axis=0)
    return (np.asarray(n_pairs, dtype=np.int64)
            - np.bincount(rows, weights=open_, minlength=len(src)).astype(np.int64))


def _trip_matrices(
    timed: dict[str, npt.NDArray[Any]], wd: npt.NDArray[np.int64], ws: npt.NDArray[np.int64],
    w_min: npt.NDArray[np.float64], w_km: npt.NDArray[np.float64], shape: tuple[int, int],
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Minutes and km CSR of network trips plus straight walks, the faster trip of a pair kept.

    Both inputs hold unique pairs; a pair found by both is two adjacent
    entries, the network one first (ties go to the road, as before).
    """
    rows = np.concatenate([timed["d"], wd]).astype(np.int64)
    cols = np.concatenate([timed["s"], ws]).astype(np.int64)
    mins = np.concatenate([timed["min"], w_min])
    kms = np.concatenate([timed["km"], w_km])
    indptr, indices, perm, repeat = _row_major(rows, cols, shape)
    keep = np.ones(len(perm), dtype=bool)
    dup = np.flatnonzero(repeat)  # a walk right after the network trip of its pair
    walk_better = mins[perm[dup]] < mins[perm[dup - 1]]
    keep[dup[~walk_better]] = False
    keep[dup[walk_better] - 1] = False
    if keep.all():
        sel = perm
        ptr = indptr
        idx = indices
    else:
        row = np.repeat(np.arange(shape[0], dtype=np.int64), np.diff(indptr))
        ptr = np.zeros(shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(row[keep], minlength=shape[0]), out=ptr[1:])
        sel = perm[keep]
        idx = indices[keep]
    minutes = sp.csr_matrix((mins[sel], idx, ptr), shape=shape)
    km = sp.csr_matrix((kms[sel], idx.copy(), ptr.copy()), shape=shape)
    return minutes, km


def _dense_csr(mask: npt.NDArray[np.bool_], values: list[npt.NDArray[Any] | None]) -> list[
        sp.csr_matrix]:
    """CSR matrices of ``values`` at the True cells of ``mask`` (row-major, no sorting);
    ``None`` gives a boolean matrix of the mask."""
    n_r, n_c = mask.shape
    indptr = np.zeros(n_r + 1, dtype=np.int64)
    if mask.all():  # every pair (a dense instance): no search for the cells
        flat = None
        indptr[1:] = np.arange(1, n_r + 1, dtype=np.int64) * n_c
        indices = np.tile(np.arange(n_c, dtype=np.int32), n_r)
    else:
        flat = np.flatnonzero(mask)
        np.cumsum(mask.sum(axis=1), out=indptr[1:])
        indices = (flat % max(n_c, 1)).astype(np.int32)
    out = []
    for v in values:
        if v is None:
            data: npt.NDArray[Any] = np.ones(len(indices), dtype=bool)
        else:
            data = v.ravel().copy() if flat is None else v.ravel()[flat]
        m = sp.csr_matrix((data, indices.copy(), indptr.copy()), shape=(n_r, n_c))
        m.has_sorted_indices = True
        out.append(m)
    return out


def _dense_matrices(
    trips: _DenseTrips, wd: npt.NDArray[np.int64], ws: npt.NDArray[np.int64],
    w_min: npt.NDArray[np.float64], w_km: npt.NDArray[np.float64],
    k_rows: npt.NDArray[np.int64], k_cols: npt.NDArray[np.int64],
    standard: CoverageStandard, cutoff: float,
) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    """Minutes, km and covered CSR from dense network trips plus straight walks (the walk kept
    where strictly faster, as :func:`_trip_matrices` does) and the pairs within ``max_km``."""
    mins, kms = trips.minutes, trips.km
    if len(wd):
        better = w_min < mins[wd, ws]
        mins[wd[better], ws[better]] = w_min[better]
        kms[wd[better], ws[better]] = w_km[better]
    in_cutoff = mins <= cutoff + _EPS
    in_km = trips.fast_in_km
    in_km[k_rows, k_cols] = True
    in_time = mins <= standard.max_minutes + _EPS
    if standard.rule not in ("either", "both"):
        msg = f"unknown coverage rule {standard.rule!r}; expected 'either' or 'both'"
        raise ValueError(msg)
    cov = (in_time | in_km) if standard.rule == "either" else (in_time & in_km)
    minutes, km = _dense_csr(in_cutoff, [mins, kms])
    (covered,) = _dense_csr(cov, [None])
    return minutes, km, covered


def build_coverage(
    demand: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    graph: nx.MultiDiGraph[Any] | None,
    standard: CoverageStandard,
    travel: TravelSettings,
    crs: str,
    cutoff_minutes: float | None = None,
    batch_size: int | None = None,
    contract: bool = True,
    dense: bool | None = None,
    demand_land: npt.NDArray[np.int64] | None = None,
    site_land: npt.NDArray[np.int64] | None = None,
    ferries: FerryLinks | None = None,
) -> CoverageMatrix:
    """Sparse demand x site travel minutes, km and coverage.

    Parameters
    ----------
    demand : demand points (any declared CRS; an ``id`` column names the rows).
    sites : site points in the same CRS (``id`` column names the columns).
    graph : road graph, raw (prepared here for ``travel.mode``) or already
        prepared by :func:`geodata.network.prepare_graph`; ``None`` for the
        straight-line fallback.
    standard : coverage standard (minutes, km, rule, km measure).
    travel : mode, access speed, max snap distance, circuity.
    crs : metric CRS in which distances are measured (UTM 48N/49N).
    cutoff_minutes : bound of the minutes matrix, >= ``standard.max_minutes``
        (default: equal to it); larger for travel-time objectives.
    batch_size : sites per Dijkstra call; default keeps ``batch x nodes`` under
        :data:`BATCH_CELLS` numbers.
    contract : route on the graph contracted to its junctions and the snapped
        nodes (chains of pass-through nodes as single edges); the same trips,
        faster.  ``False`` routes on every node (for checking).
    dense : build the matrices from dense demand x site arrays (``True``) or
        from pair lists (``False``); by default dense when there are at most
        :data:`DENSE_CELLS` pairs.  The same matrices either way.
    demand_land, site_land : land mass of each demand point and site (straight-line
        fallback only, see :func:`geodata.landmass.land_labels`): a pair on
        different land masses is not reachable by land.
    ferries : ferry links (straight-line fallback only): a trip may also be the straight
        line to a pier, crossings (with straight lines between piers of one land mass) and
        the straight line from the last pier, every land leg at the resident's zone speed
        and circuity; the fastest trip counts.  Ignored with a road graph.

    Without a graph, demand points with a ``zone`` column are timed at the
    speed and circuity of their zone (:mod:`geodata.zones`).

    Returns
    -------
    CoverageMatrix

    Raises
    ------
    CRSMismatchError
        If demand and sites have different CRSs or none.
    ValueError
        If demand is not points or the cutoff is below the standard.
    NetworkError
        If the graph cannot be used for the mode.
    """
    t0 = time.perf_counter()
    cutoff = _check_inputs(demand, sites, standard, cutoff_minutes)
    d_xy = points_xy(demand, crs, "demand points")
    s_xy = points_xy(sites, crs, "sites")
    n_d, n_s = len(d_xy), len(s_xy)
    if graph is None:
        zones = demand["zone"] if "zone" in demand.columns else None
        cov = _straight_line_coverage(d_xy, s_xy, point_ids(demand), point_ids(sites), standard, travel,
                                      cutoff, zones=zones,
                                      land=(demand_land, site_land) if demand_land is not None
                                      and site_land is not None else None,
                                      ferries=ferries)
        logger.info("straight-line coverage %d x %d: %d pairs within %.0f min in %.2fs",
                    n_d, n_s, cov.minutes.nnz, cutoff, time.perf_counter() - t0)
        return cov

    prepared = ensure_prepared(graph, travel)
    ga = graph_arrays(prepared, crs)
    d_snap = snap_points(d_xy, ga.xy_m, travel.access_speed_kph, travel.max_snap_m,
                         tree=ga.node_tree)
    s_snap = snap_points(s_xy, ga.xy_m, travel.access_speed_kph, travel.max_snap_m,
                         tree=ga.node_tree)
    if dense is None:
        dense = n_d * n_s <= DENSE_CELLS
    timed, short, trips = _network_pairs(ga, d_snap, s_snap, travel, standard, cutoff,
                                         batch_size, contract, dense)

    # walking the straight line directly (up to max_snap_m), when faster than the road
    walk_m = min(travel.max_snap_m, travel.access_speed_kph * cutoff / 60.0 * 1000.0)
    wd, ws, wm = _straight_pairs(d_xy, s_xy, walk_m)
    w_min = access_minutes(wm, travel.access_speed_kph)
    if standard.km_measure == "network":
        # a straight walk is a route only up to max_snap_m, as an access leg is
        kd_, ks_, _ = _straight_pairs(d_xy, s_xy, min(standard.max_km * 1000.0,
                                                      travel.max_snap_m))
        k_rows = np.concatenate([short["d"], kd_])
        k_cols = np.concatenate([short["s"], ks_])
    else:
        k_rows, k_cols, _ = _straight_pairs(d_xy, s_xy, standard.max_km * 1000.0)
    if trips is not None:
        minutes, km, covered = _dense_matrices(trips, wd, ws, w_min, wm / 1000.0, k_rows,
                                               k_cols, standard, cutoff)
    else:
        minutes, km = _trip_matrices(timed, wd, ws, w_min, wm / 1000.0, (n_d, n_s))
        coo_rows = np.repeat(np.arange(n_d, dtype=np.int64), np.diff(minutes.indptr))
        covered = _covered_matrix(n_d, n_s, coo_rows, minutes.indices.astype(np.int64),
                                  minutes.data <= standard.max_minutes + _EPS,
                                  k_rows, k_cols, standard.rule)
    label = f"road network, {travel.mode}"
    logger.info("network coverage %d x %d (%s): %d pairs within %.0f min, %d covered in %.2fs",
                n_d, n_s, label, minutes.nnz, cutoff, covered.nnz, time.perf_counter() - t0)
    return CoverageMatrix(minutes=minutes, km=km, covered=covered, demand_ids=point_ids(demand),
                          site_ids=point_ids(sites), standard=standard, cutoff_minutes=cutoff,
                          method="network", label=label)


def straight_line_label(travel: TravelSettings) -> str:
    """Label of the no-network fallback, e.g. ``straight line x 1.3 at 30 km/h (no road network)``."""
    speed = straight_line_speed_kph(travel)
    return f"straight line x {travel.circuity:g} at {speed:g} km/h (no road network)"


def _straight_line_coverage(
    d_xy: npt.NDArray[np.float64], s_xy: npt.NDArray[np.float64],
    demand_ids: npt.NDArray[Any], site_ids: npt.NDArray[Any],
    standard: CoverageStandard, travel: TravelSettings, cutoff: float,
    zones: Any = None,
    land: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None,
    ferries: FerryLinks | None = None,
) -> CoverageMatrix:
    from geodata.zones import zone_label, zone_speed_circuity

    speed = straight_line_speed_kph(travel)
    if travel.circuity < 1:
        msg = f"circuity must be >= 1 (road km over straight km), got {travel.circuity}"
        raise ValueError(msg)
    n_d, n_s = len(d_xy), len(s_xy)
    by_zone = zone_speed_circuity(travel, zones, speed) if n_d else None
    if by_zone is not None:
        speeds, circs = by_zone
        label = zone_label(travel, zones, speed)
    else:
        speeds, circs = np.full(n_d, speed), np.full(n_d, travel.circuity)
        label = straight_line_label(travel)
    circ_min = float(circs.min()) if n_d else travel.circuity
    km_radius = standard.max_km / (circ_min if standard.km_measure == "network" else 1.0)
    time_radius = float((speeds / circs).max()) * cutoff / 60.0 if n_d else 0.0
    r, c, m = _straight_pairs(d_xy, s_xy, 1000.0 * max(km_radius, time_radius))
    if land is not None:
        same = land[0][r] == land[1][c]
        r, c, m = r[same], c[same], m[same]
        label = label.removesuffix(" (no road network)") + ", land masses apart unreachable " \
            "(no road network)"
    straight_km = m / 1000.0
    road_km = straight_km * circs[r]
    mins = road_km / speeds[r] * 60.0
    if ferries is not None and len(ferries):
        fr, fc, fmins, froad, fstraight = _ferry_trips(d_xy, s_xy, speeds, circs, cutoff,
                                                       standard, ferries, land)
        r, c = np.concatenate([r, fr]), np.concatenate([c, fc])
        mins, road_km = np.concatenate([mins, fmins]), np.concatenate([road_km, froad])
        straight_km = np.concatenate([straight_km, fstraight])
        label = label.removesuffix(" (no road network)") + f", ferry links: {len(ferries)} " \
            "(no road network)"
    in_time = mins <= cutoff + _EPS
    rule_km = road_km if standard.km_measure == "network" else straight_km
    in_km = rule_km <= standard.max_km + _EPS
    if ferries is not None and len(ferries):
        # a pair may have several trips: the fastest gives minutes and km, and the pair is
        # covered when one of its trips meets the standard
        t_ok = mins <= standard.max_minutes + _EPS
        ok = (t_ok | in_km) if standard.rule == "either" else (t_ok & in_km)
        first = _fastest_trip(r, c, mins, in_time)
        minutes = _csr_from_pairs(r[first], c[first], mins[first], (n_d, n_s))
        km = _csr_from_pairs(r[first], c[first], road_km[first], (n_d, n_s))
        covered = _covered_matrix(n_d, n_s, r[:0], c[:0], np.zeros(0, dtype=bool),
                                  r[ok], c[ok], "either")
    else:
        minutes = _csr_from_pairs(r[in_time], c[in_time], mins[in_time], (n_d, n_s))
        km = _csr_from_pairs(r[in_time], c[in_time], road_km[in_time], (n_d, n_s))
        covered = _covered_matrix(n_d, n_s, r[in_time], c[in_time],
                                  mins[in_time] <= standard.max_minutes + _EPS,
                                  r[in_km], c[in_km], standard.rule)
    return CoverageMatrix(minutes=minutes, km=km, covered=covered, demand_ids=demand_ids,
                          site_ids=site_ids, standard=standard, cutoff_minutes=cutoff,
                          method="straight-line", label=label)


def _fastest_trip(r: npt.NDArray[np.int64], c: npt.NDArray[np.int64],
                  mins: npt.NDArray[np.float64], keep: npt.NDArray[np.bool_]
                  ) -> npt.NDArray[np.int64]:
    """Indices of the fastest of the kept trips of each (row, col) pair."""
    idx = np.flatnonzero(keep)
    order = idx[np.lexsort((mins[idx], c[idx], r[idx]))]
    if len(order) == 0:
        return order.astype(np.int64)
    new = np.ones(len(order), dtype=bool)
    new[1:] = (r[order][1:] != r[order][:-1]) | (c[order][1:] != c[order][:-1])
    return order[new].astype(np.int64)


def _pier_paths(pier_xy: npt.NDArray[np.float64], pier_land: npt.NDArray[np.int64],
                crossing: npt.NDArray[np.float64], rate: float
                ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64],
                           npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Fastest pier-to-pier trips for one speed: piers ``2k`` and ``2k + 1`` are the ends of
    ferry ``k`` (``crossing[k]`` minutes); piers on one land mass are joined by the straight
    line at ``rate`` straight km per hour.  Returns minutes, crossing minutes, crossing km and
    land km of the fastest trip between every two piers (``inf`` when none)."""
    from scipy.sparse.csgraph import dijkstra as _dijkstra

    n = len(pier_xy)
    gap_km = np.hypot(*(pier_xy[:, None, :] - pier_xy[None, :, :]).transpose(2, 0, 1)) / 1000.0
    w = np.full((n, n), np.inf)
    kind = np.zeros((n, n), dtype=np.int8)  # 1: land leg, 2: crossing
    same = pier_land[:, None] == pier_land[None, :]
    w[same] = gap_km[same] / rate * 60.0
    kind[same] = 1
    for k, f in enumerate(crossing.tolist()):
        a, b = 2 * k, 2 * k + 1
        if f < w[a, b]:
            w[a, b] = w[b, a] = f
            kind[a, b] = kind[b, a] = 2
    np.fill_diagonal(w, np.inf)
    # csgraph drops explicit zeros: a bridge of 0 minutes or two piers at one place count
    w_graph = np.where(np.isfinite(w), np.maximum(w, 1e-9), 0.0)
    minutes, pred = _dijkstra(sp.csr_matrix(w_graph), directed=False, return_predecessors=True)
    cross_min = np.zeros((n, n))
    cross_km = np.zeros((n, n))
    land_km = np.zeros((n, n))
    for src in range(n):
        for dst in range(n):
            if src == dst or not np.isfinite(minutes[src, dst]):
                continue
            node = dst
            while node != src:
                prev = int(pred[src, node])
                if kind[prev, node] == 2:
                    cross_min[src, dst] += w[prev, node]
                    cross_km[src, dst] += gap_km[prev, node]
                else:
                    land_km[src, dst] += gap_km[prev, node]
                node = prev
    # the 1e-9 stand-ins for zero: recompute minutes from the path's parts
    minutes = np.where(np.isfinite(minutes), land_km / rate * 60.0 + cross_min, np.inf)
    return minutes, cross_min, cross_km, land_km


def _ferry_trips(
    d_xy: npt.NDArray[np.float64], s_xy: npt.NDArray[np.float64],
    speeds: npt.NDArray[np.float64], circs: npt.NDArray[np.float64], cutoff: float,
    standard: CoverageStandard, ferries: FerryLinks,
    land: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64],
           npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Trips over the ferries: the straight line x circuity to a pier at the resident's zone
    speed, then crossings (and straight lines between piers of one land mass, at the same
    speed) to a pier, then on from there to the site.  Only trips within ``cutoff`` minutes
    are returned: (rows, cols, minutes, road km, straight km); the km of a trip count each
    crossing's straight line once."""
    n_f = len(ferries)
    pier_xy = np.empty((2 * n_f, 2))
    pier_xy[0::2], pier_xy[1::2] = ferries.a_xy, ferries.b_xy
    if land is not None and ferries.a_land is not None and ferries.b_land is not None:
        pier_land = np.empty(2 * n_f, dtype=np.int64)
        pier_land[0::2], pier_land[1::2] = ferries.a_land, ferries.b_land
        d_land, s_land = land
    else:  # land masses unknown: every pier is reached over land
        pier_land = np.zeros(2 * n_f, dtype=np.int64)
        d_land = np.zeros(len(d_xy), dtype=np.int64)
        s_land = np.zeros(len(s_xy), dtype=np.int64)
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    out_min: list[npt.NDArray[np.float64]] = []
    out_road: list[npt.NDArray[np.float64]] = []
    out_straight: list[npt.NDArray[np.float64]] = []
    groups: Any = np.unique(np.column_stack([speeds, circs]), axis=0) if len(d_xy) else []
    for speed, circ in groups:
        rate = float(speed) / float(circ)  # straight km per hour
        t_pp, _, x_km, l_km = _pier_paths(pier_xy, pier_land, ferries.minutes, rate)
        np.fill_diagonal(t_pp, 0.0)
        dd = np.flatnonzero((speeds == speed) & (circs == circ))
        leg1 = np.hypot(*(d_xy[dd][:, None, :] - pier_xy[None, :, :]).transpose(2, 0, 1)) / 1000.0
        leg1[d_land[dd][:, None] != pier_land[None, :]] = np.inf
        t1 = leg1 / rate * 60.0
        # arrival at each pier q: the best first pier p
        arrive = np.full((len(dd), 2 * n_f), np.inf)
        first = np.zeros((len(dd), 2 * n_f), dtype=np.int64)
        for p in range(2 * n_f):
            t = t1[:, p, None] + t_pp[p][None, :]
            better = t < arrive
            arrive[better] = t[better]
            first[better] = p
        for q in range(2 * n_f):
            ok = arrive[:, q] <= cutoff + _EPS
            if not ok.any():
                continue
            on = np.flatnonzero(s_land == pier_land[q])
            leg2 = np.hypot(*(s_xy[on] - pier_xy[q]).T) / 1000.0
            slack = cutoff - float(arrive[ok, q].min())
            near = leg2 / rate * 60.0 <= slack + _EPS
            on, leg2 = on[near], leg2[near]
            if not len(on):
                continue
            di = np.flatnonzero(ok)
            t = arrive[di, q][:, None] + leg2[None, :] / rate * 60.0
            p = first[di, q]
            land_km = leg1[di, p][:, None] + l_km[p, q][:, None] + leg2[None, :]
            cross = x_km[p, q][:, None]
            i, j = np.nonzero(t <= cutoff + _EPS)
            rows.append(dd[di[i]].astype(np.int64))
            cols.append(on[j].astype(np.int64))
            out_min.append(t[i, j])
            out_road.append(land_km[i, j] * float(circ) + cross[i, 0])
            out_straight.append(land_km[i, j] + cross[i, 0])
    if not rows:
        e = np.empty(0, dtype=np.int64)
        z = np.empty(0)
        return e, e, z, z, z
    return (np.concatenate(rows), np.concatenate(cols), np.concatenate(out_min),
            np.concatenate(out_road), np.concatenate(out_straight))


# --------------------------------------------------------------------------- queries

def nearest_sites(cov: CoverageMatrix, site_mask: npt.ArrayLike | None = None) -> pd.DataFrame:
    """Nearest site (by minutes) of every demand point among the sites in ``site_mask``.

    Returns
    -------
    pd.DataFrame
        One row per demand point: ``demand_id``, ``nearest_site_id`` (``None``
        when no site is within the cutoff), ``minutes`` and ``km`` (``inf``
        when none) and ``covered`` (within the standard of any masked site).
    """
    n_d, n_s = cov.shape
    mask = np.ones(n_s, dtype=bool) if site_mask is None else np.asarray(site_mask, dtype=bool)
    if mask.shape != (n_s,):
        msg = f"site_mask has shape {mask.shape}, expected ({n_s},)"
        raise ValueError(msg)
    coo = cov.minutes.tocoo()
    keep = mask[coo.col]
    r, c, v = coo.row[keep], coo.col[keep], coo.data[keep]
    order = np.lexsort((c, v, r))
    r, c, v = r[order], c[order], v[order]
    first = np.ones(len(r), dtype=bool)
    first[1:] = r[1:] != r[:-1]
    minutes = np.full(n_d, np.inf)
    km = np.full(n_d, np.inf)
    site_idx = np.full(n_d, -1, dtype=np.int64)
    minutes[r[first]] = v[first]
    site_idx[r[first]] = c[first]
    has = site_idx >= 0
    if has.any():
        km[has] = np.asarray(cov.km[np.flatnonzero(has), site_idx[has]]).ravel()
    cov_m = cov.covered.tocoo()
    covered = np.zeros(n_d, dtype=bool)
    covered[cov_m.row[mask[cov_m.col] & cov_m.data.astype(bool)]] = True
    ids = np.array([cov.site_ids[i] if i >= 0 else None for i in site_idx], dtype=object)
    return pd.DataFrame({"demand_id": cov.demand_ids,
                         "nearest_site_id": pd.Series(ids, dtype=object),
                         "minutes": minutes, "km": km, "covered": covered})


def site_to_site_minutes(
    sites: gpd.GeoDataFrame,
    graph: nx.MultiDiGraph[Any] | None,
    travel: TravelSettings,
    crs: str,
) -> npt.NDArray[np.float64]:
    """Dense minutes from site i (row) to site j (column), ``np.inf`` when unreachable.

    Same trip model as :func:`build_coverage` (access legs, direct walking,
    sites beyond ``max_snap_m`` off the network) with no cutoff.  Without a
    graph: straight km x circuity at the straight-line speed.
    """
    s_xy = points_xy(sites, crs, "sites")
    n = len(s_xy)
    diff = s_xy[:, None, :] - s_xy[None, :, :]
    straight_m = np.sqrt((diff ** 2).sum(axis=2))
    if graph is None:
        speed = straight_line_speed_kph(travel)
        fallback: npt.NDArray[np.float64] = straight_m / 1000.0 * travel.circuity / speed * 60.0
        return fallback
    prepared = ensure_prepared(graph, travel)
    ga = graph_arrays(prepared, crs)
    snap = snap_points(s_xy, ga.xy_m, travel.access_speed_kph, travel.max_snap_m,
                       tree=ga.node_tree)
    out = np.full((n, n), np.inf)
    ok = np.flatnonzero(~snap.too_far)
    if len(ok):
        nodes, inv = np.unique(snap.node[ok], return_inverse=True)
        dist = dijkstra(ga.time_min, directed=True, indices=nodes)  # forward: from site i
        net = dist[inv][:, nodes[inv]]
        out[np.ix_(ok, ok)] = (net + snap.access_min[ok][:, None] + snap.access_min[ok][None, :])
    walk = np.where(straight_m <= travel.max_snap_m,
                    access_minutes(straight_m, travel.access_speed_kph), np.inf)
    out = np.asarray(np.minimum(out, walk), dtype=float)
    np.fill_diagonal(out, 0.0)
    return out


# --------------------------------------------------------------------------- scenario

@dataclass(frozen=True)
class CoverageReport:
    """What a planner should know about how a coverage matrix was built.

    method, label : as in :class:`CoverageMatrix`.
    network : the :class:`NetworkReport` (nodes/edges kept and dropped), if a network was used.
    stranded_population : people whose nearest road node lies in a dropped
        disconnected part (they are routed from the kept network instead).
    far_demand : demand points farther than ``max_snap_m`` from the network
        (``id``, ``population``, ``snap_m``); they reach only sites within
        ``max_snap_m``, on foot in a straight line.
    far_sites : sites farther than ``max_snap_m`` (``id``, ``snap_m``).
    roads : where the roads came from (file, place, or ``None``).
    build_s : seconds spent building; ``from_cache``: read from the cache.
    far_unreached_points, far_unreached_population : the far demand points that
        reach no site at all within ``cutoff_minutes`` (on foot within ``max_snap_m``).
    warnings : what the road network misses (:func:`geodata.snapping.reach_problems`):
        every command prints them.
    """

    method: Method
    label: str
    network: NetworkReport | None
    stranded_population: float
    stranded_points: int
    far_demand: pd.DataFrame
    far_sites: pd.DataFrame
    roads: str | None
    build_s: float
    from_cache: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    far_unreached_points: int = 0
    far_unreached_population: float = 0.0
    cutoff_minutes: float = 0.0
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def far_population(self) -> float:
        return float(self.far_demand["population"].sum()) if len(self.far_demand) else 0.0

    def summary_lines(self) -> list[str]:
        """Plain-language lines for the command line and the app."""
        lines = [f"method: {self.label}"]
        if self.network is not None:
            lines.append(self.network.summary())
        if self.stranded_points:
            lines.append(f"{self.stranded_points:,} demand points ({self.stranded_population:,.0f} "
                         "people) are nearest to a dropped disconnected part of the network")
        if len(self.far_demand):
            lines.append(f"{len(self.far_demand):,} demand points ({self.far_population:,.0f} "
                         "people) are farther than max_snap_m from any road: "
                         "no road route, only sites within max_snap_m on foot; "
                         f"{self.far_unreached_points:,} of them "
                         f"({self.far_unreached_population:,.0f} people) reach no site within "
                         f"{self.cutoff_minutes:g} min")
        if len(self.far_sites):
            ids = ", ".join(map(str, self.far_sites["id"].tolist()[:10]))
            lines.append(f"{len(self.far_sites)} sites are farther than max_snap_m from any road: "
                         f"{ids}")
        lines.extend(self.notes)
        return lines


@dataclass(frozen=True)
class ScenarioCoverage:
    """Coverage of a scenario: matrix, the demand points and sites used, and the report.

    demand : demand points (EPSG:4326) in matrix row order, with ``id``,
        ``population``, ``commune_code``, ``commune_name``, ``snap_m``
        (metres to the nearest road node; ``nan`` without network) and ``far_from_road``.
    sites : sites (EPSG:4326) in matrix column order, with ``snap_m`` likewise.
    """

    matrix: CoverageMatrix
    demand: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    report: CoverageReport


def _stranded(prepared: nx.MultiDiGraph[Any], raw: nx.MultiDiGraph[Any], dropped: list[Any],
              d_xy: npt.NDArray[np.float64], crs: str) -> npt.NDArray[np.bool_]:
    """Demand points whose nearest node among kept + dropped nodes is a dropped one."""
    from geodata.network import project_xy

    if not dropped:
        return np.zeros(len(d_xy), dtype=bool)
    kept = list(prepared.nodes)
    allnodes = kept + dropped
    xs = np.array([raw.nodes[nd]["x"] for nd in allnodes], dtype=float)
    ys = np.array([raw.nodes[nd]["y"] for nd in allnodes], dtype=float)
    xy = project_xy(xs, ys, raw.graph.get("crs", WGS84), crs)
    _, idx = KDTree(xy).query(d_xy, k=1)
    return np.asarray(idx) >= len(kept)


def _scenario_key(scenario: Scenario, demand: gpd.GeoDataFrame, travel: TravelSettings,
                  standard: CoverageStandard, cutoff: float | None) -> str:
    from geodata.cache import file_digest, hash_parts

    roads: str | None = None
    if scenario.roads_path is not None:
        roads = file_digest(scenario.roads_path)
    elif scenario.settings.files.place:
        roads = "place:" + scenario.settings.files.place
    sites = scenario.sites
    return hash_parts(
        CACHE_VERSION, scenario.settings.crs, roads, repr(asdict(travel)), repr(asdict(standard)),
        repr(cutoff), demand["id"].astype(str).tolist(),
        demand["population"].astype(float).tolist(), demand.geometry.to_wkb().tolist(),
        sites["id"].astype(str).tolist(), sites.geometry.to_wkb().tolist(),
        demand["zone"].astype(str).tolist() if "zone" in demand.columns else None,
        file_digest(scenario.communes_path) if scenario.communes_path is not None else None,
        scenario.ferries.astype(str).to_numpy().tolist() if len(scenario.ferries) else None,
    )


def coverage_for_scenario(
    scenario: Scenario,
    mode: str | None = None,
    standard: CoverageStandard | None = None,
    cutoff_minutes: float | None = None,
    cache_dir: Path | None = None,
    use_cache: bool = True,
) -> ScenarioCoverage:
    """Coverage of every demand point by every site of a scenario, cached on disk.

    Parameters
    ----------
    scenario : a loaded scenario.
    mode : travel mode overriding the scenario's.
    standard : coverage standard overriding the scenario's.
    cutoff_minutes : bound of the minutes matrix (default the standard's minutes).
    cache_dir : cache folder; default :func:`geodata.cache.default_cache_dir`.
    use_cache : read and write the cache (keyed by every input that matters).

    Returns
    -------
    ScenarioCoverage
    """
    from geodata.cache import default_cache_dir, read_pickle, write_pickle
    t0 = time.perf_counter()
    travel = scenario.settings.travel
    if mode is not None:
        travel = replace(travel, mode=mode)
    standard = standard or scenario.settings.coverage
    crs = scenario.settings.crs
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()

    raw_demand = scenario.demand
    key = _scenario_key(scenario, raw_demand, travel, standard, cutoff_minutes)
    path = cache_dir / f"coverage_{key}.pkl"
    if use_cache:
        cached = read_pickle(path)
        if isinstance(cached, ScenarioCoverage):
            logger.info("coverage read from cache %s", path)
            # the key holds what travel times depend on (ids, places, roads, standard),
            # not the sites' other columns: status, kind, capacity and opening cost are
            # the scenario's as it is now (a site closed since the cache was written
            # must stay closed), with the cached snapping columns added back
            fresh = scenario.sites.assign(
                **{col: cached.sites[col].to_numpy() for col in ("snap_m", "far_from_road")})
            demand = cached.demand
            if len(demand) == len(raw_demand) and (
                    demand["id"].astype(str).to_numpy()
                    == raw_demand["id"].astype(str).to_numpy()).all():
                # same points in the same order: names and communes as they are now
                names = [c for c in raw_demand.columns
                         if c != raw_demand.geometry.name and c in demand.columns]
                demand = demand.assign(**{c: raw_demand[c].to_numpy() for c in names})
            return replace(cached, sites=fresh, demand=demand,
                           report=replace(cached.report, from_cache=True))

    checked = scenario_roads(scenario, travel, cache_dir)
    raw, prepared, roads = checked.raw, checked.prepared, checked.source
    demand = checked.demand
    sites = scenario.sites
    notes: list[str] = []
    if raw is None or prepared is None:
        net_rep = None
        stranded = np.zeros(len(demand), dtype=bool)
        max_snap = np.inf
    else:
        net_rep = network_report(prepared)
        dropped = prepared.graph.get("motcua_dropped_nodes", [])
        stranded = _stranded(prepared, raw, dropped, points_xy(demand, crs, "demand points"), crs)
        max_snap = travel.max_snap_m
    d_snap_m, s_snap_m = checked.demand_snap_m, checked.site_snap_m
    d_land = s_land = None
    ferries: FerryLinks | None = None
    if raw is None and (scenario.communes_path is not None or len(scenario.ferries)):
        d_xy = points_xy(demand, crs, "demand points")
        s_xy = points_xy(sites, crs, "sites")
        d_land, s_land, ferries, land_notes = _land(scenario, d_xy, s_xy, demand, sites)
        notes.extend(land_notes)
    elif len(scenario.ferries):
        notes.append(f"ferry links: {len(scenario.ferries)} in [files] ferries, not used: with a "
                     "road network a crossing is an edge of the network (OSM route=ferry)")
    matrix = build_coverage(demand, sites, prepared, standard, travel, crs,
                            cutoff_minutes=cutoff_minutes, demand_land=d_land, site_land=s_land,
                            ferries=ferries)
    demand = demand.assign(snap_m=d_snap_m, far_from_road=d_snap_m > max_snap)
    sites = sites.assign(snap_m=s_snap_m, far_from_road=s_snap_m > max_snap)
    far = demand["far_from_road"].to_numpy(dtype=bool)
    unreached = far & (np.diff(matrix.minutes.indptr) == 0)
    far_d = demand.loc[far, ["id", "population", "snap_m"]]
    far_s = sites.loc[sites["far_from_road"], ["id", "snap_m"]]
    population = demand["population"].to_numpy(dtype=float)
    report = CoverageReport(
        method=matrix.method, label=matrix.label, network=net_rep,
        stranded_population=float(population[stranded].sum()),
        stranded_points=int(stranded.sum()),
        far_demand=pd.DataFrame(far_d).reset_index(drop=True),
        far_sites=pd.DataFrame(far_s).reset_index(drop=True),
        roads=roads, build_s=time.perf_counter() - t0, notes=tuple(notes),
        far_unreached_points=int(unreached.sum()),
        far_unreached_population=float(population[unreached].sum()),
        cutoff_minutes=matrix.cutoff_minutes, warnings=checked.warnings,
    )
    result = ScenarioCoverage(matrix=matrix, demand=demand, sites=sites, report=report)
    if use_cache:
        write_pickle(result, path)
    return result



def _ferry_links(scenario: Scenario, parts: npt.NDArray[np.object_] | None) -> FerryLinks | None:
    """The scenario's ferry links in its metric CRS, each pier on its land mass."""
    from geodata.landmass import land_labels

    table = scenario.ferries
    if not len(table):
        return None
    crs = scenario.settings.crs
    ends = []
    for end in ("from", "to"):
        pts = gpd.GeoSeries(gpd.points_from_xy(table[f"{end}_lon"].to_numpy(float),
                                               table[f"{end}_lat"].to_numpy(float)), crs=WGS84)
        ends.append(points_xy(gpd.GeoDataFrame(geometry=pts), crs, "ferry piers"))
    a_land = b_land = None
    if parts is not None:
        a_land, b_land = land_labels(ends[0], parts), land_labels(ends[1], parts)
    return FerryLinks(a_xy=ends[0], b_xy=ends[1], minutes=table["minutes"].to_numpy(float),
                      a_land=a_land, b_land=b_land)


def _land(scenario: Scenario, d_xy: npt.NDArray[np.float64], s_xy: npt.NDArray[np.float64],
          demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame,
          ) -> tuple[npt.NDArray[np.int64] | None, npt.NDArray[np.int64] | None,
                     FerryLinks | None, list[str]]:
    """Land mass labels of demand and sites, the ferry links, and notes on residents no
    existing site can reach by land or by one ferry crossing."""
    from geodata.landmass import SNAP_M, land_labels, land_masses, read_communes

    parts = None
    if scenario.communes_path is not None:
        parts = land_masses(read_communes(scenario.communes_path), scenario.settings.crs)
        if len(parts) <= 1:
            parts = None
    ferries = _ferry_links(scenario, parts)
    n_ferries = len(ferries) if ferries is not None else 0
    if parts is None:
        notes = [f"ferry links: {n_ferries} (no land masses known: the straight line may "
                 "cross water too)"] if n_ferries else []
        return None, None, ferries, notes
    d_land, s_land = land_labels(d_xy, parts), land_labels(s_xy, parts)
    existing = existing_site_mask(sites)
    served = set(s_land[existing].tolist())
    joined: dict[int, set[int]] = {}
    notes = [f"land masses: {len(parts)} (mainland and islands, from the commune polygons); "
             + (f"without roads a trip crosses water only by the {n_ferries} ferry links of "
                "[files] ferries" if n_ferries else
                "without roads a trip cannot cross water and no ferry links are given")]
    if ferries is not None:
        assert ferries.a_land is not None and ferries.b_land is not None
        for k, (a, b) in enumerate(zip(ferries.a_land.tolist(), ferries.b_land.tolist(),
                                       strict=True)):
            joined.setdefault(a, set()).add(b)
            joined.setdefault(b, set()).add(a)
            for end, lab in (("from", a), ("to", b)):
                if lab < 0:
                    notes.append(f"ferry link row {k + 2}: its {end} pier is more than "
                                 f"{SNAP_M / 1000:g} km from every land mass; it joins nothing")
    # land masses joined by ferries, over any number of crossings
    reach: dict[int, set[int]] = {}
    for start in joined:
        if start in reach:
            continue
        group, todo = {start}, [start]
        while todo:
            for nxt in joined.get(todo.pop(), set()) - group:
                group.add(nxt)
                todo.append(nxt)
        for member in group:
            reach[member] = group
    population = demand["population"].to_numpy(float)
    for label in np.unique(d_land):
        if label in served or reach.get(int(label), set()) & served:
            continue
        at = d_land == label
        names = sorted(set(demand.loc[at, "commune_name"].astype(str)) - {""}) \
            if "commune_name" in demand.columns else []
        notes.append(f"unreachable by land: {int(at.sum()):,} demand points "
                     f"({population[at].sum():,.0f} people) on a land mass with no existing site"
                     + (f" ({', '.join(names[:5])})" if names else "")
                     + "; add a site there or a ferry link")
    return d_land, s_land, ferries, notes


def existing_site_mask(sites: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Existing sites: kind ``branch`` or ``reception`` and status not ``closed``."""
    kind = sites["kind"].astype(str) if "kind" in sites.columns else pd.Series("branch",
                                                                               index=sites.index)
    status = (sites["status"].astype(str) if "status" in sites.columns
              else pd.Series("optional", index=sites.index))
    return np.asarray(kind.isin(["branch", "reception"]) & (status != "closed"), dtype=bool)


def covered_population(sc: ScenarioCoverage,
                       site_mask: npt.ArrayLike | None = None) -> pd.DataFrame:
    """Population within the standard of the masked sites, per commune and in total.

    Returns
    -------
    pd.DataFrame
        Columns ``commune_code``, ``commune_name``, ``population``, ``covered``,
        ``share`` (0-1); the last row, ``commune_code == "TOTAL"``, sums them.
    """
    near = nearest_sites(sc.matrix, site_mask)
    demand = sc.demand
    frame = pd.DataFrame({
        "commune_code": (demand["commune_code"] if "commune_code" in demand.columns
                         else pd.Series("", index=demand.index)).fillna("").astype(str).to_numpy(),
        "commune_name": (demand["commune_name"] if "commune_name" in demand.columns
                         else pd.Series("", index=demand.index)).fillna("").astype(str).to_numpy(),
        "population": demand["population"].to_numpy(dtype=float),
    })
    frame["covered"] = np.where(near["covered"].to_numpy(), frame["population"], 0.0)
    per = (frame.groupby(["commune_code", "commune_name"], sort=True, dropna=False)
           [["population", "covered"]].sum().reset_index())
    total = pd.DataFrame({"commune_code": ["TOTAL"], "commune_name": ["total"],
                          "population": [per["population"].sum()],
                          "covered": [per["covered"].sum()]})
    out = pd.concat([per, total], ignore_index=True)
    pop = out["population"].to_numpy(dtype=float)
    out["share"] = np.divide(out["covered"].to_numpy(dtype=float), pop,
                             out=np.zeros(len(out)), where=pop > 0)
    return out
