"""The MLP: its contract, bad input, determinism, masks that stay, save/load."""
import numpy as np
import pytest

from adaprune_edu import MLP
from adaprune_edu.nn import Adam, Momentum


# ---------------------------------------------------------------- construction
def test_params_have_the_documented_shapes():
    model = MLP([64, 256, 128, 10])
    assert [p["W"].shape for p in model.params] == [(64, 256), (256, 128), (128, 10)]
    assert [p["b"].shape for p in model.params] == [(256,), (128,), (10,)]
    assert all(p["W"].dtype == np.float32 for p in model.params)
    assert model.masks == [{"W": None, "b": None}] * 3


@pytest.mark.parametrize("dtype", ["float64", np.float64, np.dtype("float64")])
def test_dtype_accepts_strings_and_numpy_dtypes(dtype):
    assert MLP([3, 2], dtype=dtype).params[0]["W"].dtype == np.float64


@pytest.mark.parametrize("kwargs,error,words", [
    (dict(layer_sizes=[4]), ValueError, "layer_sizes"),
    (dict(layer_sizes="64,10"), TypeError, "layer_sizes"),
    (dict(layer_sizes=[4, 0, 2]), ValueError, "layer_sizes[1]"),
    (dict(layer_sizes=[4, 2.5, 2]), TypeError, "layer_sizes[1]"),
    (dict(layer_sizes=[4, 2], activation="gelu"), ValueError, "activation='gelu'"),
    (dict(layer_sizes=[4, 2], loss="hinge"), ValueError, "loss='hinge'"),
    (dict(layer_sizes=[4, 3], loss="bce"), ValueError, "bce"),
    (dict(layer_sizes=[4, 2], dtype="int32"), ValueError, "dtype"),
    (dict(layer_sizes=[4, 2], dtype="float16"), ValueError, "dtype"),
    (dict(layer_sizes=[4, 2], seed=1.5), TypeError, "seed"),
])
def test_bad_constructor_arguments_are_named(kwargs, error, words):
    with pytest.raises(error, match=None) as info:
        MLP(**kwargs)
    assert words in str(info.value)


def test_weights_depend_only_on_the_seed():
    a, b, c = MLP([8, 6, 3], seed=7), MLP([8, 6, 3], seed=7), MLP([8, 6, 3], seed=8)
    np.testing.assert_array_equal(a.params[0]["W"], b.params[0]["W"])
    assert not np.array_equal(a.params[0]["W"], c.params[0]["W"])


def test_glorot_limits_and_he_scale():
    W = MLP([100, 300], init="glorot").params[0]["W"]
    assert np.abs(W).max() <= np.sqrt(6 / 400)
    W = MLP([1000, 1000], init="he", dtype="float64").params[0]["W"]
    assert W.std() == pytest.approx(np.sqrt(2 / 1000), rel=0.02)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("X,y,error,words", [
    (np.zeros((4, 3)), [0, 1, 0, 1], ValueError, "features"),
    (np.zeros((4, 5, 1)), [0, 1, 0, 1], ValueError, "2-D"),
    (np.zeros((0, 5)), [], ValueError, "empty"),
    (np.full((2, 5), np.nan), [0, 1], ValueError, "NaN"),
    (np.full((2, 5), np.inf), [0, 1], ValueError, "NaN or infinite"),
    ("not an array", [0], TypeError, "X"),
    (np.zeros((2, 5)), [0, 3], ValueError, "labels must lie in [0, 2]"),
    (np.zeros((2, 5)), [0, -1], ValueError, "labels"),
    (np.zeros((2, 5)), [0, 1, 2], ValueError, "3 labels but X has 2"),
    (np.zeros((2, 5)), [0.5, 1], ValueError, "whole-number"),
    (np.zeros((2, 5)), ["a", "b"], TypeError, "integer class labels"),
])
def test_bad_data_is_rejected_with_a_named_argument(X, y, error, words):
    model = MLP([5, 4, 3])
    with pytest.raises(error) as info:
        model.loss(X, y)
    assert words in str(info.value)


def test_fit_rejects_bad_training_arguments(tiny_batch):
    X, y = tiny_batch
    model = MLP([5, 4, 3])
    with pytest.raises(ValueError, match="optimizer='rmsprop'"):
        model.fit(X, y, optimizer="rmsprop", progress=False)
    with pytest.raises(TypeError, match="optimizer"):
        model.fit(X, y, optimizer=3, progress=False)
    with pytest.raises(ValueError, match="batch_size=0"):
        model.fit(X, y, batch_size=0, progress=False)
    with pytest.raises(TypeError, match="epochs"):
        model.fit(X, y, epochs=2.0, progress=False)
    with pytest.raises(ValueError, match="learning_rate=-0.1"):
        model.fit(X, y, learning_rate=-0.1, progress=False)
    with pytest.raises(TypeError, match="validation_data"):
        model.fit(X, y, validation_data=X, progress=False)
    with pytest.raises(ValueError, match="validation_data\\[0\\]"):
        model.fit(X, y, validation_data=(X[:, :3], y), progress=False)


def test_failed_fit_leaves_the_model_untouched(tiny_batch):
    X, y = tiny_batch
    model = MLP([5, 4, 3])
    before = model.get_state()
    with pytest.raises(ValueError):
        model.fit(X, np.full(7, 9), progress=False)
    np.testing.assert_array_equal(model.params[0]["W"], before["params"][0]["W"])


# ---------------------------------------------------------------- training
def test_training_on_digits_reaches_high_accuracy(digits):
    model = MLP(digits.default_layer_sizes(), seed=0)
    model.fit(digits.X_train, digits.y_train, epochs=30, validation_data=(digits.X_val, digits.y_val),
              progress=False)
    assert model.score(digits.X_test, digits.y_test) >= 0.95
    assert set(model.history_) == {"loss", "train_accuracy", "epoch_time", "val_loss", "val_accuracy"}
    assert len(model.history_["loss"]) == 30
    assert model.history_["loss"][-1] < model.history_["loss"][0] / 5


def test_same_seed_gives_bit_identical_training(digits):
    runs = []
    for _ in range(2):
        model = MLP(digits.default_layer_sizes(), seed=3)
        model.fit(digits.X_train[:300], digits.y_train[:300], epochs=3, progress=False)
        runs.append(model)
    for p, q in zip(runs[0].params, runs[1].params):
        np.testing.assert_array_equal(p["W"], q["W"])
        np.testing.assert_array_equal(p["b"], q["b"])
    other = MLP(digits.default_layer_sizes(), seed=4).fit(digits.X_train[:300], digits.y_train[:300],
                                                           epochs=3, progress=False)
    assert not np.array_equal(other.params[0]["W"], runs[0].params[0]["W"])


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_every_optimizer_learns_a_separable_problem(optimizer):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = MLP([2, 8, 2], seed=0).fit(X, y, epochs=40, batch_size=16, optimizer=optimizer,
                                       learning_rate=0.05 if optimizer != "adam" else 0.01, progress=False)
    assert model.score(X, y) > 0.95


def test_binary_model_predicts_two_column_probabilities():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    y = (X[:, 0] > 0).astype(int)
    model = MLP([3, 6, 1], seed=0).fit(X, y, epochs=30, batch_size=10, progress=False)
    P = model.predict_proba(X)
    assert P.shape == (100, 2)
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(model.predict(X), P.argmax(axis=1))
    assert model.score(X, y) > 0.9


def test_float64_training_works(tiny_batch):
    X, y = tiny_batch
    model = MLP([5, 4, 3], dtype="float64").fit(X, y, epochs=2, progress=False)
    assert model.params[0]["W"].dtype == np.float64


def test_callbacks_run_every_epoch_and_penalty_is_added(tiny_batch):
    X, y = tiny_batch
    seen = []
    calls = {"n": 0}

    def penalty(params):
        calls["n"] += 1
        return 10.0, [{"W": np.zeros_like(p["W"]), "b": None} for p in params]

    MLP([5, 4, 3]).fit(X, y, epochs=3, batch_size=7, penalty=penalty, progress=False,
                       callbacks=[lambda model, epoch, logs: seen.append((epoch, logs["loss"]))])
    assert [epoch for epoch, _ in seen] == [0, 1, 2]
    assert all(loss >= 10.0 for _, loss in seen)
    assert calls["n"] == 3


# ---------------------------------------------------------------- masks
def _mask(shape, seed=0, keep=0.3):
    return (np.random.default_rng(seed).random(shape) < keep).astype(float)


@pytest.mark.parametrize("optimizer", [Momentum(0.05, 0.9), Adam(0.01), "sgd"])
def test_pruned_weights_stay_exactly_zero_through_training(optimizer, digits):
    model = MLP(digits.default_layer_sizes(), seed=0)
    model.fit(digits.X_train, digits.y_train, epochs=2, optimizer=optimizer, progress=False)
    masks = [_mask(p["W"].shape, seed=i) for i, p in enumerate(model.params)]
    for i, mask in enumerate(masks):
        model.set_mask(i, mask)
    model.set_mask(0, (np.arange(256) % 2).astype(float), key="b")
    model.fit(digits.X_train, digits.y_train, epochs=5, optimizer=optimizer, progress=False)
    for i, mask in enumerate(masks):
        assert np.all(model.params[i]["W"][mask == 0] == 0)
        assert np.count_nonzero(model.params[i]["W"][mask == 1]) > 0.99 * mask.sum()
    assert np.all(model.params[0]["b"][::2] == 0)
    if not isinstance(optimizer, str):  # the optimizer's memory of pruned weights is wiped too
        for state in optimizer.state[0].values():
            assert np.all(state["W"][masks[0] == 0] == 0)


def test_without_masking_optimizer_state_momentum_would_revive_weights(digits):
    """Why the state must be masked: zeroing weights alone lets momentum bring them back."""
    model = MLP(digits.default_layer_sizes(), seed=0)
    opt = Momentum(0.05, 0.9)
    model.fit(digits.X_train, digits.y_train, epochs=2, optimizer=opt, progress=False)
    model.params[0]["W"][:] = 0  # zeroed, but not masked
    model.fit(digits.X_train[:64], digits.y_train[:64], epochs=1, optimizer=opt, progress=False)
    assert np.count_nonzero(model.params[0]["W"]) > 0


def test_set_mask_validates(small_model):
    with pytest.raises(ValueError, match=r"shape \(3, 4\).*\(5, 4\)"):
        small_model.set_mask(0, np.ones((3, 4)))
    with pytest.raises(ValueError, match="only 0 and 1"):
        small_model.set_mask(0, np.full((5, 4), 0.5))
    with pytest.raises(ValueError, match="layer=3"):
        small_model.set_mask(3, np.ones((5, 4)))
    with pytest.raises(ValueError, match="key='V'"):
        small_model.set_mask(0, np.ones((5, 4)), key="V")
    small_model.set_mask(0, np.ones((5, 4), dtype=bool))
    assert small_model.masks[0]["W"].dtype == np.float64


def test_sparsity_counts_zero_weights(small_model):
    assert small_model.sparsity() == 0.0
    small_model.set_mask(0, np.zeros((5, 4)))
    assert small_model.sparsity() == pytest.approx(20 / (20 + 12 + 9))


def test_reading_the_model_writes_nothing_and_apply_masks_restores_the_invariant(small_model, tiny_batch):
    """Masks are applied where weights change (set_mask, optimizer steps), not on every read."""
    X, y = tiny_batch
    small_model.set_mask(0, np.zeros((5, 4)))
    reference = small_model.forward(X)
    small_model.params[0]["W"][:] = 3.0  # a hand-written change to a masked parameter...
    small_model.forward(X)
    small_model.loss(X, y)
    assert np.all(small_model.params[0]["W"] == 3.0)  # ...is not undone by reading the model
    small_model.apply_masks()  # ...but by applying the masks, as every optimizer step does
    np.testing.assert_array_equal(small_model.forward(X), reference)


# ---------------------------------------------------------------- copies and files
def test_get_state_and_set_state_roll_back(small_model, tiny_batch):
    X, y = tiny_batch
    snapshot = small_model.get_state()
    before = small_model.loss(X, y)[0]
    small_model.fit(X, y, epochs=5, progress=False)
    small_model.set_mask(0, np.zeros((5, 4)))
    assert small_model.loss(X, y)[0] != before
    small_model.set_state(snapshot)
    assert small_model.loss(X, y)[0] == before
    assert small_model.masks[0]["W"] is None


def test_save_and_load_round_trip(tmp_path, small_model, tiny_batch):
    X, y = tiny_batch
    small_model.fit(X, y, epochs=3, progress=False)
    small_model.set_mask(1, (np.arange(12).reshape(4, 3) % 3 > 0).astype(float))
    small_model.save(tmp_path / "model")
    loaded = MLP.load(tmp_path / "model.npz")
    assert loaded.layer_sizes == small_model.layer_sizes and loaded.dtype == small_model.dtype
    np.testing.assert_array_equal(loaded.forward(X), small_model.forward(X))
    np.testing.assert_array_equal(loaded.masks[1]["W"], small_model.masks[1]["W"])
    assert loaded.masks[0]["W"] is None


def test_load_rejects_what_is_not_a_model(tmp_path):
    with pytest.raises(ValueError, match="not a file"):
        MLP.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a model saved by adaprune_edu"):
        MLP.load(junk)
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a model"):
        MLP.load(tmp_path / "other.npz")


def test_astype_copies_without_touching_the_original(small_model):
    other = small_model.astype("float32")
    assert other.params[0]["W"].dtype == np.float32
    assert small_model.params[0]["W"].dtype == np.float64
