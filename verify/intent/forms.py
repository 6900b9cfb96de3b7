"""Each template form brought to one shape: a `Raw` per resource.

A `Raw` is a resource's id (logical id or Terraform address), its type, its properties as written and
as evaluated (`verify.intent.evaluate`), and how to find what one of its properties refers to. The
CloudFormation form (CDK's too) evaluates intrinsics; CDKTF's evaluates `${...}`; a Terraform plan or
state holds values already, with a plan's "known after apply" marked `Unknown`. `declared_property`
turns one path of a `Raw` into a `DeclaredProperty` with its converter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from verify.intent.documents import Document
from verify.intent.evaluate import NO_VALUE, Names, cfn_refs, cfn_value, tf_refs, tf_value
from verify.intent.model import (
    TERRAFORM_PLAN,
    DeclaredProperty,
    Origin,
    TemplateError,
    TemplateOutput,
    Unknown,
)
from verify.intent.rules import TF_UNSET, Convert

MISSING = object()
_INSTANCE_KEY = re.compile(r"\[[^\]]*\]")
_WHOLE_REFERENCE = re.compile(r"^\$\{\s*((?:module\.[\w-]+\.)*[a-z][a-z0-9_]*\.[\w-]+)\.([\w-]+)\s*\}$")


@dataclass(frozen=True)
class Raw:
    id: str
    type: str
    written: dict[str, Any]  # as the template wrote it (JSON-encoded strings decoded)
    values: dict[str, Any]  # evaluated
    origin: Origin
    refers: Callable[[str], list[str]]  # property name → ids it refers to
    condition: str | None = None  # CloudFormation's `Condition` on the resource


def cloudformation_resources(document: Document, names: Names) -> tuple[list[Raw], list[TemplateOutput]]:
    data = document.data
    resources = data.get("Resources")
    if not isinstance(resources, dict):
        raise TemplateError(f"Template {document.source} has a `Resources` section that is not an object.")
    parameters = data.get("Parameters") if isinstance(data.get("Parameters"), dict) else {}
    names = replace(names, parameters=frozenset(parameters or {}), resources=frozenset(resources))
    raws: list[Raw] = []
    for logical_id, body in resources.items():
        if not isinstance(body, dict) or not isinstance(body.get("Type"), str):
            raise TemplateError(
                f"Template {document.source}: resource {logical_id!r} has no `Type`, so it is no CloudFormation resource."
            )
        properties = body.get("Properties") or {}
        if not isinstance(properties, dict):
            raise TemplateError(
                f"Template {document.source}: resource {logical_id!r} has `Properties` that are not an object."
            )
        written = decoded(properties)
        raws.append(
            Raw(
                id=str(logical_id),
                type=body["Type"],
                written=written,
                values=_evaluated(written, names),
                origin=Origin(document.source, str(logical_id)),
                refers=_refs_in(written, cfn_refs),
                condition=body["Condition"] if isinstance(body.get("Condition"), str) else None,
            )
        )
    outputs: list[TemplateOutput] = []
    for key, entry in _section(data, "Outputs", document.source).items():
        value = entry.get("Value") if isinstance(entry, dict) else None
        if isinstance(value, dict) and isinstance(value.get("Ref"), str):
            outputs.append(TemplateOutput(str(key), value["Ref"]))
        elif isinstance(value, dict) and "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            target = target.split(".", 1) if isinstance(target, str) else target
            if isinstance(target, list) and len(target) == 2 and all(isinstance(t, str) for t in target):
                outputs.append(TemplateOutput(str(key), target[0], target[1]))
        else:
            for target in dict.fromkeys(cfn_refs(value)):
                if target in resources:
                    outputs.append(TemplateOutput(str(key), target, composite=True))
    return raws, outputs


def cdktf_resources(document: Document, names: Names) -> tuple[list[Raw], list[TemplateOutput]]:
    data = document.data
    blocks = data.get("resource") or {}
    if not isinstance(blocks, dict):
        raise TemplateError(f"Template {document.source} has a `resource` block that is not an object.")
    raws: list[Raw] = []
    literal: dict[tuple[str, str], Any] = {}
    for type_name, instances in blocks.items():
        if not isinstance(instances, dict):
            raise TemplateError(
                f"Template {document.source}: `resource.{type_name}` is not an object of named resources."
            )
        for name, body in instances.items():
            if not isinstance(body, dict):
                raise TemplateError(
                    f"Template {document.source}: resource {type_name}.{name} is not an object."
                )
            for attribute, value in body.items():
                if isinstance(value, str | int | float | bool) and "${" not in str(value):
                    literal[(f"{type_name}.{name}", attribute)] = value
    names = replace(names, attrs={**literal, **names.attrs})
    for type_name, instances in blocks.items():
        for name, body in instances.items():
            address = f"{type_name}.{name}"
            written = decoded({k: v for k, v in body.items() if k != "//"})
            raws.append(
                Raw(
                    id=address,
                    type=type_name,
                    written=written,
                    values=tf_value(written, names),
                    origin=Origin(document.source, address),
                    refers=_refs_in(written, tf_refs),
                )
            )
    outputs: list[TemplateOutput] = []
    for key, entry in _section(data, "output", document.source).items():
        value = entry.get("value") if isinstance(entry, dict) else None
        reference = _single_reference(value)
        if reference is not None:
            outputs.append(TemplateOutput(str(key), *reference))
            continue
        for target in dict.fromkeys(tf_refs(value)):
            outputs.append(TemplateOutput(str(key), target, composite=True))
    return raws, outputs


def _refs_in(written: dict[str, Any], refs: Callable[[Any], Iterator[str]]) -> Callable[[str], list[str]]:
    def refers(prop: str) -> list[str]:
        return list(refs(at(written, prop, default=None)))

    return refers


def _single_reference(value: Any) -> tuple[str, str] | None:
    """`"${aws_sqs_queue.dlq.arn}"` → ("aws_sqs_queue.dlq", "arn"): an output that is exactly one
    resource attribute (module paths included), so its value is what that reference resolves to."""
    match = _WHOLE_REFERENCE.match(value) if isinstance(value, str) else None
    return (match.group(1), match.group(2)) if match else None


def terraform_resources(document: Document) -> tuple[list[Raw], list[TemplateOutput]]:
    data = document.data
    plan = document.form == TERRAFORM_PLAN
    root = (data.get("planned_values") if plan else data.get("values")) or {}
    root_module = root.get("root_module") if isinstance(root, dict) else None
    if not isinstance(root_module, dict):
        raise TemplateError(
            f"Template {document.source} is `terraform show -json` output with no "
            f"`{'planned_values' if plan else 'values'}.root_module`: nothing was planned or applied."
        )
    # What Terraform wrote besides the values is read where it has the shape Terraform gives it.
    unknown_after = {
        str(change.get("address")): _obj(change.get("change")).get("after_unknown")
        for change in _seq(data.get("resource_changes"))
        if isinstance(change, dict)
    }
    references = _configuration_references(_obj(data.get("configuration")))
    entries = list(_module_resources(root_module, document.source))
    identities: dict[str, set[str]] = {}
    raws: list[Raw] = []
    for entry in entries:
        address = str(entry["address"])
        values = _obj(entry.get("values"))
        expressions = _configured(references, address)
        values = decoded(_mark_unknown(values, unknown_after.get(address), expressions))
        identities[address] = {
            v for k in ("arn", "id", "name", "url") if isinstance(v := values.get(k), str) and v
        }
        raws.append(
            Raw(
                id=address,
                type=str(entry.get("type", "")),
                written=values,
                values=values,
                origin=Origin(document.source, address),
                refers=_plan_refers(address, values, references, identities),
            )
        )
    outputs: list[TemplateOutput] = []
    configured = _obj(_obj(_obj(data.get("configuration")).get("root_module")).get("outputs"))
    for key, entry in configured.items():
        for reference in _seq(_obj(_obj(entry).get("expression")).get("references")):
            parts = str(reference).split(".")
            if len(parts) >= 3:
                outputs.append(TemplateOutput(str(key), ".".join(parts[:-1]), parts[-1]))
                break
    return raws, outputs


def _evaluated(properties: dict[str, Any], names: Names) -> dict[str, Any]:
    """Property by property: `Properties` is an object of properties, never itself an intrinsic."""
    values = {key: cfn_value(value, names) for key, value in properties.items()}
    return {key: value for key, value in values.items() if value is not NO_VALUE}


def _section(data: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    section = data.get(key)
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise TemplateError(f"Template {source} has an `{key}` section that is not an object.")
    return section


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _seq(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _module_resources(module: dict[str, Any], source: str) -> Iterator[dict[str, Any]]:
    for entry in _seq(module.get("resources")):
        if not isinstance(entry, dict) or "address" not in entry:
            raise TemplateError(f"Template {source} lists a resource without an `address`.")
        if entry.get("mode", "managed") == "managed":
            yield entry
    for child in _seq(module.get("child_modules")):
        if isinstance(child, dict):
            yield from _module_resources(child, source)


def _mark_unknown(
    values: Any, unknown: Any, references: dict[str, list[str]], refers_to: str | None = None
) -> Any:
    """Plan values with what Terraform knows only after apply (`after_unknown`) marked `Unknown`,
    pointing at the resource the configuration's expression refers to (`redrive_policy` → the DLQ)."""
    if unknown is True:
        return Unknown("known only after terraform apply", refers_to)
    if isinstance(unknown, dict):
        base = dict(values) if isinstance(values, dict) else {}
        for key, mark in unknown.items():
            if mark is True or isinstance(mark, dict | list):
                target = refers_to or next(
                    (r.rsplit(".", 1)[0] for r in references.get(key, ()) if r.count(".") >= 2), None
                )
                base[key] = _mark_unknown(base.get(key), mark, {}, target)
        return base
    if isinstance(unknown, list) and isinstance(values, list):
        return [
            _mark_unknown(v, unknown[i] if i < len(unknown) else None, {}, refers_to)
            for i, v in enumerate(values)
        ]
    return values


def _configuration_references(configuration: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """address → attribute → the addresses its expression refers to (the plan's `configuration`)."""
    found: dict[str, dict[str, list[str]]] = {}

    def walk(module: dict[str, Any], prefix: str) -> None:
        for resource in _seq(module.get("resources")):
            address = prefix + str(_obj(resource).get("address", ""))
            for attribute, expression in _obj(_obj(resource).get("expressions")).items():
                refs = _seq(_obj(expression).get("references"))
                if refs:
                    found.setdefault(address, {})[attribute] = [prefix + str(r) for r in refs]
        for name, call in _obj(module.get("module_calls")).items():
            walk(_obj(_obj(call).get("module")), f"{prefix}module.{name}.")

    walk(_obj(configuration.get("root_module")), "")
    return found


def _configured(references: dict[str, dict[str, list[str]]], address: str) -> dict[str, list[str]]:
    """The configuration's expressions of a resource; an instance of `count`/`for_each`
    (`aws_sqs_queue.q[0]`, `module.m["a"].aws_sqs_queue.q`) has its block's."""
    return references.get(address) or references.get(_INSTANCE_KEY.sub("", address), {})


def _plan_refers(
    address: str,
    values: dict[str, Any],
    references: dict[str, dict[str, list[str]]],
    identities: dict[str, set[str]],
) -> Callable[[str], list[str]]:
    def refers(prop: str) -> list[str]:
        head = prop.split(".", 1)[0]
        configured = _configured(references, address).get(head)
        if configured:
            return [r.rsplit(".", 1)[0] if r.count(".") >= 2 else r for r in configured]
        value = at(values, prop, default=None)
        if isinstance(value, str):  # state, or a plan with the value known: by identity
            return [other for other, known in identities.items() if value in known and other != address]
        return []

    return refers


def declared_property(
    raw: Raw, name: str, path: str, convert: Convert, origin: Origin | None = None
) -> DeclaredProperty | None:
    written = at(raw.written, path)
    if written is MISSING or written is None or written == "":
        return None  # a plan writes null, a state "", for what was not declared
    leaf = path.rsplit(".", 1)[-1]
    if raw.type.startswith("aws_") and leaf in TF_UNSET and written == TF_UNSET[leaf]:
        return None
    value = at(raw.values, path)
    converted = convert(None if value is MISSING else value)
    if converted is None:
        return None
    return DeclaredProperty(
        name, converted, path, written, origin or raw.origin, whole_path=raw.type.startswith("aws_")
    )


def at(value: Any, path: str, default: Any = MISSING) -> Any:
    """The value at a dotted path; a one-element list on the way is Terraform's block: stepped into."""
    for step in path.split("."):
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, Unknown):
            return value
        if not isinstance(value, dict) or step not in value:
            return default
        value = value[step]
    return value


def decoded(value: Any) -> Any:
    """JSON written as a string (`RedrivePolicy`, Terraform's `redrive_policy`) read as the object it is."""
    if isinstance(value, dict):
        return {k: decoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decoded(v) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return parsed if isinstance(parsed, dict) else value
    return value
