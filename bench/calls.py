"""The read calls of a verify run, taken from its reports/summary.json, for bench/floor.py to replay.

    python3 bench/calls.py reports/summary.json -o calls.json

Each check's evidence lists its AWS calls (service, operation and only the resource-identifying
params, see verify/engine/evidence.py RESOURCE_PARAMS) and its HTTP exchanges. The output is one JSON list:
    {"service": "dynamodb", "operation": "DescribeTable", "params": {"TableName": "..."}}
    {"http": {"method": "GET", "url": "...", "signed": true, "status": 400}}
with an optional "expect_error" (the error code the run got, so the same answer counts as done) and
"note" (how the call differs from the recorded one). What the evidence cannot reproduce exactly:

- Params not recorded. Where an operation's required params are all recorded, the call is replayed
  as recorded, plus the cost-setting params the harness passes (COST_PARAMS: a Scan page of the
  harness's size, not a 1 MB one). Reads that need what is never recorded (a key, a key condition,
  an id that is no resource param) are replaced by a read of the same service and resource in one
  round trip (SUBSTITUTES; the call carries a note). Any other read missing a required param is
  counted as unreplayable and the CLI exits 1: a floor short of calls would be too low.
- Truncated lists. A check with more than 40 calls keeps the first and the last 20 and counts the
  rest in `aws_calls_not_shown`; those are the middle of a poll, so each one is replayed as the kept
  tail's calls taken in turn (noted). HTTP lists stop at 40 without a count: a full list is reported.
- Pagination tokens are not recorded: each recorded page is replayed as a first page.
- Not replayed, with a note: writes (the floor is a read floor; a smoke run makes none), calls that
  never got an answer (transport errors), HTTP other than GET/HEAD, and URLs with a redacted part.
- Calls marked `cached` (a smoke run asks each question once: verify/aws/snapshot.py) went to no AWS
  endpoint and are not replayed: the floor makes the calls the run made.
- Signed or not: the HTTP evidence does not say. A "signed" field is used when present; otherwise a
  check whose id says "unsigned" sent it unsigned and every other one signed. The recorded status
  goes along, and the floor fails a reply with another status, so a wrong guess cannot pass.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.exceptions
import botocore.session

# What verify's evidence keeps (verify/engine/evidence.py MAX_CALLS): the first half and the last half.
MAX_CALLS = 40
READ_PREFIXES = ("Get", "Describe", "List", "Query", "Scan", "BatchGet", "Filter", "Lookup", "Head", "Search")
REDACTED = "***"

# Params the harness passes that set a call's cost but identify no resource (so are not recorded).
COST_PARAMS: dict[tuple[str, str], dict[str, Any]] = {
    ("dynamodb", "Scan"): {"Limit": 100},  # verify/probes/smoke.py PAGE_SIZE
    ("apigateway", "GetResources"): {"embed": ["methods"]},
    ("sqs", "GetQueueAttributes"): {"AttributeNames": ["All"]},
}

# Reads whose required params the evidence never holds -> (operation, extra params) of one round
# trip on the same service and resource; the recorded params the substitute accepts go along.
SUBSTITUTES: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("dynamodb", "Query"): ("Scan", {"Limit": 1}),
    ("dynamodb", "GetItem"): ("Scan", {"Limit": 1}),
    ("apigateway", "GetMethod"): ("GetRestApi", {}),
    ("apigateway", "GetResource"): ("GetRestApi", {}),
    ("apigatewayv2", "GetApi"): ("GetApis", {}),
    ("apigatewayv2", "GetStages"): ("GetApis", {}),
    ("kinesis", "GetShardIterator"): ("DescribeStreamSummary", {}),
    ("kinesis", "GetRecords"): ("DescribeStreamSummary", {}),
    ("ecs", "DescribeTaskDefinition"): ("ListClusters", {}),
    ("logs", "GetLogEvents"): ("FilterLogEvents", {"limit": 1}),
}


@dataclass
class Replay:
    calls: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unreplayable: int = 0


class _Models:
    """Input shapes from botocore's bundled service models, loaded once per service."""

    def __init__(self) -> None:
        self._session = botocore.session.get_session()
        self._models: dict[str, Any] = {}

    def _operation(self, service: str, operation: str) -> Any:
        if service not in self._models:
            self._models[service] = self._session.get_service_model(service)
        return self._models[service].operation_model(operation)

    def required(self, service: str, operation: str) -> set[str]:
        shape = self._operation(service, operation).input_shape
        return set(shape.required_members) if shape is not None else set()

    def accepted(self, service: str, operation: str) -> set[str]:
        shape = self._operation(service, operation).input_shape
        return set(shape.members) if shape is not None else set()


def _is_read(operation: str) -> bool:
    return operation.startswith(READ_PREFIXES)


def _redacted(value: Any) -> bool:
    return REDACTED in json.dumps(value)


def _aws_call(call: dict[str, Any], models: _Models, replay: Replay, where: str) -> dict[str, Any] | None:
    service, operation = str(call.get("service", "")), str(call.get("operation", ""))
    params: dict[str, Any] = dict(call.get("params") or {})
    error = call.get("error")
    if call.get("http_status") is None and error:
        replay.notes.append(f"{where}: {service}.{operation} got no answer ({error}); not replayed")
        return None
    if not _is_read(operation):
        replay.notes.append(f"{where}: {service}.{operation} is not a read; not replayed")
        return None
    if _redacted(params):
        replay.notes.append(f"{where}: {service}.{operation} has a redacted param; cannot be replayed")
        replay.unreplayable += 1
        return None
    out: dict[str, Any] = {"service": service, "operation": operation}
    try:
        missing = models.required(service, operation) - set(params)
    except botocore.exceptions.BotoCoreError:
        replay.notes.append(f"{where}: {service}.{operation} is unknown to botocore; cannot be replayed")
        replay.unreplayable += 1
        return None
    substitute = SUBSTITUTES.get((service, operation))
    if substitute is not None:
        # Listed because the evidence never holds what it needs, even when the model marks it
        # optional (a Query without its key condition is refused).
        new_operation, extra = substitute
        accepted = models.accepted(service, new_operation)
        params = {**{k: v for k, v in params.items() if k in accepted}, **extra}
        out["operation"] = new_operation
        out["note"] = f"stands in for {operation}, whose key params the evidence does not record"
        operation = new_operation
        error = None  # the substitute's answer is its own
    elif missing:
        replay.notes.append(
            f"{where}: {service}.{operation} needs {sorted(missing)}, which the evidence does not "
            "record, and has no substitute; cannot be replayed"
        )
        replay.unreplayable += 1
        return None
    for name, value in COST_PARAMS.get((service, operation), {}).items():
        params.setdefault(name, value)
    out["params"] = params
    if error:
        out["expect_error"] = str(error)
    return out


def _signed(check_id: str, exchange: dict[str, Any]) -> bool:
    if isinstance(exchange.get("signed"), bool):
        return bool(exchange["signed"])
    return "unsigned" not in check_id.lower()


def _http_call(check_id: str, exchange: dict[str, Any], replay: Replay, where: str) -> dict[str, Any] | None:
    method, _, url = str(exchange.get("request", "")).partition(" ")
    if method not in ("GET", "HEAD"):
        replay.notes.append(f"{where}: HTTP {method} is not a read; not replayed")
        return None
    if REDACTED in url:
        replay.notes.append(f"{where}: HTTP {method} URL has a redacted part; cannot be replayed")
        replay.unreplayable += 1
        return None
    return {
        "http": {
            "method": method,
            "url": url,
            "signed": _signed(check_id, exchange),
            "status": exchange.get("status"),
        }
    }


def _with_hidden(calls: list[dict[str, Any]], hidden: int) -> Iterable[tuple[dict[str, Any], str | None]]:
    """The recorded calls with the `hidden` ones (cut from the middle) put back as the tail, in turn."""
    middle = len(calls) // 2
    tail = calls[middle:] or calls
    for call in calls[:middle]:
        yield call, None
    for n in range(hidden):
        yield tail[n % len(tail)], "stands in for a call the report did not show (aws_calls_not_shown)"
    for call in calls[middle:]:
        yield call, None


def replay_from_summary(summary: dict[str, Any]) -> Replay:
    replay = Replay()
    models = _Models()
    for check in summary.get("checks", []):
        check_id = str(check.get("id", "?"))
        evidence = check.get("evidence") or {}
        recorded = list(evidence.get("aws_calls") or [])
        hidden = int(evidence.get("aws_calls_not_shown") or 0)
        for call, filler in _with_hidden(recorded, hidden):
            if call.get("cached"):
                continue  # answered by the run's snapshot (verify.aws.snapshot): no call went to AWS
            replayed = _aws_call(call, models, replay, check_id)
            if replayed is not None:
                if filler:
                    replayed["note"] = filler
                replay.calls.append(replayed)
        exchanges = list(evidence.get("http") or [])
        if len(exchanges) >= MAX_CALLS:
            replay.notes.append(f"{check_id}: {len(exchanges)} HTTP exchanges shown, maybe more made")
        for exchange in exchanges:
            replayed = _http_call(check_id, exchange, replay, check_id)
            if replayed is not None:
                replay.calls.append(replayed)
    return replay


def calls_from_summary(path: str | Path) -> list[dict[str, Any]]:
    """The replayable read calls of the run whose summary.json is at `path`, in report order."""
    summary: dict[str, Any] = json.loads(Path(path).read_text())
    return replay_from_summary(summary).calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="read calls of a verify run, for bench/floor.py")
    parser.add_argument("summary", type=Path, help="a run's reports/summary.json")
    parser.add_argument("-o", "--output", type=Path, help="where to write the calls (default: stdout)")
    args = parser.parse_args(argv)
    try:
        summary = json.loads(args.summary.read_text())
    except (OSError, ValueError) as error:
        print(f"calls: cannot read {args.summary} as a summary.json ({error})", file=sys.stderr)
        return 2
    replay = replay_from_summary(summary)
    text = json.dumps(replay.calls, indent=1) + "\n"
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    for note in replay.notes:
        print(f"calls: {note}", file=sys.stderr)
    aws = sum(1 for c in replay.calls if "service" in c)
    print(f"calls: {aws} AWS + {len(replay.calls) - aws} HTTP read calls", file=sys.stderr)
    if replay.unreplayable:
        print(
            f"calls: {replay.unreplayable} read call(s) cannot be replayed; a floor without them is too low",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
