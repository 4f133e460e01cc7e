"""Pruning bars on digits ``[64, 256, 128, 10]``, test split, mean over 5 seeds.

    .venv/bin/python benchmarks/bench_pruning.py            # all parts (~1-3 minutes on 2 cores)
    .venv/bin/python benchmarks/bench_pruning.py --part unstructured --seeds 0 1

Parts:

- ``unstructured``: the adaptive controller with its defaults (magnitude, global ranking,
  tolerance 1 point): weights removed, test accuracy vs dense, fine-tuning epochs.
  Bar: >= 95% removed, within 1 point, <= 60 epochs.
- ``structured``: the controller removing whole neurons; the smaller network from surgery is
  timed against the dense one at batch 1024. Bar: >= 60% of hidden neurons removed within
  1 point; measured speed-up >= 0.8x the FLOP reduction.
- ``structured-budget``: the same, in resource-budget mode: dense FLOPs after surgery at most
  20% of the dense network's (``--flop-budget``), the "mobile" setting, with neuron counts kept
  multiples of 16 (``--neuron-multiple``).
- ``speedup-curve``: timing only; how the speed-up / FLOP-reduction ratio falls as layers get
  small (small matrix products run at a lower fraction of the machine's peak).
- baselines (in each pruning part): at the *same final sparsity* and the *same number of fine-tuning epochs* as
  the controller reached, one-shot magnitude pruning and one-shot random pruning (each then
  fine-tuned with the same optimizer). Bar: adaptive beats one-shot and is never worse than random.

Only the controller's own numbers decide anything; the test split is read here, after the fact.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from adaprune_edu.data import load_dataset
from adaprune_edu.metrics import flops_per_sample, measure_latency
from adaprune_edu.nn import MLP
from adaprune_edu.nn.training import one_blas_thread
from adaprune_edu.pruning.adaptive import AdaptivePruner
from adaprune_edu.pruning.model import neuron_sparsity, prune_to_sparsity
from adaprune_edu.pruning.report import inference_function, settle_allocator
from adaprune_edu.pruning.surgery import shrink

LAYERS = [64, 256, 128, 10]
#: hidden widths kept by ``neuron_multiple=16`` between 60% and 90% of the neurons removed
MULTIPLES_OF_16 = [[96, 48], [80, 48], [96, 32], [80, 32], [64, 48], [64, 32], [48, 32], [48, 16], [32, 16]]


def dense_model(seed: int):
    data = load_dataset("digits", seed=seed)
    model = MLP(LAYERS, seed=seed)
    model.fit(data.X_train, data.y_train, epochs=30, progress=False)
    return model, data


def speedup(dense, small, X, repeats=50, rounds=9) -> float:
    """Dense over smaller-network latency at batch 1024: bare forward passes, one BLAS thread.

    ``rounds`` interleaved rounds of ``repeats`` timed runs each; each network's time is the
    smallest of its per-round medians. On a shared machine other processes only ever add
    time, so the least disturbed round is the best estimate of what the network itself costs.
    """
    Xb = np.ascontiguousarray(X[np.arange(1024) % X.shape[0]])
    dense_forward, small_forward = inference_function(dense), inference_function(small)
    dense_times, small_times = [], []
    settle_allocator()  # see its docstring: otherwise 1 MB activations pay page faults in some runs only
    with one_blas_thread():
        for _ in range(rounds):
            dense_times.append(measure_latency(dense_forward, Xb, repeats=repeats, warmup=3))
            small_times.append(measure_latency(small_forward, Xb, repeats=repeats, warmup=3))
    return min(dense_times) / min(small_times)


def one_shot(model, data, target, granularity, criterion, epochs, seed):
    """Prune to ``target`` at once, then fine-tune ``epochs`` with the controller's optimizer."""
    pruned = model.copy()
    prune_to_sparsity(pruned, target, criterion=criterion, granularity=granularity, seed=seed)
    if epochs:
        pruned.fit(data.X_train, data.y_train, epochs=epochs, optimizer="adam", learning_rate=1e-3, progress=False)
    return pruned


def run_unstructured(seeds, with_baselines):
    print("\n## Unstructured: adaptive controller, magnitude, global, tolerance 1 point")
    print("seed  dense   pruned  sparsity  epochs  steps" + ("  one-shot  random" if with_baselines else ""))
    rows = []
    for seed in seeds:
        model, data = dense_model(seed)
        pruner = AdaptivePruner(tolerance=0.01, seed=seed).fit(model, data.X_train, data.y_train, data.X_val,
                                                                data.y_val)
        row = [model.score(data.X_test, data.y_test), pruner.model_.score(data.X_test, data.y_test),
               pruner.sparsity_, pruner.epochs_used_, pruner.n_steps_]
        if with_baselines:
            for criterion in ("magnitude", "random"):
                base = one_shot(model, data, pruner.sparsity_, "unstructured", criterion, pruner.epochs_used_, seed)
                row.append(base.score(data.X_test, data.y_test))
        rows.append(row)
        print(f"{seed:>4}  {row[0]:.2%}  {row[1]:.2%}  {row[2]:>7.2%}  {row[3]:>6}  {row[4]:>5}"
              + (f"  {row[5]:>7.2%}  {row[6]:>6.2%}" if with_baselines else ""))
    a = np.array(rows)
    drop = 100 * (a[:, 0].mean() - a[:, 1].mean())
    print(f"mean  {a[:, 0].mean():.2%}  {a[:, 1].mean():.2%}  {a[:, 2].mean():>7.2%}  {a[:, 3].mean():>6.1f}"
          + (f"         {a[:, 5].mean():>7.2%}  {a[:, 6].mean():>6.2%}" if with_baselines else ""))
    ok = a[:, 2].mean() >= 0.95 and drop <= 1.0 and a[:, 3].max() <= 60
    print(f"bar (>= 95% removed, within 1 point, <= 60 epochs): drop {drop:.2f} points -> "
          f"{'REACHED' if ok else 'NOT REACHED'}")
    if with_baselines:
        print(f"adaptive vs one-shot magnitude: {100 * (a[:, 1].mean() - a[:, 5].mean()):+.2f} points; "
              f"vs one-shot random: {100 * (a[:, 1].mean() - a[:, 6].mean()):+.2f} points (same sparsity, same epochs)")
    return a


def run_structured(seeds, tolerance, with_baselines, criterion="magnitude", allocation="auto", flop_budget=None,
                   neuron_multiple=1):
    mode = (f"tolerance {100 * tolerance:g} point(s)" if flop_budget is None
            else f"FLOP budget: dense FLOPs after surgery <= {flop_budget:.0%} of dense")
    print(f"\n## Structured: adaptive controller, criterion {criterion}, allocation {allocation}, {mode}, "
          f"neuron_multiple {neuron_multiple}")
    print("seed  dense   pruned  neurons removed  smaller network     FLOP red.  speed-up@1024  ratio"
          + ("  one-shot  random" if with_baselines else ""))
    rows = []
    for seed in seeds:
        model, data = dense_model(seed)
        budget = None if flop_budget is None else ("flops_shrunk", flop_budget * flops_per_sample(model))
        pruner = AdaptivePruner(tolerance=tolerance, granularity="structured", criterion=criterion,
                                allocation=allocation, budget=budget, neuron_multiple=neuron_multiple,
                                seed=seed).fit(
            model, data.X_train, data.y_train, data.X_val, data.y_val)
        small = shrink(pruner.model_)
        reduction = flops_per_sample(model) / flops_per_sample(small)
        measured = speedup(model, small, data.X_test)
        row = [model.score(data.X_test, data.y_test), small.score(data.X_test, data.y_test),
               neuron_sparsity(pruner.model_), reduction, measured, measured / reduction]
        if with_baselines:
            for baseline in ("magnitude", "random"):
                base = one_shot(model, data, row[2], "structured", baseline, pruner.epochs_used_, seed)
                row.append(base.score(data.X_test, data.y_test))
        rows.append(row)
        print(f"{seed:>4}  {row[0]:.2%}  {row[1]:.2%}  {row[2]:>15.1%}  {str(small.layer_sizes):<18}  "
              f"{row[3]:>8.2f}x  {row[4]:>12.2f}x  {row[5]:>5.2f}"
              + (f"  {row[6]:>7.2%}  {row[7]:>6.2%}" if with_baselines else ""))
    a = np.array(rows)
    drop = 100 * (a[:, 0].mean() - a[:, 1].mean())
    print(f"mean  {a[:, 0].mean():.2%}  {a[:, 1].mean():.2%}  {a[:, 2].mean():>15.1%}  {'':<18}  "
          f"{a[:, 3].mean():>8.2f}x  {a[:, 4].mean():>12.2f}x  {a[:, 5].mean():>5.2f}"
          + (f"  {a[:, 6].mean():>7.2%}  {a[:, 7].mean():>6.2%}" if with_baselines else ""))
    ok = a[:, 2].mean() >= 0.60 and drop <= 1.0 and a[:, 5].mean() >= 0.8
    print(f"bar (>= 60% neurons removed within 1 point; speed-up >= 0.8x FLOP reduction): drop {drop:.2f} points, "
          f"ratio {a[:, 5].mean():.2f} -> {'REACHED' if ok else 'NOT REACHED'}")
    if with_baselines:
        print(f"adaptive vs one-shot magnitude: {100 * (a[:, 1].mean() - a[:, 6].mean()):+.2f} points; "
              f"vs one-shot random: {100 * (a[:, 1].mean() - a[:, 7].mean()):+.2f} points (same neurons, same epochs)")
    return a


def run_speedup_curve():
    """Speed-up vs FLOP reduction for the same fraction of neurons removed from every hidden layer."""
    print("\n## Smaller dense networks: measured speed-up at batch 1024 vs FLOP reduction (timing only)")
    print("neurons removed  network             FLOP red.  speed-up  ratio")
    dense = MLP(LAYERS, seed=0)
    X = np.random.default_rng(0).normal(size=(1024, LAYERS[0])).astype(np.float32)
    shapes = [[round(LAYERS[1] * (1 - r)), round(LAYERS[2] * (1 - r))]
              for r in (0.5, 0.6, 0.625, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)]
    shapes += [None] + MULTIPLES_OF_16
    for hidden in shapes:
        if hidden is None:
            print("hidden widths that are multiples of 16:")
            continue
        sizes = [LAYERS[0], *hidden, LAYERS[3]]
        small = MLP(sizes, seed=0)
        removed = 1 - sum(hidden) / sum(LAYERS[1:-1])
        reduction = flops_per_sample(dense) / flops_per_sample(small)
        measured = speedup(dense, small, X)
        ratio = measured / reduction
        print(f"{removed:>15.1%}  {str(sizes):<18}  {reduction:>8.2f}x  {measured:>7.2f}x  {ratio:>5.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "unstructured", "structured", "structured-budget", "speedup-curve"],
                        default="all")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--structured-tolerance", type=float, default=0.01)
    parser.add_argument("--structured-criterion", default="magnitude")
    parser.add_argument("--structured-allocation", default="auto")
    parser.add_argument("--flop-budget", type=float, default=0.2,
                        help="structured-budget part: FLOPs after surgery as a fraction of dense")
    parser.add_argument("--neuron-multiple", type=int, default=16,
                        help="structured-budget part: alive neurons per layer kept a multiple of this")
    parser.add_argument("--tolerance-neuron-multiple", type=int, default=1,
                        help="structured part (tolerance mode): alive neurons per layer kept a multiple of this")
    parser.add_argument("--no-baselines", action="store_true")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.part in ("all", "unstructured"):
        run_unstructured(args.seeds, not args.no_baselines)
    if args.part in ("all", "structured"):
        run_structured(args.seeds, args.structured_tolerance, not args.no_baselines, args.structured_criterion,
                       args.structured_allocation, neuron_multiple=args.tolerance_neuron_multiple)
    if args.part in ("all", "structured-budget"):
        run_structured(args.seeds, args.structured_tolerance, not args.no_baselines, args.structured_criterion,
                       args.structured_allocation, flop_budget=args.flop_budget, neuron_multiple=args.neuron_multiple)
    if args.part in ("all", "speedup-curve"):
        run_speedup_curve()
    print(f"\n({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
