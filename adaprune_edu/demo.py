"""``adaprune-edu demo``: train, prune adaptively, and show what the pruning really bought.

1. Train the course's default network (``[n_features, 256, 128, n_classes]``) on an embedded dataset.
2. Run the adaptive controller (:class:`~adaprune_edu.pruning.adaptive.AdaptivePruner`) with its
   defaults: a step is kept when its validation accuracy drop below the dense model, plus
   ``--se-margin`` paired standard errors, is within ``--tolerance`` (what that promises on
   unseen data: the module docstring of :mod:`~adaprune_edu.pruning.adaptive`).
3. Print dense vs pruned on the *test* split (never seen by the controller), with the validation
   drop the controller decided on next to the test drop: accuracy, sparsity,
   parameters, non-zeros, FLOPs, bytes dense/CSR, measured latency at batch 1 and 1024, and for
   structured or hybrid pruning the physically smaller architecture and its speed-up.
4. Show adaptivity: the same settings on the "easy" and "hard" presets end at different sparsities.
5. Save a figure (accuracy vs sparsity along the run, per-layer sparsity) to ``--out``, and with
   ``--json FILE`` the same results machine-readably.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from .data import DATASETS, load_dataset
from .metrics import count_nonzeros, count_params, flops_per_sample, measure_latency
from .nn import MLP
from .nn.training import one_blas_thread
from .pruning.adaptive import AdaptivePruner
from .pruning.model import CRITERIA, GRANULARITIES
from .pruning.report import COST_METRICS, compression_report, inference_function, settle_allocator
from .pruning.sparse import SparseMLP
from .pruning.surgery import shrink

BATCHES = (1, 1024)


# ---------------------------------------------------------------------- arguments
def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a fraction like 0.01 (= 1 point)") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{value} must be a fraction in [0, 1), e.g. 0.01 for one accuracy point")
    return value


def _budget(text: str):
    """``METRIC=VALUE`` (absolute) or ``METRIC=VALUE%`` (percent of the dense model's cost)."""
    metric, sep, value = text.partition("=")
    if not sep or metric not in COST_METRICS:
        raise argparse.ArgumentTypeError(f"--budget {text!r} must look like METRIC=VALUE or METRIC=PERCENT%, "
                                         f"METRIC one of {list(COST_METRICS)} (e.g. bytes_csr=10%)")
    relative = value.endswith("%")
    try:
        number = float(value[:-1] if relative else value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--budget {text!r}: {value!r} is not a number") from None
    if not number > 0 or not np.isfinite(number):
        raise argparse.ArgumentTypeError(f"--budget {text!r}: the value must be > 0")
    return metric, number, relative


def _margin(text: str):
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--se-margin {text!r} must be 'auto' or a number >= 0") from None
    if not value >= 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"--se-margin {text!r} must be 'auto' or a number >= 0")
    return value


def _confirm(text: str) -> float:
    value = _fraction(text)
    if value > 0.5:
        raise argparse.ArgumentTypeError(f"--confirm-fraction {value} must be in [0, 0.5]")
    return value


def _multiple(text: str):
    return text if text == "auto" else _at_least_one(text)


def _hidden(text: str) -> tuple:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden {text!r} must be comma-separated ints like 256,128") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"--hidden {text!r}: every size must be >= 1")
    return sizes


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an int") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be >= 0")
    return value


def _at_least_one(text: str) -> int:
    value = _positive_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be >= 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``adaprune-edu demo`` (``--help`` lists every option with its default)."""
    parser = argparse.ArgumentParser(prog="adaprune-edu demo",
                                     description="Train, prune adaptively, and show what the pruning really bought.",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--dataset", default="digits", choices=DATASETS)
    parser.add_argument("--criterion", default="magnitude", choices=CRITERIA)
    parser.add_argument("--granularity", default="unstructured", choices=GRANULARITIES)
    parser.add_argument("--tolerance", default=0.01, type=_fraction,
                        help="largest allowed drop in validation accuracy (0.01 = 1 point)")
    parser.add_argument("--budget", default=None, type=_budget,
                        help=f"resource budget instead of pruning as far as accuracy allows: METRIC=VALUE or "
                             f"METRIC=PERCENT%% of the dense cost, METRIC in {list(COST_METRICS)}")
    parser.add_argument("--se-margin", default="auto", type=_margin,
                        help="a step passes when val drop + SE_MARGIN x its paired standard error <= tolerance; "
                             "'auto': 0.5 unstructured, 1.645 structured and hybrid")
    parser.add_argument("--confirm-fraction", default=0.0, type=_confirm,
                        help="share of the validation data kept out of the step decisions, to confirm the result")
    parser.add_argument("--neuron-multiple", default="auto", type=_multiple,
                        help="structured/hybrid: keep every hidden width a multiple of this (8 or 16: GEMM-friendly "
                             "sizes); 'auto': 16 with a --budget (rounding down only helps to meet it), else 1")
    parser.add_argument("--seed", default=0, type=_positive_int)
    parser.add_argument("--epochs", default=30, type=_positive_int, help="training epochs of the dense network")
    parser.add_argument("--max-epochs", default=60, type=_positive_int, help="fine-tuning epochs for the controller")
    parser.add_argument("--hidden", default=(256, 128), type=_hidden, help="hidden layer sizes")
    parser.add_argument("--repeats", default=20, type=_at_least_one, help="timed runs per latency measurement")
    parser.add_argument("--out", default="demo_output", help="directory for the figure")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument("--no-task-comparison", action="store_true",
                        help="skip the easy-vs-hard run that shows adaptivity")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


# ---------------------------------------------------------------------- measurements
def chunked(forward, size: int = 128):
    """``forward`` applied to ``size``-row chunks of its input: large batches in cache-sized pieces.

    Parameters
    ----------
    forward : callable, ``X`` of shape (n_samples, n_features) -> ndarray of shape (n_samples, n_outputs)
    size : int >= 1, rows per chunk

    Returns
    -------
    callable with the same signature and result as ``forward``; inputs of at most ``size`` rows
    are passed through whole
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size={size!r} must be an int >= 1")

    def run(X):
        if X.shape[0] <= size:
            return forward(X)
        first = forward(X[:size])
        out = np.empty((X.shape[0], first.shape[1]), dtype=first.dtype)
        out[:size] = first
        for start in range(size, X.shape[0], size):
            out[start:start + size] = forward(X[start:start + size])
        return out

    return run


def _latencies(predicts: list, X: np.ndarray, repeats: int, rounds: int = 5) -> list:
    """Milliseconds per call of each function at each batch size in ``BATCHES``.

    The functions are timed in ``rounds`` interleaved rounds (``repeats`` runs in all per function
    and batch size); each gets the median of its least disturbed round: on a shared machine other
    processes only ever add time, and interleaving lets dense and pruned meet the same load.
    """
    out = [{} for _ in predicts]
    rounds = min(rounds, repeats)
    settle_allocator()
    with one_blas_thread():  # as in compression_report: dense and CSR kernels on one thread each
        for b in BATCHES:
            Xb = np.ascontiguousarray(X[np.arange(b) % X.shape[0]])
            times = [[] for _ in predicts]
            for _ in range(rounds):
                for k, predict in enumerate(predicts):
                    times[k].append(measure_latency(predict, Xb, repeats=max(1, repeats // rounds), warmup=2))
            for k in range(len(predicts)):
                out[k][b] = 1000 * min(times[k])
    return out


def _deployed(model, granularity: str):
    """The form a pruned model ships in: CSR (unstructured), smaller dense (structured), both (hybrid)."""
    if granularity == "unstructured":
        return SparseMLP(model), "csr"
    if granularity == "structured":
        return shrink(model), "smaller dense network"
    return SparseMLP(shrink(model)), "smaller network in CSR"


def _row(model, data, report, latency) -> dict:
    return {
        "test_accuracy": model.score(data.X_test, data.y_test),
        "val_accuracy": model.score(data.X_val, data.y_val),
        "params": count_params(model),
        "nonzeros": count_nonzeros(model),
        "sparsity": float(model.sparsity()),
        "flops": flops_per_sample(model, sparse=True),
        "flops_dense": report.flops_dense,
        "bytes_dense": report.bytes_dense,
        "bytes_csr": report.bytes_csr,
        "latency_ms_batch1": latency[1],
        "latency_ms_batch1024": latency[1024],
    }


def make_pruner(args, budget=None, progress=False) -> AdaptivePruner:
    """The controller the demo runs, from the parsed options (benchmarks/bench_tolerance.py uses it too)."""
    multiple = args.neuron_multiple
    if multiple == "auto":
        multiple = 16 if budget is not None and args.granularity != "unstructured" else 1
    return AdaptivePruner(tolerance=args.tolerance, criterion=args.criterion, granularity=args.granularity,
                          budget=budget, max_epochs=args.max_epochs, final_epochs=min(10, args.max_epochs // 4),
                          neuron_multiple=multiple, se_margin=args.se_margin,
                          confirm_fraction=args.confirm_fraction, seed=args.seed, progress=progress)


def run(args) -> dict:
    """Train, prune, measure; returns the JSON-able results."""
    progress = not args.no_progress
    data = load_dataset(args.dataset, seed=args.seed)
    model = MLP(data.default_layer_sizes(hidden=args.hidden), seed=args.seed)
    start = time.perf_counter()
    print(f"Training {model} on {data} for {args.epochs} epochs")
    model.fit(data.X_train, data.y_train, epochs=args.epochs, validation_data=(data.X_val, data.y_val),
              progress=progress)
    train_seconds = time.perf_counter() - start

    budget = None
    if args.budget is not None:
        metric, value, relative = args.budget
        from .pruning.report import resource_cost

        value = value / 100 * resource_cost(model, metric, X=data.X_val) if relative else value
        budget = (metric, value)
    pruner = make_pruner(args, budget, progress)
    print(f"Pruning adaptively: {pruner}")
    start = time.perf_counter()
    pruner.fit(model, data.X_train, data.y_train, data.X_val, data.y_val)
    prune_seconds = time.perf_counter() - start
    pruned = pruner.model_

    repeats = args.repeats
    dense_report = compression_report(model)
    pruned_report = compression_report(pruned, data.X_test, repeats=repeats)
    deployed, deployed_as = _deployed(pruned, args.granularity)
    dense_latency, pruned_latency = _latencies([inference_function(model), inference_function(deployed)],
                                               data.X_test, repeats)
    dense_row = _row(model, data, dense_report, dense_latency)
    pruned_row = _row(pruned, data, pruned_report, pruned_latency)
    pruned_row.update(test_drop=dense_row["test_accuracy"] - pruned_row["test_accuracy"],
                      val_drop=pruner.val_drop_, val_drop_se=pruner.val_drop_se_,
                      deployed_as=deployed_as, layer_sparsity=pruned_report.layer_sparsity,
                      speedup_batch1=dense_latency[1] / pruned_latency[1],
                      speedup_batch1024=dense_latency[1024] / pruned_latency[1024])
    if args.granularity != "unstructured":
        small = shrink(pruned)
        pruned_row.update(
            layer_sizes=small.layer_sizes, params_shrunk=count_params(small),
            neurons_removed_fraction=pruned_report.neurons_removed_fraction,
            flops_shrunk=pruned_report.flops_shrunk, flop_reduction=pruned_report.flop_reduction,
            bytes_shrunk=pruned_report.bytes_shrunk)
    results = {
        "settings": {"dataset": args.dataset, "criterion": args.criterion, "granularity": args.granularity,
                     "tolerance": args.tolerance, "budget": None if budget is None else list(budget),
                     "seed": args.seed, "layer_sizes": model.layer_sizes, "epochs": args.epochs,
                     "max_finetune_epochs": args.max_epochs},
        "dense": dense_row,
        "pruned": pruned_row,
        "controller": {"finetune_epochs": pruner.epochs_used_, "steps": pruner.n_steps_,
                       "stop_reason": pruner.stop_reason_, "budget_met": pruner.budget_met_, "cost": pruner.cost_,
                       "se_margin": pruner.se_margin_, "kept_step": pruner.kept_step_,
                       "confirmation": pruner.confirmation_,
                       "dense_val_accuracy": pruner.dense_val_accuracy_, "history": pruner.history_},
        "report": pruned_report.to_dict(),
        "seconds": {"train": train_seconds, "prune": prune_seconds},
    }
    print()
    print(format_table(results))
    print()
    print(pruned_report.to_text())
    print()
    print(pruner.history_text())
    if not args.no_task_comparison:
        results["task_adaptivity"] = compare_tasks(args)
    figure = save_figure(pruner, Path(args.out) / "adaptive_pruning.png", args)
    results["figure"] = str(figure)
    print(f"\nFigure saved to {figure}")
    return results


def compare_tasks(args) -> dict:
    """The same network and controller settings on the easy and the hard preset."""
    out = {}
    for name in ("easy", "hard"):
        data = load_dataset(name, seed=args.seed)
        model = MLP(data.default_layer_sizes(hidden=args.hidden), seed=args.seed)
        model.fit(data.X_train, data.y_train, epochs=args.epochs, progress=False)
        pruner = make_pruner(args)
        pruner.fit(model, data.X_train, data.y_train, data.X_val, data.y_val)
        out[name] = {"dense_test_accuracy": model.score(data.X_test, data.y_test),
                     "pruned_test_accuracy": pruner.model_.score(data.X_test, data.y_test),
                     "sparsity": pruner.sparsity_, "neuron_sparsity": pruner.neuron_sparsity_}
    print("\nSame settings, different tasks (the task decides how far pruning can go):")
    for name, row in out.items():
        print(f"  {name:<5} dense test {row['dense_test_accuracy']:.2%} -> pruned {row['pruned_test_accuracy']:.2%} "
              f"at weight sparsity {row['sparsity']:.1%} (neurons removed {row['neuron_sparsity']:.1%})")
    return out


# ---------------------------------------------------------------------- output
def format_table(results: dict) -> str:
    """Dense vs pruned, one row per quantity, from the results that ``--json`` writes."""
    dense, pruned = results["dense"], results["pruned"]
    rows = [
        ("test accuracy", f"{dense['test_accuracy']:.2%}", f"{pruned['test_accuracy']:.2%}"),
        ("val accuracy", f"{dense['val_accuracy']:.2%}", f"{pruned['val_accuracy']:.2%}"),
        ("accuracy drop, points", "", f"test {100 * pruned['test_drop']:+.2f} | val {100 * pruned['val_drop']:+.2f}"
                                      f" (se {100 * pruned['val_drop_se']:.2f})"),
        ("weight sparsity", f"{dense['sparsity']:.1%}", f"{pruned['sparsity']:.1%}"),
        ("parameters (stored)", f"{dense['params']:,}", f"{pruned['params']:,}"),
        ("non-zeros", f"{dense['nonzeros']:,}", f"{pruned['nonzeros']:,}"),
        ("FLOPs/sample (non-zero)", f"{dense['flops']:,}", f"{pruned['flops']:,}"),
        ("bytes dense", f"{dense['bytes_dense']:,}", f"{pruned['bytes_dense']:,}"),
        ("bytes CSR", f"{dense['bytes_csr']:,}", f"{pruned['bytes_csr']:,}"),
        ("latency batch 1 (ms)", f"{dense['latency_ms_batch1']:.3f}", f"{pruned['latency_ms_batch1']:.3f}"),
        ("latency batch 1024 (ms)", f"{dense['latency_ms_batch1024']:.3f}", f"{pruned['latency_ms_batch1024']:.3f}"),
    ]
    if "layer_sizes" in pruned:
        rows += [
            ("architecture", str(results["settings"]["layer_sizes"]), str(pruned["layer_sizes"])),
            ("hidden neurons removed", "0.0%", f"{pruned['neurons_removed_fraction']:.1%}"),
            ("FLOPs/sample (dense kernel)", f"{dense['flops_dense']:,}",
             f"{pruned['flops_shrunk']:,} ({pruned['flop_reduction']:.2f}x fewer)"),
        ]
    settings = results["settings"]
    lines = [f"{settings['dataset']}: {settings['granularity']} pruning, criterion {settings['criterion']}, "
             f"tolerance {settings['tolerance']:.2%}; pruned latency measured as {pruned['deployed_as']}",
             f"{'':<28}{'dense':>16}{'pruned':>28}"]
    lines += [f"{name:<28}{a:>16}{b:>28}" for name, a, b in rows]
    lines.append(f"{'speed-up (deployed form)':<28}{'':>16}"
                 f"{'batch 1: %.2fx, batch 1024: %.2fx' % (pruned['speedup_batch1'], pruned['speedup_batch1024']):>28}")
    controller = results["controller"]
    lines.append(f"controller: {controller['steps']} steps, {controller['finetune_epochs']} fine-tuning epochs, "
                 f"stopped: {controller['stop_reason']}; a state passed when val drop + {controller['se_margin']:g} "
                 f"x se <= tolerance (val: the data it decided on; test: never seen by it)")
    if settings["budget"] is not None:
        metric, limit = settings["budget"]
        met = controller["budget_met"]
        lines.append(f"budget: {metric} <= {limit:,.4g} -> {'met' if met else 'NOT met'} (cost "
                     f"{controller['cost']:,.4g}; validation accuracy {'under the budget' if met else 'at the end'} "
                     f"{pruned['val_accuracy']:.2%})")
    return "\n".join(lines)


def save_figure(pruner, path: Path, args) -> Path:
    """Validation accuracy vs sparsity along the run, and the final per-layer sparsity (and neurons)."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = [h for h in pruner.history_ if h["action"] != "stop"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    colors = {"accept": "tab:green", "rollback": "tab:red", "force": "tab:orange"}
    key = "neuron_sparsity" if args.granularity == "structured" else "sparsity"
    kept = [max(1.0 - h[key], 1e-4) for h in history]  # log scale: 50%, 90%, 99% pruned are evenly spaced
    left.plot(kept, [h["val_accuracy"] for h in history], color="0.8", zorder=1)
    for action, color in colors.items():
        points = [(k, h["val_accuracy"]) for k, h in zip(kept, history) if h["action"] == action]
        if points:
            left.scatter(*zip(*points), color=color, label=action, zorder=2)
    left.axhline(pruner.dense_val_accuracy_, color="k", linestyle=":", label="dense")
    left.axhline(pruner.dense_val_accuracy_ - pruner.tolerance, color="k", linestyle="--", label="floor (tolerance)")
    left.set_xscale("log")
    ticks = [t for t in (1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005) if min(kept) / 1.5 <= t <= 1.0]
    left.set_xticks(ticks, [f"{t:.1%}".replace(".0%", "%") for t in ticks])
    left.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    left.invert_xaxis()
    left.set_xlabel(("hidden neurons" if key == "neuron_sparsity" else "weights") + " kept (log scale)")
    left.set_ylabel("validation accuracy after the step")
    left.set_title(f"adaptive pruning on {args.dataset}: every step")
    left.legend(loc="lower left")
    layers = pruner.history_[-1]["layer_sparsity"]
    names = [f"W{i}" for i in range(len(layers))]
    right.bar(names, layers, color="tab:blue", label="weights pruned")
    if args.granularity != "unstructured":
        from .pruning.model import neuron_masks

        removed = [1.0 - float(np.mean(alive)) for alive in neuron_masks(pruner.model_)]
        hidden = [f"hidden {i + 1}" for i in range(len(removed))]
        right.bar(hidden, removed, color="tab:purple", label="neurons removed")
    right.set_ylim(0, 1)
    right.set_ylabel("fraction pruned")
    right.set_title(f"final per-layer sparsity (weights overall {pruner.sparsity_:.1%})")
    right.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    """Parse ``argv``, run the demo, write ``--json``; returns the exit status (2 on a usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.granularity == "unstructured" and args.criterion in ("activation", "apoz"):
        parser.error(f"--criterion {args.criterion} scores whole neurons; use it with --granularity structured "
                     "or hybrid, or pick magnitude, gradient, taylor or random")
    if args.json is not None and Path(args.json).is_dir():
        print(f"adaprune-edu demo: --json {args.json!r} is a directory; give a file name", file=sys.stderr)
        return 2
    results = run(args)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(results, indent=2, default=_json_default))
        tmp.replace(path)  # never a half-written results file
        print(f"Results written to {path}")
    return 0


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
