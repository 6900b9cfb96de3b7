"""Secret masking for every message, log line and report the harness writes.

Two nets: values registered at run time (session tokens, secret values a check read) are replaced
wherever they appear, and patterns catch the shapes secrets take in HTTP and AWS text even when
nobody registered them (Authorization headers, SigV4 signatures, access key ids, URL passwords...).
Over-masking a harmless value is cheap; leaking one secret into a CI log is not.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Collection, Mapping
from urllib.parse import quote

MASK = "***"
# Shorter values would mask ordinary words and digits all over a report.
MIN_SECRET_LENGTH = 4

_Sub = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]

# Order matters: the whole-header patterns run before the finer SigV4 ones.
_PATTERNS: tuple[_Sub, ...] = (
    # "Authorization: AWS4-HMAC-SHA256 ..." / "Authorization": "Bearer ..." / authorization=...
    (
        re.compile(r"""(?i)(["']?\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?)[^"'\r\n}]+"""),
        r"\1" + MASK,
    ),
    (re.compile(r"(?i)\b(Credential=)[^,\s&\"']+"), r"\1" + MASK),
    (re.compile(r"(?i)\b(Signature=)[0-9a-f]+"), r"\1" + MASK),
    (re.compile(r"(?i)\b(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s\"']+"), r"\1" + MASK),
    (
        re.compile(r"""(?i)(["']?\bx-amz-security-token["']?\s*:\s*["']?)[^"'\r\n,}]+"""),
        r"\1" + MASK,
    ),
    # credentials files, env dumps and JSON: aws_session_token = ..., AWS_SECRET_ACCESS_KEY=...
    (
        re.compile(
            r"""(?i)(["']?\b(?:aws_)?(?:session_token|secret_access_key|security_token)["']?\s*[:=]\s*["']?)"""
            r"""[^"'\s,}&]+"""
        ),
        r"\1" + MASK,
    ),
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), MASK),
    # "password": "...", "client_secret": "...", "apiKey": "..."
    (
        re.compile(
            r"""(?i)(["'][\w-]*(?:password|passwd|secret|api[_-]?key|token)["']\s*:\s*["'])"""
            r"""(?:[^"'\\]|\\.)*"""
        ),
        r"\1" + MASK,
    ),
    # password=..., pwd=... in query strings, DSNs and command lines
    (re.compile(r"(?i)\b((?:password|passwd|pwd|client_secret|api_key)=)[^&\s;\"']+"), r"\1" + MASK),
    # postgres://user:pass@host, redis://:pass@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+@"), r"\1" + MASK + "@"),
    (re.compile(r"(?i)\b(Bearer\s+)[A-Za-z0-9\-._~+/]+=*"), r"\1" + MASK),
)

# For each pattern, words (lower case) of which at least one occurs in any text it can match. Most
# text a run redacts is short and names no secret at all: one lower() and a few substring tests then
# replace eleven regex scans (redaction was ~10% of a smoke run's time).
_TRIGGERS: tuple[tuple[str, ...], ...] = (
    ("authorization",),
    ("credential=",),
    ("signature=",),
    ("x-amz-",),
    ("x-amz-security-token",),
    ("session_token", "secret_access_key", "security_token"),
    ("akia", "asia"),
    # The word is followed by the key's closing quote in every match: "token" alone is in too many
    # texts (a whole report names Secrets Manager), and this pattern scans ~20 ms per MB.
    tuple(
        f"{word}{quote}"
        for word in ("password", "passwd", "secret", "apikey", "api_key", "api-key", "token")
        for quote in "\"'"
    ),
    ("password=", "passwd=", "pwd=", "client_secret=", "api_key="),
    ("://",),
    ("bearer",),
)

_URL_PASSWORD = re.compile(r"://[^:/@\s]*:[^@/\s]+@")


def _secret_key_follows(lowered: str) -> bool:
    r"""Whether a secret-named word with its closing quote is followed by `\s*:`, as it is in every
    match of the JSON-key pattern. A report names SSM parameters ending in "token" hundreds of times,
    never as a key: the pattern itself then scanned the whole file (~20 ms per MB) for nothing."""
    for word in _TRIGGERS[7]:
        at = lowered.find(word)
        while at != -1:
            after = lowered[at + len(word) : at + len(word) + 64]
            rest = after.lstrip()
            if rest.startswith(":") or (not rest and len(after) == 64):  # 64 blanks: let the pattern say
                return True
            at = lowered.find(word, at + 1)
    return False


# Checks every match of the pattern implies, for patterns whose trigger words are too common in
# reports: (text, lowered) -> whether the pattern can match. The URL-password pattern tries a scheme
# at every word start (~15 ms per MB of report); its check looks for a literal "://" (~0.2 ms per MB).
_PREFILTERS: dict[int, Callable[[str, str], bool]] = {
    7: lambda _text, lowered: _secret_key_follows(lowered),
    9: lambda text, _lowered: _URL_PASSWORD.search(text) is not None,
}

_SHORT = 10_000
_ANY_TRIGGER = re.compile("|".join(re.escape(word) for words in _TRIGGERS for word in words))

# A dict key whose name ends like one of these holds a secret, whatever its value looks like.
_SECRET_KEY_SUFFIXES = (
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "secretaccesskey",
    "secretstring",
    "secretbinary",
    "apikey",
    "privatekey",
    "credentials",
    "cookie",
    "signature",
)


def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret: `DBPassword`, `aws_session_token`, `X-Amz-Security-Token`."""
    normalized = re.sub(r"[^a-z0-9]", "", key.lower())
    return normalized.endswith(_SECRET_KEY_SUFFIXES)


class Redactor:
    """Masks registered secret values and well-known secret shapes. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._compiled: re.Pattern[str] | None = None

    def add(self, secret: str) -> None:
        """Register a value to mask from now on (values under 4 characters are ignored)."""
        if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
            return
        # The same secret often travels URL-encoded (query strings, presigned URLs).
        variants = {secret, quote(secret, safe="")}
        with self._lock:
            if variants <= self._secrets:
                return
            self._secrets |= variants
            # Longest first, so a secret containing another is masked whole.
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._compiled = re.compile("|".join(re.escape(s) for s in ordered))

    def redact(self, text: str) -> str:
        if not text:
            return text
        compiled = self._compiled
        if compiled is not None:
            text = compiled.sub(MASK, text)
        lowered = text.lower()
        # The common case, a short text naming no secret: one scan, and no shape can match. A whole
        # report always names a trigger somewhere, often far in: the checks below are enough.
        if len(lowered) < _SHORT and _ANY_TRIGGER.search(lowered) is None:
            return text
        for index, ((pattern, replacement), triggers) in enumerate(zip(_PATTERNS, _TRIGGERS, strict=True)):
            if any(word in lowered for word in triggers):
                prefilter = _PREFILTERS.get(index)
                if prefilter is not None and not prefilter(text, lowered):
                    continue
                text = pattern.sub(replacement, text)
                lowered = text.lower()
        return text

    def redact_obj(self, obj: object, *, redacted_keys: Collection[str] = ()) -> object:
        """A deep copy of dicts/lists/tuples/strings with secrets masked; other values as they are.

        `redacted_keys`: keys of a top-level mapping whose values were redacted when they were
        recorded, kept as they are (every report file still passes `redact` last)."""
        if isinstance(obj, str):
            return self.redact(obj)
        if isinstance(obj, bytes | bytearray):
            return self.redact(bytes(obj).decode("utf-8", errors="replace"))
        if isinstance(obj, Mapping):
            return {
                key: value if key in redacted_keys else self._redact_item(key, value)
                for key, value in obj.items()
            }
        if isinstance(obj, list):
            return [self.redact_obj(item) for item in obj]
        if isinstance(obj, tuple):
            return tuple(self.redact_obj(item) for item in obj)
        return obj

    def _redact_item(self, key: object, value: object) -> object:
        if isinstance(key, str) and is_secret_key(key) and value is not None:
            return MASK
        return self.redact_obj(value)


REDACTOR = Redactor()
