"""Every notebook's asserts hold with ``SEED = 2`` as well (see test_notebooks_seeds.py).

A file of its own so that a parallel run (``pytest -n 2 --dist loadfile``) executes the two seeds at once.
"""
import pytest
from test_notebooks_seeds import NOTEBOOKS, OTHER_SEEDS, execute_notebooks


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_asserts_hold_for_seed_2(path):
    execute_notebooks.execute_with_seed(path, OTHER_SEEDS[1])
