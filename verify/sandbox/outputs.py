"""The outputs file a sandbox writes, as a deploy would: flat, CDK or Terraform, and the faults of that
file itself (a placeholder, a malformed value)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from verify.sandbox.emulator.context import StackParts

FORMATS = ("flat", "cdk", "terraform")


def _snake(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def _terraform_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return ["list", "string"]
    if isinstance(value, dict):
        return ["map", "string"]
    return "string"


def stack_display_name(parts: StackParts, suffix: str) -> str:
    return f"Iot{parts.name.title()}Stack-{suffix}"


# Faults of the outputs file itself, as a broken deploy pipeline writes it: (stack, key, value written).
# The platform's VPC CIDR in VpcId is the classic mis-wired output (`vpc.vpcCidrBlock` for `vpc.vpcId`).
OUTPUT_FAULTS: dict[str, tuple[str, str, str]] = {
    "output_placeholder": ("pipeline", "QueryLogGroupName", "unknown"),
    "output_malformed": ("platform", "VpcId", "10.0.0.0/16"),
}


def bend_outputs(all_parts: list[StackParts], faults: Iterable[str]) -> None:
    """Apply the outputs-file faults to the stacks' outputs before they are rendered."""
    for fault in sorted(set(faults) & set(OUTPUT_FAULTS)):
        stack, key, value = OUTPUT_FAULTS[fault]
        for parts in all_parts:
            if parts.name == stack and key in parts.outputs:
                parts.outputs[key] = value


def render_outputs(all_parts: list[StackParts], outputs_format: str, suffix: str) -> dict[str, Any]:
    if outputs_format == "cdk":
        return {stack_display_name(p, suffix): dict(p.outputs) for p in all_parts}
    flat: dict[str, Any] = {}
    for parts in all_parts:
        for key, value in parts.outputs.items():
            # Both stacks name a Region, an ApiEndpoint...: the second one's keys carry its name.
            name = key if key not in flat or flat[key] == value else f"{parts.name.title()}{key}"
            flat[name] = value
    if outputs_format == "terraform":
        return {
            _snake(k): {"value": v, "type": _terraform_type(v), "sensitive": False} for k, v in flat.items()
        }
    return flat
