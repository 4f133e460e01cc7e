"""Masks on a whole network: what is pruned, and removing whole groups.

Reading: :func:`layer_sparsities` and :func:`global_sparsity` count masked ``W`` entries of the
Dense and Conv2D layers; :func:`neuron_masks` and :func:`neuron_sparsity` say which units of each
:class:`.groups.LayerGroups` (hidden neurons, channels) are gone.
Writing: :func:`set_neuron_mask` removes units the structured way -- the whole group of each
(for an MLP neuron: column ``j`` of ``W[l]``, ``b[l][j]`` and row ``j`` of ``W[l+1]``) -- so that
the network behaves exactly as if they were not there (and :mod:`.surgery` can cut them out).
"""
from __future__ import annotations

import numbers

import numpy as np

from .groups import alive_units, layer_groups, remove_units
from .registry import weight_layers

__all__ = ["layer_sparsities", "global_sparsity", "neuron_masks", "neuron_sparsity", "set_neuron_mask"]


def _weight_mask(model, layer: int) -> np.ndarray:
    """The W mask of ``model.params[layer]`` (ones when the layer has none)."""
    mask = model.masks[layer]["W"]
    return np.ones_like(model.params[layer]["W"]) if mask is None else mask


def layer_sparsities(model) -> list:
    """Fraction of each weight layer's ``W`` entries that a mask prunes, one float per Dense/Conv2D layer.

    Counted from the masks (``model.sparsity()`` counts zeros; the two agree unless an
    unmasked weight happens to be exactly zero).
    """
    return [float(np.mean(_weight_mask(model, i) == 0)) for i in weight_layers(model)]


def global_sparsity(model) -> float:
    """Fraction of all ``W`` entries (every Dense and Conv2D layer) that a mask prunes."""
    layers = weight_layers(model)
    pruned = sum(int(np.sum(_weight_mask(model, i) == 0)) for i in layers)
    return pruned / sum(model.params[i]["W"].size for i in layers)


def neuron_masks(model) -> list:
    """Which units are alive, one bool array of shape (size,) per :class:`LayerGroups` (hidden layer).

    A unit counts as removed (False) when its whole group is masked -- what
    :func:`set_neuron_mask` and structured pruning do. Unstructured pruning that happens
    to empty a row does not count here (:func:`.surgery.removable_neurons` finds those).
    """
    return [alive_units(model, g) for g in layer_groups(model)]


def neuron_sparsity(model) -> float:
    """Fraction of all prunable units (hidden neurons, channels) removed (0.0 when there are none)."""
    masks = neuron_masks(model)
    total = sum(m.size for m in masks)
    return 0.0 if total == 0 else sum(int(np.sum(~m)) for m in masks) / total


def set_neuron_mask(model, layer, alive) -> None:
    """Remove the units of layer of groups ``layer`` where ``alive`` is False.

    For an MLP this masks column ``j`` of ``W[layer]``, ``b[layer][j]`` and row ``j`` of
    ``W[layer + 1]`` for every removed ``j``; for a convolution, the filter, its bias and BatchNorm
    entries and every weight that reads the channel. On top of the masks already there
    (unstructured masks inside surviving units are kept).

    Parameters
    ----------
    model : MLP or Sequential
    layer : int, index into ``layer_groups(model)`` (for an MLP: a hidden layer, 0 <= layer < n_layers - 1)
    alive : bool array of shape (size,)

    Raises
    ------
    ValueError
        Wrong shape, or ``alive`` is True for a unit already removed: its weights are
        zero and cannot come back (restore a snapshot with ``model.set_state`` instead).
    """
    groups = layer_groups(model)
    if isinstance(layer, (bool, np.bool_)) or not isinstance(layer, numbers.Integral):
        raise TypeError(f"layer={layer!r} must be an int (index of a hidden layer)")
    if not 0 <= layer < len(groups):
        raise ValueError(f"layer={layer} is not a hidden layer of this model; allowed: 0 to {len(groups) - 1}")
    alive = np.asarray(alive)
    if alive.shape != (groups[layer].size,):
        width = groups[layer].size
        raise ValueError(f"alive has shape {alive.shape}; hidden layer {layer} has {width} neurons, "
                         f"so it must have shape ({width},)")
    if not (alive.dtype == bool or np.all((alive == 0) | (alive == 1))):
        raise ValueError("alive must hold booleans (True = keep the neuron)")
    revived = np.flatnonzero(alive.astype(bool) & ~alive_units(model, groups[layer]))
    if revived.size:
        raise ValueError(f"alive is True for neurons {revived.tolist()} of hidden layer {layer}, which are "
                         "already removed; pruning never un-prunes (restore a snapshot with model.set_state)")
    remove_units(model, groups[layer], alive)
