"""``leaderboard.csv``: rank a class on a number the hidden tests measure (a6: MACs of the handed-in model).

An assignment opts in through its *source* notebook's metadata (never the submission's)::

    "adaprune_edu": {"assignment": "a6_channel_budget",
                     "leaderboard": {"question": "test_accuracy_floor", "requires": ["test_mac_budget"],
                                     "metric": "macs", "order": "ascending", "tiebreak": "accuracy"}}

The test cell ``question`` measures the handed-in model and prints one line, ``adaprune-edu
leaderboard: {"macs": 288058, "accuracy": 0.9444}``, from its hidden part (the grader puts that
part back from the source, so a student can neither remove nor edit it). How far is that line
trusted? The kernel is the student's: anything their code prints looks the same. So a line counts
only when

- it is the **only** leaderboard line in the whole run, and it comes from that test cell: a line
  printed by an answer cell, by student code the test calls, or by a thread started earlier
  makes two lines (the test's own line is always printed), and the submission is ``rejected``;
- the test passed (not ``tampered``: the guard found nothing replaced while it ran), and so did
  every ``requires`` test; otherwise the row is listed with the test's failure as status, unranked;
- the test cell printed less than the grader keeps of a cell's output (4000 characters): beyond
  that its own line could be cut off and one printed before it would look like the only one;
- it parses: a JSON object whose ``metric`` and ``tiebreak`` values are finite numbers.

The a6 test computes the line without running student code (it rebuilds the handed-in network
from its arrays, :func:`adaprune_edu.nn.handin.rebuild_cnn`) and checks that the kernel's output
stream is still the kernel's. What is left (documented in the instructor guide) is code aimed at
the grader itself, the same limit as for the points: replacing the output stream's class so the
test's line is rewritten, or attacking the kernel's messages.

Ranking: ``order`` on ``metric`` ("ascending": smaller is better), ties broken by ``tiebreak``
(higher is better), equal pairs share a rank (1, 2, 2, 4).
"""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path, PurePosixPath

from .._files import atomic_write_text
from .cells import grade_id
from .run import STDOUT_LIMIT

PREFIX = "adaprune-edu leaderboard:"
ORDERS = ("ascending", "descending")


def declaration(nb) -> dict | None:
    """The ``leaderboard`` entry of a source notebook's metadata, checked, or ``None``."""
    board = nb.metadata.get("adaprune_edu", {}).get("leaderboard")
    if board is None:
        return None
    if not isinstance(board, dict) or not all(isinstance(board.get(k), str) for k in ("question", "metric")):
        raise ValueError(f"metadata['adaprune_edu']['leaderboard']={board!r} needs 'question' and 'metric' strings")
    if board.get("order", "ascending") not in ORDERS:
        raise ValueError(f"leaderboard order={board['order']!r} must be one of {ORDERS}")
    return board


def _lines(records) -> list:
    """``(cell index, line)`` for every leaderboard line printed anywhere in the run."""
    return [(index, line) for index, record in enumerate(records)
            for line in (record.get("stdout") or "").splitlines() if PREFIX in line]


def _number(values: dict, key):
    value = values.get(key)
    if key is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{key!r} is {value!r}, not a finite number")
    return value


def entry(board: dict, nb, run: dict, scored: list) -> dict:
    """One submission's leaderboard entry: ``{metric: value, tiebreak: value, status, message}``.

    ``nb`` is the restored notebook that ran, ``run`` its run record (:func:`.run.run_notebook`),
    ``scored`` its questions (:func:`.scoring.score_questions`).
    """
    metric, tiebreak = board["metric"], board.get("tiebreak")
    empty = {metric: None, **({tiebreak: None} if tiebreak else {})}
    status = {q["question"]: q["status"] for q in scored}
    failed = [f"{q}: {status.get(q, 'missing')}" for q in [board["question"], *board.get("requires", [])]
              if status.get(q) != "passed"]
    cells = [index for index, cell in enumerate(nb.cells) if grade_id(cell) == board["question"]]
    lines = _lines(run["cells"])
    if cells and len(run["cells"][cells[0]].get("stdout") or "") >= STDOUT_LIMIT:
        return dict(empty, status="rejected", message=f"{board['question']} printed more than the grader keeps, "
                    "so its line cannot be checked")
    if len(lines) > 1 or (lines and (lines[0][0] not in cells or not lines[0][1].startswith(PREFIX))):
        where = sorted({index for index, _ in lines})
        return dict(empty, status="rejected", message=f"{len(lines)} leaderboard line(s) printed (cells {where}); "
                    f"only the one {board['question']} prints counts, so none does")
    if not lines:
        return dict(empty, status=failed[0] if failed else "no_result",
                    message=f"{board['question']} recorded no result")
    try:
        values = json.loads(lines[0][1][len(PREFIX):])
        found = {metric: _number(values, metric), **({tiebreak: _number(values, tiebreak)} if tiebreak else {})}
    except (ValueError, AttributeError) as error:
        return dict(empty, status="rejected", message=f"unreadable leaderboard line: {error}")
    if failed:
        return dict(found, status=failed[0], message="a test the leaderboard needs did not pass: not ranked")
    return dict(found, status="ranked", message="")


def student(submission: str) -> str:
    """The student a submission belongs to: its first folder (``alice/hw.ipynb``), else its file name's stem."""
    parts = PurePosixPath(submission).parts
    return parts[0] if len(parts) > 1 else PurePosixPath(submission).stem


def _ranked(board: dict, rows_: list) -> list:
    """The ``ranked`` rows of one assignment in leaderboard order, ``rank`` filled in (ties share a rank)."""
    metric, tiebreak = board["metric"], board.get("tiebreak")
    sign = 1 if board.get("order", "ascending") == "ascending" else -1

    def key(row):
        return (sign * row[metric], -row[tiebreak] if tiebreak else 0)

    ranked = sorted((r for r in rows_ if r["status"] == "ranked"), key=lambda r: (key(r), r["student"]))
    for position, row in enumerate(ranked):
        previous = ranked[position - 1] if position else None
        row["rank"] = previous["rank"] if previous and key(previous) == key(row) else position + 1
    return ranked


def rows(results, boards: dict) -> list:
    """Leaderboard rows for every result of an assignment in ``boards`` ({assignment: declaration}).

    Per assignment: the ranked rows in order, then the others (status says why) by submission.
    """
    out = []
    for assignment, board in sorted(boards.items()):
        names = [name for name in (board["metric"], board.get("tiebreak")) if name]
        mine = []
        for result in results:
            if result.get("assignment") != assignment:
                continue
            found = result.get("leaderboard") or {"status": result.get("status", "not_graded")}
            mine.append({"assignment": assignment, "rank": "", "student": student(result["submission"]),
                         **{name: found.get(name) for name in names}, "status": found["status"],
                         "submission": result["submission"]})
        out += _ranked(board, mine) + sorted((r for r in mine if r["status"] != "ranked"),
                                             key=lambda r: r["submission"])
    return out


def leaderboard_csv(results, boards: dict) -> str:
    """The text of ``leaderboard.csv``: assignment, rank, student, the metric(s), status, submission."""
    metrics = []
    for board in boards.values():
        metrics += [name for name in (board["metric"], board.get("tiebreak")) if name and name not in metrics]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["assignment", "rank", "student", *metrics, "status", "submission"],
                            lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows(results, boards))
    return buffer.getvalue()


def write_leaderboard(out_dir, results, boards: dict) -> bool:
    """Write ``out_dir/leaderboard.csv`` if a graded assignment declares a leaderboard; return whether it did."""
    graded = {r.get("assignment") for r in results}
    boards = {name: board for name, board in boards.items() if name in graded}
    if not boards:
        return False
    atomic_write_text(Path(out_dir) / "leaderboard.csv", leaderboard_csv(results, boards))
    return True
