"""Scale cases of the harmonium family (the method: tests/library/test_scales.py)."""
from __future__ import annotations

from scale_kit import NO_CASE_YET, group

#: This module's public functions without a case, with the reason.
NOT_SWEPT = {
    **group(NO_CASE_YET, "harmonium", "dbn.aggregated_posterior dbn.dbn_visible_log_probs dbn.directed_table dbn.invert "
             "dbn.jre_bound dbn.up_pass exact.average_log_likelihood exact.chain_distributions "
             "exact.data_moments exact.log_marginal_table exact.model_moments exact.mre "
             "exact.visible_transition_matrix gibbs.pseudo_log_likelihood helmholtz.helmholtz_jre "
             "helmholtz.helmholtz_log_likelihood model.energy model.hidden_mean model.hidden_natural "
             "model.log_conditional_hidden model.visible_mean model.visible_natural "
             "recurrent.predictive_log_probs recurrent.recurrent_inputs recurrent.refh_training_data "
             "recurrent.static_log_probs"),
}
