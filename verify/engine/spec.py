"""A check, defined once: a shipped check's marks read once into a `CheckSpec`, and what they say
(service, category, title) as both runners report it. No pytest: marks are read as plain attributes.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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
    """The marks on a module or function (pytest's `pytestmark` / decorators), as Mark objects."""
    raw = getattr(obj, "pytestmark", [])
    return [getattr(m, "mark", m) for m in (raw if isinstance(raw, list) else [raw])]


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
