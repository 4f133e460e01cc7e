"""One-shot pruning with calibration data: OBS, SparseGPT, Wanda, OBD, N:M, on literal cases and an MLP."""
import doctest
import itertools

import numpy as np
import pytest

from adaprune_edu import MLP, load_dataset
from adaprune_edu.pruning import one_shot, reconstruction
from adaprune_edu.pruning.one_shot import one_shot_mask, one_shot_scores, parse_pattern, prune_layer, prune_one_shot
from adaprune_edu.pruning.reconstruction import (
    layer_hessian,
    least_squares_update,
    obs_prune,
    reconstruction_error,
    sparsegpt,
)


def correlated_layer(seed, n_samples=200, n_in=16, n_out=6):
    """Calibration inputs with correlated, unevenly scaled features, and a random W."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(n_in, n_in)) * rng.uniform(0.2, 3.0, size=n_in)
    X = rng.normal(size=(n_samples, n_in)) @ mixing
    W = rng.normal(size=(n_in, n_out))
    return X, W


def test_docstring_examples():
    for module in (one_shot, reconstruction):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0
    assert doctest.testmod(one_shot).attempted > 0


def test_wanda_and_obd_scores_by_hand():
    W = np.array([[1.0, -2.0], [3.0, 0.5]])
    X = np.array([[3.0, 0.0], [4.0, 1.0]])  # column norms 5 and 1
    np.testing.assert_allclose(one_shot_scores(W, X, "wanda"), [[5.0, 10.0], [3.0, 0.5]])
    np.testing.assert_allclose(one_shot_scores(W, X, "obd"), [[12.5, 50.0], [4.5, 0.125]])
    np.testing.assert_allclose(one_shot_scores(W, X, "magnitude"), np.abs(W))
    # Wanda keeps the 1 on the loud input over the 3 on the quiet one: per output, 50% pruned
    np.testing.assert_array_equal(one_shot_mask(one_shot_scores(W, X, "wanda"), 0.5), [[1, 1], [0, 0]])
    np.testing.assert_array_equal(one_shot_mask(np.abs(W), 0.5), [[0, 1], [1, 0]])


def test_obd_ranks_exactly_like_wanda():
    X, W = correlated_layer(0)
    for sparsity in (0.25, 0.5, 0.75):
        np.testing.assert_array_equal(one_shot_mask(one_shot_scores(W, X, "obd"), sparsity),
                                      one_shot_mask(one_shot_scores(W, X, "wanda"), sparsity))


def test_masks_per_output_per_layer_and_n_m():
    scores = np.arange(16, dtype=float).reshape(8, 2)[::-1].copy()  # larger at the top
    per_output = one_shot_mask(scores, 0.25)
    assert per_output.sum(axis=0).tolist() == [6, 6]
    layer = one_shot_mask(np.column_stack([np.arange(8.0), np.arange(8.0) + 100]), 0.5, group="layer")
    assert layer[:, 0].sum() == 0 and layer[:, 1].sum() == 8  # the whole first column goes
    two_four = one_shot_mask(scores, pattern="2:4")
    assert two_four.reshape(2, 4, 2).sum(axis=1).tolist() == [[2, 2], [2, 2]]
    assert parse_pattern("4:8") == (4, 8) and parse_pattern("unstructured") is None


@pytest.mark.parametrize("bad", ["2-4", "5:4", "0:4", 24, "a:b"])
def test_bad_pattern_is_named(bad):
    with pytest.raises(ValueError, match="pattern="):
        parse_pattern(bad)


def test_obs_matches_brute_force_over_every_single_removal():
    """OBS's saliency is the exact least-squares cost of removing one weight, and its update the exact refit."""
    X, W = correlated_layer(1, n_in=6, n_out=1)
    H = layer_hessian(X)
    w = W[:, 0]
    costs = []
    for q in range(w.size):
        mask = np.ones((w.size, 1))
        mask[q] = 0
        refit = least_squares_update(W, H, mask)
        costs.append(0.5 * reconstruction_error(X, W, refit))
    w_hat, removed, saliencies = obs_prune(w, H, 1)
    assert removed == [int(np.argmin(costs))]
    np.testing.assert_allclose(saliencies[0], min(costs), rtol=1e-8)
    mask = np.ones((w.size, 1))
    mask[removed[0]] = 0
    np.testing.assert_allclose(w_hat, least_squares_update(W, H, mask)[:, 0], atol=1e-9)


def test_obs_removing_several_equals_the_least_squares_refit_of_its_mask():
    X, W = correlated_layer(2, n_in=8, n_out=1)
    H = layer_hessian(X)
    w_hat, removed, _ = obs_prune(W[:, 0], H, 4)
    assert np.count_nonzero(w_hat) == 4 and len(set(removed)) == 4
    mask = (w_hat != 0).astype(float)[:, None]
    np.testing.assert_allclose(w_hat, least_squares_update(W, H, mask)[:, 0], atol=1e-8)


def test_greedy_obs_is_close_to_the_best_subset_on_a_tiny_layer():
    X, W = correlated_layer(3, n_in=6, n_out=1)
    H = layer_hessian(X)
    w_hat, _, _ = obs_prune(W[:, 0], H, 3)
    best = min(reconstruction_error(X, W, least_squares_update(W, H, mask_of(kept, 6)))
               for kept in itertools.combinations(range(6), 3))
    greedy = reconstruction_error(X, W, w_hat[:, None])
    assert best <= greedy + 1e-9 and greedy <= 2.0 * best


def mask_of(kept, n):
    mask = np.zeros((n, 1))
    mask[list(kept)] = 1
    return mask


def test_sparsegpt_with_nothing_to_prune_returns_w():
    X, W = correlated_layer(4)
    W_hat, mask = sparsegpt(W, layer_hessian(X), sparsity=0.0)
    assert mask.all()
    np.testing.assert_allclose(W_hat, W, atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_sparsegpt_reconstructs_better_than_its_own_mask_without_update(seed):
    X, W = correlated_layer(seed)
    H = layer_hessian(X)
    W_hat, mask = sparsegpt(W, H, sparsity=0.5, blocksize=4)
    assert mask.sum() == W.size / 2
    assert np.all(W_hat[mask == 0] == 0)
    assert reconstruction_error(X, W, W_hat) < reconstruction_error(X, W, W * mask)
    # the exact refit of the same mask is the floor no sequential method can beat
    assert reconstruction_error(X, W, least_squares_update(W, H + 1e-9 * np.eye(len(H)), mask)) \
        <= reconstruction_error(X, W, W_hat) * (1 + 1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_sparsegpt_beats_magnitude_and_wanda_on_reconstruction(seed):
    X, W = correlated_layer(seed)
    errors = {method: reconstruction_error(X, W, prune_layer(W, X, method, sparsity=0.5)[0])
              for method in ("magnitude", "wanda", "sparsegpt", "wanda+update")}
    assert errors["sparsegpt"] < errors["magnitude"]
    assert errors["wanda+update"] < errors["wanda"]


def test_sparsegpt_n_m_and_given_mask():
    X, W = correlated_layer(5)
    W_hat, mask = sparsegpt(W, layer_hessian(X), n_m=(2, 4), blocksize=6)  # block rounded to a multiple of 4
    assert mask.reshape(4, 4, W.shape[1]).sum(axis=1).tolist() == [[2] * W.shape[1]] * 4
    given = one_shot_mask(np.abs(W), 0.5)
    W_given, used = sparsegpt(W, layer_hessian(X), mask=given)
    np.testing.assert_array_equal(used, given)
    assert np.all(W_given[given == 0] == 0)


def test_sparsegpt_rejects_ambiguous_or_bad_requests():
    X, W = correlated_layer(6)
    H = layer_hessian(X)
    with pytest.raises(ValueError, match="exactly one"):
        sparsegpt(W, H, sparsity=0.5, n_m=(2, 4))
    with pytest.raises(ValueError, match="exactly one"):
        sparsegpt(W, H)
    with pytest.raises(ValueError, match="H must have shape"):
        sparsegpt(W, H[:-1, :-1], sparsity=0.5)
    with pytest.raises(ValueError, match="not a multiple of m=3"):
        sparsegpt(W, H, n_m=(1, 3))
    with pytest.raises(ValueError, match="sparsity"):
        sparsegpt(W, H, sparsity=1.5)


def test_dead_inputs_and_too_few_samples_are_handled():
    X, W = correlated_layer(7, n_samples=5)  # 5 samples, 16 inputs: H is singular
    X[:, 3] = 0.0
    W_hat, mask = sparsegpt(W, layer_hessian(X), sparsity=0.5)
    assert np.isfinite(W_hat).all() and np.all(W_hat[3] == 0)


@pytest.fixture(scope="module")
def trained():
    data = load_dataset("digits", seed=0)
    model = MLP([64, 128, 64, 10], seed=0).fit(data.X_train, data.y_train, epochs=15, progress=False)
    return data, model


def test_prune_one_shot_on_an_mlp(trained):
    data, model = trained
    calibration = data.X_train[:256]
    before = [p["W"].copy() for p in model.params]
    results = {}
    for method in one_shot.METHODS:
        pruned = prune_one_shot(model, calibration, method=method, sparsity=0.7)
        assert abs(pruned.sparsity() - 0.7) < 0.01, method
        results[method] = pruned.score(data.X_val, data.y_val)
    for W, p in zip(before, model.params):
        np.testing.assert_array_equal(W, p["W"])  # the model itself is untouched
    # the weight update is what one-shot pruning at 70% needs (benchmarks/bench_one_shot.py: 5 seeds)
    assert results["sparsegpt"] > results["magnitude"] + 0.02, results
    assert results["magnitude+lsq"] > results["magnitude"] + 0.02, results
    assert results["wanda+update"] > results["wanda"], results
    two_four = prune_one_shot(model, calibration, method="sparsegpt", pattern="2:4", layers=[0, 1])
    assert two_four.masks[2]["W"] is None
    assert two_four.masks[0]["W"].reshape(16, 4, 128).sum(axis=1).max() == 2


def test_prune_one_shot_names_bad_arguments(trained):
    data, model = trained
    with pytest.raises(ValueError, match="method"):
        prune_one_shot(model, data.X_train[:32], method="optimal")
    with pytest.raises(ValueError, match="layers contains 5"):
        prune_one_shot(model, data.X_train[:32], layers=[5])
    with pytest.raises(ValueError, match="group="):
        prune_layer(model.params[0]["W"], data.X_train[:32], "sparsegpt", sparsity=0.5, group="layer")
