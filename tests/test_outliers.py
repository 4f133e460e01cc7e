"""Planted activation outliers: same function, magnitude pruning changes, Wanda does not."""
import numpy as np
import pytest

from adaprune_edu.nn.transformer import TinyTransformer
from adaprune_edu.pruning.one_shot_transformer import linear_weights, locate, prune_transformer_one_shot
from adaprune_edu.pruning.outliers import (
    input_norm_ratios,
    loudest_channels,
    plant_outliers,
    rescale_layernorm_channels,
)


@pytest.fixture(scope="module", params=["float32", "float64"])
def model(request):
    return TinyTransformer(vocab=20, d_model=16, n_layers=2, n_heads=4, context=8, seed=5, dtype=request.param)


@pytest.fixture(scope="module")
def tokens():
    return np.random.default_rng(2).integers(0, 20, size=(6, 8))


def masks(model):
    return {name: model.masks[locate(model, name)[0]][locate(model, name)[1]] for name in linear_weights(model)}


def test_power_of_two_rescaling_is_exact(model, tokens):
    rescaled = plant_outliers(model, tokens, count=3, factor=16.0)
    assert np.array_equal(rescaled.logits(tokens), model.logits(tokens))
    ln = rescaled.params[rescaled.index("blocks.0.ln1")]["gamma"]
    assert np.sum(ln != model.params[model.index("blocks.0.ln1")]["gamma"]) == 3


def test_any_factor_keeps_the_function(model, tokens):
    rescaled = rescale_layernorm_channels(model, 1, "ln2", [0, 5], 20.0)
    tolerance = 1e-5 if model.dtype == np.float32 else 1e-12
    assert np.allclose(rescaled.logits(tokens), model.logits(tokens), atol=tolerance)
    W1 = rescaled.params[rescaled.index("blocks.1.mlp")]["W1"]
    assert np.allclose(W1[5] * 20, model.params[model.index("blocks.1.mlp")]["W1"][5])


def test_wanda_is_unchanged_and_magnitude_is_not(model, tokens):
    rescaled = plant_outliers(model, tokens, count=3, factor=16.0)
    for pattern in ("unstructured", "2:4"):
        kwargs = {"sparsity": 0.5} if pattern == "unstructured" else {"pattern": pattern}
        wanda = [prune_transformer_one_shot(m, tokens, method="wanda", **kwargs) for m in (model, rescaled)]
        magnitude = [prune_transformer_one_shot(m, tokens, method="magnitude", **kwargs) for m in (model, rescaled)]
        assert all(np.array_equal(a, b) for a, b in zip(masks(wanda[0]).values(), masks(wanda[1]).values()))
        assert np.array_equal(wanda[0].logits(tokens), wanda[1].logits(tokens))
        assert not all(np.array_equal(a, b) for a, b in zip(masks(magnitude[0]).values(), masks(magnitude[1]).values()))


def test_planted_outliers_raise_the_norm_ratio(model, tokens):
    before = input_norm_ratios(model, tokens)
    after = input_norm_ratios(plant_outliers(model, tokens, count=2, factor=32.0), tokens)
    assert set(before) == set(after) and len(before) == 12
    assert after["blocks.0.attention.Wq"] > 10 * before["blocks.0.attention.Wq"]
    assert after["blocks.1.mlp.W1"] > 10 * before["blocks.1.mlp.W1"]
    assert after["blocks.0.mlp.W2"] == pytest.approx(before["blocks.0.mlp.W2"])


def test_loudest_channels_ranks_norm_times_weight(model, tokens):
    top = loudest_channels(model, tokens, 0, "ln1", 16)
    assert sorted(top.tolist()) == list(range(16))
    boosted = rescale_layernorm_channels(model, 0, "ln1", [7], 1.0)
    boosted.params[boosted.index("blocks.0.attention")]["Wq"][7] *= 100  # channel 7 now matters most
    assert loudest_channels(boosted, tokens, 0, "ln1", 1).tolist() == [7]


def test_bad_arguments(model):
    with pytest.raises(ValueError, match="norm"):
        rescale_layernorm_channels(model, 0, "ln_f", [0], 2.0)
    with pytest.raises(ValueError, match="channels"):
        rescale_layernorm_channels(model, 0, "ln1", [16], 2.0)
    with pytest.raises(ValueError, match="factor"):
        rescale_layernorm_channels(model, 0, "ln1", [0], 0.0)
    with pytest.raises(ValueError, match="block"):
        rescale_layernorm_channels(model, 2, "ln1", [0], 2.0)
