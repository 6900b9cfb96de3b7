"""verify's benchmarks, in one command: the sandbox with AWS's delays, several repetitions, medians and spreads.

    python3 bench/run.py                       # everything, 5 repetitions (growth: 3); ~6 min
    python3 bench/run.py --only smoke,full --reps 3
    python3 bench/run.py --harness /tmp/old    # time another checkout's verify (before/after)

What it measures (bench/README.md says why and what the targets are):
  full    `verify run` against the 1 s and the 5 s sleep-polling hand-written suites
          (bench/baseline/), process start to exit; checks run; the last signal -> verdict time
  lag     per eventually-consistent signal of the full runs: when the sandbox made it visible
          (its --visibility-log) to when the harness saw it (the flow evidence's `seen_at`), and
          the calls the wait made
  smoke   `verify smoke` against the floor (bench/floor.py replaying the same read calls)
  growth  smoke and full runs on stacks grown to 20, 100 and 200 resources: time, peak RSS,
          AWS API calls per resource

Every measured process is a child of this one: wall time is taken around it, peak RSS from
wait4(). The sandbox runs detached in its own process, like a real stack would, and is started
and stopped here. Results: a JSON file and a Markdown table under bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PY = sys.executable
SIGNALS = ("raw", "processed", "query", "trace", "log:ingest", "log:processor")
# Which flow check's evidence holds each signal's wait.
_SIGNAL_CHECK = {
    "raw": "test_raw_item_written",
    "processed": "test_processor_ran",
    "query": "test_query_returns_reading",
    "trace": "test_trace_spans_hops",
    "log:ingest": "test_logs_carry_marker",
    "log:processor": "test_logs_carry_marker",
}


@dataclass
class Proc:
    """One measured child process."""

    wall_s: float
    rss_mb: float
    rc: int
    started: float  # epoch
    ended: float  # epoch: when its exit was seen (the verdict's moment)
    out: str = field(repr=False, default="")


def measure(cmd: list[str], cwd: Path, env: dict[str, str]) -> Proc:
    started = time.time()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    out = proc.stdout.read()  # until the child closes it (it exits)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait for it again
    return Proc(
        wall_s=wall,
        rss_mb=usage.ru_maxrss / 1024,
        rc=proc.returncode,
        started=started,
        ended=time.time(),
        out=out.decode(errors="replace"),
    )


def stats(values: list[float]) -> dict[str, float]:
    """Median and spread: min, max, the interquartile range and p95 (when there are enough values)."""
    if not values:
        return {}
    ordered = sorted(values)
    result = {"n": len(ordered), "median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1]}
    if len(ordered) >= 4:
        q = statistics.quantiles(ordered, n=20, method="inclusive")
        result["p95"] = q[18]
        quart = statistics.quantiles(ordered, n=4, method="inclusive")
        result["iqr"] = quart[2] - quart[0]
    return result


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="verify-bench-"))
        env = dict(os.environ)
        # An installed verify has compiled bytecode (pip compiles on install); a checkout run with
        # PYTHONDONTWRITEBYTECODE recompiles every module on every start, which no user pays.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("PYTEST_ADDOPTS", None)
        if args.harness:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(args.harness), env.get("PYTHONPATH")]))
        self.base_env = env
        self.results: dict[str, Any] = {
            "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "harness": str(args.harness or REPO),
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            "reps": args.reps,
        }

    # ---------------------------------------------------------------- the sandbox

    @contextmanager
    def sandbox(self, name: str, grow: int | None = None) -> Iterator[tuple[dict[str, str], Path, Path]]:
        """A detached pipeline sandbox with AWS's delays; yields (env, outputs, visibility log)."""
        where = self.work / name
        where.mkdir()
        outputs = where / "cfn-outputs" / "flat-outputs.json"
        visibility = where / "visibility.jsonl"
        cmd = [
            PY, "-m", "verify.cli", "sandbox", "up", "--stack", "pipeline", "--latency", "aws", "--detach",
            "--outputs", str(outputs), "--visibility-log", str(visibility),
        ]  # fmt: skip
        if grow:
            cmd += ["--grow", str(grow)]
        # The sandbox always runs from this checkout: --harness only swaps the verify being timed.
        sandbox_env = {k: v for k, v in self.base_env.items() if k != "PYTHONPATH"}
        up = subprocess.run(cmd, cwd=where, env=sandbox_env, capture_output=True, text=True, timeout=180)
        if up.returncode != 0:
            raise SystemExit(f"bench: the sandbox did not start:\n{up.stdout}\n{up.stderr}")
        env = dict(self.base_env)
        for line in (where / ".verify-sandbox" / "env").read_text().splitlines():
            if line.startswith("export "):
                key, _, value = line.removeprefix("export ").partition("=")
                env[key] = shlex.split(value)[0] if value else ""
            elif line.startswith("unset "):
                for key in line.split()[1:]:
                    env.pop(key, None)
        try:
            yield env, outputs, visibility
        finally:
            subprocess.run(
                [PY, "-m", "verify.cli", "sandbox", "down"],
                cwd=where,
                env=sandbox_env,
                capture_output=True,
            )

    # ---------------------------------------------------------------- the commands

    def verify(
        self, command: str, env: dict[str, str], outputs: Path, tag: str
    ) -> tuple[Proc, dict[str, Any]]:
        reports = self.work / "reports" / tag
        run_id = f"bench-{tag}-{uuid.uuid4().hex[:6]}"
        cmd = [PY, "-m", "verify.cli", command, "--outputs", str(outputs), "--report-dir", str(reports)]
        if command == "run":
            cmd += ["--run-id", run_id]
        proc = measure(cmd, self.work, env)
        summary_path = reports / "summary.json"
        if not summary_path.is_file():
            raise SystemExit(
                f"bench: `verify {command}` wrote no summary (exit {proc.rc}):\n{proc.out[-3000:]}"
            )
        summary: dict[str, Any] = json.loads(summary_path.read_text())
        if summary["verdict"] != "pass":
            bad = [c["id"] for c in summary["checks"] if c["status"] in ("failed", "error")]
            raise SystemExit(f"bench: `verify {command}` did not pass on the healthy sandbox: {bad}")
        summary["_path"] = str(summary_path)
        return proc, summary

    def handwritten(self, env: dict[str, str], outputs: Path, poll_s: float) -> Proc:
        cmd = [
            PY, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-o", "addopts=", "-q",
            str(BENCH / "baseline" / "test_handwritten.py"),
        ]  # fmt: skip
        run_env = {**env, "BENCH_OUTPUTS": str(outputs), "BENCH_POLL_S": str(poll_s)}
        run_env.pop("PYTHONPATH", None)  # it is the baseline: no verify in it
        proc = measure(cmd, REPO, run_env)
        if proc.rc != 0:
            raise SystemExit(
                f"bench: the hand-written suite failed on the healthy sandbox:\n{proc.out[-3000:]}"
            )
        return proc

    def floor(self, env: dict[str, str], calls: Path) -> Proc:
        run_env = {k: v for k, v in env.items() if k != "PYTHONPATH"}
        proc = measure([PY, str(BENCH / "floor.py"), str(calls)], self.work, run_env)
        if proc.rc != 0:
            raise SystemExit(f"bench: the floor failed (so it is no floor):\n{proc.out[-3000:]}")
        return proc

    # ---------------------------------------------------------------- the benchmarks

    def full_and_lag(self) -> None:
        reps = self.args.reps
        rows: dict[str, list[Proc]] = {"verify": [], "poll_1s": [], "poll_5s": []}
        last_to_verdict: dict[str, list[float]] = {"verify": [], "poll_1s": [], "poll_5s": []}
        checks_run: list[int] = []
        lags: dict[str, list[float]] = {s: [] for s in SIGNALS}
        calls: dict[str, list[float]] = {s: [] for s in SIGNALS}
        rates: dict[str, list[float]] = {s: [] for s in SIGNALS}
        with self.sandbox("full") as (env, outputs, visibility):
            self.verify("run", env, outputs, "warm-full")
            self.handwritten(env, outputs, 1)
            for i in range(reps):
                order = ["verify", "poll_1s", "poll_5s"]
                order = order[i % 3 :] + order[: i % 3]  # no contender always runs on a warmer sandbox
                for who in order:
                    if who == "verify":
                        proc, summary = self.verify("run", env, outputs, f"full-{i}")
                        checks_run.append(sum(summary["counts"][k] for k in ("passed", "failed", "error")))
                        seen = _visible(visibility, summary["run_id"])
                        self._lags(summary, seen, lags, calls, rates)
                    else:
                        proc = self.handwritten(env, outputs, 1 if who == "poll_1s" else 5)
                        seen = _visible_between(visibility, proc.started, proc.ended, prefix="bench-")
                    rows[who].append(proc)
                    if seen:
                        last_to_verdict[who].append(proc.ended - max(seen.values()))
                    print(f"  full {i + 1}/{reps} {who}: {proc.wall_s:.2f} s", file=sys.stderr, flush=True)
        baseline_tests = _passed_count(rows["poll_1s"][0].out) if rows["poll_1s"] else 0
        self.results["full"] = {
            who: {
                "wall_s": stats([p.wall_s for p in procs]),
                "rss_mb": stats([p.rss_mb for p in procs]),
                "last_signal_to_verdict_s": stats(last_to_verdict[who]),
            }
            for who, procs in rows.items()
        }
        self.results["full"]["verify"]["checks_run"] = stats([float(n) for n in checks_run])
        self.results["full"]["baseline_tests"] = baseline_tests
        self.results["lag"] = {
            s: {"lag_s": stats(lags[s]), "calls": stats(calls[s]), "calls_per_s_waiting": stats(rates[s])}
            for s in SIGNALS
        }

    @staticmethod
    def _lags(
        summary: dict[str, Any],
        seen: dict[str, float],
        lags: dict[str, list[float]],
        calls: dict[str, list[float]],
        rates: dict[str, list[float]],
    ) -> None:
        checks = {c["id"].split("::", 1)[1]: c for c in summary["checks"]}
        for signal in SIGNALS:
            evidence = checks.get(_SIGNAL_CHECK[signal], {}).get("evidence", {})
            wait = (
                evidence.get(signal.split(":")[1], {}).get("wait") if ":" in signal else evidence.get("wait")
            )
            visible = seen.get(signal)
            if not wait or visible is None:
                continue
            lags[signal].append(wait["seen_at"] - visible)
            calls[signal].append(float(wait["attempts"]))
            if wait["waited_s"] > 0.05:
                # The first call is no waiting; the rest are what the wait cost per second of it.
                rates[signal].append((wait["attempts"] - 1) / wait["waited_s"])

    def smoke(self) -> None:
        reps = self.args.reps
        rows: dict[str, list[Proc]] = {"verify_smoke": [], "floor": []}
        with self.sandbox("smoke") as (env, outputs, _):
            _, summary = self.verify("smoke", env, outputs, "warm-smoke")
            calls = self.work / "calls.json"
            made = subprocess.run(
                [PY, str(BENCH / "calls.py"), summary["_path"], "-o", str(calls)],
                capture_output=True,
                text=True,
            )
            if made.returncode != 0:
                raise SystemExit(f"bench: could not take the smoke run's calls:\n{made.stderr}")
            self.floor(env, calls)
            for i in range(reps):
                for who in ["verify_smoke", "floor"] if i % 2 == 0 else ["floor", "verify_smoke"]:
                    proc = (
                        self.verify("smoke", env, outputs, f"smoke-{i}")[0]
                        if who != "floor"
                        else self.floor(env, calls)
                    )
                    rows[who].append(proc)
                    print(f"  smoke {i + 1}/{reps} {who}: {proc.wall_s:.2f} s", file=sys.stderr, flush=True)
        self.results["smoke"] = {
            who: {"wall_s": stats([p.wall_s for p in procs]), "rss_mb": stats([p.rss_mb for p in procs])}
            for who, procs in rows.items()
        }
        self.results["smoke"]["calls_replayed"] = len(json.loads(calls.read_text()))

    def growth(self) -> None:
        reps = self.args.growth_reps
        out: dict[str, Any] = {}
        for size in self.args.sizes:
            row: dict[str, Any] = {}
            with self.sandbox(f"grow-{size}", grow=size) as (env, outputs, _):
                self.verify("smoke", env, outputs, f"warm-grow-{size}")
                for command in ("smoke", "run"):
                    procs, summaries = [], []
                    for i in range(reps):
                        proc, summary = self.verify(command, env, outputs, f"grow-{size}-{command}-{i}")
                        procs.append(proc)
                        summaries.append(summary)
                        print(
                            f"  growth {size} {command} {i + 1}/{reps}: {proc.wall_s:.2f} s",
                            file=sys.stderr,
                            flush=True,
                        )
                    total_calls = [float(s.get("aws_calls", {}).get("total", 0)) for s in summaries]
                    row[command] = {
                        "wall_s": stats([p.wall_s for p in procs]),
                        "rss_mb": stats([p.rss_mb for p in procs]),
                        "checks_run": sum(summaries[0]["counts"][k] for k in ("passed", "failed", "error")),
                        "aws_calls": stats(total_calls),
                        "aws_calls_per_resource": statistics.median(total_calls) / size,
                    }
            out[str(size)] = row
        self.results["growth"] = out


def _records(visibility: Path) -> list[dict[str, Any]]:
    if not visibility.is_file():
        return []
    return [json.loads(line) for line in visibility.read_text().splitlines() if line.strip()]


def _signal_name(record: dict[str, Any]) -> str:
    if record["signal"] != "log":
        return str(record["signal"])
    group = str(record.get("group", ""))
    return "log:processor" if "process" in group else "log:ingest"


def _visible(visibility: Path, marker: str) -> dict[str, float]:
    """signal -> when the sandbox made it visible, for one reading (the first time each)."""
    seen: dict[str, float] = {}
    for record in _records(visibility):
        if record.get("marker") == marker:
            seen.setdefault(_signal_name(record), float(record["t"]))
    return seen


def _visible_between(visibility: Path, start: float, end: float, prefix: str) -> dict[str, float]:
    seen: dict[str, float] = {}
    for record in _records(visibility):
        if str(record.get("marker", "")).startswith(prefix) and start <= float(record["t"]) <= end:
            seen.setdefault(_signal_name(record), float(record["t"]))
    return seen


def _passed_count(out: str) -> int:
    for line in reversed(out.splitlines()):
        if " passed" in line:
            return int(line.split(" passed")[0].split()[-1])
    return 0


def markdown(results: dict[str, Any]) -> str:
    """The recorded results as tables (median [min-max])."""

    def cell(s: dict[str, float], unit: str = " s", digits: int = 2) -> str:
        if not s:
            return "n/a"
        spread = f" [{s['min']:.{digits}f}-{s['max']:.{digits}f}]"
        p95 = f", p95 {s['p95']:.{digits}f}" if "p95" in s else ""
        return f"{s['median']:.{digits}f}{unit}{spread}{p95}"

    lines = [f"Run {results['when']} on {results['machine']['cpus']} CPUs, harness {results['harness']}, "
             f"{results['reps']} repetitions; median [min-max]."]  # fmt: skip
    if "full" in results:
        full = results["full"]
        lines += ["", "### Full run, process start to exit", "",
                  "| contender | checks | wall time | last signal -> verdict | peak RSS |", "|---|---|---|---|---|"]  # fmt: skip
        for who, label in (("verify", "verify run"), ("poll_1s", "hand-written, 1 s polling"), ("poll_5s", "hand-written, 5 s polling")):  # fmt: skip
            row = full[who]
            checks = (
                f"{full['verify']['checks_run']['median']:.0f}"
                if who == "verify"
                else str(full["baseline_tests"])
            )
            lines.append(f"| {label} | {checks} | {cell(row['wall_s'])} | {cell(row['last_signal_to_verdict_s'])} | {cell(row['rss_mb'], ' MB', 0)} |")  # fmt: skip
    if "lag" in results:
        lines += ["", "### Detection lag (visible in the sandbox -> seen by verify)", "",
                  "| signal | lag | calls per wait | calls per second of waiting |", "|---|---|---|---|"]  # fmt: skip
        for signal, row in results["lag"].items():
            lines.append(f"| {signal} | {cell(row['lag_s'])} | {cell(row['calls'], '', 0)} | {cell(row['calls_per_s_waiting'], '', 1)} |")  # fmt: skip
    if "smoke" in results:
        smoke = results["smoke"]
        ratio = smoke["verify_smoke"]["wall_s"]["median"] / smoke["floor"]["wall_s"]["median"]
        lines += ["", f"### Smoke vs the floor ({smoke['calls_replayed']} read calls): ratio {ratio:.2f}", "",
                  "| contender | wall time | peak RSS |", "|---|---|---|"]  # fmt: skip
        for who in ("verify_smoke", "floor"):
            lines.append(f"| {who} | {cell(smoke[who]['wall_s'])} | {cell(smoke[who]['rss_mb'], ' MB', 0)} |")
    if "growth" in results:
        lines += ["", "### Growth", "",
                  "| resources | command | checks | wall time | peak RSS | AWS calls | calls/resource |", "|---|---|---|---|---|---|---|"]  # fmt: skip
        for size, row in results["growth"].items():
            for command in ("smoke", "run"):
                r = row[command]
                counted = r["aws_calls"].get("median", 0) > 0  # a harness before summary.json's aws_calls: 0
                calls = cell(r["aws_calls"], "", 0) if counted else "not reported"
                per = f"{r['aws_calls_per_resource']:.1f}" if counted else "n/a"
                lines.append(f"| {size} | {command} | {r['checks_run']} | {cell(r['wall_s'])} | {cell(r['rss_mb'], ' MB', 0)} | {calls} | {per} |")  # fmt: skip
        sizes = list(results["growth"])
        if len(sizes) >= 2:
            first, last = results["growth"][sizes[0]], results["growth"][sizes[-1]]
            for command in ("smoke", "run"):
                ratio = last[command]["wall_s"]["median"] / first[command]["wall_s"]["median"]
                lines.append(f"\n{command}: {sizes[-1]} vs {sizes[0]} resources costs {ratio:.2f}x the time")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--growth-reps", type=int, default=3)
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[20, 100, 200])
    parser.add_argument("--only", default="full,smoke,growth", help="any of full (with lag), smoke, growth")
    parser.add_argument("--harness", type=Path, help="time the verify of this source tree (before/after)")
    parser.add_argument("--label", default="latest")
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    args = parser.parse_args(argv)
    wanted = set(args.only.split(","))
    if wanted - {"full", "lag", "smoke", "growth"}:
        parser.error(f"--only: unknown {sorted(wanted - {'full', 'lag', 'smoke', 'growth'})}")
    bench = Bench(args)
    try:
        if wanted & {"full", "lag"}:
            bench.full_and_lag()
        if "smoke" in wanted:
            bench.smoke()
        if "growth" in wanted:
            bench.growth()
    finally:
        shutil.rmtree(bench.work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.label}.json").write_text(json.dumps(bench.results, indent=2, default=str) + "\n")
    table = markdown(bench.results)
    (args.out / f"{args.label}.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
