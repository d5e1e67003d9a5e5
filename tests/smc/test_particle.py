"""Bootstrap particle filter and FFBSm smoother ("Sampling-based approaches", Eqs. 2.56-2.61).

Oracles: the dense joint-Gaussian conditioning of ``tests/oracle_lgssm.py`` (Kalman/RTS answers and
the exact evidence), ``scipy.stats`` densities with explicit double loops for Eq. 2.61, and Monte
Carlo with tolerances derived from standard errors (stated next to each test).
"""
import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from pedagogy_lib.lgssm.model import LGSSMParams, sample_lgssm
from pedagogy_lib.smc import kernels
from pedagogy_lib.smc.particle import (BOOTSTRAP_KERNELS, ParticleFilterResult, StateSpaceModel, backward_simulation,
                                       ffbsm, particle_filter)
from pedagogy_lib.smc.resampling import SCHEMES

from oracle_lgssm import oracle_filter, oracle_log_evidence, oracle_smoother

BACKENDS = ["numba", "numpy"]


def _spd(rng, k, scale=1.0):
    M = rng.standard_normal((k, k))
    return scale * (M @ M.T / k + 0.5 * np.eye(k))


def random_problem(seed, n=2, m=1, n_u=0, T=8):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    A *= 0.9 / max(1e-12, np.max(np.abs(np.linalg.eigvals(A))))
    params = LGSSMParams(mu1=rng.standard_normal(n), Sigma1=_spd(rng, n), A=A,
                         B=rng.standard_normal((n, n_u)) if n_u else None, a=0.3 * rng.standard_normal(n),
                         Sigma_x=_spd(rng, n, 0.5), C=rng.standard_normal((m, n)), c=rng.standard_normal(m),
                         Sigma_y_x=_spd(rng, m, 0.7))
    u = rng.standard_normal((T - 1, n_u)) if n_u else None
    _, y = sample_lgssm(params, T, rng=rng, u=u)
    return params, y, u


def scalar_problem(T=10, seed=0):
    """x_t = 0.9 x_{t-1} + N(0, 0.5), y_t = x_t + N(0, 0.4), x_1 ~ N(0, 1)."""
    params = LGSSMParams(np.zeros(1), np.eye(1), np.array([[0.9]]), None, np.zeros(1), np.array([[0.5]]),
                         np.eye(1), np.zeros(1), np.array([[0.4]]))
    _, y = sample_lgssm(params, T, rng=np.random.default_rng(seed))
    return params, y


def as_generic(params, u=None):
    """The same LGSSM written as vectorized callables (the generic NumPy path)."""
    mu1, Sigma1, A, B, a, Sigma_x, C, c, Sigma_y_x = params
    T_u = None if u is None else np.asarray(u)

    def drift(t):
        return a if T_u is None else a + B @ T_u[t - 1]

    def sample_initial(rng, I):
        return rng.multivariate_normal(mu1, Sigma1, size=I)

    def sample_transition(rng, x_prev, t):
        return x_prev @ A.T + drift(t) + rng.multivariate_normal(np.zeros(len(a)), Sigma_x, size=len(x_prev))

    def log_lik(y_t, x, t):
        return stats.multivariate_normal(np.zeros(len(c)), Sigma_y_x).logpdf(y_t - x @ C.T - c).reshape(len(x))

    def log_transition(x_next, x_prev, t):
        mean = x_prev @ A.T + drift(t)                               # (I, n)
        diff = x_next[:, None, :] - mean[None, :, :]                 # (K, I, n)
        dist = stats.multivariate_normal(np.zeros(len(a)), Sigma_x)
        return dist.logpdf(diff.reshape(-1, len(a))).reshape(len(x_next), len(x_prev))

    return StateSpaceModel(sample_initial, sample_transition, log_lik, log_transition)


def weighted_mean(x, log_w):
    return np.einsum("ti,tin->tn", np.exp(log_w), x)


# ------------------------------------------------------------------------------------------------
# Structure of the result
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("thr", [1.0, 0.5, 0.0])
@pytest.mark.parametrize("backend", BACKENDS)
def test_result_structure_and_weights_are_eq_2_59(thr, backend):
    params, y, u = random_problem(1, n=2, m=2, n_u=1, T=12)
    I = 40
    pf = particle_filter(params, y, np.random.default_rng(3), I, u=u, ess_threshold=thr, backend=backend)
    T = y.shape[0]
    assert isinstance(pf, ParticleFilterResult)
    assert pf.x.shape == (T, I, 2) and pf.log_alpha.shape == (T, I) and pf.ancestors.shape == (T, I)
    assert pf.ancestors.dtype == np.int64 and pf.resampled.dtype == bool
    np.testing.assert_allclose(logsumexp(pf.log_alpha, axis=1), 0.0, atol=1e-12)      # normalized
    assert np.all(pf.ess >= 1 - 1e-9) and np.all(pf.ess <= I + 1e-9)
    np.testing.assert_allclose(pf.ess, 1 / np.sum(np.exp(2 * pf.log_alpha), axis=1), rtol=1e-10)
    assert np.all(pf.ancestors[0] == -1) and not pf.resampled[0]
    # the resampling rule
    expected = np.r_[False, [thr >= 1.0 or e < thr * I for e in pf.ess[:-1]]]
    np.testing.assert_array_equal(pf.resampled, expected)
    for t in range(1, T):
        if not pf.resampled[t]:
            np.testing.assert_array_equal(pf.ancestors[t], np.arange(I))
    # the weights of the stored particles (before resampling) follow Eq. 2.59, with a scipy likelihood;
    # at a step without resampling the old weight is carried along
    lik = stats.multivariate_normal(np.zeros(2), params.Sigma_y_x)
    for t in range(T):
        log_lik = lik.logpdf(y[t] - pf.x[t] @ params.C.T - params.c)
        log_prior = (np.full(I, -np.log(I)) if t == 0 or pf.resampled[t] else pf.log_alpha[t - 1])
        np.testing.assert_allclose(pf.log_alpha[t], log_prior + log_lik - logsumexp(log_prior + log_lik),
                                   rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(pf.log_evidence_steps[t], logsumexp(log_prior + log_lik), rtol=1e-10)
    assert pf.log_evidence == pytest.approx(pf.log_evidence_steps.sum(), rel=1e-12)


def test_thresholds_one_and_zero_mean_always_and_never():
    params, y = scalar_problem(T=15)
    always = particle_filter(params, y, np.random.default_rng(0), 30, ess_threshold=1.0)
    never = particle_filter(params, y, np.random.default_rng(0), 30, ess_threshold=0.0)
    assert always.resampled[1:].all()
    assert not never.resampled.any()
    np.testing.assert_array_equal(never.ancestors[1:], np.tile(np.arange(30), (14, 1)))


def test_particles_are_moved_from_their_ancestors():
    # The time update of Eq. 2.57: an ancestor drawn from Categ(alpha_{t-1}), then moved by the transition.
    # With a nearly noiseless transition, x_t ~= A x_{t-1}[ancestor] + a: the stored x[t-1] are the
    # particles BEFORE resampling and ancestors index into them.
    params, y, _ = random_problem(2, n=2, m=1, T=6)
    params = params._replace(Sigma_x=1e-12 * np.eye(2))
    pf = particle_filter(params, y, np.random.default_rng(0), 25)
    for t in range(1, 6):
        np.testing.assert_allclose(pf.x[t], pf.x[t - 1][pf.ancestors[t]] @ params.A.T + params.a, atol=1e-5)


# ------------------------------------------------------------------------------------------------
# Kernel vs twin with the same pre-drawn randomness
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("thr", [1.0, 0.6, 0.0])
def test_filter_kernel_matches_numpy_twin(scheme, thr):
    for seed in range(4):
        params, y, u = random_problem(10 + seed, n=1 + seed % 3, m=1 + seed % 2, n_u=seed % 2, T=9)
        a = particle_filter(params, y, np.random.default_rng(seed), 23, u=u, ess_threshold=thr, scheme=scheme,
                            backend="numba")
        b = particle_filter(params, y, np.random.default_rng(seed), 23, u=u, ess_threshold=thr, scheme=scheme,
                            backend="numpy")
        for name, va, vb in zip(a._fields, a, b):
            np.testing.assert_allclose(va, vb, rtol=1e-10, atol=1e-12, err_msg=name)


def test_smoother_kernels_match_numpy_twins():
    for seed in range(4):
        params, y, u = random_problem(20 + seed, n=1 + seed % 3, m=2, n_u=1, T=7)
        pf = particle_filter(params, y, np.random.default_rng(seed), 17, u=u, ess_threshold=0.5)
        np.testing.assert_allclose(ffbsm(params, pf, u=u, backend="numba"), ffbsm(params, pf, u=u, backend="numpy"),
                                   rtol=1e-10, atol=1e-13)
        s1 = backward_simulation(params, pf, np.random.default_rng(9), 50, u=u, backend="numba")
        s2 = backward_simulation(params, pf, np.random.default_rng(9), 50, u=u, backend="numpy")
        np.testing.assert_array_equal(s1.indices, s2.indices)
        np.testing.assert_array_equal(s1.x, pf.x[np.arange(7)[None, :], s1.indices])


def test_py_func_equals_compiled_kernel():
    params, y = scalar_problem(T=5)
    pf = particle_filter(params, y, np.random.default_rng(0), 8)
    args = (pf.x, pf.log_alpha, params.A, np.zeros((5, 1)), np.eye(1) / np.sqrt(0.5))
    fargs = args[:2] + (np.exp(pf.log_alpha[-1]),) + args[2:]
    np.testing.assert_allclose(kernels.ffbsm_lgssm.py_func(*fargs), kernels.ffbsm_lgssm(*fargs), rtol=1e-12)
    U = np.random.default_rng(1).random((5, 6))
    np.testing.assert_array_equal(kernels.backward_simulation_lgssm.py_func(*args, U),
                                  kernels.backward_simulation_lgssm(*args, U))
    eps = np.random.default_rng(2).standard_normal((5, 8, 1))
    model = kernels.WhitenedLGSSM(np.zeros(1), np.eye(1), params.A, np.zeros((5, 1)), np.eye(1), np.eye(1), y, -1.0)
    U = np.random.default_rng(3).random((5, 8))

    def outputs():                                             # the kernel overwrites its normals in place
        return kernels.FilterOutput(eps.copy(), np.empty((5, 8)), np.empty((5, 8), dtype=np.int64), np.empty(5),
                                    np.zeros(5, dtype=bool), np.empty(5))
    for scheme, driver in BOOTSTRAP_KERNELS.items():
        a, b = outputs(), outputs()
        driver.py_func(model, U[:, :1] if scheme == "systematic" else U, 0.7, a)
        driver(model, U[:, :1] if scheme == "systematic" else U, 0.7, b)
        for va, vb in zip(a, b):
            np.testing.assert_allclose(va, vb, rtol=1e-12)


# ------------------------------------------------------------------------------------------------
# Evidence: unbiased in the linear domain (marginalization of Fig. 2.6B, Eq. 2.40)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("thr,scheme", [(1.0, "multinomial"), (0.5, "systematic"), (0.0, "stratified")])
def test_evidence_estimate_is_unbiased(thr, scheme):
    # R independent runs of a small filter; ratio = Z_hat / Z (exact Z from the dense joint Gaussian).
    # E[ratio] = 1 exactly for every resampling rule, including steps that skip resampling (the
    # threshold 0.5 case checks that they use the carried weights) and pure importance sampling
    # (threshold 0). Tolerance: 4 standard errors of the mean of the ratio, fixed seed.
    params, y = scalar_problem(T=8, seed=5)
    log_Z = oracle_log_evidence(params, y)
    R, I = 2000, 20
    rng = np.random.default_rng(11)
    ratio = np.array([np.exp(particle_filter(params, y, rng, I, ess_threshold=thr, scheme=scheme).log_evidence
                             - log_Z) for _ in range(R)])
    se = ratio.std(ddof=1) / np.sqrt(R)
    assert abs(ratio.mean() - 1.0) < 4 * se, (ratio.mean(), se)
    assert se < 0.1                                      # the test has power: the SE is small


def test_evidence_wrong_accounting_would_be_detected():
    # Control for the test above: with threshold 0 (no resampling), using the plain mean of the
    # likelihoods (as after resampling) instead of the carried weights is far off.
    params, y = scalar_problem(T=8, seed=5)
    log_Z = oracle_log_evidence(params, y)
    rng = np.random.default_rng(12)
    wrong = []
    for _ in range(300):
        pf = particle_filter(params, y, rng, 20, ess_threshold=0.0)
        lik = stats.norm(0, np.sqrt(0.4)).logpdf(y[:, 0][:, None] - pf.x[:, :, 0])
        wrong.append(np.exp(np.sum(logsumexp(lik, axis=1) - np.log(20)) - log_Z))
    assert abs(np.mean(wrong) - 1.0) > 5 * np.std(wrong, ddof=1) / np.sqrt(300)


# ------------------------------------------------------------------------------------------------
# Convergence to Kalman / RTS
# ------------------------------------------------------------------------------------------------
def _errors(params, y, I, R, rng, smooth):
    mu = oracle_smoother(params, y)[0] if smooth else oracle_filter(params, y)[2]
    est = []
    for _ in range(R):
        pf = particle_filter(params, y, rng, I)
        if smooth:
            est.append(np.einsum("ti,tin->tn", ffbsm(params, pf), pf.x))
        else:
            est.append(weighted_mean(pf.x, pf.log_alpha))
    return np.array(est), mu


@pytest.mark.parametrize("smooth", [False, True])
def test_means_converge_to_kalman_and_rts(smooth):
    # The means of the particle approximations Categ(alpha_t) and Categ(beta_t) of Eq. 2.56 against the exact ones.
    # (a) Mean of R estimates vs the exact mean: the estimator's bias is O(1/I), far below its
    #     sampling error, so every entry is within 5 standard errors of the mean (plus 1e-3 slack).
    # (b) RMS error scales like I^{-1/2}: quadrupling I halves it. Over R*T*n errors the RMS has a
    #     relative SE of roughly 1/sqrt(2 R) per time step (the steps are correlated), about 10%
    #     here; the ratio must lie in [1.5, 2.7], i.e. 2 +- 5 SE of a log-ratio.
    params, y, _ = random_problem(30, n=2, m=1, T=10)
    rng = np.random.default_rng(13)
    I_small, I_big, R = (64, 256, 40) if smooth else (250, 1000, 40)
    est_s, mu = _errors(params, y, I_small, R, rng, smooth)
    est_b, _ = _errors(params, y, I_big, R, rng, smooth)
    se = est_b.std(axis=0, ddof=1) / np.sqrt(R)
    np.testing.assert_array_less(np.abs(est_b.mean(axis=0) - mu), 5 * se + 1e-3)
    rms_s = np.sqrt(np.mean((est_s - mu) ** 2))
    rms_b = np.sqrt(np.mean((est_b - mu) ** 2))
    assert 1.5 < rms_s / rms_b < 2.7, (rms_s, rms_b)


def test_generic_path_converges_to_kalman():
    # The generic NumPy path on the same model: per-step filter means within 5 SE over R runs.
    params, y, u = random_problem(31, n=2, m=1, n_u=1, T=6)
    model = as_generic(params, u)
    mu_filt = oracle_filter(params, y, u)[2]
    rng = np.random.default_rng(14)
    est = np.array([weighted_mean(pf.x, pf.log_alpha) for pf in
                    (particle_filter(model, y, rng, 400, ess_threshold=0.5) for _ in range(30))])
    se = est.std(axis=0, ddof=1) / np.sqrt(30)
    np.testing.assert_array_less(np.abs(est.mean(axis=0) - mu_filt), 5 * se + 1e-3)
    ratio = np.exp(np.array([particle_filter(model, y, rng, 50).log_evidence for _ in range(300)])
                   - oracle_log_evidence(params, y, u))
    assert abs(ratio.mean() - 1) < 4 * ratio.std(ddof=1) / np.sqrt(300)


# ------------------------------------------------------------------------------------------------
# FFBSm = the HMM backward step on the particle "transition matrix"
# ------------------------------------------------------------------------------------------------
def _ffbsm_brute_force(params, pf, u=None):
    """Eq. 2.61 as the HMM gamma-step with explicit loops and scipy densities.

    gamma_{t-1}^j = sum_k gamma_t^k alpha_{t-1}^j M_kj / sum_i alpha_{t-1}^i M_ki, M_kj = p(x_t^k | x_{t-1}^j).
    """
    T, I, n = pf.x.shape
    alpha = np.exp(pf.log_alpha)
    beta = np.zeros((T, I))
    beta[-1] = alpha[-1]
    dist = stats.multivariate_normal(np.zeros(n), params.Sigma_x)
    for t in range(T - 1, 0, -1):
        drift = params.a if u is None else params.a + params.B @ u[t - 1]
        M = np.array([[dist.pdf(pf.x[t, k] - params.A @ pf.x[t - 1, j] - drift) for j in range(I)]
                      for k in range(I)])                       # M[k, j] = p(x_t^k | x_{t-1}^j)
        for j in range(I):
            beta[t - 1, j] = sum(beta[t, k] * alpha[t - 1, j] * M[k, j] / sum(alpha[t - 1, i] * M[k, i]
                                                                            for i in range(I))
                                 for k in range(I))
    return beta


@pytest.mark.parametrize("backend", BACKENDS)
def test_ffbsm_equals_hmm_backward_step_brute_force(backend):
    params, y, u = random_problem(40, n=2, m=1, n_u=1, T=5)
    pf = particle_filter(params, y, np.random.default_rng(0), 6, u=u, ess_threshold=0.7)
    beta = ffbsm(params, pf, u=u, backend=backend)
    # Eq. 2.61, whose fraction is the backward conditional of Eq. 2.60
    np.testing.assert_allclose(beta, _ffbsm_brute_force(params, pf, u), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(beta[-1], np.exp(pf.log_alpha[-1]))          # beta_T = alpha_T
    np.testing.assert_allclose(beta.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(beta >= 0)
    # the generic path (scipy log densities) gives the same weights
    np.testing.assert_allclose(ffbsm(as_generic(params, u), pf), beta, rtol=1e-9, atol=1e-12)


def test_backward_simulation_frequencies_match_beta():
    # Each backward step draws x_{t-1} from the weights of Eq. 2.60 given the x_t drawn before it.
    # Given the particles, the marginal law of b_t under backward simulation is exactly beta_t.
    # Frequencies of M draws: per entry within 5 SE = 5 sqrt(beta (1 - beta) / M) (+1e-9).
    params, y, u = random_problem(41, n=1, m=1, T=5)
    pf = particle_filter(params, y, np.random.default_rng(1), 12)
    beta = ffbsm(params, pf)
    M = 20000
    for model in (params, as_generic(params)):
        sim = backward_simulation(model, pf, np.random.default_rng(2), M)
        freq = np.array([np.bincount(sim.indices[:, t], minlength=12) / M for t in range(5)])
        np.testing.assert_array_less(np.abs(freq - beta), 5 * np.sqrt(beta * (1 - beta) / M) + 1e-9)
        assert sim.x.shape == (M, 5, 1)


# ------------------------------------------------------------------------------------------------
# Validation: one test per message
# ------------------------------------------------------------------------------------------------
def test_validation_messages():
    params, y = scalar_problem(T=4)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"I must be at least 1"):
        particle_filter(params, y, rng, 0)
    with pytest.raises(TypeError, match=r"I must be an integer"):
        particle_filter(params, y, rng, 10.0)
    with pytest.raises(ValueError, match=r"y is an empty sequence \(T = 0\)"):
        particle_filter(params, np.zeros((0, 1)), rng, 10)
    with pytest.raises(ValueError, match=r"y must have shape \(T,\) or \(T, m\)"):
        particle_filter(params, np.zeros((3, 1, 1)), rng, 10)
    with pytest.raises(ValueError, match=r"y must have shape \(T, m\) with m = 1"):
        particle_filter(params, np.zeros((3, 2)), rng, 10)
    with pytest.raises(ValueError, match=r"y must be finite"):
        particle_filter(params, np.full((3, 1), np.nan), rng, 10)
    with pytest.raises(ValueError, match=r"ess_threshold must lie in \[0, 1\]"):
        particle_filter(params, y, rng, 10, ess_threshold=1.5)
    with pytest.raises(TypeError, match=r"ess_threshold must be a number"):
        particle_filter(params, y, rng, 10, ess_threshold="half")
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        particle_filter(params, y, 0, 10)
    with pytest.raises(TypeError, match=r"model must be an LGSSMParams"):
        particle_filter((1, 2, 3), y, rng, 10)
    with pytest.raises(ValueError, match=r"scheme must be one of"):
        particle_filter(params, y, rng, 10, scheme="residual")
    with pytest.raises(ValueError, match=r"backend must be one of"):
        particle_filter(params, y, rng, 10, backend="jax")
    with pytest.raises(ValueError, match=r"Sigma_x is not symmetric positive definite"):
        particle_filter(params._replace(Sigma_x=-np.eye(1)), y, rng, 10)
    with pytest.raises(ValueError, match=r"A must have shape \(n, n\)"):
        particle_filter(params._replace(A=np.eye(2)), y, rng, 10)
    with pytest.raises(ValueError, match=r"mu1 must have at least one entry \(n >= 1\)"):
        particle_filter(params._replace(mu1=np.zeros(0)), y, rng, 10)
    with pytest.raises(ValueError, match=r"c must have at least one entry \(m >= 1\)"):
        particle_filter(params._replace(c=np.zeros(0)), y, rng, 10)
    with pytest.raises(ValueError, match=r"u was given but B is None"):
        particle_filter(params, y, rng, 10, u=np.zeros((3, 1)))
    with_B = params._replace(B=np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"u is required because B has n_u = 2 columns"):
        particle_filter(with_B, y, rng, 10)
    with pytest.raises(ValueError, match=r"u must have shape \(T - 1, n_u\)"):
        particle_filter(with_B, y, rng, 10, u=np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"B must have shape \(n, n_u\) = \(1, any\); got \(2, 2\)"):
        particle_filter(params._replace(B=np.ones((2, 2))), y, rng, 10, u=np.zeros((3, 2)))

    # generic models: callables returning the wrong thing
    good = as_generic(params)
    with pytest.raises(ValueError, match=r"sample_initial must return particles of shape \(I, n\)"):
        particle_filter(good._replace(sample_initial=lambda r, I: np.zeros(I)), y[:, 0], rng, 5)
    with pytest.raises(ValueError, match=r"sample_transition must return particles of shape \(I, n\) = \(5, 1\)"):
        particle_filter(good._replace(sample_transition=lambda r, x, t: np.zeros((5, 2))), y, rng, 5)
    with pytest.raises(ValueError, match=r"sample_initial returned a NaN or infinite particle"):
        particle_filter(good._replace(sample_initial=lambda r, I: np.full((I, 1), np.nan)), y, rng, 5)
    with pytest.raises(ValueError, match=r"log_lik must return an array of shape \(I,\) = \(5,\)"):
        particle_filter(good._replace(log_lik=lambda yt, x, t: np.zeros((5, 1))), y, rng, 5)
    with pytest.raises(ValueError, match=r"log_lik returned NaN or \+inf"):
        particle_filter(good._replace(log_lik=lambda yt, x, t: np.full(5, np.nan)), y, rng, 5)
    with pytest.raises(ValueError, match=r"every particle has likelihood zero at step t = 0"):
        particle_filter(good._replace(log_lik=lambda yt, x, t: np.full(5, -np.inf)), y, rng, 5)

    # smoother and backward simulation
    pf = particle_filter(params, y, rng, 6)
    with pytest.raises(TypeError, match=r"pf must be the ParticleFilterResult"):
        ffbsm(params, tuple(pf))
    with pytest.raises(ValueError, match=r"pf.log_alpha must be normalized.*row 0"):
        ffbsm(params, pf._replace(log_alpha=pf.log_alpha + 1.0))
    with pytest.raises(ValueError, match=r"pf.log_alpha must not contain NaN or \+inf"):
        ffbsm(params, pf._replace(log_alpha=np.full_like(pf.log_alpha, np.nan)))
    with pytest.raises(ValueError, match=r"pf.log_alpha must have shape \(T, I\)"):
        ffbsm(params, pf._replace(log_alpha=pf.log_alpha[:, :3]))
    with pytest.raises(ValueError, match=r"pf.x must be a 3-D array"):
        ffbsm(params, pf._replace(x=pf.x[:, :, 0]))
    with pytest.raises(ValueError, match=r"pf.x has state dimension n = 2 but the model has n = 1"):
        ffbsm(params, pf._replace(x=np.concatenate([pf.x, pf.x], axis=2)))
    with pytest.raises(ValueError, match=r"model.log_transition is None"):
        ffbsm(good._replace(log_transition=None), pf)
    with pytest.raises(ValueError, match=r"log_transition must return an array of shape \(K, I\) = \(6, 6\)"):
        ffbsm(good._replace(log_transition=lambda a, b, t: np.zeros((6, 5))), pf)
    with pytest.raises(ValueError, match=r"log_transition returned NaN or \+inf"):
        ffbsm(good._replace(log_transition=lambda a, b, t: np.full((6, 6), np.inf)), pf)
    with pytest.raises(ValueError, match=r"backend must be one of"):
        ffbsm(params, pf, backend="jax")
    with pytest.raises(ValueError, match=r"M must be at least 1"):
        backward_simulation(params, pf, rng, 0)
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        backward_simulation(params, pf, None, 3)


# ------------------------------------------------------------------------------------------------
# The kernels' numerical helpers
# ------------------------------------------------------------------------------------------------
def test_reductions_match_numpy():
    # (the vectorizable exp the kernels use, pedagogy_lib.core.kernels.exp_into, is tested in tests/core)
    rng = np.random.default_rng(0)
    for n in (1, 3, 4, 7, 1000):
        w = rng.standard_normal(n)
        assert kernels.vector_max(w) == np.max(w)
        assert kernels.vector_sum(w) == pytest.approx(np.sum(w), rel=1e-13, abs=1e-13)


# ------------------------------------------------------------------------------------------------
# The kernels module
# ------------------------------------------------------------------------------------------------
def test_every_kernel_is_small_and_none_chooses_an_algorithm_by_code():
    """At most about 80 lines and 12 parameters per numba kernel of smc/kernels.py, no parameter that
    chooses the scheme by an integer code, and no numba code left in the readable modules."""
    import ast
    from pathlib import Path
    folder = Path(kernels.__file__).parent
    tree = ast.parse((folder / "kernels.py").read_text())
    found = [n for n in tree.body if isinstance(n, ast.FunctionDef)
             and any(getattr(d, "id", "").startswith("njit") for d in n.decorator_list)]
    assert len(found) >= 20
    for k in found:
        names = [a.arg for a in k.args.args]
        assert k.end_lineno - k.lineno + 1 <= 80, k.name
        assert len(names) <= 12, k.name
        assert not {"method", "kind", "code", "scheme", "scheme_code"} & set(names), k.name
        assert not k.name.startswith("_") and not k.name.endswith(("_numba", "_kernel")), k.name
    for module in ("particle.py", "resampling.py"):
        text = (folder / module).read_text()
        assert "njit" not in text and "import numba" not in text and "from numba" not in text, module
