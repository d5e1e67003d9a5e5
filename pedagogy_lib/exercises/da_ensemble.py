r"""Checkers for the exercises of the notebook "Ensemble Kalman filters on Lorenz-96" (data assimilation, 3).

Use in the notebook as::

    from pedagogy_lib.exercises import da_ensemble as check
    check.etkf_update(my_update)

The ETKF check needs no reference ensemble: it checks the mean and the sample covariance of your
analysis ensemble. The taper check uses the library's Gaspari-Cohn function, as the statement
does; the inflation exercise runs the library's ETKF on the fixed twin experiment that
:data:`INFLATION_EXPERIMENT` describes (the student runs it too, with a cycling ETKF of their own, since
the library's is not allowed there: the checker does not hand out the RMSEs).
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .checker import as_integer, book_or_drawn, compare_array, result, problem_rng

__all__ = ["AnalysisProblem", "EX_ANALYSIS", "TAPER", "INFLATIONS", "INFLATION_EXPERIMENT", "etkf_update",
           "taper_matrix", "best_inflation"]


class AnalysisProblem(NamedTuple):
    """A forecast ensemble ``E`` (N, n), the members' predicted observations ``HE`` (N, m), row i being
    h(E[i]) for an observation operator h, an observation ``y`` (m,) and noise covariance ``R`` (m, m)."""

    E: np.ndarray
    HE: np.ndarray
    y: np.ndarray
    R: np.ndarray


def _make(seed, N, n, m, curvature):
    """An analysis problem whose observation operator is h(x) = z + curvature z^2 (elementwise), z = C x."""
    rng = problem_rng(seed)
    E = rng.standard_normal((N, n)) @ rng.standard_normal((n, n)) + rng.standard_normal(n)
    R = np.diag(rng.uniform(0.3, 1.0, m))
    y, C = rng.standard_normal(m), rng.standard_normal((m, n))
    Z = E @ C.T
    return AnalysisProblem(E, Z + curvature * Z ** 2, y, R)


#: Exercise 1: three analysis problems: a linear observation operator, then two nonlinear ones.
EX_ANALYSIS = (_make(31, 8, 3, 2, 0.0), _make(32, 6, 4, 4, 0.15), _make(33, 10, 3, 1, 0.3))


def _draw_taper(rng) -> dict:
    """A grid of 8 to 16 points and a length scale (one decimal) between 1.2 and a quarter of the grid, so
    that the taper reaches zero between the farthest sites and the ring's wrap-around matters."""
    n = int(rng.integers(8, 17))
    return {"n": n, "radius": float(np.round(rng.uniform(1.2, min(3.0, n / 4)), 1))}


#: Exercise 2: a periodic grid of ``n`` points and the Gaspari-Cohn length scale ``radius``.
TAPER = book_or_drawn({"n": 8, "radius": 1.5}, _draw_taper, seed=3302)

#: Exercise 3: the inflation factors to compare (ETKF, N = 20, Lorenz-96 with 40 variables). The page's own
#: factors (1.02 for the global ETKF, 1.03 for the local one) are left out, so the answer is not read off the
#: page (nor at the index 1.02 had before), and a factor below one (deflation) is among them; the best RMSE
#: leads the second best by about 20%, far beyond the checker's 5% tolerance.
INFLATIONS = (0.95, 1.0, 1.05, 1.1, 1.2)

#: Exercise 3: the twin experiment on which the inflation factors are compared.
INFLATION_EXPERIMENT = (
    "Lorenz-96 with n = 40 variables and forcing 8 (da.lorenz96(40)), no model error, every variable observed "
    "with unit noise variance (da.DAModel(da.lorenz96(40), 8.0 * np.ones(40), np.eye(40), np.zeros((40, 40)), "
    "np.eye(40), np.zeros(40), np.eye(40))); truth and observations from da.simulate(model, 700, "
    "rng=np.random.default_rng(5), spin_up=500); the filter's prior mean is the first true state plus unit "
    "Gaussian noise from np.random.default_rng(6); the ETKF has 20 members, no localization, and starts from the "
    "prior mean plus np.random.default_rng(7).standard_normal((20, 40)); each cycle forecasts the members with "
    "da.propagate (none before the first analysis), multiplies the forecast anomalies by the inflation factor "
    "and makes Step 1's analysis. Score: the analysis RMSE against the truth (of the ensemble mean), averaged "
    "over the cycles from 100 on.")


def _kalman_moments(p: AnalysisProblem):
    """The Kalman update with the ensemble's sample covariances (the state's, the cross covariance with
    the predicted observations, and theirs): the mean and covariance every square-root filter returns."""
    N = p.E.shape[0]
    m0, h0 = p.E.mean(axis=0), p.HE.mean(axis=0)
    P = np.cov(p.E.T, ddof=1)
    Pxy = (p.E - m0).T @ (p.HE - h0) / (N - 1)
    Pyy = np.atleast_2d(np.cov(p.HE.T, ddof=1)) + p.R
    K = np.linalg.solve(Pyy, Pxy.T).T
    return m0 + K @ (p.y - h0), P - K @ Pxy.T, N


def etkf_update(fn) -> "result":
    """Exercise 1, ``ex-da-3-etkf``: your function ``fn(E, HE, y, R)`` returning the ETKF analysis ensemble.

    The inputs are as in :class:`AnalysisProblem`, members in rows; ``fn`` returns an array of the
    shape of ``E``, (N, n). It is run on the problems of :data:`EX_ANALYSIS`, and accepted when the
    mean and the sample covariance (normalized by N - 1) of the returned ensemble are right. The
    checker recognizes untransformed anomalies and the other normalization.
    """
    name = "ETKF analysis"
    if not callable(fn):
        return result(name, [f"your update should be a function; got {type(fn).__name__}."])
    for k, p in enumerate(EX_ANALYSIS):
        mean, cov, N = _kalman_moments(p)
        try:
            Ea = fn(p.E.copy(), p.HE.copy(), p.y.copy(), p.R.copy())
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            return result(name, [f"your update raised {type(exc).__name__}: {exc} (on problem {k + 1})."])
        Ea = np.asarray(Ea, dtype=float) if Ea is not None else None
        if Ea is None or Ea.shape != p.E.shape:
            got = None if Ea is None else Ea.shape
            return result(name, [f"your update should return an ensemble of shape {p.E.shape}; got {got} "
                                 f"(on problem {k + 1})."])
        problems = compare_array(Ea.mean(axis=0), mean, "the mean of your analysis ensemble", rtol=1e-8, atol=1e-10)
        if problems:
            return result(name, [p_ + f" (problem {k + 1})" for p_ in problems])
        got_cov = np.cov(Ea.T, ddof=1)
        if np.abs(got_cov - cov).max() > 1e-8 * (1 + np.abs(cov).max()):
            if np.abs(got_cov - np.cov(p.E.T, ddof=1)).max() < 1e-10:
                why = "it is still the forecast covariance: the anomalies were not transformed"
            elif np.abs(got_cov * (N - 1) / N - cov).max() < 1e-8 * (1 + np.abs(cov).max()):
                why = "it is off by the factor (N - 1) / N: re-check how the anomalies are normalized"
            else:
                why = ("it is not the Kalman analysis covariance: re-check the transform you apply to the "
                       "anomalies")
            return result(name, [f"the covariance of your analysis ensemble is wrong: {why} (problem {k + 1})."])
    return result(name, [])


def taper_matrix(answer) -> "result":
    """Exercise 2, ``ex-da-3-taper``: your (n, n) localization matrix on the periodic grid of :data:`TAPER`.

    The checker recognizes distances measured along a line instead of around the ring, and a
    length scale that was not applied or was applied the wrong way.
    """
    from ..assimilation.model import gaspari_cohn
    n, radius = TAPER["n"], TAPER["radius"]
    i = np.arange(n)
    d_line = np.abs(i[:, None] - i[None, :])
    d = np.minimum(d_line, n - d_line)
    hints = {"the distance is measured along a line, not around the ring (periodic)": gaspari_cohn(d_line / radius),
             "the distance was not divided by the length scale": gaspari_cohn(d.astype(float)),
             "the distance was multiplied by the length scale": gaspari_cohn(d * radius)}
    return result("localization taper", compare_array(answer, gaspari_cohn(d / radius), "your taper", rtol=1e-9,
                                                      atol=1e-12, hints=hints))


@lru_cache(maxsize=1)
def _inflation_rmse() -> tuple:
    """The twin experiment of :data:`INFLATION_EXPERIMENT`, run for each inflation factor of
    :data:`INFLATIONS`: a tuple with one time-averaged analysis RMSE per factor. Private: the exercise is
    to run it."""
    from .. import assimilation as da
    n = 40
    mod = da.DAModel(da.lorenz96(n), 8.0 * np.ones(n), np.eye(n), np.zeros((n, n)), np.eye(n), np.zeros(n), np.eye(n))
    x, y = da.simulate(mod, 700, rng=np.random.default_rng(5), spin_up=500)
    mod = mod._replace(mu1=x[0] + np.random.default_rng(6).standard_normal(n))
    out = []
    for infl in INFLATIONS:
        r = da.enkf(mod, y, n_members=20, rng=np.random.default_rng(7), inflation=infl, truth=x)
        out.append(float(r.rmse[100:].mean()))
    return tuple(out)


def best_inflation(index) -> "result":
    """Exercise 3, ``ex-da-3-inflation``: the index into :data:`INFLATIONS` of the inflation with the
    lowest time-averaged RMSE, an integer (an RMSE within 5% of the lowest is accepted)."""
    k, problems = as_integer(index, "your index")
    if problems:
        return result("best inflation", problems)
    if not 0 <= k < len(INFLATIONS):
        return result("best inflation", [f"your index should be between 0 and {len(INFLATIONS) - 1}; got {k}."])
    rmse = _inflation_rmse()
    if rmse[k] <= 1.05 * min(rmse):
        return result("best inflation", [])
    return result("best inflation", [f"index {k} is not the best choice: run the experiment of "
                                     "check.INFLATION_EXPERIMENT for every factor and compare the RMSEs."])

#: For the graded (nbgrader) version: the functions each statement rules out, unavailable while the
#: student's code is graded (courseware/grading.py; a name without a dot is a function the page defines).
SUMMATIVE = {
    "ex-da-3-etkf": {"forbidden": ["pedagogy_lib.assimilation.ensemble.etkf_analysis_numpy",
                                   "pedagogy_lib.assimilation.ensemble.letkf_analysis_numpy",
                                   "pedagogy_lib.assimilation.ensemble.enkf",
                                   "pedagogy_lib.assimilation.ensemble.enkf_run_numpy",
                                   "pedagogy_lib.gaussian.blocks.condition",
                                   "pedagogy_lib.gaussian.blocks.bayes_invert",
                                   "pedagogy_lib.assimilation.ensemble.exact_ensemble",
                                   "pedagogy_lib.assimilation.ensemble.po_analysis_numpy",
                                   "pedagogy_lib.lgssm.kalman.kalman_filter",
                                   "pedagogy_lib.factor.model.fa_posterior"],
                     "same_data": "the answer is a function, which the checker runs on the problems of EX_ANALYSIS "
                                  "(drawn for each student)"},
    "ex-da-3-taper": {"forbidden": ["pedagogy_lib.assimilation.model.periodic_taper"]},
    "ex-da-3-inflation": {"same_data": "the answer is an index among the five inflation factors of INFLATIONS, found "
                                       "from a long twin experiment with Lorenz-96",
                          # the statement offers running the experiment INFLATION_EXPERIMENT describes, with a
                          # cycling ETKF written by the student (the library's would be the page's call with new
                          # numbers)
                          "allow": ["pedagogy_lib.assimilation.DAModel", "pedagogy_lib.assimilation.lorenz96",
                                    "pedagogy_lib.assimilation.simulate"],
                          "forbidden": ["pedagogy_lib.assimilation.ensemble.enkf",
                                        "pedagogy_lib.assimilation.ensemble.enkf_run_numpy",
                                        "pedagogy_lib.assimilation.ensemble.etkf_analysis_numpy",
                                        "pedagogy_lib.assimilation.ensemble.letkf_analysis_numpy",
                                        "pedagogy_lib.assimilation.ensemble.po_analysis_numpy"]},
}
