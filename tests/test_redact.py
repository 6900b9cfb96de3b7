"""Redactor: plant canaries in every shape a secret travels in, assert none survives."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verify.redact import MASK, REDACTOR, Redactor, is_secret_key

CANARY = "canary-Zx81QpLm"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
TEMP_KEY = "ASIAQWERTYUIOPASDFGH"
SIGNATURE = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/execute-api/"
        f"aws4_request, SignedHeaders=host;x-amz-date, Signature={CANARY}",
        f'{{"Authorization": "Bearer {CANARY}", "Host": "api.example.com"}}',
        f"{{'authorization': 'Basic {CANARY}'}}",
        f"AWS4-HMAC-SHA256 Credential={CANARY}/20150830/us-east-1/iam/aws4_request, Signature=abc",
        f"AWS4-HMAC-SHA256 Credential=AKID/x, SignedHeaders=host, Signature={SIGNATURE}",
        f"https://bucket.s3.amazonaws.com/k?X-Amz-Credential={CANARY}&X-Amz-Signature={SIGNATURE}",
        f"https://h/p?X-Amz-Security-Token={CANARY}&x=1",
        f"X-Amz-Security-Token: {CANARY}",
        f'{{"x-amz-security-token": "{CANARY}"}}',
        f"aws_session_token = {CANARY}",
        f"aws_secret_access_key={CANARY}",
        f"AWS_SECRET_ACCESS_KEY={CANARY}",
        f'{{"password": "{CANARY}"}}',
        f'{{"DBPassword": "{CANARY}", "user": "admin"}}',
        f'{{"client_secret":"{CANARY}"}}',
        f"host=db port=5432 password={CANARY} dbname=app",
        f"postgres://admin:{CANARY}@db.internal:5432/app",
        f"redis://:{CANARY}@cache.internal:6379/0",
        f"curl -H 'Authorization: Bearer {CANARY}' https://x",
        f"Bearer {CANARY}",
    ],
)
def test_secret_shapes_are_masked(text: str) -> None:
    redacted = Redactor().redact(text)
    assert CANARY not in redacted
    assert SIGNATURE not in redacted
    assert MASK in redacted


@pytest.mark.parametrize("key_id", [ACCESS_KEY, TEMP_KEY])
def test_access_key_ids_are_masked(key_id: str) -> None:
    redacted = Redactor().redact(f"signed by {key_id} at noon")
    assert key_id not in redacted
    assert redacted == f"signed by {MASK} at noon"


def test_registered_values_are_masked_anywhere() -> None:
    redactor = Redactor()
    token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+secret=="
    redactor.add(token)
    redactor.add("hunter22")
    text = f"token was {token}; in a URL: ?t=IQoJb3JpZ2luX2VjEJr%2F%2F%2F; db pw hunter22!"
    redacted = redactor.redact(text)
    assert token not in redacted
    assert "hunter22" not in redacted
    assert redacted.startswith(f"token was {MASK}; ")


def test_url_encoded_registered_value_is_masked() -> None:
    redactor = Redactor()
    redactor.add("a/b+c=d?e")
    assert redactor.redact("x?v=a%2Fb%2Bc%3Dd%3Fe&y=1") == f"x?v={MASK}&y=1"


def test_short_values_are_not_registered() -> None:
    redactor = Redactor()
    redactor.add("abc")
    redactor.add("")
    assert redactor.redact("abc and abcd") == "abc and abcd"
    redactor.add("abcd")
    assert redactor.redact("abc and abcd") == f"abc and {MASK}"


def test_longer_secret_containing_shorter_is_masked_whole() -> None:
    redactor = Redactor()
    redactor.add("secret")
    redactor.add("secretvalue123")
    assert redactor.redact("x secretvalue123 y") == f"x {MASK} y"


def test_ordinary_text_is_left_alone() -> None:
    text = (
        "DynamoDB table raw-sensor-data-dev: expected PointInTimeRecovery ENABLED, got DISABLED "
        "(https://abc.execute-api.us-east-1.amazonaws.com/prod/ingest?limit=10, port 5432)"
    )
    assert Redactor().redact(text) == text


def test_redact_obj_masks_secret_keys_and_values_deeply() -> None:
    redactor = Redactor()
    redactor.add(CANARY)
    evidence = {
        "request": {
            "headers": {
                "Authorization": "AWS4-HMAC-SHA256 ...",
                "X-Amz-Security-Token": "FwoGZXIvYXdzEJr",
                "Content-Type": "application/json",
            },
            "url": f"https://x/p?X-Amz-Signature={SIGNATURE}",
        },
        "items": [{"SecretString": "s3cr3t!", "Name": "db"}, ("tuple", CANARY)],
        "Credentials": {"AccessKeyId": ACCESS_KEY, "SecretAccessKey": "wJalrXUtnFEMI", "SessionToken": "z"},
        "master_password": "hunter2hunter2",
        "NextToken": None,
        "count": 3,
        "raw": f"password={CANARY}".encode(),
    }
    redacted = redactor.redact_obj(evidence)
    dumped = json.dumps(redacted)
    for leaked in (CANARY, SIGNATURE, "FwoGZXIvYXdzEJr", "s3cr3t!", "wJalrXUtnFEMI", "hunter2hunter2"):
        assert leaked not in dumped, leaked
    assert isinstance(redacted, dict)
    assert redacted["request"]["headers"]["Content-Type"] == "application/json"
    assert redacted["items"][0]["Name"] == "db"
    assert redacted["items"][1] == ("tuple", MASK)
    assert redacted["Credentials"] == MASK
    assert redacted["NextToken"] is None
    assert redacted["count"] == 3
    # The input is not modified.
    assert evidence["master_password"] == "hunter2hunter2"


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("password", True),
        ("MasterUserPassword", True),
        ("aws_session_token", True),
        ("X-Amz-Security-Token", True),
        ("Authorization", True),
        ("SecretString", True),
        ("client-secret", True),
        ("api_key", True),
        ("SecretArn", False),
        ("SecretName", False),
        ("TableName", False),
        ("KeySchema", False),
    ],
)
def test_is_secret_key(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_process_wide_instance_is_a_redactor() -> None:
    assert isinstance(REDACTOR, Redactor)
    assert ACCESS_KEY not in REDACTOR.redact(ACCESS_KEY)


_FRAGMENTS = [
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/sqs/aws4_request",
    "Signature=0123abcdef",
    "X-Amz-Security-Token=FQoGZXIvYXdzE",
    '"x-amz-security-token": "tok"',
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI",
    "aws_session_token = IQoJb3JpZ2lu",
    "ASIAIOSFODNN7EXAMPL2",
    '"client_secret": "shh"',
    '"apiKey": "k-123"',
    "password=hunter22",
    "pwd=abc;",
    "postgres://app:s3cret@db:5432/x",
    "Bearer eyJhbGciOi.x.y",
    "plain words",
    " ",
    "TableName",
    "https://example.com/path",
    "PASSWORD=",
    "Bearer",
    '"client_secret" : "x"',
    "'Token':'t'",
    "redis://:pw@h",
    "HTTPS://U:P@H/x",
    "s3://bucket/key:v@x",
    '"NextToken": null',
    '"/app/alert-webhook-token", ',
    '"token"',
    "'secret'\n\t :",
    '"apiKey"' + " " * 70 + ': "k"',
]


@given(
    st.lists(st.sampled_from(_FRAGMENTS), max_size=6),
    st.sampled_from(["", " ", "\n", "&", ",", "'"]),
    st.sampled_from(["", "x" * 10_000]),  # a whole report takes the long-text path
)
def test_trigger_words_never_skip_a_pattern_that_would_match(
    parts: list[str], joiner: str, padding: str
) -> None:
    # The reference: every pattern applied, no shortcut.
    from verify import redact

    text = joiner.join(parts) + padding
    expected = text
    for pattern, replacement in redact._PATTERNS:
        expected = pattern.sub(replacement, expected)
    assert Redactor().redact(text) == expected


def test_evidence_recorded_redacted_is_not_redacted_again_and_the_rest_is() -> None:
    redactor = Redactor()
    redactor.add("s3cr3t-value")
    calls = [{"service": "sqs", "operation": "GetQueueAttributes", "params": {"QueueUrl": "u"}}]
    evidence = {"db_password": "x", "seen": "s3cr3t-value", "aws_calls": calls}
    out = redactor.redact_obj(evidence, redacted_keys=("aws_calls",))
    assert out == {"db_password": "***", "seen": "***", "aws_calls": calls}
    assert out["aws_calls"] is calls  # kept as recorded: no second pass


def test_reset_forgets_every_secret_and_masking_starts_again() -> None:
    redactor = Redactor()
    redactor.add("hunter2-swordfish")
    assert "hunter2-swordfish" not in redactor.redact("password hunter2-swordfish here")
    redactor.reset()
    assert redactor.redact("password hunter2-swordfish here") == "password hunter2-swordfish here"
    redactor.add("another-secret-value")
    assert "another-secret-value" not in redactor.redact("x another-secret-value y")
