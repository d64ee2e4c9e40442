"""The README's sections that say they are also kept in docs/ say the same as those files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: docs/staffing.md is the long version of the README's staffing section, not a copy
COPIES = ("app.md", "coverage.md", "demo.md", "import.md", "placement.md", "scenario-format.md")


def _readme_section(doc: str) -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    marker = f"(This section is also kept as [`docs/{doc}`](docs/{doc}).)"
    assert marker in readme, f"README.md has no section kept as docs/{doc}"
    end = readme.index(marker)
    head = "#" + (ROOT / "docs" / doc).read_text(encoding="utf-8").split("\n", 1)[0]
    start = readme.rindex("\n" + head + "\n", 0, end) + 1
    lines, fence = [], False
    for line in readme[start:end].rstrip("\n").split("\n"):
        if line.startswith("```"):
            fence = not fence
        if not fence and re.match(r"#+ ", line):
            line = line[1:]  # one heading level deeper in the README
        lines.append(line.replace("](docs/", "]("))  # links relative to docs/
    return lines


@pytest.mark.parametrize("doc", COPIES)
def test_docs_copy_matches_the_readme(doc: str) -> None:
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8").rstrip("\n").split("\n")
    assert text == _readme_section(doc)
