"""What every layer object has in common: hyperparameters on the object, parameters outside.

A layer object (``Conv2D(1, 16, 3)``, ``ReLU()``, ...) stores only its hyperparameters (and, for
BatchNorm, its running statistics). Its trainable parameters live in the network's ``params``
list, next to the pruning masks in ``masks``; the network hands each layer its own dict:

- ``layer.init_params(rng, dtype) -> dict`` creates that dict (``{}`` for a layer without
  parameters);
- ``layer.forward(params, X, training=False, scratch=None) -> (out, cache)``;
- ``layer.backward(params, dout, cache, need_dX=True, scratch=None) -> (dX, grads)``, where
  ``grads`` is a dict shaped like ``params``.

``scratch`` is an optional dict the training loop keeps per layer and batch size: a layer may
write its results into arrays it finds there (see :func:`buffer`) instead of allocating new
ones for every batch. The numbers are the same either way.

A container (:class:`~adaprune_edu.nn.layers.residual.Residual`) receives a list of dicts, one
per parameterised layer inside it, in the same order as the network's ``params``.
"""
from __future__ import annotations

import numpy as np


def buffer(scratch: dict | None, name: str, shape: tuple, dtype) -> np.ndarray | None:
    """A reusable array of ``shape`` and ``dtype`` from ``scratch`` (``None`` without scratch).

    The array is created on first use and whenever the shape changes; its content is whatever
    the previous batch left there, so use it only as an ``out=`` target.
    """
    if scratch is None:
        return None
    array = scratch.get(name)
    if array is None or array.shape != tuple(shape) or array.dtype != dtype:
        array = scratch[name] = np.empty(shape, dtype=dtype)
    return array


def zeros_buffer(scratch: dict | None, name: str, shape: tuple, dtype) -> np.ndarray:
    """Like :func:`buffer` but filled with zeros on first use; a fresh zero array without scratch.

    For arrays whose border a layer never writes (the zero padding around an image).
    """
    if scratch is None:
        return np.zeros(shape, dtype=dtype)
    key = "zeros:" + name
    array = scratch.get(key)
    if array is None or array.shape != tuple(shape) or array.dtype != dtype:
        array = scratch[key] = np.zeros(shape, dtype=dtype)
    return array


class Layer:
    """Base class: a forward/backward pair, no parameters.

    Subclasses that own parameters set ``param_keys`` (e.g. ``("W", "b")``) and override
    :meth:`init_params`.
    """

    #: names of the entries of this layer's parameter dict, ``()`` for none
    param_keys: tuple = ()
    #: the input rank this layer accepts (samples included): 2 for (n, features), 4 for (n, H, W, C)
    input_ndim: int | None = None

    @property
    def n_param_dicts(self) -> int:
        """How many dicts of the network's ``params`` belong to this layer (0 or 1; more for containers)."""
        return 1 if self.param_keys else 0

    def init_params(self, rng: np.random.Generator, dtype) -> dict:
        """Fresh parameters (drawn from ``rng``); ``{}`` for a layer without parameters."""
        return {}

    def forward(self, params, X, training=False, scratch=None):  # pragma: no cover - interface
        raise NotImplementedError

    def backward(self, params, dout, cache, need_dX=True, scratch=None):  # pragma: no cover - interface
        raise NotImplementedError

    def config(self) -> dict:
        """The constructor arguments, for saving: ``type(self)(**config)`` rebuilds the layer."""
        return {}

    def buffers(self) -> dict:
        """Non-trainable state saved with the model (BatchNorm's running statistics); ``{}`` here."""
        return {}

    def set_buffers(self, values: dict) -> None:
        """Restore what :meth:`buffers` returned."""

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def check_ndim(name: str, X: np.ndarray, ndim: int, layout: str) -> None:
    """Raise ``ValueError`` unless ``X`` has ``ndim`` dimensions (``layout`` names them)."""
    if X.ndim != ndim:
        raise ValueError(f"{name} expects input of shape {layout}, got shape {X.shape}")
