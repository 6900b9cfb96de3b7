"""The reading's path as a timeline, in causal order: ingest → raw → queue → processor → processed →
query → trace → logs.

Each hop is placed where its signal became *visible* (the flow's `seen_at`: the answer of the poll
that first saw it), measured from when the reading was sent (the ingest's `sent_at`), not where its
check happened to finish: the flow's checks wait side by side, so their completion order says
nothing about the data's path. A hop's latency is its time minus the previous seen hop's; a signal
seen before its upstream's own poll answered (they poll independently) counts 0, since the upstream
was visible by then too. A hop whose check failed is `failed`; one no check saw (its upstream failed,
it did not apply, it did not run) is `unseen`.

One list of `Hop` feeds report.html's SVG, summary.md's table and summary.json's `flow_timeline`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from verify.model import CheckResult, Status

# (the flow's step, the hop as a reader names it), in the order the data travels.
HOPS = (
    ("ingest", "ingest"),
    ("raw", "raw"),
    ("queue", "queue"),
    ("processed", "processor"),
    ("enriched", "processed"),
    ("query", "query"),
    ("trace", "trace"),
    ("logs", "logs"),
)
SEEN, FAILED, UNSEEN = "seen", "failed", "unseen"


@dataclass(frozen=True)
class Hop:
    hop: str  # the reader's name: "processor"
    step: str  # the flow's step: "processed"
    state: str  # seen | failed | unseen
    check_id: str = ""  # the check that observed it ("" when none did)
    title: str = ""
    at_s: float | None = None  # when its signal became visible, seconds after the reading was sent
    latency_s: float | None = None  # at_s minus the previous seen hop's at_s
    reason: str = ""  # why it failed or was not seen
    waited_s: float | None = None  # a failed hop: how long its wait looked before giving up

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"hop": self.hop, "step": self.step, "state": self.state}
        if self.check_id:
            data["check"] = self.check_id
        if self.at_s is not None:
            data["at_s"] = round(self.at_s, 3)
        if self.latency_s is not None:
            data["latency_s"] = round(self.latency_s, 3)
        if self.reason:
            data["reason"] = self.reason
        if self.waited_s is not None:
            data["waited_s"] = round(self.waited_s, 3)
        return data


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def flow_timeline(checks: list[CheckResult]) -> list[Hop]:
    """The flow's hops in causal order; empty when no check observed a flow step (no flow ran)."""
    by_step: dict[str, CheckResult] = {}
    for check in checks:
        step = check.evidence.get("flow_step") if isinstance(check.evidence, dict) else None
        if isinstance(step, str) and step not in by_step:
            by_step[step] = check
    if not by_step:
        return []
    ingest = by_step.get("ingest")
    sent = _number(ingest.evidence.get("sent_at")) if ingest else None
    hops: list[Hop] = []
    previous = 0.0
    for step, name in HOPS:
        found = by_step.get(step)
        if found is None:
            hops.append(
                Hop(name, step, UNSEEN, reason="no check saw it (an earlier hop failed, or it did not run)")
            )
            continue
        check = found
        seen = _number(check.evidence.get("seen_at"))
        if check.status is Status.PASSED and seen is not None and sent is not None:
            at = max(0.0, seen - sent)
            hops.append(Hop(name, step, SEEN, check.id, check.title, at, max(0.0, at - previous)))
            previous = max(previous, at)
        elif check.status is Status.FAILED:
            waited = _number(check.evidence.get("timeout_s"))
            hops.append(Hop(name, step, FAILED, check.id, check.title, reason=check.message, waited_s=waited))
        else:
            reason = check.message or "passed, but no time was recorded"
            hops.append(Hop(name, step, UNSEEN, check.id, check.title, reason=reason))
    return hops


def timeline_dicts(checks: list[CheckResult]) -> list[dict[str, Any]]:
    """summary.json's `flow_timeline`."""
    return [hop.to_dict() for hop in flow_timeline(checks)]
