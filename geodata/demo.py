"""Seeded generator of the synthetic demo province "Tỉnh Mẫu".

Tỉnh Mẫu is **not a real place**.  It is a made-up province of about one
million residents laid over northern-Vietnam coordinates (21.0-21.6 N,
106.6-107.6 E) so that every part of motcua can be tried on realistic data
without licence worries:

* a dense provincial city (16 wards on a street grid with one-way streets),
  ten market towns and about 125 rural communes, lowland in the south and
  mountains in the north where hamlets sit at the end of long winding tracks;
* demand points (urban blocks, villages, hamlets) with population;
* a road graph in osmnx's format (trunk to residential, plus mountain tracks)
  reaching every settlement, with remote hamlets beyond 30 minutes by
  motorbike of every existing office;
* 13 branches of the provincial service center, one reception point per
  commune and candidate sites (post offices, schools, community halls,
  market halls);
* about 160 staff with skills, and eight weeks of daily dossier history
  ending Saturday 2026-11-21 with weekday patterns, online shares and local
  overload (busy branches with too few staff next to idle ones).

Everything is drawn from ``np.random.default_rng(seed)`` only: the same seed
gives byte-identical files.  Regenerate the committed demo with::

    python -m geodata.demo scenarios/demo --seed 2025

See ``docs/demo.md`` for how the province is built.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import math
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import numpy.typing as npt
import osmnx as ox
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra, minimum_spanning_tree
from scipy.spatial import Delaunay, cKDTree

from geodata.scenario import WGS84, Scenario, save_scenario
from geodata.settings import (
    DEFAULT_PROCESSING_MINUTES,
    DEFAULT_SERVICE_MINUTES,
    FIELDS,
    WEEKDAYS,
    CoverageStandard,
    DemandSettings,
    ScenarioFiles,
    ScenarioSettings,
    TravelSettings,
    WorkSettings,
)

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Seed of the committed ``scenarios/demo``.
DEFAULT_SEED = 2025
#: Metric CRS of the demo (UTM zone 48N covers 102-108 E).
METRIC_CRS = "EPSG:32648"
NAME = "Tỉnh Mẫu (dữ liệu tổng hợp / SYNTHETIC)"
DESCRIPTION = (
    "Tỉnh Mẫu là tỉnh TỔNG HỢP, KHÔNG CÓ THẬT: dân số, đường sá, trụ sở, cán bộ và "
    "hồ sơ đều do máy sinh ngẫu nhiên (python -m geodata.demo, seed {seed}) để thử "
    "nghiệm motcua. | SYNTHETIC demo province, NOT a real place: residents, roads, "
    "offices, staff and dossiers are generated (python -m geodata.demo, seed {seed}) "
    "to try motcua."
)
#: Residents of the full-size province (``scale=1``).
TARGET_POPULATION = 1_000_000
#: Staff of the full-size province.
TARGET_STAFF = 160
#: Last day of the dossier history (a Saturday) and its length in weeks.
HISTORY_END = date(2026, 11, 21)
HISTORY_WEEKS = 8
#: The week the demo plans staff for (ISO week 2026-W48, Mon-Sat).
PLAN_WEEK: tuple[str, ...] = tuple(
    (date(2026, 11, 23) + timedelta(days=i)).isoformat() for i in range(6))
#: Fixed-date public holidays of 2026-2027 (lunar holidays are left out).
HOLIDAYS: tuple[str, ...] = ("2026-01-01", "2026-04-30", "2026-05-01", "2026-09-01",
                             "2026-09-02", "2027-01-01")

#: Motorbike and car speeds in km/h per highway class used by the demo (written
#: into ``scenario.toml`` so the demo does not depend on library defaults).
DEMO_SPEEDS_KPH: dict[str, dict[str, float]] = {
    "motorbike": {"trunk": 40.0, "primary": 35.0, "secondary": 30.0, "tertiary": 28.0,
                  "unclassified": 25.0, "residential": 20.0, "track": 15.0},
    "car": {"trunk": 50.0, "primary": 40.0, "secondary": 35.0, "tertiary": 30.0,
            "unclassified": 25.0, "residential": 20.0, "track": 12.0},
}
#: Highway classes, most important first.
HIGHWAY_CLASSES: tuple[str, ...] = ("trunk", "primary", "secondary", "tertiary",
                                    "unclassified", "residential", "track")
_RANK = {c: i for i, c in enumerate(HIGHWAY_CLASSES)}

# Province layout (full size), in metres of the metric CRS.
_ORIGIN_LONLAT = (106.62, 21.02)
_WIDTH_M = 100_000.0
_HEIGHT_M = 62_000.0
_N_CITY_WARDS = 16
_N_TOWNS = (7, 3)  # lowland, mountain
_N_RURAL = (70, 54)  # lowland, mountain communes
_POP_SHARE = {"city": 0.29, "town": 0.24, "lowland": 0.36, "mountain": 0.11}
#: Dossiers per resident per year, by area.
_RATE = {"city": 1.12, "town": 1.05, "lowland": 0.93, "mountain": 0.80}
#: Field mix of dossiers by area (shares sum to 1, order of FIELDS).
_FIELD_MIX = {
    "city": (0.20, 0.30, 0.14, 0.08, 0.12, 0.16),
    "town": (0.24, 0.30, 0.10, 0.08, 0.13, 0.15),
    "lowland": (0.28, 0.32, 0.05, 0.06, 0.15, 0.14),
    "mountain": (0.30, 0.33, 0.02, 0.04, 0.18, 0.13),
}
#: Share of a field's dossiers filed at the branch rather than the commune.
_TO_BRANCH = {"land": 0.7, "justice": 0.15, "business": 1.0, "construction": 0.8,
              "labour": 0.3, "other": 0.3}
#: Online share by site area, plus an adjustment by field.
_ONLINE_BASE = {"hq": 0.88, "city": 0.84, "town": 0.77, "lowland": 0.70, "mountain": 0.65}
_ONLINE_FIELD = {"land": -0.08, "justice": 0.03, "business": 0.07, "construction": -0.04,
                 "labour": 0.0, "other": 0.02}
ONLINE_SHARE_RANGE = (0.55, 0.95)
#: Relative daily volume Mon..Sat (mean 1): Monday peak, Saturday morning only.
_WEEKDAY_FACTOR = (1.30, 1.10, 1.02, 1.00, 0.98, 0.60)
#: Skill probabilities (land and business are the scarce ones).
_SKILL_P = {"land": 0.28, "justice": 0.55, "business": 0.20, "construction": 0.33,
            "labour": 0.45, "other": 0.60}

# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------

_KINH_1 = ("An", "Bình", "Cẩm", "Đại", "Đông", "Đức", "Hòa", "Hoàng", "Hồng", "Hưng",
           "Hương", "Kim", "Long", "Minh", "Nam", "Ngọc", "Nghĩa", "Phú", "Phúc", "Quang",
           "Quảng", "Tân", "Thái", "Thanh", "Thành", "Thịnh", "Thuận", "Tiên", "Trung",
           "Vĩnh", "Xuân", "Yên", "Việt", "Hải", "Lạc", "Gia", "Mỹ", "Sơn", "Đồng", "Tiến")
_KINH_2 = ("An", "Bình", "Châu", "Đạo", "Điền", "Đồng", "Hòa", "Hợp", "Hưng", "Khê",
           "Lạc", "Lâm", "Lộc", "Long", "Lợi", "Mỹ", "Nghĩa", "Ninh", "Phong", "Phú",
           "Phúc", "Quang", "Sơn", "Tân", "Thành", "Thịnh", "Thọ", "Thủy", "Tiến",
           "Trung", "Vinh", "Xá", "Yên", "Dương", "Hà", "Hải", "Kiều", "Liêm", "Lương")
_TAY_1 = ("Nà", "Pác", "Khuổi", "Lũng", "Phiêng", "Cốc", "Khau", "Bó", "Nặm", "Co",
          "Kéo", "Lủng", "Pò", "Tà", "Nậm", "Hát", "Thẩm", "Slam", "Vằng", "Bản")
_TAY_2 = ("Pàn", "Mò", "Rạo", "Lìm", "Khoang", "Sla", "Tủm", "Chang", "Phầy", "Hẩu",
          "Luông", "Mạ", "Pục", "Cáy", "Lào", "Vài", "Đon", "Ngần", "Mu", "Cuổi", "Pẻo",
          "Lẹng", "Nưa", "Thốc")
_VILLAGE_WORDS = ("Đông", "Tây", "Nam", "Bắc", "Trung", "Thượng", "Hạ", "Đình", "Chùa",
                  "Chợ", "Trại", "Cầu", "Đồng", "Bãi", "Mới", "Giữa")
_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ",
           "Ngô", "Dương", "Lý", "Nông", "Lương", "Triệu", "Đàm", "Lộc")
_FAMILY_P = (0.30, 0.10, 0.08, 0.07, 0.06, 0.05, 0.04, 0.04, 0.04, 0.02, 0.03, 0.02,
             0.02, 0.04, 0.03, 0.02, 0.02, 0.02)
_MIDDLE_M = ("Văn", "Đức", "Minh", "Hữu", "Quang", "Thanh", "Công", "Xuân")
_MIDDLE_F = ("Thị", "Thu", "Ngọc", "Thanh", "Minh", "Hồng", "Kim", "Thùy")
_GIVEN_M = ("An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hùng", "Huy", "Khánh", "Long",
            "Nam", "Phong", "Quân", "Sơn", "Thắng", "Trung", "Tuấn", "Việt", "Vinh", "Toàn")
_GIVEN_F = ("Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hoa", "Hương", "Lan",
            "Linh", "Mai", "Nga", "Nhung", "Phương", "Quyên", "Thảo", "Trang", "Vân", "Yến")
_STREETS = ("Trần Hưng Đạo", "Lê Lợi", "Quang Trung", "Nguyễn Trãi", "Hai Bà Trưng",
            "Lý Thường Kiệt", "Bà Triệu", "Phan Bội Châu", "Lê Thánh Tông", "Ngô Quyền",
            "Hùng Vương", "Điện Biên Phủ", "Trần Phú", "Nguyễn Du", "Lê Duẩn",
            "Võ Thị Sáu", "Kim Đồng", "Tô Hiệu", "Lạc Long Quân", "Âu Cơ", "Cao Thắng",
            "Hoàng Văn Thụ", "Nguyễn Văn Cừ", "Phạm Ngũ Lão", "Yết Kiêu", "Chu Văn An",
            "Lê Hồng Phong", "Đinh Tiên Hoàng", "Lý Tự Trọng", "Trưng Trắc", "Lê Lai",
            "Nguyễn Huệ", "Tôn Đức Thắng", "Hàm Nghi", "Nguyễn Thái Học", "Trần Quốc Toản",
            "Phan Chu Trinh", "La Văn Cầu", "Bế Văn Đàn", "Nguyễn Chí Thanh", "Cù Chính Lan",
            "Mạc Đĩnh Chi")


def _unique_names(rng: np.random.Generator, n: int, first: Sequence[str],
                  second: Sequence[str], taken: set[str]) -> list[str]:
    """``n`` distinct two-syllable names not in ``taken`` (which is updated)."""
    out: list[str] = []
    while len(out) < n:
        a, b = first[int(rng.integers(len(first)))], second[int(rng.integers(len(second)))]
        name = f"{a} {b}"
        if a != b and name not in taken:
            taken.add(name)
            out.append(name)
    return out


def _person_name(rng: np.random.Generator) -> str:
    family = _FAMILY[int(rng.choice(len(_FAMILY), p=np.asarray(_FAMILY_P) / sum(_FAMILY_P)))]
    if rng.random() < 0.55:
        middle, given = _MIDDLE_F, _GIVEN_F
    else:
        middle, given = _MIDDLE_M, _GIVEN_M
    return (f"{family} {middle[int(rng.integers(len(middle)))]} "
            f"{given[int(rng.integers(len(given)))]}")


# ---------------------------------------------------------------------------
# Roads
# ---------------------------------------------------------------------------


@dataclass
class _Way:
    """A road between two nodes, cut into pieces by intermediate nodes."""

    nodes: list[int]
    highway: str
    factor: float  # curvature lost by dropping geometry: length = great circle x factor
    oneway: bool = False
    name: str | None = None


@dataclass
class _Roads:
    """Growing road network in metric coordinates."""

    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)
    ways: list[_Way] = field(default_factory=list)

    def add_node(self, x: float, y: float) -> int:
        self.xs.append(float(x))
        self.ys.append(float(y))
        return len(self.xs) - 1

    def xy(self, node: int) -> tuple[float, float]:
        return self.xs[node], self.ys[node]

    def add_way(self, rng: np.random.Generator, u: int, v: int, highway: str, *,
                factor: float, piece_m: float, jitter: float, oneway: bool = False,
                name: str | None = None) -> None:
        """Road from ``u`` to ``v``; long roads get wiggly intermediate nodes."""
        (x0, y0), (x1, y1) = self.xy(u), self.xy(v)
        length = math.hypot(x1 - x0, y1 - y0)
        pieces = max(1, math.ceil(length / piece_m))
        nodes = [u]
        if pieces > 1:
            nx_, ny_ = -(y1 - y0) / length, (x1 - x0) / length
            offsets = rng.normal(0.0, jitter * length / pieces, pieces - 1)
            for k in range(1, pieces):
                t = k / pieces
                nodes.append(self.add_node(x0 + t * (x1 - x0) + offsets[k - 1] * nx_,
                                           y0 + t * (y1 - y0) + offsets[k - 1] * ny_))
        nodes.append(v)
        self.ways.append(_Way(nodes, highway, factor, oneway, name))


@dataclass
class _Grid:
    """A street grid (city or town)."""

    nodes: IntArray  # (ny, nx) node ids
    rect: tuple[float, float, float, float]
    gates: list[int]
    center: int
    edges: list[tuple[int, int, str, bool, str | None]]  # u, v, class, oneway, name
    blocks: FloatArray  # (ny-1, nx-1, 2) block centroids


def _make_grid(roads: _Roads, rng: np.random.Generator, cx: float, cy: float, nx_: int,
               ny_: int, spacing: float, *, city: bool, street_names: list[str]) -> _Grid:
    """Street grid centred on (cx, cy); in a city the inner streets are one-way."""
    x0 = cx - spacing * (nx_ - 1) / 2
    y0 = cy - spacing * (ny_ - 1) / 2
    ids = np.zeros((ny_, nx_), dtype=np.int64)
    for j in range(ny_):
        for i in range(nx_):
            jit = rng.normal(0.0, spacing * 0.08, 2) if 0 < i < nx_ - 1 and 0 < j < ny_ - 1 else (0, 0)
            ids[j, i] = roads.add_node(x0 + i * spacing + jit[0], y0 + j * spacing + jit[1])
    mid_i, mid_j = nx_ // 2, ny_ // 2
    edges: list[tuple[int, int, str, bool, str | None]] = []

    def line_class(k: int, mid: int, n: int) -> str:
        if k == mid:
            return "primary" if city else "secondary"
        if k in (0, n - 1) or (city and (k - mid) % 5 == 0):
            return "secondary" if city else "tertiary"
        return "residential"

    def one_way(k: int, mid: int, n: int, cls: str) -> int:
        """0: two-way, +1 along increasing index, -1 against (alternating in the core)."""
        if not city or cls != "residential" or abs(k - mid) > n // 3:
            return 0
        return 1 if k % 2 == 0 else -1

    for j in range(ny_):  # east-west streets
        cls = line_class(j, mid_j, ny_)
        direction = one_way(j, mid_j, ny_, cls)
        name = street_names.pop() if street_names and cls != "residential" or (
            street_names and rng.random() < 0.5) else None
        for i in range(nx_ - 1):
            a, b = int(ids[j, i]), int(ids[j, i + 1])
            edges.append((b, a, cls, True, name) if direction < 0 else
                         (a, b, cls, direction != 0, name))
    for i in range(nx_):  # north-south streets
        cls = line_class(i, mid_i, nx_)
        direction = one_way(i, mid_i, nx_, cls)
        name = street_names.pop() if street_names and cls != "residential" or (
            street_names and rng.random() < 0.5) else None
        for j in range(ny_ - 1):
            a, b = int(ids[j, i]), int(ids[j + 1, i])
            edges.append((b, a, cls, True, name) if direction < 0 else
                         (a, b, cls, direction != 0, name))
    xs = np.asarray(roads.xs)[ids]
    ys = np.asarray(roads.ys)[ids]
    blocks = np.stack([(xs[:-1, :-1] + xs[1:, 1:] + xs[:-1, 1:] + xs[1:, :-1]) / 4,
                       (ys[:-1, :-1] + ys[1:, 1:] + ys[:-1, 1:] + ys[1:, :-1]) / 4], axis=-1)
    rim = [(0, 0), (0, mid_i), (0, nx_ - 1), (mid_j, 0), (mid_j, nx_ - 1),
           (ny_ - 1, 0), (ny_ - 1, mid_i), (ny_ - 1, nx_ - 1)]
    if city:
        rim += [(0, nx_ // 4), (0, 3 * nx_ // 4), (ny_ - 1, nx_ // 4), (ny_ - 1, 3 * nx_ // 4),
                (ny_ // 4, 0), (3 * ny_ // 4, 0), (ny_ // 4, nx_ - 1), (3 * ny_ // 4, nx_ - 1)]
    gates = sorted({int(ids[j, i]) for j, i in rim})
    rect = (x0, y0, x0 + spacing * (nx_ - 1), y0 + spacing * (ny_ - 1))
    return _Grid(ids, rect, gates, int(ids[mid_j, mid_i]), edges, blocks)


# ---------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoProvince:
    """Tables and road graph of a generated demo province.

    Attributes
    ----------
    settings : the ``scenario.toml`` contents.
    demand : DataFrame ``id, name, lon, lat, population, commune_code, commune_name``.
    sites : DataFrame ``id, name, lon, lat, kind, status, counters, opening_cost,
        capacity_per_day, commune_code``; blanks (``<NA>``/NaN) are left for
        the loader's defaults.
    staff : DataFrame ``id, name, home_site, skills, days_available, leave_dates,
        max_days_per_week, movable`` (list columns hold tuples of str).
    workload : DataFrame ``date`` (datetime64), ``site_id, field, channel, dossiers``.
    communes : DataFrame ``commune_code, commune_name, area, population, lon, lat``
        (area is ``city``, ``town``, ``lowland`` or ``mountain``).
    roads : osmnx-style MultiDiGraph in EPSG:4326 (``x``/``y`` lon/lat, edges with
        ``osmid, highway, oneway, reversed, length`` in metres, sometimes ``name``).
    seed : the seed it was drawn with.
    scale : the size factor (1 for the full province).
    """

    settings: ScenarioSettings
    demand: pd.DataFrame
    sites: pd.DataFrame
    staff: pd.DataFrame
    workload: pd.DataFrame
    communes: pd.DataFrame
    roads: nx.MultiDiGraph[int]
    seed: int
    scale: float

    def to_scenario(self, roads_path: Path | None = None) -> Scenario:
        """The province as a :class:`~geodata.scenario.Scenario` (tables as GeoDataFrames)."""
        def points(df: pd.DataFrame) -> gpd.GeoDataFrame:
            geom = gpd.points_from_xy(df["lon"], df["lat"], crs=WGS84)
            return gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]), geometry=geom, crs=WGS84)

        return Scenario(self.settings, points(self.demand), points(self.sites), self.staff,
                        self.workload, roads_path=roads_path)


def _poisson_disc(rng: np.random.Generator, n: int, min_dist: float, taken: FloatArray,
                  sample: Callable[[np.random.Generator], tuple[float, float]],
                  accept: Callable[[float, float], bool], max_tries: int = 60_000) -> FloatArray:
    """``n`` points from ``sample(rng)`` passing ``accept(x, y)``, at least ``min_dist``
    apart and from ``taken``; ``min_dist`` shrinks by 5 % whenever the region fills up."""
    pts: list[tuple[float, float]] = []
    others = [taken.reshape(-1, 2)]
    tries = 0
    while len(pts) < n:
        x, y = sample(rng)
        tries += 1
        if tries % 3000 == 0:
            min_dist *= 0.95
        if tries > max_tries:
            msg = f"could not place {n} points (placed {len(pts)})"
            raise RuntimeError(msg)
        if not accept(x, y):
            continue
        ref = np.vstack([*others, np.asarray(pts, dtype=float).reshape(-1, 2)])
        if len(ref) and np.min(np.hypot(ref[:, 0] - x, ref[:, 1] - y)) < min_dist:
            continue
        pts.append((x, y))
    return np.asarray(pts, dtype=float).reshape(-1, 2)


def _spread(weights: FloatArray, total: float, minimum: int = 0) -> IntArray:
    """Integer amounts proportional to ``weights`` summing to about ``total``."""
    values: IntArray = np.round(weights / weights.sum() * total).astype(np.int64)
    return np.maximum(values, minimum)


@dataclass
class _Layout:
    """Where everything is, in metres from the province's south-west corner."""

    rng: np.random.Generator
    scale: float
    width: float
    height: float
    origin: tuple[float, float]  # metric coordinates of the south-west corner
    to_lonlat: Transformer
    roads: _Roads = field(default_factory=_Roads)
    city: _Grid | None = None
    towns: list[_Grid] = field(default_factory=list)
    town_is_mtn: list[bool] = field(default_factory=list)
    rural_node: list[int] = field(default_factory=list)
    rural_mtn: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    villages: list[list[int]] = field(default_factory=list)  # per rural commune, centre first

    @property
    def big(self) -> bool:
        return self.scale >= 0.6

    @property
    def grids(self) -> list[_Grid]:
        assert self.city is not None
        return [self.city, *self.towns]

    def count(self, n: int) -> int:
        return max(1, round(n * self.scale))

    def mountain(self, x: float, y: float) -> bool:
        """The north is mountainous; the boundary undulates."""
        return y > self.height * (0.52 + 0.07 * math.sin(2 * math.pi * x / 55_000 + 0.8))

    def is_mtn_node(self, node: int) -> bool:
        return self.mountain(*self.roads.xy(node))

    def lonlat(self, x: float, y: float) -> tuple[float, float]:
        ln, lt = self.to_lonlat.transform(x + self.origin[0], y + self.origin[1])
        return round(float(ln), 6), round(float(lt), 6)

    def lonlat_near(self, node: int, lo: float, hi: float) -> tuple[float, float]:
        """A random point ``lo``-``hi`` metres from a node, in lon/lat (6 decimals)."""
        r, t = self.rng.uniform(lo, hi), self.rng.uniform(0, 2 * math.pi)
        x, y = self.roads.xy(node)
        return self.lonlat(x + r * math.cos(t), y + r * math.sin(t))


_D_LOW, _D_MTN = 4_600.0, 5_600.0  # spacing of rural commune centres, lowland / mountain


def _lay_out(lay: _Layout) -> None:
    """Place the city, the towns, the rural commune centres and their villages."""
    rng, roads, width, height, mountain = lay.rng, lay.roads, lay.width, lay.height, lay.mountain
    city_cx, city_cy = 0.40 * width, 0.17 * height
    lay.city = _make_grid(roads, rng, city_cx, city_cy, 23 if lay.big else 11,
                          19 if lay.big else 9, 270.0, city=True, street_names=list(_STREETS))
    urban_pts = np.array([[city_cx, city_cy]])

    def inner_sample(r: np.random.Generator) -> tuple[float, float]:
        return r.uniform(5_000, width - 5_000), r.uniform(5_000, height - 5_000)

    town_low = _poisson_disc(rng, lay.count(_N_TOWNS[0]), 14_000.0, urban_pts, inner_sample,
                             lambda x, y: not mountain(x, y) and not mountain(x, y + 2_500))
    town_mtn = _poisson_disc(rng, lay.count(_N_TOWNS[1]), 15_000.0,
                             np.vstack([urban_pts, town_low]), inner_sample,
                             lambda x, y: mountain(x, y - 4_000))
    town_xy = np.vstack([town_low, town_mtn])
    lay.town_is_mtn = [False] * len(town_low) + [True] * len(town_mtn)
    lay.towns = [_make_grid(roads, rng, x, y, 5 if m else 7, 5 if m else 7, 300.0, city=False,
                            street_names=[])
                 for (x, y), m in zip(town_xy, lay.town_is_mtn, strict=True)]
    urban_zone = shapely.union_all([shapely.box(*g.rect).buffer(1_500.0) for g in lay.grids])
    shapely.prepare(urban_zone)

    def rural(x: float, y: float) -> bool:
        return not urban_zone.contains(shapely.Point(x, y))

    def frame_sample(r: np.random.Generator) -> tuple[float, float]:
        return r.uniform(2_000, width - 2_000), r.uniform(2_000, height - 2_000)

    urban_centres = np.vstack([urban_pts, town_xy])
    low_c = _poisson_disc(rng, lay.count(_N_RURAL[0]), _D_LOW, urban_centres, frame_sample,
                          lambda x, y: not mountain(x, y) and rural(x, y))
    mtn_c = _poisson_disc(rng, lay.count(_N_RURAL[1]), _D_MTN, np.vstack([urban_centres, low_c]),
                          frame_sample, lambda x, y: mountain(x, y) and rural(x, y))
    rural_xy = np.vstack([low_c, mtn_c])
    lay.rural_mtn = np.array([False] * len(low_c) + [True] * len(mtn_c))
    lay.rural_node = [roads.add_node(x, y) for x, y in rural_xy]

    # villages stay in their commune (nearest centre), 450 m apart
    centre_tree = cKDTree(np.vstack([urban_centres, rural_xy]))
    n_urban = len(urban_centres)
    for k, (cx, cy) in enumerate(rural_xy):
        is_m = bool(lay.rural_mtn[k])
        want = int(rng.integers(13, 21) if is_m else rng.integers(9, 15))
        reach = (0.85 * _D_MTN) if is_m else (0.72 * _D_LOW)
        pts = [(cx, cy)]
        tries = 0
        while len(pts) < want and tries < 60 * want:
            tries += 1
            r = reach * math.sqrt(rng.random())
            t = rng.uniform(0, 2 * math.pi)
            x, y = cx + r * math.cos(t), cy + r * math.sin(t)
            if not (300 < x < width - 300 and 300 < y < height - 300):
                continue
            if centre_tree.query((x, y))[1] != n_urban + k or not rural(x, y):
                continue
            arr = np.asarray(pts)
            if np.min(np.hypot(arr[:, 0] - x, arr[:, 1] - y)) < 450:
                continue
            pts.append((x, y))
        lay.villages.append([lay.rural_node[k]] + [roads.add_node(x, y) for x, y in pts[1:]])


_GridEdge = tuple[str, bool, str | None, int, int]  # class, oneway, name, from, to


def _connect(lay: _Layout) -> None:
    """Roads between communes and towns (Delaunay links), main roads, village tracks."""
    rng, roads = lay.rng, lay.roads
    grids = lay.grids
    city = grids[0]
    # candidate links: Delaunay triangulation of commune centres and grid gates
    hub_nodes = lay.rural_node + [g for grid in grids for g in grid.gates]
    gate_grid = {g: gi for gi, grid in enumerate(grids) for g in grid.gates}
    tri = Delaunay(np.array([roads.xy(n) for n in hub_nodes]))
    pairs: set[tuple[int, int]] = set()
    for simplex in tri.simplices:
        for a, b in ((0, 1), (1, 2), (0, 2)):
            u, v = int(hub_nodes[simplex[a]]), int(hub_nodes[simplex[b]])
            if u in gate_grid and v in gate_grid and gate_grid[u] == gate_grid[v]:
                continue
            pairs.add((min(u, v), max(u, v)))
    hub_pairs = sorted(pairs)
    lines = shapely.linestrings([[roads.xy(u), roads.xy(v)] for u, v in hub_pairs])
    inner = shapely.union_all([shapely.box(*g.rect).buffer(-30.0) for g in grids])
    crosses = shapely.intersects(lines, inner)
    lengths = shapely.length(lines)
    hub_edges = [(u, v, float(L)) for (u, v), c, L in zip(hub_pairs, crosses, lengths, strict=True)
                 if not c and L < 25_000]

    hg: nx.Graph[int] = nx.Graph()
    for u, v, L in hub_edges:
        factor = 1.5 if (lay.is_mtn_node(u) or lay.is_mtn_node(v)) else 1.15
        hg.add_edge(u, v, weight=L * factor, hub=True)
    grid_class: dict[tuple[int, int], _GridEdge] = {}
    for grid in grids:
        for a, b, cls, oneway, name in grid.edges:
            (xa, ya), (xb, yb) = roads.xy(a), roads.xy(b)
            hg.add_edge(a, b, weight=math.hypot(xb - xa, yb - ya), hub=False)
            grid_class[(min(a, b), max(a, b))] = (cls, oneway, name, a, b)
    # keep a spanning tree plus short loops (many in the lowland, few in the mountains)
    mst = nx.minimum_spanning_tree(hg, weight="weight")
    keep = {(min(u, v), max(u, v)) for u, v, d in mst.edges(data=True) if d["hub"]}
    for u, v, L in hub_edges:
        if (u, v) in keep:
            continue
        m = lay.is_mtn_node(u) or lay.is_mtn_node(v)
        if (not m and L < 1.6 * _D_LOW and rng.random() < 0.5) or (
                m and L < 1.2 * _D_MTN and rng.random() < 0.12):
            keep.add((u, v))
    hub_class: dict[tuple[int, int], tuple[str, str | None]] = {
        k: ("tertiary", None) for k in keep}

    def upgrade(path: list[int], cls: str, name: str) -> None:
        for a, b in itertools.pairwise(path):
            key = (min(a, b), max(a, b))
            if key in grid_class:
                gcls, _, gname, ga, gb = grid_class[key]
                if _RANK[cls] < _RANK[gcls]:  # main roads through towns are two-way
                    grid_class[key] = (cls, False, gname or name, ga, gb)
            else:
                old = hub_class.setdefault(key, ("tertiary", None))
                if _RANK[cls] < _RANK[old[0]]:
                    hub_class[key] = (cls, name)

    # main roads take the shortest routes over all links, then join the network:
    # a national road west-east through the city, provincial roads to every town,
    # and secondary roads along a spanning tree of the towns
    low_hubs = [n for n, m in zip(lay.rural_node, lay.rural_mtn, strict=True)
                if not m and roads.xy(n)[1] < 0.4 * lay.height]
    if low_hubs:
        west = min(low_hubs, key=lambda n: roads.xy(n)[0])
        east = max(low_hubs, key=lambda n: roads.xy(n)[0])
        for a, b in ((west, city.center), (city.center, east)):
            upgrade(nx.shortest_path(hg, a, b, weight="weight"), "trunk", "Quốc lộ 18")
    for ti, town in enumerate(lay.towns):
        path = nx.shortest_path(hg, city.center, town.center, weight="weight")
        upgrade(path, "primary", f"Đường tỉnh {331 + 2 * ti}")
    tg: nx.Graph[int] = nx.Graph()
    for ti, town in enumerate(lay.towns):
        dist = nx.single_source_dijkstra_path_length(hg, town.center, weight="weight")
        for tj in range(ti + 1, len(lay.towns)):
            tg.add_edge(ti, tj, weight=dist[lay.towns[tj].center])
    town_links = sorted((min(a, b), max(a, b))
                        for a, b in nx.minimum_spanning_edges(tg, weight="weight", data=False))
    for k, (ti, tj) in enumerate(town_links):
        path = nx.shortest_path(hg, lay.towns[ti].center, lay.towns[tj].center, weight="weight")
        upgrade(path, "secondary", f"Đường tỉnh {360 + k}")

    for (u, v), (cls, name) in sorted(hub_class.items()):
        m = lay.is_mtn_node(u) or lay.is_mtn_node(v)
        roads.add_way(rng, u, v, cls,
                      factor=float(rng.uniform(1.2, 1.4) if m else rng.uniform(1.03, 1.12)),
                      piece_m=700.0 if m else 1_200.0, jitter=0.2 if m else 0.08, name=name)
    for cls, oneway, name, a, b in (grid_class[k] for k in sorted(grid_class)):
        roads.add_way(rng, a, b, cls, factor=1.0, piece_m=1e9, jitter=0.0, oneway=oneway,
                      name=name)

    # village roads: a spanning tree per commune; mountain hamlets hang on winding tracks
    low_village_nodes: list[int] = []
    tree_pairs: set[tuple[int, int]] = set()
    for k, nodes in enumerate(lay.villages):
        is_m = bool(lay.rural_mtn[k])
        if not is_m:
            low_village_nodes += nodes[1:]
        if len(nodes) < 2:
            continue
        xy = np.array([roads.xy(n) for n in nodes])
        dmat = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
        tree = minimum_spanning_tree(dmat).tocoo()
        for i, j in sorted(zip(tree.row.tolist(), tree.col.tolist(), strict=True)):
            u, v = nodes[min(i, j)], nodes[max(i, j)]
            tree_pairs.add((min(u, v), max(u, v)))
            if is_m:
                cls = "unclassified" if min(i, j) == 0 else "track"
                roads.add_way(rng, u, v, cls, factor=float(rng.uniform(1.3, 1.6)),
                              piece_m=600.0, jitter=0.22)
            else:
                roads.add_way(rng, u, v, "unclassified", factor=float(rng.uniform(1.05, 1.2)),
                              piece_m=1_200.0, jitter=0.1)
    # lowland villages are also linked to close neighbours, across commune borders
    if low_village_nodes:
        lv = np.array([roads.xy(n) for n in low_village_nodes])
        for i, j in sorted(cKDTree(lv).query_pairs(1_300.0)):
            u, v = low_village_nodes[i], low_village_nodes[j]
            if (min(u, v), max(u, v)) in tree_pairs or rng.random() >= 0.2:
                continue
            roads.add_way(rng, u, v, "unclassified", factor=float(rng.uniform(1.05, 1.2)),
                          piece_m=1_200.0, jitter=0.1)


def _populate(lay: _Layout) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Demand points and communes (``code, name, area, centre, reception, population``)."""
    rng, roads = lay.rng, lay.roads
    city = lay.grids[0]
    target = TARGET_POPULATION * lay.scale
    communes: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    codes = iter(range(90_001, 99_999))
    taken_names: set[str] = set()

    def add_point(name: str, lonlat: tuple[float, float], population: int, code: str,
                  commune: str) -> None:
        rows.append({"name": name, "lon": lonlat[0], "lat": lonlat[1],
                     "population": population, "commune_code": code, "commune_name": commune})

    # city wards: the blocks split into kx x ky wards, denser towards the centre
    bny, bnx = city.blocks.shape[:2]
    kx, ky = (4, 4) if lay.big else (2, 2)
    cx, cy = roads.xy(city.center)
    bx, by = city.blocks[..., 0], city.blocks[..., 1]
    w_block = (np.exp(-np.hypot(bx - cx, by - cy) / 2_500.0)
               * rng.lognormal(0.0, 0.35, bx.shape) + 0.15)
    pop_block = _spread(w_block.ravel(), target * _POP_SHARE["city"], 50).reshape(bx.shape)
    ward_of = (np.arange(bny)[:, None] * ky // bny) * kx + (np.arange(bnx)[None, :] * kx // bnx)
    for w in range(kx * ky):
        code, name = str(next(codes)), f"Phường {w + 1}"
        js, is_ = np.nonzero(ward_of == w)
        mid = int(np.argmin(np.hypot(js - js.mean(), is_ - is_.mean())))
        centre = int(city.nodes[js[mid], is_[mid]])
        communes.append({"code": code, "name": name, "area": "city", "centre": centre,
                         "reception": centre})
        for n, (j, i) in enumerate(zip(js, is_, strict=True)):
            x, y = city.blocks[j, i] + rng.normal(0.0, 25.0, 2)
            add_point(f"Tổ dân phố {n + 1}", lay.lonlat(x, y), int(pop_block[j, i]), code, name)
    # towns: one ward each
    town_names = _unique_names(rng, len(lay.towns), _KINH_1, _KINH_2, taken_names)
    town_w = rng.uniform(0.7, 1.3, len(lay.towns)) * np.where(lay.town_is_mtn, 0.45, 1.0)
    town_pop = _spread(town_w, target * _POP_SHARE["town"])
    for t, town in enumerate(lay.towns):
        code, name = str(next(codes)), f"Phường {town_names[t]}"
        tx, ty = roads.xy(town.center)
        bx, by = town.blocks[..., 0], town.blocks[..., 1]
        w_town = np.exp(-np.hypot(bx - tx, by - ty) / 900.0) * rng.lognormal(0.0, 0.3, bx.shape)
        pops = _spread(w_town.ravel(), float(town_pop[t]), 30)
        mid = town.nodes.shape[0] // 2
        communes.append({"code": code, "name": name, "area": "town", "centre": town.center,
                         "reception": int(town.nodes[mid, mid - 1])})
        for n, (x, y) in enumerate(town.blocks.reshape(-1, 2)):
            add_point(f"Khu phố {n + 1}", lay.lonlat(x + rng.normal(0, 20), y + rng.normal(0, 20)),
                      int(pops[n]), code, name)
    # rural communes: Kinh names in the lowland, Tày-Nùng names in the mountains
    mtn = lay.rural_mtn
    names = {False: iter(_unique_names(rng, int((~mtn).sum()), _KINH_1, _KINH_2, taken_names)),
             True: iter(_unique_names(rng, int(mtn.sum()), _TAY_1, _TAY_2, taken_names))}
    cw = rng.lognormal(0.0, 0.3, len(lay.rural_node))
    rural_pop = np.zeros(len(lay.rural_node))
    for is_m, share in ((False, _POP_SHARE["lowland"]), (True, _POP_SHARE["mountain"])):
        sel = mtn == is_m
        if sel.any():
            rural_pop[sel] = cw[sel] / cw[sel].sum() * target * share
    for k, nodes in enumerate(lay.villages):
        is_m = bool(mtn[k])
        code, base = str(next(codes)), next(names[is_m])
        name = f"Xã {base}"
        communes.append({"code": code, "name": name, "area": "mountain" if is_m else "lowland",
                         "centre": nodes[0], "reception": nodes[0]})
        vw = rng.lognormal(0.0, 0.5, len(nodes))
        vw[0] *= 2.5
        pops = _spread(vw, float(rural_pop[k]), 20)
        local: set[str] = set()
        for n, node in enumerate(nodes):
            if n == 0:
                vname = f"Bản {base}" if is_m else f"Thôn Trung Tâm {base}"
            elif is_m:
                prefix = "Thôn" if rng.random() < 0.6 else "Bản"
                vname = f"{prefix} {_unique_names(rng, 1, _TAY_1, _TAY_2, local)[0]}"
            elif rng.random() < 0.3:
                vname = f"Xóm {len(local) + 1}"
                local.add(vname)
            else:
                words = _unique_names(rng, 1, _KINH_1 + _VILLAGE_WORDS, _VILLAGE_WORDS, local)
                vname = f"Thôn {words[0]}"
            add_point(vname, lay.lonlat_near(node, 40.0, 160.0), int(pops[n]), code, name)
    demand = pd.DataFrame(rows)
    demand.insert(0, "id", [f"D{i + 1:04d}" for i in range(len(demand))])
    commune_df = pd.DataFrame(communes)
    pop_by_code = demand.groupby("commune_code", sort=False)["population"].sum()
    commune_df["population"] = commune_df["code"].map(pop_by_code).astype("int64")
    return demand, commune_df


@dataclass
class _Sites:
    """The sites table being built, with each site's road node and area."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    node: list[int] = field(default_factory=list)
    area: list[str] = field(default_factory=list)

    def add(self, lay: _Layout, sid: str, name: str, node: int, kind: str, status: str, *,
            counters: Any, cost: float, capacity: float, code: str, area: str) -> None:
        ln, lt = lay.lonlat_near(node, 15.0, 60.0)
        self.rows.append({"id": sid, "name": name, "lon": ln, "lat": lt, "kind": kind,
                          "status": status, "counters": counters, "opening_cost": cost,
                          "capacity_per_day": capacity, "commune_code": code})
        self.node.append(node)
        self.area.append(area)

    def table(self) -> pd.DataFrame:
        sites = pd.DataFrame(self.rows)
        sites["counters"] = sites["counters"].astype("Int64")
        sites["opening_cost"] = sites["opening_cost"].astype(float)
        sites["capacity_per_day"] = sites["capacity_per_day"].astype(float)
        return sites


_CANDIDATE_KINDS: dict[str, float] = {  # name prefix -> typical opening cost
    "Điểm bưu điện văn hóa": 1.2, "Trường Tiểu học": 1.5, "Nhà văn hóa": 1.3, "Chợ": 1.8,
    "Bưu điện": 1.2,
}


def _place_sites(lay: _Layout, communes: pd.DataFrame, demand: pd.DataFrame) -> _Sites:
    """Branches (HQ, two in the city, one per town), a reception point per commune, candidates."""
    rng, roads = lay.rng, lay.roads
    city = lay.grids[0]
    out = _Sites()
    nan = math.nan
    wards = communes[communes["area"] == "city"]
    out.add(lay, "B01", "Trung tâm Phục vụ hành chính công tỉnh (trụ sở chính)", city.center,
            "branch", "must_open", counters=16, cost=nan, capacity=640.0,
            code=str(wards["code"].iloc[len(wards) // 2]), area="hq")
    cx, cy = roads.xy(city.center)

    def ward_distance(i: int) -> float:
        x, y = roads.xy(int(wards["centre"].iloc[i]))
        return -math.hypot(x - cx, y - cy)

    branch_no = 1
    for i in sorted(sorted(range(len(wards)), key=ward_distance)[:2]):
        row = wards.iloc[i]
        branch_no += 1
        j, k = np.argwhere(city.nodes == row["centre"])[0]
        out.add(lay, f"B{branch_no:02d}", f"Chi nhánh số {branch_no - 1} – {row['name']}",
                int(city.nodes[max(0, j - 1), k]), "branch", "optional",
                counters=int(rng.integers(6, 9)), cost=nan, capacity=nan,
                code=str(row["code"]), area="city")
    town_rows = communes[communes["area"] == "town"].reset_index(drop=True)
    must = set(np.argsort(-town_rows["population"].to_numpy(), kind="stable")[:4].tolist())
    for t, town in enumerate(lay.towns):
        branch_no += 1
        row = town_rows.iloc[t]
        counters = int(rng.integers(3, 6) if lay.town_is_mtn[t] else rng.integers(5, 9))
        out.add(lay, f"B{branch_no:02d}", f"Chi nhánh số {branch_no - 1} – {row['name']}",
                town.center, "branch", "must_open" if t in must else "optional",
                counters=counters, cost=nan, capacity=nan, code=str(row["code"]), area="town")
    lowland = np.flatnonzero(communes["area"] == "lowland")
    closed = set(rng.choice(lowland, size=min(3, len(lowland)), replace=False).tolist())
    for i, c in enumerate(communes.to_dict("records")):
        area = str(c["area"])
        n_counters: Any = {"city": 3, "town": 3, "mountain": 1}.get(
            area, 2 if c["population"] > 9_000 else 1)
        if n_counters == 1 and rng.random() < 0.5:
            n_counters = pd.NA  # left blank: the loader's default is one counter
        name = str(c["name"])
        out.add(lay, f"R{i + 1:03d}", f"Bộ phận một cửa {name[0].lower()}{name[1:]}",
                int(c["reception"]), "reception", "closed" if i in closed else "optional",
                counters=n_counters, cost=nan, capacity=nan, code=str(c["code"]), area=area)

    # candidates: in villages far from the commune centre, and in towns and city wards
    cand: list[tuple[int, str, str, str]] = []  # node, name, commune code, area
    village_kinds = list(_CANDIDATE_KINDS)[:4]
    by_code = dict(iter(demand.groupby("commune_code", sort=False)))
    first_rural = len(wards) + len(lay.towns)
    for k, nodes in enumerate(lay.villages):
        code = str(communes["code"].iloc[first_rural + k])
        is_m = bool(lay.rural_mtn[k])
        if len(nodes) < 2:
            continue
        want = 2 if is_m else int(rng.random() < 0.7)
        cx, cy = roads.xy(nodes[0])
        dist = np.array([math.hypot(roads.xy(n)[0] - cx, roads.xy(n)[1] - cy) for n in nodes[1:]])
        vpop = by_code[code]["population"].to_numpy()[1:].astype(float)
        pick_w = dist * np.sqrt(vpop)
        picks = rng.choice(len(nodes) - 1, size=min(want, len(nodes) - 1), replace=False,
                           p=pick_w / pick_w.sum())
        vnames = by_code[code]["name"].to_numpy()[1:]
        for j in sorted(picks.tolist()):
            kind = village_kinds[int(rng.integers(len(village_kinds)))]
            cand.append((nodes[1 + j], f"{kind} {vnames[j]}", code,
                         "mountain" if is_m else "lowland"))
    for t, town in enumerate(lay.towns):
        row = town_rows.iloc[t]
        mid = town.nodes.shape[0] // 2
        for kind, (dj, di) in (("Bưu điện", (1, 1)), ("Chợ", (-1, 1))):
            cand.append((int(town.nodes[mid + dj, mid + di]), f"{kind} {row['name']}",
                         str(row["code"]), "town"))
    for w in range(0, len(wards), 2):
        row = wards.iloc[w]
        j, i = np.argwhere(city.nodes == row["centre"])[0]
        node = int(city.nodes[min(j + 1, city.nodes.shape[0] - 1), i])
        cand.append((node, f"Bưu điện {row['name']}", str(row["code"]), "city"))
    closed_cand = set(rng.choice(len(cand), size=min(3, len(cand)), replace=False).tolist())
    for n, (node, cname, ccode, carea) in enumerate(cand):
        base = next(v for k, v in _CANDIDATE_KINDS.items() if cname.startswith(k))
        out.add(lay, f"C{n + 1:03d}", cname, node, "candidate",
                "closed" if n in closed_cand else "optional", counters=pd.NA,
                cost=round(base * float(rng.uniform(0.85, 1.15)), 2), capacity=nan,
                code=ccode, area=carea)
    return out


@dataclass(frozen=True)
class _History:
    workload: pd.DataFrame
    per_day: FloatArray  # expected dossiers per working day, (site, field)
    online: FloatArray  # online share, (site, field)
    to_branch: FloatArray  # motorbike minutes from every node to each branch, (branch, node)


def _history(lay: _Layout, graph: nx.MultiDiGraph[int], communes: pd.DataFrame,
             sites: _Sites) -> _History:
    """Eight weeks of daily dossiers by site, field and channel.

    Each commune files about one dossier per resident per year; province-level
    fields (land, business, construction) go mostly to the nearest branch by
    motorbike, the rest to the commune's reception point (or the nearest open
    one when it is closed).
    """
    rng = lay.rng
    minutes_t = _travel_minutes(graph, DEMO_SPEEDS_KPH["motorbike"]).T.tocsr()
    node_index = {n: i for i, n in enumerate(graph.nodes)}
    n_branches = sum(1 for r in sites.rows if r["kind"] == "branch")
    to_branch = dijkstra(minutes_t, indices=[node_index[sites.node[b]] for b in range(n_branches)])
    recep = [i for i, r in enumerate(sites.rows) if r["kind"] == "reception"]
    open_recep = [i for i in recep if sites.rows[i]["status"] != "closed"]
    _, _, source = dijkstra(minutes_t, indices=[node_index[sites.node[i]] for i in open_recep],
                            min_only=True, return_predecessors=True)
    site_of_node = {node_index[sites.node[i]]: i for i in open_recep}
    n_sites = len(sites.rows)
    volume = np.zeros((n_sites, len(FIELDS)))  # dossiers per year
    for ci, c in enumerate(communes.to_dict("records")):
        area = str(c["area"])
        centre = node_index[int(c["centre"])]
        branch = int(np.argmin(to_branch[:, centre]))
        rec = recep[ci]
        if sites.rows[rec]["status"] == "closed":
            rec = site_of_node[int(source[centre])]
        per_year = float(c["population"]) * _RATE[area] * float(rng.lognormal(0.0, 0.08))
        mix = rng.dirichlet(np.asarray(_FIELD_MIX[area]) * 300.0)
        for f, fld in enumerate(FIELDS):
            volume[branch, f] += per_year * mix[f] * _TO_BRANCH[fld]
            volume[rec, f] += per_year * mix[f] * (1 - _TO_BRANCH[fld])
    lo, hi = ONLINE_SHARE_RANGE
    online = np.zeros_like(volume)
    for s in range(n_sites):
        for f, fld in enumerate(FIELDS):
            share = _ONLINE_BASE[sites.area[s]] + _ONLINE_FIELD[fld] + rng.normal(0.0, 0.03)
            online[s, f] = float(np.clip(share, lo + 0.07, hi - 0.03))
    days = [HISTORY_END - timedelta(days=7 * HISTORY_WEEKS - 1 - i)
            for i in range(7 * HISTORY_WEEKS)]
    days = [d for d in days if d.weekday() < 6]
    # one branch serves a growing industrial zone: +4 % a week
    growth = np.ones(n_sites)
    boom = 1 + int(rng.integers(2, n_branches)) if n_branches > 2 else 0
    growth[min(boom, n_branches - 1)] = 1.04
    per_day = volume / (52 * 6)
    active = [(s, f) for s in range(n_sites) for f in range(len(FIELDS)) if per_day[s, f] > 0]
    rows_site: list[int] = []
    rows_day: list[int] = []
    rows_field: list[int] = []
    counts: list[tuple[int, int]] = []
    for di, d in enumerate(days):
        week = di // 6
        factor = _WEEKDAY_FACTOR[d.weekday()] * (1 + 0.006 * (week - 3.5))
        for s, f in active:
            lam = per_day[s, f] * factor * growth[s] ** (week - HISTORY_WEEKS + 1)
            rows_site.append(s)
            rows_day.append(di)
            rows_field.append(f)
            counts.append((int(rng.poisson(lam * online[s, f])),
                           int(rng.poisson(lam * (1 - online[s, f])))))
    site_ids = np.array([r["id"] for r in sites.rows])
    day_arr = np.array([np.datetime64(d.isoformat()) for d in days])
    workload = pd.DataFrame({
        "date": np.repeat(day_arr[rows_day], 2),
        "site_id": np.repeat(site_ids[rows_site], 2),
        "field": np.repeat(np.array(FIELDS)[rows_field], 2),
        "channel": np.tile(np.array(["online", "in_person"]), len(rows_site)),
        "dossiers": np.asarray(counts, dtype=np.int64).ravel(),
    })
    workload["date"] = workload["date"].astype("datetime64[ns]")
    return _History(workload, per_day, online, to_branch)


def _staff_counts(lay: _Layout, sites: _Sites, history: _History,
                  graph: nx.MultiDiGraph[int]) -> IntArray:
    """Staff per site: branches sized to their load, except three understaffed
    ("hot") branches whose nearest branch is overstaffed; the rest of the staff
    go to the busiest reception points."""
    rng = lay.rng
    service = np.array([DEFAULT_SERVICE_MINUTES[f] for f in FIELDS])
    processing = np.array([DEFAULT_PROCESSING_MINUTES[f] for f in FIELDS])
    work_min = (history.per_day * ((1 - history.online) * service + processing)).sum(axis=1)
    need = work_min / (480.0 * 0.85) * 6 / 5  # each works 5 of 6 days at 85 % utilisation
    n_sites = len(sites.rows)
    n_branches = history.to_branch.shape[0]
    node_index = {n: i for i, n in enumerate(graph.nodes)}
    b_nodes = [node_index[sites.node[b]] for b in range(n_branches)]
    hot: set[int] = set()
    if n_branches > 3:
        hot = set((1 + rng.choice(n_branches - 1, size=min(3, n_branches - 2),
                                  replace=False)).tolist())
    counts = np.zeros(n_sites, dtype=np.int64)
    for b in range(n_branches):
        factor = float(rng.uniform(0.95, 1.1))
        if b in hot:
            factor = 0.62
        elif any(min((x for x in range(n_branches) if x != h),
                     key=lambda x: history.to_branch[h, b_nodes[x]]) == b for h in hot):
            factor = 1.45
        counts[b] = max(2, round(need[b] * factor))
    left = max(0, round(TARGET_STAFF * lay.scale) - int(counts.sum()))
    recep = [i for i, r in enumerate(sites.rows)
             if r["kind"] == "reception" and r["status"] != "closed"]
    for i in sorted(recep, key=lambda i: (-need[i], i)):
        if left <= 0:
            break
        counts[i] = min(left, max(1, min(3, round(need[i] * rng.uniform(0.8, 1.1)))))
        left -= int(counts[i])
    return counts


def generate_demo(seed: int = DEFAULT_SEED, scale: float = 1.0) -> DemoProvince:
    """Generate the synthetic demo province.

    Parameters
    ----------
    seed : seed of ``np.random.default_rng``; the same seed gives the same data.
    scale : size factor in (0, 1]: 1 is the full province (about 1,000,000
        residents, 150 communes, 160 staff); smaller values give a narrower
        province with proportionally fewer communes, residents and staff
        (for fast tests).

    Returns
    -------
    DemoProvince
        Tables following ``docs/scenario-format.md`` and the road graph.

    Raises
    ------
    ValueError
        If ``scale`` is not in (0, 1].
    """
    if not 0 < scale <= 1:
        msg = f"scale must be in (0, 1], got {scale!r}"
        raise ValueError(msg)
    origin = Transformer.from_crs(WGS84, METRIC_CRS, always_xy=True).transform(*_ORIGIN_LONLAT)
    lay = _Layout(rng=np.random.default_rng(seed), scale=scale,
                  width=_WIDTH_M * max(scale, 0.3), height=_HEIGHT_M,
                  origin=(float(origin[0]), float(origin[1])),
                  to_lonlat=Transformer.from_crs(METRIC_CRS, WGS84, always_xy=True))
    _lay_out(lay)
    _connect(lay)
    xs, ys = np.asarray(lay.roads.xs), np.asarray(lay.roads.ys)
    lon, lat = lay.to_lonlat.transform(xs + lay.origin[0], ys + lay.origin[1])
    graph = _build_graph(lay.roads, np.round(lon, 6), np.round(lat, 6), seed)

    demand, communes = _populate(lay)
    sites = _place_sites(lay, communes, demand)
    history = _history(lay, graph, communes, sites)
    counts = _staff_counts(lay, sites, history, graph)
    staff = _make_staff(lay.rng, counts, np.array([r["id"] for r in sites.rows]), sites.area)
    workload = history.workload
    centres = [lay.lonlat(*lay.roads.xy(int(n))) for n in communes["centre"]]
    commune_table = pd.DataFrame({
        "commune_code": communes["code"], "commune_name": communes["name"],
        "area": communes["area"], "population": communes["population"],
        "lon": [c[0] for c in centres], "lat": [c[1] for c in centres]})
    site_table = sites.table()
    logger.info("demo province (seed %d, scale %g): %d residents in %d communes, %d demand "
                "points, %d sites, %d staff, %d workload rows, graph %d nodes / %d edges",
                seed, scale, int(demand["population"].sum()), len(communes), len(demand),
                len(site_table), len(staff), len(workload), len(graph), graph.number_of_edges())
    return DemoProvince(_settings(seed, demand, workload), demand, site_table, staff, workload,
                        commune_table, graph, seed, scale)


def _build_graph(roads: _Roads, lon: FloatArray, lat: FloatArray,
                 seed: int) -> nx.MultiDiGraph[int]:
    """osmnx-style MultiDiGraph: node ids from 1, lengths as great-circle metres x factor."""
    graph: nx.MultiDiGraph[int] = nx.MultiDiGraph(crs=WGS84, simplified=True, synthetic=True,
                            created_with=f"motcua geodata.demo seed={seed}")
    neighbours: list[set[int]] = [set() for _ in range(len(lon))]
    edges: list[tuple[int, int, dict[str, Any]]] = []
    for wi, way in enumerate(roads.ways):
        a = np.asarray(way.nodes[:-1])
        b = np.asarray(way.nodes[1:])
        dist = ox.distance.great_circle(lat[a], lon[a], lat[b], lon[b])
        for u, v, d in zip(a.tolist(), b.tolist(), np.atleast_1d(dist).tolist(), strict=True):
            neighbours[u].add(v)
            neighbours[v].add(u)
            attrs: dict[str, Any] = {"osmid": 100_000 + wi, "highway": way.highway,
                                     "oneway": way.oneway, "reversed": False,
                                     "length": round(float(d) * way.factor, 3)}
            if way.name:
                attrs["name"] = way.name
            edges.append((u + 1, v + 1, attrs))
            if not way.oneway:
                edges.append((v + 1, u + 1, attrs | {"reversed": True}))
    for n in range(len(lon)):
        graph.add_node(n + 1, y=float(lat[n]), x=float(lon[n]), street_count=len(neighbours[n]))
    graph.add_edges_from(edges)
    return graph


def _travel_minutes(graph: nx.MultiDiGraph[int], speeds_kph: dict[str, float]) -> sp.csr_matrix:
    """Sparse matrix of edge travel minutes (fastest parallel edge), rows = from-node."""
    index = {n: i for i, n in enumerate(graph.nodes)}
    rows, cols, vals = [], [], []
    for u, v, d in graph.edges(data=True):
        rows.append(index[u])
        cols.append(index[v])
        vals.append(float(d["length"]) / 1000.0 / speeds_kph[str(d["highway"])] * 60.0)
    order = np.lexsort((np.asarray(vals), np.asarray(cols), np.asarray(rows)))
    r, c, t = np.asarray(rows)[order], np.asarray(cols)[order], np.asarray(vals)[order]
    first = np.ones(len(r), dtype=bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    n = len(index)
    return sp.csr_matrix((t[first], (r[first], c[first])), shape=(n, n))


def _make_staff(rng: np.random.Generator, staff_count: IntArray, site_ids: npt.NDArray[Any],
                site_area: list[str]) -> pd.DataFrame:
    """Staff per home site with skills, availability, W48 leave and mobility."""
    rows: list[dict[str, Any]] = []
    names: set[str] = set()
    w48 = PLAN_WEEK
    w49 = tuple((date(2026, 11, 30) + timedelta(days=i)).isoformat() for i in range(6))
    for s in np.flatnonzero(staff_count).tolist():
        for _ in range(int(staff_count[s])):
            name = _person_name(rng)
            while name in names:
                name = _person_name(rng)
            names.add(name)
            skills = tuple(f for f in FIELDS if rng.random() < _SKILL_P[f])
            if rng.random() < 0.12:  # a few generalists
                skills = tuple(f for f in FIELDS if f in skills or rng.random() < 0.7)
            if not skills:
                skills = ("other",) if rng.random() < 0.5 else ("justice",)
            r = rng.random()
            if r < 0.85:
                days, max_days = WEEKDAYS[:6], 5 if rng.random() < 0.8 else 6
            elif r < 0.95:
                days, max_days = WEEKDAYS[:5], 5
            else:
                days = ("Mon", "Wed", "Fri") if rng.random() < 0.5 else ("Tue", "Thu", "Sat")
                max_days = 3
            leave: tuple[str, ...] = ()
            r = rng.random()
            if r < 0.12:
                start, length = int(rng.integers(0, 6)), int(rng.integers(1, 4))
                leave = w48[start:start + length]
            elif r < 0.17:
                start, length = int(rng.integers(0, 6)), int(rng.integers(1, 6))
                leave = w49[start:start + length]
            reception = site_area[s] not in ("hq",) and str(site_ids[s]).startswith("R")
            movable = bool(rng.random() < (0.6 if reception else 0.88))
            rows.append({"name": name, "home_site": str(site_ids[s]), "skills": skills,
                         "days_available": days, "leave_dates": leave,
                         "max_days_per_week": max_days, "movable": movable})
    staff = pd.DataFrame(rows, columns=["name", "home_site", "skills", "days_available",
                                        "leave_dates", "max_days_per_week", "movable"])
    staff.insert(0, "id", [f"S{i + 1:03d}" for i in range(len(staff))])
    staff["max_days_per_week"] = staff["max_days_per_week"].astype("int64")
    staff["movable"] = staff["movable"].astype(bool)
    return staff


def _settings(seed: int, demand: pd.DataFrame, workload: pd.DataFrame) -> ScenarioSettings:
    """``scenario.toml``: demand parameters are read back from the generated history."""
    n_days = workload["date"].nunique()
    total = float(workload["dossiers"].sum())
    per_year = total / n_days * 52 * 6
    per_1000 = round(per_year / float(demand["population"].sum()) * 1000.0, 1)
    by_channel = workload.groupby(["field", "channel"])["dossiers"].sum().unstack()
    in_person = (by_channel["in_person"] / by_channel.sum(axis=1)).round(3)
    overall = round(float(by_channel["in_person"].sum()) / total, 3)
    return ScenarioSettings(
        name=NAME,
        description=DESCRIPTION.format(seed=seed),
        crs=METRIC_CRS,
        synthetic=True,
        files=ScenarioFiles(demand="demand.csv", sites="sites.csv", staff="staff.csv",
                            workload="workload.csv.gz", roads="roads.graphml"),
        coverage=CoverageStandard(),
        travel=TravelSettings(speeds_kph={m: dict(t) for m, t in DEMO_SPEEDS_KPH.items()}),
        demand=DemandSettings(
            dossiers_per_1000_per_year=per_1000, in_person_share=overall,
            in_person_share_by_field={f: float(in_person[f]) for f in FIELDS if f in in_person}),
        work=WorkSettings(holidays=HOLIDAYS),
    )


def write_demo(folder: str | Path, seed: int = DEFAULT_SEED, scale: float = 1.0) -> Path:
    """Generate the demo province and save it as a scenario folder (atomically).

    Parameters
    ----------
    folder : target folder; replaced if it exists.
    seed : generator seed.
    scale : size factor (see :func:`generate_demo`).

    Returns
    -------
    Path
        The scenario folder.
    """
    return save_demo(generate_demo(seed, scale), folder)


def save_demo(province: DemoProvince, folder: str | Path) -> Path:
    """Save a generated province as a scenario folder (atomically), roads included.

    Returns
    -------
    Path
        The scenario folder.
    """
    with tempfile.TemporaryDirectory(prefix="motcua-demo-") as tmp:
        roads_path = Path(tmp) / "roads.graphml"
        ox.save_graphml(province.roads, roads_path)
        return save_scenario(province.to_scenario(roads_path), folder)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m geodata.demo OUT_DIR [--seed N] [--scale S]``."""
    parser = argparse.ArgumentParser(
        prog="python -m geodata.demo",
        description="Write the synthetic demo province 'Tỉnh Mẫu' as a scenario folder.")
    parser.add_argument("out_dir", type=Path, help="scenario folder to write (replaced)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"random seed (default {DEFAULT_SEED}, the committed demo)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="size factor in (0, 1]; 1 is the full province")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error(f"--scale must be in (0, 1], got {args.scale}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    folder = write_demo(args.out_dir, args.seed, args.scale)
    logger.info("wrote %s", folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
