"""What following the stack's wiring costs a smoke run: the same smoke, with and without discovery.

    python3 bench/discovery_cost.py                  # both sandbox stacks, AWS-like latency, 10 reps
    python3 bench/discovery_cost.py --reps 20 --stack pipeline

Starts the sandbox detached (`--latency aws`, so each AWS call pays a realistic round trip), then
runs `verify smoke` alternately as shipped and with discovery switched off (the process replaces
`verify.stack.wiring.follow_wiring` with the identity before the CLI starts: everything else is the
same code), interleaved so neither always gets the quieter moment. Wall time is process start to
exit; CPU (user + sys) comes from wait4() and is the steadier figure on a shared machine. Also
reports AWS calls (summary.json's `aws_calls`) and the checks each variant ran.

Discovery's calls are partly not extra: what it reads (DescribeTable, GetQueueAttributes...) answers
the checks' own first reads, and the clients it makes are the ones the checks then use. So its
cost is the difference between the two variants, not the time discovery itself takes.
Results: bench/results/discovery-<label>.json and .md.
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

WITHOUT = """
import sys
import verify.stack.wiring as wiring
wiring.follow_wiring = lambda inventory, aws, **kw: inventory
from verify.cli.main import console
sys.argv = ["verify", *sys.argv[1:]]
console()
"""


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def _summary(report_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", choices=("pipeline", "platform", "both"), default="both")
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--label", default=time.strftime("%Y%m%d-%H%M"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="verify-bench-discovery-") as tmp:
        work = Path(tmp)
        outputs = work / "outputs.json"
        up = [PY, "-m", "verify.cli.main", "sandbox", "up", "--stack", args.stack, "--latency", "aws"]
        subprocess.run(
            [*up, "--outputs", str(outputs), "--detach"],
            cwd=work,
            env=_env({}),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        try:
            env_file = work / ".verify-sandbox" / "env"
            sandbox_env = {}
            for line in env_file.read_text(encoding="utf-8").splitlines():
                if line.startswith("export "):
                    key, _, value = line.removeprefix("export ").partition("=")
                    sandbox_env[key] = value.strip("'\"")
            env = _env(sandbox_env)
            for line in env_file.read_text(encoding="utf-8").splitlines():
                if line.startswith("unset "):
                    for key in line.split()[1:]:
                        env.pop(key, None)
            (work / "without.py").write_text(WITHOUT, encoding="utf-8")
            variants = {
                "with discovery": [PY, "-m", "verify.cli.main"],
                "without discovery": [PY, str(work / "without.py")],
            }
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
            seen: dict[str, dict[str, Any]] = {}
            for rep in range(args.reps + 1):  # the first round warms the sandbox and the disk cache
                for name, cmd in variants.items():
                    report = work / f"r-{name.split()[0]}"
                    wall, cpu, code = _timed(
                        [*cmd, "smoke", "--outputs", str(outputs), "--report-dir", str(report)], env, work
                    )
                    if code != 0:
                        raise SystemExit(f"{name}: smoke exited {code}; see {report}")
                    if rep:
                        samples[name].append((wall, cpu))
                    summary = _summary(report)
                    seen[name] = {"counts": summary["counts"], "aws_calls": summary.get("aws_calls", {})}
        finally:
            subprocess.run(
                [PY, "-m", "verify.cli.main", "sandbox", "down"],
                cwd=work,
                env=_env({}),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
    rows = {}
    for name, values in samples.items():
        walls = sorted(v[0] for v in values)
        cpus = sorted(v[1] for v in values)
        rows[name] = {
            "wall_median_s": round(statistics.median(walls), 3),
            "wall_min_s": round(walls[0], 3),
            "wall_max_s": round(walls[-1], 3),
            "cpu_median_s": round(statistics.median(cpus), 3),
            **seen[name],
        }
    base = rows["without discovery"]
    full = rows["with discovery"]
    cost = {
        "wall_s": round(full["wall_median_s"] - base["wall_median_s"], 3),
        "wall_pct": round(100 * (full["wall_median_s"] / base["wall_median_s"] - 1), 1),
        "cpu_s": round(full["cpu_median_s"] - base["cpu_median_s"], 3),
        "cpu_pct": round(100 * (full["cpu_median_s"] / base["cpu_median_s"] - 1), 1),
    }
    result = {
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "stack": args.stack,
        "reps": args.reps,
        "load_before": os.getloadavg()[0],
        "variants": rows,
        "discovery_cost": cost,
    }
    out = BENCH / "results" / f"discovery-{args.label}"
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    lines = [
        f"Smoke on the sandbox ({args.stack}, --latency aws), {args.reps} interleaved runs each",
        "",
        "| variant | wall median (min-max) | CPU median | AWS calls (discovery) | checks run |",
        "|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        calls = row["aws_calls"]
        counts = row["counts"]
        ran = counts.get("passed", 0) + counts.get("failed", 0) + counts.get("error", 0)
        lines.append(
            f"| {name} | {row['wall_median_s']:.2f} s ({row['wall_min_s']:.2f}-{row['wall_max_s']:.2f}) "
            f"| {row['cpu_median_s']:.2f} s | {calls.get('total', '?')} ({calls.get('discovery', 0)}) | {ran} |"
        )
    lines += [
        "",
        f"Discovery's cost: {cost['wall_s']:+.2f} s wall ({cost['wall_pct']:+.1f} %), "
        f"{cost['cpu_s']:+.2f} s CPU ({cost['cpu_pct']:+.1f} %).",
    ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
