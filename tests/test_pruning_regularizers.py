"""L1 and group-lasso penalties: values, gradient checks, and sparsity after training."""
import warnings

import numpy as np
import pytest

from adaprune_edu.nn import MLP
from adaprune_edu.nn.gradcheck import numerical_gradient, relative_error
from adaprune_edu.pruning import (
    GroupLassoPenalty,
    L1Penalty,
    global_sparsity,
    neuron_masks,
    neuron_sparsity,
    prune_small,
    zeroed_neurons,
    zeroed_weights,
)


def params_away_from_zero(seed=0):
    """Random float64 params with every |w| >= 0.1 (|w| has no derivative at 0)."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in ((4, 5), (5, 3), (3, 2)):
        W = rng.uniform(0.1, 1.0, size=(n_in, n_out)) * rng.choice([-1.0, 1.0], size=(n_in, n_out))
        params.append({"W": W, "b": rng.normal(size=n_out)})
    return params


def test_l1_value_and_gradient_literal():
    value, grads = L1Penalty(0.5)([{"W": np.array([[1.0, -2.0], [0.0, 3.0]]), "b": np.ones(2)}])
    assert value == pytest.approx(3.0)
    np.testing.assert_array_equal(grads[0]["W"], [[0.5, -0.5], [0.0, 0.5]])  # subgradient 0 at 0
    assert "b" not in grads[0]


def test_group_lasso_value_and_gradient_literal():
    params = [{"W": np.array([[3.0, 0.0], [4.0, 0.0]]), "b": np.zeros(2)}, {"W": np.ones((2, 1)), "b": np.zeros(1)}]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a zero group must not divide by zero
        value, grads = GroupLassoPenalty(2.0)(params)
    assert value == pytest.approx(10.0)  # 2 * (5 + 0); the output layer is not a group
    np.testing.assert_allclose(grads[0]["W"], [[1.2, 0.0], [1.6, 0.0]])
    assert grads[1] is None


@pytest.mark.parametrize("penalty", [L1Penalty(0.3), GroupLassoPenalty(0.7)])
def test_penalty_gradients_match_finite_differences(penalty):
    params = params_away_from_zero()
    _, grads = penalty(params)
    for layer, layer_grads in zip(params, grads):
        numeric = numerical_gradient(lambda: penalty(params)[0], layer["W"])
        analytic = np.zeros_like(numeric) if layer_grads is None else layer_grads["W"]
        assert relative_error(analytic, numeric) < 1e-7


def test_penalty_errors():
    with pytest.raises(ValueError, match="strength=-1.0 must be >= 0"):
        L1Penalty(-1.0)
    with pytest.raises(TypeError, match="strength='big'"):
        GroupLassoPenalty("big")


def test_zeroed_and_prune_small_literal():
    model = MLP([2, 3, 2], dtype="float64")
    model.params[0]["W"][:] = [[1e-4, 0.5, 1e-5], [0.2, -1e-4, 2e-5]]
    assert zeroed_weights(model, 1e-3)[0].tolist() == [[True, False, True], [False, True, True]]
    assert zeroed_neurons(model, 1e-3)[0].tolist() == [False, False, True]
    structured = prune_small(model.copy(), 1e-3, granularity="structured")
    assert neuron_masks(structured)[0].tolist() == [True, True, False]
    assert np.all(structured.params[1]["W"][2] == 0)
    unstructured = prune_small(model.copy(), 1e-3)
    assert unstructured.masks[0]["W"].tolist() == [[0, 1, 0], [1, 0, 0]]
    with pytest.raises(ValueError, match="tol=-0.1 must be >= 0"):
        prune_small(model, -0.1)
    with pytest.raises(ValueError, match="granularity='hybrid' is not allowed"):
        prune_small(model, 0.1, granularity="hybrid")


TRAIN = dict(epochs=15, learning_rate=0.05, progress=False)


def test_l1_training_drives_weights_to_zero(digits):
    plain = MLP([64, 32, 10], seed=0).fit(digits.X_train, digits.y_train, **TRAIN)
    sparse = MLP([64, 32, 10], seed=0).fit(digits.X_train, digits.y_train, penalty=L1Penalty(3e-3), **TRAIN)
    tol = 1e-2
    prune_small(plain, tol)
    prune_small(sparse, tol)
    assert global_sparsity(plain) < 0.1
    assert global_sparsity(sparse) > 0.5
    assert sparse.score(digits.X_val, digits.y_val) > 0.9


def test_group_lasso_training_removes_whole_neurons(digits):
    plain = MLP([64, 32, 10], seed=0).fit(digits.X_train, digits.y_train, **TRAIN)
    model = MLP([64, 32, 10], seed=0).fit(digits.X_train, digits.y_train, penalty=GroupLassoPenalty(0.03), **TRAIN)
    prune_small(plain, 0.1, granularity="structured")
    prune_small(model, 0.1, granularity="structured")
    assert neuron_sparsity(plain) == 0.0
    assert neuron_sparsity(model) > 0.2
    assert model.score(digits.X_val, digits.y_val) > 0.9
