r"""One forward-backward recursion for every chain-structured model (book Section 2.2).

The joint of Eq. 2.35 is a chain of two-node pieces,

.. math::
    \hat p(\mathbf x_{1:T}, \mathbf y_{1:T}) = \prod_{t=1}^T \hat p(\mathbf x_t\mid\mathbf x_{t-1})\,
    \hat p(\mathbf y_t\mid\mathbf x_t), \qquad \hat p(\mathbf x_1\mid\mathbf x_0) := \hat p(\mathbf x_1).

Section 2.2 shows that filtering, smoothing, the data marginal and the posterior over whole
sequences need nothing but two operations applied to three two-node fragments (Fig. 2.6), each
a *source* with a distribution (the "prior" of the fragment) and an *emission* drawn from it:

=====================================================  ==========================  ==============================
fragment (source -> emission)                          MARGINALIZE                 BAYES-INVERT
=====================================================  ==========================  ==============================
A: p(x_{t-1} | y_{1:t-1}) -> p(x_t | x_{t-1})          time update (2.36)          future conditioning (2.38)
B: p(x_t | y_{1:t-1})     -> p(y_t | x_t), y_t seen    data-marginal factor (2.40) measurement update (2.37)
C: p(x_t | y_{1:T})       -> p(x_{t-1} | x_t, y_{1:T}) backward step (2.39)        p(x_t | x_{t-1}, y_{t:T})     
=====================================================  ==========================  ==============================

This module writes those six operations, the filter, the smoother and the sequence posterior
**once**, against a :class:`Backend`: a pair of functions ``marginalize(prior, conditional)`` and
``bayes_invert(prior, conditional)``. Which model you get depends only on the backend:

* :data:`CATEGORICAL`: distributions are probability vectors, conditionals are column-stochastic
  matrices ``M[e, s] = p(e | s)`` (the book's convention for the HMM transition matrix,
  ``Categ(A x_{t-1})``, Section 2.2.1), and an observed emission is a :class:`LogLikelihood`
  vector over the source states. This is the hidden Markov model; the operations are Eq. 2.10
  (marginalize) and Eq. 2.6 (invert) of the mixture model. The backend returns its vectors and
  matrices as :class:`Probabilities`, arrays that carry the logs of their entries, so a probability
  too small for a float (a state e^{-1500} behind) is still exact when a later likelihood brings it back.
* :data:`GAUSSIAN`: distributions are :class:`~pedagogy_lib.gaussian.Gaussian`, conditionals are
  :class:`AffineGaussian` ``N(C s + c, Sigma)``, and an observed emission is an :class:`Observed`
  affine-Gaussian with its value. The operations call :func:`pedagogy_lib.gaussian.marginalize`
  (Eqs. 2.16-2.17 / 2.26) and :func:`pedagogy_lib.gaussian.bayes_invert` (Eq. 2.27), so the
  Kalman filter (Eqs. 2.47-2.48) and the Rauch-Tung-Striebel smoother (Eqs. 2.53-2.55) fall out
  of Section 2.1.2's building blocks.

* :data:`PARTICLES`: distributions are weighted particle sets (:class:`Particles`), a transition is a
  :class:`ParticleTransition` (sample the next state; evaluate its density), and an observed
  emission is a :class:`ParticleLikelihood`. The time update moves the particles, the measurement
  update reweights them (its normalizer estimates the evidence factor), future conditioning gives
  an :math:`I\times I` column-stochastic matrix between the supports of two steps, and the backward
  step on it is the forward-filtering backward-smoothing (FFBSm) pass of the particle smoother
  ("Sampling-based approaches", after Section 2.2.2, Eqs. 2.56-2.61). Without resampling this is the
  sequential importance sampler; :mod:`pedagogy_lib.smc.particle` adds resampling and fast kernels,
  and the tests hold it to this backend.

The recursions are pure Python loops over time and favour readability over speed; the fast,
specialized versions live in the HMM, LGSSM and SMC families.

Time indexing: code is 0-based, so entry ``t`` of every list is the book's step ``t + 1``.
"""
from __future__ import annotations

import re
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from ..gaussian import blocks as gaussian
from ..core.checks import as_array, check_prob_vector, check_spd, check_stochastic_matrix, to_float_array
from ..core.logmath import logsumexp
from ..gaussian.blocks import Gaussian

__all__ = [
    "Backend",
    "Probabilities",
    "Marginal",
    "Inversion",
    "LogLikelihood",
    "AffineGaussian",
    "Observed",
    "Chain",
    "FilterResult",
    "SmootherResult",
    "Particles",
    "ParticleTransition",
    "ParticleLikelihood",
    "ParticleBackward",
    "particle_backward_matrix",
    "CATEGORICAL",
    "GAUSSIAN",
    "PARTICLES",
    "time_update",
    "measurement_update",
    "data_marginal",
    "future_conditioning",
    "backward_step",
    "sequence_conditional",
    "forward_filter",
    "backward_smoother",
    "data_marginals",
    "sequence_posterior",
    "categorical_chain",
    "categorical_log_lik",
    "gaussian_chain",
    "particle_chain",
]


# --------------------------------------------------------------------------------------------
# The interface
# --------------------------------------------------------------------------------------------
class Marginal(NamedTuple):
    r"""Result of MARGINALIZE on a fragment source :math:`\to` emission.

    Attributes
    ----------
    marginal : distribution or float
        The marginal of the emission node. When the emission is observed this is a number, the
        log density of the observation, :math:`\log\sum_{\mathbf s} p(\mathbf s)\,p(\mathbf y\mid\mathbf s)`.
    joint : distribution or None
        The joint over (source, emission), source first; ``None`` when the emission is observed.
        For the backward step this is the pairwise smoother (Eq. 2.39, first line), and its
        off-diagonal block is the cross-covariance of Eq. 2.55 in the Gaussian case.
    """

    marginal: Any
    joint: Any


class Inversion(NamedTuple):
    r"""Result of BAYES-INVERT on a fragment source :math:`\to` emission.

    Attributes
    ----------
    posterior : distribution or conditional
        With an observed emission, the posterior over the source, :math:`p(\mathbf s\mid\mathbf y)`.
        With a free emission, the *reversed* conditional :math:`p(\mathbf s\mid\mathbf e)`, a function
        of the emission (a conditional of the same kind as the one inverted).
    log_normalizer : float or None
        :math:`\log p(\mathbf y)`, the normalizer of Bayes' rule, when the emission is observed
        (computed on the way, as the draft notes at Eq. 2.40); ``None`` otherwise.
    """

    posterior: Any
    log_normalizer: float | None


class Backend(NamedTuple):
    r"""The two operations a model must supply, on a two-node fragment source :math:`\to` emission.

    Attributes
    ----------
    name : str
    marginalize : callable
        ``marginalize(prior, conditional) -> Marginal``: the emission marginal
        :math:`\sum_{\mathbf s} p(\mathbf s)p(\mathbf e\mid\mathbf s)` and the joint.
    bayes_invert : callable
        ``bayes_invert(prior, conditional) -> Inversion``: :math:`p(\mathbf s\mid\mathbf e) =
        p(\mathbf s)p(\mathbf e\mid\mathbf s)/\sum_{\mathbf s'}p(\mathbf s')p(\mathbf e\mid\mathbf s')`.

    Notes
    -----
    A *conditional* is either free (a function of the source giving a distribution over the
    emission) or observed (the emission's value is known, so only the likelihood of the source
    remains). Each backend decides which it received from its type.

    The three backends in this module are :data:`CATEGORICAL`, :data:`GAUSSIAN` and
    :data:`PARTICLES`. The particle backend shows why the particle smoother is the HMM smoother run
    on the particles' supports: future conditioning turns a weighted particle set and a transition
    density into a column-stochastic :math:`I\times I` matrix, and the backward step on that matrix
    is the categorical one, so its cost is :math:`O(I^2T)`.
    """

    name: str
    marginalize: Callable[[Any, Any], Marginal]
    bayes_invert: Callable[[Any, Any], Inversion]


class LogLikelihood(NamedTuple):
    r"""An observed emission for the categorical backend: ``log_lik[k] = log p(y_t | x_t = k)``.

    Any emission family works (discrete, Gaussian, ...): only its value at the observation
    matters. Entries may be ``-inf`` (impossible under that state).
    """

    log_lik: np.ndarray


class AffineGaussian(NamedTuple):
    r"""A free affine-Gaussian conditional :math:`p(\mathbf e\mid\mathbf s) = \mathcal N(\mathbf C\mathbf s + \mathbf c, \boldsymbol\Sigma)`.

    Attributes
    ----------
    C : ndarray, shape (L, K)
    c : ndarray, shape (L,)
    Sigma : ndarray, shape (L, L)
    """

    C: np.ndarray
    c: np.ndarray
    Sigma: np.ndarray


class Observed(NamedTuple):
    r"""An affine-Gaussian emission whose value ``y`` has been observed (fragment B)."""

    emission: AffineGaussian
    y: np.ndarray


class Chain(NamedTuple):
    r"""The factors of Eq. 2.35 for one sequence of length ``T``.

    Attributes
    ----------
    prior : distribution
        :math:`\hat p(\mathbf x_1)` (the book's :math:`\hat p(\mathbf x_1\mid\mathbf x_0)`).
    transitions : sequence of T - 1 conditionals
        ``transitions[t]`` is :math:`\hat p(\mathbf x_{t+2}\mid\mathbf x_{t+1})` in book indexing.
    emissions : sequence of T observed conditionals
        ``emissions[t]`` is :math:`\hat p(\mathbf y_{t+1}\mid\mathbf x_{t+1})` at the observed value.
    """

    prior: Any
    transitions: Sequence[Any]
    emissions: Sequence[Any]


class FilterResult(NamedTuple):
    r"""The forward pass (Eqs. 2.36, 2.37, 2.40).

    Attributes
    ----------
    predicted : list of T distributions
        :math:`\hat p(\mathbf x_t\mid\mathbf y_{1:t-1})`; entry 0 is the prior :math:`\hat p(\mathbf x_1)`.
    filtered : list of T distributions
        :math:`\hat p(\mathbf x_t\mid\mathbf y_{1:t})`.
    log_normalizers : ndarray, shape (T,)
        :math:`\log\hat p(\mathbf y_t\mid\mathbf y_{1:t-1})`, the measurement-update normalizers.
    log_evidence : float
        :math:`\log\hat p(\mathbf y_{1:T}) = \sum_t \log\hat p(\mathbf y_t\mid\mathbf y_{1:t-1})` (Eq. 2.40).
    """

    predicted: list
    filtered: list
    log_normalizers: np.ndarray
    log_evidence: float


class SmootherResult(NamedTuple):
    r"""The backward pass (Eqs. 2.38, 2.39; Eqs. 2.53-2.55 for the Gaussian backend).

    Attributes
    ----------
    smoothed : list of T distributions
        :math:`\hat p(\mathbf x_t\mid\mathbf y_{1:T})`; the last entry is the last filter distribution.
    pairwise : list of T - 1 joints
        ``pairwise[t]`` is the joint of (:math:`\mathbf x_{t+2}`, :math:`\mathbf x_{t+1}`) given
        :math:`\mathbf y_{1:T}` in book indexing, *later state first* (the source of fragment C comes
        first). Categorical: a ``(K, K)`` array ``P[j, i] = p(x_t=j, x_{t-1}=i | y)``. Gaussian:
        a ``Gaussian`` over the stacked ``[x_t; x_{t-1}]`` whose top-right block is
        :math:`\boldsymbol\Upsilon_{t,t-1|T} = \boldsymbol\Upsilon_{t|T}\mathbf J_{t-1}^T` (Eq. 2.55).
    backward : list of T - 1 conditionals
        ``backward[t]`` is the future-conditioned :math:`\hat p(\mathbf x_{t+1}\mid\mathbf x_{t+2},
        \mathbf y_{1:t+1})` in book indexing (Eq. 2.38). Categorical: a column-stochastic matrix
        ``[i, j] = p(x_{t-1}=i | x_t=j, ...)``. Gaussian: an ``AffineGaussian`` whose ``C`` is the
        smoother gain :math:`\mathbf J_{t-1}` and whose ``Sigma`` is :math:`\boldsymbol\Upsilon_{t-1|t,T}`
        (Eq. 2.53).
    """

    smoothed: list
    pairwise: list
    backward: list


# --------------------------------------------------------------------------------------------
# Categorical backend (HMM): the mixture-model operations of Section 2.1.1
# --------------------------------------------------------------------------------------------
class Probabilities(np.ndarray):
    r"""A probability vector or matrix of the :data:`CATEGORICAL` backend that carries the logs of its entries.

    It is an ``ndarray`` of the probabilities (index it, plot it, compare it as one; arithmetic on it
    gives plain arrays), with one more attribute, ``log``: the natural log of every entry, right where
    the float cannot be. A probability below about :math:`e^{-745}` is 0 as a float64, yet a later
    likelihood can bring it back (with :math:`\mathbf A = \mathbf I`, log-likelihoods of -750 and then
    +750 for a state: its filtered probability goes to :math:`e^{-1500}` and back to 1/2). The backend
    returns its distributions, joints and reversed conditionals as this class and reads ``log`` when it
    receives one, so the filter, the smoother and the evidence stay exact at any scale.

    An array edited in place after the backend made it no longer matches its ``log``; the backend then
    reads its entries instead (so does it for any other array).
    """

    def __array_finalize__(self, obj):
        self.log, self._made = None, None          # a view or copy made by NumPy carries no logs

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        plain = lambda xs: tuple(x.view(np.ndarray) if isinstance(x, Probabilities) else x for x in xs)  # noqa: E731
        if out is not None:
            kwargs["out"] = plain(out)
        return getattr(ufunc, method)(*plain(inputs), **kwargs)

    def __getitem__(self, key):
        return self.view(np.ndarray)[key]

    def __reduce__(self):                           # pickling keeps the logs and the record of the entries
        rebuild, args, state = super().__reduce__()
        return rebuild, args, (state, self.log, self._made)

    def __setstate__(self, state):
        base, self.log, self._made = state
        super().__setstate__(base)

    def __deepcopy__(self, memo):
        out = self.view(np.ndarray).copy().view(Probabilities)
        out.log = None if self.log is None else self.log.copy()
        out._made = None if self._made is None else self._made.copy()
        return out


def _with_logs(value: np.ndarray, log: np.ndarray) -> Probabilities:
    out = np.array(value, dtype=np.float64).view(Probabilities)
    out.log, out._made = log, out.view(np.ndarray).copy()
    return out


def _logs_of(x, value: np.ndarray) -> np.ndarray:
    """The logs of the entries of ``value`` (the checked array of ``x``): those ``x`` carries if it is a
    :class:`Probabilities` still as the backend made it, otherwise ``log(value)`` (``-inf`` for a zero)."""
    if (isinstance(x, Probabilities) and x.log is not None and x.log.shape == value.shape
            and np.array_equal(x._made, value)):
        return x.log
    with np.errstate(divide="ignore"):
        return np.log(value)


#: A probability (or a product or sum of them) computed as a float is kept when at least this large;
#: below it, it is recomputed from the logs. At 2^-900 a float sum has lost at most K terms of size
#: 2^-1074 to underflow, a relative 2^-170; below it the float may be subnormal or 0 where the log is not.
_TINY = 2.0 ** -900


def _refined(value: np.ndarray, log_of) -> tuple[np.ndarray, np.ndarray]:
    """``(value, log)`` with every entry of ``value`` below ``_TINY`` replaced from ``log_of(mask)``, the
    logs of the entries at ``mask`` computed in logs; the other logs are ``log(value)``."""
    small = value < _TINY
    with np.errstate(divide="ignore"):
        log = np.log(value)
    if small.any():
        log[small] = log_of(small)
        value = np.where(small, np.exp(log), value)
    return value, log


def _check_cat_prior(p) -> tuple[np.ndarray, np.ndarray]:
    """The checked probability vector and the logs of its entries (carried, or computed)."""
    value = as_array(p, "prior", ndim=1, dims="(K,)")
    check_prob_vector(value, "prior")
    return value, _logs_of(p, value)


def _check_cat_matrix(M, K: int) -> tuple[np.ndarray, np.ndarray]:
    """A column-stochastic conditional M[e, s] = p(e | s) with K columns (possibly not square), and its logs."""
    value = as_array(M, "conditional", ndim=2, dims="(L, K)")
    if value.shape[1] != K:
        raise ValueError(f"conditional must have shape (L, K) with K = {K} columns (one per source "
                         f"state); got {value.shape}.")
    if value.shape[0] == value.shape[1]:
        check_stochastic_matrix(value, "conditional", axis=0)
    else:
        for k in range(K):
            check_prob_vector(value[:, k], f"conditional[:, {k}]")
    return value, _logs_of(M, value)


def _check_log_lik(log_lik, K: int) -> np.ndarray:
    log_lik = as_array(log_lik, "log_lik", shape=(K,), dims="(K,)", finite=False)
    if np.isnan(log_lik).any() or np.isposinf(log_lik).any():
        k = int(np.argmax(np.isnan(log_lik) | np.isposinf(log_lik)))
        raise ValueError(f"log_lik must be finite or -inf (a zero likelihood); entry {k} is {log_lik[k]}.")
    return log_lik


def _cat_marginalize(prior, conditional) -> Marginal:
    r"""Categorical MARGINALIZE (Eq. 2.10): :math:`p(e) = \sum_s M_{es}\,p(s)`.

    Sums and products are taken in floats; an entry of the result below ``_TINY`` is taken again from
    the logs (a log-sum-exp), so a probability beyond the floats keeps its log (see :class:`Probabilities`).
    """
    p, log_p = _check_cat_prior(prior)
    if isinstance(conditional, LogLikelihood):          # observed emission: log p(y) (Eq. 2.40 factor)
        log_lik = _check_log_lik(conditional.log_lik, p.shape[0])
        return Marginal(float(logsumexp(log_p + log_lik)), None)
    M, log_M = _check_cat_matrix(conditional, p.shape[0])
    with np.errstate(under="ignore"):
        emission, log_emission = _refined(M @ p, lambda small: logsumexp(log_M[small] + log_p[None, :], axis=1))
        joint = (M * p[None, :]).T                      # joint[s, e] = p(s) p(e | s), source first
    log_joint = log_M.T + log_p[:, None]
    joint, log_joint = _refined(joint, lambda small: log_joint[small])
    return Marginal(_with_logs(emission, log_emission), _with_logs(joint, log_joint))


def _cat_bayes_invert(prior, conditional) -> Inversion:
    r"""Categorical BAYES-INVERT (Eq. 2.6): :math:`p(s\mid e) = M_{es}p(s)/\sum_{s'}M_{es'}p(s')`.

    The observed case is computed in logs; the free case in floats, with every entry that a tiny joint
    or marginal makes inexact taken again from the logs (see :class:`Probabilities`).
    """
    p, log_p = _check_cat_prior(prior)
    if isinstance(conditional, LogLikelihood):          # observed: a posterior vector and log p(y)
        log_lik = _check_log_lik(conditional.log_lik, p.shape[0])
        log_joint = log_p + log_lik
        log_Z = float(logsumexp(log_joint))
        if not np.isfinite(log_Z):
            raise ValueError("the observation has zero probability under the prior of the fragment "
                             "(log p(y) = -inf): every state with prior mass has log_lik = -inf.")
        return Inversion(_with_logs(np.exp(log_joint - log_Z), log_joint - log_Z), log_Z)
    M, log_M = _check_cat_matrix(conditional, p.shape[0])
    with np.errstate(under="ignore"):
        joint = M * p[None, :]                          # joint[e, s] = p(e | s) p(s)
    marginal = joint.sum(axis=1)                        # p(e), Eq. 2.10
    log_joint = log_M + log_p[None, :]
    log_marginal = logsumexp(log_joint, axis=1)
    seen = log_marginal > -np.inf                       # p(e) > 0, whether or not the float holds it
    R = np.empty_like(joint.T)                          # R[s, e] = p(s | e): column-stochastic again
    log_R = np.empty_like(R)
    with np.errstate(invalid="ignore", divide="ignore"):
        R[:, seen] = joint[seen].T / marginal[seen]
    log_R[:, seen] = (log_joint[seen] - log_marginal[seen, None]).T
    R[:, ~seen], log_R[:, ~seen] = p[:, None], log_p[:, None]   # p(e) = 0: any column will do; keep the prior
    redo = (joint.T < _TINY) | (marginal[None, :] < _TINY)      # a tiny joint or marginal: take it from the logs
    redo &= seen[None, :]
    R = np.where(redo, np.exp(log_R), R)
    return Inversion(_with_logs(R, log_R), None)


#: The hidden Markov model: probability vectors and column-stochastic matrices (Section 2.2.1).
CATEGORICAL = Backend("categorical", _cat_marginalize, _cat_bayes_invert)


# --------------------------------------------------------------------------------------------
# Gaussian backend (state-space model): the jointly Gaussian operations of Section 2.1.2
# --------------------------------------------------------------------------------------------
def _check_gauss_prior(prior) -> Gaussian:
    if not isinstance(prior, Gaussian):
        raise TypeError(f"prior must be a gaussian.Gaussian(mu, Sigma); got {type(prior).__name__}.")
    return prior


def _check_affine(conditional) -> AffineGaussian:
    if not isinstance(conditional, AffineGaussian):
        raise TypeError("conditional must be an AffineGaussian(C, c, Sigma) or an "
                        f"Observed(AffineGaussian, y); got {type(conditional).__name__}.")
    return conditional


def _gauss_marginalize(prior, conditional) -> Marginal:
    r"""Gaussian MARGINALIZE (Eqs. 2.16-2.17, 2.19) via :func:`gaussian.marginalize` and :func:`gaussian.joint`."""
    prior = _check_gauss_prior(prior)
    if isinstance(conditional, Observed):               # observed: log N(y; mu_y, Sigma_y) (Eq. 2.18)
        C, c, S = _check_affine(conditional.emission)
        m = gaussian.marginalize(prior.mu, prior.Sigma, C, c, S)
        return Marginal(float(gaussian.mvn_logpdf(conditional.y, m.mu, m.Sigma)), None)
    C, c, S = _check_affine(conditional)
    m = gaussian.marginalize(prior.mu, prior.Sigma, C, c, S)             # Eqs. 2.16-2.17
    return Marginal(m, gaussian.joint(prior.mu, prior.Sigma, C, c, S))  # cross-covariance Eq. 2.19


def _gauss_bayes_invert(prior, conditional) -> Inversion:
    r"""Gaussian BAYES-INVERT (Eq. 2.27) via :func:`gaussian.bayes_invert`.

    A free emission is inverted into the reversed affine-Gaussian conditional
    :math:`p(\mathbf s\mid\mathbf e) = \mathcal N(\mathbf K\mathbf e + \boldsymbol\mu_{\hat s} - \mathbf K\boldsymbol\mu_{\hat e},
    \boldsymbol\Sigma_{\hat s|\hat e})`: its matrix is the gain and its offset is the posterior mean at
    :math:`\mathbf e = \mathbf 0`.
    """
    prior = _check_gauss_prior(prior)
    if isinstance(conditional, Observed):
        C, c, S = _check_affine(conditional.emission)
        post = gaussian.bayes_invert(prior.mu, prior.Sigma, C, c, S, conditional.y)
        return Inversion(Gaussian(post.mu, post.Sigma), float(post.log_evidence))
    C, c, S = _check_affine(conditional)
    zero = np.zeros(np.shape(c))
    post = gaussian.bayes_invert(prior.mu, prior.Sigma, C, c, S, zero)    # the posterior at e = 0
    return Inversion(AffineGaussian(post.gain, post.mu, post.Sigma), None)


#: The linear-Gaussian state-space model: Kalman filter and RTS smoother (Section 2.2.2).
GAUSSIAN = Backend("gaussian", _gauss_marginalize, _gauss_bayes_invert)


# --------------------------------------------------------------------------------------------
# Particle backend: weighted samples ("Sampling-based approaches", after Section 2.2.2)
# --------------------------------------------------------------------------------------------
class Particles(NamedTuple):
    r"""A weighted particle set :math:`\{(\hat{\mathbf x}^{(i)}, w^{(i)})\}_{i=1}^I`, standing for
    :math:`\sum_i w^{(i)}\delta(\mathbf x - \hat{\mathbf x}^{(i)})`.

    Attributes
    ----------
    x : ndarray, shape (I, n)
        The particles (the support).
    log_w : ndarray, shape (I,)
        Normalized log weights: ``logsumexp(log_w) == 0``.
    """

    x: np.ndarray
    log_w: np.ndarray


class ParticleTransition(NamedTuple):
    r"""A free transition :math:`\hat p(\mathbf x_t\mid\mathbf x_{t-1})` for the particle backend.

    Attributes
    ----------
    sample : callable ``(rng, x_prev, t) -> ndarray (I, n)``
        Draws one successor for each row of ``x_prev`` (the ``sample_transition`` of
        :class:`pedagogy_lib.smc.StateSpaceModel`).
    log_density : callable ``(x_next, x_prev, t) -> ndarray (J, I)``, or None
        ``[j, i]`` is :math:`\log\hat p(\mathbf x_t = \texttt{x\_next}[j]\mid\mathbf x_{t-1} = \texttt{x\_prev}[i])`
        up to a constant in ``t``; needed only by the smoother.
    t : int
        0-based row of the new state.
    rng : numpy.random.Generator
        Where the time update draws its samples. It is the only impure piece of the backend: the
        time update advances this generator, in the same order as :func:`pedagogy_lib.smc.particle_filter`.
    """

    sample: Callable
    log_density: Callable | None
    t: int
    rng: Any


class ParticleLikelihood(NamedTuple):
    r"""An observed emission for the particle backend: ``log_lik(x)`` returns
    :math:`\log\hat p(\mathbf y_t\mid\hat{\mathbf x}^{(i)})` for every row of ``x`` (``-inf`` allowed)."""

    log_lik: Callable


class ParticleBackward(NamedTuple):
    r"""The reversed transition :math:`\hat p(\mathbf x_{t-1}\mid\mathbf x_t, \mathbf y_{1:t-1})` (Eq. 2.38) on
    the support of the filter at :math:`t - 1`, as a function of :math:`\mathbf x_t`.

    For query points ``x_next`` (shape ``(J, n)``) its matrix is column-stochastic,
    :math:`M_{ij}\propto w^{(i)}\hat p(\texttt{x\_next}[j]\mid\hat{\mathbf x}^{(i)})` (the ratio inside
    Eq. 2.60): see :func:`particle_backward_matrix`.

    Attributes
    ----------
    source : Particles
        The filter at :math:`t - 1` (support and weights).
    log_density : callable ``(x_next, x_prev, t) -> ndarray (J, I)``
    t : int
    """

    source: Particles
    log_density: Callable
    t: int


def _check_particles(d, name: str = "prior") -> Particles:
    if not isinstance(d, Particles):
        raise TypeError(f"{name} must be a recursions.Particles(x, log_w); got {type(d).__name__}.")
    x = np.asarray(d.x, dtype=np.float64)
    log_w = np.asarray(d.log_w, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0 or log_w.shape != (x.shape[0],):
        raise ValueError(f"{name}.x must have shape (I, n) with I >= 1 and {name}.log_w shape (I,); got "
                         f"{x.shape} and {log_w.shape}.")
    return Particles(x, log_w)


def _particle_log_lik(emission: ParticleLikelihood, x: np.ndarray) -> np.ndarray:
    ll = np.asarray(emission.log_lik(x), dtype=np.float64)
    if ll.shape != (x.shape[0],):
        raise ValueError(f"log_lik(x) must return shape (I,) = ({x.shape[0]},); got {ll.shape}.")
    if np.isnan(ll).any() or np.isposinf(ll).any():
        raise ValueError("log_lik(x) returned NaN or +inf; a zero likelihood is -inf.")
    return ll


def particle_backward_matrix(backward: ParticleBackward, x_next) -> np.ndarray:
    r"""Evaluate a :class:`ParticleBackward` at the points ``x_next``: the ``(I, J)`` column-stochastic
    matrix :math:`M_{ij} = w^{(i)}\hat p(\mathbf x_j\mid\hat{\mathbf x}^{(i)}) / \sum_{i'} w^{(i')}\hat p(\mathbf x_j\mid\hat{\mathbf x}^{(i')})`.

    Raises
    ------
    TypeError
        If ``backward`` is not a :class:`ParticleBackward` (with a :class:`Particles` source and a
        callable ``log_density``).
    ValueError
        If ``x_next`` is not a finite ``(J, n)`` array with the particles' ``n``, ``log_density`` returns
        the wrong shape or NaN, or a query point has zero density under every particle.
    """
    if not isinstance(backward, ParticleBackward):
        raise TypeError(f"backward must be a recursions.ParticleBackward(source, log_density, t); got "
                        f"{type(backward).__name__}.")
    src = _check_particles(backward.source, "backward.source")
    if not callable(backward.log_density):
        raise TypeError(f"backward.log_density must be callable; got {type(backward.log_density).__name__}.")
    x_next = as_array(x_next, "x_next", shape=(None, src.x.shape[1]), dims="(J, n)")
    log_P = np.asarray(backward.log_density(x_next, src.x, backward.t), dtype=np.float64)
    if log_P.shape != (x_next.shape[0], src.x.shape[0]):
        raise ValueError(f"log_density must return shape (J, I) = ({x_next.shape[0]}, {src.x.shape[0]}); "
                         f"got {log_P.shape}.")
    if np.isnan(log_P).any():
        raise ValueError("backward.log_density returned NaN at the query points x_next.")
    logits = log_P + src.log_w[None, :]                      # [j, i] = log w_i + log p(x_j | x_i)
    norm = logsumexp(logits, axis=1)
    if not np.all(np.isfinite(norm)):
        j = int(np.flatnonzero(~np.isfinite(norm))[0])
        raise ValueError(f"x_next[{j}] has zero (or infinite) density under every particle of backward.source; "
                         "the reversed transition is undefined there.")
    M = np.exp(logits - norm[:, None])
    return M.T                                               # [i, j] = p(x_{t-1} = x^(i) | x_t = x_j)


def _part_marginalize(prior, conditional) -> Marginal:
    r"""Particle MARGINALIZE: move the particles (time update), average a likelihood (evidence factor),
    or sum the pairwise weights over the later state (backward step, Eq. 2.60)."""
    if isinstance(conditional, ParticleLikelihood):      # fragment B: log sum_i w_i p(y | x_i)
        p = _check_particles(prior)
        return Marginal(float(logsumexp(p.log_w + _particle_log_lik(conditional, p.x))), None)
    if isinstance(conditional, ParticleTransition):      # fragment A: x_t^(i) ~ p(x_t | x_{t-1}^(i))
        p = _check_particles(prior)
        x_new = np.asarray(conditional.sample(conditional.rng, p.x, conditional.t), dtype=np.float64)
        if x_new.shape != p.x.shape:
            raise ValueError(f"sample(rng, x_prev, t) must return shape (I, n) = {p.x.shape}; got {x_new.shape}.")
        return Marginal(Particles(x_new, p.log_w), Particles(np.hstack([p.x, x_new]), p.log_w))
    if isinstance(conditional, ParticleBackward):        # fragment C: beta_{t-1} = M beta_t
        p = _check_particles(prior, "smoothed")
        M = particle_backward_matrix(conditional, p.x)   # (I_prev, I)
        pair = M * np.exp(p.log_w)[None, :]              # pair[i, j] = p(x_{t-1}=i, x_t=j | y)
        with np.errstate(divide="ignore"):
            log_beta = np.log(pair.sum(axis=1))
        return Marginal(Particles(conditional.source.x, log_beta), pair.T)   # later state first
    raise TypeError("conditional must be a ParticleTransition, ParticleLikelihood or ParticleBackward; got "
                    f"{type(conditional).__name__}.")


def _part_bayes_invert(prior, conditional) -> Inversion:
    r"""Particle BAYES-INVERT: reweight by the likelihood (measurement update, Eq. 2.59), or reverse a
    transition on the particles' support (future conditioning, the ratio in Eq. 2.60)."""
    if isinstance(conditional, ParticleLikelihood):
        p = _check_particles(prior)
        lw = p.log_w + _particle_log_lik(conditional, p.x)
        log_Z = float(logsumexp(lw))
        if not np.isfinite(log_Z):
            raise ValueError("every particle has likelihood zero: the particle set has collapsed.")
        return Inversion(Particles(p.x, lw - log_Z), log_Z)
    if isinstance(conditional, ParticleTransition):
        p = _check_particles(prior, "filtered_prev")
        if conditional.log_density is None:
            raise ValueError("the transition's log_density is None: future conditioning needs the "
                             "transition density log p(x_t | x_{t-1}) (Eq. 2.60).")
        return Inversion(ParticleBackward(p, conditional.log_density, conditional.t), None)
    if isinstance(conditional, ParticleBackward):        # fragment C inverted: p(x_t | x_{t-1}, y_{t:T})
        p = _check_particles(prior, "smoothed")
        M = particle_backward_matrix(conditional, p.x)   # (I_prev, I)
        joint = M * np.exp(p.log_w)[None, :]
        marg = joint.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            R = np.where(marg > 0, joint / marg, 1.0 / joint.shape[1]).T   # [j, i], column-stochastic
        return Inversion(R, None)
    raise TypeError("conditional must be a ParticleTransition, ParticleLikelihood or ParticleBackward; got "
                    f"{type(conditional).__name__}.")


#: Weighted particles: sequential importance sampling and the FFBSm smoother (after Section 2.2.2).
PARTICLES = Backend("particles", _part_marginalize, _part_bayes_invert)


# --------------------------------------------------------------------------------------------
# The six operations (Fig. 2.6), each one line
# --------------------------------------------------------------------------------------------
def _check_backend_obj(backend) -> Backend:
    if not isinstance(backend, Backend):
        raise TypeError("backend must be a recursions.Backend, e.g. recursions.CATEGORICAL or "
                        f"recursions.GAUSSIAN; got {type(backend).__name__}.")
    return backend


_ROLE = re.compile(r"(?<![\w.\[])(prior|conditional)(?=\.|\[| must| is)")


def _as_arguments(operation, prior, conditional, names: tuple[str, str]):
    """Run a backend ``operation(prior, conditional)``; a ``ValueError`` or ``TypeError`` it raises about
    the roles ``prior`` and ``conditional`` is re-raised naming the caller's arguments ``names``."""
    try:
        return operation(prior, conditional)
    except (ValueError, TypeError) as exc:
        message = _ROLE.sub(lambda m: names[0] if m.group(1) == "prior" else names[1], str(exc))
        raise type(exc)(message) from None


def _check_sequence(x, name: str) -> Sequence[Any]:
    if not isinstance(x, (list, tuple)):
        raise TypeError(f"{name} must be a list (one entry per time step); got {type(x).__name__}.")
    return x


def time_update(backend: Backend, filtered_prev, transition):
    r"""TIME UPDATE: MARGINALIZE on fragment A (Eq. 2.36).

    .. math:: \hat p(\mathbf x_t\mid\mathbf y_{1:t-1}) = \sum_{\mathbf x_{t-1}}
              \hat p(\mathbf x_{t-1}\mid\mathbf y_{1:t-1})\,\hat p(\mathbf x_t\mid\mathbf x_{t-1})

    Returns the predicted distribution (Kalman: Eq. 2.48).
    """
    return _as_arguments(_check_backend_obj(backend).marginalize, filtered_prev, transition,
                         ("filtered_prev", "transition")).marginal


def measurement_update(backend: Backend, predicted, emission) -> Inversion:
    r"""MEASUREMENT UPDATE: BAYES-INVERT on fragment B (Eq. 2.37).

    .. math:: \hat p(\mathbf x_t\mid\mathbf y_{1:t}) = \frac{\hat p(\mathbf x_t\mid\mathbf y_{1:t-1})\,
              \hat p(\mathbf y_t\mid\mathbf x_t)}{\hat p(\mathbf y_t\mid\mathbf y_{1:t-1})}

    Returns ``Inversion(filtered, log p(y_t | y_{1:t-1}))`` (Kalman: Eq. 2.47).
    """
    return _as_arguments(_check_backend_obj(backend).bayes_invert, predicted, emission, ("predicted", "emission"))


def data_marginal(backend: Backend, predicted, emission) -> float:
    r"""The data-marginal factor: MARGINALIZE on fragment B (Eq. 2.40 and the display after it).

    .. math:: \hat p(\mathbf y_t\mid\mathbf y_{1:t-1}) = \sum_{\mathbf x_t}
              \hat p(\mathbf x_t\mid\mathbf y_{1:t-1})\,\hat p(\mathbf y_t\mid\mathbf x_t)

    Returns its logarithm.
    """
    return _as_arguments(_check_backend_obj(backend).marginalize, predicted, emission,
                         ("predicted", "emission")).marginal


def future_conditioning(backend: Backend, filtered_prev, transition):
    r"""FUTURE CONDITIONING: BAYES-INVERT on fragment A (Eq. 2.38).

    .. math:: \hat p(\mathbf x_{t-1}\mid\mathbf x_t, \mathbf y_{1:T}) = \hat p(\mathbf x_{t-1}\mid\mathbf x_t, \mathbf y_{1:t-1})
              = \frac{\hat p(\mathbf x_{t-1}\mid\mathbf y_{1:t-1})\,\hat p(\mathbf x_t\mid\mathbf x_{t-1})}
              {\hat p(\mathbf x_t\mid\mathbf y_{1:t-1})}

    Returns the reversed conditional, a function of :math:`\mathbf x_t` (Kalman: Eq. 2.53, whose
    matrix is :math:`\mathbf J_{t-1}`).
    """
    return _as_arguments(_check_backend_obj(backend).bayes_invert, filtered_prev, transition,
                         ("filtered_prev", "transition")).posterior


def backward_step(backend: Backend, smoothed, backward_conditional) -> Marginal:
    r"""BACKWARD STEP: MARGINALIZE on fragment C (Eq. 2.39).

    .. math:: \hat p(\mathbf x_{t-1}\mid\mathbf y_{1:T}) = \sum_{\mathbf x_t}
              \hat p(\mathbf x_t\mid\mathbf y_{1:T})\,\hat p(\mathbf x_{t-1}\mid\mathbf x_t, \mathbf y_{1:T})

    Returns ``Marginal(smoothed_prev, pairwise)``: the smoother at :math:`t-1` and the joint of
    :math:`(\mathbf x_t, \mathbf x_{t-1})` before the sum (Kalman: Eqs. 2.54-2.55).
    """
    return _as_arguments(_check_backend_obj(backend).marginalize, smoothed, backward_conditional,
                         ("smoothed", "backward_conditional"))


def sequence_conditional(backend: Backend, smoothed, backward_conditional):
    r"""The sixth combination: BAYES-INVERT on fragment C (the unnumbered display under "Inference over sequences" in Section 2.2).

    .. math:: \hat p(\mathbf x_t\mid\mathbf x_{t-1}, \mathbf y_{1:T}) =
              \frac{\hat p(\mathbf x_t\mid\mathbf y_{1:T})\,\hat p(\mathbf x_{t-1}\mid\mathbf x_t,\mathbf y_{1:T})}
              {\hat p(\mathbf x_{t-1}\mid\mathbf y_{1:T})} = \hat p(\mathbf x_t\mid\mathbf x_{t-1}, \mathbf y_{t:T})

    The posterior over whole sequences is the product of these factors (see :func:`sequence_posterior`).
    """
    return _as_arguments(_check_backend_obj(backend).bayes_invert, smoothed, backward_conditional,
                         ("smoothed", "backward_conditional")).posterior


# --------------------------------------------------------------------------------------------
# The recursions
# --------------------------------------------------------------------------------------------
def _check_chain(chain) -> Chain:
    if not isinstance(chain, Chain):
        raise TypeError(f"chain must be a recursions.Chain(prior, transitions, emissions); got {type(chain).__name__}.")
    T = len(chain.emissions)
    if T < 1:
        raise ValueError("emissions must hold at least one observed emission (T >= 1); got 0.")
    if len(chain.transitions) != T - 1:
        raise ValueError(f"transitions must hold T - 1 = {T - 1} conditionals (one per step after the "
                         f"first); got {len(chain.transitions)}.")
    return chain


def forward_filter(backend: Backend, chain: Chain) -> FilterResult:
    r"""The generic filter: time update (Eq. 2.36) then measurement update (Eq. 2.37), for t = 1..T.

    At step 1 there is no time update: the measurement update starts from the prior :math:`\hat p(\mathbf x_1)`.
    The measurement-update normalizers are the factors of Eq. 2.40, so the log evidence comes for free.

    Parameters
    ----------
    backend : Backend
        :data:`CATEGORICAL`, :data:`GAUSSIAN`, or your own.
    chain : Chain
        The factors of Eq. 2.35 (see :func:`categorical_chain`, :func:`gaussian_chain`).

    Returns
    -------
    FilterResult
    """
    backend, chain = _check_backend_obj(backend), _check_chain(chain)
    T = len(chain.emissions)
    predicted, filtered, log_norm = [], [], np.empty(T)
    for t in range(T):
        if t == 0:
            pred = chain.prior                                           # base case: p(x_1)
            upd = _as_arguments(backend.bayes_invert, pred, chain.emissions[0], ("chain.prior", "chain.emissions[0]"))
        else:
            pred = time_update(backend, filtered[t - 1], chain.transitions[t - 1])   # Eq. 2.36
            upd = measurement_update(backend, pred, chain.emissions[t])              # Eq. 2.37
        predicted.append(pred)
        filtered.append(upd.posterior)
        log_norm[t] = upd.log_normalizer                                 # log p(y_t | y_{1:t-1})
    return FilterResult(predicted, filtered, log_norm, float(np.sum(log_norm)))      # Eq. 2.40


def backward_smoother(backend: Backend, filtered: Sequence[Any], transitions: Sequence[Any]) -> SmootherResult:
    r"""The generic smoother: future conditioning (Eq. 2.38) then backward step (Eq. 2.39), t = T..2.

    It receives the filter distributions and the transitions, and **no emissions**: the smoother
    never re-reads the data, as Section 2.2 points out. Its base case is the filter at :math:`T`.

    Parameters
    ----------
    backend : Backend
    filtered : sequence of T distributions
        ``FilterResult.filtered``.
    transitions : sequence of T - 1 conditionals
        ``Chain.transitions``.

    Returns
    -------
    SmootherResult
    """
    backend = _check_backend_obj(backend)
    filtered, transitions = _check_sequence(filtered, "filtered"), _check_sequence(transitions, "transitions")
    T = len(filtered)
    if T < 1:
        raise ValueError("filtered must hold at least one distribution (T >= 1); got 0.")
    if len(transitions) != T - 1:
        raise ValueError(f"transitions must hold T - 1 = {T - 1} conditionals (one per step after the "
                         f"first); got {len(transitions)}.")
    smoothed = [None] * T
    pairwise, backward = [None] * (T - 1), [None] * (T - 1)
    smoothed[T - 1] = filtered[T - 1]                                    # base case: smoother = filter at T
    for t in range(T - 1, 0, -1):
        backward[t - 1] = future_conditioning(backend, filtered[t - 1], transitions[t - 1])  # Eq. 2.38
        step = backward_step(backend, smoothed[t], backward[t - 1])                          # Eq. 2.39
        smoothed[t - 1], pairwise[t - 1] = step.marginal, step.joint
    return SmootherResult(smoothed, pairwise, backward)


def data_marginals(backend: Backend, predicted: Sequence[Any], emissions: Sequence[Any]) -> np.ndarray:
    r"""The data-marginal recursion: :math:`\log\hat p(\mathbf y_t\mid\mathbf y_{1:t-1})` for every t (Eq. 2.40).

    Each factor is a MARGINALIZE on fragment B; it equals the measurement-update normalizer, which
    :func:`forward_filter` already returns (``FilterResult.log_normalizers``). Their sum is
    :math:`\log\hat p(\mathbf y_{1:T})`.
    """
    backend = _check_backend_obj(backend)
    predicted, emissions = _check_sequence(predicted, "predicted"), _check_sequence(emissions, "emissions")
    if len(predicted) != len(emissions):
        raise ValueError(f"predicted and emissions must have the same length T; got {len(predicted)} "
                         f"and {len(emissions)}.")
    return np.array([data_marginal(backend, p, e) for p, e in zip(predicted, emissions)], dtype=float)


def sequence_posterior(backend: Backend, smoothed: Sequence[Any], backward: Sequence[Any]) -> list:
    r"""The posterior over whole sequences as a product of sixth-operation factors (Section 2.2, "Inference over sequences").

    .. math:: \hat p(\mathbf x_{1:T}\mid\mathbf y_{1:T}) = \hat p(\mathbf x_1\mid\mathbf y_{1:T})
              \prod_{t=2}^T \hat p(\mathbf x_t\mid\mathbf x_{t-1}, \mathbf y_{t:T})

    Returns ``[p(x_1 | y_{1:T}), p(x_2 | x_1, y_{2:T}), ..., p(x_T | x_{T-1}, y_{T:T})]``: the
    first entry is a distribution, the others are conditionals (a column-stochastic matrix
    ``[j, i] = p(x_t=j | x_{t-1}=i, ...)`` or an ``AffineGaussian``). Sampling from them in order
    draws whole sequences from the posterior.
    """
    backend = _check_backend_obj(backend)
    smoothed, backward = _check_sequence(smoothed, "smoothed"), _check_sequence(backward, "backward")
    T = len(smoothed)
    if T == 0:
        raise ValueError("smoothed must hold at least one marginal (T >= 1); got an empty sequence.")
    if len(backward) != T - 1:
        raise ValueError(f"backward must hold T - 1 = {T - 1} conditionals; got {len(backward)}.")
    factors = [smoothed[0]]
    for t in range(1, T):
        factors.append(sequence_conditional(backend, smoothed[t], backward[t - 1]))
    return factors


# --------------------------------------------------------------------------------------------
# Building chains from the book's parameters (validated here, once)
# --------------------------------------------------------------------------------------------
def categorical_log_lik(C, y) -> np.ndarray:
    r"""``log_lik[t, k] = log C[y_t, k]`` for a discrete emission :math:`\hat p(\mathbf y_t\mid\mathbf x_t) = \mathrm{Categ}(\mathbf C\mathbf x_t)`.

    Parameters
    ----------
    C : array_like, shape (L, K)
        Column-stochastic emission matrix, ``C[l, k] = p(y_t = l | x_t = k)``.
    y : array_like of int, shape (T,)
        Observed symbols in ``range(L)``.

    Returns
    -------
    ndarray, shape (T, K)
    """
    C = as_array(C, "C", ndim=2, dims="(L, K)")
    for k in range(C.shape[1]):
        check_prob_vector(C[:, k], f"C[:, {k}]")
    y_arr = np.asarray(y)
    if y_arr.ndim != 1 or y_arr.size == 0 or not np.issubdtype(y_arr.dtype, np.integer):
        raise ValueError(f"y must be a non-empty 1-D array of integer symbols; got {y!r}.")
    if y_arr.min() < 0 or y_arr.max() >= C.shape[0]:
        raise ValueError(f"y must hold symbols in range(L) = range({C.shape[0]}); got values from "
                         f"{y_arr.min()} to {y_arr.max()}.")
    with np.errstate(divide="ignore"):
        return np.log(C[y_arr, :])


def categorical_chain(pi, A, log_lik) -> Chain:
    r"""The HMM of Section 2.2.1 as a :class:`Chain` for the :data:`CATEGORICAL` backend.

    .. math:: \hat p(\mathbf x_1) = \mathrm{Categ}(\boldsymbol\pi), \qquad
              \hat p(\mathbf x_t\mid\mathbf x_{t-1}) = \mathrm{Categ}(\mathbf A\mathbf x_{t-1})

    Parameters
    ----------
    pi : array_like, shape (K,)
        Initial distribution.
    A : array_like, shape (K, K)
        **Column-stochastic** transition matrix, ``A[i, j] = p(x_t = i | x_{t-1} = j)`` (the
        transpose of the row-stochastic convention of hmmlearn and most libraries).
    log_lik : array_like, shape (T, K)
        ``log p(y_t | x_t = k)`` for any emission family (``-inf`` allowed).

    Returns
    -------
    Chain
    """
    pi = as_array(pi, "pi", ndim=1, dims="(K,)")
    check_prob_vector(pi, "pi")
    K = pi.shape[0]
    A = as_array(A, "A", shape=(K, K), dims="(K, K)")
    check_stochastic_matrix(A, "A", axis=0)
    log_lik = as_array(log_lik, "log_lik", ndim=2, dims="(T, K)", finite=False)
    if log_lik.shape[1] != K or log_lik.shape[0] == 0:
        raise ValueError(f"log_lik must have shape (T, K) with T >= 1 and K = {K}; got {log_lik.shape}.")
    if np.isnan(log_lik).any() or np.isposinf(log_lik).any():
        t, k = (int(v) for v in np.argwhere(np.isnan(log_lik) | np.isposinf(log_lik))[0])
        raise ValueError(f"log_lik must be finite or -inf (a zero likelihood); entry ({t}, {k}) is {log_lik[t, k]}.")
    T = log_lik.shape[0]
    return Chain(pi, [A] * (T - 1), [LogLikelihood(log_lik[t]) for t in range(T)])


def gaussian_chain(mu_1, Sigma_1, A, Sigma_x, C, c, Sigma_y_x, y, *, a=None, B=None, u=None) -> Chain:
    r"""The state-space model of Section 2.2.2 as a :class:`Chain` for the :data:`GAUSSIAN` backend.

    .. math::
        \hat p(\mathbf x_1) = \mathcal N(\boldsymbol\mu_1, \boldsymbol\Sigma_1), \quad
        \hat p(\mathbf x_t\mid\mathbf x_{t-1}) = \mathcal N(\mathbf A\mathbf x_{t-1} + \mathbf B\mathbf u_{t-1} + \mathbf a,
        \boldsymbol\Sigma_{\hat x}), \quad
        \hat p(\mathbf y_t\mid\mathbf x_t) = \mathcal N(\mathbf C\mathbf x_t + \mathbf c, \boldsymbol\Sigma_{\hat y|\hat x})

    Parameters
    ----------
    mu_1 : array_like, shape (K,)
    Sigma_1 : array_like, shape (K, K)
        Initial prior (Eq. 2.49).
    A : array_like, shape (K, K)
    Sigma_x : array_like, shape (K, K)
        State-noise covariance (the book reuses the symbol of the Section 2.1.2 prior covariance).
    C : array_like, shape (L, K)
    c : array_like, shape (L,)
    Sigma_y_x : array_like, shape (L, L)
    y : array_like, shape (T, L)
    a : array_like, shape (K,), optional
        Constant drift (zero if omitted).
    B : array_like, shape (K, M), optional
    u : array_like, shape (T, M), optional
        Controls; ``u[t]`` enters the transition into step ``t + 1`` (book: :math:`\mathbf u_{t-1}`
        into :math:`\mathbf x_t`), so the last row is unused. Give both or neither.

    Returns
    -------
    Chain
    """

    mu_1 = as_array(mu_1, "mu_1", ndim=1, dims="(K,)", nonempty=True)
    K = mu_1.shape[0]
    Sigma_1 = as_array(Sigma_1, "Sigma_1", shape=(K, K), dims="(K, K)")
    check_spd(Sigma_1, "Sigma_1")
    A = as_array(A, "A", shape=(K, K), dims="(K, K)")
    Sigma_x = as_array(Sigma_x, "Sigma_x", shape=(K, K), dims="(K, K)")
    check_spd(Sigma_x, "Sigma_x")
    c = as_array(c, "c", ndim=1, dims="(L,)", nonempty=True)
    L = c.shape[0]
    C = as_array(C, "C", shape=(L, K), dims="(L, K)")
    Sigma_y_x = as_array(Sigma_y_x, "Sigma_y_x", shape=(L, L), dims="(L, L)")
    check_spd(Sigma_y_x, "Sigma_y_x")
    y = as_array(y, "y", shape=(None, L), dims="(T, L)")
    T = y.shape[0]
    if T == 0:
        raise ValueError("y must hold at least one observation (T >= 1); got shape (0, L).")
    a = np.zeros(K) if a is None else as_array(a, "a", shape=(K,), dims="(K,)")
    if (B is None) != (u is None):
        raise ValueError("B and u must be given together (controls enter as B u_{t-1}); got only "
                         f"{'B' if u is None else 'u'}.")
    offsets = np.tile(a, (T, 1))
    if B is not None:
        B = as_array(B, "B", ndim=2, dims="(K, M)")
        if B.shape[0] != K:
            raise ValueError(f"B must have shape (K, M) with K = {K}; got {B.shape}.")
        u = as_array(u, "u", shape=(T, B.shape[1]), dims="(T, M)")
        offsets = offsets + u @ B.T                                       # B u_{t-1} + a
    transitions = [AffineGaussian(A, offsets[t], Sigma_x) for t in range(T - 1)]
    emissions = [Observed(AffineGaussian(C, c, Sigma_y_x), y[t]) for t in range(T)]
    return Chain(Gaussian(mu_1, Sigma_1), transitions, emissions)


def particle_chain(model, y, rng, I: int) -> Chain:
    r"""A state-space model given by sampling and density callables, as a :class:`Chain` for :data:`PARTICLES`.

    The prior is :math:`I` draws from :math:`\hat p(\mathbf x_1)` with equal weights; every transition
    carries ``rng``, so :func:`forward_filter` draws the particles in the same order as
    :func:`pedagogy_lib.smc.particle_filter` does without resampling (``ess_threshold=0``).

    Parameters
    ----------
    model : object with ``sample_initial``, ``sample_transition``, ``log_lik`` and ``log_transition``
        A :class:`pedagogy_lib.smc.StateSpaceModel` (see there for the signatures).
    y : array_like, shape (T, m) or (T,)
    rng : numpy.random.Generator
    I : int
        Number of particles.

    Returns
    -------
    Chain
    """
    for attr in ("sample_initial", "sample_transition", "log_lik", "log_transition"):
        if not hasattr(model, attr):
            raise TypeError(f"model must have a {attr} attribute (a smc.StateSpaceModel); got "
                            f"{type(model).__name__}.")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}.")
    if isinstance(I, bool) or not isinstance(I, (int, np.integer)) or I < 1:
        raise ValueError(f"I must be an integer >= 1; got {I!r}.")
    y = to_float_array(y, "y")
    if y.ndim not in (1, 2) or y.shape[0] == 0:
        raise ValueError(f"y must have shape (T,) or (T, m) with T >= 1; got {y.shape}.")
    T, I = y.shape[0], int(I)
    x1 = np.asarray(model.sample_initial(rng, I), dtype=np.float64)
    if x1.ndim != 2 or x1.shape[0] != I:
        raise ValueError(f"sample_initial(rng, I) must return shape (I, n) with I = {I}; got {x1.shape}.")
    prior = Particles(x1, np.full(I, -np.log(I)))
    transitions = [ParticleTransition(model.sample_transition, model.log_transition, t, rng) for t in range(1, T)]
    emissions = [ParticleLikelihood(lambda x, t=t: model.log_lik(y[t], x, t)) for t in range(T)]
    return Chain(prior, transitions, emissions)
