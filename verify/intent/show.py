"""An `Intent` as the lines `verify discover --intent` prints: per resource, what it maps to and the
expectations its template gives, each with where it was declared; then what maps to nothing."""

from __future__ import annotations

import json
from typing import Any

from verify.intent.model import DeclaredResource, Intent, Unknown


def intent_lines(intent: Intent) -> list[str]:
    mapped = [r for r in intent.resources if r.mapped_to is not None]
    stack = f", stack {intent.stack}" if intent.stack else ""
    lines = [
        f"intent: {intent.source} ({intent.form}{stack}): {len(intent.resources)} declared resources, "
        f"{len(mapped)} mapped to the outputs' resources"
    ]
    for resource in intent.resources:
        if resource.mapped_to is None and not resource.properties:
            continue  # listed once, below, with why it maps to nothing
        where = f"{resource.mapped_to} ({resource.mapped_by})" if resource.mapped_to else resource.mapped_by
        lines.append(f"  {_title(resource)} -> {where}")
        for prop in resource.properties:
            # The file is the header's; the id is said only where another resource declared it.
            elsewhere = (
                f" in {prop.origin}"
                if prop.origin.file != intent.source
                else f" on {prop.origin.logical_id}"
                if prop.origin.logical_id != resource.logical_id
                else ""
            )
            lines.append(
                f"    {prop.name} = {_value(prop.value)}  (declared `{prop.as_declared()}`{elsewhere})"
            )
    for resource in intent.unmapped():
        if not resource.properties:
            lines.append(f"  {_title(resource)}: {resource.mapped_by}")
    if intent.ignored:
        counted = ", ".join(f"{kind} x{count}" for kind, count in intent.ignored)
        lines.append(f"  not read (no kind verify knows): {counted}")
    return lines


def _title(resource: DeclaredResource) -> str:
    if resource.part is not None:
        label = f" {resource.label}" if resource.label else ""
        return f"{resource.kind} {resource.part}{label} of {resource.parent} [{resource.logical_id}]"
    name = resource.physical_name
    named = f" {name}" if isinstance(name, str) else f" (name {name})" if isinstance(name, Unknown) else ""
    return f"{resource.kind}{named} [{resource.logical_id}]"


def _value(value: Any) -> str:
    if isinstance(value, Unknown):
        return str(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)
