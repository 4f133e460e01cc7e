"""Helpers the course notebooks need and no other module provides.

The interview bank's two coding exercises are kept verbatim, broken as they are, in
``adaprune_edu/course_seed/exercise{8,9}.txt``. Notebooks 06 and 07 read them with
:func:`original_exercise`, run them with :func:`run_source`, and fix them one defect at a
time with :func:`patch`, so that every defect is shown by running code, not only described.

Notebook 02 also needs two granularities the pruning package does not offer (it prunes single
weights and whole neurons): :func:`n_m_mask` (N:M semi-structured) and :func:`block_mask`. Their
masks go into a model with ``model.set_mask``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from ._checks import check_choice, check_int

_SEED_DIR = Path(__file__).resolve().parent / "course_seed"
EXERCISES = (8, 9)


def original_exercise(number: int) -> str:
    """The source code of coding exercise ``number`` (8 or 9) exactly as the question bank gives it."""
    check_choice("number", number, EXERCISES)
    return (_SEED_DIR / f"exercise{number}.txt").read_text(encoding="utf-8")


def patch(source: str, old: str, new: str, count: int = 1) -> str:
    """Replace ``old`` by ``new`` in ``source``, insisting that ``old`` occurs exactly ``count`` times.

    A fix that no longer matches the code it claims to fix is an error, not a silent no-op.

    Raises
    ------
    ValueError
        If ``old`` occurs a different number of times than ``count``.
    """
    if not isinstance(source, str) or not isinstance(old, str) or not isinstance(new, str):
        raise TypeError("source, old and new must all be str")
    if not old:
        raise ValueError("old='' matches everywhere; pass the exact text to replace")
    count = check_int("count", count, minimum=1)
    found = source.count(old)
    if found != count:
        raise ValueError(f"old={old!r} occurs {found} times in source; expected exactly count={count}")
    return source.replace(old, new)


def run_source(source: str, name: str = "<exercise>") -> dict:
    """Execute ``source`` in a fresh namespace and return that namespace.

    Exceptions propagate unchanged (that is the point: the notebooks show them). Tracebacks
    name ``name`` as the file, with the source's own line numbers.
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be str, got {type(source).__name__}")
    namespace = {"__name__": "__exercise__"}
    exec(compile(source, name, "exec"), namespace)  # noqa: S102 -- running the exercise is the lesson
    return namespace


def unused_parameters(source: str, function: str) -> list:
    """Parameters of ``def function(...)`` in ``source`` that its body never reads.

    Examples
    --------
    >>> unused_parameters("def f(a, b):\\n    return a\\n", "f")
    ['b']
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            params = [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs]
            read = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            return [p for p in params if p not in read]
    raise ValueError(f"function={function!r} is not defined in source")


def squared_error_gradients(X, y, weights, biases):
    """Gradients of exercise 8's loss ``sum((sigmoid(z_last) - y) ** 2)`` for its ReLU network.

    The network is the exercise's own: ``z_i = a_i @ W_i + b_i``, ReLU on every hidden layer,
    a sigmoid on the last ``z``. Notebook 06 plugs this in where the exercise's "gradient" was,
    so that the program runs and its prune-then-update loop can be watched.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_in)
    y : ndarray of shape (n_samples, n_out), the exercise's labels as a column (``(n_samples,)``
        is rejected: it broadcasts against the output, the exercise's defect 6)
    weights : list of ndarrays, ``weights[i]`` of shape (n_i, n_{i+1})
    biases : list of ndarrays, ``biases[i]`` of shape (n_{i+1},)

    Returns
    -------
    dW : list of ndarrays, same shapes as ``weights``
    db : list of ndarrays, same shapes as ``biases``
    """
    if len(weights) != len(biases) or not weights:
        raise ValueError(f"weights and biases must be non-empty lists of equal length, got {len(weights)} "
                         f"and {len(biases)}")
    activations, pre_activations = [np.asarray(X, dtype=float)], []
    for W, b in zip(weights, biases):
        pre_activations.append(activations[-1] @ W + b)
        activations.append(np.maximum(pre_activations[-1], 0))
    output = 1 / (1 + np.exp(-pre_activations[-1]))
    y = np.asarray(y, dtype=float)
    if y.shape != output.shape:
        raise ValueError(f"y has shape {y.shape}; it must match the output's shape {output.shape} "
                         f"(a column: (n_samples, 1) for one output)")
    delta = 2 * (output - y) * output * (1 - output)  # dL/dz of the last layer
    dW, db = [None] * len(weights), [None] * len(biases)
    for i in reversed(range(len(weights))):
        dW[i], db[i] = activations[i].T @ delta, delta.sum(axis=0)
        if i:
            delta = (delta @ weights[i].T) * (pre_activations[i - 1] > 0)
    return dW, db


def _check_matrix(W, name: str = "W") -> np.ndarray:
    W = np.asarray(W)
    if W.ndim != 2 or not np.issubdtype(W.dtype, np.number):
        raise ValueError(f"{name} must be a 2-D numeric array (n_in, n_out), got shape {W.shape} and dtype {W.dtype}")
    return W


def n_m_mask(W, n: int, m: int) -> np.ndarray:
    """N:M semi-structured mask: in every group of ``m`` consecutive inputs of a neuron, keep the ``n`` largest ``|w|``.

    This is the pattern sparse tensor cores accelerate (2:4 on NVIDIA Ampere and later): exactly
    ``1 - n/m`` of the weights are zero, spread evenly, so the hardware can skip them with a small
    fixed index per group. Groups run along the input axis (the reduction axis of ``X @ W``).

    Parameters
    ----------
    W : ndarray of shape (n_in, n_out), ``n_in`` a multiple of ``m``
    n, m : ints with ``0 <= n <= m``, ``m >= 1``

    Returns
    -------
    mask : ndarray of shape (n_in, n_out) of 0.0 / 1.0 (float64); ties keep the earlier input.

    Examples
    --------
    >>> n_m_mask(np.array([[1.0], [-4.0], [3.0], [2.0]]), 2, 4)[:, 0]
    array([0., 1., 1., 0.])
    """
    W = _check_matrix(W)
    m = check_int("m", m, minimum=1)
    n = check_int("n", n, minimum=0, maximum=m)
    if W.shape[0] % m:
        raise ValueError(f"W has {W.shape[0]} inputs, which is not a multiple of m={m}")
    groups = np.abs(W).reshape(W.shape[0] // m, m, W.shape[1])  # (n_groups, m, n_out)
    order = np.argsort(-groups, axis=1, kind="stable")
    mask = np.zeros(groups.shape)
    np.put_along_axis(mask, order[:, :n, :], 1.0, axis=1)
    return mask.reshape(W.shape)


def block_mask(W, block_shape, amount: float) -> np.ndarray:
    """Block-sparse mask: prune the fraction ``amount`` of ``block_shape`` tiles with the smallest L1 norm.

    Parameters
    ----------
    W : ndarray of shape (n_in, n_out), both divisible by the block's sides
    block_shape : pair of ints (rows, cols)
    amount : float in [0, 1], fraction of blocks removed (``round(amount * n_blocks)``)

    Returns
    -------
    mask : ndarray of shape (n_in, n_out) of 0.0 / 1.0 (float64); ties prune the earlier block.
    """
    W = _check_matrix(W)
    if not isinstance(block_shape, (tuple, list)) or len(block_shape) != 2:
        raise TypeError(f"block_shape={block_shape!r} must be a pair of ints like (4, 4)")
    rows, cols = (check_int(f"block_shape[{i}]", s, minimum=1) for i, s in enumerate(block_shape))
    if W.shape[0] % rows or W.shape[1] % cols:
        raise ValueError(f"W of shape {W.shape} cannot be tiled by blocks of {(rows, cols)}")
    if isinstance(amount, bool) or not isinstance(amount, (float, int)) or not 0 <= amount <= 1:
        raise ValueError(f"amount={amount!r} must be a float in [0, 1] (fraction of blocks removed)")
    tiles = np.abs(W).reshape(W.shape[0] // rows, rows, W.shape[1] // cols, cols).sum(axis=(1, 3))
    count = int(round(amount * tiles.size))
    keep = np.ones(tiles.size, dtype=bool)
    keep[np.argsort(tiles.ravel(), kind="stable")[:count]] = False
    return np.kron(keep.reshape(tiles.shape), np.ones((rows, cols)))


def prune_and_evaluate(model, target, data, fine_tune_epochs=5, fit_options=None, **prune_options):
    """Prune a copy of ``model`` to ``target`` and measure test accuracy before and after fine-tuning.

    The one experiment every comparison in the course repeats, so that all contenders get the
    same budget: same starting model, same target, same number of fine-tuning epochs.

    Parameters
    ----------
    model : MLP, trained; not modified
    target : float in [0, 1], passed to :func:`adaprune_edu.pruning.prune_to_sparsity`
    data : Dataset; pruning scores use the training split, accuracy the test split
    fine_tune_epochs : int >= 0
    fit_options : dict, optional
        Extra arguments for ``fit`` during fine-tuning, e.g. ``{"optimizer": "adam", "learning_rate": 1e-3}``.
    **prune_options : criterion, granularity, scope, seed, ... for ``prune_to_sparsity``

    Returns
    -------
    one_shot : float, test accuracy right after pruning
    fine_tuned : float, test accuracy after ``fine_tune_epochs`` epochs of training
    pruned : MLP, the fine-tuned pruned copy
    """
    from .pruning import prune_to_sparsity

    fine_tune_epochs = check_int("fine_tune_epochs", fine_tune_epochs, minimum=0)
    pruned = prune_to_sparsity(model.copy(), target, X=data.X_train, y=data.y_train, **prune_options)
    one_shot = pruned.score(data.X_test, data.y_test)
    pruned.fit(data.X_train, data.y_train, epochs=fine_tune_epochs, progress=False, **(fit_options or {}))
    return one_shot, pruned.score(data.X_test, data.y_test), pruned
