"""The multi-layer perceptron that every notebook trains and prunes.

``MLP([64, 256, 128, 10])`` is three dense layers: 64 -> 256 -> 128 -> 10, with a
hidden activation between them and a loss on the last layer's logits.

State a learner can look at and change:

- ``model.params``: a list with one ``{"W": (n_in, n_out), "b": (n_out,)}`` dict per layer;
- ``model.masks``: the same structure, each entry ``None`` (dense) or an array of 0s and 1s
  of the parameter's shape. A masked entry is kept exactly zero: :meth:`MLP.set_mask` zeroes
  it, and training re-applies the mask to the gradient, the weight and the optimizer state
  after every update.

Unlike a scikit-learn estimator, the constructor initialises the weights (seeded), so
``model.loss(X, y)`` works before any training: pruning is about looking at weights.
"""
from __future__ import annotations

import copy as _copy

import numpy as np

from .._checks import check_choice, check_dtype, check_features, check_int, check_labels
from .activations import ACTIVATIONS
from .classifier import ClassifierMixin
from .layers import INITIALIZERS, dense_backward, dense_forward
from .losses import LOSSES


class MLP(ClassifierMixin):
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
    params, masks : lists of dicts, see the module docstring.
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
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed={seed!r} must be an int")
        self.activation = activation
        self.loss_name = ("softmax_ce" if self.layer_sizes[-1] > 1 else "bce") if loss == "auto" else loss
        if self.loss_name == "softmax_ce" and self.layer_sizes[-1] < 2:
            raise ValueError("loss='softmax_ce' needs at least 2 output units; use 'bce' for one")
        if self.loss_name == "bce" and self.layer_sizes[-1] != 1:
            raise ValueError(f"loss='bce' needs exactly 1 output unit, got {self.layer_sizes[-1]}")
        self.init = "glorot" if init == "auto" else init
        self.seed = int(seed)
        self.dtype = check_dtype("dtype", dtype)
        self.rng = np.random.default_rng(self.seed)
        init_fn = INITIALIZERS[self.init]
        self.params = [
            {"W": init_fn(n_in, n_out, self.rng, self.dtype), "b": np.zeros(n_out, dtype=self.dtype)}
            for n_in, n_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:])
        ]
        self.masks = [{"W": None, "b": None} for _ in self.params]
        self.history_ = {}

    # ------------------------------------------------------------------ shape facts
    @property
    def n_layers(self) -> int:
        """Number of dense layers (``len(layer_sizes) - 1``)."""
        return len(self.params)

    def __repr__(self):
        return (f"MLP({self.layer_sizes}, activation={self.activation!r}, loss={self.loss_name!r}, "
                f"seed={self.seed}, dtype={self.dtype.name!r})")

    # ------------------------------------------------------------------ masks
    def set_mask(self, layer: int, mask, key: str = "W") -> None:
        """Attach a 0/1 mask (1 keeps, 0 prunes) to ``params[layer][key]`` and zero what it prunes.

        ``mask=None`` removes the mask (the zeroed weights stay zero until trained).
        """
        layer = check_int("layer", layer, minimum=0, maximum=self.n_layers - 1)
        check_choice("key", key, {"W", "b"})
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
        self.masks = [{"W": None, "b": None} for _ in self.params]

    def apply_masks(self) -> None:
        """Multiply every mask into its parameter (keeps the invariant ``W == W * mask``)."""
        for layer, layer_masks in zip(self.params, self.masks):
            for key, mask in layer_masks.items():
                if mask is not None:
                    layer[key] *= mask

    def sparsity(self) -> float:
        """Fraction of weights (all ``W``, not biases) that are exactly zero."""
        total = sum(p["W"].size for p in self.params)
        zeros = sum(int(np.count_nonzero(p["W"] == 0)) for p in self.params)
        return zeros / total

    # ------------------------------------------------------------------ forward / backward
    def forward(self, X, return_hidden: bool = False):
        """Logits for ``X`` of shape (n_samples, n_features).

        Returns ``Z`` of shape (n_samples, n_outputs); with ``return_hidden=True`` also the
        list of hidden activations, one (n_samples, hidden_l) array per hidden layer.
        """
        X = check_features("X", X, self.n_features).astype(self.dtype, copy=False)
        self.apply_masks()
        hidden = []
        act_forward = ACTIVATIONS[self.activation][0]
        A = X
        for layer in self.params[:-1]:
            Z, _ = dense_forward(A, layer["W"], layer["b"])
            A, _ = act_forward(Z, inplace=True)
            hidden.append(A)
        Z, _ = dense_forward(A, self.params[-1]["W"], self.params[-1]["b"])
        return (Z, hidden) if return_hidden else Z

    def _loss_and_grads(self, X: np.ndarray, y: np.ndarray, count_correct: bool = False, workspace=None):
        """Forward and backward on checked arrays of the model's dtype; grads are masked.

        With ``count_correct=True`` also returns how many samples the forward pass got right
        (the training loop's running accuracy, at no extra forward pass). With a
        :class:`~adaprune_edu.nn.workspace.Workspace` for ``X.shape[0]`` samples, every
        intermediate array and the returned grads live in its buffers (same numbers, no
        allocation); the grads are then overwritten by the next call with that workspace.
        """
        act_forward, act_backward = ACTIVATIONS[self.activation]
        ws = workspace
        caches = []
        A = X
        for i, layer in enumerate(self.params[:-1]):
            Z, cache = dense_forward(A, layer["W"], layer["b"], out=None if ws is None else ws.Z[i])
            A, act_cache = act_forward(Z, inplace=True)
            caches.append((cache, act_cache))
        Z, last_cache = dense_forward(A, self.params[-1]["W"], self.params[-1]["b"],
                                      out=None if ws is None else ws.Z[-1])
        if count_correct:
            predicted = (Z[:, 0] > 0) if Z.shape[1] == 1 else Z.argmax(axis=1)
            correct = int(np.count_nonzero(predicted == y))
        loss, dZ = LOSSES[self.loss_name](Z, y, inplace=True)  # Z is ours: reuse it for dZ

        grads = [None] * self.n_layers
        cache = last_cache
        for i in range(self.n_layers - 1, -1, -1):
            out = None if ws is None else (ws.dA[i], ws.grads[i]["W"], ws.grads[i]["b"])
            dA, dW, db = dense_backward(dZ, cache, need_dX=i > 0, out=out)
            grads[i] = {"W": dW, "b": db} if ws is None else ws.grads[i]
            if i > 0:
                cache, act_cache = caches[i - 1]
                dZ = act_backward(dA, act_cache, inplace=True)
        for layer_grads, layer_masks in zip(grads, self.masks):
            for key, mask in layer_masks.items():
                if mask is not None:
                    layer_grads[key] *= mask
        return (loss, grads, correct) if count_correct else (loss, grads)

    def loss(self, X, y):
        """Mean loss on ``(X, y)`` and its gradients.

        Returns
        -------
        loss : float
        grads : list of dicts shaped like ``params`` (``dL/dW`` is (n_in, n_out)); the
            gradient of a masked entry is zero.
        """
        X = check_features("X", X, self.n_features).astype(self.dtype, copy=False)
        y = check_labels("y", y, X.shape[0], self.n_classes)
        self.apply_masks()
        return self._loss_and_grads(X, y)

    # predict_proba, predict and score come from ClassifierMixin (they only need forward).

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
    def copy(self) -> "MLP":
        """An independent deep copy (parameters, masks, history, RNG state)."""
        return _copy.deepcopy(self)

    def astype(self, dtype) -> "MLP":
        """A copy with parameters and masks in ``dtype`` ("float32" or "float64")."""
        dtype = check_dtype("dtype", dtype)
        other = self.copy()
        other.dtype = dtype
        other.params = [{k: v.astype(dtype) for k, v in p.items()} for p in self.params]
        other.masks = [{k: None if m is None else m.astype(dtype) for k, m in ms.items()} for ms in self.masks]
        return other

    def get_state(self):
        """A snapshot of parameters and masks, for :meth:`set_state` (e.g. to roll back)."""
        return _copy.deepcopy({"params": self.params, "masks": self.masks})

    def set_state(self, state) -> None:
        """Restore a snapshot taken by :meth:`get_state`."""
        self.params = _copy.deepcopy(state["params"])
        self.masks = _copy.deepcopy(state["masks"])

    def save(self, path) -> None:
        """Write architecture, weights and masks to one ``.npz`` file (see :mod:`.io`)."""
        from .io import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path) -> "MLP":
        """Read a model written by :meth:`save`."""
        from .io import load_model

        return load_model(path)
