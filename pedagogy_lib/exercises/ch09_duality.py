"""Checkers for the exercises of notebook 9.0.1 (the generative/discriminative duality). Exercises 1-3 use zero-mean
data of sd :data:`EX_SIGMA` and d(y) = a y, squashed by the normal CDF Phi (1, 2) or the logistic (3)."""
from __future__ import annotations

import numpy as np
from scipy import special

from . import checker

__all__ = ["EX_SIGMA", "EX_A", "EX_Z", "z_density", "kl_at_gain", "best_gain", "log_density_function"]


#: The data's sd in the page's own computations; the exercises' data never have it.
PAGE_SIGMA = 2.0


def _draw_sigma(rng) -> float:
    """A standard deviation in [2.3, 4] (one decimal): away from 1, the optimal output scale and the page's 2."""
    return float(np.round(rng.uniform(2.3, 4.0), 1))


#: Standard deviation of the zero-mean data of exercises 1-3.
EX_SIGMA = checker.book_or_drawn(1.5, _draw_sigma, seed=9011)


def _draw_a(rng) -> float:
    """A gain within 25% of the logistic ML gain 1.75 / EX_SIGMA, so the squashed outputs are visibly not uniform."""
    return float(np.round(1.75 / EX_SIGMA * rng.uniform(0.75, 1.25), 2))


#: Gain a of the recognition map d(y) = a y in Exercises 1 and 2.
EX_A = checker.book_or_drawn(1.1, _draw_a, seed=9012)


def _draw_z(rng) -> np.ndarray:
    """Five different increasing points of the grid 0.05, 0.10, ..., 0.95."""
    return np.round(np.sort(rng.choice(np.arange(1, 20), 5, replace=False)) * 0.05, 2)


#: Exercise 1: points of the unit interval where the density of the squashed output Z is wanted.
EX_Z = checker.book_or_drawn(np.array([0.05, 0.25, 0.5, 0.75, 0.95]), _draw_z, seed=9013)


def _log_dpsi(x):
    s = np.abs(x)
    return -s - 2.0 * np.log1p(np.exp(-s))


def z_density(values):
    """Exercise 1, ``ex-9-0-1-z-density``: your density of Z = Phi(a Y) at each point of :data:`EX_Z`, Phi the
    standard normal CDF. Slips named: no Jacobian factor, a ratio upside down, the data density alone, no gain, the
    page's logistic psi."""
    from .references import ch09_duality as refs
    x = special.ndtri(EX_Z)
    y = x / EX_A
    ref = np.exp(refs.log_p(y, EX_SIGMA) - refs.log_normal(x) - np.log(EX_A))
    x_l = special.logit(EX_Z)
    hints = {
        "you left out the Jacobian of the linear map d":
            np.exp(refs.log_p(y, EX_SIGMA) - refs.log_normal(x)),
        "the ratio is upside down: the density of Z is p(y) over the model density, not the reverse":
            1.0 / ref,
        "you gave the data density p(y) at the pre-image, not the density of Z there": np.exp(refs.log_p(y, EX_SIGMA)),
        "you evaluated p at the pre-image under the squashing without dividing by the gain a":
            np.exp(refs.log_p(x, EX_SIGMA) - refs.log_normal(x) - np.log(EX_A)),
        "you used the page's logistic squashing; here it is the normal CDF, whose inverse and derivative "
        "are not the logistic's":
            np.exp(refs.log_p(x_l / EX_A, EX_SIGMA) - _log_dpsi(x_l) - np.log(EX_A)),
    }
    problems = checker.compare_array(values, ref, "your array of densities", rtol=1e-6, hints=hints)
    return checker.result("density of the squashed outputs", problems)


def kl_at_gain(value):
    """Exercise 2, ``ex-9-0-1-entropy``: your relative entropy of the generative model (prior CDF Phi) from the data
    at a = :data:`EX_A`. Slips named: the output entropy, no log-determinant, the page's logistic model."""
    from .references import ch09_duality as refs
    ref = refs.kl(EX_A, EX_SIGMA)
    hints = {
        "you gave the output entropy H[Z] itself; re-read how Step 2 relates the two": -ref,
        "you left out log|a|, the log-determinant of the Jacobian": refs.kl(EX_A, EX_SIGMA, with_logdet=False),
        "you used the page's logistic squashing; here the squashing, and so the prior, is the normal CDF":
            refs.kl(EX_A, EX_SIGMA, log_prior=_log_dpsi),
    }
    # rtol 1e-4: quadrature of an unbounded density is off by up to 7e-6, far below every slip's distance
    problems = checker.compare_scalar(value, ref, "your relative entropy", rtol=1e-4, atol=1e-7, hints=hints)
    return checker.result("relative entropy at the given gain", problems)


def best_gain(a):
    """Exercise 3, ``ex-9-0-1-best-gain``: your gain a* > 0 maximizing the logistic model's likelihood for zero-mean
    Laplace data of standard deviation :data:`EX_SIGMA` (-a* is accepted too). Slips named: normal data, unit-variance
    data, EX_SIGMA as the Laplace scale, the tanh score, the reciprocal, the whitening gain."""
    from .references import ch09_duality as refs
    lam = refs.unit_gain(refs.log_laplace_unit)
    ref = lam / EX_SIGMA
    arr, problems = checker.as_numeric(a, "your gain")
    if problems:
        return checker.result("maximum-likelihood gain", problems)
    if arr.size == 1 and float(arr.reshape(())) < 0:
        arr = -arr                    # -a* is the mirror-image maximum of a symmetric prior
    hints = {
        "you solved for normal data (as on the page); these data are Laplace":
            refs.unit_gain(refs.log_normal) / EX_SIGMA,
        "you solved for unit-variance data; these data have standard deviation EX_SIGMA": lam,
        "you took EX_SIGMA as the Laplace scale; it is the standard deviation": lam / (np.sqrt(2.0) * EX_SIGMA),
        "your stationarity condition has the score of tanh squashing, not of the logistic psi":
            refs.unit_gain(refs.log_laplace_unit, score=np.tanh) / EX_SIGMA,
        "you gave the reciprocal, a scale instead of a gain": 1.0 / ref,
        "you gave the whitening gain 1/sigma, which does not solve the stationarity condition":
            1.0 / EX_SIGMA,
    }
    problems = checker.compare_scalar(arr, ref, "your gain", rtol=1e-4, hints=hints)
    return checker.result("maximum-likelihood gain", problems)


def _log_laplace(x):
    return -np.abs(x) - np.log(2.0)


def _affine(D, b):
    """d(y) = D y + b: (map, Jacobian, log|det|)."""
    logdet = float(np.log(abs(np.prod(np.linalg.eigvals(D)).real)))
    return (lambda Y: Y @ D.T + b, lambda Y: np.broadcast_to(D, (Y.shape[0],) + D.shape).copy(),
            lambda Y: np.full(Y.shape[0], logdet))


def _bent(D, b, alpha):
    """d(y) = D (y + alpha tanh y) + b: (map, Jacobian, log|det|)."""
    logdet = float(np.log(abs(np.prod(np.linalg.eigvals(D)).real)))
    return (lambda Y: (Y + alpha * np.tanh(Y)) @ D.T + b,
            lambda Y: D[None, :, :] * (1.0 + alpha / np.cosh(Y) ** 2)[:, None, :],
            lambda Y: logdet + np.sum(np.log1p(alpha / np.cosh(Y) ** 2), axis=1))


def _coupling(w, sig):
    """An additive coupling and a scaling in 2-D: x1 = e^sig1 y1, x2 = e^sig2 (y2 + w sin y1)."""
    e = np.exp(sig)

    def d(Y):
        return np.stack([e[0] * Y[:, 0], e[1] * (Y[:, 1] + w * np.sin(Y[:, 0]))], axis=1)

    def jac(Y):
        J = np.zeros((Y.shape[0], 2, 2))
        J[:, 0, 0], J[:, 1, 1], J[:, 1, 0] = e[0], e[1], e[1] * w * np.cos(Y[:, 0])
        return J

    return d, jac, lambda Y: np.full(Y.shape[0], float(np.sum(sig)))


def _density_cases():
    """Hidden problems: a 1-D map of negative slope, negative determinants, a coupling, a single datum."""
    from .references import ch09_duality as refs
    rng = checker.problem_rng(9014)

    def invertible(K, sign):
        while True:
            D = rng.normal(0.0, 1.0, size=(K, K))
            det = np.linalg.det(D)
            if abs(det) > 0.4 and np.sign(det) == sign and not np.allclose(D, np.triu(D)):
                return D

    def mixed(X):
        return np.stack([_log_dpsi(X[:, 0]), refs.log_normal(X[:, 1])], axis=1)

    slope, bend = -float(rng.uniform(1.2, 1.8)), float(rng.uniform(0.3, 0.9))
    one_d = (lambda Y: slope * Y + bend * np.tanh(Y) + 0.3,
             lambda Y: (slope + bend / np.cosh(Y) ** 2)[:, :, None],
             lambda Y: np.log(np.abs(slope + bend / np.cosh(Y[:, 0]) ** 2)))
    maps = [(7, 2, _bent(invertible(2, -1.0), rng.normal(size=2), float(rng.uniform(0.3, 0.8))), _log_dpsi),
            (9, 1, one_d, refs.log_normal),
            (5, 3, _affine(invertible(3, 1.0), rng.normal(size=3)), _log_laplace),
            (6, 2, _coupling(float(rng.uniform(0.5, 1.5)), rng.normal(0.0, 0.5, size=2)), mixed),
            (1, 3, _bent(invertible(3, -1.0), rng.normal(size=3), float(rng.uniform(0.3, 0.8))), refs.log_normal)]
    cases = []
    for N, K, (d, jac, logdet), log_prior in maps:
        Y = rng.normal(0.0, 1.5, size=(N, K))
        cases.append((Y, d, jac, log_prior, logdet(Y)))
    return cases


def _density_slips(Y, d, jac, log_prior, logdet) -> dict:
    """Named wrong derivations on one problem."""
    prior = np.sum(log_prior(d(Y)), axis=1)
    diag = np.sum(np.log(np.abs(np.diagonal(jac(Y), axis1=1, axis2=2))), axis=1)
    return {"you left out the log-determinant of the Jacobian: without it the model density is not normalized":
                prior,
            "you subtracted the log-determinant: that is the change of variables in the other direction, "
            "from x to y": prior - logdet,
            "you evaluated the prior at y itself; the latent variables are d(y)":
                np.sum(log_prior(Y), axis=1) + logdet,
            "you summed the logarithms of the Jacobian's diagonal entries, which give its determinant only when "
            "it is triangular": prior + diag}


def log_density_function(fn):
    """Exercise 4, ``ex-9-0-1-log-density``: your function ``fn(Y, d, jac_d, log_prior)`` returning the model's
    log-density (N,) at every row of ``Y``. Slips named: the log-determinant left out or subtracted, the prior at the
    data, the Jacobian's diagonal, a signed determinant, densities."""
    def judge(out, where, Y, d, jac, log_prior, logdet):
        ref = np.sum(log_prior(d(Y)), axis=1) + logdet
        arr = None
        if out is not None:
            try:
                arr = np.asarray(out, dtype=float)
            except (TypeError, ValueError):
                arr = None
        if (arr is not None and arr.shape == ref.shape and np.any(np.isnan(arr))
                and np.any(np.linalg.det(jac(Y)) < 0)):
            return [f"your output on {where} holds NaN, and the Jacobian determinant is negative at some of its "
                    "points: your function takes the logarithm of a negative determinant there."]
        return checker.compare_array(out, ref, f"the output on {where}", rtol=1e-8, atol=1e-10,
                                     hints=_density_slips(Y, d, jac, log_prior, logdet))

    cases = [(f"test problem {i + 1} (N = {Y.shape[0]}, K = {Y.shape[1]})", (Y, d, jac, log_prior), logdet)
             for i, (Y, d, jac, log_prior, logdet) in enumerate(_density_cases())]
    with np.errstate(invalid="ignore", divide="ignore"):
        return checker.check_function("log-density of a model with an invertible map (Eq. 9.3)", fn, cases, judge,
                                      name="my_log_density", signature="(Y, d, jac_d, log_prior)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-9-0-1-log-density": {"same_data": checker.FUNCTION_ANSWER},
}
