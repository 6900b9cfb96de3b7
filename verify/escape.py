"""One escaping helper per medium, for every value that came from the stack, the outputs, an API's
answer or a user: the terminal, Markdown (summary.md and GitHub's step summary) and HTML.

An output key such as `\\r# verify: PASS\\r<img src=x onerror=...>` is data. In a terminal it must
not move the cursor, clear the screen or reorder the line (ESC sequences, carriage returns, bidi
overrides); in Markdown it must not open a heading, a table cell, a code span, a link, an image or
raw HTML; in HTML it must not be markup. Each helper turns such characters into visible escapes
(`\\u001b`), so what the value held stays readable.
"""

from __future__ import annotations

import html
import re
import unicodedata

# Control characters (C0, DEL, C1), format characters (bidi overrides and isolates, zero-width
# joiners, BOM) and the Unicode line and paragraph separators: none of them belongs in a report line.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
_ASCII_SAFE = re.compile(r"[ -~]*")


def _visible(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def _escaped_controls(text: str, keep: str = "") -> str:
    if _ASCII_SAFE.fullmatch(text):
        return text  # the common case: printable ASCII only
    return "".join(_visible(c) if c not in keep and _unsafe(c) else c for c in text)


def terminal(value: object, *, multiline: bool = False) -> str:
    """Text for one terminal line (`multiline`: lines): every control, format and separator
    character shown escaped (`\\x1b`, `\\x0d`, `\\u202e`), so a key or a message cannot rewrite the screen."""
    return _escaped_controls(str(value), keep="\n" if multiline else "")


# Markdown: backslash-escape what opens inline markup anywhere; entities for what opens HTML.
_MD_ALWAYS = re.compile(r"([\\`*\[\]|~#])")
# `_` opens emphasis only at a word's edge: `raw_sensor_table` stays as it is.
_MD_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
# What makes a line a list item, a quote, a heading underline or a numbered item when it starts one.
_MD_LEADING = re.compile(r"^([-+=>]|\d+[.)])")


# Any character one of the rules below would change: most titles and messages hold none.
_MD_SPECIAL = re.compile(r"[\\`*\[\]|~#_<>&]|[^ -~]")


def markdown(value: object) -> str:
    """Text for one Markdown line or table cell: no heading, list, quote, emphasis, code span, link,
    image, raw HTML or cell break can start inside it; line breaks become spaces."""
    text = str(value)
    if _MD_SPECIAL.search(text) is None and not _MD_LEADING.match(text):
        return text  # the common case: one scan (a run's summary.md has a cell per check)
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\t", " ")
    text = _escaped_controls(text)
    text = html.escape(text, quote=False)  # & < > as entities: no raw HTML, no autolink
    text = _MD_ALWAYS.sub(r"\\\1", text)
    text = _MD_UNDERSCORE.sub(r"\\_", text)
    return _MD_LEADING.sub(_escape_last_char, text)


def _escape_last_char(match: re.Match[str]) -> str:
    opener = match.group(1)  # `-`, `>`, `12.`: the backslash goes before its last character
    return opener[:-1] + "\\" + opener[-1]


def markdown_code(value: object) -> str:
    """A Markdown code span holding `value` literally: a fence of more backticks than the value's
    longest run, so a backtick inside cannot close it early and swallow the rest of the line."""
    text = _escaped_controls(str(value).replace("\r", " ").replace("\n", " ").replace("\t", " "))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") or not text.strip() else text
    return f"{fence}{padded}{fence}"


def html_text(value: object) -> str:
    """Text for HTML content or an attribute: markup escaped, controls shown escaped (line breaks
    kept, for <pre>)."""
    return html.escape(_escaped_controls(str(value), keep="\n"), quote=True)
