"""Pruning a whole network (an MLP or a CNN): scores -> masks -> ``model.set_mask``.

Two entry points, both adding to the masks a model already has (pruned stays pruned):

- :func:`prune_model` -- prune ``amount`` of what is still unpruned (PyTorch's meaning of
  ``amount``: 0.2 twice leaves 64%);
- :func:`prune_to_sparsity` -- reach an absolute sparsity ``target``, whatever was pruned
  before (it never un-prunes: a target below the current sparsity changes nothing).

Granularity
    ``"unstructured"``: individual weights of every Dense and Conv2D layer, output layer
    included (biases and BatchNorm parameters are never pruned individually).
    ``"structured"``: whole groups (:mod:`.groups`): hidden neurons and convolution channels.
    Removing neuron ``j`` of hidden layer ``l`` masks column ``j`` of ``W[l]``, ``b[l][j]``
    and row ``j`` of ``W[l+1]``; removing a channel masks its filter, bias, BatchNorm entries
    and every weight that reads it (channels tied by a residual add go together). The network
    then behaves exactly as if the unit were gone, and :mod:`.surgery` can cut it out.
    Input and output units are never removed. An MLP and a CNN take the same path: the groups
    are derived from the layers, and every step below works on "layers of groups".
    ``"hybrid"``: structured first, then unstructured within what remains.

Scope
    ``"global"``: one ranking across all layers. Weights are ranked on raw scores (as
    PyTorch's ``global_unstructured``). Neuron scores are divided by their layer's mean
    over still-alive neurons first: raw norms grow with fan-in (a 256-input neuron's L2
    norm is ~2x a 64-input one's) and activations differ in scale per layer, so without
    the normalisation a global ranking would empty whichever layer has the smallest
    numbers. (Molchanov et al. 2017 normalise per layer by the L2 norm; the mean does not
    depend on layer width.) A layer whose mean score is not positive is left as it is.
    A global neuron ranking can **empty a whole hidden layer**: ``amount`` is an exact
    count (as in PyTorch, whose ``global_unstructured`` can empty a tensor too), and nothing
    reserves a neuron per layer. On a digits ``[64, 256, 128, 10]`` network, 90% global
    magnitude pruning left ``[37, 1]`` neurons and 95% left ``[19, 0]``. An empty layer cuts
    the input off: every sample gets the same output (``b`` of the last layer), and
    :func:`.surgery.shrink` turns the network into ``[64, 1, 1, 10]`` (the layers before the
    empty one feed nothing any more; one zero-weight placeholder neuron per layer). Use
    ``scope="layer"``, per-layer amounts or ``min_per_layer=1`` (or more) to keep every layer
    alive (the adaptive controller uses ``scope="layer"`` for neurons by default), and check
    :func:`neuron_masks`.
    ``"layer"``: the same fraction in every layer.
    A list: one amount (or target) per layer -- per Dense/Conv2D layer for unstructured,
    per layer of groups (hidden layer, convolution) for structured.

Criteria
    ``criterion`` names an entry of :data:`.registry.REGISTRY` ("magnitude", "gradient",
    "taylor", "activation", "apoz", "random", "taylor_activation", "bn_scale"); :mod:`.registry`
    turns it into scores, :mod:`.model_masks` reads and writes the masks. Both are re-exported here.

Scores are ranked as they are (higher = keep; the built-in ones are all >= 0); ties are
broken by position (stable sort): lowest layer, then lowest index, goes first. The
rankings are the same as :func:`.masks.global_unstructured` / :func:`.masks.l1_unstructured`
on the score arrays.
"""
from __future__ import annotations

import numbers

import numpy as np

from .._checks import check_choice, check_float, check_int
from .amount import compute_count
from .groups import layer_groups, remove_units
from .masks import prune_lowest
from .model_masks import (
    _weight_mask,
    global_sparsity,
    layer_sparsities,
    neuron_masks,
    neuron_sparsity,
    set_neuron_mask,
)
from .registry import (
    CRITERIA,
    GROUP_ONLY,
    _check_criterion,
    _check_data,
    _check_given_scores,
    group_scores,
    neuron_scores,
    weight_layers,
    weight_scores,
)

# The masks and scores helpers live in .model_masks and .registry; they are re-exported
# here so that ``from adaprune_edu.pruning.model import neuron_masks`` keeps working.
__all__ = [
    "CRITERIA", "GRANULARITIES", "prune_model", "prune_to_sparsity", "layer_sparsities", "global_sparsity",
    "neuron_masks", "neuron_sparsity", "set_neuron_mask", "weight_scores", "neuron_scores",
]

GRANULARITIES = ("unstructured", "structured", "hybrid")


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
    """Unstructured stage: ``counts`` is one int (a global ranking) or one int per weight layer."""
    layers = weight_layers(model)
    keeps = [_weight_mask(model, layer) != 0 for layer in layers]
    for layer, keep in zip(layers, _ranked_keep(scores, keeps, counts)):
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


def _protected(scores, alive, min_per_layer: int) -> list:
    """The ``min_per_layer`` best alive units of each layer (all of them if fewer are alive)."""
    out = []
    for s, a in zip(scores, alive):
        keep = np.zeros_like(a)
        candidates = np.flatnonzero(a)
        order = np.argsort(-np.asarray(s, dtype=np.float64)[candidates], kind="stable")
        keep[candidates[order[:min_per_layer]]] = True
        out.append(keep)
    return out


def _prune_neuron_counts(model, scores, counts, min_per_layer: int = 0) -> None:
    """Structured stage: ``counts`` is one int (a global ranking) or one int per layer of groups.

    The ``min_per_layer`` best units of each layer are not candidates, so no layer drops below it.
    """
    groups = layer_groups(model)
    alive = [a for a in neuron_masks(model)]
    if isinstance(counts, numbers.Integral):
        scores = _normalised(scores, alive)
    candidates = alive
    if min_per_layer:
        protected = _protected(scores, alive, min_per_layer)
        candidates = [a & ~p for a, p in zip(alive, protected)]
        wanted = [counts] if isinstance(counts, numbers.Integral) else counts
        available = [sum(int(c.sum()) for c in candidates)] if isinstance(counts, numbers.Integral) else \
            [int(c.sum()) for c in candidates]
        for want, have in zip(wanted, available):
            if want > have:
                raise ValueError(f"pruning removes {want} units where min_per_layer={min_per_layer} leaves only "
                                 f"{have} removable; ask for less or lower min_per_layer")
    for layer, keep in enumerate(_ranked_keep(scores, candidates, counts)):
        if min_per_layer:
            keep = keep | protected[layer]
        if not np.array_equal(keep, alive[layer]):
            remove_units(model, groups[layer], keep)


# ---------------------------------------------------------------------- public API
def prune_model(model, amount, criterion="magnitude", granularity="unstructured", scope="global", X=None, y=None,
                seed=0, n=2, structured_fraction=0.5, batch_size=64, n_batches=None, scores=None, min_per_layer=0):
    """Prune ``amount`` of what is still unpruned, on top of the model's existing masks.

    Parameters
    ----------
    model : MLP or Sequential (a CNN)
        Modified in place (masks set, pruned weights zeroed) and returned.
    amount : int, float, pair or None
        PyTorch's meaning: an int is a count, a float in [0, 1] a fraction of what is still
        unpruned -- weights for "unstructured", groups (hidden neurons, channels) for "structured".
        For "hybrid": a pair ``(neuron_amount, weight_amount)`` prunes ``neuron_amount`` of
        the alive hidden neurons, then ``weight_amount`` of the weights left; a single float
        ``a`` removes ``structured_fraction * a`` of the alive neurons and then exactly enough
        single weights that ``a`` of the weights unpruned before the call are gone in total
        (if the neurons alone removed more, nothing more is pruned). So hybrid and
        unstructured pruning with the same ``a`` reach the same weight sparsity.
        ``None`` when ``scope`` is a list.
    criterion : a name in :data:`.registry.REGISTRY`
        "magnitude", "gradient", "taylor", "activation", "apoz", "random", "taylor_activation",
        "bn_scale". The group-only ones (:data:`.registry.GROUP_ONLY`) rank whole groups; the
        data-driven ones need ``X`` (and ``y``). In "hybrid" with a group-only criterion the
        weight stage ranks by magnitude.
    granularity : {"unstructured", "structured", "hybrid"}
    scope : "global", "layer", or a list of per-layer amounts (one per Dense/Conv2D layer for
        "unstructured", one per layer of groups -- hidden layer -- for "structured"; not for "hybrid").
        A "global" structured ranking may remove every neuron of a layer (see the module
        docstring); "layer" never does unless ``amount`` is 1.0.
    X : ndarray of shape (n_samples, n_features), optional
    y : ndarray of shape (n_samples,), optional
    seed : int, for criterion="random"
    n : norm order for neuron scores (2 = L2 norm of incoming weights)
    structured_fraction : float in [0, 1], hybrid with a single amount only
    batch_size, n_batches : for the gradient-based criteria
    scores : list of ndarrays, optional
        Your own importance scores (higher = keep), used instead of ``criterion``: one array
        shaped like ``W`` per Dense/Conv2D layer ("unstructured") or one (size,) array per
        layer of groups ("structured"). Not for "hybrid" (two stages need two kinds of scores).
    min_per_layer : int >= 0, default 0
        Structured and hybrid: the ``min_per_layer`` best units of every layer are never removed,
        so a global ranking cannot empty a layer (a ``ValueError`` if ``amount`` asks for more
        than that leaves). Layers already narrower keep what they have.

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
    min_per_layer = check_int("min_per_layer", min_per_layer, minimum=0)
    groups = layer_groups(model)
    if granularity != "unstructured" and not groups:
        raise ValueError(f"granularity={granularity!r} removes hidden neurons or channels, but this model has no "
                         "hidden layer")
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
                               options, min_per_layer)
    n_groups = len(weight_layers(model)) if granularity == "unstructured" else len(groups)
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
        scores = group_scores(model, criterion, n=n, groups=groups, **options)
    if granularity == "unstructured":
        _prune_weight_counts(model, scores, counts)
    else:
        _prune_neuron_counts(model, scores, counts, min_per_layer)
    return model



def _all_or_nothing(model, function, *args):
    """Run ``function(model, *args)``; if it raises, restore the model's parameters and masks first."""
    state = model.get_state()
    try:
        return function(model, *args)
    except Exception:
        model.set_state(state)
        raise


def _unpruned_counts(model) -> list:
    return [int(np.sum(_weight_mask(model, layer) != 0)) for layer in weight_layers(model)]


def _prune_hybrid(model, neuron_amount, weight_amount, relative, criterion, scope, options, min_per_layer=0):
    """Structured stage, then an unstructured stage on what remains (see :func:`prune_model`)."""
    before = _unpruned_counts(model)
    if relative:  # validate the weight amount against what is there before anything changes
        compute_count(weight_amount, sum(before))
    structured_criterion = criterion
    unstructured_criterion = "magnitude" if criterion in GROUP_ONLY else criterion
    prune_model(model, neuron_amount, criterion=structured_criterion, granularity="structured", scope=scope,
                min_per_layer=min_per_layer, **options)
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
                      y=None, seed=0, n=2, structured_fraction=0.5, batch_size=64, n_batches=None, scores=None,
                      min_per_layer=0):
    """Prune until an absolute sparsity is reached, whatever was pruned before.

    Parameters
    ----------
    model : MLP or Sequential, modified in place and returned
    target : float in [0, 1]
        "unstructured": fraction of all ``W`` entries pruned (``round(target * total)``
        entries); "structured": fraction of groups (hidden neurons, channels) removed; "hybrid": fraction of
        ``W`` entries pruned, of which up to ``structured_fraction * target`` of the hidden
        neurons are removed first. Already at or past the target: nothing changes (pruning
        never un-prunes).
    scope : "global" (``target`` over the whole network), "layer" (``target`` in every
        layer), or a list of per-layer targets (not for "hybrid").
    criterion, X, y, seed, n, batch_size, n_batches, scores, min_per_layer : as in :func:`prune_model`

    Returns
    -------
    model : the same MLP. If an argument is rejected, the model is left as it was.
    """
    check_choice("granularity", granularity, GRANULARITIES)
    common = dict(criterion=criterion, X=X, y=y, seed=seed, n=n, batch_size=batch_size, n_batches=n_batches)
    structured_only = dict(min_per_layer=min_per_layer)
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
        weight_options = dict(common, criterion="magnitude" if criterion in GROUP_ONLY else criterion)

        def both_stages(model):
            prune_to_sparsity(model, structured_fraction * target, granularity="structured", scope=scope, **common,
                              **structured_only)
            return prune_to_sparsity(model, target, granularity="unstructured", scope=scope, **weight_options)

        return _all_or_nothing(model, both_stages)

    if granularity == "unstructured":
        sizes = [model.params[i]["W"].size for i in weight_layers(model)]
        pruned = [size - kept for size, kept in zip(sizes, _unpruned_counts(model))]
        what = "dense layer"
        structured_only = {}
    else:
        alive = neuron_masks(model)
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
        return prune_model(model, count, granularity=granularity, scope="global", **common, **structured_only)
    counts = [max(0, int(round(t * size)) - done) for t, size, done in zip(targets, sizes, pruned)]
    return prune_model(model, None, granularity=granularity, scope=counts, **common, **structured_only)
