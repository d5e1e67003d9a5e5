r"""Checkers for the exercises of notebook 3.2-3.4 (deep belief networks, the Helmholtz machine, recurrent EFHs).

Use in the notebook as::

    from pedagogy_lib.exercises import ch03_deep_models as check
    check.inverted(my_params)            # says what is wrong, never the answer

References are written out here with explicit enumeration, independently of
:mod:`pedagogy_lib.harmonium.dbn`, :mod:`~pedagogy_lib.harmonium.helmholtz` and
:mod:`~pedagogy_lib.harmonium.recurrent`.
"""
from __future__ import annotations

import itertools

import numpy as np

from ..harmonium.helmholtz import HelmholtzParams
from ..harmonium.model import EFHParams
from .checker import compare_array, compare_bool, compare_scalar, result

__all__ = ["EX_RBM", "EX_HM", "EX_Y", "EX_REFH", "EX_SEQ", "inverted", "helmholtz_log_prob", "recurrent_input",
           "dbn_posterior_factorial"]

#: Exercise (a): an RBM with K = 2 hidden and M = 3 visible units.
EX_RBM = EFHParams(W=np.array([[1.0, -0.5, 0.8], [0.3, 1.2, -0.7]]), b_x=np.array([0.2, -0.4]),
                   b_y=np.array([-0.1, 0.3, 0.5]))
#: Exercise (b): a Helmholtz machine with layers (M, K1, K2) = (3, 2, 1).
EX_HM = HelmholtzParams(G=[np.array([[1.5, -1.0], [-0.5, 2.0], [0.8, 0.3]]), np.array([[2.0], [-1.5]])],
                        g=[np.array([-0.5, 0.2, -1.0]), np.array([0.1, 0.4])], b_top=np.array([0.3]),
                        R=[np.zeros((2, 3)), np.zeros((1, 2))], r=[np.zeros(2), np.zeros(1)])
#: Exercise (b): the data vector.
EX_Y = np.array([1.0, 1.0, 0.0])
#: Exercise (c): a recurrent EFH with M = 3 observed and K = 2 hidden units (W has shape (2, 3 + 2)).
EX_REFH = EFHParams(W=np.array([[0.9, -0.6, 0.4, 1.1, -0.3], [-0.8, 0.7, 0.5, 0.2, 1.4]]), b_x=np.array([0.1, -0.2]),
                    b_y=np.zeros(5))
#: Exercise (c): one observed sequence of T = 4 steps, shape (4, 3).
EX_SEQ = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def _rbm_log_marginal(p: EFHParams):
    X = np.array(list(itertools.product((0.0, 1.0), repeat=p.W.shape[0])))
    Y = np.array(list(itertools.product((0.0, 1.0), repeat=p.W.shape[1])))
    negE = (X @ p.b_x)[:, None] + (Y @ p.b_y)[None, :] + X @ p.W @ Y.T
    m = np.exp(negE).sum(axis=0)
    return np.log(m / m.sum()), Y


def inverted(params) -> object:
    r"""Exercise (a): the inverted EFH of :data:`EX_RBM` (an ``EFHParams``), the one whose visible marginal
    is the prior :math:`\hat p(\mathbf x)` of ``EX_RBM`` (Fig. 10.2B)."""
    name = "inverted EFH of EX_RBM"
    if not isinstance(params, EFHParams):
        return result(name, [f"pass an EFHParams; got {type(params).__name__}."])
    p = EX_RBM
    problems = compare_array(params.W, p.W.T, "its W", rtol=1e-12, atol=1e-12)
    if problems:
        return result(name, problems)
    bx, by = np.asarray(params.b_x, dtype=float), np.asarray(params.b_y, dtype=float)
    if bx.shape == p.b_x.shape and np.allclose(bx, p.b_x) and by.shape == p.b_y.shape and np.allclose(by, p.b_y):
        return result(name, ["W is right, but the biases must swap roles too: the new hidden layer is the old "
                             "visible one."])
    problems = compare_array(bx, p.b_y, "its b_x", rtol=1e-12, atol=1e-12) + \
        compare_array(by, p.b_x, "its b_y", rtol=1e-12, atol=1e-12)
    return result(name, problems)


def helmholtz_log_prob(answer) -> object:
    r"""Exercise (b): :math:`\log\hat p(\mathbf y)` of :data:`EX_HM` at :data:`EX_Y`, summing over both hidden layers."""
    hm = EX_HM
    total = 0.0
    joint_top0 = 0.0
    for x2 in itertools.product((0.0, 1.0), repeat=1):
        x2 = np.array(x2)
        p2 = np.prod(np.where(x2 == 1, _sig(hm.b_top), 1 - _sig(hm.b_top)))
        for x1 in itertools.product((0.0, 1.0), repeat=2):
            x1 = np.array(x1)
            q1 = _sig(hm.G[1] @ x2 + hm.g[1])
            p1 = np.prod(np.where(x1 == 1, q1, 1 - q1))
            q0 = _sig(hm.G[0] @ x1 + hm.g[0])
            p0 = np.prod(np.where(EX_Y == 1, q0, 1 - q0))
            total += p2 * p1 * p0
            if x2[0] == 0 and not x1.any():
                joint_top0 = p2 * p1 * p0
    hints = {"you gave the probability, not its logarithm": total,
             "you kept only the all-zero hidden configuration instead of summing over all": np.log(joint_top0)}
    return result("log p(y) of EX_HM", compare_scalar(answer, np.log(total), "log p(y)", rtol=1e-8, hints=hints))


def recurrent_input(answer) -> object:
    r"""Exercise (c): the recurrent input :math:`\mathbf r_3` of :data:`EX_REFH` on :data:`EX_SEQ`, shape ``(2,)``,
    with :math:`\mathbf r_1 = (\tfrac12,\tfrac12)` and :math:`\mathbf r_{t+1} = \sigma(\mathbf b_{\hat x} + \mathbf W_y\mathbf y_t + \mathbf W_r\mathbf r_t)`."""
    p = EX_REFH
    Wy, Wr = p.W[:, :3], p.W[:, 3:]
    r = [np.full(2, 0.5)]
    for t in range(3):
        r.append(_sig(p.b_x + Wy @ EX_SEQ[t] + Wr @ r[-1]))
    hints = {"you computed r_4 (one step too many)": r[3], "you computed r_2 (one step too few)": r[1],
             "you left out the recurrent term W_r r_t": _sig(p.b_x + Wy @ EX_SEQ[1])}
    return result("r_3 for EX_SEQ", compare_array(answer, r[2], "r_3", rtol=1e-8, hints=hints))


def dbn_posterior_factorial(answer) -> object:
    """Exercise (d): True or False: "once the top harmonium of a two-layer DBN is trained away from the
    inverted bottom harmonium, the DBN's exact posterior over the first hidden layer is still factorial"."""
    return result("is the DBN posterior factorial?", compare_bool(answer, False, "your answer"))
