"""Pruning masks with the semantics of ``torch.nn.utils.prune``, on NumPy arrays.

Each function takes a weight array (and optionally an existing mask and importance
scores) and *returns a new mask*; nothing is modified in place. A mask has the weight's
shape and float dtype and holds 0.0 (pruned) and 1.0 (kept), as PyTorch's masks do.
Apply it with ``W * mask`` or store it on a model with ``model.set_mask(layer, mask)``.

=========================  ==========================================================
here                       ``torch.nn.utils.prune``
=========================  ==========================================================
``identity(W)``            ``identity(module, name)``
``random_unstructured``    ``random_unstructured(module, name, amount)``
``l1_unstructured``        ``l1_unstructured(module, name, amount, importance_scores)``
``random_structured``      ``random_structured(module, name, amount, dim)``
``ln_structured``          ``ln_structured(module, name, amount, n, dim, importance_scores)``
``global_unstructured``    ``global_unstructured(parameters, L1Unstructured, amount=...)``
``custom_from_mask``       ``custom_from_mask(module, name, mask)``
=========================  ==========================================================

Conventions shared with PyTorch:

- ``amount``: an int is an exact count, a float in [0, 1] a fraction rounded with
  Python's ``round`` (see :func:`~adaprune_edu.pruning.amount.compute_count`).
- Pruning again (``mask=`` an existing mask) ranks only what is still unpruned and the
  amount is a share of *that*: 20% twice leaves 64%. Pruned entries stay pruned.
- Structured pruning removes whole slices along ``dim``; "what is still unpruned" means
  the slices that are not yet entirely masked.
- Without ``importance_scores`` the scores are the current weights ``W * mask`` (PyTorch
  scores the already-pruned parameter); with them, the given scores are used as they are.

Differences worth knowing:

- Orientation. Our ``W`` is ``(n_in, n_out)`` so that ``X @ W + b`` reads like the maths;
  a ``torch.nn.Linear.weight`` is ``(out, in)``, i.e. ``W.T``. So PyTorch's ``dim=0``
  (output neurons) is our ``dim=1``: ``ln_structured(W, 0.5, n=2, dim=1)`` here equals
  ``ln_structured(linear, "weight", 0.5, n=2, dim=0)`` there.
- Ties. PyTorch leaves the order of equal scores unspecified (``torch.topk``). Here the
  ranking is a *stable* sort of the scores, so among equal scores at the cut the entry
  (or slice) with the lowest flat index is pruned first: the result is reproducible.
- Random choices come from ``numpy.random.default_rng(seed)``, so ``random_*`` agree with
  PyTorch in how many entries they prune and in structure, not in which ones.
- A ``dim`` out of range raises ``ValueError`` (PyTorch raises ``IndexError``).
- ``importance_scores=`` exists where PyTorch has it: on the functions that *rank*
  (``l1_unstructured``, ``ln_structured``, ``global_unstructured``). ``identity``,
  ``random_*`` and ``custom_from_mask`` rank nothing, so, as in PyTorch, they take no scores;
  all of them take the existing mask (``mask=``, ``masks=`` for the global function, and
  ``existing_mask=`` for ``custom_from_mask``, whose ``mask`` is the new mask, as in PyTorch).
"""
from __future__ import annotations

import numbers

import numpy as np

from .amount import compute_count

__all__ = [
    "identity", "random_unstructured", "l1_unstructured", "random_structured", "ln_structured",
    "global_unstructured", "custom_from_mask", "prune_lowest", "slice_norms",
]


# ---------------------------------------------------------------------- argument checks
def _check_weight(W, name: str = "W") -> np.ndarray:
    """Return ``W`` as a numeric ndarray with at least one dimension."""
    if W is None or isinstance(W, (str, bytes)):
        raise TypeError(f"{name}={W!r} must be an array of numbers")
    W = np.asarray(W)
    if W.dtype == object or not (np.issubdtype(W.dtype, np.number) or W.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {W.dtype}")
    if W.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension, got a scalar")
    return W


def _mask_dtype(W: np.ndarray) -> np.dtype:
    """Masks take the weight's float dtype (float64 for integer or bool weights)."""
    return W.dtype if np.issubdtype(W.dtype, np.floating) else np.dtype(np.float64)


def _check_mask(mask, shape, dtype, name: str = "mask") -> np.ndarray:
    """Return a copy of ``mask`` as 0.0/1.0 in ``dtype``, or ones when ``mask`` is None."""
    if mask is None:
        return np.ones(shape, dtype=dtype)
    if isinstance(mask, (str, bytes)):
        raise TypeError(f"{name}={mask!r} must be an array of 0s and 1s")
    mask = np.asarray(mask)
    if mask.dtype == object or not (np.issubdtype(mask.dtype, np.number) or mask.dtype == bool):
        raise TypeError(f"{name} must hold 0s and 1s (or booleans), got dtype {mask.dtype}")
    if mask.shape != tuple(shape):
        raise ValueError(f"{name} has shape {mask.shape}; it must match the weight's shape {tuple(shape)}")
    if not np.all((mask == 0) | (mask == 1)):
        bad = mask[(mask != 0) & (mask != 1)].ravel()[0].item()
        raise ValueError(f"{name} must hold only 0 and 1 (or booleans); found {bad!r}")
    return mask.astype(dtype, copy=True)


def _check_scores(scores, shape, name: str = "importance_scores", target: str = "the weight's shape") -> np.ndarray:
    """Return ``scores`` as a float64 array of ``shape`` without NaN."""
    if isinstance(scores, (str, bytes)):
        raise TypeError(f"{name}={scores!r} must be an array of numbers")
    scores = np.asarray(scores)
    if scores.dtype == object or not (np.issubdtype(scores.dtype, np.number) or scores.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {scores.dtype}")
    if scores.shape != tuple(shape):
        raise ValueError(f"{name} has shape {scores.shape}; it must match {target} {tuple(shape)}")
    scores = scores.astype(np.float64)
    if np.isnan(scores).any():
        raise ValueError(f"{name} contains NaN at {int(np.isnan(scores).sum())} position(s); "
                         "scores must be numbers (inf is allowed)")
    return scores


def _default_scores(W: np.ndarray, mask: np.ndarray, importance_scores, name="importance_scores") -> np.ndarray:
    """The given scores, or the current (masked) weights as PyTorch uses them."""
    if importance_scores is None:
        return _check_scores(W * mask, W.shape, name="W")
    return _check_scores(importance_scores, W.shape, name=name)


def _check_dim(dim, ndim: int) -> int:
    """Return ``dim`` as a non-negative axis of an ``ndim``-dimensional array."""
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"dim={dim!r} must be an int")
    if ndim < 2:
        raise ValueError(f"structured pruning needs an array with at least 2 dimensions (slices along dim); "
                         f"got {ndim} dimension(s)")
    if not -ndim <= dim < ndim:
        raise ValueError(f"dim={dim} is out of range for an array with {ndim} dimensions; "
                         f"allowed: {-ndim} to {ndim - 1}")
    return int(dim) % ndim


def _check_norm_order(n):
    """Return the norm order for :func:`numpy.linalg.norm`: a positive number, +-inf or 'fro' (= 2)."""
    if isinstance(n, str):
        if n == "fro":
            return 2
        raise ValueError(f"n={n!r} is not a supported norm; allowed: a number > 0, inf, -inf or 'fro'")
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Real):
        raise TypeError(f"n={n!r} must be a number > 0, inf, -inf or 'fro'")
    if np.isnan(n) or not (n > 0 or n == -np.inf):
        raise ValueError(f"n={n!r} is not a supported norm; allowed: a number > 0, inf, -inf or 'fro'")
    return float(n)


def _rng(seed) -> np.random.Generator:
    """A generator from an int seed (or a Generator passed through)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"seed={seed!r} must be a non-negative int or a numpy Generator")
    return np.random.default_rng(int(seed))


# ---------------------------------------------------------------------- building blocks
def prune_lowest(scores, keep, count: int, axis: int | None = None) -> np.ndarray:
    """Drop the ``count`` lowest-scoring entries among those still kept.

    The package's one "remove the lowest scores" step: the mask functions here, the N:M block
    masks, the one-shot masks (:func:`~adaprune_edu.pruning.one_shot.one_shot_mask`) and
    SparseGPT's per-block choice all call it, so they all break ties the same way.

    Parameters
    ----------
    scores : ndarray of any shape, e.g. (n,) or (n_in, n_out)
    keep : bool ndarray of ``scores``' shape
        True for entries still unpruned; only these are ranked.
    count : int
        ``axis=None``: how many to drop over the whole array, in [0, keep.sum()].
        ``axis=k``: how many to drop in *every* 1-D slice along axis ``k`` (for scores of
        shape (n_in, n_out), ``axis=0`` drops ``count`` per output column), at most what
        each slice keeps.
    axis : int or None

    Returns
    -------
    new_keep : bool ndarray of ``scores``' shape
        ``keep`` with ``count`` more entries set to False (per slice with ``axis``). The sort
        is stable, so among equal scores the lowest index (flat, or within the slice) goes first.

    Examples
    --------
    >>> prune_lowest(np.array([3.0, 1.0, 2.0, 1.0]), np.array([True, True, True, False]), 1)
    array([ True, False,  True, False])
    >>> prune_lowest(np.array([[1.0, 5.0], [2.0, 4.0], [1.0, 6.0]]), np.ones((3, 2), dtype=bool), 1, axis=0)
    array([[False,  True],
           [ True, False],
           [ True,  True]])
    """
    scores = np.asarray(scores)
    keep = np.asarray(keep, dtype=bool)
    if axis is None or (scores.ndim == 1 and axis in (0, -1)):
        candidates = np.flatnonzero(keep)
        order = np.argsort(scores.reshape(-1)[candidates], kind="stable")
        new_keep = keep.copy()  # C-contiguous: reshape(-1) is a view
        new_keep.reshape(-1)[candidates[order[:count]]] = False
        return new_keep
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"axis={axis!r} must be an int or None")
    if not -scores.ndim <= axis < scores.ndim:
        raise ValueError(f"axis={axis} is out of range for scores with {scores.ndim} dimension(s); "
                         f"allowed: None or {-scores.ndim} to {scores.ndim - 1}")
    axis = int(axis) % scores.ndim
    if keep.all():  # the common case in one vectorised stable sort per slice
        order = np.argsort(scores, axis=axis, kind="stable")
        new_keep = np.ones(keep.shape, dtype=bool)
        np.put_along_axis(new_keep, np.take(order, np.arange(count), axis=axis), False, axis=axis)
        return new_keep
    moved_scores, moved_keep = np.moveaxis(scores, axis, -1), np.moveaxis(keep, axis, -1)
    length = moved_keep.shape[-1]
    slices = [prune_lowest(s, k, count) for s, k in zip(moved_scores.reshape(-1, length),
                                                        moved_keep.reshape(-1, length))]
    return np.moveaxis(np.array(slices, dtype=bool).reshape(moved_keep.shape), -1, axis)


def slice_norms(scores, n, dim: int) -> np.ndarray:
    """L``n`` norm of each slice along ``dim``, taken over all the other axes.

    For our ``W`` of shape (n_in, n_out), ``slice_norms(W, 2, dim=1)`` has shape (n_out,):
    the L2 norm of each output neuron's incoming weights.
    """
    scores = np.asarray(scores, dtype=np.float64)
    order = _check_norm_order(n)
    dim = _check_dim(dim, scores.ndim)
    flat = np.moveaxis(scores, dim, 0).reshape(scores.shape[dim], -1)
    return np.linalg.norm(flat, ord=order, axis=1)


def _alive_slices(mask: np.ndarray, dim: int) -> np.ndarray:
    """True for slices along ``dim`` that still hold at least one unpruned entry."""
    other = tuple(axis for axis in range(mask.ndim) if axis != dim)
    return mask.sum(axis=other) != 0


def _expand(keep_slices: np.ndarray, shape, dim: int) -> np.ndarray:
    """Broadcast a per-slice keep vector along ``dim`` to a full-shape boolean array."""
    view = [1] * len(shape)
    view[dim] = shape[dim]
    return np.broadcast_to(keep_slices.reshape(view), shape)


# ---------------------------------------------------------------------- torch-named functions
def identity(W, mask=None) -> np.ndarray:
    """A mask that prunes nothing (ones), or a copy of the existing ``mask``.

    Parameters
    ----------
    W : ndarray of any shape
    mask : ndarray of W's shape, optional

    Returns
    -------
    mask : ndarray of W's shape and float dtype, holding 0.0 and 1.0
    """
    W = _check_weight(W)
    return _check_mask(mask, W.shape, _mask_dtype(W))


def random_unstructured(W, amount, mask=None, seed=0) -> np.ndarray:
    """Prune ``amount`` of the still-unpruned entries of ``W``, chosen uniformly at random.

    Parameters
    ----------
    W : ndarray of any shape
    amount : int or float
        Count, or fraction of the still-unpruned entries (see :func:`compute_count`).
    mask : ndarray of W's shape, optional
        Existing mask; its zeros stay zeros.
    seed : int or numpy Generator

    Returns
    -------
    mask : ndarray of W's shape and float dtype, holding 0.0 and 1.0
    """
    W = _check_weight(W)
    mask = _check_mask(mask, W.shape, _mask_dtype(W))
    rng = _rng(seed)
    keep = mask.ravel() == 1
    count = compute_count(amount, int(keep.sum()))
    chosen = rng.choice(np.flatnonzero(keep), size=count, replace=False)
    mask.ravel()[chosen] = 0.0
    return mask


def l1_unstructured(W, amount, importance_scores=None, mask=None) -> np.ndarray:
    """Prune the ``amount`` still-unpruned entries with the smallest ``|score|``.

    Parameters
    ----------
    W : ndarray of any shape
    amount : int or float
        Count, or fraction of the still-unpruned entries.
    importance_scores : ndarray of W's shape, optional
        Ranked by absolute value (as PyTorch does); default: ``W`` itself (magnitude pruning).
    mask : ndarray of W's shape, optional
        Existing mask; only entries it keeps are ranked, its zeros stay zeros.

    Returns
    -------
    mask : ndarray of W's shape and float dtype, holding 0.0 and 1.0

    Examples
    --------
    PyTorch's test case, in our orientation (``W`` here is torch's weight transposed):

    >>> W = np.array([[1, 2, 3, 4], [-4, -3, -2, -1]], dtype=np.float32).T
    >>> l1_unstructured(W, amount=2).T
    array([[0., 1., 1., 1.],
           [1., 1., 1., 0.]], dtype=float32)
    """
    W = _check_weight(W)
    mask = _check_mask(mask, W.shape, _mask_dtype(W))
    scores = np.abs(_default_scores(W, mask, importance_scores))
    keep = mask.ravel() == 1
    count = compute_count(amount, int(keep.sum()))
    new_keep = prune_lowest(scores.ravel(), keep, count)
    return new_keep.reshape(W.shape).astype(mask.dtype)


def random_structured(W, amount, dim, mask=None, seed=0) -> np.ndarray:
    """Prune ``amount`` of the remaining slices along ``dim``, chosen uniformly at random.

    Parameters
    ----------
    W : ndarray with at least 2 dimensions, e.g. (n_in, n_out)
    amount : int or float
        Count, or fraction of the slices not yet entirely masked.
    dim : int
        Axis whose slices are pruned. For our ``W`` (n_in, n_out), ``dim=1`` prunes output
        neurons (PyTorch's ``dim=0`` on ``Linear.weight``).
    mask : ndarray of W's shape, optional
    seed : int or numpy Generator

    Returns
    -------
    mask : ndarray of W's shape and float dtype, holding 0.0 and 1.0
    """
    W = _check_weight(W)
    dim = _check_dim(dim, W.ndim)
    mask = _check_mask(mask, W.shape, _mask_dtype(W))
    rng = _rng(seed)
    alive = _alive_slices(mask, dim)
    count = compute_count(amount, int(alive.sum()))
    chosen = rng.choice(np.flatnonzero(alive), size=count, replace=False)
    keep = alive.copy()
    keep[chosen] = False
    return mask * _expand(keep, W.shape, dim)


def ln_structured(W, amount, n, dim, importance_scores=None, mask=None) -> np.ndarray:
    """Prune whole slices along ``dim``: keep the remaining slices with the largest L``n`` norm.

    Parameters
    ----------
    W : ndarray with at least 2 dimensions, e.g. (n_in, n_out)
    amount : int or float
        Count, or fraction of the slices not yet entirely masked.
    n : float > 0, inf, -inf or "fro"
        Norm order over the other axes (``n=1`` L1, ``n=2`` L2; "fro" is 2 for a slice).
    dim : int
        Axis whose slices are pruned; ``dim=1`` prunes output neurons of our (n_in, n_out) ``W``.
    importance_scores : ndarray of W's shape, optional
        Default: the current weights ``W * mask``, as PyTorch scores the pruned parameter.
    mask : ndarray of W's shape, optional

    Returns
    -------
    mask : ndarray of W's shape and float dtype, holding 0.0 and 1.0
    """
    W = _check_weight(W)
    dim = _check_dim(dim, W.ndim)
    _check_norm_order(n)
    mask = _check_mask(mask, W.shape, _mask_dtype(W))
    scores = _default_scores(W, mask, importance_scores)
    alive = _alive_slices(mask, dim)
    count = compute_count(amount, int(alive.sum()))
    keep = prune_lowest(slice_norms(scores, n, dim), alive, count)
    return mask * _expand(keep, W.shape, dim)


def global_unstructured(weights, amount, importance_scores=None, masks=None) -> list:
    """Prune the ``amount`` smallest ``|score|`` entries across several arrays at once.

    All still-unpruned entries of all arrays are ranked together against one threshold
    (PyTorch's ``global_unstructured`` with ``L1Unstructured``), so layers with smaller
    weights lose more of them.

    Parameters
    ----------
    weights : list of ndarrays (any shapes)
    amount : int or float
        Count, or fraction of all still-unpruned entries taken together.
    importance_scores : list (same length) of ndarrays or None, optional
        ``None`` entries fall back to the current weights ``W * mask``.
    masks : list (same length) of ndarrays or None, optional
        Existing masks; ``None`` entries mean "nothing pruned yet".

    Returns
    -------
    masks : list of ndarrays, one per weight, each of that weight's shape and float dtype
    """
    if isinstance(weights, np.ndarray) or not isinstance(weights, (list, tuple)):
        raise TypeError(f"weights must be a list of arrays, got {type(weights).__name__}")
    if len(weights) == 0:
        raise ValueError("weights is an empty list; pass at least one array")
    weights = [_check_weight(W, name=f"weights[{i}]") for i, W in enumerate(weights)]
    count_arrays = len(weights)
    for arg_name, arg in (("importance_scores", importance_scores), ("masks", masks)):
        if arg is not None and (not isinstance(arg, (list, tuple)) or len(arg) != count_arrays):
            raise ValueError(f"{arg_name} must be a list of {count_arrays} arrays (or None entries), "
                             f"got {type(arg).__name__}"
                             + (f" of length {len(arg)}" if isinstance(arg, (list, tuple)) else ""))
    masks = [_check_mask(None if masks is None else masks[i], W.shape, _mask_dtype(W), name=f"masks[{i}]")
             for i, W in enumerate(weights)]
    scores = []
    for i, (W, mask) in enumerate(zip(weights, masks)):
        given = None if importance_scores is None else importance_scores[i]
        scores.append(np.abs(_default_scores(W, mask, given, name=f"importance_scores[{i}]")).ravel())
    keep = np.concatenate([mask.ravel() == 1 for mask in masks])
    count = compute_count(amount, int(keep.sum()))
    new_keep = prune_lowest(np.concatenate(scores), keep, count)
    out, start = [], 0
    for W, mask in zip(weights, masks):
        out.append(new_keep[start:start + W.size].reshape(W.shape).astype(mask.dtype))
        start += W.size
    return out


def custom_from_mask(W, mask, existing_mask=None) -> np.ndarray:
    """Combine a hand-made ``mask`` with an existing one (their product).

    Parameters
    ----------
    W : ndarray of any shape
    mask : ndarray of W's shape holding 0/1 (or booleans)
    existing_mask : ndarray of W's shape, optional

    Returns
    -------
    mask : ndarray of W's shape and float dtype, holding 0.0 and 1.0
    """
    W = _check_weight(W)
    dtype = _mask_dtype(W)
    if mask is None:
        raise TypeError("mask=None: custom_from_mask needs a 0/1 array of W's shape")
    return _check_mask(existing_mask, W.shape, dtype, name="existing_mask") * _check_mask(mask, W.shape, dtype)
