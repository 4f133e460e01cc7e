"""Pooling on channels-last images: max, average, and global average.

``MaxPool2D(size)`` and ``AvgPool2D(size)`` look at non-overlapping ``size x size`` windows
(stride = size, as PyTorch's default); rows and columns that do not fill a window are dropped,
as PyTorch does. ``GlobalAvgPool2D()`` averages each channel over the whole image.

Max-pool backward sends each window's gradient to ONE maximum, the first in row-major order
(PyTorch's choice). On digits many windows hold several equal maxima (blank background,
saturated strokes); sending the gradient to every tied entry would be 10-70% wrong there.
"""
from __future__ import annotations

import numpy as np

from ..._checks import check_int
from .base import Layer, buffer, check_ndim


def _windows(X: np.ndarray, size: int) -> np.ndarray:
    """``X`` (N, H, W, C) as a view (N, H_out, size, W_out, size, C), the ragged edge dropped."""
    n, height, width, channels = X.shape
    h_out, w_out = height // size, width // size
    if h_out == 0 or w_out == 0:
        raise ValueError(f"pool size={size} is larger than the input's height x width {X.shape[1:3]}")
    return X[:, :h_out * size, :w_out * size].reshape(n, h_out, size, w_out, size, channels)


class MaxPool2D(Layer):
    """Max over non-overlapping ``size x size`` windows (PyTorch's ``nn.MaxPool2d(size)``).

    Shapes: ``X`` (N, H, W, C) -> (N, H // size, W // size, C); cache ``(winner, X.shape)``
    where ``winner`` (N, H_out, W_out, C) is the row-major index in its window of the maximum
    that receives the gradient.
    """

    input_ndim = 4

    def __init__(self, size: int):
        self.size = check_int("size", size, minimum=1)

    def forward(self, params, X, training=False, scratch=None):
        check_ndim("MaxPool2D", X, 4, "(n_samples, height, width, channels)")
        s = self.size
        windows = _windows(X, s)
        out = np.max(windows, axis=(2, 4), out=buffer(scratch, "out", (windows.shape[0], windows.shape[1],
                                                                       windows.shape[3], windows.shape[5]), X.dtype))
        winner = np.full(out.shape, -1, dtype=np.int8 if s * s < 128 else np.int64)
        for i in range(s):  # row-major: the first maximum found keeps the gradient
            for j in range(s):
                found = (windows[:, :, i, :, j] == out) & (winner < 0)
                winner[found] = i * s + j
        return out, (winner, X.shape)

    def backward(self, params, dout, cache, need_dX=True, scratch=None):
        winner, input_shape = cache
        s = self.size
        dX = buffer(scratch, "dX", input_shape, dout.dtype)
        if dX is None:
            dX = np.empty(input_shape, dtype=dout.dtype)
        dX.fill(0)
        windows = _windows(dX, s)
        for i in range(s):
            for j in range(s):
                np.copyto(windows[:, :, i, :, j], dout, where=winner == i * s + j)
        return dX, {}

    def config(self):
        return {"size": self.size}


class AvgPool2D(Layer):
    """Mean over non-overlapping ``size x size`` windows (PyTorch's ``nn.AvgPool2d(size)``).

    Shapes: ``X`` (N, H, W, C) -> (N, H // size, W // size, C); cache ``X.shape``.
    """

    input_ndim = 4

    def __init__(self, size: int):
        self.size = check_int("size", size, minimum=1)

    def forward(self, params, X, training=False, scratch=None):
        check_ndim("AvgPool2D", X, 4, "(n_samples, height, width, channels)")
        windows = _windows(X, self.size)
        out = windows.sum(axis=(2, 4))
        out /= self.size * self.size
        return out, X.shape

    def backward(self, params, dout, cache, need_dX=True, scratch=None):
        input_shape = cache
        s = self.size
        dX = np.zeros(input_shape, dtype=dout.dtype)
        _windows(dX, s)[...] = (dout / (s * s))[:, :, None, :, None, :]
        return dX, {}

    def config(self):
        return {"size": self.size}


class GlobalAvgPool2D(Layer):
    """Mean of each channel over all positions (PyTorch's ``nn.AdaptiveAvgPool2d(1)`` + flatten).

    Shapes: ``X`` (N, H, W, C) -> (N, C); cache ``X.shape``.
    """

    input_ndim = 4

    def forward(self, params, X, training=False, scratch=None):
        check_ndim("GlobalAvgPool2D", X, 4, "(n_samples, height, width, channels)")
        n, height, width, channels = X.shape
        out = X.reshape(n, height * width, channels).sum(axis=1)
        out /= height * width
        return out, X.shape

    def backward(self, params, dout, cache, need_dX=True, scratch=None):
        n, height, width, channels = cache
        dX = buffer(scratch, "dX", cache, dout.dtype)
        if dX is None:
            dX = np.empty(cache, dtype=dout.dtype)
        np.copyto(dX, (dout / (height * width))[:, None, None, :])
        return dX, {}
