"""One-shot pruning with calibration data: no fine-tuning, a few hundred samples, layer by layer.

This is how large language models are pruned since 2023 (SparseGPT, Wanda), and it works on
any network made of dense layers, so here it runs on the course's MLP. For each layer in order:

1. run the calibration samples through the network *as pruned so far* and collect the layer's
   inputs ``X`` (n_samples, n_in) (each layer is pruned against what it will really see);
2. score the weights and choose a mask, per output neuron (``"per_output"``, Wanda's comparison
   group), over the whole layer (``"layer"``), or in an N:M pattern along the inputs (``"2:4"``);
3. optionally correct the kept weights so the layer's outputs on ``X`` change as little as
   possible (:mod:`.reconstruction`).

Scores, all of shape (n_in, n_out) like ``W``:

- ``magnitude``: ``|W_ij|``;
- ``wanda`` (Sun et al. 2023): ``|W_ij| * ||X_i||_2``, the weight times the norm of the input it
  multiplies: a small weight on a large input matters more than a large weight on a silent one;
- ``obd`` (LeCun et al. 1990) on this layer's reconstruction loss: ``1/2 W_ij^2 H_ii`` with
  ``H = X^T X``, so ``H_ii = ||X_i||^2`` and the score is Wanda's score squared, halved: it ranks the
  weights exactly as Wanda does. (OBD on the *training loss* Hessian is a different criterion.)

Methods (``method=``): ``"magnitude"``, ``"wanda"``, ``"obd"`` (masks only, weights unchanged);
``"sparsegpt"`` (SparseGPT chooses the mask and updates the weights); ``"wanda+update"`` (Wanda's mask,
SparseGPT's update: choosing vs reconstructing separated); ``"sparsegpt-mask"`` (SparseGPT's mask on
the original weights, no update); ``"magnitude+lsq"`` (magnitude mask, exact least-squares update).
"""
from __future__ import annotations

import numpy as np

from .._checks import check_choice, check_float
from .amount import compute_count
from .masks import prune_lowest
from .patterns import n_m_mask
from .reconstruction import layer_hessian, least_squares_update, sparsegpt, sparsegpt_mask

__all__ = ["METHODS", "calibration_inputs", "one_shot_scores", "one_shot_mask", "prune_layer", "prune_one_shot",
           "parse_pattern", "compare_methods", "rescale_neurons"]

METHODS = ("magnitude", "wanda", "obd", "sparsegpt", "wanda+update", "sparsegpt-mask", "magnitude+lsq")
_SCORED = {"magnitude": "magnitude", "wanda": "wanda", "obd": "obd", "wanda+update": "wanda",
           "magnitude+lsq": "magnitude"}


def parse_pattern(pattern) -> tuple | None:
    """``"2:4"`` -> ``(2, 4)``; ``"unstructured"`` or None -> None (a sparsity is then required)."""
    if pattern is None or pattern == "unstructured":
        return None
    if isinstance(pattern, str) and pattern.count(":") == 1:
        n, m = pattern.split(":")
        if n.isdigit() and m.isdigit() and 0 < int(n) <= int(m):
            return int(n), int(m)
    raise ValueError(f"pattern={pattern!r} must be 'unstructured' or 'N:M' with 0 < N <= M, e.g. '2:4'")


def one_shot_scores(W, X, score: str) -> np.ndarray:
    """Importance of every weight of one layer from its calibration inputs.

    Parameters
    ----------
    W : ndarray of shape (n_in, n_out)
    X : ndarray of shape (n_samples, n_in), the layer's inputs
    score : {"magnitude", "wanda", "obd"}

    Returns
    -------
    scores : ndarray of shape (n_in, n_out), float64, higher = more important

    Examples
    --------
    >>> W = np.array([[1.0, -2.0], [3.0, 0.5]])
    >>> X = np.array([[3.0, 0.0], [4.0, 1.0]])          # ||X_0|| = 5, ||X_1|| = 1
    >>> one_shot_scores(W, X, "wanda")
    array([[ 5. , 10. ],
           [ 3. ,  0.5]])
    """
    check_choice("score", score, ("magnitude", "wanda", "obd"))
    W = np.asarray(W, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or W.ndim != 2 or X.shape[1] != W.shape[0]:
        raise ValueError(f"X (n_samples, n_in) and W (n_in, n_out) must agree on n_in; got X {X.shape}, W {W.shape}")
    if score == "magnitude":
        return np.abs(W)
    input_norms = np.sqrt(np.sum(X ** 2, axis=0))  # ||X_i||_2, shape (n_in,)
    if score == "wanda":
        return np.abs(W) * input_norms[:, None]
    return 0.5 * W ** 2 * (input_norms ** 2)[:, None]  # obd: 1/2 w^2 H_ii


def one_shot_mask(scores, sparsity: float | None = None, pattern=None, group: str = "per_output") -> np.ndarray:
    """0/1 mask (1 = kept) of ``scores``' shape from scores.

    ``pattern="2:4"``: in every group of 4 consecutive inputs of each output, keep the 2 best
    (:func:`~adaprune_edu.pruning.patterns.n_m_mask`). Otherwise ``sparsity`` (float in [0, 1]) of
    the weights go: the lowest ``round(sparsity * n_in)`` of every output (``group="per_output"``) or the
    lowest ``round(sparsity * size)`` of the layer (``group="layer"``). Ties: the earlier entry goes first.
    """
    scores = np.asarray(scores, dtype=np.float64)
    n_m = parse_pattern(pattern)
    if n_m is not None:
        if sparsity is not None:
            raise ValueError(f"give a pattern ({pattern!r}) or a sparsity ({sparsity!r}), not both")
        return n_m_mask(scores, *n_m).astype(np.float64)
    sparsity = check_float("sparsity", sparsity, minimum=0.0, maximum=1.0)
    check_choice("group", group, ("per_output", "layer"))
    everything = np.ones(scores.shape, dtype=bool)
    if group == "layer":
        return prune_lowest(scores, everything, compute_count(sparsity, scores.size, "sparsity")).astype(np.float64)
    count = compute_count(sparsity, scores.shape[0], "sparsity")  # per output column
    return prune_lowest(scores, everything, count, axis=0).astype(np.float64)


def prune_layer(W, X, method: str, sparsity: float | None = None, pattern=None, group: str = "per_output",
                damp: float = 0.01, blocksize: int = 128):
    """Prune one layer's ``W`` (n_in, n_out) given its calibration inputs ``X`` (n_samples, n_in).

    Returns ``(W_hat, mask)``, both of shape (n_in, n_out), float64; ``W_hat`` is zero where ``mask`` is 0.
    """
    check_choice("method", method, METHODS)
    W = np.asarray(W, dtype=np.float64)
    if method in ("sparsegpt", "sparsegpt-mask"):
        if group != "per_output":
            raise ValueError(f"group={group!r}: SparseGPT chooses its mask block by block; use group='per_output'")
        H = layer_hessian(X)
        n_m = parse_pattern(pattern)
        choice = {"sparsity": None if n_m else check_float("sparsity", sparsity, 0.0, 1.0), "n_m": n_m,
                  "blocksize": blocksize, "damp": damp}
        if method == "sparsegpt":
            return sparsegpt(W, H, **choice)
        mask = sparsegpt_mask(W, H, **choice)  # the mask only: no weight update is computed past the last choice
        return W * mask, mask
    mask = one_shot_mask(one_shot_scores(W, X, _SCORED[method]), sparsity, pattern, group)
    if method == "wanda+update":
        return sparsegpt(W, layer_hessian(X), mask=mask, blocksize=blocksize, damp=damp)
    if method == "magnitude+lsq":
        H = layer_hessian(X)
        H[np.diag_indices_from(H)] += damp * np.mean(np.diag(H)) + (np.diag(H) == 0)
        return least_squares_update(W, H, mask), mask
    return W * mask, mask


def calibration_inputs(model, X, layer: int) -> np.ndarray:
    """The inputs ``layer`` of ``model`` sees for samples ``X`` (n_samples, n_features): (n_samples, n_in)."""
    if layer == 0:
        return np.asarray(X, dtype=np.float64)
    _, hidden = model.forward(X, return_hidden=True)
    return np.asarray(hidden[layer - 1], dtype=np.float64)


def prune_one_shot(model, X_calibration, method: str = "sparsegpt", sparsity: float | None = 0.5, pattern=None,
                   group: str = "per_output", layers=None, damp: float = 0.01, blocksize: int = 128):
    """A pruned copy of an MLP, layer by layer on the outputs of the layers already pruned.

    Parameters
    ----------
    model : MLP (left unchanged)
    X_calibration : ndarray of shape (n_samples, n_features), e.g. 128 training samples
    method : one of :data:`METHODS`
    sparsity : float in [0, 1], fraction of each layer's weights removed (ignored with a pattern)
    pattern : None / "unstructured", or "N:M" such as "2:4"
    group : "per_output" (each output neuron loses the same fraction) or "layer"
    layers : iterable of layer indices to prune (default: every layer)

    Returns
    -------
    pruned : MLP with masks set on the pruned layers' ``W`` and, for the update methods, new weights.
    """
    check_choice("method", method, METHODS)
    if parse_pattern(pattern) is not None:
        sparsity = None
    pruned = model.copy()
    layers = range(model.n_layers) if layers is None else sorted(set(layers))
    for layer in layers:
        if not 0 <= layer < model.n_layers:
            raise ValueError(f"layers contains {layer}; the model has layers 0..{model.n_layers - 1}")
        X = calibration_inputs(pruned, X_calibration, layer)
        W_hat, mask = prune_layer(pruned.params[layer]["W"], X, method, sparsity, pattern, group, damp, blocksize)
        pruned.params[layer]["W"] = W_hat.astype(pruned.dtype)
        pruned.set_mask(layer, mask.astype(pruned.dtype))
    return pruned


def compare_methods(model, X_calibration, X_val, y_val, methods=METHODS, targets=(0.5, 0.7, 0.8, 0.9, "2:4")):
    """Validation accuracy of every one-shot ``method`` at every target (a sparsity or an "N:M" pattern).

    Returns ``{(method, target): accuracy}``; the model is left unchanged.
    """
    results = {}
    for target in targets:
        kwargs = {"pattern": target} if isinstance(target, str) else {"sparsity": target}
        for method in methods:
            pruned = prune_one_shot(model, X_calibration, method=method, **kwargs)
            results[method, target] = pruned.score(X_val, y_val)
    return results


def rescale_neurons(model, layer: int, neurons, factor: float):
    """A copy of a ReLU MLP computing the same function, with some hidden neurons ``factor`` times louder.

    ReLU is positively homogeneous, ``max(c z, 0) = c max(z, 0)`` for ``c > 0``: scaling hidden neuron
    ``j`` of hidden layer ``layer`` (column ``j`` of ``W[layer]`` and ``b[layer][j]``) by ``c`` and its
    outgoing weights (row ``j`` of ``W[layer + 1]``) by ``1 / c`` changes no output. With a power of two
    (16, 32) the scaling is exact in floating point. It makes these neurons *outliers*: inputs of the
    next layer with a large norm and small weights, which is what LLMs have and what Wanda is built for.
    """
    if model.activation != "relu":
        raise ValueError(f"rescale_neurons needs a ReLU network (positive homogeneity); got {model.activation!r}")
    if not 0 <= layer < model.n_layers - 1:
        raise ValueError(f"layer={layer} must be a hidden layer, 0..{model.n_layers - 2}")
    factor = check_float("factor", factor, minimum=0.0)
    if factor == 0:
        raise ValueError("factor must be positive, got 0")
    neurons = np.asarray(neurons, dtype=int)
    width = model.params[layer]["W"].shape[1]
    if neurons.ndim != 1 or neurons.size == 0 or neurons.min() < 0 or neurons.max() >= width:
        raise ValueError(f"neurons must be a non-empty list of indices in 0..{width - 1}, got {neurons.tolist()}")
    scaled = model.copy()
    scaled.params[layer]["W"][:, neurons] *= factor
    scaled.params[layer]["b"][neurons] *= factor
    scaled.params[layer + 1]["W"][neurons, :] /= factor
    return scaled
