"""Every validation message in _checks.py: the symbol, the expectation and what was received."""
import numpy as np
import pytest

from pedagogy_lib.core import checks as ck


def test_as_array_returns_contiguous_float64():
    x = np.arange(6, dtype=np.int32).reshape(2, 3)[:, ::2]          # non-contiguous ints
    out = ck.as_array(x, "x", shape=(2, 2))
    assert out.dtype == np.float64 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, [[0, 2], [3, 5]])


def test_as_array_keeps_scalars_zero_dimensional():
    out = ck.as_array(2.5, "theta", ndim=0)
    assert out.shape == () and out == 2.5
    with pytest.raises(ValueError, match=r"theta must be a scalar; got an array of shape \(2,\)"):
        ck.as_array([1.0, 2.0], "theta", ndim=0)


def test_as_array_rejects_non_numeric():
    with pytest.raises(TypeError, match=r"y must be a numeric array; got str"):
        ck.as_array("abc", "y")


def test_shape_message_names_symbol_dims_and_received_shape():
    with pytest.raises(ValueError, match=r"Sigma_x must have shape \(K, K\) = \(2, 2\); got \(2, 3\)\."):
        ck.as_array(np.ones((2, 3)), "Sigma_x", shape=(2, 2), dims="(K, K)")


def test_shape_message_for_any_length_and_vectors():
    with pytest.raises(ValueError, match=r"y must have shape \(any, 3\); got \(4,\)\."):
        ck.as_array(np.ones(4), "y", shape=(None, 3))


def test_ndim_message():
    with pytest.raises(ValueError, match=r"mu_x must be a 1-D array of shape \(K,\); got an array of shape \(2, 2\)\."):
        ck.as_array(np.ones((2, 2)), "mu_x", ndim=1, dims="(K,)")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_entries_are_named_with_their_index(bad):
    x = np.zeros((2, 2))
    x[1, 0] = bad
    with pytest.raises(ValueError, match=r"C must be finite; got .* at index \(1, 0\)\."):
        ck.as_array(x, "C")


def test_non_finite_allowed_when_asked():
    out = ck.as_array([1.0, np.nan], "y", finite=False)
    assert np.isnan(out[1])


def test_symmetric_message_names_entry():
    S = np.array([[1.0, 0.5], [0.2, 1.0]])
    with pytest.raises(ValueError, match=r"Sigma is not symmetric: entry \(0, 1\) differs from \(1, 0\) by 0\.3"):
        ck.check_symmetric(S, "Sigma")


def test_square_required():
    with pytest.raises(ValueError, match=r"Sigma must be a square matrix; got shape \(2, 3\)"):
        ck.check_spd(np.ones((2, 3)), "Sigma")
    with pytest.raises(ValueError, match=r"Sigma must be a square matrix; got shape \(2, 3\)"):
        ck.check_symmetric(np.ones((2, 3)), "Sigma")


def test_spd_message_gives_smallest_eigenvalue_and_hint():
    S = np.array([[1.0, 0.0], [0.0, -0.5]])
    with pytest.raises(ValueError, match=r"Sigma1 is not symmetric positive definite \(Cholesky failed; "
                                         r"smallest eigenvalue -0\.5\).*Sigma1 \+ 1e-6 \* I"):
        ck.check_spd(S, "Sigma1")


def test_spd_returns_cholesky_factor_and_handles_stacks():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((3, 4, 4))
    S = M @ np.swapaxes(M, 1, 2) + np.eye(4)
    L = ck.check_spd(S, "Sigma")
    np.testing.assert_allclose(L @ np.swapaxes(L, 1, 2), S, atol=1e-12)
    S[2] = -np.eye(4)
    with pytest.raises(ValueError, match=r"Sigma\[2\] is not symmetric positive definite"):
        ck.check_spd(S, "Sigma")


def test_prob_vector_messages():
    with pytest.raises(ValueError, match=r"pi must sum to 1; it sums to 0\.9 "):
        ck.check_prob_vector(np.array([0.5, 0.4]), "pi")
    with pytest.raises(ValueError, match=r"pi must be non-negative; entry 1 is -0\.1"):
        ck.check_prob_vector(np.array([1.1, -0.1]), "pi")
    with pytest.raises(ValueError, match=r"pi must be a non-empty 1-D probability vector; got shape \(0,\)"):
        ck.check_prob_vector(np.array([]), "pi")
    ck.check_prob_vector(np.array([0.25, 0.75]), "pi")          # passes silently


def test_stochastic_matrix_defaults_to_columns_as_in_the_book():
    A = np.array([[0.9, 0.2], [0.1, 0.8]])                       # columns sum to one
    ck.check_stochastic_matrix(A, "A")
    with pytest.raises(ValueError, match=r"A must be row-stochastic: row 0 sums to 1\.1"):
        ck.check_stochastic_matrix(A, "A", axis=1)
    with pytest.raises(ValueError, match=r"A must be column-stochastic: column 1 sums to 1\.1"):
        ck.check_stochastic_matrix(np.array([[0.9, 0.3], [0.1, 0.8]]), "A")
    with pytest.raises(ValueError, match=r"A must be non-negative; entry \(0, 1\) is -0\.2"):
        ck.check_stochastic_matrix(np.array([[1.0, -0.2], [0.0, 1.2]]), "A")
    with pytest.raises(ValueError, match=r"A must be a non-empty square matrix; got shape \(2, 3\)"):
        ck.check_stochastic_matrix(np.ones((2, 3)) / 2, "A")


def test_emission_table_may_be_rectangular_and_must_have_unit_columns():
    ck.check_emission_table(np.array([[0.5, 0.1], [0.25, 0.1], [0.25, 0.8]]), "B")     # (V, K) = (3, 2)
    with pytest.raises(ValueError, match=r"B must be non-negative; entry \(1, 0\) is -0\.5"):
        ck.check_emission_table(np.array([[1.5, 1.0], [-0.5, 0.0]]), "B")
    with pytest.raises(ValueError, match=r"B must be column-stochastic \(B\[v, k\] = p\(y = v \| x = k\)\): "
                                         r"column 1 sums to 0\.9 "):
        ck.check_emission_table(np.array([[1.0, 0.4], [0.0, 0.5]]), "B")


def test_prob_rows_messages():
    ck.check_prob_rows(np.array([[0.2, 0.8], [1.0, 0.0]]), "r")
    with pytest.raises(ValueError, match=r"r must be non-negative; entry \(1, 1\) is -0\.1"):
        ck.check_prob_rows(np.array([[0.2, 0.8], [1.1, -0.1]]), "r")
    with pytest.raises(ValueError, match=r"each row of q must sum to 1; row 1 sums to 0\.5"):
        ck.check_prob_rows(np.array([[0.2, 0.8], [0.25, 0.25]]), "q")


def test_positive_messages():
    with pytest.raises(ValueError, match=r"lambda must be positive; got 0"):
        ck.check_positive(0.0, "lambda")
    with pytest.raises(ValueError, match=r"Lambda must be positive; entry 2 is -1"):
        ck.check_positive([1.0, 2.0, -1.0], "Lambda")
    with pytest.raises(ValueError, match=r"alpha must be non-negative; entry 0 is -1"):
        ck.check_positive([-1.0], "alpha", strict=False)
    assert ck.check_positive([0.0], "alpha", strict=False)[0] == 0.0


def test_int_messages():
    assert ck.check_int(np.int64(3), "N", minimum=1) == 3
    with pytest.raises(TypeError, match=r"N must be an integer; got float 2\.5"):
        ck.check_int(2.5, "N")
    with pytest.raises(TypeError, match=r"N must be an integer; got bool"):
        ck.check_int(True, "N")
    with pytest.raises(ValueError, match=r"N must be at least 1; got 0"):
        ck.check_int(0, "N", minimum=1)
    with pytest.raises(ValueError, match=r"frames must be at most 60; got 61"):
        ck.check_int(61, "frames", maximum=60)


def test_rng_must_be_a_generator():
    assert isinstance(ck.check_rng(np.random.default_rng(1)), np.random.Generator)
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator.*got int"):
        ck.check_rng(1)
    with pytest.raises(TypeError, match=r"got RandomState"):
        ck.check_rng(np.random.RandomState(0))


def test_choice_and_backend():
    assert ck.check_backend("numpy") == "numpy"
    with pytest.raises(ValueError, match=r"backend must be one of \{'numba', 'numpy'\}; got 'jax'"):
        ck.check_backend("jax")
    with pytest.raises(ValueError, match=r"form must be one of \{'a', 'b'\}; got 'c'"):
        ck.check_choice("c", "form", ("a", "b"))
