"""The harness as a user gets it: installed (not editable) into a fresh virtual environment, it finds
its shipped suites, its pytest plugin and its console script, and `verify discover --json` prints the
contract's JSON for every sample outputs file."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.helpers.once import once

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "outputs"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with verify installed from a built wheel; its dependencies come from the environment
    running these tests (a venv or the system's), so the test needs no network (the README's command
    installs them from PyPI). Those directories are added by a .pth path line, after the venv's own
    site-packages, and the .pth files inside them are not run: an editable install of the source
    tree there stays invisible, and `verify` is the wheel's."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site_dir = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    parent = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site_dir) / "_deps_of_the_test_environment.pth").write_text("\n".join(sorted(parent)) + "\n")
    # One wheel for the session: two workers building from the one source tree at once share
    # setuptools' build/ folder there, and one of them got "invalid wheel ... no item named
    # verify_stack-0.1.0.dist-info/WHEEL" (a fresh-clone CI run, three setup errors).
    wheel_dir = once(tmp_path_factory, "wheel", _build_wheel)
    wheel = next(wheel_dir.glob("verify_stack-*.whl"))  # the distribution is verify-stack
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            "--force-reinstall",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return env_dir / "bin"


def _build_wheel(wheel_dir: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheel_dir),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )


def _run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "verify"), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_installed_package_is_not_the_source_tree(installed: Path, tmp_path: Path) -> None:
    probe = subprocess.run(
        [
            str(installed / "python"),
            "-c",
            "import verify, suites; print(verify.__file__); print(suites.__file__)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    for line in probe.stdout.splitlines():
        assert "site-packages" in line and str(ROOT) not in line, line


@pytest.mark.parametrize("sample", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_discover_json_matches_contract(installed: Path, tmp_path: Path, sample: str) -> None:
    proc = _run(installed, tmp_path, "discover", "--json", "--no-follow", "--outputs", str(FIXTURES / sample))
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    expected = json.loads((FIXTURES / "expected" / sample).read_text())
    assert got == expected
    assert set(got) >= {"region", "resources"}
    contract = {"key", "keys", "value", "kind", "name", "role", "found_via"}  # `relations` only when any
    for resource in got["resources"]:
        assert contract <= set(resource) <= contract | {"relations"}, resource


def test_installed_run_finds_shipped_suites(installed: Path, tmp_path: Path) -> None:
    outputs = tmp_path / "cfn-outputs" / "flat-outputs.json"
    outputs.parent.mkdir()
    outputs.write_text(json.dumps({"RawSensorTableName": "raw-sensor-data-dev", "Broken": "N/A"}))
    proc = _run(installed, tmp_path, "run", "-k", "test_outputs")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (tmp_path / "reports" / "summary.json").is_file(), proc.stdout + proc.stderr
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text())
    ids = {c["id"]: c["status"] for c in summary["checks"]}
    assert ids["suites/test_outputs.py::test_output_present[Broken]"] == "failed"
    assert ids["suites/test_outputs.py::test_output_present[RawSensorTableName]"] == "passed"
