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

import re

from .cells import grade_id, is_test, is_written_answer, points
from .restore import UNANSWERED

SYNTAX_ERRORS = ("SyntaxError", "IndentationError", "TabError")
#: how IPython names the code of a cell in a SyntaxError: ``(3045822.py, line 1)``
KERNEL_FILE = re.compile(r"\(\d+\.py, line (\d+)\)")
#: the message of a test that failed because an answer it uses is still the released stub
NOT_ANSWERED = "NotImplementedError: not answered yet (an answer cell this test uses still raises NotImplementedError)"


def score_questions(nb, run: dict) -> list:
    """Per-question results in notebook order.

    Each is a dict ``{question, points, max_points, status, message, failed_at}``; ``failed_at``
    (see :func:`failed_at`) says which line of the test cell raised, for failed tests.
    """
    results = []
    since_last_test = []  # records of the non-test code cells since the previous test
    died = run["status"] == "kernel_died"
    for index, cell in enumerate(nb.cells):
        record = run["cells"][index]
        if is_written_answer(cell) and cell.metadata.get(UNANSWERED):
            results.append({"question": grade_id(cell), "points": 0.0, "max_points": points(cell),
                            "status": "unanswered", "message": "the written answer was left as released",
                            "failed_at": None})
            continue
        if is_written_answer(cell):
            results.append({"question": grade_id(cell), "points": None, "max_points": points(cell),
                            "status": "manual", "message": "written answer: graded by the instructor",
                            "failed_at": None})
            continue
        if not is_test(cell):
            if cell.cell_type == "code" and record["ran"]:
                since_last_test.append(dict(record, grade_id=grade_id(cell)))
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
        elif record["timed_out"]:
            status, message = "timeout", "this test ran longer than the time limit (--timeout) and was interrupted"
        elif earlier_timeout:
            status, message = "timeout", f"{_cell_name(earlier_timeout[0])} ran longer than the time limit"
        elif earlier_syntax:
            status = "syntax_error"
            message = f"{_cell_name(earlier_syntax[0])} does not parse: {clean_error(earlier_syntax[0]['error'])}"
        elif not record["ran"]:
            status, message = "failed", run.get("message") or "the test did not run"
        else:
            status, message = "failed", clean_error(record["error"]) or f"the kernel replied {record['status']!r}"
        if message.startswith("NotImplementedError"):
            message = NOT_ANSWERED
        results.append({"question": grade_id(cell), "points": max_points if passed else 0.0,
                        "max_points": max_points, "status": status, "message": message,
                        "failed_at": None if passed or status == "syntax_error" or message == NOT_ANSWERED
                        else failed_at(cell, record)})
        since_last_test = []
    return results


def _cell_name(record) -> str:
    return f"answer cell {record['grade_id']!r}" if record.get("grade_id") else "a cell you added"


def clean_error(text: str) -> str:
    """An error text without the kernel's temporary file names: ``(3045.py, line 1)`` -> ``(line 1)``."""
    return KERNEL_FILE.sub(r"(line \1)", text)


def failed_at(cell, record):
    """Where in the test cell the failure was raised: ``{line, code, hidden}``, or ``None`` if unknown.

    ``line`` is 1-based, ``code`` that line of the test cell, ``hidden`` whether it lies between
    ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` (so it is not in the student's copy).
    """
    line = record.get("error_line")
    lines = cell.source.splitlines()
    if not isinstance(line, int) or not 1 <= line <= len(lines):
        return None
    hidden = False
    for text in lines[:line]:
        if text.strip() == "### BEGIN HIDDEN TESTS":
            hidden = True
        elif text.strip() == "### END HIDDEN TESTS":
            hidden = False
    return {"line": line, "code": lines[line - 1].strip(), "hidden": hidden}
