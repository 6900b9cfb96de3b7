"""`--workers N` against one process: time to verdict and the verdict itself, on the shipped suites.

    python3 bench/workers.py                        # the pipeline stack, AWS-like latency, 5 reps
    python3 bench/workers.py --reps 10 --workers 2

Starts the sandbox detached (`--latency aws`), then runs a full `verify run` three ways, interleaved
so that none always gets the quieter moment:
- `one process`: `verify run` as shipped;
- `--workers N`: what a user gets -- the shipped suites stay in one process, whose checks already
  run concurrently (worker processes would only add their start-up);
- `--workers N via xdist`: the same with VERIFY_VIA_PYTEST=1, so the checks do go to N pytest-xdist
  workers (what a `--suite` run gets): the flow's steps stay on one worker, each shipped module too.
Each run's exit code and verdict is recorded: every variant must give the one-process verdict every
time (issue 18 saw 4 of 6 healthy `--workers 2` runs exit 3). Wall time is process start to exit;
CPU (user + sys, children included) comes from wait4(). Results: bench/results/workers-<label>.*
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PY = sys.executable


def _env(extra: dict[str, str]) -> dict[str, str]:
    drop = ("PYTHONDONTWRITEBYTECODE", "PYTEST_ADDOPTS", "VERIFY_VIA_PYTEST")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def _sandbox_env(env_file: Path) -> dict[str, str]:
    env = _env({})
    for line in env_file.read_text(encoding="utf-8").splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = value.strip("'\"")
        elif line.startswith("unset "):
            for key in line.split()[1:]:
                env.pop(key, None)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", choices=("pipeline", "platform", "both"), default="pipeline")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--label", default=time.strftime("%Y%m%d-%H%M"))
    args = parser.parse_args()
    cli = [PY, "-m", "verify.cli.main"]
    workers = ["--workers", str(args.workers)]
    samples: dict[str, list[tuple[float, float, int, str]]] = {}
    counts: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="verify-bench-workers-") as tmp:
        work = Path(tmp)
        outputs = work / "outputs.json"
        up = [*cli, "sandbox", "up", "--stack", args.stack, "--latency", "aws", "--outputs", str(outputs)]
        subprocess.run([*up, "--detach"], cwd=work, env=_env({}), check=True, stdout=subprocess.DEVNULL)
        try:
            env = _sandbox_env(work / ".verify-sandbox" / "env")
            variants = {
                "one process": ([], {}),
                f"--workers {args.workers}": (workers, {}),
                f"--workers {args.workers} via xdist": (workers, {"VERIFY_VIA_PYTEST": "1"}),
            }
            samples = {name: [] for name in variants}
            for rep in range(args.reps + 1):  # the first round warms the sandbox and the disk cache
                for name, (extra, extra_env) in variants.items():
                    report = work / f"r{rep}-{len(extra)}-{len(extra_env)}"
                    cmd = [*cli, "run", "--outputs", str(outputs), "--report-dir", str(report), *extra]
                    wall, cpu, code = _timed(cmd, {**env, **extra_env}, work)
                    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
                    if rep:
                        samples[name].append((wall, cpu, code, str(summary["verdict"])))
                    counts[name] = summary["counts"]
        finally:
            subprocess.run(
                [*cli, "sandbox", "down"],
                cwd=work,
                env=_env({}),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
    rows: dict[str, dict[str, Any]] = {}
    for name, values in samples.items():
        walls = sorted(v[0] for v in values)
        cpus = sorted(v[1] for v in values)
        rows[name] = {
            "wall_median_s": round(statistics.median(walls), 3),
            "wall_min_s": round(walls[0], 3),
            "wall_max_s": round(walls[-1], 3),
            "cpu_median_s": round(statistics.median(cpus), 3),
            "exit_codes": [v[2] for v in values],
            "verdicts": [v[3] for v in values],
            "counts": counts[name],
        }
    result = {
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "stack": args.stack,
        "reps": args.reps,
        "load_before": os.getloadavg()[0],
        "variants": rows,
    }
    out = BENCH / "results" / f"workers-{args.label}"
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    lines = [
        f"Full `verify run` on the sandbox ({args.stack}, --latency aws), {args.reps} interleaved runs each",
        "",
        "| variant | wall median (min-max) | CPU median | exit codes | counts (last run) |",
        "|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        shown = ", ".join(f"{k} {v}" for k, v in row["counts"].items() if v)
        lines.append(
            f"| {name} | {row['wall_median_s']:.2f} s ({row['wall_min_s']:.2f}-{row['wall_max_s']:.2f}) "
            f"| {row['cpu_median_s']:.2f} s | {' '.join(map(str, row['exit_codes']))} | {shown} |"
        )
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
