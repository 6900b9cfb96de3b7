"""Over-redaction by the cut-text net (a review of issue 16, finding 9): any text sharing the first
16 characters of a registered value was masked as far as it matched, so a Terraform output marked
`sensitive` holding one secret's ARN masked the region and account of every other secret's ARN
(`***db-credentials-AbCdEf`), and a sensitive webhook URL the prefix of every URL on that host. A
part of a value is masked where a text was cut: where the match stops at the text's end or at a
character that cannot continue a name, never in the middle of another name."""

from __future__ import annotations

import pytest

from verify.redact import MASK, Redactor

SENSITIVE_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:CANARYtfSens01-abc"
OTHER_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-credentials-AbCdEf"


def _redactor() -> Redactor:
    redactor = Redactor()
    redactor.add(SENSITIVE_ARN)
    redactor.add("https://hooks.slack.com/services/T000/B000/CANARYwebhook9")
    return redactor


@pytest.mark.parametrize(
    "text",
    [
        f"secret {OTHER_ARN} is ACTIVE",
        "see https://hooks.slack.com/services/T000/B999/other and https://hooks.slack.com/services/T0001",
        f'{{"SecretId": "{OTHER_ARN}"}}',
    ],
)
def test_a_name_sharing_a_registered_values_prefix_is_not_masked(text: str) -> None:
    assert _redactor().redact(text) == text


@pytest.mark.parametrize(
    "text, shown",
    [
        (f"secret {SENSITIVE_ARN} is ACTIVE", f"secret {MASK} is ACTIVE"),
        (f"HTTP 500: {SENSITIVE_ARN[:40]!r}", f"HTTP 500: '{MASK}'"),  # cut first, then quoted
        (f"body: {SENSITIVE_ARN[:30]}", f"body: {MASK}"),  # cut at the text's end
        (f"{SENSITIVE_ARN[-30:]} at the end", f"{MASK} at the end"),  # a window over a value's end
        (f"x:{SENSITIVE_ARN[-20:]}", f"x:{MASK}"),
    ],
)
def test_a_registered_value_and_its_cut_parts_are_still_masked(text: str, shown: str) -> None:
    assert _redactor().redact(text) == shown
