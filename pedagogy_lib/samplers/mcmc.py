r"""Markov chain Monte Carlo as pairs of pure functions ``(init, step)`` over many chains at once.

Every sampler here is a Metropolis-Hastings chain (Gibbs being the case whose acceptance is always
one). From a state :math:`\mathbf x` it proposes :math:`\mathbf x'\sim g(\mathbf x'\mid\mathbf x)`
and accepts with probability

.. math::
    A(\mathbf x', \mathbf x) = \min\Big\{1, \frac{\tilde p(\mathbf x')\,g(\mathbf x\mid\mathbf x')}
    {\tilde p(\mathbf x)\,g(\mathbf x'\mid\mathbf x)}\Big\},

which makes :math:`p(\mathbf x)T(\mathbf x'\mid\mathbf x)` symmetric in the two states (detailed
balance), so :math:`p` is stationary; the normalizer of :math:`\tilde p` cancels. The proposals:

* random-walk MH: :math:`\mathbf x' = \mathbf x + \sigma\mathbf z` (symmetric, so :math:`g` cancels);
* MALA: one step of the book's Langevin dynamics, Eq. 8.44,
  :math:`\mathbf x' = \mathbf x + \epsilon\,\mathbf f(\mathbf x) + \sqrt{2\epsilon}\,\mathbf z`, whose
  asymmetry the Hastings factor corrects (plain Langevin keeps an :math:`O(\epsilon)` bias);
* HMC: ``n_leapfrog`` leapfrog steps of Hamiltonian dynamics with a fresh Gaussian momentum,
  accepted on the change in total energy;
* Gibbs (Gaussian target): each coordinate drawn from its full conditional in turn.

``init_chains`` builds a :class:`ChainState`; each ``*_step`` returns a new state and leaves its
input untouched; :func:`sample` runs many steps, drawing the random numbers with NumPy in blocks
and handing them to a fused numba kernel (or its NumPy twin), and records a trace.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import (as_array, check_backend, check_choice, check_int, check_rng, positive_scalar,
                           to_float_array)
from ..core.jit import njit
from .targets import (GaussianTarget, PythonTarget, arrays_of_checked_target, check_target, evaluate_checked_target,
                      logp_force_one, numpy_log_density_and_force)

__all__ = [
    "ChainState",
    "SampleResult",
    "check_chain_state",
    "METHODS",
    "init_chains",
    "mh_log_accept_ratio",
    "mala_log_proposal",
    "rwmh_step",
    "mala_step",
    "hmc_step",
    "gibbs_step",
    "leapfrog",
    "sample",
    "acceptance_rate",
    "warmup_kernels",
]

METHODS = ("rwmh", "mala", "hmc", "gibbs")
_CODES = {"rwmh": 0, "mala": 1, "hmc": 2, "gibbs": 3}


class ChainState(NamedTuple):
    r"""The state of ``C`` chains.

    Attributes
    ----------
    x : ndarray, shape (C, D)
        Current points.
    log_p : ndarray, shape (C,)
        :math:`\log\tilde p(\mathbf x)` at them.
    force : ndarray, shape (C, D)
        :math:`\mathbf f(\mathbf x) = \partial\log\tilde p/\partial\mathbf x^T` at them.
    n_accept : ndarray, shape (C,)
        Accepted proposals so far, per chain.
    n_steps : int
        Steps taken so far.
    """

    x: np.ndarray
    log_p: np.ndarray
    force: np.ndarray
    n_accept: np.ndarray
    n_steps: int


class SampleResult(NamedTuple):
    """What :func:`sample` returns.

    Attributes
    ----------
    state : ChainState
        The state after the last step (pass it back to continue).
    trace : ndarray, shape (n_steps, C, len(keep))
        The kept coordinates after every step.
    accept_rate : ndarray, shape (C,)
        Fraction of proposals accepted during this call, per chain.
    """

    state: ChainState
    trace: np.ndarray
    accept_rate: np.ndarray


# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------

def init_chains(target, x0, *, backend: str = "numba") -> ChainState:
    """Start ``C`` chains at the rows of ``x0`` (shape ``(C, D)``).

    Raises
    ------
    TypeError
        If ``target`` is not a target or ``x0`` is not real and numeric.
    ValueError
        If a field of ``target`` is malformed (:func:`~pedagogy_lib.samplers.targets.check_target`),
        ``x0`` is not a finite ``(C, D)`` array with ``C >= 1``, or the log density or its force is
        not finite at a starting point: no chain can leave a point of zero density by
        Metropolis-Hastings.
    """
    backend = check_backend(backend)
    D = check_target(target)
    x0 = as_array(x0, "x0", shape=(None, D), dims="(C, D)")
    if x0.shape[0] < 1:
        raise ValueError("x0 must hold at least one chain (a row); got shape (0, D).")
    logp, force = _evaluate(target, x0, backend)
    bad = ~(np.isfinite(logp) & np.all(np.isfinite(force), axis=1))
    if bad.any():
        c = int(np.argmax(bad))
        raise ValueError(f"the log density at x0 must be finite for every chain; chain {c} starts at "
                         f"{x0[c].tolist()} where log p = {logp[c]!r} (force {force[c].tolist()}).")
    return ChainState(x0.copy(), logp, force, np.zeros(x0.shape[0]), 0)


def _evaluate(target, x, backend):
    return evaluate_checked_target(target, x, backend)


def check_chain_state(state, target=None, *, name: str = "state", backend: str = "numpy") -> ChainState:
    """Return ``state`` with clean float64 fields after checking every field against the others.

    A :class:`ChainState` built by hand or edited with ``_replace`` is held to the same rules as
    one returned by :func:`init_chains`. With ``target`` (already checked by
    :func:`~pedagogy_lib.samplers.targets.check_target`), ``state.x`` must have the target's
    dimension and ``state.log_p`` and ``state.force`` must be the target's log density and force
    at ``state.x``: a state carried over from another target would otherwise bias the first
    accept tests without a word.

    Parameters
    ----------
    state : ChainState
    target : Banana, GaussianTarget or PythonTarget, optional
    name : str
        How the state is called in messages.
    backend : {"numba", "numpy"}
        Used to re-evaluate the target at ``state.x``.

    Returns
    -------
    ChainState

    Raises
    ------
    TypeError
        If ``state`` is not a :class:`ChainState` or a field is not real and numeric.
    ValueError
        If ``x`` is not a finite non-empty ``(C, D)`` array, ``log_p`` and ``n_accept`` are not
        ``(C,)``, ``force`` is not ``(C, D)``, a field is not finite, ``n_accept`` is negative or
        above ``n_steps``, ``n_steps`` is not a non-negative integer, or ``log_p``/``force`` disagree
        with the target at ``x``.
    """
    if not isinstance(state, ChainState):
        raise TypeError(f"{name} must be the ChainState returned by init_chains; got {type(state).__name__}.")
    D = None if target is None else check_target(target)
    x = as_array(state.x, f"{name}.x", shape=(None, D), dims="(C, D)", nonempty=True)
    C, D = x.shape
    log_p = as_array(state.log_p, f"{name}.log_p", shape=(C,), dims="(C,)")
    force = as_array(state.force, f"{name}.force", shape=(C, D), dims="(C, D)")
    n_accept = as_array(state.n_accept, f"{name}.n_accept", shape=(C,), dims="(C,)")
    n_steps = check_int(state.n_steps, f"{name}.n_steps", minimum=0)
    if np.any(n_accept < 0) or np.any(n_accept > n_steps):
        c = int(np.argmax((n_accept < 0) | (n_accept > n_steps)))
        raise ValueError(f"{name}.n_accept must lie in [0, {name}.n_steps] = [0, {n_steps}]; chain {c} has "
                         f"{n_accept[c]:.6g}.")
    if target is not None:
        lp, f = _evaluate(target, x, backend)
        tol_lp = 1e-7 * (1.0 + np.abs(lp))
        tol_f = 1e-7 * (1.0 + np.max(np.abs(f), axis=1))
        bad = (np.abs(lp - log_p) > tol_lp) | (np.max(np.abs(f - force), axis=1) > tol_f)
        if bad.any():
            c = int(np.argmax(bad))
            raise ValueError(f"{name}.log_p and {name}.force must be the target's log density and force at "
                             f"{name}.x (was the state made for another target, or edited?); chain {c} has "
                             f"log_p {log_p[c]:.10g} where the target gives {lp[c]:.10g}. Start again with "
                             "init_chains(target, state.x).")
    return ChainState(x, log_p, force, n_accept, n_steps)


# ----------------------------------------------------------------------------------------------
# The pieces every MH sampler shares (public: tests and the finite-state builder use them)
# ----------------------------------------------------------------------------------------------

def mh_log_accept_ratio(log_p_new, log_p_old, log_g_reverse, log_g_forward):
    r""":math:`\log\frac{\tilde p(\mathbf x')g(\mathbf x\mid\mathbf x')}{\tilde p(\mathbf x)g(\mathbf x'\mid\mathbf x)}`.

    A proposal is accepted when :math:`\log U` (:math:`U\sim\mathcal U(0,1)`) is below this, so a
    non-negative ratio always accepts: that is :math:`A = \min\{1, \cdot\}`. Works elementwise.

    Raises
    ------
    TypeError
        If an argument is not real and numeric.
    ValueError
        If the arguments' shapes do not broadcast together.
    """
    names = ("log_p_new", "log_p_old", "log_g_reverse", "log_g_forward")
    terms = [to_float_array(v, n) for v, n in zip((log_p_new, log_p_old, log_g_reverse, log_g_forward), names)]
    try:
        np.broadcast_shapes(*(t.shape for t in terms))
    except ValueError:
        raise ValueError("log_p_new, log_p_old, log_g_reverse and log_g_forward must broadcast together; got "
                         "shapes " + ", ".join(f"{n} {t.shape}" for n, t in zip(names, terms)) + ".") from None
    return (terms[0] + terms[2]) - (terms[1] + terms[3])


def mala_log_proposal(x_to, x_from, force_from, step_size):
    r"""Log density of the MALA proposal, :math:`\mathcal N(\mathbf x_{to};\ \mathbf x_{from} + \epsilon\mathbf f(\mathbf x_{from}),\ 2\epsilon\mathbf I)`.

    The Gaussian step of Eq. 8.44 seen as a proposal density (normalized). Rows are points.
    """
    x_to = np.atleast_2d(as_array(x_to, "x_to"))
    if x_to.ndim != 2:
        raise ValueError(f"x_to must be a point (D,) or rows of points (C, D); got shape {x_to.shape}.")
    D = x_to.shape[1]
    x_from = np.atleast_2d(as_array(x_from, "x_from"))
    force_from = np.atleast_2d(as_array(force_from, "force_from"))
    for arr, label in ((x_from, "x_from"), (force_from, "force_from")):
        if arr.ndim != 2 or arr.shape[1] != D or arr.shape[0] not in (1, x_to.shape[0]):
            raise ValueError(f"{label} must have shape (D,) or (C, D) matching x_to {x_to.shape}; got "
                             f"{arr.shape}.")
    eps = positive_scalar(step_size, "step_size")
    d = x_to - x_from - eps * force_from
    return -np.sum(d * d, axis=1) / (4.0 * eps) - 0.5 * D * np.log(4.0 * np.pi * eps)


def leapfrog(target, x, p, step_size, n_leapfrog, *, backend: str = "numpy"):
    r"""``n_leapfrog`` leapfrog steps of Hamiltonian dynamics with :math:`H = -\log\tilde p(\mathbf x) + \tfrac12\|\mathbf p\|^2`.

    .. math::
        \mathbf p \leftarrow \mathbf p + \tfrac\epsilon2\mathbf f(\mathbf x),\quad
        \mathbf x \leftarrow \mathbf x + \epsilon\mathbf p,\quad
        \mathbf p \leftarrow \mathbf p + \tfrac\epsilon2\mathbf f(\mathbf x).

    Volume-preserving and reversible: flipping the final momentum and integrating again returns to
    the start (the property that makes HMC's Metropolis test exact). Returns ``(x, p)``.

    Raises
    ------
    TypeError, ValueError
        If ``target`` is malformed (:func:`~pedagogy_lib.samplers.targets.check_target`), ``x`` and
        ``p`` are not finite ``(C, D)`` arrays, an option is out of range, or the trajectory overflows
        (``step_size`` too large).
    """
    backend = check_backend(backend)
    D = check_target(target)
    x = as_array(x, "x", shape=(None, D), dims="(C, D)", nonempty=True)
    p = as_array(p, "p", shape=x.shape, dims="(C, D)")
    eps = positive_scalar(step_size, "step_size")
    L = check_int(n_leapfrog, "n_leapfrog", minimum=1)
    _, f = _evaluate(target, x, backend)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(L):
            p = p + 0.5 * eps * f
            x = x + eps * p
            _, f = _evaluate(target, x, backend)
            p = p + 0.5 * eps * f
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(p))):
        raise ValueError(f"the leapfrog trajectory left the finite numbers; reduce step_size (now {eps:g}) or "
                         "the scale of x and p.")
    return x, p


# ----------------------------------------------------------------------------------------------
# NumPy twins: one step for all chains, vectorized; the random numbers come in
# ----------------------------------------------------------------------------------------------

def _rwmh_numpy(target, x, logp, f, eps, z, log_u):
    x_new = x + eps * z
    logp_new, f_new = numpy_log_density_and_force(target, x_new)
    acc = log_u < mh_log_accept_ratio(logp_new, logp, 0.0, 0.0)        # g symmetric: cancels
    return acc, x_new, logp_new, f_new


def _mala_numpy(target, x, logp, f, eps, z, log_u):
    x_new = x + eps * f + np.sqrt(2.0 * eps) * z                        # Eq. 8.44 as a proposal
    logp_new, f_new = numpy_log_density_and_force(target, x_new)
    fwd = -np.sum((x_new - x - eps * f) ** 2, axis=1) / (4.0 * eps)
    rev = -np.sum((x - x_new - eps * f_new) ** 2, axis=1) / (4.0 * eps)
    acc = log_u < mh_log_accept_ratio(logp_new, logp, rev, fwd)
    return acc, x_new, logp_new, f_new


def _hmc_numpy(target, x, logp, f, eps, n_leap, p0, log_u):
    p = p0 + 0.5 * eps * f
    x_new = x
    for step in range(n_leap):
        x_new = x_new + eps * p
        logp_new, f_new = numpy_log_density_and_force(target, x_new)
        p = p + (eps if step < n_leap - 1 else 0.5 * eps) * f_new
    h_old = -logp + 0.5 * np.sum(p0 * p0, axis=1)
    h_new = -logp_new + 0.5 * np.sum(p * p, axis=1)
    acc = log_u < h_old - h_new
    return acc, x_new, logp_new, f_new


def _gibbs_numpy(target, x, z):
    mu, Lam = target.mu, target.Lambda
    x = x.copy()
    for i in range(x.shape[1]):                                        # systematic scan
        prec = Lam[i, i]
        # full conditional: mean mu_i - (1/Lambda_ii) sum_{j != i} Lambda_ij (x_j - mu_j)
        r = (x - mu) @ Lam[i] - prec * (x[:, i] - mu[i])
        x[:, i] = mu[i] - r / prec + z[:, i] / np.sqrt(prec)
    logp_new, f_new = numpy_log_density_and_force(target, x)
    return np.ones(x.shape[0], dtype=bool), x, logp_new, f_new


def _block_numpy(method, target, eps, n_leap, x, logp, f, Z, log_U, n_acc, trace, keep):
    """Twin of :func:`_block_numba`: ``T = Z.shape[0]`` steps, updating the arrays in place."""
    for t in range(Z.shape[0]):
        if method == 0:
            acc, xn, ln, fn = _rwmh_numpy(target, x, logp, f, eps, Z[t], log_U[t])
        elif method == 1:
            acc, xn, ln, fn = _mala_numpy(target, x, logp, f, eps, Z[t], log_U[t])
        elif method == 2:
            acc, xn, ln, fn = _hmc_numpy(target, x, logp, f, eps, n_leap, Z[t], log_U[t])
        else:
            acc, xn, ln, fn = _gibbs_numpy(target, x, Z[t])
        x[acc], logp[acc], f[acc] = xn[acc], ln[acc], fn[acc]
        n_acc += acc
        trace[t] = x[:, keep]


# ----------------------------------------------------------------------------------------------
# numba kernel: the same steps, one chain at a time, the target's density inlined
# ----------------------------------------------------------------------------------------------

@njit
def _block_numba(method, kind, mu, Lam, theta, indptr, indices, values, eps, n_leap, x, logp, f, Z, log_U,
                 n_acc, trace, keep):
    T, C, D = Z.shape
    xn = np.empty(D)
    fn = np.empty(D)
    p = np.empty(D)
    root = np.sqrt(2.0 * eps)
    for t in range(T):
        for c in range(C):
            if method == 3:                                            # Gibbs sweep: always accepted
                for i in range(D):
                    r = 0.0
                    for k in range(indptr[i], indptr[i + 1]):
                        j = indices[k]
                        if j != i:
                            r += values[k] * (x[c, j] - mu[j])
                    x[c, i] = mu[i] - r / Lam[i, i] + Z[t, c, i] / np.sqrt(Lam[i, i])
                logp[c] = logp_force_one(kind, mu, theta, indptr, indices, values, x[c], f[c])
                n_acc[c] += 1.0
            else:
                if method == 0:
                    for i in range(D):
                        xn[i] = x[c, i] + eps * Z[t, c, i]
                    ln = logp_force_one(kind, mu, theta, indptr, indices, values, xn, fn)
                    ratio = ln - logp[c]
                elif method == 1:
                    for i in range(D):
                        xn[i] = x[c, i] + eps * f[c, i] + root * Z[t, c, i]
                    ln = logp_force_one(kind, mu, theta, indptr, indices, values, xn, fn)
                    fwd = 0.0
                    rev = 0.0
                    for i in range(D):
                        a = xn[i] - x[c, i] - eps * f[c, i]
                        b = x[c, i] - xn[i] - eps * fn[i]
                        fwd += a * a
                        rev += b * b
                    ratio = ln - logp[c] - (rev - fwd) / (4.0 * eps)
                else:
                    k0 = 0.0
                    for i in range(D):
                        p[i] = Z[t, c, i]
                        k0 += p[i] * p[i]
                        p[i] += 0.5 * eps * f[c, i]
                        xn[i] = x[c, i]
                    ln = logp[c]
                    for step in range(n_leap):
                        for i in range(D):
                            xn[i] += eps * p[i]
                        ln = logp_force_one(kind, mu, theta, indptr, indices, values, xn, fn)
                        h = eps if step < n_leap - 1 else 0.5 * eps
                        for i in range(D):
                            p[i] += h * fn[i]
                    k1 = 0.0
                    for i in range(D):
                        k1 += p[i] * p[i]
                    ratio = (ln - 0.5 * k1) - (logp[c] - 0.5 * k0)
                if log_U[t, c] < ratio:                                # NaN ratios reject
                    for i in range(D):
                        x[c, i] = xn[i]
                        f[c, i] = fn[i]
                    logp[c] = ln
                    n_acc[c] += 1.0
            for k in range(keep.shape[0]):
                trace[t, c, k] = x[c, keep[k]]


# ----------------------------------------------------------------------------------------------
# Public steps and the driver
# ----------------------------------------------------------------------------------------------

def _draw(method, rng, T, C, D):
    Z = rng.standard_normal((T, C, D))
    log_U = np.log(rng.random((T, C))) if method != 3 else np.zeros((T, C))
    return Z, log_U


def _run(method_name, target, state, n_steps, rng, step_size, n_leapfrog, keep, backend):
    backend = check_backend(backend)
    method = _CODES[check_choice(method_name, "method", METHODS)]
    check_target(target)                                               # None is not "no target" here
    state = check_chain_state(state, target, backend=backend)
    if isinstance(target, GaussianTarget):                             # fields given as lists become arrays
        target = GaussianTarget(np.asarray(target.mu, dtype=np.float64), np.asarray(target.Lambda, dtype=np.float64))
    D = state.x.shape[1]
    rng = check_rng(rng)
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    eps = positive_scalar(step_size, "step_size") if method != 3 else 1.0
    n_leap = check_int(n_leapfrog, "n_leapfrog", minimum=1)
    if method == 3 and not isinstance(target, GaussianTarget):
        raise ValueError("method 'gibbs' needs a GaussianTarget (its full conditionals are Gaussian); got "
                         f"{type(target).__name__}.")
    if keep is None:
        keep = np.arange(D)
    else:
        keep = np.asarray(keep)
        if keep.ndim != 1 or keep.dtype.kind not in "iu" or keep.size == 0 or keep.min() < 0 or keep.max() >= D:
            raise ValueError(f"keep must be a non-empty 1-D array of coordinate indices in [0, {D}); got {keep!r}.")
    keep = np.ascontiguousarray(keep, dtype=np.int64)
    C = state.x.shape[0]
    x, logp, f = state.x.copy(), state.log_p.copy(), state.force.copy()
    n_acc = np.zeros(C)
    trace = np.empty((n_steps, C, keep.size))
    block = max(1, min(n_steps, (1 << 18) // max(1, C * D)))          # noise memory stays about 2 MB
    use_numba = backend == "numba" and not isinstance(target, PythonTarget)
    if use_numba:
        kind, mu, Lam, theta, indptr, indices, values = arrays_of_checked_target(target)
    for t0 in range(0, n_steps, block):
        T = min(block, n_steps - t0)
        Z, log_U = _draw(method, rng, T, C, D)
        if use_numba:
            _block_numba(method, kind, mu, Lam, theta, indptr, indices, values, eps, n_leap, x, logp, f, Z,
                         log_U, n_acc, trace[t0:t0 + T], keep)
        else:
            _block_numpy(method, target, eps, n_leap, x, logp, f, Z, log_U, n_acc, trace[t0:t0 + T], keep)
    new = ChainState(x, logp, f, state.n_accept + n_acc, state.n_steps + n_steps)
    return SampleResult(new, trace, n_acc / n_steps)


def sample(target, state: ChainState, n_steps: int, rng: np.random.Generator, *, method: str = "rwmh",
           step_size: float = 0.5, n_leapfrog: int = 10, keep=None, backend: str = "numba") -> SampleResult:
    r"""Run ``n_steps`` steps of one sampler on every chain and record a trace.

    Parameters
    ----------
    target : Banana, GaussianTarget or PythonTarget
    state : ChainState
        From :func:`init_chains` or a previous call.
    n_steps : int
    rng : numpy.random.Generator
        All randomness: normals for proposals (or momenta) and uniforms for the accept tests,
        drawn in blocks and passed to the kernel.
    method : {"rwmh", "mala", "hmc", "gibbs"}
    step_size : float
        Proposal standard deviation :math:`\sigma` (``rwmh``), Langevin step :math:`\epsilon` of
        Eq. 8.44 (``mala``) or leapfrog step (``hmc``); must be positive. Ignored by ``gibbs``.
    n_leapfrog : int
        Leapfrog steps per HMC proposal.
    keep : array of int, optional
        Coordinates to record (all by default): ``trace`` has shape ``(n_steps, C, len(keep))``.
    backend : {"numba", "numpy"}

    Returns
    -------
    SampleResult

    Raises
    ------
    TypeError, ValueError
        If ``target`` or ``state`` is malformed (:func:`~pedagogy_lib.samplers.targets.check_target`,
        :func:`check_chain_state`; ``state`` must hold the target's log density and force at
        ``state.x``), or an option is out of range.
    """
    return _run(method, target, state, n_steps, rng, step_size, n_leapfrog, keep, backend)


def rwmh_step(target, state: ChainState, step_size: float, rng: np.random.Generator, *,
              backend: str = "numba") -> ChainState:
    r"""One random-walk Metropolis-Hastings step, :math:`\mathbf x' = \mathbf x + \sigma\mathbf z`, for every chain.

    Raises
    ------
    TypeError, ValueError
        If ``target`` or ``state`` is malformed (:func:`~pedagogy_lib.samplers.targets.check_target`,
        :func:`check_chain_state`; ``state`` must hold the target's log density and force at
        ``state.x``), or an option is out of range.
    """
    return _run("rwmh", target, state, 1, rng, step_size, 1, None, backend).state


def mala_step(target, state: ChainState, step_size: float, rng: np.random.Generator, *,
              backend: str = "numba") -> ChainState:
    r"""One MALA step: the Langevin move of Eq. 8.44 as a proposal, then the Metropolis-Hastings test.

    Raises
    ------
    TypeError, ValueError
        If ``target`` or ``state`` is malformed (:func:`~pedagogy_lib.samplers.targets.check_target`,
        :func:`check_chain_state`; ``state`` must hold the target's log density and force at
        ``state.x``), or an option is out of range.
    """
    return _run("mala", target, state, 1, rng, step_size, 1, None, backend).state


def hmc_step(target, state: ChainState, step_size: float, n_leapfrog: int, rng: np.random.Generator, *,
             backend: str = "numba") -> ChainState:
    """One HMC step: fresh momentum, ``n_leapfrog`` leapfrog steps (:func:`leapfrog`), energy test.

    Raises
    ------
    TypeError, ValueError
        If ``target`` or ``state`` is malformed (:func:`~pedagogy_lib.samplers.targets.check_target`,
        :func:`check_chain_state`; ``state`` must hold the target's log density and force at
        ``state.x``), or an option is out of range.
    """
    return _run("hmc", target, state, 1, rng, step_size, n_leapfrog, None, backend).state


def gibbs_step(target: GaussianTarget, state: ChainState, rng: np.random.Generator, *,
               backend: str = "numba") -> ChainState:
    r"""One systematic-scan Gibbs sweep on a Gaussian target: :math:`x_i \sim p(x_i\mid\mathbf x_{\setminus i})` for each :math:`i`.

    The full conditional is :math:`\mathcal N\big(\mu_i - \Lambda_{ii}^{-1}\sum_{j\ne i}\Lambda_{ij}(x_j-\mu_j),\ \Lambda_{ii}^{-1}\big)`.

    Raises
    ------
    TypeError, ValueError
        If ``target`` or ``state`` is malformed (:func:`~pedagogy_lib.samplers.targets.check_target`,
        :func:`check_chain_state`; ``state`` must hold the target's log density and force at
        ``state.x``), or an option is out of range.
    """
    return _run("gibbs", target, state, 1, rng, 1.0, 1, None, backend).state


def acceptance_rate(state: ChainState) -> np.ndarray:
    """Fraction of proposals accepted by each chain since :func:`init_chains`.

    Raises
    ------
    TypeError, ValueError
        If ``state`` is malformed (:func:`check_chain_state`) or has taken no step.
    """
    state = check_chain_state(state)
    if state.n_steps < 1:
        raise ValueError("state.n_steps must be at least 1 to have an acceptance rate; got 0.")
    return state.n_accept / state.n_steps


def warmup_kernels() -> None:
    """Compile (or load from the cache) the fused kernel for every method and both built-in targets."""
    from .targets import ar1_gaussian, banana
    rng = np.random.default_rng(0)
    for t in (banana(1.0, 1.0), ar1_gaussian(3, 0.5)):
        D = check_target(t)
        st = init_chains(t, np.zeros((2, D)))
        for m in METHODS:
            if m == "gibbs" and not isinstance(t, GaussianTarget):
                continue
            sample(t, st, 2, rng, method=m, step_size=0.1, n_leapfrog=2)
