#!/usr/bin/env python
"""Whole commands, as a user runs them: CPU, wall time and peak RSS, with tbparse alongside.

    python benchmarks/bench_cli.py                       # the issue's sizes (about 10 minutes)
    python benchmarks/bench_cli.py --quick               # 200k events, no 10M, 40-run batch
    python benchmarks/bench_cli.py --json benchmarks/results/bench_cli.json

Every command runs as a separate process (the ``dlreport`` entry point of this venv), started
from a small launcher that reports ``resource.getrusage(RUSAGE_CHILDREN)`` of that one command:
user+sys CPU of it and of any pool workers it started, and the largest peak RSS among them.
Each command runs ``--repeat`` times; CPU and wall are the best of those runs (the machine is
shared, so the least disturbed run is the most faithful), peak RSS the largest. tbparse reads
the same file in the same run (``SummaryReader(dir, pivot=False, extra_columns={'wall_time'})
.scalars``, a whole process: import and read, as the dlreport figures include theirs).

The event files are the seeded ``simple`` files of ``bench_reader.py`` (20 scalar tags, one
event per point, as torch's ``SummaryWriter`` writes them), cached under ``benchmarks/_data/``.
The many-run tree is ``bench_batch.py``'s. Progress goes to stderr, the tables and every
target with its measured figure to stdout; ``--json`` keeps everything, for
``benchmarks/perf_table.py`` to write the README's table from. Never a timed test assertion.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from child_rusage import dlreport, launch  # noqa: E402  (after the path)

TBPARSE = (
    "import sys; from tbparse import SummaryReader; "
    "print(len(SummaryReader(sys.argv[1], pivot=False, extra_columns={'wall_time'}).scalars))"
)

SAMPLES = REPO / "sample_logs"
SMALL_RUN = SAMPLES / "healthy"
# As in bench_batch.py: with no pool worth starting, both commands run the same code in one
# process, and their best of 3 still differ by a few ms.
SAME_WITHIN = 0.03


@dataclass
class Row:
    """One command, measured ``runs`` times."""

    name: str  # e.g. "analyze -f json"
    events: int | None  # events in the file, None for commands without one
    cpu_s: float  # best of the runs
    wall_s: float  # best of the runs
    rss_mb: float  # largest of the runs
    runs: int
    argv: list[str]


def _fresh(argv: list[str], run: int) -> tuple[list[str], list[Path]]:
    """``argv`` writing to new files: each run writes its own output (under the benchmark's
    temporary folder), removed after it was measured. Writing over the previous run's file
    made the kernel free that file's pages inside the measured command (0.15 CPU-s for a
    60 MB CSV), which a user exporting once does not pay."""
    out, made = [], []
    for arg in argv:
        path = Path(arg)
        if path.parent.name.startswith("bench_cli_") and path.suffix:
            path = path.with_name(f"{path.stem}-{run}{path.suffix}")
            made.append(path)
            arg = str(path)
        out.append(arg)
    return out, made


def measure(name: str, argv: list[str], events: int | None, repeat: int) -> Row:
    results = []
    for i in range(repeat):
        fresh, made = _fresh(argv, i)
        results.append(launch(fresh))
        for path in made:
            path.unlink(missing_ok=True)
        if results[-1]["cpu_s"] > 60:  # one run of a slow contender is enough
            break
    row = Row(
        name=name,
        events=events,
        cpu_s=min(r["cpu_s"] for r in results),
        wall_s=min(r["wall_s"] for r in results),
        rss_mb=max(r["rss_mb"] for r in results),
        runs=len(results),
        argv=argv,
    )
    size = f" {events:,} events" if events else ""
    print(
        f"  {name}{size}: {row.cpu_s:.2f} CPU-s, {row.wall_s:.2f} s, {row.rss_mb:.0f} MB "
        f"(best of {row.runs})",
        file=sys.stderr,
    )
    return row


@dataclass
class Target:
    what: str
    goal: str
    measured: str
    ok: bool


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,4000000", help="events of the main files")
    parser.add_argument("--big", default="10000000", help="events of the memory-only file")
    parser.add_argument("--tbparse", type=int, default=1_000_000, help="events tbparse reads")
    parser.add_argument("--batch-runs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="200k events, no --big, 40 runs")
    parser.add_argument("--json", type=Path, help="write every measurement here")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.big, args.tbparse, args.batch_runs = "200000", "", 200_000, 40

    from bench_batch import generate
    from bench_reader import ensure_dataset

    def log(msg: str) -> None:
        print(msg, file=sys.stderr)

    sizes = [int(x) for x in args.sizes.split(",") if x]
    big = [int(x) for x in args.big.split(",") if x]
    files = {n: ensure_dataset("simple", n, 1234, log).logdir for n in sorted({*sizes, *big})}
    batch = HERE / "_data" / f"batch-{args.batch_runs}runs-2000pts"
    if not (batch / "done").exists():
        generate(batch, args.batch_runs, 2000)
        (batch / "done").write_text("")
    cmd = dlreport()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench_cli_") as tmp:
        out = Path(tmp)

        def run(name: str, extra: list[str], events: int | None = None, repeat: int = 0) -> Row:
            row = measure(name, [*cmd, *extra], events, repeat or args.repeat)
            rows.append(row)
            return row

        log("start-up and small runs")
        run("--help", ["--help"], repeat=max(5, args.repeat))
        run("analyze one small run (html)", ["analyze", str(SMALL_RUN), "-o", f"{out}/s.html"])
        log("jobs")
        # Interleaved, so both settings see the same load; at least 5 rounds: on 11 small runs
        # both commands run the same code in one process, and with 3 rounds the best of each
        # still differed by 20 ms (4%) either way.
        for _ in range(max(5, args.repeat)):
            for label, jobs in (("-j 1", ["-j", "1"]), ("default -j", [])):
                rows.append(
                    measure(
                        f"analyze sample_logs (11 runs) {label}",
                        [*cmd, "analyze", str(SAMPLES), "-f", "json", "-o", "-", *jobs],
                        None,
                        1,
                    )
                )
            for label, jobs in (("-j 1", ["-j", "1"]), ("-j 2", ["-j", "2"])):
                rows.append(
                    measure(
                        f"analyze {args.batch_runs} runs {label}",
                        [*cmd, "analyze", str(batch), "-f", "json", "-o", "-", *jobs],
                        None,
                        1,
                    )
                )
        for n in sizes:
            log(f"{n:,} events")
            f = files[n]
            run("analyze -f json", ["analyze", f, "-f", "json", "-o", f"{out}/r.json"], n)
            run("analyze -f html", ["analyze", f, "-f", "html", "-o", f"{out}/r.html"], n)
            run("export -o x.csv", ["export", f, "-o", f"{out}/x.csv"], n)
            run("export -o x.parquet", ["export", f, "-o", f"{out}/x.parquet"], n)
            run("tags", ["tags", f], n)
        for n in big:
            log(f"{n:,} events (memory)")
            f = files[n]
            run("export -o x.csv", ["export", f, "-o", f"{out}/x.csv"], n, repeat=1)
            run("export -o x.parquet", ["export", f, "-o", f"{out}/x.parquet"], n, repeat=1)
            run("tags", ["tags", f], n, repeat=1)
            run("analyze -f json", ["analyze", f, "-f", "json", "-o", f"{out}/r.json"], n, 1)
        log(f"tbparse, {args.tbparse:,} events")
        rows.append(
            measure(
                "tbparse read (whole process)",
                [sys.executable, "-c", TBPARSE, files[args.tbparse]],
                args.tbparse,
                args.repeat,
            )
        )
    rows = _merge_interleaved(rows)
    targets = judge(rows, sizes, big, args)
    print(format_rows(rows, args.tbparse))
    print()
    print(format_targets(targets))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "repeat": args.repeat,
                    "rows": [asdict(r) for r in rows],
                    "targets": [asdict(t) for t in targets],
                    "tbparse_events": args.tbparse,
                },
                indent=1,
            )
            + "\n"
        )
    return 0


def _merge_interleaved(rows: list[Row]) -> list[Row]:
    """Rows measured one at a time under one name become one row (best of them)."""
    merged: dict[tuple[str, int | None], Row] = {}
    for r in rows:
        key = (r.name, r.events)
        if key in merged:
            m = merged[key]
            m.cpu_s, m.wall_s = min(m.cpu_s, r.cpu_s), min(m.wall_s, r.wall_s)
            m.rss_mb, m.runs = max(m.rss_mb, r.rss_mb), m.runs + r.runs
        else:
            merged[key] = Row(**asdict(r))
    return list(merged.values())


def find(rows: list[Row], name: str, events: int | None = None) -> Row | None:
    return next((r for r in rows if r.name == name and r.events == events), None)


def judge(rows: list[Row], sizes: list[int], big: list[int], args: Any) -> list[Target]:
    targets: list[Target] = []

    def add(what: str, goal: str, measured: str, ok: bool) -> None:
        targets.append(Target(what, goal, measured, ok))

    def at_most(what: str, row: Row | None, field: str, limit: float, unit: str) -> None:
        if row is None:
            return
        value = getattr(row, field)
        add(what, f"<= {limit:g} {unit}", f"{value:.2f} {unit}", value <= limit)

    at_most("dlreport --help, wall", find(rows, "--help"), "wall_s", 0.15, "s")
    at_most(
        "dlreport analyze of one small run, wall",
        find(rows, "analyze one small run (html)"),
        "wall_s",
        0.6,
        "s",
    )
    one, default = (
        find(rows, f"analyze sample_logs (11 runs) {j}") for j in ("-j 1", "default -j")
    )
    if one and default:
        add(
            "default -j against -j 1 (sample_logs, 11 runs), wall",
            f"default <= -j 1 (+{SAME_WITHIN:.0%})",
            f"{default.wall_s:.2f} s against {one.wall_s:.2f} s",
            default.wall_s <= one.wall_s * (1 + SAME_WITHIN),
        )
    one, two = (find(rows, f"analyze {args.batch_runs} runs {j}") for j in ("-j 1", "-j 2"))
    if one and two:
        speedup = one.wall_s / two.wall_s
        add(
            f"{args.batch_runs} runs, 2 jobs against 1, whole command (start-up included), wall",
            ">= 1.8x",
            f"{speedup:.2f}x ({one.wall_s:.1f} s / {two.wall_s:.1f} s)",
            speedup >= 1.8,
        )
    tb = find(rows, "tbparse read (whole process)", args.tbparse)
    mine = find(rows, "analyze -f json", args.tbparse)
    if tb and mine:
        ratio = tb.cpu_s / mine.cpu_s
        add(
            f"analyze of {args.tbparse:,} events against tbparse's read, CPU",
            ">= 20x less",
            f"{ratio:.1f}x ({tb.cpu_s:.1f} / {mine.cpu_s:.2f} CPU-s)",
            ratio >= 20,
        )
    n4 = 4_000_000 if 4_000_000 in sizes else max(sizes)
    at_most(f"analyze of {n4:,} events, CPU", find(rows, "analyze -f json", n4), "cpu_s",
            2.5, "CPU-s")  # fmt: skip
    at_most(f"analyze of {n4:,} events, peak RSS", find(rows, "analyze -f json", n4), "rss_mb",
            600, "MB")  # fmt: skip
    for fmt in ("csv", "parquet"):
        at_most(f"export of {n4:,} events to {fmt}, peak RSS",
                find(rows, f"export -o x.{fmt}", n4), "rss_mb", 400, "MB")  # fmt: skip
        for n in big:
            at_most(f"export of {n:,} events to {fmt}, peak RSS",
                    find(rows, f"export -o x.{fmt}", n), "rss_mb", 600, "MB")  # fmt: skip
    n1 = 1_000_000 if 1_000_000 in sizes else min(sizes)
    at_most(f"export of {n1:,} events to csv, CPU", find(rows, "export -o x.csv", n1), "cpu_s",
            1.0, "CPU-s")  # fmt: skip
    at_most(f"export of {n1:,} events to parquet, CPU", find(rows, "export -o x.parquet", n1),
            "cpu_s", 0.8, "CPU-s")  # fmt: skip
    for n in big or [max(sizes)]:
        at_most(f"tags of {n:,} events, peak RSS", find(rows, "tags", n), "rss_mb", 300, "MB")
    best = find(rows, "analyze -f json", n4)
    if best:
        rate = n4 / best.cpu_s / 1e6
        add(
            f"stretch: analyze of {n4:,} events, events per CPU-second",
            ">= 2.0 M/s per core",
            f"{rate:.2f} M/s",
            rate >= 2.0,
        )
    return targets


def format_rows(rows: list[Row], tbparse_events: int) -> str:
    tb = find(rows, "tbparse read (whole process)", tbparse_events)
    lines = [
        "| command | events | CPU-s | wall s | peak RSS MB | CPU against tbparse's read |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        against = ""
        if tb and r.events == tbparse_events and r is not tb:
            against = f"{tb.cpu_s / r.cpu_s:.1f}x less"
        events = f"{r.events:,}" if r.events else ""
        lines.append(
            f"| `{r.name}` | {events} | {r.cpu_s:.2f} | {r.wall_s:.2f} | {r.rss_mb:.0f} | "
            f"{against} |"
        )
    return "\n".join(lines)


def format_targets(targets: list[Target]) -> str:
    lines = ["| target | goal | measured | |", "| --- | --- | --- | --- |"]
    for t in targets:
        lines.append(f"| {t.what} | {t.goal} | {t.measured} | {'PASS' if t.ok else 'FAIL'} |")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    try:
        load = os.getloadavg()
    except OSError:  # pragma: no cover
        load = (float("nan"),) * 3
    return {
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "load_before": [round(x, 2) for x in load],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


if __name__ == "__main__":
    sys.exit(main())
