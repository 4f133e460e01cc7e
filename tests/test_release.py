"""``adaprune-edu release``: exercises/ is exactly what the solutions generate, and nothing else is touched."""
from __future__ import annotations

import ast
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from adaprune_edu.grading import release
from adaprune_edu.grading.cells import (
    METADATA_KEY,
    assignment_id,
    edited_protected_cells,
    grade_id,
    is_answer,
    is_test,
    released_checksum,
)

pytest.importorskip("nbgrader")

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    dest = tmp_path_factory.mktemp("exercises")
    (dest / "README.md").write_text("students: keep me\n")
    assert release.main(["--source", str(SOLUTIONS), "--dest", str(dest)]) == 0
    return dest


def test_committed_exercises_equal_a_fresh_release(fresh):
    generated = sorted(p.name for p in fresh.glob("*.ipynb"))
    committed = sorted(p.name for p in EXERCISES.glob("*.ipynb"))
    assert generated == committed == sorted(p.name for p in SOLUTIONS.glob("*.ipynb"))
    for name in generated:
        assert (fresh / name).read_bytes() == (EXERCISES / name).read_bytes(), \
            f"exercises/{name} differs from what `adaprune-edu release` generates: run it and commit"


def test_release_writes_only_notebooks(fresh):
    assert (fresh / "README.md").read_text() == "students: keep me\n"
    assert sorted(p.suffix for p in fresh.iterdir()) == [".ipynb"] * len(list(SOLUTIONS.glob("*.ipynb"))) + [".md"]


def test_exercises_hide_answers_and_hidden_tests_and_carry_the_assignment_id(fresh):
    for path in sorted(fresh.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert assignment_id(nb) == path.stem
        text = "\n".join(cell.source for cell in nb.cells)
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text and "END SOLUTION" not in text
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None
            if is_answer(cell) and cell.cell_type == "code":
                assert "raise NotImplementedError()" in cell.source, grade_id(cell)
            if "nbgrader" in cell.metadata:
                assert "checksum" in cell.metadata["nbgrader"], grade_id(cell)


def test_our_checksum_is_nbgrader_s_and_matches_every_released_cell(fresh):
    from nbgrader.utils import compute_checksum

    compared = 0
    for path in sorted(fresh.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if "nbgrader" in cell.metadata:
                assert released_checksum(cell) == compute_checksum(cell) == cell.metadata["nbgrader"]["checksum"]
                compared += 1
        assert edited_protected_cells(nb) == [], path.name
    assert compared >= 5 * 6


def test_release_is_deterministic(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(SOLUTIONS / "a2_magnitude_masks.ipynb", source)
    first = release.release(source, tmp_path / "one")[0].read_bytes()
    second = release.release(source, tmp_path / "two")[0].read_bytes()
    assert first == second


def test_a_renamed_source_with_another_stamp_is_refused_and_nothing_is_written(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(SOLUTIONS / "a1_dense_layer.ipynb", source / "a1_dense_layer.ipynb")
    shutil.copy(SOLUTIONS / "a2_magnitude_masks.ipynb", source / "z_copy.ipynb")
    with pytest.raises(ValueError, match="stamped as assignment 'a2_magnitude_masks'"):
        release.release(source, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_an_unstamped_source_is_stamped_with_its_file_name(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    nb = nbformat.read(SOLUTIONS / "a1_dense_layer.ipynb", as_version=4)
    del nb.metadata[METADATA_KEY]
    nbformat.write(nb, source / "week1.ipynb")
    written = release.release(source, tmp_path / "dest")
    assert assignment_id(nbformat.read(written[0], as_version=4)) == "week1"


def test_misuse_exits_2(tmp_path, capsys):
    assert release.main(["--source", str(tmp_path / "none"), "--dest", str(tmp_path / "d")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert release.main(["--source", str(SOLUTIONS), "--dest", str(SOLUTIONS)]) == 2
    assert "would be overwritten" in capsys.readouterr().err


def test_missing_nbgrader_gives_install_instructions(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "nbgrader", None)
    with pytest.raises(release.MissingClassroomExtra, match=r"adaprune-edu\[classroom\]"):
        release.load_preprocessors()
    assert release.main(["--source", str(SOLUTIONS), "--dest", str(tmp_path / "d")]) == 2
    assert "classroom" in capsys.readouterr().err


def _unexplained_checks(source: str) -> list:
    """Lines of a test cell with an ``assert`` or ``np.testing`` call that carries no message."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assert) and node.msg is None:
            found.append(node.lineno)
        elif isinstance(node, ast.Call) and ast.unparse(node.func).startswith("np.testing.") \
                and not any(keyword.arg == "err_msg" for keyword in node.keywords):
            found.append(node.lineno)
    return found


def test_every_check_in_a_test_cell_says_what_it_expected():
    assert _unexplained_checks("assert x == 1\nnp.testing.assert_allclose(a, b)\nassert y, 'why'") == [1, 2]
    for path in sorted(SOLUTIONS.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and is_test(cell):
                lines = cell.source.splitlines()
                bare = [lines[n - 1].strip() for n in _unexplained_checks(cell.source)]
                assert not bare, f"{path.name} {grade_id(cell)}: add a message to {bare}"


def test_every_test_cell_has_visible_and_hidden_checks():
    for path in sorted(SOLUTIONS.glob("*.ipynb")):
        tests = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code" and is_test(cell)]
        assert len(tests) >= 3, path.name
        for cell in tests:
            visible, _, rest = cell.source.partition("### BEGIN HIDDEN TESTS")
            hidden = rest.partition("### END HIDDEN TESTS")[0]
            assert "assert" in visible and "assert" in hidden, f"{path.name} {grade_id(cell)}"
