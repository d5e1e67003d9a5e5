r"""Checkers for the exercises of Section 8.4.2 (black-box variational inference)."""
from __future__ import annotations

import numpy as np

from .checker import (FUNCTION_ANSWER, CheckResult, book_or_drawn, compare_array, compare_scalar, problem_rng, result,
                      check_function)
from .engine import Exercise, Part, lazy, summative

__all__ = ["EX_MU", "EX_SAMPLES", "EX_X", "sf_variance", "cv_coefficient", "naive_optimum", "sf_gradient",
           "advi_gradient"]


#: Exercise (a): the mean of q = N(mu, 1); the function is f(z) = z^2.
EX_MU = book_or_drawn(1.5, lambda rng: round(float(rng.choice([m for m in np.arange(0.5, 2.55, 0.1)
                                                                if abs(m - 1.5) > 0.05])), 1), seed=8421)


def _samples():
    rng = problem_rng(8402)
    eps = rng.standard_normal(400)
    g = eps * (2.0 + eps) ** 2 + 0.5 * rng.standard_normal(400)
    H = np.column_stack([eps, eps + eps ** 2 - 1.0])       # two mean-zero control variates, correlated
    return g, H


#: Exercise (b): per-sample gradients ``g`` (400,) and two mean-zero control variates ``H`` (400, 2).
EX_SAMPLES = _samples()

#: Exercise (c): the constant x of the naive recipe's objective L(lambda) = x lambda^2 + log lambda.
EX_X = -2.0


def sf_variance(answer) -> CheckResult:
    """Exercise (a), ``ex-8-4-2-sf-variance``: your variance of the statement's single-sample score-function estimator
    at mu = EX_MU. Slips named: the second moment, the reparameterization estimator's variance, the mean."""
    mu = EX_MU
    expected = mu ** 4 + 14 * mu ** 2 + 15
    hints = {
        "you gave the second moment E[((z - mu) z^2)^2] of the estimator, not its variance":
            expected + 4 * mu ** 2,
        "you gave the variance of the reparameterization estimator 2z": 4.0,
        "you gave the mean of the estimator, not its variance": 2 * mu,
    }
    return result("variance of the score-function estimator",
                  compare_scalar(answer, expected, "the variance", rtol=1e-8, hints=hints))


def cv_coefficient(answer) -> CheckResult:
    """Exercise (b), ``ex-8-4-2-cv``: your coefficients ``a`` (2,) minimizing the sample variance of ``g - H @ a`` for
    :data:`EX_SAMPLES`. Slips named: each column fitted alone, uncentred moments."""
    g, H = EX_SAMPLES
    gc, Hc = g - g.mean(), H - H.mean(axis=0)
    expected = np.linalg.solve(Hc.T @ Hc, Hc.T @ gc)
    hints = {
        "you fitted each control variate on its own, Cov(g, h_k) / Var(h_k); the two columns of H are "
        "correlated, so their coefficients have to be found together":
            (Hc.T @ gc) / np.sum(Hc * Hc, axis=0),
        "you used uncentred moments (E[h h^T] and E[h g] about zero rather than about the sample means)":
            np.linalg.solve(H.T @ H, H.T @ g),
    }
    return result("optimal control-variate coefficients",
                  compare_array(answer, expected, "a", rtol=1e-6, atol=1e-9, hints=hints))


def naive_optimum(answer) -> CheckResult:
    """Exercise (c), ``ex-8-4-2-naive``: your maximizer lambda* of the naive recipe's objective with x = :data:`EX_X`.
    Slips named: the last step left out, the negative root."""
    x = EX_X
    expected = 1.0 / np.sqrt(-2.0 * x)
    hints = {
        "that is not lambda* itself: look again at the last step, where you solve for lambda": -1.0 / (2.0 * x),
        "you gave the negative root: log lambda needs lambda > 0": -expected,
    }
    return result("optimum of the naive recipe's objective",
                  compare_scalar(answer, expected, "lambda*", rtol=1e-5, hints=hints))


def _target_cases():
    """Hidden problems (description, log_p, m, log_s, eps), one with a single draw."""
    r = problem_rng(84210)
    cases = []
    mu_star, s_star = float(r.uniform(-1.0, 2.0)), float(r.uniform(0.5, 1.5))

    def gaussian(X):
        return -0.5 * (X[:, 0] - mu_star) ** 2 / s_star ** 2

    cases.append(("D = 1, a single draw, a Gaussian target", gaussian, r.normal(size=1),
                  r.uniform(-0.7, 0.7, size=1), r.standard_normal((1, 1))))

    def banana(X):
        return -0.5 * X[:, 0] ** 2 - 0.5 * (X[:, 1] - X[:, 0] ** 2 + 1.0) ** 2

    cases.append(("D = 2, 5 draws, the banana", banana, r.normal(size=2), r.uniform(-0.7, 0.7, size=2),
                  r.standard_normal((5, 2))))
    A = r.normal(size=(3, 3))
    Lam = A @ A.T + np.eye(3)
    c = r.normal(size=3)

    def correlated(X):
        d = X - c
        return -0.5 * np.einsum("si,ij,sj->s", d, Lam, d) + 3.0

    cases.append(("D = 3, 8 draws, a correlated Gaussian target", correlated, r.normal(size=3),
                  r.uniform(-0.7, 0.7, size=3), r.standard_normal((8, 3))))

    def heavy_tails(X):
        return -np.sum(np.log1p(X ** 2), axis=1)

    cases.append(("D = 2, 12 draws, a heavy-tailed target", heavy_tails, r.normal(size=2),
                  r.uniform(-0.7, 0.7, size=2), r.standard_normal((12, 2))))
    return cases


def sf_gradient(fn) -> CheckResult:
    """Exercise (d), ``ex-8-4-2-sf-gradient``: your function ``fn(log_p, m, log_s, eps)`` returning the score-function
    ELBO gradient (D in m, then D in log s) averaged over the draws ``eps``. Slips named: scores without a constant or
    not divided by s, derivatives in s, no log q or its constant."""
    from .references import ch08_bbvi as refs
    def judge(out, where, log_p, m, log_s, eps):
        s = np.exp(log_s)
        hints = {
            "your score with respect to log s misses a term: differentiate every term of log q that holds s":
                refs.sf_estimate(log_p, m, log_s, eps, score_log_s=eps ** 2),
            "you did not divide the score with respect to m by s":
                refs.sf_estimate(log_p, m, log_s, eps, score_m=eps),
            "you differentiated with respect to s instead of log s":
                refs.sf_estimate(log_p, m, log_s, eps, score_log_s=(eps ** 2 - 1.0) / s),
            "you left log q out of the weight; the ELBO's integrand is log p minus log q":
                refs.sf_estimate(log_p, m, log_s, eps, use_log_q=False),
            "you left the normalizing constant out of log q; with finitely many draws the estimate depends on "
            "it, since the scores average to zero only in expectation":
                refs.sf_estimate(log_p, m, log_s, eps, log_q_const=False),
        }
        return compare_array(out, refs.sf_estimate(log_p, m, log_s, eps), f"your output on {where}", rtol=1e-8,
                             atol=1e-10, hints=hints)

    cases = _target_cases()
    cases = [(f"test problem {i + 1} of {len(cases)} ({what})", args) for i, (what, *args) in enumerate(cases)]
    return check_function("score-function gradient of the ELBO (Step 1)", fn, cases, judge, name="my_sf_gradient",
                          signature="(log_p, m, log_s, eps)")


def _advi_cases():
    """Hidden problems (where, (grad_log_p, transforms, m, log_s, eps)), drawn for each student: the first mixes a
    positive and a (0, 1) coordinate (so that every slip shows on it), then one draw of one rate, three coupled
    coordinates, and a correlated log-normal on two rates."""
    r = problem_rng(84220)
    cases = []
    a, b = r.uniform(2.0, 5.0), r.uniform(0.5, 2.0)
    al, be = r.uniform(1.5, 4.0, size=2)

    def gamma_beta(T):
        return np.column_stack([(a - 1.0) / T[:, 0] - b, (al - 1.0) / T[:, 1] - (be - 1.0) / (1.0 - T[:, 1])])

    cases.append(("D = 2 (a rate and a probability), 6 draws", (gamma_beta, ["log", "logit"])))
    a1, b1 = r.uniform(1.5, 6.0), r.uniform(0.5, 3.0)

    def gamma(T):
        return (a1 - 1.0) / T - b1

    cases.append(("D = 1 (a rate), a single draw", (gamma, ["log"])))
    al3, be3 = r.uniform(1.5, 4.0, size=2), r.uniform(1.5, 4.0, size=2)
    a3, b3, c3 = r.uniform(2.0, 4.0), r.uniform(0.5, 2.0), r.uniform(-1.0, 1.0)

    def coupled(T):
        p, lam, q = T[:, 0], T[:, 1], T[:, 2]
        return np.column_stack([(al3[0] - 1.0) / p - (be3[0] - 1.0) / (1.0 - p) + c3 * lam,
                                (a3 - 1.0) / lam - b3 + c3 * p,
                                (al3[1] - 1.0) / q - (be3[1] - 1.0) / (1.0 - q)])

    cases.append(("D = 3 (two probabilities and a rate, coupled), 8 draws", (coupled, ["logit", "log", "logit"])))
    A = r.normal(size=(2, 2))
    Lam, mu = A @ A.T + np.eye(2), r.normal(size=2)

    def log_normal(T):
        return -((np.log(T) - mu) @ Lam) / T - 1.0 / T

    cases.append(("D = 2 (two rates, a correlated log-normal), 4 draws", (log_normal, ["log", "log"])))
    out = []
    for (where, (fn, transforms)), S in zip(cases, (6, 1, 8, 4)):
        D = len(transforms)
        out.append((where, (fn, transforms, r.normal(0.0, 0.5, size=D), r.uniform(-1.0, 0.0, size=D),
                            r.standard_normal((S, D)))))
    return out


_ADVI_SLIPS = {
    "you left the log-Jacobian out of the target of zeta: its derivative adds 1 for a log coordinate and "
    "1 - 2 theta for a logit one": {"jacobian": False},
    "you used the gradient in theta as the gradient in zeta: the chain rule through theta = T^{-1}(zeta) "
    "multiplies it by d theta / d zeta": {"chain": False},
    "your log s part misses the entropy's gradient, which adds 1 to each coordinate": {"entropy": False},
    "you differentiated with respect to s instead of log s": {"in_s": True},
    "your log s part is missing the factor s: d zeta / d log s = s eps": {"times_s": False},
    "you used the log transform's log-Jacobian derivative (1) for the logit coordinates too; for "
    "theta = sigma(zeta) it is 1 - 2 theta": {"log_everywhere": True},
}

_ADVI = Exercise(
    label="ex-8-4-2-advi-gradient", name="advi_gradient", title="ADVI's pathwise ELBO gradient",
    reference="ch08_bbvi:advi_gradient", function="my_advi_gradient",
    signature="(grad_log_p, transforms, m, log_s, eps)", cases=_advi_cases,
    parts=(Part("grad", "your gradient on {where}", rtol=1e-8, atol=1e-10,
                slips={message: lazy("ch08_bbvi:advi_gradient", star=True, **flags)
                       for message, flags in _ADVI_SLIPS.items()}),),
    doc=r"""Exercise (e), ``ex-8-4-2-advi-gradient``: your function ``fn(grad_log_p, transforms, m, log_s, eps)``
    returning ADVI's pathwise ELBO gradient in ``(m, log s)`` (length 2 D), averaged over the draws ``eps`` (S, D),
    for coordinates mapped by ``"log"`` or ``"logit"``. Hidden problems drawn for each student. Slips named: no
    log-Jacobian, no chain rule, no entropy gradient, a derivative in s, the factor s missing, the log transform's
    Jacobian for a logit coordinate.""")

advi_gradient = _ADVI.checker(globals())


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    **summative(_ADVI),
    "ex-8-4-2-naive": {"same_data": "the statement spells out the number (x = -2)"},
    "ex-8-4-2-sf-gradient": {"same_data": FUNCTION_ANSWER},
}
