r"""EM for sparse coding with Gaussian recognition distributions (book Sections 8.1 and 8.1.1, Eqs. 8.1-8.11).

The generative model is that of Section 2.1.3 (:mod:`pedagogy_lib.factor.sparse_coding`) with the
Laplace prior of Eq. 8.6, :math:`E_k(x_k) = \alpha_k|x_k|`, and the emission
:math:`\hat p(\mathbf y\mid\mathbf x) = \mathcal N(\mathbf C\mathbf x, \mathbf I/\lambda)` (Eq. 8.5), with
:math:`M` emission dimensions and :math:`K` sources. Each datum gets its own recognition distribution
:math:`\check p(\mathbf x\mid\mathbf y_n) = \mathcal N(\boldsymbol\nu_n, \mathbf P_n^{-1})` (Eq. 8.2).

**The free energy.** For any Gaussian :math:`\check p` the joint relative entropy (Eq. 8.1) equals,
up to the data entropy, the average free energy :math:`\mathcal F = \langle F_n\rangle` with

.. math::
    F_n = \underbrace{\tfrac\lambda2\big[\mathrm{tr}(\mathbf C\boldsymbol\Sigma_n\mathbf C^T) + \|\mathbf y_n - \mathbf C\boldsymbol\nu_n\|^2\big]
          + \tfrac M2\log\tfrac\tau\lambda
          + \sum_k\big(\alpha_k\E|\check X_k| + \log\tfrac{2}{\alpha_k}\big)}_{\E[-\log\hat p(\check{\mathbf X},\mathbf y_n)]\ \text{(Eqs. 8.7-8.8)}}
          - \underbrace{\tfrac12\big(K\log\tau + K + \log|\boldsymbol\Sigma_n|\big)}_{\text{entropy}},

:math:`\boldsymbol\Sigma_n = \mathbf P_n^{-1}`. The expectation :math:`\E|\check X_k|` under
:math:`\mathcal N(\nu, \sigma^2)` is exact, :math:`\sigma\sqrt{2/\pi}\,e^{-\nu^2/2\sigma^2} + \nu(1-2\Phi(-\nu/\sigma))`,
so :func:`free_energy` is the true negative ELBO: :math:`F_n\ge-\log\hat p(\mathbf y_n)` for every
Gaussian :math:`\check p`. (The draft's Eq. 8.7 writes the emission's normalizer as
:math:`+\tfrac K2\log\lambda`; it is :math:`\tfrac M2\log(\tau/\lambda)`.)

**E step** (Eqs. 8.10-8.11; the Laplace approximation, *not* the minimizer of :math:`F_n`):
:math:`\boldsymbol\nu_n = \arg\min_{\mathbf x}\tfrac\lambda2\|\mathbf y_n-\mathbf C\mathbf x\|^2 + \sum_k\alpha_k|x_k|`
(basis-pursuit denoising, by batched FISTA), and
:math:`\mathbf P_n = \lambda\mathbf C^T\mathbf C + \mathrm{diag}(\boldsymbol\alpha\circ\beta\,\mathrm{sech}^2(\beta\boldsymbol\nu_n))`
evaluated at the **new** mean (the algorithm box of Section 8.1.1 puts the old :math:`\boldsymbol\nu^{(i)}`
in both places).

**M step** (Eq. 8.9, with the outer product :math:`\boldsymbol\nu\boldsymbol\nu^T` that the box
prints as :math:`\boldsymbol\nu^T\boldsymbol\nu^T`), the exact minimizer of :math:`\mathcal F` over
:math:`(\mathbf C, \lambda)` given the recognition distributions:

.. math::
    \mathbf C = \langle\mathbf Y\boldsymbol\nu^T\rangle\,\langle\boldsymbol\Sigma + \boldsymbol\nu\boldsymbol\nu^T\rangle^{-1},
    \qquad
    \frac1\lambda = \frac1M\Big\langle\mathrm{tr}(\mathbf C\boldsymbol\Sigma\mathbf C^T) + \|\mathbf Y - \mathbf C\boldsymbol\nu\|^2\Big\rangle.

**What is guaranteed.** The M step never increases :math:`\mathcal F` (it is its exact minimizer),
and :math:`\mathcal F` is always an upper bound on the average negative log-likelihood. The E step
is a Laplace approximation, not a minimization of :math:`\mathcal F` over Gaussians, so it *can*
increase :math:`\mathcal F`: this is not exact EM, and :math:`\mathcal F` need not fall monotonically.

**Dead columns, and when the E step refuses.** A column of :math:`\mathbf C` that reaches exactly
zero stays there: its codes are all zero, :math:`\mathbf P_n` has no coupling to it, and the M step
returns it as zero, so EM goes on with that element unused and the M step remains the exact minimizer.
What cannot go on is a singular :math:`\mathbf P_n`: when a datum's mean has more nonzero codes than
the columns of :math:`\mathbf C` can separate (more than :math:`M`, which the mode of Eq. 8.10 never
has when every :math:`M` columns are independent, so FISTA stopped short of it), the curvature
:math:`\alpha_k\beta_k\,\mathrm{sech}^2(\beta_k\nu_k)` of the codes far from zero is lost in the
rounding of :math:`\lambda\mathbf C^T\mathbf C`, and no covariance, free energy or M step can be
computed in double precision. :func:`e_step` then raises a ``ValueError`` that names the datum, the
codes and the argument to change, instead of passing a meaningless covariance on.

Layout: ``Y`` has shape ``(N, M)``, one datum per row; ``nu`` ``(N, K)``; ``P`` and ``Sigma``
``(N, K, K)``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import special

from ..core.checks import as_array, as_scalar, check_int, check_spd, scaled_min_eig, spd_tolerance
from .sparse_coding import SparseCodingModel, make_model, revalidate_model, soft_threshold

__all__ = ["Recognition", "SparseEMResult", "batch_map", "e_step", "expected_abs", "free_energy", "m_step",
           "sparse_coding_em"]

_LOG_TAU = float(np.log(2.0 * np.pi))


class Recognition(NamedTuple):
    r"""Gaussian recognition distributions, one per datum (Eq. 8.2).

    Attributes
    ----------
    nu : ndarray, shape (N, K)
        Means :math:`\boldsymbol\nu_n`.
    P : ndarray, shape (N, K, K)
        Precisions :math:`\mathbf P_n`.
    Sigma : ndarray, shape (N, K, K)
        Covariances :math:`\mathbf P_n^{-1}`.
    """

    nu: np.ndarray
    P: np.ndarray
    Sigma: np.ndarray


class SparseEMResult(NamedTuple):
    r"""Result of :func:`sparse_coding_em`.

    Attributes
    ----------
    model : SparseCodingModel
        The final model (learned ``C`` and ``lam``; ``alpha`` and ``beta`` as given).
    recognition : Recognition
        The last E step's recognition distributions.
    F_after_E, F_after_M : ndarray, shape (n_iter,)
        :math:`\mathcal F` after each E step and after each M step.
    C_history : ndarray, shape (n_iter + 1, M, K)
        The dictionary before the first iteration and after each M step.
    lam_history : ndarray, shape (n_iter + 1,)
    """

    model: SparseCodingModel
    recognition: Recognition
    F_after_E: np.ndarray
    F_after_M: np.ndarray
    C_history: np.ndarray
    lam_history: np.ndarray


def _check_model(model) -> SparseCodingModel:
    if not isinstance(model, SparseCodingModel) or model.prior != "laplace":
        raise ValueError("model must be a SparseCodingModel with the Laplace prior (make_model(C, lam, alpha, beta, "
                         f"prior='laplace')); got {type(model).__name__}"
                         f"{' with prior ' + repr(model.prior) if isinstance(model, SparseCodingModel) else ''}.")
    return revalidate_model(model)


def _check_Y(Y, M: int) -> np.ndarray:
    return as_array(Y, "Y", shape=(None, M), dims="(N, M)", nonempty=True)


def _check_rec(rec, N: int, K: int) -> Recognition:
    if not isinstance(rec, Recognition):
        raise ValueError(f"rec must be the Recognition returned by e_step; got {type(rec).__name__}.")
    nu = as_array(rec.nu, "rec.nu", shape=(N, K), dims="(N, K)")
    Sigma = as_array(rec.Sigma, "rec.Sigma", shape=(N, K, K), dims="(N, K, K)")
    check_spd(Sigma, "rec.Sigma")                   # covariances of Gaussian recognition distributions
    P = as_array(rec.P, "rec.P", shape=(N, K, K), dims="(N, K, K)")
    check_spd(P, "rec.P")
    return Recognition(nu, P, Sigma)


# ----------------------------------------------------------------------------------------------
# E step
# ----------------------------------------------------------------------------------------------

def _batch_map(Y, C, lam, alpha, n_iter, tol, x_init=None):
    N, K = Y.shape[0], C.shape[1]
    Lip = lam * np.linalg.norm(C, 2) ** 2
    t_step = 1.0 / Lip if Lip > 0 else 1.0    # C = 0 (or underflowing): the data term is flat
    x = np.zeros((N, K)) if x_init is None else x_init.copy()
    z, s = x.copy(), 1.0
    done = False
    CtY, CtC = Y @ C, C.T @ C
    absCtC, max_CtY = np.abs(CtC), float(np.max(np.abs(CtY), initial=0.0))
    for _ in range(n_iter):
        grad = lam * (z @ CtC - CtY)
        x_new = soft_threshold(z - t_step * grad, t_step * alpha)
        s_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * s * s))
        # rounding of z - t grad: a few ulps of the magnitudes summed in it
        magnitude = float(np.max(np.abs(z), initial=0.0)) + t_step * lam * (
            float(np.max(np.abs(z) @ absCtC, initial=0.0)) + max_CtY)
        z = x_new + ((s - 1.0) / s_new) * (x_new - x)
        scale = max(1.0, float(np.max(np.abs(x_new), initial=0.0)))
        done = float(np.max(np.abs(x_new - x), initial=0.0)) <= max(tol * scale,
                                                                    64.0 * np.finfo(float).eps * magnitude)
        x, s = x_new, s_new
        if done:
            break
    return x, done


def _check_fista_args(Y, model, n_iter, x_init):
    """The checks :func:`batch_map` and :func:`e_step` share: the model, ``Y``, the budget, the warm start."""
    model = _check_model(model)
    M, K = model.C.shape
    Y = _check_Y(Y, M)
    n_iter = check_int(n_iter, "n_iter", minimum=1)
    if x_init is not None:
        x_init = as_array(x_init, "x_init", shape=(Y.shape[0], K), dims="(N, K)")
    return model, Y, n_iter, x_init


def batch_map(Y, model: SparseCodingModel, *, n_iter: int = 500, tol: float = 1e-10, x_init=None) -> np.ndarray:
    r"""The modes :math:`\boldsymbol\nu_n` of Eq. 8.10 for every row of ``Y`` at once, by FISTA.

    Minimizes :math:`\tfrac\lambda2\|\mathbf y_n-\mathbf C\mathbf x\|^2 + \sum_k\alpha_k|x_k|` for all
    :math:`n` together (the same iterations as :func:`pedagogy_lib.factor.sparse_coding.map_estimate`,
    vectorized over data). Stopping rule: no coordinate moves by more than
    :math:`\max\big(\mathrm{tol}\max(1, \max|\mathbf x|),\ 64\epsilon\,m\big)` in an iteration, where
    :math:`m` is the largest magnitude summed in the gradient step
    :math:`\mathbf z - t\lambda(\mathbf C^T\mathbf C\mathbf z - \mathbf C^T\mathbf y_n)` and
    :math:`\epsilon` the machine epsilon: the floor is the rounding of that step, so the rule can be
    met on any machine. ``n_iter`` is a budget: the E step of :func:`sparse_coding_em` uses it with
    warm starts and does not require the rule to be met, so reaching it is silent.

    Returns
    -------
    ndarray, shape (N, K)
    """
    model, Y, n_iter, x_init = _check_fista_args(Y, model, n_iter, x_init)
    return _batch_map(Y, model.C, model.lam, model.alpha, n_iter, float(tol), x_init)[0]


def _precisions(nu, C, lam, alpha, beta):
    d = alpha * beta / np.cosh(np.clip(beta * nu, -350.0, 350.0)) ** 2          # (N, K)
    P = lam * (C.T @ C)[None, :, :] + d[:, :, None] * np.eye(C.shape[1])[None, :, :]
    return P


def e_step(Y, model: SparseCodingModel, *, n_iter: int = 500, tol: float = 1e-10, x_init=None) -> Recognition:
    r"""E step of Section 8.1.1: the mode of Eq. 8.10 and the precision of Eq. 8.11 at that mode.

    One mean and one precision per datum, the local parameters of Eq. 8.2; Eqs. 8.10-8.11 are the
    approximate solutions of the stationarity conditions of Eqs. 8.3-8.4 for the model of Eq. 8.5.

    Returns
    -------
    Recognition

    Raises
    ------
    ValueError
        If some :math:`\mathbf P_n` is singular to working precision (see the module docstring),
        naming the row of ``Y``, its nonzero codes and what to change (``n_iter``, ``tol`` or ``model.C``).
    """
    model, Y, n_iter, x_init = _check_fista_args(Y, model, n_iter, x_init)
    return _e_step(Y, model, n_iter, float(tol), x_init, ("n_iter", "tol"), "")


def _e_step(Y, model, n_iter, tol, x_init, names, where) -> Recognition:
    nu, converged = _batch_map(Y, model.C, model.lam, model.alpha, n_iter, tol, x_init)
    P = _precisions(nu, model.C, model.lam, model.alpha, model.beta)
    with np.errstate(all="ignore"):                 # a singular P is refused just below
        try:
            Sigma = np.linalg.inv(P)
        except np.linalg.LinAlgError:               # an exactly singular P_n: leave its inverse NaN
            Sigma = np.full_like(P, np.nan)
            for n in range(P.shape[0]):
                try:
                    Sigma[n] = np.linalg.inv(P[n])
                except np.linalg.LinAlgError:
                    pass
    Sigma = 0.5 * (Sigma + np.swapaxes(Sigma, 1, 2))
    _refuse_singular(P, Sigma, nu, model, (n_iter, tol, converged), names, where)
    return Recognition(nu, P, Sigma)


def _refuse_singular(P, Sigma, nu, model, fista, names, where) -> None:
    """Raise if some P_n (or its computed inverse) is singular to working precision, saying why."""
    M, K = model.C.shape
    tol_spd = spd_tolerance(K)
    worst = np.minimum(scaled_min_eig(P), scaled_min_eig(Sigma))
    bad = ~(worst > tol_spd)
    if not np.any(bad):
        return
    n = int(np.flatnonzero(bad)[0])
    active = np.flatnonzero(nu[n])
    codes = ", ".join(str(int(k)) for k in active)
    head = (f"The recognition precision P_n of Eq. 8.11 for row {n} of Y is singular to working precision{where}: "
            f"scaled to unit diagonal, the smallest eigenvalue of P_n or of its inverse is {worst[n]:.3g}, at most "
            f"{tol_spd:.2g} ({int(bad.sum())} of the {len(bad)} rows are singular), so its covariance, the free "
            "energy and the M step cannot be computed. ")
    CA = model.C[:, active]
    norms = np.linalg.norm(CA, axis=0)
    cos_note = ""
    if len(active) > 1 and np.all(norms > 0):
        G = np.abs((CA / norms).T @ (CA / norms)) - np.eye(len(active))
        i, j = np.unravel_index(int(np.argmax(G)), G.shape)
        if G[i, j] > 0.9:
            cos_note = (f"; columns {int(active[i])} and {int(active[j])} of model.C are nearly parallel "
                        f"(|cos| = {G[i, j]:.4f}), which makes FISTA slow")
    if len(active) > M:
        beta = model.beta[active]
        d = model.alpha[active] * beta / np.cosh(np.clip(beta * nu[n, active], -350.0, 350.0)) ** 2
        n_iter, tol, converged = fista
        what = (f"Its mean has {len(active)} nonzero codes (k = {codes}; largest |nu_k| = {np.abs(nu[n]).max():.3g}) "
                f"for M = {M} emission dimensions: on them lam C^T C is singular, and the curvature "
                "alpha_k beta_k sech^2(beta_k nu_k) that would make P_n invertible is as small as "
                f"{d.min():.3g}, against {np.max(np.diag(P[n])):.3g} on the diagonal of P_n. A mode of Eq. 8.10 "
                "has at most M nonzero codes when every M of these columns of C are linearly independent")
        if not converged:
            raise ValueError(head + what + f", so this mean is most likely short of the mode: FISTA's budget "
                             f"{names[0]} = {n_iter} ran out before its stopping rule was met{cos_note}. Raise "
                             f"{names[0]}, or restart from another model.C.")
        raise ValueError(head + what + f"; FISTA met its stopping rule ({names[1]} = {tol:g}), so either some M of "
                         f"them are linearly dependent (restart from another model.C, or drop a column) or the rule "
                         f"stopped FISTA short of the mode (lower {names[1]}){cos_note}.")
    raise ValueError(head + f"The columns of model.C for its {len(active)} nonzero codes (k = {codes}) are "
                     f"linearly dependent to working precision{cos_note}. Restart from another model.C, or drop "
                     "one of those columns.")


# ----------------------------------------------------------------------------------------------
# The free energy and the M step
# ----------------------------------------------------------------------------------------------

def expected_abs(mu, sigma) -> np.ndarray:
    r""":math:`\E|X|` for :math:`X\sim\mathcal N(\mu,\sigma^2)`, element-wise:
    :math:`\sigma\sqrt{2/\pi}\,e^{-\mu^2/2\sigma^2} + \mu\,(1-2\Phi(-\mu/\sigma))`."""
    mu = as_array(mu, "mu")
    sigma = as_array(sigma, "sigma")
    if np.any(sigma <= 0):
        raise ValueError("sigma must be positive.")
    try:
        np.broadcast_shapes(mu.shape, sigma.shape)
    except ValueError:
        raise ValueError(f"sigma must have the shape of mu {mu.shape} (or broadcast against it); got "
                         f"{sigma.shape}.") from None
    r = mu / sigma
    return sigma * np.sqrt(2.0 / np.pi) * np.exp(-0.5 * r * r) + mu * (1.0 - 2.0 * special.ndtr(-r))


def _recon(Y, C, rec):
    """Per-datum tr(C Sigma_n C^T) + ||y_n - C nu_n||^2."""
    resid = Y - rec.nu @ C.T
    tr = np.einsum("mk,nkj,mj->n", C, rec.Sigma, C)
    return tr + np.sum(resid * resid, axis=1)


def _free_energy_terms(Y, model, rec):
    M, K = model.C.shape
    sd = np.sqrt(np.einsum("nkk->nk", rec.Sigma))
    prior = np.sum(model.alpha * expected_abs(rec.nu, sd) + np.log(2.0 / model.alpha), axis=1)
    cross = 0.5 * model.lam * _recon(Y, model.C, rec) + 0.5 * M * (_LOG_TAU - np.log(model.lam)) + prior
    entropy = 0.5 * (K * _LOG_TAU + K + np.linalg.slogdet(rec.Sigma)[1])
    return cross - entropy


def free_energy(Y, model: SparseCodingModel, rec: Recognition, *, per_datum: bool = False):
    r"""The free energy :math:`\mathcal F` (negative ELBO; Eq. 8.8 with every constant), averaged over data.

    Exact for the Gaussian recognition distributions given (no Laplace approximation inside), so
    it bounds :math:`-\langle\log\hat p(\mathbf Y)\rangle` from above. It is the joint relative
    entropy of Eq. 8.1 without the data entropy, whose joint cross entropy is Eq. 8.7 (with the
    emission's normalizer corrected, see the module docstring).

    Parameters
    ----------
    Y : array_like, shape (N, M)
    model : SparseCodingModel
        Laplace prior.
    rec : Recognition
    per_datum : bool
        Return the ``(N,)`` values :math:`F_n` instead of their average.
    """
    model = _check_model(model)
    M, K = model.C.shape
    Y = _check_Y(Y, M)
    rec = _check_rec(rec, Y.shape[0], K)
    F = _free_energy_terms(Y, model, rec)
    return F if per_datum else float(np.mean(F))


def m_step(Y, rec: Recognition, model: SparseCodingModel, *, update_lam: bool = True) -> SparseCodingModel:
    r"""M step (Eq. 8.9 and the noise precision): the exact minimizer of :func:`free_energy` over
    :math:`\mathbf C` (and :math:`\lambda` if ``update_lam``) with the recognition distributions fixed.

    Returns
    -------
    SparseCodingModel
        ``model`` with the new ``C`` (and ``lam``).
    """
    model = _check_model(model)
    M, K = model.C.shape
    Y = _check_Y(Y, M)
    N = Y.shape[0]
    rec = _check_rec(rec, N, K)
    A = Y.T @ rec.nu / N                                       # <y nu^T>, (M, K)
    B = rec.Sigma.mean(axis=0) + rec.nu.T @ rec.nu / N         # <Sigma + nu nu^T>, (K, K)
    C = np.linalg.solve(B, A.T).T                              # A B^{-1} (B symmetric)
    lam = model.lam
    if update_lam:
        lam = float(M * N / np.sum(_recon(Y, C, Recognition(rec.nu, rec.P, rec.Sigma))))
    return make_model(C, lam, alpha=model.alpha, beta=model.beta, prior="laplace")


def sparse_coding_em(Y, model: SparseCodingModel, *, n_iter: int = 20, update_lam: bool = True,
                     map_iter: int = 500, map_tol: float = 1e-8) -> SparseEMResult:
    r"""Alternate the E step (Laplace recognition distributions) and the exact M step, tracking :math:`\mathcal F`.

    Each E step starts FISTA from the previous means (warm start).

    Parameters
    ----------
    Y : array_like, shape (N, M)
        Data, one per row (zero mean; whitened patches in the notebook).
    model : SparseCodingModel
        Starting model with the Laplace prior; ``alpha`` and ``beta`` stay fixed.
    n_iter : int
        EM iterations.
    update_lam : bool
        Learn the noise precision :math:`\lambda` as well as :math:`\mathbf C`.
    map_iter, map_tol : int, float
        FISTA's budget and tolerance in each E step.

    Raises
    ------
    ValueError
        If an E step's precision (Eq. 8.11) is singular to working precision (module docstring):
        its inverse would be rounding noise, so the free energy and the M step after it would be
        meaningless. A column that collapses to exactly zero is no such case: it is kept at zero
        with its codes unused, which leaves the M step the exact minimizer of the free energy.
    """
    model = _check_model(model)
    M, K = model.C.shape
    Y = _check_Y(Y, M)
    n_iter = check_int(n_iter, "n_iter", minimum=1)
    map_iter = check_int(map_iter, "map_iter", minimum=1)
    map_tol = as_scalar(map_tol, "map_tol")
    FE, FM = np.empty(n_iter), np.empty(n_iter)
    Cs, lams = [model.C.copy()], [model.lam]
    nu = None
    rec = None
    for i in range(n_iter):
        where = (f" in the E step of EM iteration {i + 1} (" + ("under the starting model" if i == 0 else
                 f"under the dictionary after {i} M steps, not the starting model.C") + ")")
        rec = _e_step(Y, model, map_iter, map_tol, nu, ("map_iter", "map_tol"), where)
        nu = rec.nu
        FE[i] = float(np.mean(_free_energy_terms(Y, model, rec)))
        model = m_step(Y, rec, model, update_lam=update_lam)
        FM[i] = float(np.mean(_free_energy_terms(Y, model, rec)))
        Cs.append(model.C.copy())
        lams.append(model.lam)
    return SparseEMResult(model, rec, FE, FM, np.asarray(Cs), np.asarray(lams))
