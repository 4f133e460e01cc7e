"""The CNN's bars: test accuracy over seeds (and bit-for-bit repeatability), and training speed vs PyTorch.

Network (``adaprune_edu.nn.cnn()``): three 3x3 'same' convolutions of 16/32/64 channels, each with
BatchNorm and ReLU, a 2x2 max-pool after the second, global average pool, dense 64 -> 10. Data:
``load_dataset("digits", images=True)`` (8x8x1, channels-last), the course's split (seed 0).
Training: momentum SGD (learning rate 0.05, momentum 0.9), batch 64, 20 epochs, float32.

Accuracy: the bar is a mean test accuracy >= 98.5% over 3 seeds (the seed draws the initial
weights and the shuffling); each run is trained twice and must agree bit for bit. PyTorch's
accuracy with the same network, optimizer and data is printed beside ours when torch is installed.

Speed: one BLAS thread for NumPy, one intra-op thread for PyTorch (default NCHW layout), batch 64,
the same optimizer. One warm-up epoch each, then ``--rounds`` rounds in which each implementation
trains one epoch in a rotating order (interleaved, so a slow spell of the shared machine hits all);
medians, min-max spread, ratio of medians and the paired ratio (median over rounds of the
per-round ratio). The GEMM floor is the time of the matrix products alone of one of our epochs
(per batch and convolution: forward ``cols @ W``, ``cols.T @ dZ`` and ``dZ @ W.T`` except for
the first layer; the same for the dense layer), into preallocated outputs.

Run: ``python benchmarks/bench_cnn.py`` (about a minute; ``--skip-accuracy``/``--skip-speed``).
No test asserts a timing. Exit status 1 if the accuracy bar is missed or a repeat differs.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from adaprune_edu.data import load_dataset
from adaprune_edu.nn import Conv2D, Momentum, cnn

LEARNING_RATE, MOMENTUM, BATCH_SIZE, EPOCHS = 0.05, 0.9, 64, 20
ACCURACY_BAR, SPEED_BAR = 0.985, 1.2


def train_ours(data, seed: int, epochs: int = EPOCHS):
    model = cnn(seed=seed)
    model.fit(data.X_train, data.y_train, epochs=epochs, batch_size=BATCH_SIZE,
              optimizer=Momentum(LEARNING_RATE, MOMENTUM), progress=False)
    return model


def torch_network(torch, seed: int):
    """The same network in PyTorch (NCHW), seeded by ``torch.manual_seed(seed)``."""
    nn = torch.nn
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


class TorchTrainer:
    name = "PyTorch CPU"

    def __init__(self, torch, data, seed):
        self.torch = torch
        self.X = torch.tensor(data.X_train).permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW
        self.y = torch.tensor(data.y_train)
        self.net = torch_network(torch, seed)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)

    def epoch(self):
        torch, net = self.torch, self.net
        net.train()
        order = torch.randperm(len(self.y))
        for lo in range(0, len(self.y), BATCH_SIZE):
            rows = order[lo:lo + BATCH_SIZE]
            self.opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(self.X[rows]), self.y[rows])
            loss.backward()
            self.opt.step()
            loss.item()

    def score(self, X, y):
        self.net.eval()
        with self.torch.no_grad():
            logits = self.net(self.torch.tensor(X).permute(0, 3, 1, 2).contiguous())
        return float((logits.argmax(1).numpy() == y).mean())


class OursTrainer:
    name = "adaprune_edu (NumPy)"

    def __init__(self, data, seed):
        self.X, self.y = data.X_train, data.y_train
        self.model = cnn(seed=seed)
        self.opt = Momentum(LEARNING_RATE, MOMENTUM)

    def epoch(self):
        self.model.fit(self.X, self.y, epochs=1, batch_size=BATCH_SIZE, optimizer=self.opt, progress=False)


class GemmFloor:
    """The matrix products of one of our epochs, nothing else (shapes read off a forward pass)."""

    name = "GEMM floor"

    def __init__(self, data, seed):
        model = cnn(seed=seed)
        rng = np.random.default_rng(seed)
        n = data.X_train.shape[0]
        sizes = [BATCH_SIZE] * (n // BATCH_SIZE) + ([n % BATCH_SIZE] if n % BATCH_SIZE else [])
        self.products = []  # (A, B, out) triples
        for size in sizes:
            A = data.X_train[:size]
            params = iter(model.params)
            for position, layer in enumerate(model.layers):
                p = next(params) if layer.n_param_dicts else None
                if p is not None and "W" in p:
                    rows = int(np.prod(A.shape[:-1])) if isinstance(layer, Conv2D) else A.shape[0]
                    W = p["W"].reshape(-1, p["W"].shape[-1])
                    cols = rng.standard_normal((rows, W.shape[0])).astype(np.float32)
                    dZ = rng.standard_normal((rows, W.shape[1])).astype(np.float32)
                    self.products += [(cols, W, np.empty((rows, W.shape[1]), np.float32)),
                                      (cols.T, dZ, np.empty(W.shape, np.float32))]
                    if position > 0:
                        self.products.append((dZ, W.T, np.empty(cols.shape, np.float32)))
                A, _ = layer.forward(p, A, training=True)

    def epoch(self):
        for A, B, out in self.products:
            np.matmul(A, B, out=out)


def accuracy(data, seeds, use_torch) -> bool:
    print(f"Accuracy: cnn() on digits 8x8, {EPOCHS} epochs, momentum SGD lr {LEARNING_RATE}, batch {BATCH_SIZE}")
    ours, theirs, repeatable = [], [], True
    for seed in seeds:
        first, second = train_ours(data, seed), train_ours(data, seed)
        same = all(np.array_equal(a[k], b[k]) for a, b in zip(first.params, second.params) for k in a)
        same = same and first.history_["loss"] == second.history_["loss"]
        repeatable &= same
        ours.append(first.score(data.X_test, data.y_test))
        line = f"  seed {seed}: ours {100 * ours[-1]:.2f}%  (repeat bit-identical: {same})"
        if use_torch:
            import torch

            torch.set_num_threads(1)
            trainer = TorchTrainer(torch, data, seed)
            for _ in range(EPOCHS):
                trainer.epoch()
            theirs.append(trainer.score(data.X_test, data.y_test))
            line += f"   PyTorch {100 * theirs[-1]:.2f}%"
        print(line)
    mean = float(np.mean(ours))
    print(f"  ours: {100 * mean:.2f} +- {100 * np.std(ours):.2f}% (bar >= {100 * ACCURACY_BAR:.1f}%: "
          f"{'met' if mean >= ACCURACY_BAR else 'MISSED'})"
          + (f"   PyTorch: {100 * np.mean(theirs):.2f} +- {100 * np.std(theirs):.2f}%" if theirs else ""))
    return mean >= ACCURACY_BAR and repeatable


def speed(data, rounds, use_torch, seed=0):
    trainers = [OursTrainer(data, seed), GemmFloor(data, seed)]
    if use_torch:
        import torch

        torch.set_num_threads(1)
        trainers.append(TorchTrainer(torch, data, seed))
    times = {t.name: [] for t in trainers}
    with threadpool_limits(limits=1, user_api="blas"):
        for t in trainers:
            t.epoch()  # warm-up
        for r in range(rounds):
            for t in trainers[r % len(trainers):] + trainers[:r % len(trainers)]:
                start = time.perf_counter()
                t.epoch()
                times[t.name].append(time.perf_counter() - start)
    ours, floor = np.array(times[OursTrainer.name]), np.array(times[GemmFloor.name])
    print(f"\nSpeed: one epoch of {data.X_train.shape[0]} images, batch {BATCH_SIZE}, float32, 1 thread, "
          f"{rounds} interleaved rounds")
    for name, values in times.items():
        print(f"  {name:22s} median {1000 * np.median(values):7.1f} ms  (min {1000 * np.min(values):6.1f}, "
              f"max {1000 * np.max(values):6.1f})")
    if use_torch:
        them = np.array(times[TorchTrainer.name])
        ratio = np.median(ours) / np.median(them)
        verdict = "met" if ratio <= SPEED_BAR else "missed"
        print(f"  ours / PyTorch: {ratio:.2f}x of medians, {np.median(ours / them):.2f}x paired, "
              f"{ours.min() / them.min():.2f}x of minima (bar <= {SPEED_BAR}x: {verdict})")
    print(f"  GEMM floor / ours: {100 * np.median(floor) / np.median(ours):.0f}% of the median "
          f"(ours is {np.median(ours) / np.median(floor):.1f}x its floor)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: F401
        use_torch = not args.no_torch
    except ImportError:
        use_torch = False
    data = load_dataset("digits", images=True, seed=0)
    ok = True
    if not args.skip_accuracy:
        ok = accuracy(data, args.seeds, use_torch)
    if not args.skip_speed:
        speed(data, args.rounds, use_torch)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
