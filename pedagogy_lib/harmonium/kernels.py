r"""numba kernels of the harmoniums: exact enumeration by Gray code, block Gibbs sampling, CD-k and PCD-k.

The algorithms are described, and their NumPy twins written, in :mod:`~pedagogy_lib.harmonium.exact`
and :mod:`~pedagogy_lib.harmonium.gibbs`; this module holds their compiled loops:

* the Gray-code walk over the states of one Bernoulli layer (Section 3.1's marginal, Eq. 10.14's
  :math:`\log Z`): :func:`gray_log_marginals` writes the table of unnormalized log marginals,
  :func:`gray_log_partition` its log-sum-exp without the table;
* block Gibbs sampling, a whole layer at a time from its conditional (Eq. 10.17): :func:`gibbs_steps`;
* one epoch of CD-k or PCD-k on a Bernoulli-Bernoulli harmonium (Eqs. 10.20, 10.23): :func:`cd_epoch`,
  with sparse per-example loops for mini-batches below :data:`BLAS_BATCH` rows and matrix products
  over the batch from there on. The sigmoids are :func:`pedagogy_lib.core.kernels.exp_into` over whole
  rows, which vectorizes.

Integer family codes (0 Bernoulli, 1 Gaussian, 2 Poisson: :func:`~pedagogy_lib.harmonium.model.family_code`)
select the MODEL, the sufficient statistics of a layer's units, in the two leaf functions
:func:`sum_log_partition` and :func:`draw_unit` only; no kernel chooses an algorithm by a code.

The contract: the kernels write into arrays their caller allocated where they can (the table, the
chains, the parameters being trained), draw no random number (uniforms and normals come in pre-drawn)
and validate nothing.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.jit import njit, njit_ieee, njit_inline
from ..core.kernels import exp_into

__all__ = ["warmup_kernels"]

#: The Gray-code walk recomputes its running quantities from scratch every ``2**REFRESH_BITS`` states
#: (bounding rounding drift); within one such block only the lowest ``REFRESH_BITS`` units change.
REFRESH_BITS = 10
REFRESH = 1 << REFRESH_BITS
#: log 2, to turn a binary exponent into nats.
LN2 = float(np.log(2.0))
#: From this mini-batch size on, :func:`cd_epoch` works with matrix products over the whole batch (BLAS,
#: called from the compiled code without Python overhead) instead of sparse per-example loops, which
#: measured slower from about 4 rows on (2-core AMD EPYC, K = 64 and 256 on the digits).
BLAS_BATCH = 4


# ------------------------------------------------------------------------------------------------
# Leaves that depend on the unit family (the model)
# ------------------------------------------------------------------------------------------------
@njit
def sum_log_partition(zeta, fam):
    r""":math:`\sum_j B(\zeta_j)`, the log-partition functions of units of family code ``fam`` at the
    natural parameters ``zeta`` (the :math:`A` or :math:`B` of Eq. 10.17, per unit: softplus, :math:`\zeta^2/2`,
    :math:`e^\zeta`).

    ``fam`` selects the model (the units' sufficient statistics), not an algorithm. Twin:
    :func:`~pedagogy_lib.harmonium.model.log_partition_units`.
    """
    m = zeta.shape[0]
    s = 0.0
    for j in range(m):
        z = zeta[j]
        if fam == 0:
            s += max(z, 0.0) + np.log1p(np.exp(-abs(z)))
        elif fam == 1:
            s += 0.5 * z * z
        else:
            s += np.exp(z)
    return s


@njit
def draw_unit(eta, fam, noise):
    """One unit of family code ``fam`` drawn at natural parameter ``eta`` from its pre-drawn ``noise``:
    Bernoulli (``noise`` uniform: 1 if below the sigmoid), Gaussian (``noise`` standard normal, unit
    variance), Poisson (``noise`` uniform, by inversion of the CDF).

    ``fam`` selects the model (the units' family), not an algorithm. Twin:
    :func:`~pedagogy_lib.harmonium.gibbs._draw_numpy`.
    """
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


# ------------------------------------------------------------------------------------------------
# Gray-code enumeration (exact log Z and marginals); twins in pedagogy_lib.harmonium.exact
# ------------------------------------------------------------------------------------------------
@njit_inline
def prod_1p(u, start, stop):
    r""":math:`\prod_{j=\mathrm{start}}^{\mathrm{stop}-1}(1 + u_j)`, in eight independent partial products.

    Partial product ``l`` takes the factors ``start + l, start + l + 8, ...``: eight short chains of
    multiplications instead of one long one, which the processor runs side by side.
    """
    p0 = p1 = p2 = p3 = p4 = p5 = p6 = p7 = 1.0
    j = start
    while j + 8 <= stop:
        p0 *= 1.0 + u[j]
        p1 *= 1.0 + u[j + 1]
        p2 *= 1.0 + u[j + 2]
        p3 *= 1.0 + u[j + 3]
        p4 *= 1.0 + u[j + 4]
        p5 *= 1.0 + u[j + 5]
        p6 *= 1.0 + u[j + 6]
        p7 *= 1.0 + u[j + 7]
        j += 8
    prod = ((p0 * p1) * (p2 * p3)) * ((p4 * p5) * (p6 * p7))
    while j < stop:
        prod *= 1.0 + u[j]
        j += 1
    return prod


@njit_inline
def split_exponent(x):
    """``(f, e)`` with ``x = f * 2**e``, ``f`` in [1, 2), for a positive normal ``x``: the exponent field of
    its bits, no logarithm (like ``math.frexp``, whose mantissa is in [0.5, 1), without a function call)."""
    bits = np.float64(x).view(np.int64)
    f = np.int64((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000).view(np.float64)
    return f, (bits >> 52) - 1023


@njit_inline
def scaled_prod_1p(u, chunk, f, e):
    r"""``(f', e')`` with :math:`f' 2^{e'} = f\,2^{e}\prod_j (1 + u_j)` over all of ``u``, ``f'`` in [1, 2).

    ``chunk`` factors at a time by :func:`prod_1p`, then their binary exponent is moved into the integer
    ``e``: the caller chooses ``chunk`` so that ``chunk`` factors times 2 fit in a float64, so the product
    of any number of factors is kept exactly as one product would be, whatever its size, at the cost of a
    few integer operations per chunk.
    """
    m = u.shape[0]
    j = 0
    while j < m:
        stop = min(m, j + chunk)
        f, de = split_exponent(f * prod_1p(u, j, stop))
        e += de
        j = stop
    return f, e


@njit
def gray_refresh(We, b_e, b_o, g, chunk, zeta, u):
    """Set ``zeta = b_o + We^T s_g`` (and ``u = exp(zeta)`` when ``chunk > 0``) from scratch for the state
    ``g``; return ``b_e . s_g``."""
    n, m = We.shape
    lin = 0.0
    for j in range(m):
        zeta[j] = b_o[j]
    for k in range(n):
        if (g >> k) & 1:
            lin += b_e[k]
            for j in range(m):
                zeta[j] += We[k, j]
    if chunk > 0:
        for j in range(m):
            u[j] = np.exp(zeta[j])
    return lin


@njit_inline
def gray_step(t):
    """The unit ``k`` that step ``t`` of the Gray-code walk flips (the lowest set bit of ``t``), and 1 if it
    switches on, 0 if off."""
    k = 0
    while ((t >> k) & 1) == 0:
        k += 1
    return k, ((t ^ (t >> 1)) >> k) & 1


@njit_inline
def gray_flip(We, E, Einv, b_e, k, on, chunk, lin, zeta, u):
    """Flip unit ``k``: one row of ``We`` moves ``zeta`` (or, when ``chunk > 0``, one row of ``E = exp(We)``
    or ``Einv = exp(-We)`` multiplies ``u``). Returns the new ``lin``."""
    m = We.shape[1]
    if on:
        lin += b_e[k]
        if chunk > 0:
            for j in range(m):
                u[j] *= E[k, j]
        else:
            for j in range(m):
                zeta[j] += We[k, j]
    else:
        lin -= b_e[k]
        if chunk > 0:
            for j in range(m):
                u[j] *= Einv[k, j]
        else:
            for j in range(m):
                zeta[j] -= We[k, j]
    return lin


@njit
def gray_block(We, E, Einv, b_e, b_o, fam_o, chunk, t0, zeta, u, buf):
    """``buf[i]`` = the log marginal of state ``g = t ^ (t >> 1)``, ``t = t0 + i``; exact refresh at ``t0``.

    With ``chunk > 0`` the product of the factors ``1 + exp(zeta_j)`` is kept in scaled form
    (:func:`scaled_prod_1p`) and takes one logarithm per state; otherwise one softplus per unit.
    """
    lin = gray_refresh(We, b_e, b_o, t0 ^ (t0 >> 1), chunk, zeta, u)
    for i in range(buf.shape[0]):
        if i > 0:
            k, on = gray_step(t0 + i)
            lin = gray_flip(We, E, Einv, b_e, k, on, chunk, lin, zeta, u)
        if chunk > 0:
            f, e = scaled_prod_1p(u, chunk, 1.0, 0)
            buf[i] = lin + (np.log(f) + e * LN2)
        else:
            buf[i] = lin + sum_log_partition(zeta, fam_o)


@njit_inline
def gray_block_scaled_sum(We, E, Einv, b_e, b_o, eb, ebinv, pow2, chunk, t0, zeta, u):
    r"""``(c, S)`` with :math:`S e^{c} = \sum_t e^{v_t}` over the block of ``REFRESH`` states (all, if fewer) of
    the walk from ``t0``, ``v_t`` their log marginals, with no logarithm or exponential per state.

    For a Bernoulli partner. Each state's term :math:`e^{\mathrm{lin} - \mathrm{lin}_0}\prod_j (1 + e^{\zeta_j})`
    (``lin_0`` that of the first state) is kept as a mantissa in [1, 2) and an integer binary exponent:
    :math:`e^{\mathrm{lin} - \mathrm{lin}_0}` by multiplication (``eb = exp(b_e)``, ``ebinv = exp(-b_e)``),
    renormalized every step by :func:`split_exponent`, the product by :func:`scaled_prod_1p`. The terms
    are summed relative to the largest exponent so far, ``2**-d`` read from the table ``pow2`` (``pow2[d]``,
    zero from ``d = 1075`` on). Nothing overflows or underflows whatever the spread of the terms, so no
    range check is needed beyond those of the factors themselves (the caller's). Inlined into
    :func:`gray_log_partition`, whose arrays the compiler then knows apart.
    """
    n, m = We.shape
    nb = min(1 << n, REFRESH)
    dmax = pow2.shape[0] - 1
    lin0 = gray_refresh(We, b_e, b_o, t0 ^ (t0 >> 1), chunk, zeta, u)
    fl, el = 1.0, 0                       # exp(lin - lin0) = fl * 2**el
    S, eS = 0.0, -pow2.shape[0]           # the sum so far is S * 2**eS (below the first state's exponent)
    for i in range(nb):
        if i > 0:
            k, on = gray_step(t0 + i)
            if on:                        # gray_flip's multiplicative half, written out: the loop stays lean
                for j in range(m):
                    u[j] *= E[k, j]
                fl, de = split_exponent(fl * eb[k])
            else:
                for j in range(m):
                    u[j] *= Einv[k, j]
                fl, de = split_exponent(fl * ebinv[k])
            el += de
        f, e = scaled_prod_1p(u, chunk, fl, el)
        d = e - eS
        if d > 0:                         # a new largest exponent: rescale the sum so far
            S = S * pow2[min(d, dmax)] + f
            eS = e
        else:
            S += f * pow2[min(-d, dmax)]
    return lin0 + eS * LN2, S


@njit
def gray_log_marginals(We, b_e, b_o, fam_o, chunk, out):
    r"""``out[i] = b_e . s_i + sum_j B(zeta_j(s_i))`` for every binary state ``s_i`` of the enumerated layer:
    the unnormalized log marginal (Section 3.1), in the index order of
    :func:`~pedagogy_lib.harmonium.exact.states`.

    ``We`` (n, m) couples the enumerated layer (n Bernoulli units) to the other layer, whose family
    code is ``fam_o``; ``zeta(s) = b_o + We^T s``. States are visited in Gray-code order, so each
    step adds or subtracts one row of ``We``. Every ``REFRESH`` steps the running quantities are
    recomputed from scratch, which bounds rounding drift. With ``chunk > 0`` (Bernoulli partner,
    bounded natural parameters) the factors ``1 + exp(zeta_j)`` are kept by multiplication and
    ``chunk`` of them share one logarithm. Twin: :func:`~pedagogy_lib.harmonium.exact._gray_log_marginals_numpy`.
    """
    n, m = We.shape
    total = 1 << n
    nb = min(total, REFRESH)
    E, Einv = np.exp(We), np.exp(-We)
    zeta, u, buf = np.empty(m), np.empty(m), np.empty(nb)
    for t0 in range(0, total, nb):
        gray_block(We, E, Einv, b_e, b_o, fam_o, chunk, t0, zeta, u, buf)
        for i in range(nb):
            t = t0 + i
            out[t ^ (t >> 1)] = buf[i]


@njit_inline
def lse_merge(top, s, c, sb):
    """Merge a block whose exponentials sum to ``sb * exp(c)`` into the running ``(top, s)``, whose sum is ``s * exp(top)``."""
    if c > top:
        return c, s * np.exp(top - c) + sb
    return top, s + sb * np.exp(c - top)


@njit
def gray_log_partition(We, b_e, b_o, fam_o, chunk, scaled):
    r""":math:`\log Z` (Eq. 10.14): :math:`\log\sum_i e^{\mathrm{out}_i}` of :func:`gray_log_marginals`'s table,
    without the table.

    The walk is the same, in blocks of ``REFRESH`` states, each block's sum merged into a running
    log-sum-exp. With ``scaled`` (Bernoulli partner, ``chunk > 0`` and ``exp(+-b_e)`` representable: the
    caller checks) a block is summed in scaled form, mantissas and binary exponents, by
    :func:`gray_block_scaled_sum`: no logarithm or exponential per state at any coupling. Otherwise its log
    marginals go through a log-sum-exp of their own (two ways to the same sum). Twin:
    :func:`~pedagogy_lib.harmonium.exact._gray_log_partition_numpy`.
    """
    n, m = We.shape
    total = 1 << n
    nb = min(total, REFRESH)
    E, Einv, eb, ebinv = np.exp(We), np.exp(-We), np.exp(b_e), np.exp(-b_e)
    pow2 = 2.0 ** -np.arange(1076.0)      # 2**-d, d = 0 ... 1075 (the last one zero)
    zeta, u, buf = np.empty(m), np.empty(m), np.empty(nb)
    top, s = -np.inf, 0.0
    if scaled:
        for t0 in range(0, total, nb):
            c, sb = gray_block_scaled_sum(We, E, Einv, b_e, b_o, eb, ebinv, pow2, chunk, t0, zeta, u)
            top, s = lse_merge(top, s, c, sb)
        return top + np.log(s)
    for t0 in range(0, total, nb):
        gray_block(We, E, Einv, b_e, b_o, fam_o, chunk, t0, zeta, u, buf)
        c = buf.max()
        sb = 0.0
        for i in range(nb):
            sb += np.exp(buf[i] - c)
        top, s = lse_merge(top, s, c, sb)
    return top + np.log(s)


# ------------------------------------------------------------------------------------------------
# Block Gibbs sampling (Eq. 10.17); twin pedagogy_lib.harmonium.gibbs._gibbs_numpy
# ------------------------------------------------------------------------------------------------
@njit
def gibbs_steps(W, b_x, b_y, fam_x, fam_y, y, noise_x, noise_y, x, trace):
    """``noise_x.shape[0]`` block-Gibbs steps (x | y, then y | x, Eq. 10.17) for every chain, in place.

    ``y`` (C, M) is updated in place and ``x`` (C, K) receives the last hidden draws. The noise is
    a uniform in [0, 1) per unit for Bernoulli and Poisson units and a standard normal for Gaussian
    units. If ``trace.shape[0] > 0``, ``trace[s + 1]`` receives the visible states after step ``s``.
    Twin: :func:`~pedagogy_lib.harmonium.gibbs._gibbs_numpy`.
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
                x[c, k] = draw_unit(eta, fam_x, noise_x[s, c, k])
            for j in range(M):
                zeta[j] = b_y[j]
            for k in range(K):
                xk = x[c, k]
                if xk != 0.0:
                    for j in range(M):
                        zeta[j] += xk * W[k, j]
            for j in range(M):
                y[c, j] = draw_unit(zeta[j], fam_y, noise_y[s, c, j])
        if record:
            trace[s + 1] = y


# ------------------------------------------------------------------------------------------------
# CD-k and PCD-k on a Bernoulli-Bernoulli harmonium (Eqs. 10.20, 10.23); twin gibbs._cd_epoch_numpy
# ------------------------------------------------------------------------------------------------
class RBMArrays(NamedTuple):
    """A Bernoulli-Bernoulli harmonium under training, updated in place. ``Wt`` is a C-contiguous copy of
    ``W.T``, which the kernels keep in step with ``W`` so that every inner loop runs over contiguous memory."""

    W: np.ndarray            # (K, M)
    Wt: np.ndarray           # (M, K)
    b_x: np.ndarray          # (K,)
    b_y: np.ndarray          # (M,)


class CDEpoch(NamedTuple):
    """What one epoch visits: the rows ``Y[order]``, their uniforms, and the persistent chains.

    ``u_x`` (N, k, K) and ``u_y`` (N, k, M) are uniforms: the chain for the ``i``-th row of the epoch draws
    its visible states from ``u_y[i, s]`` and its hidden states from ``u_x[i, s]`` (CD: the draw before
    visible step ``s``; PCD: the draw after it). ``chains`` (batch_size, K) holds the hidden state of each
    persistent chain, row ``c`` serving the ``c``-th row of every mini-batch (shape (0, K) for CD).
    """

    Y: np.ndarray            # (N_data, M), in [0, 1]
    order: np.ndarray        # (N,) int64
    u_x: np.ndarray          # (N, k, K)
    u_y: np.ndarray          # (N, k, M)
    chains: np.ndarray       # (batch_size, K) for PCD, (0, K) for CD


class CDSettings(NamedTuple):
    """Rows per mini-batch, Gibbs steps per update, learning rate, and whether the chains persist (PCD)."""

    batch_size: int
    k: int
    lr: float
    persistent: bool


@njit_ieee
def sigmoid_inplace(a, ebuf, bits):
    """a = 1 / (1 + exp(-a)) for the 1-D array ``a``, its exponentials by
    :func:`~pedagogy_lib.core.kernels.exp_into` into the scratch ``ebuf`` (``bits``: its int64 scratch).

    Within a few ulp of :func:`~pedagogy_lib.core.logmath.sigmoid`; 1 for ``a`` from 708 on, 0 below
    -709.78 (exp overflows to inf). IEEE division (the denominator is at least 1), so the loop vectorizes.
    """
    exp_into(a, -1.0, 0.0, ebuf, bits)
    for i in range(a.shape[0]):
        a[i] = 1.0 / (1.0 + ebuf[i])


@njit_inline
def active_units(y, active):
    """The indices of the non-zero entries of ``y`` into ``active``; returns their number."""
    n = 0
    for j in range(y.shape[0]):
        if y[j] != 0.0:
            active[n] = j
            n += 1
    return n


@njit_inline
def hidden_probs(Wt, b_x, y, active, n_active, out, ebuf, bits):
    """out = sigma(b_x + W y) from the rows of W^T at the non-zero units of y (contiguous, vectorizable)."""
    K = Wt.shape[1]
    for kk in range(K):
        out[kk] = b_x[kk]
    for a in range(n_active):
        j = active[a]
        yj = y[j]
        for kk in range(K):
            out[kk] += Wt[j, kk] * yj
    sigmoid_inplace(out, ebuf, bits)


@njit_inline
def visible_probs(W, b_y, x, out, ebuf, bits):
    """out = sigma(b_y + W^T x) for binary ``x``: the rows of W at the hidden units that fire."""
    K, M = W.shape
    for j in range(M):
        out[j] = b_y[j]
    for kk in range(K):
        if x[kk] != 0.0:
            for j in range(M):
                out[j] += W[kk, j]
    sigmoid_inplace(out, ebuf, bits)


@njit_inline
def draw_binary(u, prob, out):
    """out[i] = 1 if u[i] < prob[i] else 0: Bernoulli draws from pre-drawn uniforms."""
    for i in range(out.shape[0]):
        out[i] = 1.0 if u[i] < prob[i] else 0.0


@njit_inline
def add_statistics(sign, prob, y, active, n_active, gWt, gbx, gby):
    """Add ``sign`` times the sufficient statistics (prob y^T, prob, y) of one example to the gradient
    (``gWt`` is its transpose); only the non-zero units of ``y`` enter."""
    K = prob.shape[0]
    for kk in range(K):
        gbx[kk] += sign * prob[kk]
    for a in range(n_active):
        j = active[a]
        syj = sign * y[j]
        for kk in range(K):
            gWt[j, kk] += prob[kk] * syj
    for j in range(y.shape[0]):
        gby[j] += sign * y[j]


class ExampleWork(NamedTuple):
    """Scratch of :func:`cd_epoch_by_example`: the batch's gradient (W^T, b_x, b_y) and one chain's states."""

    gWt: np.ndarray          # (M, K)
    gbx: np.ndarray          # (K,)
    gby: np.ndarray          # (M,)
    prob: np.ndarray         # (K,) p(x = 1 | y)
    x: np.ndarray            # (K,) hidden draw
    zeta: np.ndarray         # (M,) p(y = 1 | x)
    yv: np.ndarray           # (M,) visible draw
    active: np.ndarray       # (M,) int64: non-zero visible units
    ebuf: np.ndarray         # (max(K, M),) exponentials of the sigmoids
    bits: np.ndarray         # (max(K, M),) int64 scratch of exp_into


@njit_inline
def cd_example(rbm, epoch, settings, i, c, work):
    """Add the CD-k / PCD-k statistics of the ``i``-th row of the epoch (the ``c``-th of its mini-batch) to
    the gradient: data statistics (positive phase) minus those after ``k`` Gibbs steps (negative phase)."""
    W, Wt, b_x, b_y = rbm.W, rbm.Wt, rbm.b_x, rbm.b_y
    u_x, u_y, chains = epoch.u_x[i], epoch.u_y[i], epoch.chains
    k, persistent = settings.k, settings.persistent
    gWt, gbx, gby, prob, x, zeta = work.gWt, work.gbx, work.gby, work.prob, work.x, work.zeta
    yv, active, ebuf, bits = work.yv, work.active, work.ebuf, work.bits
    y0 = epoch.Y[epoch.order[i]]
    na = active_units(y0, active)
    hidden_probs(Wt, b_x, y0, active, na, prob, ebuf, bits)        # positive phase
    add_statistics(1.0, prob, y0, active, na, gWt, gbx, gby)
    for s in range(k):
        if persistent and s == 0:                                   # the chain's stored hidden state
            x[:] = chains[c]
        else:
            draw_binary(u_x[s - 1 if persistent else s], prob, x)
        visible_probs(W, b_y, x, zeta, ebuf, bits)
        draw_binary(u_y[s], zeta, yv)
        na = active_units(yv, active)
        hidden_probs(Wt, b_x, yv, active, na, prob, ebuf, bits)
    add_statistics(-1.0, prob, yv, active, na, gWt, gbx, gby)      # negative phase
    if persistent:
        draw_binary(u_x[k - 1], prob, chains[c])


@njit_inline
def apply_gradient(rbm, work, scale):
    """b_x, b_y, W^T += scale times the batch's gradient, then W = (W^T)^T tile by tile."""
    W, Wt, b_x, b_y = rbm.W, rbm.Wt, rbm.b_x, rbm.b_y
    gWt, gbx, gby = work.gWt, work.gbx, work.gby
    K, M = W.shape
    for kk in range(K):
        b_x[kk] += scale * gbx[kk]
    for j in range(M):
        b_y[j] += scale * gby[j]
        for kk in range(K):
            Wt[j, kk] += scale * gWt[j, kk]
    for kb in range(0, K, 16):
        for jb in range(0, M, 16):
            for kk in range(kb, min(K, kb + 16)):
                for j in range(jb, min(M, jb + 16)):
                    W[kk, j] = Wt[j, kk]


@njit
def cd_epoch_by_example(rbm, epoch, settings):
    """:func:`cd_epoch` with sparse per-example loops (mini-batches below :data:`BLAS_BATCH` rows): only the
    non-zero units enter the sums (binary states are sparse), and no inner loop is a floating-point
    reduction (which the compiler would not vectorize)."""
    K, M = rbm.W.shape
    N = epoch.order.shape[0]
    batch_size = settings.batch_size
    L = max(K, M)
    work = ExampleWork(np.zeros((M, K)), np.zeros(K), np.zeros(M), np.empty(K), np.empty(K), np.empty(M),
                       np.empty(M), np.empty(M, np.int64), np.empty(L), np.empty(L, np.int64))
    for start in range(0, N, batch_size):
        stop = min(N, start + batch_size)
        work.gWt[:, :] = 0.0
        work.gbx[:] = 0.0
        work.gby[:] = 0.0
        for i in range(start, stop):
            cd_example(rbm, epoch, settings, i, i - start, work)
        apply_gradient(rbm, work, settings.lr / (stop - start))


@njit_ieee
def sigmoid_rows(A, bias, ebuf, bits):
    """A[b, :] = sigma(A[b, :] + bias) in place, for a C-contiguous 2-D array (``ebuf``, ``bits``: scratch of
    :func:`sigmoid_inplace`, at least ``A.size`` long)."""
    B, n = A.shape
    for b in range(B):
        for i in range(n):
            A[b, i] += bias[i]
    sigmoid_inplace(A.reshape(B * n), ebuf, bits)


@njit_inline
def draw_binary_rows(u, s, prob, out):
    """out[b, i] = 1 if u[b, s, i] < prob[b, i] else 0, for every row ``b`` of the batch."""
    B, n = out.shape
    for b in range(B):
        for i in range(n):
            out[b, i] = 1.0 if u[b, s, i] < prob[b, i] else 0.0


@njit_inline
def apply_batch_gradient(Wt, b_x, b_y, Y0, P0, Yk, Pk, scale):
    """W^T, b_x, b_y += scale times (data statistics minus chain statistics) of a whole batch (Eq. 10.23)."""
    B, M = Y0.shape
    K = Wt.shape[1]
    G = np.dot(Y0.T, P0) - np.dot(Yk.T, Pk)                 # (M, K)
    for j in range(M):
        for kk in range(K):
            Wt[j, kk] += scale * G[j, kk]
    gx, gy = np.zeros(K), np.zeros(M)                       # the bias gradients, summed row by row
    for b in range(B):                                       # (unit stride: a column walk misses the cache)
        for kk in range(K):
            gx[kk] += P0[b, kk] - Pk[b, kk]
        for j in range(M):
            gy[j] += Y0[b, j] - Yk[b, j]
    for kk in range(K):
        b_x[kk] += scale * gx[kk]
    for j in range(M):
        b_y[j] += scale * gy[j]


@njit
def cd_batch_by_products(rbm, Y0, settings, chains, ux, uy, ebuf, bits):
    """One mini-batch ``Y0`` (B, M) of CD-k / PCD-k with matrix products over the batch (the twin's maths,
    inside the kernel); ``ux`` (B, k, K) and ``uy`` (B, k, M) are its uniforms. Updates ``rbm.Wt`` (not
    ``rbm.W``), the biases and, for PCD, ``chains``."""
    Wt, b_x, b_y = rbm.Wt, rbm.b_x, rbm.b_y
    k, persistent = settings.k, settings.persistent
    B, M = Y0.shape
    K = Wt.shape[1]
    P0 = np.dot(Y0, Wt)
    sigmoid_rows(P0, b_x, ebuf, bits)                         # positive phase
    prob = P0
    X = np.empty((B, K))
    Yk = np.empty((B, M))
    for s in range(k):
        if persistent and s == 0:                             # the chains' stored hidden states
            for b in range(B):
                for kk in range(K):
                    X[b, kk] = chains[b, kk]
        else:
            draw_binary_rows(ux, s - 1 if persistent else s, prob, X)
        V = np.dot(X, Wt.T)
        sigmoid_rows(V, b_y, ebuf, bits)
        draw_binary_rows(uy, s, V, Yk)
        prob = np.dot(Yk, Wt)
        sigmoid_rows(prob, b_x, ebuf, bits)
    if persistent:
        draw_binary_rows(ux, k - 1, prob, chains[:B])
    apply_batch_gradient(Wt, b_x, b_y, Y0, P0, Yk, prob, settings.lr / B)


@njit
def cd_epoch_by_products(rbm, epoch, settings):
    """:func:`cd_epoch` by :func:`cd_batch_by_products` on every mini-batch, then W = (W^T)^T."""
    W, Wt = rbm.W, rbm.Wt
    Y, order, u_x, u_y, chains = epoch.Y, epoch.order, epoch.u_x, epoch.u_y, epoch.chains
    batch_size = settings.batch_size
    N = order.shape[0]
    K, M = W.shape
    ebuf = np.empty(batch_size * max(K, M))
    bits = np.empty(batch_size * max(K, M), np.int64)
    Ybuf = np.empty((batch_size, M))
    for start in range(0, N, batch_size):
        stop = min(N, start + batch_size)
        for i in range(start, stop):
            for j in range(M):
                Ybuf[i - start, j] = Y[order[i], j]
        cd_batch_by_products(rbm, Ybuf[:stop - start], settings, chains, u_x[start:stop], u_y[start:stop],
                             ebuf, bits)
    for kk in range(K):
        for j in range(M):
            W[kk, j] = Wt[j, kk]


@njit
def cd_epoch(rbm, epoch, settings):
    """One epoch of CD-k or PCD-k over the rows ``Y[order]`` of ``epoch`` (a :class:`CDEpoch`), in place.

    ``rbm`` (a :class:`RBMArrays`) is updated after each mini-batch by ``lr`` times the batch average of
    (data statistics minus chain statistics), Eq. 10.23. The positive phase uses the hidden probabilities
    given the data, the negative phase those given the last visible draw. CD restarts each chain at its
    data row; PCD (``settings.persistent``) starts it at the stored hidden state of its chain, and stores
    a fresh hidden draw at the end of its negative phase: the same update, a different starting state.
    Mini-batches of :data:`BLAS_BATCH` rows or more go through matrix products
    (:func:`cd_epoch_by_products`), smaller ones through sparse loops (:func:`cd_epoch_by_example`): the
    same sums in another order. Twin: :func:`~pedagogy_lib.harmonium.gibbs._cd_epoch_numpy`.
    """
    if settings.batch_size >= BLAS_BATCH:
        cd_epoch_by_products(rbm, epoch, settings)
    else:
        cd_epoch_by_example(rbm, epoch, settings)


def warmup_kernels() -> None:
    """Compile every kernel on tiny inputs: the Gray-code walks (chunked and direct), the Gibbs steps for
    every visible family, and CD and PCD through both mini-batch paths."""
    We = np.zeros((2, 3))
    out = np.empty(4)
    gray_log_marginals(We, np.zeros(2), np.zeros(3), 0, 3, out)
    gray_log_marginals(We, np.zeros(2), np.zeros(3), 1, 0, out)
    gray_log_partition(We, np.zeros(2), np.zeros(3), 0, 3, True)
    gray_log_partition(We, np.zeros(2), np.zeros(3), 1, 0, False)
    W = np.zeros((2, 3))
    y = np.zeros((1, 3))
    for fy in (0, 1, 2):
        gibbs_steps(W, np.zeros(2), np.zeros(3), 0, fy, y.copy(), np.full((1, 1, 2), 0.5), np.full((1, 1, 3), 0.5),
                    np.zeros((1, 2)), np.zeros((0, 1, 3)))
    for batch_size in (1, BLAS_BATCH):
        for persistent in (False, True):
            rbm = RBMArrays(W.copy(), np.zeros((3, 2)), np.zeros(2), np.zeros(3))
            chains = np.zeros((batch_size if persistent else 0, 2))
            epoch = CDEpoch(np.zeros((2, 3)), np.arange(2), np.full((2, 1, 2), 0.5), np.full((2, 1, 3), 0.5), chains)
            cd_epoch(rbm, epoch, CDSettings(batch_size, 1, 0.1, persistent))
