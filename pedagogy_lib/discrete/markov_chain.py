r"""Finite Markov chains: stationary distribution, detailed balance, spectral gap and mixing time.

The draft's Appendix B.2 opens a "Markov chains" subsection (its table is still to come); these are
the facts the MCMC material relies on, computed exactly for small chains.

**Convention.** As for the HMM's transition matrix (Section 2.2.1, ``book/notation.md``), ``P`` is
*column-stochastic*:

.. math:: P_{ij} = p(x_{t+1} = i \mid x_t = j), \qquad \sum_i P_{ij} = 1,

so a distribution (a column vector) moves forward as :math:`\mathbf p_{t+1} = \mathbf P\mathbf p_t`
and a stationary distribution solves :math:`\mathbf P\boldsymbol\pi = \boldsymbol\pi`. Most texts on
Markov chains (and most libraries) use the transpose, a row-stochastic matrix with
:math:`\boldsymbol\pi^T\mathbf P = \boldsymbol\pi^T`: pass ``P.T`` from such a source. A
row-stochastic matrix that is not also column-stochastic is refused with a message saying so.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import (PROB_ATOL, as_array, check_int, check_prob_vector, check_rng, check_stochastic_matrix,
                           positive_scalar)

__all__ = [
    "MixingBounds",
    "check_transition_matrix",
    "stationary_distribution",
    "is_detailed_balance",
    "detailed_balance_violation",
    "spectral_gap",
    "tv_to_stationarity",
    "mixing_time",
    "mixing_time_bounds",
    "simulate_chain",
]


class MixingBounds(NamedTuple):
    r"""Spectral bounds on the mixing time of a reversible chain.

    Attributes
    ----------
    lower, upper : float
        :math:`(t_{rel} - 1)\log\frac{1}{2\epsilon} \le t_{mix}(\epsilon) \le t_{rel}\log\frac{1}{\epsilon\,\pi_{min}}`
        with the relaxation time :math:`t_{rel} = 1/\gamma_*`.
    t_rel : float
        The relaxation time, one over the absolute spectral gap.
    """

    lower: float
    upper: float
    t_rel: float


def check_transition_matrix(P, name: str = "P") -> np.ndarray:
    """Return ``P`` as a float array after checking that it is a column-stochastic square matrix.

    A row-stochastic matrix (the other common convention) is refused with a hint to pass its transpose.
    """
    P = as_array(P, name, ndim=2)
    try:
        check_stochastic_matrix(P, name)
    except ValueError as err:
        if "stochastic" in str(err) and np.allclose(P.sum(axis=1), 1.0, rtol=0.0, atol=PROB_ATOL):
            raise ValueError(f"{err} Its rows sum to one: the book's convention is column-stochastic, "
                             f"{name}[i, j] = p(x_t+1 = i | x_t = j), so pass {name}.T.") from None
        raise
    return P


def _eigenvalues_by_modulus(P: np.ndarray) -> np.ndarray:
    lam = np.linalg.eigvals(P)
    return lam[np.argsort(-np.abs(lam), kind="stable")]


def stationary_distribution(P) -> np.ndarray:
    r"""The stationary distribution :math:`\boldsymbol\pi` with :math:`\mathbf P\boldsymbol\pi = \boldsymbol\pi`.

    For an irreducible chain it is computed by state reduction (the Grassmann-Taksar-Heyman
    algorithm: censor the chain on ever fewer states, then build :math:`\boldsymbol\pi` back up), which
    adds and divides only non-negative numbers, so every entry keeps its relative accuracy: a state
    visited with probability :math:`10^{-200}` gets that, not zero, and two blocks joined only by
    transitions of :math:`10^{-20}` are told apart from two closed classes. Otherwise it is the null
    space of :math:`\mathbf P - \mathbf I` (by SVD), which is one-dimensional exactly when the chain has a
    single closed class.

    Parameters
    ----------
    P : array_like, shape (K, K)
        Column-stochastic transition matrix, ``P[i, j] = p(x_{t+1} = i | x_t = j)``.

    Returns
    -------
    pi : ndarray, shape (K,)
        Non-negative and summing to one.

    Raises
    ------
    ValueError
        If ``P`` is not column-stochastic, or the stationary distribution is not unique (two or
        more closed classes: the message gives the dimension of the null space).
    """
    P = check_transition_matrix(P)
    K = P.shape[0]
    pi = _state_reduction(P)
    if pi is not None:
        return pi
    _, s, Vt = np.linalg.svd(P - np.eye(K))
    tol = max(K, 1) * np.finfo(float).eps * 64
    null = int(np.sum(s <= tol))
    if null > 1:
        raise ValueError(f"P has {null} linearly independent stationary distributions (it has more than one "
                         "closed class), so the stationary distribution is not unique.")
    v = Vt[-1]
    pi = v / v.sum()
    pi = np.where(np.abs(pi) < tol, 0.0, pi)      # rounding noise on transient states
    return pi / pi.sum()


def _state_reduction(P: np.ndarray):
    """The stationary distribution of an irreducible column-stochastic ``P`` by state reduction, or
    ``None`` when a reduced state has no way back to the states kept (the chain is not irreducible)."""
    Q = np.array(P.T, dtype=float)              # row-stochastic: Q[j, i] = p(x_{t+1} = i | x_t = j)
    K = Q.shape[0]
    for n in range(K - 1, 0, -1):
        out = Q[n, :n].sum()                    # probability of leaving n for the states still kept
        if not out > 0.0:
            return None
        Q[:n, n] /= out
        Q[:n, :n] += np.outer(Q[:n, n], Q[n, :n])
    pi = np.zeros(K)
    pi[0] = 1.0
    for n in range(1, K):
        pi[n] = pi[:n] @ Q[:n, n]
    return pi / pi.sum()


def detailed_balance_violation(P, pi) -> float:
    r"""Largest :math:`|P_{ij}\pi_j - P_{ji}\pi_i|`: the net probability flow between two states.

    Zero exactly when the chain satisfies detailed balance with respect to ``pi``.
    """
    P = check_transition_matrix(P)
    pi = as_array(pi, "pi", shape=(P.shape[0],), dims="(K,)")
    check_prob_vector(pi, "pi")
    flow = P * pi[None, :]                     # flow[i, j] = p(x_t = j, x_t+1 = i)
    return float(np.abs(flow - flow.T).max())


def is_detailed_balance(P, pi, *, atol: float = 1e-12) -> bool:
    r"""Whether :math:`P_{ij}\pi_j = P_{ji}\pi_i` for every pair of states (reversibility).

    Detailed balance implies stationarity (sum the equation over :math:`j`), not the other way round.

    Parameters
    ----------
    P : array_like, shape (K, K)
        Column-stochastic transition matrix.
    pi : array_like, shape (K,)
        A probability vector.
    atol : float
        Tolerance on the largest flow imbalance.
    """
    atol = positive_scalar(atol, "atol", strict=False)
    return detailed_balance_violation(P, pi) <= atol


def spectral_gap(P) -> float:
    r"""The absolute spectral gap :math:`\gamma_* = 1 - |\lambda_2|`, with the eigenvalues ordered by modulus and
    counted with multiplicity, :math:`1 = |\lambda_1| \ge |\lambda_2| \ge \dots`.

    For an irreducible chain this is :math:`1 - \max\{|\lambda| : \lambda \ne 1\}`, since the eigenvalue 1 is
    then simple. It is 0 for a periodic chain, whose other eigenvalues include roots of unity, and for a
    chain with two closed classes, where 1 is a double eigenvalue (the formula over :math:`\lambda \ne 1`
    would not see that). For a reversible chain its inverse, the relaxation time, sets how fast
    :math:`\mathbf P^t\mathbf p_0` approaches :math:`\boldsymbol\pi` (see :func:`mixing_time_bounds`).
    """
    P = check_transition_matrix(P)
    if P.shape[0] == 1:
        return 1.0
    lam = _eigenvalues_by_modulus(P)
    return float(max(0.0, 1.0 - abs(lam[1])))


def tv_to_stationarity(P, t_max: int) -> np.ndarray:
    r"""Worst-case total-variation distance to stationarity, :math:`d(t)` for :math:`t = 0..t_{max}`.

    .. math:: d(t) = \max_j \tfrac12\,\|\mathbf P^t\mathbf e_j - \boldsymbol\pi\|_1,

    the distance after :math:`t` steps from the worst starting state :math:`j`.

    Returns
    -------
    d : ndarray, shape (t_max + 1,)
        Non-increasing in :math:`t`.
    """
    P = check_transition_matrix(P)
    t_max = check_int(t_max, "t_max", minimum=0)
    pi = stationary_distribution(P)
    K = P.shape[0]
    Pt = np.eye(K)
    d = np.empty(t_max + 1)
    for t in range(t_max + 1):
        d[t] = 0.5 * np.abs(Pt - pi[:, None]).sum(axis=0).max()
        Pt = P @ Pt
    return d


def mixing_time(P, eps: float = 0.25, *, t_max: int = 100_000) -> int:
    r"""The mixing time :math:`t_{mix}(\epsilon) = \min\{t : d(t) \le \epsilon\}`, by matrix powers.

    Parameters
    ----------
    P : array_like, shape (K, K)
        Column-stochastic transition matrix with a unique stationary distribution.
    eps : float
        Total-variation threshold in ``(0, 1)``; 1/4 is the customary default. It must be at least
        :math:`64K\epsilon_\mathrm{mach}`: the computed :math:`d(t)` carries rounding of a few ulps per
        entry of :math:`\mathbf P^t` and :math:`\boldsymbol\pi`, summed over :math:`K` states, so
        below that floor whether and when it is met depends on the order of the floating-point
        operations.
    t_max : int
        Give up after this many steps.

    Raises
    ------
    ValueError
        If ``eps`` is below the rounding floor above, or if the chain does not get within ``eps`` of
        stationarity by ``t_max`` steps (a periodic chain never does; the message reports the
        spectral gap).
    """
    P = check_transition_matrix(P)
    eps = positive_scalar(eps, "eps")
    if eps >= 1.0:
        raise ValueError(f"eps must be in (0, 1); got {eps}.")
    t_max = check_int(t_max, "t_max", minimum=0)
    floor = 64.0 * P.shape[0] * np.finfo(float).eps
    if eps < floor:
        raise ValueError(f"eps must be at least 64 K eps_mach = {floor:.3g} (K = {P.shape[0]} states), the rounding "
                         f"of the computed total-variation distance; got {eps:.3g}.")
    pi = stationary_distribution(P)
    Pt = np.eye(P.shape[0])
    for t in range(t_max + 1):
        if 0.5 * np.abs(Pt - pi[:, None]).sum(axis=0).max() <= eps:
            return t
        Pt = P @ Pt
    raise ValueError(f"P did not mix to within eps = {eps} in t_max = {t_max} steps (absolute spectral gap "
                     f"{spectral_gap(P):.3g}; a periodic chain, with gap 0, never mixes).")


def mixing_time_bounds(P, eps: float = 0.25) -> MixingBounds:
    r"""Lower and upper bounds on :math:`t_{mix}(\epsilon)` from the absolute spectral gap (reversible chains).

    .. math:: (t_{rel} - 1)\log\frac{1}{2\epsilon} \;\le\; t_{mix}(\epsilon) \;\le\;
              t_{rel}\log\frac{1}{\epsilon\,\pi_{min}}, \qquad t_{rel} = 1/\gamma_*,

    the standard relaxation-time bounds (Levin and Peres, *Markov Chains and Mixing Times*, 2nd ed.,
    Chapter 12).

    Raises
    ------
    ValueError
        If ``P`` is not reversible (the bounds need detailed balance) or its gap is zero.
    """
    P = check_transition_matrix(P)
    eps = positive_scalar(eps, "eps")
    if eps >= 0.5:
        raise ValueError(f"eps must be in (0, 1/2) for the lower bound; got {eps}.")
    pi = stationary_distribution(P)
    viol = detailed_balance_violation(P, pi)
    if viol > 1e-10:
        raise ValueError(f"P must satisfy detailed balance for these bounds; the largest flow imbalance is "
                         f"{viol:.3g}.")
    gap = spectral_gap(P)
    if gap <= 0.0:
        raise ValueError("P has absolute spectral gap 0 (periodic or reducible): it does not mix.")
    t_rel = 1.0 / gap
    if pi.min() >= 1e-280:                                  # eps pi_min is a normal float
        log_term = np.log(1.0 / (eps * pi.min()))
    else:                                                   # pi_min subnormal or rounded to 0
        log_term = -np.log(eps) - _log_pi_min(P, pi)
    return MixingBounds(lower=float((t_rel - 1.0) * np.log(1.0 / (2.0 * eps))), upper=float(t_rel * log_term),
                        t_rel=t_rel)


def _log_pi_min(P: np.ndarray, pi: np.ndarray) -> float:
    r""":math:`\log\pi_{min}` of a reversible chain, from the ratios of detailed balance.

    :math:`\pi_j/\pi_i = P_{ji}/P_{ij}` along every edge used both ways, so the logs follow from a
    breadth-first walk out of the likeliest state and stay finite where :math:`\pi_{min}` itself is
    below the floats (a chain whose rarest state has probability 1e-400 has a finite bound). States the
    walk does not reach keep the log of ``pi`` (0 for a transient state, giving an infinite bound).
    """
    K = P.shape[0]
    with np.errstate(divide="ignore"):
        log_pi = np.log(pi)
        log_P = np.log(P)
    root = int(np.argmax(pi))
    seen = np.zeros(K, dtype=bool)
    seen[root] = True
    rel = np.zeros(K)
    queue = [root]
    while queue:
        i = queue.pop()
        for j in np.flatnonzero((P[:, i] > 0) & (P[i, :] > 0) & ~seen):
            rel[j] = rel[i] + log_P[j, i] - log_P[i, j]
            seen[j] = True
            queue.append(int(j))
    top = rel[seen].max()
    log_pi[seen] = rel[seen] - (top + np.log(np.sum(np.exp(rel[seen] - top))))
    return float(log_pi.min())


def simulate_chain(P, x1: int, T: int, rng: np.random.Generator) -> np.ndarray:
    r"""Draw a path :math:`x_1, \dots, x_T` of the chain started at state ``x1``.

    The uniforms are drawn in one block and each step inverts the cumulative column
    :math:`\sum_{i' \le i} P_{i' x_t}`.

    Returns
    -------
    x : ndarray of int, shape (T,)
    """
    P = check_transition_matrix(P)
    K = P.shape[0]
    x1 = check_int(x1, "x1", minimum=0, maximum=K - 1)
    T = check_int(T, "T", minimum=1)
    rng = check_rng(rng)
    u = rng.random(T - 1)
    cdf = np.cumsum(P, axis=0)
    cdf[-1, :] = 1.0
    x = np.empty(T, dtype=np.int64)
    x[0] = x1
    for t in range(1, T):
        x[t] = int(np.searchsorted(cdf[:, x[t - 1]], u[t - 1], side="right"))
    return x
