r"""Learning a hidden Markov model by EM: the Baum-Welch algorithm (book Section 7.2).

The model is the HMM of Section 2.2.1 (Eq. 2.35) with a categorical backbone,
:math:`\hat p(\mathbf x_1) = \mathrm{Categ}(\boldsymbol\pi)` and
:math:`\hat p(\mathbf x_t\mid\mathbf x_{t-1}) = \mathrm{Categ}(\mathbf A\mathbf x_{t-1})`, so that
:math:`a_{ij} = \hat p(x_t = i\mid x_{t-1} = j)` and **A is column-stochastic** (hmmlearn's
``transmat_`` is ``A.T``). Two emission families are supported:

* Gaussian, :math:`\hat p(\mathbf y_t\mid x_t = k) = \mathcal N(\boldsymbol\mu_k,\boldsymbol\Sigma_k)`
  with full covariances (:class:`GaussianHMMParams`), the case the draft works out;
* categorical, :math:`\hat p(y_t = v\mid x_t = k) = B_{vk}` with a column-stochastic
  :math:`\mathbf B` (:class:`CategoricalHMMParams`), the case it calls "conceptually identical".

Several independent sequences may be observed (the plate of Fig. 7.1): ``y`` is one array or a
list of arrays; sums below run over sequences :math:`n` as well as time.

**E step.** The smoother of Section 2.2.1 (:func:`pedagogy_lib.hmm.hmm_smoother`, the
:math:`\alpha`-:math:`\gamma` algorithm, Eqs. 2.41-2.44) gives, for every sequence, the marginals
:math:`\gamma_t(k) = \hat p(x_t = k\mid\mathbf y_{1:T})` and the *sum over time* of the pairwise
marginals (the full :math:`T\times K\times K` array is never formed). The expected sufficient
statistics of Section 7.2 are then (as sums, i.e. the book's averages :math:`\langle\cdot\rangle`
times the number of sequences)

.. math::
    g_k = \sum_n\gamma^{(n)}_1(k),\quad
    \Xi_{ij} = \sum_n\sum_{t=2}^{T_n}\hat p(x_t = i, x_{t-1} = j\mid\mathbf y^{(n)}),\quad
    N_k = \sum_n\sum_{t=1}^{T_n}\gamma^{(n)}_t(k),

plus :math:`\sum\gamma_t(k)\mathbf y_t` and :math:`\sum\gamma_t(k)\mathbf y_t\mathbf y_t^T` (Gaussian,
accumulated centred on the old means, as in :mod:`pedagogy_lib.mixture.em`) or the expected
symbol counts :math:`\sum\gamma_t(k)[y_t = v]` (categorical).

**M step** (Section 7.2, from the Lagrangian with one multiplier for :math:`\boldsymbol\pi` and one
per column of :math:`\mathbf A`):

.. math::
    \pi_k = \frac{g_k}{N_{\mathrm{seq}}},\qquad
    a_{ij} = \frac{\Xi_{ij}}{\sum_{i'}\Xi_{i'j}},\qquad
    \boldsymbol\mu_k = \frac{\sum\gamma_t(k)\mathbf y_t}{N_k},\qquad
    \boldsymbol\Sigma_k = \frac{\sum\gamma_t(k)(\mathbf y_t-\boldsymbol\mu_k)(\mathbf y_t-\boldsymbol\mu_k)^T}{N_k},\qquad
    B_{vk} = \frac{\sum\gamma_t(k)[y_t = v]}{N_k}.

The column sum :math:`\sum_{i'}\Xi_{i'j} = \sum_n\sum_{t=1}^{T_n-1}\gamma_t(j)` is the draft's
denominator :math:`\langle\sum_{t=2}^T\check X^j_{t-1}\rangle`, the occupancy *without the last
step* (end of Section 7.2).

**ELBo for free.** With the exact posterior :math:`q` from parameters
:math:`\boldsymbol\theta^{\text{old}}`, the bound after the M step is
:math:`\mathcal B = Q(\boldsymbol\theta^{\text{new}}) + \mathrm H[q]` with
:math:`\mathrm H[q] = \ell(\boldsymbol\theta^{\text{old}}) - Q(\boldsymbol\theta^{\text{old}})`,
where :math:`Q(\boldsymbol\theta) = \mathbb E_q[\log\hat p(\mathbf x,\mathbf y;\boldsymbol\theta)]` is
linear in the statistics above (:func:`hmm_expected_log_joint`). So the sandwich
:math:`\ell^{\text{old}}\le\mathcal B\le\ell^{\text{new}}` of :mod:`pedagogy_lib.em` is checked
without the entropy of a Markov chain.

Cost per iteration: one smoother pass, :math:`O(K^2\sum_n T_n)`, plus :math:`O(KD^2\sum_n T_n)`
for Gaussian emissions; the log likelihood of the new parameters is the log evidence of the next
E step (cached, so an iteration is one pass, as in hmmlearn). States are numbered ``0..K-1``.
"""
from __future__ import annotations

import warnings
from functools import partial
from typing import NamedTuple

import numpy as np

from . import inference as hmm
from . import kernels
from ..core.checks import positive_scalar, as_array, as_scalar, check_backend, check_choice, check_moments, check_emission_table, check_int, check_positive, check_prob_vector, check_rng, check_spd
from ..em.engine import (CovarianceFloorWarning, EmptyComponentWarning, EMModel, EMResult, best_of_restarts, run_em,
                         floor_against_data,
                         units_log_shift)
from ..core.jit import choose
from ..core.linalg import TAU, chol_logdet_trace, symmetrize

__all__ = [
    "GaussianHMMParams",
    "CategoricalHMMParams",
    "HMMStats",
    "EMISSIONS",
    "hmm_sample",
    "hmm_log_lik_matrix",
    "hmm_posterior",
    "hmm_log_likelihood",
    "hmm_suff_stats",
    "hmm_m_step",
    "hmm_expected_log_joint",
    "hmm_em_model",
    "fit_hmm",
]

EMISSIONS = ("gaussian", "categorical")


class GaussianHMMParams(NamedTuple):
    r"""Parameters :math:`\boldsymbol\theta` of an HMM with Gaussian emissions (Section 7.2).

    Attributes
    ----------
    pi : ndarray, shape (K,)
        Initial-state distribution, :math:`\hat p(\mathbf x_1) = \mathrm{Categ}(\boldsymbol\pi)`.
    A : ndarray, shape (K, K)
        Column-stochastic transition matrix, ``A[i, j]`` :math:`= a_{ij} = \hat p(x_t = i\mid x_{t-1} = j)`.
    mu : ndarray, shape (K, D)
        Emission means, row ``k`` is :math:`\boldsymbol\mu_k`.
    Sigma : ndarray, shape (K, D, D)
        Emission covariances :math:`\boldsymbol\Sigma_k`, symmetric positive definite.
    """

    pi: np.ndarray
    A: np.ndarray
    mu: np.ndarray
    Sigma: np.ndarray


class CategoricalHMMParams(NamedTuple):
    r"""Parameters of an HMM with categorical emissions.

    Attributes
    ----------
    pi : ndarray, shape (K,)
        Initial-state distribution.
    A : ndarray, shape (K, K)
        Column-stochastic transition matrix, as in :class:`GaussianHMMParams`.
    B : ndarray, shape (V, K)
        Column-stochastic emission matrix, ``B[v, k]`` :math:`= \hat p(y_t = v\mid x_t = k)` (hmmlearn's
        ``emissionprob_`` is ``B.T``).
    """

    pi: np.ndarray
    A: np.ndarray
    B: np.ndarray


class HMMStats(NamedTuple):
    r"""Expected sufficient statistics of Section 7.2 ("The E step"), summed over sequences and time.

    Attributes
    ----------
    gamma_1 : ndarray, shape (K,)
        :math:`g_k = \sum_n\gamma^{(n)}_1(k)`, the smoother (not the filter) at the first step.
    xi_sum : ndarray, shape (K, K)
        :math:`\Xi_{ij}`, the expected number of transitions :math:`j\to i` (next state first, as
        in ``A``). Its column sums are the occupancies without the last step of each sequence.
    N_k : ndarray, shape (K,)
        :math:`N_k = \sum_n\sum_t\gamma^{(n)}_t(k)`, the expected number of visits to state ``k``.
    n_seq : int
        Number of sequences.
    sum_d, sum_dd, mu_ref : ndarray or None
        Gaussian emissions: :math:`\sum\gamma_t(k)(\mathbf y_t-\mathbf a_k)` (K, D),
        :math:`\sum\gamma_t(k)(\mathbf y_t-\mathbf a_k)(\mathbf y_t-\mathbf a_k)^T` (K, D, D) and the
        centring points :math:`\mathbf a_k` (K, D), the means the E step used. ``None`` otherwise.
    counts : ndarray, shape (V, K), or None
        Categorical emissions: ``counts[v, k]`` :math:`= \sum\gamma_t(k)[y_t = v]`. ``None`` otherwise.
    log_lik : float
        :math:`\ell(\boldsymbol\theta) = \sum_n\log\hat p(\mathbf y^{(n)};\boldsymbol\theta)` at the
        parameters whose posterior gave the statistics (Eq. 2.40, from the smoother's normalizers).
    entropy : float
        Entropy of that posterior over all state paths, :math:`\ell - Q(\boldsymbol\theta)`.
    """

    gamma_1: np.ndarray
    xi_sum: np.ndarray
    N_k: np.ndarray
    n_seq: int
    sum_d: np.ndarray | None
    sum_dd: np.ndarray | None
    mu_ref: np.ndarray | None
    counts: np.ndarray | None
    log_lik: float
    entropy: float


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------

def _check_emission(emission):
    return check_choice(emission, "emission", EMISSIONS)


def _as_list(y):
    """A single sequence or a list/tuple of sequences -> (list, was_list)."""
    if isinstance(y, (list, tuple)):
        if len(y) == 0:
            raise ValueError("y must hold at least one sequence; got an empty list.")
        return list(y), True
    return [y], False


def _check_y_gaussian(y, D=None):
    seqs, was_list = _as_list(y)
    out = []
    for n, s in enumerate(seqs):
        name = f"y[{n}]" if was_list else "y"
        s = as_array(s, name, ndim=2, dims="(T, D)")
        if s.shape[0] == 0 or s.shape[1] == 0:
            raise ValueError(f"{name} must have at least one time step and one column, shape (T, D); "
                             f"got {s.shape}.")
        if D is None:
            D = s.shape[1]
        elif s.shape[1] != D:
            raise ValueError(f"{name} must have D = {D} columns like the other sequences / the parameters; "
                             f"got shape {s.shape}.")
        out.append(s)
    return out, was_list


def _check_y_categorical(y, V=None):
    seqs, was_list = _as_list(y)
    out = []
    for n, s in enumerate(seqs):
        name = f"y[{n}]" if was_list else "y"
        s = np.asarray(s)
        if s.ndim != 1 or s.shape[0] == 0:
            raise ValueError(f"{name} must be a non-empty 1-D array of symbols, shape (T,); got shape {s.shape}.")
        if not np.issubdtype(s.dtype, np.integer):
            raise ValueError(f"{name} must hold integer symbols 0, 1, ...; got dtype {s.dtype}.")
        if (s < 0).any():
            t = int(np.argmax(s < 0))
            raise ValueError(f"{name} must hold non-negative integer symbols; {name}[{t}] = {s[t]}.")
        if V is not None and (s >= V).any():
            t = int(np.argmax(s >= V))
            raise ValueError(f"{name} must hold symbols in 0..{V - 1} (V = {V}); {name}[{t}] = {s[t]}.")
        out.append(np.ascontiguousarray(s, dtype=np.int64))
    return out, was_list


def _check_params(params, name="params"):
    """Validate a parameter NamedTuple; return (clean params, Cholesky factors or None)."""
    if not isinstance(params, (GaussianHMMParams, CategoricalHMMParams)):
        raise TypeError(f"{name} must be a GaussianHMMParams or CategoricalHMMParams; got {type(params).__name__}.")
    pi = as_array(params.pi, f"{name}.pi", ndim=1, dims="(K,)")
    check_prob_vector(pi, f"{name}.pi")
    K = pi.shape[0]
    A = as_array(params.A, f"{name}.A", shape=(K, K), dims="(K, K)")
    hmm.check_transition(A, f"{name}.A")
    if isinstance(params, GaussianHMMParams):
        mu = as_array(params.mu, f"{name}.mu", shape=(K, None), dims="(K, D)")
        D = mu.shape[1]
        Sigma = as_array(params.Sigma, f"{name}.Sigma", shape=(K, D, D), dims="(K, D, D)")
        chol = check_spd(Sigma, f"{name}.Sigma")
        return GaussianHMMParams(pi, A, mu, Sigma), chol
    B = as_array(params.B, f"{name}.B", shape=(None, K), dims="(V, K)")
    check_emission_table(B, f"{name}.B")
    return CategoricalHMMParams(pi, A, B), None


def _emission_of(params):
    return "gaussian" if isinstance(params, GaussianHMMParams) else "categorical"


def _check_params_y(params, y, name="params"):
    params, chol = _check_params(params, name)
    if isinstance(params, GaussianHMMParams):
        seqs, was_list = _check_y_gaussian(y, params.mu.shape[1])
    else:
        seqs, was_list = _check_y_categorical(y, params.B.shape[0])
    return params, chol, seqs, was_list


def _check_reg(reg_covar):
    arr = as_array(reg_covar, "reg_covar", ndim=0)
    return positive_scalar(arr, "reg_covar", strict=False)


def _check_stats(stats):
    if not isinstance(stats, HMMStats):
        raise TypeError(f"stats must be an HMMStats (from hmm_suff_stats); got {type(stats).__name__}.")
    xi_sum = as_array(stats.xi_sum, "stats.xi_sum", ndim=2, dims="(K, K)")
    K = xi_sum.shape[0]
    xi_sum = as_array(xi_sum, "stats.xi_sum", shape=(K, K), dims="(K, K)")
    gamma_1 = as_array(stats.gamma_1, "stats.gamma_1", shape=(K,), dims="(K,)")
    N_k = as_array(stats.N_k, "stats.N_k", shape=(K,), dims="(K,)")
    for arr, nm in ((xi_sum, "stats.xi_sum"), (gamma_1, "stats.gamma_1"), (N_k, "stats.N_k")):
        check_positive(arr, nm, strict=False)
    n_seq = check_int(stats.n_seq, "stats.n_seq", minimum=1)
    if not np.sum(gamma_1) > 0:
        raise ValueError("stats.gamma_1 must have a positive sum (the number of sequences); got 0.")
    if stats.counts is None:
        if stats.sum_d is None or stats.sum_dd is None or stats.mu_ref is None:
            raise ValueError("stats must hold either counts (categorical emissions) or sum_d, sum_dd and mu_ref "
                             "(Gaussian emissions); got neither.")
        mu_ref = as_array(stats.mu_ref, "stats.mu_ref", shape=(K, None), dims="(K, D)")
        D = mu_ref.shape[1]
        sum_d = as_array(stats.sum_d, "stats.sum_d", shape=(K, D), dims="(K, D)")
        sum_dd = as_array(stats.sum_dd, "stats.sum_dd", shape=(K, D, D), dims="(K, D, D)")
        check_moments(N_k, sum_d, sum_dd, ("stats.N_k", "stats.sum_d", "stats.sum_dd"))
        counts = None
    else:
        counts = as_array(stats.counts, "stats.counts", shape=(None, K), dims="(V, K)")
        check_positive(counts, "stats.counts", strict=False)
        sum_d = sum_dd = mu_ref = None
    log_lik = as_scalar(stats.log_lik, "stats.log_lik")
    entropy = as_scalar(stats.entropy, "stats.entropy")
    if entropy < -1e-9 * max(1.0, float(np.sum(N_k))):
        raise ValueError(f"stats.entropy (the entropy of a distribution over state paths) must be non-negative; "
                         f"got {entropy:.6g}.")
    return HMMStats(gamma_1, xi_sum, N_k, n_seq, sum_d, sum_dd, mu_ref, counts, log_lik, entropy)


# ---------------------------------------------------------------------------------------------
# E step
# ---------------------------------------------------------------------------------------------

def _log_lik_matrix(params, chol, seq):
    """``log_lik[t, k] = log p(y_t | x_t = k)`` for validated observations (one sequence or all, stacked)."""
    if isinstance(params, GaussianHMMParams):
        D = params.mu.shape[1]
        L_inv = np.linalg.inv(chol)                                  # (K, D, D), all states at once
        white = (seq[None, :, :] - params.mu[:, None, :]) @ np.swapaxes(L_inv, -1, -2)   # L_k^{-1}(y_t - mu_k)
        logdet = 2.0 * np.sum(np.log(np.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)
        out = -0.5 * np.sum(white**2, axis=-1) - 0.5 * logdet[:, None] - 0.5 * D * np.log(TAU)   # (K, T)
        return np.ascontiguousarray(out.T)
    with np.errstate(divide="ignore"):
        return np.ascontiguousarray(np.log(params.B)[seq])


def _named_zero_probability(call, n_seq: int):
    """Run ``call()``; a sequence of probability zero under the model is reported against ``y`` and
    ``params`` (what the caller passed), not the internal ``log_lik`` matrix."""
    try:
        return call()
    except ValueError as exc:
        if "probability zero" not in str(exc):
            raise
        where = str(exc).split("at row t = ", 1)[-1].split(" ", 1)[0] if "at row t = " in str(exc) else "?"
        which = f"sequence {n_seq} of y" if n_seq >= 0 else "y"
        raise ValueError(f"{which} has probability zero under params: at time index {where} no state the chain can "
                         "be in gives the observation positive probability (params.B, or the Gaussian "
                         "emissions, rule it out). Check y, or floor the emission probabilities.") from None


def _smooth(pi, A, log_lik, backend):
    """:func:`pedagogy_lib.hmm.hmm_smoother` with ``return_pairwise="sum"`` on inputs already validated.

    The same two kernels (forward pass, Eqs. 2.36-2.37; backward pass, Eq. 2.44), without
    re-checking ``pi`` and ``A`` for every sequence of every iteration. Returns
    ``(gamma, xi_sum, log_evidence)``.
    """
    filtered, predicted, log_c, spare, logs = hmm.run_forward(backend, pi, A, log_lik, n_arrays=3)
    gamma = spare[0]
    xi_sum = hmm.run_backward(backend, A, filtered, predicted, gamma, np.empty((0,) + A.shape), logs)
    return gamma, xi_sum, float(np.sum(log_c))


def _check_backend_auto(backend) -> str:
    """``backend`` checked, with ``"auto"`` kept for :func:`_stats` to resolve per E step (``"numpy"`` without numba)."""
    resolved = check_backend(backend)
    return "auto" if backend == "auto" and resolved == "numba" else resolved


def _stats(params, chol, seqs, backend="auto"):
    """E step on validated inputs: smoother per sequence, statistics summed over sequences and time.

    The emission log-likelihoods are evaluated once for all sequences stacked, and the emission
    statistics are accumulated from the stacked smoother marginals. ``"auto"`` is resolved once per E step,
    for all the sequences' steps together (:func:`pedagogy_lib.core.jit.choose`).
    """
    K = params.pi.shape[0]
    gaussian = isinstance(params, GaussianHMMParams)
    Y = seqs[0] if len(seqs) == 1 else np.concatenate(seqs, axis=0)
    LL = _log_lik_matrix(params, chol, Y)                   # (sum T_n, K): log p(y_t | x_t = k)
    if backend == "auto":
        backend = choose(kernels.backward, T=LL.shape[0], K=K)
    G = np.empty_like(LL)                                   # stacked gamma_t(k)
    gamma_1 = np.zeros(K)
    xi_sum = np.zeros((K, K))
    log_lik = 0.0
    start = 0
    for seq in seqs:
        stop = start + seq.shape[0]
        g, xs, log_ev = _smooth(params.pi, params.A, LL[start:stop], backend)
        G[start:stop] = g
        gamma_1 += g[0]                        # smoother at t = 1 (Section 7.2: "to the end and back")
        xi_sum += xs                           # sum_t p(x_t = i, x_{t-1} = j | y_1..T)
        log_lik += log_ev                      # Eq. 2.40
        start = stop
    N_k = G.sum(axis=0)                        # expected visits
    if gaussian:
        D = params.mu.shape[1]
        mu_ref = params.mu.copy()
        sum_d, sum_dd, counts = np.empty((K, D)), np.empty((K, D, D)), None
        for k in range(K):
            d = Y - mu_ref[k]                  # centred on the old mean: no cancellation
            sum_d[k] = G[:, k] @ d             # sum_t gamma_t(k) (y_t - a_k)
            sum_dd[k] = (d * G[:, k:k + 1]).T @ d
        sum_dd = symmetrize(sum_dd)
    else:
        V = params.B.shape[0]
        sum_d = sum_dd = mu_ref = None
        counts = np.empty((V, K))
        for k in range(K):
            counts[:, k] = np.bincount(Y, weights=G[:, k], minlength=V)
    stats = HMMStats(gamma_1, xi_sum, N_k, len(seqs), sum_d, sum_dd, mu_ref, counts, float(log_lik), 0.0)
    # entropy of the posterior over paths: H[q] = log p(y) - E_q[log p(x, y)] at the same parameters
    return stats._replace(entropy=float(log_lik - _q(params, chol, stats)))


def _xlogy_sum(n, p):
    """sum n * log p with 0 * log 0 = 0 (n >= 0); -inf if some n > 0 meets p = 0."""
    pos = n > 0
    if not pos.any():
        return 0.0
    with np.errstate(divide="ignore"):
        return float(np.sum(n[pos] * np.log(p[pos])))


def _q_transitions(pi, A, stats):
    """The initial-state and transition part of Q: sum_k g_k log pi_k + sum_ij Xi_ij log a_ij."""
    return _xlogy_sum(stats.gamma_1, pi) + _xlogy_sum(stats.xi_sum, A)


def _scatter(stats, mu):
    """sum_t gamma_t(k) (y_t - mu_k)(y_t - mu_k)^T from the statistics centred at mu_ref."""
    e = mu - stats.mu_ref
    return (stats.sum_dd - stats.sum_d[:, :, None] * e[:, None, :] - e[:, :, None] * stats.sum_d[:, None, :]
            + stats.N_k[:, None, None] * (e[:, :, None] * e[:, None, :]))


def _q(params, chol, stats):
    """Q(theta) = E_q[log p(x, y; theta)] from the statistics (linear in them)."""
    total = _q_transitions(params.pi, params.A, stats)
    if isinstance(params, GaussianHMMParams):
        D = params.mu.shape[1]
        S = _scatter(stats, params.mu)
        logdet, trace = chol_logdet_trace(chol, S)                       # log|Sigma_k|, tr(Sigma_k^{-1} S_k)
        per_state = -0.5 * stats.N_k * (D * np.log(TAU) + logdet) - 0.5 * trace
        total += float(np.sum(per_state[stats.N_k != 0.0]))
    else:
        total += _xlogy_sum(stats.counts, params.B)
    return float(total)


# ---------------------------------------------------------------------------------------------
# M step
# ---------------------------------------------------------------------------------------------

def _data_spread(N_k, mu, scatter):
    """The data's smallest variance (smallest eigenvalue of their covariance) from the M step's statistics:
    the law of total covariance, within plus between states."""
    N = float(np.sum(N_k))
    d = mu - N_k @ mu / N
    total = (np.sum(scatter, axis=0) + (N_k[:, None] * d).T @ d) / N
    return float(np.linalg.eigvalsh(symmetrize(total))[0])


def _floor(Sigma, reg_covar, data_var):
    """Raise covariance eigenvalues below ``reg_covar`` to it; warn if any was raised, saying whether the
    floor is large against the data (``data_var()``, computed only then) or a state is collapsing."""
    lam = np.linalg.eigvalsh(Sigma)
    low = lam[:, 0] < reg_covar
    if not low.any():
        return Sigma
    Sigma = Sigma.copy()
    for k in np.flatnonzero(low):
        lam_k, V = np.linalg.eigh(Sigma[k])
        Sigma[k] = symmetrize((V * np.maximum(lam_k, reg_covar)) @ V.T)
    which, smallest, v = np.flatnonzero(low).tolist(), float(lam[:, 0].min()), data_var()
    why = floor_against_data(reg_covar, v, "states that are", "1e-6")
    if why is None:
        why = (f"against the data's smallest variance {v:.3g}: a state is collapsing onto a point or subspace, where "
               "the likelihood is unbounded. Its covariance was floored, so this M step is not exact EM.")
    warnings.warn(f"covariance floor reg_covar = {reg_covar:.3g} bound for state(s) {which} (smallest eigenvalue "
                  f"{smallest:.3g}) {why}", CovarianceFloorWarning, stacklevel=4)
    return Sigma


def _m_step(stats, reg_covar, old):
    """Closed-form M step of Section 7.2 on validated statistics; returns (params, chol or None)."""
    K = stats.N_k.shape[0]
    pi = stats.gamma_1 / np.sum(stats.gamma_1)               # pi_k = <X_1^k>, averaged over sequences
    col = stats.xi_sum.sum(axis=0)                           # expected departures from j (t = 1..T-1)
    total = float(np.sum(stats.N_k))
    no_exit = col <= 1e-12 * max(total, 1.0)
    A = stats.xi_sum / np.where(no_exit, 1.0, col)[None, :]  # a_ij = Xi_ij / sum_i' Xi_i'j
    empty = stats.N_k <= 1e-12 * max(total, 1.0)
    if no_exit.any():
        # a state never left (e.g. occupied only at the last step): its column is not identified
        A[:, no_exit] = old.A[:, no_exit] if old is not None else 1.0 / K
    if empty.any():
        warnings.warn(f"state(s) {np.flatnonzero(empty).tolist()} received zero expected visits (N_k <= 1e-12 sum N); "
                      "their emission parameters were left unchanged. Try another initialization or fewer states.",
                      EmptyComponentWarning, stacklevel=3)
    safe_N = np.where(empty, 1.0, stats.N_k)
    if stats.counts is None:
        a = stats.mu_ref
        delta = stats.sum_d / safe_N[:, None]                # mu_k - a_k
        mu = a + delta                                       # mu_k = sum gamma y / N_k
        scatter = stats.sum_dd - stats.N_k[:, None, None] * (delta[:, :, None] * delta[:, None, :])
        Sigma = symmetrize(scatter / safe_N[:, None, None])  # Sigma_k = sum gamma (y - mu)(y - mu)^T / N_k
        if empty.any():
            D = a.shape[1]
            mu[empty] = old.mu[empty] if old is not None else a[empty]
            Sigma[empty] = old.Sigma[empty] if old is not None else np.eye(D) * max(reg_covar, 1.0)
        if reg_covar > 0.0:
            Sigma = _floor(Sigma, reg_covar, lambda: _data_spread(stats.N_k, mu, scatter))
        try:
            chol = np.linalg.cholesky(Sigma)
        except np.linalg.LinAlgError:
            k = int(np.argmin(np.linalg.eigvalsh(Sigma)[:, 0]))
            raise FloatingPointError(f"M step: Sigma[{k}] is singular; state {k} has collapsed onto a point or a "
                                     "subspace. Use reg_covar > 0 to floor the covariances.") from None
        return GaussianHMMParams(pi, A, mu, Sigma), chol
    B = stats.counts / safe_N[None, :]                       # B_vk = sum gamma [y = v] / N_k
    if empty.any():
        V = B.shape[0]
        B[:, empty] = old.B[:, empty] if old is not None else 1.0 / V
    return CategoricalHMMParams(pi, A, B), None


# ---------------------------------------------------------------------------------------------
# public: model pieces
# ---------------------------------------------------------------------------------------------

def hmm_sample(rng, params, T: int):
    r"""Draw a state path and observations from the HMM (Eq. 2.35).

    Parameters
    ----------
    rng : numpy.random.Generator
    params : GaussianHMMParams or CategoricalHMMParams
    T : int
        Sequence length, at least 1.

    Returns
    -------
    x : ndarray of int, shape (T,)
        States in ``0..K-1``.
    y : ndarray, shape (T, D) (Gaussian) or int array, shape (T,) (categorical)
    """
    rng = check_rng(rng)
    params, chol = _check_params(params)
    T = check_int(T, "T", minimum=1)
    x = hmm.sample_states(rng, params.pi, params.A, T)
    if isinstance(params, GaussianHMMParams):
        z = rng.standard_normal((T, params.mu.shape[1]))
        y = params.mu[x] + np.einsum("tij,tj->ti", chol[x], z)      # y_t = mu_x + L_x z_t
        return x, y
    cdf = np.cumsum(params.B, axis=0)                                # column k: CDF of p(y | x = k)
    u = rng.random(T)
    V = params.B.shape[0]
    y = np.array([min(int(np.searchsorted(cdf[:, x[t]], u[t] * cdf[-1, x[t]], side="right")), V - 1)
                  for t in range(T)], dtype=np.int64)
    return x, y


def hmm_log_lik_matrix(params, y):
    r"""``log_lik[t, k]`` :math:`= \log\hat p(\mathbf y_t\mid x_t = k)` for one sequence, or a list of them.

    Parameters
    ----------
    params : GaussianHMMParams or CategoricalHMMParams
    y : array_like, shape (T, D) or int (T,), or a list of such arrays

    Returns
    -------
    ndarray, shape (T, K), or a list of them (one per sequence)
    """
    params, chol, seqs, was_list = _check_params_y(params, y)
    out = [_log_lik_matrix(params, chol, s) for s in seqs]
    return out if was_list else out[0]


def hmm_posterior(params, y, *, return_pairwise: str = "none"):
    r"""The smoother of Section 2.2.1 under ``params``: :func:`pedagogy_lib.hmm.hmm_smoother` per sequence.

    Parameters
    ----------
    params : GaussianHMMParams or CategoricalHMMParams
    y : array_like or list of array_like
    return_pairwise : {"none", "sum", "full"}
        Passed to :func:`~pedagogy_lib.hmm.hmm_smoother`.

    Returns
    -------
    HMMPosterior or list of HMMPosterior
        ``gamma`` (T, K) holds :math:`\gamma_t(k)`; ``log_evidence`` the log likelihood of the sequence.
    """
    return_pairwise = check_choice(return_pairwise, "return_pairwise", hmm.PAIRWISE_CHOICES)
    params, chol, seqs, was_list = _check_params_y(params, y)
    out = [_named_zero_probability(
        lambda s=s: hmm.hmm_smoother(params.pi, params.A, _log_lik_matrix(params, chol, s),
                                     return_pairwise=return_pairwise), i if was_list else -1)
        for i, s in enumerate(seqs)]
    return out if was_list else out[0]


def hmm_log_likelihood(params, y) -> float:
    r"""The log likelihood of all sequences, from the filter's normalizers (Eq. 2.40, summed over sequences).

    .. math::
        \ell(\boldsymbol\theta) = \sum_n\log\hat p(\mathbf y^{(n)}_1,\dots,\mathbf y^{(n)}_{T_n};\boldsymbol\theta)

    Parameters
    ----------
    params : GaussianHMMParams or CategoricalHMMParams
    y : array_like or list of array_like

    Returns
    -------
    float
    """
    params, chol, seqs, was_list = _check_params_y(params, y)
    return float(sum(_named_zero_probability(
        lambda s=s: hmm.hmm_filter(params.pi, params.A, _log_lik_matrix(params, chol, s)).log_evidence,
        i if was_list else -1) for i, s in enumerate(seqs)))


def hmm_suff_stats(params, y) -> HMMStats:
    r"""The E step of Section 7.2: smoother marginals, summed into the expected sufficient statistics.

    .. math::
        g_k = \sum_n\gamma^{(n)}_1(k), \quad
        \Xi_{ij} = \sum_n\sum_{t\ge2}\hat p(x_t = i, x_{t-1} = j\mid\mathbf y^{(n)}),
        \quad N_k = \sum_n\sum_t\gamma^{(n)}_t(k),

    plus the emission statistics (see :class:`HMMStats`). The pairwise marginals come from
    :func:`pedagogy_lib.hmm.hmm_smoother` already summed over time.

    Parameters
    ----------
    params : GaussianHMMParams or CategoricalHMMParams
    y : array_like, shape (T, D) or int (T,), or a list of such arrays (independent sequences)

    Returns
    -------
    HMMStats
    """
    params, chol, seqs, _ = _check_params_y(params, y)
    return _stats(params, chol, seqs)


def hmm_m_step(stats: HMMStats, *, reg_covar: float = 0.0, old_params=None):
    r"""The closed-form M step of Section 7.2 from expected sufficient statistics.

    .. math::
        \pi_k = \frac{g_k}{N_{\mathrm{seq}}}, \quad a_{ij} = \frac{\Xi_{ij}}{\sum_{i'}\Xi_{i'j}}, \quad
        \boldsymbol\mu_k = \frac{\sum\gamma_t(k)\mathbf y_t}{N_k}, \quad
        \boldsymbol\Sigma_k = \frac{\sum\gamma_t(k)(\mathbf y_t-\boldsymbol\mu_k)(\mathbf y_t-\boldsymbol\mu_k)^T}{N_k},
        \quad B_{vk} = \frac{\sum\gamma_t(k)[y_t = v]}{N_k}

    Parameters
    ----------
    stats : HMMStats
    reg_covar : float
        Floor on the covariance eigenvalues (Gaussian only; 0 disables it). Warns with
        :class:`~pedagogy_lib.em.engine.CovarianceFloorWarning` when it binds.
    old_params : GaussianHMMParams or CategoricalHMMParams, optional
        Supplies the parameters of a state with zero expected visits (or a column of ``A`` for a
        state never left).

    Returns
    -------
    GaussianHMMParams or CategoricalHMMParams
    """
    stats = _check_stats(stats)
    reg_covar = _check_reg(reg_covar)
    if old_params is not None:
        old_params, _ = _check_params(old_params, "old_params")
        if old_params.pi.shape[0] != stats.N_k.shape[0] or \
                (_emission_of(old_params) == "gaussian") != (stats.counts is None):
            raise ValueError("old_params must have the same number of states K and the same emission family as "
                             f"stats (K = {stats.N_k.shape[0]}); got K = {old_params.pi.shape[0]}, "
                             f"{_emission_of(old_params)} emissions.")
    return _m_step(stats, reg_covar, old_params)[0]


def hmm_expected_log_joint(params, stats: HMMStats) -> float:
    r"""The expected complete-data log likelihood :math:`Q(\boldsymbol\theta)` of Section 7.2, from statistics.

    .. math::
        Q(\boldsymbol\theta) = \sum_k g_k\log\pi_k + \sum_{ij}\Xi_{ij}\log a_{ij}
            + \sum_k\Big[-\tfrac{N_k}{2}\big(D\log\tau + \log|\boldsymbol\Sigma_k|\big)
            - \tfrac12\operatorname{tr}\big(\boldsymbol\Sigma_k^{-1}\textstyle\sum_t\gamma_t(k)
              (\mathbf y_t-\boldsymbol\mu_k)(\mathbf y_t-\boldsymbol\mu_k)^T\big)\Big]

    (for categorical emissions the bracket is :math:`\sum_v \text{counts}_{vk}\log B_{vk}`). This is
    minus the draft's complete cross entropy times the number of sequences; the M step maximizes it.
    With ``0 log 0 = 0``; ``-inf`` if a positive statistic meets a zero probability.
    """
    stats = _check_stats(stats)
    params, chol = _check_params(params)
    K = stats.N_k.shape[0]
    if params.pi.shape[0] != K or (_emission_of(params) == "gaussian") != (stats.counts is None):
        raise ValueError(f"params must have K = {K} states and the emission family of stats; got "
                         f"K = {params.pi.shape[0]}, {_emission_of(params)} emissions.")
    if stats.counts is None and params.mu.shape[1] != stats.mu_ref.shape[1]:
        raise ValueError(f"params.mu must have D = {stats.mu_ref.shape[1]} columns like stats.mu_ref; "
                         f"got {params.mu.shape}.")
    if stats.counts is not None and params.B.shape[0] != stats.counts.shape[0]:
        raise ValueError(f"params.B must have V = {stats.counts.shape[0]} rows like stats.counts; "
                         f"got {params.B.shape}.")
    return _q(params, chol, stats)


# ---------------------------------------------------------------------------------------------
# public: the EM model and the fit
# ---------------------------------------------------------------------------------------------

def hmm_em_model(reg_covar: float = 0.0, backend: str = "auto") -> EMModel:
    r"""Baum-Welch as an :class:`~pedagogy_lib.em.EMModel` (data: a list of validated sequences).

    The E step returns :class:`HMMStats`; the log likelihood of an iterate is the log evidence
    of its E step, cached, so one iteration costs one smoother pass. The ELBo after each M step
    is :math:`Q(\boldsymbol\theta^{\text{new}}) + \mathrm H[q]` (see the module docstring).
    """
    reg_covar = _check_reg(reg_covar)
    backend = _check_backend_auto(backend)             # "auto" chooses at each E step
    cache: dict = {"params": None, "stats": None, "chol": None}

    def chol_of(params):
        if cache["params"] is params and cache["chol"] is not None:
            return cache["chol"]
        return np.linalg.cholesky(params.Sigma) if isinstance(params, GaussianHMMParams) else None

    def e_step(params, seqs):
        if cache["params"] is params and cache["stats"] is not None:
            return cache["stats"]
        chol = chol_of(params)
        stats = _stats(params, chol, seqs, backend)
        cache.update(params=params, stats=stats, chol=chol)
        return stats

    def m_step(stats, seqs, params):
        new, chol = _m_step(stats, reg_covar, params)
        cache.update(params=new, stats=None, chol=chol)
        return new

    def log_likelihood(params, seqs):
        return e_step(params, seqs).log_lik

    def elbo(params, stats, seqs):
        return _q(params, chol_of(params), stats) + stats.entropy

    def check(params, y):
        if params is None:
            return None, y
        params, _, seqs, _ = _check_params_y(params, y, "init_params")
        return params, seqs

    return EMModel(e_step, m_step, log_likelihood, elbo, None, "HMM EM (Baum-Welch)", check)


def _random_init(rng, seqs, K, emission, V, reg_covar):
    """A random theta^(0): Dirichlet(1) pi and columns of A; means at K distinct random observations
    and the pooled data covariance for every state (Gaussian), or Dirichlet(1) columns of B."""
    pi = rng.dirichlet(np.ones(K))
    A = np.ascontiguousarray(rng.dirichlet(np.ones(K), size=K).T)     # column j ~ Dirichlet(1)
    if emission == "categorical":
        return CategoricalHMMParams(pi, A, np.ascontiguousarray(rng.dirichlet(np.ones(V), size=K).T))
    Y = np.concatenate(seqs, axis=0)
    D = Y.shape[1]
    idx = rng.choice(Y.shape[0], size=K, replace=False)
    mu = Y[idx].copy()
    C = np.atleast_2d(np.cov(Y, rowvar=False, bias=True)) + max(reg_covar, 1e-6) * np.eye(D)
    return GaussianHMMParams(pi, A, mu, np.broadcast_to(C, (K, D, D)).copy())


def _fit_once(rng, seqs, K, emission, V, init_params, reg_covar, max_iter, tol, backend, return_path, shift):
    if init_params is None:
        init_params = _random_init(rng, seqs, K, emission, V, reg_covar)
    model = hmm_em_model(reg_covar, backend)
    return run_em(model, init_params, seqs, max_iter=max_iter, tol=tol if tol > 0 else np.finfo(float).tiny,
                  return_path=return_path, log_lik_shift=shift)


def fit_hmm(y, K: int, *, emission: str = "gaussian", rng: np.random.Generator | None = None, init=None,
            max_iter: int = 100, tol: float = 1e-8, n_restarts: int = 1, reg_covar: float = 1e-6,
            V: int | None = None, backend: str = "auto", return_path: bool = False) -> EMResult:
    r"""Fit an HMM by EM, i.e. Baum-Welch (Sections 6.3.1 and 7.2).

    Each iteration is the E step of :func:`hmm_suff_stats` (the :math:`\alpha`-:math:`\gamma`
    smoother, summed pairwise marginals) followed by the M step of :func:`hmm_m_step`;
    :func:`~pedagogy_lib.em.run_em` loops, records :math:`\ell(\boldsymbol\theta^{(i)})` (from the
    smoother's log evidence) and the ELBo, and warns if the likelihood ever decreases.

    Parameters
    ----------
    y : array_like or list of array_like
        One sequence or a list of independent sequences: ``(T_n, D)`` float arrays (Gaussian) or
        1-D integer arrays of symbols ``0..V-1`` (categorical).
    K : int
        Number of hidden states, at least 1.
    emission : {"gaussian", "categorical"}
    rng : numpy.random.Generator, optional
        Required when ``init`` is None (random initialization) and for restarts.
    init : GaussianHMMParams, CategoricalHMMParams or None
        :math:`\boldsymbol\theta^{(0)}`; None draws a random one (Dirichlet(1) :math:`\boldsymbol\pi`
        and columns of :math:`\mathbf A`; means at :math:`K` distinct random observations with the
        pooled data covariance, or Dirichlet(1) columns of :math:`\mathbf B`).
    max_iter : int
        Maximum number of EM iterations.
    tol : float
        Stop when :math:`\ell^{(i+1)}-\ell^{(i)}\le` ``tol`` :math:`\cdot\max(1,|\ell^{(i)}|)`,
        never below :math:`64\epsilon` times that scale, the rounding of the computed likelihood (see
        :func:`~pedagogy_lib.em.run_em`); ``0`` runs all ``max_iter``
        iterations unless the likelihood stops increasing beyond that rounding level. For Gaussian
        emissions :math:`\ell` is read in units where each column of the pooled observations has unit
        spread (:func:`~pedagogy_lib.em.units_log_shift`), so rescaled data stop at the same iteration.
    n_restarts : int
        Independent random initializations (children of ``rng``); the best final log likelihood
        wins. Must be 1 when ``init`` is given.
    reg_covar : float
        Floor on every covariance eigenvalue (Gaussian), acting only when it binds (with a warning).
        It is absolute, in the units of ``y`` squared, so not scale-equivariant: with ``y`` in small
        units (a smallest data variance below ``1000 * reg_covar``) it binds on states that are not
        collapsing, and the warning says so; pass it scaled with ``y`` squared for an equivariant fit.
    V : int, optional
        Number of symbols (categorical); default ``init.B.shape[0]`` or ``max(y) + 1``.
    backend : {"auto", "numba", "numpy"}
        Smoother implementation; ``"auto"`` chooses at each E step (:func:`pedagogy_lib.core.jit.choose`).
    return_path : bool
        Keep every iterate in ``EMResult.path`` (for animations).

    Returns
    -------
    EMResult
        ``params`` is a :class:`GaussianHMMParams` or :class:`CategoricalHMMParams`; states are
        identified only up to a permutation (label switching).

    Examples
    --------
    >>> import numpy as np
    >>> true = GaussianHMMParams(np.array([0.5, 0.5]), np.array([[0.9, 0.2], [0.1, 0.8]]),
    ...                          np.array([[-2.0], [2.0]]), np.ones((2, 1, 1)))
    >>> rng = np.random.default_rng(0)
    >>> ys = [hmm_sample(rng, true, 300)[1] for _ in range(3)]        # three sequences
    >>> res = fit_hmm(ys, 2, rng=rng, n_restarts=2)
    >>> bool(np.all(np.diff(res.log_lik) >= -1e-9 * np.abs(res.log_lik[1:])))
    True
    >>> bool(np.allclose(np.sort(res.params.mu[:, 0]), [-2.0, 2.0], atol=0.2))   # states come in any order
    True
    """
    emission = _check_emission(emission)
    backend = _check_backend_auto(backend)
    K = check_int(K, "K", minimum=1)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = positive_scalar(tol, "tol", strict=False)
    n_restarts = check_int(n_restarts, "n_restarts", minimum=1)
    reg_covar = _check_reg(reg_covar)
    init_params = None
    if init is not None:
        init_params, _ = _check_params(init, "init")
        if _emission_of(init_params) != emission:
            raise ValueError(f"init must match emission = {emission!r}; got a {type(init).__name__}.")
        if init_params.pi.shape[0] != K:
            raise ValueError(f"init must have K = {K} states; got init.pi of shape {init_params.pi.shape}.")
        if n_restarts != 1:
            raise ValueError(f"n_restarts must be 1 when init is given (every restart would be identical); "
                             f"got {n_restarts}.")
    else:
        rng = check_rng(rng)
    if emission == "gaussian":
        seqs, _ = _check_y_gaussian(y, None if init_params is None else init_params.mu.shape[1])
        n_obs = sum(s.shape[0] for s in seqs)
        if init_params is None and K > n_obs:
            raise ValueError(f"K must be at most the number of observations ({n_obs}) for the random "
                             f"initialization; got K = {K}.")
    else:
        if init_params is not None:
            if V is not None and check_int(V, "V", minimum=1) != init_params.B.shape[0]:
                raise ValueError(f"V must equal init.B.shape[0] = {init_params.B.shape[0]}; got {V}.")
            V = init_params.B.shape[0]
        elif V is not None:
            V = check_int(V, "V", minimum=1)
        seqs, _ = _check_y_categorical(y, V)
        if V is None:
            V = int(max(int(s.max()) for s in seqs)) + 1
    # Gaussian emissions: a density of y, whose log shifts with its units; symbols have no units
    shift = units_log_shift(np.concatenate(seqs, axis=0)) if emission == "gaussian" else 0.0
    fit = partial(_fit_once, seqs=seqs, K=K, emission=emission, V=V, init_params=init_params,
                  reg_covar=reg_covar, max_iter=max_iter, tol=tol, backend=backend, return_path=return_path,
                  shift=shift)
    if n_restarts == 1:
        return fit(rng)
    return best_of_restarts(fit, rng, n_restarts).best
