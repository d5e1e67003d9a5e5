"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch08_diffusion`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np


def two_atom_posterior(p: dict, scale_likelihood: bool = True, sd: float | None = None,
                        weights=None) -> np.ndarray:
    """Posterior probabilities of the two atoms given x_l (slips switched on by the arguments)."""
    v, rho, atoms, x = p["v"], p["rho"], p["atoms"], p["x"]
    w = p["w"] if weights is None else np.asarray(weights, dtype=float)
    centres = v * rho * atoms if scale_likelihood else atoms
    s = v if sd is None else sd
    logs = np.log(w) - 0.5 * np.sum((x - centres) ** 2, axis=1) / s ** 2
    r = np.exp(logs - logs.max())
    return r / r.sum()


def first_noisy_level(lam_min: float, lam_max: float, L: int) -> int:
    """The first l with lambda_l < 1 - 1e-9, in exact rational arithmetic."""
    from fractions import Fraction

    lo, hi = Fraction(str(lam_min)), Fraction(str(lam_max))
    below = (1 - Fraction(1, 10 ** 9)) ** L
    return next(l for l in range(L + 1) if hi ** (L - l) * lo ** l < below)


def two_point_mse(a: float, lam: float) -> float:
    """MSE of the posterior mean for data +-a observed at SNR lam, by quadrature."""
    from scipy.integrate import quad

    def integrand(n):
        t = abs(a * a * lam + a * np.sqrt(lam) * n)
        e = np.exp(-2.0 * t)
        return 4.0 * e / (1.0 + e) ** 2 * np.exp(-0.5 * n * n)

    val = quad(integrand, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-12, limit=200)[0]
    return float(a * a * val / np.sqrt(2 * np.pi))


def ladder_length(hi: float, lo: float, r: float) -> int:
    """Levels sigma_1 r^k down to the first at or below sigma_min (within a relative 1e-9), exactly."""
    from fractions import Fraction

    s, floor, ratio, n = Fraction(str(hi)), Fraction(str(lo)) * (1 + Fraction(1, 10 ** 9)), Fraction(str(r)), 1
    while s > floor:
        s, n = s * ratio, n + 1
    return n


def chain_run(B, G, s0, v0, *, var_step=None, scale_step=None, noise=None):
    """(S_l, C_l) pushed down the chain; the keywords replace parts of the step for the slips."""
    d = B.shape[1]
    S, C = [s0 * np.eye(d)], [v0 ** 2 * np.eye(d)]
    for b, g in zip(B, G):
        S.append(b @ S[-1] if scale_step is None else scale_step(b, S[-1]))
        C.append((b @ C[-1] @ b.T if var_step is None else var_step(b, C[-1])) + (g if noise is None else noise(g)))
    return np.array(S), np.array(C)


def mean_loss(v, rho, l, x0, z, mu, *, noise_scale=True, sq=True, prev=True, var="posterior", half=True):
    """Eq. 8.39's summand per row, written out here, with one named slip switched on (for the hints)."""
    lam = rho ** 2 if sq else rho
    k = l - 1 if prev else l                                   # whose v and rho stand in front
    x_l = v[l, None] * (rho[l, None] * x0 + (z if noise_scale else z / v[l, None]))
    dlam = lam[l - 1] - lam[l]
    mu_bar = (v[k] / rho[k])[:, None] * (dlam[:, None] * x0 + (rho[l] / v[l])[:, None] * x_l)
    if var == "posterior":
        s2 = v[k] ** 2 * dlam / rho[k] ** 2
    else:                                                      # the forward step's variance gamma_l^2
        s2 = v[l] ** 2 * (1.0 - rho[l] ** 2 / rho[l - 1] ** 2)
    return np.sum((mu_bar - mu) ** 2, axis=1) / ((2.0 if half else 1.0) * s2)


def reverse_step(sched, l, x, e, z, slip=None):
    """The step written out here, in the book's (v, rho) notation, with one named slip switched on."""
    v, lam = sched.v, sched.rho ** 2
    with np.errstate(all="ignore"):
        if slip == "ddpm":                        # DDPM's formulas, with alpha-bar read as (v rho)^2
            abar = (v * sched.rho) ** 2
            alpha, beta = abar[l] / abar[l - 1], 1.0 - abar[l] / abar[l - 1]
            if l == 1:
                return (x - np.sqrt(1.0 - abar[1]) * e) / np.sqrt(abar[1])
            mean = (x - beta / np.sqrt(1.0 - abar[l]) * e) / np.sqrt(alpha)
            return mean + np.sqrt(beta * (1.0 - abar[l - 1]) / (1.0 - abar[l])) * z
        clean = {"as force": v[l] / np.sqrt(lam[l]) * e + x / (v[l] * np.sqrt(lam[l])),
                 "sign": (x / v[l] + e) / np.sqrt(lam[l]),
                 "no v": (x - e) / np.sqrt(lam[l])}.get(slip, x / (v[l] * np.sqrt(lam[l])) - e / np.sqrt(lam[l]))
        gap = lam[l - 1] - lam[l]
        mean = v[l - 1] * (gap * clean + np.sqrt(lam[l]) * x / v[l]) / np.sqrt(lam[l - 1])
        var = {"forward": v[l] ** 2 * gap / lam[l - 1]}.get(slip, v[l - 1] ** 2 * gap / lam[l - 1])
        if l == 1 and slip not in ("noise at 1", "mean at 1"):
            return clean
        if l == 1 and slip == "mean at 1":
            return mean
        return mean + (var if slip == "variance" else np.sqrt(var)) * z


def noised_force(mix, s2: float, y: np.ndarray) -> np.ndarray:
    """Gradient of the log density of the mixture noised by s2, at each row of y."""
    w, mu, S = mix
    logs, grads = [], []
    for k in range(len(w)):
        C = S[k] + s2 * np.eye(len(mu[k]))
        diff = y - mu[k]
        sol = np.linalg.solve(C, diff.T).T
        logs.append(np.log(w[k]) - 0.5 * np.sum(diff * sol, axis=1) - 0.5 * np.linalg.slogdet(C)[1])
        grads.append(-sol)
    logs = np.array(logs)
    r = np.exp(logs - logs.max(axis=0))
    r /= r.sum(axis=0)
    return np.einsum("kn,knd->nd", r, np.array(grads))


def langevin_run(mix, sigmas, y0, eps, Z, slip=None) -> np.ndarray:
    """The sampler with the exact noised force, one named slip switched on."""
    order = range(len(sigmas) - 1, -1, -1) if slip == "reversed" else range(len(sigmas))
    y = y0.copy()
    for i in order:
        s = sigmas[i]
        if slip == "restart":
            y = y0.copy()
        # the optimal noise prediction at this level, turned back into a force (with the slips)
        e = lambda x: -s * noised_force(mix, s ** 2, x)  # noqa: E731
        force = {"sign": lambda x: e(x) / s, "times": lambda x: -s * e(x),
                 "square": lambda x: -e(x) / s ** 2}.get(slip, lambda x: -e(x) / s)
        step = {"same": eps, "not squared": eps * s}.get(slip, eps * s ** 2)
        drift = step / 2 if slip == "slides" else step
        root = {"slides": np.sqrt(step), "root": np.sqrt(step), "none": 0.0}.get(slip, np.sqrt(2 * step))
        for t in range(1 if slip == "one step" else Z.shape[1]):
            y = y + drift * force(y) + root * Z[i, t]
    return y


def eps_hat_for(mix, sigmas):
    """The optimal noise prediction for the noised mixture at level i (checking its arguments)."""
    def eps_hat(y, i):
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)) or not 0 <= i < len(sigmas):
            raise ValueError(f"eps_hat(y, i): i must be a level index, an int from 0 to {len(sigmas) - 1}; got {i!r}.")
        y = np.asarray(y, dtype=float)
        if y.ndim != 2 or y.shape[1] != mix[1].shape[1]:
            raise ValueError(f"eps_hat(y, i): y must have shape (C, {mix[1].shape[1]}); got {y.shape}.")
        s = float(sigmas[i])
        return -s * noised_force(mix, s ** 2, y)
    return eps_hat


# --- slip tables: what named wrong derivations give on one hidden problem (some entries are one step
# from the reference, so they live here, out of the checker module's reach) ---

def chain_slips(B, G, s0, v0):
    """Named wrong derivations on one chain: (hints on S, hints on C)."""
    clean = "you started the chain from the clean datum; level 0 here is already noised, with scale s0 and sd v0"
    d = B.shape[1]
    return ({clean: chain_run(B, G, 1.0, 0.0)[0],
             "you multiplied the one-step matrices in the wrong order (the last step acts last, from the left)":
                 chain_run(B, G, s0, v0, scale_step=lambda b, S: S @ b)[0]},
            {"you left out level 0's noise v0 (the chain does not start from the clean datum)":
                 chain_run(B, G, s0, 0.0)[1],
             "your level 0 covariance is v0 I; v0 is a standard deviation": chain_run(B, G, s0, np.sqrt(v0))[1],
             "you propagated the covariance with B^T on the left and B on the right":
                 chain_run(B, G, s0, v0, var_step=lambda b, C: b.T @ C @ b)[1],
             "you multiplied the previous covariance by B on both sides without transposing one":
                 chain_run(B, G, s0, v0, var_step=lambda b, C: b @ C @ b)[1],
             "you multiplied the previous covariance by B once only":
                 chain_run(B, G, s0, v0, var_step=lambda b, C: b @ C)[1],
             "you squared B entry by entry; the chain mixes coordinates":
                 chain_run(B, G, s0, v0, var_step=lambda b, C: (b ** 2) @ C)[1],
             "you added the one-step covariances up without passing the earlier ones through the later steps":
                 v0 ** 2 * np.eye(d) + np.concatenate([np.zeros((1, d, d)), np.cumsum(G, axis=0)])})


def mean_loss_slips(v, rho, l, x0, z, mu) -> dict:
    """Named wrong derivations of Eq. 8.39's summand on one problem (the trace-term entry is the reference
    plus d/2, so this table must not be reachable from the checker module)."""
    d = x0.shape[1]
    ref = mean_loss(v, rho, l, x0, z, mu)
    return {"you used the forward step's variance gamma_l^2 (DDPM's beta_t) as sigma_l^2, not the variance of "
            "Eq. 8.38": mean_loss(v, rho, l, x0, z, mu, var="forward"),
            "you dropped the 1/2 in front of 1 / sigma_l^2": mean_loss(v, rho, l, x0, z, mu, half=False),
            "you kept the trace term of identity B.13, which is a constant": ref + 0.5 * d,
            "your x_l has noise z where Eq. 8.43 has v_l z": mean_loss(v, rho, l, x0, z, mu, noise_scale=False),
            "you used rho where Eq. 8.38 has rho^2": mean_loss(v, rho, l, x0, z, mu, sq=False),
            "you put level l's v and rho where Eq. 8.38 (with l - 1 and l) has v_(l-1) and rho_(l-1)":
                mean_loss(v, rho, l, x0, z, mu, prev=False),
            "you averaged the squared error over the coordinates; Eq. 8.39 has the squared norm": ref / d}


def reverse_step_slips(sched, l, x, e, z) -> dict:
    """What named wrong derivations return on one problem."""
    names = {
        "noise at 1": "you added noise at the last step (l = 1)",
        "mean at 1": "at the last step (l = 1) you returned the mean of the reverse transition; re-read what the "
                     "sampler returns there",
        "forward": "you used the forward step's variance gamma_l^2 (DDPM's beta_t) as sigma_l^2",
        "variance": "you multiplied z by the variance sigma_l^2 instead of the standard deviation",
        "as force": "you read the noise prediction as the force f_hat",
        "sign": "the noise prediction enters your m_hat with the wrong sign",
        "no v": "you left v_l out when you solved Eq. 8.43 for the clean datum",
        "ddpm": "you used DDPM's formulas, which hold only for a variance-preserving schedule (this one is not)",
    }
    return {text: reverse_step(sched, l, x, e, z, slip) for slip, text in names.items()}


def langevin_slips(mix, sigmas, y0, eps, Z) -> dict:
    """What named wrong samplers return on one problem."""
    names = {
        "sign": "your score has the wrong sign: it is built from the noise prediction the wrong way round",
        "times": "you multiplied the noise prediction by sigma_i where the score divides it",
        "square": "you divided the noise prediction by sigma_i^2 where the score divides it by sigma_i",
        "same": "you used the same step eps at every level",
        "not squared": "your step grows with sigma_i, not with its square",
        "root": "you scaled the noise by the square root of the step, with the drift of Eq. 8.44 "
                "(which needs the square root of twice the step)",
        "slides": "you took the slides' step with alpha set to the step of Step 4; that step is the epsilon of "
                  "Eq. 8.44, and the slides' alpha is twice it",
        "none": "you left the noise out: that is gradient ascent, not Langevin dynamics",
        "restart": "each level started again from y0 instead of where the previous level stopped",
        "reversed": "you ran the levels from the smallest sigma to the largest",
        "one step": "you took one step per level; Z holds n_steps draws for each level",
    }
    return {text: langevin_run(mix, sigmas, y0, eps, Z, slip) for slip, text in names.items()}
