"""Batch normalisation over the channel axis (the last one), as in PyTorch's ``nn.BatchNorm2d``.

In training mode each channel is normalised with the batch's mean and (biased) variance over
all samples and positions, ``xhat = (x - mean) / sqrt(var + eps)``, then scaled and shifted,
``out = gamma * xhat + beta``; the running statistics move towards the batch's,
``running = (1 - momentum) * running + momentum * batch`` (the running variance uses the
unbiased batch variance, as PyTorch does). In evaluation mode the running statistics replace
the batch's, so the layer is a fixed per-channel affine map (and can be folded into the
convolution before it, see :func:`adaprune_edu.nn.fold.fold_batchnorm`).
"""
from __future__ import annotations

import numpy as np

from ..._checks import check_float, check_int
from .base import Layer, buffer


class BatchNorm2D(Layer):
    """Batch normalisation of channels-last data (PyTorch's ``nn.BatchNorm2d(num_features)``).

    Parameters
    ----------
    channels : int >= 1
    eps : float > 0, added to the variance
    momentum : float in [0, 1], weight of the newest batch in the running statistics

    ``params`` is ``{"gamma": (channels,), "beta": (channels,)}`` (PyTorch's ``weight`` and
    ``bias``), starting at ones and zeros. ``running_mean`` and ``running_var`` (shape
    (channels,)) are state of the layer object, not parameters: no optimizer or mask touches them.

    Shapes: ``X`` (N, H, W, channels) -> same shape (any ``(..., channels)`` works, so
    (N, channels) too); cache ``(xhat, inv_std, gamma)``, ``xhat`` of shape (N*H*W, channels).
    """

    param_keys = ("gamma", "beta")

    def __init__(self, channels: int, eps: float = 1e-5, momentum: float = 0.1):
        self.channels = check_int("channels", channels, minimum=1)
        self.eps = check_float("eps", eps, minimum=0.0, strict_min=True)
        self.momentum = check_float("momentum", momentum, minimum=0.0, maximum=1.0)
        self.running_mean = np.zeros(self.channels)
        self.running_var = np.ones(self.channels)

    def init_params(self, rng, dtype):
        self.running_mean = np.zeros(self.channels, dtype=dtype)
        self.running_var = np.ones(self.channels, dtype=dtype)
        return {"gamma": np.ones(self.channels, dtype=dtype), "beta": np.zeros(self.channels, dtype=dtype)}

    def forward(self, params, X, training=False, scratch=None):
        gamma, beta = params["gamma"], params["beta"]
        if X.ndim < 2 or X.shape[-1] != gamma.shape[0]:
            raise ValueError(f"BatchNorm2D expects {gamma.shape[0]} channels on the last axis, got shape {X.shape}")
        Xm = X.reshape(-1, X.shape[-1])
        m = Xm.shape[0]
        if training:
            if m < 2:
                raise ValueError("BatchNorm2D in training mode needs more than 1 value per channel, "
                                 f"got input of shape {X.shape}")
            ones = np.ones(m, dtype=X.dtype)
            mean = (ones @ Xm) / m  # a matrix-vector product: much faster than Xm.sum(axis=0)
            xhat = np.subtract(Xm, mean, out=buffer(scratch, "xhat", Xm.shape, X.dtype))
            var = np.einsum("ij,ij->j", xhat, xhat) / m
            momentum = self.momentum
            self.running_mean = (1 - momentum) * self.running_mean + momentum * mean
            self.running_var = (1 - momentum) * self.running_var + momentum * var * (m / (m - 1))
        else:
            mean, var = self.running_mean, self.running_var
            xhat = np.subtract(Xm, mean, out=buffer(scratch, "xhat", Xm.shape, X.dtype))
        inv_std = (1.0 / np.sqrt(var + self.eps)).astype(X.dtype, copy=False)
        xhat *= inv_std
        out = np.multiply(xhat, gamma, out=buffer(scratch, "out", Xm.shape, X.dtype))
        out += beta
        return out.reshape(X.shape), (xhat, inv_std, gamma, training)

    def backward(self, params, dout, cache, need_dX=True, scratch=None):
        xhat, inv_std, gamma, training = cache
        dZ = dout.reshape(xhat.shape)
        m = xhat.shape[0]
        ones = np.ones(m, dtype=dZ.dtype)
        dbeta = ones @ dZ
        dgamma = np.einsum("ij,ij->j", dZ, xhat)
        dX = None
        if need_dX:
            dX = buffer(scratch, "dX", xhat.shape, dZ.dtype)
            if training:  # the batch statistics depend on every input: closed form of the chain rule
                # dX = gamma * inv_std / m * (m * dZ - dbeta - xhat * dgamma)
                dX = np.multiply(xhat, dgamma, out=dX)
                dX += dbeta
                np.subtract(m * dZ, dX, out=dX)
                dX *= gamma * inv_std / m
            else:  # a fixed affine map
                dX = np.multiply(dZ, gamma * inv_std, out=dX)
            dX = dX.reshape(dout.shape)
        return dX, {"gamma": dgamma, "beta": dbeta}

    def config(self):
        return {"channels": self.channels, "eps": self.eps, "momentum": self.momentum}

    def buffers(self):
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def set_buffers(self, values):
        self.running_mean = np.array(values["running_mean"])
        self.running_var = np.array(values["running_var"])
