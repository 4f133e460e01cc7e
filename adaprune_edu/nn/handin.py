"""A trusted copy of a handed-in CNN: rebuilt from plain arrays, so grading never runs the student's code.

An autograded assignment asks for a model (``final_model``) and measures it on data the student
never saw. Calling ``final_model.predict`` would run whatever the student put there: a subclass,
an instance attribute named ``forward``, a layer whose ``forward`` prints. :func:`rebuild_cnn`
reads only plain data out of the handed-in object -- the instance dictionaries of the network and
of its layers, exact ``list``/``dict``/``ndarray`` objects, with exact types checked -- and builds a
fresh :func:`~adaprune_edu.nn.presets.cnn` of the same widths from copies of the arrays. No method
of the handed-in objects is called. Whatever the student's objects do, the copy computes the course's
forward pass with the student's numbers.

>>> from adaprune_edu.nn.presets import cnn
>>> copy = rebuild_cnn(cnn(channels=(4, 8)))
>>> [copy.params[i]["W"].shape[3] for i in (0, 2)]
[4, 8]
"""
from __future__ import annotations

import numpy as np

from .layers import BatchNorm2D, Conv2D, Dense, GlobalAvgPool2D, MaxPool2D, ReLU
from .presets import cnn
from .sequential import Sequential

__all__ = ["rebuild_cnn"]

_CONV_BLOCK = (Conv2D, BatchNorm2D, ReLU)


def _state(obj, what: str) -> dict:
    state = object.__getattribute__(obj, "__dict__")
    if type(state) is not dict:
        raise TypeError(f"{what} has an unusual __dict__ ({type(state).__name__}); hand in a network built by cnn()")
    return state


def _field(state: dict, key: str, kind, what: str):
    value = dict.get(state, key)
    if type(value) is not kind:
        raise TypeError(f"{what}.{key} must be a {kind.__name__}, got {type(value).__name__}")
    return value


def _array(value, what: str) -> np.ndarray:
    if type(value) is not np.ndarray or value.dtype.kind != "f":
        raise TypeError(f"{what} must be a float numpy.ndarray, got {type(value).__name__}")
    return np.array(value, dtype=np.float32)


def rebuild_cnn(model) -> Sequential:
    """A fresh float32 copy of a network shaped like :func:`~adaprune_edu.nn.presets.cnn` (any widths).

    Parameters
    ----------
    model : Sequential
        Exactly ``Sequential`` (no subclass) with the layers of ``cnn(channels, pool_after=2)``:
        (Conv2D, BatchNorm2D, ReLU) x2, MaxPool2D, (Conv2D, BatchNorm2D, ReLU) x k, GlobalAvgPool2D,
        Dense; any channel counts, e.g. after channel pruning and surgery.

    Returns
    -------
    Sequential
        ``cnn(channels)`` in evaluation mode holding copies of the parameters and running
        statistics; masks are not copied (the parameters already hold the masked values).

    Raises
    ------
    TypeError
        A subclass, a different layer sequence, a layer of another type, or parameters that are
        not plain float arrays of the expected shapes.
    """
    if type(model) is not Sequential:
        raise TypeError(f"model must be an adaprune_edu.nn.Sequential built by cnn(), got {type(model).__name__}")
    state = _state(model, "model")
    layers = _field(state, "layers", list, "model")
    params = _field(state, "params", list, "model")
    kinds = [type(layer) for layer in layers]
    n_blocks = (len(kinds) - 3) // 3
    expected = list(_CONV_BLOCK * 2) + [MaxPool2D] + list(_CONV_BLOCK * (n_blocks - 2)) + [GlobalAvgPool2D, Dense]
    if n_blocks < 2 or kinds != expected:
        raise TypeError("model.layers must be those of cnn(channels) with at least two convolutions, got "
                        + ", ".join(kind.__name__ for kind in kinds))
    widths = [_array(dict.get(p, "W"), f"params[{i}]['W']").shape[3]
              for i, p in enumerate(params[:2 * n_blocks:2]) if type(p) is dict]
    if len(params) != 2 * n_blocks + 1 or len(widths) != n_blocks:
        raise TypeError(f"model.params must hold {2 * n_blocks + 1} dicts, one per Conv2D, BatchNorm2D and Dense")
    copy = cnn(channels=widths).eval()
    for i, (theirs, ours) in enumerate(zip(params, copy.params)):
        if type(theirs) is not dict or sorted(theirs) != sorted(ours):
            raise TypeError(f"model.params[{i}] must be a dict with keys {sorted(ours)}")
        for key, target in ours.items():
            value = _array(dict.get(theirs, key), f"params[{i}][{key!r}]")
            if value.shape != target.shape:
                raise TypeError(f"model.params[{i}][{key!r}] has shape {value.shape}; {target.shape} expected")
            ours[key] = value
    for i, (theirs, ours) in enumerate(zip(layers, copy.layers)):
        if type(ours) is BatchNorm2D:
            layer_state = _state(theirs, f"model.layers[{i}]")
            for name in ("running_mean", "running_var"):
                value = _array(dict.get(layer_state, name), f"model.layers[{i}].{name}")
                if value.shape != getattr(ours, name).shape:
                    raise TypeError(f"model.layers[{i}].{name} has shape {value.shape}")
                setattr(ours, name, value)
            for name in ("eps", "momentum"):
                setattr(ours, name, float(_field(layer_state, name, float, f"model.layers[{i}]")))
    return copy
