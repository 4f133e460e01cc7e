"""Convolutional layers and Sequential without PyTorch: finite differences, ties, modes, files, errors."""
import numpy as np
import pytest

from adaprune_edu.data import load_dataset
from adaprune_edu.nn import (
    AvgPool2D,
    BatchNorm2D,
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool2D,
    MaxPool2D,
    ReLU,
    Residual,
    Sequential,
    Tanh,
    check_model_gradients,
    cnn,
    load_model,
)
from adaprune_edu.nn.fold import fold_batchnorm
from adaprune_edu.nn.layers.conv import col2im, im2col


def small_cnn(seed=0, dtype="float64"):
    """Every layer type once: conv, BN, ReLU, max-pool, residual with and without projection, pools, dense."""
    return Sequential([
        Conv2D(1, 3, 3, padding=1), BatchNorm2D(3), ReLU(), MaxPool2D(2),
        Residual([Conv2D(3, 3, 3, padding=1), BatchNorm2D(3), Tanh()]),
        Residual([Conv2D(3, 4, 3, stride=2, padding=1), ReLU()], projection=Conv2D(3, 4, 1, stride=2)),
        AvgPool2D(1), Conv2D(4, 4, 1), GlobalAvgPool2D(), Dense(4, 3),
    ], seed=seed, dtype=dtype)


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return rng.normal(size=(6, 8, 8, 1)), np.array([0, 1, 2, 0, 1, 2])


def assert_gradients_match_finite_differences(model, X, y):
    errors = check_model_gradients(model, X, y)
    _, grads = model.astype("float64").loss(X, y)
    for (k, key), error in errors.items():
        if np.max(np.abs(grads[k][key])) < 1e-9:  # a conv bias right before BatchNorm: its gradient is 0
            continue
        assert error < 1e-6, (k, key, error)


@pytest.mark.parametrize("training", [True, False])
def test_cnn_gradients_equal_finite_differences(images, training):
    X, y = images
    model = small_cnn()
    model.fit(X, y, epochs=2, batch_size=3, progress=False)  # running statistics away from 0 and 1
    model.train(training)
    assert_gradients_match_finite_differences(model, X, y)


def test_flatten_dense_and_strided_conv_gradients(images):
    X, y = images
    model = Sequential([Conv2D(1, 2, 3, stride=2), ReLU(), Flatten(), Dense(2 * 3 * 3, 3)], dtype="float64")
    assert_gradients_match_finite_differences(model, X, y)


def test_col2im_is_the_adjoint_of_im2col():
    """<im2col(X), D> == <X, col2im(D)> for every stride and padding."""
    rng = np.random.default_rng(0)
    for stride, padding, k in [(1, 0, 3), (1, 1, 3), (2, 1, 3), (2, 0, 2), (3, 2, 3)]:
        X = rng.normal(size=(2, 7, 6, 3))
        cols = im2col(X, k, stride, padding)
        D = rng.normal(size=cols.shape)
        np.testing.assert_allclose(np.sum(cols * D), np.sum(X * col2im(D, X.shape, stride, padding)), rtol=1e-12)


def test_max_pool_sends_the_gradient_to_one_maximum_per_window():
    X = np.zeros((1, 4, 4, 1))
    X[0, 2, 3, 0] = 5.0  # one window with a unique maximum; the other three are all ties (zeros)
    X[0, 0, 1, 0] = X[0, 1, 0, 0] = 2.0  # a tie of two inside the first window
    pool = MaxPool2D(2)
    out, cache = pool.forward(None, X)
    np.testing.assert_array_equal(out[0, :, :, 0], [[2, 0], [0, 5]])
    dX, _ = pool.backward(None, np.ones_like(out), cache)
    expected = np.zeros((4, 4))
    expected[0, 1] = 1  # the first maximum in row-major order: (0, 1) before (1, 0)
    expected[2, 0] = expected[0, 2] = 1  # the top-left of an all-equal window
    expected[2, 3] = 1
    np.testing.assert_array_equal(dX[0, :, :, 0], expected)


def test_max_pool_drops_the_ragged_edge_like_pytorch():
    X = np.arange(5 * 5, dtype=float).reshape(1, 5, 5, 1)
    out, cache = MaxPool2D(2).forward(None, X)
    assert out.shape == (1, 2, 2, 1)
    dX, _ = MaxPool2D(2).backward(None, np.ones_like(out), cache)
    assert dX[0, 4].sum() == 0 and dX[0, :, 4].sum() == 0 and dX.sum() == 4


def test_batchnorm_modes_and_running_statistics():
    rng = np.random.default_rng(0)
    bn = BatchNorm2D(3, momentum=0.2)
    params = bn.init_params(rng, np.float64)
    X = rng.normal(loc=2.0, scale=3.0, size=(4, 5, 5, 3))
    out, _ = bn.forward(params, X, training=True)
    np.testing.assert_allclose(out.reshape(-1, 3).mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.reshape(-1, 3).var(axis=0), 1, rtol=1e-4)
    flat = X.reshape(-1, 3)
    np.testing.assert_allclose(bn.running_mean, 0.2 * flat.mean(axis=0))
    np.testing.assert_allclose(bn.running_var, 0.8 + 0.2 * flat.var(axis=0, ddof=1))
    before = bn.running_mean.copy()
    evaluated, _ = bn.forward(params, X, training=False)
    np.testing.assert_array_equal(bn.running_mean, before)  # evaluation does not move the statistics
    np.testing.assert_allclose(evaluated, (X - bn.running_mean) / np.sqrt(bn.running_var + bn.eps))


def test_reading_a_cnn_writes_no_parameter(images):
    X, y = images
    model = small_cnn()
    model.set_mask(0, np.random.default_rng(0).random((3, 3, 1, 3)) < 0.5)
    snapshot = [{k: v.copy() for k, v in p.items()} for p in model.params]
    for mode in (True, False):
        model.train(mode)
        model.forward(X)
        model.loss(X, y)
        model.predict(X)
    for before, after in zip(snapshot, model.params):
        for key in before:
            np.testing.assert_array_equal(before[key], after[key])


def test_masks_hold_through_training_optimizer_state_included(images):
    X, y = images
    model = small_cnn(dtype="float32")
    mask = np.ones((3, 3, 3, 4))
    mask[..., 1] = 0  # prune output channel 1 of the strided convolution
    index = [i for i, layer in enumerate(model.param_layers()) if isinstance(layer, Conv2D) and layer.stride == 2][0]
    model.set_mask(index, mask)
    model.fit(X, y, epochs=3, batch_size=3, progress=False)
    assert np.all(model.params[index]["W"][..., 1] == 0)
    assert np.all(model.optimizer_.state[index]["velocity"]["W"][..., 1] == 0)


def test_predict_uses_evaluation_mode_and_fit_restores_the_mode(images):
    X, y = images
    model = small_cnn().train()
    model.fit(X, y, epochs=1, batch_size=3, progress=False)
    assert model.training
    before = model.param_layers()[1].running_mean.copy()
    np.testing.assert_array_equal(model.predict_proba(X), model.eval().predict_proba(X))
    np.testing.assert_array_equal(model.param_layers()[1].running_mean, before)
    model.fit(X, y, epochs=1, batch_size=3, progress=False)
    assert not model.training


def test_same_seed_same_training_bit_for_bit(images):
    X, y = images
    a = small_cnn(seed=3, dtype="float32").fit(X, y, epochs=2, batch_size=4, progress=False)
    b = small_cnn(seed=3, dtype="float32").fit(X, y, epochs=2, batch_size=4, progress=False)
    for pa, pb in zip(a.params, b.params):
        for key in pa:
            np.testing.assert_array_equal(pa[key], pb[key])
    assert a.history_["loss"] == b.history_["loss"]


def test_save_and_load_round_trip(tmp_path, images):
    X, y = images
    model = small_cnn()
    model.fit(X, y, epochs=2, batch_size=3, progress=False)
    model.set_mask(2, np.random.default_rng(1).random((3, 3, 3, 3)) < 0.7)
    model.save(tmp_path / "cnn")
    loaded = load_model(tmp_path / "cnn.npz")
    assert type(loaded) is Sequential and repr(loaded) == repr(model)
    for layer, other in zip(model.leaves(), loaded.leaves()):
        for name, value in layer.buffers().items():
            np.testing.assert_array_equal(value, other.buffers()[name])
    np.testing.assert_array_equal(loaded.eval().forward(X), model.eval().forward(X))
    np.testing.assert_array_equal(loaded.masks[2]["W"], model.masks[2]["W"])
    assert loaded.masks[0]["W"] is None


def test_get_state_rolls_back_running_statistics(images):
    X, y = images
    model = small_cnn()
    state = model.get_state()
    reference = model.eval().forward(X)
    model.fit(X, y, epochs=2, batch_size=3, progress=False)
    model.set_state(state)
    np.testing.assert_array_equal(model.eval().forward(X), reference)


def test_astype_converts_running_statistics(images):
    model = small_cnn(dtype="float32").astype("float64")
    assert model.param_layers()[1].running_var.dtype == np.float64 and model.params[0]["W"].dtype == np.float64


def test_cnn_preset_shapes():
    model = cnn(seed=0)
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D", "BatchNorm2D", "ReLU", "Conv2D", "BatchNorm2D", "ReLU", "MaxPool2D",
        "Conv2D", "BatchNorm2D", "ReLU", "GlobalAvgPool2D", "Dense"]
    assert [p["W"].shape for p in model.params if "W" in p] == [(3, 3, 1, 16), (3, 3, 16, 32), (3, 3, 32, 64), (64, 10)]
    assert model.forward(np.zeros((2, 8, 8, 1))).shape == (2, 10)


def test_digits_as_images():
    flat, images = load_dataset("digits", seed=0), load_dataset("digits", seed=0, images=True)
    assert images.X_train.shape == (flat.X_train.shape[0], 8, 8, 1) and images.sample_shape == (8, 8, 1)
    np.testing.assert_array_equal(images.y_test, flat.y_test)
    raw = load_dataset("digits", seed=0, standardize=False, images=True).X_train
    np.testing.assert_array_equal(raw.reshape(len(raw), 64), load_dataset("digits", seed=0, standardize=False).X_train)
    assert abs(images.X_train.mean()) < 1e-5 and abs(images.X_train.std() - 1) < 1e-5


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="in_channels=0"):
        Conv2D(0, 4, 3)
    with pytest.raises(TypeError, match="kernel_size"):
        Conv2D(1, 4, "3")
    with pytest.raises(ValueError, match="stride=0"):
        Conv2D(1, 4, 3, stride=0)
    with pytest.raises(ValueError, match="padding=-1"):
        Conv2D(1, 4, 3, padding=-1)
    with pytest.raises(ValueError, match="size=0"):
        MaxPool2D(0)
    with pytest.raises(ValueError, match="momentum=2.0"):
        BatchNorm2D(4, momentum=2.0)
    with pytest.raises(TypeError, match="layers"):
        Residual([])
    with pytest.raises(TypeError, match="projection"):
        Residual([ReLU()], projection="conv")
    with pytest.raises(TypeError, match="layers"):
        Sequential([])
    with pytest.raises(TypeError, match=r"layers\[1\]"):
        Sequential([Dense(3, 2), "relu"])
    with pytest.raises(ValueError, match="images=True needs name='digits'"):
        load_dataset("moons", images=True)
    with pytest.raises(TypeError, match="images"):
        load_dataset("digits", images="yes")


def test_bad_inputs_say_what_is_expected(images):
    X, y = images
    model = cnn(seed=0)
    with pytest.raises(ValueError, match="images=True"):
        model.predict(X.reshape(6, 64))
    with pytest.raises(ValueError, match="3 channels"):
        model.predict(np.zeros((2, 8, 8, 3)))
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.full((2, 8, 8, 1), np.nan))
    block = Sequential([Residual([Conv2D(1, 2, 3, padding=1)]), GlobalAvgPool2D(), Dense(2, 3)])
    with pytest.raises(ValueError, match="add a projection"):
        block.forward(X)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        Sequential([GlobalAvgPool2D(), BatchNorm2D(1), Dense(1, 2)]).loss(X[:1], y[:1])


def test_fold_batchnorm_keeps_evaluation_outputs_and_masks():
    data = load_dataset("digits", seed=0, images=True)
    model = small_cnn(dtype="float32")
    model.fit(data.X_train, data.y_train % 3, epochs=2, progress=False)
    model.set_mask(0, np.random.default_rng(0).random((3, 3, 1, 3)) < 0.5)
    folded = fold_batchnorm(model)
    assert not folded.training and model.training  # the original is untouched
    assert sum(isinstance(layer, BatchNorm2D) for layer in folded.leaves()) == 0
    assert len(folded.params) == len(model.params) - 2
    expected = model.eval().forward(data.X_test)
    assert np.max(np.abs(folded.forward(data.X_test) - expected)) <= 1e-6 * np.max(np.abs(expected))
    np.testing.assert_array_equal(folded.masks[0]["W"], model.masks[0]["W"])
    assert np.all(folded.params[0]["W"][model.masks[0]["W"] == 0] == 0)
    alone = Sequential([GlobalAvgPool2D(), BatchNorm2D(1), Dense(1, 2)])  # nothing to fold into: kept
    assert isinstance(fold_batchnorm(alone).layers[1], BatchNorm2D)


def test_an_mlp_file_keeps_format_1_and_a_shrunk_network_saves_its_real_sizes(tmp_path, images):
    from adaprune_edu.nn import MLP

    MLP([5, 4, 3]).save(tmp_path / "mlp")
    with np.load(tmp_path / "mlp.npz") as data:
        assert data.files == ["config", "W0", "b0", "W1", "b1"] and '"format_version": 1' in str(data["config"])
    X, _ = images
    model = Sequential([Conv2D(1, 4, 3, padding=1), BatchNorm2D(4), ReLU(), GlobalAvgPool2D(), Dense(4, 3)])
    keep = [0, 2]  # remove output channels 1 and 3 by hand, as surgery would
    model.params[0] = {"W": model.params[0]["W"][..., keep], "b": model.params[0]["b"][keep]}
    model.params[1] = {k: v[keep] for k, v in model.params[1].items()}
    model.masks[0], model.masks[1] = {"W": None, "b": None}, {"gamma": None, "beta": None}
    bn = model.param_layers()[1]
    bn.running_mean, bn.running_var = bn.running_mean[keep], bn.running_var[keep]
    model.params[2] = {"W": model.params[2]["W"][keep], "b": model.params[2]["b"]}
    model.save(tmp_path / "small")
    loaded = load_model(tmp_path / "small.npz")
    assert loaded.layers[0].out_channels == 2 and loaded.layers[1].channels == 2 and loaded.layers[4].n_in == 2
    np.testing.assert_array_equal(loaded.eval().forward(X), model.eval().forward(X))


def test_evaluation_in_chunks_equals_one_pass():
    from adaprune_edu.nn.layers.chain import forward_chain
    from adaprune_edu.nn.sequential import INFERENCE_CHUNK

    X = np.random.default_rng(0).normal(size=(2 * INFERENCE_CHUNK + 5, 8, 8, 1))
    model = cnn(seed=0, dtype="float64").eval()
    one_pass = forward_chain(model.layers, model.params, X, False)[0]
    np.testing.assert_allclose(model.forward(X), one_pass, rtol=1e-12, atol=1e-12)
