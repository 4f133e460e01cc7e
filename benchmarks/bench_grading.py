"""How long does grading a class take, with and without the sandbox? 40 solved submissions, ``--jobs 2``.

    python benchmarks/bench_grading.py [--assignment a3_gradient_pruning] [--count 40] [--jobs 2] [--rounds 3]

Copies the solution notebook ``count`` times into a temporary directory (one folder per
student, as an LMS export looks), then runs ``adaprune-edu grade`` on them with
``--sandbox none`` and ``--sandbox bwrap`` in interleaved rounds (the order alternates),
checks that every submission earned full marks each time, and prints the median wall time of
each, the time per submission and the ratio sandbox / no sandbox. Targets: under 3 minutes for
40 submissions on 2 cores, and the sandbox at most 25% slower. Times vary with machine load;
compare the two columns of one run, not against a number from another day. Without bwrap only
the unsandboxed column is measured.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from adaprune_edu.grading import grade
from adaprune_edu.grading.sandbox import unavailable_reason

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 180
SANDBOX_OVERHEAD_BAR = 1.25


def grade_once(submissions: Path, out: Path, source: str, jobs: int, sandbox: str) -> tuple:
    """(wall seconds, submissions with full marks, exit code) of one ``grade`` run into a fresh ``out``."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    code = grade.main([str(submissions), "--out", str(out), "--source", source, "--jobs", str(jobs),
                       "--sandbox", sandbox, "--quiet"])
    seconds = time.perf_counter() - start
    results = json.loads((out / "grades.json").read_text())["submissions"]
    full = sum(r["status"] == "graded" and r.get("sandbox") == sandbox
               and all(q["status"] in ("passed", "manual") for q in r["questions"]) for r in results)
    return seconds, full, code


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="a3_gradient_pruning")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--source", default=str(ROOT / "solutions"))
    args = parser.parse_args(argv)
    solution = Path(args.source) / f"{args.assignment}.ipynb"
    if not solution.is_file():
        print(f"no solution notebook {solution}", file=sys.stderr)
        return 2
    modes = ["none"] if unavailable_reason() else ["none", "bwrap"]
    if len(modes) == 1:
        print(f"no sandbox measured: {unavailable_reason()}")
    seconds = {mode: [] for mode in modes}
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        tmp = Path(tmp)
        for index in range(args.count):
            student = tmp / "submissions" / f"student{index:03d}"
            student.mkdir(parents=True)
            shutil.copy(solution, student / f"{args.assignment}.ipynb")
        for round_ in range(args.rounds):
            for mode in (modes if round_ % 2 == 0 else modes[::-1]):
                wall, full, code = grade_once(tmp / "submissions", tmp / "out", args.source, args.jobs, mode)
                seconds[mode].append(wall)
                ok = ok and code == 0 and full == args.count
                print(f"  round {round_ + 1} --sandbox {mode:5s} {wall:7.1f} s   full marks {full}/{args.count}",
                      flush=True)
    print(f"assignment {args.assignment}: {args.count} submissions, --jobs {args.jobs}, "
          f"median of {args.rounds} interleaved rounds")
    for mode in modes:
        median = statistics.median(seconds[mode])
        print(f"  --sandbox {mode:5s} wall time {median:7.1f} s   per submission {median / args.count:5.2f} s"
              f"   (target < {TARGET_SECONDS} s)")
    if len(modes) == 2:
        ratio = statistics.median(seconds["bwrap"]) / statistics.median(seconds["none"])
        print(f"  sandbox / no sandbox  {ratio:5.2f}x   (bar <= {SANDBOX_OVERHEAD_BAR:.2f}x)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
