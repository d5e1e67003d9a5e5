"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch07_gmm_em`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np


def mahal_variants(p) -> tuple:
    """The limit labels and the slips' (ties: lowest index), and the own-metric distances."""
    K = p.mu.shape[0]

    def nearest(metrics):
        return np.array([int(np.argmin([float((yn - p.mu[k]) @ metrics[k] @ (yn - p.mu[k])) for k in range(K)]))
                         for yn in p.y])

    precisions = [np.linalg.inv(S) for S in p.Sigma]
    d2 = np.array([[float((yn - p.mu[k]) @ precisions[k] @ (yn - p.mu[k])) for k in range(K)] for yn in p.y])
    logdet = np.array([np.linalg.slogdet(S)[1] for S in p.Sigma])
    out = {"limit": nearest(precisions), "euclid": nearest([np.eye(p.mu.shape[1])] * K),
           "sigma": nearest(list(p.Sigma)),
           "s=1": np.argmax(np.log(p.pi) - 0.5 * logdet - 0.5 * d2, axis=1)}
    for j, S in enumerate(list(p.Sigma) + [np.mean(p.Sigma, axis=0)]):
        out[f"shared {j}"] = nearest([np.linalg.inv(S)] * K)
    return out, d2


def m_step_variants(p) -> dict:
    """The spherical M step with explicit sums, and what typical slips give."""
    y, r = p.y, p.r
    N, L = y.shape
    K = r.shape[1]
    N_k = np.array([sum(r[n, k] for n in range(N)) for k in range(K)])
    mu = np.array([sum(r[n, k] * y[n] for n in range(N)) / N_k[k] for k in range(K)])
    # sum_n r_nk |y_n - mu_k|^2: the trace of the page's weighted scatter
    sq = np.array([sum(r[n, k] * float((y[n] - mu[k]) @ (y[n] - mu[k])) for n in range(N)) for k in range(K)])
    raw = np.array([sum(r[n, k] * float(y[n] @ y[n]) for n in range(N)) for k in range(K)])
    ybar = y.mean(axis=0)
    plain = float(np.mean(np.sum((y - ybar) ** 2, axis=1))) / L
    return {
        "pi": {"correct": N_k / N,
               "you returned the soft counts N_k without dividing by N": N_k},
        "mu": {"correct": mu,
               "you divided the weighted sum by N instead of by the soft count N_k": mu * N_k[:, None] / N,
               "you ignored the responsibilities (every mean is the plain data mean)": np.tile(ybar, (K, 1))},
        "sigma2": {"correct": sq / (L * N_k),
                   "you differentiated log|sigma_k^2 I| as if it were log sigma_k^2: recheck the determinant "
                   "of sigma_k^2 I": sq / N_k,
                   "you returned standard deviations; the exercise asks for the variances sigma_k^2":
                       np.sqrt(sq / (L * N_k)),
                   "you divided by N_k - 1 (the unbiased estimator): the M step divides by the soft count":
                       sq / (L * (N_k - 1)),
                   "you divided by N instead of by the soft count N_k": sq / (L * N),
                   "you pooled the two components' scatter into one variance; each component has its own":
                       np.full(K, sq.sum() / (L * N)),
                   "you forgot to subtract the mean: that is a weighted second moment about the origin":
                       raw / (L * N_k),
                   "you ignored the responsibilities (every variance is that of the whole data set)":
                       np.full(K, plain)},
    }


def nearest_loop(y, mu, metric=None):
    """Index of the nearest centre for every row of ``y``, by an explicit loop (ties: lowest index)."""
    labels = np.empty(y.shape[0], dtype=int)
    for n in range(y.shape[0]):
        best, best_d = 0, np.inf
        for k in range(mu.shape[0]):
            d = y[n] - mu[k]
            dist = float(d @ d) if metric is None else float(d @ metric @ d)
            if dist < best_d:                              # strict: the first of tied centres is kept
                best, best_d = k, dist
        labels[n] = best
    return labels


def farthest_loop(y, mu):
    """Index of the farthest centre for every row of y (a named slip)."""
    return np.array([int(np.argmax([float((yn - m) @ (yn - m)) for m in mu])) for yn in y])


def n_params(K: int, L: int, covariance_type: str) -> int:
    """Free parameters: K - 1 weights, K L mean entries, and the covariance entries."""
    cov = {"full": K * L * (L + 1) // 2, "diag": K * L, "tied": L * (L + 1) // 2}[covariance_type]
    return (K - 1) + K * L + cov
