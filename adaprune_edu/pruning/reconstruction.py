"""Second-order pruning of one layer: remove weights *and* correct the ones that stay.

One-shot pruning with calibration data treats each dense layer on its own. The layer sees inputs
``X`` of shape (n_samples, n_in) and computes ``Z = X @ W`` with ``W`` of shape (n_in, n_out).
Pruning replaces ``W`` by ``W_hat`` with zeros where the mask is 0; what we want to keep small is
the *reconstruction error* of the outputs,

    E(W_hat) = || X @ W_hat - X @ W ||^2 = sum_j (w_hat_j - w_j)^T H (w_hat_j - w_j),   H = X^T X,

one quadratic per output column ``j``, all with the same Hessian ``H`` (n_in, n_in). This module
solves that problem three ways, from exact to fast:

- :func:`least_squares_update` -- for a *given* mask, the exact optimum: each output column is a
  least-squares fit of the original outputs on the kept inputs;
- :func:`obs_prune` -- Optimal Brain Surgeon (Hassibi & Stork 1993) for one column: remove the weight
  whose removal costs least, ``w_q^2 / (2 [H^-1]_qq)``, move the others by
  ``-w_q / [H^-1]_qq * H^-1[:, q]``, shrink ``H^-1``, repeat. Exact, one weight at a time: a
  teaching tool for small layers (it is checked against brute force in the tests);
- :func:`sparsegpt` -- SparseGPT (Frantar & Alistarh 2023): OBS made fast by visiting the inputs in
  a fixed order, so one Cholesky factor of ``H^-1`` serves every output column at once, choosing the
  mask block by block (``blocksize`` inputs) from ``w^2 / [U]_ii^2`` and pushing each pruned weight's
  error onto the inputs not yet visited. Approximate (weights already visited are not revisited),
  but it handles a whole layer in a few matrix products.

Everything here works in float64 and returns new arrays; inputs are never modified.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_float, check_int
from .amount import compute_count
from .masks import prune_lowest

__all__ = ["layer_hessian", "reconstruction_error", "least_squares_update", "obs_prune", "sparsegpt",
           "sparsegpt_mask", "dampened_inverse_cholesky"]


def layer_hessian(X) -> np.ndarray:
    """``H = X^T X`` of a layer's calibration inputs.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_in)

    Returns
    -------
    H : ndarray of shape (n_in, n_in), float64, symmetric positive semi-definite.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty 2-D array (n_samples, n_in), got shape {X.shape}")
    return X.T @ X


def reconstruction_error(X, W, W_hat) -> float:
    """``||X @ W_hat - X @ W||^2`` summed over samples and outputs (the quantity all methods here reduce)."""
    X = np.asarray(X, dtype=np.float64)
    return float(np.sum((X @ (np.asarray(W_hat, np.float64) - np.asarray(W, np.float64))) ** 2))


def _check_layer(W, H, mask=None):
    W = np.asarray(W, dtype=np.float64)
    H = np.asarray(H, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"W must be 2-D (n_in, n_out), got shape {W.shape}")
    if H.shape != (W.shape[0], W.shape[0]):
        raise ValueError(f"H must have shape (n_in, n_in) = {(W.shape[0],) * 2} for W of shape {W.shape}, "
                         f"got {H.shape}")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != W.shape:
            raise ValueError(f"mask must have W's shape {W.shape}, got {mask.shape}")
        if not np.all((mask == 0) | (mask == 1)):
            raise ValueError("mask must hold only 0 and 1")
        mask = mask.astype(bool)
    return W, H, mask


def least_squares_update(W, H, mask) -> np.ndarray:
    """The exact best weights for a fixed mask: minimise ``(w_hat - w)^T H (w_hat - w)`` per column.

    For column ``j`` with kept inputs ``K``: ``w_hat[K] = H[K, K]^-1 H[K, :] w`` (normal equations of
    the least-squares fit of ``X @ w`` on ``X[:, K]``), zero elsewhere.

    Parameters
    ----------
    W : array-like of shape (n_in, n_out)
    H : array-like of shape (n_in, n_in), positive definite on every kept set (dampen it if not)
    mask : 0/1 array-like of shape (n_in, n_out), 1 = kept

    Returns
    -------
    W_hat : ndarray of shape (n_in, n_out), float64, zero where ``mask`` is 0.
    """
    W, H, mask = _check_layer(W, H, mask)
    W_hat = np.zeros_like(W)
    for j in range(W.shape[1]):
        kept = np.flatnonzero(mask[:, j])
        if kept.size:
            W_hat[kept, j] = np.linalg.solve(H[np.ix_(kept, kept)], H[kept] @ W[:, j])
    return W_hat


def obs_prune(w, H, count: int):
    """Optimal Brain Surgeon on one output column: remove ``count`` weights, one at a time.

    Each step removes the remaining weight ``q`` with the smallest saliency
    ``L_q = w_q^2 / (2 [H^-1]_qq)`` (the least increase of ``1/2 dw^T H dw``), updates every other
    weight by ``dw = -(w_q / [H^-1]_qq) H^-1[:, q]`` (which sets ``w_q`` to exactly 0), then removes
    ``q`` from the inverse: ``H^-1 <- H^-1 - H^-1[:, q] H^-1[q, :] / [H^-1]_qq``.

    Parameters
    ----------
    w : array-like of shape (n_in,)
    H : array-like of shape (n_in, n_in), positive definite
    count : int in [0, n_in]

    Returns
    -------
    w_hat : ndarray of shape (n_in,), float64, with ``count`` zeros
    removed : list of int, the removed inputs in the order OBS chose them
    saliencies : list of float, the predicted error increase ``L_q`` of each removal
    """
    w = np.asarray(w, dtype=np.float64).copy()
    if w.ndim != 1:
        raise ValueError(f"w must be 1-D (one output column), got shape {w.shape}")
    _, H, _ = _check_layer(w[:, None], H)
    count = check_int("count", count, minimum=0, maximum=w.size)
    H_inv = np.linalg.inv(H)
    alive = np.ones(w.size, dtype=bool)
    removed, saliencies = [], []
    for _ in range(count):
        saliency = np.full(w.size, np.inf)
        saliency[alive] = w[alive] ** 2 / (2 * np.diag(H_inv)[alive])
        q = int(np.argmin(saliency))
        w -= (w[q] / H_inv[q, q]) * H_inv[:, q]
        w[q] = 0.0  # exactly zero (the update makes it zero up to rounding)
        H_inv -= np.outer(H_inv[:, q], H_inv[q, :]) / H_inv[q, q]
        alive[q] = False
        removed.append(q)
        saliencies.append(float(saliency[q]))
    return w, removed, saliencies


def dampened_inverse_cholesky(H, damp: float = 0.01) -> np.ndarray:
    """Upper-triangular ``U`` with ``U^T U = (H + lambda I)^-1``, ``lambda = damp * mean(diag(H))``.

    Inputs that never fire (``H_ii = 0``) get ``H_ii = 1`` first so the factor exists; their weights
    do not matter (they multiply zeros). SparseGPT's dampening keeps the factorisation stable when
    ``H`` is (nearly) singular, e.g. with fewer calibration samples than inputs.
    """
    H = np.array(H, dtype=np.float64)
    damp = check_float("damp", damp, minimum=0.0)
    dead = np.diag(H) == 0
    H[dead, dead] = 1.0
    H[np.diag_indices_from(H)] += damp * np.mean(np.diag(H))
    lower = np.linalg.cholesky(np.linalg.inv(H))  # H^-1 = L L^T
    return lower.T  # U = L^T is upper triangular, and U^T U = L L^T = H^-1


def sparsegpt(W, H, sparsity: float | None = None, n_m: tuple | None = None, mask=None,
              blocksize: int = 128, damp: float = 0.01):
    """Prune one layer with SparseGPT's row-wise OBS update.

    Inputs (rows of ``W``) are visited in order. For input ``i`` with factor ``U`` of ``H^-1``
    (see :func:`dampened_inverse_cholesky`), every output's weight ``w_ij`` that the mask removes
    leaves an error ``e_j = w_ij / U_ii``, and the weights of the inputs not yet visited absorb it:
    ``W[i:, :] -= outer(U[i, i:], e)``. Within a block of ``blocksize`` inputs this is done input by
    input ("lazy" updates); the rest of the matrix gets one matrix product per block.

    Which weights go (exactly one of ``sparsity``, ``n_m``, ``mask``):

    - ``sparsity`` : float in [0, 1): per block, the fraction with the smallest ``w^2 / U_ii^2``
      over the whole block, chosen when the block starts (weights already updated by earlier blocks);
    - ``n_m`` : ``(n, m)``, e.g. ``(2, 4)``: in every group of ``m`` consecutive inputs, for each output,
      keep the ``n`` with the largest ``w^2 / U_ii^2`` (chosen when the group starts);
    - ``mask`` : 0/1 array of ``W``'s shape, 1 = kept: a mask chosen by another method (Wanda's,
      magnitude's), so that only SparseGPT's weight update is applied.

    Returns
    -------
    W_hat : ndarray of shape (n_in, n_out), float64, zero where pruned
    mask : ndarray of shape (n_in, n_out), float64 0/1, the mask used
    """
    return _sparsegpt(W, H, sparsity, n_m, mask, blocksize, damp, mask_only=False)


def sparsegpt_mask(W, H, sparsity: float | None = None, n_m: tuple | None = None, blocksize: int = 128,
                   damp: float = 0.01) -> np.ndarray:
    """SparseGPT's mask alone: the mask :func:`sparsegpt` returns, without the work nothing uses.

    SparseGPT chooses a block's (or an N:M group's) mask from weights that the updates of the
    inputs visited before have already moved, so the updates up to the *last* choice are needed;
    the ones after it only shape ``W_hat``, which a mask-only method (``"sparsegpt-mask"`` in
    :func:`~adaprune_edu.pruning.one_shot.prune_layer`) throws away. This stops at the last choice:
    with a ``sparsity`` and a single block (``n_in <= blocksize``, every MLP layer here) no update
    is computed at all, the mask comes from ``W`` and the factor of ``H^-1`` alone.

    Parameters
    ----------
    W : array-like of shape (n_in, n_out)
    H : array-like of shape (n_in, n_in)
    sparsity, n_m, blocksize, damp : as in :func:`sparsegpt` (exactly one of ``sparsity`` and ``n_m``)

    Returns
    -------
    mask : ndarray of shape (n_in, n_out), float64 0/1, equal to ``sparsegpt(W, H, ...)[1]``
    """
    return _sparsegpt(W, H, sparsity, n_m, None, blocksize, damp, mask_only=True)[1]


def _sparsegpt(W, H, sparsity, n_m, mask, blocksize, damp, mask_only: bool):
    """The SparseGPT loop; with ``mask_only`` it returns ``(None, mask)`` as soon as the last choice is made."""
    W, H, mask = _check_layer(W, H, mask)
    given = [name for name, value in (("sparsity", sparsity), ("n_m", n_m), ("mask", mask)) if value is not None]
    if len(given) != 1:
        raise ValueError(f"give exactly one of sparsity, n_m and mask; got {given or 'none'}")
    blocksize = check_int("blocksize", blocksize, minimum=1)
    if sparsity is not None:
        sparsity = check_float("sparsity", sparsity, minimum=0.0, maximum=1.0)
    if n_m is not None:
        n, m = _check_n_m(n_m, W.shape[0])
        blocksize = max(m, blocksize - blocksize % m)  # N:M groups never straddle two blocks
    U = dampened_inverse_cholesky(H, damp)
    W = W.copy()
    W[np.diag(H) == 0, :] = 0.0  # inputs that never fire
    keep = np.ones(W.shape, dtype=bool) if mask is None else mask.copy()
    n_in = W.shape[0]
    for start in range(0, n_in, blocksize):
        stop = min(start + blocksize, n_in)
        block, U_block = W[start:stop].copy(), U[start:stop, start:stop]
        errors = np.zeros_like(block)
        if sparsity is not None:  # ties: the earlier entry goes first
            scores = block ** 2 / np.diag(U_block)[:, None] ** 2
            keep[start:stop] = prune_lowest(scores, np.ones(scores.shape, dtype=bool),
                                            compute_count(sparsity, scores.size, "sparsity"))
            if mask_only and stop == n_in:
                break  # the last choice is made
        for i in range(stop - start):
            if n_m is not None and i % m == 0:
                group = block[i:i + m] ** 2 / np.diag(U_block)[i:i + m, None] ** 2
                keep[start + i:start + i + m] = _keep_top_per_column(group, n)
                if mask_only and start + i + m == n_in:
                    return None, keep.astype(np.float64)
            pruned = ~keep[start + i]
            errors[i] = np.where(pruned, block[i], 0.0) / U_block[i, i]
            block[i:] -= np.outer(U_block[i, i:], errors[i])
            block[i, pruned] = 0.0
        W[start:stop] = block
        W[stop:] -= U[start:stop, stop:].T @ errors
    if mask_only:
        return None, keep.astype(np.float64)
    return np.where(keep, W, 0.0), keep.astype(np.float64)


def _check_n_m(n_m, n_in: int) -> tuple:
    if not isinstance(n_m, (tuple, list)) or len(n_m) != 2:
        raise TypeError(f"n_m={n_m!r} must be a pair (n, m) such as (2, 4)")
    m = check_int("n_m[1]", n_m[1], minimum=1)
    n = check_int("n_m[0]", n_m[0], minimum=0, maximum=m)
    if n_in % m:
        raise ValueError(f"the layer has {n_in} inputs, not a multiple of m={m}: N:M groups run along the inputs")
    return n, m


def _keep_top_per_column(scores: np.ndarray, n: int) -> np.ndarray:
    """For each column of ``scores`` (m, n_out), keep the ``n`` largest (ties: the earlier row)."""
    order = np.argsort(-scores, axis=0, kind="stable")
    keep = np.zeros(scores.shape, dtype=bool)
    np.put_along_axis(keep, order[:n], True, axis=0)
    return keep
