"""``adaprune-edu demo``: train, prune adaptively, and show what the pruning really bought.

1. Train the course's default network (``[n_features, 256, 128, n_classes]``) on an embedded dataset,
   or with ``--model cnn`` the course CNN (:func:`~adaprune_edu.nn.presets.cnn`: three 3x3
   convolutions of 16/32/64 channels with BatchNorm, one max-pool, global average pool, dense) on
   the 8x8 digits images, trained as in notebook 10 (momentum SGD at 0.05).
2. Run the adaptive controller (:class:`~adaprune_edu.pruning.adaptive.AdaptivePruner`) with its
   defaults: a step is kept when its validation accuracy drop below the dense model, plus
   ``--se-margin`` paired standard errors, is within ``--tolerance`` (what that promises on
   unseen data: the module docstring of :mod:`~adaprune_edu.pruning.adaptive`).
3. Print dense vs pruned on the *test* split (never seen by the controller), with the validation
   drop the controller decided on next to the test drop: accuracy, sparsity,
   parameters, non-zeros, FLOPs, bytes dense/CSR, measured latency at batch 1 and 1024, and for
   structured or hybrid pruning the physically smaller architecture and its speed-up.
4. Show adaptivity: the same settings on the "easy" and "hard" presets end at different sparsities
   (MLP only: there are no easy and hard image tasks).
5. Save a figure (accuracy vs sparsity along the run, per-layer sparsity) to ``--out``, and with
   ``--json FILE`` the same results machine-readably.

Every cost number comes from :mod:`adaprune_edu.costs`, through one
:func:`~adaprune_edu.pruning.report.compression_report` per model; latencies are timed once,
side by side in interleaved rounds, inside the pruned model's report (variants "dense", "csr",
"shrunk", "shrunk_csr"), and the table reads them from there. The dense latency is the pruned
network in its dense arrays: the same shapes and arithmetic as the unpruned network (a dense
product multiplies zeros like any other number).

The CNN (``--model cnn``) is pruned structurally: the controller removes whole channels (a filter,
its bias and BatchNorm entries, and the next layer's input channel). Besides what the MLP demo
reports, the pruned row has ``channels_removed_fraction``, ``macs_dense``, ``macs_shrunk`` and
``mac_reduction`` (dense MACs over the shrunk network's), and both rows have
``latency_ms_batch1024_onnxruntime`` (the pruned row also ``speedup_batch1024_onnxruntime``):
the same networks exported to ONNX and timed in onnxruntime on one thread. Without the optional
extra (``pip install "adaprune-edu[onnx]"``) these two keys are present and ``null``: the JSON
has the same keys on every machine.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from .data import DATASETS, load_dataset
from .nn import MLP
from .nn.presets import cnn
from .pruning.adaptive import AdaptivePruner
from .pruning.model import GRANULARITIES
from .pruning.registry import REGISTRY
from .pruning.report import COST_METRICS, compression_report, unit_sizes
from .pruning.surgery import shrink

MODELS = ("mlp", "cnn")
#: per model: (dense training epochs, fine-tuning epochs of the controller), when not given
EPOCHS = {"mlp": (30, 60), "cnn": (15, 30)}
#: the CNN is trained as in notebook 10: momentum SGD (the default optimizer) at this learning rate
CNN_LEARNING_RATE = 0.05
#: the form a pruned model ships in, per granularity: (report latency variant, description)
DEPLOYED = {"unstructured": ("csr", "csr"), "structured": ("shrunk", "smaller dense network"),
            "hybrid": ("shrunk_csr", "smaller network in CSR")}


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
    parser.add_argument("--model", default="mlp", choices=MODELS,
                        help="mlp: the course MLP; cnn: the course CNN on the digits images, channel pruning")
    parser.add_argument("--dataset", default="digits", choices=DATASETS, help="--model cnn: digits only")
    parser.add_argument("--criterion", default="magnitude", choices=tuple(REGISTRY),
                        help="bn_scale (BatchNorm |gamma|) needs --model cnn")
    parser.add_argument("--granularity", default=None, choices=GRANULARITIES,
                        help="default: unstructured for mlp; --model cnn prunes structured (whole channels) only")
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
                        help="structured/hybrid: keep every hidden width (cnn: channel count) a multiple of this "
                             "(8 or 16: GEMM-friendly sizes; onnxruntime's convolutions want multiples of 8, see "
                             "benchmarks/bench_cnn_channels.py); 'auto': 16 with a --budget (rounding down only helps "
                             "to meet it), else 1")
    parser.add_argument("--seed", default=0, type=_positive_int)
    parser.add_argument("--epochs", default=None, type=_positive_int,
                        help="training epochs of the dense network (default: 30 mlp, 15 cnn)")
    parser.add_argument("--max-epochs", default=None, type=_positive_int,
                        help="fine-tuning epochs for the controller (default: 60 mlp, 30 cnn)")
    parser.add_argument("--hidden", default=(256, 128), type=_hidden, help="hidden layer sizes (mlp)")
    parser.add_argument("--channels", default=(16, 32, 64), type=_hidden, help="channels of the convolutions (cnn)")
    parser.add_argument("--repeats", default=20, type=_at_least_one, help="timed runs per latency measurement")
    parser.add_argument("--out", default="demo_output", help="directory for the figure")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument("--no-task-comparison", action="store_true",
                        help="skip the easy-vs-hard run that shows adaptivity (mlp only; cnn never runs it)")
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


def _row(model, data, report, latency) -> dict:
    """One column of the table: accuracy from ``model``, every cost from its ``report``."""
    return {
        "test_accuracy": model.score(data.X_test, data.y_test),
        "val_accuracy": model.score(data.X_val, data.y_val),
        "params": report.params,
        "nonzeros": report.nonzeros,
        "sparsity": report.sparsity,
        "flops": report.flops_effective,
        "flops_dense": report.flops_dense,
        "bytes_dense": report.bytes_dense,
        "bytes_csr": report.bytes_csr,
        "latency_ms_batch1": latency[1],
        "latency_ms_batch1024": latency[1024],
    }


def deployed_variant(report, granularity: str) -> tuple:
    """``(latency variant, description)`` of the form the pruned model ships in, among those the report timed.

    CSR (unstructured), the smaller dense network (structured), the smaller network in CSR (hybrid);
    when surgery removed nothing (or there is no CSR kernel, as for convolutions) the next best form.
    """
    wanted, description = DEPLOYED[granularity]
    for variant, text in [(wanted, description), ("shrunk", DEPLOYED["structured"][1]), ("csr", "csr")]:
        if variant in report.latency_ms:
            return variant, text
    return "dense", "dense network (nothing removable)"


def onnxruntime_latencies(models: dict, X: np.ndarray, repeats: int, batch_size: int = 1024,
                          rounds: int = 5) -> dict | None:
    """Milliseconds per ``batch_size`` batch of each model exported to ONNX, in onnxruntime on one thread.

    Interleaved rounds, the median of each model's least disturbed round (as
    :func:`~adaprune_edu.pruning.report.time_variants`). ``None`` when onnx or onnxruntime is not installed.

    Parameters
    ----------
    models : dict name -> Sequential
    X : ndarray of shape (n_samples, ...), rows repeated cyclically to fill the batch
    """
    try:
        from .deploy import onnxruntime_latency, onnxruntime_session

        sessions = {name: onnxruntime_session(model) for name, model in models.items()}
    except ImportError:
        return None
    Xb = np.ascontiguousarray(X[np.arange(batch_size) % X.shape[0]], dtype=np.float32)
    rounds = max(1, min(rounds, repeats))
    times = {name: [] for name in sessions}
    for _ in range(rounds):
        for name, session in sessions.items():
            times[name].append(onnxruntime_latency(session, Xb, repeats=max(1, repeats // rounds), warmup=2))
    return {name: min(t) for name, t in times.items()}


@dataclass
class DemoResult:
    """What one demo run found; :meth:`to_dict` is what ``--json`` writes.

    ``dense`` and ``pruned`` are the two columns of the table (see :func:`format_table`);
    ``report`` is the pruned model's :class:`~adaprune_edu.pruning.report.CompressionReport` as a
    dict; ``dense_model`` and ``pruned_model`` are the networks themselves (not written to JSON).
    """

    settings: dict
    dense: dict
    pruned: dict
    controller: dict
    report: dict
    seconds: dict
    task_adaptivity: dict | None = None
    figure: str | None = None
    dense_model: object = field(default=None, repr=False)
    pruned_model: object = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """The results without the models: what ``--json`` writes (``task_adaptivity`` only when it ran)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("dense_model", "pruned_model")}
        if out["task_adaptivity"] is None:
            del out["task_adaptivity"]
        return out


def make_pruner(args, budget=None, progress=False) -> AdaptivePruner:
    """The controller the demo runs, from options parsed by :func:`parse_args` (also used by bench_tolerance.py)."""
    multiple = args.neuron_multiple
    if multiple == "auto":
        multiple = 16 if budget is not None and args.granularity != "unstructured" else 1
    # the CNN is fine-tuned as it was trained (momentum SGD at 0.05): in notebook 10 that recovers from
    # channel pruning in two epochs; the MLP keeps the controller's default (Adam at 1e-3)
    fine_tune = dict(optimizer="momentum", learning_rate=CNN_LEARNING_RATE) if args.model == "cnn" else {}
    return AdaptivePruner(tolerance=args.tolerance, criterion=args.criterion, granularity=args.granularity,
                          budget=budget, max_epochs=args.max_epochs, final_epochs=min(10, args.max_epochs // 4),
                          neuron_multiple=multiple, se_margin=args.se_margin,
                          confirm_fraction=args.confirm_fraction, seed=args.seed, progress=progress, **fine_tune)


def _train(args, progress):
    """The dataset and the trained dense network for ``args.model``."""
    if args.model == "cnn":
        data = load_dataset("digits", images=True, seed=args.seed)
        model = cnn(channels=args.channels, in_channels=data.sample_shape[-1], n_classes=data.n_classes,
                    seed=args.seed)
        fit = dict(learning_rate=CNN_LEARNING_RATE)
    else:
        data = load_dataset(args.dataset, seed=args.seed)
        model = MLP(data.default_layer_sizes(hidden=args.hidden), seed=args.seed)
        fit = {}
    print(f"Training {'the CNN ' + str(unit_sizes(model)) if args.model == 'cnn' else model} on {data} "
          f"for {args.epochs} epochs")
    model.fit(data.X_train, data.y_train, epochs=args.epochs, validation_data=(data.X_val, data.y_val),
              progress=progress, **fit)
    return data, model


def run(args) -> DemoResult:
    """Train, prune, measure; returns the results (``.to_dict()`` is JSON-able)."""
    progress = not args.no_progress
    start_all = start = time.perf_counter()
    data, model = _train(args, progress)
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

    start = time.perf_counter()
    dense_report = compression_report(model, data.X_test, timed=False)
    pruned_report = compression_report(pruned, data.X_test, repeats=args.repeats)  # every latency, timed once
    variant, deployed_as = deployed_variant(pruned_report, args.granularity)
    latency = pruned_report.latency_ms
    dense_row = _row(model, data, dense_report, latency["dense"])
    pruned_row = _row(pruned, data, pruned_report, latency[variant])
    pruned_row.update(test_drop=dense_row["test_accuracy"] - pruned_row["test_accuracy"],
                      val_drop=pruner.val_drop_, val_drop_se=pruner.val_drop_se_,
                      deployed_as=deployed_as, layer_sparsity=pruned_report.layer_sparsity,
                      speedup_batch1=pruned_report.speedup(variant, 1) if variant != "dense" else 1.0,
                      speedup_batch1024=pruned_report.speedup(variant, 1024) if variant != "dense" else 1.0)
    if args.granularity != "unstructured":
        pruned_row.update(
            layer_sizes=pruned_report.shrunk_layer_sizes, params_shrunk=pruned_report.params_shrunk,
            neurons_removed_fraction=pruned_report.neurons_removed_fraction,
            flops_shrunk=pruned_report.flops_shrunk, flop_reduction=pruned_report.flop_reduction,
            macs_dense=pruned_report.macs_dense, macs_shrunk=pruned_report.macs_shrunk,
            mac_reduction=pruned_report.mac_reduction, bytes_shrunk=pruned_report.bytes_shrunk)
    if args.model == "cnn":
        pruned_row["channels_removed_fraction"] = pruned_report.neurons_removed_fraction
        engine = onnxruntime_latencies({"dense": pruned, "shrunk": shrink(pruned)}, data.X_test, args.repeats)
        dense_row["latency_ms_batch1024_onnxruntime"] = None if engine is None else engine["dense"]
        pruned_row["latency_ms_batch1024_onnxruntime"] = None if engine is None else engine["shrunk"]
        pruned_row["speedup_batch1024_onnxruntime"] = None if engine is None else engine["dense"] / engine["shrunk"]
    measure_seconds = time.perf_counter() - start
    results = DemoResult(
        settings={"model": args.model, "dataset": "digits" if args.model == "cnn" else args.dataset,
                  "criterion": args.criterion, "granularity": args.granularity,
                  "tolerance": args.tolerance, "budget": None if budget is None else list(budget),
                  "seed": args.seed, "layer_sizes": unit_sizes(model), "epochs": args.epochs,
                  "max_finetune_epochs": args.max_epochs},
        dense=dense_row,
        pruned=pruned_row,
        controller={"finetune_epochs": pruner.epochs_used_, "steps": pruner.n_steps_,
                    "stop_reason": pruner.stop_reason_, "budget_met": pruner.budget_met_, "cost": pruner.cost_,
                    "se_margin": pruner.se_margin_, "kept_step": pruner.kept_step_,
                    "confirmation": pruner.confirmation_,
                    "dense_val_accuracy": pruner.dense_val_accuracy_, "history": pruner.history_},
        report=pruned_report.to_dict(),
        seconds={"train": train_seconds, "prune": prune_seconds, "measure": measure_seconds},
        dense_model=model, pruned_model=pruned,
    )
    print()
    print(format_table(results.to_dict()))
    print()
    print(pruned_report.to_text())
    print()
    print(pruner.history_text())
    if not args.no_task_comparison and args.model == "mlp":
        results.task_adaptivity = compare_tasks(args)
    figure = save_figure(pruner, Path(args.out) / "adaptive_pruning.png", args)
    results.figure = str(figure)
    results.seconds["total"] = time.perf_counter() - start_all
    print(f"\nFigure saved to {figure}")
    print(f"Demo took {results.seconds['total']:.1f} s (training {train_seconds:.1f} s, pruning {prune_seconds:.1f} s, "
          f"measuring {measure_seconds:.1f} s)")
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
    cnn_run = results["settings"].get("model") == "cnn"
    if "layer_sizes" in pruned:
        rows += [
            ("channels" if cnn_run else "architecture", str(results["settings"]["layer_sizes"]),
             str(pruned["layer_sizes"])),
            ("channels removed" if cnn_run else "hidden neurons removed", "0.0%",
             f"{pruned['neurons_removed_fraction']:.1%}"),
            ("FLOPs/sample (dense kernel)", f"{dense['flops_dense']:,}",
             f"{pruned['flops_shrunk']:,} ({pruned['flop_reduction']:.2f}x fewer)"),
        ]
    if cnn_run:
        rows.append(("MACs/sample (dense kernel)", f"{pruned['macs_dense']:,}",
                     f"{pruned['macs_shrunk']:,} ({pruned['mac_reduction']:.2f}x fewer)"))
        engine = pruned["latency_ms_batch1024_onnxruntime"]
        rows.append(("onnxruntime batch 1024 (ms)",
                     "not installed" if engine is None else f"{dense['latency_ms_batch1024_onnxruntime']:.3f}",
                     "pip install 'adaprune-edu[onnx]'" if engine is None
                     else f"{engine:.3f} ({pruned['speedup_batch1024_onnxruntime']:.2f}x)"))
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
    units = "channels" if args.model == "cnn" else "hidden neurons"
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
    left.set_xlabel((units if key == "neuron_sparsity" else "weights") + " kept (log scale)")
    left.set_ylabel("validation accuracy after the step")
    left.set_title(f"adaptive pruning of the {args.model.upper()} on "
                   f"{'digits' if args.model == 'cnn' else args.dataset}: every step")
    left.legend(loc="lower left")
    layers = pruner.history_[-1]["layer_sparsity"]
    names = [f"W{i}" for i in range(len(layers))]
    right.bar(names, layers, color="tab:blue", label="weights pruned")
    if args.granularity != "unstructured":
        from .pruning.model import neuron_masks

        removed = [1.0 - float(np.mean(alive)) for alive in neuron_masks(pruner.model_)]
        hidden = [f"{'conv' if args.model == 'cnn' else 'hidden'} {i + 1}" for i in range(len(removed))]
        right.bar(hidden, removed, color="tab:purple", label=f"{units.split()[-1]} removed")
    right.set_ylim(0, 1)
    right.set_ylabel("fraction pruned")
    right.set_title(f"final per-layer sparsity (weights overall {pruner.sparsity_:.1%})")
    right.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def parse_args(parser, argv=None):
    """``parser.parse_args(argv)`` with the per-model defaults filled in and the combinations checked.

    A combination that cannot run exits with a usage error (status 2) that says what is allowed.
    """
    args = parser.parse_args(argv)
    epochs, max_epochs = EPOCHS[args.model]
    args.epochs = epochs if args.epochs is None else args.epochs
    args.max_epochs = max_epochs if args.max_epochs is None else args.max_epochs
    if args.model == "cnn":
        if args.dataset != "digits":
            parser.error(f"--model cnn trains on the digits images; --dataset {args.dataset} has no images "
                         "(leave --dataset out, or use --model mlp)")
        if args.granularity not in (None, "structured"):
            parser.error(f"--model cnn prunes whole channels: --granularity structured (the default), "
                         f"not {args.granularity}")
        args.granularity = "structured"
    else:
        args.granularity = args.granularity or "unstructured"
        if REGISTRY[args.criterion].needs_batchnorm:
            parser.error(f"--criterion {args.criterion} ranks BatchNorm scales; the MLP has no BatchNorm "
                         "(use --model cnn, or another criterion)")
    if args.granularity == "unstructured" and REGISTRY[args.criterion].weights is None:
        parser.error(f"--criterion {args.criterion} scores whole neurons; use it with --granularity structured "
                     "or hybrid, or pick one of " + ", ".join(n for n, c in REGISTRY.items() if c.weights is not None))
    return args


def main(argv=None) -> int:
    """Parse ``argv``, run the demo, write ``--json``; returns the exit status (2 on a usage error)."""
    parser = build_parser()
    args = parse_args(parser, argv)
    if args.json is not None and Path(args.json).is_dir():
        print(f"adaprune-edu demo: --json {args.json!r} is a directory; give a file name", file=sys.stderr)
        return 2
    results = run(args)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(results.to_dict(), indent=2, default=_json_default))
        tmp.replace(path)  # never a half-written results file
        print(f"Results written to {path}")
    return 0


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
