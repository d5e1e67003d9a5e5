"""Every validation message in _checks.py: the symbol, the expectation and what was received."""
import numpy as np
import pytest

from pedagogy_lib.core import checks as ck
from pedagogy_lib.core.kernels import spd_screen


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
    with pytest.raises(ValueError, match=r"backend must be one of \{'auto', 'numba', 'numpy'\}; got 'jax'"):
        ck.check_backend("jax")
    with pytest.raises(ValueError, match=r"form must be one of \{'a', 'b'\}; got 'c'"):
        ck.check_choice("c", "form", ("a", "b"))


# ---------------------------------------------------------------------------------------------
# Real, numeric input only: no silent casts, and the argument is named
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [np.array([1.0 + 2.0j, 0.0]), [1.0, 2j], np.array([1 + 0j]), 3j,
                                 np.array([1.0, 2j], dtype=object)])
def test_as_array_refuses_complex_input_instead_of_dropping_the_imaginary_part(bad):
    with pytest.raises(TypeError, match=r"^Sigma_x must be real; got complex"):
        ck.as_array(bad, "Sigma_x")


@pytest.mark.parametrize("bad,got", [("1.5", r"str '1\.5'"), (None, "NoneType None"), (["a", "b"], "list"),
                                     (np.array([1.0, None], dtype=object), "ndarray"), ({"a": 1}, "dict")])
def test_as_array_refuses_strings_and_other_non_numbers_naming_the_argument(bad, got):
    with pytest.raises(TypeError, match=rf"^lam must be a numeric array; got {got}") as info:
        ck.as_array(bad, "lam")
    assert "could not convert" not in str(info.value)


def test_as_array_accepts_ints_bools_and_numeric_object_arrays():
    np.testing.assert_array_equal(ck.as_array([True, 2, 3.5], "x"), [1.0, 2.0, 3.5])
    np.testing.assert_array_equal(ck.as_array(np.array([1, 2.5], dtype=object), "x"), [1.0, 2.5])


def test_as_array_ragged_input_is_named():
    with pytest.raises(TypeError, match=r"^y must be a numeric array; got a ragged nested list \(rows of different"):
        ck.as_array([[1.0, 2.0], [3.0]], "y")


def test_scalars():
    assert ck.as_scalar(np.float32(2.5), "beta") == 2.5 and isinstance(ck.as_scalar(2, "beta"), float)
    with pytest.raises(ValueError, match=r"^beta must be a scalar; got an array of shape \(2,\)"):
        ck.as_scalar([1.0, 2.0], "beta")
    with pytest.raises(TypeError, match=r"^beta must be a numeric array; got str 'x'"):
        ck.as_scalar("x", "beta")
    assert ck.positive_scalar(0.0, "tol", strict=False) == 0.0
    with pytest.raises(ValueError, match=r"^tol must be a scalar; got an array of shape \(2,\)"):
        ck.positive_scalar([1e-3, 1e-3], "tol")
    with pytest.raises(ValueError, match=r"^lr must be positive; got -1"):
        ck.positive_scalar(-1, "lr")
    with pytest.raises(TypeError, match=r"^lr must be a numeric array; got str 'fast'"):
        ck.positive_scalar("fast", "lr")


@pytest.mark.parametrize("x", [float("nan"), float("inf"), -float("inf"), -1.5, 0.0, -0.0, np.float64(-2.0),
                               np.float64("nan")])
@pytest.mark.parametrize("strict", [True, False])
def test_a_float_gets_the_same_answer_and_message_as_its_array(x, strict):
    """positive_scalar takes a float without making an array of it: the result, and the message when it
    fails, are those of the 0-d array of the same value."""
    def outcome(v):
        try:
            return repr(ck.positive_scalar(v, "eps", strict=strict))
        except ValueError as exc:
            return str(exc)
    assert outcome(x) == outcome(np.array(x))
    assert outcome(-x) == outcome(np.array(-x))


def test_probability_checks_refuse_a_nan_or_an_infinity_as_not_finite():
    """The quick pass (smallest entry and sums) lets nothing through that the full check refuses."""
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match=rf"^pi must be finite; got {bad} at index 1\."):
            ck.check_prob_vector(np.array([1.0, bad]), "pi")
        with pytest.raises(ValueError, match=rf"^A must be finite; got {bad} at index \(1, 0\)\."):
            ck.check_stochastic_matrix(np.array([[0.5, 0.5], [bad, 0.5]]), "A")


def test_positive_names_the_argument_for_strings():
    with pytest.raises(TypeError, match=r"^lambda must be a numeric array; got str 'abc'"):
        ck.check_positive("abc", "lambda")


# ---------------------------------------------------------------------------------------------
# Positive definite to working precision: singular matrices are refused
# ---------------------------------------------------------------------------------------------

def _rank_deficient(n, r, seed=0, scales=None):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    S = (Q[:, :r] * rng.uniform(0.5, 2.0, r)) @ Q[:, :r].T
    S = 0.5 * (S + S.T)
    if scales is not None:
        S = S * np.outer(scales, scales)
    return S


def test_singular_matrix_whose_cholesky_succeeds_on_rounding_noise_is_refused():
    # Cholesky "succeeds" on these only because rounding leaves a tiny positive pivot; check that
    # it does for at least one, so the test exercises the new check and not the old one
    passed_cholesky = 0
    for seed in range(40):
        S = _rank_deficient(3, 2, seed)
        try:
            np.linalg.cholesky(S)
            passed_cholesky += 1
            match = (r"^Sigma is not symmetric positive definite: it is singular to working precision \(scaled to "
                     r"unit diagonal, its smallest eigenvalue is .*n = 3\)")
        except np.linalg.LinAlgError:
            match = r"^Sigma is not symmetric positive definite \(Cholesky failed; .*It is singular"
        with pytest.raises(ValueError, match=match):
            ck.check_spd(S, "Sigma")
    assert passed_cholesky > 0


@pytest.mark.parametrize("n,r", [(2, 1), (5, 3), (10, 9), (30, 29)])
def test_singular_matrices_of_every_size_and_scaling_are_refused(n, r):
    scales = np.exp(np.random.default_rng(n).uniform(-8, 8, n))      # units differ by up to e^16
    for S in (_rank_deficient(n, r, n), _rank_deficient(n, r, n, scales)):
        with pytest.raises(ValueError, match=r"singular"):
            ck.check_spd(S, "S")


def test_exactly_singular_matrix_says_singular_when_cholesky_fails():
    with pytest.raises(ValueError, match=r"^Z is not symmetric positive definite \(Cholesky failed; smallest "
                                         r"eigenvalue 0\)\. It is singular"):
        ck.check_spd(np.zeros((2, 2)), "Z")
    with pytest.raises(ValueError, match=r"^Sigma1 is not symmetric positive definite \(Cholesky failed; smallest "
                                         r"eigenvalue -0\.5\)\. Check"):          # negative: not called singular
        ck.check_spd(np.diag([1.0, -0.5]), "Sigma1")


def test_ill_conditioned_but_positive_definite_matrices_pass():
    # badly scaled units are fine (the test is on the matrix scaled to unit diagonal) ...
    L = ck.check_spd(np.diag([1.0, 1e-20, 1e12]), "Sigma")
    np.testing.assert_allclose(np.diag(L), [1.0, 1e-10, 1e6])
    # ... and so is a correlation matrix with condition number 1e12, far above the tolerance
    rng = np.random.default_rng(1)
    for n in (2, 5, 20):
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        S = (Q * np.logspace(0, -12, n)) @ Q.T
        S = 0.5 * (S + S.T)
        d = 1.0 / np.sqrt(np.diag(S))
        assert np.linalg.eigvalsh(S * np.outer(d, d))[0] > 10 * ck.spd_tolerance(n)     # the premise
        ck.check_spd(S, "Sigma")
    assert ck.spd_tolerance(3) == pytest.approx(ck.SPD_ULPS * 3 * np.finfo(float).eps)



def _screen_cases(n, seed):
    """Matrices the SPD screen must tell apart: well and badly conditioned, badly scaled, singular,
    indefinite and slightly unsymmetric ones."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    scales = np.exp(rng.uniform(-6, 6, n))
    out = []
    for top in (1.0, 1e-4, 1e-9, 1e-13):
        S = (Q * np.logspace(0, np.log10(top), n)) @ Q.T
        S = 0.5 * (S + S.T)
        out += [S, S * np.outer(scales, scales)]
    out.append(_rank_deficient(n, max(n - 1, 1), seed))
    if n > 1:
        bad = np.eye(n)
        bad[0, 1] = 1e-6
        out += [bad, np.diag(np.r_[1.0, -np.ones(n - 1)])]
    return out


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 16])
def test_spd_screen_equals_its_twin_and_only_passes_what_the_full_check_passes(n):
    tol = ck.spd_tolerance(n)
    for seed in range(6):
        for S in _screen_cases(n, seed):
            ok_k, L_k = spd_screen(S, ck.SYM_RTOL, tol)
            ok_n, L_n = ck.spd_screen_numpy(S, ck.SYM_RTOL, tol)
            assert ok_k == ok_n
            if ok_k:
                # both are Cholesky factors to rounding (backward error; the factors themselves may
                # differ by the condition number times eps on ill-conditioned matrices)
                scale = np.sqrt(np.outer(np.diag(S), np.diag(S)))
                for L in (L_k, L_n):
                    assert np.all(np.abs(L @ L.T - S) <= 1e-13 * n * scale)
                    assert np.all(np.triu(L, 1) == 0)
                # a pass means positive definite with room to spare: the exact eigenvalue agrees
                d = 1.0 / np.sqrt(np.diag(S))
                assert np.linalg.eigvalsh(S * np.outer(d, d))[0] > tol


@pytest.mark.parametrize("n", [2, 4, 9, 30])
def test_frobenius_bound_is_a_lower_bound_within_a_factor_n(n):
    rng = np.random.default_rng(n)
    for _ in range(20):
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        S = (Q * np.exp(rng.uniform(-10, 0, n))) @ Q.T
        S = 0.5 * (S + S.T) * np.outer(*2 * [np.exp(rng.uniform(-3, 3, n))])
        d = 1.0 / np.sqrt(np.diag(S))
        lam = np.linalg.eigvalsh(S * np.outer(d, d))[0]
        bound = float(ck._frobenius_bound(S, np.linalg.cholesky(S)))
        assert lam / n * (1 - 1e-6) <= bound <= lam * (1 + 1e-6)

@pytest.mark.parametrize("scale", [1e-200, 1e+200])
@pytest.mark.parametrize("n", [2, 5, 16, 20])
def test_spd_screens_are_blind_to_units_at_extreme_scales(n, scale):
    # S_ii * S_jj underflows (overflows) at these scales, so no screen may form that product: the
    # compiled screen (n <= 16), its twin and the NumPy path (n > 16) all pass the positive definite
    # matrix, give a Cholesky factor of it, and refuse the singular one
    rng = np.random.default_rng(n)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    C = (Q * np.logspace(0, -3, n)) @ Q.T
    C = 0.5 * (C + C.T)
    S = scale * C
    tol = ck.spd_tolerance(n)
    for screen in (spd_screen, ck.spd_screen_numpy):
        ok, L = screen(S, ck.SYM_RTOL, tol)
        assert ok
        np.testing.assert_allclose(L / np.sqrt(scale), np.linalg.cholesky(C), rtol=1e-10, atol=1e-12)
    L = ck.check_spd(S, "S")
    np.testing.assert_allclose(L / np.sqrt(scale), np.linalg.cholesky(C), rtol=1e-10, atol=1e-12)
    singular = scale * _rank_deficient(n, n - 1, n)
    for screen in (spd_screen, ck.spd_screen_numpy):
        assert not screen(singular, ck.SYM_RTOL, tol)[0]
    with pytest.raises(ValueError, match=r"^S is not symmetric positive definite"):
        ck.check_spd(singular, "S")


def test_mvn_logpdf_at_extreme_scales_is_the_rescaled_density():
    from pedagogy_lib.gaussian import mvn_logpdf
    for n in (2, 20):
        for scale in (1e-200, 1e+200):
            # log N(0; 0, s I) = -n/2 log(tau s)
            expect = -0.5 * n * np.log(2 * np.pi * scale)
            assert mvn_logpdf(np.zeros(n), np.zeros(n), scale * np.eye(n)) == pytest.approx(expect, rel=1e-12)


def test_singular_member_of_a_stack_is_named():
    S = np.stack([np.eye(3), _rank_deficient(3, 1), np.eye(3)])
    with pytest.raises(ValueError, match=r"^Sigma\[1\] is not symmetric positive definite.*[Ss]ingular"):
        ck.check_spd(S, "Sigma")
    S[1] = np.eye(3)
    np.testing.assert_allclose(ck.check_spd(S, "Sigma"), S)


# ---------------------------------------------------------------------------------------------
# Sufficient statistics: positive semidefinite moments
# ---------------------------------------------------------------------------------------------

def test_psd_messages():
    ck.check_psd(np.array([[1.0, 1.0], [1.0, 1.0]]), "S")                     # singular is fine here
    with pytest.raises(ValueError, match=r"^S must be symmetric positive semidefinite \(a sum of squares\); "
                                         r"diagonal entry 1 is -2"):
        ck.check_psd(np.diag([1.0, -2.0]), "S")
    with pytest.raises(ValueError, match=r"^S\[1\] must be symmetric positive semidefinite \(a sum of outer "
                                         r"products\); its smallest eigenvalue is -1"):
        ck.check_psd(np.stack([np.eye(2), np.array([[1.0, 2.0], [2.0, 1.0]])]), "S")


def test_moments_must_come_from_non_negative_weights():
    rng = np.random.default_rng(0)
    d, w = rng.standard_normal((10, 2)), rng.uniform(size=10)
    N, s1, s2 = w.sum(), w @ d, (w[:, None] * d).T @ d
    ck.check_moments(N, s1, s2, ("N_k", "sum_d", "sum_dd"))
    with pytest.raises(ValueError, match=r"^N_k must be non-negative"):
        ck.check_moments(-N, s1, s2, ("N_k", "sum_d", "sum_dd"))
    with pytest.raises(ValueError, match=r"^sum_dd must be symmetric positive semidefinite"):
        ck.check_moments(N, s1, -s2, ("N_k", "sum_d", "sum_dd"))
    # the scatter about the mean, sum_dd - sum_d sum_d^T / N, would be indefinite
    with pytest.raises(ValueError, match=r"^sum_d\[1\] is inconsistent with N_k\[1\] and sum_dd\[1\]: the implied "
                                         r"scatter about the mean is not positive semidefinite"):
        ck.check_moments(np.array([N, N]), np.stack([s1, 10 * s1 + 5]), np.stack([s2, s2]), ("N_k", "sum_d", "sum_dd"))


# ---------------------------------------------------------------------------------------------
# At the library's boundary: inputs that used to pass through unvalidated
# ---------------------------------------------------------------------------------------------

def test_mvn_logpdf_refuses_a_covariance_with_a_zero_eigenvalue():
    from pedagogy_lib.gaussian import mvn_logpdf
    Sigma = _rank_deficient(3, 2, seed=3)
    with pytest.raises(ValueError, match=r"^Sigma is not symmetric positive definite.*[Ss]ingular"):
        mvn_logpdf(np.zeros(3), np.zeros(3), Sigma)


def test_particle_filter_refuses_a_singular_observation_covariance():
    from pedagogy_lib.lgssm import LGSSMParams
    from pedagogy_lib.smc import particle_filter
    v = np.array([[1.0], [2.0]]) / np.sqrt(5.0)
    Sigma_y_x = v @ v.T                                          # rank one, unit scale
    p = LGSSMParams(np.zeros(2), np.eye(2), 0.9 * np.eye(2), None, np.zeros(2), 0.1 * np.eye(2), np.eye(2),
                    np.zeros(2), Sigma_y_x)
    with pytest.raises(ValueError, match=r"^Sigma_y_x is not symmetric positive definite.*[Ss]ingular"):
        particle_filter(p, np.zeros((5, 2)), np.random.default_rng(0), 10)


@pytest.fixture(scope="module")
def gmm_stats():
    from pedagogy_lib.mixture import GMMParams, gmm_suff_stats
    rng = np.random.default_rng(0)
    params = GMMParams(np.array([0.5, 0.5]), np.array([[0.0, 0.0], [2.0, 2.0]]), np.stack([np.eye(2)] * 2))
    return params, gmm_suff_stats(params, rng.standard_normal((30, 2)))


def test_gmm_elbo_and_m_step_refuse_impossible_statistics(gmm_stats):
    from pedagogy_lib.mixture import gmm_elbo, gmm_m_step
    params, st = gmm_stats
    gmm_elbo(params, st)
    for fn in (lambda s: gmm_elbo(params, s), gmm_m_step):
        with pytest.raises(ValueError, match=r"^stats.sum_dd\[0\] must be symmetric positive semidefinite"):
            fn(st._replace(sum_dd=-st.sum_dd))                   # negative sums of squares
        with pytest.raises(ValueError, match=r"^stats.sum_d\[1\] is inconsistent with stats.N_k\[1\]"):
            fn(st._replace(sum_d=st.sum_d * np.array([[1.0], [100.0]])))
        with pytest.raises(ValueError, match=r"^stats.entropy .* must be non-negative; got -1"):
            fn(st._replace(entropy=-1.0))
        with pytest.raises(TypeError, match=r"^stats.N_k must be real; got complex"):
            fn(st._replace(N_k=st.N_k + 0j))


def test_gmm_suff_stats_refuses_zero_rows(gmm_stats):
    from pedagogy_lib.mixture import gmm_suff_stats, gmm_stats_from_responsibilities
    params, _ = gmm_stats
    with pytest.raises(ValueError, match=r"^y must have at least one row \(observation\), shape \(N, L\); got \(0, 2\)"):
        gmm_suff_stats(params, np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"^y must have at least one row and one column"):
        gmm_stats_from_responsibilities(np.zeros((0, 2)), np.zeros((0, 2)))


def test_hmm_statistics_are_checked():
    from pedagogy_lib.hmm import GaussianHMMParams, hmm_expected_log_joint, hmm_m_step, hmm_suff_stats
    rng = np.random.default_rng(1)
    p = GaussianHMMParams(np.array([0.5, 0.5]), np.array([[0.9, 0.2], [0.1, 0.8]]), np.array([[0.0, 0.0], [2.0, 2.0]]),
                          np.stack([np.eye(2)] * 2))
    st = hmm_suff_stats(p, rng.standard_normal((20, 2)))
    hmm_expected_log_joint(p, st)
    for fn in (lambda s: hmm_expected_log_joint(p, s), hmm_m_step):
        with pytest.raises(ValueError, match=r"^stats.sum_dd\[0\] must be symmetric positive semidefinite"):
            fn(st._replace(sum_dd=-st.sum_dd))
        with pytest.raises(ValueError, match=r"^stats.entropy .* must be non-negative"):
            fn(st._replace(entropy=-5.0))
        with pytest.raises(TypeError, match=r"^stats.log_lik must be a numeric array; got str"):
            fn(st._replace(log_lik="-3"))


def test_lgssm_statistics_are_checked():
    from pedagogy_lib.lgssm import LGSSMParams
    from pedagogy_lib.lgssm.em import lgssm_expected_log_joint, lgssm_m_step, lgssm_suff_stats
    p = LGSSMParams(np.zeros(2), np.eye(2), 0.9 * np.eye(2), None, np.zeros(2), 0.1 * np.eye(2), np.eye(2),
                    np.zeros(2), 0.5 * np.eye(2))
    st = lgssm_suff_stats(p, np.random.default_rng(2).standard_normal((15, 2)))
    lgssm_expected_log_joint(p, st)
    for fn in (lambda s: lgssm_expected_log_joint(p, s), lambda s: lgssm_m_step(s, p)):
        with pytest.raises(ValueError, match=r"^\[\[stats.S_w, stats.S_yw\^T\], \[stats.S_yw, stats.S_yy\]\] must be "
                                             r"symmetric positive semidefinite"):
            fn(st._replace(S_yy=-st.S_yy))
        with pytest.raises(ValueError, match=r"^stats.P1_sum must be symmetric positive semidefinite"):
            fn(st._replace(P1_sum=-st.P1_sum))
    with pytest.raises(TypeError, match=r"^old_params must be an LGSSMParams; got NoneType"):
        lgssm_m_step(st, None)


def test_float_arguments_given_as_strings_or_arrays_are_named():
    from pedagogy_lib.mixture import fit_gmm
    from pedagogy_lib.learning.regression import linear_regression, bayesian_linear_regression
    y = np.random.default_rng(0).standard_normal((20, 2))
    with pytest.raises(TypeError, match=r"^reg_covar must be a numeric array; got str '1e-6'"):
        fit_gmm(y, 2, rng=np.random.default_rng(0), reg_covar="1e-6")
    with pytest.raises(ValueError, match=r"^tol must be a scalar; got an array of shape \(2,\)"):
        fit_gmm(y, 2, rng=np.random.default_rng(0), tol=[1e-3, 1e-3])
    X = np.random.default_rng(1).standard_normal((20, 2))
    with pytest.raises(TypeError, match=r"^ridge must be a numeric array; got str '0.1'"):
        linear_regression(X, y[:, 0], ridge="0.1")
    with pytest.raises(TypeError, match=r"^noise_variance must be a numeric array; got str"):
        bayesian_linear_regression(X, y[:, 0], 1.0, "0.5")
    with pytest.raises(TypeError, match=r"^X must be real; got complex"):
        linear_regression(X + 1e-3j, y[:, 0])


def test_messages_name_the_argument_the_caller_passed():
    from pedagogy_lib.mixture import fit_gmm
    from pedagogy_lib.factor import FAParams
    from pedagogy_lib.factor.em import fa_em_step
    y = np.random.default_rng(0).standard_normal((20, 3))
    with pytest.raises(TypeError, match=r"^init must be a GMMParams"):
        fit_gmm(y, 2, init=None)
    with pytest.raises(ValueError, match=r"^init.pi must sum to 1"):
        fit_gmm(y, 2, init=(np.array([0.5, 0.6]), np.zeros((2, 3)), np.stack([np.eye(3)] * 2)))
    with pytest.raises(ValueError, match=r"^params must be FAParams with C of shape \(L, K\) = \(3, 1\)"):
        fa_em_step(FAParams(np.ones((2, 1)), np.zeros(2), np.ones(2)), y)


def test_nn_elementwise_functions_and_optimizers():
    from pedagogy_lib import nn
    with pytest.raises(TypeError, match=r"^a must be a numeric array; got NoneType None"):
        nn.sigmoid(None)
    with pytest.raises(TypeError, match=r"^a must be real; got complex"):
        nn.softplus(np.array([1j]))
    params = [np.ones(2), np.zeros((2, 2))]
    grads = [[0.5, -0.5], [[1.0, 2.0], [3.0, 4.0]]]                  # nested lists, as SGD always accepted
    for opt in (nn.SGD(0.1), nn.Adam(0.1)):
        new, _ = opt.step(params, grads, opt.init(params))
        assert all(isinstance(a, np.ndarray) and a.dtype == np.float64 for a in new)
        assert new[0][0] < 1.0 < new[0][1] and np.all(new[1] < 0)     # each moved against its gradient
        with pytest.raises(TypeError, match=r"^grads\[0\] must be real; got complex"):
            opt.step(params, [np.ones(2) * 1j, np.ones((2, 2))], opt.init(params))


def test_logsumexp_refuses_non_numbers():
    from pedagogy_lib.core.logmath import logsumexp
    with pytest.raises(TypeError, match=r"^z must be a numeric array; got NoneType"):
        logsumexp(None)
    with pytest.raises(TypeError, match=r"^z must be real; got complex"):
        logsumexp(np.array([1.0, 1j]))


def test_as_array_takes_float64_arrays_as_they_are_and_still_finds_every_non_finite_entry():
    """A C-contiguous, writeable, finite float64 array of the asked shape comes back as itself after one test;
    anything else is converted or refused as before."""
    x = np.ones((3, 2))
    assert ck.as_array(x, "x", shape=(None, 2)) is x
    assert ck.as_array(np.ones((3, 2), dtype=int), "x", shape=(3, 2)).dtype == np.float64
    strided = np.ones((3, 4))[:, ::2]
    assert ck.as_array(strided, "x", shape=(3, 2)).flags.c_contiguous
    huge = np.array([1e200, -1e300, 1.0])                  # finite, but its sum of squares overflows
    assert ck.as_array(huge, "x", ndim=1) is huge
    for bad in ([1e200, np.inf, 1.0], [np.nan, 1.0, 1.0], [1e300, 1e300, -np.inf]):
        with pytest.raises(ValueError, match=r"x must be finite"):
            ck.as_array(np.array(bad), "x", ndim=1)


def test_replaced_fields_applies_changes_and_refuses_a_name_that_is_no_field():
    from typing import NamedTuple

    from pedagogy_lib.core.checks import replaced_fields

    class Pair(NamedTuple):
        a: int
        b: int

    assert replaced_fields(Pair(1, 2), {"b": 5}) == {"a": 1, "b": 5}
    with pytest.raises(ValueError, match=r"Pair has no field\(s\) \['c'\]; its fields are \('a', 'b'\)"):
        replaced_fields(Pair(1, 2), {"c": 3})


def test_containers_validated_when_built_refuse_an_unknown_field_in_replace():
    from pedagogy_lib.graphical.tree import make_pairwise_tree
    tree = make_pairwise_tree([-1, 0], np.ones((2, 2)), np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="PairwiseTree has no field"):
        tree._replace(potentials=None)
