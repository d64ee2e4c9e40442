"""Areal interpolation from finer units conserves each source's whole persons.

Squares in UTM 48N metres; the allocations are worked out by hand in the comments.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from geodata.interpolate import interpolate_population

UTM48 = "EPSG:32648"
X0, Y0 = 750_000.0, 2_358_000.0


def _boxes(spans: list[tuple[float, float, float, float]], **cols: list[float]) -> gpd.GeoDataFrame:
    geoms = [box(X0 + a, Y0 + b, X0 + c, Y0 + d) for a, b, c, d in spans]
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=UTM48)


def test_two_wards_into_two_communes_by_hand() -> None:
    # ward A (0-1 km) has 101 people, ward B (1-2 km) 50; commune T1 covers A and the west
    # half of B, T2 the east half of B: T1 = 101 + 25, T2 = 25
    src = _boxes([(0, 0, 1000, 1000), (1000, 0, 2000, 1000)], pop=[101.0, 50.0])
    tgt = _boxes([(0, 0, 1500, 1000), (1500, 0, 2000, 1000)])
    r = interpolate_population(src, tgt.to_crs("EPSG:4326"), "pop", UTM48)
    assert r.target_population.tolist() == [126, 25]
    assert r.outside.tolist() == [0, 0]
    assert r.pieces[["source", "target", "population"]].values.tolist() == [
        [0, 0, 101], [1, 0, 25], [1, 1, 25]]
    assert r.pieces["area_km2"].tolist() == pytest.approx([1.0, 0.5, 0.5])
    assert r.estimate.tolist() == pytest.approx([126.0, 25.0])


def test_odd_persons_are_rounded_by_largest_remainder_per_source() -> None:
    # 7 people over three equal thirds: 2.33 each -> 2, 2, 2 plus the 1 left to the first
    src = _boxes([(0, 0, 3000, 1000)], pop=[7.0])
    tgt = _boxes([(0, 0, 1000, 1000), (1000, 0, 2000, 1000), (2000, 0, 3000, 1000)])
    r = interpolate_population(src, tgt, "pop", UTM48)
    assert r.target_population.tolist() == [3, 2, 2]
    assert int(r.target_population.sum()) == 7


def test_coast_mismatch_is_allocated_in_full_but_a_neighbour_ward_only_by_share() -> None:
    # ward 0: 80 % covered (the rest is sea in the target file) -> all 10 persons allocated;
    # ward 1: 20 % covered (a ward of the next province touching the border) -> 2 of 10,
    # the other 8 reported outside
    src = _boxes([(0, 0, 1000, 1000), (5000, 0, 6000, 1000)], pop=[10.0, 10.0])
    tgt = _boxes([(0, 0, 800, 1000), (5000, 0, 5200, 1000)])
    r = interpolate_population(src, tgt, "pop", UTM48)
    assert r.target_population.tolist() == [10, 2]
    assert r.outside.tolist() == [0, 8]
    assert r.covered_share.tolist() == pytest.approx([0.8, 0.2])


def test_source_touching_no_target_is_all_outside_and_nan_counts_as_zero() -> None:
    src = _boxes([(0, 0, 1000, 1000), (9000, 0, 9500, 500), (0, 2000, 100, 2100)],
                 pop=[12.0, 5.0, float("nan")])
    tgt = _boxes([(0, 0, 1000, 1000), (0, 2000, 1000, 3000)])
    r = interpolate_population(src, tgt, "pop", UTM48)
    assert r.target_population.tolist() == [12, 0]
    assert r.outside.tolist() == [0, 5, 0]


def _cuts(draw: st.DrawFn, n: int) -> list[float]:
    inner = draw(st.lists(st.integers(1, 99), min_size=n, max_size=n, unique=True))
    return [0.0, *sorted(float(c) * 100 for c in inner), 10_000.0]


@st.composite
def partitions(draw: st.DrawFn) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Sources: vertical strips cut into cells; targets: a different grid of the same 10 km box."""
    sx, sy = _cuts(draw, draw(st.integers(0, 5))), _cuts(draw, draw(st.integers(0, 3)))
    tx, ty = _cuts(draw, draw(st.integers(0, 4))), _cuts(draw, draw(st.integers(0, 4)))
    src_spans = [(a, b, c, d) for a, c in zip(sx, sx[1:], strict=False)
                 for b, d in zip(sy, sy[1:], strict=False)]
    pops = draw(st.lists(st.integers(0, 50_000), min_size=len(src_spans), max_size=len(src_spans)))
    tgt_spans = [(a, b, c, d) for a, c in zip(tx, tx[1:], strict=False)
                 for b, d in zip(ty, ty[1:], strict=False)]
    return _boxes(src_spans, pop=[float(p) for p in pops]), _boxes(tgt_spans)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(partitions(), st.floats(0.0, 0.9))
def test_every_source_is_conserved_to_the_person(parts: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
                                                 shift: float) -> None:
    src, tgt = parts
    # shift the targets east by up to 9 km: some sources fall partly or wholly outside them
    tgt = tgt.set_geometry(tgt.geometry.translate(xoff=shift * 10_000.0))
    r = interpolate_population(src, tgt, "pop", UTM48)
    contributed = np.bincount(r.pieces["source"].to_numpy(), minlength=len(src),
                              weights=r.pieces["population"].to_numpy())
    # each source: sum over targets of its contribution + persons left outside == its population
    assert (contributed.astype(np.int64) + r.outside == src["pop"].to_numpy().astype(np.int64)).all()
    assert (r.outside >= 0).all() and (r.pieces["population"] >= 0).all()
    assert int(r.target_population.sum()) + int(r.outside.sum()) == int(src["pop"].sum())
    if shift == 0.0:
        # the targets tile the sources: nobody is left outside, and the whole persons differ
        # from tobler's unrounded estimate by less than one person per contributing source
        assert int(r.outside.sum()) == 0
        per_target = np.bincount(r.pieces["target"].to_numpy(), minlength=len(tgt))
        assert (np.abs(r.target_population - r.estimate) <= per_target + 1e-6).all()
