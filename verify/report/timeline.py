"""The data flow's timeline: each timed hop, its time since ingest and since the previous hop."""

from __future__ import annotations

from dataclasses import dataclass

from verify.model import CheckResult


@dataclass(frozen=True)
class Hop:
    step: str
    check_id: str
    at_s: float
    since_previous_s: float


def flow_timeline(checks: list[CheckResult]) -> list[Hop]:
    timed = sorted(
        (
            (float(c.evidence["at_s"]), c)
            for c in checks
            if c.service == "flow" and isinstance(c.evidence.get("at_s"), int | float)
        ),
        key=lambda pair: (pair[0], pair[1].id),
    )
    hops: list[Hop] = []
    previous = 0.0
    for at_s, check in timed:
        hops.append(Hop(step=check.title, check_id=check.id, at_s=at_s, since_previous_s=at_s - previous))
        previous = at_s
    return hops
