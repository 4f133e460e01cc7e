"""Save and load a model (architecture, weights, masks) as one ``.npz`` file.

The file holds ``config`` (a JSON string), ``W{i}``/``b{i}`` for every layer and
``mask_W{i}``/``mask_b{i}`` for every mask that is set. ``np.load`` runs with
``allow_pickle=False``, so loading a file cannot execute code.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from .._files import atomic_write_bytes

FORMAT_VERSION = 1


def save_model(model, path) -> None:
    """Write ``model`` to ``path`` (``.npz`` is appended if missing), atomically."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(path.suffix + ".npz")
    config = {
        "format_version": FORMAT_VERSION,
        "layer_sizes": model.layer_sizes,
        "activation": model.activation,
        "loss": model.loss_name,
        "init": model.init,
        "seed": model.seed,
        "dtype": model.dtype.name,
    }
    arrays = {"config": np.array(json.dumps(config))}
    for i, (layer, masks) in enumerate(zip(model.params, model.masks)):
        for key in ("W", "b"):
            arrays[f"{key}{i}"] = layer[key]
            if masks[key] is not None:
                arrays[f"mask_{key}{i}"] = masks[key]
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())  # an interrupted save never leaves a half-written model


def load_model(path):
    """Read a model written by :func:`save_model`."""
    from .network import MLP

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path={str(path)!r} is not a file")
    try:
        with np.load(path, allow_pickle=False) as data:
            config = json.loads(str(data["config"]))
            arrays = {k: data[k] for k in data.files}
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"path={str(path)!r} is not a model saved by adaprune_edu: {exc}") from None
    if config.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"path={str(path)!r} has format_version={config.get('format_version')!r}; "
                         f"this version reads {FORMAT_VERSION}")
    model = MLP(config["layer_sizes"], activation=config["activation"], loss=config["loss"],
                init=config["init"], seed=config["seed"], dtype=config["dtype"])
    for i in range(model.n_layers):
        for key in ("W", "b"):
            model.params[i][key] = arrays[f"{key}{i}"].astype(model.dtype)
            mask = arrays.get(f"mask_{key}{i}")
            model.masks[i][key] = None if mask is None else mask.astype(model.dtype)
    return model
