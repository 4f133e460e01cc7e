"""What the explorer computes, without any widget: settings in, pruned model and numbers out.

:class:`~adaprune_edu.widgets.explorer.PruningExplorer` turns its controls into a
:class:`Settings` and calls the functions here; they call the pruning library
(:func:`adaprune_edu.pruning.prune_to_sparsity`) and the metrics, and re-implement neither.

A magnitude *threshold* is a sparsity in disguise: pruning every weight with ``|w| < t`` is
the same as pruning the ``k`` smallest ``|w|``, where ``k`` counts the weights below ``t``.
:func:`threshold_settings` makes that conversion, so a threshold slider and a sparsity slider
end up in the same library call.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..metrics import (
    bytes_csr,
    bytes_dense,
    count_nonzeros,
    count_params,
    flops_per_sample,
    macs_per_sample,
    measure_latency,
)
from ..pruning.model import (
    global_sparsity,
    neuron_scores,
    neuron_sparsity,
    prune_to_sparsity,
    weight_scores,
)
from ..pruning.report import unit_sizes
from ..pruning.surgery import shrink

SCOPES = ("global", "layer", "per-layer")
#: sparsities at which the accuracy curve is measured
CURVE_TARGETS = (0.0, 0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98)


@dataclass(frozen=True)
class Settings:
    """One position of the controls: what to prune, how, and how much.

    ``scope="per-layer"`` uses ``layer_targets`` (one per dense layer for unstructured, one
    per hidden layer for structured); otherwise ``target`` applies globally ("global": one
    ranking over all layers) or in every layer ("layer").
    """

    criterion: str = "magnitude"
    granularity: str = "unstructured"
    scope: str = "global"
    target: float = 0.5
    layer_targets: tuple = ()


#: batch size for data-driven scores: the library's default, so the explorer scores as notebooks 03 and 06 do
SCORE_BATCH_SIZE = 64


def dense_scores(model, settings: Settings, X_score, y_score, batch_size: int = SCORE_BATCH_SIZE, n: int = 2,
                 seed: int = 0):
    """Importance scores of the dense ``model`` for ``settings``' criterion, or ``None`` for hybrid.

    One array per dense layer (unstructured) or per hidden layer (structured), exactly what
    :func:`~adaprune_edu.pruning.prune_to_sparsity` would compute itself from the dense
    model, so they can be computed once and reused for every target.

    Parameters
    ----------
    model : MLP, dense (no masks)
    settings : Settings, only ``criterion`` and ``granularity`` are read
    X_score : ndarray of shape (n_samples, n_features), the samples data-driven criteria are scored on
    y_score : ndarray of shape (n_samples,)
    batch_size : int, scores are averaged over batches of this size (per-batch ``|w*g|`` first, as the
        library does by default: one big batch lets gradients of opposite sign cancel, and Taylor
        and gradient scores get much worse)
    n : int, structured: the norm of a unit's incoming weights ("magnitude": 2 = L2, 1 = Li et al.'s L1 filter norm)
    seed : int, for the "random" criterion

    Returns
    -------
    list of ndarray or None
        Unstructured: ``scores[l]`` of shape (n_in_l, n_out_l), like ``W[l]``. Structured:
        ``scores[l]`` of shape (n_hidden_l,), one per neuron of hidden layer ``l``.
    """
    options = dict(X=X_score, y=y_score, batch_size=batch_size, n_batches=None, seed=seed)
    if settings.granularity == "unstructured":
        return weight_scores(model, settings.criterion, **options)
    if settings.granularity == "structured":
        return neuron_scores(model, settings.criterion, n=n, **options)
    return None


def prune_copy(model, dense_state, settings: Settings, X_score, y_score, scores=None,
               batch_size: int = SCORE_BATCH_SIZE):
    """Reset ``model`` to ``dense_state`` and prune it as ``settings`` say; return it.

    The one place the explorer calls the pruning library. ``X_score``, ``y_score`` are the
    samples that data-driven criteria (gradient, Taylor, activation, APoZ) are scored on, in
    batches of ``batch_size``; ``scores`` are precomputed :func:`dense_scores` (``None``:
    computed by the library).
    """
    if settings.scope == "per-layer" and settings.granularity == "hybrid":
        raise ValueError("granularity='hybrid' prunes to one target (neurons first, then weights); per-layer "
                         "sliders work with 'unstructured' and 'structured'. Pick another scope or granularity.")
    model.set_state(dense_state)
    if settings.scope == "per-layer":
        scope, target = list(settings.layer_targets), None
    else:
        scope, target = settings.scope, settings.target
    return prune_to_sparsity(model, target, criterion=settings.criterion, granularity=settings.granularity,
                             scope=scope, X=X_score, y=y_score, batch_size=batch_size, n_batches=None,
                             scores=scores)


def achieved_sparsity(model, granularity: str) -> float:
    """What the slider controls: fraction of hidden neurons removed (structured) or of weights pruned."""
    return neuron_sparsity(model) if granularity == "structured" else global_sparsity(model)


def model_numbers(model, X, y, latency_repeats: int = 5) -> dict:
    """Accuracy and costs of ``model`` on ``(X, y)``, plus the same after structured surgery.

    Parameters
    ----------
    model : MLP or Sequential (a CNN), possibly masked
    X : ndarray of shape (n_samples, n_features), or images (n_samples, H, W, C)
    y : ndarray of shape (n_samples,)
    latency_repeats : int, timed runs per latency (the median is kept)

    Returns
    -------
    dict
        accuracy, sparsity (fraction of W entries zero), neuron_sparsity, params, nonzeros,
        bytes_dense, bytes_csr, macs / flops_dense / flops_nonzero (per sample), latency (median
        seconds to predict all of ``X``; varies from run to run), and shrunk_layer_sizes (for a
        CNN: input channels, each convolution's channels, outputs), shrunk_params, shrunk_macs,
        shrunk_flops, shrunk_latency for the network after surgery. Every cost from :mod:`adaprune_edu.costs`.
    """
    small = shrink(model)
    return {
        "accuracy": model.score(X, y),
        "sparsity": global_sparsity(model),
        "neuron_sparsity": neuron_sparsity(model),
        "params": count_params(model),
        "nonzeros": count_nonzeros(model),
        "bytes_dense": bytes_dense(model),
        "bytes_csr": bytes_csr(model),
        "macs": macs_per_sample(model, X=X),
        "flops_dense": flops_per_sample(model, X=X),
        "flops_nonzero": flops_per_sample(model, sparse=True, X=X),
        "latency": measure_latency(model.predict, X, repeats=latency_repeats, warmup=1),
        "shrunk_layer_sizes": unit_sizes(small),
        "shrunk_params": count_params(small),
        "shrunk_macs": macs_per_sample(small, X=X),
        "shrunk_flops": flops_per_sample(small, X=X),
        "shrunk_latency": measure_latency(small.predict, X, repeats=latency_repeats, warmup=1),
    }


def split_data(data):
    """``(X_train, y_train, X_val, y_val)`` from a Dataset or a 4-tuple."""
    if hasattr(data, "X_train") and hasattr(data, "X_val"):
        return data.X_train, data.y_train, data.X_val, data.y_val
    if isinstance(data, (tuple, list)) and len(data) == 4:
        return tuple(data)
    raise TypeError(f"data={type(data).__name__} must be a Dataset (from load_dataset) or a tuple "
                    "(X_train, y_train, X_val, y_val)")


#: how the amount to prune is set: a sparsity, or a cut on |w|
CUT_MODES = ("sparsity", "threshold")
#: the largest sparsity a slider may ask for (pruning every weight leaves no network to look at)
MAX_SPARSITY = 0.99


def threshold_range(dense_weights) -> tuple:
    """Slider ranges for a |w| threshold: ``(global maximum, [maximum per layer])``.

    Each maximum is the ``MAX_SPARSITY`` quantile of ``|w|`` (over all layers, or in one layer),
    so the highest threshold prunes about as much as the highest sparsity does.

    Parameters
    ----------
    dense_weights : list of ndarrays, ``dense_weights[l]`` of shape (n_in_l, n_out_l)
    """
    magnitudes = [np.abs(np.asarray(W, dtype=np.float64)).ravel() for W in dense_weights]
    per_layer = [float(np.quantile(m, MAX_SPARSITY)) for m in magnitudes]
    return float(np.quantile(np.concatenate(magnitudes), MAX_SPARSITY)), per_layer


def threshold_settings(dense_weights, thresholds) -> Settings:
    """The magnitude :class:`Settings` that prune exactly the weights with ``|w| < threshold``.

    Parameters
    ----------
    dense_weights : list of ndarrays, ``dense_weights[l]`` of shape (n_in_l, n_out_l)
        The weights before pruning.
    thresholds : float, or sequence of float (one per layer), each >= 0
        One threshold for the whole network, or one per dense layer.

    Returns
    -------
    Settings
        ``criterion="magnitude"``, ``granularity="unstructured"``; scope "global" with
        ``target = k / n`` (``k`` weights below the threshold out of ``n``) for one threshold,
        scope "per-layer" with ``k_l / n_l`` per layer otherwise. The library prunes the
        ``round(target * n) = k`` smallest ``|w|``: exactly those below the threshold.
    """
    magnitudes = [np.abs(np.asarray(W, dtype=np.float64)) for W in dense_weights]
    if np.ndim(thresholds) == 0:
        t = float(thresholds)
        if not t >= 0:  # also NaN
            raise ValueError(f"threshold={thresholds!r} must be a number >= 0 (a cut on |w|)")
        below = sum(int(np.sum(m < t)) for m in magnitudes)
        return Settings("magnitude", "unstructured", "global", below / sum(m.size for m in magnitudes))
    thresholds = [float(t) for t in thresholds]
    if len(thresholds) != len(magnitudes):
        raise ValueError(f"thresholds has {len(thresholds)} values; the network has {len(magnitudes)} dense layers, "
                         "one threshold each")
    for i, t in enumerate(thresholds):
        if not t >= 0:
            raise ValueError(f"thresholds[{i}]={t!r} must be a number >= 0 (a cut on |w|)")
    targets = tuple(int(np.sum(m < t)) / m.size for m, t in zip(magnitudes, thresholds))
    return Settings("magnitude", "unstructured", "per-layer", 0.0, targets)
