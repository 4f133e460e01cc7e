"""Optimizers against updates computed by hand."""
import numpy as np
import pytest

from adaprune_edu.nn import SGD, Adam, Momentum, make_optimizer


def _one_param(value):
    return [{"W": np.array(value, dtype=float)}]


def test_sgd_step():
    params = _one_param([1.0, -2.0])
    SGD(0.1).step(params, [{"W": np.array([10.0, 10.0])}])
    np.testing.assert_allclose(params[0]["W"], [0.0, -3.0])


def test_momentum_two_steps_by_hand():
    params = _one_param([1.0])
    opt = Momentum(learning_rate=0.1, momentum=0.9)
    opt.step(params, [{"W": np.array([1.0])}])  # v = 1,          w = 1 - 0.1
    opt.step(params, [{"W": np.array([1.0])}])  # v = 0.9 + 1,    w = 0.9 - 0.19
    np.testing.assert_allclose(params[0]["W"], [0.71])
    np.testing.assert_allclose(opt.state[0]["velocity"]["W"], [1.9])


def test_adam_first_step_moves_by_the_learning_rate():
    params = _one_param([1.0, 1.0])
    Adam(learning_rate=0.01).step(params, [{"W": np.array([5.0, -0.1])}])
    # after bias correction m/sqrt(v) = sign(g) on the first step
    np.testing.assert_allclose(params[0]["W"], [0.99, 1.01], rtol=1e-6)


def test_adam_second_step_by_hand():
    params = _one_param([0.0])
    opt = Adam(learning_rate=0.1, beta1=0.5, beta2=0.5, eps=0.0)
    opt.step(params, [{"W": np.array([1.0])}])
    opt.step(params, [{"W": np.array([3.0])}])
    m = 0.5 * 0.5 * 1 + 0.5 * 3          # 1.75, corrected /0.75
    v = 0.5 * 0.5 * 1 + 0.5 * 9          # 4.75, corrected /0.75
    expected = -0.1 - 0.1 * (m / 0.75) / np.sqrt(v / 0.75)
    np.testing.assert_allclose(params[0]["W"], [expected])


def test_apply_masks_zeroes_optimizer_state():
    params = _one_param([1.0, 1.0])
    opt = Momentum(0.1)
    opt.step(params, [{"W": np.array([1.0, 1.0])}])
    opt.apply_masks([{"W": np.array([0.0, 1.0])}])
    np.testing.assert_array_equal(opt.state[0]["velocity"]["W"], [0.0, 1.0])


def test_make_optimizer_names_and_errors():
    assert isinstance(make_optimizer("adam"), Adam)
    assert make_optimizer("momentum", learning_rate=0.5).learning_rate == 0.5
    existing = SGD(0.1)
    assert make_optimizer(existing) is existing
    with pytest.raises(ValueError, match="optimizer='nesterov'.*adam"):
        make_optimizer("nesterov")
    with pytest.raises(ValueError, match="momentum=1.5"):
        Momentum(0.1, momentum=1.5)
    with pytest.raises(TypeError, match="learning_rate"):
        SGD("fast")
