"""Layers, activations and losses: literal values, stability and gradient checks."""
import numpy as np
import pytest

from adaprune_edu.nn import MLP, check_model_gradients, numerical_gradient, relative_error
from adaprune_edu.nn.activations import ACTIVATIONS, sigmoid
from adaprune_edu.nn.layers import dense_backward, dense_forward
from adaprune_edu.nn.losses import LOSSES, binary_cross_entropy, softmax, softmax_cross_entropy


def test_dense_forward_literal():
    X = np.array([[1.0, 2.0]])
    W = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 1.0]])
    b = np.array([0.0, 1.0, -1.0])
    Z, _ = dense_forward(X, W, b)
    np.testing.assert_allclose(Z, [[2.0, 5.0, 0.0]])


def test_dense_backward_literal():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    W = np.array([[1.0, -1.0], [2.0, 0.5]])
    _, cache = dense_forward(X, W, np.zeros(2))
    dZ = np.array([[1.0, 0.0], [0.0, 1.0]])
    dX, dW, db = dense_backward(dZ, cache)
    np.testing.assert_allclose(dW, X.T @ dZ)
    np.testing.assert_allclose(db, [1.0, 1.0])
    np.testing.assert_allclose(dX, [[1.0, 2.0], [-1.0, 0.5]])
    assert dense_backward(dZ, cache, need_dX=False)[0] is None


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradients_match_finite_differences(name):
    forward, backward = ACTIVATIONS[name]
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(4, 6))
    Z[np.abs(Z) < 1e-3] = 0.5  # keep ReLU's kink away from the finite-difference stencil
    upstream = rng.normal(size=Z.shape)
    A, cache = forward(Z.copy())
    analytic = backward(upstream.copy(), cache)
    numeric = numerical_gradient(lambda: float(np.sum(forward(Z.copy())[0] * upstream)), Z)
    assert relative_error(analytic, numeric) < 1e-7


def test_sigmoid_is_stable_for_huge_inputs():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(out, [0.0, 0.5, 1.0])


def test_softmax_rows_sum_to_one_even_for_huge_logits():
    P = softmax(np.array([[1000.0, 1000.0, -1000.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_allclose(P[0], [0.5, 0.5, 0.0])


def test_softmax_cross_entropy_literal():
    Z = np.array([[0.0, 0.0], [np.log(3.0), 0.0]])
    loss, dZ = softmax_cross_entropy(Z.copy(), np.array([0, 0]))
    # p(class 0) = 1/2 and 3/4
    assert loss == pytest.approx((np.log(2) + np.log(4 / 3)) / 2)
    np.testing.assert_allclose(dZ, [[-0.25, 0.25], [-0.125, 0.125]])


def test_cross_entropy_is_finite_for_confident_wrong_answers():
    loss, dZ = softmax_cross_entropy(np.array([[1000.0, -1000.0]]), np.array([1]))
    assert loss == pytest.approx(2000.0)
    assert np.all(np.isfinite(dZ))
    loss, dZ = binary_cross_entropy(np.array([[800.0]]), np.array([0]))
    assert loss == pytest.approx(800.0)
    assert np.all(np.isfinite(dZ))


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_loss_gradients_match_finite_differences(loss_name):
    rng = np.random.default_rng(5)
    n_out = 1 if loss_name == "bce" else 3
    Z = rng.normal(size=(6, n_out))
    y = rng.integers(0, 2 if n_out == 1 else 3, size=6)
    _, analytic = LOSSES[loss_name](Z.copy(), y)
    numeric = numerical_gradient(lambda: LOSSES[loss_name](Z.copy(), y)[0], Z)
    assert relative_error(analytic, numeric) < 1e-7


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("loss,n_out", [("softmax_ce", 3), ("bce", 1), ("mse", 1), ("mse", 3)])
def test_model_gradients_every_layer(activation, loss, n_out, tiny_batch):
    X, y = tiny_batch
    if n_out == 1:
        y = y % 2
    model = MLP([5, 4, 3, n_out], activation=activation, loss=loss, seed=2)
    errors = check_model_gradients(model, X, y)
    assert len(errors) == 6
    assert max(errors.values()) < 1e-7, errors


def test_gradient_check_catches_a_wrong_gradient(tiny_batch):
    """The check must be able to fail: a gradient off by a factor 2 is reported."""
    X, y = tiny_batch
    model = MLP([5, 4, 3], seed=0, dtype="float64")
    _, grads = model.loss(X, y)
    numeric = numerical_gradient(lambda: model.loss(X, y)[0], model.params[0]["W"])
    assert relative_error(grads[0]["W"], numeric) < 1e-7
    assert relative_error(2 * grads[0]["W"], numeric) > 0.1


def test_numerical_gradient_restores_the_array():
    x = np.array([1.0, 2.0, 3.0])
    before = x.copy()
    grad = numerical_gradient(lambda: float(np.sum(x ** 2)), x)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(grad, 2 * before, rtol=1e-8)


def test_gradient_check_respects_masks(tiny_batch):
    X, y = tiny_batch
    model = MLP([5, 4, 3], seed=0)
    mask = np.ones((5, 4))
    mask[0, :] = 0
    model.set_mask(0, mask)
    errors = check_model_gradients(model, X, y)
    assert max(errors.values()) < 1e-7
    _, grads = model.loss(X, y)
    assert np.all(grads[0]["W"][0] == 0)
