"""Scale cases of the discrete, hmm, recursions, smc, mixture, em, samplers and nn families (the method: tests/library/test_scales.py)."""
from __future__ import annotations

import numpy as np
import pytest

from scale_kit import LINEAR_EXPONENTS, case, close, quiet

#: This module's public functions without a case, with the reason.
NOT_SWEPT: dict = {}


def _rare(s):
    """A probability that is rare at both ends of the sweep: ``0.3 min(s, 1/s)`` (1e-150 .. 0.3)."""
    return 0.3 * min(s, 1.0 / s)


def _mp_discrepancy(J, given):
    """max over g (p(g) > 0) of |p(a, c | g) - p(a | g) p(c | g)| of a nested mpmath joint ``J[a][b][c]``."""
    import mpmath as mp
    K = len(J)
    worst = mp.mpf(0)
    if given:                                                  # a and c given b
        configs = [[[J[a][b][c] for c in range(K)] for a in range(K)] for b in range(K)]
    else:
        configs = [[[mp.fsum(J[a][b][c] for b in range(K)) for c in range(K)] for a in range(K)]]
    for p in configs:
        tot = mp.fsum(x for r in p for x in r)
        if tot == 0:
            continue
        p = [[x / tot for x in r] for r in p]
        pa, pc = [mp.fsum(r) for r in p], [mp.fsum(p[a][c] for a in range(K)) for c in range(K)]
        worst = max(worst, max(abs(p[a][c] - pa[a] * pc[c]) for a in range(K) for c in range(K)))
    return worst


# ================================================================================ discrete
@case("discrete.categorical.ci_discrepancy", "discrete.categorical.is_independent", "discrete.categorical.conditional")
def case_independence_with_rare_entries(s, rng):
    """A chain a -> b -> c whose tables hold ``t = 0.3 min(s, 1/s)`` and ``t^2`` (to 1e-300): the
    discrepancy of a and c marginally (of order t) and given b (exactly 0) against mpmath enumeration; the
    independence test agrees with that discrepancy against a tolerance a decade away from it. (2) A
    conditioning event of probability ``t^2`` (below the floats at the ends of the sweep) on which a and c
    depend, beside a likely one on which they do not: the discrepancy is that of the rare event,
    computed exactly; the float joint table lost its digits at 1e-320 and skipped it as impossible below
    that, calling a and c independent."""
    import mpmath as mp

    from pedagogy_lib.discrete import categorical as cat
    t = _rare(s) * rng.uniform(0.5, 1.0)
    pa, Pb, Pc = np.array([1 - t, t]), np.array([[1 - t, 0.5], [t, 0.5]]), np.array([[0.9, t * t], [0.1, 1 - t * t]])
    dag = quiet(cat.make_dag, {"a": pa, "b": Pb, "c": Pc}, {"b": ["a"], "c": ["b"]})
    with mp.workdps(60):
        J = [[[mp.mpf(float(pa[a])) * mp.mpf(float(Pb[b, a])) * mp.mpf(float(Pc[c, b])) for c in range(2)]
              for b in range(2)] for a in range(2)]
        marginal = float(_mp_discrepancy(J, False))
    # a difference of probabilities of order 1: its round-off is a few 1e-16 whatever the route
    close(quiet(cat.ci_discrepancy, dag, "a", "c"), marginal, rtol=1e-9, atol=1e-15, what="discrepancy of a and c")
    close(quiet(cat.ci_discrepancy, dag, "c", "a", ["b"]), 0.0, atol=1e-15, what="discrepancy of a and c given b")
    assert quiet(cat.is_independent, dag, "a", "c", ["b"]), "a and c given b"
    for atol in (marginal * 10.0, marginal / 10.0):
        if atol > 1e-13:                                        # well above that round-off
            assert quiet(cat.is_independent, dag, "a", "c", atol=atol) == (marginal <= atol), \
                f"a and c marginally, discrepancy {marginal:.3g}, atol {atol:.3g}"
    pg1, Pg2 = np.array([1 - t, t]), np.array([[1.0, 1 - t], [0.0, t]])
    Pa = np.array([[0.5, 0.3], [0.5, 0.7]])                       # p(a | g2)
    Pc = np.zeros((2, 2, 2))                                      # p(c | a, g2)
    Pc[:, :, 0], Pc[:, :, 1] = [[0.9, 0.9], [0.1, 0.1]], [[0.9, 0.1], [0.1, 0.9]]
    dag = quiet(cat.make_dag, {"g1": pg1, "g2": Pg2, "a": Pa, "c": Pc}, {"g2": ["g1"], "a": ["g2"], "c": ["a", "g2"]})
    rare = np.array([0.3, 0.7])[:, None] * np.array([[0.9, 0.1], [0.1, 0.9]])   # p(a, c | g2 = 1), exact
    exact = np.abs(rare - np.outer(rare.sum(axis=1), rare.sum(axis=0))).max()
    for given in (["g2"], ["g1", "g2"]):
        close(quiet(cat.ci_discrepancy, dag, "a", "c", given), exact, rtol=1e-12, what=f"discrepancy given {given}")
        assert not quiet(cat.is_independent, dag, "a", "c", given), f"a and c given {given}"
    close(np.ravel(quiet(cat.conditional, dag, ["a", "c"], {"g2": 1})), rare.ravel(), rtol=1e-12,
          what="p(a, c | g2 = 1)")


@case("discrete.markov_chain.mixing_time", "discrete.markov_chain.mixing_time_bounds")
def case_mixing_with_a_rare_state(s, rng):
    """Two states left with probabilities ``t = 0.3 min(s, 1/s)`` (to 1e-150) and 0.3: the distance to
    stationarity is ``max(pi) (0.7 - t)^k`` with ``pi = (0.3, t) / (0.3 + t)``, so the mixing time is the first k
    where that falls to eps (found in mpmath), and the relaxation time is ``1 / (0.3 + t)``; the bounds'
    ``log(1 / (eps pi_min))`` reaches 345 nats. A birth-death chain up with probability t and down with 1/2
    has ``pi`` proportional to ``(1, 2t, 4t^2, 8t^3)``, below the floats at the ends: its upper bound against
    mpmath (eigenvalues of P at 40 digits); ``1 / (eps pi_min)`` made it inf below t = 1e-103."""
    import mpmath as mp

    from pedagogy_lib.discrete import markov_chain as mc
    t = _rare(s) * rng.uniform(0.5, 1.0)
    P = np.array([[1.0 - t, 0.3], [t, 0.7]])
    with mp.workdps(50):
        T = mp.mpf(float(t))
        top, lam = mp.mpf("0.3") / (mp.mpf("0.3") + T), mp.mpf("0.7") - T
        for eps in (0.25, float(rng.uniform(0.01, 0.4))):
            k = int(mp.ceil(mp.log(mp.mpf(eps) / top) / mp.log(lam)))
            k = max(k, 0)
            d = [top * lam ** j for j in (k - 1, k) if j >= 0]
            if min(abs(x / eps - 1) for x in d) < 1e-9:
                continue                                        # d(k) on the threshold: rounding decides
            assert quiet(mc.mixing_time, P, eps) == k, f"mixing time at eps = {eps}"
            t_rel = 1 / (mp.mpf("0.3") + T)
            pi_min = min(T, mp.mpf("0.3")) / (mp.mpf("0.3") + T)
            b = quiet(mc.mixing_time_bounds, P, eps)
            close([b.lower, b.upper, b.t_rel], [float((t_rel - 1) * mp.log(1 / (2 * mp.mpf(eps)))),
                                                float(t_rel * mp.log(1 / (mp.mpf(eps) * pi_min))), float(t_rel)],
                  rtol=1e-10, what=f"mixing-time bounds at eps = {eps}")
    P = np.diag([1.0 - t, 0.5 - t, 0.5 - t, 0.5]) + np.diag([t, t, t], -1) + np.diag([0.5, 0.5, 0.5], 1)
    with mp.workdps(40):
        T = mp.mpf(float(t))
        Pm = mp.matrix([[mp.mpf(float(v)) for v in r] for r in P])
        Pm[0, 0], Pm[1, 1], Pm[2, 2] = 1 - T, mp.mpf("0.5") - T, mp.mpf("0.5") - T
        lams = sorted((abs(x) for x in mp.eig(Pm, left=False, right=False)), reverse=True)
        t_rel = 1 / (1 - lams[1])
        pi_min = 8 * T ** 3 / (1 + 2 * T + 4 * T ** 2 + 8 * T ** 3)
        ref = [float(t_rel * mp.log(1 / (mp.mpf("0.25") * pi_min))), float(t_rel)]
    b = quiet(mc.mixing_time_bounds, P, 0.25)
    close([b.upper, b.t_rel], ref, rtol=1e-9, what="upper bound, rarest state below the floats")


# ================================================================================ hmm
@case("hmm.em.hmm_suff_stats", "hmm.em.hmm_m_step", "hmm.em.hmm_expected_log_joint")
def case_hmm_em_units_and_rare_emissions(s, rng):
    """(1) A Gaussian HMM with data, means and standard deviations in units of s (covariances times s^2):
    the occupancies unchanged, the emission statistics times s and s^2, the M step's means times s and
    covariances times s^2, and Q shifted by ``-N D log s``, against the call at scale 1. (2) A categorical
    HMM whose emission table holds ``t = 0.3 min(s, 1/s)`` and ``t^2``: Q against the statistics' own
    formula in mpmath (``sum g log pi + sum Xi log A + sum counts log B``), and the M step's B against
    ``counts / N_k``; the smoother's statistics held against the sum over all paths in mpmath."""
    import itertools

    import mpmath as mp

    from pedagogy_lib.hmm import CategoricalHMMParams, GaussianHMMParams
    from pedagogy_lib.hmm.em import hmm_expected_log_joint, hmm_m_step, hmm_suff_stats
    K, D, T = 3, 2, 6
    pi, A = np.array([0.2, 0.5, 0.3]), rng.dirichlet(np.ones(K), K).T
    mu, Sig = rng.normal(size=(K, D)) * 2, np.array([np.eye(D) * v for v in (0.5, 1.0, 2.0)])
    y = [rng.normal(size=(T, D)) * 1.5, rng.normal(size=(T - 2, D))]
    p1, ps = GaussianHMMParams(pi, A, mu, Sig), GaussianHMMParams(pi, A, mu * s, Sig * s * s)
    st1, st = hmm_suff_stats(p1, y), quiet(hmm_suff_stats, ps, [v * s for v in y])
    for f in ("gamma_1", "xi_sum", "N_k"):
        close(getattr(st, f), getattr(st1, f), rtol=1e-9, atol=1e-12, what=f"HMM statistic {f}")
    close(st.sum_d, st1.sum_d * s, rtol=1e-9, atol=1e-12 * s, what="sum of deviations")
    close(st.sum_dd, st1.sum_dd * s * s, rtol=1e-9, atol=1e-12 * s * s, what="sum of squared deviations")
    n_obs = sum(len(v) for v in y)
    close(quiet(hmm_expected_log_joint, ps, st), hmm_expected_log_joint(p1, st1) - n_obs * D * np.log(s), rtol=1e-11,
          atol=1e-8, what="Q, Gaussian emissions")
    m1, m = hmm_m_step(st1), quiet(hmm_m_step, st)
    close(m.pi, m1.pi, rtol=1e-9, atol=1e-14, what="M-step pi")
    close(m.A, m1.A, rtol=1e-9, atol=1e-14, what="M-step A")
    close(m.mu, m1.mu * s, rtol=1e-9, atol=1e-12 * s, what="M-step means")
    close(m.Sigma, m1.Sigma * s * s, rtol=1e-9, atol=1e-12 * s * s, what="M-step covariances")
    t = _rare(s) * rng.uniform(0.5, 1.0)
    B = np.array([[t, 0.5, 1 - t * t], [1 - t, 0.25, t * t], [0.0, 0.25, 0.0]])
    K2 = 3
    cp = CategoricalHMMParams(np.full(K2, 1 / 3), np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]]), B)
    yc = np.array([0, 1, 0, 2])
    T2 = len(yc)
    stc = quiet(hmm_suff_stats, cp, yc)
    with mp.workdps(40):
        mpi, mA, mB = ([mp.mpf(float(a)) for a in cp.pi], [[mp.mpf(float(a)) for a in r] for r in cp.A],
                       [[mp.mpf(float(a)) for a in r] for r in B])
        w = {}
        for path in itertools.product(range(K2), repeat=T2):
            p = mpi[path[0]] * mB[yc[0]][path[0]]
            for u in range(1, T2):
                p *= mA[path[u]][path[u - 1]] * mB[yc[u]][path[u]]
            w[path] = p
        Z = mp.fsum(w.values())
        g, Xi, cnt = [mp.mpf(0)] * K2, [[mp.mpf(0)] * K2 for _ in range(K2)], [[mp.mpf(0)] * K2 for _ in range(3)]
        for path, p in w.items():
            p = p / Z
            g[path[0]] += p
            for u in range(T2):
                cnt[yc[u]][path[u]] += p
                if u:
                    Xi[path[u]][path[u - 1]] += p
        Nk = [mp.fsum(cnt[v][k] for v in range(3)) for k in range(K2)]
        close(stc.gamma_1, [float(x) for x in g], rtol=1e-9, atol=1e-300, what="g, categorical")
        close(stc.xi_sum, [[float(x) for x in r] for r in Xi], rtol=1e-9, atol=1e-300, what="Xi, categorical")
        close(stc.counts, [[float(x) for x in r] for r in cnt], rtol=1e-9, atol=1e-300, what="counts, categorical")
        lg = lambda x, a: x * mp.log(a) if x > 0 else mp.mpf(0)  # noqa: E731  0 log 0 = 0
        Q = (mp.fsum(lg(g[k], mpi[k]) for k in range(K2)) + mp.fsum(lg(Xi[i][j], mA[i][j]) for i in range(K2)
                                                                  for j in range(K2))
             + mp.fsum(lg(cnt[v][k], mB[v][k]) for v in range(3) for k in range(K2)))
        close(quiet(hmm_expected_log_joint, cp, stc), float(Q), rtol=1e-9, atol=1e-9, what="Q, categorical")
        close(quiet(hmm_m_step, stc).B, [[float(cnt[v][k] / Nk[k]) for k in range(K2)] for v in range(3)], rtol=1e-9,
              atol=1e-300, what="M-step B")


# ================================================================================ recursions, smc
def _gauss_transition(a, v):
    """``log p(x_next | x_prev) = log N(x_next; a x_prev, v I)`` as the ``(J, I)`` matrix the particle backend asks for."""
    def log_density(x_next, x_prev, t):
        d = x_next[:, None, :] - a * x_prev[None, :, :]
        return -0.5 * np.sum(d * d, axis=2) / v - 0.5 * x_next.shape[1] * np.log(2 * np.pi * v)
    return log_density


@case("recursions.generic.categorical_log_lik", "recursions.generic.particle_backward_matrix")
def case_particle_backward_and_rare_symbols(s, rng):
    """(1) Particles, query points and the transition's standard deviation in units of s (a density times
    1/s per coordinate, and a second transition times s^3 on top, unnormalized): the reversed transition
    is unchanged, against the ratio of Eq. 2.60 at scale 1 in plain floats. (2) An emission table holding
    ``t = 0.3 min(s, 1/s)`` and ``t^2``: its log likelihoods against mpmath logs."""
    import mpmath as mp

    from pedagogy_lib.recursions import generic as G
    I, J, n = 6, 4, 2
    x, xq = rng.normal(size=(I, n)), rng.normal(size=(J, n)) * 1.5
    w = rng.dirichlet(np.ones(I))
    w[0] = 0.0 if rng.uniform() < 0.5 else w[0]                # a particle of weight 0 keeps row 0
    w /= w.sum()
    with np.errstate(divide="ignore"):
        log_w = np.log(w)
    v = 0.7
    ratio = w[:, None] * np.exp(_gauss_transition(0.9, v)(xq, x, 1)).T
    ref = ratio / ratio.sum(axis=0)
    src = G.Particles(x * s, log_w)
    close(quiet(G.particle_backward_matrix, G.ParticleBackward(src, _gauss_transition(0.9, v * s * s), 1), xq * s), ref,
          rtol=1e-9, atol=1e-15, what="reversed transition, units of s")
    shifted = _gauss_transition(0.9, v * s * s)
    close(quiet(G.particle_backward_matrix, G.ParticleBackward(src, lambda a, b, t: shifted(a, b, t) + 3 * np.log(s), 1),
                xq * s), ref, rtol=1e-9, atol=1e-15, what="reversed transition, density times s^3")
    t = _rare(s) * rng.uniform(0.5, 1.0)
    C = np.array([[t, 0.5, 1 - t * t], [1 - t, 0.5, t * t]])
    y = np.array([0, 1, 1, 0])
    with mp.workdps(30):
        exact = [[float(mp.log(mp.mpf(float(C[v_, k])))) for k in range(3)] for v_ in y]
    close(quiet(G.categorical_log_lik, C, y), exact, rtol=1e-14, what="categorical log likelihoods")


@case("smc.particle.ffbsm")
def case_ffbsm_units(s, rng):
    """A linear-Gaussian model, its filter's particles, means and standard deviations in units of s
    (covariances times s^2): FFBSm's smoothing weights, both backends, are unchanged, against Eqs. 2.60-2.61
    at scale 1 in plain floats from the same particles and weights. The LGSSM's own check refuses entries
    beyond 1e75 (by name, with that range); the generic route, the same model as callables whose
    transition density also carries a factor s^3, is swept over the whole range."""
    from pedagogy_lib.lgssm import LGSSMParams
    from pedagogy_lib.smc import StateSpaceModel
    from pedagogy_lib.smc.particle import ffbsm, particle_filter
    n, m, T, I = 2, 2, 5, 12
    Ax, Sx = np.array([[0.9, 0.2], [-0.1, 0.8]]), np.array([[0.3, 0.1], [0.1, 0.4]])
    p1 = LGSSMParams(np.zeros(n), np.eye(n), Ax, None, np.array([0.1, -0.2]), Sx, rng.normal(size=(m, n)),
                     np.zeros(m), np.eye(m) * 0.5)
    pf = particle_filter(p1, rng.normal(size=(T, m)), np.random.default_rng(int(rng.integers(1 << 30))), I,
                         ess_threshold=0.5)
    Li = np.linalg.inv(Sx)
    beta = np.exp(pf.log_alpha.copy())
    for t in range(T - 1, 0, -1):
        d = pf.x[t][:, None, :] - (pf.x[t - 1] @ Ax.T + p1.a)[None, :, :]          # [k, j]
        Mp = np.exp(-0.5 * np.einsum("kja,ab,kjb->kj", d, Li, d)) * np.exp(pf.log_alpha[t - 1])[None, :]
        beta[t - 1] = (beta[t][:, None] * Mp / Mp.sum(axis=1, keepdims=True)).sum(axis=0)
    ps = p1._replace(mu1=p1.mu1 * s, Sigma1=p1.Sigma1 * s * s, a=p1.a * s, Sigma_x=Sx * s * s, c=p1.c * s,
                     Sigma_y_x=p1.Sigma_y_x * s * s)
    pfs = pf._replace(x=pf.x * s)
    for backend in ("numba", "numpy"):
        if s * s > 1e75:
            with pytest.raises(ValueError, match=r"(?s)Sigma1.*1e\+75"):
                quiet(ffbsm, ps, pfs, backend=backend)
        else:
            close(quiet(ffbsm, ps, pfs, backend=backend), beta, rtol=1e-9, atol=1e-14, what=f"FFBSm weights ({backend})")
    Lis, a_s, c3 = Li / s / s, p1.a * s, 3 * np.log(s)

    def log_transition(x_next, x_prev, t):
        d = x_next[:, None, :] - (x_prev @ Ax.T + a_s)[None, :, :]
        return -0.5 * np.einsum("kja,ab,kjb->kj", d, Lis, d) + c3

    def never(*args):
        raise AssertionError("FFBSm draws nothing and reads no observation")
    close(quiet(ffbsm, StateSpaceModel(never, never, never, log_transition), pfs), beta, rtol=1e-9, atol=1e-14,
          what="FFBSm weights (generic)")


# ================================================================================ mixture
def _mp_log_joint(y, mu, Sig, pi):
    """``log pi_k + log N(y; mu_k, Sigma_k)`` in mpmath (at the working precision), ``[n][k]``."""
    import mpmath as mp
    comps = []
    for m, S, p in zip(mu, Sig, pi):
        Sm = mp.matrix([[mp.mpf(float(a)) for a in r] for r in S])
        comps.append(([mp.mpf(float(a)) for a in m], mp.inverse(Sm),
                      mp.log(mp.mpf(float(p))) - len(m) * mp.log(2 * mp.pi) / 2 - mp.log(mp.det(Sm)) / 2))
    out = []
    for v in y:
        row = []
        for m, P, c in comps:
            d = [mp.mpf(float(a)) - b for a, b in zip(v, m)]
            row.append(c - mp.fsum(d[i] * P[i, j] * d[j] for i in range(len(d)) for j in range(len(d))) / 2)
        out.append(row)
    return out


@case("mixture.em.clamped_responsibilities", "mixture.em.semi_supervised_log_lik", "mixture.em.gmm_elbo",
      "mixture.em.gmm_stats_from_responsibilities", "mixture.model.boundary_value")
def case_semi_supervised_units(s, rng):
    """Data, means and standard deviations in units of s (covariances times s^2), three components, one of
    weight 1e-200, labels on some points: the clamped responsibilities and the semi-supervised log likelihood
    (shifted by ``-N L log s``) against mpmath at scale 1; the ELBo of any recognition distribution (one-hot
    and soft rows) against ``sum r (log p(k, y) - log r)`` in mpmath, shifted the same way, from statistics
    that scale as the data's moments; the LDA and QDA logit differences unchanged."""
    import mpmath as mp

    from pedagogy_lib import mixture as mx
    from pedagogy_lib.mixture.em import (clamped_responsibilities, gmm_elbo, gmm_stats_from_responsibilities,
                                         semi_supervised_log_lik)
    N, L = 5, 2
    pi = np.array([0.5, 0.5 - 1e-200, 1e-200])
    mu = np.array([[0.0, 0.0], [3.0, 1.0], [-2.0, 4.0]])
    Sig = np.array([np.eye(2), [[2.0, 0.5], [0.5, 1.0]], np.eye(2) * 0.5])
    y = rng.normal(size=(N, L)) * 2
    labels = np.array([-1, 1, -1, 2, 0])
    r_soft = rng.dirichlet(np.ones(3), size=N)
    r_soft[0] = [1.0, 0.0, 0.0]
    with mp.workdps(40):
        z = _mp_log_joint(y, mu, Sig, pi)
        lse = [mp.log(mp.fsum(mp.exp(a) for a in row)) for row in z]
        post = [[float(mp.exp(a - m_)) for a in row] for row, m_ in zip(z, lse)]
        semi = float(mp.fsum(lse[n] if labels[n] < 0 else z[n][labels[n]] for n in range(N)))
        elbo = float(mp.fsum(mp.mpf(float(r_soft[n, k])) * (z[n][k] - mp.log(mp.mpf(float(r_soft[n, k]))))
                             for n in range(N) for k in range(3) if r_soft[n, k] > 0))
        lab = labels.clip(0)
        elbo_hard = float(mp.fsum(z[n][lab[n]] for n in range(N)))
        d10 = z[4][1] - z[4][0]
    ref = np.array(post)
    ref[labels >= 0] = np.eye(3)[labels[labels >= 0]]
    shift = -N * L * np.log(s)
    params = mx.GMMParams(pi, mu * s, Sig * s * s)
    close(quiet(clamped_responsibilities, params, y * s, labels), ref, rtol=1e-9, atol=1e-300, what="clamped responsibilities")
    close(quiet(semi_supervised_log_lik, params, y * s, labels), semi + shift, rtol=1e-11, atol=1e-8,
          what="semi-supervised log likelihood")
    st = quiet(gmm_stats_from_responsibilities, y * s, r_soft)
    st1 = gmm_stats_from_responsibilities(y, r_soft)
    close(st.N_k, r_soft.sum(axis=0), rtol=1e-12, what="soft counts")
    centre = y - st1.mu_ref[:, None, :]                           # [k, n, :]
    close(st.sum_dd, np.einsum("nk,kna,knb->kab", r_soft, centre, centre) * s * s, rtol=1e-9, atol=1e-12 * s * s,
          what="soft scatter")
    close(quiet(gmm_elbo, params, st), elbo + shift, rtol=1e-10, atol=1e-8, what="ELBo, soft rows")
    close(quiet(gmm_elbo, params, quiet(gmm_stats_from_responsibilities, y * s, np.eye(3)[lab], mu * s)), elbo_hard + shift,
          rtol=1e-10, atol=1e-8, what="ELBo, one-hot rows centred on the means")
    lb = quiet(mx.linear_boundary, mu[1] * s, mu[0] * s, Sig[1] * s * s, pi[1], pi[0])
    qb = quiet(mx.quadratic_boundary, mu[1] * s, mu[0] * s, Sig[1] * s * s, Sig[0] * s * s, pi[1], pi[0])
    close(quiet(mx.boundary_value, qb, y[4:] * s), [float(d10)], rtol=1e-9, atol=1e-9, what="QDA logit difference")
    with mp.workdps(40):
        lin = _mp_log_joint(y, mu[[1, 0]], Sig[[1, 1]], pi[[1, 0]])
        lin = [float(a - b) for a, b in lin]
    close(quiet(mx.boundary_value, lb, y * s), lin, rtol=1e-9, atol=1e-9, what="LDA logit difference")


# ================================================================================ em
@case("em.engine.units_log_shift", exponents=LINEAR_EXPONENTS)
def case_units_log_shift(s, rng):
    """Rows of data times s (1e-300 to 1e300), one column also offset by 3 s and one constant: the shift
    ``N sum_l log s_l`` against mpmath on the scaled floats themselves (30 digits), so the squares and sums
    that leave float64 at the ends of the sweep are exact in the reference."""
    import mpmath as mp

    from pedagogy_lib.em import units_log_shift
    N = 15
    y = np.column_stack([rng.standard_normal(N), 3.0 + 0.5 * rng.standard_normal(N), np.full(N, 2.0)]) * s
    with mp.workdps(30):
        ref = mp.mpf(0)
        for col in y.T[:2]:
            xs = [mp.mpf(float(v)) for v in col]
            m = mp.fsum(xs) / N
            ref += N * mp.log(mp.sqrt(mp.fsum((x - m) ** 2 for x in xs) / N))
        ref = float(ref)
    close(quiet(units_log_shift, y), ref, rtol=1e-12, atol=1e-12, what="units_log_shift")


# ================================================================================ samplers
@case("samplers.conjugate.normal_gamma_conditionals", "samplers.targets.log_density_and_force")
def case_sampler_units(s, rng):
    """(1) Normal data, prior mean and prior standard deviation in units of s, the gamma prior's rate times
    s^2 and each state's precision times 1/s^2: the full conditionals against their conjugate formulas in
    mpmath at that scale (``mu | tau``: precision ``1/s0^2 + N tau``; ``tau | mu``: rate
    ``b0 + sum (y - mu)^2 / 2``). (2) A Gaussian target with mean times s and precision times 1/s^2, and a
    banana whose ``x_1`` is in units of s (its ``s`` times s, ``b`` times 1/s^2), at points in the same units:
    log densities unchanged and forces times 1/s (on ``x_1``), both backends, against the formulas at scale 1."""
    import mpmath as mp

    from pedagogy_lib.samplers import targets as tg
    from pedagogy_lib.samplers.conjugate import normal_gamma_conditionals, normal_gamma_model
    y, m0, s0, a0, b0 = rng.normal(size=6) + 0.5, 0.2, 1.5, 2.0, 3.0
    th = np.column_stack([rng.normal(size=3), rng.uniform(0.2, 3.0, size=3)])
    model = quiet(normal_gamma_model, y * s, m0 * s, s0 * s, a0, b0 * s * s)
    got = quiet(normal_gamma_conditionals, model, th * np.array([s, 1.0 / s / s]))
    with mp.workdps(40):
        S = mp.mpf(s)
        Y = [mp.mpf(float(v)) * S for v in y]
        M0, S0, B0 = mp.mpf(m0) * S, mp.mpf(s0) * S, mp.mpf(b0) * S * S
        mean, var, rate = [], [], []
        for mu_, tau_ in th:
            mu_, tau_ = mp.mpf(float(mu_)) * S, mp.mpf(float(tau_)) / S / S
            prec = 1 / S0 ** 2 + len(y) * tau_
            mean.append(float((M0 / S0 ** 2 + tau_ * mp.fsum(Y)) / prec))
            var.append(float(1 / prec))
            rate.append(float(B0 + mp.fsum((v - mu_) ** 2 for v in Y) / 2))
    close(got.mu_mean, mean, rtol=1e-12, what="mean of mu | tau")
    close(got.mu_var, var, rtol=1e-12, what="variance of mu | tau")
    close(got.tau_shape, a0 + len(y) / 2, rtol=1e-14, what="shape of tau | mu")
    close(got.tau_rate, rate, rtol=1e-12, what="rate of tau | mu")
    D = 3
    R = rng.normal(size=(D, D))
    Lam, mu = R @ R.T + D * np.eye(D), rng.normal(size=D)
    x = rng.normal(size=(4, D)) * 2
    lp, force = -0.5 * np.einsum("ca,ab,cb->c", x - mu, Lam, x - mu), -(x - mu) @ Lam
    g = quiet(tg.gaussian_target, mu * s, Lam / s / s)
    bb, sb = 0.7, 1.3
    ban = quiet(tg.banana, bb / s / s, sb * s)
    u = x[:, 1] - bb * (x[:, 0] ** 2 - sb * sb)
    lpb, fb = -0.5 * x[:, 0] ** 2 / sb ** 2 - 0.5 * u * u, np.column_stack([-x[:, 0] / sb ** 2 + 2 * bb * x[:, 0] * u, -u])
    xb = x[:, :2] * np.array([s, 1.0])
    for backend in ("numba", "numpy"):
        lp_s, f_s = quiet(tg.log_density_and_force, g, x * s, backend=backend)
        close(lp_s, lp, rtol=1e-9, atol=1e-12, what=f"Gaussian target log density ({backend})")
        close(f_s, force / s, rtol=1e-9, atol=1e-12 / s, what=f"Gaussian target force ({backend})")
        lp_s, f_s = quiet(tg.log_density_and_force, ban, xb, backend=backend)
        close(lp_s, lpb, rtol=1e-9, atol=1e-12, what=f"banana log density ({backend})")
        close(f_s, fb / np.array([s, 1.0]), rtol=1e-9, atol=1e-12 / np.array([s, 1.0]), what=f"banana force ({backend})")


# ================================================================================ nn
@case("nn.infomax.objective", "nn.infomax.fixed_point_rhs", "nn.infomax.fixed_point_residual",
      exponents=LINEAR_EXPONENTS)
def case_infomax_units(s, rng):
    """Data times s and the unmixing matrix times 1/s (1e-300 to 1e300), so ``D Y`` is unchanged: the
    objective shifted by ``-K log s``, the fixed point's right-hand side times 1/s (both forms) and the
    relative residual unchanged, against mpmath at scale 1. The residual's norms of ``D`` at 1e-200 gave 0
    (refused as an overflow) and at 1e160 lost digits in subnormal squares."""
    import mpmath as mp

    from pedagogy_lib.nn import infomax as im
    N, K = 12, 2
    Y = rng.laplace(size=(N, K))
    D = np.array([[1.2, 0.3], [-0.2, 0.9]]) + 0.1 * rng.normal(size=(K, K))
    with mp.workdps(30):
        Ym, Dm = [[mp.mpf(float(v)) for v in r] for r in Y], mp.matrix([[mp.mpf(float(v)) for v in r] for r in D])
        X = [[mp.fsum(Dm[k, i] * y[i] for i in range(K)) for k in range(K)] for y in Ym]
        J = mp.fsum(-x - 2 * mp.log1p(mp.exp(-x)) for r in X for x in r) / N + mp.log(abs(mp.det(Dm)))
        T = [[mp.tanh(x / 2) for x in r] for r in X]
        M = mp.matrix([[mp.fsum(Ym[n][i] * T[n][j] for n in range(N)) / N for j in range(K)] for i in range(K)])
        rhs = {"corrected": mp.inverse(M), "draft": mp.inverse(M.T)}
        res = {f: float(mp.sqrt(mp.fsum((Dm[i, j] - R[i, j]) ** 2 for i in range(K) for j in range(K)))
                        / mp.sqrt(mp.fsum(Dm[i, j] ** 2 for i in range(K) for j in range(K)))) for f, R in rhs.items()}
        rhs = {f: np.array(R.tolist(), dtype=float) for f, R in rhs.items()}
        J = float(J)
    close(quiet(im.objective, D / s, Y * s), J - K * np.log(s), rtol=1e-12, atol=1e-9, what="InfoMax objective")
    for form in ("corrected", "draft"):
        close(quiet(im.fixed_point_rhs, D / s, Y * s, form=form), rhs[form] / s, rtol=1e-9, what=f"rhs ({form})")
        close(quiet(im.fixed_point_residual, D / s, Y * s, form=form), res[form], rtol=1e-9, what=f"residual ({form})")


@case("nn.mi_clustering.cluster_probs", "nn.mi_clustering.mi_objective")
def case_mi_clustering_peaked(s, rng):
    """Logits ``r (W y + b) + log s`` with ``r = 1 + 3 |log10 s|`` (assignments down to e^-1400 at the ends of
    the sweep), the data times s and ``W`` times 1/s: assignments, the entropies, the mutual information and
    the labelled points' mean log assignment (one label on its point's least likely class, e^-800 at the
    ends) against mpmath softmax of the unscaled logits, with a weight decay on the scaled ``W``."""
    import mpmath as mp

    from pedagogy_lib.nn.mi_clustering import cluster_probs, mi_objective
    N, K, L = 6, 3, 2
    r = 1.0 + 3.0 * abs(np.log10(s))
    W0, b0, Y = rng.normal(size=(K, L)) * r, rng.normal(size=K) * r, rng.normal(size=(N, L))
    A = Y @ W0.T + b0
    labels = np.array([-1, 0, -1, int(np.argmin(A[3])), -1, -1])
    gam = 0.1
    with mp.workdps(40):
        lq = []
        for row in A:
            row = [mp.mpf(float(a)) for a in row]
            top = max(row)
            lse = top + mp.log(mp.fsum(mp.exp(a - top) for a in row))
            lq.append([a - lse for a in row])
        q = [[mp.exp(a) for a in row] for row in lq]
        qbar = [mp.fsum(q[n][k] for n in range(N)) / N for k in range(K)]
        H_bar = -mp.fsum(p * mp.log(p) for p in qbar)
        H_cond = -mp.fsum(p * a for rq, rl in zip(q, lq) for p, a in zip(rq, rl)) / N
        lab = [n for n in range(N) if labels[n] >= 0]
        ll = mp.fsum(lq[n][labels[n]] for n in lab) / len(lab)
        Ws = W0 / s
        decay = gam / 2 * mp.fsum(mp.mpf(float(w)) ** 2 for w in Ws.ravel())
        value = float(H_bar - H_cond + ll - decay)
        ref_q = [[float(p) for p in rq] for rq in q]
        ref = [float(H_bar - H_cond), float(H_bar), float(H_cond), float(ll)]
    b = b0 + np.log(s)                                             # a shift common to every logit
    close(quiet(cluster_probs, W0 / s, b, Y * s), ref_q, rtol=1e-9, atol=1e-300, what="assignments")
    got = quiet(mi_objective, W0 / s, b, Y * s, labels, weight_decay=gam)
    close([got.mi, got.marginal_entropy, got.mean_conditional_entropy, got.label_log_lik], ref, rtol=1e-9, atol=1e-12,
          what="MI, H[q-bar], <H[q]>, label log likelihood")
    close(got.value, value, rtol=1e-9, atol=1e-9, what="objective with weight decay")
    close(quiet(mi_objective, W0 / s, b, Y * s, labels).value, ref[0] + ref[3], rtol=1e-9, atol=1e-9,
          what="objective without weight decay")
