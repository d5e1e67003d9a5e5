r"""Checkers for the exercises of notebook 6.1-6.3 (latent-variable density estimation and EM); column 0 of every
``(N, 2)`` array is the component with mean +theta."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import logsumexp
from scipy.stats import norm

from . import checker

__all__ = ["FreeEnergyProblem", "ChainBitsProblem", "HardProblem", "GaussHardProblem", "EX_FREE_ENERGY",
           "EX_EM_CASES", "EX_BITS", "PAGE_HARD", "EX_HARD", "toy_log_joint", "free_energy", "em_step", "bits_back",
           "hard_excess"]


class FreeEnergyProblem(NamedTuple):
    """Data ``y`` (N,) and a recognition distribution ``q`` (N, 2) for a mixture with means +theta (weight ``pi``) and
    -theta (weight 1 - pi), both with standard deviation ``sigma``."""

    y: np.ndarray
    theta: float
    pi: float
    sigma: float
    q: np.ndarray


class ChainBitsProblem(NamedTuple):
    """Two layers of codes for the sender-receiver game: prior ``pi`` of x1, rows ``A[i]`` = p(x2 | x1 = i), ``B[j]``
    = p(symbol | x2 = j), the datum ``y``; the sender draws x2 from ``q2``, then x1 from ``Q1[x2]``."""

    pi: np.ndarray
    A: np.ndarray
    B: np.ndarray
    y: int
    q2: np.ndarray
    Q1: np.ndarray


class HardProblem(NamedTuple):
    """A prior ``pi`` (K,) over codes, emissions ``B`` (K, M) and a data distribution ``p_y`` (M,)."""

    pi: np.ndarray
    B: np.ndarray
    p_y: np.ndarray


class GaussHardProblem(NamedTuple):
    """Three codes with prior ``pi`` and a Gaussian symbol of mean ``m[k]`` (increasing) and sd ``s``; the data are
    N(``m_p``, ``s_p``^2), which the model does not match."""

    pi: np.ndarray
    m: np.ndarray
    s: float
    m_p: float
    s_p: float


def toy_log_joint(theta, y):
    """The log joint of each datum ``y`` (N,) with each component of the symmetric mixture at ``theta``, shape (N, 2),
    as the notebook's log-joint function."""
    y = np.asarray(y, dtype=float)
    return np.log(0.5) + np.stack([norm.logpdf(y, loc=theta), norm.logpdf(y, loc=-theta)], axis=-1)


def _draw_free_energy(rng):
    """A problem like EX_FREE_ENERGY with pi, sigma away from 1/2, 1 and q not the posterior."""
    from .references import ch06_em as refs
    while True:
        y = np.round(rng.choice([-1.0, 1.0], size=8) * rng.uniform(0.1, 2.6, size=8), 1) + 0.0
        theta = round(float(rng.uniform(0.4, 1.2)), 1)
        pi = round(float(rng.choice([-1.0, 1.0]) * rng.uniform(0.12, 0.3) + 0.5), 2)
        sigma = round(float(rng.choice([rng.uniform(0.5, 0.75), rng.uniform(1.3, 1.8)])), 1)
        q1 = np.round(rng.uniform(0.05, 0.95, size=8), 2)
        q = np.column_stack([q1, 1.0 - q1])
        lj = refs.mixture_log_joint(theta, pi, sigma, y)
        if np.mean(np.sum(q * (np.log(q) - lj + logsumexp(lj, axis=1, keepdims=True)), axis=1)) > 0.05:
            return FreeEnergyProblem(y, theta, pi, sigma, q)


#: Exercise 1: eight observations and a recognition distribution that is *not* the posterior.
EX_FREE_ENERGY = checker.book_or_drawn(FreeEnergyProblem(
    y=np.array([1.3, -0.4, 2.1, 0.2, -1.7, 0.9, -2.4, 1.1]),
    theta=0.6,
    pi=0.3,
    sigma=0.8,
    q=np.array([[0.9, 0.1], [0.3, 0.7], [0.8, 0.2], [0.5, 0.5],
                [0.2, 0.8], [0.6, 0.4], [0.05, 0.95], [0.7, 0.3]]),
), _draw_free_energy, seed=631)

#: Exercise 2: ``(theta, y, w, sigma_plus, sigma_minus)`` test cases, with unequal weights and sds in every case (the
#: page codes only w = 1/2 and unit variances).
EX_EM_CASES = (
    (0.3, np.array([1.3, -0.4, 2.1, 0.2, -1.7, 0.9, -2.4, 1.1]), 0.3, 0.8, 1.5),
    (-0.8, np.array([0.5, 1.5, -2.0, 2.5, -0.1]), 0.65, 1.4, 0.6),
    (2.0, np.array([-3.1, 2.9, 1.8, -2.2, 0.4, -0.6, 3.3]), 0.8, 2.0, 0.7),
)

_PI = np.array([0.5, 0.3, 0.2])
_B = np.array([[0.40, 0.30, 0.15, 0.10, 0.04, 0.01],
               [0.05, 0.20, 0.40, 0.20, 0.10, 0.05],
               [0.01, 0.04, 0.10, 0.15, 0.30, 0.40]])

def _simplex(rng, alpha, lowest: float = 0.02) -> np.ndarray:
    """A probability vector with two decimals, every entry at least ``lowest``."""
    while True:
        v = np.round(rng.dirichlet(alpha), 2)
        v[np.argmax(v)] += 1.0 - v.sum()
        if v.min() >= lowest:
            return np.round(v, 2)


def _draw_emissions(rng):
    """Three emission distributions over six symbols, each favouring symbols of its own."""
    return np.stack([_simplex(rng, 0.6 + 4.0 * np.exp(-0.5 * (np.arange(6) - c) ** 2), lowest=0.01)
                     for c in np.array([0.5, 2.5, 4.5]) + rng.uniform(-0.8, 0.8, size=3)])


def _chain_joint_q(q2, Q1):
    """q(x1, x2 | y) as a (2, 3) table, rows x1: the sender draws x2 from q2, then x1 from row x2 of Q1."""
    return (q2[:, None] * Q1).T


def _draw_bits(rng):
    """A problem like EX_BITS, with a recognition distribution clearly not the symbol's posterior."""
    from .references import ch06_em as refs
    while True:
        pi = _simplex(rng, np.full(2, 4.0), lowest=0.2)
        A = np.stack([_simplex(rng, np.full(3, 2.0), lowest=0.05) for _ in range(2)])
        B = _draw_emissions(rng)
        y = int(rng.integers(6))
        q2 = _simplex(rng, np.full(3, 3.0), lowest=0.1)
        Q1 = np.stack([_simplex(rng, np.full(2, 3.0), lowest=0.1) for _ in range(3)])
        q = _chain_joint_q(q2, Q1)
        post, _ = refs.chain_posterior(pi, A, B, y)
        if np.sum(q * np.log2(q / post)) > 0.05 and np.abs(pi @ A - A).max() > 0.05:
            return ChainBitsProblem(pi, A, B, y, q2, Q1)


#: Exercise 3: a top code over two values above the page's three codes (whose emissions ``_B`` it keeps), symbol 3,
#: and a recognition distribution that draws the middle code, then the top one.
EX_BITS = checker.book_or_drawn(ChainBitsProblem(
    pi=np.array([0.6, 0.4]),
    A=np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]),
    B=_B, y=3,
    q2=np.array([0.2, 0.5, 0.3]),
    Q1=np.array([[0.8, 0.2], [0.5, 0.5], [0.3, 0.7]]),
), _draw_bits, seed=633)


def _draw_hard(rng):
    """A problem like EX_HARD, every named slip clearly apart from the answer."""
    from .references import ch06_em as refs
    while True:
        pi = _simplex(rng, np.full(3, 4.0), lowest=0.15)
        s = round(float(rng.uniform(0.7, 1.3)), 1)
        gaps = np.round(rng.uniform(1.5 * s, 3.0 * s, size=2), 1)
        m0 = round(float(rng.uniform(-3.0, -1.0)), 1)
        m = np.round(m0 + np.concatenate([[0.0], np.cumsum(gaps)]), 1) + 0.0
        prob = GaussHardProblem(pi=pi, m=m, s=s, m_p=round(float(rng.uniform(m[0], m[-1])), 1) + 0.0,
                                s_p=round(float(rng.uniform(1.2, 2.5)), 1))
        ref, hints = refs.hard_parts(prob)
        if all(abs(v - ref) > 0.02 * ref for v in hints.values()):
            return prob


#: The page's worked example (Section 6.3.2): prior, emissions and data distribution over six symbols.
PAGE_HARD = HardProblem(pi=_PI, B=_B, p_y=np.array([0.15, 0.20, 0.25, 0.15, 0.15, 0.10]))

#: Exercise 4: the worked example with a continuous symbol (three Gaussian emissions, one sd, an unequal prior) and
#: Gaussian data.
EX_HARD = checker.book_or_drawn(GaussHardProblem(pi=np.array([0.25, 0.45, 0.30]), m=np.array([-2.0, 0.0, 2.5]),
                                                 s=1.0, m_p=0.5, s_p=1.8),
                                _draw_hard, seed=634)


def free_energy(F, kl):
    """Exercise 1, ``ex-6-3-free-energy``: your average free energy F and average KL of q_n from the posterior for
    :data:`EX_FREE_ENERGY`, in nats. Slips named: the page's mixture, swapped weights, no sigma, the ELBo, the entropy
    missing or mis-signed, the NLL, sums, bits, the KL reversed."""
    from .references import ch06_em as refs
    y, theta, pi, sigma, q = EX_FREE_ENERGY

    def parts(lj):
        post = refs.posterior(lj)
        return (float(np.mean(np.sum(q * (np.log(q) - lj), axis=1))),
                float(np.mean(np.sum(q * (np.log(q) - np.log(post)), axis=1))))

    lj = refs.mixture_log_joint(theta, pi, sigma, y)
    log_py = logsumexp(lj, axis=1)
    F_ref, kl_ref = parts(lj)
    cross = -np.sum(q * lj, axis=1)                       # joint cross entropy per datum
    ent = -np.sum(q * np.log(q), axis=1)
    models = {
        "you used the page's symmetric mixture (weights 1/2, unit variance), not this one":
            refs.mixture_log_joint(theta, 0.5, 1.0, y),
        "you kept the page's weights 1/2": refs.mixture_log_joint(theta, 0.5, sigma, y),
        "you kept the page's unit variance": refs.mixture_log_joint(theta, pi, 1.0, y),
        "you gave the weight pi to the component with mean -theta": refs.mixture_log_joint(theta, 1.0 - pi, sigma, y),
        "you used sigma as the variance, not the standard deviation":
            refs.mixture_log_joint(theta, pi, np.sqrt(sigma), y),
        "you squared sigma in the variance twice": refs.mixture_log_joint(theta, pi, sigma ** 2, y),
    }
    F_hints, kl_hints = {}, {}
    for text, lj_wrong in models.items():
        F_hints[text], kl_hints[text] = parts(lj_wrong)
    F_hints.update({
        "your Gaussian's normalizer lacks sigma (the log density has a term in log sigma)":
            F_ref - float(np.log(sigma)),
        "you returned the ELBo, the negative of the free energy (the draft's free energy is -ELBo)": -F_ref,
        "you left out the entropy of q: that is the joint cross entropy, not the free energy":
            float(np.mean(cross)),
        "you used the recognition cross entropy with the wrong sign (added the entropy of q)":
            float(np.mean(cross + ent)),
        "you returned the negative log likelihood: the free energy equals it only when q is the posterior":
            float(np.mean(-log_py)),
        "you summed over the data instead of averaging": F_ref * len(y),
        "you worked in bits: the exercise asks for nats": F_ref / np.log(2),
    })
    post = refs.posterior(lj)
    kl_hints.update({
        "you computed D_KL{posterior || q}: the order is D_KL{q || posterior}":
            float(np.mean(np.sum(post * (np.log(post) - np.log(q)), axis=1))),
        "you summed over the data instead of averaging": kl_ref * len(y),
    })
    problems = checker.compare_scalar(F, F_ref, "your free energy", rtol=1e-8, hints=F_hints)
    problems += checker.compare_scalar(kl, kl_ref, "your average KL", rtol=1e-8, hints=kl_hints)
    return checker.result("free energy = negative log likelihood + KL (Eq. 6.6)", problems)


def em_step(fn):
    """Exercise 2, ``ex-6-3-em-step``: your function ``fn(theta, y, w, sigma_plus, sigma_minus)`` returning theta
    after one EM step, run on :data:`EX_EM_CASES`. Slips named: hard assignments, one weight, a gradient, the prior
    for the posterior, the page's mixture, equal variances, an E step without weights, variances or normalizers."""
    from .references import ch06_em as refs
    def judge(out, where, *args):
        return checker.compare_array(out, refs.em_step_ref(*args), f"the output on {where}", rtol=1e-8,
                                     hints=refs.em_step_slips(*args))

    cases = [(f"theta = {t}, N = {len(y)}, w = {w}, sigmas = ({sp}, {sm})", (t, y, w, sp, sm))
             for t, y, w, sp, sm in EX_EM_CASES]
    return checker.check_function("one EM step of the two-variance mixture", fn, cases, judge, name="my_em_step",
                                  signature="(theta, y, w, sigma_plus, sigma_minus)")


def bits_back(gross, net):
    """Exercise 3, ``ex-6-3-bits-back``: your expected gross and net cost (after the refund) of the soft scheme for
    :data:`EX_BITS`, in bits. Slips named: nats, a left-out cost, x2 coded without x1, independent draws, a refund for
    one draw, a forgotten or mis-signed refund, the ideal code's cost."""
    from .references import ch06_em as refs
    pi, A, B, y, q2, Q1 = EX_BITS
    q = _chain_joint_q(q2, Q1)                            # (2, 3): q(x1, x2 | y)
    top = -np.log2(pi)[:, None] * np.ones_like(A)         # code cost of x1
    middle = -np.log2(A)                                  # code cost of x2 given x1
    recon = -np.log2(B[:, y])[None, :] * np.ones_like(A)  # reconstruction cost of y given x2
    gross_ref = float(np.sum(q * (top + middle + recon)))
    ent = float(-np.sum(q * np.log2(q)))
    net_ref = gross_ref - ent
    post, p_y = refs.chain_posterior(pi, A, B, y)
    q1_marg = q.sum(axis=1)
    q_indep = np.outer(q1_marg, q2)                       # x1 and x2 drawn independently
    marg_x2 = -np.log2(pi @ A)[None, :] * np.ones_like(A)
    gross_hints = {
        "you worked in nats: the code lengths are in bits (use log2)": gross_ref * np.log(2),
        "you left out the code cost of the top code x1": float(np.sum(q * (middle + recon))),
        "you left out the code cost of the middle code x2": float(np.sum(q * (top + recon))),
        "you left out the reconstruction cost of the symbol": float(np.sum(q * (top + middle))),
        "you coded the middle code x2 with its marginal, not given the top code x1 that the receiver already has":
            float(np.sum(q * (top + marg_x2 + recon))),
        "you treated the two draws as independent: x1 is drawn given x2":
            float(np.sum(q_indep * (top + middle + recon))),
    }
    net_hints = {
        "you forgot the refund: the receiver recovers the random bits of both draws": gross_ref,
        "your refund covers the draw of the middle code x2 only": gross_ref + float(np.sum(q2 * np.log2(q2))),
        "your refund covers the draw of the top code x1 only": net_ref - float(np.sum(q2 * np.log2(q2))),
        "you added the refund instead of subtracting it": gross_ref + ent,
        "you worked in nats: the code lengths are in bits (use log2)": net_ref * np.log(2),
        "you returned -log2 p(y): that is the net cost only when the recognition distribution is the posterior":
            -np.log2(p_y),
    }
    problems = checker.compare_scalar(gross, gross_ref, "your gross cost", rtol=1e-8, hints=gross_hints)
    problems += checker.compare_scalar(net, net_ref, "your net cost", rtol=1e-8, hints=net_hints)
    return checker.result("bits-back accounting with two layers of latent codes", problems)


def hard_excess(answer):
    """Exercise 4, ``ex-6-3-hard-excess``: your excess surcharge of hard assignments to the likeliest code for
    :data:`EX_HARD`, in bits, to a relative 2e-3. Slips named: the page's scheme (the posterior mode), nats, the wrong
    averaging distribution, the posterior entropy, the code length, a left-out code cost."""
    from .references import ch06_em as refs
    ref, hints = refs.hard_parts(EX_HARD)
    problems = checker.compare_scalar(answer, ref, "your excess surcharge", rtol=2e-3, atol=1e-6, hints=hints)
    return checker.result("excess surcharge of hard assignments to the likeliest code (Eq. 6.14)", problems)


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-6-3-em-step": {"same_data": checker.FUNCTION_ANSWER},
}
