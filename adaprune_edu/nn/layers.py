"""The dense (fully connected) layer as a forward/backward pair.

Weights are stored ``(n_in, n_out)`` so the forward pass reads like the maths,
``Z = X @ W + b``. A pruning mask, if any, lives next to the weights (see
:class:`adaprune_edu.nn.network.MLP`); the layer itself only multiplies.
"""
from __future__ import annotations

import numpy as np


def dense_forward(X: np.ndarray, W: np.ndarray, b: np.ndarray):
    """Affine map ``Z = X @ W + b``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_in)
    W : ndarray of shape (n_in, n_out)
    b : ndarray of shape (n_out,)

    Returns
    -------
    Z : ndarray of shape (n_samples, n_out)
    cache : tuple ``(X, W)``, what :func:`dense_backward` needs.
    """
    Z = X @ W
    Z += b
    return Z, (X, W)


def dense_backward(dZ: np.ndarray, cache, need_dX: bool = True):
    """Gradients of the affine map.

    Parameters
    ----------
    dZ : ndarray of shape (n_samples, n_out)
        Gradient of the loss with respect to ``Z``.
    cache : the ``(X, W)`` returned by :func:`dense_forward`.
    need_dX : bool
        Skip ``dX`` (returns ``None``) for the first layer, whose input is data.

    Returns
    -------
    dX : ndarray of shape (n_samples, n_in) or None
    dW : ndarray of shape (n_in, n_out)  -- ``X.T @ dZ``
    db : ndarray of shape (n_out,)       -- ``dZ`` summed over samples
    """
    X, W = cache
    dW = X.T @ dZ
    db = dZ.sum(axis=0)
    dX = dZ @ W.T if need_dX else None
    return dX, dW, db


def glorot_uniform(n_in: int, n_out: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """Glorot/Xavier uniform init: U(-a, a) with ``a = sqrt(6 / (n_in + n_out))``."""
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out)).astype(dtype)


def he_normal(n_in: int, n_out: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """He/Kaiming normal init: N(0, 2 / n_in), suited to ReLU."""
    return (rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(dtype)


INITIALIZERS = {"glorot": glorot_uniform, "he": he_normal}
