"""Kalman filter and RTS smoother (Section 2.2.2) against a dense joint-Gaussian oracle and peers."""
import inspect
import warnings

import numpy as np
import pytest
from scipy.linalg import solve_discrete_are

from pedagogy_lib.gaussian import blocks as gaussian
from pedagogy_lib.lgssm import kernels
from pedagogy_lib.lgssm.kalman import KalmanFilterResult, kalman_filter, kalman_smoother, rts_smoother
from pedagogy_lib.lgssm.model import LGSSMParams, sample_lgssm

from oracle_lgssm import oracle_filter, oracle_log_evidence, oracle_smoother

BACKENDS = ["numba", "numpy"]
FORMS = ["covariance", "information"]


def _spd(rng, k, scale=1.0):
    M = rng.standard_normal((k, k))
    return scale * (M @ M.T / k + 0.5 * np.eye(k))


def random_problem(seed, n=3, m=2, n_u=2, T=6, missing=(2,), diag_R=False):
    """A random LGSSM with controls, offsets and whole missing rows of y."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    A *= 0.95 / max(1e-12, np.max(np.abs(np.linalg.eigvals(A))))
    R = np.diag(rng.uniform(0.3, 1.5, m)) if diag_R else _spd(rng, m)
    params = LGSSMParams(mu1=rng.standard_normal(n), Sigma1=_spd(rng, n), A=A,
                         B=rng.standard_normal((n, n_u)) if n_u else None, a=rng.standard_normal(n),
                         Sigma_x=_spd(rng, n, 0.5), C=rng.standard_normal((m, n)), c=rng.standard_normal(m),
                         Sigma_y_x=R)
    u = rng.standard_normal((T - 1, n_u)) if n_u else None
    _, y = sample_lgssm(params, T, rng=rng, u=u)
    for t in missing:
        y[t] = np.nan
    return params, y, u


# ---------------------------------------------------------------- against the dense oracle

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("form", FORMS)
def test_filter_equals_conditioning_the_stacked_gaussian_on_each_prefix(backend, form):
    """The filtered moments (Eq. 2.45) and the predicted ones (Eq. 2.46, starting from the prior of
    Eq. 2.49) are the conditional moments of the stacked Gaussian given each prefix of the data."""
    params, y, u = random_problem(0, missing=(0, 3))        # a missing first row too
    res = kalman_filter(params, y, u, form=form, backend=backend)
    mp, Up, mf, Uf = oracle_filter(params, y, u)
    np.testing.assert_allclose(res.mu_pred, mp, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.Upsilon_pred, Up, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.mu_filt, mf, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.Upsilon_filt, Uf, rtol=1e-9, atol=1e-10)
    assert np.all(res.K[[0, 3]] == 0.0)                     # no gain where y is missing


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("form", FORMS)
def test_smoother_and_cross_covariance_equal_the_dense_posterior(backend, form):
    params, y, u = random_problem(1, n=2, m=3, n_u=1, T=7, missing=(4,))
    res = kalman_smoother(params, y, u, form=form, backend=backend)
    ms, Us, cross = oracle_smoother(params, y, u)
    np.testing.assert_allclose(res.mu_smooth, ms, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.Upsilon_smooth, Us, rtol=1e-9, atol=1e-10)
    # Eq. 2.55 orientation: Upsilon_cross[t] = Cov[x_{t+1}, x_t | y] = Upsilon_smooth[t+1] J[t]^T
    np.testing.assert_allclose(res.Upsilon_cross, cross, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.Upsilon_cross, res.Upsilon_smooth[1:] @ np.swapaxes(res.J, 1, 2), atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("form", FORMS)
def test_log_evidence_equals_stacked_density_and_factors_are_prefix_differences(backend, form):
    params, y, u = random_problem(2, n=2, m=4, n_u=0, T=6, missing=(1,), diag_R=True)
    res = kalman_filter(params, y, u, form=form, backend=backend)
    np.testing.assert_allclose(res.log_evidence, oracle_log_evidence(params, y, u), rtol=1e-10)
    prefix = np.array([oracle_log_evidence(params, y, u, upto=t) for t in range(y.shape[0] + 1)])
    np.testing.assert_allclose(res.log_p_y, np.diff(prefix), rtol=1e-9, atol=1e-10)   # Eq. 2.40 factors
    assert res.log_p_y[1] == 0.0                              # the missing step contributes nothing


def test_one_step_is_the_section_2_1_2_posterior():
    params, y, _ = random_problem(3, n=3, m=2, n_u=0, T=1, missing=())
    post = gaussian.bayes_invert(params.mu1, params.Sigma1, params.C, params.c, params.Sigma_y_x, y[0])
    res = kalman_smoother(params, y)
    np.testing.assert_allclose(res.mu_filt[0], post.mu, rtol=1e-12)
    np.testing.assert_allclose(res.Upsilon_filt[0], post.Sigma, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.K[0], post.gain, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.log_evidence, post.log_evidence, rtol=1e-12)
    assert res.J.shape == (0, 3, 3) and res.Upsilon_cross.shape == (0, 3, 3)


# ---------------------------------------------------------------- structural properties

@pytest.mark.parametrize("backend", BACKENDS)
def test_smoother_equals_filter_at_the_last_step(backend):
    params, y, u = random_problem(4)
    res = kalman_smoother(params, y, u, backend=backend)
    assert np.array_equal(res.mu_smooth[-1], res.mu_filt[-1])
    assert np.array_equal(res.Upsilon_smooth[-1], res.Upsilon_filt[-1])


@pytest.mark.slow
def test_backward_pass_never_touches_emission_parameters_or_data():
    params, y, u = random_problem(5, missing=())
    full = kalman_smoother(params, y, u)
    filt = kalman_filter(params, y, u)
    # rts_smoother's signature has no emission parameter, observation or control ...
    assert list(inspect.signature(rts_smoother).parameters) == ["A", "filt", "backend"]
    assert list(inspect.signature(kernels.rts_backward.py_func).parameters) == [
        "mu_pred", "Upsilon_pred", "mu_filt", "Upsilon_filt", "J", "mu_smooth", "Upsilon_smooth", "Upsilon_cross",
        "blas"]
    assert list(inspect.signature(kernels.rts_gains.py_func).parameters) == ["A", "Upsilon_pred", "Upsilon_filt", "J",
                                                                              "blas"]
    # ... and poisoning everything the emission produced (gains, evidence) changes nothing.
    poisoned = filt._replace(K=np.full_like(filt.K, np.nan), log_p_y=np.full_like(filt.log_p_y, np.nan))
    for backend in BACKENDS:
        sm = rts_smoother(params.A, poisoned, backend=backend)
        np.testing.assert_allclose(sm.mu_smooth, full.mu_smooth, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(sm.Upsilon_smooth, full.Upsilon_smooth, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(sm.Upsilon_cross, full.Upsilon_cross, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(sm.J, full.J, rtol=1e-10, atol=1e-12)   # forward-pass J = backward-pass J


def test_covariances_and_gains_do_not_depend_on_the_data_values():
    params, y, u = random_problem(6, missing=(1,))
    y2 = y + 10.0 * np.random.default_rng(60).standard_normal(y.shape)
    a, b = kalman_smoother(params, y, u), kalman_smoother(params, y2, u)
    for field in ("Upsilon_pred", "Upsilon_filt", "K", "Upsilon_smooth", "J", "Upsilon_cross"):
        np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-12, atol=1e-14)
    assert not np.allclose(a.mu_smooth, b.mu_smooth)


def test_controls_can_be_folded_into_a_time_varying_offset():
    """Section 2.2.2: B u_{t-1} + a is just a time-varying offset; with u = e_t and B = offsets it matches."""
    params, y, u = random_problem(7, n_u=2)
    res = kalman_smoother(params, y, u)
    T, n = y.shape[0], params.mu1.shape[0]
    offsets = u @ params.B.T + params.a                      # (T-1, n)
    p2 = params._replace(B=offsets.T, a=np.zeros(n))
    res2 = kalman_smoother(p2, y, np.eye(T - 1))
    np.testing.assert_allclose(res2.mu_smooth, res.mu_smooth, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res2.log_evidence, res.log_evidence, rtol=1e-12)


def test_steady_state_prediction_covariance_solves_the_dare():
    rng = np.random.default_rng(8)
    n, m = 3, 2
    params = LGSSMParams(np.zeros(n), np.eye(n), 0.9 * np.linalg.qr(rng.standard_normal((n, n)))[0], None,
                         np.zeros(n), _spd(rng, n), rng.standard_normal((m, n)), np.zeros(m), _spd(rng, m))
    res = kalman_filter(params, np.zeros((200, m)))
    P = solve_discrete_are(params.A.T, params.C.T, params.Sigma_x, params.Sigma_y_x)
    np.testing.assert_allclose(res.Upsilon_pred[-1], P, rtol=1e-10)
    # scalar random walk closed form: P = (q + sqrt(q^2 + 4 q r)) / 2, K = P / (P + r)
    q, r = 0.3, 2.0
    one = np.ones(1)
    p1 = LGSSMParams(0 * one, np.eye(1), np.eye(1), None, 0 * one, q * np.eye(1), np.eye(1), 0 * one, r * np.eye(1))
    res1 = kalman_filter(p1, np.zeros((200, 1)))
    P1 = (q + np.sqrt(q * q + 4 * q * r)) / 2
    np.testing.assert_allclose(res1.Upsilon_pred[-1, 0, 0], P1, rtol=1e-12)
    np.testing.assert_allclose(res1.K[-1, 0, 0], P1 / (P1 + r), rtol=1e-12)


def test_stable_A_can_still_inflate_the_prediction_covariance():
    """Erratum, Section 2.2.2 after Eq. 2.48: spectral radius < 1 does not make A Upsilon A^T smaller than Upsilon."""
    A = np.array([[0.5, 10.0], [0.0, 0.5]])
    assert np.max(np.abs(np.linalg.eigvals(A))) < 1
    two = np.zeros(2)
    params = LGSSMParams(two, np.eye(2), A, None, two, 1e-9 * np.eye(2), np.eye(2), two, np.eye(2))
    y = np.full((2, 2), np.nan)                               # no data: pure time update
    res = kalman_filter(params, y)
    growth = np.linalg.eigvalsh(res.Upsilon_pred[1] - res.Upsilon_filt[0])
    assert growth.max() > 90                                  # I - A A^T has eigenvalue about -99.5


@pytest.mark.parametrize("form", FORMS)
def test_long_run_covariances_stay_symmetric_positive_definite_and_ordered(form):
    rng = np.random.default_rng(9)
    n, m, T = 4, 12, 10_000
    theta = 0.05
    R2 = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    A = np.kron(np.eye(2), R2)                                # marginally stable (rotations)
    params = LGSSMParams(np.zeros(n), 100.0 * np.eye(n), A, None, np.zeros(n), 1e-4 * np.eye(n),
                         rng.standard_normal((m, n)), np.zeros(m), np.diag(rng.uniform(0.01, 0.1, m)))
    _, y = sample_lgssm(params, T, rng=rng)
    y[::7] = np.nan
    res = kalman_smoother(params, y, form=form)
    for name in ("Upsilon_pred", "Upsilon_filt", "Upsilon_smooth"):
        S = getattr(res, name)
        assert np.array_equal(S, np.swapaxes(S, 1, 2)), name
        assert np.linalg.eigvalsh(S).min() > 0, name
    # Loewner order: smoothing and filtering can only remove uncertainty (tolerance: rounding)
    tol = 1e-10 * np.abs(res.Upsilon_pred).max()
    assert np.linalg.eigvalsh(res.Upsilon_filt - res.Upsilon_smooth).min() > -tol
    assert np.linalg.eigvalsh(res.Upsilon_pred - res.Upsilon_filt).min() > -tol
    assert np.isfinite(res.log_evidence)


# ---------------------------------------------------------------- kernel vs twin, forms

def test_numba_kernel_matches_numpy_twin_on_random_problems():
    for seed in range(12):
        rng = np.random.default_rng(100 + seed)
        n, m, n_u = (int(v) for v in rng.integers(1, 5, 3))
        n_u, T = n_u - 1, int(rng.integers(1, 9))
        missing = tuple(int(t) for t in rng.choice(T, size=int(rng.integers(0, 2)), replace=False))
        params, y, u = random_problem(100 + seed, n=n, m=m, n_u=n_u, T=T, missing=missing,
                                      diag_R=bool(seed % 2))
        for form in FORMS:
            a = kalman_smoother(params, y, u, form=form, backend="numba")
            b = kalman_smoother(params, y, u, form=form, backend="numpy")
            assert a.form == b.form
            for name, x1, x2 in zip(a._fields[:-1], a[:-1], b[:-1]):
                np.testing.assert_allclose(x1, x2, rtol=1e-10, atol=1e-10, err_msg=f"{name}, seed {seed}, {form}")


@pytest.mark.slow
@pytest.mark.parametrize("form", FORMS)
def test_kernel_py_func_agrees_with_compiled_kernel(form):
    """Each form's kernel, compiled and run as plain Python (its inlined steps too), gives the same output."""
    from pedagogy_lib.lgssm import kalman

    params, y, u = random_problem(11, missing=(3,))
    p = params
    T, n, m = y.shape[0], 3, 2
    observed = np.isfinite(y[:, 0]).astype(np.uint8)
    y = np.where(np.isfinite(y), y, 0.0)

    def outputs():
        return (np.zeros((T, n)), np.zeros((T, n, n)), np.zeros((T, n)), np.zeros((T, n, n)), np.zeros((T, n, m)),
                np.zeros(T), np.zeros((T - 1, n, n)))
    compiled, python = outputs(), outputs()
    if form == "covariance":
        args = (tuple(p), u, y, observed)
        kernel = kernels.filter_covariance
    else:
        C, c, y_white, info = kalman._information_constants(p.C, p.c, p.Sigma_y_x, y)
        args = (tuple(p._replace(C=C, c=c)), info, u, y_white, observed)
        kernel = kernels.filter_information
    assert tuple(kernel(*args, compiled, kernels.LOOPS_ONLY))[:2] == (-1, -1)
    assert tuple(getattr(kernel, "py_func", kernel)(*args, python, kernels.LOOPS_ONLY))[:2] == (-1, -1)
    for x1, x2 in zip(compiled, python):
        np.testing.assert_allclose(x1, x2, rtol=1e-12, atol=1e-13)
    assert np.abs(compiled[6]).max() > 0                      # J was filled in the forward pass


@pytest.mark.parametrize("diag_R", [True, False])
def test_information_form_equals_covariance_form_when_m_is_much_larger_than_n(diag_R):
    # m = 20 > 2 n: "auto" picks the information form, and both forms stay in the kernels' loops (with m = 40
    # the covariance form reached BLAS, and the test paid for compiling that variant)
    params, y, u = random_problem(12, n=3, m=20, n_u=1, T=12, missing=(5, 6), diag_R=diag_R)
    assert kernels.blas_for(3, 20, "covariance") is kernels.LOOPS_ONLY
    a = kalman_smoother(params, y, u, form="information")
    b = kalman_smoother(params, y, u, form="covariance")
    c = kalman_smoother(params, y, u)                         # auto picks information for m > 2 n
    assert (a.form, b.form, c.form) == ("information", "covariance", "information")
    for name, x1, x2, x3 in zip(a._fields[:-1], a[:-1], b[:-1], c[:-1]):
        np.testing.assert_allclose(x1, x2, rtol=1e-9, atol=1e-10, err_msg=name)
        np.testing.assert_array_equal(x1, x3, err_msg=name)



@pytest.mark.parametrize("backend", BACKENDS)
def test_information_form_with_dense_noise_whitens_once_and_equals_the_oracle(backend):
    # a dense Sigma_y_x (with offset c and missing rows): the numba path whitens y and C once, so
    # its log evidence must still carry log|Sigma_y_x|; the oracle is the stacked Gaussian
    params, y, u = random_problem(21, n=2, m=7, n_u=1, T=6, missing=(0, 4))
    params = params._replace(Sigma_y_x=3.0 * params.Sigma_y_x)
    assert np.count_nonzero(params.Sigma_y_x - np.diag(np.diag(params.Sigma_y_x))) > 0
    assert abs(np.linalg.slogdet(params.Sigma_y_x)[1]) > 0.5      # the log-determinant term matters here
    res = kalman_smoother(params, y, u, form="information", backend=backend)
    cov = kalman_smoother(params, y, u, form="covariance", backend=backend)
    ms, Us, cross = oracle_smoother(params, y, u)
    mp, Up, mf, Uf = oracle_filter(params, y, u)
    np.testing.assert_allclose(res.mu_filt, mf, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.Upsilon_filt, Uf, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.mu_smooth, ms, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.Upsilon_smooth, Us, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.Upsilon_cross, cross, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.log_evidence, oracle_log_evidence(params, y, u), rtol=1e-10)
    for name, x1, x2 in zip(res._fields[:-1], res[:-1], cov[:-1]):
        np.testing.assert_allclose(x1, x2, rtol=1e-9, atol=1e-10, err_msg=name)   # gains K included
    assert np.all(res.K[[0, 4]] == 0.0) and np.all(res.log_p_y[[0, 4]] == 0.0)


# ---------------------------------------------------------------- peer libraries

def test_agrees_with_pykalman_filter_smoother_pairwise_covariance_and_loglikelihood():
    from pykalman import KalmanFilter
    from pykalman.standard import _smooth, _smooth_pair
    params, y, u = random_problem(13, n=3, m=2, n_u=2, T=15, missing=(4, 9))
    # pykalman: x_{t+1} = A x_t + b_t + noise, with transition_offsets[t] = b_t feeding x_{t+1} (0-based),
    # which is our B u[t] + a; its "initial state" is the prior of its first (observed) state, i.e.
    # our mu1/Sigma1 (the book's x_1), not a state before the first observation. Missing rows are masked.
    kf = KalmanFilter(transition_matrices=params.A, observation_matrices=params.C,
                      transition_covariance=params.Sigma_x, observation_covariance=params.Sigma_y_x,
                      transition_offsets=u @ params.B.T + params.a, observation_offsets=params.c,
                      initial_state_mean=params.mu1, initial_state_covariance=params.Sigma1)
    Y = np.ma.masked_invalid(y)
    mf, Uf = kf.filter(Y)
    ms, Us = kf.smooth(Y)
    ll = kf.loglikelihood(Y)
    res = kalman_smoother(params, y, u)
    np.testing.assert_allclose(res.mu_filt, mf, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.Upsilon_filt, Uf, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.mu_smooth, ms, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.Upsilon_smooth, Us, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.log_evidence, ll, rtol=1e-9)
    _, _, gains = _smooth(params.A, res.mu_filt, res.Upsilon_filt, res.mu_pred, res.Upsilon_pred)
    np.testing.assert_allclose(res.J, gains, rtol=1e-9, atol=1e-10)
    pair = _smooth_pair(res.Upsilon_smooth, gains)            # pair[t] = Cov[x_t, x_{t-1}], t >= 1
    np.testing.assert_allclose(res.Upsilon_cross, pair[1:], rtol=1e-9, atol=1e-10)


def test_agrees_with_filterpy_predict_update_loop_and_rts_smoother():
    from filterpy.kalman import KalmanFilter, rts_smoother as fp_rts
    # filterpy has no offsets a, c and its rts_smoother ignores controls: use a problem with c only
    # (subtracted from y) and no control/transition offset for the smoother comparison.
    params, y, u = random_problem(14, n=3, m=2, n_u=0, T=12, missing=())
    params = params._replace(a=np.zeros(3))
    n, m = 3, 2
    kf = KalmanFilter(dim_x=n, dim_z=m)
    kf.x, kf.P = params.mu1.copy(), params.Sigma1.copy()     # filterpy's x, P start as the prior of x_1
    kf.F, kf.H, kf.Q, kf.R = params.A, params.C, params.Sigma_x, params.Sigma_y_x
    xs, Ps, ll = [], [], 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in range(y.shape[0]):
            if t > 0:
                kf.predict()                                  # filterpy: predict then update
            kf.update(y[t] - params.c)
            xs.append(kf.x.copy())
            Ps.append(kf.P.copy())
            ll += kf.log_likelihood
    xs, Ps = np.array(xs), np.array(Ps)
    res = kalman_smoother(params, y)
    np.testing.assert_allclose(res.mu_filt, xs, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.Upsilon_filt, Ps, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.log_evidence, ll, rtol=1e-9)
    x_s, P_s, _, _ = fp_rts(xs, Ps, np.array([params.A] * len(xs)), np.array([params.Sigma_x] * len(xs)))
    np.testing.assert_allclose(res.mu_smooth, x_s, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.Upsilon_smooth, P_s, rtol=1e-9, atol=1e-10)


# ---------------------------------------------------------------- validation messages

def _good():
    params, y, u = random_problem(15, n=2, m=3, n_u=1, T=4, missing=())
    return params, y, u


@pytest.mark.parametrize("field, value, match", [
    ("mu1", np.zeros((2, 1)), r"mu1 must be a 1-D array of shape \(n,\)"),
    ("mu1", np.zeros(0), r"mu1 must have at least one entry \(n >= 1\)"),
    ("Sigma1", np.eye(3), r"Sigma1 must have shape \(n, n\) = \(2, 2\); got \(3, 3\)"),
    ("Sigma1", -np.eye(2), r"Sigma1 is not symmetric positive definite"),
    ("Sigma1", np.array([[1.0, 0.5], [0.0, 1.0]]), r"Sigma1 is not symmetric"),
    ("A", np.eye(3), r"A must have shape \(n, n\) = \(2, 2\)"),
    ("A", np.array([[np.nan, 0], [0, 1]]), r"A must be finite"),
    ("B", np.zeros(2), r"B must be a 2-D array of shape \(n, n_u\)"),
    ("B", np.zeros((3, 1)), r"B must have shape \(n, n_u\) = \(2, any\); got \(3, 1\)"),
    ("a", np.zeros(3), r"a must have shape \(n,\) = \(2,\)"),
    ("Sigma_x", np.zeros((2, 2)), r"Sigma_x is not symmetric positive definite"),
    ("Sigma_x", np.eye(3), r"Sigma_x must have shape \(n, n\)"),
    ("c", np.zeros((3, 1)), r"c must be a 1-D array of shape \(m,\)"),
    ("c", np.zeros(0), r"c must have at least one entry \(m >= 1\)"),
    ("C", np.zeros((3, 3)), r"C must have shape \(m, n\) = \(3, 2\)"),
    ("Sigma_y_x", np.eye(2), r"Sigma_y_x must have shape \(m, m\) = \(3, 3\)"),
    ("Sigma_y_x", -np.eye(3), r"Sigma_y_x is not symmetric positive definite"),
])
def test_parameter_validation_messages(field, value, match):
    params, y, u = _good()
    with pytest.raises(ValueError, match=match):
        kalman_filter(params._replace(**{field: value}), y, u)


def test_observation_control_and_option_validation_messages():
    params, y, u = _good()
    with pytest.raises(TypeError, match=r"params must be an LGSSMParams; got tuple"):
        kalman_filter(tuple(params), y, u)
    with pytest.raises(ValueError, match=r"y must be a 2-D array of shape \(T, m\)"):
        kalman_filter(params, y[0], u)
    with pytest.raises(ValueError, match=r"y must have shape \(T, m\) = \(any, 3\); got \(4, 2\)"):
        kalman_filter(params, y[:, :2], u)
    with pytest.raises(ValueError, match=r"y must hold at least one time step \(T >= 1\)"):
        kalman_filter(params, np.zeros((0, 3)), np.zeros((0, 1)))
    bad = y.copy()
    bad[1, 2] = np.inf
    with pytest.raises(ValueError, match=r"y must be finite or NaN .* at index \(1, 2\)"):
        kalman_filter(params, bad, u)
    bad = y.copy()
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match=r"y\[2\] is partly NaN \(1 of 3 entries\): only whole rows"):
        kalman_filter(params, bad, u)
    with pytest.raises(ValueError, match=r"u is required because B has n_u = 1 columns"):
        kalman_filter(params, y)
    with pytest.raises(ValueError, match=r"u must have shape \(T - 1, n_u\) = \(3, 1\); got \(4, 1\)"):
        kalman_filter(params, y, np.zeros((4, 1)))
    with pytest.raises(ValueError, match=r"u must be finite"):
        kalman_filter(params, y, np.full((3, 1), np.nan))
    with pytest.raises(ValueError, match=r"u must have shape \(T - 1, n_u\) = \(3, 0\)"):
        kalman_filter(params._replace(B=None), y, u)
    with pytest.raises(ValueError, match=r"form must be one of \{'auto', 'covariance', 'information'\}"):
        kalman_filter(params, y, u, form="sqrt")
    with pytest.raises(ValueError, match=r"backend must be one of \{'auto', 'numba', 'numpy'\}; got 'jax'"):
        kalman_smoother(params, y, u, backend="jax")


def test_rts_smoother_and_sampler_validation_messages():
    params, y, u = _good()
    filt = kalman_filter(params, y, u)
    with pytest.raises(TypeError, match=r"filt must be a KalmanFilterResult; got dict"):
        rts_smoother(params.A, {})
    with pytest.raises(ValueError, match=r"A must have shape \(n, n\) = \(3, 3\); got \(3, 2\)"):
        rts_smoother(np.zeros((3, 2)), filt)
    with pytest.raises(ValueError, match=r"filt.mu_filt must have shape \(T, n\) = \(4, 3\); got \(4, 2\)"):
        rts_smoother(np.eye(3), filt)
    with pytest.raises(ValueError, match=r"filt.Upsilon_pred must have shape \(T, n, n\)"):
        rts_smoother(params.A, filt._replace(Upsilon_pred=filt.Upsilon_pred[:, :1]))
    with pytest.raises(ValueError, match=r"filt.mu_pred must be finite"):
        rts_smoother(params.A, filt._replace(mu_pred=filt.mu_pred * np.nan))
    empty = KalmanFilterResult(np.zeros((0, 2)), np.zeros((0, 2, 2)), np.zeros((0, 2)), np.zeros((0, 2, 2)),
                               np.zeros((0, 2, 3)), np.zeros(0), 0.0)
    with pytest.raises(ValueError, match=r"filt must hold at least one time step"):
        rts_smoother(params.A, empty)
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        sample_lgssm(params, 3, rng=0, u=u[:2])
    with pytest.raises(ValueError, match=r"T must be at least 1; got 0"):
        sample_lgssm(params, 0, rng=np.random.default_rng(0), u=np.zeros((0, 1)))


def test_sampler_moments_match_the_dense_prior():
    """Monte Carlo: 4000 sequences; tolerance 5 standard errors per coordinate (fixed seed)."""
    from oracle_lgssm import lgssm_joint
    params, _, u = random_problem(16, n=2, m=2, n_u=1, T=3, missing=())
    rng = np.random.default_rng(160)
    N = 4000
    draws = np.array([np.concatenate([v.ravel() for v in sample_lgssm(params, 3, rng=rng, u=u)])
                      for _ in range(N)])
    joint = lgssm_joint(params, 3, u)
    se = np.sqrt(np.diag(joint.Sigma) / N)
    assert np.all(np.abs(draws.mean(0) - joint.mu) < 5 * se)
    var_se = np.diag(joint.Sigma) * np.sqrt(2.0 / N)
    assert np.all(np.abs(draws.var(0) - np.diag(joint.Sigma)) < 5 * var_se)


def test_smoother_needs_the_filter_at_every_step_not_only_the_last():
    """Erratum, Section 2.2.2 after Eq. 2.53: Eqs. 2.53-2.54 read mu_filt/Upsilon_filt at every t, not just at t = T."""
    params, y, u = random_problem(17, missing=())
    filt = kalman_filter(params, y, u)
    base = rts_smoother(params.A, filt)
    bumped = filt.mu_filt.copy()
    bumped[2] += 1.0                                          # change an intermediate filter mean only
    moved = rts_smoother(params.A, filt._replace(mu_filt=bumped))
    assert np.array_equal(moved.mu_smooth[3:], base.mu_smooth[3:])
    assert np.abs(moved.mu_smooth[2] - base.mu_smooth[2]).max() > 0.1


# ---------------------------------------------------------------- nearly exact observations: a 50-digit oracle

def _mp_kalman(params, y, dps=50):
    """Filter and RTS smoother recursions in ``dps``-digit arithmetic (mpmath), on the float64 inputs
    converted exactly; returns float64 (mu_filt, Upsilon_filt, mu_smooth, Upsilon_smooth, log evidence).

    At 50 digits the textbook subtractive updates lose nothing that matters in float64, so this is
    the exact answer for the given inputs to well beyond double precision."""
    from mpmath import mp
    with mp.workdps(dps):
        M = lambda X: mp.matrix(np.atleast_2d(X).tolist())             # noqa: E731
        mu1, S1, A, a, Sx, C, c, R = (M(v) for v in (params.mu1[:, None], params.Sigma1, params.A, params.a[:, None],
                                                     params.Sigma_x, params.C, params.c[:, None], params.Sigma_y_x))
        T, m = y.shape
        mu_p, P_p, mu_f, P_f = [], [], [], []
        ll = mp.mpf(0)
        mu, P = mu1, S1
        for t in range(T):
            if t:
                mu, P = A * mu_f[-1] + a, A * P_f[-1] * A.T + Sx
            mu_p.append(mu)
            P_p.append(P)
            S = C * P * C.T + R
            S_inv = S ** -1
            K = P * C.T * S_inv
            r = M(y[t][:, None]) - C * mu - c
            mu_f.append(mu + K * r)
            P_f.append(P - K * S * K.T)
            ll += -(r.T * S_inv * r)[0] / 2 - mp.log(mp.det(S)) / 2 - m * mp.log(2 * mp.pi) / 2
        mu_s, P_s = list(mu_f), list(P_f)
        for t in range(T - 2, -1, -1):
            J = P_f[t] * A.T * P_p[t + 1] ** -1
            mu_s[t] = mu_f[t] + J * (mu_s[t + 1] - mu_p[t + 1])
            P_s[t] = P_f[t] + J * (P_s[t + 1] - P_p[t + 1]) * J.T
        vec = lambda L: np.array([[float(v) for v in X] for X in L])   # noqa: E731
        mat = lambda L: np.array([[[float(X[i, j]) for j in range(X.cols)] for i in range(X.rows)] for X in L])  # noqa: E731
        return vec(mu_f), mat(P_f), vec(mu_s), mat(P_s), float(ll)


def _precise_problem(m, noise, n=3, T=60, seed=0):
    """Unit-scale states observed through a random C with observation noise ``noise * I`` (issue cases)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    A *= 0.9 / np.max(np.abs(np.linalg.eigvals(A)))
    C = rng.standard_normal((m, n))
    params = LGSSMParams(np.zeros(n), np.eye(n), A, None, np.zeros(n), np.eye(n), C, np.zeros(m), noise * np.eye(m))
    x, y = rng.standard_normal(n), np.empty((T, m))
    for t in range(T):
        y[t] = C @ x + np.sqrt(noise) * rng.standard_normal(m)
        x = A @ x + rng.standard_normal(n)
    return params, y


EPS = np.finfo(float).eps


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("form", ["covariance", "auto", "information"])
@pytest.mark.parametrize("noise", [1e-4, 1e-8, 1e-12, 1e-16])
@pytest.mark.parametrize("m", [2, 5])
def test_nearly_exact_observations_match_a_50_digit_oracle_or_raise_a_clear_error(m, noise, form, backend):
    params, y = _precise_problem(m, noise)
    C, R = params.C, params.Sigma_y_x
    # m > n with noise 1e-16: the innovation covariance has eigenvalues 1e-16 next to O(1) ones, singular
    # in float64 (the covariance form cannot factor it); "auto" starts from the covariance form here
    # (m <= 2n), meets that failure and falls back to the information form, which is accurate
    if m == 5 and noise == 1e-16 and form == "covariance":
        with pytest.raises(ValueError, match=r"failed at time step t = 0 .*innovation covariance C Upsilon_pred\[t\] "
                                             r"C\^T \+ Sigma_y_x lost positive definiteness to rounding"):
            kalman_smoother(params, y, form=form, backend=backend)
        return
    # m < n with noise <= 1e-12: the information form's precision sum is swamped in the observed directions
    if m == 2 and noise <= 1e-12 and form == "information":
        with pytest.raises(ValueError, match=r"failed at time step t = 0 .*information.form"):
            kalman_smoother(params, y, form=form, backend=backend)
        return
    res = kalman_smoother(params, y, form=form, backend=backend)
    if form == "auto":
        # m = 5 > n = 3: the innovation covariance has condition ~ |C|^2 / noise (1e5..1e17) against the
        # information form's ~ cond(C^T C) (a few hundred), so "auto" takes the information form; m = 2 < n keeps
        # the covariance form (its innovation covariance is full rank)
        assert res.form == ("information" if m == 5 else "covariance")
        form = res.form
    else:
        assert res.form == form
    mu_f, P_f, mu_s, P_s, ll = _mp_kalman(params, y)
    if form == "information":
        # Conditioning: the information form's I + U G U^T (Upsilon_pred = U^T U, G = C^T Sigma_y_x^{-1} C)
        M = np.eye(3) + np.einsum("tji,jk,tlk->til", np.linalg.cholesky(res.Upsilon_pred),
                                  C.T @ np.linalg.solve(R, C), np.linalg.cholesky(res.Upsilon_pred))
        lam = np.linalg.eigvalsh(M)
    else:
        # Conditioning: the largest condition number of an innovation covariance C Upsilon_pred C^T + Sigma_y_x
        # (small when m < n even at noise 1e-16: the Joseph update then keeps every digit; ~1 / noise when m > n).
        lam = np.linalg.eigvalsh(C @ res.Upsilon_pred @ C.T + R)
    kappa = float(np.max(lam[:, -1] / lam[:, 0]))
    T = y.shape[0]
    for name, got in zip(res._fields[:-1], res[:-1]):
        assert np.all(np.isfinite(got)), name
    # means: error grows like eps sqrt(kappa) in the covariance form (the whitened innovation), like eps kappa
    # in the information form (a solve with M); 50x margin
    scale = 1.0 + np.abs(mu_s).max()
    tol_mu = 50 * EPS * (kappa if form == "information" else np.sqrt(kappa)) * scale
    np.testing.assert_allclose(res.mu_filt, mu_f, rtol=0, atol=tol_mu)
    np.testing.assert_allclose(res.mu_smooth, mu_s, rtol=0, atol=tol_mu)
    # covariances: near the oracle, symmetric, and positive semidefinite to rounding
    for got, want in ((res.Upsilon_filt, P_f), (res.Upsilon_smooth, P_s)):
        big = np.abs(want).max()
        np.testing.assert_allclose(got, want, rtol=0, atol=10 * EPS * kappa * big)
        assert np.array_equal(got, np.swapaxes(got, 1, 2))
        assert np.linalg.eigvalsh(got).min() >= -10 * EPS * got.shape[1] * big
    # log evidence: each of the T factors carries a log-determinant and a quadratic form, each good to about
    # eps kappa, and a residual y - C mu rounded to about eps |y| and weighed by Sigma_y_x^{-1/2}; the bound
    # adds them up
    resid = np.abs(y).max() / np.sqrt(np.linalg.eigvalsh(R)[0])
    assert abs(res.log_evidence - ll) <= 1e-12 * abs(ll) + 10 * T * EPS * (kappa + resid)


def test_auto_form_takes_the_information_form_when_its_bound_is_smaller_at_n_3_m_5():
    """The reproduction: n = 3, m = 5, Sigma_y_x = 1e-12 I. The covariance form's log evidence was off by
    1.2e-3 (numba) / 1.2e-4 (NumPy) on |log p| = 1175 and the backends disagreed on K by 2.4e-4; "auto" now
    runs the information form, right to about 1e-9 here, and both backends agree."""
    from pedagogy_lib.lgssm.kalman import _auto_form
    params, y = _precise_problem(5, 1e-12)
    assert _auto_form(params) == "information"
    ll = _mp_kalman(params, y)[-1]
    C = params.C
    lam_G = np.linalg.eigvalsh(C.T @ C) / 1e-12
    bound = 10 * y.shape[0] * EPS * (lam_G[-1] / lam_G[0] + np.abs(y).max() / 1e-6)
    runs = [kalman_filter(params, y, backend=b) for b in BACKENDS]
    for res in runs:
        assert res.form == "information"
        assert abs(res.log_evidence - ll) <= bound, (res.log_evidence - ll, bound)
        assert abs(res.log_evidence - ll) <= 1e-11 * abs(ll)
    np.testing.assert_allclose(runs[0].K, runs[-1].K, rtol=0, atol=1e-10 * np.abs(runs[0].K).max())
    cov = kalman_filter(params, y, form="covariance", backend="numpy")
    assert abs(cov.log_evidence - ll) > 10 * abs(runs[0].log_evidence - ll)   # why: the other form is worse


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("noise", [1e-12, 1e-16])
def test_information_form_refuses_when_its_precision_sum_is_swamped(backend, noise):
    """m < n: Upsilon_pred^{-1} + C^T Sigma_y_x^{-1} C is 1 / noise in two directions and O(1) in the third."""
    params, y = _precise_problem(2, noise)
    with pytest.raises(ValueError, match=r"failed at time step t = 0 .*information.form.*form=\"covariance\""):
        kalman_filter(params, y, form="information", backend=backend)


@pytest.mark.parametrize("noise, rank, expected", [(1e-4, 2, "information"), (1e-10, 2, "covariance"),
                                                   (1e-12, 3, "information")])
def test_auto_form_weighs_the_digits_the_information_form_would_lose(noise, rank, expected):
    from pedagogy_lib.lgssm.kalman import AUTO_MAX_DIGITS_LOST_RATIO, _auto_form
    params, y = _precise_problem(8, noise)                   # m = 8 > 2 n: the information form is the cheap one
    rng = np.random.default_rng(3)
    C = rng.standard_normal((8, rank)) @ rng.standard_normal((rank, 3))      # rank 2: one direction unobserved
    params = params._replace(C=C)
    _, y = sample_lgssm(params, 60, rng=rng)
    lam_G = np.linalg.eigvalsh(C.T @ np.linalg.solve(params.Sigma_y_x, C))
    # Sigma_x = Sigma1 = I: cond(I + G) = (1 + max lam_G) / (1 + min lam_G)
    cond = (1 + lam_G[-1]) / (1 + max(lam_G[0], 0.0))
    assert (cond <= AUTO_MAX_DIGITS_LOST_RATIO) == (expected == "information")
    assert _auto_form(params) == expected
    res = kalman_smoother(params, y)
    mu_f, _, _, _, ll = _mp_kalman(params, y[:10])
    short = kalman_filter(params, y[:10])
    assert np.all(np.isfinite(res.mu_filt)) and np.isfinite(res.log_evidence)
    assert abs(short.log_evidence - ll) <= 1e-6 * abs(ll)


def test_rts_smoother_validates_the_filter_result_it_is_given():
    params, y, u = _good()
    filt = kalman_filter(params, y, u)
    with pytest.raises(ValueError, match=r"filt.Upsilon_pred\[1\] is not symmetric positive definite"):
        bad = filt.Upsilon_pred.copy()
        bad[1] *= -1.0
        rts_smoother(params.A, filt._replace(Upsilon_pred=bad))
    with pytest.raises(ValueError, match=r"filt.Upsilon_filt\[2\] must be symmetric positive semidefinite"):
        bad = filt.Upsilon_filt.copy()
        bad[2] = -bad[2]
        rts_smoother(params.A, filt._replace(Upsilon_filt=bad))
    with pytest.raises(ValueError, match=r"filt.Upsilon_filt\[0\] is not symmetric"):
        bad = filt.Upsilon_filt.copy()
        bad[0, 0, 1] += 1.0
        rts_smoother(params.A, filt._replace(Upsilon_filt=bad))
    with pytest.raises(ValueError, match=r"filt.mu_filt must be finite"):
        rts_smoother(params.A, filt._replace(mu_filt=filt.mu_filt * np.nan))
    with pytest.raises(ValueError, match=r"filt.log_p_y must have shape \(T,\) = \(4,\)"):
        rts_smoother(params.A, filt._replace(log_p_y=filt.log_p_y[:2]))
    # a singular filter covariance next to a prediction that does not cover it: the backward pass would
    # return negative smoothed variances, so the pair is refused (a filter's own output always passes)
    with pytest.raises(ValueError, match=r"^filt.Upsilon_filt\[1\] is inconsistent with filt.Upsilon_pred\[2\] and A"):
        bad = filt.Upsilon_filt.copy()
        bad[1] = 50.0 * np.ones((2, 2))
        rts_smoother(params.A, filt._replace(Upsilon_filt=bad))
    with pytest.raises(ValueError, match=r"^filt.form must be one of \{'covariance', 'information'\}"):
        rts_smoother(params.A, filt._replace(form="auto"))
    with pytest.raises(TypeError, match=r"^filt.log_evidence must be a numeric array"):
        rts_smoother(params.A, filt._replace(log_evidence="high"))
    assert rts_smoother(params.A, filt).form == filt.form
    # lists in, arrays out (the result's fields are arrays whatever the filter result held)
    listed = KalmanFilterResult(*(f.tolist() if isinstance(f, np.ndarray) else f for f in filt))
    for backend in BACKENDS:
        out = rts_smoother(params.A.tolist(), listed, backend=backend)
        for name in ("mu_pred", "Upsilon_pred", "mu_filt", "Upsilon_filt", "K", "log_p_y", "mu_smooth"):
            assert isinstance(getattr(out, name), np.ndarray), name
        np.testing.assert_allclose(out.mu_smooth, rts_smoother(params.A, filt, backend=backend).mu_smooth, rtol=1e-12)


@pytest.mark.parametrize("m", [3, 24])          # the compiled screen (m <= 16) and the LAPACK path of check_spd
def test_validation_factors_are_the_lower_cholesky_factors(m):
    from pedagogy_lib.lgssm.model import check_params_factored
    params, _, _ = random_problem(5, n=3, m=m)
    p, dims, factors = check_params_factored(params)
    assert dims == (3, m, 2)
    for S, L in zip((p.Sigma1, p.Sigma_x, p.Sigma_y_x), factors):
        assert np.array_equal(L, np.tril(L)) and np.all(np.diag(L) > 0)
        np.testing.assert_allclose(L @ L.T, S, rtol=0, atol=1e-13 * np.abs(S).max())


@pytest.mark.parametrize("m", [3, 24])
def test_validation_fast_lane_returns_what_the_full_checks_return(m):
    # clean float64 arrays take the fast lane of check_params_factored (at m = 24, or without numba,
    # it declines: the compiled screen stops at 16); the same numbers as nested lists take the full checks. Results,
    # factors included, must be identical, and a bad covariance must still reach the full checks' message.
    from pedagogy_lib.lgssm import model
    params, _, _ = random_problem(5, n=3, m=m)
    listed = LGSSMParams(*(None if v is None else np.asarray(v).tolist() for v in params))
    from pedagogy_lib.core.jit import HAVE_NUMBA           # without numba the lane is always declined
    assert (model._clear_params(params) is not None) == (HAVE_NUMBA and m <= 16)
    assert model._clear_params(listed) is None
    fast, full = model.check_params_factored(params), model.check_params_factored(listed)
    assert fast[1] == full[1]
    for a, b in zip(fast[0] + fast[2], full[0] + full[2]):
        np.testing.assert_array_equal(a, b)
    singular = params.Sigma_x.copy()
    singular[-1] = singular[0]
    singular[:, -1] = singular[:, 0]
    assert model._clear_params(params._replace(Sigma_x=singular)) is None
    with pytest.raises(ValueError, match="Sigma_x is not symmetric positive definite"):
        model.check_params_factored(params._replace(Sigma_x=singular))


@pytest.mark.parametrize("backend", BACKENDS)
def test_information_form_whitening_with_the_validation_factor_matches_the_oracle(backend):
    # m = 24 > 16: Sigma_y_x is factored by LAPACK during validation, and the filter whitens with that factor
    params, y, u = random_problem(6, n=3, m=24, T=8, missing=(5,))
    res = kalman_smoother(params, y, u, form="information", backend=backend)
    mp, Up, mf, Uf = oracle_filter(params, y, u)
    np.testing.assert_allclose(res.mu_filt, mf, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.Upsilon_filt, Uf, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.log_evidence, oracle_log_evidence(params, y, u), rtol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("scale", [1e60, 1e70])
def test_overflowing_parameters_raise_a_clear_error_instead_of_returning_inf(backend, form, scale):
    # finite, valid parameters (within the magnitude the validation allows) whose predicted covariance
    # overflows float64 after a few time updates: a ValueError naming the step (the overflow itself, or
    # the factorization it breaks), never inf or NaN
    params, y, u = _good()
    for run in (kalman_filter, kalman_smoother):
        try:
            res = run(params._replace(A=scale * params.A), y, u, form=form, backend=backend)
        except ValueError as exc:
            assert str(exc).startswith(("The Kalman filter overflowed at time step t = ",
                                        "The Kalman filter failed")), str(exc)
        else:                       # the information form can absorb a huge prior: then every number is finite
            assert all(np.all(np.isfinite(v)) for v in res[:-1])


@pytest.mark.parametrize("field", ["A", "C", "Sigma_x", "mu1"])
def test_parameters_beyond_what_double_precision_resolves_are_refused_by_name(field):
    # products of three entries of 1e150 leave float64, and the two backends then disagree: refused
    params, y, u = _good()
    big = params._replace(**{field: 1e150 * getattr(params, field)})
    with pytest.raises(ValueError, match=rf"^{field} has an entry of magnitude [0-9.]+e\+1[45][0-9]: ") as err:
        kalman_filter(big, y, u)
    # the reason given is the one that concerns the field: a location never enters C Sigma C^T
    location = field == "mu1"
    assert ("the residual y - C mu" in str(err.value)) == location, str(err.value)
    assert ("C Sigma C^T" in str(err.value)) != location, str(err.value)


# ---------------------------------------------------------------- one kernel per form, at every size

def kernels_compiled() -> bool:
    from pedagogy_lib.core.jit import HAVE_NUMBA
    return HAVE_NUMBA


def _clean_problem(seed, n, m, T):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    M = rng.standard_normal((n, n))
    R = rng.standard_normal((m, m))
    params = LGSSMParams(rng.standard_normal(n), 0.5 * M @ M.T / n + np.eye(n), 0.97 * Q, None, rng.standard_normal(n),
                         0.1 * (M @ M.T / n + np.eye(n)), rng.standard_normal((m, n)), rng.standard_normal(m),
                         R @ R.T / m + 0.5 * np.eye(m))
    y = rng.standard_normal((T, m))
    return params, y


@pytest.mark.parametrize("seed, n, m, T", [(0, 1, 1, 1), (1, 2, 2, 10), (2, 3, 5, 7), (4, 6, 3, 12)])
def test_any_array_like_input_gives_the_same_numbers(seed, n, m, T):
    """Lists, float32-exact values, Fortran order, read-only arrays and explicit empty controls all go through
    the same validation and kernel as clean float64 arrays, with the same result to the last bit; the log
    evidence is the sum of its factors (Eq. 2.40)."""
    params, y = _clean_problem(seed, n, m, T)
    readonly = params.A.copy()
    readonly.flags.writeable = False
    variants = [(params, y, None), (params, y, np.zeros((T - 1, 0))),
                (LGSSMParams(*(None if v is None else np.asarray(v).tolist() for v in params)), y.tolist(), None),
                (params._replace(A=np.asfortranarray(params.A)), y, None), (params._replace(A=readonly), y, None)]
    for fn in (kalman_smoother, kalman_filter):
        base = fn(params, y)
        np.testing.assert_allclose(base.log_evidence, base.log_p_y.sum(), rtol=1e-14)
        for p, yy, u in variants:
            for name, a, b in zip(base._fields, base, fn(p, yy, u)):
                assert np.array_equal(np.asarray(a), np.asarray(b)), (name, fn.__name__)


@pytest.mark.parametrize("seed, n, m, T", [(0, 1, 1, 1), (1, 2, 2, 10), (2, 3, 5, 7), (3, 4, 4, 30), (4, 6, 3, 12)])
def test_the_fast_path_gives_exactly_the_full_paths_numbers(seed, n, m, T, monkeypatch):
    """A small clean problem takes one compiled call (``lgssm/small.py``); with the switch off the same problem
    goes the full path, which must agree to the last bit."""
    from pedagogy_lib.lgssm import small
    params, y = _clean_problem(seed, n, m, T)
    for fn, smooth in ((kalman_smoother, True), (kalman_filter, False)):
        fast = small.fast_path(params, y, None, "auto", "numba", smooth)
        if not kernels_compiled():
            assert fast is None
            continue
        assert fast is not None, (seed, fn.__name__)
        with monkeypatch.context() as patch:
            patch.setattr(small, "FAST_PATH", False)
            assert small.fast_path(params, y, None, "auto", "numba", smooth) is None
            full = fn(params, y)
        for name, a, b in zip(full._fields, fn(params, y), full):
            assert np.array_equal(np.asarray(a), np.asarray(b)), (name, seed)


@pytest.mark.skipif(not kernels_compiled(), reason="the fast path is a compiled call")
def test_the_fast_path_steps_aside_for_everything_it_cannot_decide():
    """Each of these goes the full path (``fast_path`` returns None), where the checks decide and explain."""
    from pedagogy_lib.lgssm import small
    params, y = _clean_problem(5, 2, 3, 6)
    fast = lambda p, yy, u=None, form="auto": small.fast_path(p, yy, u, form, "numba", True)  # noqa: E731
    assert fast(params, y) is not None
    y_missing = y.copy()
    y_missing[2] = np.nan
    not_spd = params.Sigma_x.copy()
    not_spd[0, 1] = not_spd[1, 0] = 10.0
    readonly = params.A.copy()
    readonly.flags.writeable = False
    cases = {
        "controls": (params._replace(B=np.ones((2, 1))), y, np.zeros((5, 1))),
        "a missing row": (params, y_missing, None),
        "float32": (params._replace(A=params.A.astype(np.float32)), y, None),
        "a transposed view": (params._replace(A=np.asfortranarray(params.A)), y, None),
        "read-only": (params._replace(A=readonly), y, None),
        "a list": (params._replace(c=list(params.c)), y, None),
        "a 2-D mean": (params._replace(mu1=params.mu1[:, None]), y, None),
        "not positive definite": (params._replace(Sigma_x=not_spd), y, None),
        "too large": (params._replace(C=1e80 * params.C), y, None),
        "an infinite y": (params, np.where(np.arange(3) == 1, np.inf, y), None),
        "wrong shapes": (params._replace(a=np.zeros(3)), y, None),
    }
    for what, (p, yy, u) in cases.items():
        assert fast(p, yy, u) is None, what
    assert fast(params, y, form="information") is None and fast(params, y, form="sqrt") is None
    wide, y_wide = _clean_problem(6, 2, 5, 6)                  # m > 2 n: "auto" may pick the information form
    assert fast(wide, y_wide) is None and fast(wide, y_wide, form="covariance") is not None
    assert small.fast_path(params, y, None, "auto", "numpy", True) is None
    # and the full path still explains what the fast path stepped aside for
    with pytest.raises(ValueError, match="Sigma_x"):
        kalman_smoother(params._replace(Sigma_x=not_spd), y)
    with pytest.raises(ValueError, match="partly NaN|finite"):
        kalman_smoother(params, np.where(np.arange(3) == 1, np.inf, y))
    with pytest.raises(ValueError, match="form must be one of"):
        kalman_smoother(params, y, form="sqrt")


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_overflow_during_missing_rows_is_reported_by_step(backend):
    """The prediction overflows while y is missing (no factorization would notice): a ValueError names the step."""
    two = np.zeros(2)
    params = LGSSMParams(two, np.eye(2), 1e70 * np.eye(2), None, two, np.eye(2), np.eye(2), two, np.eye(2))
    y = np.full((8, 2), np.nan)
    y[0] = 0.0
    with pytest.raises(ValueError, match=r"^The Kalman filter overflowed at time step t = [1-7] "):
        kalman_filter(params, y, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_trace_near_the_joseph_threshold_is_decided_by_the_exact_eigenvalue(backend):
    """With Sigma_y_x's eigenvalues (1e-6, 1, 1) in a rotated basis, tr(Sigma_y) at the first step lies between
    JOSEPH_RATIO times lambda_min(Sigma_y_x) and JOSEPH_RATIO times its smallest diagonal entry: the switch to
    the Joseph form takes the exact smallest eigenvalue (computed once per call), as the NumPy twin does."""
    rng = np.random.default_rng(11)
    n, m, T = 2, 3, 6
    Q, _ = np.linalg.qr(rng.standard_normal((m, m)))
    R = (Q * np.array([1e-6, 1.0, 1.0])) @ Q.T
    R = 0.5 * (R + R.T)
    params = LGSSMParams(np.zeros(n), np.eye(n), 0.9 * np.eye(n), None, np.zeros(n), 0.5 * np.eye(n),
                         rng.standard_normal((m, n)), np.zeros(m), R)
    y = rng.standard_normal((T, m))
    tr_S0 = np.trace(params.C @ params.Sigma1 @ params.C.T + R)
    assert kernels.JOSEPH_RATIO * np.linalg.eigvalsh(R)[0] < tr_S0 <= kernels.JOSEPH_RATIO * np.diag(R).min()
    got = kalman_smoother(params, y, form="covariance", backend=backend)
    twin = kalman_smoother(params, y, form="covariance", backend="numpy")
    mu_f, P_f, mu_s, P_s, ll = _mp_kalman(params, y)
    for name in ("mu_filt", "Upsilon_filt", "mu_smooth", "Upsilon_smooth", "log_evidence"):
        np.testing.assert_allclose(getattr(got, name), getattr(twin, name), rtol=1e-9, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(got.mu_smooth, mu_s, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n, m", [(16, 16), (17, 5), (3, 17)])
def test_dimensions_that_reach_blas_match_the_dense_oracle(n, m, backend):
    """At 16 dimensions and more the kernels hand large products to BLAS and large factorizations to LAPACK:
    checked against the dense-Gaussian oracle in both forms."""
    # three steps: the smoother's gains and backward pass at two of them; the oracle (dense conditioning of the
    # stacked Gaussian, once per prefix) is computed once for both forms
    params, y = _clean_problem(n * m, n, m, 3)
    if (n, m) == (16, 16):
        assert kernels.blas_for(n, m, "covariance") is kernels.USE_BLAS
    mu_f, P_f = oracle_filter(params, y)[2:]
    mu_s, P_s = oracle_smoother(params, y)[:2]
    log_z = oracle_log_evidence(params, y)
    for form in ("covariance", "information"):
        res = kalman_smoother(params, y, form=form, backend=backend)
        np.testing.assert_allclose(res.mu_filt, mu_f, rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(res.Upsilon_filt, P_f, rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(res.mu_smooth, mu_s, rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(res.Upsilon_smooth, P_s, rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(res.log_evidence, log_z, rtol=1e-10)


@pytest.mark.parametrize("backend", ["numba", "numpy", "auto"])
@pytest.mark.parametrize("fn", [kalman_filter, kalman_smoother])
def test_zero_time_steps_are_refused_by_name_on_every_backend(fn, backend):
    """kalman_smoother(backend="numba") with T = 0 reached NumPy's "negative dimensions" in the fast path."""
    n, m = 2, 3
    params = LGSSMParams(np.zeros(n), np.eye(n), 0.5 * np.eye(n), None, np.zeros(n), np.eye(n), np.ones((m, n)),
                         np.zeros(m), np.eye(m))
    with pytest.raises(ValueError, match=r"y must hold at least one time step \(T >= 1\)"):
        fn(params, np.zeros((0, m)), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("form", ["auto", "covariance", "information"])
@pytest.mark.parametrize("noise", [1e-30, 1e-50, 1e-150])
def test_noise_below_the_rounding_of_y_is_refused_naming_sigma_y_x(noise, form, backend):
    """m = 5 > n = 3 with Sigma_y_x = noise I: the m - n pure-noise directions of each innovation are below
    the rounding of y; the log evidence was off by 7% at 1e-30 and by a factor of 65 at 1e-50, silently."""
    params, y = _precise_problem(5, noise, T=6)
    with pytest.raises(ValueError, match=r"Sigma_y_x is too small for y: .* must be at least"):
        kalman_filter(params, y, form=form, backend=backend)
    with pytest.raises(ValueError, match=r"Sigma_y_x is too small for y"):
        kalman_smoother(params, y, form=form, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_model_is_checked_once_and_a_replaced_one_again(backend, monkeypatch):
    """The first call on a model checks it and keeps the result on the object; later calls check only the
    data. A model made by _replace is a new object: its first call checks it by the same rules."""
    from pedagogy_lib.lgssm import model
    params, y, u = random_problem(31, n=3, m=4, n_u=1, T=6)
    first = kalman_smoother(params, y, u, backend=backend)
    calls = []
    real_check, real_screen = model._check_fields, model._clear_params
    monkeypatch.setattr(model, "_check_fields", lambda p: calls.append("full") or real_check(p))
    monkeypatch.setattr(model, "_clear_params", lambda p: calls.append("screen") or real_screen(p))
    again = kalman_smoother(params, y, u, backend=backend)
    assert calls == []
    for name, a, b in zip(first._fields, first, again):
        np.testing.assert_array_equal(a, b, err_msg=name)
    with pytest.raises(ValueError, match="Sigma_x"):
        kalman_smoother(params._replace(Sigma_x=-np.eye(3)), y, u, backend=backend)
    assert calls                                                # the replaced model was checked
    with pytest.raises(ValueError, match="y"):
        kalman_smoother(params, y[:, :2], u, backend=backend)  # the data are checked at every call


@pytest.mark.parametrize("form", ["covariance", "information"])
def test_the_numpy_twin_does_not_revalidate_each_step(form, monkeypatch):
    """The twin's measurement update is written for validated inputs: the public bayes_invert, which
    validates its arguments, is not called per step (it was, 365 of 661 Python calls at T = 20)."""
    def refuse(*args, **kwargs):
        raise AssertionError("bayes_invert called from the Kalman filter's twin")
    monkeypatch.setattr(gaussian, "bayes_invert", refuse)
    params, y, u = random_problem(32, n=3, m=5, n_u=1, T=8, missing=(2,))
    twin = kalman_smoother(params, y, u, form=form, backend="numpy")
    mp, Up, mf, Uf = oracle_filter(params, y, u)
    np.testing.assert_allclose(twin.mu_filt, mf, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(twin.Upsilon_filt, Uf, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(twin.log_evidence, oracle_log_evidence(params, y, u), rtol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n, m", [(3, 5), (3, 2), (18, 4)])    # facts kept (m > n), fast path, full path
def test_a_model_written_into_after_its_first_call_is_checked_again(backend, n, m):
    """What a validated model keeps (Cholesky factors, the noise's smallest eigenvalue, the chosen form)
    must follow its arrays: a model whose Sigma_y_x or A is written into in place gives what a fresh model
    with the same numbers gives (the oracle), and a write that makes it invalid is refused by name."""
    params, y, u = random_problem(33 + n + m, n=n, m=m, n_u=1, T=5)
    kalman_smoother(params, y, u, backend=backend)              # the first use: checked, facts kept
    params.Sigma_y_x[...] = 3.0 * params.Sigma_y_x
    params.A[...] = 0.5 * params.A
    again = kalman_smoother(params, y, u, backend=backend)
    np.testing.assert_allclose(again.log_evidence, oracle_log_evidence(params, y, u), rtol=1e-9)
    mp, Up, mf, Uf = oracle_filter(params, y, u)
    np.testing.assert_allclose(again.mu_filt, mf, rtol=1e-8, atol=1e-10)
    params.Sigma_x[0, 0] = -1.0
    with pytest.raises(ValueError, match="Sigma_x"):
        kalman_smoother(params, y, u, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("scale", [1e-30, 1e-50, 1e-225])
def test_a_nearly_known_first_state_keeps_its_evidence_in_the_information_form(scale, backend):
    """With Sigma_1 tiny and mu_1 away from 0, the correction mu_filt - mu_pred is at rounding level of mu_1
    while Upsilon_pred^{-1} is 1 / scale: the NumPy path once formed it as that difference and gave log
    evidences like -2.4e15. The exact value is the Gaussian N(y_1; C mu_1 + c, C Sigma_1 C^T + Sigma_y|x)."""
    from scipy.stats import multivariate_normal

    n, m = 2, 5
    for seed in range(20):              # whether the difference cancels badly depends on the rounding
        g = np.random.default_rng(seed)
        C, mu1, y = g.standard_normal((m, n)), 3.0 * g.standard_normal(n), g.standard_normal((1, m))
        R = np.diag(g.uniform(0.3, 2.0, m))
        params = LGSSMParams(mu1, scale * np.eye(n), 0.5 * np.eye(n), None, np.zeros(n), np.eye(n), C, np.zeros(m),
                             R)
        exact = multivariate_normal(C @ mu1, C @ params.Sigma1 @ C.T + R).logpdf(y[0])
        res = kalman_filter(params, y, form="information", backend=backend)
        np.testing.assert_allclose(res.log_evidence, exact, rtol=1e-10, err_msg=f"seed {seed}")
        np.testing.assert_allclose(res.mu_filt[0], mu1, rtol=1e-12, err_msg=f"seed {seed}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_information_form_refuses_observations_it_cannot_resolve(backend):
    """A prediction 1e15 to 1e26 wide against unit noise: the information form's residual y - c - C mu_filt is
    a difference of numbers near 1e15-1e26, off by 0.6 nats at the first and 1e22 at the last. An explicit
    form="information" is refused, naming the form and the remedy; "auto" runs the covariance form, which is
    held to a scalar filter written out here (n = m = 1, so every step is a division)."""
    for q in (1e30, 1e53):
        params = LGSSMParams(np.zeros(1), np.eye(1), 0.5 * np.eye(1), None, np.zeros(1), q * np.eye(1),
                             np.eye(1), np.zeros(1), 0.8 * np.eye(1))
        y = np.array([[-2.4], [3.0 * np.sqrt(q)]])
        with pytest.raises(ValueError, match=r"^form='information' cannot resolve these observations.*"
                                             r"use form='covariance'"):
            kalman_filter(params, y, form="information", backend=backend)
        res = kalman_filter(params, y, backend=backend)
        assert res.form == "covariance"
        mu, P, ll = 0.0, 1.0, 0.0                     # the scalar filter: predict, then condition on y_t
        for t in range(2):
            if t:
                mu, P = 0.5 * mu, 0.25 * P + q
            S = P + 0.8
            ll += -0.5 * (np.log(2 * np.pi * S) + (y[t, 0] - mu) ** 2 / S)
            mu, P = mu + P / S * (y[t, 0] - mu), P * 0.8 / S
        np.testing.assert_allclose(res.log_evidence, ll, rtol=1e-12)


def _mp_stacked_log_densities(params, y, dps=50):
    """log p(y_1..y_t) for t = 1..T from the dense covariance of the stacked observations (mpmath, ``dps``
    digits, no recursion): the oracle for the filter's factors log p(y_t | y_1..y_{t-1})."""
    from mpmath import mp
    with mp.workdps(dps):
        M = lambda X: mp.matrix(np.atleast_2d(X).tolist())             # noqa: E731
        A, C, R, Sx = M(params.A), M(params.C), M(params.Sigma_y_x), M(params.Sigma_x)
        T, m = y.shape
        P, mu = [M(params.Sigma1)], [M(params.mu1[:, None])]
        for _ in range(1, T):
            P.append(A * P[-1] * A.T + Sx)
            mu.append(A * mu[-1] + M(params.a[:, None]))
        out = []
        for t in range(1, T + 1):
            big, v = mp.zeros(t * m, t * m), mp.zeros(t * m, 1)
            for i in range(t):
                mean = C * mu[i] + M(params.c[:, None])
                for k in range(m):
                    v[i * m + k] = mp.mpf(float(y[i, k])) - mean[k]
                for j in range(i, t):
                    X = P[i]
                    for _ in range(j - i):
                        X = A * X                                   # Cov(x_j, x_i) = A^(j-i) P_i
                    blk = C * X * C.T + (R if i == j else mp.zeros(m, m))
                    for a in range(m):
                        for b in range(m):
                            big[j * m + a, i * m + b] = blk[a, b]
                            big[i * m + b, j * m + a] = blk[a, b]
            L = mp.cholesky(big)
            w = mp.lu_solve(L, v)
            out.append(-(w.T * w)[0] / 2 - mp.fsum(mp.log(L[i, i]) for i in range(t * m))
                       - t * m * mp.log(2 * mp.pi) / 2)
        return np.array([float(out[0])] + [float(out[t] - out[t - 1]) for t in range(1, T)])


@pytest.mark.slow
def test_information_form_log_evidence_factors_match_the_stacked_density_at_tiny_noise():
    """n = 3, m = 5, Sigma_y_x = 1e-12 I: each factor log p(y_t | y_1..y_{t-1}) of the information form
    agrees with differences of the dense stacked density (mpmath) to about 1e-8 on factors near 20. The
    NumPy step used to compute the factor by Woodbury and the determinant lemma, r^T Sigma_y|x^-1 r -
    b^T Sigma_x|y b, and then discard it for the sum of two squares; that discarded value is 1e-4 off here
    (terms near 1e12 cancel), so it is no longer computed. The test forms it once more to show the gap."""
    params, y = _precise_problem(5, 1e-12, T=6)
    exact = _mp_stacked_log_densities(params, y)                 # about 8 s: one oracle for both backends
    for backend in BACKENDS:
        res = kalman_filter(params, y, form="information", backend=backend)
        assert res.form == "information"
        np.testing.assert_allclose(res.log_p_y, exact, rtol=0, atol=1e-8, err_msg=backend)
        assert abs(res.log_evidence - exact.sum()) <= 1e-8, backend
    C, R = params.C, params.Sigma_y_x
    woodbury = []
    for t in range(y.shape[0]):
        r = y[t] - C @ res.mu_pred[t]
        W = np.linalg.solve(R, r)
        b = C.T @ W
        prec = C.T @ np.linalg.solve(R, C) + np.linalg.inv(res.Upsilon_pred[t])
        logdet = (np.linalg.slogdet(R)[1] + np.linalg.slogdet(res.Upsilon_pred[t])[1]
                  + np.linalg.slogdet(prec)[1])
        woodbury.append(-0.5 * (r @ W - b @ np.linalg.solve(prec, b)) - 0.5 * logdet - 2.5 * np.log(2 * np.pi))
    assert np.max(np.abs(np.array(woodbury) - exact)) > 1e3 * np.max(np.abs(res.log_p_y - exact))
