r"""InfoMax independent-components analysis for a square, invertible unmixing matrix (book Section 5.2.1).

The discriminative map of Eq. 5.27 is linear, followed by an element-wise squashing function,

.. math:: \check{\mathbf x} = \mathbf D\mathbf y, \qquad \check z_k = \psi(\check x_k),
          \qquad \psi(x) = \frac{1}{1+e^{-x}},

with :math:`\mathbf D` square and full rank. Because the map is invertible, the mutual information
between :math:`\mathbf Y` and :math:`\check{\mathbf Z}` differs from the output entropy
:math:`H[\check{\mathbf Z}]` by a constant (Eq. 5.24), and the change of variables (Eq. 5.25)
turns maximizing it into maximum likelihood under the model density of Eq. 5.26,

.. math:: \hat p(\mathbf y;\mathbf D) = \prod_{k=1}^K \psi'(\mathbf d_k^T\mathbf y)\,|\mathbf D|,

where :math:`\mathbf d_k^T` is the :math:`k`-th row of :math:`\mathbf D` and
:math:`\psi' = \psi(1-\psi)` is the logistic *density*. So InfoMax fits a linear model
:math:`\mathbf y = \mathbf D^{-1}\check{\mathbf x}` whose sources are independent and logistic: a
super-Gaussian prior (positive excess kurtosis).

**Objective.** The code maximizes the sample average of :math:`\log\hat p` (Eq. 5.26),

.. math:: \mathcal J(\mathbf D) = \Big\langle \sum_k \log\psi'(\mathbf d_k^T\mathbf Y)\Big\rangle_{\mathbf Y}
          + \log|\det\mathbf D| = H[\check{\mathbf Z}] - H[\mathbf Y],

the negative of the draft's loss in Eq. 5.28 (the data entropy :math:`H[\mathbf Y]` does not depend
on :math:`\mathbf D`).

**Gradient** (Eq. 5.28 with its sign flipped for ascent). With :math:`\frac{d}{dx}\log\psi'(x) = 1-2\psi(x)`,

.. math:: \frac{d\mathcal J}{d\mathbf D} = \big\langle(\mathbf 1-2\psi(\mathbf D\mathbf Y))\mathbf Y^T\big\rangle_{\mathbf Y}
          + \mathbf D^{-T}.

Row :math:`k` of the first term is :math:`\langle(1-2\psi(\mathbf d_k^T\mathbf Y))\mathbf Y^T\rangle`, the
derivative with respect to the row :math:`\mathbf d_k^T`. The draft writes the per-sample term as
:math:`\mathbf y(\mathbf 1-2\psi(\mathbf D\mathbf y))^T`, its transpose (Section 5.2.1, the line after
the logistic derivative).

**Fixed point, corrected.** Setting the gradient to zero and using :math:`2\psi(x)-1 = \tanh(x/2)`:

.. math:: \mathbf D^{T} = \big\langle\tanh(\mathbf D\mathbf Y/2)\,\mathbf Y^T\big\rangle^{-1}
          \quad\Longleftrightarrow\quad
          \mathbf D = \big\langle\mathbf Y\tanh(\mathbf D\mathbf Y/2)^T\big\rangle^{-1}.

The draft states :math:`\mathbf D = \langle\tanh(\mathbf D\mathbf Y/2)\mathbf Y^T\rangle^{-1}`, the
transpose; at a true optimum its right-hand side equals :math:`\mathbf D^T`, so the draft's equation
holds only if the optimal :math:`\mathbf D` happens to be symmetric. For Gaussian data every
:math:`\mathbf D = \lambda\,\mathbf R\langle\mathbf Y\mathbf Y^T\rangle^{-1/2}` with :math:`\mathbf R` a rotation
solves the corrected equation (whitening, determined only up to rotation), where :math:`\lambda\approx1.75`
solves :math:`\E[\tanh(\lambda s/2)\lambda s] = 1` for a standard normal :math:`s`. The draft's
:math:`\sqrt2` comes from replacing :math:`\tanh(u)` by :math:`u`, but that regime is never reached:
whatever the scale of the data, :math:`\mathbf D` rescales the outputs to unit order.

**Natural (relative) gradient** (Amari; not in the draft). Right-multiplying the gradient by
:math:`\mathbf D^T\mathbf D` removes the matrix inverse and makes the update equivariant,

.. math:: \Delta\mathbf D \propto \frac{d\mathcal J}{d\mathbf D}\mathbf D^T\mathbf D
          = \big(\mathbf I + \langle(\mathbf 1-2\psi(\check{\mathbf X}))\check{\mathbf X}^T\rangle\big)\mathbf D,

with the same fixed points, :math:`\langle\tanh(\check{\mathbf X}/2)\check{\mathbf X}^T\rangle = \mathbf I`.

**Which sources can be separated.** Near a separating solution the off-diagonal entries of
:math:`\mathbf D\mathbf C` (with :math:`\mathbf C` the mixing matrix) evolve in pairs; with the
recovered sources :math:`x_k` scaled so that :math:`\E[\phi(x_k)x_k] = 1` (:math:`\phi(x) = \tanh(x/2)`),
the separating solution is stable if and only if
:math:`c_k = \E[\phi'(x_k)]\,\E[x_k^2] > 1` for every pair (equal source laws). This holds for
Laplace sources (super-Gaussian), fails for uniform ones (sub-Gaussian), and is exactly 1 for
Gaussian sources (rotations are not identifiable). See :func:`stability_constant`.

Layout: as everywhere in this library, data arrays hold one sample per **row**: ``Y`` has shape
``(N, K)`` and is the book's :math:`\mathbf Y^T`; the recovered sources are ``X = Y @ D.T`` (the book's
:math:`\check{\mathbf X}^T`). The mixing matrix is called ``C`` (the emission matrix of the generative
reading, :math:`\mathbf y = \mathbf C\mathbf s`); much of the ICA literature writes :math:`\mathbf W`
for ``D`` and :math:`\mathbf A` for ``C``. The data should have zero mean (the model has no offset).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import integrate, optimize, special, stats

from ..core.checks import (DivergenceError, as_array, check_choice, check_int, check_rng,
                           positive_scalar, to_float_array)

__all__ = [
    "check_unmixing",
    "InfoMaxResult",
    "SOURCES",
    "psi",
    "log_dpsi",
    "log_density",
    "objective",
    "gradient",
    "natural_gradient",
    "fixed_point_rhs",
    "fixed_point_residual",
    "infomax",
    "amari_index",
    "sample_sources",
    "source_kurtosis",
    "rotation",
    "mix",
    "stability_constant",
]

#: Source laws offered by :func:`sample_sources`; all are scaled to unit variance.
SOURCES = ("laplace", "uniform", "gaussian", "logistic", "gennorm")


class InfoMaxResult(NamedTuple):
    r"""Result of :func:`infomax`.

    Attributes
    ----------
    D : ndarray, shape (K, K)
        Final unmixing matrix (Eq. 5.27).
    objective : ndarray, shape (n_epochs + 1,)
        :math:`\mathcal J(\mathbf D)` on the whole data set before the first update and after every
        epoch (Eq. 5.26 averaged; the negative of the loss in Eq. 5.28).
    D_history : ndarray, shape (n_epochs + 1, K, K)
        The unmixing matrix at the same moments.
    n_updates : int
        Number of (minibatch) updates performed.
    """

    D: np.ndarray
    objective: np.ndarray
    D_history: np.ndarray
    n_updates: int


# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------

def _check_Y(Y) -> np.ndarray:
    Y = as_array(Y, "Y", ndim=2, dims="(N, K)")
    if Y.shape[0] == 0 or Y.shape[1] == 0:
        raise ValueError(f"Y must have at least one sample and one dimension; got shape {Y.shape}.")
    return Y


def check_unmixing(D, K: int, name: str = "D", equation: str = "Eq. 5.27") -> np.ndarray:
    """Validate a square unmixing matrix: shape ``(K, K)``, finite, and invertible to working precision
    (the log-determinant of ``equation`` needs full rank); return it as a float array."""
    D = as_array(D, name, shape=(K, K), dims="(K, K)")
    s = np.linalg.svd(D, compute_uv=False)
    if s[-1] <= 1e-12 * max(s[0], 1e-300):
        raise ValueError(f"{name} must be invertible ({equation} needs a full-rank square matrix); its "
                         f"condition number is {s[0] / max(s[-1], 1e-300):.3g}.")
    return D


# ----------------------------------------------------------------------------------------------
# The squashing function and the model density (Eqs. 5.23, 5.26)
# ----------------------------------------------------------------------------------------------

def psi(x):
    r"""The logistic squashing function :math:`\psi(x) = 1/(1+e^{-x})` (Section 5.2.1), element-wise.

    Increasing, as Eq. 5.23 requires of each output nonlinearity, and bounded, with range (0, 1).

    Raises
    ------
    TypeError
        If ``x`` is not real-valued numeric.
    """
    return special.expit(to_float_array(x, "x"))


def log_dpsi(x):
    r""":math:`\log\psi'(x) = \log\psi(x) + \log(1-\psi(x)) = -|x| - 2\log(1+e^{-|x|})`, element-wise.

    :math:`\psi'` is the standard logistic density, so this is the log prior of one source in the
    model of Eq. 5.26. Written in terms of :math:`|x|` so that it never overflows.
    """
    a = np.abs(to_float_array(x, "x"))
    return -a - 2.0 * np.log1p(np.exp(-a))


def _logabsdet(D: np.ndarray) -> float:
    return float(np.linalg.slogdet(D)[1])


def _inv_T(D: np.ndarray) -> np.ndarray:
    """:math:`\\mathbf D^{-T}` by a linear solve (no explicit inverse)."""
    return np.linalg.solve(D.T, np.eye(D.shape[0]))


def log_density(D, Y) -> np.ndarray:
    r"""Per-sample log of the model density of Eq. 5.26, :math:`\log\hat p(\mathbf y_n;\mathbf D)`.

    .. math:: \log\hat p(\mathbf y;\mathbf D) = \sum_k\log\psi'(\mathbf d_k^T\mathbf y) + \log|\det\mathbf D|,

    with the linear map :math:`\check{\mathbf x} = \mathbf D\mathbf y` of Eq. 5.27.

    Parameters
    ----------
    D : array_like, shape (K, K)
    Y : array_like, shape (N, K)
        One sample per row.

    Returns
    -------
    ndarray, shape (N,)
    """
    Y = _check_Y(Y)
    D = check_unmixing(D, Y.shape[1])
    return log_dpsi(Y @ D.T).sum(axis=1) + _logabsdet(D)


def _objective(D, Y):
    return float(log_dpsi(Y @ D.T).sum(axis=1).mean()) + _logabsdet(D)


def objective(D, Y) -> float:
    r"""The InfoMax objective :math:`\mathcal J(\mathbf D) = \langle\log\hat p(\mathbf Y;\mathbf D)\rangle`.

    Equal to the output entropy of Eq. 5.24 minus the (constant) data entropy, by the change of
    variables (see Eq. 5.25), and to minus the loss of Eq. 5.28:

    .. math:: \mathcal J(\mathbf D) = \Big\langle\sum_k\log\psi'(\mathbf d_k^T\mathbf Y)\Big\rangle + \log|\det\mathbf D|.
    """
    Y = _check_Y(Y)
    D = check_unmixing(D, Y.shape[1])
    return _objective(D, Y)


def _gradient(D, Y):
    X = Y @ D.T                                     # recovered sources, one per row
    # 1 - 2 psi(x) written as -tanh(x/2): the difference cancels to exactly 0 for |x| below 1e-17
    return -np.tanh(0.5 * X).T @ Y / Y.shape[0] + _inv_T(D)


def gradient(D, Y) -> np.ndarray:
    r"""Gradient of :func:`objective` with respect to :math:`\mathbf D` (Eq. 5.28, sign flipped, corrected).

    .. math:: \frac{d\mathcal J}{d\mathbf D} = \big\langle(\mathbf 1-2\psi(\mathbf D\mathbf Y))\mathbf Y^T\big\rangle + \mathbf D^{-T}.

    Returns
    -------
    ndarray, shape (K, K)
        Entry ``[k, j]`` is :math:`\partial\mathcal J/\partial D_{kj}`.
    """
    Y = _check_Y(Y)
    D = check_unmixing(D, Y.shape[1])
    return _gradient(D, Y)


def _natural_gradient(D, Y):
    X = Y @ D.T
    K = D.shape[0]
    return (np.eye(K) - np.tanh(0.5 * X).T @ X / Y.shape[0]) @ D       # 1 - 2 psi = -tanh(x/2)


def natural_gradient(D, Y) -> np.ndarray:
    r"""The natural (relative) gradient :math:`\frac{d\mathcal J}{d\mathbf D}\mathbf D^T\mathbf D`.

    .. math:: \big(\mathbf I + \langle(\mathbf 1-2\psi(\check{\mathbf X}))\check{\mathbf X}^T\rangle\big)\mathbf D,
              \qquad \check{\mathbf X} = \mathbf D\mathbf Y.

    It points uphill (it is the gradient times the positive-definite matrix :math:`\mathbf D^T\mathbf D`
    acting on the right) and vanishes exactly where the ordinary gradient does.
    """
    Y = _check_Y(Y)
    D = check_unmixing(D, Y.shape[1])
    return _natural_gradient(D, Y)


def fixed_point_rhs(D, Y, *, form: str = "corrected") -> np.ndarray:
    r"""Right-hand side of the InfoMax fixed-point equation, evaluated at ``D``.

    * ``form="corrected"``: :math:`\langle\mathbf Y\tanh(\mathbf D\mathbf Y/2)^T\rangle^{-1}`, which
      equals :math:`\mathbf D` exactly where the gradient of Eq. 5.28 vanishes;
    * ``form="draft"``: the draft's :math:`\langle\tanh(\mathbf D\mathbf Y/2)\mathbf Y^T\rangle^{-1}`
      (Section 5.2.1, the display after Fig. 5.1), the transpose of the corrected one.

    The inverse is computed with a linear solve.

    Raises
    ------
    ValueError
        If ``D`` or ``Y`` is malformed, ``form`` unknown, or the moment matrix is singular (or its
        inverse overflows float64), for example when ``Y`` does not span all ``K`` dimensions.
    """
    Y = _check_Y(Y)
    D = check_unmixing(D, Y.shape[1])
    check_choice(form, "form", ("corrected", "draft"))
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        M = np.tanh(Y @ D.T / 2.0).T @ Y / Y.shape[0]     # <tanh(DY/2) Y^T>, shape (K, K)
        if form == "corrected":
            M = M.T                                       # <Y tanh(DY/2)^T>
        try:
            rhs = np.linalg.solve(M, np.eye(M.shape[0]))
        except np.linalg.LinAlgError:
            rhs = None
    if rhs is None or not np.all(np.isfinite(rhs)):
        raise ValueError("the moment matrix <Y tanh(DY/2)^T> of D and Y is singular (or its inverse overflows "
                         "float64): Y must span all K dimensions on a moderate scale.")
    return rhs


def fixed_point_residual(D, Y, *, form: str = "corrected") -> float:
    r"""Relative residual :math:`\|\mathbf D - \mathrm{rhs}\|_F/\|\mathbf D\|_F` of :func:`fixed_point_rhs`.

    Raises
    ------
    ValueError
        As :func:`fixed_point_rhs`, and if the residual itself overflows float64 (the right-hand side
        some 1e308 times larger than ``D``). Both norms are taken of the matrices divided by the largest
        entry of ``D``, so the ratio holds for ``D`` on any scale (a norm of entries near 1e-200 or 1e200
        would under- or overflow in its squares).
    """
    rhs = fixed_point_rhs(D, Y, form=form)
    D = np.asarray(D, dtype=float)
    big = float(np.max(np.abs(D)))                          # > 0: D is invertible
    if 1e-100 < big < 1e100:                                # the squares are in float64
        big = 1.0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        res = float(np.linalg.norm(D / big - rhs / big) / np.linalg.norm(D / big))
    if not np.isfinite(res):
        raise ValueError(f"the fixed-point residual overflows float64: the right-hand side (largest entry "
                         f"{float(np.max(np.abs(rhs))):.3g}) is beyond 1e308 times D's largest entry {big:.3g}.")
    return res


# ----------------------------------------------------------------------------------------------
# The learning rule
# ----------------------------------------------------------------------------------------------

def infomax(Y, *, rng, D_init=None, n_epochs: int = 20, batch_size: int | None = 100, lr: float = 0.05,
            method: str = "natural") -> InfoMaxResult:
    r"""Learn the unmixing matrix :math:`\mathbf D` by stochastic gradient ascent on :math:`\mathcal J` (Eq. 5.28).

    Each epoch visits the samples in a fresh random order (drawn from ``rng``) in minibatches of
    ``batch_size`` and takes one step per minibatch,

    .. math:: \mathbf D \leftarrow \mathbf D + \eta\,\mathbf G, \qquad
              \mathbf G = \begin{cases}
              \langle(\mathbf 1-2\psi(\mathbf D\mathbf Y))\mathbf Y^T\rangle_\text{batch} + \mathbf D^{-T}
                & \text{``plain''}\\
              \big(\mathbf I + \langle(\mathbf 1-2\psi(\check{\mathbf X}))\check{\mathbf X}^T\rangle_\text{batch}\big)\mathbf D
                & \text{``natural''}.\end{cases}

    With ``batch_size=None`` every step uses all the data (deterministic gradient ascent), which
    converges to a solution of the fixed-point equation (:func:`fixed_point_rhs`) of the sample.

    Parameters
    ----------
    Y : array_like, shape (N, K)
        Zero-mean mixtures, one sample per row (the book's :math:`\mathbf Y^T`).
    rng : numpy.random.Generator
        Source of the minibatch order (and of nothing else).
    D_init : array_like, shape (K, K), optional
        Starting unmixing matrix; default the identity.
    n_epochs : int
        Number of passes through the data: a fixed budget, with no stopping rule (so no result
        depends on whether a tolerance is met in floating point); :func:`fixed_point_residual`
        measures how far from a solution the run ended.
    batch_size : int or None
        Samples per update, ``1 <= batch_size <= N``; ``None`` for full-batch steps.
    lr : float
        Step size :math:`\eta` (positive).
    method : {"natural", "plain"}
        Natural (relative) gradient, or the plain gradient of Eq. 5.28.

    Returns
    -------
    InfoMaxResult

    Raises
    ------
    ValueError
        If an argument is malformed; a :class:`~pedagogy_lib.core.checks.DivergenceError` (also a
        ``FloatingPointError``) if ``D`` leaves the finite numbers, naming ``lr`` and the scale of ``Y``.
    """
    Y = _check_Y(Y)
    N, K = Y.shape
    rng = check_rng(rng)
    D = np.eye(K) if D_init is None else check_unmixing(D_init, K, "D_init").copy()
    n_epochs = check_int(n_epochs, "n_epochs", minimum=1)
    B = N if batch_size is None else check_int(batch_size, "batch_size", minimum=1, maximum=N)
    lr = positive_scalar(lr, "lr")
    step = {"natural": _natural_gradient, "plain": _gradient}[check_choice(method, "method", ("natural", "plain"))]

    history = [_objective(D, Y)]
    Ds = [D.copy()]
    n_updates = 0
    for _ in range(n_epochs):
        with np.errstate(over="ignore", invalid="ignore"):   # divergence is detected below
            D = _epoch(D, Y, rng, B, lr, step)
        n_updates += -(-N // B)
        if not np.all(np.isfinite(D)) or np.linalg.svd(D, compute_uv=False)[-1] == 0.0:
            raise DivergenceError(f"InfoMax diverged after {n_updates} updates (D is not finite or "
                                  f"singular); reduce lr (now {lr:g}) or rescale Y "
                                  f"(largest |Y| = {np.max(np.abs(Y)):.3g}).")
        history.append(_objective(D, Y))
        Ds.append(D.copy())
    return InfoMaxResult(D, np.asarray(history), np.asarray(Ds), n_updates)


def _epoch(D, Y, rng, B, lr, step):
    """One pass through the data in minibatches of ``B`` (order drawn from ``rng`` when ``B < N``)."""
    N = Y.shape[0]
    order = rng.permutation(N) if B < N else np.arange(N)
    for start in range(0, N, B):
        D = D + lr * step(D, Y[order[start:start + B]])
    return D


# ----------------------------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------------------------

def amari_index(D, C) -> float:
    r"""Amari index of the global matrix :math:`\mathbf P = \mathbf D\mathbf C`, in :math:`[0, 1]`.

    It measures how far :math:`\mathbf P` is from a permuted diagonal matrix. Each row, and each
    column, of :math:`|\mathbf P|` contributes the sum of its entries relative to its largest entry,
    less one (the ratio of what leaks into the other entries to the entry that should carry
    everything); the sum of these :math:`2K` terms is divided by its largest possible value, so the
    index lies in :math:`[0, 1]` for every :math:`K`. It ignores the signs of the entries and a
    common scale. It is 0 exactly when :math:`\mathbf P` is a permuted diagonal matrix, i.e. when
    ``D`` recovers the sources up to order and scale (the only ambiguities of ICA), and 1 for a
    :math:`2\times2` rotation by 45 degrees.

    Parameters
    ----------
    D : array_like, shape (K, K)
        Estimated unmixing matrix (``W`` in much of the ICA literature).
    C : array_like, shape (K, K)
        True mixing matrix, :math:`\mathbf y = \mathbf C\mathbf s` (``A`` in the ICA literature).
    """
    D = as_array(D, "D", ndim=2, dims="(K, K)")
    K = D.shape[0]
    if K < 2 or D.shape[1] != K:
        raise ValueError(f"D must be a square matrix with K >= 2 for the Amari index; got shape {D.shape}.")
    C = as_array(C, "C", shape=(K, K), dims="(K, K)")
    P = np.abs(D @ C)
    if np.any(P.max(axis=1) == 0) or np.any(P.max(axis=0) == 0):
        raise ValueError("D @ C has a zero row or column; D and C must be invertible.")
    rows = (P.sum(axis=1) / P.max(axis=1) - 1.0).sum()
    cols = (P.sum(axis=0) / P.max(axis=0) - 1.0).sum()
    return float((rows + cols) / (2.0 * K * (K - 1)))


# ----------------------------------------------------------------------------------------------
# Sources and mixing
# ----------------------------------------------------------------------------------------------

def _gennorm_var(beta: float) -> float:
    return float(np.exp(special.gammaln(3.0 / beta) - special.gammaln(1.0 / beta)))


def _source_dist(source: str, beta: float | None):
    """A frozen scipy distribution with zero mean and unit variance."""
    if source == "laplace":
        return stats.laplace(scale=1.0 / np.sqrt(2.0))
    if source == "uniform":
        return stats.uniform(loc=-np.sqrt(3.0), scale=2.0 * np.sqrt(3.0))
    if source == "gaussian":
        return stats.norm()
    if source == "logistic":
        return stats.logistic(scale=np.sqrt(3.0) / np.pi)
    return stats.gennorm(beta, scale=1.0 / np.sqrt(_gennorm_var(beta)))


def _check_source(source, beta):
    check_choice(source, "source", SOURCES)
    if source == "gennorm":
        if beta is None:
            raise ValueError("beta (the generalized-normal shape) is required when source='gennorm'.")
        beta = positive_scalar(beta, "beta")
    elif beta is not None:
        raise ValueError(f"beta is only used with source='gennorm'; got beta={beta!r} with source={source!r}.")
    return source, beta


def sample_sources(rng, N: int, K: int, *, source: str = "laplace", beta: float | None = None) -> np.ndarray:
    r"""Draw ``N`` samples of ``K`` independent, zero-mean, unit-variance sources.

    ``source`` is ``"laplace"`` (excess kurtosis 3, super-Gaussian), ``"logistic"`` (super-Gaussian:
    the InfoMax prior itself), ``"gaussian"`` (0), ``"uniform"`` (-1.2, sub-Gaussian) or ``"gennorm"``,
    the generalized normal :math:`p(s)\propto\exp(-|s/\alpha|^\beta)` with shape ``beta``
    (``beta = 1`` Laplace, ``2`` Gaussian, :math:`\to\infty` uniform), which sweeps the kurtosis
    continuously.

    Returns
    -------
    ndarray, shape (N, K)
        The sources :math:`\mathbf s_n^T`, one sample per row.
    """
    rng = check_rng(rng)
    N = check_int(N, "N", minimum=1)
    K = check_int(K, "K", minimum=1)
    source, beta = _check_source(source, beta)
    return np.asarray(_source_dist(source, beta).rvs(size=(N, K), random_state=rng), dtype=float)


def source_kurtosis(source: str = "laplace", beta: float | None = None) -> float:
    """Excess kurtosis of the unit-variance source law used by :func:`sample_sources`."""
    source, beta = _check_source(source, beta)
    return float(_source_dist(source, beta).stats(moments="k"))


def rotation(theta: float) -> np.ndarray:
    r"""The :math:`2\times2` rotation by ``theta`` radians (a convenient mixing matrix)."""
    arr = to_float_array(theta, "theta")
    if arr.ndim != 0 or not np.isfinite(arr):
        raise ValueError(f"theta must be a finite scalar (radians); got {theta!r}.")
    theta = float(arr)
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


def mix(S, C) -> np.ndarray:
    r"""Mix sources with the matrix ``C``: :math:`\mathbf y_n = \mathbf C\mathbf s_n`, returned as rows ``S @ C.T``.

    The generative map of Eq. 9.1 for a linear :math:`\mathbf d`, :math:`\hat{\mathbf y} = \mathbf D^{-1}\hat{\mathbf x}` with :math:`\mathbf C = \mathbf D^{-1}`.
    """
    S = as_array(S, "S", ndim=2, dims="(N, K)", nonempty=True)
    K = S.shape[1]
    C = as_array(C, "C", shape=(K, K), dims="(K, K)")
    return S @ C.T


def stability_constant(source: str = "laplace", beta: float | None = None) -> tuple[float, float]:
    r"""Local-stability constant of the separating solution for i.i.d. sources of one law.

    The recovered source is :math:`x = \lambda s` with :math:`\lambda` fixed by the diagonal of the
    fixed-point equation, :math:`\E[\tanh(\lambda s/2)\,\lambda s] = 1`. Linearizing the
    off-diagonal equations :math:`\langle\tanh(x_i/2)x_j\rangle = 0` around the separating point gives
    the pair :math:`c\,\epsilon_{ij} + \epsilon_{ji} = 0`, :math:`c\,\epsilon_{ji} + \epsilon_{ij} = 0` with

    .. math:: c = \E[\phi'(x)]\,\E[x^2], \qquad \phi(x) = \tanh(x/2),

    and the natural-gradient flow moves :math:`(\epsilon_{ij}\pm\epsilon_{ji})` at rates
    :math:`-(c\pm1)`: the separating solution is stable iff :math:`c > 1`. Computed by quadrature.

    Returns
    -------
    (c, lam) : tuple of float
    """
    source, beta = _check_source(source, beta)
    dist = _source_dist(source, beta)
    lo, hi = dist.support()
    lo, hi = max(lo, -60.0), min(hi, 60.0)

    def E(f):
        return integrate.quad(lambda s: f(s) * dist.pdf(s), lo, hi, points=[0.0], limit=200)[0]

    lam = optimize.brentq(lambda l: E(lambda s: np.tanh(l * s / 2.0) * l * s) - 1.0, 1e-3, 100.0)
    dphi = E(lambda s: 0.5 / np.cosh(lam * s / 2.0) ** 2)
    return float(dphi * lam**2), float(lam)
