"""One way to write a result workbook: bold frozen headers, fitted columns, printable."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


def sheet_names(names: Iterable[str]) -> list[str]:
    """Names Excel accepts, one per name given, in order: the characters ``[]:*?/\\``
    (and control characters) become ``_``, a leading or trailing ``'`` is dropped,
    at most 31 characters, never empty (``Sheet``), and no two alike (ignoring case,
    as Excel does: ``~2``, ``~3``... are appended)."""
    out: list[str] = []
    seen: set[str] = set()
    for raw in names:
        base = _SHEET_FORBIDDEN.sub("_", str(raw)).strip("'").strip() or "Sheet"
        name = base[:31]
        n = 1
        while name.casefold() in seen:
            n += 1
            suffix = f"~{n}"
            name = base[:31 - len(suffix)] + suffix
        seen.add(name.casefold())
        out.append(name)
    return out


def write_workbook(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    """Write each table to its own sheet of ``path`` (openpyxl), ready to read and print.

    Sheet names are made valid for Excel (:func:`sheet_names`). Infinite values
    become empty cells (Excel has no infinity).
    """
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, df in zip(sheet_names(sheets), sheets.values(), strict=True):
            df.replace([np.inf, -np.inf], np.nan).to_excel(xw, sheet_name=name, index=False)
            ws = xw.sheets[name]
            for cell in ws[1]:
                cell.font = Font(bold=True)
            ws.freeze_panes = "A2"
            ws.print_title_rows = "1:1"
            ws.page_setup.orientation = "landscape"
            ws.page_setup.fitToWidth = 1
            ws.page_setup.fitToHeight = 0
            ws.sheet_properties.pageSetUpPr.fitToPage = True
            for j, col in enumerate(df.columns, start=1):
                values = [str(col), *map(str, df[col].head(500).tolist())]
                width = min(60, max(len(v) for v in values) + 2)
                ws.column_dimensions[get_column_letter(j)].width = width
