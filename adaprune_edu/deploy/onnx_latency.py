"""Run and time an exported network in onnxruntime, on one thread.

One intra-op and one inter-op thread, sequential execution: the same conditions as the NumPy
timings of the course (one BLAS thread), so that "is the pruned model faster in a real
inference engine?" is answered like for like.
"""
from __future__ import annotations

import time

import numpy as np

from .._checks import check_int


def onnxruntime_session(model, threads: int = 1):
    """An ``onnxruntime.InferenceSession`` for ``model`` (a Sequential or an ONNX ModelProto) on ``threads`` threads."""
    try:
        import onnxruntime
    except ImportError:
        raise ImportError("onnxruntime is an optional extra: pip install 'adaprune-edu[onnx]'") from None
    from .onnx_export import to_onnx

    threads = check_int("threads", threads, minimum=1)
    proto = model if hasattr(model, "SerializeToString") else to_onnx(model)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    return onnxruntime.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])


def onnxruntime_predict(session, X) -> np.ndarray:
    """Logits for ``X`` (float32, the layout the model takes: NHWC images or feature rows)."""
    return session.run(["logits"], {"input": np.ascontiguousarray(X, dtype=np.float32)})[0]


def onnxruntime_latency(session, X, repeats: int = 20, warmup: int = 3) -> float:
    """Median wall-clock milliseconds of one ``session.run`` on the batch ``X``."""
    repeats = check_int("repeats", repeats, minimum=1)
    warmup = check_int("warmup", warmup, minimum=0)
    X = np.ascontiguousarray(X, dtype=np.float32)
    for _ in range(warmup):
        session.run(["logits"], {"input": X})
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(["logits"], {"input": X})
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))
