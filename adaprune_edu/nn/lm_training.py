"""Training a language model (:class:`~adaprune_edu.nn.transformer.TinyTransformer`) with AdamW.

Each step draws ``batch_size`` windows of ``context + 1`` tokens at random offsets of the training
stream (offsets from ``np.random.default_rng(seed)``), computes the loss and gradients, and updates
with Adam (:class:`~adaprune_edu.nn.optim.Adam`) plus decoupled weight decay (AdamW, Loshchilov &
Hutter 2019): every matrix (``ndim == 2``) is first shrunk, ``W <- W * (1 - lr * weight_decay)``;
LayerNorm scales and shifts are not decayed. The learning rate rises linearly for ``warmup`` steps,
then follows a cosine down to a tenth of its peak. Head gates are never updated. Masks are re-applied
after every step, to the weights and to Adam's moments.

>>> from adaprune_edu.nn.transformer import TinyTransformer
>>> model = TinyTransformer(vocab=96, d_model=16, n_layers=1, n_heads=2, context=8, seed=0)
>>> stream = np.tile(np.arange(10, dtype=np.uint8), 50)          # a very predictable "text"
>>> history = train_language_model(model, stream, steps=30, batch_size=8, learning_rate=1e-2, warmup=5)
>>> bool(history["loss"][-1] < history["loss"][0] / 2)
True
"""
from __future__ import annotations

import math
import time

import numpy as np

from .._checks import check_float, check_int
from .optim import Adam

FROZEN = ("head_gate",)


def learning_rate_at(step: int, steps: int, peak: float, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine from ``peak`` to ``peak / 10`` at ``steps``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def random_windows(stream: np.ndarray, batch_size: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """``batch_size`` windows of ``length`` consecutive tokens at random offsets, shape (batch_size, length)."""
    starts = rng.integers(0, len(stream) - length + 1, size=batch_size)
    return stream[starts[:, None] + np.arange(length)]


def train_language_model(model, train_tokens, steps: int, batch_size: int = 32, learning_rate: float = 3e-3,
                         weight_decay: float = 0.1, warmup: int = 100, seed: int = 0, log_every: int = 0,
                         log=print, callback=None) -> dict:
    """Train ``model`` in place for ``steps`` AdamW steps on the 1-D token stream ``train_tokens``.

    Returns ``{"loss": [per-step training loss], "seconds": wall-clock time}``. ``log_every > 0`` calls
    ``log`` with a progress line every that many steps. ``callback(steps_done, history)``, if given, runs
    after every step (``history["seconds"]`` is then the time so far); the training script writes
    checkpoints from it.
    """
    steps = check_int("steps", steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    learning_rate = check_float("learning_rate", learning_rate, minimum=0.0, strict_min=True)
    weight_decay = check_float("weight_decay", weight_decay, minimum=0.0)
    warmup = check_int("warmup", warmup, minimum=0)
    log_every = check_int("log_every", log_every, minimum=0)
    rng = np.random.default_rng(check_int("seed", seed))
    stream = np.asarray(train_tokens)
    if stream.ndim != 1 or len(stream) < model.context + 1:
        raise ValueError(f"train_tokens must be a 1-D stream of at least {model.context + 1} tokens, "
                         f"got shape {stream.shape}")
    # views on the same arrays: Adam's in-place updates change model.params
    trainable = [{k: v for k, v in p.items() if k not in FROZEN} for p in model.params]
    trainable_masks = [{k: v for k, v in m.items() if k not in FROZEN} for m in model.masks]
    optimizer = Adam(learning_rate=learning_rate, beta1=0.9, beta2=0.95, eps=1e-8)
    history = {"loss": []}
    start = time.perf_counter()
    for step in range(steps):
        batch = random_windows(stream, batch_size, model.context + 1, rng)
        loss, grads = model.loss(batch)
        grads = [{k: v for k, v in g.items() if k not in FROZEN} for g in grads]
        lr = learning_rate_at(step, steps, learning_rate, warmup)
        optimizer.learning_rate = lr
        for p in trainable:
            for W in p.values():
                if W.ndim == 2:
                    W *= W.dtype.type(1 - lr * weight_decay)
        optimizer.step(trainable, grads)
        model.apply_masks()
        optimizer.apply_masks(trainable_masks)
        history["loss"].append(loss)
        if log_every and (step + 1) % log_every == 0:
            elapsed = time.perf_counter() - start
            recent = float(np.mean(history["loss"][-log_every:]))
            log(f"step {step + 1}/{steps}  loss {recent:.4f}  lr {lr:.2e}  {elapsed:.0f} s")
        if callback is not None:
            history["seconds"] = time.perf_counter() - start
            callback(step + 1, history)
    history["seconds"] = time.perf_counter() - start
    return history
