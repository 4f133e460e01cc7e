"""How long does grading a class take? 40 solved submissions of one assignment, ``--jobs 2``.

    python benchmarks/bench_grading.py [--assignment a3_gradient_pruning] [--count 40] [--jobs 2]

Copies the solution notebook ``count`` times into a temporary directory (one folder per
student, as an LMS export looks), runs ``adaprune-edu grade`` on them, checks that every
submission earned full marks, and prints the wall time and the time per submission.
Target: under 3 minutes for 40 submissions on 2 cores. Times vary with machine load;
compare runs side by side, not against a number from another day.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from adaprune_edu.grading import grade

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="a3_gradient_pruning")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--source", default=str(ROOT / "solutions"))
    args = parser.parse_args(argv)
    solution = Path(args.source) / f"{args.assignment}.ipynb"
    if not solution.is_file():
        print(f"no solution notebook {solution}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        tmp = Path(tmp)
        for index in range(args.count):
            student = tmp / "submissions" / f"student{index:03d}"
            student.mkdir(parents=True)
            shutil.copy(solution, student / f"{args.assignment}.ipynb")
        start = time.perf_counter()
        code = grade.main([str(tmp / "submissions"), "--out", str(tmp / "out"), "--source", args.source,
                           "--jobs", str(args.jobs), "--quiet"])
        seconds = time.perf_counter() - start
        results = json.loads((tmp / "out" / "grades.json").read_text())["submissions"]
    full = sum(r["status"] == "graded" and all(q["status"] in ("passed", "manual") for q in r["questions"])
               for r in results)
    print(f"assignment {args.assignment}: {args.count} submissions, --jobs {args.jobs}")
    print(f"  wall time            {seconds:7.1f} s   (target < 180 s)")
    print(f"  per submission       {seconds / args.count:7.2f} s")
    print(f"  full marks           {full}/{args.count}")
    return 0 if code == 0 and full == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
