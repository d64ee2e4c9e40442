"""The planner's three questions on every province: the table of a ``--models questions`` sweep.

Run the sweep (see docs/sweep.md), then print its table as Markdown::

    motcua sweep --provinces all --models questions --cell-m auto --time-limit 20 \\
        --workers 2 --out sweep-questions
    python bench/questions_table.py sweep-questions

The table is read from each finished province's ``row.json``, so it can be printed
while the sweep still runs (the provinces not finished yet are listed below it).
Columns: province, demand cells (grid side), sites (existing offices + grid candidates),
then for each question its status, objective, best bound, gap and solve time:

* keep: ``place --model lscp --keep-existing``: objective = opening cost of the points
  open (existing kept + new), here one per point;
* add 10: ``place --model mclp --add 10``: objective = residents covered;
* closure: ``place --model closure``: objective = offices kept open (the rest can close
  with nobody losing the standard).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any


def _num(v: Any, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{float(v):,.{digits}f}"


def _gap(v: Any) -> str:
    return "–" if v is None else f"{100 * float(v):.2f} %"


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| province | demand cells (m) | offices + candidates | keep: status, new points | "
            "obj / bound | gap | s | add 10: status, +covered | obj / bound | gap | s | "
            "closure: status, closable / offices | obj / bound | gap | s |")
    out = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in sorted(rows, key=lambda r: str(r["name"])):
        out.append(
            f"| {r['name']} | {r['demand_points']:,} ({_num(r.get('cell_m'))}) | "
            f"{r['existing_sites']} + {r['candidates']:,} | "
            f"{r['keep_status']}, {r['keep_new_points']} | "
            f"{_num(r['keep_objective'])} / {_num(r['keep_bound'])} | {_gap(r['keep_gap'])} | "
            f"{r['keep_time_s']:.1f} | "
            f"{r['add_10_status']}, {_num(r['add_10_added_covered'])} | "
            f"{_num(r['add_10_objective'])} / {_num(r['add_10_bound'])} | "
            f"{_gap(r['add_10_gap'])} | {r['add_10_time_s']:.1f} | "
            f"{r['closure_status']}, {r['closure_closable']} / {r['existing_sites']} | "
            f"{_num(r['closure_objective'])} / {_num(r['closure_bound'])} | "
            f"{_gap(r['closure_gap'])} | {r['closure_time_s']:.1f} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sweep", type=Path, help="folder of a motcua sweep --models questions")
    args = ap.parse_args()
    rows = [json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((args.sweep / "provinces").glob("*/row.json"))]
    rows = [r for r in rows if r.get("error") is None and "closure_status" in r]
    print(table(rows))
    print(f"\n{len(rows)} provinces answered.")
    failures = args.sweep / "failures.json"
    if failures.is_file():
        for slug, row in json.loads(failures.read_text(encoding="utf-8")).items():
            print(f"FAILED {slug}: {row.get('error')}")


if __name__ == "__main__":
    main()
