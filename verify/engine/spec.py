"""A check, defined once: a shipped check's marks read once into a `CheckSpec`, and what they say
(service, category, title) as both runners report it. No pytest: marks are read as plain attributes
(`verify.mark`'s record, and pytest's own `pytestmark` for users' `pytest.mark`). The one reader of
the shipped suites' marks is `shipped_checks`: the runner's plan and `verify checks list` use it.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verify.marks import MARKS_ATTRIBUTE


@functools.cache
def suites_dir() -> Path:
    """Where the shipped suites are installed: located, never imported here for their checks."""
    found = importlib.util.find_spec("suites")
    if found is None or found.origin is None:  # pragma: no cover -- the package ships them
        raise ModuleNotFoundError("the shipped suites (package `suites`) are not installed")
    return Path(found.origin).resolve().parent


@functools.cache
def parameters(func: Callable[..., object]) -> tuple[str, ...]:
    # Asked several times per planned check (hundreds at 200 resources): inspect is not cheap.
    return tuple(inspect.signature(func).parameters)


def marks_of(obj: object) -> list[Any]:
    """The marks on a module or function, closest first: `verify.mark`'s plain record, then pytest's
    `pytestmark` (a user's `pytest.mark`, a module's list) for the names the record does not hold --
    under pytest a `verify.mark` is in both, and must count once."""
    recorded = list(getattr(obj, MARKS_ATTRIBUTE, ()))
    names = {m.name for m in recorded}
    raw = getattr(obj, "pytestmark", [])
    # A `verify.mark` in a module's list is read as its plain record, pytest imported or not.
    theirs: list[Any] = [
        getattr(m, "plain", getattr(m, "mark", m)) for m in (raw if isinstance(raw, list) else [raw])
    ]
    return recorded + [m for m in theirs if m.name not in names]


def closest_marks(module: object, func: object) -> dict[str, Any]:
    """A check's marks by name, the closest one of each: the function's over its module's."""
    marks = {m.name: m for m in reversed(marks_of(module))}
    marks.update({m.name: m for m in reversed(marks_of(func))})
    return marks


@dataclass(frozen=True)
class ShippedCheck:
    """A check of the shipped suites as written, before it is parametrized: `suites/<file>::<test>`."""

    file: str  # test_<service>.py
    name: str
    func: Callable[..., object]
    marks: dict[str, Any]

    @property
    def id(self) -> str:
        return f"suites/{self.file}::{self.name}"


# `verify preflight`'s checks (about a template, before it is deployed): a module of the suites that
# neither `verify run`'s plan nor pytest's collection (`test_*.py`) picks up.
PREFLIGHT_SUITE = "preflight.py"


def shipped_checks(files: str = "test_*.py") -> Iterator[ShippedCheck]:
    """Every shipped check (a `test_*` function with a `check` mark) of the suites' modules matching
    `files` (`verify run`'s by default; `PREFLIGHT_SUITE` for preflight's), module by module in file
    order, each module imported as it is reached. Nothing runs; pytest is not imported."""
    for path in sorted(suites_dir().glob(files)):
        module = importlib.import_module(f"suites.{path.stem}")
        for name, func in vars(module).items():
            if not name.startswith("test_") or not inspect.isfunction(func):
                continue
            marks = closest_marks(module, func)
            if "check" in marks:
                yield ShippedCheck(path.name, name, func, marks)


def subject_of(params: dict[str, Any]) -> Any:
    """What a parametrized check is about: its resource or its output (None for neither)."""
    return params.get("resource") or params.get("output")


@dataclass
class CheckSpec:
    """One planned check: its id, its function, its marks (name -> the closest one) and parameters."""

    id: str  # suites/<module>::<test>[<param id>]
    name: str  # <test>[<param id>]
    func: Callable[..., object]
    marks: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)  # resource / output
    skip: str = ""  # a reason: planned, never run

    @property
    def parameters(self) -> tuple[str, ...]:
        return parameters(self.func)

    @property
    def subject(self) -> Any:
        return subject_of(self.params)

    @property
    def step(self) -> str | None:
        """The flow step this check observes (its `flow_step` mark), when it runs."""
        mark = self.marks.get("flow_step")
        return str(mark.args[0]) if mark is not None and not self.skip else None

    def meta(self, stack_of: dict[str, str] | None = None) -> dict[str, Any]:
        return meta_of(self.marks.get("check"), self.name, self.params, stack_of)


def meta_of(
    marker: Any, name: str, params: dict[str, Any], stack_of: dict[str, str] | None = None
) -> dict[str, Any]:
    """A check's service, category and title (formatted with its resource), from its `check` mark."""
    kwargs = dict(marker.kwargs) if marker else {}
    if marker and marker.args:
        kwargs.setdefault("service", marker.args[0])
    subject = subject_of(params)
    title = str(kwargs.get("title") or name)
    key = getattr(subject, "key", "")
    if subject is not None:
        # A sensitive subject's name is its value: the title (Allure's, the reports') says it masked.
        shown = "***" if getattr(subject, "sensitive", False) else getattr(subject, "name", key)
        with contextlib.suppress(AttributeError, IndexError, KeyError, ValueError):
            title = title.format(resource=subject, name=shown, key=key)
    elif "resource" in params:
        # The not-applicable placeholder names nothing; a literal "{name}" in the report helps nobody.
        with contextlib.suppress(AttributeError, IndexError, KeyError):
            title = title.format(resource=None, name="(none)", key="(none)")
    from verify.redact import REDACTOR

    return {
        "service": str(kwargs.get("service", "outputs")),
        "category": str(kwargs.get("category", "functional")),
        "title": REDACTOR.redact(title),
        "resource": key or str(kwargs.get("resource", "")),
        "stack": (stack_of or {}).get(key, "") if key else "",
    }
