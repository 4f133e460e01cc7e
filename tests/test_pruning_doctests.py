"""The examples in the pruning modules' docstrings run and print what they claim."""
import doctest

import pytest

from adaprune_edu.pruning import amount, criteria, groups, masks, model, regularizers, schedules


@pytest.mark.parametrize("module", [amount, masks, criteria, regularizers, schedules, model, groups])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
