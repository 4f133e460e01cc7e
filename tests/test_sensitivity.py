"""Sensitivity scan: one layer at a time, evaluated, restored; the input model is never changed."""
import numpy as np
import pytest

from adaprune_edu.data import load_dataset
from adaprune_edu.nn import MLP
from adaprune_edu.pruning.model import layer_sparsities, neuron_masks
from adaprune_edu.pruning.sensitivity import SensitivityTable, sensitivity_scan


@pytest.fixture(scope="module")
def trained():
    data = load_dataset("digits", seed=0)
    model = MLP([64, 32, 16, 10], seed=0)
    model.fit(data.X_train, data.y_train, epochs=8, progress=False)
    return model, data


def test_unstructured_scan_rows_and_model_untouched(trained):
    model, data = trained
    state = model.get_state()
    table = sensitivity_scan(model, data.X_val, data.y_val, sparsities=(0.5, 0.9, 1.0))
    assert table.layers == [0, 1, 2]
    assert len(table.rows) == 9
    assert table.baseline == model.score(data.X_val, data.y_val)
    for row in table.rows:
        assert row["achieved"] == pytest.approx(row["sparsity"], abs=1e-3)
        assert row["drop"] == pytest.approx(table.baseline - row["val_accuracy"])
    # Pruning the whole output layer leaves the bias alone: every sample gets the same class.
    last = [r for r in table.rows if r["layer"] == 2 and r["sparsity"] == 1.0][0]
    majority = np.bincount(data.y_val, minlength=10).max() / len(data.y_val)
    assert last["val_accuracy"] <= majority + 1e-12
    for before, after in zip(state["params"], model.params):
        np.testing.assert_array_equal(before["W"], after["W"])
    assert all(m["W"] is None for m in model.masks)


def test_one_row_equals_pruning_that_layer_by_hand(trained):
    model, data = trained
    table = sensitivity_scan(model, data.X_val, data.y_val, sparsities=(0.8,))
    by_hand = model.copy()
    W = by_hand.params[1]["W"]
    k = round(0.8 * W.size)
    order = np.argsort(np.abs(W).ravel(), kind="stable")
    mask = np.ones(W.size, dtype=W.dtype)
    mask[order[:k]] = 0
    by_hand.set_mask(1, mask.reshape(W.shape))
    row = [r for r in table.rows if r["layer"] == 1][0]
    assert row["val_accuracy"] == by_hand.score(data.X_val, data.y_val)
    assert layer_sparsities(by_hand)[1] == pytest.approx(row["achieved"])


def test_structured_scan_removes_neurons_of_one_hidden_layer(trained):
    model, data = trained
    table = sensitivity_scan(model, data.X_val, data.y_val, sparsities=(0.25, 0.5), granularity="structured",
                             criterion="activation", X_score=data.X_train[:200])
    assert table.layers == [0, 1] and len(table.rows) == 4
    assert [r["achieved"] for r in table.rows] == [0.25, 0.5, 0.25, 0.5]
    assert all(mask.all() for mask in neuron_masks(model))


def test_max_sparsity_stops_at_the_first_violation():
    table = SensitivityTable(baseline=0.9, granularity="unstructured", criterion="magnitude", rows=[
        {"layer": 0, "sparsity": s, "val_accuracy": a, "drop": 0.9 - a, "achieved": s}
        for s, a in [(0.5, 0.9), (0.8, 0.85), (0.9, 0.9)]] + [
        {"layer": 1, "sparsity": s, "val_accuracy": a, "drop": 0.9 - a, "achieved": s}
        for s, a in [(0.5, 0.7), (0.8, 0.9), (0.9, 0.6)]])
    assert table.max_sparsity(0.01) == [0.5, 0.0]
    assert table.max_sparsity(0.06) == [0.9, 0.0]
    s, a = table.curve(1)
    np.testing.assert_array_equal(s, [0.5, 0.8, 0.9])
    np.testing.assert_array_equal(a, [0.7, 0.9, 0.6])
    text = table.to_text()
    assert "dense layer" in text and "85.00" in text and "baseline val accuracy 90.00%" in text
    with pytest.raises(ValueError, match="layer=5"):
        table.curve(5)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(sparsities=()), ValueError, "sparsities"),
    (dict(sparsities=(0.0,)), ValueError, "sparsities"),
    (dict(sparsities=(0.5, 1.5)), ValueError, r"sparsities\[1\]=1.5 must be <= 1.0"),
    (dict(sparsities="0.5"), TypeError, "sparsities"),
    (dict(granularity="hybrid"), ValueError, "granularity"),
    (dict(criterion="size"), ValueError, "criterion"),
])
def test_bad_arguments(trained, kwargs, error, match):
    model, data = trained
    with pytest.raises(error, match=match):
        sensitivity_scan(model, data.X_val, data.y_val, **kwargs)


def test_bad_data_and_model(trained):
    model, data = trained
    with pytest.raises(ValueError, match="X_val"):
        sensitivity_scan(model, data.X_val[:, :5], data.y_val)
    with pytest.raises(TypeError, match="model must be"):
        sensitivity_scan("model", data.X_val, data.y_val)
