r"""Two-dimensional data for the diffusion notebooks, and a sample-quality score.

* :func:`ring_mixture`: :math:`K` equal Gaussians on a circle, a mixture whose noised marginals
  and forces are known exactly (:mod:`pedagogy_lib.diffusion.sampling`).
* :func:`two_moons`: two interleaved half circles with Gaussian jitter.
* :func:`nn_distance_ratio`: how far generated points lie from held-out data, relative to how
  far fresh data lie from the same held-out data (1 is perfect; large means off the data).
"""
from __future__ import annotations

import numpy as np

from ..core.checks import as_array, check_int, check_rng, positive_scalar
from ..mixture.model import GMMParams, gmm_params

__all__ = ["ring_mixture", "two_moons", "nn_distance_ratio"]


def ring_mixture(K: int = 8, radius: float = 2.0, std: float = 0.2) -> GMMParams:
    r"""``K`` equally weighted isotropic Gaussians of standard deviation ``std`` at angles :math:`2\pi k/K` on a circle."""
    K = check_int(K, "K", minimum=1)
    radius = positive_scalar(radius, "radius", strict=False)
    std = positive_scalar(std, "std")
    ang = 2 * np.pi * np.arange(K) / K
    mu = radius * np.column_stack([np.cos(ang), np.sin(ang)])
    return gmm_params(np.full(K, 1.0 / K), mu, np.array([std ** 2 * np.eye(2)] * K))


def two_moons(rng: np.random.Generator, N: int, noise: float = 0.08) -> np.ndarray:
    """``N`` points of the two-moons set, centred and scaled to roughly unit spread, shape (N, 2)."""
    rng = check_rng(rng)
    N = check_int(N, "N", minimum=1)
    noise = positive_scalar(noise, "noise", strict=False)
    upper = rng.random(N) < 0.5
    t = np.pi * rng.random(N)
    x = np.where(upper, np.cos(t), 1.0 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    X = np.column_stack([x - 0.5, y - 0.25]) * 1.5
    return X + noise * rng.standard_normal((N, 2))


def _nn_dist(A, B):
    out = np.empty(A.shape[0])
    for i0 in range(0, A.shape[0], 512):
        a = A[i0:i0 + 512]
        d2 = np.sum(a ** 2, 1)[:, None] - 2 * a @ B.T + np.sum(B ** 2, 1)[None, :]
        out[i0:i0 + 512] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def nn_distance_ratio(samples, held_out, reference) -> float:
    r"""Median distance from each sample to its nearest held-out point, over the same median for ``reference`` (fresh data).

    Parameters
    ----------
    samples, reference : array_like, shape (N, d)
        Use the same ``N`` for both, so that the two medians are comparable.
    held_out : array_like, shape (M, d)
    """
    samples = as_array(samples, "samples", ndim=2, dims="(N, d)", nonempty=True)
    d = samples.shape[1]
    held_out = as_array(held_out, "held_out", shape=(None, d), dims="(M, d)", nonempty=True)
    reference = as_array(reference, "reference", shape=(None, d), dims="(N, d)", nonempty=True)
    return float(np.median(_nn_dist(samples, held_out)) / np.median(_nn_dist(reference, held_out)))
