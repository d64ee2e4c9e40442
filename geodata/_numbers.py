"""Numbers as spreadsheets write them: one parser for every table motcua reads.

Excel writes ``2000`` as ``2,000`` in English and ``2.000`` in Vietnamese, and
``2.5`` as ``2,5`` in Vietnamese.  Read naively, ``2.000`` residents become 2.
The rule here: a number is read as it is only when it has one meaning.

* Undeclared separators (the default): a single ``.`` or ``,`` is a decimal
  point -- except in a *quantity* (residents, counters, dossiers, costs, ...)
  where it is followed by exactly three digits (``2,000``, ``12.125``): that is
  either a decimal point or a thousands separator, and the cell is refused
  naming both readings and the fix.  Thousands separators (``1.234.567``,
  ``2 000``, mixed ``1.234,5``) are refused naming the reading.
* Declared separators (``[files] decimal``/``thousands`` in scenario.toml):
  cells are read strictly in that format; thousands grouping is optional but,
  when present, must group three digits.

Spaces include the no-break, narrow no-break, thin and figure spaces Excel and
word processors put between thousands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

#: Characters read as a space inside a number (space, no-break, narrow no-break, thin, figure).
SPACES = " \u00a0\u202f\u2009\u2007"
#: Allowed values of ``[files] decimal`` and ``[files] thousands`` ("" = no thousands separator).
DECIMAL_CHOICES: tuple[str, ...] = (".", ",")
THOUSANDS_CHOICES: tuple[str, ...] = (",", ".", " ", "")

_SPACE_RE = re.compile(f"[{SPACES}]")
_BODY_RE = re.compile(r"[0-9., ]+")
_EXP_RE = re.compile(r"^(.*?)[eE]([+-]?\d{1,4})$")
_NAMES = {".": "'.'", ",": "','", " ": "a space"}


class NumberProblem(ValueError):
    """A cell is not a number (or not only one number); ``message`` and ``expected`` say why."""

    def __init__(self, message: str, expected: str) -> None:
        super().__init__(f"{message}; expected {expected}")
        self.message = message
        self.expected = expected


@dataclass(frozen=True)
class NumberFormat:
    """How numbers are written in a scenario's files.

    decimal : ``"."`` or ``","``, or ``None`` when not declared.
    thousands : ``","``, ``"."``, ``" "`` (any space) or ``""`` (none), or ``None``.
    declared_by : where a user declares them, for the fix named in errors:
        ``"scenario"`` (scenario.toml ``[files]``) or ``"options"`` (``--decimal``/``--thousands``).
    """

    decimal: str | None = None
    thousands: str | None = None
    declared_by: Literal["scenario", "options"] = "scenario"

    def __post_init__(self) -> None:
        if self.decimal is not None and self.decimal not in DECIMAL_CHOICES:
            msg = f"decimal must be one of {DECIMAL_CHOICES}, got {self.decimal!r}"
            raise ValueError(msg)
        if self.thousands is not None and self.thousands not in THOUSANDS_CHOICES:
            msg = f"thousands must be one of {THOUSANDS_CHOICES}, got {self.thousands!r}"
            raise ValueError(msg)
        if self.decimal is not None and self.decimal == self.thousands:
            msg = f"decimal and thousands separators must differ, both are {self.decimal!r}"
            raise ValueError(msg)

    @property
    def declared(self) -> bool:
        return self.decimal is not None or self.thousands is not None

    @property
    def decimal_mark(self) -> str:
        """The decimal point in force: declared, else ``,`` when ``.`` groups thousands, else ``.``."""
        if self.decimal is not None:
            return self.decimal
        return "," if self.thousands == "." else "."

    @property
    def thousands_mark(self) -> str:
        """The thousands separator in force (``""``: none)."""
        return self.thousands or ""

    @property
    def where(self) -> str:
        """Where separators are declared, for the fix named in errors."""
        return "with the options" if self.declared_by == "options" else "in scenario.toml [files]"

    def declaration(self, decimal: str | None = None, thousands: str | None = None) -> str:
        """The declaration of these separators, as written where they are declared."""
        pairs = [(k, v) for k, v in (("thousands", thousands), ("decimal", decimal)) if v is not None]
        if self.declared_by == "options":
            return " ".join(f"--{k} '{v}'" for k, v in pairs)
        return ", ".join(f'{k} = "{v}"' for k, v in pairs)

    def describe(self) -> str:
        t = self.thousands_mark
        return (f"decimal point {_NAMES[self.decimal_mark]}, thousands separator "
                f"{_NAMES[t] if t else 'none'}")


def show(x: float) -> str:
    """A number as a person would type it without separators (``2000``, ``1234.5``)."""
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(x)


def _grouped(int_part: str, sep: str) -> bool:
    """``int_part`` is 1-3 digits then groups of exactly 3 digits after each ``sep``."""
    groups = int_part.split(sep)
    return (1 <= len(groups[0]) <= 3 and groups[0].isdigit() and not (
        len(groups[0]) > 1 and groups[0][0] == "0") and groups[0] != "0"
        and all(len(g) == 3 and g.isdigit() for g in groups[1:]))


def parse_number(text: str, fmt: NumberFormat | None = None, *, quantity: bool = False) -> float:
    """Read one cell as a number, refusing every cell that could mean two numbers.

    Parameters
    ----------
    text : the cell, already stripped of surrounding spaces; not empty.
    fmt : the declared separators (undeclared by default).
    quantity : the column counts things (residents, counters, dossiers, costs):
        ``2,000`` / ``2.000`` are ambiguous there when no separator is declared.

    Returns
    -------
    float
        The value (possibly infinite for ``1e999``; range checks are the caller's).

    Raises
    ------
    NumberProblem
        Not a number, an ambiguous number (both readings named), or a number
        with separators that were not declared (the reading and the fix named).
    """
    fmt = fmt or NumberFormat()
    s = _SPACE_RE.sub(" ", text.strip())
    sign = ""
    if s[:1] in "+-" and s:
        sign, s = ("-" if s[0] == "-" else ""), s[1:].lstrip()
    exponent = ""
    m = _EXP_RE.match(s)
    if m and m.group(1):
        s, exponent = m.group(1), "e" + m.group(2)
    if not s or not _BODY_RE.fullmatch(s) or not any(ch.isdigit() for ch in s):
        raise NumberProblem("not a number", "a number such as 2000 or 2.5")
    seps = {ch for ch in s if not ch.isdigit()}
    if not seps:
        return float(sign + s + exponent)
    if fmt.declared:
        return _declared(s, sign, exponent, fmt, text)
    return _undeclared(s, sign, exponent, seps, fmt, text, quantity)


def _float(sign: str, int_part: str, frac: str, exponent: str) -> float:
    return float(f"{sign}{int_part or '0'}.{frac or '0'}{exponent}")


def _declared(s: str, sign: str, exponent: str, fmt: NumberFormat, text: str) -> float:
    dec, th = fmt.decimal_mark, fmt.thousands_mark
    int_part, _, frac = s.partition(dec)
    ok = frac.isdigit() or frac == ""
    if th and th in int_part:
        ok = ok and _grouped(int_part, th)
        int_part = int_part.replace(th, "")
    ok = ok and (int_part.isdigit() or (int_part == "" and frac != ""))
    if not ok or (exponent and th and th in s):
        example = f"1{th}234{dec}5" if th else f"1234{dec}5"
        raise NumberProblem(
            f"not a number in the declared format ({fmt.describe()})",
            f"a number written like {example}, as declared {fmt.where}: "
            f"{fmt.declaration(fmt.decimal, fmt.thousands)}")
    return _float(sign, int_part, frac, exponent)


def _undeclared(s: str, sign: str, exponent: str, seps: set[str], fmt: NumberFormat, text: str,
                quantity: bool) -> float:
    if len(seps) == 1 and s.count(next(iter(seps))) == 1 and " " not in seps:
        sep = next(iter(seps))
        int_part, _, frac = s.partition(sep)
        if not frac.isdigit() and not (frac == "" and int_part.isdigit()):
            raise NumberProblem("not a number", "a number such as 2000 or 2.5")
        as_decimal = _float(sign, int_part, frac, exponent)
        if not (quantity and not exponent and _grouped(s, sep)):
            return as_decimal
        as_thousands = float(sign + int_part + frac)
        if as_decimal == as_thousands:
            return as_decimal
        raise NumberProblem(
            f"ambiguous number: {show(as_decimal)} or {show(as_thousands)}? "
            f"{_NAMES[sep]} may be a decimal point or a thousands separator",
            f"{show(as_thousands)} written without separators; or, if every number is written "
            f"this way, declare {fmt.where}: {fmt.declaration(thousands=sep)} "
            f"({text.strip()} means {show(as_thousands)}) or {fmt.declaration(decimal=sep)} "
            f"({text.strip()} means {show(as_decimal)})")
    # several separators: only a thousands reading can exist
    reading = _thousands_reading(s, sign, exponent)
    if reading is None:
        raise NumberProblem("not a number", "a number such as 2000 or 2.5")
    value, dec, th = reading
    named = f"{_NAMES[th]} groups thousands" + (f" and {_NAMES[dec]} is the decimal point" if dec else "")
    raise NumberProblem(
        f"number with thousands separators: {show(value)} if {named} (not declared)",
        f"{show(value)} written without thousands separators; or, if every number is written "
        f"this way, declare {fmt.where}: {fmt.declaration(thousands=th, decimal=dec or None)}")


def _thousands_reading(s: str, sign: str, exponent: str) -> tuple[float, str, str] | None:
    """``(value, decimal mark or "", thousands mark)`` when ``s`` is a grouped number."""
    for th in (" ", ".", ","):
        if th not in s:
            continue
        for dec in ("", ",", "."):
            if dec == th or (dec and s.count(dec) != 1) or (not dec and set(s) - set("0123456789" + th)):
                continue
            int_part, _, frac = s.partition(dec) if dec else (s, "", "")
            if dec and not frac.isdigit():
                continue
            rest = set(int_part) - set("0123456789" + th)
            if rest or not _grouped(int_part, th):
                continue
            return _float(sign, int_part.replace(th, ""), frac, exponent), dec, th
    return None


def format_number(x: float, fmt: NumberFormat | None = None, *, quantity: bool = True) -> str:
    """Write ``x`` so that :func:`parse_number` reads it back exactly, in ``fmt``.

    The shortest round-trip form (``repr``) with the declared decimal point and
    no thousands separator; ``""`` for NaN.  Undeclared, a value like ``12.125``
    would be refused as ambiguous in a ``quantity`` column, so it is written ``12.1250``.
    """
    if x != x:  # NaN
        return ""
    text = repr(float(x))
    fmt = fmt or NumberFormat()
    if quantity and not fmt.declared and re.fullmatch(r"-?[1-9]\d{0,2}\.\d{3}", text):
        text += "0"
    if fmt.decimal_mark == ",":
        text = text.replace(".", ",")
    return text
