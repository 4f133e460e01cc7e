"""The notebook-11 experiment helpers: class subsets, summaries, and one tiny run of each experiment."""
import numpy as np
import pytest

from adaprune_edu.data import Dataset
from adaprune_edu.pruning import training_time as tt


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    y = np.arange(n) % 10
    X[:, 0] += y  # learnable
    a, b = int(0.6 * n), int(0.8 * n)
    return Dataset("tiny10", X[:a], y[:a], X[a:b], y[a:b], X[b:], y[b:], mean=np.zeros(6), scale=np.ones(6))


def test_class_subset_keeps_and_relabels_in_order():
    data = _data()
    sub = tt.class_subset(data, [7, 5])
    assert set(sub.y_train) == {0, 1}
    np.testing.assert_array_equal(sub.X_train, data.X_train[np.isin(data.y_train, [7, 5])])
    np.testing.assert_array_equal(sub.y_train, (data.y_train[np.isin(data.y_train, [7, 5])] == 5).astype(int))


def test_mean_std():
    assert tt.mean_std([0.5, 0.7]) == pytest.approx((0.6, 0.1))


def test_each_experiment_runs_on_a_tiny_dataset(monkeypatch):
    monkeypatch.setattr(tt, "HIDDEN", (12, 8))
    data = _data()
    lot = tt.lottery_experiment(data, 0, epochs=1, rate=0.5, rounds=2, control_rounds=(2,), long_factor=2,
                                long_controls=("reinit",))
    assert len(lot["ticket"]) == 3 and set(lot["reinit_long"]) == {2} and lot["random_mask_long"] == {}
    init = tt.at_init_experiment(data, 0, 0.2, 1, methods=("snip", "synflow"), shuffled=("snip",), batch=32)
    assert set(init["accuracy"]) == {"snip", "synflow", "snip_shuffled"}
    assert init["layer_density"]["snip"] == pytest.approx(init["layer_density"]["snip_shuffled"])
    dst = tt.sparse_training_experiment(data, 0, 0.2, 4)
    ratios = dst["macs_ratio"]
    assert ratios["static"] == pytest.approx(ratios["set"]) and ratios["set"] < ratios["rigl"] < 1
    mov = tt.movement_experiment(data, 0, (0.5,), 2, transfer=True)
    assert set(mov["accuracy"]) == {"movement", "magnitude"} and 0 <= mov["pretrained"] <= 1
