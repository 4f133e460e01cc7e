"""One-shot pruning of the shipped tiny transformer: the bars of issue 11, measured over calibration draws.

For every calibration draw (``--sequences`` sequences of 128 tokens drawn from the 128 shipped
calibration sequences with ``np.random.default_rng(draw)``) it prunes every block's linear layers
one-shot and measures validation perplexity on ``--windows`` windows of 129 tokens spread evenly over
the shipped validation split:

- dense, magnitude, Wanda, OBD (compared over the whole layer; per output it is Wanda), SparseGPT at
  50% / 70% and 2:4 / 4:8; Wanda's mask + SparseGPT's update and SparseGPT's mask without update at 50% / 2:4;
- attention heads: 25% and 50% of all heads removed by ``sum |d loss / d gate|`` over ``--head-sequences``
  calibration sequences (one gradient per sequence, drawn from the same generator), against every allowed
  random removal (or ``--random`` drawn ones when there are more);
- outliers: the 4 most important channels of every LayerNorm x ``--factor`` (weights that read them / factor),
  magnitude and Wanda at 50% and 2:4 before and after.

Prints mean ± std over draws and every bar with its minimum over draws. Usage::

    .venv/bin/python benchmarks/bench_transformer_pruning.py [--draws 5] [--windows 128] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
from threadpoolctl import threadpool_limits

from adaprune_edu.corpus import load_text_corpus
from adaprune_edu.nn.transformer import TinyTransformer, load_pretrained
from adaprune_edu.pruning.heads import (
    allowed_removals,
    head_importance,
    heads_by_importance,
    n_heads,
    random_heads,
    remove_heads,
)
from adaprune_edu.pruning.one_shot_transformer import compare_transformer_methods, prune_transformer_one_shot
from adaprune_edu.pruning.outliers import plant_outliers

TARGETS = (0.5, 0.7, "2:4", "4:8")
METHODS = ("magnitude", "wanda", "obd-layer", "sparsegpt", "wanda+update", "sparsegpt-mask")


def perplexities(model, calibration, validation) -> dict:
    table = compare_transformer_methods(model, calibration, validation, ("magnitude", "wanda", "sparsegpt"), TARGETS)
    table.update(compare_transformer_methods(model, calibration, validation, ("wanda+update", "sparsegpt-mask"),
                                             (0.5, "2:4")))
    for target in (0.5, 0.7):
        pruned = prune_transformer_one_shot(model, calibration, method="obd", sparsity=target, group="layer")
        table["obd-layer", target] = pruned.perplexity(validation)
    return table


def head_results(model, sequences, validation, n_random: int, cache: dict) -> dict:
    """Removal by importance vs every allowed removal (or ``n_random`` drawn ones).

    ``cache`` maps head sets to perplexities (random removal does not depend on the calibration draw).
    """
    def perplexity_without(heads):
        if tuple(heads) not in cache:
            cache[tuple(heads)] = remove_heads(model, heads).perplexity(validation)
        return cache[tuple(heads)]

    importance = head_importance(model, sequences, batch_size=1)
    results = {}
    for fraction in (0.25, 0.5):
        count = int(round(fraction * sum(n_heads(model))))
        sets = allowed_removals(n_heads(model), count)
        if len(sets) > n_random:
            sets = [random_heads(n_heads(model), count, seed=k) for k in range(n_random)]
        random = np.array([perplexity_without(heads) for heads in sets])
        chosen = heads_by_importance(importance, count)
        results[fraction] = {"heads": chosen, "importance": perplexity_without(chosen), "random": random,
                             "beaten": float(np.mean(random > perplexity_without(chosen)))}
    return results


def outlier_results(model, calibration, validation, factor: float) -> dict:
    rescaled = plant_outliers(model, calibration, count=4, factor=factor)
    out = {"same function": float(np.max(np.abs(rescaled.logits(validation[:4, :-1]) -
                                                model.logits(validation[:4, :-1]))))}
    for target in (0.5, "2:4"):
        kwargs = {"pattern": target} if isinstance(target, str) else {"sparsity": target}
        for method in ("magnitude", "wanda"):
            for name, m in (("before", model), ("after", rescaled)):
                out[method, target, name] = prune_transformer_one_shot(m, calibration, method=method,
                                                                       **kwargs).perplexity(validation)
    return out


def summary(values) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def report(draws: list, dense: float) -> dict:
    def per_draw(key):
        return np.array([d["table"][key] for d in draws])

    print(f"dense perplexity {dense:.3f}")
    print(f"{'method':>15}" + "".join(f"{str(t):>17}" for t in TARGETS))
    for method in METHODS:
        cells = [summary(per_draw((method, t))) if (method, t) in draws[0]["table"] else "-" for t in TARGETS]
        print(f"{method:>15}" + "".join(f"{c:>17}" for c in cells))
    ratio = {name: (per_draw(a) / per_draw(b)).min() for name, a, b in (
        ("magnitude / SparseGPT at 50% (>= 1.05)", ("magnitude", 0.5), ("sparsegpt", 0.5)),
        ("magnitude / SparseGPT at 2:4 (>= 1.3)", ("magnitude", "2:4"), ("sparsegpt", "2:4")),
        ("Wanda / SparseGPT at 2:4 (>= 1.2)", ("wanda", "2:4"), ("sparsegpt", "2:4")),
        ("SparseGPT 2:4 / 4:8 (> 1)", ("sparsegpt", "2:4"), ("sparsegpt", "4:8")),
        ("Wanda 2:4 / 4:8 (> 1)", ("wanda", "2:4"), ("wanda", "4:8")),
        ("Wanda / Wanda+update at 50% (> 1)", ("wanda", 0.5), ("wanda+update", 0.5)),
        ("Wanda / Wanda+update at 2:4 (> 1)", ("wanda", "2:4"), ("wanda+update", "2:4")),
        ("SparseGPT mask only / SparseGPT at 50% (> 1)", ("sparsegpt-mask", 0.5), ("sparsegpt", 0.5)),
        ("SparseGPT mask only / SparseGPT at 2:4 (> 1)", ("sparsegpt-mask", "2:4"), ("sparsegpt", "2:4")))}
    for target in (0.5, "2:4"):
        after = np.array([d["outliers"]["magnitude", target, "after"] / d["outliers"]["wanda", target, "after"]
                          for d in draws])
        ratio[f"rescaled: magnitude / Wanda at {target} (>= 1.08 at 50%, > 1 at 2:4)"] = after.min()
        change = max(abs(d["outliers"]["wanda", target, "after"] - d["outliers"]["wanda", target, "before"])
                     for d in draws)
        ratio[f"rescaled: |change of Wanda's perplexity| at {target} (0)"] = change
    for fraction in (0.25, 0.5):
        beaten = [d["heads"][fraction]["beaten"] for d in draws]
        ratio[f"heads {fraction:.0%}: fraction of random removals beaten (>= 0.9)"] = min(beaten)
    print("\nbars, minimum over draws:")
    for name, value in ratio.items():
        print(f"  {name}: {value:.4f}")
    print("\nheads (perplexity): importance vs random removals (mean ± std), per draw")
    for fraction in (0.25, 0.5):
        for d in draws:
            h = d["heads"][fraction]
            print(f"  {fraction:.0%}: {h['importance']:.3f} ({h['heads']}) vs {summary(h['random'])} "
                  f"over {len(h['random'])} removals, beats {h['beaten']:.0%}")
    print("\noutliers (perplexity, before -> after rescaling), mean over draws")
    for key in (("magnitude", 0.5), ("wanda", 0.5), ("magnitude", "2:4"), ("wanda", "2:4")):
        before = [d["outliers"][key + ("before",)] for d in draws]
        after = [d["outliers"][key + ("after",)] for d in draws]
        print(f"  {key[0]} {key[1]}: {summary(before)} -> {summary(after)}")
    return {k: float(v) for k, v in ratio.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--sequences", type=int, default=4, help="calibration sequences of 128 tokens per draw")
    parser.add_argument("--windows", type=int, default=128, help="validation windows of 129 tokens")
    parser.add_argument("--head-sequences", type=int, default=16, help="calibration sequences for head importance")
    parser.add_argument("--random", type=int, default=100, help="random head removals (all if fewer are allowed)")
    parser.add_argument("--factor", type=float, default=16.0)
    parser.add_argument("--model", default=None, help="a TinyTransformer .npz (default: the shipped weights)")
    parser.add_argument("--json", default=None, help="write the per-draw numbers and the bars here")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        model = load_pretrained() if args.model is None else TinyTransformer.load(args.model)
        corpus = load_text_corpus(train=False)
        windows = corpus.validation_sequences()
        validation = windows[np.linspace(0, len(windows) - 1, args.windows).astype(int)]
        dense = model.perplexity(validation)
        draws, cache = [], {}
        for draw in range(args.draws):
            rng = np.random.default_rng(draw)
            calibration = corpus.calibration[rng.choice(len(corpus.calibration), args.sequences, replace=False), :-1]
            sequences = corpus.calibration[rng.choice(len(corpus.calibration), args.head_sequences, replace=False)]
            draws.append({"table": perplexities(model, calibration, validation),
                          "heads": head_results(model, sequences, validation, args.random, cache),
                          "outliers": outlier_results(model, calibration, validation, args.factor)})
            print(f"draw {draw} done, {time.perf_counter() - start:.0f} s", flush=True)
        bars = report(draws, dense)
    print(f"\n{args.draws} draws, {args.sequences} x 128 calibration tokens, {args.windows} x 128 validation tokens: "
          f"{time.perf_counter() - start:.0f} s")
    if args.json:
        record = {"dense": dense, "bars": bars, "args": vars(args),
                  "draws": [{"table": {f"{m} {t}": v for (m, t), v in d["table"].items()},
                             "heads": {str(f): {"importance": h["importance"], "heads": h["heads"],
                                                "random": h["random"].tolist(), "beaten": h["beaten"]}
                                       for f, h in d["heads"].items()},
                             "outliers": {" ".join(map(str, k)) if isinstance(k, tuple) else k: v
                                          for k, v in d["outliers"].items()}} for d in draws]}
        with open(args.json, "w") as f:
            json.dump(record, f, indent=1)


if __name__ == "__main__":
    main()
