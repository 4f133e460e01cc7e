"""N:M and block masks on matrices small enough to work out by hand."""
import numpy as np
import pytest

from adaprune_edu import course
from adaprune_edu.pruning import block_mask, block_norms, n_m_mask


def test_2_4_on_a_2x8_matrix_by_hand():
    # W is (n_in, n_out): groups of 4 run down each column. Column 0 has groups [3, -1, 0.5, 2] and
    # [0, 0, 7, -8]; column 1 groups [1, 1, 1, 1] (all tied) and [-5, 4, 0.1, 0.2].
    W = np.array([[3, -1, 0.5, 2, 0, 0, 7, -8],
                  [1, 1, 1, 1, -5, 4, 0.1, 0.2]]).T  # shape (8, 2)
    mask = n_m_mask(W, 2, 4)
    assert mask.shape == (8, 2)
    assert mask[:, 0].tolist() == [1, 0, 0, 1, 0, 0, 1, 1]  # |3|,|2| then |7|,|-8|
    assert mask[:, 1].tolist() == [1, 1, 0, 0, 1, 1, 0, 0]  # ties keep the earlier inputs
    assert mask.sum() == 8 and mask.mean() == 0.5


def test_1_4_keeps_one_per_group():
    W = np.array([[3, -1, 0.5, 2, 0, 0, 7, -8]]).T  # (8, 1)
    assert n_m_mask(W, 1, 4)[:, 0].tolist() == [1, 0, 0, 0, 0, 0, 0, 1]
    assert n_m_mask(W, 4, 4).sum() == 8 and n_m_mask(W, 0, 4).sum() == 0


def test_n_m_mask_keeps_the_weight_dtype():
    assert n_m_mask(np.ones((4, 2), dtype=np.float32), 2, 4).dtype == np.float32
    assert n_m_mask(np.ones((4, 2), dtype=np.int64), 2, 4).dtype == np.float64


def test_block_norms_and_fraction():
    W = np.arange(16, dtype=float).reshape(4, 4)  # 2x2 tiles: [[0,1],[4,5]] = 10, 18, 42, 50
    assert block_norms(W, (2, 2)).tolist() == [[10, 18], [42, 50]]
    assert block_mask(W, (2, 2), 0.5).tolist() == [[0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1]]
    assert block_mask(W, (2, 2), 1.0).sum() == 0  # a float 1.0 is all of them
    assert block_mask(W, (2, 2), 0).sum() == 16


def test_block_amount_int_is_an_exact_count():
    W = np.arange(16, dtype=float).reshape(4, 4)
    one = block_mask(W, (2, 2), 1)  # exactly one block: the one with the smallest norm
    assert one.tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]]
    assert block_mask(W, (2, 2), 3).tolist() == [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]]
    assert block_mask(W, (1, 4), 1)[0].tolist() == [0, 0, 0, 0] and block_mask(W, (1, 4), 1)[1:].all()


def test_block_ties_prune_the_earlier_block():
    assert block_mask(np.ones((2, 4)), (2, 2), 1).tolist() == [[0, 0, 1, 1], [0, 0, 1, 1]]


def test_bad_input_names_the_argument():
    W = np.ones((4, 4))
    with pytest.raises(ValueError, match="multiple of m=4"):
        n_m_mask(np.ones((6, 2)), 2, 4)
    with pytest.raises(ValueError, match="n=5"):
        n_m_mask(W, 5, 4)
    with pytest.raises(ValueError, match="m=0"):
        n_m_mask(W, 0, 0)
    with pytest.raises(ValueError, match="2-D"):
        n_m_mask(np.ones(4), 2, 4)
    with pytest.raises(TypeError, match="W="):
        n_m_mask("weights", 2, 4)
    with pytest.raises(ValueError, match="cannot be tiled"):
        block_mask(np.ones((3, 4)), (2, 2), 0.5)
    with pytest.raises(ValueError, match="amount=1.5"):
        block_mask(W, (2, 2), 1.5)
    with pytest.raises(ValueError, match="amount=5 is larger than the 4"):
        block_mask(W, (2, 2), 5)
    with pytest.raises(ValueError, match="amount=-1"):
        block_mask(W, (2, 2), -1)
    with pytest.raises(TypeError, match="amount=True"):
        block_mask(W, (2, 2), True)
    with pytest.raises(TypeError, match="block_shape"):
        block_mask(W, 2, 0.5)
    with pytest.raises(ValueError, match=r"block_shape\[1\]"):
        block_mask(W, (2, 0), 0.5)


def test_course_names_are_the_package_functions():
    assert course.n_m_mask is n_m_mask and course.block_mask is block_mask


def test_docstring_examples():
    import doctest

    from adaprune_edu.pruning import patterns

    result = doctest.testmod(patterns, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 2 and result.failed == 0
