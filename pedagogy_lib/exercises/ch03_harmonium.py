r"""Checkers for the exercises of notebook 3.1 (the exponential-family harmonium); hidden ``x`` (K units), visible
``y`` (M units), ``W`` of shape (K, M)."""
from __future__ import annotations


import numpy as np

from ..harmonium.model import EFHParams
from .checker import FUNCTION_ANSWER, as_integer, book_or_drawn, compare_function, compare_scalar, result

__all__ = ["EX_RBM", "EX_Y", "EX_RBM_Z", "EX_W_MIX", "marginal_prob", "binomial_log_partition", "log_Z",
           "n_components"]


def _random_rbm(rng, K, M):
    """An RBM with K hidden and M visible units, one-decimal weights and biases of the book's order."""
    return EFHParams(W=np.round(rng.normal(0.0, 0.9, size=(K, M)), 1) + 0.0,
                     b_x=np.round(rng.normal(0.0, 0.4, size=K), 1) + 0.0,
                     b_y=np.round(rng.normal(0.0, 0.4, size=M), 1) + 0.0)


#: Exercise (a): an RBM with K = 3 hidden and M = 4 visible units.
EX_RBM = book_or_drawn(EFHParams(W=np.array([[1.2, -0.7, 0.4, 0.9], [-1.1, 0.8, 1.5, -0.3], [0.5, 0.5, -0.9, 1.3]]),
                                 b_x=np.array([-0.2, 0.3, -0.5]), b_y=np.array([0.1, -0.4, 0.2, -0.1])),
                       lambda rng: _random_rbm(rng, 3, 4), seed=3101)


def _draw_visible_state(rng):
    """Four binary units, some on and some off."""
    on = rng.permutation(4)[:int(rng.integers(1, 4))]
    return np.isin(np.arange(4), on).astype(float)


#: Exercise (a): the visible state whose probability is asked for.
EX_Y = book_or_drawn(np.array([1.0, 0.0, 1.0, 1.0]), _draw_visible_state, seed=3102)


#: Exercise (d): weights (K = 4, M = 2) of a Gaussian-Bernoulli harmonium with rows not in general position.
EX_W_MIX = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])


#: Exercise (c): an RBM with K = 4 hidden and M = 5 visible units.
EX_RBM_Z = book_or_drawn(EFHParams(W=np.array([[0.8, -1.2, 0.3, 0.0, 1.1], [1.4, 0.2, -0.6, 0.9, -0.8],
                                               [-0.5, 1.0, 1.2, -1.3, 0.4], [0.3, -0.4, 0.7, 1.6, -1.0]]),
                                   b_x=np.array([0.2, -0.6, 0.1, 0.4]), b_y=np.array([-0.3, 0.5, 0.0, -0.2, 0.6])),
                         lambda rng: _random_rbm(rng, 4, 5), seed=3103)


def marginal_prob(answer) -> object:
    """Exercise (a), ``ex-3-1-marginal``: your p(:data:`EX_Y`) under :data:`EX_RBM`, a probability. Slips named: no
    normalizer, one hidden state for the sum, the wrong states normalized."""
    from .references import ch03_harmonium as refs
    p = EX_RBM
    negE, X, Y = refs.joint_neg_energy(p)
    col = int(np.argmax(np.all(Y == EX_Y, axis=1)))
    log_Z = refs.log_partition(p)
    unnorm = np.exp(negE[:, col]).sum()
    hints = {
        "you left out the normalizer Z (sum over every joint state)": unnorm,
        "you computed the joint probability of y with one hidden state (x = 0) instead of summing over x":
            np.exp(negE[0, col] - log_Z),
        "you normalized over the hidden states only: that is p(x | y) summed, which is 1, not p(y)": 1.0,
    }
    return result("p(y) of EX_RBM at EX_Y", compare_scalar(answer, unnorm / np.exp(log_Z), "p(y)", rtol=1e-6,
                                                            hints=hints))


#: The number of trials of each binomial unit in exercise (b).
N_TRIALS = 3


def binomial_log_partition(fn) -> object:
    """Exercise (b), ``ex-3-1-binomial-B``: your function ``B(zeta)``, the log partition of a layer of independent
    binomial units with three trials (base measure prod_j C(3, y_j)), one number for a 1-D ``zeta``. Slips named: one
    value per unit, no base measure, the Bernoulli or Poisson log partition."""
    from .references import ch03_harmonium as refs
    cases = []
    for zeta in (np.array([0.0]), np.array([0.5, -1.0]), np.array([1.3, -0.2, 0.7]), np.array([-4.0, 6.0])):
        cases.append(((zeta.copy(),), refs.binomial_B_by_sum(zeta, N_TRIALS)))
    problems = compare_function(fn, cases, "your B(zeta)", rtol=1e-9, atol=1e-12,
                                describe=lambda args: f"zeta = {np.round(args[0], 2).tolist()}")
    if problems and callable(fn):
        zeta = np.array([0.5, -1.0])
        slips = {
            "your B(zeta) is the Bernoulli log partition (one trial); each unit here counts successes in "
            "three trials": np.logaddexp(0, zeta).sum(),
            "your B(zeta) is the Poisson log partition; these units have support 0, 1, 2, 3 only":
                np.exp(zeta).sum(),
            "your B(zeta) leaves out the base measure k(y) = C(3, y) (the number of ways to get y successes)":
                sum(np.logaddexp.reduce(z * np.arange(4)) for z in zeta),
        }
        try:
            out = np.asarray(fn(zeta.copy()), dtype=float)
            if out.shape == (2,):
                problems = ["your B(zeta) returns one value per unit: B is the sum over the layer's units."]
            else:
                for text, wrong in slips.items():
                    if out.size == 1 and np.isclose(float(out), wrong, rtol=1e-9):
                        problems = [text + "."]
                        break
        except Exception:  # noqa: BLE001 - already reported by compare_function
            pass
    return result("binomial log-partition function B(zeta)", problems)


def log_Z(answer) -> object:
    """Exercise (c), ``ex-3-1-log-Z``: your log Z of :data:`EX_RBM_Z` (Eq. 10.14). Slips named: Z itself, the visible
    layer held fixed, no hidden biases."""
    from .references import ch03_harmonium as refs
    p = EX_RBM_Z
    ref = refs.log_partition(p)
    X = refs.binary_states(p.W.shape[0])
    hints = {
        "you gave Z itself, not its logarithm": np.exp(ref),
        "you summed over the hidden states with the visible layer fixed at zero":
            float(np.log(np.exp(X @ p.b_x).sum())),
        "you left out the hidden biases b_x": refs.log_partition(p._replace(b_x=np.zeros_like(p.b_x))),
    }
    return result("log Z of EX_RBM_Z", compare_scalar(answer, ref, "log Z", rtol=1e-8, hints=hints))


def n_components(answer) -> object:
    """Exercise (d), ``ex-3-1-components``: the number of distinct Gaussian components (equal means count once) of the
    visible marginal of the Gaussian-Bernoulli harmonium with weights :data:`EX_W_MIX`."""
    from .references import ch03_harmonium as refs
    value, problems = as_integer(answer, "the number of components")
    expected = refs.distinct_means(EX_W_MIX)
    if not problems and value != expected:
        if value == 2 ** EX_W_MIX.shape[0]:
            problems = ["that counts the hidden configurations; here some of them give the same mean, and "
                        "components with the same mean (and the same covariance) are one component."]
        elif value == EX_W_MIX.shape[0]:
            problems = ["each hidden *configuration* gives one component, not each hidden unit."]
        else:
            problems = ["not the number of distinct components: each hidden configuration x contributes "
                        "N(b_y + W^T x, I); count the distinct means."]
    return result("number of mixture components", problems)


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-3-1-binomial-B": {"same_data": FUNCTION_ANSWER},
    "ex-3-1-components": {"same_data": "the statement's weights are chosen so that components coincide"},
}
