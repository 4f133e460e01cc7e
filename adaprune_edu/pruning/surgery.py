"""Structured surgery: turn a group-pruned network into a physically smaller dense one.

Masking a hidden neuron or a channel zeroes numbers but keeps every array the same size: the
network is exactly as big and as slow as before. Surgery deletes every slice of the unit's group
(:mod:`.groups`): for an MLP neuron the column of ``W[l]``, the entry of ``b[l]`` and the row of
``W[l+1]``; for a channel the filter, its bias, its BatchNorm entries (and running statistics),
and the input channel of the next convolution or the ``H*W`` rows of the dense layer after
``Flatten``. Channels tied by a residual add go from every layer of the tie at once.

Which units can go without changing a single output (in evaluation mode)?

- A **disconnected** unit: every weight that reads it is zero. Whatever it computes, nobody
  reads it -- through BatchNorm, pooling, ``Flatten`` and residual adds alike.
- A **constant** unit: its incoming weights (every producer's) are all zero. Its output is then
  the same for every input: ``c = act(b)`` for an MLP neuron -- *not* zero in general (ReLU with
  a positive bias gives ``c = b``, a sigmoid ``0.5`` even with a zero bias), ``act(BN(b))`` for a
  channel. Its contribution to the next layer is **folded** into that layer's bias,
  ``b_next += c * (the weights reading the unit)``, and then the unit is removed. With the fold,
  surgery is exact; without it, a ReLU neuron with a positive bias would silently change the
  outputs. A convolution that pads its input reads zeros at the border, not ``c``: a non-zero
  constant can only be folded into a dense layer or an unpadded convolution, and channels tied by
  a residual add are removed only when disconnected.

A unit removed by structured pruning (its whole group masked) is both. Removing units can create
new removable ones (a neuron whose only inputs were removed becomes constant; one whose only
readers were removed becomes disconnected), so :func:`shrink` repeats until nothing changes.
Input features and output units are never removed: the smaller network takes the same ``X``
and returns the same logits.

If every unit of a layer is removable, the layer keeps one placeholder unit with all-zero
weights in and out (a layer needs at least one unit); the network's output is then a constant,
and still equal to the masked model's.
"""
from __future__ import annotations

import copy as _copy

import numpy as np

from ..nn import MLP
from ..nn.activations import ACTIVATIONS
from ..nn.fold import fold_batchnorm  # re-exported: folding BatchNorm is surgery too
from .groups import Slice, layer_groups, unit_view

__all__ = ["removable_neurons", "shrink", "fold_batchnorm"]


def _check_model(model) -> None:
    if not isinstance(getattr(model, "layers", None), list) or not hasattr(model, "params"):
        raise TypeError(f"model must be an adaprune_edu.nn.MLP or Sequential, got {type(model).__name__}")


def _zero_units(array: np.ndarray, pieces, size: int) -> np.ndarray:
    """True for units whose entries in every one of ``pieces`` are all zero."""
    zero = np.ones(size, dtype=bool)
    for piece in pieces:
        zero &= ~unit_view(array[piece.param][piece.key] != 0, piece, size).any(axis=1)
    return zero


def _constant_output(model, groups, params, units: np.ndarray) -> np.ndarray | None:
    """The output of ``units`` when their incoming weights are zero: their steps applied to their bias.

    ``None`` when the constant cannot be computed from the unit alone (channels tied by an add).
    """
    if groups.tied:
        return None
    (producer,) = groups.producers
    value = params[producer]["b"][units].astype(np.float64)
    leaves = model.leaves()
    for kind, index in groups.steps:
        if kind == "batchnorm":
            bn = next(layer for layer, i in _param_layers(model) if i == index)
            gamma, beta = params[index]["gamma"][units], params[index]["beta"][units]
            value = gamma * (value - bn.running_mean[units]) / np.sqrt(bn.running_var[units] + bn.eps) + beta
        elif kind == "activation":
            value = ACTIVATIONS[leaves[index].name][0](value[None, :].copy())[0][0]
        # pooling and Flatten pass a constant map on unchanged
    return value


def _param_layers(model):
    """``(layer object, params index)`` for every layer with parameters."""
    found, index = [], 0
    for layer in model.leaves():
        if layer.n_param_dicts:
            found.append((layer, index))
            index += 1
    return found


def _foldable(model, groups, value: np.ndarray) -> bool:
    """Whether every reader can take the constant ``value`` into its bias (a padded Conv2D cannot)."""
    if not np.any(value != 0):
        return True  # nothing to fold
    layers = dict((i, layer) for layer, i in _param_layers(model))
    return not any(type(layers[p.param]).__name__ == "Conv2D" and layers[p.param].padding for p in groups.reads)


def _fold(groups, params, masks, units: np.ndarray, value: np.ndarray) -> None:
    """Add the constant outputs ``value`` of ``units`` into the readers' biases."""
    for piece in groups.reads:
        W = params[piece.param]["W"]
        reading = unit_view(W, piece, groups.size)[units]  # (units, repeat * rest)
        per_unit = reading.reshape(len(units), piece.repeat, -1, W.shape[-1])  # rest = (spatial..., n_out)
        shift = (value[:, None, None, None] * per_unit).sum(axis=(0, 1, 2)).astype(params[piece.param]["b"].dtype)
        params[piece.param]["b"] = params[piece.param]["b"] + shift
        bias_mask = masks[piece.param]["b"]
        if bias_mask is not None:  # a folded constant is a live parameter again
            masks[piece.param]["b"] = np.where(shift != 0, 1, bias_mask).astype(bias_mask.dtype)


def _removable(model, groups, params, masks, fold: bool) -> np.ndarray:
    """Units of ``groups`` that can go; with ``fold=True`` the constant ones are folded on the way."""
    incoming = [p for p in groups.own if p.key == "W"]
    constant = _zero_units(params, incoming, groups.size)
    disconnected = _zero_units(params, groups.reads, groups.size)
    to_fold = np.flatnonzero(constant & ~disconnected)
    if to_fold.size:
        value = _constant_output(model, groups, params, to_fold)
        if value is None or not _foldable(model, groups, value):
            constant[:] = False
        elif fold:
            _fold(groups, params, masks, to_fold, value)
    return constant | disconnected


def removable_neurons(model) -> list:
    """Which units of ``model`` could be removed right now (one pass, no cascade).

    Returns
    -------
    list of bool arrays, one of shape (size,) per :class:`.groups.LayerGroups` (for an MLP: per
    hidden layer); ``True`` where the unit is constant (incoming weights all zero, and its constant
    can be folded) or disconnected (every weight reading it is zero).
    """
    _check_model(model)
    model.apply_masks()
    params = [dict(p) for p in model.params]
    return [_removable(model, g, params, None, fold=False) for g in layer_groups(model)]


def _take(array: np.ndarray, piece: Slice, size: int, keep: np.ndarray) -> np.ndarray:
    return np.take(array, np.flatnonzero(np.tile(keep, piece.repeat)), axis=piece.axis)


def _mask_or_none(mask):
    """Keep a sliced mask only if it still prunes something."""
    if mask is None or np.all(mask == 1):
        return None
    return mask


def _cut(model, groups, params, masks, keep: np.ndarray) -> None:
    """Delete the units of ``groups`` where ``keep`` is False from every slice (and BatchNorm statistics)."""
    layers = dict((i, layer) for layer, i in _param_layers(model))
    for piece in groups.slices:
        params[piece.param][piece.key] = _take(params[piece.param][piece.key], piece, groups.size, keep)
        if masks[piece.param][piece.key] is not None:
            masks[piece.param][piece.key] = _take(masks[piece.param][piece.key], piece, groups.size, keep)
        if piece.key == "gamma":
            bn = layers[piece.param]
            bn.running_mean, bn.running_var = bn.running_mean[keep], bn.running_var[keep]


def _resize_layers(model) -> None:
    """Set every layer's size attributes from its (cut) parameters."""
    for layer, i in _param_layers(model):
        name, p = type(layer).__name__, model.params[i]
        if name == "Dense":
            layer.n_in, layer.n_out = p["W"].shape
        elif name == "Conv2D":
            layer.in_channels, layer.out_channels = p["W"].shape[2], p["W"].shape[3]
        elif name == "BatchNorm2D":
            layer.channels = p["gamma"].shape[0]


def shrink(model):
    """A physically smaller dense copy of ``model`` with removable units deleted.

    Parameters
    ----------
    model : MLP or Sequential
        Possibly masked; it is not modified.

    Returns
    -------
    MLP or Sequential
        The same layers with fewer hidden neurons / channels where units were removable (see the
        module docstring for the exact rule and the bias fold). An MLP comes back as a fresh MLP
        (same activation, loss, seed and dtype; ``layer_sizes`` keeps the input and output sizes).
        Its evaluation-mode outputs equal the masked model's (to float rounding, ~1e-6 in float32).
        Unstructured masks of the surviving weights are kept (sliced), so fine-tuning the smaller
        network keeps its pruned weights at zero; masks that no longer prune anything become ``None``.

    Examples
    --------
    >>> small = shrink(pruned)             # doctest: +SKIP
    >>> small.layer_sizes                  # doctest: +SKIP
    [64, 97, 41, 10]
    """
    _check_model(model)
    model.apply_masks()
    work = _copy.deepcopy(model)
    params, masks = work.params, work.masks
    changed = True
    while changed:
        changed = False
        for groups in layer_groups(work):
            removable = _removable(work, groups, params, masks, fold=True)
            if not removable.any():
                continue
            keep = ~removable
            if not keep.any():
                # Placeholder: one unit with zero weights in and out (contributes nothing).
                keep[0] = True
                for piece in groups.slices:
                    view = np.moveaxis(params[piece.param][piece.key], piece.axis, 0)
                    view[np.arange(piece.repeat) * groups.size] = 0
                if groups.size == 1:
                    continue
            _cut(work, groups, params, masks, keep)
            _resize_layers(work)
            changed = True
    work.masks = [{key: _mask_or_none(m) for key, m in layer_masks.items()} for layer_masks in masks]
    work.params = [{key: np.ascontiguousarray(a) for key, a in p.items()} for p in params]
    if type(model) is MLP:
        sizes = [work.params[0]["W"].shape[0]] + [p["W"].shape[1] for p in work.params]
        small = MLP(sizes, activation=model.activation, loss=model.loss_name, init=model.init, seed=model.seed,
                    dtype=model.dtype)
        small.params, small.masks = work.params, work.masks
    else:
        small = work
    small.apply_masks()
    return small
