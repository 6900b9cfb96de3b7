"""How one output's key and value are read: placeholder values, list items, key words, secret keys.

Kept apart from `verify.stack.outputs` (file formats) because inventory reads keys the same way.
"""

from __future__ import annotations

import json
import math
import re

# The one rule for secret-looking keys lives with the redactor; outputs and inventory read it here.
from verify.redact import is_secret_key as is_secret_key

PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "",
        "unknown",
        "n/a",
        "na",
        "none",
        "null",
        "undefined",
        "tbd",
        "todo",
        "placeholder",
        "changeme",
        "-",
    }
)

_LONGEST_PLACEHOLDER = max(len(p) for p in PLACEHOLDERS)

# Environment names that deploy tools glue onto keys and names (`KinesisStreamNamedev`, `queue_url_staging`).
ENV_WORDS: frozenset[str] = frozenset(
    {"dev", "prod", "staging", "stage", "test", "qa", "uat", "sandbox", "sbx", "development", "production"}
)

# Words that say an output *refers to* something rather than holding it (`DbSecretArn` is no secret).
REFERENCE_WORDS: frozenset[str] = frozenset(
    {
        "arn",
        "arns",
        "name",
        "names",
        "id",
        "ids",
        "identifier",
        "path",
        "url",
        "uri",
        "parameter",
        "param",
        "ref",
        "location",
    }
)

_CDK_HASH = re.compile(r"(?<=[A-Za-z])[0-9A-F]{8}$")
_CAMEL_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")
# Parts of a comma-joined list: identifiers, ARNs, host:port -- no inner spaces, no sentence punctuation.
_LIST_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/@+=*-]*")


# Values a deploy tool never resolved: CDK tokens (`${Token[TOKEN.12]}`, list tokens
# `#{Token[TOKEN.12]}`, number tokens `-1.8881545897087626e+289`), CloudFormation/Terraform
# interpolations (`${AWS::Region}`, `${aws_s3_bucket.b.id}`, `${var.env}`) and Terraform's plan-time
# "(known after apply)". They name nothing yet: reported as missing, like "" or "N/A", never read as
# a name (a host `${Token[TOKEN.12]}.execute-api...` used to end the run in a traceback).
_UNRESOLVED = re.compile(
    r"[$#]\{Token\[[^\]]*\]\}|\$\{[A-Za-z_][\w.:\[\]\"'*-]*\}|-1\.888154589708\d*e\+289|\(known after apply\)"
)


def is_unresolved(text: str) -> bool:
    """True when `text` holds a token or interpolation its deploy tool never resolved."""
    if "{" not in text and "e+289" not in text and "after apply" not in text:
        return False  # the common case, decided without the pattern
    return _UNRESOLVED.search(text) is not None


def is_placeholder(text: str) -> bool:
    return text.strip().casefold() in PLACEHOLDERS or is_unresolved(text)


def strip_cdk_hash(key: str) -> str:
    """`ApiEndpoint760E02C8` → `ApiEndpoint`: CDK appends 8 upper-case hex digits to logical ids."""
    match = _CDK_HASH.search(key)
    if match and len(key) > 8 and any(c.isdigit() for c in match.group()):
        return key[: match.start()]
    return key


def split_words(text: str) -> list[str]:
    """Lower-case words of PascalCase, camelCase, snake_case or kebab-case text (`S3`, `EC2` stay whole)."""
    words: list[str] = []
    for chunk in _SEPARATORS.split(text):
        for part in _CAMEL_PARTS.findall(chunk):
            lowered = part.lower()
            if lowered.isdigit() and words and words[-1] in {"s", "ec"}:
                words[-1] += lowered
            else:
                words.append(lowered)
    return words


def key_words(key: str) -> list[str]:
    """Words of an output key, without the CDK hash suffix."""
    return split_words(strip_cdk_hash(key))


def normalize_items(value: object) -> tuple[str, ...]:
    """The string items an output value stands for; () when it is missing (null, placeholder, empty)."""
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(item for element in value for item in _element_items(element))
    if isinstance(value, str):
        return _string_items(value)
    text = scalar_text(value)
    return () if is_unresolved(text) else (text,)


def _element_items(element: object) -> tuple[str, ...]:
    if element is None:
        return ()
    if isinstance(element, str):
        text = element.strip()
        return () if is_placeholder(text) else (text,)
    scalar = scalar_text(element)
    return () if is_unresolved(scalar) else (scalar,)


def _string_items(value: str) -> tuple[str, ...]:
    text = value.strip()
    if len(text) <= _LONGEST_PLACEHOLDER and text.casefold() in PLACEHOLDERS:
        return ()
    if is_unresolved(text):
        return ()
    if text[0] in "[{":
        decoded = _json_or_none(text)
        if isinstance(decoded, list):
            return normalize_items(decoded)
        if isinstance(decoded, dict):
            return (scalar_text(decoded),)
    if "," in text:
        parts = [part.strip() for part in text.split(",")]
        kept = [part for part in parts if not is_placeholder(part)]
        if all(_LIST_PART.fullmatch(part) for part in kept):
            return tuple(kept)
    return (text,)


def _json_or_none(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def scalar_text(value: object) -> str:
    """JSON text of a non-string value (`true`, `5432`, compact objects); strings unchanged."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        return str(value)
