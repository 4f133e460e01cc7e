"""Looking inside a network on data: each layer's output and the loss gradient there.

Data-driven criteria need what the units *do*: the mean activation and APoZ look at the
outputs of the activation layers, Molchanov et al. (2017)'s Taylor criterion at those outputs
times the loss gradient arriving at them. :func:`leaf_outputs` and :func:`leaf_gradients` run the
network in evaluation mode (so every sample is independent, BatchNorm included) and keep the
arrays of the layers asked for, named by their position in ``model.leaves()``.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_int, check_labels
from ..nn.layers.chain import split_params
from ..nn.losses import LOSSES

__all__ = ["leaf_outputs", "leaf_gradients", "output_shapes"]


def _n_inner(block) -> int:
    return sum(layer.n_param_dicts for layer in block.layers)


def _forward(layers, params, X, outputs: list):
    """Evaluation-mode forward pass that appends every leaf's output to ``outputs`` (leaf order)."""
    caches = []
    for layer, share in zip(layers, split_params(layers, params)):
        if getattr(layer, "is_container", False):
            n = _n_inner(layer)
            branch, inner = _forward(layer.layers, share[:n], X, outputs)
            if layer.projection is None:
                skip, projection = X, None
            else:
                skip, projection = _forward([layer.projection], share[n:], X, outputs)
            X, cache = branch + skip, ("block", inner, projection)
        else:
            X, inner = layer.forward(share, X, training=False)
            cache = ("leaf", len(outputs), inner)
            outputs.append(X)
        caches.append(cache)
    return X, caches


def _backward(layers, params, dout, caches, gradients: dict):
    """Backward pass of :func:`_forward`; stores the gradient arriving at each leaf's output."""
    shares = split_params(layers, params)
    for i in range(len(layers) - 1, -1, -1):
        layer, cache = layers[i], caches[i]
        if cache[0] == "block":
            n = _n_inner(layer)
            d_branch = _backward(layer.layers, shares[i][:n], dout, cache[1], gradients)
            d_skip = dout if layer.projection is None else _backward([layer.projection], shares[i][n:], dout,
                                                                      cache[2], gradients)
            dout = d_branch + d_skip
        else:
            gradients[cache[1]] = dout
            dout, _ = layer.backward(shares[i], dout, cache[2], need_dX=True)
    return dout


def _chunks(n: int, batch_size, n_batches):
    batch_size = check_int("batch_size", batch_size, minimum=1)
    total = -(-n // batch_size)
    if n_batches is not None:
        total = min(total, check_int("n_batches", n_batches, minimum=1))
    return [slice(i * batch_size, min(n, (i + 1) * batch_size)) for i in range(total)]


def leaf_outputs(model, X, leaves, batch_size=1024) -> dict:
    """Outputs of the layers at positions ``leaves`` of ``model.leaves()``, over all of ``X``.

    Parameters
    ----------
    model : MLP or Sequential
    X : ndarray of shape (n_samples, ...) as the model takes it
    leaves : iterable of int
    batch_size : int, samples per forward pass (memory only; the numbers do not depend on it)

    Returns
    -------
    dict: leaf position -> ndarray of shape (n_samples, ...), that layer's output in evaluation mode
    """
    X = model._check_X("X", X)
    wanted = sorted(set(leaves))
    found = {leaf: [] for leaf in wanted}
    for part in _chunks(X.shape[0], batch_size, None):
        outputs = []
        _forward(model.layers, model.params, X[part], outputs)
        for leaf in wanted:
            found[leaf].append(outputs[leaf])
    return {leaf: np.concatenate(arrays) for leaf, arrays in found.items()}


def leaf_gradients(model, X, y, leaves, batch_size=64, n_batches=None):
    """Per batch: output and per-sample loss gradient of the layers at positions ``leaves``.

    Yields one dict per batch, leaf position -> ``(A, dA)``, both of shape (batch, ...): ``dA[i]``
    is the gradient of sample ``i``'s own loss with respect to ``A[i]`` (the batch-mean loss's
    gradient times the batch size). Evaluation mode: samples do not interact.
    """
    X = model._check_X("X", X)
    y = check_labels("y", y, X.shape[0], model.n_classes)
    for part in _chunks(X.shape[0], batch_size, n_batches):
        outputs = []
        Z, caches = _forward(model.layers, model.params, X[part], outputs)
        _, dZ = LOSSES[model.loss_name](Z.copy(), y[part])
        gradients = {}
        _backward(model.layers, model.params, dZ * Z.shape[0], caches, gradients)
        yield {leaf: (outputs[leaf], gradients[leaf]) for leaf in leaves}


def output_shapes(model, X) -> list:
    """``(layer, output shape, params)`` for every Dense and Conv2D, from one sample of ``X``."""
    X = model._check_X("X", X)[:1]
    outputs = []
    _forward(model.layers, model.params, X, outputs)
    found, param = [], 0
    for layer, out in zip(model.leaves(), outputs):
        if layer.n_param_dicts:
            if type(layer).__name__ in ("Dense", "Conv2D"):
                found.append((layer, out.shape, model.params[param]))
            param += 1
    return found
