"""Pruning schedules: what sparsity to reach at each step.

A schedule only answers "which target sparsity at step ``t``?" (``sparsity_at``) and
"at which steps does it change?" (``steps``). What a step is -- an epoch, a batch, a
round of prune-and-fine-tune -- is up to the caller, who typically does::

    for step in schedule.steps:
        prune_to_sparsity(model, schedule.sparsity_at(step))
        model.fit(X, y, epochs=2, progress=False)

- :class:`OneShot`: everything at once (then fine-tune once, or not at all).
- :class:`Iterative`: prune-and-fine-tune in ``n_steps`` rounds (Han et al. 2015,
  "Learning both Weights and Connections for Efficient Neural Networks"), each round
  removing the same fraction of what is left.
- :class:`Polynomial`: gradual pruning during training (Zhu & Gupta 2017, "To prune, or
  not to prune"; TensorFlow Model Optimization's ``PolynomialDecay``): fast at first,
  when many weights are redundant, and slower as the network gets sparse.
"""
from __future__ import annotations

import numbers

import numpy as np

from .._checks import check_float, check_int

__all__ = ["OneShot", "Iterative", "Polynomial"]


def _check_sparsity(name: str, value) -> float:
    return check_float(name, value, minimum=0.0, maximum=1.0)


def _check_step(step) -> int:
    if isinstance(step, (bool, np.bool_)) or not isinstance(step, numbers.Integral):
        raise TypeError(f"step={step!r} must be an int")
    return int(step)


class OneShot:
    """Reach ``target`` in a single step.

    Parameters
    ----------
    target : float in [0, 1]
    step : int >= 0, the step at which pruning happens (before it, sparsity is 0)

    Examples
    --------
    >>> OneShot(0.9).sparsity_at(0)
    0.9
    """

    def __init__(self, target, step=0):
        self.target = _check_sparsity("target", target)
        self.step = check_int("step", step, minimum=0)

    @property
    def steps(self) -> list:
        """The steps at which the target changes: ``[step]``."""
        return [self.step]

    def sparsity_at(self, step) -> float:
        """``target`` from ``self.step`` on, 0 before."""
        return self.target if _check_step(step) >= self.step else 0.0

    def __repr__(self):
        return f"OneShot(target={self.target}, step={self.step})"


class Iterative:
    """Reach ``target`` in ``n_steps`` rounds that each prune the same fraction of what is left.

    After round ``k`` (1-based) the kept fraction is ``(1 - target) ** (k / n_steps)``, so
    every round removes ``amount_per_step = 1 - (1 - target) ** (1 / n_steps)`` of the
    weights still there. ``prune_model(model, schedule.amount_per_step)`` once per round
    follows this schedule (up to rounding), which is how PyTorch users write iterative
    magnitude pruning. Steps are numbered from 0: step ``t`` is round ``t + 1``.

    Parameters
    ----------
    target : float in [0, 1)
    n_steps : int >= 1

    Examples
    --------
    Three rounds to 87.5% sparsity keep 1/2, 1/4, 1/8:

    >>> s = Iterative(0.875, 3)
    >>> [round(s.sparsity_at(t), 4) for t in s.steps]
    [0.5, 0.75, 0.875]
    """

    def __init__(self, target, n_steps):
        self.target = _check_sparsity("target", target)
        if self.target == 1.0:
            raise ValueError("target=1.0 cannot be reached by pruning a fixed fraction of what is left; "
                             "allowed: a float in [0, 1); use OneShot(1.0) to remove everything")
        self.n_steps = check_int("n_steps", n_steps, minimum=1)

    @property
    def steps(self) -> list:
        """``[0, 1, ..., n_steps - 1]``."""
        return list(range(self.n_steps))

    @property
    def amount_per_step(self) -> float:
        """Fraction of the remaining weights that every round removes."""
        return 1.0 - (1.0 - self.target) ** (1.0 / self.n_steps)

    def sparsity_at(self, step) -> float:
        """``1 - (1 - target) ** ((step + 1) / n_steps)``: 0 before step 0, ``target`` from the last step on."""
        step = _check_step(step)
        if step < 0:
            return 0.0
        rounds = min(step + 1, self.n_steps)
        return 1.0 - (1.0 - self.target) ** (rounds / self.n_steps)

    def __repr__(self):
        return f"Iterative(target={self.target}, n_steps={self.n_steps})"


class Polynomial:
    """Automated gradual pruning (AGP) of Zhu & Gupta (2017).

    .. math:: s_t = s_f + (s_i - s_f) \\left(1 - \\frac{t - t_0}{n \\, \\Delta t}\\right)^{p}

    for ``t`` in ``{t0, t0 + dt, ..., t0 + n dt}``, with ``p = power`` (3 in the paper).
    Between pruning steps the target stays at the last pruning step's value; before
    ``t0`` it is ``s_i``, after ``t0 + n dt`` it is ``s_f``.

    Parameters
    ----------
    initial, final : float in [0, 1], ``initial <= final``
        ``s_i`` and ``s_f``.
    begin_step : int >= 0
        ``t0``.
    n_steps : int >= 1
        ``n``, the number of pruning steps after ``t0`` (there are ``n + 1`` pruning steps
        counting ``t0``, where the target is ``s_i``).
    frequency : int >= 1
        ``dt``, steps between two pruning steps.
    power : float > 0
        3 in the paper; 1 is a linear ramp.

    Examples
    --------
    >>> s = Polynomial(0.0, 0.8, begin_step=0, n_steps=4)
    >>> [round(s.sparsity_at(t), 4) for t in s.steps]
    [0.0, 0.4625, 0.7, 0.7875, 0.8]
    """

    def __init__(self, initial, final, begin_step, n_steps, frequency=1, power=3):
        self.initial = _check_sparsity("initial", initial)
        self.final = _check_sparsity("final", final)
        if self.initial > self.final:
            raise ValueError(f"initial={self.initial} is above final={self.final}; "
                             "a pruning schedule only increases sparsity (allowed: initial <= final)")
        self.begin_step = check_int("begin_step", begin_step, minimum=0)
        self.n_steps = check_int("n_steps", n_steps, minimum=1)
        self.frequency = check_int("frequency", frequency, minimum=1)
        self.power = check_float("power", power, minimum=0.0, strict_min=True)

    @property
    def end_step(self) -> int:
        """``t0 + n dt``, the last pruning step."""
        return self.begin_step + self.n_steps * self.frequency

    @property
    def steps(self) -> list:
        """The pruning steps ``[t0, t0 + dt, ..., t0 + n dt]``."""
        return [self.begin_step + k * self.frequency for k in range(self.n_steps + 1)]

    def sparsity_at(self, step) -> float:
        """The target sparsity at ``step`` (see the class docstring for the formula)."""
        step = _check_step(step)
        if step <= self.begin_step:
            return self.initial
        if step >= self.end_step:
            return self.final
        done = (step - self.begin_step) // self.frequency  # pruning steps taken since t0
        if done == 0:
            return self.initial
        progress = done / self.n_steps
        return self.final + (self.initial - self.final) * (1.0 - progress) ** self.power

    def __repr__(self):
        return (f"Polynomial(initial={self.initial}, final={self.final}, begin_step={self.begin_step}, "
                f"n_steps={self.n_steps}, frequency={self.frequency}, power={self.power})")
