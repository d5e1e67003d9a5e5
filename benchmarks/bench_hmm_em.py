"""Baum-Welch for a Gaussian HMM: one iteration against hmmlearn, and the fit loop against a plain one.

Ours, against the peer: ``hmm_em.hmm_m_step(hmm_em.hmm_suff_stats(params, y))``, one iteration taken by
hand through the two public functions, so each validates its input: emission log densities, the numba
alpha-gamma smoother with summed pairwise marginals, the expected sufficient statistics and the
closed-form M step. Peer: hmmlearn's ``GaussianHMM`` (full covariances) running the two methods its
``fit`` loop calls once per iteration, ``_do_estep`` and ``_do_mstep``, with its default
``implementation="log"`` (and, in the note, ``"scaling"``). Before timing, one iteration of both from
the same parameters must agree (pi, A, means, covariances to 1e-8 relative).

Conventions: the book's A is column-stochastic, hmmlearn's ``transmat_`` is ``A.T``;
``covars_prior=0`` turns off hmmlearn's additive covariance prior, so both are plain EM.

The sweep (``_harness.sweep``, :func:`_sweep_rows`) times what a reader runs to fit, ``fit_hmm`` for
:data:`N_ITER` iterations from a given start (``tol=0``, no covariance floor): the data and start
validated once, then per iteration the E step, the M step on the statistics it just made (not checked
again), the ELBo and the log likelihood. The plain reference (``ref_hmm_em.py``) runs the same number of
its iterations (emission log densities in NumPy, one Cholesky factor and one triangular solve per state,
the plain numba smoother of ``ref_hmm.py``, the M step in NumPy; no validation) and one more smoother
pass for the last log likelihood. Sizes: K = 2, 3 and 8 states, T = 200, 2,000 and 20,000 steps, D = 2
(the book's Baum-Welch example runs K = 3 with T = 40 and 200). The final pi, A, means and covariances
(rtol 1e-7) and every log likelihood (rtol 1e-10) are checked to agree first. Target ours <= 1.2 x
reference at every size; the last row repeats the sweep's worst ratio.

Where the time goes at the short sizes: our compiled smoother is faster than the plain one and the
emission densities (one batched solve for all states) cost the same, but each of our iterations also
evaluates the ELBo the fit records, which needs Q at the old and at the new parameters (the posterior
entropy is log p(y) - Q(old); about 45 µs each at K = 2, D = 2), and the M step guards against states
that receive no visits. The reference computes neither. So ours is about 2.4 x the reference at K = 2,
T = 200 (0.33 ms an iteration against 0.14 ms), 1.3 to 1.5 x at K = 2 and 3 with T = 2,000, and within
1.1 x at K = 8 and at T = 20,000.
"""
from __future__ import annotations

import warnings

import numpy as np

from _harness import best_time, row, sweep

T, D = 10_000, 2
TARGET = 1.0                      # not slower than hmmlearn's default
N_ITER = 10                       # iterations per timed fit in the sweep


def _problem(K: int, seed: int = 0, steps: int = T):
    from pedagogy_lib.hmm import em as he
    rng = np.random.default_rng(seed)
    A = rng.dirichlet(np.ones(K), size=K).T + 6.0 * np.eye(K)
    A /= A.sum(axis=0, keepdims=True)
    G = rng.standard_normal((K, D, D))
    true = he.GaussianHMMParams(np.full(K, 1.0 / K), A, 4.0 * rng.standard_normal((K, D)),
                                np.einsum("kij,klj->kil", G, G) / D + 0.5 * np.eye(D))
    _, y = he.hmm_sample(rng, true, steps)
    # a start away from the truth: means at random data points, pooled covariance
    C = np.cov(y.T, bias=True)
    init = he.GaussianHMMParams(rng.dirichlet(np.ones(K)), np.ascontiguousarray(rng.dirichlet(np.ones(K), size=K).T),
                                y[rng.choice(steps, K, replace=False)], np.stack([C] * K))
    return init, y


def _peer(init, implementation):
    from hmmlearn.hmm import GaussianHMM
    m = GaussianHMM(init.pi.shape[0], covariance_type="full", init_params="", params="stmc", n_iter=1,
                    covars_prior=0.0, implementation=implementation)
    m.startprob_, m.transmat_, m.means_, m.covars_ = init.pi, init.A.T, init.mu, init.Sigma
    m.n_features = D
    return m


def _peer_iteration(m, init, y):
    m.startprob_, m.transmat_, m.means_, m.covars_ = init.pi, init.A.T, init.mu, init.Sigma
    stats, _ = m._do_estep(y, None)
    m._do_mstep(stats)
    return m


#: The sweep against the plain reference: ``(K, T)`` over the states and lengths a reader uses (D = 2).
SWEEP = tuple((K, steps) for steps in (200, 2_000, 20_000) for K in (2, 3, 8))


def _fit(init, y):
    from pedagogy_lib.em import ConvergenceWarning
    from pedagogy_lib.hmm import em as he
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)        # N_ITER iterations, not convergence
        return he.fit_hmm(y, init.pi.shape[0], init=init, max_iter=N_ITER, tol=0.0, reg_covar=0.0)


def _sweep_rows() -> list[dict]:
    """``fit_hmm`` for :data:`N_ITER` iterations against as many plain ones (``ref_hmm_em.reference_fit``) over
    :data:`SWEEP`, the final parameters and every log likelihood checked first; the last row repeats the
    worst ratio."""
    from ref_hmm_em import reference_fit
    cases = []
    for K, steps in SWEEP:
        init, y = _problem(K, steps=steps)
        ours, ref = _fit(init, y), reference_fit(*init, y, N_ITER)
        assert ours.n_iter == N_ITER, f"sweep K={K} T={steps}: the fit stopped after {ours.n_iter} iterations"
        for name, a, b in zip(("pi", "A", "mu", "Sigma"), ours.params, ref):
            np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9, err_msg=f"sweep K={K} T={steps}: {name}")
        np.testing.assert_allclose(ours.log_lik, ref[4], rtol=1e-10, err_msg=f"sweep K={K} T={steps}: log_lik")
        cases.append((f"K = {K}, T = {steps}, D = {D}",
                      lambda init=init, y=y: _fit(init, y),
                      lambda init=init, y=y: reference_fit(*init, y, N_ITER)))
    return sweep(f"Baum-Welch fit, {N_ITER} iterations, Gaussian full cov. vs plain NumPy + numba, sweep",
                 "plain reference (`benchmarks/ref_hmm_em.py`)", cases,
                 note="validation once, ELBo recorded; final parameters and every log likelihood agree "
                      "(checked first); timed in alternation")


def run() -> list[dict]:
    from pedagogy_lib.hmm import em as he
    rows = []
    for K in (3, 10):
        init, y = _problem(K)
        ours = he.hmm_m_step(he.hmm_suff_stats(init, y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m_log = _peer(init, "log")
            m_scl = _peer(init, "scaling")
            m_log.fit(y)                                              # one full iteration through fit
            for a, b in ((ours.pi, m_log.startprob_), (ours.A, m_log.transmat_.T), (ours.mu, m_log.means_),
                         (ours.Sigma, m_log.covars_)):
                np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
            t_ours = best_time(lambda: he.hmm_m_step(he.hmm_suff_stats(init, y)), repeat=5)
            t_log = best_time(lambda: _peer_iteration(m_log, init, y), repeat=3)
            t_scl = best_time(lambda: _peer_iteration(m_scl, init, y), repeat=3)
            np.testing.assert_allclose(m_scl.covars_, ours.Sigma, rtol=1e-8, atol=1e-10)
        ratio = t_log / t_ours
        rows.append(row("Baum-Welch iteration (E + M), Gaussian full cov.", f"T=1e4, D=2, K={K}", t_ours,
                        peer_name="hmmlearn `GaussianHMM` (log, default)", peer=t_log,
                        target=f">= {TARGET:g}x", met=bool(ratio >= TARGET),
                        note=f"hmmlearn scaling impl. {t_scl * 1e3:.3g} ms; one-iteration agreement checked "
                             "(pi, A, means, covariances)"))
    return rows + _sweep_rows()


if __name__ == "__main__":
    for r in run():
        print(r)
