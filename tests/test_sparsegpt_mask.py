"""``sparsegpt_mask``: SparseGPT's mask without the weight update a mask-only method throws away."""
import numpy as np
import pytest

from adaprune_edu.pruning import reconstruction
from adaprune_edu.pruning.one_shot import prune_layer
from adaprune_edu.pruning.reconstruction import layer_hessian, sparsegpt, sparsegpt_mask


def layer(seed, n_in, n_out, ties=False):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((n_in, n_out))
    if ties:
        W = np.round(W)
    return W, layer_hessian(rng.standard_normal((3 * n_in, n_in)))


@pytest.mark.parametrize("n_in, blocksize", [(16, 128), (48, 16), (40, 12)])
@pytest.mark.parametrize("choice", [{"sparsity": 0.5}, {"sparsity": 0.3}, {"n_m": (2, 4)}, {"n_m": (1, 4)}])
def test_the_mask_is_bit_identical_to_sparsegpt_s(n_in, blocksize, choice):
    for seed, ties in ((0, False), (1, True)):
        W, H = layer(seed, n_in, 6, ties)
        expected = sparsegpt(W, H, blocksize=blocksize, **choice)[1]
        got = sparsegpt_mask(W, H, blocksize=blocksize, **choice)
        assert got.dtype == expected.dtype and np.array_equal(got, expected)


def test_one_block_with_a_sparsity_computes_no_update(monkeypatch):
    W, H = layer(2, 32, 5)
    expected = sparsegpt(W, H, sparsity=0.5)[1]
    calls = []
    real_outer = np.outer
    monkeypatch.setattr(reconstruction.np, "outer", lambda *a, **k: calls.append(1) or real_outer(*a, **k))
    got = sparsegpt_mask(W, H, sparsity=0.5)  # 32 inputs <= blocksize 128: one block
    assert calls == [] and np.array_equal(got, expected)
    sparsegpt(W, H, sparsity=0.5)
    assert len(calls) == 32, "the full method updates the block once per input"


def test_prune_layer_sparsegpt_mask_keeps_the_original_weights():
    rng = np.random.default_rng(5)
    W, X = rng.standard_normal((24, 4)), rng.standard_normal((50, 24))
    for kwargs in ({"sparsity": 0.5}, {"pattern": "2:4"}):
        W_hat, mask = prune_layer(W, X, "sparsegpt-mask", blocksize=8, **kwargs)
        _, full_mask = prune_layer(W, X, "sparsegpt", blocksize=8, **kwargs)
        assert np.array_equal(mask, full_mask) and np.array_equal(W_hat, W * mask)


def test_a_given_mask_is_refused():
    W, H = layer(3, 8, 2)
    with pytest.raises(TypeError):
        sparsegpt_mask(W, H, mask=np.ones_like(W))
    with pytest.raises(ValueError, match="exactly one of sparsity, n_m and mask"):
        sparsegpt_mask(W, H)
