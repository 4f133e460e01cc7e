"""The training loop's speed-ups (reused buffers, one BLAS thread) change no number."""
import copy

import numpy as np
import pytest

from adaprune_edu.nn import MLP, Adam, Momentum
from adaprune_edu.nn.training import one_blas_thread
from adaprune_edu.nn.workspace import Workspace, param_layout


def plain_training(model, X, y, epochs, batch_size, optimizer):
    """The textbook loop on the public API: fresh arrays for every batch, no workspace."""
    rng = copy.deepcopy(model.rng)
    with one_blas_thread():
        for _ in range(epochs):
            order = rng.permutation(len(y))
            for lo in range(0, len(y), batch_size):
                rows = order[lo:lo + batch_size]
                _, grads = model.loss(X[rows], y[rows])
                optimizer.step(model.params, grads)
                model.apply_masks()
                optimizer.apply_masks(model.masks)


@pytest.mark.parametrize("make_optimizer", [lambda: Momentum(0.01, 0.9), lambda: Adam(1e-3)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fit_is_bit_identical_to_the_plain_loop(digits, make_optimizer, dtype):
    X, y = digits.X_train.astype(dtype), digits.y_train
    fitted = MLP(digits.default_layer_sizes(), seed=3, dtype=dtype)
    fitted.set_mask(1, (np.random.default_rng(0).random((256, 128)) < 0.5))
    plain = fitted.copy()
    fitted.fit(X, y, epochs=2, batch_size=50, optimizer=make_optimizer(), progress=False)  # 1077 = 21 * 50 + 27
    plain_training(plain, X, y, epochs=2, batch_size=50, optimizer=make_optimizer())
    for a, b in zip(fitted.params, plain.params):
        np.testing.assert_array_equal(a["W"], b["W"])
        np.testing.assert_array_equal(a["b"], b["b"])


def test_loss_returns_fresh_gradients_not_training_buffers(digits):
    model = MLP(digits.default_layer_sizes(), seed=0)
    _, first = model.loss(digits.X_train[:64], digits.y_train[:64])
    kept = [g["W"].copy() for g in first]
    model.fit(digits.X_train, digits.y_train, epochs=1, progress=False)
    model.loss(digits.X_train[64:128], digits.y_train[64:128])
    for g, k in zip(first, kept):
        np.testing.assert_array_equal(g["W"], k)


def test_a_callback_may_change_layer_shapes_between_epochs(digits):
    """Surgery in a callback (removing hidden neurons): the loop builds new buffers."""
    model = MLP([64, 32, 16, 10], seed=0)
    keep = np.arange(0, 32, 2)

    def remove_odd_neurons(model, epoch, logs):
        if epoch == 0:
            model.params[0] = {"W": model.params[0]["W"][:, keep].copy(), "b": model.params[0]["b"][keep].copy()}
            model.params[1]["W"] = model.params[1]["W"][keep].copy()
            model.layer_sizes[1] = len(keep)

    model.fit(digits.X_train, digits.y_train, epochs=3, callbacks=[remove_odd_neurons], progress=False)
    assert [p["W"].shape for p in model.params] == [(64, 16), (16, 16), (16, 10)]
    assert model.history_["loss"][2] < model.history_["loss"][0]


def test_workspace_shapes():
    model = MLP([5, 4, 3], dtype="float64")
    ws = Workspace(model.layers, 7, (5,), model.dtype)
    assert ws.X.shape == (7, 5) and ws.y.shape == (7,) and len(ws.layers) == 3  # Dense, ReLU, Dense
    ws.X[:] = np.random.default_rng(0).normal(size=(7, 5))
    ws.y[:] = np.arange(7) % 3
    _, grads = model._loss_and_grads(ws.X, ws.y, workspace=ws)
    first, _, last = ws.layers
    assert first["Z"].shape == (7, 4) and last["Z"].shape == (7, 3) and last["dX"].shape == (7, 4)
    assert "dX" not in first  # the first layer's input is data: no gradient for it
    assert grads[0]["W"] is first["dW"] and grads[1]["b"] is last["db"]  # the grads live in the workspace
    assert [(g["W"].shape, g["b"].shape) for g in grads] == [((5, 4), (4,)), ((4, 3), (3,))]
    assert param_layout(model.params) != param_layout(MLP([5, 6, 3]).params)
