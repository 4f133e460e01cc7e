"""Fold BatchNorm into the convolution (or dense layer) before it, for inference.

In evaluation mode BatchNorm is a fixed per-channel affine map,
``out = gamma * (z - running_mean) / sqrt(running_var + eps) + beta``. After a convolution
``z = cols @ W + b`` it can be written into that convolution's weights: with
``scale = gamma / sqrt(running_var + eps)`` (one number per output channel),

    W' = W * scale        (every filter multiplied by its channel's scale)
    b' = (b - running_mean) * scale + beta

and the BatchNorm layer disappears: one layer less to run, the same outputs up to rounding.
A pruned (zero) weight stays zero, so masks carry over.
"""
from __future__ import annotations

import numpy as np

from .layers import BatchNorm2D, Conv2D, Dense


def _fold_pair(params: dict, masks: dict, bn: BatchNorm2D, bn_params: dict) -> tuple:
    """Folded ``(params, masks)`` of the layer whose ``params`` feed ``bn``."""
    W, b = params["W"], params["b"]
    scale = (bn_params["gamma"] / np.sqrt(bn.running_var + bn.eps)).astype(W.dtype)
    folded = {"W": W * scale, "b": ((b - bn.running_mean) * scale + bn_params["beta"]).astype(W.dtype)}
    return folded, {"W": masks["W"], "b": None}


def _fold_chain(layers, pairs) -> tuple:
    """Fold every BatchNorm that directly follows a Conv2D or Dense in ``layers``.

    ``pairs`` iterates over the ``(params, masks)`` of the parameterised layers in order.
    Returns the new layer list and the new list of ``(params, masks)``.
    """
    out_layers, out_pairs = [], []
    for layer in layers:
        if getattr(layer, "is_container", False):
            layer.layers, inner = _fold_chain(layer.layers, pairs)
            projection = []
            if layer.projection is not None:
                (layer.projection,), projection = _fold_chain([layer.projection], pairs)
            out_layers.append(layer)
            out_pairs += inner + projection
        elif isinstance(layer, BatchNorm2D) and out_layers and isinstance(out_layers[-1], (Conv2D, Dense)):
            bn_params, _ = next(pairs)
            out_pairs[-1] = _fold_pair(*out_pairs[-1], layer, bn_params)
        else:
            if layer.n_param_dicts:
                out_pairs.append(next(pairs))
            out_layers.append(layer)
    return out_layers, out_pairs


def fold_batchnorm(model):
    """A copy of ``model`` with every BatchNorm that follows a Conv2D (or Dense) folded into it.

    For inference: the copy is in evaluation mode, and its outputs equal ``model``'s
    evaluation-mode outputs up to float rounding (about 1e-6 relative in float32). A BatchNorm
    with no convolution right before it (e.g. after a residual add) is kept as it is.

    Parameters
    ----------
    model : Sequential

    Returns
    -------
    Sequential, with fewer layers and parameter dicts (masks of the folded layers carried over).
    """
    folded = model.copy()
    layers, pairs = _fold_chain(folded.layers, iter(list(zip(folded.params, folded.masks))))
    folded.layers = layers
    folded.params = [p for p, _ in pairs]
    folded.masks = [m for _, m in pairs]
    return folded.eval()
