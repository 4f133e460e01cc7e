"""Embedded datasets: splits, standardisation on training data only, determinism."""
import numpy as np
import pytest

from adaprune_edu.data import DATASETS, load_dataset


@pytest.mark.parametrize("name", DATASETS)
def test_every_dataset_loads_and_splits(name):
    data = load_dataset(name, seed=0)
    n = len(data.y_train) + len(data.y_val) + len(data.y_test)
    assert len(data.y_test) == pytest.approx(0.2 * n, abs=2)
    assert len(data.y_val) == pytest.approx(0.2 * n, abs=2)
    assert data.X_train.dtype == np.float32
    assert data.default_layer_sizes()[0] == data.n_features
    assert data.default_layer_sizes()[-1] == data.n_classes


def test_digits_shapes():
    data = load_dataset("digits")
    assert data.n_features == 64 and data.n_classes == 10
    assert data.X_train.shape[0] + data.X_val.shape[0] + data.X_test.shape[0] == 1797


def test_standardisation_uses_training_statistics_only():
    data = load_dataset("breast_cancer", seed=1)
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(data.X_train.std(axis=0), 1, atol=1e-4)
    assert np.abs(data.X_test.mean(axis=0)).max() > 1e-3  # test data was not used to fit


def test_splits_are_disjoint_and_stratified():
    data = load_dataset("digits", seed=0)
    train_rows = {row.tobytes() for row in data.X_train}
    assert not any(row.tobytes() in train_rows for row in data.X_test)
    train_share = np.bincount(data.y_train) / len(data.y_train)
    test_share = np.bincount(data.y_test) / len(data.y_test)
    np.testing.assert_allclose(train_share, test_share, atol=0.01)


def test_same_seed_same_split_other_seed_other_split():
    a, b, c = load_dataset("hard", seed=3), load_dataset("hard", seed=3), load_dataset("hard", seed=4)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, c.X_train)


def test_presets_differ_in_difficulty():
    from adaprune_edu import MLP

    scores = {}
    for name in ("easy", "hard"):
        data = load_dataset(name, seed=0)
        model = MLP(data.default_layer_sizes([32]), seed=0)
        model.fit(data.X_train, data.y_train, epochs=15, progress=False)
        scores[name] = model.score(data.X_val, data.y_val)
    assert scores["easy"] > scores["hard"] + 0.1


@pytest.mark.parametrize("kwargs,error,words", [
    (dict(name="mnist"), ValueError, "name='mnist'"),
    (dict(seed=-1), ValueError, "seed=-1"),
    (dict(val_size=0.0), ValueError, "val_size=0.0"),
    (dict(test_size=0.9), ValueError, "test_size=0.9"),
    (dict(seed="0"), TypeError, "seed"),
])
def test_bad_arguments(kwargs, error, words):
    with pytest.raises(error) as info:
        load_dataset(**kwargs)
    assert words in str(info.value)
