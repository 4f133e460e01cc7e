"""Optimizers: plain SGD, SGD with momentum, and Adam.

An optimizer updates ``params`` in place from ``grads``; both are lists with one
``{"W": ..., "b": ...}`` dict per dense layer. Optimizer state (velocity, moments)
mirrors that structure, so a pruning mask can zero it too: :meth:`Optimizer.apply_masks`
is how a pruned weight is kept from coming back through momentum.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_choice, check_float


class Optimizer:
    """Base class. Subclasses implement :meth:`step`; state is ``self.state``."""

    #: names of the per-parameter state buffers, e.g. ``("velocity",)``
    state_names: tuple = ()

    def __init__(self, learning_rate: float):
        self.learning_rate = check_float("learning_rate", learning_rate, minimum=0.0, strict_min=True)
        self.state: list[dict] = []
        self._scratch_arrays: dict = {}  # see _scratch

    def _buffers(self, params):
        """Lazily create zeroed state buffers matching ``params`` (again if the shapes change)."""
        if not self._fits(params):
            self.state = [
                {name: {k: np.zeros_like(v) for k, v in layer.items()} for name in self.state_names}
                for layer in params
            ]
        return self.state

    def _fits(self, params) -> bool:
        """Whether ``self.state`` has a buffer of the right shape for every parameter."""
        if len(self.state) != len(params):
            return False
        for layer, layer_state in zip(params, self.state):
            for buffers in layer_state.values():
                if buffers.keys() != layer.keys():
                    return False
                for key, value in layer.items():
                    if buffers[key].shape != value.shape:
                        return False
        return True

    def step(self, params, grads) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def apply_masks(self, masks) -> None:
        """Zero the state of pruned entries. ``masks`` mirrors ``params`` (``None`` = dense)."""
        for layer_state, layer_masks in zip(self.state, masks):
            for buffers in layer_state.values():
                for key, mask in layer_masks.items():
                    if mask is not None:
                        buffers[key] *= mask

    def reset(self) -> None:
        """Forget all state (e.g. before fine-tuning a freshly pruned model)."""
        self.state = []

    def _scratch(self, like: np.ndarray) -> np.ndarray:
        """A reusable work array of ``like``'s shape and dtype (holds no state between steps)."""
        key = (like.shape, like.dtype)
        array = self._scratch_arrays.get(key)
        if array is None:
            array = self._scratch_arrays[key] = np.empty_like(like)
        return array


class SGD(Optimizer):
    """``w <- w - lr * g``."""

    def step(self, params, grads):
        for layer, layer_grads in zip(params, grads):
            for key, g in layer_grads.items():
                layer[key] -= self.learning_rate * g


class Momentum(Optimizer):
    """SGD with (heavy-ball) momentum, as PyTorch writes it:
    ``v <- mu * v + g`` then ``w <- w - lr * v``.
    """

    state_names = ("velocity",)

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.9):
        super().__init__(learning_rate)
        self.momentum = check_float("momentum", momentum, minimum=0.0, maximum=1.0)

    def step(self, params, grads):
        state = self._buffers(params)
        mu, lr = self.momentum, self.learning_rate
        for layer, layer_grads, layer_state in zip(params, grads, state):
            for key, g in layer_grads.items():
                v = layer_state["velocity"][key]
                v *= mu
                v += g
                w = layer[key]
                w -= np.multiply(v, lr, out=self._scratch(w))  # w -= lr * v, without a new array


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction, written as in the paper's Algorithm 1
    (and as PyTorch computes it): ``eps`` is added to ``sqrt(v_hat)``.
    """

    state_names = ("m", "v")

    def __init__(self, learning_rate: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8):
        super().__init__(learning_rate)
        self.beta1 = check_float("beta1", beta1, minimum=0.0, maximum=1.0)
        self.beta2 = check_float("beta2", beta2, minimum=0.0, maximum=1.0)
        self.eps = check_float("eps", eps, minimum=0.0)
        self.t = 0

    def reset(self):
        super().reset()
        self.t = 0

    def step(self, params, grads):
        state = self._buffers(params)
        self.t += 1
        correction1 = 1 - self.beta1 ** self.t  # bias corrections: m and v start at 0
        correction2 = 1 - self.beta2 ** self.t
        step_size = self.learning_rate / correction1
        root_correction2 = np.sqrt(correction2)
        for layer, layer_grads, layer_state in zip(params, grads, state):
            for key, g in layer_grads.items():
                m, v = layer_state["m"][key], layer_state["v"][key]
                m *= self.beta1
                m += (1 - self.beta1) * g
                v *= self.beta2
                v += (1 - self.beta2) * (g * g)
                # w -= lr * m_hat / (sqrt(v_hat) + eps), m_hat = m / correction1, v_hat = v / correction2
                denominator = np.sqrt(v, out=self._scratch(v))
                denominator /= root_correction2
                denominator += self.eps
                layer[key] -= step_size * m / denominator


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam}
DEFAULT_LEARNING_RATES = {"sgd": 0.01, "momentum": 0.01, "adam": 1e-3}


def make_optimizer(optimizer, learning_rate: float | None = None) -> Optimizer:
    """Turn a name (``"sgd"``, ``"momentum"``, ``"adam"``) or an object into an optimizer."""
    if isinstance(optimizer, Optimizer):
        if learning_rate is not None:
            optimizer.learning_rate = check_float("learning_rate", learning_rate, minimum=0.0, strict_min=True)
        return optimizer
    if not isinstance(optimizer, str):
        raise TypeError(
            f"optimizer={optimizer!r} must be one of {sorted(OPTIMIZERS)} or an Optimizer instance"
        )
    check_choice("optimizer", optimizer, OPTIMIZERS)
    lr = DEFAULT_LEARNING_RATES[optimizer] if learning_rate is None else learning_rate
    return OPTIMIZERS[optimizer](learning_rate=lr)
