"""Clean-up of this run's data: exactly what this run wrote, and nothing else.

Each delete is conditional on the key still carrying the run id (behind a single-table design's
prefix: `DEVICE#vfy-...`). Queues are never received from: the processed record is the evidence that
the message hop happened.

Clean-up that finishes: a reading the API accepted may still be queued when the run ends (a slow
processor, `--timeout 1`, Ctrl-C), and the processor would then write it after the clean-up. So
clean-up deletes what it finds, then waits -- bounded: until `IN_FLIGHT_GRACE_S` (or twice the
run's timeout, when shorter; at least `IN_FLIGHT_FLOOR_S`) after the reading was sent, at least
`MIN_GRACE_S` after the first sweep, only `INTERRUPTED_GRACE_S` when the run was interrupted -- for the
processed copy of each reading still in flight, and sweeps again. What it could not remove, or may
still arrive, is reported as left behind (`RunSummary.left_behind`), with its key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from verify.aws.errors import aws_errors
from verify.aws.http import HostRefused, HttpResult
from verify.errors import CheckFailed, ReadOnlyViolation, VerifyError
from verify.model import LeftBehind
from verify.polling import CLEANUP_GRACE_S, run_deadline, stop_deadline
from verify.scenario.lookup import ReadingLookup
from verify.scenario.payload import KeySchema
from verify.scenario.run_ids import is_ours
from verify.stack.inventory import Resource

# Clean-up waits for readings in flight until this long after they were sent (a processor's pickup
# and write take seconds on AWS; the sandbox's `slow_processor` takes ~3 s)...
IN_FLIGHT_GRACE_S = 15.0
# ...or twice the run's --timeout when that is shorter, but never under this.
IN_FLIGHT_FLOOR_S = 5.0
# ...but at least this long after the first sweep, and only this long when the run was interrupted
# (a stopped run must end within seconds).
MIN_GRACE_S = 2.0
INTERRUPTED_GRACE_S = 2.0
SWEEP_EVERY_S = 0.5
BUDGET_MARGIN_S = 1.0  # kept from the run's stop budget for the last sweep and the reports


class RunCleanup(ReadingLookup):
    """What this run sent, and its removal (`verify.scenario.flow.Flow` sets the state in its `__init__`)."""

    timeout: float
    malformed_marker: str
    _markers_written: set[str]
    _sent: bool  # nothing reached the API yet: nothing of ours can be in a table
    # Readings the API may have accepted (not refused with 4xx), by marker: when each was sent.
    _in_flight: dict[str, float]
    _processed_seen: set[str]  # markers whose processed copy clean-up found
    # Markers whose raw-table items a sweep has removed (or found none of): kept on the flow, not in a
    # sweep's local list, so a clean-up cut short by a stop still knows which raw items it never reached.
    _raw_swept: set[str]
    _malformed_status: int | None
    left_behind: list[LeftBehind]
    _stopping: Callable[[], bool]

    def _send(self, marker: str, send: Callable[[], HttpResult]) -> HttpResult:
        """Send a reading tagged `marker` and note what became of it: from here on something of ours
        may be in the stack, and the reading is in flight until the API refuses it (4xx: it never
        entered the pipeline); never in flight when verify itself refused to send it (a host outside
        [http] allow_hosts, a read-only run) -- clean-up then neither waits for it nor reports it
        as "accepted by the API" and left behind."""
        self._sent = True
        self._in_flight[marker] = time.monotonic()
        try:
            response = send()
        except (HostRefused, ReadOnlyViolation):
            self._in_flight.pop(marker, None)  # refused here, before a byte went out
            raise
        if 400 <= response.status < 500:
            self._in_flight.pop(marker, None)
        return response

    def cleanup(self) -> list[str]:
        """Delete every item this run wrote (by its markers) from the flow's tables, wait (bounded) for
        its readings still in flight and sweep again; return what went. What stays is appended to
        `left_behind` (see the module docstring)."""
        removed: list[str] = []
        if not self._sent:
            return removed  # e.g. the run could not even read the table's keys: nothing was written
        if not is_ours(self.marker):
            # Defensive: an id without verify's prefix could be a real item's key; delete nothing.
            self._leave_in_flight(f"run id {self.marker!r} lacks verify's prefix, so nothing was deleted")
            return removed
        try:
            removed += self._sweep()
            deadline = self._grace_deadline()
            while self._awaited() and time.monotonic() < deadline:
                time.sleep(min(SWEEP_EVERY_S, max(0.0, deadline - time.monotonic())))
                removed += self._sweep()
        except (VerifyError, CheckFailed) as exc:
            self._leave_in_flight(f"clean-up stopped: {exc}")
            raise
        self._leave_in_flight(None)
        return removed

    def _sweep(self) -> list[str]:
        removed: list[str] = []
        tables = {t.name: t for t in (self.targets.raw_table, self.targets.processed_table) if t is not None}
        for table in tables.values():
            try:
                schema = self.schema(table)
            except CheckFailed:
                # The table does not exist (its own check says so): nothing of ours is in it.
                if self._is_raw(table):
                    self._raw_swept.update(self._markers_written)
                continue
            for marker in sorted(self._markers_written):
                if not marker.startswith(self.marker):
                    continue  # defensive: only ever delete what carries this run's id
                # Every prefix the reading may be keyed under (one, once it was found): what a
                # single-table design stored under any of them carries the run's id behind it.
                for prefix in self._prefixes(table):
                    items = self._query_key(table, prefix + marker)
                    if items and self._holds_processed(table, items):
                        self._processed_seen.add(marker)
                    for item in items:
                        if self._delete_ours(table, schema, item, prefix):
                            removed.append(f"{table.name}:{prefix}{marker}")
                if self._is_raw(table):
                    self._raw_swept.add(marker)
        return removed

    def _holds_processed(self, table: Resource, items: list[dict[str, Any]]) -> bool:
        """Whether this run's items in `table` include the processed reading."""
        if table is not self.targets.processed_table and not self._shared():
            return False
        if not self._shared():
            return True
        roles, untold = self._roles(items, table)
        return "processed" in roles.values() or len(roles) + len(untold) >= 2

    def _delete_ours(
        self, table: Resource, schema: KeySchema, item: dict[str, Any], prefix: str = ""
    ) -> bool:
        """Delete one item -- only when its key carries this run's id (behind `prefix`, a single-table
        design's `DEVICE#`), checked here and by DynamoDB itself (a condition), so a real item can
        never go, not even one written in between."""
        partition = schema.partition.name
        value = item.get(partition, {}).get("S")
        if not isinstance(value, str) or not is_ours(self.marker):
            return False
        if not value.startswith(prefix + self.marker) or not is_ours(value[len(prefix) :]):
            return False
        key = {partition: item[partition]}
        if schema.sort is not None:
            key[schema.sort.name] = item[schema.sort.name]
        try:
            with aws_errors("dynamodb", "DeleteItem", table.name):
                self.aws.client("dynamodb").delete_item(
                    TableName=table.name,
                    Key=key,
                    ConditionExpression="begins_with(#pk, :run)",
                    ExpressionAttributeNames={"#pk": partition},
                    ExpressionAttributeValues={":run": {"S": prefix + self.marker}},
                )
        except CheckFailed as exc:
            if "ConditionalCheckFailed" in str(exc) or "not found" in str(exc):
                return False  # already gone, or no longer ours: nothing to delete
            raise
        return True

    def _processed_lookup(self) -> Resource | None:
        """The processed table, when this run's readings can be found in it by their marker."""
        table = self.targets.processed_table
        if table is None or self.targets.raw_table is None:
            return None
        try:
            same_key = self.schema(table).partition.name == self.schema(self.targets.raw_table).partition.name
        except CheckFailed:
            return None
        # A single-table design's processed items are found by the prefixed marker, whatever its key's name.
        return table if same_key or self.single_table(table) else None

    def _processed_table_exists(self) -> bool:
        if self.targets.processed_table is None:
            return False
        try:
            self.schema(self.targets.processed_table)
        except (CheckFailed, VerifyError):
            return False
        return True

    def _awaited(self) -> list[str]:
        """Readings still in flight whose processed copy may yet be written (and then removed)."""
        if self._processed_lookup() is None:
            return []
        return [m for m in self._in_flight if m not in self._processed_seen]

    def _in_flight_grace_s(self) -> float:
        """How long after a reading was sent its processed copy is still waited for. `--timeout` is the
        run's word on how long a signal may take: a copy later than twice that is a stuck reading,
        reported as left behind, and a run with a stopped processor does not wait 15 s for it."""
        return min(IN_FLIGHT_GRACE_S, max(IN_FLIGHT_FLOOR_S, 2 * self.timeout))

    def _grace_deadline(self) -> float:
        now = time.monotonic()
        waiting = self._awaited()
        if not waiting:
            return now
        stopped_by = stop_deadline()
        if self._stopping() or stopped_by is not None:
            deadline = now + INTERRUPTED_GRACE_S
        else:
            first_sent = min(self._in_flight[m] for m in waiting)
            deadline = max(first_sent + self._in_flight_grace_s(), now + MIN_GRACE_S)
        # Never past the run's own bounds (verify.polling): the last sweep and the reports still need
        # their time within the stop budget, or within the clean-up grace after the run's deadline.
        if stopped_by is not None:
            deadline = min(deadline, stopped_by - BUDGET_MARGIN_S)
        run_ends = run_deadline()
        if run_ends is not None:
            deadline = min(deadline, run_ends + CLEANUP_GRACE_S - BUDGET_MARGIN_S)
        return deadline

    def _leave_in_flight(self, stopped: str | None) -> None:
        """Say what may remain: readings accepted but never seen processed, and a malformed reading a
        stack accepted (its place is the dead-letter queue; verify never receives from a stack's
        queues, so it can only say so)."""
        prefix = ""
        try:
            partition = self._partition(self.marker).popitem()[0]
            table = self.targets.processed_table or self.targets.raw_table
            if table is not None and self.single_table(table):
                # The key as the stack stores it: `pk=DEVICE#<marker>`.
                partition, prefix = self.schema(table).partition.name, self._prefixes(table)[0]
        except (CheckFailed, VerifyError):
            partition = "sensorId"  # the raw table vanished: the key as the default reading names it
        raw = self.targets.raw_table
        if stopped is not None and raw is not None:
            # A stop cut the sweeps short: what the API accepted and the raw table still holds.
            for marker in sorted(set(self._in_flight) - self._raw_swept):
                self.left_behind.append(
                    LeftBehind(
                        place=f"DynamoDB table {raw.name}",
                        key=self._stored_key(raw, marker),
                        reason=f"{stopped}; the reading the API accepted was not removed from the raw table",
                    )
                )
        processed = self._processed_lookup()
        unreadable = self._processed_table_exists() and processed is None
        dlq = self.targets.dlq.name if self.targets.dlq else None
        for marker in sorted(self._in_flight):
            if marker in self._processed_seen:
                continue
            key = f"{partition}={prefix}{marker}"
            if marker == self.malformed_marker and self._malformed_status is not None:
                place = f"SQS queue {dlq}" if dlq else "the stack's queue"
                self.left_behind.append(
                    LeftBehind(
                        place=place,
                        key=key,
                        reason=(
                            f"the malformed reading was accepted (HTTP {self._malformed_status}); a processor "
                            "that rejects it leaves it in the dead-letter queue"
                            + (" (the ingestion queue's redrive target)" if dlq else "")
                            + "; verify never receives from a stack's queues: remove it there"
                        ),
                    )
                )
                if processed is None:
                    continue
            if processed is not None:
                waited = time.monotonic() - self._in_flight[marker]
                why = stopped or (
                    f"accepted by the API but not seen in the processed table {waited:.0f} s after it was "
                    "sent; if the stack still processes it, it is written there under this key"
                )
                self.left_behind.append(
                    LeftBehind(place=f"DynamoDB table {processed.name}", key=key, reason=why)
                )
            elif unreadable and self.targets.processed_table is not None:
                self.left_behind.append(
                    LeftBehind(
                        place=f"DynamoDB table {self.targets.processed_table.name}",
                        key=key,
                        reason="its key differs from the raw table's, so verify cannot look this reading up there",
                    )
                )

    def _is_raw(self, table: Resource) -> bool:
        # By name: a single-table design's one table is both, and the sweep holds it once.
        return self.targets.raw_table is not None and table.name == self.targets.raw_table.name

    def _stored_key(self, table: Resource, marker: str) -> str:
        """`marker`'s key as `table` stores it (`pk=DEVICE#<marker>` in a single-table design), for
        a report; the default reading's key name when the table cannot be described."""
        try:
            if self.single_table(table):
                return f"{self.schema(table).partition.name}={self._prefixes(table)[0]}{marker}"
            return f"{self.schema(table).partition.name}={marker}"
        except (CheckFailed, VerifyError):
            return f"sensorId={marker}"
