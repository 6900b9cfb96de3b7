"""verify's marks: `from verify import mark`, then `@mark.check(...)`, `@mark.resources(...)`,
`@mark.flow_step(...)`, `@mark.writes`, `@mark.xdist_group(...)` (or a module's
`pytestmark = [mark.writes, ...]`).

Why not `pytest.mark`: the `verify` command runs the shipped suites without pytest (the engine's
runner), and `import pytest` alone costs a good part of an on-call smoke run. A suite that imports
pytest for its marks loads it anyway. These marks import nothing.

What a decorator does:
- it records a plain `Mark` (name, args, kwargs) on the function, in its `verify_marks` attribute
  (a tuple, closest decorator first, as pytest orders `pytestmark`): what the engine reads
  (`verify.engine.spec.marks_of`);
- when pytest is already imported (`"pytest" in sys.modules`), it also applies the real
  `pytest.mark.<name>(...)`, so pytest, `-k`, `get_closest_marker`, allure and users' plugins see
  exactly the marks they saw when the suites wrote `pytest.mark` themselves.

Why that is sound -- pytest sees every mark, and nothing imports pytest for them:
1. pytest is imported before it collects: `pytest.main`, the `pytest` command and every xdist worker
   import pytest, then import the test modules during collection. A suite module imported by pytest's
   collection therefore finds "pytest" in sys.modules and gets the real marks at decoration time.
2. A suite module imported without pytest (the engine's plan, `verify checks list`) is read only by the
   engine, which reads `verify_marks` and never pytest's.
3. The one way the two meet: a process imports the suites without pytest, then runs pytest in the same
   process, which reuses the cached module (the CLI falls back to pytest when the engine's plan says it
   needs pytest). The marks pytest did not get are then kept as pending on the function, and the
   plugin applies them as pytest collects it (`apply_pending`, from `pytest_pycollect_makeitem`,
   before pytest reads the function's marks). A module's `pytestmark` list needs no such help: pytest
   reads each entry's `.mark` when it collects, and `MarkDecorator.mark` is pytest's own `Mark`
   whenever pytest is imported by then.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., object])

# The plain record the engine reads, and the marks still owed to pytest (point 3 above).
MARKS_ATTRIBUTE = "verify_marks"
_PENDING_ATTRIBUTE = "_verify_marks_for_pytest"


@dataclass(frozen=True)
class Mark:
    """One mark as verify records it: what pytest's `Mark` holds (name, args, kwargs), without pytest."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


class MarkDecorator:
    """A mark with its arguments: decorates a check, or sits in a module's `pytestmark` list."""

    def __init__(
        self, name: str, args: tuple[Any, ...] = (), kwargs: Mapping[str, Any] | None = None
    ) -> None:
        self.plain = Mark(name, args, dict(kwargs or {}))

    @property
    def name(self) -> str:
        return self.plain.name

    @property
    def args(self) -> tuple[Any, ...]:
        return self.plain.args

    @property
    def kwargs(self) -> Mapping[str, Any]:
        return self.plain.kwargs

    @property
    def mark(self) -> Any:
        """What pytest reads from a `pytestmark` list entry: its own `Mark` once pytest is imported
        (it is, whenever pytest reads it), else the plain one."""
        return self._pytest().mark if "pytest" in sys.modules else self.plain

    def _pytest(self) -> Any:
        import pytest  # already imported: only ever called when "pytest" is in sys.modules

        return getattr(pytest.mark, self.name)(*self.args, **self.kwargs)

    def __call__(self, func: F) -> F:
        # A new tuple each time, as pytest does for `pytestmark`: a wrapper made by functools.wraps
        # copies the attribute, and must not share (and so grow) the wrapped function's record.
        setattr(func, MARKS_ATTRIBUTE, (*getattr(func, MARKS_ATTRIBUTE, ()), self.plain))
        if "pytest" in sys.modules:
            self._pytest()(func)
        else:
            setattr(func, _PENDING_ATTRIBUTE, (*getattr(func, _PENDING_ATTRIBUTE, ()), self))
        return func

    def __repr__(self) -> str:
        return f"<verify.mark.{self.name} args={self.args!r} kwargs={dict(self.kwargs)!r}>"


def apply_pending(func: object) -> None:
    """Give pytest the marks a function got while pytest was not imported (the module docstring's
    point 3), in the order they were applied; at most once."""
    pending: tuple[MarkDecorator, ...] = getattr(func, _PENDING_ATTRIBUTE, ())
    if not pending:
        return
    delattr(func, _PENDING_ATTRIBUTE)
    for decorator in pending:
        decorator._pytest()(func)


def _given(**kwargs: Any) -> dict[str, Any]:
    # Only what the check wrote: the recorded mark is the one `pytest.mark.<name>(...)` would hold.
    return {key: value for key, value in kwargs.items() if value is not None}


class Marks:
    """`verify.mark`: the marks a check carries. Each reads like its `pytest.mark` twin."""

    def check(
        self, service: str, /, *, category: str | None = None, title: str | None = None
    ) -> MarkDecorator:
        """A verify check: the AWS service it is about, `functional` (default) or `posture`, and its
        title (`{name}`, `{key}`, `{resource.kind}` are filled from the resource)."""
        return MarkDecorator("check", (service,), _given(category=category, title=title))

    def resources(self, *kinds: str, role: str | None = None) -> MarkDecorator:
        """Run once per resource of these kinds (all resources when none is named), with this role."""
        return MarkDecorator("resources", kinds, _given(role=role))

    def flow_step(self, step: str) -> MarkDecorator:
        """The flow step the check observes (see `verify.scenario.flow.STEPS`)."""
        return MarkDecorator("flow_step", (step,))

    @property
    def writes(self) -> MarkDecorator:
        """The check writes tagged test data: skipped in the read-only smoke profile."""
        return MarkDecorator("writes")

    def xdist_group(self, name: str) -> MarkDecorator:
        """Checks that must run together on one worker under `--workers` (pytest-xdist's mark)."""
        return MarkDecorator("xdist_group", (name,))


mark = Marks()
