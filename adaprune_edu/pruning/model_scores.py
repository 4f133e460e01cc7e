"""Importance scores for a whole :class:`~adaprune_edu.nn.MLP`, by criterion name.

:func:`weight_scores` gives one score per weight (one array shaped like ``W[l]`` per layer);
:func:`neuron_scores` one score per hidden neuron (one ``(hidden_l,)`` array per hidden
layer). Higher = more important = kept longer. The arithmetic lives in :mod:`.criteria`;
this module maps the names used everywhere (``criterion="taylor"``) onto it.

Criteria
    ``"magnitude"`` |w|, or the L``n`` norm of a neuron's incoming weights;
    ``"gradient"`` mean |dL/dw| over batches of ``(X, y)``;
    ``"taylor"`` mean |w dL/dw|;
    for neurons, the gradient and Taylor scores of the incoming weights are combined
    with the same L``n`` norm;
    ``"activation"`` mean |a| over ``X`` (neurons only);
    ``"apoz"`` ``1 - APoZ`` over ``X`` (neurons only, ReLU);
    ``"random"`` uniform scores from ``seed``.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_choice
from . import criteria as _criteria
from .masks import _check_scores, _rng

__all__ = ["CRITERIA", "weight_scores", "neuron_scores"]

CRITERIA = ("magnitude", "gradient", "taylor", "activation", "apoz", "random")
_NEURON_ONLY = ("activation", "apoz")
_NEEDS_XY = ("gradient", "taylor")
_NEEDS_X = ("activation", "apoz")


def _check_criterion(criterion, granularity_name: str) -> None:
    check_choice("criterion", criterion, CRITERIA)
    if criterion in _NEURON_ONLY and granularity_name == "unstructured":
        raise ValueError(f"criterion={criterion!r} scores whole neurons; it cannot rank single weights. "
                         f"Allowed with granularity='unstructured': "
                         f"{[c for c in CRITERIA if c not in _NEURON_ONLY]}")


def _check_data(criterion, X, y) -> None:
    if criterion in _NEEDS_XY and (X is None or y is None):
        raise ValueError(f"criterion={criterion!r} needs data: pass X and y (e.g. a training batch); "
                         f"got X={'None' if X is None else 'an array'}, y={'None' if y is None else 'an array'}")
    if criterion in _NEEDS_X and X is None:
        raise ValueError(f"criterion={criterion!r} needs data: pass X (e.g. a training batch); got X=None")


def weight_scores(model, criterion="magnitude", X=None, y=None, seed=0, batch_size=64, n_batches=None) -> list:
    """Importance of every weight, one array shaped like ``W[l]`` per layer (higher = keep).

    Parameters
    ----------
    model : MLP
    criterion : {"magnitude", "gradient", "taylor", "random"}
    X : ndarray of shape (n_samples, n_features), needed by "gradient" and "taylor"
    y : ndarray of shape (n_samples,), needed by "gradient" and "taylor"
    seed : int, for "random"
    batch_size, n_batches : how ``X`` is cut into batches for the gradient criteria

    Returns
    -------
    scores : list of ndarrays, ``scores[l]`` of shape (n_in_l, n_out_l) like ``model.params[l]["W"]``
    """
    _check_criterion(criterion, "unstructured")
    _check_data(criterion, X, y)
    if criterion == "magnitude":
        return [_criteria.magnitude(p["W"]).astype(np.float64) for p in model.params]
    if criterion == "gradient":
        return _criteria.accumulated_gradient(model, X, y, batch_size=batch_size, n_batches=n_batches)
    if criterion == "taylor":
        return _criteria.taylor(model, X, y, batch_size=batch_size, n_batches=n_batches)
    rng = _rng(seed)
    return [rng.random(p["W"].shape) for p in model.params]


def neuron_scores(model, criterion="magnitude", X=None, y=None, seed=0, n=2, batch_size=64,
                  n_batches=None) -> list:
    """Importance of every hidden neuron, one array of shape (hidden_l,) per hidden layer.

    "magnitude", "gradient" and "taylor" take the L``n`` norm over each neuron's incoming
    weight scores; "activation" is mean |a|; "apoz" is ``1 - APoZ``; "random" is uniform.

    Parameters
    ----------
    model : MLP
    criterion : one of ``CRITERIA``
    X : ndarray of shape (n_samples, n_features), needed by every criterion but "magnitude" and "random"
    y : ndarray of shape (n_samples,), needed by "gradient" and "taylor"
    seed : int, for "random"
    n : norm order over a neuron's incoming weight scores (2 = L2)
    batch_size, n_batches : how ``X`` is cut into batches for the data-driven criteria

    Returns
    -------
    scores : list of ndarrays, ``scores[l]`` of shape (hidden_l,) for hidden layer ``l``
    """
    _check_criterion(criterion, "structured")
    _check_data(criterion, X, y)
    hidden = range(model.n_layers - 1)
    if criterion == "activation":
        return _criteria.mean_activation(model, X)
    if criterion == "apoz":
        return [1.0 - a for a in _criteria.apoz(model, X)]
    if criterion == "random":
        rng = _rng(seed)
        return [rng.random(model.layer_sizes[layer + 1]) for layer in hidden]
    per_weight = weight_scores(model, criterion, X, y, seed=seed, batch_size=batch_size, n_batches=n_batches)
    return [_criteria.neuron_norms(per_weight[layer], n) for layer in hidden]



def _check_given_scores(model, scores, granularity) -> list:
    """User-supplied scores: one array per dense layer (weights) or per hidden layer (neurons)."""
    if granularity == "unstructured":
        shapes, what = [p["W"].shape for p in model.params], "dense layer, shaped like W[l]"
    else:
        shapes, what = [(size,) for size in model.layer_sizes[1:-1]], "hidden layer, of shape (hidden_l,)"
    if not isinstance(scores, (list, tuple)) or len(scores) != len(shapes):
        got = f"a list of {len(scores)}" if isinstance(scores, (list, tuple)) else type(scores).__name__
        raise ValueError(f"scores must be a list with one array per {what} ({len(shapes)} arrays); got {got}")
    return [_check_scores(s, shape, name=f"scores[{i}]", target="the layer's shape")
            for i, (s, shape) in enumerate(zip(scores, shapes))]

