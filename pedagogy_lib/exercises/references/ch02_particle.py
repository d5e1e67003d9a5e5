"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch02_particle`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.special import logsumexp
from scipy.special import softmax as _normalized


def weight_parts(p):
    """(likelihood, transition density, proposal density) of every particle."""
    lik = stats.norm(loc=p.x, scale=p.sigma_y).pdf(p.y_t)                       # p(y_t | x_t^(j))
    trans = stats.norm(loc=p.a * p.x_prev, scale=p.sigma_x).pdf(p.x)            # p(x_t^(j) | x_{t-1}^(j))
    prop = stats.norm(loc=p.y_t, scale=p.sigma_q).pdf(p.x)                      # q(x_t^(j))
    return lik, trans, prop


def weights_of(p) -> np.ndarray:
    """The normalized importance weights of every particle."""
    lik, trans, prop = weight_parts(p)
    w = lik * trans / prop
    return w / w.sum()


def reference_backward(p) -> tuple[np.ndarray, float]:
    """(beta_{t-1}, the smoothed cross moment) of a backward step ``p``, pair by pair from Eq. 2.60."""
    I = p.x_prev.shape[0]
    beta_prev, cross = np.zeros(I), 0.0
    for k in range(I):
        M_k = stats.norm(loc=p.a * p.x_prev, scale=p.sigma_x).pdf(p.x_next[k])   # p(x_t^k | x_{t-1}^j)
        pair = p.beta_next[k] * p.alpha_prev * M_k / np.sum(p.alpha_prev * M_k)
        beta_prev += pair
        cross += float(pair @ p.x_prev) * p.x_next[k]
    return beta_prev, cross


def bootstrap_variant(params, y, eps, u, *, resample=True, transposed=False):
    """The bootstrap filter written out step by step, one named slip switched on; returns (x, log-likelihoods,
    normalized log weights)."""
    T, I, n = eps.shape
    L1, Lx = np.linalg.cholesky(params.Sigma1), np.linalg.cholesky(params.Sigma_x)
    if transposed:
        L1, Lx = L1.T, Lx.T
    S_inv = np.linalg.inv(params.Sigma_y_x)
    log_norm = -0.5 * (len(params.c) * np.log(2 * np.pi) + np.linalg.slogdet(params.Sigma_y_x)[1])
    x, log_lik, log_alpha = np.empty((T, I, n)), np.empty((T, I)), np.empty((T, I))
    for t in range(T):
        if t == 0:
            x[0] = params.mu1 + eps[0] @ L1.T
        else:
            parents = np.arange(I)
            if resample:
                cum = np.cumsum(np.exp(log_alpha[t - 1]))
                parents = np.minimum(np.searchsorted(cum / cum[-1], u[t - 1], side="right"), I - 1)
            x[t] = x[t - 1, parents] @ params.A.T + params.a + eps[t] @ Lx.T
        r = y[t] - x[t] @ params.C.T - params.c
        log_lik[t] = log_norm - 0.5 * np.einsum("im,mk,ik->i", r, S_inv, r)
        log_alpha[t] = log_lik[t] - logsumexp(log_lik[t])
    return x, log_lik, log_alpha


def growth_problem():
    """The page's nonlinear growth model and its data (x, y), built as the page builds them."""
    from ...smc import particle

    def drift(x, t):
        return 0.5 * x + 25 * x / (1 + x**2) + 8 * np.cos(1.2 * (t + 1))

    model = particle.StateSpaceModel(
        sample_initial=lambda rng, n: rng.normal(0.0, np.sqrt(5.0), size=(n, 1)),
        sample_transition=lambda rng, x_prev, t: drift(x_prev, t) + rng.normal(0.0, np.sqrt(10.0),
                                                                               size=x_prev.shape),
        log_lik=lambda y_t, x, t: stats.norm(x[:, 0]**2 / 20, 1.0).logpdf(y_t),
        log_transition=lambda x_next, x_prev, t: stats.norm(drift(x_prev[:, 0], t)[None, :],
                                                            np.sqrt(10.0)).logpdf(x_next[:, 0][:, None]),
    )
    T = 40
    rng = np.random.default_rng(11)
    x = np.zeros(T)
    x[0] = rng.normal(0, np.sqrt(5))
    for s in range(1, T):
        x[s] = drift(x[s - 1], s) + rng.normal(0, np.sqrt(10))
    y = x**2 / 20 + rng.normal(0, 1, T)
    return model, x, y


#: The runs of :func:`rate_runs`, made once per process for each grid, seeds and reference.
_RATE_CACHE: dict = {}


def rate_runs(grid, seeds, reference):
    """(reference means (T,), true states (T,), means of every (I, seed) run), rerun here once: particle numbers
    ``grid``, seeds ``seeds``, the reference run's (particles, seed) ``reference``."""
    key = (tuple(grid), tuple(seeds), tuple(reference))
    if key not in _RATE_CACHE:
        from ...smc import particle

        model, x, y = growth_problem()

        def means(n, seed):
            run = particle.particle_filter(model, y, np.random.default_rng(seed), n)
            return np.einsum("ti,tin->tn", np.exp(run.log_alpha), run.x)[:, 0]

        ref = means(*reference)
        runs = np.array([[means(n, s) for s in seeds] for n in grid])
        _RATE_CACHE[key] = (ref, x, runs)
    return _RATE_CACHE[key]


# --- slip tables: what named wrong derivations give on one hidden problem (some entries are one step
# from the reference, so they live here, out of the checker module's reach) ---

def weight_slips(p) -> dict:
    lik, trans, prop = weight_parts(p)

    def norm(w):
        return w / w.sum()

    return {
        "you used the likelihood alone, the bootstrap filter's weights (Eq. 2.59): these particles were not "
        "drawn from the transition": norm(lik),
        "you left out the transition density": norm(lik / prop),
        "you left out the proposal density": norm(lik * trans),
        "you multiplied by the proposal density": norm(lik * trans * prop),
        "you left out the likelihood": norm(trans / prop),
        "you forgot to normalize": lik * trans / prop,
        "you used the standard deviation where the variance belongs in the likelihood":
            _normalized(-0.5 * (p.y_t - p.x) ** 2 / p.sigma_y + np.log(trans / prop)),
        "you returned uniform weights (the weights after resampling, before the new particles were drawn)":
            np.full(p.x.shape[0], 1 / p.x.shape[0]),
    }


def bootstrap_slips(params, y, eps, u):
    """(particle hints, log-weight hints, evidence hints) of named wrong filters on one problem."""
    I = eps.shape[1]
    x, log_lik, _ = bootstrap_variant(params, y, eps, u)
    x_nr, lik_nr, la_nr = bootstrap_variant(params, y, eps, u, resample=False)
    x_tr, lik_tr, la_tr = bootstrap_variant(params, y, eps, u, transposed=True)
    never = "you never resampled: each particle moved on from its own predecessor (Eq. 2.57 picks ancestors first)"
    trans = ("you multiplied the noise by the transposed Cholesky factor: with the draws in rows, x = mu + eps @ L.T "
             "has covariance L L^T")
    return ({never: x_nr, trans: x_tr},
            {never: la_nr, trans: la_tr,
             "your log weights are not normalized: subtract each step's log-sum-exp (Eq. 2.59)": log_lik},
            {never: float(np.sum(logsumexp(lik_nr, axis=1))) - lik_nr.shape[0] * np.log(I),
             trans: float(np.sum(logsumexp(lik_tr, axis=1))) - lik_tr.shape[0] * np.log(I),
             "each factor of your evidence misses the 1/I of the average over the particles (Eq. 2.40)":
                 float(np.sum(logsumexp(log_lik, axis=1)))})
