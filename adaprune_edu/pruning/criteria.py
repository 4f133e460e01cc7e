"""Importance scores: which weights, neurons or channels matter least?

Every criterion is a small function that returns scores (higher = more important);
the functions in :mod:`.masks` and :mod:`.model` turn scores into masks, and :mod:`.registry`
gives each criterion its name (``criterion="taylor"``).

Weight-level scores (one array per layer, shaped like ``W``):

- :func:`magnitude` -- ``|w|`` (Han et al. 2015). Cheap, data-free, a strong baseline.
- :func:`accumulated_gradient` -- ``|dL/dw|`` averaged over several batches.
- :func:`taylor` -- ``|w * dL/dw|`` averaged over several batches: the first-order Taylor
  estimate of how much the loss changes when ``w`` is set to zero (the per-parameter form of
  Molchanov et al. 2019, "Importance Estimation for Neural Network Pruning", who use its square).

Why raw ``|dL/dw|`` at one step is a weak criterion: a trained network sits near a
minimum, where the gradient of *every* weight, important or not, is close to zero; what
is left is mini-batch noise, which changes sign and size from one batch to the next. A
large weight with a tiny gradient would be pruned although removing it changes the loss a
lot. Averaging ``|g|`` over batches removes some noise; multiplying by ``w`` (Taylor)
measures the effect of *removing* the weight rather than of nudging it.

Group-level scores (one ``(size,)`` array per :class:`.groups.LayerGroups`: a hidden layer's
neurons or a convolution's channels):

- :func:`group_taylor` -- Molchanov et al. (2019): ``(sum over the group's parameters of w * dL/dw)^2``,
  the squared first-order change in loss when the whole group is set to zero, averaged over batches.
- :func:`activation_taylor` -- Molchanov et al. (2017), "Pruning Convolutional Neural Networks for
  Resource Efficient Inference": per sample ``|mean over positions of a * dL/da|`` at the unit's
  activation, averaged over samples.
- :func:`unit_mean_activation` -- mean ``|a|``: a unit that rarely fires contributes little downstream.
- :func:`unit_apoz` -- Average Percentage of Zeros after ReLU (Hu et al. 2016, "Network Trimming");
  a *high* APoZ means an unimportant unit, so as a score use ``1 - apoz``.
- :func:`batchnorm_scale` -- ``|gamma|`` of the BatchNorm after a convolution (Liu et al. 2017,
  "Learning Efficient Convolutional Networks through Network Slimming"; train with
  :class:`.regularizers.BatchNormL1Penalty` first so that unneeded channels' ``gamma`` go to zero).
- The filter norms of Li et al. (2017, "Pruning Filters for Efficient ConvNets") are
  :func:`.masks.slice_norms` of each unit's incoming weights (``criterion="magnitude"``, ``n=1`` or 2).

MLP-only helpers kept for the notebooks: :func:`neuron_norms`, :func:`taylor_neurons`,
:func:`mean_activation`, :func:`apoz` (one array per hidden layer of an MLP).

And :func:`random_scores`, the baseline every honest comparison needs; and
:func:`combine`, a weighted mix of criteria put on the same scale.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from .._checks import check_features, check_int, check_labels
from .groups import unit_view
from .masks import _check_weight, _rng, slice_norms
from .probe import leaf_gradients, leaf_outputs

__all__ = ["magnitude", "neuron_norms", "accumulated_gradient", "taylor", "taylor_neurons", "mean_activation", "apoz",
           "random_scores", "combine", "group_taylor", "activation_taylor", "unit_mean_activation", "unit_apoz",
           "batchnorm_scale"]


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
    X = model._check_X("X", X)
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
    with evaluation_mode(model):
        for Xb, yb in _batches(model, X, y, batch_size, n_batches):
            _, grads = model.loss(Xb, yb)
            scores = per_batch(grads)
            sums = scores if sums is None else [total + score for total, score in zip(sums, scores)]
            count += 1
    return [total / count for total in sums]


@contextmanager
def evaluation_mode(model):
    """Score in evaluation mode: BatchNorm uses (and does not update) its running statistics."""
    was_training = getattr(model, "training", False)
    model.training = False
    try:
        yield model
    finally:
        model.training = was_training


def accumulated_gradient(model, X, y, batch_size=64, n_batches=None) -> list:
    """Mean over mini-batches of ``|dL/dW|``, one array per parameter dict (``{}`` where there is no ``W``).

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
                              lambda grads: [np.abs(g["W"]).astype(np.float64) if "W" in g else 0.0 for g in grads])


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
        np.abs(p["W"].astype(np.float64) * g["W"]) if "W" in g else 0.0 for p, g in zip(model.params, grads)])


def taylor_neurons(model, X, y, batch_size=64, n_batches=None) -> list:
    """A batch-level Taylor score for the hidden neurons of an MLP, averaged over mini-batches.

    For neuron ``j`` of hidden layer ``l`` and one batch, ``|mean over the batch of a_j * dL_i/da_j|``:
    the first-order change in the batch's loss if the neuron's output were zero. The absolute
    value is taken per *batch*; Molchanov et al. (2017) take it per *sample* and then average
    (:func:`activation_taylor`, ``criterion="taylor_activation"``): the two agree for
    ``batch_size=1``. Within a batch, samples on which the neuron helps and samples on which
    it hurts cancel here, and not in the per-sample form. It needs no hidden
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


# ---------------------------------------------------------------------- group criteria (any network)
def group_taylor(model, groups, X, y, batch_size=64, n_batches=None) -> list:
    """Molchanov et al. (2019)'s group Taylor criterion, averaged over mini-batches.

    For one group and one batch, ``(sum over the group's own parameters of w * dL/dw)^2``: the
    first-order change in loss when every parameter of the group is set to zero, squared
    ("Importance Estimation for Neural Network Pruning", eq. 8). A group's own parameters are
    its incoming weights (filter) and bias, and its BatchNorm ``gamma``, ``beta``. For a hidden
    neuron of an MLP the sum is ``sum over the batch of z * dL/dz`` (z its pre-activation), since
    ``z`` is linear in its weights and bias. Signs cancel inside the sum, not between batches.

    Parameters
    ----------
    model : MLP or Sequential
    groups : list of LayerGroups
    X : ndarray of shape (n_samples, ...)
    y : ndarray of shape (n_samples,)
    batch_size, n_batches : as in :func:`taylor`

    Returns
    -------
    scores : list of ndarrays, ``scores[l]`` of shape (groups[l].size,), float64

    Examples
    --------
    A 1-2-2 network, one sample: neuron 0 has ``w = 2, b = 1``; with the gradients below its
    group sum is ``2 * 0.5 + 1 * 0.25 = 1.25`` and its score ``1.5625`` (see tests/test_criteria.py).
    """
    def per_batch(grads):
        scores = []
        for g in groups:
            total = np.zeros(g.size)
            for piece in g.own:
                w = unit_view(model.params[piece.param][piece.key], piece, g.size).astype(np.float64)
                total += (w * unit_view(grads[piece.param][piece.key], piece, g.size)).sum(axis=1)
            scores.append(total ** 2)
        return scores

    return _mean_over_batches(model, X, y, batch_size, n_batches, per_batch)


def _activation_leaves(groups, criterion: str) -> tuple:
    if not groups.activations:
        raise ValueError(f"criterion={criterion!r} reads the activation applied to {groups.name}, which has none; "
                         "use a weight criterion ('magnitude', 'taylor') for it")
    return groups.activations


def _per_unit(A: np.ndarray) -> np.ndarray:
    """(n_samples, ..., units) -> (n_samples, positions, units)."""
    return A.reshape(A.shape[0], -1, A.shape[-1])


def activation_taylor(model, groups, X, y, batch_size=64, n_batches=None) -> list:
    """Molchanov et al. (2017)'s Taylor criterion on each unit's activation.

    For one sample and one unit (neuron or channel), ``|mean over positions of a * dL/da|``,
    with ``a`` the unit's output after its activation and ``L`` that sample's loss; then the
    mean over samples ("Pruning Convolutional Neural Networks for Resource Efficient Inference",
    eq. 8: "For a minibatch with T > 1 examples, the criterion is computed for each example
    separately and averaged over T"). The first-order change in loss when the unit's output is
    set to zero. Computed in evaluation mode (samples independent). A unit with several
    activations (channels tied by a residual add) averages them.

    Returns
    -------
    scores : list of ndarrays, ``scores[l]`` of shape (groups[l].size,), float64
    """
    wanted = {leaf for g in groups for leaf in _activation_leaves(g, "taylor_activation")}
    sums = [np.zeros(g.size) for g in groups]
    count = 0
    for batch in leaf_gradients(model, X, y, wanted, batch_size=batch_size, n_batches=n_batches):
        for total, g in zip(sums, groups):
            for leaf in g.activations:
                A, dA = batch[leaf]
                per_sample = np.abs((_per_unit(A).astype(np.float64) * _per_unit(dA)).mean(axis=1))
                total += per_sample.sum(axis=0) / len(g.activations)
        count += next(iter(batch.values()))[0].shape[0]
    return [total / count for total in sums]


def _activations(model, groups, X, criterion: str) -> dict:
    wanted = {leaf for g in groups for leaf in _activation_leaves(g, criterion)}
    return leaf_outputs(model, X, wanted)


def unit_mean_activation(model, groups, X) -> list:
    """Mean ``|a|`` of every unit over the samples (and positions) of ``X``, one (size,) array per LayerGroups."""
    outputs = _activations(model, groups, X, "activation")
    return [sum(np.abs(outputs[leaf]).reshape(-1, g.size).astype(np.float64).mean(axis=0) for leaf in g.activations)
            / len(g.activations) for g in groups]


def unit_apoz(model, groups, X) -> list:
    """APoZ of every unit: the fraction of samples (and positions) where its ReLU output is 0.

    Hu et al. (2016) prune units with a *high* APoZ. One (size,) array per LayerGroups.
    """
    leaves = model.leaves()
    for g in groups:
        for leaf in _activation_leaves(g, "apoz"):
            if type(leaves[leaf]).__name__ != "ReLU":
                raise ValueError(f"APoZ counts exact zeros after ReLU; {g.name} is followed by "
                                 f"{type(leaves[leaf]).__name__}. Allowed: ReLU (or use criterion='activation')")
    outputs = _activations(model, groups, X, "apoz")
    return [sum((outputs[leaf] == 0).reshape(-1, g.size).mean(axis=0) for leaf in g.activations)
            / len(g.activations) for g in groups]


def batchnorm_scale(model, groups) -> list:
    """Network Slimming's score: ``|gamma|`` of the BatchNorm applied to each channel (Liu et al. 2017).

    BatchNorm's output is ``gamma * xhat + beta`` with ``xhat`` normalised, so ``gamma`` is the
    channel's scale: a channel with ``gamma`` near 0 passes on (nearly) a constant. Train with an
    L1 penalty on ``gamma`` (:class:`.regularizers.BatchNormL1Penalty`) to make that happen to
    the channels the task does not need. Channels tied by a residual add average their BatchNorms.

    Returns
    -------
    scores : list of ndarrays, ``scores[l]`` of shape (groups[l].size,), float64
    """
    scores = []
    for g in groups:
        gammas = [np.abs(model.params[s.param]["gamma"].astype(np.float64)) for s in g.own if s.key == "gamma"]
        if not gammas:
            raise ValueError(f"criterion='bn_scale' needs a BatchNorm2D after {g.name}; it has none. "
                             "Allowed: networks with BatchNorm after every pruned layer (or another criterion)")
        scores.append(sum(gammas) / len(gammas))
    return scores
