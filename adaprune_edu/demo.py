"""``adaprune-edu demo``: train the default network on an embedded dataset and report it."""
from __future__ import annotations

import argparse
import json
import time

from .data import DATASETS, load_dataset
from .metrics import bytes_dense, count_nonzeros, count_params, flops_per_sample
from .nn import MLP


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="adaprune-edu demo", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits", choices=DATASETS)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    data = load_dataset(args.dataset, seed=args.seed)
    model = MLP(data.default_layer_sizes(), seed=args.seed)
    start = time.perf_counter()
    model.fit(data.X_train, data.y_train, epochs=args.epochs, validation_data=(data.X_val, data.y_val),
              progress=not args.no_progress)
    seconds = time.perf_counter() - start
    row = {
        "test_accuracy": model.score(data.X_test, data.y_test),
        "val_accuracy": model.score(data.X_val, data.y_val),
        "params": count_params(model), "nonzeros": count_nonzeros(model),
        "flops": flops_per_sample(model), "bytes_dense": bytes_dense(model), "train_seconds": seconds,
    }
    print(f"{args.dataset}: {model}")
    for key, value in row.items():
        print(f"  {key:<15} {value:.4f}" if isinstance(value, float) else f"  {key:<15} {value}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"dense": row}, handle, indent=2)
    return 0
