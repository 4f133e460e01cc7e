"""Structured surgery: a smaller dense network with exactly the masked network's outputs."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adaprune_edu.nn import MLP
from adaprune_edu.pruning.surgery import removable_neurons, shrink


def close(a, b, tol=1e-6):
    """Max abs difference within ``tol`` relative to the size of the logits (float32 rounding)."""
    return float(np.max(np.abs(a - b))) <= tol * max(1.0, float(np.max(np.abs(b))))


def mask_neurons(model, layer, dead):
    """Structured pruning by hand: column of W[layer], bias entry, row of W[layer + 1]."""
    mW = np.ones_like(model.params[layer]["W"])
    mW[:, dead] = 0
    mb = np.ones_like(model.params[layer]["b"])
    mb[dead] = 0
    mW_next = np.ones_like(model.params[layer + 1]["W"])
    mW_next[dead, :] = 0
    model.set_mask(layer, mW)
    model.set_mask(layer, mb, key="b")
    model.set_mask(layer + 1, mW_next)


@pytest.fixture
def X():
    return np.random.default_rng(0).normal(size=(50, 6)).astype(np.float32)


def test_structured_neurons_are_removed_and_outputs_match(X):
    model = MLP([6, 8, 5, 3], seed=0)
    mask_neurons(model, 0, [1, 4, 6])
    mask_neurons(model, 1, [0, 2])
    small = shrink(model)
    assert small.layer_sizes == [6, 5, 3, 3]
    assert close(small.forward(X), model.forward(X))
    np.testing.assert_array_equal(small.predict(X), model.predict(X))


def test_surviving_weights_are_the_original_ones(X):
    model = MLP([6, 8, 3], seed=1)
    mask_neurons(model, 0, [0, 7])
    small = shrink(model)
    np.testing.assert_array_equal(small.params[0]["W"], model.params[0]["W"][:, 1:7])
    np.testing.assert_array_equal(small.params[1]["W"], model.params[1]["W"][1:7, :])


def test_relu_neuron_with_zero_inputs_but_positive_bias_is_folded_not_dropped(X):
    model = MLP([6, 4, 2], seed=2)
    model.params[0]["W"][:, 2] = 0.0
    model.params[0]["b"][2] = 0.7  # constant output relu(0.7) = 0.7 feeds the next layer
    before = model.forward(X).copy()
    small = shrink(model)
    assert small.layer_sizes == [6, 3, 2]
    expected_bias = model.params[1]["b"] + 0.7 * model.params[1]["W"][2, :]
    np.testing.assert_allclose(small.params[1]["b"], expected_bias, rtol=1e-6)
    assert close(small.forward(X), before)
    # Dropping it without the fold would change the outputs: the fold is what makes surgery exact.
    naive = small.copy()
    naive.params[1]["b"] = model.params[1]["b"].copy()
    assert not close(naive.forward(X), before)


def test_sigmoid_neuron_with_zero_inputs_outputs_one_half(X):
    model = MLP([6, 4, 2], activation="sigmoid", seed=3)
    model.params[0]["W"][:, 0] = 0.0  # bias 0 -> constant 0.5, not 0
    small = shrink(model)
    assert small.layer_sizes == [6, 3, 2]
    assert close(small.forward(X), model.forward(X))


def test_disconnected_neuron_is_removed_and_removal_cascades(X):
    model = MLP([6, 5, 4, 2], seed=4)
    model.params[2]["W"][1, :] = 0.0  # neuron 1 of hidden layer 2: nobody reads it
    # neuron 3 of hidden layer 1 only feeds neuron 1 of hidden layer 2
    model.params[1]["W"][3, :] = 0.0
    model.params[1]["W"][3, 1] = 0.9
    assert [f.sum() for f in removable_neurons(model)] == [0, 1]
    small = shrink(model)
    assert small.layer_sizes == [6, 4, 3, 2]
    assert close(small.forward(X), model.forward(X))


def test_whole_layer_removed_keeps_a_zero_placeholder(X):
    model = MLP([6, 3, 2], seed=5)
    model.params[0]["b"][:] = [0.5, -0.2, 1.0]
    model.params[0]["W"][:] = 0.0
    small = shrink(model)
    assert small.layer_sizes == [6, 1, 2]
    assert close(small.forward(X), model.forward(X))
    np.testing.assert_array_equal(small.params[1]["W"], 0.0)


def test_unstructured_masks_of_survivors_are_kept_and_input_is_untouched(X):
    model = MLP([6, 8, 3], seed=6)
    mask = (np.random.default_rng(0).random((6, 8)) > 0.5).astype(np.float32)
    mask[:, 3] = 0
    model.set_mask(0, mask)
    state = model.get_state()
    small = shrink(model)
    np.testing.assert_array_equal(small.masks[0]["W"], np.delete(mask, 3, axis=1))
    assert small.masks[1]["W"] is None
    for a, b in zip(state["params"], model.params):
        np.testing.assert_array_equal(a["W"], b["W"])
    # Fine-tuning the smaller network keeps its pruned weights at zero.
    small.fit(X, np.arange(50) % 3, epochs=1, progress=False)
    assert np.all(small.params[0]["W"][small.masks[0]["W"] == 0] == 0)


def test_shrink_rejects_non_models():
    with pytest.raises(TypeError, match="model must be"):
        shrink([[1.0]])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), activation=st.sampled_from(["relu", "sigmoid", "tanh"]),
       p_neuron=st.floats(0.0, 0.9), p_weight=st.floats(0.0, 0.95))
def test_shrink_is_exact_for_random_masks(seed, activation, p_neuron, p_weight):
    rng = np.random.default_rng(seed)
    model = MLP([6, 7, 5, 3], activation=activation, seed=seed, dtype="float64")
    for layer in range(model.n_layers):
        model.params[layer]["b"][:] = rng.normal(size=model.params[layer]["b"].shape)
        model.set_mask(layer, (rng.random(model.params[layer]["W"].shape) >= p_weight).astype(float))
    for layer, width in [(0, 7), (1, 5)]:
        mask_neurons(model, layer, np.flatnonzero(rng.random(width) < p_neuron))
    X = rng.normal(size=(20, 6))
    small = shrink(model)
    assert all(a <= b for a, b in zip(small.layer_sizes, model.layer_sizes))
    np.testing.assert_allclose(small.forward(X), model.forward(X), rtol=1e-10, atol=1e-10)
    assert not any(flags.any() for flags in removable_neurons(small)) or 1 in small.layer_sizes[1:-1]
