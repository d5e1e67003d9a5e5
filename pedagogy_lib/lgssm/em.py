r"""Learning a linear-Gaussian state-space model by EM (book Section 7.4).

The model is the LGSSM of Section 2.2.2 (:class:`pedagogy_lib.lgssm.model.LGSSMParams`),

.. math::
    \hat{\mathbf X}_1 \sim \mathcal N(\boldsymbol\mu_1, \boldsymbol\Sigma_1), \quad
    \hat{\mathbf X}_t\mid\mathbf x_{t-1} \sim \mathcal N(\mathbf A\mathbf x_{t-1} + \mathbf B\mathbf u_{t-1}
        + \mathbf a, \boldsymbol\Sigma_{\hat x}), \quad
    \mathbf Y_t\mid\mathbf x_t \sim \mathcal N(\mathbf C\mathbf x_t + \mathbf c, \boldsymbol\Sigma_{\hat y|\hat x}).

Section 7.4 drops :math:`\mathbf B\mathbf u`, :math:`\mathbf a` and :math:`\mathbf c`; here they are
optional (fixed at their initial values unless listed in ``learn``). Several independent sequences
may be observed; sums run over sequences as well as time (the draft's "within as well as across
sequences").

**E step** (Section 7.4, "The E step"): the Kalman filter and RTS smoother
(:func:`pedagogy_lib.lgssm.kalman.kalman_smoother`) give, per sequence, the smoothed means
:math:`\bar{\mathbf x}_{t|T}`, covariances :math:`\boldsymbol\Upsilon_{t|T}` and lag-one
cross-covariances :math:`\mathrm{Cov}[\mathbf X_t,\mathbf X_{t-1}\mid\mathbf y] = \boldsymbol\Upsilon_{t|T}
\mathbf J_{t-1}^T` (Eq. 2.55). The expected outer products are "covariance plus outer product of
means",

.. math::
    \mathbb E[\mathbf X_t\mathbf X_t^T\mid\mathbf y] = \boldsymbol\Upsilon_{t|T}
        + \bar{\mathbf x}_{t|T}\bar{\mathbf x}_{t|T}^T, \qquad
    \mathbb E[\mathbf X_t\mathbf X_{t-1}^T\mid\mathbf y] = \mathrm{Cov}[\mathbf X_t,\mathbf X_{t-1}\mid\mathbf y]
        + \bar{\mathbf x}_{t|T}\bar{\mathbf x}_{t-1|T}^T.

They are accumulated as *sums* (:class:`LGSSMStats`): the transition statistics over
:math:`t = 2..T_n` of every sequence (there are :math:`\sum_n (T_n - 1)` transitions, the draft's
implementation note), the emission statistics over the *observed* steps only (a NaN row of ``y``
contributes nothing), and the initial-state statistics over sequences.

**M step** (Eq. 7.4). Both conditionals are linear regressions with Gaussian noise, so the M step
is "normal equations, then the expected residual covariance". Writing the transition regressor as
:math:`\mathbf z_{t-1} = [\mathbf x_{t-1}; \mathbf u_{t-1}; 1]` and :math:`\mathbf W = [\mathbf A,
\mathbf B, \mathbf a]`, and the emission regressor as :math:`\mathbf w_t = [\mathbf x_t; 1]` with
:math:`\mathbf V = [\mathbf C, \mathbf c]`,

.. math::
    \mathbf W = \Big(\sum\mathbb E[\mathbf X_t\mathbf z_{t-1}^T]\Big)\Big(\sum\mathbb E[\mathbf z_{t-1}\mathbf z_{t-1}^T]\Big)^{-1},
    \qquad
    \boldsymbol\Sigma_{\hat x} = \frac{1}{\sum_n(T_n-1)}\sum\mathbb E[(\mathbf X_t-\mathbf W\mathbf z_{t-1})
        (\mathbf X_t-\mathbf W\mathbf z_{t-1})^T],

    \mathbf V = \Big(\sum_{\text{obs}}\mathbf y_t\mathbb E[\mathbf w_t]^T\Big)\Big(\sum_{\text{obs}}\mathbb E[\mathbf w_t\mathbf w_t^T]\Big)^{-1},
    \qquad
    \boldsymbol\Sigma_{\hat y|\hat x} = \frac{1}{N_{\text{obs}}}\sum_{\text{obs}}\mathbb E[(\mathbf y_t-\mathbf V\mathbf w_t)
        (\mathbf y_t-\mathbf V\mathbf w_t)^T],

    \boldsymbol\mu_1 = \frac{1}{N_{\text{seq}}}\sum_n\bar{\mathbf x}^{(n)}_{1|T}, \qquad
    \boldsymbol\Sigma_1 = \frac{1}{N_{\text{seq}}}\sum_n\big[\boldsymbol\Upsilon^{(n)}_{1|T}
        + (\bar{\mathbf x}^{(n)}_{1|T}-\boldsymbol\mu_1)(\bar{\mathbf x}^{(n)}_{1|T}-\boldsymbol\mu_1)^T\big].

Only the columns of :math:`\mathbf W` (or :math:`\mathbf V`) that are learned are solved for; the
fixed ones are moved to the left-hand side. With no offsets and no control this is exactly Eq. 7.4,
and when :math:`\mathbf W` is fully learned the residual covariance simplifies to the draft's
:math:`\langle\mathbf X_t\mathbf X_t^T\rangle - \mathbf A\langle\mathbf X_{t-1}\mathbf X_t^T\rangle`.
When :math:`\mathbf A` is held fixed that simplification is *not* valid and the full expected
residual is used (see the companion's errata page).

**ELBo.** With the exact posterior :math:`q` under :math:`\boldsymbol\theta^{\text{old}}`, the bound
after the M step is :math:`Q(\boldsymbol\theta^{\text{new}}) + \mathrm H[q]` with
:math:`\mathrm H[q] = \ell(\boldsymbol\theta^{\text{old}}) - Q(\boldsymbol\theta^{\text{old}})`, where
:math:`Q` (:func:`lgssm_expected_log_joint`) is linear in the statistics. So the sandwich of
:mod:`pedagogy_lib.em` is checked without the entropy of a Gauss-Markov chain.

**Identifiability.** For any invertible :math:`\mathbf S`, the parameters
:math:`(\mathbf S\mathbf A\mathbf S^{-1}, \mathbf S\mathbf B, \mathbf S\mathbf a, \mathbf S\boldsymbol\Sigma_{\hat x}\mathbf S^T,
\mathbf C\mathbf S^{-1}, \mathbf c, \boldsymbol\Sigma_{\hat y|\hat x}, \mathbf S\boldsymbol\mu_1,
\mathbf S\boldsymbol\Sigma_1\mathbf S^T)` (:func:`similarity_transform`) give the same distribution
of :math:`\mathbf y`; compare learned and true models through invariants such as the eigenvalues of
:math:`\mathbf A` or the autocovariances :math:`\mathbf C\mathbf A^k\mathbf P\mathbf C^T` of
:math:`\mathbf y`, not through raw matrices.

Time indexing as in :mod:`pedagogy_lib.lgssm.kalman`: 0-based rows, row ``t`` is the book's ``t + 1``.
"""
from __future__ import annotations

import warnings
from functools import lru_cache, partial
from typing import NamedTuple

import numpy as np

from . import kalman, kernels
from ..core.checks import (positive_scalar, as_array, as_scalar, check_backend, check_moments, check_psd, check_int,
                           check_rng)
from ..core.jit import choose
from ..em.engine import (CovarianceFloorWarning, EMModel, EMResult, best_of_restarts, floor_against_data, run_em,
                         units_log_shift)
from . import model as lgssm_model
from .model import LGSSMParams
from ..core.linalg import TAU, chol_logdet, symmetrize

__all__ = [
    "LEARNABLE",
    "DEFAULT_LEARN",
    "LGSSMStats",
    "lgssm_suff_stats",
    "lgssm_m_step",
    "lgssm_expected_log_joint",
    "lgssm_log_likelihood",
    "lgssm_em_model",
    "similarity_transform",
    "fit_lgssm",
]

#: Parameters that EM can update (field names of :class:`~pedagogy_lib.lgssm.model.LGSSMParams`).
LEARNABLE = ("A", "B", "a", "Sigma_x", "C", "c", "Sigma_y_x", "mu1", "Sigma1")
#: The parameters of Eq. 7.4 (the draft's model has no offsets and no control).
DEFAULT_LEARN = ("A", "Sigma_x", "C", "Sigma_y_x", "mu1", "Sigma1")
_TRANSITION = ("A", "B", "a", "Sigma_x")


class LGSSMStats(NamedTuple):
    r"""Expected sufficient statistics of Section 7.4 ("The E step"), as sums over sequences and time.

    With the transition regressor :math:`\mathbf z_{t-1} = [\mathbf x_{t-1}; \mathbf u_{t-1}; 1]`
    (dimension ``d = n + n_u + 1``) and the emission regressor :math:`\mathbf w_t = [\mathbf x_t; 1]`:

    Attributes
    ----------
    S_prev : ndarray, shape (d, d)
        :math:`\sum_n\sum_{t=2}^{T_n}\mathbb E[\mathbf z_{t-1}\mathbf z_{t-1}^T\mid\mathbf y]`; its
        top-left ``(n, n)`` block is the draft's :math:`\langle\check{\mathbf X}_{t-1}\check{\mathbf X}_{t-1}^T\rangle`
        times the number of transitions.
    S_cross : ndarray, shape (n, d)
        :math:`\sum\mathbb E[\mathbf x_t\mathbf z_{t-1}^T\mid\mathbf y]`; its first ``n`` columns are
        :math:`\sum\mathbb E[\mathbf x_t\mathbf x_{t-1}^T\mid\mathbf y]`.
    S_next : ndarray, shape (n, n)
        :math:`\sum_n\sum_{t=2}^{T_n}\mathbb E[\mathbf x_t\mathbf x_t^T\mid\mathbf y]`.
    n_trans : int
        Number of transitions, :math:`\sum_n (T_n - 1)`.
    S_w : ndarray, shape (n + 1, n + 1)
        :math:`\sum_{\text{observed } t}\mathbb E[\mathbf w_t\mathbf w_t^T\mid\mathbf y]` (all observed steps).
    S_yw : ndarray, shape (m, n + 1)
        :math:`\sum_{\text{observed } t}\mathbf y_t\mathbb E[\mathbf w_t\mid\mathbf y]^T`.
    S_yy : ndarray, shape (m, m)
        :math:`\sum_{\text{observed } t}\mathbf y_t\mathbf y_t^T`.
    n_obs : int
        Number of observed (non-NaN) rows.
    x1_sum : ndarray, shape (n,)
        :math:`\sum_n\bar{\mathbf x}^{(n)}_{1|T}` (the smoother, not the filter, at the first step).
    P1_sum : ndarray, shape (n, n)
        :math:`\sum_n\mathbb E[\mathbf x^{(n)}_1\mathbf x^{(n)T}_1\mid\mathbf y^{(n)}]`.
    n_seq : int
        Number of sequences.
    log_lik : float
        :math:`\ell(\boldsymbol\theta) = \sum_n\log\hat p(\mathbf y^{(n)};\boldsymbol\theta)` (Eq. 2.40) at the
        parameters whose posterior gave these statistics.
    entropy : float
        Entropy of that posterior over all state sequences, :math:`\ell - Q(\boldsymbol\theta)`.
    """

    S_prev: np.ndarray
    S_cross: np.ndarray
    S_next: np.ndarray
    n_trans: int
    S_w: np.ndarray
    S_yw: np.ndarray
    S_yy: np.ndarray
    n_obs: int
    x1_sum: np.ndarray
    P1_sum: np.ndarray
    n_seq: int
    log_lik: float
    entropy: float


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------

def _as_list(y, name="y"):
    if isinstance(y, (list, tuple)):
        if len(y) == 0:
            raise ValueError(f"{name} must hold at least one sequence; got an empty list.")
        return list(y), True
    return [y], False


def _check_learn(learn):
    if isinstance(learn, str):
        learn = (learn,)
    try:
        learn = tuple(learn)
    except TypeError:
        raise TypeError(f"learn must be a sequence of parameter names; got {type(learn).__name__}.") from None
    for name in learn:
        if name not in LEARNABLE:
            raise ValueError(f"learn must list names from {{{', '.join(repr(c) for c in LEARNABLE)}}}; got {name!r}.")
    if len(set(learn)) != len(learn):
        dup = next(x for x in learn if learn.count(x) > 1)
        raise ValueError(f"learn lists {dup!r} more than once.")
    return frozenset(learn)


def _check_reg(reg_covar):
    arr = as_array(reg_covar, "reg_covar", ndim=0)
    return positive_scalar(arr, "reg_covar", strict=False)


def _check_data(y, u, m, n_u):
    """Validate one sequence or a list; returns a list of ``(y with NaN rows, observed mask, u)``."""
    seqs, was_list = _as_list(y, "y")
    if u is None:
        us = [None] * len(seqs)
    else:
        us, u_list = _as_list(u, "u")
        if u_list != was_list or len(us) != len(seqs):
            raise ValueError(f"u must match y: one (T_n - 1, n_u) array per sequence ({len(seqs)} "
                             f"sequence{'s' if len(seqs) != 1 else ''}); got {len(us) if u_list else 'a single array'}.")
    data = []
    for s, us_n in zip(seqs, us):
        y_n, observed = lgssm_model.check_y(s, m)               # missing rows come back zeroed
        u_n = lgssm_model.check_u(us_n, y_n.shape[0], n_u)
        observed = observed.astype(bool)
        if not observed.all():
            y_n = np.where(observed[:, None], y_n, np.nan)     # the smoother needs the NaN marks back
        data.append((y_n, observed, u_n))
    if not any(obs.any() for _, obs, _ in data):
        raise ValueError("y has no observed rows (every row is NaN): there is nothing to learn from.")
    return data, was_list


def _checked_backend(backend) -> str:
    """``backend`` checked, with ``"auto"`` kept for :func:`_decide` (``"numpy"`` without numba)."""
    resolved = check_backend(backend)
    return "auto" if backend == "auto" and resolved == "numba" else resolved


def _decide(backend: str, data, n: int, passes: int = 1) -> str:
    """``backend`` with ``"auto"`` decided once by the registry's rule for the filter's kernel
    (:func:`pedagogy_lib.core.jit.choose`), weighing the twin's work for ``passes`` passes of the smoother (or
    filter) over every sequence of ``data`` (the smoother's twin costs about the filter's estimate)."""
    if backend != "auto":
        return backend
    steps = passes * sum(y_n.shape[0] for y_n, _, _ in data)
    return choose(kernels.filter_covariance, T=steps, n=n, m=data[0][0].shape[1])


# ---------------------------------------------------------------------------------------------
# E step
# ---------------------------------------------------------------------------------------------

def _seq_stats(p, y, observed, u, backend):
    r"""Smoother on one validated sequence; its contribution to every statistic (sums).

    Every sum is "covariance plus outer product of means": with the regressor means
    :math:`\bar{\mathbf z}_{t-1} = [\bar{\mathbf x}_{t-1|T}; \mathbf u_{t-1}; 1]` stacked as the rows of
    ``Z``, :math:`\sum\mathbb E[\mathbf z\mathbf z^T] = \mathbf Z^T\mathbf Z` plus the summed smoothed
    covariances in the state block (controls and the constant are known exactly).
    """
    res = kalman.kalman_smoother(p, y, u, backend=backend)            # decided by the caller (_stats)
    mu, U = res.mu_smooth, res.Upsilon_smooth
    T, n = mu.shape
    Z = np.concatenate([mu[:-1], u, np.ones((T - 1, 1))], axis=1)     # rows z_{t-1} = [xbar_{t-1}; u_{t-1}; 1]
    S_prev = Z.T @ Z
    S_prev[:n, :n] += U[:-1].sum(axis=0)                 # sum_{t>=2} E[x_{t-1} x_{t-1}^T]
    S_cross = mu[1:].T @ Z                               # E[x_t x_{t-1}^T | y] = Cov[x_t, x_{t-1} | y] + xbar_t xbar_{t-1}^T
    S_cross[:, :n] += res.Upsilon_cross.sum(axis=0)      # (Eq. 2.55 for the covariance)
    S_next = mu[1:].T @ mu[1:] + U[1:].sum(axis=0)       # sum_{t>=2} E[x_t x_t^T]
    rows = slice(None) if observed.all() else observed   # emission statistics: observed rows only
    yo = y[rows]
    Wbar = np.concatenate([mu[rows], np.ones((yo.shape[0], 1))], axis=1)   # rows w_t = [xbar_t; 1]
    S_w = Wbar.T @ Wbar
    S_w[:n, :n] += U[rows].sum(axis=0)
    P1 = U[0] + np.outer(mu[0], mu[0])                   # E[x_1 x_1^T | y]
    return (S_prev, S_cross, S_next, T - 1, S_w, yo.T @ Wbar, yo.T @ yo, yo.shape[0], mu[0].copy(), P1,
            res.log_evidence)


def _stats(p, data, backend):
    """E step on validated inputs: statistics summed over sequences (see :class:`LGSSMStats`); ``backend``
    ``"auto"`` is decided here, once for every sequence."""
    backend = _decide(backend, data, p.mu1.shape[0])
    parts = [_seq_stats(p, *seq, backend) for seq in data]
    sums = [sum(part[i] for part in parts) for i in range(len(parts[0]))]
    S_prev, S_cross, S_next, n_trans, S_w, S_yw, S_yy, n_obs, x1_sum, P1_sum, log_lik = sums
    stats = LGSSMStats(symmetrize(S_prev), S_cross, symmetrize(S_next), int(n_trans), symmetrize(S_w), S_yw,
                       symmetrize(S_yy), int(n_obs), x1_sum, symmetrize(P1_sum), len(data), float(log_lik), 0.0)
    # entropy of the posterior over state sequences: H[q] = log p(y) - E_q[log p(x, y)] at the same parameters
    return stats._replace(entropy=float(log_lik - _q(p, stats)))


# ---------------------------------------------------------------------------------------------
# expected complete-data log likelihood and M step
# ---------------------------------------------------------------------------------------------

def _W(p):
    """Transition coefficients [A, B, a], shape (n, n + n_u + 1)."""
    return np.concatenate([p.A, p.B, p.a[:, None]], axis=1)


def _V(p):
    """Emission coefficients [C, c], shape (m, n + 1)."""
    return np.concatenate([p.C, p.c[:, None]], axis=1)


def _residual(S_tt, S_tz, S_zz, W):
    r"""Expected residual scatter :math:`\sum\mathbb E[(\mathbf t - \mathbf W\mathbf z)(\mathbf t - \mathbf W\mathbf z)^T]`."""
    WS = W @ S_tz.T
    return symmetrize(S_tt - WS - WS.T + W @ S_zz @ W.T)


def _gauss_term(count, Sigma, R):
    """-1/2 [count (D log tau + log|Sigma|) + tr(Sigma^{-1} R)]."""
    if count == 0:
        return 0.0
    L = np.linalg.cholesky(Sigma)
    D = Sigma.shape[0]
    return -0.5 * (count * (D * np.log(TAU) + chol_logdet(L)) + float(np.trace(np.linalg.solve(Sigma, R))))


def _q(p, stats):
    """Q(theta) = E_q[log p(x, y; theta)], linear in the statistics."""
    R1 = symmetrize(stats.P1_sum - np.outer(p.mu1, stats.x1_sum) - np.outer(stats.x1_sum, p.mu1)
                    + stats.n_seq * np.outer(p.mu1, p.mu1))
    Rx = _residual(stats.S_next, stats.S_cross, stats.S_prev, _W(p))
    Ry = _residual(stats.S_yy, stats.S_yw, stats.S_w, _V(p))
    return float(_gauss_term(stats.n_seq, p.Sigma1, R1) + _gauss_term(stats.n_trans, p.Sigma_x, Rx)
                 + _gauss_term(stats.n_obs, p.Sigma_y_x, Ry))


def _as_slice(idx):
    """The sorted, distinct indices ``idx`` as a slice when they are contiguous (or none), else unchanged."""
    if idx.size == 0:
        return slice(0, 0)
    if idx[-1] - idx[0] + 1 == idx.size:
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


@lru_cache(maxsize=64)
def _columns(learn, blocks):
    """The learned and the fixed columns of a coefficient matrix made of ``blocks``, ``((name, width), ...)``.

    Each set is a slice when its columns are contiguous (the default ``learn``: ``A`` of ``[A, B, a]``
    and ``C`` of ``[C, c]``), an index array otherwise; computed once per ``learn`` and shape.
    """
    edges = np.cumsum([0] + [width for _, width in blocks])
    learned = np.concatenate([np.arange(lo, hi) for (name, _), lo, hi in zip(blocks, edges, edges[1:])
                              if name in learn] + [np.zeros(0, dtype=int)])
    fixed = np.setdiff1d(np.arange(edges[-1]), learned)
    return _as_slice(learned), _as_slice(fixed)


def _regress(S_tz, S_zz, W_old, learned, fixed, what):
    r"""Normal equations for the learned columns ``learned`` of W with the ``fixed`` columns held as they are.

    :math:`\mathbf W_L = (\mathbf S_{tz,L} - \mathbf W_F\mathbf S_{zz,FL})\mathbf S_{zz,LL}^{-1}`.
    """
    W = W_old.copy()
    G = S_zz[learned][:, learned]
    if G.size == 0:
        return W
    rhs = S_tz[:, learned] - W_old[:, fixed] @ S_zz[fixed][:, learned]
    try:
        L = np.linalg.cholesky(G)
        singular = np.min(np.diag(L)) ** 2 <= 1e-12 * np.max(np.diag(G))
    except np.linalg.LinAlgError:
        singular = True
    if singular:
        raise FloatingPointError(
            f"M step: the expected second moment of the regressors for {what} is singular, so the normal "
            "equations have no unique solution (e.g. a constant control learned together with the offset, or "
            "a latent dimension that has collapsed). Learn fewer parameters or use fewer latent dimensions.")
    W[:, learned] = np.linalg.solve(G, rhs.T).T               # G is symmetric
    return W


def _floor(Sigma, reg_covar, name, floored):
    lam, Q = np.linalg.eigh(Sigma)
    if lam[0] >= reg_covar and lam[0] > 0:
        return Sigma
    floored.append(f"{name} (smallest eigenvalue {lam[0]:.3g})")
    return symmetrize((Q * np.maximum(lam, max(reg_covar, np.finfo(float).tiny))) @ Q.T)


def _data_spread(stats):
    """The smallest variance of the observed y (smallest eigenvalue of their 1/N covariance), from the
    statistics: S_yy / n_obs minus the outer product of the mean S_yw[:, -1] / n_obs (w_t ends in 1)."""
    mean = stats.S_yw[:, -1] / stats.n_obs
    cov = symmetrize(stats.S_yy / stats.n_obs - np.outer(mean, mean))
    return max(float(np.linalg.eigvalsh(cov)[0]), 0.0)


def _floor_message(reg_covar, floored, stats):
    """The covariance-floor warning: the units of y named as the cause when the floor is large against
    the data and bound for Sigma_y_x, else the boundary of positive definite matrices."""
    head = f"covariance floor reg_covar = {reg_covar:.3g} bound for {', '.join(floored)}"
    if any(f.startswith("Sigma_y_x") for f in floored) and stats.n_obs > 1:
        why = floor_against_data(reg_covar, _data_spread(stats), "a noise covariance that is", "1e-9")
        if why:
            return f"{head}, {why} (For Sigma_x and Sigma1 it is in the units of the latent state squared; 0 is allowed.)"
    return (f"{head}: the maximizer lies on (or beyond) the boundary of positive definite matrices, e.g. Sigma1 "
            "from a single sequence shrinking towards zero, or noise-free dimensions. The covariance was floored, "
            "so this M step is not exact EM and the log likelihood may dip slightly.")


def _m_step(stats, old, learn, reg_covar):
    """Closed-form M step (Eq. 7.4 with optional offsets/control) on validated statistics."""
    n = old.mu1.shape[0]
    n_u = old.B.shape[1]
    floored: list[str] = []
    new = {}
    # transition: W = [A, B, a]
    learned, fixed = _columns(learn, (("A", n), ("B", n_u), ("a", 1)))
    W = _regress(stats.S_cross, stats.S_prev, _W(old), learned, fixed, "A, B, a")
    new["A"], new["B"], new["a"] = W[:, :n].copy(), W[:, n:n + n_u].copy(), W[:, -1].copy()
    if "Sigma_x" in learn:   # expected residual with the NEW W: Sigma_x = <(x_t - W z)(x_t - W z)^T>
        Sx = _residual(stats.S_next, stats.S_cross, stats.S_prev, W) / stats.n_trans
        new["Sigma_x"] = _floor(Sx, reg_covar, "Sigma_x", floored)
    # emission: V = [C, c]
    learned, fixed = _columns(learn, (("C", n), ("c", 1)))
    V = _regress(stats.S_yw, stats.S_w, _V(old), learned, fixed, "C, c")
    new["C"], new["c"] = V[:, :n].copy(), V[:, n].copy()
    if "Sigma_y_x" in learn:
        Sy = _residual(stats.S_yy, stats.S_yw, stats.S_w, V) / stats.n_obs
        new["Sigma_y_x"] = _floor(Sy, reg_covar, "Sigma_y_x", floored)
    # initial state
    mu1 = stats.x1_sum / stats.n_seq if "mu1" in learn else old.mu1
    new["mu1"] = mu1
    if "Sigma1" in learn:
        S1 = symmetrize(stats.P1_sum - np.outer(mu1, stats.x1_sum) - np.outer(stats.x1_sum, mu1)
                        + stats.n_seq * np.outer(mu1, mu1)) / stats.n_seq
        new["Sigma1"] = _floor(S1, reg_covar, "Sigma1", floored)
    if floored:
        warnings.warn(_floor_message(reg_covar, floored, stats), CovarianceFloorWarning, stacklevel=4)
    return old._replace(**{k: v for k, v in new.items() if k in learn or k in ("A", "B", "a", "C", "c")})


# ---------------------------------------------------------------------------------------------
# public: model pieces
# ---------------------------------------------------------------------------------------------

def _check_params_data(params, y, u, name="params"):
    if not isinstance(params, LGSSMParams):
        raise TypeError(f"{name} must be an LGSSMParams; got {type(params).__name__}.")
    p, (n, m, n_u) = lgssm_model.check_params(params)
    data, was_list = _check_data(y, u, m, n_u)
    return p, data, was_list


def lgssm_suff_stats(params: LGSSMParams, y, u=None, *, backend: str = "auto") -> LGSSMStats:
    r"""The E step of Section 7.4: RTS smoother per sequence, summed into expected sufficient statistics.

    .. math::
        \sum_t\mathbb E[\mathbf X_t\mathbf X_t^T\mid\mathbf y] = \sum_t\big(\boldsymbol\Upsilon_{t|T}
            + \bar{\mathbf x}_{t|T}\bar{\mathbf x}_{t|T}^T\big), \qquad
        \sum_{t\ge2}\mathbb E[\mathbf X_t\mathbf X_{t-1}^T\mid\mathbf y] = \sum_{t\ge2}\big(\boldsymbol\Upsilon_{t|T}
            \mathbf J_{t-1}^T + \bar{\mathbf x}_{t|T}\bar{\mathbf x}_{t-1|T}^T\big)

    and the other sums of :class:`LGSSMStats` (transition sums over :math:`t\ge 2`, emission sums over
    the observed steps).

    Parameters
    ----------
    params : LGSSMParams
    y : array_like, shape (T, m), or a list of such arrays (independent sequences)
        A row of NaN is a missing observation.
    u : array_like, shape (T - 1, n_u), or a list of them, optional
        Controls (required when ``params.B`` has columns).
    backend : {"auto", "numba", "numpy"}
        The smoother's compiled kernel or its twin (:func:`~pedagogy_lib.lgssm.kalman.kalman_smoother`);
        ``"auto"`` decides once for all the sequences (:func:`pedagogy_lib.core.jit.choose`).

    Returns
    -------
    LGSSMStats
    """
    backend = _checked_backend(backend)
    p, data, _ = _check_params_data(params, y, u)
    return _stats(p, data, backend)


def _joint(S_zz, S_tz, S_tt):
    """The second moment of ``[z; t]``, ``[[S_zz, S_tz^T], [S_tz, S_tt]]``."""
    k = S_zz.shape[0]
    M = np.empty((k + S_tt.shape[0],) * 2)
    M[:k, :k], M[:k, k:], M[k:, :k], M[k:, k:] = S_zz, S_tz.T, S_tz, S_tt
    return M


def _check_stats(stats, p):
    if not isinstance(stats, LGSSMStats):
        raise TypeError(f"stats must be an LGSSMStats (from lgssm_suff_stats); got {type(stats).__name__}.")
    n, m, n_u = p.mu1.shape[0], p.c.shape[0], p.B.shape[1]
    d = n + n_u + 1
    fields = {}
    for name, shape, dims in (("S_prev", (d, d), "(n + n_u + 1, n + n_u + 1)"), ("S_cross", (n, d), "(n, n + n_u + 1)"),
                              ("S_next", (n, n), "(n, n)"), ("S_w", (n + 1, n + 1), "(n + 1, n + 1)"),
                              ("S_yw", (m, n + 1), "(m, n + 1)"), ("S_yy", (m, m), "(m, m)"),
                              ("x1_sum", (n,), "(n,)"), ("P1_sum", (n, n), "(n, n)")):
        fields[name] = as_array(getattr(stats, name), f"stats.{name}", shape=shape, dims=dims)
    n_trans = check_int(stats.n_trans, "stats.n_trans", minimum=0)
    n_obs = check_int(stats.n_obs, "stats.n_obs", minimum=1)
    n_seq = check_int(stats.n_seq, "stats.n_seq", minimum=1)
    # each pair of blocks is a sum of expected outer products E[[a; b][a; b]^T], so it is PSD
    f = fields
    check_moments(n_seq, f["x1_sum"], f["P1_sum"], ("stats.n_seq", "stats.x1_sum", "stats.P1_sum"))
    for name, count, what in (("S_prev", n_trans, "n_trans"), ("S_w", n_obs, "n_obs")):
        corner = float(f[name][-1, -1])          # the regressors end in a constant 1
        if abs(corner - count) > 1e-9 * max(1, count):
            raise ValueError(f"stats.{name}[-1, -1] must equal stats.{what} = {count} (the regressor's last entry "
                             f"is the constant 1); got {corner:.6g}.")
    if n_trans:
        check_psd(_joint(f["S_prev"], f["S_cross"], f["S_next"]),
                  "[[stats.S_prev, stats.S_cross^T], [stats.S_cross, stats.S_next]]")
    check_psd(_joint(f["S_w"], f["S_yw"], f["S_yy"]), "[[stats.S_w, stats.S_yw^T], [stats.S_yw, stats.S_yy]]")
    log_lik = as_scalar(stats.log_lik, "stats.log_lik")
    entropy = as_scalar(stats.entropy, "stats.entropy")     # differential: may be negative
    return stats._replace(n_trans=n_trans, n_obs=n_obs, n_seq=n_seq, log_lik=log_lik, entropy=entropy, **fields)


def lgssm_m_step(stats: LGSSMStats, old_params: LGSSMParams, *, learn=DEFAULT_LEARN,
                 reg_covar: float = 0.0) -> LGSSMParams:
    r"""The closed-form M step of Section 7.4 (Eq. 7.4, with optional offsets and control).

    .. math::
        \mathbf A = \langle\check{\mathbf X}_t\check{\mathbf X}_{t-1}^T\rangle\langle\check{\mathbf X}_{t-1}\check{\mathbf X}_{t-1}^T\rangle^{-1},
        \quad \boldsymbol\Sigma_{\hat x} = \langle\check{\mathbf X}_t\check{\mathbf X}_t^T\rangle - \mathbf A\langle\check{\mathbf X}_{t-1}\check{\mathbf X}_t^T\rangle,

        \mathbf C = \langle\mathbf Y_t\check{\mathbf X}_t^T\rangle\langle\check{\mathbf X}_t\check{\mathbf X}_t^T\rangle^{-1},
        \quad \boldsymbol\Sigma_{\hat y|\hat x} = \langle\mathbf Y_t\mathbf Y_t^T\rangle - \mathbf C\langle\check{\mathbf X}_t\mathbf Y_t^T\rangle,
        \quad \boldsymbol\mu_1 = \langle\check{\mathbf X}_1\rangle,
        \quad \boldsymbol\Sigma_1 = \langle\check{\mathbf X}_1\check{\mathbf X}_1^T\rangle - \boldsymbol\mu_1\boldsymbol\mu_1^T,

    transition averages over :math:`t = 2..T` (normalized by the number of transitions), emission
    averages over the observed steps. Parameters not in ``learn`` keep their values from
    ``old_params``; a covariance is then the full expected residual under the regression
    coefficients actually used (the simplified forms above hold only when those coefficients were
    just re-estimated).

    Parameters
    ----------
    stats : LGSSMStats
    old_params : LGSSMParams
        Supplies the parameters that are not learned (and fixes ``n``, ``m``, ``n_u``).
    learn : sequence of str
        Names from :data:`LEARNABLE`.
    reg_covar : float
        Floor on the eigenvalues of the learned covariances (0 keeps only positive definiteness);
        warns with :class:`~pedagogy_lib.em.engine.CovarianceFloorWarning` when it binds. Absolute:
        in the units of ``y`` squared for ``Sigma_y_x`` and of the latent state squared for
        ``Sigma_x`` and ``Sigma1``; the warning says when it binds on ``Sigma_y_x`` only because
        ``y``'s variances are small (below ``1000 * reg_covar``).

    Returns
    -------
    LGSSMParams
    """
    p, _ = lgssm_model.check_params(old_params, "old_params")
    learn = _check_learn(learn)
    reg_covar = _check_reg(reg_covar)
    stats = _check_stats(stats, p)
    if stats.n_trans == 0 and learn & set(_TRANSITION):
        raise ValueError("stats.n_trans is 0 (every sequence has length 1): A, B, a and Sigma_x cannot be learned.")
    return _m_step(stats, p, learn, reg_covar)


def lgssm_expected_log_joint(params: LGSSMParams, stats: LGSSMStats) -> float:
    r"""The expected complete-data log likelihood :math:`Q(\boldsymbol\theta)` (minus the cross entropy of Section 7.4).

    .. math::
        Q = -\tfrac12\Big[N_{\text{seq}}\log|\tau\boldsymbol\Sigma_1| + \operatorname{tr}\big(\boldsymbol\Sigma_1^{-1}
            \textstyle\sum_n\mathbb E[(\mathbf x_1-\boldsymbol\mu_1)(\cdot)^T]\big)\Big]
          -\tfrac12\Big[N_{\text{trans}}\log|\tau\boldsymbol\Sigma_{\hat x}| + \operatorname{tr}\big(\boldsymbol\Sigma_{\hat x}^{-1}
            \textstyle\sum\mathbb E[(\mathbf x_t-\mathbf W\mathbf z_{t-1})(\cdot)^T]\big)\Big]
          -\tfrac12\Big[N_{\text{obs}}\log|\tau\boldsymbol\Sigma_{\hat y|\hat x}| + \operatorname{tr}\big(\boldsymbol\Sigma_{\hat y|\hat x}^{-1}
            \textstyle\sum\mathbb E[(\mathbf y_t-\mathbf V\mathbf w_t)(\cdot)^T]\big)\Big]
    """
    p, _ = lgssm_model.check_params(params)
    stats = _check_stats(stats, p)
    return _q(p, stats)


def lgssm_log_likelihood(params: LGSSMParams, y, u=None, *, backend: str = "auto") -> float:
    r""":math:`\ell(\boldsymbol\theta) = \sum_n\log\hat p(\mathbf y^{(n)};\boldsymbol\theta)` (Eq. 2.40, summed over sequences).

    ``backend`` as in :func:`lgssm_suff_stats` (the filter's kernel or its twin, decided once for all sequences)."""
    backend = _checked_backend(backend)
    p, data, _ = _check_params_data(params, y, u)
    backend = _decide(backend, data, p.mu1.shape[0])
    return float(sum(kalman.kalman_filter(p, y_n, u_n, backend=backend).log_evidence for y_n, _, u_n in data))


def similarity_transform(params: LGSSMParams, S) -> LGSSMParams:
    r"""The equivalent model in the coordinates :math:`\mathbf x' = \mathbf S\mathbf x` (same law of :math:`\mathbf y`).

    Every parameter that acts on the state is carried over to the new coordinates, so that the
    observations keep their distribution; Section 7.4 derives each one (an exercise there asks for them).

    Parameters
    ----------
    params : LGSSMParams
    S : array_like, shape (n, n)
        Invertible.
    """
    p, (n, _, _) = lgssm_model.check_params(params)
    S = as_array(S, "S", shape=(n, n), dims="(n, n)")
    if np.linalg.matrix_rank(S) < n:
        raise ValueError(f"S must be invertible; got a matrix of rank {np.linalg.matrix_rank(S)} < n = {n}.")
    Sinv_T = np.linalg.solve(S.T, np.eye(n))              # S^{-T}; M S^{-1} = (S^{-T} M^T)^T
    return LGSSMParams(S @ p.mu1, symmetrize(S @ p.Sigma1 @ S.T), (Sinv_T @ (S @ p.A).T).T, S @ p.B, S @ p.a,
                       symmetrize(S @ p.Sigma_x @ S.T), (Sinv_T @ p.C.T).T, p.c.copy(), p.Sigma_y_x.copy())


# ---------------------------------------------------------------------------------------------
# public: the EM model and the fit
# ---------------------------------------------------------------------------------------------

def lgssm_em_model(learn=DEFAULT_LEARN, reg_covar: float = 1e-9, backend: str = "auto") -> EMModel:
    r"""EM for the LGSSM as an :class:`~pedagogy_lib.em.EMModel` (data: a list of validated sequences).

    The E step returns :class:`LGSSMStats`; the log likelihood of an iterate is the log evidence of
    its E step (cached), so one iteration costs one filter-smoother pass per sequence. The ELBo
    after each M step is :math:`Q(\boldsymbol\theta^{\text{new}}) + \mathrm H[q]`. ``backend`` is the
    smoother's: ``"auto"`` decides at each E step, once for all sequences (:func:`fit_lgssm` decides once
    for the whole run and passes its answer here). ``reg_covar`` is an absolute floor, as in
    :func:`lgssm_m_step` (units of ``y`` squared for ``Sigma_y_x``, of the latent state squared for
    ``Sigma_x`` and ``Sigma1``): the default ``1e-9`` binds on the noise of data whose variances are
    below about ``1e-6``, with a warning that says so.
    """
    learn = _check_learn(learn)
    reg_covar = _check_reg(reg_covar)
    backend = _checked_backend(backend)
    cache: dict = {"params": None, "stats": None}

    def e_step(params, data):
        if cache["params"] is params and cache["stats"] is not None:
            return cache["stats"]
        stats = _stats(params, data, backend)
        cache.update(params=params, stats=stats)
        return stats

    def m_step(stats, data, params):
        return _m_step(stats, params, learn, reg_covar)

    def log_likelihood(params, data):
        return e_step(params, data).log_lik

    def elbo(params, stats, data):
        return _q(params, stats) + stats.entropy

    def check(params, data):
        if params is None:
            return None, data
        if not isinstance(params, LGSSMParams):
            raise TypeError(f"init_params must be an LGSSMParams; got {type(params).__name__}.")
        p, (n, m, n_u) = lgssm_model.check_params(params, "init_params")
        validated = isinstance(data, list) and all(isinstance(d, tuple) and len(d) == 3 for d in data)
        if validated:                            # the (y, observed, u) list of fit_lgssm: check it again
            data = _check_data([np.where(obs[:, None], np.asarray(y_n), np.nan) for y_n, obs, _ in data],
                               None if n_u == 0 else [u_n for _, _, u_n in data], m, n_u)[0]
        else:
            data = _check_data(data, None, m, n_u)[0]
        return p, data

    return EMModel(e_step, m_step, log_likelihood, elbo, None, "LGSSM EM", check)


def _random_init(rng, data, n, learn, n_u):
    r"""A random :math:`\boldsymbol\theta^{(0)}`: PCA for :math:`\mathbf C` (probabilistic-PCA scaling),
    a random transition matrix with spectral radius 0.9, stationary latent covariance about
    :math:`\mathbf I`, isotropic emission noise from the discarded variance."""
    Y = np.concatenate([y_n[obs] for y_n, obs, _ in data], axis=0)
    m = Y.shape[1]
    c = Y.mean(axis=0) if "c" in learn else np.zeros(m)
    S = np.atleast_2d(np.cov((Y - c).T, bias=True)) if Y.shape[0] > 1 else np.eye(m)
    lam, U = np.linalg.eigh(S)
    lam, U = lam[::-1], U[:, ::-1]
    big = max(float(lam[0]), float(np.max(np.abs(c))))
    if big > lgssm_model.MAX_MAGNITUDE:
        # the model started from these moments would be refused naming C, c or Sigma_y_x, never passed
        raise ValueError(f"y is out of scale for a linear-Gaussian state-space model: its sample "
                         f"{'variance' if lam[0] >= np.max(np.abs(c)) else 'mean'} reaches {big:.3g}, and the "
                         f"model's covariances and locations are supported up to about "
                         f"{lgssm_model.MAX_MAGNITUDE:.0e}. Rescale y.")
    k = min(n, m)
    sigma2 = float(lam[k:].mean()) if k < m else 0.1 * float(lam.mean())
    ref = float(lam.mean())                           # the data's own units: the floor scales with y
    sigma2 = max(sigma2, 1e-3 * ref) if ref > 0.0 else 1e-15
    C = np.zeros((m, n))
    C[:, :k] = U[:, :k] * np.sqrt(np.maximum(lam[:k] - sigma2, sigma2))
    if n > k:
        C[:, k:] = np.sqrt(sigma2) * rng.standard_normal((m, n - k))
    G = rng.standard_normal((n, n))
    A = 0.9 * G / max(float(np.max(np.abs(np.linalg.eigvals(G)))), 1e-12)
    return LGSSMParams(np.zeros(n), np.eye(n), A, np.zeros((n, n_u)), np.zeros(n), 0.19 * np.eye(n),
                       C, c, sigma2 * np.eye(m))


def _units_shift(data) -> float:
    """:func:`~pedagogy_lib.em.units_log_shift` of the observed rows of every sequence in ``data``: the log
    likelihood plus this is that of the data in units where every column has unit spread, so EM's relative
    stopping rule reads it and stops at the same iteration whatever the units of ``y``."""
    return units_log_shift(np.concatenate([y_n[obs] for y_n, obs, _ in data]))


def _fit_once(rng, data, n, n_u, init, learn, reg_covar, max_iter, tol, return_path, backend):
    if init is None:
        init = _random_init(rng, data, n, learn, n_u)
    return run_em(lgssm_em_model(learn, reg_covar, backend), init, data, max_iter=max_iter, tol=tol,
                  return_path=return_path, log_lik_shift=_units_shift(data))


def fit_lgssm(y, n: int, *, rng: np.random.Generator | None = None, init: LGSSMParams | None = None,
              u=None, learn=DEFAULT_LEARN, max_iter: int = 200, tol: float = 1e-8, n_restarts: int = 1,
              reg_covar: float = 1e-9, return_path: bool = False, backend: str = "auto") -> EMResult:
    r"""Fit a linear-Gaussian state-space model by EM (Sections 6.3.1 and 7.4).

    Each iteration runs the Kalman filter and RTS smoother under the current parameters
    (:func:`lgssm_suff_stats`, the E step) and then the closed-form M step of Eq. 7.4
    (:func:`lgssm_m_step`); :func:`~pedagogy_lib.em.run_em` loops, records the log likelihood
    (the smoother's log evidence, Eq. 2.40) and the ELBo, and warns if the likelihood ever decreases.

    Parameters
    ----------
    y : array_like, shape (T, m), or a list of them
        One sequence or independent sequences; a row of NaN is a missing observation (it is skipped
        in the emission statistics and the filter skips its measurement update).
    n : int
        Number of latent dimensions.
    rng : numpy.random.Generator, optional
        Required when ``init`` is None (random initialization, see ``_random_init``) and for restarts.
    init : LGSSMParams, optional
        :math:`\boldsymbol\theta^{(0)}`; it also supplies every parameter that is not learned.
        Without it, the offsets and ``B`` start at zero (``c`` at the data mean when learned).
    u : array_like, shape (T - 1, n_u), or a list of them, optional
        Controls; required when ``init.B`` has columns or ``"B"`` is learned.
    learn : sequence of str
        Parameters to update, names from :data:`LEARNABLE`; default those of Eq. 7.4
        (``A, Sigma_x, C, Sigma_y_x, mu1, Sigma1``).
    max_iter : int
        Maximum number of EM iterations.
    tol : float
        Relative tolerance on the change in log likelihood, never below :math:`64\epsilon` (the
        rounding of the computed likelihood; see :func:`~pedagogy_lib.em.run_em`); 0 runs exactly
        ``max_iter`` iterations. The rule is relative to the log likelihood of ``y`` in units where
        each column has unit spread (``log_lik`` itself is reported for ``y``), so rescaling ``y`` or a
        column of it gives the same iterations.
    n_restarts : int
        Random initializations (children of ``rng``); the best final log likelihood wins. Must be 1
        when ``init`` is given.
    reg_covar : float
        Floor on the eigenvalues of every learned covariance, with a
        :class:`~pedagogy_lib.em.engine.CovarianceFloorWarning` when it binds. It is absolute: for
        ``Sigma_y_x`` it is in the units of ``y`` squared, so on data of variance below about
        ``1e3 * reg_covar`` lower it (0 is allowed) or rescale ``y``; the warning then names the
        data's smallest variance as the cause. For ``Sigma_x`` and ``Sigma1`` it is in the units of
        the latent state, which the random start sets near 1 whatever the units of ``y`` (its
        stationary covariance is about :math:`\mathbf I`). One number floors both, so no ``reg_covar``
        but 0 makes the fit exactly equivariant: for ``y -> s y`` with ``s < 1`` scale it by ``s^2``
        (the latent floor only shrinks), for ``s > 1`` keep it (the noise floor only shrinks against
        the data); either way ``C`` and ``c`` scale by ``s`` and ``Sigma_y_x`` by ``s^2``.
    return_path : bool
        Keep every iterate in ``EMResult.path``.
    backend : {"auto", "numba", "numpy"}
        The smoother's compiled kernel or its twin at every E step. ``"auto"`` decides once for the whole fit
        (:func:`pedagogy_lib.core.jit.choose`), weighing the twin's work for ``max_iter`` smoother passes
        over the data per restart: the longest run the call allows.

    Returns
    -------
    EMResult
        ``params`` is an :class:`~pedagogy_lib.lgssm.model.LGSSMParams`, identified only up to the
        similarity transform of :func:`similarity_transform`.
    """
    n = check_int(n, "n", minimum=1)
    learn = _check_learn(learn)
    reg_covar = _check_reg(reg_covar)
    n_restarts = check_int(n_restarts, "n_restarts", minimum=1)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = positive_scalar(tol, "tol", strict=False)
    backend = _checked_backend(backend)
    if init is not None:
        if not isinstance(init, LGSSMParams):
            raise TypeError(f"init must be an LGSSMParams or None; got {type(init).__name__}.")
        p, (n_init, m, n_u) = lgssm_model.check_params(init)
        if n_init != n:
            raise ValueError(f"init must have n = {n} latent dimensions; got init.mu1 of shape {p.mu1.shape}.")
        if n_restarts != 1:
            raise ValueError(f"n_restarts must be 1 when init is given (every restart would be identical); "
                             f"got {n_restarts}.")
        if "B" in learn and n_u == 0:
            raise ValueError("learn lists 'B' but init.B has no columns (n_u = 0): pass init.B of shape (n, n_u) "
                             "and controls u.")
    else:
        rng = check_rng(rng)
        p = None
        first = _as_list(y, "y")[0][0]
        m = as_array(first, "y", ndim=2, dims="(T, m)", finite=False).shape[1]
        if u is None:
            n_u = 0
            if "B" in learn:
                raise ValueError("learn lists 'B' but no controls u were given.")
        else:
            first_u = _as_list(u, "u")[0][0]
            u0 = as_array(first_u, "u", ndim=2, dims="(T - 1, n_u)")
            n_u = u0.shape[1]
    data, _ = _check_data(y, u, m, n_u)
    if learn & set(_TRANSITION) and all(y_n.shape[0] < 2 for y_n, _, _ in data):
        raise ValueError("every sequence has length T = 1, so there are no transitions: A, B, a and Sigma_x cannot "
                         "be learned (remove them from learn).")
    backend = _decide(backend, data, n, max_iter * n_restarts)                 # once for the whole fit
    fit = partial(_fit_once, data=data, n=n, n_u=n_u, init=p, learn=learn, reg_covar=reg_covar,
                  max_iter=max_iter, tol=tol, return_path=return_path, backend=backend)
    if p is not None:
        return fit(None)
    if n_restarts == 1:
        return fit(rng)
    return best_of_restarts(fit, rng, n_restarts).best
