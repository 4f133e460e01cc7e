"""Save and load a model (architecture, weights, masks, running statistics) as one ``.npz`` file.

Two formats, both read by :func:`load_model`:

- an ``MLP`` (format 1, unchanged since the first release): ``config`` (a JSON string with
  ``layer_sizes``, ``activation``, ...), ``W{i}``/``b{i}`` for every layer and
  ``mask_W{i}``/``mask_b{i}`` for every mask that is set;
- any other ``Sequential`` (format 2): ``config`` with every layer's type and arguments,
  ``param{k}_{key}`` for every parameter, ``mask{k}_{key}`` for every mask that is set, and
  ``buffer{j}_{name}`` for the running statistics of leaf layer ``j``.

``np.load`` runs with ``allow_pickle=False``, so loading a file cannot execute code.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from .._files import atomic_write_bytes

FORMAT_VERSION = 2


def layer_config(layer, params_of: dict | None = None) -> dict:
    """``{"type": class name, **constructor arguments}``, nested for residual blocks.

    ``params_of`` maps ``id(layer)`` to its parameter dict: the sizes are then read off the
    parameters (a network shrunk by surgery has smaller arrays than its layers were built with).
    """
    from .layers import BatchNorm2D, Conv2D, Dense, Residual

    if isinstance(layer, Residual):
        projection = None if layer.projection is None else layer_config(layer.projection, params_of)
        return {"type": "Residual", "layers": [layer_config(inner, params_of) for inner in layer.layers],
                "projection": projection}
    config = {"type": type(layer).__name__, **layer.config()}
    p = (params_of or {}).get(id(layer))
    if p is not None and isinstance(layer, Conv2D):
        config.update(in_channels=p["W"].shape[2], out_channels=p["W"].shape[3])
    elif p is not None and isinstance(layer, Dense):
        config.update(n_in=p["W"].shape[0], n_out=p["W"].shape[1])
    elif p is not None and isinstance(layer, BatchNorm2D):
        config.update(channels=p["gamma"].shape[0])
    return config


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


def _mlp_arrays(model) -> dict:
    """Format 1: what an MLP has always been saved as (the same bytes as before Sequential existed)."""
    config = {"format_version": 1, "layer_sizes": model.layer_sizes, "activation": model.activation,
              "loss": model.loss_name, "init": model.init, "seed": model.seed, "dtype": model.dtype.name}
    arrays = {"config": np.array(json.dumps(config))}
    for i, (layer, masks) in enumerate(zip(model.params, model.masks)):
        for key in ("W", "b"):
            arrays[f"{key}{i}"] = layer[key]
            if masks[key] is not None:
                arrays[f"mask_{key}{i}"] = masks[key]
    return arrays


def _sequential_arrays(model) -> dict:
    """Format 2: layer configs, parameters, masks and running statistics of any Sequential."""
    params_of = {id(layer): p for layer, p in zip(model.param_layers(), model.params)}
    config = {"format_version": FORMAT_VERSION, "class": "Sequential", "seed": model.seed,
              "dtype": model.dtype.name, "loss": model.loss_name,
              "layers": [layer_config(layer, params_of) for layer in model.layers]}
    arrays = {"config": np.array(json.dumps(config))}
    for k, (layer, masks) in enumerate(zip(model.params, model.masks)):
        for key, value in layer.items():
            arrays[f"param{k}_{key}"] = value
            if masks.get(key) is not None:
                arrays[f"mask{k}_{key}"] = masks[key]
    for j, values in enumerate(model.buffers()):
        for name, value in values.items():
            arrays[f"buffer{j}_{name}"] = value
    return arrays


def save_model(model, path) -> None:
    """Write ``model`` to ``path`` (``.npz`` is appended if missing), atomically."""
    from .network import MLP

    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(path.suffix + ".npz")
    arrays = _mlp_arrays(model) if isinstance(model, MLP) else _sequential_arrays(model)
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
    if config["format_version"] == 1:
        model = MLP(config["layer_sizes"], activation=config["activation"], loss=config["loss"],
                    init=config["init"], seed=config["seed"], dtype=config["dtype"])
        names = "{key}{k}", "mask_{key}{k}"
    else:
        model = Sequential([layer_from_config(c) for c in config["layers"]], loss=config["loss"],
                           seed=config["seed"], dtype=config["dtype"])
        names = "param{k}_{key}", "mask{k}_{key}"
    for k, layer in enumerate(model.params):
        for key in layer:
            layer[key] = arrays[names[0].format(key=key, k=k)].astype(model.dtype)
            mask = arrays.get(names[1].format(key=key, k=k))
            model.masks[k][key] = None if mask is None else mask.astype(model.dtype)
    for j, leaf in enumerate(model.leaves()):
        values = {name: arrays[f"buffer{j}_{name}"].astype(model.dtype) for name in leaf.buffers()
                  if f"buffer{j}_{name}" in arrays}
        if values:
            leaf.set_buffers(values)
    return model
