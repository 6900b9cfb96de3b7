"""What discovery's notes say when a step could not be followed: the AWS error code, verify's own
sentence as it is, or another exception's type and first line. An interrupted run's notes read
"AWS call abandoned: ..." rather than "AwsAccessError: AWS call abandoned: ..."."""

from __future__ import annotations

from botocore.exceptions import ClientError

from verify.errors import AwsAccessError, VerifyError
from verify.stack.walk import _error_text


def test_verify_s_own_sentence_is_said_as_it_is() -> None:
    assert _error_text(AwsAccessError("AWS call abandoned: the run is being stopped")) == (
        "AWS call abandoned: the run is being stopped"
    )
    assert (
        _error_text(VerifyError("could not reach the endpoint\nsecond line"))
        == "could not reach the endpoint"
    )


def test_an_aws_error_is_its_code_and_anything_else_its_type() -> None:
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetFunction")
    assert _error_text(denied) == "GetFunction answered AccessDeniedException"
    assert _error_text(KeyError("Configuration")) == "KeyError: 'Configuration'"
    assert _error_text(RuntimeError()) == "RuntimeError"
