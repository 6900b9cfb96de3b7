"""Where a stack's template is: an explicit path, or beside the outputs file, never a silent choice.

Beside `cfn-outputs/flat-outputs.json` (in its folder or the one above) verify looks for
`cdk.out/*.template.json` (CDK; nested stacks' `*.nested.template.json` are parts of another, and
`cdk.out/assembly-*/` holds a CDK stage's stacks) and `cdktf.out/stacks/*/cdk.tf.json` (CDKTF).
A `terraform show -json` file has no fixed name: it is read only when passed explicitly. With
several candidates the stack name the outputs carry chooses (CDK's `manifest.json` says which
template is which stack when the names differ); without one, the error lists what was found.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from verify.intent.model import TemplateError


@dataclass(frozen=True)
class Located:
    path: Path
    shown: str  # how messages name it: relative to the working directory when under it
    stack: str | None  # the stack it is the template of, when its place says


def shown_path(path: Path) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if relative.startswith("..") else relative


def locate_template(
    *, template: str | os.PathLike[str] | None = None, outputs: str | None = None, stack: str | None = None
) -> Located:
    """The template to read: `template` when given (a file, or a folder to look in), else the one
    beside the `outputs` file; `stack` (the outputs' stack name) chooses among several."""
    if template is not None:
        path = Path(template)
        if not path.is_dir():
            return Located(path, shown_path(path) if path.is_absolute() else str(template), None)
        return _choose(_candidates([path]), stack, f"in {shown_path(path)}")
    if outputs is None or outputs == "-" or outputs.startswith("cloudformation:"):
        raise TemplateError(
            "No template was given and there is no outputs file to look beside; pass --template PATH."
        )
    folder = Path(outputs).resolve().parent
    places = list(dict.fromkeys([folder, folder.parent]))
    where = " or ".join(shown_path(p) or "." for p in places)
    return _choose(_candidates(places), stack, f"beside {outputs} (in {where})")


class NoTemplate(TemplateError):
    """No template was found where verify looked: for `verify run`, its intent checks are not
    applicable (a stack without a template beside its outputs is no error); for `discover --intent`,
    an error like any other."""


def templates_beside(outputs: str, stack: str | None = None) -> list[Located]:
    """Every template found beside `outputs` (for a run of several stacks, whose outputs file names
    none of them): the one of `stack` when `stack` names one, else all. `NoTemplate` when none is."""
    folder = Path(outputs).resolve().parent
    places = list(dict.fromkeys([folder, folder.parent]))
    found = _candidates(places)
    if not found:
        where = " or ".join(shown_path(p) or "." for p in places)
        raise NoTemplate(
            f"no template was found beside {outputs} (in {where}): verify looks for cdk.out/*.template.json "
            "and cdktf.out/stacks/*/cdk.tf.json; pass --template PATH"
        )
    chosen = [p for p, name in found.items() if stack is not None and name == stack]
    return [Located(p, shown_path(p), found[p]) for p in (chosen if len(chosen) == 1 else list(found))]


def _candidates(places: list[Path]) -> dict[Path, str | None]:
    """Each template found in `places` (or in `cdk.out` / `cdktf.out` inside them) → its stack name."""
    found: dict[Path, str | None] = {}
    for place in places:
        for assembly in _assemblies(place):
            stacks = _manifest_stacks(assembly)
            for file in sorted(assembly.glob("*.template.json")):
                if not file.name.endswith(".nested.template.json"):
                    found[file] = stacks.get(file.name, file.name.removesuffix(".template.json"))
        for stacks_dir in (place / "cdktf.out" / "stacks", place / "stacks"):
            for file in sorted(stacks_dir.glob("*/cdk.tf.json")):
                found[file] = file.parent.name
        if place.name == "cdktf.out" or (place.parent.name == "stacks" and (place / "cdk.tf.json").is_file()):
            for file in sorted(place.glob("cdk.tf.json")):
                found[file] = place.name
    return found


def _assemblies(place: Path) -> list[Path]:
    roots = [place] if place.name == "cdk.out" else [place / "cdk.out"]
    return [
        a for root in roots if root.is_dir() for a in (root, *sorted(root.glob("assembly-*"))) if a.is_dir()
    ]


def _manifest_stacks(assembly: Path) -> dict[str, str]:
    """template file name → deployed stack name, from the cloud assembly's manifest.json when present."""
    try:
        manifest = json.loads((assembly / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    stacks: dict[str, str] = {}
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    for artifact_id, artifact in (artifacts or {}).items():
        if not isinstance(artifact, dict) or artifact.get("type") != "aws:cloudformation:stack":
            continue
        properties = artifact.get("properties") or {}
        template = properties.get("templateFile")
        if isinstance(template, str):
            stacks[template] = str(properties.get("stackName") or artifact.get("displayName") or artifact_id)
    return stacks


def _choose(found: dict[Path, str | None], stack: str | None, where: str) -> Located:
    if not found:
        raise NoTemplate(
            f"No template was found {where}: verify looks for cdk.out/*.template.json and "
            "cdktf.out/stacks/*/cdk.tf.json; pass --template PATH (a `terraform show -json` file is read only when passed)."
        )
    if len(found) == 1:
        ((path, name),) = found.items()
        return Located(path, shown_path(path), name)
    if stack is not None:
        chosen = [p for p, name in found.items() if name == stack]
        if len(chosen) == 1:
            return Located(chosen[0], shown_path(chosen[0]), stack)
    listed = ", ".join(f"{shown_path(p)} ({name})" for p, name in found.items())
    said = f"none is of stack {stack!r}" if stack is not None else "the outputs name no stack to choose by"
    raise TemplateError(
        f"{len(found)} templates were found {where} and {said}: {listed}; pass --template PATH."
    )
