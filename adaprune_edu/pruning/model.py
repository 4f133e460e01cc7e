"""Pruning a whole :class:`~adaprune_edu.nn.MLP`: scores -> masks -> ``model.set_mask``.

Two entry points, both adding to the masks a model already has (pruned stays pruned):

- :func:`prune_model` -- prune ``amount`` of what is still unpruned (PyTorch's meaning of
  ``amount``: 0.2 twice leaves 64%);
- :func:`prune_to_sparsity` -- reach an absolute sparsity ``target``, whatever was pruned
  before (it never un-prunes: a target below the current sparsity changes nothing).

Granularity
    ``"unstructured"``: individual weights of every layer, output layer included
    (biases are never pruned individually).
    ``"structured"``: whole hidden neurons. Removing neuron ``j`` of hidden layer ``l``
    masks column ``j`` of ``W[l]``, ``b[l][j]`` and row ``j`` of ``W[l+1]``; the network
    then behaves exactly as if the neuron were gone, and :mod:`.surgery` can cut it out.
    Output units are never removed.
    ``"hybrid"``: structured first, then unstructured within what remains.

Scope
    ``"global"``: one ranking across all layers. Weights are ranked on raw scores (as
    PyTorch's ``global_unstructured``). Neuron scores are divided by their layer's mean
    over still-alive neurons first: raw norms grow with fan-in (a 256-input neuron's L2
    norm is ~2x a 64-input one's) and activations differ in scale per layer, so without
    the normalisation a global ranking would empty whichever layer has the smallest
    numbers. (Molchanov et al. 2017 normalise per layer by the L2 norm; the mean does not
    depend on layer width.) A layer whose mean score is not positive is left as it is.
    ``"layer"``: the same fraction in every layer.
    A list: one amount (or target) per layer -- per dense layer for unstructured,
    per hidden layer for structured.

Criteria (higher score = more important; see :mod:`.criteria`)
    ``"magnitude"`` |w|, or the L``n`` norm of a neuron's incoming weights;
    ``"gradient"`` mean |dL/dw| over batches of ``(X, y)``;
    ``"taylor"`` mean |w dL/dw|;
    for neurons, the gradient and Taylor scores of the incoming weights are combined
    with the same L``n`` norm;
    ``"activation"`` mean |a| over ``X`` (neurons only);
    ``"apoz"`` ``1 - APoZ`` over ``X`` (neurons only, ReLU);
    ``"random"`` uniform scores from ``seed``.

Scores are ranked as they are (higher = keep; the built-in ones are all >= 0); ties are
broken by position (stable sort): lowest layer, then lowest index, goes first. The
rankings are the same as :func:`.masks.global_unstructured` / :func:`.masks.l1_unstructured`
on the score arrays.
"""
from __future__ import annotations

import numbers

import numpy as np

from .._checks import check_choice, check_float
from . import criteria as _criteria
from .amount import compute_count
from .masks import _check_scores, _rng, prune_lowest

__all__ = [
    "CRITERIA", "GRANULARITIES", "prune_model", "prune_to_sparsity", "layer_sparsities", "global_sparsity",
    "neuron_masks", "neuron_sparsity", "set_neuron_mask", "weight_scores", "neuron_scores",
]

CRITERIA = ("magnitude", "gradient", "taylor", "activation", "apoz", "random")
GRANULARITIES = ("unstructured", "structured", "hybrid")
_NEURON_ONLY = ("activation", "apoz")
_NEEDS_XY = ("gradient", "taylor")
_NEEDS_X = ("activation", "apoz")


# ---------------------------------------------------------------------- reading masks
def _weight_mask(model, layer: int) -> np.ndarray:
    """The W mask of ``layer`` (ones when the layer has none)."""
    mask = model.masks[layer]["W"]
    return np.ones_like(model.params[layer]["W"]) if mask is None else mask


def layer_sparsities(model) -> list:
    """Fraction of each layer's ``W`` entries that a mask prunes, one float per dense layer.

    Counted from the masks (``model.sparsity()`` counts zeros; the two agree unless an
    unmasked weight happens to be exactly zero).
    """
    return [float(np.mean(_weight_mask(model, layer) == 0)) for layer in range(model.n_layers)]


def global_sparsity(model) -> float:
    """Fraction of all ``W`` entries (every layer) that a mask prunes."""
    pruned = sum(int(np.sum(_weight_mask(model, layer) == 0)) for layer in range(model.n_layers))
    return pruned / sum(p["W"].size for p in model.params)


def neuron_masks(model) -> list:
    """Which hidden neurons are alive, one bool array of shape (hidden_l,) per hidden layer.

    A neuron counts as removed (False) when its incoming column of ``W[l]``, its bias
    ``b[l][j]`` and its outgoing row of ``W[l+1]`` are all masked -- what
    :func:`set_neuron_mask` and structured pruning do. Unstructured pruning that happens
    to empty a row does not count here (:func:`.surgery.removable_neurons` finds those).
    """
    alive = []
    for layer in range(model.n_layers - 1):
        incoming = _weight_mask(model, layer).any(axis=0)
        bias_mask = model.masks[layer]["b"]
        bias = np.ones(model.layer_sizes[layer + 1], dtype=bool) if bias_mask is None else bias_mask != 0
        outgoing = _weight_mask(model, layer + 1).any(axis=1)
        alive.append(incoming | bias | outgoing)
    return alive


def neuron_sparsity(model) -> float:
    """Fraction of all hidden neurons removed (0.0 for a network without hidden layers)."""
    masks = neuron_masks(model)
    total = sum(m.size for m in masks)
    return 0.0 if total == 0 else sum(int(np.sum(~m)) for m in masks) / total


def _check_hidden_layer(model, layer) -> int:
    if isinstance(layer, (bool, np.bool_)) or not isinstance(layer, numbers.Integral):
        raise TypeError(f"layer={layer!r} must be an int (index of a hidden layer)")
    if not 0 <= layer < model.n_layers - 1:
        raise ValueError(f"layer={layer} is not a hidden layer of this model; allowed: 0 to {model.n_layers - 2}")
    return int(layer)


def set_neuron_mask(model, layer, alive) -> None:
    """Remove the hidden neurons of ``layer`` where ``alive`` is False.

    Masks column ``j`` of ``W[layer]``, ``b[layer][j]`` and row ``j`` of ``W[layer + 1]``
    for every removed ``j``, on top of the masks already there (unstructured masks inside
    surviving neurons are kept).

    Parameters
    ----------
    model : MLP
    layer : int, index of a hidden layer, 0 <= layer < model.n_layers - 1
    alive : bool array of shape (hidden_layer,)

    Raises
    ------
    ValueError
        Wrong shape, or ``alive`` is True for a neuron already removed: its weights are
        zero and cannot come back (restore a snapshot with ``model.set_state`` instead).
    """
    layer = _check_hidden_layer(model, layer)
    width = model.layer_sizes[layer + 1]
    alive = np.asarray(alive)
    if alive.shape != (width,):
        raise ValueError(f"alive has shape {alive.shape}; hidden layer {layer} has {width} neurons, "
                         f"so it must have shape ({width},)")
    if not (alive.dtype == bool or np.all((alive == 0) | (alive == 1))):
        raise ValueError("alive must hold booleans (True = keep the neuron)")
    alive = alive.astype(bool)
    revived = np.flatnonzero(alive & ~neuron_masks(model)[layer])
    if revived.size:
        raise ValueError(f"alive is True for neurons {revived.tolist()} of hidden layer {layer}, which are "
                         "already removed; pruning never un-prunes (restore a snapshot with model.set_state)")
    dtype = model.dtype
    model.set_mask(layer, _weight_mask(model, layer) * alive[None, :].astype(dtype))
    bias_mask = model.masks[layer]["b"]
    bias_mask = np.ones(width, dtype=dtype) if bias_mask is None else bias_mask
    model.set_mask(layer, bias_mask * alive.astype(dtype), key="b")
    model.set_mask(layer + 1, _weight_mask(model, layer + 1) * alive[:, None].astype(dtype))


# ---------------------------------------------------------------------- scores
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

    ``criterion`` is one of "magnitude", "gradient", "taylor", "random".
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


# ---------------------------------------------------------------------- argument handling
def _check_scope(scope, n_groups: int, what: str):
    """Return "global", "layer", or a list of ``n_groups`` per-layer values."""
    if isinstance(scope, str):
        check_choice("scope", scope, {"global", "layer"})
        return scope
    if isinstance(scope, (list, tuple, np.ndarray)):
        if len(scope) != n_groups:
            raise ValueError(f"scope is a list of {len(scope)} values; it needs one per {what} ({n_groups})")
        return list(scope)
    raise TypeError(f"scope={scope!r} must be 'global', 'layer' or a list with one value per {what}")


def _split_hybrid(amount, structured_fraction):
    """``(neuron_amount, weight_amount)`` for hybrid pruning, see :func:`prune_model`."""
    if isinstance(amount, (tuple, list)):
        if len(amount) != 2:
            raise ValueError(f"amount={amount!r}: for granularity='hybrid' pass one number or a pair "
                             "(neuron_amount, weight_amount)")
        return amount[0], amount[1], False
    if isinstance(amount, numbers.Integral) and not isinstance(amount, (bool, np.bool_)):
        raise TypeError(f"amount={amount!r}: a single amount for granularity='hybrid' must be a float fraction; "
                        "for exact counts pass a pair (neurons_to_remove, weights_to_remove)")
    compute_count(amount, 0)  # type and [0, 1] range check of the fraction
    structured_fraction = check_float("structured_fraction", structured_fraction, minimum=0.0, maximum=1.0)
    return float(amount) * structured_fraction, float(amount), True


# ---------------------------------------------------------------------- the two stages
def _ranked_keep(scores, keeps, counts) -> list:
    """New keep arrays after dropping the lowest raw scores among what is kept.

    ``counts`` is one int (one ranking over all arrays together, ties to the earlier array)
    or one int per array. Scores are ranked as they are (higher = keep), not by absolute value.
    """
    if isinstance(counts, numbers.Integral):
        flat = prune_lowest(np.concatenate([np.ravel(s) for s in scores]),
                            np.concatenate([np.ravel(k) for k in keeps]), counts)
        out, start = [], 0
        for k in keeps:
            out.append(flat[start:start + k.size].reshape(k.shape))
            start += k.size
        return out
    return [prune_lowest(np.ravel(s), np.ravel(k), c).reshape(k.shape) for s, k, c in zip(scores, keeps, counts)]


def _prune_weight_counts(model, scores, counts) -> None:
    """Unstructured stage: ``counts`` is one int (a global ranking) or one int per layer."""
    keeps = [_weight_mask(model, layer) != 0 for layer in range(model.n_layers)]
    for layer, keep in enumerate(_ranked_keep(scores, keeps, counts)):
        if model.masks[layer]["W"] is None and keep.all():
            continue  # nothing pruned in a dense layer: keep it mask-free (training skips its mask)
        model.set_mask(layer, keep.astype(model.dtype))


def _normalised(scores, alive) -> list:
    """Divide each layer's neuron scores by their mean over alive neurons (for a global ranking)."""
    out = []
    for s, a in zip(scores, alive):
        s = np.asarray(s, dtype=np.float64)
        mean = float(np.mean(s[a])) if a.any() else 0.0
        out.append(s / mean if mean > 0 and np.isfinite(mean) else s)
    return out


def _prune_neuron_counts(model, scores, counts) -> None:
    """Structured stage: ``counts`` is one int (a global ranking) or one int per hidden layer."""
    alive = neuron_masks(model)
    if isinstance(counts, numbers.Integral):
        scores = _normalised(scores, alive)
    for layer, keep in enumerate(_ranked_keep(scores, alive, counts)):
        if not np.array_equal(keep, alive[layer]):
            set_neuron_mask(model, layer, keep)


# ---------------------------------------------------------------------- public API
def prune_model(model, amount, criterion="magnitude", granularity="unstructured", scope="global", X=None, y=None,
                seed=0, n=2, structured_fraction=0.5, batch_size=64, n_batches=None, scores=None):
    """Prune ``amount`` of what is still unpruned, on top of the model's existing masks.

    Parameters
    ----------
    model : MLP
        Modified in place (masks set, pruned weights zeroed) and returned.
    amount : int, float, pair or None
        PyTorch's meaning: an int is a count, a float in [0, 1] a fraction of what is still
        unpruned -- weights for "unstructured", hidden neurons for "structured".
        For "hybrid": a pair ``(neuron_amount, weight_amount)`` prunes ``neuron_amount`` of
        the alive hidden neurons, then ``weight_amount`` of the weights left; a single float
        ``a`` removes ``structured_fraction * a`` of the alive neurons and then exactly enough
        single weights that ``a`` of the weights unpruned before the call are gone in total
        (if the neurons alone removed more, nothing more is pruned). So hybrid and
        unstructured pruning with the same ``a`` reach the same weight sparsity.
        ``None`` when ``scope`` is a list.
    criterion : {"magnitude", "gradient", "taylor", "activation", "apoz", "random"}
        "activation" and "apoz" rank neurons only; "gradient", "taylor" need ``X`` and ``y``;
        "activation", "apoz" need ``X``. In "hybrid" with "activation" or "apoz", the
        weight stage ranks by magnitude.
    granularity : {"unstructured", "structured", "hybrid"}
    scope : "global", "layer", or a list of per-layer amounts (one per dense layer for
        "unstructured", one per hidden layer for "structured"; not for "hybrid").
    X : ndarray of shape (n_samples, n_features), optional
    y : ndarray of shape (n_samples,), optional
    seed : int, for criterion="random"
    n : norm order for neuron scores (2 = L2 norm of incoming weights)
    structured_fraction : float in [0, 1], hybrid with a single amount only
    batch_size, n_batches : for the gradient-based criteria
    scores : list of ndarrays, optional
        Your own importance scores (higher = keep), used instead of ``criterion``: one array
        shaped like ``W[l]`` per dense layer ("unstructured") or one (hidden_l,) array per
        hidden layer ("structured"). Not for "hybrid" (two stages need two kinds of scores).

    Returns
    -------
    model : the same MLP. If an argument is rejected, the model is left as it was.

    Examples
    --------
    >>> from adaprune_edu.nn import MLP
    >>> model = prune_model(MLP([4, 8, 3]), 0.5)
    >>> global_sparsity(model)
    0.5
    """
    check_choice("granularity", granularity, GRANULARITIES)
    _check_criterion(criterion, granularity)
    _check_data(criterion, X, y)
    n_hidden = model.n_layers - 1
    if granularity != "unstructured" and n_hidden == 0:
        raise ValueError(f"granularity={granularity!r} removes hidden neurons, but this model has no hidden layer")
    if granularity == "hybrid":
        if not isinstance(scope, str):
            raise ValueError("granularity='hybrid' takes scope='global' or 'layer', not a list; "
                             "call prune_model twice (structured, then unstructured) for per-layer amounts")
        check_choice("scope", scope, {"global", "layer"})
        if scores is not None:
            raise ValueError("scores cannot be used with granularity='hybrid' (two stages need two kinds of "
                             "scores); call prune_model twice: structured, then unstructured")
        neuron_amount, weight_amount, relative = _split_hybrid(amount, structured_fraction)
        options = dict(X=X, y=y, seed=seed, n=n, batch_size=batch_size, n_batches=n_batches)
        return _all_or_nothing(model, _prune_hybrid, neuron_amount, weight_amount, relative, criterion, scope,
                               options)
    n_groups = model.n_layers if granularity == "unstructured" else n_hidden
    what = "dense layer" if granularity == "unstructured" else "hidden layer"
    scope = _check_scope(scope, n_groups, what)
    if granularity == "unstructured":
        remaining = _unpruned_counts(model)
    else:
        remaining = [int(np.sum(a)) for a in neuron_masks(model)]
    if isinstance(scope, list):
        if amount is not None:
            raise ValueError(f"amount={amount!r} given together with a per-layer scope list; pass amount=None")
        counts = [compute_count(a, r, name=f"scope[{i}]") for i, (a, r) in enumerate(zip(scope, remaining))]
    elif amount is None:
        raise ValueError("amount=None is only allowed when scope is a list of per-layer amounts")
    elif scope == "global":
        counts = compute_count(amount, sum(remaining))
    else:
        counts = [compute_count(amount, r) for r in remaining]
    options = dict(X=X, y=y, seed=seed, batch_size=batch_size, n_batches=n_batches)
    if scores is not None:
        scores = _check_given_scores(model, scores, granularity)
    elif granularity == "unstructured":
        scores = weight_scores(model, criterion, **options)
    else:
        scores = neuron_scores(model, criterion, n=n, **options)
    if granularity == "unstructured":
        _prune_weight_counts(model, scores, counts)
    else:
        _prune_neuron_counts(model, scores, counts)
    return model


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


def _all_or_nothing(model, function, *args):
    """Run ``function(model, *args)``; if it raises, restore the model's parameters and masks first."""
    state = model.get_state()
    try:
        return function(model, *args)
    except Exception:
        model.set_state(state)
        raise


def _unpruned_counts(model) -> list:
    return [int(np.sum(_weight_mask(model, layer) != 0)) for layer in range(model.n_layers)]


def _prune_hybrid(model, neuron_amount, weight_amount, relative, criterion, scope, options):
    """Structured stage, then an unstructured stage on what remains (see :func:`prune_model`)."""
    before = _unpruned_counts(model)
    if relative:  # validate the weight amount against what is there before anything changes
        compute_count(weight_amount, sum(before))
    structured_criterion = criterion
    unstructured_criterion = "magnitude" if criterion in _NEURON_ONLY else criterion
    prune_model(model, neuron_amount, criterion=structured_criterion, granularity="structured", scope=scope,
                **options)
    if not relative:
        return prune_model(model, weight_amount, criterion=unstructured_criterion, granularity="unstructured",
                           scope=scope, **options)
    after = _unpruned_counts(model)
    if scope == "global":
        wanted = compute_count(weight_amount, sum(before))
        extra = max(0, wanted - (sum(before) - sum(after)))
        return prune_model(model, extra, criterion=unstructured_criterion, granularity="unstructured",
                           scope="global", **options)
    extra = [max(0, compute_count(weight_amount, b) - (b - a)) for b, a in zip(before, after)]
    return prune_model(model, None, criterion=unstructured_criterion, granularity="unstructured", scope=extra,
                       **options)


def _check_target(target, name="target") -> float:
    if isinstance(target, (bool, np.bool_)) or not isinstance(target, numbers.Real):
        raise TypeError(f"{name}={target!r} must be a float in [0, 1] (a sparsity)")
    if not 0.0 <= float(target) <= 1.0:
        raise ValueError(f"{name}={target!r} must be a sparsity in [0, 1]")
    return float(target)


def prune_to_sparsity(model, target, criterion="magnitude", granularity="unstructured", scope="global", X=None,
                      y=None, seed=0, n=2, structured_fraction=0.5, batch_size=64, n_batches=None, scores=None):
    """Prune until an absolute sparsity is reached, whatever was pruned before.

    Parameters
    ----------
    model : MLP, modified in place and returned
    target : float in [0, 1]
        "unstructured": fraction of all ``W`` entries pruned (``round(target * total)``
        entries); "structured": fraction of hidden neurons removed; "hybrid": fraction of
        ``W`` entries pruned, of which up to ``structured_fraction * target`` of the hidden
        neurons are removed first. Already at or past the target: nothing changes (pruning
        never un-prunes).
    scope : "global" (``target`` over the whole network), "layer" (``target`` in every
        layer), or a list of per-layer targets (not for "hybrid").
    criterion, X, y, seed, n, batch_size, n_batches, scores : as in :func:`prune_model`

    Returns
    -------
    model : the same MLP. If an argument is rejected, the model is left as it was.
    """
    check_choice("granularity", granularity, GRANULARITIES)
    common = dict(criterion=criterion, X=X, y=y, seed=seed, n=n, batch_size=batch_size, n_batches=n_batches)
    if granularity == "hybrid" and scores is not None:
        raise ValueError("scores cannot be used with granularity='hybrid'; call prune_to_sparsity twice")
    if granularity != "hybrid":
        common["scores"] = scores
    if granularity == "hybrid":
        target = _check_target(target)
        if not isinstance(scope, str):
            raise ValueError("granularity='hybrid' takes scope='global' or 'layer', not a list")
        structured_fraction = check_float("structured_fraction", structured_fraction, minimum=0.0, maximum=1.0)
        _check_criterion(criterion, "hybrid")
        _check_data(criterion, X, y)
        weight_options = dict(common, criterion="magnitude" if criterion in _NEURON_ONLY else criterion)

        def both_stages(model):
            prune_to_sparsity(model, structured_fraction * target, granularity="structured", scope=scope, **common)
            return prune_to_sparsity(model, target, granularity="unstructured", scope=scope, **weight_options)

        return _all_or_nothing(model, both_stages)

    if granularity == "unstructured":
        sizes = [p["W"].size for p in model.params]
        pruned = [size - kept for size, kept in zip(sizes, _unpruned_counts(model))]
        what = "dense layer"
    else:
        alive = neuron_masks(model) if model.n_layers > 1 else []
        sizes = [a.size for a in alive]
        pruned = [int(np.sum(~a)) for a in alive]
        what = "hidden layer"
    scope = _check_scope(scope, len(sizes), what)
    if isinstance(scope, list):
        targets = [_check_target(t, name=f"scope[{i}]") for i, t in enumerate(scope)]
    else:
        target = _check_target(target)
        targets = [target] * len(sizes)
    if scope == "global":
        count = max(0, int(round(target * sum(sizes))) - sum(pruned))
        return prune_model(model, count, granularity=granularity, scope="global", **common)
    counts = [max(0, int(round(t * size)) - done) for t, size, done in zip(targets, sizes, pruned)]
    return prune_model(model, None, granularity=granularity, scope=counts, **common)
