r"""Expectation-maximization as coordinate descent on the free energy (book Chapter 6, Section 6.3).

The book derives EM (Section 6.3.1, Eqs. 6.5-6.6) as alternating minimization of the joint
relative entropy between the "hybrid" joint :math:`\check p(\mathbf x\mid\mathbf y)p(\mathbf y)`
and the model joint :math:`\hat p(\mathbf x,\mathbf y;\boldsymbol\theta)`. With the data
distribution replaced by the ``N`` samples at hand, the quantity that changes is, per datum, the
evidence lower bound (ELBo, Section 6.3.1)

.. math::
    \mathcal B(\boldsymbol\theta, \check p; \mathbf y)
      = \mathbb E_{\check{\mathbf X}\mid\mathbf y}\big[\log\hat p(\check{\mathbf X},\mathbf y;\boldsymbol\theta)
        - \log\check p(\check{\mathbf X}\mid\mathbf y)\big]
      = \log\hat p(\mathbf y;\boldsymbol\theta)
        - \mathrm D_{\mathrm{KL}}\{\check p(\check{\mathbf X}\mid\mathbf y)\,\|\,\hat p(\check{\mathbf X}\mid\mathbf y;\boldsymbol\theta)\},

the sample version of Eq. 6.6. The book's free energy (Eqs. 6.5, 6.9) is its negative, averaged
over the data: :math:`F = -\langle\mathcal B\rangle_{\mathbf Y}`. So

* the **E step** sets :math:`\check p` to the exact posterior (Chapter 7's "invertible" models),
  which makes the KL term zero and the bound tight, :math:`\mathcal B = \log\hat p(\mathbf y)`;
* the **M step** maximizes :math:`\sum_n\mathcal B` over :math:`\boldsymbol\theta` with
  :math:`\check p` held fixed, in closed form for every model in Chapter 7.

Hence the log likelihood never decreases, and after each M step the bound is sandwiched,

.. math::
    \ell(\boldsymbol\theta^{(i)}) \;\le\; \textstyle\sum_n\mathcal B(\boldsymbol\theta^{(i+1)},
    \check p^{(i+1)}; \mathbf y_n) \;\le\; \ell(\boldsymbol\theta^{(i+1)}).

This module holds the model-independent part: :func:`run_em` loops, records the log likelihood
and the ELBo at every iteration, checks monotonicity and warns when it stops before converging;
:func:`units_log_shift` gives the fits of continuous data a stopping rule free of the data's units;
:func:`best_of_restarts` reruns a fit from seeds spawned by one ``Generator``; and
:func:`gaussian_elbo` / :func:`discrete_elbo` evaluate the bound for any Gaussian or categorical
recognition distribution, so that its relation to the log likelihood can be checked directly.

A model plugs in as an :class:`EMModel` of plain functions (E step, M step, log likelihood,
optionally the ELBo and a random initializer); see :mod:`pedagogy_lib.factor.em` for
factor analysis, probabilistic PCA and iterative PCA. Sign convention: everything returned here
is in log-likelihood units (larger is better); ``EMResult.free_energy`` gives the book's sign.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, NamedTuple

import numpy as np

from ..core.checks import positive_scalar, ConvergenceWarning, as_array, as_scalar, check_int, check_prob_rows, check_rng, check_spd
from ..gaussian.blocks import check_model
from ..core.linalg import TAU, chol_logdet, chol_solve

__all__ = ["ConvergenceWarning", "CovarianceFloorWarning", "EmptyComponentWarning", "EMModel", "EMResult", "RestartsResult", "run_em", "best_of_restarts",
           "units_log_shift", "gaussian_elbo", "discrete_elbo"]


class CovarianceFloorWarning(UserWarning):
    """A covariance eigenvalue (or variance) fell below ``reg_covar`` and was raised to it.

    This is the sign of a component collapsing onto a few points or onto a lower-dimensional
    subspace, where the likelihood is unbounded (it grows as a determinant goes to zero). The
    floored update is no longer the exact M step, so the log likelihood may then dip slightly.
    """


#: A covariance floor ``reg_covar`` is "large against the data" when it is at least this fraction of the data's
#: smallest variance: it then binds on covariances that are not collapsing (issue 69).
FLOOR_DATA_RATIO = 1e-3


def floor_against_data(reg_covar: float, data_var: float, binds_on: str, example: str) -> str | None:
    """Why a covariance floor bound, when the reason is the data's units: the clause a
    :class:`CovarianceFloorWarning` of the mixture, HMM and LGSSM M steps gives when ``reg_covar`` (absolute,
    in the units of y squared) is at least :data:`FLOOR_DATA_RATIO` of the data's smallest variance
    ``data_var``; ``None`` otherwise, when the floor bound because a covariance is collapsing. ``binds_on``
    names what it binds on ("components that are"), ``example`` a scale for the advice ("1e-6")."""
    if not (data_var > 0.0 and reg_covar >= FLOOR_DATA_RATIO * data_var):
        return None
    return (f"because the floor is not small against the data: reg_covar is absolute, in the units of y squared, "
            f"and the data's own smallest variance is {data_var:.3g} (ratio {reg_covar / data_var:.3g}, at least "
            f"{FLOOR_DATA_RATIO:g}), so it binds on {binds_on} not collapsing. Rescale y or pass a reg_covar scaled "
            f"with the data (e.g. {example} * {data_var:.3g}). This M step is not exact EM.")


class EmptyComponentWarning(UserWarning):
    """A component received (numerically) zero total responsibility; its parameters were kept."""


class EMModel(NamedTuple):
    r"""The model-specific pieces of EM, as plain functions (Section 6.3.1, "EM Algorithm").

    Attributes
    ----------
    e_step : callable ``(params, data) -> q``
        The discriminative optimization: returns the recognition distribution (or its expected
        sufficient statistics), the exact posterior for the models of Chapter 7.
    m_step : callable ``(q, data, params) -> params``
        The generative optimization: the parameters maximizing the expected complete-data log
        likelihood under ``q``. The old ``params`` are passed for pieces that stay fixed.
    log_likelihood : callable ``(params, data) -> float``
        The objective :math:`\ell(\boldsymbol\theta) = \sum_n\log\hat p(\mathbf y_n;\boldsymbol\theta)`
        (or, for a limit such as iterative PCA, whatever the alternation provably increases).
    elbo : callable ``(params, q, data) -> float`` or None
        :math:`\sum_n\mathcal B(\boldsymbol\theta,\check p;\mathbf y_n)`; ``None`` when the bound is
        not finite (a point-mass ``q`` has entropy :math:`-\infty`).
    init : callable ``(rng, data) -> params`` or None
        Random initialization used when :func:`run_em` gets ``init_params=None``.
    name : str
        Used in messages.
    check : callable ``(params, data) -> (params, data)`` or None
        Validation at the boundary: :func:`run_em` calls it once, before the first E step, with the
        user's ``init_params`` (``None`` when the initializer will draw them) and ``data``, and runs on
        what it returns (clean arrays). It raises a ``ValueError`` or ``TypeError`` naming the field
        for parameters or data the model's functions cannot take. ``None`` (the default, for models
        built by hand) skips it; the library's models all provide one.
    """

    e_step: Callable[[Any, Any], Any]
    m_step: Callable[[Any, Any, Any], Any]
    log_likelihood: Callable[[Any, Any], float]
    elbo: Callable[[Any, Any, Any], float] | None = None
    init: Callable[[np.random.Generator, Any], Any] | None = None
    name: str = "EM"
    check: Callable[[Any, Any], tuple] | None = None


class EMResult(NamedTuple):
    r"""Outcome of :func:`run_em`.

    Attributes
    ----------
    params : NamedTuple
        The final parameters :math:`\boldsymbol\theta^{(n_{iter})}`.
    log_lik : ndarray, shape (n_iter + 1,)
        :math:`\ell(\boldsymbol\theta^{(i)})` for :math:`i = 0, \dots, n_{iter}` (entry 0 is the
        initialization). Non-decreasing up to rounding.
    elbo : ndarray, shape (n_iter,), or None
        Entry ``i`` is the bound after the ``(i+1)``-th M step,
        :math:`\sum_n\mathcal B(\boldsymbol\theta^{(i+1)},\check p^{(i+1)};\mathbf y_n)`, where
        :math:`\check p^{(i+1)}` is the posterior under :math:`\boldsymbol\theta^{(i)}`; it lies
        between ``log_lik[i]`` and ``log_lik[i + 1]``. ``None`` if the model has no ELBo.
    n_iter : int
        Number of E/M iterations performed.
    converged : bool
        Whether the last change in ``log_lik`` fell below the tolerance.
    path : tuple of params or None
        All iterates :math:`\boldsymbol\theta^{(0)},\dots,\boldsymbol\theta^{(n_{iter})}` when
        requested with ``return_path=True`` (for animations), else ``None``.
    """

    params: Any
    log_lik: np.ndarray
    elbo: np.ndarray | None
    n_iter: int
    converged: bool
    path: tuple | None = None

    @property
    def free_energy(self) -> np.ndarray | None:
        r"""The book's free energy after each M step (Eq. 6.9), summed over data: ``-elbo``."""
        return None if self.elbo is None else -self.elbo


class RestartsResult(NamedTuple):
    """Outcome of :func:`best_of_restarts`.

    Attributes
    ----------
    best : EMResult
        The fit with the largest final log likelihood.
    log_lik : ndarray, shape (n_restarts,)
        Final log likelihood of every restart, in the order of the spawned seeds.
    index : int
        Position of ``best`` in that order (``rng.spawn(n_restarts)[index]`` reproduces it).
    """

    best: EMResult
    log_lik: np.ndarray
    index: int


#: Machine epsilon, and how many of its multiples of the log likelihood's magnitude a computed change
#: may carry from rounding alone (the floor of the stopping rule in :func:`run_em`).
_EPS = float(np.finfo(float).eps)
_ROUNDING_ULPS = 64.0


def _finite_scalar(value, what: str, iteration: int) -> float:
    value = float(value)
    if not np.isfinite(value):
        raise FloatingPointError(f"{what} is {value} at iteration {iteration}; the parameters have degenerated "
                                 "(check the data for near-duplicate or constant columns, or the variance floors).")
    return value


def run_em(model: EMModel, init_params, data, *, max_iter: int = 500, tol: float = 1e-8,
           rng: np.random.Generator | None = None, monotone_rtol: float = 1e-9,
           return_path: bool = False, log_lik_shift: float = 0.0) -> EMResult:
    r"""Run EM to convergence: alternate exact E steps and closed-form M steps (Section 6.3.1).

    Each iteration computes :math:`\check p^{(i+1)} \leftarrow` ``model.e_step``
    :math:`(\boldsymbol\theta^{(i)})`, then :math:`\boldsymbol\theta^{(i+1)} \leftarrow`
    ``model.m_step`` :math:`(\check p^{(i+1)})`, and records
    :math:`\ell(\boldsymbol\theta^{(i+1)})` and the bound
    :math:`\sum_n\mathcal B(\boldsymbol\theta^{(i+1)}, \check p^{(i+1)})`. It stops when the
    relative change is small,

    .. math::
        \ell^{(i+1)} - \ell^{(i)} \le \max\big(\mathrm{tol}\cdot\max(1, |\ell^{(i)}|),\
        64\,\epsilon\max(1, |\ell^{(i)}|, |\ell^{(i+1)}|)\big)

    (:math:`\epsilon` the machine epsilon: the floor keeps the rule attainable when ``tol`` is below
    the rounding of the computed log likelihood, whatever the order of the floating-point operations).
    With ``log_lik_shift`` :math:`\Delta`, the :math:`|\ell^{(i)}|` of the tolerance term reads
    :math:`|\ell^{(i)}+\Delta|`.
    Any change at or below this, including a decrease, means the likelihood no longer increases:
    EM cannot decrease it, so that is convergence. Otherwise the run stops after ``max_iter``
    iterations with a :class:`ConvergenceWarning` reporting the count and the last change.

    Parameters
    ----------
    model : EMModel
    init_params : NamedTuple or None
        :math:`\boldsymbol\theta^{(0)}`. If ``None``, ``model.init(rng, data)`` draws it.
    data : object
        Passed unchanged to the model's functions (validated by the model's public wrapper).
    max_iter : int
        Maximum number of iterations (at least 1).
    tol : float
        Relative tolerance on the change in log likelihood. ``tol = 0`` runs exactly ``max_iter``
        iterations (for benchmarks and animations) and then does not warn.
    rng : numpy.random.Generator, optional
        Needed only when ``init_params`` is ``None``.
    monotone_rtol : float
        A decrease larger than ``monotone_rtol * max(1, |log_lik|)`` means the E or M step is
        wrong (EM cannot decrease the likelihood); it triggers a ``RuntimeWarning``.
    return_path : bool
        Keep every iterate in ``EMResult.path``.
    log_lik_shift : float
        A constant added to the log likelihood in the relative tolerance (and the decrease warning's
        threshold) only. A density's log likelihood shifts with the data's units, and a rule relative to
        :math:`|\ell|` then stops at different iterations for the same data in other units; a fit passes
        the shift to units where each observed dimension has unit spread (:func:`units_log_shift` of its
        rows of observations), and its iterations no longer depend on the units.

    Returns
    -------
    EMResult

    Raises
    ------
    TypeError, ValueError
        For a wrong ``model``, option, or (through ``model.check``) initial parameters or data the
        model cannot take; the message names the argument or field.
    FloatingPointError
        If the log likelihood or the ELBo becomes NaN or infinite.
    """
    if not isinstance(model, EMModel):
        raise TypeError(f"model must be an EMModel(e_step, m_step, log_likelihood, ...); got {type(model).__name__}.")
    if model.check is not None:
        init_params, data = model.check(init_params, data)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = positive_scalar(tol, "tol", strict=False)
    monotone_rtol = positive_scalar(monotone_rtol, "monotone_rtol")
    log_lik_shift = as_scalar(log_lik_shift, "log_lik_shift")
    if init_params is None:
        if model.init is None:
            raise ValueError(f"init_params is None and the model {model.name!r} has no random initializer; "
                             "pass init_params explicitly.")
        params = model.init(check_rng(rng), data)
    else:
        params = init_params

    log_lik = [_finite_scalar(model.log_likelihood(params, data), "the log likelihood", 0)]
    elbos: list[float] = []
    path = [params] if return_path else None
    converged = False
    n_iter = 0
    change = np.inf
    for i in range(1, max_iter + 1):
        q = model.e_step(params, data)                          # E: recognition <- posterior
        params = model.m_step(q, data, params)                  # M: closed-form maximizer
        if model.elbo is not None:
            elbos.append(_finite_scalar(model.elbo(params, q, data), "the ELBo", i))
        ll = _finite_scalar(model.log_likelihood(params, data), "the log likelihood", i)
        if path is not None:
            path.append(params)
        scale = max(1.0, abs(log_lik[-1] + log_lik_shift))
        change = ll - log_lik[-1]
        # the rounding level of the computed log likelihoods: a few ulps of the larger of the two
        floor = _ROUNDING_ULPS * _EPS * max(1.0, abs(log_lik[-1]), abs(ll))
        if change < -monotone_rtol * scale:
            warnings.warn(f"{model.name}: the log likelihood decreased at iteration {i} by {-change:.3g} "
                          f"(from {log_lik[-1]:.12g} to {ll:.12g}); EM cannot do this, so the E or M step "
                          "is not exact (or a variance floor became active).", RuntimeWarning, stacklevel=2)
        log_lik.append(ll)
        n_iter = i
        if tol > 0 and change <= max(tol * scale, floor):
            converged = True
            break
    if not converged and tol > 0:
        warnings.warn(f"{model.name} did not converge in {n_iter} iterations: the last change in log likelihood "
                      f"was {change:.3g} (relative {change / max(1.0, abs(log_lik[-2] + log_lik_shift)):.3g}), above "
                      f"tol = {tol:.3g}. Increase max_iter or loosen tol.", ConvergenceWarning, stacklevel=2)
    return EMResult(params, np.asarray(log_lik), np.asarray(elbos) if model.elbo is not None else None,
                    n_iter, converged, tuple(path) if path is not None else None)


def units_log_shift(y) -> float:
    r"""The shift :math:`N\sum_l\log s_l` that puts a log likelihood of ``y`` in unit-spread units.

    Measure column :math:`l` of ``y`` in units of its spread :math:`s_l` (the root mean square
    deviation from the column mean, the :math:`1/N` standard deviation). A density of the data
    picks up the Jacobian of that change of variables, so for any model whose parameters follow
    the units (means scaled by :math:`s_l`, covariances by :math:`s_ls_{l'}`)

    .. math::
        \ell(\mathbf y) + N\sum_l\log s_l = \ell(\mathbf S^{-1}\mathbf y),
        \qquad \mathbf S = \operatorname{diag}(s_1,\dots,s_L).

    The right side does not change when ``y`` or one of its columns is rescaled, while
    :math:`\ell(\mathbf y)` moves by :math:`-N\log a` per column multiplied by :math:`a`. A stopping
    rule relative to :math:`|\ell|` therefore stops at an iteration that depends on the units;
    :func:`run_em` with ``log_lik_shift=units_log_shift(y)`` reads the right side instead, and a fit of
    ``a * y`` from a start scaled alike stops at the same iteration as the fit of ``y``.

    Each column is first brought near 1 by a power of two (exact) and its deviations are measured in
    units of the largest of them, so no square under- or overflows for any finite ``y``; a constant
    column (spread 0, no density to speak of) adds 0.

    Parameters
    ----------
    y : array_like, shape (N, L)
        Observations as rows; finite. The fits pass all their observed rows together (every sequence
        of an HMM, the observed steps of a state-space model).

    Returns
    -------
    float
        :math:`N\sum_l\log s_l` over the non-constant columns; 0 for an empty ``y``. Multiplying ``y``
        by :math:`2^k` adds exactly :math:`NLk\log 2` (up to the rounding of that product).

    Raises
    ------
    ValueError, TypeError
        If ``y`` is not a finite 2-D numeric array (the message names ``y``).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0]])      # column 1 is constant
    >>> round(units_log_shift(y), 12) == round(3 * np.log(np.sqrt(8 / 3)), 12)
    True
    >>> bool(np.isclose(units_log_shift(1024.0 * y), units_log_shift(y) + 3 * np.log(1024.0)))
    True
    """
    y = as_array(y, "y", ndim=2, dims="(N, L)")
    N = y.shape[0]
    if y.size == 0:
        return 0.0
    # a constant column is found by comparison: its computed mean may differ from its value by rounding
    cols = np.flatnonzero(np.any(y != y[0], axis=0))
    e = np.frexp(np.max(np.abs(y[:, cols]), axis=0))[1]
    with np.errstate(under="ignore"):
        u = np.ldexp(y[:, cols], -e)                     # |u| <= 1: the column over a power of two
        dev = u - u.mean(axis=0)
    big = np.max(np.abs(dev), axis=0)                    # > 0: two entries differ
    spread = np.sqrt(np.mean((dev / big) ** 2, axis=0))                     # in [N^-1/2, 1]
    log_s = np.log(spread) + np.log(big) + e * np.log(2.0)
    return float(N * np.sum(log_s))


def best_of_restarts(fit_fn: Callable[[np.random.Generator], EMResult], rng: np.random.Generator,
                     n_restarts: int) -> RestartsResult:
    r"""Fit from ``n_restarts`` independent random initializations; keep the best log likelihood.

    EM climbs to a local maximum (Section 6.3.1 initializes :math:`\boldsymbol\theta_0`
    randomly), so the usual remedy is several restarts. Each restart gets its own child
    generator from ``rng.spawn(n_restarts)``: the streams are independent, and a restart can be
    reproduced alone from the same parent seed.

    Parameters
    ----------
    fit_fn : callable ``(rng) -> EMResult``
        One complete fit, e.g. ``lambda r: fit_fa(y, 2, rng=r)``.
    rng : numpy.random.Generator
        Parent generator (it is advanced by the spawn).
    n_restarts : int
        At least 1.

    Returns
    -------
    RestartsResult

    Raises
    ------
    TypeError
        If ``fit_fn`` is not callable, ``rng`` is not a ``numpy.random.Generator`` or ``n_restarts`` is
        not an integer.
    ValueError
        If ``n_restarts < 1``.
    """
    if not callable(fit_fn):
        raise TypeError(f"fit_fn must be a function of a numpy.random.Generator returning an EMResult; got "
                        f"{type(fit_fn).__name__}.")
    rng = check_rng(rng)
    n_restarts = check_int(n_restarts, "n_restarts", minimum=1)
    results = []
    for child in rng.spawn(n_restarts):
        res = fit_fn(child)
        if not isinstance(res, EMResult):
            raise TypeError(f"fit_fn must return an EMResult; got {type(res).__name__}.")
        results.append(res)
    finals = np.array([r.log_lik[-1] for r in results])
    index = int(np.argmax(finals))
    return RestartsResult(results[index], finals, index)


def gaussian_elbo(mu_x, Sigma_x, C, c, Sigma_y_x, y, m, S) -> np.ndarray | float:
    r"""ELBo of the linear-Gaussian model (see Eq. 2.11) for a Gaussian recognition distribution.

    For :math:`\hat p(\mathbf x) = \mathcal N(\boldsymbol\mu_{\hat x},\boldsymbol\Sigma_{\hat x})`,
    :math:`\hat p(\mathbf y\mid\mathbf x) = \mathcal N(\mathbf C\mathbf x+\mathbf c,\boldsymbol\Sigma_{\hat y|\hat x})`
    and :math:`\check p(\mathbf x\mid\mathbf y_n) = \mathcal N(\mathbf m_n,\mathbf S_n)`, the
    expected complete-data log likelihood plus the entropy of :math:`\check p` is, in closed form,

    .. math::
        \mathcal B_n = &-\tfrac12\big[\log|\tau\boldsymbol\Sigma_{\hat x}|
            + \operatorname{tr}(\boldsymbol\Sigma_{\hat x}^{-1}\mathbf S_n)
            + (\mathbf m_n-\boldsymbol\mu_{\hat x})^T\boldsymbol\Sigma_{\hat x}^{-1}(\mathbf m_n-\boldsymbol\mu_{\hat x})\big] \\
          &-\tfrac12\big[\log|\tau\boldsymbol\Sigma_{\hat y|\hat x}|
            + \mathbf r_n^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}\mathbf r_n
            + \operatorname{tr}(\mathbf C^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}\mathbf C\,\mathbf S_n)\big]
          + \tfrac12\log|\tau e\,\mathbf S_n|,
        \qquad \mathbf r_n = \mathbf y_n - \mathbf C\mathbf m_n - \mathbf c.

    It equals :math:`\log\hat p(\mathbf y_n)` (see Eq. 2.18) exactly when :math:`\check p` is the
    posterior of Eqs. 2.13-2.14 and is smaller by
    :math:`\mathrm D_{\mathrm{KL}}\{\check p\|\hat p(\mathbf x\mid\mathbf y_n)\}` otherwise (see Eq. 6.6).
    The book's free energy is :math:`-\langle\mathcal B_n\rangle`.

    Parameters
    ----------
    mu_x, Sigma_x, C, c, Sigma_y_x : array_like
        The model of Eq. 2.11 (see :class:`pedagogy_lib.gaussian.LinearGaussian` for shapes).
    y : array_like, shape (L,) or (N, L)
    m : array_like, shape (K,) or (N, K)
        Recognition means, one row per observation (same leading shape as ``y``).
    S : array_like, shape (K, K) or (N, K, K)
        Recognition covariance(s), symmetric positive definite; one shared or one per observation.

    Returns
    -------
    float or ndarray, shape (N,)
    """
    mu_x, Sigma_x, L_x, C, c, Sigma_y_x, L_yx = check_model(mu_x, Sigma_x, C, c, Sigma_y_x)
    K, L = mu_x.shape[0], c.shape[0]
    if L_yx is None:                                   # diagonal emission noise (factor analysis): O(L)
        d = np.diag(Sigma_y_x).copy()
        Syx_inv = lambda B: B / (d[:, None] if B.ndim == 2 else d)     # noqa: E731
        logdet_yx = float(np.sum(np.log(d)))
    else:
        Syx_inv = lambda B: chol_solve(L_yx, B)                        # noqa: E731
        logdet_yx = chol_logdet(L_yx)
    y = as_array(y, "y")
    if y.ndim not in (1, 2) or y.shape[-1] != L:
        raise ValueError(f"y must have shape (L,) or (N, L) with L = {L}; got {y.shape}.")
    m = as_array(m, "m")
    if m.shape != y.shape[:-1] + (K,):
        raise ValueError(f"m must have shape {'(K,)' if y.ndim == 1 else '(N, K)'} = "
                         f"{y.shape[:-1] + (K,)} to match y; got {m.shape}.")
    S = as_array(S, "S")
    N = 1 if y.ndim == 1 else y.shape[0]
    if S.shape not in ((K, K), (N, K, K)) or (y.ndim == 1 and S.ndim == 3):
        raise ValueError(f"S must have shape (K, K) = {(K, K)}" + ("" if y.ndim == 1 else f" or (N, K, K) = {(N, K, K)}")
                         + f"; got {S.shape}.")
    L_S = check_spd(S, "S")
    Y, M = np.atleast_2d(y), np.atleast_2d(m)
    S3 = np.broadcast_to(S, (N, K, K))
    logdet_S = (np.full(N, chol_logdet(L_S)) if S.ndim == 2
                else np.array([chol_logdet(L_S[n]) for n in range(N)]))
    Sx_inv = chol_solve(L_x, np.eye(K))
    CtSinvC = C.T @ Syx_inv(C)
    D = M - mu_x
    R = Y - M @ C.T - c
    prior = -0.5 * (K * np.log(TAU) + chol_logdet(L_x) + np.einsum("ij,nji->n", Sx_inv, S3)
                    + np.sum(D * (D @ Sx_inv), axis=1))
    emission = -0.5 * (L * np.log(TAU) + logdet_yx + np.sum(R * Syx_inv(R.T).T, axis=1)
                       + np.einsum("ij,nji->n", CtSinvC, S3))
    entropy = 0.5 * (K * (1.0 + np.log(TAU)) + logdet_S)
    out = prior + emission + entropy
    return float(out[0]) if y.ndim == 1 else out


def discrete_elbo(log_joint, q) -> np.ndarray:
    r"""ELBo for a categorical latent variable: :math:`\mathcal B_n = \sum_k q_{nk}[\log\hat p(k,\mathbf y_n) - \log q_{nk}]`.

    With :math:`q_{nk}` the posterior (the responsibilities, Eq. 2.6) this equals
    :math:`\log\hat p(\mathbf y_n) = \log\sum_k\hat p(k,\mathbf y_n)`; otherwise it is smaller by
    :math:`\mathrm D_{\mathrm{KL}}\{q_n\|\hat p(\cdot\mid\mathbf y_n)\}` (Eq. 6.6). Terms with
    :math:`q_{nk}=0` contribute zero (:math:`0\log 0 = 0`), even where the log joint is
    :math:`-\infty`.

    Parameters
    ----------
    log_joint : array_like, shape (N, K)
        :math:`\log\hat p(k, \mathbf y_n)`; may contain ``-inf``.
    q : array_like, shape (N, K)
        Each row a probability vector.

    Returns
    -------
    ndarray, shape (N,)
    """
    log_joint = as_array(log_joint, "log_joint", ndim=2, dims="(N, K)", finite=False, nonempty=True)
    if np.isnan(log_joint).any() or (log_joint == np.inf).any():
        raise ValueError("log_joint must not contain NaN or +inf (-inf marks an impossible state).")
    q = as_array(q, "q", shape=log_joint.shape, dims="(N, K)")
    check_prob_rows(q, "q")
    pos = q > 0                                  # 0 log 0 = 0, even where log_joint = -inf
    safe_log_joint = np.where(pos, log_joint, 0.0)
    safe_q = np.where(pos, q, 1.0)
    return np.sum(np.where(pos, q * (safe_log_joint - np.log(safe_q)), 0.0), axis=1)
