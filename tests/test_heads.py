"""Attention-head pruning: gate-gradient importance, global choice, surgery equal to gating."""
import numpy as np
import pytest

from adaprune_edu.nn.transformer import TinyTransformer
from adaprune_edu.pruning.heads import (
    allowed_removals,
    compare_head_removal,
    gate_heads,
    head_importance,
    heads_by_importance,
    n_heads,
    random_heads,
    remove_heads,
)
from adaprune_edu.pruning.one_shot_transformer import prune_transformer_one_shot


@pytest.fixture(scope="module")
def model():
    model = TinyTransformer(vocab=20, d_model=16, n_layers=2, n_heads=4, context=8, seed=3, dtype="float64")
    rng = np.random.default_rng(0)
    for p in model.params:  # larger weights than at init, so that heads differ clearly
        for key in ("Wq", "Wk"):
            if key in p:
                p[key] *= 3 + rng.uniform(0, 2)
    return model


@pytest.fixture(scope="module")
def tokens():
    return np.random.default_rng(1).integers(0, 20, size=(6, 9))


def test_importance_is_the_summed_absolute_gate_gradient(model, tokens):
    importance = head_importance(model, tokens, batch_size=4)
    assert [scores.shape for scores in importance] == [(4,), (4,)]
    expected = np.zeros((2, 4))
    for part in (tokens[:4], tokens[4:]):
        _, grads = model.loss(part)
        expected += np.abs([grads[model.index(f"blocks.{i}.attention")]["head_gate"] for i in range(2)])
    assert np.allclose(np.array(importance), expected, rtol=1e-12)


def test_gate_gradient_matches_a_finite_difference(model, tokens):
    _, grads = model.loss(tokens)
    index, step = model.index("blocks.1.attention"), 1e-6
    copy_plus, copy_minus = gate_heads(model, []), gate_heads(model, [])
    copy_plus.params[index]["head_gate"][2] += step
    copy_minus.params[index]["head_gate"][2] -= step
    numeric = (copy_plus.loss(tokens)[0] - copy_minus.loss(tokens)[0]) / (2 * step)
    assert abs(numeric - grads[index]["head_gate"][2]) < 1e-7


def test_heads_by_importance_is_global_and_keeps_one_head_per_block():
    importance = [np.array([0.1, 0.2, 0.3]), np.array([5.0, 6.0, 7.0])]
    assert heads_by_importance(importance, 1) == [(0, 0)]
    assert heads_by_importance(importance, 2) == [(0, 0), (0, 1)]
    assert heads_by_importance(importance, 3) == [(0, 0), (0, 1), (1, 0)], "block 0 keeps its best head"
    assert heads_by_importance(importance, 0) == []
    with pytest.raises(ValueError, match="count"):
        heads_by_importance(importance, 5)


def test_random_heads_are_reproducible_and_allowed():
    draws = [random_heads([2, 2, 2], 3, seed=s) for s in range(50)]
    assert draws[0] == random_heads([2, 2, 2], 3, seed=0)
    assert len({tuple(d) for d in draws}) > 1
    for draw in draws:
        blocks = [b for b, _ in draw]
        assert len(draw) == 3 and all(blocks.count(b) < 2 for b in range(3))


def test_surgery_computes_what_the_gated_model_computes(model, tokens):
    heads = [(0, 1), (0, 3), (1, 0)]
    gated, smaller = gate_heads(model, heads), remove_heads(model, heads)
    assert n_heads(smaller) == [2, 3] and n_heads(gated) == [4, 4]
    attention = smaller.params[smaller.index("blocks.0.attention")]
    assert attention["Wq"].shape == (16, 8) and attention["Wo"].shape == (8, 16)
    a, b = gated.logits(tokens[:, :-1]), smaller.logits(tokens[:, :-1])
    assert np.max(np.abs(a - b)) <= 1e-10
    assert not np.allclose(a, model.logits(tokens[:, :-1]))


def test_surgery_in_float32_within_1e_6(tokens):
    model = TinyTransformer(vocab=20, d_model=16, n_layers=2, n_heads=4, context=8, seed=4)
    heads = [(0, 0), (1, 2), (1, 3)]
    a, b = gate_heads(model, heads).logits(tokens[:, :-1]), remove_heads(model, heads).logits(tokens[:, :-1])
    assert b.dtype == np.float32 and np.max(np.abs(a - b)) <= 1e-6


def test_surgery_keeps_masks_and_survives_save_and_load(model, tokens, tmp_path):
    pruned = prune_transformer_one_shot(model, tokens[:, :-1], method="wanda", pattern="2:4")
    heads = [(1, 1)]
    smaller = remove_heads(pruned, heads)
    index = smaller.index("blocks.1.attention")
    for key in ("Wq", "Wk", "Wv", "Wo"):
        assert smaller.masks[index][key].shape == smaller.params[index][key].shape
        assert np.all(smaller.params[index][key][smaller.masks[index][key] == 0] == 0)
    loaded = type(smaller).load(smaller.save(tmp_path / "smaller.npz"))
    assert np.allclose(loaded.logits(tokens[:, :-1]), gate_heads(pruned, heads).logits(tokens[:, :-1]), atol=1e-10)


def test_bad_heads(model):
    with pytest.raises(ValueError, match="all 4 heads of block 0"):
        remove_heads(model, [(0, 0), (0, 1), (0, 2), (0, 3)])
    with pytest.raises(ValueError, match="head"):
        gate_heads(model, [(0, 4)])
    with pytest.raises(TypeError, match="pairs"):
        remove_heads(model, [3])


def test_allowed_removals_enumerates_every_valid_set():
    sets = allowed_removals([4, 4], 4)
    assert len(sets) == 70 - 2  # C(8, 4) minus the two sets that empty a block
    assert len(allowed_removals([4, 4], 2)) == 28
    assert [(0, 0), (0, 1), (0, 2), (0, 3)] not in sets and [(0, 0), (0, 1), (1, 0), (1, 1)] in sets


def test_compare_head_removal_counts_the_random_removals_beaten(model, tokens):
    importance = head_importance(model, tokens, batch_size=2)
    sets = allowed_removals(n_heads(model), 2)
    result = compare_head_removal(model, importance, 2, tokens, sets)
    assert result["heads"] == heads_by_importance(importance, 2) and len(result["random"]) == 28
    chosen = sets.index(result["heads"])
    assert result["random"][chosen] == pytest.approx(result["importance"])
    assert result["beaten"] == pytest.approx(np.mean(result["random"] > result["importance"]))
