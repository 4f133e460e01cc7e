"""One-shot pruning of a tiny transformer's linear layers with calibration tokens, block by block.

The per-layer methods are those of :mod:`.one_shot` (magnitude, Wanda, OBD, SparseGPT, Wanda's mask
plus SparseGPT's update, SparseGPT's mask without its update); what this module adds is the walk
through a :class:`~adaprune_edu.nn.transformer.TinyTransformer`. As SparseGPT does, the layers are
pruned *sequentially*: each one sees the inputs produced by the layers already pruned. In every block,
in forward order,

1. ``Wq``, ``Wk``, ``Wv`` read the same input (the block's first LayerNorm output): pruned together;
2. ``Wo`` reads the heads' outputs, recomputed with the pruned ``Wq``, ``Wk``, ``Wv``;
3. ``W1`` reads the second LayerNorm output, recomputed after the pruned attention;
4. ``W2`` reads the MLP's hidden activations, recomputed with the pruned ``W1``;

then the calibration tokens go through the pruned block into the next one. Embeddings, LayerNorms and
the output head are left dense (as in the SparseGPT and Wanda papers). Every linear layer's inputs
come from the block's own forward pass: the LayerNorm outputs, and the caches of the attention
(``Ycat``, the gated heads side by side) and of the MLP (``A``, its activations).

Calibration inputs of shape (batch, time, n_in) are flattened to (batch * time, n_in): every position
of every calibration sequence is one sample of the layer's reconstruction problem.
"""
from __future__ import annotations

import copy

import numpy as np

from .._checks import check_choice
from ..nn.layers.chain import forward_chain
from .one_shot import METHODS, parse_pattern, prune_layer

__all__ = ["LINEAR_KEYS", "block_input", "compare_transformer_methods", "linear_inputs", "linear_weights", "locate",
           "prune_transformer_one_shot", "weight_name"]

#: the linear weights of a block, grouped by the input they read, in forward order
LINEAR_GROUPS = (("attention", ("Wq", "Wk", "Wv")), ("attention", ("Wo",)), ("mlp", ("W1",)), ("mlp", ("W2",)))
LINEAR_KEYS = tuple(key for _, keys in LINEAR_GROUPS for key in keys)


def weight_name(block: int, key: str) -> str:
    """``"blocks.0.attention.Wq"`` for block 0's ``Wq``: the name used in results and reports."""
    part = "attention" if key in ("Wq", "Wk", "Wv", "Wo") else "mlp"
    return f"blocks.{block}.{part}.{key}"


def locate(model, name: str) -> tuple:
    """``(index, key)`` of a weight name: ``model.params[index][key]`` is the array, ``model.masks[index][key]``
    its mask."""
    group, _, key = name.rpartition(".")
    if key not in LINEAR_KEYS:
        raise ValueError(f"name={name!r} must end in one of {LINEAR_KEYS}, e.g. 'blocks.0.mlp.W1'")
    return model.index(group), key


def linear_weights(model) -> dict:
    """``{weight_name: array}`` of every pruned weight (the arrays themselves, not copies), in forward order."""
    names = [weight_name(i, key) for i in range(model.n_layers) for key in LINEAR_KEYS]
    return {name: model.params[locate(model, name)[0]][locate(model, name)[1]] for name in names}


def _block_params(model, block: int) -> list:
    """The four parameter dicts of block ``block``: ``[ln1, attention, ln2, mlp]``."""
    start = model.index(f"blocks.{block}.ln1")
    return model.params[start:start + 4]


def block_input(model, tokens, block: int = 0) -> np.ndarray:
    """What block ``block`` receives for ``tokens`` (batch, time): an array (batch, time, d_model)."""
    X, _ = forward_chain(model.layers[:2], model.params[:2], model._check(tokens))
    for i in range(block):
        X = model.blocks[i].forward(_block_params(model, i), X)[0]
    return X


def _block_linear_inputs(transformer_block, params, X, last: str = "W2") -> dict:
    """``{key: input of that weight}`` in one block for its input ``X`` (batch, time, d_model).

    The block is run only as far as the input of weight ``last`` (``"Wq"``, ``"Wo"``, ``"W1"`` or ``"W2"``).
    Each value has shape (batch * time, n_in), float64.
    """
    p_ln1, p_attention, p_ln2, p_mlp = params
    inputs = {"Wq": transformer_block.ln1.forward(p_ln1, X)[0]}
    if last != "Wq":
        out, cache = transformer_block.attention.forward(p_attention, inputs["Wq"])
        inputs["Wo"] = cache[7]  # the attention cache is (X, Wqkv, Q, K, V, P, Y, Ycat, gate)
        if last != "Wo":
            inputs["W1"] = transformer_block.ln2.forward(p_ln2, X + out)[0]
            if last != "W1":
                inputs["W2"] = transformer_block.mlp.forward(p_mlp, inputs["W1"])[1][2]  # cache (X, Z, A, T)
    flat = {key: np.asarray(value, dtype=np.float64).reshape(-1, value.shape[-1]) for key, value in inputs.items()}
    flat["Wk"] = flat["Wv"] = flat["Wq"]
    return flat


def linear_inputs(model, tokens) -> dict:
    """Every pruned weight's calibration inputs in the model as it is: ``{weight_name: X}``.

    Parameters
    ----------
    model : TinyTransformer
    tokens : array of ints of shape (batch, time), ``time <= model.context``

    Returns
    -------
    inputs : dict from names such as ``"blocks.0.mlp.W2"`` to arrays of shape (batch * time, n_in),
        float64, in forward order.
    """
    X = block_input(model, tokens, 0)
    inputs = {}
    for i, transformer_block in enumerate(model.blocks):
        params = _block_params(model, i)
        per_key = _block_linear_inputs(transformer_block, params, X)
        inputs.update({weight_name(i, key): per_key[key] for key in LINEAR_KEYS})
        X = transformer_block.forward(params, X)[0]
    return inputs


def prune_transformer_one_shot(model, calibration_tokens, method: str = "sparsegpt", sparsity: float | None = 0.5,
                               pattern=None, group: str = "per_output", damp: float = 0.01, blocksize: int = 128):
    """A pruned copy of a TinyTransformer: every block's linear layers, in order, on the pruned outputs.

    Parameters
    ----------
    model : TinyTransformer (left unchanged)
    calibration_tokens : array of ints of shape (n_sequences, time), ``time <= model.context``,
        e.g. 4 sequences of 128 tokens (512 samples per layer)
    method : one of :data:`~adaprune_edu.pruning.one_shot.METHODS` but ``"magnitude+lsq"``
    sparsity : float in [0, 1], the fraction of every output's weights removed (ignored with a pattern)
    pattern : None / "unstructured", or "N:M" such as "2:4" (groups of M along the inputs)
    group : "per_output" (Wanda's comparison group: each output loses the same fraction) or "layer"
        (one threshold per weight matrix, as OBD compares saliencies); not for the SparseGPT methods
    damp, blocksize : SparseGPT's dampening (fraction of the mean diagonal of ``H``) and block size

    Returns
    -------
    pruned : TinyTransformer with pruned ``Wq, Wk, Wv, Wo, W1, W2`` in every block, their masks set
        (``pruned.masks``), new weights for the methods that update.
    """
    allowed = tuple(m for m in METHODS if m != "magnitude+lsq")
    check_choice("method", method, allowed)
    if parse_pattern(pattern) is not None:
        sparsity = None
    calibration_tokens = model._check(calibration_tokens, name="calibration_tokens")
    pruned = copy.deepcopy(model)
    X = block_input(pruned, calibration_tokens, 0)
    for i, transformer_block in enumerate(pruned.blocks):
        params = _block_params(pruned, i)
        for part, keys in LINEAR_GROUPS:
            inputs = _block_linear_inputs(transformer_block, params, X, last=keys[0])[keys[0]]
            index = pruned.index(f"blocks.{i}.{part}")
            for key in keys:
                W_hat, mask = prune_layer(pruned.params[index][key], inputs, method, sparsity, pattern, group,
                                          damp, blocksize)
                pruned.params[index][key] = W_hat.astype(pruned.dtype)
                pruned.set_mask(index, key, mask)
        X = transformer_block.forward(params, X)[0]
    return pruned


def compare_transformer_methods(model, calibration_tokens, validation_tokens, methods, targets) -> dict:
    """Validation perplexity of every one-shot ``method`` at every target (a sparsity or an "N:M" pattern).

    Parameters
    ----------
    model : TinyTransformer (left unchanged)
    calibration_tokens : ints of shape (n_sequences, time), the inputs the layers are pruned on
    validation_tokens : ints of shape (n_windows, time + 1), inputs and next-token targets
    methods : iterable of method names; targets : iterable of floats in [0, 1] and "N:M" strings

    Returns
    -------
    perplexity : dict ``{(method, target): float}``
    """
    results = {}
    for target in targets:
        kwargs = {"pattern": target} if isinstance(target, str) else {"sparsity": target}
        for method in methods:
            pruned = prune_transformer_one_shot(model, calibration_tokens, method=method, **kwargs)
            results[method, target] = pruned.perplexity(validation_tokens)
    return results
