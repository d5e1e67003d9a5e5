r"""The linear-Gaussian state-space model itself (book Section 2.2.2, Eq. 2.49): its parameters,
their validation and sampling, shared by every algorithm that uses the model.

.. math::
    \hat{\mathbf X}_1 \sim \mathcal N(\boldsymbol\mu_1, \boldsymbol\Sigma_1), \qquad
    \hat p(\mathbf x_t\mid\mathbf x_{t-1}) = \mathcal N(\mathbf A\mathbf x_{t-1} + \mathbf B\mathbf u_{t-1}
        + \mathbf a, \boldsymbol\Sigma_{\hat x}), \qquad
    \hat p(\mathbf y_t\mid\mathbf x_t) = \mathcal N(\mathbf C\mathbf x_t + \mathbf c, \boldsymbol\Sigma_{\hat y|\hat x}).

The Kalman filter and RTS smoother (:mod:`pedagogy_lib.lgssm.kalman`), EM
(:mod:`pedagogy_lib.lgssm.em`) and the particle filter (:mod:`pedagogy_lib.smc.particle`) all take
an :class:`LGSSMParams` and validate it with :func:`check_params`; none of them depends on another
for the model. Time indexing is 0-based: row ``t`` is the book's ``t + 1`` and ``u[t]`` drives the
transition from row ``t`` to row ``t + 1`` (so ``T`` steps need ``T - 1`` controls).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import SPD_SCREEN_MAX_N, SYM_RTOL, as_array, check_int, check_rng, check_shape, check_spd
from ..core.jit import HAVE_NUMBA, choose
from ..core.kernels import EPS, SPD_ULPS
from . import kernels

__all__ = ["LGSSMParams", "CovarianceFactors", "check_params", "check_params_factored", "check_y", "check_u",
           "sample_lgssm"]


class _LGSSMFields(NamedTuple):
    """The nine fields of :class:`LGSSMParams` (a named tuple; the subclass carries the checks' result)."""

    mu1: np.ndarray
    Sigma1: np.ndarray
    A: np.ndarray
    B: np.ndarray | None
    a: np.ndarray
    Sigma_x: np.ndarray
    C: np.ndarray
    c: np.ndarray
    Sigma_y_x: np.ndarray


class LGSSMParams(_LGSSMFields):
    r"""Parameters of the linear-Gaussian state-space model (Section 2.2.2, Eq. 2.49).

    Attributes
    ----------
    mu1 : ndarray, shape (n,)
        Prior mean of the first state, :math:`\boldsymbol\mu_1 = \bar{\mathbf x}_{1|0}`.
    Sigma1 : ndarray, shape (n, n)
        Prior covariance of the first state, :math:`\boldsymbol\Sigma_1 = \boldsymbol\Upsilon_{1|0}`.
    A : ndarray, shape (n, n)
        State-transition matrix :math:`\mathbf A`.
    B : ndarray, shape (n, n_u), or None
        Control matrix :math:`\mathbf B`; ``None`` (or ``n_u = 0`` columns) means no control.
    a : ndarray, shape (n,)
        Transition offset :math:`\mathbf a`.
    Sigma_x : ndarray, shape (n, n)
        State-transition noise covariance :math:`\boldsymbol\Sigma_{\hat x}`.
    C : ndarray, shape (m, n)
        Emission matrix :math:`\mathbf C`.
    c : ndarray, shape (m,)
        Emission offset :math:`\mathbf c`.
    Sigma_y_x : ndarray, shape (m, m)
        Emission noise covariance :math:`\boldsymbol\Sigma_{\hat y|\hat x}`.

    A model is validated once: the first call that takes it (the Kalman filter, the smoother, EM, sampling)
    checks its fields and keeps the result on the object, with what later calls derive from it (Cholesky
    factors, the smallest observation-noise eigenvalue, the measurement-update form ``form="auto"`` picks),
    so that later calls check only their data. A model made by the constructor or by ``_replace`` is a new
    object and is checked at its first use, by the same rules. A model whose arrays are written into after
    that is noticed at its next use (its fields are compared with copies kept at the check) and checked
    again, so what a call reuses always matches the numbers it computes with.
    """


# ------------------------------------------------------------------------------------------------
# Validation (once, at the boundary); public because every LGSSM algorithm uses it
# ------------------------------------------------------------------------------------------------

class CovarianceFactors(NamedTuple):
    r"""Lower Cholesky factors of the model's covariances, computed while validating them.

    :math:`\boldsymbol\Sigma_1 = \mathbf L_1\mathbf L_1^T` and likewise for
    :math:`\boldsymbol\Sigma_{\hat x}` and :math:`\boldsymbol\Sigma_{\hat y|\hat x}`; each ``(d, d)``.
    """

    L_Sigma1: np.ndarray
    L_Sigma_x: np.ndarray
    L_Sigma_y_x: np.ndarray


def check_params(params, name: str = "params") -> tuple:
    """Validate an :class:`LGSSMParams`; return clean arrays and ``(n, m, n_u)``. ``name`` is the argument's name."""
    p, dims, _ = check_params_factored(params, name)
    return p, dims


#: Largest entry allowed in any parameter: the recursions multiply three such numbers (for instance
#: C Sigma C^T), and double precision ends near 1e308.
MAX_MAGNITUDE = 1e75


def check_params_factored(params, name: str = "params") -> tuple:
    """:func:`check_params`, also returning the :class:`CovarianceFactors` its positive-definiteness
    checks computed, for algorithms that factor a covariance anyway (the information form whitens
    the observations with ``L_Sigma_y_x``)."""
    if not isinstance(params, LGSSMParams):
        raise TypeError(f"{name} must be an LGSSMParams; got {type(params).__name__}.")
    if _edited(params):                      # written into since it was checked: check it again
        _forget(params)
    done = params.__dict__.get("validated")
    if done is None:                         # the first use of this object: check it, keep the result
        done = _clear_params(params) or _check_fields(params)
        facts = params.__dict__.get("facts", {})
        for obj in (params, done[0]):        # the clean model is validated too, and shares the facts
            obj.__dict__.update(validated=done, facts=facts, snapshot=_snapshot(obj))
    return done


def model_fact(params: LGSSMParams, key: str, compute):
    """What ``compute()`` returns for this model, computed once per object and kept on it with the
    validation's result (:class:`LGSSMParams`): a quantity derived from the parameters alone that a call
    would otherwise recompute each time (an eigenvalue, the form ``form="auto"`` picks). ``params`` has
    passed :func:`check_params_factored` (or the compiled screen of the small fast path)."""
    if _edited(params):
        _forget(params)
    if "snapshot" not in params.__dict__:
        params.__dict__["snapshot"] = _snapshot(params)
    facts = params.__dict__.setdefault("facts", {})
    if key not in facts:
        facts[key] = compute()
    return facts[key]


def _snapshot(params: LGSSMParams) -> tuple:
    """Copies of the fields' values when they were checked (or a fact was derived from them)."""
    return tuple(None if x is None else np.array(x, copy=True) for x in params)


def _edited(params: LGSSMParams) -> bool:
    """True when a field's values differ from those checked: an array of the model written into after its
    first use. Comparing costs about as much as copying the fields, far less than a step of the filter; it
    keeps what a call reuses (factors, eigenvalues, the chosen form) true to the arrays it computes with."""
    snap = params.__dict__.get("snapshot")
    return snap is not None and not all((x is None) if old is None else (x is not None and np.array_equal(x, old))
                                        for x, old in zip(params, snap))


def _forget(params: LGSSMParams) -> None:
    for key in ("validated", "facts", "snapshot"):
        params.__dict__.pop(key, None)


def _check_fields(params: LGSSMParams) -> tuple:
    """The full checks of :func:`check_params_factored`, which decide and explain."""
    mu1 = as_array(params.mu1, "mu1", ndim=1, dims="(n,)")
    n = mu1.shape[0]
    if n == 0:
        raise ValueError("mu1 must have at least one entry (n >= 1); got shape (0,).")
    Sigma1 = as_array(params.Sigma1, "Sigma1", shape=(n, n), dims="(n, n)")
    L_Sigma1 = check_spd(Sigma1, "Sigma1")
    A = as_array(params.A, "A", shape=(n, n), dims="(n, n)")
    if params.B is None:
        B = np.zeros((n, 0))
    else:
        B = as_array(params.B, "B", ndim=2, dims="(n, n_u)")
        check_shape(B, "B", (n, None), dims="(n, n_u)")
    a = as_array(params.a, "a", shape=(n,), dims="(n,)")
    Sigma_x = as_array(params.Sigma_x, "Sigma_x", shape=(n, n), dims="(n, n)")
    L_Sigma_x = check_spd(Sigma_x, "Sigma_x")
    c = as_array(params.c, "c", ndim=1, dims="(m,)")
    m = c.shape[0]
    if m == 0:
        raise ValueError("c must have at least one entry (m >= 1); got shape (0,).")
    C = as_array(params.C, "C", shape=(m, n), dims="(m, n)")
    Sigma_y_x = as_array(params.Sigma_y_x, "Sigma_y_x", shape=(m, m), dims="(m, m)")
    L_Sigma_y_x = check_spd(Sigma_y_x, "Sigma_y_x")
    fields = {"mu1": mu1, "Sigma1": Sigma1, "A": A, "B": B, "a": a, "Sigma_x": Sigma_x, "C": C, "c": c,
              "Sigma_y_x": Sigma_y_x}
    for field, arr in fields.items():
        big = float(np.max(np.abs(arr))) if arr.size else 0.0
        if big > MAX_MAGNITUDE:
            # the limit is the model's, not one algorithm's (every caller of these checks meets it: the
            # Kalman filter and smoother, sampling, the particle filter and smoothers, EM): a location enters
            # the model's densities through C mu and A mu, squared in the residual's quadratic form; a matrix
            # enters its covariances of the next state and of the observations as products of three
            how = ("the model's log densities square products of two such quantities (the residual y - C mu, "
                   "A mu)" if arr.ndim == 1 else "the model's covariances of the next state and of the "
                   "observations are products of three such quantities (A Sigma A^T, C Sigma C^T)")
            raise ValueError(f"{field} has an entry of magnitude {big:.3g}: {how}, which double precision "
                             f"resolves only for entries up to about {MAX_MAGNITUDE:.0e}, so this linear-Gaussian "
                             "state-space model is refused whatever is computed with it. Rescale the state or the "
                             "observations.")
    return (LGSSMParams(mu1, Sigma1, A, B, a, Sigma_x, C, c, Sigma_y_x), (n, m, B.shape[1]),
            CovarianceFactors(L_Sigma1, L_Sigma_x, L_Sigma_y_x))


def _clear_params(params: LGSSMParams) -> tuple | None:
    """The fast lane of :func:`check_params_factored`: its result when every field is already a float64
    C-contiguous writeable array of the right shape, with at most ``SPD_SCREEN_MAX_N`` dimensions, and the compiled
    screen :func:`~pedagogy_lib.lgssm.kernels.screen_model` passes it (entries finite and within
    ``MAX_MAGNITUDE``, the covariances clearly positive definite); ``None`` otherwise, and the full checks
    then decide and explain. The screen is compiled under the rule of ``backend="auto"``: until then (or once
    compiled elsewhere) the full checks run, once per model either way."""
    mu1, Sigma1, A, B, a, Sigma_x, C, c, Sigma_y_x = params
    for field, x in zip(params._fields, params):   # only B may be None (no inputs); other Nones: full checks
        if x is None and field == "B":
            continue
        if type(x) is not np.ndarray or x.dtype != np.float64 or not x.flags.carray:
            return None
    if not HAVE_NUMBA or mu1.ndim != 1 or c.ndim != 1:
        return None
    n, m = mu1.shape[0], c.shape[0]
    B = np.zeros((n, 0)) if B is None else B
    if (not 0 < n <= SPD_SCREEN_MAX_N or not 0 < m <= SPD_SCREEN_MAX_N or Sigma1.shape != (n, n)
            or A.shape != (n, n) or B.ndim != 2 or B.shape[0] != n or a.shape != (n,) or Sigma_x.shape != (n, n)
            or C.shape != (m, n) or Sigma_y_x.shape != (m, m)):
        return None
    if choose(kernels.screen_model, n=n, m=m) != "numba":   # the full checks, in NumPy (core/costs.py)
        return None
    model = (mu1, Sigma1, A, B, a, Sigma_x, C, c, Sigma_y_x)
    ok, L1, Lx, Ly = kernels.screen_model(model, MAX_MAGNITUDE, SYM_RTOL, SPD_ULPS, EPS)
    if not ok:
        return None
    return LGSSMParams(*model), (n, m, B.shape[1]), CovarianceFactors(L1, Lx, Ly)


def check_y(y, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate observations; return ``(y with missing rows zeroed, observed mask as uint8)``."""
    if not (type(y) is np.ndarray and y.dtype == np.float64 and y.ndim == 2 and y.flags.c_contiguous):
        y = as_array(y, "y", ndim=2, dims="(T, m)", finite=False)     # a copy only when y is not one already
    if y.shape[1] != m:
        check_shape(y, "y", (None, m), dims="(T, m)")
    if y.shape[0] == 0:
        raise ValueError("y must hold at least one time step (T >= 1); got shape (0, m).")
    if np.isfinite(y).all():                      # the common case: nothing missing, one pass over y
        return y, np.ones(y.shape[0], dtype=np.uint8)
    if np.isinf(y).any():
        t, i = (int(v) for v in np.argwhere(np.isinf(y))[0])
        raise ValueError(f"y must be finite or NaN (NaN marks a missing row); got {y[t, i]} at index ({t}, {i}).")
    nan = np.isnan(y)
    partial = nan.any(axis=1) & ~nan.all(axis=1)
    if partial.any():
        t = int(np.argmax(partial))
        raise ValueError(f"y[{t}] is partly NaN ({int(nan[t].sum())} of {m} entries): only whole rows may be "
                         "missing. Drop the missing coordinates from C, c and Sigma_y_x for that step, or "
                         "mark the whole row as NaN.")
    observed = (~nan[:, 0]).astype(np.uint8)
    if observed.all():
        return y, observed
    return np.ascontiguousarray(np.where(nan, 0.0, y)), observed


def check_u(u, T: int, n_u: int) -> np.ndarray:
    """Validate controls: shape ``(T - 1, n_u)``; ``None`` is allowed only when there is no control.

    Raises
    ------
    TypeError, ValueError
        If ``T`` or ``n_u`` is not a suitable int, or ``u`` is missing (with ``n_u > 0``) or not a
        finite ``(T - 1, n_u)`` array.
    """
    T = check_int(T, "T", minimum=1)
    n_u = check_int(n_u, "n_u", minimum=0)
    if u is None:
        if n_u > 0:
            raise ValueError(f"u is required because B has n_u = {n_u} columns: pass controls of shape "
                             f"(T - 1, n_u) = ({T - 1}, {n_u}).")
        return np.zeros((max(T - 1, 0), 0))
    return as_array(u, "u", shape=(T - 1, n_u), dims="(T - 1, n_u)")


def sample_lgssm(params: LGSSMParams, T: int, *, rng, u=None) -> tuple[np.ndarray, np.ndarray]:
    r"""Draw one sequence :math:`(\mathbf x_{1:T}, \mathbf y_{1:T})` from the LGSSM (Eq. 2.35), the first
    state from its prior :math:`\mathcal N(\boldsymbol\mu_1, \boldsymbol\Sigma_1)`.

    Parameters
    ----------
    params : LGSSMParams
    T : int
        Number of time steps (at least 1).
    rng : numpy.random.Generator
    u : array_like, shape (T - 1, n_u), optional
        Controls, as in :func:`pedagogy_lib.lgssm.kalman.kalman_filter`.

    Returns
    -------
    x : ndarray, shape (T, n)
    y : ndarray, shape (T, m)

    Raises
    ------
    ValueError
        If the parameters are malformed (:func:`check_params`), or the draws leave the floating-point
        range (an unstable ``A`` run for long enough overflows); the message names ``A`` and ``T``.
    """
    rng = check_rng(rng)
    p, (n, m, n_u) = check_params(params)
    T = check_int(T, "T", minimum=1)
    u = check_u(u, T, n_u)
    L1, Lx, Ly = (np.linalg.cholesky(S) for S in (p.Sigma1, p.Sigma_x, p.Sigma_y_x))
    x = np.zeros((T, n))
    with np.errstate(over="ignore", invalid="ignore"):          # an overflow is reported below, by name
        x[0] = p.mu1 + L1 @ rng.standard_normal(n)
        for t in range(1, T):
            x[t] = p.A @ x[t - 1] + p.B @ u[t - 1] + p.a + Lx @ rng.standard_normal(n)
        y = x @ p.C.T + p.c + rng.standard_normal((T, m)) @ Ly.T
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        first = int(np.argmin(np.all(np.isfinite(x), axis=1) & np.all(np.isfinite(y), axis=1)))
        raise ValueError(f"the sampled sequence overflows at step {first + 1} of T = {T}: A (spectral radius "
                         f"{np.max(np.abs(np.linalg.eigvals(p.A))):.3g}) or the scale of the other parameters "
                         "carries the state out of the floating-point range; sample a shorter T or rescale.")
    return x, y
