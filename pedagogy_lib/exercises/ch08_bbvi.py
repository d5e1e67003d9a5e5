r"""Checkers for the exercises of Section 8.4.2 (black-box variational inference).

Use in the notebook as::

    from pedagogy_lib.exercises import ch08_bbvi as check
    check.sf_variance(my_value)              # says what is wrong, never the answer
    check.sf_gradient(my_sf_gradient)        # a function, run on test problems made here

Reference answers are computed in this module, independently of the library.
"""
from __future__ import annotations

import numpy as np

from .checker import CheckResult, book_or_drawn, compare_array, compare_scalar, problem_rng, result, check_function

__all__ = ["EX_MU", "EX_SAMPLES", "EX_X", "sf_variance", "cv_coefficient", "naive_optimum", "sf_gradient"]


def _draw_mu(rng):
    """A mean of the same kind as the book's EX_MU, for one student: positive, of order one (one decimal),
    other than the book's."""
    return round(float(rng.choice([m for m in np.arange(0.5, 2.55, 0.1) if abs(m - 1.5) > 0.05])), 1)


#: Exercise (a): the mean of q = N(mu, 1); the function is f(z) = z^2.
EX_MU = book_or_drawn(1.5, _draw_mu, seed=8421)


def _samples():
    rng = problem_rng(8402)
    eps = rng.standard_normal(400)
    g = eps * (2.0 + eps) ** 2 + 0.5 * rng.standard_normal(400)
    H = np.column_stack([eps, eps + eps ** 2 - 1.0])       # two mean-zero control variates, correlated
    return g, H


#: Exercise (b): per-sample gradients ``g`` (shape (400,)) and two control variates per sample ``H``
#: (shape (400, 2), each column of mean zero under q).
EX_SAMPLES = _samples()

#: Exercise (c): the constant x of the naive recipe's objective L(lambda) = x lambda^2 + log lambda.
EX_X = -2.0


def sf_variance(answer) -> CheckResult:
    """Exercise (a), ``ex-8-4-2-sf-variance``: your variance of the single-sample score-function
    estimator of the statement at mu = EX_MU, a single number.

    The checker recognizes the second moment, the reparameterization estimator's variance, and the
    estimator's mean.
    """
    mu = EX_MU
    expected = mu ** 4 + 14 * mu ** 2 + 15
    hints = {
        "you gave the second moment E[((z - mu) z^2)^2] of the estimator, not its variance": expected + 4 * mu ** 2,
        "you gave the variance of the reparameterization estimator 2z": 4.0,
        "you gave the mean of the estimator, not its variance": 2 * mu,
    }
    return result("variance of the score-function estimator",
                  compare_scalar(answer, expected, "the variance", rtol=1e-8, hints=hints))


def cv_coefficient(answer) -> CheckResult:
    """Exercise (b), ``ex-8-4-2-cv``: your coefficients ``a`` (shape (2,)) that minimize the sample
    variance of ``g - H @ a`` for :data:`EX_SAMPLES`.

    The checker recognizes each column's coefficient fitted on its own and uncentred moments.
    """
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
    """Exercise (c), ``ex-8-4-2-naive``: your maximizer lambda* of the naive recipe's objective with
    x = :data:`EX_X`, a single number.

    The checker recognizes the last step of the solution left out and a root outside the domain.
    """
    x = EX_X
    expected = 1.0 / np.sqrt(-2.0 * x)
    hints = {
        "that is not lambda* itself: look again at the last step, where you solve for lambda": -1.0 / (2.0 * x),
        "you gave the negative root: log lambda needs lambda > 0": -expected,
    }
    return result("optimum of the naive recipe's objective",
                  compare_scalar(answer, expected, "lambda*", rtol=1e-5, hints=hints))


def _target_cases():
    """Test problems for :func:`sf_gradient`, none of them the book's: (description, log_p, m, log_s, eps),
    with S standard normal draws in the rows of eps (S, D); targets known up to a constant, and one problem
    with a single draw of a single coordinate."""
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


def _sf_estimate(log_p, m, log_s, eps, *, score_m=None, score_log_s=None, log_q_const=True, use_log_q=True):
    """The score-function estimate, averaged over the rows of eps: the right one by default, and the named
    slips by its options (another score, log q without its constant, log q left out)."""
    s = np.exp(log_s)
    x = m + s * eps
    log_q = np.zeros(eps.shape[0])
    for i in range(eps.shape[0]):
        for d in range(eps.shape[1]):
            log_q[i] += -0.5 * eps[i, d] ** 2 - log_s[d] - (0.5 * np.log(2.0 * np.pi) if log_q_const else 0.0)
    weight = log_p(x) - (log_q if use_log_q else 0.0)
    h_m = eps / s if score_m is None else score_m
    h_log_s = eps ** 2 - 1.0 if score_log_s is None else score_log_s
    return np.concatenate([np.mean(h_m * weight[:, None], axis=0), np.mean(h_log_s * weight[:, None], axis=0)])


def sf_gradient(fn) -> CheckResult:
    """Exercise (d), ``ex-8-4-2-sf-gradient``: your function ``fn(log_p, m, log_s, eps)``, the score-function
    estimate of the gradient of the ELBO for the factorized Gaussian q of the page.

    ``m`` and ``log_s`` have shape (D,); ``eps`` is an (S, D) array of standard normal draws, one per row;
    ``log_p`` maps an (S, D) array of samples to their S values of the unnormalized log target. ``fn``
    returns a vector of length 2D, the D derivatives with respect to m and then the D with respect to
    log s, averaged over the S draws. It runs on test problems made here (D from 1 to 3, one of them
    with a single draw). The checker recognizes a score for log s without its constant, a score for m
    not divided by s, derivatives with respect to s instead of log s, log q left out of the weight and
    log q without its normalizing constant.
    """
    def judge(out, where, log_p, m, log_s, eps):
        s = np.exp(log_s)
        hints = {
            "your score with respect to log s misses a term: differentiate every term of log q that holds s":
                _sf_estimate(log_p, m, log_s, eps, score_log_s=eps ** 2),
            "you did not divide the score with respect to m by s": _sf_estimate(log_p, m, log_s, eps, score_m=eps),
            "you differentiated with respect to s instead of log s":
                _sf_estimate(log_p, m, log_s, eps, score_log_s=(eps ** 2 - 1.0) / s),
            "you left log q out of the weight; the ELBO's integrand is log p minus log q":
                _sf_estimate(log_p, m, log_s, eps, use_log_q=False),
            "you left the normalizing constant out of log q; with finitely many draws the estimate depends on "
            "it, since the scores average to zero only in expectation":
                _sf_estimate(log_p, m, log_s, eps, log_q_const=False),
        }
        return compare_array(out, _sf_estimate(log_p, m, log_s, eps), f"your output on {where}", rtol=1e-8,
                             atol=1e-10, hints=hints)

    cases = _target_cases()
    cases = [(f"test problem {i + 1} of {len(cases)} ({what})", args) for i, (what, *args) in enumerate(cases)]
    return check_function("score-function gradient of the ELBO (Step 1)", fn, cases, judge, name="my_sf_gradient",
                          signature="(log_p, m, log_s, eps)")


#: For the graded (nbgrader) version (courseware/grading.py): per exercise, problem data drawn for each
#: student ("variant"), or why every student gets the same data ("same_data").
SUMMATIVE = {
    "ex-8-4-2-naive": {"same_data": "the statement spells out the number (x = -2)"},
    "ex-8-4-2-sf-gradient": {"same_data": "the answer is a function, which the grader calls on test problems of the "
                                          "checker's own"},
}
