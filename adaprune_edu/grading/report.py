"""Writing grades: ``grades.csv``, its JSON twin, and one feedback file per submission.

Every file is written atomically (a temporary file in the same directory, then
``os.replace``), so a crash or a kill leaves either the old file or the new one, never half
of one. The CSV has one row per submission and question:

``submission, assignment, question, points, max_points, status``

``status`` is ``passed`` / ``failed`` / ``timeout`` / ``syntax_error`` / ``kernel_died`` / ``tampered`` /
``manual`` (a written answer, ``points`` left empty for the instructor) / ``unanswered`` (a
written answer left as released, 0 points) for graded questions,
or, for a submission that could not be run at all, the reason on every row: ``missing``,
``empty``, ``invalid_notebook``, ``unknown_assignment``, ``wrong_assignment``,
``grader_error``.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path

from .._files import atomic_write_text

CSV_COLUMNS = ("submission", "assignment", "question", "points", "max_points", "status")


def _number(value):
    """Points as the shortest exact text: 2.0 -> 2, 1.5 -> 1.5, None -> empty."""
    if value is None:
        return ""
    return int(value) if float(value).is_integer() else float(value)


def csv_rows(results) -> list:
    """One dict per (submission, question); a submission without questions gets one row."""
    rows = []
    for result in results:
        if not result["questions"]:
            rows.append({"submission": result["submission"], "assignment": result["assignment"] or "",
                         "question": "", "points": 0, "max_points": "", "status": result["status"]})
        for question in result["questions"]:
            rows.append({"submission": result["submission"], "assignment": result["assignment"] or "",
                         "question": question["question"], "points": _number(question["points"]),
                         "max_points": _number(question["max_points"]), "status": question["status"]})
    return rows


def grades_csv(results) -> str:
    """The text of ``grades.csv``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(results))
    return buffer.getvalue()


def feedback_name(submission: str) -> str:
    """A file name for a submission's feedback: its path with separators and odd characters replaced."""
    stem = submission[:-6] if submission.endswith(".ipynb") else submission
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem.replace("/", "__").replace("\\", "__")).strip("._") + ".md"


def feedback_names(submissions) -> list:
    """:func:`feedback_name` for each submission, with a short digest added where two would collide."""
    names, used = [], set()
    for submission in submissions:
        name = feedback_name(submission)
        if name in used:
            name = name[:-3] + "-" + hashlib.sha256(submission.encode()).hexdigest()[:8] + ".md"
        used.add(name)
        names.append(name)
    return names


def feedback_text(result) -> str:
    """Markdown feedback for one submission: score, then every question with its message."""
    lines = [f"# Feedback: {result['submission']}", ""]
    lines.append(f"- assignment: {result['assignment'] or 'unknown'}")
    lines.append(f"- status: {result['status']}" + (f" ({result['message']})" if result.get("message") else ""))
    if result["questions"]:
        lines.append(f"- score: {_number(result['score'])} / {_number(result['max_score'])}"
                     + (" (written answers still to be graded)" if result.get("needs_manual_grading") else ""))
    lines.append("")
    for question in result["questions"]:
        earned = "needs manual grading" if question["status"] == "manual" else \
            f"{_number(question['points'])} / {_number(question['max_points'])}"
        lines.append(f"## {question['question']}: {question['status']} ({earned})")
        where = question.get("failed_at")
        if where:
            part = "in the hidden tests, which your copy of the notebook does not show" if where["hidden"] \
                else "in the visible tests (`adaprune-edu check` shows it too)"
            lines += ["", f"Failed at line {where['line']} of the test cell, {part}:", "",
                      "```python", where["code"], "```"]
        if question.get("message"):
            lines += ["", "```", question["message"], "```"]
        lines.append("")
    if result.get("cell_errors"):
        lines.append("## Errors outside the test cells")
        lines += [f"- cell {e['cell']}" + (f" ({e['grade_id']})" if e["grade_id"] else "") + f": {e['error']}"
                  for e in result["cell_errors"]]
        lines.append("")
    if result.get("notes"):
        lines.append("## Notes from the grader")
        lines += [f"- {note}" for note in result["notes"]]
        lines.append("")
    return "\n".join(lines)


def class_summary(results) -> str:
    """Per assignment and question, how many graded submissions passed: where did the class struggle?

    Only submissions that ran count (``status`` ``graded``, ``timeout``... not ``invalid_notebook``);
    written answers are left out (they await manual grading).
    """
    counts = {}
    for result in results:
        for question in result["questions"]:
            if question["status"] in ("manual", "unanswered") or result["status"] not in ("graded", "kernel_died"):
                continue
            key = (result["assignment"], question["question"])
            passed, total = counts.get(key, (0, 0))
            counts[key] = (passed + (question["status"] == "passed"), total + 1)
    if not counts:
        return ""
    width = max(len(f"{assignment} {question}") for assignment, question in counts)
    lines = ["passed, per question (in notebook order):"]
    lines += [f"  {assignment + ' ' + question:<{width}}  {passed}/{total}"
              for (assignment, question), (passed, total) in sorted(counts.items(), key=lambda item: item[0][0])]
    return "\n".join(lines)


def write_report(out_dir, results, sandbox=None) -> None:
    """(Re)write ``grades.csv``, ``grades.json`` and ``feedback/*.md`` for ``results``.

    ``sandbox`` (a dict: ``requested``, ``used``, ``warning``) goes into ``grades.json`` as is.
    """
    out_dir = Path(out_dir)
    for result, name in zip(results, feedback_names([r["submission"] for r in results])):
        atomic_write_text(out_dir / "feedback" / name, feedback_text(result))
    public = [{key: value for key, value in result.items() if not key.startswith("_")} for result in results]
    document = {"columns": list(CSV_COLUMNS), "submissions": public}
    if sandbox is not None:
        document["sandbox"] = sandbox
    atomic_write_text(out_dir / "grades.json", json.dumps(document, indent=1, sort_keys=True) + "\n")
    atomic_write_text(out_dir / "grades.csv", grades_csv(results))
