"""Cross-check every mask function against torch.nn.utils.prune on random weights (no ties).

A torch ``Linear(n_in, n_out).weight`` is ``(n_out, n_in)``: our ``W.T``. Our ``dim=d`` on
``W`` is torch's ``dim=1-d`` on the weight. Random functions use different generators, so
for them the number and structure of pruned entries are compared, not their positions.
"""
import numpy as np
import pytest

from adaprune_edu.pruning import masks as M
from adaprune_edu.pruning.amount import compute_count

torch = pytest.importorskip("torch")
prune = pytest.importorskip("torch.nn.utils.prune")
pytestmark = pytest.mark.torch

N_IN, N_OUT = 7, 5


def linear(W):
    """A bias-free float64 torch Linear whose weight is ``W.T``."""
    layer = torch.nn.Linear(W.shape[0], W.shape[1], bias=False, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(W.T.copy()))
    return layer


def torch_mask(layer):
    """The layer's weight mask in our orientation."""
    return layer.weight_mask.detach().numpy().T


@pytest.fixture
def W():
    return np.random.default_rng(0).normal(size=(N_IN, N_OUT))


@pytest.fixture
def scores():
    return np.random.default_rng(1).normal(size=(N_IN, N_OUT))


@pytest.mark.parametrize("amounts", [(0.3,), (0.2, 0.2), (3, 0.5), (0.4, 5, 1.0), (0, 0.0), (35,)])
def test_l1_unstructured_matches_torch(W, amounts):
    layer, mask = linear(W), None
    for amount in amounts:
        prune.l1_unstructured(layer, "weight", amount=amount)
        mask = M.l1_unstructured(W, amount, mask=mask)
        np.testing.assert_array_equal(mask, torch_mask(layer))


@pytest.mark.parametrize("amounts", [(0.3,), (0.25, 4), (0.5, 0.5, 0.5)])
def test_l1_unstructured_importance_scores_match_torch(W, scores, amounts):
    layer, mask = linear(W), None
    for amount in amounts:
        prune.l1_unstructured(layer, "weight", amount=amount, importance_scores=torch.from_numpy(scores.T.copy()))
        mask = M.l1_unstructured(W, amount, importance_scores=scores, mask=mask)
        np.testing.assert_array_equal(mask, torch_mask(layer))


@pytest.mark.parametrize("n", [1, 2, 3, np.inf, -np.inf, "fro"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_ln_structured_matches_torch(W, n, dim):
    torch_dim = 1 - (dim % 2)
    torch_n = float(n) if not isinstance(n, str) else n
    layer, mask = linear(W), None
    for amount in (0.4, 1, 0.5):
        prune.ln_structured(layer, "weight", amount=amount, n=torch_n, dim=torch_dim)
        mask = M.ln_structured(W, amount, n=n, dim=dim, mask=mask)
        np.testing.assert_array_equal(mask, torch_mask(layer))


@pytest.mark.parametrize("dim", [0, 1])
def test_ln_structured_importance_scores_match_torch(W, scores, dim):
    layer, mask = linear(W), None
    for amount in (2, 0.5):
        prune.ln_structured(layer, "weight", amount=amount, n=2, dim=1 - dim,
                            importance_scores=torch.from_numpy(scores.T.copy()))
        mask = M.ln_structured(W, amount, n=2, dim=dim, importance_scores=scores, mask=mask)
        np.testing.assert_array_equal(mask, torch_mask(layer))


def test_unstructured_then_structured_matches_torch(W):
    """After unstructured pruning, torch scores slices on the *masked* weight: so do we."""
    layer = linear(W)
    prune.l1_unstructured(layer, "weight", amount=0.45)
    prune.ln_structured(layer, "weight", amount=0.4, n=1, dim=0)
    prune.l1_unstructured(layer, "weight", amount=3)
    mask = M.l1_unstructured(W, 0.45)
    mask = M.ln_structured(W, 0.4, n=1, dim=1, mask=mask)
    mask = M.l1_unstructured(W, 3, mask=mask)
    np.testing.assert_array_equal(mask, torch_mask(layer))


@pytest.mark.parametrize("amounts", [(0.3,), (10, 0.2), (0.2, 0.2, 0.2)])
@pytest.mark.parametrize("with_scores", [False, True])
def test_global_unstructured_matches_torch(amounts, with_scores):
    rng = np.random.default_rng(2)
    weights = [rng.normal(size=(6, 4)), rng.normal(size=(4, 3)) * 0.5, rng.normal(size=(3, 2)) * 2]
    score_arrays = [rng.normal(size=w.shape) for w in weights] if with_scores else None
    layers = [linear(w) for w in weights]
    params = [(layer, "weight") for layer in layers]
    torch_scores = None
    if with_scores:
        torch_scores = {(layer, "weight"): torch.from_numpy(s.T.copy()) for layer, s in zip(layers, score_arrays)}
    masks = None
    for amount in amounts:
        prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=amount,
                                  importance_scores=torch_scores)
        masks = M.global_unstructured(weights, amount, importance_scores=score_arrays, masks=masks)
        for ours, layer in zip(masks, layers):
            np.testing.assert_array_equal(ours, torch_mask(layer))


@pytest.mark.parametrize("amounts", [(0.3,), (0.2, 0.2), (4, 0.5, 1.0)])
def test_random_unstructured_counts_match_torch(W, amounts):
    torch.manual_seed(0)
    layer, mask = linear(W), None
    for step, amount in enumerate(amounts):
        previous_ours = np.ones_like(W) if mask is None else mask
        previous_torch = torch_mask(layer) if hasattr(layer, "weight_mask") else np.ones_like(W)
        prune.random_unstructured(layer, "weight", amount=amount)
        mask = M.random_unstructured(W, amount, mask=mask, seed=step)
        theirs = torch_mask(layer)
        assert int((mask == 0).sum()) == int((theirs == 0).sum())
        assert np.all(mask[previous_ours == 0] == 0) and np.all(theirs[previous_torch == 0] == 0)


@pytest.mark.parametrize("dim", [0, 1])
def test_random_structured_structure_matches_torch(W, dim):
    torch.manual_seed(0)
    layer, mask = linear(W), None
    for step, amount in enumerate((0.4, 1, 0.5)):
        prune.random_structured(layer, "weight", amount=amount, dim=1 - dim)
        mask = M.random_structured(W, amount, dim=dim, mask=mask, seed=step)
        theirs = torch_mask(layer)
        other = 1 - dim
        ours_dead = (mask == 0).all(axis=other)
        theirs_dead = (theirs == 0).all(axis=other)
        assert ours_dead.sum() == theirs_dead.sum()
        # every slice is either untouched or entirely pruned, in both
        assert set(np.unique(mask.sum(axis=other))) <= {0.0, float(W.shape[other])}
        assert set(np.unique(theirs.sum(axis=other))) <= {0.0, float(W.shape[other])}


def test_identity_and_custom_from_mask_match_torch(W):
    layer = linear(W)
    prune.identity(layer, "weight")
    np.testing.assert_array_equal(M.identity(W), torch_mask(layer))
    rng = np.random.default_rng(3)
    first = rng.integers(0, 2, size=W.shape)
    second = rng.integers(0, 2, size=W.shape)
    prune.custom_from_mask(layer, "weight", mask=torch.from_numpy(first.T.copy()))
    prune.custom_from_mask(layer, "weight", mask=torch.from_numpy(second.T.copy()))
    ours = M.custom_from_mask(W, second, existing_mask=M.custom_from_mask(W, first))
    np.testing.assert_array_equal(ours, torch_mask(layer))


@pytest.mark.parametrize("amount", [0, 3, 0.0, 0.37, 0.5, 1.0, 1])
def test_amount_rule_matches_torch(amount):
    assert compute_count(amount, 17) == prune._compute_nparams_toprune(amount, 17)


@pytest.mark.parametrize("bad, error", [(1.5, ValueError), (-2, ValueError), ("x", TypeError)])
def test_amount_errors_match_torch(W, bad, error):
    with pytest.raises(error):
        prune.l1_unstructured(linear(W), "weight", amount=bad)
    with pytest.raises(error):
        M.l1_unstructured(W, bad)


def torch_mlp(model):
    """Bias-free float64 torch Linear layers holding the MLP's weights (``W.T`` each)."""
    return [linear(p["W"].astype(np.float64)) for p in model.params]


def test_prune_model_global_matches_torch_global_unstructured():
    from adaprune_edu.nn import MLP
    from adaprune_edu.pruning import prune_model

    model = MLP([8, 6, 5, 3], seed=4, dtype="float64")
    layers = torch_mlp(model)
    params = [(layer, "weight") for layer in layers]
    for amount in (0.3, 12, 0.5):
        prune_model(model, amount)
        prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=amount)
        for masks, layer in zip(model.masks, layers):
            np.testing.assert_array_equal(masks["W"], torch_mask(layer))


def test_prune_model_structured_layer_scope_matches_torch_ln_structured_on_incoming_weights():
    from adaprune_edu.nn import MLP
    from adaprune_edu.pruning import neuron_masks, prune_model

    model = MLP([8, 6, 5, 3], seed=5, dtype="float64")
    layers = torch_mlp(model)
    prune_model(model, 0.5, granularity="structured", scope="layer", n=1)
    for hidden, layer in enumerate(layers[:-1]):  # output neurons are never removed
        prune.ln_structured(layer, "weight", amount=0.5, n=1, dim=0)  # torch dim 0 = output neurons
        torch_alive = torch_mask(layer).any(axis=0)
        np.testing.assert_array_equal(neuron_masks(model)[hidden], torch_alive)
