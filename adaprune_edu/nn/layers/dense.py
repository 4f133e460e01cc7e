"""The dense (fully connected) layer as a forward/backward pair.

Weights are stored ``(n_in, n_out)`` so the forward pass reads like the maths,
``Z = X @ W + b``. A pruning mask, if any, lives next to the weights (see
:class:`adaprune_edu.nn.sequential.Sequential`); the layer itself only multiplies.
The functions :func:`dense_forward` and :func:`dense_backward` are the maths;
:class:`Dense` is the layer object a :class:`~adaprune_edu.nn.sequential.Sequential` holds.
"""
from __future__ import annotations

import numpy as np

from ..._checks import check_choice, check_int
from .base import Layer, buffer, check_ndim


def dense_forward(X: np.ndarray, W: np.ndarray, b: np.ndarray, out: np.ndarray | None = None):
    """Affine map ``Z = X @ W + b``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_in)
    W : ndarray of shape (n_in, n_out)
    b : ndarray of shape (n_out,)
    out : ndarray of shape (n_samples, n_out), optional
        Where to write ``Z``. The training loop passes a buffer it reuses for every batch,
        which saves allocating a fresh array per batch; the result is the same.

    Returns
    -------
    Z : ndarray of shape (n_samples, n_out)
    cache : tuple ``(X, W)``, what :func:`dense_backward` needs.
    """
    Z = np.matmul(X, W, out=out)
    Z += b
    return Z, (X, W)


def dense_backward(dZ: np.ndarray, cache, need_dX: bool = True, out=None):
    """Gradients of the affine map.

    Parameters
    ----------
    dZ : ndarray of shape (n_samples, n_out)
        Gradient of the loss with respect to ``Z``.
    cache : the ``(X, W)`` returned by :func:`dense_forward`.
    need_dX : bool
        Skip ``dX`` (returns ``None``) for the first layer, whose input is data.
    out : tuple ``(dX, dW, db)`` of preallocated arrays, optional
        Buffers of the shapes below to write the results into (``dX`` may be ``None``).

    Returns
    -------
    dX : ndarray of shape (n_samples, n_in) or None  -- ``dZ @ W.T``
    dW : ndarray of shape (n_in, n_out)              -- ``X.T @ dZ``
    db : ndarray of shape (n_out,)                   -- ``dZ`` summed over samples
    """
    X, W = cache
    dX_out, dW_out, db_out = (None, None, None) if out is None else out
    dW = np.matmul(X.T, dZ, out=dW_out)
    db = np.add.reduce(dZ, axis=0, out=db_out)  # dZ.sum(axis=0), written into db_out if given
    dX = np.matmul(dZ, W.T, out=dX_out) if need_dX else None
    return dX, dW, db


def glorot_uniform(n_in: int, n_out: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """Glorot/Xavier uniform init: U(-a, a) with ``a = sqrt(6 / (n_in + n_out))``."""
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out)).astype(dtype)


def he_normal(n_in: int, n_out: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """He/Kaiming normal init: N(0, 2 / n_in), suited to ReLU."""
    return (rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(dtype)


INITIALIZERS = {"glorot": glorot_uniform, "he": he_normal}


class Dense(Layer):
    """Fully connected layer ``Z = X @ W + b`` (PyTorch's ``nn.Linear(in_features, out_features)``).

    Parameters
    ----------
    n_in, n_out : int >= 1
        Input and output widths. ``params`` is ``{"W": (n_in, n_out), "b": (n_out,)}``.
    init : {"glorot", "he"}
        Weight initialisation (biases start at zero).

    Shapes: ``X`` (n_samples, n_in) -> ``Z`` (n_samples, n_out); cache ``(X, W)``.
    """

    param_keys = ("W", "b")
    input_ndim = 2

    def __init__(self, n_in: int, n_out: int, init: str = "glorot"):
        self.n_in = check_int("n_in", n_in, minimum=1)
        self.n_out = check_int("n_out", n_out, minimum=1)
        check_choice("init", init, INITIALIZERS)
        self.init = init

    def init_params(self, rng, dtype):
        return {"W": INITIALIZERS[self.init](self.n_in, self.n_out, rng, dtype), "b": np.zeros(self.n_out, dtype=dtype)}

    def forward(self, params, X, training=False, scratch=None):
        check_ndim("Dense", X, 2, "(n_samples, n_in)")
        W = params["W"]
        return dense_forward(X, W, params["b"], out=buffer(scratch, "Z", (X.shape[0], W.shape[1]), X.dtype))

    def backward(self, params, dout, cache, need_dX=True, scratch=None):
        X, W = cache
        out = None
        if scratch is not None:
            out = (buffer(scratch, "dX", X.shape, X.dtype) if need_dX else None,
                   buffer(scratch, "dW", W.shape, W.dtype), buffer(scratch, "db", (W.shape[1],), W.dtype))
        dX, dW, db = dense_backward(dout, cache, need_dX=need_dX, out=out)
        return dX, {"W": dW, "b": db}

    def config(self):
        return {"n_in": self.n_in, "n_out": self.n_out, "init": self.init}
