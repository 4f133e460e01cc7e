"""Activation outliers in a transformer, measured and planted without changing the function.

Large language models have a few *outlier features*: input channels of the linear layers whose norms
over the tokens are 20-100x the median (Dettmers et al. 2022). They are why Wanda's score
``|W_ij| * ||X_i||`` beats plain magnitude there: a small weight on a loud channel matters. A tiny model
has none (:func:`input_norm_ratios` measures it), but they can be planted exactly.

In a pre-LN block a LayerNorm's output channel ``c`` is ``gamma_c * xhat_c + beta_c`` and is read only
by the rows ``c`` of the weights after it (``Wq``, ``Wk``, ``Wv`` after ``ln1``; ``W1`` after ``ln2``).
Multiplying ``gamma_c`` and ``beta_c`` by ``factor`` and those rows by ``1 / factor`` changes no product
``X @ W``: the model computes the same function, yet channel ``c`` is now loud and its weights small.
With a power of two (16, 32) the rescaling is exact in floating point, bit for bit.
"""
from __future__ import annotations

import copy

import numpy as np

from .._checks import check_choice, check_float, check_int
from .one_shot_transformer import linear_inputs

__all__ = ["READERS", "rescale_layernorm_channels", "loudest_channels", "input_norm_ratios", "plant_outliers"]

#: which weights read each LayerNorm of a block
READERS = {"ln1": ("attention", ("Wq", "Wk", "Wv")), "ln2": ("mlp", ("W1",))}


def rescale_layernorm_channels(model, block: int, norm: str, channels, factor: float):
    """A copy of ``model`` computing the same function with some LayerNorm channels ``factor`` times louder.

    Parameters
    ----------
    model : TinyTransformer (left unchanged)
    block : int, the block index
    norm : {"ln1", "ln2"}
    channels : list of ints in [0, d_model), the channels made louder
    factor : float > 0

    Returns
    -------
    rescaled : TinyTransformer; ``gamma[c]``, ``beta[c]`` times ``factor``, rows ``c`` of the readers divided by it.
    """
    block = check_int("block", block, minimum=0, maximum=model.n_layers - 1)
    check_choice("norm", norm, tuple(READERS))
    factor = check_float("factor", factor, minimum=0.0, strict_min=True)
    channels = np.asarray(channels)
    if channels.ndim != 1 or channels.size == 0 or not np.issubdtype(channels.dtype, np.integer) \
            or channels.min() < 0 or channels.max() >= model.d_model:
        raise ValueError(f"channels must be a non-empty list of ints in [0, {model.d_model}), got {channels.tolist()}")
    rescaled = copy.deepcopy(model)
    ln = rescaled.params[rescaled.index(f"blocks.{block}.{norm}")]
    ln["gamma"][channels] *= factor
    ln["beta"][channels] *= factor
    part, keys = READERS[norm]
    reader = rescaled.params[rescaled.index(f"blocks.{block}.{part}")]
    for key in keys:
        reader[key][channels, :] /= factor
    return rescaled


def loudest_channels(model, tokens, block: int, norm: str, count: int) -> np.ndarray:
    """The ``count`` channels of a LayerNorm that matter most: largest ``||X_c|| * ||W_c,:||`` over its readers.

    Returns an int array of shape (count,), the most important first.
    """
    check_choice("norm", norm, tuple(READERS))
    count = check_int("count", count, minimum=1, maximum=model.d_model)
    part, keys = READERS[norm]
    X = linear_inputs(model, tokens)[f"blocks.{block}.{part}.{keys[0]}"]
    reader = model.params[model.index(f"blocks.{block}.{part}")]
    weight_norms = np.sqrt(sum(np.sum(np.asarray(reader[key], np.float64) ** 2, axis=1) for key in keys))
    return np.argsort(-np.linalg.norm(X, axis=0) * weight_norms, kind="stable")[:count]


def plant_outliers(model, tokens, count: int, factor: float):
    """A copy of ``model`` with the ``count`` most important channels of every ``ln1`` and ``ln2`` made louder.

    Channels are chosen by :func:`loudest_channels` on ``tokens`` (batch, time); the function is unchanged.
    """
    rescaled = model
    for block in range(model.n_layers):
        for norm in READERS:
            channels = loudest_channels(model, tokens, block, norm, count)
            rescaled = rescale_layernorm_channels(rescaled, block, norm, channels, factor)
    return rescaled


def input_norm_ratios(model, tokens) -> dict:
    """``max_i ||X_i|| / median_i ||X_i||`` of every pruned weight's input channels ``X_i`` over ``tokens``.

    Returns ``{weight_name: ratio}``; LLMs reach 20-100, a tiny model stays in single digits.
    """
    ratios = {}
    for name, X in linear_inputs(model, tokens).items():
        norms = np.linalg.norm(X, axis=0)
        ratios[name] = float(norms.max() / np.median(norms[norms > 0]))
    return ratios

