"""How much to prune: turning ``amount`` into a number of entries.

The rule is PyTorch's (``torch.nn.utils.prune``), so what a learner writes here
means the same thing there:

- an ``int`` is an exact count: ``amount=3`` prunes 3 entries;
- a ``float`` in [0, 1] is a fraction of ``n``, rounded with Python's :func:`round`
  (half to even): ``amount=0.4`` of 17 entries prunes ``round(6.8) = 7``.

Beware the classic slip: ``amount=1`` is *one* entry, ``amount=1.0`` is *all* of them.

When a mask already exists, ``n`` is what is still unpruned, so pruning 20% twice
leaves ``0.8 * 0.8 = 64%`` of the weights (36% pruned), not 60%.
"""
from __future__ import annotations

import numbers

import numpy as np


def _check_amount_type(amount, name: str) -> None:
    """Raise ``TypeError`` unless ``amount`` is a real number (and not a bool)."""
    if isinstance(amount, (bool, np.bool_)) or not isinstance(amount, numbers.Real):
        raise TypeError(
            f"{name}={amount!r} has type {type(amount).__name__}; it must be an int (a count) "
            "or a float in [0, 1] (a fraction)"
        )


def compute_count(amount, n, name: str = "amount") -> int:
    """Number of entries to prune out of ``n`` for a PyTorch-style ``amount``.

    Parameters
    ----------
    amount : int or float
        ``int`` >= 0: an exact count, at most ``n``. ``float`` in [0, 1]: a fraction of
        ``n``, rounded with Python's :func:`round` (half to even, as PyTorch does).
    n : int >= 0
        How many entries (or neurons) could be pruned, i.e. those still unpruned.
    name : str
        Argument name used in error messages.

    Returns
    -------
    count : int in [0, n]

    Raises
    ------
    TypeError
        ``amount`` is not a number (a bool counts as not a number).
    ValueError
        A float outside [0, 1] (or NaN), a negative int, or an int larger than ``n``.

    Examples
    --------
    >>> compute_count(0.4, 17)
    7
    >>> compute_count(3, 10)
    3
    >>> compute_count(0.5, 5)   # round(2.5) == 2: half to even
    2
    """
    _check_amount_type(amount, name)
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"n={n!r} must be a non-negative int (the number of entries that can be pruned)")
    n = int(n)
    if isinstance(amount, numbers.Integral):
        count = int(amount)
        if count < 0:
            raise ValueError(f"{name}={count} must be a float in [0, 1] or a non-negative int")
        if count > n:
            raise ValueError(f"{name}={count} is larger than the {n} entries that are left to prune; "
                             f"allowed: an int in [0, {n}] or a float in [0, 1]")
        return count
    fraction = float(amount)
    if not 0.0 <= fraction <= 1.0:  # also rejects NaN
        raise ValueError(f"{name}={amount!r} must be a float in [0, 1] or a non-negative int")
    return int(round(fraction * n))


def fraction_of_remaining(current: float, target: float) -> float:
    """The ``amount`` (fraction of what is left) that moves sparsity from ``current`` to ``target``.

    Going from 50% to 75% sparsity prunes half of the remaining half:
    ``(0.75 - 0.5) / (1 - 0.5) = 0.5``.

    Parameters
    ----------
    current, target : float in [0, 1], ``target >= current``; ``current < 1`` unless both are 1.

    Returns
    -------
    amount : float in [0, 1]
    """
    for name, value in (("current", current), ("target", target)):
        _check_amount_type(value, name)
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{name}={value!r} must be a sparsity in [0, 1]")
    current, target = float(current), float(target)
    if target < current:
        raise ValueError(f"target={target} is below current={current}; pruning never un-prunes")
    if current == 1.0:
        return 0.0
    return (target - current) / (1.0 - current)
