"""Groups derived from the network: MLP neurons, CNN channels (BatchNorm, pooling, Flatten), residual ties."""
import numpy as np
import pytest

from adaprune_edu.nn import MLP, Sequential
from adaprune_edu.nn.layers import (
    AvgPool2D,
    BatchNorm2D,
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool2D,
    MaxPool2D,
    ReLU,
    Residual,
    Sigmoid,
)
from adaprune_edu.nn.presets import cnn
from adaprune_edu.pruning import neuron_masks, prune_model, prune_to_sparsity, shrink
from adaprune_edu.pruning.groups import Slice, alive_units, count_macs, layer_groups, remove_units, unit_view


def _randomise_batchnorm(model, seed=0):
    """Non-trivial BatchNorm parameters and running statistics, so that surgery has something to get wrong."""
    rng = np.random.default_rng(seed)
    for layer, params in zip(model.param_layers(), model.params):
        if isinstance(layer, BatchNorm2D):
            params["gamma"][:] = rng.uniform(0.5, 1.5, layer.channels)
            params["beta"][:] = rng.normal(0, 0.3, layer.channels)
            layer.running_mean = rng.normal(0, 0.5, layer.channels).astype(model.dtype)
            layer.running_var = rng.uniform(0.5, 2.0, layer.channels).astype(model.dtype)
    for params in model.params:
        if "b" in params:
            params["b"][:] = rng.normal(0, 0.2, params["b"].shape)
    return model


def _flatten_cnn(seed=0, dtype="float32"):
    return Sequential([Conv2D(1, 6, 3, padding=1), BatchNorm2D(6), ReLU(), MaxPool2D(2),
                       Conv2D(6, 5, 3), BatchNorm2D(5), ReLU(), Flatten(), Dense(5 * 2 * 2, 7), ReLU(),
                       Dense(7, 3)], seed=seed, dtype=dtype)


def _residual_cnn(seed=0, dtype="float32"):
    block = Residual([Conv2D(4, 4, 3, padding=1), BatchNorm2D(4), ReLU(), Conv2D(4, 4, 3, padding=1),
                      BatchNorm2D(4)])
    projected = Residual([Conv2D(4, 6, 3, padding=1), BatchNorm2D(6), ReLU(), Conv2D(6, 6, 3, padding=1),
                          BatchNorm2D(6)], projection=Conv2D(4, 6, 1))
    return Sequential([Conv2D(1, 4, 3, padding=1), BatchNorm2D(4), ReLU(), block, ReLU(), AvgPool2D(2), projected,
                       ReLU(), GlobalAvgPool2D(), Dense(6, 3)], seed=seed, dtype=dtype)


def _images(n=12, size=8, seed=1):
    return np.random.default_rng(seed).normal(size=(n, size, size, 1)).astype(np.float32)


# ---------------------------------------------------------------------- deriving groups
def test_mlp_groups_are_column_bias_and_next_row():
    (first, second) = layer_groups(MLP([4, 8, 6, 3]))
    assert (first.size, first.kind, second.size) == (8, "neuron", 6)
    assert first.own == (Slice(0, "W", 1), Slice(0, "b", 0)) and first.reads == (Slice(1, "W", 0),)
    assert second.reads == (Slice(2, "W", 0),) and not first.tied


def test_cnn_groups_follow_batchnorm_pooling_and_flatten():
    model = _flatten_cnn()
    first, second, dense = layer_groups(model)
    assert [g.kind for g in (first, second, dense)] == ["channel", "channel", "neuron"]
    # the first conv's channel c: filter, bias, BN gamma/beta, and input channel c of the second conv
    assert first.own == (Slice(0, "W", 3), Slice(0, "b", 0), Slice(1, "gamma", 0), Slice(1, "beta", 0))
    assert first.reads == (Slice(2, "W", 2),)
    # after Flatten of (2, 2, 5): channel c is read by the dense rows c, c + 5, c + 10, c + 15
    assert second.reads == (Slice(4, "W", 0, repeat=4),)
    rows = unit_view(np.arange(20 * 7).reshape(20, 7), second.reads[0], 5)[2]
    assert sorted(set(rows // 7)) == [2, 7, 12, 17]


def test_residual_add_ties_its_channels_into_one_group():
    groups = layer_groups(_residual_cnn())
    tied = [g for g in groups if g.tied]
    # the stem conv, the identity block's last conv; the projected block's last conv and its projection
    assert [g.producers for g in tied] == [(0, 4), (8, 10)]
    assert [(g.size, g.tied) for g in groups] == [(4, True), (4, False), (6, False), (6, True)]
    readers = {piece.param for piece in tied[0].reads}
    assert readers == {2, 6, 10}  # block conv 1, projected block conv 1, the 1x1 projection
    assert tied[0].name == "Conv2D params[0]"


def test_input_and_output_units_are_never_groups():
    assert layer_groups(MLP([4, 3])) == []
    # an identity residual straight on the input ties the input channels: nothing prunable there
    model = Sequential([Residual([Conv2D(1, 1, 1)]), GlobalAvgPool2D(), Dense(1, 2)])
    assert layer_groups(model) == []


def test_remove_units_masks_every_slice_and_alive_units_reads_them():
    model = _flatten_cnn()
    first = layer_groups(model)[0]
    keep = np.ones(6, dtype=bool)
    keep[[1, 4]] = False
    remove_units(model, first, keep)
    np.testing.assert_array_equal(alive_units(model, first), keep)
    assert np.all(model.params[0]["W"][..., 1] == 0) and model.params[1]["gamma"][4] == 0
    assert np.all(model.params[2]["W"][:, :, [1, 4], :] == 0)
    with pytest.raises(ValueError, match=r"units \[1, 4\] of Conv2D params\[0\], which are already removed"):
        remove_units(model, first, np.ones(6, dtype=bool))
    with pytest.raises(ValueError, match=r"must have shape \(6,\)"):
        remove_units(model, first, np.ones(5, dtype=bool))


def test_unknown_layers_are_named():
    class Odd(ReLU):
        pass

    with pytest.raises(TypeError, match="does not know how units pass through Odd"):
        layer_groups(Sequential([Dense(3, 4), Odd(), Dense(4, 2)]))


# ---------------------------------------------------------------------- surgery on CNNs
@pytest.mark.parametrize("make", [_flatten_cnn, _residual_cnn, lambda seed=0: cnn((6, 8, 10), seed=seed)])
@pytest.mark.parametrize("criterion", ["magnitude", "random"])
def test_shrink_cnn_equals_masked_in_eval_mode(make, criterion):
    model = _randomise_batchnorm(make(seed=3), seed=4).eval()
    X = _images()
    prune_model(model, 0.5, criterion=criterion, granularity="structured", scope="layer", seed=2)
    small = shrink(model)
    small.eval()
    before = [g.size for g in layer_groups(model)]
    after = [g.size for g in layer_groups(small)]
    assert after == [int(a.sum()) for a in neuron_masks(model)] and sum(after) < sum(before)
    expected = model.forward(X)
    assert np.max(np.abs(small.forward(X) - expected)) <= 1e-6 * max(1.0, np.max(np.abs(expected)))
    assert count_macs(small, X) < count_macs(model, X)
    # the original is untouched; the shrunk network trains and keeps its sizes consistent
    assert [g.size for g in layer_groups(model)] == before
    small.train()
    small.fit(np.concatenate([X, X]), np.arange(24) % 3, epochs=1, batch_size=8, progress=False)


def test_shrink_float64_is_exact_to_rounding():
    model = _randomise_batchnorm(_residual_cnn(seed=5, dtype="float64"), seed=6).eval()
    X = _images().astype(np.float64)
    prune_model(model, 0.5, granularity="structured", scope="global", min_per_layer=1)
    small = shrink(model).eval()
    np.testing.assert_allclose(small.forward(X), model.forward(X), rtol=0, atol=1e-12)


def _constant_channel(model, conv: int, channel: int) -> None:
    """Zero one filter and make its channel's constant output 1 (BatchNorm beta 1, running mean 0)."""
    model.params[conv]["W"][..., channel] = 0
    model.params[conv + 1]["beta"][channel] = 1.0
    model.param_layers()[conv + 1].running_mean[channel] = 0.0


def test_shrink_folds_a_constant_channel_into_a_dense_or_unpadded_reader():
    model = _randomise_batchnorm(_flatten_cnn(seed=1, dtype="float64"), seed=2).eval()
    X = _images().astype(np.float64)
    _constant_channel(model, 0, 0)  # read, after max-pooling, by the unpadded second conv
    _constant_channel(model, 2, 3)  # read by the dense layer after Flatten (4 rows)
    small = shrink(model).eval()
    assert [g.size for g in layer_groups(small)] == [5, 4, 7]
    np.testing.assert_allclose(small.forward(X), model.forward(X), atol=1e-12)


def test_shrink_keeps_a_constant_channel_read_by_a_padded_conv():
    model = _randomise_batchnorm(cnn((4, 4, 4), seed=0, dtype="float64")).eval()
    X = _images().astype(np.float64)
    _constant_channel(model, 0, 0)  # the next conv pads: at the border it reads 0, not the constant
    _constant_channel(model, 4, 2)  # the last conv is read by global pooling and a dense layer: folded
    small = shrink(model).eval()
    assert [g.size for g in layer_groups(small)] == [4, 4, 3]
    np.testing.assert_allclose(small.forward(X), model.forward(X), atol=1e-12)


def test_shrink_keeps_a_placeholder_when_a_layer_empties():
    model = _randomise_batchnorm(cnn((4, 4, 4), seed=0, dtype="float64")).eval()
    X = _images().astype(np.float64)
    prune_model(model, None, granularity="structured", scope=[0, 1.0, 0])
    small = shrink(model).eval()
    assert [g.size for g in layer_groups(small)] == [1, 1, 1]  # nothing reaches the output any more
    np.testing.assert_allclose(small.forward(X), model.forward(X), atol=1e-12)


def test_count_macs_of_the_course_cnn():
    # 8*8*9*1*16 + 8*8*9*16*32 + 4*4*9*32*64 + 64*10
    assert count_macs(cnn(), _images(1)) == 9216 + 294912 + 294912 + 640


# ---------------------------------------------------------------------- pruning a CNN
def test_min_per_layer_keeps_every_layer_alive():
    model = cnn((6, 8, 10), seed=0)
    prune_model(model, 18, granularity="structured", min_per_layer=2)
    assert [int(a.sum()) for a in neuron_masks(model)] == [2, 2, 2]
    other = cnn((6, 8, 10), seed=0)
    with pytest.raises(ValueError, match="min_per_layer=3 leaves only 15 removable"):
        prune_model(other, 20, granularity="structured", min_per_layer=3)
    mlp = MLP([6, 10, 8, 3], seed=0)
    prune_to_sparsity(mlp, 0.8, granularity="structured", min_per_layer=2)
    assert min(int(a.sum()) for a in neuron_masks(mlp)) >= 2


def test_unstructured_pruning_of_a_cnn_counts_conv_weights():
    model = cnn((6, 8, 10), seed=0)
    prune_model(model, 0.5)
    total = sum(p["W"].size for p in model.params if "W" in p)
    pruned = sum(int(np.sum(m["W"] == 0)) for m in model.masks if "W" in m and m["W"] is not None)
    assert pruned == total // 2


def test_sigmoid_constant_neuron_is_folded_exactly():
    model = Sequential([Dense(3, 4), Sigmoid(), Dense(4, 2)], dtype="float64")
    model.params[0]["W"][:, 1] = 0  # neuron 1 outputs sigmoid(b[1]) for every input
    model.params[0]["b"][1] = 0.7
    X = np.random.default_rng(0).normal(size=(5, 3))
    small = shrink(model)
    assert small.params[0]["W"].shape == (3, 3)
    np.testing.assert_allclose(small.forward(X), model.forward(X), atol=1e-12)


def test_sensitivity_scan_of_a_cnn_covers_every_layer_of_channels():
    from adaprune_edu.pruning import sensitivity_scan

    model = cnn((4, 6, 8), seed=0).eval()
    X, y = _images(20), np.arange(20) % 10
    table = sensitivity_scan(model, X, y, sparsities=[0.5], granularity="structured")
    assert table.layers == [0, 1, 2]
    assert [round(row["achieved"], 3) for row in table.rows] == [0.5, 0.5, 0.5]
    weights = sensitivity_scan(model, X, y, sparsities=[0.5])
    assert weights.layers == [0, 1, 2, 3]  # three convolutions and the dense layer


@pytest.mark.parametrize("make", [_flatten_cnn, _residual_cnn, lambda seed=0: cnn((6, 8, 10), seed=seed)])
def test_fold_batchnorm_equals_the_network_in_eval_mode(make):
    from adaprune_edu.nn.fold import fold_batchnorm

    model = _randomise_batchnorm(make(seed=2), seed=3).eval()
    prune_model(model, 0.5, granularity="structured", scope="layer")
    X = _images()
    for network in (model, shrink(model)):
        folded = fold_batchnorm(network)
        n_bn = sum(isinstance(layer, BatchNorm2D) for layer in network.leaves())
        assert n_bn > 0 and not any(isinstance(layer, BatchNorm2D) for layer in folded.leaves())
        assert len(folded.params) == len(network.params) - n_bn
        expected = network.eval().forward(X)
        assert np.max(np.abs(folded.forward(X) - expected)) <= 1e-5 * max(1.0, np.max(np.abs(expected)))
    assert any(isinstance(layer, BatchNorm2D) for layer in model.leaves())  # the original keeps its BatchNorms


def test_hybrid_pruning_of_a_cnn_removes_channels_then_weights():
    from adaprune_edu.pruning import global_sparsity, removable_neurons

    model = cnn((6, 8, 10), seed=0)
    X, y = _images(8), np.arange(8) % 10
    prune_model(model, 0.5, granularity="hybrid", criterion="taylor", X=X, y=y)
    assert global_sparsity(model) == 0.5
    removed = [int((~a).sum()) for a in neuron_masks(model)]
    assert sum(removed) == 6  # structured_fraction 0.5: a quarter of the 24 channels
    # every removed channel is removable; the weight stage may empty a few more filters
    assert all(int(r.sum()) >= n for r, n in zip(removable_neurons(model), removed))
