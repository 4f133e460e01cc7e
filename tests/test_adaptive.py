"""The adaptive controller: accept / roll back / stop, limits, budgets, and adaptivity to the task."""
import numpy as np
import pytest

from adaprune_edu.data import load_dataset
from adaprune_edu.nn import MLP
from adaprune_edu.pruning.adaptive import AdaptivePruner
from adaprune_edu.pruning.model import global_sparsity, neuron_masks, neuron_sparsity
from adaprune_edu.pruning.paired import split_validation
from adaprune_edu.pruning.report import resource_cost
from adaprune_edu.pruning.surgery import shrink

FAST = dict(max_epochs=12, final_epochs=2)


@pytest.fixture(scope="module")
def digits():
    data = load_dataset("digits", seed=0)
    model = MLP([64, 32, 16, 10], seed=0)
    model.fit(data.X_train, data.y_train, epochs=10, progress=False)
    return model, data


def fit(model, data, **kwargs):
    return AdaptivePruner(**{**FAST, **kwargs}).fit(model, data.X_train, data.y_train, data.X_val, data.y_val)


@pytest.fixture(scope="module")
def unstructured(digits):
    model, data = digits
    return fit(model, data)


def test_constructor_only_stores_arguments():
    pruner = AdaptivePruner(tolerance=-3, criterion="nonsense")  # validated in fit, not here
    assert pruner.tolerance == -3 and pruner.criterion == "nonsense"
    assert pruner.get_params()["granularity"] == "unstructured"
    assert "tolerance=-3" in repr(pruner) and "granularity" not in repr(pruner)


def test_fit_returns_self_and_leaves_the_input_model_alone(digits, unstructured):
    model, data = digits
    assert isinstance(unstructured.model_, MLP) and unstructured.model_ is not model
    assert all(m["W"] is None for m in model.masks)
    assert unstructured.dense_val_accuracy_ == model.score(data.X_val, data.y_val)
    assert unstructured.sparsity_ == global_sparsity(unstructured.model_) > 0.3
    assert unstructured.epochs_used_ <= 12
    assert unstructured.val_accuracy_ == unstructured.model_.score(data.X_val, data.y_val)


def test_history_records_follow_the_rules(unstructured):
    pruner = unstructured
    history = pruner.history_
    assert history[-1]["action"] == "stop" and history[-1]["reason"] == pruner.stop_reason_
    assert [h["step"] for h in history] == list(range(1, len(history) + 1))
    assert {h["action"] for h in history[:-1]} <= {"accept", "rollback"}
    assert pruner.se_margin_ == 0.5  # "auto" for unstructured
    for h in history[:-1]:
        assert set(h) >= {"step", "target", "sparsity", "layer_sparsity", "val_accuracy", "val_drop", "val_drop_se",
                          "action", "epochs"}
        assert len(h["layer_sparsity"]) == 3
        # The decision is the one the history shows: drop + margin x paired standard error within tolerance.
        assert (h["val_drop"] + 0.5 * h["val_drop_se"] <= pruner.tolerance + 1e-12) == (h["action"] == "accept")
        assert h["val_drop"] == pytest.approx(pruner.dense_val_accuracy_ - h["val_accuracy"])
        assert h["sparsity"] == pytest.approx(h["target"], abs=1e-3)
    # Step sizes: grow after an accept (up to max_step), shrink after a rollback.
    for before, after in zip(history[:-2], history[1:-1]):
        expected = (min(before["amount"] * 1.5, 0.75) if before["action"] == "accept"
                    else before["amount"] * 0.5)
        assert after["amount"] == pytest.approx(expected)
    # The result has the masks of the last accepted step (final fine-tuning keeps masks).
    accepted = [h for h in history if h["action"] == "accept"]
    assert pruner.sparsity_ == pytest.approx(accepted[-1]["sparsity"])
    assert sum(h["epochs"] for h in history) == pruner.epochs_used_
    assert "step  amount" in pruner.history_text() and "val drop (se)" in pruner.history_text()
    # The promise on the decision data holds for the result, final fine-tuning included.
    assert pruner.val_drop_ + 0.5 * pruner.val_drop_se_ <= pruner.tolerance + 1e-12
    assert history[-1]["kept_step"] == accepted[-1]["step"] and history[-1]["confirm_drop"] is None


def test_rollback_restores_the_last_good_state(digits):
    model, data = digits
    # Zero tolerance and huge steps: early steps fail and are rolled back.
    pruner = fit(model, data, tolerance=0.0, initial_step=0.9, max_step=0.9, min_step=0.3, recovery_rounds=0)
    actions = [h["action"] for h in pruner.history_]
    assert "rollback" in actions
    accepted = [h["sparsity"] for h in pruner.history_ if h["action"] == "accept"]
    assert pruner.sparsity_ == pytest.approx(accepted[-1] if accepted else 0.0)
    assert pruner.stop_reason_ == "step below min_step"


def test_limits_max_steps_and_epochs(digits):
    model, data = digits
    pruner = fit(model, data, max_steps=2)
    assert pruner.n_steps_ == 2 and pruner.stop_reason_ == "max_steps"
    pruner = fit(model, data, max_epochs=0, final_epochs=0)
    assert pruner.epochs_used_ == 0


def test_same_settings_end_sparser_on_an_easy_task_than_on_a_hard_one():
    sparsities = {}
    for name in ("easy", "hard"):
        data = load_dataset(name, seed=0)
        model = MLP(data.default_layer_sizes(hidden=(64, 32)), seed=0)
        model.fit(data.X_train, data.y_train, epochs=10, progress=False)
        pruner = AdaptivePruner(**FAST).fit(model, data.X_train, data.y_train, data.X_val, data.y_val)
        sparsities[name] = pruner.sparsity_
    assert sparsities["easy"] > sparsities["hard"] + 0.15


@pytest.mark.parametrize("granularity, criterion", [("structured", "taylor"), ("hybrid", "apoz")])
def test_structured_and_hybrid_remove_neurons_and_shrink_exactly(digits, granularity, criterion):
    model, data = digits
    pruner = fit(model, data, granularity=granularity, criterion=criterion, se_margin=0.0)
    assert pruner.neuron_sparsity_ == neuron_sparsity(pruner.model_) > 0.2
    small = shrink(pruner.model_)
    assert sum(small.layer_sizes[1:-1]) < 48
    np.testing.assert_array_equal(small.predict(data.X_val), pruner.model_.predict(data.X_val))
    if granularity == "hybrid":
        assert pruner.sparsity_ > pruner.neuron_sparsity_ * 0.5


def test_neuron_multiple_keeps_hidden_widths_multiples(digits):
    model, data = digits
    pruner = fit(model, data, granularity="structured", neuron_multiple=4)
    widths = [int(alive.sum()) for alive in neuron_masks(pruner.model_)]
    assert all(w % 4 == 0 for w in widths) and widths != [32, 16]
    # Every step, accepted or not, was rounded: W[0]'s kept columns are hidden layer 1's neurons.
    assert all(round((1 - h["layer_sparsity"][0]) * 32) % 4 == 0 for h in pruner.history_)
    assert shrink(pruner.model_).layer_sizes[1:-1] == widths


def test_sensitivity_allocation_gives_layers_different_budgets(digits):
    model, data = digits
    pruner = fit(model, data, allocation="sensitivity")
    assert len(pruner.allowances_) == 3
    sparsities = pruner.history_[-1]["layer_sparsity"]
    assert max(sparsities) - min(sparsities) > 0.05


def test_budget_mode_gets_under_the_budget(digits):
    model, data = digits
    dense_bytes = resource_cost(model, "bytes_csr")
    limit = 0.1 * dense_bytes
    pruner = fit(model, data, budget=("bytes_csr", limit), tolerance=0.0)
    assert pruner.budget_met_ and pruner.cost_ <= limit
    assert pruner.cost_ == resource_cost(pruner.model_, "bytes_csr")
    assert pruner.stop_reason_ == "budget met"
    assert all(h["cost"] is not None for h in pruner.history_)
    # Steps are capped so as not to overshoot: the result is close to the budget, not far below it.
    assert pruner.cost_ > 0.8 * limit


@pytest.mark.parametrize("metric, granularity", [("flops_shrunk", "structured"), ("flops_sparse", "unstructured"),
                                                 ("bytes_shrunk", "hybrid")])
def test_budget_mode_for_flops_and_shrunk_bytes(digits, metric, granularity):
    model, data = digits
    limit = 0.3 * resource_cost(model, metric)
    pruner = fit(model, data, budget=(metric, limit), granularity=granularity)
    assert pruner.budget_met_ and pruner.cost_ == resource_cost(pruner.model_, metric) <= limit
    assert pruner.stop_reason_ == "budget met"


@pytest.mark.parametrize("granularity", ["structured", "unstructured", "hybrid"])
def test_a_step_that_rounds_to_zero_still_removes_one_unit(digits, granularity):
    """5% of 8 neurons rounds to 0: the step removes one neuron (of the widest layer) instead of nothing."""
    _, data = digits
    model = MLP([64, 8, 4, 10], seed=0)
    pruner = AdaptivePruner(granularity=granularity, tolerance=1.0, initial_step=0.001, min_step=0.001,
                            max_step=0.001, growth=1.0, max_steps=4, finetune_epochs=1, max_epochs=1, final_epochs=0)
    pruner.fit(model, data.X_train, data.y_train, data.X_val, data.y_val)
    steps = pruner.history_[:-1]
    assert [h["action"] for h in steps] == ["accept"] * 4
    if granularity != "unstructured":
        removed = [round(h["neuron_sparsity"] * 12) for h in steps]
        assert removed == [1, 2, 3, 4]
        assert [int(a.sum()) for a in neuron_masks(pruner.model_)] == [4, 4]  # always the widest layer
    if granularity != "structured":
        sparsities = [0.0] + [h["sparsity"] for h in steps]
        assert all(b > a for a, b in zip(sparsities, sparsities[1:]))


def test_latency_budget_stops_at_once_when_met_and_forces_steps_when_not(digits):
    model, data = digits
    generous = fit(model, data, budget=("latency_ms", 1e6))
    assert generous.n_steps_ == 0 and generous.stop_reason_ == "budget met" and generous.sparsity_ == 0.0
    impossible = fit(model, data, budget=("latency_ms", 1e-9), tolerance=0.0, max_steps=3, max_epochs=4,
                     se_margin=0.0)
    assert impossible.budget_met_ is False and impossible.stop_reason_ == "max_steps"
    assert impossible.n_steps_ == 3 and impossible.cost_ > 1e-9
    actions = [h["action"] for h in impossible.history_[:-1]]
    # At min_step, a step that breaks the tolerance is taken anyway: the budget must be met.
    assert set(actions) <= {"accept", "rollback", "force"} and impossible.sparsity_ > 0


def test_global_allocation_adapts_per_layer_budgets(unstructured):
    """One global ranking: layers end at different sparsities, and the split changes step by step."""
    assert unstructured.allocation_ == "global"
    accepted = [h["layer_sparsity"] for h in unstructured.history_ if h["action"] == "accept"]
    final = accepted[-1]
    assert max(final) - min(final) > 0.05
    shares = [np.array(layers) / max(sum(layers), 1e-12) for layers in accepted]
    assert any(not np.allclose(a, b, atol=1e-3) for a, b in zip(shares, shares[1:]))


@pytest.mark.parametrize("kwargs", [dict(), dict(granularity="structured", criterion="random", tolerance=0.3)])
def test_deterministic(digits, kwargs):
    model, data = digits
    a, b = fit(model, data, max_epochs=6, **kwargs), fit(model, data, max_epochs=6, **kwargs)
    assert a.history_ == b.history_
    for pa, pb in zip(a.model_.params, b.model_.params):
        np.testing.assert_array_equal(pa["W"], pb["W"])
        np.testing.assert_array_equal(pa["b"], pb["b"])
    if kwargs:  # the seed is what decides: another seed, other random neurons
        c = fit(model, data, max_epochs=6, seed=1, **kwargs)
        assert any(not np.array_equal(x, y) for x, y in zip(neuron_masks(a.model_), neuron_masks(c.model_)))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(tolerance=1.5), ValueError, "tolerance"),
    (dict(tolerance="1%"), TypeError, "tolerance"),
    (dict(criterion="apoz"), ValueError, "criterion"),
    (dict(granularity="channels"), ValueError, "granularity"),
    (dict(allocation="sensitivity", granularity="hybrid"), ValueError, "allocation"),
    (dict(initial_step=1.0), ValueError, "initial_step"),
    (dict(min_step=0.8, max_step=0.5), ValueError, "min_step"),
    (dict(shrink_factor=1.0), ValueError, "shrink_factor"),
    (dict(growth=0.5), ValueError, "growth"),
    (dict(final_epochs=20, max_epochs=10), ValueError, "final_epochs"),
    (dict(max_steps=0), ValueError, "max_steps"),
    (dict(budget=("bytes", 10)), ValueError, "budget"),
    (dict(budget=("bytes_csr", -1.0)), ValueError, "budget"),
    (dict(budget="bytes_csr=10"), TypeError, "budget"),
    (dict(optimizer="rmsprop"), ValueError, "optimizer"),
    (dict(neuron_multiple=0), ValueError, "neuron_multiple"),
    (dict(se_margin=-1.0), ValueError, "se_margin"),
    (dict(se_margin="wide"), ValueError, "se_margin"),
    (dict(confirm_fraction=0.7), ValueError, "confirm_fraction"),
])
def test_bad_arguments_raise_in_fit(digits, kwargs, error, match):
    model, data = digits
    with pytest.raises(error, match=match):
        AdaptivePruner(**kwargs).fit(model, data.X_train, data.y_train, data.X_val, data.y_val)


def test_bad_data_raises(digits):
    model, data = digits
    with pytest.raises(TypeError, match="model must be"):
        AdaptivePruner().fit(None, data.X_train, data.y_train, data.X_val, data.y_val)
    with pytest.raises(ValueError, match="y_val"):
        AdaptivePruner().fit(model, data.X_train, data.y_train, data.X_val, data.y_val[:-1])
    with pytest.raises(ValueError, match="not fitted"):
        AdaptivePruner().history_text()


@pytest.mark.parametrize("kwargs", [dict(criterion="taylor", allocation="sensitivity"),
                                    dict(confirm_fraction=0.3),
                                    dict(granularity="structured", criterion="activation",
                                         budget=("latency_ms", 1e-9), max_steps=2)])
def test_never_sees_test_data(digits, monkeypatch, kwargs):
    """Every array the model is run or trained on during fit is made of training or validation rows."""
    model, data = digits
    allowed = {row.tobytes() for X in (data.X_train, data.X_val) for row in X.astype(model.dtype)}
    test_rows = {row.tobytes() for row in data.X_test.astype(model.dtype)}
    assert not test_rows & allowed  # digits has no duplicate images across the splits
    seen = []

    def spy(name):
        original = getattr(MLP, name)

        def wrapped(self, X, *args, **kw):
            seen.append(np.asarray(X, dtype=model.dtype))
            return original(self, X, *args, **kw)
        monkeypatch.setattr(MLP, name, wrapped)

    for name in ("forward", "loss", "fit", "score", "predict", "predict_proba"):
        spy(name)
    import adaprune_edu.pruning.report as report
    original_latency = report.measure_latency

    def latency_spy(predict, X, *args, **kw):
        seen.append(np.asarray(X, dtype=model.dtype))
        return original_latency(predict, X, *args, **kw)
    monkeypatch.setattr(report, "measure_latency", latency_spy)

    fit(model, data, max_epochs=4, final_epochs=1, **kwargs)
    assert len(seen) > 10
    assert any(X.shape[0] == data.X_val.shape[0] for X in seen)  # validation was used ...
    for X in seen:  # ... and only training and validation rows ever were
        assert {row.tobytes() for row in X} <= allowed


def test_a_wider_margin_is_a_stricter_test(digits):
    """se_margin=0 is the plain rule; every accept under a wide margin also passes the plain one."""
    model, data = digits
    plain = fit(model, data, se_margin=0.0)
    strict = fit(model, data, se_margin=3.0)
    for pruner, margin in ((plain, 0.0), (strict, 3.0)):
        for h in pruner.history_[:-1]:
            assert (h["val_drop"] + margin * h["val_drop_se"] <= 0.01 + 1e-12) == (h["action"] == "accept")
    assert all(h["val_drop"] <= 0.01 for h in strict.history_ if h["action"] == "accept")
    assert any(h["val_drop"] <= 0.01 and h["action"] == "rollback" for h in strict.history_)


def test_confirmation_split_rolls_back_along_the_history(digits):
    model, data = digits
    pruner = fit(model, data, confirm_fraction=0.4, se_margin=0.0, tolerance=0.02)
    tried = pruner.confirmation_
    assert tried and tried[-1]["passed"] and not any(c["passed"] for c in tried[:-1])
    accepted = [0] + [h["step"] for h in pruner.history_ if h["action"] == "accept"]
    assert [c["step"] for c in tried] == accepted[::-1][:len(tried)]  # newest first, one by one
    assert pruner.kept_step_ == tried[-1]["step"] == pruner.history_[-1]["kept_step"]
    if pruner.kept_step_ > 0:
        assert tried[-1]["drop"] + 0.0 * tried[-1]["se"] <= 0.02 + 1e-12
        assert pruner.history_[-1]["confirm_drop"] == tried[-1]["drop"]
    # Decisions used the search part only (about 0.6 of 360 samples); reports use all of X_val.
    assert pruner.val_accuracy_ == pruner.model_.score(data.X_val, data.y_val)
    search, confirm = split_validation(data.y_val, 0.4, seed=0)
    assert 140 <= confirm.size <= 148
    assert pruner.dense_search_accuracy_ == model.score(data.X_val[search], data.y_val[search])
    assert pruner.history_[-1]["val_accuracy"] == pruner.model_.score(data.X_val[search], data.y_val[search])


def test_step_callback_sees_every_step_in_its_decided_state(digits):
    model, data = digits
    seen = []

    def watch(record, pruned):
        seen.append((record["step"], record["action"], pruned.score(data.X_val, data.y_val), global_sparsity(pruned)))

    pruner = fit(model, data, step_callback=watch)
    steps = pruner.history_[:-1]
    assert [s[:2] for s in seen] == [(h["step"], h["action"]) for h in steps]
    for (_, _, val, sparsity), h in zip(seen, steps):
        assert val == h["val_accuracy"] and sparsity == h["sparsity"]
    with pytest.raises(TypeError, match="step_callback"):
        fit(model, data, step_callback="print")
