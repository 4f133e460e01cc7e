"""Deployment: export a network to ONNX and time it in onnxruntime (optional extra ``onnx``).

``pip install "adaprune-edu[onnx]"`` installs ``onnx`` and ``onnxruntime``; the rest of the
package does not need them.
"""
from .onnx_export import to_onnx
from .onnx_latency import onnxruntime_latency, onnxruntime_predict, onnxruntime_session

__all__ = ["to_onnx", "onnxruntime_session", "onnxruntime_predict", "onnxruntime_latency"]
