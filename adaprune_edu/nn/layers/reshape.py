"""Flatten: from images to feature vectors.

Channels-last order: ``Flatten`` turns (N, H, W, C) into (N, H*W*C) with the channel index
varying fastest, so feature ``(h*W + w)*C + c`` is pixel ``(h, w)`` of channel ``c``. (PyTorch's
``nn.Flatten`` on NCHW data orders features ``(c*H + h)*W + w``; the ONNX exporter reorders
the next dense layer's rows accordingly.)
"""
from __future__ import annotations

from .base import Layer


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1*d2*...) (PyTorch's ``nn.Flatten()``). Cache: the input shape."""

    def forward(self, params, X, training=False, scratch=None):
        return X.reshape(X.shape[0], -1), X.shape

    def backward(self, params, dout, cache, need_dX=True, scratch=None):
        return dout.reshape(cache), {}
