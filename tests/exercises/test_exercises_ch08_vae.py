"""Tests for the Section 8.4.3 exercise checkers (pedagogy_lib.exercises.ch08_vae): the KL by Monte
Carlo, the local variances by maximizing the closed-form ELBO numerically, the one-sample VAE objective by
scipy's Gaussian density, the library's KL and central differences."""
import numpy as np
import pytest
from scipy.optimize import minimize

from pedagogy_lib.exercises import ch08_vae as check
from pedagogy_lib.vi.amortized import linear_gaussian_elbo, linear_gaussian_model


def test_kl_from_prior_by_monte_carlo_and_its_slips():
    mu, s, tau = check.EX_Q["mu"], check.EX_Q["s"], check.EX_Q["tau"]
    assert tau != 1.0
    x = mu + s * np.random.default_rng(0).standard_normal((400_000, 3))
    w = np.sum(-0.5 * ((x - mu) / s) ** 2 - np.log(s) + 0.5 * (x / tau) ** 2 + np.log(tau), axis=1)
    kl = 0.5 * np.sum((mu ** 2 + s ** 2) / tau ** 2 - 1 - np.log(s ** 2 / tau ** 2))
    assert abs(w.mean() - kl) < 4 * w.std() / np.sqrt(w.size)
    assert check.kl_from_prior(kl)
    r = check.kl_from_prior(2 * kl)
    assert not r and "1/2" in str(r)
    r = check.kl_from_prior(0.5 * np.sum(mu ** 2 + s ** 2 - 1 - np.log(s ** 2)))     # the page's formula
    assert not r and "standard normal" in str(r)
    v = np.sqrt(s)                                    # s read as a variance, as help() promises
    r = check.kl_from_prior(0.5 * np.sum((mu ** 2 + v ** 2) / tau ** 2 - 1 - np.log(v ** 2 / tau ** 2)))
    assert not r and "s as variances" in str(r)


def test_local_variances_for_a_non_unit_prior_by_maximizing_the_elbo():
    C, s2, v0 = check.EX_MODEL["C"], check.EX_MODEL["sigma2"], check.EX_MODEL["prior_var"]
    # z = sqrt(v0) u with u ~ N(0, I): the library's unit-prior model with loadings C sqrt(v0)
    model = linear_gaussian_model(C * np.sqrt(v0), np.zeros(4), s2)
    y = np.array([[0.3, -0.2, 1.0, 0.5]])
    f = lambda z: -linear_gaussian_elbo(model, y, z[None, :2], z[None, 2:])[0]
    z = minimize(f, np.zeros(4), method="BFGS", options={"gtol": 1e-10}).x
    v = v0 * np.exp(2 * z[2:])
    assert check.local_variances(v)
    P = np.diag(1 / v0) + C.T @ C / s2
    r = check.local_variances(np.diag(np.linalg.inv(P)))
    assert not r and "exact posterior" in str(r) and "P_kk" not in str(r)
    r = check.local_variances(1 / np.diag(np.eye(2) + C.T @ C / s2))             # Step 1's answer
    assert not r and "unit prior" in str(r)


def test_bayes_rule_asks_for_the_posterior_and_names_the_posts_slip():
    prior, lik = check.EX_BAYES["prior"], check.EX_BAYES["likelihood"]
    post = np.array([lik[k] * prior[k] for k in range(3)])
    post /= post.sum()
    assert check.bayes_rule(post)
    twice = lik * prior ** 2
    r = check.bayes_rule(twice / twice.sum())
    assert not r and "VAE post" in str(r)
    for k in range(4):                                # an index is no longer an answer
        assert not check.bayes_rule(k)
    assert not check.bayes_rule(None)


def _vae_solution(C, c, sigma2, Y, nu, log_s, Z):
    """The notebook's solution: the sample of Eq. 8.24, the Gaussian log-likelihood, the closed-form KL and
    the chain rule through the sample."""
    L = C.shape[0]
    s = np.exp(log_s)
    x = nu + s * Z
    r = Y - x @ C.T - c
    log_lik = -0.5 * L * np.log(2 * np.pi * sigma2) - np.sum(r**2, axis=1) / (2 * sigma2)
    kl = 0.5 * np.sum(nu**2 + s**2 - 1 - 2 * log_s, axis=1)
    g_x = r @ C / sigma2
    return log_lik - kl, g_x - nu, g_x * s * Z - s**2 + 1


def _vae_library(C, c, sigma2, Y, nu, log_s, Z):
    """Independently of the notebook: scipy's Gaussian log-density, the library's KL between Gaussians, and
    the gradients by central differences of the estimate in each datum's nu and log s."""
    from scipy.stats import multivariate_normal

    from pedagogy_lib.vi.mean_field import kl_gaussian

    def estimate(n, m, ls):
        x = m + np.exp(ls) * Z[n]
        lik = multivariate_normal.logpdf(Y[n], C @ x + c, sigma2 * np.eye(C.shape[0]))
        return lik - kl_gaussian(m, np.diag(np.exp(2 * ls)), np.zeros(m.size), np.eye(m.size))

    N, K = nu.shape
    elbo, g_nu, g_ls, h = np.zeros(N), np.zeros((N, K)), np.zeros((N, K)), 1e-6
    for n in range(N):
        elbo[n] = estimate(n, nu[n], log_s[n])
        for k, e in enumerate(np.eye(K)):
            g_nu[n, k] = (estimate(n, nu[n] + h * e, log_s[n]) - estimate(n, nu[n] - h * e, log_s[n])) / (2 * h)
            g_ls[n, k] = (estimate(n, nu[n], log_s[n] + h * e) - estimate(n, nu[n], log_s[n] - h * e)) / (2 * h)
    return elbo, g_nu, g_ls


def test_vae_estimate_function_accepts_the_solution_and_an_independent_route():
    assert check.vae_estimate_function(_vae_solution)
    # the finite differences agree with the derivation to about 1e-9; the checker asks for 1e-7 relative
    assert check.vae_estimate_function(_vae_library)
    assert check.vae_estimate_function(lambda *a: list(_vae_solution(*a)))


def test_vae_estimate_averages_to_the_closed_form_elbo():
    """Averaged over many draws, the estimate is Step 1's ELBO (the library's), and its gradients that ELBO's."""
    rng = np.random.default_rng(5)
    C, c, Y = rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=(1, 3))
    nu, log_s = rng.normal(size=(1, 2)), np.array([[-0.3, 0.2]])
    Z = rng.standard_normal((200_000, 2))
    ones = np.ones((Z.shape[0], 1))
    est, _, _ = _vae_solution(C, c, 0.7, ones * Y, ones * nu, ones * log_s, Z)
    closed = linear_gaussian_elbo(linear_gaussian_model(C, c, 0.7), Y, nu, log_s)[0]
    assert abs(est.mean() - closed) < 4 * est.std() / np.sqrt(est.size)


def _vae_slip(spread="s", var_as_sd=False, constant=True, kl_sign=1.0, kl_log2=True, pathwise=True, kl_grad=True,
              wrt_s=False):
    def fn(C, c, sigma2, Y, nu, log_s, Z):
        L = C.shape[0]
        v = sigma2**2 if var_as_sd else sigma2
        s = np.exp(log_s)
        scale = {"s": s, "s2": s**2, "mean": 0 * s}[spread]
        x = nu + scale * Z
        r = Y - x @ C.T - c
        log_lik = -np.sum(r**2, axis=1) / (2 * v) - (0.5 * L * np.log(2 * np.pi * v) if constant else 0.0)
        kl = 0.5 * np.sum(nu**2 + s**2 - 1 - (2 if kl_log2 else 1) * log_s, axis=1)
        g_x = r @ C / v if pathwise else 0 * r @ C
        dx = {"s": s * Z, "s2": 2 * s**2 * Z, "mean": 0 * Z}[spread]
        g_kl_ls = s**2 - (1 if kl_log2 else 0.5)
        if wrt_s:
            return log_lik - kl, g_x - nu, g_x * Z - s + 1 / s
        k = kl_sign if kl_grad else 0.0
        return log_lik - kl_sign * kl, g_x - k * nu, g_x * dx - k * g_kl_ls
    return fn


def _vae_closed(C, c, sigma2, Y, nu, log_s, Z):
    model = linear_gaussian_model(C, c, sigma2)
    s2 = np.exp(2 * log_s)
    return (linear_gaussian_elbo(model, Y, nu, log_s), (Y - nu @ C.T - c) @ C / sigma2 - nu,
            -s2 * np.sum(C**2, axis=0) / sigma2 - s2 + 1)


@pytest.mark.parametrize("wrong,fragment", [
    (_vae_closed, "closed-form ELBO"),
    (_vae_slip(spread="s2"), "with the variances s^2"),
    (_vae_slip(spread="mean"), "at the mean nu"),
    (_vae_slip(var_as_sd=True), "as a standard deviation"),
    (_vae_slip(kl_sign=-1.0), "added the KL term"),
    (_vae_slip(kl_log2=False), "log s where it needs log s^2"),
    (_vae_slip(constant=False), "normalizing constant"),
    (_vae_slip(pathwise=False), "no pathwise term"),
    (_vae_slip(kl_grad=False), "KL term's gradient out"),
    (_vae_slip(wrt_s=True), "with respect to s, not log s"),
    (lambda *a: None, "forget to return"),
    (lambda *a: a[99], "raised IndexError"),
    (lambda *a: _vae_solution(*a)[:2], "should return the triple"),
])
def test_vae_estimate_function_names_the_slips(wrong, fragment):
    res = check.vae_estimate_function(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_vae_estimate_function_refuses_a_non_function_reaches_the_edges_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.vae_estimate_function(np.zeros(3)))
    msg = str(check.vae_estimate_function(lambda *a: (_vae_solution(*a)[0] + 0.01, *_vae_solution(*a)[1:])))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg), msg
    # right except where the draws are all zero (problem 4): there the sample is the mean
    msg = str(check.vae_estimate_function(lambda *a: _vae_solution(*a) if np.any(a[6]) else
                                          (_vae_solution(*a)[0] + 1.0, *_vae_solution(*a)[1:])))
    assert "test problem 4 (N = 4, L = 3, K = 2)" in msg, msg
    # the single latent dimension and the single datum are reached too
    msg = str(check.vae_estimate_function(lambda *a: _vae_solution(*a) if a[0].shape[1] > 1 else None))
    assert "test problem 2 (N = 5, L = 3, K = 1)" in msg, msg
    msg = str(check.vae_estimate_function(lambda *a: _vae_solution(*a) if a[3].shape[0] > 1 else 1 / 0))
    assert "test problem 3 (N = 1, L = 5, K = 3)" in msg, msg
