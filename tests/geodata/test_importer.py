"""Importer building blocks on small hand-made files: boundaries, population, sites, errors.

Every expected number here is worked out by hand in the comments.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from shapely.geometry import Point, box

from geodata._errors import ScenarioError
from geodata.importer import (
    BoundarySource,
    SiteSource,
    check_crs_option,
    choose_crs,
    commune_centre_sites,
    grid_candidate_sites,
    read_boundaries,
    read_sites,
    sites_from_osm_features,
    whole_persons,
)
from geodata.raster import population_from_raster

UTM48 = "EPSG:32648"
# a point in Quảng Ninh in UTM 48N metres (about 107.4 E, 21.3 N)
X0, Y0 = 750_000.0, 2_358_000.0


def _communes(tmp_path: Path, name: str = "communes.geojson", crs: str = "EPSG:4326",
              **columns: list[object]) -> Path:
    """Two 1 km squares side by side (west: Xã Tây, east: Phường Đông) written to a file."""
    squares = gpd.GeoSeries([box(X0, Y0, X0 + 1000, Y0 + 1000),
                             box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)], crs=UTM48)
    data = {"ma_xa": ["06895", "06901"], "ten_xa": ["Xã Tây", "Phường Đông"],
            "huyen": ["Đầm Hà", "Đầm Hà"], "dan_so": [1200.0, 800.0]}
    data.update(columns)
    gdf = gpd.GeoDataFrame(data, geometry=squares.to_crs(crs), crs=crs)
    path = tmp_path / name
    gdf.to_file(path)
    return path


# --------------------------------------------------------------------------- boundaries


def test_boundaries_columns_are_mapped_and_filter_ignores_case_and_spaces(tmp_path: Path) -> None:
    path = _communes(tmp_path)
    got = read_boundaries(BoundarySource(
        str(path), filters=(("huyen", "đầmhà"),), population_column="dan_so",
        id_column="ma_xa", name_column="ten_xa"))
    assert got["id"].tolist() == ["06895", "06901"]
    assert got["name"].tolist() == ["Xã Tây", "Phường Đông"]
    assert got["commune_code"].tolist() == ["06895", "06901"]  # defaults to the id
    assert got["population"].tolist() == [1200.0, 800.0]
    assert got.crs.to_string() == "EPSG:4326"


def test_filter_keeps_only_matching_rows_and_errors_name_file_rows(tmp_path: Path) -> None:
    path = _communes(tmp_path, dan_so=[-5.0, 800.0])
    # the west square (file row 2) has a negative population: named with its file row
    with pytest.raises(ScenarioError) as info:
        read_boundaries(BoundarySource(str(path), population_column="dan_so", id_column="ma_xa"))
    assert "communes.geojson, column 'dan_so', row 2: out of range (value '-5.0')" in str(info.value)
    # filtering to the east square only: the bad row is not read at all
    got = read_boundaries(BoundarySource(str(path), filters=(("ten_xa", "Phường  Đông"),),
                                         population_column="dan_so", id_column="ma_xa"))
    assert got["id"].tolist() == ["06901"]
    assert got["file_row"].tolist() == [3]


def test_misspelt_population_column_is_named_with_suggestion(tmp_path: Path) -> None:
    path = _communes(tmp_path)
    with pytest.raises(ScenarioError, match=r"column 'danso': population column is missing; "
                       r"did you mean 'dan_so'\?"):
        read_boundaries(BoundarySource(str(path), population_column="danso"))


def test_missing_population_column_option_is_an_error(tmp_path: Path) -> None:
    path = _communes(tmp_path)
    with pytest.raises(ScenarioError, match="no population column given"):
        read_boundaries(BoundarySource(str(path)))


def test_filter_without_match_suggests_the_accented_value(tmp_path: Path) -> None:
    path = _communes(tmp_path)
    with pytest.raises(ScenarioError) as info:
        read_boundaries(BoundarySource(str(path), filters=(("huyen", "Dam Ha"),),
                                       population_column="dan_so"))
    text = str(info.value)
    assert "column 'huyen': filter matches no feature; did you mean 'Đầm Hà'?" in text
    assert "(value 'Dam Ha')" in text


def test_crs_that_does_not_match_the_coordinates_is_named(tmp_path: Path) -> None:
    # lon/lat degrees written into a file that declares UTM 48N metres
    gdf = gpd.read_file(_communes(tmp_path)).set_crs(UTM48, allow_override=True)
    path = tmp_path / "wrong_crs.gpkg"
    gdf.to_file(path)
    with pytest.raises(ScenarioError) as info:
        read_boundaries(BoundarySource(str(path), population_column="dan_so"))
    text = str(info.value)
    assert "wrong_crs.gpkg: geometries fall outside Vietnam after reading them in their declared CRS" in text
    assert "EPSG:32648" in text
    assert "expected a file whose CRS matches its coordinates" in text


def test_boundaries_in_a_metric_crs_are_reprojected(tmp_path: Path) -> None:
    path = _communes(tmp_path, "utm.gpkg", crs=UTM48)
    got = read_boundaries(BoundarySource(str(path), population_column="dan_so"))
    west = got.geometry.iloc[0].centroid
    expected = gpd.GeoSeries([Point(X0 + 500, Y0 + 500)], crs=UTM48).to_crs("EPSG:4326").iloc[0]
    assert west.distance(expected) < 1e-6
    assert got.attrs["source_crs"] == UTM48


def test_zipped_geojson_is_read(tmp_path: Path) -> None:
    import zipfile

    path = _communes(tmp_path)
    archive = tmp_path / "communes.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(path, "inner/communes.geojson")
    got = read_boundaries(BoundarySource(f"zip://{archive}!inner/communes.geojson",
                                         population_column="dan_so"))
    assert got["population"].sum() == 2000


def test_population_table_joined_on_codes_with_leading_zeros(tmp_path: Path) -> None:
    path = _communes(tmp_path)
    table = tmp_path / "pop.csv"
    # a third row for another province has no population: it is not joined, so not checked
    table.write_text("ward_code,pop2019_est\n06901,750\n06895,1250\n99999,\n", encoding="utf-8")
    got = read_boundaries(BoundarySource(str(path), population_column="pop2019_est",
                                         population_table=table, join_column="ma_xa",
                                         table_join_column="ward_code"))
    assert got["population"].tolist() == [1250.0, 750.0]


def test_population_table_missing_code_and_bad_value_are_named(tmp_path: Path) -> None:
    path = _communes(tmp_path)
    table = tmp_path / "pop.csv"
    table.write_text("ward_code,pop2019_est\n6895,1250\n06901,nhiều\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        read_boundaries(BoundarySource(str(path), population_column="pop2019_est",
                                       population_table=table, join_column="ma_xa",
                                       table_join_column="ward_code"))
    text = str(info.value)
    assert ("communes.geojson, column 'ma_xa', row 2: no row of pop.csv has this code in column "
            "'ward_code'") in text
    assert "keep leading zeros" in text
    assert "pop.csv, column 'pop2019_est', row 3: not a finite number (value 'nhiều')" in text


def test_unknown_layer_is_named(tmp_path: Path) -> None:
    path = _communes(tmp_path, "c.gpkg")
    with pytest.raises(ScenarioError, match=r"c.gpkg: no layer 'comunes'"):
        read_boundaries(BoundarySource(str(path), layer="comunes", population_column="dan_so"))


# --------------------------------------------------------------------------- CRS


def test_crs_option_must_be_metric_and_valid_in_vietnam() -> None:
    check_crs_option("EPSG:32649")
    with pytest.raises(ScenarioError, match=r"--crs: must be a projected \(metric\) CRS"):
        check_crs_option("EPSG:4326")
    with pytest.raises(ScenarioError, match=r"--crs: its area of use .* does not include Vietnam"):
        check_crs_option("EPSG:32618")  # UTM 18N, the Americas
    with pytest.raises(ScenarioError, match="--crs: not a coordinate reference system"):
        check_crs_option("EPSG:99999999")


def test_choose_crs_picks_the_utm_zone() -> None:
    hanoi = gpd.GeoDataFrame(geometry=[Point(105.85, 21.03)], crs="EPSG:4326")
    ha_long_east = gpd.GeoDataFrame(geometry=[Point(108.2, 21.5)], crs="EPSG:4326")
    assert choose_crs(hanoi) == "EPSG:32648"  # 102-108 E
    assert choose_crs(ha_long_east) == "EPSG:32649"  # 108-114 E


def test_whole_persons_rounds_half_to_even() -> None:
    assert whole_persons([0.4, 0.5, 1.5, 2.6]).tolist() == [0, 0, 2, 3]


# --------------------------------------------------------------------------- raster


def _raster(path: Path, values: np.ndarray, crs: str | None = UTM48, nodata: float | None = -1.0) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    # 250 m cells, top-left corner at (X0, Y0 + 1000): a 4 x 8 grid covers both squares
    with rasterio.open(path, "w", driver="GTiff", height=values.shape[0], width=values.shape[1],
                       count=1, dtype="float32", crs=crs, nodata=nodata,
                       transform=from_origin(X0, Y0 + 1000, 250, 250)) as dst:
        dst.write(values.astype("float32"), 1)
    return path


def test_raster_summed_per_polygon_by_cell_centres(tmp_path: Path) -> None:
    values = np.arange(32, dtype=float).reshape(4, 8)  # 0..31, row-major
    values[0, 0] = -1.0  # nodata counts as zero
    tif = _raster(tmp_path / "pop.tif", values)
    polys = gpd.read_file(_communes(tmp_path))
    got = population_from_raster(polys, tif)
    # west square = columns 0-3, row r holds 8r..8r+3 (sum 32r + 6):
    #   6 + 38 + 70 + 102 = 216 (the nodata cell counts 0, as the 0 it replaced)
    # east square = columns 4-7, row r holds 8r+4..8r+7 (sum 32r + 22): 22 + 54 + 86 + 118 = 280
    assert got.tolist() == pytest.approx([216.0, 280.0])
    assert got.sum() == pytest.approx(values[values > 0].sum())


def test_raster_polygon_smaller_than_a_cell_gets_its_area_share(tmp_path: Path) -> None:
    values = np.full((4, 8), 100.0)
    tif = _raster(tmp_path / "pop.tif", values)
    # a 50 m x 50 m square inside one 250 m cell, away from the cell centre: 100 * 2500 / 62500 = 4
    tiny = gpd.GeoDataFrame(geometry=[box(X0 + 10, Y0 + 10, X0 + 60, Y0 + 60)], crs=UTM48)
    assert population_from_raster(tiny, tif).tolist() == pytest.approx([4.0])


def test_raster_errors_are_named(tmp_path: Path) -> None:
    polys = gpd.read_file(_communes(tmp_path))
    no_crs = _raster(tmp_path / "nocrs.tif", np.ones((4, 8)), crs=None)
    with pytest.raises(ScenarioError, match="nocrs.tif: raster has no CRS"):
        population_from_raster(polys, no_crs)
    far = polys.to_crs(UTM48).translate(xoff=50_000).to_crs("EPSG:4326")
    tif = _raster(tmp_path / "pop.tif", np.ones((4, 8)))
    with pytest.raises(ScenarioError, match="pop.tif: raster does not overlap the boundaries"):
        population_from_raster(gpd.GeoDataFrame(geometry=far), tif)
    bad = tmp_path / "bad.tif"
    bad.write_text("not a raster", encoding="utf-8")
    with pytest.raises(ScenarioError, match="bad.tif: cannot be read as a raster"):
        population_from_raster(polys, bad)


# --------------------------------------------------------------------------- sites


SITES_CSV = """\
ma,ten,kinh_do,vi_do,status
A1,UBND xã Đầm Hà,107.60,21.35,must_open
A2,Bưu điện Quảng Tân,107.55,21.33,
"""


def test_sites_csv_with_column_mapping(tmp_path: Path) -> None:
    path = tmp_path / "vp.csv"
    path.write_text(SITES_CSV, encoding="utf-8")
    got = read_sites(SiteSource(path, lon_column="kinh_do", lat_column="vi_do", id_column="ma",
                                name_column="ten"))
    assert got["id"].tolist() == ["A1", "A2"]
    assert got["name"].tolist() == ["UBND xã Đầm Hà", "Bưu điện Quảng Tân"]
    assert got["kind"].tolist() == ["reception", "reception"]  # no kind column, no --sites-kind
    assert got["status"].tolist() == ["must_open", "optional"]
    assert got.geometry.x.tolist() == [107.60, 107.55]
    branch = read_sites(SiteSource(path, lon_column="kinh_do", lat_column="vi_do", id_column="ma",
                                   name_column="ten", kind="branch"))
    assert set(branch["kind"]) == {"branch"}


def test_sites_csv_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "vp.csv"
    # saved by Excel as "CSV" in the Vietnamese Windows code page: 'ư' is byte 0xfd on row 3
    text = SITES_CSV.replace("UBND xã Đầm Hà", "UBND xa Dam Ha").replace("Bưu điện Quảng Tân", "Bưu Đà")
    path.write_bytes(text.encode("cp1258"))
    with pytest.raises(ScenarioError) as info:
        read_sites(SiteSource(path, lon_column="kinh_do", lat_column="vi_do", id_column="ma"))
    text = str(info.value)
    assert "vp.csv, row 3: is not valid UTF-8 (byte 0xfd at line 3)" in text
    assert "Save as: CSV UTF-8" in text


def test_sites_misspelt_lon_column_and_swapped_coordinates(tmp_path: Path) -> None:
    path = tmp_path / "vp.csv"
    path.write_text(SITES_CSV, encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"vp.csv, column 'kinhdo': required column is missing; "
                       r"column 'kinh_do' looks like a misspelling of it"):
        read_sites(SiteSource(path, lon_column="kinhdo", lat_column="vi_do", id_column="ma"))
    with pytest.raises(ScenarioError, match=r"vp.csv, column 'lon/lat', row 2: lon and lat look swapped"):
        read_sites(SiteSource(path, lon_column="vi_do", lat_column="kinh_do", id_column="ma"))


def test_sites_bad_kind_and_duplicate_ids(tmp_path: Path) -> None:
    path = tmp_path / "vp.csv"
    path.write_text("id,name,lon,lat,kind\nA,a,107.6,21.3,branch\nA,b,107.5,21.3,recepton\n",
                    encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        read_sites(SiteSource(path))
    text = str(info.value)
    assert "vp.csv, column 'kind', row 3: not an allowed value; did you mean 'reception'?" in text
    assert "vp.csv, column 'id', row 3: duplicate id (first used on row 2)" in text


def test_sites_vector_file_in_utm_is_reprojected(tmp_path: Path) -> None:
    pts = gpd.GeoDataFrame({"code": ["p1"], "label": ["Bưu điện"]},
                           geometry=[Point(X0 + 500, Y0 + 500)], crs=UTM48)
    path = tmp_path / "sites.gpkg"
    pts.to_file(path)
    got = read_sites(SiteSource(path, id_column="code", name_column="label", kind="candidate"))
    assert got["id"].tolist() == ["p1"] and got["kind"].tolist() == ["candidate"]
    back = got.to_crs(UTM48).geometry.iloc[0]
    assert back.distance(Point(X0 + 500, Y0 + 500)) < 0.01


def test_sites_vector_file_of_polygons_is_refused(tmp_path: Path) -> None:
    path = _communes(tmp_path)
    with pytest.raises(ScenarioError, match="communes.geojson, column 'geometry': sites must be points"):
        read_sites(SiteSource(path))


# --------------------------------------------------------------------------- generated sites


def test_commune_centres_lie_inside_their_communes(tmp_path: Path) -> None:
    communes = read_boundaries(BoundarySource(str(_communes(tmp_path)), population_column="dan_so",
                                              id_column="ma_xa", name_column="ten_xa"))
    sites = commune_centre_sites(communes, UTM48)
    assert sites["id"].tolist() == ["rp_06895", "rp_06901"]
    assert set(sites["kind"]) == {"reception"}
    assert all(communes.geometry.iloc[i].contains(sites.geometry.iloc[i]) for i in range(2))
    assert "ước lượng" in sites["name"].iloc[0]  # says the location is estimated


def test_grid_candidates_take_the_most_populated_point_of_each_square() -> None:
    # three points in the 2 km square (0,0) and one in the next square east, in UTM metres
    xy = [(X0 + 100, Y0 + 100), (X0 + 900, Y0 + 900), (X0 + 1500, Y0 + 300), (X0 + 2100, Y0 + 100)]
    demand = gpd.GeoDataFrame(
        {"population": [10.0, 50.0, 50.0, 0.0], "commune_code": ["a", "a", "b", "c"],
         "commune_name": ["A", "A", "B", "C"]},
        geometry=gpd.GeoSeries([Point(p) for p in xy], crs=UTM48).to_crs("EPSG:4326"),
        crs="EPSG:4326")
    # X0 and Y0 are multiples of 2000: squares are [X0, X0+2000) and [X0+2000, ...)
    got = grid_candidate_sites(demand, UTM48, 2000.0)
    # first square: tie 50/50 goes to the first point in file order; second square: nobody lives there
    assert len(got) == 1
    assert got["commune_code"].tolist() == ["a"]
    assert got.to_crs(UTM48).geometry.iloc[0].distance(Point(xy[1])) < 0.01
    assert got["kind"].tolist() == ["candidate"]
    for bad in (0.0, float("nan"), float("inf")):
        with pytest.raises(ScenarioError, match=f"candidate cell size must be > 0 m, got {bad}"):
            grid_candidate_sites(demand, UTM48, bad)


def test_osm_features_become_candidates() -> None:
    idx = pd.MultiIndex.from_tuples([("node", 1), ("way", 2)], names=["element", "id"])
    features = gpd.GeoDataFrame(
        {"amenity": ["post_office", "townhall"], "name": ["Bưu điện Đầm Hà", None]},
        geometry=[Point(107.6, 21.35), box(107.5, 21.3, 107.501, 21.301)], index=idx,
        crs="EPSG:4326")
    got = sites_from_osm_features(features, UTM48)
    assert got["id"].tolist() == ["osm_1", "osm_2"]
    assert got["name"].tolist() == ["Bưu điện Đầm Hà", "townhall 2"]
    assert set(got["kind"]) == {"candidate"}
    assert box(107.5, 21.3, 107.501, 21.301).contains(got.geometry.iloc[1])


def test_osm_admin_boundaries_become_communes_with_population_tags() -> None:
    from geodata.importer import _communes_from_features

    idx = pd.MultiIndex.from_tuples([("relation", 11), ("relation", 12)], names=["element", "id"])
    features = gpd.GeoDataFrame(
        {"name": ["Xã Tây", "Xã Đông"], "population": ["1200", "800"]},
        geometry=[box(107.5, 21.3, 107.51, 21.31), box(107.51, 21.3, 107.52, 21.31)], index=idx,
        crs="EPSG:4326")
    got = _communes_from_features(features, "population")
    assert got["id"].tolist() == ["osm_relation_11", "osm_relation_12"]
    assert got["population"].tolist() == [1200.0, 800.0]
    features.loc[("relation", 12), "population"] = None
    with pytest.raises(ScenarioError, match=r"column 'population', row 3: empty cell"):
        _communes_from_features(features, "population")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=hnp.arrays(np.float64, (4, 8), elements=st.floats(0, 1e4, allow_nan=False)),
       split=st.integers(1, 7))
def test_raster_split_anywhere_conserves_the_raster_total(tmp_path: Path, values: np.ndarray,
                                                         split: int) -> None:
    """Two polygons meeting on a cell edge share the raster exactly: each cell counted once."""
    tif = _raster(tmp_path / f"r{split}.tif", values, nodata=None)
    edge = X0 + 250 * split
    polys = gpd.GeoDataFrame(geometry=[box(X0, Y0, edge, Y0 + 1000), box(edge, Y0, X0 + 2000, Y0 + 1000)],
                             crs=UTM48)
    got = population_from_raster(polys, tif)
    f32 = values.astype("float32").astype(float)
    assert got[0] == pytest.approx(f32[:, :split].sum(), rel=1e-9, abs=1e-6)
    assert got[1] == pytest.approx(f32[:, split:].sum(), rel=1e-9, abs=1e-6)


def test_blank_commune_name_falls_back_to_its_id(tmp_path: Path) -> None:
    # the 2025 national file has 16 communes whose name was nulled (ambiguous matches)
    path = _communes(tmp_path, ten_xa=[None, "Phường Đông"])
    got = read_boundaries(BoundarySource(str(path), population_column="dan_so",
                                         id_column="ma_xa", name_column="ten_xa"))
    assert got["name"].tolist() == ["06895", "Phường Đông"]
    assert got["commune_name"].tolist() == ["06895", "Phường Đông"]
