"""Movement pruning: the accumulated score, the cubic schedule, pruning during training, transfer head."""
import numpy as np
import pytest

from adaprune_edu import MLP
from adaprune_edu.nn.optim import SGD
from adaprune_edu.pruning.movement import GradualPruning, MovementScores, cubic_schedule, with_new_head


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 5))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)


def test_movement_scores_accumulate_minus_w_times_gradient():
    X, y = _data()
    model = MLP([5, 4, 3], seed=0, dtype="float64")
    W_before = [p["W"].copy() for p in model.params]
    _, grads = model.loss(X, y)
    optimizer = MovementScores(SGD(0.1))
    optimizer.step(model.params, grads)
    for score, W, g, p in zip(optimizer.scores, W_before, grads, model.params):
        np.testing.assert_allclose(score, -W * g["W"])
        np.testing.assert_allclose(p["W"], W - 0.1 * g["W"])  # and the wrapped optimizer did its step
    _, grads2 = model.loss(X, y)
    W_mid = [p["W"].copy() for p in model.params]
    optimizer.step(model.params, grads2)
    np.testing.assert_allclose(optimizer.scores[0], -W_before[0] * grads[0]["W"] - W_mid[0] * grads2[0]["W"])


def test_movement_score_sign_by_hand():
    # w = 2 with dL/dw = -1: the update pushes w away from zero, score +2; w = 2 with dL/dw = +1: score -2
    model = MLP([1, 2], seed=0, dtype="float64")
    model.params[0]["W"][:] = [[2.0, 2.0]]
    optimizer = MovementScores(SGD(0.01))
    optimizer.step(model.params, [{"W": np.array([[-1.0, 1.0]]), "b": np.zeros(2)}])
    np.testing.assert_allclose(optimizer.scores[0], [[2.0, -2.0]])


def test_cubic_schedule_warmup_ramp_cooldown():
    schedule = cubic_schedule(0.9, total_steps=10)  # warm-up 1 step, cool-down 3: ramp over steps 1..7
    assert schedule.sparsity_at(1) == 0.0
    assert schedule.sparsity_at(4) == pytest.approx(0.9 * (1 - (1 - 3 / 6) ** 3))
    assert schedule.sparsity_at(7) == pytest.approx(0.9) and schedule.sparsity_at(9) == pytest.approx(0.9)


def test_prune_by_movement_and_by_magnitude_literal():
    model = MLP([2, 2, 2], seed=0, dtype="float64")
    model.params[0]["W"][:] = [[0.1, -0.9], [0.5, -0.2]]
    movement = GradualPruning(model, cubic_schedule(0.5, 10), "movement", [0])
    movement.scores = [np.array([[3.0, -1.0], [0.0, 2.0]]), np.zeros((2, 2))]
    movement.prune(0.5)
    np.testing.assert_array_equal(model.masks[0]["W"], [[1, 0], [0, 1]])  # lowest scores -1 and 0 go
    other = MLP([2, 2, 2], seed=0, dtype="float64")
    other.params[0]["W"][:] = [[0.1, -0.9], [0.5, -0.2]]
    GradualPruning(other, cubic_schedule(0.5, 10), "magnitude", [0]).prune(0.5)
    np.testing.assert_array_equal(other.masks[0]["W"], [[0, 1], [1, 0]])  # smallest |w| 0.1 and 0.2 go
    assert model.masks[1]["W"] is None and other.masks[1]["W"] is None  # the head stays dense


def test_gradual_pruning_during_fit_reaches_the_target_on_the_chosen_layers_only():
    X, y = _data(1)
    model = MLP([5, 20, 10, 3], seed=0)
    steps = 6 * 1  # 40 samples, batch 64: one step per epoch
    optimizer = GradualPruning(model, cubic_schedule(0.8, steps, warmup=0.0, cooldown=0.2), "movement", [0, 1],
                               frequency=1)
    model.fit(X, y, epochs=6, optimizer=optimizer, progress=False)
    for layer in (0, 1):
        assert 1 - model.masks[layer]["W"].mean() == pytest.approx(0.8, abs=0.01)
        assert np.all(model.params[layer]["W"][model.masks[layer]["W"] == 0] == 0)
    assert model.masks[2]["W"] is None


def test_with_new_head_keeps_the_hidden_layers():
    model = MLP([4, 6, 5], seed=0)
    fresh = with_new_head(model, 3, seed=1)
    assert fresh.layer_sizes == [4, 6, 3]
    np.testing.assert_array_equal(fresh.params[0]["W"], model.params[0]["W"])
    assert fresh.params[0]["W"] is not model.params[0]["W"]


@pytest.mark.parametrize("call,error,words", [
    (lambda m: GradualPruning(m, cubic_schedule(0.5, 10), "size", [0]), ValueError, "criterion='size'"),
    (lambda m: GradualPruning(m, cubic_schedule(0.5, 10), "movement", [5]), ValueError, r"layers\[i\]=5"),
    (lambda m: GradualPruning(m, cubic_schedule(0.5, 10), "movement", [0], frequency=0), ValueError, "frequency=0"),
    (lambda m: cubic_schedule(0.5, 2, warmup=0.5, cooldown=0.5), ValueError, "total_steps=2 leaves no step"),
    (lambda m: cubic_schedule(1.5, 10), ValueError, "final=1.5"),
    (lambda m: MovementScores("adagrad"), ValueError, "optimizer='adagrad'"),
])
def test_bad_input(call, error, words):
    with pytest.raises(error, match=words):
        call(MLP([3, 4, 2], seed=0))
