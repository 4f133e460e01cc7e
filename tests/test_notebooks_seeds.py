"""Every assert in a course notebook holds for other seeds, not only for ``SEED = 0``.

Each notebook keeps its seed in one code cell tagged ``parameters`` (papermill's convention)
holding ``SEED = 0``. Here every notebook is executed again with that cell set to other seeds
(outputs are not compared: the numbers move with the seed, the claims must not). Nothing is
written; a failing cell names the notebook and the seed.
"""
import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# seed 1 here; seed 2 in test_notebooks_seed2.py, so `make test` (-n 2 --dist loadfile) runs both at once
OTHER_SEEDS = (1, 2)

_spec = importlib.util.spec_from_file_location("execute_notebooks", ROOT / "scripts" / "execute_notebooks.py")
execute_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(execute_notebooks)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_one_parameters_cell_sets_the_seed(path):
    nb = nbformat.read(path, as_version=4)
    cell = execute_notebooks.parameters_cell(nb)  # raises unless exactly one, holding only `SEED = <int>`
    assert "SEED = 0" in cell.source
    first_use = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "SEED" in c.source)
    assert nb.cells[first_use] is cell, f"{path.name}: SEED is used before its parameters cell"


def test_parameters_cell_rules_can_fail():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("SEED = 0")])
    with pytest.raises(ValueError, match="exactly one"):
        execute_notebooks.parameters_cell(nb)
    nb.cells[0].metadata["tags"] = ["parameters"]
    assert execute_notebooks.parameters_cell(nb) is nb.cells[0]
    nb.cells[0].source = "SEED = 0\nrng = 1"
    with pytest.raises(ValueError, match="one line"):
        execute_notebooks.parameters_cell(nb)
    nb.cells[0].source = "SEED = 0"
    assert execute_notebooks.with_seed(nb, 3).cells[0].source == "SEED = 3"
    with pytest.raises(ValueError, match="seed=-1"):
        execute_notebooks.with_seed(nb, -1)


def test_a_seed_dependent_assert_is_caught(tmp_path):
    """The runner reports a claim that only holds for seed 0."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("SEED = 0"),
                                         nbformat.v4.new_code_cell("assert SEED == 0")])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "seed_only.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(RuntimeError, match="SEED = 1"):
        execute_notebooks.execute_with_seed(path, 1, timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_asserts_hold_for_seed_1(path):
    execute_notebooks.execute_with_seed(path, OTHER_SEEDS[0])
