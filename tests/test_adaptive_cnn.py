"""The adaptive controller on CNNs: channels as groups, a floor per layer, budgets in the CNN's own costs."""
import numpy as np
import pytest

from adaprune_edu import costs
from adaprune_edu.data import load_dataset
from adaprune_edu.nn import MLP, Sequential
from adaprune_edu.nn.layers import BatchNorm2D, Conv2D, Dense, GlobalAvgPool2D, ReLU, Residual
from adaprune_edu.nn.presets import cnn
from adaprune_edu.pruning import layer_groups, neuron_masks, shrink
from adaprune_edu.pruning.adaptive import AdaptivePruner
from adaprune_edu.pruning.groups import unit_view
from adaprune_edu.pruning.report import resource_cost

FAST = dict(max_epochs=3, final_epochs=1, finetune_epochs=1, initial_step=0.5, tolerance=0.05)


@pytest.fixture(scope="module")
def images():
    data = load_dataset("digits", images=True, seed=0)
    return data.X_train[:256], data.y_train[:256], data.X_val[:96], data.y_val[:96]


def _train(model, images):
    X, y, _, _ = images
    return model.fit(X, y, epochs=4, optimizer="adam", learning_rate=0.01, progress=False)


@pytest.fixture(scope="module")
def tiny(images):
    return _train(cnn(channels=(4, 8), pool_after=1, seed=0), images)


@pytest.fixture(scope="module")
def residual(images):
    block = Residual([Conv2D(4, 4, 3, padding=1), BatchNorm2D(4), ReLU(), Conv2D(4, 4, 3, padding=1), BatchNorm2D(4)])
    layers = [Conv2D(1, 4, 3, padding=1), BatchNorm2D(4), ReLU(), block, ReLU(), GlobalAvgPool2D(), Dense(4, 10)]
    return _train(Sequential(layers, seed=0), images)


def _fit(model, images, **kwargs):
    return AdaptivePruner(**{**FAST, **kwargs}).fit(model, *images)


def _group_consistent(model) -> bool:
    """A removed unit is masked in every slice of its group (filters, BatchNorm, every reader, both sides of a
    residual tie); an alive unit keeps its bias and BatchNorm entries and part of its filter (the filter's
    entries that read removed input channels are masked by those channels' groups)."""
    for groups, alive in zip(layer_groups(model), neuron_masks(model)):
        for piece in groups.slices:
            mask = model.masks[piece.param][piece.key]
            mask = np.ones_like(model.params[piece.param][piece.key]) if mask is None else mask
            view = unit_view(mask, piece, groups.size)
            if view[~alive].any() or (piece in groups.own and not view[alive].any(axis=1).all()):
                return False
            if piece in groups.own and piece.key != "W" and not view[alive].all():
                return False
    return True


def _check_result(pruner, model, images, floor):
    X_val = images[2]
    alive = [int(a.sum()) for a in neuron_masks(pruner.model_)]
    assert pruner.neuron_sparsity_ > 0 and min(alive) >= floor
    assert _group_consistent(pruner.model_)
    small = shrink(pruner.model_)
    assert [g.size for g in layer_groups(small)] == alive
    difference = np.abs(small.forward(X_val, training=False) - pruner.model_.forward(X_val, training=False))
    assert difference.max() <= 1e-6
    assert all(mask is None for m in model.masks for mask in m.values())  # the input model is left alone


def test_structured_cnn_removes_channels_down_to_the_floor(tiny, images):
    pruner = _fit(tiny, images, granularity="structured", neuron_multiple=2, tolerance=1.0, max_step=0.75)
    _check_result(pruner, tiny, images, floor=2)
    assert [int(a.sum()) for a in neuron_masks(pruner.model_)] == [2, 2]  # tolerance 1: only the floor stops it
    assert all(h["action"] == "accept" for h in pruner.history_[:-1])


@pytest.mark.parametrize("metric, fraction", [("bytes_shrunk", 0.5), ("flops_shrunk", 0.5)])
def test_cnn_budgets_are_met_in_the_cnn_costs(tiny, images, metric, fraction):
    X_val = images[2]
    dense_cost = resource_cost(tiny, metric, X=X_val)
    pruner = _fit(tiny, images, granularity="structured", budget=(metric, fraction * dense_cost))
    assert pruner.budget_met_ and pruner.cost_ <= fraction * dense_cost
    small = shrink(pruner.model_)
    expected = costs.bytes_dense(small) if metric == "bytes_shrunk" else costs.flops_per_sample(small, X=X_val)
    assert pruner.cost_ == expected
    _check_result(pruner, tiny, images, floor=1)


def test_unstructured_cnn_budget_in_csr_bytes(tiny, images):
    target = 0.6 * costs.bytes_csr(tiny)
    pruner = _fit(tiny, images, budget=("bytes_csr", target))
    assert pruner.budget_met_ and pruner.cost_ == costs.bytes_csr(pruner.model_) <= target
    assert pruner.sparsity_ > 0 and pruner.neuron_sparsity_ == 0


def test_residual_channels_go_together(residual, images):
    tied = [g for g in layer_groups(residual) if g.tied]
    assert len(tied) == 1 and len(tied[0].producers) == 2
    pruner = _fit(residual, images, granularity="structured", tolerance=1.0)
    _check_result(pruner, residual, images, floor=1)
    alive = neuron_masks(pruner.model_)[layer_groups(residual).index(tied[0])]
    assert 1 <= alive.sum() < tied[0].size  # the tie lost channels, on both sides of the add at once


@pytest.mark.parametrize("kwargs, model, error, name", [
    (dict(criterion="bn_scale", granularity="structured"), "mlp", ValueError, "criterion='bn_scale'"),
    (dict(criterion="apoz"), "cnn", ValueError, "criterion='apoz'"),
    (dict(budget=("macs", 10)), "cnn", ValueError, "budget\\[0\\]"),
    (dict(neuron_multiple=0), "cnn", ValueError, "neuron_multiple"),
    (dict(granularity="structured"), "not a model", TypeError, "model must be"),
])
def test_bad_arguments_name_themselves(tiny, images, kwargs, model, error, name):
    network = {"mlp": MLP([64, 8, 10]), "cnn": tiny, "not a model": "cnn"}[model]
    X, y, X_val, y_val = images
    if model == "mlp":
        X, X_val = X.reshape(len(X), -1), X_val.reshape(len(X_val), -1)
    with pytest.raises(error, match=name):
        AdaptivePruner(**kwargs).fit(network, X, y, X_val, y_val)


def test_cnn_inputs_must_be_images(tiny, images):
    X, y, X_val, y_val = images
    with pytest.raises(ValueError, match="X_train must be 4-D"):
        AdaptivePruner(granularity="structured").fit(tiny, X.reshape(len(X), -1), y, X_val, y_val)


def test_cnn_macs_need_an_image():
    with pytest.raises(ValueError, match="X=None"):
        costs.macs_per_sample(cnn())
    X = np.zeros((1, 8, 8, 1))
    assert costs.macs_per_sample(cnn(), X=X) == 9216 + 294912 + 294912 + 640
    model = cnn(channels=(4, 8), pool_after=1)
    model.set_mask(0, np.zeros_like(model.params[0]["W"]))
    assert costs.macs_per_sample(model, sparse=True, X=X) == 16 * 9 * 4 * 8 + 8 * 10
    # CSR of each W as (C_out, k*k*C_in) rows: 8 bytes per non-zero plus (rows + 1) int32 pointers;
    # biases and BatchNorm's gamma and beta dense (4 + 4 + 4, 8 + 8 + 8, 10 floats)
    assert costs.bytes_csr(model) == (4 + 1) * 4 + 288 * 8 + (8 + 1) * 4 + 80 * 8 + (10 + 1) * 4 + 46 * 4
