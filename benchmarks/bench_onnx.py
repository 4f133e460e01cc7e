"""Inference latency of the CNN in NumPy and in onnxruntime: dense, masked and shrunk, one thread.

Three versions of ``adaprune_edu.nn.cnn()`` (16/32/64 channels, trained 3 epochs on digits):

- dense;
- masked: 50% of every convolution's weights zeroed at random (unstructured: same shapes, same MACs);
- shrunk: every convolution keeps its first half of output channels (8/16/32), sliced by hand with
  the matching BatchNorm entries and next-layer inputs: a physically smaller network with about
  a quarter of the MACs (a stand-in for channel-pruning surgery, which decides *which* channels).

For each: the largest difference between onnxruntime's and NumPy's logits, and the median
latency of one call at batch 1 and batch 1024 in NumPy (evaluation mode, BatchNorm folded, 1 BLAS
thread) and in onnxruntime (1 intra-op thread, sequential), interleaved rounds. Speed-up is dense
latency / this version's latency; "of MAC cut" divides it by the MAC reduction.

Run: ``python benchmarks/bench_onnx.py`` (needs the optional extra: ``pip install 'adaprune-edu[onnx]'``).
"""
from __future__ import annotations

import argparse

import numpy as np
from threadpoolctl import threadpool_limits

from adaprune_edu.costs import macs_per_sample, measure_latency
from adaprune_edu.data import load_dataset
from adaprune_edu.deploy import onnxruntime_predict, onnxruntime_session
from adaprune_edu.nn import Conv2D, Dense, cnn
from adaprune_edu.nn.fold import fold_batchnorm


def macs(model, sample_shape) -> int:
    """Multiply-accumulates of one forward pass per sample (counted by :func:`adaprune_edu.costs.macs_per_sample`)."""
    return macs_per_sample(model, X=np.zeros((1, *sample_shape), dtype=model.dtype))


def halve_channels(model):
    """The first half of every convolution's output channels, with their BatchNorm entries and next inputs."""
    widths = [p["W"].shape[-1] // 2 for p in model.params if p.get("W") is not None and p["W"].ndim == 4]
    small = cnn(channels=widths, seed=model.seed)
    keep_in = slice(None)
    for k, (layer, p) in enumerate(zip(small.param_layers(), model.params)):
        if isinstance(layer, Conv2D):
            keep = slice(0, layer.out_channels)
            small.params[k] = {"W": p["W"][:, :, keep_in, keep].copy(), "b": p["b"][keep].copy()}
            keep_in = keep
        elif isinstance(layer, Dense):
            small.params[k] = {"W": p["W"][keep_in].copy(), "b": p["b"].copy()}
        else:  # BatchNorm2D after the convolution just sliced
            small.params[k] = {key: value[keep_in].copy() for key, value in p.items()}
            big = model.param_layers()[k]
            layer.running_mean, layer.running_var = big.running_mean[keep_in].copy(), big.running_var[keep_in].copy()
    return small.eval()


def median_ms(fn, X, repeats) -> float:
    """Median milliseconds of ``fn(X)`` (``costs.measure_latency``, no warm-up: the rounds interleave)."""
    return 1000 * measure_latency(fn, X, repeats=repeats, warmup=0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    data = load_dataset("digits", seed=0, images=True)
    dense = cnn(seed=0).fit(data.X_train, data.y_train, epochs=3, learning_rate=0.05, progress=False).eval()
    masked = dense.copy()
    rng = np.random.default_rng(0)
    for k, p in enumerate(masked.params):
        if "W" in p and p["W"].ndim == 4:
            masked.set_mask(k, rng.random(p["W"].shape) >= 0.5)
    versions = {"dense": dense, "masked 50%": masked, "shrunk 50% ch.": halve_channels(dense)}
    batches = {1: data.X_test[:1], 1024: np.concatenate([data.X_test] * 3)[:1024]}
    folded = {name: fold_batchnorm(model) for name, model in versions.items()}
    sessions = {name: onnxruntime_session(model) for name, model in versions.items()}
    cells = {(name, engine, b): [] for name in versions for engine in ("numpy", "onnxruntime") for b in batches}
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(args.rounds):
            for name in versions:
                for b, X in batches.items():
                    cells[(name, "numpy", b)].append(median_ms(folded[name].forward, X, args.repeats))
                    session = sessions[name]
                    cells[(name, "onnxruntime", b)].append(
                        median_ms(lambda X, session=session: onnxruntime_predict(session, X), X, args.repeats))
    mac_dense = macs(dense, data.sample_shape)
    print("CNN 16/32/64 on 8x8 digits, 1 thread; latency = median ms of one call; speed-up vs dense")
    print(f"{'version':16s} {'MMAC':>6s} {'max |ort - numpy|':>18s}  " + "  ".join(
        f"{engine + ' b' + str(b):>22s}" for engine in ("numpy", "onnxruntime") for b in batches))
    for name, model in versions.items():
        logits = model.forward(data.X_test)
        difference = float(np.max(np.abs(onnxruntime_predict(sessions[name], data.X_test) - logits)))
        mac = macs(model, data.sample_shape)
        row = f"{name:16s} {mac / 1e6:6.3f} {difference:18.1e}  "
        for engine in ("numpy", "onnxruntime"):
            for b in batches:
                ms = float(np.median(cells[(name, engine, b)]))
                speedup = float(np.median(cells[("dense", engine, b)])) / ms
                row += f"{ms:8.3f} ({speedup:4.2f}x, {speedup / (mac_dense / mac):4.2f})  "
        print(row)
    print("(a, b): a = speed-up vs dense, b = speed-up / MAC reduction")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
