r"""numba kernels of the hidden Markov model (book Section 2.2.1): the normalized forward filter and
the :math:`\alpha`-:math:`\gamma` smoother, one loop over time each.

:func:`forward` runs the TIME UPDATE (Eq. 2.36) and the MEASUREMENT UPDATE (Eq. 2.37) at every step,
normalized, and keeps the log normalizers of Eq. 2.40; :func:`backward` runs the :math:`\gamma`
recursion of Eq. 2.44 (FUTURE CONDITIONING, Eq. 2.38, then the BACKWARD STEP, Eq. 2.39) from the
filter and the predictions, never reading the data. The public functions that call them, their
validation and their readable NumPy twins (``_forward_numpy``, ``_backward_numpy``) are in
:mod:`~pedagogy_lib.hmm.inference`.

Contract: the kernels write into arrays their caller allocated, draw no random number and validate
nothing (``pi`` and the column-stochastic ``A`` are checked by the public functions, ``log_lik`` is
finite or ``-inf``). A zero evidence is not raised here: :func:`forward` returns the row at which it
happens, and the caller raises.
"""
from __future__ import annotations

import numpy as np

from ..core.jit import njit

__all__ = ["warmup_kernels"]


# ----------------------------------------------------------------------------------------------
# Forward pass: time update (Eq. 2.36) + measurement update (Eq. 2.37), normalized
# ----------------------------------------------------------------------------------------------

@njit
def forward(pi, A, log_lik, filtered, predicted, log_c):
    """The normalized forward filter: time update (Eq. 2.36), measurement update (Eq. 2.37), log factors (Eq. 2.40).

    Fills ``filtered``, ``predicted`` (T, K) and ``log_c`` (T,); returns -1, or the first row ``t`` at
    which the observations have probability zero. NumPy twin:
    :func:`~pedagogy_lib.hmm.inference._forward_numpy` (same names, same equations).

    The time update is written as a sum of columns of A (``pred += A[:, j] f_j``), four columns
    at a time: the loop over ``i`` is contiguous in ``At = A.T`` and has no reduction, so it
    vectorizes without fastmath, and ``pred`` goes through memory a quarter as often.
    """
    T, K = log_lik.shape
    At = np.ascontiguousarray(A.T)       # At[j, :] = A[:, j]
    K4 = K - K % 4
    pred = np.empty(K)                   # predicted[t]
    f = np.empty(K)                      # filtered[t - 1], then filtered[t]
    for t in range(T):
        # TIME UPDATE, Eq. 2.36: pred = A @ f
        if t == 0:
            for i in range(K):
                pred[i] = pi[i]
        else:
            for i in range(K):
                pred[i] = 0.0
            for j in range(0, K4, 4):
                f0 = f[j]
                f1 = f[j + 1]
                f2 = f[j + 2]
                f3 = f[j + 3]
                for i in range(K):
                    pred[i] += (At[j, i] * f0 + At[j + 1, i] * f1) + (At[j + 2, i] * f2 + At[j + 3, i] * f3)
            for j in range(K4, K):
                f0 = f[j]
                for i in range(K):
                    pred[i] += At[j, i] * f0
        # MEASUREMENT UPDATE, Eq. 2.37, with the likelihood scaled by exp(-m)
        m = log_lik[t, 0]
        for k in range(1, K):
            m = max(m, log_lik[t, k])                   # branch-free running maximum
        if m == -np.inf:
            return t
        c = 0.0
        for k in range(K):
            joint = pred[k] * np.exp(log_lik[t, k] - m)
            f[k] = joint
            c += joint
        if not c > 0.0:
            return t
        inv_c = 1.0 / c                                 # one division, K multiplications
        for k in range(K):
            f[k] *= inv_c
            filtered[t, k] = f[k]
            predicted[t, k] = pred[k]
        log_c[t] = np.log(c) + m
    return -1


# ----------------------------------------------------------------------------------------------
# Backward pass: the gamma recursion, Eq. 2.44 (future conditioning 2.38 + backward step 2.39)
# ----------------------------------------------------------------------------------------------

@njit
def backward(A, filtered, predicted, gamma, xi):
    """The gamma recursion of Eq. 2.44: future conditioning (Eq. 2.38) and the backward step (Eq. 2.39).

    Fills ``gamma`` (T, K) and, if it has ``T - 1`` rows, the pairwise smoother ``xi`` (T-1, K, K);
    returns the expected transition counts ``xi_sum`` (K, K). NumPy twin:
    :func:`~pedagogy_lib.hmm.inference._backward_numpy`.

    The expected transition counts are accumulated step by step (``S += outer(ratio, f)``)
    instead of storing ``ratio`` for all times. In ``g = A^T ratio`` the rows of A are taken four
    at a time, so that the contiguous loop over ``j`` vectorizes and ``g`` goes through memory a
    quarter as often (fusing the ``S`` update into that loop was measured to be slower).
    """
    T, K = filtered.shape
    full_xi = xi.shape[0] > 0
    K4 = K - K % 4
    for k in range(K):
        gamma[T - 1, k] = filtered[T - 1, k]            # smoother at T = filter at T
    ratio = np.empty(K)                                 # gamma_{t+1} / predicted_{t+1}
    f = np.empty(K)                                     # filtered[t]
    g = np.empty(K)                                     # A^T ratio
    S = np.zeros((K, K))                                # sum_t outer(ratio_{t+1}, filtered_t)
    for t in range(T - 2, -1, -1):
        for i in range(K):
            p = predicted[t + 1, i]
            ratio[i] = gamma[t + 1, i] / p if p > 0.0 else 0.0
        for j in range(K):
            f[j] = filtered[t, j]
            g[j] = 0.0
        # BACKWARD STEP, Eq. 2.39: g = A^T ratio, accumulated from the rows of A, four at a time
        for i in range(0, K4, 4):
            r0 = ratio[i]
            r1 = ratio[i + 1]
            r2 = ratio[i + 2]
            r3 = ratio[i + 3]
            for j in range(K):
                g[j] += (A[i, j] * r0 + A[i + 1, j] * r1) + (A[i + 2, j] * r2 + A[i + 3, j] * r3)
        for i in range(K4, K):
            r0 = ratio[i]
            for j in range(K):
                g[j] += A[i, j] * r0
        # expected transition counts: S += outer(ratio, f)
        for i in range(K):
            r0 = ratio[i]
            for j in range(K):
                S[i, j] += r0 * f[j]
        for j in range(K):
            gamma[t, j] = f[j] * g[j]
        # FUTURE CONDITIONING (Eq. 2.38) x gamma_{t+1}: pairwise smoother, Eq. 2.44 first line
        if full_xi:
            for i in range(K):
                for j in range(K):
                    xi[t, i, j] = ratio[i] * A[i, j] * f[j]
    # Expected transition counts: sum_t xi[t, i, j] = A[i, j] * S[i, j]
    return A * S


def warmup_kernels() -> None:
    """Compile (or load from cache) both kernels on a tiny problem, with and without full ``xi``."""
    pi = np.array([0.6, 0.4])
    A = np.array([[0.9, 0.2], [0.1, 0.8]])
    log_lik = np.log(np.array([[0.5, 0.1], [0.2, 0.7], [0.3, 0.3]]))
    T, K = log_lik.shape
    filtered, predicted, log_c = np.empty((T, K)), np.empty((T, K)), np.empty(T)
    forward(pi, A, log_lik, filtered, predicted, log_c)
    gamma = np.empty((T, K))
    backward(A, filtered, predicted, gamma, np.empty((T - 1, K, K)))
    backward(A, filtered, predicted, gamma, np.empty((0, K, K)))
