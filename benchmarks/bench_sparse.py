"""Where does CSR inference start to beat dense? Latency vs sparsity at batch 1 and 1024.

    .venv/bin/python benchmarks/bench_sparse.py              # digits network, ~20 s
    .venv/bin/python benchmarks/bench_sparse.py --layers 784 1024 512 10

A trained digits network ``[64, 256, 128, 10]`` is pruned by global magnitude to each
sparsity of a grid (no fine-tuning: latency does not depend on accuracy), exported to CSR
(``W.T`` stored, ``W.T @ A.T`` computed; see ``adaprune_edu/pruning/sparse.py``), and both
forward passes are timed side by side: bare forward passes, one BLAS thread, interleaved
rounds, the least disturbed round's median. With ``--layers`` an untrained network of that shape is used instead (random
inputs): the crossover depends on the layer sizes, so try your own.

The ratio column is dense time / CSR time: above 1, CSR is faster.
"""
from __future__ import annotations

import argparse

import numpy as np

from adaprune_edu.data import load_dataset
from adaprune_edu.metrics import measure_latency
from adaprune_edu.nn import MLP
from adaprune_edu.nn.training import one_blas_thread
from adaprune_edu.pruning.model import prune_to_sparsity
from adaprune_edu.pruning.report import inference_function, settle_allocator
from adaprune_edu.pruning.sparse import SparseMLP

SPARSITIES = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)


def timed_ratio(dense_fn, sparse_fn, X, rounds=5, repeats=20) -> tuple:
    """Dense and CSR milliseconds: the smallest per-round median over interleaved rounds.

    Other processes on a shared machine only ever add time; the least disturbed round is the
    best estimate of the kernel's own cost.
    """
    dense, sparse = [], []
    for _ in range(rounds):
        dense.append(measure_latency(dense_fn, X, repeats=repeats, warmup=2))
        sparse.append(measure_latency(sparse_fn, X, repeats=repeats, warmup=2))
    return 1000 * min(dense), 1000 * min(sparse)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=None,
                        help="layer sizes of an untrained network (default: trained digits [64, 256, 128, 10])")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-settle-allocator", action="store_true",
                        help="skip settle_allocator(), to see the page-fault effect it removes")
    args = parser.parse_args(argv)
    if args.layers is None:
        data = load_dataset("digits", seed=0)
        base = MLP([64, 256, 128, 10], seed=0)
        base.fit(data.X_train, data.y_train, epochs=30, progress=False)
        X = data.X_test
    else:
        base = MLP(args.layers, seed=0)
        X = np.random.default_rng(0).normal(size=(256, args.layers[0])).astype(np.float32)
    print(f"network {base.layer_sizes}; times in ms (bare forward pass, one BLAS thread, least disturbed round)")
    print(f"{'sparsity':>8}  {'CSR bytes/dense':>15}  {'b=1 dense':>9}  {'b=1 CSR':>8}  {'ratio':>5}  "
          f"{'b=1024 dense':>12}  {'b=1024 CSR':>10}  {'ratio':>5}")
    crossover = {1: None, 1024: None}
    if not args.no_settle_allocator:
        settle_allocator()  # see its docstring: otherwise 1 MB activations pay page faults in some runs only
    with one_blas_thread():
        for sparsity in SPARSITIES:
            model = base.copy()
            if sparsity > 0:
                prune_to_sparsity(model, sparsity)
            sparse = SparseMLP(model)
            dense_bytes = sum(p["W"].nbytes + p["b"].nbytes for p in model.params)
            cells = [f"{sparsity:>8.0%}", f"{sparse.nbytes / dense_bytes:>15.2f}"]
            for batch in (1, 1024):
                Xb = np.ascontiguousarray(X[np.arange(batch) % X.shape[0]])
                dense_ms, sparse_ms = timed_ratio(inference_function(model), inference_function(sparse), Xb,
                                                  rounds=args.rounds)
                ratio = dense_ms / sparse_ms
                if ratio > 1 and crossover[batch] is None:
                    crossover[batch] = sparsity
                width = 9 if batch == 1 else 12
                cells += [f"{dense_ms:>{width}.4f}", f"{sparse_ms:>{width - 1 if batch == 1 else 10}.4f}",
                          f"{ratio:>5.2f}"]
            print("  ".join(cells))
    for batch, sparsity in crossover.items():
        where = f"from {sparsity:.0%} sparsity on" if sparsity is not None else "at no sparsity of the grid"
        print(f"batch {batch}: CSR beats dense {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
