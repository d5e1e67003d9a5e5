"""Scale cases of the lgssm, graphical and assimilation families (the method: tests/library/test_scales.py)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from oracle_lgssm import high_precision_filter
from scale_kit import LINEAR_EXPONENTS, case, close, quiet

#: This module's public functions without a case, with the reason (every one has a case).
NOT_SWEPT: dict = {}


# ================================================================================ graphical
def _chain_factors(rng):
    """Three ternary variables in a cycle a-b-c-a with unary tables on a and c (the junction tree joins them)."""
    return [(("a", "b"), rng.uniform(0.2, 2.0, (3, 3))), (("b", "c"), rng.uniform(0.2, 2.0, (3, 3))),
            (("c", "a"), rng.uniform(0.2, 2.0, (3, 3))), (("a",), rng.uniform(0.2, 2.0, 3)),
            (("c",), rng.uniform(0.2, 2.0, 3))]


def _enumerate(factors):
    """The unnormalized joint over (a, b, c) at scale 1, entry by entry over the 27 configurations."""
    P = np.zeros((3, 3, 3))
    for x in itertools.product(range(3), repeat=3):
        val = dict(zip("abc", x))
        P[x] = np.prod([t[tuple(val[v] for v in vs)] for vs, t in factors])
    return P


@case("graphical.factors.clamp", "graphical.factors.max_out", "graphical.bp.with_evidence",
      "graphical.junction.junction_marginal")
def case_evidence_and_clique_marginals(s, rng):
    """Every table times s. ``clamp`` and ``max_out`` of a table times s are s times those of the table;
    belief propagation on a tree with b observed (``with_evidence``) gives the conditionals of a and c by
    enumeration at scale 1 and log Z plus 3 log s; the junction tree's joint marginal of (a, c) on a cycle
    is the enumerated one whatever s."""
    from pedagogy_lib import graphical as g
    f = g.make_factor(("a", "b", "c"), rng.uniform(0.2, 2.0, (2, 3, 2)))
    fs_ = g.make_factor(f.variables, f.table * s)
    close(quiet(g.clamp, fs_, {"b": 1}).table, f.table[:, 1, :] * s, rtol=1e-15, what="clamp")
    close(quiet(g.max_out, fs_, ["b"]).table, f.table.max(axis=1) * s, rtol=1e-15, what="max_out")
    fs = _chain_factors(rng)
    P = _enumerate(fs)
    tree = [fs[0], fs[1], fs[3], fs[4]]
    Pt = _enumerate(tree)[:, 1, :]                                # b observed in state 1
    fg = g.make_factor_graph([(v, t * s) for v, t in tree])
    bp = quiet(g.belief_propagation, quiet(g.with_evidence, fg, {"b": 1}))
    close(bp.log_Z, np.log(Pt.sum()) + 4 * np.log(s), rtol=1e-12, atol=1e-9, what="log Z with b observed")
    close(bp.marginals["a"], Pt.sum(axis=1) / Pt.sum(), rtol=1e-9, atol=1e-15, what="p(a | b)")
    close(bp.marginals["c"], Pt.sum(axis=0) / Pt.sum(), rtol=1e-9, atol=1e-15, what="p(c | b)")
    jt = quiet(g.junction_tree, [(v, t * s) for v, t in fs])
    got = quiet(g.junction_marginal, jt, ["c", "a"]).table
    close(got / got.sum(), P.sum(axis=1).T / P.sum(), rtol=1e-9, atol=1e-15, what="junction marginal of (c, a)")
    close(got.sum(), 1.0, rtol=1e-12, what="junction marginal's total")


# ================================================================================ lgssm
def _lgssm(rng, s):
    """A 2-state, 3-observation model in units of sqrt(s): means times sqrt(s), covariances times s."""
    from pedagogy_lib.lgssm import LGSSMParams
    n, m = 2, 3
    a = np.sqrt(s)
    A = np.array([[0.9, 0.2], [-0.1, 0.8]])
    C = np.array([[1.0, 0.3], [-0.4, 0.7], [0.2, -1.1]])
    return LGSSMParams(np.array([0.5, -0.3]) * a, np.array([[1.0, 0.3], [0.3, 0.8]]) * s, A, None,
                       np.array([0.1, 0.0]) * a, np.diag([0.3, 0.2]) * s, C, np.array([0.2, -0.1, 0.0]) * a,
                       np.diag([0.5, 0.4, 0.6]) * s), n, m


@case("lgssm.kalman.rts_smoother", "lgssm.em.lgssm_suff_stats", "lgssm.em.lgssm_expected_log_joint",
      "lgssm.em.lgssm_m_step", "lgssm.em.similarity_transform")
def case_lgssm_em_units(s, rng):
    """The model in units of sqrt(s) (means and observations times sqrt(s), covariances times s): the RTS
    smoother's means scale by sqrt(s) and covariances by s; the sufficient statistics (second moments)
    by s, first moments by sqrt(s), the log likelihood by -m T log sqrt(s) and the posterior's entropy by
    n T log sqrt(s); the M step returns the model at scale 1 in those units; Q shifts by
    -(n + m) T log sqrt(s) (each of the T states and observations is a density in n or m dimensions);
    the similarity transform by S / sqrt(s) maps the scaled model onto the transform of the unit one by
    S. Beyond lgssm's MAX_MAGNITUDE = 1e75 (covariances of s > 1e75) a refusal naming Sigma1."""
    from pedagogy_lib.lgssm import (kalman_filter, lgssm_expected_log_joint, lgssm_m_step, lgssm_suff_stats,
                                    rts_smoother, similarity_transform)
    a = np.sqrt(s)
    T = 5
    p1, n, m = _lgssm(rng, 1.0)
    ps, _, _ = _lgssm(rng, s)
    y = rng.normal(size=(T, m)) * 1.5
    if s > 1e75:
        for fn in (kalman_filter, lgssm_suff_stats):
            with pytest.raises(ValueError, match=r"(?s)Sigma1.*1e\+75"):
                quiet(fn, ps, y * a)
        with pytest.raises(ValueError, match=r"(?s)Sigma1.*1e\+75"):
            quiet(similarity_transform, ps, np.eye(n))
        return
    f1 = kalman_filter(p1, y)
    r1 = rts_smoother(p1.A, f1)
    rs = quiet(rts_smoother, ps.A, quiet(kalman_filter, ps, y * a))
    close(rs.mu_smooth, r1.mu_smooth * a, rtol=1e-9, atol=1e-12 * a, what="smoothed means")
    close(rs.Upsilon_smooth, r1.Upsilon_smooth * s, rtol=1e-9, atol=1e-12 * s, what="smoothed covariances")
    close(rs.Upsilon_cross, r1.Upsilon_cross * s, rtol=1e-9, atol=1e-12 * s, what="smoothed cross-covariances")
    st1, sts = lgssm_suff_stats(p1, y), quiet(lgssm_suff_stats, ps, y * a)
    # the regressors [x; 1] and [x; u; 1]: x-by-x blocks scale by s, x-by-1 by sqrt(s), 1-by-1 not at all
    wz = np.r_[np.full(n, a), 1.0]
    for name, unit in (("S_prev", np.outer(wz, wz)), ("S_cross", a * wz[None, :]), ("S_next", s),
                       ("S_w", np.outer(wz, wz)), ("S_yw", a * wz[None, :]), ("S_yy", s), ("x1_sum", a),
                       ("P1_sum", s)):
        ref = getattr(st1, name) * unit
        close(getattr(sts, name), ref, rtol=1e-9, atol=1e-12 * np.max(np.abs(ref)), what=name)
    close(sts.log_lik, st1.log_lik - m * T * np.log(a), rtol=1e-10, atol=1e-8, what="log likelihood")
    close(sts.entropy, st1.entropy + n * T * np.log(a), rtol=1e-10, atol=1e-8, what="posterior entropy")
    close(quiet(lgssm_expected_log_joint, ps, sts), lgssm_expected_log_joint(p1, st1) - (n + m) * T * np.log(a),
          rtol=1e-10, atol=1e-8, what="Q")
    new1, news = lgssm_m_step(st1, p1), quiet(lgssm_m_step, sts, ps)
    for name, unit in (("mu1", a), ("Sigma1", s), ("A", 1.0), ("a", a), ("Sigma_x", s), ("C", 1.0), ("c", a),
                       ("Sigma_y_x", s)):
        ref = getattr(new1, name) * unit
        close(getattr(news, name), ref, rtol=1e-8, atol=1e-10 * np.max(np.abs(ref)), what=f"M step's {name}")
    S = np.array([[1.5, 0.4], [-0.2, 0.9]])
    t1, ts = similarity_transform(p1, S), quiet(similarity_transform, ps, S / a)
    for name in ("mu1", "Sigma1", "A", "a", "Sigma_x", "C", "c", "Sigma_y_x"):
        ref = getattr(t1, name)
        unit = {"C": a, "c": a, "Sigma_y_x": s}.get(name, 1.0)
        close(getattr(ts, name), ref * unit, rtol=1e-9, atol=1e-12 * np.max(np.abs(ref * unit)),
              what=f"transformed {name}")


# ================================================================================ assimilation
_DA_A, _DA_OFFSET = np.array([[0.9, 0.2], [-0.1, 0.8]]), np.array([0.1, -0.05])


def _da_model(s, selection=False):
    """A linear flow map with 2 states and 2 observations, means times sqrt(s), covariances times s."""
    from pedagogy_lib.assimilation import DAModel
    from pedagogy_lib.assimilation.lorenz import linear_dynamics
    a = np.sqrt(s)
    C = np.array([[1.0, 0.0], [0.0, -2.0]]) if selection else np.array([[1.0, 0.5], [0.3, -0.7]])
    R = np.diag([0.5, 0.3]) if selection else np.array([[0.5, 0.1], [0.1, 0.3]])
    return DAModel(linear_dynamics(_DA_A, _DA_OFFSET * a), np.array([0.3, -0.2]) * a,
                   np.array([[1.0, 0.2], [0.2, 0.7]]) * s, np.diag([0.1, 0.2]) * s, C, np.array([0.0, 0.1]) * a,
                   R * s)


@case("assimilation.fourdvar.strong_cost_grad", "assimilation.fourdvar.strong_hessian",
      "assimilation.fourdvar.strong_problem", "assimilation.fourdvar.window_storage",
      "assimilation.fourdvar.weak_cost_grad", "assimilation.fourdvar.weak_hessian")
def case_fourdvar_cost_units(s, rng):
    """States, means and observations times sqrt(s) and covariances times s, for a dense and a
    coordinate-selection observation operator, both backends: the 4DVar costs (quadratic forms in
    whitened misfits) do not change, their gradients scale by 1 / sqrt(s), their Hessians by 1 / s; the
    storages chosen are those at scale 1, and the problem's inverse covariances are theirs over s."""
    from pedagogy_lib.assimilation import fourdvar as fv
    a, T = np.sqrt(s), 4
    y, x1, X = rng.normal(size=(T, 2)), rng.normal(size=2), rng.normal(size=(T, 2))
    for selection in (False, True):
        m1, ms = _da_model(1.0, selection), _da_model(s, selection)
        B1, R1 = np.linalg.inv(m1.Sigma1), np.linalg.inv(m1.Sigma_y_x)
        assert quiet(fv.window_storage, ms.C, B1 / s, R1 / s) == fv.window_storage(m1.C, B1, R1)
        prob = quiet(fv.strong_problem, ms, y * a)
        close(prob.B_inv, B1 / s, rtol=1e-12, atol=1e-14 / s, what="problem's inverse of Sigma1")
        close(prob.R_inv, R1 / s, rtol=1e-12, atol=1e-14 / s, what="problem's inverse of Sigma_y_x")
        for backend in ("numpy", "numba"):
            J1, g1 = fv.strong_cost_grad(m1, x1, y, backend=backend)
            for where in ((ms, x1 * a, y * a), (prob, x1 * a)):
                J, gr = quiet(fv.strong_cost_grad, *where, backend=backend)
                close(J, J1, rtol=1e-11, what=f"strong cost ({backend}, selection {selection})")
                close(gr, g1 / a, rtol=1e-10, atol=1e-12 / a, what=f"strong gradient ({backend})")
            close(quiet(fv.strong_hessian, ms, x1 * a, y * a, backend=backend),
                  fv.strong_hessian(m1, x1, y, backend=backend) / s, rtol=1e-10, atol=1e-12 / s,
                  what=f"strong Hessian ({backend})")
            J1, g1 = fv.weak_cost_grad(m1, X, y, backend=backend)
            J, gr = quiet(fv.weak_cost_grad, ms, X * a, y * a, backend=backend)
            close(J, J1, rtol=1e-11, what=f"weak cost ({backend})")
            close(gr, g1 / a, rtol=1e-10, atol=1e-12 / a, what=f"weak gradient ({backend})")
            close(quiet(fv.weak_hessian, ms, X * a, y * a, backend=backend),
                  fv.weak_hessian(m1, X, y, backend=backend) / s, rtol=1e-10, atol=1e-12 / s,
                  what=f"weak Hessian ({backend})")


@case("assimilation.nonlinear_filters.ekf", "assimilation.nonlinear_filters.ukf", "assimilation.ensemble.enkf")
def case_filters_units(s, rng):
    """The linear model in units of sqrt(s): the extended and unscented filters' means scale by sqrt(s) and
    their covariances by s; both ensemble filters, from the same seed, give the ensembles at scale 1 times
    sqrt(s) (the draws are standard normals through square roots of the covariances)."""
    from pedagogy_lib.assimilation import enkf, ekf, ukf
    a, T = np.sqrt(s), 4
    m1, ms = _da_model(1.0), _da_model(s)
    y = rng.normal(size=(T, 2))
    for name, fn in (("EKF", ekf), ("UKF", ukf)):
        r1, rs = fn(m1, y), quiet(fn, ms, y * a)
        close(rs.mean, r1.mean * a, rtol=1e-9, atol=1e-12 * a, what=f"{name} means")
        close(rs.cov, r1.cov * s, rtol=1e-9, atol=1e-12 * s, what=f"{name} covariances")
    for method in ("perturbed", "etkf"):
        kw = dict(n_members=6, method=method, inflation=1.1)
        r1 = enkf(m1, y, rng=np.random.default_rng(5), **kw)
        rs = quiet(enkf, ms, y * a, rng=np.random.default_rng(5), **kw)
        close(rs.ensemble, r1.ensemble * a, rtol=1e-8, atol=1e-11 * a, what=f"EnKF ({method}) ensembles")
        close(rs.mean, r1.mean * a, rtol=1e-8, atol=1e-11 * a, what=f"EnKF ({method}) means")


@case("assimilation.model.psd_sqrt")
def case_psd_sqrt(s, rng):
    """A covariance times s, full rank and of rank one: the square root's product with its transpose is
    the covariance (entrywise to 1e-12 of its largest entry), and its columns' norms scale by sqrt(s)."""
    from pedagogy_lib.assimilation import psd_sqrt
    G = rng.normal(size=(3, 3))
    v = rng.normal(size=3)
    for S in (G @ G.T + 0.1 * np.eye(3), np.outer(v, v)):
        L = quiet(psd_sqrt, S * s)
        close(L @ L.T, S * s, rtol=1e-12, atol=1e-12 * s * np.abs(S).max(), what="L L^T")
        L1 = psd_sqrt(S)
        close(np.sort(np.linalg.norm(L, axis=0)), np.sort(np.linalg.norm(L1, axis=0)) * np.sqrt(s), rtol=1e-9,
              atol=1e-7 * np.sqrt(s * np.abs(S).max()), what="column norms")


def _kalman_mp_moments(A, C, mu1, S1, R, y, dps=60):
    """Filtered means and covariances of a perfect linear model in ``dps``-digit arithmetic."""
    import mpmath as mp
    with mp.workdps(dps):
        M = lambda X: mp.matrix(np.atleast_2d(X).tolist())             # noqa: E731
        mu, P, Am, Cm, Rm = M(mu1).T, M(S1), M(A), M(C), M(R)
        means, covs = [], []
        for t in range(y.shape[0]):
            if t:
                mu, P = Am * mu, Am * P * Am.T
            K = P * Cm.T * (Cm * P * Cm.T + Rm) ** -1
            mu, P = mu + K * (M(y[t]).T - Cm * mu), P - K * Cm * P
            means.append([float(v) for v in mu])
            covs.append([[float(P[i, j]) for j in range(P.cols)] for i in range(P.rows)])
    return np.array(means), np.array(covs)


@case("assimilation.ensemble.enkf", "assimilation.nonlinear_filters.ekf", "assimilation.nonlinear_filters.ukf")
def case_filters_observation_noise(s, rng):
    """Observation noise Sigma_y_x = s against a unit prior, perfect linear model, two observations of two
    states: the ETKF from an exact initial ensemble (global and with a full taper, both backends), the
    EKF and the UKF against the filter in 60 digits. The ETKF refused every s <= 1e-16 as "the ensemble
    overflowed" (its transform's eigenvalues 1 rounded negative), the UKF as "no longer positive definite"
    (a Cholesky factor of a posterior singular to rounding); tests/assimilation/test_assimilation_filters.py
    holds both regressions."""
    from pedagogy_lib.assimilation import DAModel, ekf, enkf, exact_ensemble, linear_dynamics, ukf
    n = 2
    A, C = np.array([[0.9, 0.2], [-0.1, 0.8]]), np.array([[1.0, rng.uniform(0.2, 0.8)]])
    mu1, S1 = np.array([0.3, -0.2]), np.array([[1.0, 0.2], [0.2, 0.7]])
    y = rng.normal(size=(2, 1))
    mod = DAModel(linear_dynamics(A), mu1, S1, np.zeros((n, n)), C, np.zeros(1), s * np.eye(1))
    means, covs = _kalman_mp_moments(A, C, mu1, S1, s * np.eye(1), y)
    for name, fn in (("EKF", ekf), ("UKF", ukf)):
        r = quiet(fn, mod, y)
        close(r.mean, means, rtol=1e-9, atol=1e-12, what=f"{name} means, noise {s:.0e}")
        close(r.cov, covs, rtol=1e-9, atol=1e-12, what=f"{name} covariances, noise {s:.0e}")
    E0 = exact_ensemble(mu1, S1, 6, rng=np.random.default_rng(0))
    for backend in ("numba", "numpy"):
        for taper in (None, np.ones((n, n))):
            res = quiet(enkf, mod, y, n_members=6, rng=np.random.default_rng(1), initial_ensemble=E0,
                        localization=taper, backend=backend)
            what = f"ETKF ({backend}, taper {taper is not None}), noise {s:.0e}"
            close(res.mean, means, rtol=1e-8, atol=1e-10, what=f"{what} means")
            close(np.array([np.cov(E.T) for E in res.ensemble]), covs, rtol=0, atol=1e-10, what=f"{what} covariances")


@case("assimilation.nonlinear_filters.ekf", "assimilation.nonlinear_filters.ukf", exponents=LINEAR_EXPONENTS)
def case_filters_noise_ratio_with_every_state_observed(s, rng):
    """Observation noise s times the identity against a prior of unit spread, perfect linear model, three
    observations of two states (m >= n, so every direction is pinned to the noise): the EKF and the UKF,
    which equal the Kalman filter on this model, against the filter in 50 digits in information form. Both
    refused every s <= 1e-16 as "no longer positive definite" (Upsilon - K C Upsilon cancels to rounding);
    the covariances, of size s, are held to 1e-8 of their own size."""
    from pedagogy_lib.assimilation import DAModel, ekf, linear_dynamics, ukf
    A = np.array([[0.9, 0.2], [-0.1, 0.8]])
    C = np.array([[1.0, 0.5], [0.3, -0.7], [rng.uniform(0.2, 0.8), 1.0]])
    mu1, S1 = np.array([0.3, -0.2]), np.array([[1.0, 0.2], [0.2, 0.7]])
    y = rng.normal(size=(3, 3))
    R = s * np.diag([1.0, 0.5, 2.0])
    mod = DAModel(linear_dynamics(A), mu1, S1, np.zeros((2, 2)), C, np.zeros(3), R)
    means, covs = high_precision_filter(A, C, mu1, S1, R, y)
    for name, fn in (("EKF", ekf), ("UKF", ukf)):
        r = quiet(fn, mod, y)
        for t in range(3):
            close(r.mean[t], means[t], rtol=1e-9, atol=1e-12, what=f"{name} mean at t = {t}, noise {s:.0e}")
            close(r.cov[t], covs[t], rtol=1e-8, atol=1e-8 * np.abs(covs[t]).max(),
                  what=f"{name} covariance at t = {t}, noise {s:.0e}")


#: An L-BFGS run takes 20 to 70 ms: five scales, among them those where the raw gradient fell below gtol.
@case("assimilation.fourdvar.strong_4dvar", "assimilation.fourdvar.weak_4dvar", "assimilation.fourdvar.cycle_4dvar",
      exponents=(-150, -50, 0, 50, 150))
def case_fourdvar_units(s, rng):
    """The linear model in units of sqrt(s): the L-BFGS 4DVars (default gtol) against the exact minimizers
    at scale 1 (the normal equations solved densely, window by window for the cycle) times sqrt(s). With
    gtol bounding the raw gradient (units 1 / x) they returned the background, silently, from covariances
    of 1e18 up; tests/assimilation/test_assimilation_fourdvar.py holds the regression."""
    from pedagogy_lib.assimilation import cycle_4dvar, strong_4dvar, weak_4dvar
    a = np.sqrt(s)
    m1, ms = _da_model(1.0), _da_model(s)
    y = rng.normal(size=(4, 2))
    for fn in (strong_4dvar, weak_4dvar):
        close(quiet(fn, ms, y * a).mean, fn(m1, y, method="exact").mean * a, rtol=1e-7, atol=1e-9 * a,
              what=f"{fn.__name__} minimizer")
    mu, ref = m1.mu1, []
    for start in (0, 2):
        ref.append(strong_4dvar(m1._replace(mu1=mu), y[start:start + 2], method="exact").mean)
        mu = _DA_A @ ref[-1][-1] + _DA_OFFSET
    close(quiet(cycle_4dvar, ms, y * a, window=2).mean, np.concatenate(ref) * a, rtol=1e-7, atol=1e-9 * a,
          what="cycled 4DVar")


@case("assimilation.model.make_result", exponents=LINEAR_EXPONENTS)
def case_make_result(s, rng):
    """A filter's output at scale s: the RMSE and the ensemble spread scale by s, the spread of covariances
    times s by sqrt(s), each against the formula in float64 at scale 1 (squares near 1e600 or 1e-600 are
    not floats, so the function must scale before it squares)."""
    from pedagogy_lib.assimilation.model import make_result
    T, n, N = 4, 3, 5
    mean, truth = rng.normal(size=(T, n)), rng.normal(size=(T, n))
    ens = rng.normal(size=(T, N, n))
    G = rng.normal(size=(T, n, n))
    cov = G @ np.swapaxes(G, 1, 2) + 0.1 * np.eye(n)
    rmse1 = np.sqrt(np.mean((mean - truth) ** 2, axis=1))
    dev = ens - ens.mean(axis=1, keepdims=True)
    spread_ens = np.sqrt(np.sum(dev ** 2, axis=(1, 2)) / (n * (N - 1.0)))
    spread_cov = np.sqrt(np.mean(np.diagonal(cov, axis1=1, axis2=2), axis=1))
    r = quiet(make_result, "m", mean * s, None, ens * s, mean * s, truth * s)
    close(r.rmse, rmse1 * s, rtol=1e-12, what="RMSE of the mean")
    close(r.spread, spread_ens * s, rtol=1e-12, what="ensemble spread")
    r = quiet(make_result, "m", mean * s, cov * s, None, mean * s, None)
    close(r.spread, spread_cov * np.sqrt(s), rtol=1e-12, what="spread of covariances")
