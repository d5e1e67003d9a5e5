"""Small binary data sets for the harmonium notebooks and tests, generated or shipped with scikit-learn.

* :func:`bars_and_stripes`: every ``n x n`` image whose rows are all equal or whose columns are
  all equal (``2**(n+1) - 2`` distinct images), a classic test for small Boltzmann machines;
* :func:`binarized_digits`: scikit-learn's 8 x 8 handwritten digits (1797 images, in the wheel,
  nothing downloaded) thresholded at 7 of 16;
* :func:`moving_bars`: sequences of a bar moving back and forth, for the recurrent models.
"""
from __future__ import annotations

import numpy as np

from ..core.checks import as_array, as_scalar, check_int, check_rng

__all__ = ["bars_and_stripes", "binarized_digits", "moving_bars"]


def bars_and_stripes(n: int) -> np.ndarray:
    """The ``2**(n+1) - 2`` distinct bars-and-stripes images of size ``n x n``, flattened row by row."""
    n = check_int(n, "n", minimum=2, maximum=5)
    rows = ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1).astype(float)
    horizontal = np.repeat(rows, n, axis=1)                  # every pixel of row i equals rows[:, i]
    vertical = np.tile(rows, (1, n))                          # every pixel of column j equals rows[:, j]
    images = np.unique(np.vstack([horizontal, vertical]), axis=0)
    return images


def binarized_digits(threshold: float = 7.0):
    """scikit-learn's digits as binary images ``(1797, 64)`` (pixel > ``threshold``) and their labels.

    Raises
    ------
    ValueError, TypeError
        If ``threshold`` is not a finite real number.
    """
    threshold = as_scalar(threshold, "threshold")
    from sklearn.datasets import load_digits
    d = load_digits()
    return (d.data > threshold).astype(float), d.target


def moving_bars(n_sequences: int, T: int, M: int, rng, *, width: int = 2, flip: float = 0.02) -> np.ndarray:
    """Binary sequences of a bar of ``width`` pixels that moves one pixel per step on ``M`` pixels,
    bouncing off the ends, each pixel flipped with probability ``flip``. Shape ``(n_sequences, T, M)``."""
    rng = check_rng(rng)
    n_sequences = check_int(n_sequences, "n_sequences", minimum=1)
    T = check_int(T, "T", minimum=2)
    M = check_int(M, "M", minimum=2)
    width = check_int(width, "width", minimum=1, maximum=M - 1)
    flip = float(as_array(flip, "flip", ndim=0))
    if not 0.0 <= flip < 0.5:
        raise ValueError(f"flip must lie in [0, 0.5); got {flip}.")
    n_pos = M - width + 1
    out = np.zeros((n_sequences, T, M))
    for s in range(n_sequences):
        pos = int(rng.integers(n_pos))
        vel = 1 if rng.random() < 0.5 else -1
        for t in range(T):
            out[s, t, pos:pos + width] = 1.0
            if not 0 <= pos + vel < n_pos:
                vel = -vel
            pos += vel
    noise = rng.random(out.shape) < flip
    return np.where(noise, 1.0 - out, out)
