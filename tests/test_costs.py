"""Cost numbers on models small enough to count by hand, and one source for all of them."""
import numpy as np
import pytest

from adaprune_edu import MLP, costs, load_dataset, metrics
from adaprune_edu.pruning import SparseMLP, prune_to_sparsity
from adaprune_edu.pruning.sparse import csr_nbytes, to_csr


@pytest.fixture
def model():
    """[4, 3, 2]: W0 4x3 (3 of its weights pruned), W1 3x2; b0 = [0, 1, 2] (one zero), b1 = [1, 1]."""
    m = MLP([4, 3, 2], seed=0)  # float32
    mask = np.ones((4, 3))
    mask[0] = 0
    m.set_mask(0, mask)
    m.params[0]["b"][:] = [0.0, 1.0, 2.0]
    m.params[1]["b"][:] = [1.0, 1.0]
    return m


def test_matrix_formulas_by_hand():
    assert costs.dense_bytes((4, 3), 4) == 48
    assert costs.csr_bytes(n_rows=3, nnz=9, value_bytes=4) == 9 * 8 + 4 * 4 == 88
    assert costs.csr_bytes(n_rows=2, nnz=0, value_bytes=8, index_bytes=8) == 24  # an empty matrix still has indptr
    assert costs.bitmask_bytes(size=12, nnz=9, value_bytes=4) == 36 + 2
    assert costs.bitmask_bytes(size=16, nnz=0, value_bytes=4) == 2
    assert costs.bitmask_bytes(size=17, nnz=1, value_bytes=4) == 4 + 3


def test_counts_by_hand(model):
    assert costs.count_params(model) == 12 + 3 + 6 + 2 == 23
    assert costs.count_nonzeros(model) == 23 - 3 - 1
    assert costs.macs_per_sample(model) == 12 + 6
    assert costs.macs_per_sample(model, sparse=True) == 9 + 6
    assert costs.flops_per_sample(model) == 36 and costs.flops_per_sample(model, sparse=True) == 30


def test_bytes_by_hand(model):
    assert costs.bytes_dense(model) == 23 * 4
    # CSR of W.T: layer 0 is (3 outputs x 4 inputs) with 9 non-zeros -> 9*(4+4) + (3+1)*4 = 88;
    # layer 1 is (2 x 3) with 6 -> 6*8 + (2+1)*4 = 60; biases 5*4 = 20.
    assert costs.bytes_csr(model) == 88 + 60 + 20 == 168
    assert costs.bytes_csr(model, index_bytes=8) == (9 * 12 + 4 * 8) + (6 * 12 + 3 * 8) + 20
    # bitmask: 9*4 + ceil(12/8) = 38; 6*4 + ceil(6/8) = 25; biases 20
    assert costs.bytes_bitmask(model) == 38 + 25 + 20 == 83


def test_csr_formula_matches_the_arrays_scipy_allocates(model):
    for p in model.params:
        matrix = to_csr(p["W"])
        assert matrix.shape == (p["W"].shape[1], p["W"].shape[0])  # stored as W.T: one row per output neuron
        assert csr_nbytes(matrix) == costs.csr_bytes(matrix.shape[0], matrix.nnz, 4, matrix.indices.itemsize)


def test_sparse_mlp_and_metrics_agree_on_a_pruned_digits_network():
    data = load_dataset("digits", seed=0)
    net = prune_to_sparsity(MLP(data.default_layer_sizes(), seed=0), 0.9)
    sparse = SparseMLP(net)
    assert sparse.nbytes == metrics.bytes_csr(net) == costs.bytes_csr(net)
    assert sparse.nbytes == sum(csr_nbytes(layer["W_T"]) + layer["b"].nbytes for layer in sparse.layers)
    nnz = costs.count_nonzeros(net) - sum(np.count_nonzero(p["b"]) for p in net.params)
    sizes = net.layer_sizes  # [64, 256, 128, 10]: row pointers over n_out
    assert costs.bytes_csr(net) == nnz * 8 + sum(n + 1 for n in sizes[1:]) * 4 + sum(sizes[1:]) * 4


def test_dense_layers_of_a_sparse_mlp_count_as_dense(model):
    sparse = SparseMLP(model, min_sparsity=0.5)  # layer 0 is 25% sparse: stays dense; layer 1 is dense too
    assert sparse.formats == ["dense", "dense"]
    assert sparse.nbytes == costs.bytes_dense(model)


def test_metrics_names_are_the_costs_functions():
    for name in ("count_params", "count_nonzeros", "macs_per_sample", "flops_per_sample", "bytes_dense",
                 "bytes_csr", "bytes_bitmask", "measure_latency"):
        assert getattr(metrics, name) is getattr(costs, name)


def test_zeros_change_only_the_sparse_numbers():
    m = MLP([64, 32, 10], seed=0)
    dense = (costs.count_params(m), costs.bytes_dense(m), costs.flops_per_sample(m))
    m.set_mask(0, np.zeros((64, 32)))
    assert (costs.count_params(m), costs.bytes_dense(m), costs.flops_per_sample(m)) == dense
    assert costs.bytes_csr(m) < costs.bytes_dense(m) and costs.bytes_bitmask(m) < costs.bytes_dense(m)


def test_latency_is_a_median_of_the_timed_runs():
    calls = []
    seconds = costs.measure_latency(lambda X: calls.append(1), None, repeats=5, warmup=2)
    assert seconds >= 0 and len(calls) == 7


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="nnz=-1"):
        costs.csr_bytes(3, -1, 4)
    with pytest.raises(ValueError, match="value_bytes=0"):
        costs.csr_bytes(3, 1, 0)
    with pytest.raises(ValueError, match="nnz=13"):
        costs.bitmask_bytes(12, 13, 4)
    with pytest.raises(TypeError, match="model=str"):
        costs.count_params("net")
    with pytest.raises(ValueError, match="repeats=0"):
        costs.measure_latency(lambda X: None, None, repeats=0)
    with pytest.raises(TypeError, match="predict"):
        costs.measure_latency("model", None)


def test_docstring_examples():
    import doctest

    result = doctest.testmod(costs)
    assert result.attempted >= 3 and result.failed == 0


def test_cnn_costs_by_hand_and_against_the_forward_pass():
    """Conv MACs are H_out * W_out * k * k * C_in * C_out; BatchNorm's gamma and beta are parameters, stored dense."""
    from adaprune_edu.nn import Sequential
    from adaprune_edu.nn.layers import BatchNorm2D, Conv2D, Dense, GlobalAvgPool2D, MaxPool2D, ReLU, Residual
    from adaprune_edu.pruning import count_macs, prune_model, shrink

    net = Sequential([Conv2D(1, 4, 3, padding=1), BatchNorm2D(4), ReLU(), MaxPool2D(2),
                      Conv2D(4, 6, 3, stride=2), ReLU(), GlobalAvgPool2D(), Dense(6, 3)], seed=0)
    # 8x8 -> conv 8x8 (64 positions), pool 4x4, conv stride 2 without padding 1x1 (1 position)
    X = np.zeros((1, 8, 8, 1), np.float32)
    macs = 64 * 9 * 1 * 4 + 1 * 9 * 4 * 6 + 6 * 3
    assert costs.macs_per_sample(net, X=X) == macs
    assert costs.flops_per_sample(net, X=X) == 2 * macs
    params = (9 * 4 + 4) + (4 + 4) + (9 * 4 * 6 + 6) + (6 * 3 + 3)
    assert costs.count_params(net) == params and costs.bytes_dense(net) == 4 * params
    assert count_macs(net, X) == macs
    block = Residual([Conv2D(8, 8, 3, padding=1, stride=2), ReLU()], projection=Conv2D(8, 8, 1, stride=2))
    residual = Sequential([Conv2D(1, 8, 3, padding=1), BatchNorm2D(8), ReLU(), block, GlobalAvgPool2D(), Dense(8, 10)],
                          seed=0)
    assert costs.macs_per_sample(residual, X=X) == count_macs(residual, X)
    pruned = prune_model(residual.copy(), 0.5, granularity="structured", scope="layer")
    assert costs.macs_per_sample(pruned, sparse=True, X=X) < costs.macs_per_sample(
        pruned, X=X) == costs.macs_per_sample(residual, X=X)
    small = shrink(pruned)
    assert costs.macs_per_sample(small, X=X) == count_macs(small, X)
    assert costs.bytes_csr(pruned) < costs.bytes_csr(residual)
    with pytest.raises(ValueError, match="X=None"):
        costs.macs_per_sample(net)
