"""Structured pruning at a FLOP budget: does the smaller network run as much faster as its FLOPs say?

    .venv/bin/python benchmarks/bench_structured_speed.py              # seeds 0-2, ~2-4 minutes on 2 cores
    .venv/bin/python benchmarks/bench_structured_speed.py --seeds 0 --multiples 1 16

The setting of ``adaprune-edu demo --granularity structured --budget flops_shrunk=25%``: the
controller removes hidden neurons of digits' ``[64, 256, 128, 10]`` until the smaller network
costs at most 25% of the dense FLOPs. For each seed and each ``neuron_multiple`` (hidden widths
kept multiples of 1, 8 or 16), the dense and the smaller network are timed at batch 1024 on one
BLAS thread, as one product per layer and in 128-sample chunks (``demo.chunked``), interleaved
rounds, least disturbed round. Printed side by side: FLOP reduction, measured speed-up, their
ratio. Bar (issue 13): ratio >= 0.8, median over seeds 0-2. Timings are noisy on a shared
machine; tests never assert them.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from adaprune_edu.data import load_dataset
from adaprune_edu.demo import chunked
from adaprune_edu.metrics import flops_per_sample, measure_latency
from adaprune_edu.nn import MLP
from adaprune_edu.nn.training import one_blas_thread
from adaprune_edu.pruning.adaptive import AdaptivePruner
from adaprune_edu.pruning.report import inference_function, settle_allocator
from adaprune_edu.pruning.surgery import shrink


def timed(functions, X, repeats=30, rounds=7) -> list:
    """Milliseconds per call of each function on ``X``: the smallest per-round median."""
    times = [[] for _ in functions]
    settle_allocator()
    with one_blas_thread():
        for _ in range(rounds):
            for k, function in enumerate(functions):
                times[k].append(measure_latency(function, X, repeats=repeats, warmup=3))
    return [1000 * min(t) for t in times]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--multiples", type=int, nargs="+", default=[1, 8, 16])
    parser.add_argument("--budget", type=float, default=0.25, help="FLOPs after surgery, fraction of dense")
    parser.add_argument("--chunk", type=int, default=128)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    print(f"digits [64, 256, 128, 10], structured, budget flops_shrunk <= {args.budget:.0%} of dense, batch 1024")
    print("seed  multiple  smaller network     FLOP red.   dense ms  small ms  speed-up  ratio"
          f"   | chunks of {args.chunk}: dense ms  small ms  speed-up  ratio")
    ratios = {(m, c): [] for m in args.multiples for c in (False, True)}
    for seed in args.seeds:
        data = load_dataset("digits", seed=seed)
        dense = MLP(data.default_layer_sizes(), seed=seed).fit(data.X_train, data.y_train, epochs=30, progress=False)
        X = np.ascontiguousarray(data.X_test[np.arange(1024) % data.X_test.shape[0]])
        for multiple in args.multiples:
            budget = ("flops_shrunk", args.budget * flops_per_sample(dense))
            pruner = AdaptivePruner(granularity="structured", budget=budget, neuron_multiple=multiple, seed=seed,
                                    final_epochs=10).fit(dense, data.X_train, data.y_train, data.X_val, data.y_val)
            small = shrink(pruner.model_)
            reduction = flops_per_sample(dense) / flops_per_sample(small)
            plain = [inference_function(dense), inference_function(small)]
            split = [chunked(f, args.chunk) for f in plain]
            d, s, dc, sc = timed(plain + split, X)
            ratios[multiple, False].append(d / s / reduction)
            ratios[multiple, True].append(dc / sc / reduction)
            print(f"{seed:>4}  {multiple:>8}  {str(small.layer_sizes):<18}  {reduction:>8.2f}x  {d:>8.3f}  {s:>8.3f}  "
                  f"{d / s:>7.2f}x  {d / s / reduction:>5.2f}   |           {dc:>8.3f}  {sc:>8.3f}  {dc / sc:>7.2f}x  "
                  f"{dc / sc / reduction:>5.2f}")
    print("\nmedian ratio (speed-up / FLOP reduction) over seeds; bar >= 0.80")
    for (multiple, chunk), values in ratios.items():
        median = float(np.median(values))
        print(f"  neuron_multiple {multiple:>2}, {'chunks of %d' % args.chunk if chunk else 'one product':<14}: "
              f"{median:.2f}  {'REACHED' if median >= 0.8 else 'not reached'}")
    print(f"\n({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
