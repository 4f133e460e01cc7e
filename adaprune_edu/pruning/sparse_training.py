"""Dynamic sparse training: a network that is sparse from the first step to the last.

Post-training pruning *adds* training (train dense, then prune and fine-tune). Sparse
training is the way pruning can make training itself cheaper: the network starts sparse
and stays at the same sparsity, but *which* weights are active changes. Every update
(here: at the end of an epoch), in every layer:

1. drop the ``fraction`` of active weights with the smallest ``|w|``;
2. regrow as many inactive weights: at random (SET, Mocanu et al. 2018) or those with the
   largest ``|dL/dw|`` of the dense gradient on one batch (RigL, Evci et al. 2020);
3. regrown weights start at zero with zero optimizer state.

``fraction`` decays with a cosine from ``update_fraction`` to 0 and updates stop after
``stop_fraction`` of training, so the final topology gets time to settle. Per-layer
densities follow Erdős–Rényi-Kernel (ERK, :func:`erk_densities`): small layers stay denser.
"""
from __future__ import annotations

import math

import numpy as np

from .._checks import check_choice, check_float, check_int
from .masks import prune_lowest

__all__ = ["erk_densities", "random_masks", "DynamicSparseTraining", "training_macs"]


def erk_densities(layer_sizes, density) -> list:
    """Per-layer densities of the Erdős–Rényi(-Kernel) rule for dense layers.

    Layer ``l`` of shape (n_in, n_out) gets density ``eps * (n_in + n_out) / (n_in * n_out)``,
    with ``eps`` chosen so that the whole network keeps ``density`` of its weights. A layer
    whose density would exceed 1 is made dense and ``eps`` solved again for the others
    (the rule of RigL's code).

    Parameters
    ----------
    layer_sizes : list of int, ``[n_features, hidden..., n_outputs]``
    density : float in (0, 1]

    Returns
    -------
    densities : list of float in (0, 1], one per layer

    Examples
    --------
    >>> [round(d, 4) for d in erk_densities([4, 4, 2], 0.5)]
    [0.4286, 0.6429]
    """
    density = check_float("density", density, minimum=0.0, maximum=1.0, strict_min=True)
    if len(layer_sizes) < 2:
        raise ValueError(f"layer_sizes={list(layer_sizes)!r} needs at least an input and an output size")
    sizes = [check_int(f"layer_sizes[{i}]", n, minimum=1) for i, n in enumerate(layer_sizes)]
    shapes = list(zip(sizes[:-1], sizes[1:]))
    counts = np.array([n_in * n_out for n_in, n_out in shapes], dtype=np.float64)
    raw = np.array([(n_in + n_out) / (n_in * n_out) for n_in, n_out in shapes])
    dense = np.zeros(len(shapes), dtype=bool)
    while True:
        eps = (density * counts.sum() - counts[dense].sum()) / (raw[~dense] * counts[~dense]).sum()
        over = ~dense & (eps * raw > 1)
        if not over.any():
            break
        dense[np.argmax(np.where(over, raw, -np.inf))] = True
    return [1.0 if d else float(eps * r) for d, r in zip(dense, raw)]


def random_masks(layer_sizes, densities, seed=0) -> list:
    """One 0/1 mask per layer with exactly ``round(density * n_in * n_out)`` ones at random places."""
    rng = np.random.default_rng(seed)
    masks = []
    for n_in, n_out, d in zip(layer_sizes[:-1], layer_sizes[1:], densities):
        d = check_float("densities[i]", d, minimum=0.0, maximum=1.0)
        mask = np.zeros(n_in * n_out)
        mask[rng.choice(mask.size, size=int(round(d * mask.size)), replace=False)] = 1.0
        masks.append(mask.reshape(n_in, n_out))
    return masks


class DynamicSparseTraining:
    """A ``fit`` callback that drops and regrows weights at the end of every epoch (SET or RigL).

    Parameters
    ----------
    method : "set" (regrow at random) or "rigl" (regrow the largest dense-gradient magnitudes)
    X, y : training data; RigL draws one batch of ``grad_batch_size`` rows from it per update
    epochs : int, the total epochs of the run (for the cosine decay)
    update_fraction : float in [0, 1], fraction of active weights replaced at the first update
    stop_fraction : float in (0, 1], no updates after this fraction of the epochs
    grad_batch_size : int >= 1
    seed : int

    Attributes
    ----------
    n_updates_ : int, updates done; dense_gradient_samples_ : int, samples RigL ran a dense gradient on
    regrown_ : list of int, weights regrown at the last update, per layer
    """

    def __init__(self, method, X, y, epochs, update_fraction=0.3, stop_fraction=0.75, grad_batch_size=64, seed=0):
        check_choice("method", method, {"set", "rigl"})
        self.method = method
        self.X, self.y = X, y
        self.epochs = check_int("epochs", epochs, minimum=1)
        self.update_fraction = check_float("update_fraction", update_fraction, minimum=0.0, maximum=1.0)
        self.stop_fraction = check_float("stop_fraction", stop_fraction, minimum=0.0, maximum=1.0, strict_min=True)
        self.grad_batch_size = check_int("grad_batch_size", grad_batch_size, minimum=1)
        self.rng = np.random.default_rng(seed)
        self.n_updates_, self.dense_gradient_samples_, self.regrown_ = 0, 0, []

    def fraction_at(self, epoch) -> float:
        """``update_fraction / 2 * (1 + cos(pi * t / T))`` after epoch ``t`` (0-based, ``t + 1`` done),
        ``T = stop_fraction * epochs``; 0 from ``T`` on."""
        stop = self.stop_fraction * self.epochs
        done = epoch + 1
        return 0.0 if done >= stop else self.update_fraction / 2 * (1 + math.cos(math.pi * done / stop))

    def _dense_gradient(self, model) -> list:
        rows = self.rng.choice(len(self.y), size=min(self.grad_batch_size, len(self.y)), replace=False)
        masks = model.masks
        model.masks = [{"W": None, "b": None} for _ in masks]  # pruned weights are zero: their dL/dw is honest
        try:
            _, grads = model.loss(self.X[rows], self.y[rows])
        finally:
            model.masks = masks
        self.dense_gradient_samples_ += len(rows)
        return [g["W"] for g in grads]

    def __call__(self, model, epoch, logs=None):
        fraction = self.fraction_at(epoch)
        if fraction == 0.0:
            return
        grads = self._dense_gradient(model) if self.method == "rigl" else None
        self.regrown_ = []
        for layer, params in enumerate(model.params):
            W, mask = params["W"], model.masks[layer]["W"]
            active = mask.ravel() == 1
            n_swap = int(round(fraction * active.sum()))
            keep = prune_lowest(np.abs(W).ravel(), active, n_swap)
            candidates = np.flatnonzero(~keep)
            if self.method == "set":
                grown = self.rng.choice(candidates, size=n_swap, replace=False)
            else:
                order = np.argsort(-np.abs(grads[layer].ravel()[candidates]), kind="stable")
                grown = candidates[order[:n_swap]]
            keep[grown] = True
            W.flat[grown] = 0.0  # regrown weights start at zero (set_mask zeroes the dropped ones) ...
            model.set_mask(layer, keep.reshape(W.shape))
            optimizer = getattr(model, "optimizer_", None)
            if optimizer is not None and optimizer.state:
                for buffers in optimizer.state[layer].values():
                    buffers["W"].flat[grown] = 0.0  # ... with fresh optimizer state
            self.regrown_.append(len(grown))
        self.n_updates_ += 1


def training_macs(active_weights, n_samples, epochs, dense_weights=None, dense_gradient_samples=0) -> float:
    """Multiply-adds of training on weights: ``3 * active * n_samples * epochs``.

    Forward is one multiply-add per active weight per sample; backward two (``dX`` and
    ``dW``). RigL's dense gradients are counted as a dense forward + backward for each
    sample they use (an upper bound). Biases, activations and the optimizer are left out.

    Parameters
    ----------
    active_weights : int, non-zero weights during training (fixed for sparse training)
    n_samples, epochs : int
    dense_weights : int, all weights (needed when ``dense_gradient_samples > 0``)
    dense_gradient_samples : int

    Returns
    -------
    macs : float
    """
    active_weights = check_int("active_weights", active_weights, minimum=0)
    n_samples = check_int("n_samples", n_samples, minimum=0)
    epochs = check_int("epochs", epochs, minimum=0)
    dense_gradient_samples = check_int("dense_gradient_samples", dense_gradient_samples, minimum=0)
    if dense_gradient_samples and dense_weights is None:
        raise ValueError("dense_gradient_samples > 0 needs dense_weights (the number of all weights)")
    extra = 3.0 * dense_weights * dense_gradient_samples if dense_gradient_samples else 0.0
    return 3.0 * active_weights * n_samples * epochs + extra
