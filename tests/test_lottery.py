"""Lottery tickets: layer-wise rounds, rewinding, the two controls, and bad input."""
import numpy as np
import pytest

from adaprune_edu import MLP
from adaprune_edu.data import Dataset
from adaprune_edu.pruning.lottery import find_tickets, magnitude_round, random_masks_like, reinitialised, rewind


def _tiny_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(60, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    return Dataset("tiny", X[:40], y[:40], X[40:50], y[40:50], X[50:], y[50:], mean=np.zeros(4), scale=np.ones(4))


def test_magnitude_round_prunes_the_smallest_per_layer_and_the_output_layer_at_half_rate():
    model = MLP([2, 2, 2], seed=0)
    model.params[0]["W"][:] = [[0.1, -0.4], [0.3, -0.2]]
    model.params[1]["W"][:] = [[0.5, -0.6], [0.05, 0.7]]
    masks = magnitude_round(model, rate=0.5)  # hidden: 2 of 4; output: round(0.25 * 4) = 1 of 4
    np.testing.assert_array_equal(masks[0], [[0, 1], [1, 0]])
    np.testing.assert_array_equal(masks[1], [[1, 1], [0, 1]])


def test_magnitude_round_counts_only_what_is_left():
    model = MLP([10, 10, 4], seed=0)
    first = magnitude_round(model, 0.2, output_rate=0.1)
    model.set_mask(0, first[0])
    model.set_mask(1, first[1])
    second = magnitude_round(model, 0.2, output_rate=0.1)
    assert [int(m.sum()) for m in first] == [80, 36]
    assert [int(m.sum()) for m in second] == [64, 32]  # 20% of 80, round(0.1 * 36) = 4
    assert np.all(second[0] <= first[0]) and np.all(second[1] <= first[1])  # pruned stays pruned


def test_rewind_restores_exactly_the_initial_survivors():
    data = _tiny_data()
    model = MLP([4, 6, 3], seed=2)
    initial = model.get_state()["params"]
    model.fit(data.X_train, data.y_train, epochs=3, optimizer="adam", progress=False)
    masks = magnitude_round(model, 0.5)
    assert not np.allclose(model.params[0]["W"], initial[0]["W"])
    rewind(model, initial, masks)
    for layer, mask in enumerate(masks):
        np.testing.assert_array_equal(model.params[layer]["W"], initial[layer]["W"] * mask)
        np.testing.assert_array_equal(model.masks[layer]["W"], mask)
        np.testing.assert_array_equal(model.params[layer]["b"], initial[layer]["b"])


def test_controls_keep_the_counts_and_change_the_right_thing():
    model = MLP([6, 8, 3], seed=0)
    masks = magnitude_round(model, 0.5)
    shuffled = random_masks_like(masks, seed=1)
    assert [int(m.sum()) for m in shuffled] == [int(m.sum()) for m in masks]
    assert not np.array_equal(shuffled[0], masks[0])
    fresh = reinitialised(model, masks, seed=99)
    np.testing.assert_array_equal(fresh.masks[0]["W"], masks[0])
    assert not np.allclose(fresh.params[0]["W"][masks[0] == 1], model.params[0]["W"][masks[0] == 1])


def test_find_tickets_densities_nested_masks_and_rewound_rounds():
    data = _tiny_data()
    model = MLP([4, 10, 3], seed=0)
    initial = model.get_state()["params"]
    result = find_tickets(model, data, rounds=2, epochs=2, rate=0.5, seed=0)
    assert len(result.ticket) == 3 and len(result.reinit) == 2 and len(result.random_mask) == 2
    counts = [[int(m.sum()) for m in masks] for masks in result.masks]
    # output layer at half the rate: round(0.25 * 30) = 8 (half to even), then round(0.25 * 22) = 6
    assert counts == [[40, 30], [20, 22], [10, 16]]
    assert result.densities == pytest.approx([1.0, 42 / 70, 26 / 70])
    assert all(np.all(b <= a) for a, b in zip(result.masks[1][0], result.masks[2][0]))
    assert all(0 <= t.test_accuracy <= 1 and t.early_stop_iteration >= 1 for t in result.ticket)
    # the last round trained from the initial values of its survivors: pruned weights are still exactly zero
    np.testing.assert_array_equal(model.params[0]["W"][result.masks[2][0] == 0], 0)
    assert np.any(model.params[0]["W"] != initial[0]["W"] * result.masks[2][0])  # and it was trained


def test_same_seed_same_tickets():
    data = _tiny_data()
    a = find_tickets(MLP([4, 8, 3], seed=1), data, rounds=1, epochs=2, seed=3)
    b = find_tickets(MLP([4, 8, 3], seed=1), data, rounds=1, epochs=2, seed=3)
    assert [t.test_accuracy for t in a.reinit + a.random_mask] == [t.test_accuracy for t in b.reinit + b.random_mask]


@pytest.mark.parametrize("kwargs,error,words", [
    (dict(rate=1.0), ValueError, "rate=1.0"),
    (dict(rate=-0.1), ValueError, "rate=-0.1"),
    (dict(rate="0.2"), TypeError, "rate='0.2'"),
    (dict(output_rate=1.5), ValueError, "output_rate=1.5"),
])
def test_magnitude_round_bad_input(kwargs, error, words):
    with pytest.raises(error, match=words):
        magnitude_round(MLP([3, 3, 2], seed=0), **{"rate": 0.2, **kwargs})


@pytest.mark.parametrize("kwargs,error,words", [
    (dict(rounds=0), ValueError, "rounds=0"),
    (dict(epochs=0), ValueError, "epochs=0"),
    (dict(rewind_epoch=2), ValueError, "rewind_epoch=2"),
    (dict(control_epochs=0), ValueError, "control_epochs=0"),
])
def test_find_tickets_bad_input(kwargs, error, words):
    with pytest.raises(error, match=words):
        find_tickets(MLP([4, 3, 3], seed=0), _tiny_data(), **{"rounds": 1, "epochs": 2, **kwargs})


def test_rewind_bad_input():
    model = MLP([3, 3, 2], seed=0)
    with pytest.raises(ValueError, match="one entry per layer"):
        rewind(model, model.get_state()["params"][:1], [np.ones((3, 3))])
