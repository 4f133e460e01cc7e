"""Masks with torch.nn.utils.prune's semantics: literal cases, errors, ties, properties."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from adaprune_edu.pruning import amount as amount_module
from adaprune_edu.pruning import masks as M
from adaprune_edu.pruning.amount import compute_count, fraction_of_remaining

# torch's test weight, [[1, 2, 3, 4], [-4, -3, -2, -1]] as a Linear(4, 2).weight (out, in);
# our W is its transpose, (in, out) = (4, 2).
TORCH_W = np.array([[1, 2, 3, 4], [-4, -3, -2, -1]], dtype=np.float32)
W = TORCH_W.T.copy()


# ---------------------------------------------------------------------- amount
@pytest.mark.parametrize("amount, n, expected", [
    (0, 15, 0), (10, 15, 10), (1, 15, 1), (1.0, 15, 15), (0.4, 17, 7), (0.0, 0, 0), (0.3, 0, 0),
    (0.5, 5, 2), (0.5, 7, 4), (0.25, 10, 2), (0.35, 10, 4), (19, 20, 19), (1, 1, 1),
])
def test_compute_count_matches_torch_rule(amount, n, expected):
    # half to even: 0.5 * 5 = 2.5 -> 2, 0.5 * 7 = 3.5 -> 4, 0.25 * 10 = 2.5 -> 2
    assert compute_count(amount, n) == expected
    assert isinstance(compute_count(amount, n), int)


def test_compute_count_accepts_numpy_numbers():
    assert compute_count(np.int64(3), 10) == 3
    assert compute_count(np.float32(0.5), 10) == 5


@pytest.mark.parametrize("bad", [1.1, 20.0, -0.1, float("nan"), float("inf"), -10, -1])
def test_compute_count_value_errors(bad):
    with pytest.raises(ValueError, match=r"amount=.* must be a float in \[0, 1\] or a non-negative int"):
        compute_count(bad, 100)


def test_compute_count_int_larger_than_what_is_left():
    with pytest.raises(ValueError, match=r"amount=20 is larger than the 19 entries that are left"):
        compute_count(20, 19)


@pytest.mark.parametrize("bad", ["I'm a string", None, True, False, [0.5], np.bool_(True)])
def test_compute_count_type_errors(bad):
    with pytest.raises(TypeError, match="must be an int .* or a float in"):
        compute_count(bad, 10)


def test_compute_count_names_the_argument():
    with pytest.raises(ValueError, match=r"scope\[2\]=1.5"):
        compute_count(1.5, 10, name="scope[2]")


def test_fraction_of_remaining():
    assert fraction_of_remaining(0.5, 0.75) == pytest.approx(0.5)
    assert fraction_of_remaining(0.0, 0.9) == pytest.approx(0.9)
    assert fraction_of_remaining(1.0, 1.0) == 0.0
    with pytest.raises(ValueError, match="never un-prunes"):
        fraction_of_remaining(0.6, 0.5)
    with pytest.raises(ValueError, match=r"target=1.5 must be a sparsity in \[0, 1\]"):
        fraction_of_remaining(0.1, 1.5)
    assert amount_module.compute_count(fraction_of_remaining(0.5, 0.75), 50) == 25


# ---------------------------------------------------------------------- literal cases (torch's test file)
def test_l1_unstructured_literal_and_repeated():
    mask = M.l1_unstructured(W, amount=2)
    np.testing.assert_array_equal((W * mask).T, [[0, 2, 3, 4], [-4, -3, -2, 0]])
    assert mask.dtype == np.float32 and set(np.unique(mask)) == {0.0, 1.0}
    mask = M.l1_unstructured(W, amount=2, mask=mask)
    np.testing.assert_array_equal((W * mask).T, [[0, 0, 3, 4], [-4, -3, 0, 0]])


def test_l1_unstructured_with_importance_scores_literal():
    scores = np.array([[4, 2, 1, 3], [-3, -1, -2, -4]], dtype=np.float32).T
    mask = M.l1_unstructured(W, amount=2, importance_scores=scores)
    np.testing.assert_array_equal((W * mask).T, [[1, 2, 0, 4], [-4, 0, -2, -1]])
    mask = M.l1_unstructured(W, amount=2, importance_scores=scores, mask=mask)
    np.testing.assert_array_equal((W * mask).T, [[1, 0, 0, 4], [-4, 0, 0, -1]])


def test_container_cases_with_a_prior_mask():
    t = np.array([[1, 2, 3, 4], [5, 6, 7, 8]], dtype=np.float32)
    prior = np.array([[1, 1, 1, 0], [1, 1, 0, 1]])
    np.testing.assert_array_equal(M.l1_unstructured(t, 2, mask=prior), [[0, 0, 1, 0], [1, 1, 0, 1]])
    np.testing.assert_array_equal(M.ln_structured(t, 1, n=2, dim=0, mask=prior), [[0, 0, 0, 0], [1, 1, 0, 1]])
    # torch's container test scores the *unmasked* t here, so pass it as importance scores:
    np.testing.assert_array_equal(M.ln_structured(t, 1, n=2, dim=1, mask=prior, importance_scores=t),
                                  [[0, 1, 1, 0], [0, 1, 0, 1]])
    # by default the scores are the current weights t * prior (as a pruned torch module's weight):
    # column norms 5.10, 6.32, 3.0, 8.0, so column 2 goes
    np.testing.assert_array_equal(M.ln_structured(t, 1, n=2, dim=1, mask=prior),
                                  [[1, 1, 0, 0], [1, 1, 0, 1]])


CONV_W = np.array([[[[1.0, 2.0], [1.0, 2.5]],
                    [[0.5, 1.0], [0.1, 0.1]],
                    [[-3.0, -5.0], [0.1, -1.0]]]])  # (1, 3, 2, 2), torch's Conv2d(3, 1, 2) case


def test_ln_structured_literal_4d():
    mask = M.ln_structured(CONV_W, amount=1, n=2, dim=1)
    expected = np.ones_like(CONV_W)
    expected[:, 1] = 0
    np.testing.assert_array_equal(mask, expected)
    mask = M.ln_structured(CONV_W, amount=1, n=1, dim=-1, mask=mask)
    expected[:, :, :, 0] = 0
    np.testing.assert_array_equal(mask, expected)


def test_ln_structured_importance_scores_literal_4d():
    scores = np.array([[[[10.0, 1.0], [10.0, 1.0]], [[30.0, 3.0], [30.0, 3.0]], [[-20.0, -2.0], [-20.0, -2.0]]]])
    mask = M.ln_structured(CONV_W, amount=1, n=2, dim=1, importance_scores=scores)
    expected = np.ones_like(CONV_W)
    expected[:, 0] = 0
    np.testing.assert_array_equal(mask, expected)
    mask = M.ln_structured(CONV_W, amount=1, n=1, dim=-1, importance_scores=scores, mask=mask)
    expected[:, :, :, 1] = 0
    np.testing.assert_array_equal(mask, expected)


def test_global_unstructured_literal():
    second = np.array([[0, 0.1, -2]], dtype=np.float32).T  # torch Linear(3, 1).weight, transposed
    m1, m2 = M.global_unstructured([W, second], amount=4)
    np.testing.assert_array_equal((W * m1).T, [[0, 2, 3, 4], [-4, -3, -2, 0]])
    np.testing.assert_array_equal((second * m2).T, [[0, 0, -2]])


def test_global_unstructured_importance_scores_literal():
    second = np.array([[0, 0.1, -2]], dtype=np.float32).T
    s1 = np.array([[4, 2, 1, 3], [-3, -1, -2, -4]], dtype=np.float32).T
    s2 = np.array([[0, 10.0, -0.2]], dtype=np.float32).T
    m1, m2 = M.global_unstructured([W, second], amount=4, importance_scores=[s1, s2])
    np.testing.assert_array_equal((W * m1).T, [[1, 2, 0, 4], [-4, 0, -2, -1]])
    np.testing.assert_allclose((second * m2).T, [[0, 0.1, 0]])


def test_global_unstructured_none_entries_and_masks():
    a = np.array([[5.0, 1.0]])
    b = np.array([[2.0, 3.0, 4.0]])
    m_a, m_b = M.global_unstructured([a, b], amount=2, importance_scores=[None, b],
                                     masks=[None, np.array([[1, 1, 0]])])
    # remaining: 5, 1, 2, 3 -> prune 1 and 2
    np.testing.assert_array_equal(m_a, [[1, 0]])
    np.testing.assert_array_equal(m_b, [[0, 1, 0]])


def test_custom_from_mask_literal():
    new = np.array([[0, 1, 1, 0], [0, 0, 1, 1]])
    old = np.array([[0, 0, 0, 0], [1, 1, 1, 1]])
    t = np.zeros((2, 4), dtype=np.float32)
    out = M.custom_from_mask(t, new, existing_mask=old)
    np.testing.assert_array_equal(out, [[0, 0, 0, 0], [0, 0, 1, 1]])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(M.custom_from_mask(t, new.astype(bool)), new)


def test_identity():
    np.testing.assert_array_equal(M.identity(W), np.ones_like(W))
    prior = np.array([[1, 0], [1, 1], [0, 1], [1, 1]])
    out = M.identity(W, mask=prior)
    np.testing.assert_array_equal(out, prior)
    assert out.dtype == np.float32


def test_random_structured_removes_whole_slices():
    t = 2.0 * np.random.default_rng(0).integers(-1, 2, size=(5, 4, 2))
    mask = M.random_structured(t, 0.6, dim=2)  # round(0.6 * 2) = 1 of the 2 slices
    per_slice_zeros = sorted((mask == 0).sum(axis=(0, 1)).tolist())
    assert per_slice_zeros == [0, 20]


def test_unstructured_same_magnitude_prunes_exact_count():
    t = 2.0 * np.random.default_rng(1).integers(-1, 2, size=(10, 7))
    mask = M.l1_unstructured(t, 0.2)
    assert int((mask == 0).sum()) == compute_count(0.2, 70)


def test_integer_weights_give_float64_masks():
    mask = M.l1_unstructured(np.array([[3, 1], [2, 4]]), 1)
    assert mask.dtype == np.float64
    np.testing.assert_array_equal(mask, [[1, 0], [1, 1]])


# ---------------------------------------------------------------------- ties
def test_ties_broken_by_lowest_flat_index():
    t = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 1.0]])
    np.testing.assert_array_equal(M.l1_unstructured(t, 2), [[0, 0, 1], [1, 1, 1]])
    # an existing mask removes candidates; the next lowest indices go next
    np.testing.assert_array_equal(M.l1_unstructured(t, 2, mask=[[0, 1, 1], [1, 1, 1]]), [[0, 0, 0], [1, 1, 1]])


def test_structured_ties_broken_by_lowest_slice_index():
    t = np.array([[1.0, -1.0, 1.0, 3.0], [1.0, 1.0, -1.0, 0.0]])  # column norms: sqrt2, sqrt2, sqrt2, 3
    np.testing.assert_array_equal(M.ln_structured(t, 2, n=2, dim=1), [[0, 0, 1, 1], [0, 0, 1, 1]])


def test_global_ties_prefer_the_earlier_array():
    m1, m2 = M.global_unstructured([np.array([1.0, 5.0]), np.array([1.0, 5.0])], 1)
    np.testing.assert_array_equal(m1, [0, 1])
    np.testing.assert_array_equal(m2, [1, 1])


# ---------------------------------------------------------------------- repeated pruning
def test_twenty_percent_twice_prunes_thirty_six_percent():
    t = np.random.default_rng(2).normal(size=(20, 25))  # 500 entries
    first = M.l1_unstructured(t, 0.2)
    second = M.l1_unstructured(t, 0.2, mask=first)
    assert (first == 0).sum() == 100
    assert (second == 0).sum() == 180  # 100 + round(0.2 * 400) = 36% of 500
    assert np.all(second[first == 0] == 0)


def test_random_unstructured_twice_respects_mask_and_counts():
    t = np.ones((10, 10))
    first = M.random_unstructured(t, 0.2, seed=1)
    second = M.random_unstructured(t, 0.2, mask=first, seed=2)
    assert (first == 0).sum() == 20 and (second == 0).sum() == 36
    assert np.all(second[first == 0] == 0)


def test_structured_again_counts_only_remaining_slices():
    t = np.random.default_rng(3).normal(size=(6, 10))
    first = M.ln_structured(t, 0.5, n=2, dim=1)  # 5 of 10 columns
    second = M.ln_structured(t, 0.4, n=2, dim=1, mask=first)  # round(0.4 * 5) = 2 more
    dead = (second == 0).all(axis=0)
    assert dead.sum() == 7
    assert np.all(dead[(first == 0).all(axis=0)])


def test_partially_masked_slice_still_counts_as_remaining():
    t = np.arange(1.0, 13.0).reshape(3, 4)
    prior = np.ones((3, 4))
    prior[0, 0] = 0  # column 0 partially masked: still a remaining slice
    mask = M.random_structured(t, 1.0, dim=1, mask=prior)
    assert np.all(mask == 0)


def test_random_functions_are_seeded():
    t = np.random.default_rng(4).normal(size=(8, 9))
    np.testing.assert_array_equal(M.random_unstructured(t, 0.5, seed=7), M.random_unstructured(t, 0.5, seed=7))
    assert not np.array_equal(M.random_unstructured(t, 0.5, seed=7), M.random_unstructured(t, 0.5, seed=8))
    np.testing.assert_array_equal(M.random_structured(t, 3, dim=0, seed=7), M.random_structured(t, 3, dim=0, seed=7))


def test_inputs_are_not_modified():
    t = np.random.default_rng(5).normal(size=(4, 5)).astype(np.float32)
    prior = np.ones((4, 5), dtype=np.float32)
    prior[0, 0] = 0
    t_copy, prior_copy = t.copy(), prior.copy()
    for fn in (lambda: M.l1_unstructured(t, 3, mask=prior), lambda: M.random_unstructured(t, 3, mask=prior),
               lambda: M.ln_structured(t, 1, 2, 1, mask=prior), lambda: M.random_structured(t, 1, 1, mask=prior),
               lambda: M.identity(t, mask=prior), lambda: M.global_unstructured([t], 3, masks=[prior])):
        fn()
        np.testing.assert_array_equal(t, t_copy)
        np.testing.assert_array_equal(prior, prior_copy)


# ---------------------------------------------------------------------- errors
def test_amount_errors_propagate_with_torch_types():
    with pytest.raises(ValueError, match=r"amount=1.5 must be a float in \[0, 1\]"):
        M.l1_unstructured(W, 1.5)
    with pytest.raises(TypeError, match="amount='a lot'"):
        M.random_unstructured(W, "a lot")
    with pytest.raises(ValueError, match="larger than the 6 entries"):
        M.l1_unstructured(W, 7, mask=np.array([[0, 1], [1, 1], [1, 0], [1, 1]]))
    with pytest.raises(ValueError, match="larger than the 2 entries"):
        M.ln_structured(W, 3, n=2, dim=1)


def test_mask_errors():
    with pytest.raises(ValueError, match=r"mask has shape \(2, 4\); it must match the weight's shape \(4, 2\)"):
        M.l1_unstructured(W, 1, mask=np.ones((2, 4)))
    with pytest.raises(ValueError, match="mask must hold only 0 and 1 .*found 0.5"):
        M.l1_unstructured(W, 1, mask=np.full((4, 2), 0.5))
    with pytest.raises(TypeError, match="mask must hold 0s and 1s"):
        M.identity(W, mask=np.array([["a"] * 2] * 4))
    with pytest.raises(ValueError, match=r"masks\[1\] has shape"):
        M.global_unstructured([W, W], 1, masks=[None, np.ones(3)])
    with pytest.raises(ValueError, match="existing_mask has shape"):
        M.custom_from_mask(W, np.ones((4, 2)), existing_mask=np.ones((4, 3)))
    with pytest.raises(TypeError, match="custom_from_mask needs"):
        M.custom_from_mask(W, None)


def test_score_errors():
    with pytest.raises(ValueError, match=r"importance_scores has shape \(2, 4\); it must match"):
        M.l1_unstructured(W, 1, importance_scores=TORCH_W)
    bad = np.ones((4, 2))
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="importance_scores contains NaN at 1 position"):
        M.l1_unstructured(W, 1, importance_scores=bad)
    with pytest.raises(ValueError, match="importance_scores contains NaN"):
        M.ln_structured(W, 1, n=2, dim=1, importance_scores=bad)
    with pytest.raises(ValueError, match=r"importance_scores\[0\] contains NaN"):
        M.global_unstructured([W], 1, importance_scores=[bad])
    with pytest.raises(ValueError, match="W contains NaN"):
        M.l1_unstructured(bad, 1)
    # inf is a legitimate score (never pruned first)
    inf_scores = np.ones((4, 2))
    inf_scores[0, 0] = np.inf
    assert M.l1_unstructured(W, 7, importance_scores=inf_scores)[0, 0] == 1


def test_dim_and_norm_errors():
    with pytest.raises(ValueError, match=r"dim=2 is out of range for an array with 2 dimensions; allowed: -2 to 1"):
        M.ln_structured(W, 1, n=2, dim=2)
    with pytest.raises(ValueError, match="dim=-3 is out of range"):
        M.random_structured(W, 1, dim=-3)
    with pytest.raises(TypeError, match="dim=0.5 must be an int"):
        M.ln_structured(W, 1, n=2, dim=0.5)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        M.ln_structured(np.ones(4), 1, n=2, dim=0)
    with pytest.raises(ValueError, match=r"n='nuc' is not a supported norm; allowed: a number > 0, inf, -inf or 'fro'"):
        M.ln_structured(W, 1, n="nuc", dim=1)
    with pytest.raises(ValueError, match="n=-1 is not a supported norm"):
        M.ln_structured(W, 1, n=-1, dim=1)
    with pytest.raises(TypeError, match="n=None must be"):
        M.ln_structured(W, 1, n=None, dim=1)


def test_weight_and_list_errors():
    with pytest.raises(TypeError, match="W must hold numbers"):
        M.l1_unstructured(np.array(["a", "b"]), 1)
    with pytest.raises(ValueError, match="at least one dimension"):
        M.l1_unstructured(np.float64(3.0), 0)
    with pytest.raises(TypeError, match="weights must be a list of arrays"):
        M.global_unstructured(W, 1)
    with pytest.raises(ValueError, match="weights is an empty list"):
        M.global_unstructured([], 1)
    with pytest.raises(ValueError, match="importance_scores must be a list of 2 arrays"):
        M.global_unstructured([W, W], 1, importance_scores=[W])
    with pytest.raises(TypeError, match="seed=-1 must be a non-negative int"):
        M.random_unstructured(W, 1, seed=-1)


def test_norm_orders():
    t = np.array([[3.0, -1.0], [-4.0, 0.5]])  # columns (3, -4) and (-1, 0.5)
    np.testing.assert_allclose(M.slice_norms(t, 2, dim=1), [5.0, np.sqrt(1.25)])
    np.testing.assert_allclose(M.slice_norms(t, "fro", dim=1), [5.0, np.sqrt(1.25)])
    np.testing.assert_allclose(M.slice_norms(t, 1, dim=1), [7.0, 1.5])
    np.testing.assert_allclose(M.slice_norms(t, np.inf, dim=1), [4.0, 1.0])
    np.testing.assert_allclose(M.slice_norms(t, -np.inf, dim=1), [3.0, 0.5])
    np.testing.assert_allclose(M.slice_norms(t, 2, dim=0), [np.sqrt(10), np.sqrt(16.25)])


# ---------------------------------------------------------------------- properties (hypothesis)
weights = arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)),
                 elements=st.floats(-10, 10, allow_nan=False, width=64))


@settings(max_examples=60, deadline=None)
@given(weights, st.floats(0, 1), st.floats(0, 1))
def test_property_exact_count_and_nested(t, a, b):
    small, large = sorted((a, b))
    mask_small = M.l1_unstructured(t, small)
    mask_large = M.l1_unstructured(t, large)
    assert int((mask_small == 0).sum()) == compute_count(small, t.size)
    assert int((mask_large == 0).sum()) == compute_count(large, t.size)
    assert np.all(mask_large <= mask_small)  # nested: what the smaller amount prunes, the larger prunes too
    kept = np.abs(t[mask_large == 1])
    pruned = np.abs(t[mask_large == 0])
    if kept.size and pruned.size:
        assert pruned.max() <= kept.min()


@settings(max_examples=60, deadline=None)
@given(weights, st.lists(st.floats(0, 1), min_size=1, max_size=4), st.integers(0, 3))
def test_property_pruned_never_return(t, amounts, which):
    mask = None
    for step, a in enumerate(amounts):
        before = np.ones_like(t) if mask is None else mask
        remaining = int(before.sum())
        if which == 0:
            mask = M.l1_unstructured(t, a, mask=mask)
        elif which == 1:
            mask = M.random_unstructured(t, a, mask=mask, seed=step)
        elif which == 2:
            mask = M.ln_structured(t, a, n=1, dim=1, mask=mask)
        else:
            mask = M.global_unstructured([t], a, masks=None if mask is None else [mask])[0]
        assert np.all(mask[before == 0] == 0)
        if which in (0, 1, 3):
            assert int(before.sum() - mask.sum()) == compute_count(a, remaining)


@settings(max_examples=60, deadline=None)
@given(weights, st.floats(0, 1), st.sampled_from([0, 1, -1]), st.booleans())
def test_property_structured_removes_whole_slices(t, a, dim, use_random):
    mask = M.random_structured(t, a, dim=dim, seed=0) if use_random else M.ln_structured(t, a, n=2, dim=dim)
    axis = dim % 2
    other = 1 - axis
    per_slice = mask.sum(axis=other)
    assert set(np.unique(per_slice)).issubset({0.0, float(t.shape[other])})
    assert int((per_slice == 0).sum()) == compute_count(a, t.shape[axis])


@settings(max_examples=40, deadline=None)
@given(weights, st.floats(0, 1), st.floats(0, 1))
def test_property_structured_nested(t, a, b):
    small, large = sorted((a, b))
    assert np.all(M.ln_structured(t, large, n=2, dim=1) <= M.ln_structured(t, small, n=2, dim=1))


@settings(max_examples=40, deadline=None)
@given(weights, weights, st.floats(0, 1))
def test_property_global_equals_one_concatenated_array(t1, t2, a):
    m1, m2 = M.global_unstructured([t1, t2], a)
    joined = M.l1_unstructured(np.concatenate([t1.ravel(), t2.ravel()]), a)
    np.testing.assert_array_equal(np.concatenate([m1.ravel(), m2.ravel()]), joined)
