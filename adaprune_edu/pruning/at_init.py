"""Pruning at initialisation: choose the mask before any training, then train the sparse net.

Every method scores each weight of the *untrained* network and keeps the highest scores
across all layers (global), then the sparse network is trained as usual:

- ``"magnitude"``: ``|w|``. Collapses at high sparsity: fan-in-scaled initialisation gives
  the layer with the largest fan-in the smallest weights, so a global cut removes that
  whole layer and the network outputs a constant (chance accuracy);
- ``"random"``: random scores (every layer at about the same density);
- ``"snip"`` (Lee et al. 2019): ``|g * w|`` with ``g = dL/dw`` on a batch, the first-order
  change of the loss if the weight were removed ("connection sensitivity");
- ``"grasp"`` (Wang et al. 2020): keep the weights whose removal would shrink the gradient
  norm the most, ``w * (H g)`` with ``H g`` a Hessian-gradient product;
- ``"synflow"`` (Tanaka et al. 2020): data-free. With every weight replaced by ``|w|`` and
  an all-ones input, ``R`` is the sum of the (linear) network's outputs and the score is
  ``w * dR/dw``. Pruned iteratively (``iterations`` rounds, density shrinking
  exponentially) so that no layer is cut off: scores are conserved layer by layer (each
  layer's scores sum to ``R``), which is what protects small layers.

:func:`shuffle_within_layers` is the sanity check of Frankle et al. 2021: keep each layer's
density, move its kept weights to random places. If accuracy does not drop, the method
only chose per-layer densities, not which weights.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_choice, check_float, check_int

__all__ = ["AT_INIT_METHODS", "snip_scores", "grasp_scores", "synflow_scores", "keep_top", "prune_at_init",
           "shuffle_within_layers"]

AT_INIT_METHODS = ("magnitude", "random", "snip", "grasp", "synflow")


def _dense_grads(model, X, y, params=None) -> list:
    """``dL/dW`` of every layer on ``(X, y)`` with no mask applied, as float64 arrays."""
    probe = model.astype("float64")
    probe.clear_masks()
    if params is not None:
        probe.params = params
    _, grads = probe.loss(X, y)
    return [g["W"] for g in grads]


def snip_scores(model, X, y) -> list:
    """SNIP's connection sensitivity ``|dL/dw * w|`` per weight.

    Parameters
    ----------
    model : MLP at initialisation
    X : array of shape (n_samples, n_features), y : array of shape (n_samples,)

    Returns
    -------
    scores : list of float64 ndarrays, one (n_in, n_out) per layer
    """
    return [np.abs(g * p["W"]) for g, p in zip(_dense_grads(model, X, y), model.params)]


def hessian_gradient_product(model, X, y, eps=1e-3) -> list:
    """``H g`` (Hessian of the loss times its gradient, w.r.t. the weights) by central differences.

    ``H g ~ (g(w + eps g / |g|) - g(w - eps g / |g|)) * |g| / (2 eps)``, in float64.

    Returns
    -------
    Hg : list of float64 ndarrays, one (n_in, n_out) per layer
    """
    g = _dense_grads(model, X, y)
    norm = np.sqrt(sum(float(np.sum(gl * gl)) for gl in g))
    if norm == 0:
        return [np.zeros_like(gl) for gl in g]
    base = model.astype("float64").params
    def shifted(sign):
        params = [{"W": p["W"] + sign * eps * gl / norm, "b": p["b"].copy()} for p, gl in zip(base, g)]
        return _dense_grads(model, X, y, params)
    plus, minus = shifted(+1), shifted(-1)
    return [(a - b) * norm / (2 * eps) for a, b in zip(plus, minus)]


def grasp_scores(model, X, y) -> list:
    """GraSP's keep-score ``w * (H g)``: high means removing the weight would cut gradient flow.

    (The paper writes ``S = -w * H g`` and removes the *largest* ``S``; keeping the largest
    ``w * H g`` is the same rule.)
    """
    return [p["W"].astype(np.float64) * hg for p, hg in zip(model.params, hessian_gradient_product(model, X, y))]


def synflow_scores(model, masks=None) -> list:
    """SynFlow scores ``|w| * dR/d|w|`` with ``R = 1^T |W_1| |W_2| ... |W_L| 1`` (no data).

    With all-ones input and positive weights every ReLU passes everything, so the network
    is the product of its ``|W|`` matrices (biases left out). For layer ``l``,
    ``dR/d|W_l| = outer(left_l, right_l)`` with ``left_l = 1^T |W_1| ... |W_{l-1}|`` and
    ``right_l = |W_{l+1}| ... |W_L| 1``, and every layer's scores sum to ``R``.

    Parameters
    ----------
    model : MLP
    masks : list of (n_in, n_out) 0/1 arrays, optional; the weights they remove count as 0

    Returns
    -------
    scores : list of float64 ndarrays, one (n_in, n_out) per layer
    """
    A = [np.abs(p["W"].astype(np.float64)) for p in model.params]
    if masks is not None:
        A = [a * m for a, m in zip(A, masks)]
    left = [np.ones(A[0].shape[0])]
    for a in A[:-1]:
        left.append(left[-1] @ a)
    right = [np.ones(A[-1].shape[1])]
    for a in A[:0:-1]:
        right.insert(0, a @ right[0])
    return [np.outer(lv, rv) * a for lv, rv, a in zip(left, right, A)]


def keep_top(scores, density, masks=None) -> list:
    """Masks keeping the ``round(density * n_weights)`` highest scores across all layers.

    Entries already pruned by ``masks`` are never kept. Among equal scores the lowest flat
    index (layers in order) is kept first.

    Returns
    -------
    masks : list of float64 0/1 ndarrays shaped like ``scores``
    """
    density = check_float("density", density, minimum=0.0, maximum=1.0)
    flat = np.concatenate([np.asarray(s, dtype=np.float64).ravel() for s in scores])
    if np.isnan(flat).any():
        raise ValueError("scores contain NaN; every score must be a number")
    if masks is not None:
        flat[np.concatenate([np.asarray(m).ravel() for m in masks]) == 0] = -np.inf
    n_keep = int(round(density * flat.size))
    keep = np.zeros(flat.size)
    keep[np.argsort(-flat, kind="stable")[:n_keep]] = 1.0
    if masks is not None:
        keep *= np.concatenate([np.asarray(m).ravel() for m in masks])
    sizes = np.cumsum([np.size(s) for s in scores])[:-1]
    return [part.reshape(np.shape(s)) for part, s in zip(np.split(keep, sizes), scores)]


def prune_at_init(model, method, density, X=None, y=None, iterations=100, seed=0) -> list:
    """Masks for ``model`` at initialisation keeping ``density`` of its weights (global ranking).

    Parameters
    ----------
    model : MLP, untrained (it is not changed: set the masks with ``set_weight_masks``)
    method : one of ``AT_INIT_METHODS``
    density : float in [0, 1], fraction of weights kept
    X, y : a batch of training data; needed by "snip" and "grasp"
    iterations : int >= 1, SynFlow's pruning rounds (density ``density ** (k / iterations)`` at round k)
    seed : int, for "random"

    Returns
    -------
    masks : list of (n_in, n_out) 0/1 float64 arrays, one per layer
    """
    check_choice("method", method, AT_INIT_METHODS)
    density = check_float("density", density, minimum=0.0, maximum=1.0)
    iterations = check_int("iterations", iterations, minimum=1)
    if method in ("snip", "grasp") and (X is None or y is None):
        raise ValueError(f"method={method!r} scores weights with a gradient: pass a batch X, y")
    if method == "synflow":
        masks = None
        for k in range(1, iterations + 1):
            masks = keep_top(synflow_scores(model, masks), density ** (k / iterations), masks)
        return masks
    if method == "magnitude":
        scores = [np.abs(p["W"]) for p in model.params]
    elif method == "random":
        rng = np.random.default_rng(seed)
        scores = [rng.random(p["W"].shape) for p in model.params]
    else:
        scores = (snip_scores if method == "snip" else grasp_scores)(model, X, y)
    return keep_top(scores, density)


def shuffle_within_layers(masks, seed=0) -> list:
    """Each mask's entries randomly permuted: same per-layer density, random positions."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(np.asarray(m).ravel()).reshape(np.shape(m)) for m in masks]
