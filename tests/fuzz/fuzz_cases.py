"""Valid example calls of the public functions of pedagogy_lib, for the fuzz of tests/library/test_fuzz_public_api.py.

``build_family(family)`` returns ``{key: (function, args, kwargs, options)}`` with ``key`` =
``"family.module.name"``; the fuzz starts from each call and changes one argument or container field at
a time. Examples are small (the fuzz makes thousands of calls) and follow how the family's own tests
call each function. ``options``: ``allow_nonfinite`` lists result fields that are legitimately NaN or
infinite in the valid call (for example an RMSE without a truth); ``twin=False`` skips the comparison
with the NumPy twin (functions whose numba and NumPy paths draw different random numbers).

``public_functions(family)`` lists every public function (``__all__`` of every module of the family);
the fuzz fails for a family with a public function that has no example and is not in ``NOT_FUZZED``.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np

FAMILIES = ("assimilation", "contrastive", "core", "deepgen", "diffusion", "discrete", "em", "factor", "gaussian",
            "graphical", "harmonium", "hmm", "learning", "lgssm", "mixture", "nn", "recursions", "samplers", "smc",
            "vi")


#: Public functions the fuzz leaves alone, with the reason. The linear-algebra helpers of ``core`` trust
#: their inputs by design: validated public functions call them inside their loops (validating there would
#: be the re-validation in hot loops that the library avoids); the ``jit`` decorators take a function.
NOT_FUZZED = {
    "core.lazy.attach": "called once by each family's __init__ with the family's own literal lists; "
                        "tests/library/test_library_layout.py covers it, including the refusal of a shared name",
    "core.lazy.public_names": "reads the library's own source files; covered with attach",
    "core.linalg.symmetrize": "trusted helper (inputs validated by its callers)",
    "core.checks.replaced_fields": "the _replace of a container validated when built; every family's fuzz of "
                                   "_replace reaches it with a wrong field name",
    "core.linalg.chol_solve": "trusted helper (inputs validated by its callers)",
    "core.linalg.chol_logdet": "trusted helper (inputs validated by its callers)",
    "core.linalg.chol_logdet_trace": "trusted helper (inputs validated by its callers)",
    "core.linalg.spd_inverse": "trusted helper (inputs validated by its callers)",
    "core.linalg.mvn_logpdf_chol": "trusted helper (inputs validated by its callers)",
    "core.jit.njit": "decorator", "core.jit.njit_ieee": "decorator", "core.jit.njit_inline": "decorator",
    "core.jit.compile_for": "a decorator with a signature, from the library's own kernels only; "
                            "tests/core/test_jit.py covers it",
    "core.jit.prefer_compiled": "takes a kernel and the caller's estimate, from the library's own functions only; "
                                "tests/core/test_jit.py covers it",
    "core.jit.mark_compiled": "takes a kernel, from the library's own functions only; tests/core/test_jit.py",
    "core.jit.choose": "takes a registered kernel and its sizes, from the library's own functions only; "
                       "tests/core/test_backend_registry.py covers it",
    "core.jit.twin_estimate": "takes a registered kernel and its sizes, from the library's own functions only; "
                              "tests/core/test_backend_registry.py covers it",
    "core.jit.registry": "takes nothing; tests/core/test_backend_registry.py checks every entry",
    "core.wire.encode": "takes any value by design (what cannot travel becomes Opaque); covered by "
                        "tests/project/test_grading.py",
    "core.wire.decode": "reads only what encode wrote, between the library's own processes; covered by "
                        "tests/project/test_grading.py",
}


def public_functions(family: str) -> list:
    """Keys ``family.module.name`` of the functions in the ``__all__`` of every module of the family."""
    pkg = importlib.import_module(f"pedagogy_lib.{family}")
    keys = []
    for info in pkgutil.iter_modules(pkg.__path__):
        mod = importlib.import_module(f"pedagogy_lib.{family}.{info.name}")
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name, None)
            if inspect.isclass(obj) or inspect.ismodule(obj) or not callable(obj):
                continue
            if getattr(obj, "__module__", mod.__name__) != mod.__name__ and not hasattr(obj, "py_func"):
                continue                          # re-exported from another module: listed there
            keys.append(f"{family}.{info.name}.{name}")
    return sorted(set(keys))


def _fn(key: str):
    family, module, name = key.split(".")
    return getattr(importlib.import_module(f"pedagogy_lib.{family}.{module}"), name)


class _Table(dict):
    def add(self, key, *args, _allow=(), _twin=True, _only=None, _names=(), **kwargs):
        """One valid call. ``_names``: further symbols an error message may name (a model's own name
        for an argument, e.g. ``y`` for the data of run_em with the GMM)."""
        try:
            fn = _fn(key)
        except AttributeError:                    # not in this version of the library (an older checkout)
            return
        self[key] = (fn, args, kwargs, {"allow_nonfinite": _allow, "twin": _twin, "only": _only, "names": _names})


def _rng(seed=0):
    return np.random.default_rng(seed)


def _spd(k, seed=0, scale=1.0):
    r = _rng(seed).standard_normal((k, k))
    return scale * (r @ r.T / k + np.eye(k))


# ------------------------------------------------------------------------------------------------ core

def _core():
    t = _Table()
    S = _spd(3)
    t.add("core.checks.as_array", np.ones((2, 3)), "x", ndim=2, _only=(0,))
    t.add("core.checks.as_scalar", 1.5, "x", _only=(0,))
    t.add("core.checks.check_callable", len, "fn", "of one argument", _only=(0,))
    t.add("core.checks.check_labels", np.array([-1, 0, 1, -1]), 4, 2, _only=(0,))
    t.add("core.checks.to_float_array", np.ones(3), "x", _only=(0,))
    t.add("core.checks.check_shape", np.ones((2, 3)), "x", (2, None), _only=(0,))
    t.add("core.checks.check_finite", np.ones(3), "x", _only=(0,))
    t.add("core.checks.check_symmetric", S, "S", _only=(0,))
    t.add("core.checks.check_spd", S, "S", _only=(0,))
    t.add("core.checks.spd_tolerance", 3, _only=(0,))
    t.add("core.checks.check_psd", S, "S", _only=(0,))
    t.add("core.checks.check_moments", np.array(4.0), np.ones(2), np.eye(2) * 4 + 1, ("N", "s1", "s2"),
          _only=(0, 1, 2))
    t.add("core.checks.check_prob_vector", np.array([0.2, 0.8]), "p", _only=(0,))
    t.add("core.checks.check_stochastic_matrix", np.array([[0.9, 0.2], [0.1, 0.8]]), "A", _only=(0,))
    t.add("core.checks.check_emission_table", np.array([[0.9, 0.2], [0.1, 0.8], [0.0, 0.0]]), "B", _only=(0,))
    t.add("core.checks.check_prob_rows", np.array([[0.3, 0.7], [1.0, 0.0]]), "q", _only=(0,))
    t.add("core.checks.check_positive", np.array([1.0, 2.0]), "x", _only=(0,))
    t.add("core.checks.positive_scalar", 2.0, "x", _only=(0,))
    t.add("core.checks.check_int", 3, "n", minimum=0, _only=(0,))
    t.add("core.checks.check_buffer", np.zeros((2, 3)), "out", (2, 3), _only=(0,))
    t.add("core.checks.check_rng", _rng(), _only=(0,))
    t.add("core.checks.check_choice", "a", "opt", ("a", "b"), _only=(0,))
    t.add("core.checks.check_backend", "numba", _twin=False)
    t.add("core.logmath.logsumexp", np.array([[0.0, 1.0], [2.0, -1.0]]))
    t.add("core.logmath.softmax", np.array([[0.0, 1.0], [2.0, -1.0]]))
    t.add("core.logmath.log_normalize", np.array([[0.0, 1.0], [2.0, -1.0]]))
    t.add("core.logmath.sigmoid", np.array([[-800.0, 0.0], [3.0, 800.0]]))
    t.add("core.logmath.softplus", np.array([[-800.0, 0.0], [3.0, 800.0]]))
    t.add("core.kernels.warmup_kernels")
    # without ``analytic`` the errors are NaN by design (nothing was compared), so they may be NaN here
    t.add("core.gradcheck.gradcheck", lambda x: float(np.sum(x ** 2)), np.array([0.5, -1.0]),
          np.array([1.0, -2.0]), _allow=("result.max_abs_error", "result.ratio"))
    t.add("core.budget.budget", 100, 10)
    t.add("core.budget.fast")
    return t


# ------------------------------------------------------------------------------------------------ gaussian

def _gaussian():
    t = _Table()
    mu, S = np.array([0.5, -1.0]), _spd(2)
    C, c, R = np.array([[1.0, 0.5], [0.0, 1.0], [2.0, 1.0]]), np.zeros(3), _spd(3, 1)
    t.add("gaussian.blocks.marginalize", mu, S, C, c, R)
    t.add("gaussian.blocks.bayes_invert", mu, S, C, c, R, np.ones(3))
    t.add("gaussian.blocks.joint", mu, S, C, c, R)
    t.add("gaussian.blocks.condition", np.zeros(3), _spd(3), np.array([0]), np.array([1.0]))
    t.add("gaussian.blocks.mvn_logpdf", np.ones((4, 2)), mu, S)
    t.add("gaussian.blocks.sample_mvn", _rng(), mu, S, 5)
    return t


# ------------------------------------------------------------------------------------------------ lgssm

def lgssm_problem(n=2, m=3, n_u=1, T=5, seed=0):
    from pedagogy_lib.lgssm import LGSSMParams, sample_lgssm
    rng = _rng(seed)
    A = 0.8 * np.linalg.qr(rng.standard_normal((n, n)))[0]
    B = rng.standard_normal((n, n_u)) if n_u else None
    p = LGSSMParams(np.zeros(n), _spd(n, seed), A, B, 0.1 * np.ones(n), 0.5 * _spd(n, seed + 1),
                    rng.standard_normal((m, n)), np.zeros(m), _spd(m, seed + 2))
    u = rng.standard_normal((T - 1, n_u)) if n_u else None
    _, y = sample_lgssm(p, T, rng=rng, u=u)
    return p, y, u


def _lgssm():
    from pedagogy_lib.lgssm import kalman_filter, lgssm_suff_stats
    t = _Table()
    p, y, u = lgssm_problem()
    p0, y0, _ = lgssm_problem(n_u=0)
    filt = kalman_filter(p, y, u)
    stats = lgssm_suff_stats(p0, y0)
    t.add("lgssm.kalman.kalman_filter", p, y, u)
    t.add("lgssm.kalman.kalman_smoother", p, y, u)
    t.add("lgssm.kalman.rts_smoother", p.A, filt)
    t.add("lgssm.model.check_params", p)
    t.add("lgssm.model.check_params_factored", p)
    t.add("lgssm.model.check_y", y, 3)
    t.add("lgssm.model.check_u", u, 5, 1)
    t.add("lgssm.model.sample_lgssm", p, 5, rng=_rng(), u=u)
    t.add("lgssm.em.lgssm_suff_stats", p, y, u)
    t.add("lgssm.em.lgssm_m_step", stats, p0)
    t.add("lgssm.kernels.warmup_kernels")
    t.add("lgssm.em.lgssm_expected_log_joint", p0, stats)
    t.add("lgssm.em.lgssm_log_likelihood", p, y, u)
    t.add("lgssm.em.lgssm_em_model")
    t.add("lgssm.em.similarity_transform", p, np.array([[2.0, 0.5], [0.0, 1.0]]))
    t.add("lgssm.em.fit_lgssm", y0, 2, rng=_rng(), max_iter=3)
    return t


# ------------------------------------------------------------------------------------------------ hmm

def _hmm():
    from pedagogy_lib.hmm import CategoricalHMMParams, GaussianHMMParams, hmm_suff_stats, gaussian_log_lik
    from pedagogy_lib.hmm.inference import hmm_filter
    t = _Table()
    pi = np.array([0.6, 0.4])
    A = np.array([[0.9, 0.2], [0.1, 0.8]])            # column-stochastic
    B = np.array([[0.7, 0.1], [0.2, 0.3], [0.1, 0.6]])
    cat = CategoricalHMMParams(pi, A, B)
    gau = GaussianHMMParams(pi, A, np.array([[0.0, 0.0], [2.0, 1.0]]), np.stack([np.eye(2), _spd(2)]))
    y_cat = np.array([0, 2, 1, 1, 0, 2])
    y_gau = _rng().standard_normal((6, 2))
    log_lik = gaussian_log_lik(gau.mu, gau.Sigma, y_gau)
    filt = hmm_filter(pi, A, log_lik)
    stats = hmm_suff_stats(gau, y_gau)
    t.add("hmm.inference.hmm_filter", pi, A, log_lik)
    t.add("hmm.inference.hmm_smoother", pi, A, log_lik)
    t.add("hmm.inference.log_alpha", filt.filtered, filt.log_c)
    t.add("hmm.inference.from_row_stochastic", A.T.copy())
    t.add("hmm.inference.to_row_stochastic", A)
    t.add("hmm.inference.categorical_log_lik", B, y_cat)
    t.add("hmm.inference.gaussian_log_lik", gau.mu, gau.Sigma, y_gau)
    t.add("hmm.inference.sample_states", _rng(), pi, A, 5)
    t.add("hmm.em.hmm_sample", _rng(), cat, 5)
    t.add("hmm.em.hmm_log_lik_matrix", gau, y_gau)
    t.add("hmm.em.hmm_posterior", cat, y_cat)
    t.add("hmm.em.hmm_log_likelihood", gau, y_gau)
    t.add("hmm.em.hmm_suff_stats", gau, y_gau)
    t.add("hmm.em.hmm_m_step", stats)
    t.add("hmm.em.hmm_expected_log_joint", gau, stats)
    t.add("hmm.em.hmm_em_model")
    t.add("hmm.em.fit_hmm", y_gau, 2, rng=_rng(), max_iter=3)
    t.add("hmm.kernels.warmup_kernels")
    return t


# ------------------------------------------------------------------------------------------------ mixture

def _mixture():
    from pedagogy_lib.mixture import gmm_params, gmm_suff_stats
    t = _Table()
    p = gmm_params(np.array([0.3, 0.7]), np.array([[0.0, 0.0], [2.0, 1.0]]), np.stack([np.eye(2), _spd(2)]))
    y = _rng().standard_normal((8, 2))
    stats = gmm_suff_stats(p, y)
    r = np.full((8, 2), 0.5)
    t.add("mixture.model.gmm_params", p.pi, p.mu, p.Sigma)
    t.add("mixture.model.gmm_logits", p, y)
    t.add("mixture.model.gmm_posterior", p, y)
    t.add("mixture.model.gmm_log_marginal", p, y)
    t.add("mixture.model.gmm_sample", _rng(), p, 5)
    t.add("mixture.model.linear_boundary", p.mu[0], p.mu[1], np.eye(2), 0.3, 0.7)
    t.add("mixture.model.quadratic_boundary", p.mu[0], p.mu[1], np.eye(2), _spd(2), 0.3, 0.7)
    from pedagogy_lib.mixture import linear_boundary
    t.add("mixture.model.boundary_value", linear_boundary(p.mu[0], p.mu[1], np.eye(2), 0.3, 0.7), y)
    t.add("mixture.model.whiten", y, _spd(2))
    t.add("mixture.em.gmm_suff_stats", p, y)
    t.add("mixture.em.gmm_stats_from_responsibilities", y, r, _allow=("result.log_lik",))
    t.add("mixture.em.gmm_m_step", stats)
    t.add("mixture.em.gmm_elbo", p, stats)
    t.add("mixture.em.gmm_em_model")
    t.add("mixture.em.fit_gmm", y, 2, rng=_rng(), max_iter=3)
    t.add("mixture.em.kmeans_plusplus", y, 2, _rng())
    t.add("mixture.em.kmeans", y, 2, rng=_rng(), max_iter=5)
    labels = np.array([0, -1, -1, 1, -1, -1, 0, -1])
    t.add("mixture.em.clamped_responsibilities", p, y, labels)
    t.add("mixture.em.semi_supervised_log_lik", p, y, labels)
    t.add("mixture.em.fit_gmm_semi_supervised", y, labels, 2, rng=_rng(), max_iter=3)
    t.add("mixture.kernels.warmup_kernels")
    return t


# ------------------------------------------------------------------------------------------------ factor

def _factor():
    from pedagogy_lib.factor.model import FAParams
    from pedagogy_lib.factor.em import PCAParams
    from pedagogy_lib.factor.sparse_coding import make_model
    from pedagogy_lib.factor.sparse_coding_em import e_step
    t = _Table()
    rng = _rng()
    C = rng.standard_normal((4, 2))
    fa = FAParams(C, np.zeros(4), np.array([0.5, 1.0, 0.7, 0.3]))
    y = rng.standard_normal((10, 4))
    t.add("factor.model.fa_marginal", fa)
    t.add("factor.model.fa_posterior", fa, y)
    t.add("factor.model.fa_log_likelihood", fa, y)
    t.add("factor.model.fa_sample", _rng(), fa, 5)
    t.add("factor.em.fa_em_step", fa, y)
    t.add("factor.em.fit_fa", y, 2, rng=_rng(), max_iter=3)
    t.add("factor.em.ppca_em_step", fa._replace(Lambda=np.full(4, 0.5)), y)
    t.add("factor.em.fit_ppca", y, 2, rng=_rng(), max_iter=3)
    t.add("factor.em.ppca_ml", y, 2)
    t.add("factor.em.pca", y, 2)
    t.add("factor.em.iterative_pca_step", PCAParams(C, np.zeros(4)), y)
    t.add("factor.em.fit_iterative_pca", y, 2, rng=_rng(), max_iter=3)
    t.add("factor.em.fa_model", np.full(4, 1e-3))
    t.add("factor.em.ppca_model", 1e-6)
    t.add("factor.em.iterative_pca_model")
    Cs = rng.standard_normal((3, 2))
    sc = make_model(Cs, 0.5, alpha=1.0, beta=5.0)
    x, ys, Y = np.array([0.3, -0.2]), np.array([0.5, -1.0, 0.2]), rng.standard_normal((4, 3))
    rec = e_step(Y, sc, n_iter=50)
    t.add("factor.sparse_coding.make_model", Cs, 0.5, alpha=1.0, beta=5.0)
    t.add("factor.sparse_coding.revalidate_model", sc)
    t.add("factor.sparse_coding.prior_energy", x, sc)
    t.add("factor.sparse_coding.prior_energy_derivatives", x, sc)
    t.add("factor.sparse_coding.log_Z_prior", sc)
    t.add("factor.sparse_coding.log_Z_joint", sc)
    t.add("factor.sparse_coding.prior_logpdf", x, sc)
    t.add("factor.sparse_coding.joint_energy", x, ys, sc)
    t.add("factor.sparse_coding.posterior_energy", x, ys, sc)
    t.add("factor.sparse_coding.energy_gradient", x, ys, sc)
    t.add("factor.sparse_coding.energy_hessian", x, sc)
    t.add("factor.sparse_coding.soft_threshold", np.array([-1.0, 0.2, 2.0]), 0.5)
    t.add("factor.sparse_coding.map_estimate", ys, sc)
    t.add("factor.sparse_coding.laplace_approximation", ys, sc)
    t.add("factor.sparse_coding.log_marginal_quadrature", ys, sc, epsrel=1e-6)
    t.add("factor.sparse_coding.sample_prior", _rng(), sc, 5)
    t.add("factor.sparse_coding.sample", _rng(), sc, 5)
    t.add("factor.sparse_coding_em.batch_map", Y, sc, n_iter=50)
    t.add("factor.sparse_coding_em.e_step", Y, sc, n_iter=50)
    t.add("factor.sparse_coding_em.expected_abs", np.array([0.5, -1.0]), np.array([1.0, 0.5]))
    t.add("factor.sparse_coding_em.free_energy", Y, sc, rec)
    t.add("factor.sparse_coding_em.m_step", Y, rec, sc)
    t.add("factor.sparse_coding_em.sparse_coding_em", Y, sc, n_iter=2, map_iter=50)
    return t


# ------------------------------------------------------------------------------------------------ discrete

def _discrete():
    from pedagogy_lib.discrete import chain
    t = _Table()
    pi = np.array([0.3, 0.7])
    P_y_x = np.array([[0.9, 0.2], [0.1, 0.8]])
    dag = chain(pi, P_y_x, np.array([[0.5, 0.1], [0.5, 0.9]]))
    P = np.array([[0.9, 0.2, 0.0], [0.1, 0.7, 0.5], [0.0, 0.1, 0.5]])      # column-stochastic
    t.add("discrete.categorical.invert", pi, P_y_x, 1)
    t.add("discrete.categorical.marginal_y", pi, P_y_x)
    t.add("discrete.categorical.reverse_arrow", pi, P_y_x)
    t.add("discrete.categorical.update_sequence", pi, P_y_x, np.array([0, 1, 1]))
    t.add("discrete.categorical.make_dag", {"a": pi, "b": P_y_x}, {"a": [], "b": ["a"]})
    t.add("discrete.categorical.joint_table", dag)
    names = list(dag.names)
    t.add("discrete.categorical.marginal", dag, [names[0]])
    t.add("discrete.categorical.conditional", dag, names[0], {names[2]: 1})
    t.add("discrete.categorical.ci_discrepancy", dag, names[0], names[2], (names[1],))
    t.add("discrete.categorical.is_independent", dag, names[0], names[2], (names[1],))
    t.add("discrete.categorical.chain", pi, P_y_x, P_y_x)
    t.add("discrete.categorical.fork", pi, P_y_x, P_y_x)
    t.add("discrete.categorical.collider", pi, pi, np.full((2, 2, 2), 0.5))
    t.add("discrete.categorical.canonical", "chain", _rng())
    t.add("discrete.categorical.sample", dag, 5, _rng())
    t.add("discrete.markov_chain.check_transition_matrix", P)
    t.add("discrete.markov_chain.stationary_distribution", P)
    t.add("discrete.markov_chain.is_detailed_balance", P, np.array([0.4, 0.4, 0.2]))
    t.add("discrete.markov_chain.detailed_balance_violation", P, np.array([0.4, 0.4, 0.2]))
    t.add("discrete.markov_chain.spectral_gap", P)
    t.add("discrete.markov_chain.tv_to_stationarity", P, 5)
    t.add("discrete.markov_chain.mixing_time", P)
    t.add("discrete.markov_chain.mixing_time_bounds", P)
    t.add("discrete.markov_chain.simulate_chain", P, 0, 5, _rng())
    return t


# ------------------------------------------------------------------------------------------------ recursions

def _recursions():
    from pedagogy_lib.recursions import generic as R
    t = _Table()
    pi = np.array([0.6, 0.4])
    A = np.array([[0.9, 0.2], [0.1, 0.8]])
    Cm = np.array([[0.7, 0.1], [0.2, 0.3], [0.1, 0.6]])
    y = np.array([0, 2, 1, 1])
    ll = R.categorical_log_lik(Cm, y)
    chain = R.categorical_chain(pi, A, ll)
    f = R.forward_filter(R.CATEGORICAL, chain)
    s = R.backward_smoother(R.CATEGORICAL, f.filtered, chain.transitions)
    p, yg, _ = lgssm_problem(n_u=0, T=4)
    t.add("recursions.generic.categorical_log_lik", Cm, y)
    t.add("recursions.generic.categorical_chain", pi, A, ll)
    t.add("recursions.generic.gaussian_chain", p.mu1, p.Sigma1, p.A, p.Sigma_x, p.C, p.c, p.Sigma_y_x, yg, a=p.a)
    t.add("recursions.generic.forward_filter", R.CATEGORICAL, chain)
    t.add("recursions.generic.backward_smoother", R.CATEGORICAL, f.filtered, chain.transitions)
    t.add("recursions.generic.data_marginals", R.CATEGORICAL, f.predicted, chain.emissions)
    t.add("recursions.generic.sequence_posterior", R.CATEGORICAL, s.smoothed, s.backward)
    t.add("recursions.generic.time_update", R.CATEGORICAL, f.filtered[0], chain.transitions[0])
    t.add("recursions.generic.measurement_update", R.CATEGORICAL, f.predicted[1], chain.emissions[1])
    t.add("recursions.generic.data_marginal", R.CATEGORICAL, f.predicted[1], chain.emissions[1])
    t.add("recursions.generic.future_conditioning", R.CATEGORICAL, f.filtered[0], chain.transitions[0])
    t.add("recursions.generic.backward_step", R.CATEGORICAL, s.smoothed[1], s.backward[0])
    t.add("recursions.generic.sequence_conditional", R.CATEGORICAL, s.smoothed[1], s.backward[0])
    t.add("recursions.generic.particle_chain", _scalar_state_space(), yg[:, 0], _rng(), 20)
    src = R.Particles(np.array([[0.0], [0.5], [-1.0]]), np.log(np.array([0.2, 0.5, 0.3])))
    back = R.ParticleBackward(src, _scalar_state_space().log_transition, 1)
    t.add("recursions.generic.particle_backward_matrix", back, np.array([[0.1], [-0.4]]))
    return t


def _scalar_state_space():
    """x_1 ~ N(0, 1), x_t = 0.9 x_{t-1} + N(0, 0.5), y_t = x_t + N(0, 0.4), as vectorized callables."""
    from pedagogy_lib.smc import StateSpaceModel

    def sample_initial(rng, I):
        return rng.standard_normal((I, 1))

    def sample_transition(rng, x_prev, t):
        return 0.9 * x_prev + np.sqrt(0.5) * rng.standard_normal(x_prev.shape)

    def log_lik(y_t, x, t):
        return -0.5 * (y_t - x[:, 0]) ** 2 / 0.4 - 0.5 * np.log(2 * np.pi * 0.4)

    def log_transition(x_next, x_prev, t):
        d = x_next[:, None, 0] - 0.9 * x_prev[None, :, 0]
        return -0.5 * d ** 2 / 0.5 - 0.5 * np.log(2 * np.pi * 0.5)

    return StateSpaceModel(sample_initial, sample_transition, log_lik, log_transition)


# ------------------------------------------------------------------------------------------------ smc

def _smc():
    from pedagogy_lib.smc import particle_filter
    t = _Table()
    p, y, u = lgssm_problem(n=1, m=1, n_u=0, T=5)
    pf = particle_filter(p, y, _rng(), 30)
    W = np.array([0.1, 0.2, 0.3, 0.4])
    t.add("smc.particle.particle_filter", p, y, _rng(), 30, _twin=False)
    t.add("smc.particle.ffbsm", p, pf)
    t.add("smc.particle.backward_simulation", p, pf, _rng(), 4, _twin=False)
    t.add("smc.resampling.resample", W, _rng(), _twin=False)
    t.add("smc.resampling.resample_from_uniforms", W, np.array([0.05, 0.3, 0.6, 0.9]), scheme="multinomial")
    t.add("smc.resampling.ess", np.log(W))
    t.add("smc.kernels.warmup_kernels")
    return t


# ------------------------------------------------------------------------------------------------ em

def _em():
    from pedagogy_lib.mixture import gmm_em_model, gmm_params
    t = _Table()
    p = gmm_params(np.array([0.3, 0.7]), np.array([[0.0, 0.0], [2.0, 1.0]]), np.stack([np.eye(2), _spd(2)]))
    y = _rng().standard_normal((8, 2))
    model = gmm_em_model()
    t.add("em.engine.run_em", model, p, y, max_iter=3, _names=("y",))
    from pedagogy_lib.mixture import fit_gmm
    t.add("em.engine.best_of_restarts", lambda rng: fit_gmm(y, 2, rng=rng, max_iter=2), _rng(), 2)
    t.add("em.engine.units_log_shift", y)
    mu, S = np.array([0.5, -1.0]), _spd(2)
    C, c, R = np.array([[1.0, 0.5], [0.0, 1.0], [2.0, 1.0]]), np.zeros(3), _spd(3, 1)
    t.add("em.engine.gaussian_elbo", mu, S, C, c, R, np.ones(3), np.zeros(2), np.eye(2))
    t.add("em.engine.discrete_elbo", np.log(np.array([[0.2, 0.3], [0.1, 0.4]])), np.array([[0.5, 0.5], [0.2, 0.8]]))
    return t


# ------------------------------------------------------------------------------------------------ learning

def _learning():
    from pedagogy_lib.learning.glm import family
    t = _Table()
    rng = _rng()
    X = rng.standard_normal((12, 2))
    y = X @ np.array([1.0, -0.5]) + 0.3 * rng.standard_normal(12)
    yb = (X[:, 0] + 0.5 * rng.standard_normal(12) > 0).astype(float)
    p, q = np.array([0.2, 0.5, 0.3]), np.array([0.3, 0.3, 0.4])
    t.add("learning.glm.family", "bernoulli")
    t.add("learning.glm.irls", X, yb, family("bernoulli"), max_iter=20)
    t.add("learning.objectives.entropy", p)
    t.add("learning.objectives.cross_entropy", p, q)
    t.add("learning.objectives.relative_entropy", p, q)
    t.add("learning.objectives.relative_entropies", p, q)
    t.add("learning.objectives.gaussian_entropy", np.zeros(2), _spd(2))
    t.add("learning.objectives.gaussian_cross_entropy", np.zeros(2), _spd(2), np.ones(2), _spd(2, 1))
    t.add("learning.objectives.gaussian_relative_entropy", np.zeros(2), _spd(2), np.ones(2), _spd(2, 1))
    t.add("learning.objectives.sample_cross_entropy", np.log(np.array([0.2, 0.5, 0.3, 0.4])))
    t.add("learning.objectives.sample_relative_entropy", np.log(np.array([0.2, 0.5, 0.3])),
          np.log(np.array([0.3, 0.3, 0.4])))
    t.add("learning.objectives.empirical_distribution", np.array([0, 1, 1, 2]), 3)
    t.add("learning.objectives.max_likelihood", lambda th, yy: -0.5 * (yy - th[0]) ** 2, np.array([0.0]), y)
    t.add("learning.regression.linear_regression", X, y)
    t.add("learning.regression.bayesian_linear_regression", X, y, 1.0, 0.1)
    t.add("learning.regression.loo_residuals", X, y)
    t.add("learning.regression.loo_cv_error", X, y)
    t.add("learning.regression.lofo_residuals", X, y, np.arange(12) % 3)
    t.add("learning.regression.generalized_least_squares", X, y, np.linspace(0.5, 2.0, 12))
    return t


# ------------------------------------------------------------------------------------------------ assimilation

def _adf_f(x, t):
    return 0.5 * x + 2.0 * x / (1.0 + x ** 2)


def _adf_h(x):
    return x ** 2 / 4.0


def _assimilation():
    from pedagogy_lib.assimilation import from_lgssm, lorenz63, ekf
    from pedagogy_lib.assimilation.model import DAModel
    t = _Table()
    p, y, _ = lgssm_problem(n_u=0, T=4)
    model = from_lgssm(p)
    dyn = lorenz63(n_steps=2)
    lmodel = DAModel(dyn, np.array([1.0, 1.0, 20.0]), np.eye(3), 0.01 * np.eye(3), np.eye(2, 3), np.zeros(2),
                     np.eye(2))
    x3 = np.array([1.0, 2.0, 20.0])
    res = ekf(model, y)
    t.add("assimilation.ensemble.enkf", model, y, n_members=6, rng=_rng(), _twin=False,
          _allow=("result.rmse", "result.cost"))
    t.add("assimilation.ensemble.exact_ensemble", np.zeros(2), _spd(2), 5, rng=_rng())
    # the Lorenz-63 model observes two coordinates with a diagonal noise: the compiled cost's selection storage
    # (the dense one is evaluated by strong_4dvar's example, on the linear model)
    y3 = np.array([[1.0, 2.0], [0.5, 1.0], [0.0, 1.5], [1.0, 1.0]])
    t.add("assimilation.fourdvar.strong_cost_grad", lmodel, x3, y3)
    t.add("assimilation.fourdvar.window_storage", np.eye(2, 3), np.eye(3), 2.0 * np.eye(2))
    t.add("assimilation.fourdvar.strong_problem", model, y)
    t.add("assimilation.fourdvar.weak_cost_grad", model, np.zeros((4, 2)), y)
    t.add("assimilation.fourdvar.strong_4dvar", model, y, max_iter=20, _allow=("result.rmse",))
    t.add("assimilation.fourdvar.weak_4dvar", model, y, max_iter=20, _allow=("result.rmse",))
    t.add("assimilation.fourdvar.cycle_4dvar", model, y, window=2, max_iter=20, _allow=("result.rmse", "result.cost"))
    t.add("assimilation.fourdvar.strong_hessian", model, np.zeros(2), y)
    t.add("assimilation.fourdvar.weak_hessian", model, np.zeros((4, 2)), y)
    t.add("assimilation.lorenz.lorenz63")
    t.add("assimilation.lorenz.lorenz96", 6)
    t.add("assimilation.lorenz.linear_dynamics", p.A, p.a)
    t.add("assimilation.lorenz.vector_field", dyn, x3)
    t.add("assimilation.lorenz.integrate", dyn, x3, 3)
    t.add("assimilation.lorenz.propagate", dyn, np.stack([x3, x3 + 0.1]))
    t.add("assimilation.lorenz.tangent_linear", dyn, x3, np.array([0.1, 0.0, -0.1]))
    t.add("assimilation.lorenz.adjoint", dyn, x3, np.array([0.1, 0.0, -0.1]))
    t.add("assimilation.kernels.warmup_kernels")
    t.add("assimilation.lorenz.cycle_jacobian", dyn, x3)
    t.add("assimilation.model.from_lgssm", p)
    t.add("assimilation.model.check_model", lmodel)
    t.add("assimilation.model.check_observations", y, 3)
    t.add("assimilation.model.check_truth", np.zeros((4, 2)), 4, 2)
    t.add("assimilation.model.simulate", lmodel, 4, rng=_rng())
    t.add("assimilation.model.rmse", np.ones((4, 2)), np.zeros((4, 2)))
    t.add("assimilation.model.gaspari_cohn", np.array([0.0, 0.5, 1.5, 3.0]))
    t.add("assimilation.model.periodic_taper", 6, 2.0)
    t.add("assimilation.adf.gaussian_moments", _adf_h, 0.5, 2.0, n_nodes=21)
    t.add("assimilation.adf.assumed_density_filter", _adf_f, _adf_h, 0.3, 0.5, np.array([0.2, 1.0, 0.4]), 0.0, 1.0,
          n_nodes=21)
    t.add("assimilation.adf.grid_filter", _adf_f, _adf_h, 0.3, 0.5, np.array([0.2, 1.0, 0.4]), 0.0, 1.0,
          lo=-10.0, hi=10.0, n_grid=41)
    t.add("assimilation.model.psd_sqrt", _spd(2))
    t.add("assimilation.model.make_result", "x", res.mean, res.cov, None, res.forecast_mean, None,
          _allow=("result.rmse", "result.cost"))
    t.add("assimilation.nonlinear_filters.ekf", model, y, _allow=("result.rmse", "result.cost"))
    t.add("assimilation.nonlinear_filters.ukf", lmodel, np.ones((3, 2)), _allow=("result.rmse", "result.cost"))
    t.add("assimilation.nonlinear_filters.sigma_points", np.zeros(2), _spd(2))
    return t


# ------------------------------------------------------------------------------------------------ newer families
# Calls for every public function of these families, among them the reproductions of issue 29.

def _samplers():
    from pedagogy_lib.samplers import gaussian_target, init_chains, normal_gamma_model
    t = _Table()
    tg = gaussian_target(np.zeros(2), _spd(2))
    st = init_chains(tg, np.zeros((4, 2)))
    ng = normal_gamma_model(np.array([0.5, 1.0, -0.3]), 0.0, 1.0, 2.0, 1.0)
    trace = _rng().standard_normal((50, 2, 2))
    t.add("samplers.targets.gaussian_target", np.zeros(2), _spd(2))
    t.add("samplers.targets.banana", 1.0, 1.0)
    t.add("samplers.targets.ar1_gaussian", 3, 0.5)
    t.add("samplers.targets.log_density_and_force", tg, np.zeros((4, 2)))
    t.add("samplers.targets.check_target", tg)
    t.add("samplers.targets.target_arrays", tg)
    t.add("samplers.mcmc.init_chains", tg, np.zeros((4, 2)))
    t.add("samplers.mcmc.rwmh_step", tg, st, 0.5, _rng(), _twin=False)
    t.add("samplers.mcmc.mala_step", tg, st, 0.5, _rng(), _twin=False)
    t.add("samplers.mcmc.hmc_step", tg, st, 0.3, 3, _rng(), _twin=False)
    t.add("samplers.mcmc.gibbs_step", tg, st, _rng(), _twin=False)
    t.add("samplers.proposals.leapfrog", tg, np.zeros((4, 2)), np.ones((4, 2)), 0.1, 3)
    t.add("samplers.mcmc.sample", tg, st, 5, _rng(), _twin=False)
    from pedagogy_lib.samplers import rwmh_step
    t.add("samplers.mcmc.acceptance_rate", rwmh_step(tg, st, 0.5, _rng()))
    t.add("samplers.proposals.mh_log_accept_ratio", np.array([-1.0]), np.array([-2.0]), np.array([0.0]), np.array([0.0]))
    t.add("samplers.proposals.mala_log_proposal", np.ones((4, 2)), np.zeros((4, 2)), np.zeros((4, 2)), 0.5)
    t.add("samplers.finite.mh_transition_matrix", np.log(np.array([0.2, 0.3, 0.5])), np.full((3, 3), 1 / 3))
    t.add("samplers.finite.gibbs_transition_matrix", np.log(np.full((2, 2), 0.25)))
    t.add("samplers.diagnostics.ess", trace)
    t.add("samplers.diagnostics.rhat", trace)
    t.add("samplers.diagnostics.mcse", trace)
    t.add("samplers.diagnostics.autocorrelation", trace)
    t.add("samplers.conjugate.normal_gamma_model", np.array([0.5, 1.0, -0.3]), 0.0, 1.0, 2.0, 1.0)
    t.add("samplers.conjugate.normal_gamma_log_joint", ng, np.array([[0.1, 1.0]]))
    t.add("samplers.conjugate.normal_gamma_conditionals", ng, np.array([[0.1, 1.0]]))
    t.add("samplers.conjugate.gibbs_normal_gamma_init", ng, np.array([[0.1, 1.0]]))
    t.add("samplers.conjugate.gibbs_normal_gamma_step", ng, np.array([[0.1, 1.0]]), _rng())
    t.add("samplers.conjugate.gibbs_normal_gamma", ng, np.array([[0.1, 1.0]]), 5, _rng())
    t.add("samplers.conjugate.check_normal_gamma_model", ng)
    t.add("samplers.mcmc.check_chain_state", st, tg)
    t.add("samplers.kernels.warmup_kernels")
    t.add("samplers.targets.precision_storage", _spd(2))
    t.add("samplers.targets.python_target", lambda x: (-0.5 * np.sum(x ** 2, axis=1), -x), 2)
    xg = np.linspace(-2.0, 2.0, 5)
    t.add("samplers.finite.mala_transition_matrix", xg, -0.5 * xg ** 2, -xg, 0.5)
    return t


def _graphical():
    from pedagogy_lib.graphical import make_factor, random_tree, make_factor_graph
    t = _Table()
    f = make_factor(("a", "b"), np.array([[1.0, 2.0], [3.0, 4.0]]))
    g = make_factor(("b", "c"), np.array([[1.0, 0.5, 2.0], [0.2, 1.0, 1.0]]))
    tree = random_tree(5, 3, _rng())
    t.add("graphical.factors.indicator", "a", 1, 3)
    t.add("graphical.factors.make_factor", ("a", "b"), np.array([[1.0, 2.0], [3.0, 4.0]]))
    t.add("graphical.factors.factor_product", f, g)
    t.add("graphical.factors.sum_out", f, ["a"])
    t.add("graphical.factors.max_out", f, ["a"])
    t.add("graphical.factors.marginal_of", f, ["b"])
    t.add("graphical.factors.clamp", f, {"a": 1})
    t.add("graphical.factors.joint", [f, g])
    t.add("graphical.factors.log_partition_by_enumeration", [f, g])
    t.add("graphical.factors.marginals_by_enumeration", [f, g])
    t.add("graphical.bp.belief_propagation", [f, g])
    t.add("graphical.bp.max_product", [f, g])
    t.add("graphical.bp.loopy_belief_propagation", [f, g])
    t.add("graphical.factor_graph.make_factor_graph", [f, g])
    t.add("graphical.factor_graph.message_schedule", make_factor_graph([f, g]))
    t.add("graphical.junction.junction_tree", [f, g])
    t.add("graphical.tree.tree_sum_product", tree)
    t.add("graphical.tree.tree_factors", tree)
    t.add("graphical.tree.make_pairwise_tree", tree.parent, tree.phi, tree.psi)
    t.add("graphical.tree.random_tree", 5, 3, _rng())
    t.add("graphical.tree.check_pairwise_tree", tree)
    t.add("graphical.kernels.warmup_kernels")
    from pedagogy_lib.graphical import junction_tree, markov_network
    from pedagogy_lib.discrete import chain
    fg = make_factor_graph([f, g])
    t.add("graphical.bp.with_evidence", fg, {"a": 1})
    t.add("graphical.factor_graph.check_tree", fg)
    t.add("graphical.factor_graph.factor_node", 1)
    t.add("graphical.factor_graph.var_node", "a")
    t.add("graphical.factors.check_factor", f)
    t.add("graphical.factors.check_factors", [f, g])
    dag = chain(np.array([0.3, 0.7]), np.array([[0.9, 0.2], [0.1, 0.8]]), np.array([[0.5, 0.1], [0.5, 0.9]]))
    t.add("graphical.factors.dag_factors", dag)
    t.add("graphical.junction.junction_marginal", junction_tree([f, g]), ["a", "b"])
    t.add("graphical.junction.markov_network", [f, g])
    t.add("graphical.junction.triangulate", markov_network([f, g]), ["a", "b", "c"])
    parents = {"a": [], "c": [], "b": ["a", "c"], "d": ["b"]}
    t.add("graphical.separation.d_separated", parents, "a", "c", ["d"])
    t.add("graphical.separation.moral_graph", parents)
    t.add("graphical.separation.to_digraph", parents)
    import networkx as nx
    t.add("graphical.separation.separated", nx.cycle_graph([1, 2, 4, 3]), 1, 4, [2, 3])
    return t


def _advi_log_joint(theta):
    return 2.0 * np.log(theta[:, 0]) - theta[:, 0], (2.0 / theta[:, 0] - 1.0)[:, None]


def _vi():
    from pedagogy_lib.vi.amortized import linear_gaussian_model
    from pedagogy_lib.vi.bgmm import default_bgmm_prior, cavi_bgmm
    t = _Table()
    rng = _rng()
    C = rng.standard_normal((3, 2))
    lg = linear_gaussian_model(C, np.zeros(3), 0.5)
    Y = rng.standard_normal((5, 3))
    y = np.concatenate([rng.standard_normal((6, 2)), rng.standard_normal((6, 2)) + 3.0])
    prior = default_bgmm_prior(y, 2)
    r0 = np.tile([0.7, 0.3], (12, 1))
    t.add("vi.amortized.linear_gaussian_model", C, np.zeros(3), 0.5)
    t.add("vi.advi.unconstrained_target", _advi_log_joint, ["log"])
    t.add("vi.advi.to_constrained", np.array([[0.0, 1.0], [2.0, -1.0]]), ["log", "logit"])
    t.add("vi.amortized.exact_posterior", lg, Y)
    t.add("vi.amortized.log_evidence", lg, Y)
    t.add("vi.amortized.linear_gaussian_elbo", lg, Y, np.zeros((5, 2)), np.zeros((5, 2)))
    t.add("vi.amortized.local_vb", lg, Y)
    t.add("vi.bgmm.default_bgmm_prior", y, 2)
    t.add("vi.bgmm.cavi_bgmm", y, prior, r0, n_iter=3)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cavi_bgmm(y, prior, r0, n_iter=3)
    q = getattr(res, "q", None) or getattr(res, "posterior", None)
    if q is not None:
        t.add("vi.bgmm.bgmm_responsibilities", y, q)
    t.add("vi.mean_field.mean_field_gaussian", np.zeros(2), _spd(2))
    t.add("vi.mean_field.moment_matched_gaussian", np.zeros(2), _spd(2))
    t.add("vi.mean_field.cavi_gaussian", np.zeros(2), _spd(2), np.ones(2), 3)
    t.add("vi.mean_field.kl_gaussian", np.zeros(2), _spd(2), np.ones(2), _spd(2, 1))
    t.add("vi.bbvi.normal_normal", np.array([0.5, 1.0]), 1.0, 0.0, 2.0)
    # amortized inference (Y has L = 3 columns, K = 2 latents)
    from pedagogy_lib.vi import amortized as A, bbvi, bgmm as G, flows as F
    from pedagogy_lib.samplers import banana
    t.add("vi.amortized.check_linear_gaussian_model", lg)
    t.add("vi.amortized.encoder", 3, 2, 4)
    t.add("vi.amortized.fit_encoder", lg, Y, A.encoder(3, 2), _rng(), n_iter=3, lr=0.05)
    t.add("vi.amortized.fit_linear_vae", Y, 2, A.encoder(3, 2), _rng(), n_iter=3, batch=5, lr=0.05)
    # black-box VI
    nn_model = bbvi.normal_normal(np.array([0.5, 1.0]), 1.0, 0.0, 2.0)
    tgt = bbvi.normal_normal_target(nn_model)
    lam = bbvi.GaussianVIParams(np.array([0.2]), np.array([np.log(1.3)]))
    eps1 = _rng(5).standard_normal((6, 1))
    g_sf, h_sf = bbvi.score_function_terms(tgt, lam, eps1)
    t.add("vi.bbvi.check_normal_normal", nn_model)
    t.add("vi.bbvi.normal_normal_posterior", nn_model)
    t.add("vi.bbvi.normal_normal_target", nn_model)
    t.add("vi.bbvi.gaussian_vi_sample", lam, eps1)
    t.add("vi.bbvi.elbo_terms", tgt, lam, eps1)
    t.add("vi.bbvi.reparam_terms", tgt, lam, eps1)
    t.add("vi.bbvi.score_function_terms", tgt, lam, eps1)
    t.add("vi.bbvi.control_variate", g_sf, h_sf)
    t.add("vi.bbvi.fit_gaussian_vi", banana(), bbvi.GaussianVIParams(np.zeros(2), np.zeros(2)), _rng(), n_iter=3,
          n_samples=4)
    # Bayesian GMM
    if q is not None:
        stats = G.bgmm_responsibilities(y, q)
        t.add("vi.bgmm.bgmm_elbo", stats, q, prior)
        t.add("vi.bgmm.bgmm_update_parameters", stats, prior)
        t.add("vi.bgmm.check_bgmm_posterior", q, D=2)
    t.add("vi.bgmm.check_bgmm_prior", prior)
    t.add("vi.bgmm.bgmm_prior", 1.0, 0.7, np.array([0.2, 0.1]), np.array([[1.5, 0.2], [0.2, 0.8]]), 4.0)
    # normalizing flows
    fnet = F.coupling_flow(4)
    fpar = F.flow_init(fnet, _rng())
    eps2 = _rng(6).standard_normal((5, 2))
    t.add("vi.flows.coupling_flow", 4)
    t.add("vi.flows.flow_init", fnet, _rng())
    t.add("vi.flows.check_flow", fnet, fpar)
    t.add("vi.flows.flow_sample", fnet, fpar, eps2)
    t.add("vi.flows.flow_log_density", fnet, fpar, eps2)
    t.add("vi.flows.flow_elbo_and_grads", fnet, fpar, banana(), eps2)
    t.add("vi.flows.fit_flow_vi", fnet, fpar, banana(), _rng(), n_iter=3, n_samples=4)
    return t


def _contrastive():
    t = _Table()
    p, _, _ = lgssm_problem(n_u=0)
    t.add("contrastive.cpc.stationary_params", p.A, p.Sigma_x, p.C, p.Sigma_y_x)
    t.add("contrastive.cpc.cpc_windows", _rng().standard_normal((10, 2)), 3)
    t.add("contrastive.cpc.subspace_cosine", np.array([1.0, 0.0]), np.array([1.0, 1.0]))
    t.add("contrastive.infonce.infonce_loss", _rng().standard_normal((4, 4)), _allow=("result.se",))
    t.add("contrastive.infonce.gaussian_mutual_information", 0.5)
    t.add("contrastive.infonce.exact_gaussian_critic", 0.5)
    t.add("contrastive.infonce.sample_correlated_gaussian", 5, 2, 0.5, rng=_rng())
    t.add("contrastive.nce.sigmoid", np.array([-1.0, 0.0, 2.0]))
    t.add("contrastive.nce.softplus", np.array([-1.0, 0.0, 2.0]))
    t.add("contrastive.nce.quadratic_features", np.array([-1.0, 0.0, 2.0]))
    t.add("contrastive.nce.gaussian_energy_params", 0.5, 2.0)
    t.add("contrastive.nce.gaussian_noise_energy", np.array([-1.0, 0.0, 2.0]), 0.0, 1.0)
    t.add("contrastive.local_nce.local_nce_offset", 4)
    from pedagogy_lib.contrastive import cpc, infonce, nce
    # CPC window predictors (a scalar state observed in two dimensions)
    sp = cpc.stationary_params(np.array([[0.8]]), np.array([[0.36]]), np.array([[1.0], [0.5]]), 0.1 * np.eye(2))
    wp = cpc.kalman_window_predictor(sp, 3)
    t.add("contrastive.cpc.kalman_window_predictor", sp, 3, 1)
    t.add("contrastive.cpc.check_window_predictor", wp)
    t.add("contrastive.cpc.exact_cpc_critic", wp)
    # InfoNCE critics (N = 8 pairs in groups of K = 4)
    yc, zc = infonce.sample_correlated_gaussian(8, 2, 0.6, rng=_rng())
    critic = infonce.exact_gaussian_critic(0.6, 2)
    t.add("contrastive.infonce.critic_scores", critic, yc, zc, 4)
    t.add("contrastive.infonce.gaussian_log_ratio_scores", yc, zc, 0.6, 4)
    t.add("contrastive.infonce.infonce_grad", critic, yc, zc, 4)
    t.add("contrastive.infonce.fit_critic", yc, zc, 4, max_iter=5)
    # NCE with a Gaussian model and Gaussian noise (sufficient statistics T, noise energies E_n)
    rng = _rng(7)
    y, yn = rng.normal(1.0, 0.8, 12), rng.normal(0.0, 1.5, 12)
    Tp, Tn = nce.quadratic_features(y), nce.quadratic_features(yn)
    Ep, En = nce.gaussian_noise_energy(y, 0.0, 2.25), nce.gaussian_noise_energy(yn, 0.0, 2.25)
    th = np.array([1.5, 1.2, 0.9])
    t.add("contrastive.nce.energy_difference", Ep, Ep - Tp @ th)
    t.add("contrastive.nce.nce_posterior", Ep, Ep - Tp @ th)
    t.add("contrastive.nce.nce_loss", th, Tp, Tn, Ep, En)
    t.add("contrastive.nce.nce_grad", th, Tp, Tn, Ep, En)
    t.add("contrastive.nce.nce_hessian", th, Tp, Tn, Ep, En)
    t.add("contrastive.nce.nce_standard_errors", th, Tp, Tn, Ep, En)
    t.add("contrastive.nce.fit_nce", Tp, Tn, Ep, En, max_iter=20)
    # log_mass is inf by design when the fitted a is not positive (no normalizable Gaussian)
    t.add("contrastive.nce.nce_gaussian", y, 0.0, 2.25, rng=_rng(), max_iter=20, _allow=("result.log_mass",))
    t.add("contrastive.nce.quadratic_log_mass", th)
    t.add("contrastive.nce.newton_minimize", lambda v: float(np.sum((v - 1.0) ** 2)), lambda v: 2.0 * (v - 1.0),
          lambda v: 2.0 * np.eye(v.size), np.zeros(2), max_iter=10)
    # local NCE: one positive and K - 1 = 3 negatives per datum
    N, K = 6, 4
    yl, ynl = rng.normal(1.0, 0.8, N), rng.normal(0.0, 1.5, (N, K - 1))
    Tpl, Tnl = nce.quadratic_features(yl), nce.quadratic_features(ynl.ravel()).reshape(N, K - 1, 3)
    Epl, Enl = nce.gaussian_noise_energy(yl, 0.0, 2.25), nce.gaussian_noise_energy(ynl, 0.0, 2.25)
    t.add("contrastive.local_nce.local_nce_loss", th, Tpl, Tnl, Epl, Enl)
    t.add("contrastive.local_nce.local_nce_grad", th, Tpl, Tnl, Epl, Enl)
    t.add("contrastive.local_nce.local_nce_hessian", th, Tpl, Tnl, Epl, Enl)
    t.add("contrastive.local_nce.fit_local_nce", Tpl, Tnl, Epl, Enl, max_iter=20)
    t.add("contrastive.local_nce.local_nce_gaussian", yl, 0.0, 2.25, K, rng=_rng(), _allow=("result.log_mass",))
    t.add("contrastive.local_nce.local_nce_posterior", rng.standard_normal((3, 4)))
    return t


def _diffusion():
    from pedagogy_lib.diffusion import make_schedule, ring_mixture
    t = _Table()
    sch = make_schedule(10)
    gmm = ring_mixture(4)
    x = _rng().standard_normal((5, 2))
    t.add("diffusion.schedules.make_schedule", 10)
    t.add("diffusion.schedules.check_schedule", sch)
    t.add("diffusion.schedules.to_ddpm", sch)
    t.add("diffusion.forward.marginal", sch, 3)
    t.add("diffusion.forward.transition", sch, 2, 5)
    t.add("diffusion.forward.posterior_transition", sch, 2, 5)
    t.add("diffusion.forward.noise_data", sch, x, 3, _rng().standard_normal((5, 2)))
    t.add("diffusion.losses.step_weights", sch)
    t.add("diffusion.sampling.noised_mixture", gmm, 0.9, 0.1)
    t.add("diffusion.sampling.mixture_force", gmm, x)
    t.add("diffusion.sampling.gmm_force", gmm, sch, 3, x)
    t.add("diffusion.sampling.gmm_m_hat", gmm, sch, 3, x)
    t.add("diffusion.sampling.gmm_log_density", gmm, sch, 3, x)
    t.add("diffusion.data.ring_mixture", 4)
    t.add("diffusion.data.two_moons", _rng(), 10)
    from pedagogy_lib import diffusion as df
    # schedules
    t.add("diffusion.schedules.ddpm_schedule", np.linspace(1e-3, 0.2, 8))
    t.add("diffusion.schedules.schedule_from_snr", np.array([100.0, 10.0, 1.0, 0.1]), "ve")
    t.add("diffusion.schedules.snr_curve", np.array([0.0, 0.5, 1.0]), "cosine", 1e-3, 1e3)
    t.add("diffusion.schedules.ve_sigmas", sch)
    # forward process
    t.add("diffusion.forward.consecutive_transitions", sch)
    t.add("diffusion.forward.iterate_moments", sch, x[0])
    t.add("diffusion.forward.levels", np.array([1, 3, 10, 2, 5]), "l", 10, 5)
    # denoisers and losses (N = 5 points at levels l)
    model = df.denoiser(2, (4,), n_freq=2, param="eps")
    params = df.init_denoiser(model, _rng())
    l = np.array([1, 3, 10, 2, 5])
    z = _rng(8).standard_normal((5, 2))
    xl = df.noise_data(sch, x, l, z)
    m = df.predict(model, params, sch, xl, l, out="m_hat")
    f = df.force_from_m_hat(sch, l, xl, m)
    t.add("diffusion.losses.denoiser", 2, (4,), n_freq=2, param="eps")
    t.add("diffusion.losses.check_denoiser", model)
    t.add("diffusion.losses.init_denoiser", model, _rng())
    t.add("diffusion.losses.predict", model, params, sch, xl, l, out="eps")
    t.add("diffusion.losses.denoiser_loss", model, params, sch, x, l, z)
    t.add("diffusion.losses.loss_terms", sch, l, x, z, m, "m_hat")
    t.add("diffusion.losses.force_from_m_hat", sch, l, xl, m)
    t.add("diffusion.losses.m_hat_from_force", sch, l, xl, f)
    t.add("diffusion.losses.force_from_eps", sch, l, df.eps_from_force(sch, l, f))
    t.add("diffusion.losses.eps_from_force", sch, l, f)
    t.add("diffusion.losses.mean_from_m_hat", sch, l, xl, m)
    t.add("diffusion.losses.m_hat_from_mean", sch, l, xl, df.mean_from_m_hat(sch, l, xl, m))
    t.add("diffusion.losses.time_features", sch, l, 2)
    t.add("diffusion.losses.reverse_variances", sch)
    t.add("diffusion.losses.mean_weights", sch)
    t.add("diffusion.losses.eq_8_40_weights", sch)
    t.add("diffusion.losses.gaussian_loss_limit", 1e-3, 1e3, 0.5)
    t.add("diffusion.losses.gaussian_optimal_loss", sch, 0.5)
    t.add("diffusion.losses.train_denoiser", model, params, sch, x, _rng(), n_iter=3, batch_size=4)
    # sampling
    y0 = _rng(9).standard_normal((4, 2))
    t.add("diffusion.kernels.warmup_kernels")
    t.add("diffusion.sampling.m_hat_from_model", model, params, sch)
    t.add("diffusion.sampling.score_from_model", model, params, sch, [5, 2, 1])
    t.add("diffusion.sampling.ancestral_sample", sch, lambda xx, ll: df.gmm_m_hat(gmm, sch, ll, xx), _rng(), 4, 2)
    t.add("diffusion.sampling.langevin_gmm", gmm, 0.3, y0, 5, 0.05, _rng(), _twin=False)
    t.add("diffusion.sampling.annealed_langevin", gmm, np.array([1.0, 0.5, 0.2]), y0, 3, 0.1, _rng(), _twin=False)
    t.add("diffusion.data.nn_distance_ratio", x, x + 0.1, _rng(10).standard_normal((6, 2)))
    return t


# ------------------------------------------------------------------------------------------------ deepgen

def _deepgen():
    from pedagogy_lib.deepgen import vae as V, gumbel as gb, nice as nc
    from pedagogy_lib.samplers import banana
    t = _Table()
    rng = _rng()
    t.add("deepgen.estimators.expo_gradient", 1.5)
    t.add("deepgen.estimators.expo_reparameterize", 1.5, _rng(1).random(6))
    t.add("deepgen.estimators.expo_terms", 1.5, _rng(1).random(6))
    t.add("deepgen.estimators.expo_variances", 1.5)
    t.add("deepgen.estimators.optimal_baseline", 0.5, 3)
    t.add("deepgen.estimators.shared_mean_gradient", 0.5)
    t.add("deepgen.estimators.shared_mean_terms", 0.5, rng.standard_normal((6, 3)), beta=0.2)
    t.add("deepgen.estimators.shared_mean_variances", 0.5, 3, beta=0.2)
    # gradients through the Gaussian identities, on a linear emission (gradient, Hessian, theta-gradient)
    Cg, yg = np.array([[1.0, 0.5], [-0.3, 2.0], [0.2, 0.1]]), np.array([0.3, -1.0, 0.5])
    t.add("deepgen.gaussian_gradients.hessian_route_gradients", np.array([0.2, -0.4]), _spd(2, 7, 0.5),
          _rng(8).standard_normal((4, 2)), lambda x: -Cg.T @ (yg - Cg @ x), lambda x: Cg.T @ Cg,
          lambda x: -np.outer(yg - Cg @ x, x).ravel())
    t.add("deepgen.gaussian_gradients.pathwise_gradients", np.array([0.2, -0.4]), _spd(2, 7, 0.5),
          _rng(8).standard_normal((4, 2)), lambda x: -Cg.T @ (yg - Cg @ x),
          lambda x: -np.outer(yg - Cg @ x, x).ravel())
    # Gumbel-softmax and the discrete VAE
    eta = np.array([0.5, -0.2, 0.1])
    G0 = _rng(2).gumbel(size=(4, 3))
    yc = np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    dm = gb.discrete_vae(4, 2, 3, hidden=3)
    dp = gb.init_discrete_params(dm, _rng())
    Yb = (_rng(3).random((5, 4)) > 0.5).astype(float)
    Gd = _rng(4).gumbel(size=(5, 2, 3))
    t.add("deepgen.gumbel.sample_gumbel", _rng(), (2, 3))
    t.add("deepgen.gumbel.gumbel_max", eta, G0)
    t.add("deepgen.gumbel.soft_categorical", eta, G0, 0.7)
    t.add("deepgen.gumbel.soft_categorical_jacobian", yc, 0.7)
    t.add("deepgen.gumbel.concrete_log_density", yc, eta, 0.7)
    t.add("deepgen.gumbel.discrete_vae", 4, 2, 3, hidden=3)
    t.add("deepgen.gumbel.check_discrete_vae", dm)
    t.add("deepgen.gumbel.init_discrete_params", dm, _rng())
    t.add("deepgen.gumbel.discrete_elbo", dm, dp, Yb, Gd)
    t.add("deepgen.gumbel.discrete_loss_and_grad", dm, dp, Yb, Gd, 0.7)
    t.add("deepgen.gumbel.fit_discrete_vae", dm, Yb, _rng(), n_epochs=2, batch=5)
    # ICA
    D = np.array([[1.0, 0.3], [-0.2, 0.8]])
    Yi = _rng(5).laplace(size=(20, 2))
    t.add("deepgen.ica.fit_ica", Yi, rng=_rng(), n_epochs=2, batch_size=10)
    t.add("deepgen.ica.extended_infomax", Yi, rng=_rng(), n_epochs=2, batch_size=10)
    t.add("deepgen.ica.gaussian_model_covariance", D)
    t.add("deepgen.ica.log_likelihood", D, Yi)
    t.add("deepgen.ica.log_likelihood_gradient", D, Yi)
    t.add("deepgen.ica.natural_gradient", D, Yi, kappa=np.array([1.0, -1.0]))
    t.add("deepgen.ica.log_prior", np.array([-1.0, 0.0, 2.0]))
    t.add("deepgen.ica.prior_score", np.array([-1.0, 0.0, 2.0]))
    t.add("deepgen.ica.switching_signs", Yi)
    t.add("deepgen.ica.whitening_matrix", Yi)
    # NICE
    nm = nc.make_nice(2, 2, (3,), activation="tanh")
    npar = nc.nice_init(nm, _rng())
    Yn = _rng(6).standard_normal((5, 2))
    t.add("deepgen.nice.alternating_partitions", 3, 2)
    t.add("deepgen.nice.make_nice", 2, 2, (3,), activation="tanh")
    t.add("deepgen.nice.check_nice", nm)
    t.add("deepgen.nice.nice_init", nm, _rng())
    t.add("deepgen.nice.forward", nm, npar, Yn)
    t.add("deepgen.nice.forward_layers", nm, npar, Yn)
    t.add("deepgen.nice.inverse", nm, npar, Yn)
    t.add("deepgen.nice.log_det_jacobian", nm, npar, Yn)
    t.add("deepgen.nice.log_likelihood", nm, npar, Yn)
    t.add("deepgen.nice.nll_and_grads", nm, npar, Yn)
    t.add("deepgen.nice.sample", nm, npar, _rng(), 4)
    t.add("deepgen.nice.fit_nice", nm, npar, Yn, rng=_rng(), n_steps=3, batch_size=5)
    t.add("deepgen.nice.leapfrog_couplings", banana(1.0, 1.0), Yn, Yn[::-1].copy(), 0.1, 2)
    # VAE
    vm = V.vae(4, 2, hidden=3)
    vg = V.vae(4, 2, hidden=3, likelihood="gaussian", alpha=0.5)
    vp = V.init_params(vm, _rng())
    Yv = (_rng(7).random((5, 4)) > 0.5).astype(float)
    Zv = _rng(8).standard_normal((5, 2))
    t.add("deepgen.vae.vae", 4, 2, hidden=3)
    t.add("deepgen.vae.check_vae", vg)
    t.add("deepgen.vae.init_params", vm, _rng())
    t.add("deepgen.vae.encode", vm, vp, Yv)
    t.add("deepgen.vae.decode", vm, vp, Zv)
    t.add("deepgen.vae.reconstruction", vm, vp, Zv, Yv)
    t.add("deepgen.vae.elbo_terms", vm, vp, Yv, Zv)
    t.add("deepgen.vae.loss_and_grad", vm, vp, Yv, Zv, beta=0.5)
    t.add("deepgen.vae.fit_vae", vm, Yv, _rng(), n_epochs=2, batch=5)
    t.add("deepgen.vae.gaussian_kl", Zv, 0.1 * Zv)
    t.add("deepgen.vae.reparameterize", Zv, 0.1 * Zv, Zv[::-1].copy())
    q = np.array([[0.7, 0.3], [0.2, 0.8], [0.5, 0.5]])
    pyx = np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]])
    # the relative entropies are +inf (a correct answer) when p_x or p_y_x is zero where the recognition or
    # the data put mass, e.g. after rounding the probabilities to integers
    t.add("deepgen.vae.jre_terms", np.array([0.2, 0.3, 0.5]), q, np.array([0.4, 0.6]), pyx,
          _allow=("result.L_JRE", "result.aggregate_kl", "result.kl_regularizer", "result.pre", "result.mre",
                  "result.reconstruction"))
    return t


# ------------------------------------------------------------------------------------------------ harmonium

def _harmonium():
    from pedagogy_lib.harmonium import model as hm_, helmholtz as hh, recurrent as rc
    from pedagogy_lib.harmonium.datasets import moving_bars
    t = _Table()
    p = hm_.init_params(2, 3, _rng(), scale=0.5)                 # K = 2 hidden, M = 3 visible
    pg = hm_.init_params(2, 3, _rng(1), scale=0.3, visible="gaussian")
    Y = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    p0 = np.full(8, 1 / 8)
    # model
    t.add("harmonium.model.init_params", 2, 3, _rng(), scale=0.5)
    t.add("harmonium.model.check_params", p)
    t.add("harmonium.model.check_layer", Y, "bernoulli", "y", 3)
    t.add("harmonium.model.family_code", "poisson")
    t.add("harmonium.model.energy", p, X, Y)
    t.add("harmonium.model.free_energy_hidden", p, X)
    t.add("harmonium.model.free_energy_visible", pg, Y)
    t.add("harmonium.model.hidden_mean", p, Y)
    t.add("harmonium.model.hidden_natural", p, Y)
    t.add("harmonium.model.visible_mean", pg, X)
    t.add("harmonium.model.visible_natural", p, X)
    t.add("harmonium.model.log_conditional_hidden", p, X, Y)
    t.add("harmonium.model.log_conditional_visible", p, Y, X)
    t.add("harmonium.model.sample_hidden", p, Y, _rng())
    t.add("harmonium.model.sample_visible", pg, X, _rng())
    t.add("harmonium.model.log_base_measure", np.array([[0.0, 2.0, 1.0]]), "poisson")
    t.add("harmonium.model.log_partition_units", np.array([[-1.0, 0.5]]), "bernoulli")
    t.add("harmonium.model.mean_units", np.array([[-1.0, 0.5]]), "gaussian")
    t.add("harmonium.model.sigmoid", np.array([-1.0, 0.0, 2.0]))
    t.add("harmonium.model.softplus", np.array([-1.0, 0.0, 2.0]))
    # exact enumeration
    t.add("harmonium.exact.states", 3)
    t.add("harmonium.exact.state_index", Y)
    t.add("harmonium.exact.empirical_distribution", Y)
    t.add("harmonium.exact.kl_divergence", p0, np.array([0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2]))
    t.add("harmonium.exact.log_partition", p)
    t.add("harmonium.exact.log_marginal_table", p, "visible")
    t.add("harmonium.exact.hidden_log_probs", p)
    t.add("harmonium.exact.visible_log_probs", p)
    t.add("harmonium.exact.visible_transition_matrix", p)
    t.add("harmonium.exact.average_log_likelihood", p, Y)
    t.add("harmonium.exact.data_moments", p, Y)
    t.add("harmonium.exact.model_moments", p)
    t.add("harmonium.exact.exact_gradient", p, Y, np.array([0.1, 0.2, 0.3, 0.4]))
    t.add("harmonium.exact.mre", p, Y)
    t.add("harmonium.exact.chain_distributions", p, p0, 3)
    t.add("harmonium.exact.expected_cd_gradient", p, p0, 2)
    t.add("harmonium.exact.train_exact", p, Y, 3, lr=0.1)
    # Gibbs sampling and contrastive divergence
    t.add("harmonium.gibbs.draw_noise", "bernoulli", (2, 3), _rng())
    t.add("harmonium.gibbs.gibbs_sample", p, Y, 3, _rng(), _twin=False)
    t.add("harmonium.gibbs.cd_epoch", p, Y, _rng(), batch_size=2)
    t.add("harmonium.gibbs.train_rbm", p, Y, _rng(), 2, batch_size=2)
    t.add("harmonium.gibbs.pseudo_log_likelihood", p, Y)
    t.add("harmonium.ais.ais_log_partition", p, _rng(), n_runs=5, n_betas=20)
    t.add("harmonium.kernels.warmup_kernels")
    # deep belief networks
    p1 = hm_.init_params(2, 2, _rng(2), scale=0.5)               # on top of p: visible = p's 2 hidden units
    py = np.array([0.1, 0.2, 0.1, 0.1, 0.2, 0.1, 0.1, 0.1])
    t.add("harmonium.dbn.invert", p)
    t.add("harmonium.dbn.directed_table", p)
    t.add("harmonium.dbn.aggregated_posterior", p, py)
    t.add("harmonium.dbn.jre_bound", p, p1, py)
    t.add("harmonium.dbn.up_pass", p, Y)
    t.add("harmonium.dbn.dbn_visible_log_probs", [p, p1])
    t.add("harmonium.dbn.dbn_sample", [p, p1], 3, 2, _rng(), _twin=False)
    t.add("harmonium.dbn.greedy_fit", Y, [2, 2], _rng(), 1, batch_size=2)
    # Helmholtz machines
    hm = hh.init_helmholtz([3, 2, 2], _rng(), scale=0.5)
    layers = [Y, X, X[:, ::-1].copy()]
    t.add("harmonium.helmholtz.init_helmholtz", [3, 2, 2], _rng(), scale=0.5)
    t.add("harmonium.helmholtz.wake_update", hm, layers)
    t.add("harmonium.helmholtz.expected_wake_update", hm, Y)
    t.add("harmonium.helmholtz.helmholtz_log_likelihood", hm, Y)
    t.add("harmonium.helmholtz.helmholtz_jre", hm, Y)
    t.add("harmonium.helmholtz.wake_sleep", hm, Y, _rng(), 1, batch_size=2)
    # recurrent harmonium
    rp = rc.init_refh(3, 2, _rng(), scale=0.5)
    seq = moving_bars(2, 3, 3, _rng(), width=1)
    t.add("harmonium.recurrent.init_refh", 3, 2, _rng(), scale=0.5)
    t.add("harmonium.recurrent.recurrent_inputs", rp, seq)
    t.add("harmonium.recurrent.refh_training_data", rp, seq)
    t.add("harmonium.recurrent.predictive_log_probs", rp, seq)
    t.add("harmonium.recurrent.static_log_probs", p, seq)
    t.add("harmonium.recurrent.train_refh", rp, seq, _rng(), 1, batch_size=2)
    # data sets
    t.add("harmonium.datasets.bars_and_stripes", 3)
    t.add("harmonium.datasets.moving_bars", 2, 3, 4, _rng())
    t.add("harmonium.datasets.binarized_digits", 7.0)
    return t


# ------------------------------------------------------------------------------------------------ nn

def _nn():
    from pedagogy_lib.nn import network as nw, rnn
    t = _Table()
    rng = _rng()
    # networks and losses
    eta = rng.standard_normal((4, 3))
    Xb = (_rng(1).random((4, 3)) > 0.5).astype(float)
    Xc = np.eye(3)[[0, 2, 1, 0]]
    net = nw.mlp([2, 3, 1])
    params = net.init(_rng())
    t.add("nn.network.mlp", [2, 3, 1], activation="relu", output="logistic")
    t.add("nn.network.sigmoid", np.array([-1.0, 0.0, 2.0]))
    t.add("nn.network.softplus", np.array([-1.0, 0.0, 2.0]))
    t.add("nn.losses.bernoulli_cross_entropy", eta, Xb)
    t.add("nn.losses.categorical_cross_entropy", eta, Xc)
    t.add("nn.losses.squared_error", eta, Xb)
    t.add("nn.losses.gaussian_nll", eta, 0.1 * eta, Xb)
    t.add("nn.losses.one_hot", np.array([0, 2, 1]), 3)
    t.add("nn.network.relative_error", np.array([1.0, 2.0]), np.array([1.1, 2.0]))
    t.add("nn.network.tree_leaves", params)
    t.add("nn.network.tree_map", np.negative, params)
    # f accepts any array-like (a list of leaves is a tree too, and f is the caller's own function)
    t.add("nn.network.numerical_gradient", lambda p: float(np.sum(np.asarray(p) ** 2)), np.array([0.5, -1.0]))
    t.add("nn.optim.minibatches", _rng(), 2, eta, Xb)
    # recurrent networks
    rp = rnn.init_rnn(_rng(), 2, 3, 2, gain=0.9)
    Yr = _rng(2).standard_normal((4, 2, 2))                      # (T, N, D_y)
    fwd = rnn.rnn_forward(rp, Yr)
    t.add("nn.rnn.init_rnn", _rng(), 2, 3, 2, gain=0.9)
    t.add("nn.rnn.rnn_forward", rp, Yr, np.zeros((2, 3)))
    t.add("nn.rnn.rnn_bptt", rp, Yr, fwd.Z, _rng(3).standard_normal((4, 2, 2)), np.zeros((2, 3)))
    # InfoMax
    C = np.array([[1.0, 0.5], [0.2, 1.0]])
    D = np.linalg.inv(C)
    S = _rng(4).laplace(size=(20, 2))
    Y = S @ C.T
    t.add("nn.infomax.check_unmixing", D, 2)
    t.add("nn.infomax.psi", np.array([-1.0, 0.0, 2.0]))
    t.add("nn.infomax.log_dpsi", np.array([-1.0, 0.0, 2.0]))
    t.add("nn.infomax.log_density", D, Y)
    t.add("nn.infomax.objective", D, Y)
    t.add("nn.infomax.gradient", D, Y)
    t.add("nn.infomax.natural_gradient", D, Y)
    t.add("nn.infomax.fixed_point_rhs", D, Y)
    t.add("nn.infomax.fixed_point_residual", D, Y)
    t.add("nn.infomax.infomax", Y, rng=_rng(), n_epochs=2, batch_size=10)
    t.add("nn.infomax.amari_index", D, C)
    t.add("nn.infomax.mix", S, C)
    t.add("nn.infomax.rotation", 0.3)
    t.add("nn.infomax.sample_sources", _rng(), 5, 2, source="gennorm", beta=1.5)
    t.add("nn.infomax.source_kurtosis", "gennorm", 1.5)
    t.add("nn.infomax.stability_constant", "laplace")
    # clustering by mutual information, with a few labels
    Wc, bc = np.array([[1.0, -0.5], [0.2, 0.8], [-0.4, 0.3]]), np.array([0.1, 0.0, -0.2])
    Yc = _rng(5).standard_normal((10, 2))
    lab = np.array([0, -1, -1, 2, -1, 1, -1, -1, -1, -1])
    t.add("nn.mi_clustering.cluster_probs", Wc, bc, Yc)
    t.add("nn.mi_clustering.mi_objective", Wc, bc, Yc, lab, label_weight=0.5, weight_decay=0.1)
    t.add("nn.mi_clustering.mi_gradient", Wc, bc, Yc, lab, label_weight=0.5, weight_decay=0.1)
    t.add("nn.mi_clustering.fit_mi_clustering", Yc, 3, labels=lab, rng=_rng(), max_iter=5)
    t.add("nn.kernels.warmup_kernels")
    return t


BUILDERS = {"core": _core, "gaussian": _gaussian, "lgssm": _lgssm, "hmm": _hmm, "mixture": _mixture,
            "factor": _factor, "discrete": _discrete, "recursions": _recursions, "smc": _smc, "em": _em,
            "learning": _learning, "assimilation": _assimilation, "samplers": _samplers, "graphical": _graphical,
            "vi": _vi, "contrastive": _contrastive, "diffusion": _diffusion,
            "deepgen": _deepgen, "harmonium": _harmonium, "nn": _nn}


def build_family(family: str) -> dict:
    builder = BUILDERS.get(family)
    return dict(builder()) if builder else {}
