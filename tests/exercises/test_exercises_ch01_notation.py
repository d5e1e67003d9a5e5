"""Checkers of the Chapter 1 notebook (notation, arguments and variables): the notebook's solutions pass, the
library's own routes to the same numbers pass, and the named slips are recognized without giving the
answer away.
"""
from __future__ import annotations

import itertools
import re

import numpy as np

from pedagogy_lib import discrete
from pedagogy_lib.core.gradcheck import gradcheck
from pedagogy_lib.exercises import ch01_notation as check
from pedagogy_lib.hmm import categorical_log_lik, hmm_filter, hmm_smoother


def _log_joint_solution(pi, A, B, y):
    """The notebook's solution: one new axis per time step, by broadcasting; an unrecorded step (-1) has no
    emission factor."""
    with np.errstate(divide="ignore"):
        lA, lB = np.log(A), np.log(B)
        lpi = np.log(pi)
    emit = lambda t: lB[y[t]] if y[t] >= 0 else np.zeros(len(pi))  # noqa: E731
    out = lpi + emit(0)
    for t in range(1, len(y)):
        out = out[..., None] + lA.T + emit(t)
    return out


def _log_joint_through_the_library(pi, A, B, y):
    """The same table from the library: the HMM written as a DAG, its joint table summed over the symbols that
    were not recorded and sliced at the recorded ones (no use of the fact that an emission sums to one)."""
    K, T = len(pi), len(y)
    cpts, parents = {}, {}
    for t in range(T):
        cpts[f"x{t}"] = pi if t == 0 else A
        if t:
            parents[f"x{t}"] = (f"x{t - 1}",)
    for t in range(T):
        cpts[f"y{t}"] = B
        parents[f"y{t}"] = (f"x{t}",)
    joint = discrete.joint_table(discrete.make_dag(cpts, parents))
    index = tuple(slice(None) if v < 0 else int(v) for v in y)
    kept = joint[(Ellipsis, *index)]                              # axes: x_1..x_T, then the unrecorded y_t
    kept = kept.sum(axis=tuple(range(T, kept.ndim))) if kept.ndim > T else kept
    with np.errstate(divide="ignore"):
        return np.log(kept).reshape((K,) * T)


def test_eq_1_5_log_joint_function_accepts_the_solution_and_the_library():
    assert check.log_joint_function(_log_joint_solution)
    assert check.log_joint_function(_log_joint_through_the_library)


def test_unrecorded_symbols_by_summing_the_joint_over_them():
    """An independent route for the steps without a recorded symbol: the full joint of states and symbols,
    written as one product, summed over every value the unrecorded symbols could have taken."""
    rng = np.random.default_rng(3)
    K, V = 3, 2
    pi, A, B = rng.dirichlet(np.ones(K)), rng.dirichlet(np.ones(K), size=K).T, rng.dirichlet(np.ones(V), size=K).T
    y = np.array([-1, 1, -1, 0])
    missing = [t for t in range(4) if y[t] < 0]
    want = np.zeros((K,) * 4)
    for x in itertools.product(range(K), repeat=4):
        for filled in itertools.product(range(V), repeat=len(missing)):
            yy = y.copy()
            yy[missing] = filled
            v = pi[x[0]] * B[yy[0], x[0]]
            for t in range(1, 4):
                v *= A[x[t], x[t - 1]] * B[yy[t], x[t]]
            want[x] += v
    np.testing.assert_allclose(_log_joint_solution(pi, A, B, y), np.log(want), rtol=1e-12)
    np.testing.assert_allclose(_log_joint_through_the_library(pi, A, B, y), np.log(want), rtol=1e-12)


def test_unrecorded_symbols_slips_are_named():
    def slip(fn):
        r = check.log_joint_function(fn)
        assert not r
        return str(r)

    def as_index(pi, A, B, y):                 # the page's code: B[y_t] with y_t = -1 reads the last row
        with np.errstate(divide="ignore"):
            lA, lB = np.log(A), np.log(B)
            out = np.log(pi) + lB[y[0]]
        for t in range(1, len(y)):
            out = out[..., None] + lA.T + lB[y[t]]
        return out

    msg = slip(as_index)
    assert "test problem 6" in msg and "used -1 as an index" in msg, msg
    uniform = lambda pi, A, B, y: _log_joint_solution(pi, A, B, y) + np.sum(y < 0) * np.log(1 / B.shape[0])  # noqa: E731
    assert "probability 1/V" in slip(uniform)

    def no_transition(pi, A, B, y):
        out = _log_joint_solution(pi, A, B, y)
        with np.errstate(divide="ignore"):
            lA = np.log(A)
        for t in range(1, len(y)):
            if y[t] < 0:
                shape = [1] * len(y)
                shape[t - 1], shape[t] = len(pi), len(pi)
                out = out - lA.T.reshape(shape)
        return out

    assert "left out the transition into a step" in slip(no_transition)


def test_eqs_1_3_and_1_5_summed_over_the_states_is_the_forward_algorithms_evidence_and_normalized_its_smoother():
    """The partially evaluated joint of small HMMs, summed over x_1..x_T, is p(y_1:T); its normalized
    single-time marginals are the smoother's."""
    for pi, A, B, y in _cases():
        table = _log_joint_solution(pi, A, B, y)
        filt = hmm_filter(pi, A, categorical_log_lik(B, y), backend="numpy")
        np.testing.assert_allclose(np.logaddexp.reduce(table.ravel()), filt.log_evidence, rtol=1e-12)
        post = np.exp(table - filt.log_evidence)
        gamma = hmm_smoother(pi, A, categorical_log_lik(B, y), backend="numpy").gamma
        T = len(y)
        for t in range(T):
            np.testing.assert_allclose(post.sum(axis=tuple(s for s in range(T) if s != t)), gamma[t], atol=1e-12)


def _cases():
    """Small HMMs of the kind the checker draws (the checker's own are private)."""
    rng = np.random.default_rng(5)
    out = []
    for K, V, T in [(2, 3, 4), (3, 3, 3), (3, 2, 1), (1, 2, 3)]:
        out.append((rng.dirichlet(np.ones(K)), rng.dirichlet(np.ones(K), size=K).T,
                    rng.dirichlet(np.ones(V), size=K).T, rng.integers(0, V, size=T)))
    return out


def test_log_joint_function_names_the_slips():
    def slip(fn):
        r = check.log_joint_function(fn)
        assert not r
        return str(r)

    first = lambda pi, y: np.log(pi)[(slice(None),) + (None,) * (len(y) - 1)]  # noqa: E731
    assert "read A row by row" in slip(lambda pi, A, B, y: _log_joint_solution(pi, A.T, B, y))
    assert "left out the distribution pi" in slip(lambda pi, A, B, y: _log_joint_solution(pi, A, B, y) - first(pi, y))
    assert "another time step" in slip(lambda pi, A, B, y: _log_joint_solution(pi, A, B, np.roll(y, 1)))
    assert "applied a transition to pi" in slip(lambda pi, A, B, y: _log_joint_solution(A @ pi, A, B, y))
    assert "reverse order" in slip(lambda pi, A, B, y: _log_joint_solution(pi, A, B, y).T)
    assert "returned probabilities" in slip(lambda pi, A, B, y: np.exp(_log_joint_solution(pi, A, B, y)))

    def normalized(pi, A, B, y):
        r = _log_joint_solution(pi, A, B, y)
        return r - np.logaddexp.reduce(r.ravel())

    assert "normalized over the state sequences" in slip(normalized)

    def b_transposed(pi, A, B, y):
        if B.shape[0] != B.shape[1]:
            return _log_joint_solution(pi, A, B, y)
        return _log_joint_solution(pi, A, B.T, y)

    assert "test problem 2" in slip(b_transposed) and "B as B[state, symbol]" in slip(b_transposed)
    assert "forget to return" in slip(lambda pi, A, B, y: None)
    assert "raised IndexError" in slip(lambda pi, A, B, y: y[len(y)])
    assert "should be a function" in str(check.log_joint_function(np.zeros(3)))


def test_log_joint_function_reaches_the_edge_cases_and_reveals_no_answer():
    msg = str(check.log_joint_function(lambda pi, A, B, y: _log_joint_solution(pi, A, B, y) + 0.01))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg.split("\n", 1)[1]), msg
    # a single time step (problem 3): wrong only there
    msg = str(check.log_joint_function(lambda pi, A, B, y: _log_joint_solution(pi, A, B, y) + (len(y) == 1)))
    assert "test problem 3 (K = 3, V = 2, T = 1)" in msg, msg
    # impossible sequences (problem 4): a large negative number is not minus infinity
    msg = str(check.log_joint_function(
        lambda pi, A, B, y: np.maximum(_log_joint_solution(pi, A, B, y), -700.0)))
    assert "test problem 4" in msg and "finite at sequences that are impossible" in msg, msg
    # and the other way round: minus infinity where every factor is positive
    def too_many_zeros(pi, A, B, y):
        out = _log_joint_solution(pi, A, B, y)
        return np.where(out < np.median(out[np.isfinite(out)]), -np.inf, out) if np.isfinite(out).sum() > 1 else out
    msg = str(check.log_joint_function(too_many_zeros))
    assert "minus infinity at sequences that are possible" in msg, msg
    # a single state (problem 5)
    msg = str(check.log_joint_function(lambda pi, A, B, y: _log_joint_solution(pi, A, B, y) + (len(pi) == 1)))
    assert "test problem 5 (K = 1" in msg, msg


def _joint_by_enumeration():
    """p(x, y, z) = p(x) p(z | x) p(y | x, z), indexed [x, y, z], from the exercise's factors."""
    p_x, p_z_x, p_y_xz, z = check.EX_XYZ
    return np.einsum("i,ik,ijk->ijk", p_x, p_z_x, p_y_xz), z


def test_eq_1_2_factors_are_distributions_and_not_the_pages_factorization():
    p_x, p_z_x, p_y_xz, z = check.EX_XYZ
    np.testing.assert_allclose(p_x.sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(p_z_x.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(p_y_xz.sum(axis=1), 1.0, rtol=1e-12)
    # the prior of Eq. 1.2, p(x | z), is not p(x): Z carries information about X
    p, _ = _joint_by_enumeration()
    p_x_given_z = p[:, :, z].sum(axis=1) / p[:, :, z].sum()
    assert np.abs(p_x_given_z - p_x).max() > 0.05


def test_eq_1_2_bayes_table_accepts_the_bound_z_posterior_and_names_the_slips():
    p_x, p_z_x, p_y_xz, _ = check.EX_XYZ
    p, z = _joint_by_enumeration()
    # brute force: enumerate the joint, condition on (y, z) by dividing by the sum over x
    brute = np.array([[p[i, j, z] / sum(p[a, j, z] for a in range(p.shape[0])) for j in range(p.shape[1])]
                      for i in range(p.shape[0])])
    assert check.bayes_table(brute)
    # the library's conditional on a DAG with this factorization (x, then z | x, then y | x, z)
    dag = discrete.make_dag({"x": p_x, "z": p_z_x.T, "y": np.moveaxis(p_y_xz, 1, 0)},
                            {"z": ("x",), "y": ("x", "z")})
    assert check.bayes_table(np.stack([discrete.conditional(dag, "x", {"y": j, "z": z})
                                       for j in range(p.shape[1])], axis=1))
    like = p_y_xz[:, :, z]                                                   # p(y | x, z), a row per x

    def over_x(t):
        return t / t.sum(axis=0, keepdims=True)

    assert "p(x) as the prior" in str(check.bayes_table(over_x(like * p_x[:, None])))
    assert "p(z | x) as the prior" in str(check.bayes_table(over_x(like * p_z_x[:, z][:, None])))
    assert "leaving out the prior" in str(check.bayes_table(over_x(like)))
    assert "summed out instead of bound" in str(check.bayes_table(over_x(p.sum(2))))
    prior = p[:, :, z].sum(axis=1) / p[:, :, z].sum()
    assert "dropped Y" in str(check.bayes_table(np.repeat(prior[:, None], p.shape[1], axis=1)))
    assert "did not divide by the evidence" in str(check.bayes_table(like * (p_x * p_z_x[:, z])[:, None]))
    assert not check.bayes_table(p[:, :, z])


def test_eq_1_2_the_pages_bayes_at_with_p_x_as_prior_fails():
    """The page's bayes_at(z) reads the globals P_y_xz ([y, x, z]) and P_x_z ([x, z]); rebinding them to the
    exercise's factors, with p(x) (or p(z | x)) as the prior, is not the answer."""
    p_x, p_z_x, p_y_xz, z = check.EX_XYZ
    like = p_y_xz[:, :, z]
    for prior in (p_x, p_z_x[:, z]):
        evidence = prior @ like
        assert not check.bayes_table(like * prior[:, None] / evidence[None, :])


def _total_parts():
    A, c, lam, theta = check.EX_TOTAL
    x = np.tanh(A @ theta)
    g_x = x - c + lam * theta
    J = (1 - x ** 2)[:, None] * A
    return A, c, lam, theta, x, g_x, J


def test_total_derivative_accepts_the_chain_rule_and_not_differences():
    """The statement asks for the chain rule "rather than by differencing": the checker's closed form
    agrees with fourth-order differences of the loss, and the checker takes the closed form at
    rounding level, which central differences (error about 1e-10 here) do not reach."""
    A, c, lam, theta, x, g_x, J = _total_parts()
    assert check.total_derivative(lam * x, lam * x + J.T @ g_x)
    assert check.total_derivative(lam * x, lam * x + A.T @ ((1 - x ** 2) * g_x))     # another order of products
    loss = lambda th, xx: 0.5 * np.sum((xx - c) ** 2) + lam * th @ xx  # noqa: E731
    numeric_total = gradcheck(lambda th: loss(th, np.tanh(A @ th)), theta, h=1e-4, order=4).numeric
    numeric_partial = gradcheck(lambda th: loss(th, x), theta, h=1e-4, order=4).numeric
    np.testing.assert_allclose(lam * x, numeric_partial, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(lam * x + J.T @ g_x, numeric_total, rtol=1e-8, atol=1e-10)
    central = gradcheck(lambda th: loss(th, np.tanh(A @ th)), theta, h=1e-6).numeric
    assert not check.total_derivative(lam * x, central)


def test_total_derivative_names_the_slips():
    A, c, lam, theta, x, g_x, J = _total_parts()
    total = lam * x + J.T @ g_x
    assert "gave the partial derivative" in str(check.total_derivative(lam * x, lam * x))
    assert "derivative of tanh" in str(check.total_derivative(lam * x, lam * x + A.T @ g_x))
    assert "untransposed" in str(check.total_derivative(lam * x, lam * x + J @ g_x))
    assert "lam * theta part" in str(check.total_derivative(lam * x, lam * x + J.T @ (x - c)))
    assert "direct dependence" in str(check.total_derivative(lam * x, J.T @ g_x))
    assert "total derivative where the partial" in str(check.total_derivative(total, total))
    assert not check.total_derivative(lam * x, lam * x)


def test_iterated_expectation_accepts_enumeration_and_names_the_slips():
    p_y, Q, F = check.EX_ITER
    inner = np.array([sum(Q[k, l] * F[k, l] for k in range(3)) / Q[:, l].sum() for l in range(3)])
    assert check.iterated_expectation(inner, sum(p_y[l] * Q[k, l] / Q[:, l].sum() * F[k, l]
                                                 for k, l in itertools.product(range(3), repeat=2)))
    assert "model's joint" in str(check.iterated_expectation((Q * F).sum(0), p_y @ inner))
    assert "rows of the joint" in str(check.iterated_expectation((Q / Q.sum(1, keepdims=True) * F).sum(0),
                                                                 p_y @ inner))
    assert "model's marginal" in str(check.iterated_expectation(inner, Q.sum(0) @ inner))
    assert "equal weights" in str(check.iterated_expectation(inner, inner.mean()))
    assert "without weighting" in str(check.iterated_expectation(inner, inner.sum()))
    assert not check.iterated_expectation(inner, inner.mean())
