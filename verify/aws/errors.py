"""`aws_errors()`: botocore's exceptions turned into the harness's two families.

A missing resource is `CheckFailed` (the stack is wrong), everything else is `AwsAccessError` (could
not verify). With `subject=` ("DynamoDB table `raw`") a missing resource is said in the check's own
words, once for every probe: what was expected, what was seen, and which call saw it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProxyConnectionError,
    ReadTimeoutError,
    SSLError,
    StubResponseError,
    TokenRetrievalError,
)

from verify.aws.breaker import EndpointDown
from verify.errors import AwsAccessError, CheckFailed
from verify.redact import REDACTOR

NO_CREDENTIALS = (
    "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
    "or run `aws sso login`"
)
NO_REGION = "no AWS region configured: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)"

# Error codes, by what they mean for a verifier.
_NOT_FOUND_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "ResourceNotFound",
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        "NotFoundException",
        "NotFound",
        "NoSuchEntity",
        "NoSuchBucket",
        "NoSuchKey",
        "ParameterNotFound",
        "ClusterNotFoundException",
        "ServiceNotFoundException",
        "StateMachineDoesNotExist",
        "404",
    }
)
# e.g. EC2 "InvalidVpcID.NotFound", RDS "DBInstanceNotFoundFault", Step Functions "StateMachineDoesNotExist".
_NOT_FOUND_SUFFIXES = ("NotFound", "NotFoundFault", "NotFoundException", "DoesNotExist")
_ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "AuthorizationErrorException",
        "Forbidden",
        "403",
    }
)
_BAD_CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "AuthFailure",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "RequestExpired",
    }
)
# botocore's standard retry mode treats these as throttling; seen here, its retries ran out.
_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
_UNREACHABLE = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
    ProxyConnectionError,
    SSLError,
)


def _is_not_found(code: str, status: int) -> bool:
    return code in _NOT_FOUND_CODES or code.endswith(_NOT_FOUND_SUFFIXES) or status == 404


@contextmanager
def aws_errors(service: str, operation: str, resource: str, *, subject: str | None = None) -> Iterator[None]:
    """Translate botocore exceptions raised inside into `CheckFailed` / `AwsAccessError`.

    `subject` names the resource as a check speaks of it ("SQS queue `work`"): a missing resource is
    then "SQS queue `work`: expected it to exist, got not found (GetQueueUrl)", expected "exists",
    actual "not found". Without it the message names the service and the error code.
    """
    try:
        yield
    except EndpointDown as error:
        if error.server_error:
            raise AwsAccessError(
                f"{service} {operation} on {resource}: AWS answered {error.reason}; retry later"
            ) from None
        raise AwsAccessError(
            f"could not reach {error.endpoint} for {service} {operation} on {resource}: {error.reason}; "
            "check the network, the region and AWS_ENDPOINT_URL"
        ) from None
    except ClientError as error:
        raise _from_client_error(error, service, operation, resource, subject) from error
    except StubResponseError:
        raise  # a test's stub mismatch is a bug in the test, not an AWS answer
    except (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError, TokenRetrievalError):
        raise AwsAccessError(NO_CREDENTIALS + f" (needed for {service}:{operation} on {resource})") from None
    except _UNREACHABLE as error:
        endpoint = error.kwargs.get("endpoint_url") or error.kwargs.get("proxy_url") or service
        raise AwsAccessError(
            f"could not reach {endpoint} for {service} {operation} on {resource} "
            f"({type(error).__name__}): check the network, the region and AWS_ENDPOINT_URL"
        ) from error
    except NoRegionError:
        raise AwsAccessError(NO_REGION) from None
    except BotoCoreError as error:
        detail = REDACTOR.redact(str(error))
        raise AwsAccessError(
            f"{service} {operation} on {resource} failed: {type(error).__name__}: {detail}"
        ) from error


def _from_client_error(
    error: ClientError, service: str, operation: str, resource: str, subject: str | None
) -> CheckFailed | AwsAccessError:
    info = error.response.get("Error", {})
    code = str(info.get("Code", "Unknown"))
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if _is_not_found(code, status):
        if subject is not None:
            return CheckFailed(
                f"{subject}: expected it to exist, got not found ({operation})",
                resource=resource,
                expected="exists",
                actual="not found",
            )
        return CheckFailed(
            f"{service} {resource}: expected it to exist, got not found ({operation}: {code})",
            resource=resource,
        )
    if code in _ACCESS_DENIED_CODES or (status == 403 and code not in _BAD_CREDENTIAL_CODES):
        return AwsAccessError(
            f"access denied: the credentials in use lack permission {service}:{operation} "
            f"on {resource} ({code}); grant it or use a role that has it"
        )
    if code in _BAD_CREDENTIAL_CODES:
        return AwsAccessError(
            f"AWS rejected the credentials for {service}:{operation} on {resource} ({code}): "
            "they are invalid or expired; refresh them (e.g. `aws sso login`) and retry"
        )
    if code in _THROTTLING_CODES or status == 429:
        return AwsAccessError(
            f"{service} {operation} on {resource}: throttled by AWS ({code}) even after retries; "
            "retry later or lower --workers"
        )
    if status >= 500:
        return AwsAccessError(
            f"{service} {operation} on {resource}: AWS returned HTTP {status} ({code}) after retries; "
            "retry later"
        )
    message = REDACTOR.cut(re.sub(r"\s+", " ", str(info.get("Message", ""))), 300)  # masked, then cut
    return AwsAccessError(f"{service} {operation} on {resource} was rejected: {code}: {message}")
