"""Numbers written as spreadsheets write them are read as that number or refused by name.

Property: format a number with any thousands separator and decimal point a
spreadsheet uses; reading it back either gives that number (separators
declared, or only one meaning) or a named error that gives that number as one
of its readings -- never a silently different number.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from geodata._numbers import NumberFormat, NumberProblem, parse_number, show
from geodata._validate import Collector, Column, parse_columns

#: (thousands separator as written, as declared, decimal point) of common spreadsheet locales.
STYLES = [
    (",", ",", "."),            # English
    (".", ".", ","),            # Vietnamese, German
    (" ", " ", ","),            # French with a plain space
    ("\u00a0", " ", ","),       # no-break space
    ("\u202f", " ", ","),       # narrow no-break space
    ("\u2009", " ", "."),       # thin space
    ("", "", "."),              # no grouping
    ("", "", ","),
]


def spreadsheet(n: int, frac: str, th: str, dec: str) -> str:
    digits = str(n)
    groups = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    text = th.join(groups) if th else str(n)
    return text + (dec + frac if frac else "")


numbers = st.integers(min_value=0, max_value=10**12)
fractions = st.text(alphabet="0123456789", min_size=0, max_size=3)


@settings(max_examples=400, deadline=None)
@given(n=numbers, frac=fractions, style=st.sampled_from(STYLES), quantity=st.booleans())
def test_declared_separators_give_the_number(n: int, frac: str, style: tuple[str, str, str],
                                             quantity: bool) -> None:
    th, declared, dec = style
    value = float(f"{n}.{frac or '0'}")
    fmt = NumberFormat(decimal=dec, thousands=declared)
    assert parse_number(spreadsheet(n, frac, th, dec), fmt, quantity=quantity) == value


@settings(max_examples=400, deadline=None)
@given(n=numbers, frac=fractions, style=st.sampled_from(STYLES))
def test_undeclared_gives_the_number_or_names_it(n: int, frac: str,
                                                 style: tuple[str, str, str]) -> None:
    th, _, dec = style
    text = spreadsheet(n, frac, th, dec)
    value = float(f"{n}.{frac or '0'}")
    try:
        got = parse_number(text, quantity=True)
    except NumberProblem as exc:
        assert show(value) in exc.message  # the meant number is one of the readings named
        sep = {c for c in text if not c.isdigit()}
        if len(sep) == 1 and text.count(next(iter(sep))) == 1 and next(iter(sep)) in ".,":
            # one '.' or ',' before three digits: both readings are named
            int_part, _, tail = text.partition(next(iter(sep)))
            assert f"{show(float(int_part + '.' + tail))} or {show(float(int_part + tail))}?" \
                in exc.message
        assert "declare" in exc.expected
    else:
        assert got == value


@settings(max_examples=150, deadline=None)
@given(ns=st.lists(st.integers(min_value=0, max_value=100_000), min_size=1, max_size=8),
       style=st.sampled_from(STYLES), declared=st.booleans())
def test_whole_number_columns_never_read_a_different_number(
        ns: list[int], style: tuple[str, str, str], declared: bool) -> None:
    th, th_declared, dec = style
    fmt = NumberFormat(decimal=dec, thousands=th_declared) if declared else NumberFormat()
    cells = [spreadsheet(n, "", th, dec) for n in ns]
    col = Collector()
    spec = [Column("dossiers", "int", minimum=0, maximum=100_000)]
    parsed = parse_columns(pd.DataFrame({"dossiers": cells}), spec, "w.csv", col, fmt)
    bad_rows = {p.row for p in col.problems}
    for i, n in enumerate(ns):
        if i + 2 in bad_rows:
            assert not declared
            text = " ".join(str(p) for p in col.problems if p.row == i + 2)
            assert str(n) in text
        else:
            assert parsed["dossiers"].iloc[i] == n
