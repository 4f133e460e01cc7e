"""Structured surgery: turn a neuron-pruned network into a physically smaller dense one.

Masking a hidden neuron zeroes numbers but keeps every array the same size: the network is
exactly as big and as slow as before. Surgery deletes the neuron's column from ``W[l]``,
its entry from ``b[l]`` and its row from ``W[l+1]``, so the matrices really shrink.

Which hidden neurons can go without changing a single output?

- A **constant** neuron: its incoming column ``W[l][:, j]`` is all zero. Its pre-activation
  is the constant ``b[l][j]``, so its output is the constant ``c = act(b[l][j])`` for every
  input. That is *not* zero in general: ReLU with a positive bias gives ``c = b[l][j]``, a
  sigmoid gives ``c = 0.5`` even with a zero bias. Its contribution to the next layer,
  ``c * W[l+1][j, :]``, is the same for every input, so it is **folded** into the next bias,
  ``b[l+1] += c * W[l+1][j, :]``, and then the neuron is removed. With the fold, surgery is
  exact; without it, a ReLU neuron with a positive bias would silently change the outputs.
- A **disconnected** neuron: its outgoing row ``W[l+1][j, :]`` is all zero. Whatever it
  computes, nobody reads it.

A neuron removed by structured pruning (column, bias and outgoing row all masked) is both.
Removing neurons can create new removable ones (a neuron whose only inputs were removed
becomes constant; a neuron whose only readers were removed becomes disconnected), so
:func:`shrink` repeats until nothing changes. Input features and output units are never
removed: the smaller network takes the same ``X`` and returns the same logits.

If every neuron of a hidden layer is removable, the layer keeps one placeholder neuron with
all-zero weights in and out (an ``MLP`` layer needs at least one unit); the network's output
is then a constant, and still equal to the masked model's.
"""
from __future__ import annotations

import numpy as np

from ..nn import MLP
from ..nn.activations import ACTIVATIONS


def _constant_output(model, b: np.ndarray) -> np.ndarray:
    """``act(b)``: the output of neurons whose pre-activation is the constant ``b``."""
    act_forward = ACTIVATIONS[model.activation][0]
    return act_forward(b[None, :].copy())[0][0]


def removable_neurons(model) -> list:
    """Which hidden neurons of ``model`` could be removed right now (one pass, no cascade).

    Returns
    -------
    list of bool arrays, one of shape (hidden_l,) per hidden layer; ``True`` where the
    neuron's incoming column of ``W[l]`` is all zero (constant) or its outgoing row of
    ``W[l+1]`` is all zero (disconnected).
    """
    _check_model(model)
    model.apply_masks()
    flags = []
    for l in range(model.n_layers - 1):
        constant = ~np.any(model.params[l]["W"] != 0, axis=0)
        disconnected = ~np.any(model.params[l + 1]["W"] != 0, axis=1)
        flags.append(constant | disconnected)
    return flags


def _check_model(model) -> None:
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an adaprune_edu.nn.MLP, got {type(model).__name__}")


def _mask_or_none(mask):
    """Keep a sliced mask only if it still prunes something."""
    if mask is None or np.all(mask == 1):
        return None
    return mask


def shrink(model) -> MLP:
    """A physically smaller dense copy of ``model`` with removable hidden neurons deleted.

    Parameters
    ----------
    model : MLP
        Possibly masked; it is not modified.

    Returns
    -------
    MLP
        Same activation, loss, seed and dtype; ``layer_sizes`` keeps the input and output
        sizes and has fewer hidden units where neurons were removable (see the module
        docstring for the exact rule and the bias fold). Its ``predict`` and ``forward``
        equal the masked model's (to float rounding, ~1e-6 in float32). Unstructured masks
        of the surviving weights are kept (sliced), so fine-tuning the smaller network keeps
        its pruned weights at zero; masks that no longer prune anything become ``None``.

    Examples
    --------
    >>> small = shrink(pruned)             # doctest: +SKIP
    >>> small.layer_sizes                  # doctest: +SKIP
    [64, 97, 41, 10]
    """
    _check_model(model)
    model.apply_masks()
    Ws = [p["W"].copy() for p in model.params]
    bs = [p["b"].copy() for p in model.params]
    mWs = [None if m["W"] is None else m["W"].copy() for m in model.masks]
    mbs = [None if m["b"] is None else m["b"].copy() for m in model.masks]
    n_hidden = model.n_layers - 1

    def drop(l: int, keep: np.ndarray) -> None:
        """Delete the hidden neurons of layer ``l`` (0-based hidden index) where ``keep`` is False."""
        Ws[l], bs[l] = Ws[l][:, keep], bs[l][keep]
        Ws[l + 1] = Ws[l + 1][keep, :]
        if mWs[l] is not None:
            mWs[l] = mWs[l][:, keep]
        if mbs[l] is not None:
            mbs[l] = mbs[l][keep]
        if mWs[l + 1] is not None:
            mWs[l + 1] = mWs[l + 1][keep, :]

    changed = True
    while changed:
        changed = False
        for l in range(n_hidden):
            constant = ~np.any(Ws[l] != 0, axis=0)
            disconnected = ~np.any(Ws[l + 1] != 0, axis=1)
            removable = constant | disconnected
            if not removable.any():
                continue
            # Fold the constant outputs of constant (and still connected) neurons into the next bias.
            fold = constant & ~disconnected
            if fold.any():
                c = _constant_output(model, bs[l][fold])
                shift = (c[:, None] * Ws[l + 1][fold, :]).sum(axis=0).astype(bs[l + 1].dtype)
                bs[l + 1] = bs[l + 1] + shift
                if mbs[l + 1] is not None:  # a folded constant is a live parameter again
                    mbs[l + 1] = np.where(shift != 0, 1, mbs[l + 1]).astype(mbs[l + 1].dtype)
            keep = ~removable
            if not keep.any():
                # Placeholder: one neuron with zero weights in and out (contributes nothing).
                keep[0] = True
                Ws[l][:, 0], bs[l][0], Ws[l + 1][0, :] = 0, 0, 0
                if removable.size == 1:
                    continue
            drop(l, keep)
            changed = True

    sizes = [model.layer_sizes[0]] + [W.shape[1] for W in Ws]
    small = MLP(sizes, activation=model.activation, loss=model.loss_name, init=model.init,
                seed=model.seed, dtype=model.dtype)
    small.params = [{"W": np.ascontiguousarray(W), "b": b} for W, b in zip(Ws, bs)]
    small.masks = [{"W": _mask_or_none(mW), "b": _mask_or_none(mb)} for mW, mb in zip(mWs, mbs)]
    small.apply_masks()
    return small
