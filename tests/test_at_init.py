"""Pruning at initialisation: SNIP by hand, SynFlow's conservation, GraSP's Hg, the magnitude collapse."""
import numpy as np
import pytest

from adaprune_edu import MLP
from adaprune_edu.pruning.at_init import (
    grasp_scores,
    hessian_gradient_product,
    keep_top,
    prune_at_init,
    shuffle_within_layers,
    snip_scores,
    synflow_scores,
)


def test_snip_scores_of_a_2x2_layer_by_hand():
    model = MLP([2, 2], seed=0, dtype="float64")
    model.params[0]["W"][:] = [[1.0, 0.0], [0.0, 1.0]]
    X, y = np.array([[1.0, 2.0]]), np.array([0])
    # logits z = x W = [1, 2]; dL/dz = softmax(z) - onehot(0) = [p0 - 1, p1]; dL/dW = x^T dL/dz
    p1 = np.e / (1 + np.e)
    expected = np.abs(np.array([[-p1, p1], [-2 * p1, 2 * p1]]) * model.params[0]["W"])
    np.testing.assert_allclose(snip_scores(model, X, y)[0], expected, rtol=1e-12)
    np.testing.assert_allclose(expected, [[0.7310585786, 0.0], [0.0, 1.4621171573]], rtol=1e-9)


def test_snip_ignores_existing_masks_and_does_not_change_the_model():
    model = MLP([3, 4, 2], seed=1, dtype="float64")
    model.set_mask(0, np.ones((3, 4)))
    before = model.get_state()
    X, y = np.random.default_rng(0).normal(size=(5, 3)), np.array([0, 1, 0, 1, 1])
    scores = snip_scores(model, X, y)
    assert [s.shape for s in scores] == [(3, 4), (4, 2)]
    np.testing.assert_array_equal(model.params[0]["W"], before["params"][0]["W"])


def test_synflow_scores_by_hand_and_conservation():
    model = MLP([2, 2, 1], seed=0, loss="mse", dtype="float64")
    model.params[0]["W"][:] = [[1.0, -2.0], [3.0, 0.5]]
    model.params[1]["W"][:] = [[-1.0], [2.0]]
    # R = 1^T |W1| |W2| 1 = [4, 2.5] . [1, 2] = 9
    s1, s2 = synflow_scores(model)
    np.testing.assert_allclose(s1, [[1 * 1, 2 * 2], [3 * 1, 0.5 * 2]])
    np.testing.assert_allclose(s2, [[4 * 1], [2.5 * 2]])
    assert s1.sum() == pytest.approx(9) and s2.sum() == pytest.approx(9)


def test_synflow_conservation_on_a_random_network_and_after_masking():
    model = MLP([7, 9, 5, 3], seed=4, dtype="float64")
    masks = [np.random.default_rng(k).integers(0, 2, size=p["W"].shape).astype(float) for k, p in
             enumerate(model.params)]
    for m in (None, masks):
        totals = [s.sum() for s in synflow_scores(model, m)]
        np.testing.assert_allclose(totals, totals[0], rtol=1e-10)


def test_keep_top_ranks_across_layers_and_respects_masks():
    scores = [np.array([[3.0, 1.0]]), np.array([[2.0], [0.5]])]
    np.testing.assert_array_equal(np.concatenate([m.ravel() for m in keep_top(scores, 0.5)]), [1, 0, 1, 0])
    masks = [np.array([[0.0, 1.0]]), np.ones((2, 1))]
    kept = keep_top(scores, 0.5, masks)
    np.testing.assert_array_equal(np.concatenate([m.ravel() for m in kept]), [0, 1, 1, 0])


def test_global_magnitude_at_init_removes_a_whole_layer_and_the_network_outputs_a_constant():
    model = MLP([40, 300, 100, 10], seed=0)
    masks = prune_at_init(model, "magnitude", 0.02)
    assert masks[1].sum() == 0  # Glorot: the 300 x 100 layer has the smallest weights of all
    for layer, mask in enumerate(masks):
        model.set_mask(layer, mask)
    X = np.random.default_rng(0).normal(size=(50, 40))
    assert len(np.unique(model.predict(X))) == 1


def test_synflow_keeps_every_layer_connected_at_high_sparsity():
    model = MLP([40, 300, 100, 10], seed=0)
    masks = prune_at_init(model, "synflow", 0.01, iterations=20)
    assert sum(m.sum() for m in masks) == round(0.01 * sum(m.size for m in masks))
    assert all(m.sum() > 0 for m in masks)


def test_hessian_gradient_product_matches_pytorch():
    torch = pytest.importorskip("torch")
    model = MLP([3, 4, 2], seed=0, dtype="float64", activation="tanh")
    X, y = np.random.default_rng(1).normal(size=(6, 3)), np.array([0, 1, 1, 0, 1, 0])
    Ws = [torch.tensor(p["W"], requires_grad=True) for p in model.params]
    bs = [torch.tensor(p["b"]) for p in model.params]
    def loss():
        h = torch.tanh(torch.tensor(X) @ Ws[0] + bs[0])
        return torch.nn.functional.cross_entropy(h @ Ws[1] + bs[1], torch.tensor(y))
    g = torch.autograd.grad(loss(), Ws, create_graph=True)
    hg = torch.autograd.grad(sum((gi * gi.detach()).sum() for gi in g), Ws)
    for ours, theirs in zip(hessian_gradient_product(model, X, y), hg):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-4, atol=1e-8)
    scores = grasp_scores(model, X, y)
    np.testing.assert_allclose(scores[0], model.params[0]["W"] * hg[0].numpy(), rtol=1e-4, atol=1e-8)


def test_shuffle_within_layers_keeps_each_layer_count():
    masks = prune_at_init(MLP([10, 20, 5], seed=0), "random", 0.3, seed=1)
    shuffled = shuffle_within_layers(masks, seed=2)
    assert [m.sum() for m in shuffled] == [m.sum() for m in masks]
    assert not np.array_equal(shuffled[0], masks[0])


def test_same_seed_same_random_mask():
    model = MLP([10, 20, 5], seed=0)
    a, b = prune_at_init(model, "random", 0.3, seed=1), prune_at_init(model, "random", 0.3, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("kwargs,error,words", [
    (dict(method="snap"), ValueError, "method='snap'"),
    (dict(method="snip"), ValueError, "pass a batch X, y"),
    (dict(method="grasp"), ValueError, "pass a batch X, y"),
    (dict(density=1.5), ValueError, "density=1.5"),
    (dict(iterations=0), ValueError, "iterations=0"),
    (dict(density="0.1"), TypeError, "density='0.1'"),
])
def test_prune_at_init_bad_input(kwargs, error, words):
    with pytest.raises(error, match=words):
        prune_at_init(MLP([3, 4, 2], seed=0), **{"method": "random", "density": 0.5, **kwargs})


def test_keep_top_rejects_nan():
    with pytest.raises(ValueError, match="NaN"):
        keep_top([np.array([np.nan, 1.0])], 0.5)
