"""Sparsity by training: penalties that push weights or whole neurons to zero.

Instead of ranking weights after training, add a penalty to the loss that makes small
weights expensive, train, then prune what the penalty drove to (near) zero:

- :class:`L1Penalty` -- ``strength * sum |w|`` over all ``W``: unstructured sparsity.
  Its gradient ``strength * sign(w)`` pulls every weight towards 0 by the same amount,
  so small, unimportant weights end up oscillating around 0.
- :class:`GroupLassoPenalty` -- ``strength * sum_j ||W[l][:, j]||_2`` over the incoming
  weights of each hidden neuron (Yuan & Lin 2006; Wen et al. 2016; Scardapane et al. 2017):
  the L2 norm inside a group and the L1 sum across groups make whole groups go to zero
  together, i.e. structured sparsity.

Both are callables ``penalty(params) -> (value, grads)`` for ``model.fit(..., penalty=...)``.
At 0 neither ``|w|`` nor ``||v||`` has a gradient; we use the subgradient 0, which lies
in the subdifferential (``[-1, 1]`` resp. the unit ball), so a weight or group that is
exactly zero feels no pull and no division by zero happens.

Plain (sub)gradient descent never makes a weight *exactly* zero -- it jitters around 0
with an amplitude of about ``learning_rate * strength`` -- so :func:`prune_small` masks
whatever is below a tolerance. (Proximal methods would produce exact zeros; we keep the
optimizer simple and threshold afterwards.)
"""
from __future__ import annotations

import numpy as np

from .._checks import check_choice, check_float
from .model_masks import _weight_mask, neuron_masks, set_neuron_mask

__all__ = ["L1Penalty", "GroupLassoPenalty", "BatchNormL1Penalty", "zeroed_weights", "zeroed_neurons", "prune_small"]


class L1Penalty:
    """``strength * sum over layers of sum |W|`` (biases are not penalised).

    Parameters
    ----------
    strength : float >= 0
        The loss is a mean over the batch, so the pull per step is ``learning_rate * strength``.
        On digits ``[64, 32, 10]``, 15 epochs at learning rate 0.05 with ``strength=3e-3``
        leave more than half of the weights below 1e-2 at above 90% validation accuracy
        (checked in ``tests/test_pruning_regularizers.py``).

    Examples
    --------
    >>> value, grads = L1Penalty(0.5)([{"W": np.array([[1.0, -2.0]]), "b": np.zeros(2)}])
    >>> value, grads[0]["W"]
    (1.5, array([[ 0.5, -0.5]]))
    """

    def __init__(self, strength):
        self.strength = check_float("strength", strength, minimum=0.0)

    def __call__(self, params):
        """Return ``(value, grads)``; ``grads`` mirrors ``params`` with ``{"W": ...}`` per layer."""
        value = 0.0
        grads = []
        for layer in params:
            if "W" not in layer:  # BatchNorm: not a weight
                grads.append(None)
                continue
            W = layer["W"]
            value += float(np.abs(W).sum())
            grads.append({"W": (self.strength * np.sign(W)).astype(W.dtype, copy=False)})
        return self.strength * value, grads

    def __repr__(self):
        return f"L1Penalty(strength={self.strength})"


class GroupLassoPenalty:
    """``strength * sum over hidden neurons of ||incoming weights||_2``.

    The group of hidden neuron ``j`` of layer ``l`` is column ``j`` of ``W[l]``; the
    output layer's neurons are not penalised (they are never removed).

    Parameters
    ----------
    strength : float >= 0
        On digits ``[64, 32, 10]``, 15 epochs at learning rate 0.05 with ``strength=0.03``
        leave more than 20% of the hidden neurons with incoming norm below 0.1 at above 90%
        validation accuracy (checked in ``tests/test_pruning_regularizers.py``).

    Examples
    --------
    >>> params = [{"W": np.array([[3.0, 0.0], [4.0, 0.0]]), "b": np.zeros(2)},
    ...           {"W": np.ones((2, 1)), "b": np.zeros(1)}]
    >>> value, grads = GroupLassoPenalty(2.0)(params)
    >>> value, grads[0]["W"], grads[1]
    (10.0, array([[1.2, 0. ],
           [1.6, 0. ]]), None)
    """

    def __init__(self, strength):
        self.strength = check_float("strength", strength, minimum=0.0)

    def __call__(self, params):
        """Return ``(value, grads)``; ``grads[l]`` is ``None`` for the output layer."""
        value = 0.0
        grads = []
        for index, layer in enumerate(params):
            if index == len(params) - 1:
                grads.append(None)
                continue
            W = layer["W"]
            norms = np.sqrt(np.sum(W.astype(np.float64) ** 2, axis=0))  # (n_out,)
            value += float(norms.sum())
            # d||v||/dv = v / ||v||; at v = 0 take the subgradient 0 (no division by zero).
            scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
            grads.append({"W": (self.strength * W * scale[None, :]).astype(W.dtype, copy=False)})
        return self.strength * value, grads

    def __repr__(self):
        return f"GroupLassoPenalty(strength={self.strength})"


class BatchNormL1Penalty:
    """Network Slimming's sparsity term: ``strength * sum over BatchNorm layers of sum |gamma|``.

    Liu et al. (2017, "Learning Efficient Convolutional Networks through Network Slimming")
    train with this L1 penalty on BatchNorm's scale factors, so that the channels the task does
    not need end with ``gamma`` near zero; ``criterion="bn_scale"`` then ranks channels by
    ``|gamma|``. The subgradient at 0 is 0. Only parameter dicts with a ``gamma`` are penalised.

    Examples
    --------
    >>> value, grads = BatchNormL1Penalty(0.1)([{"W": np.ones((1, 2)), "b": np.zeros(2)},
    ...                                        {"gamma": np.array([2.0, -0.5]), "beta": np.zeros(2)}])
    >>> round(value, 6), grads[0], grads[1]["gamma"]
    (0.25, None, array([ 0.1, -0.1]))
    """

    def __init__(self, strength):
        self.strength = check_float("strength", strength, minimum=0.0)

    def __call__(self, params):
        """Return ``(value, grads)``; ``grads`` mirrors ``params``, ``{"gamma": ...}`` for BatchNorm, else None."""
        value, grads = 0.0, []
        for layer in params:
            if "gamma" not in layer:
                grads.append(None)
                continue
            gamma = layer["gamma"]
            value += float(np.abs(gamma).sum())
            grads.append({"gamma": (self.strength * np.sign(gamma)).astype(gamma.dtype, copy=False)})
        return self.strength * value, grads

    def __repr__(self):
        return f"BatchNormL1Penalty(strength={self.strength})"


def zeroed_weights(model, tol) -> list:
    """Where ``|W| <= tol``, one bool array shaped like ``W[l]`` per layer (already-pruned included)."""
    tol = check_float("tol", tol, minimum=0.0)
    return [np.abs(p["W"]) <= tol for p in model.params]


def zeroed_neurons(model, tol) -> list:
    """Hidden neurons whose incoming weights have L2 norm ``<= tol``, one bool (hidden_l,) per hidden layer."""
    tol = check_float("tol", tol, minimum=0.0)
    return [np.sqrt(np.sum(model.params[layer]["W"].astype(np.float64) ** 2, axis=0)) <= tol
            for layer in range(model.n_layers - 1)]


def prune_small(model, tol, granularity="unstructured"):
    """Mask what a penalty drove to (near) zero, on top of the existing masks.

    Parameters
    ----------
    model : MLP, modified in place and returned
    tol : float >= 0
        "unstructured": weights with ``|w| <= tol`` are pruned (after an L1 penalty);
        "structured": hidden neurons whose incoming weights have L2 norm ``<= tol`` are
        removed (column, bias and outgoing row; after a group-lasso penalty).
    granularity : {"unstructured", "structured"}

    Returns
    -------
    model : the same MLP
    """
    check_choice("granularity", granularity, {"unstructured", "structured"})
    if granularity == "unstructured":
        for layer, small in enumerate(zeroed_weights(model, tol)):
            model.set_mask(layer, _weight_mask(model, layer) * (~small).astype(model.dtype))
        return model
    for layer, (small, alive) in enumerate(zip(zeroed_neurons(model, tol), neuron_masks(model))):
        if np.any(small & alive):
            set_neuron_mask(model, layer, alive & ~small)
    return model
