"""Scale cases of the factor, vi and deepgen families (the method: tests/library/test_scales.py)."""
from __future__ import annotations

from scale_kit import NO_CASE_YET, group

#: This module's public functions without a case, with the reason.
NOT_SWEPT = {
    **group(NO_CASE_YET, "factor", "em.pca sparse_coding.joint_energy sparse_coding.log_marginal_quadrature "
             "sparse_coding.posterior_energy sparse_coding.soft_threshold "
             "sparse_coding_em.expected_abs sparse_coding_em.free_energy"),
    **group(NO_CASE_YET, "vi", "amortized.local_vb bgmm.bgmm_elbo bgmm.bgmm_responsibilities "
             "bgmm.bgmm_update_parameters flows.flow_log_density"),
    **group(NO_CASE_YET, "deepgen", "estimators.expo_gradient estimators.optimal_baseline estimators.shared_mean_gradient "
             "estimators.shared_mean_variances gumbel.soft_categorical_jacobian gumbel.gumbel_max "
             "ica.gaussian_model_covariance ica.whitening_matrix nice.log_det_jacobian "
             "nice.log_likelihood vae.jre_terms vae.reconstruction"),
}
