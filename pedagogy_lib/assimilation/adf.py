r"""The assumed-density filter for a scalar state: Gaussian beliefs, moments matched exactly.

The 4DVar notes list three ways of keeping the filter Gaussian when the model is not linear: a
Taylor expansion (the EKF), sigma points (the UKF) and *moment matching*, the assumed-density
filter (ADF). The first two approximate the model; the ADF approximates only the belief. At each
half-step it computes the exact result of the step from a Gaussian belief (the push-forward through
the transition, or the posterior after Bayes' rule, Eqs. 2.45-2.46 with the model's own densities)
and keeps the Gaussian with the same mean and variance. That Gaussian is the one closest to the
exact result in :math:`D_{\mathrm{KL}}\{p\,\|\,q\}` over Gaussians :math:`q`.

The model here has one state and one observation per step,

.. math::
    \hat x_{t+1} = f(\hat x_t, t) + \text{noise of variance } \Sigma_{\hat x}, \qquad
    y_t = h(\hat x_t) + \text{noise of variance } \Sigma_{\hat y|\hat x},

with any ``f`` and ``h``, and :func:`grid_filter` gives the exact filter on a fixed grid for
comparison. The expectations are integrals against a Gaussian, done by quadrature on an evenly
spaced grid of ``n_nodes`` points across eight standard deviations each side of the mean (for a
smooth integrand this converges much faster than the grid spacing suggests). A tensor grid in
``n`` dimensions would cost ``n_nodes**n`` evaluations, which is why this module stays scalar.

A grid laid over the forecast cannot see a likelihood much narrower than its spacing (an accurate
observation), nor one far out in the forecast's tail. So the measurement update checks its own grid:
the posterior's normalizer, mean and variance on the grid must agree with those on every other node
(the quadrature has converged), and the end nodes must carry no mass (the grid holds the posterior).
When either fails it lays a new grid over the nodes that carry the posterior's mass, one spacing
beyond them on each side (or further out, when mass sits at an end), and tries again; the result is
then as exact as on a grid laid over the posterior itself. When no grid can resolve it (a
likelihood narrower than double precision resolves around the state, or one with several peaks
too narrow and far apart for ``n_nodes`` points) a ``RuntimeWarning`` names the step.
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, as_scalar, check_callable, check_int, positive_scalar

__all__ = ["ADFResult", "GridFilterResult", "gaussian_moments", "assumed_density_filter", "grid_filter"]

#: Half-width of the quadrature grid, in standard deviations of the Gaussian integrated against.
HALF_WIDTH = 8.0
#: The measurement update's grid resolves the posterior when its normalizer, mean and variance agree to
#: this relative tolerance (the mean in standard deviations) with those on every other node. The error
#: of the full grid is then far smaller: on a smooth integrand it falls exponentially with the spacing.
RESOLVE_RTOL = 1e-6
#: ... and when the two end nodes carry at most this share of the posterior's mass (none lies beyond).
EDGE_MASS = 1e-12
#: Nodes whose posterior weight is below this share of the largest are left out when a new grid is
#: laid over the posterior's mass.
MASS_FLOOR = 1e-16
#: At most this many grids per measurement update.
MAX_GRIDS = 40
#: Smallest node spacing, in units of the spacing of double precision numbers around the nodes: the
#: nodes must differ by many units in the last place for the quadrature's offsets to be accurate.
MIN_SPACING_ULPS = 2.0 ** 20
EPS = float(np.finfo(float).eps)


class ADFResult(NamedTuple):
    r"""Output of :func:`assumed_density_filter`; row ``t`` is the book's ``t + 1``.

    Attributes
    ----------
    mu_pred, Upsilon_pred : ndarray, shape (T,)
        Mean and variance of the Gaussian forecast :math:`p(x_t\mid y_{1:t-1})` (row 0: the prior).
    mu_filt, Upsilon_filt : ndarray, shape (T,)
        Mean and variance of the Gaussian filter belief :math:`p(x_t\mid y_{1:t})`.
    log_p_y : ndarray, shape (T,)
        :math:`\log p(y_t\mid y_{1:t-1})` under the Gaussian forecast (the normalizer of the update).
    """

    mu_pred: np.ndarray
    Upsilon_pred: np.ndarray
    mu_filt: np.ndarray
    Upsilon_filt: np.ndarray
    log_p_y: np.ndarray


class GridFilterResult(NamedTuple):
    r"""Output of :func:`grid_filter`: the exact filter on a fixed grid.

    Attributes
    ----------
    grid : ndarray, shape (G,)
        The evenly spaced states.
    density : ndarray, shape (T, G)
        The filter density :math:`p(x_t\mid y_{1:t})` at the grid points (it integrates to one).
    mu_filt, Upsilon_filt : ndarray, shape (T,)
        Its mean and variance.
    log_p_y : ndarray, shape (T,)
        :math:`\log p(y_t\mid y_{1:t-1})`.
    """

    grid: np.ndarray
    density: np.ndarray
    mu_filt: np.ndarray
    Upsilon_filt: np.ndarray
    log_p_y: np.ndarray


def _nodes(mu: float, var: float, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes and weights for expectations under N(mu, var); the weights sum to one."""
    sd = np.sqrt(var)
    xi = np.linspace(-HALF_WIDTH, HALF_WIDTH, n_nodes)
    w = np.exp(-0.5 * xi ** 2)
    return mu + sd * xi, w / w.sum()


def _spacing_floor(lo: float, hi: float) -> float:
    """The smallest node spacing whose nodes between ``lo`` and ``hi`` are accurate offsets in float64."""
    return MIN_SPACING_ULPS * float(np.spacing(max(abs(lo), abs(hi))))


def _resolvable(mu: float, var: float, n_nodes: int) -> bool:
    """Whether the grid of :func:`_nodes` has spacing above :func:`_spacing_floor` (its nodes are distinct)."""
    half = HALF_WIDTH * float(np.sqrt(var))
    return 2.0 * half / (n_nodes - 1) >= _spacing_floor(mu - half, mu + half)


def _log_normal(y, mean, var):
    return -0.5 * (np.log(2 * np.pi * var) + (y - mean) ** 2 / var)


def _moments(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Mean and variance of the points ``x`` with weights ``w`` (summing to one)."""
    with np.errstate(over="ignore", invalid="ignore"):     # checked just below
        m = float(w @ x)
        v = float(w @ (x - m) ** 2)
    if not (np.isfinite(m) and np.isfinite(v)):
        raise ValueError(f"the model function's values on the quadrature grid of mu and Upsilon reach "
                         f"{float(np.max(np.abs(x))):.3g}, and their mean and variance overflow double precision; "
                         "rescale mu, Upsilon or the function.")
    return m, v


def _values(out, name: str, size: int) -> np.ndarray:
    """The output of a model function on ``size`` points: finite, and one value per point."""
    out = np.asarray(out, dtype=float)
    if out.shape != (size,):
        raise ValueError(f"{name} must return one value per point, shape ({size},); got shape {out.shape}.")
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} returned values that are not finite on the quadrature grid.")
    return out


def gaussian_moments(fn, mu, Upsilon, *, n_nodes: int = 201) -> tuple[float, float]:
    r"""Mean and variance of :math:`f(X)` for :math:`X\sim\mathcal N(\mu, \Upsilon)`, by quadrature.

    This is the ADF's time update without the model noise: the moments of the push-forward of the
    Gaussian belief through ``fn``.

    Parameters
    ----------
    fn : callable
        ``fn(x)`` maps an array of states, shape (G,), to an array of the same shape.
    mu, Upsilon : float
        Mean and variance (positive) of the Gaussian.
    n_nodes : int
        Number of quadrature points (at least 3).

    Returns
    -------
    (float, float)
        :math:`\mathbb E[f(X)]` and :math:`\operatorname{Var}[f(X)]`.
    """
    fn = check_callable(fn, "fn", "of an array of states")
    mu = as_scalar(mu, "mu")
    Upsilon = positive_scalar(Upsilon, "Upsilon")
    n_nodes = check_int(n_nodes, "n_nodes", minimum=3)
    x, w = _nodes(mu, Upsilon, n_nodes)
    out = _moments(_values(fn(x), "fn", n_nodes), w)
    if not _resolvable(mu, Upsilon, n_nodes):
        floor = (_spacing_floor(mu, mu) * (n_nodes - 1) / (2.0 * HALF_WIDTH)) ** 2
        raise ValueError(f"Upsilon = {Upsilon:.3g} is too small for mu = {mu:.6g}: the quadrature nodes mu +- "
                         f"{HALF_WIDTH:g} sqrt(Upsilon) are not distinct enough in double precision to integrate "
                         f"against (their spacing is below {MIN_SPACING_ULPS:.0f} units in the last place of mu). "
                         f"Upsilon must be at least about {floor:.3g} here (with n_nodes = {n_nodes}); for a "
                         "narrower Gaussian the push-forward is f(mu), with variance f'(mu)^2 Upsilon to first order.")
    return out


def _check_model(f, h, Sigma_x, Sigma_y_x, y, mu1, Sigma1):
    f = check_callable(f, "f", "f(x, t) of an array of states and the step t")
    h = check_callable(h, "h", "h(x) of an array of states")
    y = as_array(y, "y", ndim=1, nonempty=True)
    return (f, h, positive_scalar(Sigma_x, "Sigma_x"), positive_scalar(Sigma_y_x, "Sigma_y_x"), y,
            as_scalar(mu1, "mu1"), positive_scalar(Sigma1, "Sigma1"))


def assumed_density_filter(f, h, Sigma_x, Sigma_y_x, y, mu1, Sigma1, *, n_nodes: int = 401) -> ADFResult:
    r"""The assumed-density filter: a Gaussian belief whose moments are matched exactly at each half-step.

    Time update (from step ``t - 1`` to ``t``, Eq. 2.46 with the exact push-forward):

    .. math::
        \bar x_{t|t-1} = \mathbb E[f(X, t-1)], \qquad \Upsilon_{t|t-1} = \operatorname{Var}[f(X, t-1)] + \Sigma_{\hat x},
        \qquad X\sim\mathcal N(\bar x_{t-1|t-1}, \Upsilon_{t-1|t-1}).

    Measurement update (Bayes' rule, Eq. 2.45, with the exact likelihood): the mean and variance of
    :math:`\mathcal N(x;\bar x_{t|t-1},\Upsilon_{t|t-1})\,\mathcal N(y_t; h(x), \Sigma_{\hat y|\hat x})`,
    normalized; its normalizer is :math:`p(y_t\mid y_{1:t-1})` under the Gaussian forecast.

    Unlike the EKF and the UKF, the update is not a Kalman update: no gain, no linearization of ``h``.
    On a linear-Gaussian model every step is exact and the ADF is the Kalman filter, however narrow the
    likelihood is against the forecast: the update lays its grid over the posterior when the forecast's
    grid cannot resolve it (module docstring).

    Parameters
    ----------
    f : callable
        ``f(x, t)``: the transition's mean at states ``x`` (array, shape (G,)) from step ``t`` (0-based).
    h : callable
        ``h(x)``: the observation's mean at states ``x`` (array, shape (G,)).
    Sigma_x, Sigma_y_x : float
        Transition and observation noise variances (positive).
    y : array_like, shape (T,)
        Observations.
    mu1, Sigma1 : float
        Mean and variance of the prior over the first state.
    n_nodes : int
        Quadrature points per expectation (at least 3).

    Returns
    -------
    ADFResult

    Raises
    ------
    TypeError
        If ``f`` or ``h`` is not callable.
    ValueError
        For a non-positive variance, an empty or non-finite ``y``, a model function that returns
        the wrong shape or non-finite values, or an observation so unlikely under the forecast that
        its likelihood underflows at every quadrature point (the message names the step).

    Warns
    -----
    RuntimeWarning
        When no quadrature grid resolves a step's posterior (module docstring): a likelihood narrower
        than double precision resolves around the state (``Sigma_y_x`` below about ``1e-18`` times the
        state's square for ``h(x) = x``), an observation so far from the forecast that rounding hides
        the likelihood's slope, or several narrow peaks too far apart for ``n_nodes`` points. The
        message names the step; the moments returned are the last grid's.
    """
    f, h, Sigma_x, Sigma_y_x, y, mu1, Sigma1 = _check_model(f, h, Sigma_x, Sigma_y_x, y, mu1, Sigma1)
    n_nodes = check_int(n_nodes, "n_nodes", minimum=3)
    T = y.shape[0]
    mu_pred, U_pred, mu_filt, U_filt, log_p_y = (np.empty(T) for _ in range(5))
    m, v = mu1, Sigma1
    for t in range(T):
        if t > 0:                                            # time update: moments of the push-forward
            if not _resolvable(mu_filt[t - 1], U_filt[t - 1], n_nodes):
                warnings.warn(f"assumed_density_filter: step t = {t}: the filter belief of step {t - 1} (variance "
                              f"{U_filt[t - 1]:.3g}) is narrower than double precision resolves around its mean "
                              f"{mu_filt[t - 1]:.6g}; the time update treats it as a point mass (Var f(X) is lost).",
                              RuntimeWarning, stacklevel=2)
            x, w = _nodes(mu_filt[t - 1], U_filt[t - 1], n_nodes)
            m, v = _moments(_values(f(x, t - 1), "f", n_nodes), w)
            v += Sigma_x
        mu_pred[t], U_pred[t] = m, v
        mu_filt[t], U_filt[t], log_p_y[t] = _measurement_update(h, y[t], Sigma_y_x, m, v, n_nodes, t)
    return ADFResult(mu_pred, U_pred, mu_filt, U_filt, log_p_y)


def _measurement_update(h, y_t: float, Sigma_y_x: float, m: float, v: float, n_nodes: int,
                        t: int) -> tuple[float, float, float]:
    """Mean, variance and log normalizer of N(x; m, v) N(y_t; h(x), Sigma_y_x), on a grid that resolves it.

    The first grid is the forecast's (:func:`_nodes`). While :func:`_grid_problem` finds it too coarse
    for the posterior, or finds mass at its ends, a new grid of as many nodes is laid over the nodes
    that carry the posterior's mass (one old spacing beyond them on each side, or half the old width
    beyond an end that carries mass), with the forecast density evaluated on it. A ``RuntimeWarning``
    says when no grid resolves the posterior; the last grid's moments are returned.
    """
    x, w = _nodes(m, v, n_nodes)
    log_lik = _log_normal(y_t, _values(h(x), "h", n_nodes), Sigma_y_x)
    top = log_lik.max()
    r = w * np.exp(log_lik - top)
    if not r.sum() > 0:
        raise ValueError(f"step t = {t}: y[{t}] has no likelihood at any quadrature point of the forecast; "
                         "raise n_nodes, or check Sigma_y_x, mu1 and Sigma1.")
    log_norm = top + np.log(r.sum())
    size = np.abs(log_lik) + 0.5 * ((x - m) / np.sqrt(v)) ** 2      # the log density's terms, for their rounding
    why = None
    for _ in range(MAX_GRIDS):
        mean, var = _moments(x, r / r.sum())
        problem = _grid_problem(x, r)
        if problem is None:
            rounding = EPS * float(size[r > MASS_FLOOR * r.max()].max())
            if rounding <= RESOLVE_RTOL:
                return mean, var, log_norm
            why = (f"y[{t}] lies so far from the forecast (log densities of size {rounding / EPS:.3g} on the grid) "
                   "that rounding hides how the likelihood varies across it")
            break
        dx, width = x[1] - x[0], x[-1] - x[0]
        keep = np.flatnonzero(r > MASS_FLOOR * r.max())
        i0, i1 = int(keep[0]), int(keep[-1])
        lo, hi = x[i0] - dx, x[i1] + dx
        if problem == "edge":                                # mass at an end: reach further out on that side
            lo = x[0] - 0.5 * width if r[0] > 0.5 * EDGE_MASS * r.sum() else lo
            hi = x[-1] + 0.5 * width if r[-1] > 0.5 * EDGE_MASS * r.sum() else hi
        elif i1 - i0 + 2 >= n_nodes - 1:                     # the mass spans the grid: no finer grid holds it
            why = (f"its mass spans the whole grid yet the grid is too coarse for it (a likelihood with several "
                   f"narrow peaks?); raise n_nodes (now {n_nodes})")
            break
        if (hi - lo) / (n_nodes - 1) < _spacing_floor(lo, hi):
            why = (f"the likelihood is narrower than double precision resolves around x = {mean:.6g} (the nodes "
                   f"would be closer than {MIN_SPACING_ULPS:.0f} units in the last place); Sigma_y_x = "
                   f"{Sigma_y_x:.3g} is too small for states of this size")
            break
        x = np.linspace(lo, hi, n_nodes)
        log_prior = _log_normal(x, m, v)
        log_lik = _log_normal(y_t, _values(h(x), "h", n_nodes), Sigma_y_x)
        log_joint = log_prior + log_lik
        top = log_joint.max()
        r = np.exp(log_joint - top)
        log_norm = top + np.log(r.sum() * ((hi - lo) / (n_nodes - 1)))   # the spacing exactly, not x[1] - x[0]
        size = np.abs(log_prior) + np.abs(log_lik)
    else:
        why = f"{MAX_GRIDS} grids did not settle; raise n_nodes (now {n_nodes})"
    warnings.warn(f"assumed_density_filter: step t = {t}: no quadrature grid resolves the posterior of y[{t}]: {why}. "
                  "Its mean, variance and log p(y) may be inaccurate.", RuntimeWarning, stacklevel=3)
    return mean, var, log_norm


def _grid_problem(x: np.ndarray, r: np.ndarray) -> str | None:
    """``None`` if the posterior weights ``r`` on the even grid ``x`` are resolved, else ``"edge"`` (mass at
    an end node: the posterior reaches beyond the grid) or ``"coarse"`` (the normalizer, mean or variance
    differ between all nodes and every other node by more than ``RESOLVE_RTOL``)."""
    total = r.sum()
    if r[0] + r[-1] > EDGE_MASS * total:
        return "edge"
    half = r[::2]
    if not half.sum() > 0 or abs(2.0 * half.sum() - total) > RESOLVE_RTOL * total:
        return "coarse"
    m1, v1 = float(r @ x) / total, float(r @ (x - float(r @ x) / total) ** 2) / total
    m2 = float(half @ x[::2]) / half.sum()
    v2 = float(half @ (x[::2] - m2) ** 2) / half.sum()
    if not v1 > 0 or abs(m2 - m1) > RESOLVE_RTOL * np.sqrt(v1) or abs(v2 - v1) > RESOLVE_RTOL * v1:
        return "coarse"
    return None


def grid_filter(f, h, Sigma_x, Sigma_y_x, y, mu1, Sigma1, *, lo, hi, n_grid: int = 801) -> GridFilterResult:
    r"""The exact filter of the same model, its densities held on a fixed grid (a point-mass filter).

    The time update integrates the transition density against the previous filter density (a matrix
    of :math:`\mathcal N(x'; f(x, t), \Sigma_{\hat x})` over grid pairs); the measurement update
    multiplies by the likelihood and normalizes. Exact up to the grid's resolution, and to mass
    outside ``[lo, hi]``, which is lost.

    Parameters
    ----------
    f, h, Sigma_x, Sigma_y_x, y, mu1, Sigma1
        As in :func:`assumed_density_filter`.
    lo, hi : float
        The grid's ends (``lo < hi``); they must hold nearly all the filter's mass at every step.
    n_grid : int
        Number of grid points (at least 3).

    Returns
    -------
    GridFilterResult
    """
    f, h, Sigma_x, Sigma_y_x, y, mu1, Sigma1 = _check_model(f, h, Sigma_x, Sigma_y_x, y, mu1, Sigma1)
    lo, hi = as_scalar(lo, "lo"), as_scalar(hi, "hi")
    if not lo < hi:
        raise ValueError(f"the grid needs lo < hi; got lo = {lo}, hi = {hi}.")
    n_grid = check_int(n_grid, "n_grid", minimum=3)
    T = y.shape[0]
    grid = np.linspace(lo, hi, n_grid)
    dx = grid[1] - grid[0]
    density = np.empty((T, n_grid))
    mu_filt, U_filt, log_p_y = np.empty(T), np.empty(T), np.empty(T)
    p = np.exp(_log_normal(grid, mu1, Sigma1))
    lik_h = _values(h(grid), "h", n_grid)
    for t in range(T):
        if t > 0:                                            # p(x'| y_1:t-1) = sum_x N(x'; f(x), Sigma_x) p(x) dx
            fx = _values(f(grid, t - 1), "f", n_grid)
            p = np.exp(_log_normal(grid[:, None], fx[None, :], Sigma_x)) @ (density[t - 1] * dx)
        joint = p * np.exp(_log_normal(y[t], lik_h, Sigma_y_x))
        Z = joint.sum() * dx
        if not Z > 0:
            raise ValueError(f"step t = {t}: the filter density vanished on the grid from lo = {lo} to hi = {hi} "
                             f"(its mass lies outside); widen the grid, or check mu1, Sigma1 and y[{t}].")
        log_p_y[t] = np.log(Z)
        density[t] = joint / Z
        mu_filt[t], U_filt[t] = _moments(grid, density[t] * dx)
    return GridFilterResult(grid, density, mu_filt, U_filt, log_p_y)
