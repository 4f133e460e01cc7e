"""Predictions from logits, shared by every network that has a ``forward`` method.

A class that defines ``forward(X) -> Z`` (logits of shape (n_samples, n_outputs)) and
``layer_sizes`` gets ``n_features``, ``n_classes`` and scikit-learn's ``predict_proba``,
``predict`` and ``score`` from :class:`ClassifierMixin`: one output unit is read as a
sigmoid (binary), several as a softmax. A network whose input is not a feature vector
(images) overrides ``n_features``, ``n_outputs``, ``_check_X`` and, to predict in evaluation
mode, ``_logits_for_prediction``.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_features, check_labels
from .losses import sigmoid, softmax


class ClassifierMixin:
    """``predict_proba``, ``predict`` and ``score`` on top of ``forward`` and ``layer_sizes``."""

    @property
    def n_features(self) -> int:
        """Number of input features (width of the first layer)."""
        return self.layer_sizes[0]

    @property
    def n_outputs(self) -> int:
        """Number of output units (logits)."""
        return self.layer_sizes[-1]

    @property
    def n_classes(self) -> int:
        """Number of classes (2 for a single sigmoid output)."""
        return max(2, self.n_outputs)

    def _check_X(self, name: str, X) -> np.ndarray:
        """``X`` checked against the model's input width."""
        return check_features(name, X, self.n_features)

    def _logits_for_prediction(self, X) -> np.ndarray:
        """The logits ``predict`` reads (a network with BatchNorm computes them in evaluation mode)."""
        return self.forward(X)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes)."""
        Z = self._logits_for_prediction(X)
        if self.n_outputs == 1:
            p = sigmoid(Z)
            return np.hstack([1 - p, p])
        return softmax(Z)

    def predict(self, X) -> np.ndarray:
        """Predicted class labels, shape (n_samples,)."""
        Z = self._logits_for_prediction(X)
        if self.n_outputs == 1:
            return (Z[:, 0] > 0).astype(np.int64)
        return Z.argmax(axis=1)

    def score(self, X, y) -> float:
        """Accuracy on ``(X, y)``, a float in [0, 1]."""
        X = self._check_X("X", X)
        y = check_labels("y", y, X.shape[0], self.n_classes)
        return float(np.mean(self.predict(X) == y))
