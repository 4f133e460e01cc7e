"""Argument checks shared by the whole package.

Every public function validates what a user passes in and raises a ``ValueError``
or ``TypeError`` that names the argument, the value received and what is allowed.
No ``assert`` (it vanishes under ``python -O``) and no silent clamping.
"""
from __future__ import annotations

import numbers

import numpy as np


def _short(value, limit: int = 60) -> str:
    """A short printable form of ``value`` for error messages."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_choice(name: str, value, allowed) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``allowed``."""
    if not isinstance(value, str) and not isinstance(value, numbers.Number):
        raise TypeError(f"{name}={_short(value)} must be one of {sorted(allowed)}")
    if value not in allowed:
        raise ValueError(f"{name}={_short(value)} is not allowed; choose one of {sorted(allowed)}")


def check_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as ``int`` after checking its type and range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}={_short(value)} must be an int")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}={value} must be >= {minimum}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}={value} must be <= {maximum}")
    return value


def check_float(name: str, value, minimum: float | None = None, maximum: float | None = None,
                strict_min: bool = False) -> float:
    """Return ``value`` as ``float`` after checking its type, finiteness and range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}={_short(value)} must be a real number")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name}={value} must be finite")
    if minimum is not None and (value <= minimum if strict_min else value < minimum):
        bound = ">" if strict_min else ">="
        raise ValueError(f"{name}={value} must be {bound} {minimum}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}={value} must be <= {maximum}")
    return value


def numeric_array(name: str, X, what: str = "an array of numbers") -> np.ndarray:
    """``X`` as a NumPy array of numbers (or booleans); ``TypeError`` naming ``name`` otherwise."""
    if isinstance(X, (str, bytes)) or X is None:
        raise TypeError(f"{name}={_short(X)} must be {what}")
    try:
        X = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} could not be read as an array: {exc}") from None
    if X.dtype == object or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {X.dtype}")
    return X


def check_features(name: str, X, n_features: int | None = None) -> np.ndarray:
    """Return ``X`` as a finite 2-D float array of shape (n_samples, n_features)."""
    X = numeric_array(name, X, "a 2-D array of numbers")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}); at least one sample is needed")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features (shape {X.shape}); the model expects {n_features}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return X


def check_labels(name: str, y, n_samples: int, n_classes: int) -> np.ndarray:
    """Return ``y`` as an int array of shape (n_samples,) with values in [0, n_classes)."""
    if isinstance(y, (str, bytes)) or y is None:
        raise TypeError(f"{name}={_short(y)} must be a 1-D array of integer class labels")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_samples,), got shape {y.shape}")
    if y.shape[0] != n_samples:
        raise ValueError(f"{name} has {y.shape[0]} labels but X has {n_samples} samples")
    if y.dtype == bool:
        y = y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.number):
        raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
        raise ValueError(f"{name} must hold whole-number class labels")
    y = y.astype(np.int64)
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(
            f"{name} holds labels in [{y.min()}, {y.max()}]; this model has {n_classes} classes, "
            f"so labels must lie in [0, {n_classes - 1}]"
        )
    return y


def check_dtype(name: str, dtype) -> np.dtype:
    """Return a float32/float64 ``np.dtype`` from a string or NumPy dtype."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name}={_short(dtype)} must be 'float32' or 'float64'") from None
    if resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"{name}={_short(dtype)} is not supported; use 'float32' or 'float64'")
    return resolved
