r"""Checkers for the exercises of notebooks 10.2.1 (exact learning) and 10.2.2 (contrastive divergence).

Hidden layer ``x`` (``K`` units), visible ``y`` (``M`` units), ``W`` of shape ``(K, M)``.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from scipy.special import expit as _sig

from ..harmonium.datasets import bars_and_stripes
from ..harmonium.model import EFHParams
from .engine import Exercise, Part, lazy, summative
from .checker import (FUNCTION_ANSWER, CheckResult, compare_array, compare_scalar, result, problem_rng, check_function,
                      tuple_problems)

__all__ = ["LearnProblem", "EX_LEARN", "EX_WIDE", "data_moments", "model_moments", "stationary_visible_biases",
           "exact_gradient_function", "kl_after_two_steps", "cd1_cosine", "cd_update_function", "bas_model"]


class LearnProblem(NamedTuple):
    """An RBM ``params`` (K = 3, M = 5) and binary data ``Y`` (N = 12, M = 5), one example per row."""

    params: EFHParams
    Y: np.ndarray


def _make() -> LearnProblem:
    """The RBM and the data, every visible unit both on and off in some rows."""
    rng = problem_rng(1022)
    params = EFHParams(1.5 * rng.standard_normal((3, 5)), 0.5 * rng.standard_normal(3), 0.5 * rng.standard_normal(5))
    while True:
        Y = (rng.random((12, 5)) < np.array([0.8, 0.2, 0.6, 0.5, 0.3])).astype(float)
        if np.all((Y.mean(axis=0) > 0) & (Y.mean(axis=0) < 1)):
            return LearnProblem(params, Y)


#: The problem data of every exercise of the two pages but the model moment, the gradient function and the trained
#: model.
EX_LEARN = _make()

#: Units of EX_WIDE: 2**40 visible states are far too many to list; the 2**3 hidden states are not.
WIDE_K, WIDE_M = 3, 40


def _make_wide() -> EFHParams:
    rng = problem_rng(10213)
    return EFHParams(0.4 * rng.standard_normal((WIDE_K, WIDE_M)), 0.5 * rng.standard_normal(WIDE_K),
                     0.5 * rng.standard_normal(WIDE_M))


#: The RBM of the model-moment exercise (K = 3 hidden, M = 40 visible units).
EX_WIDE = _make_wide()


_DATA_MOMENT = Exercise(
    label="ex-10-2-data-moment", name="data_moments", title="data-phase moment <E[x|y] y^T>", data="EX_LEARN",
    reference="ch10_rbm_learning:data_moment",
    parts=(Part("answer", "the moment", rtol=1e-8, slips={
        "you took the moment under the model's joint (the negative phase), not under the data":
            "ch10_rbm_learning:model_phase_moment",
        "you summed over the data instead of averaging": lambda p, ref: ref[0] * p.Y.shape[0],
        "you used the hidden biases alone, without W y, for the posterior means":
            lambda p, ref: np.outer(_sig(p.params.b_x), p.Y.mean(axis=0))}),),
    doc=r"""Exercise 10.2.1 (a), ``ex-10-2-data-moment``: your data-phase moment over the rows of ``EX_LEARN.Y``, (3, 5).
    Slips named: the model-phase moment, a sum, posterior means without the data.""")

_MODEL_MOMENT = Exercise(
    label="ex-10-2-1-model-moment", name="model_moments", title="model-phase moment E[x y^T]", data="EX_WIDE",
    reference="ch10_rbm_learning:model_moment",
    parts=(Part("answer", "the moment", rtol=1e-8, slips="ch10_rbm_learning:model_moment_slips", shapes={
        (3, 5): "your array has shape (3, 5), the size of EX_LEARN.params; the RBM of this exercise is EX_WIDE, with "
                "40 visible units: the moment has shape (3, 40)."}),),
    doc=r"""Exercise 10.2.1 (b), ``ex-10-2-1-model-moment``: your model-phase moment of ``EX_WIDE`` (K = 3, M = 40), (3,
    40). Slips named: no normalizer, hidden states weighted by their bias term alone, a product of marginal means, the
    moment of ``EX_LEARN.params``.""")

_STATIONARY = Exercise(
    label="ex-10-2-1-stationary-means", name="stationary_visible_biases",
    title="visible biases of the zero-weight stationary point", data="EX_LEARN",
    reference="ch10_rbm_learning:stationary_biases",
    parts=(Part("answer", "your vector of biases", rtol=1e-8, atol=1e-12, slips={
        "you gave the data's visible means, which are not biases; write out the visible-bias block of "
        "Eq. 10.19 at W = 0": lambda p, ref: p.Y.mean(axis=0),
        "you gave the biases of EX_LEARN.params, whose weights are not zero": lambda p, ref: p.params.b_y,
        "you gave zero biases: at W = 0 the visible bias block of Eq. 10.19 does not vanish there":
            lambda p, ref: np.zeros(p.Y.shape[1]),
        "your biases have the wrong sign": lambda p, ref: -ref[0],
        "you took the logarithm of the means, where the visible-bias block of Eq. 10.19 at W = 0 does "
        "not vanish": lambda p, ref: np.log(p.Y.mean(axis=0))}),),
    doc=r"""Exercise 10.2.1 (c), ``ex-10-2-1-stationary-means``: the visible biases, (5,), with which a zero-weight
    harmonium is at a stationary point of the exact MRE for ``EX_LEARN.Y``. Slips named: the data's means, the biases
    of ``EX_LEARN.params``, zero biases, a wrong sign, the log of the means.""")

data_moments = _DATA_MOMENT.checker(globals())
model_moments = _MODEL_MOMENT.checker(globals())
stationary_visible_biases = _STATIONARY.checker(globals())


def _gradient_cases():
    """Hidden (params, Y): one row, K > M, one hidden unit, square W, M = 40."""
    r = problem_rng(10214)
    cases = []
    for K, M, N in [(3, 5, 12), (2, 4, 1), (5, 3, 9), (4, 4, 10), (1, 6, 20), (4, 40, 15)]:
        scale = 1.2 if M <= 6 else 0.4                # a wide visible layer: keep the hidden states' spread
        params = EFHParams(scale * r.standard_normal((K, M)), 0.6 * r.standard_normal(K),
                           0.6 * r.standard_normal(M))
        Y = (r.random((N, M)) < r.uniform(0.15, 0.85, M)).astype(float)
        cases.append((params, Y))
    return cases


#: Named slips of the gradient function: the ``slip`` of _gradient_variant, and its message.
_GRADIENT_SLIPS = {
    "sign": "you took the data phase minus the model phase: that is the gradient of the average log-likelihood, "
            "not of the MRE the statement asks for",
    "no hidden": "you left the hidden units out of the data phase: they are not observed, but the data phase fills "
                 "them in with their posterior means given each row",
    "biases only": "you computed the data phase's posterior means from the hidden biases alone, without W y",
    "visible bias": "in the model phase you weighted each visible state by its bias term alone: its free energy also "
                    "has a term for each hidden unit, summed out",
    "hidden bias": "in the model phase you weighted each hidden state by its bias term alone: its free energy also "
                   "has a term for each visible unit, summed out",
    "no Z": "you did not divide the model phase by the normalizer Z",
    "marginals": "you multiplied the model's marginal means E[x] E[y]^T: x and y are not independent under the joint",
    "summed": "you summed the data phase over the rows of Y instead of averaging",
    "transposed": "you built the weight gradient as visible by hidden; W is hidden by visible, shape (K, M)",
}


def exact_gradient_function(fn) -> CheckResult:
    """Exercise 10.2.1 (d), ``ex-10-2-1-gradient-function``: your function ``fn(params, Y)`` returning ``(dW, db_x,
    db_y)``, the exact MRE gradient (Eq. 10.19) of the Bernoulli RBM ``params`` for the binary data ``Y`` (N, M).
    Hidden problems include one row of data, K > M, and M = 40. Slips named: the log-likelihood's gradient, hidden
    units left out of or guessed in the data phase, a model phase weighted by bias terms, unnormalized or from
    marginal means, a sum, a transposed weight gradient."""
    from .references import ch10_rbm_learning as refs
    def judge(out, where, p, Yd):
        problems = tuple_problems(out, 3, "the triple (dW, db_x, db_y)", where)
        if problems:
            return problems
        ref = refs.gradient_variant(p, Yd)
        slips = {text: refs.gradient_variant(p, Yd, slip=key) for key, text in _GRADIENT_SLIPS.items()
                 if key != "transposed" or p.W.shape[0] == p.W.shape[1]}
        slips = {text: v for text, v in slips.items() if v is not None}
        return [problem for b, name in enumerate(("dW", "db_x", "db_y"))
                for problem in compare_array(out[b], ref[b], f"{name} on {where}", rtol=1e-7, atol=1e-10,
                                             hints={text: v[b] for text, v in slips.items()})]

    cases = []
    for i, (p, Yd) in enumerate(_gradient_cases()):
        (K, M), N = p.W.shape, Yd.shape[0]
        where = f"test problem {i + 1} (K = {K} hidden, M = {M} visible units, {N} row{'s' if N > 1 else ''} of data)"
        cases.append((where, (p, Yd)))
    return check_function("exact gradient of the MRE (Eq. 10.19)", fn, cases, judge, name="my_gradient",
                          signature="(params, Y)")


def kl_after_two_steps(answer) -> object:
    """Exercise 10.2.2 (a), ``ex-10-2-kl-two-steps``: your KL, in nats, of the visible distribution after two
    block-Gibbs steps from the data of ``EX_LEARN``, from the model's marginal. Slips named: one step, the data's own
    KL, reversed arguments."""
    from .references import ch10_rbm_learning as refs
    p, Yd = EX_LEARN
    q0 = refs.data_dist(p, Yd)
    T = refs.transition(p)
    P, _, _ = refs.tables(p)
    p_inf = P.sum(axis=0)

    def kl(a):
        m = a > 0
        return float(np.sum(a[m] * np.log(a[m] / p_inf[m])))

    hints = {
        "you took one step (p^1), not two": kl(T @ q0),
        "you gave the KL of the data itself, p^0": kl(q0),
        "you reversed the arguments of the KL": float(np.sum(p_inf * np.log(p_inf / np.maximum(T @ T @ q0, 1e-300)))),
    }
    return result("KL(p^2 || p^inf)", compare_scalar(answer, kl(T @ T @ q0), "the KL", rtol=1e-6, hints=hints))


def _flat(W, bx, by):
    return np.concatenate([np.ravel(W), bx, by])


def cd1_cosine(answer) -> object:
    """Exercise 10.2.2 (b), ``ex-10-2-cd1-cosine``: your cosine of the angle between the *expected* CD-1 update and
    the exact MRE gradient for ``EX_LEARN``, all parameters stacked. Slips named: the weights alone, the angle itself.
    """
    from .references import ch10_rbm_learning as refs
    p, Yd = EX_LEARN
    P, X, Y = refs.tables(p)
    q0 = refs.data_dist(p, Yd)
    q1 = refs.transition(p) @ q0
    mu = refs.posterior_means(p, Y)                                # E[x|y] for every visible state

    def moments(q):
        return (mu * q[:, None]).T @ Y, q @ mu, q @ Y

    m0, m1 = moments(q0), moments(q1)
    model = (X.T @ P @ Y, P.sum(axis=1) @ X, P.sum(axis=0) @ Y)
    exact = _flat(*(a - b for a, b in zip(model, m0)))
    cd = _flat(*(a - b for a, b in zip(m1, m0)))
    cos = float(cd @ exact / np.linalg.norm(cd) / np.linalg.norm(exact))
    exact_W = np.ravel(model[0] - m0[0])
    cd_W = np.ravel(m1[0] - m0[0])
    hints = {
        "you compared the weight gradients only; the exercise stacks W, b_x and b_y":
            float(cd_W @ exact_W / np.linalg.norm(cd_W) / np.linalg.norm(exact_W)),
        "you gave the angle in radians rather than its cosine": float(np.arccos(np.clip(cos, -1, 1))),
    }
    return result("cosine between expected CD-1 and the exact gradient",
                  compare_scalar(answer, cos, "the cosine", rtol=1e-6, hints=hints))


def _cd_cases():
    """Hidden (params, Y0, X0, Yk): a mini-batch, the hidden states the chain drew at it and the visible states
    k steps later, drawn here once so that the comparison draws nothing. A square W first (where a transposed
    weight update has the right shape, so it is named), one row, K > M, one hidden unit and M = 40."""
    r = problem_rng(10222)
    cases = []
    for K, M, B in [(4, 4, 10), (3, 5, 6), (2, 4, 1), (5, 3, 8), (1, 6, 7), (6, 40, 12)]:
        scale = 1.0 if M <= 6 else 0.3
        params = EFHParams(scale * r.standard_normal((K, M)), 0.5 * r.standard_normal(K),
                           0.5 * r.standard_normal(M))
        Y0 = (r.random((B, M)) < r.uniform(0.2, 0.8, M)).astype(float)
        X0 = (r.random((B, K)) < _sig(Y0 @ params.W.T + params.b_x)).astype(float)
        Yk = (r.random((B, M)) < _sig(X0 @ params.W + params.b_y)).astype(float)
        for _ in range(int(r.integers(0, 3))):             # a few more steps: CD-k for k = 1, 2 or 3
            x = (r.random((B, K)) < _sig(Yk @ params.W.T + params.b_x)).astype(float)
            Yk = (r.random((B, M)) < _sig(x @ params.W + params.b_y)).astype(float)
        where = f"test batch {len(cases) + 1} (K = {K} hidden, M = {M} visible units, {B} row{'s' if B > 1 else ''})"
        cases.append((where, (params, Y0, X0, Yk)))
    return cases


#: A slip of the CD update: the reference with a switch (``slip=``), computed in references/
#: when a checker runs.
_cd_variant = functools.partial(lazy, "ch10_rbm_learning:cd_update", star=True)

_CD_SLIPS = {
    "samples": "you used the sampled hidden states X0 in the positive phase; as on this page, both phases use the "
               "hidden probabilities E[X | y], which have the same expectation and less variance",
    "sign": "your update points the other way: it is the gradient of the loss, negative phase minus positive, not "
            "the step that raises the log-likelihood",
    "plus": "you added the negative phase to the positive one; CD subtracts it (Eq. 10.23)",
    "summed": "you summed over the rows of the batch instead of averaging",
    "k-probs": "your negative phase's hidden probabilities are those at the data, E[X | Y0], not at the chain's "
               "visible states Yk",
}

_CD = Exercise(
    label="ex-10-2-cd-update", name="cd_update_function", title="the CD update from a chain's samples",
    reference="ch10_rbm_learning:cd_update", function="my_cd_update", signature="(params, Y0, X0, Yk)",
    cases=_cd_cases,
    parts=(Part("dW", "dW on {where}", rtol=1e-9, atol=1e-12,
                slips={**{_CD_SLIPS[k]: _cd_variant(slip=k, item=0) for k in _CD_SLIPS},
                       "you built the weight update as visible by hidden; W is hidden by visible, shape (K, M)":
                           lambda args, expected: expected[0].T}),
           Part("db_x", "db_x on {where}", rtol=1e-9, atol=1e-12,
                slips={**{_CD_SLIPS[k]: _cd_variant(slip=k, item=1) for k in _CD_SLIPS if k != "k-probs"},   # that one gives 0
                       "you left the hidden biases out: their update is the difference of the hidden probabilities' "
                       "means": _cd_variant(slip="no biases", item=1)}),
           Part("db_y", "db_y on {where}", rtol=1e-9, atol=1e-12,
                slips={**{_CD_SLIPS[k]: _cd_variant(slip=k, item=2) for k in ("sign", "plus", "summed")},
                       "you left the visible biases out: their update is the difference of the visible states' "
                       "means": _cd_variant(slip="no biases", item=2)})),
    doc=r"""Exercise 10.2.2 (c), ``ex-10-2-cd-update``: your function ``fn(params, Y0, X0, Yk)`` returning ``(dW, db_x,
    db_y)``, the CD update of Eq. 10.23 averaged over a mini-batch ``Y0`` (B, M), with the hidden probabilities in
    both phases, from the chain's samples: ``X0`` (B, K) drawn at the data and ``Yk`` (B, M) after k steps. Hidden
    batches include one row, K > M, a square W and M = 40, drawn for each student. Slips named: sampled hidden states
    in the positive phase, the loss gradient's sign, an added negative phase, a sum, negative-phase probabilities at
    the data, a transposed weight update, biases left out.""")

cd_update_function = _CD.checker(globals())


def bas_model(params) -> object:
    """Exercise 10.2.2 (d), ``ex-10-2-bas``: your RBM (Bernoulli, M = 9, at most 10 hidden units), trained by your own
    CD-k or PCD, whose exact average log-likelihood on the 14 bars-and-stripes images of size 3 x 3 exceeds -3.1 nats
    (the best possible is -log 14)."""
    from .references import ch10_rbm_learning as refs
    if not isinstance(params, EFHParams):
        return result("RBM for 3 x 3 bars and stripes",
                      [f"pass an EFHParams; got {type(params).__name__}."])
    W = np.asarray(params.W, dtype=float)
    if W.ndim != 2 or W.shape[1] != 9 or not 1 <= W.shape[0] <= 10:
        return result("RBM for 3 x 3 bars and stripes",
                      [f"W must have shape (K, 9) with 1 <= K <= 10; got {W.shape}."])
    if params.hidden != "bernoulli" or params.visible != "bernoulli":
        return result("RBM for 3 x 3 bars and stripes", ["both layers must be Bernoulli."])
    p = EFHParams(W, np.asarray(params.b_x, dtype=float), np.asarray(params.b_y, dtype=float))
    P, _, Y = refs.tables(p)
    marg = P.sum(axis=0)
    data = bars_and_stripes(3)
    idx = [int(np.argmax(np.all(Y == d, axis=1))) for d in data]
    ll = float(np.mean(np.log(marg[idx])))
    problems = [] if ll > -3.1 else [
        f"the average log-likelihood is {'below -6' if ll < -6 else 'between -6 and -3.1'}: train longer, with "
        "more hidden units or more Gibbs steps, and let the learning rate shrink toward the end (the sampled "
        "gradient is noisy)."]
    return result("RBM for 3 x 3 bars and stripes", problems)

#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    **summative(_CD),
    "ex-10-2-1-gradient-function": {"same_data": FUNCTION_ANSWER},
    "ex-10-2-bas": {"same_data": "the statement names the data set and the target; the answer is a trained model"},
}
