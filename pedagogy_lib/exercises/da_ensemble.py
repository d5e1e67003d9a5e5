r"""Checkers for the exercises of the notebook "Ensemble Kalman filters on Lorenz-96" (data assimilation, 3)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .checker import FUNCTION_ANSWER, book_or_drawn, compare_array, result, problem_rng, check_function

__all__ = ["AnalysisProblem", "CyclingProblem", "EX_ANALYSIS", "TAPER", "EX_CYCLING", "etkf_update", "taper_matrix",
           "cycling_etkf"]


class AnalysisProblem(NamedTuple):
    """A forecast ensemble ``E`` (N, n), the members' predicted observations ``HE`` (N, m), row i h(E[i]), an
    observation ``y`` (m,) and its noise covariance ``R`` (m, m)."""

    E: np.ndarray
    HE: np.ndarray
    y: np.ndarray
    R: np.ndarray


def _make(seed, N, n, m, curvature):
    """An analysis problem with h(x) = z + curvature z^2 elementwise, z = C x."""
    rng = problem_rng(seed)
    E = rng.standard_normal((N, n)) @ rng.standard_normal((n, n)) + rng.standard_normal(n)
    R = np.diag(rng.uniform(0.3, 1.0, m))
    y, C = rng.standard_normal(m), rng.standard_normal((m, n))
    Z = E @ C.T
    return AnalysisProblem(E, Z + curvature * Z ** 2, y, R)


#: Exercise 1: three analysis problems: a linear observation operator, then two nonlinear ones.
EX_ANALYSIS = (_make(31, 8, 3, 2, 0.0), _make(32, 6, 4, 4, 0.15), _make(33, 10, 3, 1, 0.3))


def _draw_taper(rng) -> dict:
    """A grid of 8 to 16 points and a length scale in [1.2, min(3, n/4)], so the ring's wrap-around matters."""
    n = int(rng.integers(8, 17))
    return {"n": n, "radius": float(np.round(rng.uniform(1.2, min(3.0, n / 4)), 1))}


#: Exercise 2: a periodic grid of ``n`` points and the Gaspari-Cohn length scale ``radius``.
TAPER = book_or_drawn({"n": 8, "radius": 1.5}, _draw_taper, seed=3302)

class CyclingProblem(NamedTuple):
    """A cycling twin on Lorenz-96 (``n`` sites, forcing 8, every site observed with noise covariance ``R``): the
    first forecast ensemble ``E0`` (N, n), the observations ``Y`` (T, n) and the inflation factor of the anomalies."""

    E0: np.ndarray
    Y: np.ndarray
    R: np.ndarray
    inflation: float


def _make_cycling(seed, n, N, T):
    """A truth on the attractor, correlated noise, a scattered ensemble, an inflation factor."""
    from ..assimilation.lorenz import lorenz96
    from ..assimilation.model import DAModel, simulate
    rng = problem_rng(seed)
    A = rng.standard_normal((n, n))
    R = np.diag(rng.uniform(0.3, 1.0, n)) + 0.2 * A @ A.T / n
    model = DAModel(lorenz96(n), 8.0 * np.ones(n), np.eye(n), np.zeros((n, n)), np.eye(n), np.zeros(n), R)
    x, Y = simulate(model, T, rng=rng, spin_up=200)
    E0 = x[0] + rng.standard_normal((N, n))
    return CyclingProblem(E0, Y, R, float(np.round(rng.uniform(1.04, 1.25), 2)))


#: Exercise 3: the cycling problems your ``my_etkf`` is run on: fewer members than sites, then more.
EX_CYCLING = (_make_cycling(34, 10, 6, 25), _make_cycling(35, 8, 12, 25))


def etkf_update(fn) -> "result":
    """Exercise 1, ``ex-da-3-etkf``: your function ``fn(E, HE, y, R)`` returning the ETKF analysis ensemble (N, n),
    run on :data:`EX_ANALYSIS` and judged by its mean and sample covariance. Slips named: untransformed anomalies, the
    other normalization."""
    from .references import da_ensemble as refs
    def judge(Ea, where, E, HE, y, R, p):
        mean, cov, N = refs.kalman_moments(p)
        Ea = np.asarray(Ea, dtype=float) if Ea is not None else None
        if Ea is None or Ea.shape != E.shape:
            return [f"your update should return an ensemble of shape {E.shape}; got "
                    f"{None if Ea is None else Ea.shape} (on {where})."]
        problems = compare_array(Ea.mean(axis=0), mean, "the mean of your analysis ensemble", rtol=1e-8, atol=1e-10)
        if problems:
            return [p_ + f" ({where})" for p_ in problems]
        got_cov = np.cov(Ea.T, ddof=1)
        if np.abs(got_cov - cov).max() <= 1e-8 * (1 + np.abs(cov).max()):
            return []
        if np.abs(got_cov - np.cov(E.T, ddof=1)).max() < 1e-10:
            why = "it is still the forecast covariance: the anomalies were not transformed"
        elif np.abs(got_cov * (N - 1) / N - cov).max() < 1e-8 * (1 + np.abs(cov).max()):
            why = "it is off by the factor (N - 1) / N: re-check how the anomalies are normalized"
        else:
            why = "it is not the Kalman analysis covariance: re-check the transform you apply to the anomalies"
        return [f"the covariance of your analysis ensemble is wrong: {why} ({where})."]

    cases = [(f"problem {k + 1}", (p.E, p.HE, p.y, p.R), p) for k, p in enumerate(EX_ANALYSIS)]
    return check_function("ETKF analysis", fn, cases, judge, name="my_update", signature="(E, HE, y, R)")


def taper_matrix(answer) -> "result":
    """Exercise 2, ``ex-da-3-taper``: your (n, n) localization matrix on the periodic grid of :data:`TAPER`. Slips
    named: distances along a line, the length scale not applied or applied the wrong way."""
    from ..assimilation.model import gaspari_cohn
    n, radius = TAPER["n"], TAPER["radius"]
    i = np.arange(n)
    d_line = np.abs(i[:, None] - i[None, :])
    d = np.minimum(d_line, n - d_line)
    hints = {"the distance is measured along a line, not around the ring (periodic)":
                 gaspari_cohn(d_line / radius),
             "the distance was not divided by the length scale": gaspari_cohn(d.astype(float)),
             "the distance was multiplied by the length scale": gaspari_cohn(d * radius)}
    return result("localization taper", compare_array(answer, gaspari_cohn(d / radius), "your taper", rtol=1e-9,
                                                      atol=1e-12, hints=hints))


def _close_ens(a, b) -> bool:
    return bool(np.all(np.abs(a - b) <= 1e-6 * (1 + np.abs(b))))


def cycling_etkf(fn) -> "result":
    """Exercise 3, ``ex-da-3-inflation``: your function ``fn(E0, Y, R, inflation)`` returning the cycling ETKF's
    analysis ensembles (T, N, n), run on :data:`EX_CYCLING` (relative tolerance 1e-6). Slips named: a forecast before
    the first analysis, inflation missing or misapplied, R not used as given, a transform with the right moments but
    not Step 1's; otherwise the first cycle that differs."""
    from .references import da_ensemble as refs
    def judge(got, where, E0, Y, R, inflation, p):
        ref = refs.etkf_reference(p)
        got = None if got is None else np.asarray(got, dtype=float)
        if got is None or got.shape != ref.shape:
            return [f"your filter should return the analysis ensembles, shape (T, N, n) = {ref.shape}; "
                    f"got {None if got is None else got.shape} (on {where})."]
        if not np.all(np.isfinite(got)):
            return [f"your analysis ensembles contain infinite or NaN values (on {where})."]
        if _close_ens(got, ref):
            return []
        slips = {"the first analysis was made on a forecast: E0 is already the forecast ensemble of the first "
                 "cycle": dict(forecast_first=True),
                 "the forecast anomalies were not multiplied by the inflation factor": dict(inflation=1.0),
                 "the inflation factor was applied more than once to the anomalies": dict(inflation=inflation ** 2),
                 "the inflation factor multiplied the members, not their anomalies about the mean":
                     dict(members=True),
                 "the observation noise covariance R was not used as given": dict(R=np.eye(E0.shape[1])),
                 "only the diagonal of the observation noise covariance R was used": dict(R=np.diag(np.diag(R)))}
        for why, kw in slips.items():
            infl = kw.pop("inflation", inflation)
            try:
                with np.errstate(all="ignore"):
                    slip = refs.cycling_etkf_variant(p, infl, **kw)
            except (ValueError, np.linalg.LinAlgError):    # a slip that makes the ensemble blow up
                continue
            if _close_ens(got, slip):
                return [f"your analysis ensembles are wrong: {why} ({where})."]
        t0 = next(t for t in range(len(Y)) if not _close_ens(got[t], ref[t]))
        if t0 > 0:
            return [f"your analysis ensembles agree with the checker's up to cycle {t0 - 1} (counting from 0) and "
                    f"differ from cycle {t0} on: re-check the forecast between cycles and what each cycle starts "
                    f"from ({where})."]
        mean_ok = _close_ens(got[0].mean(axis=0), ref[0].mean(axis=0))
        cov_ok = _close_ens(np.cov(got[0].T, ddof=1), np.cov(ref[0].T, ddof=1))
        if mean_ok and cov_ok:
            why = ("its mean and covariance are right, but its members are not Step 1's: re-check which square "
                   "root of the transform you apply to the anomalies")
        elif mean_ok:
            why = "its mean is right, its covariance is not: re-check the transform of the anomalies"
        else:
            why = "its mean is wrong: re-check the inflation and the weights of the mean update"
        return [f"your first analysis ensemble is wrong: {why} ({where})."]

    cases = [(f"problem {k + 1}", (p.E0, p.Y, p.R, p.inflation), p) for k, p in enumerate(EX_CYCLING)]
    return check_function("cycling ETKF with inflation", fn, cases, judge, name="my_etkf",
                          signature="(E0, Y, R, inflation)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-da-3-etkf": {"same_data": FUNCTION_ANSWER},
    "ex-da-3-inflation": {"same_data": FUNCTION_ANSWER},
}
