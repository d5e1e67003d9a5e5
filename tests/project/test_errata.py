"""Tests that demonstrate rows of the errata page (book/errata.md) not covered by a library test.

Each test computes the corrected statement and, where the draft's version is a formula, shows that
the draft's version fails on the same example.
"""
import numpy as np
import pytest
from scipy import integrate, optimize, stats

from pedagogy_lib.nn import infomax as im
from pedagogy_lib.core.gradcheck import gradcheck


# ------------------------------------------------------------------ Section 2.1.3: counting covariances
def test_independent_entries_of_a_covariance_include_the_diagonal():
    """A symmetric n x n matrix has n(n+1)/2 free entries, not n(n-1)/2 (that omits the variances)."""
    for n in (1, 2, 3, 7):
        free = len(np.triu_indices(n)[0])                     # upper triangle with the diagonal
        assert free == n * (n + 1) // 2 != n * (n - 1) // 2
    n = 256**2
    assert n * (n + 1) // 2 == 2_147_516_416                   # still "about 2 x 10^9", as the draft says
    assert n * (n + 1) // 2 - n * (n - 1) // 2 == n


def _stationary_covariance_classes(n):
    """Distinct covariance values of a stationary field on an n x n grid, by brute force.

    Stationarity makes Cov(pixel p, pixel q) a function of the displacement q - p only, and
    symmetry of the covariance identifies the displacements d and -d.
    """
    pix = [(r, c) for r in range(n) for c in range(n)]
    classes = set()
    for p in pix:
        for q in pix:
            d = (q[0] - p[0], q[1] - p[1])
            classes.add(max(d, (-d[0], -d[1])))
    return len(classes)


def test_stationary_image_covariance_has_more_than_n_squared_distinct_entries():
    """Section 2.1.3 counts "only 256^2 distances" (displacements from one corner). Displacements
    in both directions count: ((2n - 1)^2 + 1)/2 classes, still linear in the number of pixels."""
    for n in (2, 3, 5):
        assert _stationary_covariance_classes(n) == ((2 * n - 1) ** 2 + 1) // 2 > n**2
    assert ((2 * 256 - 1) ** 2 + 1) // 2 == 130_561


# ------------------------------------------------------------------ Section 2.2.2: the stability remark
def _R(deg):
    t = np.deg2rad(deg)
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


def test_stable_A_shrinks_the_determinant_of_the_prediction_covariance():
    """The draft's remark holds for the volume: det(A U A^T) = det(A)^2 det(U) < det(U) when the
    eigenvalues of A lie inside the unit circle, whatever U is."""
    rng = np.random.default_rng(0)
    for A in (np.array([[0.5, 10.0], [0.0, 0.5]]), 0.9 * _R(90), 0.99 * _R(33)):
        assert np.max(np.abs(np.linalg.eigvals(A))) < 1
        for _ in range(20):
            G = rng.normal(size=(2, 2))
            U = G @ G.T + 1e-3 * np.eye(2)
            assert np.linalg.det(A @ U @ A.T) < np.linalg.det(U)


def test_largest_singular_value_below_one_does_not_shrink_every_direction():
    """sigma_max(A) < 1 shrinks the trace and the largest variance, but not every direction:
    A = 0.9 R_90 turns U = diag(100, 0.01) into 0.81 diag(0.01, 100)."""
    A = 0.9 * _R(90)
    assert np.allclose(np.linalg.svd(A, compute_uv=False), 0.9)
    U = np.diag([100.0, 0.01])
    P = A @ U @ A.T
    np.testing.assert_allclose(P, 0.81 * np.diag([0.01, 100.0]), atol=1e-12)
    assert np.linalg.eigvalsh(P - U).max() > 80                      # the x_2 variance grows 0.01 -> 81
    assert np.trace(P) < np.trace(U) and np.linalg.eigvalsh(P).max() < np.linalg.eigvalsh(U).max()
    # the exact condition for A U A^T <= U is sigma_max(U^{-1/2} A U^{1/2}) <= 1, which fails here
    Uh = np.diag(np.sqrt(np.diag(U)))
    assert np.linalg.svd(np.linalg.inv(Uh) @ A @ Uh, compute_uv=False).max() > 1
    # with U = I the condition is sigma_max(A) itself, and then every direction shrinks
    assert np.linalg.eigvalsh(A @ A.T - np.eye(2)).max() < 0


# ------------------------------------------------------------------ Section 4.2: what the MLE promises
def test_a_consistent_estimator_can_beat_the_mle_in_mean_squared_error():
    """Gaussian data, variance estimated as S / N (maximum likelihood) or S / (N + 1), S the sum of squared
    deviations, S / sigma^2 ~ chi-square(N - 1). Both are consistent; the second has the smaller mean squared
    error at every N >= 2, exactly (from the chi-square's mean and variance) and by simulation."""
    def mse(c, n):                      # E[(c S - sigma^2)^2] / sigma^4
        dist = stats.chi2(n - 1)
        return (c * dist.mean() - 1) ** 2 + c**2 * dist.var()

    for n in range(2, 500):
        mle, shrunk = mse(1 / n, n), mse(1 / (n + 1), n)
        np.testing.assert_allclose([mle, shrunk], [(2 * n - 1) / n**2, 2 / (n + 1)], rtol=1e-10)
        assert shrunk < mle
    y = np.random.default_rng(8).normal(0.0, 3.0, size=(100_000, 4))
    S = ((y - y.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    err = {c: (c * S - 9.0) ** 2 for c in (1 / 4, 1 / 5)}
    for c, e in err.items():
        assert abs(e.mean() - 81.0 * mse(c, 4)) < 4 * e.std(ddof=1) / np.sqrt(e.size)
    diff = err[1 / 4] - err[1 / 5]      # paired: the MLE's error exceeds the other's
    assert diff.mean() > 4 * diff.std(ddof=1) / np.sqrt(diff.size)


def test_a_consistent_estimator_beats_the_mle_in_the_limit_at_a_point():
    """The draft's claim is about the limit. Hodges' estimator of a Gaussian mean (variance 1): the sample mean,
    set to 0 when its size is below N^(-1/4). It is consistent, and at theta = 0 its scaled error N MSE is
    E[Z^2 ; |Z| >= N^(1/4)] = 2 (c phi(c) + 1 - Phi(c)) with c = N^(1/4), Z standard normal, which tends to 0,
    while the maximum-likelihood estimate's stays 1 at every N (the Cramer-Rao bound): the MLE is efficient
    only among regular estimators. Exact formula, and a simulation at N = 16 within 4 standard errors."""
    def scaled_mse_at_zero(n):
        c = n ** 0.25
        return 2 * (c * stats.norm.pdf(c) + stats.norm.sf(c))

    values = [scaled_mse_at_zero(n) for n in (10, 100, 10_000, 10**8)]
    assert all(b < a for a, b in zip(values, values[1:])) and values[0] < 1.0 and values[-1] < 1e-20
    z = np.random.default_rng(9).standard_normal(400_000)        # sqrt(N) times the sample mean, N = 16
    err = np.where(np.abs(z) >= 16 ** 0.25, z, 0.0) ** 2            # N times Hodges' squared error
    assert abs(err.mean() - scaled_mse_at_zero(16)) < 4 * err.std(ddof=1) / np.sqrt(err.size)
    assert err.mean() < 0.3                                         # the MLE's N MSE is exactly 1


# ------------------------------------------------------------------ Section 5.1.1: feature space, GLS
def test_gram_matrix_is_feature_by_feature_and_eq_5_10_is_generalized_least_squares():
    """With samples as columns of Y (M x N), Y Y^T is M x M: indexed by features, not samples.
    Eq. 5.10 with a full sample covariance Upsilon is generalized least squares (ordinary least
    squares after whitening the samples); weighting by diag(Upsilon) alone gives another answer."""
    rng = np.random.default_rng(1)
    M, N, K = 3, 40, 2
    Y = rng.normal(size=(M, N))
    assert (Y @ Y.T).shape == (M, M)
    np.testing.assert_allclose(Y @ Y.T, sum(np.outer(Y[:, n], Y[:, n]) for n in range(N)))
    G = rng.normal(size=(N, N))
    Ups = G @ G.T / N + 0.1 * np.eye(N)                          # correlated samples
    X = rng.normal(size=(K, M)) @ Y + rng.normal(size=(K, N)) @ np.linalg.cholesky(Ups).T
    Ui = np.linalg.inv(Ups)
    D_510 = X @ Ui @ Y.T @ np.linalg.inv(Y @ Ui @ Y.T)           # Eq. 5.10
    W = np.linalg.inv(np.linalg.cholesky(Ups))                   # whitening of the samples
    D_ols_white = np.linalg.lstsq((W @ Y.T), (W @ X.T), rcond=None)[0].T
    np.testing.assert_allclose(D_510, D_ols_white, rtol=1e-8, atol=1e-10)
    Wd = np.diag(1 / np.diag(Ups))                               # weighted least squares proper
    D_wls = X @ Wd @ Y.T @ np.linalg.inv(Y @ Wd @ Y.T)
    assert np.abs(D_wls - D_510).max() > 1e-3


# ------------------------------------------------------------------ Section 5.2.1: InfoMax
def test_conditional_entropy_of_a_deterministic_map_is_minus_infinity_not_zero():
    """For continuous Z = D Y + noise, H[Z | Y] is the noise entropy, which goes to -infinity as the
    noise vanishes (it is not 0); it does not depend on D, so the gradient argument survives."""
    K = 2
    h = [stats.multivariate_normal(np.zeros(K), s2 * np.eye(K)).entropy() for s2 in (1e-2, 1e-6, 1e-12)]
    np.testing.assert_allclose(h, [0.5 * K * np.log(2 * np.pi * np.e * s2) for s2 in (1e-2, 1e-6, 1e-12)])
    assert h[0] > h[1] > h[2] and h[2] < -20 and all(v < 0 for v in h)
    # Gaussian Y: I(Y; Z) = H[Z] - H[Z|Y] for two maps D differ by log|det D1| - log|det D2| in the limit
    Sy = np.array([[1.0, 0.3], [0.3, 2.0]])
    D1, D2 = np.array([[2.0, 0.0], [0.5, 1.0]]), np.eye(2)
    s2 = 1e-12

    def info(D):
        Hz = 0.5 * np.linalg.slogdet(2 * np.pi * np.e * (D @ Sy @ D.T + s2 * np.eye(K)))[1]
        return Hz - 0.5 * K * np.log(2 * np.pi * np.e * s2)

    np.testing.assert_allclose(info(D1) - info(D2), np.log(abs(np.linalg.det(D1))), rtol=1e-9)


def _output_scale(dist):
    """lambda solving E[tanh(lambda s / 2) lambda s] = 1 for unit-variance s of law ``dist``."""
    def E(f):
        lo, hi = np.clip(dist.support(), -60, 60)
        return integrate.quad(lambda s: f(s) * dist.pdf(s), lo, hi, points=[0.0] if lo < 0 < hi else None,
                              limit=200)[0]
    return optimize.brentq(lambda l: E(lambda s: np.tanh(l * s / 2) * l * s) - 1, 0.1, 20)


@pytest.mark.parametrize("name,dist,lo,hi", [
    ("gaussian", stats.norm(), 1.74, 1.76),
    ("laplace", stats.laplace(scale=1 / np.sqrt(2)), 1.91, 1.93),
    ("uniform", stats.uniform(-np.sqrt(3), 2 * np.sqrt(3)), 1.64, 1.66),
])
def test_infomax_output_scale_depends_on_the_data(name, dist, lo, hi):
    """The scale of the InfoMax fixed point (about 1.75 for Gaussian data) is not a constant: for
    independent unit-variance sources it is about 1.92 (Laplace) or 1.65 (uniform), and never the
    draft's sqrt(2) = 1.41."""
    lam = _output_scale(dist)
    assert lo < lam < hi and abs(lam - np.sqrt(2)) > 0.2


def test_infomax_fixed_point_for_laplace_sources_has_the_laplace_scale():
    """With Laplace sources mixed by C, D = lambda_Laplace C^{-1} satisfies the corrected fixed point
    (to sampling error, ~1e-2 for 20000 samples); the Gaussian value 1.75 does not."""
    rng = np.random.default_rng(5)
    S = im.sample_sources(rng, 20000, 2, source="laplace")
    C = np.array([[1.0, 0.6], [0.2, 1.0]])
    Y = im.mix(S, C)
    lam_l = _output_scale(stats.laplace(scale=1 / np.sqrt(2)))
    Ci = np.linalg.inv(C)
    assert im.fixed_point_residual(lam_l * Ci, Y) < 0.02
    assert im.fixed_point_residual(1.7488 * Ci, Y) > 0.05


# ------------------------------------------------------------------ Sections 7.3-7.4: the factor 1/2
def test_derivative_with_respect_to_a_precision_carries_one_half():
    """d/dP of sum_t [-1/2 log|P| + 1/2 r_t^T P r_t] is 1/2 sum_t (r_t r_t^T - P^{-1}); the draft's
    M steps for Lambda (Section 7.3, where the sign is flipped too) and Sigma_x (Section 7.4) drop the
    1/2; the zeros, and so the M steps, are unaffected."""
    rng = np.random.default_rng(2)
    n, T = 3, 50
    r = rng.normal(size=(T, n))
    G = rng.normal(size=(n, n))
    P = G @ G.T + n * np.eye(n)

    def H(P):
        return sum(-0.5 * np.linalg.slogdet(P)[1] + 0.5 * rt @ P @ rt for rt in r)

    fd = gradcheck(H, P).numeric                                 # entries varied independently
    S = np.linalg.inv(P)
    corrected = 0.5 * sum(np.outer(rt, rt) - S for rt in r)
    draft = -sum(S - np.outer(rt, rt) for rt in r)               # Section 7.4: -sum_t [Sigma - r r^T]
    np.testing.assert_allclose(fd, corrected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(draft, 2 * fd, rtol=1e-5, atol=1e-6)           # twice the derivative
    assert np.abs(fd - draft).max() > 1.0


# ------------------------------------------------------------------ Section 5.1.2: Gamma statistics
def test_gamma_shape_goes_with_sum_of_logs_and_scale_with_sum():
    """With the scale known, the Gamma log likelihood depends on the data through sum(log x) only
    (the shape's statistic); with the shape known, through sum(x) only (the scale's statistic)."""
    x1 = np.array([1.0, 4.0, 9.0])
    x2 = np.array([2.0, 2.0, 9.0])                                 # same sum(log x) = log 36, other sum(x)
    x3 = np.array([0.5, 6.5, 7.0])                                 # same sum(x) = 14 as x1, other sum(log x)
    assert np.isclose(np.log(x1).sum(), np.log(x2).sum()) and np.isclose(x1.sum(), x3.sum())

    def ll(x, k, theta):
        return stats.gamma(a=k, scale=theta).logpdf(x).sum()

    ks, thetas = np.linspace(0.5, 5, 10), np.linspace(0.5, 5, 10)
    # scale known: ll(x1, k) - ll(x2, k) is constant in k, so both give the same shape estimate
    d12 = [ll(x1, k, 2.0) - ll(x2, k, 2.0) for k in ks]
    assert np.ptp(d12) < 1e-9
    d13 = [ll(x1, k, 2.0) - ll(x3, k, 2.0) for k in ks]
    assert np.ptp(d13) > 0.1                                       # equal sums do not fix the shape
    # shape known: equal sums give likelihoods that differ by a constant in theta
    assert np.ptp([ll(x1, 2.0, t) - ll(x3, 2.0, t) for t in thetas]) < 1e-9


# ------------------------------------------------------------------ Section 6.3.1: "equivalent"
def test_joint_cross_entropy_alone_is_minimized_over_recognition_by_a_point_mass():
    """Over theta the objectives of Section 6.3.1 have the same minimizers; over the recognition
    distribution they do not: the joint cross entropy is minimized by a point mass on the most
    probable x, the free energy (joint cross entropy minus recognition entropy) by the posterior."""
    log_joint = np.log(np.array([0.1, 0.25, 0.15]))               # log p-hat(x, y) for one y, K = 3
    post = np.exp(log_joint) / np.exp(log_joint).sum()
    rng = np.random.default_rng(4)
    qs = np.vstack([rng.dirichlet(np.ones(3), size=2000), np.eye(3), post])
    cross = -(qs * log_joint).sum(axis=1)
    free = cross + (qs * np.log(np.clip(qs, 1e-300, None))).sum(axis=1)
    np.testing.assert_allclose(qs[np.argmin(cross)], np.eye(3)[np.argmax(log_joint)])
    np.testing.assert_allclose(qs[np.argmin(free)], post)
    np.testing.assert_allclose(free.min(), -np.log(np.exp(log_joint).sum()))


# ------------------------------------------------------------------ Section 2.2.2: the random variable
def test_future_conditioned_mean_is_affine_in_x_t_not_x_t_minus_1():
    """E[X_{t-1} | X_t = x_t, y_1..t-1] = mean + J (x_t - prediction): a function of x_t, with slope J."""
    m, U = np.array([0.3, -1.0]), np.array([[1.0, 0.2], [0.2, 0.5]])        # filter at t - 1
    A, Q = np.array([[0.9, 0.3], [-0.1, 0.8]]), 0.1 * np.eye(2)
    P = A @ U @ A.T + Q
    J = U @ A.T @ np.linalg.inv(P)
    # joint of (x_{t-1}, x_t) and its conditional, written out with the Schur complement
    S12, S22 = U @ A.T, P

    def cond_mean(x_t):
        return m + S12 @ np.linalg.solve(S22, x_t - A @ m)

    for x_t in (np.zeros(2), np.array([1.0, -2.0])):
        np.testing.assert_allclose(cond_mean(x_t), m + J @ (x_t - A @ m), rtol=1e-12)
    e = np.array([1.0, 0.0])
    np.testing.assert_allclose(cond_mean(e) - cond_mean(np.zeros(2)), J @ e, rtol=1e-12)


def test_the_vector_differential_takes_each_coordinate_once():
    """Chapter 1 defines the vector differential with dx_1 twice; integrating a 2-D density over x_1 and
    then x_2 (each once) gives 1, while integrating over x_1 twice leaves a function of x_2 with the
    wrong total."""
    grid = np.linspace(-8.0, 8.0, 801)
    x1, x2 = np.meshgrid(grid, grid, indexing="ij")
    density = stats.multivariate_normal([0.3, -0.5], [[1.0, 0.6], [0.6, 2.0]]).pdf(np.dstack([x1, x2]))
    once_each = np.trapezoid(np.trapezoid(density, grid, axis=0), grid)        # dx_1 then dx_2
    assert abs(once_each - 1.0) < 1e-6
    marginal_x2 = np.trapezoid(density, grid, axis=0)                          # after dx_1: a function of x_2
    twice_x1 = np.trapezoid(marginal_x2, grid) * (grid[-1] - grid[0])          # dx_1 again: x_1 is gone already
    assert abs(twice_x1 - 1.0) > 1.0                                            # the range of x_1 multiplies in
