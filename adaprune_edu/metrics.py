"""What a model costs: parameters, non-zeros, FLOPs, bytes, latency.

The point of these numbers: zeroing weights changes ``nonzeros`` but *not* ``params``,
dense FLOPs, dense bytes or dense latency. Only a different storage format (CSR, bitmask)
or a physically smaller network turns zeros into savings.

All counts are over dense layers' ``W`` and ``b``. A multiply-accumulate (MAC) is one
multiply and one add, so FLOPs = 2 * MACs.
"""
from __future__ import annotations

import time

import numpy as np

from ._checks import check_int


def accuracy(y_true, y_pred) -> float:
    """Fraction of equal entries; both of shape (n_samples,)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}")
    if y_true.size == 0:
        raise ValueError("y_true is empty; accuracy needs at least one sample")
    return float(np.mean(y_true == y_pred))


def count_params(model) -> int:
    """All weights and biases, zero or not."""
    return int(sum(p["W"].size + p["b"].size for p in model.params))


def count_nonzeros(model) -> int:
    """Weights and biases that are not exactly zero."""
    return int(sum(np.count_nonzero(p["W"]) + np.count_nonzero(p["b"]) for p in model.params))


def macs_per_sample(model, sparse: bool = False) -> int:
    """Multiply-accumulates for one sample's forward pass.

    Dense: ``sum(n_in * n_out)``. With ``sparse=True``, only non-zero weights count: the
    work an ideal sparse kernel would do (real kernels rarely get there; see latency).
    """
    if sparse:
        return int(sum(np.count_nonzero(p["W"]) for p in model.params))
    return int(sum(p["W"].size for p in model.params))


def flops_per_sample(model, sparse: bool = False) -> int:
    """``2 * macs_per_sample`` (the bias adds and activations are left out, as is usual)."""
    return 2 * macs_per_sample(model, sparse=sparse)


def bytes_dense(model) -> int:
    """Bytes to store every weight and bias as a dense array of the model's dtype."""
    return int(sum(p["W"].nbytes + p["b"].nbytes for p in model.params))


def bytes_csr(model, index_bytes: int = 4) -> int:
    """Bytes to store each ``W`` in CSR (values, column indices, row pointers) plus dense biases.

    CSR costs ``nnz * (value + index) + (n_rows + 1) * index``: with float32 values and
    int32 indices a weight costs 8 bytes instead of 4, so CSR only saves space beyond 50%
    sparsity.
    """
    total = 0
    for p in model.params:
        W = p["W"]
        nnz = np.count_nonzero(W)
        total += nnz * (W.itemsize + index_bytes) + (W.shape[0] + 1) * index_bytes + p["b"].nbytes
    return int(total)


def bytes_bitmask(model) -> int:
    """Bytes for non-zero values plus one bit per weight saying where they sit, plus biases."""
    total = 0
    for p in model.params:
        W = p["W"]
        total += np.count_nonzero(W) * W.itemsize + (W.size + 7) // 8 + p["b"].nbytes
    return int(total)


def measure_latency(predict, X, repeats: int = 20, warmup: int = 3) -> float:
    """Median wall-clock seconds of ``predict(X)`` over ``repeats`` runs after ``warmup`` runs.

    The median resists the outliers of a shared machine; compare two models by measuring
    them side by side in the same process, never against a number from another run.
    """
    repeats = check_int("repeats", repeats, minimum=1)
    warmup = check_int("warmup", warmup, minimum=0)
    if not callable(predict):
        raise TypeError(f"predict={predict!r} must be callable")
    for _ in range(warmup):
        predict(X)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(X)
        times.append(time.perf_counter() - start)
    return float(np.median(times))
