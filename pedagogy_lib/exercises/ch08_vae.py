r"""Checkers for the exercises of Section 8.4.3 (from variational Bayes to the VAE).

Use in the notebook as::

    from pedagogy_lib.exercises import ch08_vae as check
    check.kl_standard_normal(my_kl)          # says what is wrong, never the answer

Reference answers are computed in this module, independently of the library.
"""
from __future__ import annotations

import numpy as np

from .checker import CheckResult, as_integer, book_or_drawn, compare_array, compare_scalar, result

__all__ = ["EX_Q", "EX_MODEL", "BAYES_OPTIONS", "kl_standard_normal", "local_variances", "bayes_rule"]


def _draw_q(rng):
    """A distribution of the same kind as the book's EX_Q, for one student: three means of order one and three
    positive standard deviations, some below one and some above (one decimal)."""
    while True:
        s = np.round(rng.uniform(0.2, 1.8, size=3), 1)
        if s.min() < 0.9 and s.max() > 1.1:
            return {"mu": np.round(rng.uniform(-2.0, 2.0, size=3), 1) + 0.0, "s": s}


#: Exercise (a): means and standard deviations of a factorized Gaussian q.
EX_Q = book_or_drawn({"mu": np.array([0.5, -1.0, 2.0]), "s": np.array([0.8, 1.5, 0.3])}, _draw_q, seed=8431)


def _draw_model(rng):
    """A model of the same kind as the book's EX_MODEL, for one student: loadings C (4, 2) of order one (one
    decimal) whose two columns are clearly correlated, and a noise variance below one."""
    while True:
        C = np.round(rng.uniform(-1.3, 1.3, size=(4, 2)), 1) + 0.0
        G = C.T @ C
        if np.linalg.matrix_rank(C) == 2 and abs(G[0, 1]) > 0.3 * np.sqrt(G[0, 0] * G[1, 1]):
            return {"C": C, "sigma2": round(float(rng.uniform(0.2, 0.9)), 1)}


#: Exercise (b): a linear-Gaussian model, loadings C (4, 2) and noise variance sigma2.
EX_MODEL = book_or_drawn({"C": np.array([[1.0, 0.5], [0.3, -1.2], [0.8, 0.8], [-0.4, 0.2]]), "sigma2": 0.5},
                         _draw_model, seed=8432)

#: Exercise (c): candidate statements of Bayes' rule (one of them appears in the VAE post, one is right).
BAYES_OPTIONS = (
    "p(z | x) = p(x, z) p(z) / p(x)",
    "p(z | x) = p(x | z) p(z) / p(x)",
    "p(z | x) = p(x | z) p(x) / p(z)",
    "p(z | x) = p(z | x) p(x) / p(z)",
)


def kl_standard_normal(answer) -> CheckResult:
    """Exercise (a), ``ex-8-4-3-kl``: your KL divergence of the factorized Gaussian :data:`EX_Q` from the
    standard normal, a single number in nats.

    The checker recognizes a dropped factor or constant, standard deviations used where variances
    belong, and the other direction.
    """
    mu, s = EX_Q["mu"], EX_Q["s"]
    terms = [mu[k] ** 2 + s[k] ** 2 - 1.0 - np.log(s[k] ** 2) for k in range(3)]
    expected = 0.5 * sum(terms)
    hints = {
        "you left out the factor 1/2": sum(terms),
        "you used log s where the formula has log s^2": 0.5 * sum(mu ** 2 + s ** 2 - 1.0 - np.log(s)),
        "you left out the -1 per dimension": 0.5 * sum(mu ** 2 + s ** 2 - np.log(s ** 2)),
        "you computed the other direction, D_KL{N(0, I) || q}":
            0.5 * sum((1.0 + mu ** 2) / s ** 2 - 1.0 + np.log(s ** 2)),
    }
    return result("KL of q from the standard normal prior",
                  compare_scalar(answer, expected, "the KL divergence", rtol=1e-8, hints=hints))


def local_variances(answer) -> CheckResult:
    """Exercise (b), ``ex-8-4-3-local``: your variances of the per-datum optimal factorized recognition
    distribution for :data:`EX_MODEL`.

    Pass an array of shape (2,), one variance per latent dimension. The checker recognizes the exact
    posterior's marginal variances and a precision missing the noise variance or the prior.
    """
    C, s2 = EX_MODEL["C"], EX_MODEL["sigma2"]
    P = np.eye(2) + C.T @ C / s2
    expected = np.array([1.0 / P[0, 0], 1.0 / P[1, 1]])
    hints = {
        "you gave the exact posterior's marginal variances, the diagonal of P^{-1}; the factorized optimum "
        "is 1 / P_kk, smaller when the latents are correlated a posteriori": np.diag(np.linalg.inv(P)),
        "you left out the noise variance: P = I + C^T C / sigma2": 1.0 / np.diag(np.eye(2) + C.T @ C),
        "you left out the prior's identity in P": 1.0 / np.diag(C.T @ C / s2),
    }
    return result("local VB variances for EX_MODEL",
                  compare_array(answer, expected, "the variances", rtol=1e-8, hints=hints))


def bayes_rule(answer) -> CheckResult:
    """Exercise (c), ``ex-8-4-3-bayes``: the index (0-3) of the correct statement in :data:`BAYES_OPTIONS`."""
    k, problems = as_integer(answer, "your index")
    if problems:
        return result("Bayes' rule", problems)
    if k not in range(len(BAYES_OPTIONS)):
        return result("Bayes' rule", [f"give an index between 0 and {len(BAYES_OPTIONS) - 1}."])
    why = {
        0: "the joint p(x, z) already contains p(z): multiplying by it again counts the prior twice "
           "(this is the version printed in the VAE post).",
        2: "check the units: the right side must be a density in z, so the prior p(z) belongs in the numerator.",
        3: "this is circular: the posterior appears on both sides.",
    }
    return result("Bayes' rule", [] if k == 1 else [why[k]])


#: For the graded (nbgrader) version: why an exercise's data are the same for every student
#: (courseware/grading.py).
SUMMATIVE = {
    "ex-8-4-3-bayes": {"same_data": "the answer is an index, a choice among four printed statements of Bayes' "
                                    "rule"},
}
