"""Scale cases of the factor, vi and deepgen families (the method: tests/library/test_scales.py).

Each case scales the quantities of one function by ``s`` and compares with an identity of the maths applied
to the same call at scale 1 (homogeneity of a proximal map, of a Jacobian in its temperature, of a
covariance in its matrix; invariance of an argmax or of an energy under a change of units), or with the
closed form evaluated in mpmath; where float64 cannot hold the exact answer, the refusal must name the
argument.
"""
from __future__ import annotations

import functools

import mpmath
import numpy as np
import pytest

from pedagogy_lib.nn.network import DenseParams
from scale_kit import LINEAR_EXPONENTS, case, close, quiet

#: This module's public functions without a case, with the reason.
NOT_SWEPT: dict = {}

_FLOAT_MAX = mpmath.mpf(np.finfo(float).max)


# ================================================================================ factor
@case("factor.sparse_coding.soft_threshold", "factor.sparse_coding_em.expected_abs", exponents=LINEAR_EXPONENTS)
def case_soft_threshold_and_expected_abs(s, rng):
    """Both are homogeneous of degree one: soft(s z, s t) = s soft(z, t) and E|sX| = s E|X| for X ~ N(mu,
    sigma^2); E|X| is checked against its closed form in 50-digit arithmetic."""
    from pedagogy_lib.factor.sparse_coding import soft_threshold
    from pedagogy_lib.factor.sparse_coding_em import expected_abs
    z = np.array([-3.0, -0.5, 0.2, 1.5, 4.0]) * rng.uniform(0.8, 1.2, 5)
    t = np.array([1.0, 1.0, 0.5, 0.7, 2.0])
    ref = np.sign(z) * np.maximum(np.abs(z) - t, 0.0)
    close(quiet(soft_threshold, s * z, s * t), s * ref, rtol=1e-13, what="soft threshold")
    mu = np.array([-2.0, -0.3, 0.0, 0.4, 3.0, 30.0]) * rng.uniform(0.8, 1.2, 6)
    sd = np.array([0.5, 1.0, 2.0, 0.1, 1.5, 1.0])
    with mpmath.workdps(50):
        exact = []
        for m, v in zip(mu, sd):
            m, v = mpmath.mpf(m), mpmath.mpf(v)
            exact.append(v * mpmath.sqrt(2 / mpmath.pi) * mpmath.exp(-m * m / (2 * v * v))
                         + m * mpmath.erf(m / (mpmath.sqrt(2) * v)))
        exact = np.array([float(mpmath.mpf(s) * e) for e in exact])
    close(quiet(expected_abs, s * mu, s * sd), exact, rtol=1e-12, what="E|X|")


@case("factor.sparse_coding.joint_energy", "factor.sparse_coding.posterior_energy")
def case_sparse_coding_energy_in_other_units(s, rng):
    """A change of units leaves each energy unchanged: x -> s x, y -> s y with the Laplace rates alpha / s
    (Gaussian precisions alpha / s^2) and the emission precision lam / s^2."""
    from pedagogy_lib.factor.sparse_coding import joint_energy, make_model, posterior_energy
    C = rng.normal(size=(3, 4))
    x, y = rng.normal(size=(2, 4)), rng.normal(size=3)
    alpha, lam = rng.uniform(0.5, 2.0, 4), 1.7
    for prior, pow_ in (("laplace", 1), ("gaussian", 2)):
        beta = 3.0 if prior == "laplace" else None
        m1 = make_model(C, lam, alpha, beta, prior=prior)
        ms = make_model(C, lam / s ** 2, alpha / s ** pow_, beta, prior=prior)
        for fn in (joint_energy, posterior_energy):
            ref = fn(x, y, m1)
            close(quiet(fn, s * x, s * y, ms), ref, rtol=1e-12, what=f"{fn.__name__}, {prior} prior")


@case("factor.em.pca")
def case_pca_in_other_units(s, rng):
    """y -> s y multiplies the mean by s and the eigenvalues by s^2 and leaves the components."""
    from pedagogy_lib.factor.em import pca
    y = rng.normal(size=(30, 3)) * np.array([3.0, 1.0, 0.3]) + np.array([1.0, -2.0, 0.5])
    ref, got = pca(y, 2), quiet(pca, s * y, 2)
    close(got.eigvals, s * s * ref.eigvals, rtol=1e-11, what="eigenvalues")
    close(got.U, ref.U, rtol=1e-9, atol=1e-11, what="components")
    close(got.c, s * ref.c, rtol=1e-12, what="mean")


@case("factor.sparse_coding_em.free_energy", "factor.sparse_coding.log_marginal_quadrature")
def case_sparse_coding_densities_in_other_units(s, rng):
    """Sources and data in other units (x -> s x, y -> s y; Laplace rates alpha / s, emission precision
    lam / s^2; recognition means s nu and covariances s^2 Sigma): log p(y) drops by L log s, and the free
    energy -<log p(x, y)> - H[q] rises by (K + L) log s - K log s = L log s, against the calls at scale 1."""
    from pedagogy_lib.factor.sparse_coding import log_marginal_quadrature, make_model
    from pedagogy_lib.factor.sparse_coding_em import Recognition, free_energy
    L, K, N = 2, 3, 4
    C, alpha, lam = rng.normal(size=(L, K)), rng.uniform(0.5, 2.0, K), 1.3
    Y = rng.normal(size=(N, L))
    A = rng.normal(size=(N, K, K))
    P = np.einsum("nij,nkj->nik", A, A) + np.eye(K)
    rec = Recognition(rng.normal(size=(N, K)), P, np.linalg.inv(P))
    m1, ms = make_model(C, lam, alpha, 3.0), make_model(C, lam / s ** 2, alpha / s, 3.0 / s)
    rec_s = Recognition(s * rec.nu, rec.P / s ** 2, s ** 2 * rec.Sigma)
    ls = np.log(s)
    tol = 1e-12 * (1.0 + (K + L) * abs(ls))
    close(quiet(free_energy, s * Y, ms, rec_s), free_energy(Y, m1, rec) + L * ls, rtol=1e-11, atol=tol,
          what="free energy")
    close(quiet(free_energy, s * Y, ms, rec_s, per_datum=True), free_energy(Y, m1, rec, per_datum=True) + L * ls,
          rtol=1e-11, atol=tol, what="free energy per datum")
    m1, ms = make_model(C[:, :1], lam, alpha[:1], 3.0), make_model(C[:, :1], lam / s ** 2, alpha[:1] / s, 3.0 / s)
    close(quiet(log_marginal_quadrature, s * Y[0], ms), log_marginal_quadrature(Y[0], m1) - L * ls, rtol=1e-8,
          atol=1e-8 * (1.0 + L * abs(ls)), what="log p(y) by quadrature, K = 1")


# ================================================================================ deepgen
@case("deepgen.estimators.shared_mean_gradient", "deepgen.estimators.optimal_baseline",
      exponents=LINEAR_EXPONENTS)
def case_shared_mean_closed_forms(s, rng):
    """d E[(mu + z)^2] / d mu = 2 mu and beta* = E[s^2 f] / K = mu^2 + 1 + 2 / K (z ~ N(0, 1), s the sum of
    K such), in 50-digit arithmetic; where mu^2 leaves float64 the baseline must be refused naming mu."""
    from pedagogy_lib.deepgen.estimators import optimal_baseline, shared_mean_gradient
    mu, K = s * rng.uniform(0.5, 2.0), int(rng.integers(1, 6))
    close(quiet(shared_mean_gradient, mu), 2.0 * mu, rtol=1e-15, what="gradient")
    with mpmath.workdps(50):
        exact = mpmath.mpf(mu) ** 2 + 1 + mpmath.mpf(2) / K
        if exact > _FLOAT_MAX:
            with pytest.raises(ValueError, match=r"mu must be moderate"):
                quiet(optimal_baseline, mu, K)
            return
        exact = float(exact)
    close(quiet(optimal_baseline, mu, K), exact, rtol=1e-14, what="baseline")


@case("deepgen.estimators.shared_mean_variances", exponents=LINEAR_EXPONENTS)
def case_shared_mean_variances(s, rng):
    """Var_SF = E[s^2 f^2] - 2 beta E[s^2 f] + beta^2 K - 4 mu^2 with the moments in 60-digit arithmetic,
    for beta = 0, the optimal baseline (where the mu^4 terms cancel) and a beta of size mu; where the
    exact variance leaves float64 the refusal must name mu and beta."""
    from pedagogy_lib.deepgen.estimators import optimal_baseline, shared_mean_variances
    mu, K = s * rng.uniform(0.5, 2.0), int(rng.integers(1, 6))
    betas = [0.0, 3.0 * mu] + ([optimal_baseline(mu, K)] if mu < 1e150 else [])
    for beta in betas:
        with mpmath.workdps(60):
            m, b = mpmath.mpf(mu), mpmath.mpf(beta)
            m2 = m * m
            Es2f = (m2 + 3) + (K - 1) * (m2 + 1)
            Es2f2 = (m2 ** 2 + 18 * m2 + 15) + (K - 1) * (m2 ** 2 + 6 * m2 + 3)
            exact = Es2f2 - 2 * b * Es2f + b * b * K - 4 * m2
        if exact > _FLOAT_MAX:
            with pytest.raises(ValueError, match=r"mu \(got .*\) and beta \(got .*\) must be moderate"):
                quiet(shared_mean_variances, mu, K, beta=beta)
            continue
        v_sf, v_pw = quiet(shared_mean_variances, mu, K, beta=beta)
        close(v_sf, float(exact), rtol=1e-13, what=f"score-function variance, beta = {beta:.3g}")
        assert v_pw == 4.0


@case("deepgen.estimators.expo_gradient")
def case_expo_gradient(s, rng):
    """-4 / lam^3 in 50-digit arithmetic (below 1e-300 in size it rounds to zero); where it leaves float64
    the refusal must name lam."""
    from pedagogy_lib.deepgen.estimators import expo_gradient
    lam = s * rng.uniform(0.5, 2.0)
    with mpmath.workdps(50):
        exact = -4 / mpmath.mpf(lam) ** 3
        if abs(exact) > _FLOAT_MAX:
            with pytest.raises(ValueError, match=r"lam is too small"):
                quiet(expo_gradient, lam)
            return
    close(quiet(expo_gradient, lam), float(exact), rtol=1e-14, atol=1e-300, what="gradient")


@case("deepgen.gumbel.gumbel_max", exponents=LINEAR_EXPONENTS)
def case_gumbel_max_in_other_units(s, rng):
    """The argmax of eta + G0 is unchanged when both are multiplied by s > 0."""
    from pedagogy_lib.deepgen.gumbel import gumbel_max
    eta = np.array([0.3, -1.0, 2.0, 0.9])
    G0 = rng.gumbel(size=(20, 4))
    ref = np.eye(4)[np.argmax(eta + G0, axis=1)]
    if s > 1e300:
        eta, G0 = eta / 100.0, G0 / 100.0                # keep eta + G0 below the largest float
    close(quiet(gumbel_max, s * eta, s * G0), ref, rtol=0.0, what="one-hot argmax")


@case("deepgen.gumbel.soft_categorical_jacobian")
def case_soft_categorical_jacobian_temperature(s, rng):
    """The Jacobian (diag y - y y^T) / s at temperature s, with a peaked row and a row of two categories of
    probability 1e-200, each entry against 50-digit arithmetic (to within 1e-300, the edge of float64)."""
    from pedagogy_lib.deepgen.gumbel import soft_categorical_jacobian
    y = rng.dirichlet(np.ones(4), size=3)
    y[0] = [1.0 - 3e-150, 1e-150, 1e-150, 1e-150]            # a peaked row, entries near the underflow
    y[1] = [0.5, 0.5 - 2e-200, 1e-200, 1e-200]               # y_2 y_3 = 1e-400 underflows; y_2 y_3 / s need not
    with mpmath.workdps(50):
        sm = mpmath.mpf(s)
        ref = np.array([[[float(r[l] * ((1 if l == m else 0) - r[m]) / sm) for m in range(4)] for l in range(4)]
                        for r in ([mpmath.mpf(v) for v in row] for row in y)])
    close(quiet(soft_categorical_jacobian, y, s), ref, rtol=1e-13, atol=1e-300, what="Jacobian")


@case("deepgen.ica.gaussian_model_covariance", "deepgen.ica.whitening_matrix")
def case_ica_covariances_in_other_units(s, rng):
    """D -> s D gives (D^T D)^-1 / s^2, written here by a dense inverse at scale 1; Y -> s Y gives the
    whitening matrix over s, held to W <Y Y^T> W = I at scale 1."""
    from pedagogy_lib.deepgen.ica import gaussian_model_covariance, whitening_matrix
    D = rng.normal(size=(3, 3)) + 2.0 * np.eye(3)
    ref = np.linalg.inv(D.T @ D)
    close(quiet(gaussian_model_covariance, s * D), ref / s ** 2, rtol=1e-10, what="model covariance")
    Y = rng.normal(size=(40, 3)) @ np.array([[2.0, 0.0, 0.0], [0.5, 1.0, 0.0], [0.0, 0.3, 0.4]])
    S = Y.T @ Y / len(Y)
    W1 = whitening_matrix(Y)
    close(W1 @ S @ W1, np.eye(3), atol=1e-12, what="whitening at scale 1")
    close(W1, W1.T, atol=1e-14, what="symmetric whitening")
    close(quiet(whitening_matrix, s * Y), W1 / s, rtol=1e-10, what="whitening matrix")


def _jre_reference(p_y, q, p_x, E):
    """Every term of ``jre_terms`` from its definition, in 50-digit arithmetic over the float inputs."""
    with mpmath.workdps(50):
        py, px = [mpmath.mpf(v) for v in p_y], [mpmath.mpf(v) for v in p_x]
        q = [[mpmath.mpf(v) for v in r] for r in q]
        E = [[mpmath.mpf(v) for v in r] for r in E]
        J, I = len(py), len(px)
        pairs = [(j, i) for j in range(J) for i in range(I)]

        def xlog(a, b):
            return a * mpmath.log(b) if a != 0 else mpmath.mpf(0)

        jq = {(j, i): py[j] * q[j][i] for j, i in pairs}
        jp = {(j, i): px[i] * E[i][j] for j, i in pairs}
        qa = [sum(jq[j, i] for j in range(J)) for i in range(I)]
        py_hat = [sum(jp[j, i] for i in range(I)) for j in range(J)]
        terms = (sum(xlog(jq[k], jq[k] / jp[k]) for k in pairs),
                 sum(py[j] * xlog(q[j][i], q[j][i] / px[i]) for j, i in pairs),
                 -sum(xlog(jq[j, i], E[i][j]) for j, i in pairs),
                 -sum(xlog(v, v) for v in py),
                 sum(xlog(qa[i], qa[i] / px[i]) for i in range(I)),
                 sum(xlog(jq[j, i], jq[j, i] / (py[j] * qa[i])) for j, i in pairs),
                 sum(xlog(py[j], py[j] / py_hat[j]) for j in range(J)),
                 sum(py[j] * xlog(q[j][i], q[j][i] * py_hat[j] / jp[j, i]) for j, i in pairs))
        return np.array([float(v) for v in terms])


@case("deepgen.vae.jre_terms")
def case_jre_terms_with_nearly_unreachable_states(s, rng):
    """A generative model that almost never visits latent state 1 (prior mass t = min(s, 1/s)) and whose
    state 1 almost never emits y = 0 or 2, against a recognition model that puts ordinary mass there:
    model joint probabilities of t^2 and relative entropies of hundreds of nats, every term against its
    definition in 50-digit arithmetic."""
    from pedagogy_lib.deepgen.vae import jre_terms
    t = min(s, 1.0 / s)

    def norm(r):
        return np.asarray(r) / np.sum(r)
    p_y = norm(rng.uniform(0.5, 1.5, 3))
    q = np.stack([norm(rng.uniform(0.5, 1.5, 2)) for _ in range(3)])
    p_x = norm([1.0, t])
    E = np.stack([norm(rng.uniform(0.5, 1.5, 3)), norm([t, 1.0, t])])
    exact = _jre_reference(p_y, q, p_x, E)
    close(np.array(quiet(jre_terms, p_y, q, p_x, E)), exact, rtol=1e-12, atol=1e-14 * (1.0 - np.log(t)),
          what="JRE terms (L, KL, reconstruction, H, aggregate KL, MI, MRE, PRE)")


# ================================================================================ vi
@case("vi.amortized.local_vb")
def case_local_vb_in_other_units(s, rng):
    """Observations in other units (Y, C, c -> s Y, s C, s c; sigma2 -> s^2 sigma2) leave the posterior
    over the unit-variance latents unchanged: the same means and log standard deviations as at scale 1,
    which are written here from the dense posterior precision I + C^T C / sigma2."""
    from pedagogy_lib.vi.amortized import LinearGaussianModel, local_vb
    C, c, s2 = rng.normal(size=(4, 2)), rng.normal(size=4), rng.uniform(0.2, 2.0)
    Y = rng.normal(size=(5, 4))
    P = np.eye(2) + C.T @ C / s2
    nu = np.linalg.solve(P, C.T @ (Y - c).T / s2).T
    log_s = np.broadcast_to(-0.5 * np.log(np.diag(P)), nu.shape)
    got_nu, got_log_s = quiet(local_vb, LinearGaussianModel(s * C, s * c, s * s * s2), s * Y)
    close(got_nu, nu, rtol=1e-10, atol=1e-13, what="posterior means")
    close(got_log_s, log_s, rtol=1e-12, atol=1e-14, what="log standard deviations")


def _rescaled_net(params, s_in, out_scale, out_shift):
    """Parameters of the network ``a -> out_scale * m(a / s_in) + out_shift`` (first and last dense layers)."""
    layers = list(params)
    dense = [i for i, p in enumerate(layers) if len(p) == 2]
    first, last = dense[0], dense[-1]
    layers[first] = DenseParams(layers[first][0] / s_in, layers[first][1])
    D, d = layers[last]
    layers[last] = DenseParams(D * out_scale[:, None], d * out_scale + out_shift)
    return tuple(layers)


@case("vi.flows.flow_log_density", exponents=LINEAR_EXPONENTS)
def case_flow_log_density_in_other_units(s, rng):
    """x -> s x with c1 -> s c1, a1 -> a1 + log s and the conditioner's shift t -> s t and log scale
    u -> u + log s (its first layer reading x1 / s) is the same flow in other units: log q drops by 2 log s."""
    from pedagogy_lib.vi.flows import CouplingFlowParams, coupling_flow, flow_init, flow_log_density
    net = coupling_flow(hidden=4)
    p = flow_init(net, rng)
    p = CouplingFlowParams(np.array([0.3]), np.array([-0.2]), p.omega)
    x = rng.normal(size=(6, 2))
    ref = flow_log_density(net, p, x)
    ls = np.log(s)
    ps = CouplingFlowParams(s * p.c1, p.a1 + ls, _rescaled_net(p.omega, s, np.array([s, 1.0]), np.array([0.0, ls])))
    close(quiet(flow_log_density, net, ps, s * x), ref - 2.0 * ls, rtol=1e-12, atol=1e-12 * (1.0 + abs(ls)),
          what="log q")


@case("deepgen.nice.log_likelihood", "deepgen.nice.log_det_jacobian", exponents=LINEAR_EXPONENTS)
def case_nice_in_other_units(s, rng):
    """y -> s y with every coupling m(a) -> s m(a / s) and the final log scales sigma - log s gives the
    same latent x, so log p(y) drops by K log s and log |det| by K log s, against the call at scale 1."""
    from pedagogy_lib.deepgen.nice import NICEParams, log_det_jacobian, log_likelihood, make_nice, nice_init
    K = 3
    model = make_nice(K=K, n_couplings=3, hidden=(4,), activation="tanh")
    p = nice_init(model, rng, out_scale=0.5)
    p = NICEParams(p.nets, rng.normal(scale=0.3, size=K))
    Y = rng.normal(size=(5, K))
    ls = np.log(s)
    nets = tuple(_rescaled_net(q, s, np.full(int(np.sum(~a)), s), 0.0) for q, a in zip(p.nets, model.masks))
    ps = NICEParams(nets, p.log_scale - ls)
    tol = 1e-12 * (1.0 + K * abs(ls))
    close(quiet(log_likelihood, model, ps, s * Y), log_likelihood(model, p, Y) - K * ls, rtol=1e-12, atol=tol,
          what="log likelihood")
    close(quiet(log_det_jacobian, model, ps, s * Y), log_det_jacobian(model, p, Y) - K * ls, rtol=1e-12,
          atol=tol, what="log det Jacobian")


@case("deepgen.vae.reconstruction")
def case_vae_reconstruction_scaled(s, rng):
    """Gaussian emission: y -> s y, decoder means -> s mu, alpha -> s^2 alpha adds M log s to the surprisal
    (against the call at scale 1). Bernoulli emission with the logits times s (the last layer times s):
    against sum log(1 + exp(-(2y - 1) eta)) written here with logaddexp, saturated at s = 1e150."""
    from pedagogy_lib.deepgen.vae import VAEParams, init_params, reconstruction, vae
    M, K = 3, 2
    X = rng.normal(size=(4, K))
    g = vae(M, K, hidden=4, likelihood="gaussian", alpha=0.7)
    p = init_params(g, rng)
    Y = rng.normal(size=(4, M))
    gs = vae(M, K, hidden=4, likelihood="gaussian", alpha=0.7 * s * s)
    ps = VAEParams(p.phi, _rescaled_net(p.theta, 1.0, np.full(M, s), 0.0))
    ls = np.log(s)
    close(quiet(reconstruction, gs, ps, X, s * Y), reconstruction(g, p, X, Y) + M * ls, rtol=1e-12,
          atol=1e-12 * (1.0 + M * abs(ls)), what="Gaussian surprisal")
    b = vae(M, K, hidden=4, likelihood="bernoulli")
    p = init_params(b, rng)
    Yb = (rng.uniform(size=(4, M)) < 0.5).astype(float)
    ps = VAEParams(p.phi, _rescaled_net(p.theta, 1.0, np.full(M, s), 0.0))
    (D1, d1), _, (D2, d2), _ = p.theta                           # dense, tanh, dense, identity
    eta = s * (np.tanh(X @ D1.T + d1) @ D2.T + d2)
    exact = np.sum(np.logaddexp(0.0, -(2.0 * Yb - 1.0) * eta), axis=1)
    close(quiet(reconstruction, b, ps, X, Yb), exact, rtol=1e-12, atol=1e-14, what="Bernoulli surprisal")


@functools.lru_cache(maxsize=8)
def _bgmm_at_scale_1(seed):
    """Data, prior, label statistics, the updated posterior, its statistics and ELBO at scale 1 (once per seed)."""
    from pedagogy_lib.mixture.em import gmm_stats_from_responsibilities
    from pedagogy_lib.vi.bgmm import bgmm_elbo, bgmm_prior, bgmm_responsibilities, bgmm_update_parameters
    rng = np.random.default_rng(seed)
    N, D, K = 12, 2, 3
    y = np.concatenate([rng.normal(size=(4, D)) + 3.0 * k for k in range(K)])
    r = rng.dirichlet(np.ones(K), size=N)
    prior = bgmm_prior(0.5, 0.8, y.mean(axis=0), np.eye(D) + 0.3, D + 1.0)
    stats0 = gmm_stats_from_responsibilities(y, r)
    q = bgmm_update_parameters(stats0, prior)
    stats = bgmm_responsibilities(y, q)
    return y, prior, stats0, q, stats, bgmm_elbo(stats, q, prior)


@case("vi.bgmm.bgmm_update_parameters", "vi.bgmm.bgmm_responsibilities", "vi.bgmm.bgmm_elbo")
def case_bgmm_in_other_units(s, rng):
    """Data in other units (y -> s y; prior and posterior means times s, inverse Wishart scales times s^2;
    counts, concentrations, beta and nu unchanged) is the same Bayesian GMM: the same responsibilities and
    entropy, statistics scaled as their units, and the ELBO and log likelihood lower by N D log s, against
    the calls at scale 1 (the label statistics at scale s are written from those at scale 1)."""
    from pedagogy_lib.mixture.em import GMMStats
    from pedagogy_lib.vi.bgmm import BGMMPosterior, bgmm_elbo, bgmm_prior, bgmm_responsibilities, bgmm_update_parameters
    N, D = 12, 2
    y, prior, stats0, q, stats, elbo = _bgmm_at_scale_1(int(rng.integers(2 ** 31)))
    shift = N * D * np.log(s)
    prior_s = bgmm_prior(0.5, 0.8, s * prior.m0, s * s * prior.W0_inv, D + 1.0)

    def in_units(st):
        return GMMStats(st.N_k, s * st.sum_d, s * s * st.sum_dd, s * st.mu_ref, st.log_lik - shift, st.entropy)

    q_s = quiet(bgmm_update_parameters, in_units(stats0), prior_s)
    for name, got, want in (("alpha", q_s.alpha, q.alpha), ("beta", q_s.beta, q.beta), ("nu", q_s.nu, q.nu),
                            ("m", q_s.m, s * q.m), ("W_inv", q_s.W_inv, s * s * q.W_inv)):
        close(got, want, rtol=1e-11, atol=1e-13 * np.abs(want).max(), what=f"posterior {name}")
    q_s = BGMMPosterior(q.alpha, q.beta, s * q.m, s * s * q.W_inv, q.nu)
    st_s = quiet(bgmm_responsibilities, s * y, q_s)
    want = in_units(stats)
    close(st_s.N_k, want.N_k, rtol=1e-11, what="soft counts")
    close(st_s.entropy, want.entropy, rtol=1e-11, what="label entropy")
    close(st_s.sum_d, want.sum_d, rtol=1e-9, atol=1e-11 * s, what="centred sums")
    close(st_s.sum_dd, want.sum_dd, rtol=1e-9, atol=1e-11 * s * s, what="scatter")
    close(st_s.mu_ref, want.mu_ref, rtol=1e-11, atol=1e-13 * s, what="centring points")
    tol = 1e-11 * (abs(elbo) + abs(shift))
    close(st_s.log_lik, want.log_lik, rtol=0.0, atol=tol, what="log likelihood")
    close(quiet(bgmm_elbo, want, q_s, prior_s), elbo - shift, rtol=0.0, atol=tol, what="ELBO")
