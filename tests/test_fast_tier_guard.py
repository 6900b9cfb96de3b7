"""The fast tier (`-m "not sandbox and not slow"`) is kept fast by tests/conftest.py's guard: a test that starts a
subprocess or a sandbox, or uses a fixture that did, without the `sandbox` marker, fails and says so."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = Path(__file__).resolve().parent / "conftest.py"

INNER = """
import subprocess

import pytest


@pytest.fixture(scope="module")
def child():
    return subprocess.run(["true"], check=True).returncode


def test_unmarked_subprocess():
    subprocess.run(["true"], check=True)


@pytest.mark.sandbox
def test_marked_subprocess():
    subprocess.run(["true"], check=True)


@pytest.mark.sandbox
def test_marked_sets_up_the_fixture(child):
    assert child == 0


def test_unmarked_reuses_the_fixture(child):
    assert child == 0


def test_unmarked_in_process():
    assert sum(range(4)) == 6
"""


# Marked itself: the outer guard must stay out of the inner run's way (the inner tests open doors).
@pytest.mark.sandbox
def test_unmarked_tests_that_open_a_door_fail_and_say_so(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST.read_text(encoding="utf-8"))
    pytester.makeini("[pytest]\nmarkers =\n    sandbox: test\n")
    # Another file's fixture of the same name opens no door: its users are not sandbox tests.
    same_name = "import pytest\n\n@pytest.fixture\ndef child():\n    return 0\n\n\ndef test_other_child(child):\n    assert child == 0\n"
    pytester.makepyfile(test_inner=INNER, test_same_name=same_name)
    result = pytester.runpytest("-p", "no:randomly", "-p", "no:xdist", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*test_unmarked_subprocess starts a subprocess but is not marked `@pytest.mark.sandbox`*",
            "*test_unmarked_reuses_the_fixture uses the sandbox fixture(s) child but is not marked*",
        ]
    )


def test_every_module_the_slow_list_names_exists() -> None:
    # A misspelt or moved module would silently stay in the fast tier (and slow it down).
    from tests.conftest import SLOW_MODULES

    root = CONFTEST.parent.parent
    assert [m for m in SLOW_MODULES if not (root / m).is_file()] == []
