"""The mini-batch training loop.

One epoch: shuffle the training set (seeded by the model), cut it into batches, and for
each batch run forward + backward, take an optimizer step, then re-apply the pruning
masks to the weights *and* to the optimizer state. That last line is what makes a
pruned weight stay exactly zero; without it, momentum would bring it back.

Two things here are only about speed and change no number: every batch reuses arrays
allocated once per batch size (:mod:`.workspace`), and the loop runs NumPy's matrix
products on one BLAS thread (:func:`one_blas_thread`).

Batches run in training mode (BatchNorm uses batch statistics); validation data is evaluated
in evaluation mode; the model is left in the mode it had before.
"""
from __future__ import annotations

import contextlib
import time

import numpy as np

from .._checks import check_int, check_labels
from .losses import LOSSES
from .optim import make_optimizer
from .workspace import Workspace, param_layout


def _progress_bar(epochs: int, enabled: bool):
    """An epoch iterator with a tqdm bar (tqdm.auto: notebook or terminal) when enabled."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=epochs, desc="training", unit="epoch", leave=False)


def _evaluate(model, X: np.ndarray, y: np.ndarray):
    """Mean loss and accuracy on checked arrays: one forward pass in evaluation mode, no backward."""
    Z = model._logits_for_prediction(X)
    predicted = (Z[:, 0] > 0) if Z.shape[1] == 1 else Z.argmax(axis=1)
    loss, _ = LOSSES[model.loss_name](Z, y)
    return loss, float(np.mean(predicted == y))


def train(model, X, y, epochs=30, batch_size=64, optimizer="momentum", learning_rate=None,
          validation_data=None, shuffle=True, penalty=None, callbacks=None, progress=True):
    """Train ``model`` in place.

    Parameters
    ----------
    model : Sequential (an MLP, a CNN, ...)
    X : array of shape (n_samples, n_features), or (n_samples, height, width, channels) for images
    y : array of shape (n_samples,) with class labels in [0, n_classes)
    epochs : int >= 0
    batch_size : int >= 1
    optimizer : "sgd", "momentum", "adam" or an ``Optimizer`` (its state carries over
        between calls, so fine-tuning can continue where training stopped)
    learning_rate : float, optional; overrides the optimizer's default
    validation_data : (X_val, y_val), optional; evaluated after every epoch
    shuffle : bool; reshuffle every epoch with the model's seeded generator
    penalty : callable, optional
        ``penalty(params) -> (value, grads)`` added to the loss, e.g. an L1 or group-lasso
        regulariser; ``grads`` mirrors ``params`` (entries may be ``None``).
    callbacks : list of callables, optional
        ``callback(model, epoch, logs)`` after every epoch. A callback may change masks
        (gradual pruning); they are re-applied, optimizer state included, right after.
    progress : bool; show a progress bar

    Returns
    -------
    history : dict of lists, also stored as ``model.history_``
    """
    X = model._check_X("X", X)
    y = check_labels("y", y, X.shape[0], model.n_classes)
    epochs = check_int("epochs", epochs, minimum=0)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    opt = make_optimizer(optimizer, learning_rate)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise TypeError("validation_data must be a pair (X_val, y_val)")
        X_val = model._check_X("validation_data[0]", validation_data[0])
        y_val = check_labels("validation_data[1]", validation_data[1], X_val.shape[0], model.n_classes)
    if penalty is not None and not callable(penalty):
        raise TypeError(f"penalty={penalty!r} must be callable: penalty(params) -> (value, grads)")
    callbacks = list(callbacks or [])
    for cb in callbacks:
        if not callable(cb):
            raise TypeError(f"callbacks must be callables callback(model, epoch, logs), got {cb!r}")

    # "loss" and "train_accuracy" are running means over the epoch's batches (as Keras
    # reports them): the weights change during the epoch, so they lag the end-of-epoch model.
    history = {"loss": [], "train_accuracy": [], "epoch_time": []}
    if validation_data is not None:
        history.update(val_loss=[], val_accuracy=[])
    model.optimizer_ = opt
    model.apply_masks()
    opt.apply_masks(model.masks)
    bar = _progress_bar(epochs, progress)
    workspaces, layout = {}, None  # batch size -> preallocated buffers (see workspace.py)
    was_training = model.training
    with one_blas_thread():
        for epoch in range(epochs):
            start = time.perf_counter()
            if param_layout(model.params) != layout:  # first epoch, or a callback changed the shapes
                workspaces, layout = {}, param_layout(model.params)
            model.train()
            train_loss, train_accuracy = _train_one_epoch(model, X, y, batch_size, shuffle, opt, penalty,
                                                          workspaces)
            model.train(was_training)
            history["loss"].append(train_loss)
            history["epoch_time"].append(time.perf_counter() - start)
            history["train_accuracy"].append(train_accuracy)
            logs = {"loss": train_loss, "train_accuracy": train_accuracy}
            if validation_data is not None:
                val_loss, val_acc = _evaluate(model, X_val, y_val)
                history["val_loss"].append(val_loss)
                history["val_accuracy"].append(val_acc)
                logs.update(val_loss=val_loss, val_accuracy=val_acc)
            for cb in callbacks:
                cb(model, epoch, logs)
                model.apply_masks()
                opt.apply_masks(model.masks)
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: round(v, 4) for k, v in logs.items()})
    if bar is not None:
        bar.close()
    model.history_ = history
    return history


def _train_one_epoch(model, X, y, batch_size, shuffle, opt, penalty, workspaces):
    """One pass over ``(X, y)`` in mini-batches; returns the running mean loss and accuracy.

    ``workspaces`` maps a batch size to its :class:`Workspace` and is filled on first use.
    """
    n = X.shape[0]
    order = model.rng.permutation(n) if shuffle else None
    total_loss, correct = 0.0, 0
    for lo in range(0, n, batch_size):
        size = min(batch_size, n - lo)
        ws = workspaces.get(size)
        if ws is None:
            ws = workspaces[size] = Workspace(model.layers, size, X.shape[1:], X.dtype)
        if shuffle:  # gather this batch's rows of the shuffled order into the buffers
            rows = order[lo:lo + size]  # a permutation: always in range, "clip" never clips
            Xb = np.take(X, rows, axis=0, out=ws.X, mode="clip")
            yb = np.take(y, rows, out=ws.y, mode="clip")
        else:
            Xb, yb = X[lo:lo + size], y[lo:lo + size]
        loss, grads, n_right = model._loss_and_grads(Xb, yb, count_correct=True, workspace=ws)
        correct += n_right
        if penalty is not None:
            extra, extra_grads = penalty(model.params)
            loss += extra
            for layer_grads, layer_extra in zip(grads, extra_grads):
                for key, g in (layer_extra or {}).items():
                    if g is not None:
                        layer_grads[key] += g
            for layer_grads, layer_masks in zip(grads, model.masks):
                for key, mask in layer_masks.items():
                    if mask is not None:
                        layer_grads[key] *= mask
        opt.step(model.params, grads)
        model.apply_masks()  # pruned weights, their gradients' effect and their optimizer
        opt.apply_masks(model.masks)  # state are all zeroed again: nothing comes back
        total_loss += loss * size
    return total_loss / n, correct / n


_BLAS_CONTROLLER = []  # a threadpoolctl controller, created on first use (it scans loaded libraries)


def one_blas_thread():
    """A context manager that runs NumPy's matrix products on one BLAS thread.

    Mini-batches of 64 make small matrix products, which a second thread barely speeds up;
    on a busy machine (a shared server, a laptop also running the notebook server) the idle
    BLAS threads spin and make training up to ten times slower. Uses ``threadpoolctl``
    (installed with scikit-learn); without it, nothing changes.
    """
    if not _BLAS_CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - scikit-learn depends on it
            return contextlib.nullcontext()
        _BLAS_CONTROLLER.append(ThreadpoolController())
    return _BLAS_CONTROLLER[0].limit(limits=1, user_api="blas")
