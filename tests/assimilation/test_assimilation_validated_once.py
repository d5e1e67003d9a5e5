"""A DAModel and a 4DVar window are validated once, when built; a public call then checks only its data
(issue 70: the public 4DVar gradient cost 79 forward runs, the validated window 3.15).

The cost of a gradient is counted, not timed: on a validated model the public call makes exactly one
call of a kernel that runs the model (the forward run storing its stages and the adjoint sweep, the
same kernel the validated window calls), one call of the background term, and no inversion,
factorization, eigenvalue problem or covariance check.
"""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib import assimilation as da
from pedagogy_lib.assimilation import fourdvar, kernels
from pedagogy_lib.assimilation import model as damodel

MODEL_KERNELS = ("integrate", "propagate", "cycle_forward", "cycle_adjoint", "cycle_tlm", "strong_forward",
                 "adjoint_sweep", "adjoint_sweep_selection", "strong_misfit_grad", "strong_misfit_grad_selection",
                 "weak_cost_grad")
LINALG = ("inv", "cholesky", "eigvalsh", "eigh", "solve", "det", "slogdet")
CHECKS = ((damodel, "check_spd"), (damodel, "check_psd"), (damodel, "check_dynamics"), (fourdvar, "check_spd"))


def _model(n=12, kind="lorenz96"):
    dyn = da.lorenz96(n) if kind == "lorenz96" else da.lorenz63()
    n = dyn.n
    C = np.eye(n)[::2]
    m = C.shape[0]
    return da.DAModel(dyn, np.full(n, 1.0), 2.0 * np.eye(n), np.zeros((n, n)), C, np.zeros(m), 0.5 * np.eye(m))


def _window(seed=0, T=6):
    mod = _model()
    x, y = da.simulate(mod, T, rng=np.random.default_rng(seed), spin_up=50)
    return mod, x[0] + 0.1, y


class Counts(dict):
    """Calls of the model's kernels, of numpy.linalg's factorizations and of the covariance checks,
    from :meth:`start` on (the data are simulated before: simulate's backend rule asks the kernels)."""

    def __init__(self, monkeypatch):
        super().__init__()
        self.monkeypatch = monkeypatch

    def _wrap(self, owner, name, label):
        inner = getattr(owner, name)

        def counted(*args, **kwargs):
            self[label] = self.get(label, 0) + 1
            return inner(*args, **kwargs)
        self.monkeypatch.setattr(owner, name, counted)

    def start(self):
        for name in MODEL_KERNELS + ("background_dense", "background_diagonal"):
            self._wrap(kernels, name, name)
        for name in LINALG:
            self._wrap(np.linalg, name, f"linalg.{name}")
        for owner, name in CHECKS:
            self._wrap(owner, name, f"{owner.__name__.rsplit('.', 1)[1]}.{name}")
        self.clear()


@pytest.fixture
def counts(monkeypatch):
    return Counts(monkeypatch)


@pytest.mark.parametrize("form", ["model", "window"])
def test_a_public_gradient_runs_the_model_once_and_validates_nothing_again(counts, form):
    mod, x1, y = _window()
    problem = da.strong_problem(mod, y)
    want = da.strong_cost_grad(problem, x1)
    counts.start()
    for _ in range(3):
        J, g = da.strong_cost_grad(mod, x1, y) if form == "model" else da.strong_cost_grad(problem, x1)
    # per call: one kernel running the model forward and back, one background term, nothing else
    assert counts == {"strong_misfit_grad_selection": 3, "background_diagonal": 3}
    assert J == want[0] and np.array_equal(g, want[1])


def test_dense_storage_counts_the_same(counts):
    mod, x1, y = _window()
    mod = mod._replace(C=mod.C + np.where(mod.C == 0, 1e-3, 0.0), Sigma1=mod.Sigma1 + 0.01)
    da.strong_cost_grad(mod, x1, y)                      # the first call derives the inverses, once
    counts.start()
    da.strong_cost_grad(mod, x1, y)
    da.strong_cost_grad(mod, x1, y)
    assert counts == {"strong_misfit_grad": 2, "background_dense": 2}


def test_the_inverses_are_derived_once_per_model_and_kept_by_replace_of_the_mean(counts):
    mod, x1, y = _window()
    mod = mod._replace(Sigma1=1.5 * mod.Sigma1)              # a model nothing was derived from yet
    counts.start()
    da.strong_cost_grad(mod, x1, y)
    assert counts.get("linalg.inv") == 2                    # Sigma1 and Sigma_y_x, on the first call
    counts.clear()
    shifted = mod._replace(mu1=mod.mu1 + 1.0)
    da.strong_cost_grad(shifted, x1, y)
    assert "linalg.inv" not in counts and "model.check_spd" not in counts
    noisier = mod._replace(Sigma_y_x=2.0 * mod.Sigma_y_x)
    assert counts.get("model.check_spd") == 1               # the one field replaced is checked
    J_noisier = da.strong_cost_grad(noisier, x1, y)[0]
    assert counts.get("linalg.inv") == 2                    # and a new field means new inverses
    J = da.strong_cost_grad(mod, x1, y)[0]
    assert J_noisier != J


def test_a_model_built_by_hand_by_make_or_by_replace_is_held_to_the_same_rules():
    mod = _model()
    n, m = mod.dynamics.n, mod.C.shape[0]
    fields = mod._asdict()
    bad = [("Sigma1", -np.eye(n), ValueError, "Sigma1 is not symmetric positive definite"),
           ("Sigma_y_x", np.zeros((m, m)), ValueError, "Sigma_y_x"),
           ("Sigma_x", -np.eye(n), ValueError, "Sigma_x"),
           ("mu1", np.ones(n + 1), ValueError, r"mu1 must have shape \(n,\)"),
           ("mu1", np.full(n, np.nan), ValueError, "mu1 must be finite"),
           ("C", np.ones((m, n + 1)), ValueError, r"C must have shape \(m, n\)"),
           ("c", np.ones(m + 1), ValueError, r"C must have shape \(m, n\)"),
           ("dynamics", "lorenz96", TypeError, "model.dynamics must be a Dynamics")]
    for field, value, err, match in bad:
        changed = {**fields, field: value}
        with pytest.raises(err, match=match):
            da.DAModel(**changed)
        with pytest.raises(err, match=match):
            da.DAModel._make(changed[f] for f in da.DAModel._fields)
        with pytest.raises(err, match=match):
            mod._replace(**{field: value})
    with pytest.raises(ValueError, match="no field"):
        mod._replace(Sigma=np.eye(n))


def test_a_models_arrays_are_its_own_and_read_only():
    dyn = da.lorenz96(6)
    Sigma1 = np.eye(6)
    mod = da.DAModel(dyn, np.zeros(6), Sigma1, np.zeros((6, 6)), np.eye(6), np.zeros(6), np.eye(6))
    Sigma1[0, 0] = -1.0                                      # the caller's array is not the model's
    assert mod.Sigma1[0, 0] == 1.0
    for field in mod._fields[1:]:
        with pytest.raises(ValueError, match="read-only"):
            getattr(mod, field)[0] = 0.0
    assert damodel.check_model(mod)[0] is mod


def test_a_window_built_by_hand_or_by_replace_is_held_to_the_same_rules():
    mod, x1, y = _window()
    problem = da.strong_problem(mod, y)
    fields = problem._asdict()
    again = da.StrongProblem(**fields)
    assert da.strong_cost_grad(again, x1)[0] == da.strong_cost_grad(problem, x1)[0]
    wrong = {"B_inv": np.eye(mod.dynamics.n), "R_inv": 3.0 * problem.R_inv,
             "selection": (problem.selection[0][::-1].copy(), *problem.selection[1:]),
             "b_inv": problem.b_inv + 1.0, "flow": (1, np.array([9.0]), 0.05, 1),
             "work": (np.empty((2, 2)), problem.work[1]), "obs_storage": "sparse",
             "y": y[:, :-1]}
    for field, value in wrong.items():
        with pytest.raises((ValueError, TypeError), match=field if field != "obs_storage" else "storage"):
            da.StrongProblem(**{**fields, field: value})
        with pytest.raises((ValueError, TypeError)):
            problem._replace(**{field: value})
    # replacing the observations derives the rest again: a longer window works and gives its own cost
    longer = da.simulate(mod, 9, rng=np.random.default_rng(3))[1]
    moved = problem._replace(y=longer)
    assert moved.work[0].shape == (9, mod.dynamics.n)
    J_moved = da.strong_cost_grad(moved, x1)[0]
    assert J_moved == pytest.approx(da.strong_cost_grad(mod, x1, longer)[0], rel=1e-14)
    # replacing the model re-decides the storage unless it is given
    dense = problem._replace(model=mod._replace(C=mod.C + np.where(mod.C == 0, 1e-3, 0.0)))
    assert dense.obs_storage == "dense"


def test_observations_with_a_nan_are_named_on_the_fast_path():
    mod, x1, y = _window()
    bad = y.copy()
    bad[2, 1] = np.nan
    for backend in ("numba", "numpy"):
        with pytest.raises(ValueError, match=r"y must be finite; got nan at index \(2, 1\)"):
            da.strong_cost_grad(mod, x1, bad, backend=backend)
    problem = da.strong_problem(mod, y)
    problem.y[0, 0] = np.inf                               # the window's own copy, edited in place
    with pytest.raises(ValueError, match=r"y must be finite; got inf at index \(0, 0\)"):
        da.strong_cost_grad(problem, x1)
