"""Discovery that follows the stack's own wiring, from what the outputs name: read-only and bounded.

A stack's outputs seldom name everything: its dead-letter queue, its functions and their log groups
are one hop away. From the resources the outputs name, this follows:

- API → routes and methods → Lambda integrations → functions (REST: `GetResources` with the methods
  embedded; HTTP API: `GetRoutes` + `GetIntegrations`);
- queue → redrive policy → dead-letter queue (`GetQueueAttributes`);
- queue → event-source mappings → consumer functions (`ListEventSourceMappings`);
- table → stream → consumer functions (`DescribeTable`, then the mappings on the stream's ARN), and
  a mapping's on-failure destination;
- function → log group (its `LoggingConfig`, else `/aws/lambda/<name>`, confirmed with
  `DescribeLogGroups`: a log group that does not exist is never invented), dead-letter config and
  asynchronous-invocation destinations (`GetFunctionConfiguration`, `GetFunctionEventInvokeConfig`);
- a CloudFormation stack → its resource list (`verify.stack.cloudformation`): with `--stack`, the rows
  read with the outputs (no call); for an outputs file, `DescribeStackResources` by the physical id
  of one or two named resources (a resource no stack manages is a note). Applied after the wiring, so
  that what a relationship reached is said to be found by it; a function only the stack lists is
  followed to its log group and failure targets like one found at the first hop.

Depth: the first hop starts from what an output names; the second only from a function found by the
first (its log group, dead-letter config and destinations). Nothing found at the second hop is
followed further.

Bound: at most `MAX_CALLS` AWS calls (each page of a listing is one) and `MAX_SECONDS` of wall time,
whichever comes first. When the bound is reached, what was not followed is said in a note.

Time: the steps of one hop run at once (up to 8), so discovery costs a run about three round trips'
worth of waiting (first hop, functions, queue URLs), not one per call. What a wave found is applied
in the steps' order, so the inventory never depends on thread timing.

Read-only: only the Describe/Get/List operations in `READ_OPERATIONS` are ever sent.

A discovered resource is an ordinary inventory `Resource` of the same kinds, so every shipped check
applies to it as if an output had named it. Its `found_via` says how it was found, `origin` which
output it hangs from, and its `key` is its name (no output names it). A resource already in the
inventory (same ARN, or same kind and name) is never added twice: each relationship that leads to
it again is listed on it (`Resource.relations`). After the walk, a database or cache endpoint output
is merged with the identifier output AWS lists it for (`verify.stack.endpoints`). An AWS error is a
note in the `DiscoveryReport`, never a crash and never a silent drop.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol, runtime_checkable

from verify.stack import endpoints
from verify.stack.inventory import DiscoveryReport, Inventory
from verify.stack.walk import READ_OPERATIONS as _WALK_OPERATIONS
from verify.stack.walk import Walk

# What discovery may send: the walk's reads, and the endpoint look-ups that merge outputs.
READ_OPERATIONS = _WALK_OPERATIONS | endpoints.READ_OPERATIONS
MAX_CALLS = 60
MAX_SECONDS = 20.0


@runtime_checkable
class ClientSource(Protocol):
    """What gives discovery its clients: `verify.aws.Aws` (or anything with `.client(service)`)."""

    def client(self, service: str) -> Any: ...


def discover_wiring(
    inventory: Inventory,
    aws: ClientSource | Callable[[str], Any],
    *,
    max_calls: int = MAX_CALLS,
    max_seconds: float = MAX_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> Inventory:
    """The inventory with what the stack's wiring leads to added, and a `DiscoveryReport` on it.

    `aws` is the run's `Aws` (its read-only guard, breaker and call counting apply) or a plain
    client factory `service -> client`.
    """
    factory: Callable[[str], Any] = aws.client if isinstance(aws, ClientSource) else aws
    unusable = _no_credentials(aws)
    if unusable is not None:
        # Without credentials every call would fail alike (each after the credential chain's own
        # lookups): one note says so, and nothing is asked.
        report = DiscoveryReport(calls=0, max_calls=max_calls, found=0, notes=(unusable,))
        return replace(inventory, discovery=report)
    walk = Walk(inventory, factory, max_calls=max_calls, max_seconds=max_seconds, clock=clock)
    found, report = walk.run()
    named = tuple(walk.relate(r) for r in inventory.resources)
    inventory = replace(inventory, resources=(*named, *found), discovery=report)
    return _same_endpoints(inventory, factory, report)


def _same_endpoints(
    inventory: Inventory, factory: Callable[[str], Any], report: DiscoveryReport
) -> Inventory:
    """The inventory with each database or cache endpoint output merged into the resource an
    identifier output names, where AWS lists that endpoint for it (`verify.stack.endpoints`)."""
    items = inventory.output_items()
    known = {key for key, _ in inventory.same_as}
    if not endpoints.to_confirm(items, known):
        return inventory
    same, calls, notes = endpoints.confirm(
        items, factory, max_calls=report.max_calls - report.calls, known=known
    )
    by_operation = Counter(dict(report.calls_by_operation)) + calls
    report = replace(
        report,
        calls=report.calls + sum(calls.values()),
        calls_by_operation=tuple(sorted(by_operation.items())),
        notes=(*report.notes, *notes),
    )
    merged = inventory.remerged(items, tuple(same.items())) if same else inventory
    return replace(merged, discovery=report)


def follow_wiring(inventory: Inventory, get_aws: Callable[[], ClientSource]) -> Inventory:
    """`discover_wiring` for a run's session: `get_aws` (the session's lazy `aws`) is asked here, so
    that no region or no credentials is one note on the inventory, never an error of building it."""
    try:
        aws = get_aws()
    except Exception as error:
        note = f"discovery did not follow the stack's wiring: {error}"
        return replace(
            inventory, discovery=DiscoveryReport(calls=0, max_calls=MAX_CALLS, found=0, notes=(note,))
        )
    return discover_wiring(inventory, aws)


def _no_credentials(aws: object) -> str | None:
    """Why discovery cannot ask AWS at all (`Aws.credentials()` refuses), else None."""
    credentials = getattr(aws, "credentials", None)
    if not callable(credentials):
        return None
    try:
        credentials()
    except Exception as error:
        return f"discovery did not follow the stack's wiring: {error}"
    return None


def describe(inventory: Inventory) -> list[str]:
    """What discovery found and said, as lines for `verify discover` (plain text: the caller escapes)."""
    report = inventory.discovery
    if report is None:
        return []
    bound = ", its bound reached" if report.bound_reached else ""
    listed_by = [f"CloudFormation stack {stack}" for stack in report.stacks]
    listing = "".join(f" and {via}'s resource list" for via in listed_by)
    lines = [
        f"found by following the stack's wiring{listing}: {report.found} resource(s), "
        f"{report.calls} AWS call(s) of at most {report.max_calls}{bound}"
    ]
    found = [r for r in inventory.resources if r.discovered]
    kind_width = max((len(r.kind) for r in found), default=0)
    role_width = max((len(r.role or "-") for r in found), default=0)
    for resource in found:
        kind, role = resource.kind.ljust(kind_width), (resource.role or "-").ljust(role_width)
        lines.append(
            f"  {kind}  {role}  {resource.name}  <- {'; '.join(resource.relations or (resource.found_via,))}"
        )
    # What an output names and the wiring leads to as well: one resource, the relationship said on it.
    # That the stack lists it too is said once for all of them, not on each.
    reached = [
        (r, [v for v in r.relations if v not in listed_by]) for r in inventory.resources if not r.discovered
    ]
    if any(relations for _, relations in reached):
        lines.append("named by an output and reached by the wiring too:")
        lines.extend(f"  {', '.join(r.keys)}  <- {'; '.join(v)}" for r, v in reached if v)
    for via in listed_by:
        in_stack = [k for r, _ in reached if via in r.relations for k in r.keys[:1]]
        if in_stack:
            lines.append(f"named by an output and listed by {via} too: {', '.join(in_stack)}")
    lines.extend(f"note: {note}" for note in report.notes)
    return lines
