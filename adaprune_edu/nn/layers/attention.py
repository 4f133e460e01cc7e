"""Causal multi-head self-attention with separate Q, K, V, O weights and a gate per head.

For an input ``X`` of shape (batch, time, d_model) and ``n_heads`` heads of width ``head_dim``:

- ``Q = X @ Wq``, ``K = X @ Wk``, ``V = X @ Wv``, each (batch, time, n_heads * head_dim), split into
  heads: head ``h`` owns columns ``h * head_dim : (h + 1) * head_dim``;
- per head, ``S = Q_h K_h^T / sqrt(head_dim)`` with ``S[t, s] = -inf`` for ``s > t`` (a position sees
  only itself and the past: the model cannot read the character it must predict), ``P = softmax(S)``
  row by row, and ``Y_h = P @ V_h``;
- each head's output is multiplied by its gate, ``head_gate[h]`` (1 by default), the heads are put
  side by side again and mixed by ``Wo``: ``out = concat_h(head_gate[h] * Y_h) @ Wo``.

The gate changes nothing while it is 1, but ``d loss / d head_gate[h]`` says how much the loss depends
on head ``h``: the head-importance score of Michel et al. (2019). Because every head owns its own
columns of ``Wq``, ``Wk``, ``Wv`` and rows of ``Wo``, a head can be removed physically by deleting them
(and its gate entry): the layer reads ``n_heads`` from ``head_gate`` and ``head_dim`` from ``Wq``, so
the smaller arrays just work. There are no biases (as in the prototype this follows).

Backward through the softmax of one row: ``dS = P * (dP - sum(dP * P))``.
"""
from __future__ import annotations

import numpy as np

from ..._checks import check_int
from .base import Layer


def uniform_fan_in(n_in: int, n_out: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """PyTorch's default ``nn.Linear`` weight init, U(-a, a) with ``a = 1 / sqrt(n_in)``, shape (n_in, n_out)."""
    limit = 1.0 / np.sqrt(n_in)
    return rng.uniform(-limit, limit, size=(n_in, n_out)).astype(dtype)


def causal_mask(time: int, dtype) -> np.ndarray:
    """(time, time) array: 0 where position ``t`` may look at ``s <= t``, ``-inf`` where ``s > t``."""
    return np.triu(np.full((time, time), -np.inf, dtype=dtype), k=1)


class CausalSelfAttention(Layer):
    """Causal multi-head self-attention, ``out = concat_h(gate_h * softmax(Q_h K_h^T / sqrt(d_h)) V_h) @ Wo``.

    Parameters
    ----------
    d_model : int >= 1, the width of the input and the output
    n_heads : int >= 1
    head_dim : int >= 1 or None, the width of one head (``d_model // n_heads`` by default; then
        ``d_model`` must be divisible by ``n_heads``)

    ``params`` is ``{"Wq", "Wk", "Wv": (d_model, n_heads * head_dim), "Wo": (n_heads * head_dim, d_model),
    "head_gate": (n_heads,)}``; the gate starts at ones and is not meant to be trained (the training
    loop leaves it alone), only read through its gradient.

    Shapes: ``X`` (batch, time, d_model) -> (batch, time, d_model); cache
    ``(X, Wqkv, Q, K, V, P, Y, Ycat, gate)`` with ``Q`` (already multiplied by ``1 / sqrt(head_dim)``),
    ``K, V, Y`` of shape (batch, n_heads, time, head_dim),
    ``P`` (batch, n_heads, time, time) and ``Ycat`` (batch, time, n_heads * head_dim).
    """

    param_keys = ("Wq", "Wk", "Wv", "Wo", "head_gate")
    input_ndim = 3

    def __init__(self, d_model: int, n_heads: int, head_dim: int | None = None):
        self.d_model = check_int("d_model", d_model, minimum=1)
        self.n_heads = check_int("n_heads", n_heads, minimum=1)
        if head_dim is None:
            if d_model % n_heads:
                raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads} "
                                 "(or pass head_dim explicitly)")
            head_dim = d_model // n_heads
        self.head_dim = check_int("head_dim", head_dim, minimum=1)

    def init_params(self, rng, dtype):
        inner = self.n_heads * self.head_dim
        return {"Wq": uniform_fan_in(self.d_model, inner, rng, dtype),
                "Wk": uniform_fan_in(self.d_model, inner, rng, dtype),
                "Wv": uniform_fan_in(self.d_model, inner, rng, dtype),
                "Wo": uniform_fan_in(inner, self.d_model, rng, dtype),
                "head_gate": np.ones(self.n_heads, dtype=dtype)}

    def forward(self, params, X, training=False, scratch=None):
        Wq, Wk, Wv, Wo, gate = (params[key] for key in self.param_keys)
        if X.ndim != 3 or X.shape[2] != Wq.shape[0]:
            raise ValueError(f"CausalSelfAttention expects input of shape (batch, time, {Wq.shape[0]}), "
                             f"got {X.shape}")
        batch, time, _ = X.shape
        n_heads = gate.shape[0]
        head_dim = Wq.shape[1] // n_heads
        Wqkv = np.concatenate([Wq, Wk, Wv], axis=1)  # one matrix product for all three
        QKV = (X.reshape(batch * time, -1) @ Wqkv).reshape(batch, time, 3, n_heads, head_dim)
        QKV = QKV.transpose(2, 0, 3, 1, 4)  # (3, batch, n_heads, time, head_dim)
        scale = X.dtype.type(1.0 / np.sqrt(head_dim))
        Q = QKV[0] * scale  # scaling Q (time x head_dim) is cheaper than scaling S (time x time); same numbers
        K, V = QKV[1], QKV[2]
        S = Q @ K.transpose(0, 1, 3, 2)
        S += causal_mask(time, X.dtype)
        S -= S.max(axis=-1, keepdims=True)  # the diagonal is always finite, so every row has a maximum
        P = np.exp(S, out=S)
        P /= P.sum(axis=-1, keepdims=True)
        Y = P @ V
        gated = Y if np.all(gate == 1) else Y * gate[:, None, None]  # x * 1 == x: skip the pass
        Ycat = gated.transpose(0, 2, 1, 3).reshape(batch, time, n_heads * head_dim)
        out = (Ycat.reshape(batch * time, -1) @ Wo).reshape(batch, time, -1)
        return out, (X, Wqkv, Q, K, V, P, Y, Ycat, gate)

    def backward(self, params, dout, cache, need_dX=True, scratch=None):
        X, Wqkv, Q, K, V, P, Y, Ycat, gate = cache
        Wo = params["Wo"]
        batch, time, d_model = X.shape
        n_heads, head_dim = Q.shape[1], Q.shape[3]
        inner = n_heads * head_dim
        dout2 = dout.reshape(batch * time, -1)
        dWo = Ycat.reshape(batch * time, inner).T @ dout2
        dYg = (dout2 @ Wo.T).reshape(batch, time, n_heads, head_dim).transpose(0, 2, 1, 3)  # d(gate_h * Y_h)
        dgate = np.einsum("bhtd,bhtd->h", dYg, Y)
        dY = dYg if np.all(gate == 1) else dYg * gate[:, None, None]
        dP = dY @ V.transpose(0, 1, 3, 2)
        dQKV = np.empty((3, batch, n_heads, time, head_dim), dtype=X.dtype)
        np.matmul(P.transpose(0, 1, 3, 2), dY, out=dQKV[2])  # dV = P^T dY
        dS = dP
        dS -= np.sum(dP * P, axis=-1, keepdims=True)
        dS *= P
        scale = X.dtype.type(1.0 / np.sqrt(head_dim))
        np.matmul(dS, K, out=dQKV[0])  # dQ = scale * dS K (Q was scaled in forward: the cache holds scale * Q)
        dQKV[0] *= scale
        np.matmul(dS.transpose(0, 1, 3, 2), Q, out=dQKV[1])  # dK = dS^T (scale * Q)
        dQKV2 = dQKV.transpose(1, 3, 0, 2, 4).reshape(batch * time, 3 * inner)
        dWqkv = X.reshape(batch * time, d_model).T @ dQKV2
        grads = {"Wq": dWqkv[:, :inner], "Wk": dWqkv[:, inner:2 * inner], "Wv": dWqkv[:, 2 * inner:],
                 "Wo": dWo, "head_gate": dgate}
        dX = (dQKV2 @ Wqkv.T).reshape(X.shape) if need_dX else None
        return dX, grads

    def config(self):
        return {"d_model": self.d_model, "n_heads": self.n_heads, "head_dim": self.head_dim}
