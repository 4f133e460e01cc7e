"""Export a :class:`~adaprune_edu.nn.sequential.Sequential` (an MLP, a CNN) to an ONNX graph.

The graph is built node by node with ``onnx.helper``, so a reader can see what each layer
becomes:

- ``Dense`` -> ``Gemm`` (``X @ W + b``; our ``W`` is already ``(n_in, n_out)``);
- ``Conv2D`` -> ``Conv`` (weights transposed to ONNX's ``(C_out, C_in, k, k)``), with a
  ``BatchNorm2D`` right after it folded in first (:func:`adaprune_edu.nn.fold.fold_batchnorm`);
  any other ``BatchNorm2D`` -> ``BatchNormalization`` with the running statistics;
- ``ReLU``/``Sigmoid``/``Tanh`` -> ``Relu``/``Sigmoid``/``Tanh``;
- ``MaxPool2D``/``AvgPool2D`` -> ``MaxPool``/``AveragePool``; ``GlobalAvgPool2D`` ->
  ``GlobalAveragePool`` + ``Flatten``;
- ``Flatten`` -> ``Transpose`` back to channels-last + ``Flatten`` (so features come in our order);
- ``Residual`` -> its branch, its skip path, and ``Add``.

Layout: our images are channels-last (NHWC); ONNX's convolutions are NCHW. The graph takes
NHWC input named ``"input"`` exactly as NumPy does, transposes once at the start, and returns
logits named ``"logits"`` (n_samples, n_outputs). The batch dimension is symbolic.
A masked network exports its zeros as they are (dense tensors); a smaller (shrunk) network
exports smaller tensors: that is where an inference engine can be faster.
"""
from __future__ import annotations

import numpy as np

from ..nn.fold import fold_batchnorm
from ..nn.layers import (
    AvgPool2D,
    BatchNorm2D,
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool2D,
    MaxPool2D,
    ReLU,
    Residual,
    Sigmoid,
    Tanh,
)
from ..nn.layers.chain import split_params

OPSET = 17
#: the IR version that goes with opset 17 (onnx's VERSION_TABLE); onnx 1.23 writes IR 14 by default,
#: which onnxruntime 1.23 (the newest for Python 3.10) refuses: it reads IR <= 11
IR_VERSION = 8
ACTIVATION_OPS = {ReLU: "Relu", Sigmoid: "Sigmoid", Tanh: "Tanh"}


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("exporting to ONNX needs the optional extra: pip install 'adaprune-edu[onnx]' "
                          "(onnx and onnxruntime)") from None
    return onnx


class _Graph:
    """Nodes and weight tensors collected while walking the network."""

    def __init__(self, onnx):
        self.onnx, self.nodes, self.initializers, self.count = onnx, [], [], 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def weight(self, hint: str, array: np.ndarray) -> str:
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array, np.float32), name))
        return name

    def node(self, op: str, inputs: list, **attributes) -> str:
        output = self.name(op.lower())
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], name=output, **attributes))
        return output


def _layer(graph: _Graph, layer, params, x: str, layout: str) -> tuple:
    """Add ``layer``'s nodes reading tensor ``x``; returns ``(output name, its layout)``.

    ``layout`` is ``"nchw"`` (images inside the graph) or ``"flat"`` (n_samples, features).
    """
    if isinstance(layer, Residual):
        inner_params, projection_params = layer.split_params(params)
        branch, branch_layout = _chain(graph, layer.layers, inner_params, x, layout)
        skip, skip_layout = x, layout
        if layer.projection is not None:
            skip, skip_layout = _layer(graph, layer.projection, projection_params, x, layout)
        if branch_layout != skip_layout:
            raise ValueError("Residual: the branch and the skip path end in different layouts")
        return graph.node("Add", [branch, skip]), branch_layout
    if isinstance(layer, Dense):
        if layout != "flat":
            raise ValueError("Dense needs flat input: put Flatten() or GlobalAvgPool2D() before it")
        return graph.node("Gemm", [x, graph.weight("W", params["W"]), graph.weight("b", params["b"])]), "flat"
    if isinstance(layer, Conv2D):
        k, p, s = layer.kernel_size, layer.padding, layer.stride
        W = params["W"].transpose(3, 2, 0, 1)  # (k, k, C_in, C_out) -> (C_out, C_in, k, k)
        return graph.node("Conv", [x, graph.weight("W", W), graph.weight("b", params["b"])], kernel_shape=[k, k],
                          strides=[s, s], pads=[p, p, p, p]), "nchw"
    if isinstance(layer, BatchNorm2D):
        inputs = [x, graph.weight("gamma", params["gamma"]), graph.weight("beta", params["beta"]),
                  graph.weight("mean", layer.running_mean), graph.weight("var", layer.running_var)]
        return graph.node("BatchNormalization", inputs, epsilon=layer.eps), layout
    if type(layer) in ACTIVATION_OPS:
        return graph.node(ACTIVATION_OPS[type(layer)], [x]), layout
    if isinstance(layer, (MaxPool2D, AvgPool2D)):
        op = "MaxPool" if isinstance(layer, MaxPool2D) else "AveragePool"
        return graph.node(op, [x], kernel_shape=[layer.size] * 2, strides=[layer.size] * 2), "nchw"
    if isinstance(layer, GlobalAvgPool2D):
        return graph.node("Flatten", [graph.node("GlobalAveragePool", [x])], axis=1), "flat"
    if isinstance(layer, Flatten):
        if layout == "nchw":  # back to channels-last first, so the features come in our order
            x = graph.node("Transpose", [x], perm=[0, 2, 3, 1])
        return graph.node("Flatten", [x], axis=1), "flat"
    raise TypeError(f"no ONNX export for layer {layer!r}")


def _chain(graph: _Graph, layers, params, x: str, layout: str) -> tuple:
    for layer, share in zip(layers, split_params(layers, params)):
        x, layout = _layer(graph, layer, share, x, layout)
    return x, layout


def to_onnx(model, fold: bool = True):
    """The ONNX model (an ``onnx.ModelProto``) computing ``model``'s evaluation-mode logits.

    Parameters
    ----------
    model : Sequential (MLP, CNN, ...)
    fold : bool; fold each BatchNorm into the convolution before it (the usual inference graph).

    Returns
    -------
    onnx.ModelProto with input ``"input"`` of shape (batch, n_features) or (batch, H, W, C)
    channels-last, and output ``"logits"`` of shape (batch, n_outputs). Save it with
    ``onnx.save(proto, path)`` or pass ``proto.SerializeToString()`` to onnxruntime.
    """
    onnx = _require_onnx()
    from ..nn.sequential import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a Sequential (an MLP or a CNN), got {type(model).__name__}")
    if not isinstance(fold, bool):
        raise TypeError(f"fold={fold!r} must be True or False")
    if fold:
        model = fold_batchnorm(model)
    graph = _Graph(onnx)
    images = model.leaves()[0].input_ndim == 4
    if images:
        shape = ["batch", "height", "width", model.params[0]["W"].shape[2]]
        x, layout = graph.node("Transpose", ["input"], perm=[0, 3, 1, 2]), "nchw"
    else:
        shape = ["batch", model.n_features]
        x, layout = "input", "flat"
    x, layout = _chain(graph, model.layers, model.params, x, layout)
    if layout != "flat":
        raise ValueError("the network must end in (n_samples, n_outputs): add GlobalAvgPool2D() or Flatten()")
    graph.nodes.append(onnx.helper.make_node("Identity", [x], ["logits"], name="logits"))
    float32 = onnx.TensorProto.FLOAT
    inputs = [onnx.helper.make_tensor_value_info("input", float32, shape)]
    outputs = [onnx.helper.make_tensor_value_info("logits", float32, ["batch", model.n_outputs])]
    proto = onnx.helper.make_model(
        onnx.helper.make_graph(graph.nodes, "adaprune_edu", inputs, outputs, initializer=graph.initializers),
        opset_imports=[onnx.helper.make_opsetid("", OPSET)], ir_version=IR_VERSION, producer_name="adaprune_edu")
    onnx.checker.check_model(proto)
    return proto
