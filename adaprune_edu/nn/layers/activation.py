"""Element-wise activations as layer objects: ``ReLU()``, ``Sigmoid()``, ``Tanh()``.

They wrap the functions of :mod:`adaprune_edu.nn.activations` and work on any shape
(``(n_samples, n_units)`` or ``(n_samples, H, W, C)``); the output has the input's shape and
the cache is the output ``A`` (each derivative can be written from ``A`` alone).
"""
from __future__ import annotations

from ..activations import ACTIVATIONS
from .base import Layer, buffer


class Activation(Layer):
    """An element-wise activation by name: ``"relu"``, ``"sigmoid"`` or ``"tanh"``.

    By default forward writes into a new array (or the training loop's scratch array), not into
    its input: a residual block, for one, still needs that input for its skip connection. With
    ``inplace=True`` it overwrites ``X`` (and backward ``dout``): the chain of layers asks for that
    where nothing else reads the array (see :func:`~adaprune_edu.nn.layers.chain.forward_chain`).
    """

    name = "relu"

    def forward(self, params, X, training=False, scratch=None, inplace=False):
        if inplace:
            return ACTIVATIONS[self.name][0](X, inplace=True)
        return ACTIVATIONS[self.name][0](X, out=buffer(scratch, "A", X.shape, X.dtype))

    def backward(self, params, dout, cache, need_dX=True, scratch=None, inplace=False):
        if inplace:
            return ACTIVATIONS[self.name][1](dout, cache, inplace=True), {}
        return ACTIVATIONS[self.name][1](dout, cache, out=buffer(scratch, "dZ", dout.shape, dout.dtype)), {}


class ReLU(Activation):
    """``A = max(Z, 0)`` (PyTorch's ``nn.ReLU()``)."""

    name = "relu"


class Sigmoid(Activation):
    """``A = 1 / (1 + exp(-Z))`` (PyTorch's ``nn.Sigmoid()``)."""

    name = "sigmoid"


class Tanh(Activation):
    """``A = tanh(Z)`` (PyTorch's ``nn.Tanh()``)."""

    name = "tanh"


ACTIVATION_LAYERS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}
