"""Losses on the network's last pre-activation ``Z`` (the logits).

Each function returns ``(loss, dZ)``: the mean loss over the batch and its gradient
with respect to the logits, already divided by ``n_samples``.

Shapes: ``Z`` is (n_samples, n_out); ``y`` is (n_samples,) of int class labels.
With ``inplace=True`` a loss may reuse ``Z``'s memory for ``dZ`` (the training loop does
this, as it no longer needs the logits); ``Z`` then holds garbage afterwards.
"""
from __future__ import annotations

import numpy as np

from .activations import sigmoid


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so ``exp`` cannot overflow."""
    E = Z - Z.max(axis=1, keepdims=True)
    np.exp(E, out=E)
    E /= E.sum(axis=1, keepdims=True)
    return E


def softmax_cross_entropy(Z: np.ndarray, y: np.ndarray, inplace: bool = False):
    """Multi-class cross-entropy ``-mean(log softmax(Z)[i, y_i])``.

    Uses log-sum-exp: ``log p_k = Z_k - max(Z) - log(sum(exp(Z - max(Z))))``.
    The gradient is ``(softmax(Z) - onehot(y)) / n``. With ``inplace=True`` every step
    below overwrites ``Z``, which ends up holding ``dZ``.
    """
    n = Z.shape[0]
    rows = np.arange(n)
    shifted = np.subtract(Z, Z.max(axis=1, keepdims=True), out=Z if inplace else None)
    picked = shifted[rows, y]  # Z[i, y_i] - max(Z[i]), copied out before exp overwrites it
    E = np.exp(shifted, out=shifted)
    sum_E = E.sum(axis=1, keepdims=True)
    loss = float(np.add.reduce(np.log(sum_E[:, 0]) - picked)) / n  # the mean, without np.mean's overhead
    dZ = E
    dZ /= sum_E
    dZ[rows, y] -= 1
    dZ /= n
    return loss, dZ


def binary_cross_entropy(Z: np.ndarray, y: np.ndarray, inplace: bool = False):
    """Binary cross-entropy on one sigmoid output; ``Z`` has shape (n_samples, 1).

    ``log(sigmoid(z)) = -softplus(-z)`` is computed as ``-logaddexp(0, -z)``, which is
    exact for large ``|z|`` (no ``log(0)``). The gradient is ``(sigmoid(Z) - y) / n``.
    ``inplace`` is accepted for a uniform signature; ``Z`` is left untouched.
    """
    n = Z.shape[0]
    z = Z[:, 0]
    t = y.astype(Z.dtype)
    loss = float(np.mean(t * np.logaddexp(0, -z) + (1 - t) * np.logaddexp(0, z)))
    dZ = (sigmoid(Z) - t[:, None]) / n
    return loss, dZ.astype(Z.dtype, copy=False)


def mse_on_probabilities(Z: np.ndarray, y: np.ndarray, inplace: bool = False):
    """Squared error between predicted probabilities and the one-hot target.

    This is the loss the seed's exercises use (a sigmoid output with ``(output - y)**2``),
    generalised to several classes with a softmax (the Brier score). One output unit
    means sigmoid; several mean softmax. The loss is the mean over samples of the sum
    over outputs of ``(p - t)**2``. ``inplace`` is accepted for a uniform signature;
    ``Z`` is left untouched.
    """
    n = Z.shape[0]
    if Z.shape[1] == 1:
        p = sigmoid(Z)
        t = y.astype(Z.dtype)[:, None]
        g = 2 * (p - t)
        loss = float(np.mean(np.sum((p - t) ** 2, axis=1)))
        dZ = g * p * (1 - p)
    else:
        p = softmax(Z)
        t = np.zeros_like(p)
        t[np.arange(n), y] = 1
        g = 2 * (p - t)
        loss = float(np.mean(np.sum((p - t) ** 2, axis=1)))
        # softmax Jacobian-vector product: dZ = p * (g - <g, p>)
        dZ = p * (g - np.sum(g * p, axis=1, keepdims=True))
    return loss, (dZ / n).astype(Z.dtype, copy=False)


LOSSES = {
    "softmax_ce": softmax_cross_entropy,
    "bce": binary_cross_entropy,
    "mse": mse_on_probabilities,
}
