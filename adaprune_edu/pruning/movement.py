"""Movement pruning (Sanh et al. 2020): during fine-tuning, prune what moves towards zero.

Magnitude pruning asks "which weights are large?". When a pretrained network is
fine-tuned on a new task, that mostly tells what mattered for the *old* task. Movement
pruning asks "which weights is fine-tuning pushing away from zero?": the first-order score

    S = - sum over steps of  w * dL/dw

grows when a weight and its update agree in sign (``w > 0`` and the update ``-dL/dw > 0``
increases it). :class:`MovementScores` accumulates ``S`` at every optimizer step (it wraps
the optimizer, so the existing training loop needs no change); :class:`GradualPruning` is
such an optimizer that, every few steps, also prunes the lowest scores (movement or
magnitude) of each pruned layer to the target of a cubic schedule (Zhu & Gupta 2017).
Pruning every few steps, not once an epoch, matters: with a dozen large pruning steps
movement lost its edge over magnitude here. Masks only grow: a pruned weight is zero, so
its score stops changing.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_choice, check_int
from ..nn import MLP
from ..nn.optim import Optimizer, make_optimizer
from .masks import prune_lowest
from .schedules import Polynomial

__all__ = ["MovementScores", "GradualPruning", "cubic_schedule", "with_new_head"]


class MovementScores(Optimizer):
    """An optimizer that also accumulates movement scores ``S -= w * g`` for every ``W``.

    Parameters
    ----------
    optimizer : "sgd", "momentum", "adam" or an ``Optimizer``; it does the actual update
    learning_rate : float, optional

    Attributes
    ----------
    scores : list of float64 ndarrays, one (n_in, n_out) per layer (``None`` before the first step)
    """

    def __init__(self, optimizer="adam", learning_rate=None):
        self.inner = make_optimizer(optimizer, learning_rate)
        self.scores = None

    @property
    def learning_rate(self):
        return self.inner.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.inner.learning_rate = value

    @property
    def state(self):
        return self.inner.state

    def step(self, params, grads):
        if self.scores is None:
            self.scores = [np.zeros(p["W"].shape) for p in params]
        for score, layer, layer_grads in zip(self.scores, params, grads):
            score -= layer["W"] * layer_grads["W"]
        self.inner.step(params, grads)

    def apply_masks(self, masks):
        self.inner.apply_masks(masks)

    def reset(self):
        self.inner.reset()
        self.scores = None


def cubic_schedule(final, total_steps, warmup=0.1, cooldown=0.3) -> Polynomial:
    """Sparsity 0 for the first ``warmup`` of the steps, a cubic ramp to ``final``, and
    ``final`` held for the last ``cooldown`` (Sanh et al.'s schedule)."""
    total_steps = check_int("total_steps", total_steps, minimum=2)
    begin = int(round(warmup * total_steps))
    end = total_steps - int(round(cooldown * total_steps))
    if end <= begin:
        raise ValueError(f"total_steps={total_steps} leaves no step to prune in between warmup={warmup} and "
                         f"cooldown={cooldown}; use more steps or shorter warm-up / cool-down")
    return Polynomial(0.0, final, begin_step=begin, n_steps=end - begin, power=3)


class GradualPruning(MovementScores):
    """An optimizer that prunes while it trains: every ``frequency`` steps, each layer in
    ``layers`` is pruned to ``schedule.sparsity_at(step)`` by the lowest scores.

    The training loop re-applies ``model.masks`` (to weights and optimizer state) right
    after every optimizer step, so a mask changed here takes effect at once.

    Parameters
    ----------
    model : MLP, the model this optimizer will train
    schedule : an object with ``sparsity_at(step)`` (steps = mini-batches), e.g. :func:`cubic_schedule`
    criterion : "movement" (the accumulated ``-w * g``) or "magnitude" (``|w|``)
    layers : list of int, the layers to prune (e.g. the hidden layers; the head stays dense)
    optimizer, learning_rate : the optimizer doing the update (see :class:`MovementScores`)
    frequency : int >= 1, steps between two pruning steps
    """

    def __init__(self, model, schedule, criterion, layers, optimizer="adam", learning_rate=None, frequency=5):
        super().__init__(optimizer, learning_rate)
        check_choice("criterion", criterion, {"movement", "magnitude"})
        self.layers = [check_int("layers[i]", layer, minimum=0, maximum=model.n_layers - 1) for layer in layers]
        self.model, self.schedule, self.criterion = model, schedule, criterion
        self.frequency = check_int("frequency", frequency, minimum=1)
        self.steps_done = 0

    def step(self, params, grads):
        super().step(params, grads)
        self.steps_done += 1
        if self.steps_done % self.frequency == 0:
            self.prune(self.schedule.sparsity_at(self.steps_done))

    def prune(self, target) -> None:
        """Prune each layer in ``layers`` to sparsity ``target`` (already-pruned weights count)."""
        for layer in self.layers:
            W, mask = self.model.params[layer]["W"], self.model.masks[layer]["W"]
            keep = np.ones(W.size, dtype=bool) if mask is None else mask.ravel() == 1
            n_prune = int(round(target * W.size)) - int(W.size - keep.sum())
            if n_prune > 0:
                scores = self.scores[layer] if self.criterion == "movement" else np.abs(W)
                self.model.set_mask(layer, prune_lowest(scores.ravel(), keep, n_prune).reshape(W.shape))


def with_new_head(model, n_outputs, seed) -> MLP:
    """A copy of ``model`` whose last layer is replaced by a fresh one with ``n_outputs`` units
    (transfer: keep the pretrained hidden layers, learn a new classifier)."""
    fresh = MLP(model.layer_sizes[:-1] + [n_outputs], activation=model.activation, init=model.init, seed=seed,
                dtype=model.dtype)
    fresh.params[:-1] = [{k: v.copy() for k, v in p.items()} for p in model.params[:-1]]
    return fresh
