"""One helper drops the lowest scores everywhere: ``masks.prune_lowest``.

The one-shot masks and SparseGPT's per-block choice used to carry their own copies of "drop the
lowest ``round(s * n)``". The copies are kept below, verbatim, as oracles: the shared helper must
give bit-identical masks on random scores, with and without ties, at every sparsity.
"""
import numpy as np
import pytest

from adaprune_edu.pruning.amount import compute_count
from adaprune_edu.pruning.masks import prune_lowest
from adaprune_edu.pruning.one_shot import one_shot_mask


# ---------------------------------------------------------------- the former copies (oracles)
def old_prune_lowest(scores, keep, count):
    keep = np.asarray(keep, dtype=bool)
    candidates = np.flatnonzero(keep)
    order = np.argsort(np.asarray(scores)[candidates], kind="stable")
    new_keep = keep.copy()
    new_keep[candidates[order[:count]]] = False
    return new_keep


def old_keep_fraction(scores, sparsity):  # reconstruction._keep_fraction
    count = int(round(sparsity * scores.size))
    keep = np.ones(scores.size, dtype=bool)
    keep[np.argsort(scores, axis=None, kind="stable")[:count]] = False
    return keep.reshape(scores.shape)


def old_one_shot_mask(scores, sparsity, group):  # one_shot.one_shot_mask without a pattern
    if group == "layer":
        keep = np.ones(scores.size, dtype=bool)
        keep[np.argsort(scores, axis=None, kind="stable")[:int(round(sparsity * scores.size))]] = False
        return keep.reshape(scores.shape).astype(np.float64)
    count = int(round(sparsity * scores.shape[0]))
    order = np.argsort(scores, axis=0, kind="stable")
    keep = np.ones(scores.shape, dtype=bool)
    np.put_along_axis(keep, order[:count], False, axis=0)
    return keep.astype(np.float64)


def random_scores(rng, shape, ties):
    return rng.integers(0, 4, size=shape).astype(float) if ties else rng.standard_normal(shape)


SPARSITIES = (0.0, 0.1, 0.25, 0.5, 0.625, 0.9, 1.0)


@pytest.mark.parametrize("ties", [False, True])
def test_one_shot_masks_are_bit_identical_to_the_former_code(ties):
    rng = np.random.default_rng(int(ties))
    for shape in ((1, 1), (7, 3), (16, 16), (33, 5), (4, 40)):
        scores = random_scores(rng, shape, ties)
        for sparsity in SPARSITIES:
            for group in ("per_output", "layer"):
                new, old = one_shot_mask(scores, sparsity, group=group), old_one_shot_mask(scores, sparsity, group)
                assert new.dtype == old.dtype and np.array_equal(new, old), (shape, sparsity, group)


@pytest.mark.parametrize("ties", [False, True])
def test_sparsegpt_block_choice_is_bit_identical_to_the_former_code(ties):
    rng = np.random.default_rng(10 + int(ties))
    for shape in ((5, 2), (64, 9), (128, 17)):
        scores = np.abs(random_scores(rng, shape, ties))
        for sparsity in SPARSITIES:
            new = prune_lowest(scores, np.ones(shape, dtype=bool), compute_count(sparsity, scores.size, "sparsity"))
            assert np.array_equal(new, old_keep_fraction(scores, sparsity)), (shape, sparsity)


def test_flat_calls_are_unchanged_and_accept_any_shape():
    rng = np.random.default_rng(3)
    for ties in (False, True):
        scores = random_scores(rng, (6, 5), ties)
        keep = rng.random((6, 5)) < 0.6
        for count in (0, 1, int(keep.sum()) // 2, int(keep.sum())):
            flat = prune_lowest(scores.ravel(), keep.ravel(), count)
            assert np.array_equal(flat, old_prune_lowest(scores.ravel(), keep.ravel(), count))
            assert np.array_equal(prune_lowest(scores, keep, count), flat.reshape(6, 5))


def test_per_slice_with_an_existing_mask_equals_one_call_per_slice():
    rng = np.random.default_rng(4)
    scores = random_scores(rng, (8, 6), ties=True)
    keep = np.ones((8, 6), dtype=bool)
    keep[rng.integers(0, 8, size=6), np.arange(6)] = False  # one entry already pruned per column
    for axis, count in ((0, 3), (1, 2), (-1, 1)):
        got = prune_lowest(scores, keep, count, axis=axis)
        moved_s, moved_k = np.moveaxis(scores, axis, -1), np.moveaxis(keep, axis, -1)
        expected = np.moveaxis(np.array([old_prune_lowest(s, k, count) for s, k in zip(moved_s, moved_k)]), -1, axis)
        assert np.array_equal(got, expected), axis
        assert np.all(got <= keep), "pruned entries stay pruned"
    full = prune_lowest(scores, np.ones((8, 6), dtype=bool), 3, axis=0)  # the vectorised path
    assert np.array_equal(full.sum(axis=0), [5] * 6)
    looped = np.array([old_prune_lowest(s, np.ones(8, dtype=bool), 3) for s in scores.T]).T
    assert np.array_equal(full, looped)


def test_per_slice_on_a_3d_array_and_a_bad_axis():
    scores = np.arange(24.0)[::-1].reshape(2, 3, 4)
    got = prune_lowest(scores, np.ones(scores.shape, dtype=bool), 1, axis=1)
    assert np.array_equal(got.sum(axis=1), np.full((2, 4), 2)), "one entry dropped per slice along axis 1"
    assert not got[:, 2, :].any(), "the lowest along axis 1 is the last row of each block"
    with pytest.raises(ValueError, match="axis=3 is out of range"):
        prune_lowest(scores, np.ones(scores.shape, dtype=bool), 1, axis=3)
    with pytest.raises(TypeError, match="axis=1.5 must be an int or None"):
        prune_lowest(scores, np.ones(scores.shape, dtype=bool), 1, axis=1.5)
