"""A bias-free linear map on the last axis, ``out = X @ W``: the language model's output head.

``X`` may have any leading axes, (batch, time, d_model) for a transformer; the map acts on the
last one. Weights are (n_in, n_out) as everywhere in the package.
"""
from __future__ import annotations

from ..._checks import check_int
from .attention import uniform_fan_in
from .base import Layer


class Linear(Layer):
    """``out = X @ W`` without a bias (PyTorch's ``nn.Linear(n_in, n_out, bias=False)``).

    ``params`` is ``{"W": (n_in, n_out)}``, initialised as PyTorch does, U(-1/sqrt(n_in), 1/sqrt(n_in)).
    Shapes: ``X`` (..., n_in) -> (..., n_out); cache ``X``.
    """

    param_keys = ("W",)

    def __init__(self, n_in: int, n_out: int):
        self.n_in = check_int("n_in", n_in, minimum=1)
        self.n_out = check_int("n_out", n_out, minimum=1)

    def init_params(self, rng, dtype):
        return {"W": uniform_fan_in(self.n_in, self.n_out, rng, dtype)}

    def forward(self, params, X, training=False, scratch=None):
        W = params["W"]
        if X.shape[-1] != W.shape[0]:
            raise ValueError(f"Linear expects {W.shape[0]} features on the last axis, got shape {X.shape}")
        return X @ W, X

    def backward(self, params, dout, cache, need_dX=True, scratch=None):
        X = cache
        W = params["W"]
        dW = X.reshape(-1, X.shape[-1]).T @ dout.reshape(-1, dout.shape[-1])
        return (dout @ W.T if need_dX else None), {"W": dW}

    def config(self):
        return {"n_in": self.n_in, "n_out": self.n_out}
