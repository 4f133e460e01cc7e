"""One training run measured the way the training-time methods report it.

Lottery tickets, pruning at initialisation, sparse training and movement pruning all end
the same way: train a (masked) network for a fixed number of epochs, then report its test
accuracy and the *early-stopping iteration*, the training step after which validation
accuracy was best (Frankle & Carbin 2019 report both: a winning ticket also learns faster).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_int

__all__ = ["Trial", "train_and_measure", "mask_density", "set_weight_masks"]


@dataclass
class Trial:
    """What one run measured.

    test_accuracy : float in [0, 1], after the last epoch
    best_val_accuracy : float in [0, 1], the best validation accuracy over the epochs
    early_stop_iteration : int, training steps (mini-batches) up to the end of the best epoch
    density : float in [0, 1], fraction of weights (``W``, not biases) the masks keep at the end
    """

    test_accuracy: float
    best_val_accuracy: float
    early_stop_iteration: int
    density: float


def train_and_measure(model, data, epochs, optimizer="adam", learning_rate=1e-3, batch_size=64,
                      callbacks=None) -> Trial:
    """Train ``model`` (in place) on ``data``'s training split and measure it.

    Parameters
    ----------
    model : MLP, masks already set (they persist through training)
    data : Dataset, see :func:`adaprune_edu.data.load_dataset`
    epochs : int >= 1
    optimizer, learning_rate, batch_size : passed to ``model.fit``
    callbacks : list of ``callback(model, epoch, logs)``, e.g. a sparse-training updater

    Returns
    -------
    Trial
    """
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    model.fit(data.X_train, data.y_train, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
              learning_rate=learning_rate, validation_data=(data.X_val, data.y_val), callbacks=callbacks,
              progress=False)
    val = model.history_["val_accuracy"]
    steps_per_epoch = -(-len(data.y_train) // batch_size)
    best_epoch = int(np.argmax(val))
    return Trial(test_accuracy=model.score(data.X_test, data.y_test), best_val_accuracy=float(val[best_epoch]),
                 early_stop_iteration=(best_epoch + 1) * steps_per_epoch, density=mask_density(model))


def mask_density(model) -> float:
    """Fraction of ``W`` entries the masks keep (1 where a layer has no mask)."""
    kept = sum(p["W"].size if m["W"] is None else float(m["W"].sum()) for p, m in zip(model.params, model.masks))
    return kept / sum(p["W"].size for p in model.params)


def set_weight_masks(model, masks) -> None:
    """Replace every layer's ``W`` mask with ``masks`` (one (n_in, n_out) 0/1 array per layer).

    What the mask removes is zeroed; biases stay dense.
    """
    if isinstance(masks, np.ndarray) or len(masks) != model.n_layers:
        raise ValueError(f"masks must be a list with one array per layer ({model.n_layers}); "
                         f"got {type(masks).__name__} of length {len(masks)}")
    for layer, mask in enumerate(masks):
        model.set_mask(layer, mask)
