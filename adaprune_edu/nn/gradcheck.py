"""Gradient checking: compare backpropagation with centred finite differences.

``numerical_gradient(f, x)`` perturbs one entry at a time, ``x[i] +/- h``, evaluates the
scalar ``f()``, restores ``x[i]``, and returns ``(f(x+h) - f(x-h)) / 2h``. The error of
that estimate is O(h^2), so in float64 with ``h = 1e-5`` a correct analytic gradient
agrees to a relative error around 1e-9 or better; a wrong one is off by ~1.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_float


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """``max |a - n| / max(|a| + |n|)`` over all entries (0 when both are all zero)."""
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    scale = np.max(np.abs(analytic) + np.abs(numeric))
    if scale == 0:
        return 0.0
    return float(np.max(np.abs(analytic - numeric)) / scale)


def numerical_gradient(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of the scalar function ``f()`` with respect to ``x``.

    ``x`` is modified in place during the computation and restored exactly afterwards,
    so ``f`` should read ``x`` (e.g. a model's weight array) rather than take it.
    """
    h = check_float("h", h, minimum=0.0, strict_min=True)
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a NumPy array to perturb in place, got {type(x).__name__}")
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(*x.shape):
        original = x[index]
        x[index] = original + h
        plus = f()
        x[index] = original - h
        minus = f()
        x[index] = original
        grad[index] = (plus - minus) / (2 * h)
    return grad


def check_model_gradients(model, X, y, h: float = 1e-5):
    """Relative error between ``model.loss`` gradients and finite differences, per parameter.

    The check runs on a float64 copy of ``model`` (float32 differences are too coarse).
    Returns a dict ``{(layer, "W" or "b"): relative_error}``.
    """
    model64 = model.astype("float64")
    X = np.asarray(X, dtype=np.float64)
    _, grads = model64.loss(X, y)
    errors = {}
    for i, layer in enumerate(model64.params):
        for key, value in layer.items():
            numeric = numerical_gradient(lambda: model64.loss(X, y)[0], value, h=h)
            mask = model64.masks[i][key]
            if mask is not None:  # a masked entry has no gradient by design
                numeric *= mask
            errors[(i, key)] = relative_error(grads[i][key], numeric)
    return errors
