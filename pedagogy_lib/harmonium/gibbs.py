r"""Block Gibbs sampling and learning by contrastive divergence (Sections 10.2.1-10.2.2).

Because neither layer has connections within itself, a whole layer is drawn at once from its
conditional (Eq. 10.17): :math:`\hat{\mathbf x}\sim\hat p(\mathbf x\mid\mathbf y)`, then
:math:`\hat{\mathbf y}\sim\hat p(\mathbf y\mid\mathbf x)`. :func:`gibbs_sample` runs many such chains.

Learning replaces the model expectation of Eq. 10.19 by an average over chains:

* **CD-k** (Eq. 10.20, Eq. 10.23 for k = 1): each chain starts at a data vector and takes ``k``
  full steps; the update is data statistics minus the statistics after ``k`` steps;
* **persistent CD (PCD-k)**: the chains are not restarted at the data but continue from where the
  previous mini-batch left them, so over training they approximate samples of the model.

Both follow the same conventions as scikit-learn's ``BernoulliRBM`` where they overlap: the
positive phase uses the hidden *probabilities* given the data, the negative phase the hidden
probabilities given the last visible sample, and the update is the learning rate times the batch
average. The kernels never draw random numbers: the wrappers draw uniforms (and standard normals
for Gaussian units) in blocks from a ``numpy.random.Generator`` and pass them in.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ..core.checks import (as_array, check_backend, check_buffer, check_choice, check_int, check_rng,
                           positive_scalar)
from ..core.jit import njit
from .model import FAMILIES, EFHParams, check_layer, check_params, family_code, sigmoid

__all__ = ["GibbsResult", "TrainResult", "gibbs_sample", "draw_noise", "cd_epoch", "train_rbm",
           "pseudo_log_likelihood", "gibbs_numba", "cd_epoch_numba"]


class GibbsResult(NamedTuple):
    """Final states of every chain, and the visible trace if it was asked for.

    Attributes
    ----------
    x : ndarray, shape (C, K)
        The hidden states drawn in the last step.
    y : ndarray, shape (C, M)
        The visible states after the last step.
    trace : ndarray, shape (n_steps + 1, C, M) or (0, C, M)
        ``trace[s]`` is the visible state after ``s`` steps (``trace[0]`` the start).
    """

    x: np.ndarray
    y: np.ndarray
    trace: np.ndarray


class TrainResult(NamedTuple):
    """Learned parameters, the persistent chains (PCD) and whatever the callback returned each epoch."""

    params: EFHParams
    chains: np.ndarray
    history: list


# ------------------------------------------------------------------------------------------------
# Block Gibbs: kernel and twin
# ------------------------------------------------------------------------------------------------
@njit
def _draw(eta, fam, noise):
    if fam == 0:
        e = np.exp(-abs(eta))
        prob = 1.0 / (1.0 + e) if eta >= 0 else e / (1.0 + e)
        return 1.0 if noise < prob else 0.0
    if fam == 1:
        return eta + noise
    lam = np.exp(eta)                      # Poisson by inversion of its CDF
    term = np.exp(-lam)
    cdf = term
    k = 0
    while noise > cdf and k < 100000:
        k += 1
        term *= lam / k
        cdf += term
    return float(k)


@njit
def _gibbs_kernel(W, b_x, b_y, fam_x, fam_y, y, noise_x, noise_y, x, trace):
    """Numba kernel: ``noise_x.shape[0]`` block-Gibbs steps (x | y, then y | x) for every chain.

    ``y`` (C, M) is updated in place and ``x`` (C, K) receives the last hidden draws. The noise is
    a uniform in [0, 1) per unit for Bernoulli and Poisson units and a standard normal for Gaussian
    units. If ``trace.shape[0] > 0``, ``trace[s + 1]`` receives the visible states after step ``s``.
    Same math as ``_gibbs_numpy``.
    """
    n_steps = noise_x.shape[0]
    C, M = y.shape
    K = W.shape[0]
    zeta = np.empty(M)
    record = trace.shape[0] > 0
    if record:
        trace[0] = y
    for s in range(n_steps):
        for c in range(C):
            for k in range(K):
                eta = b_x[k]
                for j in range(M):
                    eta += W[k, j] * y[c, j]
                x[c, k] = _draw(eta, fam_x, noise_x[s, c, k])
            for j in range(M):
                zeta[j] = b_y[j]
            for k in range(K):
                xk = x[c, k]
                if xk != 0.0:
                    for j in range(M):
                        zeta[j] += xk * W[k, j]
            for j in range(M):
                y[c, j] = _draw(zeta[j], fam_y, noise_y[s, c, j])
        if record:
            trace[s + 1] = y


def _check_noise(noise, fam: int, name: str, shape) -> np.ndarray:
    noise = as_array(noise, name, shape=shape, dims="(n_steps, C, units)")
    if fam != 1 and np.any((noise < 0.0) | (noise >= 1.0)):
        raise ValueError(f"{name} must hold uniforms in [0, 1) for Bernoulli and Poisson units; got values outside it.")
    return noise


def gibbs_numba(W, b_x, b_y, fam_x, fam_y, y, noise_x, noise_y, x, trace):
    """Block-Gibbs steps by the numba kernel, in place: the kernel behind :func:`gibbs_sample`, checked.

    ``noise_x.shape[0]`` steps (x | y, then y | x) for every chain; ``y`` is updated in place, ``x``
    receives the last hidden draws and, if ``trace.shape[0] > 0``, ``trace[s + 1]`` the visible states
    after step ``s`` (``trace[0]`` the start).

    Parameters
    ----------
    W : array_like, shape (K, M)
    b_x : array_like, shape (K,)
    b_y : array_like, shape (M,)
    fam_x, fam_y : int
        Family codes (:func:`~pedagogy_lib.harmonium.model.family_code`) of the hidden and visible units.
    y : ndarray of float64, shape (C, M)
        Starting visible states; overwritten.
    noise_x : array_like, shape (n_steps, C, K)
    noise_y : array_like, shape (n_steps, C, M)
        Uniforms in [0, 1) for Bernoulli and Poisson units, standard normals for Gaussian units.
    x : ndarray of float64, shape (C, K)
        Receives the last hidden draws.
    trace : ndarray of float64, shape (0, C, M) or (n_steps + 1, C, M)
        Receives the visible states of every step (shape ``(0, C, M)``: none recorded).

    Raises
    ------
    ValueError, TypeError
        If an array has the wrong shape or dtype, holds NaN or inf, or an output is not a writeable
        float64 array; if a family code is not 0, 1 or 2 or uniforms lie outside [0, 1).
    """
    W = as_array(W, "W", ndim=2, dims="(K, M)")
    K, M = W.shape
    b_x = as_array(b_x, "b_x", shape=(K,), dims="(K,)")
    b_y = as_array(b_y, "b_y", shape=(M,), dims="(M,)")
    fam_x = check_int(fam_x, "fam_x", minimum=0, maximum=2)
    fam_y = check_int(fam_y, "fam_y", minimum=0, maximum=2)
    if not isinstance(y, np.ndarray) or y.ndim != 2:
        raise ValueError(f"y must be a float64 array of shape (C, M = {M}); got {type(y).__name__} "
                         f"{getattr(y, 'shape', '')}.")
    C = y.shape[0]
    y = check_buffer(y, "y", (C, M), dims="(C, M)")
    noise_x = as_array(noise_x, "noise_x", ndim=3, dims="(n_steps, C, K)")
    S = noise_x.shape[0]
    noise_x = _check_noise(noise_x, fam_x, "noise_x", (S, C, K))
    noise_y = _check_noise(noise_y, fam_y, "noise_y", (S, C, M))
    x = check_buffer(x, "x", (C, K), dims="(C, K)", finite=False)
    n_trace = getattr(trace, "shape", (0,))[0] if np.ndim(trace) == 3 else -1
    trace = check_buffer(trace, "trace", (0 if n_trace == 0 else S + 1, C, M), dims="(n_steps + 1, C, M)",
                         finite=False)
    _gibbs_kernel(W, b_x, b_y, fam_x, fam_y, y, noise_x, noise_y, x, trace)


def _draw_numpy(eta, family, noise):
    if family == "bernoulli":
        return (noise < sigmoid(eta)).astype(float)
    if family == "gaussian":
        return eta + noise
    lam = np.exp(eta)
    k = np.zeros_like(eta)
    term = np.exp(-lam)
    cdf = term.copy()
    active = noise > cdf
    while active.any():
        k = k + active
        term = np.where(active, term * lam / np.maximum(k, 1), term)
        cdf = np.where(active, cdf + term, cdf)
        active = (noise > cdf) & (k < 100000)
    return k


def _gibbs_numpy(p: EFHParams, y, noise_x, noise_y, record):
    y = y.copy()
    trace = [y.copy()] if record else []
    x = np.zeros((y.shape[0], p.K))
    for s in range(noise_x.shape[0]):
        x = _draw_numpy(y @ p.W.T + p.b_x, p.hidden, noise_x[s])
        y = _draw_numpy(x @ p.W + p.b_y, p.visible, noise_y[s])
        if record:
            trace.append(y.copy())
    tr = np.array(trace) if record else np.zeros((0,) + y.shape)
    return x, y, tr


def draw_noise(family: str, shape, rng) -> np.ndarray:
    """The pre-drawn randomness for units of ``family``: uniforms, or standard normals for Gaussian units.

    Raises
    ------
    TypeError, ValueError
        If ``family`` is unknown, ``rng`` is not a Generator, or ``shape`` is not a tuple of
        non-negative ints.
    """
    check_choice(family, "family", FAMILIES)
    rng = check_rng(rng)
    dims = (shape,) if isinstance(shape, (int, np.integer)) else shape
    if not isinstance(dims, (tuple, list)):
        raise TypeError(f"shape must be a tuple of int; got {type(shape).__name__}.")
    dims = tuple(check_int(n, "shape", minimum=0) for n in dims)
    return rng.standard_normal(dims) if family == "gaussian" else rng.random(dims)


def gibbs_sample(params: EFHParams, y0, n_steps: int, rng, *, record: bool = False,
                 backend: str = "numba") -> GibbsResult:
    r"""Run block Gibbs chains, one per row of ``y0``, for ``n_steps`` full steps.

    Parameters
    ----------
    params : EFHParams
    y0 : array_like, shape (C, M)
        Starting visible states (valid values of the visible family).
    n_steps : int
        Number of full steps (hidden draw then visible draw), at least 1.
    rng : numpy.random.Generator
        Source of the pre-drawn noise.
    record : bool
        Keep the visible state after every step (``trace``).
    backend : {"numba", "numpy"}
    """
    p = check_params(params)
    y0 = check_layer(y0, p.visible, "y0", p.M)
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    rng = check_rng(rng)
    backend = check_backend(backend)
    C = y0.shape[0]
    noise_x = draw_noise(p.hidden, (n_steps, C, p.K), rng)
    noise_y = draw_noise(p.visible, (n_steps, C, p.M), rng)
    if backend == "numpy":
        return GibbsResult(*_gibbs_numpy(p, y0, noise_x, noise_y, record))
    y = y0.copy()
    x = np.zeros((C, p.K))
    trace = np.empty((n_steps + 1, C, p.M)) if record else np.zeros((0, C, p.M))
    _gibbs_kernel(p.W, p.b_x, p.b_y, family_code(p.hidden), family_code(p.visible), y, noise_x, noise_y, x, trace)
    return GibbsResult(x, y, trace)


# ------------------------------------------------------------------------------------------------
# CD-k and PCD-k for Bernoulli-Bernoulli harmoniums: kernel and twin
# ------------------------------------------------------------------------------------------------
@njit
def _sig(z):
    # branch-free, so loops over it vectorize; exp(-z) = inf for very negative z gives exactly 0
    return 1.0 / (1.0 + np.exp(-z))


# exp(t) = 2^k e^r with k = round(t / log 2), |r| <= log(2)/2: Cody-Waite split of log 2, Taylor to r^13
# (relative error below 1e-16 on that interval), and 2^k built from its exponent bits. Every step is
# plain arithmetic, so the compiler vectorizes the loops (a libm exp per element does not).
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_FACT = (1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880,
             1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800)


@njit
def _sigmoid_inplace(a, n, kbuf, bits):
    """a[i] = 1 / (1 + exp(-a[i])) for i < n, with a vectorizable exp (agrees with NumPy to a few ulps;
    arguments beyond +-700 are clamped, giving 1 or about 1e-304 instead of 0)."""
    c = _INV_FACT
    for i in range(n):
        t = min(max(-a[i], -700.0), 700.0)
        k = np.floor(t * _LOG2E + 0.5)
        r = (t - k * _LN2_HI) - k * _LN2_LO
        q = c[13]
        q = q * r + c[12]
        q = q * r + c[11]
        q = q * r + c[10]
        q = q * r + c[9]
        q = q * r + c[8]
        q = q * r + c[7]
        q = q * r + c[6]
        q = q * r + c[5]
        q = q * r + c[4]
        q = q * r + c[3]
        q = q * r + c[2]
        q = q * r + c[1]
        a[i] = q * r + c[0]
        kbuf[i] = k
    for i in range(n):
        bits[i] = (np.int64(kbuf[i]) + 1023) << 52
    scale = bits.view(np.float64)
    for i in range(n):
        a[i] = 1.0 / (1.0 + a[i] * scale[i])


@njit
def _hidden_probs(Wt, b_x, y, active, n_active, out, kbuf, bits):
    """out = sigma(b_x + W y) from the rows of W^T at the non-zero units of y (contiguous, vectorizable)."""
    K = Wt.shape[1]
    for kk in range(K):
        out[kk] = b_x[kk]
    for a in range(n_active):
        j = active[a]
        yj = y[j]
        for kk in range(K):
            out[kk] += Wt[j, kk] * yj
    _sigmoid_inplace(out, K, kbuf, bits)


@njit
def _active_units(y, active):
    n = 0
    for j in range(y.shape[0]):
        if y[j] != 0.0:
            active[n] = j
            n += 1
    return n


#: From this mini-batch size on, the CD kernel works with matrix products over the whole batch (BLAS,
#: called from the compiled code without Python overhead) instead of sparse per-example loops, which
#: measured slower from about 4 rows on (2-core AMD EPYC, K = 64 and 256 on the digits).
BLAS_BATCH = 4


@njit
def _sigmoid_rows(A, bias, kbuf, bits):
    """A[b, :] = sigma(A[b, :] + bias) in place, for a C-contiguous 2-D array."""
    B, n = A.shape
    for b in range(B):
        for i in range(n):
            A[b, i] += bias[i]
    _sigmoid_inplace(A.reshape(B * n), B * n, kbuf, bits)


@njit
def _cd_batch_blas(Wt, b_x, b_y, Y0, k, lr, persistent, chains, ux, uy, kbuf, bits):
    """One mini-batch of CD-k / PCD-k with matrix products (the twin's math, inside the kernel).

    ``Wt`` is W^T (M, K); ``Y0`` (B, M) the batch; ``ux`` (B, k, K) and ``uy`` (B, k, M) its uniforms.
    """
    B, M = Y0.shape
    K = Wt.shape[1]
    P0 = np.dot(Y0, Wt)
    _sigmoid_rows(P0, b_x, kbuf, bits)
    prob = P0
    X = np.empty((B, K))
    Yk = np.empty((B, M))
    for s in range(k):
        if persistent and s == 0:
            for b in range(B):
                for kk in range(K):
                    X[b, kk] = chains[b, kk]
        else:
            d = s - 1 if persistent else s
            for b in range(B):
                for kk in range(K):
                    X[b, kk] = 1.0 if ux[b, d, kk] < prob[b, kk] else 0.0
        V = np.dot(X, Wt.T)
        _sigmoid_rows(V, b_y, kbuf, bits)
        for b in range(B):
            for j in range(M):
                Yk[b, j] = 1.0 if uy[b, s, j] < V[b, j] else 0.0
        prob = np.dot(Yk, Wt)
        _sigmoid_rows(prob, b_x, kbuf, bits)
    if persistent:
        for b in range(B):
            for kk in range(K):
                chains[b, kk] = 1.0 if ux[b, k - 1, kk] < prob[b, kk] else 0.0
    G = np.dot(Y0.T, P0) - np.dot(Yk.T, prob)                 # (M, K)
    scale = lr / B
    for j in range(M):
        for kk in range(K):
            Wt[j, kk] += scale * G[j, kk]
    for kk in range(K):
        g = 0.0
        for b in range(B):
            g += P0[b, kk] - prob[b, kk]
        b_x[kk] += scale * g
    for j in range(M):
        g = 0.0
        for b in range(B):
            g += Y0[b, j] - Yk[b, j]
        b_y[j] += scale * g


@njit
def _cd_epoch_kernel(W, b_x, b_y, Y, order, batch_size, k, lr, persistent, chains, u_x, u_y):
    """Numba kernel: one epoch of CD-k (``persistent=False``) or PCD-k over the rows ``Y[order]``.

    ``W``, ``b_x``, ``b_y`` are updated in place after each mini-batch by ``lr`` times the batch
    average of (data statistics minus chain statistics), Eq. 10.23. For PCD, ``chains`` (shape
    (batch_size, K)) holds the hidden state of each persistent chain; row ``c`` serves the ``c``-th
    row of every mini-batch and is replaced by a fresh hidden draw at the end of its negative phase.
    ``u_x`` (N, k, K) and ``u_y`` (N, k, M) are uniforms: the chain for the ``i``-th row of the
    epoch draws its visible states from ``u_y[i, s]`` and its hidden states from ``u_x[i, s]``
    (CD: the draw before visible step ``s``; PCD: the draw after visible step ``s``). The kernel
    (for mini-batches of at least ``BLAS_BATCH`` rows it works with matrix products over the batch instead)
    keeps W and a copy of W^T in step, so that every inner loop runs over contiguous memory without
    a floating-point reduction (which the compiler would not vectorize), and only the non-zero
    units enter the sums (binary states are sparse). Same math as ``_cd_epoch_numpy``.
    """
    N = order.shape[0]
    K, M = W.shape
    Wt = np.ascontiguousarray(W.T)
    gWt = np.zeros((M, K))
    gbx = np.zeros(K)
    gby = np.zeros(M)
    prob = np.empty(K)
    x = np.empty(K)
    zeta = np.empty(M)
    yv = np.empty(M)
    active = np.empty(M, np.int64)
    kbuf = np.empty(max(K, M))
    bits = np.empty(max(K, M), np.int64)
    if batch_size >= BLAS_BATCH:                                 # whole-batch matrix products
        kb2 = np.empty(batch_size * max(K, M))
        bt2 = np.empty(batch_size * max(K, M), np.int64)
        Ybuf = np.empty((batch_size, M))
        for start in range(0, N, batch_size):
            stop = min(N, start + batch_size)
            for i in range(start, stop):
                for j in range(M):
                    Ybuf[i - start, j] = Y[order[i], j]
            _cd_batch_blas(Wt, b_x, b_y, Ybuf[:stop - start], k, lr, persistent, chains, u_x[start:stop],
                           u_y[start:stop], kb2, bt2)
        for kk in range(K):
            for j in range(M):
                W[kk, j] = Wt[j, kk]
        return
    for start in range(0, N, batch_size):
        stop = min(N, start + batch_size)
        gWt[:, :] = 0.0
        gbx[:] = 0.0
        gby[:] = 0.0
        for i in range(start, stop):
            n = order[i]
            y0 = Y[n]
            na = _active_units(y0, active)
            _hidden_probs(Wt, b_x, y0, active, na, prob, kbuf, bits)           # positive phase
            for kk in range(K):
                gbx[kk] += prob[kk]
            for a in range(na):
                j = active[a]
                yj = y0[j]
                for kk in range(K):
                    gWt[j, kk] += prob[kk] * yj
            for j in range(M):
                gby[j] += y0[j]
            c = i - start
            for s in range(k):
                if persistent and s == 0:                        # the chain's stored hidden state
                    for kk in range(K):
                        x[kk] = chains[c, kk]
                else:
                    d = s - 1 if persistent else s
                    for kk in range(K):
                        x[kk] = 1.0 if u_x[i, d, kk] < prob[kk] else 0.0
                for j in range(M):
                    zeta[j] = b_y[j]
                for kk in range(K):                              # zeta = b_y + W^T x: add the rows of W
                    if x[kk] != 0.0:                             # at the hidden units that fire
                        for j in range(M):
                            zeta[j] += W[kk, j]
                _sigmoid_inplace(zeta, M, kbuf, bits)
                for j in range(M):
                    yv[j] = 1.0 if u_y[i, s, j] < zeta[j] else 0.0
                na = _active_units(yv, active)
                _hidden_probs(Wt, b_x, yv, active, na, prob, kbuf, bits)
            for kk in range(K):                                  # negative phase
                gbx[kk] -= prob[kk]
            for a in range(na):
                j = active[a]
                for kk in range(K):
                    gWt[j, kk] -= prob[kk]
            for j in range(M):
                gby[j] -= yv[j]
            if persistent:
                for kk in range(K):
                    chains[c, kk] = 1.0 if u_x[i, k - 1, kk] < prob[kk] else 0.0
        scale = lr / (stop - start)
        for kk in range(K):
            b_x[kk] += scale * gbx[kk]
        for j in range(M):
            b_y[j] += scale * gby[j]
            for kk in range(K):
                Wt[j, kk] += scale * gWt[j, kk]
        for kb in range(0, K, 16):                               # W = (W^T)^T, tile by tile
            for jb in range(0, M, 16):
                for kk in range(kb, min(K, kb + 16)):
                    for j in range(jb, min(M, jb + 16)):
                        W[kk, j] = Wt[j, kk]


def cd_epoch_numba(W, b_x, b_y, Y, order, batch_size, k, lr, persistent, chains, u_x, u_y):
    """One epoch of CD-k or PCD-k by the numba kernel, in place: the kernel behind :func:`cd_epoch`, checked.

    ``W``, ``b_x`` and ``b_y`` are updated in place after each mini-batch of the rows ``Y[order]`` by
    ``lr`` times the batch average of (data statistics minus chain statistics), Eq. 10.23.

    Parameters
    ----------
    W : ndarray of float64, shape (K, M)
    b_x : ndarray of float64, shape (K,)
    b_y : ndarray of float64, shape (M,)
        The Bernoulli-Bernoulli harmonium, updated in place.
    Y : array_like, shape (N_data, M)
        Training data in [0, 1].
    order : array_like of int, shape (N,)
        The rows of ``Y`` to visit, in order (indices in ``[0, N_data)``).
    batch_size, k : int
        Rows per mini-batch and Gibbs steps per update (both at least 1).
    lr : float
        Learning rate (positive).
    persistent : bool
        PCD (continue ``chains``) instead of CD.
    chains : ndarray of float64, shape (batch_size, K) for PCD
        The binary hidden state of each persistent chain, updated in place (ignored for CD; shape
        ``(0, K)`` is customary).
    u_x : array_like, shape (N, k, K)
    u_y : array_like, shape (N, k, M)
        Uniforms in [0, 1) for the hidden and visible draws of the chain of each visited row.

    Raises
    ------
    ValueError, TypeError
        If an array has the wrong shape or dtype, holds NaN or inf or values out of range, an index
        of ``order`` is out of range, or an updated array is not a writeable float64 array.
    """
    if not isinstance(W, np.ndarray) or W.ndim != 2:
        raise ValueError(f"W must be a float64 array of shape (K, M); got {type(W).__name__} "
                         f"{getattr(W, 'shape', '')}.")
    K, M = W.shape
    W = check_buffer(W, "W", (K, M), dims="(K, M)")
    b_x = check_buffer(b_x, "b_x", (K,), dims="(K,)")
    b_y = check_buffer(b_y, "b_y", (M,), dims="(M,)")
    Y = check_layer(Y, "bernoulli", "Y", M, allow_fraction=True)
    order = np.asarray(order)
    if order.ndim != 1 or order.dtype.kind not in "iu":
        raise TypeError(f"order must be a 1-D array of integer row indices; got dtype {order.dtype}, "
                        f"shape {order.shape}.")
    if order.size and (order.min() < 0 or order.max() >= Y.shape[0]):
        raise ValueError(f"order must index the {Y.shape[0]} rows of Y; got indices in "
                         f"[{order.min()}, {order.max()}].")
    order = order.astype(np.int64)
    N = order.shape[0]
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    k = check_int(k, "k", minimum=1)
    lr = positive_scalar(lr, "lr")
    if not isinstance(persistent, (bool, np.bool_)):
        raise TypeError(f"persistent must be a bool; got {type(persistent).__name__}.")
    if persistent:
        chains = check_buffer(chains, "chains", (batch_size, K), dims="(batch_size, K)")
        check_layer(chains, "bernoulli", "chains", K)
    elif not isinstance(chains, np.ndarray) or chains.dtype != np.float64:
        raise TypeError("chains must be a float64 array (shape (0, K) for CD).")
    else:
        chains = np.zeros((0, K))
    for name, u, n_units in (("u_x", u_x, K), ("u_y", u_y, M)):
        u = as_array(u, name, shape=(N, k, n_units), dims=f"(N, k, {'K' if name == 'u_x' else 'M'})")
        if np.any((u < 0.0) | (u >= 1.0)):
            raise ValueError(f"{name} must hold uniforms in [0, 1); got values outside it.")
        if name == "u_x":
            u_x = u
        else:
            u_y = u
    _cd_epoch_kernel(W, b_x, b_y, Y, order, batch_size, k, float(lr), bool(persistent), chains, u_x, u_y)


def _cd_epoch_numpy(W, b_x, b_y, Y, order, batch_size, k, lr, persistent, chains, u_x, u_y):
    """NumPy twin of :func:`cd_epoch_numba`, one mini-batch at a time (the plain vectorized reference)."""
    N = order.shape[0]
    for start in range(0, N, batch_size):
        stop = min(N, start + batch_size)
        B = stop - start
        Y0 = Y[order[start:stop]]
        P0 = sigmoid(Y0 @ W.T + b_x)
        prob = P0
        for s in range(k):
            if persistent and s == 0:
                x = chains[:B]
            else:
                x = (u_x[start:stop, s - 1 if persistent else s] < prob).astype(float)
            y = (u_y[start:stop, s] < sigmoid(x @ W + b_y)).astype(float)
            prob = sigmoid(y @ W.T + b_x)
        if persistent:
            chains[:B] = (u_x[start:stop, k - 1] < prob).astype(float)
        scale = lr / B
        W += scale * (P0.T @ Y0 - prob.T @ y)
        b_x += scale * (P0.sum(axis=0) - prob.sum(axis=0))
        b_y += scale * (Y0.sum(axis=0) - y.sum(axis=0))


def cd_epoch(params: EFHParams, Y, rng, *, k: int = 1, lr: float = 0.1, batch_size: int = 10,
             persistent: bool = False, chains=None, shuffle: bool = True, backend: str = "numba"):
    r"""One epoch of CD-k or PCD-k on a Bernoulli-Bernoulli harmonium; returns ``(params, chains)``.

    Parameters
    ----------
    params : EFHParams
        Current parameters (not modified; a new :class:`EFHParams` is returned).
    Y : array_like, shape (N, M)
        Training data, binary (or probabilities in [0, 1]: the positive phase uses them as given).
    rng : numpy.random.Generator
        Source of the epoch's order and uniforms.
    k : int
        Gibbs steps per update (k >= 1).
    lr : float
        Learning rate; the update is ``lr`` times the mini-batch average.
    batch_size : int
    persistent : bool
        PCD: continue the persistent ``chains`` instead of restarting at the data (as scikit-learn's
        ``BernoulliRBM`` does, one chain per row of a mini-batch).
    chains : array_like, shape (batch_size, K), optional
        PCD's chains, as the hidden state of each (binary); if omitted each starts at a hidden draw
        given one row of the shuffled data. The returned chains continue them.
    shuffle : bool
        Visit the rows in a random order (else in order).
    backend : {"numba", "numpy"}
    """
    p = check_params(params)
    if p.hidden != "bernoulli" or p.visible != "bernoulli":
        raise ValueError(f"cd_epoch trains Bernoulli-Bernoulli harmoniums; got hidden={p.hidden!r}, "
                         f"visible={p.visible!r}.")
    Y = check_layer(Y, "bernoulli", "Y", p.M, allow_fraction=True)
    rng = check_rng(rng)
    k = check_int(k, "k", minimum=1)
    lr = positive_scalar(lr, "lr")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    backend = check_backend(backend)
    N = Y.shape[0]
    order = rng.permutation(N) if shuffle else np.arange(N)
    if persistent:
        if chains is None:                   # start each chain at a hidden draw given one data row
            rows = Y[order[np.arange(batch_size) % N]]
            chains = (rng.random((batch_size, p.K)) < sigmoid(rows @ p.W.T + p.b_x)).astype(float)
        chains = check_layer(chains, "bernoulli", "chains", p.K).copy()
        if chains.shape[0] != batch_size:
            raise ValueError(f"chains must have shape (batch_size, K) = ({batch_size}, {p.K}); got {chains.shape}.")
    else:
        chains = np.zeros((0, p.K))
    u_x = rng.random((N, k, p.K))
    u_y = rng.random((N, k, p.M))
    W, b_x, b_y = p.W.copy(), p.b_x.copy(), p.b_y.copy()
    fn = _cd_epoch_kernel if backend == "numba" else _cd_epoch_numpy
    fn(W, b_x, b_y, Y, order.astype(np.int64), batch_size, k, lr, bool(persistent), chains, u_x, u_y)
    return EFHParams(W, b_x, b_y, p.hidden, p.visible), chains


def train_rbm(params: EFHParams, Y, rng, n_epochs: int, *, k: int = 1, lr: float = 0.1, batch_size: int = 10,
              method: str = "cd", callback: Callable | None = None, backend: str = "numba") -> TrainResult:
    r"""Train a Bernoulli-Bernoulli harmonium by CD-k (``method="cd"``) or persistent CD (``"pcd"``).

    ``callback(epoch, params)``, if given, is called before the first epoch (``epoch = 0``) and
    after each one; its return values are collected in ``history``.
    """
    method = check_choice(method, "method", ("cd", "pcd"))
    n_epochs = check_int(n_epochs, "n_epochs", minimum=0)
    p = check_params(params)
    history = []
    chains = None
    if callback is not None:
        history.append(callback(0, p))
    for epoch in range(1, n_epochs + 1):
        p, ch = cd_epoch(p, Y, rng, k=k, lr=lr, batch_size=batch_size, persistent=(method == "pcd"),
                         chains=chains, backend=backend)
        chains = ch if method == "pcd" else None
        if callback is not None:
            history.append(callback(epoch, p))
    return TrainResult(p, chains if chains is not None else np.zeros((0, p.K)), history)


def pseudo_log_likelihood(params: EFHParams, Y) -> float:
    r"""Average pseudo-log-likelihood :math:`\sum_j\log\hat p(y_j\mid\mathbf y_{-j})` of binary rows ``Y``.

    Each term is :math:`\sigma(F(\mathbf y^{(j)}) - F(\mathbf y))`, with :math:`\mathbf y^{(j)}` the
    row with unit ``j`` flipped and :math:`F` the free energy; it needs no :math:`Z`. (scikit-learn's
    ``score_samples`` flips one random unit per row and multiplies by ``M``: the same quantity in
    expectation.)
    """
    from .model import softplus
    p = check_params(params)
    if p.visible != "bernoulli" or p.hidden != "bernoulli":
        raise ValueError("pseudo_log_likelihood is for Bernoulli-Bernoulli harmoniums.")
    Y = check_layer(Y, "bernoulli", "Y", p.M, nonempty=True)
    eta = Y @ p.W.T + p.b_x
    F = -(Y @ p.b_y) - softplus(eta).sum(axis=1)
    total = np.zeros(Y.shape[0])
    for j in range(p.M):
        d = 1.0 - 2.0 * Y[:, j]                               # +1 turns unit j on, -1 turns it off
        F_flip = F - d * p.b_y[j] - (softplus(eta + d[:, None] * p.W[:, j]) - softplus(eta)).sum(axis=1)
        total += -softplus(-(F_flip - F))                     # log sigma(F_flip - F)
    return float(total.mean())


def warmup_kernels() -> None:
    """Compile the Gibbs and CD kernels on tiny inputs."""
    W = np.zeros((2, 3))
    y = np.zeros((1, 3))
    for fy in (0, 1, 2):
        _gibbs_kernel(W, np.zeros(2), np.zeros(3), 0, fy, y.copy(), np.full((1, 1, 2), 0.5), np.full((1, 1, 3), 0.5),
                    np.zeros((1, 2)), np.zeros((0, 1, 3)))
    _cd_epoch_kernel(W.copy(), np.zeros(2), np.zeros(3), np.zeros((2, 3)), np.arange(2), 1, 1, 0.1, False,
                   np.zeros((0, 2)), np.full((2, 1, 2), 0.5), np.full((2, 1, 3), 0.5))
