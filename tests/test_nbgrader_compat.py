"""The assignments work in nbgrader unchanged, and our grader agrees with nbgrader's scores.

One module-level batch grades every solution notebook, every released exercise and a partly
solved assignment 2 (a visible-test bug, a hidden-test-only bug, a blank answer) with
``adaprune-edu grade --jobs 2``; the same notebooks go through real nbgrader
(``generate_assignment`` and ``autograde`` in a temporary course directory, offline).
Our batch runs twice, without a sandbox and in the bubblewrap sandbox (skipped where bwrap
cannot run): both must equal nbgrader's scores, hence each other.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from adaprune_edu.grading import grade
from adaprune_edu.grading.cells import grade_id, is_answer, is_test, nbgrader_metadata
from adaprune_edu.grading.sandbox import unavailable_reason

pytest.importorskip("nbgrader")
pytestmark = pytest.mark.filterwarnings("ignore:Object of type:Warning")  # nbgrader's own SQLAlchemy warnings

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
ASSIGNMENTS = sorted(path.stem for path in SOLUTIONS.glob("*.ipynb"))
PARTIAL = "a2_magnitude_masks"  # a realistic mix: one right, one visible bug, one hidden-only bug, one blank
NO_BWRAP = unavailable_reason()
SANDBOXES = [pytest.param("bwrap", marks=pytest.mark.skipif(NO_BWRAP is not None, reason=f"no sandbox: {NO_BWRAP}")),
             "none"]


def partial_submission(path: Path) -> Path:
    """Assignment 2 as a student might hand it in: 3/10 with both graders.

    compute_count rounds halves up (fails the visible test), l1_unstructured is right,
    ln_structured forgets ``ord=n`` (passes the visible test, fails the hidden one),
    global_unstructured is not answered.
    """
    answers = {grade_id(c): c.source for c in nbformat.read(SOLUTIONS / f"{PARTIAL}.ipynb", as_version=4).cells}
    answers["compute_count"] = answers["compute_count"].replace("return round(amount * n)",
                                                                "return int(amount * n + 0.5)")
    answers["ln_structured"] = answers["ln_structured"].replace("np.linalg.norm(W, ord=n, axis=1 - dim)",
                                                                "np.linalg.norm(W, axis=1 - dim)")
    nb = nbformat.read(EXERCISES / f"{PARTIAL}.ipynb", as_version=4)
    for cell in nb.cells:
        if grade_id(cell) in ("compute_count", "l1_unstructured", "ln_structured"):
            cell.source = answers[grade_id(cell)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module", params=SANDBOXES)
def ours(tmp_path_factory, request):
    """Our grades for solutions (student "solved"), exercises (student "blank") and the partial one.

    One batch (one worker pool, both jobs busy to the end): copies of solutions/ and exercises/
    and the partial submission, each in a folder named after its "student".
    """
    out = tmp_path_factory.mktemp(f"ours_{request.param}")
    shutil.copytree(SOLUTIONS, out / "class" / "solutions", ignore=shutil.ignore_patterns("*.md"))
    shutil.copytree(EXERCISES, out / "class" / "exercises", ignore=shutil.ignore_patterns("*.md"))
    partial_submission(out / "class" / "partial" / "homework.ipynb")
    options = ["--source", str(SOLUTIONS), "--sandbox", request.param, "--quiet"]
    code = grade.main([str(out / "class"), "--out", str(out / "grades"), "--jobs", "2", "--timeout", "60", *options])
    assert code == 0
    results = json.loads((out / "grades" / "grades.json").read_text())["submissions"]
    graded = {(r["submission"].split("/")[0], r["assignment"]): r for r in results}
    assert set(graded) == {(folder, name) for folder in ("solutions", "exercises") for name in ASSIGNMENTS} | {
        ("partial", PARTIAL)}, sorted(graded)
    assert {r.get("sandbox") for r in graded.values()} == {request.param}
    graded["leaderboard"] = list(csv.DictReader(io.StringIO((out / "grades" / "leaderboard.csv").read_text())))
    return graded


@pytest.fixture(scope="module")
def nbgrader_course(tmp_path_factory):
    """A temporary nbgrader course: the solutions as source, solved and blank submissions, autograded."""
    course = tmp_path_factory.mktemp("course")
    with pytest.MonkeyPatch.context() as patch:
        # nbgrader's Gradebook runs the `alembic` command: make the environment's scripts findable.
        patch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        _autograde(course)
    return course


def _autograde(course):
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    for name in ASSIGNMENTS:
        for folder, origin in (("source", SOLUTIONS), ("submitted/solved", SOLUTIONS), ("submitted/blank", EXERCISES)):
            (course / folder / name).mkdir(parents=True)
            shutil.copy(origin / f"{name}.ipynb", course / folder / name / f"{name}.ipynb")
    partial_submission(course / "submitted" / "partial" / PARTIAL / f"{PARTIAL}.ipynb")
    config = Config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.course_id = "adaprune_edu"
    config.ExecutePreprocessor.timeout = 120
    api = NbGraderAPI(config=config)
    for name in ASSIGNMENTS:
        generated = api.generate_assignment(name, force=True)
        assert generated["success"], generated.get("error")
        for student in ("solved", "blank") + (("partial",) if name == PARTIAL else ()):
            graded = api.autograde(name, student, force=True)
            assert graded["success"], graded.get("error")


def _nbgrader_grades(course, assignment, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(assignment, assignment, student)
        return {g.name: (g.auto_score, g.needs_manual_grade, g.max_score) for g in notebook.grades}


def test_solutions_score_full_marks(ours):
    for name in ASSIGNMENTS:
        result = ours[("solutions", name)]
        assert result["status"] == "graded", result
        for question in result["questions"]:
            if question["status"] == "manual":
                assert question["points"] is None
            else:
                assert question["status"] == "passed" and question["points"] == question["max_points"] > 0, question
        assert result["cell_errors"] == []
        assert result["notes"] == [], "nothing to restore in an honest notebook"


def test_the_leaderboard_ranks_the_a6_solution_and_not_the_blank_exercise(ours):
    rows = {row["student"]: row for row in ours["leaderboard"] if row["assignment"] == "a6_channel_budget"}
    assert set(rows) == {"solutions", "exercises"}, ours["leaderboard"]
    solved, blank = rows["solutions"], rows["exercises"]
    assert solved["rank"] == "1" and solved["status"] == "ranked", solved
    assert 0 < int(solved["macs"]) <= 599680 // 2 and 0.9 <= float(solved["accuracy"]) <= 1, solved
    assert blank["rank"] == "" and blank["status"] == "test_accuracy_floor: failed" and blank["macs"] == "", blank


def test_untouched_exercises_run_every_cell_and_score_zero(ours):
    for name in ASSIGNMENTS:
        result = ours[("exercises", name)]
        assert result["status"] == "graded", result
        assert result["cell_errors"] == [], "a cell that is not a test failed in the released exercise"
        assert result["questions"], name
        for question in result["questions"]:
            assert question["points"] == 0, question
            assert question["status"] in ("failed", "unanswered"), question
        assert result["score"] == 0 and result["max_score"] == 10


def test_release_equals_nbgrader_generate_assignment(nbgrader_course):
    for name in ASSIGNMENTS:
        theirs = nbformat.read(nbgrader_course / "release" / name / f"{name}.ipynb", as_version=4)
        mine = nbformat.read(EXERCISES / f"{name}.ipynb", as_version=4)
        assert [c.source for c in mine.cells] == [c.source for c in theirs.cells], name
        assert [nbgrader_metadata(c) for c in mine.cells] == [nbgrader_metadata(c) for c in theirs.cells], name
        assert not any("BEGIN HIDDEN TESTS" in c.source or "BEGIN SOLUTION" in c.source for c in mine.cells)
        assert sum(is_answer(c) for c in mine.cells) >= 3 and sum(is_test(c) for c in mine.cells) >= 3


def test_scores_equal_nbgrader_autograde(ours, nbgrader_course):
    compared = 0
    pairs = [(name, folder, student) for name in ASSIGNMENTS
             for folder, student in (("solutions", "solved"), ("exercises", "blank"))]
    pairs.append((PARTIAL, "partial", "partial"))
    for name, folder, student in pairs:
        theirs = _nbgrader_grades(nbgrader_course, name, student)
        mine = {q["question"]: q for q in ours[(folder, name)]["questions"]}
        assert set(mine) == set(theirs), (name, student)
        for question, (auto_score, needs_manual, max_score) in theirs.items():
            assert mine[question]["max_points"] == max_score
            if needs_manual:
                assert mine[question]["status"] == "manual" and mine[question]["points"] is None
            else:
                assert mine[question]["points"] == auto_score, (name, student, question)
            compared += 1
    assert compared >= 2 * 5 * 3 + 4
    partial = {q["question"]: q["points"] for q in ours[("partial", PARTIAL)]["questions"]}
    assert partial == {"test_compute_count": 0, "test_l1_unstructured": 3, "test_ln_structured": 0,
                       "test_global_unstructured": 0}, "the mix this test is meant to compare"


def test_grade_ids_are_unique_and_points_total_ten():
    for name in ASSIGNMENTS:
        nb = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
        ids = [grade_id(c) for c in nb.cells if grade_id(c)]
        assert len(ids) == len(set(ids)), name
        assert sum(nbgrader_metadata(c).get("points", 0) for c in nb.cells) == 10, name
