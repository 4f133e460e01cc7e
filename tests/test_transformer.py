"""The tiny transformer in NumPy: shapes, causality, head gates, masks, files, bad arguments, training."""
import numpy as np
import pytest

from adaprune_edu.nn.lm_training import learning_rate_at, train_language_model
from adaprune_edu.nn.transformer import TinyTransformer, cross_entropy


def tiny(dtype="float64", **kwargs):
    settings = dict(vocab=11, d_model=8, n_layers=2, n_heads=2, context=6, seed=0, dtype=dtype)
    settings.update(kwargs)
    return TinyTransformer(**settings)


def tokens(batch=3, time=7, vocab=11, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, size=(batch, time))


def test_shapes_and_parameter_names():
    model = tiny()
    assert model.logits(tokens(time=6)).shape == (3, 6, 11)
    loss, grads = model.loss(tokens())
    assert isinstance(loss, float)
    assert [g.keys() for g in grads] == [p.keys() for p in model.params]
    for g, p in zip(grads, model.params):
        for key in p:
            assert g[key].shape == p[key].shape
    assert len(model.params) == len(model.param_names) == 2 + 4 * 2 + 2
    attention = model.params[model.index("blocks.1.attention")]
    assert attention["Wq"].shape == (8, 8) and attention["Wo"].shape == (8, 8)
    np.testing.assert_array_equal(attention["head_gate"], np.ones(2))
    assert len(model.linear_weights()) == 6 * 2


def test_parameter_count_of_the_shipped_architecture():
    model = TinyTransformer(vocab=96, d_model=64, n_layers=2, n_heads=4, context=128)
    # embeddings 96*64 + 128*64, per block 2 LayerNorms (4*64) + Q,K,V,O (4*64*64) + MLP (2*64*256), ln_f, head
    assert model.n_params == 96 * 64 + 128 * 64 + 2 * (4 * 64 + 4 * 64 * 64 + 2 * 64 * 256) + 2 * 64 + 64 * 96


def test_changing_a_later_token_never_changes_earlier_logits():
    model = tiny()
    base = tokens(batch=2, time=6)
    logits = model.logits(base)
    for t in range(5):
        changed = base.copy()
        changed[:, t + 1] = (changed[:, t + 1] + 1) % 11
        other = model.logits(changed)
        np.testing.assert_array_equal(other[:, :t + 1], logits[:, :t + 1])
        assert not np.allclose(other[:, t + 1], logits[:, t + 1])


def test_shorter_sequences_give_the_same_logits_as_a_prefix():
    model = tiny()
    base = tokens(batch=2, time=6)
    np.testing.assert_allclose(model.logits(base[:, :4]), model.logits(base)[:, :4], rtol=0, atol=1e-12)


def test_a_zero_gate_equals_removing_the_head():
    model = tiny(n_heads=4)
    k = model.index("blocks.0.attention")
    gated = tiny(n_heads=4)
    gated.params[k]["head_gate"][1] = 0.0
    p = model.params[k]
    keep = np.r_[0:2, 4:8]  # head 1 owns columns 2:4 (head_dim 2)
    model.params[k] = {"Wq": p["Wq"][:, keep], "Wk": p["Wk"][:, keep], "Wv": p["Wv"][:, keep],
                       "Wo": p["Wo"][keep], "head_gate": p["head_gate"][[0, 2, 3]]}
    x = tokens(time=6)
    np.testing.assert_allclose(model.logits(x), gated.logits(x), rtol=0, atol=1e-12)


def test_gate_gradient_is_the_finite_difference():
    model = tiny()
    k = model.index("blocks.1.attention")
    x = tokens()
    _, grads = model.loss(x)
    h = 1e-6
    gate = model.params[k]["head_gate"]
    gate[0] += h
    up = model.loss(x)[0]
    gate[0] -= 2 * h
    down = model.loss(x)[0]
    gate[0] += h
    assert abs(grads[k]["head_gate"][0] - (up - down) / (2 * h)) < 1e-7


def test_cross_entropy_of_uniform_logits_is_log_vocab():
    loss, dlogits = cross_entropy(np.zeros((2, 3, 5)), np.zeros((2, 3), dtype=int))
    assert abs(loss - np.log(5)) < 1e-12
    np.testing.assert_allclose(dlogits.sum(axis=-1), 0.0, atol=1e-15)


def test_masks_zero_weights_and_gradients():
    model = tiny()
    k = model.index("blocks.0.mlp")
    mask = np.ones_like(model.params[k]["W1"])
    mask[:, :5] = 0
    model.set_mask(k, "W1", mask)
    assert np.all(model.params[k]["W1"][:, :5] == 0)
    _, grads = model.loss(tokens())
    assert np.all(grads[k]["W1"][:, :5] == 0) and np.any(grads[k]["W1"][:, 5:] != 0)
    with pytest.raises(ValueError, match="shape"):
        model.set_mask(k, "W1", np.ones((2, 2)))
    with pytest.raises(ValueError, match="key"):
        model.set_mask(k, "W9", None)


def test_save_and_load_keep_weights_masks_and_removed_heads(tmp_path):
    model = tiny(dtype="float32")
    k = model.index("blocks.0.attention")
    model.set_mask(model.index("head"), "W", np.arange(88).reshape(8, 11) % 2)
    p = model.params[k]
    model.params[k] = {"Wq": p["Wq"][:, :4], "Wk": p["Wk"][:, :4], "Wv": p["Wv"][:, :4], "Wo": p["Wo"][:4],
                       "head_gate": p["head_gate"][:1]}
    path = model.save(tmp_path / "m.npz")
    loaded = TinyTransformer.load(path)
    x = tokens(time=6)
    np.testing.assert_array_equal(loaded.logits(x), model.logits(x))
    np.testing.assert_array_equal(loaded.masks[model.index("head")]["W"], model.masks[model.index("head")]["W"])
    assert loaded.params[k]["Wq"].shape == (8, 4)
    half = TinyTransformer.load(model.save(tmp_path / "h.npz", dtype="float16"))
    np.testing.assert_allclose(half.logits(x), model.logits(x), atol=0.02)
    np.savez(tmp_path / "other.npz", config=np.array('{"format": "something else"}'))
    with pytest.raises(ValueError, match="path"):
        TinyTransformer.load(tmp_path / "other.npz")


@pytest.mark.parametrize("kwargs, name", [
    (dict(vocab=1), "vocab"), (dict(d_model=0), "d_model"), (dict(d_model=9, n_heads=2), "d_model"),
    (dict(n_layers=0), "n_layers"), (dict(context=0), "context"), (dict(dtype="int8"), "dtype"),
    (dict(activation="tanh"), "activation"), (dict(seed=1.5), "seed"),
])
def test_bad_constructor_arguments_name_the_argument(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        tiny(**kwargs)


@pytest.mark.parametrize("bad, error", [
    (np.full((2, 5), 11), ValueError), (np.full((2, 5), -1), ValueError), (np.zeros((2, 8), dtype=int), ValueError),
    (np.zeros(5, dtype=int), ValueError), (np.zeros((2, 5)), TypeError), ("abc", TypeError),
])
def test_bad_tokens_name_the_argument(bad, error):
    with pytest.raises(error, match="tokens"):
        tiny().logits(bad)


def test_loss_needs_one_more_token_than_it_predicts():
    model = tiny()
    model.loss(tokens(time=7))  # context 6 plus the last target
    with pytest.raises(ValueError, match="tokens"):
        model.loss(tokens(time=1))
    with pytest.raises(ValueError, match="tokens"):
        model.loss(tokens(time=8))


def test_learning_rate_schedule():
    assert learning_rate_at(0, 100, 1.0, 10) == pytest.approx(0.1)
    assert learning_rate_at(9, 100, 1.0, 10) == pytest.approx(1.0)
    assert learning_rate_at(100, 100, 1.0, 10) == pytest.approx(0.1)


def test_training_lowers_the_loss_is_deterministic_and_keeps_gates_and_masks():
    stream = np.tile(np.arange(10, dtype=np.uint8), 40)
    runs = []
    for _ in range(2):
        model = tiny(dtype="float32", vocab=12)
        k = model.index("blocks.0.mlp")
        model.set_mask(k, "W2", np.arange(32 * 8).reshape(32, 8) % 3 != 0)
        history = train_language_model(model, stream, steps=40, batch_size=8, learning_rate=2e-2, warmup=3, seed=1)
        runs.append(model)
    assert np.mean(history["loss"][-5:]) < 0.5 * history["loss"][0]
    for p, q in zip(runs[0].params, runs[1].params):
        for key in p:
            np.testing.assert_array_equal(p[key], q[key])
    assert np.all(runs[0].params[k]["W2"][np.arange(32 * 8).reshape(32, 8) % 3 == 0] == 0)
    for i in range(2):
        np.testing.assert_array_equal(runs[0].params[runs[0].index(f"blocks.{i}.attention")]["head_gate"], 1.0)


def test_training_rejects_bad_arguments():
    model = tiny()
    with pytest.raises(ValueError, match="train_tokens"):
        train_language_model(model, np.zeros(3, dtype=np.uint8), steps=1)
    with pytest.raises(ValueError, match="steps"):
        train_language_model(model, np.zeros(30, dtype=np.uint8), steps=0)


def test_linear_inputs_are_what_each_weight_multiplies():
    from adaprune_edu.nn.layers.feedforward import gelu_forward

    model = tiny()
    k_attention, k_mlp = model.index("blocks.0.attention"), model.index("blocks.0.mlp")
    model.params[k_attention]["head_gate"][0] = 0.0
    x = tokens(time=6)
    inputs = model.linear_inputs(x)
    assert list(inputs) == model.linear_weights()
    for (k, key), X in inputs.items():
        assert X.shape == (3 * 6, model.params[k][key].shape[0])
    embedded = model.params[0]["W"][x] + model.params[1]["W"][:6]
    normalised = model.layers[2].ln1.forward(model.params[2], embedded)[0]
    np.testing.assert_allclose(inputs[(k_attention, "Wq")], normalised.reshape(18, 8), rtol=0, atol=1e-12)
    assert np.all(inputs[(k_attention, "Wo")][:, :4] == 0)  # head 0 (columns 0:4) is gated off
    hidden = gelu_forward(inputs[(k_mlp, "W1")] @ model.params[k_mlp]["W1"])[0]
    np.testing.assert_allclose(inputs[(k_mlp, "W2")], hidden, rtol=0, atol=1e-12)
