"""The intent a `verify run` checks against: the templates of the stacks it verifies, read once.

Where `discover --intent` reads one template and refuses to choose among several, a run reads every
template found beside its outputs file(s) when the outputs name no one stack: a run of several stacks
(an app's, or the sandbox's two) verifies each resource against whichever template declares it. A
resource two templates declare is not judged against either (verify does not choose).

- `--template PATH`: that template; a bad one stops the run before anything runs (exit 2).
- an outputs file: the templates beside it (`verify.intent.locate`); none found: the intent checks
  are not applicable and say so; a found template that cannot be read: they could not verify.
- `--stack` without an outputs file: CloudFormation's GetTemplate of that stack.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from verify.errors import VerifyError
from verify.intent.documents import read_document
from verify.intent.load import intent_for, intent_from_stack, load_intent
from verify.intent.locate import NoTemplate, templates_beside
from verify.intent.model import DeclaredResource, Intent
from verify.stack.inventory import Inventory
from verify.stack.outputs import Outputs


@dataclass(frozen=True)
class RunIntent:
    """The templates a run read (`intents`), or why it has none (`missing`: not applicable) or could
    not read one (`broken`: could not verify)."""

    intents: tuple[Intent, ...] = ()
    missing: str = ""
    broken: str = ""
    sources: tuple[str, ...] = field(default=())

    def declared_for(self, key: str) -> list[DeclaredResource]:
        """The declared resources (and parts: an API's stages and methods) mapped to inventory resource
        `key`, from the one template that declares it. `LookupError` (with the sentence) when two do."""
        found = [(i, [r for r in i.resources if r.mapped_to == key]) for i in self.intents]
        found = [(i, rs) for i, rs in found if rs]
        if len(found) > 1:
            raise LookupError(
                "declared by several templates ("
                + ", ".join(i.source for i, _ in found)
                + "): verify does not choose; pass --template PATH"
            )
        return found[0][1] if found else []


def load_run_intent(
    *,
    template: str | None,
    outputs: Outputs,
    inventory: Inventory,
    outputs_paths: Sequence[str],
    stack: str | None,
    cloudformation: Callable[[], Any],
) -> RunIntent:
    """The run's intent (see the module docstring). A `TemplateError` escapes only for `template`."""
    if template is not None:
        intent = intent_for(template=template, outputs=outputs, inventory=inventory)
        return RunIntent((intent,), sources=(intent.source,))
    if not outputs_paths and stack is not None:
        try:
            intent = intent_from_stack(stack, cloudformation(), outputs=outputs, inventory=inventory)
        except VerifyError as exc:
            return RunIntent(broken=f"the template of stack {stack} could not be read: {exc}")
        return RunIntent((intent,), sources=(intent.source,))
    intents: list[Intent] = []
    missing: list[str] = []
    for path in outputs_paths:
        if path == "-" or path.startswith("cloudformation:"):
            missing.append(f"{path} is no file to look beside")
            continue
        try:
            located = templates_beside(path, outputs.stack)
        except NoTemplate as exc:
            missing.append(str(exc))
            continue
        for place in located:
            try:
                document = read_document(place.path, place.shown)
                intents.append(load_intent(document, outputs=outputs, inventory=inventory, stack=place.stack))
            except VerifyError as exc:
                return RunIntent(broken=str(exc))
    if not intents:
        return RunIntent(missing="; ".join(missing) or "no template to read")
    return RunIntent(tuple(intents), sources=tuple(i.source for i in intents))
