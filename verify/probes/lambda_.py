"""Lambda functions: state, runtime support, tracing, reserved concurrency, failure destination,
event source mappings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from botocore.exceptions import ClientError

from verify.aws.errors import aws_errors
from verify.errors import CheckFailed, NotApplicable
from verify.polling import NotYet
from verify.probes.lambda_runtimes import DEPRECATION

# A runtime this close to its deprecation still passes, with a warning in the evidence.
DEPRECATION_WARNING_DAYS = 180


def function_configuration(client: Any, function: str) -> dict[str, Any]:
    with aws_errors("lambda", "GetFunctionConfiguration", function, subject=f"Lambda function `{function}`"):
        answer: dict[str, Any] = client.get_function_configuration(FunctionName=function)
    answer.pop("ResponseMetadata", None)
    return answer


def check_state(client: Any, function: str) -> dict[str, str]:
    """State Active and LastUpdateStatus Successful; `NotYet` while Pending / InProgress."""
    __tracebackhide__ = True
    config = function_configuration(client, function)
    # Functions created before Lambda had states report none; they are active by definition.
    state = str(config.get("State") or "Active")
    update = str(config.get("LastUpdateStatus") or "Successful")
    seen = {"state": state, "last_update_status": update}
    if state == "Pending" or update == "InProgress":
        raise NotYet(f"Lambda function `{function}` Active with its last update Successful", seen)
    if state != "Active":
        reason = config.get("StateReason") or config.get("StateReasonCode") or ""
        hint = (
            " (an idle function is reactivated by its next invocation, which fails)"
            if state == "Inactive"
            else ""
        )
        raise CheckFailed(
            f"Lambda function `{function}`: expected State Active, got {state}"
            + (f": {reason}" if reason else "")
            + hint,
            resource=function,
            expected="Active",
            actual=state,
        )
    if update != "Successful":
        reason = config.get("LastUpdateStatusReason") or config.get("LastUpdateStatusReasonCode") or ""
        raise CheckFailed(
            f"Lambda function `{function}`: expected LastUpdateStatus Successful, got {update}"
            + (f": {reason}" if reason else ""),
            resource=function,
            expected="Successful",
            actual=update,
        )
    return seen


def check_runtime(config: dict[str, Any], function: str, today: dt.date | None = None) -> dict[str, Any]:
    __tracebackhide__ = True
    today = today or dt.date.today()
    runtime = config.get("Runtime")
    if not runtime:
        kind = "container image" if config.get("PackageType") == "Image" else "no managed runtime"
        raise NotApplicable(
            f"Lambda function `{function}` has {kind}: its base image is not a managed runtime"
        )
    # One table for this check and for `verify preflight` (its source, its date and the Amazon Linux 2
    # runtimes it leaves out on purpose are explained there): two tables had drifted apart by weeks.
    deprecated = DEPRECATION.get(str(runtime))
    evidence: dict[str, Any] = {"runtime": runtime}
    if deprecated is None:
        return evidence
    evidence["deprecation_date"] = deprecated.isoformat()
    if today >= deprecated:
        raise CheckFailed(
            f"Lambda function `{function}`: expected a supported runtime, got {runtime}, deprecated "
            f"since {deprecated.isoformat()} (no more security patches)",
            resource=function,
            expected="a supported runtime",
            actual=runtime,
            evidence=evidence,
        )
    if (deprecated - today).days <= DEPRECATION_WARNING_DAYS:
        evidence["warning"] = f"{runtime} is deprecated on {deprecated.isoformat()}"
    return evidence


def check_tracing(config: dict[str, Any], function: str) -> str:
    __tracebackhide__ = True
    mode = str((config.get("TracingConfig") or {}).get("Mode", "PassThrough"))
    if mode != "Active":
        raise CheckFailed(
            f"Lambda function `{function}`: expected X-Ray TracingConfig.Mode Active, got {mode}",
            resource=function,
            expected="Active",
            actual=mode,
        )
    return mode


def check_reserved_concurrency(client: Any, function: str) -> int:
    __tracebackhide__ = True
    with aws_errors("lambda", "GetFunctionConcurrency", function, subject=f"Lambda function `{function}`"):
        reserved = client.get_function_concurrency(FunctionName=function).get("ReservedConcurrentExecutions")
    if reserved is None:
        raise CheckFailed(
            f"Lambda function `{function}`: expected reserved concurrency to be set, got none "
            "(it shares the account's pool and can starve or be starved by other functions)",
            resource=function,
            expected="ReservedConcurrentExecutions set",
            actual=None,
        )
    if reserved == 0:
        raise CheckFailed(
            f"Lambda function `{function}`: expected reserved concurrency > 0, got 0 (the function is throttled: every invocation is refused)",
            resource=function,
            expected="> 0",
            actual=0,
        )
    return int(reserved)


def _on_failure_destination(client: Any, function: str) -> str | None:
    try:
        answer = client.get_function_event_invoke_config(FunctionName=function)
    except ClientError as error:
        # "Not found" here means "no event invoke config", not "no function": the state check
        # reports a missing function.
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        with aws_errors("lambda", "GetFunctionEventInvokeConfig", function):
            raise
    destination = ((answer.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    return str(destination) if destination else None


def check_failure_destination(client: Any, config: dict[str, Any], function: str) -> dict[str, str]:
    """Failed asynchronous invocations go somewhere: a dead-letter queue or an on-failure destination."""
    __tracebackhide__ = True
    dead_letter = (config.get("DeadLetterConfig") or {}).get("TargetArn")
    if dead_letter:
        return {"dead_letter_target": str(dead_letter)}
    on_failure = _on_failure_destination(client, function)
    if on_failure:
        return {"on_failure_destination": on_failure}
    raise CheckFailed(
        f"Lambda function `{function}`: expected a DeadLetterConfig target or an on-failure destination, "
        "got neither (failed asynchronous events are dropped after the retries)",
        resource=function,
        expected="DeadLetterConfig.TargetArn or EventInvokeConfig OnFailure",
        actual=None,
    )


_ESM_TRANSITIONAL = frozenset({"Creating", "Enabling", "Updating"})


def event_source_mappings(client: Any, function: str) -> list[dict[str, Any]]:
    with aws_errors("lambda", "ListEventSourceMappings", function):
        return [
            m
            for page in client.get_paginator("list_event_source_mappings").paginate(FunctionName=function)
            for m in page.get("EventSourceMappings", [])
        ]


def check_event_sources_enabled(client: Any, function: str) -> list[dict[str, str]]:
    """Every event source mapping of the function is Enabled; `NotYet` while one is being set up."""
    __tracebackhide__ = True
    mappings = event_source_mappings(client, function)
    if not mappings:
        raise NotApplicable(f"Lambda function `{function}` has no event source mapping")
    seen = [{"source": str(m.get("EventSourceArn", "")), "state": str(m.get("State", ""))} for m in mappings]
    if any(m["state"] in _ESM_TRANSITIONAL for m in seen):
        raise NotYet(f"event source mappings of Lambda function `{function}` Enabled", seen)
    broken = [m for m in seen if m["state"] != "Enabled"]
    if broken:
        where = ", ".join(f"{m['source'].rsplit(':', 1)[-1]} is {m['state']}" for m in broken)
        reasons = {
            str(m.get("StateTransitionReason"))
            for m in mappings
            if m.get("State") != "Enabled" and m.get("StateTransitionReason")
        }
        raise CheckFailed(
            f"Lambda function `{function}`: expected its event source mappings Enabled, got {where}"
            + (f" ({'; '.join(sorted(reasons))})" if reasons else ""),
            resource=function,
            expected="Enabled",
            actual=broken,
        )
    return seen
