"""Sanity warnings of a loaded scenario: rows that are valid but look wrong (issue #17).

Each warning names the file and row: a site far outside the province (a lost decimal
point in lon/lat), a commune with no office, an office outside its commune, and
counts that do not add up (a commune's residents against its demand rows, dossiers
at a site that is not open today).  :func:`geodata.scenario.load_scenario` adds
them to ``Scenario.warnings`` (so ``motcua validate`` and ``motcua import`` print them).
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

logger = logging.getLogger(__name__)

#: A site farther than this outside the province's communes (or the demand's hull) is named.
FAR_OUTSIDE_KM = 20.0
#: An office farther than this outside the polygon of its own commune_code is named.
OUTSIDE_COMMUNE_KM = 0.5
#: A commune's residents and its demand rows' sum may differ by this share before a warning.
COUNT_TOLERANCE = 0.01
#: At most this many warnings of one kind are listed (then how many more).
MAX_LISTED = 10

_EXISTING = ("branch", "reception")


def _listed(found: list[str], what: str) -> list[str]:
    if len(found) <= MAX_LISTED:
        return found
    return [*found[:MAX_LISTED], f"... and {len(found) - MAX_LISTED} more {what}"]


def sanity_warnings(demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, workload: pd.DataFrame,
                    crs: str, *, sites_file: str, demand_file: str,
                    workload_file: str | None = None,
                    communes_path: Path | None = None, communes_file: str | None = None,
                    ) -> list[str]:
    """The warnings of the checks in the module docstring (empty when all is well)."""
    out: list[str] = []
    try:
        proj_sites = sites.to_crs(crs)
        proj_demand = demand.to_crs(crs)
    except Exception as exc:  # a CRS problem is the loader's, not a sanity one
        logger.debug("sanity checks skipped: %s", exc)
        return out
    communes: gpd.GeoDataFrame | None = None
    if communes_path is not None and communes_path.exists():
        try:
            communes = gpd.read_file(communes_path).to_crs(crs)
        except Exception as exc:
            out.append(f"{communes_file}: could not be read for the sanity checks ({exc})")
            communes = None
    if communes is not None and len(communes):
        area = shapely.union_all(communes.geometry.to_numpy())
        where = "the province's communes"
    else:
        area = shapely.union_all(proj_demand.geometry.to_numpy()).convex_hull
        where = "the demand points' area"
    ids = sites["id"].astype(str).to_numpy()
    names = sites["name"].fillna("").astype(str).to_numpy() if "name" in sites else ids
    if area is not None and not area.is_empty:
        dist_km = np.asarray(proj_sites.geometry.distance(area), dtype=float) / 1000.0
        far = [f"{sites_file} row {i + 2}: site {ids[i]} ({names[i]}) is {dist_km[i]:,.0f} km "
               f"outside {where} (more than {FAR_OUTSIDE_KM:g} km; a lost decimal point "
               "in lon/lat?)"
               for i in np.flatnonzero(dist_km > FAR_OUTSIDE_KM)]
        out += _listed(far, "sites far outside")
    kind = sites["kind"].astype(str).to_numpy()
    status = sites["status"].astype(str).to_numpy() if "status" in sites else \
        np.full(len(sites), "optional")
    existing = np.isin(kind, _EXISTING) & (status != "closed")
    if communes is not None and len(communes) and "commune_code" in communes:
        codes = communes["commune_code"].fillna("").astype(str).to_numpy()
        cnames = communes["name"].fillna("").astype(str).to_numpy() if "name" in communes \
            else codes
        # which commune each existing office stands in
        inside = gpd.sjoin(proj_sites[existing][["geometry"]], communes[["geometry"]],
                           how="inner", predicate="within")
        with_office = set(np.asarray(inside["index_right"], dtype=int).tolist())
        empty = [f"{communes_file}: commune {cnames[k]} ({codes[k]}) has no office "
                 "(no existing branch or reception point inside it)"
                 for k in range(len(communes)) if k not in with_office]
        out += _listed(empty, "communes with no office")
        site_codes = sites["commune_code"].fillna("").astype(str).to_numpy() \
            if "commune_code" in sites else np.full(len(sites), "")
        by_code = dict(zip(codes.tolist(), communes.geometry.to_numpy(), strict=True))
        away = []
        for i in np.flatnonzero(existing & (site_codes != "")):
            poly = by_code.get(site_codes[i])
            if poly is None:
                continue
            d = float(proj_sites.geometry.iloc[i].distance(poly)) / 1000.0
            if d > OUTSIDE_COMMUNE_KM:
                k = codes.tolist().index(site_codes[i])
                away.append(f"{sites_file} row {i + 2}: office {ids[i]} ({names[i]}) is {d:,.1f} km "
                            f"outside its commune {cnames[k]} ({site_codes[i]})")
        out += _listed(away, "offices outside their commune")
        if "population" in communes and "commune_code" in demand:
            rows = demand.groupby(demand["commune_code"].fillna("").astype(str))["population"].sum()
            off = []
            for k in range(len(communes)):
                want = communes["population"].iloc[k]
                if pd.isna(want) or float(want) <= 0:
                    continue
                got = float(rows.get(codes[k], 0.0))
                if abs(got - float(want)) > COUNT_TOLERANCE * float(want):
                    off.append(f"{demand_file}: the demand rows of commune {cnames[k]} "
                               f"({codes[k]}) sum to {got:,.0f} residents, its polygon in "
                               f"{communes_file} says {float(want):,.0f}")
            out += _listed(off, "communes whose counts differ")
    if workload_file and len(workload) and "site_id" in workload:
        shut = set(ids[~existing].tolist())
        per_site = workload.groupby(workload["site_id"].astype(str))["dossiers"].sum()
        counted = [f"{workload_file}: {float(n):,.0f} dossiers at site {s} "
                   f"({names[ids.tolist().index(s)]}), which is not an open office today "
                   "(a candidate or closed site)"
                   for s, n in per_site.items() if s in shut and n > 0]
        out += _listed(counted, "sites with dossiers")
    return out
