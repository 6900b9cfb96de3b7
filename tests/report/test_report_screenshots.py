"""report.html as a browser shows it, and the Allure results as Allure 3 counts them (issue 18).

Two real runs against the sandbox, a healthy one and one with the processor stopped
(`processor_down`): headless Chromium renders each report.html, the test reads the page Chromium
built (`--dump-dom`) and checks its screenshot is a real picture; Allure 3 generates a report from
each run's results and its severity chart must count what the gate counts. Chromium comes from
Debian's `chromium` package and Allure 3 from npm (`allure`); `.ci/run` installs both. Without
either, its tests skip saying which is missing.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import clean_env
from tests.helpers.once import once
from verify.sandbox.manager import spawn_sandbox

pytestmark = [pytest.mark.sandbox, pytest.mark.slow, pytest.mark.xdist_group("report-screenshots")]

WINDOW = (1280, 1600)
# The flow's hops in causal order, as report.html draws them.
HOPS = ["ingest", "raw", "queue", "processor", "processed", "query", "trace", "logs"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
    return found


def allure3() -> str:
    found = shutil.which("allure")
    if found is None:
        pytest.skip("Allure 3 is not installed (npm install -g allure; .ci/run installs it)")
    version = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    if not version.startswith("3."):
        pytest.skip(f"the `allure` on PATH is {version or 'unknown'}, not Allure 3 (npm install -g allure)")
    return found


def run_verify(
    cwd: Path, report_dir: str, stacks: tuple[str, ...], faults: tuple[str, ...], *extra: str
) -> subprocess.CompletedProcess[str]:
    """`verify run` against a sandbox of its own, started with room for a loaded machine (the runs
    are about the reports, not the start-up)."""
    with spawn_sandbox(
        stacks=stacks,
        faults=faults,
        outputs_path=cwd / f"{report_dir}-sandbox" / "flat-outputs.json",
        state_dir=cwd / f"{report_dir}-sandbox" / "state",
        timeout_s=120,
    ) as sandbox:
        command = [sys.executable, "-m", "verify.cli.main", "run", "--outputs", str(sandbox.outputs_path)]
        return subprocess.run(
            [*command, "--report-dir", report_dir, *extra],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=300,
            env=clean_env(sandbox.env),
        )


@pytest.fixture(scope="module")
def browser() -> str:
    """Chromium, asked for before the runs: without it the test skips at once, not after them."""
    return chromium()


@pytest.fixture(scope="module")
def allure() -> str:
    return allure3()


def make_runs(cwd: Path) -> None:
    # Side by side (each has a sandbox of its own): the stopped processor's run spends its time
    # waiting, and its short wait budget says the processed reading never came as well as 90 s would.
    with ThreadPoolExecutor(2) as pool:
        down_run = pool.submit(run_verify, cwd, "down", ("pipeline",), ("processor_down",), "--timeout", "5")
        healthy = run_verify(cwd, "healthy", ("pipeline", "platform"), ())
        down = down_run.result()
    assert healthy.returncode == 0, healthy.stdout[-2000:] + healthy.stderr[-2000:]
    assert down.returncode == 1, down.stdout[-2000:] + down.stderr[-2000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Once per session: the tests only read the two runs' reports (each writes its own screenshot
    # or Allure report beside them), whichever worker they land on.
    return once(tmp_path_factory, "report-screenshots", make_runs)


def render(browser: str, report: Path, shot: Path) -> str:
    """The DOM Chromium built from `report`, and its screenshot written to `shot`."""
    profile = shot.parent / f"{shot.stem}-profile"
    base = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ]
    dom = subprocess.run([*base, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0 and "</html>" in dom.stdout, dom.stderr[-2000:]
    taken = subprocess.run(
        [*base, f"--screenshot={shot}", report.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    return dom.stdout


def png_size_and_colours(path: Path) -> tuple[tuple[int, int], int]:
    """A PNG's width and height, and how many distinct byte values its pixel data holds (a blank or
    failed render is one flat colour)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        if kind == b"IDAT":
            chunks.append(data[offset + 8 : offset + 8 + length])
        offset += 12 + length
    pixels = zlib.decompress(b"".join(chunks))
    return (width, height), len(set(pixels[: 4 * width * 200]))


def hop_states(dom: str) -> dict[str, str]:
    return dict((hop, state) for state, hop in re.findall(r'<g class="hop (\w+)" data-hop="(\w+)">', dom))


def summary_of(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    return data


def test_a_healthy_report_renders_with_its_verdict_gate_line_and_every_hop_seen(
    browser: str, runs: Path
) -> None:
    shot = runs / "healthy.png"
    dom = render(browser, runs / "healthy" / "report.html", shot)
    summary = summary_of(runs / "healthy")
    assert re.search(r'<h1>verify: <span class="pass">PASS</span></h1>', dom)
    assert re.search(
        r'<p class="gateline" id="gate-line">\d+ of \d+ blocking checks passed; \d+ not applicable; 0 failed</p>',
        dom,
    )
    assert 'id="problems"' not in dom and "First to fix" not in dom
    # The flow: every hop seen, in causal order, each with its latency.
    assert list(hop_states(dom)) == HOPS and set(hop_states(dom).values()) == {"seen"}
    assert [h["hop"] for h in summary["flow_timeline"]] == HOPS
    assert all(h["latency_s"] >= 0 for h in summary["flow_timeline"])
    # The passes are folded away: no card is open, each service is one closed line.
    assert "<details open" not in dom and 'open=""' not in dom
    assert dom.count('<details class="group">') >= 10
    size, colours = png_size_and_colours(shot)
    assert size == WINDOW and colours > 20


def test_a_processor_down_report_leads_with_the_failure_and_marks_the_hops(browser: str, runs: Path) -> None:
    shot = runs / "processor_down.png"
    dom = render(browser, runs / "down" / "report.html", shot)
    assert re.search(r'<h1>verify: <span class="fail">FAIL</span></h1>', dom)
    first = dom.index('id="first-to-fix"')
    assert first < dom.index('id="problems"') < dom.index('id="flow"') < dom.index('id="passes"')
    assert "processed reading" in dom[first : dom.index("</p>", first)]
    states = hop_states(dom)
    assert list(states) == HOPS
    # Up to the raw table the reading travels; the processor never writes it; what needs it is unseen.
    assert states["ingest"] == states["raw"] == "seen"
    assert states["processor"] == "failed"
    assert states["processed"] == states["query"] == "unseen"
    # Evidence as tables, raw JSON one click away, cards closed.
    assert '<table class="calls">' in dom and "<summary>raw JSON</summary>" in dom
    assert re.search(r"\d+ attempts, [\d.]+(-[\d.]+)? s apart, last seen: no item", dom)
    assert "<details open" not in dom and 'open=""' not in dom
    size, colours = png_size_and_colours(shot)
    assert size == WINDOW and colours > 20


@pytest.mark.parametrize("run", ["healthy", "down"])
def test_allure_3_counts_severities_as_the_gate_does(allure: str, runs: Path, run: str) -> None:
    out = runs / f"allure-report-{run}"
    generated = subprocess.run(
        [allure, "generate", str(runs / run / "allure-results"), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=runs,
    )
    assert generated.returncode == 0, generated.stdout[-2000:] + generated.stderr[-2000:]
    charts = json.loads((out / "widgets" / "charts.json").read_text(encoding="utf-8"))
    severities = next(c for c in charts["general"].values() if c["type"] == "testResultSeverities")
    rows = {row["id"]: row for row in severities["data"]}
    allure_status = {
        "passed": "passed",
        "failed": "failed",
        "error": "broken",
        "skipped": "skipped",
        "unverified": "unknown",
    }
    checks = summary_of(runs / run)["checks"]
    for severity, level in (("blocking", "blocker"), ("advisory", "minor")):
        mine = [c for c in checks if c["severity"] == severity]
        expected = {allure_status[s]: sum(1 for c in mine if c["status"] == s) for s in allure_status}
        assert {k: rows[level][k] for k in expected} == expected, level
    assert (
        sum(
            rows[level][s]
            for level in ("critical", "normal", "trivial", "unset")
            for s in rows[level]
            if s != "id"
        )
        == 0
    )
    if run == "down":
        # The gate's line counts the same blocking failures Allure files under blocker.
        blocking_failed = sum(1 for c in checks if c["severity"] == "blocking" and c["status"] == "failed")
        assert rows["blocker"]["failed"] == blocking_failed > 0
