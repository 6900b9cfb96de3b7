"""No dangling links in the README and docs/ (issue 18: they pointed at a CONTRACT.md the repository
does not have). Every relative link names a file of the repository, and its #anchor a heading there."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", REPO / "reports" / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)


def _prose(text: str) -> str:
    """The page without its code blocks and inline code: `[x](y)` there is an example, not a link."""
    return re.sub(r"`[^`\n]*`", "", _FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*|_{2}", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading keeps its text
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for line in _FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        if match := re.match(r"#{1,6}\s+(.*)", line):
            base = slug(match.group(1))
            name, n = base, 0
            while name in found:  # GitHub numbers repeated headings: -1, -2...
                n += 1
                name = f"{base}-{n}"
            found.add(name)
    return found


def dangling(page: Path, root: Path = REPO) -> list[str]:
    problems = []
    for match in _LINK.finditer(_prose(page.read_text(encoding="utf-8"))):
        target = match.group(1) or match.group(2)
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        where = f"{page.relative_to(root)}: ({target})"
        if not resolved.is_relative_to(root):
            problems.append(f"{where} leaves the repository")
        elif not resolved.exists():
            problems.append(f"{where} names no file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{where} names no heading of {resolved.relative_to(root)}")
    return problems


def test_no_dangling_links_in_the_readme_and_docs() -> None:
    assert len(PAGES) > 5
    assert [p for page in PAGES for p in dangling(page)] == []


def test_the_docs_never_send_a_reader_outside_the_project() -> None:
    # The team's own contract lives outside the repository; its content is docs/reference.md.
    mentions = [
        f"{page.relative_to(REPO)}: {word}"
        for page in PAGES
        for word in ("CONTRACT.md", "../shared")
        if word in page.read_text(encoding="utf-8")
    ]
    assert mentions == []


def test_the_checker_finds_what_it_must(tmp_path: Path) -> None:
    # Built to fail: a missing file, a missing heading, a link out of the repository.
    docs = tmp_path / "repo" / "docs"
    docs.mkdir(parents=True)
    (docs / "reference.md").write_text((REPO / "docs" / "reference.md").read_text(encoding="utf-8"), "utf-8")
    probe = docs / "probe.md"
    probe.write_text(
        "# Probe\n[a](CONTRACT.md) [b](reference.md#no-such-heading) [c](../../shared/CONTRACT.md)\n"
        "[ok](reference.md#exit-codes) [ok](#probe) `[code](nowhere.md)`\n",
        encoding="utf-8",
    )
    found = dangling(probe, tmp_path / "repo")
    assert [f.split(": ", 1)[1] for f in found] == [
        "(CONTRACT.md) names no file",
        "(reference.md#no-such-heading) names no heading of docs/reference.md",
        "(../../shared/CONTRACT.md) leaves the repository",
    ]
    assert slug("`verify discover --json`") == "verify-discover---json"
    assert slug("Options of `run` and `smoke` (and, where they apply, `discover`)") == (
        "options-of-run-and-smoke-and-where-they-apply-discover"
    )
