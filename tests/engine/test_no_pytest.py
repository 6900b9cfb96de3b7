"""The no-pytest path imports no pytest: `verify.mark` records marks as plain attributes, the engine
reads them, and pytest still sees its own marks -- also on a suite imported before pytest was."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from _pytest.mark.structures import Mark as PytestMark
from _pytest.mark.structures import get_unpacked_marks

from verify import mark
from verify.engine.spec import closest_marks, marks_of
from verify.marks import Mark, apply_pending

OUTPUTS = Path(__file__).resolve().parents[2] / "fixtures" / "outputs" / "pipeline-flat.json"


def _decorated() -> Callable[[], None]:
    def test_x() -> None:
        """A check."""

    decorated: Callable[[], None] = mark.check("dynamodb", category="posture", title="t {name}")(
        mark.resources("dynamodb_table", role="raw")(mark.writes(test_x))
    )
    return decorated


def test_a_mark_is_a_plain_attribute_and_pytest_s_own_when_pytest_is_imported() -> None:
    func = _decorated()
    # The plain record, closest decorator first (pytest's own order).
    assert func.verify_marks == (  # type: ignore[attr-defined]
        Mark("writes"),
        Mark("resources", ("dynamodb_table",), {"role": "raw"}),
        Mark("check", ("dynamodb",), {"category": "posture", "title": "t {name}"}),
    )
    # pytest is imported here: the very marks `@pytest.mark.<name>(...)` would have left.
    expected = pytest.mark.check("dynamodb", category="posture", title="t {name}")(
        pytest.mark.resources("dynamodb_table", role="raw")(pytest.mark.writes(_check_copy()))
    )
    assert get_unpacked_marks(func) == get_unpacked_marks(expected)
    # A module's `pytestmark` list: pytest reads each entry's `.mark`, its own Mark.
    group = mark.xdist_group("flow").mark
    assert isinstance(group, PytestMark) and (group.name, group.args) == ("xdist_group", ("flow",))
    # The engine reads each once, although under pytest each is recorded twice.
    assert [m.name for m in marks_of(func)] == ["writes", "resources", "check"]


def _check_copy() -> Callable[[], None]:
    def test_x() -> None:
        """A check."""

    return test_x


def test_the_engine_reads_verify_marks_and_users_pytest_marks_alike() -> None:
    @pytest.mark.skip(reason="user's own")
    @mark.check("sqs", title="inner")
    def test_y() -> None: ...

    class Module:  # a module's `pytestmark`: a verify.mark list, and a check mark the function overrides
        pytestmark = [mark.writes, mark.check("outputs", title="outer")]

    marks = closest_marks(Module, test_y)
    assert set(marks) == {"writes", "check", "skip"}
    assert (marks["check"].args, marks["check"].kwargs) == (("sqs",), {"title": "inner"})
    assert marks["skip"].kwargs == {"reason": "user's own"}


def test_marks_made_before_pytest_was_imported_reach_pytest_when_it_collects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A suite the engine imported without pytest, then collected by pytest in the same process (the
    # CLI's fallback): the plugin's pytest_pycollect_makeitem hands pytest the marks it never got.
    monkeypatch.delitem(sys.modules, "pytest")
    before = mark.writes
    func = _decorated()
    assert before.mark == Mark("writes")  # no pytest: the plain one
    assert not hasattr(func, "pytestmark")
    monkeypatch.undo()
    assert "pytest" in sys.modules
    apply_pending(func)
    apply_pending(func)  # once only
    assert [m.name for m in get_unpacked_marks(func)] == ["writes", "resources", "check"]
    assert [m.name for m in marks_of(func)] == ["writes", "resources", "check"]


_FRESH = textwrap.dedent(
    """
    import sys, tempfile
    from pathlib import Path

    import verify.cli.main
    from verify.cli.catalogue import collect_catalogue
    from verify.config.settings import load_config
    from verify.engine.plan import plan
    from verify.engine.session import start_session

    outputs, mode = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        session = start_session(
            config=load_config(None), profile="full", region=None, outputs_paths=[outputs],
            stack=None, policy=None, report_dir=Path(tmp), timeout=90.0,
        )
        planned = plan(session)
        entries = [e for e in collect_catalogue() if not e.id.startswith("suites/preflight.py")]
        loaded = sorted(m for m in sys.modules if "pytest" in m)
        assert not loaded, loaded
        # Every planned check is a catalogued one; a check about a kind these outputs lack is not planned.
        bases = {s.id.split("[")[0] for s in planned}
        assert bases <= {e.id for e in entries} and len(entries) > 60 and len(bases) > 40, (len(bases), len(entries))
        if mode == "then-pytest":
            # The suites stay imported, without pytest's marks: pytest collects those same modules.
            import pytest
            from verify.pytest_plugin.results import check_id

            class Collector:
                items = []

                def pytest_collection_finish(self, session):
                    Collector.items = list(session.items)

            code = pytest.main(
                [str(verify.cli.main._suites_dir()), "--collect-only", "-q", "--verify",
                 f"--verify-outputs={outputs}", f"--verify-report-dir={tmp}", "-p", "no:cacheprovider",
                 f"--rootdir={tmp}", "-p", "verify.pytest_plugin.plugin", "-c", str(Path(verify.cli.main.__file__).with_name("pytest.ini"))],
                plugins=[Collector()],
            )
            assert code == 0, code
            collected = {check_id(i): i for i in Collector.items}
            assert sorted(collected) == sorted(s.id for s in planned)
            for spec in planned:
                item = collected[spec.id]
                assert item.get_closest_marker("check").args == spec.marks["check"].args, spec.id
                assert (item.get_closest_marker("writes") is None) == ("writes" not in spec.marks)
    print("ok")
    """
)


def _fresh(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _FRESH, str(OUTPUTS), mode],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )


@pytest.mark.sandbox
def test_planning_the_shipped_suites_and_listing_them_imports_no_pytest() -> None:
    done = _fresh("engine-only")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.mark.sandbox
def test_suites_imported_without_pytest_are_collected_by_pytest_with_their_marks() -> None:
    done = _fresh("then-pytest")
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stdout.strip().endswith("ok")
