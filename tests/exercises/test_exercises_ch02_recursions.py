"""Tests for the checkers of notebook 2.2 (pedagogy_lib.exercises.ch02_recursions).

Correct answers are computed here by hand formulas / enumeration, independent of the checkers.
"""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib.exercises import ch02_recursions as check
from pedagogy_lib.exercises.references import ch02_recursions as refs


def _correct_time_update():
    """Two time updates, written as sums (the silent step's measurement update leaves the prediction as it is)."""
    f, A = check.EX_TIME_UPDATE
    one = [sum(A[i, j] * f[j] for j in range(3)) for i in range(3)]
    return np.array([sum(A[i, j] * one[j] for j in range(3)) for i in range(3)])


def _correct_limit():
    """The fixed point of A by Cramer's rule on the first two rows of (A - I) p = 0 with p_3 = 1, then
    normalized: an independent route from the checker's least squares."""
    A = check.EX_TIME_UPDATE.A
    M = A - np.eye(3)
    # M[:2, :2] p[:2] = -M[:2, 2]
    a, b, c, d = M[0, 0], M[0, 1], M[1, 0], M[1, 1]
    det = a * d - b * c
    p0 = (-M[0, 2] * d + b * M[1, 2]) / det
    p1 = (-a * M[1, 2] + c * M[0, 2]) / det
    p = np.array([p0, p1, 1.0])
    return p / p.sum()


def _correct_measurement_update(p=None):
    """Bayes's rule on the joint of (x_t, y_t), summed over the symbols of the reading: the event has
    probability sum_{l in y_set} pred_k C[l, k] jointly with x_t = k."""
    pred, C, y_set = p or check.EX_MEASUREMENT
    joint = np.array([[pred[k] * C[l, k] for l in range(C.shape[0])] for k in range(3)])   # [x_t, y_t]
    num = joint[:, list(y_set)].sum(axis=1)
    return num / num.sum()


def _correct_evidence(p=None):
    """Enumeration of the four state sequences with both sensors' factors."""
    pi, A, C, D, (y1, y2), (w1, w2) = p or check.EX_EVIDENCE
    return sum(pi[i] * C[y1, i] * D[w1, i] * A[j, i] * C[y2, j] * D[w2, j] for i in range(2) for j in range(2))


def test_problem_data_are_column_stochastic():
    for M in (check.EX_TIME_UPDATE.A, check.EX_MEASUREMENT.C, check.EX_EVIDENCE.A, check.EX_EVIDENCE.C,
              check.EX_EVIDENCE.D):
        np.testing.assert_allclose(M.sum(axis=0), 1.0)


def test_missing_observations():
    good, limit = _correct_time_update(), _correct_limit()
    np.testing.assert_allclose(limit, [5 / 11, 4 / 11, 2 / 11], rtol=1e-12)          # the book's A, by hand
    assert check.missing_observations(good, limit)
    assert check.missing_observations(list(good), list(limit))
    f, A = check.EX_TIME_UPDATE
    assert check.missing_observations(good, np.linalg.matrix_power(A, 100) @ f)      # iterating also works
    assert check.missing_observations(np.round(good, 6), np.round(limit, 6))        # "to six decimals"
    assert not check.missing_observations(good, np.round(limit, 4))
    cases = [((A @ f, limit), "one time update"),
             ((A.T @ A.T @ f, limit), "rows of A"),
             (((A ** 2) @ f, limit), "squared the entries"),
             ((f, limit), "kept the previous filter"),
             ((good, good), "keep applying the time update"),
             ((good, f), "returned the previous filter"),
             ((good, np.full(3, 1 / 3)), "uniform"),
             ((good, np.linalg.matrix_power(A, 10) @ f), "stopped after 10 time updates"),
             ((good, 2 * limit), "limit")]
    for args, phrase in cases:
        r = check.missing_observations(*args)
        assert not r and phrase in str(r), (phrase, str(r))
    r = check.missing_observations(good[:2], limit)
    assert not r and "shape" in str(r)
    r = check.missing_observations(None, None)
    assert not r and "None" in str(r)
    assert "0.4545" not in str(check.missing_observations(good, 2 * limit))      # never reveals the answer
    # a loop stopped when successive predictions change by less than 1e-5 (a loose rule) has not settled
    v, w = f, A @ f
    while np.abs(w - v).max() >= 1e-5:
        v, w = w, A @ w
    assert np.abs(w - limit).max() > 1e-6
    r = check.missing_observations(good, w)
    assert not r and "stopping rule that is too loose" in str(r), str(r)


def test_missing_observations_is_not_the_pages_one_time_update():
    """The page computes A @ f once; that is not an answer here."""
    f, A = check.EX_TIME_UPDATE
    assert not check.missing_observations(A @ f, _correct_limit())


def test_drawn_time_update_problems_have_a_single_quick_limit():
    import importlib

    from pedagogy_lib.exercises.checker import drawn_for

    try:
        for salt in range(6):
            with drawn_for(salt):
                mod = importlib.reload(check)
                f, A = mod.EX_TIME_UPDATE
                np.testing.assert_allclose(A.sum(axis=0), 1.0)
                moduli = np.sort(np.abs(np.linalg.eigvals(A)))[::-1]
                assert abs(moduli[0] - 1) < 1e-12 and moduli[1] <= 0.8
                limit = np.linalg.matrix_power(A, 400) @ f
                assert mod.missing_observations(A @ A @ f, limit)
    finally:
        importlib.reload(check)


def test_measurement_update():
    good = _correct_measurement_update()
    # the book's data by hand: likelihood of "1 or 3" is (0.3, 0.6, 0.7); times (0.5, 0.3, 0.2) that is
    # (0.15, 0.18, 0.14), over 0.47
    np.testing.assert_allclose(good, np.array([15, 18, 14]) / 47, rtol=1e-12)
    assert check.measurement_update(good)
    pred, C, (l0, l1) = check.EX_MEASUREMENT
    norm = lambda v: v / v.sum()  # noqa: E731
    cases = [(norm(pred * C[l0] * C[l1]), "multiplied the two rows"),
             (norm(pred * C[l0]), "only the first symbol"),
             (norm(pred * C[l1]), "only the second symbol"),
             (pred * (C[l0] + C[l1]), "forgot to normalize"),
             (norm(C[l0] + C[l1]), "likelihood alone"),
             (good + np.array([0.01, -0.01, 0.0]), "not within tolerance")]
    for wrong, phrase in cases:
        r = check.measurement_update(wrong)
        assert not r and phrase in str(r), (phrase, str(r))
    assert not check.measurement_update(None)
    assert "numeric" in str(check.measurement_update("abc"))


def test_measurement_update_is_not_the_pages_single_symbol_update():
    """The page's update with one observed symbol (a row of C) does not answer a reading of two symbols."""
    pred, C, y_set = check.EX_MEASUREMENT
    for l in y_set:
        assert not check.measurement_update(pred * C[l] / (pred @ C[l]))


def test_evidence_two_steps():
    good = _correct_evidence()
    assert check.evidence_two_steps(good)
    assert check.evidence_two_steps(np.float64(good))
    pi, A, C, D, (y1, y2), (w1, w2) = check.EX_EVIDENCE
    l1, l2 = C[y1] * D[w1], C[y2] * D[w2]
    f1 = pi * l1 / (pi @ l1)
    fc = pi * C[y1] / (pi @ C[y1])
    cases = {
        "left out the second sensor": (pi @ C[y1]) * ((A @ fc) @ C[y2]),
        "A^T": (pi @ l1) * ((A.T @ f1) @ l2),
        "skipped the time update": (pi @ l1) * (f1 @ l2),
        "independent draws": (pi @ l1) * (pi @ l2),
        "only the second factor": (A @ f1) @ l2,
        "log of the evidence": np.log(good),
    }
    a1, a2 = C[y1] + D[w1], C[y2] + D[w2]
    cases["added the two sensors"] = (pi @ a1) * ((A @ (pi * a1 / (pi @ a1))) @ a2)
    for phrase, wrong in cases.items():
        r = check.evidence_two_steps(wrong)
        assert not r and phrase in str(r), (phrase, str(r))
    r = check.evidence_two_steps([good, good])
    assert not r and "single number" in str(r)
    assert not check.evidence_two_steps(None)


def test_drawn_measurement_and_evidence_problems():
    import importlib

    from pedagogy_lib.exercises.checker import drawn_for

    try:
        for salt in range(6):
            with drawn_for(salt):
                mod = importlib.reload(check)
                p = mod.EX_MEASUREMENT
                assert p.C.shape == (4, 3) and len(set(p.y_set)) == 2
                np.testing.assert_allclose(p.C.sum(axis=0), 1.0)
                assert mod.measurement_update(_correct_measurement_update(p))
                e = mod.EX_EVIDENCE
                np.testing.assert_allclose(e.D.sum(axis=0), 1.0)
                assert mod.evidence_two_steps(_correct_evidence(e))
    finally:
        importlib.reload(check)


def _correct_lag_one():
    """p(x_{t-1} | y_{1:t}) by enumerating the pairs (x_{t-1}, x_t) of the two-step joint
    f_prev(x_{t-1}) A[x_t, x_{t-1}] C[y_t, x_t] and summing x_t out: no fragments, no recursion."""
    f, A, C, y = check.EX_LAG_ONE
    joint = np.array([[f[i] * A[j, i] * C[y, j] for j in range(3)] for i in range(3)])    # [x_{t-1}, x_t]
    return joint.sum(axis=1) / joint.sum()


def test_lag_one_smoother():
    good = _correct_lag_one()
    np.testing.assert_allclose(good, np.array([85, 52, 129]) / 266, rtol=1e-12)      # the book's data, by hand
    assert check.lag_one_smoother(good)
    assert check.lag_one_smoother(list(good))
    f, A, C, y = check.EX_LAG_ONE
    norm = lambda v: v / v.sum()  # noqa: E731
    cases = [(f, "filter at t - 1 unchanged"),
             (norm((A @ f) * C[y]), "(the filter at t)"),
             (A @ f, "(the prediction)"),
             (norm(f * (A @ C[y])), "rows of A"),
             (norm(f * (A.T @ C[:, y])), "column y_t of C"),
             (f * (A.T @ C[y]), "forgot to normalize"),
             (norm(f * C[y]), "leaving out the transition")]
    for wrong, phrase in cases:
        r = check.lag_one_smoother(wrong)
        assert not r and phrase in str(r), (phrase, str(r))
    r = check.lag_one_smoother(good[:2])
    assert not r and "shape" in str(r)
    assert not check.lag_one_smoother(None)
    assert "0.3195" not in str(check.lag_one_smoother(good + np.array([0.01, -0.01, 0.0])))


def test_lag_one_smoother_is_neither_the_filter_nor_the_full_smoother_the_page_runs():
    """The page computes the filter at t and the smoother given all the data; the exercise's quantity is
    the previous step given one more observation, which the page never computes."""
    f, A, C, y = check.EX_LAG_ONE
    good = _correct_lag_one()
    assert np.max(np.abs(good - f)) > 0.05
    pred = A @ f
    assert np.max(np.abs(good - pred * C[y] / (pred @ C[y]))) > 0.05


def test_drawn_lag_one_problems_are_answered_by_the_enumeration():
    import importlib

    from pedagogy_lib.exercises.checker import drawn_for

    try:
        for salt in range(6):
            with drawn_for(salt):
                mod = importlib.reload(check)
                f, A, C, y = mod.EX_LAG_ONE
                np.testing.assert_allclose(A.sum(axis=0), 1.0)
                np.testing.assert_allclose(C.sum(axis=0), 1.0)
                joint = f[:, None] * A.T * C[y][None, :]                  # [x_{t-1}, x_t]
                good = joint.sum(axis=1) / joint.sum()
                assert mod.lag_one_smoother(good)
                assert not mod.lag_one_smoother(f)
    finally:
        importlib.reload(check)


@pytest.mark.parametrize("fn", [check.measurement_update, check.evidence_two_steps,
                                check.lag_one_smoother])
def test_none_fails_gracefully(fn):
    r = fn(None)
    assert not r.passed and r.problems


def test_the_page_does_not_write_out_the_measurement_update_before_its_exercise():
    """ex-2-2-0-measurement-update asks for Eq. 2.37 by hand: no code cell before it may compute
    the normalized product of the prediction and a row of C."""
    import json
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "chapters/ch02_directed_generative_models/2_2_0_dynamical_models.ipynb"
    cells = json.loads(page.read_text())["cells"]
    first = next(i for i, c in enumerate(cells) if ":label: ex-2-2-0-measurement-update" in "".join(c["source"]))
    code = "".join("".join(c["source"]) for c in cells[:first] if c["cell_type"] == "code")
    assert not re.search(r"\*\s*C\[y\[0\]\]\s*/", code)


# ---------------------------------------------------------------- the backward pass as a function

def _smoother_by_ratios(filtered, transitions):
    """gamma_t = f_t * A_t^T (gamma_{t+1} / p_{t+1}) and xi_t = (gamma_{t+1} / p_{t+1}) A_t f_t, the ratio form
    of the alpha-gamma algorithm (Section 2.2.1), with 0/0 taken as 0."""
    T, K = filtered.shape
    gamma, xi = filtered.copy(), np.zeros((T - 1, K, K))
    for t in range(T - 2, -1, -1):
        pred = transitions[t] @ filtered[t]
        ratio = np.zeros(K)
        ratio[pred > 0] = gamma[t + 1][pred > 0] / pred[pred > 0]
        xi[t] = ratio[:, None] * transitions[t] * filtered[t][None, :]
        gamma[t] = filtered[t] * (transitions[t].T @ ratio)
    return gamma, xi


def _smoother_by_conditionals(filtered, transitions):
    """Future conditioning as a column-stochastic matrix R[i, j] = p(x_t = i | x_{t+1} = j) (a zero prediction
    keeps the filter as its column, as the library's BAYES-INVERT does), then the backward step as a matrix-vector
    product; returned as lists."""
    T, K = filtered.shape
    smoothed, pairwise = [None] * T, [None] * (T - 1)
    smoothed[-1] = filtered[-1]
    for t in range(T - 2, -1, -1):
        joint = np.einsum("ji,i->ij", transitions[t], filtered[t])       # [x_t, x_{t+1}]
        pred = joint.sum(axis=0)
        R = np.where(pred[None, :] > 0, joint / np.where(pred > 0, pred, 1.0)[None, :], filtered[t][:, None])
        smoothed[t] = R @ smoothed[t + 1]
        pairwise[t] = (R * smoothed[t + 1][None, :]).T
    return [list(s) for s in smoothed], [p.tolist() for p in pairwise]


def _random_chain(rng, K, T):
    pi = rng.dirichlet(np.ones(K))
    transitions = np.stack([rng.dirichlet(np.ones(K), size=K).T for _ in range(T - 1)])
    log_lik = np.log(rng.uniform(0.05, 1.0, size=(T, K)))
    return pi, transitions, log_lik


def _filter_by_hand(pi, transitions, log_lik):
    T, K = log_lik.shape
    f = np.zeros((T, K))
    for t in range(T):
        pred = pi if t == 0 else transitions[t - 1] @ f[t - 1]
        u = pred * np.exp(log_lik[t])
        f[t] = u / u.sum()
    return f


def test_the_ratio_form_is_the_smoother_of_enumerated_paths_with_the_later_state_first():
    """On a small chain with transitions that change in time, the accepted answer agrees with summing the joint of
    Eq. 2.35 over all K**T paths: smoothed marginals, and pairwise[t][j, i] = p(x_{t+1} = j, x_t = i | y)."""
    import itertools

    rng = np.random.default_rng(7)
    K, T = 3, 5
    pi, transitions, log_lik = _random_chain(rng, K, T)
    paths = np.array(list(itertools.product(range(K), repeat=T)))
    lw = np.log(pi[paths[:, 0]]) + log_lik[0, paths[:, 0]]
    for t in range(1, T):
        lw += np.log(transitions[t - 1][paths[:, t], paths[:, t - 1]]) + log_lik[t, paths[:, t]]
    w = np.exp(lw - lw.max())
    w /= w.sum()
    smoothed, pairwise = _smoother_by_ratios(_filter_by_hand(pi, transitions, log_lik), transitions)
    for t in range(T):
        np.testing.assert_allclose(smoothed[t], np.bincount(paths[:, t], weights=w, minlength=K), atol=1e-12)
    for t in range(T - 1):
        P = np.zeros((K, K))
        np.add.at(P, (paths[:, t + 1], paths[:, t]), w)
        np.testing.assert_allclose(pairwise[t], P, atol=1e-12)


def test_smoother_function_accepts_two_independent_routes():
    assert check.smoother_function(_smoother_by_ratios)
    assert check.smoother_function(_smoother_by_conditionals)


def _smoother_slip(kind):
    def fn(filtered, transitions):
        T, K = filtered.shape
        gamma, xi = filtered.copy(), np.zeros((T - 1, K, K))
        if kind == "filter":
            return gamma, xi
        for t in range(T - 2, -1, -1):
            A = transitions[t - 1] if kind == "shifted" else transitions[t]
            A = A.T if kind == "rows" else A
            pred = A @ filtered[t]
            later = filtered[t + 1] if kind == "filter at t+1" else gamma[t + 1]
            if kind == "no division":
                ratio = later
            elif kind == "nan":
                ratio = later / pred
            else:
                ratio = np.divide(later, pred, out=np.zeros(K), where=pred > 0)
            xi[t] = ratio[:, None] * A * filtered[t][None, :]
            gamma[t] = xi[t].sum(axis=0)
        return gamma, (xi.swapaxes(1, 2) if kind == "earlier first" else xi)
    return fn


@pytest.mark.parametrize("wrong,fragment", [
    (_smoother_slip("filter"), "backward pass never ran"),
    (_smoother_slip("rows"), "read transitions[t] as row-stochastic"),
    (_smoother_slip("no division"), "left out the division by the prediction"),
    (_smoother_slip("filter at t+1"), "used the filter at t + 1"),
    (_smoother_slip("shifted"), "with transitions[t - 1]"),
    (_smoother_slip("earlier first"), "the earlier state first"),
    (_smoother_slip("nan"), "must count as 0"),
    (lambda f, tr: None, "forget to return"),
    (lambda f, tr: 1 / 0, "raised ZeroDivisionError"),
    (lambda f, tr: _smoother_by_ratios(f, tr)[0], "should return the pair"),
])
def test_smoother_function_names_the_slips(wrong, fragment):
    with np.errstate(divide="ignore", invalid="ignore"):
        res = check.smoother_function(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_smoother_function_without_the_zero_guard_passes_until_the_left_to_right_chain():
    with np.errstate(divide="ignore", invalid="ignore"):
        res = str(check.smoother_function(_smoother_slip("nan")))
    assert "left-to-right" in res and "test problem 5" in res, res


def test_smoother_function_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.smoother_function([1, 2]))
    none = check.smoother_function(None)
    assert not none and "None" in str(none) and "my_smoother" in str(none)
    msg = str(check.smoother_function(lambda f, tr: (_smoother_by_ratios(f, tr)[0] + 1e-3,
                                                     _smoother_by_ratios(f, tr)[1])))
    assert "test problem 1" in msg
    assert not re.search(r"[0-9]\.[0-9]", msg.replace("Eqs. 2.38-2.39", "")), msg


def test_smoother_cases_are_what_the_statement_promises():
    cases = refs.smoother_cases()
    Ts = [args[0].shape[0] for _, args, _ in cases]
    assert 1 in Ts
    varying = [tr for _, (_, tr), _ in cases if len(tr) > 1]
    assert all(not np.allclose(tr[0], tr[1]) for tr in varying)
    for _, (filtered, transitions), (smoothed, pairwise) in cases:
        np.testing.assert_allclose(transitions.sum(axis=1), 1.0, rtol=1e-12)
        np.testing.assert_array_equal(smoothed[-1], filtered[-1])
        assert pairwise.shape == (len(filtered) - 1,) + transitions.shape[1:]
    zeros = [args for where, args, _ in cases if "left-to-right" in where]
    assert len(zeros) == 1
    filtered, transitions = zeros[0]
    assert np.any(np.einsum("tij,tj->ti", transitions, filtered[:-1]) == 0)
