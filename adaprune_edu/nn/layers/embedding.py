"""Token and position embeddings: the first two layers of a transformer language model.

:class:`TokenEmbedding` looks up one learned vector per token id, ``out[n, t] = W[tokens[n, t]]``
(PyTorch's ``nn.Embedding``); its backward adds each position's gradient into the row of the token
found there (a token seen twice collects both). :class:`PositionEmbedding` adds one learned vector
per position, ``out[n, t] = X[n, t] + W[t]``, so the model can tell the first character from the
tenth (attention alone does not see order).
"""
from __future__ import annotations

import numpy as np

from ..._checks import check_float, check_int, numeric_array
from .base import Layer


def check_tokens(name: str, tokens, n_tokens: int) -> np.ndarray:
    """``tokens`` as an int64 array of shape (batch, time) with ids in [0, n_tokens)."""
    tokens = numeric_array(name, tokens, "a 2-D array of integer token ids")
    if tokens.ndim != 2:
        raise ValueError(f"{name} must be 2-D (batch, time), got shape {tokens.shape}")
    if tokens.size == 0:
        raise ValueError(f"{name} is empty (shape {tokens.shape})")
    if not np.issubdtype(tokens.dtype, np.integer):
        raise TypeError(f"{name} must hold integer token ids, got dtype {tokens.dtype}")
    low, high = int(tokens.min()), int(tokens.max())
    if low < 0 or high >= n_tokens:
        raise ValueError(f"{name} holds ids in [{low}, {high}]; the vocabulary has {n_tokens} tokens, "
                         f"so ids must lie in [0, {n_tokens - 1}]")
    return tokens.astype(np.int64, copy=False)


class TokenEmbedding(Layer):
    """One learned vector per token id (PyTorch's ``nn.Embedding(n_tokens, d_model)``).

    Parameters
    ----------
    n_tokens : int >= 1, the vocabulary size
    d_model : int >= 1, the width of every vector
    init_std : float > 0, the standard deviation of the normal initialisation

    ``params`` is ``{"W": (n_tokens, d_model)}``.
    Shapes: ``tokens`` (batch, time) of ints -> (batch, time, d_model); cache ``tokens``.
    The input is data, so backward returns ``dX = None``.
    """

    param_keys = ("W",)
    input_ndim = 2

    def __init__(self, n_tokens: int, d_model: int, init_std: float = 0.02):
        self.n_tokens = check_int("n_tokens", n_tokens, minimum=1)
        self.d_model = check_int("d_model", d_model, minimum=1)
        self.init_std = check_float("init_std", init_std, minimum=0.0, strict_min=True)

    def init_params(self, rng, dtype):
        return {"W": (rng.standard_normal((self.n_tokens, self.d_model)) * self.init_std).astype(dtype)}

    def forward(self, params, X, training=False, scratch=None):
        W = params["W"]
        tokens = check_tokens("tokens", X, W.shape[0])
        return W[tokens], tokens

    def backward(self, params, dout, cache, need_dX=True, scratch=None):
        tokens = cache
        W = params["W"]
        dW = np.zeros_like(W)
        np.add.at(dW, tokens.ravel(), dout.reshape(-1, W.shape[1]))
        return None, {"W": dW}

    def config(self):
        return {"n_tokens": self.n_tokens, "d_model": self.d_model, "init_std": self.init_std}


class PositionEmbedding(Layer):
    """Adds one learned vector per position: ``out[n, t] = X[n, t] + W[t]``.

    Parameters
    ----------
    context : int >= 1, the longest sequence the model accepts
    d_model : int >= 1
    init_std : float > 0

    ``params`` is ``{"W": (context, d_model)}``.
    Shapes: ``X`` (batch, time, d_model) with ``time <= context`` -> same shape; cache ``time``.
    """

    param_keys = ("W",)
    input_ndim = 3

    def __init__(self, context: int, d_model: int, init_std: float = 0.02):
        self.context = check_int("context", context, minimum=1)
        self.d_model = check_int("d_model", d_model, minimum=1)
        self.init_std = check_float("init_std", init_std, minimum=0.0, strict_min=True)

    def init_params(self, rng, dtype):
        return {"W": (rng.standard_normal((self.context, self.d_model)) * self.init_std).astype(dtype)}

    def forward(self, params, X, training=False, scratch=None):
        W = params["W"]
        if X.ndim != 3 or X.shape[2] != W.shape[1]:
            raise ValueError(f"PositionEmbedding expects input of shape (batch, time, {W.shape[1]}), got {X.shape}")
        time = X.shape[1]
        if time > W.shape[0]:
            raise ValueError(f"the sequence has {time} positions but the context is {W.shape[0]}")
        return X + W[:time], time

    def backward(self, params, dout, cache, need_dX=True, scratch=None):
        time = cache
        dW = np.zeros_like(params["W"])
        dW[:time] = dout.sum(axis=0)
        return (dout if need_dX else None), {"W": dW}

    def config(self):
        return {"context": self.context, "d_model": self.d_model, "init_std": self.init_std}
