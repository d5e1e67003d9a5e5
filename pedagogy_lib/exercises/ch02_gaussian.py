r"""Checkers for the exercises of notebook 2.1.2 (jointly Gaussian models and factor analysis).

Use in the notebook as::

    from pedagogy_lib.exercises import ch02_gaussian as check
    check.scalar_posterior(my_mean, my_var)

Problem data are the module constants below; reference answers are computed from them when a
checker runs.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..factor import model as fa
from ..gaussian import blocks as g
from . import checker

__all__ = ["ScalarProblem", "EX_SCALAR", "EX_GAIN", "EX_FA_PAIRS", "EX_SIZES", "SizeProblem",
           "flop_count", "scalar_posterior", "kalman_gain", "same_marginal", "cheaper_form"]


class ScalarProblem(NamedTuple):
    """A K = L = 1 instance of Eq. 2.11 (variances, not standard deviations)."""

    mu_x: float
    sigma2_x: float
    C: float
    c: float
    sigma2_y_x: float
    y: float


def _draw_scalar(rng):
    """A problem of the same kind as the book's EX_SCALAR, for one student: a slope C of at least 1.5 and an
    offset c of at least 0.2 in size (so that no slip the checker names gives the right answer), and an
    observation y drawn from the model."""
    mu_x = round(float(rng.uniform(-2.0, 2.0)), 1) + 0.0
    sigma2_x = round(float(rng.uniform(1.0, 5.0)), 1)
    C = round(float(rng.uniform(1.5, 3.0)), 1)
    c = round(float(rng.uniform(0.2, 1.2) * rng.choice([-1.0, 1.0])), 1)
    sigma2_y_x = round(float(rng.uniform(0.5, 3.0)), 1)
    y = round(C * mu_x + c + float(rng.uniform(-1.5, 1.5)) * float(np.sqrt(C**2 * sigma2_x + sigma2_y_x)), 1) + 0.0
    return ScalarProblem(mu_x=mu_x, sigma2_x=sigma2_x, C=C, c=c, sigma2_y_x=sigma2_y_x, y=y)


#: Exercise 1: prior N(-1, 4), emission N(2 x + 0.5, 2), observation y = 6.5.
EX_SCALAR = checker.book_or_drawn(ScalarProblem(mu_x=-1.0, sigma2_x=4.0, C=2.0, c=0.5, sigma2_y_x=2.0, y=6.5),
                                  _draw_scalar, seed=2121)


def _draw_gain(rng):
    """A model of the same kind as the book's EX_GAIN, for one student: K = 2, L = 3, positive-definite
    covariances (smallest eigenvalue at least 0.3) and a loading matrix C of full column rank."""
    while True:
        F = rng.normal(size=(2, 2))
        Sigma_x = np.round(F @ F.T / 2 + 0.5 * np.eye(2), 1) + 0.0
        C = np.round(rng.normal(0.0, 1.0, size=(3, 2)), 1) + 0.0
        B = rng.normal(0.0, 0.3, size=(3, 3))
        Sigma_y_x = np.round(B @ B.T + np.diag(rng.uniform(0.4, 1.5, size=3)), 1) + 0.0
        if (np.linalg.eigvalsh(Sigma_x).min() > 0.3 and np.linalg.eigvalsh(Sigma_y_x).min() > 0.3
                and np.linalg.cond(C) < 10):
            break
    return g.LinearGaussian(mu_x=np.round(rng.normal(0.0, 1.0, size=2), 1) + 0.0, Sigma_x=Sigma_x, C=C,
                            c=np.round(rng.normal(0.0, 0.7, size=3), 1) + 0.0, Sigma_y_x=Sigma_y_x)


#: Exercise 2: a model with K = 2 sources and L = 3 emissions (Eq. 2.11).
EX_GAIN = checker.book_or_drawn(g.LinearGaussian(
    mu_x=np.array([0.5, -1.0]),
    Sigma_x=np.array([[2.0, 0.6], [0.6, 1.0]]),
    C=np.array([[1.0, 0.0], [0.5, 2.0], [-1.0, 1.0]]),
    c=np.array([0.0, 1.0, -0.5]),
    Sigma_y_x=np.array([[0.5, 0.1, 0.0], [0.1, 0.8, 0.2], [0.0, 0.2, 1.5]]),
), _draw_gain, seed=2122)

_C_FA = np.array([[0.9, 0.1], [0.8, 0.3], [0.7, 0.2], [0.1, 0.9], [0.2, 0.8], [0.3, 0.7]])
_LAM_FA = np.array([0.3, 0.35, 0.5, 0.3, 0.4, 0.45])
_th = np.deg2rad(35.0)
_ROT = np.array([[np.cos(_th), -np.sin(_th)], [np.sin(_th), np.cos(_th)]])
_SHEAR = np.array([[1.0, 0.6], [0.0, 1.0]])                       # det = 1 but not orthogonal

#: Exercise 3: two pairs of factor-analysis parameter sets, ``{"A": (p, q), "B": (p, q)}``.
EX_FA_PAIRS = {
    "A": (fa.FAParams(_C_FA, np.zeros(6), _LAM_FA),
          fa.FAParams(_C_FA @ _ROT @ np.diag([1.0, -1.0]), np.zeros(6), _LAM_FA)),
    "B": (fa.FAParams(_C_FA, np.zeros(6), _LAM_FA),
          fa.FAParams(_C_FA @ _SHEAR, np.zeros(6), _LAM_FA)),
}


class SizeProblem(NamedTuple):
    """Dimensions of one inference problem: K sources, L emissions, whether Sigma_y_x is diagonal."""

    K: int
    L: int
    diagonal: bool


#: Exercise 4: for each problem, which form of the posterior is cheaper?
EX_SIZES = (SizeProblem(K=3, L=1000, diagonal=True),
            SizeProblem(K=1000, L=3, diagonal=False),
            SizeProblem(K=60, L=50, diagonal=True))

FORMS = ("information", "covariance")


def _flop_count(K: int, L: int, form: str, diagonal: bool) -> float:
    """Leading-order multiply-add count of one posterior (covariance and gain) in one form."""
    if form == "information":
        return L * K**2 + K**3 / 3 + (0.0 if diagonal else L**3 / 3 + L**2 * K)
    if form == "covariance":
        return L * K**2 + 2 * L**2 * K + L**3 / 3
    raise ValueError(f"form must be one of {{'information', 'covariance'}}; got {form!r}.")


_CHEAPER_FORM_ACCEPTED = []


def flop_count(K: int, L: int, form: str, diagonal: bool) -> float:
    """Leading-order multiply-add count of one posterior (covariance and gain) in one form.

    ``K`` sources, ``L`` emissions, ``form`` is ``"information"`` (Eqs. 2.13-2.14) or
    ``"covariance"`` (Eqs. 2.25-2.27), ``diagonal`` says whether Sigma_y|x is diagonal. It is the
    count :func:`cheaper_form` compares, and it answers only after :func:`cheaper_form` has accepted
    your list: then it shows by how much one form wins.
    """
    if not _CHEAPER_FORM_ACCEPTED:
        raise RuntimeError("flop_count answers once check.cheaper_form has accepted your answers; "
                           "count the operations from the cost table first.")
    return _flop_count(K, L, form, diagonal)


# ----------------------------------------------------------------------------------------------
# Checkers
# ----------------------------------------------------------------------------------------------

def scalar_posterior(mean, var):
    """Exercise 1, ``ex-2-1-2-scalar-posterior``: your posterior mean and variance for :data:`EX_SCALAR`.

    Pass two numbers (a variance, not a standard deviation or a precision); three significant
    figures are enough. The checker recognizes a forgotten offset c, an ignored prior, a precision
    given for the variance, and other common slips in combining the prior with the emission.
    """
    p = EX_SCALAR
    denom = p.C**2 * p.sigma2_x + p.sigma2_y_x
    mean_ref = (p.sigma2_y_x * p.mu_x + p.C * p.sigma2_x * (p.y - p.c)) / denom
    var_ref = p.sigma2_x * p.sigma2_y_x / denom
    mean_hints = {
        "you forgot to subtract the offset c from y":
            (p.sigma2_y_x * p.mu_x + p.C * p.sigma2_x * p.y) / denom,
        "you ignored the prior and inverted the emission, (y - c) / C":
            (p.y - p.c) / p.C,
        "you averaged mu_x and (y - c) / C with weights 1/sigma2_x and 1/sigma2_y_x, forgetting that "
        "the emission precision in source space is C^2 / sigma2_y_x":
            (p.mu_x / p.sigma2_x + (p.y - p.c) / p.C / p.sigma2_y_x) / (1 / p.sigma2_x + 1 / p.sigma2_y_x),
    }
    var_hints = {
        "you added the variances instead of the precisions": p.sigma2_x + p.sigma2_y_x / p.C**2,
        "you left out the C^2 in the posterior precision": 1 / (1 / p.sigma2_x + 1 / p.sigma2_y_x),
        "you returned the posterior precision, not the variance": 1 / var_ref,
    }
    # a hand computation: three significant figures are enough
    problems = checker.compare_scalar(mean, mean_ref, "the posterior mean", rtol=checker.HAND_RTOL, hints=mean_hints)
    problems += checker.compare_scalar(var, var_ref, "the posterior variance", rtol=checker.HAND_RTOL, hints=var_hints)
    return checker.result("1-D posterior mean and variance", problems)


def kalman_gain(K_answer):
    """Exercise 2, ``ex-2-1-2-gain``: your gain K (Eqs. 2.15 and 2.25) of the model :data:`EX_GAIN`.

    Pass a (2, 3) array: one row per source, one column per emission. The checker recognizes the
    slips the statement lists and the noiseless-limit gain.
    """
    mu_x, Sigma_x, C, c, Sigma_y_x = EX_GAIN
    ref = g.bayes_invert(*EX_GAIN, c, form="information").gain
    Sigma_y = C @ Sigma_x @ C.T + Sigma_y_x
    hints = {
        "you used Sigma_y itself where its inverse belongs": Sigma_x @ C.T @ Sigma_y,
        "you used the emission covariance Sigma_y|x in place of the marginal covariance Sigma_y in "
        "Eq. 2.25 (equivalently, the prior Sigma_x in place of the posterior Sigma_x|y in Eq. 2.15)":
            Sigma_x @ C.T @ np.linalg.inv(Sigma_y_x),
        "you left out Sigma_x (K = C^T Sigma_y^{-1})": C.T @ np.linalg.inv(Sigma_y),
        "you used the Moore-Penrose pseudo-inverse of C, or left the emission noise Sigma_y|x out "
        "of Sigma_y (the two agree here): that is the gain only in the noiseless limit "
        "Sigma_y|x -> 0": np.linalg.pinv(C),
    }
    problems = checker.compare_array(K_answer, ref, "your gain K", hints=hints)
    return checker.result("gain K (Eqs. 2.15, 2.25)", problems)


def same_marginal(answer_A, answer_B):
    """Exercise 3, ``ex-2-1-2-same-marginal``: does each pair in :data:`EX_FA_PAIRS` define the same
    marginal (Eq. 2.21)? Pass two booleans, for pair "A" and pair "B"."""
    problems, wrong = [], False
    for key, ans in (("A", answer_A), ("B", answer_B)):
        p, q = EX_FA_PAIRS[key]
        a, b = fa.fa_marginal(p), fa.fa_marginal(q)
        truth = bool(np.allclose(a.mu, b.mu) and np.allclose(a.Sigma, b.Sigma))
        value, typed = checker.as_bool(ans, f"your answer for pair {key}")
        problems += typed
        wrong = wrong or (not typed and value != truth)
    if wrong and not problems:      # all or nothing: which pair is wrong would give it away
        problems.append("not both answers are right. For each pair, find the 2 x 2 matrix R with "
                        "C_second = C_first R and ask what C C^T does to it (Eq. 2.21).")
    return checker.result("same marginal? (Eq. 2.21)", problems)


def cheaper_form(answers):
    """Exercise 4, ``ex-2-1-2-cheaper-form``: a list with "information" or "covariance" for each
    problem in :data:`EX_SIZES`, in order."""
    if answers is None:
        return checker.result("cheaper form", ["your answer is None: give a list of strings, one per problem."])
    if isinstance(answers, str) or not hasattr(answers, "__len__"):
        return checker.result("cheaper form", [f"give a list of {len(EX_SIZES)} strings; got {type(answers).__name__}."])
    if len(answers) != len(EX_SIZES):
        return checker.result("cheaper form", [f"give one answer per problem: expected {len(EX_SIZES)}, got {len(answers)}."])
    problems, wrong = [], False
    for i, (ans, prob) in enumerate(zip(answers, EX_SIZES)):
        ans = ans.strip().lower() if isinstance(ans, str) else ans
        if ans not in FORMS:
            problems.append(f"problem {i + 1}: answer with 'information' or 'covariance'; got {ans!r}.")
            continue
        cost = {f: _flop_count(prob.K, prob.L, f, prob.diagonal) for f in FORMS}
        wrong = wrong or ans != min(cost, key=cost.get)
    if wrong and not problems:      # all or nothing: which problem is wrong would give it away
        problems.append("not all three answers are right. For each problem, write down the size of the "
                        "matrix each form factorizes (and what a diagonal Sigma_y|x saves) and compare "
                        "the leading terms.")
    if not problems:
        _CHEAPER_FORM_ACCEPTED.append(True)
    return checker.result("cheaper form (Section 2.1.2, the cost of inference)", problems)

#: For the graded (nbgrader) version: the functions each statement rules out, unavailable while the
#: student's code is graded (courseware/grading.py; a name without a dot is a function the page defines).
SUMMATIVE = {
    "ex-2-1-2-scalar-posterior": {"forbidden": ["pedagogy_lib.assimilation.adf.assumed_density_filter",
                                                "pedagogy_lib.assimilation.adf.grid_filter",
                                                "covariance_form",
                                                "information_form_full",
                                                "information_form",
                                                "pedagogy_lib.gaussian.blocks.bayes_invert",
                                                "pedagogy_lib.gaussian.blocks.condition",
                                                "pedagogy_lib.lgssm.kalman.kalman_filter",
                                                "pedagogy_lib.lgssm.kalman.kalman_smoother",
                                                "pedagogy_lib.factor.model.fa_posterior",
                                                "pedagogy_lib.learning.regression.bayesian_linear_regression",
                                                "pedagogy_lib.gaussian.blocks.joint",
                                                "pedagogy_lib.assimilation.nonlinear_filters.ekf",
                                                "pedagogy_lib.assimilation.nonlinear_filters.ukf"]},
    "ex-2-1-2-gain": {"forbidden": ["pedagogy_lib.learning.regression.bayesian_linear_regression",
                                    "covariance_form",
                                    "information_form_full",
                                    "information_form",
                                    "pedagogy_lib.gaussian.blocks.bayes_invert",
                                    "pedagogy_lib.gaussian.blocks.condition",
                                    "pedagogy_lib.lgssm.kalman.kalman_filter",
                                    "pedagogy_lib.lgssm.kalman.kalman_smoother",
                                    "pedagogy_lib.factor.model.fa_posterior",
                                    "pedagogy_lib.gaussian.blocks.joint",
                                    "pedagogy_lib.gaussian.blocks.marginalize"]},
    "ex-2-1-2-same-marginal": {"forbidden": ["pedagogy_lib.gaussian.blocks.marginalize", "pedagogy_lib.factor.model.fa_marginal",
                                             "pedagogy_lib.factor.model.fa_log_likelihood",
                                             "pedagogy_lib.gaussian.blocks.joint"],
                               "same_data": "the answer is a choice, True or False for each pair: the pairs are "
                                            "specific examples the solution discusses"},
    "ex-2-1-2-cheaper-form": {"forbidden": ["ops_information", "ops_information_full", "ops_covariance", "counts"],
                              "same_data": "the answer is a choice between two labels for each problem, and the "
                                           "solution discusses these three sizes (K = 3, L = 1000; K = 1000, "
                                           "L = 3; K = 60, L = 50)"},
}
