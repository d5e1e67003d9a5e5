r"""numba kernels of the Gaussian mixture (book Section 7.1): the E step fused with its sufficient
statistics, one pass over the data in blocks of points.

For each block of ``BLOCK`` points the drivers compute the logits of Eq. 2.8, the responsibilities
by log-sum-exp (Eqs. 2.6-2.7, with the log marginal of Eq. 2.10), the block's share of the log
likelihood and of the entropy of the responsibilities, and add to ``M[k]`` the moments of the
centred extended vectors :math:`\tilde{\mathbf d}_{nk} = (\mathbf y_n - \boldsymbol\mu_k, 1)`,

.. math:: \mathbf M_k \mathrel{+}= \sum_n r_{nk}\,\tilde{\mathbf d}_{nk}\tilde{\mathbf d}_{nk}^{\mathsf T}
    = \begin{bmatrix}\sum_n r_{nk}\mathbf d_{nk}\mathbf d_{nk}^{\mathsf T} & \sum_n r_{nk}\mathbf d_{nk}\\
      \cdot & N_k\end{bmatrix}

(at least its upper triangle). Each block is stored transposed (points along the last axis), so every
inner loop runs over the points of the block: contiguous and free of reductions, it vectorizes without
fastmath. Two drivers share the pieces and differ only in how the moments are summed:
:func:`suff_stats_lane_sums` keeps one partial sum per lane and adds them up at the end (fastest for a
small dimension ``L``), :func:`suff_stats_blas` adds one BLAS product :math:`(r\tilde{\mathbf d})^{\mathsf T}
\tilde{\mathbf d}` per block and component (fastest above ``MAX_L_LANE_SUMS``);
:mod:`~pedagogy_lib.mixture.em` chooses between them by ``L``.

The public functions, their validation, the precomputed inputs (``U[k]`` :math:`= \mathbf L_k^{-\mathsf T}`
with :math:`\boldsymbol\Sigma_k = \mathbf L_k\mathbf L_k^{\mathsf T}`; ``b[k]`` the data-independent part
of the logit) and the readable NumPy twin ``_stats_numpy`` are in :mod:`~pedagogy_lib.mixture.em`.
Contract: the drivers add into the caller's zero-initialized ``M`` (K, L+1, L+1), return
``(log_lik, entropy)``, draw no random number and validate nothing.
"""
from __future__ import annotations

import numpy as np

from ..core.jit import njit, njit_inline
from ..core.kernels import dot_blas, exp_into

__all__ = ["warmup_kernels"]

#: Points per block: the length of every inner loop.
BLOCK = 128
#: Up to this dimension the moments are summed per lane (:func:`suff_stats_lane_sums`), above it by BLAS.
MAX_L_LANE_SUMS = 4
#: From this dimension on, the driver by BLAS also whitens a block's points by BLAS (:func:`block_logits`).
MIN_L_BLAS_LOGITS = 8


# ----------------------------------------------------------------------------------------------
# Pieces of one block (inlined into the drivers)
# ----------------------------------------------------------------------------------------------

@njit_inline
def block_buffers(K, L):
    """The work arrays of one block: ``yb`` (L, B), ``D`` (K, L+1, B), ``W`` (L, B), ``q`` (B,), ``z``,
    ``R`` and ``V`` (K, B), ``zmax``, ``s``, ``lse`` (B,), ``RD`` (L+1, B), ``bits`` (K B,) int64."""
    B = BLOCK
    return (np.zeros((L, B)), np.zeros((K, L + 1, B)), np.zeros((L, B)), np.zeros(B), np.zeros((K, B)),
            np.zeros((K, B)), np.zeros((K, B)), np.zeros(B), np.zeros(B), np.zeros(B), np.zeros((L + 1, B)),
            np.zeros(K * B, np.int64))


@njit_inline
def load_block(y, start, m, yb):
    """Copy the ``m`` rows of ``y`` from ``start`` into the first ``m`` columns of ``yb``: the block, transposed."""
    for n in range(m):
        for i in range(y.shape[1]):
            yb[i, n] = y[start + n, i]


@njit_inline
def block_logits(yb, m, mu, U, b, D, W, q, z, by_blas):
    r"""The logits of Eq. 2.8 for a block, :math:`z_{nk} = b_k - \tfrac12\|\mathbf L_k^{-1}\mathbf d_{nk}\|^2`.

    Fills ``D[k, :, n]`` with :math:`\tilde{\mathbf d}_{nk} = (\mathbf y_n - \boldsymbol\mu_k, 1)` and
    ``z[k, n]``; ``W`` and ``q`` are work rows. ``W`` :math:`= \mathbf L_k^{-1}\mathbf D_k` is one BLAS
    product with ``by_blas`` (the driver by BLAS, from ``L = MIN_L_BLAS_LOGITS`` on: at D = 16 the E
    step took 13% less time), else the triangle of :math:`\mathbf L_k^{-1}` one column at a time. NumPy twin: the first loop of
    :func:`~pedagogy_lib.mixture.em._stats_numpy`.
    """
    K, L = mu.shape
    for k in range(K):
        for i in range(L):
            mki = mu[k, i]
            for n in range(m):
                D[k, i, n] = yb[i, n] - mki          # d_nk = y_n - mu_k
                W[i, n] = 0.0
        for n in range(m):
            D[k, L, n] = 1.0
            q[n] = 0.0
        if by_blas:                                  # W = L_k^{-1} D = U[k]^T D ...
            dot_blas(U[k].T, D[k, :L], W)
        else:                                        # ... or one column of L_k^{-1} at a time
            for j in range(L):
                for i in range(j, L):
                    c = U[k, j, i]
                    for n in range(m):
                        W[i, n] += c * D[k, j, n]
        for i in range(L):
            for n in range(m):
                q[n] += W[i, n] * W[i, n]            # Mahalanobis distances
        bk = b[k]
        for n in range(m):
            z[k, n] = bk - 0.5 * q[n]                # Eq. 2.8: the logit z_nk


@njit_inline
def block_responsibilities(z, m, R, zmax, s, lse, log_lik, entropy, V, bits):
    r"""Responsibilities of a block by log-sum-exp (Eqs. 2.6-2.7) into ``R`` (K, B).

    Adds the block's :math:`\sum_n\log\hat p(\mathbf y_n)` (Eq. 2.10) to ``log_lik`` and its
    :math:`-\sum_{n,k} r_{nk}\log r_{nk}` to ``entropy`` and returns both; ``zmax``, ``s``, ``lse``, ``V``
    and ``bits`` are work arrays. NumPy twin: the log-sum-exp lines of
    :func:`~pedagogy_lib.mixture.em._stats_numpy`.

    The exponentials :math:`e^{z_{nk} - \max_j z_{nj}}` are :func:`~pedagogy_lib.core.kernels.exp_into`'s,
    over the whole block at once: vectorized, and exactly 0 at or below -708, where ``np.exp`` (the
    twin's) gives subnormal numbers. A responsibility below :math:`e^{-708}` adds less than
    :math:`10^{-307}` to any statistic, but as a subnormal number it sent every product it entered
    (the moments of the block) down a slow path of the CPU: at D = 16 the E step ran about three times
    slower once a fitted mixture's components were far apart.
    """
    K, B = z.shape
    for n in range(m):
        zmax[n] = -np.inf
        s[n] = 0.0
    for k in range(K):
        for n in range(m):
            if z[k, n] > zmax[n]:
                zmax[n] = z[k, n]
    for k in range(K):
        for n in range(m):
            V[k, n] = z[k, n] - zmax[n]
    exp_into(V.reshape(K * B), 1.0, 0.0, R.reshape(K * B), bits)
    for k in range(K):
        for n in range(m):
            s[n] += R[k, n]
    for n in range(m):
        lse[n] = zmax[n] + np.log(s[n])              # log p(y_n) (Eq. 2.10)
        log_lik += lse[n]
    for k in range(K):
        for n in range(m):
            r = R[k, n] / s[n]                       # responsibility r_nk (Eqs. 2.6-2.7)
            R[k, n] = r
            if r > 0.0:                              # 0 log 0 = 0
                entropy -= r * (z[k, n] - lse[n])
    return log_lik, entropy


@njit_inline
def weighted_block(R, D, k, m, RD):
    r"""``RD[:, n]`` :math:`= r_{nk}\tilde{\mathbf d}_{nk}` for the block's ``m`` points, zero in the padding.

    NumPy twin: ``r[:, k:k + 1] * d_ext`` in :func:`~pedagogy_lib.mixture.em._stats_numpy`.
    """
    L1, B = RD.shape
    for i in range(L1):
        for n in range(m):
            RD[i, n] = R[k, n] * D[k, i, n]
        for n in range(m, B):                        # padding of the last block adds nothing
            RD[i, n] = 0.0


@njit_inline
def add_lane_moments(RD, D, k, m, acc):
    r"""``acc[k, i, j, n] += RD[i, n] D[k, j, n]`` for ``i <= j``: the moments of component ``k``, one partial
    sum per point of the block (lane), summed by :func:`sum_lanes` at the end."""
    L1 = RD.shape[0]
    for i in range(L1):
        for j in range(i, L1):
            for n in range(m):
                acc[k, i, j, n] += RD[i, n] * D[k, j, n]


@njit_inline
def sum_lanes(acc, M):
    """Add the lanes of ``acc`` (K, L+1, L+1, B) into the upper triangle of ``M`` (K, L+1, L+1)."""
    K, L1, _, B = acc.shape
    for k in range(K):
        for i in range(L1):
            for j in range(i, L1):
                t = 0.0
                for n in range(B):
                    t += acc[k, i, j, n]
                M[k, i, j] += t


# ----------------------------------------------------------------------------------------------
# Drivers: the whole E step with its statistics
# ----------------------------------------------------------------------------------------------

@njit
def suff_stats_lane_sums(y, mu, U, b, M):
    r"""The E step and its sufficient statistics (Section 7.1; Eqs. 2.6-2.8, 2.10), moments summed per lane.

    Adds :math:`\sum_n r_{nk}\tilde{\mathbf d}_{nk}\tilde{\mathbf d}_{nk}^{\mathsf T}` into the upper
    triangle of ``M[k]`` and returns ``(log_lik, entropy)``. For ``L <= MAX_L_LANE_SUMS``. NumPy twin:
    :func:`~pedagogy_lib.mixture.em._stats_numpy`.
    """
    N, L = y.shape
    K = mu.shape[0]
    yb, D, W, q, z, R, V, zmax, s, lse, RD, bits = block_buffers(K, L)
    acc = np.zeros((K, L + 1, L + 1, BLOCK))
    log_lik = 0.0
    entropy = 0.0
    for start in range(0, N, BLOCK):
        m = min(BLOCK, N - start)
        load_block(y, start, m, yb)
        block_logits(yb, m, mu, U, b, D, W, q, z, False)
        log_lik, entropy = block_responsibilities(z, m, R, zmax, s, lse, log_lik, entropy, V, bits)
        for k in range(K):
            weighted_block(R, D, k, m, RD)
            add_lane_moments(RD, D, k, m, acc)
    sum_lanes(acc, M)
    return log_lik, entropy


@njit
def suff_stats_blas(y, mu, U, b, M):
    r"""The E step and its sufficient statistics (Section 7.1; Eqs. 2.6-2.8, 2.10), moments by BLAS.

    As :func:`suff_stats_lane_sums`, with one product ``RD @ D[k].T`` per block and component; for
    ``L > MAX_L_LANE_SUMS``. NumPy twin: :func:`~pedagogy_lib.mixture.em._stats_numpy`.
    """
    N, L = y.shape
    K = mu.shape[0]
    yb, D, W, q, z, R, V, zmax, s, lse, RD, bits = block_buffers(K, L)
    log_lik = 0.0
    entropy = 0.0
    for start in range(0, N, BLOCK):
        m = min(BLOCK, N - start)
        load_block(y, start, m, yb)
        block_logits(yb, m, mu, U, b, D, W, q, z, L >= MIN_L_BLAS_LOGITS)
        log_lik, entropy = block_responsibilities(z, m, R, zmax, s, lse, log_lik, entropy, V, bits)
        for k in range(K):
            weighted_block(R, D, k, m, RD)
            M[k] += np.dot(RD, D[k].T)               # sum_n r_nk d~ d~^T over the block
    return log_lik, entropy


def warmup_kernels() -> None:
    """Compile (or load from the cache) both E-step drivers on a tiny problem."""
    y = np.array([[0.0, 1.0], [1.0, 0.5], [2.0, 2.0]])
    mu = np.array([[0.0, 0.0], [2.0, 2.0]])
    b = np.array([-1.0, -2.0])
    for L, run in ((2, suff_stats_lane_sums), (6, suff_stats_blas)):
        yL = np.hstack([y] * (L // 2))
        muL = np.hstack([mu] * (L // 2))
        U = np.broadcast_to(np.eye(L), (2, L, L)).copy()
        run(yL, muL, U, b, np.zeros((2, L + 1, L + 1)))
