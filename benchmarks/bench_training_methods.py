"""Bars of issue 10: lottery tickets, pruning at init, sparse training, movement pruning.

The prototype's setting: MNIST-1D (3200 / 800 / 1000), ``MLP([40, 300, 100, 10])``, Adam 1e-3,
batch 64, 30 epochs, seeds 0, 1, 2. Every section runs the experiment functions of
:mod:`adaprune_edu.pruning.training_time` (the ones notebook 11 runs at a smaller size),
writes the per-seed numbers to ``benchmarks/results/training_methods_<section>.json`` and
prints mean ± std and every seed. ``--report`` reads the files and checks the bars.

Run (each section a few minutes on a busy 2-core machine; sections may run in parallel)::

    python benchmarks/bench_training_methods.py --section lottery
    python benchmarks/bench_training_methods.py --section at_init
    python benchmarks/bench_training_methods.py --section sparse
    python benchmarks/bench_training_methods.py --section movement
    python benchmarks/bench_training_methods.py --report
"""
from __future__ import annotations

import argparse
import json
import pathlib
import time

from adaprune_edu.data import load_dataset
from adaprune_edu.pruning.training_time import (
    at_init_experiment,
    lottery_experiment,
    mean_std,
    movement_experiment,
    sparse_training_experiment,
)

RESULTS = pathlib.Path(__file__).parent / "results"
EPOCHS = 30
SECTIONS = ("lottery", "at_init", "sparse", "movement")
LOTTERY_ROUNDS = 18  # 20% per round, output layer 10%: densities down to ~2%
CONTROL_ROUNDS = (6, 9, 12, 15, 18)  # densities ~26.8 / 14.0 / 7.4 / 3.9 / 2.1%
TICKET_ROUND = 9  # ~14% of the weights: the bar's "at most 15%"


def run_section(section, seeds):
    data = load_dataset("mnist1d", seed=0, val_size=0.16)
    per_seed = {}
    for seed in seeds:
        start = time.perf_counter()
        if section == "lottery":
            out = lottery_experiment(data, seed, EPOCHS, rate=0.2, rounds=LOTTERY_ROUNDS, control_rounds=CONTROL_ROUNDS)
        elif section == "at_init":
            out = {str(d): at_init_experiment(data, seed, d, EPOCHS) for d in (0.1, 0.02)}
        elif section == "sparse":
            out = {str(e): sparse_training_experiment(data, seed, 0.02, e) for e in (EPOCHS, 3 * EPOCHS)}
        else:
            out = {"transfer": movement_experiment(data, seed, (0.9, 0.97, 0.99), EPOCHS, transfer=True),
                   "scratch": movement_experiment(data, seed, (0.97,), EPOCHS, transfer=False)}
        out["seconds"] = time.perf_counter() - start
        per_seed[seed] = out
        print(f"{section} seed {seed}: {out['seconds']:.0f} s", flush=True)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"training_methods_{section}.json"
    path.write_text(json.dumps(per_seed, indent=1, default=float))
    print(f"wrote {path}")


def _fmt(values):
    mean, std = mean_std(values)
    return f"{100 * mean:5.1f} ± {100 * std:3.1f}  (" + ", ".join(f"{100 * v:.1f}" for v in values) + ")"


def _load(section):
    path = RESULTS / f"training_methods_{section}.json"
    return json.loads(path.read_text()) if path.exists() else None


def report():
    """Print every arm's mean ± std (per seed in brackets) and whether each bar is met."""
    bars = []
    lot = _load("lottery")
    if lot:
        seeds = list(lot)
        k = str(TICKET_ROUND)
        print("lottery: density  ticket | re-init | random mask | re-init 3x | random mask 3x")
        for r in CONTROL_ROUNDS:
            r = str(r)
            dens = lot[seeds[0]]["densities"][int(r)]
            row = [[lot[s]["ticket"][int(r)] for s in seeds]] + [[lot[s][arm][r] for s in seeds] for arm in
                                                                ("reinit", "random_mask", "reinit_long",
                                                                 "random_mask_long")]
            print(f"  {100 * dens:5.1f}%  " + " | ".join(_fmt(v) for v in row))
        dense = [lot[s]["ticket"][0] for s in seeds]
        ticket = [lot[s]["ticket"][int(k)] for s in seeds]
        iterations = {"dense": [lot[s]["ticket_iteration"][0] for s in seeds],
                      "ticket": [lot[s]["ticket_iteration"][int(k)] for s in seeds],
                      "re-init": [lot[s]["reinit_iteration"][k] for s in seeds]}
        print(f"  dense {_fmt(dense)}; early-stop iteration at round {k}: {iterations}")
        gap = [lot[s]["ticket"][int(k)] - lot[s]["reinit_long"][k] for s in seeds]
        bars.append(("ticket <= 15% within 1 point of dense", mean_std(ticket)[0] >= mean_std(dense)[0] - 0.01,
                     f"ticket - dense = {100 * (mean_std(ticket)[0] - mean_std(dense)[0]):+.1f}"))
        bars.append(("ticket >= 3 points above 3x-epoch re-init", mean_std(gap)[0] >= 0.03,
                     f"gap {_fmt(gap)}"))
    init = _load("at_init")
    if init:
        seeds = list(init)
        for d in ("0.1", "0.02"):
            print(f"at init, density {d}:")
            for arm in init[seeds[0]][d]["accuracy"]:
                print(f"  {arm:18s} {_fmt([init[s][d]['accuracy'][arm] for s in seeds])}")
        acc = {arm: [init[s]["0.02"]["accuracy"][arm] for s in seeds] for arm in init[seeds[0]]["0.02"]["accuracy"]}
        gap1 = [a - b for a, b in zip(acc["synflow"], acc["snip"])]
        gap2 = [a - b for a, b in zip(acc["snip"], acc["snip_shuffled"])]
        bars.append(("98%: SynFlow >= 5 points above SNIP", mean_std(gap1)[0] >= 0.05, f"gap {_fmt(gap1)}"))
        bars.append(("98%: SNIP >= 3 points above SNIP shuffled", mean_std(gap2)[0] >= 0.03, f"gap {_fmt(gap2)}"))
    dst = _load("sparse")
    if dst:
        seeds = list(dst)
        for e in dst[seeds[0]]:
            if e == "seconds":
                continue
            print(f"sparse training at 98%, {e} epochs:")
            for arm in dst[seeds[0]][e]["accuracy"]:
                print(f"  {arm:7s} {_fmt([dst[s][e]['accuracy'][arm] for s in seeds])}  training MACs "
                      f"{dst[seeds[0]][e]['macs_ratio'][arm]:.4f} x dense")
        e = str(EPOCHS)
        for arm in ("set", "rigl"):
            gap = [dst[s][e]["accuracy"][arm] - dst[s][e]["accuracy"]["static"] for s in seeds]
            ratio = max(dst[s][e]["macs_ratio"][arm] for s in seeds)
            met = mean_std(gap)[0] >= 0.06 and ratio <= 0.05
            bars.append((f"98%: {arm} >= 6 points above static, FLOPs <= 5%", met,
                         f"gap {_fmt(gap)}, MACs {ratio:.4f} x dense"))
    mov = _load("movement")
    if mov:
        seeds = list(mov)
        for setting in ("transfer", "scratch"):
            print(f"movement pruning, {setting}:")
            for crit, by_sparsity in mov[seeds[0]][setting]["accuracy"].items():
                for sp in by_sparsity:
                    print(f"  {crit:9s} {sp:5s} {_fmt([mov[s][setting]['accuracy'][crit][sp] for s in seeds])}")
        gap = [mov[s]["transfer"]["accuracy"]["movement"]["0.97"] - mov[s]["transfer"]["accuracy"]["magnitude"]["0.97"]
               for s in seeds]
        bars.append(("97% transfer: movement >= 5 points above magnitude", mean_std(gap)[0] >= 0.05,
                     f"gap {_fmt(gap)}"))
    print("\nbars (mean of seeds; per seed in brackets):")
    for name, met, detail in bars:
        print(f"  [{'met' if met else 'MISSED'}] {name}: {detail}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=SECTIONS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args(argv)
    if args.section:
        run_section(args.section, args.seeds)
    if args.report or not args.section:
        report()


if __name__ == "__main__":
    main()
