"""Save and load a model (architecture, weights, masks, running statistics) as one ``.npz`` file.

The file holds ``config`` (a JSON string: the class, ``MLP`` or ``Sequential``, and what
rebuilds it: an MLP's arguments, or every layer's type and arguments), ``param{k}_{key}`` for
every parameter, ``mask{k}_{key}`` for every mask that is set, and ``buffer{j}_{name}`` for
the running statistics of leaf layer ``j``. ``np.load`` runs with ``allow_pickle=False``, so
loading a file cannot execute code. Files of format 1 (MLPs saved by earlier versions, with
``W{i}``/``b{i}``/``mask_W{i}``/``mask_b{i}``) still load.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from .._files import atomic_write_bytes

FORMAT_VERSION = 2


def layer_config(layer) -> dict:
    """``{"type": class name, **constructor arguments}``, nested for residual blocks."""
    from .layers import Residual

    if isinstance(layer, Residual):
        projection = None if layer.projection is None else layer_config(layer.projection)
        return {"type": "Residual", "layers": [layer_config(inner) for inner in layer.layers], "projection": projection}
    return {"type": type(layer).__name__, **layer.config()}


def layer_from_config(config: dict):
    """The layer object described by :func:`layer_config`."""
    from .layers import LAYER_TYPES, Residual

    config = dict(config)
    kind = config.pop("type", None)
    if kind not in LAYER_TYPES:
        raise ValueError(f"unknown layer type {kind!r}; known: {sorted(LAYER_TYPES)}")
    if kind == "Residual":
        projection = config["projection"]
        return Residual([layer_from_config(c) for c in config["layers"]],
                        projection=None if projection is None else layer_from_config(projection))
    return LAYER_TYPES[kind](**config)


def _config(model) -> dict:
    from .network import MLP

    config = {"format_version": FORMAT_VERSION, "seed": model.seed, "dtype": model.dtype.name, "loss": model.loss_name}
    if isinstance(model, MLP):
        config.update({"class": "MLP", "layer_sizes": model.layer_sizes, "activation": model.activation,
                       "init": model.init})
    else:
        config.update({"class": "Sequential", "layers": [layer_config(layer) for layer in model.layers]})
    return config


def save_model(model, path) -> None:
    """Write ``model`` to ``path`` (``.npz`` is appended if missing), atomically."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(path.suffix + ".npz")
    arrays = {"config": np.array(json.dumps(_config(model)))}
    for k, (layer, masks) in enumerate(zip(model.params, model.masks)):
        for key, value in layer.items():
            arrays[f"param{k}_{key}"] = value
            if masks.get(key) is not None:
                arrays[f"mask{k}_{key}"] = masks[key]
    for j, values in enumerate(model.buffers()):
        for name, value in values.items():
            arrays[f"buffer{j}_{name}"] = value
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())  # an interrupted save never leaves a half-written model


def _read(path):
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path={str(path)!r} is not a file")
    try:
        with np.load(path, allow_pickle=False) as data:
            config = json.loads(str(data["config"]))
            arrays = {k: data[k] for k in data.files}
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"path={str(path)!r} is not a model saved by adaprune_edu: {exc}") from None
    if config.get("format_version") not in (1, FORMAT_VERSION):
        raise ValueError(f"path={str(path)!r} has format_version={config.get('format_version')!r}; "
                         f"this version reads 1 and {FORMAT_VERSION}")
    return config, arrays


def load_model(path):
    """Read a model written by :func:`save_model` (an ``MLP`` or a ``Sequential``)."""
    from .network import MLP
    from .sequential import Sequential

    config, arrays = _read(path)
    if config.get("class", "MLP") == "MLP":
        model = MLP(config["layer_sizes"], activation=config["activation"], loss=config["loss"],
                    init=config["init"], seed=config["seed"], dtype=config["dtype"])
    else:
        model = Sequential([layer_from_config(c) for c in config["layers"]], loss=config["loss"],
                           seed=config["seed"], dtype=config["dtype"])
    old = config["format_version"] == 1
    for k, layer in enumerate(model.params):
        for key in layer:
            name, mask_name = (f"{key}{k}", f"mask_{key}{k}") if old else (f"param{k}_{key}", f"mask{k}_{key}")
            layer[key] = arrays[name].astype(model.dtype)
            mask = arrays.get(mask_name)
            model.masks[k][key] = None if mask is None else mask.astype(model.dtype)
    for j, leaf in enumerate(model.leaves()):
        values = {name: arrays[f"buffer{j}_{name}"].astype(model.dtype) for name in leaf.buffers()
                  if f"buffer{j}_{name}" in arrays}
        if values:
            leaf.set_buffers(values)
    return model
