"""Channel counts and latency: is a CNN with fewer channels always faster, in NumPy and in onnxruntime?

    .venv/bin/python benchmarks/bench_cnn_channels.py                 # ~1 minute on 2 cores
    .venv/bin/python benchmarks/bench_cnn_channels.py --repeats 60

The course CNN (16/32/64 channels) is cut by surgery to other channel counts (the first channels of
each layer kept by L1 filter norm) and each network is timed at batch 1024 on one thread: in NumPy
(:func:`adaprune_edu.pruning.report.time_variants`, BatchNorm folded) and in onnxruntime (the demo's
:func:`adaprune_edu.demo.onnxruntime_latencies`), interleaved rounds, least disturbed round. Printed:
MACs per image from :mod:`adaprune_edu.costs` and the two latencies. The question it answers: does
``adaprune-edu demo --model cnn`` want ``--neuron-multiple 8`` when the network ships to onnxruntime
(whose convolutions work on blocks of channels)? Timings are noisy on a shared machine; tests never
assert them. Needs the optional extra ``onnx``.
"""
from __future__ import annotations

import argparse

from adaprune_edu import costs, load_dataset
from adaprune_edu.demo import onnxruntime_latencies
from adaprune_edu.nn.presets import cnn
from adaprune_edu.pruning import prune_model, shrink
from adaprune_edu.pruning.report import inference_function, time_variants

SHAPES = ((16, 32, 64), (14, 28, 56), (16, 24, 56), (12, 24, 48), (8, 24, 48), (8, 16, 32), (7, 14, 28))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed runs per network (in 5 rounds)")
    args = parser.parse_args(argv)
    data = load_dataset("digits", images=True, seed=0)
    dense = cnn(seed=0).fit(data.X_train, data.y_train, epochs=1, learning_rate=0.05, progress=False)
    models = {}
    for kept in SHAPES:  # remove the lowest-L1 filters until each layer has `kept` channels
        removed = [size - k for size, k in zip((16, 32, 64), kept)]
        models[kept] = shrink(prune_model(dense.copy(), None, granularity="structured", scope=removed, n=1))
    numpy_ms = time_variants({k: inference_function(m) for k, m in models.items()}, data.X_test, batch_sizes=(1024,),
                             repeats=args.repeats)
    engine_ms = onnxruntime_latencies(models, data.X_test, repeats=args.repeats)
    print(f"{'channels':<14}{'MACs/image':>12}{'NumPy ms':>10}{'onnxruntime ms':>16}   (batch 1024, one thread)")
    for kept, model in models.items():
        engine = "not installed" if engine_ms is None else f"{engine_ms[kept]:.1f}"
        print(f"{str(list(kept)):<14}{costs.macs_per_sample(model, X=data.X_test[:1]):>12,}"
              f"{numpy_ms[kept][1024]:>10.1f}{engine:>16}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
