"""Group criteria on tiny literal networks, each checked against numbers computed by hand."""
import numpy as np
import pytest

from adaprune_edu.nn import MLP, Sequential
from adaprune_edu.nn.layers import Conv2D, Dense, GlobalAvgPool2D, ReLU, Residual
from adaprune_edu.nn.presets import cnn
from adaprune_edu.pruning import criteria as C
from adaprune_edu.pruning import neuron_masks, prune_model
from adaprune_edu.pruning.groups import layer_groups
from adaprune_edu.pruning.registry import (
    CRITERIA,
    DATA_DRIVEN,
    GROUP_ONLY,
    REGISTRY,
    Criterion,
    group_scores,
)
from adaprune_edu.pruning.regularizers import BatchNormL1Penalty


def _tiny_mlp():
    """1 -> 2 -> 2. Sample x=1: z = (3, -0.5), a = (3, 0), logits (1.5, -1.5).
    Sample x=-1: z = (-1, 1.5), a = (0, 1.5), logits (1.5, 3)."""
    model = MLP([1, 2, 2], dtype="float64")
    model.params[0]["W"][:] = [[2.0, -1.0]]
    model.params[0]["b"][:] = [1.0, 0.5]
    model.params[1]["W"][:] = [[0.5, -0.5], [1.0, 2.0]]
    model.params[1]["b"][:] = 0.0
    return model


X2, Y2 = np.array([[1.0], [-1.0]]), np.array([1, 0])
# softmax cross-entropy: sample 1 has dL/dlogits = (q, -q) with q = 1 / (1 + e^-3);
# sample 2 has (-r, r) with r = 1 / (1 + e^-1.5)
Q, R = 1 / (1 + np.exp(-3.0)), 1 / (1 + np.exp(-1.5))


def test_group_taylor_is_the_squared_sum_of_w_times_g_over_the_group():
    model = _tiny_mlp()
    # one sample (x = 1): dL/da0 = 0.5 q + 0.5 q = q; neuron 0's group sum w g = 2 q + 1 q = z0 q = 3 q
    (scores,) = group_scores(model, "taylor", X=X2[:1], y=Y2[:1])
    np.testing.assert_allclose(scores, [(3 * Q) ** 2, 0.0], rtol=1e-12)
    # two samples, one batch: the gradient of the batch-mean loss; neuron 1 gets a1 dL/da1 = 1.5 (-r + 2 r)
    (scores,) = group_scores(model, "taylor", X=X2, y=Y2, batch_size=2)
    np.testing.assert_allclose(scores, [(3 * Q / 2) ** 2, (1.5 * R / 2) ** 2], rtol=1e-12)
    # two batches of one: the per-batch squares are averaged
    (scores,) = group_scores(model, "taylor", X=X2, y=Y2, batch_size=1)
    np.testing.assert_allclose(scores, [(3 * Q) ** 2 / 2, (1.5 * R) ** 2 / 2], rtol=1e-12)


def test_activation_taylor_is_per_sample_then_averaged():
    model = _tiny_mlp()
    (scores,) = group_scores(model, "taylor_activation", X=X2, y=Y2, batch_size=2)
    np.testing.assert_allclose(scores, [3 * Q / 2, 1.5 * R / 2], rtol=1e-12)
    # batch size does not matter: samples are scored one by one
    (again,) = group_scores(model, "taylor_activation", X=X2, y=Y2, batch_size=1)
    np.testing.assert_allclose(again, scores, rtol=1e-12)


def test_activation_taylor_does_not_cancel_across_samples_where_the_batch_version_does():
    """a * dL/da = +1.5 r on one sample and -1.5 r on the other: |mean| is 0, mean |.| is not."""
    model = MLP([1, 1, 2], dtype="float64")
    model.params[0]["W"][:] = [[1.0]]
    model.params[1]["W"][:] = [[1.0, -1.0]]
    X, y = np.array([[1.5], [1.5]]), np.array([0, 1])  # same input, opposite labels
    (per_sample,) = group_scores(model, "taylor_activation", X=X, y=y, batch_size=2)
    (batch,) = C.taylor_neurons(model, X, y, batch_size=2)
    p = 1 / (1 + np.exp(-3.0))  # logits (1.5, -1.5): dL/da = 2 (p - 1) for y=0 and 2 p... per sample
    expected = np.mean([abs(1.5 * 2 * (p - 1)), abs(1.5 * 2 * p)])
    np.testing.assert_allclose(per_sample, [expected], rtol=1e-12)
    np.testing.assert_allclose(batch, [abs(1.5 * (2 * (p - 1) + 2 * p) / 2)], rtol=1e-12)
    assert batch[0] < per_sample[0]


def _one_by_one_cnn():
    """Conv 1x1 with filters +1 and -1, ReLU, global average pool, dense: channel 0 = relu(x), 1 = relu(-x)."""
    model = Sequential([Conv2D(1, 2, 1), ReLU(), GlobalAvgPool2D(), Dense(2, 2)], dtype="float64")
    model.params[0]["W"][:] = np.array([1.0, -1.0]).reshape(1, 1, 1, 2)
    X = np.array([[[1, -2], [3, 0]], [[-1, -1], [2, 2]]], dtype=np.float64)[..., None]
    return model, X


def test_mean_activation_and_apoz_per_channel():
    model, X = _one_by_one_cnn()
    # channel 0 = relu(x): (1, 0, 3, 0) and (0, 0, 2, 2); channel 1 = relu(-x): (0, 2, 0, 0) and (1, 1, 0, 0)
    (activation,) = group_scores(model, "activation", X=X)
    np.testing.assert_allclose(activation, [8 / 8, 4 / 8])
    (apoz_score,) = group_scores(model, "apoz", X=X)
    np.testing.assert_allclose(apoz_score, [1 - 4 / 8, 1 - 5 / 8])


def test_filter_norms_of_li_et_al():
    model, _ = _one_by_one_cnn()
    model.params[0]["W"][:] = np.array([3.0, -4.0]).reshape(1, 1, 1, 2)
    np.testing.assert_allclose(group_scores(model, "magnitude", n=1)[0], [3.0, 4.0])
    conv = cnn((2, 2, 2), seed=0, dtype="float64")
    W = conv.params[0]["W"]
    np.testing.assert_allclose(group_scores(conv, "magnitude", n=1)[0], np.abs(W).sum(axis=(0, 1, 2)))
    np.testing.assert_allclose(group_scores(conv, "magnitude", n=2)[0], np.sqrt((W ** 2).sum(axis=(0, 1, 2))))


def test_tied_channels_score_both_producers_filters():
    model = Sequential([Conv2D(1, 2, 1), Residual([Conv2D(2, 2, 1)]), GlobalAvgPool2D(), Dense(2, 2)],
                       dtype="float64")
    model.params[0]["W"][:] = np.array([3.0, 0.0]).reshape(1, 1, 1, 2)
    model.params[1]["W"][:] = np.array([[0.0, 4.0], [0.0, 0.0]]).reshape(1, 1, 2, 2)
    (tied,) = layer_groups(model)
    assert tied.tied
    # channel 0: filters (3) and (0, 0); channel 1: (0) and (4, 0)
    np.testing.assert_allclose(group_scores(model, "magnitude", n=2)[0], [3.0, 4.0])


def test_bn_scale_and_its_penalty():
    model = cnn((3, 2, 2), seed=0, dtype="float64")
    model.params[1]["gamma"][:] = [0.5, -2.0, 0.1]
    assert np.allclose(group_scores(model, "bn_scale")[0], [0.5, 2.0, 0.1])
    prune_model(model, 1, criterion="bn_scale", granularity="structured")
    assert neuron_masks(model)[0].tolist() == [True, True, False]
    with pytest.raises(ValueError, match=r"criterion='bn_scale' needs a BatchNorm2D after Dense params\[0\]"):
        group_scores(MLP([3, 4, 2]), "bn_scale")
    value, grads = BatchNormL1Penalty(0.01)(model.params)
    assert np.isclose(value, 0.01 * sum(np.abs(p["gamma"]).sum() for p in model.params if "gamma" in p))
    assert grads[0] is None and np.allclose(grads[1]["gamma"], 0.01 * np.sign(model.params[1]["gamma"]))


def test_slimming_training_drives_gamma_down():
    """Liu et al.'s point: the L1 term pulls the scale factors towards zero during training."""
    from adaprune_edu.data import load_dataset

    data = load_dataset("digits", images=True)
    X, y = data.X_train[:256], data.y_train[:256]
    plain = cnn((4, 4, 4), seed=0).fit(X, y, epochs=2, batch_size=32, progress=False)
    slim = cnn((4, 4, 4), seed=0).fit(X, y, epochs=2, batch_size=32, progress=False,
                                        penalty=BatchNormL1Penalty(0.3))

    def total(model):
        return sum(float(np.abs(p["gamma"]).sum()) for p in model.params if "gamma" in p)

    assert total(slim) < 0.8 * total(plain)  # measured: 8.8 vs 11.9


def test_registry_derives_its_lists_and_takes_a_new_entry(monkeypatch):
    assert GROUP_ONLY == ("activation", "apoz", "taylor_activation", "bn_scale")
    assert DATA_DRIVEN == ("gradient", "taylor", "activation", "apoz", "taylor_activation")
    assert "bn_scale" not in CRITERIA and CRITERIA[:6] == ("magnitude", "gradient", "taylor", "activation", "apoz",
                                                           "random")
    first = Criterion("first", "", None, lambda model, groups, options: [-np.arange(g.size, dtype=float)
                                                                        for g in groups], "test")
    monkeypatch.setitem(REGISTRY, "first", first)
    model = MLP([3, 4, 2])
    prune_model(model, 1, criterion="first", granularity="structured")
    assert neuron_masks(model)[0].tolist() == [True, True, True, False]
    with pytest.raises(ValueError, match="criterion='first' scores whole neurons"):
        prune_model(model, 1, criterion="first")


@pytest.mark.parametrize("criterion", [c for c in REGISTRY if c != "bn_scale"] + ["bn_scale"])
def test_every_criterion_prunes_a_cnn_and_a_residual_network(criterion):
    data_X = np.random.default_rng(0).normal(size=(16, 8, 8, 1))
    data_y = np.arange(16) % 10
    model = cnn((4, 6, 8), seed=1)
    prune_model(model, 0.5, criterion=criterion, granularity="structured", scope="layer", X=data_X, y=data_y)
    assert [int(a.sum()) for a in neuron_masks(model)] == [2, 3, 4]
