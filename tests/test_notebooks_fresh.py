"""The stored outputs of every notebook are fresh: they come from running the current code.

Two halves, neither of which re-executes anything here:

- this file checks, from the ``.ipynb`` alone, that the notebook was executed top to bottom in
  one run by ``scripts/execute_notebooks.py`` *after* its last code edit (every code cell has
  an execution count, they run 1, 2, 3, ..., no unexpected error is stored, no memory address
  is printed, and the hash of the code cells matches the one recorded at execution time);
- nbval (``pytest --nbval notebooks/``, part of ``make test``) re-executes each notebook and
  compares the fresh outputs with the stored ones, which also catches a library change that
  moved a number.

Together: stored outputs = outputs of the current code, which is what a reader on GitHub sees.
"""
import copy
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REFRESH = "refresh it with: .venv/bin/python scripts/execute_notebooks.py notebooks/{}"

_spec = importlib.util.spec_from_file_location("execute_notebooks", ROOT / "scripts" / "execute_notebooks.py")
execute_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(execute_notebooks)


def staleness(nb, name: str) -> list:
    """Everything that says ``nb``'s stored outputs may not come from its current code (empty = fresh)."""
    problems = []
    recorded = nb.metadata.get("adaprune_edu", {}).get("code_sha256")
    if recorded is None:
        problems.append(f"{name} was not executed by scripts/execute_notebooks.py; " + REFRESH.format(name))
    elif recorded != execute_notebooks.code_sha256(nb):
        problems.append(f"{name}: code edited after execution; " + REFRESH.format(name))
    code_cells = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    counts = [c.execution_count for c in code_cells]
    if counts != list(range(1, len(code_cells) + 1)):
        problems.append(f"{name}: execution counts {counts} are not 1..{len(code_cells)}; " + REFRESH.format(name))
    for number, cell in enumerate(code_cells, start=1):
        for output in cell.get("outputs", []):
            if output.output_type == "error" and not execute_notebooks.allows_error(cell):
                problems.append(f"{name}, code cell {number}: stored error {output.ename}")
            text = output.get("text", "") or output.get("data", {}).get("text/plain", "")
            if re.search(r"at 0x[0-9a-f]{6,}", text):  # differs on every run: print or sanitise it instead
                problems.append(f"{name}, code cell {number}: memory address in output: {text[:80]}")
    return problems


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 8, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_are_fresh(path):
    assert staleness(nbformat.read(path, as_version=4), path.name) == []


def test_staleness_detects_edits_reordering_errors_and_addresses():
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    assert staleness(nb, "nb") == []
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]

    edited = copy.deepcopy(nb)
    edited.cells[code[0]].source += "\n# an edit"
    assert any("code edited" in p for p in staleness(edited, "nb"))

    rerun = copy.deepcopy(nb)
    rerun.cells[code[1]].execution_count = 42
    assert any("execution counts" in p for p in staleness(rerun, "nb"))

    failed = copy.deepcopy(nb)
    failed.cells[code[0]].outputs.append(nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=[]))
    assert any("stored error ValueError" in p for p in staleness(failed, "nb"))

    address = copy.deepcopy(nb)
    address.cells[code[0]].outputs.append(nbformat.v4.new_output("stream", name="stdout", text="<f at 0x7f3a12bc>"))
    assert any("memory address" in p for p in staleness(address, "nb"))

    never_run = copy.deepcopy(nb)
    del never_run.metadata["adaprune_edu"]
    assert any("not executed" in p for p in staleness(never_run, "nb"))
