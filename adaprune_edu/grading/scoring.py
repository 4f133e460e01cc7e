"""From executed cells to points: the same rule as nbgrader's autograder, and clear statuses.

A test cell earns its full points when it ran and the kernel reported no error; otherwise
zero (nbgrader's rule: "a test cell that raises scores 0"). We also require the kernel's
*reply* to be ``ok``, not only the absence of an error output, so a student-installed
exception handler that hides the traceback does not turn a failure into a pass. What is
printed never matters: printing "passed" earns nothing.

Status of a question, in order of precedence:

- ``tampered`` -- student code replaced a function or hook the tests rely on *while the test
  ran* (see :mod:`.guard`): no points, whatever the outcome;
- ``passed`` -- ran cleanly;
- ``kernel_died`` -- the kernel died before or while running the test;
- ``timeout`` -- the test, or an answer cell since the previous test, hit the time limit;
- ``syntax_error`` -- an answer cell since the previous test does not parse;
- ``failed`` -- anything else (an assertion, an exception in the student's code);
- ``manual`` -- a written answer, for the instructor (no points given automatically);
- ``unanswered`` -- a written answer left as released: 0 points, as nbgrader gives.
"""
from __future__ import annotations

from .cells import grade_id, is_test, is_written_answer, points
from .restore import UNANSWERED

SYNTAX_ERRORS = ("SyntaxError", "IndentationError", "TabError")


def score_questions(nb, run: dict) -> list:
    """Per-question results ``{question, points, max_points, status, message}`` in notebook order."""
    results = []
    since_last_test = []  # records of the non-test code cells since the previous test
    died = run["status"] == "kernel_died"
    for index, cell in enumerate(nb.cells):
        record = run["cells"][index]
        if is_written_answer(cell) and cell.metadata.get(UNANSWERED):
            results.append({"question": grade_id(cell), "points": 0.0, "max_points": points(cell),
                            "status": "unanswered", "message": "the written answer was left as released"})
            continue
        if is_written_answer(cell):
            results.append({"question": grade_id(cell), "points": None, "max_points": points(cell),
                            "status": "manual", "message": "written answer: graded by the instructor"})
            continue
        if not is_test(cell):
            if cell.cell_type == "code" and record["ran"]:
                since_last_test.append(record)
            continue
        max_points = points(cell)
        passed = record["ran"] and record["status"] == "ok" and not record["error"]
        earlier_timeout = [r for r in since_last_test if r["timed_out"]]
        earlier_syntax = [r for r in since_last_test if r["error"].split(":")[0] in SYNTAX_ERRORS]
        if record.get("tampered"):
            passed = False
            status = "tampered"
            message = "code run during this test replaced " + ", ".join(record["tampered"][:5])
        elif passed:
            status, message = "passed", ""
        elif died and (not record["ran"] or record["error"].startswith("DeadKernelError")):
            status, message = "kernel_died", run.get("message", "the kernel died")
        elif record["timed_out"] or earlier_timeout:
            status, message = "timeout", "a cell hit the time limit and was interrupted"
        elif earlier_syntax:
            status, message = "syntax_error", earlier_syntax[0]["error"]
        elif not record["ran"]:
            status, message = "failed", run.get("message") or "the test did not run"
        else:
            status, message = "failed", record["error"] or f"the kernel replied {record['status']!r}"
        results.append({"question": grade_id(cell), "points": max_points if passed else 0.0,
                        "max_points": max_points, "status": status, "message": message})
        since_last_test = []
    return results
