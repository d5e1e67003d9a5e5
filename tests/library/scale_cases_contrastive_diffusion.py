"""Scale cases of the contrastive and diffusion families (the method: tests/library/test_scales.py)."""
from __future__ import annotations

import numpy as np
import pytest
from scale_kit import case, close, quiet

#: This module's public functions without a case, with the reason.
NOT_SWEPT: dict = {}


# ================================================================================ diffusion
def _snr_schedules(s):
    """SNRs ``s (4, 2, 1, 1/2, 1/4)`` (levels a factor 2 apart) in both scalings, and their exact ``v``, ``rho``
    in mpmath read from the floats the schedule holds (the references are functions of those floats)."""
    import mpmath as mp

    from pedagogy_lib.diffusion import schedule_from_snr
    lam = s * np.array([4.0, 2.0, 1.0, 0.5, 0.25])
    out = []
    for kind in ("vp", "ve"):
        sch = quiet(schedule_from_snr, lam, kind=kind)
        out.append((kind, sch, [mp.mpf(float(x)) for x in sch.v], [mp.mpf(float(x)) for x in sch.rho]))
    return out


def _mp_rows(M):
    return [[float(x) for x in row] for row in M]


@case("diffusion.forward.iterate_moments", "diffusion.forward.noise_data")
def case_diffusion_forward_moments(s, rng):
    """SNRs around ``s`` (1e-150 to 1e150), both scalings: the chain of Eq. 8.31 run step by step must land on
    Eq. 8.36's marginal ``N(v_l rho_l x, v_l^2)`` at every level, and Eq. 8.43's ``v_l (rho_l x0 + z)``, both
    against 60-digit arithmetic on the schedule's own ``v`` and ``rho``."""
    import mpmath as mp

    from pedagogy_lib.diffusion.forward import iterate_moments, noise_data
    x = rng.normal(size=3)
    x0, z = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    l = np.array([0, 1, 3, 4])
    with mp.workdps(60):
        for kind, sch, v, rho in _snr_schedules(s):
            means, var = quiet(iterate_moments, sch, x)
            ref_m = [[float(v[k] * rho[k] * mp.mpf(float(xi))) for xi in x] for k in range(5)]
            close(means, ref_m, rtol=1e-13, what=f"means of the chain ({kind})")
            close(var, [float(v[k] ** 2) for k in range(5)], rtol=1e-13, what=f"variances of the chain ({kind})")
            ref = [[float(v[k] * (rho[k] * mp.mpf(float(a)) + mp.mpf(float(b)))) for a, b in zip(x0[i], z[i])]
                   for i, k in enumerate(l)]
            scale = [[float(v[k] * (rho[k] * abs(mp.mpf(float(a))) + abs(mp.mpf(float(b))))) for a, b in
                      zip(x0[i], z[i])] for i, k in enumerate(l)]
            err = np.abs(quiet(noise_data, sch, x0, l, z) - np.array(ref))
            assert np.all(err <= 1e-14 * np.array(scale)), f"noised data ({kind}): error {err.max():.3g}"


@case("diffusion.losses.mean_from_m_hat", "diffusion.losses.m_hat_from_mean", "diffusion.losses.force_from_m_hat",
      "diffusion.losses.m_hat_from_force", "diffusion.losses.eps_from_force", "diffusion.losses.force_from_eps")
def case_diffusion_parameterizations(s, rng):
    """SNRs around ``s`` (1e-150 to 1e150), both scalings, a noised point ``x_l = v_l (rho_l x0 + z)`` and a
    prediction near ``x0``: each conversion of Section 8.3.1 (mean of Eq. 8.38, force of Eq. 8.47, noise
    ``-v_l f``) against its formula in 60-digit arithmetic on the floats passed. Each is affine,
    ``A pred + B x_l``; its error is held to 1e-13 of ``|A pred| + |B x_l|`` (the rounding of the inputs'
    own terms: the conversion's condition, which no float route beats)."""
    import mpmath as mp

    from pedagogy_lib.diffusion import losses as lo
    x0, z = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    l = np.array([1, 2, 3, 4])
    pred = x0 + 0.1 * rng.normal(size=(4, 2))
    with mp.workdps(60):
        for kind, sch, v, rho in _snr_schedules(s):
            x_l = sch.v[l][:, None] * (sch.rho[l][:, None] * x0 + z)
            X = [[mp.mpf(float(a)) for a in row] for row in x_l]
            P = [[mp.mpf(float(a)) for a in row] for row in pred]
            coef = {                                       # (A, B) per row: output = A * pred + B * x_l
                "mean_from_m_hat": lambda k: (v[k - 1] / rho[k - 1] * (rho[k - 1] ** 2 - rho[k] ** 2),
                                              v[k - 1] * rho[k] / (rho[k - 1] * v[k])),
                "force_from_m_hat": lambda k: (rho[k] / v[k], -1 / v[k] ** 2),
                "m_hat_from_force": lambda k: (v[k] / rho[k], 1 / (v[k] * rho[k])),
                "eps_from_force": lambda k: (-v[k], 0),
                "force_from_eps": lambda k: (-1 / v[k], 0),
            }
            a_mean, b_mean = zip(*(coef["mean_from_m_hat"](k) for k in l))
            coef["m_hat_from_mean"] = lambda k: (1 / a_mean[k - 1], -b_mean[k - 1] / a_mean[k - 1])
            for name, c in coef.items():
                fn = getattr(lo, name)
                got = quiet(fn, sch, l, x_l, pred) if name not in ("eps_from_force", "force_from_eps") \
                    else quiet(fn, sch, l, pred)
                AB = [c(int(k)) for k in l]
                ref = np.array([[float(A * p + B * x) for p, x in zip(P[i], X[i])] for i, (A, B) in enumerate(AB)])
                size = np.array([[float(abs(A * p) + abs(B * x)) for p, x in zip(P[i], X[i])]
                                 for i, (A, B) in enumerate(AB)])
                assert np.all(np.isfinite(got)), f"{name} ({kind}): non-finite {got}"
                err = np.abs(got - ref)
                assert np.all(err <= 1e-13 * size), (f"{name} ({kind}): error {np.max(err / size):.3g} of the terms; "
                                                     f"got {got.ravel()[:4]}, expected {ref.ravel()[:4]}")


def _mixture_force_mp(pi, mu, Sig, x):
    """The force of a Gaussian mixture, ``sum_k r_k S_k^{-1}(mu_k - x)``, in mpmath from the definition."""
    import mpmath as mp
    M = [mp.matrix(m.tolist()) for m in mu]
    S = [mp.matrix(Sk.tolist()) for Sk in Sig]
    out = []
    for row in x:
        X = mp.matrix(row.tolist())
        lj = [mp.log(mp.mpf(float(pi[k]))) - ((X - M[k]).T * S[k] ** -1 * (X - M[k]))[0] / 2
              - mp.log(mp.det(S[k])) / 2 for k in range(len(pi))]
        top = max(lj)
        Z = mp.fsum(mp.exp(q - top) for q in lj)
        f = sum((mp.exp(lj[k] - top) / Z * (S[k] ** -1 * (M[k] - X)) for k in range(len(pi))), mp.matrix(2, 1))
        out.append([float(f[i]) for i in range(2)])
    return np.array(out)


@case("diffusion.sampling.mixture_force")
def case_mixture_force_units(s, rng):
    """A two-component mixture in units of ``s`` (means and points times s, covariances times s^2: the force
    is divided by s), one weight ``min(s, 0.3)`` (to 1e-150) and points ``1 + 10 |log10 s|`` times farther out
    (one responsibility far below the other), against the definition in 60-digit mpmath."""
    import mpmath as mp

    from pedagogy_lib.diffusion.sampling import mixture_force
    from pedagogy_lib.mixture import GMMParams
    t = min(s, 0.3)
    mu = np.array([[1.5, -0.5], [-1.0, 2.0]])
    Sig = np.array([[[0.5, 0.2], [0.2, 0.4]], [[0.3, -0.1], [-0.1, 0.6]]])
    pi = np.array([1.0 - t, t])
    x = rng.normal(size=(3, 2)) * (1.0 + 10.0 * abs(np.log10(s)))
    with mp.workdps(60):
        ref = _mixture_force_mp(pi, mu * s, Sig * s * s, x * s)
    got = quiet(mixture_force, GMMParams(pi, mu * s, Sig * s * s), x * s)
    close(got, ref, rtol=1e-9, atol=1e-12 * np.max(np.abs(ref)), what="force of the mixture")


@case("diffusion.losses.predict", "diffusion.sampling.m_hat_from_model", "diffusion.sampling.score_from_model")
def case_diffusion_network_readings(s, rng):
    """A small denoiser read as each of the four parameterizations and converted to each, on SNRs around ``s``
    (1e-150 to 1e150), both scalings, at noised points ``v_l (rho_l x0 + z)``: against the affine formula
    ``A raw + B x_l`` of Section 8.3.1 on the network's own output ``raw`` (its forward pass on the inputs of
    ``time_features``), with ``A`` and ``B`` from the closed forms in 40-digit arithmetic (the sum in float64
    then errs by a few ulps of ``|A raw| + |B x_l|``); the error held to 1e-12 of that size. The callables:
    ``m_hat(x, l)`` is ``predict(..., "m_hat")``, and ``score(y, i)`` is ``a f(a y)`` with ``a = v rho``.
    Reading a network as its own parameterization went through the noise form and lost every digit at
    SNRs below 1e-16 or so (an m_hat network read as m_hat gave 0 or 1e59 for outputs of order 1)."""
    import mpmath as mp

    from pedagogy_lib.diffusion import losses as lo
    from pedagogy_lib.diffusion.sampling import m_hat_from_model, score_from_model
    x0, z = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    l = np.array([1, 4])

    def check(got, A, B, raw, x, what):
        ref, size = A[:, None] * raw + B[:, None] * x, np.abs(A[:, None] * raw) + np.abs(B[:, None] * x)
        assert np.all(np.isfinite(got)), f"{what}: non-finite {got}"
        err = np.abs(got - ref)
        assert np.all(err <= 1e-12 * size), (f"{what}: error {np.max(err / size):.3g} of the terms; got "
                                             f"{got.ravel()[:4]}, expected {ref.ravel()[:4]}")

    with mp.workdps(40):
        for kind, sch, v, rho in _snr_schedules(s):
            def mean_ab(k):
                return v[k - 1] / rho[k - 1] * (rho[k - 1] ** 2 - rho[k] ** 2), v[k - 1] * rho[k] / (rho[k - 1] * v[k])

            def to_eps(param, k):                  # eps = A pred + B x_l
                if param == "mean":                # m = (mean - b x) / a and eps = x / v - rho m
                    a, b = mean_ab(k)
                    return -rho[k] / a, 1 / v[k] + rho[k] * b / a
                return {"eps": (1, 0), "force": (-v[k], 0), "m_hat": (-rho[k], 1 / v[k])}[param]

            def from_eps(out, k):                  # out = A eps + B x_l
                if out == "mean":
                    a, b = mean_ab(k)
                    return -a / rho[k], a / (v[k] * rho[k]) + b
                return {"eps": (1, 0), "force": (-1 / v[k], 0), "m_hat": (-1 / rho[k], 1 / (v[k] * rho[k]))}[out]

            table = {}                             # (param, out, k) -> (A, B), in 40 digits, once per level
            for k in map(int, l):
                te = {p: to_eps(p, k) for p in lo.PARAMS}
                fe = {o: from_eps(o, k) for o in lo.PARAMS}
                for p in lo.PARAMS:
                    for o in lo.PARAMS:
                        A, B = (1, 0) if o == p else (fe[o][0] * te[p][0], fe[o][0] * te[p][1] + fe[o][1])
                        table[p, o, k] = (float(A), float(B))

            def coef(param, out, ks):
                return tuple(np.array([table[param, out, int(k)][j] for k in ks]) for j in (0, 1))

            x_l = sch.v[l][:, None] * (sch.rho[l][:, None] * x0 + z)
            for param in lo.PARAMS:
                model = lo.denoiser(2, (4,), n_freq=1, param=param)
                params = lo.init_denoiser(model, np.random.default_rng(int(rng.integers(1 << 30))))
                raw = model.net.forward(params, np.column_stack([x_l, lo.time_features(sch, l, 1)]))[0]
                for out in lo.PARAMS:
                    got = quiet(lo.predict, model, params, sch, x_l, l, out)
                    check(got, *coef(param, out, l), raw, x_l, f"{param} read as {out} ({kind})")
                    if out == "m_hat" and param == "eps":
                        close(quiet(m_hat_from_model(model, params, sch), x_l, l), got, rtol=0, what="m_hat callable")
                score = quiet(score_from_model, model, params, sch, list(l))
                i = lo.PARAMS.index(param) % 2        # the rows of x0 + z as y, at one of the two levels
                k, a = l[i], sch.scale[l[i]]
                ya = a * (x0 + z)
                raw = model.net.forward(params, np.column_stack([ya, lo.time_features(sch, np.full(2, k), 1)]))[0]
                A, B = coef(param, "force", [k, k])
                check(quiet(score, x0 + z, i), a * A, a * B, raw, ya, f"score of a {param} network, level {k} ({kind})")


# ================================================================================ contrastive
@case("contrastive.infonce.critic_scores", "contrastive.infonce.exact_gaussian_critic")
def case_contrastive_critic_scores(s, rng):
    """Scores of a quadratic critic with ``y`` times s, ``z`` over s and ``B`` over s^2 (each term keeps its
    size), against ``z_i^T W y_j + y_j^T B y_j`` in 40-digit arithmetic on the floats passed, to 1e-12 of the
    terms' sizes; the exact Gaussian critic at ``rho = min(s, 1/2)`` (to 1e-150) and ``rho = -(1 - t)``, t down
    to 1e-15, against ``rho / (1 - rho^2)`` and ``-rho^2 / (2 (1 - rho^2))`` in mpmath."""
    import mpmath as mp

    from pedagogy_lib.contrastive.infonce import QuadraticCritic, critic_scores, exact_gaussian_critic
    K, D = 3, 2
    y, z = rng.normal(size=(2 * K, D)) * s, rng.normal(size=(2 * K, D)) / s
    W, B0 = rng.normal(size=(D, D)), rng.normal(size=(D, D))
    B = (B0 + B0.T) / (2 * s * s)
    F = quiet(critic_scores, QuadraticCritic(W, B), y, z, K)
    with mp.workdps(40):
        m = lambda a: mp.matrix(a.tolist())                              # noqa: E731
        Wm, Bm = m(W), m(B)
        ref, size = np.empty((2, K, K)), np.empty((2, K, K))
        for b in range(2):
            for i in range(K):
                for j in range(K):
                    Z, Y = m(z[b * K + i]), m(y[b * K + j])
                    t1, t2 = (Z.T * Wm * Y)[0], (Y.T * Bm * Y)[0]
                    ref[b, i, j] = float(t1 + t2)
                    size[b, i, j] = float(mp.fsum(abs(Z[p] * Wm[p, q] * Y[q]) + abs(Y[p] * Bm[p, q] * Y[q])
                                                  for p in range(D) for q in range(D)))
        assert np.all(np.abs(F - ref) <= 1e-12 * size), f"scores: error {np.max(np.abs(F - ref) / size):.3g} of the terms"
        for rho in (min(s, 0.5), -(1.0 - max(min(s, 0.5), 1e-15))):
            r = mp.mpf(rho)
            c = quiet(exact_gaussian_critic, rho, 2)
            close(c.W, np.eye(2) * float(r / (1 - r * r)), rtol=1e-12, what=f"W at rho = {rho:.17g}")
            close(c.B, np.eye(2) * float(-r * r / (2 * (1 - r * r))), rtol=1e-12, what=f"B at rho = {rho:.17g}")


def _nce_data(rng, a, g):
    """Features and noise energies of Gaussian data and noise in units of ``a`` (``y -> a y``: the features
    ``(y^2/2, -y, 1)`` scale by ``(a^2, a, 1)`` and the noise energy shifts by ``log a``), and the energy
    ``theta`` near the fit in those units with its offset ``c`` raised by ``g``."""
    mu_n, var_n = 0.2, 1.5
    y_pos, y_neg = 0.5 + 0.9 * rng.normal(size=6), mu_n + np.sqrt(var_n) * rng.normal(size=(6, 2))
    feats = lambda y: np.stack([0.5 * (a * y) ** 2, -(a * y), np.ones_like(y)], axis=-1)   # noqa: E731
    energy = lambda y: 0.5 * (a * y - a * mu_n) ** 2 / (a * a * var_n) + 0.5 * np.log(2 * np.pi * a * a * var_n)  # noqa: E731
    theta = np.array([1.0 / 0.8 / (a * a), 0.5 / 0.8 / a, 0.5 * 0.5 / 0.8 + 0.5 * np.log(2 * np.pi * 0.8 * a * a) + g])
    return theta, feats(y_pos), feats(y_neg), energy(y_pos), energy(y_neg)


def _softplus_mp(x):
    import mpmath as mp
    return mp.log1p(mp.exp(x))


@case("contrastive.nce.nce_loss", "contrastive.nce.nce_standard_errors", "contrastive.local_nce.local_nce_loss")
def case_nce_losses_in_data_units(s, rng):
    """Gaussian data and noise in units of ``sqrt(s)`` (variances times s: features times ``(s, sqrt s, 1)``,
    noise energies plus ``log sqrt s``, the energy's ``(a, m)`` over ``(s, sqrt s)`` and its ``c`` plus
    ``log sqrt s``), and the energy's offset raised by ``g = 5 |log10 s|`` (to 750: every classifier saturated,
    ``softplus`` of +-750): Eqs. 10.4 and 10.13 against the definitions in 40-digit arithmetic on the floats
    passed; the sandwich standard errors at the fit times ``(s, sqrt s, 1)`` against those of the unit call."""
    import mpmath as mp

    from pedagogy_lib.contrastive.local_nce import local_nce_loss
    from pedagogy_lib.contrastive.nce import nce_loss, nce_standard_errors
    a = np.sqrt(s)
    seed = int(rng.integers(1 << 30))
    for g in (0.0, 5.0 * abs(np.log10(s))):
        theta, T_pos, T_neg, En_pos, En_neg = _nce_data(np.random.default_rng(seed), a, g)
        with mp.workdps(40):
            th = [mp.mpf(float(x)) for x in theta]
            h = lambda T, E: [mp.mpf(float(e)) - mp.fsum(mp.mpf(float(t)) * c for t, c in zip(row, th))  # noqa: E731
                              for row, e in zip(T, E)]
            h_pos, h_neg = h(T_pos, En_pos), h(T_neg.reshape(-1, 3), En_neg.ravel())
            ref_nce = float(mp.fsum(_softplus_mp(-x) for x in h_pos) / (2 * len(h_pos))
                            + mp.fsum(_softplus_mp(x) for x in h_neg) / (2 * len(h_neg)))
            ref_local = float(mp.fsum(_softplus_mp(-x) for x in h_pos) / len(h_pos)
                              + mp.fsum(_softplus_mp(x) for x in h_neg) / len(h_pos))
        close(quiet(nce_loss, theta, T_pos, T_neg.reshape(-1, 3), En_pos, En_neg.ravel()), ref_nce, rtol=1e-12,
              atol=1e-12, what=f"NCE loss (offset {g:.0f})")
        close(quiet(local_nce_loss, theta, T_pos, T_neg, En_pos, En_neg), ref_local, rtol=1e-12, atol=1e-12,
              what=f"local NCE loss (offset {g:.0f})")
    se = {}
    for unit in (a, 1.0):
        theta, T_pos, T_neg, En_pos, En_neg = _nce_data(np.random.default_rng(seed), unit, 0.0)
        se[unit] = quiet(nce_standard_errors, theta, T_pos, T_neg.reshape(-1, 3), En_pos, En_neg.ravel())
    close(se[a] * np.array([s, a, 1.0]), se[1.0], rtol=1e-8, what="standard errors in unit scale")


@case("contrastive.cpc.kalman_window_predictor", "contrastive.cpc.exact_cpc_critic")
def case_cpc_predictor_units(s, rng):
    """A stationary two-dimensional LGSSM in units of ``sqrt(s)`` (every covariance times s): the window
    predictor's ``beta`` is unchanged and ``V``, ``V0`` scale by s, against Gaussian conditioning on the dense
    covariance of the window and the future, ``Cov(y_t, y_u) = C A^(t-u) Sigma1 C^T (+ Sigma_y_x)``, at scale 1
    (not the Kalman filter). Beyond lgssm's MAX_MAGNITUDE = 1e75 a refusal naming Sigma1 and that range. The
    exact critic of the dense predictor times s, ``W = beta^T V^-1`` and ``B = -(V^-1 - V0^-1) / 2`` over s, at
    every scale."""
    from scipy.linalg import solve_discrete_lyapunov

    from pedagogy_lib.contrastive.cpc import WindowPredictor, exact_cpc_critic, kalman_window_predictor
    from pedagogy_lib.lgssm import LGSSMParams
    A = np.array([[0.8, 0.1], [-0.2, 0.5]])
    Sx = np.array([[0.5, 0.1], [0.1, 0.3]])
    C = np.array([[1.0, 0.5], [0.2, 1.0]])
    Sy = np.array([[0.3, 0.05], [0.05, 0.2]])
    S1 = solve_discrete_lyapunov(A, Sx)
    L, h = 2, 2
    times = [L - 1 - lag for lag in range(L)] + [L - 1 + h]            # the window, most recent first; the future

    def cov(t, u):
        if t < u:
            return cov(u, t).T
        return C @ np.linalg.matrix_power(A, t - u) @ S1 @ C.T + (Sy if t == u else 0.0)
    J = np.block([[cov(t, u) for u in times] for t in times])
    Szz, Sfz, Sff = J[:-2, :-2], J[-2:, :-2], J[-2:, -2:]
    beta = np.linalg.solve(Szz, Sfz.T).T
    V, V0 = Sff - beta @ Sfz.T, Sff
    params = LGSSMParams(np.zeros(2), S1 * s, A, None, np.zeros(2), Sx * s, C, np.zeros(2), Sy * s)
    if s * S1.max() > 1e75:
        with pytest.raises(ValueError, match=r"(?s)^Sigma1.*1e\+75"):
            quiet(kalman_window_predictor, params, L, h)
    else:
        p = quiet(kalman_window_predictor, params, L, h)
        close(p.beta, beta, rtol=1e-9, atol=1e-12, what="beta")
        close(p.intercept, np.zeros(2), atol=0, what="intercept")
        close(p.V, V * s, rtol=1e-9, what="prediction error covariance")
        close(p.V0, V0 * s, rtol=1e-9, what="marginal covariance")
    crit = quiet(exact_cpc_critic, WindowPredictor(beta, np.zeros(2), V * s, V0 * s))
    Vi, V0i = np.linalg.inv(V), np.linalg.inv(V0)
    close(crit.W, beta.T @ Vi / s, rtol=1e-9, atol=1e-12 * np.abs(Vi).max() / s, what="critic W")
    close(crit.B, -0.5 * (Vi - V0i) / s, rtol=1e-9, atol=1e-12 * np.abs(Vi).max() / s, what="critic B")
