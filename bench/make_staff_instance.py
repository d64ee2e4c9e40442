"""A province-size staffing instance from an imported scenario (deterministic seed).

Takes a scenario folder written by ``motcua import`` (real communes and
population, e.g. Quảng Ninh 2025 from ``../shared/data``, see docs/import.md) and
writes a copy with what the import cannot know, generated from the population
with a seed:

* ``sites.csv``: the imported reception points, the most populous tenth made
  branches (4 counters), plus reception points at the most populous demand
  points at least 2 km from any site until there are ``--sites``; every site
  gets at least one counter per person based there (a desk each: the import's
  one counter per reception point would cap every queue at one server, so no
  roster could shorten a wait);
* ``staff.csv``: ``--staff`` people, spread over the sites in proportion to the
  residents nearest each (at least one each), skills drawn per person (each
  field with probability 0.5, ``other`` always), Mon-Sat available, 5 days a
  week, 85 % movable, 4 % on leave on a random day of the planned week;
* ``workload.csv``: ``--weeks`` weeks of daily dossiers by site, field and
  channel (Poisson around the residents' yearly rate, scaled so that the
  province's work is ``--load`` of its staff's time, each site busy, usual or
  quiet by a seeded factor so that some sites are overloaded at home).

    python bench/make_staff_instance.py local/quang-ninh --out local/qn-staff \\
        --staff 400 --sites 120 --seed 2025
    motcua staff local/qn-staff

Synthetic staff and dossiers on real geography: the script says so in the
scenario's description; nothing here is a real roster.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tomllib
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


def _xy(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Kilometres on a local plane (good enough within a province)."""
    lat0 = float(np.mean(lat))
    return np.column_stack([lon * 111.32 * np.cos(np.radians(lat0)), lat * 110.57])


def make(src: Path, out: Path, n_staff: int, n_sites: int, weeks: int, load: float,
         seed: int, end: date) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    settings = tomllib.loads((src / "scenario.toml").read_text(encoding="utf-8"))
    fields = list(settings["service_minutes"])
    in_person = float(settings["demand"].get("in_person_share", 0.3))
    # minutes of one dossier: reception and processing in person, processing online
    minutes = {f: in_person * settings["service_minutes"][f]
               + settings["processing_minutes"].get(f, 0.0) for f in fields}
    sites = pd.read_csv(src / "sites.csv", dtype={"commune_code": str, "id": str})
    demand = pd.read_csv(src / "demand.csv", dtype={"commune_code": str, "id": str})
    # reception points at the most populous demand points 2 km or more from any site
    dxy = _xy(demand["lon"].to_numpy(float), demand["lat"].to_numpy(float))
    sxy = list(_xy(sites["lon"].to_numpy(float), sites["lat"].to_numpy(float)))
    extra = []
    for i in np.argsort(-demand["population"].to_numpy(float), kind="stable"):
        if len(sites) + len(extra) >= n_sites:
            break
        if min(float(np.hypot(*(dxy[i] - s))) for s in sxy) < 2.0:
            continue
        sxy.append(dxy[i])
        row = demand.iloc[i]
        extra.append({"id": f"rx_{len(extra) + 1:03d}",
                      "name": f"Điểm tiếp nhận bổ sung {len(extra) + 1} ({row['name']})",
                      "lon": row["lon"], "lat": row["lat"], "kind": "reception",
                      "status": "optional", "counters": 1, "opening_cost": 1.0,
                      "capacity_per_day": 40.0, "commune_code": row["commune_code"]})
    sites = pd.concat([sites, pd.DataFrame(extra)], ignore_index=True)
    sxy_a = np.asarray(sxy)
    nearest = np.argmin(np.hypot(*(dxy[:, None, :] - sxy_a[None, :, :]).transpose(2, 0, 1)),
                        axis=1)
    served = np.bincount(nearest, weights=demand["population"].to_numpy(float),
                         minlength=len(sites))
    n_branch = max(1, len(sites) // 10)
    branches = np.argsort(-served, kind="stable")[:n_branch]
    sites.loc[branches, "kind"] = "branch"
    sites.loc[branches, "counters"] = 4
    sites.loc[branches, "capacity_per_day"] = 160.0
    sites.loc[branches[0], "status"] = "must_open"
    # staff: one each, the rest in proportion to residents served
    per_site = np.ones(len(sites), dtype=int)
    rest = n_staff - len(sites)
    if rest < 0:
        sys.exit(f"--staff {n_staff}: fewer people than the {len(sites)} sites")
    share = served / served.sum() * rest
    per_site += np.floor(share).astype(int)
    for i in np.argsort(-(share - np.floor(share)), kind="stable")[: n_staff - per_site.sum()]:
        per_site[i] += 1
    home = np.repeat(np.arange(len(sites)), per_site)
    # a desk for each person based there: with the import's single counter a reception
    # point of three people queued its visitors at one server (Quang Ninh's mean wait was
    # ~224 min in every plan, the 1-counter M/M/1 queues near saturation; no move helps)
    sites["counters"] = np.maximum(sites["counters"].fillna(1).astype(int).to_numpy(), per_site)
    week_start = end + timedelta(days=7 - end.weekday())  # the planned week's Monday
    staff_rows = []
    for k, h in enumerate(home):
        skills = [f for f in fields if f == "other" or rng.random() < 0.5]
        leave = ""
        if rng.random() < 0.04:
            leave = str(week_start + timedelta(days=int(rng.integers(0, 6))))
        staff_rows.append({"id": f"S{k + 1:04d}", "name": f"Cán bộ {k + 1:04d}",
                           "home_site": sites.at[int(h), "id"], "skills": ";".join(skills),
                           "days_available": ";".join(DAYS), "leave_dates": leave,
                           "max_days_per_week": 5, "movable": bool(rng.random() < 0.85)})
    # workload: the residents' fields, scaled to `load` of the staff's time
    mean_min = float(np.mean(list(minutes.values())))
    capacity = n_staff * 5 * settings["work"]["hours_per_day"] * 60.0  # minutes a week
    per_week = load * capacity / mean_min  # dossiers a week in the province
    swing = rng.choice([0.7, 1.0, 1.35], len(sites))
    weight = per_site * swing
    rate = per_week / 6 * weight / weight.sum()  # dossiers a day by site
    field_w = rng.dirichlet(np.full(len(fields), 4.0))
    days = [end - timedelta(days=i) for i in range(7 * weeks)]
    days = sorted(d for d in days if d.weekday() < 6)
    rows = []
    for d in days:
        day_f = rng.gamma(30.0, 1 / 30.0)
        for s in range(len(sites)):
            for fi, f in enumerate(fields):
                lam = rate[s] * field_w[fi] * day_f
                for channel, part in (("in_person", in_person), ("online", 1 - in_person)):
                    n = int(rng.poisson(lam * part))
                    if n:
                        rows.append((str(d), sites.at[s, "id"], f, channel, n))
    out.mkdir(parents=True, exist_ok=False)
    for name in ("demand.csv", "communes.geojson", "import.json"):
        if (src / name).exists():
            shutil.copy2(src / name, out / name)
    sites.to_csv(out / "sites.csv", index=False)
    pd.DataFrame(staff_rows).to_csv(out / "staff.csv", index=False)
    pd.DataFrame(rows, columns=["date", "site_id", "field", "channel", "dossiers"]).to_csv(
        out / "workload.csv", index=False)
    toml = (src / "scenario.toml").read_text(encoding="utf-8")
    toml = toml.replace("[files]\n", '[files]\nstaff = "staff.csv"\nworkload = "workload.csv"\n',
                        1)
    toml = toml.replace('description = "', f'description = "SYNTHETIC staff and dossiers '
                        f'(bench/make_staff_instance.py, seed {seed}, {n_staff} staff, '
                        f'{len(sites)} sites) on ', 1)
    (out / "scenario.toml").write_text(toml, encoding="utf-8")
    return {"sites": len(sites), "staff": n_staff, "branches": n_branch,
            "workload_rows": len(rows)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", type=Path, help="a folder written by motcua import")
    ap.add_argument("--out", type=Path, required=True, help="new folder to write")
    ap.add_argument("--staff", type=int, default=400)
    ap.add_argument("--sites", type=int, default=120)
    ap.add_argument("--weeks", type=int, default=6, help="weeks of history (default 6)")
    ap.add_argument("--load", type=float, default=0.9,
                    help="province's work as a share of its staff's time (default 0.9)")
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 28),
                    help="last day of history (default 2026-11-28, a Saturday)")
    a = ap.parse_args()
    if a.out.exists():
        sys.exit(f"--out {a.out}: exists; give a new folder")
    info = make(a.scenario, a.out, a.staff, a.sites, a.weeks, a.load, a.seed, a.end)
    print(f"written {a.out}: {info}")


if __name__ == "__main__":
    main()
