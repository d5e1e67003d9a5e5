"""Scale cases of the contrastive and diffusion families (the method: tests/library/test_scales.py)."""
from __future__ import annotations

from scale_kit import NO_CASE_YET, group

#: This module's public functions without a case, with the reason.
NOT_SWEPT = {
    **group(NO_CASE_YET, "contrastive", "cpc.exact_cpc_critic cpc.kalman_window_predictor infonce.critic_scores "
             "infonce.exact_gaussian_critic local_nce.local_nce_loss nce.nce_loss "
             "nce.nce_standard_errors"),
    **group(NO_CASE_YET, "diffusion", "forward.iterate_moments forward.noise_data losses.eps_from_force losses.force_from_eps "
             "losses.force_from_m_hat losses.m_hat_from_force losses.m_hat_from_mean "
             "losses.mean_from_m_hat losses.predict sampling.m_hat_from_model sampling.mixture_force "
             "sampling.score_from_model"),
}
