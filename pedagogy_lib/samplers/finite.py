r"""Exact transition matrices of the samplers on finite state spaces: stationarity you can check to rounding.

On :math:`S` states a Metropolis-Hastings chain is the matrix

.. math::
    T_{ij} = g(i\mid j)\,A(i, j)\ (i\ne j), \qquad T_{jj} = 1 - \sum_{i\ne j}T_{ij},

with :math:`A(i, j) = \min\{1, \exp(\text{ratio})\}` for the move from :math:`j` to :math:`i`, computed
by the same :func:`~pedagogy_lib.samplers.proposals.mh_log_accept_ratio` the continuous samplers use.
As for the HMM and :mod:`pedagogy_lib.discrete.markov_chain`, matrices are *column-stochastic*
(column ``j`` is "from state ``j``"): the stationary distribution solves
:math:`\mathbf T\boldsymbol\pi = \boldsymbol\pi`, and detailed balance says
:math:`\mathbf T\,\mathrm{diag}(\boldsymbol\pi)` is symmetric.

* :func:`mh_transition_matrix`: any target and any proposal matrix;
* :func:`mala_transition_matrix`: MALA restricted to a grid on the line (the Langevin proposal's
  density times the grid spacing; the mass that falls off the grid stays put);
* :func:`gibbs_transition_matrix`: random-scan or systematic-scan Gibbs on two discrete variables.
"""
from __future__ import annotations

import numpy as np

from ..core.checks import as_array, check_choice, check_stochastic_matrix, positive_scalar
from ..core.logmath import log_normalize
from .proposals import mala_log_proposal, mh_log_accept_ratio

__all__ = ["mh_transition_matrix", "mala_transition_matrix", "gibbs_transition_matrix"]


def _close_rows(T):
    """Put each row's missing mass on the diagonal (rejections), then transpose to column-stochastic.

    The builders below work with rows as "from" states, where the formulas read naturally.
    """
    np.fill_diagonal(T, 0.0)
    np.fill_diagonal(T, 1.0 - T.sum(axis=1))
    return np.ascontiguousarray(T.T)


def mh_transition_matrix(log_p, g) -> np.ndarray:
    r"""The Metropolis-Hastings transition matrix for an unnormalized target and a proposal matrix.

    Parameters
    ----------
    log_p : array_like, shape (S,)
        :math:`\log\tilde p` on the states (finite).
    g : array_like, shape (S, S)
        Proposal probabilities ``g[i, j]`` :math:`= g(i\mid j)`, column-stochastic, with
        :math:`g_{ij} > 0 \Leftrightarrow g_{ji} > 0` (otherwise the Hastings ratio is undefined).

    Returns
    -------
    ndarray, shape (S, S)
    """
    log_p = as_array(log_p, "log_p", ndim=1, dims="(S,)", nonempty=True)
    S = log_p.shape[0]
    g = as_array(g, "g", shape=(S, S), dims="(S, S)")
    check_stochastic_matrix(g, "g", axis=0)
    if np.any((g > 0) != (g.T > 0)):
        i, j = (int(v) for v in np.argwhere((g > 0) != (g.T > 0))[0])
        raise ValueError(f"g must propose j from i exactly when it proposes i from j; g[{i}, {j}] = {g[i, j]:.3g} "
                         f"but g[{j}, {i}] = {g[j, i]:.3g}.")
    g = g.T                                               # rows "from": g[i, j] = g(j | i)
    with np.errstate(divide="ignore"):
        log_g = np.log(g)
    ratio = mh_log_accept_ratio(log_p[None, :], log_p[:, None], log_g.T, log_g)
    with np.errstate(invalid="ignore"):
        T = np.where(g > 0, g * np.exp(np.minimum(ratio, 0.0)), 0.0)
    return _close_rows(T)


def mala_transition_matrix(x, log_p, force, step_size) -> np.ndarray:
    r"""MALA on a uniform grid of the line: :math:`T_{ij} = \Delta\,g(x_i\mid x_j)\,A(i, j)` off the diagonal.

    ``g`` is the Langevin proposal of Eq. 8.44 (:func:`~pedagogy_lib.samplers.proposals.mala_log_proposal`),
    ``force`` the derivative of ``log_p`` at the grid points and :math:`\Delta` the spacing.
    """
    x = as_array(x, "x", ndim=1, dims="(S,)", nonempty=True)
    S = x.shape[0]
    log_p = as_array(log_p, "log_p", shape=(S,), dims="(S,)")
    force = as_array(force, "force", shape=(S,), dims="(S,)")
    eps = positive_scalar(step_size, "step_size")
    dx = np.diff(x)
    if S < 2 or np.any(dx <= 0) or not np.allclose(dx, dx[0], rtol=1e-9):
        raise ValueError("x must be an increasing uniform grid of at least 2 points.")
    X_to, X_from = np.meshgrid(x, x)                      # [i, j]: from x_i to x_j
    F_from = np.broadcast_to(force[:, None], (S, S))
    F_to = np.broadcast_to(force[None, :], (S, S))
    log_fwd = mala_log_proposal(X_to.reshape(-1, 1), X_from.reshape(-1, 1), F_from.reshape(-1, 1), eps).reshape(S, S)
    log_rev = mala_log_proposal(X_from.reshape(-1, 1), X_to.reshape(-1, 1), F_to.reshape(-1, 1), eps).reshape(S, S)
    ratio = mh_log_accept_ratio(log_p[None, :], log_p[:, None], log_rev, log_fwd)
    T = dx[0] * np.exp(log_fwd + np.minimum(ratio, 0.0))
    return _close_rows(T)


def gibbs_transition_matrix(log_joint, scan: str = "random") -> np.ndarray:
    r"""Gibbs sampling on two discrete variables :math:`(a, b)`, states flattened as ``a * n_b + b``.

    Updating :math:`a` from :math:`p(a\mid b)` is the matrix :math:`\mathbf T_a`, likewise
    :math:`\mathbf T_b`. ``scan="random"`` picks one at random, :math:`\tfrac12(\mathbf T_a+\mathbf T_b)`,
    which is reversible; ``scan="systematic"`` updates :math:`a` then :math:`b`, which leaves :math:`p`
    stationary without satisfying detailed balance in general. Column-stochastic, like the others.

    Parameters
    ----------
    log_joint : array_like, shape (n_a, n_b)
        :math:`\log\tilde p(a, b)`, finite.
    scan : {"random", "systematic"}
    """
    L = as_array(log_joint, "log_joint", ndim=2, dims="(n_a, n_b)", nonempty=True)
    scan = check_choice(scan, "scan", ("random", "systematic"))
    na, nb = L.shape
    # each conditional normalized on its own, in logs: a global shift leaves a column (or row) whose
    # joint is far below the largest entry all zero, and 0 / 0 (issue 53)
    cond_a = np.exp(log_normalize(L, axis=0))             # p(a | b), columns sum to one
    cond_b = np.exp(log_normalize(L, axis=1))             # p(b | a), rows sum to one
    S = na * nb
    Ta = np.zeros((S, S))
    Tb = np.zeros((S, S))
    for a in range(na):
        for b in range(nb):
            i = a * nb + b
            for a2 in range(na):
                Ta[i, a2 * nb + b] = cond_a[a2, b]
            for b2 in range(nb):
                Tb[i, a * nb + b2] = cond_b[a, b2]
    T = 0.5 * (Ta + Tb) if scan == "random" else Ta @ Tb    # rows "from"; a then b
    return np.ascontiguousarray(T.T)
