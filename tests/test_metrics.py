"""Cost metrics on a tiny model whose counts are known by hand."""
import numpy as np
import pytest
import scipy.sparse

from adaprune_edu import MLP, metrics


@pytest.fixture
def model():
    m = MLP([4, 3, 2], seed=0)  # W: 4x3 and 3x2, b: 3 and 2 -> 12 + 6 weights, 5 biases
    mask = np.ones((4, 3))
    mask[0] = 0  # prune 3 weights
    m.set_mask(0, mask)
    m.params[0]["b"][:] = [0.0, 1.0, 2.0]
    m.params[1]["b"][:] = [1.0, 1.0]
    return m


def test_counts(model):
    assert metrics.count_params(model) == 23
    assert metrics.count_nonzeros(model) == 23 - 3 - 1  # 3 pruned weights, one zero bias
    assert metrics.macs_per_sample(model) == 18
    assert metrics.macs_per_sample(model, sparse=True) == 15
    assert metrics.flops_per_sample(model) == 36


def test_bytes(model):
    assert metrics.bytes_dense(model) == 23 * 4
    # CSR of W.T (one row per output neuron): nnz*(4+4) + (n_out+1)*4 per layer, plus dense biases
    expected = (9 * 8 + 4 * 4) + (6 * 8 + 3 * 4) + 5 * 4
    assert metrics.bytes_csr(model) == expected
    # the same as scipy's CSR arrays of W.T with int32 indices
    total = 0
    for p in model.params:
        csr = scipy.sparse.csr_matrix(p["W"].T)
        total += csr.data.nbytes + csr.indices.astype(np.int32).nbytes + csr.indptr.astype(np.int32).nbytes
        total += p["b"].nbytes
    assert metrics.bytes_csr(model) == total
    assert metrics.bytes_bitmask(model) == (9 * 4 + 2 + 3 * 4) + (6 * 4 + 1 + 2 * 4)


def test_zeroing_weights_does_not_change_dense_cost():
    m = MLP([64, 32, 10])
    dense = (metrics.count_params(m), metrics.bytes_dense(m), metrics.flops_per_sample(m))
    m.set_mask(0, np.zeros((64, 32)))
    assert (metrics.count_params(m), metrics.bytes_dense(m), metrics.flops_per_sample(m)) == dense
    assert metrics.bytes_csr(m) < metrics.bytes_dense(m)


def test_accuracy_and_errors():
    assert metrics.accuracy([0, 1, 1], [0, 1, 0]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="shape"):
        metrics.accuracy([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="empty"):
        metrics.accuracy([], [])


def test_latency_is_a_positive_median():
    calls = []
    seconds = metrics.measure_latency(lambda X: calls.append(1), np.zeros(3), repeats=5, warmup=2)
    assert seconds >= 0 and len(calls) == 7
    with pytest.raises(ValueError, match="repeats=0"):
        metrics.measure_latency(lambda X: None, None, repeats=0)
    with pytest.raises(TypeError, match="predict"):
        metrics.measure_latency("model", None)
