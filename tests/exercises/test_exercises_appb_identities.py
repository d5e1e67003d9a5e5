"""Tests for the Appendix B.3 exercise checkers (pedagogy_lib.exercises.appb_identities).

Exercises (a) and (b) work with a diagonal A of n = 200 000 entries plus a rank-two update. Correct
answers come from the identities themselves (Eqs. B.14 and B.15, written out here, on vectors); the
oracles that do not use them are the residual (A + U C V) x - b, computed in O(n), entries of the
inverse's diagonal from solves for unit vectors, and, for the same draw at n = 6, a dense solve and a
dense inverse.
"""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib.exercises import appb_identities as check
from pedagogy_lib.exercises.references import appb_identities as refs


def _residual(a, U, C, V, b, x):
    """|(A + U C V) x - b| / |b|, in O(n): the oracle that does not use the identities."""
    return np.linalg.norm(a * x + U @ (C @ (V @ x)) - b) / np.linalg.norm(b)


def _sm_diagonal_change(a, u, v):
    """Eq. B.15 twice, each inverse a map on vectors; the diagonal of each rank-one correction is the
    product of M^{-1} u and M^{-T} v, entry by entry (M^{-T}: u and v trade places)."""
    def base(w):
        return w / a

    def updated(apply, ui, vi):
        Mu = apply(ui)
        return lambda w: apply(w) - Mu * (vi @ apply(w)) / (1 + vi @ Mu)

    apply, apply_t, change = base, base, np.zeros_like(a)
    for ui, vi in zip(u, v):
        p, q = apply(ui), apply_t(vi)
        change = change - p * q / (1 + vi @ p)
        apply, apply_t = updated(apply, ui, vi), updated(apply_t, vi, ui)
    return change


def _wb_vectors(a, U, C, V, b):
    Ab, AU = b / a, U / a[:, None]
    return Ab - AU @ (np.linalg.inv(np.linalg.inv(C) + V @ AU) @ (V @ Ab))


def test_the_problems_are_too_large_for_a_dense_matrix_and_well_posed():
    a, u, v = check.EX_SM
    n = check.N_BIG
    assert n == 200_000 and a.shape == (n,) and u.shape == v.shape == (2, n)
    assert a.min() >= 1.0 and np.all(np.isfinite(u)) and np.all(np.isfinite(v))
    assert abs(np.corrcoef(u)[0, 1] - 0.6) < 0.01           # the updates overlap
    a, U, C, V, b = check.EX_WOODBURY
    assert a.shape == b.shape == (n,) and U.shape == (n, 2) and C.shape == (2, 2) and V.shape == (2, n)
    assert a.min() >= 1.0 and not np.allclose(C, C.T)
    for a, U, C, V, b in ((check.EX_SM.a, check.EX_SM.u.T, np.eye(2), check.EX_SM.v, np.ones(n)),
                          check.EX_WOODBURY):
        # the symmetric part of A + U C V is at least min(a) - |U| |C| |V - U^T|: well conditioned
        norm = lambda M: np.sqrt(np.linalg.eigvalsh(M.T @ M if M.shape[0] > M.shape[1] else M @ M.T).max())
        low = a.min() - norm(U) * np.linalg.norm(C, 2) * norm(V - U.T)
        high = a.max() + norm(U) * np.linalg.norm(C, 2) * norm(V)
        assert low > 0.4 and high / low < 20, (low, high)
        assert np.linalg.eigvalsh(C + C.T).min() > 0
        inner = np.linalg.inv(C) + V @ (U / a[:, None])
        assert np.linalg.svd(inner, compute_uv=False).min() > 1.0
        # the update is not small: a plain fixed-point iteration x <- A^{-1} (b - U C V x) diverges
        assert np.abs(np.linalg.eigvals(C @ V @ (U / a[:, None]))).max() > 1.2


def _diagonal_entries_by_solves(a, u, v, idx):
    """Entries i of diag((A + u_1 v_1^T + u_2 v_2^T)^{-1}): e_i^T x with x solving the system for e_i, by
    block elimination on the 2 x 2 system of the update's coefficients, checked by its O(n) residual (no
    rank-one identity)."""
    out = []
    for i in idx:
        e = np.zeros_like(a)
        e[i] = 1.0
        # x = A^{-1}(e - U y) with y = V x: (I + V A^{-1} U) y = V A^{-1} e
        U = u.T
        y = np.linalg.solve(np.eye(2) + v @ (U / a[:, None]), v @ (e / a))
        x = (e - U @ y) / a
        assert np.linalg.norm(a * x + U @ (v @ x) - e) < 1e-13
        out.append(x[i] - 1 / a[i])
    return np.array(out)


def test_sherman_morrison_diagonal_change():
    a, u, v = check.EX_SM
    good = _sm_diagonal_change(a, u, v)
    idx = [0, 1, 7, 99_999, 123_456, 199_999] + list(np.argsort(-np.abs(good))[:4])
    np.testing.assert_allclose(good[idx], _diagonal_entries_by_solves(a, u, v, idx), rtol=1e-9, atol=1e-17)
    assert check.sherman_morrison(good)
    assert check.sherman_morrison(list(good))
    r = check.sherman_morrison(_sm_diagonal_change(a, u[:1], v[:1]))         # the page's single update
    assert not r and "only one" in str(r)
    from_A = sum(_sm_diagonal_change(a, u[i:i + 1], v[i:i + 1]) for i in (0, 1))
    r = check.sherman_morrison(from_A)
    assert not r and "from A^{-1}" in str(r)
    r = check.sherman_morrison(1 / a + good)
    assert not r and "not its change" in str(r)
    for wrong in (None, good[:-1], np.outer(good[:3], good[:3]), np.zeros_like(a)):
        assert not check.sherman_morrison(wrong)


def test_sherman_morrison_names_the_symmetric_second_step_and_the_denominator_slip():
    a, u, v = check.EX_SM
    base = lambda w: w / a  # noqa: E731
    M1 = lambda w: base(w) - base(u[0]) * (v[0] @ base(w)) / (1 + v[0] @ base(u[0]))  # noqa: E731
    change = -base(u[0]) * base(v[0]) / (1 + v[0] @ base(u[0]))
    p = M1(u[1])
    r = check.sherman_morrison(change - p * M1(v[1]) / (1 + v[1] @ p))                 # M_1^{-1} v_2 for q
    assert not r and "not symmetric" in str(r), str(r)
    apply = base
    out = np.zeros_like(a)
    apply_t = base
    for ui, vi in zip(u, v):
        p, q = apply(ui), apply_t(vi)
        out = out - p * q / (1 - vi @ p)
        apply = (lambda f, ui, vi: lambda w: f(w) - f(ui) * (vi @ f(w)) / (1 - vi @ f(ui)))(apply, ui, vi)
        apply_t = (lambda f, ui, vi: lambda w: f(w) - f(vi) * (ui @ f(w)) / (1 - ui @ f(vi)))(apply_t, ui, vi)
    r = check.sherman_morrison(out)
    assert not r and "1 - v^T" in str(r)


def test_the_pages_solve_does_not_give_the_diagonal():
    """The page's Woodbury solve (diagonal A, one right-hand side) applied to the exercise's updates gives a
    solution vector, not the change of the inverse's diagonal."""
    a, u, v = check.EX_SM
    for y in (np.ones_like(a), 1 / a):
        Ay, AU = y / a, u.T / a[:, None]
        x = Ay - AU @ np.linalg.solve(np.eye(2) + v @ AU, v @ Ay)
        assert not check.sherman_morrison(x) and not check.sherman_morrison(x - Ay)


def _logdet_by_rank_one_steps(a, U, C, V):
    """log|det(A + U C V)| without the block matrix: U C V = (U C) V = p_1 q_1^T + p_2 q_2^T, and
    det(M + p q^T) = (1 + q^T M^{-1} p) det(M) twice, M^{-1} after the first step by Eq. B.15 on
    vectors. Returns the log and the sign of the determinant."""
    P, Q = U @ C, V
    apply = lambda w: w / a  # noqa: E731
    logdet, sign = float(np.sum(np.log(a))), 1.0
    for p, q in zip(P.T, Q):
        Mp = apply(p)
        factor = 1.0 + q @ Mp
        logdet, sign = logdet + np.log(abs(factor)), sign * np.sign(factor)
        apply = (lambda f, Mp, q, factor: lambda w: f(w) - Mp * (q @ f(w)) / factor)(apply, Mp, q, factor)
    return logdet, sign


def _wb_answer(a, U, C, V, b):
    """The pair the exercise asks for, by Eq. B.14 and the rank-one determinant steps."""
    return _wb_vectors(a, U, C, V, b), _logdet_by_rank_one_steps(a, U, C, V)[0]


def test_woodbury():
    a, U, C, V, b = check.EX_WOODBURY
    good, logdet = _wb_answer(a, U, C, V, b)
    assert _residual(a, U, C, V, b, good) < 1e-13
    assert _logdet_by_rank_one_steps(a, U, C, V)[1] == 1.0
    assert check.woodbury(good, logdet)
    assert check.woodbury(list(good), np.array([logdet]))
    # the block-matrix route a student derives, written out differently from the checker's reference
    S = np.linalg.inv(C) + V @ (U / a[:, None])
    by_blocks = np.log(a).sum() + np.log(np.linalg.det(C)) + np.log(np.linalg.det(S))
    assert abs(by_blocks - logdet) < 1e-8
    assert check.woodbury(good, by_blocks)
    Ab, AU = b / a, U / a[:, None]
    r = check.woodbury(Ab - AU @ (np.linalg.inv(C + V @ AU) @ (V @ Ab)), logdet)
    assert not r and "C^{-1}" in str(r)
    r = check.woodbury(_wb_vectors(a, U, C.T, V, b), logdet)
    assert not r and "C^T" in str(r)
    r = check.woodbury(_wb_vectors(a, V.T, C, U.T, b), logdet)
    assert not r and "roles of U and V" in str(r)
    r = check.woodbury(Ab, logdet)
    assert not r and "no correction" in str(r)


def test_woodbury_log_determinant_slips():
    a, U, C, V, b = check.EX_WOODBURY
    good, logdet = _wb_answer(a, U, C, V, b)
    log_a, log_c = np.log(a).sum(), np.log(np.linalg.det(C))
    log_s = np.log(np.linalg.det(np.linalg.inv(C) + V @ (U / a[:, None])))
    for wrong, words in ((log_a + log_s, "is missing"), (log_a + log_s - log_c, "the inverse of"),
                         (log_a - log_s + log_c, "wrong side"), (log_s + log_c, "sum of log a"),
                         (log_a, "alone"), (-logdet, "minus"), (logdet / np.log(10), "base 10")):
        r = check.woodbury(good, wrong)
        assert not r and words in str(r), (words, str(r))
        assert "x is" not in str(r)
    # the three slips inside the lemma say what to recheck, not which factor to add, invert or move
    for wrong in (log_a + log_s, log_a + log_s - log_c, log_a - log_s + log_c):
        text = str(check.woodbury(good, wrong))
        assert "det(C" not in text and "multipl" not in text and "divid" not in text, text


def test_woodbury_page_copy_routes_fail():
    """The page's op-count cell solves for x only; x alone, or x with log|det A| guessed, fails."""
    a, U, C, V, b = check.EX_WOODBURY
    good, _ = _wb_answer(a, U, C, V, b)
    assert not check.woodbury(good)
    for wrong in (None, good[:2], "x", good):
        assert not check.woodbury(good, wrong)
    assert not check.woodbury((good, np.log(a).sum()))
    assert not check.woodbury(good, np.log(a).sum())
    assert not check.woodbury(good, np.log10(a).sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_reference_and_the_slips_at_small_n_against_dense_solves(seed):
    """The same draw at n = 6: the reference is the dense solve, and the slips with a dense meaning are
    the dense solves of the matrices they stand for."""
    sm, wb = vars(check)["_draw"](np.random.default_rng(seed), n=6)
    solve = refs.solve_update
    a, u, v = sm
    A = np.diag(a)
    M = A + np.outer(u[0], v[0]) + np.outer(u[1], v[1])
    dense = np.diag(np.linalg.inv(M)) - 1 / a
    np.testing.assert_allclose(refs.diag_change(a, u.T, np.eye(2), v), dense, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(_sm_diagonal_change(a, u, v), dense, rtol=1e-12, atol=1e-15)
    chain = refs.sm_diag_chain
    np.testing.assert_allclose(chain(a, u, v), dense, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(chain(a, u, v, which=(0,)),
                               np.diag(np.linalg.inv(A + np.outer(u[0], v[0]))) - 1 / a, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(chain(a, u, v, from_A=True),
                               sum(np.diag(np.linalg.inv(A + np.outer(u[i], v[i]))) - 1 / a for i in (0, 1)),
                               rtol=1e-12, atol=1e-15)
    b = np.arange(1.0, 7.0)
    np.testing.assert_allclose(solve(a, u.T, np.eye(2), v, b), np.linalg.solve(M, b), rtol=1e-12, atol=1e-12)
    a, U, C, V, b = wb
    A = np.diag(a)
    np.testing.assert_allclose(solve(a, U, C, V, b), np.linalg.solve(A + U @ C @ V, b), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(solve(a, U, C.T, V, b), np.linalg.solve(A + U @ C.T @ V, b), rtol=1e-12)
    np.testing.assert_allclose(solve(a, V.T, C, U.T, b), np.linalg.solve(A + V.T @ C @ U.T, b), rtol=1e-12)
    sign, dense_logdet = np.linalg.slogdet(A + U @ C @ V)
    assert sign == 1.0
    assert abs(refs.logdet(a, U, C, V) - dense_logdet) < 1e-12
    assert _logdet_by_rank_one_steps(a, U, C, V) == pytest.approx((dense_logdet, 1.0), abs=1e-12)


@pytest.mark.parametrize("label", ["ex-b3-sherman-morrison", "ex-b3-woodbury"])
def test_every_slip_is_far_from_the_answer_and_from_the_others(label):
    """Each hint misses the reference by far more than the tolerance (and rounding is far below it), and
    each is recognized as itself, on the book's data and on a student's."""
    from courseware import grading as G
    for mod in (check, G.own_copy(check, G.student_seed("a", label))):
        calls = []
        real = vars(mod)["compare_array"]

        def spy(answer, expected, what, *, rtol, atol, hints):
            calls.append(dict(expected=np.asarray(expected, dtype=float), rtol=rtol, atol=atol, hints=hints))
            return real(answer, expected, what, rtol=rtol, atol=atol, hints=hints)

        vars(mod)["compare_array"] = spy
        try:
            if label == "ex-b3-sherman-morrison":
                mod.sherman_morrison(None)
            else:
                mod.woodbury(None, None)
        finally:
            vars(mod)["compare_array"] = real
        assert len(calls) == (1 if label == "ex-b3-sherman-morrison" else 2)
        goods = [c["expected"] for c in calls]
        a, U, C, V, b = mod.EX_WOODBURY
        if label == "ex-b3-woodbury":   # the reference pair against the independent computation
            x_ind, logdet_ind = _wb_answer(a, U, C, V, b)
            np.testing.assert_allclose(goods[0], x_ind, rtol=1e-12, atol=1e-13)
            assert abs(goods[1] - logdet_ind) < 1e-8 and goods[1] > 1e4
        for i, c in enumerate(calls):
            x, rtol, atol = c["expected"], c["rtol"], c["atol"]
            tol = atol + rtol * np.abs(x)
            wrongs = [np.asarray(w, dtype=float) for w in c["hints"].values()]
            for (description, wrong) in zip(c["hints"], wrongs):
                assert np.max(np.abs(wrong - x) / tol) > 1e3, description
                assert all(np.max(np.abs(wrong - other) / tol) > 1e3
                           for other in wrongs if other is not wrong), description
                if label == "ex-b3-sherman-morrison":
                    r = mod.sherman_morrison(wrong)
                else:
                    pair = list(goods)
                    pair[i] = wrong
                    r = mod.woodbury(*pair)
                    assert str(r).count("is what you get") == 1, str(r)
                assert not r and description in str(r), (description, str(r))
        if label == "ex-b3-woodbury":
            assert mod.woodbury(*goods)


def test_woodbury_shapes_is_the_smallest_push_through_inverse():
    # Oracle: every way of splitting each term U_i C_i V_i into M_i N_i at a factor boundary, the two splits
    # put side by side (M = [M_1 M_2], N = [N_1; N_2]), each checked against the dense inverse of
    # A + U_1 C_1 V_1 + U_2 C_2 V_2; the smallest (I + N M) that reproduces it is the answer, and the rank of
    # the update shows no other factorization can be smaller.
    import itertools
    n = check.EX_SIZES["n"]
    km = [(check.EX_SIZES["k1"], check.EX_SIZES["m1"]), (check.EX_SIZES["k2"], check.EX_SIZES["m2"])]
    rng = np.random.default_rng(0)
    # the inner shapes depend on the k's and m's only: a small A (above k1 + k2 + m1 + m2) keeps the
    # dense inverses cheap while every term keeps its full rank
    size = 2 * sum(k + m for k, m in km)
    assert size < n
    a = rng.uniform(1, 2, size)
    terms = [(rng.standard_normal((size, k)), rng.standard_normal((k, m)), rng.standard_normal((m, size)))
             for k, m in km]
    Ai = np.diag(1 / a)
    update = sum(U @ C @ V for U, C, V in terms)
    dense = np.linalg.inv(np.diag(a) + update)
    splits = [[(Ai, U @ C @ V), (Ai @ U, C @ V), (Ai @ U @ C, V)] for U, C, V in terms]
    sizes = {}
    for (M1, N1), (M2, N2) in itertools.product(*splits):
        M, N = np.hstack([M1, M2]), np.vstack([N1, N2])
        small = np.eye(N.shape[0]) + N @ M
        pushed = (np.eye(size) - M @ np.linalg.inv(small) @ N) @ Ai
        np.testing.assert_allclose(pushed, dense, rtol=1e-8, atol=1e-10)
        sizes[small.shape] = (M1.shape[1], M2.shape[1])
    best = min(sizes)
    assert best == (3, 3) and np.linalg.matrix_rank(update) == best[0]
    assert check.woodbury_shapes(best)
    assert check.woodbury_shapes(list(best))
    (k1, m1), (k2, m2) = km
    # the page's grouping (C_i with V_i) for both terms, C_i with U_i for both, and the worse mixed one:
    # all valid, none the smallest
    for wrong in (k1 + k2, m1 + m2, k1 + m2):
        assert (wrong, wrong) in sizes and wrong != best[0]
        r = check.woodbury_shapes((wrong, wrong))
        assert not r and "not the smallest" in str(r), str(r)
    for one_term in (min(k1, m1), min(k2, m2)):      # the single-term answer min(k, m): impossible, and the
        r = check.woodbury_shapes((one_term, one_term))   # message says neither which way nor which term
        assert not r and "no way of writing" in str(r) and "term" not in str(r), str(r)
        assert not any(w in r.problems[0] for w in ("small", "large", "few", "many")), str(r)
    r = check.woodbury_shapes((n, n))
    assert not r and "avoids" in str(r)
    r = check.woodbury_shapes((k1, m1))
    assert not r and "not square" in str(r)
    for guess in (True, False, None, "abc", "33", (3, 3, 3), (4, 4)):
        assert not check.woodbury_shapes(guess)


def test_help_of_the_module_does_not_state_the_determinant_lemma():
    """ex-b3-woodbury asks for log|det(A + U C V)| derived from the block matrix; help(check) printed the
    module docstring's det(A) det(I + C V A^{-1} U), which answered it in one line."""
    import inspect
    import re

    text = inspect.getdoc(check)
    assert "det(A)" not in text and not re.search(r"det\(I\s*\+", text), text
    assert "2 x 2 determinant" not in text and "Schur" not in text, text


# --- ex-b3-rls-function: recursive least squares by Eq. B.15, as a function -----------------------------------------

def _rls_page(Phi, y, lam):
    """The notebook's solution: Eq. B.15 on P_inv, the weights as P_inv X^T y."""
    T, d = Phi.shape
    P_inv, Xty, W = np.eye(d) / lam, np.zeros(d), np.zeros((T, d))
    for t in range(T):
        phi = Phi[t]
        Pphi = P_inv @ phi
        P_inv = P_inv - np.outer(Pphi, Pphi) / (1 + phi @ Pphi)
        Xty = Xty + phi * y[t]
        W[t] = P_inv @ Xty
    return W, P_inv


def _rls_gain(Phi, y, lam):
    """Written otherwise: Eq. B.15 with u and v kept apart, the weights corrected by the gain P_inv phi."""
    T, d = Phi.shape
    P, w, rows = np.eye(d) / lam, np.zeros(d), []
    for phi, target in zip(Phi, y):
        left, right = P @ phi, phi @ P
        P = P - np.outer(left, right) / (1.0 + right @ phi)
        w = w + P @ phi * (target - phi @ w)
        rows.append(w.copy())
    return np.array(rows), P


def test_rls_accepts_the_solution_another_route_and_a_list():
    assert check.recursive_least_squares(_rls_page)
    assert check.recursive_least_squares(_rls_gain)
    assert check.recursive_least_squares(lambda *a: list(_rls_page(*a)))


def test_rls_reference_is_ridge_regression_solved_afresh():
    from pedagogy_lib.learning import regression as rg

    for Phi, y, lam in check._rls_cases():
        W, P = refs.ridge_path(Phi, y, lam)
        for t in (0, len(y) - 1):
            np.testing.assert_allclose(W[t], rg.linear_regression(Phi[:t + 1], y[:t + 1], ridge=lam).w,
                                       rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(P @ (Phi.T @ Phi + lam * np.eye(Phi.shape[1])), np.eye(Phi.shape[1]), atol=1e-10)
    shapes = [Phi.shape for Phi, _, _ in check._rls_cases()]
    assert any(T == 1 for T, _ in shapes) and any(T < d for T, d in shapes) and any(d == 1 for _, d in shapes)


def _rls_slip(one=1.0, sign=-1.0, start_lam=False, lag=False, old_gain=False):
    def fn(Phi, y, lam):
        T, d = Phi.shape
        P = lam * np.eye(d) if start_lam else np.linalg.inv(lam * np.eye(d))
        w, W = np.zeros(d), np.zeros((T, d))
        for t in range(T):
            phi = Phi[t]
            new = P + sign * (P @ np.outer(phi, phi) @ P) / (one + phi @ P @ phi)
            w_new = w + (P if old_gain else new) @ phi * (y[t] - phi @ w)
            W[t] = w if lag else w_new
            P, w = new, w_new
        return W, P
    return fn


@pytest.mark.parametrize("wrong,fragment", [
    (_rls_slip(one=0.0), "without the 1 +"),
    (_rls_slip(sign=1.0), "it is subtracted"),
    (_rls_slip(start_lam=True), "started from lambda I"),
    (_rls_slip(lag=True), "before observation t is used"),
    (_rls_slip(old_gain=True), "inverse from before the update"),
    (lambda Phi, y, lam: _rls_page(Phi, y, lam)[0], "should return the pair"),
    (lambda Phi, y, lam: None, "forget to return"),
    (lambda Phi, y, lam: 1 / 0, "raised ZeroDivisionError"),
])
def test_rls_names_the_slips(wrong, fragment):
    res = check.recursive_least_squares(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_rls_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.recursive_least_squares(np.eye(2)))
    assert "write the function first" in str(check.recursive_least_squares(None))
    res = check.recursive_least_squares(lambda *a: (_rls_page(*a)[0] * 1.01, _rls_page(*a)[1]))
    assert not res and "test problem 1" in str(res)
    assert not re.search(r"[0-9]\.[0-9]", str(res).replace("Eq. B.15", "")), str(res)
