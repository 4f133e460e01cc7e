"""Attention-head pruning: score heads by the gradient of a gate, remove the least important, cut them out.

Every attention layer of a :class:`~adaprune_edu.nn.transformer.TinyTransformer` multiplies head
``h``'s output by ``head_gate[h]`` (1 by default). Michel et al. (2019, "Are sixteen heads really better
than one?") take the importance of a head as how much the loss depends on its gate,

    I_h = sum over calibration batches of | d loss / d gate_h |,

a first-order Taylor estimate of the loss change when the gate goes from 1 to 0. Heads are then removed
*globally*, the least important over all layers first, so a layer that needs its heads keeps them.

A head owns columns ``h * head_dim : (h + 1) * head_dim`` of ``Wq``, ``Wk``, ``Wv`` and the same rows of
``Wo``. :func:`remove_heads` deletes them (and the gate entry): the model gets smaller matrices and
computes what the model with those gates at 0 computes (:func:`gate_heads`). One head always stays in
every layer, so each attention layer remains a valid layer.

Heads are named by pairs ``(block, head)`` with indices of the model as given.
"""
from __future__ import annotations

import copy
import itertools

import numpy as np

from .._checks import check_int

__all__ = ["head_importance", "heads_by_importance", "random_heads", "allowed_removals", "gate_heads", "remove_heads",
           "n_heads", "compare_head_removal"]


def n_heads(model) -> list:
    """Heads per block, e.g. ``[4, 4]``; after :func:`remove_heads` the counts may differ."""
    return [model.params[model.index(f"blocks.{i}.attention")]["head_gate"].shape[0] for i in range(model.n_layers)]


def head_importance(model, tokens, batch_size: int = 8) -> list:
    """``sum over batches |d loss / d head_gate|`` of every head.

    Parameters
    ----------
    model : TinyTransformer
    tokens : array of ints of shape (n_sequences, time + 1): inputs and next-token targets
    batch_size : int >= 1, sequences per gradient (the absolute value is taken per batch)

    Returns
    -------
    importance : list with one float64 array of shape (n_heads of that block,) per block
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    tokens = model._check(tokens, extra=1)
    importance = [np.zeros(count) for count in n_heads(model)]
    for start in range(0, tokens.shape[0], batch_size):
        _, grads = model.loss(tokens[start:start + batch_size])
        for i in range(model.n_layers):
            importance[i] += np.abs(grads[model.index(f"blocks.{i}.attention")]["head_gate"])
    return importance


def _check_count(count, counts: list) -> int:
    removable = sum(counts) - len(counts)
    return check_int("count", count, minimum=0, maximum=removable)


def heads_by_importance(importance, count: int) -> list:
    """The ``count`` least important heads over all blocks, keeping at least one head per block.

    Parameters
    ----------
    importance : list of 1-D arrays, one per block (as :func:`head_importance` returns)
    count : int, heads to remove, at most ``total - n_blocks``

    Returns
    -------
    heads : sorted list of ``(block, head)`` pairs. Ties: the earlier block, then the earlier head, goes first.

    Examples
    --------
    >>> heads_by_importance([np.array([0.5, 0.1]), np.array([0.2, 0.05])], 2)
    [(0, 1), (1, 1)]
    """
    counts = [len(scores) for scores in importance]
    count = _check_count(count, counts)
    order = sorted((float(score), block, head) for block, scores in enumerate(importance)
                   for head, score in enumerate(scores))
    left, chosen = list(counts), []
    for _, block, head in order:
        if len(chosen) == count:
            break
        if left[block] > 1:
            left[block] -= 1
            chosen.append((block, head))
    return sorted(chosen)


def random_heads(counts, count: int, seed: int) -> list:
    """``count`` heads drawn uniformly among the removals that leave every block at least one head.

    ``counts`` is the number of heads per block (:func:`n_heads`); returns a sorted list of ``(block, head)``.
    """
    count = _check_count(count, list(counts))
    rng = np.random.default_rng(seed)
    heads = [(block, head) for block, n in enumerate(counts) for head in range(n)]
    while True:  # rejection sampling: uniform over the allowed subsets
        chosen = sorted(heads[k] for k in rng.choice(len(heads), size=count, replace=False))
        removed = np.bincount([block for block, _ in chosen], minlength=len(counts))
        if np.all(removed < np.asarray(counts)):
            return [(int(b), int(h)) for b, h in chosen]


def _check_heads(model, heads) -> dict:
    counts = n_heads(model)
    per_block = {}
    for pair in heads:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(f"heads must be (block, head) pairs, got {pair!r}")
        block = check_int("block", pair[0], minimum=0, maximum=model.n_layers - 1)
        head = check_int("head", pair[1], minimum=0, maximum=counts[block] - 1)
        per_block.setdefault(block, set()).add(head)
    for block, removed in per_block.items():
        if len(removed) == counts[block]:
            raise ValueError(f"heads would remove all {counts[block]} heads of block {block}; keep at least one")
    return per_block


def gate_heads(model, heads):
    """A copy of ``model`` with the gates of ``heads`` (``(block, head)`` pairs) set to 0."""
    per_block = _check_heads(model, heads)
    gated = copy.deepcopy(model)
    for block, removed in per_block.items():
        gated.params[gated.index(f"blocks.{block}.attention")]["head_gate"][sorted(removed)] = 0
    return gated


def remove_heads(model, heads):
    """A copy of ``model`` without ``heads``: smaller ``Wq``, ``Wk``, ``Wv`` (columns), ``Wo`` (rows) and gates.

    Masks on these weights are cut the same way. The copy computes what :func:`gate_heads` computes.
    """
    per_block = _check_heads(model, heads)
    smaller = copy.deepcopy(model)
    for block, removed in per_block.items():
        index = smaller.index(f"blocks.{block}.attention")
        p, m = smaller.params[index], smaller.masks[index]
        n = p["head_gate"].shape[0]
        head_dim = p["Wq"].shape[1] // n
        kept = [h for h in range(n) if h not in removed]
        columns = np.concatenate([np.arange(h * head_dim, (h + 1) * head_dim) for h in kept])
        for key, axis in (("Wq", 1), ("Wk", 1), ("Wv", 1), ("Wo", 0)):
            p[key] = np.ascontiguousarray(np.take(p[key], columns, axis=axis))
            if m[key] is not None:
                m[key] = np.ascontiguousarray(np.take(m[key], columns, axis=axis))
        p["head_gate"] = p["head_gate"][kept].copy()
        if m["head_gate"] is not None:
            m["head_gate"] = m["head_gate"][kept].copy()
    return smaller


def allowed_removals(counts, count: int) -> list:
    """Every set of ``count`` heads whose removal leaves each block a head: a list of sorted ``(block, head)`` lists.

    With 8 heads there are few (28 sets of 2, 68 of 4 in two blocks of 4), so a comparison with random
    removal can use all of them instead of a sample.
    """
    counts = list(counts)
    count = _check_count(count, counts)
    heads = [(block, head) for block, n in enumerate(counts) for head in range(n)]
    allowed = []
    for chosen in itertools.combinations(heads, count):
        removed = np.bincount([block for block, _ in chosen], minlength=len(counts))
        if np.all(removed < np.asarray(counts)):
            allowed.append(list(chosen))
    return allowed


def compare_head_removal(model, importance, count: int, validation_tokens, random_sets) -> dict:
    """Perplexity after removing ``count`` heads by importance and after each random removal.

    Parameters
    ----------
    model : TinyTransformer (left unchanged)
    importance : list of 1-D arrays, one per block (:func:`head_importance`)
    count : int, heads removed
    validation_tokens : ints of shape (n_windows, time + 1)
    random_sets : list of head lists (from :func:`random_heads` or :func:`allowed_removals`)

    Returns
    -------
    dict with ``"heads"`` (the heads chosen by importance), ``"importance"`` (its perplexity),
    ``"random"`` (array of perplexities, one per random set) and ``"beaten"`` (the fraction of random
    removals with a higher perplexity than removal by importance).
    """
    chosen = heads_by_importance(importance, count)
    by_importance = remove_heads(model, chosen).perplexity(validation_tokens)
    random = np.array([remove_heads(model, heads).perplexity(validation_tokens) for heads in random_sets])
    return {"heads": chosen, "importance": by_importance, "random": random,
            "beaten": float(np.mean(random > by_importance))}
