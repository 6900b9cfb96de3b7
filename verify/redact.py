"""Secret masking for every message, log line and report the harness writes.

Two nets: values registered at run time (session tokens, secret values a check read) are replaced
wherever they appear, and patterns catch the shapes secrets take in HTTP and AWS text even when
nobody registered them (Authorization headers, SigV4 signatures, access key ids, URL passwords...).
Over-masking a harmless value is cheap; leaking one secret into a CI log is not.
"""

from __future__ import annotations

import functools
import html
import json
import re
import threading
from collections.abc import Callable, Collection, Mapping
from typing import Any, NamedTuple
from urllib.parse import quote

MASK = "***"
# JSON's literals: one bit is no secret, and masking them would cut the structure of every JSON text.
_LITERALS = frozenset({"true", "false", "null", "True", "False", "None", "TRUE", "FALSE", "NULL"})
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

# ----------------------------------------------------------------------- secret-looking keys
#
# One rule for every key verify reads: an output key (`DbPassword`, `AUTHTOKEN`), a dict key of an
# AWS answer or an HTTP body (`SecretString`, `deviceToken`, `X-Amz-Security-Token`). It reads the
# key's word parts case-insensitively, in any convention (camelCase, snake_case, kebab-case, all
# caps, words glued together), and tells a secret *value* from a *reference* to one: `SecretArn`,
# `SecretName`, `KmsKeyArn`, `KeyId` name a resource, and a secret's name or ARN is fine to print.

# Terms that make a key secret wherever they occur in its glued words.
_SECRET_TERMS = (
    "password", "passwd", "passphrase", "passcode", "passkey", "pwd", "secret", "token", "credential",
    "authorization", "cookie", "signature", "connectionstring", "connstr", "privatekey",
    "authheader", "authstring", "authcode",
    "cred(?!it|ibl)",  # `DbCreds`, `RedisCred`: the common short form; not `CreditLimit`, `Credible`
)  # fmt: skip
# `key` is a secret only after one of these (`ApiKey`, `SigningKey`); `KmsKey`, `KeySchema` are not.
_KEY_MODIFIERS = (
    "api", "access", "private", "signing", "sign", "secret", "auth", "session", "master", "client",
    "shared", "hmac", "jwt", "ssh", "license", "app", "account", "admin", "root", "webhook",
    "subscription", "consumer", "encryption", "decryption", "aes", "cipher", "crypto", "deploy",
)  # fmt: skip
# Last words that make the key a reference to a secret rather than the secret itself.
_REFERENCE_TAILS = (
    "arn", "arns", "name", "names", "id", "ids", "identifier", "path", "url", "uri", "parameter",
    "param", "ref", "location", "alias", "prefix",
)  # fmt: skip
# Last words that make the key name a resource (`AuthTokenTable`, `SecretRotationFunction`).
_RESOURCE_TAILS = frozenset(
    {
        "table", "tables", "queue", "queues", "topic", "topics", "bucket", "buckets", "stream",
        "streams", "function", "functions", "lambda", "fn", "role", "alarm", "alarms", "cluster",
        "service", "bus", "machine", "loggroup", "rule",
    }
)  # fmt: skip
# A lone `pass` is a password (`AdminPass`, `DBPASS`) unless it is one of these words.
_NOT_PASS = ("bypass", "compass", "overpass", "underpass", "surpass", "trespass", "encompass")
_ENV_TAILS = frozenset(
    {"dev", "prod", "staging", "stage", "test", "qa", "uat", "sandbox", "sbx", "development", "production"}
)
_PR_ENV = re.compile(r"pr\d*")  # `...-pr123`: a pull request's environment
_KEY_HINT = re.compile(r"pass|pwd|secret|token|key|cred|auth|cookie|signature|connstr|string")
_KEY_CDK_HASH = re.compile(r"(?<=[A-Za-z])[0-9A-F]{8}$")
_KEY_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_KEY_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")
_SECRET_KEY_ALTERNATIVES = "|".join(
    (
        *_SECRET_TERMS,
        *(f"{modifier}key" for modifier in _KEY_MODIFIERS),
        # `pass`, but not in bypass/compass/passthrough/passage/passenger/passive/passport
        "".join(f"(?<!{word[:-4]})" for word in _NOT_PASS) + "pass(?!thr|age|enger|ive|port)",
    )
)
_SECRET_KEY_WORDS = re.compile(_SECRET_KEY_ALTERNATIVES)
_SECRET_KEY_AT_END = re.compile(f"(?:{_SECRET_KEY_ALTERNATIVES})s?$")


def _key_words(key: str) -> list[str]:
    """Lower-case word parts of a key, without a CDK hash suffix and environment/number tails."""
    match = _KEY_CDK_HASH.search(key)
    if match and len(key) > 8 and any(c.isdigit() for c in match.group()):
        key = key[: match.start()]
    words = [
        part.lower() for chunk in _KEY_SEPARATORS.split(key) for part in _KEY_PARTS.findall(chunk) if part
    ]
    while len(words) > 1 and (words[-1].isdigit() or words[-1] in _ENV_TAILS or _PR_ENV.fullmatch(words[-1])):
        words.pop()
    if words:  # glued: `SecretNamedev`
        for env in _ENV_TAILS:
            if words[-1].endswith(env) and words[-1][: -len(env)] in _REFERENCE_TAILS:
                words[-1] = words[-1][: -len(env)]
                break
    return words


def _is_reference(last: str) -> bool:
    if last in _REFERENCE_TAILS:
        return True
    # Glued words (`SECRETARN`, `dbpasswordname`): a reference tail right after a secret term.
    return any(
        last.endswith(tail) and _SECRET_KEY_AT_END.search(last[: -len(tail)]) is not None
        for tail in _REFERENCE_TAILS
    )


@functools.lru_cache(maxsize=8192)
def _key_is_secret(key: str) -> bool:
    if _KEY_HINT.search(key.lower()) is None:
        return False  # the common case, decided without splitting the key into words
    words = _key_words(key)
    if not words:
        return False
    glued = "".join(words)
    if _SECRET_KEY_WORDS.search(glued) is None and not (words[-1] == "auth" and len(words) > 1):
        return False
    return not (_is_reference(words[-1]) or words[-1] in _RESOURCE_TAILS)


def is_secret_key(key: str, items: tuple[str, ...] = ()) -> bool:
    """Whether a key names a secret *value*: `DBPassword`, `AUTHTOKEN`, `AdminPass`, `db_pwd`,
    `SigningKey`, `aws_session_token`, `X-Amz-Security-Token`; not `SecretArn`, `KmsKeyArn`, `KeyId`.

    `items`: the values under an output key; a key whose every value is an ARN names a resource."""
    if not isinstance(key, str) or not _key_is_secret(key):
        return False
    return not (items and all(item.startswith("arn:") for item in items))


class _Needle(NamedTuple):
    """Where a registered value is looked for: whole (short values), or by its first or last
    FRAGMENT_CHARS characters (long ones), each found with `str.find` at C speed; a regex alternation
    of the values scanned a whole report at ~30 ms per MB."""

    text: str
    secret: str
    at: str  # "whole", "start" or "end"


# A text cut before it was masked (a body's first N characters) holds only part of a secret, which no
# longer matches it whole. A part of a long registered value that keeps its first or last this many
# characters is masked as far as it matches: mask first, then cut, and this net for whoever cut first.
FRAGMENT_CHARS = 16


class Redactor:
    """Masks registered secret values and well-known secret shapes. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._needles: tuple[_Needle, ...] = ()

    def reset(self) -> None:
        """Forget every secret: for a process that runs verify more than once (a test suite calling
        `main()` again and again), so one run's secrets never mask words in the next run's text."""
        with self._lock:
            self._secrets = set()
            self._needles = ()

    def add(self, secret: str) -> None:
        """Register a value to mask from now on (values under 4 characters, and the literals `true`,
        `false`, `null` -- a Terraform `sensitive` bool holds one bit -- are ignored)."""
        if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH or secret.strip() in _LITERALS:
            return
        variants = _encoded_forms(secret)
        with self._lock:
            if variants <= self._secrets:
                return
            self._secrets |= variants
            self._needles = _needles(self._secrets)

    def redact(self, text: str) -> str:
        if not text:
            return text
        found = [needle for needle in self._needles if needle.text in text]
        if found:
            text = _mask_registered(found, text)
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

    def cut(self, text: str, limit: int, marker: str = "") -> str:
        """`text` masked, then cut to at most `limit` characters (`marker` ends a cut text). The order
        matters: a secret cut first no longer matches, and its first part would be shown."""
        masked = self.redact(text)
        if len(masked) <= limit:
            return masked
        return masked[: max(limit - len(marker), 0)] + marker

    def trimmed(self, value: object, limit: int) -> object:
        """A value for evidence: secret-named fields and registered values masked in its structure
        first; then, when its JSON is longer than `limit`, that JSON cut (marked with "…")."""
        masked = self.redact_obj(value)
        text = json.dumps(masked, default=str)
        return masked if len(text) <= limit else self.cut(text, limit, "…")

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

    def redact_json_value(self, obj: object, *, numbers: bool = True) -> object:
        """A JSON value masked value by value, so the mask is part of a value and never of the
        structure: strings and keys masked, a secret-looking key's value masked, and (`numbers`) a
        number whose text holds a registered value replaced by the mask. Masked as text instead, a
        registered `5432` made `"duration_ms": ***`, and a value spanning tokens (`ACTIVE", "status":
        "failed`) dropped fields from a file that still parsed."""
        if isinstance(obj, str):
            return self.redact(obj)
        if isinstance(obj, Mapping):
            return {self.redact(str(key)): self._json_item(key, value, numbers) for key, value in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.redact_json_value(item, numbers=numbers) for item in obj]
        if numbers and isinstance(obj, int | float) and not isinstance(obj, bool):
            text = json.dumps(obj)
            return MASK if self.redact(text) != text else obj
        return obj

    def masked_json(self, obj: object, dumps: Callable[[Any], str] = json.dumps) -> str:
        """`dumps(obj)`, masked and still JSON of the same structure: as it is when the redactor finds
        nothing in its text (the common case, one pass), else dumped again from `obj` masked value
        by value (`redact_json_value`)."""
        text = dumps(obj)
        if self.redact(text) == text:
            return text
        return dumps(self.redact_json_value(obj))

    def _json_item(self, key: object, value: object, numbers: bool) -> object:
        if isinstance(key, str) and value is not None and not isinstance(value, bool) and is_secret_key(key):
            return MASK
        return self.redact_json_value(value, numbers=numbers)

    def _redact_item(self, key: object, value: object) -> object:
        # A flag (`AuthTokenEnabled: true`) says whether there is a secret; it is never one.
        if isinstance(key, str) and value is not None and not isinstance(value, bool) and is_secret_key(key):
            return MASK
        return self.redact_obj(value)


def _encoded_forms(secret: str) -> set[str]:
    """The forms a value takes in what verify writes: as it is, URL-encoded (query strings, presigned
    URLs), and escaped for each report's medium (JSON, HTML/XML, Markdown). Every report passes the
    redactor last, after it was escaped: a password holding `&`, `<`, `"` or `é` must still match."""
    from verify.escape import markdown

    as_json = json.dumps(secret)[1:-1]
    forms = {
        secret,
        quote(secret, safe=""),
        as_json,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret, quote=False),
        html.escape(secret, quote=True),
        html.escape(secret, quote=False).replace('"', "&quot;"),  # an XML attribute
        html.escape(as_json, quote=True),  # JSON evidence inside report.html
        # Python's repr (a message quoting an answer with `!r`): in either quote style
        repr(secret)[1:-1],
        repr(f"{secret}'\"")[1:-4],  # a text holding both quotes: `'` escaped as `\'`
        # Markdown escapes `_` and a leading `-` by what stands around them: each neighbourhood.
        markdown(secret),
        markdown(f"a{secret}a")[1:-1],
        markdown(f" {secret} ")[1:-1],
    }
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def _needles(secrets: set[str]) -> tuple[_Needle, ...]:
    needles: list[_Needle] = []
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) <= FRAGMENT_CHARS:
            needles.append(_Needle(secret, secret, "whole"))
        else:  # the value whole starts with its first part: one needle finds both
            needles.append(_Needle(secret[:FRAGMENT_CHARS], secret, "start"))
            needles.append(_Needle(secret[-FRAGMENT_CHARS:], secret, "end"))
    return tuple(needles)


def _mask_registered(found: list[_Needle], text: str) -> str:
    """Every registered value, and every part of one that keeps its first or last FRAGMENT_CHARS
    characters (extended as far as the text goes on matching the value) where a text was cut
    (`_cut_there`), replaced by one mask; where two values overlap, their union is masked."""
    spans: list[tuple[int, int]] = []
    for needle, secret, at in found:
        floor = 0  # an extension never reaches back into this needle's previous span
        start = text.find(needle)
        while start != -1:
            end = start + len(needle)
            if at == "start":  # the value's beginning: extend forward
                end += _common_length(text, end, secret, len(needle), forward=True)
            elif at == "end":  # the value's end: extend backward
                left = len(secret) - len(needle)
                start -= _common_length(text, start, secret, left, forward=False, floor=floor)
            # a part right after a copy this needle masked is what is left of one more copy
            if end - start == len(secret) or start == floor > 0 or _cut_there(text, start, end, at):
                spans.append((start, end))
                floor = end
            start = text.find(needle, end)
    spans.sort()
    pieces: list[str] = []
    at_char = 0
    for start, end in spans:
        if start <= at_char and pieces:  # overlaps (or touches) the span already masked
            at_char = max(at_char, end)
            continue
        pieces += [text[at_char:start], MASK]
        at_char = end
    pieces.append(text[at_char:])
    return "".join(pieces)


def _cut_there(text: str, start: int, end: int, at: str) -> bool:
    """Whether a part of a value can be what is left of it where a text was cut: it stops at the
    text's edge or at a character that cannot continue a name. Where a letter or a digit follows,
    the text holds another value sharing its first (or last) characters -- another secret's ARN in
    the same account, another URL on the same host -- and is not masked."""
    if at == "start":
        return end >= len(text) or not text[end].isalnum()
    return start <= 0 or not text[start - 1].isalnum()


def _common_length(text: str, at: int, secret: str, from_: int, *, forward: bool, floor: int = 0) -> int:
    """How many characters of `secret` continue to match `text` from `at` (forward: `text[at:]`
    against `secret[from_:]`; backward: what ends at `at` against what ends at `from_`). Slices are
    compared (at C speed), halving the length: a value of repeated characters once took a second."""
    most = min(len(secret) - from_, len(text) - at) if forward else min(from_, at - floor)
    low, high = 0, max(most, 0)
    while low < high:
        size = (low + high + 1) // 2
        if forward:
            same = text[at : at + size] == secret[from_ : from_ + size]
        else:
            same = text[at - size : at] == secret[from_ - size : from_]
        if same:
            low = size
        else:
            high = size - 1
    return low


REDACTOR = Redactor()
