"""Peak memory of a whole analysis (read, diagnose, report) as a run grows to 10M events.

    python benchmarks/bench_memory.py [--events 2500000,5000000,10000000] [--format json]

Uses the seeded scalar files of bench_reader.py (20 tags, simple_value, cached under
benchmarks/_data/), runs ``dlreport analyze FILE -f json`` in a fresh child process per size
and prints its peak RSS (``ru_maxrss`` of the child alone, measured from a small launcher so
that the parent's own peak does not leak into it), wall and CPU time, and the growth per
million events. Target (issue): a 10M-event run analysed within 2 GB, growing linearly.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_reader import ensure_dataset  # noqa: E402

LAUNCHER = """
import json, resource, subprocess, sys, time
wall = time.perf_counter()
out = subprocess.run(sys.argv[1:], capture_output=True)
wall = time.perf_counter() - wall
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": out.returncode, "wall_s": wall, "cpu_s": kids.ru_utime + kids.ru_stime,
                  "rss_mb": kids.ru_maxrss / 1024, "stdout_bytes": len(out.stdout),
                  "stderr": out.stderr.decode()[-500:]}))
"""


def measure(path: Path, fmt: str) -> dict[str, float]:
    """Peak RSS and times of one ``dlreport analyze`` of ``path`` (a fresh child)."""
    cmd = [sys.executable, "-m", "analyzer", "analyze", str(path), "-f", fmt, "-o", "-", "-j", "1"]
    out = subprocess.run([sys.executable, "-c", LAUNCHER, *cmd], check=True, capture_output=True)
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="2500000,5000000,10000000")
    parser.add_argument("--format", default="json", choices=["json", "md", "html"])
    parser.add_argument("--json", type=Path, help="write the measurements here")
    args = parser.parse_args()
    rows = []
    print(f"{'events':>11} {'MB on disk':>10} {'peak RSS MB':>12} {'wall s':>7} {'cpu s':>7}")
    for n in (int(x) for x in args.events.split(",")):
        ds = ensure_dataset("simple", n, 1234, lambda msg: print(msg, file=sys.stderr))
        r = measure(Path(ds.path), args.format)
        if r["rc"] != 0:
            print(f"{n:>11} failed: {r['stderr']}")
            continue
        size = ds.size_mb
        rows.append({"events": n, "mb": size, **r})
        print(f"{n:>11,} {size:>10.0f} {r['rss_mb']:>12.0f} {r['wall_s']:>7.1f} {r['cpu_s']:>7.1f}")
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        per_m = (b["rss_mb"] - a["rss_mb"]) / ((b["events"] - a["events"]) / 1e6)
        print(f"\ngrowth: {per_m:.0f} MB per million events")
        big = max(rows, key=lambda r: r["events"])
        verdict = "PASS" if big["rss_mb"] <= 2048 else "FAIL"
        print(f"{verdict}: {big['events']:,} events analysed in {big['rss_mb']:.0f} MB (<= 2048)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
