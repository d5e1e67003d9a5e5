"""Scale cases of the discrete, hmm, recursions, smc, mixture, samplers and nn families (the method: tests/library/test_scales.py)."""
from __future__ import annotations

from scale_kit import NO_CASE_YET, group

#: This module's public functions without a case, with the reason.
NOT_SWEPT = {
    **group(NO_CASE_YET, "discrete", "categorical.ci_discrepancy categorical.is_independent markov_chain.mixing_time "
             "markov_chain.mixing_time_bounds"),
    **group(NO_CASE_YET, "hmm", "em.hmm_expected_log_joint em.hmm_m_step em.hmm_suff_stats"),
    **group(NO_CASE_YET, "recursions", "generic.categorical_log_lik generic.particle_backward_matrix"),
    **group(NO_CASE_YET, "smc", "particle.ffbsm"),
    **group(NO_CASE_YET, "mixture", "em.clamped_responsibilities em.gmm_elbo em.gmm_stats_from_responsibilities "
             "em.semi_supervised_log_lik model.boundary_value"),
    **group(NO_CASE_YET, "samplers", "conjugate.normal_gamma_conditionals targets.log_density_and_force"),
    **group(NO_CASE_YET, "nn", "infomax.fixed_point_residual infomax.fixed_point_rhs infomax.objective "
             "mi_clustering.cluster_probs mi_clustering.mi_objective"),
}
