r"""4DVar: smoothing as optimization over a window, with gradients from the adjoint model.

The 4DVar notes write the state estimate as :math:`\mathbf x^* = \arg\min_{\mathbf x} J(\mathbf x)`.
With the model of :mod:`pedagogy_lib.assimilation.model`, :math:`J` is the negative log posterior
of the states over a window of :math:`T` observations (up to a constant), written with
:math:`\lVert\mathbf v\rVert^2_{\mathbf S^{-1}} = \mathbf v^T\mathbf S^{-1}\mathbf v`:

**Strong constraint** (the model is perfect; the control is the initial state only):

.. math::
    J(\mathbf x_1) = \tfrac12\lVert\mathbf x_1 - \boldsymbol\mu_1\rVert^2_{\boldsymbol\Sigma_1^{-1}}
      + \tfrac12\sum_{t=1}^T\lVert\mathbf y_t - \mathbf C\,\mathcal M_{1\to t}(\mathbf x_1) - \mathbf c\rVert^2_{\boldsymbol\Sigma_{\hat y|\hat x}^{-1}}.

**Weak constraint** (model error :math:`\mathbf x_t - \mathcal M(\mathbf x_{t-1})` with covariance
:math:`\boldsymbol\Sigma_{\hat x}`, the notes' autoregressive prior; the control is the whole trajectory):

.. math::
    J(\mathbf x_{1:T}) = \tfrac12\lVert\mathbf x_1 - \boldsymbol\mu_1\rVert^2_{\boldsymbol\Sigma_1^{-1}}
      + \tfrac12\sum_{t=2}^T\lVert\mathbf x_t - \mathcal M(\mathbf x_{t-1})\rVert^2_{\boldsymbol\Sigma_{\hat x}^{-1}}
      + \tfrac12\sum_{t=1}^T\lVert\mathbf y_t - \mathbf C\mathbf x_t - \mathbf c\rVert^2_{\boldsymbol\Sigma_{\hat y|\hat x}^{-1}}.

The gradient of the strong-constraint cost is one backward sweep of the adjoint model,
:math:`\boldsymbol\lambda_t = \mathbf M_t^T\boldsymbol\lambda_{t+1} - \mathbf C^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}\mathbf r_t`
with :math:`\mathbf r_t` the residual, and
:math:`\nabla J = \boldsymbol\Sigma_1^{-1}(\mathbf x_1 - \boldsymbol\mu_1) + \boldsymbol\lambda_1`
(the recursion of backpropagation through time, Section 5.1.3). The weak-constraint gradient
needs one adjoint step per model-error term.

For a linear model both costs are quadratic and are solved exactly (``method="exact"``): the
weak-constraint minimizer is the RTS smoother's means and the inverse Hessian's diagonal blocks
are its covariances (Eqs. 2.50-2.55); the strong-constraint minimizer equals the smoother when
:math:`\boldsymbol\Sigma_{\hat x} = \mathbf 0`. Nonlinear costs are minimized by L-BFGS
(:func:`scipy.optimize.minimize`), and the reported covariances are the inverse Gauss-Newton Hessian's.

The cost and gradient evaluations are compiled (:mod:`pedagogy_lib.assimilation.kernels`: for the
strong constraint the observation half and the background term, each in the storage
:func:`window_storage` chose for the window; :func:`~pedagogy_lib.assimilation.kernels.weak_cost_grad`);
their NumPy twins are here, on the dense matrices.
"""
from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize

from ..core.checks import as_array, check_backend, check_buffer, check_choice, check_int, check_spd, replaced_fields
from ..core.jit import choose
from . import kernels
from .lorenz import cycle_adjoint_numpy, cycle_forward_numpy, cycle_jacobian, integrate
from .model import DAModel, check_model, check_observations, check_truth, make_result

__all__ = ["StrongProblem", "window_storage", "strong_problem", "strong_cost_grad", "weak_cost_grad", "strong_4dvar",
           "weak_4dvar", "cycle_4dvar", "strong_hessian", "weak_hessian"]

#: Above this many unknowns (n T) the weak-constraint covariances are not formed.
MAX_DENSE = 3000


# ------------------------------------------------------------------------------------------------
# NumPy twins
# ------------------------------------------------------------------------------------------------

def strong_cost_grad_numpy(flow, x1, mu1, B_inv, y, C, c, R_inv):
    """Twin of the compiled strong-constraint cost (:func:`pedagogy_lib.assimilation.kernels.strong_misfit_grad`
    or ``strong_misfit_grad_selection``, plus ``background_dense`` or ``background_diagonal``), on the dense
    matrices; returns ``(J, grad, trajectory)``."""
    kind, theta, dt, n_steps = flow
    T = y.shape[0]
    traj, stages = [x1], []
    for _ in range(1, T):
        nxt, st = cycle_forward_numpy(kind, theta, dt, n_steps, traj[-1])
        traj.append(nxt)
        stages.append(st)
    traj = np.array(traj)
    R = y - traj @ C.T - c
    W = R @ R_inv.T
    J = 0.5 * (x1 - mu1) @ B_inv @ (x1 - mu1) + 0.5 * np.sum(R * W)
    lam = -C.T @ W[T - 1]
    for t in range(T - 2, -1, -1):
        lam = cycle_adjoint_numpy(kind, theta, dt, n_steps, stages[t], lam) - C.T @ W[t]
    return J, lam + B_inv @ (x1 - mu1), traj


def weak_cost_grad_numpy(flow, X, mu1, B_inv, Q_inv, y, C, c, R_inv):
    """Twin of :func:`pedagogy_lib.assimilation.kernels.weak_cost_grad`; returns ``(J, grad)``."""
    kind, theta, dt, n_steps = flow
    R = y - X @ C.T - c
    W = R @ R_inv.T
    grad = -W @ C
    grad[0] += B_inv @ (X[0] - mu1)
    J = 0.5 * (X[0] - mu1) @ B_inv @ (X[0] - mu1) + 0.5 * np.sum(R * W)
    if X.shape[0] > 1:
        F, stages = cycle_forward_numpy(kind, theta, dt, n_steps, X[:-1])      # all steps at once
        Eps = X[1:] - F
        Qe = Eps @ Q_inv.T
        J += 0.5 * np.sum(Eps * Qe)
        grad[1:] += Qe
        grad[:-1] -= cycle_adjoint_numpy(kind, theta, dt, n_steps, stages, Qe)
    return J, grad


# ------------------------------------------------------------------------------------------------
# Validation and public cost functions
# ------------------------------------------------------------------------------------------------

def _prepare(model, y, truth, backend, *, weak: bool):
    """The per-call checks of a public function: the model was validated when built, and what the cost
    needs from it (inverse covariances, storages) was derived once and kept with it (:func:`_window`).
    ``backend`` comes back checked, ``"auto"`` still undecided (:func:`_decide`)."""
    model, (n, m) = check_model(model)
    y = check_observations(y, m)
    truth = check_truth(truth, y.shape[0], n)
    backend = _checked(backend)
    w = _window(model)
    return model, y, truth, backend, w.B_inv, w.R_inv, (_model_error_precision(model) if weak else None)


# ------------------------------------------------------------------------------------------------
# backend="auto": one decision per public call, by the registry's estimate (core/costs.py)
# ------------------------------------------------------------------------------------------------

def _checked(backend) -> str:
    """``backend`` checked, with ``"auto"`` kept for the call to decide at its sizes (``"numpy"`` without numba)."""
    resolved = check_backend(backend)
    return "auto" if backend == "auto" and resolved == "numba" else resolved


def _sizes(model, T: int, evaluations: int = 1) -> dict:
    """The sizes the registered estimates of the 4DVar costs take, for windows of ``T`` observations: the RK4
    steps of a window, the state and output dimensions, and the evaluations of the cost the call may make."""
    d = model.dynamics
    return dict(steps=(T - 1) * d.n_steps, n=d.n, T=T, m=model.C.shape[0], evaluations=evaluations)


def _weak_sizes(model, T: int, evaluations: int = 1) -> dict:
    """The sizes of the registered estimate of the weak-constraint cost: the RK4 steps of one cycle (the twin runs
    the ``T - 1`` model-error terms together), the dimensions, ``T`` and the evaluations."""
    d = model.dynamics
    return dict(n_steps=d.n_steps, n=d.n, T=T, m=model.C.shape[0], evaluations=evaluations)


#: The kernels the rule of ``backend="auto"`` asks about (their registry entries), taken once at import: the
#: strong-constraint misfit by storage, the weak-constraint cost, and the tangent-linear cycle of the Hessians.
_MISFIT_KERNELS = {"selection": kernels.strong_misfit_grad_selection, "dense": kernels.strong_misfit_grad}
_WEAK_KERNEL = kernels.weak_cost_grad
_TANGENT_KERNEL = kernels.cycle_tlm


def _misfit_kernel(model, obs_storage=None):
    """The strong-constraint kernel the compiled path calls first for this storage (by default the storage
    :func:`strong_problem` would choose for ``model``): the rule asks about the kernel that will run."""
    if obs_storage is None:
        obs_storage = "selection" if _window(model).can_select else "dense"
    return _MISFIT_KERNELS[obs_storage]


def _decide(backend: str, kernel, sizes, *args) -> str:
    """``backend`` with ``"auto"`` decided by the registry's rule (:func:`pedagogy_lib.core.jit.choose`) at the sizes
    ``sizes(*args)`` (one of :func:`_sizes`, :func:`_weak_sizes`, :func:`_tangent_sizes`), which counts the twin's
    estimated work: call it once per public call and pass the answer down. A kernel compiled once is chosen
    from then on at the rule's first test, so an optimizer's loop of cheap calls pays almost nothing."""
    if backend != "auto":
        return backend
    return choose(kernel, **sizes(*args))


class _Window(NamedTuple):
    """What the costs need from a model, derived once per model: the inverse covariances, the storages
    the compiled strong-constraint cost may use (``can_select``, ``can_diagonal``), the selection
    ``(index, weight, r_inv)`` and diagonal ``b_inv`` they use (empty when not possible) and the flow
    map as the kernels take it. Arrays read-only, like the model's."""

    B_inv: np.ndarray
    R_inv: np.ndarray
    can_select: bool
    can_diagonal: bool
    selection: tuple
    b_inv: np.ndarray
    flow: tuple


_WINDOW_FIELDS = ("dynamics", "Sigma1", "C", "Sigma_y_x")


def _window(model) -> _Window:
    return model.derive("fourdvar.window", _WINDOW_FIELDS, _make_window)


def _readonly(arr):
    arr = np.ascontiguousarray(arr)
    arr.setflags(write=False)
    return arr


def _make_window(model) -> _Window:
    B_inv = _readonly(np.linalg.inv(model.Sigma1))
    R_inv = _readonly(np.linalg.inv(model.Sigma_y_x))
    obs, background = _storage(model.C, B_inv, R_inv)
    selection, b_inv = (np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)), np.zeros(0)
    if obs == "selection":
        index = np.argmax(model.C != 0, axis=1).astype(np.int64)
        # copies: np.diag gives a strided view, for which numba would compile the kernels again
        selection = (index, model.C[np.arange(model.C.shape[0]), index], np.diag(R_inv).copy())
    if background == "diagonal":
        b_inv = np.diag(B_inv).copy()
    selection = tuple(_readonly(a) for a in selection)
    return _Window(B_inv, R_inv, obs == "selection", background == "diagonal", selection, _readonly(b_inv),
                   tuple(model.dynamics.flow))


def _model_error_precision(model):
    """The inverse of ``model.Sigma_x``, once per model; a ValueError if it is not positive definite."""
    def make(model):
        try:
            check_spd(model.Sigma_x, "Sigma_x")
        except ValueError as err:
            raise ValueError(f"weak-constraint 4DVar needs a positive definite model-error covariance: {err} "
                             "(with Sigma_x = 0 use strong_4dvar).") from None
        return _readonly(np.linalg.inv(model.Sigma_x))
    return model.derive("fourdvar.Q_inv", ("Sigma_x",), make)


def _strong_eval(problem, x1, backend):
    """``(J, grad, trajectory)`` on ``backend`` (decided: ``"numba"`` or ``"numpy"``); with numba the trajectory is
    the window's work array (copy it to keep it)."""
    model, y = problem.model, problem.y
    if backend == "numpy":
        return strong_cost_grad_numpy(model.dynamics.flow, x1, model.mu1, problem.B_inv, y, model.C, model.c,
                                      problem.R_inv)
    traj, stages = problem.work
    grad = np.empty(model.dynamics.n)
    if problem.obs_storage == "selection":
        index, weight, r_inv = problem.selection
        J = kernels.strong_misfit_grad_selection(problem.flow, x1, y, index, weight, model.c, r_inv, traj, stages,
                                                 grad)
    else:
        J = kernels.strong_misfit_grad(problem.flow, x1, y, model.C, model.c, problem.R_inv, traj, stages, grad)
    if problem.background_storage == "diagonal":
        J += kernels.background_diagonal(problem.b_inv, x1, model.mu1, grad)
    else:
        J += kernels.background_dense(problem.B_inv, x1, model.mu1, grad)
    return J, grad, traj


def _weak_eval(model, X, y, B_inv, Q_inv, R_inv, backend):
    d = model.dynamics
    if backend == "numba":
        grad = np.empty_like(X)
        J = kernels.weak_cost_grad(d.flow, X, model.mu1, B_inv, Q_inv, y, model.C, model.c, R_inv,
                                   np.empty((d.n_steps, 4, d.n)), grad)
        return J, grad
    return weak_cost_grad_numpy(d.flow, X, model.mu1, B_inv, Q_inv, y, model.C, model.c, R_inv)


def window_storage(C, B_inv, R_inv) -> tuple[str, str]:
    r"""How the compiled strong-constraint cost stores its matrices: ``(obs_storage, background_storage)``.

    ``obs_storage`` is ``"selection"`` when every row of the observation matrix ``C`` (m, n) has
    exactly one nonzero entry (a coordinate selection, possibly scaled) and ``R_inv`` (m, m), the
    inverse of :math:`\boldsymbol\Sigma_{\hat y|\hat x}`, is diagonal: the misfit
    :math:`\mathbf C\mathbf x_t`, its weighting and the adjoint's forcing
    :math:`\mathbf C^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}\mathbf r_t` then cost O(m) per time
    instead of O(mn + m^2). Otherwise ``"dense"``: three matrix products over all times at once.
    ``background_storage`` is ``"diagonal"`` when ``B_inv`` (n, n), the inverse of
    :math:`\boldsymbol\Sigma_1`, is diagonal (O(n) instead of O(n^2) once per evaluation), otherwise
    ``"dense"``. Decided by structure alone, the same on every machine; every storage gives the same
    cost and gradient, to rounding.

    (A general sparse-row storage, as the samplers keep a sparse precision, was measured too: for a
    coordinate selection its loops over each row's nonzero entries took four times as long as the
    selection's, 47 against 10 µs per evaluation at n = 640, m = 320, T = 20.)

    Raises
    ------
    TypeError, ValueError
        If an argument is not a real array of its shape.
    """
    C = as_array(C, "C", ndim=2, dims="(m, n)")
    m, n = C.shape
    B_inv = as_array(B_inv, "B_inv", shape=(n, n), dims="(n, n)")
    R_inv = as_array(R_inv, "R_inv", shape=(m, m), dims="(m, m)")
    return _storage(C, B_inv, R_inv)


def _is_diagonal(A):
    return np.count_nonzero(A) == np.count_nonzero(np.diag(A))


def _storage(C, B_inv, R_inv):
    selection = bool(np.all(np.count_nonzero(C, axis=1) == 1)) and _is_diagonal(R_inv)
    return ("selection" if selection else "dense"), ("diagonal" if _is_diagonal(B_inv) else "dense")


class _StrongProblemFields(NamedTuple):
    model: DAModel
    y: np.ndarray
    B_inv: np.ndarray
    R_inv: np.ndarray
    backend: str
    obs_storage: str
    background_storage: str
    selection: tuple
    b_inv: np.ndarray
    flow: tuple
    work: tuple


_PROBLEM_INPUTS = ("model", "y", "backend", "obs_storage", "background_storage")


class StrongProblem(_StrongProblemFields):
    """A strong-constraint window validated once (:func:`strong_problem`): the checked model and
    observations, the inverse covariances the cost uses, the backend, and what the compiled cost
    takes: the storages :func:`window_storage` chose, the selection ``(index, weight, r_inv)`` (row
    ``k`` of ``C`` has its one nonzero ``weight[k]`` in column ``index[k]``; ``r_inv`` the diagonal of
    ``R_inv``; empty arrays for dense observations), the diagonal ``b_inv`` of ``B_inv`` (empty when
    dense), the flow map as the kernels take it, ``(kind, theta, dt, n_steps)`` (a plain tuple:
    numba receives it in a third of the time of the named :class:`~pedagogy_lib.assimilation.kernels.Flow`),
    and ``work``, the trajectory (T, n) and RK4-stage (T - 1, n_steps, 4, n) arrays the compiled
    cost writes at every evaluation, allocated once (the kernels hold the interpreter lock, so
    evaluations from several threads run one after another; the NumPy twin does not use them).

    Validated when built, however it is built: by :func:`strong_problem`, by hand, by ``_make`` or by
    ``_replace``. Built by hand, every field is checked against the model and the observations (the
    inverses, the selection, the diagonal and the flow must be those :func:`strong_problem` derives;
    the work arrays writeable float64 of their shapes). ``_replace`` of the model, the observations,
    the backend or a storage derives the other fields again (the storages too, when the model is
    replaced and they are not given). The observations are the window's own copy.

    Raises
    ------
    TypeError, ValueError
        If a field disagrees with the model, the observations or the storages.
    """

    def __new__(cls, model, y, B_inv, R_inv, backend, obs_storage, background_storage, selection, b_inv, flow,
                work):
        model, (n, m) = check_model(model)
        y = check_observations(y, m)
        backend = _checked(backend)
        w = _window(model)
        obs, background = _check_storage((obs_storage, background_storage), w)
        want = _problem(model, y, backend, (obs, background))
        for name, given in (("B_inv", B_inv), ("R_inv", R_inv), ("b_inv", b_inv)):
            if not _same(given, getattr(want, name)):
                raise ValueError(f"{name} must be what strong_problem derives from the model (the inverse covariance "
                                 f"or its diagonal for this storage); got another array. Build the window with "
                                 "strong_problem(model, y).")
        if not (isinstance(selection, tuple) and len(selection) == 3
                and all(_same(a, b) for a, b in zip(selection, want.selection))):
            raise ValueError("selection must be the (index, weight, r_inv) strong_problem derives from model.C and "
                             "model.Sigma_y_x for this storage; build the window with strong_problem(model, y).")
        if not (isinstance(flow, tuple) and len(flow) == 4 and flow[0] == want.flow[0]
                and _same(flow[1], want.flow[1]) and flow[2:] == want.flow[2:]):
            raise ValueError("flow must be model.dynamics.flow as a tuple (kind, theta, dt, n_steps); got "
                             f"{flow!r:.80}.")
        if not (isinstance(work, tuple) and len(work) == 2):
            raise TypeError(f"work must be a pair (trajectory, stages) of arrays; got {type(work).__name__}.")
        T = y.shape[0]
        check_buffer(work[0], "work[0] (trajectory)", (T, n), dims="(T, n)")
        check_buffer(work[1], "work[1] (stages)", want.work[1].shape, dims="(max(T - 1, 1), n_steps, 4, n)")
        return super().__new__(cls, model, y.copy(), want.B_inv, want.R_inv, backend, obs, background,
                               want.selection, want.b_inv, want.flow, work)

    @classmethod
    def _make(cls, iterable):
        return cls(*iterable)

    def _replace(self, /, **changes):
        values = replaced_fields(self, changes)
        if any(k in changes for k in _PROBLEM_INPUTS):
            storage = None
            if "model" not in changes or "obs_storage" in changes or "background_storage" in changes:
                storage = (values["obs_storage"], values["background_storage"])
            fresh = strong_problem(values["model"], values["y"], backend=values["backend"], storage=storage)
            for name in set(self._fields) - set(changes):
                values[name] = getattr(fresh, name)
        return type(self)(**values)


def _same(a, b) -> bool:
    """Whether ``a`` is ``b``, or an array equal to it of the same dtype and shape."""
    if a is b:
        return True
    a = np.asarray(a)
    return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(a, b))


def strong_problem(model: DAModel, y, *, backend: str = "auto", storage=None) -> StrongProblem:
    r"""Validate a strong-constraint window once and invert its covariances
    :math:`\boldsymbol\Sigma_1` and :math:`\boldsymbol\Sigma_{\hat y|\hat x}`.

    Pass the result to :func:`strong_cost_grad` in place of the model and observations to evaluate
    :math:`J` and its gradient many times (an optimizer's loop, a gradient check) at the cost of the
    adjoint sweep alone.

    ``storage`` is the pair ``(obs_storage, background_storage)`` the compiled cost uses for ``C``
    and the inverse covariances; by default :func:`window_storage` decides it, once per model, from
    their nonzero entries (a coordinate selection with diagonal covariances is applied in O(m) per
    time instead of O(mn)). ``("dense", "dense")`` asks for the dense products whatever the
    structure; every storage gives the same cost and gradient, to rounding. The ``"numpy"`` backend
    always uses the dense matrices. The inverses and the storages are kept with the model, so a
    second window of the same model inverts nothing.

    ``backend`` is kept with the window: ``"numba"`` or ``"numpy"`` outright, or ``"auto"`` (the default),
    which each :func:`strong_cost_grad` on the window decides for itself by the estimated work of one
    evaluation (:func:`pedagogy_lib.core.jit.choose`): an optimizer's loop runs the twin until the twin's work
    would pay for compiling, then the compiled cost.
    """
    model, y, _, backend, _, _, _ = _prepare(model, y, None, backend, weak=False)
    if storage is not None:
        storage = _check_storage(storage, _window(model))
    problem = _problem(model, y.copy(), backend, storage)
    return problem


def _check_storage(storage, w):
    if not (isinstance(storage, tuple) and len(storage) == 2):
        raise TypeError(f"storage must be a pair (obs_storage, background_storage); got {storage!r}.")
    obs = check_choice(storage[0], "storage[0] (obs_storage)", ("dense", "selection"))
    background = check_choice(storage[1], "storage[1] (background_storage)", ("dense", "diagonal"))
    if obs == "selection" and not w.can_select:
        raise ValueError("storage 'selection' needs every row of C to have exactly one nonzero entry and a diagonal "
                         "Sigma_y_x; this C or Sigma_y_x has other entries (use 'dense').")
    if background == "diagonal" and not w.can_diagonal:
        raise ValueError("storage 'diagonal' for the background needs a diagonal Sigma1; this Sigma1 has "
                         "off-diagonal entries (use 'dense').")
    return obs, background


_NO_SELECTION = (np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))
_NO_DIAGONAL = np.zeros(0)
for _a in (*_NO_SELECTION, _NO_DIAGONAL):
    _a.setflags(write=False)


def _work(model, T):
    """The trajectory (T, n) and RK4-stage (max(T - 1, 1), n_steps, 4, n) arrays of a window of length ``T``,
    zeroed, so that a problem returned before any evaluation holds no leftover memory (the same on every
    backend and run)."""
    n = model.dynamics.n
    return np.zeros((T, n)), np.zeros((max(T - 1, 1), model.dynamics.n_steps, 4, n))


def _problem(model, y, backend, storage=None, shared_work=False):
    """The window of a validated model and checked observations, with no further check (internal).

    ``shared_work``: the work arrays are those kept with the model for windows of this length (for a
    caller that returns nothing of them: the compiled cost holds the interpreter lock while it writes)."""
    w = _window(model)
    if storage is None:
        storage = ("selection" if w.can_select else "dense"), ("diagonal" if w.can_diagonal else "dense")
    obs_storage, background_storage = storage
    selection = w.selection if obs_storage == "selection" else _NO_SELECTION
    b_inv = w.b_inv if background_storage == "diagonal" else _NO_DIAGONAL
    T = y.shape[0]
    work = (model.derive(f"fourdvar.work.{T}", ("dynamics",), lambda mdl: _work(mdl, T)) if shared_work
            else _work(model, T))
    return _StrongProblemFields.__new__(StrongProblem, model, y, w.B_inv, w.R_inv, backend, obs_storage,
                                        background_storage, selection, b_inv, w.flow, work)


def strong_cost_grad(model, x1, y=None, *, backend: str = "auto") -> tuple[float, np.ndarray]:
    r"""The strong-constraint cost :math:`J(\mathbf x_1)` and its gradient by the adjoint (one backward sweep).

    Parameters
    ----------
    model : DAModel or StrongProblem
        The model (then ``y`` is required), or a window already validated by :func:`strong_problem`
        (then ``y`` and ``backend`` come from it).
    x1 : array_like, shape (n,)
        The initial state of the window (the control variable).
    y : array_like, shape (T, m), optional
        The window's observations.
    backend : {"auto", "numba", "numpy"}
        The compiled cost or its NumPy twin; ``"auto"`` decides once per call by the twin's estimated work
        (:func:`pedagogy_lib.core.jit.choose`).

    Returns
    -------
    J : float
    grad : ndarray, shape (n,)

    A :class:`~pedagogy_lib.assimilation.model.DAModel` was validated when it was built and keeps
    what the cost derives from it (the inverse covariances and storages, on its first use), so a call
    checks only its data: ``x1`` and ``y`` of the right kind go straight to the compiled cost, and a
    NaN or infinity in either, which makes the cost non-finite, is named after it. One call runs the
    model forward once, storing its stages, and back once (the adjoint sweep).
    """
    if isinstance(model, StrongProblem):
        if y is not None:
            raise ValueError("y comes from the StrongProblem; pass y to strong_problem, not here.")
        problem = model
        backend = _decide(problem.backend, _misfit_kernel(problem.model, problem.obs_storage),
                          _sizes, problem.model, problem.y.shape[0])
    else:
        if y is None:
            raise ValueError("y (T, m), the window's observations, is required with a DAModel.")
        model, (n, m) = check_model(model)
        backend = _checked(backend)
        # the compiled path takes y of the right kind as it is: a NaN or inf in it makes J non-finite,
        # and the full check below names it then (as for x1)
        clean_y = (type(y) is np.ndarray and y.ndim == 2 and y.shape[1] == m and y.shape[0] and y.dtype == np.float64
                   and y.flags.c_contiguous and y.flags.writeable)
        if not clean_y:
            y = check_observations(y, m)
        backend = _decide(backend, _misfit_kernel(model), _sizes, model, y.shape[0])
        if clean_y and backend != "numba":
            y = check_observations(y, m)
        problem = _problem(model, y, backend, shared_work=True)
    n = problem.model.dynamics.n
    # the compiled path takes a clean x1 as it is (NumPy would warn about a NaN before the check named it);
    # another is copied, writeable, so that the kernels meet one array type (a read-only x1, such as a
    # model's own mu1, would make numba compile a second version of each)
    clean = (backend == "numba" and type(x1) is np.ndarray and x1.dtype == np.float64 and x1.shape == (n,)
             and x1.flags.c_contiguous and x1.flags.writeable)
    if not clean:
        x1 = np.array(as_array(x1, "x1", shape=(n,), dims="(n,)"))
    J, g, _ = _strong_eval(problem, x1, backend)
    if not math.isfinite(J):
        # a NaN or inf in x1 makes the background term, and so J, non-finite (Sigma1 is positive
        # definite): the full check names x1 then, or y if the window's copy was edited in place; a
        # finite x1 whose trajectory overflowed passes both
        as_array(x1, "x1", shape=(n,), dims="(n,)")
        check_observations(problem.y, problem.model.c.shape[0])
    return float(J), g


def weak_cost_grad(model: DAModel, X, y, *, backend: str = "auto") -> tuple[float, np.ndarray]:
    r"""The weak-constraint cost :math:`J(\mathbf x_{1:T})` and its gradient (adjoint of each model step).

    ``X`` (T, n) is the trajectory; ``model.Sigma_x`` must be positive definite. ``backend`` as in
    :func:`strong_cost_grad`.
    """
    model, y, _, backend, B_inv, R_inv, Q_inv = _prepare(model, y, None, backend, weak=True)
    X = as_array(X, "X", shape=(y.shape[0], model.dynamics.n), dims="(T, n)")
    backend = _decide(backend, _WEAK_KERNEL, _weak_sizes, model, y.shape[0])
    J, g = _weak_eval(model, X, y, B_inv, Q_inv, R_inv, backend)
    return float(J), g


def _propagators(model, x1, T, backend):
    """The trajectory from x1 and the Jacobians M_{1->t} (T, n, n)."""
    n = model.dynamics.n
    Ms, traj = np.empty((T, n, n)), np.empty((T, n))
    Ms[0], traj[0] = np.eye(n), x1
    for t in range(1, T):
        traj[t], M = cycle_jacobian(model.dynamics, traj[t - 1], backend=backend)
        Ms[t] = M @ Ms[t - 1]
    return traj, Ms


def _tangent_sizes(model, T: int) -> dict:
    """The sizes of the registered estimate of ``cycle_tlm`` for the Jacobians of ``T - 1`` cycles (n rows each)."""
    d = model.dynamics
    return dict(steps=(T - 1) * d.n_steps, rows=d.n, n=d.n)


def strong_hessian(model: DAModel, x1, y, *, backend: str = "auto") -> np.ndarray:
    r"""Gauss-Newton Hessian of the strong-constraint cost at ``x1``:
    :math:`\boldsymbol\Sigma_1^{-1} + \sum_t \mathbf G_t^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}\mathbf G_t`,
    :math:`\mathbf G_t = \mathbf C\mathbf M_{1\to t}` (exact for a linear model). ``backend`` runs the
    tangent-linear model (:func:`~pedagogy_lib.assimilation.lorenz.cycle_jacobian`); ``"auto"`` decides once."""
    model, y, _, backend, B_inv, R_inv, _ = _prepare(model, y, None, backend, weak=False)
    x1 = as_array(x1, "x1", shape=(model.dynamics.n,), dims="(n,)")
    backend = _decide(backend, _TANGENT_KERNEL, _tangent_sizes, model, y.shape[0])
    _, Ms = _propagators(model, x1, y.shape[0], backend)
    G = model.C @ Ms                                  # (T, m, n)
    return B_inv + np.einsum("tmi,mk,tkj->ij", G, R_inv, G)


def weak_hessian(model: DAModel, X, y, *, backend: str = "auto") -> np.ndarray:
    r"""Gauss-Newton Hessian (n T, n T) of the weak-constraint cost at the trajectory ``X``: block
    tridiagonal, with diagonal blocks
    :math:`\mathbf C^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}\mathbf C + \boldsymbol\Sigma_{\hat x}^{-1} + \mathbf M_t^T\boldsymbol\Sigma_{\hat x}^{-1}\mathbf M_t`
    (the first with :math:`\boldsymbol\Sigma_1^{-1}` for :math:`\boldsymbol\Sigma_{\hat x}^{-1}`, the
    last without the :math:`\mathbf M_t` term) and off-diagonal blocks :math:`-\boldsymbol\Sigma_{\hat x}^{-1}\mathbf M_t`.
    Exact for a linear model. ``backend`` as in :func:`strong_hessian`."""
    model, y, _, backend, B_inv, R_inv, Q_inv = _prepare(model, y, None, backend, weak=True)
    T, n = y.shape[0], model.dynamics.n
    X = as_array(X, "X", shape=(T, n), dims="(T, n)")
    backend = _decide(backend, _TANGENT_KERNEL, _tangent_sizes, model, T)
    H = np.zeros((T * n, T * n))
    CRC = model.C.T @ R_inv @ model.C
    for t in range(T):
        blk = slice(t * n, (t + 1) * n)
        H[blk, blk] += CRC + (B_inv if t == 0 else Q_inv)
        if t < T - 1:
            _, M = cycle_jacobian(model.dynamics, X[t], backend=backend)
            nxt = slice((t + 1) * n, (t + 2) * n)
            H[blk, blk] += M.T @ Q_inv @ M
            H[nxt, blk] = -Q_inv @ M
            H[blk, nxt] = H[nxt, blk].T
    return H


def _cholesky_inverse(H, name):
    try:
        L = np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        raise ValueError(f"the {name} Hessian is not positive definite at the solution; no covariance. Its blocks "
                         "are the inverses of Sigma1, Sigma_x and Sigma_y_x: one of them is too far out of scale "
                         "with the others for float64.") from None
    Li = np.linalg.inv(L)
    return Li.T @ Li


#: Machine epsilon, and the multiple of it (times the cost) below which a predicted decrease of
#: the 4DVar cost is rounding (the "no longer decreases" rule of :func:`strong_4dvar`).
_EPS = float(np.finfo(float).eps)
_ROUNDING_ULPS = 64.0
#: At most this many gradient-judged Gauss-Newton steps polish an L-BFGS answer.
_POLISH_STEPS = 20


def _background_sd(model) -> float:
    """The largest background standard deviation, the unit in which 4DVar judges its gradient."""
    return float(np.sqrt(np.max(np.diag(model.Sigma1))))


def _minimize(fun, x0, max_iter, gtol, what, hessian=None, unit=1.0):
    r"""L-BFGS on the 4DVar cost, judged by our own stopping rule (scipy's ``success`` depends on rounding).

    L-BFGS stops when the cost no longer decreases in double precision (``ftol``), at a gradient of
    order :math:`\sqrt{\epsilon\,|J|\,h}` for curvature :math:`h`: above ``gtol`` on one machine and
    below on another. So, unless ``max_iter`` ran out, Gauss-Newton steps with ``hessian`` (at most
    :data:`_POLISH_STEPS`) follow, each kept only if it lowers the gradient and does not raise the
    cost beyond its rounding: the gradient resolves the minimum far below what the cost can.

    The gradient is judged in units of ``unit``, the largest background standard deviation (the gradient
    of the dimensionless cost has the units of 1 / x): the same stopping point when the states, means and
    observations are in other units and the covariances scale with their squares.

    Converged when, at the returned point, the largest gradient entry times ``unit`` is at most ``gtol``, or when
    the cost no longer decreases: the run ended before ``max_iter`` and the Gauss-Newton decrement
    :math:`\tfrac12\mathbf g^T\mathbf H^{-1}\mathbf g` (the decrease a Newton step would bring; the
    L-BFGS inverse-Hessian estimate stands in for :math:`\mathbf H^{-1}` without ``hessian``) is at
    most :math:`64\epsilon\max(1, |J|)`, the rounding level of the computed cost. Otherwise a
    ``RuntimeWarning`` names the method, the iteration count and the gradient.
    """
    res = minimize(fun, x0, jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter, "gtol": gtol / unit, "ftol": 1e-15, "maxcor": 20})
    x = res.x
    J, g = fun(x)
    out_of_iterations = int(res.nit) >= max_iter

    def decrement(x, g):
        if hessian is None:
            return 0.5 * float(g @ res.hess_inv.matvec(g))
        try:
            L = np.linalg.cholesky(hessian(x))
        except np.linalg.LinAlgError:
            return np.inf
        z = np.linalg.solve(L, g)
        return 0.5 * float(z @ z)

    if hessian is not None and not out_of_iterations and np.max(np.abs(g)) * unit > gtol:
        for _ in range(_POLISH_STEPS):
            try:
                d = -np.linalg.solve(hessian(x), g)
            except np.linalg.LinAlgError:
                break
            J_try, g_try = fun(x + d)
            if not (np.linalg.norm(g_try) < np.linalg.norm(g)
                    and J_try <= J + _ROUNDING_ULPS * _EPS * max(1.0, abs(float(J)))):
                break
            x, J, g = x + d, J_try, g_try
            if np.max(np.abs(g)) * unit <= gtol:
                break
    g_max = float(np.max(np.abs(g))) * unit
    converged = g_max <= gtol
    if not converged and not out_of_iterations:
        converged = decrement(x, g) <= _ROUNDING_ULPS * _EPS * max(1.0, abs(float(J)))
    if not converged:
        warnings.warn(f"{what}: L-BFGS did not converge in {int(res.nit)} iterations (max_iter = {max_iter}): the "
                      f"largest gradient entry times the background standard deviation is {g_max:.3g} > gtol = "
                      f"{gtol:.3g} and the cost can still decrease beyond its rounding.", RuntimeWarning, stacklevel=3)
    return x, int(res.nit)


def strong_4dvar(model: DAModel, y, *, method: str = "lbfgs", x_init=None, truth=None, max_iter: int = 500,
                 gtol: float = 1e-9, backend: str = "auto"):
    r"""Strong-constraint 4DVar over one window: the initial state that best explains ``y`` under a perfect model.

    Parameters
    ----------
    model : DAModel
        ``model.Sigma_x`` is ignored (the model is taken as perfect).
    y : array_like, shape (T, m)
    method : {"lbfgs", "exact"}
        L-BFGS with adjoint gradients, or (linear dynamics only) the exact solution
        :math:`\mathbf x_1^* = -\mathbf H^{-1}\nabla J(\mathbf 0)` of the quadratic cost.
    x_init : array_like, shape (n,), optional
        Starting point of the optimizer (default :math:`\boldsymbol\mu_1`).
    truth : array_like, shape (T, n), optional
    max_iter : int
    gtol : float
        Stopping rule: converged when every gradient component times the largest background standard
        deviation :math:`\max_i\sqrt{(\boldsymbol\Sigma_1)_{ii}}` is at most ``gtol`` (a stopping point
        that does not depend on the units of the state), or when the cost
        no longer decreases: L-BFGS stopped before ``max_iter`` and the Gauss-Newton decrement
        :math:`\tfrac12\mathbf g^T\mathbf H^{-1}\mathbf g` is at most :math:`64\epsilon\max(1, |J|)`
        (:math:`\epsilon` the machine epsilon), the rounding of the computed cost: the attainable
        minimum on any machine. Where L-BFGS stops because the cost no longer decreases, up to 20
        Gauss-Newton steps, each kept only if it lowers the gradient, carry the answer towards
        ``gtol``. Otherwise (``max_iter`` used up, or a decrement above rounding) a ``RuntimeWarning``.
    backend : {"auto", "numba", "numpy"}
        The compiled costs, Hessians and runs, or their NumPy twins. ``"auto"`` decides once for the whole call
        (:func:`pedagogy_lib.core.jit.choose`), weighing the twin's work for ``max_iter`` evaluations of the
        cost (one for ``method="exact"``): the longest run the call allows.

    Returns
    -------
    AssimilationResult
        ``mean`` is the trajectory from the optimal :math:`\mathbf x_1`; ``cov[t]`` is
        :math:`\mathbf M_{1\to t}\mathbf H^{-1}\mathbf M_{1\to t}^T` with :math:`\mathbf H` the
        (Gauss-Newton) Hessian; ``forecast_mean`` is the free run from :math:`\boldsymbol\mu_1`.
    """
    model, y, truth, backend, B_inv, R_inv, _ = _prepare(model, y, truth, backend, weak=False)
    method = check_choice(method, "method", ("lbfgs", "exact"))
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    n = model.dynamics.n
    backend = _decide(backend, _misfit_kernel(model), _sizes, model, y.shape[0], 1 if method == "exact" else max_iter)
    problem = _problem(model, y, backend)

    if method == "exact":
        if model.dynamics.kind != "linear":
            raise ValueError(f"method='exact' needs linear dynamics; got dynamics.kind = {model.dynamics.kind!r}.")
        H = strong_hessian(model, np.zeros(n), y, backend=backend)
        _, g0, _ = _strong_eval(problem, np.zeros(n), backend)
        x1, n_iter = -np.linalg.solve(H, g0), 0
    else:
        x0 = model.mu1 if x_init is None else as_array(x_init, "x_init", shape=(n,), dims="(n,)")

        def fun(x):
            J, g, _ = _strong_eval(problem, x, backend)
            return J, g

        x1, n_iter = _minimize(fun, x0, max_iter, gtol, "strong_4dvar",
                               lambda x: strong_hessian(model, x, y, backend=backend), _background_sd(model))
    J, _, traj = _strong_eval(problem, x1, backend)
    traj = traj.copy()
    H = strong_hessian(model, x1, y, backend=backend)
    P1 = _cholesky_inverse(H, "strong-constraint")
    _, Ms = _propagators(model, x1, y.shape[0], backend)
    cov = Ms @ P1 @ Ms.transpose(0, 2, 1)
    free = integrate(model.dynamics, model.mu1, y.shape[0] - 1, backend=backend)
    return make_result("strong-constraint 4DVar", traj, cov, None, free, truth, cost=J, n_iter=n_iter)


def weak_4dvar(model: DAModel, y, *, method: str = "lbfgs", X_init=None, truth=None, max_iter: int = 2000,
               gtol: float = 1e-9, backend: str = "auto"):
    r"""Weak-constraint 4DVar over one window: the whole trajectory, with model error of covariance ``Sigma_x``.

    Parameters
    ----------
    model : DAModel
        ``model.Sigma_x`` must be positive definite.
    y : array_like, shape (T, m)
    method : {"lbfgs", "exact"}
        L-BFGS with adjoint gradients, or (linear dynamics only) the exact solution of the
        block-tridiagonal normal equations.
    X_init : array_like, shape (T, n), optional
        Starting trajectory (default: the free run from :math:`\boldsymbol\mu_1`).
    truth, max_iter, gtol, backend
        As in :func:`strong_4dvar`.

    Returns
    -------
    AssimilationResult
        ``mean`` is the minimizing trajectory; ``cov[t]`` are the diagonal blocks of the inverse
        (Gauss-Newton) Hessian (``None`` above :data:`MAX_DENSE` unknowns).
    """
    model, y, truth, backend, B_inv, R_inv, Q_inv = _prepare(model, y, truth, backend, weak=True)
    method = check_choice(method, "method", ("lbfgs", "exact"))
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    T, n = y.shape[0], model.dynamics.n
    backend = _decide(backend, _WEAK_KERNEL, _weak_sizes, model, T, 1 if method == "exact" else max_iter)
    free = integrate(model.dynamics, model.mu1, T - 1, backend=backend)
    if method == "exact":
        if model.dynamics.kind != "linear":
            raise ValueError(f"method='exact' needs linear dynamics; got dynamics.kind = {model.dynamics.kind!r}.")
        H = weak_hessian(model, np.zeros((T, n)), y, backend=backend)
        _, g0 = _weak_eval(model, np.zeros((T, n)), y, B_inv, Q_inv, R_inv, backend)
        L = np.linalg.cholesky(H)
        X = -np.linalg.solve(L.T, np.linalg.solve(L, g0.ravel())).reshape(T, n)
        n_iter = 0
    else:
        X0 = free if X_init is None else as_array(X_init, "X_init", shape=(T, n), dims="(T, n)")

        def fun(v):
            J, g = _weak_eval(model, v.reshape(T, n), y, B_inv, Q_inv, R_inv, backend)
            return J, g.ravel()

        hessian = (lambda v: weak_hessian(model, v.reshape(T, n), y, backend=backend)) if T * n <= MAX_DENSE else None
        v, n_iter = _minimize(fun, X0.ravel(), max_iter, gtol, "weak_4dvar", hessian, _background_sd(model))
        X = v.reshape(T, n)
    J, _ = _weak_eval(model, X, y, B_inv, Q_inv, R_inv, backend)
    cov = None
    if T * n <= MAX_DENSE:
        Hinv = _cholesky_inverse(weak_hessian(model, X, y, backend=backend), "weak-constraint")
        cov = np.array([Hinv[t * n:(t + 1) * n, t * n:(t + 1) * n] for t in range(T)])
    return make_result("weak-constraint 4DVar", X, cov, None, free, truth, cost=J, n_iter=n_iter)


def cycle_4dvar(model: DAModel, y, *, window: int, constraint: str = "strong", truth=None, max_iter: int = 500,
                backend: str = "auto"):
    r"""4DVar cycled over consecutive windows of ``window`` observations.

    The first window's background is :math:`(\boldsymbol\mu_1, \boldsymbol\Sigma_1)`; each later
    window's background mean is the previous analysis run one cycle forward, with the same static
    covariance :math:`\boldsymbol\Sigma_1` (a climatological "B"). A last window shorter than
    ``window`` takes the remaining observations.

    Parameters
    ----------
    model : DAModel
    y : array_like, shape (T, m)
    window : int
        Observations per window, between 1 and ``T``.
    constraint : {"strong", "weak"}
    truth, max_iter, backend
        As in :func:`strong_4dvar`.

    Returns
    -------
    AssimilationResult
        The analysis trajectories of the windows, concatenated; ``forecast_mean`` holds each
        window's background trajectory; ``cost`` sums the windows' costs, ``n_iter`` their iterations.
    """
    model, (n, m) = check_model(model)
    y = check_observations(y, m)
    T = y.shape[0]
    truth = check_truth(truth, T, n)
    window = check_int(window, "window", minimum=1)
    if window > T:
        raise ValueError(f"window must be at most the number of observations T = {T}; got {window}.")
    constraint = check_choice(constraint, "constraint", ("strong", "weak"))
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    solve = strong_4dvar if constraint == "strong" else weak_4dvar
    # one decision for every window: the twin's work for max_iter evaluations of each window's cost
    evaluations = max_iter * -(-T // window)
    if constraint == "strong":
        backend = _decide(_checked(backend), _misfit_kernel(model), _sizes, model, window, evaluations)
    else:
        backend = _decide(_checked(backend), _WEAK_KERNEL, _weak_sizes, model, window, evaluations)
    means, covs, fmeans, cost, iters = [], [], [], 0.0, 0
    mu = model.mu1
    for start in range(0, T, window):
        sub = model._replace(mu1=mu)
        res = solve(sub, y[start:start + window], max_iter=max_iter, backend=backend)
        means.append(res.mean)
        covs.append(res.cov)
        fmeans.append(res.forecast_mean)
        cost += res.cost
        iters += res.n_iter
        mu = integrate(model.dynamics, res.mean[-1], 1, backend=backend)[-1]
    cov = None if any(c is None for c in covs) else np.concatenate(covs)
    return make_result(f"cycled {constraint}-constraint 4DVar", np.concatenate(means), cov, None,
                       np.concatenate(fmeans), truth, cost=cost, n_iter=iters)

