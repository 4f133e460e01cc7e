"""The course helpers: the exercises' original code, exact patches, running and reading source."""
import numpy as np
import pytest

from adaprune_edu.course import (
    block_mask,
    n_m_mask,
    original_exercise,
    patch,
    prune_and_evaluate,
    run_source,
    unused_parameters,
)
from adaprune_edu.pruning import prune_to_sparsity


def test_original_exercises_are_the_question_bank_code():
    eight, nine = original_exercise(8), original_exercise(9)
    assert eight.startswith("import numpy as np\n") and "np.relu(z1)" in eight
    assert "def adaptive_pruning(X, y, pruning_thresholds, epochs):" in nine
    assert "    \n" in eight  # kept byte for byte, trailing spaces included


def test_original_exercise_rejects_other_numbers():
    with pytest.raises(ValueError, match="number"):
        original_exercise(7)


def test_original_exercise_8_fails_as_given():
    with pytest.raises(AttributeError, match="relu"):
        run_source(original_exercise(8))


def test_patch_replaces_exactly_count_occurrences():
    assert patch("a b a", "a", "c", count=2) == "c b c"
    with pytest.raises(ValueError, match="occurs 2 times"):
        patch("a b a", "a", "c")
    with pytest.raises(ValueError, match="occurs 0 times"):
        patch("a b a", "x", "c")
    with pytest.raises(ValueError, match="old=''"):
        patch("a", "", "c")
    with pytest.raises(TypeError):
        patch(b"a", "a", "c")


def test_run_source_returns_namespace_and_names_the_file():
    namespace = run_source("x = 2\ny = x * 3\n")
    assert namespace["y"] == 6
    with pytest.raises(ZeroDivisionError) as info:
        run_source("1 / 0\n", name="<mine>")
    assert info.tb.tb_next.tb_next.tb_frame.f_code.co_filename == "<mine>"


def test_unused_parameters():
    assert unused_parameters("def f(a, b, *, c):\n    return a + c\n", "f") == ["b"]
    assert unused_parameters(original_exercise(8), "gradient_descent") == ["epochs"]
    with pytest.raises(ValueError, match="not defined"):
        unused_parameters("x = 1\n", "f")


def test_n_m_mask_keeps_n_largest_per_group_of_m():
    W = np.array([[1.0, 0.5], [-4.0, 0.1], [3.0, 0.2], [2.0, -0.3], [0.0, 9.0], [0.0, 8.0], [1.0, 0.0], [0.0, 0.0]])
    mask = n_m_mask(W, 2, 4)
    assert mask[:, 0].tolist() == [0, 1, 1, 0, 1, 0, 1, 0]  # tie among zeros: the earlier input is kept
    assert mask[:, 1].tolist() == [1, 0, 0, 1, 1, 1, 0, 0]
    assert mask.mean() == 0.5
    with pytest.raises(ValueError, match="multiple of m=4"):
        n_m_mask(np.ones((6, 2)), 2, 4)
    with pytest.raises(ValueError, match="n"):
        n_m_mask(np.ones((4, 2)), 5, 4)


def test_block_mask_prunes_lowest_norm_blocks():
    W = np.arange(16, dtype=float).reshape(4, 4)  # 2x2 blocks with L1 norms 10, 18, 42, 50
    mask = block_mask(W, (2, 2), 0.5)
    assert mask.tolist() == [[0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1]]
    assert block_mask(W, (2, 2), 0.25)[:2, :2].sum() == 0 and block_mask(W, (2, 2), 0.25)[:2, 2:].sum() == 4
    with pytest.raises(ValueError, match="cannot be tiled"):
        block_mask(np.ones((3, 4)), (2, 2), 0.5)
    with pytest.raises(ValueError, match="amount"):
        block_mask(W, (2, 2), 1.5)
    with pytest.raises(TypeError, match="block_shape"):
        block_mask(W, 2, 0.5)


def test_prune_and_evaluate_same_budget_and_untouched_input():
    from adaprune_edu import MLP, load_dataset
    from adaprune_edu.pruning import neuron_masks

    data = load_dataset("moons", seed=0)
    model = MLP([2, 16, 2], seed=0).fit(data.X_train, data.y_train, epochs=3, progress=False)
    before = [p["W"].copy() for p in model.params]
    one_shot, tuned, pruned = prune_and_evaluate(model, 0.5, data, fine_tune_epochs=2, granularity="structured")
    assert all(np.array_equal(a, p["W"]) for a, p in zip(before, model.params))
    assert int(neuron_masks(pruned)[0].sum()) == 8
    assert one_shot == pytest.approx(prune_to_sparsity(model.copy(), 0.5, granularity="structured")
                                     .score(data.X_test, data.y_test))
    assert 0 <= tuned <= 1
    _, _, with_adam = prune_and_evaluate(model, 0.5, data, fine_tune_epochs=1, fit_options={"optimizer": "adam"})
    assert type(with_adam.optimizer_).__name__ == "Adam"
    with pytest.raises(ValueError, match="fine_tune_epochs"):
        prune_and_evaluate(model, 0.5, data, fine_tune_epochs=-1)


def test_squared_error_gradients_match_finite_differences():
    from adaprune_edu.course import squared_error_gradients
    from adaprune_edu.nn import numerical_gradient, relative_error

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 2)), np.array([[0.0], [1.0], [1.0], [0.0], [1.0]])
    weights = [rng.normal(size=(2, 4)), rng.normal(size=(4, 3)), rng.normal(size=(3, 1))]
    biases = [rng.normal(size=4) + 0.1, rng.normal(size=3) + 0.1, rng.normal(size=1)]

    def loss():
        a = X
        for W, b in zip(weights[:-1], biases[:-1]):
            a = np.maximum(a @ W + b, 0)
        return float(np.sum((1 / (1 + np.exp(-(a @ weights[-1] + biases[-1]))) - y) ** 2))

    dW, db = squared_error_gradients(X, y, weights, biases)
    for analytic, parameter in zip(dW + db, weights + biases):
        assert analytic.shape == parameter.shape
        assert relative_error(analytic, numerical_gradient(loss, parameter)) < 1e-6
    with pytest.raises(ValueError, match=r"y has shape \(5,\)"):
        squared_error_gradients(X, y[:, 0], weights, biases)
    with pytest.raises(ValueError, match="equal length"):
        squared_error_gradients(X, y, weights, biases[:2])
