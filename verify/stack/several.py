"""Several stacks in one run: one outputs file naming many stacks, or several outputs files.

The outputs of every stack become one `Outputs`. A key two stacks declare (an identical
`Environment`, the `KmsKeyArn` of each) is namespaced in both, `Stack.Key`; a key only one stack
declares keeps its name. A map from output key to stack lets each check say which stack it verified.
With several files, `--stack NAME` keeps that one stack: the stack of that name in a CDK or
describe-stacks file, or a flat or Terraform file (which names no stack) called NAME.json.
"""

from __future__ import annotations

from pathlib import Path

from verify.errors import OutputsError
from verify.stack.outputs import MAX_OUTPUTS, Output, Outputs, check_count, load_outputs, namespaced


def load_stacks(paths: list[str], stack: str | None = None) -> tuple[Outputs, dict[str, str]]:
    """The combined outputs of `paths`, and output key -> stack name when there is more than one stack."""
    if len(paths) == 1:
        only = load_outputs(paths[0], stack=stack, limit=MAX_OUTPUTS)
        return only, _stack_map([(_stack_name(paths[0], only, o), o) for o in only.outputs])
    loaded = [load_outputs(path, limit=MAX_OUTPUTS) for path in paths]
    check_count(sum(len(o.outputs) for o in loaded), ", ".join(o.source for o in loaded))
    named = [
        (_stack_name(path, o, output), output)
        for path, o in zip(paths, loaded, strict=True)
        for output in o.outputs
    ]
    source = ", ".join(o.source for o in loaded)
    if stack is not None:
        named = _one_stack(named, stack, source)
    outputs = namespaced(named, source)
    combined = Outputs(
        source=source,
        format=loaded[0].format if len({o.format for o in loaded}) == 1 else "mixed",
        stack=stack,
        outputs=tuple(outputs),
        stack_resources=tuple(r for o in loaded for r in o.stack_resources),
    )
    return combined, _stack_map([(o.stack or "", o) for o in outputs])


def _stack_name(path: str, outputs: Outputs, output: Output) -> str:
    """The stack that declared `output`: as the file says, else (a flat or Terraform file) its name."""
    return output.stack or outputs.stack or Path(path).stem


def _one_stack(named: list[tuple[str, Output]], stack: str, source: str) -> list[tuple[str, Output]]:
    kept = [(name, _unprefixed(output)) for name, output in named if name == stack]
    if not kept:
        found = ", ".join(sorted({name for name, _ in named}))
        raise OutputsError(f"--stack {stack}: none of {source} holds stack {stack!r} (stacks found: {found})")
    return kept


def _unprefixed(output: Output) -> Output:
    from dataclasses import replace

    return replace(output, key=output.own_key, bare_key=None)


def _stack_map(named: list[tuple[str, Output]]) -> dict[str, str]:
    stack_of = {output.key: name for name, output in named}
    return stack_of if len(set(stack_of.values())) > 1 else {}
