"""Every number a model costs: parameters, non-zeros, MACs / FLOPs, bytes, latency. One source.

The point of these numbers: zeroing weights changes ``nonzeros`` but *not* ``params``,
dense FLOPs, dense bytes or dense latency. Only a different storage format (CSR, bitmask)
or a physically smaller network turns zeros into savings.

Counts are over every parameter of an MLP or a :class:`~adaprune_edu.nn.sequential.Sequential`
(a CNN): each layer's ``W`` -- ``(n_in, n_out)`` for a Dense layer, ``(k, k, C_in, C_out)`` for a
Conv2D -- is the weight matrix that pruning thins out; biases and BatchNorm's ``gamma``/``beta`` are
always stored dense (running statistics are buffers, not parameters, and fold into the convolution for
inference). A multiply-accumulate (MAC) is one multiply and one add, so FLOPs = 2 * MACs (bias adds,
BatchNorm, activations and pooling left out, as is usual). A Dense layer costs ``n_in * n_out`` MACs per
sample, a Conv2D ``H_out * W_out * k * k * C_in * C_out``: its MACs depend on the image size, so a
network with convolutions needs a sample ``X`` to count them.

Storage formats, per weight matrix with ``nnz`` non-zeros:

- **dense**: ``n_in * n_out`` values.
- **CSR** (compressed sparse rows), stored as the package stores it
  (:class:`~adaprune_edu.pruning.sparse.SparseMLP`): the matrix kept is ``W.T``, of shape
  ``(n_out, n_in)`` -- one row per output neuron, the layout of a PyTorch ``Linear.weight``; a
  convolution's filters likewise as ``(C_out, k * k * C_in)``, one row per output channel --
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
    """``model.params``: a list of dicts of arrays (``{"W", "b"}``, BatchNorm's ``{"gamma", "beta"}``), checked."""
    params = getattr(model, "params", None)
    if not isinstance(params, list) or not params or not all(
            isinstance(p, dict) and all(isinstance(a, np.ndarray) for a in p.values()) for p in params):
        raise TypeError(f"model={type(model).__name__} must have .params, a list of dicts of arrays "
                        "(an adaprune_edu MLP or Sequential)")
    return params


def _dense_extras(p: dict) -> int:
    """Bytes of a layer's parameters other than ``W`` (biases, BatchNorm scales and shifts), stored dense."""
    return sum(array.nbytes for key, array in p.items() if key != "W")


def count_params(model) -> int:
    """All parameters (weights, biases, BatchNorm scales and shifts), zero or not."""
    return int(sum(array.size for p in _layers(model) for array in p.values()))


def count_nonzeros(model) -> int:
    """Parameters that are not exactly zero."""
    return int(sum(np.count_nonzero(array) for p in _layers(model) for array in p.values()))


def _positions(model, X) -> list:
    """Output positions per sample of each layer with a ``W`` (params order): 1 for Dense, H_out*W_out for Conv2D."""
    weights = [p["W"] for p in _layers(model) if "W" in p]
    if all(W.ndim == 2 for W in weights):
        return [1] * len(weights)
    if X is None:
        raise ValueError("X=None: a convolution's MACs depend on the image size; pass X, one or more samples of "
                         "shape (n, H, W, C) (only the shapes matter)")
    from .pruning.probe import output_shapes  # the network's own forward pass gives the output shapes

    return [int(np.prod(shape[1:-1])) for _, shape, _ in output_shapes(model, X)]


def macs_per_sample(model, sparse: bool = False, X=None) -> int:
    """Multiply-accumulates for one sample's forward pass, at the model's current shape.

    Dense layers: ``n_in * n_out``; convolutions: ``H_out * W_out * k * k * C_in * C_out``. With
    ``sparse=True``, only non-zero weights count (``H_out * W_out`` times each for a convolution):
    the work an ideal sparse kernel would do (real kernels rarely get there; see latency). Structured
    pruning pays off after surgery: count ``shrink(model)``.

    Parameters
    ----------
    model : MLP or Sequential
    sparse : bool
    X : ndarray of shape (n_samples, H, W, C), needed only when the model has convolutions (the
        shapes matter, not the values; one sample is enough)

    >>> from adaprune_edu.nn import MLP
    >>> macs_per_sample(MLP([4, 3, 2]))   # 4 * 3 + 3 * 2
    18
    """
    weights = [p["W"] for p in _layers(model) if "W" in p]
    per_weight = [np.count_nonzero(W) if sparse else W.size for W in weights]
    return int(sum(int(n) * positions for n, positions in zip(per_weight, _positions(model, X))))


def flops_per_sample(model, sparse: bool = False, X=None) -> int:
    """``2 * macs_per_sample`` (the bias adds and activations are left out, as is usual)."""
    return 2 * macs_per_sample(model, sparse=sparse, X=X)


def bytes_dense(model) -> int:
    """Bytes to store every parameter as a dense array of the model's dtype."""
    return int(sum((dense_bytes(p["W"].shape, p["W"].itemsize) if "W" in p else 0) + _dense_extras(p)
                   for p in _layers(model)))


def bytes_csr(model, index_bytes: int = INDEX_BYTES) -> int:
    """Bytes to store each ``W`` in CSR as the package does plus every other parameter dense.

    ``W.T`` for a Dense layer (``n_out + 1`` row pointers), the filters as ``(C_out, k * k * C_in)`` for a
    Conv2D (``C_out + 1`` row pointers). For an MLP equal to
    :attr:`adaprune_edu.pruning.sparse.SparseMLP.nbytes` of the same model (both call :func:`csr_bytes`).
    """
    return int(sum((csr_bytes(p["W"].shape[-1], np.count_nonzero(p["W"]), p["W"].itemsize, index_bytes)
                    if "W" in p else 0) + _dense_extras(p) for p in _layers(model)))


def bytes_bitmask(model) -> int:
    """Bytes for non-zero values of every ``W`` plus one bit per weight saying where they sit, plus the rest dense."""
    return int(sum((bitmask_bytes(p["W"].size, np.count_nonzero(p["W"]), p["W"].itemsize) if "W" in p else 0)
                   + _dense_extras(p) for p in _layers(model)))


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
