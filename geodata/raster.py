"""Population from a raster (GeoTIFF such as WorldPop): sum of the cells in each polygon.

Each raster cell is given to the polygon that contains its centre (GDAL's
rasterisation rule), so every person in the raster is counted at most once
even where polygons share a border.  A polygon smaller than one cell that
contains no cell centre gets the value of the cell under its representative
point scaled by its share of that cell's area, so tiny wards are not left
empty.  Nodata cells and negative values count as zero.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt

from geodata._errors import ScenarioError

logger = logging.getLogger(__name__)


def population_from_raster(polygons: gpd.GeoDataFrame, raster_path: str | Path,
                           band: int = 1) -> npt.NDArray[np.float64]:
    """Sum a population raster over each polygon.

    Parameters
    ----------
    polygons : polygons with a CRS; any CRS, they are reprojected to the raster's.
    raster_path : GeoTIFF (or any raster GDAL reads) of people per cell, with a CRS.
    band : 1-based band holding the counts.

    Returns
    -------
    numpy.ndarray
        People per polygon (float), in the order of ``polygons``.

    Raises
    ------
    ScenarioError
        If the raster cannot be read, has no CRS, or does not overlap the polygons.
    """
    import rasterio
    import rasterio.features
    import rasterio.windows
    from rasterio.errors import RasterioIOError

    label = Path(raster_path).name
    try:
        src = rasterio.open(raster_path)
    except RasterioIOError as exc:
        msg = f"cannot be read as a raster: {exc}"
        raise ScenarioError(msg, file=label) from None
    with src:
        if src.crs is None:
            msg = "raster has no CRS; expected a GeoTIFF with its CRS (WorldPop uses EPSG:4326)"
            raise ScenarioError(msg, file=label)
        if not 1 <= band <= src.count:
            msg = f"band {band} does not exist; the raster has {src.count} band(s)"
            raise ScenarioError(msg, file=label)
        shapes = polygons.to_crs(src.crs).geometry.reset_index(drop=True)
        left, bottom, right, top = shapes.total_bounds
        r = src.bounds
        if left >= r.right or right <= r.left or bottom >= r.top or top <= r.bottom:
            msg = (f"raster does not overlap the boundaries (raster bounds "
                   f"{[round(v, 4) for v in r]}, boundaries {[round(float(v), 4) for v in shapes.total_bounds]}"
                   f" in {src.crs})")
            raise ScenarioError(msg, file=label)
        exact = rasterio.windows.from_bounds(left, bottom, right, top, transform=src.transform)
        col0, row0 = math.floor(exact.col_off), math.floor(exact.row_off)
        col1 = math.ceil(exact.col_off + exact.width)
        row1 = math.ceil(exact.row_off + exact.height)
        col0, row0 = max(col0, 0), max(row0, 0)
        col1, row1 = min(col1, src.width), min(row1, src.height)
        window = rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0)
        data = src.read(band, window=window, masked=True).astype(np.float64)
        values = np.where(np.ma.getmaskarray(data), 0.0, np.ma.getdata(data))
        values = np.where(np.isfinite(values) & (values > 0), values, 0.0)
        transform = src.window_transform(window)
        # label 0 is "no polygon"; polygon i is burnt as i + 1
        labels = rasterio.features.rasterize(
            ((geom, i + 1) for i, geom in enumerate(shapes) if geom is not None and not geom.is_empty),
            out_shape=values.shape, transform=transform, fill=0, all_touched=False, dtype="int32",
        )
        sums = np.bincount(labels.ravel(), weights=values.ravel(), minlength=len(shapes) + 1)[1:]
        counts = np.bincount(labels.ravel(), minlength=len(shapes) + 1)[1:]
        cell_area = abs(transform.a * transform.e)
        for i in np.flatnonzero(counts == 0):
            point = shapes.iloc[int(i)].representative_point()
            row, col = rasterio.transform.rowcol(transform, point.x, point.y)
            if 0 <= row < values.shape[0] and 0 <= col < values.shape[1]:
                share = min(shapes.iloc[int(i)].area / cell_area, 1.0)
                sums[i] = values[row, col] * share
        logger.info("raster %s: %.0f people in %d polygons (%d smaller than a cell)",
                    label, sums.sum(), len(shapes), int((counts == 0).sum()))
        return np.asarray(sums, dtype=np.float64)
