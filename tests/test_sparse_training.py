"""Dynamic sparse training: ERK by hand, RigL's exact regrowth, SET's counts, the cosine decay, FLOPs."""
import math

import numpy as np
import pytest

from adaprune_edu import MLP
from adaprune_edu.pruning.sparse_training import DynamicSparseTraining, erk_densities, random_masks, training_macs


def test_erk_densities_by_hand():
    # layer 0 is 4x4: (4+4)/16 = 0.5; layer 1 is 4x2: (4+2)/8 = 0.75; eps = 0.5*24 / (0.5*16 + 0.75*8) = 6/7
    assert erk_densities([4, 4, 2], 0.5) == pytest.approx([3 / 7, 9 / 14])
    # at 0.9 layer 1 would need 0.75 * 21.6/14 > 1: it goes dense and layer 0 takes (21.6 - 8) / 16
    assert erk_densities([4, 4, 2], 0.9) == pytest.approx([0.85, 1.0])


def test_erk_keeps_the_overall_density_and_small_layers_denser():
    sizes = [40, 300, 100, 10]
    densities = erk_densities(sizes, 0.02)
    counts = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    assert sum(d * n for d, n in zip(densities, counts)) == pytest.approx(0.02 * sum(counts))
    assert densities[2] > densities[0] > densities[1]


def test_random_masks_have_exact_counts():
    masks = random_masks([5, 6, 3], [0.5, 1 / 3], seed=0)
    assert [int(m.sum()) for m in masks] == [15, 6]


def _sparse_model(seed=0):
    model = MLP([6, 8, 3], seed=seed, dtype="float64")
    for layer, mask in enumerate(random_masks(model.layer_sizes, [0.5, 0.5], seed=seed)):
        model.set_mask(layer, mask)
    return model


def test_rigl_drops_the_smallest_and_regrows_exactly_the_k_largest_gradient_zeros():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 6)), rng.integers(0, 3, size=20)
    model = _sparse_model()
    model.fit(X, y, epochs=1, optimizer="adam", progress=False)
    before = [m["W"].copy() for m in model.masks]
    W0 = [p["W"].copy() for p in model.params]
    dense = model.copy()
    dense.clear_masks()
    _, grads = dense.loss(X, y)  # the callback draws all 20 rows: the same batch
    updater = DynamicSparseTraining("rigl", X, y, epochs=8, update_fraction=0.5, grad_batch_size=20)
    updater(model, epoch=0)
    fraction = updater.fraction_at(0)
    for layer in range(2):
        active = before[layer].ravel() == 1
        k = int(round(fraction * active.sum()))
        order = np.argsort(np.abs(W0[layer].ravel()[active]), kind="stable")
        dropped = np.flatnonzero(active)[order[:k]]
        inactive = np.flatnonzero(~active)
        candidates = np.sort(np.concatenate([inactive, dropped]))
        g = np.abs(grads[layer]["W"].ravel()[candidates])
        grown = candidates[np.argsort(-g, kind="stable")[:k]]
        expected = active.copy()
        expected[dropped] = False
        expected[grown] = True
        np.testing.assert_array_equal(model.masks[layer]["W"].ravel(), expected)
        assert updater.regrown_[layer] == k > 0
        np.testing.assert_array_equal(model.params[layer]["W"].ravel()[grown], 0.0)  # regrown start at zero
        for buffers in model.optimizer_.state[layer].values():
            np.testing.assert_array_equal(buffers["W"].ravel()[grown], 0.0)  # with fresh optimizer state


def test_set_keeps_each_layer_count_and_training_keeps_it():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(30, 6)), rng.integers(0, 3, size=30)
    model = _sparse_model(1)
    counts = [int(m["W"].sum()) for m in model.masks]
    updater = DynamicSparseTraining("set", X, y, epochs=6, seed=0)
    start = [m["W"].copy() for m in model.masks]
    model.fit(X, y, epochs=6, optimizer="adam", callbacks=[updater], progress=False)
    assert [int(m["W"].sum()) for m in model.masks] == counts
    assert updater.n_updates_ == 4  # updates after epochs 1..4; from 4.5 = 0.75 * 6 on, none
    assert not np.array_equal(start[0], model.masks[0]["W"])
    assert np.all(model.params[0]["W"][model.masks[0]["W"] == 0] == 0)


def test_cosine_decayed_update_fraction():
    updater = DynamicSparseTraining("set", np.zeros((2, 2)), np.zeros(2), epochs=8, update_fraction=0.3)
    # T = 0.75 * 8 = 6 epochs; after epoch t (0-based) t + 1 are done
    assert updater.fraction_at(0) == pytest.approx(0.15 * (1 + math.cos(math.pi / 6)))
    assert updater.fraction_at(2) == pytest.approx(0.15)
    assert updater.fraction_at(5) == 0.0 and updater.fraction_at(7) == 0.0


def test_training_macs_by_hand():
    assert training_macs(100, 10, 2) == 3 * 100 * 10 * 2
    assert training_macs(100, 10, 2, dense_weights=1000, dense_gradient_samples=5) == 6000 + 3 * 1000 * 5


@pytest.mark.parametrize("call,error,words", [
    (lambda: erk_densities([4, 4, 2], 0.0), ValueError, "density=0.0"),
    (lambda: erk_densities([4], 0.5), ValueError, "at least an input and an output"),
    (lambda: DynamicSparseTraining("rig", None, None, 5), ValueError, "method='rig'"),
    (lambda: DynamicSparseTraining("set", None, None, 5, update_fraction=2), ValueError, "update_fraction=2"),
    (lambda: DynamicSparseTraining("set", None, None, 5, grad_batch_size=0), ValueError, "grad_batch_size=0"),
    (lambda: training_macs(10, 5, 1, dense_gradient_samples=3), ValueError, "needs dense_weights"),
    (lambda: training_macs(-1, 5, 1), ValueError, "active_weights=-1"),
])
def test_bad_input(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_docstring_examples_run():
    import doctest

    from adaprune_edu.pruning import sparse_training

    failures, tried = doctest.testmod(sparse_training)
    assert tried >= 1 and failures == 0
