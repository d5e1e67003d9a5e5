"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.da_filters`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np


def lorenz63_jacobian(x) -> np.ndarray:
    """The Jacobian of the Lorenz-63 vector field at x."""
    sigma, rho, beta = 10.0, 28.0, 8.0 / 3.0
    return np.array([[-sigma, sigma, 0.0], [rho - x[2], -1.0, -x[0]], [x[1], x[0], -beta]])


def ukf_variant(mu, Upsilon, y, flow, Sigma_x, C, c, Sigma_y_x, *, noise=True, centre_mean=False, rows=False,
                 beta=0.0, root="cholesky"):
    """One UKF cycle (alpha = 1, kappa = 1), written out, with one named slip switched on."""
    n = len(mu)
    lam = 1.0
    S = (n + lam) * Upsilon
    if root == "cholesky":
        L = np.linalg.cholesky(S)
    else:
        w, V = np.linalg.eigh(S)
        L = (V * np.sqrt(w)) @ V.T
    offsets = L if rows else L.T                   # rows of offsets are the columns of L, unless slipped
    X = np.concatenate([mu[None], mu + offsets, mu - offsets])
    w_mean = np.full(2 * n + 1, 0.5 / (n + lam))
    w_mean[0] = lam / (n + lam)
    w_cov = w_mean.copy()
    w_cov[0] += beta
    F = np.asarray(flow(X), dtype=float)
    m = flow(mu) if centre_mean else w_mean @ F
    P = np.einsum("i,ij,ik->jk", w_cov, F - m, F - m) + (Sigma_x if noise else 0.0)
    S_y = C @ P @ C.T + Sigma_y_x
    G = np.linalg.solve(S_y, C @ P).T              # the gain P C^T S_y^{-1}
    return m + G @ (y - C @ m - c), P - G @ S_y @ G.T


def ukf_reference(mu, Upsilon, y, flow, Sigma_x, C, c, Sigma_y_x):
    """One UKF cycle (alpha = 1, kappa = 1, Cholesky sigma points): (mu_filt, Upsilon_filt)."""
    return ukf_variant(mu, Upsilon, y, flow, Sigma_x, C, c, Sigma_y_x)


#: Quadrature points of the reference ADF update (the library's grid, refined over the posterior when needed).
ADF_NODES = 1601


def adf_update(m, v, y, h, Sigma_y_x, *, slip: str = ""):
    """(mean, variance) of the posterior N(x; m, v) N(y; h(x), Sigma_y_x) / p(y), the ADF's measurement update,
    from the library's assumed-density filter run for one observation, or what a named ``slip`` gives."""
    from ...assimilation.adf import assumed_density_filter

    if slip == "prior":
        return m, v
    if slip == "ekf":                                   # Kalman update with h linearized at m (central difference)
        step = 1e-5 * max(1.0, abs(m))
        H = float((h(np.array([m + step])) - h(np.array([m - step])))[0] / (2 * step))
        K = v * H / (H * v * H + Sigma_y_x)
        return m + K * (y - float(h(np.array([m]))[0])), (1.0 - K * H) * v
    noise = Sigma_y_x ** 2 if slip == "sd" else Sigma_y_x
    out = assumed_density_filter(lambda x, t: x, h, 1.0, noise, np.array([y]), m, v, n_nodes=ADF_NODES)
    mean, var, Z = float(out.mu_filt[0]), float(out.Upsilon_filt[0]), float(np.exp(out.log_p_y[0]))
    if slip == "no Z":
        return Z * mean, Z * var
    if slip == "raw":
        return mean, var + mean ** 2
    return mean, var


# --- slip tables: what named wrong derivations give on one hidden problem (some entries are one step
# from the reference, so they live here, out of the checker module's reach) ---

def ukf_slips(*args) -> tuple[dict, dict]:
    """(mean hints, covariance hints) of named wrong cycles on one problem."""
    named = {
        "you left the model error Sigma_x out of the forecast covariance": ukf_variant(*args, noise=False),
        "your forecast mean is the image of the mean, flow(mu), as in the EKF; the UKF's is the weighted mean of "
        "the images of the sigma points": ukf_variant(*args, centre_mean=True),
        "you placed the sigma points along the rows of the Cholesky factor L; they are mu +- its columns":
            ukf_variant(*args, rows=True),
        "your covariance weights add 1 - alpha^2 + beta = 2 to the centre point (da.sigma_points's default "
        "beta = 2); the exercise uses the mean's weights for the covariance too": ukf_variant(*args, beta=2.0),
        "you used a square root of (n + lambda) Upsilon other than its Cholesky factor; for a nonlinear flow the "
        "forecast depends on that choice, and the exercise fixes L = np.linalg.cholesky((n + lambda) Upsilon)":
            ukf_variant(*args, root="symmetric"),
    }
    return {k: v[0] for k, v in named.items()}, {k: v[1] for k, v in named.items()}
