"""Pruning schedules against hand-computed values."""
import numpy as np
import pytest

from adaprune_edu.nn import MLP
from adaprune_edu.pruning import Iterative, OneShot, Polynomial, global_sparsity, prune_model, prune_to_sparsity


def test_one_shot():
    s = OneShot(0.9)
    assert s.steps == [0]
    assert s.sparsity_at(0) == 0.9 and s.sparsity_at(7) == 0.9
    late = OneShot(0.5, step=3)
    assert late.sparsity_at(2) == 0.0 and late.sparsity_at(3) == 0.5


def test_iterative_geometric():
    s = Iterative(0.875, 3)
    assert s.steps == [0, 1, 2]
    assert [s.sparsity_at(t) for t in s.steps] == pytest.approx([0.5, 0.75, 0.875])
    assert s.amount_per_step == pytest.approx(0.5)
    assert s.sparsity_at(-1) == 0.0 and s.sparsity_at(10) == pytest.approx(0.875)
    two = Iterative(0.9, 2)
    assert two.amount_per_step == pytest.approx(1 - np.sqrt(0.1))  # 0.6838
    assert two.sparsity_at(0) == pytest.approx(1 - np.sqrt(0.1))


def test_iterative_amount_per_step_drives_prune_model():
    s = Iterative(0.9, 4)
    model = MLP([20, 30, 10], seed=0)  # 900 weights
    for step in s.steps:
        prune_model(model, s.amount_per_step)
        assert global_sparsity(model) == pytest.approx(s.sparsity_at(step), abs=2 / 900)


def test_polynomial_zhu_gupta_cubic():
    s = Polynomial(0.0, 0.8, begin_step=0, n_steps=4)
    # s_t = 0.8 + (0 - 0.8) * (1 - t/4)^3
    assert [s.sparsity_at(t) for t in s.steps] == pytest.approx([0.0, 0.4625, 0.7, 0.7875, 0.8])


def test_polynomial_window_frequency_and_clipping():
    s = Polynomial(0.1, 0.5, begin_step=10, n_steps=2, frequency=5)
    assert s.steps == [10, 15, 20] and s.end_step == 20
    assert s.sparsity_at(0) == 0.1 and s.sparsity_at(10) == 0.1
    assert s.sparsity_at(12) == 0.1  # between pruning steps the target holds
    assert s.sparsity_at(15) == pytest.approx(0.5 - 0.4 * 0.5 ** 3)  # 0.45
    assert s.sparsity_at(19) == pytest.approx(0.45)
    assert s.sparsity_at(20) == 0.5 and s.sparsity_at(1000) == 0.5


def test_polynomial_power_one_is_linear():
    s = Polynomial(0.0, 1.0, begin_step=0, n_steps=4, power=1)
    assert [s.sparsity_at(t) for t in s.steps] == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])


def test_schedules_are_monotone_and_drive_prune_to_sparsity():
    model = MLP([10, 20, 5], seed=1)
    s = Polynomial(0.0, 0.9, begin_step=0, n_steps=5)
    previous = 0.0
    for t in s.steps:
        prune_to_sparsity(model, s.sparsity_at(t))
        assert global_sparsity(model) >= previous
        previous = global_sparsity(model)
    assert previous == pytest.approx(0.9, abs=1 / 300)


@pytest.mark.parametrize("make, message", [
    (lambda: OneShot(1.5), r"target=1.5 must be <= 1"),
    (lambda: OneShot(0.5, step=-1), "step=-1 must be >= 0"),
    (lambda: Iterative(1.0, 3), r"target=1.0 cannot be reached .* allowed: a float in \[0, 1\)"),
    (lambda: Iterative(0.5, 0), "n_steps=0 must be >= 1"),
    (lambda: Polynomial(0.6, 0.5, 0, 3), "initial=0.6 is above final=0.5"),
    (lambda: Polynomial(0.0, 0.5, 0, 3, frequency=0), "frequency=0 must be >= 1"),
    (lambda: Polynomial(0.0, 0.5, 0, 3, power=0), "power=0.0 must be > 0"),
    (lambda: Polynomial(0.0, 0.5, -1, 3), "begin_step=-1 must be >= 0"),
])
def test_schedule_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_step_must_be_an_int():
    with pytest.raises(TypeError, match="step=1.5 must be an int"):
        Polynomial(0.0, 0.5, 0, 3).sparsity_at(1.5)
    with pytest.raises(TypeError, match="target='high'"):
        OneShot("high")
