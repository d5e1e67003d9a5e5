r"""Checkers for the exercises of Section 8.2 (the variational autoencoder from the joint relative entropy)."""
from __future__ import annotations

import numpy as np

from .checker import (FUNCTION_ANSWER, CheckResult, book_or_drawn, compare_array, compare_scalar, problem_rng, result,
                      check_function, tuple_problems)

__all__ = ["EX_P_Y", "EX_Q", "EX_P_X", "EX_EIGS", "EX_ALPHA", "mutual_information", "aggregate_kl", "optimal_kl",
           "hessian_route_function"]


def _draw_p_y(rng):
    """Three probabilities (two decimals), none below 0.1, not all equal."""
    while True:
        a = np.round(rng.uniform(0.1, 0.7), 2)
        b = np.round(rng.uniform(0.1, 0.9 - a), 2)
        p = np.array([a, b, round(1.0 - a - b, 2)])
        if p.min() >= 0.1 and np.ptp(p) >= 0.1:
            return p


#: Exercises (a) and (b): the data distribution p(y) over three values of y.
EX_P_Y = book_or_drawn(np.array([0.5, 0.3, 0.2]), _draw_p_y, seed=821)


def _draw_q(rng):
    """A table like EX_Q: one row per y, two values of x, no zero entry, no two rows alike."""
    while True:
        q1 = np.round(rng.uniform(0.1, 0.9, size=3), 1)
        if np.ptp(q1) >= 0.4 and np.unique(q1).size == 3:
            return np.column_stack([q1, np.round(1.0 - q1, 1)])


#: Recognition table q(x | y), one row per y, two values of x.
EX_Q = book_or_drawn(np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]), _draw_q, seed=822)


def _draw_p_x(rng):
    """A prior of the same kind as the book's EX_P_X, for one student: two unequal probabilities (one decimal)."""
    a = round(float(rng.choice([0.3, 0.4, 0.6, 0.7])), 1)
    return np.array([a, round(1.0 - a, 1)])


#: Generative prior p(x).
EX_P_X = book_or_drawn(np.array([0.5, 0.5]), _draw_p_x, seed=823)


def _draw_eigs(rng):
    """Seven decreasing eigenvalues from about 2.5 down, each 0.5-0.75 times the one before."""
    return np.round(rng.uniform(2.0, 3.0) * np.cumprod(np.append(1.0, rng.uniform(0.5, 0.75, size=6))), 2)


def _draw_alpha(rng):
    """An emission variance that two to five eigenvalues exceed, none close to it or its root."""
    while True:
        alpha = round(float(rng.uniform(0.3, 0.8)), 2)
        active, by_sd = int(np.sum(EX_EIGS > alpha)), int(np.sum(EX_EIGS > np.sqrt(alpha)))
        margin = min(np.abs(EX_EIGS - alpha).min(), np.abs(EX_EIGS - np.sqrt(alpha)).min())
        if 2 <= active <= 5 and by_sd < active and margin > 0.03:
            return alpha


#: Exercise (c): eigenvalues of a data covariance, and an emission variance alpha.
EX_EIGS = book_or_drawn(np.array([2.5, 1.4, 0.9, 0.6, 0.35, 0.2, 0.1]), _draw_eigs, seed=824)
EX_ALPHA = book_or_drawn(0.5, _draw_alpha, seed=825)


def mutual_information(answer) -> CheckResult:
    """Exercise (a), ``ex-8-2-information``: your mutual information of Eq. 8.21 for :data:`EX_P_Y` and :data:`EX_Q`,
    in nats. Slips named: bits, the KL regularizer, one entropy alone."""
    from .references import ch08_autoencoder as refs
    agg = refs.aggregate(EX_P_Y, EX_Q)
    expected = float(np.sum(EX_P_Y[:, None] * EX_Q * np.log(EX_Q / agg[None, :])))
    kl_reg = float(np.sum(EX_P_Y[:, None] * EX_Q * np.log(EX_Q / EX_P_X[None, :])))
    h_agg = -float(np.sum(agg * np.log(agg)))
    h_cond = -float(np.sum(EX_P_Y[:, None] * EX_Q * np.log(EX_Q)))
    hints = {
        "you measured it in bits (log base 2); the book's losses are in nats": expected / np.log(2.0),
        "you compared each q(x | y) with the prior p(x), which gives the KL regularizer of Eq. 8.20": kl_reg,
        "you gave the entropy of the aggregated posterior, H[X]; subtract H[X | Y]": h_agg,
        "you gave the conditional entropy H[X | Y], not the information": h_cond,
    }
    return result("mutual information I(X; Y)",
                  compare_scalar(answer, expected, "I(X; Y)", rtol=1e-6, hints=hints))


def aggregate_kl(answer) -> CheckResult:
    """Exercise (b), ``ex-8-2-aggregate``: your KL of the aggregated posterior from the prior :data:`EX_P_X` (the
    first term of Eq. 8.21), in nats. Slips named: reversed arguments, the KL regularizer, bits, an unweighted
    average."""
    from .references import ch08_autoencoder as refs
    agg = refs.aggregate(EX_P_Y, EX_Q)
    expected = float(np.sum(agg * np.log(agg / EX_P_X)))
    kl_reg = float(np.sum(EX_P_Y[:, None] * EX_Q * np.log(EX_Q / EX_P_X[None, :])))
    hints = {
        "you reversed the arguments, KL(p(x) || aggregated posterior)": float(np.sum(EX_P_X * np.log(EX_P_X / agg))),
        "you averaged the per-datum KLs (the KL regularizer of Eq. 8.20) instead of comparing the average "
        "of q(x | y) with p(x)": kl_reg,
        "you measured it in bits (log base 2); the book's losses are in nats": expected / np.log(2.0),
        "you averaged q(x | y) without weighting by p(y)": float(np.sum(EX_Q.mean(0) * np.log(EX_Q.mean(0) / EX_P_X))),
    }
    return result("KL of the aggregated posterior from the prior",
                  compare_scalar(answer, expected, "the aggregated-posterior KL", rtol=1e-6, hints=hints))


def optimal_kl(answer) -> CheckResult:
    """Exercise (c), ``ex-8-2-collapse``: your KL regularizer of the optimal linear VAE for :data:`EX_EIGS` and
    :data:`EX_ALPHA`, averaged over the data and summed over the 7 latent dimensions. Slips named: the count of active
    directions, a dropped factor, collapsed directions included, the squared loadings."""
    lam, a = EX_EIGS, EX_ALPHA
    on = lam > a
    expected = 0.5 * float(np.sum(np.log(lam[on] / a)))
    hints = {
        "that is the number of active directions; the question asks for their KL": float(np.sum(on)),
        "you left out the 1/2 of the Gaussian KL": 2 * expected,
        "you summed log(lambda_i / alpha) / 2 over every direction: a collapsed direction's recognition "
        "distribution is the prior, and costs nothing": 0.5 * float(np.sum(np.log(lam / a))),
        "you put the squared loading lambda_i - alpha in the logarithm, not the data variance lambda_i":
            0.5 * float(np.sum(np.log((lam[on] - a) / a))),
    }
    return result("KL regularizer of the optimal linear VAE",
                  compare_scalar(answer, expected, "the KL", rtol=1e-6, hints=hints))


def _tanh_emission(W, b, P, y):
    """Gradient and Hessian in x of 1/2 (y - tanh(W x + b))^T P (y - tanh(W x + b))."""
    def grad_x(x):
        t = np.tanh(W @ x + b)
        return -W.T @ ((1.0 - t * t) * (P @ (y - t)))

    def hess_x(x):
        t = np.tanh(W @ x + b)
        d = 1.0 - t * t
        J = W * d[:, None]
        return J.T @ P @ J + 2.0 * (W.T * ((P @ (y - t)) * t * d)) @ W
    return grad_x, hess_x


def _linear_emission(C, c, P, y):
    """Gradient and (constant) Hessian in x of 1/2 (y - C x - c)^T P (y - C x - c)."""
    return (lambda x: C.T @ (P @ (C @ x + c - y))), (lambda x: C.T @ P @ C)


def _hessian_route_cases():
    """Hidden problems: tanh and linear emissions, K = 1, a single draw, a general prior."""
    r = problem_rng(8262)
    cases = []
    for kind, K, M, S in [("tanh", 2, 3, 5), ("tanh", 1, 2, 4), ("linear", 3, 4, 1), ("tanh", 1, 1, 1),
                          ("tanh", 3, 2, 6), ("linear", 2, 2, 3)]:
        A = 0.6 * r.normal(size=(K, K))
        Upsilon = A @ A.T + r.uniform(0.3, 0.8) * np.eye(K) + 0.5 * np.diag(r.uniform(size=K))
        nu = r.normal(size=K)
        Z = r.standard_normal((S, K))
        B = 0.5 * r.normal(size=(M, M))
        P = np.linalg.inv(B @ B.T + 0.5 * np.eye(M))
        y = r.uniform(-0.8, 0.8, size=M)
        if kind == "tanh":
            emission = _tanh_emission(r.normal(size=(M, K)), 0.5 * r.normal(size=M), P, y)
        else:
            emission = _linear_emission(r.normal(size=(M, K)), r.normal(size=M), P, y)
        m0 = r.uniform(0.5, 1.5, size=K) * r.choice([-1.0, 1.0], size=K)
        G = 0.7 * r.normal(size=(K, K))
        S0 = G @ G.T + r.uniform(1.5, 3.0) * np.eye(K)
        cases.append((nu, Upsilon, Z) + emission + (m0, S0))
    return cases


def hessian_route_function(fn) -> CheckResult:
    """Exercise (d), ``ex-8-2-hessian-route``: your function ``fn(nu, Upsilon, Z, grad_x, hess_x, m0, S0)`` returning
    ``(d_nu, d_Upsilon)``, the Monte Carlo gradients of one datum's L_JRE in the recognition mean and covariance under
    the prior N(m0, S0), the draws ``Z`` made samples by the lower Cholesky factor. Slips named: the standard prior,
    S0 or m0 mishandled, no prior part, no one half, the entropy's part wrong, another root."""
    from .references import ch08_autoencoder as refs
    def judge(out, where, *case):
        ref_nu, ref_U = refs.hessian_route_variant(*case)
        problems = tuple_problems(out, 2, "the pair (d_nu, d_Upsilon)", where)
        if problems:
            return problems
        hints_nu, hints_U = refs.hessian_route_slips(case)
        return (compare_array(out[0], ref_nu, f"d_nu on {where}", rtol=1e-7, atol=1e-9, hints=hints_nu)
                + compare_array(out[1], ref_U, f"d_Upsilon on {where}", rtol=1e-7, atol=1e-9, hints=hints_U))

    cases = []
    for i, case in enumerate(_hessian_route_cases()):
        S, K = case[2].shape
        cases.append((f"test problem {i + 1} (K = {K}, {S} draw{'s' if S > 1 else ''})", case))
    return check_function("gradients through the Gaussian identities, prior N(m0, S0)", fn, cases, judge,
                          name="my_gradients", signature="(nu, Upsilon, Z, grad_x, hess_x, m0, S0)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-8-2-hessian-route": {"same_data": FUNCTION_ANSWER},
}
