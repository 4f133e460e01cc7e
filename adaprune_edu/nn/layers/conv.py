"""2-D convolution on channels-last images, as one matrix product over im2col columns.

Layout NHWC: an image batch is ``(n_samples, height, width, channels)``. The weights are
``W`` of shape ``(kernel_size, kernel_size, in_channels, out_channels)``, so that flattened to
``(k*k*in_channels, out_channels)`` they multiply the im2col matrix exactly as a dense layer's
``X @ W``: each row of that matrix is one output position's receptive field, ``k*k*C`` values.

Forward:  ``cols = im2col(X)`` of shape ``(N*H_out*W_out, k*k*C_in)``; ``Z = cols @ W + b``,
which is already NHWC ``(N, H_out, W_out, C_out)``.
Backward: ``dW = cols.T @ dZ``, ``db = sum(dZ)``, ``dcols = dZ @ W.T`` and ``col2im`` adds every
column back onto the input position it came from. For stride 1 the input gradient is computed
tap by tap instead (:func:`input_gradient_stride1`): the same sums, about twice as fast.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..._checks import check_choice, check_int
from .base import Layer, buffer, check_ndim, zeros_buffer


def output_size(size: int, kernel_size: int, stride: int, padding: int) -> int:
    """``floor((size + 2*padding - kernel_size) / stride) + 1``, as in PyTorch."""
    return (size + 2 * padding - kernel_size) // stride + 1


def im2col(X: np.ndarray, kernel_size: int, stride: int, padding: int, scratch=None) -> np.ndarray:
    """Receptive fields of ``X`` as rows.

    Parameters
    ----------
    X : ndarray of shape (n_samples, height, width, channels)

    Returns
    -------
    cols : ndarray of shape (n_samples, H_out, W_out, kernel_size, kernel_size, channels)
        ``cols[n, i, j]`` is the ``k x k x C`` patch whose top-left corner is input position
        ``(i*stride - padding, j*stride - padding)`` (zeros outside the image).
    """
    n, height, width, channels = X.shape
    k = kernel_size
    if padding:
        padded = zeros_buffer(scratch, "padded", (n, height + 2 * padding, width + 2 * padding, channels), X.dtype)
        padded[:, padding:padding + height, padding:padding + width] = X  # the zero border is never written
    else:
        padded = X
    h_out, w_out = output_size(height, k, stride, padding), output_size(width, k, stride, padding)
    windows = sliding_window_view(padded, (k, k), axis=(1, 2))  # (N, Hp-k+1, Wp-k+1, C, k, k), a view
    windows = windows[:, :(h_out - 1) * stride + 1:stride, :(w_out - 1) * stride + 1:stride]
    cols = buffer(scratch, "cols", (n, h_out, w_out, k, k, channels), X.dtype)
    if cols is None:
        cols = np.empty((n, h_out, w_out, k, k, channels), dtype=X.dtype)
    np.copyto(cols, windows.transpose(0, 1, 2, 4, 5, 3))
    return cols


def col2im(dcols: np.ndarray, input_shape: tuple, stride: int, padding: int, scratch=None) -> np.ndarray:
    """The adjoint of :func:`im2col`: add every patch gradient back where the patch came from.

    Parameters
    ----------
    dcols : ndarray of shape (n_samples, H_out, W_out, kernel_size, kernel_size, channels)
    input_shape : (n_samples, height, width, channels)

    Returns
    -------
    dX : ndarray of shape ``input_shape``
    """
    n, height, width, channels = input_shape
    _, h_out, w_out, k, _, _ = dcols.shape
    padded_shape = (n, height + 2 * padding, width + 2 * padding, channels)
    dpadded = buffer(scratch, "dpadded", padded_shape, dcols.dtype)
    if dpadded is None:
        dpadded = np.empty(padded_shape, dtype=dcols.dtype)
    dpadded.fill(0)
    rows, columns = (h_out - 1) * stride + 1, (w_out - 1) * stride + 1
    for i in range(k):
        for j in range(k):
            dpadded[:, i:i + rows:stride, j:j + columns:stride] += dcols[:, :, :, i, j]
    return dpadded[:, padding:padding + height, padding:padding + width]


def input_gradient_stride1(dZ: np.ndarray, W: np.ndarray, input_shape: tuple, padding: int, scratch=None):
    """``dX`` of a stride-1 convolution without building ``dcols``: one product per filter tap, shifted adds.

    Same numbers as ``col2im(dZ @ W.T)`` up to the order of the additions. Tap ``(i, j)`` of the
    filter saw input position ``(h + i - padding, w + j - padding)`` from output position
    ``(h, w)``; its contribution ``dZ @ W[i, j].T`` (one batched product for all taps, shape
    (k*k, N, H_out, W_out, C_in)) is added onto the input window it came from, clipped at the
    image border, so no padded array is needed.

    Parameters
    ----------
    dZ : ndarray of shape (N*H_out*W_out, C_out)
    W : ndarray of shape (k, k, C_in, C_out)
    input_shape : (N, H, W, C_in)

    Returns
    -------
    dX : ndarray of shape ``input_shape``
    """
    n, height, width, c_in = input_shape
    k, c_out = W.shape[0], W.shape[3]
    h_out, w_out = height + 2 * padding - k + 1, width + 2 * padding - k + 1
    taps = W.reshape(k * k, c_in, c_out).transpose(0, 2, 1)  # (k*k, C_out, C_in)
    shape = (k * k, dZ.shape[0], c_in)
    per_tap = np.matmul(dZ, taps, out=buffer(scratch, "per_tap", shape, dZ.dtype))
    per_tap = per_tap.reshape(k * k, n, h_out, w_out, c_in)
    dX = buffer(scratch, "dX", input_shape, dZ.dtype)
    if dX is None:
        dX = np.empty(input_shape, dtype=dZ.dtype)
    centre = padding * k + padding
    covers_all = padding < k and h_out == height and w_out == width
    if covers_all:  # the centre tap of a 'same' convolution touches every input position once
        np.copyto(dX, per_tap[centre])
    else:
        dX.fill(0)
    for i in range(k):
        h0, h1 = max(0, padding - i), min(h_out, height + padding - i)  # output rows whose tap i is inside
        for j in range(k):
            if covers_all and i * k + j == centre:
                continue
            w0, w1 = max(0, padding - j), min(w_out, width + padding - j)
            if h0 < h1 and w0 < w1:
                dX[:, h0 + i - padding:h1 + i - padding, w0 + j - padding:w1 + j - padding] += \
                    per_tap[i * k + j, :, h0:h1, w0:w1]
    return dX


class Conv2D(Layer):
    """2-D convolution, channels-last (PyTorch's ``nn.Conv2d`` with NHWC data).

    Parameters
    ----------
    in_channels, out_channels : int >= 1
    kernel_size : int >= 1, a square ``kernel_size x kernel_size`` filter
    stride : int >= 1
    padding : int >= 0, zeros added on every side
    init : {"he", "glorot"}
        ``"he"``: normal with variance ``2 / (k*k*in_channels)``; biases start at zero.

    ``params`` is ``{"W": (k, k, in_channels, out_channels), "b": (out_channels,)}``: output channel
    ``c`` is the filter ``W[..., c]`` and its bias ``b[c]``.

    Shapes: ``X`` (N, H, W, in_channels) -> ``Z`` (N, H_out, W_out, out_channels) with
    ``H_out = (H + 2*padding - k) // stride + 1``; cache ``(cols, W, X.shape)`` with ``cols``
    of shape (N*H_out*W_out, k*k*in_channels).
    """

    param_keys = ("W", "b")
    input_ndim = 4

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 init: str = "he"):
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        self.out_channels = check_int("out_channels", out_channels, minimum=1)
        self.kernel_size = check_int("kernel_size", kernel_size, minimum=1)
        self.stride = check_int("stride", stride, minimum=1)
        self.padding = check_int("padding", padding, minimum=0)
        check_choice("init", init, {"he", "glorot"})
        self.init = init

    def init_params(self, rng, dtype):
        k, c_in, c_out = self.kernel_size, self.in_channels, self.out_channels
        fan_in, fan_out = k * k * c_in, k * k * c_out
        if self.init == "he":
            W = rng.standard_normal((k, k, c_in, c_out)) * np.sqrt(2.0 / fan_in)
        else:
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            W = rng.uniform(-limit, limit, size=(k, k, c_in, c_out))
        return {"W": W.astype(dtype), "b": np.zeros(c_out, dtype=dtype)}

    def forward(self, params, X, training=False, scratch=None):
        check_ndim("Conv2D", X, 4, "(n_samples, height, width, in_channels)")
        W, b = params["W"], params["b"]
        k, c_in, c_out = W.shape[0], W.shape[2], W.shape[3]
        if X.shape[3] != c_in:
            raise ValueError(f"Conv2D expects {c_in} input channels (last axis), got input of shape {X.shape}")
        if min(X.shape[1], X.shape[2]) + 2 * self.padding < k:
            raise ValueError(f"Conv2D kernel_size={k} is larger than the padded input {X.shape[1:3]}")
        cols = im2col(X, k, self.stride, self.padding, scratch)
        n, h_out, w_out = cols.shape[:3]
        cols = cols.reshape(n * h_out * w_out, k * k * c_in)
        Z = np.matmul(cols, W.reshape(k * k * c_in, c_out), out=buffer(scratch, "Z", (cols.shape[0], c_out), X.dtype))
        Z += b
        return Z.reshape(n, h_out, w_out, c_out), (cols, W, X.shape)

    def backward(self, params, dout, cache, need_dX=True, scratch=None):
        cols, W, input_shape = cache
        k, c_in, c_out = W.shape[0], W.shape[2], W.shape[3]
        n, h_out, w_out = dout.shape[:3]
        dZ = dout.reshape(-1, c_out)
        dW = buffer(scratch, "dW", W.shape, W.dtype)
        dW = np.matmul(cols.T, dZ, out=None if dW is None else dW.reshape(-1, c_out)).reshape(W.shape)
        db = np.add.reduce(dZ, axis=0, out=buffer(scratch, "db", (c_out,), W.dtype))
        dX = None
        if need_dX and self.stride == 1:
            dX = input_gradient_stride1(dZ, W, input_shape, self.padding, scratch)
        elif need_dX:
            dcols = np.matmul(dZ, W.reshape(-1, c_out).T, out=buffer(scratch, "dcols", cols.shape, W.dtype))
            dX = col2im(dcols.reshape(n, h_out, w_out, k, k, c_in), input_shape, self.stride, self.padding, scratch)
        return dX, {"W": dW, "b": db}

    def config(self):
        return {"in_channels": self.in_channels, "out_channels": self.out_channels, "kernel_size": self.kernel_size,
                "stride": self.stride, "padding": self.padding, "init": self.init}
