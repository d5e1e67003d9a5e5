r"""Checkers for the exercises of notebook 6.1-6.3 (latent-variable density estimation and EM).

Use in the notebook as::

    from pedagogy_lib.exercises import ch06_em as check
    check.free_energy(my_F, my_kl)

Problem data are the module constants below. The reference answers are computed from them when
a checker runs, independently of the library.

The running example of the notebook is the *symmetric two-component mixture* of the notebook: two
equally likely components with unit variance and means +theta and -theta, with the single
parameter theta. Column 0 of every ``(N, 2)`` array is the component with mean +theta, column 1
the one with mean -theta.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import logsumexp
from scipy.stats import norm

from . import checker

__all__ = ["FreeEnergyProblem", "BitsBackProblem", "HardProblem", "EX_FREE_ENERGY", "EX_EM_CASES",
           "EX_BITS", "PAGE_HARD", "EX_HARD", "toy_log_joint", "free_energy", "em_step", "bits_back", "hard_excess"]


class FreeEnergyProblem(NamedTuple):
    """Data ``y`` (N,), the parameter ``theta`` and a recognition distribution ``q`` (N, 2) of the symmetric mixture."""

    y: np.ndarray
    theta: float
    q: np.ndarray


class BitsBackProblem(NamedTuple):
    """A discrete generative model and one datum for the sender-receiver game (Section 6.3.2).

    ``pi`` (K,) is the prior over the latent codes, row ``k`` of ``B`` (K, M) is the emission
    distribution of code k over ``M`` symbols, ``y`` is the index of the datum and ``q`` (K,) the
    recognition distribution used to pick the latent code.
    """

    pi: np.ndarray
    B: np.ndarray
    y: int
    q: np.ndarray


class HardProblem(NamedTuple):
    """The model ``pi``, ``B`` of a :class:`BitsBackProblem` and a data distribution ``p_y`` (M,)."""

    pi: np.ndarray
    B: np.ndarray
    p_y: np.ndarray


def toy_log_joint(theta, y):
    """The log joint of each datum ``y`` (N,) with each component of the symmetric mixture at
    ``theta``, shape (N, 2): the same array as the notebook's ``log_joint``."""
    y = np.asarray(y, dtype=float)
    return np.log(0.5) + np.stack([norm.logpdf(y, loc=theta), norm.logpdf(y, loc=-theta)], axis=-1)


def _draw_free_energy(rng):
    """A problem of the same kind as the book's EX_FREE_ENERGY, for one student: eight observations (one
    decimal), a parameter theta between 0.4 and 1.2, and a recognition distribution with rows that sum to
    one, strictly between 0 and 1, clearly not the posterior."""
    while True:
        y = np.round(rng.choice([-1.0, 1.0], size=8) * rng.uniform(0.1, 2.6, size=8), 1) + 0.0
        theta = round(float(rng.uniform(0.4, 1.2)), 1)
        q1 = np.round(rng.uniform(0.05, 0.95, size=8), 2)
        q = np.column_stack([q1, 1.0 - q1])
        lj = toy_log_joint(theta, y)
        if np.mean(np.sum(q * (np.log(q) - lj + logsumexp(lj, axis=1, keepdims=True)), axis=1)) > 0.05:
            return FreeEnergyProblem(y, theta, q)


#: Exercise 1: eight observations, theta = 0.6 and a recognition distribution that is *not* the posterior.
EX_FREE_ENERGY = checker.book_or_drawn(FreeEnergyProblem(
    y=np.array([1.3, -0.4, 2.1, 0.2, -1.7, 0.9, -2.4, 1.1]),
    theta=0.6,
    q=np.array([[0.9, 0.1], [0.3, 0.7], [0.8, 0.2], [0.5, 0.5],
                [0.2, 0.8], [0.6, 0.4], [0.05, 0.95], [0.7, 0.3]]),
), _draw_free_energy, seed=631)

#: Exercise 2: ``(theta, y)`` test cases for one EM step of the symmetric mixture.
EX_EM_CASES = (
    (0.3, np.array([1.3, -0.4, 2.1, 0.2, -1.7, 0.9, -2.4, 1.1])),
    (-0.8, np.array([0.5, 1.5, -2.0, 2.5, -0.1])),
    (2.0, np.array([-3.1, 2.9, 1.8, -2.2, 0.4, -0.6, 3.3])),
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


def _draw_bits(rng):
    """A problem of the same kind as the book's EX_BITS, for one student: a prior over three latent codes,
    three emission distributions over six symbols, each favouring symbols of its own (two decimals, all
    positive), one symbol, and a recognition distribution that is clearly not that symbol's posterior."""
    while True:
        pi = _simplex(rng, np.full(3, 4.0), lowest=0.1)
        B = np.stack([_simplex(rng, 0.6 + 4.0 * np.exp(-0.5 * (np.arange(6) - c) ** 2), lowest=0.01)
                      for c in np.array([0.5, 2.5, 4.5]) + rng.uniform(-0.8, 0.8, size=3)])
        y = int(rng.integers(6))
        q = _simplex(rng, np.full(3, 3.0), lowest=0.1)
        post = pi * B[:, y] / np.sum(pi * B[:, y])
        if np.sum(q * np.log2(q / post)) > 0.03:
            return BitsBackProblem(pi, B, y, q)


#: Exercise 3: one datum (symbol 3) and a recognition distribution over the three latent codes.
EX_BITS = checker.book_or_drawn(BitsBackProblem(pi=_PI, B=_B, y=3, q=np.array([0.2, 0.5, 0.3])), _draw_bits, seed=633)


def _draw_hard(rng):
    """A problem of the same kind as the book's EX_HARD, for one student: the model of EX_BITS and a data
    distribution over the six symbols (two decimals, all positive) that the model does not match exactly."""
    return HardProblem(EX_BITS.pi, EX_BITS.B, _simplex(rng, np.full(6, 5.0), lowest=0.05))


#: The worked example of the page (Section 6.3.2): the model of EX_BITS and a data distribution over the six
#: symbols. The page prints its excess surcharge, so the exercise has data of its own (EX_HARD).
PAGE_HARD = HardProblem(pi=_PI, B=_B, p_y=np.array([0.15, 0.20, 0.25, 0.15, 0.15, 0.10]))

#: Exercise 4: the emissions of EX_BITS under another prior, and another data distribution over the six symbols.
EX_HARD = checker.book_or_drawn(HardProblem(pi=np.array([0.25, 0.45, 0.30]), B=_B,
                                            p_y=np.array([0.10, 0.25, 0.10, 0.20, 0.10, 0.25])),
                                _draw_hard, seed=634)


def _posterior(lj):
    return np.exp(lj - logsumexp(lj, axis=-1, keepdims=True))


# ----------------------------------------------------------------------------------------------
# Checkers
# ----------------------------------------------------------------------------------------------

def free_energy(F, kl):
    """Exercise 1, ``ex-6-3-free-energy``: your average free energy F and average KL divergence of q_n
    from the posterior, for :data:`EX_FREE_ENERGY`.

    Pass two numbers in nats, both averaged (not summed) over the data. The checker recognizes the
    ELBo, a missing or mis-signed entropy, the negative log likelihood, sums, bits, and the KL in
    the other order.
    """
    y, theta, q = EX_FREE_ENERGY
    lj = toy_log_joint(theta, y)
    log_py = logsumexp(lj, axis=1)
    post = _posterior(lj)
    cross = -np.sum(q * lj, axis=1)                       # joint cross entropy per datum
    ent = -np.sum(q * np.log(q), axis=1)
    F_ref = float(np.mean(cross - ent))
    kl_ref = float(np.mean(np.sum(q * (np.log(q) - np.log(post)), axis=1)))
    F_hints = {
        "you returned the ELBo, the negative of the free energy (the draft's free energy is -ELBo)": -F_ref,
        "you left out the entropy of q: that is the joint cross entropy, not the free energy":
            float(np.mean(cross)),
        "you used the recognition cross entropy with the wrong sign (added the entropy of q)":
            float(np.mean(cross + ent)),
        "you returned the negative log likelihood: the free energy equals it only when q is the posterior":
            float(np.mean(-log_py)),
        "you summed over the data instead of averaging": F_ref * len(y),
        "you worked in bits: the exercise asks for nats": F_ref / np.log(2),
    }
    kl_hints = {
        "you computed D_KL{posterior || q}: the order is D_KL{q || posterior}":
            float(np.mean(np.sum(post * (np.log(post) - np.log(q)), axis=1))),
        "you summed over the data instead of averaging": kl_ref * len(y),
    }
    problems = checker.compare_scalar(F, F_ref, "your free energy", rtol=1e-8, hints=F_hints)
    problems += checker.compare_scalar(kl, kl_ref, "your average KL", rtol=1e-8, hints=kl_hints)
    return checker.result("free energy = negative log likelihood + KL (Eq. 6.6)", problems)


def _em_step_ref(theta, y):
    q = _posterior(toy_log_joint(theta, y))
    return float(np.mean((q[:, 0] - q[:, 1]) * y))


def em_step(fn):
    """Exercise 2, ``ex-6-3-em-step``: your function ``fn(theta, y)`` returning the parameter after one EM
    iteration of the symmetric mixture.

    ``theta`` is a number and ``y`` a 1-D array; ``fn`` returns one number. It is run on every case
    of :data:`EX_EM_CASES`. The checker recognizes hard assignments, only one component's weight,
    a gradient returned for the parameter, and the prior used in the E step.
    """
    cases = [((theta, y.copy()), _em_step_ref(theta, y)) for theta, y in EX_EM_CASES]
    problems = checker.compare_function(fn, cases, "your em_step", rtol=1e-8,
                                      describe=lambda a: f"theta = {a[0]}, N = {len(a[1])}")
    if not problems:
        return checker.result("one EM step of the symmetric mixture", [])
    # diagnose typical slips on the first case (messages never reveal the reference)
    theta, y = EX_EM_CASES[0]
    try:
        out = float(fn(theta, y.copy()))
    except Exception:  # noqa: BLE001 - already reported above
        return checker.result("one EM step of the symmetric mixture", problems)
    q = _posterior(toy_log_joint(theta, y))
    hard = np.where(q[:, 0] >= q[:, 1], 1.0, -1.0)
    grad = np.mean((q[:, 0] - q[:, 1]) * y) - theta       # gradient of the average log likelihood
    wrong = {
        "you used hard assignments (argmax of the posterior) instead of the posterior probabilities":
            float(np.mean(hard * y)),
        "you used q_n1 alone as the weight: the component with mean -theta also pulls on theta, "
        "with weight -q_n2": float(np.sum(q[:, 0] * y) / np.sum(q[:, 0])),
        "you returned the gradient of the average log likelihood, not the new parameter": float(grad),
        "you used the prior (1/2, 1/2) instead of the posterior in the E step": 0.0,
    }
    for description, value in wrong.items():
        if np.isclose(out, value, rtol=1e-8, atol=1e-10):
            problems = [f"your em_step is what you get if {description}."]
            break
    return checker.result("one EM step of the symmetric mixture", problems)


def bits_back(gross, net):
    """Exercise 3, ``ex-6-3-bits-back``: your expected gross cost and net cost (after the bits-back
    refund) of the soft scheme for :data:`EX_BITS`.

    Pass two numbers in **bits**. The checker recognizes nats, a left-out cost, the posterior mode
    used in place of q, a forgotten or mis-signed refund, and the cost of the ideal code.
    """
    pi, B, y, q = EX_BITS
    code = -np.log2(pi)
    recon = -np.log2(B[:, y])
    gross_ref = float(np.sum(q * (code + recon)))
    ent = float(-np.sum(q * np.log2(q)))
    net_ref = gross_ref - ent
    p_y = float(np.sum(pi * B[:, y]))
    post = pi * B[:, y] / p_y
    k = int(np.argmax(post))
    gross_hints = {
        "you worked in nats: the code lengths are in bits (use log2)": gross_ref * np.log(2),
        "you left out the code cost -log2 p(x) of the latent code": float(np.sum(q * recon)),
        "you left out the reconstruction cost -log2 p(y | x)": float(np.sum(q * code)),
        "you used the hard assignment (the posterior mode) instead of sampling from q":
            float(code[k] + recon[k]),
    }
    net_hints = {
        "you forgot the refund: the receiver gets H[q] bits back": gross_ref,
        "you added the refund instead of subtracting it": gross_ref + ent,
        "you worked in nats: the code lengths are in bits (use log2)": net_ref * np.log(2),
        "you returned -log2 p(y): that is the net cost only when q is the posterior": -np.log2(p_y),
    }
    problems = checker.compare_scalar(gross, gross_ref, "your gross cost", rtol=1e-8, hints=gross_hints)
    problems += checker.compare_scalar(net, net_ref, "your net cost", rtol=1e-8, hints=net_hints)
    return checker.result("bits-back accounting (Eqs. 6.12-6.15)", problems)


def hard_excess(answer):
    """Exercise 4, ``ex-6-3-hard-excess``: your excess surcharge of hard assignments over the marginal
    code (Eq. 6.14) for :data:`EX_HARD`, a single number in bits.

    The checker recognizes nats, an average under the wrong distribution, the average posterior
    entropy, and the total cost given for the excess.
    """
    pi, B, p_y = EX_HARD
    joint = pi[:, None] * B                                # (K, M): p(x, y)
    marg = joint.sum(axis=0)
    post = joint / marg
    ref = float(np.sum(p_y * -np.log2(post.max(axis=0))))
    ent_post = -np.sum(post * np.log2(post), axis=0)
    hints = {
        "you worked in nats: use log2": ref * np.log(2),
        "you averaged under the model marginal p_hat(y) instead of the data distribution p(y)":
            float(np.sum(marg * -np.log2(post.max(axis=0)))),
        "you returned the average posterior entropy: Eq. 6.14 has the KL from the delta to the posterior, "
        "which for a delta at x* is -log2 p_hat(x* | y)": float(np.sum(p_y * ent_post)),
        "you returned the total hard-assignment cost, not its excess over the marginal code":
            float(np.sum(p_y * -np.log2(joint.max(axis=0)))),
    }
    problems = checker.compare_scalar(answer, ref, "your excess surcharge", rtol=1e-8, hints=hints)
    return checker.result("excess surcharge of hard assignments (Eq. 6.14)", problems)

#: For the graded (nbgrader) version: the functions each statement rules out, unavailable while the
#: student's code is graded (courseware/grading.py; a name without a dot is a function the page defines).
SUMMATIVE = {
    "ex-6-3-free-energy": {"forbidden": ["pedagogy_lib.em.engine.discrete_elbo", "elbo", "log_lik"]},
    "ex-6-3-em-step": {"forbidden": ["posterior", "e_step", "m_step", "pedagogy_lib.em.engine.run_em"],
                       "same_data": "the answer is a function, which the grader calls on test cases of the "
                                    "checker's own"},
}
