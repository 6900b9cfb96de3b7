"""Where the flow sends its reading and looks for it: the API, the raw and processed tables, the queue
and its DLQ, and the ingest and processor functions with their log groups, found in the inventory
(or named in the config's [flow] table when the outputs' names do not say).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from verify.config.settings import Config
from verify.errors import NotApplicable, VerifyError
from verify.scenario.keys import is_single_table
from verify.scenario.payload import KeySchema
from verify.stack.inventory import Inventory, Resource

__all__ = ["FlowTargets", "find_targets"]


@dataclass
class FlowTargets:
    api_url: str
    api: Resource | None
    raw_table: Resource | None
    processed_table: Resource | None
    queue: Resource | None
    dlq: Resource | None
    ingest_function: str | None
    processor_function: str | None
    log_groups: dict[str, str] = field(default_factory=dict)  # role ("ingest"/"processor") -> group


def _api(inventory: Inventory) -> Resource | None:
    """The API output whose URL the reading is sent to (its id tells which routes the API declares)."""
    for resource in inventory.of_kind("api"):
        if resource.value.startswith(("http://", "https://")):
            return resource
    return None


def _api_url(api: Resource) -> str:
    return api.value if api.value.endswith("/") else api.value + "/"


def _table(inventory: Inventory, config_key: str | None, role: str) -> Resource | None:
    if config_key:
        for resource in inventory.of_kind("dynamodb_table"):
            if config_key in resource.keys:  # any output naming the table, not only the first
                return resource
        raise VerifyError(
            f"[flow] {role}_table names output `{config_key}`, which is not a DynamoDB table here"
        )
    return inventory.one("dynamodb_table", role)


def _function(inventory: Inventory, *words: str) -> str | None:
    for resource in inventory.of_kind("lambda_function"):
        if any(word in resource.name.lower() for word in words):
            return resource.name
    return None


def _single_table(
    inventory: Inventory,
    raw: Resource | None,
    processed: Resource | None,
    schema_of: Callable[[Resource], KeySchema | None],
) -> Resource | None:
    """The table of a single-table design that plays both roles: the one flow table there is when its
    keys are generic (`pk`/`sk`), or, without any, the outputs' one table that plays no role."""
    if raw is not None and processed is not None:
        return None
    if raw is not None or processed is not None:
        lone = raw or processed
    else:
        unroled = [r for r in inventory.of_kind("dynamodb_table") if r.role is None]
        lone = unroled[0] if len(unroled) == 1 else None
    return lone if lone is not None and is_single_table(schema_of(lone)) else None


def find_targets(
    inventory: Inventory,
    config: Config,
    schema_of: Callable[[Resource], KeySchema | None] | None = None,
) -> FlowTargets:
    """Where the flow goes. `schema_of` (a table's key schema, None when unknown) lets a single-table
    design's one table play raw and processed both (verify.scenario.keys)."""
    api = _api(inventory)
    if api is None:
        raise NotApplicable("not applicable: the outputs name no API URL to send a reading to")
    raw_table = _table(inventory, config.flow.raw_table, "raw")
    processed_table = _table(inventory, config.flow.processed_table, "processed")
    shared = _single_table(inventory, raw_table, processed_table, schema_of) if schema_of else None
    if shared is not None:
        raw_table = processed_table = shared
    if raw_table is None and processed_table is None:
        # An API alone (a platform's health API, say) is no data pipeline: nothing to follow.
        raise NotApplicable(
            "not applicable: the outputs name an API but no raw or processed table to follow a reading "
            "into (name them in [flow] raw_table / processed_table if they exist)"
        )
    queues = inventory.of_kind("sqs_queue")
    ingest = _function(inventory, "ingest", "ingestion", "receive")
    processor = _function(inventory, "process", "enrich", "transform", "consumer")
    groups = {r.name for r in inventory.of_kind("log_group")}
    log_groups: dict[str, str] = {}
    for role, function in (("ingest", ingest), ("processor", processor)):
        if function:
            named = next((g for g in groups if g.endswith("/" + function) or g.endswith(function)), None)
            log_groups[role] = named or f"/aws/lambda/{function}"
    return FlowTargets(
        api_url=_api_url(api),
        api=api,
        raw_table=raw_table,
        processed_table=processed_table,
        queue=next((q for q in queues if q.role != "dlq"), None),
        dlq=next((q for q in queues if q.role == "dlq"), None),
        ingest_function=ingest,
        processor_function=processor,
        log_groups=log_groups,
    )
