"""Training speed: adaprune_edu's NumPy MLP side by side with PyTorch CPU and scikit-learn.

All three train the same network with the same optimizer on the same data:

- ReLU MLP, Glorot-uniform init, float32, softmax cross-entropy;
- momentum SGD, learning rate 0.01, momentum 0.9 (heavy ball, no Nesterov, no weight decay);
- batch size 64, the training set reshuffled once per epoch.

Workloads:

- ``digits``: scikit-learn's digits, the course's training split (1078 x 64), ``[64, 256, 128, 10]``;
- ``large``: ``make_classification(20000, 100, n_informative=30, n_classes=5)``, standardised,
  ``[100, 512, 256, 5]``.

Fairness: NumPy (ours and scikit-learn's) runs on one BLAS thread (``threadpoolctl``) and
PyTorch on one intra-op thread (``torch.set_num_threads(1)``). Each framework first trains one
warm-up epoch; then, in every round, each trains ``--epochs-per-round`` epochs in a rotating
order (interleaved, so a slow spell on a shared machine hits all three), each epoch timed on
its own. The table gives the median epoch time and the spread (min-max). Ratios are ratios of
medians; "paired" is the median over rounds of the per-round ratio, which cancels slow spells;
"of minima" compares the fastest epochs, the ones a busy machine disturbed least.

The GEMM floor is the time of the matrix multiplies alone for the same shapes as one epoch
(forward ``A @ W``, backward ``A.T @ dZ`` and ``dZ @ W.T``, per batch), with preallocated
outputs. "GEMM share" is that floor divided by our median epoch time: the rest is the
element-wise work (bias, activation, softmax, optimizer update, masks) and Python overhead.

Run: ``python benchmarks/bench_training.py`` (about a minute on 2 cores);
``--rounds`` / ``--epochs-per-round`` trade time for less noise. No timing is asserted anywhere.
"""
from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_info, threadpool_limits

from adaprune_edu.data import load_dataset
from adaprune_edu.nn import MLP, Momentum

LEARNING_RATE = 0.01
MOMENTUM = 0.9
BATCH_SIZE = 64
EPOCHS_PER_ROUND = {"digits": 5, "large": 1}  # a digits epoch takes milliseconds: time several per round


# ---------------------------------------------------------------------------- workloads
def load_workload(name: str, seed: int = 0):
    """``(X, y, layer_sizes)`` with ``X`` float32 of shape (n_samples, n_features)."""
    if name == "digits":
        data = load_dataset("digits", seed=seed)
        return data.X_train, data.y_train, data.default_layer_sizes()
    if name == "large":
        X, y = make_classification(n_samples=20000, n_features=100, n_informative=30, n_classes=5,
                                   random_state=seed)
        X = (X - X.mean(axis=0)) / X.std(axis=0)
        return X.astype(np.float32), y.astype(np.int64), [100, 512, 256, 5]
    raise ValueError(f"workload={name!r} is not known; choose 'digits' or 'large'")


# ---------------------------------------------------------------------------- the three trainers
class Ours:
    """adaprune_edu.nn.MLP with a Momentum optimizer whose state carries across epochs."""

    name = "numpy (ours)"

    def __init__(self, X, y, layer_sizes, seed):
        self.X, self.y = X, y
        self.model = MLP(layer_sizes, activation="relu", init="glorot", seed=seed, dtype="float32")
        self.optimizer = Momentum(learning_rate=LEARNING_RATE, momentum=MOMENTUM)

    def epoch(self):
        self.model.fit(self.X, self.y, epochs=1, batch_size=BATCH_SIZE, optimizer=self.optimizer,
                       progress=False)
        return self.model.history_["loss"][-1]


class Sklearn:
    """MLPClassifier, one ``partial_fit`` call per epoch (it keeps its optimizer state)."""

    name = "scikit-learn"

    def __init__(self, X, y, layer_sizes, seed):
        self.X, self.y = X, y
        self.classes = np.unique(y)
        self.model = MLPClassifier(
            hidden_layer_sizes=tuple(layer_sizes[1:-1]), activation="relu", solver="sgd",
            learning_rate="constant", learning_rate_init=LEARNING_RATE, momentum=MOMENTUM,
            nesterovs_momentum=False, alpha=0.0, batch_size=BATCH_SIZE, shuffle=True, max_iter=1,
            tol=0.0, n_iter_no_change=10**9, early_stopping=False, random_state=seed)

    def epoch(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.partial_fit(self.X, self.y, classes=self.classes)
        return self.model.loss_


class Torch:
    """The idiomatic PyTorch loop: Sequential, CrossEntropyLoss, torch.optim.SGD(momentum)."""

    name = "pytorch"

    def __init__(self, X, y, layer_sizes, seed):
        import torch

        self.torch = torch
        torch.manual_seed(seed)
        layers = []
        for i, (n_in, n_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
            linear = torch.nn.Linear(n_in, n_out)
            torch.nn.init.xavier_uniform_(linear.weight)
            torch.nn.init.zeros_(linear.bias)
            layers.append(linear)
            if i < len(layer_sizes) - 2:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
        self.X = torch.from_numpy(X)
        self.y = torch.from_numpy(y)
        self.generator = torch.Generator().manual_seed(seed)

    def epoch(self):
        torch = self.torch
        n = self.X.shape[0]
        order = torch.randperm(n, generator=self.generator)
        Xs, ys = self.X[order], self.y[order]
        total = 0.0
        for lo in range(0, n, BATCH_SIZE):
            xb, yb = Xs[lo:lo + BATCH_SIZE], ys[lo:lo + BATCH_SIZE]
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss_fn(self.model(xb), yb)
            loss.backward()
            self.optimizer.step()
            total += loss.item() * xb.shape[0]
        return total / n


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------------- GEMM floor
class GemmFloor:
    """Only the matrix multiplies of one training epoch (float32), timed like an epoch.

    Per batch and layer: forward ``A @ W`` (batch, n_in) x (n_in, n_out); backward
    ``A.T @ dZ`` for ``dW``; and ``dZ @ W.T`` for ``dA`` except in the first layer.
    Outputs are preallocated (``np.matmul(..., out=)``), so this is the BLAS time alone,
    for exactly the products (shapes and memory layouts) our training loop computes.
    """

    name = "GEMM floor"

    def __init__(self, X, y, layer_sizes, seed):
        rng = np.random.default_rng(seed)
        n_samples = X.shape[0]
        pairs = list(zip(layer_sizes[:-1], layer_sizes[1:]))
        self.weights = [rng.standard_normal((a, b)).astype(np.float32) for a, b in pairs]
        self.sizes = [BATCH_SIZE] * (n_samples // BATCH_SIZE)
        if n_samples % BATCH_SIZE:
            self.sizes.append(n_samples % BATCH_SIZE)
        self.buffers = {}
        for m in set(self.sizes):
            acts = [rng.standard_normal((m, a)).astype(np.float32) for a, _ in pairs]
            deltas = [rng.standard_normal((m, b)).astype(np.float32) for _, b in pairs]
            outs_fwd = [np.empty((m, b), np.float32) for _, b in pairs]
            outs_dA = [np.empty((m, a), np.float32) for a, _ in pairs]
            self.buffers[m] = (acts, deltas, outs_fwd, outs_dA)
        self.outs_dW = [np.empty_like(W) for W in self.weights]

    def epoch(self):
        weights, outs_dW = self.weights, self.outs_dW
        for m in self.sizes:
            acts, deltas, outs_fwd, outs_dA = self.buffers[m]
            for i, W in enumerate(weights):
                np.matmul(acts[i], W, out=outs_fwd[i])
            for i in range(len(weights) - 1, -1, -1):
                np.matmul(acts[i].T, deltas[i], out=outs_dW[i])
                if i > 0:
                    np.matmul(deltas[i], weights[i].T, out=outs_dA[i])
        return float("nan")


# ---------------------------------------------------------------------------- the benchmark
OURS = Ours.name


def run_workload(name: str, rounds: int, epochs_per_round: int, seed: int, use_torch: bool):
    """Interleaved timing; returns every epoch time per trainer and the per-round medians."""
    X, y, layer_sizes = load_workload(name, seed)
    classes = [Ours, Sklearn] + ([Torch] if use_torch else []) + [GemmFloor]
    trainers = [cls(X, y, layer_sizes, seed) for cls in classes]
    for trainer in trainers:  # warm-up: first-call set-up, BLAS buffers, caches
        trainer.epoch()
    times = {t.name: [] for t in trainers}
    per_round = {t.name: [] for t in trainers}
    losses = {}
    for r in range(rounds):
        order = trainers[r % len(trainers):] + trainers[:r % len(trainers)]  # rotate who goes first
        for trainer in order:
            this_round = []
            for _ in range(epochs_per_round):
                start = time.perf_counter()
                losses[trainer.name] = trainer.epoch()
                this_round.append(time.perf_counter() - start)
            times[trainer.name] += this_round
            per_round[trainer.name].append(float(np.median(this_round)))
    return {"X_shape": X.shape, "layer_sizes": layer_sizes, "times": times, "per_round": per_round,
            "losses": losses, "epochs_trained": 1 + rounds * epochs_per_round}


def summarize(result) -> dict:
    """Medians and minima, ours/theirs ratios of each, paired (per-round) ratios, GEMM shares."""
    times, per_round = result["times"], result["per_round"]
    med = {k: float(np.median(v)) for k, v in times.items()}
    fastest = {k: float(np.min(v)) for k, v in times.items()}
    paired = {k: float(np.median(np.array(per_round[OURS]) / np.array(per_round[k]))) for k in times}
    floor = GemmFloor.name
    return {"median": med, "min": fastest, "ratio": {k: med[OURS] / med[k] for k in times},
            "min_ratio": {k: fastest[OURS] / fastest[k] for k in times}, "paired": paired,
            "gemm_share": med[floor] / med[OURS], "gemm_share_min": fastest[floor] / fastest[OURS],
            "gemm_share_paired": float(np.median(np.array(per_round[floor]) / np.array(per_round[OURS])))}


def report(name: str, result) -> str:
    """The table for one workload: milliseconds per epoch and ratios ours / this."""
    summary = summarize(result)
    times = result["times"]
    lines = [f"## {name}: X {result['X_shape']}, layers {result['layer_sizes']}, "
             f"{result['epochs_trained']} epochs each (1 warm-up)",
             f"{'':<14} {'median ms':>10} {'min-max ms':>17} {'last loss':>10} "
             f"{'ours/this':>10} {'paired':>7} {'of minima':>10}"]
    for key, values in times.items():
        loss = result["losses"][key]
        loss_text = "" if np.isnan(loss) else f"{loss:.4f}"
        if key == GemmFloor.name:
            ratios = ("-", "-", "-")
        else:
            ratios = tuple(f"{summary[k][key]:.2f}" for k in ("ratio", "paired", "min_ratio"))
        lines.append(f"{key:<14} {1e3 * summary['median'][key]:>10.2f} "
                     f"{1e3 * min(values):>8.2f}-{1e3 * max(values):<8.2f} {loss_text:>10} "
                     f"{ratios[0]:>10} {ratios[1]:>7} {ratios[2]:>10}")
    lines.append(f"GEMM share of our epoch: {100 * summary['gemm_share']:.0f}% of the median "
                 f"(paired {100 * summary['gemm_share_paired']:.0f}%, of minima "
                 f"{100 * summary['gemm_share_min']:.0f}%)")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="digits,large", help="comma-separated: digits,large")
    parser.add_argument("--rounds", type=int, default=30, help="interleaved rounds per workload")
    parser.add_argument("--epochs-per-round", type=int, default=None,
                        help=f"epochs per trainer per round (default: {EPOCHS_PER_ROUND})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    args = parser.parse_args(argv)
    use_torch = torch_available() and not args.no_torch
    if use_torch:
        import torch

        torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        blas = ", ".join(f"{i['internal_api']} {i.get('version')} ({i.get('architecture')}, "
                         f"{i['num_threads']} thread)" for i in threadpool_info() if i["user_api"] == "blas")
        print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cores, BLAS: {blas}")
        print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
        if use_torch:
            print(f"torch {torch.__version__}, {torch.get_num_threads()} thread")
        else:
            print("torch not installed (or --no-torch): PyTorch column skipped")
        for name in args.workloads.split(","):
            name = name.strip()
            epochs_per_round = args.epochs_per_round or EPOCHS_PER_ROUND.get(name, 1)
            result = run_workload(name, args.rounds, epochs_per_round, args.seed, use_torch)
            print()
            print(report(name, result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
