r"""How well did the chains mix? Autocorrelation, effective sample size, Monte Carlo standard error, R-hat.

For ``C`` chains of length ``T``, the autocorrelation at lag :math:`t` is pooled across chains
with the multi-chain variance estimate

.. math::
    \hat V^+ = \tfrac{T-1}{T}W + \tfrac1T B, \qquad
    \hat\rho_t = 1 - \frac{W - \overline{\gamma_t}}{\hat V^+},

where :math:`W` is the mean within-chain variance, :math:`B/T` the variance of the chain means and
:math:`\overline{\gamma_t}` the mean within-chain autocovariance. The effective sample size is
:math:`CT/\hat\tau` with :math:`\hat\tau = -1 + 2\sum_k P_k`, summing Geyer's pair sums
:math:`P_k = \hat\rho_{2k}+\hat\rho_{2k+1}` while they stay positive, made monotone (Geyer 1992;
the form Stan and ArviZ use). R-hat is the split version: each chain is cut in half and
:math:`\hat R = \sqrt{\hat V^+/W}` over the :math:`2C` halves; values near 1 say the chains agree.
"""
from __future__ import annotations

import numpy as np

from ..core.checks import as_array

__all__ = ["autocorrelation", "ess", "mcse", "rhat"]


def _trace(trace, name="trace", min_chains=1):
    arr = as_array(trace, name)
    if arr.ndim not in (2, 3):
        raise ValueError(f"{name} must have shape (T, C) or (T, C, D) (steps, chains, coordinates); "
                         f"got {arr.shape}.")
    if arr.shape[1] < min_chains:
        raise ValueError(f"{name} must hold at least {min_chains} chains (axis 1, C) for this diagnostic; "
                         f"got C = {arr.shape[1]}.")
    if arr.shape[0] < 4:
        raise ValueError(f"{name} must have at least 4 steps (axis 0, T); got T = {arr.shape[0]}.")
    return arr if arr.ndim == 3 else arr[:, :, None]


def _centred(x):
    """``(centred, dev)``: ``x`` centred per coordinate and divided by its largest deviation ``dev`` (0 for a
    constant coordinate, left as zeros). Every step is scaled: the draws are divided by their largest
    magnitude before the mean is taken, so neither the sums of a trace of size ``1e300`` overflow nor the
    squares of one of size ``1e-300`` underflow (issue 53)."""
    mag = np.abs(x).max(axis=(0, 1))
    mag = np.where(mag > 0.0, mag, 1.0)
    u = x / mag
    centred = u - u.mean(axis=(0, 1))
    dev_u = np.abs(centred).max(axis=(0, 1))
    safe = np.where(dev_u > 0.0, dev_u, 1.0)
    return centred / safe, dev_u * mag


def _standardized(x, name="trace"):
    """``x`` centred and divided, per coordinate, by its largest deviation: the diagnostics below are
    scale invariant, and this keeps their products of deviations from underflowing (or overflowing).
    A constant coordinate (every draw equal) has no autocorrelation: refused."""
    centred, dev = _centred(x)
    if np.any(dev == 0.0):
        d = int(np.argmax(dev == 0.0))
        raise ValueError(f"{name} is constant in coordinate {d} (every draw equal: a stuck sampler?); its "
                         "autocorrelation, ESS and R-hat are undefined.")
    return centred


def _autocov(x):
    """Autocovariances of each chain, by FFT: ``x`` (T, C, D) -> (T, C, D), lag 0 first (biased, /T)."""
    T = x.shape[0]
    d = x - x.mean(axis=0)
    n = 1 << int(np.ceil(np.log2(2 * T)))
    F = np.fft.rfft(d, n=n, axis=0)
    return np.fft.irfft(F * np.conj(F), n=n, axis=0)[:T] / T


def autocorrelation(trace) -> np.ndarray:
    r"""Pooled autocorrelation :math:`\hat\rho_t` for lags ``0..T-1``; shape ``(T, D)`` (``(T,)`` for a 2-D trace).

    Raises
    ------
    ValueError
        If ``trace`` is not a finite ``(T, C)`` or ``(T, C, D)`` array with ``T >= 4``, or a coordinate
        is constant (its autocorrelation is undefined).
    """
    x = _standardized(_trace(trace))
    rho = _rho(x)
    return rho if np.ndim(trace) == 3 else rho[:, 0]


def _rho(x):
    T, C, _ = x.shape
    acov = _autocov(x)
    W = acov[0].mean(axis=0) * T / (T - 1.0)                  # mean within-chain variance (unbiased)
    B_over_T = x.mean(axis=0).var(axis=0, ddof=1) if C > 1 else 0.0
    var_plus = (T - 1.0) / T * W + B_over_T
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - (W - acov.mean(axis=1)) / var_plus


def ess(trace) -> np.ndarray:
    """Effective sample size per coordinate, over all chains (shape ``(D,)``, or a float for a 2-D trace).

    Raises
    ------
    ValueError
        As :func:`autocorrelation`.
    """
    x = _standardized(_trace(trace))
    T, C, D = x.shape
    rho = _rho(x)
    out = np.empty(D)
    for d in range(D):
        r = rho[:, d]
        if not np.isfinite(r[1]):                             # a constant trace: no information
            out[d] = np.nan
            continue
        n_pairs = T // 2
        P = r[0:2 * n_pairs:2] + r[1:2 * n_pairs:2]
        k = 1
        while k < n_pairs and P[k] > 0.0:                     # initial positive sequence
            k += 1
        P = np.minimum.accumulate(P[:k])                      # initial monotone sequence
        tau = max(-1.0 + 2.0 * P.sum(), 1.0 / np.log10(T * C))  # Stan's floor on tau
        out[d] = C * T / tau
    return out if np.ndim(trace) == 3 else float(out[0])


def mcse(trace) -> np.ndarray:
    r"""Monte Carlo standard error of the mean, :math:`\hat\sigma/\sqrt{\mathrm{ESS}}`, per coordinate.

    A constant coordinate (every draw equal; its ESS is undefined) has standard error 0. Scale
    equivariant at every scale: the standard deviation is taken of the standardized draws and
    multiplied back, so a trace of size ``1e-300`` (whose squares underflow) or ``1e300`` (whose
    squares overflow) gets the standard error of the same trace at size 1, times its scale.
    """
    x = _trace(trace)
    centred, dev = _centred(x)
    varying = dev > 0.0
    out = np.zeros(x.shape[2])
    if varying.any():
        sd = centred[:, :, varying].reshape(-1, int(varying.sum())).std(axis=0, ddof=1)
        out[varying] = dev[varying] * (sd / np.sqrt(ess(x[:, :, varying])))
    return out if np.ndim(trace) == 3 else float(out[0])


def rhat(trace) -> np.ndarray:
    r"""Split :math:`\hat R` per coordinate; needs at least two chains (``C >= 2``).

    ``inf`` when every chain is constant but the chains disagree (no mixing at all).

    Raises
    ------
    ValueError
        If ``trace`` is not a finite ``(T, C)`` or ``(T, C, D)`` array with ``T >= 4`` and ``C >= 2``,
        or a coordinate is constant over all draws.
    """
    x = _standardized(_trace(trace, min_chains=2))
    T = x.shape[0] // 2
    halves = np.concatenate([x[:T], x[x.shape[0] - T:]], axis=1)   # (T, 2C, D)
    W = halves.var(axis=0, ddof=1).mean(axis=0)
    B_over_T = halves.mean(axis=0).var(axis=0, ddof=1)
    var_plus = (T - 1.0) / T * W + B_over_T
    out = np.sqrt(var_plus / W)
    return out if np.ndim(trace) == 3 else float(out[0])
