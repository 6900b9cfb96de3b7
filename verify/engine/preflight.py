"""`verify preflight`'s side of the engine: a template read, its checks planned, run as a run's are.

Preflight asks the account about a template before it is deployed, so there are no outputs and no
inventory: its checks (`suites/preflight.py`) are parametrized by the resources the template
declares, and its session reads no outputs. Everything after the plan is the run's own machinery:
the runner, the outcome builder, the gate and every report (summary.json, JUnit, Allure), so the
exit codes are `verify run`'s.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from verify.engine.fixtures import FIXTURES
from verify.engine.plan import keyword_filter
from verify.engine.session import VerifySession
from verify.engine.spec import PREFLIGHT_SUITE, CheckSpec, parameters, shipped_checks
from verify.errors import UsageError
from verify.stack.kinds import checked_kinds

if TYPE_CHECKING:
    from verify.intent.documents import Document
    from verify.intent.model import Intent
    from verify.stack.inventory import Inventory
    from verify.stack.outputs import Outputs

PROFILE = "preflight"


@dataclasses.dataclass
class PreflightSession(VerifySession):
    """A run's session for a template: read-only AWS access in the region given, no outputs.
    `outputs_path` is the template, so the reports' `stack.source` names what was checked."""

    template_source: str = ""

    @property
    def read_only(self) -> bool:
        return True

    @property
    def outputs_path(self) -> str | None:
        return self.template_source

    def region(self) -> str | None:
        return self.region_option

    def outputs(self) -> Outputs:
        raise UsageError("verify preflight reads a template, not an outputs file")

    def inventory(self) -> Inventory:
        raise UsageError("verify preflight reads a template, not an outputs file")


def preflight_session(base: VerifySession, template_source: str) -> PreflightSession:
    """`base` (from `start_session`, with the region resolved) as a preflight session."""
    values = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    return PreflightSession(**values, template_source=template_source)


def read_template(
    *, template: str | None, outputs_path: str | None, stack: str | None
) -> tuple[Document, str | None]:
    """The template to check and its stack's name (when its place says it): `template`, else the one
    beside the outputs file (verify.intent.locate). Missing or malformed: `TemplateError` (exit 2)."""
    from verify.intent.documents import read_document
    from verify.intent.locate import locate_template

    located = locate_template(template=template, outputs=outputs_path, stack=stack)
    return read_document(located.path, located.shown), located.stack


def declared_intent(document: Document, stack: str | None, region: str) -> Intent:
    """What `document` declares. Nothing is deployed yet, so only the region (and the stack's name)
    resolves pseudo parameters; every other reference stays unknown."""
    from verify.intent.evaluate import Names
    from verify.intent.read import read_intent

    partition = (
        "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"
    )
    pseudo = {
        "AWS::Region": region,
        "AWS::Partition": partition,
        "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
    }
    if stack:
        pseudo["AWS::StackName"] = stack
    return read_intent(document, Names(pseudo=pseudo), stack)


def plan_preflight(intent: Intent, region: str, keyword: str | None = None) -> list[CheckSpec]:
    """Each preflight check once per declared resource of its kinds (its `resources` mark), or once
    for the template (a check asking for `template`); a kind the template does not declare plans
    nothing, as `verify run` plans nothing for a kind the stack does not have."""
    from verify.probes.preflight import DeclaredSubject, DeclaredTemplate

    matches = keyword_filter(keyword)
    planned: list[CheckSpec] = []
    for shipped in shipped_checks(PREFLIGHT_SUITE):
        wanted = parameters(shipped.func)
        unknown = set(wanted) - FIXTURES - {"resource", "template"}
        if unknown:  # a shipped check's own mistake, caught by the project's tests
            raise TypeError(f"{shipped.id} asks for {sorted(unknown)}, which preflight does not give")
        sets: list[tuple[str, dict[str, Any]]]
        marker = shipped.marks.get("resources")
        if "template" in wanted:
            sets = [("", {"template": DeclaredTemplate(intent, region)})]
        elif marker is not None and "resource" in wanted:
            kinds = checked_kinds(marker.args, shipped.id)
            declared = [r for r in intent.resources if r.kind in kinds and r.part is None]
            sets = [(r.logical_id, {"resource": DeclaredSubject(r, intent, region)}) for r in declared]
        else:
            sets = [("", {})]
        for suffix, params in sets:
            test = f"{shipped.name}[{suffix}]" if suffix else shipped.name
            spec = CheckSpec(f"suites/{shipped.file}::{test}", test, shipped.func, shipped.marks, params)
            if matches({"suites", shipped.file, test, *shipped.marks}):
                planned.append(spec)
    return planned
