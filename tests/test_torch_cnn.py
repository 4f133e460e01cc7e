"""Convolutional layers against PyTorch autograd in float64 (skipped when torch is not installed).

Each layer alone: forward output, input gradient and parameter gradients of ``sum(out * G)``
for a random ``G``, in training and evaluation mode. Then whole networks (BatchNorm, pooling,
residual blocks with and without projection) through ``Sequential.loss``, and BatchNorm's
running statistics after several training steps. Our data is channels-last (NHWC), torch's
NCHW: the torch side permutes at the boundaries.
"""
import numpy as np
import pytest

from adaprune_edu.nn import (
    AvgPool2D,
    BatchNorm2D,
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool2D,
    MaxPool2D,
    ReLU,
    Residual,
    Sequential,
    cnn,
)
from adaprune_edu.nn.gradcheck import relative_error

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("one_torch_thread")]
TOLERANCE = 1e-10



def nchw(x):
    return x.permute(0, 3, 1, 2)


def nhwc(x):
    return x.permute(0, 2, 3, 1)


def torch_layer(layer, p, x, training):
    """``layer`` applied to the NHWC tensor ``x`` with torch operations; ``p`` maps keys to tensors."""
    if isinstance(layer, Conv2D):
        weight = p["W"].permute(3, 2, 0, 1)  # (k, k, C_in, C_out) -> (C_out, C_in, k, k)
        return nhwc(F.conv2d(nchw(x), weight, p["b"], stride=layer.stride, padding=layer.padding))
    if isinstance(layer, BatchNorm2D):
        mean, var = layer.torch_running  # tensors updated in place by F.batch_norm, as in nn.BatchNorm2d
        return nhwc(F.batch_norm(nchw(x), mean, var, p["gamma"], p["beta"], training=training,
                                 momentum=layer.momentum, eps=layer.eps))
    if isinstance(layer, MaxPool2D):
        return nhwc(F.max_pool2d(nchw(x), layer.size))
    if isinstance(layer, AvgPool2D):
        return nhwc(F.avg_pool2d(nchw(x), layer.size))
    if isinstance(layer, GlobalAvgPool2D):
        return x.mean(dim=(1, 2))
    if isinstance(layer, Flatten):
        return x.reshape(x.shape[0], -1)
    if isinstance(layer, Dense):
        return x @ p["W"] + p["b"]
    if isinstance(layer, ReLU):
        return torch.relu(x)
    raise TypeError(layer)


def torch_chain(layers, params, x, training):
    """The torch version of a list of layers; ``params`` is an iterator over the flat parameter dicts."""
    for layer in layers:
        if isinstance(layer, Residual):
            branch = torch_chain(layer.layers, params, x, training)
            skip = x if layer.projection is None else torch_chain([layer.projection], params, x, training)
            x = branch + skip
        else:
            x = torch_layer(layer, next(params) if layer.n_param_dicts else None, x, training)
    return x


def torch_leaves(params):
    return [{k: torch.tensor(v, requires_grad=True) for k, v in p.items()} for p in params]


def attach_running_statistics(layers):
    for layer in layers:
        if isinstance(layer, BatchNorm2D):
            layer.torch_running = (torch.tensor(layer.running_mean), torch.tensor(layer.running_var))


def ties(shape, rng):
    """Small integers: many windows hold several equal maxima."""
    return rng.integers(0, 3, size=shape).astype(np.float64)


LAYERS = [
    (lambda: Conv2D(3, 4, 3), (2, 6, 7, 3)),
    (lambda: Conv2D(3, 4, 3, padding=1), (2, 5, 5, 3)),
    (lambda: Conv2D(3, 5, 3, stride=2, padding=1), (2, 7, 6, 3)),
    (lambda: Conv2D(2, 3, 1), (2, 4, 4, 2)),
    (lambda: Conv2D(1, 4, 3, padding=1), (2, 5, 6, 1)),
    (lambda: Conv2D(1, 2, 2, stride=2), (2, 5, 5, 1)),
    (lambda: Conv2D(2, 3, 5, padding=2), (2, 6, 6, 2)),
    (lambda: BatchNorm2D(3), (4, 3, 5, 3)),
    (lambda: MaxPool2D(2), (3, 6, 5, 4)),
    (lambda: MaxPool2D(3), (2, 6, 6, 2)),
    (lambda: AvgPool2D(2), (3, 5, 6, 2)),
    (lambda: GlobalAvgPool2D(), (3, 4, 5, 2)),
    (lambda: Flatten(), (3, 2, 3, 4)),
    (lambda: Dense(6, 4), (5, 6)),
    (lambda: ReLU(), (3, 4, 4, 2)),
]


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("make_layer, shape", LAYERS, ids=[f"{f().__class__.__name__}-{s}" for f, s in LAYERS])
def test_each_layer_equals_torch_autograd(make_layer, shape, training):
    rng = np.random.default_rng(0)
    layer = make_layer()
    params = layer.init_params(rng, np.float64)
    for key in params:  # BatchNorm starts at gamma=1, beta=0: move them off the trivial values
        params[key] = params[key] + rng.normal(size=params[key].shape)
    if isinstance(layer, BatchNorm2D):
        layer.running_mean, layer.running_var = rng.normal(size=3), rng.uniform(0.5, 2.0, size=3)
        attach_running_statistics([layer])
    X = ties(shape, rng) if isinstance(layer, MaxPool2D) else rng.normal(size=shape)
    out, cache = layer.forward(params, X, training=training)
    G = rng.normal(size=out.shape)
    dX, grads = layer.backward(params, G, cache)

    x = torch.tensor(X, requires_grad=True)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    expected = torch_layer(layer, tp, x, training)
    (expected * torch.tensor(G)).sum().backward()
    assert relative_error(out, expected.detach().numpy()) <= TOLERANCE
    assert relative_error(dX, x.grad.numpy()) <= TOLERANCE
    for key in params:
        assert relative_error(grads[key], tp[key].grad.numpy()) <= TOLERANCE, key
    if isinstance(layer, BatchNorm2D):
        assert relative_error(layer.running_mean, layer.torch_running[0].numpy()) <= TOLERANCE
        assert relative_error(layer.running_var, layer.torch_running[1].numpy()) <= TOLERANCE


def residual_network(seed=0):
    return Sequential([
        Conv2D(1, 4, 3, padding=1), BatchNorm2D(4), ReLU(), MaxPool2D(2),
        Residual([Conv2D(4, 4, 3, padding=1), BatchNorm2D(4), ReLU(), Conv2D(4, 4, 3, padding=1), BatchNorm2D(4)]),
        ReLU(),
        Residual([Conv2D(4, 6, 3, stride=2, padding=1), BatchNorm2D(6), ReLU()],
                 projection=Conv2D(4, 6, 1, stride=2)),
        AvgPool2D(1), GlobalAvgPool2D(), Dense(6, 10),
    ], seed=seed, dtype="float64")


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("make_model", [lambda: cnn(seed=1, dtype="float64"), residual_network,
                                        lambda: Sequential([Conv2D(1, 3, 3), ReLU(), MaxPool2D(2), Flatten(),
                                                            Dense(27, 10)], dtype="float64")],
                         ids=["cnn", "residual", "flatten"])
def test_network_loss_and_gradients_equal_torch(make_model, training):
    rng = np.random.default_rng(0)
    model = make_model()
    for p in model.params:  # BatchNorm off its trivial start
        for key in ("gamma", "beta"):
            if key in p:
                p[key] += rng.normal(scale=0.3, size=p[key].shape)
    for layer in model.leaves():
        if isinstance(layer, BatchNorm2D):
            layer.running_mean, layer.running_var = rng.normal(size=layer.channels), rng.uniform(0.5, 2, layer.channels)
    attach_running_statistics(model.leaves())
    X = np.round(rng.normal(size=(12, 8, 8, 1)), 1)  # rounded: ties in the max-pools
    y = rng.integers(0, 10, size=12)
    loss, grads = model.train(training).loss(X, y)

    tp = torch_leaves(model.params)
    logits = torch_chain(model.layers, iter(tp), torch.tensor(X), training)
    expected = F.cross_entropy(logits, torch.tensor(y))
    expected.backward()
    assert abs(loss - expected.item()) <= TOLERANCE * abs(expected.item())
    for k, (ours, theirs) in enumerate(zip(grads, tp)):
        for key in ours:
            if theirs[key].grad.abs().max() < 1e-12:  # a conv bias right before BatchNorm: exactly 0 in theory
                assert np.abs(ours[key]).max() < 1e-12
                continue
            assert relative_error(ours[key], theirs[key].grad.numpy()) <= TOLERANCE, (k, key)


def test_batchnorm_running_statistics_equal_torch_after_several_steps():
    rng = np.random.default_rng(0)
    ours = BatchNorm2D(5, momentum=0.1)
    params = ours.init_params(rng, np.float64)
    theirs = torch.nn.BatchNorm2d(5, momentum=0.1, eps=1e-5).double()
    for step in range(6):
        X = rng.normal(loc=step, scale=1 + step, size=(8, 4, 4, 5))
        ours.forward(params, X, training=True)
        theirs(torch.tensor(X).permute(0, 3, 1, 2))
    assert relative_error(ours.running_mean, theirs.running_mean.numpy()) <= TOLERANCE
    assert relative_error(ours.running_var, theirs.running_var.numpy()) <= TOLERANCE
    X = rng.normal(size=(3, 4, 4, 5))
    theirs.eval()
    with torch.no_grad():
        expected = theirs(torch.tensor(X).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    assert relative_error(ours.forward(params, X, training=False)[0], expected) <= TOLERANCE


def test_an_equality_mask_would_be_wrong_on_ties():
    """The reason for routing to one maximum: on tied windows torch's gradient differs from an equality mask."""
    rng = np.random.default_rng(0)
    X = ties((4, 8, 8, 3), rng)
    x = torch.tensor(X, requires_grad=True)
    nhwc(F.max_pool2d(nchw(x), 2)).sum().backward()
    out, cache = MaxPool2D(2).forward(None, X)
    dX, _ = MaxPool2D(2).backward(None, np.ones_like(out), cache)
    np.testing.assert_array_equal(dX, x.grad.numpy())
    equality_mask = (X == np.repeat(np.repeat(out, 2, axis=1), 2, axis=2)).astype(float)
    assert relative_error(equality_mask, x.grad.numpy()) > 0.1
