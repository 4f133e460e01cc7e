"""One-shot pruning of the digits MLP with 256 calibration samples, no fine-tuning.

Prints validation accuracy (mean ± std over seeds) for every method at several sparsities and at
2:4, and the time each method takes. Usage::

    .venv/bin/python benchmarks/bench_one_shot.py [--seeds 5]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from adaprune_edu import MLP, load_dataset
from adaprune_edu.pruning.one_shot import METHODS, prune_one_shot

TARGETS = (0.5, 0.7, 0.8, 0.9, "2:4")


def run(seeds: int):
    table, seconds = {}, {}
    for seed in range(seeds):
        data = load_dataset("digits", seed=seed)
        model = MLP([64, 128, 64, 10], seed=seed).fit(data.X_train, data.y_train, epochs=15, progress=False)
        table.setdefault(("dense", "-"), []).append(model.score(data.X_val, data.y_val))
        for target in TARGETS:
            for method in METHODS:
                if target == "2:4" and method == "magnitude+lsq":
                    continue
                kwargs = {"pattern": target} if target == "2:4" else {"sparsity": target}
                start = time.perf_counter()
                pruned = prune_one_shot(model, data.X_train[:256], method=method, **kwargs)
                seconds.setdefault(method, []).append(time.perf_counter() - start)
                table.setdefault((method, str(target)), []).append(pruned.score(data.X_val, data.y_val))
    return table, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    with threadpool_limits(limits=1, user_api="blas"):
        table, seconds = run(args.seeds)
    dense = np.mean(table[("dense", "-")])
    print(f"dense validation accuracy {dense:.3f} ± {np.std(table[('dense', '-')]):.3f} over {args.seeds} seeds")
    print(f"{'method':>15}" + "".join(f"{str(t):>15}" for t in TARGETS) + f"{'ms / model':>12}")
    for method in METHODS:
        cells = []
        for target in TARGETS:
            values = table.get((method, str(target)))
            cells.append("-" if values is None else f"{np.mean(values):.3f} ± {np.std(values):.3f}")
        print(f"{method:>15}" + "".join(f"{c:>15}" for c in cells) + f"{1000 * np.median(seconds[method]):>12.1f}")


if __name__ == "__main__":
    main()
