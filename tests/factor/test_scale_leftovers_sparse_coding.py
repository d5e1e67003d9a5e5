"""Issue 69 leftovers in Section 2.1.3: Laplace's approximation when its precision is singular in float64.

The Hessian at the mode, H = lam C^T C + diag(E''(x0)) (Eq. 2.33), is positive definite for the
Laplace, log-cosh and Gaussian priors, but the prior's curvature at a code far in its tail
(alpha beta sech^2(beta x0), 7e-15 at beta x0 = 17) can be smaller than the rounding of lam C^T C
in a direction that C cannot see. A Cholesky factor then often still exists, and log|H| comes out
of rounding noise: the old code returned such a log evidence without a word. It now refuses with
the rule the E step of Section 8.1 applies to the same matrix (check_spd's: scaled to unit diagonal,
smallest eigenvalue of H or of its inverse above spd_tolerance(K)), naming what to change.

Oracles: the exact determinant of the 2 x 2 Hessian written out here, and for the Gaussian prior
(where Laplace's method is exact) the marginal N(0, C C^T / alpha + I / lam) by a dense slogdet.
"""
import numpy as np
import pytest

from pedagogy_lib.core.checks import spd_tolerance
from pedagogy_lib.factor import sparse_coding as sc

TAU = 2 * np.pi


def parallel_pair(beta_x):
    """Two identical unit columns in one dimension, log-cosh prior (alpha = beta = 1), and a datum whose
    mode has both codes at beta x0 = beta_x (by symmetry), far in the prior's tail."""
    model = sc.make_model(np.array([[1.0, 1.0]]), 1.0, 1.0, 1.0, prior="logcosh")
    y = np.array([2.0 * beta_x + np.tanh(beta_x)])          # mode: tanh(x) = y - 2x at x1 = x2 = x
    return model, y


def test_a_tail_code_that_rounding_hides_is_refused_naming_what_to_change():
    """beta x0 = 17: E'' = sech^2(17) = 6.9e-15 against lam C^T C = [[1, 1], [1, 1]]; the exact log|H| is
    log(E'' (2 + E'')) but the computed one is off (the old code returned it silently)."""
    model, y = parallel_pair(17.0)
    x0 = sc.map_estimate(y, model).x0                     # x0_1 - x0_2 is barely determined (curvature E'')
    assert abs(x0.sum() - 34.0) < 1e-6 and np.all(np.abs(x0 - 17.0) < 1e-3)
    d = sc.prior_energy_derivatives(x0, model)[1]
    assert np.all(d < spd_tolerance(2))                    # below the rule's tolerance: singular in float64
    with pytest.raises(ValueError, match=r"singular to working precision") as info:
        sc.laplace_approximation(y, model)
    msg = str(info.value)
    for word in ("model.lam", "model.beta", "model.C", "nearly parallel", "code k = 0", "Supported"):
        assert word in msg, (word, msg)


def test_the_same_pair_closer_to_the_prior_is_kept_and_right():
    """beta x0 = 10: E'' = 8.2e-9, well above the rounding; log|H| is right to the rounding of 1 + E''."""
    model, y = parallel_pair(10.0)
    lap = sc.laplace_approximation(y, model)
    d = 1.0 / np.cosh(lap.x0[0]) ** 2
    exact_logdet = np.log(d) + np.log(2.0 + d)             # eigenvalues d and 2 + d of [[1+d, 1], [1, 1+d]]
    got_logdet = -2.0 * (lap.log_evidence + lap.E_joint0 + lap.log_Z_joint - np.log(TAU))
    assert abs(got_logdet - exact_logdet) < 1e-6
    assert np.all(np.isfinite(lap.Sigma))


@pytest.mark.parametrize("lam", [1e-12, 1.0, 1e12])
def test_the_gaussian_prior_is_exact_at_any_noise_variance(lam):
    """K = L = 2 with independent columns: H is well conditioned at any lam, so nothing is refused, and
    Laplace's method equals the marginal N(0, C C^T / alpha + I / lam) (dense slogdet and solve)."""
    C = np.array([[1.0, 0.4], [-0.3, 0.8]])
    alpha = np.array([2.0, 0.5])
    y = np.array([0.7, -1.1])
    model = sc.make_model(C, lam, alpha, prior="gaussian")
    S = C @ np.diag(1.0 / alpha) @ C.T + np.eye(2) / lam
    sign, logdet = np.linalg.slogdet(S)
    exact = -0.5 * (y @ np.linalg.solve(S, y) + logdet + 2 * np.log(TAU))
    got = sc.laplace_approximation(y, model).log_evidence
    assert sign > 0 and abs(got - exact) <= 1e-9 * max(1.0, abs(exact))
