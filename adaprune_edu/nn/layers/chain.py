"""Running a list of layers forward and backward: shared by Sequential and Residual.

``params`` is the flat list of parameter dicts of the layers in order (a layer without
parameters has none; a container such as Residual has one per parameterised layer inside it).
:func:`split_params` hands each layer its share: its dict, a list of dicts for a container, or
``None``.
"""
from __future__ import annotations

from .activation import Activation
from .batchnorm import BatchNorm2D
from .conv import Conv2D
from .dense import Dense

#: layers whose output is a fresh array their cache does not hold: an activation right after
#: one of them may overwrite it (one array and one pass over memory less)
_OUTPUT_FREE_FOR_REUSE = (Dense, Conv2D, BatchNorm2D)


def split_params(layers, params) -> list:
    """Each layer's share of the flat ``params`` list (dict, list of dicts, or ``None``)."""
    shares, k = [], 0
    for layer in layers:
        n = layer.n_param_dicts
        if getattr(layer, "is_container", False):
            shares.append(params[k:k + n])
        else:
            shares.append(params[k] if n else None)
        k += n
    if k != len(params):
        raise ValueError(f"these layers own {k} parameter dicts but params holds {len(params)}")
    return shares


def forward_chain(layers, params, X, training=False, scratches=None):
    """``X`` through every layer; returns the output and the list of per-layer caches."""
    caches = []
    for i, (layer, share) in enumerate(zip(layers, split_params(layers, params))):
        scratch = None if scratches is None else scratches[i]
        if isinstance(layer, Activation) and i > 0 and isinstance(layers[i - 1], _OUTPUT_FREE_FOR_REUSE):
            X, cache = layer.forward(share, X, training=training, scratch=scratch, inplace=True)
        else:
            X, cache = layer.forward(share, X, training=training, scratch=scratch)
        caches.append(cache)
    return X, caches


def backward_chain(layers, params, dout, caches, need_dX=True, scratches=None):
    """Back through every layer; returns ``dX`` (``None`` if not needed) and the flat grads list.

    ``grads`` is in the order of ``params``: one dict (shaped like the parameter dict) per
    parameterised layer.
    """
    shares = split_params(layers, params)
    grads_per_layer = [None] * len(layers)
    for i in range(len(layers) - 1, -1, -1):
        layer = layers[i]
        wants_dX = need_dX or i > 0
        scratch = None if scratches is None else scratches[i]
        if isinstance(layer, Activation) and i < len(layers) - 1:  # dout came from layer i + 1 alone
            dout, grads = layer.backward(shares[i], dout, caches[i], need_dX=wants_dX, scratch=scratch, inplace=True)
        else:
            dout, grads = layer.backward(shares[i], dout, caches[i], need_dX=wants_dX, scratch=scratch)
        grads_per_layer[i] = grads
    flat = []
    for layer, grads in zip(layers, grads_per_layer):
        if getattr(layer, "is_container", False):
            flat.extend(grads)
        elif layer.n_param_dicts:
            flat.append(grads)
    return (dout if need_dX else None), flat
