"""leaderboard.csv: which printed results count, how rows are ranked, and a graded batch with fake lines.

The unit tests build run records by hand (fast). One small batch (``--sandbox none``: what is tested
here is the leaderboard's reading of the output, not the sandbox) grades an honest submission of a
two-cell assignment next to two that print a fake leaderboard line: one from a cell of their own,
one from their answer while the test calls it. Both must earn no place. The a6 solution's own
ranking is checked on the batch that test_nbgrader_compat.py grades anyway.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import nbformat
import numpy as np
import pytest

from adaprune_edu.grading import grade
from adaprune_edu.grading.leaderboard import PREFIX, declaration, entry, leaderboard_csv, rows, write_leaderboard
from adaprune_edu.grading.run import STDOUT_LIMIT
from adaprune_edu.nn.handin import rebuild_cnn
from adaprune_edu.nn.presets import cnn

ROOT = Path(__file__).resolve().parents[1]
A6 = "a6_channel_budget"
A6_SOLUTION = ROOT / "solutions" / f"{A6}.ipynb"
BOARD = {"question": "test_floor", "requires": ["test_budget"], "metric": "macs", "order": "ascending",
         "tiebreak": "accuracy"}
FAKE = PREFIX + ' {"macs": 1, "accuracy": 1.0}'


def _run(outputs: dict, n_cells: int = 4) -> tuple:
    """A notebook of ``n_cells`` code cells (2: test_budget, 3: test_floor) and a run printing ``outputs``."""
    cells = [nbformat.v4.new_code_cell("pass") for _ in range(n_cells)]
    cells[2].metadata["nbgrader"] = {"grade": True, "grade_id": "test_budget"}
    cells[3].metadata["nbgrader"] = {"grade": True, "grade_id": "test_floor"}
    run = {"cells": [{"stdout": outputs.get(i, "")} for i in range(n_cells)]}
    return nbformat.v4.new_notebook(cells=cells), run


def _scored(floor="passed", budget="passed") -> list:
    return [{"question": "test_budget", "status": budget}, {"question": "test_floor", "status": floor}]


def genuine(macs=288058, accuracy=0.9444) -> str:
    return f"{PREFIX} {json.dumps({'macs': macs, 'accuracy': accuracy})}\n"


def test_the_line_of_the_declared_test_is_ranked():
    nb, run = _run({3: "some output\n" + genuine()})
    assert entry(BOARD, nb, run, _scored()) == {"macs": 288058, "accuracy": 0.9444, "status": "ranked", "message": ""}


@pytest.mark.parametrize("outputs, why", [
    ({1: FAKE + "\n", 3: genuine()}, "a fake line from a cell of the student's"),
    ({3: FAKE + "\n" + genuine()}, "a fake line printed by student code while the test runs"),
    ({3: genuine() + FAKE + "\n"}, "a fake line printed after the test's own (a thread)"),
    ({1: FAKE + "\n"}, "only a fake line, in another cell (the test never printed)"),
    ({3: "x" * (STDOUT_LIMIT - len(FAKE) - 1) + FAKE + "\n" + genuine()}, "a flood that pushes the real line out"),
    ({3: "note: " + genuine()}, "the prefix not at the start of the line"),
    ({3: f"{PREFIX} not json\n"}, "an unreadable line"),
    ({3: f'{PREFIX} {{"macs": NaN, "accuracy": 1.0}}\n'}, "a value that is not a finite number"),
    ({3: f'{PREFIX} {{"macs": true, "accuracy": 1.0}}\n'}, "a boolean for a number"),
])
def test_suspicious_lines_are_rejected(outputs, why):
    nb, run = _run(outputs)
    found = entry(BOARD, nb, run, _scored())
    assert found["status"] == "rejected" and found["macs"] is None, (why, found)


def test_a_failed_test_is_listed_but_not_ranked():
    nb, run = _run({3: genuine()})
    found = entry(BOARD, nb, run, _scored(budget="failed"))
    assert found["status"] == "test_budget: failed" and found["macs"] == 288058, found
    assert entry(BOARD, nb, run, _scored(floor="tampered"))["status"] == "test_floor: tampered"
    nb, run = _run({})
    assert entry(BOARD, nb, run, _scored(floor="failed"))["status"] == "test_floor: failed"
    assert entry(BOARD, nb, run, _scored())["status"] == "no_result"


def _result(submission, macs=None, accuracy=None, status="ranked", assignment=A6):
    return {"submission": submission, "assignment": assignment, "status": "graded",
            "leaderboard": {"macs": macs, "accuracy": accuracy, "status": status, "message": ""}}


def test_rows_rank_by_macs_then_accuracy_and_ties_share_a_rank():
    results = [_result("carol/hw.ipynb", 300, 0.95), _result("alice/hw.ipynb", 200, 0.91),
               _result("bob/a6.ipynb", 300, 0.97), _result("dave/hw.ipynb", 300, 0.95),
               _result("erin/hw.ipynb", status="rejected"), _result("frank.ipynb", 100, 0.5, "test_floor: failed"),
               {"submission": "gina/x.ipynb", "assignment": A6, "status": "invalid_notebook"},
               _result("hank/hw.ipynb", 50, 0.99, assignment="a1_dense_layer")]
    table = [(r["rank"], r["student"], r["status"]) for r in rows(results, {A6: BOARD})]
    assert table == [(1, "alice", "ranked"), (2, "bob", "ranked"), (3, "carol", "ranked"), (3, "dave", "ranked"),
                     ("", "erin", "rejected"), ("", "frank", "test_floor: failed"),
                     ("", "gina", "invalid_notebook")], table
    text = leaderboard_csv(results, {A6: BOARD})
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert list(parsed[0]) == ["assignment", "rank", "student", "macs", "accuracy", "status", "submission"]
    assert parsed[0]["macs"] == "200" and parsed[4]["macs"] == "", parsed


def test_descending_order_and_no_file_without_a_declaring_assignment(tmp_path):
    board = dict(BOARD, order="descending")
    results = [_result("a/x.ipynb", 1, 0.9), _result("b/x.ipynb", 2, 0.9)]
    assert [r["student"] for r in rows(results, {A6: board})] == ["b", "a"]
    assert not write_leaderboard(tmp_path, results, {"a7_other": BOARD})
    assert not (tmp_path / "leaderboard.csv").exists()
    assert write_leaderboard(tmp_path, results, {A6: BOARD}) and (tmp_path / "leaderboard.csv").exists()


def test_declaration_is_checked():
    nb = nbformat.v4.new_notebook()
    assert declaration(nb) is None
    nb.metadata["adaprune_edu"] = {"leaderboard": {"question": "q"}}
    with pytest.raises(ValueError, match="metric"):
        declaration(nb)
    nb.metadata["adaprune_edu"] = {"leaderboard": {"question": "q", "metric": "m", "order": "up"}}
    with pytest.raises(ValueError, match="order"):
        declaration(nb)
    assert declaration(nbformat.read(A6_SOLUTION, as_version=4))["metric"] == "macs"


# ------------------------------------------------------------------------ the trusted copy of a model
def test_rebuild_cnn_copies_the_numbers_and_ignores_the_objects_code():
    model = cnn(channels=(4, 6, 8), seed=3)
    model.params[1]["gamma"][:] = np.linspace(0.5, 2.0, 4)
    model.layers[1].running_mean[:] = 0.3
    X = np.random.default_rng(0).standard_normal((3, 8, 8, 1)).astype(np.float32)
    expected = model.forward(X, training=False)
    model.forward = lambda *args, **kwargs: print(FAKE)  # student code on the instance: never called
    model.layers[0].forward = model.forward
    copy = rebuild_cnn(model)
    np.testing.assert_allclose(copy.forward(X, training=False), expected, rtol=1e-6, err_msg="the same numbers")
    copy.params[0]["W"][:] = 0
    assert np.any(model.params[0]["W"] != 0), "the copy owns its arrays"


class Sub(type(cnn())):
    pass


@pytest.mark.parametrize("spoil, match", [
    (lambda m: setattr(m, "__class__", Sub), "Sequential"),
    (lambda m: m.layers.pop(3), "layers"),
    (lambda m: m.params[0].__setitem__("W", m.params[0]["W"].tolist()), "ndarray"),
    (lambda m: m.params[0].__setitem__("W", m.params[0]["W"][:2]), "shape"),
    (lambda m: setattr(m.layers[1], "running_var", np.ones(3)), "running_var"),
])
def test_rebuild_cnn_refuses_what_is_not_the_course_cnn(spoil, match):
    model = cnn(channels=(4, 6, 8))
    spoil(model)
    with pytest.raises(TypeError, match=match):
        rebuild_cnn(model)


# ------------------------------------------------------------------------ a graded batch
# A two-question source notebook declaring a leaderboard: graded end to end in a second or two per
# submission (the a6 solution itself is graded, and its leaderboard.csv checked, in test_nbgrader_compat.py).
MINI_BOARD = {"question": "test_measure", "metric": "macs", "order": "ascending", "tiebreak": "accuracy"}
MINI_TEST = (f"assert measure() > 0, 'measure() must be positive'\n### BEGIN HIDDEN TESTS\n"
             f"print({PREFIX!r}, '{{\"macs\": 100, \"accuracy\": 0.9}}')\n### END HIDDEN TESTS")


def mini_source() -> nbformat.NotebookNode:
    meta = {"grade": False, "grade_id": "measure", "locked": False, "schema_version": 3, "solution": True,
            "task": False}
    test = {"grade": True, "grade_id": "test_measure", "locked": True, "points": 1, "schema_version": 3,
            "solution": False, "task": False}
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("def measure():\n    return 5", metadata={"nbgrader": meta}),
        nbformat.v4.new_code_cell(MINI_TEST, metadata={"nbgrader": test})])
    nb.metadata["adaprune_edu"] = {"assignment": "z_mini", "leaderboard": MINI_BOARD}
    return nb


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    root = tmp_path_factory.mktemp("leaderboard")
    (root / "source").mkdir()
    nbformat.write(mini_source(), root / "source" / "z_mini.ipynb")
    fake_call = f"def measure():\n    print({FAKE!r})\n    return 5"
    for name, extra, answer in [("alice", None, None), ("mallory", f"print({FAKE!r})", None),
                                ("trudy", None, fake_call)]:
        nb = mini_source()
        if answer:
            nb.cells[0].source = answer
        if extra:
            nb.cells.insert(1, nbformat.v4.new_code_cell(extra))
        (root / "subs" / name).mkdir(parents=True)
        nbformat.write(nb, root / "subs" / name / "hw.ipynb")
    out = root / "out"
    assert grade.main([str(root / "subs"), "--out", str(out), "--jobs", "2", "--sandbox", "none", "--quiet",
                       "--source", str(root / "source")]) == 0
    table = list(csv.DictReader(io.StringIO((out / "leaderboard.csv").read_text())))
    return {row["student"]: row for row in table}, json.loads((out / "grades.json").read_text())["submissions"]


def test_the_grade_command_writes_the_leaderboard(board):
    table, _ = board
    assert table["alice"]["rank"] == "1" and table["alice"]["status"] == "ranked", table["alice"]
    assert (table["alice"]["macs"], table["alice"]["accuracy"]) == ("100", "0.9"), table["alice"]


def test_printing_a_fake_line_earns_no_place(board):
    table, results = board
    for name in ("mallory", "trudy"):  # from a cell of their own; from their function, called by the test
        assert table[name]["status"] == "rejected" and table[name]["rank"] == "" and table[name]["macs"] == "", \
            table[name]
    assert len(table) == 3
    scores = {r["submission"].split("/")[0]: r["score"] for r in results}
    assert scores == {"alice": 1, "mallory": 1, "trudy": 1}, "a printed line changes no points, only the ranking"


def test_the_instructor_guides_example_is_what_the_code_writes():
    guide = (ROOT / "docs" / "instructor_guide.md").read_text()
    start = guide.index("```\nassignment,rank,student,macs") + len("```\n")
    example = guide[start:guide.index("```", start)]
    results = []
    for row in csv.DictReader(io.StringIO(example)):
        macs, accuracy = (int(row["macs"]), float(row["accuracy"])) if row["macs"] else (None, None)
        results.append(_result(row["submission"], macs, accuracy, row["status"]))
    board = declaration(nbformat.read(A6_SOLUTION, as_version=4))
    assert leaderboard_csv(results[::-1], {A6: board}) == example


def test_the_guides_numbers_are_the_notebooks():
    from adaprune_edu.data import load_dataset

    guide = " ".join((ROOT / "docs" / "instructor_guide.md").read_text().split())
    held_out = load_dataset("digits", images=True, seed=0).y_test.size
    assert f"that split's {held_out} test images" in guide
    setup = next(c.source for c in nbformat.read(A6_SOLUTION, as_version=4).cells if c.get("id") == "setup")
    assert "MAC_BUDGET = 0.5 " in setup and "ACCURACY_FLOOR = 0.9 " in setup
    assert "at most half of the dense network's multiply-accumulates (MACs) and at least 90% accuracy" in guide
