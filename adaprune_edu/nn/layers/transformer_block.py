"""A pre-LN transformer block: ``X + attention(LN1(X))``, then ``+ mlp(LN2(.))``.

``H = X + CausalSelfAttention(LayerNorm1(X))`` and ``out = H + FeedForward(LayerNorm2(H))``. The
normalisation sits inside each residual branch ("pre-LN", as in GPT-2), so the skip path carries the
signal untouched and training is stable without a learning-rate warm-up trick of its own.

Backward: the gradient reaching ``H`` is ``dout`` (the skip) plus what comes back through the MLP
branch; the gradient reaching ``X`` is that plus what comes back through the attention branch.

Like :class:`~adaprune_edu.nn.layers.residual.Residual` this is a container: its parameters are four
dicts in the network's flat ``params`` list, in the order ``[ln1, attention, ln2, mlp]``.
"""
from __future__ import annotations

from ..._checks import check_int
from .attention import CausalSelfAttention
from .base import Layer
from .feedforward import FeedForward
from .layernorm import LayerNorm


class TransformerBlock(Layer):
    """``TransformerBlock(d_model, n_heads, d_hidden=4 * d_model, activation="gelu")``.

    Parameters
    ----------
    d_model, n_heads : int >= 1 (``d_model`` divisible by ``n_heads``)
    d_hidden : int >= 1 or None, the MLP's inner width (4 * d_model by default)
    activation : {"gelu", "relu"}, the MLP's activation

    Shapes: ``X`` (batch, time, d_model) -> same shape; cache ``(ln1, attention, ln2, mlp)`` caches.
    """

    is_container = True
    input_ndim = 3

    def __init__(self, d_model: int, n_heads: int, d_hidden: int | None = None, activation: str = "gelu"):
        d_model = check_int("d_model", d_model, minimum=1)
        d_hidden = 4 * d_model if d_hidden is None else check_int("d_hidden", d_hidden, minimum=1)
        self.ln1 = LayerNorm(d_model)
        self.attention = CausalSelfAttention(d_model, n_heads)
        self.ln2 = LayerNorm(d_model)
        self.mlp = FeedForward(d_model, d_hidden, activation)

    @property
    def children(self) -> list:
        """``[ln1, attention, ln2, mlp]``: the order of this block's four parameter dicts."""
        return [self.ln1, self.attention, self.ln2, self.mlp]

    @property
    def n_param_dicts(self) -> int:
        return 4

    def init_params(self, rng, dtype) -> list:
        return [layer.init_params(rng, dtype) for layer in self.children]

    def forward(self, params, X, training=False, scratch=None):
        p_ln1, p_attention, p_ln2, p_mlp = params
        A, c_ln1 = self.ln1.forward(p_ln1, X)
        A, c_attention = self.attention.forward(p_attention, A)
        H = X + A
        B, c_ln2 = self.ln2.forward(p_ln2, H)
        B, c_mlp = self.mlp.forward(p_mlp, B)
        return H + B, (c_ln1, c_attention, c_ln2, c_mlp)

    def backward(self, params, dout, cache, need_dX=True, scratch=None):
        p_ln1, p_attention, p_ln2, p_mlp = params
        c_ln1, c_attention, c_ln2, c_mlp = cache
        dB, g_mlp = self.mlp.backward(p_mlp, dout, c_mlp)
        dB, g_ln2 = self.ln2.backward(p_ln2, dB, c_ln2)
        dH = dout + dB
        dA, g_attention = self.attention.backward(p_attention, dH, c_attention)
        dA, g_ln1 = self.ln1.backward(p_ln1, dA, c_ln1)
        return dH + dA, [g_ln1, g_attention, g_ln2, g_mlp]

    def config(self):
        return {"d_model": self.attention.d_model, "n_heads": self.attention.n_heads,
                "d_hidden": self.mlp.d_hidden, "activation": self.mlp.activation}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"TransformerBlock({args})"
