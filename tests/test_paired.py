"""The paired accuracy drop and the stratified search / confirmation split of validation data."""
import numpy as np
import pytest

from adaprune_edu.pruning.paired import paired_drop, split_validation


def test_paired_drop_on_a_literal_example():
    y = np.array([0, 1, 1, 0, 1, 0, 1, 1, 0, 1])
    reference = y.copy()
    candidate = y.copy()
    candidate[[1, 2]] = 0  # two samples lost ...
    reference[9] = 0  # ... one the reference got wrong is won
    result = paired_drop(y, reference, candidate)
    assert (result.n_worse, result.n_better, result.n) == (2, 1, 10)
    assert result.drop == pytest.approx(0.9 - 0.8)
    d = np.array([0, 1, 1, 0, 0, 0, 0, 0, 0, -1], dtype=float)
    assert result.se == pytest.approx(d.std(ddof=1) / np.sqrt(10))
    assert result.upper_bound(2.0) == pytest.approx(result.drop + 2 * result.se)


def test_pairing_is_tighter_than_two_independent_binomials():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, size=360)
    reference = np.where(rng.random(360) < 0.97, y, (y + 1) % 10)
    candidate = reference.copy()
    candidate[:10] = (y[:10] + 2) % 10  # disagree on 10 samples only
    result = paired_drop(y, reference, candidate)
    p1, p2 = np.mean(reference == y), np.mean(candidate == y)
    independent = np.sqrt(p1 * (1 - p1) / 360 + p2 * (1 - p2) / 360)
    assert result.se < 0.9 * independent
    assert paired_drop(y, reference, reference).se == 0.0


def test_paired_drop_rejects_bad_shapes():
    with pytest.raises(ValueError, match="1-D of one length"):
        paired_drop(np.zeros(3), np.zeros(4), np.zeros(3))
    with pytest.raises(ValueError, match="at least 2"):
        paired_drop(np.zeros(1), np.zeros(1), np.zeros(1))


def test_split_is_stratified_disjoint_and_seeded():
    y = np.repeat(np.arange(3), [30, 60, 90])
    search, confirm = split_validation(y, 1 / 3, seed=0)
    assert np.intersect1d(search, confirm).size == 0 and search.size + confirm.size == y.size
    assert np.bincount(y[confirm]).tolist() == [10, 20, 30]
    again, _ = split_validation(y, 1 / 3, seed=0)
    other, _ = split_validation(y, 1 / 3, seed=1)
    np.testing.assert_array_equal(search, again)
    assert not np.array_equal(search, other)
    assert split_validation(y, 0.0)[1].size == 0
    with pytest.raises(ValueError, match="fraction"):
        split_validation(y, 0.6)
