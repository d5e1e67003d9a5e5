r"""Hidden Markov models: the normalized filter and the :math:`\alpha`-:math:`\gamma` smoother (book Section 2.2.1).

The model is Eq. 2.35 with a categorical "backbone" (Section 2.2.1),

.. math::
    \hat p(\mathbf x_t \mid \mathbf x_{t-1}) =
    \begin{cases} \mathrm{Categ}(\boldsymbol\pi) & t = 1 \\
                  \mathrm{Categ}(\mathbf A\mathbf x_{t-1}) & t > 1, \end{cases}

with one-hot states :math:`\mathbf x_t`. Because :math:`\mathbf A` multiplies the one-hot
*column* :math:`\mathbf x_{t-1}`, column :math:`j` of :math:`\mathbf A` is the distribution of
the next state given the current state :math:`j`:

.. math:: A_{ij} = \hat p(x_t = i \mid x_{t-1} = j), \qquad \textstyle\sum_i A_{ij} = 1,

i.e. **A is column-stochastic**. hmmlearn, most software and many texts (e.g. Rabiner 1989) use
the row-stochastic transpose, ``transmat_[j, i] = p(x_t = i | x_{t-1} = j)``; convert with
:func:`from_row_stochastic` / :func:`to_row_stochastic` (a transpose plus a check).

The emission densities are arbitrary: every function takes ``log_lik`` of shape ``(T, K)`` with
``log_lik[t, k]`` :math:`= \log\hat p(\mathbf y_t \mid x_t = k)`. :func:`categorical_log_lik` and
:func:`gaussian_log_lik` build it for the two emission families used later for EM.

Algorithms (0-based time: row ``t`` of every array is the book's step :math:`t+1`):

* :func:`hmm_filter`: TIME UPDATE (Eq. 2.36, a mixture marginal, Eq. 2.10) and MEASUREMENT
  UPDATE (Eq. 2.37, Bayes' rule for a mixture, Eq. 2.6), normalized at every step. The
  normalizers are the factors :math:`\hat p(\mathbf y_t\mid\mathbf y_{1:t-1})` of Eq. 2.40, so
  the log evidence is their summed logs. The normalized filter is the :math:`\alpha` of Eq. 2.42
  divided by :math:`\hat p(\mathbf y_{1:t})`; :func:`log_alpha` recovers Eq. 2.42 itself.
* :func:`hmm_smoother`: the :math:`\gamma` recursion, Eq. 2.44 in its first form (FUTURE
  CONDITIONING, Eq. 2.38, then the BACKWARD STEP, Eq. 2.39). It reads only the filter and the
  predictions, never the data, as the draft remarks after Eq. 2.39.

Storing scaled quantities (never products of many likelihoods) keeps every number in
:math:`[0, 1]`, so sequences of any length work; per-step ``log_lik`` rows are shifted by their
maximum before exponentiating, so values like ``-1000`` are fine. Where that would leave the
probability of a state the chain can be in below the normal floats (emissions hundreds of nats
apart, or an unreachable state far likelier than the reachable ones), both passes run again carrying
the logs of the filtered and predicted probabilities (``kernels.forward_log``, ``kernels.backward_log``),
so every valid input gets the exact answer to rounding.

Both passes run as numba kernels (:func:`~pedagogy_lib.hmm.kernels.forward`,
:func:`~pedagogy_lib.hmm.kernels.backward`); their NumPy twins here, ``_forward_numpy`` and
``_backward_numpy``, read like the equations, and ``backend`` chooses between the two.

Cost: :math:`O(TK^2)` time for the filter and for the smoother (one matrix-vector product per
step), against :math:`O(TK^T)` for summing over all :math:`K^T` paths; memory :math:`O(TK)`,
plus :math:`O(TK^2)` if the per-step pairwise marginals are requested (``return_pairwise="full"``).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import (PROB_ATOL, as_array, check_backend, check_choice, check_emission_table, check_int,
                           check_prob_rows, check_prob_vector, check_rng, check_spd, check_stochastic_matrix)
from ..core.linalg import mvn_logpdf_chol
from . import kernels

__all__ = [
    "HMMFilter",
    "HMMPosterior",
    "hmm_filter",
    "hmm_smoother",
    "log_alpha",
    "from_row_stochastic",
    "to_row_stochastic",
    "categorical_log_lik",
    "gaussian_log_lik",
    "sample_states",
]

PAIRWISE_CHOICES = ("sum", "full", "none")


class HMMFilter(NamedTuple):
    r"""Result of :func:`hmm_filter` (row ``t`` is the book's step :math:`t+1`).

    Attributes
    ----------
    filtered : ndarray, shape (T, K)
        Filter distributions :math:`\hat p(x_t = k \mid \mathbf y_1,\dots,\mathbf y_t)` (Eq. 2.37),
        the normalized :math:`\alpha_t` of Eq. 2.42. Rows sum to one.
    predicted : ndarray, shape (T, K)
        One-step predictions :math:`\hat p(x_t = k \mid \mathbf y_1,\dots,\mathbf y_{t-1})`
        (Eq. 2.36); row 0 is :math:`\boldsymbol\pi`.
    log_c : ndarray, shape (T,)
        :math:`\log\hat p(\mathbf y_t \mid \mathbf y_1,\dots,\mathbf y_{t-1})`, the log normalizer
        of each measurement update, i.e. the log factors of Eq. 2.40.
    log_evidence : float
        :math:`\log\hat p(\mathbf y_1,\dots,\mathbf y_T) = \sum_t` ``log_c[t]`` (Eq. 2.40).
    log_filtered : ndarray, shape (T, K), or None
        :math:`\log` of ``filtered``, computed in logs, where some filter probability left the normal
        floats (``filtered`` holds 0 or a subnormal there, e.g. a state 800 nats less likely than another);
        ``None`` where every one is a normal float and ``np.log(filtered)`` is exact. :func:`log_alpha`
        reads it.
    """

    filtered: np.ndarray
    predicted: np.ndarray
    log_c: np.ndarray
    log_evidence: float
    log_filtered: np.ndarray | None = None


class HMMPosterior(NamedTuple):
    r"""Result of :func:`hmm_smoother` (row ``t`` is the book's step :math:`t+1`).

    Attributes
    ----------
    filtered, predicted, log_c, log_evidence, log_filtered
        As in :class:`HMMFilter`.
    gamma : ndarray, shape (T, K)
        Smoother distributions :math:`\gamma_t(k) = \hat p(x_t = k \mid \mathbf y_1,\dots,\mathbf y_T)`
        (Eq. 2.43). ``gamma[-1]`` equals ``filtered[-1]``.
    xi : ndarray, shape (T-1, K, K), or None
        Pairwise smoother distributions (the first line of Eq. 2.44), in the index order of the
        column-stochastic :math:`\mathbf A` (next state first, current state second):
        ``xi[t, i, j]`` :math:`= \hat p(x_{t+1} = i, x_t = j \mid \mathbf y_1,\dots,\mathbf y_T)`.
        Hence ``xi[t].sum(axis=1) == gamma[t + 1]`` and ``xi[t].sum(axis=0) == gamma[t]``.
        Present only with ``return_pairwise="full"``.
    xi_sum : ndarray, shape (K, K), or None
        ``xi.sum(axis=0)``: expected numbers of transitions :math:`j \to i`, the sufficient
        statistic for re-estimating :math:`\mathbf A` in Baum-Welch (EM). Present unless
        ``return_pairwise="none"``. For ``T = 1`` it is all zeros.
    """

    filtered: np.ndarray
    predicted: np.ndarray
    gamma: np.ndarray
    xi: np.ndarray | None
    xi_sum: np.ndarray | None
    log_c: np.ndarray
    log_evidence: float
    log_filtered: np.ndarray | None = None


# ----------------------------------------------------------------------------------------------
# Validation (once, at the boundary)
# ----------------------------------------------------------------------------------------------

def check_transition(A: np.ndarray, name: str = "A") -> None:
    """Column-stochastic check, with a hint when the user passed the row-stochastic transpose."""
    try:
        check_stochastic_matrix(A, name, axis=0)
    except ValueError as exc:
        if A.ndim == 2 and A.shape[0] == A.shape[1] and (A >= 0).all() \
                and np.allclose(A.sum(axis=1), 1.0, atol=1e-8, rtol=0.0):
            raise ValueError(f"{exc} Its rows sum to 1: if it is row-stochastic (hmmlearn's transmat_), "
                             f"pass from_row_stochastic({name}).") from None
        raise


def _check_hmm(pi, A, log_lik):
    """The arguments as float64 arrays of matching shapes. Their values are checked by :func:`run_forward`:
    the forward pass screens them as it starts, and only a failed screen runs :func:`_check_values`."""
    pi = as_array(pi, "pi", ndim=1, dims="(K,)", finite=False)
    if pi.shape[0] == 0:
        check_prob_vector(pi, "pi")                # raises: no states
    K = pi.shape[0]
    A = as_array(A, "A", shape=(K, K), dims="(K, K)", finite=False)
    log_lik = as_array(log_lik, "log_lik", shape=(None, K), dims="(T, K)", finite=False)
    if log_lik.shape[0] == 0:
        raise ValueError(f"log_lik must have at least one time step (T >= 1); got shape {log_lik.shape}.")
    return pi, A, log_lik


def _check_values(pi, A, log_lik) -> None:
    """Raise, naming the first bad entry, unless ``pi`` is a probability vector, ``A`` column-stochastic
    and ``log_lik`` finite or ``-inf`` (an impossible emission), never NaN or ``+inf``."""
    check_prob_vector(pi, "pi")
    check_transition(A, "A")
    bad = np.isnan(log_lik) | (log_lik == np.inf)
    if bad.any():
        t, k = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(f"log_lik must be finite or -inf (a log-probability); got {log_lik[t, k]} "
                         f"at index ({t}, {k}).")


def _raise_zero_evidence(t_bad: int) -> None:
    raise ValueError(f"The observations have probability zero under the model: "
                     f"p(y_t | y_1..y_(t-1)) = 0 at row t = {t_bad} of log_lik (the book's step {t_bad + 1}); "
                     f"every state with positive predicted probability has log_lik = -inf there.")


# ----------------------------------------------------------------------------------------------
# Forward pass: time update (Eq. 2.36) + measurement update (Eq. 2.37), normalized
# ----------------------------------------------------------------------------------------------

def _values_ok_numpy(pi, A, log_lik, atol):
    """Readable twin of :func:`~pedagogy_lib.hmm.kernels.values_ok`: probabilities (a NaN fails, an infinite
    entry through its sum) and ``log_lik`` free of NaN and ``+inf``."""
    return bool(pi.min() >= 0.0 and abs(pi.sum() - 1.0) <= atol
                and A.min() >= 0.0 and np.all(np.abs(A.sum(axis=0) - 1.0) <= atol)
                and np.all(log_lik < np.inf))


def _forward_numpy(pi, A, log_lik, filtered, predicted, log_c, atol):
    """Readable twin of :func:`~pedagogy_lib.hmm.kernels.forward` (same names, same equations).

    Fills ``filtered``, ``predicted`` (T, K) and ``log_c`` (T,) in place; returns ``(t_bad, ok, lossy)``:
    -1 or the first row ``t`` at which the observations have probability zero, whether the values
    are valid (:func:`_values_ok_numpy`), and whether a step was not clean (a probability below the
    normal floats, ``kernels.JOINT_MIN``): then the caller runs :func:`_forward_log_numpy`. Invalid
    values are not run through the recursion (NumPy would warn about them): the screen is the full
    check's own test, so the caller will raise.
    """
    if not _values_ok_numpy(pi, A, log_lik, atol):
        return -1, False, False
    if np.any((A > 0.0) & (A < kernels.A_MIN)):
        return -1, True, True
    T, K = log_lik.shape
    for t in range(T):
        # TIME UPDATE, Eq. 2.36: p(x_t | y_1..t-1) = sum_j A[:, j] p(x_{t-1} = j | y_1..t-1)  (Eq. 2.10)
        predicted[t] = pi if t == 0 else A @ filtered[t - 1]
        # MEASUREMENT UPDATE, Eq. 2.37, with the likelihood scaled by exp(-m) to avoid underflow
        m = np.max(log_lik[t])
        if m == -np.inf:
            return t, True, False
        joint = predicted[t] * np.exp(log_lik[t] - m)   # p(x_t, y_t | y_1..t-1) * exp(-m)
        c = joint.sum()                                 # p(y_t | y_1..t-1) * exp(-m)  (Eq. 2.40 factor)
        live = (predicted[t] > 0.0) & (log_lik[t] > -np.inf)
        jmin = joint[live].min(initial=np.inf)          # clean: every live state's joint a normal float
        if jmin == np.inf:                              # no state both possible and reachable
            return t, True, False
        if not (c > 0.0 and jmin >= kernels.JOINT_MIN and jmin >= kernels.FILT_MIN * c):
            return -1, True, True
        filtered[t] = joint / c                         # Bayes' rule for a mixture, Eq. 2.6
        log_c[t] = np.log(c) + m
    return -1, True, False


def _log_sum_prod(logA, lv):
    """``log sum_j exp(logA[..., j] + lv[j])`` along the last axis, by the largest term; ``-inf`` for an empty sum."""
    a = logA + lv
    mx = a.max(axis=-1, keepdims=True)
    safe = np.where(mx > -np.inf, mx, 0.0)
    with np.errstate(divide="ignore"):
        return (safe + np.log(np.exp(a - safe).sum(axis=-1, keepdims=True)))[..., 0]


def _forward_log_numpy(pi, A, log_lik, filtered, predicted, log_c, log_filtered, log_predicted):
    """Readable twin of :func:`~pedagogy_lib.hmm.kernels.forward_log`: the filter keeping the logarithms
    of the filtered and predicted probabilities, normalized by the largest ``log pred + log_lik``.
    Returns -1 or the first row at which the observations have probability zero."""
    T, K = log_lik.shape
    with np.errstate(divide="ignore"):
        logA = np.log(A)
        for t in range(T):
            # TIME UPDATE, Eq. 2.36: A @ f where it is a normal float, else the log-sum-exp of the logs
            if t == 0:
                pred, lp = pi.copy(), np.log(pi)
            else:
                pred = A @ filtered[t - 1]
                lp = np.log(pred)
                small = pred < kernels.SUM_MIN
                if small.any():
                    lp[small] = _log_sum_prod(logA[small], log_filtered[t - 1])
                    pred[small] = np.exp(lp[small])
            # MEASUREMENT UPDATE, Eq. 2.37, scaled by the largest joint
            a = lp + log_lik[t]
            m = a.max()
            if m == -np.inf:
                return t
            joint = np.exp(a - m)
            c = joint.sum()
            filtered[t] = joint / c
            log_filtered[t] = a - m - np.log(c)
            predicted[t], log_predicted[t] = pred, lp
            log_c[t] = m + np.log(c)
    return -1


# ----------------------------------------------------------------------------------------------
# Backward pass: the gamma recursion, Eq. 2.44 (future conditioning 2.38 + backward step 2.39)
# ----------------------------------------------------------------------------------------------

def _backward_numpy(A, filtered, predicted, gamma, xi):
    """Readable twin of :func:`~pedagogy_lib.hmm.kernels.backward`. Note: no ``log_lik`` argument (the smoother never reads the data).

    Fills ``gamma`` (T, K) and, if it has ``T - 1`` rows, ``xi`` (T-1, K, K); returns ``xi_sum`` (K, K).
    """
    T, K = filtered.shape
    full_xi = xi.shape[0] > 0
    # ratio[t, i] = gamma_t(i) / p(x_t = i | y_1..t-1); zero where the prediction is zero (then so is gamma)
    ratio = np.zeros((T, K))
    gamma[T - 1] = filtered[T - 1]                      # initialization: smoother at T = filter at T
    for t in range(T - 2, -1, -1):
        pos = predicted[t + 1] > 0.0
        ratio[t + 1, pos] = gamma[t + 1, pos] / predicted[t + 1, pos]
        # FUTURE CONDITIONING, Eq. 2.38: p(x_t = j | x_{t+1} = i, y) = A[i, j] filtered[t, j] / predicted[t+1, i];
        # times gamma_{t+1}(i) it is the pairwise smoother, Eq. 2.44 first line
        if full_xi:
            xi[t] = ratio[t + 1][:, None] * A * filtered[t][None, :]
        # BACKWARD STEP, Eq. 2.39: gamma_t(j) = sum_i xi[t, i, j] = filtered[t, j] * (A^T ratio[t+1])_j
        gamma[t] = filtered[t] * (A.T @ ratio[t + 1])
    # Expected transition counts: sum_t xi[t, i, j] = A[i, j] * sum_t ratio[t+1, i] filtered[t, j]
    return A * (ratio[1:].T @ filtered[:-1])


def _backward_log_numpy(A, filtered, log_filtered, log_predicted, gamma, xi):
    """Readable twin of :func:`~pedagogy_lib.hmm.kernels.backward_log`: the gamma recursion (Eq. 2.44) on
    the logarithms of :func:`_forward_log_numpy`. Fills ``gamma`` (and ``xi``); returns ``xi_sum``."""
    T, K = filtered.shape
    full_xi = xi.shape[0] > 0
    with np.errstate(divide="ignore"):
        logAT = np.log(A).T                             # logAT[j, i] = log A[i, j]
    gamma[T - 1] = filtered[T - 1]
    lg = log_filtered[T - 1].copy()
    S = np.zeros((K, K))
    for t in range(T - 2, -1, -1):
        # log of gamma_{t+1} / predicted_{t+1}; -inf where gamma is zero (and so is the prediction)
        lr = np.full(K, -np.inf)
        live = lg > -np.inf
        lr[live] = lg[live] - log_predicted[t + 1, live]
        R = lr.max()
        g = A.T @ np.exp(lr - R)                        # BACKWARD STEP, Eq. 2.39, scaled by exp(-R)
        with np.errstate(divide="ignore"):
            lsum = np.log(g) + R
        small = g < kernels.SUM_MIN
        if small.any():
            lsum[small] = _log_sum_prod(logAT[small], lr)
        lf = log_filtered[t]
        lg = np.where(lf > -np.inf, lf + lsum, -np.inf)
        gamma[t] = np.exp(lg)
        # FUTURE CONDITIONING, Eq. 2.38, times gamma_{t+1}: the pairwise smoother entry by entry
        x = np.exp(lr[:, None] + logAT.T + lf[None, :])
        S += x
        if full_xi:
            xi[t] = x
    return S


_FORWARD = {"numpy": _forward_numpy, "numba": kernels.forward}
_BACKWARD = {"numpy": _backward_numpy, "numba": kernels.backward}
_FORWARD_LOG = {"numpy": _forward_log_numpy, "numba": kernels.forward_log}
_BACKWARD_LOG = {"numpy": _backward_log_numpy, "numba": kernels.backward_log}


def run_forward(backend, pi, A, log_lik, n_arrays=2):
    """Allocate the outputs with NumPy and run the forward kernel; raise if a value is invalid or the evidence is zero.

    The kernel screens the values of ``pi``, ``A`` and ``log_lik`` as it starts; if they fail, or the
    evidence is zero, :func:`_check_values` runs, so that an invalid argument is named before a zero
    evidence is reported.

    Outputs are allocated here rather than inside the kernel, as ``n_arrays`` (T, K) slices of
    one block: NumPy asks the OS for huge pages on allocations of 4 MB and more, which makes the
    first touch of the memory several times cheaper (page faults dominated the run time of small-K
    problems otherwise). Returns ``filtered``, ``predicted``, ``log_c``, the spare slices and ``logs``:
    None, or, when the fast pass was not clean (a probability left the normal floats, see
    :data:`~pedagogy_lib.hmm.kernels.JOINT_MIN`) and the pass in logs ran instead, the pair
    ``(log_filtered, log_predicted)`` that :func:`run_backward` then needs.
    """
    T, K = log_lik.shape
    block = np.empty((n_arrays, T, K))
    filtered, predicted = block[0], block[1]
    log_c = np.empty(T)
    t_bad, ok, lossy = _FORWARD[backend](pi, A, log_lik, filtered, predicted, log_c, PROB_ATOL)
    if not ok or (t_bad >= 0 and not lossy):
        _check_values(pi, A, log_lik)
    logs = None
    if lossy:
        logs = (np.empty((T, K)), np.empty((T, K)))
        t_bad = _FORWARD_LOG[backend](pi, A, log_lik, filtered, predicted, log_c, *logs)
    if t_bad >= 0:
        _raise_zero_evidence(int(t_bad))
    return filtered, predicted, log_c, block[2:], logs


def run_backward(backend, A, filtered, predicted, gamma, xi, logs=None):
    """Run the backward (gamma) kernel into ``gamma`` (and ``xi`` when it has T - 1 rows); return the
    pairwise-marginal sum; with the ``logs`` of :func:`run_forward`, the kernel in logs. Inputs come
    from :func:`run_forward`; nothing is validated here."""
    if logs is not None:
        return _BACKWARD_LOG[backend](A, filtered, logs[0], logs[1], gamma, xi)
    return _BACKWARD[backend](A, filtered, predicted, gamma, xi)


# ----------------------------------------------------------------------------------------------
# Public functions
# ----------------------------------------------------------------------------------------------

def hmm_filter(pi, A, log_lik, *, backend: str = "auto") -> HMMFilter:
    r"""HMM filter: normalized forward recursion (Eqs. 2.36-2.37) and the log evidence (Eq. 2.40).

    .. math::
        \hat p(x_t \mid \mathbf y_{1:t-1}) = \mathbf A\,\hat p(x_{t-1} \mid \mathbf y_{1:t-1}), \qquad
        \hat p(x_t \mid \mathbf y_{1:t}) = \frac{\hat p(x_t \mid \mathbf y_{1:t-1})\,\hat p(\mathbf y_t \mid x_t)}
        {\hat p(\mathbf y_t \mid \mathbf y_{1:t-1})},

    started from :math:`\hat p(x_1) = \boldsymbol\pi`, with
    :math:`\log\hat p(\mathbf y_{1:T}) = \sum_t \log\hat p(\mathbf y_t \mid \mathbf y_{1:t-1})`.

    Parameters
    ----------
    pi : array_like, shape (K,)
        Initial state distribution :math:`\boldsymbol\pi`.
    A : array_like, shape (K, K)
        Column-stochastic transition matrix, ``A[i, j]`` :math:`= \hat p(x_t = i \mid x_{t-1} = j)`.
        For a row-stochastic matrix ``P`` (hmmlearn's ``transmat_``) pass ``from_row_stochastic(P)``.
    log_lik : array_like, shape (T, K)
        ``log_lik[t, k]`` :math:`= \log\hat p(\mathbf y_t \mid x_t = k)`, up to an additive constant
        per row (which shifts ``log_c[t]`` and the evidence but nothing else). Entries may be
        ``-inf`` (impossible emissions); NaN and ``+inf`` are rejected. ``T >= 1``.
    backend : {"auto", "numba", "numpy"}
        Compiled kernel or its readable NumPy twin; ``"auto"`` runs the twin while compiling would cost more
        than it saves (:func:`pedagogy_lib.core.jit.prefer_compiled`).

    Returns
    -------
    HMMFilter
        ``filtered``, ``predicted``, ``log_c``, ``log_evidence`` and ``log_filtered`` (``None`` unless a
        filter probability left the normal floats; :func:`log_alpha` reads it).

    Raises
    ------
    ValueError
        For invalid parameters, or if the observations have probability zero under the model.
    """
    pi, A, log_lik = _check_hmm(pi, A, log_lik)
    T, K = log_lik.shape
    backend = check_backend(backend, kernels.forward, T=T, K=K)
    filtered, predicted, log_c, _, logs = run_forward(backend, pi, A, log_lik)
    return HMMFilter(filtered, predicted, log_c, float(np.sum(log_c)), None if logs is None else logs[0])


def hmm_smoother(pi, A, log_lik, *, return_pairwise: str = "sum", backend: str = "auto") -> HMMPosterior:
    r"""HMM smoother: the :math:`\alpha`-:math:`\gamma` algorithm of Section 2.2.1 in normalized form.

    Runs :func:`hmm_filter`, then the :math:`\gamma` recursion of Eq. 2.44 backwards from
    :math:`\gamma_T = \hat p(x_T \mid \mathbf y_{1:T})`, giving the smoother distributions
    :math:`\gamma_t` of Eq. 2.43:

    .. math::
        \hat p(x_{t+1} = i, x_t = j \mid \mathbf y_{1:T})
            = \gamma_{t+1}(i)\,\frac{A_{ij}\,\hat p(x_t = j \mid \mathbf y_{1:t})}
                                   {\hat p(x_{t+1} = i \mid \mathbf y_{1:t})}, \qquad
        \gamma_t(j) = \sum_i \hat p(x_{t+1} = i, x_t = j \mid \mathbf y_{1:T}).

    The fraction is FUTURE CONDITIONING (Eq. 2.38) and the sum the BACKWARD STEP (Eq. 2.39); the
    filter densities may be replaced by :math:`\alpha`'s (Eq. 2.42) without changing anything, which
    is why this is the :math:`\alpha`-:math:`\gamma` algorithm. The backward pass never reads
    ``log_lik``.

    Parameters
    ----------
    pi, A, log_lik, backend
        As in :func:`hmm_filter`.
    return_pairwise : {"sum", "full", "none"}
        ``"sum"`` (default) returns ``xi_sum`` (K, K), the expected transition counts that
        Baum-Welch needs; ``"full"`` also returns ``xi`` of shape (T-1, K, K) (memory
        :math:`8(T-1)K^2` bytes: 2 GB for ``T = 1e5, K = 50``); ``"none"`` returns neither.

    Returns
    -------
    HMMPosterior
        ``filtered``, ``predicted``, ``gamma``, ``xi``, ``xi_sum``, ``log_c``, ``log_evidence``,
        ``log_filtered`` (as in :func:`hmm_filter`);
        ``xi[t, i, j]`` :math:`= \hat p(x_{t+1} = i, x_t = j \mid \mathbf y_{1:T})` (next state first,
        matching the column convention of ``A``).

    Examples
    --------
    >>> import numpy as np
    >>> pi = np.array([0.5, 0.5]); A = np.array([[0.9, 0.2], [0.1, 0.8]])   # columns sum to 1
    >>> post = hmm_smoother(pi, A, np.log([[0.7, 0.2], [0.6, 0.3]]))
    >>> bool(np.allclose(post.gamma.sum(axis=1), 1.0)), bool(np.allclose(post.gamma[-1], post.filtered[-1]))
    (True, True)
    """
    return_pairwise = check_choice(return_pairwise, "return_pairwise", PAIRWISE_CHOICES)
    pi, A, log_lik = _check_hmm(pi, A, log_lik)
    T, K = log_lik.shape
    backend = check_backend(backend, kernels.backward, T=T, K=K)
    filtered, predicted, log_c, spare, logs = run_forward(backend, pi, A, log_lik, n_arrays=3)
    gamma = spare[0]
    xi = np.empty((T - 1 if return_pairwise == "full" else 0, K, K))
    xi_sum = run_backward(backend, A, filtered, predicted, gamma, xi, logs)
    return HMMPosterior(filtered, predicted, gamma,
                        xi if return_pairwise == "full" else None,
                        xi_sum if return_pairwise != "none" else None,
                        log_c, float(np.sum(log_c)), None if logs is None else logs[0])


def log_alpha(filtered, log_c=None) -> np.ndarray:
    r"""Return :math:`\log\alpha_t(k) = \log\hat p(x_t = k, \mathbf y_1,\dots,\mathbf y_t)` (Eq. 2.42).

    .. math:: \alpha_t = \hat p(x_t \mid \mathbf y_{1:t}) \prod_{s \le t} \hat p(\mathbf y_s \mid \mathbf y_{1:s-1}),

    so the unnormalized :math:`\alpha` of Eq. 2.41 is recovered from the normalized filter in log
    space (in linear space it underflows for long sequences).

    Parameters
    ----------
    filtered : HMMFilter or HMMPosterior, or array_like of shape (T, K)
        The result of :func:`hmm_filter` or :func:`hmm_smoother`, whose ``log_filtered`` keeps the states
        whose filter probability is below the floats (right to the last digit at any distance); or the
        filter distributions themselves (``HMMFilter.filtered``), where such a state's 0 gives
        :math:`-\infty`.
    log_c : array_like, shape (T,)
        Log normalizers (``HMMFilter.log_c``); only with an array ``filtered``.
    """
    if isinstance(filtered, (HMMFilter, HMMPosterior)):
        if log_c is not None:
            raise TypeError("log_alpha takes log_c only beside an array of filter distributions; an HMMFilter or "
                            "HMMPosterior carries its own.")
        result = filtered
        log_c = np.cumsum(result.log_c)[:, None]
        if result.log_filtered is not None:
            return result.log_filtered + log_c
        with np.errstate(divide="ignore"):
            return np.log(result.filtered) + log_c
    if log_c is None:
        raise TypeError("log_alpha needs log_c (HMMFilter.log_c) beside an array of filter distributions.")
    filtered = as_array(filtered, "filtered", ndim=2, dims="(T, K)", nonempty=True)
    check_prob_rows(filtered, "filtered")
    T = filtered.shape[0]
    log_c = as_array(log_c, "log_c", shape=(T,), dims="(T,)")
    with np.errstate(divide="ignore"):
        return np.log(filtered) + np.cumsum(log_c)[:, None]


def from_row_stochastic(P) -> np.ndarray:
    r"""Convert a row-stochastic transition matrix to the book's column-stochastic :math:`\mathbf A`.

    ``P[j, i]`` :math:`= p(x_t = i \mid x_{t-1} = j)` (hmmlearn's ``transmat_``, Rabiner's
    :math:`a_{ji}`) becomes ``A = P.T`` with ``A[i, j]`` :math:`= p(x_t = i \mid x_{t-1} = j)`.

    Parameters
    ----------
    P : array_like, shape (K, K)
        Row-stochastic matrix (checked).

    Returns
    -------
    ndarray, shape (K, K)
        Its transpose, C-contiguous.
    """
    P = as_array(P, "P", ndim=2, dims="(K, K)")
    check_stochastic_matrix(P, "P", axis=1)
    return np.ascontiguousarray(P.T)


def to_row_stochastic(A) -> np.ndarray:
    r"""Inverse of :func:`from_row_stochastic`: the row-stochastic ``A.T`` (e.g. for hmmlearn's ``transmat_``).

    Parameters
    ----------
    A : array_like, shape (K, K)
        Column-stochastic transition matrix (checked).
    """
    A = as_array(A, "A", ndim=2, dims="(K, K)")
    check_transition(A, "A")
    return np.ascontiguousarray(A.T)


def categorical_log_lik(B, y) -> np.ndarray:
    r"""``log_lik[t, k]`` :math:`= \log B_{y_t k}` for categorical emissions.

    Same column convention as :math:`\mathbf A`: column :math:`k` of ``B`` is the emission
    distribution of state :math:`k`, ``B[v, k]`` :math:`= \hat p(y_t = v \mid x_t = k)`. (hmmlearn's
    ``CategoricalHMM.emissionprob_`` is the transpose, shape (K, V).) Zero entries give ``-inf``.

    Parameters
    ----------
    B : array_like, shape (V, K)
        Column-stochastic emission matrix.
    y : array_like of int, shape (T,)
        Observed symbols in ``0, ..., V-1``.

    Returns
    -------
    ndarray, shape (T, K)
    """
    B = as_array(B, "B", ndim=2, dims="(V, K)")
    V = B.shape[0]
    check_emission_table(B, "B")
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] == 0:
        raise ValueError(f"y must be a non-empty 1-D array of symbols, shape (T,); got shape {y.shape}.")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer symbols in 0..{V - 1}; got dtype {y.dtype}.")
    out = (y < 0) | (y >= V)
    if out.any():
        t = int(np.argmax(out))
        raise ValueError(f"y must hold integer symbols in 0..{V - 1} (V = {V} rows of B); y[{t}] = {y[t]}.")
    with np.errstate(divide="ignore"):
        return np.ascontiguousarray(np.log(B)[y])


def gaussian_log_lik(mu, Sigma, y) -> np.ndarray:
    r"""``log_lik[t, k]`` :math:`= \log\mathcal N(\mathbf y_t; \boldsymbol\mu_k, \boldsymbol\Sigma_k)` for Gaussian emissions.

    Parameters
    ----------
    mu : array_like, shape (K, D)
        State means, one row per state.
    Sigma : array_like, shape (K, D, D)
        State covariances (each symmetric positive definite).
    y : array_like, shape (T, D)
        Observations.

    Returns
    -------
    ndarray, shape (T, K)
    """
    mu = as_array(mu, "mu", ndim=2, dims="(K, D)", nonempty=True)
    K, D = mu.shape
    Sigma = as_array(Sigma, "Sigma", shape=(K, D, D), dims="(K, D, D)")
    L = check_spd(Sigma, "Sigma")
    y = as_array(y, "y", shape=(None, D), dims="(T, D)")
    if y.shape[0] == 0:
        raise ValueError(f"y must have at least one time step (T >= 1); got shape {y.shape}.")
    log_lik = np.empty((y.shape[0], K))
    for k in range(K):
        log_lik[:, k] = mvn_logpdf_chol(y, mu[k], L[k])
    return log_lik


def sample_states(rng, pi, A, T: int) -> np.ndarray:
    r"""Draw a state sequence :math:`x_1,\dots,x_T` from the Markov chain of Section 2.2.1.

    :math:`x_1 \sim \mathrm{Categ}(\boldsymbol\pi)`, :math:`x_t \sim \mathrm{Categ}(\mathbf A\mathbf x_{t-1})`
    (column :math:`x_{t-1}` of ``A``). Emissions are left to the caller.

    Parameters
    ----------
    rng : numpy.random.Generator
    pi : array_like, shape (K,)
    A : array_like, shape (K, K)
        Column-stochastic.
    T : int
        Sequence length, ``T >= 1``.

    Returns
    -------
    ndarray of int, shape (T,)
        State indices in ``0, ..., K-1``.
    """
    rng = check_rng(rng)
    pi = as_array(pi, "pi", ndim=1, dims="(K,)")
    check_prob_vector(pi, "pi")
    K = pi.shape[0]
    A = as_array(A, "A", shape=(K, K), dims="(K, K)")
    check_transition(A, "A")
    T = check_int(T, "T", minimum=1)
    u = rng.random(T)                                  # one uniform per step (inverse-CDF sampling)
    cdf_pi = np.cumsum(pi)
    cdf_A = np.cumsum(A, axis=0)                       # column j: CDF of p(x_t | x_{t-1} = j)
    x = np.empty(T, dtype=np.int64)
    x[0] = min(int(np.searchsorted(cdf_pi, u[0] * cdf_pi[-1], side="right")), K - 1)
    for t in range(1, T):
        col = cdf_A[:, x[t - 1]]
        x[t] = min(int(np.searchsorted(col, u[t] * col[-1], side="right")), K - 1)
    return x
