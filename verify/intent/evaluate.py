"""Declared values with their intrinsics evaluated as far as the template and the deployed names allow.

CloudFormation (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::Select`, `Fn::If`, ...) and Terraform
(`${aws_x.y.attr}`, `${var.x}`, CDKTF and CDK tokens) each have an evaluator over one `Names`: what is
known of the deployed stack (a logical id's `Ref` value or an attribute, from the outputs file, the
live stack's resources or the inventory's ARNs; the region, account and stack name). What it cannot
settle becomes `Unknown(reason)`, naming the intrinsic and the resource it points at: never a guess.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from verify.intent.model import Unknown, first_unknown, is_known

_CDK_TOKEN = re.compile(r"\$\{Token\[[^\]]*\]\}|\$\{TfToken\[[^\]]*\]\}")
_DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:(ssm-secure|ssm|secretsmanager):[^}]*\}\}")
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
# A Terraform reference: optional module path, optional data., then type.name and an attribute path.
_TF_REF = re.compile(r"^((?:module\.[\w-]+\.)*(?:data\.)?[a-z][a-z0-9_]*\.[\w-]+)((?:\.[\w-]+|\[\d+\])*)$")
NO_VALUE = object()
# References to no resource: what each is, for the sentence.
_PLAN_TIME = {
    "var": "variable",
    "local": "local value",
    "count": "count index",
    "each": "for_each key or value",
    "self": "self reference",
    "path": "path value",
    "terraform": "workspace value",
}  # `Ref: AWS::NoValue`: the property is as if not written


@dataclass
class Names:
    """What is known of the deployed stack, for resolving references.

    `refs`: logical id → what `Ref` returns for it (CloudFormation); `attrs`: (logical id or address,
    attribute) → its value (`Fn::GetAtt`, Terraform references); `pseudo`: `AWS::Region`,
    `AWS::AccountId`, `AWS::StackName`... when known; `parameters`: the template's parameters (their
    deployed values are never in the template: a `Ref` to one stays unknown).
    """

    refs: dict[str, str] = field(default_factory=dict)
    attrs: dict[tuple[str, str], Any] = field(default_factory=dict)
    pseudo: dict[str, str] = field(default_factory=dict)
    parameters: frozenset[str] = frozenset()
    resources: frozenset[str] = frozenset()


# ---------------------------------------------------------------- CloudFormation


def cfn_value(node: Any, names: Names) -> Any:
    """`node` with every intrinsic evaluated (see the module docstring); `NO_VALUE` entries dropped."""
    if isinstance(node, dict):
        if len(node) == 1:
            ((key, argument),) = node.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return _cfn_intrinsic(key, argument, names)
        evaluated = {k: cfn_value(v, names) for k, v in node.items()}
        return {k: v for k, v in evaluated.items() if v is not NO_VALUE}
    if isinstance(node, list):
        return [v for v in (cfn_value(item, names) for item in node) if v is not NO_VALUE]
    if isinstance(node, str):
        return _cfn_text(node)
    return node


def _cfn_text(text: str) -> Any:
    if (token := _CDK_TOKEN.search(text)) is not None:
        return Unknown(f"CDK token {token.group(0)} is resolved only at deploy")
    if (dynamic := _DYNAMIC_REFERENCE.search(text)) is not None:
        # `{{resolve:ssm:/db/version}}`: CloudFormation reads SSM or Secrets Manager at deploy; the
        # text itself is no value (taking it as the engine version would compare nonsense).
        return Unknown(f"dynamic reference {dynamic.group(0)} is read from {dynamic.group(1)} at deploy")
    return text


def _cfn_intrinsic(key: str, argument: Any, names: Names) -> Any:
    if key == "Ref":
        return _ref(str(argument), names)
    if key == "Fn::GetAtt":
        return _get_att(argument, names)
    if key == "Fn::Join":
        return _join(argument, names)
    if key == "Fn::Sub":
        return _sub(argument, names)
    if key == "Fn::Select":
        return _select(argument, names)
    if key == "Fn::If":
        return _if(argument, names)
    if key == "Fn::ToJsonString":
        value = cfn_value(argument, names)
        return json.dumps(value, separators=(",", ":")) if is_known(value) else first_unknown(value)
    if key == "Fn::ImportValue":
        return Unknown(f"Fn::ImportValue {_short(argument)} comes from another stack's exports")
    return Unknown(f"{key} {_short(argument)} is not evaluated by verify")


def _ref(target: str, names: Names) -> Any:
    if target == "AWS::NoValue":
        return NO_VALUE
    if target.startswith("AWS::"):
        if target in names.pseudo:
            return names.pseudo[target]
        return Unknown(f"Ref {target} is known only where the stack is deployed")
    if target in names.refs:
        return names.refs[target]
    if target in names.parameters:
        return Unknown(f"Ref {target}: a parameter, whose deployed value the template does not hold", target)
    if target in names.resources:
        return Unknown(f"Ref {target}: set at deploy, and no output or deployed name says it", target)
    return Unknown(f"Ref {target}: the template has no resource or parameter of that name", target)


def _get_att(argument: Any, names: Names) -> Any:
    if isinstance(argument, str):
        argument = argument.split(".", 1)
    if not (isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str)):
        return Unknown(f"Fn::GetAtt {_short(argument)} is malformed")
    resource, attribute = argument
    attribute = cfn_value(attribute, names)
    if not isinstance(attribute, str):
        return Unknown(f"Fn::GetAtt {resource}: its attribute is itself unresolved", resource)
    if (resource, attribute) in names.attrs:
        return names.attrs[(resource, attribute)]
    return Unknown(
        f"Fn::GetAtt {resource}.{attribute}: set at deploy, and no output or deployed name says it", resource
    )


def _join(argument: Any, names: Names) -> Any:
    if not (isinstance(argument, list) and len(argument) == 2):
        return Unknown(f"Fn::Join {_short(argument)} is malformed")
    separator, parts = cfn_value(argument[0], names), cfn_value(argument[1], names)
    if isinstance(parts, Unknown):
        return parts
    if not isinstance(separator, str) or not isinstance(parts, list):
        return Unknown(f"Fn::Join {_short(argument)} is malformed")
    unknown = first_unknown(parts)
    if unknown is not None:
        return Unknown(f"Fn::Join of {unknown.reason}", unknown.refers_to)
    return _cfn_text(separator.join(_text(p) for p in parts))


def _sub(argument: Any, names: Names) -> Any:
    variables: Mapping[str, Any] = {}
    if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
        argument, variables = argument[0], {k: cfn_value(v, names) for k, v in argument[1].items()}
    if not isinstance(argument, str):
        return Unknown(f"Fn::Sub {_short(argument)} is malformed")
    unknowns: list[Unknown] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name in variables:
            value = variables[name]
        elif "." in name and not name.startswith("AWS::"):
            value = _get_att(name.split(".", 1), names)
        else:
            value = _ref(name, names)
        if isinstance(value, Unknown) or not is_known(value):
            unknowns.append(value if isinstance(value, Unknown) else first_unknown(value) or Unknown(name))
            return ""
        return _text(value)

    text = _SUB_VARIABLE.sub(replace, argument)
    if unknowns:
        return Unknown(f"Fn::Sub {argument!r}: {unknowns[0].reason}", unknowns[0].refers_to)
    return _cfn_text(text.replace("${!", "${"))


def _select(argument: Any, names: Names) -> Any:
    if not (isinstance(argument, list) and len(argument) == 2):
        return Unknown(f"Fn::Select {_short(argument)} is malformed")
    index, items = cfn_value(argument[0], names), cfn_value(argument[1], names)
    if isinstance(index, Unknown):
        return index
    if isinstance(items, Unknown):
        return items
    try:
        return items[int(index)]
    except (TypeError, ValueError, IndexError, KeyError):
        return Unknown(f"Fn::Select {_short(argument)} is out of range or malformed")


def _if(argument: Any, names: Names) -> Any:
    if not (isinstance(argument, list) and len(argument) == 3):
        return Unknown(f"Fn::If {_short(argument)} is malformed")
    when_true, when_false = cfn_value(argument[1], names), cfn_value(argument[2], names)
    if is_known(when_true) and when_true == when_false:  # either way the same: no guess
        return when_true
    return Unknown(
        f"Fn::If on condition {argument[0]}: which branch holds depends on the deploy's parameters"
    )


def cfn_refs(node: Any) -> Iterator[str]:
    """The logical ids `node` refers to (`Ref`, `Fn::GetAtt`, `${X}` / `${X.Attr}` in `Fn::Sub`)."""
    if isinstance(node, dict):
        if len(node) == 1:
            ((key, argument),) = node.items()
            if key == "Ref" and isinstance(argument, str):
                yield argument
                return
            if key == "Fn::GetAtt":
                if isinstance(argument, str):
                    target: Any = argument.split(".", 1)[0]
                else:
                    target = argument[0] if isinstance(argument, list) and argument else None
                if isinstance(target, str):
                    yield target
                return
            if key == "Fn::Sub":
                text = argument[0] if isinstance(argument, list) and argument else argument
                if isinstance(text, str):
                    for match in _SUB_VARIABLE.finditer(text):
                        yield match.group(1).split(".", 1)[0].strip()
                if isinstance(argument, list) and len(argument) > 1:
                    yield from cfn_refs(argument[1])
                return
        for value in node.values():
            yield from cfn_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from cfn_refs(item)


# ---------------------------------------------------------------- Terraform


def tf_value(node: Any, names: Names) -> Any:
    """A Terraform JSON value with its `${...}` interpolations resolved where `names` knows them."""
    if isinstance(node, dict):
        return {k: tf_value(v, names) for k, v in node.items() if k != "//"}
    if isinstance(node, list):
        return [tf_value(item, names) for item in node]
    if isinstance(node, str) and "${" in node:
        return _interpolate(node, names)
    return node


def _interpolate(text: str, names: Names) -> Any:
    if (token := _CDK_TOKEN.search(text)) is not None:
        return Unknown(f"CDKTF token {token.group(0)} is resolved only at synth or apply")
    pieces: list[str] = []
    position = 0
    for start, end, expression in _expressions(text):
        pieces.append(text[position:start].replace("$${", "${"))
        value = tf_reference(expression, names)
        if isinstance(value, Unknown):
            return value
        if len(text) == end - start:  # the whole string is one reference: keep its type (a number, a list)
            return value
        pieces.append(_text(value))
        position = end
    pieces.append(text[position:].replace("$${", "${"))
    return "".join(pieces)


def _expressions(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, expression) of each `${...}` in `text`, braces inside it balanced; `$${` is a literal."""
    index = 0
    while (start := text.find("${", index)) != -1:
        if start > 0 and text[start - 1] == "$":
            index = start + 2
            continue
        depth, cursor = 0, start + 1
        while cursor < len(text):
            if text[cursor] == "{":
                depth += 1
            elif text[cursor] == "}":
                depth -= 1
                if depth == 0:
                    break
            cursor += 1
        yield start, cursor + 1, text[start + 2 : cursor].strip()
        index = cursor + 1


def tf_reference(expression: str, names: Names) -> Any:
    """One `${...}` expression: a resource attribute `names` knows, else `Unknown` saying why."""
    match = _TF_REF.match(expression)
    if match is None:
        return Unknown(f"Terraform expression ${{{expression}}} is evaluated only at plan time")
    address, path = match.group(1), match.group(2).lstrip(".")
    head = address.split(".", 1)[0]
    if head in _PLAN_TIME:
        return Unknown(f"Terraform {_PLAN_TIME[head]} ${{{expression}}} is set at plan time")
    if re.sub(r"^(?:module\.[\w-]+\.)*", "", address).startswith("data."):  # `module.data.` is a module
        return Unknown(f"Terraform data source ${{{expression}}} is read at plan time", address)
    attribute = path.split(".", 1)[0] if path else ""
    if (address, attribute) in names.attrs:
        return names.attrs[(address, attribute)]
    return Unknown(
        f"Terraform reference ${{{expression}}}: set at apply, and no output or deployed name says it",
        address,
    )


def tf_refs(node: Any) -> Iterator[str]:
    """The resource addresses a Terraform JSON value refers to."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key != "//":
                yield from tf_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from tf_refs(item)
    elif isinstance(node, str) and "${" in node:
        for _, _, expression in _expressions(node):
            for word in re.findall(r"(?:module\.[\w-]+\.)*(?:data\.)?[a-z][a-z0-9_]*\.[\w-]+", expression):
                if word.split(".", 1)[0] not in _PLAN_TIME:
                    yield word


# ---------------------------------------------------------------- shared


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value)


def _short(value: Any) -> str:
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."
