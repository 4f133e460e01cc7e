"""Importance criteria on tiny inputs whose answers can be worked out by hand."""
import numpy as np
import pytest

from adaprune_edu.nn import MLP
from adaprune_edu.pruning import criteria as C

SIGMOID_2 = 1.0 / (1.0 + np.exp(-2.0))  # softmax([1, -1])[0]


def test_magnitude():
    np.testing.assert_array_equal(C.magnitude([[1.0, -2.0], [0.0, 3.5]]), [[1.0, 2.0], [0.0, 3.5]])


def test_neuron_norms():
    W = np.array([[3.0, 0.0, -1.0], [4.0, 1.0, 1.0]])
    np.testing.assert_allclose(C.neuron_norms(W), [5.0, 1.0, np.sqrt(2)])
    np.testing.assert_allclose(C.neuron_norms(W, n=1), [7.0, 1.0, 2.0])
    np.testing.assert_allclose(C.neuron_norms(W, n=np.inf), [4.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"W must be 2-D \(n_in, n_out\), got shape \(3,\)"):
        C.neuron_norms(np.ones(3))


def one_layer_model():
    """A float64 softmax layer 2 -> 2 with W = [[1, -1], [0, 0]], b = 0."""
    model = MLP([2, 2], dtype="float64")
    model.params[0]["W"][:] = [[1.0, -1.0], [0.0, 0.0]]
    model.params[0]["b"][:] = 0.0
    return model


# The same input twice with opposite labels: the per-sample gradients of W[0, :] are
# [SIGMOID_2 - 1, 1 - SIGMOID_2] (label 0) and [SIGMOID_2, -SIGMOID_2] (label 1).
X2 = np.array([[1.0, 0.0], [1.0, 0.0]])
Y2 = np.array([0, 1])


def test_accumulated_gradient_averages_absolute_values_per_batch():
    scores = C.accumulated_gradient(one_layer_model(), X2, Y2, batch_size=1)
    # mean of |SIGMOID_2 - 1| and |SIGMOID_2| is exactly 1/2
    np.testing.assert_allclose(scores[0], [[0.5, 0.5], [0.0, 0.0]])
    # one batch of both samples: the two gradients partly cancel before the absolute value
    full = C.accumulated_gradient(one_layer_model(), X2, Y2, batch_size=2)
    np.testing.assert_allclose(full[0], [[SIGMOID_2 - 0.5] * 2, [0.0, 0.0]])
    # only the first batch
    first = C.accumulated_gradient(one_layer_model(), X2, Y2, batch_size=1, n_batches=1)
    np.testing.assert_allclose(first[0], [[1 - SIGMOID_2] * 2, [0.0, 0.0]])


def test_taylor_is_weight_times_gradient():
    model = one_layer_model()
    model.params[0]["W"][1, :] = [0.0, 0.0]
    scores = C.taylor(model, X2, Y2, batch_size=1)
    np.testing.assert_allclose(scores[0], [[0.5, 0.5], [0.0, 0.0]])  # |w| = 1 on row 0, w = 0 on row 1
    model.params[0]["W"][0, :] = [2.0, -2.0]
    doubled = C.taylor(model, X2, Y2, batch_size=1)
    sig4 = 1.0 / (1.0 + np.exp(-4.0))
    np.testing.assert_allclose(doubled[0][0], [2 * 0.5 * ((1 - sig4) + sig4)] * 2)


def test_gradient_scores_are_zero_where_masked():
    model = one_layer_model()
    model.set_mask(0, np.array([[1, 0], [1, 1]]))
    assert C.accumulated_gradient(model, X2, Y2, batch_size=1)[0][0, 1] == 0.0
    assert C.taylor(model, X2, Y2, batch_size=1)[0][0, 1] == 0.0


def hidden_model():
    """2 -> 3 -> 2 ReLU; hidden pre-activations are x0 * [1, -1, 0]."""
    model = MLP([2, 3, 2], dtype="float64")
    model.params[0]["W"][:] = [[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]]
    model.params[0]["b"][:] = 0.0
    return model


X3 = np.array([[1.0, 5.0], [-2.0, 5.0], [3.0, 5.0]])  # hidden: [1,0,0], [0,2,0], [3,0,0]


def test_mean_activation():
    (scores,) = C.mean_activation(hidden_model(), X3)
    np.testing.assert_allclose(scores, [4 / 3, 2 / 3, 0.0])


def test_apoz():
    (zeros,) = C.apoz(hidden_model(), X3)
    np.testing.assert_allclose(zeros, [1 / 3, 2 / 3, 1.0])
    with pytest.raises(ValueError, match="APoZ counts exact zeros after ReLU; .*activation='tanh'"):
        C.apoz(MLP([2, 3, 2], activation="tanh"), X3)


def test_activation_criteria_shapes_on_deeper_model():
    model = MLP([4, 6, 5, 3], seed=0)
    X = np.random.default_rng(0).normal(size=(20, 4))
    assert [s.shape for s in C.mean_activation(model, X)] == [(6,), (5,)]
    assert [s.shape for s in C.apoz(model, X)] == [(6,), (5,)]


def test_random_scores_are_seeded():
    np.testing.assert_array_equal(C.random_scores((3, 4), seed=5), C.random_scores((3, 4), seed=5))
    assert not np.array_equal(C.random_scores((3, 4), seed=5), C.random_scores((3, 4), seed=6))
    assert C.random_scores((3, 4)).shape == (3, 4)


def test_data_errors():
    model = one_layer_model()
    with pytest.raises(ValueError, match="X has 3 features"):
        C.accumulated_gradient(model, np.ones((2, 3)), Y2)
    with pytest.raises(ValueError, match="y has 3 labels but X has 2 samples"):
        C.taylor(model, X2, np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="batch_size=0 must be >= 1"):
        C.accumulated_gradient(model, X2, Y2, batch_size=0)


def test_taylor_neurons_equals_activation_times_its_gradient():
    """Check |mean(a * dL/da)| against an explicit backward pass through the output layer."""
    model = MLP([3, 4, 2], seed=2, dtype="float64")
    model.params[0]["b"][:] = [0.1, -0.2, 0.3, 0.0]
    rng = np.random.default_rng(1)
    X = rng.normal(size=(6, 3))
    y = np.array([0, 1, 1, 0, 1, 0])
    logits, (A,) = model.forward(X, return_hidden=True)
    P = np.exp(logits - logits.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    dZ = (P - np.eye(2)[y]) / len(y)  # softmax cross-entropy, mean over the batch
    dA = dZ @ model.params[1]["W"].T
    expected = np.abs((A * dA).sum(axis=0))
    (scores,) = C.taylor_neurons(model, X, y, batch_size=6)
    np.testing.assert_allclose(scores, expected, rtol=1e-10)


def test_combine():
    (mix,) = C.combine([np.array([1.0, 3.0])], [np.array([10.0, 0.0])], weights=[3, 1])
    np.testing.assert_allclose(mix, (3 * np.array([0.5, 1.5]) + np.array([2.0, 0.0])) / 4)
    with pytest.raises(ValueError, match="same length"):
        C.combine([np.ones(2)], [np.ones(2), np.ones(2)])
    with pytest.raises(ValueError, match="matching shapes"):
        C.combine([np.ones(2)], [np.ones(3)])
    with pytest.raises(ValueError, match="must be >= 0"):
        C.combine([-np.ones(2)])
    with pytest.raises(ValueError, match="weights=.* one finite number >= 0 per list"):
        C.combine([np.ones(2)], weights=[1, 2])


def test_data_criteria_are_pure():
    """Scoring reads the model and the data; it changes neither (no training step, no mask)."""
    rng = np.random.default_rng(3)
    model = MLP([5, 6, 4, 3], seed=2, dtype="float64")
    model.set_mask(0, (rng.random((5, 6)) > 0.3).astype(np.float64))
    X, y = rng.normal(size=(20, 5)), rng.integers(0, 3, size=20)
    X_before, y_before, state = X.copy(), y.copy(), model.get_state()
    first = [C.accumulated_gradient(model, X, y, batch_size=8), C.taylor(model, X, y, batch_size=8),
             C.mean_activation(model, X), C.apoz(model, X), C.taylor_neurons(model, X, y, batch_size=8)]
    second = [C.accumulated_gradient(model, X, y, batch_size=8), C.taylor(model, X, y, batch_size=8),
              C.mean_activation(model, X), C.apoz(model, X), C.taylor_neurons(model, X, y, batch_size=8)]
    for a, b in zip(first, second):  # same inputs, same scores
        for x, z in zip(a, b):
            np.testing.assert_array_equal(x, z)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    after = model.get_state()
    for key in ("params", "masks"):
        for layer_before, layer_after in zip(state[key], after[key]):
            for name in layer_before:
                if layer_before[name] is None:
                    assert layer_after[name] is None
                else:
                    np.testing.assert_array_equal(layer_before[name], layer_after[name])
