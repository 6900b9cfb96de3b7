"""The sandbox's start-up cost: what every `verify run --sandbox` and every fault-matrix case pays.

    python3 bench/sandbox_start.py                        # both stacks, 5 repetitions each
    python3 bench/sandbox_start.py --stack platform --reps 8
    python3 bench/sandbox_start.py --tree /tmp/before     # another checkout's sandbox (before/after)
    python3 bench/sandbox_start.py --run                  # also `verify run --sandbox` end to end
    python3 bench/sandbox_start.py --switch               # also a running child's fault switch

Each repetition starts the sandbox's child process (`python -m verify.sandbox.serve`) the way
`verify run --sandbox` does, times it to ready (its state file written), stops it with SIGTERM and
takes the CPU it used, its servers (initdb, postgres, redis-server) included, from wait4(). CPU is
the steadier figure on a shared machine: wall time also counts waiting for a core. Trees are
interleaved (this one, then --tree's, then this one...) so neither always gets the quieter moment.
Results: bench/results/<label>.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
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


def _env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")]))
    return env


def start_once(tree: Path, stack: str, work: Path) -> dict[str, float]:
    """One sandbox child: seconds to ready, then CPU seconds (user + sys, servers included) to exit."""
    state_dir = work / "state"
    outputs = work / "outputs.json"
    cmd = [PY, "-m", "verify.sandbox.serve", "--stack", stack, "--outputs", str(outputs)]
    cmd += ["--state-dir", str(state_dir)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=work,
        env=_env(tree),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    state_file = state_dir / "state.json"
    while not state_file.is_file():
        if proc.poll() is not None:
            raise SystemExit(
                f"bench: the sandbox exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        if time.perf_counter() - t0 > 120:
            proc.kill()
            raise SystemExit("bench: the sandbox did not start within 120 s")
        time.sleep(0.01)
    ready = time.perf_counter() - t0
    proc.send_signal(signal.SIGTERM)
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0  # reaped here; Popen must not wait for it again
    return {"ready_s": ready, "cpu_s": usage.ru_utime + usage.ru_stime}


# A fault each stack's switches alternate with none (healthy): one that changes a resource, not a server.
SWITCH_FAULT = {"pipeline": "no_dlq", "platform": "rds_single_az"}
SWITCHES = 4


def _cpu_of(pid: int) -> float:
    """CPU seconds of `pid` (all its threads) and of its children it has reaped."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def switch_once(tree: Path, stack: str, work: Path) -> dict[str, float]:
    """A running child's fault switch (what each fault-matrix case pays): the median of SWITCHES
    switches, seconds until the new state is written and the child's CPU for it."""
    from verify.sandbox.child import switch_faults  # the switch file's protocol is the same in both trees

    state_dir = work / "state"
    cmd = [PY, "-m", "verify.sandbox.serve", "--stack", stack, "--outputs", str(work / "outputs.json")]
    cmd += ["--state-dir", str(state_dir)]
    proc = subprocess.Popen(cmd, cwd=work, env=_env(tree), stdout=subprocess.DEVNULL, start_new_session=True)
    walls, cpus = [], []
    try:
        deadline = time.perf_counter() + 120
        while not (state_dir / "state.json").is_file():
            if proc.poll() is not None or time.perf_counter() > deadline:
                raise SystemExit(f"bench: the sandbox of {tree} did not start")
            time.sleep(0.01)
        for n in range(SWITCHES):
            before, t0 = _cpu_of(proc.pid), time.perf_counter()
            switch_faults(state_dir, [SWITCH_FAULT[stack]] if n % 2 == 0 else [])
            walls.append(time.perf_counter() - t0)
            cpus.append(_cpu_of(proc.pid) - before)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus)}


def run_once(tree: Path, stack: str, work: Path) -> dict[str, float]:
    """`verify run --sandbox`, process start to exit, and its CPU (the sandbox child's included)."""
    cmd = [PY, "-m", "verify.cli.main", "run", "--sandbox", f"--sandbox-stack={stack}", "--timeout=4"]
    cmd += [f"--report-dir={work / 'reports'}"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=work, env=_env(tree), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"bench: verify run --sandbox on {stack} exited {proc.returncode} with tree {tree}")
    return {"wall_s": time.perf_counter() - t0, "cpu_s": usage.ru_utime + usage.ru_stime}


def stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"n": len(ordered), "median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", action="append", choices=("pipeline", "platform"))
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--tree", type=Path, help="also time this checkout's sandbox (before/after)")
    parser.add_argument("--run", action="store_true", help="also time `verify run --sandbox`")
    parser.add_argument("--switch", action="store_true", help="also time a running child's fault switch")
    parser.add_argument("--label", default="sandbox-start")
    args = parser.parse_args(argv)
    stacks = args.stack or ["pipeline", "platform"]
    trees = {"this": REPO, **({"tree": args.tree.resolve()} if args.tree else {})}
    kinds = {
        "start": start_once,
        **({"run": run_once} if args.run else {}),
        **({"switch": switch_once} if args.switch else {}),
    }
    samples: dict[str, dict[str, list[float]]] = {}
    for _ in range(args.reps):
        for stack in stacks:
            for kind, once in kinds.items():
                for name, tree in trees.items():
                    work = Path(tempfile.mkdtemp(prefix="verify-bench-start-"))
                    try:
                        sample = once(tree, stack, work)
                    finally:
                        shutil.rmtree(work, ignore_errors=True)
                    for metric, value in sample.items():
                        samples.setdefault(f"{kind} {stack} {name}", {}).setdefault(metric, []).append(value)
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "trees": {k: str(v) for k, v in trees.items()},
        "reps": args.reps,
        "machine": {"cpus": os.cpu_count(), "load": os.getloadavg()[0]},
        "samples": samples,
        "stats": {row: {m: stats(v) for m, v in metrics.items()} for row, metrics in samples.items()},
    }
    lines = [
        f"{results['when']}, {args.reps} repetitions, trees {results['trees']}, "
        f"load average at the end {results['machine']['load']:.1f}",
        "",
        "| what | stack | tree | wall / to ready | CPU |",
        "|---|---|---|---|---|",
    ]
    for row, metric in results["stats"].items():
        kind, stack, name = row.split()
        wall = metric.get("ready_s") or metric["wall_s"]
        cpu = metric["cpu_s"]
        lines.append(
            f"| {kind} | {stack} | {name} | {wall['median']:.2f} s [{wall['min']:.2f}-{wall['max']:.2f}] "
            f"| {cpu['median']:.2f} s [{cpu['min']:.2f}-{cpu['max']:.2f}] |"
        )
    out = BENCH / "results" / args.label
    out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
