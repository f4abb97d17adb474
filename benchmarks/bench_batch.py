"""Batch analysis of many runs: one process against a process pool, and peak memory.

    python benchmarks/bench_batch.py [--runs 500] [--points 2000] [--jobs 1,2]

Generates (seeded, cached under benchmarks/_data/) a tree of ``--runs`` small runs written as
real TFRecord event files (train/loss, eval/loss, lr, grad_norm; a few runs with problems), then
analyses the whole tree in a fresh child process per setting, the way ``dlreport analyze``
does: ``build_analysis(root, executor=...)`` without keeping the runs' frames. Prints wall
time, CPU time (parent and workers), peak RSS of the parent and of the largest worker, and the
speed-up of each setting over one process. Target (issue): >= 1.7x with 2 jobs on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2

from analyzer.reader.framing import frame

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"

CHILD = """
import json, resource, sys, time
from analyzer.engine import executor_for
from analyzer.pipeline import build_analysis
root, jobs = sys.argv[1], int(sys.argv[2])
wall = time.perf_counter()
with executor_for(jobs=jobs) as ex:
    analysis = build_analysis(root, executor=ex, keep_runs=False)
wall = time.perf_counter() - wall
me = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "runs": len(analysis.report.runs),
    "findings": sum(len(r.findings) for r in analysis.report.runs),
    "wall_s": wall,
    "cpu_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
    "parent_rss_mb": me.ru_maxrss / 1024,
    "worker_rss_mb": kids.ru_maxrss / 1024,
}))
"""


def generate(root: Path, runs: int, points: int, seed: int = 0) -> None:
    """``runs`` run folders of ``points`` steps each; every 10th run has a problem."""
    rng = np.random.default_rng(seed)
    for i in range(runs):
        run = root / f"sweep/lr{i % 7}/seed{i}"
        run.mkdir(parents=True, exist_ok=True)
        lr = 10 ** rng.uniform(-4, -1)
        steps = np.arange(points)
        loss = 2.0 * np.exp(-steps / (points / 5)) + 0.1 + 0.05 * rng.standard_normal(points)
        grad = 1.0 + 0.2 * rng.standard_normal(points)
        if i % 10 == 3:  # divergence
            loss[points // 2 :] += np.linspace(0, 5, points - points // 2)
        if i % 10 == 7:  # exploding gradients
            grad[points // 2 :] *= np.logspace(0, 4, points - points // 2)
        records = [event_pb2.Event(wall_time=1e9, file_version="brain.Event:2")]
        for s in range(points):
            values = [
                summary_pb2.Summary.Value(tag="train/loss", simple_value=float(loss[s])),
                summary_pb2.Summary.Value(tag="train/grad_norm", simple_value=float(grad[s])),
                summary_pb2.Summary.Value(tag="train/learning_rate", simple_value=lr),
            ]
            if s % 50 == 49:
                values.append(
                    summary_pb2.Summary.Value(tag="eval/loss", simple_value=float(loss[s]) * 1.1)
                )
            records += [
                event_pb2.Event(
                    wall_time=1e9 + s * 0.1, step=s, summary=summary_pb2.Summary(value=[v])
                )
                for v in values
            ]
        (run / "events.out.tfevents.1.bench").write_bytes(
            b"".join(frame(r.SerializeToString()) for r in records)
        )


def measure(root: Path, jobs: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), str(jobs)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--jobs", default="1,2", help="comma-separated settings to measure")
    parser.add_argument("--json", type=Path, help="write the measurements here")
    args = parser.parse_args()
    root = DATA / f"batch-{args.runs}runs-{args.points}pts"
    if not (root / "done").exists():
        t = time.perf_counter()
        generate(root, args.runs, args.points)
        (root / "done").write_text("")
        print(f"generated {args.runs} runs in {time.perf_counter() - t:.1f} s")
    size = sum(p.stat().st_size for p in root.rglob("*tfevents*")) / 1e6
    print(f"{args.runs} runs, {args.points} steps x 3-4 tags each, {size:.0f} MB\n")
    results = {}
    header = ("jobs", "wall s", "cpu s", "parent MB", "worker MB", "speed-up")
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, (4, 8, 8, 10, 10, 9), strict=True)))
    for jobs in (int(j) for j in args.jobs.split(",")):
        r = measure(root, jobs)
        results[jobs] = r
        base = results[min(results)]["wall_s"]
        print(
            f"{jobs:>4} {r['wall_s']:>8.1f} {r['cpu_s']:>8.1f} {r['parent_rss_mb']:>10.0f} "
            f"{r['worker_rss_mb']:>10.0f} {base / r['wall_s']:>8.2f}x"
        )
    if 1 in results and 2 in results:
        speedup = results[1]["wall_s"] / results[2]["wall_s"]
        verdict = "PASS" if speedup >= 1.7 else "FAIL"
        print(f"\n{verdict}: 2 jobs are {speedup:.2f}x faster than 1 (target >= 1.7x)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
