"""The transformer's position-wise MLP block: ``out = act(X @ W1) @ W2`` on every position.

``act`` is GELU in its tanh form (GPT-2's, PyTorch's ``nn.GELU(approximate="tanh")``; the exact form
with the error function is 7x slower in NumPy and no better here) or ReLU. The block
widens each vector to ``d_hidden`` (usually 4 * d_model) and brings it back; no biases, as in the
attention layer. ``W1`` and ``W2`` are ordinary (n_in, n_out) linear weights, the layers a one-shot
pruning method works on.

GELU: ``gelu(z) = z * Phi(z)`` with ``Phi`` the standard normal CDF, approximated by
``Phi(z) ~ 0.5 * (1 + tanh(sqrt(2/pi) * (z + 0.044715 z^3)))`` (Hendrycks & Gimpel 2016).
"""
from __future__ import annotations

import numpy as np

from ..._checks import check_choice, check_int
from .attention import uniform_fan_in
from .base import Layer

ACTIVATIONS = ("gelu", "relu")
_ROOT_2_OVER_PI = float(np.sqrt(2 / np.pi))
_CUBIC = 0.044715


def gelu_forward(Z: np.ndarray):
    """``A = 0.5 * Z * (1 + tanh(u))``, ``u = sqrt(2/pi) * (Z + 0.044715 Z^3)``; returns ``(A, tanh(u))``."""
    T = Z * Z
    T *= _CUBIC
    T += 1
    T *= Z
    T *= _ROOT_2_OVER_PI
    np.tanh(T, out=T)
    A = T + 1
    A *= Z
    A *= 0.5
    return A, T


def gelu_backward(dA: np.ndarray, Z: np.ndarray, T: np.ndarray) -> np.ndarray:
    """``dZ = dA * (0.5 (1 + t) + 0.5 Z (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 Z^2))`` with ``t = tanh(u)``."""
    slope = Z * Z
    slope *= 3 * _CUBIC
    slope += 1
    slope *= _ROOT_2_OVER_PI
    slope *= 1 - T * T
    slope *= Z
    slope += 1 + T
    slope *= 0.5
    slope *= dA
    return slope


class FeedForward(Layer):
    """``out = act(X @ W1) @ W2`` applied to every position.

    Parameters
    ----------
    d_model : int >= 1
    d_hidden : int >= 1, the inner width (4 * d_model is usual)
    activation : {"gelu", "relu"}

    ``params`` is ``{"W1": (d_model, d_hidden), "W2": (d_hidden, d_model)}``.
    Shapes: ``X`` (..., d_model) -> (..., d_model); cache ``(X, Z, A, T)`` with ``Z = X @ W1`` and
    ``A = act(Z)`` of shape (..., d_hidden) (``T = tanh(u)`` of GELU, ``None`` for ReLU).
    """

    param_keys = ("W1", "W2")

    def __init__(self, d_model: int, d_hidden: int, activation: str = "gelu"):
        self.d_model = check_int("d_model", d_model, minimum=1)
        self.d_hidden = check_int("d_hidden", d_hidden, minimum=1)
        check_choice("activation", activation, ACTIVATIONS)
        self.activation = activation

    def init_params(self, rng, dtype):
        return {"W1": uniform_fan_in(self.d_model, self.d_hidden, rng, dtype),
                "W2": uniform_fan_in(self.d_hidden, self.d_model, rng, dtype)}

    def forward(self, params, X, training=False, scratch=None):
        W1, W2 = params["W1"], params["W2"]
        if X.shape[-1] != W1.shape[0]:
            raise ValueError(f"FeedForward expects {W1.shape[0]} features on the last axis, got shape {X.shape}")
        Z = X @ W1
        if self.activation == "gelu":
            A, T = gelu_forward(Z)
        else:
            A, T = np.maximum(Z, 0), None
        return A @ W2, (X, Z, A, T)

    def backward(self, params, dout, cache, need_dX=True, scratch=None):
        X, Z, A, T = cache
        W1, W2 = params["W1"], params["W2"]
        dout2 = dout.reshape(-1, dout.shape[-1])
        dW2 = A.reshape(-1, A.shape[-1]).T @ dout2
        dA = dout @ W2.T
        dZ = gelu_backward(dA, Z, T) if self.activation == "gelu" else dA * (Z > 0)
        dW1 = X.reshape(-1, X.shape[-1]).T @ dZ.reshape(-1, dZ.shape[-1])
        dX = dZ @ W1.T if need_dX else None
        return dX, {"W1": dW1, "W2": dW2}

    def config(self):
        return {"d_model": self.d_model, "d_hidden": self.d_hidden, "activation": self.activation}
