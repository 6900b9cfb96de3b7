"""What a stack's own template declares, in one model whatever tool wrote it.

A template (CloudFormation/CDK, CDKTF, Terraform plan or state) becomes an `Intent`: one
`DeclaredResource` per resource of a kind verify knows (`verify.stack.kinds`), each with the properties
it declares under normalised names (`pitr`, `rotation_days`, ...), and where it was declared, so a later
verdict can say "declared `PointInTimeRecoveryEnabled: true` in cdk.out/TapStack.template.json
(RawTable1A2B)". A value the template leaves to deploy time (a `Ref`, a `Fn::GetAtt`, a CDK token, a
Terraform `${...}` reference) is an `Unknown` carrying why, never a guess.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from verify.errors import UsageError

# The forms a template comes in (docs/intent.md).
CLOUDFORMATION = "cloudformation"  # a plain CloudFormation template, JSON or YAML
CDK = "cdk"  # cdk.out/<Stack>.template.json: CloudFormation JSON that CDK synthesized
CDKTF = "cdktf"  # cdktf.out/stacks/<stack>/cdk.tf.json: Terraform JSON configuration
TERRAFORM_PLAN = "terraform-plan"  # `terraform show -json <planfile>`
TERRAFORM_STATE = "terraform-state"  # `terraform show -json` of the state
FORMS = (CDK, CLOUDFORMATION, CDKTF, TERRAFORM_PLAN, TERRAFORM_STATE)


class TemplateError(UsageError):
    """The template is missing, unreadable, malformed, or one of several verify will not choose
    between: one sentence naming the file and what to do (exit 2, nothing verified)."""


@dataclass(frozen=True)
class Unknown:
    """A declared value the template does not settle: it is decided at deploy (or plan) time and no
    deployed name told verify what it became. `refers_to` is the logical id or address of the resource
    it points at, when it points at one (the DLQ a redrive policy names)."""

    reason: str
    refers_to: str | None = None

    def __str__(self) -> str:
        return f"unknown ({self.reason})"


def is_known(value: object) -> bool:
    """True when `value` holds no `Unknown` anywhere inside it."""
    if isinstance(value, Unknown):
        return False
    if isinstance(value, dict):
        return all(is_known(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(is_known(v) for v in value)
    return True


def first_unknown(value: object) -> Unknown | None:
    """The first `Unknown` inside `value` (depth first), or None."""
    if isinstance(value, Unknown):
        return value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list | tuple) else ()
    for item in items:
        found = first_unknown(item)
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class Origin:
    """Where a declaration is: the template file as the user would name it, and the resource's
    logical id (CloudFormation) or address (Terraform)."""

    file: str
    logical_id: str

    def __str__(self) -> str:
        return f"{self.file} ({self.logical_id})"


@dataclass(frozen=True)
class DeclaredProperty:
    """One declared property: its normalised `name` and `value` (concrete or `Unknown`), and as the
    template wrote it (`written`: the property's path, `as_written`: its value)."""

    name: str
    value: Any
    written: str
    as_written: Any
    origin: Origin
    # CloudFormation's leaf names say what they are (`PointInTimeRecoveryEnabled`); Terraform's need
    # their block (`point_in_time_recovery.enabled`), so its sentences show the whole path.
    whole_path: bool = False

    @property
    def known(self) -> bool:
        return is_known(self.value)

    def declared(self) -> str:
        """The sentence a verdict quotes: "declared `PointInTimeRecoveryEnabled: true` in
        cdk.out/TapStack.template.json (RawTable1A2B)"."""
        return f"declared `{self.as_declared()}` in {self.origin}"

    def as_declared(self) -> str:
        """The property as the template wrote it: "PointInTimeRecoveryEnabled: true"."""
        leaf = self.written if self.whole_path else self.written.rsplit(".", 1)[-1]
        return f"{leaf}: {_shown(self.as_written)}"


def _shown(value: Any) -> str:
    if isinstance(value, Unknown):
        return str(value)
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


@dataclass(frozen=True)
class DeclaredResource:
    """One resource of the template, of a kind verify knows.

    `part` is None for a resource of its own; "stage" or "method" (or "route") for the part of an API
    that `parent` (the API's logical id or address) owns. `physical_name` is the name the template
    declares for it (None: it declares none, AWS or CDK generates it; `Unknown`: declared, unresolved).
    `mapped_to` is the key of the inventory resource it was matched to, `mapped_by` how (or why not).
    """

    logical_id: str
    type: str
    kind: str
    origin: Origin
    physical_name: str | Unknown | None = None
    properties: tuple[DeclaredProperty, ...] = ()
    part: str | None = None
    parent: str | None = None
    label: str | None = None  # a part's own name: the stage's name, "POST /ingest"
    arn: str | None = None  # Terraform plan and state know it; a template never does
    # CloudFormation's `Condition`: the resource exists only when it holds (decided at deploy).
    condition: str | None = None
    mapped_to: str | None = None
    mapped_by: str = ""

    def get(self, name: str) -> DeclaredProperty | None:
        return next((p for p in self.properties if p.name == name), None)

    def value(self, name: str, default: Any = None) -> Any:
        found = self.get(name)
        return default if found is None else found.value

    def with_property(self, prop: DeclaredProperty) -> DeclaredResource:
        """This resource with `prop` added (a property of the same name is replaced)."""
        kept = tuple(p for p in self.properties if p.name != prop.name)
        return replace(self, properties=(*kept, prop))

    def to_json(self) -> dict[str, Any]:
        return {
            "logical_id": self.logical_id,
            "type": self.type,
            "kind": self.kind,
            "part": self.part,
            "parent": self.parent,
            "label": self.label,
            "physical_name": _json_value(self.physical_name),
            "arn": self.arn,
            "condition": self.condition,
            "mapped_to": self.mapped_to,
            "mapped_by": self.mapped_by,
            "properties": {
                p.name: {"value": _json_value(p.value), "declared": p.declared()} for p in self.properties
            },
        }


def _json_value(value: Any) -> Any:
    if isinstance(value, Unknown):
        return {"unknown": value.reason}
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


@dataclass(frozen=True)
class TemplateOutput:
    """A template output that points at one resource: `{"Value": {"Ref": "RawTable1A2B"}}` (attribute
    None), `{"Fn::GetAtt": ["Dlq", "Arn"]}`, Terraform's `"${aws_sqs_queue.dlq.arn}"`."""

    key: str
    target: str
    attribute: str | None = None
    # The value is built from the target and more (`Fn::Join` of an API's id into its URL): it tells
    # which output names the resource, not what a `Ref` to it returns.
    composite: bool = False


@dataclass(frozen=True)
class Intent:
    """Everything one template declares that verify reads (see the module docstring)."""

    form: str
    source: str
    stack: str | None
    resources: tuple[DeclaredResource, ...]
    outputs: tuple[TemplateOutput, ...] = ()
    # Resource types present that name no kind verify knows (IAM policies, CDK metadata...), counted.
    ignored: tuple[tuple[str, int], ...] = ()

    def resource(self, logical_id: str) -> DeclaredResource | None:
        return next((r for r in self.resources if r.logical_id == logical_id), None)

    def of_kind(self, *kinds: str) -> list[DeclaredResource]:
        return [r for r in self.resources if r.kind in kinds]

    def unmapped(self) -> list[DeclaredResource]:
        return [r for r in self.resources if r.mapped_to is None]

    def to_json(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "source": self.source,
            "stack": self.stack,
            "resources": [r.to_json() for r in self.resources],
            "ignored_types": dict(self.ignored),
        }
