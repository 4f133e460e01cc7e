"""Training-step time of the tiny transformer: NumPy (``adaprune_edu.nn``) against PyTorch CPU.

Model: the shipped architecture, ``TinyTransformer(vocab=96, d_model=64, n_layers=2, n_heads=4,
context=128)`` (119,424 parameters), float32, the same initial weights in both. A step: 32 windows of
129 tokens from the shipped validation tokens, forward, backward, AdamW (betas 0.9/0.95, weight decay
0.1 on matrices). PyTorch runs the same maths written with torch operations (tanh GELU,
``scaled_dot_product_attention`` with ``is_causal=True``), ``torch.optim.AdamW``.

One BLAS thread for NumPy, one intra-op thread for PyTorch. One warm-up round, then ``--rounds``
rounds in which each side trains ``--steps`` steps, the order alternating (interleaved, so a slow
spell of the shared machine hits both); medians of the per-step time and their ratio. Bar: NumPy
within 1.5x of PyTorch.

Run: ``python benchmarks/bench_transformer.py`` (about a minute on a quiet machine). No test asserts
a timing; the exit status is 1 when the bar is missed.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from adaprune_edu.corpus import load_text_corpus
from adaprune_edu.nn.lm_training import train_language_model
from adaprune_edu.nn.transformer import TinyTransformer

BAR = 1.5
BATCH, LR, WEIGHT_DECAY = 32, 3e-3, 0.1


def torch_trainer(torch, model, stream, seed=0):
    """A function ``run(steps) -> seconds`` training a torch copy of ``model`` with AdamW."""
    F = torch.nn.functional
    params = [{k: torch.tensor(v, requires_grad=True) for k, v in p.items()} for p in model.params]
    decay = [v for p in params for k, v in p.items() if v.ndim == 2]
    no_decay = [v for p in params for k, v in p.items() if v.ndim == 1 and k != "head_gate"]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=LR, betas=(0.9, 0.95))
    n_heads, context = model.n_heads, model.context
    rng = np.random.default_rng(seed)

    def layernorm(X, p):
        return F.layer_norm(X, (X.shape[-1],), p["gamma"], p["beta"], eps=1e-5)

    def attention(X, p):
        b, t, d = X.shape
        heads = [(X @ p[w]).reshape(b, t, n_heads, -1).transpose(1, 2) for w in ("Wq", "Wk", "Wv")]
        Y = F.scaled_dot_product_attention(*heads, is_causal=True) * p["head_gate"][:, None, None]
        return Y.transpose(1, 2).reshape(b, t, -1) @ p["Wo"]

    def loss_of(tokens):
        X = F.embedding(tokens[:, :-1], params[0]["W"]) + params[1]["W"][:context]
        for i in range(model.n_layers):
            ln1, att, ln2, mlp = params[2 + 4 * i: 6 + 4 * i]
            X = X + attention(layernorm(X, ln1), att)
            X = X + F.gelu(layernorm(X, ln2) @ mlp["W1"], approximate="tanh") @ mlp["W2"]
        logits = layernorm(X, params[-2]) @ params[-1]["W"]
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))

    def run(steps):
        start = time.perf_counter()
        for _ in range(steps):
            starts = rng.integers(0, len(stream) - context, size=BATCH)
            tokens = torch.from_numpy(stream[starts[:, None] + np.arange(context + 1)].astype(np.int64))
            optimizer.zero_grad()
            loss_of(tokens).backward()
            optimizer.step()
        return time.perf_counter() - start

    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5, help="training steps per side and round")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    stream = load_text_corpus(train=False).validation
    model = TinyTransformer(vocab=96, d_model=64, n_layers=2, n_heads=4, context=128, seed=0)

    def ours(steps):
        history = train_language_model(model, stream, steps=steps, batch_size=BATCH, learning_rate=LR,
                                       weight_decay=WEIGHT_DECAY, warmup=0, seed=0)
        return history["seconds"]

    theirs = torch_trainer(torch, model, stream)
    times = {"NumPy (adaprune_edu)": [], "PyTorch CPU": []}
    with threadpool_limits(1):
        ours(1), theirs(1)  # warm-up
        for r in range(args.rounds):
            order = [("NumPy (adaprune_edu)", ours), ("PyTorch CPU", theirs)]
            for name, run in (order if r % 2 == 0 else order[::-1]):
                times[name].append(run(args.steps) / args.steps)
    print(f"training step, batch {BATCH} x 129 tokens, 1 thread, {args.rounds} rounds x {args.steps} steps")
    for name, values in times.items():
        print(f"  {name:22s} median {statistics.median(values) * 1000:7.1f} ms/step "
              f"(min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f})")
    ratio = statistics.median(times["NumPy (adaprune_edu)"]) / statistics.median(times["PyTorch CPU"])
    paired = statistics.median(a / b for a, b in zip(times["NumPy (adaprune_edu)"], times["PyTorch CPU"]))
    print(f"  NumPy / PyTorch: {ratio:.2f}x (paired median {paired:.2f}x); bar: within {BAR}x -> "
          f"{'met' if ratio <= BAR else 'missed'}")
    return 0 if ratio <= BAR else 1


if __name__ == "__main__":
    raise SystemExit(main())
