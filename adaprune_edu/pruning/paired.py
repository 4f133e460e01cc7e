"""Is the pruned model worse than the dense one? A paired comparison on the same samples.

Both models are scored on the *same* validation samples, so their accuracies are not two
independent estimates: they agree on most samples, and only the samples where exactly one of
them is right carry information about the difference. Per sample ``i`` let
``d_i = correct_dense_i - correct_pruned_i`` (in {-1, 0, 1}). The accuracy drop is the mean of
``d`` and its standard error is ``std(d) / sqrt(n)`` (the normal approximation behind
McNemar's test). On digits' 360 validation samples a pruned network that disagrees with the
dense one on 10 of them has a paired standard error near 0.9 points, while two independent
binomials at 97% would give 1.3 points: pairing is far tighter.

>>> import numpy as np
>>> y = np.array([0, 1, 1, 0, 1, 0, 1, 1])
>>> result = paired_drop(y, reference=np.array([0, 1, 1, 0, 1, 0, 1, 0]), candidate=np.array([0, 1, 0, 0, 1, 0, 1, 1]))
>>> result.drop, result.n_worse, result.n_better
(0.0, 1, 1)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_float, check_int


@dataclass(frozen=True)
class PairedDrop:
    """Accuracy drop of a candidate below a reference on the same samples.

    ``drop`` and ``se`` are fractions (0.01 = one point); ``n_worse`` counts samples the
    reference gets right and the candidate wrong, ``n_better`` the reverse; ``n`` samples.
    """

    drop: float
    se: float
    n_worse: int
    n_better: int
    n: int

    def upper_bound(self, z: float) -> float:
        """``drop + z * se``: with ``z = 1.645`` a one-sided 95% upper confidence bound on the drop."""
        return self.drop + z * self.se


def paired_drop(y, reference, candidate) -> PairedDrop:
    """The accuracy drop ``accuracy(reference) - accuracy(candidate)`` and its paired standard error.

    Parameters
    ----------
    y : ndarray of shape (n_samples,), the true labels
    reference, candidate : ndarrays of shape (n_samples,), predicted labels of the two models

    Returns
    -------
    PairedDrop
    """
    y, reference, candidate = (np.asarray(a) for a in (y, reference, candidate))
    if not (y.ndim == reference.ndim == candidate.ndim == 1) or not (y.shape == reference.shape == candidate.shape):
        raise ValueError(f"y, reference and candidate must be 1-D of one length; got shapes {y.shape}, "
                         f"{reference.shape}, {candidate.shape}")
    n = y.shape[0]
    if n < 2:
        raise ValueError(f"a paired standard error needs at least 2 samples; got {n}")
    d = (reference == y).astype(np.float64) - (candidate == y).astype(np.float64)
    return PairedDrop(drop=float(d.mean()), se=float(d.std(ddof=1) / np.sqrt(n)),
                      n_worse=int(np.sum(d > 0)), n_better=int(np.sum(d < 0)), n=n)


def split_validation(y, fraction: float, seed: int = 0):
    """Split validation indices into a search part and a confirmation part, stratified by class.

    Parameters
    ----------
    y : ndarray of shape (n_samples,), int labels
    fraction : float in [0, 0.5], share of every class that goes to the confirmation part
    seed : int >= 0

    Returns
    -------
    search, confirm : sorted int ndarrays of indices into ``y``; ``confirm`` is empty for ``fraction=0``
    """
    fraction = check_float("fraction", fraction, minimum=0.0, maximum=0.5)
    seed = check_int("seed", seed, minimum=0)
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    confirm = []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        confirm.extend(members[:int(round(fraction * members.size))].tolist())
    confirm = np.sort(np.asarray(confirm, dtype=np.int64))
    search = np.setdiff1d(np.arange(y.shape[0]), confirm)
    return search, confirm
