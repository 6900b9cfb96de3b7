"""`verify init`: a commented verify.toml written from what discovery found."""

from __future__ import annotations

import json

from verify.stack.inventory import Inventory


def render_config(
    inventory: Inventory, payload_template: str | None = None, learned_from: str | None = None
) -> str:
    """`payload_template`: the reading's shape the flow learned from the stack (read-only, nothing
    sent), written as `[flow] payload` so the runs use it as is; without one the line stays a comment."""
    raw = inventory.one("dynamodb_table", "raw")
    processed = inventory.one("dynamodb_table", "processed")
    lines = [
        "# verify.toml: written by `verify init`; every key is optional.",
        f"# Discovered from {inventory.source} (region {inventory.region or 'unknown'}).",
        "",
        "[outputs]",
        f"path = {json.dumps(inventory.source)}",
        "",
        "# Output key -> what it names, where discovery guessed wrong or could not tell.",
        "[aliases]",
    ]
    for resource in inventory.resources:
        if resource.kind == "unknown":
            lines.append(
                f'# {json.dumps(resource.key)} = {{ kind = "dynamodb_table", role = "raw" }}  # unknown now'
            )
    lines += [
        "",
        "# The end-to-end flow: where a tagged reading goes in and where it comes back out.",
        "[flow]",
        'ingest_path = "ingest"',
        'query_path = "query"',
        f"# raw_table = {json.dumps(raw.key if raw else 'RawTableOutputKey')}",
        f"# processed_table = {json.dumps(processed.key if processed else 'ProcessedTableOutputKey')}",
        '# key_prefix = "DEVICE#"  # single-table designs (pk/sk): the text before the id in the partition key',
        *_payload_lines(payload_template, learned_from),
        "",
        "# What the stack is expected to be configured like (posture checks).",
        "[expect]",
        "pitr = true",
        "sse = true",
        "# log_retention_days = 30",
        "# rotation_days = 30",
        "multi_az = true",
        "",
        "[smoke]",
        'safe_paths = ["query", "health"]  # GET/HEAD paths the read-only profile may call',
        "",
        "# Which checks block a release; waivers need a reason and should expire.",
        "[policy]",
        'blocking_categories = ["functional"]',
        "# [[policy.waivers]]",
        '# check = "suites/test_dynamodb.py::test_pitr*"',
        '# reason = "PITR rollout tracked in OPS-123"',
        '# expires = "2026-12-31"',
        "",
    ]
    return "\n".join(lines)


def _payload_lines(template: str | None, learned_from: str | None) -> list[str]:
    if template is None or "'" in template:  # a TOML literal string cannot hold a quote
        return ['# payload = \'{"sensorId": "{marker}", "timestamp": "{now_iso}", "temperature": 21.5}\'']
    return [
        f"# The reading's shape, learned from the stack ({learned_from or 'its key schema'}); delete the",
        "# line to let each run learn it again.",
        f"payload = '{template}'",
    ]
