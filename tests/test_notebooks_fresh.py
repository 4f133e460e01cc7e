"""The stored outputs of every notebook are fresh: they come from running the current code.

Two halves, neither of which re-executes anything here:

- this file checks, from the ``.ipynb`` alone, that the notebook was executed top to bottom in
  one run by ``scripts/execute_notebooks.py`` *after* its last code edit (every code cell has
  an execution count, they run 1, 2, 3, ..., no unexpected error is stored, and the hash of
  the code cells matches the one recorded at execution time);
- nbval (``pytest --nbval notebooks/``) re-executes each notebook and compares the fresh
  outputs with the stored ones.

Together: stored outputs = outputs of the current code, which is what a reader on GitHub sees.
"""
import hashlib
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
REFRESH = "refresh it with: .venv/bin/python scripts/execute_notebooks.py notebooks/{}"


def code_sha256(nb) -> str:
    """The hash ``scripts/execute_notebooks.py`` records (code cells' sources, in order)."""
    digest = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code":
            digest.update(cell.source.encode("utf-8"))
            digest.update(b"\0")
    return digest.hexdigest()


def raises_allowed(cell) -> bool:
    lines = [line.strip() for line in cell.source.splitlines()]
    return "# NBVAL_RAISES_EXCEPTION" in lines or "raises-exception" in cell.metadata.get("tags", [])


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 8, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_unchanged_since_execution(path):
    nb = nbformat.read(path, as_version=4)
    recorded = nb.metadata.get("adaprune_edu", {}).get("code_sha256")
    assert recorded is not None, f"{path.name} was not executed by the script; " + REFRESH.format(path.name)
    assert recorded == code_sha256(nb), f"{path.name}: code edited after execution; " + REFRESH.format(path.name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_executed_top_to_bottom_without_errors(path):
    nb = nbformat.read(path, as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    counts = [c.execution_count for c in code_cells]
    assert counts == list(range(1, len(code_cells) + 1)), (
        f"{path.name}: execution counts {counts} are not 1..{len(code_cells)}; " + REFRESH.format(path.name))
    for number, cell in enumerate(code_cells, start=1):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors or raises_allowed(cell), f"{path.name}, code cell {number}: stored error {errors[0].ename}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_unsanitised_memory_addresses(path):
    """An address like ``0x7f3a...`` differs on every run; print or sanitise it instead."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            text = output.get("text", "") or output.get("data", {}).get("text/plain", "")
            assert not re.search(r"at 0x[0-9a-f]{6,}", text), f"{path.name}: memory address in output: {text[:80]}"
