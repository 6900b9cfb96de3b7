"""What a check's outcome means: an exception (or none) -> status and message -> `CheckResult`.

The one builder for both runners. It runs where the check ran (an xdist worker, say), because that
process's redactor knows the run's secrets: what leaves it is already masked.
"""

from __future__ import annotations

import sys
import traceback
from typing import TYPE_CHECKING, Any

from verify.engine.evidence import REDACTED_ON_RECORD
from verify.errors import CheckFailed, NotApplicable, NotReachable, VerifyError
from verify.model import Category, CheckResult, Status

if TYPE_CHECKING:
    from verify.config.settings import Policy
    from verify.engine.evidence import CheckRecorder


def status_of(
    exc: BaseException, evidence: dict[str, Any], *, setup: bool = False
) -> tuple[Status, str, int]:
    """What an exception out of a check means in our vocabulary: (status, message, attempts);
    a `CheckFailed`'s evidence, expected and actual go into `evidence`."""
    attempts = 0
    typename = type(exc).__name__
    if isinstance(exc, NotApplicable):
        # A check that found itself not applicable is a skip with its reason, as pytest.skip would be.
        status, message = Status.SKIPPED, str(exc)
    elif isinstance(exc, CheckFailed):
        status, message = Status.FAILED, str(exc)
        attempts = exc.attempts
        evidence.update(exc.evidence)
        if exc.expected is not None:
            evidence.setdefault("expected", exc.expected)
        if exc.actual is not None:
            evidence.setdefault("actual", exc.actual)
    elif isinstance(exc, NotReachable):
        status, message = Status.UNVERIFIED, f"not verified from here: {exc}"
        if exc.address:
            evidence.setdefault("address", exc.address)
    elif isinstance(exc, AssertionError):
        status, message = Status.FAILED, str(exc).split("\n", 1)[0] or "assertion failed"
    elif isinstance(exc, VerifyError):
        status, message = Status.ERROR, f"could not verify: {exc}"
    elif typename == "Skipped":
        status, message = Status.SKIPPED, str(exc)
    else:
        status, message = Status.ERROR, f"could not verify: {typename}: {exc}"
        # Not a verdict on the stack but a bug in a check or in verify: where it was raised is what
        # its reader needs to report or fix it (a race under load, say, that one run in a hundred hits).
        evidence.setdefault("raised_at", raised_at(exc))
    if setup and status is Status.FAILED:
        status = Status.ERROR  # a fixture that could not build is not a verdict on the stack
    return status, message, attempts


# The frames an unexpected exception's evidence keeps, innermost last.
RAISED_AT_FRAMES = 8


def raised_at(exc: BaseException) -> list[str]:
    """The last frames of `exc`'s traceback, as `path:line in function`: paths relative to the
    import root they were found under, so a report names `verify/aws/snapshot.py`, not a home
    directory. Names and line numbers only: source lines and locals may hold anything."""
    frames = traceback.StackSummary.extract(traceback.walk_tb(exc.__traceback__), lookup_lines=False)
    return [
        f"{_importable(frame.filename)}:{frame.lineno} in {frame.name}"
        for frame in frames[-RAISED_AT_FRAMES:]
    ]


def _importable(filename: str) -> str:
    root = max(
        (p.rstrip("/") for p in sys.path if p and filename.startswith(p.rstrip("/") + "/")),
        key=len,
        default="",
    )
    return filename[len(root) + 1 :] if root else filename


def with_asked(evidence: dict[str, Any], subject: Any, meta: dict[str, Any]) -> dict[str, Any]:
    """Every check's evidence starts with what was asked: which service, about which resource."""
    if subject is None or not hasattr(subject, "kind"):
        return evidence
    asked = {
        "service": meta["service"],
        "resource": getattr(subject, "key", ""),
        "kind": getattr(subject, "kind", ""),
        "name": "***" if getattr(subject, "sensitive", False) else getattr(subject, "name", ""),
    }
    # One resource, one check: every output that names it, and how the wiring led to it.
    keys = getattr(subject, "keys", ())
    if isinstance(keys, tuple) and len(keys) > 1:
        asked["outputs"] = list(keys)
    relations = getattr(subject, "relations", ())
    if isinstance(relations, tuple) and relations:
        asked["relations"] = list(relations)
    return {"asked": asked, **evidence}


def check_result(
    check_id: str,
    meta: dict[str, Any],
    subject: Any,
    policy: Policy,
    *,
    recorder: CheckRecorder | None,
    error: BaseException | None = None,
    setup: bool = False,
    judged: tuple[Status, str] | None = None,
    duration_s: float = 0.0,
) -> CheckResult:
    """The result of one check: judged from the `error` it raised (in its set-up when `setup`), else
    as `judged` before or without running (a planned skip, pytest's own outcome), else passed; with
    its recorder's evidence and attempts, masked."""
    from verify.redact import REDACTOR

    evidence: dict[str, Any] = recorder.collected() if recorder else {}
    attempts = 0
    if error is not None:
        status, message, attempts = status_of(error, evidence, setup=setup)
    elif judged is not None:
        status, message = judged
    else:
        status, message = Status.PASSED, ""
    attempts = max(recorder.attempts if recorder and recorder.attempts else 1, attempts)
    evidence = with_asked(evidence, subject, meta)
    category = (
        Category(meta["category"]) if meta["category"] in ("functional", "posture") else Category.FUNCTIONAL
    )
    waiver = policy.active_waiver(check_id)
    return CheckResult(
        id=check_id,
        title=meta["title"],
        service=meta["service"],
        resource=meta["resource"],
        category=category,
        severity=policy.severity(check_id, meta["service"], str(category)),
        status=status,
        duration_s=duration_s,
        attempts=attempts,
        message=REDACTOR.redact(message),
        evidence=REDACTOR.redact_obj(evidence, redacted_keys=REDACTED_ON_RECORD),  # type: ignore[arg-type]
        stack=meta["stack"],
        waiver=waiver.describe() if waiver else "",
    )


def teardown_error(after: str, reason: str, policy: Policy) -> CheckResult:
    """An error result of its own for a clean-up that failed after check `after`."""
    from verify.redact import REDACTOR

    return CheckResult(
        id=f"{after}::teardown",
        title=f"clean-up after {after}",
        service="harness",
        resource="",
        category=Category.FUNCTIONAL,
        severity=policy.severity(after, "harness", "functional"),
        status=Status.ERROR,
        message=f"could not clean up: {REDACTOR.redact(reason)}",
    )
