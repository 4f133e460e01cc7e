"""ONNX export: dense, masked and shrunk networks give NumPy's outputs in onnxruntime (skipped without it)."""
import numpy as np
import pytest

from adaprune_edu.data import load_dataset
from adaprune_edu.nn import (
    MLP,
    AvgPool2D,
    BatchNorm2D,
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool2D,
    MaxPool2D,
    ReLU,
    Residual,
    Sequential,
    cnn,
)

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from adaprune_edu.deploy import onnxruntime_latency, onnxruntime_predict, onnxruntime_session, to_onnx  # noqa: E402

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def images():
    return load_dataset("digits", seed=0, images=True)


@pytest.fixture(scope="module")
def trained_cnn(images):
    model = cnn(seed=0)
    model.fit(images.X_train, images.y_train, epochs=2, learning_rate=0.05, progress=False)
    return model


def assert_onnxruntime_equals_numpy(model, X):
    expected = model.eval().forward(X)
    got = onnxruntime_predict(onnxruntime_session(model), X)
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) <= TOLERANCE * max(1.0, np.max(np.abs(expected)))


def test_dense_cnn(trained_cnn, images):
    assert_onnxruntime_equals_numpy(trained_cnn, images.X_test)


def test_masked_cnn(trained_cnn, images):
    model = trained_cnn.copy()
    rng = np.random.default_rng(0)
    for k, p in enumerate(model.params):
        if "W" in p and p["W"].ndim == 4:
            model.set_mask(k, rng.random(p["W"].shape) < 0.3)
    assert model.sparsity() > 0.5
    assert_onnxruntime_equals_numpy(model, images.X_test)


def test_shrunk_cnn(trained_cnn, images):
    """Half the channels of the first two convolutions removed by hand (filters, BatchNorm entries, next inputs)."""
    keep1, keep2 = np.arange(0, 16, 2), np.arange(0, 32, 2)
    small = cnn(channels=(8, 16, 64), seed=0)
    big, bn_big, bn_small = trained_cnn.params, trained_cnn.param_layers(), small.param_layers()
    small.params[0] = {"W": big[0]["W"][..., keep1], "b": big[0]["b"][keep1]}
    small.params[1] = {k: v[keep1] for k, v in big[1].items()}
    small.params[2] = {"W": big[2]["W"][:, :, keep1][..., keep2], "b": big[2]["b"][keep2]}
    small.params[3] = {k: v[keep2] for k, v in big[3].items()}
    small.params[4] = {"W": big[4]["W"][:, :, keep2], "b": big[4]["b"]}
    small.params[5:] = [dict(p) for p in big[5:]]
    for index, keep in ((1, keep1), (3, keep2)):
        bn_small[index].running_mean = bn_big[index].running_mean[keep]
        bn_small[index].running_var = bn_big[index].running_var[keep]
    assert_onnxruntime_equals_numpy(small, images.X_test)
    proto = to_onnx(small)
    conv_weights = [t for t in proto.graph.initializer if len(t.dims) == 4]
    assert [list(t.dims) for t in conv_weights] == [[8, 1, 3, 3], [16, 8, 3, 3], [64, 16, 3, 3]]


def test_residual_network_and_flatten(images):
    model = Sequential([
        Conv2D(1, 4, 3, padding=1), BatchNorm2D(4), ReLU(), MaxPool2D(2),
        Residual([Conv2D(4, 4, 3, padding=1), BatchNorm2D(4), ReLU(), Conv2D(4, 4, 3, padding=1), BatchNorm2D(4)]),
        ReLU(),
        Residual([Conv2D(4, 6, 3, stride=2, padding=1), BatchNorm2D(6), ReLU()], projection=Conv2D(4, 6, 1, stride=2)),
        AvgPool2D(1), GlobalAvgPool2D(), Dense(6, 10)], seed=0)
    model.fit(images.X_train[:256], images.y_train[:256], epochs=1, progress=False)
    assert_onnxruntime_equals_numpy(model, images.X_test)
    assert sum(node.op_type == "Add" for node in to_onnx(model).graph.node) == 2
    flat = Sequential([Conv2D(1, 3, 3, stride=2), ReLU(), Flatten(), Dense(27, 10)])
    assert_onnxruntime_equals_numpy(flat, images.X_test)


def test_mlp_and_unfolded_batchnorm(trained_cnn, images):
    digits = load_dataset("digits", seed=0)
    mlp = MLP(digits.default_layer_sizes(), seed=0).fit(digits.X_train, digits.y_train, epochs=2, progress=False)
    assert_onnxruntime_equals_numpy(mlp, digits.X_test)
    unfolded = to_onnx(trained_cnn, fold=False)
    assert sum(node.op_type == "BatchNormalization" for node in unfolded.graph.node) == 3
    assert not any(node.op_type == "BatchNormalization" for node in to_onnx(trained_cnn).graph.node)
    got = onnxruntime_predict(onnxruntime_session(unfolded), images.X_test)
    np.testing.assert_allclose(got, trained_cnn.eval().forward(images.X_test), atol=1e-4)


def test_latency_helper_and_errors(trained_cnn, images):
    session = onnxruntime_session(trained_cnn)
    assert onnxruntime_latency(session, images.X_test[:8], repeats=3, warmup=1) > 0
    with pytest.raises(ValueError, match="repeats=0"):
        onnxruntime_latency(session, images.X_test[:8], repeats=0)
    with pytest.raises(TypeError, match="Sequential"):
        to_onnx("model.npz")
    with pytest.raises(ValueError, match="Flatten"):
        to_onnx(Sequential([Conv2D(1, 2, 3), Dense(2, 3)]))
