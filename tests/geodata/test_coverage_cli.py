"""``motcua coverage``: printed figures agree with the matrix; outputs readable; bad options named."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import scipy.sparse as sp

from geodata.coverage import coverage_for_scenario, existing_site_mask
from geodata.scenario import load_scenario
from motcua.cli import main


def test_demo_coverage_prints_totals_and_writes_outputs(
        demo_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "cache"
    gj = tmp_path / "near.geojson"
    assert main(["coverage", str(demo_dir), "--cache-dir", str(cache), "--out", str(gj)]) == 0
    out = capsys.readouterr().out
    assert "method: road network, motorbike" in out
    assert "SYNTHETIC" in out
    # the printed total equals the covered population computed from the matrix
    sc = coverage_for_scenario(load_scenario(demo_dir), cache_dir=cache)
    assert sc.report.from_cache
    mask = existing_site_mask(sc.sites)
    pop = sc.demand["population"].to_numpy()
    reached = np.asarray(sc.matrix.covered[:, mask].sum(axis=1)).ravel() > 0
    assert f"population covered: {pop[reached].sum():,.0f} of {pop.sum():,.0f}" in out
    assert "per commune:" in out
    near = gpd.read_file(gj)
    assert len(near) == len(sc.demand)
    assert set(near.columns) >= {"nearest_site_id", "minutes", "km", "covered", "method"}
    assert (near.loc[near["covered"], "population"].sum()) == pytest.approx(pop[reached].sum())

    npz = tmp_path / "m.npz"
    assert main(["coverage", str(demo_dir), "--cache-dir", str(cache), "--mode", "walk",
                 "--minutes", "20", "--km", "2", "--out", str(npz)]) == 0
    assert "method: road network, walk" in capsys.readouterr().out
    z = np.load(npz)
    m = sp.csr_matrix((z["minutes_data"], z["minutes_indices"], z["minutes_indptr"]),
                      shape=tuple(z["minutes_shape"]))
    assert m.shape == (len(sc.demand), len(sc.sites))
    assert m.nnz and m.data.max() <= 20 + 1e-9


def test_bad_options_are_named(demo_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coverage", str(demo_dir), "--minutes", "-3"]) == 1
    assert "--minutes must be a positive number, got -3.0" in capsys.readouterr().err
    assert main(["coverage", str(demo_dir), "--out", "x.csv"]) == 1
    assert "unsupported extension" in capsys.readouterr().err
