r"""Checkers for the exercises of notebook 2.1.2 (jointly Gaussian models and factor analysis)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..factor import model as fa
from . import checker

__all__ = ["ScalarProblem", "GainProblem", "EX_SCALAR", "EX_GAIN", "EX_FA_PAIRS", "EX_SIZES", "SizeProblem",
           "flop_count", "scalar_posterior", "kalman_gain", "same_marginal", "cheaper_form", "posterior_function"]


class ScalarProblem(NamedTuple):
    """A K = L = 1 instance of Eq. 2.11 with an unknown noise variance: the prior N(mu_x, sigma2_x), the emission's
    slope ``C`` and offset ``c``, the observation ``y`` and the posterior mean ``mean_post`` it produced."""

    mu_x: float
    sigma2_x: float
    C: float
    c: float
    y: float
    mean_post: float


def _draw_scalar(rng):
    """A problem like EX_SCALAR whose rounded mean implies the noise variance within 2%."""
    from .references import ch02_gaussian as refs
    while True:
        mu_x = round(float(rng.uniform(-2.0, 2.0)), 1) + 0.0
        sigma2_x = round(float(rng.uniform(1.0, 5.0)), 1)
        C = round(float(rng.uniform(1.5, 3.0)), 1)
        c = round(float(rng.uniform(0.2, 1.2) * rng.choice([-1.0, 1.0])), 1)
        s = round(float(rng.uniform(0.5, 3.0)), 1)
        spread = float(np.sqrt(C**2 * sigma2_x + s))
        y = round(C * mu_x + c + float(rng.uniform(1.0, 2.0) * rng.choice([-1.0, 1.0])) * spread, 1) + 0.0
        m = round((s * mu_x + C * sigma2_x * (y - c)) / (C**2 * sigma2_x + s), 3) + 0.0
        prob = ScalarProblem(mu_x=mu_x, sigma2_x=sigma2_x, C=C, c=c, y=y, mean_post=m)
        s_ref, v_ref = refs.scalar_from_mean(prob)
        if abs(s_ref / s - 1) > 0.02:
            continue
        noise, post = refs.scalar_slips(prob)
        if all(abs(v - s_ref) > 0.05 * s_ref for v in noise.values()) and \
                all(abs(v - v_ref) > 0.05 * v_ref for v in post.values()):
            return prob


#: Exercise 1: prior N(-1, 4), emission 2 x + 0.5 plus noise, y = 6.5, and its posterior mean 2.2.
EX_SCALAR = checker.book_or_drawn(ScalarProblem(mu_x=-1.0, sigma2_x=4.0, C=2.0, c=0.5, y=6.5, mean_post=2.2),
                                  _draw_scalar, seed=2121)


class GainProblem(NamedTuple):
    """Y = C X + c + Z with X ~ N(mu_x, Sigma_x), Z ~ N(0, Sigma_y_x) and Cov[X, Z] = ``Sigma_xz``."""

    mu_x: np.ndarray
    Sigma_x: np.ndarray
    C: np.ndarray
    c: np.ndarray
    Sigma_y_x: np.ndarray
    Sigma_xz: np.ndarray


def _gain_slips(p: GainProblem) -> dict:
    """Gains that named wrong derivations give."""
    Sx, C, Syx, Sxz = p.Sigma_x, p.C, p.Sigma_y_x, p.Sigma_xz
    cross = Sx @ C.T + Sxz
    Sy = C @ Sx @ C.T + C @ Sxz + Sxz.T @ C.T + Syx
    Sy_indep = C @ Sx @ C.T + Syx
    return {
        "you used Eq. 2.25 as if the noise were independent of the source": Sx @ C.T @ np.linalg.inv(Sy_indep),
        "your cross-covariance Cov[X, Y] leaves out Cov[X, Z]": Sx @ C.T @ np.linalg.inv(Sy),
        "your Cov[Y] leaves out the cross terms between C X and Z": cross @ np.linalg.inv(Sy_indep),
        "your Cov[Y] has one of the two cross terms between C X and Z twice and the other not at all":
            cross @ np.linalg.inv(C @ Sx @ C.T + 2 * C @ Sxz + Syx),
        "you used Cov[Y] itself where its inverse belongs": cross @ Sy,
        "you left out Sigma_x": C.T @ np.linalg.inv(Sy),
    }


def _draw_gain(rng):
    """A model like EX_GAIN with a sizable cross block, every named slip clearly off."""
    from .references import ch02_gaussian as refs
    while True:
        F = rng.normal(size=(5, 5))
        J = np.round(F @ F.T / 5 + 0.5 * np.eye(5), 1) + 0.0
        C = np.round(rng.normal(0.0, 1.0, size=(3, 2)), 1) + 0.0
        prob = GainProblem(mu_x=np.round(rng.normal(0.0, 1.0, size=2), 1) + 0.0, Sigma_x=J[:2, :2], C=C,
                           c=np.round(rng.normal(0.0, 0.7, size=3), 1) + 0.0, Sigma_y_x=J[2:, 2:],
                           Sigma_xz=J[:2, 2:])
        if np.linalg.eigvalsh(J).min() < 0.2 or np.abs(J[:2, 2:]).max() < 0.3 or np.linalg.cond(C) > 10:
            continue
        ref = refs.gain_reference(prob)
        if all(np.abs(v - ref).max() > 0.05 for v in _gain_slips(prob).values()):
            return prob


#: Exercise 2: a model with K = 2 sources and L = 3 emissions whose noise is correlated with the source.
EX_GAIN = checker.book_or_drawn(GainProblem(
    mu_x=np.array([0.5, -1.0]), Sigma_x=np.array([[2.0, 0.6], [0.6, 1.0]]),
    C=np.array([[1.0, 0.0], [0.5, 2.0], [-1.0, 1.0]]), c=np.array([0.0, 1.0, -0.5]),
    Sigma_y_x=np.array([[0.5, 0.1, 0.0], [0.1, 0.8, 0.2], [0.0, 0.2, 1.5]]),
    Sigma_xz=np.array([[0.4, -0.3, 0.2], [0.0, 0.3, 0.5]]),
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
    """Leading-order operation count of one posterior (covariance and gain) in one form, as :func:`flop_count`
    describes it: products in multiply-adds, a Cholesky factorization of size M charged M^3/3."""
    if form == "information":
        return L * K**2 + K**3 / 3 + (0.0 if diagonal else L**3 / 3 + L**2 * K)
    if form == "covariance":
        return L * K**2 + 2 * L**2 * K + L**3 / 3
    raise ValueError(f"form must be one of {{'information', 'covariance'}}; got {form!r}.")


_CHEAPER_FORM_ACCEPTED = []


def flop_count(K: int, L: int, form: str, diagonal: bool) -> float:
    """Leading-order operation count of one posterior in one ``form`` (``"information"``, Eqs. 2.13-2.14, or
    ``"covariance"``, Eqs. 2.25-2.27), for ``K`` sources, ``L`` emissions and a ``diagonal`` Sigma_y|x or not. It
    answers only after :func:`cheaper_form` has accepted your list.

    The count is coarser than the page's cost table. A matrix product or a pair of triangular solves counts its
    multiply-adds (the terms L K^2 and L^2 K), but a Cholesky factorization of an M x M matrix is charged M^3/3, the usual flop count with multiplications and additions counted apart (the table's M^3/6
    counts a multiply-add once), and the K^3 that writes out Sigma_x|y is left out."""
    if not _CHEAPER_FORM_ACCEPTED:
        raise RuntimeError("flop_count answers once check.cheaper_form has accepted your answers; "
                           "count the operations from the cost table first.")
    return _flop_count(K, L, form, diagonal)


def scalar_posterior(noise_var, var):
    """Exercise 1, ``ex-2-1-2-scalar-posterior``: for :data:`EX_SCALAR`, your noise variance sigma2_y|x and posterior
    variance, to three significant figures. Slips named: mu_x as the prediction of y, the slope left out of the gain,
    a standard deviation or marginal variance; the prior variance, a precision, precisions combined without C^2."""
    from .references import ch02_gaussian as refs
    s_ref, v_ref = refs.scalar_from_mean(EX_SCALAR)
    noise_hints, var_hints = refs.scalar_slips(EX_SCALAR)
    problems = checker.compare_scalar(noise_var, s_ref, "the noise variance", rtol=checker.HAND_RTOL,
                                      hints=noise_hints)
    problems += checker.compare_scalar(var, v_ref, "the posterior variance", rtol=checker.HAND_RTOL, hints=var_hints)
    return checker.result("1-D posterior: the noise variance from the posterior mean", problems)


def kalman_gain(K_answer):
    """Exercise 2, ``ex-2-1-2-gain``: for :data:`EX_GAIN`, your gain K (2, 3) of the posterior mean mu_x + K (y -
    E[Y]). Slips named: Eq. 2.25 as if the noise were independent, a cross-covariance or Cov[Y] without the
    correlation or with a cross term twice, Cov[Y] for its inverse, Sigma_x left out."""
    from .references import ch02_gaussian as refs
    problems = checker.compare_array(K_answer, refs.gain_reference(EX_GAIN), "your K", hints=_gain_slips(EX_GAIN))
    return checker.result("posterior mean's gain with correlated noise", problems)


def same_marginal(answer_A, answer_B):
    """Exercise 3, ``ex-2-1-2-same-marginal``: two bools, whether pair "A" and pair "B" of :data:`EX_FA_PAIRS` define
    the same marginal (Eq. 2.21)."""
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
    """Exercise 4, ``ex-2-1-2-cheaper-form``: "information" or "covariance" for each problem of :data:`EX_SIZES`, in
    order."""
    if answers is None:
        return checker.result("cheaper form", ["your answer is None: give a list of strings, one per problem."])
    if isinstance(answers, str) or not hasattr(answers, "__len__"):
        return checker.result("cheaper form", [f"give a list of {len(EX_SIZES)} strings; got "
                                               f"{type(answers).__name__}."])
    if len(answers) != len(EX_SIZES):
        return checker.result("cheaper form", [f"give one answer per problem: expected {len(EX_SIZES)}, got "
                                               f"{len(answers)}."])
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


def posterior_function(fn):
    """Exercise ``ex-2-1-2-posterior-function``: your function ``fn(mu_x, Sigma_x, C, c, Sigma_y_x, y)`` returning
    ``(mu_post, Sigma_post, log_evidence)``, shapes (K,), (K, K) and a number, run on hidden problems. Slips named:
    the offset or the prior mean left out, Sigma_y|x for its inverse, the precision returned, Eq. 2.27's sign; c or
    C Sigma_x C^T left out of the marginal, or its constant."""
    from .references import ch02_gaussian as refs
    def judge(out, where, mu_x, Sigma_x, C, c, Sigma_y_x, y, ref):
        problems = checker.tuple_problems(out, 3, "the triple (mu_post, Sigma_post, log_evidence)", where)
        if problems:
            return problems
        mean, cov, log_ev = refs.posterior_slips(mu_x, Sigma_x, C, c, Sigma_y_x, y)
        return (checker.compare_array(out[0], ref[0], f"mu_post on {where}", rtol=1e-7, atol=1e-9, hints=mean)
                + checker.compare_array(out[1], ref[1], f"Sigma_post on {where}", rtol=1e-7, atol=1e-9, hints=cov)
                + checker.compare_scalar(out[2], ref[2], f"log_evidence on {where}", rtol=1e-7, atol=1e-9,
                                         hints=log_ev))

    return checker.check_function("posterior and evidence of the jointly Gaussian model (Eqs. 2.13-2.18)", fn,
                                  refs.posterior_cases(), judge, name="my_posterior",
                                  signature="(mu_x, Sigma_x, C, c, Sigma_y_x, y)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-2-1-2-posterior-function": {"same_data": checker.FUNCTION_ANSWER},
    "ex-2-1-2-same-marginal": {"same_data": "the answer is True or False per pair, pairs the solution discusses"},
    "ex-2-1-2-cheaper-form": {"same_data": "the answer is a label per problem, sizes the solution discusses"},
}
