"""Issue 9's channel-pruning bar: the adaptive controller on the course CNN, tolerance 1 point, over seeds.

Per seed: ``cnn(seed=s)`` trained like ``bench_cnn.py`` (momentum SGD, learning rate 0.05, batch 64,
``--train-epochs``) on ``load_dataset("digits", images=True, seed=s)``; then
``AdaptivePruner(tolerance=0.01, granularity="structured")`` removes output channels (groups: filter,
bias, BatchNorm entries and the next layer's input channel), fine-tuning with the same optimizer.
Reported per seed and as mean ± std:

- channels removed (fraction of the three convolutions' 112 channels);
- test accuracy of the dense and the pruned network (the test split is never seen by the controller);
- MAC reduction (dense MACs over the shrunk network's, :func:`adaprune_edu.costs.macs_per_sample`);
- measured speed-up at batch 1024 (dense latency over the shrunk network's), BatchNorm folded in both,
  in NumPy (1 BLAS thread) and, when ``adaprune_edu.deploy`` finds onnxruntime, in onnxruntime
  (1 thread); and speed-up / MAC reduction. Latency: ``--rounds`` interleaved rounds (dense, shrunk,
  dense, ...), each the median of ``--repeats`` calls; the median over rounds is reported.

The bar, printed side by side with what was measured: >= 50% of channels removed, mean test accuracy
within 1 point of dense, speed-up >= 0.5x the MAC reduction in NumPy and >= 0.45x in onnxruntime (the
speed-up ratio over the seeds whose MACs were cut by at least 1.1x).
Results go to ``benchmarks/results/cnn_adaptive.json`` (``cnn_adaptive_se_margin_M.json`` with
``--se-margin M``: the plain rule ``drop <= tolerance`` is ``--se-margin 0``). No test asserts these timings.

Run: ``python benchmarks/bench_cnn_adaptive.py`` (a few minutes on 2 cores; ``--seeds 0`` for one).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from adaprune_edu.costs import macs_per_sample, measure_latency
from adaprune_edu.data import load_dataset
from adaprune_edu.nn import cnn
from adaprune_edu.nn.fold import fold_batchnorm
from adaprune_edu.pruning import layer_groups, neuron_masks, shrink
from adaprune_edu.pruning.adaptive import AdaptivePruner

FIT = dict(optimizer="momentum", learning_rate=0.05, batch_size=64)
BARS = {"channels_removed": 0.5, "test_drop": 0.01, "numpy": 0.5, "onnxruntime": 0.45}
RESULTS = Path(__file__).parent / "results"


def onnx_runner():
    """``model -> (X -> logits)`` in onnxruntime on one thread, or None when it is not installed."""
    try:
        import onnxruntime  # noqa: F401

        from adaprune_edu.deploy import onnxruntime_predict, onnxruntime_session
    except ImportError:
        return None

    def runner(model):
        session = onnxruntime_session(model)
        return lambda X: onnxruntime_predict(session, X)

    return runner


def numpy_runner(model):
    """``X -> logits`` of ``model`` with BatchNorm folded, in evaluation mode."""
    folded = fold_batchnorm(model)
    return lambda X: folded.forward(X, training=False)


def median_ms(fn, X, repeats: int) -> float:
    """Median milliseconds of ``fn(X)`` after one warm-up call (``costs.measure_latency``)."""
    return 1000 * measure_latency(fn, X, repeats=repeats, warmup=1)


def speedups(dense, small, X, rounds: int, repeats: int) -> dict:
    """Median over interleaved rounds of dense and shrunk latency (ms) and their ratio, per engine."""
    engines = {"numpy": numpy_runner}
    runner = onnx_runner()
    if runner is not None:
        engines["onnxruntime"] = runner
    out = {}
    for engine, make in engines.items():
        run_dense, run_small = make(dense), make(small)
        times = {"dense": [], "shrunk": []}
        for _ in range(rounds):
            times["dense"].append(median_ms(run_dense, X, repeats))
            times["shrunk"].append(median_ms(run_small, X, repeats))
        dense_ms, small_ms = float(np.median(times["dense"])), float(np.median(times["shrunk"]))
        out[engine] = {"dense_ms": dense_ms, "shrunk_ms": small_ms, "speedup": dense_ms / small_ms}
    return out


def one_seed(seed: int, args) -> dict:
    data = load_dataset("digits", images=True, seed=seed)
    dense = cnn(seed=seed).fit(data.X_train, data.y_train, epochs=args.train_epochs, progress=False, **FIT)
    se_margin = args.se_margin if args.se_margin == "auto" else float(args.se_margin)
    start = time.perf_counter()
    pruner = AdaptivePruner(tolerance=args.tolerance, granularity="structured", max_epochs=args.max_epochs,
                            final_epochs=args.final_epochs, finetune_epochs=args.finetune_epochs,
                            neuron_multiple=args.neuron_multiple, seed=seed, se_margin=se_margin,
                            **{**FIT, "learning_rate": args.finetune_lr})
    pruner.fit(dense, data.X_train, data.y_train, data.X_val, data.y_val)
    seconds = time.perf_counter() - start
    small = shrink(pruner.model_)
    X = np.concatenate([data.X_test] * 3)[:1024]
    macs_dense, macs_small = macs_per_sample(dense, X=X[:1]), macs_per_sample(small, X=X[:1])
    row = {"seed": seed, "channels": [g.size for g in layer_groups(small)],
           "channels_removed": pruner.neuron_sparsity_,
           "dense_test": dense.score(data.X_test, data.y_test), "pruned_test": pruner.model_.score(data.X_test,
                                                                                                  data.y_test),
           "mac_reduction": macs_dense / macs_small, "controller_seconds": seconds,
           "epochs": pruner.epochs_used_, "stop_reason": pruner.stop_reason_}
    row["test_drop"] = row["dense_test"] - row["pruned_test"]
    assert [int(a.sum()) for a in neuron_masks(pruner.model_)] == row["channels"]
    row["latency"] = speedups(dense, small, X, args.rounds, args.repeats)
    return row


def mean_std(values) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--train-epochs", type=int, default=20)
    parser.add_argument("--tolerance", type=float, default=0.01)
    parser.add_argument("--max-epochs", type=int, default=60)
    parser.add_argument("--final-epochs", type=int, default=10)
    parser.add_argument("--finetune-epochs", type=int, default=2)
    parser.add_argument("--neuron-multiple", type=int, default=1)
    parser.add_argument("--finetune-lr", type=float, default=0.05, help="fine-tuning learning rate (momentum SGD)")
    parser.add_argument("--se-margin", default="auto", help="the controller's margin: 'auto' (1.645) or a float")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    with threadpool_limits(limits=1, user_api="blas"):
        for seed in args.seeds:
            rows.append(one_seed(seed, args))
            r = rows[-1]
            timing = "; ".join(f"{engine} {t['dense_ms']:.1f} -> {t['shrunk_ms']:.1f} ms ({t['speedup']:.2f}x)"
                               for engine, t in r["latency"].items())
            print(f"seed {r['seed']}: channels {r['channels']} ({r['channels_removed']:.1%} removed), test "
                  f"{r['dense_test']:.4f} -> {r['pruned_test']:.4f}, MACs {r['mac_reduction']:.2f}x fewer; {timing}; "
                  f"controller {r['controller_seconds']:.0f} s, {r['epochs']} epochs, {r['stop_reason']}", flush=True)
    engines = [engine for engine in BARS if engine in rows[0]["latency"]]
    pruned = [r for r in rows if r["mac_reduction"] >= 1.1]  # a speed-up ratio means nothing where nothing was cut
    ratio = {engine: [r["latency"][engine]["speedup"] / r["mac_reduction"] for r in pruned] for engine in engines}
    print(f"\nBar (tolerance {args.tolerance:.0%}, {len(rows)} seeds: {args.seeds})   measured (mean ± std)   met")
    lines = [("channels removed >= 50%", mean_std([r["channels_removed"] for r in rows]),
              np.mean([r["channels_removed"] for r in rows]) >= BARS["channels_removed"]),
             ("test drop <= 1 point", mean_std([r["test_drop"] for r in rows]),
              np.mean([r["test_drop"] for r in rows]) <= BARS["test_drop"])]
    lines += [(f"speed-up / MAC reduction, {engine} >= {BARS[engine]} ({len(pruned)} seeds with MACs cut)",
               mean_std(ratio[engine]) if pruned else "n/a", bool(pruned) and np.mean(ratio[engine]) >= BARS[engine])
              for engine in engines]
    for name, measured, met in lines:
        print(f"  {name:<62s} {measured:>16s}   {'yes' if met else 'NO'}")
    speed = ", ".join(f"{engine} {mean_std([r['latency'][engine]['speedup'] for r in rows])}" for engine in engines)
    print(f"  (dense test {mean_std([r['dense_test'] for r in rows])}, pruned "
          f"{mean_std([r['pruned_test'] for r in rows])}, MAC reduction "
          f"{mean_std([r['mac_reduction'] for r in rows])}, speed-up {speed})")
    if not args.no_save:
        name = "cnn_adaptive" + ("" if args.se_margin == "auto" else f"_se_margin_{args.se_margin}") + (
            "" if args.finetune_lr == 0.05 else f"_lr_{args.finetune_lr}") + (
            "" if args.neuron_multiple == 1 else f"_multiple_{args.neuron_multiple}") + ".json"
        (RESULTS / name).write_text(json.dumps({"settings": vars(args), "rows": rows}, indent=1) + "\n")
    return 0 if all(met for _, _, met in lines) else 1


if __name__ == "__main__":
    raise SystemExit(main())
