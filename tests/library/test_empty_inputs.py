"""An empty argument is blamed by name, not the partner whose shape was derived from it.

Public functions take a dimension from one argument (``D = mu.shape[0]``) and check the next
against it; when the first is empty, the old messages said the partner had the wrong shape
("Sigma must have shape (D, D) = (0, 0); got (2, 2)"). Each case passes one empty argument with
valid partners and asks for a ``ValueError`` whose message starts with the empty argument's name.
"""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib import em, gaussian, hmm, mixture, recursions
from pedagogy_lib.assimilation import ensemble, model as da_model, nonlinear_filters
from pedagogy_lib.factor import model as fa_model
from pedagogy_lib.graphical import tree
from pedagogy_lib.harmonium import exact as efh_exact
from pedagogy_lib.nn import infomax, losses
from pedagogy_lib.samplers import finite, proposals, targets
from pedagogy_lib.vi import amortized, bbvi, bgmm, mean_field

E1 = np.zeros(0)
E2 = np.zeros((0, 0))
I2 = np.eye(2)
RNG = np.random.default_rng(0)

CASES = [
    ("exact_ensemble mean", lambda: ensemble.exact_ensemble(E1, I2, 5, rng=RNG), r"^mean must not be empty"),
    ("rmse estimate", lambda: da_model.rmse(np.zeros((0, 3)), np.ones((4, 3))), r"^estimate must not be empty"),
    ("sigma_points mean", lambda: nonlinear_filters.sigma_points(E1, I2), r"^mean must not be empty"),
    ("discrete_elbo log_joint", lambda: em.discrete_elbo(np.zeros((0, 2)), np.full((3, 2), 0.5)),
     r"^log_joint must not be empty"),
    ("condition mu", lambda: gaussian.condition(E1, I2, [0], [1.0]), r"^mu must not be empty"),
    ("mvn_logpdf mu", lambda: gaussian.mvn_logpdf(np.zeros(2), E1, I2), r"^mu must not be empty"),
    ("sample_mvn mu", lambda: gaussian.sample_mvn(RNG, E1, I2, 3), r"^mu must not be empty"),
    ("make_pairwise_tree phi", lambda: tree.make_pairwise_tree([-1, 0], np.zeros((2, 0)), np.ones((2, 2, 2))),
     r"^phi must not be empty"),
    ("gaussian_log_lik mu", lambda: hmm.gaussian_log_lik(np.zeros((0, 2)), np.stack([I2, I2]), np.zeros((4, 2))),
     r"^mu must not be empty"),
    ("log_alpha filtered", lambda: hmm.log_alpha(np.zeros((0, 2)), np.zeros(3)), r"^filtered must not be empty"),
    ("gmm_params pi", lambda: mixture.gmm_params(E1, np.zeros((2, 2)), np.stack([I2, I2])), r"^pi must not be empty"),
    ("gmm_params mu", lambda: mixture.gmm_params([0.5, 0.5], np.zeros((2, 0)), np.stack([I2, I2])),
     r"^mu must not be empty"),
    ("linear_boundary mu_k", lambda: mixture.linear_boundary(E1, np.zeros(2), I2, 0.5, 0.5), r"^mu_k must not be empty"),
    ("quadratic_boundary mu_k", lambda: mixture.quadratic_boundary(E1, np.zeros(2), I2, I2, 0.5, 0.5),
     r"^mu_k must not be empty"),
    ("infomax.mix S", lambda: infomax.mix(np.zeros((5, 0)), I2), r"^S must not be empty"),
    ("squared_error mu", lambda: losses.squared_error(np.zeros((0, 3)), np.ones((5, 3))), r"^mu must have at least one row"),
    ("bernoulli_cross_entropy eta", lambda: losses.bernoulli_cross_entropy(np.zeros((5, 0)), np.ones((5, 3))),
     r"^eta must have at least one column"),
    ("gaussian_chain mu_1", lambda: recursions.gaussian_chain(E1, I2, I2, I2, I2, np.zeros(2), I2, np.zeros((3, 2))),
     r"^mu_1 must not be empty"),
    ("gaussian_chain c", lambda: recursions.gaussian_chain(np.zeros(2), I2, I2, I2, I2, E1, I2, np.zeros((3, 2))),
     r"^c must not be empty"),
    ("sequence_posterior smoothed", lambda: recursions.sequence_posterior(recursions.CATEGORICAL, [], []),
     r"^smoothed must hold at least one marginal"),
    ("mala_transition_matrix x", lambda: finite.mala_transition_matrix(E1, np.zeros(4), np.zeros(4), 0.1),
     r"^x must not be empty"),
    ("mh_transition_matrix log_p", lambda: finite.mh_transition_matrix(E1, np.full((3, 3), 1 / 3)),
     r"^log_p must not be empty"),
    ("leapfrog x", lambda: proposals.leapfrog(targets.gaussian_target(np.zeros(2), I2), np.zeros((0, 2)),
                                              np.zeros((3, 2)), 0.1, 2), r"^x must not be empty"),
    ("fa params c", lambda: fa_model.fa_log_likelihood(fa_model.FAParams(np.ones((3, 1)), E1, np.ones(3)), np.zeros(3)),
     r"^c must not be empty"),
    ("linear_gaussian_model C", lambda: amortized.linear_gaussian_model(np.zeros((0, 2)), np.zeros(3), 1.0),
     r"^C must not be empty"),
    ("control_variate g", lambda: bbvi.control_variate(np.zeros((0, 2)), np.ones((5, 2))), r"^g must not be empty"),
    ("bgmm_prior m0", lambda: bgmm.bgmm_prior(1.0, 1.0, E1, I2, 3.0), r"^m0 must not be empty"),
    ("cavi_bgmm y", lambda: bgmm.cavi_bgmm(np.zeros((0, 2)), bgmm.bgmm_prior(1.0, 1.0, np.zeros(2), I2, 3.0),
                                           np.full((4, 2), 0.5)), r"^y must not be empty"),
    ("mean_field_gaussian mu", lambda: mean_field.mean_field_gaussian(E1, I2), r"^mu must not be empty"),
    ("kl_gaussian m_q", lambda: mean_field.kl_gaussian(E1, I2, np.zeros(2), I2), r"^m_q must not be empty"),
    ("harmonium kl_divergence p", lambda: efh_exact.kl_divergence(E1, [0.5, 0.5]), r"^p must not be empty"),
]


@pytest.mark.parametrize("call, match", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_an_empty_argument_is_named_in_the_message(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_nonempty_flag_of_as_array():
    from pedagogy_lib.core.checks import as_array
    with pytest.raises(ValueError, match=r"^Sigma must not be empty \(shape \(D, D\)\); got shape \(2, 0\)\.$"):
        as_array(np.zeros((2, 0)), "Sigma", ndim=2, dims="(D, D)", nonempty=True)
    assert as_array(np.zeros((2, 0)), "Sigma", ndim=2).shape == (2, 0)      # off by default
    assert as_array(3.0, "s", nonempty=True).shape == ()                     # a scalar is never empty
