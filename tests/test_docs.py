"""README.md and docs/ stay true to the code: commands parse, links resolve.

* Every ``motcua ...`` command in a fenced code block or an inline code span of
  README.md, BENCHMARKS.md and docs/*.md names a real subcommand and only options
  that subcommand has; a command in a fenced block with nothing left to fill in
  (no ``SCENARIO``, ``[...]``, ``a|b`` or ``...``) must also pass
  ``motcua.cli.build_parser().parse_args``.
* Every relative link (``[text](path)``, ``![alt](path)``) resolves to an existing
  file or folder, and its ``#anchor``, when it has one, to a heading of the target.

The checkers are tested on deliberately broken text at the end, so a checker that
accepts everything fails here.
"""

from __future__ import annotations

import argparse
import re
import shlex
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest

from motcua.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted(
    [ROOT / "README.md", ROOT / "BENCHMARKS.md", *(ROOT / "docs").glob("*.md")],
    key=lambda p: p.as_posix(),
)

# --------------------------------------------------------------------------- markdown

_FENCE = re.compile(r"^\s*(```|~~~)")
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^()\s<>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
_METAVAR = re.compile(r"^[A-Z][A-Z_]+$")
_OPTION = re.compile(r"^--?[A-Za-z][\w-]*")
#: How a command line starts: ``motcua``, ``.venv/bin/motcua``, ``python -m motcua.cli``.
_PROGRAM = re.compile(r"^(?:\S*/bin/)?motcua$")


def _blocks(text: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(line number, line) pairs inside fenced code blocks, and outside them."""
    inside: list[tuple[int, str]] = []
    outside: list[tuple[int, str]] = []
    fence: str | None = None
    for no, line in enumerate(text.split("\n"), 1):
        m = _FENCE.match(line)
        if m and (fence is None or m.group(1) == fence):
            fence = None if fence else m.group(1)
            continue
        (inside if fence else outside).append((no, line))
    return inside, outside


def _without_inline_code(line: str) -> str:
    return _INLINE_CODE.sub(lambda m: " " * len(m.group(0)), line)


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class Command:
    """One ``motcua`` command shown in a document."""

    where: str  # "file:line"
    argv: tuple[str, ...]  # after the program name
    text: str
    #: shown as a command line (a fenced block), not named in prose (inline code)
    fenced: bool = True


def _split_shell(line: str, pipes: bool = True) -> list[list[str]]:
    """Tokens of each simple command in ``line`` (split at ``&&``, ``||``, ``;``, ``|``).

    ``pipes=False`` (inline code in prose) keeps ``a|b`` as one word: there ``|``
    separates alternatives, as in ``--mode motorbike|car|walk``.
    """
    lexer = shlex.shlex(line, posix=True, punctuation_chars="&|;" if pipes else "&;")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    out: list[list[str]] = [[]]
    for tok in lexer:
        if tok in ("&&", "||", ";", "|", "&"):
            out.append([])
        else:
            out[-1].append(tok)
    return [c for c in out if c]


def _argv_of(tokens: list[str]) -> tuple[str, ...] | None:
    """The arguments after the program name, or None when this is not a motcua command."""
    if tokens and _PROGRAM.match(tokens[0]):
        return tuple(tokens[1:])
    for i in range(len(tokens) - 2):  # python -m motcua.cli ...
        if tokens[i + 1] == "-m" and tokens[i + 2] in ("motcua.cli", "motcua") and "python" in tokens[i]:
            return tuple(tokens[i + 3:])
    return None


def _logical_lines(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Join ``\\`` continuations, and a usage synopsis's indented ``[--option ...]`` lines."""
    out: list[tuple[int, str]] = []
    for no, line in lines:
        stripped = line.strip()
        if out and (out[-1][1].endswith("\\")
                    or (stripped.startswith("[") and line[:1].isspace()
                        and _argv_of(_first_tokens(out[-1][1])) is not None)):
            prev_no, prev = out[-1]
            out[-1] = (prev_no, prev.rstrip("\\").rstrip() + " " + stripped)
        else:
            out.append((no, line.rstrip()))
    return out


def _first_tokens(line: str) -> list[str]:
    try:
        cmds = _split_shell(line.rstrip("\\"))
    except ValueError:
        return []
    return cmds[0] if cmds else []


def commands_in(text: str, name: str) -> list[Command]:
    """Every motcua command of a markdown text: in fenced blocks and in inline code."""
    inside, outside = _blocks(text)
    found: list[Command] = []
    candidates = [(no, re.sub(r"^\s*\$\s+", "", line), True)
                  for no, line in _logical_lines(inside)]
    for no, line in outside:
        candidates += [(no, m.group(2).replace("\\|", "|"), False)
                       for m in _INLINE_CODE.finditer(line)]
    for no, line, pipes in candidates:
        if "motcua" not in line:
            continue
        try:
            simple = _split_shell(line, pipes)
        except ValueError as exc:  # an unbalanced quote in a shown command is an error too
            found.append(Command(f"{name}:{no}", ("<unparsable>", str(exc)), line))
            continue
        for tokens in simple:
            argv = _argv_of(tokens)
            if argv is not None:
                found.append(Command(f"{name}:{no}", argv, line.strip(), fenced=pipes))
    return found


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _is_placeholder(tok: str) -> bool:
    return ("..." in tok or "…" in tok or tok.startswith("[") or tok.endswith("]")
            or bool(_METAVAR.match(tok)) or ("|" in tok and not tok.startswith(("zip:", "/"))))


def check_command(cmd: Command, parser: argparse.ArgumentParser | None = None) -> list[str]:
    """Problems with one shown command (empty when it is right)."""
    parser = parser or build_parser()
    subs = _subparsers(parser)
    argv = list(cmd.argv)
    if argv[:1] == ["<unparsable>"]:
        return [f"{cmd.where}: cannot split `{cmd.text}`: {argv[1]}"]
    top = {s for a in parser._actions for s in a.option_strings}
    i = 0
    while i < len(argv) and argv[i] in top:
        i += 1
    if i == len(argv):  # "the `motcua` command" in prose names the program only
        return [] if argv or not cmd.fenced else [f"{cmd.where}: `{cmd.text}` names no subcommand"]
    name = argv[i]
    if name not in subs:
        if _METAVAR.match(name):  # "motcua COMMAND --help": any subcommand
            return []
        if _is_placeholder(name):  # e.g. "motcua validate|demo|coverage|..."
            names = [n for n in re.split(r"[|\[\]]", name) if n]
            unknown = [n for n in names if n not in subs and n != "..."]
            return [f"{cmd.where}: unknown subcommand {u!r} in `{cmd.text}`" for u in unknown]
        return [f"{cmd.where}: unknown subcommand {name!r} in `{cmd.text}` "
                f"(expected one of {', '.join(subs)})"]
    sub = subs[name]
    known = set(sub._option_string_actions)
    problems = []
    for tok in argv[i + 1:]:
        for part in re.findall(r"(?:^|[\[|])(--?[A-Za-z][\w-]*)", tok):
            opt = part.split("=", 1)[0]
            if opt not in known:
                problems.append(f"{cmd.where}: `motcua {name}` has no option {opt} (in `{cmd.text}`)")
    if problems:
        return problems
    if not cmd.fenced or any(_is_placeholder(t) for t in argv):
        # prose names a command ("`motcua place` with `--points N`") or a synopsis:
        # its options exist; there is nothing concrete to parse
        return []
    try:
        parser.parse_args(argv)
    except SystemExit as exc:
        if exc.code not in (0, None) or not ({"-h", "--help"} & set(argv) or "--version" in argv):
            return [f"{cmd.where}: `{cmd.text}` does not parse (exit {exc.code})"]
    return []


# --------------------------------------------------------------------------- links


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces -> '-'."""
    text = re.sub(r"<[^>]+>", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link keeps its text
    text = text.strip().lower()
    keep = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in " -_" or cat[0] in "LN" or cat == "Mn":
            keep.append(ch)
    return "".join(keep).replace(" ", "-")


def anchors_of(text: str) -> set[str]:
    """Anchors of every heading of a markdown text (duplicates get -1, -2, ...)."""
    _, outside = _blocks(text)
    seen: dict[str, int] = {}
    out = set()
    for _, line in outside:
        m = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        slug = github_slug(m.group(2))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def broken_links(text: str, source: Path, root: Path = ROOT) -> list[str]:
    """Relative links of ``text`` (a file at ``source``) whose target or anchor is missing."""
    _, outside = _blocks(text)
    problems = []
    for no, line in outside:
        for m in _LINK.finditer(_keep_link_text(line)):
            target = m.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
                continue
            path_part, _, anchor = target.partition("#")
            where = f"{source.relative_to(root) if source.is_relative_to(root) else source}:{no}"
            if not path_part:  # an anchor in this document
                if anchor not in anchors_of(text):
                    problems.append(f"{where}: link to {target!r}: no heading #{anchor} in {source.name}")
                continue
            dest = (source.parent / path_part).resolve()
            if not dest.exists():
                problems.append(f"{where}: link to {target!r}: no such file")
                continue
            if not dest.resolve().is_relative_to(root.resolve()):
                problems.append(f"{where}: link to {target!r} leaves the repository")
                continue
            if anchor and dest.is_file() and dest.suffix == ".md":
                if anchor not in anchors_of(dest.read_text(encoding="utf-8")):
                    problems.append(f"{where}: link to {target!r}: no heading #{anchor} in {dest.name}")
    return problems


def _keep_link_text(line: str) -> str:
    """Blank inline code that is not a link's text (so `[x](y)` shown as code is no link)."""
    out, last = [], 0
    for m in _INLINE_CODE.finditer(line):
        before = line[:m.start()]
        in_link_text = before.rfind("[") > before.rfind("]")
        out.append(line[last:m.start()])
        out.append(m.group(0) if in_link_text else " " * len(m.group(0)))
        last = m.end()
    out.append(line[last:])
    return "".join(out)


# --------------------------------------------------------------------------- the documents


def _rel(p: Path) -> str:
    return p.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("doc", DOCS, ids=_rel)
def test_every_command_shown_parses(doc: Path) -> None:
    parser = build_parser()
    cmds = commands_in(doc.read_text(encoding="utf-8"), _rel(doc))
    problems = [p for c in cmds for p in check_command(c, parser)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("doc", DOCS, ids=_rel)
def test_every_relative_link_resolves(doc: Path) -> None:
    problems = broken_links(doc.read_text(encoding="utf-8"), doc)
    assert not problems, "\n".join(problems)


def test_the_readme_shows_every_subcommand_and_the_docs_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = {name for c in commands_in(readme, "README.md") if c.argv
             for name in re.split(r"[|\[\]]", c.argv[0])}
    assert set(_subparsers(build_parser())) <= shown
    for doc in (ROOT / "docs").glob("*.md"):
        assert f"docs/{doc.name}" in readme, f"README.md does not link docs/{doc.name}"


def test_the_readme_stays_short() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").split("\n")) < 200


# --------------------------------------------------------------------------- the checkers


def test_the_command_checker_finds_wrong_commands() -> None:
    text = "\n".join([
        "Run `motcua place scenarios/demo --modle lscp` and",
        "```bash",
        "motcua stafff scenarios/demo",
        "motcua place scenarios/demo --model nope",
        "motcua staff SCENARIO [--week 2026-W48] [--max-moves N]",
        "             [--no-such-option]",
        "python3 -m venv .venv && .venv/bin/motcua coverage scenarios/demo --minutes \\",
        "    thirty",
        "motcua coverage scenarios/demo --km 5   # fine",
        "```",
    ])
    cmds = commands_in(text, "t.md")
    assert [c.where for c in cmds] == ["t.md:3", "t.md:4", "t.md:5", "t.md:7", "t.md:9", "t.md:1"]
    problems = {c.where: check_command(c) for c in cmds}
    assert "no option --modle" in problems["t.md:1"][0]
    assert "unknown subcommand 'stafff'" in problems["t.md:3"][0]
    assert "does not parse" in problems["t.md:4"][0]  # a choice the parser refuses
    assert "no option --no-such-option" in problems["t.md:5"][0]  # a synopsis line joined
    assert "does not parse" in problems["t.md:7"][0]  # --minutes thirty, after \ and &&
    assert problems["t.md:9"] == []


def test_the_command_checker_accepts_right_commands() -> None:
    text = "\n".join([
        "`motcua validate|demo|coverage|place|staff|import` and `motcua --version`",
        "```",
        "$ motcua place scenarios/demo --model mclp --points 40 --out runs/mclp40",
        "motcua staff SCENARIO [--week 2026-W48] [--max-moves N]",
        "             [--forecast FILE] [--json]",
        "motcua coverage --help",
        "motcua --debug COMMAND ...",
        "```",
    ])
    cmds = commands_in(text, "t.md")
    assert len(cmds) == 6
    assert [p for c in cmds for p in check_command(c)] == []
    assert check_command(Command("t.md:1", ("validate|demo|nothing",), "x")) != []


def test_the_link_checker_finds_broken_links(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# Title\n\n## Model (`x.py`, CP-SAT)\n", encoding="utf-8")
    (tmp_path / "img.png").write_bytes(b"")
    text = "\n".join([
        "# Top",
        "[ok](docs/a.md) [ok anchor](docs/a.md#model-xpy-cp-sat) ![ok](img.png) [self](#top)",
        "[missing](docs/b.md) and [bad anchor](docs/a.md#models)",
        "[web](https://example.org/nowhere) `[not a link](nowhere.md)`",
        "```",
        "[in a code block](nowhere.md)",
        "```",
        "[bad self](#nope) [[`docs/a.md`](docs/a.md)]",
    ])
    (tmp_path / "outside.md").write_text("", encoding="utf-8")
    sub = tmp_path / "repo"
    sub.mkdir()
    problems = broken_links(text, tmp_path / "README.md", tmp_path)
    assert len(problems) == 3, problems
    assert "README.md:3: link to 'docs/b.md': no such file" in problems
    assert "README.md:3: link to 'docs/a.md#models': no heading #models in a.md" in problems
    assert "README.md:8: link to '#nope': no heading #nope in README.md" in problems
    # a link out of the repository fails even when the file exists
    assert broken_links("[up](../outside.md)", sub / "README.md", sub) == [
        "README.md:1: link to '../outside.md' leaves the repository"]


def test_github_slugs() -> None:
    assert github_slug("Weekly staff rebalancing (`motcua staff`)") == "weekly-staff-rebalancing-motcua-staff"
    assert github_slug("The demo province: Tỉnh Mẫu (SYNTHETIC)") == "the-demo-province-tỉnh-mẫu-synthetic"
    assert anchors_of("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}
