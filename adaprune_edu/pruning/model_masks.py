"""Masks on a whole :class:`~adaprune_edu.nn.MLP`: what is pruned, and removing neurons.

Reading: :func:`layer_sparsities` and :func:`global_sparsity` count masked ``W`` entries;
:func:`neuron_masks` and :func:`neuron_sparsity` say which hidden neurons are gone.
Writing: :func:`set_neuron_mask` removes hidden neurons the structured way -- column ``j``
of ``W[l]``, ``b[l][j]`` and row ``j`` of ``W[l+1]`` -- so that the network behaves exactly as
if they were not there (and :mod:`.surgery` can cut them out).
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["layer_sparsities", "global_sparsity", "neuron_masks", "neuron_sparsity", "set_neuron_mask"]


# ---------------------------------------------------------------------- reading masks
def _weight_mask(model, layer: int) -> np.ndarray:
    """The W mask of ``layer`` (ones when the layer has none)."""
    mask = model.masks[layer]["W"]
    return np.ones_like(model.params[layer]["W"]) if mask is None else mask


def layer_sparsities(model) -> list:
    """Fraction of each layer's ``W`` entries that a mask prunes, one float per dense layer.

    Counted from the masks (``model.sparsity()`` counts zeros; the two agree unless an
    unmasked weight happens to be exactly zero).
    """
    return [float(np.mean(_weight_mask(model, layer) == 0)) for layer in range(model.n_layers)]


def global_sparsity(model) -> float:
    """Fraction of all ``W`` entries (every layer) that a mask prunes."""
    pruned = sum(int(np.sum(_weight_mask(model, layer) == 0)) for layer in range(model.n_layers))
    return pruned / sum(p["W"].size for p in model.params)


def neuron_masks(model) -> list:
    """Which hidden neurons are alive, one bool array of shape (hidden_l,) per hidden layer.

    A neuron counts as removed (False) when its incoming column of ``W[l]``, its bias
    ``b[l][j]`` and its outgoing row of ``W[l+1]`` are all masked -- what
    :func:`set_neuron_mask` and structured pruning do. Unstructured pruning that happens
    to empty a row does not count here (:func:`.surgery.removable_neurons` finds those).
    """
    alive = []
    for layer in range(model.n_layers - 1):
        incoming = _weight_mask(model, layer).any(axis=0)
        bias_mask = model.masks[layer]["b"]
        bias = np.ones(model.layer_sizes[layer + 1], dtype=bool) if bias_mask is None else bias_mask != 0
        outgoing = _weight_mask(model, layer + 1).any(axis=1)
        alive.append(incoming | bias | outgoing)
    return alive


def neuron_sparsity(model) -> float:
    """Fraction of all hidden neurons removed (0.0 for a network without hidden layers)."""
    masks = neuron_masks(model)
    total = sum(m.size for m in masks)
    return 0.0 if total == 0 else sum(int(np.sum(~m)) for m in masks) / total


def _check_hidden_layer(model, layer) -> int:
    if isinstance(layer, (bool, np.bool_)) or not isinstance(layer, numbers.Integral):
        raise TypeError(f"layer={layer!r} must be an int (index of a hidden layer)")
    if not 0 <= layer < model.n_layers - 1:
        raise ValueError(f"layer={layer} is not a hidden layer of this model; allowed: 0 to {model.n_layers - 2}")
    return int(layer)


def set_neuron_mask(model, layer, alive) -> None:
    """Remove the hidden neurons of ``layer`` where ``alive`` is False.

    Masks column ``j`` of ``W[layer]``, ``b[layer][j]`` and row ``j`` of ``W[layer + 1]``
    for every removed ``j``, on top of the masks already there (unstructured masks inside
    surviving neurons are kept).

    Parameters
    ----------
    model : MLP
    layer : int, index of a hidden layer, 0 <= layer < model.n_layers - 1
    alive : bool array of shape (hidden_layer,)

    Raises
    ------
    ValueError
        Wrong shape, or ``alive`` is True for a neuron already removed: its weights are
        zero and cannot come back (restore a snapshot with ``model.set_state`` instead).
    """
    layer = _check_hidden_layer(model, layer)
    width = model.layer_sizes[layer + 1]
    alive = np.asarray(alive)
    if alive.shape != (width,):
        raise ValueError(f"alive has shape {alive.shape}; hidden layer {layer} has {width} neurons, "
                         f"so it must have shape ({width},)")
    if not (alive.dtype == bool or np.all((alive == 0) | (alive == 1))):
        raise ValueError("alive must hold booleans (True = keep the neuron)")
    alive = alive.astype(bool)
    revived = np.flatnonzero(alive & ~neuron_masks(model)[layer])
    if revived.size:
        raise ValueError(f"alive is True for neurons {revived.tolist()} of hidden layer {layer}, which are "
                         "already removed; pruning never un-prunes (restore a snapshot with model.set_state)")
    dtype = model.dtype
    model.set_mask(layer, _weight_mask(model, layer) * alive[None, :].astype(dtype))
    bias_mask = model.masks[layer]["b"]
    bias_mask = np.ones(width, dtype=dtype) if bias_mask is None else bias_mask
    model.set_mask(layer, bias_mask * alive.astype(dtype), key="b")
    model.set_mask(layer + 1, _weight_mask(model, layer + 1) * alive[:, None].astype(dtype))

