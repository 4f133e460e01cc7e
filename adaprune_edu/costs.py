"""Every number a model costs: parameters, non-zeros, MACs / FLOPs, bytes, latency. One source.

The point of these numbers: zeroing weights changes ``nonzeros`` but *not* ``params``,
dense FLOPs, dense bytes or dense latency. Only a different storage format (CSR, bitmask)
or a physically smaller network turns zeros into savings.

Counts are over every parameter array of ``model.params``: the dense layers' ``W`` (shape
``(n_in, n_out)``) and ``b`` (shape ``(n_out,)``), and for a CNN the convolutions' ``W`` (shape
``(k, k, C_in, C_out)``) and ``b`` and the BatchNorm ``gamma`` and ``beta`` (its running statistics
are buffers, not parameters, as in PyTorch). Only the ``W`` arrays are ever stored sparse; biases
and BatchNorm entries are always stored dense. A multiply-accumulate (MAC) is one multiply and one
add, so FLOPs = 2 * MACs (bias adds, BatchNorm, pooling and activations left out, as is usual). A
convolution does ``H_out * W_out * k * k * C_in * C_out`` MACs per image, so its count needs the
image size: pass ``input_shape`` (e.g. ``data.sample_shape``) for a network with convolutions.
A convolution's ``W`` is stored sparse like a dense layer's, as the ``(k*k*C_in, C_out)`` matrix
its im2col product multiplies.

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
    "measure_latency", "output_positions",
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
    """``model.params``, checked: dicts of arrays (``W``, ``b`` per Dense/Conv2D; ``gamma``, ``beta`` per BatchNorm)."""
    params = getattr(model, "params", None)
    if not isinstance(params, list) or not params or not all(
            isinstance(p, dict) and all(isinstance(a, np.ndarray) for a in p.values()) for p in params) \
            or not any("W" in p for p in params):
        raise TypeError(f"model={type(model).__name__} must have .params, a list of dicts of arrays with a 'W' in "
                        "the Dense and Conv2D layers (an adaprune_edu MLP or Sequential)")
    return params


def _matrix_shape(W: np.ndarray) -> tuple:
    """``W`` as the matrix its layer multiplies: ``(n_in, n_out)``; ``(k*k*C_in, C_out)`` for a convolution."""
    return int(np.prod(W.shape[:-1], dtype=np.int64)), int(W.shape[-1])


def _weights(model) -> list:
    return [p["W"] for p in _layers(model) if "W" in p]


def _others_bytes(model) -> int:
    """Bytes of every parameter that is not a ``W`` (biases, BatchNorm entries): always stored dense."""
    return int(sum(a.nbytes for p in _layers(model) for key, a in p.items() if key != "W"))


def count_params(model) -> int:
    """All parameters (weights, biases, BatchNorm scales and shifts), zero or not."""
    return int(sum(a.size for p in _layers(model) for a in p.values()))


def count_nonzeros(model) -> int:
    """Parameters that are not exactly zero."""
    return int(sum(np.count_nonzero(a) for p in _layers(model) for a in p.values()))


def _spatial(shape, layer) -> tuple:
    """(H, W) after ``layer`` (``None`` once the data is flat)."""
    name = type(layer).__name__
    if shape is None or name in ("Dense", "GlobalAvgPool2D", "Flatten"):
        return None
    if name == "Conv2D":
        k, s, p = layer.kernel_size, layer.stride, layer.padding
        return tuple((n + 2 * p - k) // s + 1 for n in shape)
    if name in ("MaxPool2D", "AvgPool2D"):
        return tuple(n // layer.size for n in shape)
    return shape  # BatchNorm, activations


def _positions(layers, shape, found: list):
    """Append, per Dense/Conv2D in ``params`` order, the output positions it computes; returns the shape after."""
    for layer in layers:
        if getattr(layer, "is_container", False):  # Residual: branch, then projection, both read the input
            after = _positions(layer.layers, shape, found)
            if layer.projection is not None:
                _positions([layer.projection], shape, found)
            shape = after
            continue
        name = type(layer).__name__
        shape = _spatial(shape, layer)
        if name == "Dense":
            found.append(1)
        elif name == "Conv2D":
            found.append(int(np.prod(shape)))
    return shape


def output_positions(model, input_shape=None) -> list:
    """How many times each Dense/Conv2D layer's weight matrix is applied per sample (``H_out * W_out``; 1 for Dense).

    Parameters
    ----------
    model : MLP or Sequential
    input_shape : (H, W) or (H, W, C), the image size; needed only when the model has convolutions

    Returns
    -------
    list of int, one per layer with a ``W``, in ``model.params`` order
    """
    weights = _weights(model)
    layers = getattr(model, "layers", None)
    if all(W.ndim == 2 for W in weights) or layers is None:
        return [1] * len(weights)
    if input_shape is None:
        raise ValueError("input_shape=None, but this model has Conv2D layers, whose MACs depend on the image size: "
                         "pass input_shape=(height, width, channels), e.g. data.sample_shape")
    if isinstance(input_shape, (str, bytes)) or not hasattr(input_shape, "__len__") or len(input_shape) not in (2, 3):
        raise ValueError(f"input_shape={input_shape!r} must be (height, width) or (height, width, channels)")
    shape = tuple(check_int(f"input_shape[{i}]", n, minimum=1) for i, n in enumerate(input_shape[:2]))
    found = []
    _positions(layers, shape, found)
    return found


def macs_per_sample(model, sparse: bool = False, input_shape=None) -> int:
    """Multiply-accumulates for one sample's forward pass.

    Dense: ``sum(n_in * n_out)`` over Dense layers and ``sum(H_out * W_out * k * k * C_in * C_out)``
    over convolutions (``input_shape`` needed then). With ``sparse=True``, only non-zero weights
    count: the work an ideal sparse kernel would do (real kernels rarely get there; see latency).
    """
    positions = output_positions(model, input_shape)
    per_weight = [np.count_nonzero(W) if sparse else W.size for W in _weights(model)]
    return int(sum(n * count for n, count in zip(positions, per_weight)))


def flops_per_sample(model, sparse: bool = False, input_shape=None) -> int:
    """``2 * macs_per_sample`` (the bias adds and activations are left out, as is usual)."""
    return 2 * macs_per_sample(model, sparse=sparse, input_shape=input_shape)


def bytes_dense(model) -> int:
    """Bytes to store every parameter as a dense array of the model's dtype."""
    return int(sum(dense_bytes(W.shape, W.itemsize) for W in _weights(model))) + _others_bytes(model)


def bytes_csr(model, index_bytes: int = INDEX_BYTES) -> int:
    """Bytes to store each ``W`` in CSR as the package does (``W.T``: ``n_out + 1`` row pointers) plus dense biases.

    Equal to :attr:`adaprune_edu.pruning.sparse.SparseMLP.nbytes` of the same model (both call
    :func:`csr_bytes`). A convolution's ``W`` counts as its ``(k*k*C_in, C_out)`` matrix.
    """
    return int(sum(csr_bytes(_matrix_shape(W)[1], np.count_nonzero(W), W.itemsize, index_bytes)
                   for W in _weights(model))) + _others_bytes(model)


def bytes_bitmask(model) -> int:
    """Bytes for non-zero values plus one bit per weight saying where they sit, plus dense biases."""
    return int(sum(bitmask_bytes(W.size, np.count_nonzero(W), W.itemsize) for W in _weights(model))) \
        + _others_bytes(model)


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
