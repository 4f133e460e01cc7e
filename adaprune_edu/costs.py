"""Every number a model costs: parameters, non-zeros, MACs / FLOPs, bytes, latency. One source.

The point of these numbers: zeroing weights changes ``nonzeros`` but *not* ``params``,
dense FLOPs, dense bytes or dense latency. Only a different storage format (CSR, bitmask)
or a physically smaller network turns zeros into savings.

Counts are over dense layers' ``W`` (shape ``(n_in, n_out)``) and ``b`` (shape ``(n_out,)``);
biases are always stored dense. A multiply-accumulate (MAC) is one multiply and one add, so
FLOPs = 2 * MACs (bias adds and activations left out, as is usual).

Storage formats, per weight matrix with ``nnz`` non-zeros:

- **dense**: ``n_in * n_out`` values.
- **CSR** (compressed sparse rows), stored as the package stores it
  (:class:`~adaprune_edu.pruning.sparse.SparseMLP`): the matrix kept is ``W.T``, of shape
  ``(n_out, n_in)`` -- one row per output neuron, the layout of a PyTorch ``Linear.weight`` --
  as three arrays: ``data`` (``nnz`` values), ``indices`` (``nnz`` column indices: which input)
  and ``indptr`` (``n_out + 1`` row pointers: where each neuron's row starts and ends). Bytes:
  ``nnz * (value + index) + (n_out + 1) * index``.
- **bitmask**: the ``nnz`` values plus one bit per entry saying which are non-zero:
  ``nnz * value + ceil(n_in * n_out / 8)``.

With float32 values and int32 indices (ignoring the ``n_out + 1`` pointers), per entry of ``W``
at density ``d`` (the fraction kept): dense costs 4 bytes, CSR ``8 d``, bitmask ``4 d + 1/8``. So
CSR is smaller than dense only below density 1/2 (past 50% sparsity); a bitmask is smaller than
dense below density 31/32 and smaller than CSR above density 1/32: CSR beats a bitmask only past
about 97% sparsity. :func:`csr_bytes` and :func:`bitmask_bytes` give the exact counts.
"""
from __future__ import annotations

import time

import numpy as np

from ._checks import check_int

__all__ = [
    "count_params", "count_nonzeros", "macs_per_sample", "flops_per_sample",
    "dense_bytes", "csr_bytes", "bitmask_bytes", "bytes_dense", "bytes_csr", "bytes_bitmask",
    "measure_latency",
]

#: bytes of one CSR index (``indices`` and ``indptr``): int32, what SciPy uses for these sizes
INDEX_BYTES = 4


# ---------------------------------------------------------------------- one matrix
def dense_bytes(shape, value_bytes: int) -> int:
    """Bytes of a dense array of ``shape`` with ``value_bytes`` per entry.

    >>> dense_bytes((256, 128), 4)
    131072
    """
    value_bytes = check_int("value_bytes", value_bytes, minimum=1)
    return int(np.prod(shape, dtype=np.int64)) * value_bytes


def csr_bytes(n_rows: int, nnz: int, value_bytes: int, index_bytes: int = INDEX_BYTES) -> int:
    """Bytes of a CSR matrix with ``n_rows`` rows and ``nnz`` stored values.

    ``data`` holds ``nnz`` values, ``indices`` ``nnz`` column indices, ``indptr`` ``n_rows + 1``
    row pointers. For a layer stored as the package stores it, ``n_rows`` is ``n_out`` (the
    matrix kept is ``W.T``).

    Parameters
    ----------
    n_rows : int >= 0
    nnz : int >= 0, stored (non-zero) values
    value_bytes : int >= 1, e.g. 4 for float32
    index_bytes : int >= 1, e.g. 4 for int32

    Examples
    --------
    >>> csr_bytes(n_rows=3, nnz=9, value_bytes=4)   # 9 * (4 + 4) + (3 + 1) * 4
    88
    """
    n_rows = check_int("n_rows", n_rows, minimum=0)
    nnz = check_int("nnz", nnz, minimum=0)
    value_bytes = check_int("value_bytes", value_bytes, minimum=1)
    index_bytes = check_int("index_bytes", index_bytes, minimum=1)
    return nnz * (value_bytes + index_bytes) + (n_rows + 1) * index_bytes


def bitmask_bytes(size: int, nnz: int, value_bytes: int) -> int:
    """Bytes of ``nnz`` values plus a bitmask of ``size`` bits (rounded up to whole bytes).

    >>> bitmask_bytes(size=12, nnz=9, value_bytes=4)   # 9 * 4 + ceil(12 / 8)
    38
    """
    size = check_int("size", size, minimum=0)
    nnz = check_int("nnz", nnz, minimum=0, maximum=size)
    value_bytes = check_int("value_bytes", value_bytes, minimum=1)
    return nnz * value_bytes + (size + 7) // 8


# ---------------------------------------------------------------------- a whole model
def _layers(model):
    """``model.params``: a list of ``{"W": (n_in, n_out), "b": (n_out,)}``, checked."""
    params = getattr(model, "params", None)
    if not isinstance(params, list) or not all(isinstance(p, dict) and "W" in p and "b" in p for p in params):
        raise TypeError(f"model={type(model).__name__} must have .params, a list of {{'W', 'b'}} dicts "
                        "(an adaprune_edu MLP)")
    return params


def count_params(model) -> int:
    """All weights and biases, zero or not."""
    return int(sum(p["W"].size + p["b"].size for p in _layers(model)))


def count_nonzeros(model) -> int:
    """Weights and biases that are not exactly zero."""
    return int(sum(np.count_nonzero(p["W"]) + np.count_nonzero(p["b"]) for p in _layers(model)))


def macs_per_sample(model, sparse: bool = False) -> int:
    """Multiply-accumulates for one sample's forward pass.

    Dense: ``sum(n_in * n_out)``. With ``sparse=True``, only non-zero weights count: the
    work an ideal sparse kernel would do (real kernels rarely get there; see latency).
    """
    if sparse:
        return int(sum(np.count_nonzero(p["W"]) for p in _layers(model)))
    return int(sum(p["W"].size for p in _layers(model)))


def flops_per_sample(model, sparse: bool = False) -> int:
    """``2 * macs_per_sample`` (the bias adds and activations are left out, as is usual)."""
    return 2 * macs_per_sample(model, sparse=sparse)


def bytes_dense(model) -> int:
    """Bytes to store every weight and bias as a dense array of the model's dtype."""
    return int(sum(dense_bytes(p["W"].shape, p["W"].itemsize) + p["b"].nbytes for p in _layers(model)))


def bytes_csr(model, index_bytes: int = INDEX_BYTES) -> int:
    """Bytes to store each ``W`` in CSR as the package does (``W.T``: ``n_out + 1`` row pointers) plus dense biases.

    Equal to :attr:`adaprune_edu.pruning.sparse.SparseMLP.nbytes` of the same model (both call
    :func:`csr_bytes`).
    """
    return int(sum(csr_bytes(p["W"].shape[1], np.count_nonzero(p["W"]), p["W"].itemsize, index_bytes)
                   + p["b"].nbytes for p in _layers(model)))


def bytes_bitmask(model) -> int:
    """Bytes for non-zero values plus one bit per weight saying where they sit, plus dense biases."""
    return int(sum(bitmask_bytes(p["W"].size, np.count_nonzero(p["W"]), p["W"].itemsize) + p["b"].nbytes
                   for p in _layers(model)))


# ---------------------------------------------------------------------- time
def measure_latency(predict, X, repeats: int = 20, warmup: int = 3) -> float:
    """Median wall-clock seconds of ``predict(X)`` over ``repeats`` runs after ``warmup`` runs.

    The median resists the outliers of a shared machine; compare two models by measuring
    them side by side in the same process, never against a number from another run. At
    batch 1 on these small matrices the time is mostly Python call overhead (microseconds per
    call), not arithmetic.
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
