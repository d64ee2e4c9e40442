"""A small valid scenario written to a temporary folder; tests then break one thing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

TOML = """\
name = "Xã Thử nghiệm"
description = "Kịch bản nhỏ để kiểm thử — test scenario"
crs = "EPSG:32648"

[files]
demand = "demand.csv"
sites = "sites.csv"
staff = "staff.csv"
workload = "workload.csv"

[coverage]
max_minutes = 30
max_km = 5.0
rule = "either"
"""

DEMAND = """\
id,name,lon,lat,population,commune_code,commune_name
d1,Thôn Nà Pàn,107.10,21.30,1200,06895,Xã Đầm Hà
d2,Thôn Bắc Cương,107.12,21.31,800,06895,Xã Đầm Hà
d3,Phường Ánh Sáng,107.20,21.35,5000,06901,Xã Quảng Tân
"""

SITES = """\
id,name,lon,lat,kind,status,counters,opening_cost,capacity_per_day,commune_code
s1,Chi nhánh Đầm Hà,107.11,21.30,branch,must_open,4,10,,06895
s2,Điểm tiếp nhận Quảng Tân,107.19,21.35,reception,optional,2,,60,06901
s3,Bưu điện Tân Bình,107.15,21.32,candidate,,,3,,
"""

STAFF = """\
id,name,home_site,skills,days_available,leave_dates,max_days_per_week,movable
p1,Nguyễn Thị Hoa,s1,land;justice,,2026-11-24,5,true
p2,Trần Văn Bình,s2,business,Mon;Tue;Wed,,,no
"""

WORKLOAD = """\
date,site_id,field,channel,dossiers
2026-11-16,s1,land,in_person,12
2026-11-16,s1,land,online,30
2026-11-17,s2,business,online,7
"""

FILES = {
    "scenario.toml": TOML,
    "demand.csv": DEMAND,
    "sites.csv": SITES,
    "staff.csv": STAFF,
    "workload.csv": WORKLOAD,
}

MakeScenario = Callable[..., Path]


@pytest.fixture
def make_scenario(tmp_path: Path) -> MakeScenario:
    """``make_scenario(**{"sites.csv": text})`` writes the small scenario with overrides.

    A value of ``None`` omits the file; ``bytes`` are written as they are.
    """

    def make(**overrides: str | bytes | None) -> Path:
        folder = tmp_path / "scn"
        folder.mkdir(exist_ok=True)
        for name, text in {**FILES, **overrides}.items():
            if text is None:
                continue
            data = text if isinstance(text, bytes) else text.encode("utf-8")
            (folder / name).write_bytes(data)
        return folder

    return make
