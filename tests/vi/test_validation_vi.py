"""Malformed variational families, priors and models end in a clear error naming the field (issue 29)."""
import numpy as np
import pytest

from pedagogy_lib.samplers import banana, gaussian_target
from pedagogy_lib.vi import amortized, bbvi, bgmm, flows


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(1)
    y = rng.standard_normal((40, 2))
    y[:20] += 3.0
    prior = bgmm.default_bgmm_prior(y, 2)
    r0 = np.random.default_rng(2).dirichlet(np.ones(2), 40)
    q = bgmm.cavi_bgmm(y, prior, r0, n_iter=5, tol=0).q
    stats = bgmm.bgmm_responsibilities(y, q)
    return y, prior, q, stats


def test_bgmm_elbo_refuses_a_truncated_nu(fitted):
    """The reproduction of issue 29: it returned -66.83."""
    y, prior, q, stats = fitted
    with pytest.raises(ValueError, match=r"q\.nu"):
        bgmm.bgmm_elbo(stats, q._replace(nu=q.nu[:1]), prior)


Q_EDITS = [
    ("alpha short", dict(alpha=np.ones(1)), ValueError, r"q\.alpha"),
    ("alpha zero", dict(alpha=np.zeros(2)), ValueError, r"q\.alpha"),
    ("beta nan", dict(beta=np.array([1.0, np.nan])), ValueError, r"q\.beta"),
    ("m wrong D", dict(m=np.zeros((2, 3))), ValueError, r"q\.(m|W_inv)"),
    ("m complex", dict(m=np.zeros((2, 2)) + 0j), TypeError, r"q\.m"),
    ("W_inv indefinite", dict(W_inv=-np.stack([np.eye(2)] * 2)), ValueError, r"q\.W_inv"),
    ("W_inv shape", dict(W_inv=np.eye(2)), ValueError, r"q\.W_inv"),
    ("nu too small", dict(nu=np.array([0.5, 3.0])), ValueError, r"q\.nu"),
]


@pytest.mark.parametrize("label, change, err, match", Q_EDITS, ids=[e[0] for e in Q_EDITS])
@pytest.mark.parametrize("call", ["bgmm_elbo", "bgmm_responsibilities"])
def test_malformed_bgmm_posteriors_are_refused(fitted, label, change, err, match, call):
    y, prior, q, stats = fitted
    bad = q._replace(**change)
    with pytest.raises(err, match=match):
        if call == "bgmm_elbo":
            bgmm.bgmm_elbo(stats, bad, prior)
        else:
            bgmm.bgmm_responsibilities(y, bad)


PRIOR_EDITS = [
    ("alpha0 negative", dict(alpha0=-1.0), ValueError, r"prior\.alpha0"),
    ("beta0 nan", dict(beta0=np.nan), ValueError, r"prior\.beta0"),
    ("m0 wrong D", dict(m0=np.zeros(3)), ValueError, r"prior\.W0_inv"),
    ("W0_inv singular", dict(W0_inv=np.ones((2, 2))), ValueError, r"prior\.W0_inv"),
    ("nu0 too small", dict(nu0=0.5), ValueError, r"prior\.nu0"),
    ("nu0 string", dict(nu0="3"), TypeError, r"prior\.nu0"),
]


@pytest.mark.parametrize("label, change, err, match", PRIOR_EDITS, ids=[e[0] for e in PRIOR_EDITS])
@pytest.mark.parametrize("call", ["bgmm_elbo", "bgmm_update_parameters", "cavi_bgmm"])
def test_malformed_bgmm_priors_are_refused(fitted, label, change, err, match, call):
    y, prior, q, stats = fitted
    bad = prior._replace(**change)
    with pytest.raises(err, match=match):
        if call == "bgmm_elbo":
            bgmm.bgmm_elbo(stats, q, bad)
        elif call == "bgmm_update_parameters":
            bgmm.bgmm_update_parameters(stats, bad)
        else:
            bgmm.cavi_bgmm(y, bad, np.full((40, 2), 0.5), n_iter=2, tol=0)


def test_malformed_label_statistics_are_refused(fitted):
    y, prior, q, stats = fitted
    with pytest.raises(ValueError, match=r"stats\.sum_d"):
        bgmm.bgmm_update_parameters(stats._replace(sum_d=stats.sum_d[:, :1]), prior)
    with pytest.raises(ValueError, match=r"stats\.N_k"):
        bgmm.bgmm_elbo(stats._replace(N_k=stats.N_k[:1]), q, prior)
    with pytest.raises(ValueError, match=r"stats\.N_k"):
        bgmm.bgmm_update_parameters(stats._replace(N_k=-stats.N_k), prior)
    with pytest.raises(TypeError, match="stats"):
        bgmm.bgmm_elbo(tuple(stats), q, prior)


def test_the_checked_bgmm_path_gives_the_same_answer(fitted):
    y, prior, q, stats = fitted
    by_hand = bgmm.BGMMPosterior(*(np.asarray(a).tolist() for a in q))
    assert bgmm.bgmm_elbo(stats, by_hand, prior) == pytest.approx(bgmm.bgmm_elbo(stats, q, prior), rel=1e-12)


LGM = [
    ("sigma2 nan", dict(sigma2=np.nan), ValueError, r"model\.sigma2"),
    ("sigma2 zero", dict(sigma2=0.0), ValueError, r"model\.sigma2"),
    ("c short", dict(c=np.zeros(2)), ValueError, r"model\.c"),
    ("C 1-D", dict(C=np.ones(3)), ValueError, r"model\.C"),
    ("C inf", dict(C=np.full((3, 2), np.inf)), ValueError, r"model\.C"),
    ("C complex", dict(C=np.ones((3, 2)) + 0j), TypeError, r"model\.C"),
]


@pytest.mark.parametrize("label, change, err, match", LGM, ids=[e[0] for e in LGM])
@pytest.mark.parametrize("call", ["log_evidence", "exact_posterior", "local_vb", "linear_gaussian_elbo"])
def test_malformed_linear_gaussian_models_are_refused(label, change, err, match, call):
    """The reproduction of issue 29: log_evidence with sigma2 = NaN returned NaN."""
    model = amortized.linear_gaussian_model(np.ones((3, 2)), np.zeros(3), 1.0)._replace(**change)
    Y = np.ones((5, 3))
    with pytest.raises(err, match=match):
        if call == "linear_gaussian_elbo":
            amortized.linear_gaussian_elbo(model, Y, np.zeros((5, 2)), np.zeros((5, 2)))
        else:
            getattr(amortized, call)(model, Y)


@pytest.mark.parametrize("call", ["elbo_terms", "score_function_terms", "reparam_terms"])
def test_bbvi_terms_check_lam_against_the_target(call):
    fn = getattr(bbvi, call)
    with pytest.raises(ValueError, match=r"lam\.m"):
        fn(banana(), bbvi.GaussianVIParams(np.zeros(3), np.zeros(3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"lam\.log_s"):
        fn(banana(), bbvi.GaussianVIParams(np.zeros(2), np.array([0.0, np.nan])), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"target\.Lambda"):
        fn(gaussian_target(np.zeros(2), np.eye(2))._replace(Lambda=np.eye(3)),
           bbvi.GaussianVIParams(np.zeros(2), np.zeros(2)), np.zeros((4, 2)))


def test_bbvi_models_and_fits_are_checked():
    with pytest.raises(ValueError, match=r"model\.sigma"):
        bbvi.normal_normal_posterior(bbvi.NormalNormal(np.ones(3), -1.0, 0.0, 1.0))
    with pytest.raises(ValueError, match=r"model\.y"):
        bbvi.normal_normal_target(bbvi.NormalNormal(np.ones((3, 1)), 1.0, 0.0, 1.0))
    with pytest.raises(ValueError, match=r"lam\.m"):
        bbvi.fit_gaussian_vi(banana(), bbvi.GaussianVIParams(np.zeros(1), np.zeros(1)), np.random.default_rng(0),
                             n_iter=2)


def test_flows_check_their_parameters_and_network():
    rng = np.random.default_rng(0)
    net = flows.coupling_flow(4)
    p = flows.flow_init(net, rng)
    with pytest.raises(ValueError, match=r"params\.c1"):
        flows.flow_sample(net, p._replace(c1=np.zeros(0)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"params\.a1"):
        flows.flow_log_density(net, p._replace(a1=np.array([np.nan])), np.zeros((3, 2)))
    with pytest.raises(TypeError, match="net"):
        flows.flow_elbo_and_grads("net", p, banana(), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="two-dimensional"):
        flows.fit_flow_vi(net, p, gaussian_target(np.zeros(3), np.eye(3)), rng, n_iter=1)
