"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch02_hmm`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import itertools

import numpy as np
from scipy.special import logsumexp


def enumerate_paths(problem) -> tuple[float, np.ndarray]:
    """(log evidence, gamma) of an HMM problem (pi, A, log_lik) by summing over all K**T paths (small problems only)."""
    T, K = problem.log_lik.shape
    paths = np.array(list(itertools.product(range(K), repeat=T)))
    lw = np.log(problem.pi)[paths[:, 0]] + problem.log_lik[0, paths[:, 0]]
    for t in range(1, T):
        lw = lw + np.log(problem.A[paths[:, t], paths[:, t - 1]]) + problem.log_lik[t, paths[:, t]]
    log_Z = logsumexp(lw)
    w = np.exp(lw - log_Z)
    return float(log_Z), np.stack([np.bincount(paths[:, t], weights=w, minlength=K) for t in range(T)])


def forward_log_evidence(pi, M, log_lik) -> float:
    """Scaled forward pass with any matrix M in place of A (for the hints)."""
    f, total = pi, 0.0
    for t in range(log_lik.shape[0]):
        pred = f if t == 0 else M @ f
        m = log_lik[t].max()
        joint = pred * np.exp(log_lik[t] - m)
        c = joint.sum()
        total += np.log(c) + m
        f = joint / c
    return float(total)


def filter_variant(pi, A, log_lik, *, transposed=False, first_update=False, shift_back=True):
    """The normalized forward pass with one named slip switched on."""
    M = A.T if transposed else A
    T, K = log_lik.shape
    filtered, log_c = np.empty((T, K)), np.empty(T)
    for t in range(T):
        if t == 0:
            pred = M @ pi if first_update else pi
        else:
            pred = M @ filtered[t - 1]
        m = log_lik[t].max()
        joint = pred * np.exp(log_lik[t] - m)
        filtered[t] = joint / joint.sum()
        log_c[t] = np.log(joint.sum()) + (m if shift_back else 0.0)
    return filtered, log_c


# --- slip tables: what named wrong derivations give on one hidden problem (some entries are one step
# from the reference, so they live here, out of the checker module's reach) ---

def filter_slips(pi, A, log_lik, log_c_ref) -> tuple[dict, dict]:
    """(hints for filtered, hints for log_c) of named wrong derivations on one problem."""
    rows = ("you used A^T in the time update (the row-stochastic convention); in the book A[i, j] = p(x_t = i | "
            "x_(t-1) = j), so the prediction is A @ f")
    first = ("you applied a time update before the first step; the first prediction is pi itself (the base case "
             "of Eq. 2.36)")
    by_rows = filter_variant(pi, A, log_lik, transposed=True)
    early = filter_variant(pi, A, log_lik, first_update=True)
    filtered_hints = {rows: by_rows[0], first: early[0]}
    log_c_hints = {rows: by_rows[1], first: early[1],
                   "you left the shift out of log c_t: add back the largest log-likelihood you subtracted before "
                   "exponentiating": filter_variant(pi, A, log_lik, shift_back=False)[1],
                   "you returned the running log evidence log p(y_1..y_t); log_c[t] is the one factor log p(y_t | "
                   "y_1..y_(t-1)) of Eq. 2.40": np.cumsum(log_c_ref)}
    return filtered_hints, log_c_hints


def filter_cases():
    """Hidden problems: HMMs with non-symmetric column-stochastic A and Gaussian emissions, one sequence of a single
    step, one whose log-likelihoods lie near -1000 and one with impossible emissions (-inf); (where, (pi, A,
    log_lik), (filtered, log_c)) from the library's filter."""
    from ...hmm import inference as hmm
    from ..checker import problem_rng

    r = problem_rng(2214)
    cases = []
    for i, (K, T, kind) in enumerate([(3, 20, ""), (2, 1, ""), (5, 40, ""), (4, 30, "far"), (3, 25, "impossible")]):
        A = r.dirichlet(np.full(K, 1.0), size=K).T + 2.0 * np.eye(K)
        A = A / A.sum(axis=0, keepdims=True)
        pi = r.dirichlet(np.full(K, 2.0))
        y = r.normal(0.0, 1.5, size=T)
        log_lik = -0.5 * (y[:, None] - np.linspace(-2.0, 2.0, K)[None, :]) ** 2 - 0.5 * np.log(2 * np.pi)
        note = ""
        if kind == "far":
            log_lik = log_lik - 1000.0 - r.uniform(0.0, 50.0, size=(T, 1))
            note = ", log-likelihoods near -1000"
        elif kind == "impossible":
            cut = r.random((T, K)) < 0.3
            cut[np.arange(T), r.integers(K, size=T)] = False            # each step keeps a possible state
            log_lik = np.where(cut, -np.inf, log_lik)
            note = ", some log-likelihoods -inf"
        filt = hmm.hmm_filter(pi, A, log_lik, backend="numpy")
        cases.append((f"test problem {i + 1} (K = {K}, T = {T}{note})", (pi, A, log_lik),
                      (filt.filtered, filt.log_c)))
    return cases
