"""Several stacks in one run: one CDK outputs file naming many stacks, or several outputs files.

The outputs of every stack become one `Outputs` (a key named by two stacks is ambiguous: one sentence,
exit 2), and a map from output key to stack lets each check say which stack it verified.
"""

from __future__ import annotations

from pathlib import Path

from verify.errors import OutputsError
from verify.stack.outputs import MAX_OUTPUTS, Outputs, check_count, load_document, load_outputs


def load_stacks(paths: list[str], stack: str | None = None) -> tuple[Outputs, dict[str, str]]:
    """The combined outputs of `paths`, and output key -> stack name when there is more than one stack."""
    loaded = [load_outputs(path, stack=stack, limit=MAX_OUTPUTS) for path in paths]
    check_count(sum(len(o.outputs) for o in loaded), ", ".join(o.source for o in loaded))
    stack_of: dict[str, str] = {}
    for path, outputs in zip(paths, loaded, strict=True):
        names = _cdk_stack_of(path) if outputs.format == "cdk" and outputs.stack is None else {}
        default = outputs.stack or Path(path).stem
        for output in outputs.outputs:
            if output.key in stack_of:
                raise OutputsError(
                    f"output {output.key!r} is named by both {stack_of[output.key]!r} and "
                    f"{names.get(output.key, default)!r}: verify them in separate runs, or pick one with --stack"
                )
            stack_of[output.key] = names.get(output.key, default)
    if len(loaded) == 1:
        only = loaded[0]
        return only, stack_of if len(set(stack_of.values())) > 1 else {}
    combined = Outputs(
        source=", ".join(o.source for o in loaded),
        format=loaded[0].format if len({o.format for o in loaded}) == 1 else "mixed",
        stack=None,
        outputs=tuple(output for o in loaded for output in o.outputs),
        stack_resources=tuple(r for o in loaded for r in o.stack_resources),
    )
    return combined, stack_of if len(set(stack_of.values())) > 1 else {}


def _cdk_stack_of(path: str) -> dict[str, str]:
    # load_outputs merged the stacks of a CDK outputs file; the file itself still says who named what.
    # Through the outputs reader: stdin or a pipe was read once already, and is not read again.
    try:
        document = load_document(Path(path))
    except OutputsError:
        return {}
    if not isinstance(document, dict):
        return {}
    return {
        str(key): str(name) for name, inner in document.items() if isinstance(inner, dict) for key in inner
    }
