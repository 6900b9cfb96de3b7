"""One plan for both runners: which instances a check has (parametrized from the inventory), which
are skipped before they run (smoke's read-only rule), and -k. A check about a kind the stack does
not have is not planned at all: "ECS cluster (none) is ACTIVE" on a stack without ECS is no finding,
only clutter (issue 18); a resource that exists but a check does not fit stays a skip with a reason.

The pytest plugin parametrizes and skips with `parameter_sets` and `SMOKE_SKIP`; the runner plans the
shipped suites with `plan`, so both give the same ids, titles and skips.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from verify.engine.fixtures import FIXTURES
from verify.engine.spec import CheckSpec, parameters, shipped_checks
from verify.errors import UsageError
from verify.stack.kinds import checked_kinds

if TYPE_CHECKING:
    from verify.engine.session import VerifySession
    from verify.stack.inventory import Resource

SMOKE_SKIP = "not applicable: writes test data, and the smoke profile is read-only"
# What a fixture needs of the stack, kind by kind (each tuple: one of these kinds): a check asking for
# it cannot apply to a stack without them, so it is not planned. The flow sends a reading to an API
# and follows it into a DynamoDB table; which API and table it uses is the flow's own business
# (verify.scenario.targets: an API with no flow table still skips there, with its reason).
FIXTURE_KINDS: dict[str, tuple[tuple[str, ...], ...]] = {"flow": (("api",), ("dynamodb_table",))}
# Marks only pytest knows how to honour.
PYTEST_MARKS = frozenset({"skip", "skipif", "xfail", "usefixtures"})


class NeedsPytest(Exception):
    """The run needs pytest's own machinery (a fixture or mark this runner does not give)."""


def smoke_skip(session: VerifySession, *, writes: bool) -> str:
    """The reason a check (marked `writes` or not) is skipped before it runs ("" when it runs)."""
    return SMOKE_SKIP if session.profile == "smoke" and writes else ""


def parameter_sets(
    session: VerifySession, wanted: set[str] | tuple[str, ...], resources: Any, check: str
) -> list[tuple[str, dict[str, Any], str]]:
    """(id suffix, parameters, skip reason) of each instance of check `check` asking for `wanted`, with
    its `resources` mark (or None): one per output, one per matching resource (its id the first output
    key that names it, see `resource_ids`); none when the stack has no resource of the kinds asked
    for, or of the kinds a fixture it asks for needs (`FIXTURE_KINDS`): the check is not planned. A kind the mark misspells is a `UsageError` naming the check,
    never a check that silently vanishes on every stack."""
    for fixture, needs in FIXTURE_KINDS.items():
        if fixture in wanted and any(not session.inventory().of_kind(*kinds) for kinds in needs):
            return []
    if "output" in wanted:
        return [(o.key, {"output": o}, "") for o in session.outputs().outputs]
    if resources is None or "resource" not in wanted:
        return [("", {}, "")]
    kinds = checked_kinds(resources.args, check)
    role = resources.kwargs.get("role")
    # No kind: what each output item names (the outputs' own checks: one per output, even when two
    # name one resource), not what discovery added. A kind: one per resource, however many outputs
    # name it (`verify.stack.resources`), so no instance is a duplicate of another.
    pool = session.inventory().of_kind(*kinds) if kinds else list(session.inventory().output_items())
    found = [r for r in pool if role is None or r.role == role]
    return [(i, {"resource": r}, "") for i, r in zip(resource_ids(found), found, strict=True)]


def resource_ids(resources: list[Resource]) -> list[str]:
    """Each resource's id: the first output key that names it (a discovered one's name), so the id
    depends only on the outputs file and stays the same run after run, shard after shard; `-0`, `-1`
    ... in inventory order where one key names several (a list-valued output)."""
    counts: dict[str, int] = {}
    for r in resources:
        counts[r.key] = counts.get(r.key, 0) + 1
    seen: dict[str, int] = {}
    ids = []
    for r in resources:
        if counts[r.key] == 1:
            ids.append(r.key)
        else:
            ids.append(f"{r.key}-{seen.get(r.key, 0)}")
            seen[r.key] = seen.get(r.key, 0) + 1
    return ids


def plan(session: VerifySession, keyword: str | None = None) -> list[CheckSpec]:
    """Every shipped check, parametrized from the inventory as the plugin does, filtered by -k."""
    matches = keyword_filter(keyword)
    planned: list[CheckSpec] = []
    for shipped in shipped_checks():
        func, marks = shipped.func, shipped.marks
        skip = smoke_skip(session, writes="writes" in marks)
        unknown = set(parameters(func)) - FIXTURES - {"resource", "output"}
        if (unknown and not skip) or PYTEST_MARKS & set(marks):
            # A check planned as skipped never asks for its fixtures (the flow's, in smoke).
            raise NeedsPytest(f"{shipped.id} needs {sorted(unknown) or 'a pytest mark'}")
        sets = parameter_sets(session, parameters(func), marks.get("resources"), shipped.id)
        for suffix, params, reason in sets:
            test = f"{shipped.name}[{suffix}]" if suffix else shipped.name
            # The placeholder's own reason comes first, as pytest reads its closest skip mark first.
            spec = CheckSpec(f"suites/{shipped.file}::{test}", test, func, marks, params, reason or skip)
            if matches({"suites", shipped.file, test, *marks}):
                planned.append(spec)
    return planned


def keyword_filter(keyword: str | None) -> Callable[[set[str]], bool]:
    """pytest's -k: an expression over case-insensitive substrings of a check's names and marks."""
    if not keyword:
        return lambda _: True
    try:
        from _pytest.mark.expression import Expression
    except ImportError as exc:  # a pytest without it: let pytest itself read -k
        raise NeedsPytest("-k needs pytest's expression parser") from exc
    try:
        expression = Expression.compile(keyword)
    except SyntaxError as exc:
        raise UsageError(f"-k {keyword!r} is not a valid expression: {exc.msg}") from None

    def matches(names: set[str]) -> bool:
        lowered = [n.lower() for n in names]

        def matcher(sub: str, /, **_: str | int | bool | None) -> bool:
            return any(sub.lower() in n for n in lowered)

        return bool(expression.evaluate(matcher))

    return matches
