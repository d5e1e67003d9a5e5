"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch02_recursions`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np

from ...recursions import generic as recursions


def fixed_point(A) -> np.ndarray:
    """The fixed point of A that sums to one (least squares on the stacked system)."""
    K = A.shape[0]
    M = np.vstack([A - np.eye(K), np.ones((1, K))])
    rhs = np.concatenate([np.zeros(K), [1.0]])
    return np.linalg.lstsq(M, rhs, rcond=None)[0]


def coarse_update(p) -> np.ndarray:
    """Eq. 2.37 with the likelihood of "y_t is in y_set": the sum of those rows of C."""
    lik = sum(p.C[l, :] for l in p.y_set)
    return p.predicted * lik / (p.predicted @ lik)


def two_sensor_evidence(p) -> float:
    """p(y_1, w_1, y_2, w_2) summed over the four state sequences."""
    return float(sum(p.pi[i] * p.C[p.y[0], i] * p.D[p.w[0], i] * p.A[j, i] * p.C[p.y[1], j] * p.D[p.w[1], j]
                     for i in range(2) for j in range(2)))


def lag_one(p) -> np.ndarray:
    """p(x_{t-1} | y_{1:t}) from the library's two-step chain smoothed back to its first step."""
    log_lik = np.vstack([np.zeros(len(p.f_prev)), np.log(p.C[p.y_t, :])])
    chain = recursions.categorical_chain(p.f_prev, p.A, log_lik)
    filt = recursions.forward_filter(recursions.CATEGORICAL, chain)
    return np.asarray(recursions.backward_smoother(recursions.CATEGORICAL, filt.filtered,
                                                   chain.transitions).smoothed[0])


def smoother_variant(filtered, transitions, *, transposed=False, divide=True, use_filter=False, shifted=False):
    """The backward pass (Eqs. 2.38-2.39) with one named slip switched on; 0/0 is taken as 0."""
    T, K = filtered.shape
    smoothed, pairwise = filtered.copy(), np.zeros((T - 1, K, K))
    for t in range(T - 2, -1, -1):
        M = transitions[t - 1 if shifted else t]
        M = M.T if transposed else M
        pred = M @ filtered[t]
        later = filtered[t + 1] if use_filter else smoothed[t + 1]
        ratio = np.divide(later, pred, out=np.zeros(K), where=pred > 0) if divide else later
        pairwise[t] = ratio[:, None] * M * filtered[t][None, :]
        smoothed[t] = pairwise[t].sum(axis=0)
    return smoothed, pairwise


# --- slip tables: what named wrong derivations give on one hidden problem (some entries are one step
# from the reference, so they live here, out of the checker module's reach) ---

def evidence_slips(p) -> dict:
    """What named wrong derivations give."""
    pi, A, C, D, y, w = p
    lik1, lik2 = C[y[0]] * D[w[0]], C[y[1]] * D[w[1]]
    f1 = pi * lik1 / (pi @ lik1)
    expected = two_sensor_evidence(p)
    c_only1, c_only2 = C[y[0]], C[y[1]]
    f1c = pi * c_only1 / (pi @ c_only1)
    add1, add2 = C[y[0]] + D[w[0]], C[y[1]] + D[w[1]]
    f1a = pi * add1 / (pi @ add1)
    return {
        "you left out the second sensor": (pi @ c_only1) * ((A @ f1c) @ c_only2),
        "you added the two sensors' likelihoods; given the state the two readings are independent":
            (pi @ add1) * ((A @ f1a) @ add2),
        "you used A^T (the row-stochastic convention) in the time update": (pi @ lik1) * ((A.T @ f1) @ lik2),
        "you skipped the time update (predicted x_2 with the filter at step 1)": (pi @ lik1) * (f1 @ lik2),
        "you treated the two steps as independent draws from the prior": (pi @ lik1) * (pi @ lik2),
        "you returned only the second factor, the probability of step 2's readings given step 1's":
            (A @ f1) @ lik2,
        "you returned the log of the evidence; the exercise asks for the probability": np.log(expected),
    }


def smoother_slips(filtered, transitions, pairwise_ref) -> tuple[dict, dict]:
    """(hints for smoothed, hints for pairwise) of named wrong derivations on one problem."""
    rows = ("you read transitions[t] as row-stochastic (you used its transpose); column j of transitions[t] is "
            "p(x_{t+1} | x_t = j)")
    ratio = "you left out the division by the prediction p(x_{t+1} | y_{1:t}), the denominator of Eq. 2.38"
    later = ("your backward step used the filter at t + 1 where the smoother at t + 1 belongs (Eq. 2.39); the two "
             "agree only at the last step")
    shift = ("you paired rows t and t + 1 with transitions[t - 1]; the transition from row t to row t + 1 is "
             "transitions[t]")
    variants = {rows: smoother_variant(filtered, transitions, transposed=True),
                ratio: smoother_variant(filtered, transitions, divide=False),
                later: smoother_variant(filtered, transitions, use_filter=True),
                shift: smoother_variant(filtered, transitions, shifted=True)}
    smoothed_hints = {"you returned the filter itself: the backward pass never ran": filtered}
    smoothed_hints.update({k: v[0] for k, v in variants.items()})
    pairwise_hints = {k: v[1] for k, v in variants.items()}
    pairwise_hints["your pairwise has the earlier state first; pairwise[t][j, i] is p(x_{t+1} = j, x_t = i | y), "
                   "the later state first"] = pairwise_ref.swapaxes(1, 2)
    return smoothed_hints, pairwise_hints


def smoother_cases():
    """Hidden problems: filters of HMMs with time-varying column-stochastic transitions, one sequence of a single
    step, and a left-to-right chain whose predictions have exact zeros; (where, (filtered, transitions),
    (smoothed, pairwise)) from the library's generic recursions."""
    from ..checker import problem_rng

    r = problem_rng(2205)
    cases = []
    for i, (K, T, left_to_right) in enumerate([(3, 6, False), (2, 10, False), (4, 15, False), (3, 1, False),
                                               (4, 8, True)]):
        transitions = np.zeros((T - 1, K, K))
        if left_to_right:                       # from state j to j or j + 1 only; the last state stays
            pi = np.eye(K)[0]
            for t in range(T - 1):
                stay = np.append(r.uniform(0.4, 0.8, size=K - 1), 1.0)
                transitions[t] = np.diag(stay) + np.diag(1.0 - stay[:-1], -1)
        else:
            pi = r.dirichlet(np.full(K, 2.0))
            for t in range(T - 1):
                transitions[t] = r.dirichlet(np.full(K, 1.5), size=K).T
        log_lik = np.log(r.uniform(0.05, 1.0, size=(T, K)))
        chain = recursions.Chain(pi, list(transitions), [recursions.LogLikelihood(row) for row in log_lik])
        filt = recursions.forward_filter(recursions.CATEGORICAL, chain)
        smooth = recursions.backward_smoother(recursions.CATEGORICAL, filt.filtered, chain.transitions)
        where = f"test problem {i + 1} (K = {K}, T = {T}" + (
            ", a left-to-right chain whose predictions have exact zeros)" if left_to_right else ")")
        cases.append((where, (np.array(filt.filtered), transitions),
                      (np.array(smooth.smoothed), np.array(smooth.pairwise).reshape(T - 1, K, K))))
    return cases
