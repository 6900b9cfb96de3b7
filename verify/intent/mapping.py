"""Declared resources ↔ the inventory's resources, and what the deployed names tell the evaluator.

A declared resource is the inventory resource (most certain first):
- that CloudFormation's own resource list (`--stack`) gives as its physical id;
- that an output names, when the template's output of that key points at it (CDK writes
  `Outputs: {RawTableName: {Value: {Ref: RawTable1A2B3C4D}}}`, the outputs file has `RawTableName`;
  Terraform's `output "raw_table_name" { value = aws_dynamodb_table.raw.name }` likewise);
- of the same kind and the name the template declares for it;
- with the ARN a Terraform plan or state gives it.
What matches none is listed as unmapped, saying why. A part of an API (a stage, a method) belongs
to whatever its API is mapped to.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace

from verify.intent.evaluate import Names
from verify.intent.model import CDK, CLOUDFORMATION, DeclaredResource, Intent, Unknown
from verify.intent.rules import CFN_TYPES, TF_TYPES
from verify.stack.inventory import Inventory, Resource
from verify.stack.outputs import Outputs


def names_from(intent: Intent, outputs: Outputs | None = None, inventory: Inventory | None = None) -> Names:
    """What the outputs (and, once mapped, the inventory) say of the template's references."""
    names = Names()
    if outputs is not None:
        for declared in intent.outputs:
            if declared.composite:
                continue
            output = outputs.get(declared.key)
            if output is None or output.missing or output.sensitive or len(output.items) != 1:
                continue
            value = output.items[0]
            if declared.attribute is None:
                names.refs[declared.target] = value
            else:
                names.attrs[(declared.target, declared.attribute)] = value
        for row in outputs.stack_resources:
            if row.physical_id:
                names.refs.setdefault(row.logical_id, row.physical_id)
        if outputs.stack:
            names.pseudo["AWS::StackName"] = outputs.stack
    if inventory is not None:
        _pseudo_from(names, inventory.resources, inventory.region)
        by_key = {r.key: r for r in inventory.resources}
        for resource_declared in intent.resources:
            resource = by_key.get(resource_declared.mapped_to or "")
            if resource is not None and resource_declared.part is None:
                _names_of(names, intent.form, resource_declared, resource)
    return names


def _pseudo_from(names: Names, resources: Iterable[Resource], region: str | None) -> None:
    if region:
        names.pseudo["AWS::Region"] = region
        partition = (
            "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"
        )
        names.pseudo["AWS::Partition"] = partition
        names.pseudo["AWS::URLSuffix"] = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    accounts = Counter(r.account for r in resources if r.account)
    if len(accounts) == 1:  # one account named throughout: that is the stack's
        names.pseudo["AWS::AccountId"] = next(iter(accounts))


def _names_of(names: Names, form: str, declared: DeclaredResource, resource: Resource) -> None:
    if form in (CDK, CLOUDFORMATION):
        rule = CFN_TYPES.get(declared.type)
        ref = {"name": resource.name, "arn": resource.arn, "url": resource.url, "id": resource.name}.get(
            rule.ref_is if rule else "name"
        )
        if ref:
            names.refs.setdefault(declared.logical_id, ref)
        if resource.arn:
            names.attrs.setdefault((declared.logical_id, "Arn"), resource.arn)
        return
    if resource.arn:
        names.attrs.setdefault((declared.logical_id, "arn"), resource.arn)
    rule = TF_TYPES.get(declared.type)
    if rule is not None and rule.name is not None and resource.name:
        names.attrs.setdefault((declared.logical_id, rule.name), resource.name)


# RDS and ElastiCache store identifiers in lower case: `DBInstanceIdentifier: Platform-DB` is
# deployed as `platform-db`.
_LOWERCASED = frozenset({"rds_instance", "rds_cluster", "elasticache"})


def map_to_inventory(intent: Intent, inventory: Inventory, outputs: Outputs | None = None) -> Intent:
    """`intent` with each declared resource's `mapped_to` (an inventory key) and `mapped_by` set."""
    physical = {row.logical_id: row.physical_id for row in (outputs.stack_resources if outputs else ())}
    keys_of: dict[str, list[str]] = {}
    kind_of = {r.logical_id: r.kind for r in intent.resources if r.part is None}
    for declared_output in intent.outputs:
        if declared_output.composite:
            # Built from several resources: it names this one only if it is the only one of its kind.
            same = [
                o.target
                for o in intent.outputs
                if o.key == declared_output.key
                and kind_of.get(o.target) == kind_of.get(declared_output.target)
            ]
            if len(same) != 1:
                continue
        keys_of.setdefault(declared_output.target, []).append(declared_output.key)
    mapped: dict[str, DeclaredResource] = {}
    for declared in intent.resources:
        if declared.part is None:
            mapped[declared.logical_id] = _map_one(declared, inventory.resources, physical, keys_of)
    for declared in intent.resources:
        if declared.part is not None:
            parent = mapped.get(declared.parent or "")
            if parent is not None and parent.mapped_to is not None:
                mapped[declared.logical_id] = replace(
                    declared, mapped_to=parent.mapped_to, mapped_by=f"part of API {parent.logical_id}"
                )
            else:
                mapped[declared.logical_id] = replace(
                    declared,
                    mapped_to=None,
                    mapped_by=f"its API {declared.parent or '(none named)'} is not mapped",
                )
    return replace(intent, resources=tuple(mapped[r.logical_id] for r in intent.resources))


def _map_one(
    declared: DeclaredResource,
    resources: tuple[Resource, ...],
    physical: dict[str, str],
    keys_of: dict[str, list[str]],
) -> DeclaredResource:
    same_kind = [r for r in resources if r.kind == declared.kind]
    if declared.logical_id in physical:
        phys = physical[declared.logical_id]
        found = _first(same_kind, lambda r: phys in (r.name, r.arn, r.url, r.value))
        if found is not None:
            return replace(declared, mapped_to=found.key, mapped_by=f"CloudFormation's physical id {phys}")
    for key in keys_of.get(declared.logical_id, ()):
        found = next((r for r in same_kind if key in r.keys), None)
        if found is not None:
            return replace(declared, mapped_to=found.key, mapped_by=f"output {key}")
    name = declared.physical_name
    if isinstance(name, str):
        if declared.kind in _LOWERCASED:
            found = _first(same_kind, lambda r: name.lower() in (r.name.lower(), r.value.lower()))
        else:
            found = _first(same_kind, lambda r: name in (r.name, r.value))
        if found is not None:
            return replace(declared, mapped_to=found.key, mapped_by=f"declared name {name}")
    if declared.arn is not None:
        found = _first(same_kind, lambda r: r.arn == declared.arn)
        if found is not None:
            return replace(declared, mapped_to=found.key, mapped_by=f"ARN {declared.arn}")
    return replace(declared, mapped_to=None, mapped_by=_why_unmapped(declared, keys_of))


def _first(resources: list[Resource], match: Callable[[Resource], bool]) -> Resource | None:
    return next((r for r in resources if match(r)), None)


def _why_unmapped(declared: DeclaredResource, keys_of: dict[str, list[str]]) -> str:
    why = _why_not(declared, keys_of)
    if declared.condition is not None:  # perhaps not deployed at all: said, not assumed
        return f"{why}; it exists only when condition {declared.condition} holds"
    return why


def _why_not(declared: DeclaredResource, keys_of: dict[str, list[str]]) -> str:
    name = declared.physical_name
    outputs = keys_of.get(declared.logical_id)
    said = (
        f"output {', '.join(outputs)} is not in the outputs file as a {declared.kind}"
        if outputs
        else "no output of the template points at it"
    )
    if isinstance(name, Unknown):
        return f"unmapped: its declared name is {name} and {said}"
    if name is None:
        return f"unmapped: it declares no name and {said}"
    return f"unmapped: no {declared.kind} named {name} is in the inventory and {said}"
