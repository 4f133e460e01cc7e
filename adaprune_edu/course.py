"""Helpers the course notebooks need and no other module provides.

The interview bank's two coding exercises are kept verbatim, broken as they are, in
``adaprune_edu/course_seed/exercise{8,9}.txt``. Notebooks 06 and 07 read them with
:func:`original_exercise`, run them with :func:`run_source`, and fix them one defect at a
time with :func:`patch`, so that every defect is shown by running code, not only described.

:func:`n_m_mask` and :func:`block_mask` (N:M and block masks) now live in
:mod:`adaprune_edu.pruning.patterns`; the names here are re-exports kept for old code.
"""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from ._checks import check_choice, check_int
from .pruning.patterns import block_mask, n_m_mask

_SEED_DIR = Path(__file__).resolve().parent / "course_seed"
EXERCISES = (8, 9)
__all__ = ["original_exercise", "patch", "run_source", "unused_parameters", "prune_and_evaluate",
           "n_m_mask", "block_mask"]


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
