"""Tests for the Section 8.2 exercise checkers (pedagogy_lib.exercises.ch08_autoencoder): information
quantities from scipy's entropies, the active dimensions from the maximum-likelihood PPCA fit, and the
function exercise on the gradients of Eqs. 8.16-8.17 under a Gaussian prior N(m0, S0) (the solution
matches central differences of the closed-form loss and passes, the page's standard normal formulas and
the named slips are recognized, the edge problems are reached, no number of the answer is revealed)."""
import numpy as np
import pytest
from scipy import stats

from pedagogy_lib.exercises import ch08_autoencoder as check


def _joint():
    return check.EX_P_Y[:, None] * check.EX_Q


def test_mutual_information():
    J = _joint()
    mi = stats.entropy(J.sum(0)) + stats.entropy(J.sum(1)) - stats.entropy(J.ravel())
    assert check.mutual_information(mi)
    r = check.mutual_information(mi / np.log(2))
    assert not r and "bits" in str(r)
    assert not check.mutual_information(stats.entropy(J.sum(0)))


def test_aggregate_kl():
    agg = _joint().sum(0)
    assert check.aggregate_kl(stats.entropy(agg, check.EX_P_X))
    r = check.aggregate_kl(stats.entropy(check.EX_P_X, agg))
    assert not r and "reversed" in str(r)


def test_optimal_kl():
    """Along each eigen-direction the optimal loading by maximizing the likelihood numerically, then the
    average KL of the exact posterior by Monte Carlo over data of that variance."""
    from scipy.optimize import minimize_scalar
    a = check.EX_ALPHA
    rng = np.random.default_rng(0)
    total = 0.0
    for lam in check.EX_EIGS:
        c2 = minimize_scalar(lambda t: np.log(t + a) + lam / (t + a), bounds=(0, 20), method="bounded",
                             options={"xatol": 1e-12}).x
        y = rng.normal(0.0, np.sqrt(lam), 400_000)
        m, v = np.sqrt(c2) * y / (c2 + a), a / (c2 + a)
        total += np.mean(0.5 * (m ** 2 + v - 1 - np.log(v)))
    exact = 0.5 * np.sum(np.log(check.EX_EIGS[check.EX_EIGS > a] / a))
    assert abs(total - exact) < 5e-3
    assert check.optimal_kl(exact)
    r = check.optimal_kl(int(np.sum(check.EX_EIGS > a)))
    assert not r and "number of active" in str(r)
    r = check.optimal_kl(0.5 * np.sum(np.log(check.EX_EIGS / a)))
    assert not r and "collapsed" in str(r)


# ------------------------------------------------------------------ the gradients through the Gaussian identities
def _my_gradients(nu, Upsilon, Z, grad_x, hess_x, m0, S0):
    """The notebook's solution: the draws through the Cholesky factor, the averages, the prior N(m0, S0)
    and the entropy."""
    L = np.linalg.cholesky(Upsilon)
    X = nu + Z @ L.T
    g_bar = np.mean([grad_x(x) for x in X], axis=0)
    H_bar = np.mean([hess_x(x) for x in X], axis=0)
    S0_inv = np.linalg.inv(S0)
    d_nu = g_bar + S0_inv @ (nu - m0)
    d_Upsilon = 0.5 * (H_bar - np.linalg.inv(Upsilon) + S0_inv)
    return d_nu, d_Upsilon


def test_the_gradients_under_a_gaussian_prior_match_finite_differences():
    """The prior N(m0, S0) in one datum's L_JRE with a linear emission, where every expectation is in closed
    form: central differences in nu and in each entry of Upsilon against the solution's formula, which with
    antithetic draws (their average is zero) is exact for a linear emission."""
    rng = np.random.default_rng(5)
    K, M = 2, 3
    C, c, y = rng.normal(size=(M, K)), rng.normal(size=M), rng.normal(size=M)
    P = np.diag([2.0, 1.0, 0.5])
    m0 = np.array([0.8, -1.2])
    S0 = np.array([[2.0, 0.6], [0.6, 1.5]])
    S0i = np.linalg.inv(S0)

    def jre(nu, U):
        r = y - C @ nu - c
        emiss = 0.5 * r @ P @ r + 0.5 * np.trace(C.T @ P @ C @ U)
        d = nu - m0
        prior = 0.5 * d @ S0i @ d + 0.5 * np.trace(S0i @ U)
        return emiss + prior - 0.5 * np.linalg.slogdet(U)[1]

    nu, U = np.array([0.4, -0.3]), np.array([[0.5, 0.2], [0.2, 0.3]])
    Z = rng.standard_normal((3, K))
    Z = np.vstack([Z, -Z])
    d_nu, d_U = _my_gradients(nu, U, Z, lambda x: C.T @ P @ (C @ x + c - y), lambda x: C.T @ P @ C, m0, S0)
    h, e = 1e-5, np.eye(K)
    fd_nu = [(jre(nu + h * e[k], U) - jre(nu - h * e[k], U)) / (2 * h) for k in range(K)]
    fd_U = [[(jre(nu, U + h * np.outer(e[i], e[j])) - jre(nu, U - h * np.outer(e[i], e[j]))) / (2 * h)
             for j in range(K)] for i in range(K)]
    np.testing.assert_allclose(d_nu, fd_nu, atol=1e-7)
    np.testing.assert_allclose(d_U, fd_U, atol=1e-7)


def test_hessian_route_function_accepts_the_solution():
    assert check.hessian_route_function(_my_gradients)
    assert check.hessian_route_function(lambda *a: list(_my_gradients(*a)))      # a list of the two is fine


def test_hessian_route_the_pages_standard_normal_formulas_do_not_pass():
    """The page states the gradients for the standard normal prior (and the library computes them): they
    are not the answer here, and the checker says which prior they belong to."""
    from pedagogy_lib.deepgen.gaussian_gradients import hessian_route_gradients

    def library(nu, Upsilon, Z, grad_x, hess_x, m0, S0):
        out = hessian_route_gradients(nu, Upsilon, Z, grad_x, hess_x)
        return out.d_nu, out.d_Upsilon
    res = check.hessian_route_function(library)
    assert not res and "standard normal prior's terms" in str(res), str(res)


def _slip(root="cholesky", prior="gaussian", half=True, inverse=True, sign=-1.0):
    def fn(nu, Upsilon, Z, grad_x, hess_x, m0, S0):
        K = nu.shape[0]
        L = {"cholesky": np.linalg.cholesky(Upsilon), "transposed": np.linalg.cholesky(Upsilon).T,
             "covariance": Upsilon}[root]
        X = nu + Z @ L.T
        g_bar = np.mean([grad_x(x) for x in X], axis=0)
        H_bar = np.mean([hess_x(x) for x in X], axis=0)
        ent = np.linalg.inv(Upsilon) if inverse else Upsilon
        Si = np.linalg.inv(S0)
        p_nu, p_U = {"gaussian": (Si @ (nu - m0), Si), "standard": (nu, np.eye(K)),
                     "covariance": (S0 @ (nu - m0), S0), "no_mean": (Si @ nu, Si),
                     "mean_sign": (Si @ (nu + m0), Si), "unscaled": (nu - m0, Si),
                     "none": (0.0, 0.0)}[prior]
        return g_bar + p_nu, (0.5 if half else 1.0) * (H_bar + sign * ent + p_U)
    return fn


def _symmetric_root(nu, Upsilon, Z, grad_x, hess_x, m0, S0):
    from scipy.linalg import sqrtm

    R = np.real(sqrtm(Upsilon))
    X = nu + Z @ R.T
    Si = np.linalg.inv(S0)
    return (np.mean([grad_x(x) for x in X], axis=0) + Si @ (nu - m0),
            0.5 * (np.mean([hess_x(x) for x in X], axis=0) - np.linalg.inv(Upsilon) + Si))


@pytest.mark.parametrize("wrong, fragment", [
    (_slip(prior="standard"), "standard normal prior's terms"),
    (_slip(prior="covariance"), "S0 itself"),
    (_slip(prior="no_mean"), "m0 out of its energy"),
    (_slip(prior="mean_sign"), "m0 enters with the wrong sign"),
    (_slip(prior="unscaled"), "as the identity"),
    (_slip(prior="none"), "prior's contribution to the mean gradient"),
    (_slip(half=False), "factor one half"),
    (_slip(inverse=False), "instead of its inverse"),
    (_slip(sign=1.0), "wrong sign"),
    (_slip(root="transposed"), "transpose of the Cholesky factor"),
    (_slip(root="covariance"), "by Upsilon itself"),
    (_symmetric_root, "other than the lower Cholesky factor"),
    (lambda *a: None, "forget to return"),
    (lambda *a: 1 / 0, "raised ZeroDivisionError"),
    (lambda *a: _my_gradients(*a)[0], "should return the pair"),
])
def test_hessian_route_function_names_the_slips(wrong, fragment):
    res = check.hessian_route_function(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_hessian_route_covariance_slips_are_named_when_the_mean_is_right():
    def right_mean(wrong):
        def fn(*a):
            return _my_gradients(*a)[0], wrong(*a)[1]
        return fn
    for prior, fragment in [("standard", "covariance of its own"), ("covariance", "S0 itself"),
                            ("none", "prior's contribution to the covariance gradient")]:
        res = check.hessian_route_function(right_mean(_slip(prior=prior)))
        assert not res and fragment in str(res) and "d_Upsilon" in str(res), str(res)


def test_hessian_route_function_reaches_one_latent_dimension_and_a_single_draw():
    def only_wrong_when(pred):
        def fn(nu, Upsilon, Z, grad_x, hess_x, m0, S0):
            d_nu, d_U = _my_gradients(nu, Upsilon, Z, grad_x, hess_x, m0, S0)
            return (d_nu + 1.0, d_U) if pred(Z) else (d_nu, d_U)
        return fn
    msg = str(check.hessian_route_function(only_wrong_when(lambda Z: Z.shape[1] == 1)))
    assert "K = 1" in msg, msg
    msg = str(check.hessian_route_function(only_wrong_when(lambda Z: Z.shape[0] == 1)))
    assert "1 draw)" in msg, msg


def test_hessian_route_function_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.hessian_route_function(np.eye(2)))
    msg = str(check.hessian_route_function(lambda *a: (_my_gradients(*a)[0], _my_gradients(*a)[1] + 0.01)))
    assert "test problem 1" in msg
    assert not re.search(r"[0-9]\.[0-9]", msg), msg


def test_hessian_route_checker_passes_copies():
    def mutating(nu, Upsilon, Z, grad_x, hess_x, m0, S0):
        out = _my_gradients(nu, Upsilon, Z, grad_x, hess_x, m0, S0)
        for a in (nu, Upsilon, Z, m0, S0):
            a[:] = 0.0
        return out
    assert check.hessian_route_function(mutating)
    assert check.hessian_route_function(_my_gradients)


# --- routes through one library call that the graded version refuses ---
