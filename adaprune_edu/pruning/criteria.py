"""Importance scores: which weights or neurons matter least?

Every criterion is a small function that returns scores (higher = more important);
the functions in :mod:`.masks` and :mod:`.model` turn scores into masks.

Weight-level scores (one array per layer, shaped like ``W``):

- :func:`magnitude` -- ``|w|`` (Han et al. 2015). Cheap, data-free, a strong baseline.
- :func:`accumulated_gradient` -- ``|dL/dw|`` averaged over several batches.
- :func:`taylor` -- ``|w * dL/dw|`` averaged over several batches: the first-order
  Taylor estimate of how much the loss changes when ``w`` is set to zero
  (Molchanov et al. 2017, "Pruning Convolutional Neural Networks for Resource Efficient
  Inference"; Molchanov et al. 2019, "Importance Estimation for Neural Network Pruning").

Why raw ``|dL/dw|`` at one step is a weak criterion: a trained network sits near a
minimum, where the gradient of *every* weight, important or not, is close to zero; what
is left is mini-batch noise, which changes sign and size from one batch to the next. A
large weight with a tiny gradient would be pruned although removing it changes the loss a
lot. Averaging ``|g|`` over batches removes some noise; multiplying by ``w`` (Taylor)
measures the effect of *removing* the weight rather than of nudging it, which is why
Molchanov et al. use ``w * g`` (or its square), accumulated over many batches.

Neuron-level scores (one array per hidden layer, shape (hidden_l,)):

- :func:`neuron_norms` -- L``n`` norm of a neuron's incoming weights (Li et al. 2017 for filters).
- :func:`taylor_neurons` -- Molchanov et al. (2017)'s neuron criterion ``|mean(a * dL/da)|``:
  the first-order change in loss when the neuron's output is set to zero.
- :func:`mean_activation` -- mean ``|a|`` over a batch: a neuron that rarely fires
  contributes little downstream.
- :func:`apoz` -- Average Percentage of Zeros after ReLU (Hu et al. 2016, "Network
  Trimming"); a *high* APoZ means an unimportant neuron, so as a score use ``1 - apoz``.

And :func:`random_scores`, the baseline every honest comparison needs; and
:func:`combine`, a weighted mix of criteria put on the same scale.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_features, check_int, check_labels
from .masks import _check_weight, _rng, slice_norms

__all__ = ["magnitude", "neuron_norms", "accumulated_gradient", "taylor", "taylor_neurons", "mean_activation", "apoz",
           "random_scores", "combine"]


def magnitude(W) -> np.ndarray:
    """Absolute values ``|W|``, same shape as ``W``."""
    return np.abs(_check_weight(W))


def neuron_norms(W, n=2) -> np.ndarray:
    """L``n`` norm of each output neuron's incoming weights.

    Parameters
    ----------
    W : ndarray of shape (n_in, n_out)
    n : float > 0, inf, -inf or "fro"

    Returns
    -------
    norms : ndarray of shape (n_out,), float64

    Examples
    --------
    >>> neuron_norms(np.array([[3.0, 0.0], [4.0, 1.0]]))
    array([5., 1.])
    """
    W = _check_weight(W)
    if W.ndim != 2:
        raise ValueError(f"W must be 2-D (n_in, n_out), got shape {W.shape}")
    return slice_norms(W, n, dim=1)


def _batches(model, X, y, batch_size, n_batches):
    """Checked ``(X_batch, y_batch)`` pairs in order (no shuffling: the scores are deterministic)."""
    X = check_features("X", X, model.n_features).astype(model.dtype, copy=False)
    y = check_labels("y", y, X.shape[0], model.n_classes)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    total = -(-X.shape[0] // batch_size)
    if n_batches is not None:
        n_batches = check_int("n_batches", n_batches, minimum=1)
        total = min(total, n_batches)
    for i in range(total):
        yield X[i * batch_size:(i + 1) * batch_size], y[i * batch_size:(i + 1) * batch_size]


def _mean_over_batches(model, X, y, batch_size, n_batches, per_batch) -> list:
    """Average ``per_batch(grads)`` (a list of per-layer arrays) over the mini-batches of ``(X, y)``.

    ``per_batch`` receives the gradients of one batch (shaped like ``model.params``) and
    returns that batch's scores; taking absolute values inside ``per_batch`` keeps batches
    whose gradients point in opposite directions from cancelling.
    """
    sums, count = None, 0
    for Xb, yb in _batches(model, X, y, batch_size, n_batches):
        _, grads = model.loss(Xb, yb)
        scores = per_batch(grads)
        sums = scores if sums is None else [total + score for total, score in zip(sums, scores)]
        count += 1
    return [total / count for total in sums]


def accumulated_gradient(model, X, y, batch_size=64, n_batches=None) -> list:
    """Mean over mini-batches of ``|dL/dW|``, one array per layer.

    Parameters
    ----------
    model : MLP
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    batch_size : int >= 1
    n_batches : int >= 1, optional
        Use only the first ``n_batches`` batches (default: all of ``X``).

    Returns
    -------
    scores : list of ndarrays, ``scores[l]`` of shape (n_in_l, n_out_l); zero where masked.
    """
    return _mean_over_batches(model, X, y, batch_size, n_batches,
                              lambda grads: [np.abs(g["W"]).astype(np.float64) for g in grads])


def taylor(model, X, y, batch_size=64, n_batches=None) -> list:
    """First-order Taylor importance ``|w * dL/dw|``, averaged over mini-batches, per layer.

    ``w * g`` estimates the change in loss when ``w`` is set to zero (a first-order
    expansion of ``L(w - w)`` around ``w``). The absolute value is taken per batch, before
    averaging, so that batches whose gradients point in opposite directions do not cancel.

    Parameters
    ----------
    model : MLP
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    batch_size : int >= 1
    n_batches : int >= 1, optional

    Returns
    -------
    scores : list of ndarrays, ``scores[l]`` of shape (n_in_l, n_out_l); zero where masked.
    """
    return _mean_over_batches(model, X, y, batch_size, n_batches, lambda grads: [
        np.abs(p["W"].astype(np.float64) * g["W"]) for p, g in zip(model.params, grads)])


def taylor_neurons(model, X, y, batch_size=64, n_batches=None) -> list:
    """Molchanov et al. (2017)'s Taylor criterion for whole neurons, averaged over mini-batches.

    For neuron ``j`` of hidden layer ``l`` and one batch, ``|mean over samples of a_j * dL/da_j|``:
    the first-order change in loss if the neuron's output were zero. It needs no hidden
    gradients: for ReLU, ``a * dL/da = z * dL/dz`` (both vanish where ``z <= 0``), and
    ``sum over samples of z_j * dL/dz_j`` is exactly ``sum_i W[i, j] dL/dW[i, j] + b[j] dL/db[j]``,
    which :meth:`MLP.loss` gives us. (For tanh or sigmoid this is the pre-activation
    version ``|mean(z * dL/dz)|``.)

    Parameters
    ----------
    model : MLP
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    batch_size : int >= 1
    n_batches : int >= 1, optional

    Returns
    -------
    scores : list of ndarrays, ``scores[l]`` of shape (hidden_l,), float64
    """
    def per_neuron(grads):
        scores = []
        for layer in range(model.n_layers - 1):
            W, b = model.params[layer]["W"].astype(np.float64), model.params[layer]["b"].astype(np.float64)
            scores.append(np.abs((W * grads[layer]["W"]).sum(axis=0) + b * grads[layer]["b"]))
        return scores

    return _mean_over_batches(model, X, y, batch_size, n_batches, per_neuron)


def combine(*score_lists, weights=None) -> list:
    """A weighted sum of several criteria, each first divided by its mean (per array).

    Scores from different criteria live on different scales (|w| ~ 0.1, APoZ in [0, 1],
    gradients ~ 1e-3); dividing every array by its mean puts them on a common scale
    before mixing.

    Parameters
    ----------
    *score_lists : lists of ndarrays with matching shapes, e.g. ``taylor(...)`` and ``magnitude``
        per layer, or :func:`mean_activation` and :func:`taylor_neurons` per hidden layer.
        Scores must be >= 0.
    weights : sequence of float >= 0, one per list, optional (default: equal weights)

    Returns
    -------
    scores : list of ndarrays

    Examples
    --------
    Means 2 and 5: ``([0.5, 1.5] + [2, 0]) / 2``

    >>> combine([np.array([1.0, 3.0])], [np.array([10.0, 0.0])])
    [array([1.25, 0.75])]
    """
    if not score_lists:
        raise ValueError("combine needs at least one list of scores")
    lengths = {len(scores) for scores in score_lists}
    if len(lengths) != 1:
        raise ValueError(f"every list of scores must have the same length (one array per layer); got lengths "
                         f"{[len(scores) for scores in score_lists]}")
    if weights is None:
        weights = [1.0] * len(score_lists)
    weights = [float(w) for w in weights]
    if len(weights) != len(score_lists) or any(not np.isfinite(w) or w < 0 for w in weights):
        raise ValueError(f"weights={weights!r} must hold one finite number >= 0 per list of scores "
                         f"({len(score_lists)})")
    total = sum(weights) or 1.0
    combined = []
    for arrays in zip(*score_lists):
        arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
        if len({a.shape for a in arrays}) != 1:
            raise ValueError(f"scores to combine must have matching shapes; got {[a.shape for a in arrays]}")
        if any(np.any(a < 0) or np.isnan(a).any() for a in arrays):
            raise ValueError("scores to combine must be >= 0 and not NaN (use |score| for signed criteria)")
        mix = np.zeros_like(arrays[0])
        for w, a in zip(weights, arrays):
            mean = a.mean()
            mix += w * (a / mean if mean > 0 else a)
        combined.append(mix / total)
    return combined


def _hidden(model, X, batch_size: int = 1024):
    """Hidden activations per hidden layer over all of ``X`` (computed in chunks)."""
    X = check_features("X", X, model.n_features)
    chunks = [model.forward(X[i:i + batch_size], return_hidden=True)[1] for i in range(0, X.shape[0], batch_size)]
    return [np.concatenate([c[layer] for c in chunks]) for layer in range(model.n_layers - 1)]


def mean_activation(model, X) -> list:
    """Mean ``|activation|`` of every hidden neuron over the samples of ``X``.

    Parameters
    ----------
    model : MLP
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    scores : list of ndarrays, ``scores[l]`` of shape (hidden_l,), float64
    """
    return [np.abs(A).astype(np.float64).mean(axis=0) for A in _hidden(model, X)]


def apoz(model, X) -> list:
    """Average Percentage of Zeros: the fraction of samples on which each ReLU neuron outputs 0.

    Hu et al. (2016) prune neurons with a *high* APoZ: they are silent on most inputs.
    Use ``1 - apoz`` as an importance score. Defined for ReLU networks only.

    A caveat worth testing yourself: with many classes, a neuron that detects one class is
    silent on most inputs *by design* (on digits, about 9 in 10), so a high APoZ does not
    always mean "useless". Compare against :func:`random_scores` before trusting it.

    Parameters
    ----------
    model : MLP with ``activation="relu"``
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    apoz : list of ndarrays, ``apoz[l]`` of shape (hidden_l,), values in [0, 1]
    """
    if model.activation != "relu":
        raise ValueError(f"APoZ counts exact zeros after ReLU; this model uses activation={model.activation!r}. "
                         "Allowed: a model with activation='relu' (or use mean_activation)")
    return [(A == 0).mean(axis=0) for A in _hidden(model, X)]


def random_scores(shape, seed=0) -> np.ndarray:
    """Uniform random scores in [0, 1) of ``shape``, from ``numpy.random.default_rng(seed)``."""
    return _rng(seed).random(shape)
