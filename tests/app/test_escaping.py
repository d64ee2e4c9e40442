"""User text shown as written: Markdown escaping and Excel sheet names."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from app_pages._common import WJ, md_escape, plain_path
from motcua._excel import sheet_names, write_workbook


def test_markdown_in_user_text_is_escaped() -> None:
    assert md_escape("[click](http://evil.example) **bold**") == (
        r"\[click\]\(http\:" + WJ + r"\/\/evil\.example\) \*\*bold\*\*")
    # bare links GFM would form despite the escapes get an invisible word joiner
    assert md_escape("www.evil.example a@evil.example") == (
        "www" + WJ + r"\.evil\.example a\@" + WJ + r"evil\.example")
    assert md_escape('<script>window.__xss=1</script>') == (
        r"\<script\>window\.\_\_xss\=1\<\/script\>")
    assert md_escape(":red[x] $1$ Xã Đầm Hà\nline 2") == r"\:red\[x\] \$1\$ Xã Đầm Hà line 2"


@given(st.text())
def test_every_punctuation_is_escaped_and_nothing_else_changes(text: str) -> None:
    out = md_escape(text)
    # undoing the escapes gives the text back (line breaks as spaces, word joiners added)
    assert re.sub(r"\\(.)", r"\1", out).replace(WJ, "") == " ".join(text.replace(WJ, "").splitlines())
    # no punctuation is left bare
    assert not re.search(r"(?<!\\)(?:\\\\)*[" + re.escape(string.punctuation.replace("\\", ""))
                         + "]", out.replace("\\\\", ""))


def test_server_paths_are_shown_as_file_names() -> None:
    assert plain_path("/srv/motcua/workspace/scenarios/x/roads.graphml") == "roads.graphml"
    assert plain_path("straight line x 1.3") == "straight line x 1.3"


def test_sheet_names_are_valid_for_excel() -> None:
    names = sheet_names(["a/b[c]:*?\\", "x" * 40, "X" * 40, "'q'", "", "Sites", "sites"])
    assert names == ["a_b_c_____", "x" * 31, "X" * 29 + "~2", "q", "Sheet", "Sites", "sites~2"]


@given(st.lists(st.text(max_size=40), min_size=1, max_size=6))
def test_sheet_names_always_valid_and_distinct(raw: list[str]) -> None:
    names = sheet_names(raw)
    assert len(names) == len(raw)
    assert len({n.casefold() for n in names}) == len(names)
    for n in names:
        assert 1 <= len(n) <= 31 and not re.search(r"[\[\]:*?/\\\x00-\x1f]", n)
        assert not n.startswith("'") and not n.endswith("'")


def test_workbook_with_user_sheet_names_opens(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "r.xlsx"
    write_workbook(path, {"Xã [A]/B: tổng hợp quá dài để làm tên trang": pd.DataFrame({"a": [1]}),
                          "Sites": pd.DataFrame({"b": [2]})})
    wb = load_workbook(path)
    assert wb.sheetnames == ["Xã _A__B_ tổng hợp quá dài để l", "Sites"]
    assert len(wb.sheetnames[0]) == 31
    assert wb["Sites"]["A2"].value == 2
