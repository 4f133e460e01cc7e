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


def _copied(out: np.ndarray, source: np.ndarray) -> np.ndarray:
    np.copyto(out, source)
    return out


def _filled(out: np.ndarray, value) -> np.ndarray:
    out.fill(value)
    return out


class MaxPool2D(Layer):
    """Max over non-overlapping ``size x size`` windows (PyTorch's ``nn.MaxPool2d(size)``).

    Shapes: ``X`` (N, H, W, C) -> (N, H // size, W // size, C); cache ``(winners, X.shape)``
    where ``winners`` is a list of ``size * size`` boolean arrays (N, H_out, W_out, C), one per
    window position ``(i, j)`` in row-major order: ``winners[i * size + j]`` marks the windows whose
    gradient goes to that position (the first maximum if several are equal; exactly one per window).
    """

    input_ndim = 4

    def __init__(self, size: int):
        self.size = check_int("size", size, minimum=1)

    def _taps(self, X):
        """The ``size * size`` strided views ``X[:, i::size, j::size]`` (cropped to whole windows), row-major."""
        s = self.size
        h_out, w_out = X.shape[1] // s, X.shape[2] // s
        if h_out == 0 or w_out == 0:
            raise ValueError(f"pool size={s} is larger than the input's height x width {X.shape[1:3]}")
        return [X[:, i:h_out * s:s, j:w_out * s:s] for i in range(s) for j in range(s)]

    def forward(self, params, X, training=False, scratch=None):
        check_ndim("MaxPool2D", X, 4, "(n_samples, height, width, channels)")
        taps = self._taps(X)
        out = buffer(scratch, "out", taps[0].shape, X.dtype)
        out = taps[0].copy() if out is None else _copied(out, taps[0])
        for tap in taps[1:]:
            np.maximum(out, tap, out=out)
        # winners[t]: the windows whose gradient goes to tap t, the first tap (row-major) equal to the maximum
        free = buffer(scratch, "free", out.shape, bool)
        free = np.ones(out.shape, dtype=bool) if free is None else _filled(free, True)
        winners = []
        for t, tap in enumerate(taps[:-1]):
            won = np.equal(tap, out, out=buffer(scratch, f"won{t}", out.shape, bool))
            won &= free
            free ^= won
            winners.append(won)
        winners.append(free)  # no earlier tap was the maximum: the last one is
        return out, (winners, X.shape)

    def backward(self, params, dout, cache, need_dX=True, scratch=None):
        winners, input_shape = cache
        dX = buffer(scratch, "dX", input_shape, dout.dtype)
        if dX is None:
            dX = np.empty(input_shape, dtype=dout.dtype)
        if input_shape[1] % self.size or input_shape[2] % self.size:
            dX.fill(0)  # the rows and columns no window covers
        for won, tap in zip(winners, self._taps(dX)):
            np.multiply(dout, won, out=tap)
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
