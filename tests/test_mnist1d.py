"""MNIST-1D: generated offline, official test split, and no trace left on the global RNGs."""
import random

import numpy as np
import pytest

from adaprune_edu.data import load_dataset


def test_mnist1d_official_split_and_shapes():
    data = load_dataset("mnist1d", seed=0, val_size=0.16)
    assert data.X_train.shape == (3200, 40) and data.X_val.shape == (800, 40) and data.X_test.shape == (1000, 40)
    assert data.n_classes == 10
    assert np.bincount(data.y_test).min() > 50  # every class in the official test set


def test_mnist1d_leaves_the_global_generators_as_they_were():
    np.random.seed(123)
    random.seed(456)
    expected_numpy, expected_python = np.random.random(3), [random.random() for _ in range(3)]
    np.random.seed(123)
    random.seed(456)
    from adaprune_edu.data import _mnist1d

    _mnist1d.cache_clear()  # force generation: make_dataset seeds both global generators with 42
    load_dataset("mnist1d")
    np.testing.assert_array_equal(np.random.random(3), expected_numpy)
    assert [random.random() for _ in range(3)] == expected_python


def test_mnist1d_is_the_same_data_every_time_and_seed_only_moves_the_validation_split():
    a, b, c = (load_dataset("mnist1d", seed=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, c.y_test)  # the official test labels never move
    assert not np.array_equal(a.y_train, c.y_train)


def test_mnist1d_refuses_a_different_test_size():
    with pytest.raises(ValueError, match=r"test_size=0.3 is not allowed for 'mnist1d'"):
        load_dataset("mnist1d", test_size=0.3)
