"""``adaprune-edu grade`` and ``check`` on crafted submissions: tampering, broken input, reruns.

Each batch runs real kernels, so the submissions are grouped into few batches (``--jobs 2``)
built from assignment 1, the fastest notebook. The tampering and broken-input batches run twice,
without a sandbox and in the bubblewrap sandbox (skipped where bwrap cannot run), and must grade
the same; attempts to escape the sandbox are in ``test_grading_sandbox.py``.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from adaprune_edu.grading import check, grade
from adaprune_edu.grading.cells import METADATA_KEY, grade_id
from adaprune_edu.grading.run import run_notebook
from adaprune_edu.grading.sandbox import unavailable_reason

ROOT = Path(__file__).resolve().parents[1]
A1 = "a1_dense_layer"
A1_SOLUTION = ROOT / "solutions" / f"{A1}.ipynb"
A1_EXERCISE = ROOT / "exercises" / f"{A1}.ipynb"
A1_POINTS = {"test_dense_forward": 2, "test_dense_backward": 3, "test_numerical_gradient": 2, "test_gradient_check": 3}
NO_BWRAP = unavailable_reason()
SANDBOXES = [pytest.param("bwrap", marks=pytest.mark.skipif(NO_BWRAP is not None, reason=f"no sandbox: {NO_BWRAP}")),
             "none"]


def notebook(origin=A1_EXERCISE, answers=None, drop=(), replace=None, before=None, after=None, assignment=None):
    """A crafted submission: ``origin`` with answer cells replaced, cells dropped or edited, cells added.

    ``answers`` / ``replace``: {grade_id: new source}; ``drop``: grade_ids to delete;
    ``before`` / ``after``: {grade_id: [new cells]} inserted next to that cell.
    """
    nb = nbformat.read(origin, as_version=4)
    cells = []
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in drop:
            continue
        cells += (before or {}).get(gid, [])
        if gid in (answers or {}):
            cell.source = answers[gid]
        if gid in (replace or {}):
            cell.source = replace[gid]
        cells.append(cell)
        cells += (after or {}).get(gid, [])
    nb.cells = cells
    if assignment is not None:
        nb.metadata[METADATA_KEY] = {"assignment": assignment}
    return nb


def code(source):
    return nbformat.v4.new_code_cell(source)


def write(path: Path, nb) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def solution_answer(gid: str, origin=A1_SOLUTION) -> str:
    nb = nbformat.read(origin, as_version=4)
    return next(c.source for c in nb.cells if grade_id(c) == gid)


def run_grade(submissions, out, source, *extra):
    return grade.main([*map(str, submissions), "--out", str(out), "--source", str(source), "--jobs", "2",
                       "--quiet", *extra])


def by_submission(out: Path) -> dict:
    return {r["submission"]: r for r in json.loads((out / "grades.json").read_text())["submissions"]}


def points(result) -> dict:
    return {q["question"]: q["points"] for q in result["questions"]}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "missing"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course directory with its own copy of the solutions as grading source."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "solutions", root / "source")
    return root


# ----------------------------------------------------------------------------------------- tampering
WRONG_FORWARD = "def dense_forward(X, W, b):\n    return np.zeros((X.shape[0], W.shape[1])), (X, W)\n"
WRONG_BACKWARD = ("def dense_backward(dZ, cache):\n    X, W = cache\n"
                  "    return np.zeros(X.shape), np.zeros(W.shape), np.zeros(W.shape[1])\n")

MONKEYPATCH = code("""
import sys
import types
import numpy as np
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_equal = lambda *args, **kwargs: None
np.allclose = lambda *args, **kwargs: True
np.testing = types.SimpleNamespace(assert_allclose=lambda *a, **k: None)
def assert_allclose(*args, **kwargs):
    pass
# a fake numpy, bound to the name the tests use and planted where `import numpy` looks
np = types.SimpleNamespace(zeros=np.zeros, testing=types.SimpleNamespace(assert_allclose=lambda *a, **k: None))
sys.modules["numpy"] = np
""")

SWALLOW = code("""
def _ignore(shell, etype, evalue, tb, tb_offset=None):
    return None
get_ipython().set_custom_exc((BaseException,), _ignore)
""")

PATCH_WHILE_TESTED = {  # wrong answers that disable the test's assertions when they are called
    "dense_forward": ("def dense_forward(X, W, b):\n"
                      "    np.testing.assert_allclose = lambda *args, **kwargs: None\n"
                      "    return np.zeros((X.shape[0], W.shape[1])), (X, W)\n"),
    "dense_backward": ("import types\n"
                       "class _Numpy:\n"
                       "    testing = types.SimpleNamespace(assert_allclose=lambda *args, **kwargs: None)\n"
                       "    def __getattr__(self, name):\n"
                       "        return getattr(__import__('numpy'), name)\n"
                       "def dense_backward(dZ, cache):\n"
                       "    X, W = cache\n"
                       "    result = np.zeros(X.shape), np.zeros(W.shape), np.zeros(W.shape[1])\n"
                       "    globals()['np'] = _Numpy()\n"
                       "    return result\n"),
}

#: a `sleep` argument no other process on the machine uses, per sandbox mode
CHILD_MARKER = {mode: f"{300 + index}.{os.getpid()}" for index, mode in enumerate(("bwrap", "none"))}

READ_HIDDEN = code("""
import os, pathlib
_roots = [pathlib.Path.cwd(), *pathlib.Path.cwd().parents]
_roots += [pathlib.Path(os.environ[k]) for k in ("PWD", "OLDPWD", "HOME") if k in os.environ]
_found = []
for _root in _roots:
    _candidates = list(_root.rglob("*.ipynb")) if _root == pathlib.Path.cwd() else \\
        [*_root.glob("*.ipynb"), *_root.glob("source/*.ipynb"), *_root.glob("solutions/*.ipynb")]
    for _path in _candidates:
        try:
            if "BEGIN HIDDEN TESTS" in _path.read_text():
                _found.append(str(_path))
        except OSError:
            pass
print("hidden tests found:", _found)
""")


def running(marker: str) -> list:
    """PIDs of live (not zombie) processes whose command line contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "cmdline").read_bytes().decode("utf-8", "replace") \
                    and "\nState:\tZ" not in (entry / "status").read_text():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


@pytest.fixture(scope="module", params=SANDBOXES)
def tampered(course, request):
    """Grade one batch of crafted submissions; returns (out dir, results, digests before, source digest, sandbox)."""
    sandbox = request.param
    subs = course / f"tampered_{sandbox}"
    out = course / f"out_{sandbox}"
    source_nb = course / "source" / f"{A1}.ipynb"
    write(subs / "monkeypatch.ipynb", notebook(
        answers={"dense_forward": WRONG_FORWARD, "dense_backward": WRONG_BACKWARD},
        after={"setup": [MONKEYPATCH]}))
    write(subs / "edited_tests.ipynb", notebook(
        answers={"dense_forward": WRONG_FORWARD},
        replace={"test_dense_forward": "pass", "test_numerical_gradient": ""}, drop={"test_dense_backward"},
        after={"test_gradient_check": [nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {
            "grade": True, "grade_id": "test_bonus", "locked": True, "points": 100, "schema_version": 3,
            "solution": False, "task": False}})]}))
    write(subs / "patch_while_tested.ipynb", notebook(answers=PATCH_WHILE_TESTED))
    write(subs / "fake_passed.ipynb", notebook(
        answers={"dense_forward": "print('test_dense_forward passed')\n" + WRONG_FORWARD},
        after={"test_gradient_check": [code("print('All tests passed! 10/10 points')")]}))
    write(subs / "swallow_errors.ipynb", notebook(
        answers={"dense_forward": WRONG_FORWARD,
                 # installs the handler while the test cell itself runs, after the guard's restore
                 "dense_backward": WRONG_BACKWARD.replace("    X, W = cache\n", "    X, W = cache\n"
                                                          "    get_ipython().set_custom_exc((BaseException,), "
                                                          "lambda *a, **k: None)\n")},
        after={"setup": [SWALLOW]}))
    fake_csv = "submission,assignment,question,points,max_points,status\\nwrite_out.ipynb,a1,test,100,10,passed\\n"
    write(subs / "write_out.ipynb", notebook(answers={"dense_forward": WRONG_FORWARD}, after={"setup": [code(f"""
import pathlib
out = pathlib.Path({str(out)!r})
(out / "feedback").mkdir(parents=True, exist_ok=True)
(out / "grades.csv").write_text({fake_csv!r})
(out / "feedback" / "write_out.md").write_text("10/10")
(out / ".cache").mkdir(exist_ok=True)
for entry in (out / ".cache").glob("*.json"):
    entry.write_text("{{}}")
pathlib.Path({str(source_nb)!r}).write_text(pathlib.Path({str(A1_EXERCISE)!r}).read_text())
""")]}))
    # Uses the right code only if it could read the hidden tests; otherwise a wrong one.
    write(subs / "read_hidden.ipynb", notebook(after={"setup": [READ_HIDDEN]}, answers={"dense_forward": (
        "def dense_forward(X, W, b):\n"
        "    return (X @ W + b if _found else np.zeros((X.shape[0], W.shape[1]))), (X, W)\n")}))
    unstamped = nbformat.read(A1_SOLUTION, as_version=4)
    del unstamped.metadata[METADATA_KEY]  # e.g. a tool that rewrote the notebook metadata
    write(subs / "a2_magnitude_masks.ipynb", unstamped)  # a misleading file name, too
    plotting = solution_answer("dense_forward").replace(
        "    Z = X @ W + b\n", "    import matplotlib.pyplot as plt\n    plt.close(plt.figure())\n    Z = X @ W + b\n")
    write(subs / "plots_honestly.ipynb", notebook(A1_SOLUTION, answers={"dense_forward": plotting}))
    write(subs / "spawns_process.ipynb", notebook(after={"setup": [code(
        f"import subprocess\nchild = subprocess.Popen(['sleep', {CHILD_MARKER[sandbox]!r}])")]}))
    write(subs / "other_course.ipynb", notebook(assignment="z9_not_ours"))
    before = {path.name: digest(path) for path in subs.iterdir()}
    source_before = digest(source_nb)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(course)  # an instructor grading from the course directory...
        patch.setenv("PWD", str(course))  # ...as a shell would report it
        assert run_grade([subs], out, course / "source", "--sandbox", sandbox) == 0
    return out, by_submission(out), before, source_before, sandbox


def test_monkeypatching_numpy_and_helpers_earns_nothing(tampered):
    _, results, _, _, _ = tampered
    result = results["monkeypatch.ipynb"]
    assert points(result)["test_dense_forward"] == 0 and points(result)["test_dense_backward"] == 0
    assert any("numpy.testing" in note for note in result["notes"]), result["notes"]
    assert any("sys.modules['numpy']" in note for note in result["notes"]), result["notes"]


def test_patching_from_inside_the_tested_function_voids_the_test(tampered):
    _, results, _, _, _ = tampered
    result = results["patch_while_tested.ipynb"]
    statuses = {q["question"]: q["status"] for q in result["questions"]}
    assert statuses["test_dense_forward"] == statuses["test_dense_backward"] == "tampered", statuses
    assert "numpy.testing.assert_allclose" in result["questions"][0]["message"]
    assert "'np'" in result["questions"][1]["message"]
    assert result["score"] == 0


def test_edited_deleted_and_invented_tests_are_restored(tampered):
    _, results, _, _, _ = tampered
    result = results["edited_tests.ipynb"]
    assert set(points(result)) == set(A1_POINTS), "the invented test_bonus must not be graded"
    assert sum(points(result).values()) == 0
    assert any("deleted" in note for note in result["notes"]) and any("differs" in note for note in result["notes"])


def test_printing_passed_earns_nothing(tampered):
    _, results, _, _, _ = tampered
    assert sum(points(results["fake_passed.ipynb"]).values()) == 0


def test_custom_exception_handler_cannot_hide_failures(tampered):
    _, results, _, _, _ = tampered
    result = results["swallow_errors.ipynb"]
    assert points(result)["test_dense_forward"] == 0 and points(result)["test_dense_backward"] == 0
    assert any("shell.set_custom_exc" in note for note in result["notes"]), "the handler was installed and undone"
    assert _statuses(result)["test_dense_backward"] == "tampered", "installed while the test ran"


def test_writing_into_the_output_and_source_changes_nothing(tampered, course):
    out, results, _, source_before, sandbox = tampered
    assert digest(course / "source" / f"{A1}.ipynb") == source_before, "the source notebook must be put back"
    assert sum(points(results["write_out.ipynb"]).values()) == 0
    rows = [line.split(",") for line in (out / "grades.csv").read_text().splitlines()[1:]]
    assert not any(row[0] == "write_out.ipynb" and row[3] == "100" for row in rows)
    assert sum(int(row[3] or 0) for row in rows if row[0] == "write_out.ipynb") == 0
    assert "10/10" != (out / "feedback" / "write_out.md").read_text()
    notes = [note for r in results.values() for note in r["notes"]]
    source_notes = [note for note in notes if "was modified on disk while this submission ran" in note]
    if sandbox == "none":
        assert source_notes, "the source change is reported"
    else:  # the output folder does not exist in the sandbox: the writing cell fails, nothing to put back
        assert source_notes == []
        assert "FileNotFoundError" in results["write_out.ipynb"]["cell_errors"][0]["error"]


def test_hidden_tests_are_not_readable_from_the_kernel(tampered, course, monkeypatch):
    _, results, _, _, _ = tampered
    assert results["read_hidden.ipynb"]["cell_errors"] == [], "the snooping cell itself ran"
    assert points(results["read_hidden.ipynb"])["test_dense_forward"] == 0
    # the same snooping, run from the directory the instructor graded in, does find the hidden tests
    monkeypatch.chdir(course)
    namespace = {}
    exec(READ_HIDDEN.source, namespace)
    assert namespace["_found"], "the snooping code is able to find hidden tests when they are reachable"


def test_renamed_submission_is_matched_by_metadata(tampered):
    _, results, _, _, _ = tampered
    result = results["plots_honestly.ipynb"]  # the solution (plus a plot) under a name of the student's
    assert Path(result["submission"]).stem != A1
    assert result["assignment"] == A1 and points(result) == A1_POINTS


def test_lost_notebook_metadata_is_matched_by_grade_ids_not_by_file_name(tampered):
    _, results, _, _, _ = tampered
    result = results["a2_magnitude_masks.ipynb"]
    assert result["assignment"] == A1 and points(result) == A1_POINTS
    assert any("matched to 'a1_dense_layer' by its cells' grade_ids" in note for note in result["notes"])


def test_an_honest_notebook_that_plots_is_not_flagged(tampered):
    _, results, _, _, _ = tampered
    result = results["plots_honestly.ipynb"]
    assert points(result) == A1_POINTS, result["questions"]


def test_notebook_of_another_assignment_gets_a_status(tampered):
    _, results, _, _, _ = tampered
    result = results["other_course.ipynb"]
    assert result["status"] == "unknown_assignment" and "z9_not_ours" in result["message"]


def test_processes_started_by_student_code_do_not_outlive_grading(tampered):
    _, results, _, _, sandbox = tampered
    assert results["spawns_process.ipynb"]["cell_errors"] == [], "the child process was started"
    assert running(CHILD_MARKER[sandbox]) == [], "the student's child process still runs"


def test_submissions_are_never_modified(tampered, course):
    _, _, before, _, sandbox = tampered
    assert {path.name: digest(path) for path in (course / f"tampered_{sandbox}").iterdir()} == before


# ----------------------------------------------------------------------------------------- bad input
@pytest.fixture(scope="module", params=SANDBOXES)
def broken(course, request):
    subs = course / f"broken_{request.param}"
    subs.mkdir()
    (subs / "invalid_json.ipynb").write_text("{not json")
    (subs / "not_a_notebook.ipynb").write_text('{"hello": 1}')
    (subs / "empty.ipynb").write_text("")
    write(subs / "syntax_error.ipynb", notebook(A1_SOLUTION, answers={
        "dense_forward": "def dense_forward(X, W, b)\n    return X @ W + b, (X, W)\n"}))
    loop = solution_answer("dense_backward").replace("    X, W = cache\n",
                                                     "    X, W = cache\n    while True:\n        pass\n")
    write(subs / "infinite_loop.ipynb", notebook(A1_SOLUTION, answers={"dense_backward": loop}))
    stubborn = solution_answer("numerical_gradient").replace(
        "    grad = np.zeros", "    import time\n    while True:\n        try:\n            time.sleep(0.2)\n"
        "        except KeyboardInterrupt:\n            pass\n    grad = np.zeros")
    write(subs / "ignores_interrupt.ipynb", notebook(A1_SOLUTION, answers={"numerical_gradient": stubborn}))
    write(subs / "os_exit.ipynb", notebook(A1_SOLUTION, answers={
        "relative_error": "import os\ndef relative_error(analytic, numeric):\n    os._exit(3)\n"}))
    hog = solution_answer("numerical_gradient").replace(
        "    grad = np.zeros", "    hog = np.ones(1_000_000_000)  # 8 GB, over the 3 GB limit\n    grad = np.zeros")
    write(subs / "huge_allocation.ipynb", notebook(A1_SOLUTION, answers={"numerical_gradient": hog}))
    write(subs / "floods_output.ipynb", notebook(A1_SOLUTION, after={"setup": [code(
        "while True:\n    print('spam' * 250)")]}))
    float32 = solution_answer("dense_forward").replace("    Z = X @ W + b\n",
                                                       "    Z = (X @ W + b).astype(np.float32)\n")
    write(subs / "hidden_only.ipynb", notebook(A1_SOLUTION, answers={"dense_forward": float32}))
    write(subs / "other_assignment.ipynb", nbformat.read(ROOT / "solutions" / "a2_magnitude_masks.ipynb",
                                                         as_version=4))
    listed = sorted(subs.iterdir()) + [subs / "never_submitted.ipynb"]
    before = {path.name: digest(path) for path in listed}
    out = course / f"out_broken_{request.param}"
    args = ("--assignment", A1, "--timeout", "3", "--memory-limit", "3072", "--sandbox", request.param)
    assert run_grade(listed, out, course / "source", *args) == 0
    return out, by_submission(out), before, listed, args


def _statuses(result):
    return {q["question"]: q["status"] for q in result["questions"]}


def test_unreadable_files_get_clear_statuses(broken):
    _, results, _, _, _ = broken
    for name, status in [("invalid_json.ipynb", "invalid_notebook"), ("not_a_notebook.ipynb", "invalid_notebook"),
                         ("empty.ipynb", "empty"), ("never_submitted.ipynb", "missing"),
                         ("other_assignment.ipynb", "wrong_assignment")]:
        result = results[name]
        assert result["status"] == status, (name, result)
        assert set(_statuses(result)) == set(A1_POINTS) and set(_statuses(result).values()) == {status}
        assert result["score"] == 0


def test_syntax_error_is_reported_and_independent_questions_count(broken):
    _, results, _, _, _ = broken
    result = results["syntax_error.ipynb"]
    assert _statuses(result)["test_dense_forward"] == "syntax_error"
    assert "SyntaxError" in result["questions"][0]["message"]
    # backward (3) and numerical gradient (2) pass; the gradient check calls dense_forward too
    assert _statuses(result)["test_gradient_check"] == "failed" and result["score"] == 5


def test_infinite_loop_times_out_and_the_rest_is_graded(broken):
    _, results, _, _, _ = broken
    result = results["infinite_loop.ipynb"]
    # the gradient check calls dense_backward as well, so it times out too
    assert _statuses(result)["test_dense_backward"] == _statuses(result)["test_gradient_check"] == "timeout"
    assert _statuses(result)["test_dense_forward"] == _statuses(result)["test_numerical_gradient"] == "passed"
    assert result["score"] == 4


def test_code_ignoring_the_interrupt_gets_its_kernel_killed(broken):
    _, results, _, _, _ = broken
    statuses = _statuses(results["ignores_interrupt.ipynb"])
    assert statuses["test_dense_forward"] == statuses["test_dense_backward"] == "passed"
    assert statuses["test_numerical_gradient"] in ("timeout", "kernel_died")
    assert statuses["test_gradient_check"] == "kernel_died"


def test_a_cell_printing_forever_is_cut_off_and_the_tests_still_count(broken):
    _, results, _, _, _ = broken
    result = results["floods_output.ipynb"]
    assert result["score"] == 10 and result["cell_errors"][0]["error"].startswith("KeyboardInterrupt"), result


def test_kernel_death_is_reported_and_earlier_questions_count(broken):
    _, results, _, _, _ = broken
    result = results["os_exit.ipynb"]
    assert result["status"] == "kernel_died"
    assert _statuses(result)["test_gradient_check"] == "kernel_died"
    assert result["score"] == 7


def test_huge_allocation_fails_cleanly_under_the_memory_limit(broken):
    _, results, _, _, _ = broken
    result = results["huge_allocation.ipynb"]
    assert _statuses(result)["test_numerical_gradient"] == "failed"
    assert "MemoryError" in result["questions"][2]["message"]
    assert result["score"] == 5  # the gradient check calls numerical_gradient as well


def test_failure_location_says_visible_or_hidden(broken):
    out, results, _, _, _ = broken
    # float32 output passes the visible example (exact in float32) but not the hidden rtol=1e-10
    forward = results["hidden_only.ipynb"]["questions"][0]
    assert forward["status"] == "failed" and forward["failed_at"]["hidden"] is True, forward
    assert "assert_allclose(Z, expected" in forward["failed_at"]["code"]
    assert results["hidden_only.ipynb"]["score"] == 5  # float32 also spoils the gradient check (3 points)
    feedback = (out / "feedback" / "hidden_only.md").read_text()
    assert "in the hidden tests, which your copy of the notebook does not show" in feedback
    # an error raised inside the student's function is located at the visible test line that called it
    hog = results["huge_allocation.ipynb"]["questions"][2]["failed_at"]
    assert hog["hidden"] is False and hog["code"].startswith("grad = numerical_gradient("), hog


def test_broken_submissions_are_not_modified_and_feedback_exists(broken):
    out, results, before, listed, _ = broken
    assert {path.name: digest(path) for path in listed} == before
    for result in results.values():
        assert (out / "feedback" / (Path(result["submission"]).stem + ".md")).exists()
    header = (out / "grades.csv").read_text().splitlines()[0]
    assert header == "submission,assignment,question,points,max_points,status"


def test_rerun_skips_unchanged_submissions(broken, course, capsys):
    out, results, _, listed, args = broken
    csv_before = (out / "grades.csv").read_text()
    capsys.readouterr()
    assert grade.main([*map(str, listed), "--out", str(out), "--source", str(course / "source"), *args]) == 0
    printed = capsys.readouterr().out
    assert "graded 1 and kept 11" in printed, printed  # only the missing file is looked at again
    assert "passed, per question (in notebook order):\n  a1_dense_layer test_dense_forward" in printed
    assert (out / "grades.csv").read_text() == csv_before


# ----------------------------------------------------------------------------------------- crash and misuse
def test_crash_mid_batch_keeps_earlier_results_and_rerun_finishes(tmp_path, monkeypatch, capsys):
    subs = [tmp_path / f"s{i}.ipynb" for i in range(3)]
    for path in subs:
        path.write_text("{broken")
    out = tmp_path / "out"
    real = grade.grade_one
    calls = []

    def crash_on_second(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt  # e.g. the instructor presses Ctrl-C
        return real(path, *args, **kwargs)

    monkeypatch.setattr(grade, "grade_one", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        grade.main([*map(str, subs), "--out", str(out), "--source", str(ROOT / "solutions"), "--quiet"])
    first = by_submission(out)
    assert list(first) == ["s0.ipynb"] and first["s0.ipynb"]["status"] == "invalid_notebook"
    monkeypatch.setattr(grade, "grade_one", real)
    argv = [*map(str, subs), "--out", str(out), "--source", str(ROOT / "solutions"), "--quiet"]
    assert grade.main(argv) == 0
    assert set(by_submission(out)) == {"s0.ipynb", "s1.ipynb", "s2.ipynb"}
    assert "graded 2 and kept 1" in capsys.readouterr().out
    assert grade.main([*argv, "--redo"]) == 0
    assert "graded 3 and kept 0" in capsys.readouterr().out
    assert not list(out.glob(".*.tmp")), "no temporary files left behind"


@pytest.mark.parametrize("argv_tail, message", [
    (["no/such/file.ipynb"], "none of the submission paths exists"),
    (["EMPTY_DIR"], "no .ipynb notebooks found"),
    (["SUB", "--jobs", "0"], "--jobs=0"),
    (["SUB", "--timeout", "-1"], "--timeout"),
    (["SUB", "--source", "no/such/dir"], "is not a directory"),
    (["SUB", "--assignment", "a9_nothing"], "is not one of"),
])
def test_misuse_exits_2_with_a_message(tmp_path, capsys, argv_tail, message):
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "sub.ipynb").write_text("{}")
    argv = [{"EMPTY_DIR": str(tmp_path / "empty_dir"), "SUB": str(tmp_path / "sub.ipynb")}.get(a, a) for a in argv_tail]
    if "--source" not in argv:
        argv += ["--source", str(ROOT / "solutions")]
    assert grade.main([*argv, "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err


# ----------------------------------------------------------------------------------------- run
def test_a_test_in_the_last_cell_runs_and_is_guarded():
    """nbclient stores each executed cell at its index: the grader's own cells must not replace the last one."""
    test_meta = {"nbgrader": {"grade": True, "grade_id": "test_last", "locked": True, "points": 1,
                              "schema_version": 3, "solution": False, "task": False}}
    nb = nbformat.v4.new_notebook(cells=[
        code("import numpy as np\nnp.testing.assert_allclose = lambda *args, **kwargs: None"),
        nbformat.v4.new_code_cell("import numpy as np\nnp.testing.assert_allclose(1, 2)", metadata=test_meta)])
    run = run_notebook(nb, timeout=60)
    last = run["cells"][-1]
    assert last["ran"] and last["status"] == "error" and last["error"].startswith("AssertionError"), last
    assert last["tampered"] == [] and "restored numpy.testing.assert_allclose" in run["guard"], run["guard"]
    assert [c.source for c in nb.cells][-1].endswith("assert_allclose(1, 2)"), "the caller's notebook is unchanged"


# ----------------------------------------------------------------------------------------- check
def readme_example() -> str:
    """The ``check`` output shown in exercises/README.md."""
    text = (ROOT / "exercises" / "README.md").read_text()
    start = text.index("```\na1_dense_layer.ipynb (assignment") + len("```\n")
    return text[start:text.index("```", start)]


def test_check_reports_each_question(tmp_path, capsys):
    # the students' README shows this very run: db summed over the wrong axis, two questions left
    wrong_db = solution_answer("dense_backward").replace("db = dZ.sum(axis=0)", "db = dZ.sum(axis=1)")
    partial = write(tmp_path / A1_EXERCISE.name, notebook(answers={"dense_forward": solution_answer("dense_forward"),
                                                                   "dense_backward": wrong_db}))
    assert check.main([str(partial), "--timeout", "30"]) == 1
    printed = capsys.readouterr().out
    assert "[PASS] test_dense_forward: 2/2" in printed
    assert "[FAIL] test_dense_backward: 0/3" in printed and "not answered yet" in printed
    assert "visible tests: 2/10 points" in printed
    assert printed == readme_example(), "exercises/README.md shows another output: paste this one"
    wrong = write(tmp_path / "wrong.ipynb", notebook(answers={"dense_forward": WRONG_FORWARD},
                                                     replace={"test_numerical_gradient": "pass"}))
    assert check.main([str(wrong), "--timeout", "30"]) == 1
    printed = capsys.readouterr().out
    assert "note: you changed test_numerical_gradient; these cells are locked" in printed
    assert "[FAIL] test_dense_forward: 0/2" in printed
    assert "at line 10 of the test cell: np.testing.assert_allclose(Z, [[5.5, 2.0, -2.0]]" in printed
    assert "Z should be X @ W + b" in printed


def test_check_rejects_what_is_not_a_notebook(tmp_path, capsys):
    (tmp_path / "bad.ipynb").write_text("{nope")
    assert check.main([str(tmp_path / "bad.ipynb")]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert check.main([str(tmp_path / "absent.ipynb")]) == 2
