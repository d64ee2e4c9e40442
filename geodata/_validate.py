"""Checks for scenario inputs: every problem is collected, then raised once.

Tables are read as text and parsed column by column so that each bad cell can
be named by file, row, column and value.  Rows are numbered as a spreadsheet
shows them: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import difflib
import gzip
import io
import math
import stat
import warnings
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pyproj import CRS
from pyproj.exceptions import CRSError

from geodata._errors import Problem, ScenarioError, ScenarioWarning
from geodata._numbers import NumberFormat, NumberProblem, parse_number, show
from geodata.settings import max_text_bytes

#: Vietnam's extent in WGS84 degrees, with a margin, including the offshore islands.
VN_LON = (102.0, 117.9)
VN_LAT = (7.0, 23.5)
#: How many bad cells of one column are listed before the rest are summarised.
MAX_PROBLEMS_PER_COLUMN = 20

ColumnKind = Literal["str", "float", "int", "bool", "enum", "list", "date", "datelist"]

_TRUE = {"true", "yes", "1", "có", "co", "y", "t"}
_FALSE = {"false", "no", "0", "không", "khong", "n", "f"}


@dataclass(frozen=True)
class Column:
    """How one column of a data file is parsed and checked.

    ``choices`` restricts an ``enum`` column or the items of a ``list`` column;
    ``minimum``/``maximum`` bound numbers; ``default`` fills blank cells of an
    optional column (``None`` leaves them missing).  ``quantity`` marks a
    ``float`` column that counts things (residents, costs, dossiers): there
    ``2,000`` or ``2.000`` is refused as ambiguous unless the separators are
    declared (``int`` columns always are quantities).  ``meaning`` names what
    the column counts in range errors (``"residents of one row"``).
    """

    name: str
    kind: ColumnKind = "str"
    required: bool = True
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    default: Any = None
    allow_blank: bool = False
    quantity: bool = False
    meaning: str = ""


class Collector:
    """Accumulates problems and warnings while a scenario is read."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[str] = []

    def add(
        self,
        file: str,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        value: Any = None,
        expected: str | None = None,
    ) -> None:
        self.problems.append(Problem(file, message, row, column, value, expected))

    def warn(self, file: str, message: str) -> None:
        """Record a recoverable problem; :meth:`emit_warnings` issues it if loading succeeds."""
        self.warnings.append(f"{file}: {message}")

    def raise_if_any(self) -> None:
        if self.problems:
            raise ScenarioError(self.problems)

    def emit_warnings(self) -> None:
        for text in self.warnings:
            warnings.warn(text, ScenarioWarning, stacklevel=3)


def suggest(name: str, options: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` when ``name`` looks like a misspelling of an option."""
    close = difflib.get_close_matches(name.lower(), list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def read_text(path: Path, label: str, col: Collector) -> str | None:
    """Read a UTF-8 (with or without BOM) text file, optionally gzip-compressed.

    At most :func:`geodata.settings.max_text_bytes` are read (after decompression,
    streamed), so a huge file or a ``.gz`` bomb is refused without filling the memory.
    """
    limit = max_text_bytes()
    too_big = (f"is larger than {limit / 2**20:g} MB"
               f"{' once decompressed' if path.suffix == '.gz' else ''}")
    expected = (f"a file of at most {limit / 2**20:g} MB (set MOTCUA_MAX_TEXT_MB to allow "
                "larger files)")
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            col.add(label, "is not a regular file (a folder, device or pipe)",
                    expected="a text file")
            return None
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as fh:
            raw = fh.read(limit + 1)
    except FileNotFoundError:
        col.add(label, "file not found", expected="an existing file (check [files] in scenario.toml)")
        return None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        col.add(label, f"is not a valid gzip file: {exc}")
        return None
    except OSError as exc:
        col.add(label, f"cannot be read: {exc.strerror or exc}")
        return None
    if len(raw) > limit:
        col.add(label, too_big, expected=expected)
        return None
    if not raw.strip(b"\xef\xbb\xbf \t\r\n"):
        col.add(label, "file is empty", expected="a header row and at least one data row")
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col.add(
            label,
            f"is not valid UTF-8 (byte {raw[exc.start]:#04x} at line {line})",
            row=line,
            expected="UTF-8 text; in Excel use 'Save as: CSV UTF-8'",
        )
        return None


def read_csv_text(path: Path, label: str, col: Collector) -> pd.DataFrame | None:
    """Read a CSV as a table of strings (no type guessing) with named errors."""
    text = read_text(path, label, col)
    if text is None:
        return None
    try:
        df = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=False
        )
    except pd.errors.ParserError as exc:
        col.add(label, f"is not a well-formed CSV: {exc}", expected="the same number of cells on every row")
        return None
    except pd.errors.EmptyDataError:
        col.add(label, "file is empty", expected="a header row and at least one data row")
        return None
    return df


def normalise_columns(
    df: pd.DataFrame, spec: Sequence[Column], label: str, col: Collector, extra_ok: Sequence[str] = ()
) -> pd.DataFrame | None:
    """Match the file's header to ``spec``: trim names, fix case with a warning,
    report missing and misspelt columns, drop (with a warning) unknown ones."""
    known = [c.name for c in spec] + list(extra_ok)
    rename: dict[str, str] = {}
    unknown: list[str] = []
    for raw in df.columns:
        name = str(raw).strip()
        if name in known:
            rename[raw] = name
        elif name.lower() in known:
            rename[raw] = name.lower()
            col.warn(label, f"column {raw!r} read as {name.lower()!r}")
        else:
            unknown.append(str(raw))
    df = df.rename(columns=rename)
    missing = [c for c in spec if c.required and c.name not in df.columns]
    for c in missing:
        hint = ""
        for u in unknown:
            s = suggest(u, [c.name])
            if s:
                hint = f"; column {u!r} looks like a misspelling of it"
                break
        col.add(label, "required column is missing" + hint, column=c.name,
                expected=f"a column named {c.name!r}")
    for u in unknown:
        if not any(suggest(u, [c.name]) for c in missing):
            col.warn(label, f"column {u!r} is not used by motcua and was ignored{suggest(u, known)}")
    keep = [c for c in df.columns if c in known]
    if missing:
        return None
    return df[keep]


def _report_bad(
    label: str, col: Collector, column: str, rows: np.ndarray, values: pd.Series, expected: str,
    message: str = "invalid value",
) -> None:
    for i in rows[:MAX_PROBLEMS_PER_COLUMN]:
        col.add(label, message, row=int(i) + 2, column=column, value=values.iloc[int(i)],
                expected=expected)
    if len(rows) > MAX_PROBLEMS_PER_COLUMN:
        col.add(label, f"... and {len(rows) - MAX_PROBLEMS_PER_COLUMN} more rows like these",
                column=column)


#: Largest whole number any column holds: every whole number up to it is exact as a float.
MAX_WHOLE = 2**53
#: Control characters (C0, DEL, C1): never in a name, id or code.
_CONTROL = r"[\x00-\x1f\x7f-\x9f]"


def parse_columns(df: pd.DataFrame, spec: Sequence[Column], label: str, col: Collector,
                  fmt: NumberFormat | None = None) -> pd.DataFrame:
    """Parse every column of a table per ``spec``; return typed columns.

    Cells are text (numeric columns of vector files may stay numbers: they
    have no separators to misread).  ``fmt`` is the declared number format
    (see :mod:`geodata._numbers`).  Bad cells are reported and replaced by the
    column default (or NA) so that later checks can still run on the rest of
    the table.
    """
    fmt = fmt or NumberFormat()
    out: dict[str, Any] = {}
    n = len(df)
    for c in spec:
        if c.name not in df.columns:
            out[c.name] = pd.Series([c.default] * n, index=df.index, dtype=object)
            continue
        series = df[c.name]
        given: np.ndarray | None = None
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            if c.kind in ("float", "int"):
                given = series.to_numpy(dtype=float)
            series = series.astype(object).where(series.notna(), "")
        raw = series.astype(str).str.strip()
        blank = (raw == "").to_numpy() if given is None else np.isnan(given)
        if c.required and not c.allow_blank and blank.any():
            _report_bad(label, col, c.name, np.flatnonzero(blank), raw, f"a {_describe(c)}",
                        message="empty cell in a required column")
        if given is not None:
            out[c.name] = _parse_numbers(raw, blank, c, label, col, fmt, given)
        else:
            out[c.name] = _parse_one(raw, blank, c, label, col, fmt)
    return pd.DataFrame(out, index=df.index).reset_index(drop=True)


def _describe(c: Column) -> str:
    if c.kind == "enum" and c.choices:
        return "one of " + ", ".join(c.choices)
    if c.kind == "list" and c.choices:
        return "a ';'-separated list of " + ", ".join(c.choices)
    words = {
        "str": "text", "float": "number", "int": "whole number", "bool": "true or false",
        "date": "date YYYY-MM-DD", "datelist": "';'-separated dates YYYY-MM-DD", "list": "list",
        "enum": "value",
    }
    text = words[c.kind]
    if c.minimum is not None and c.maximum is not None:
        text += f" between {show(float(c.minimum))} and {show(float(c.maximum))}"
    elif c.minimum is not None:
        text += f" >= {show(float(c.minimum))}"
    elif c.maximum is not None:
        text += f" <= {show(float(c.maximum))}"
    if c.meaning:
        text += f" ({c.meaning})"
    return text


def _report_each(label: str, col: Collector, column: str, found: list[tuple[int, Any, str, str]],
                 ) -> None:
    """Report ``(index, value, message, expected)`` problems, the first few one by one."""
    for i, value, message, expected in found[:MAX_PROBLEMS_PER_COLUMN]:
        col.add(label, message, row=i + 2, column=column, value=value, expected=expected)
    if len(found) > MAX_PROBLEMS_PER_COLUMN:
        col.add(label, f"... and {len(found) - MAX_PROBLEMS_PER_COLUMN} more rows like these",
                column=column)


def _read_numbers(raw: pd.Series, blank: np.ndarray, c: Column, fmt: NumberFormat,
                  label: str, col: Collector) -> tuple[np.ndarray, np.ndarray]:
    """Text cells to floats; returns ``(values, bad)`` after reporting every unreadable cell."""
    quantity = c.quantity or c.kind == "int"
    junk = "not a finite number" if c.kind == "float" else "not a whole number"
    values = np.full(len(raw), np.nan)
    plain = r"[+-]?\d+" if quantity or fmt.declared else r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
    fast = ~blank & raw.str.fullmatch(plain).to_numpy(dtype=bool)
    if fast.any():
        values[fast] = raw[fast].astype(float).to_numpy()
    bad = np.zeros(len(raw), dtype=bool)
    found: list[tuple[int, Any, str, str]] = []
    for i in np.flatnonzero(~blank & ~fast):
        text = raw.iloc[int(i)]
        try:
            values[i] = parse_number(text, fmt, quantity=quantity)
        except NumberProblem as exc:
            bad[i] = True
            if exc.message == "not a number":  # no separator at fault: name the column's type
                found.append((int(i), text, junk, _describe(c)))
            else:
                found.append((int(i), text, exc.message, exc.expected))
    _report_each(label, col, c.name, found)
    return values, bad


def _parse_numbers(raw: pd.Series, blank: np.ndarray, c: Column, label: str, col: Collector,
                   fmt: NumberFormat, given: np.ndarray | None = None) -> pd.Series:
    """A ``float`` or ``int`` column: read, then check finite, whole and in range."""
    expected = _describe(c)
    if given is None:
        values, bad = _read_numbers(raw, blank, c, fmt, label, col)
    else:
        values, bad = given.copy(), np.zeros(len(given), dtype=bool)
    unread = ~blank & ~bad & ~np.isfinite(values)
    if c.kind == "int":
        finite = np.where(np.isfinite(values), values, 0.0)
        unread |= ~blank & ~bad & (np.abs(finite - np.round(finite)) > 1e-9)
    _report_bad(label, col, c.name, np.flatnonzero(unread), raw, expected,
                message="not a finite number" if c.kind == "float" else "not a whole number")
    bad |= unread
    ok = ~blank & ~bad
    top = c.maximum if c.maximum is not None else (MAX_WHOLE if c.kind == "int" else None)
    low = ok & (values < c.minimum) if c.minimum is not None else np.zeros_like(ok)
    high = ok & (values > top) if top is not None else np.zeros_like(ok)
    if c.maximum is None and c.kind == "int":
        expected = f"{expected}, at most {show(float(MAX_WHOLE))}"
    _report_bad(label, col, c.name, np.flatnonzero(low | high), raw, expected, "out of range")
    values = np.where(ok & ~low & ~high, values, np.nan)
    if c.default is not None:
        values = np.where(blank, float(c.default), values)
    if c.kind == "int":
        return pd.Series(values, index=raw.index).round().astype("Int64")
    return pd.Series(values, index=raw.index, dtype=float)


def _parse_one(raw: pd.Series, blank: np.ndarray, c: Column, label: str, col: Collector,
               fmt: NumberFormat) -> pd.Series:
    expected = _describe(c)
    if c.kind == "str":
        control = raw.str.contains(_CONTROL, regex=True).to_numpy(dtype=bool)
        found = []
        for k in np.flatnonzero(control):
            v = raw.iloc[int(k)]
            ch = next(ch for ch in v if ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F)
            found.append((int(k), v, f"contains a control character (U+{ord(ch):04X})",
                          "text without control characters (retype the cell; a line break or "
                          "tab inside a cell counts too)"))
        _report_each(label, col, c.name, found)
        return raw.where(~blank, c.default if c.default is not None else "")
    if c.kind in ("float", "int"):
        return _parse_numbers(raw, blank, c, label, col, fmt)
    if c.kind == "bool":
        low_s = raw.str.lower()
        is_t, is_f = low_s.isin(_TRUE).to_numpy(), low_s.isin(_FALSE).to_numpy()
        bad = ~blank & ~is_t & ~is_f
        _report_bad(label, col, c.name, np.flatnonzero(bad), raw, "true/false, yes/no, 1/0 or có/không")
        return pd.Series(np.where(is_t, True, np.where(is_f, False, bool(c.default))), index=raw.index)
    if c.kind == "enum":
        assert c.choices is not None
        low_s = raw.str.lower()
        bad = ~blank & ~low_s.isin(c.choices).to_numpy()
        for i in np.flatnonzero(bad)[:MAX_PROBLEMS_PER_COLUMN]:
            v = raw.iloc[int(i)]
            col.add(label, "not an allowed value" + suggest(v, c.choices), row=int(i) + 2,
                    column=c.name, value=v, expected=expected)
        if bad.sum() > MAX_PROBLEMS_PER_COLUMN:
            col.add(label, f"... and {bad.sum() - MAX_PROBLEMS_PER_COLUMN} more rows like these",
                    column=c.name)
        return low_s.where(~blank & ~bad, c.default)
    if c.kind == "date":
        dates = pd.to_datetime(raw.where(~blank), format="%Y-%m-%d", errors="coerce")
        bad = ~blank & dates.isna().to_numpy()
        _report_bad(label, col, c.name, np.flatnonzero(bad), raw, expected, "not a date")
        return dates
    # list / datelist: tuples of trimmed items
    items: list[tuple[str, ...]] = []
    for i, cell in enumerate(raw):
        parts = tuple(p.strip() for p in cell.split(";") if p.strip())
        if c.kind == "datelist":
            good = []
            for p in parts:
                try:
                    good.append(pd.Timestamp(p).strftime("%Y-%m-%d"))
                    if len(p) != 10:
                        raise ValueError(p)
                except ValueError:
                    col.add(label, "not a date", row=i + 2, column=c.name, value=p, expected=expected)
            parts = tuple(good)
        elif c.choices is not None:
            fixed = []
            for p in parts:
                match = next((ch for ch in c.choices if ch.lower() == p.lower()), None)
                if match is None:
                    col.add(label, "not an allowed item" + suggest(p, c.choices), row=i + 2,
                            column=c.name, value=p, expected=expected)
                else:
                    fixed.append(match)
            parts = tuple(fixed)
        items.append(parts if parts or c.default is None else tuple(c.default))
    return pd.Series(items, index=raw.index, dtype=object)


def check_unique(values: pd.Series, label: str, column: str, col: Collector) -> None:
    """Report every repeated id, naming the row where it first appeared."""
    first: dict[Any, int] = {}
    for i, v in enumerate(values):
        if v == "" or v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if v in first:
            col.add(label, f"duplicate id (first used on row {first[v]})", row=i + 2, column=column,
                    value=v, expected="ids unique within the file")
        else:
            first[v] = i + 2


def check_refs(values: pd.Series, known: set[str], label: str, column: str, target: str,
               col: Collector) -> None:
    """Report references to ids that do not exist in ``target``."""
    bad = ~values.isin(known).to_numpy() & (values != "").to_numpy()
    for i in np.flatnonzero(bad)[:MAX_PROBLEMS_PER_COLUMN]:
        v = values.iloc[int(i)]
        col.add(label, f"refers to an id that is not in {target}" + suggest(str(v), known),
                row=int(i) + 2, column=column, value=v, expected=f"an id from {target}")
    if bad.sum() > MAX_PROBLEMS_PER_COLUMN:
        col.add(label, f"... and {bad.sum() - MAX_PROBLEMS_PER_COLUMN} more rows like these",
                column=column)


def check_lonlat(lon: np.ndarray, lat: np.ndarray, label: str, col: Collector,
                 rows: np.ndarray | None = None) -> None:
    """Coordinates must lie in Vietnam; swapped lon/lat are named as such."""
    rows = np.arange(len(lon)) + 2 if rows is None else rows
    finite = np.isfinite(lon) & np.isfinite(lat)
    inside = finite & (lon >= VN_LON[0]) & (lon <= VN_LON[1]) & (lat >= VN_LAT[0]) & (lat <= VN_LAT[1])
    swapped = finite & (lat >= VN_LON[0]) & (lat <= VN_LON[1]) & (lon >= VN_LAT[0]) & (lon <= VN_LAT[1])
    count = 0
    for i in np.flatnonzero(finite & ~inside):
        if count >= MAX_PROBLEMS_PER_COLUMN:
            col.add(label, f"... and {int((finite & ~inside).sum()) - count} more points outside Vietnam")
            break
        count += 1
        value = f"lon={lon[i]:g}, lat={lat[i]:g}"
        if swapped[i]:
            col.add(label, "lon and lat look swapped", row=int(rows[i]), column="lon/lat", value=value,
                    expected=f"lon in {VN_LON[0]:g}..{VN_LON[1]:g} and lat in {VN_LAT[0]:g}..{VN_LAT[1]:g}")
        else:
            col.add(label, "point is outside Vietnam", row=int(rows[i]), column="lon/lat", value=value,
                    expected=f"lon in {VN_LON[0]:g}..{VN_LON[1]:g} and lat in {VN_LAT[0]:g}..{VN_LAT[1]:g}"
                    " (WGS84 degrees)")


def check_crs(crs: str, col: Collector, label: str = "scenario.toml") -> None:
    """``crs`` must be a projected (metric) CRS whose area of use includes Vietnam."""
    try:
        parsed = CRS.from_user_input(crs)
    except CRSError:
        col.add(label, "crs: not a coordinate reference system", value=crs,
                expected="a metric CRS such as EPSG:32648 (UTM 48N) or EPSG:32649 (UTM 49N)")
        return
    if not parsed.is_projected:
        col.add(label, "crs: must be a projected (metric) CRS to measure distances",
                value=crs, expected="e.g. EPSG:32648 (UTM 48N) or EPSG:32649 (UTM 49N)")
        return
    area = parsed.area_of_use
    if area is not None and (area.east < VN_LON[0] or area.west > VN_LON[1]
                             or area.north < VN_LAT[0] or area.south > VN_LAT[1]):
        col.add(label, f"crs: its area of use ({area.name}) does not include Vietnam",
                value=crs, expected="a CRS valid in Vietnam, e.g. EPSG:32648 or EPSG:32649")
