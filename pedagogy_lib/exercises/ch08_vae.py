r"""Checkers for the exercises of Section 8.4.3 (from variational Bayes to the VAE)."""
from __future__ import annotations

import numpy as np

from .checker import (FUNCTION_ANSWER, CheckResult, book_or_drawn, compare_array, compare_scalar, problem_rng, result,
                      check_function, tuple_problems)

__all__ = ["EX_Q", "EX_MODEL", "EX_BAYES", "kl_from_prior", "local_variances", "bayes_rule", "vae_estimate_function"]


def _draw_q(rng):
    """A q like EX_Q: three means of order one, standard deviations below and above one, a prior sd."""
    while True:
        s = np.round(rng.uniform(0.2, 1.8, size=3), 1)
        if s.min() < 0.9 and s.max() > 1.1:
            return {"mu": np.round(rng.uniform(-2.0, 2.0, size=3), 1) + 0.0, "s": s,
                    "tau": float(rng.choice([0.5, 1.5, 2.0, 2.5, 3.0]))}


#: Exercise (a): means and sds of a factorized Gaussian q, and the sd tau of the prior N(0, tau^2 I).
EX_Q = book_or_drawn({"mu": np.array([0.5, -1.0, 2.0]), "s": np.array([0.8, 1.5, 0.3]), "tau": 2.0}, _draw_q,
                     seed=8431)


def _draw_model(rng):
    """A model like EX_MODEL: loadings (4, 2) with clearly correlated columns, a noise variance below one."""
    while True:
        C = np.round(rng.uniform(-1.3, 1.3, size=(4, 2)), 1) + 0.0
        G = C.T @ C
        if np.linalg.matrix_rank(C) == 2 and abs(G[0, 1]) > 0.3 * np.sqrt(G[0, 0] * G[1, 1]):
            return {"C": C, "sigma2": round(float(rng.uniform(0.2, 0.9)), 1),
                    "prior_var": np.round(rng.uniform(0.3, 3.0, size=2), 1)}


#: Exercise (b): loadings C (4, 2), noise variance sigma2, and the prior variances prior_var.
EX_MODEL = book_or_drawn({"C": np.array([[1.0, 0.5], [0.3, -1.2], [0.8, 0.8], [-0.4, 0.2]]), "sigma2": 0.5,
                          "prior_var": np.array([2.0, 0.5])}, _draw_model, seed=8432)

#: Exercise (c): the prior of a three-state z and the likelihood p(x | z) of the observed x.
EX_BAYES = {"prior": np.array([0.5, 0.3, 0.2]), "likelihood": np.array([0.1, 0.4, 0.7])}


def kl_from_prior(answer) -> CheckResult:
    """Exercise (a), ``ex-8-4-3-kl``: your KL of the factorized Gaussian q of :data:`EX_Q` from the prior N(0, tau^2
    I), tau = EX_Q["tau"], in nats. Slips named: the standard normal prior, tau or s read as variances, no factor 1/2,
    the other direction."""
    from .references import ch08_vae as refs
    mu, s, tau = EX_Q["mu"], EX_Q["s"], EX_Q["tau"]
    expected = refs.kl_to_prior(mu, s, tau)
    hints = {
        "you used the standard normal N(0, I) as the prior; this prior has standard deviation tau":
            refs.kl_to_prior(mu, s, 1.0),
        "you read tau as a variance; it is the prior's standard deviation": refs.kl_to_prior(mu, s, np.sqrt(tau)),
        "you read s as variances; EX_Q[\"s\"] holds standard deviations": refs.kl_to_prior(mu, np.sqrt(s), tau),
        "you left out the factor 1/2": 2.0 * expected,
        "you computed the other direction, D_KL{prior || q}":
            0.5 * float(np.sum((tau ** 2 + mu ** 2) / s ** 2 - 1.0 + np.log(s ** 2) - np.log(tau ** 2))),
    }
    return result("KL of q from the prior N(0, tau^2 I)",
                  compare_scalar(answer, expected, "the KL divergence", rtol=1e-8, hints=hints))


def local_variances(answer) -> CheckResult:
    """Exercise (b), ``ex-8-4-3-local``: your variances (2,) of the per-datum optimal factorized recognition
    distribution for :data:`EX_MODEL`, prior N(0, diag(prior_var)). Slips named: the exact posterior's marginals, Step
    1's unit prior, prior variances uninverted, no noise variance."""
    C, s2, v0 = EX_MODEL["C"], EX_MODEL["sigma2"], EX_MODEL["prior_var"]
    P = np.diag(1.0 / v0) + C.T @ C / s2
    expected = np.array([1.0 / P[0, 0], 1.0 / P[1, 1]])
    hints = {
        "you gave the exact posterior's marginal variances; re-read which distribution the factorized "
        "optimum matches, coordinate by coordinate": np.diag(np.linalg.inv(P)),
        "you kept Step 1's unit prior; this model's latents have the variances prior_var":
            1.0 / np.diag(np.eye(2) + C.T @ C / s2),
        "you multiplied by the prior variances where their inverses belong":
            1.0 / np.diag(np.diag(v0) + C.T @ C / s2),
        "you left out the noise variance": 1.0 / np.diag(np.diag(1.0 / v0) + C.T @ C),
    }
    return result("local VB variances for EX_MODEL",
                  compare_array(answer, expected, "the array of variances", rtol=1e-8, hints=hints))


def bayes_rule(answer) -> CheckResult:
    """Exercise (c), ``ex-8-4-3-bayes``: your posterior p(z | x) (3,) for :data:`EX_BAYES`. Slips named: the source
    post's extra prior factor, no prior, no normalization."""
    prior, lik = EX_BAYES["prior"], EX_BAYES["likelihood"]
    joint = lik * prior
    expected = joint / joint.sum()
    twice = joint * prior
    hints = {
        "you multiplied the joint by the prior again (the version printed in the VAE post): the joint "
        "p(x, z) = p(x | z) p(z) already contains it": twice / twice.sum(),
        "you left out the prior": lik / lik.sum(),
        "you did not divide by p(x): the posterior must sum to one over z": joint,
    }
    return result("posterior over z for EX_BAYES",
                  compare_array(answer, expected, "the posterior", rtol=1e-8, hints=hints))


def _vae_cases():
    """Hidden problems (C, c, sigma2, Y, nu, log_s, Z): K = 1, a single datum, all-zero draws."""
    rng = problem_rng(8433)
    cases = []
    for N, L, K, zero in [(6, 4, 2, False), (5, 3, 1, False), (1, 5, 3, False), (4, 3, 2, True)]:
        C = rng.normal(0.0, 1.0, size=(L, K))
        c = rng.normal(0.0, 1.0, size=L)
        sigma2 = float(rng.uniform(0.2, 1.6))
        Y = rng.normal(0.0, 1.5, size=(N, L))
        nu = rng.normal(0.0, 1.0, size=(N, K))
        log_s = rng.uniform(-1.2, 0.4, size=(N, K))
        Z = np.zeros((N, K)) if zero else rng.standard_normal((N, K))
        cases.append((C, c, sigma2, Y, nu, log_s, Z))
    return cases


def vae_estimate_function(fn) -> CheckResult:
    """Exercise (d), ``ex-8-4-3-vae-estimate``: your function ``fn(C, c, sigma2, Y, nu, log_s, Z)`` returning ``(elbo,
    g_nu, g_log_s)``: each datum's one-sample ELBO (N,) and its gradients in nu and log s (N, K). Slips named: the
    closed form, a wrong sample, sigma2 as an sd, the KL added, mis-logged or ungraded, no constant, no pathwise term,
    a gradient in s."""
    from .references import ch08_vae as refs
    def judge(out, where, *case):
        ref = refs.vae_variant(*case)
        problems = tuple_problems(out, 3, "the triple (elbo, g_nu, g_log_s)", where)
        if problems:
            return problems
        return [p for answer, expected, what, hint in zip(out, ref, ("elbo", "g_nu", "g_log_s"), refs.vae_slips(*case))
                for p in compare_array(answer, expected, f"{what} on {where}", rtol=1e-7, atol=1e-9, hints=hint)]

    cases = [(f"test problem {i + 1} (N = {case[3].shape[0]}, L = {case[0].shape[0]}, K = {case[0].shape[1]})",
              case) for i, case in enumerate(_vae_cases())]
    return check_function("one-sample VAE objective and its pathwise gradients", fn, cases, judge,
                          name="my_vae_estimate", signature="(C, c, sigma2, Y, nu, log_s, Z)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-8-4-3-vae-estimate": {"same_data": FUNCTION_ANSWER},
    "ex-8-4-3-bayes": {"same_data": "the statement's table is three numbers printed on the page"},
}
