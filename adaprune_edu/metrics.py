"""Accuracy, and the cost numbers under their first names.

The cost functions live in :mod:`adaprune_edu.costs` (one source for every number a model
costs); the names here are the same functions, kept because notebooks, the explorer, the
demo and the report import them from ``metrics``.
"""
from __future__ import annotations

import numpy as np

from .costs import (
    bytes_bitmask,
    bytes_csr,
    bytes_dense,
    count_nonzeros,
    count_params,
    flops_per_sample,
    macs_per_sample,
    measure_latency,
)

__all__ = [
    "accuracy", "count_params", "count_nonzeros", "macs_per_sample", "flops_per_sample",
    "bytes_dense", "bytes_csr", "bytes_bitmask", "measure_latency",
]


def accuracy(y_true, y_pred) -> float:
    """Fraction of equal entries; both of shape (n_samples,)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}")
    if y_true.size == 0:
        raise ValueError("y_true is empty; accuracy needs at least one sample")
    return float(np.mean(y_true == y_pred))
