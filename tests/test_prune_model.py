"""Model-level pruning: granularity, scope, criteria, absolute targets, masks that hold in training."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adaprune_edu.nn import MLP
from adaprune_edu.pruning import (
    CRITERIA,
    compute_count,
    global_sparsity,
    layer_sparsities,
    neuron_masks,
    neuron_scores,
    neuron_sparsity,
    prune_model,
    prune_to_sparsity,
    set_neuron_mask,
    weight_scores,
)

SIZES = [6, 10, 8, 3]  # W sizes 60, 80, 24 -> 164 weights; 18 hidden neurons


@pytest.fixture
def model():
    return MLP(SIZES, seed=0, dtype="float64")


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6))
    y = rng.integers(0, 3, size=40)
    return X, y


def assert_neurons_removed(model):
    """Every removed neuron has its column, bias and outgoing row zero (weights and masks)."""
    for layer, alive in enumerate(neuron_masks(model)):
        dead = ~alive
        assert np.all(model.params[layer]["W"][:, dead] == 0)
        assert np.all(model.params[layer]["b"][dead] == 0)
        assert np.all(model.params[layer + 1]["W"][dead, :] == 0)
        if dead.any():
            assert np.all(model.masks[layer]["W"][:, dead] == 0)
            assert np.all(model.masks[layer]["b"][dead] == 0)
            assert np.all(model.masks[layer + 1]["W"][dead, :] == 0)


# ---------------------------------------------------------------------- unstructured
def test_unstructured_global_counts_and_magnitudes(model):
    weights = [p["W"].copy() for p in model.params]
    prune_model(model, 0.5)
    assert global_sparsity(model) == 82 / 164
    assert model.sparsity() == 82 / 164
    kept = np.concatenate([np.abs(w[m == 1]) for w, m in zip(weights, (ms["W"] for ms in model.masks))])
    pruned = np.concatenate([np.abs(w[m == 0]) for w, m in zip(weights, (ms["W"] for ms in model.masks))])
    assert pruned.max() <= kept.min()  # one global threshold
    assert all(ms["b"] is None for ms in model.masks)  # biases are not pruned


def test_unstructured_layer_scope_prunes_same_fraction_per_layer(model):
    prune_model(model, 0.3, scope="layer")
    assert layer_sparsities(model) == [18 / 60, 24 / 80, compute_count(0.3, 24) / 24]


def test_global_scope_takes_more_from_layers_with_small_weights(model):
    model.params[1]["W"] *= 0.01
    prune_model(model, 80)
    assert layer_sparsities(model) == [0.0, 1.0, 0.0]
    other = MLP(SIZES, seed=0, dtype="float64")
    other.params[1]["W"] *= 0.01
    prune_model(other, 0.5, scope="layer")
    assert layer_sparsities(other)[1] == 0.5


def test_twenty_percent_twice(model):
    prune_model(model, 0.2)
    assert global_sparsity(model) == 33 / 164  # round(32.8)
    first = [ms["W"].copy() for ms in model.masks]
    prune_model(model, 0.2)
    assert global_sparsity(model) == (33 + round(0.2 * 131)) / 164  # ~36%
    for before, ms in zip(first, model.masks):
        assert np.all(ms["W"][before == 0] == 0)


def test_per_layer_amounts(model):
    prune_model(model, None, scope=[0.5, 8, 0.0])
    assert layer_sparsities(model) == [0.5, 0.1, 0.0]
    with pytest.raises(ValueError, match=r"scope\[1\]=81 is larger than the 80 entries"):
        prune_model(MLP(SIZES), None, scope=[0.5, 81, 0.0])
    with pytest.raises(ValueError, match=r"scope is a list of 2 values; it needs one per dense layer \(3\)"):
        prune_model(model, None, scope=[0.5, 0.5])
    with pytest.raises(ValueError, match="given together with a per-layer scope list"):
        prune_model(model, 0.5, scope=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="amount=None is only allowed"):
        prune_model(model, None)


# ---------------------------------------------------------------------- structured
def test_structured_removes_column_bias_and_next_row(model):
    prune_model(model, 3, granularity="structured", scope="layer")
    assert [int((~a).sum()) for a in neuron_masks(model)] == [3, 3]
    assert_neurons_removed(model)
    assert not np.any(np.all(model.params[-1]["W"] == 0, axis=0))  # no output unit removed
    assert neuron_sparsity(model) == 6 / 18


def test_structured_magnitude_removes_smallest_norms(model):
    norms = np.linalg.norm(model.params[0]["W"], axis=0)
    prune_model(model, None, granularity="structured", scope=[4, 0])
    assert set(np.flatnonzero(~neuron_masks(model)[0])) == set(np.argsort(norms)[:4])
    assert neuron_masks(model)[1].all()


def test_structured_global_is_invariant_to_a_layer_scale(model):
    """Neuron scores are normalised per layer, so scaling one layer does not move the ranking."""
    scaled = model.copy()
    scaled.params[1]["W"] *= 100.0
    prune_model(model, 0.5, granularity="structured")
    prune_model(scaled, 0.5, granularity="structured")
    assert neuron_sparsity(model) == 9 / 18
    for a, b in zip(neuron_masks(model), neuron_masks(scaled)):
        np.testing.assert_array_equal(a, b)


def test_structured_repeated_and_unstructured_inside(model):
    prune_model(model, 0.3)
    prune_model(model, 0.5, granularity="structured", scope="layer")
    prune_model(model, 0.5, granularity="structured", scope="layer")
    # 10 -> 5 -> 3 (round(2.5) = 2 removed), 8 -> 4 -> 2
    assert [int(a.sum()) for a in neuron_masks(model)] == [3, 2]
    assert_neurons_removed(model)


def test_structured_global_can_empty_a_layer_and_the_output_becomes_constant(model):
    """Documented behaviour: a global neuron ranking reserves no neuron per layer."""
    from adaprune_edu.pruning.surgery import shrink

    # Normalised by each layer's mean: layer 0 -> 0.5 (x5) and 1.5 (x5), layer 1 -> 1.0 (x8).
    scores = [np.tile([0.5, 1.5], 5), np.full(8, 0.3)]
    prune_model(model, 13, granularity="structured", scores=scores)
    assert [int(a.sum()) for a in neuron_masks(model)] == [5, 0]
    X = np.random.default_rng(1).normal(size=(20, 6))
    logits = model.forward(X)
    np.testing.assert_array_equal(logits, np.broadcast_to(model.params[-1]["b"], logits.shape))
    small = shrink(model)
    assert small.layer_sizes == [6, 1, 1, 3]  # layer 0 feeds nothing any more: cut too
    np.testing.assert_allclose(small.forward(X), logits, atol=1e-12)
    # The same count per layer never empties a layer.
    other = MLP(SIZES, seed=0, dtype="float64")
    prune_model(other, 0.9, granularity="structured", scope="layer")
    assert [int(a.sum()) for a in neuron_masks(other)] == [1, 1]


def test_model_helpers_importable_from_model_and_package():
    """model.py re-exports what moved to model_masks and the registry (notebooks import either path)."""
    import adaprune_edu.pruning as package
    from adaprune_edu.pruning import model, model_masks, registry

    for name in model.__all__:
        assert getattr(model, name) is getattr(package, name)
    for name in model_masks.__all__:
        assert getattr(model, name) is getattr(model_masks, name)
    for name in ("CRITERIA", "weight_scores", "neuron_scores"):
        assert getattr(model, name) is getattr(registry, name)


def test_structured_needs_hidden_layers():
    with pytest.raises(ValueError, match="this model has no hidden layer"):
        prune_model(MLP([4, 3]), 0.5, granularity="structured")


# ---------------------------------------------------------------------- hybrid
def test_hybrid_single_amount_matches_unstructured_weight_sparsity(model):
    prune_model(model, 0.6, granularity="hybrid")
    assert neuron_sparsity(model) == compute_count(0.3, 18) / 18  # structured_fraction 0.5
    assert global_sparsity(model) == compute_count(0.6, 164) / 164
    assert_neurons_removed(model)


def test_hybrid_pair_and_layer_scope(model):
    prune_model(model, (0.5, 0.5), granularity="hybrid", scope="layer")
    assert [int(a.sum()) for a in neuron_masks(model)] == [5, 4]
    assert_neurons_removed(model)
    # the weight stage takes half of what each layer still has after the neurons went
    remaining = [30, 20, 12]  # 6*5, 5*4, 4*3 surviving entries
    unpruned = [int(np.sum(ms["W"] != 0)) for ms in model.masks]
    assert unpruned == [r - compute_count(0.5, r) for r in remaining]


def test_hybrid_errors(model):
    with pytest.raises(ValueError, match="pass one number or a pair"):
        prune_model(model, (0.1, 0.2, 0.3), granularity="hybrid")
    with pytest.raises(ValueError, match="not a list"):
        prune_model(model, None, granularity="hybrid", scope=[0.1, 0.2])
    with pytest.raises(TypeError, match="must be a float fraction"):
        prune_model(model, 3, granularity="hybrid")
    with pytest.raises(ValueError, match=r"structured_fraction=1.5 must be <= 1"):
        prune_model(model, 0.5, granularity="hybrid", structured_fraction=1.5)


# ---------------------------------------------------------------------- absolute targets
def test_prune_to_sparsity_is_absolute_and_never_unprunes(model):
    prune_to_sparsity(model, 0.5)
    assert global_sparsity(model) == 0.5
    prune_to_sparsity(model, 0.5)
    assert global_sparsity(model) == 0.5
    prune_to_sparsity(model, 0.2)  # below: nothing changes
    assert global_sparsity(model) == 0.5
    prune_to_sparsity(model, 0.9)
    assert global_sparsity(model) == round(0.9 * 164) / 164


def test_prune_to_sparsity_layer_structured_and_hybrid(model):
    m1 = prune_to_sparsity(model.copy(), 0.5, scope="layer")
    assert layer_sparsities(m1) == [0.5, 0.5, 0.5]
    m2 = prune_to_sparsity(model.copy(), 0.5, granularity="structured")
    assert neuron_sparsity(m2) == 0.5
    m3 = prune_to_sparsity(model.copy(), None, granularity="structured", scope=[0.2, 0.5])
    assert [int((~a).sum()) for a in neuron_masks(m3)] == [2, 4]
    m4 = prune_to_sparsity(model.copy(), 0.8, granularity="hybrid")
    assert neuron_sparsity(m4) == round(0.4 * 18) / 18
    assert global_sparsity(m4) == round(0.8 * 164) / 164
    with pytest.raises(ValueError, match=r"target=1.2 must be a sparsity in \[0, 1\]"):
        prune_to_sparsity(model, 1.2)
    with pytest.raises(TypeError, match="target='most'"):
        prune_to_sparsity(model, "most")


# ---------------------------------------------------------------------- criteria
@pytest.mark.parametrize("criterion", CRITERIA)
def test_every_criterion_prunes_exact_neuron_counts(model, data, criterion):
    X, y = data
    prune_model(model, 0.5, criterion=criterion, granularity="structured", scope="layer", X=X, y=y)
    assert [int(a.sum()) for a in neuron_masks(model)] == [5, 4]
    assert_neurons_removed(model)


@pytest.mark.parametrize("criterion", ["magnitude", "gradient", "taylor", "random"])
def test_weight_criteria_prune_lowest_scores(model, data, criterion):
    X, y = data
    scores = weight_scores(model, criterion, X=X, y=y, seed=3)
    prune_model(model, 0.4, criterion=criterion, X=X, y=y, seed=3)
    all_scores = np.concatenate([s.ravel() for s in scores])
    all_masks = np.concatenate([ms["W"].ravel() for ms in model.masks])
    assert (all_masks == 0).sum() == compute_count(0.4, 164)
    assert all_scores[all_masks == 0].max() <= all_scores[all_masks == 1].min()


def test_criterion_errors(model, data):
    X, y = data
    with pytest.raises(ValueError, match="criterion='gradient' needs data: pass X and y"):
        prune_model(model, 0.5, criterion="gradient")
    with pytest.raises(ValueError, match="criterion='taylor' needs data"):
        prune_model(model, 0.5, criterion="taylor", X=X)
    with pytest.raises(ValueError, match="criterion='apoz' needs data: pass X"):
        prune_model(model, 0.5, criterion="apoz", granularity="structured")
    with pytest.raises(ValueError, match="criterion='activation' scores whole neurons"):
        prune_model(model, 0.5, criterion="activation", X=X)
    with pytest.raises(ValueError, match="criterion='size' is not allowed"):
        prune_model(model, 0.5, criterion="size")
    with pytest.raises(ValueError, match="granularity='channel' is not allowed"):
        prune_model(model, 0.5, granularity="channel")
    with pytest.raises(ValueError, match="scope='local' is not allowed"):
        prune_model(model, 0.5, scope="local")
    with pytest.raises(ValueError, match=r"amount=1.5 must be a float in \[0, 1\]"):
        prune_model(model, 1.5)
    assert global_sparsity(model) == 0.0  # nothing changed by the failed calls


def test_random_criterion_is_seeded(model):
    a = prune_model(model.copy(), 0.5, criterion="random", seed=1)
    b = prune_model(model.copy(), 0.5, criterion="random", seed=1)
    c = prune_model(model.copy(), 0.5, criterion="random", seed=2)
    np.testing.assert_array_equal(a.masks[0]["W"], b.masks[0]["W"])
    assert not np.array_equal(a.masks[0]["W"], c.masks[0]["W"])


def test_neuron_scores_apoz_is_one_minus_apoz(model, data):
    X, _ = data
    from adaprune_edu.pruning import apoz

    for s, a in zip(neuron_scores(model, "apoz", X=X), apoz(model, X)):
        np.testing.assert_allclose(s, 1 - a)


# ---------------------------------------------------------------------- neuron masks
def test_set_neuron_mask_and_errors(model):
    alive = np.ones(10, dtype=bool)
    alive[[1, 4]] = False
    set_neuron_mask(model, 0, alive)
    np.testing.assert_array_equal(neuron_masks(model)[0], alive)
    assert_neurons_removed(model)
    with pytest.raises(ValueError, match=r"neurons \[1\] of hidden layer 0, which are already removed"):
        revive = alive.copy()
        revive[1] = True
        set_neuron_mask(model, 0, revive)
    with pytest.raises(ValueError, match=r"alive has shape \(8,\); hidden layer 0 has 10 neurons"):
        set_neuron_mask(model, 0, np.ones(8, dtype=bool))
    with pytest.raises(ValueError, match="layer=2 is not a hidden layer of this model; allowed: 0 to 1"):
        set_neuron_mask(model, 2, np.ones(3, dtype=bool))
    with pytest.raises(TypeError, match="layer='0' must be an int"):
        set_neuron_mask(model, "0", alive)


def test_neuron_masks_ignore_unstructured_holes(model):
    holes = np.ones((6, 10))
    holes[:5, :] = 0  # every column keeps one entry
    model.set_mask(0, holes)
    outgoing = np.ones((10, 8))
    outgoing[3, :] = 0  # neuron 3's outgoing row is empty, but its column and bias are not
    model.set_mask(1, outgoing)
    assert all(a.all() for a in neuron_masks(model))
    assert neuron_sparsity(model) == 0.0


# ---------------------------------------------------------------------- masks hold during training
@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
@pytest.mark.parametrize("granularity", ["unstructured", "structured", "hybrid"])
def test_pruned_stays_zero_after_fit(data, optimizer, granularity):
    X, y = data
    model = MLP(SIZES, seed=1)
    model.fit(X, y, epochs=2, optimizer=optimizer, progress=False)  # optimizer state is non-zero
    prune_model(model, 0.6, granularity=granularity)
    zeros = [p["W"] == 0 for p in model.params]
    model.fit(X, y, epochs=3, optimizer=model.optimizer_, progress=False)
    for p, z in zip(model.params, zeros):
        assert np.all(p["W"][z] == 0)
    assert_neurons_removed(model)


def test_magnitude_beats_random_on_digits(digits):
    """A test that can fail: on a trained network, magnitude keeps far more accuracy than random.

    (A narrower network than the course default keeps this test fast on a busy machine.)
    """
    model = MLP([64, 64, 32, 10], seed=0).fit(digits.X_train, digits.y_train, epochs=10, progress=False)
    by_magnitude = prune_model(model.copy(), 0.85)
    by_random = prune_model(model.copy(), 0.85, criterion="random")
    assert by_magnitude.score(digits.X_val, digits.y_val) > by_random.score(digits.X_val, digits.y_val) + 0.2
    neurons_mag = prune_model(model.copy(), 0.6, granularity="structured", scope="layer")
    neurons_rand = prune_model(model.copy(), 0.6, criterion="random", granularity="structured", scope="layer")
    assert neurons_mag.score(digits.X_val, digits.y_val) > neurons_rand.score(digits.X_val, digits.y_val) + 0.1


# ---------------------------------------------------------------------- own scores, failures, properties
def test_own_scores_replace_the_criterion(model):
    weights_scores = [np.arange(p["W"].size, dtype=float).reshape(p["W"].shape) for p in model.params]
    prune_model(model, None, scope=[3, 0, 0], scores=weights_scores)
    assert model.masks[0]["W"].ravel()[:3].tolist() == [0, 0, 0]
    assert model.masks[0]["W"].ravel()[3:].all()
    structured = MLP(SIZES, seed=0)
    prune_model(structured, 2, granularity="structured", scope="layer", scores=[-np.arange(10.0), np.arange(8.0)])
    assert np.flatnonzero(~neuron_masks(structured)[0]).tolist() == [8, 9]
    assert np.flatnonzero(~neuron_masks(structured)[1]).tolist() == [0, 1]


def test_own_scores_errors(model):
    with pytest.raises(ValueError, match=r"one array per hidden layer.* \(2 arrays\); got a list of 1"):
        prune_model(model, 1, granularity="structured", scores=[np.ones(10)])
    with pytest.raises(ValueError, match=r"scores\[1\] has shape \(7,\); it must match the layer's shape \(8,\)"):
        prune_model(model, 1, granularity="structured", scores=[np.ones(10), np.ones(7)])
    with pytest.raises(ValueError, match=r"scores\[0\] contains NaN"):
        prune_model(model, 1, scores=[np.full((6, 10), np.nan), np.ones((10, 8)), np.ones((8, 3))])
    with pytest.raises(ValueError, match="scores cannot be used with granularity='hybrid'"):
        prune_model(model, 0.5, granularity="hybrid", scores=[])


def test_failed_hybrid_leaves_the_model_untouched(model):
    before = model.get_state()
    with pytest.raises(ValueError, match="larger than"):
        prune_model(model, (0.5, 10_000), granularity="hybrid")  # fails only in the weight stage
    for old, new in zip(before["params"], model.params):
        np.testing.assert_array_equal(old["W"], new["W"])
    assert all(ms["W"] is None and ms["b"] is None for ms in model.masks)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["unstructured", "structured", "hybrid"]), st.floats(0, 0.6),
                          st.sampled_from(["global", "layer"])), min_size=1, max_size=4))
def test_property_model_pruning_is_monotone_and_structural(steps):
    model = MLP([5, 7, 6, 3], seed=0)
    for granularity, amount, scope in steps:
        zeros = [ms["W"] == 0 if ms["W"] is not None else np.zeros(p["W"].shape, dtype=bool)
                 for ms, p in zip(model.masks, model.params)]
        dead = [~a for a in neuron_masks(model)]
        prune_model(model, amount, granularity=granularity, scope=scope)
        for z, ms in zip(zeros, model.masks):
            assert ms["W"] is None or np.all(ms["W"][z] == 0)  # pruned weights never return
        for d, a in zip(dead, neuron_masks(model)):
            assert not np.any(a[d])  # removed neurons never return
        assert_neurons_removed(model)
        assert not np.any(np.all(model.params[-1]["W"] == 0, axis=0) & (model.masks[-1]["W"] is None))


def test_untouched_dense_layers_stay_mask_free(model):
    prune_model(model, 0.0)
    assert all(ms["W"] is None for ms in model.masks)
    prune_model(model, None, scope=[0, 5, 0])
    assert [ms["W"] is None for ms in model.masks] == [True, False, True]
