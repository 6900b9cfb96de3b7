"""What a rendered report's markup is made of, so a test can say "a hostile value added none".

A report rendered from hostile values and the same report rendered from harmless ones must have
the same skeleton: the same lines, each with the same Markdown constructs (or HTML tags) in the same
order. Any markup a value smuggled in (a heading, a cell break, a code span, an image, a tag) shows
up as a difference.
"""

from __future__ import annotations

import re
import unicodedata

# Characters that start Markdown constructs wherever they stand unescaped.
_MD_MARKUP = set("*[]|<~#")
_LEADING = re.compile(r"^(#{1,6} |> |- |\d+[.)] |[-+=]{3,}$|\|)")


def _code_span_end(line: str, at: int, fence: int) -> int | None:
    """Where the code span opened by `fence` backticks at `at` closes (just past it), if it does."""
    search = at + fence
    while True:
        found = line.find("`" * fence, search)
        if found == -1:
            return None
        end = found + fence
        if (found == 0 or line[found - 1] != "`") and (end >= len(line) or line[end] != "`"):
            return end
        search = end
        while search < len(line) and line[search] == "`":
            search += 1


def markdown_skeleton(text: str) -> list[str]:
    """Per line: its leading block marker, then every unescaped markup character and code span."""
    skeleton = []
    for line in text.split("\n"):
        lead = _LEADING.match(line)
        tokens = [lead.group(1) if lead else ""]
        i = 0
        while i < len(line):
            char = line[i]
            if char == "\\" and i + 1 < len(line):
                i += 2
                continue
            if char == "`":
                fence = len(line[i:]) - len(line[i:].lstrip("`"))
                end = _code_span_end(line, i, fence)
                if end is not None:
                    tokens.append("code")
                    i = end
                    continue
                tokens.append("`" * fence)
                i += fence
                continue
            if char in _MD_MARKUP:
                tokens.append(char)
            elif char == "_":
                before = line[i - 1] if i else " "
                after = line[i + 1] if i + 1 < len(line) else " "
                if not (before.isalnum() and after.isalnum()):
                    tokens.append("_")
            i += 1
        skeleton.append(" ".join(tokens))
    return skeleton


def outside_code_spans(text: str) -> str:
    """`text` without its code spans (whose content Markdown shows literally) and escaped characters."""
    kept = []
    for line in text.split("\n"):
        i, out = 0, []
        while i < len(line):
            if line[i] == "\\" and i + 1 < len(line):
                i += 2
                continue
            if line[i] == "`":
                fence = len(line[i:]) - len(line[i:].lstrip("`"))
                end = _code_span_end(line, i, fence)
                i = end if end is not None else i + fence
                continue
            out.append(line[i])
            i += 1
        kept.append("".join(out))
    return "\n".join(kept)


_TAG = re.compile(r"<[^>]*>")


def html_skeleton(text: str) -> list[str]:
    """Every tag of the page, in order (attribute values that we compute, such as anchors, dropped)."""
    return [re.sub(r'"[^"]*"', '""', tag) for tag in _TAG.findall(text)]


def control_characters(text: str, allowed: str = "\n") -> list[str]:
    """Control, format and separator characters of `text` (a terminal or a Markdown file must hold none)."""
    return sorted(
        {
            repr(c)
            for c in text
            if c not in allowed and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")
        }
    )
