"""The one entry point: a stack's template found, read, resolved with its deployed names, mapped.

`load_intent` reads twice: once with what the outputs say (a `Ref` an output carries), to map the
declared resources to the inventory; then again with the mapped resources' names and ARNs, so a
`Fn::GetAtt Dlq.Arn` in a redrive policy becomes the DLQ's deployed ARN. Nothing is guessed: what no
deployed name settles stays `Unknown`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from verify.intent.documents import Document, read_document, template_from_cloudformation
from verify.intent.locate import locate_template
from verify.intent.mapping import map_to_inventory, names_from
from verify.intent.model import Intent
from verify.intent.read import read_intent
from verify.stack.inventory import Inventory
from verify.stack.outputs import Outputs, load_live_outputs, load_outputs


def load_intent(
    document: Document,
    *,
    outputs: Outputs | None = None,
    inventory: Inventory | None = None,
    stack: str | None = None,
) -> Intent:
    """`document`'s intent, resolved with what `outputs` and `inventory` say, mapped to `inventory`."""
    stack = stack or (outputs.stack if outputs is not None else None)
    first = read_intent(document, names_from(_unread(document), outputs), stack)
    first = read_intent(document, names_from(first, outputs), stack)
    if inventory is None:
        return first
    mapped = map_to_inventory(first, inventory, outputs)
    second = read_intent(document, names_from(mapped, outputs, inventory), stack)
    return map_to_inventory(second, inventory, outputs)


def _unread(document: Document) -> Intent:
    return Intent(form=document.form, source=document.source, stack=None, resources=())


def intent_for(
    *,
    template: str | os.PathLike[str] | None = None,
    outputs: Outputs | None = None,
    inventory: Inventory | None = None,
) -> Intent:
    """The intent of the stack `outputs` describe: from `template` when given, else the template
    beside the outputs file (`verify.intent.locate`)."""
    source = outputs.source if outputs is not None else None
    located = locate_template(template=template, outputs=source, stack=outputs.stack if outputs else None)
    document = read_document(located.path, located.shown)
    return load_intent(document, outputs=outputs, inventory=inventory, stack=located.stack)


def intent_from_stack(
    stack_name: str,
    cloudformation: Any,
    *,
    outputs: Outputs | None = None,
    inventory: Inventory | None = None,
) -> Intent:
    """The intent of a deployed CloudFormation stack, its template read with GetTemplate."""
    document = template_from_cloudformation(stack_name, cloudformation)
    return load_intent(document, outputs=outputs, inventory=inventory, stack=stack_name)


def intent_for_inputs(
    *,
    template: str | None,
    outputs_path: str | None,
    stack: str | None,
    inventory: Inventory | None,
    cloudformation: Callable[[], Any],
) -> Intent:
    """The intent for a command's inputs: `--template`, else beside the outputs file, else (with
    `--stack` and no outputs file) the deployed stack's own template. `cloudformation` makes the
    client only when the stack is read live."""
    outputs: Outputs | None = None
    if outputs_path is None and stack is not None:
        client = cloudformation()
        outputs = load_live_outputs(stack, client)
        if template is None:
            return intent_from_stack(stack, client, outputs=outputs, inventory=inventory)
    elif outputs_path is not None:
        outputs = load_outputs(outputs_path, stack=stack)
    return intent_for(template=template, outputs=outputs, inventory=inventory)
