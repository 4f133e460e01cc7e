"""Cross-check against PyTorch (skipped when it is not installed).

In float64 our hand-written backward pass must equal torch autograd on the same weights,
and training with the same initial weights and the same shuffling order must follow the
same trajectory as ``torch.optim.SGD(momentum=0.9)`` and ``torch.optim.Adam``.
"""
import copy

import numpy as np
import pytest

from adaprune_edu.nn import MLP, Adam, Momentum

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("one_torch_thread")]

TORCH_ACTIVATIONS = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}



def torch_parameters(model):
    """Leaf tensors ``[(W, b), ...]`` holding copies of ``model.params`` (float64, ``W`` is (n_in, n_out))."""
    return [(torch.tensor(p["W"], requires_grad=True), torch.tensor(p["b"], requires_grad=True))
            for p in model.params]


def torch_logits(parameters, X, activation):
    """The same network written with torch operations: ``A @ W + b`` and the activation."""
    A = X
    for i, (W, b) in enumerate(parameters):
        A = A @ W + b
        if i < len(parameters) - 1:
            A = TORCH_ACTIVATIONS[activation](A)
    return A


def torch_loss(Z, y, loss_name):
    """The losses of ``adaprune_edu.nn.losses`` in torch: the mean over samples."""
    if loss_name == "softmax_ce":
        return F.cross_entropy(Z, y)
    if loss_name == "bce":
        return F.binary_cross_entropy_with_logits(Z[:, 0], y.double())
    # "mse": squared error between probabilities (sigmoid for one output, softmax for several)
    # and the one-hot target, summed over outputs, averaged over samples
    if Z.shape[1] == 1:
        p, t = torch.sigmoid(Z), y.double()[:, None]
    else:
        p, t = torch.softmax(Z, dim=1), F.one_hot(y, Z.shape[1]).double()
    return ((p - t) ** 2).sum(dim=1).mean()


CASES = [(activation, loss, n_out) for activation in ("relu", "sigmoid", "tanh")
         for loss, n_out in (("softmax_ce", 4), ("bce", 1), ("mse", 4), ("mse", 1))]


@pytest.mark.parametrize("activation, loss_name, n_out", CASES)
def test_gradients_equal_torch_autograd(activation, loss_name, n_out):
    rng = np.random.default_rng(3)
    model = MLP([6, 9, 7, n_out], activation=activation, loss=loss_name, seed=5, dtype="float64")
    for layer in model.params:  # non-zero biases, and weights large enough to saturate some units
        layer["W"] *= 2.0
        layer["b"][:] = rng.normal(size=layer["b"].shape)
    X = rng.normal(size=(11, 6))
    y = rng.integers(0, max(2, n_out), size=11)
    loss, grads = model.loss(X, y)

    parameters = torch_parameters(model)
    reference = torch_loss(torch_logits(parameters, torch.tensor(X), activation), torch.tensor(y), loss_name)
    reference.backward()
    assert abs(loss - reference.item()) < 1e-12
    for ours, (W, b) in zip(grads, parameters):
        np.testing.assert_allclose(ours["W"], W.grad.numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(ours["b"], b.grad.numpy(), rtol=1e-10, atol=1e-10)
    assert max(np.abs(g["W"]).max() for g in grads) > 1e-3  # the comparison is not between zeros


def test_masked_gradients_are_torch_gradients_times_the_mask():
    rng = np.random.default_rng(0)
    model = MLP([6, 9, 4], seed=1, dtype="float64")
    mask = (rng.random((6, 9)) < 0.5).astype(float)
    model.set_mask(0, mask)
    X, y = rng.normal(size=(10, 6)), rng.integers(0, 4, size=10)
    _, grads = model.loss(X, y)
    parameters = torch_parameters(model)
    torch_loss(torch_logits(parameters, torch.tensor(X), "relu"), torch.tensor(y), "softmax_ce").backward()
    np.testing.assert_allclose(grads[0]["W"], parameters[0][0].grad.numpy() * mask, rtol=1e-10, atol=1e-10)
    assert np.abs(parameters[0][0].grad.numpy()[mask == 0]).max() > 0  # torch does see gradients there


def train_torch(model, X, y, epochs, batch_size, make_optimizer):
    """Train a torch copy of ``model`` visiting the batches in the order ``model.fit`` will.

    ``fit`` shuffles with ``model.rng``; a copy of that generator taken now gives the same
    permutations. Returns the torch parameters and the running mean loss of every epoch.
    """
    rng = copy.deepcopy(model.rng)
    parameters = torch_parameters(model)
    optimizer = make_optimizer([t for pair in parameters for t in pair])
    X, y = torch.tensor(X), torch.tensor(y)
    losses = []
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(len(y)))
        total = 0.0
        for lo in range(0, len(y), batch_size):
            rows = order[lo:lo + batch_size]
            optimizer.zero_grad()
            loss = F.cross_entropy(torch_logits(parameters, X[rows], "relu"), y[rows])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
        losses.append(total / len(y))
    return parameters, losses


@pytest.mark.parametrize("name, epochs, ours, theirs", [
    ("momentum", 30, lambda: Momentum(learning_rate=0.01, momentum=0.9),
     lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9)),
    ("adam", 10, lambda: Adam(learning_rate=1e-3),
     lambda params: torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)),
])
def test_training_follows_torch_step_for_step(digits, name, epochs, ours, theirs):
    X, y = digits.X_train.astype(np.float64), digits.y_train
    model = MLP(digits.default_layer_sizes(), seed=0, dtype="float64")
    initial = [p["W"].copy() for p in model.params]
    parameters, torch_losses = train_torch(model, X, y, epochs, 64, theirs)
    model.fit(X, y, epochs=epochs, batch_size=64, optimizer=ours(), progress=False)

    for layer, (W, b), start in zip(model.params, parameters, initial):
        assert np.abs(layer["W"] - start).max() > 1e-2  # the weights did move
        np.testing.assert_allclose(layer["W"], W.detach().numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(layer["b"], b.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.history_["loss"], torch_losses, rtol=1e-12)
