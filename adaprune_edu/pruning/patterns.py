"""Masks with a fixed pattern: N:M semi-structured and block sparsity.

Between single weights (:mod:`.masks`) and whole neurons (:mod:`.model_masks`) sit two
granularities that hardware and kernels like:

- **N:M** keeps ``n`` of every ``m`` consecutive weights along the reduction axis. 2:4 is the
  pattern NVIDIA's sparse tensor cores (Ampere and later) run at up to twice the dense
  throughput: exactly half the weights are zero, spread evenly, and a 2-bit index per kept
  value says where it sits. 1:4 is a contrast: the same idea at 75% sparsity, which no
  mainstream hardware accelerates.
- **Blocks** prune whole ``rows x cols`` tiles; block-sparse kernels skip a tile at once.

Both return a new 0.0 / 1.0 mask of ``W``'s shape (as the functions in :mod:`.masks` do);
put it on a model with ``model.set_mask(layer, mask)``. ``W`` is ``(n_in, n_out)``, so groups
of ``m`` run down a column: along one neuron's inputs, the axis ``X @ W`` sums over.

``block_mask``'s ``amount`` follows the package's rule (:func:`.amount.compute_count`): an
int is an exact number of blocks, a float in [0, 1] a fraction of the blocks.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_int
from .amount import compute_count
from .masks import _check_weight, _mask_dtype, prune_lowest

__all__ = ["n_m_mask", "block_mask", "block_norms"]


def _check_matrix(W, name: str = "W") -> np.ndarray:
    W = _check_weight(W, name)
    if W.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (n_in, n_out), got shape {W.shape}")
    return W


def n_m_mask(W, n: int, m: int) -> np.ndarray:
    """N:M mask: in every group of ``m`` consecutive inputs of a neuron, keep the ``n`` largest ``|w|``.

    Parameters
    ----------
    W : ndarray of shape (n_in, n_out), ``n_in`` a multiple of ``m``
    n : int, ``0 <= n <= m``, weights kept per group
    m : int >= 1, group length along the input axis

    Returns
    -------
    mask : ndarray of shape (n_in, n_out), 0.0 / 1.0 in ``W``'s float dtype; exactly ``1 - n/m``
        of it is zero. Among equal ``|w|`` the earlier input is kept.

    Raises
    ------
    ValueError
        ``W`` not 2-D, ``n_in`` not a multiple of ``m``, or ``n`` outside ``[0, m]``.

    Examples
    --------
    >>> n_m_mask(np.array([[1.0], [-4.0], [3.0], [2.0]]), 2, 4)[:, 0]
    array([0., 1., 1., 0.])
    """
    W = _check_matrix(W)
    m = check_int("m", m, minimum=1)
    n = check_int("n", n, minimum=0, maximum=m)
    if W.shape[0] % m:
        raise ValueError(f"W has {W.shape[0]} inputs (shape {W.shape}), which is not a multiple of m={m}; "
                         f"N:M groups run along the input axis")
    groups = np.abs(W).reshape(W.shape[0] // m, m, W.shape[1])  # (n_groups, m, n_out)
    order = np.argsort(-groups, axis=1, kind="stable")  # largest first; ties: earlier input first
    mask = np.zeros(groups.shape, dtype=_mask_dtype(W))
    np.put_along_axis(mask, order[:, :n, :], 1.0, axis=1)
    return mask.reshape(W.shape)


def _check_block_shape(W: np.ndarray, block_shape) -> tuple:
    if not isinstance(block_shape, (tuple, list)) or len(block_shape) != 2:
        raise TypeError(f"block_shape={block_shape!r} must be a pair of ints (rows, cols) like (4, 4)")
    rows, cols = (check_int(f"block_shape[{i}]", s, minimum=1) for i, s in enumerate(block_shape))
    if W.shape[0] % rows or W.shape[1] % cols:
        raise ValueError(f"W of shape {W.shape} cannot be tiled by blocks of {(rows, cols)}; "
                         "each side of W must be a multiple of the block's side")
    return rows, cols


def block_norms(W, block_shape) -> np.ndarray:
    """L1 norm of each ``block_shape`` tile of ``W``.

    Parameters
    ----------
    W : ndarray of shape (n_in, n_out), both sides divisible by the block's sides
    block_shape : pair of ints (rows, cols)

    Returns
    -------
    norms : ndarray of shape (n_in // rows, n_out // cols)
    """
    W = _check_matrix(W)
    rows, cols = _check_block_shape(W, block_shape)
    return np.abs(W).reshape(W.shape[0] // rows, rows, W.shape[1] // cols, cols).sum(axis=(1, 3))


def block_mask(W, block_shape, amount) -> np.ndarray:
    """Block-sparse mask: prune the ``amount`` of ``block_shape`` tiles with the smallest L1 norm.

    Parameters
    ----------
    W : ndarray of shape (n_in, n_out), both sides divisible by the block's sides
    block_shape : pair of ints (rows, cols)
    amount : int or float
        The package's rule: an ``int`` is an exact number of blocks (``amount=1`` prunes one
        block), a ``float`` in [0, 1] a fraction of them, rounded half to even
        (``amount=1.0`` prunes every block).

    Returns
    -------
    mask : ndarray of shape (n_in, n_out), 0.0 / 1.0 in ``W``'s float dtype. Among equal norms
        the earlier block (row-major order of tiles) is pruned first.

    Raises
    ------
    TypeError
        ``block_shape`` is not a pair, or ``amount`` is not a number.
    ValueError
        The blocks do not tile ``W``, a float ``amount`` outside [0, 1], a negative int or an
        int larger than the number of blocks.

    Examples
    --------
    >>> block_mask(np.arange(16.0).reshape(4, 4), (2, 2), 1)   # one block: the top-left one
    array([[0., 0., 1., 1.],
           [0., 0., 1., 1.],
           [1., 1., 1., 1.],
           [1., 1., 1., 1.]])
    """
    norms = block_norms(W, block_shape)
    W = np.asarray(W)
    count = compute_count(amount, norms.size)
    keep = prune_lowest(norms.ravel(), np.ones(norms.size, dtype=bool), count).reshape(norms.shape)
    rows, cols = block_shape
    return np.kron(keep, np.ones((rows, cols))).astype(_mask_dtype(W))
