"""Scale cases of the lgssm, graphical and assimilation families (the method: tests/library/test_scales.py)."""
from __future__ import annotations

from scale_kit import NO_CASE_YET, group

#: This module's public functions without a case, with the reason.
NOT_SWEPT = {
    **group(NO_CASE_YET, "lgssm", "em.lgssm_expected_log_joint em.lgssm_m_step em.lgssm_suff_stats "
             "em.similarity_transform kalman.rts_smoother"),
    **group(NO_CASE_YET, "graphical", "bp.with_evidence factors.clamp factors.max_out junction.junction_marginal"),
    **group(NO_CASE_YET, "assimilation", "ensemble.enkf fourdvar.cycle_4dvar fourdvar.strong_4dvar fourdvar.strong_cost_grad "
             "fourdvar.strong_hessian fourdvar.strong_problem fourdvar.weak_4dvar "
             "fourdvar.weak_cost_grad fourdvar.weak_hessian fourdvar.window_storage model.psd_sqrt "
             "nonlinear_filters.ekf nonlinear_filters.ukf"),
}
