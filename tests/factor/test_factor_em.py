"""Tests for pedagogy_lib.factor.em (book Section 7.3: factor analysis, PPCA, PCA, iterative PCA).

Oracles, all independent of the code under test:
* a dense EM step written here from the book's augmented formulation (bias as a constant latent
  1), with each posterior from ``gaussian.joint`` + ``gaussian.condition`` (Schur complements);
* scikit-learn's FactorAnalysis (an SVD-based maximum-likelihood iteration, not EM, so only the
  converged answers can agree) and PCA (SVD of the centred data, 1/(N-1) convention);
* ``np.linalg.svd`` and ``lstsq`` projections; ``scipy.linalg.subspace_angles``;
* sampling standard errors of a sample covariance for parameter recovery (5 standard errors);
* finite differences for the draft's derivatives (errata).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA, FactorAnalysis
from threadpoolctl import threadpool_limits

from pedagogy_lib.em import engine as em
from pedagogy_lib.factor import model as fa
from pedagogy_lib.factor import em as fl
from pedagogy_lib.gaussian import blocks as g
from pedagogy_lib.core.gradcheck import gradcheck

N_SE = 5.0


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # Multi-threaded OpenBLAS stalls badly on a loaded 2-core machine for these tiny solves;
    # one thread is also faster here. The limit is undone after this module.
    with threadpool_limits(limits=1):
        yield


def random_fa(rng, L, K, noise=(0.3, 1.0)):
    return fa.FAParams(rng.standard_normal((L, K)), rng.standard_normal(L), rng.uniform(*noise, L))


def fa_data(seed, L, K, N, noise=(0.3, 1.0)):
    rng = np.random.default_rng(seed)
    true = random_fa(rng, L, K, noise)
    return true, fa.fa_sample(rng, true, N).y


def covariance(params):
    return params.C @ params.C.T + np.diag(params.Lambda)


def assert_monotone(ll, rtol=1e-9):
    ll = np.asarray(ll)
    assert np.all(np.diff(ll) >= -rtol * np.maximum(1.0, np.abs(ll[:-1]))), np.diff(ll).min()


def oracle_fa_em_step(C, c, Lam, Y):
    """One EM step in the book's augmented form: x_aug = [x; 1], C_aug = [C c] (Section 7.3)."""
    N, L = Y.shape
    K = C.shape[1]
    J = g.joint(np.zeros(K), np.eye(K), C, c, np.diag(Lam))
    observed = np.arange(K, K + L)
    Syx = np.zeros((L, K + 1))
    Sxx = np.zeros((K + 1, K + 1))
    for y in Y:
        post = g.condition(J.mu, J.Sigma, observed, y)          # p(x | y) by Schur complement
        e = np.append(post.mu, 1.0)                              # E[x_aug | y]
        Exx = np.outer(e, e)
        Exx[:K, :K] += post.Sigma                                # E[x_aug x_aug^T | y]
        Syx += np.outer(y, e)
        Sxx += Exx
    C_aug = np.linalg.solve(Sxx.T, Syx.T).T                      # <y x^T><x x^T>^{-1}
    Lam_new = np.diag(Y.T @ Y / N - C_aug @ Syx.T / N)           # diag(<yy^T> - C <x y^T>)
    return C_aug[:, :K], C_aug[:, K], Lam_new


def heywood_data(N=200, seed=0):
    """Data whose sample covariance is exactly R; a one-factor model needs loading^2 = 1.28 > 1 on y_0."""
    R = np.array([[1.0, 0.8, 0.8], [0.8, 1.0, 0.5], [0.8, 0.5, 1.0]])
    Z = np.random.default_rng(seed).standard_normal((N, 3))
    Z -= Z.mean(0)
    W = np.linalg.solve(np.linalg.cholesky(Z.T @ Z / N), Z.T).T   # exactly white sample covariance
    return W @ np.linalg.cholesky(R).T, R


# --------------------------------------------------------------------------- monotonicity

@pytest.mark.filterwarnings("ignore::pedagogy_lib.em.ConvergenceWarning")
@pytest.mark.parametrize("seed", range(12))
def test_fa_and_ppca_em_monotone_with_elbo_sandwich(seed):
    L, K = [(4, 1), (5, 2), (6, 3)][seed % 3]
    _, y = fa_data(seed, L, K, 60)
    for res in (fl.fit_fa(y, K, rng=np.random.default_rng(seed), max_iter=40, tol=1e-14),
                fl.fit_ppca(y, K, rng=np.random.default_rng(seed), max_iter=40, tol=1e-14)):
        ll, elbo = res.log_lik, res.elbo
        assert_monotone(ll)
        scale = 1e-9 * np.maximum(1.0, np.abs(ll[:-1]))
        assert np.all(elbo >= ll[:-1] - scale) and np.all(elbo <= ll[1:] + scale)
        assert ll[-1] > ll[0]
        # log_lik really is the FA marginal log likelihood of the final parameters
        assert ll[-1] == pytest.approx(float(np.sum(fa.fa_log_likelihood(res.params, y))), rel=1e-12)


@pytest.mark.filterwarnings("ignore::pedagogy_lib.em.ConvergenceWarning")
@pytest.mark.parametrize("seed", range(8))
def test_iterative_pca_objective_monotone(seed):
    rng = np.random.default_rng(seed)
    y = rng.standard_normal((40, 5)) @ rng.standard_normal((5, 5))
    res = fl.fit_iterative_pca(y, 2, rng=rng, max_iter=30, tol=1e-15)
    assert_monotone(res.log_lik) and res.elbo is None


# --------------------------------------------------------------------------- iterates vs an independent EM

@pytest.mark.parametrize("L,K", [(4, 1), (5, 2), (3, 2)])
def test_fa_iterates_match_dense_augmented_em(L, K):
    _, y = fa_data(10 + L, L, K, 40)
    with pytest.warns(em.ConvergenceWarning, match="did not converge in 6 iterations"):
        res = fl.fit_fa(y, K, rng=np.random.default_rng(1), max_iter=6, tol=1e-15, Lambda_floor=1e-9,
                        return_path=True)
    C, c, Lam = res.path[0]
    np.testing.assert_allclose(c, y.mean(0), rtol=1e-13)
    for i in range(1, 7):
        C, c, Lam = oracle_fa_em_step(C, c, Lam, y)
        np.testing.assert_allclose(res.path[i].C, C, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(res.path[i].Lambda, Lam, rtol=1e-8, atol=1e-12)
        # with c at the sample mean the augmented M step leaves the bias there
        np.testing.assert_allclose(c, y.mean(0), rtol=1e-9, atol=1e-12)
    # the one-step public function is the same map
    one = fl.fa_em_step(res.path[2], y, Lambda_floor=1e-9)
    np.testing.assert_allclose(one.C, res.path[3].C, rtol=1e-12)


def test_fa_matches_sklearn_at_convergence():
    """scikit-learn alternates a closed-form W given psi (an SVD) with psi = diag(S - W W^T): not EM, so
    the iterates differ; both stop at the same maximum likelihood, compared through invariants.
    EM converges linearly; stopped at a 1e-13 relative change its covariance is within ~1e-5."""
    _, y = fa_data(3, 5, 1, 300)
    res = fl.fit_fa(y, 1, rng=np.random.default_rng(1), tol=1e-13, max_iter=3000, Lambda_floor=1e-9)
    sk = FactorAnalysis(1, tol=1e-13, max_iter=100_000, svd_method="lapack").fit(y)
    assert res.converged
    assert res.log_lik[-1] / y.shape[0] == pytest.approx(sk.score(y), rel=1e-10)   # both 1/N conventions
    np.testing.assert_allclose(covariance(res.params), sk.get_covariance(), atol=1e-4)
    np.testing.assert_allclose(res.params.Lambda, sk.noise_variance_, atol=1e-4)


def test_fa_rotation_invariance_of_fit():
    _, y = fa_data(4, 6, 2, 80)
    res = fl.fit_fa(y, 2, rng=np.random.default_rng(0), max_iter=2000, tol=1e-11)
    theta = 0.7
    Rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    rotated = res.params._replace(C=res.params.C @ Rot)
    assert np.sum(fa.fa_log_likelihood(rotated, y)) == pytest.approx(res.log_lik[-1], rel=1e-12)


# --------------------------------------------------------------------------- recovery and Heywood

def test_fa_parameter_recovery():
    """N = 3000 draws: every entry of C C^T + Lambda within 5 standard errors of the truth, where
    SE(S_ij) = sqrt((S_ii S_jj + S_ij^2) / N) is the sampling error of a Gaussian sample covariance
    (the structured ML estimate is at least as accurate when the model is right)."""
    true, y = fa_data(5, 6, 2, 3000)
    res = fl.fit_fa(y, 2, rng=np.random.default_rng(1), tol=1e-9, max_iter=2000)
    S_true = covariance(true)
    se = np.sqrt((np.outer(np.diag(S_true), np.diag(S_true)) + S_true**2) / y.shape[0])
    assert np.all(np.abs(covariance(res.params) - S_true) < N_SE * se)
    np.testing.assert_allclose(res.params.c, y.mean(0))
    # loose sanity bound on the unique variances (about 5 asymptotic SEs at this N)
    np.testing.assert_allclose(res.params.Lambda, true.Lambda, rtol=0.25)


def test_heywood_case_warns_and_floors():
    y, R = heywood_data()
    with pytest.warns(fl.HeywoodWarning, match=r"Lambda reached its variance floor in dimension\(s\) \[0\] "
                                               r"\(a Heywood case\)"):
        res = fl.fit_fa(y, 1, rng=np.random.default_rng(1), max_iter=3000)
    assert res.converged
    assert res.params.Lambda[0] == pytest.approx(1e-3 * R[0, 0], rel=1e-12)
    assert np.all(res.params.Lambda[1:] > 0.1)
    assert_monotone(res.log_lik)     # the floored M step is the exact constrained maximizer


def test_ppca_noise_floor_warns_on_rank_K_data():
    rng = np.random.default_rng(0)
    y = rng.standard_normal((50, 2)) @ rng.standard_normal((2, 4)) + 3.0      # exactly rank 2, no noise
    with pytest.warns(fl.HeywoodWarning, match=r"sigma2 reached its variance floor \(a Heywood case\)"):
        m = fl.ppca_ml(y, 2)
    assert m.Lambda[0] == pytest.approx(1e-6 * np.var(y, axis=0).mean(), rel=1e-12)


def test_convergence_warning_fa():
    _, y = fa_data(6, 5, 2, 50)
    with pytest.warns(em.ConvergenceWarning, match=r"factor analysis did not converge in 2 iterations: the last "
                                                   r"change in log likelihood was"):
        res = fl.fit_fa(y, 2, rng=np.random.default_rng(0), max_iter=2)
    assert res.n_iter == 2 and not res.converged


# --------------------------------------------------------------------------- PCA and PPCA

def test_pca_matches_sklearn_and_svd():
    rng = np.random.default_rng(2)
    N, L, K = 60, 5, 3
    y = rng.standard_normal((N, L)) @ np.diag([3.0, 2.0, 1.5, 0.7, 0.3]) @ np.linalg.qr(rng.standard_normal((L, L)))[0]
    y += 2.0
    res = fl.pca(y, K)
    sk = PCA(n_components=K, svd_solver="full").fit(y)
    # components up to the sign of each one
    signs = np.sign(np.sum(sk.components_ * res.U.T, axis=1))
    np.testing.assert_allclose(res.U.T, signs[:, None] * sk.components_, atol=1e-10)
    # sklearn divides by N - 1, the library by N (maximum likelihood)
    np.testing.assert_allclose(res.eigvals * N / (N - 1), sk.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(res.c, sk.mean_, rtol=1e-12)
    s = np.linalg.svd(y - y.mean(0), compute_uv=False)
    np.testing.assert_allclose(res.eigvals_all, s**2 / N, rtol=1e-10, atol=1e-13)
    # sign convention: largest-|entry| of each column positive; columns orthonormal
    assert np.all(res.U[np.argmax(np.abs(res.U), axis=0), np.arange(K)] > 0)
    np.testing.assert_allclose(res.U.T @ res.U, np.eye(K), atol=1e-12)


def test_ppca_closed_form_matches_sklearn_pca_model():
    """sklearn's PCA is also the Tipping-Bishop PPCA model: noise_variance_ and get_covariance()."""
    rng = np.random.default_rng(3)
    N, L, K = 80, 6, 2
    y = rng.standard_normal((N, K)) @ rng.standard_normal((K, L)) * 2 + 0.5 * rng.standard_normal((N, L))
    m = fl.ppca_ml(y, K)
    sk = PCA(n_components=K, svd_solver="full").fit(y)
    np.testing.assert_allclose(m.Lambda, np.full(L, sk.noise_variance_ * (N - 1) / N), rtol=1e-10)
    np.testing.assert_allclose(covariance(m) * N / (N - 1), sk.get_covariance(), rtol=1e-9, atol=1e-12)
    # sklearn's score is the Gaussian log likelihood under its (N - 1)-scaled covariance
    scaled = fa.FAParams(m.C * np.sqrt(N / (N - 1)), m.c, m.Lambda * N / (N - 1))
    assert np.mean(fa.fa_log_likelihood(scaled, y)) == pytest.approx(sk.score(y), rel=1e-10)


def test_ppca_em_reaches_closed_form():
    rng = np.random.default_rng(4)
    N, L, K = 200, 5, 2
    y = rng.standard_normal((N, K)) @ np.array([[3.0, 1, 0, 0, 1], [0, 2.0, 1, 1, 0]]) + 0.4 * rng.standard_normal((N, L))
    closed = fl.ppca_ml(y, K)
    res = fl.fit_ppca(y, K, rng=np.random.default_rng(0), tol=1e-14, max_iter=3000)
    assert res.converged
    np.testing.assert_allclose(res.params.Lambda, closed.Lambda, rtol=1e-6)
    np.testing.assert_allclose(res.params.C @ res.params.C.T, closed.C @ closed.C.T, rtol=1e-5, atol=1e-5)
    ll_closed = np.sum(fa.fa_log_likelihood(closed, y))
    assert res.log_lik[-1] == pytest.approx(ll_closed, rel=1e-11)
    # the closed form is a fixed point of the EM map
    step = fl.ppca_em_step(closed, y)
    np.testing.assert_allclose(step.C @ step.C.T, closed.C @ closed.C.T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(step.Lambda, closed.Lambda, rtol=1e-10)
    # and it is the global maximum: random restarts never beat it
    for seed in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", em.ConvergenceWarning)
            other = fl.fit_ppca(y, K, rng=np.random.default_rng(seed + 10), max_iter=50)
        assert other.log_lik[-1] <= ll_closed + 1e-9 * abs(ll_closed)


def test_iterative_pca_converges_to_principal_subspace():
    rng = np.random.default_rng(5)
    N, L, K = 100, 6, 2
    y = rng.standard_normal((N, L)) @ np.diag([4.0, 3.0, 1.0, 0.8, 0.5, 0.3]) + 1.0
    res = fl.fit_iterative_pca(y, K, rng=rng, tol=1e-15, max_iter=500)
    U = np.linalg.svd(y - y.mean(0), full_matrices=False)[2][:K].T          # SVD oracle
    assert np.max(subspace_angles(res.params.C, U)) < 1e-6
    # -2 * objective / N is the discarded variance (sum of the trailing 1/N eigenvalues)
    s = np.linalg.svd(y - y.mean(0), compute_uv=False)
    assert -2 * res.log_lik[-1] / N == pytest.approx(np.sum(s[K:] ** 2) / N, rel=1e-9)
    # one public step from the answer stays in the subspace
    step = fl.iterative_pca_step(res.params, y)
    assert np.max(subspace_angles(step.C, U)) < 1e-6


def test_ppca_em_step_tends_to_iterative_pca_step():
    """Section 7.3.1: with Lambda = eps I fixed, one EM step tends to one iterative-PCA step, error O(eps)."""
    rng = np.random.default_rng(6)
    y = rng.standard_normal((50, 4)) @ rng.standard_normal((4, 4))
    C0 = rng.standard_normal((4, 2))
    target = fl.iterative_pca_step(fl.PCAParams(C0, np.zeros(4)), y).C
    errs = []
    for eps in (1e-2, 1e-4, 1e-6):
        step = fl.ppca_em_step(fa.FAParams(C0, np.zeros(4), np.ones(4)), y, sigma2=eps)
        errs.append(np.max(np.abs(step.C - target)))
        assert np.all(step.Lambda == eps)                  # held fixed
    assert errs[0] / errs[1] > 50 and errs[1] / errs[2] > 50
    assert errs[2] < 1e-4 * np.max(np.abs(target))


@pytest.mark.filterwarnings("ignore::pedagogy_lib.em.ConvergenceWarning")
def test_ppca_fit_tends_to_pca_as_noise_vanishes():
    """Same initialization, same number of iterations. Both maps send span(C) to span(S C) (S the sample
    covariance), so the subspaces agree at every noise level: both are subspace (power) iterations.
    What the noise changes is C itself, which tends to the iterative-PCA C as eps -> 0."""
    rng = np.random.default_rng(7)
    y = rng.standard_normal((60, 5)) @ np.diag([3.0, 2.0, 1.0, 0.6, 0.3])
    C0 = rng.standard_normal((5, 2))
    ipca = fl.fit_iterative_pca(y, 2, init=fl.PCAParams(C0, np.zeros(5)), max_iter=15, tol=1e-15)
    gaps = []
    for eps in (1.0, 1e-2, 1e-4, 1e-8):
        res = fl.fit_ppca(y, 2, init=fa.FAParams(C0, np.zeros(5), np.full(5, eps)), sigma2=eps, max_iter=15,
                          tol=1e-15)
        assert np.max(subspace_angles(res.params.C, ipca.params.C)) < 1e-9
        gaps.append(np.max(np.abs(res.params.C - ipca.params.C)) / np.max(np.abs(ipca.params.C)))
    assert np.all(np.diff(gaps) < 0) and gaps[0] > 1e-2 and gaps[-1] < 1e-6
    # and after 15 iterations both are close to the principal subspace (rate lambda_3 / lambda_2 = 1/4 per step)
    U = fl.pca(y, 2).U
    assert np.max(subspace_angles(ipca.params.C, U)) < 1e-6
    # epsilon times the log likelihood tends to -1/2 the squared reconstruction error (iterative PCA's objective)
    C = ipca.params.C
    Yc = y - y.mean(0)
    sse = np.sum((Yc - np.linalg.lstsq(C, Yc.T, rcond=None)[0].T @ C.T) ** 2)     # least-squares projection
    assert ipca.log_lik[-1] == pytest.approx(-0.5 * sse, rel=1e-10)
    eps = 1e-9
    ll = np.sum(fa.fa_log_likelihood(fa.FAParams(C, y.mean(0), np.full(5, eps)), y))
    assert eps * ll == pytest.approx(-0.5 * sse, rel=1e-5)


# --------------------------------------------------------------------------- errata of Section 7.3

def test_erratum_e_step_must_subtract_the_bias():
    """Eq. 7.3: the draft's posterior mean K y ignores the bias it claims to absorb; K (y - c) is right."""
    rng = np.random.default_rng(8)
    params = random_fa(rng, 4, 2)
    params = params._replace(c=params.c + 3.0)
    y = rng.standard_normal((5, 4)) + params.c
    C, c, Lam = params
    Kgain = np.linalg.solve(C.T @ np.diag(1 / Lam) @ C + np.eye(2), C.T @ np.diag(1 / Lam))
    truth = g.bayes_invert(np.zeros(2), np.eye(2), C, c, np.diag(Lam), y, form="covariance").mu
    draft = y @ Kgain.T
    assert np.max(np.abs(draft - truth)) > 0.5
    np.testing.assert_allclose(draft - truth, np.tile(Kgain @ c, (5, 1)), rtol=1e-10)
    np.testing.assert_allclose((y - c) @ Kgain.T, truth, rtol=1e-10)
    np.testing.assert_allclose(fa.fa_posterior(params, y).mu, truth, rtol=1e-10)


def test_erratum_fa_derivative_signs():
    """Between Eqs. 7.2 and 7.3, dH/dC and dH/dLambda^{-1} have flipped signs and the expansion a flipped
    last term; the stationary points (and so the M step) are unaffected. Checked on fully observed (x, y)."""
    rng = np.random.default_rng(9)
    N, L, K = 30, 3, 2
    X = rng.standard_normal((N, K))
    Y = rng.standard_normal((N, L))
    C = rng.standard_normal((L, K))
    P = np.diag(rng.uniform(0.5, 2.0, L))                 # Lambda^{-1}
    h = 1e-6

    def H(C, P):   # joint cross entropy (Eq. 7.2) without constants
        R = Y - X @ C.T
        return np.mean(0.5 * np.einsum("ni,ij,nj->n", R, P, R)) - 0.5 * np.linalg.slogdet(P)[1]

    def fd(f, shape):
        return gradcheck(f, np.zeros(shape), h=h).numeric

    fd_C = fd(lambda E: H(C + E, P), (L, K))
    R = Y - X @ C.T
    draft_C = P @ R.T @ X / N                              # <Lambda^{-1} (Y - C X) X^T>
    np.testing.assert_allclose(fd_C, -draft_C, rtol=1e-6, atol=1e-8)
    fd_P = fd(lambda E: H(C, P + E), (L, L))              # entries of Lambda^{-1} treated as free
    Lam = np.linalg.inv(P)
    draft_P = Lam - R.T @ R / N                            # <Lambda - (Y - CX)(Y - CX)^T>
    np.testing.assert_allclose(fd_P, -0.5 * draft_P, rtol=1e-6, atol=1e-8)
    # the first line of the expansion of <(y - Cx)(y - Cx)^T> needs + C<xx^T>C^T
    Syy, Syx, Sxx = Y.T @ Y / N, Y.T @ X / N, X.T @ X / N
    lhs = R.T @ R / N
    np.testing.assert_allclose(lhs, Syy - Syx @ C.T - C @ Syx.T + C @ Sxx @ C.T, rtol=1e-12)
    assert not np.allclose(lhs, Syy - Syx @ C.T - C @ Syx.T - C @ Sxx @ C.T)


# --------------------------------------------------------------------------- validation

def test_validation_messages():
    rng = np.random.default_rng(0)
    y = rng.standard_normal((20, 4))
    with pytest.raises(ValueError, match=r"y must be a 2-D array of shape \(N, L\); got an array of shape \(4,\)"):
        fl.fit_fa(y[0], 1, rng=rng)
    bad = y.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"y must be finite; got nan at index \(3, 2\)"):
        fl.fit_fa(bad, 1, rng=rng)
    with pytest.raises(ValueError, match=r"y must hold at least 2 observations \(rows\).*got N = 1"):
        fl.pca(y[:1], 1)
    with pytest.raises(ValueError, match=r"y must have at least one column \(L >= 1\)"):
        fl.pca(np.zeros((5, 0)), 1)
    with pytest.raises(ValueError, match=r"K must be at least 1; got 0"):
        fl.fit_fa(y, 0, rng=rng)
    with pytest.raises(ValueError, match=r"K must be at most L = 4, the number of observed dimensions; got K = 5"):
        fl.fit_fa(y, 5, rng=rng)
    with pytest.raises(ValueError, match=r"K must be at most L = 4, the number of observed dimensions; got K = 5"):
        fl.pca(y, 5)
    with pytest.raises(ValueError, match=r"K must be at most L - 1 = 3 \(the noise variance"):
        fl.ppca_ml(y, 4)
    with pytest.raises(ValueError, match=r"K must be at most L - 1 = 3"):
        fl.fit_ppca(y, 4, rng=rng)
    with pytest.raises(ValueError, match=r"K must be at most N - 1 = 2: centred data with N = 3 rows"):
        fl.fit_fa(y[:3], 3, rng=rng)
    with pytest.raises(ValueError, match=r"K must be at most N - 1 = 2"):
        fl.fit_iterative_pca(y[:3], 3, rng=rng)
    with pytest.raises(ValueError, match=r"y is constant: every column has zero sample variance"):
        fl.pca(np.ones((5, 3)), 1)
    const = y.copy()
    const[:, 1] = 2.0
    with pytest.raises(ValueError, match=r"y has \(numerically\) zero variance in column 1"):
        fl.fit_fa(const, 1, rng=rng)
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        fl.fit_fa(y, 1)
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        fl.fit_iterative_pca(y, 1, rng=1)
    with pytest.raises(TypeError, match=r"K must be an integer"):
        fl.pca(y, 1.5)


def test_validation_messages_init_and_options():
    rng = np.random.default_rng(0)
    y = rng.standard_normal((20, 4))
    good = fa.FAParams(np.ones((4, 2)), np.zeros(4), np.ones(4))
    with pytest.raises(ValueError, match=r"init must be FAParams with C of shape \(L, K\) = \(4, 1\)"):
        fl.fit_fa(y, 1, init=good)
    with pytest.raises(TypeError, match=r"init must be FAParams\(C, c, Lambda\), a 3-tuple"):
        fl.fit_fa(y, 2, init=(np.ones((4, 2)), np.zeros(4)))
    with pytest.raises(ValueError, match=r"params must be FAParams with C of shape \(L, K\) = \(4, 2\)"):
        fl.fa_em_step(fa.FAParams(np.ones((3, 2)), np.zeros(3), np.ones(3)), y)
    with pytest.raises(ValueError, match=r"params must be FAParams with C of shape \(L, K\) = \(4, 2\)"):
        fl.ppca_em_step(fa.FAParams(np.ones((3, 2)), np.zeros(3), np.ones(3)), y)
    with pytest.raises(ValueError, match=r"init.Lambda must be positive; entry 1 is -1"):
        fl.fit_fa(y, 2, init=good._replace(Lambda=np.array([1.0, -1.0, 1.0, 1.0])))
    with pytest.raises(ValueError, match=r"Lambda_floor must be below 1 \(it is a fraction"):
        fl.fit_fa(y, 2, init=good, Lambda_floor=1.0)
    with pytest.raises(ValueError, match=r"Lambda_floor must be positive; got 0"):
        fl.fa_em_step(good, y, Lambda_floor=0.0)
    with pytest.raises(ValueError, match=r"sigma2_floor must be below 1"):
        fl.ppca_ml(y, 2, sigma2_floor=2.0)
    with pytest.raises(ValueError, match=r"init.Lambda must be isotropic \(all entries equal"):
        fl.fit_ppca(y, 2, init=good._replace(Lambda=np.array([1.0, 2.0, 1.0, 1.0])))
    with pytest.raises(ValueError, match=r"params.Lambda must be isotropic"):
        fl.ppca_em_step(good._replace(Lambda=np.array([1.0, 2.0, 1.0, 1.0])), y)
    with pytest.raises(ValueError, match=r"sigma2 must be positive; got -1"):
        fl.fit_ppca(y, 2, init=good, sigma2=-1.0)
    with pytest.raises(ValueError, match=r"sigma2 must be positive; got 0"):
        fl.fit_ppca(y, 2, rng=rng, sigma2=0.0)
    with pytest.raises(TypeError, match=r"params must be PCAParams\(C, c\), a 2-tuple"):
        fl.iterative_pca_step(good, y)
    with pytest.raises(ValueError, match=r"init.C must have shape \(L, K\) = \(4, 2\); got \(3, 2\)"):
        fl.fit_iterative_pca(y, 2, init=fl.PCAParams(np.ones((3, 2)), np.zeros(4)))
    with pytest.raises(ValueError, match=r"Lambda_floor_abs must be positive"):
        fl.fa_model(np.zeros(4))
    with pytest.raises(ValueError, match=r"Lambda_floor_abs must be a 1-D array of shape \(L,\)"):
        fl.fa_model(1e-3)
    with pytest.raises(ValueError, match=r"C must be a 2-D array of shape \(L, K\)"):
        fl.iterative_pca_step(fl.PCAParams(np.ones(4), np.zeros(4)), y)
    with pytest.raises(ValueError, match=r"sigma2_floor_abs must be positive"):
        fl.ppca_model(0.0)
    # a rank-deficient initial C is refused at entry, naming it (it used to fail in the first E step)
    with pytest.raises(ValueError, match=r"^init.C must have full column rank K = 2"):
        fl.fit_iterative_pca(y, 2, init=fl.PCAParams(np.ones((4, 2)), np.zeros(4)))
    with pytest.raises(ValueError, match=r"^C must have full column rank K = 2"):
        fl.iterative_pca_step(fl.PCAParams(np.zeros((4, 2)), np.zeros(4)), y)


def _rescaling_data():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((200, 3)) @ rng.standard_normal((3, 6))
            + rng.standard_normal((200, 6)) * np.array([0.5, 1.0, 2.0, 0.3, 0.7, 1.0]))


@pytest.mark.parametrize("fit, kwargs", [(fl.fit_fa, {}), (fl.fit_ppca, {}), (fl.fit_ppca, {"sigma2": 0.3})],
                         ids=["fa", "ppca", "ppca-fixed-sigma2"])
def test_rescaling_the_data_gives_rescaled_parameters(fit, kwargs):
    """The stopping rule was relative to a log likelihood that shifts by N L log s when y -> s y, so the fits
    stopped at different iterations. The model is equivariant (C -> s C, Lambda -> s^2 Lambda, log lik -> log
    lik - N L log s): now the fitted parameters and likelihoods agree, to rounding."""
    y = _rescaling_data()
    N, L = y.shape
    runs = {}
    for s in (1e-100, 1.0, 1e100):
        kw = {k: v * s * s for k, v in kwargs.items()}
        runs[s] = fit(y * s, 2, rng=np.random.default_rng(1), **kw)
    base = runs[1.0]
    for s, res in runs.items():
        # a stop at another iteration leaves the parameters further apart than these tolerances
        assert res.converged, s
        np.testing.assert_allclose(res.params.C / s, base.params.C, rtol=1e-9, atol=1e-9 * np.abs(base.params.C).max())
        np.testing.assert_allclose(res.params.Lambda / s**2, base.params.Lambda, rtol=1e-9)
        assert res.log_lik[-1] + N * L * np.log(s) == pytest.approx(base.log_lik[-1], rel=1e-12, abs=1e-9), s


def test_iterative_pca_converges_to_the_subspace_whatever_the_units():
    """The stop was relative to max(1, |objective|), and the objective (minus half the squared reconstruction
    error) scales with the square of the units: at 1e-150 it is about 1e-299, below the 1 of the floor, so the
    fit stopped after one iteration (7 at units 1, for this problem). Now the rule sees the standardized data.
    Oracle: the principal subspace from an SVD of the centred data, and the discarded variance (the trailing
    squared singular values), at every scale."""
    rng = np.random.default_rng(3)
    y = rng.standard_normal((80, 2)) @ rng.standard_normal((2, 5)) + 0.3 * rng.standard_normal((80, 5))
    K = 2
    _, sv, Vt = np.linalg.svd(y - y.mean(0), full_matrices=False)
    runs = {s: fl.fit_iterative_pca(y * s, K, rng=np.random.default_rng(1), tol=1e-10)
            for s in (1e-150, 1e-40, 1.0, 1e40, 1e150)}
    base = runs[1.0]
    for s, res in runs.items():
        # the old rule stopped after one iteration at 1e-150, far from the subspace: the angle to the
        # SVD's subspace and the discarded variance show it, whatever the iteration counts
        assert res.converged, s
        assert np.max(subspace_angles(res.params.C, Vt[:K].T)) < 1e-4, s
        # the objective at convergence is minus half the discarded variance times N, in units s^2
        assert -2 * res.log_lik[-1] / s**2 == pytest.approx(np.sum(sv[K:] ** 2), rel=1e-6), s
        np.testing.assert_allclose(res.params.C / s, base.params.C, rtol=1e-6, atol=1e-6 * np.abs(base.params.C).max())


def test_fa_scaling_one_column_gives_rescaled_unique_variances():
    """Factor analysis is equivariant under each column's units too (Lambda stays diagonal)."""
    y = _rescaling_data()
    d = np.array([1e-80, 1.0, 1e50, 3.0, 1.0, 1e-3])
    a, b = fl.fit_fa(y, 2, rng=np.random.default_rng(1)), fl.fit_fa(y * d, 2, rng=np.random.default_rng(1))
    assert a.converged and b.converged
    np.testing.assert_allclose(b.params.Lambda / d**2, a.params.Lambda, rtol=1e-9)


@pytest.mark.parametrize("size", [1e-160, 1e160])
@pytest.mark.parametrize("fit", ["fit_fa", "fit_ppca", "fit_iterative_pca"])
def test_data_whose_variances_leave_the_floats_are_refused_naming_the_range(fit, size):
    """Deviations of 1e-160 have variance 1e-320 (subnormal, 14 bits short) and of 1e160 variance
    1e320 (inf): the fits' covariances are such variances, so the call is refused with the range,
    not with a false reason ("y is constant", "sigma2_floor_abs must be positive", NaN in C)."""
    from pedagogy_lib import factor
    y = np.random.default_rng(0).standard_normal((40, 3)) * size
    kwargs = {} if fit == "fit_iterative_pca" else {"rng": np.random.default_rng(1)}
    with pytest.raises(ValueError, match=r"between about 1e-154 and 1e154"):
        getattr(factor, fit)(y, 1, **kwargs)


def _heywood_data():
    """Column 1 is exactly twice column 0: with one factor the likelihood is maximized at Lambda_0 = Lambda_1 = 0
    (a Heywood case), so EM drives those two variances down to their floors, halving them per step."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((50, 1))
    return np.hstack([x, 2 * x, x + rng.standard_normal((50, 1))])


@pytest.mark.parametrize("fit, floor", [("fit_fa", "Lambda_floor"), ("fit_ppca", "sigma2_floor")])
def test_a_floor_fraction_below_the_floats_in_the_datas_units_fits_as_at_scale_one(fit, floor):
    """Data of variance about 1e-301 (deviations 2^-500, about 3e-151, inside the supported range) with a
    floor fraction of 1e-14, the least the fits accept: the floor in the data's units, about 1e-315, is
    below the normal floats, and the call was refused naming
    ``Lambda_floor_abs`` / ``sigma2_floor_abs``, which the caller never passed. The fits
    hold the floor in units of the data's variance, where it is the fraction, so they give the scale-1 fit with C
    times s and the variances times s^2. The scale is a power of two, so the data are scaled without
    rounding and the standardized data, hence the iterates and the stopping iteration, are the scale-1
    fit's on any CPU. Oracle: the same fit of the data at scale 1."""
    from pedagogy_lib import factor
    y = np.random.default_rng(0).standard_normal((40, 3))
    s = 2.0 ** -500
    fraction = 1e-14                                     # the least the fits accept
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                    # 200 iterations may stop short of convergence
        a = getattr(factor, fit)(y, 1, rng=np.random.default_rng(1), max_iter=200, **{floor: fraction})
        b = getattr(factor, fit)(y * s, 1, rng=np.random.default_rng(1), max_iter=200, **{floor: fraction})
    assert b.n_iter == a.n_iter
    np.testing.assert_allclose(b.params.C / s, a.params.C, rtol=1e-12, atol=1e-12 * np.abs(a.params.C).max())
    np.testing.assert_allclose(b.params.Lambda / s**2, a.params.Lambda, rtol=1e-12)
    np.testing.assert_allclose(np.ravel(b.log_lik)[-1] + y.size * np.log(s), np.ravel(a.log_lik)[-1], rtol=1e-12)


def test_a_heywood_fit_reaches_a_floor_below_the_normal_floats_and_warns():
    """The floor reached in units of each column's variance: a fraction of 1e-10 of a variance near 1e-300
    is 1e-310 in the data's units, a subnormal. The fit reaches it in the two collinear columns, warns
    naming them, and returns the scale-1 answer times 1e-300 there, rounded to a subnormal (float64 holds
    no closer number); the third column and the loadings match the scale-1 fit to rounding."""
    y, s = _heywood_data(), 1e-150
    runs = {}
    for scale in (1.0, s):
        with pytest.warns(fl.HeywoodWarning, match=r"dimension\(s\) \[0, 1\]"):
            runs[scale] = fl.fit_fa(y * scale, 1, rng=np.random.default_rng(1), Lambda_floor=1e-10, max_iter=100)
    a, b = runs[1.0], runs[s]
    var = np.var(y, axis=0)
    np.testing.assert_allclose(a.params.Lambda[:2], 1e-10 * var[:2], rtol=1e-12)
    np.testing.assert_allclose(b.params.Lambda[:2], 1e-10 * var[:2] * s * s, rtol=1e-6)   # 2^-1074 of 1e-310
    np.testing.assert_allclose(b.params.Lambda[2] / s**2, a.params.Lambda[2], rtol=1e-12)
    np.testing.assert_allclose(b.params.C / s, a.params.C, rtol=1e-12)


def test_a_fitted_noise_variance_that_rounds_to_zero_in_the_datas_units_is_refused_naming_the_floor():
    """A fit in units of the data's variance holds any floor; mapped back to y's units, the floor can round
    to 0 there, a model with no noise, which the fits returned. Now they refuse.

    ``fit_fa``: the two collinear columns (a Heywood case) scaled by 2^-530 have variances near 1e-319, so
    a floor of 1e-10 of them is 0 in float64. A floor of 1e-10 keeps EM well conditioned on every CPU (it is
    reached in about 30 halvings), and column 2 at scale 1 keeps the data inside the supported range. The
    variances are themselves subnormal, so no floor fraction below 1 helps: the message says rescale.
    ``ppca_ml``: one varying and one constant column, whose sample covariance is diagonal with an exact 0,
    so the discarded eigenvalue is exactly 0 on any BLAS; 1e-200 of the average variance near 4e-302 is 0
    in float64, and the message names the least fraction that float64 holds. At scale 1 both calls
    return the floor."""
    y = _heywood_data()
    with pytest.warns(fl.HeywoodWarning, match=r"\[0, 1\]"):
        a = fl.fit_fa(y, 1, rng=np.random.default_rng(1), Lambda_floor=1e-10, max_iter=100)
    np.testing.assert_allclose(a.params.Lambda[:2], 1e-10 * np.var(y, axis=0)[:2], rtol=1e-12)
    y_small = y * np.array([2.0 ** -530, 2.0 ** -530, 1.0])
    with pytest.warns(fl.HeywoodWarning), pytest.raises(
            ValueError, match=r"^The fitted noise variance Lambda is its floor, Lambda_floor \(got 1e-10\) times "
                              r"column 0's sample variance \([0-9.]+e-3[12][0-9]\), which rounds to 0 in y's units .* "
                              r"Rescale y: that variance is itself below 2\.2e-308"):
        fl.fit_fa(y_small, 1, rng=np.random.default_rng(1), Lambda_floor=1e-10, max_iter=100)
    y2 = np.hstack([y[:, :1], np.full((50, 1), 3.0)])     # column 1 constant: its deviations are exactly 0
    with pytest.warns(fl.HeywoodWarning):
        b = fl.ppca_ml(y2, 1, sigma2_floor=1e-200)
    np.testing.assert_allclose(b.Lambda, 1e-200 * np.mean(np.var(y2, axis=0)), rtol=1e-12)
    least = np.finfo(float).tiny / np.mean(np.var(y2 * 2.0 ** -500, axis=0))
    with pytest.warns(fl.HeywoodWarning), pytest.raises(
            ValueError, match=r"^The fitted noise variance sigma2 is its floor, sigma2_floor \(got 1e-200\) times "
                              r"the average sample variance .* rounds to 0 in y's units .* Raise sigma2_floor to at "
                              rf"least {least:.3g} "):
        fl.ppca_ml(y2 * 2.0 ** -500, 1, sigma2_floor=1e-200)


@pytest.mark.parametrize("K", [1, 2])
def test_pca_and_ppca_ml_hold_data_whose_squares_sum_beyond_the_floats(K):
    """Deviations near 1e153 (2^508 times unit data) with N = 2000: each square is about 1e306 and their sum
    overflows, so the data were refused as "outside 1e-154 .. 1e154" although they are inside it. The
    sample covariance is now formed in units of a power of two near the data's size, which float64 scales
    exactly: the answers are the scale-1 answers times 2^508 (loadings) and 2^1016 (variances), exactly."""
    s = 2.0 ** 508
    y = np.random.default_rng(3).standard_normal((2000, 4)) @ np.diag([3.0, 1.0, 0.5, 0.2])
    p1, p = fl.pca(y, K), fl.pca(y * s, K)
    np.testing.assert_array_equal(p.U, p1.U)
    np.testing.assert_array_equal(p.eigvals, p1.eigvals * s * s)
    m1, m = fl.ppca_ml(y, K), fl.ppca_ml(y * s, K)
    np.testing.assert_array_equal(m.C, m1.C * s)
    np.testing.assert_array_equal(m.Lambda, m1.Lambda * s * s)


@pytest.mark.parametrize("sigma2, size", [(1e-300, 1e150), (1e300, 1e-150)])
def test_a_fixed_ppca_variance_float64_cannot_hold_in_the_datas_units_is_refused_naming_sigma2(sigma2, size):
    """PPCA with ``sigma2`` fixed works in units of the average sample variance: 1e-300 beside data of
    variance 1e300 (or 1e300 beside 1e-300) is a ratio of 1e-600 (1e600), beyond float64, and is refused
    naming ``sigma2`` and the range (it said "sigma2 must be positive; got 0" or "must be finite; got inf"
    of numbers the caller did not pass)."""
    y = np.random.default_rng(0).standard_normal((40, 3)) * size
    with pytest.raises(ValueError, match=r"^sigma2 \(got 1e[-+]300\) must lie between about 2\.2e-308 and 1\.8e308 "
                                         r"times the average sample variance"):
        fl.fit_ppca(y, 1, sigma2=sigma2, rng=np.random.default_rng(1))


@pytest.mark.parametrize("step, floor", [("fa_em_step", "Lambda_floor"), ("ppca_em_step", "sigma2_floor")])
def test_an_em_step_in_the_datas_units_holds_or_refuses_a_floor_below_the_floats_by_its_name(step, floor):
    """One EM step works in the data's units. With data of variance about 1e-300 and a floor fraction of
    1e-200 (1e-500 in those units) a step whose variances stay normal floats is the scale-1 step times
    1e-300 (``ppca_em_step`` refused it naming ``sigma2_floor_abs``). Steps of the Heywood case drive two
    variances down towards the floor (halving per step): once one falls below 2.2e-308 the step is refused naming the caller's
    floor and the range (``fa_em_step`` returned a subnormal variance that had lost its digits, then 0)."""
    s = 1e-150
    y = _heywood_data()
    if step == "ppca_em_step":
        y = np.hstack([y[:, :2], 3 * y[:, :1]])          # three collinear columns: sigma2 -> 0
    L = y.shape[1]
    p1 = fa.FAParams(np.array([[1.0], [2.0], [1.0]]), y.mean(0), np.full(L, 1e-6))
    ps = fa.FAParams(p1.C * s, p1.c * s, p1.Lambda * s * s)
    a = getattr(fl, step)(p1, y, **{floor: 1e-200})
    b = getattr(fl, step)(ps, y * s, **{floor: 1e-200})
    # a variance near 0 is a difference of terms of the data's size: its rounding, which the BLAS path sets,
    # is some ulps of that size (1.9e-15 on 4.4e-7 seen on a generic CPU), not of the variance itself
    atol = 1e-12 * float(np.mean(np.var(y, axis=0)))
    np.testing.assert_allclose(b.Lambda / s**2, a.Lambda, rtol=1e-9, atol=atol)
    np.testing.assert_allclose(b.C / s, a.C, rtol=1e-12)
    with pytest.raises(ValueError, match=rf"^{floor} \(got 1e-200\) times .*sample variance .* must be at least "
                                         r"2\.2e-308.*fell to .*Raise " + floor):
        for _ in range(60):                               # they halve per step: 2e-8 after 20
            b = getattr(fl, step)(b, y * s, **{floor: 1e-200})


def _dense_em_lambda(C, Lam, Y, digits=60):
    """The factor-analysis M step's unique variances, diag(S_yy - C_new <x y^T>), in exact-enough arithmetic
    (mpmath from the data's own mean): the oracle for one EM step. The posterior precision and the final
    difference cancel about log10(1 / min Lambda) digits each, so ``digits`` more than twice that are kept."""
    import mpmath as mp
    with mp.workdps(digits + 2 * int(np.ceil(-np.log10(np.min(Lam)))) if np.min(Lam) < 1 else digits):
        N, L = Y.shape
        K = C.shape[1]
        ybar = [mp.fsum(mp.mpf(Y[i, l]) for i in range(N)) / N for l in range(L)]
        Yc = mp.matrix([[mp.mpf(Y[i, l]) - ybar[l] for l in range(L)] for i in range(N)])
        Cm = mp.matrix(C.tolist())
        Li = mp.diag([1 / mp.mpf(v) for v in Lam])
        S = (mp.eye(K) + Cm.T * Li * Cm) ** -1
        Mu = (S * Cm.T * Li * Yc.T).T
        Cn = (Yc.T * Mu) * (S * N + Mu.T * Mu) ** -1
        G = Cn * (Mu.T * Yc) / N
        Syy = Yc.T * Yc / N
        return np.array([float(Syy[l, l] - G[l, l]) for l in range(L)])


@pytest.mark.parametrize("small", [1e-10, 1e-12, 1e-16, 1e-20, 1e-30, 1e-100, 1e-300])
def test_an_em_step_keeps_the_digits_of_a_small_unique_variance(small):
    """One unique variance far below the data's (the Heywood regime a fit drifts into). The expected squared
    residual in the data's coordinates adds terms of the data's size, so it kept 16 - log10(var / Lambda)
    digits: 2e-7 off at 1e-10, 3 % at 1e-16, nothing below. Below 1e-4 of its column's variance the step now
    works in coordinates whitened by the old Lambda^(1/2), where the new variance is the old one times
    1 minus small terms, all from the Schur complement of the tiny columns (no I + C^T Lambda^-1 C is
    formed): every variance within 1e-10 at every ratio down to 1e-300. Oracle: the same step in mpmath."""
    C = np.array([[1, .5], [.3, -1], [.2, .4], [-.7, .1]])
    c = np.array([.1, -.2, .3, 0.])
    Lam = np.array([small, 1., .8, 1.2])
    Y = np.random.default_rng(3).standard_normal((7, 4)) @ np.diag([1.5, 1, 2, 1]) + c
    exact = _dense_em_lambda(C, Lam, Y)
    got = fl.fa_em_step(fl.FAParams(C, c, Lam), Y, Lambda_floor=1e-306).Lambda
    np.testing.assert_allclose(got, exact, rtol=1e-10)


@pytest.mark.parametrize("small", [1e-12, 1e-100])
def test_two_small_unique_variances_with_few_rows_keep_their_digits(small):
    """Two tiny unique variances (as many as factors) and fewer observations than columns (a singular
    sample covariance): the whitened update still agrees with the mpmath step to 1e-10."""
    rng = np.random.default_rng(11)
    C = rng.standard_normal((6, 2))
    Lam = np.r_[small, 3 * small, rng.uniform(.5, 2, 4)]
    Y = rng.standard_normal((4, 6))
    exact = _dense_em_lambda(C, Lam, Y)
    got = fl.fa_em_step(fl.FAParams(C, Y.mean(0), Lam), Y, Lambda_floor=1e-306).Lambda
    np.testing.assert_allclose(got, exact, rtol=1e-10)


@pytest.mark.parametrize("small", [1e-8, 1e-12, 1e-20])
def test_two_collinear_columns_with_one_factor_keep_their_digits(small):
    """The classic Heywood case: column 1 is twice column 0 and one factor explains both, so two unique
    variances are tiny with one factor to pin them (more tiny variances than factors). The Schur complement
    of their block is then nearly singular, and the whitened update splits it into the direction the
    loadings leave to Lambda alone and the loadings' own: within 1e-10 of the mpmath step. (Here y and C are
    exactly proportional, so the residual in the data's coordinates is exact too and agrees.)"""
    y = _heywood_data()[:12]
    C = np.array([[0.9], [1.8], [0.9]])
    Lam = np.array([small, 2 * small, 1.0])
    exact = _dense_em_lambda(C, Lam, y)
    got = fl.fa_em_step(fl.FAParams(C, y.mean(0), Lam), y, Lambda_floor=1e-306).Lambda
    np.testing.assert_allclose(got, exact, rtol=1e-10)


def test_more_tiny_unique_variances_than_factors_in_data_that_fit_them_are_refused():
    """Three columns explained to 1e-12 by two factors, with noise of that size: the step's answer then
    hangs on the rounding of y and C (the data's small departure from the loadings' span, a difference of
    O(1) numbers), to about 1e-3 by the residual route and no better by the whitened one, so the step
    refuses, naming Lambda and the supported ratio; fit_fa takes the better route and goes on."""
    rng = np.random.default_rng(7)
    C = rng.standard_normal((6, 2))
    X = rng.standard_normal((9, 2))
    Y = X @ C.T + rng.standard_normal((9, 6)) * np.sqrt(np.r_[1e-12, 1e-12, 1e-12, 1, 1, 1])
    with pytest.raises(ValueError, match=r"Lambda\[0\].*0\.0001 of their columns.*supported down to about"):
        fl.fa_em_step(fl.FAParams(C, Y.mean(0), np.r_[1e-12, 1e-12, 1e-12, 1, 1, 1]), Y, Lambda_floor=1e-306)
