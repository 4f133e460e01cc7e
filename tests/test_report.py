"""The compression report: counts against hand-computed values, and the "why" it explains."""
import json

import numpy as np
import pytest

from adaprune_edu.nn import MLP
from adaprune_edu.pruning.report import CompressionReport, compression_report


@pytest.fixture
def X():
    return np.random.default_rng(0).normal(size=(30, 6)).astype(np.float32)


def test_unpruned_model_counts(X):
    model = MLP([6, 8, 4, 3], seed=0)
    report = compression_report(model)
    params = 6 * 8 + 8 + 8 * 4 + 4 + 4 * 3 + 3
    assert report.params == params == report.params_shrunk
    assert report.macs_dense == 6 * 8 + 8 * 4 + 4 * 3
    assert report.flops_dense == 2 * report.macs_dense == report.flops_shrunk
    assert report.bytes_dense == 4 * params == report.bytes_shrunk
    assert report.sparsity == 0.0 and report.neurons_removed_fraction == 0.0
    assert report.latency_ms is None
    # Dense weights in CSR cost value + index each, so CSR is bigger than dense here.
    assert report.bytes_csr > report.bytes_dense
    assert "surgery cannot make the dense network smaller" in report.to_text()


def test_masked_zeros_change_nonzeros_but_not_dense_cost(X):
    model = MLP([6, 8, 4, 3], seed=1)
    dense = compression_report(model)
    model.set_mask(0, np.zeros((6, 8)) + (np.arange(8) < 2))  # only 2 of 8 columns kept
    report = compression_report(model)
    assert report.params == dense.params and report.bytes_dense == dense.bytes_dense
    assert report.flops_dense == dense.flops_dense
    assert report.nonzeros == dense.nonzeros - 6 * 6
    assert report.flops_effective == dense.flops_effective - 2 * 6 * 6
    assert report.layer_sparsity[0] == pytest.approx(0.75)
    # Six columns of W[0] are zero and their biases are zero: surgery removes those neurons.
    assert report.shrunk_layer_sizes == [6, 2, 4, 3]
    assert report.neurons_alive == [2, 4] and report.neurons_total == [8, 4]
    assert report.neurons_removed_fraction == pytest.approx(6 / 12)
    assert report.flops_shrunk == 2 * (6 * 2 + 2 * 4 + 4 * 3)
    assert report.flop_reduction == pytest.approx(report.flops_dense / report.flops_shrunk)
    # CSR of W.T: non-zeros * (4-byte value + 4-byte index) + (n_out + 1) row pointers + biases.
    assert report.bytes_csr == (12 * 8 + 9 * 4 + 8 * 4) + (32 * 8 + 5 * 4 + 4 * 4) + (12 * 8 + 4 * 4 + 3 * 4)
    assert report.bytes_csr > report.bytes_dense  # 39% sparsity is below CSR's break-even


def test_latency_is_measured_for_each_variant_and_batch(X):
    model = MLP([6, 8, 4, 3], seed=2)
    model.set_mask(0, np.zeros((6, 8)) + (np.arange(8) < 4))
    report = compression_report(model, X, repeats=2, warmup=0, batch_sizes=(1, 64))
    assert set(report.latency_ms) == {"dense", "csr", "shrunk"}
    for times in report.latency_ms.values():
        assert set(times) == {1, 64} and all(t > 0 for t in times.values())
    assert report.speedup("shrunk", 64) == pytest.approx(
        report.latency_ms["dense"][64] / report.latency_ms["shrunk"][64])
    text = report.to_text()
    assert "latency shrunk" in text and "batch 64" in text and "Why (not) smaller and faster" in text
    payload = json.loads(json.dumps(report.to_dict()))
    assert payload["latency_ms"]["csr"]["64"] == report.latency_ms["csr"][64]
    assert payload["flop_reduction"] == report.flop_reduction


def test_unpruned_model_has_no_shrunk_latency(X):
    report = compression_report(MLP([6, 5, 2], seed=3), X, repeats=1, warmup=0, batch_sizes=(4,))
    assert set(report.latency_ms) == {"dense", "csr"}
    assert report.speedup("shrunk", 4) is None
    assert isinstance(report, CompressionReport)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(repeats=0), ValueError, "repeats"),
    (dict(repeats=1.5), TypeError, "repeats"),
    (dict(batch_sizes=()), ValueError, "batch_sizes"),
    (dict(batch_sizes=(1, 0)), ValueError, r"batch_sizes\[1\]=0 must be >= 1"),
    (dict(batch_sizes="1"), TypeError, "batch_sizes"),
    (dict(X=np.zeros((3, 5))), ValueError, "features"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        compression_report(MLP([6, 5, 2]), **kwargs)
    with pytest.raises(TypeError, match="model must be"):
        compression_report(None)


def test_inference_function_equals_forward_for_dense_and_csr(X):
    from adaprune_edu.pruning.report import inference_function
    from adaprune_edu.pruning.sparse import SparseMLP

    model = MLP([6, 8, 4, 3], activation="tanh", seed=4)
    model.set_mask(1, (np.random.default_rng(1).random((8, 4)) > 0.5).astype(np.float32))
    expected = model.forward(X)
    np.testing.assert_allclose(inference_function(model)(X), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(inference_function(SparseMLP(model))(X), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="MLP or a SparseMLP"):
        inference_function("model")


def test_resource_cost_metrics(X):
    from adaprune_edu.pruning.report import resource_cost
    from adaprune_edu.pruning.sparse import SparseMLP

    model = MLP([6, 8, 4, 3], seed=5)
    model.set_mask(0, np.zeros((6, 8)) + (np.arange(8) < 2))
    report = compression_report(model)
    assert resource_cost(model, "bytes_csr") == SparseMLP(model).nbytes == report.bytes_csr
    assert resource_cost(model, "bytes_shrunk") == report.bytes_shrunk
    assert resource_cost(model, "flops_sparse") == report.flops_effective
    assert resource_cost(model, "flops_shrunk") == report.flops_shrunk == 2 * (6 * 2 + 2 * 4 + 4 * 3)
    assert resource_cost(model, "latency_ms", X=X, repeats=1) > 0
    with pytest.raises(ValueError, match="pass X"):
        resource_cost(model, "latency_ms")
    with pytest.raises(ValueError, match="metric"):
        resource_cost(model, "watts")


def test_report_of_a_channel_pruned_cnn():
    """Channels are the CNN's neurons; MACs come from costs with the image size; latency dense vs shrunk only."""
    from adaprune_edu import costs
    from adaprune_edu.nn.presets import cnn
    from adaprune_edu.pruning import prune_model, shrink
    from adaprune_edu.pruning.report import inference_function

    images = np.random.default_rng(0).normal(size=(20, 8, 8, 1)).astype(np.float32)
    net = cnn(channels=(4, 8, 8), seed=0).eval()
    pruned = prune_model(net.copy(), 0.5, granularity="structured", scope="layer")
    report = compression_report(pruned, images, repeats=1, batch_sizes=(1, 32))
    assert report.layer_sizes == [1, 4, 8, 8, 10] and report.shrunk_layer_sizes == [1, 2, 4, 4, 10]
    assert report.neurons_removed_fraction == 0.5
    small = shrink(pruned)
    assert report.macs_dense == costs.macs_per_sample(net, X=images)
    assert report.macs_shrunk == costs.macs_per_sample(small, X=images)
    assert report.mac_reduction == pytest.approx(report.macs_dense / report.macs_shrunk) == report.flop_reduction
    assert report.params == costs.count_params(net) and report.params_shrunk == costs.count_params(small)
    assert set(report.latency_ms) == {"dense", "shrunk"} and set(report.latency_ms["shrunk"]) == {1, 32}
    assert "mac_reduction" in report.to_dict() and "after surgery [1, 2, 4, 4, 10]" in report.to_text()
    np.testing.assert_allclose(inference_function(small)(images), pruned.forward(images, training=False),
                               rtol=1e-4, atol=1e-5)
    many = np.concatenate([images] * 10)  # 200 images: run in chunks of 128
    np.testing.assert_allclose(inference_function(net)(many), net.forward(many, training=False), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="X=None"):
        compression_report(pruned)  # no images: the convolutions' MACs are unknown
    untimed = compression_report(pruned, images, timed=False)
    assert untimed.latency_ms is None and untimed.macs_shrunk == report.macs_shrunk
