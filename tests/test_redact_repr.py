"""A registered value quoted by Python's repr (a review of issue 16, finding 9): smoke and the flow
quote an API's answer with `!r`, which escapes a quote (`\\'`), a backslash and control characters
(`\\x1b`) in forms the redactor did not know: a short password echoed in a JSON error body leaked."""

from __future__ import annotations

import pytest

from verify.redact import MASK, Redactor


@pytest.mark.parametrize("secret", ["it's-a-Pw9", "back\\slash-pw", "esc\x1bpw-1", "tab\tpw-22"])
def test_a_registered_value_quoted_by_repr_is_masked(secret: str) -> None:
    redactor = Redactor()
    redactor.add(secret)
    for body in (f'{{"error": "bad {secret}"}}', f"bad {secret} here"):
        shown = redactor.redact(f"HTTP 500: {body!r}")
        assert MASK in shown
        assert repr(secret)[1:-1] not in shown and repr(f"{secret}'\"")[1:-4] not in shown
