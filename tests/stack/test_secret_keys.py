"""One rule for secret-looking keys (verify.redact.is_secret_key), read by the outputs, the inventory
and the redactor alike: word parts and common abbreviations, case-insensitive, in every convention;
a reference to a secret (its ARN, name or id) is not the secret."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify import redact
from verify.redact import MASK, Redactor, is_secret_key
from verify.stack import values as output_values
from verify.stack.inventory import build_inventory, classify
from verify.stack.outputs import parse_outputs

SECRET_KEYS = [
    "dbpassword", "AUTHTOKEN", "AdminPass", "DbCredential", "SigningKey", "db_pwd", "ApiKey",
    "ClientSecret", "PrivateKey", "accessKey", "secretAccessKey", "DBPASS", "grafana_admin_password",
    "x-api-key", "SessionToken", "BasicAuth", "ConnectionString", "JwtSecret", "WebhookSigningKey",
    "aws_session_token", "X-Amz-Security-Token", "Authorization", "SecretString", "deviceToken",
    "MasterUserPassword", "db_password_prod", "ApiKey7A3B9C1D", "Passphrase",
    # a review of the fix: the short form of credentials, raw keys, auth header values
    "DbCreds", "Creds", "redis_cred", "EncryptionKey", "AesKey", "DeployKey", "AuthHeader",
    "RedisAuthString",
]  # fmt: skip
IDENTIFIER_KEYS = [
    "SecretArn", "SecretName", "KmsKeyArn", "KeyId", "SecretsManagerSecretName", "DbSecretArn",
    "SECRETARN", "dbpasswordname", "DbPasswordParameterName", "AccessKeyId", "KMSMasterKeyArn",
    "TokenizerFunctionName", "AuthTokenTable", "SecretRotationFunction", "KeySchema", "PassThrough",
    "BypassMode", "AuthType", "SecretNamedev", "RawSensorTableName", "ApiEndpoint", "KeyPairName",
    "CreditLimitTable", "CreditScore", "DbCredsArn", "EncryptionKeyArn", "DataKey",
]  # fmt: skip


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_secret_looking_keys_are_secret(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", IDENTIFIER_KEYS)
def test_keys_naming_a_resource_are_not_secret(key: str) -> None:
    assert not is_secret_key(key)


def test_the_outputs_and_the_redactor_read_the_same_rule() -> None:
    assert output_values.is_secret_key is redact.is_secret_key
    outputs = parse_outputs({key: "v4lue-x" for key in SECRET_KEYS + IDENTIFIER_KEYS}, "f.json")
    assert {o.key for o in outputs.outputs if o.sensitive} == set(SECRET_KEYS)
    masked = Redactor().redact_obj({key: "v4lue-x" for key in SECRET_KEYS + IDENTIFIER_KEYS})
    assert isinstance(masked, dict)
    assert {k for k, v in masked.items() if v == MASK} == set(SECRET_KEYS)


def test_every_value_under_an_arn_names_a_resource() -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
    assert not is_secret_key("db_secret", (arn,))
    assert is_secret_key("db_secret", (arn, "hunter22"))


# ------------------------------------------------------------------- the rule, property-tested

_SECRET_STEMS = [
    ["password"], ["passwd"], ["pwd"], ["pass"], ["token"], ["auth", "token"], ["secret"],
    ["credential"], ["credentials"], ["api", "key"], ["signing", "key"], ["private", "key"],
    ["access", "key"], ["secret", "access", "key"], ["client", "secret"], ["session", "token"],
    ["passphrase"], ["connection", "string"],
]  # fmt: skip
_PREFIXES = ["db", "admin", "grafana", "app", "master", "main", "primary", "device", "github", "redis"]
_REFERENCES = ["arn", "name", "id", "url", "path", "parameter", "ref"]
_SAFE_WORDS = [
    "raw", "sensor", "table", "queue", "kms", "key", "id", "arn", "name", "url", "endpoint", "region",
    "port", "bucket", "stream", "function", "processor", "dlq", "topic", "alarm", "log", "group", "vpc",
    "subnet", "db", "instance", "cluster", "host", "data", "bus", "role", "schema", "alias", "user",
]  # fmt: skip
_ENVS = ["dev", "prod", "staging", "1", "pr123"]


def _styled(words: list[str], style: str) -> str:
    if style == "camel":
        return words[0] + "".join(w.capitalize() for w in words[1:])
    if style == "pascal":
        return "".join(w.capitalize() for w in words)
    if style == "snake":
        return "_".join(words)
    if style == "upper_snake":
        return "_".join(words).upper()
    if style == "kebab":
        return "-".join(words)
    if style == "glued":
        return "".join(words)
    return "".join(words).upper()  # glued upper


_STYLES = st.sampled_from(["camel", "pascal", "snake", "upper_snake", "kebab", "glued", "glued_upper"])
_SEPARATED = st.sampled_from(["camel", "pascal", "snake", "upper_snake", "kebab"])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(_PREFIXES), max_size=2),
    st.sampled_from(_SECRET_STEMS),
    _STYLES,
)
def test_a_secret_word_in_any_convention_is_secret(prefix: list[str], stem: list[str], style: str) -> None:
    assert is_secret_key(_styled([*prefix, *stem], style))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(_PREFIXES), max_size=2),
    st.sampled_from(_SECRET_STEMS),
    st.sampled_from(_ENVS),
    _SEPARATED,
)
def test_an_environment_suffix_changes_nothing(
    prefix: list[str], stem: list[str], env: str, style: str
) -> None:
    assert is_secret_key(_styled([*prefix, *stem, env], style))
    assert not is_secret_key(_styled([*prefix, *stem, "arn", env], style))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(_PREFIXES), max_size=2),
    st.sampled_from(_SECRET_STEMS),
    st.sampled_from(_REFERENCES),
    _STYLES,
)
def test_a_reference_to_a_secret_is_not_secret(
    prefix: list[str], stem: list[str], reference: str, style: str
) -> None:
    key = _styled([*prefix, *stem, reference], style)
    assert not is_secret_key(key)
    assert classify(key, "db-creds-prod").sensitive is False


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(_SAFE_WORDS), min_size=1, max_size=5), _STYLES)
def test_keys_without_a_secret_word_are_never_secret(words: list[str], style: str) -> None:
    assert not is_secret_key(_styled(words, style))


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_any_key_is_answered_quickly_and_consistently(key: str) -> None:
    assert is_secret_key(key) is is_secret_key(key)
    assert isinstance(Redactor().redact_obj({key: "value"}), dict)


# ---------------------------------------------- finding 2: a secret is no resource identifier


@pytest.mark.parametrize(
    "value",
    [
        "CANARY-db-secret-2f1e",
        "arn:aws:sqs:us-east-1:123456789012:CANARY-queue",
        "https://CANARY.execute-api.us-east-1.amazonaws.com/prod",
        "https://sqs.us-east-1.amazonaws.com/123456789012/CANARY-q",
        "CANARY-table-name",
    ],
)
def test_a_sensitive_output_is_a_masked_setting_whatever_its_value_looks_like(value: str) -> None:
    document = {
        "db_secret": {"value": value, "type": "string", "sensitive": True},
        "raw_table_name": {"value": "raw-data", "type": "string", "sensitive": False},
    }
    inventory = build_inventory(parse_outputs(document, "tf.json"))
    secret = next(r for r in inventory.resources if r.key == "db_secret")
    assert (secret.kind, secret.role, secret.arn, secret.url, secret.sensitive) == (
        "scalar",
        None,
        None,
        None,
        True,
    )
    assert inventory.of_kind("secret", "sqs_queue", "api", "dynamodb_table") == [
        r for r in inventory.resources if r.key == "raw_table_name"
    ]
    assert "CANARY" not in repr(secret) + str(inventory.to_json())


def test_a_secret_looking_key_is_a_masked_setting_even_with_an_override() -> None:
    outputs = parse_outputs({"AdminPass": "CANARY-pass-77", "SigningKey": "CANARY-sign-88"}, "f.json")
    inventory = build_inventory(outputs, overrides={"AdminPass": {"kind": "secret"}})
    assert [(r.kind, r.sensitive) for r in inventory.resources] == [("scalar", True), ("scalar", True)]
