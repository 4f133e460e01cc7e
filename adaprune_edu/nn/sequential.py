"""A network as a list of layers: ``Sequential([Conv2D(1, 16, 3, padding=1), BatchNorm2D(16), ReLU(), ...])``.

State a learner can look at and change:

- ``model.layers``: the layer objects (hyperparameters; BatchNorm's running statistics);
- ``model.params``: a list with one dict per layer that has parameters, in order (layers inside
  a :class:`~adaprune_edu.nn.layers.Residual` included): ``{"W": ..., "b": ...}`` for ``Dense``
  and ``Conv2D``, ``{"gamma": ..., "beta": ...}`` for ``BatchNorm2D``. ``model.param_layers()``
  is the matching list of layer objects;
- ``model.masks``: the same structure, each entry ``None`` (dense) or an array of 0s and 1s of
  the parameter's shape. A masked entry is kept exactly zero where weights change:
  :meth:`Sequential.set_mask` zeroes it, and training re-applies the mask to the weight and the
  optimizer state after every update. Reading the model (``forward``, ``loss``) writes nothing.

Modes, as in PyTorch: ``model.train()`` (the default) and ``model.eval()``. They matter only
for BatchNorm: batch statistics in training, running statistics in evaluation. ``fit`` trains in
training mode and evaluates validation data in evaluation mode; ``predict``, ``predict_proba`` and
``score`` always use evaluation mode.

As in :class:`~adaprune_edu.nn.network.MLP`, the constructor initialises the weights (seeded), so
``model.loss(X, y)`` works before any training.
"""
from __future__ import annotations

import copy as _copy

import numpy as np

from .._checks import check_choice, check_dtype, check_int, check_labels, numeric_array
from .classifier import ClassifierMixin
from .layers import Conv2D, Dense, Layer
from .layers.activation import Activation
from .layers.chain import backward_chain, forward_chain, split_params
from .losses import LOSSES


def _leaves(layers) -> list:
    """Every layer, containers expanded in place (depth first)."""
    found = []
    for layer in layers:
        if getattr(layer, "is_container", False):
            found.extend(_leaves(layer.children))
        else:
            found.append(layer)
    return found


def _check_input(name: str, X, first_layer: Layer, first_params) -> np.ndarray:
    """``X`` as a finite numeric array of the rank and width the first layer expects."""
    X = numeric_array(name, X)
    ndim = first_layer.input_ndim
    if ndim == 2 and X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}")
    if ndim == 4 and X.ndim != 4:
        raise ValueError(f"{name} must be 4-D (n_samples, height, width, channels), channels last; got shape {X.shape}"
                         + (" (load_dataset(..., images=True) gives image-shaped data)" if X.ndim == 2 else ""))
    if X.ndim < 2 or X.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one sample, got shape {X.shape}")
    if first_params is not None and "W" in first_params:
        expected = first_params["W"].shape[-2]  # n_in of a Dense, in_channels of a Conv2D
        if X.shape[-1] != expected:
            what = "features" if X.ndim == 2 else "channels (last axis)"
            raise ValueError(f"{name} has {X.shape[-1]} {what} (shape {X.shape}); the model expects {expected}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return X


INFERENCE_CHUNK = 128
"""Evaluation-mode forward passes of a convolutional network run this many samples at a time."""


class Sequential(ClassifierMixin):
    """Layers applied in order, a loss on the last one's output, and per-parameter pruning masks.

    Parameters
    ----------
    layers : list of layers (from :mod:`adaprune_edu.nn.layers`); the last one gives logits of
        shape (n_samples, n_outputs)
    loss : {"auto", "softmax_ce", "bce", "mse"}
        ``"auto"`` picks softmax cross-entropy for several outputs and binary cross-entropy for one.
    seed : int
        Seeds the initial weights and the shuffling in :meth:`fit`.
    dtype : "float32" or "float64" (or the NumPy dtype)

    Attributes
    ----------
    params, masks : lists of dicts, see the module docstring.
    training : bool, the mode (see :meth:`train`, :meth:`eval`).
    history_ : dict of lists, filled by :meth:`fit`.
    """

    def __init__(self, layers, loss="auto", seed=0, dtype="float32"):
        if isinstance(layers, Layer) or not isinstance(layers, (list, tuple)) or not layers:
            raise TypeError(f"layers={layers!r} must be a non-empty list of layers, e.g. [Dense(64, 10)]")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}]={layer!r} is not a layer from adaprune_edu.nn.layers")
        check_choice("loss", loss, set(LOSSES) | {"auto"})
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed={seed!r} must be an int")
        self.layers = list(layers)
        self.seed = int(seed)
        self.dtype = check_dtype("dtype", dtype)
        self.rng = np.random.default_rng(self.seed)
        self.params = []
        for layer in self.layers:
            share = layer.init_params(self.rng, self.dtype)
            if getattr(layer, "is_container", False):
                self.params.extend(share)
            elif layer.n_param_dicts:
                self.params.append(share)
        if not self.params or "W" not in self.params[-1]:
            raise ValueError("the last layer with parameters must be a Dense (or Conv2D) giving the logits")
        self.masks = [{key: None for key in p} for p in self.params]
        n_out = self.n_outputs
        self.loss_name = ("softmax_ce" if n_out > 1 else "bce") if loss == "auto" else loss
        if self.loss_name == "softmax_ce" and n_out < 2:
            raise ValueError("loss='softmax_ce' needs at least 2 output units; use 'bce' for one")
        if self.loss_name == "bce" and n_out != 1:
            raise ValueError(f"loss='bce' needs exactly 1 output unit, got {n_out}")
        self.training = True
        self.history_ = {}

    # ------------------------------------------------------------------ structure
    def leaves(self) -> list:
        """Every layer in forward order, the layers inside residual blocks included."""
        return _leaves(self.layers)

    def param_layers(self) -> list:
        """The layer objects that own ``params[0]``, ``params[1]``, ... (same length as ``params``)."""
        return [layer for layer in self.leaves() if layer.n_param_dicts]

    @property
    def n_features(self):
        """Width of the input's last axis: features (dense input) or channels (images)."""
        return self.params[0]["W"].shape[-2] if "W" in self.params[0] else None

    @property
    def n_outputs(self) -> int:
        """Number of output units (logits)."""
        return self.params[-1]["W"].shape[-1]

    @property
    def n_classes(self) -> int:
        """Number of classes (2 for a single sigmoid output)."""
        return max(2, self.n_outputs)

    def __repr__(self):
        inner = ",\n    ".join(repr(layer) for layer in self.layers)
        return (f"{type(self).__name__}([\n    {inner},\n], loss={self.loss_name!r}, seed={self.seed}, "
                f"dtype={self.dtype.name!r})")

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True):
        """Training mode (BatchNorm uses batch statistics and updates its running ones); returns self."""
        if not isinstance(mode, bool):
            raise TypeError(f"mode={mode!r} must be True or False")
        self.training = mode
        return self

    def eval(self):
        """Evaluation mode (BatchNorm uses its running statistics); returns self."""
        return self.train(False)

    # ------------------------------------------------------------------ masks
    def set_mask(self, layer: int, mask, key: str = "W") -> None:
        """Attach a 0/1 mask (1 keeps, 0 prunes) to ``params[layer][key]`` and zero what it prunes.

        ``mask=None`` removes the mask (the zeroed weights stay zero until trained).
        """
        layer = check_int("layer", layer, minimum=0, maximum=len(self.params) - 1)
        check_choice("key", key, set(self.params[layer]))
        if mask is None:
            self.masks[layer][key] = None
            return
        target = self.params[layer][key]
        mask = np.asarray(mask)
        if mask.shape != target.shape:
            raise ValueError(f"mask for params[{layer}][{key!r}] has shape {mask.shape}; "
                             f"it must match the parameter's shape {target.shape}")
        if not (mask.dtype == bool or np.issubdtype(mask.dtype, np.number)) or not np.all((mask == 0) | (mask == 1)):
            raise ValueError(f"mask for params[{layer}][{key!r}] must hold only 0 and 1 (or booleans)")
        self.masks[layer][key] = mask.astype(self.dtype)
        target *= self.masks[layer][key]

    def clear_masks(self) -> None:
        """Remove every mask (pruned weights stay zero until they are trained again)."""
        self.masks = [{key: None for key in p} for p in self.params]

    def apply_masks(self) -> None:
        """Multiply every mask into its parameter (keeps the invariant ``W == W * mask``)."""
        for layer, layer_masks in zip(self.params, self.masks):
            for key, mask in layer_masks.items():
                if mask is not None:
                    layer[key] *= mask

    def sparsity(self) -> float:
        """Fraction of weights (every ``W``, not biases or BatchNorm parameters) that are exactly zero."""
        weights = [p["W"] for p in self.params if "W" in p]
        return sum(int(np.count_nonzero(W == 0)) for W in weights) / sum(W.size for W in weights)

    # ------------------------------------------------------------------ forward / backward
    def _check_X(self, name: str, X) -> np.ndarray:
        """``X`` checked against the first layer and cast to the model's dtype."""
        first = self.leaves()[0]
        first_params = self.params[0] if first.n_param_dicts else None
        return _check_input(name, X, first, first_params).astype(self.dtype, copy=False)

    def forward(self, X, return_hidden: bool = False, training: bool | None = None):
        """Logits of shape (n_samples, n_outputs) for ``X`` (in the current mode unless ``training`` is given).

        In evaluation mode a network with convolutions runs ``INFERENCE_CHUNK`` samples at a time
        (the same results up to float rounding, about 30% faster on large batches: the im2col columns
        stay in cache).

        With ``return_hidden=True`` also returns the list of the outputs of the top-level
        activation layers (for an MLP: one (n_samples, hidden_l) array per hidden layer).
        """
        X = self._check_X("X", X)
        training = self.training if training is None else training
        if not return_hidden and not training and X.shape[0] > INFERENCE_CHUNK and self._has_convolutions():
            # samples are independent in evaluation mode; 128 images' im2col columns stay in cache
            return np.concatenate([forward_chain(self.layers, self.params, X[lo:lo + INFERENCE_CHUNK], False)[0]
                                   for lo in range(0, X.shape[0], INFERENCE_CHUNK)])
        if not return_hidden:
            return forward_chain(self.layers, self.params, X, training)[0]
        hidden = []
        A = X
        for layer, share in zip(self.layers, split_params(self.layers, self.params)):
            A, _ = layer.forward(share, A, training=training)
            if isinstance(layer, Activation):
                hidden.append(A)
        return A, hidden

    def _has_convolutions(self) -> bool:
        return any(isinstance(layer, Conv2D) for layer in self.leaves())

    def _logits_for_prediction(self, X):
        """Logits in evaluation mode: what ``predict`` and ``score`` use."""
        return self.forward(X, training=False)

    def _loss_and_grads(self, X: np.ndarray, y: np.ndarray, count_correct: bool = False, workspace=None):
        """Forward and backward on checked arrays of the model's dtype, in the current mode; grads are masked.

        With ``count_correct=True`` also returns how many samples the forward pass got right
        (the training loop's running accuracy, at no extra forward pass). With a
        :class:`~adaprune_edu.nn.workspace.Workspace`, every intermediate array and the returned
        grads live in its buffers (same numbers, no allocation); the grads are then overwritten
        by the next call with that workspace.
        """
        scratches = None if workspace is None else workspace.layers
        Z, caches = forward_chain(self.layers, self.params, X, self.training, scratches)
        if count_correct:
            predicted = (Z[:, 0] > 0) if Z.shape[1] == 1 else Z.argmax(axis=1)
            correct = int(np.count_nonzero(predicted == y))
        # logits straight from a Dense or Conv2D are held by no cache: the loss may reuse them for dZ
        loss, dZ = LOSSES[self.loss_name](Z, y, inplace=isinstance(self.layers[-1], (Dense, Conv2D)))
        _, grads = backward_chain(self.layers, self.params, dZ, caches, need_dX=False, scratches=scratches)
        for layer_grads, layer_masks in zip(grads, self.masks):
            for key, mask in layer_masks.items():
                if mask is not None:
                    layer_grads[key] *= mask
        return (loss, grads, correct) if count_correct else (loss, grads)

    def loss(self, X, y):
        """Mean loss on ``(X, y)`` and its gradients, in the current mode.

        Returns
        -------
        loss : float
        grads : list of dicts shaped like ``params``; the gradient of a masked entry is zero.
        """
        X = self._check_X("X", X)
        y = check_labels("y", y, X.shape[0], self.n_classes)
        return self._loss_and_grads(X, y)

    # predict_proba, predict and score come from ClassifierMixin (they need _logits_for_prediction).

    # ------------------------------------------------------------------ training
    def fit(self, X, y, epochs=30, batch_size=64, optimizer="momentum", learning_rate=None,
            validation_data=None, shuffle=True, penalty=None, callbacks=None, progress=True):
        """Train with mini-batch gradient descent; returns ``self``.

        See :func:`adaprune_edu.nn.training.train` for the parameters. ``history_`` gets
        per-epoch ``loss``, ``train_accuracy``, ``epoch_time`` and, with validation data,
        ``val_loss`` and ``val_accuracy``.
        """
        from .training import train

        train(self, X, y, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
              learning_rate=learning_rate, validation_data=validation_data, shuffle=shuffle,
              penalty=penalty, callbacks=callbacks, progress=progress)
        return self

    # ------------------------------------------------------------------ copies and files
    def copy(self):
        """An independent deep copy (layers, parameters, masks, history, RNG state)."""
        return _copy.deepcopy(self)

    def astype(self, dtype):
        """A copy with parameters, masks and running statistics in ``dtype`` ("float32" or "float64")."""
        dtype = check_dtype("dtype", dtype)
        other = self.copy()
        other.dtype = dtype
        other.params = [{k: v.astype(dtype) for k, v in p.items()} for p in self.params]
        other.masks = [{k: None if m is None else m.astype(dtype) for k, m in ms.items()} for ms in self.masks]
        for layer in other.leaves():
            layer.set_buffers({k: v.astype(dtype) for k, v in layer.buffers().items()})
        return other

    def buffers(self) -> list:
        """The non-trainable state of every layer (BatchNorm's running statistics), one dict per leaf layer."""
        return [layer.buffers() for layer in self.leaves()]

    def get_state(self):
        """A snapshot of parameters, masks and running statistics, for :meth:`set_state` (e.g. to roll back)."""
        return _copy.deepcopy({"params": self.params, "masks": self.masks, "buffers": self.buffers()})

    def set_state(self, state) -> None:
        """Restore a snapshot taken by :meth:`get_state`."""
        self.params = _copy.deepcopy(state["params"])
        self.masks = _copy.deepcopy(state["masks"])
        for layer, values in zip(self.leaves(), state.get("buffers", [])):
            if values:
                layer.set_buffers(_copy.deepcopy(values))

    def save(self, path) -> None:
        """Write architecture, weights, masks and running statistics to one ``.npz`` file (see :mod:`.io`)."""
        from .io import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save`."""
        from .io import load_model

        return load_model(path)
