"""The criteria by name: one registry entry per criterion.

``prune_model(..., criterion="taylor")`` looks the name up in :data:`REGISTRY`. Each entry says
what the criterion needs (nothing, ``X``, or ``X`` and ``y``), which granularities it serves
(single weights, whole groups, or both) and where it comes from; everything else is derived
from the entries: :data:`CRITERIA`, the group-only and data-driven lists, the error messages.
Adding a criterion is one :class:`Criterion` in :data:`REGISTRY`.

Weight scores (``granularity="unstructured"``) are one array shaped like ``W`` per Dense or
Conv2D layer; group scores (``"structured"``) one ``(size,)`` array per :class:`.groups.LayerGroups`
(a hidden layer of an MLP, the channels of a convolution). Higher = more important = kept longer.
The arithmetic lives in :mod:`.criteria`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_choice
from . import criteria as _criteria
from .groups import layer_groups, unit_view
from .masks import _check_scores, _rng, slice_norms

__all__ = ["Criterion", "REGISTRY", "CRITERIA", "GROUP_ONLY", "DATA_DRIVEN", "weight_scores", "group_scores",
           "neuron_scores", "weight_layers"]


@dataclass(frozen=True)
class Criterion:
    """One importance criterion.

    Attributes
    ----------
    name : str, what ``criterion=`` takes
    needs : ``""`` (data-free), ``"X"`` or ``"Xy"``
    weights : function ``(model, options) -> list of arrays shaped like each W``, or None
    groups : function ``(model, groups, options) -> list of (size,) arrays``, or None
    reference : the paper (or "baseline"), shown in the docs
    needs_batchnorm : True when every group must have BatchNorm entries (Network Slimming)
    """

    name: str
    needs: str
    weights: object
    groups: object
    reference: str
    needs_batchnorm: bool = False


# ---------------------------------------------------------------------- weight scores
def weight_layers(model) -> list:
    """Indices into ``model.params`` of the layers whose ``W`` is pruned one weight at a time (Dense, Conv2D)."""
    return [i for i, p in enumerate(model.params) if "W" in p]


def _weight_magnitude(model, options):
    return [_criteria.magnitude(model.params[i]["W"]).astype(np.float64) for i in weight_layers(model)]


def _weight_gradient(model, options):
    scores = _criteria.accumulated_gradient(model, options["X"], options["y"], batch_size=options["batch_size"],
                                            n_batches=options["n_batches"])
    return [scores[i] for i in weight_layers(model)]


def _weight_taylor(model, options):
    scores = _criteria.taylor(model, options["X"], options["y"], batch_size=options["batch_size"],
                              n_batches=options["n_batches"])
    return [scores[i] for i in weight_layers(model)]


def _weight_random(model, options):
    rng = _rng(options["seed"])
    return [rng.random(model.params[i]["W"].shape) for i in weight_layers(model)]


# ---------------------------------------------------------------------- group scores
def _own_weights(arrays, groups) -> np.ndarray:
    """Each unit's entries of the producers' ``W`` (its incoming weights / filters), (size, entries)."""
    return np.concatenate([unit_view(arrays[s.param][s.key], s, groups.size) for s in groups.own if s.key == "W"],
                          axis=1)


def _norm_of(per_weight, all_groups, n):
    """L``n`` norm over each unit's incoming entries of a per-parameter score list."""
    return [slice_norms(_own_weights(per_weight, g), n, dim=0) for g in all_groups]


def _group_magnitude(model, all_groups, options):
    return _norm_of([{"W": p["W"]} if "W" in p else {} for p in model.params], all_groups, options["n"])


def _group_gradient(model, all_groups, options):
    scores = _criteria.accumulated_gradient(model, options["X"], options["y"], batch_size=options["batch_size"],
                                            n_batches=options["n_batches"])
    return _norm_of([{"W": s} for s in scores], all_groups, options["n"])


def _group_taylor(model, all_groups, options):
    return _criteria.group_taylor(model, all_groups, options["X"], options["y"], batch_size=options["batch_size"],
                                  n_batches=options["n_batches"])


def _group_taylor_activation(model, all_groups, options):
    return _criteria.activation_taylor(model, all_groups, options["X"], options["y"],
                                       batch_size=options["batch_size"], n_batches=options["n_batches"])


def _group_activation(model, all_groups, options):
    return _criteria.unit_mean_activation(model, all_groups, options["X"])


def _group_apoz(model, all_groups, options):
    return [1.0 - a for a in _criteria.unit_apoz(model, all_groups, options["X"])]


def _group_bn_scale(model, all_groups, options):
    return _criteria.batchnorm_scale(model, all_groups)


def _group_random(model, all_groups, options):
    rng = _rng(options["seed"])
    return [rng.random(g.size) for g in all_groups]


REGISTRY = {c.name: c for c in (
    Criterion("magnitude", "", _weight_magnitude, _group_magnitude,
              "|w| (Han et al. 2015); for groups the L-n norm of the filter / incoming weights (Li et al. 2017)"),
    Criterion("gradient", "Xy", _weight_gradient, _group_gradient,
              "mean |dL/dw| over batches; for groups its L-n norm over the incoming weights (baseline)"),
    Criterion("taylor", "Xy", _weight_taylor, _group_taylor,
              "|w dL/dw| per weight; for groups (sum of w dL/dw over the group)^2 (Molchanov et al. 2019)"),
    Criterion("activation", "X", None, _group_activation, "mean |activation| per unit (baseline)"),
    Criterion("apoz", "X", None, _group_apoz, "1 - APoZ, average percentage of zeros (Hu et al. 2016)"),
    Criterion("random", "", _weight_random, _group_random, "uniform scores from seed (baseline)"),
    Criterion("taylor_activation", "Xy", None, _group_taylor_activation,
              "|mean over positions of a dL/da| per sample, averaged (Molchanov et al. 2017)"),
    Criterion("bn_scale", "", None, _group_bn_scale,
              "|gamma| of the BatchNorm after the layer (Network Slimming, Liu et al. 2017)", needs_batchnorm=True),
)}
"""Every criterion by name."""

#: Criteria that work on every network (MLPs have no BatchNorm), in registry order.
CRITERIA = tuple(name for name, c in REGISTRY.items() if not c.needs_batchnorm)
#: Criteria that score whole groups only (they cannot rank single weights).
GROUP_ONLY = tuple(name for name, c in REGISTRY.items() if c.weights is None)
#: Criteria that need data (``X``, and ``y`` for the gradient-based ones).
DATA_DRIVEN = tuple(name for name, c in REGISTRY.items() if c.needs)


# ---------------------------------------------------------------------- checks
def _check_criterion(criterion, granularity_name: str) -> Criterion:
    check_choice("criterion", criterion, tuple(REGISTRY))
    entry = REGISTRY[criterion]
    if entry.weights is None and granularity_name == "unstructured":
        raise ValueError(f"criterion={criterion!r} scores whole neurons; it cannot rank single weights. "
                         f"Allowed with granularity='unstructured': "
                         f"{[name for name, c in REGISTRY.items() if c.weights is not None]}")
    return entry


def _check_data(criterion, X, y) -> None:
    needs = REGISTRY[criterion].needs if criterion in REGISTRY else ""
    if needs == "Xy" and (X is None or y is None):
        raise ValueError(f"criterion={criterion!r} needs data: pass X and y (e.g. a training batch); "
                         f"got X={'None' if X is None else 'an array'}, y={'None' if y is None else 'an array'}")
    if needs == "X" and X is None:
        raise ValueError(f"criterion={criterion!r} needs data: pass X (e.g. a training batch); got X=None")


def _options(X, y, seed, n, batch_size, n_batches) -> dict:
    return dict(X=X, y=y, seed=seed, n=n, batch_size=batch_size, n_batches=n_batches)


# ---------------------------------------------------------------------- public
def weight_scores(model, criterion="magnitude", X=None, y=None, seed=0, batch_size=64, n_batches=None) -> list:
    """Importance of every weight, one array shaped like ``W`` per Dense/Conv2D layer (higher = keep).

    Parameters
    ----------
    model : MLP or Sequential
    criterion : a name in :data:`REGISTRY` that serves single weights ("magnitude", "gradient", "taylor", "random")
    X : ndarray of shape (n_samples, ...), needed by "gradient" and "taylor"
    y : ndarray of shape (n_samples,), needed by "gradient" and "taylor"
    seed : int, for "random"
    batch_size, n_batches : how ``X`` is cut into batches for the gradient criteria

    Returns
    -------
    scores : list of ndarrays, one shaped like ``model.params[i]["W"]`` for each ``i`` in :func:`weight_layers`
    """
    entry = _check_criterion(criterion, "unstructured")
    _check_data(criterion, X, y)
    return entry.weights(model, _options(X, y, seed, 2, batch_size, n_batches))


def group_scores(model, criterion="magnitude", X=None, y=None, seed=0, n=2, batch_size=64, n_batches=None,
                 groups=None) -> list:
    """Importance of every group (hidden neuron, output channel), one (size,) array per :class:`LayerGroups`.

    Parameters
    ----------
    model : MLP or Sequential
    criterion : a name in :data:`REGISTRY`
    X, y : data, as :attr:`Criterion.needs` says
    seed : int, for "random"
    n : norm order over a unit's incoming weight scores ("magnitude", "gradient"; 1 = Li et al.'s L1)
    batch_size, n_batches : how ``X`` is cut into batches for the data-driven criteria
    groups : list of LayerGroups, optional (default: ``layer_groups(model)``)

    Returns
    -------
    scores : list of ndarrays of shape (groups[l].size,)
    """
    entry = _check_criterion(criterion, "structured")
    _check_data(criterion, X, y)
    all_groups = layer_groups(model) if groups is None else groups
    if not all_groups:
        return []
    return entry.groups(model, all_groups, _options(X, y, seed, n, batch_size, n_batches))


def neuron_scores(model, criterion="magnitude", X=None, y=None, seed=0, n=2, batch_size=64,
                  n_batches=None) -> list:
    """:func:`group_scores` under its MLP name: one (hidden_l,) array per hidden layer."""
    return group_scores(model, criterion, X=X, y=y, seed=seed, n=n, batch_size=batch_size, n_batches=n_batches)


def _check_given_scores(model, scores, granularity) -> list:
    """User-supplied scores: one array per weight layer (weights) or per LayerGroups (groups)."""
    if granularity == "unstructured":
        shapes = [model.params[i]["W"].shape for i in weight_layers(model)]
        what = "weight layer, shaped like its W"
    else:
        shapes, what = [(g.size,) for g in layer_groups(model)], "hidden layer (layer of groups), of shape (size,)"
    if not isinstance(scores, (list, tuple)) or len(scores) != len(shapes):
        got = f"a list of {len(scores)}" if isinstance(scores, (list, tuple)) else type(scores).__name__
        raise ValueError(f"scores must be a list with one array per {what} ({len(shapes)} arrays); got {got}")
    return [_check_scores(s, shape, name=f"scores[{i}]", target="the layer's shape")
            for i, (s, shape) in enumerate(zip(scores, shapes))]
