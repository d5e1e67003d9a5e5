"""Shared numba maths: the small dense matrix helpers, the positive-definiteness screen, a vectorizable exp.

The kernels of several families need the same few operations on small matrices inside their loops:
products, a Cholesky factor with a pivot test, triangular solves, a symmetrized copy. Written once
here, with public names, they are inlined (``njit_inline``) into each kernel that calls them, so the
compiler sees a whole time step at once and no array structures are passed per call. Matrices are
C-contiguous and inner loops run along rows (AXPY form), which LLVM vectorizes without reassociating
sums (no fastmath). Products large enough to amortize a BLAS call go to ``np.dot`` instead.

* :func:`mm`, :func:`mtm`: ``X Y`` and ``Z^T Z`` (the latter :func:`mm` of ``Z.T`` and ``Z``, exactly
  symmetric); these and :func:`chol_upper` take a ``blas`` argument: ``USE_BLAS`` hands large sizes
  to BLAS or LAPACK, ``LOOPS_ONLY`` keeps them to loops (for kernels compiled without reference
  counting);
* :func:`chol_upper`, :func:`chol_logdet`: the upper Cholesky factor with the same singularity margin
  as :func:`pedagogy_lib.core.checks.check_spd`, and the log-determinant it gives;
* :func:`solve_ut`, :func:`solve_u`, :func:`solve_ut_vec`: triangular solves in place;
* :func:`weighted_sumsq`, :func:`symmetrize_into`;
* :func:`spd_screen`: the compiled first pass of :func:`pedagogy_lib.core.checks.check_spd`;
* :func:`exp_into`: an exponential over a whole array in plain arithmetic, which the compiler
  vectorizes (a call to the C library's ``exp`` per element it does not), for the kernels whose
  time goes into exponentials: the particle filter's weights, the harmonium's sigmoids.

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
#: The ``blas`` argument of :func:`mm`, :func:`mtm` and :func:`chol_upper` that keeps them to plain loops at
#: every size. numba drops the branch to BLAS or LAPACK while compiling (a test ``blas is not None`` on an
#: argument of type None is decided then), so a small model's kernel compiles without them.
#: ``USE_BLAS`` keeps the branch.
LOOPS_ONLY, USE_BLAS = None, True
#: Below this dimension no product or factorization of the dense helpers reaches BLAS or LAPACK, so the
#: loops-only flavour of a kernel computes exactly what the other one does.
LOOPS_ONLY_MAX_DIM = int(round(BLAS_MIN_WORK ** (1 / 3)))

#: :func:`exp_into` flushes to 0 every argument at or below ``EXP_FLOOR`` (exp(-708) = 3.3e-308, just
#: above the smallest normal float64, 2.2e-308) ...
EXP_FLOOR = -708.0
#: ... and clamps the arguments above ``EXP_CEIL`` to it: exp(710) overflows to inf, as does every
#: argument above log(largest float64) = 709.78.
EXP_CEIL = 710.0
_LOG2E = 1.4426950408889634                  # 1 / ln 2
_SHIFTER = 6755399441055744.0                # 1.5 * 2^52: x + _SHIFTER - _SHIFTER rounds x to an integer
_LN2_HI = 6.93147180369123816490e-01         # ln 2 split into a part whose products with k are exact ...
_LN2_LO = 1.90821492927058770002e-10         # ... and the remainder (Cody-Waite range reduction)
# 2 / i! for i = 0 ... 13: twice the Taylor coefficients of e^r (see exp_into: 2 e^r times 2^(k-1))
_E0, _E1, _E2, _E3, _E4, _E5, _E6 = 2.0, 2.0, 1.0, 2.0 / 6, 2.0 / 24, 2.0 / 120, 2.0 / 720
_E7, _E8, _E9, _E10, _E11, _E12, _E13 = (2.0 / 5040, 2.0 / 40320, 2.0 / 362880, 2.0 / 3628800, 2.0 / 39916800,
                                         2.0 / 479001600, 2.0 / 6227020800)


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
def mm(X, Y, out, blas):
    """out = X @ Y (X: p x q, Y: q x r). ``blas`` is True to hand large products to BLAS, ``None`` for loops
    at every size (see :data:`LOOPS_ONLY`)."""
    p, q = X.shape
    r = Y.shape[1]
    if blas is not None and p * q * r >= BLAS_MIN_WORK:
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
    # full rows (AXPY form, vectorizes): row k of Y, scaled, added to every row of out; each entry's
    # sum runs over k in increasing order
    for k in range(q):
        for i in range(p):
            x = X[i, k]
            for j in range(r):
                out[i, j] += x * Y[k, j]


@njit_inline
def mtm(Z, out, blas):
    """out = Z^T @ Z (Z: p x q), exactly symmetric; ``blas`` as in :func:`mm`.

    This is :func:`mm` of ``Z.T`` and ``Z``: its loops sum the products for (i, j) and (j, i) in the
    same order, so they give an exactly symmetric result; BLAS does not promise that, and its result
    is symmetrized.
    """
    mm(Z.T, Z, out, blas)
    p, q = Z.shape
    if blas is not None and p * q * q >= BLAS_MIN_WORK:
        symmetrize_into(out, out)


@njit_inline
def chol_upper(S, U, blas):
    """Upper Cholesky factor U (U^T U = S), written into U; returns False when S is not positive
    definite to working precision.

    A pivot ``U[k, k]^2`` at or below ``SPD_ULPS * n * eps * S[k, k]`` (or NaN) is a failure: the
    squared pivot is the variance of coordinate ``k`` given the earlier ones, and a value that small
    relative to the variance itself is rounding noise (the same scaled test as
    :func:`pedagogy_lib.core.checks.check_spd`, which bounds the smallest eigenvalue of the
    unit-diagonal scaling from above by the smallest such ratio). Small matrices: right-looking row
    updates. Large ones: LAPACK (``np.linalg.cholesky``), transposed, then the same pivot test, unless
    ``blas`` is ``None`` (see :data:`LOOPS_ONLY`).
    """
    n = S.shape[0]
    tol = SPD_ULPS * n * EPS
    if blas is not None and n * n * n >= 3 * BLAS_MIN_WORK:
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


@njit
def exp_into(v, scale, shift, out, bits):
    r"""``out[j] = exp(scale * v[j] - shift)`` for every entry of the 1-D array ``v``, in loops that the
    compiler vectorizes (a call to the C library's ``exp`` per entry it does not).

    Range reduction (Cody and Waite): write the argument :math:`a = k\ln 2 + r` with the integer
    :math:`k = \mathrm{round}(a/\ln 2)` and :math:`|r|\le\ln 2/2`, :math:`\ln 2` split in two so that
    :math:`k\ln 2` is subtracted without rounding error. The rounding adds and subtracts
    :math:`1.5\cdot 2^{52}` (``_SHIFTER``), which leaves the nearest integer in plain arithmetic (a call
    to ``floor`` would stop the loop from vectorizing). Then :math:`e^a = 2^k e^r`: :math:`e^r` is its
    Taylor polynomial of degree 13 (truncation below :math:`5\times 10^{-18}` relative on that interval):
    its terms from :math:`r^3` on by Estrin's scheme (independent pairs, combined in powers
    :math:`r^2, r^4, r^8`, which keeps the loop from waiting on one long chain of multiply-adds), the
    first three by Horner's rule (which keeps the last roundings small), and :math:`2^k` is written as :math:`2\cdot 2^{k-1}`: the polynomial carries the
    factor 2 in its coefficients (exactly), and :math:`2^{k-1}` is assembled from its IEEE-754 bits in
    the int64 scratch array ``bits``, which holds it for :math:`k = 1024` too.

    Accuracy: within 1.2 ulp of the exact :math:`e^a` for :math:`-708 < a \le 709.78`
    (``tests/core/test_core_kernels.py`` holds it to 2 ulp of ``np.exp``, itself within about 0.7 ulp).
    Plain multiplications and additions only, never a fused multiply-add (the kernels are compiled
    without ``fastmath``), so the result is the same on every x86-64 CPU. Large negative arguments:
    :math:`a \le -708` (where :math:`e^a < 3.3\times 10^{-308}`, at the bottom of the normal range)
    gives exactly 0, ``-inf`` included; ``np.exp`` returns subnormal numbers down to
    :math:`a \approx -745`. Large positive arguments: :math:`a > 709.78` gives ``inf``, as ``np.exp``
    does. A NaN argument gives 0 (the library's callers never pass one: their inputs are validated).

    ``scale`` is 1 or -1 in the library (``-1``: :math:`e^{-v}` for a sigmoid); ``scale * v[j] - shift``
    is exact in ``scale``. ``v``, ``out`` and ``bits`` (int64, at least as long as ``v``) must be
    distinct arrays: aliasing keeps the loops from being vectorized.
    """
    n = v.shape[0]
    for j in range(n):
        a = scale * v[j] - shift
        t = EXP_CEIL if a > EXP_CEIL else a                 # (a NaN passes, and fails the next test)
        keep = t > EXP_FLOOR
        t = t if keep else EXP_FLOOR
        kf = (t * _LOG2E + _SHIFTER) - _SHIFTER             # k, the nearest integer to t / ln 2
        r = (t - kf * _LN2_HI) - kf * _LN2_LO               # |r| <= ln 2 / 2
        r2 = r * r                                          # 2 e^r: the terms from r^3 on by Estrin's
        r4 = r2 * r2                                        # scheme (pairs, in powers r^2, r^4, r^8) ...
        q = ((_E3 + _E4 * r) + (_E5 + _E6 * r) * r2) + ((_E7 + _E8 * r) + (_E9 + _E10 * r) * r2) * r4 \
            + ((_E11 + _E12 * r) + _E13 * r2) * (r4 * r4)
        p = _E0 + r * (_E1 + r * (_E2 + r * q))             # ... the first three by Horner's rule
        out[j] = p if keep else 0.0                         # 0 at or below the floor, and for a NaN
        bits[j] = np.int64(kf)
    for j in range(n):
        bits[j] = (bits[j] + 1022) << 52                    # IEEE-754 bit pattern of 2^(k-1)
    half_two_k = bits.view(np.float64)
    for j in range(n):
        out[j] *= half_two_k[j]


def warmup_kernels() -> None:
    """Compile :func:`spd_screen` and :func:`exp_into` (see :mod:`pedagogy_lib.core.warmup`); the inlined
    helpers are compiled inside the kernels that call them. :func:`spd_screen` for read-only matrices too
    (numba types them apart): models that keep read-only copies of their arrays (``DAModel``, trees) are
    screened that way."""
    spd_screen(np.eye(2), 1e-10, 1e-13)
    frozen = np.eye(2)
    frozen.setflags(write=False)
    spd_screen(frozen, 1e-10, 1e-13)
    v = np.zeros(2)
    exp_into(v, -1.0, 0.0, np.empty(2), np.empty(2, np.int64))
