"""``adaprune-edu check NOTEBOOK``: run your exercise notebook and see which questions pass.

The notebook runs top to bottom in a fresh kernel (its own directory as working
directory), exactly as saved: save it in Jupyter first. Each test cell is reported as
passed or failed, with the failing assertion's message, and the points it is worth. These
are the *visible* tests only: when your instructor grades the notebook, hidden tests are
added to the same cells, so a question that passes here can still lose points.

Exit status: 0 when every test passes, 1 when some fail, 2 when the notebook cannot be read.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cells import SubmissionError, assignment_id, edited_protected_cells, read_notebook
from .run import run_notebook
from .scoring import NOT_ANSWERED, score_questions

#: lines of a failure message shown (numpy's assertion messages put the useful part on line 2-4)
MESSAGE_LINES = 4


def _points(value) -> str:
    return f"{value:g}"


def format_report(name: str, assignment, scored: list, run: dict, edited=()) -> str:
    """The text ``check`` prints: one line per question, then the total.

    ``edited`` lists the grade ids of locked or test cells changed since the release.
    """
    lines = [f"{name}" + (f" (assignment {assignment})" if assignment else "")]
    if edited:
        lines.append(f"  note: you changed {', '.join(edited)}; these cells are locked, and grading puts the "
                     "released versions back, so your grade can differ from what is shown here")
    earned = total = 0.0
    for question in scored:
        if question["status"] == "manual":
            lines.append(f"  [ -- ] {question['question']}: written answer, {_points(question['max_points'])} "
                         "points, graded by your instructor")
            continue
        total += question["max_points"]
        earned += question["points"]
        mark = "PASS" if question["status"] == "passed" else "FAIL"
        lines.append(f"  [{mark}] {question['question']}: {_points(question['points'])}/"
                     f"{_points(question['max_points'])}" + ("" if mark == "PASS" else f"  {question['status']}"))
        if question["message"] == NOT_ANSWERED:
            lines.append("         not answered yet (an answer it uses still raises NotImplementedError)")
        elif question["message"] and mark == "FAIL":
            where = question.get("failed_at")
            if where:
                lines.append(f"         at line {where['line']} of the test cell: {where['code'][:160]}")
            message = [line.strip() for line in question["message"].splitlines() if line.strip()]
            lines += [f"         {line[:200]}" for line in message[:MESSAGE_LINES]]
    if run["status"] != "completed":
        lines.append(f"  note: {run['message']}")
    lines.append(f"visible tests: {_points(earned)}/{_points(total)} points "
                 "(hidden tests are added when your instructor grades)")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="adaprune-edu check", description=__doc__.splitlines()[0])
    parser.add_argument("notebook", help="your exercise notebook (.ipynb)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per cell (default 120)")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        print(f"adaprune-edu check: --timeout={args.timeout} must be positive", file=sys.stderr)
        return 2
    path = Path(args.notebook)
    try:
        nb = read_notebook(path)
    except SubmissionError as error:
        print(f"adaprune-edu check: {error.message}", file=sys.stderr)
        return 2
    run = run_notebook(nb, timeout=args.timeout, cwd=path.resolve().parent)
    scored = score_questions(nb, run)
    if not scored:
        print(f"adaprune-edu check: {path} has no test cells (nbgrader 'grade' cells)", file=sys.stderr)
        return 2
    print(format_report(path.name, assignment_id(nb), scored, run, edited_protected_cells(nb)))
    return 0 if all(q["status"] in ("passed", "manual") for q in scored) else 1
