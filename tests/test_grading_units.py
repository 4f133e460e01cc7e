"""The grader's pieces without a kernel: reading, restoring, scoring, reports, the guard."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import nbformat
import numpy as np
import pytest

from adaprune_edu.grading import check, grade, guard, report
from adaprune_edu.grading.cells import (
    SubmissionError,
    edited_protected_cells,
    is_protected,
    is_test,
    is_written_answer,
    questions,
    read_notebook,
    read_notebook_bytes,
)
from adaprune_edu.grading.restore import UNANSWERED, released_text, restore_cells, visible_source
from adaprune_edu.grading.sandbox import Limits, bwrap_argv, python_paths
from adaprune_edu.grading.scoring import score_questions

ROOT = Path(__file__).resolve().parents[1]


def meta(gid, grade=False, solution=False, locked=False, points=None):
    data = {"grade": grade, "grade_id": gid, "locked": locked, "schema_version": 3, "solution": solution, "task": False}
    if points is not None:
        data["points"] = points
    return {"nbgrader": data}


def tiny_source():
    """setup (read-only), answer, test with hidden part, written answer."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1", metadata=meta("setup", locked=True)),
        nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
                                  metadata=meta("f", solution=True)),
        nbformat.v4.new_code_cell("assert f() == 1\n### BEGIN HIDDEN TESTS\nassert f() + 1 == 2\n### END HIDDEN TESTS",
                                  metadata=meta("test_f", grade=True, locked=True, points=3)),
        nbformat.v4.new_markdown_cell("### BEGIN SOLUTION\nBecause.\n### END SOLUTION",
                                      metadata=meta("why", grade=True, solution=True, points=2)),
    ]
    return nb


def record(ran=True, status="ok", error="", timed_out=False):
    return {"ran": ran, "status": status, "error": error, "timed_out": timed_out, "stdout": ""}


# ----------------------------------------------------------------------------------------- cells
def test_cell_kinds_and_questions():
    nb = tiny_source()
    assert [is_protected(c) for c in nb.cells] == [True, False, True, False]
    assert [is_test(c) for c in nb.cells] == [False, False, True, False]
    assert [is_written_answer(c) for c in nb.cells] == [False, False, False, True]
    assert questions(nb) == [{"question": "test_f", "max_points": 3.0, "kind": "auto"},
                             {"question": "why", "max_points": 2.0, "kind": "manual"}]


@pytest.mark.parametrize("data, status", [
    (b"", "empty"), (b"  \n", "empty"), (b"{oops", "invalid_notebook"), (b"[1, 2]", "invalid_notebook"),
    (b'{"cells": 3, "nbformat": 4}', "invalid_notebook"), (b"\xff\xfe", "invalid_notebook")])
def test_unreadable_notebooks_raise_a_status(data, status):
    with pytest.raises(SubmissionError) as caught:
        read_notebook_bytes(data, name="sub.ipynb")
    assert caught.value.status == status and "sub.ipynb" in caught.value.message


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(SubmissionError) as caught:
        read_notebook(tmp_path / "nope.ipynb")
    assert caught.value.status == "missing"
    with pytest.raises(SubmissionError) as caught:
        read_notebook(tmp_path)
    assert caught.value.status == "invalid_notebook"


# ----------------------------------------------------------------------------------------- restore
def test_restore_brings_back_edited_and_deleted_tests_and_keeps_answers():
    source = tiny_source()
    student = tiny_source()
    student.cells[1].source = "def f():\n    return 2"
    student.cells[0].source = "x = 99  # edited read-only cell"
    del student.cells[2]  # the test
    restored, notes = restore_cells(student, source)
    assert [c.source for c in restored.cells] == ["x = 1", "def f():\n    return 2", source.cells[2].source,
                                                   source.cells[3].source]
    assert "BEGIN HIDDEN TESTS" in restored.cells[2].source
    assert any("deleted" in n for n in notes) and any("'setup' differs" in n for n in notes)


def test_restore_keeps_extra_cells_in_place_without_grading_metadata():
    source = tiny_source()
    student = tiny_source()
    helper = nbformat.v4.new_code_cell("def helper(): pass")
    forged = nbformat.v4.new_code_cell("pass", metadata=meta("test_bonus", grade=True, locked=True, points=100))
    copied = nbformat.v4.new_code_cell("pass", metadata=meta("test_f", grade=True, locked=True, points=3))
    student.cells[1:1] = [helper]
    student.cells.append(forged)
    student.cells.insert(0, copied)
    restored, notes = restore_cells(student, source)
    sources = [c.source for c in restored.cells]
    assert sources.index("def helper(): pass") == 1, "an extra cell stays right after the cell it followed"
    assert sources.count("pass") == 1 and "nbgrader" not in restored.cells[sources.index("pass")].metadata
    assert [q["question"] for q in questions(restored)] == ["test_f", "why"]
    assert any("test_bonus" in n for n in notes)


def test_restore_missing_answer_is_empty_and_unchanged_written_answer_is_flagged():
    source = tiny_source()
    student = tiny_source()
    del student.cells[1]
    student.cells[-1].source = released_text(source.cells[3].source)
    restored, notes = restore_cells(student, source)
    assert restored.cells[1].source == "" and any("'f' is missing" in n for n in notes)
    assert restored.cells[3].metadata.get(UNANSWERED) is True


def test_restore_ignores_student_metadata_and_outputs():
    source = tiny_source()
    student = tiny_source()
    student.metadata["kernelspec"] = {"name": "evil", "display_name": "x", "language": "python"}
    student.cells[1].outputs = [nbformat.v4.new_output("stream", text="passed")]
    student.cells[1].metadata[UNANSWERED] = True
    restored, _ = restore_cells(student, source)
    assert restored.metadata["kernelspec"]["name"] == "python3"
    assert all(c.get("outputs", []) == [] for c in restored.cells)
    assert UNANSWERED not in restored.cells[1].metadata


def test_visible_source_and_released_text():
    assert visible_source("a\n### BEGIN HIDDEN TESTS\nb\n### END HIDDEN TESTS\nc") == "a\nc"
    assert released_text("Intro\n### BEGIN SOLUTION\nsecret\n### END SOLUTION") == "Intro\nYOUR ANSWER HERE"
    assert released_text("no markers at all") == "YOUR ANSWER HERE"


# ----------------------------------------------------------------------------------------- scoring
def score(records, run_status="completed", nb=None):
    nb = nb or tiny_source()
    return {q["question"]: (q["points"], q["status"]) for q in
            score_questions(nb, {"status": run_status, "message": "m", "cells": records})}


def test_a_test_passes_only_when_it_ran_and_the_kernel_replied_ok():
    assert score([record()] * 4)["test_f"] == (3.0, "passed")
    assert score([record(), record(), record(status="error", error="AssertionError: no"), record()])["test_f"] == \
        (0.0, "failed")
    # an exception hidden by a custom handler: no error output, but the reply says error
    assert score([record(), record(), record(status="error"), record()])["test_f"] == (0.0, "failed")
    assert score([record(), record(), record(ran=False, status=None), record()])["test_f"][0] == 0.0


def test_failure_reasons_are_attributed():
    syntax = [record(), record(status="error", error="SyntaxError: invalid syntax"),
              record(status="error", error="NameError: f"), record()]
    assert score(syntax)["test_f"] == (0.0, "syntax_error")
    syntax[1] = record(status="error", error="SyntaxError: expected ':' (3045822.py, line 1)")
    scored = score_questions(tiny_source(), {"status": "completed", "message": "", "cells": syntax})[0]
    assert scored["message"] == "answer cell 'f' does not parse: SyntaxError: expected ':' (line 1)"
    assert scored["failed_at"] is None, "the test line that called the missing function is not the cause"
    slow = [record(), record(), record(status="error", error="KeyboardInterrupt: ", timed_out=True), record()]
    assert score(slow)["test_f"] == (0.0, "timeout")
    died = [record(), record(status="error", error="DeadKernelError: the kernel died"), record(ran=False), record()]
    assert score(died, run_status="kernel_died")["test_f"] == (0.0, "kernel_died")


def test_a_failure_is_located_in_the_visible_or_hidden_part_of_the_test():
    nb = tiny_source()  # test_f: line 1 visible, line 3 hidden
    run = {"status": "completed", "message": "", "cells": [record(), record(), record(), record()]}
    def located(line):
        run["cells"][2] = dict(record(status="error", error="AssertionError: "), error_line=line)
        return score_questions(nb, run)[0]["failed_at"]

    assert located(1)["hidden"] is False and located(3)["hidden"] is True
    assert located(None) is None and located(99) is None, "no usable line: no location"
    run["cells"][2] = dict(record(status="error", error="AssertionError: "), error_line=3)
    assert score_questions(nb, run)[0]["failed_at"] == {"line": 3, "code": "assert f() + 1 == 2", "hidden": True}
    run["cells"][2] = dict(record(status="error", error="NotImplementedError: "), error_line=1)
    stub = score_questions(nb, run)[0]
    assert "not answered yet" in stub["message"] and stub["failed_at"] is None


def test_error_line_is_read_from_the_outermost_cell_frame():
    from adaprune_edu.grading.run import _error_line

    traceback = ["\x1b[31m---\x1b[39m", "\x1b[31mAssertionError\x1b[39m   Traceback (most recent call last)",
                 "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[5]\x1b[39m\x1b[32m, line 4\x1b[39m\n  code",
                 "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[3]\x1b[39m\x1b[32m, line 2\x1b[39m\n  code"]
    cell = nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output("error", ename="AssertionError", evalue="",
                                                                          traceback=traceback)])
    assert _error_line(cell) == 4
    assert _error_line(nbformat.v4.new_code_cell("x")) is None


def test_written_answers_are_manual_or_unanswered():
    assert score([record()] * 4)["why"] == (None, "manual")
    nb = tiny_source()
    nb.cells[3].metadata[UNANSWERED] = True
    assert score([record()] * 4, nb=nb)["why"] == (0.0, "unanswered")


# ----------------------------------------------------------------------------------------- reports
def result(name="alice/a1.ipynb", questions_=None, status="graded"):
    rows = questions_ if questions_ is not None else [
        {"question": "test_f", "points": 3.0, "max_points": 3.0, "status": "passed", "message": ""},
        {"question": "why", "points": None, "max_points": 2.0, "status": "manual", "message": "m"}]
    return grade._result(name, "a1", status, "", questions_=rows, notes=["a note"])


def test_csv_has_one_row_per_question_and_a_row_for_unrunnable_submissions():
    text = report.grades_csv([result(), result("bob/a1.ipynb", questions_=[], status="invalid_notebook")])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(report.CSV_COLUMNS)
    assert [(r["submission"], r["question"], r["points"], r["max_points"], r["status"]) for r in rows] == [
        ("alice/a1.ipynb", "test_f", "3", "3", "passed"), ("alice/a1.ipynb", "why", "", "2", "manual"),
        ("bob/a1.ipynb", "", "0", "", "invalid_notebook")]


def test_feedback_names_and_text():
    assert report.feedback_name("alice/week 1/a1.ipynb") == "alice__week_1__a1.md"
    assert report.feedback_name("../x.ipynb") == "x.md"
    names = report.feedback_names(["a b.ipynb", "a_b.ipynb", "c.ipynb"])
    assert len(set(names)) == 3 and names[0] == "a_b.md" and names[2] == "c.md"
    text = report.feedback_text(result())
    assert "score: 3 / 5 (written answers still to be graded)" in text and "a note" in text


def test_class_summary_counts_passes_per_question():
    failed = [{"question": "test_f", "points": 0.0, "max_points": 3.0, "status": "failed", "message": ""},
              {"question": "why", "points": None, "max_points": 2.0, "status": "manual", "message": ""}]
    broken = result("carol/a1.ipynb", status="invalid_notebook", questions_=[
        {"question": "test_f", "points": 0.0, "max_points": 3.0, "status": "invalid_notebook", "message": ""}])
    text = report.class_summary([result(), result("bob/a1.ipynb", questions_=failed), broken])
    assert text.splitlines() == ["passed, per question (in notebook order):", "  a1 test_f  1/2"], text
    assert report.class_summary([broken]) == ""


def test_write_report_is_atomic_and_complete(tmp_path):
    report.write_report(tmp_path, [result()])
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["alice__a1.md", "feedback", "grades.csv", "grades.json"]
    report.atomic_write_text(tmp_path / "grades.csv", "new")
    assert (tmp_path / "grades.csv").read_text() == "new" and not list(tmp_path.glob(".*"))


def test_display_names_are_relative_to_the_common_directory(tmp_path):
    paths = [tmp_path / "alice" / "a1.ipynb", tmp_path / "bob" / "a1.ipynb"]
    assert grade.display_names(paths) == ["alice/a1.ipynb", "bob/a1.ipynb"]
    assert grade.display_names(paths[:1]) == ["a1.ipynb"]


def test_identify_uses_the_stamp_then_a_unique_best_grade_id_match():
    sources = grade.load_sources(ROOT / "solutions")
    nb = nbformat.read(ROOT / "exercises" / "a3_gradient_pruning.ipynb", as_version=4)
    assert grade.identify(nb, sources) == ("a3_gradient_pruning", None)
    del nb.metadata["adaprune_edu"]
    found, how = grade.identify(nb, sources)
    assert found == "a3_gradient_pruning" and "grade_ids" in how
    nb.cells = [cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "setup"]
    assert grade.identify(nb, sources) == (None, None), "'setup' is in every assignment: no unique match"
    nb.cells = []
    assert grade.identify(nb, sources) == (None, None)


def test_collect_submissions_searches_directories_and_skips_checkpoints(tmp_path):
    for rel in ("a/x.ipynb", "a/.ipynb_checkpoints/x-checkpoint.ipynb", "b.ipynb", "a/notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    found = grade.collect_submissions([tmp_path / "a", tmp_path / "b.ipynb", tmp_path / "a" / "x.ipynb"])
    assert [p.name for p in found] == ["x.ipynb", "b.ipynb"]


def test_check_report_text():
    scored = [{"question": "test_f", "points": 0.0, "max_points": 3.0, "status": "failed",
               "message": "AssertionError: f() should be 1"},
              {"question": "why", "points": None, "max_points": 2.0, "status": "manual", "message": ""}]
    text = check.format_report("mine.ipynb", "a1", scored, {"status": "completed", "message": ""})
    assert "[FAIL] test_f: 0/3  failed" in text and "AssertionError: f() should be 1" in text
    assert "graded by your instructor" in text and text.endswith(
        "visible tests: 0/3 points (hidden tests are added when your instructor grades)")


def test_check_notes_edited_locked_cells():
    nb = nbformat.read(ROOT / "exercises" / "a1_dense_layer.ipynb", as_version=4)
    assert edited_protected_cells(nb) == []
    nb.cells[4].source = "pass  # the test, emptied"
    nb.cells[1].source += "\nnp.testing.assert_allclose = print"
    assert edited_protected_cells(nb) == ["setup", "test_dense_forward"]
    text = check.format_report("mine.ipynb", "a1", [], {"status": "completed", "message": ""}, ["setup"])
    assert "you changed setup; these cells are locked, and grading puts the released versions back" in text


# ----------------------------------------------------------------------------------------- guard
def test_guard_restores_monkeypatched_numpy_and_package_classes():
    from adaprune_edu.nn import MLP

    original_allclose, original_score = np.allclose, MLP.score
    guard.install(memory_limit_mb=None)
    try:
        np.allclose = lambda *args, **kwargs: True
        np.testing.assert_array_equal = print
        MLP.score = lambda self, X, y: 1.0
        repairs = guard.restore()
    finally:
        np.allclose = original_allclose
        if "score" in vars(MLP):  # only if the guard failed to remove the patch
            del MLP.score
    assert np.allclose is original_allclose and MLP.score is original_score
    assert np.testing.assert_array_equal is not print
    assert {"numpy.allclose", "numpy.testing.assert_array_equal"} <= set(repairs)
    # MLP inherits score from ClassifierMixin, so the patch adds an entry to MLP's dict
    assert "adaprune_edu.nn.network.MLP.score (added)" in repairs
    assert guard.restore() == [], "nothing to repair the second time"


def test_guard_restores_a_patched_base_class_method():
    from adaprune_edu.nn import MLP
    from adaprune_edu.nn.classifier import ClassifierMixin

    original = ClassifierMixin.score
    guard.install(memory_limit_mb=None)
    try:
        ClassifierMixin.score = lambda self, X, y: 1.0
        repairs = guard.restore()
    finally:
        ClassifierMixin.score = original
    assert "adaprune_edu.nn.classifier.ClassifierMixin.score" in repairs
    assert MLP.score is original


def test_guard_audit_reports_changes_made_during_a_test_without_repairing():
    guard.install(memory_limit_mb=None)
    guard.restore()
    original = np.testing.assert_allclose
    try:
        np.testing.assert_allclose = lambda *args, **kwargs: None
        assert "numpy.testing.assert_allclose" in guard.audit()
        assert np.testing.assert_allclose is not original, "audit only reports"
    finally:
        np.testing.assert_allclose = original
    assert guard.audit() == []


# ----------------------------------------------------------------------------------------- sandbox choice
def test_sandbox_choice(monkeypatch):
    monkeypatch.setattr(grade, "unavailable_reason", lambda: None)
    assert grade.choose_sandbox("auto") == ("bwrap", None) and grade.choose_sandbox("bwrap") == ("bwrap", None)
    used, warning = grade.choose_sandbox("none")
    assert used == "none" and "WITHOUT a sandbox (--sandbox none)" in warning
    monkeypatch.setattr(grade, "unavailable_reason", lambda: "bwrap is not installed")
    used, warning = grade.choose_sandbox("auto")
    assert used == "none" and "WITHOUT a sandbox (bwrap is not installed)" in warning
    with pytest.raises(ValueError, match="--sandbox bwrap: bwrap is not installed"):
        grade.choose_sandbox("bwrap")
    with pytest.raises(ValueError, match="--sandbox='docker' must be one of auto, bwrap, none"):
        grade.choose_sandbox("docker")


def test_unsandboxed_grading_warns_on_stderr_and_in_grades_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(grade, "unavailable_reason", lambda: "no bwrap in this test")
    (tmp_path / "sub.ipynb").write_text("{broken")  # no kernel needed: the warning is about the batch
    argv = [str(tmp_path / "sub.ipynb"), "--out", str(tmp_path / "out"), "--source", str(ROOT / "solutions")]
    assert grade.main([*argv, "--quiet"]) == 0
    assert capsys.readouterr().err.count("WARNING: grading WITHOUT a sandbox (no bwrap in this test)") == 2
    sandbox = json.loads((tmp_path / "out" / "grades.json").read_text())["sandbox"]
    assert sandbox["requested"] == "auto" and sandbox["used"] == "none" and "no bwrap" in sandbox["warning"]


def test_sandbox_command_shows_only_the_python_environment():
    limits = Limits()
    argv = bwrap_argv(["python", "-m", "kernel"], "/tmp/private/kernel.json", limits, drop_to_uid=None)
    for flag in ("--die-with-parent", "--unshare-pid", "--unshare-net", "--clearenv", "--new-session"):
        assert flag in argv
    bound = [argv[i + 1] for i, arg in enumerate(argv) if arg in ("--bind", "--ro-bind", "--ro-bind-try")]
    assert "--bind" not in argv, "nothing of the host is writable"
    assert str(ROOT) not in bound and str(ROOT / "solutions") not in bound and str(Path.home()) not in bound
    assert str(ROOT / "adaprune_edu") in bound or any(str(ROOT / "adaprune_edu").startswith(p + "/") for p in bound)
    where = argv.index("/tmp/private/kernel.json")  # the connection file, read-only at a fixed place
    assert argv[where - 1] == "--ro-bind" and argv[where + 1] == "/run/adaprune-kernel.json"
    assert argv[-3:] == ["python", "-m", "kernel"] and argv[-4] == "--"
    assert "--cap-add" not in argv
    assert "--cap-add" in bwrap_argv(["python"], "/tmp/k.json", limits, drop_to_uid=1_500_000_000)
    # the Python directories are bound after the private /tmp, so a venv under /tmp is not hidden by it
    tmpfs = argv.index("/tmp", argv.index("--tmpfs"))
    assert all(argv.index(path) > tmpfs for path in python_paths())


def test_limits_become_rlimits_and_the_guide_states_them():
    limits = Limits(memory_mb=1024, cpu_seconds=90)
    assert limits.rlimits() == {"NPROC": 64, "AS": 1024 * 1024 * 1024, "CPU": 90, "NOFILE": 256,
                                "FSIZE": 64 * 1024 * 1024, "CORE": 0}
    assert "AS" not in Limits(memory_mb=None).rlimits()
    guide = " ".join((ROOT / "docs" / "instructor_guide.md").read_text().split())
    default = Limits()
    assert default.tmp_mb == default.home_mb
    for phrase in (f"both in memory, {default.tmp_mb} MB each", f"{default.processes} processes and threads",
                   f"{default.open_files} open files", f"{default.file_size_mb} MB per written file",
                   f"plus {default.tmp_mb + default.home_mb} MB of `/tmp` and home"):
        assert phrase in guide, phrase
