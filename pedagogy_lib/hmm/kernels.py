r"""numba kernels of the hidden Markov model (book Section 2.2.1): the normalized forward filter and
the :math:`\alpha`-:math:`\gamma` smoother, one loop over time each.

:func:`forward` runs the TIME UPDATE (Eq. 2.36) and the MEASUREMENT UPDATE (Eq. 2.37) at every step,
normalized, and keeps the log normalizers of Eq. 2.40; :func:`backward` runs the :math:`\gamma`
recursion of Eq. 2.44 (FUTURE CONDITIONING, Eq. 2.38, then the BACKWARD STEP, Eq. 2.39) from the
filter and the predictions, never reading the data. The public functions that call them, their
validation and their readable NumPy twins (``_forward_numpy``, ``_backward_numpy``) are in
:mod:`~pedagogy_lib.hmm.inference`.

Right at every scale: :func:`forward` checks that every step is clean (``JOINT_MIN``: no probability of a
state the chain can be in falls below the normal floats) and otherwise reports the sequence ``lossy``;
the caller then runs :func:`forward_log` and :func:`backward_log` (twins ``_forward_log_numpy``,
``_backward_log_numpy``), the same recursions carrying the logs of the filtered and predicted
probabilities, so that a state at :math:`e^{-800}` that the next observation favours by 1600 nats
comes back instead of staying 0.

Contract: the kernels write into arrays their caller allocated, draw no random number and raise
nothing. The public functions check shapes; the values they require (``pi`` and the columns of ``A``
probability vectors, ``log_lik`` finite or ``-inf``) :func:`forward` screens in one pass before the
recursion (:func:`values_ok`) and reports, as it reports the row of a zero evidence; the caller raises.
"""
from __future__ import annotations

import numpy as np

from ..core.jit import njit, njit_inline
from ..core.kernels import EXP_FLOOR, dot_blas, exp_into

__all__ = ["warmup_kernels"]


#: Below this many states the forward pass computes ``A @ f`` as one dot product per row, summed in a
#: register (:func:`dot_rows`); from it on, as a vectorized sum of columns (:func:`add_rows`).
SMALL_K = 8
#: The likelihoods are exponentiated a block of rows at a time, about this many entries per block.
EXP_BLOCK = 512
#: ``np.exp`` is 0 below about -745.13; between here and ``EXP_FLOOR`` (-708) its results are
#: subnormal, where :func:`~pedagogy_lib.core.kernels.exp_into` gives 0.
SUBNORMAL_FLOOR = -746.0
#: The smallest normal float64; the reciprocal of anything smaller overflows.
SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)
#: A step of the fast filter is CLEAN when every state of positive probability keeps a joint
#: ``pred[k] * exp(log_lik[t, k] - m_t)`` of at least ``JOINT_MIN`` and a filtered probability of at least
#: ``FILT_MIN``: then every stored number is a normal float, exact to rounding, and a state of computed
#: probability 0 has probability 0. The first step that is not clean hands the sequence to
#: :func:`forward_log`, which carries the logarithms.
JOINT_MIN = 2.0 ** -1000
FILT_MIN = 2.0 ** -900
#: ... which also needs every positive entry of ``A`` at least ``A_MIN``: a product ``A[i, j] f[j]`` of a
#: clean ``f`` is then at least 2^-1000, never rounded to 0 (smaller entries send every sequence to
#: :func:`forward_log`).
A_MIN = 2.0 ** -100
#: In :func:`forward_log` and :func:`backward_log`, a sum of products below this is recomputed as a
#: log-sum-exp of the logarithms. Above it the terms left out are negligible: the sums skip every
#: subnormal probability (below ``SMALLEST_NORMAL``, 2^-1022: arithmetic on subnormals is some hundred
#: times slower), which is at most K 2^-1022, below 2^-100 of the sum for any K below 2^22.
SUM_MIN = 2.0 ** -900
#: :func:`backward_log` adds the pairwise smoother ``r_i A[i, j] f_j`` in probabilities (one outer
#: product) when every ratio ``r_i = gamma / pred`` is at most ``exp(RATIO_LOG_MAX)``: a subnormal
#: ``f_j`` left out then costs at most ``e^300 2^-1022``, about 1e-177, of an entry. Larger ratios (a state
#: that was below the floats and came back) take one ``exp`` per entry.
RATIO_LOG_MAX = 300.0
#: From this many states on, :func:`backward` adds the outer products ``outer(ratio, f)`` of
#: ``OUTER_BLOCK`` time steps in one matrix product (BLAS) ...
BLOCKED_MIN_K = 10
#: ... of this many steps.
OUTER_BLOCK = 64


# ----------------------------------------------------------------------------------------------
# Pieces
# ----------------------------------------------------------------------------------------------

@njit_inline
def dot_rows(M, x, out):
    """``out = M @ x``, one dot product per row of ``M``, each summed in a register (for small K)."""
    K = x.shape[0]
    for i in range(K):
        s = 0.0
        for j in range(K):
            s += M[i, j] * x[j]
        out[i] = s


@njit_inline
def add_rows(Mt, x, out):
    """``out += Mt^T x``, a sum of rows of ``Mt`` (``out += Mt[j, :] x[j]``), four at a time.

    The loop over ``i`` is contiguous and has no reduction, so it vectorizes without fastmath, and
    ``out`` goes through memory a quarter as often as with one row at a time. The caller zeroes ``out``
    (in a loop it runs anyway: a separate loop here was measured slower for small K).
    """
    K = x.shape[0]
    K4 = K - K % 4
    for j in range(0, K4, 4):
        x0 = x[j]
        x1 = x[j + 1]
        x2 = x[j + 2]
        x3 = x[j + 3]
        for i in range(K):
            out[i] += (Mt[j, i] * x0 + Mt[j + 1, i] * x1) + (Mt[j + 2, i] * x2 + Mt[j + 3, i] * x3)
    for j in range(K4, K):
        x0 = x[j]
        for i in range(K):
            out[i] += Mt[j, i] * x0


@njit_inline
def scaled_likelihoods(log_lik, t0, nb, m, v, e, bits):
    r"""Rows ``t0 .. t0 + nb - 1`` of the likelihood, each scaled by its largest entry: ``m[b]`` the
    maximum of ``log_lik[t0 + b]`` and ``e[b * K + k]`` :math:`= \exp(` ``log_lik[t0 + b, k] - m[b]`` :math:`)`.

    The exponentials do not depend on the recursion, so a block of rows goes through
    :func:`~pedagogy_lib.core.kernels.exp_into` at once (``v``: the arguments, ``bits``: its scratch).
    That function gives 0 at or below ``EXP_FLOOR`` (-708), where ``np.exp`` gives subnormal numbers
    down to about -745: a block with an argument in between is recomputed by ``np.exp``, so ``e`` is
    ``np.exp``'s everywhere (within 1.2 ulp) and a state's likelihood is 0 only where ``np.exp``'s is.
    A row of ``-inf`` gives ``m[b] = -inf`` (and ``e`` 0): the caller reports it.
    """
    K = log_lik.shape[1]
    K4 = K - K % 4
    n = nb * K
    n_sub = 0
    for b in range(nb):
        row = log_lik[t0 + b]
        m0 = m1 = m2 = m3 = row[0]                      # four running maxima: four short chains
        for k in range(0, K4, 4):
            m0 = max(m0, row[k])
            m1 = max(m1, row[k + 1])
            m2 = max(m2, row[k + 2])
            m3 = max(m3, row[k + 3])
        for k in range(K4, K):
            m0 = max(m0, row[k])
        mb = max(max(m0, m1), max(m2, m3))
        m[b] = mb
        shift = mb if mb > -np.inf else 0.0             # a row of -inf: no -inf - (-inf)
        for k in range(K):
            a = row[k] - shift
            v[b * K + k] = a
            n_sub += 1 if (a <= EXP_FLOOR and a > SUBNORMAL_FLOOR) else 0
    exp_into(v[:n], 1.0, 0.0, e[:n], bits[:n])
    if n_sub > 0:                                       # rare: np.exp's subnormal results
        for j in range(n):
            if v[j] <= EXP_FLOOR:
                e[j] = np.exp(v[j])


# ----------------------------------------------------------------------------------------------
# Forward pass: time update (Eq. 2.36) + measurement update (Eq. 2.37), normalized
# ----------------------------------------------------------------------------------------------

@njit
def forward(pi, A, log_lik, filtered, predicted, log_c, atol):
    """The normalized forward filter: time update (Eq. 2.36), measurement update (Eq. 2.37), log factors (Eq. 2.40).

    Fills ``filtered``, ``predicted`` (T, K) and ``log_c`` (T,); returns ``(t_bad, ok, lossy)``: ``t_bad``
    is -1, or the first row at which the observations have probability zero, ``ok`` whether the
    values are valid (:func:`values_ok`, sums to 1 within ``atol``; if not, the outputs mean nothing),
    and ``lossy`` whether a step was not clean (``JOINT_MIN``): a state's probability fell below the
    normal floats (an emission ~700 nats apart, or an unreachable state far likelier than the
    reachable ones). Then the outputs mean nothing and the caller runs :func:`forward_log`.
    NumPy twin: :func:`~pedagogy_lib.hmm.inference._forward_numpy` (same names, same equations). The
    loop over time is :func:`filter_steps`, one loop for every K that takes the time update by
    :func:`dot_rows` below ``SMALL_K`` states and by :func:`add_rows` from there.
    """
    ok = values_ok(pi, A, log_lik, atol)
    K = A.shape[0]
    for i in range(K):
        for j in range(K):
            if A[i, j] > 0.0 and A[i, j] < A_MIN:
                return -1, ok, True
    At = np.ascontiguousarray(A.T)       # At[j, :] = A[:, j]
    t_bad = filter_steps(pi, A, At, log_lik, filtered, predicted, log_c, K < SMALL_K)
    if t_bad == -2:
        return -1, ok, True
    return t_bad, ok, False


@njit_inline
def values_ok(pi, A, log_lik, atol):
    """Whether ``pi`` and every column of ``A`` are probability vectors (non-negative entries summing to 1
    within ``atol``) and ``log_lik`` holds no NaN or ``+inf`` (``-inf``, an impossible emission, is fine).

    A NaN fails every comparison, and an infinite probability makes its sum infinite, so finiteness
    needs no test of its own. False sends the caller to the full check, which names the entry (and
    decides alone at the tolerance's edge, where its sums may round differently in the last bit).
    """
    K = pi.shape[0]
    ok = True
    total = 0.0
    for k in range(K):
        ok &= pi[k] >= 0.0
        total += pi[k]
    ok &= abs(total - 1.0) <= atol
    for j in range(K):                   # column j: p(x_t = . | x_{t-1} = j)
        total = 0.0
        for i in range(K):
            ok &= A[i, j] >= 0.0
            total += A[i, j]
        ok &= abs(total - 1.0) <= atol
    flat = log_lik.ravel()               # one loop over all T K entries: it vectorizes, a loop per row does not
    for j in range(flat.shape[0]):
        ok &= flat[j] < np.inf
    return ok


@njit_inline
def filter_steps(pi, A, At, log_lik, filtered, predicted, log_c, small):
    """The loop over time of :func:`forward`; ``small``: the time update by :func:`dot_rows`, else by
    :func:`add_rows` (a sum of columns of A, ``pred = sum_j A[:, j] f_j``).

    The scaled likelihoods ``exp(log_lik[t] - m_t)`` of the measurement update are computed ahead,
    a block of rows at a time (:func:`scaled_likelihoods`): vectorized, where one call of the C
    library's ``exp`` per entry was a sixth of the time at K = 50. ``m_t`` is the maximum over all
    states, reachable or not; a step where that leaves a reachable state's joint below ``JOINT_MIN``
    is not clean, and the loop returns -2 (the caller goes to :func:`forward_log`).
    """
    T, K = log_lik.shape
    R = max(1, EXP_BLOCK // K)           # rows per block of exponentials
    m = np.empty(R)                      # m[b] = max_k log_lik[t, k] for the rows of the block
    v = np.empty(R * K)
    e = np.empty(R * K)                  # e[b * K + k] = exp(log_lik[t, k] - m[b])
    bits = np.empty(R * K, np.int64)
    pred = np.empty(K)                   # predicted[t]
    f = np.empty(K)                      # filtered[t - 1], then filtered[t]
    b = R                                # row of step t in the block
    for t in range(T):
        if b == R:
            scaled_likelihoods(log_lik, t, min(R, T - t), m, v, e, bits)
            b = 0
        # TIME UPDATE, Eq. 2.36: pred = A @ f
        if t == 0:
            for i in range(K):
                pred[i] = pi[i]
        elif small:
            dot_rows(A, f, pred)
        else:
            for i in range(K):
                pred[i] = 0.0
            add_rows(At, f, pred)
        # MEASUREMENT UPDATE, Eq. 2.37, with the likelihood scaled by exp(-m)
        if m[b] == -np.inf:
            return t
        c = 0.0
        jmin = np.inf                                   # smallest joint of a state of positive probability
        row = log_lik[t]
        for k in range(K):
            joint = pred[k] * e[b * K + k]
            f[k] = joint
            c += joint
            live = pred[k] > 0.0 and row[k] > -np.inf
            jmin = min(jmin, joint if live else np.inf)
        if jmin == np.inf:                              # no state both possible and reachable
            return t
        if not (c > 0.0 and jmin >= JOINT_MIN and jmin >= FILT_MIN * c):
            return -2                                   # not clean: forward_log takes over
        if c >= SMALLEST_NORMAL:
            inv_c = 1.0 / c                             # one division, K multiplications ...
            for k in range(K):
                f[k] *= inv_c
        else:                                           # ... unless 1 / c overflows (c subnormal)
            for k in range(K):
                f[k] /= c
        for k in range(K):
            filtered[t, k] = f[k]
            predicted[t, k] = pred[k]
        log_c[t] = np.log(c) + m[b]
        b += 1
    return -1


# ----------------------------------------------------------------------------------------------
# The same two passes carrying logarithms, for sequences whose probabilities leave the float range
# ----------------------------------------------------------------------------------------------

@njit_inline
def log_sum_prod(logA_row, lv):
    """``log sum_j exp(logA_row[j] + lv[j])``, by its largest term; ``-inf`` for an empty sum."""
    K = lv.shape[0]
    mx = -np.inf
    for j in range(K):
        mx = max(mx, logA_row[j] + lv[j])
    if mx == -np.inf:
        return -np.inf
    s = 0.0
    for j in range(K):
        a = logA_row[j] + lv[j]
        if a > -np.inf:
            s += np.exp(a - mx)
    return mx + np.log(s)


@njit
def forward_log(pi, A, log_lik, filtered, predicted, log_c, log_filtered, log_predicted):
    r"""The forward filter of :func:`forward` (Eqs. 2.36, 2.37, 2.40), keeping the logarithms of the
    filtered and predicted probabilities as well (``log_filtered``, ``log_predicted``, (T, K)).

    For the sequences where :func:`forward` is not clean: a state of probability :math:`e^{-800}` now
    may be the likeliest after the next observation, so its probability is carried in logs. The time
    update is ``A @ f`` on the stored probabilities, exact where it is at least ``SUM_MIN``; below it
    (a state reached only from states below the normal floats) it is the log-sum-exp of
    ``log A[i, j] + log f[j]``. The measurement update is normalized by the largest
    ``log pred[k] + log_lik[t, k]``, so the likeliest state, reachable, always has joint 1. Returns -1 or
    the first row at which the observations have probability zero. NumPy twin:
    :func:`~pedagogy_lib.hmm.inference._forward_log_numpy`.
    """
    T, K = log_lik.shape
    logA = np.empty((K, K))
    for i in range(K):
        for j in range(K):
            logA[i, j] = np.log(A[i, j]) if A[i, j] > 0.0 else -np.inf
    pred = np.empty(K)
    lp = np.empty(K)
    a = np.empty(K)
    fw = np.empty(K)                                    # filtered[t - 1] without its subnormal entries
    for t in range(T):
        # TIME UPDATE, Eq. 2.36, in probabilities and in logs
        if t == 0:
            for i in range(K):
                pred[i] = pi[i]
                lp[i] = np.log(pi[i]) if pi[i] > 0.0 else -np.inf
        else:
            for j in range(K):
                v = filtered[t - 1, j]
                fw[j] = v if v >= SMALLEST_NORMAL else 0.0
            dot_rows(A, fw, pred)
            for i in range(K):
                if pred[i] >= SUM_MIN:
                    lp[i] = np.log(pred[i])
                else:
                    lp[i] = log_sum_prod(logA[i], log_filtered[t - 1])
                    pred[i] = np.exp(lp[i])
        # MEASUREMENT UPDATE, Eq. 2.37, scaled by the largest joint
        m = -np.inf
        for k in range(K):
            a[k] = lp[k] + log_lik[t, k]
            m = max(m, a[k])
        if m == -np.inf:
            return t
        c = 0.0
        for k in range(K):
            joint = np.exp(a[k] - m)
            joint = joint if joint >= SMALLEST_NORMAL else 0.0  # stored as 0; its log is kept
            filtered[t, k] = joint
            c += joint
        log_cc = np.log(c)
        for k in range(K):
            filtered[t, k] /= c
            log_filtered[t, k] = a[k] - m - log_cc
            predicted[t, k] = pred[k]
            log_predicted[t, k] = lp[k]
        log_c[t] = m + log_cc
    return -1


@njit
def backward_log(A, filtered, log_filtered, log_predicted, gamma, xi):
    r"""The gamma recursion of :func:`backward` (Eq. 2.44) on the logarithms of :func:`forward_log`.

    ``log r_i = log gamma_{t+1}(i) - log pred_{t+1}(i)``, then the BACKWARD STEP (Eq. 2.39)
    ``gamma_t(j) = f_t(j) sum_i A[i, j] r_i`` as ``A^T exp(log r - R)`` (``R`` the largest ``log r``),
    its entries below ``SUM_MIN`` recomputed as log-sum-exps, and the pairwise smoother (FUTURE
    CONDITIONING, Eq. 2.38) ``xi[t, i, j] = exp(log r_i + log A[i, j] + log f_t(j))`` entry by entry: a
    ratio :math:`e^{800}` meets a filtered probability :math:`e^{-800}`. Fills ``gamma`` (and ``xi``
    if it has T - 1 rows); returns ``xi_sum``. NumPy twin:
    :func:`~pedagogy_lib.hmm.inference._backward_log_numpy`.
    """
    T, K = filtered.shape
    full_xi = xi.shape[0] > 0
    logAT = np.empty((K, K))                            # logAT[j, i] = log A[i, j]
    for i in range(K):
        for j in range(K):
            logAT[j, i] = np.log(A[i, j]) if A[i, j] > 0.0 else -np.inf
    lg = np.empty(K)
    lr = np.empty(K)
    r = np.empty(K)
    g = np.empty(K)
    fw = np.empty(K)
    S = np.zeros((K, K))                                # sum of the pairwise smoothers, A included
    S_lin = np.zeros((K, K))                            # sum of outer(ratio, f), A not yet included
    for k in range(K):
        gamma[T - 1, k] = filtered[T - 1, k]
        lg[k] = log_filtered[T - 1, k]
    for t in range(T - 2, -1, -1):
        R = -np.inf
        for i in range(K):
            lr[i] = lg[i] - log_predicted[t + 1, i] if lg[i] > -np.inf else -np.inf
            R = max(R, lr[i])
        for i in range(K):
            v = np.exp(lr[i] - R)
            r[i] = v if v >= SMALLEST_NORMAL else 0.0   # no subnormal (slow) arithmetic
        for j in range(K):
            s = 0.0
            for i in range(K):
                s += A[i, j] * r[i]
            g[j] = s
        for j in range(K):
            lf = log_filtered[t, j]
            if lf == -np.inf:
                lg[j] = -np.inf
            elif g[j] >= SUM_MIN:
                lg[j] = lf + np.log(g[j]) + R
            else:
                lg[j] = lf + log_sum_prod(logAT[j], lr)
            gamma[t, j] = np.exp(lg[j])
        if R <= RATIO_LOG_MAX:                          # FUTURE CONDITIONING x gamma_{t+1} in probabilities
            eR = np.exp(R)
            for j in range(K):
                v = filtered[t, j]
                fw[j] = v if v >= SMALLEST_NORMAL else 0.0
            for i in range(K):
                ri = r[i] * eR
                for j in range(K):
                    S_lin[i, j] += ri * fw[j]
                    if full_xi:
                        xi[t, i, j] = ri * A[i, j] * fw[j]
            continue
        for i in range(K):                              # ... or entry by entry, in logs
            for j in range(K):
                v = lr[i] + logAT[j, i] + log_filtered[t, j]
                x = np.exp(v) if v > -np.inf else 0.0
                S[i, j] += x
                if full_xi:
                    xi[t, i, j] = x
    return S + A * S_lin


# ----------------------------------------------------------------------------------------------
# Backward pass: the gamma recursion, Eq. 2.44 (future conditioning 2.38 + backward step 2.39)
# ----------------------------------------------------------------------------------------------

@njit
def backward(A, filtered, predicted, gamma, xi):
    """The gamma recursion of Eq. 2.44: future conditioning (Eq. 2.38) and the backward step (Eq. 2.39).

    Fills ``gamma`` (T, K) and, if it has ``T - 1`` rows, the pairwise smoother ``xi`` (T-1, K, K);
    returns the expected transition counts ``xi_sum`` (K, K). NumPy twin:
    :func:`~pedagogy_lib.hmm.inference._backward_numpy`. The loop over time is
    :func:`smoother_steps`, one loop for every K (blocked from ``BLOCKED_MIN_K`` states).
    """
    return smoother_steps(A, filtered, predicted, gamma, xi, A.shape[0] >= BLOCKED_MIN_K)


@njit_inline
def smoother_steps(A, filtered, predicted, gamma, xi, blocked):
    """The loop over time of :func:`backward`. ``g = A^T ratio`` is a sum of rows of A (:func:`add_rows`).

    The expected transition counts need ``S = sum_t outer(ratio_{t+1}, f_t)``. Without ``blocked``,
    one outer product per step. With it (large K), the ratios of ``OUTER_BLOCK`` steps are kept
    (``Rb``, latest time last) and added at once by BLAS, ``S += Rb^T F`` with the matching rows
    ``F`` of ``filtered``: a pass over the K x K matrix ``S`` at every step was more than half of the
    backward pass at K = 50.
    """
    T, K = filtered.shape
    full_xi = xi.shape[0] > 0
    B = OUTER_BLOCK
    for k in range(K):
        gamma[T - 1, k] = filtered[T - 1, k]            # smoother at T = filter at T
    ratio = np.empty(K)                                 # gamma_{t+1} / predicted_{t+1}
    f = np.empty(K)                                     # filtered[t]
    g = np.empty(K)                                     # A^T ratio
    S = np.zeros((K, K))                                # sum_t outer(ratio_{t+1}, filtered_t)
    Rb = np.empty((B, K))                               # blocked: the ratios of the current block ...
    P = np.empty((K, K))                                # ... and its share of S
    nb = 0                                              # steps in the current block
    for t in range(T - 2, -1, -1):
        for i in range(K):
            p = predicted[t + 1, i]
            ratio[i] = gamma[t + 1, i] / p if p > 0.0 else 0.0
        for j in range(K):
            f[j] = filtered[t, j]
            g[j] = 0.0
        # BACKWARD STEP, Eq. 2.39: g = A^T ratio, gamma_t = filtered_t * g
        add_rows(A, ratio, g)
        for j in range(K):
            gamma[t, j] = f[j] * g[j]
        # FUTURE CONDITIONING (Eq. 2.38) x gamma_{t+1}: pairwise smoother, Eq. 2.44 first line
        if full_xi:
            for i in range(K):
                for j in range(K):
                    xi[t, i, j] = ratio[i] * A[i, j] * f[j]
        # expected transition counts: S += outer(ratio, f) ...
        if not blocked:
            for i in range(K):
                r = ratio[i]
                for j in range(K):
                    S[i, j] += r * f[j]
        else:                                           # ... for a block of steps at once, S += Rb^T F
            nb += 1
            for i in range(K):
                Rb[B - nb, i] = ratio[i]
            if nb == B or t == 0:
                dot_blas(Rb[B - nb:].T, filtered[t:t + nb], P)
                for i in range(K):
                    for j in range(K):
                        S[i, j] += P[i, j]
                nb = 0
    # Expected transition counts: sum_t xi[t, i, j] = A[i, j] * S[i, j]
    return A * S


def warmup_kernels() -> None:
    """Compile (or load from cache) both kernels on a tiny problem, with and without full ``xi``."""
    pi = np.array([0.6, 0.4])
    A = np.array([[0.9, 0.2], [0.1, 0.8]])
    log_lik = np.log(np.array([[0.5, 0.1], [0.2, 0.7], [0.3, 0.3]]))
    T, K = log_lik.shape
    filtered, predicted, log_c = np.empty((T, K)), np.empty((T, K)), np.empty(T)
    forward(pi, A, log_lik, filtered, predicted, log_c, 1e-8)
    gamma = np.empty((T, K))
    backward(A, filtered, predicted, gamma, np.empty((T - 1, K, K)))
    backward(A, filtered, predicted, gamma, np.empty((0, K, K)))
    lf, lp = np.empty((T, K)), np.empty((T, K))
    forward_log(pi, A, log_lik, filtered, predicted, log_c, lf, lp)
    backward_log(A, filtered, lf, lp, gamma, np.empty((T - 1, K, K)))
    backward_log(A, filtered, lf, lp, gamma, np.empty((0, K, K)))
