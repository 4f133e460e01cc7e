"""Layer normalisation over the last axis (PyTorch's ``nn.LayerNorm(d_model)``).

Each position's vector is normalised with its own mean and (biased) variance,
``xhat = (x - mean) / sqrt(var + eps)``, then scaled and shifted, ``out = gamma * xhat + beta``.
Unlike batch norm there are no running statistics: training and evaluation compute the same thing.

Backward, with ``g = dout * gamma`` and means over the last axis,
``dX = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps)``.
"""
from __future__ import annotations

import numpy as np

from ..._checks import check_float, check_int
from .base import Layer


class LayerNorm(Layer):
    """Normalise every vector on the last axis, then scale and shift it.

    Parameters
    ----------
    d_model : int >= 1, the length of the last axis
    eps : float > 0, added to the variance

    ``params`` is ``{"gamma": (d_model,), "beta": (d_model,)}`` (PyTorch's ``weight`` and ``bias``),
    starting at ones and zeros.
    Shapes: ``X`` (..., d_model) -> same shape; cache ``(xhat, inv_std, gamma)`` with ``xhat`` of
    ``X``'s shape and ``inv_std`` of shape (..., 1).
    """

    param_keys = ("gamma", "beta")

    def __init__(self, d_model: int, eps: float = 1e-5):
        self.d_model = check_int("d_model", d_model, minimum=1)
        self.eps = check_float("eps", eps, minimum=0.0, strict_min=True)

    def init_params(self, rng, dtype):
        return {"gamma": np.ones(self.d_model, dtype=dtype), "beta": np.zeros(self.d_model, dtype=dtype)}

    def forward(self, params, X, training=False, scratch=None):
        gamma, beta = params["gamma"], params["beta"]
        if X.ndim < 1 or X.shape[-1] != gamma.shape[0]:
            raise ValueError(f"LayerNorm expects {gamma.shape[0]} features on the last axis, got shape {X.shape}")
        centred = X - X.mean(axis=-1, keepdims=True)
        var = np.mean(centred * centred, axis=-1, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + X.dtype.type(self.eps))
        xhat = centred
        xhat *= inv_std
        out = xhat * gamma
        out += beta
        return out, (xhat, inv_std, gamma)

    def backward(self, params, dout, cache, need_dX=True, scratch=None):
        xhat, inv_std, gamma = cache
        d = xhat.shape[-1]
        dgamma = np.einsum("ij,ij->j", dout.reshape(-1, d), xhat.reshape(-1, d))
        dbeta = dout.reshape(-1, d).sum(axis=0)
        dX = None
        if need_dX:
            g = dout * gamma
            dX = g - g.mean(axis=-1, keepdims=True)
            dX -= xhat * np.mean(g * xhat, axis=-1, keepdims=True)
            dX *= inv_std
        return dX, {"gamma": dgamma, "beta": dbeta}

    def config(self):
        return {"d_model": self.d_model, "eps": self.eps}
