"""Lottery tickets: iterative magnitude pruning with rewinding (Frankle & Carbin 2019).

The hypothesis: a dense, randomly initialised network contains a sparse sub-network (a
"winning ticket") that, trained *from the same initial values*, matches the dense
network's accuracy. The procedure that finds it:

1. train the network;
2. prune ``rate`` of the weights still there in each layer, by magnitude (layer-wise; the
   output layer at half the rate, as in the paper);
3. rewind the survivors to their initial values (or, "late rewinding", Frankle et al.
   2020, to their values after a few epochs) and go to 1.

Two controls tell a ticket from a mere sparse network. *Re-initialised*: the same mask on
fresh random weights. *Random mask*: the same number of weights per layer, at random
places, on the original initial weights. If the ticket beats both, neither the mask
alone nor the initial values alone explain it: their pairing does.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._checks import check_float, check_int
from ..nn import MLP
from .masks import l1_unstructured, random_unstructured
from .trial import set_weight_masks, train_and_measure

__all__ = ["magnitude_round", "rewind", "random_masks_like", "reinitialised", "LotteryResult", "find_tickets"]


def _weight_masks(model) -> list:
    """The model's current ``W`` masks, ones where a layer has none."""
    return [np.ones_like(p["W"]) if m["W"] is None else m["W"].copy() for p, m in zip(model.params, model.masks)]


def magnitude_round(model, rate, output_rate=None) -> list:
    """Masks that prune ``rate`` of each layer's remaining weights by ``|w|`` (layer-wise).

    Parameters
    ----------
    model : MLP, trained; its current masks are the starting point (pruned stays pruned)
    rate : float in [0, 1), fraction of each hidden layer's remaining weights to prune
    output_rate : float in [0, 1), optional; the last layer's rate, ``rate / 2`` by default

    Returns
    -------
    masks : list of ndarrays, one (n_in, n_out) 0/1 array per layer (the model is unchanged)
    """
    rate = check_float("rate", rate, minimum=0.0, maximum=1.0)
    output_rate = rate / 2 if output_rate is None else check_float("output_rate", output_rate, minimum=0.0,
                                                                   maximum=1.0)
    if rate == 1.0 or output_rate == 1.0:
        raise ValueError("rate=1.0 would remove every weight; allowed: a float in [0, 1)")
    rates = [rate] * (model.n_layers - 1) + [output_rate]
    return [l1_unstructured(p["W"], r, mask=m) for p, r, m in zip(model.params, rates, _weight_masks(model))]


def rewind(model, weights, masks) -> None:
    """Set ``model``'s parameters to ``weights`` (an earlier ``model.get_state()["params"]``)
    and its ``W`` masks to ``masks``: the survivors get back exactly their earlier values."""
    if len(weights) != model.n_layers or len(masks) != model.n_layers:
        raise ValueError(f"weights and masks must have one entry per layer ({model.n_layers}); "
                         f"got {len(weights)} and {len(masks)}")
    model.params = [{k: v.copy() for k, v in layer.items()} for layer in weights]
    set_weight_masks(model, masks)


def random_masks_like(masks, seed=0) -> list:
    """Masks with the same number of kept weights per layer as ``masks``, at random places."""
    rng = np.random.default_rng(seed)
    return [random_unstructured(m, int(m.size - np.count_nonzero(m)), seed=rng) for m in masks]


def reinitialised(model, masks, seed) -> MLP:
    """A fresh network like ``model`` (new random weights from ``seed``) carrying ``masks``."""
    fresh = MLP(model.layer_sizes, activation=model.activation, loss=model.loss_name, init=model.init,
                seed=seed, dtype=model.dtype)
    set_weight_masks(fresh, masks)
    return fresh


@dataclass
class LotteryResult:
    """Everything :func:`find_tickets` measured, one entry per round (round 0 is dense).

    densities : fraction of weights kept; ticket, reinit, random_mask : lists of ``Trial``
    (``reinit`` and ``random_mask`` start at round 1); masks : the ticket's masks per round.
    """

    densities: list = field(default_factory=list)
    ticket: list = field(default_factory=list)
    reinit: list = field(default_factory=list)
    random_mask: list = field(default_factory=list)
    masks: list = field(default_factory=list)


def find_tickets(model, data, rounds, epochs, rate=0.2, output_rate=None, rewind_epoch=0, controls=True,
                 control_epochs=None, seed=0, **fit_options) -> LotteryResult:
    """Iterative magnitude pruning with rewinding, and its two controls at every density.

    Parameters
    ----------
    model : MLP, untrained (its weights are the initial values rewound to); changed in place
    data : Dataset
    rounds : int >= 1, prune-and-rewind rounds after the dense run
    epochs : int >= 1, training epochs of every run
    rate, output_rate : see :func:`magnitude_round`
    rewind_epoch : int in [0, epochs), rewind to the weights after this many epochs (0: to init)
    controls : bool, also train the re-initialised and random-mask controls at every round
    control_epochs : int, epochs for the controls (default ``epochs``; 3x tests the budget confound)
    seed : int, seeds the controls' fresh weights and random masks
    fit_options : optimizer ("adam"), learning_rate (1e-3), batch_size (64), as in ``model.fit``

    Returns
    -------
    LotteryResult
    """
    rounds = check_int("rounds", rounds, minimum=1)
    epochs = check_int("epochs", epochs, minimum=1)
    rewind_epoch = check_int("rewind_epoch", rewind_epoch, minimum=0, maximum=epochs - 1)
    control_epochs = epochs if control_epochs is None else check_int("control_epochs", control_epochs, minimum=1)
    fit_options = {"optimizer": "adam", "learning_rate": 1e-3, "batch_size": 64, **fit_options}
    rng = np.random.default_rng(seed)
    initial = model.get_state()["params"]
    if rewind_epoch:
        model.fit(data.X_train, data.y_train, epochs=rewind_epoch, progress=False, **fit_options)
    rewind_to = model.get_state()["params"]
    result = LotteryResult()
    masks = _weight_masks(model)
    for k in range(rounds + 1):
        result.densities.append(float(sum(m.sum() for m in masks) / sum(m.size for m in masks)))
        result.masks.append([m.copy() for m in masks])
        result.ticket.append(train_and_measure(model, data, epochs - rewind_epoch, **fit_options))
        if k > 0 and controls:
            reinit_seed, mask_seed = (int(s) for s in rng.integers(2**31, size=2))
            fresh = reinitialised(model, masks, reinit_seed)
            result.reinit.append(train_and_measure(fresh, data, control_epochs, **fit_options))
            random_mask = model.copy()
            rewind(random_mask, initial, random_masks_like(masks, mask_seed))
            result.random_mask.append(train_and_measure(random_mask, data, control_epochs, **fit_options))
        if k < rounds:
            masks = magnitude_round(model, rate, output_rate)
            rewind(model, rewind_to, masks)
    return result
