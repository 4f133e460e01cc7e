"""The multi-layer perceptron that every notebook trains and prunes.

``MLP([64, 256, 128, 10])`` is three dense layers: 64 -> 256 -> 128 -> 10, with a
hidden activation between them and a loss on the last layer's logits. It is a preset of
:class:`~adaprune_edu.nn.sequential.Sequential`: the same network as
``Sequential([Dense(64, 256), ReLU(), Dense(256, 128), ReLU(), Dense(128, 10)])``.

State a learner can look at and change:

- ``model.params``: a list with one ``{"W": (n_in, n_out), "b": (n_out,)}`` dict per layer;
- ``model.masks``: the same structure, each entry ``None`` (dense) or an array of 0s and 1s
  of the parameter's shape. A masked entry is kept exactly zero: :meth:`MLP.set_mask` zeroes
  it, and training re-applies the mask to the gradient, the weight and the optimizer state
  after every update. Reading the model (``forward``, ``loss``) writes nothing.

Unlike a scikit-learn estimator, the constructor initialises the weights (seeded), so
``model.loss(X, y)`` works before any training: pruning is about looking at weights.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_choice, check_features, check_int
from .activations import ACTIVATIONS
from .layers import ACTIVATION_LAYERS, INITIALIZERS, Dense
from .losses import LOSSES
from .sequential import Sequential


class MLP(Sequential):
    """A fully connected network with per-weight pruning masks.

    Parameters
    ----------
    layer_sizes : sequence of int, length >= 2
        ``[n_features, hidden_1, ..., n_outputs]``. One output unit means binary
        classification with a sigmoid; several mean softmax over classes.
    activation : {"relu", "sigmoid", "tanh"}
        Hidden-layer activation.
    loss : {"auto", "softmax_ce", "bce", "mse"}
        ``"auto"`` picks softmax cross-entropy for several outputs and binary
        cross-entropy for one. ``"mse"`` is squared error on predicted probabilities.
    init : {"auto", "glorot", "he"}
        Weight initialisation; ``"auto"`` is Glorot-uniform (what PyTorch's and
        scikit-learn's MLPs use). Biases start at zero.
    seed : int
        Seeds the initial weights and the shuffling in :meth:`fit`.
    dtype : "float32" or "float64" (or the NumPy dtype)

    Attributes
    ----------
    params, masks : lists of dicts ``{"W": (n_in, n_out), "b": (n_out,)}``, see the module docstring.
    layers : the ``Dense`` and activation layer objects.
    n_classes : int
    history_ : dict of lists, filled by :meth:`fit`.
    """

    def __init__(self, layer_sizes, activation="relu", loss="auto", init="auto", seed=0,
                 dtype="float32"):
        if isinstance(layer_sizes, (str, bytes)) or not hasattr(layer_sizes, "__len__"):
            raise TypeError(f"layer_sizes={layer_sizes!r} must be a list of ints like [64, 128, 10]")
        if len(layer_sizes) < 2:
            raise ValueError(f"layer_sizes={list(layer_sizes)!r} needs at least an input and an output size")
        self.layer_sizes = [check_int(f"layer_sizes[{i}]", n, minimum=1) for i, n in enumerate(layer_sizes)]
        check_choice("activation", activation, ACTIVATIONS)
        check_choice("loss", loss, set(LOSSES) | {"auto"})
        check_choice("init", init, set(INITIALIZERS) | {"auto"})
        self.activation = activation
        self.init = "glorot" if init == "auto" else init
        layers = []
        for n_in, n_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:]):
            layers += [Dense(n_in, n_out, init=self.init), ACTIVATION_LAYERS[activation]()]
        super().__init__(layers[:-1], loss=loss, seed=seed, dtype=dtype)

    # ------------------------------------------------------------------ shape facts
    # n_features and n_outputs come from ClassifierMixin (the first and last of layer_sizes).

    @property
    def n_layers(self) -> int:
        """Number of dense layers (``len(layer_sizes) - 1``)."""
        return len(self.params)

    def __repr__(self):
        return (f"MLP({self.layer_sizes}, activation={self.activation!r}, loss={self.loss_name!r}, "
                f"seed={self.seed}, dtype={self.dtype.name!r})")

    def _check_X(self, name: str, X) -> np.ndarray:
        return check_features(name, X, self.n_features).astype(self.dtype, copy=False)
