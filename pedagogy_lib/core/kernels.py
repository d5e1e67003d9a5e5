"""Shared numba maths: the small dense matrix helpers, and the positive-definiteness screen.

The kernels of several families need the same few operations on small matrices inside their loops:
products, a Cholesky factor with a pivot test, triangular solves, a symmetrized copy. Written once
here, with public names, they are inlined (``njit_inline``) into each kernel that calls them, so the
compiler sees a whole time step at once and no array structures are passed per call. Matrices are
C-contiguous and inner loops run along rows (AXPY form), which LLVM vectorizes without reassociating
sums (no fastmath). Products large enough to amortize a BLAS call go to ``np.dot`` instead.

* :func:`mm`, :func:`mtm`: ``X Y`` and ``Z^T Z`` (the latter exactly symmetric);
* :func:`chol_upper`, :func:`chol_logdet`: the upper Cholesky factor with the same singularity margin
  as :func:`pedagogy_lib.core.checks.check_spd`, and the log-determinant it gives;
* :func:`solve_ut`, :func:`solve_u`, :func:`solve_ut_vec`: triangular solves in place;
* :func:`weighted_sumsq`, :func:`symmetrize_into`;
* :func:`spd_screen`: the compiled first pass of :func:`pedagogy_lib.core.checks.check_spd`.

No function here allocates its output, draws a random number, or checks its inputs.
"""
from __future__ import annotations

import numpy as np

from .jit import njit, njit_inline

__all__ = ["warmup_kernels"]

#: Matrix products with at least this many multiply-adds go to BLAS (``np.dot``) inside the kernels;
#: smaller ones use explicit loops, which avoid the call overhead.
BLAS_MIN_WORK = 4096
#: A matrix whose unit-diagonal scaling has an eigenvalue at most ``SPD_ULPS * n * eps`` is singular
#: (:func:`pedagogy_lib.core.checks.check_spd`); :func:`chol_upper` fails a squared pivot at most
#: ``SPD_ULPS * n * eps`` times its diagonal entry, the same margin.
SPD_ULPS = 100
EPS = float(np.finfo(np.float64).eps)


@njit
def dot_blas(X, Y, out):
    """out = X @ Y by BLAS. Kept out of line: the small helpers below are inlined into the kernels,
    and a BLAS call inlined with them slows the small-matrix loops around it."""
    np.dot(X, Y, out)


@njit
def chol_lapack(S, U):
    """U = upper Cholesky factor of S by LAPACK (out of line, as :func:`dot_blas`); False on failure."""
    try:
        L = np.linalg.cholesky(S)
    except Exception:                    # LAPACK found a non-positive pivot
        return False
    n = S.shape[0]
    for i in range(n):
        for j in range(n):
            U[i, j] = L[j, i]
    return True


@njit_inline
def mm(X, Y, out):
    """out = X @ Y (X: p x q, Y: q x r)."""
    p, q = X.shape
    r = Y.shape[1]
    if p * q * r >= BLAS_MIN_WORK:
        dot_blas(X, Y, out)
        return
    if r < 8:                       # short rows: scalar dot products beat short vector loops
        for i in range(p):
            for j in range(r):
                s = 0.0
                for k in range(q):
                    s += X[i, k] * Y[k, j]
                out[i, j] = s
        return
    for i in range(p):
        for j in range(r):
            out[i, j] = 0.0
        for k in range(q):
            x = X[i, k]
            for j in range(r):
                out[i, j] += x * Y[k, j]


@njit_inline
def mtm(Z, out):
    """out = Z^T @ Z (Z: p x q), exactly symmetric."""
    p, q = Z.shape
    if p * q * q >= BLAS_MIN_WORK:
        dot_blas(Z.T, Z, out)
        symmetrize_into(out, out)
        return
    if q < 8:                       # short rows: scalar dot products (same order for (i, j) and (j, i))
        for i in range(q):
            for j in range(q):
                s = 0.0
                for k in range(p):
                    s += Z[k, i] * Z[k, j]
                out[i, j] = s
        return
    for i in range(q):
        for j in range(q):
            out[i, j] = 0.0
    # full rows (AXPY form, vectorizes); the sum for (i, j) and (j, i) runs over the same products in
    # the same order, so the result is exactly symmetric
    for k in range(p):
        for i in range(q):
            z = Z[k, i]
            for j in range(q):
                out[i, j] += z * Z[k, j]


@njit_inline
def chol_upper(S, U):
    """Upper Cholesky factor U (U^T U = S), written into U; returns False when S is not positive
    definite to working precision.

    A pivot ``U[k, k]^2`` at or below ``SPD_ULPS * n * eps * S[k, k]`` (or NaN) is a failure: the
    squared pivot is the variance of coordinate ``k`` given the earlier ones, and a value that small
    relative to the variance itself is rounding noise (the same scaled test as
    :func:`pedagogy_lib.core.checks.check_spd`, which bounds the smallest eigenvalue of the
    unit-diagonal scaling from above by the smallest such ratio). Small matrices: right-looking row
    updates. Large ones: LAPACK (``np.linalg.cholesky``), transposed, then the same pivot test.
    """
    n = S.shape[0]
    tol = SPD_ULPS * n * EPS
    if n * n * n >= 3 * BLAS_MIN_WORK:
        for k in range(n):
            if not S[k, k] > 0.0:
                return False
        if not chol_lapack(S, U):
            return False
        for k in range(n):
            if not U[k, k] * U[k, k] > tol * S[k, k]:
                return False
        return True
    for i in range(n):
        for j in range(n):
            U[i, j] = S[i, j] if j >= i else 0.0
    for k in range(n):
        piv = U[k, k]
        if not piv > tol * S[k, k]:                  # also catches NaN and a non-positive S[k, k]
            return False
        d = np.sqrt(piv)
        inv_d = 1.0 / d
        for j in range(k, n):
            U[k, j] *= inv_d
        for i in range(k + 1, n):
            f = U[k, i]
            for j in range(i, n):
                U[i, j] -= f * U[k, j]
    return True


@njit_inline
def chol_logdet(U):
    """log|S| from the Cholesky factor U of S."""
    out = 0.0
    for i in range(U.shape[0]):
        out += np.log(U[i, i])
    return 2.0 * out


@njit_inline
def solve_ut(U, X):
    """In place: X <- U^{-T} X (forward substitution with the lower factor L = U^T); X is n x r."""
    n = U.shape[0]
    r = X.shape[1]
    for i in range(n):
        for j in range(i):
            f = U[j, i]
            for k in range(r):
                X[i, k] -= f * X[j, k]
        inv_d = 1.0 / U[i, i]
        for k in range(r):
            X[i, k] *= inv_d


@njit_inline
def solve_u(U, X):
    """In place: X <- U^{-1} X (back substitution); X is n x r."""
    n = U.shape[0]
    r = X.shape[1]
    for i in range(n - 1, -1, -1):
        for j in range(i + 1, n):
            f = U[i, j]
            for k in range(r):
                X[i, k] -= f * X[j, k]
        inv_d = 1.0 / U[i, i]
        for k in range(r):
            X[i, k] *= inv_d


@njit_inline
def solve_ut_vec(U, x):
    """In place: x <- U^{-T} x for a vector."""
    n = U.shape[0]
    for i in range(n):
        s = x[i]
        for j in range(i):
            s -= U[j, i] * x[j]
        x[i] = s / U[i, i]


@njit_inline
def weighted_sumsq(e, w):
    """sum_k w_k e_k^2 with four running sums: independent additions keep the pipeline full, since
    a float sum is not vectorized (its order is kept, as the compiler must without fastmath)."""
    m = e.shape[0]
    q0 = q1 = q2 = q3 = 0.0
    k = 0
    while k + 4 <= m:
        q0 += e[k] * e[k] * w[k]
        q1 += e[k + 1] * e[k + 1] * w[k + 1]
        q2 += e[k + 2] * e[k + 2] * w[k + 2]
        q3 += e[k + 3] * e[k + 3] * w[k + 3]
        k += 4
    while k < m:
        q0 += e[k] * e[k] * w[k]
        k += 1
    return (q0 + q1) + (q2 + q3)


@njit_inline
def symmetrize_into(S, out):
    n = S.shape[0]
    for i in range(n):
        out[i, i] = S[i, i]
        for j in range(i + 1, n):
            v = 0.5 * (S[i, j] + S[j, i])
            out[i, j] = v
            out[j, i] = v


@njit
def spd_screen(S, sym_rtol, tol):
    """Compiled screen behind :func:`check_spd` for small ``(n, n)`` matrices: ``(True, L)`` when ``S``
    is symmetric to ``sym_rtol``, has a Cholesky factor ``L`` and its scaled smallest eigenvalue is
    certainly above ``tol`` (the Gershgorin or the Frobenius bound that :func:`pedagogy_lib.core.checks.check_spd` uses);
    ``(False, L)`` when any of that fails or is undecided (then ``L`` means nothing).
    :func:`pedagogy_lib.core.checks.spd_screen_numpy` is its twin.
    """
    n = S.shape[0]
    L = np.zeros((n, n))
    scale = 1e-300
    asym = 0.0
    for i in range(n):
        for j in range(n):
            scale = max(scale, abs(S[i, j]))
            asym = max(asym, abs(S[i, j] - S[j, i]))
    if not asym <= sym_rtol * scale:
        return False, L
    for j in range(n):                            # Cholesky, lower triangle only (as LAPACK reads it)
        s = S[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not s > 0.0:
            return False, L
        L[j, j] = np.sqrt(s)
        for i in range(j + 1, n):
            s = S[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            L[i, j] = s / L[j, j]
    # Gershgorin on the unit-diagonal scaling. Each entry is divided by sqrt(S_ii) and sqrt(S_jj) in
    # turn: the product S_ii * S_jj underflows to zero (or overflows) for a covariance of scale 1e-200
    # (1e+200), while the quotients stay in range whenever S is positive definite.
    root = np.empty(n)
    for i in range(n):
        root[i] = np.sqrt(S[i, i])
    worst = 0.0
    for i in range(n):
        off = 0.0
        for j in range(n):
            if j != i:
                off += abs(S[i, j]) / root[i] / root[j]
        worst = max(worst, off)
    if 1.0 - worst > tol:
        return True, L
    M = np.zeros((n, n))                          # the Frobenius bound: M = L^{-1}, column by column
    for j in range(n):
        M[j, j] = 1.0 / L[j, j]
        for i in range(j + 1, n):
            s = 0.0
            for k in range(j, i):
                s -= L[i, k] * M[k, j]
            M[i, j] = s / L[i, i]
    frob = 0.0
    for i in range(n):
        for j in range(i + 1):
            v = M[i, j] * root[j]                 # (L^{-1} D^{1/2})_ij, of order one whatever the units
            frob += v * v
    return (frob > 0.0 and 1.0 / frob > tol), L


def warmup_kernels() -> None:
    """Compile :func:`spd_screen` (see :mod:`pedagogy_lib.core.warmup`); the inlined helpers are
    compiled inside the kernels that call them."""
    spd_screen(np.eye(2), 1e-10, 1e-13)
