"""Right at every scale (issue 53): potentials, densities, variances and normalizers from 1e-150 to 1e150.

A product, a normalizer or a grid that is fine at ordinary scales can under- or overflow at others and
return a silent wrong answer. For every public function that takes such a quantity, a case below sweeps
valid inputs over scales (``POTENTIAL_SCALES``: tables and variances from 1e-150 to 1e150, each log
potential shifted by up to +-345; ``LINEAR_SCALES``: traces, errors and vectors, whose squares are
formed, from 1e-300 to 1e300) and compares the answer with a route that cannot under- or overflow:

* an exact identity of the mathematics, applied to the same call at scale 1 (a constant factor of a
  potential shifts log Z by its log and changes no marginal; scaling a Gaussian's locations by ``a`` and
  its variances by ``a^2`` shifts a log density by ``-D log a``; shifting a log potential changes no
  conditional); the call at scale 1 is held to its oracle by the family's own tests;
* or an independent computation in logs or in ``mpmath`` (``log_evidence``, ``ddpm_schedule``,
  ``gaussian_kl``, Gibbs conditionals, the Kalman update for the assumed-density filter).

A clear refusal (``ValueError``/``TypeError`` naming an argument and the range) is a right answer only
where float64 cannot hold the result (``joint`` of three tables of 1e150); the cases say where. The
scales are a fixed grid (the extremes always included) plus, per case, scales and seeds drawn by
hypothesis. The cases and ``NOT_SWEPT`` form a registry (``registry()``) of every function in every family's
``__all__``: its cases, or a one-line reason it has none (issue 69); tests/library/test_library_layout.py fails
for a public function with neither, and ``SCALED_ARGUMENTS`` (``phi``, ``Sigma``, ``log_lik``, ``trace``...)
keeps a function named for such a quantity from being listed as taking none. The cases after "held-out
sweep" were written from the docstrings alone and compared with mpmath, enumeration or closed forms.
The refusals at the edge of a range (a zero vector, ``log_v2 = 1500``, an empty sequence, an asymmetric
``B``, a coupling too large for float64) are checked to name the argument the caller passed, in ``test_the_edge_of_a_range_is_refused_by_name``.
"""
from __future__ import annotations

import functools
import inspect
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
import fuzz_cases  # noqa: E402
from scale_kit import (CASES, CONSTRUCTOR, DATA, DERIVATIVE, DRAWN_EXAMPLES, FIT, LINEAR_EXPONENTS,  # noqa: E402
                       MONTE_CARLO, NO_SCALED_INPUT, TRUSTED, VALIDATION, WARMUP, case, close,
                       group, quiet)
import scale_cases_contrastive_diffusion  # noqa: E402
import scale_cases_discrete_hmm_mixture  # noqa: E402
import scale_cases_factor_vi_deepgen  # noqa: E402
import scale_cases_harmonium  # noqa: E402
import scale_cases_lgssm_graphical_assimilation  # noqa: E402

_CASE_MODULES = (scale_cases_contrastive_diffusion, scale_cases_discrete_hmm_mixture, scale_cases_factor_vi_deepgen,
                 scale_cases_harmonium, scale_cases_lgssm_graphical_assimilation)


# ================================================================================ graphical
def _tree_factors(rng, K=2):
    """A small tree-structured model: a chain 0-1-2 with a leaf 3 on 1, unary and pairwise tables."""
    fs = [((0, 1), rng.uniform(0.2, 2.0, (K, K))), ((1, 2), rng.uniform(0.2, 2.0, (K, K))),
          ((1, 3), rng.uniform(0.2, 2.0, (K, K)))]
    fs += [((v,), rng.uniform(0.2, 2.0, K)) for v in range(4)]
    return fs


def _loopy_factors(rng):
    """A square with a diagonal-free cycle and two tables on the same pair (one clique holds both)."""
    fs = [((0, 1), rng.uniform(0.2, 2.0, (2, 2))), ((1, 2), rng.uniform(0.2, 2.0, (2, 2))),
          ((2, 3), rng.uniform(0.2, 2.0, (2, 2))), ((3, 0), rng.uniform(0.2, 2.0, (2, 2))),
          ((0, 1), rng.uniform(0.2, 2.0, (2, 2))), ((0,), rng.uniform(0.2, 2.0, 2))]
    return fs


def _scaled(factors, s):
    return [(v, t * s) for v, t in factors]


def _brute(factors):
    """log Z and marginals at scale 1 by the plain product of the tables (float64 holds it there)."""
    from pedagogy_lib.graphical import joint
    J = joint(factors)
    P = J.table / J.table.sum()
    marg = {v: P.sum(axis=tuple(j for j in range(P.ndim) if j != i)) for i, v in enumerate(J.variables)}
    return float(np.log(J.table.sum())), marg


@case("graphical.factors.log_partition_by_enumeration", "graphical.factors.marginals_by_enumeration")
def case_enumeration(s, rng):
    from pedagogy_lib import graphical as g
    fs = _loopy_factors(rng)
    log_Z, marg = _brute(fs)
    close(quiet(g.log_partition_by_enumeration, _scaled(fs, s)), log_Z + len(fs) * np.log(s), rtol=1e-12,
          atol=1e-9, what="log Z")
    got = quiet(g.marginals_by_enumeration, _scaled(fs, s))
    for v in marg:
        close(got[v], marg[v], rtol=1e-9, atol=1e-14, what=f"marginal of {v}")


@case("graphical.factors.joint", "graphical.factors.factor_product", "graphical.factors.sum_out",
      "graphical.factors.marginal_of")
def case_joint_and_products(s, rng):
    """The tables themselves: right wherever float64 holds them, refused by name where it cannot."""
    from pedagogy_lib import graphical as g
    fs = _tree_factors(rng)[:3]
    J1 = g.joint(fs).table
    n = len(fs)
    if -300 <= n * np.log10(s) <= 300:
        close(quiet(g.joint, _scaled(fs, s)).table, J1 * s ** n, rtol=1e-12, what="joint")
    else:
        with pytest.raises(ValueError, match=r"(?s)factors.*float64"):
            quiet(g.joint, _scaled(fs, s))
    f, h = g.make_factor(*fs[0]), g.make_factor(*fs[1])
    prod = g.factor_product(f, h)
    fs_, hs_ = g.make_factor(f.variables, f.table * s), g.make_factor(h.variables, h.table * s)
    if -300 <= 2 * np.log10(s) <= 300:
        close(quiet(g.factor_product, fs_, hs_).table, prod.table * s * s, rtol=1e-12, what="factor_product")
    else:
        with pytest.raises(ValueError, match=r"(?s)f\.table and g\.table.*float64"):
            quiet(g.factor_product, fs_, hs_)
    close(quiet(g.sum_out, fs_, [1]).table, g.sum_out(f, [1]).table * s, rtol=1e-12, what="sum_out")
    close(quiet(g.marginal_of, fs_, [1]).table, g.marginal_of(f, [1]).table * s, rtol=1e-12, what="marginal_of")


@case("graphical.bp.belief_propagation", "graphical.bp.max_product", "graphical.bp.loopy_belief_propagation")
def case_belief_propagation(s, rng):
    from pedagogy_lib import graphical as g
    fs = _tree_factors(rng, K=3)
    log_Z, marg = _brute(fs)
    shift = len(fs) * np.log(s)
    bp = quiet(g.belief_propagation, _scaled(fs, s))
    close(bp.log_Z, log_Z + shift, rtol=1e-12, atol=1e-9, what="BP log Z")
    for v in marg:
        close(bp.marginals[v], marg[v], rtol=1e-9, atol=1e-14, what=f"BP marginal of {v}")
    mp1, mp = g.max_product(fs), quiet(g.max_product, _scaled(fs, s))
    close(mp.log_max, mp1.log_max + shift, rtol=1e-12, atol=1e-9, what="max-product log max")
    assert mp.assignment == mp1.assignment
    lb = quiet(g.loopy_belief_propagation, _scaled(fs, s))           # exact on a tree
    close(lb.log_Z_bethe, log_Z + shift, rtol=1e-12, atol=1e-8, what="Bethe log Z on a tree")
    for v in marg:
        close(lb.marginals[v], marg[v], rtol=1e-8, atol=1e-12, what=f"loopy BP marginal of {v}")


@case("graphical.junction.junction_tree")
def case_junction_tree(s, rng):
    from pedagogy_lib import graphical as g
    fs = _loopy_factors(rng)
    log_Z, marg = _brute(fs)
    jt = quiet(g.junction_tree, _scaled(fs, s))
    close(jt.log_Z, log_Z + len(fs) * np.log(s), rtol=1e-12, atol=1e-9, what="junction-tree log Z")
    for v in marg:
        close(jt.marginals[v], marg[v], rtol=1e-9, atol=1e-14, what=f"junction-tree marginal of {v}")


@case("graphical.tree.tree_sum_product", "graphical.tree.random_tree")
def case_tree_sum_product(s, rng):
    """Every potential times s, both backends: on a random tree against enumeration, and on a star whose
    centre has 1500 children (their messages' product underflows unless rescaled) against log Z in logs,
    :math:`\\log\\sum_{x_0}\\phi_0(x_0)\\prod_i\\sum_{x_i}\\psi_i(x_0, x_i)\\phi_i(x_i)`."""
    from scipy.special import logsumexp

    from pedagogy_lib import graphical as g
    t = g.random_tree(12, 3, rng, coupling=1.5)
    log_Z, marg = _brute([(f.variables, f.table) for f in g.tree_factors(t)])
    N = 1500
    phi, psi = rng.uniform(0.5, 2.0, (N, 2)), rng.uniform(0.5, 2.0, (N, 2, 2))
    star = g.make_pairwise_tree(np.r_[-1, np.zeros(N - 1, dtype=np.int64)], phi, psi)
    root = np.log(phi[0]) + np.log(np.einsum("iab,ib->ia", psi[1:], phi[1:])).sum(axis=0)
    star_log_Z, star_root = float(logsumexp(root)), np.exp(root - logsumexp(root))
    for tree, lz, check in ((t, log_Z, lambda m: close(m, np.array([marg[v] for v in range(12)]), rtol=1e-9,
                                                              atol=1e-14, what="marginals")),
                            (star, star_log_Z, lambda m: close(m[0], star_root, rtol=1e-9, atol=1e-14,
                                                               what="marginal of the star's centre"))):
        n_pot = tree.parent.size + int(np.sum(tree.parent >= 0))  # a root's psi row is not a potential
        scaled = g.make_pairwise_tree(tree.parent, tree.phi * s, tree.psi * s)
        for backend in ("numba", "numpy"):
            res = quiet(g.tree_sum_product, scaled, backend=backend)
            close(res.log_Z, lz + n_pot * np.log(s), rtol=1e-12, atol=1e-8, what=f"log Z, N = {tree.parent.size} "
                                                                                  f"({backend})")
            check(res.marginals)


@case("graphical.tree.tree_sum_product", "graphical.bp.belief_propagation")
def case_tree_potentials_e600(s, rng):
    """Eight random 6-node trees of 2 states with every log potential +-600 plus ``log(s) / 4`` (at most
    e^686, a float; a message then sums terms e^+-1200 apart), both backends and belief_propagation,
    against the sum over all 64 configurations in logs (scipy's logsumexp). The logs of e^600 carry
    600 * 2^-53 of rounding each: log Z to 1e-12 of the sum of their sizes."""
    import itertools

    from scipy.special import logsumexp

    from pedagogy_lib import graphical as g
    N, K = 6, 2
    for _ in range(8):                     # eight trees: about a third were wrong when kept in floats
        parent = np.concatenate(([-1], np.floor(rng.random(N - 1) * np.arange(1, N)).astype(np.int64)))
        lphi = rng.choice([-600.0, 600.0], (N, K)) + np.log(s) / 4
        lpsi = rng.choice([-600.0, 600.0], (N, K, K)) + np.log(s) / 4
        X = np.array(list(itertools.product(range(K), repeat=N)))
        L = lphi[np.arange(N), X].sum(axis=1)
        for i in range(1, N):
            L = L + lpsi[i, X[:, parent[i]], X[:, i]]
        log_Z = float(logsumexp(L))
        P = np.exp(L - log_Z)
        marg = np.array([[P[X[:, i] == k].sum() for k in range(K)] for i in range(N)])
        tol = 1e-12 * (np.abs(lphi).sum() + np.abs(lpsi[1:]).sum())
        tree = g.make_pairwise_tree(parent, np.exp(lphi), np.exp(lpsi))
        for backend in ("numba", "numpy"):
            res = quiet(g.tree_sum_product, tree, backend=backend)
            close(res.log_Z, log_Z, rtol=0, atol=tol, what=f"e^600 tree log Z ({backend})")
            close(res.marginals, marg, rtol=1e-9, atol=1e-12, what=f"e^600 tree marginals ({backend})")
        fs = [((i,), np.exp(lphi[i])) for i in range(N)] + [((int(parent[i]), i), np.exp(lpsi[i])) for i in range(1, N)]
        bp = quiet(g.belief_propagation, fs)
        close(bp.log_Z, log_Z, rtol=0, atol=tol, what="e^600 BP log Z")
        close(np.array([bp.marginals[i] for i in range(N)]), marg, rtol=1e-9, atol=1e-12, what="e^600 BP marginals")


@case("graphical.junction.junction_tree", "graphical.bp.loopy_belief_propagation")
def case_loopy_and_junction_e600(s, rng):
    """Four random graphs of 6 binary variables, each log potential +-600 plus ``log(s) / 4``: a tree
    (loopy BP is exact there) and the tree with two more pairwise tables and a table on three variables
    (cycles: the junction tree is exact), against the sum over all 64 configurations in logs (scipy's
    logsumexp). Kept in probabilities, both refused most such models as 'probability zero'."""
    import itertools

    from scipy.special import logsumexp

    from pedagogy_lib import graphical as g
    N = 6
    X = np.array(list(itertools.product(range(2), repeat=N)))
    for _ in range(4):
        parent = np.floor(rng.random(N - 1) * np.arange(1, N)).astype(np.int64)
        draw = lambda *shape: rng.choice([-600.0, 600.0], shape) + np.log(s) / 4      # noqa: E731
        tree = [((i,), draw(2)) for i in range(N)] + [((int(parent[i - 1]), i), draw(2, 2)) for i in range(1, N)]
        a, b, c = (int(v) for v in rng.choice(N, 3, replace=False))
        loopy = tree + [((a, b), draw(2, 2)), ((0, N - 1), draw(2, 2)), ((a, b, c), draw(2, 2, 2))]
        for fs, fn in ((tree, "loopy BP"), (loopy, "junction tree")):
            L = sum(lt[tuple(X[:, v] for v in vs)] for vs, lt in fs)
            log_Z = float(logsumexp(L))
            P = np.exp(L - log_Z)
            marg = np.array([[P[X[:, i] == k].sum() for k in range(2)] for i in range(N)])
            tol = 1e-12 * sum(float(np.abs(lt).sum()) for _, lt in fs)
            factors = [(vs, np.exp(lt)) for vs, lt in fs]
            if fn == "loopy BP":
                got = quiet(g.loopy_belief_propagation, factors)
                lz, m = got.log_Z_bethe, got.marginals
            else:
                got = quiet(g.junction_tree, factors)
                lz, m = got.log_Z, got.marginals
            close(lz, log_Z, rtol=0, atol=tol, what=f"e^600 {fn} log Z")
            close(np.array([m[i] for i in range(N)]), marg, rtol=1e-9, atol=1e-12, what=f"e^600 {fn} marginals")


# ================================================================================ samplers, smc
def _gibbs_oracle(L, scan):
    """Gibbs transition matrix from conditionals normalized each on its own, in logs (scipy's logsumexp)."""
    from scipy.special import logsumexp
    na, nb = L.shape
    ca = np.exp(L - logsumexp(L, axis=0, keepdims=True))
    cb = np.exp(L - logsumexp(L, axis=1, keepdims=True))
    S = na * nb
    Ta, Tb = np.zeros((S, S)), np.zeros((S, S))
    for a in range(na):
        for b in range(nb):
            Ta[a * nb + b, [a2 * nb + b for a2 in range(na)]] = ca[:, b]
            Tb[a * nb + b, [a * nb + b2 for b2 in range(nb)]] = cb[a, :]
    return (0.5 * (Ta + Tb) if scan == "random" else Ta @ Tb).T


@case("samplers.finite.gibbs_transition_matrix", "samplers.finite.mh_transition_matrix",
      "samplers.finite.mala_transition_matrix")
def case_finite_transition_matrices(s, rng):
    """Unary potentials s^a and s^b on the two variables (log s from -345 to 345, so the joint spans
    e^{+-2070} and whole conditionals lie e^{-1035} below its largest entry, as in the reproduction's
    [[0, -800], [-800, -1600]]), and a shifted log p for MH and MALA."""
    from pedagogy_lib.samplers import finite
    L0 = rng.normal(size=(4, 4))
    a, b = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
    L = L0 + np.log(s) * (a + b)
    for scan in ("random", "systematic"):
        close(quiet(finite.gibbs_transition_matrix, L, scan), _gibbs_oracle(L, scan), rtol=1e-9, atol=1e-15,
              what=f"Gibbs ({scan})")
    log_p = rng.normal(size=4)
    g = np.full((4, 4), 0.25)
    close(quiet(finite.mh_transition_matrix, log_p + np.log(s), g), finite.mh_transition_matrix(log_p, g),
          rtol=1e-12, atol=1e-15, what="MH, log p shifted")
    x = np.linspace(-2.0, 2.0, 9)
    close(quiet(finite.mala_transition_matrix, x, -0.5 * x ** 2 + np.log(s), -x, 0.3),
          finite.mala_transition_matrix(x, -0.5 * x ** 2, -x, 0.3), rtol=1e-12, atol=1e-15, what="MALA, shifted")


@case("samplers.diagnostics.mcse", "samplers.diagnostics.ess", "samplers.diagnostics.rhat",
      "samplers.diagnostics.autocorrelation", exponents=LINEAR_EXPONENTS)
def case_mcmc_diagnostics(s, rng):
    from pedagogy_lib.samplers import diagnostics as dg
    tr = np.cumsum(rng.normal(size=(200, 3, 2)), axis=0) * 0.2 + 1.0
    close(quiet(dg.mcse, tr * s), dg.mcse(tr) * s, rtol=1e-9, what="mcse")
    close(quiet(dg.ess, tr * s), dg.ess(tr), rtol=1e-9, what="ess")
    close(quiet(dg.rhat, tr * s), dg.rhat(tr), rtol=1e-9, what="rhat")
    close(quiet(dg.autocorrelation, tr * s), dg.autocorrelation(tr), rtol=1e-9, atol=1e-12, what="autocorrelation")


@case("smc.resampling.ess", "em.engine.discrete_elbo", "contrastive.infonce.infonce_loss",
      "contrastive.nce.energy_difference", "contrastive.nce.nce_posterior")
def case_log_weights_shifted(s, rng):
    """Log weights, log joints and scores shifted by log s: ESS, InfoNCE and the posterior unchanged,
    the ELBO shifted by log s."""
    from pedagogy_lib.contrastive import infonce, nce
    from pedagogy_lib.em import discrete_elbo
    from pedagogy_lib.smc import ess
    c = np.log(s)
    log_w = rng.normal(size=(3, 50))
    close(quiet(ess, log_w + c), ess(log_w), rtol=1e-12, what="ESS")
    lj, q = rng.normal(size=(5, 3)), rng.dirichlet(np.ones(3), size=5)
    close(quiet(discrete_elbo, lj + c, q), discrete_elbo(lj, q) + c, rtol=1e-12, atol=1e-12, what="discrete ELBO")
    F = rng.normal(size=(2, 4, 4))
    close(quiet(infonce.infonce_loss, F + c).loss, infonce.infonce_loss(F).loss, rtol=1e-9, atol=1e-12,
          what="InfoNCE loss")
    En, E = rng.normal(size=6), rng.normal(size=6)
    close(quiet(nce.energy_difference, En + c, E + c), nce.energy_difference(En, E), atol=1e-12,
          what="energy difference")
    close(quiet(nce.nce_posterior, En + c, E + c), nce.nce_posterior(En, E), atol=1e-12, what="NCE posterior")


# ================================================================================ hmm, recursions
@case("hmm.inference.hmm_filter", "hmm.inference.hmm_smoother", "recursions.generic.categorical_chain")
def case_hmm_log_likelihoods(s, rng):
    """Every p(y_t | x_t) times s: posteriors unchanged, log evidence + T log s."""
    from pedagogy_lib import hmm
    from pedagogy_lib.recursions import generic as G
    K, T = 3, 12
    pi, A = rng.dirichlet(np.ones(K)), rng.dirichlet(np.ones(K), size=K).T
    ll = rng.normal(size=(T, K))
    c = np.log(s)
    for backend in ("numba", "numpy"):
        f1, f = hmm.hmm_filter(pi, A, ll, backend=backend), quiet(hmm.hmm_filter, pi, A, ll + c, backend=backend)
        close(f.log_evidence, f1.log_evidence + T * c, rtol=1e-12, atol=1e-9, what=f"HMM log evidence ({backend})")
        close(f.filtered, f1.filtered, atol=1e-12, what=f"HMM filter ({backend})")
        p1, p = hmm.hmm_smoother(pi, A, ll, backend=backend), quiet(hmm.hmm_smoother, pi, A, ll + c, backend=backend)
        close(p.gamma, p1.gamma, atol=1e-12, what=f"HMM smoother ({backend})")
    r1 = G.forward_filter(G.CATEGORICAL, G.categorical_chain(pi, A, ll))
    r = quiet(G.forward_filter, G.CATEGORICAL, G.categorical_chain(pi, A, ll + c))
    close(r.log_evidence, r1.log_evidence + T * c, rtol=1e-12, atol=1e-9, what="generic categorical log evidence")


@case("hmm.inference.hmm_filter", "hmm.inference.hmm_smoother")
def case_hmm_peaked_emissions(s, rng):
    """A left-right HMM (state k stays or moves to k + 1, from state 0) with peaked emissions, both
    backends, against the sum over all K**T paths in logs (``oracle_hmm``): each row of ``log_lik``
    shifted by its own multiple of ``log s`` (up to +-690 nats), the states the prediction cannot
    reach yet (k > t) given offsets of +-700, and the reachable ones spread by ``|log s|`` so that
    filtered probabilities fall below the floats and come back."""
    from oracle_hmm import enumerate_hmm

    from pedagogy_lib import hmm
    K, T = 4, 6
    A = np.diag(rng.uniform(0.3, 0.9, K))
    for k in range(K - 1):
        A[k + 1, k] = 1.0 - A[k, k]
    A[K - 1, K - 1] = 1.0
    pi = np.eye(K)[0]
    c = np.log(s)
    ll = rng.normal(size=(T, K)) + rng.integers(-2, 3, size=(T, 1)) * c
    ll += rng.choice([-1.0, 0.0, 1.0], size=(T, K)) * abs(c)
    unreachable = np.arange(K)[None, :] > np.arange(T)[:, None]
    ll[unreachable] += rng.choice([-700.0, 700.0], size=int(unreachable.sum()))
    ref = enumerate_hmm(pi, A, ll)
    for backend in ("numba", "numpy"):
        f = quiet(hmm.hmm_filter, pi, A, ll, backend=backend)
        close(f.log_c, ref["log_c"], rtol=1e-12, atol=1e-9, what=f"peaked HMM log_c ({backend})")
        close(f.filtered, ref["filtered"], rtol=1e-9, atol=1e-13, what=f"peaked HMM filter ({backend})")
        p = quiet(hmm.hmm_smoother, pi, A, ll, return_pairwise="full", backend=backend)
        close(p.gamma, ref["gamma"], rtol=1e-9, atol=1e-13, what=f"peaked HMM smoother ({backend})")
        close(p.xi, ref["xi"], rtol=1e-9, atol=1e-13, what=f"peaked HMM pairwise ({backend})")
        close(p.log_evidence, ref["log_evidence"], rtol=1e-12, atol=1e-9, what=f"peaked HMM evidence ({backend})")

@case("recursions.generic.forward_filter", "recursions.generic.backward_smoother", "recursions.generic.data_marginals",
      "recursions.generic.sequence_posterior", "recursions.generic.time_update",
      "recursions.generic.measurement_update", "recursions.generic.data_marginal",
      "recursions.generic.future_conditioning", "recursions.generic.backward_step",
      "recursions.generic.sequence_conditional", "recursions.generic.categorical_chain")
def case_generic_categorical_peaked(s, rng):
    """The generic recursions on the categorical backend, A = I and a random A, each log-likelihood
    shifted by its own multiple of ``log s`` (-2..2 for t < T, and at T what levels each state's sum), so
    probabilities fall far below the floats and come back. Against the sum over all K**T paths in logs (``oracle_hmm``); the six
    operations once each against the recursions' own steps and the same oracle. Kept as probability
    vectors, A = I with log-likelihoods (750, -750), (-750, 750) gave log evidence -log 2 (exact 0)."""
    from oracle_hmm import enumerate_hmm

    from pedagogy_lib.recursions import generic as G
    K, T = 3, 5
    c = np.log(s)
    for A in (np.eye(K), rng.dirichlet(np.ones(K), size=K).T):
        pi = rng.dirichlet(np.ones(K))
        D = rng.integers(-2, 3, size=(T, K))
        D[-1] = -D[:-1].sum(axis=0)                  # the last step levels the states again
        ll = rng.normal(size=(T, K)) + D * c
        ref = enumerate_hmm(pi, A, ll)
        chain = quiet(G.categorical_chain, pi, A, ll)
        f = quiet(G.forward_filter, G.CATEGORICAL, chain)
        close(f.log_evidence, ref["log_evidence"], rtol=1e-12, atol=1e-9, what="generic log evidence")
        close(f.log_normalizers, ref["log_c"], rtol=1e-12, atol=1e-9, what="generic log normalizers")
        close(np.array(f.filtered), ref["filtered"], rtol=1e-9, atol=1e-13, what="generic filter")
        close(np.array(f.predicted), ref["predicted"], rtol=1e-9, atol=1e-13, what="generic prediction")
        close(quiet(G.data_marginals, G.CATEGORICAL, f.predicted, chain.emissions), ref["log_c"], rtol=1e-12,
              atol=1e-9, what="generic data marginals")
        sm = quiet(G.backward_smoother, G.CATEGORICAL, f.filtered, chain.transitions)
        close(np.array(sm.smoothed), ref["gamma"], rtol=1e-9, atol=1e-13, what="generic smoother")
        close(np.array(sm.pairwise), ref["xi"], rtol=1e-9, atol=1e-13, what="generic pairwise")
        factors = quiet(G.sequence_posterior, G.CATEGORICAL, sm.smoothed, sm.backward)
        t = int(rng.integers(1, T))
        ok = ref["gamma"][t - 1] > 1e-250                            # columns the oracle's floats resolve
        cond = ref["xi"][t - 1][:, ok] / ref["gamma"][t - 1][None, ok]   # p(x_t = j | x_{t-1} = i, y), [j, i]
        close(np.asarray(factors[t])[:, ok], cond, rtol=1e-9, atol=1e-13, what="sequence conditional")
        close(quiet(G.time_update, G.CATEGORICAL, f.filtered[t - 1], A), ref["predicted"][t], rtol=1e-9, atol=1e-13,
              what="time update")
        upd = quiet(G.measurement_update, G.CATEGORICAL, f.predicted[t], chain.emissions[t])
        close(upd.posterior, ref["filtered"][t], rtol=1e-9, atol=1e-13, what="measurement update")
        close(quiet(G.data_marginal, G.CATEGORICAL, f.predicted[t], chain.emissions[t]), ref["log_c"][t],
              rtol=1e-12, atol=1e-9, what="data marginal")
        back = quiet(G.future_conditioning, G.CATEGORICAL, f.filtered[t - 1], A)
        step = quiet(G.backward_step, G.CATEGORICAL, sm.smoothed[t], back)
        close(step.marginal, ref["gamma"][t - 1], rtol=1e-9, atol=1e-13, what="backward step")
        close(quiet(G.sequence_conditional, G.CATEGORICAL, sm.smoothed[t], back)[:, ok], cond, rtol=1e-9,
              atol=1e-13, what="sequence conditional, one step")


def _linear_gaussian(rng, K=2, L=3):
    A0 = rng.normal(size=(K, K))
    Sx = A0 @ A0.T + K * np.eye(K)
    B0 = rng.normal(size=(L, L))
    Syx = B0 @ B0.T + L * np.eye(L)
    return rng.normal(size=K), Sx, rng.normal(size=(L, K)), rng.normal(size=L), Syx, rng.normal(size=L)


@case("recursions.generic.gaussian_chain", "hmm.inference.gaussian_log_lik")
def case_gaussian_chain(s, rng):
    """Locations times a = sqrt(s), covariances times s: means times a, covariances times s, log
    evidence - T m log a."""
    from pedagogy_lib.hmm import gaussian_log_lik
    from pedagogy_lib.recursions import generic as G
    a = np.sqrt(s)
    K, m, T = 2, 3, 6
    mu1, S1, C, c, Syx, _ = _linear_gaussian(rng, K, m)
    A = 0.5 * np.eye(K)
    y = rng.normal(size=(T, m))
    r1 = G.forward_filter(G.GAUSSIAN, G.gaussian_chain(mu1, S1, A, S1, C, c, Syx, y))
    r = quiet(G.forward_filter, G.GAUSSIAN, G.gaussian_chain(mu1 * a, S1 * s, A, S1 * s, C, c * a, Syx * s, y * a))
    close(r.log_evidence, r1.log_evidence - T * m * np.log(a), rtol=1e-10, atol=1e-8, what="log evidence")
    close(r.filtered[-1].mu, r1.filtered[-1].mu * a, rtol=1e-9, atol=1e-12 * a, what="last filter mean")
    close(r.filtered[-1].Sigma, r1.filtered[-1].Sigma * s, rtol=1e-9, atol=1e-12 * s, what="last filter covariance")
    mu, Sig = rng.normal(size=(2, m)), np.stack([Syx, 2 * Syx])
    close(quiet(gaussian_log_lik, mu * a, Sig * s, y * a), gaussian_log_lik(mu, Sig, y) - m * np.log(a), rtol=1e-10,
          atol=1e-8, what="Gaussian emission log likelihoods")


# ================================================================================ gaussian, learning, em
@case("gaussian.blocks.mvn_logpdf", "gaussian.blocks.condition", "gaussian.blocks.bayes_invert",
      "gaussian.blocks.joint", "gaussian.blocks.marginalize", "gaussian.blocks.sample_mvn",
      "em.engine.gaussian_elbo")
def case_gaussian_blocks(s, rng):
    from pedagogy_lib import gaussian as gs
    from pedagogy_lib.em import gaussian_elbo
    a = np.sqrt(s)
    mu_x, Sx, C, c, Syx, y = _linear_gaussian(rng)
    L = C.shape[0]
    close(quiet(gs.mvn_logpdf, y * a, c * a, Syx * s), gs.mvn_logpdf(y, c, Syx) - L * np.log(a), rtol=1e-10, atol=1e-9,
          what="mvn_logpdf")
    g1, g = gs.condition(c, Syx, [0], [y[0]]), quiet(gs.condition, c * a, Syx * s, [0], [y[0] * a])
    close(g.mu, g1.mu * a, rtol=1e-9, atol=1e-12 * a, what="condition mean")
    close(g.Sigma, g1.Sigma * s, rtol=1e-9, atol=1e-12 * s, what="condition covariance")
    for form in ("information", "covariance"):
        p1 = gs.bayes_invert(mu_x, Sx, C, c, Syx, y, form=form)
        p = quiet(gs.bayes_invert, mu_x * a, Sx * s, C, c * a, Syx * s, y * a, form=form)
        close(p.mu, p1.mu * a, rtol=1e-9, atol=1e-12 * a, what=f"posterior mean ({form})")
        close(p.Sigma, p1.Sigma * s, rtol=1e-9, atol=1e-12 * s, what=f"posterior covariance ({form})")
        close(p.log_evidence, p1.log_evidence - L * np.log(a), rtol=1e-10, atol=1e-9, what=f"log evidence ({form})")
    j1, j = gs.joint(mu_x, Sx, C, c, Syx), quiet(gs.joint, mu_x * a, Sx * s, C, c * a, Syx * s)
    close(j.Sigma, j1.Sigma * s, rtol=1e-9, atol=1e-12 * s, what="joint covariance")
    m1, m = gs.marginalize(mu_x, Sx, C, c, Syx), quiet(gs.marginalize, mu_x * a, Sx * s, C, c * a, Syx * s)
    close(m.mu, m1.mu * a, rtol=1e-9, atol=1e-12 * a, what="marginal mean")
    close(quiet(gs.sample_mvn, np.random.default_rng(1), mu_x * a, Sx * s, 4),
          gs.sample_mvn(np.random.default_rng(1), mu_x, Sx, 4) * a, rtol=1e-9, atol=1e-12 * a, what="draws")
    m_q, S_q = rng.normal(size=2), Sx / 3
    close(quiet(gaussian_elbo, mu_x * a, Sx * s, C, c * a, Syx * s, y * a, m_q * a, S_q * s),
          gaussian_elbo(mu_x, Sx, C, c, Syx, y, m_q, S_q) - L * np.log(a), rtol=1e-10, atol=1e-9, what="Gaussian ELBO")


@case("learning.objectives.gaussian_entropy", "learning.objectives.gaussian_cross_entropy",
      "learning.objectives.gaussian_relative_entropy", "vi.mean_field.kl_gaussian",
      "learning.objectives.sample_cross_entropy", "learning.objectives.sample_relative_entropy")
def case_entropies(s, rng):
    from pedagogy_lib.learning import objectives as ob
    from pedagogy_lib.vi.mean_field import kl_gaussian
    a, D = np.sqrt(s), 3
    mu_p, Sp, _, mu_q, Sq, _ = _linear_gaussian(rng, D, D)
    shift = D * np.log(a)
    close(quiet(ob.gaussian_entropy, mu_p * a, Sp * s), ob.gaussian_entropy(mu_p, Sp) + shift, rtol=1e-10, atol=1e-9,
          what="entropy")
    close(quiet(ob.gaussian_cross_entropy, mu_p * a, Sp * s, mu_q * a, Sq * s),
          ob.gaussian_cross_entropy(mu_p, Sp, mu_q, Sq) + shift, rtol=1e-10, atol=1e-9, what="cross entropy")
    close(quiet(ob.gaussian_relative_entropy, mu_p * a, Sp * s, mu_q * a, Sq * s),
          ob.gaussian_relative_entropy(mu_p, Sp, mu_q, Sq), rtol=1e-9, atol=1e-12, what="relative entropy")
    close(quiet(kl_gaussian, mu_p * a, Sp * s, mu_q * a, Sq * s), kl_gaussian(mu_p, Sp, mu_q, Sq), rtol=1e-9,
          atol=1e-12, what="kl_gaussian")
    c = np.log(s)
    lq, lp = rng.normal(size=20), rng.normal(size=20)
    close(quiet(ob.sample_cross_entropy, lq + c).value, ob.sample_cross_entropy(lq).value - c, rtol=1e-12, atol=1e-11,
          what="sample cross entropy")
    close(quiet(ob.sample_relative_entropy, lp + c, lq + c).value, ob.sample_relative_entropy(lp, lq).value,
          atol=1e-11, what="sample relative entropy")


@case("learning.regression.bayesian_linear_regression", "learning.regression.generalized_least_squares")
def case_regression(s, rng):
    from pedagogy_lib.learning import regression as rg
    a = np.sqrt(s)
    X, y = rng.normal(size=(8, 2)), rng.normal(size=8)
    p1 = rg.bayesian_linear_regression(X, y, np.eye(2), 0.5)
    p = quiet(rg.bayesian_linear_regression, X, y * a, np.eye(2) / s, 0.5 * s)
    close(p.mu, p1.mu * a, rtol=1e-9, atol=1e-12 * a, what="posterior mean")
    close(p.Sigma, p1.Sigma * s, rtol=1e-9, atol=1e-12 * s, what="posterior covariance")
    B0 = rng.normal(size=(8, 8))
    U = B0 @ B0.T + 8 * np.eye(8)
    close(quiet(rg.generalized_least_squares, X, y, U * s), rg.generalized_least_squares(X, y, U), rtol=1e-9,
          atol=1e-12, what="GLS weights")


# ================================================================================ mixture, nn
@case("mixture.model.gmm_log_marginal", "mixture.model.gmm_posterior", "mixture.model.linear_boundary",
      "mixture.model.quadratic_boundary", "mixture.model.whiten", "mixture.model.gmm_params")
def case_mixture(s, rng):
    from pedagogy_lib import mixture as mx
    a, D = np.sqrt(s), 2
    Sig = np.stack([np.eye(D) * 0.5, np.array([[1.0, 0.3], [0.3, 0.8]])])
    mu, y, pi = rng.normal(size=(2, D)), rng.normal(size=(5, D)), np.array([0.3, 0.7])
    p1, p = mx.gmm_params(pi, mu, Sig), quiet(mx.gmm_params, pi, mu * a, Sig * s)
    close(quiet(mx.gmm_log_marginal, p, y * a), mx.gmm_log_marginal(p1, y) - D * np.log(a), rtol=1e-10, atol=1e-9,
          what="GMM log marginal")
    close(quiet(mx.gmm_posterior, p, y * a), mx.gmm_posterior(p1, y), rtol=1e-9, atol=1e-12, what="GMM posterior")
    lb1, lb = mx.linear_boundary(mu[0], mu[1], Sig[1], 0.3, 0.7), quiet(mx.linear_boundary, mu[0] * a, mu[1] * a,
                                                                       Sig[1] * s, 0.3, 0.7)
    close(lb.w, lb1.w / a, rtol=1e-9, atol=1e-12 / a, what="linear boundary w")
    close(lb.b, lb1.b, rtol=1e-9, atol=1e-12, what="linear boundary b")
    qb1 = mx.quadratic_boundary(mu[0], mu[1], Sig[0], Sig[1], 0.3, 0.7)
    qb = quiet(mx.quadratic_boundary, mu[0] * a, mu[1] * a, Sig[0] * s, Sig[1] * s, 0.3, 0.7)
    close(qb.Q, qb1.Q / s, rtol=1e-9, atol=1e-12 / s, what="quadratic boundary Q")
    close(qb.w, qb1.w / a, rtol=1e-9, atol=1e-12 / a, what="quadratic boundary w")
    close(qb.b, qb1.b, rtol=1e-9, atol=1e-9, what="quadratic boundary b")
    close(quiet(mx.whiten, y * a, Sig[1] * s), mx.whiten(y, Sig[1]), rtol=1e-9, atol=1e-12, what="whitened points")


@case("nn.losses.gaussian_nll")
def case_gaussian_nll(s, rng):
    from pedagogy_lib.nn.losses import gaussian_nll
    a = np.sqrt(s)
    mu, lv, X = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    r1, r = gaussian_nll(mu, lv, X), quiet(gaussian_nll, mu * a, lv + np.log(s), X * a)
    close(r.value, r1.value + 3 * np.log(a), rtol=1e-10, atol=1e-9, what="Gaussian NLL")
    close(r.grad_mu, r1.grad_mu / a, rtol=1e-9, atol=1e-12 / a, what="its gradient in mu")


def _gaussian_nll_mp(r, log_var):
    import mpmath as mp
    with mp.workdps(60):
        R, v = [mp.mpf(float(x)) for x in r.ravel()], [mp.exp(mp.mpf(float(x))) for x in log_var.ravel()]
        value = sum((mp.log(2 * mp.pi) + mp.log(vi) + ri**2 / vi) / 2 for ri, vi in zip(R, v)) / r.shape[0]
        return float(value), np.array([float(-ri / vi / r.shape[0]) for ri, vi in zip(R, v)]).reshape(r.shape)


@case("nn.losses.gaussian_nll", exponents=LINEAR_EXPONENTS)
def case_gaussian_nll_extremes(s, rng):
    """Residuals of size s (1e-300..1e300) over variances of size s^2, so that r^2 / v is of order one
    while exp(-log_var) alone overflows (log_var = -1381 with r = 1e-300 was refused as an overflow);
    value and gradient in mu against 60-digit arithmetic."""
    from pedagogy_lib.nn.losses import gaussian_nll
    r = s * rng.uniform(0.5, 2.0, size=(2, 3))
    lv = 2.0 * np.log(s) + rng.normal(size=(2, 3))
    out = quiet(gaussian_nll, np.zeros((2, 3)), lv, r)
    value, grad_mu = _gaussian_nll_mp(r, lv)
    close(out.value, value, rtol=1e-13, atol=1e-12, what=f"Gaussian NLL, residuals {s:.0e}")
    close(out.grad_mu, grad_mu, rtol=1e-13, what="its gradient in mu")


# ================================================================================ factor
def _fa_dense_mp(C, c, Lambda, y, dps=700):
    """log N(y; c, C C^T + diag Lambda) by a dense ``dps``-digit solve, and the posterior mean and covariance
    of the factors by the dense precision I + C^T Lambda^-1 C; float64 inputs taken exactly."""
    import mpmath as mp
    with mp.workdps(dps):
        Cm = mp.matrix(C.tolist())
        S = Cm * Cm.T
        for i, lam in enumerate(Lambda):
            S[i, i] += mp.mpf(float(lam))
        r = mp.matrix((np.asarray(y) - c).tolist())
        ll = -(r.T * mp.lu_solve(S, r))[0] / 2 - mp.log(mp.det(S)) / 2 - len(Lambda) * mp.log(2 * mp.pi) / 2
        Linv = mp.diag([1 / mp.mpf(float(v)) for v in Lambda])
        Sig = (mp.eye(C.shape[1]) + Cm.T * Linv * Cm) ** -1
        mu = Sig * Cm.T * Linv * r
        return float(ll), np.array(Sig.tolist(), dtype=float), np.array(mu.tolist(), dtype=float).ravel()


@case("factor.model.fa_log_likelihood", "factor.model.fa_posterior", exponents=LINEAR_EXPONENTS)
def case_factor_unique_variances(s, rng):
    """One unique variance Lambda_1 = s, 1e-300..1e300 (below 1e-16 the Heywood regime, where the
    determinant-lemma route gave -4.022 for -6.6265, or a LinAlgError), against a dense 700-digit solve of
    C C^T + diag(Lambda); and the whole model scaled (C by sqrt(s), Lambda by s)."""
    from pedagogy_lib.factor import model as fa
    C, c, y = rng.normal(size=(4, 2)), rng.normal(size=4), rng.normal(size=(2, 4))
    Lam = np.array([s, 1.0, 0.5, 2.0])
    got = quiet(fa.fa_log_likelihood, fa.FAParams(C, c, Lam), y)
    post = quiet(fa.fa_posterior, fa.FAParams(C, c, Lam), y[0])
    ll0, Sig, mu = _fa_dense_mp(C, c, Lam, y[0])
    ll1 = _fa_dense_mp(C, c, Lam, y[1])[0]
    close(got, [ll0, ll1], rtol=1e-13, atol=1e-12, what=f"FA log likelihood, Lambda_1 = {s:.0e}")
    close(post.Sigma, Sig, atol=1e-14 * np.abs(Sig).max(), what="posterior covariance")
    close(post.mu, mu, atol=1e-14 * np.abs(mu).max(), what="posterior mean")
    a, base = np.sqrt(s), fa.FAParams(C, c, np.array([1e-12, 1.0, 0.5, 2.0]))
    close(quiet(fa.fa_log_likelihood, fa.FAParams(C * a, c * a, base.Lambda * s), y * a),
          fa.fa_log_likelihood(base, y) - 4 * np.log(a), rtol=1e-12, atol=1e-9, what="FA log likelihood, all scaled")


@case("factor.em.fit_fa", "factor.em.fit_ppca")
def case_factor_em_units(s, rng):
    """Data in units s: the fits are equivariant (C -> s C, Lambda -> s^2 Lambda, log lik -> log lik - N L log s)
    and their stopping rule is applied to the standardized data, so they stop at the same iteration as at
    s = 1 (they did not: the tolerance was relative to a log likelihood that shifts by N L log s)."""
    from pedagogy_lib.factor import em as fe
    y = rng.normal(size=(60, 1)) @ rng.normal(size=(1, 4)) + rng.normal(size=(60, 4)) * [0.5, 1.0, 0.7, 0.8]
    N, L = y.shape
    for fit in (fe.fit_fa, fe.fit_ppca):
        r1 = fit(y, 1, rng=np.random.default_rng(1), tol=1e-7, max_iter=5000)
        r = quiet(fit, y * s, 1, rng=np.random.default_rng(1), tol=1e-7, max_iter=5000)
        assert r.n_iter == r1.n_iter, f"{fit.__name__} at units {s:.0e}: {r.n_iter} iterations, {r1.n_iter} at 1"
        close(r.params.C, r1.params.C * s, rtol=1e-8, atol=1e-10 * np.abs(r1.params.C).max() * s,
              what=f"{fit.__name__} loadings")
        close(r.params.Lambda, r1.params.Lambda * s * s, rtol=1e-8, what=f"{fit.__name__} unique variances")
        close(r.log_lik, r1.log_lik - N * L * np.log(s), rtol=1e-12, atol=1e-8, what=f"{fit.__name__} log likelihood")


@case("factor.em.fit_iterative_pca")
def case_iterative_pca_units(s, rng):
    """Data in units s: iterative PCA is equivariant (C -> s C, its objective, minus half the squared
    reconstruction error, -> s^2 times it) and stops by the standardized data, so at the same iteration as at
    s = 1 (at 1e-150 it stopped after one: the rule's floor of 1 dwarfed an objective of order 1e-299)."""
    from pedagogy_lib.factor import em as fe
    y = rng.normal(size=(60, 2)) @ rng.normal(size=(2, 5)) + rng.normal(size=(60, 5)) * 0.3
    r1 = fe.fit_iterative_pca(y, 2, rng=np.random.default_rng(1), tol=1e-10, max_iter=5000)
    r = quiet(fe.fit_iterative_pca, y * s, 2, rng=np.random.default_rng(1), tol=1e-10, max_iter=5000)
    assert r.n_iter == r1.n_iter, f"iterative PCA at units {s:.0e}: {r.n_iter} iterations, {r1.n_iter} at 1"
    close(r.params.C, r1.params.C * s, rtol=1e-8, atol=1e-10 * np.abs(r1.params.C).max() * s, what="iterative PCA C")
    close(r.log_lik / s**2, r1.log_lik, rtol=1e-12, what="iterative PCA objective")


# ================================================================================ vi, deepgen
def _log_evidence_mp(C, c, s2, Y):
    """log N(y; c, C C^T + s2 I) in 400-digit arithmetic."""
    import mpmath as mp
    with mp.workdps(400):                        # sigma2 = 1e-150 against entries of order 1
        L = C.shape[0]
        S = mp.matrix(C.tolist()) * mp.matrix(C.tolist()).T + mp.mpf(s2) * mp.eye(L)
        Si, ld = mp.inverse(S), mp.log(mp.det(S))
        out = []
        for y in Y:
            r = mp.matrix((y - c).tolist())
            out.append(float(-(r.T * Si * r)[0] / 2 - ld / 2 - L * mp.log(2 * mp.pi) / 2))
    return np.array(out)


@case("vi.amortized.log_evidence", "vi.amortized.linear_gaussian_model")
def case_log_evidence(s, rng):
    """sigma2 = s with C and Y fixed (C C^T + sigma2 I is nearly singular for small sigma2: the Cholesky
    factor is rounding there), against 400-digit arithmetic; and everything scaled together."""
    from pedagogy_lib.vi import amortized as am
    for L, K in ((3, 2), (2, 3)):                    # a complement of the column space of C, or none
        C, c, Y = rng.normal(size=(L, K)), rng.normal(size=L), rng.normal(size=(2, L))
        got = quiet(am.log_evidence, am.linear_gaussian_model(C, c, s), Y)
        close(got, _log_evidence_mp(C, c, s, Y), rtol=1e-9, atol=1e-9, what=f"log evidence, C {L} x {K}, sigma2 = "
                                                                              f"{s:.0e}")
    C, c, Y = rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=(2, 3))
    a = np.sqrt(s)
    m1 = am.linear_gaussian_model(C, c, 0.3)
    close(quiet(am.log_evidence, am.linear_gaussian_model(C * a, c * a, 0.3 * s), Y * a),
          am.log_evidence(m1, Y) - 3 * np.log(a), rtol=1e-10, atol=1e-9, what="log evidence, all scaled")


@case("vi.mean_field.mean_field_gaussian", "vi.mean_field.moment_matched_gaussian", "vi.mean_field.cavi_gaussian")
def case_mean_field(s, rng):
    from pedagogy_lib.vi import mean_field as mf
    a = np.sqrt(s)
    mu, Sig, *_ = _linear_gaussian(rng, 2, 2)
    Lam = np.linalg.inv(Sig)
    q1, q = mf.mean_field_gaussian(mu, Lam), quiet(mf.mean_field_gaussian, mu * a, Lam / s)
    close(q.m, q1.m * a, rtol=1e-12, what="mean-field means")
    close(q.v, q1.v * s, rtol=1e-12, what="mean-field variances")
    q1, q = mf.moment_matched_gaussian(mu, Sig), quiet(mf.moment_matched_gaussian, mu * a, Sig * s)
    close(q.v, q1.v * s, rtol=1e-12, what="moment-matched variances")
    m0 = rng.normal(size=2)
    close(quiet(mf.cavi_gaussian, mu * a, Lam / s, m0 * a, 3), mf.cavi_gaussian(mu, Lam, m0, 3) * a, rtol=1e-9,
          atol=1e-12 * a, what="CAVI path")


def _kl_mp(nu, log_v2):
    import mpmath as mp
    with mp.workdps(40):
        return np.array([float(sum(mp.mpf(-lv) - 1 + mp.exp(mp.mpf(lv)) + mp.mpf(n) ** 2 for n, lv in zip(nr, lr)) / 2)
                         for nr, lr in zip(nu, log_v2)])


@case("deepgen.vae.reparameterize", "deepgen.vae.gaussian_kl")
def case_vae_gaussians(s, rng):
    """Means times a, variances times a^2 (log_v2 + log s): the sample times a; the KL against 40-digit
    arithmetic at every variance from 1e-150 to 1e150."""
    import mpmath as mp

    from pedagogy_lib.deepgen.vae import gaussian_kl, reparameterize
    a = np.sqrt(s)
    nu, lv, Z = rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    close(quiet(reparameterize, nu * a, lv + np.log(s), Z), reparameterize(nu, lv, Z) * a, rtol=1e-12,
          what="reparameterized sample")
    close(quiet(gaussian_kl, nu, lv + np.log(s)), _kl_mp(nu, lv + np.log(s)), rtol=1e-12, what="Gaussian KL")
    # and a posterior close to the prior: means and log variances times t = min(s, 1e-3), the KL about
    # t^2 (|nu|^2 + |lv|^2 / 2) / 2 (as exp(lv) - 1 - lv it cancelled: 0 in place of 2.5e-21 at lv = 1e-10)
    t = min(s, 1e-3)
    with mp.workdps(60):
        near = [float(sum(mp.mpf(n) ** 2 + mp.nsum(lambda k, x=mp.mpf(v): x**k / mp.factorial(k), [2, mp.inf])
                          for n, v in zip(nr, lr)) / 2) for nr, lr in zip(nu * t, lv * t)]
    close(quiet(gaussian_kl, nu * t, lv * t), near, rtol=1e-12, what=f"Gaussian KL near the prior (t = {t:.1e})")


@case("deepgen.gaussian_gradients.pathwise_gradients", "deepgen.gaussian_gradients.hessian_route_gradients")
def case_gaussian_gradients(s, rng):
    """Upsilon from 1e-150 to 1e150 for E(x) = |x|^2 / 2 (gradient x, Hessian I), against the closed form
    with the same draws: d nu = mean(nu + L z) + nu, d Upsilon = (I - Upsilon^-1 + I) / 2; the pathwise
    route's gradient in nu is the same number."""
    from pedagogy_lib.deepgen import gaussian_gradients as gg
    nu, Z = rng.normal(size=2), rng.normal(size=(5, 2))
    B = rng.normal(size=(2, 2))
    U = (B @ B.T + np.eye(2)) * s
    L = np.linalg.cholesky(U)
    hr = quiet(gg.hessian_route_gradients, nu, U, Z, lambda x: x, lambda x: np.eye(2))
    close(hr.d_nu, (nu + Z @ L.T).mean(axis=0) + nu, rtol=1e-9, atol=1e-12 * (1 + np.sqrt(s)), what="d nu")
    close(hr.d_Upsilon, 0.5 * (2 * np.eye(2) - np.linalg.inv(U)), rtol=1e-9, atol=1e-12 * (1 + 1 / s),
          what="d Upsilon")
    pw = quiet(gg.pathwise_gradients, nu, U, Z, lambda x: x)
    close(pw.d_nu, hr.d_nu, rtol=1e-12, atol=1e-15 * (1 + np.sqrt(s)), what="pathwise d nu")
    assert np.all(np.isfinite(pw.d_L)) and np.all(np.isfinite(pw.d_Upsilon)), "pathwise d L / d Upsilon not finite"


# ================================================================================ diffusion
def _ddpm_snr_mp(betas):
    import mpmath as mp
    with mp.workdps(400):                            # 1 - beta for beta = 1e-150 needs 170 digits
        out, abar = [], mp.mpf(1)
        for b in betas:
            abar *= 1 - mp.mpf(b)
            out.append(float(abar / (1 - abar)))
    return np.array(out)


@case("diffusion.schedules.ddpm_schedule")
def case_ddpm_schedule(s, rng):
    """DDPM variances from 1e-150 to 1e-1 (s below 1 only: they are variances in (0, 1)); the SNRs against
    400-digit arithmetic. Where the SNR of level 1 leaves [1e-300, 1e300] the refusal must name betas."""
    from pedagogy_lib.diffusion import ddpm_schedule
    if s >= 1.0:
        s = 1.0 / (2.0 + s ** 0.001)                      # the upper half of the sweep: betas near 1/3..1/2
    betas = s * np.linspace(1.0, 2.0, 8)
    betas = np.minimum(betas, 0.9)
    exact = _ddpm_snr_mp(betas)
    if exact[0] * 10 > 1e300:
        with pytest.raises(ValueError, match=r"betas") as err:
            quiet(ddpm_schedule, betas)
        assert "lam_max" not in str(err.value).split("pass lam_max")[0], str(err.value)
        return
    sched = quiet(ddpm_schedule, betas)
    close(sched.snr[1:], exact, rtol=1e-12, what="SNRs")
    close(sched.snr[0], 10 * exact[0], rtol=1e-12, what="SNR of level 0 (the default lam_max)")


@case("diffusion.losses.eq_8_40_weights", "diffusion.sampling.noised_mixture")
def case_diffusion_variances(s, rng):
    """Eq. 8.40's weights are linear in 1 / sigma2; a noised mixture's covariances are a^2 Sigma + var I."""
    from pedagogy_lib import diffusion as dif
    from pedagogy_lib.mixture import gmm_params
    sched = dif.make_schedule(6)
    sig2 = rng.uniform(0.5, 2.0, 6)
    close(quiet(dif.eq_8_40_weights, sched, sig2 * s), dif.eq_8_40_weights(sched, sig2) / s, rtol=1e-12,
          what="Eq. 8.40 weights")
    gmm = gmm_params(np.array([0.4, 0.6]), rng.normal(size=(2, 2)), np.stack([np.eye(2), 2 * np.eye(2)]))
    out = quiet(dif.noised_mixture, gmm, np.sqrt(s), 0.5 * s)
    close(out.Sigma, np.stack([np.eye(2), 2 * np.eye(2)]) * s + 0.5 * s * np.eye(2), rtol=1e-12, what="covariances")


def _snr_curve_mp(u, family, lam_min, lam_max):
    import mpmath as mp
    with mp.workdps(700):
        lo, hi = mp.mpf(lam_min), mp.mpf(lam_max)
        if family == "log_snr":
            return np.array([float(mp.exp(mp.log(hi) + mp.mpf(float(x)) * (mp.log(lo) - mp.log(hi)))) for x in u])
        a, b = mp.atan(1 / mp.sqrt(hi)), mp.atan(1 / mp.sqrt(lo))
        return np.array([float(mp.cot(a + mp.mpf(float(x)) * (b - a)) ** 2) for x in u])


@case("diffusion.schedules.make_schedule", "diffusion.schedules.snr_curve", exponents=LINEAR_EXPONENTS)
def case_snr_schedules(s, rng):
    """SNR end points from 1e-300 to 1e300 (lam_min = s or lam_max = s): h(0) = lam_max and h(1) = lam_min
    exactly and the curve against 700 digits (the cosine curve stuck at cot(pi/2)^2 = 3.75e-33, and the
    log-SNR one said "lam must be finite; got nan" at 1e-300..1e300)."""
    from pedagogy_lib import diffusion as dif
    pairs = [p for p in ((s, 1e300), (1e-300, s), (s, min(s * 1e8, 1e300)), (max(s * 1e-8, 1e-300), s)) if p[0] < p[1]]
    u = np.arange(9) / 8
    for lo, hi in pairs:
        for family in ("log_snr", "cosine"):
            h, _ = quiet(dif.snr_curve, u, family, lo, hi)
            assert h[0] == hi and h[-1] == lo, f"{family} [{lo:.0e}, {hi:.0e}]: ends {h[0]:.17g}, {h[-1]:.17g}"
            close(h, _snr_curve_mp(u, family, lo, hi), rtol=1e-13, what=f"{family} SNR on [{lo:.0e}, {hi:.0e}]")
            lam = quiet(dif.make_schedule, 8, family, lam_min=lo, lam_max=hi).snr
            close(lam[[0, -1]], [hi, lo], rtol=4 * np.finfo(float).eps, what=f"{family} schedule end points")


# ================================================================================ contrastive
@case("contrastive.cpc.subspace_cosine", exponents=LINEAR_EXPONENTS)
def case_subspace_cosine(s, rng):
    from pedagogy_lib.contrastive.cpc import subspace_cosine
    u, v = rng.normal(size=5), rng.normal(size=5)
    exact = abs(u @ v) / np.sqrt((u @ u) * (v @ v))
    close(quiet(subspace_cosine, u * s, v), exact, rtol=1e-12, what="cosine of vectors")
    U, V = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    close(quiet(subspace_cosine, U * s, V / s), subspace_cosine(U, V), rtol=1e-12, what="cosine of subspaces")


@case("contrastive.nce.gaussian_energy_params", "contrastive.nce.gaussian_noise_energy",
      "contrastive.cpc.stationary_params")
def case_contrastive_gaussians(s, rng):
    from pedagogy_lib.contrastive import cpc, nce
    a = np.sqrt(s)
    p1, p = nce.gaussian_energy_params(0.3, 2.0), quiet(nce.gaussian_energy_params, 0.3 * a, 2.0 * s)
    close(p, p1 * np.array([1 / s, 1 / a, 1.0]) + np.array([0.0, 0.0, np.log(a)]), rtol=1e-10, atol=1e-9,
          what="energy parameters (a, m, c)")
    y = rng.normal(size=5)
    close(quiet(nce.gaussian_noise_energy, y * a, 0.3 * a, 2.0 * s), nce.gaussian_noise_energy(y, 0.3, 2.0) + np.log(a),
          rtol=1e-10, atol=1e-9, what="noise energy")
    A, C = np.array([[0.7]]), np.array([[1.0]])
    q1 = cpc.stationary_params(A, [[0.5]], C, [[0.2]])
    if s * q1.Sigma1.max() > 1e75:                   # the LGSSM family's range (its recursions multiply three)
        with pytest.raises(ValueError, match=r"^Sigma_x") as err:
            quiet(cpc.stationary_params, A, [[0.5 * s]], C, [[0.2 * s]])
        assert "1e+75" in str(err.value), str(err.value)
        return
    q = quiet(cpc.stationary_params, A, [[0.5 * s]], C, [[0.2 * s]])
    close(q.Sigma1, q1.Sigma1 * s, rtol=1e-12, what="stationary covariance")


# ================================================================================ assimilation
def _kalman_update(y, m, v, R):
    S = v + R
    return m + v / S * (y - m), v * R / S, -0.5 * (np.log(2 * np.pi * S) + (y - m) ** 2 / S)


@case("assimilation.adf.assumed_density_filter")
def case_assumed_density_filter(s, rng):
    """(1) The whole model scaled (variances times s, y times sqrt(s)): the Kalman filter's answers at
    every scale. (2) Observation noise Sigma_y_x = s relative to a prior variance of 1 (the issue's
    1e-4 and 1e-6 among them): the Kalman update's answer with no warning while the posterior is wider
    than double precision resolves around its mean (s >= 1e-12), and outside that a RuntimeWarning,
    never a silent wrong answer."""
    from pedagogy_lib.assimilation import assumed_density_filter
    a = np.sqrt(s)
    y = rng.normal(size=3) * 1.5
    res = quiet(assumed_density_filter, lambda x, t: 0.8 * x, lambda x: x, 0.3 * s, 0.5 * s, y * a, 0.0, 2.0 * s)
    m, v = 0.0, 2.0
    for t in range(3):
        if t:
            m, v = 0.8 * m, 0.64 * v + 0.3
        m, v, lp = _kalman_update(y[t], m, v, 0.5)
        close(res.mu_filt[t], m * a, rtol=1e-9, atol=1e-12 * a, what=f"filter mean, step {t}")
        close(res.Upsilon_filt[t], v * s, rtol=1e-9, what=f"filter variance, step {t}")
        close(res.log_p_y[t], lp - np.log(a), rtol=1e-9, atol=1e-9, what=f"log p(y), step {t}")
    R = s
    exact = _kalman_update(0.7, 0.0, 1.0, R)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = assumed_density_filter(lambda x, t: x, lambda x: x, 0.1, R, np.array([0.7]), 0.0, 1.0)
    warned = any(issubclass(w.category, RuntimeWarning) for w in caught)
    got = (r.mu_filt[0], r.Upsilon_filt[0], r.log_p_y[0])
    right = all(abs(g - e) <= 1e-8 * abs(e) + 1e-12 for g, e in zip(got, exact))
    assert right or warned, f"Sigma_y_x = {R:.0e}: silent wrong answer {got}, exact {exact}"
    if R >= 1e-12:
        assert right and not warned, f"Sigma_y_x = {R:.0e}: {got} (warned: {warned}), exact {exact}"


@case("assimilation.adf.gaussian_moments", "assimilation.adf.grid_filter")
def case_adf_grids(s, rng):
    from pedagogy_lib.assimilation import gaussian_moments, grid_filter
    a = np.sqrt(s)
    close(quiet(gaussian_moments, lambda x: 3.0 * x + 1.0 * a, 0.5 * a, 2.0 * s), [2.5 * a, 18.0 * s], rtol=1e-12,
          atol=1e-12 * a, what="moments of a linear map")
    g1 = grid_filter(lambda x, t: 0.8 * x, lambda x: x, 0.3, 0.5, [0.4, -0.2], 0.0, 2.0, lo=-10.0, hi=10.0, n_grid=201)
    g = quiet(grid_filter, lambda x, t: 0.8 * x, lambda x: x, 0.3 * s, 0.5 * s, np.array([0.4, -0.2]) * a, 0.0, 2.0 * s,
              lo=-10.0 * a, hi=10.0 * a, n_grid=201)
    close(g.mu_filt, g1.mu_filt * a, rtol=1e-9, atol=1e-12 * a, what="grid filter means")
    close(g.Upsilon_filt, g1.Upsilon_filt * s, rtol=1e-9, what="grid filter variances")
    close(g.log_p_y, g1.log_p_y - np.log(a), rtol=1e-9, atol=1e-9, what="grid filter log p(y)")


@case("assimilation.model.rmse", exponents=LINEAR_EXPONENTS)
def case_rmse(s, rng):
    from pedagogy_lib.assimilation import rmse
    e, x = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    close(quiet(rmse, e * s, x * s), np.sqrt(np.mean((e - x) ** 2, axis=1)) * s, rtol=1e-12, what="RMSE")


@case("assimilation.nonlinear_filters.sigma_points", "assimilation.ensemble.exact_ensemble")
def case_sigma_points(s, rng):
    from pedagogy_lib.assimilation import exact_ensemble, sigma_points
    a = np.sqrt(s)
    m, S, *_ = _linear_gaussian(rng, 2, 2)
    p1, p = sigma_points(m, S), quiet(sigma_points, m * a, S * s)
    close(p[0], p1[0] * a, rtol=1e-9, atol=1e-12 * a, what="sigma points")
    close(quiet(exact_ensemble, m * a, S * s, 5, rng=np.random.default_rng(3)),
          exact_ensemble(m, S, 5, rng=np.random.default_rng(3)) * a, rtol=1e-9, atol=1e-12 * a, what="ensemble")


def _kalman_mp(params, y, dps=400):
    """Log evidence of the filter recursions in ``dps``-digit arithmetic on the float64 inputs."""
    import mpmath as mp
    with mp.workdps(dps):
        M = lambda X: mp.matrix(np.atleast_2d(X).tolist())             # noqa: E731
        A, Sx, C, R = M(params.A), M(params.Sigma_x), M(params.C), M(params.Sigma_y_x)
        mu, P, ll = M(params.mu1[:, None]), M(params.Sigma1), mp.mpf(0)
        for t in range(y.shape[0]):
            if t:
                mu, P = A * mu, A * P * A.T + Sx
            S = C * P * C.T + R
            r = M(y[t][:, None]) - C * mu
            K = P * C.T * S ** -1
            ll += -(r.T * S ** -1 * r)[0] / 2 - mp.log(mp.det(S)) / 2 - y.shape[1] * mp.log(2 * mp.pi) / 2
            mu, P = mu + K * r, P - K * S * K.T
        return float(ll)


@case("lgssm.kalman.kalman_filter", "lgssm.kalman.kalman_smoother")
def case_kalman_observation_noise(s, rng):
    """n = 3 states seen through m = 5 observations with Sigma_y_x = s I, s from 1e-150 to 1e150: the log
    evidence against the recursions in 400 digits where float64 resolves the noise (form="auto" took the
    covariance form at 1e-12 and was off by 1e-6 relative), else a refusal naming Sigma_y_x; and the whole
    model scaled (variances by s, observations by sqrt(s)) shifts it by -m T log sqrt(s)."""
    from pedagogy_lib.lgssm import LGSSMParams, kalman_filter, kalman_smoother
    n, m, T = 3, 5, 5
    A = rng.normal(size=(n, n))
    A *= 0.9 / np.max(np.abs(np.linalg.eigvals(A)))
    C = rng.normal(size=(m, n))
    x, y = rng.normal(size=n), np.empty((T, m))
    for t in range(T):
        y[t] = C @ x + np.sqrt(s) * rng.normal(size=m)
        x = A @ x + rng.normal(size=n)
    I, z = np.eye(n), np.zeros(n)
    params = LGSSMParams(z, I, A, None, z, I, C, np.zeros(m), s * np.eye(m))
    try:
        got = quiet(kalman_filter, params, y)
    except ValueError as exc:
        assert "Sigma_y_x" in str(exc), f"noise {s:.0e}: refused without naming Sigma_y_x: {exc}"
        # below: the noise within 1e5 of the rounding of y; above: entries beyond lgssm's MAX_MAGNITUDE = 1e75
        assert s < 1e-16 or s > 1e75, f"noise {s:.0e}: refused inside the supported range: {exc}"
        return
    ll = _kalman_mp(params, y)
    # the innovations' m - n noise directions carry the rounding of y, eps max|y|, weighed by 1 / sqrt(s)
    rounding = np.finfo(float).eps * np.abs(y).max() / np.sqrt(s)
    close(got.log_evidence, ll, rtol=1e-10 + 1e-2 * rounding, atol=1e-9,
          what=f"log evidence, Sigma_y_x = {s:.0e} I ({got.form} form)")
    close(quiet(kalman_smoother, params, y).log_evidence, got.log_evidence, rtol=1e-12, what="smoother's evidence")
    if s > 1e75:
        return
    a, p1 = np.sqrt(s), params._replace(Sigma_y_x=0.3 * np.eye(m))
    y1 = y / max(a, 1.0)
    scaled = p1._replace(Sigma1=I * s, Sigma_x=I * s, C=C, Sigma_y_x=0.3 * s * np.eye(m))
    close(quiet(kalman_filter, scaled, y1 * a).log_evidence, kalman_filter(p1, y1).log_evidence - m * T * np.log(a),
          rtol=1e-10, atol=1e-8, what="log evidence, all scaled")


# ================================================================================ held-out sweep (issue 69)
# Probes written from the docstrings alone, then kept: each against mpmath, enumeration or a closed form.
def _mp_logsumexp(xs):
    import mpmath as mp
    xs = [mp.mpf(float(x)) for x in xs]
    top = max(xs)
    return top + mp.log(mp.fsum(mp.exp(x - top) for x in xs))


@case("discrete.markov_chain.stationary_distribution")
def case_stationary_rare_transitions(s, rng):
    """Two states left with probability ``eps = min(s, 0.1)`` and 0.3 (pi = (0.3, eps) / (0.3 + eps)), and two
    blocks joined only by ``eps`` both ways (pi = (1/2, 1/2)). By SVD the rare state's 3e-20 came out 0 and the
    joined blocks were refused as two closed classes; a state visited with probability 1e-150 has that."""
    from pedagogy_lib.discrete.markov_chain import stationary_distribution
    eps = min(s, 0.1) * rng.uniform(0.5, 1.0)
    P = np.array([[1.0 - eps, 0.3], [eps, 0.7]])
    close(quiet(stationary_distribution, P), np.array([0.3, eps]) / (0.3 + eps), rtol=1e-12, what="rare state")
    P = np.array([[1.0 - eps, 0.0, eps], [eps, 0.5, 0.0], [0.0, 0.5, 1.0 - eps]])
    # pi_0 eps = pi_1 / 2 (flow into 1), pi_1 / 2 = pi_2 eps (flow out of 1 into 2), and the flows balance
    exact = np.array([1.0, 2.0 * eps, 1.0]) / (2.0 + 2.0 * eps)
    close(quiet(stationary_distribution, P), exact, rtol=1e-12, what="blocks joined by eps")


@case("discrete.categorical.invert", "discrete.categorical.update_sequence", "discrete.categorical.marginal_y",
      "discrete.categorical.reverse_arrow")
def case_discrete_bayes(s, rng):
    """A prior of s against a likelihood row of s^2 (their product underflows below 1e-154), and a run of
    observations whose evidence is 0.5 (0.9^n + 0.1^n) for n up to 1505, against mpmath."""
    import mpmath as mp

    from pedagogy_lib.discrete import categorical as cat
    t = min(s, 0.25)
    pi = np.array([t, 1.0 - 2.0 * t, t])
    P = np.array([[t * t, 0.5, 0.25], [1.0 - t * t, 0.5, 0.75]])
    r = quiet(cat.invert, pi, P, 0)
    num = [mp.mpf(float(pi[k])) * mp.mpf(float(P[0, k])) for k in range(3)]
    Z = mp.fsum(num)
    close(r.posterior, [float(x / Z) for x in num], rtol=1e-12, what="posterior")
    close(r.log_evidence, float(mp.log(Z)), rtol=1e-13, what="log evidence")
    close(quiet(cat.marginal_y, pi, P), [float(Z), float(1 - Z)], rtol=1e-12, what="marginal of y")
    rev = quiet(cat.reverse_arrow, pi, P)
    close(rev.P_x_y[:, 0], [float(x / Z) for x in num], rtol=1e-12, what="reversed arrow, column y = 0")
    n = 5 + int(10 * abs(np.log10(s)))
    seq = quiet(cat.update_sequence, np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.1, 0.9]]), np.zeros(n, int))
    a, b = mp.mpf("0.9") ** n, mp.mpf("0.1") ** n
    close(seq.posteriors[-1], [float(a / (a + b)), float(b / (a + b))], rtol=1e-10, what=f"posterior after {n}")
    close(seq.log_evidence[-1], float(mp.log((a + b) / 2)), rtol=1e-12, what=f"log evidence of {n}")


@case("learning.objectives.entropy", "learning.objectives.cross_entropy", "learning.objectives.relative_entropy",
      "learning.objectives.relative_entropies")
def case_entropies_of_rare_outcomes(s, rng):
    """Two outcomes of probability ``t = min(s, 1/4)`` against a fixed q, both ways round, against mpmath."""
    import mpmath as mp

    from pedagogy_lib.learning import objectives as ob
    t = min(s, 0.25) * rng.uniform(0.5, 1.0)
    p, q = np.array([t, t, 1.0 - 2.0 * t]), np.array([0.2, 0.3, 0.5])
    P, Q = [mp.mpf(float(x)) for x in p], [mp.mpf(float(x)) for x in q]
    H = -mp.fsum(x * mp.log(x) for x in P)
    Hpq = -mp.fsum(x * mp.log(y) for x, y in zip(P, Q))
    close(quiet(ob.entropy, p), float(H), rtol=1e-12, what="entropy")
    close(quiet(ob.cross_entropy, p, q), float(Hpq), rtol=1e-12, what="cross entropy")
    close(quiet(ob.relative_entropy, p, q), float(mp.fsum(x * mp.log(x / y) for x, y in zip(P, Q))), rtol=1e-10,
          what="D(p||q)")
    close(quiet(ob.relative_entropy, q, p), float(mp.fsum(y * mp.log(y / x) for x, y in zip(P, Q))), rtol=1e-12,
          what="D(q||p)")
    both = quiet(ob.relative_entropies, p, q)
    close([both.D_pq, both.D_qp], [ob.relative_entropy(p, q), ob.relative_entropy(q, p)], rtol=1e-12,
          what="relative_entropies")


@case("core.logmath.logsumexp", "core.logmath.log_normalize", "core.logmath.softmax", "core.logmath.softplus",
      "core.logmath.sigmoid", "nn.losses.bernoulli_cross_entropy", "nn.losses.categorical_cross_entropy")
def case_logits_far_apart(s, rng):
    """Logits ``7 log10(s)`` (to +-1050), 800 below it, -inf and one above; against mpmath."""
    import mpmath as mp

    from pedagogy_lib.core import logmath as lm
    from pedagogy_lib.nn import losses
    e = np.log10(s)
    z = np.array([7.0 * e, 7.0 * e - 800.0, -np.inf, 7.0 * e + 1.0])
    lse = float(_mp_logsumexp(z[np.isfinite(z)]))
    close(quiet(lm.logsumexp, z), lse, rtol=1e-14, atol=1e-12, what="logsumexp")
    close(quiet(lm.log_normalize, z)[np.isfinite(z)], z[np.isfinite(z)] - lse, rtol=1e-14, atol=1e-12,
          what="log_normalize")
    close(quiet(lm.softmax, z), [float(mp.exp(mp.mpf(x) - mp.mpf(lse))) if np.isfinite(x) else 0.0 for x in z],
          rtol=1e-12, atol=1e-300, what="softmax")
    a = np.array([6.0 * e, -6.0 * e, 0.5])
    close(quiet(lm.softplus, a), [float(mp.log1p(mp.exp(mp.mpf(x)))) for x in a], rtol=1e-13, atol=1e-300,
          what="softplus")
    close(quiet(lm.sigmoid, a), [float(1 / (1 + mp.exp(-mp.mpf(x)))) for x in a], rtol=1e-13, atol=1e-300,
          what="sigmoid")
    eta, X = a[None, :], np.array([[0.0, 1.0, 1.0]])
    close(quiet(losses.bernoulli_cross_entropy, eta, X).value,
          float(mp.fsum(mp.log1p(mp.exp(mp.mpf(h))) - x * h for h, x in zip(eta[0], X[0]))), rtol=1e-12,
          what="Bernoulli cross entropy")
    close(quiet(losses.categorical_cross_entropy, eta, np.array([[0.0, 1.0, 0.0]])).value,
          float(_mp_logsumexp(eta[0])) - eta[0, 1], rtol=1e-12, what="categorical cross entropy")


@case("harmonium.exact.log_partition", "harmonium.exact.visible_log_probs", "harmonium.exact.hidden_log_probs",
      "harmonium.model.log_partition_units", "harmonium.model.mean_units", "harmonium.model.free_energy_visible")
def case_harmonium_strong_couplings(s, rng):
    """Couplings and biases of size ``g = 0.5 + |log10 s| / 10`` (energies to about 300 nats) in a 3 x 4 Bernoulli
    harmonium, both backends, against the 128 joint states summed in mpmath; unit log-partitions at +-6 log10 s."""
    import itertools

    import mpmath as mp

    from pedagogy_lib.harmonium import EFHParams, exact, model
    e = np.log10(s)
    g = 0.5 + abs(e) / 10.0
    K, M = 3, 4
    W, bx, by = rng.normal(size=(K, M)) * g, rng.normal(size=K) * g, rng.normal(size=M) * g
    p = EFHParams(W, bx, by, "bernoulli", "bernoulli")
    X = np.array(list(itertools.product([0, 1], repeat=K)))[:, ::-1]      # the library's order: unit 0 fastest
    Y = np.array(list(itertools.product([0, 1], repeat=M)))[:, ::-1]
    E = X @ W @ Y.T + (X @ bx)[:, None] + (Y @ by)[None, :]
    log_Z = _mp_logsumexp(E.ravel())
    visible = [float(_mp_logsumexp(E[:, j]) - log_Z) for j in range(len(Y))]
    hidden = [float(_mp_logsumexp(E[i, :]) - log_Z) for i in range(len(X))]
    for backend in ("numba", "numpy"):
        close(quiet(exact.log_partition, p, backend=backend), float(log_Z), rtol=1e-13, atol=1e-10,
              what=f"log Z ({backend})")
        close(quiet(exact.visible_log_probs, p, backend=backend), visible, rtol=1e-11, atol=1e-9,
              what=f"visible log probabilities ({backend})")
        close(quiet(exact.hidden_log_probs, p, backend=backend), hidden, rtol=1e-11, atol=1e-9,
              what=f"hidden log probabilities ({backend})")
    eta = np.array([6.0 * e, -6.0 * e, 0.3])
    close(quiet(model.log_partition_units, eta, "bernoulli"), [float(mp.log1p(mp.exp(mp.mpf(x)))) for x in eta],
          rtol=1e-13, atol=1e-300, what="Bernoulli log-partition")
    close(quiet(model.mean_units, eta, "bernoulli"), [float(1 / (1 + mp.exp(-mp.mpf(x)))) for x in eta],
          rtol=1e-13, atol=1e-300, what="Bernoulli means")
    F = quiet(model.free_energy_visible, p, Y[[1, 15]].astype(float))
    # log p(y) = -F(y) - log Z
    close(-F - float(log_Z), [visible[1], visible[15]], rtol=1e-11, atol=1e-9, what="free energy")


@case("contrastive.local_nce.local_nce_posterior", "contrastive.infonce.gaussian_mutual_information")
def case_contrastive_extremes(s, rng):
    """Energy differences to +-750 (sigmoids of both signs in one product), and correlations ``1 - t`` with t
    down to 1e-15, against mpmath (1 - sigmoid(h) taken as sigmoid(-h) there too)."""
    import mpmath as mp

    from pedagogy_lib.contrastive.infonce import gaussian_mutual_information
    from pedagogy_lib.contrastive.local_nce import local_nce_posterior
    e = np.log10(s)
    h = np.array([5.0 * e, -3.0, 2.0 * e + 1.0, 0.5])
    sig = lambda x: 1 / (1 + mp.exp(-mp.mpf(float(x))))                # noqa: E731
    exact = [float(sig(h[i]) * mp.fprod(sig(-h[j]) for j in range(4) if j != i)) for i in range(4)]
    close(quiet(local_nce_posterior, h), exact, rtol=1e-11, atol=1e-300, what="local NCE posterior")
    t = max(min(s, 0.5), 1e-15)
    rho = 1.0 - t
    close(quiet(gaussian_mutual_information, rho, 3), float(-1.5 * mp.log(1 - mp.mpf(rho) ** 2)), rtol=1e-12,
          what=f"mutual information at rho = 1 - {t:.1e}")
    for rho in (min(s, 0.25), -min(s, 0.25)):      # and near 0, where the information is about 1.5 rho^2
        close(quiet(gaussian_mutual_information, rho, 3), float(-1.5 * mp.log1p(-mp.mpf(rho) ** 2)), rtol=1e-12,
              what=f"mutual information at rho = {rho:.1e}")


@case("deepgen.gumbel.concrete_log_density", "deepgen.ica.log_likelihood", "deepgen.estimators.expo_variances")
def case_deepgen_densities(s, rng):
    """A point of the simplex with a coordinate ``min(s, 0.3)`` (to 1e-150) against mpmath; ICA's likelihood
    with data times s and the unmixing matrix over s (shift -K log s); the exponential's variances at
    rate ``s^(1/3)`` (488 and 80 over its sixth power)."""
    import mpmath as mp

    from pedagogy_lib.deepgen.estimators import expo_variances
    from pedagogy_lib.deepgen.gumbel import concrete_log_density
    from pedagogy_lib.deepgen.ica import log_likelihood
    a = min(s, 0.3)
    y, eta, t = np.array([a, 0.3, 0.7 - a]), np.array([1.0, -2.0, 0.5]), rng.uniform(0.3, 2.0)
    Y = [mp.mpf(float(v)) for v in y]
    exact = (mp.log(2) + 2 * mp.log(t) + mp.fsum(mp.mpf(float(eta[k])) - (t + 1) * mp.log(Y[k]) for k in range(3))
             - 3 * mp.log(mp.fsum(mp.exp(mp.mpf(float(eta[i]))) * Y[i] ** (-t) for i in range(3))))
    close(quiet(concrete_log_density, y, eta, t), float(exact), rtol=1e-11, atol=1e-9, what="concrete density")
    D, Ys = rng.normal(size=(2, 2)), rng.normal(size=(50, 2))
    close(quiet(log_likelihood, D / s, Ys * s), log_likelihood(D, Ys) - 2 * np.log(s), rtol=1e-11, atol=1e-9,
          what="ICA log likelihood")
    lam = s ** (1.0 / 3.0)
    close(quiet(expo_variances, lam), [488.0 / lam ** 6, 80.0 / lam ** 6], rtol=1e-12, what="variances")


@case("vi.amortized.exact_posterior", "vi.amortized.linear_gaussian_elbo", "vi.bbvi.normal_normal",
      "vi.bbvi.normal_normal_posterior")
def case_vi_gaussian_units(s, rng):
    """Data and loadings times s, noise variance times s^2: the posterior over the latents is unchanged and
    the ELBO shifts by -L log s per datum; the normal-normal posterior against its closed form."""
    from pedagogy_lib.vi import amortized as am
    from pedagogy_lib.vi import bbvi
    C, c, Y = rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=(4, 3))
    m1, ms = am.linear_gaussian_model(C, c, 0.3), quiet(am.linear_gaussian_model, C * s, c * s, 0.3 * s * s)
    mu1, P1 = am.exact_posterior(m1, Y)
    mus, Ps = quiet(am.exact_posterior, ms, Y * s)
    close(mus, mu1, rtol=1e-9, atol=1e-12, what="posterior means")
    close(Ps, P1, rtol=1e-9, atol=1e-12, what="posterior covariance")
    log_s = np.tile(0.5 * np.log(np.diag(P1)), (4, 1))
    close(quiet(am.linear_gaussian_elbo, ms, Y * s, mu1, log_s), am.linear_gaussian_elbo(m1, Y, mu1, log_s)
          - 3 * np.log(s), rtol=1e-10, atol=1e-8, what="ELBO")
    y = rng.normal(size=3)
    post = quiet(bbvi.normal_normal_posterior, quiet(bbvi.normal_normal, y * s, 0.5 * s, 0.2 * s, 2.0 * s))
    prec = 1 / 4.0 + 3 / 0.25
    close(post[0], (0.2 / 4.0 + y.sum() / 0.25) / prec * s, rtol=1e-12, what="posterior mean")
    close(post[1], np.sqrt(1 / prec) * s, rtol=1e-12, what="posterior standard deviation")


def _mp_mvn_logpdf(y, mu, S):
    import mpmath as mp
    Sm, r = mp.matrix(np.asarray(S).tolist()), mp.matrix((np.asarray(y) - np.asarray(mu)).tolist())
    return -(r.T * (Sm ** -1) * r)[0] / 2 - mp.log(mp.det(Sm)) / 2 - len(y) * mp.log(2 * mp.pi) / 2


@case("mixture.model.gmm_logits", "mixture.model.gmm_log_marginal", "mixture.model.gmm_posterior",
      "factor.model.fa_marginal", "factor.model.fa_log_likelihood")
def case_far_component_and_tiny_variances(s, rng):
    """(1) A mixture with a component of weight 1e-200 a thousand units away and 1e4 times narrower, all in
    units of s (locations times s, covariances times s^2), against mpmath at scale 1 shifted by -2 log s.
    (2) FA with two unique variances ``min(s, 1)`` and ``3 min(s, 1)`` (to 1e-150: Heywood cases the issue
    did not list), log likelihood against a dense 400-digit solve, and its marginal's covariance."""
    import mpmath as mp

    from pedagogy_lib.factor import FAParams, fa_log_likelihood, fa_marginal
    from pedagogy_lib.mixture import GMMParams, gmm_log_marginal, gmm_logits, gmm_posterior
    mu = np.array([[0.0, 0.0], [3.0, 1.0], [1e3, -1e3]])
    Sig = np.array([np.eye(2), [[2.0, 0.5], [0.5, 1.0]], np.eye(2) * 1e-4])
    pi = np.array([0.5, 0.5 - 1e-200, 1e-200])
    y = rng.normal(size=(3, 2))
    with mp.workdps(60):
        z = np.array([[float(_mp_mvn_logpdf(v, m, S) + mp.log(p)) for m, S, p in zip(mu, Sig, pi)] for v in y])
    z -= 2 * np.log(s)
    params = GMMParams(pi, mu * s, Sig * s * s)
    close(quiet(gmm_logits, params, y * s), z, rtol=1e-10, atol=1e-8, what="logits")
    lse = np.logaddexp.reduce(z, axis=1)
    close(quiet(gmm_log_marginal, params, y * s), lse, rtol=1e-10, atol=1e-8, what="log marginal")
    close(quiet(gmm_posterior, params, y * s), np.exp(z - lse[:, None]), rtol=1e-9, atol=1e-300, what="posterior")
    C, c = rng.normal(size=(5, 2)), rng.normal(size=5)
    t = min(s, 1.0)
    Lam = np.array([1.0, t, 0.5, 3.0 * t, 2.0])
    x = c + C @ rng.normal(size=2) + np.sqrt(Lam) * rng.normal(size=5)
    with mp.workdps(400):
        exact = float(_mp_mvn_logpdf(x, c, C @ C.T + np.diag(Lam)))
    close(np.sum(quiet(fa_log_likelihood, FAParams(C, c, Lam), x[None, :])), exact, rtol=1e-9, atol=1e-9,
          what=f"FA log likelihood, unique variances down to {t:.0e}")
    Lam = np.array([1.0, 0.2, 0.5, 0.6, 2.0])
    close(quiet(fa_marginal, FAParams(C * s, c * s, Lam * s * s)).Sigma, (C @ C.T + np.diag(Lam)) * s * s,
          rtol=1e-12, atol=1e-15 * s * s, what="FA marginal covariance")


@case("diffusion.forward.transition", "diffusion.forward.posterior_transition", "diffusion.forward.marginal",
      "diffusion.schedules.schedule_from_snr", "diffusion.losses.gaussian_loss_limit",
      "diffusion.losses.gaussian_optimal_loss")
def case_diffusion_adjacent_levels(s, rng):
    """(1) Three SNRs 1e-6 apart around ``s`` (1e-150 to 1e150), both scalings: Eq. 8.37's coefficients and
    Eq. 8.38's posterior against 80-digit arithmetic (the variance ``v_m^2 (1 - lam_m / lam_l)`` cancels).
    (2) The optimal loss of Gaussian data of scale ``s0 = s`` and its limit, against mpmath: below s0 = 1e-8
    the limit's ``log((1/s0^2 + lam_max) / (1/s0^2 + lam_min))`` lost every digit (0 for 1e-37), and
    ``1 / s0^2`` overflows below 1e-154."""
    import mpmath as mp

    from pedagogy_lib import diffusion as dif
    from pedagogy_lib.diffusion.forward import marginal, posterior_transition, transition
    lam = s * np.array([1 + 1e-6, 1.0, 1 - 1e-6])
    with mp.workdps(80):
        L = [mp.mpf(float(x)) for x in lam]
        for kind in ("vp", "ve"):
            sch = quiet(dif.schedule_from_snr, lam, kind=kind)
            v = [1 / mp.sqrt(1 + x) if kind == "vp" else 1 / mp.sqrt(x) for x in L]
            r = [mp.sqrt(x) for x in L]
            for l, m in ((0, 1), (1, 2), (0, 2)):
                beta, g2 = v[m] * r[m] / (v[l] * r[l]), v[m] ** 2 * (1 - L[m] / L[l])
                close(quiet(transition, sch, l, m), [float(beta), float(g2)], rtol=1e-8, what=f"Eq. 8.37 {kind}")
                var = 1 / (1 / v[l] ** 2 + beta ** 2 / g2)
                pt = quiet(posterior_transition, sch, l, m)
                close([pt.a, pt.b, pt.var], [float(var * r[l] / v[l]), float(var * beta / g2), float(var)], rtol=1e-8,
                      what=f"Eq. 8.38 {kind} ({l}, {m})")
            close(quiet(marginal, sch, 1), [float(v[1] * r[1]), float(v[1] ** 2)], rtol=1e-12, what=f"{kind} marginal")
        sch = dif.make_schedule(6, lam_min=1e-3, lam_max=1e3)
        lam6 = [mp.mpf(float(x)) for x in sch.snr]
        p = 1 / mp.mpf(s) ** 2
        close(quiet(dif.gaussian_optimal_loss, sch, s, 2), float(mp.fsum((lam6[i] - lam6[i + 1]) / (p + lam6[i + 1])
                                                                          for i in range(6))), rtol=1e-12,
              what="optimal loss")
        close(quiet(dif.gaussian_loss_limit, 1e-3, 1e3, s, 2), float(mp.log1p((1e3 - mp.mpf(1e-3)) / (p + mp.mpf(1e-3)))),
              rtol=1e-12, what="its limit")


@case("hmm.em.hmm_log_likelihood", "lgssm.em.lgssm_log_likelihood", "smc.particle.particle_filter",
      "gaussian.blocks.sample_mvn")
def case_state_space_units(s, rng):
    """Observations, means and standard deviations in units of s: a Gaussian HMM's log likelihood against a
    forward pass in mpmath shifted by -T D log s; an LGSSM's against the filter in mpmath at scale 1 where
    lgssm holds such variances (a refusal naming Sigma1 beyond its 1e75 otherwise); the bootstrap particle
    filter's estimate (same seed) shifts by -T log s; Gaussian draws scale by s."""
    import mpmath as mp

    from pedagogy_lib.gaussian import sample_mvn
    from pedagogy_lib.hmm import GaussianHMMParams, hmm_log_likelihood
    from pedagogy_lib.lgssm import LGSSMParams, lgssm_log_likelihood
    from pedagogy_lib.smc.particle import particle_filter
    K, D, T = 3, 2, 6
    pi, A = np.array([0.2, 0.5, 0.3]), rng.dirichlet(np.ones(K), K).T
    mu, Sig = rng.normal(size=(K, D)) * 2, np.array([np.eye(D) * v for v in (0.5, 1.0, 2.0)])
    y = rng.normal(size=(T, D)) * 1.5
    with mp.workdps(40):
        L = [[_mp_mvn_logpdf(y[t], mu[k], Sig[k]) for k in range(K)] for t in range(T)]
        alpha, ll = [mp.mpf(float(pi[k])) * mp.exp(L[0][k]) for k in range(K)], mp.mpf(0)
        for t in range(T):
            if t:
                alpha = [mp.fsum(mp.mpf(float(A[i, j])) * alpha[j] for j in range(K)) * mp.exp(L[t][i]) for i in range(K)]
            norm = mp.fsum(alpha)
            ll, alpha = ll + mp.log(norm), [a / norm for a in alpha]
    close(quiet(hmm_log_likelihood, GaussianHMMParams(pi, A, mu * s, Sig * s * s), y * s), float(ll) - T * D * np.log(s),
          rtol=1e-11, atol=1e-8, what="Gaussian HMM log likelihood")
    n, m = 2, 3
    C = rng.normal(size=(m, n))
    p1 = LGSSMParams(np.zeros(n), np.eye(n), np.array([[0.9, 0.2], [-0.1, 0.8]]), None, np.zeros(n), np.eye(n) * 0.3, C,
                     np.zeros(m), np.eye(m) * 0.5)
    ps = p1._replace(Sigma1=p1.Sigma1 * s * s, Sigma_x=p1.Sigma_x * s * s, Sigma_y_x=p1.Sigma_y_x * s * s)
    yl = rng.normal(size=(T, m))
    if s * s > 1e75:
        with pytest.raises(ValueError, match="Sigma1"):
            quiet(lgssm_log_likelihood, ps, yl * s)
    else:
        close(quiet(lgssm_log_likelihood, ps, yl * s), _kalman_mp(p1, yl, dps=40) - m * T * np.log(s), rtol=1e-10,
              atol=1e-8, what="LGSSM log likelihood")
    a = float(np.clip(s, 1e-30, 1e30))
    pa = p1._replace(Sigma1=p1.Sigma1 * a * a, Sigma_x=p1.Sigma_x * a * a, Sigma_y_x=p1.Sigma_y_x * a * a)
    r1 = particle_filter(p1, yl, np.random.default_rng(1), 40)
    close(quiet(particle_filter, pa, yl * a, np.random.default_rng(1), 40).log_evidence, r1.log_evidence - m * T * np.log(a),
          rtol=1e-9, atol=1e-8, what="particle filter's log evidence")
    S = np.array([[2.0, 0.6], [0.6, 1.0]])
    close(quiet(sample_mvn, np.random.default_rng(3), np.zeros(2), S * s * s, 5),
          sample_mvn(np.random.default_rng(3), np.zeros(2), S, 5) * s, rtol=1e-12, atol=1e-300, what="Gaussian draws")


@case("samplers.finite.mh_transition_matrix", "samplers.proposals.mala_log_proposal",
      "samplers.proposals.mh_log_accept_ratio")
def case_sampler_log_densities(s, rng):
    """An unnormalized target whose log spreads over +-750 plus a constant ``4 log10 s``: the MH matrix leaves
    the normalized target invariant (it is built from ratios only); MALA's proposal density with the state and
    step size times s (a variance) and the force over sqrt(s) shifts by -D log sqrt(s); an acceptance ratio of log densities near
    -1000 |log10 s| is their difference."""
    from pedagogy_lib.samplers.finite import mh_transition_matrix
    from pedagogy_lib.samplers.proposals import mala_log_proposal, mh_log_accept_ratio
    e = np.log10(s)
    lp = np.array([0.0, -5.0 * e, 2.0, 5.0 * e]) + 4.0 * e
    P = quiet(mh_transition_matrix, lp, np.full((4, 4), 0.25))
    p = np.exp(lp - np.logaddexp.reduce(lp))
    close(P @ p, p, rtol=1e-10, atol=1e-300, what="target invariant")
    xt, xf, f, h = rng.normal(size=2), rng.normal(size=2), rng.normal(size=2), rng.uniform(0.3, 1.0)
    exact = -np.sum((xt - xf - h * f) ** 2) / (4 * h) - np.log(4 * np.pi * h)     # N(x_from + h f, 2 h I)
    a = np.sqrt(s)
    close(np.ravel(quiet(mala_log_proposal, xt * a, xf * a, f / a, h * s)), [exact - 2 * np.log(a)], rtol=1e-11,
          atol=1e-9, what="MALA proposal density")
    big = -1000.0 * abs(e)
    close(quiet(mh_log_accept_ratio, big, big + 1.5, -2.0, -0.5), -3.0, rtol=1e-12, atol=1e-9, what="MH ratio")



@case("recursions.generic.forward_filter", "recursions.generic.backward_smoother", "recursions.generic.time_update",
      "gaussian.blocks.marginalize", "gaussian.blocks.joint", "gaussian.blocks.bayes_invert")
def case_generic_gaussian_near_noiseless(s, rng):
    """A state variance and the observation noise both ``t = min(s, 1)`` (to 1e-150; the issue listed the
    lgssm filter, not the generic one): after the first observation the filter's posterior is exact along
    C, a prior singular to working precision, which the Gaussian blocks refused as "Sigma_x is not
    positive definite" from 1e-20 down. The log evidence against the recursions in 400 digits; the
    smoother against the Kalman smoother at every noise level: the covariance update used to round the
    filter's covariance to variances of -1e-17 around true ones of 1e-40, and the backward step refused its
    backward conditional naming Sigma_y_x from 1e-18 or 1e-20 down, depending on the BLAS code path; the
    update now returns the nearest semidefinite matrix (tests/recursions/test_gaussian_smoother_tiny_noise.py
    holds it to a 300-digit RTS smoother)."""
    from pedagogy_lib.lgssm import LGSSMParams, kalman_smoother
    from pedagogy_lib.recursions import generic as G
    t = min(s, 1.0)
    A, C = 0.9 * np.eye(2), np.array([[1.0, rng.uniform(0.2, 0.8)]])
    y = rng.normal(size=(3, 1))
    chain = G.gaussian_chain(np.zeros(2), np.eye(2), A, np.diag([t, 0.5]), C, np.zeros(1), np.array([[t]]), y)
    params = LGSSMParams(np.zeros(2), np.eye(2), A, None, np.zeros(2), np.diag([t, 0.5]), C, np.zeros(1),
                         np.array([[t]]))
    filt = quiet(G.forward_filter, G.GAUSSIAN, chain)
    close(filt.log_evidence, _kalman_mp(params, y), rtol=1e-12, atol=1e-12, what=f"log evidence, noise {t:.0e}")
    smooth = quiet(G.backward_smoother, G.GAUSSIAN, filt.filtered, chain.transitions)
    ks = kalman_smoother(params, y)
    close(np.array([g.mu for g in smooth.smoothed]), ks.mu_smooth, rtol=1e-9, atol=1e-12, what="smoothed means")

@case("discrete.categorical.conditional", "discrete.categorical.joint_table", "discrete.categorical.marginal",
      "discrete.markov_chain.spectral_gap", "discrete.markov_chain.tv_to_stationarity",
      "discrete.markov_chain.detailed_balance_violation", "discrete.markov_chain.is_detailed_balance")
def case_discrete_rare_entries(s, rng):
    """A chain a -> b -> c whose tables hold ``t = min(s, 0.3)`` and ``t^2`` (to 1e-300), by mpmath
    enumeration; a two-state Markov chain left with probability ``t``: its gap ``t + 0.3`` and the distance
    to stationarity ``max(pi) (0.7 - t)^k``."""
    import mpmath as mp

    from pedagogy_lib.discrete import categorical as cat
    from pedagogy_lib.discrete import markov_chain as mc
    t = min(s, 0.3) * rng.uniform(0.5, 1.0)
    pa, Pb, Pc = np.array([1 - t, t]), np.array([[1 - t, 0.5], [t, 0.5]]), np.array([[0.9, t * t], [0.1, 1 - t * t]])
    dag = quiet(cat.make_dag, {"a": pa, "b": Pb, "c": Pc}, {"b": ["a"], "c": ["b"]})
    J = [[[mp.mpf(float(pa[a])) * mp.mpf(float(Pb[b, a])) * mp.mpf(float(Pc[c, b])) for c in range(2)]
          for b in range(2)] for a in range(2)]
    close(np.asarray(quiet(cat.joint_table, dag)), [[[float(x) for x in r] for r in m] for m in J], rtol=1e-12,
          atol=1e-300, what="joint table")
    num = [mp.fsum(J[a][b][0] for b in range(2)) for a in range(2)]
    close(np.ravel(quiet(cat.conditional, dag, "a", {"c": 0})), [float(x / mp.fsum(num)) for x in num], rtol=1e-10,
          atol=1e-300, what="p(a | c = 0)")
    close(np.ravel(quiet(cat.marginal, dag, ["c"])), [float(mp.fsum(J[a][b][c] for a in range(2) for b in range(2)))
                                                     for c in range(2)], rtol=1e-12, what="p(c)")
    P = np.array([[1.0 - t, 0.3], [t, 0.7]])
    close(quiet(mc.spectral_gap, P), t + 0.3, rtol=1e-12, what="spectral gap")
    pi = mc.stationary_distribution(P)
    assert quiet(mc.detailed_balance_violation, P, pi) <= 1e-16 and quiet(mc.is_detailed_balance, P, pi)
    close(quiet(mc.tv_to_stationarity, P, 3), [0.3 / (0.3 + t) * (0.7 - t) ** k for k in range(4)], rtol=1e-9,
          atol=1e-300, what="distance to stationarity")


@case("hmm.em.hmm_posterior", "hmm.inference.categorical_log_lik", "mixture.em.gmm_suff_stats",
      "mixture.em.gmm_m_step", "samplers.conjugate.normal_gamma_log_joint", "learning.regression.linear_regression",
      "learning.regression.loo_cv_error", "nn.losses.squared_error", "factor.em.ppca_ml")
def case_units_of_the_data(s, rng):
    """Data, means and standard deviations in units of s: HMM responsibilities unchanged and log evidence
    shifted by -T D log s; a GMM's E and M steps (both backends) give means times s and covariances times
    s^2; the normal-gamma log joint shifts by a constant; regression weights unchanged and the LOO error times
    s^2; squared error times s^2; PPCA's loadings times s and noise times s^2. Emission tables with entries
    ``t^2`` give logs exactly."""
    from pedagogy_lib.factor import ppca_ml
    from pedagogy_lib.hmm import GaussianHMMParams, categorical_log_lik, hmm_posterior
    from pedagogy_lib.learning.regression import linear_regression, loo_cv_error
    from pedagogy_lib.mixture import GMMParams
    from pedagogy_lib.mixture.em import gmm_m_step, gmm_suff_stats
    from pedagogy_lib.nn.losses import squared_error
    from pedagogy_lib.samplers.conjugate import normal_gamma_log_joint, normal_gamma_model
    K, D, T = 3, 2, 5
    pi, A = np.array([0.2, 0.5, 0.3]), rng.dirichlet(np.ones(K), K).T
    mu, Sig = rng.normal(size=(K, D)) * 2, np.array([np.eye(D) * v for v in (0.5, 1.0, 2.0)])
    y = rng.normal(size=(T, D))
    h1, h = hmm_posterior(GaussianHMMParams(pi, A, mu, Sig), y), quiet(hmm_posterior,
                                                                    GaussianHMMParams(pi, A, mu * s, Sig * s * s), y * s)
    close(h.gamma, h1.gamma, rtol=1e-9, atol=1e-14, what="HMM responsibilities")
    close(h.log_evidence, h1.log_evidence - T * D * np.log(s), rtol=1e-11, atol=1e-8, what="HMM log evidence")
    t = min(s, 0.5)
    B = np.array([[t, 1 - t * t], [1 - t, t * t]])
    close(quiet(categorical_log_lik, B, np.array([0, 1, 1])), np.log(B[[0, 1, 1], :]), rtol=1e-14,
          what="categorical log likelihoods")
    g1 = GMMParams(np.array([0.4, 0.6]), np.array([[0.0, 0.0], [3.0, 1.0]]), np.array([np.eye(2), np.eye(2) * 2]))
    gs = GMMParams(g1.pi, g1.mu * s, g1.Sigma * s * s)
    x = rng.normal(size=(10, 2)) * 2
    for backend in ("numba", "numpy"):
        q1, q = gmm_m_step(gmm_suff_stats(g1, x, backend=backend)), quiet(gmm_m_step, quiet(gmm_suff_stats, gs, x * s,
                                                                                             backend=backend))
        close(q.mu, q1.mu * s, rtol=1e-9, atol=1e-12 * s, what=f"M-step means ({backend})")
        close(q.Sigma, q1.Sigma * s * s, rtol=1e-9, atol=1e-12 * s * s, what=f"M-step covariances ({backend})")
    yn = np.array([0.3, -1.2, 0.8, 2.0])
    th = np.array([[0.2, 1.5], [-1.0, 0.3]])
    shift = quiet(normal_gamma_log_joint, quiet(normal_gamma_model, yn * s, 0.0, s, 2.0, 3.0 * s * s),
                  th * np.array([s, 1 / s / s])) - normal_gamma_log_joint(normal_gamma_model(yn, 0.0, 1.0, 2.0, 3.0), th)
    close(shift - shift[0], [0.0, 0.0], rtol=0, atol=1e-8, what="normal-gamma log joint shift")
    X = rng.normal(size=(20, 3))
    w = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=20) * 0.1
    close(quiet(linear_regression, X * s, w * s).w, linear_regression(X, w).w, rtol=1e-9, atol=1e-12, what="weights")
    close(quiet(loo_cv_error, X * s, w * s), loo_cv_error(X, w) * s * s, rtol=1e-9, what="LOO error")
    m, Xs = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    close(quiet(squared_error, m * s, Xs * s).value, squared_error(m, Xs).value * s * s, rtol=1e-12, what="squared error")
    Y = rng.normal(size=(50, 4)) @ np.diag([3.0, 1.0, 0.5, 0.2])
    p1, p = ppca_ml(Y, 2, sigma2_floor=1e-300), quiet(ppca_ml, Y * s, 2, sigma2_floor=1e-300)
    close(p.Lambda, p1.Lambda * s * s, rtol=1e-8, what="PPCA noise variance")
    close(np.abs(p.C), np.abs(p1.C) * s, rtol=1e-8, atol=1e-12 * s, what="PPCA loadings")

@case("diffusion.schedules.to_ddpm", "diffusion.schedules.ve_sigmas", "diffusion.forward.consecutive_transitions",
      "diffusion.losses.reverse_variances", "diffusion.losses.mean_weights", "diffusion.losses.step_weights")
def case_diffusion_step_coefficients(s, rng):
    """SNRs ``s (1 + 1e-7, 1, 1 - 1e-7, 0.5)``, both scalings, against 400-digit arithmetic: the reverse
    variances and their weights, Eq. 8.41's weights, the one-step gamma^2, and DDPM's betas, which as
    ``1 - abar_l / abar_(l-1)`` were 33 % off at lam = 1e8 and 0 from 1e16 on (abar rounds to 1)."""
    import mpmath as mp

    from pedagogy_lib.diffusion import schedule_from_snr
    from pedagogy_lib.diffusion.forward import consecutive_transitions
    from pedagogy_lib.diffusion.losses import mean_weights, reverse_variances, step_weights
    from pedagogy_lib.diffusion.schedules import to_ddpm, ve_sigmas
    lam = s * np.array([1 + 1e-7, 1.0, 1 - 1e-7, rng.uniform(0.3, 0.7)])
    with mp.workdps(400):
        L = [mp.mpf(float(x)) for x in lam]
        for kind in ("vp", "ve"):
            sch = quiet(schedule_from_snr, lam, kind=kind)
            v2 = [1 / (1 + x) if kind == "vp" else 1 / x for x in L]
            sig2 = [v2[i - 1] * (L[i - 1] - L[i]) / L[i - 1] for i in range(1, 4)]
            close(quiet(reverse_variances, sch), [float(x) for x in sig2], rtol=1e-8, what=f"reverse variances ({kind})")
            close(quiet(mean_weights, sch), [float(1 / (2 * x)) for x in sig2], rtol=1e-8, what=f"mean weights ({kind})")
            close(quiet(step_weights, sch), [float((L[i - 1] - L[i]) / 2) for i in range(1, 4)], rtol=1e-8,
                  what=f"Eq. 8.41 weights ({kind})")
            close(quiet(ve_sigmas, sch), [float(1 / mp.sqrt(x)) for x in L], rtol=1e-13, what=f"sigmas ({kind})")
            close(quiet(consecutive_transitions, sch)[1], [float(v2[i] * (1 - L[i] / L[i - 1])) for i in range(1, 4)],
                  rtol=1e-8, what=f"gamma^2 ({kind})")
        abar = [x / (1 + x) for x in L]
        got = quiet(to_ddpm, schedule_from_snr(lam, kind="vp"))
        close(got[0], [float(a) for a in abar], rtol=1e-13, what="alpha bar")
        close(got[1], [float(1 - abar[i] / abar[i - 1]) for i in range(1, 4)], rtol=1e-8, what="DDPM betas")

@case("deepgen.gumbel.soft_categorical", "contrastive.infonce.gaussian_log_ratio_scores",
      "contrastive.nce.quadratic_log_mass", "nn.infomax.log_density", "hmm.em.hmm_log_lik_matrix",
      "harmonium.exact.kl_divergence", "harmonium.model.log_conditional_visible")
def case_logs_of_peaked_quantities(s, rng):
    """Softmax logits to +-1500 over s = 1/2; the optimal InfoNCE scores at rho = 1 - t (t to 1e-15); the
    log mass of a quadratic energy with curvature and slope of size s; infomax's log density with data
    times s and unmixing over s (shift -K log s); an HMM's emission log likelihoods in units of s; a KL
    with entries t and t^2 (to 1e-300); Bernoulli conditionals with natural parameters to +-50. All
    against mpmath or the identity."""
    import mpmath as mp

    from pedagogy_lib.contrastive.infonce import gaussian_log_ratio_scores
    from pedagogy_lib.contrastive.nce import quadratic_log_mass
    from pedagogy_lib.deepgen.gumbel import soft_categorical
    from pedagogy_lib.harmonium import EFHParams
    from pedagogy_lib.harmonium.exact import kl_divergence
    from pedagogy_lib.harmonium.model import log_conditional_visible
    from pedagogy_lib.hmm import GaussianHMMParams
    from pedagogy_lib.hmm.em import hmm_log_lik_matrix
    from pedagogy_lib.nn.infomax import log_density
    e = np.log10(s)
    eta, G0 = np.array([5.0 * e, 0.0, -5.0 * e]), rng.normal(size=3) * 0.3
    z = (eta + G0) / 0.5
    close(quiet(soft_categorical, eta, G0, 0.5), [float(mp.exp(mp.mpf(float(v)) - _mp_logsumexp(z))) for v in z],
          rtol=1e-12, atol=1e-300, what="soft categorical")
    t = max(min(s, 0.5), 1e-15)
    R = mp.mpf(1.0 - t)
    y, w = rng.normal(size=(2, 1)), rng.normal(size=(2, 1))
    exact = [[float(-mp.log(1 - R ** 2) / 2 - (mp.mpf(float(y[j, 0])) - R * mp.mpf(float(w[i, 0]))) ** 2 / (2 * (1 - R ** 2))
                    + mp.mpf(float(y[j, 0])) ** 2 / 2) for j in range(2)] for i in range(2)]
    close(quiet(gaussian_log_ratio_scores, y, w, 1.0 - t, 2), [exact], rtol=1e-9, atol=1e-9, what="InfoNCE scores")
    a, m = 2.0 * s, 0.5 * s
    close(quiet(quadratic_log_mass, np.array([a, m, 0.3])), float(mp.log(2 * mp.pi / mp.mpf(a)) / 2 + mp.mpf(m) ** 2
                                                                   / (2 * mp.mpf(a)) - mp.mpf(0.3)),
          rtol=1e-12, atol=1e-12, what="log mass")
    D, Y = rng.normal(size=(2, 2)), rng.normal(size=(30, 2))
    close(quiet(log_density, D / s, Y * s), log_density(D, Y) - 2 * np.log(s), rtol=1e-11, atol=1e-9,
          what="infomax log density")
    mu, Sig = rng.normal(size=(2, 2)), np.array([[[1.0, 0.3], [0.3, 0.5]], np.eye(2) * 2])
    yh = rng.normal(size=(4, 2))
    p1, ps = (GaussianHMMParams(np.array([0.5, 0.5]), np.eye(2), mu * u, Sig * u * u) for u in (1.0, s))
    close(quiet(hmm_log_lik_matrix, ps, yh * s), hmm_log_lik_matrix(p1, yh) - 2 * np.log(s), rtol=1e-11, atol=1e-9,
          what="emission log likelihoods")
    t = min(s, 0.25)
    p, q = np.array([t, t, 1 - 2 * t]), np.array([t * t, 0.3, 0.7 - t * t])
    close(quiet(kl_divergence, p, q), float(mp.fsum(mp.mpf(float(u)) * mp.log(mp.mpf(float(u)) / mp.mpf(float(v)))
                                                     for u, v in zip(p, q))), rtol=1e-9, atol=1e-300, what="KL")
    g = 0.5 + abs(e) / 3.0
    W, by = rng.normal(size=(2, 3)) * g, rng.normal(size=3) * g
    params = EFHParams(W, rng.normal(size=2), by, "bernoulli", "bernoulli")
    x, yv = np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([[0.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    nat = x @ W + by
    close(quiet(log_conditional_visible, params, yv, x),
          [float(mp.fsum(mp.mpf(u) * mp.mpf(float(h)) - mp.log1p(mp.exp(mp.mpf(float(h)))) for u, h in zip(r, n)))
           for r, n in zip(yv, nat)], rtol=1e-12, atol=1e-9, what="log p(y | x)")


@functools.lru_cache(maxsize=64)
def _quad_real_line(prior, a, b):
    """``int exp(-E(v)) dv`` over the real line in 30 digits (cached: a quadrature per prior and parameters)."""
    import mpmath as mp
    E = {"laplace": lambda v: a * abs(v), "logcosh": lambda v: a / b * mp.log(mp.cosh(b * v)),
         "cauchy": lambda v: mp.log(b * b + v * v), "gaussian": lambda v: a * v * v / 2,
         "super": lambda v: v * v / 2 + mp.log(mp.cosh(v))}[prior]
    with mp.workdps(30):
        return mp.quad(lambda v: mp.exp(-E(v)), [-mp.inf, 0, mp.inf])


@case("deepgen.ica.log_prior", "deepgen.ica.prior_score", "nn.infomax.log_dpsi")
def case_ica_source_priors(s, rng):
    """The four source priors of Section 9.1 at sources ``x = s u`` (1e-150 to 1e150; ``x^2`` is formed), in
    50-digit mpmath from their definitions: the logistic density ``psi(x)(1 - psi(x))`` and its score
    ``1 - 2 psi(x)``; the standard normal; the sub-Gaussian pair of normals at +-1 (``e^{-x^2/2} cosh x``
    over ``sqrt(2 pi) e^{1/2}``); the super-Gaussian ``e^{-x^2/2} / cosh x`` over its integral by quadrature.
    The logistic score was ``1 - 2 psi(x)`` in float64, exactly 0 below ``|x|`` of 1e-17 (true ``-x/2``)."""
    import mpmath as mp

    from pedagogy_lib.deepgen import ica
    from pedagogy_lib.nn.infomax import log_dpsi
    x = np.concatenate([rng.uniform(0.2, 3.0, 3), -rng.uniform(0.2, 3.0, 3)]) * s
    with mp.workdps(50):
        z_super = _quad_real_line("super", 0.0, 0.0)
        X = [mp.mpf(float(v)) for v in x]
        sig = [1 / (1 + mp.exp(-v)) for v in X]
        logs = {"logistic": [mp.log(p) + mp.log(1 - p) if abs(v) < 1e4 else -abs(v) for p, v in zip(sig, X)],
                "gaussian": [-v * v / 2 - mp.log(2 * mp.pi) / 2 for v in X],
                "sub": [-v * v / 2 + mp.log(mp.cosh(v)) - mp.log(2 * mp.pi) / 2 - mp.mpf(1) / 2 if abs(v) < 1e4
                        else -v * v / 2 + abs(v) - mp.log(2) - mp.log(2 * mp.pi) / 2 - mp.mpf(1) / 2 for v in X],
                "super": [-v * v / 2 - mp.log(mp.cosh(v)) - mp.log(z_super) if abs(v) < 1e4
                          else -v * v / 2 - abs(v) + mp.log(2) - mp.log(z_super) for v in X]}
        scores = {"logistic": [-mp.tanh(v / 2) for v in X], "gaussian": [-v for v in X],
                  "sub": [-v + mp.tanh(v) for v in X], "super": [-v - mp.tanh(v) for v in X]}
        logs = {k: np.array([float(v) for v in vs]) for k, vs in logs.items()}
        scores = {k: np.array([float(v) for v in vs]) for k, vs in scores.items()}
    for prior in ("logistic", "gaussian", "sub", "super"):
        close(quiet(ica.log_prior, x, prior), logs[prior], rtol=1e-13, atol=1e-14, what=f"log prior {prior}")
        # -x + tanh x cancels to -x^3/3 near 0: there float64 resolves the score to rounding of |x|
        close(quiet(ica.prior_score, x, prior), scores[prior], rtol=1e-13, atol=4e-16 * float(np.max(np.abs(x))),
              what=f"score {prior}")
    close(quiet(log_dpsi, x), logs["logistic"], rtol=1e-13, atol=1e-14, what="log psi'")


@case("factor.sparse_coding.log_Z_prior", "factor.sparse_coding.prior_logpdf", "factor.sparse_coding.prior_energy",
      "factor.sparse_coding.log_Z_joint")
def case_sparse_coding_prior_normalizers(s, rng):
    """Each sparse-coding prior with its width times ``s`` (rates ``alpha / s``, scale ``beta s``; Gaussian
    precision ``alpha / s^2``) and the codes times ``s``: ``log Z`` against ``s`` times an mpmath quadrature of
    ``e^{-E(s u)}`` over the real line, written from Eq. 2.29's energies (Laplace ``alpha |x|``, log-cosh
    ``(alpha / beta) log cosh(beta x)``, Cauchy ``log(beta^2 + x^2)``, Gaussian ``alpha x^2 / 2``); the log
    density then shifts by ``-K log s`` and the energy not at all."""
    import mpmath as mp

    from pedagogy_lib.factor import sparse_coding as sc
    K = 2
    a, b = rng.uniform(0.5, 2.0), rng.uniform(0.5, 2.0)
    u = rng.normal(size=(3, K))
    C, lam = rng.normal(size=(3, K)), rng.uniform(0.5, 2.0)
    E1 = {"laplace": lambda v: a * abs(v), "logcosh": lambda v: a / b * mp.log(mp.cosh(b * v)),
          "cauchy": lambda v: mp.log(b * b + v * v), "gaussian": lambda v: a * v * v / 2}
    args = {"laplace": (a / s, b / s), "logcosh": (a / s, b / s), "cauchy": (None, b * s),
            "gaussian": (a / (s * s), None)}
    for prior, (alpha, beta) in args.items():
        model = quiet(sc.make_model, C, lam, alpha=alpha, beta=beta, prior=prior)
        # x = s v: E at width s of s v is E at width 1 of v (Cauchy: plus 2 log s), so Z(s) = s Z(1) (Cauchy: / s^2)
        with mp.workdps(30):
            Z1 = _quad_real_line(prior, a, b)
            extra = 2 * mp.log(mp.mpf(s)) if prior == "cauchy" else 0
            logZ = float(K * (mp.log(Z1) + mp.log(mp.mpf(s)) - extra))
            E_u = np.array([float(sum(E1[prior](mp.mpf(float(v))) for v in row) + K * extra) for row in u])
        close(quiet(sc.log_Z_prior, model), logZ, rtol=1e-12, atol=1e-10, what=f"log Z, {prior}")
        close(quiet(sc.prior_energy, u * s, model), E_u, rtol=1e-12, atol=1e-10, what=f"energy, {prior}")
        close(quiet(sc.prior_logpdf, u * s, model), -E_u - logZ, rtol=1e-12, atol=1e-10, what=f"log density, {prior}")
        close(quiet(sc.log_Z_joint, model), logZ + 1.5 * np.log(2 * np.pi / lam), rtol=1e-12, atol=1e-10,
              what=f"log Z_joint, {prior}")


@case("hmm.inference.log_alpha")
def case_hmm_log_alpha(s, rng):
    """``log alpha_t(k) = log p(x_t = k, y_{1:t})`` (Eq. 2.42) of a 3-state chain with an initial probability
    ``min(s, 0.3)`` (to 1e-150), a state unreachable at the first step, and emission log likelihoods offset
    by ``400 log10 s`` per step (to +-60000 nats), against enumeration of every path in 60-digit mpmath."""
    import itertools

    import mpmath as mp

    from pedagogy_lib.hmm import hmm_filter
    from pedagogy_lib.hmm.inference import log_alpha
    e = np.log10(s)
    t = min(s, 0.3)
    pi = np.array([1.0 - t, t, 0.0])
    A = np.array([[0.8, 0.1, 0.3], [0.15, 0.6, 0.3], [0.05, 0.3, 0.4]])
    T = 4
    ll = rng.normal(size=(T, 3)) * 3.0 + 400.0 * e
    f = quiet(hmm_filter, pi, A, ll, backend="numpy")
    got = quiet(log_alpha, f)
    with mp.workdps(60):
        ref = np.empty((T, 3))
        for step in range(T):
            for k in range(3):
                tot = mp.mpf(0)
                for path in itertools.product(range(3), repeat=step):
                    xs = (*path, k)
                    p = mp.mpf(float(pi[xs[0]])) * mp.exp(mp.mpf(float(ll[0, xs[0]])))
                    for r in range(1, step + 1):
                        p *= mp.mpf(float(A[xs[r], xs[r - 1]])) * mp.exp(mp.mpf(float(ll[r, xs[r]])))
                    tot += p
                ref[step, k] = float(mp.log(tot)) if tot > 0 else -np.inf
    assert np.isneginf(got[0, 2]) and np.isneginf(ref[0, 2]), "state 2 is unreachable at the first step"
    ok = np.isfinite(ref)
    assert np.array_equal(np.isfinite(got), ok), f"finite entries differ: {got}"
    close(got[ok], ref[ok], rtol=1e-13, atol=1e-9, what="log alpha")



@case("diffusion.sampling.gmm_log_density", "diffusion.sampling.gmm_force", "diffusion.sampling.gmm_m_hat")
def case_diffusion_gmm_noised(s, rng):
    """Mixture data noised to a level ``l``: component ``k`` gives ``x_l ~ N(a mu_k, a^2 Sigma_k + v_l^2 I)``
    with ``a = v_l rho_l`` (Eq. 8.36). A weight ``min(s, 0.3)`` (to 1e-150) and query points ``1 + 30 |log10 s|``
    times farther out (log densities to -1e7, one component's responsibility far below the other's): the log
    density, the force (responsibility-weighted ``S_k^{-1}(a mu_k - x)``) and the optimal denoiser
    (``mu_k + a Sigma_k S_k^{-1}(x - a mu_k)`` averaged) against 2 x 2 algebra in 60-digit mpmath."""
    import mpmath as mp

    from pedagogy_lib.diffusion import ddpm_schedule
    from pedagogy_lib.diffusion.sampling import gmm_force, gmm_log_density, gmm_m_hat
    from pedagogy_lib.mixture import GMMParams
    t = min(s, 0.3)
    mu = np.array([[1.5, -0.5], [-1.0, 2.0]])
    Sig = np.array([[[0.5, 0.2], [0.2, 0.4]], [[0.3, -0.1], [-0.1, 0.6]]])
    gmm = GMMParams(np.array([1.0 - t, t]), mu, Sig)
    sched = ddpm_schedule(np.linspace(1e-3, 0.2, 6))
    l = int(rng.integers(1, 6))
    x = rng.normal(size=(3, 2)) * (1.0 + 30.0 * abs(np.log10(s)))
    with mp.workdps(60):
        a, v2 = mp.mpf(float(sched.v[l])) * mp.mpf(float(sched.rho[l])), mp.mpf(float(sched.v[l])) ** 2
        pis = [mp.mpf(float(p)) for p in gmm.pi]
        M = [mp.matrix(m.tolist()) for m in mu]
        Sk = [mp.matrix(S.tolist()) for S in Sig]
        S = [a * a * Sk[k] + v2 * mp.eye(2) for k in range(2)]
        logd, force, mhat = [], [], []
        for row in x:
            X = mp.matrix(row.tolist())
            lj = [mp.log(pis[k]) - (((X - a * M[k]).T * S[k] ** -1 * (X - a * M[k]))[0]) / 2
                  - mp.log(mp.det(S[k])) / 2 - mp.log(2 * mp.pi) for k in range(2)]
            top = max(lj)
            Z = mp.fsum(mp.exp(q - top) for q in lj)
            r = [mp.exp(q - top) / Z for q in lj]
            logd.append(float(top + mp.log(Z)))
            f = sum((r[k] * (S[k] ** -1 * (a * M[k] - X)) for k in range(2)), mp.matrix(2, 1))
            m = sum((r[k] * (M[k] + a * Sk[k] * S[k] ** -1 * (X - a * M[k])) for k in range(2)), mp.matrix(2, 1))
            force.append([float(f[i]) for i in range(2)])
            mhat.append([float(m[i]) for i in range(2)])
    close(quiet(gmm_log_density, gmm, sched, l, x), logd, rtol=1e-12, atol=1e-9, what="log density")
    force, mhat = np.array(force), np.array(mhat)
    close(quiet(gmm_force, gmm, sched, l, x), force, rtol=1e-9, atol=1e-12 * np.max(np.abs(force)), what="force")
    close(quiet(gmm_m_hat, gmm, sched, l, x), mhat, rtol=1e-9, atol=1e-12 * np.max(np.abs(mhat)), what="m_hat")



@case("harmonium.model.free_energy_hidden", "harmonium.model.log_base_measure")
def case_harmonium_free_energy(s, rng):
    """The free energy of a hidden row of a Bernoulli-Bernoulli and a Bernoulli-Poisson harmonium whose
    weights and biases are ``0.5 + 8 |log10 s|`` times standard normals (natural parameters to about +-3000,
    where ``log(1 + e^zeta)`` and ``e^zeta`` leave float64 if formed plainly), against mpmath from the
    definition: ``-log h(x) - b_x^T x - sum_j B(zeta_j)``, with ``B(zeta) = log(1 + e^zeta)`` for Bernoulli
    and ``e^zeta`` for Poisson units (their weights capped at 5 times standard normals, so that ``e^zeta``
    itself stays inside float64)."""
    import mpmath as mp

    from pedagogy_lib.harmonium.model import EFHParams, free_energy_hidden, log_base_measure
    g = 0.5 + 8.0 * abs(np.log10(s))
    W, bx, by = rng.normal(size=(2, 3)) * g, rng.normal(size=2) * g, rng.normal(size=3) * g
    x = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    close(quiet(log_base_measure, x, "bernoulli"), np.zeros(3), rtol=0, atol=0, what="log h, Bernoulli")
    nat = x @ W + by
    with mp.workdps(40):
        ref = [float(-mp.fsum(mp.mpf(float(a)) * mp.mpf(float(b)) for a, b in zip(r, bx))
                     - mp.fsum(mp.log1p(mp.exp(mp.mpf(float(z)))) for z in n)) for r, n in zip(x, nat)]
    close(quiet(free_energy_hidden, EFHParams(W, bx, by, "bernoulli", "bernoulli"), x), ref, rtol=1e-12,
          atol=1e-10, what="free energy, Bernoulli visible")
    params = EFHParams(W / g * min(g, 5.0), bx, by / g * min(g, 5.0), "bernoulli", "poisson")
    nat = x @ params.W + params.b_y
    with mp.workdps(40):
        ref = [float(-mp.fsum(mp.mpf(float(a)) * mp.mpf(float(b)) for a, b in zip(r, bx))
                     - mp.fsum(mp.exp(mp.mpf(float(z))) for z in n)) for r, n in zip(x, nat)]
    close(quiet(free_energy_hidden, params, x), ref, rtol=1e-12, atol=1e-10, what="free energy, Poisson visible")



@case("vi.bbvi.control_variate")
def case_control_variate(s, rng):
    """Per-sample gradients g times s^2, or the control variate h times s^2 (1e-300 to 1e300): the corrected
    gradients scale with g and not with h, the coefficient as s^2 or 1/s^2. It summed raw squares, which
    underflowed at h of size 1e-300 and overflowed at 1e300, and came back a = 0 (no variance reduction)."""
    from pedagogy_lib.vi.bbvi import control_variate
    f = s * s
    h = rng.normal(size=(40, 3))
    g = 0.8 * h + 0.3 * rng.normal(size=(40, 3)) + 1.0
    g1, a1 = control_variate(g, h)
    gs, as_ = quiet(control_variate, g * f, h)
    close(gs, g1 * f, rtol=1e-12, atol=1e-12 * f * np.abs(g1).max(), what="corrected gradients, g times s^2")
    close(as_, a1 * f, rtol=1e-12, what="coefficient, g times s^2")
    gh, ah = quiet(control_variate, g, h * f)
    close(gh, g1, rtol=1e-12, atol=1e-12 * np.abs(g1).max(), what="corrected gradients, h times s^2")
    close(ah, a1 / f, rtol=1e-12, what="coefficient, h times s^2")


@case("learning.regression.loo_residuals", "learning.regression.lofo_residuals")
def case_loo_residuals(s, rng):
    """Least squares with one column of ``X`` times ``s`` beside a column of ordinary size, and ``y`` times
    ``s`` (the normal matrix then spans ``s^2`` to 1): leave-one-out and leave-one-fold-out residuals against
    the dense route, a refit without each sample or fold by ``numpy.linalg.lstsq`` on the unscaled problem,
    times ``s`` (least squares is equivariant to column scalings of ``X`` and to scaling ``y``)."""
    from pedagogy_lib.learning.regression import lofo_residuals, loo_residuals
    N = 9
    X = np.column_stack([rng.normal(size=N), rng.normal(size=N), np.ones(N)])
    y = X @ rng.normal(size=3) + 0.3 * rng.normal(size=N)
    folds = np.arange(N) % 3
    loo, lofo = np.empty(N), np.empty(N)
    for n in range(N):
        keep = np.arange(N) != n
        loo[n] = y[n] - X[n] @ np.linalg.lstsq(X[keep], y[keep], rcond=None)[0]
    for k in range(3):
        out = folds == k
        lofo[out] = y[out] - X[out] @ np.linalg.lstsq(X[~out], y[~out], rcond=None)[0]
    Xs = X * np.array([s, 1.0, 1.0])
    close(quiet(loo_residuals, Xs, y * s).e_loo, loo * s, rtol=1e-9, atol=1e-9 * s, what="LOO residuals")
    close(quiet(lofo_residuals, Xs, y * s, folds), lofo * s, rtol=1e-9, atol=1e-9 * s, what="LOFO residuals")


# ================================================================================ the sweep
def _run(name, e, seed):
    fn, _, _ = CASES[name]
    try:
        fn(10.0 ** e, np.random.default_rng(seed))
    except AssertionError as exc:
        raise AssertionError(f"{name} at scale 1e{e:+d} (seed {seed}): {exc}") from None


@pytest.mark.parametrize("name", sorted(CASES))
def test_right_at_every_scale(name):
    scales = CASES[name][2]
    # the sweep reaches the scales the issue names, 1e-150 to 1e150, and passes through 1
    assert min(scales) <= -150 and max(scales) >= 150 and 0 in scales, scales
    for e in scales:
        _run(name, e, 0)          # each case compares with its log-domain or exact route (AssertionError)


@pytest.mark.parametrize("name", sorted(CASES))
def test_right_at_drawn_scales(name):
    lo, hi = min(CASES[name][2]), max(CASES[name][2])

    @settings(max_examples=DRAWN_EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(e=st.integers(lo, hi), seed=st.integers(1, 10_000))
    def check(e, seed):
        _run(name, e, seed)

    check()


# ================================================================================ completeness
#: Names of arguments that carry a potential, a density (or its log), a variance or a normalizer.
SCALED_ARGUMENTS = {"phi", "psi", "factors", "table", "tree", "log_p", "log_joint", "log_lik", "log_w", "log_v2",
                    "log_var", "log_q", "log_phat", "F", "E", "E_n", "trace", "betas", "sigma2", "noise_variance",
                    "Upsilon", "Sigma", "Sigma_x", "Sigma_y_x", "Sigma1", "Sigma_1", "Sigma_p", "Sigma_q", "Sigma_k",
                    "Sigma_j", "S_p", "S_q", "var", "var_n", "cov", "Lambda",
                    # distributions the generic recursions pass on, whose probabilities may leave the floats
                    "chain", "predicted", "smoothed", "filtered_prev", "backward_conditional"}

#: Public functions whose signature names such an argument but that are not swept, with the reason.
_NAMED_REASONS = {
    "graphical.factors.make_factor": "validation only (returns its input as a Factor)",
    "graphical.factors.check_factors": "validation only",
    "graphical.factor_graph.make_factor_graph": "builds the graph; no arithmetic on the tables",
    "graphical.junction.markov_network": "graph structure only; no arithmetic on the tables",
    "graphical.tree.check_pairwise_tree": "validation only",
    "graphical.tree.make_pairwise_tree": "validation and topological order only; swept through tree_sum_product",
    "graphical.tree.tree_factors": "copies the tables into factors; no arithmetic",
    "nn.network.tree_leaves": "'tree' is a nested container of parameters, not a potential",
    "nn.network.tree_map": "'tree' is a nested container of parameters, not a potential",
    "assimilation.lorenz.lorenz96": "'F' is the Lorenz-96 forcing, not a potential",
    "samplers.targets.gaussian_target": "stores a target's precision; its densities are swept through the samplers' "
                                        "own tests",
    "samplers.targets.precision_storage": "storage of a precision matrix; no density is computed",
    "learning.objectives.max_likelihood": "an optimizer of a user-supplied log density; its stopping rule is the "
                                          "caller's tolerance, not a scale-free quantity",
    "factor.em.ppca_em_step": "one step of that fit; its densities are those of the Gaussian blocks swept above",
    "contrastive.local_nce.local_nce_gaussian": "a fit by random negatives (its answer is a Monte Carlo estimate)",
    "contrastive.nce.nce_gaussian": "a fit by random noise samples (its answer is a Monte Carlo estimate)",
}


# ================================================================================ the registry
#: Why a public function has no case. Every public function of every family's ``__all__`` is either named by a
#: case (here or in a scale_cases_* module) or listed here with its reason: one of the reason constants
#: imported from scale_kit.py (NO_SCALED_INPUT, VALIDATION, CONSTRUCTOR, ...), a one-line reason of its own in
#: ``_NAMED_REASONS``, or a scale_cases_* module's own NOT_SWEPT. tests/library/test_library_layout.py fails
#: for a public function with neither, so a new function arrives with its sweep or its reason.
NOT_SWEPT = {
    **_NAMED_REASONS,
    **{k: r for m in _CASE_MODULES for k, r in m.NOT_SWEPT.items()},
    **group(NO_SCALED_INPUT, "core", "budget.budget budget.fast gradcheck.gradcheck jit.choose jit.mark_compiled "
             "jit.prefer_compiled jit.registry jit.twin_estimate lazy.attach lazy.public_names wire.decode "
             "wire.encode"),
    **group(CONSTRUCTOR, "core", "jit.compile_for jit.njit jit.njit_ieee jit.njit_inline"),
    **group(VALIDATION, "core", "checks.as_array checks.as_scalar checks.check_backend checks.check_buffer "
             "checks.check_callable checks.replaced_fields checks.check_choice checks.check_emission_table checks.check_finite checks.check_int "
             "checks.check_labels checks.check_moments checks.check_positive checks.check_prob_rows "
             "checks.check_prob_vector checks.check_psd checks.check_rng checks.check_shape checks.check_spd "
             "checks.check_stochastic_matrix checks.check_symmetric checks.positive_scalar checks.spd_tolerance "
             "checks.to_float_array"),
    **group(TRUSTED, "core", "linalg.chol_logdet linalg.chol_logdet_trace linalg.chol_solve linalg.mvn_logpdf_chol "
             "linalg.spd_inverse linalg.symmetrize"),
    **{f"{f}.kernels.warmup_kernels": WARMUP for f in ("assimilation", "core", "diffusion", "graphical", "harmonium",
                                                        "hmm", "lgssm", "mixture", "nn", "samplers", "smc")},
    # ---- discrete
    **group(NO_SCALED_INPUT, "discrete", "categorical.make_dag categorical.canonical categorical.sample "
             "markov_chain.simulate_chain"),
    **group(CONSTRUCTOR, "discrete", "categorical.chain categorical.collider categorical.fork"),
    **group(VALIDATION, "discrete", "markov_chain.check_transition_matrix"),
    # ---- learning, em
    **group(CONSTRUCTOR, "learning", "glm.family"),
    **group(NO_SCALED_INPUT, "learning", "objectives.empirical_distribution"),
    **group(FIT, "learning", "glm.irls"),
    **group(FIT, "em", "engine.best_of_restarts engine.run_em"),
    # ---- hmm, recursions, smc
    **group(FIT, "hmm", "em.fit_hmm em.hmm_sample inference.sample_states"),
    **group(CONSTRUCTOR, "hmm", "em.hmm_em_model"),
    **group(NO_SCALED_INPUT, "hmm", "inference.from_row_stochastic inference.to_row_stochastic"),
    **group(FIT, "recursions", "generic.particle_chain"),
    **group(FIT, "smc", "particle.backward_simulation resampling.resample resampling.resample_from_uniforms"),
    # ---- lgssm, graphical, assimilation
    **group(FIT, "lgssm", "em.fit_lgssm model.sample_lgssm"),
    **group(CONSTRUCTOR, "lgssm", "em.lgssm_em_model"),
    **group(VALIDATION, "lgssm", "model.check_params model.check_params_factored model.check_u model.check_y"),
    **group(NO_SCALED_INPUT, "graphical", "factor_graph.factor_node factor_graph.message_schedule "
             "factor_graph.var_node factors.dag_factors factors.indicator junction.triangulate separation.d_separated "
             "separation.moral_graph separation.separated separation.to_digraph"),
    **group(VALIDATION, "graphical", "factor_graph.check_tree factors.check_factor"),
    **group(NO_SCALED_INPUT, "assimilation", "lorenz.adjoint lorenz.cycle_jacobian lorenz.integrate "
             "lorenz.linear_dynamics lorenz.lorenz63 lorenz.propagate lorenz.tangent_linear lorenz.vector_field "
             "model.gaspari_cohn model.periodic_taper"),
    **group(FIT, "assimilation", "model.simulate"),
    **group(CONSTRUCTOR, "assimilation", "model.from_lgssm"),
    **group(VALIDATION, "assimilation", "model.check_model model.check_observations model.check_truth"),
    # ---- mixture, factor
    **group(FIT, "mixture", "em.fit_gmm em.fit_gmm_semi_supervised em.kmeans em.kmeans_plusplus model.gmm_sample"),
    **group(CONSTRUCTOR, "mixture", "em.gmm_em_model"),
    **group(FIT, "factor", "em.fa_em_step em.iterative_pca_step model.fa_sample sparse_coding.laplace_approximation "
             "sparse_coding.map_estimate sparse_coding.sample sparse_coding.sample_prior sparse_coding_em.batch_map "
             "sparse_coding_em.e_step sparse_coding_em.m_step sparse_coding_em.sparse_coding_em"),
    **group(CONSTRUCTOR, "factor", "em.fa_model em.iterative_pca_model em.ppca_model sparse_coding.make_model"),
    **group(VALIDATION, "factor", "sparse_coding.revalidate_model"),
    **group(DERIVATIVE, "factor", "sparse_coding.energy_gradient sparse_coding.energy_hessian "
             "sparse_coding.prior_energy_derivatives"),
    # ---- samplers, vi
    **group(FIT, "samplers", "conjugate.gibbs_normal_gamma conjugate.gibbs_normal_gamma_init "
             "conjugate.gibbs_normal_gamma_step mcmc.gibbs_step mcmc.hmc_step mcmc.init_chains mcmc.mala_step "
             "mcmc.rwmh_step mcmc.sample proposals.leapfrog"),
    **group(NO_SCALED_INPUT, "samplers", "mcmc.acceptance_rate targets.target_arrays"),
    **group(DATA, "samplers", "targets.ar1_gaussian targets.banana"),
    **group(CONSTRUCTOR, "samplers", "conjugate.normal_gamma_model targets.python_target"),
    **group(VALIDATION, "samplers", "conjugate.check_normal_gamma_model mcmc.check_chain_state targets.check_target"),
    **group(FIT, "vi", "amortized.fit_encoder amortized.fit_linear_vae bbvi.fit_gaussian_vi bgmm.cavi_bgmm "
             "flows.fit_flow_vi flows.flow_sample bbvi.gaussian_vi_sample"),
    **group(CONSTRUCTOR, "vi", "advi.unconstrained_target amortized.encoder bbvi.normal_normal_target "
             "bgmm.bgmm_prior bgmm.default_bgmm_prior flows.coupling_flow flows.flow_init"),
    **group(VALIDATION, "vi", "amortized.check_linear_gaussian_model bbvi.check_normal_normal bgmm.check_bgmm_posterior "
             "bgmm.check_bgmm_prior flows.check_flow"),
    **group(MONTE_CARLO, "vi", "bbvi.elbo_terms bbvi.reparam_terms bbvi.score_function_terms "
             "flows.flow_elbo_and_grads"),
    **group(NO_SCALED_INPUT, "vi", "advi.to_constrained"),
    # ---- deepgen, nn
    **group(MONTE_CARLO, "deepgen", "estimators.expo_reparameterize estimators.expo_terms estimators.shared_mean_terms "
             "gumbel.discrete_elbo gumbel.discrete_loss_and_grad vae.elbo_terms vae.loss_and_grad"),
    **group(DERIVATIVE, "deepgen", "ica.log_likelihood_gradient ica.natural_gradient nice.nll_and_grads"),
    **group(FIT, "deepgen", "gumbel.fit_discrete_vae gumbel.sample_gumbel ica.extended_infomax ica.fit_ica nice.fit_nice "
             "nice.sample vae.fit_vae"),
    **group(CONSTRUCTOR, "deepgen", "gumbel.discrete_vae gumbel.init_discrete_params nice.alternating_partitions "
             "nice.make_nice nice.nice_init vae.init_params vae.vae"),
    **group(VALIDATION, "deepgen", "gumbel.check_discrete_vae nice.check_nice vae.check_vae"),
    **group(NO_SCALED_INPUT, "deepgen", "ica.switching_signs nice.forward nice.forward_layers nice.inverse "
             "nice.leapfrog_couplings vae.decode vae.encode"),
    **group(NO_SCALED_INPUT, "nn", "infomax.amari_index infomax.mix infomax.rotation losses.one_hot network.mlp "
             "network.numerical_gradient network.relative_error optim.minibatches rnn.init_rnn rnn.rnn_forward "
             "infomax.psi infomax.source_kurtosis infomax.stability_constant"),
    **group(VALIDATION, "nn", "infomax.check_unmixing"),
    **group(DERIVATIVE, "nn", "infomax.gradient infomax.natural_gradient mi_clustering.mi_gradient rnn.rnn_bptt"),
    **group(FIT, "nn", "infomax.infomax infomax.sample_sources mi_clustering.fit_mi_clustering"),
    # ---- harmonium, contrastive, diffusion
    **group(FIT, "harmonium", "ais.ais_log_partition dbn.dbn_sample dbn.greedy_fit exact.train_exact gibbs.cd_epoch "
             "gibbs.draw_noise gibbs.gibbs_sample gibbs.train_rbm helmholtz.wake_sleep model.sample_hidden "
             "model.sample_visible recurrent.train_refh"),
    **group(DATA, "harmonium", "datasets.bars_and_stripes datasets.binarized_digits datasets.moving_bars"),
    **group(NO_SCALED_INPUT, "harmonium", "exact.state_index exact.states exact.empirical_distribution "
             "model.family_code"),
    **group(CONSTRUCTOR, "harmonium", "helmholtz.init_helmholtz model.init_params recurrent.init_refh"),
    **group(VALIDATION, "harmonium", "model.check_layer model.check_params"),
    **group(DERIVATIVE, "harmonium", "exact.exact_gradient exact.expected_cd_gradient helmholtz.expected_wake_update "
             "helmholtz.wake_update"),
    **group(FIT, "contrastive", "infonce.fit_critic infonce.sample_correlated_gaussian local_nce.fit_local_nce "
             "nce.fit_nce nce.newton_minimize"),
    **group(DERIVATIVE, "contrastive", "infonce.infonce_grad local_nce.local_nce_grad local_nce.local_nce_hessian "
             "nce.nce_grad nce.nce_hessian"),
    **group(VALIDATION, "contrastive", "cpc.check_window_predictor"),
    **group(NO_SCALED_INPUT, "contrastive", "cpc.cpc_windows nce.quadratic_features local_nce.local_nce_offset"),
    **group(DATA, "diffusion", "data.ring_mixture data.two_moons"),
    **group(NO_SCALED_INPUT, "diffusion", "data.nn_distance_ratio forward.levels losses.time_features"),
    **group(CONSTRUCTOR, "diffusion", "losses.denoiser losses.init_denoiser"),
    **group(VALIDATION, "diffusion", "losses.check_denoiser schedules.check_schedule"),
    **group(FIT, "diffusion", "losses.train_denoiser sampling.ancestral_sample sampling.annealed_langevin "
             "sampling.langevin_gmm"),
    **group(MONTE_CARLO, "diffusion", "losses.denoiser_loss losses.loss_terms"),
}


def registry() -> dict:
    """Every registered public function: the names of its cases, or the reason it has none."""
    entries = {}
    for name, (_, keys, _) in sorted(CASES.items()):
        for key in keys:
            entries.setdefault(key, []).append(name)
    return {**{k: tuple(v) for k, v in entries.items()}, **{k: r for k, r in NOT_SWEPT.items() if k not in entries}}


def test_the_registry_names_public_functions_once():
    public = {k for f in fuzz_cases.FAMILIES for k in fuzz_cases.public_functions(f)}
    covered = {k for _, keys, _ in CASES.values() for k in keys}
    unknown = sorted((covered | set(NOT_SWEPT)) - public)
    assert not unknown, f"cases or NOT_SWEPT name functions that are not public: {unknown}"
    both = sorted(covered & set(NOT_SWEPT))
    assert not both, f"swept and listed in NOT_SWEPT: {both}"
    assert all(isinstance(r, str) and r and "\n" not in r for r in NOT_SWEPT.values()), "a reason is one line"


def test_a_function_named_for_a_scaled_argument_is_not_exempt_as_taking_none():
    """The argument-name rule of issue 53 now guards the reasons: a public function whose signature names a
    potential, density, variance or normalizer cannot be listed as taking none."""
    wrong = []
    for key, reason in NOT_SWEPT.items():
        if reason != NO_SCALED_INPUT:
            continue
        try:
            params = inspect.signature(fuzz_cases._fn(key)).parameters
        except (TypeError, ValueError):
            continue
        if SCALED_ARGUMENTS & set(params):
            wrong.append(f"{key} ({', '.join(sorted(SCALED_ARGUMENTS & set(params)))})")
    assert not wrong, f"listed as taking no scaled quantity, but named for one: {wrong}"


# ================================================================================ the edges of the ranges
def _edge_cases():
    from pedagogy_lib.assimilation import gaussian_moments
    from pedagogy_lib.contrastive import infonce
    from pedagogy_lib.contrastive.cpc import subspace_cosine
    from pedagogy_lib.deepgen.vae import gaussian_kl, reparameterize
    from pedagogy_lib.diffusion import ddpm_schedule
    from pedagogy_lib.graphical import random_tree
    from pedagogy_lib.harmonium import recurrent

    y = np.ones((4, 2))
    refh = recurrent.init_refh(3, 2, np.random.default_rng(0))
    return [
        ("subspace_cosine of a zero vector", lambda: subspace_cosine(np.zeros(3), np.ones(3)), "u", ()),
        ("subspace_cosine of dependent columns", lambda: subspace_cosine(np.ones((3, 2)), np.eye(3)[:, :2]), "u", ()),
        ("reparameterize with log_v2 = 1500", lambda: reparameterize(np.zeros((1, 2)), np.full((1, 2), 1500.0),
                                                                     np.ones((1, 2))), "log_v2", ()),
        ("gaussian_kl with log_v2 = 1500", lambda: gaussian_kl(np.zeros((1, 2)), np.full((1, 2), 1500.0)), "log_v2",
         ()),
        ("predictive_log_probs with T = 0", lambda: recurrent.predictive_log_probs(refh, np.zeros((2, 0, 3))), "Y",
         ()),
        ("ddpm_schedule with betas 1e-310", lambda: ddpm_schedule(np.full(3, 1e-310)), "betas", ("lam_max must",)),
        ("random_tree with coupling 1e3", lambda: random_tree(5, 2, np.random.default_rng(0), coupling=1e3),
         "coupling", ("psi",)),
        ("random_tree with coupling 'a'", lambda: random_tree(5, 2, np.random.default_rng(0), coupling="a"),
         "coupling", ()),
        ("critic_scores with an asymmetric B", lambda: infonce.critic_scores(
            infonce.QuadraticCritic(np.eye(2), np.array([[0.0, 1.0], [0.0, 0.0]])), y, y, 2), "B", ()),
        ("gaussian_moments narrower than double precision around mu",
         lambda: gaussian_moments(lambda x: x, 2.0, 1e-150), "Upsilon", ()),
    ]


@pytest.mark.parametrize("index", range(10))
def test_the_edge_of_a_range_is_refused_by_name(index):
    what, call, name, not_named = _edge_cases()[index]
    with pytest.raises((ValueError, TypeError)) as err:
        quiet(call)
    message = str(err.value)
    assert re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message), f"{what}: {message}"
    for other in not_named:
        assert other not in message, f"{what}: the message names {other!r}, which the caller did not pass: {message}"


@pytest.mark.parametrize("caller", ["kalman_filter", "kalman_smoother", "sample_lgssm", "particle_filter", "ffbsm",
                                    "fit_lgssm"])
@pytest.mark.parametrize("field", ["A", "mu1"])
def test_the_lgssm_magnitude_refusal_is_true_for_every_caller(caller, field):
    """A linear-Gaussian model with an entry beyond 1e75 is refused by every function that takes one, and the
    reason given is the model's, true whoever called: it said "the Kalman recursions form ..." to callers of
    the particle filter, its smoother, sampling and EM, which run no Kalman recursion."""
    from pedagogy_lib.lgssm import LGSSMParams, fit_lgssm, kalman_filter, kalman_smoother, sample_lgssm
    from pedagogy_lib.smc import ffbsm, particle_filter
    n = m = 2
    good = LGSSMParams(np.zeros(n), np.eye(n), 0.9 * np.eye(n), None, np.zeros(n), 0.1 * np.eye(n), np.eye(m, n),
                       np.zeros(m), 0.5 * np.eye(m))
    big = good._replace(**{field: getattr(good, field) + 1e80})
    y = np.random.default_rng(0).standard_normal((6, m))
    calls = {"kalman_filter": lambda: kalman_filter(big, y), "kalman_smoother": lambda: kalman_smoother(big, y),
             "sample_lgssm": lambda: sample_lgssm(big, 6, rng=np.random.default_rng(1)),
             "particle_filter": lambda: particle_filter(big, y, np.random.default_rng(1), 20),
             "ffbsm": lambda: ffbsm(big, particle_filter(good, y, np.random.default_rng(1), 20)),
             "fit_lgssm": lambda: fit_lgssm(y, n, init=big, max_iter=2)}
    with pytest.raises(ValueError, match=rf"^{field} has an entry of magnitude 1e\+80: ") as err:
        quiet(calls[caller])
    message = str(err.value)
    assert "Kalman" not in message and "recursion" not in message, message
    assert "the model's" in message and "1e+75" in message, message
