"""Spread over seeds of the claims in notebooks 01, 02, 03 and 08.

Each notebook runs its experiment for ``SEED`` (and, where it compares methods, ``SEED + 1``,
``SEED + 2``); an ``assert`` in it must hold for any ``SEED``. This script runs the same
experiments, with the same package calls and budgets, for many seeds, and prints per-seed
numbers, mean ± standard deviation, and the worst case over every window of three consecutive
seeds (what a notebook run with another ``SEED`` sees). The claims written in the notebooks are
the ones that hold here with a margin.

One seed ``s`` fixes everything of one run: the data split (``load_dataset(..., seed=s)``), the
initial weights and the shuffling (``MLP(..., seed=s)``), and random pruning (``seed=s``).

Run (one BLAS thread; about 30 s per seed for ``criteria``, a few seconds for the others)::

    .venv/bin/python benchmarks/seed_spread.py why_prune taxonomy explorer --seeds 10
    .venv/bin/python benchmarks/seed_spread.py criteria --seeds 8 --out /tmp/spread

Results are cached as one JSON file per (experiment, seed) in ``--out``, so a rerun only
computes what is missing.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from adaprune_edu import MLP, load_dataset
from adaprune_edu.course import prune_and_evaluate
from adaprune_edu.pruning import GroupLassoPenalty, L1Penalty, block_mask, n_m_mask, prune_to_sparsity

SPARSITIES_01 = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98)


def trained(data, seed, **fit_options):
    """The course network trained 30 epochs on ``data`` with ``seed``."""
    model = MLP(data.default_layer_sizes(), seed=seed)
    return model.fit(data.X_train, data.y_train, epochs=30, progress=False, **fit_options)


def with_masks(model, make_mask):
    """Put ``make_mask(W)`` on every layer; returns the model."""
    for layer, params in enumerate(model.params):
        model.set_mask(layer, make_mask(params["W"]))
    return model


def why_prune(seed):
    """Notebook 01: one-shot and iterative (5 epochs per step) accuracy at each sparsity."""
    data = load_dataset("digits", seed=seed)
    dense = trained(data, seed)
    out = {"dense": dense.score(data.X_test, data.y_test), "one_shot": [], "iterative": []}
    model = dense.copy()
    for target in SPARSITIES_01:
        out["one_shot"].append(prune_to_sparsity(dense.copy(), target).score(data.X_test, data.y_test))
        prune_to_sparsity(model, target).fit(data.X_train, data.y_train, epochs=5, progress=False)
        out["iterative"].append(model.score(data.X_test, data.y_test))
    return out


TAXONOMY = {
    "unstructured 50%": lambda m: prune_to_sparsity(m, 0.5),
    "N:M 2:4": lambda m: with_masks(m, lambda W: n_m_mask(W, 2, 4)),
    "unstructured 75%": lambda m: prune_to_sparsity(m, 0.75),
    "N:M 1:4": lambda m: with_masks(m, lambda W: n_m_mask(W, 1, 4)),
    "blocks 4x2": lambda m: with_masks(m, lambda W: block_mask(W, (4, 2), 0.75)),
    "hybrid": lambda m: prune_to_sparsity(m, 0.75, granularity="hybrid", structured_fraction=0.5),
    "neurons": lambda m: prune_to_sparsity(m, 0.6, granularity="structured", scope="layer"),
}


def taxonomy(seed):
    """Notebook 02: each granularity one-shot and after 5 epochs; global vs layer-wise at 90%."""
    data = load_dataset("digits", seed=seed)
    dense = trained(data, seed)
    out = {"dense": dense.score(data.X_test, data.y_test)}
    for name, prune in TAXONOMY.items():
        model = prune(dense.copy())
        one_shot = model.score(data.X_test, data.y_test)
        model.fit(data.X_train, data.y_train, epochs=5, progress=False)
        out[name] = [one_shot, model.score(data.X_test, data.y_test)]
    for scope in ("global", "layer"):
        model = prune_to_sparsity(dense.copy(), 0.9, scope=scope)
        one_shot = model.score(data.X_test, data.y_test)
        model.fit(data.X_train, data.y_train, epochs=5, progress=False)
        out[f"scope {scope}"] = [one_shot, model.score(data.X_test, data.y_test)]
    return out


NEURON_CRITERIA = ("random", "magnitude", "gradient", "taylor", "activation", "apoz", "group lasso")
NEURON_TARGETS = (0.5, 0.75, 0.9)
WEIGHT_CRITERIA = ("random", "magnitude", "gradient", "taylor", "L1", "hybrid")
WEIGHT_TARGETS = (0.9, 0.95)


def criteria(seed):
    """Notebook 03: every criterion, neurons and weights, one-shot and after 5 epochs."""
    data = load_dataset("digits", seed=seed)
    plain = trained(data, seed)
    lasso = trained(data, seed, penalty=GroupLassoPenalty(0.03))
    l1 = trained(data, seed, penalty=L1Penalty(1e-3))
    out = {"plain": plain.score(data.X_test, data.y_test), "lasso": lasso.score(data.X_test, data.y_test),
           "l1": l1.score(data.X_test, data.y_test)}
    for criterion in NEURON_CRITERIA:
        base, score = (lasso, "magnitude") if criterion == "group lasso" else (plain, criterion)
        for target in NEURON_TARGETS:
            result = prune_and_evaluate(base, target, data, criterion=score, granularity="structured", seed=seed)
            out[f"neurons {criterion} {target}"] = list(result[:2])
    options = {"random": (plain, dict(criterion="random", seed=seed)), "magnitude": (plain, {}),
               "gradient": (plain, dict(criterion="gradient")), "taylor": (plain, dict(criterion="taylor")),
               "L1": (l1, {}), "hybrid": (plain, dict(criterion="taylor", granularity="hybrid"))}
    for criterion, (base, kwargs) in options.items():
        for target in WEIGHT_TARGETS:
            out[f"weights {criterion} {target}"] = list(prune_and_evaluate(base, target, data, **kwargs)[:2])
    return out


def explorer(seed):
    """Notebook 08: one-shot validation accuracy at 80% of the weights, two ways of scoring."""
    data = load_dataset("digits", seed=seed)
    model = trained(data, seed)
    out = {}
    for criterion in ("magnitude", "taylor", "gradient", "random"):
        one_batch = prune_to_sparsity(model.copy(), 0.8, criterion=criterion, X=data.X_train[:512],
                                      y=data.y_train[:512], batch_size=512, n_batches=1, seed=seed)
        default = prune_to_sparsity(model.copy(), 0.8, criterion=criterion, X=data.X_train, y=data.y_train, seed=seed)
        out[criterion] = [one_batch.score(data.X_val, data.y_val), default.score(data.X_val, data.y_val)]
    return out


EXPERIMENTS = {"why_prune": why_prune, "taxonomy": taxonomy, "criteria": criteria, "explorer": explorer}


def flatten(result, prefix=""):
    """``{"a": [x, y]}`` -> ``{"a[0]": x, "a[1]": y}``; nested dicts joined with spaces."""
    flat = {}
    for key, value in result.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + " "))
        elif isinstance(value, list):
            flat.update({f"{name}[{i}]": v for i, v in enumerate(value)})
        else:
            flat[name] = value
    return flat


def summary(runs: list) -> str:
    """Per key: mean ± std over seeds, min, max, and the worst mean over 3 consecutive seeds."""
    flat = [flatten(r) for r in runs]
    lines = [f"{'':<34} {'mean':>6} {'std':>6} {'min':>6} {'max':>6} {'worst 3-seed mean':>18}   per seed"]
    for key in flat[0]:
        values = np.array([f[key] for f in flat])
        windows = [values[i:i + 3].mean() for i in range(len(values) - 2)] or [values.mean()]
        lines.append(f"{key:<34} {values.mean():6.3f} {values.std(ddof=1) if len(values) > 1 else 0:6.3f} "
                     f"{values.min():6.3f} {values.max():6.3f} {min(windows):18.3f}   "
                     + " ".join(f"{v:.3f}" for v in values))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiments", nargs="+", choices=sorted(EXPERIMENTS))
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/.seed_spread"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with threadpool_limits(limits=1, user_api="blas"):
        for name in args.experiments:
            runs = []
            for seed in range(args.seeds):
                path = args.out / f"{name}_{seed}.json"
                if not path.exists():
                    path.write_text(json.dumps(EXPERIMENTS[name](seed)))
                runs.append(json.loads(path.read_text()))
            print(f"== {name}, seeds 0-{args.seeds - 1}\n{summary(runs)}\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
