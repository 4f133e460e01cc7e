"""CSR export: true bytes and a sparse forward pass equal to the dense one."""
import numpy as np
import pytest
import scipy.sparse as sp

from adaprune_edu.nn import MLP
from adaprune_edu.pruning.sparse import SparseMLP, csr_nbytes, export_csr, to_csr


def pruned_model(sparsity, seed=0, sizes=(6, 16, 8, 3), activation="relu", dtype="float32"):
    rng = np.random.default_rng(seed)
    model = MLP(list(sizes), activation=activation, seed=seed, dtype=dtype)
    for layer in range(model.n_layers):
        model.params[layer]["b"][:] = rng.normal(size=model.params[layer]["b"].shape)
        model.set_mask(layer, (rng.random(model.params[layer]["W"].shape) >= sparsity).astype(float))
    return model


def test_to_csr_stores_the_transpose_without_zeros():
    W = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, -3.0]], dtype=np.float32)  # (n_in=2, n_out=3)
    matrix = to_csr(W)
    assert isinstance(matrix, sp.csr_matrix) and matrix.shape == (3, 2)
    assert matrix.nnz == 3
    np.testing.assert_array_equal(matrix.toarray(), W.T)
    np.testing.assert_array_equal(matrix.indptr, [0, 1, 1, 3])
    # 3 float32 values + 3 int32 column indices + 4 int32 row pointers
    assert csr_nbytes(matrix) == 3 * 4 + 3 * 4 + 4 * 4


def test_to_csr_rejects_non_matrices():
    with pytest.raises(ValueError, match="2-D"):
        to_csr(np.zeros(3))


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("n_out", [3, 1])
def test_sparse_forward_predict_score_equal_dense(activation, n_out):
    model = pruned_model(0.8, sizes=(6, 16, 8, n_out), activation=activation)
    X = np.random.default_rng(1).normal(size=(40, 6)).astype(np.float32)
    y = np.arange(40) % max(2, n_out)
    sparse = SparseMLP(model)
    np.testing.assert_allclose(sparse.forward(X), model.forward(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(sparse.predict(X), model.predict(X))
    np.testing.assert_allclose(sparse.predict_proba(X), model.predict_proba(X), rtol=1e-5, atol=1e-6)
    assert sparse.score(X, y) == model.score(X, y)
    # A single sample (batch 1) takes the same path.
    np.testing.assert_allclose(sparse.forward(X[:1]), model.forward(X[:1]), rtol=1e-5, atol=1e-6)


def test_nbytes_counts_the_stored_arrays_and_shrinks_with_sparsity():
    dense_bytes = [pruned_model(s, seed=2) for s in (0.0, 0.5, 0.95)]
    sizes = [SparseMLP(m).nbytes for m in dense_bytes]
    assert sizes[0] > sizes[1] > sizes[2]
    model = dense_bytes[2]
    expected = sum(csr_nbytes(layer["W_T"]) + layer["b"].nbytes for layer in export_csr(model))
    assert SparseMLP(model).nbytes == expected
    assert SparseMLP(model).nnz == sum(int(np.count_nonzero(p["W"])) for p in model.params)
    # Dense storage of an unpruned model is smaller than its CSR (8 bytes per weight instead of 4).
    assert SparseMLP(dense_bytes[0]).nbytes > sum(p["W"].nbytes + p["b"].nbytes for p in dense_bytes[0].params)


def test_min_sparsity_keeps_dense_layers_dense_and_outputs_unchanged():
    model = pruned_model(0.3, seed=3)
    model.set_mask(1, (np.random.default_rng(0).random((16, 8)) > 0.9).astype(float))
    mixed = SparseMLP(model, min_sparsity=0.8)
    assert mixed.formats == ["dense", "csr", "dense"]
    X = np.random.default_rng(4).normal(size=(10, 6))
    np.testing.assert_allclose(mixed.forward(X), model.forward(X), rtol=1e-5, atol=1e-6)


def test_export_does_not_touch_the_model_and_checks_arguments():
    model = pruned_model(0.5, seed=5)
    before = [p["W"].copy() for p in model.params]
    layers = export_csr(model)
    layers[0]["W_T"].data[:] = 0.0
    for a, p in zip(before, model.params):
        np.testing.assert_array_equal(a, p["W"])
    with pytest.raises(TypeError, match="model must be"):
        SparseMLP("model")
    with pytest.raises(ValueError, match="min_sparsity"):
        SparseMLP(model, min_sparsity=1.5)
    with pytest.raises(ValueError, match="features"):
        SparseMLP(model).predict(np.zeros((2, 5)))
