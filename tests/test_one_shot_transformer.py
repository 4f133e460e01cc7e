"""One-shot pruning of a tiny random transformer: the sequential walk, every method, every pattern."""
import numpy as np
import pytest

from adaprune_edu.nn.transformer import TinyTransformer
from adaprune_edu.pruning.one_shot import one_shot_mask, one_shot_scores, prune_layer
from adaprune_edu.pruning.one_shot_transformer import (
    LINEAR_KEYS,
    linear_inputs,
    linear_weights,
    locate,
    prune_transformer_one_shot,
    weight_name,
)
from adaprune_edu.pruning.reconstruction import reconstruction_error


def tiny_model(dtype="float64", seed=0):
    model = TinyTransformer(vocab=20, d_model=16, n_layers=2, n_heads=4, context=8, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed + 100)
    for p in model.params:  # LayerNorms away from (1, 0), so that every channel behaves differently
        if "gamma" in p:
            p["gamma"][:] = rng.uniform(0.5, 1.5, p["gamma"].shape)
            p["beta"][:] = rng.normal(0, 0.1, p["beta"].shape)
    return model


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.fixture(scope="module")
def tokens():
    return np.random.default_rng(1).integers(0, 20, size=(6, 8))


def weights(model):
    return linear_weights(model)


def mask_of(model, name):
    index, key = locate(model, name)
    return model.masks[index][key]


def test_linear_inputs_names_and_shapes(model, tokens):
    inputs = linear_inputs(model, tokens)
    assert list(inputs) == [weight_name(i, k) for i in range(2) for k in LINEAR_KEYS]
    assert inputs["blocks.0.attention.Wq"].shape == (48, 16)
    assert inputs["blocks.1.mlp.W2"].shape == (48, 64)
    for name, W in weights(model).items():
        assert inputs[name].shape[1] == W.shape[0]


@pytest.mark.parametrize("method", ["magnitude", "wanda", "obd", "sparsegpt", "wanda+update", "sparsegpt-mask"])
def test_each_layer_is_pruned_on_the_outputs_of_the_pruned_layers(model, tokens, method):
    """Every layer's input depends only on earlier layers, so the pruned model's inputs are what it was pruned on."""
    pruned = prune_transformer_one_shot(model, tokens, method=method, sparsity=0.5)
    seen = linear_inputs(pruned, tokens)
    for name, W in weights(model).items():
        expected, expected_mask = prune_layer(W, seen[name], method, sparsity=0.5)
        assert np.allclose(weights(pruned)[name], expected, atol=1e-12), name
        assert np.array_equal(mask_of(pruned, name), expected_mask), name
        assert mask_of(pruned, name).sum() == W.size // 2
        if not method.startswith("sparsegpt"):  # SparseGPT chooses over blocks of inputs, not per output
            assert np.all(mask_of(pruned, name).sum(axis=0) == W.shape[0] // 2), "50% of every output's inputs"


def test_sequential_differs_from_pruning_on_dense_inputs(model, tokens):
    pruned = prune_transformer_one_shot(model, tokens, method="wanda", sparsity=0.5)
    dense_inputs = linear_inputs(model, tokens)
    differs = []
    for name, W in weights(model).items():
        dense_mask = one_shot_mask(one_shot_scores(W, dense_inputs[name], "wanda"), 0.5)
        differs.append(not np.array_equal(mask_of(pruned, name), dense_mask))
    assert not any(differs[:3]), "block 0's Wq, Wk, Wv see the dense inputs"
    assert any(differs[3:]), "later layers see the pruned model's outputs"


def test_original_model_embeddings_and_head_untouched(model, tokens):
    before = [{k: v.copy() for k, v in p.items()} for p in model.params]
    pruned = prune_transformer_one_shot(model, tokens, method="sparsegpt", sparsity=0.7)
    for p, q in zip(before, model.params):
        assert all(np.array_equal(p[k], q[k]) for k in p)
    for name in ("token_embedding", "position_embedding", "head", "ln_f"):
        i = model.index(name)
        assert all(np.array_equal(model.params[i][k], pruned.params[i][k]) for k in model.params[i])
        assert all(mask is None for mask in pruned.masks[i].values())
    assert all(model.masks[i][k] is None for i in range(len(model.params)) for k in model.masks[i])


@pytest.mark.parametrize("pattern,n,m", [("2:4", 2, 4), ("4:8", 4, 8)])
@pytest.mark.parametrize("method", ["magnitude", "wanda", "sparsegpt", "wanda+update"])
def test_n_m_patterns(model, tokens, pattern, n, m, method):
    pruned = prune_transformer_one_shot(model, tokens, method=method, pattern=pattern)
    for name in weights(model):
        mask = mask_of(pruned, name)
        groups = mask.reshape(mask.shape[0] // m, m, mask.shape[1]).sum(axis=1)
        assert np.all(groups == n), name
        assert np.all(weights(pruned)[name][mask == 0] == 0)


def test_obd_ranks_as_wanda_per_output_but_not_per_layer(model, tokens):
    wanda = prune_transformer_one_shot(model, tokens, method="wanda", sparsity=0.5)
    obd = prune_transformer_one_shot(model, tokens, method="obd", sparsity=0.5)
    obd_layer = prune_transformer_one_shot(model, tokens, method="obd", sparsity=0.5, group="layer")
    names = list(weights(model))
    assert len(names) == 12
    assert all(np.array_equal(mask_of(wanda, name), mask_of(obd, name)) for name in names)
    assert not all(np.array_equal(mask_of(wanda, name), mask_of(obd_layer, name)) for name in names)


def test_sparsegpt_reconstructs_better_than_magnitude_and_than_its_own_mask(model, tokens):
    name = "blocks.0.attention.Wq"
    X = linear_inputs(model, tokens)[name]
    W = weights(model)[name]
    errors = {method: reconstruction_error(X, W, prune_layer(W, X, method, sparsity=0.5)[0])
              for method in ("magnitude", "sparsegpt", "sparsegpt-mask")}
    assert errors["sparsegpt"] < errors["sparsegpt-mask"] and errors["sparsegpt"] < errors["magnitude"]


def test_float32_model_stays_float32(tokens):
    model = tiny_model("float32")
    pruned = prune_transformer_one_shot(model, tokens, method="sparsegpt", pattern="2:4")
    assert all(v.dtype == np.float32 for p in pruned.params for v in p.values())
    assert np.isfinite(pruned.perplexity(np.random.default_rng(2).integers(0, 20, size=(4, 9))))


def test_bad_arguments(model, tokens):
    with pytest.raises(ValueError, match="method"):
        prune_transformer_one_shot(model, tokens, method="magnitude+lsq")
    with pytest.raises(ValueError, match="calibration_tokens"):
        prune_transformer_one_shot(model, np.zeros((2, 9), dtype=int))  # longer than the context
    with pytest.raises(ValueError, match="pattern"):
        prune_transformer_one_shot(model, tokens, pattern="2-4")
    with pytest.raises(ValueError, match="group"):
        prune_transformer_one_shot(model, tokens, method="sparsegpt", group="layer")


def test_linear_inputs_agree_with_the_models_own(model, tokens):
    ours, theirs = linear_inputs(model, tokens), model.linear_inputs(tokens)
    for name, X in ours.items():
        assert np.allclose(X, theirs[locate(model, name)], atol=1e-12), name
