"""Tests for the checkers of notebook 8.1 (pedagogy_lib.exercises.ch08_sparse_em).

References: a scalar optimizer for the mode, central finite differences in each d_k for the gradients
of log|P| and (lam/2) tr(C P^-1 C^T),
and, for the M step with an emission offset, the normal equations of augmented codes checked against
a numerical optimizer of the free energy.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from pedagogy_lib.core.gradcheck import gradcheck
from pedagogy_lib.exercises import ch08_sparse_em as check
from pedagogy_lib.exercises.references import ch08_sparse_em as refs


def test_scalar_mode_passes_and_fails():
    y, c, a, lam = (check.EX_SCALAR[k] for k in ("y", "c", "alpha", "lam"))
    res = optimize.minimize_scalar(lambda x: 0.5 * lam * (y - c * x) ** 2 + a * abs(x), bounds=(-10, 10),
                                   method="bounded", options={"xatol": 1e-12})
    assert check.scalar_mode(res.x)
    wrong = check.scalar_mode(y / c)
    assert not wrong and "unpenalized" in str(wrong)


def test_scalar_mode_slips_do_not_name_the_threshold():
    """The two threshold slips are told what to check, never the right threshold."""
    y, c, a, lam = (check.EX_SCALAR[k] for k in ("y", "c", "alpha", "lam"))
    z = y / c
    for t in (a, a / (lam * c)):
        r = check.scalar_mode(np.sign(z) * max(abs(z) - t, 0.0))
        assert not r and "threshold" in str(r)
        assert "c^2" not in str(r) and "lambda c" not in str(r), str(r)


def _central_differences(fun, d, h):
    """The central difference quotient of ``fun`` in each coordinate d_k, with step h."""
    out = np.empty(len(d))
    for k in range(len(d)):
        e = np.zeros(len(d))
        e[k] = h
        out[k] = (fun(d + e) - fun(d - e)) / (2 * h)
    return out


def _logdet_oracle():
    """G1 and G2 by central differences of log|P| and (lam/2) tr(C P^-1 C^T) in each d_k, P by solve.

    Both functions are smooth near d (P is positive definite, its smallest eigenvalue is above 1), so
    the central quotient's error is O(h^2) plus rounding of order 1e-16 / h; with h = 1e-4 and h = 5e-5
    Richardson's combination removes the h^2 term. The two steps' quotients differ by about 1e-10
    (asserted below 1e-9), which bounds the error far below the checker's tolerance on the smallest
    entry of G2 (rtol 1e-6 of 4e-3 plus atol 1e-8, about 1.4e-8)."""
    C, lam, d = check.EX_LOGDET["C"], check.EX_LOGDET["lam"], check.EX_LOGDET["d"]
    P = lambda d_: lam * C.T @ C + np.diag(d_)                         # noqa: E731
    assert np.linalg.eigvalsh(P(d)).min() > 1
    f1 = lambda d_: np.linalg.slogdet(P(d_))[1]                        # noqa: E731
    f2 = lambda d_: 0.5 * lam * np.trace(C @ np.linalg.solve(P(d_), C.T))  # noqa: E731
    out = []
    for f in (f1, f2):
        a, b = _central_differences(f, d, 1e-4), _central_differences(f, d, 5e-5)
        assert np.max(np.abs(a - b)) < 1e-9            # about 1e-10 here: h^2 term and rounding
        out.append((4 * b - a) / 3)
    return out


def test_logdet_gradient_passes_and_fails():
    C, lam, d = check.EX_LOGDET["C"], check.EX_LOGDET["lam"], check.EX_LOGDET["d"]
    # the gradients in d, which the page does not state, by finite differences of the two functions
    G, G2 = _logdet_oracle()
    assert G.shape == G2.shape == (4,)
    # a second oracle for G1: the library's gradcheck of the log determinant
    np.testing.assert_allclose(gradcheck(lambda d_: np.linalg.slogdet(lam * C.T @ C + np.diag(d_))[1],
                                         d).numeric, G, rtol=1e-6, atol=1e-8)
    assert check.logdet_gradient(G, G2)
    # the page's identity alone answers G1 but not G2: the copied route now fails
    P = lam * C.T @ C + np.diag(d)
    res = check.logdet_gradient(np.diag(np.linalg.inv(P)), None)
    assert not res
    res = check.logdet_gradient(np.diag(np.linalg.inv(P)), np.diag(np.linalg.inv(P)))
    assert not res and "gradient of log|P|" in str(res)
    # the old G1 checks
    res = check.logdet_gradient(1 / d, G2)
    assert not res and "not diagonal" in str(res)
    G_C = gradcheck(lambda C_: np.linalg.slogdet(lam * C_.T @ C_ + np.diag(d))[1], C).numeric
    res = check.logdet_gradient(G_C, G2)                 # the page's gradient in C is not the answer
    assert not res and "shape of C" in str(res)
    res = check.logdet_gradient(2 * G, G2)
    assert not res and "factor 2" in str(res)
    # slips in G2, built from dense products here (not from the checker)
    Pi = np.linalg.inv(P)
    W = Pi @ C.T @ C @ Pi
    one_side = np.diag(C.T @ C @ Pi)
    slips = {"sign": -G2, "one side": -0.5 * lam * one_side, "sign and one side": 0.5 * lam * one_side,
             "constant 1": G2 * 2 / lam, "constant 1/2": G2 / lam, "constant lam": 2 * G2,
             "row sums": -0.5 * lam * W.sum(1), "diagonals": -0.5 * lam * np.diag(Pi) ** 2 * np.diag(C.T @ C)}
    cands = [G2, G] + list(slips.values())
    for i in range(len(cands)):                          # far apart, far above the tolerance
        for j in range(i + 1, len(cands)):
            assert np.max(np.abs(cands[i] - cands[j])) > 1e3 * (1e-6 * np.abs(cands[j]).max() + 1e-8)
    expected = {"sign": "wrong sign", "one side": "one side", "sign and one side": "one side",
                "constant 1": "constant", "constant 1/2": "constant", "constant lam": "constant",
                "row sums": "diagonal", "diagonals": "diagonal of the product"}
    for name, wrong in slips.items():
        res = check.logdet_gradient(G, wrong)
        assert not res and expected[name] in str(res), (name, str(res))
        text = str(res).lower()
        for word in ("too large", "too small", "larger", "smaller", "twice", "half", "times"):
            assert word not in text, (name, text)
    res = check.logdet_gradient(G, G2 + 1e-3)
    assert not res


def _m_step_by_optimizer():
    """C and b minimizing the emission part of the free energy, by a numerical optimizer (BFGS)."""
    Y, nu, S = check.EX_MSTEP["Y"], check.EX_MSTEP["nu"], check.EX_MSTEP["Sigma"]
    M, K = Y.shape[1], nu.shape[1]

    def F(t):
        C, b = t[:M * K].reshape(M, K), t[M * K:]
        R = Y - nu @ C.T - b
        return 0.5 * np.mean(np.einsum("mi,nij,mj->n", C, S, C) + np.sum(R**2, 1))

    opt = optimize.minimize(F, np.zeros(M * K + M), method="BFGS", options={"gtol": 1e-12})
    return opt.x[:M * K].reshape(M, K), opt.x[M * K:]


def test_m_step_passes_and_fails():
    Y, nu, S = check.EX_MSTEP["Y"], check.EX_MSTEP["nu"], check.EX_MSTEP["Sigma"]
    N, K = nu.shape
    C_opt, b_opt = _m_step_by_optimizer()
    # the augmented-code route: a constant 1 appended to every code, with zero variance, through the
    # offset-free normal equations (Eq. 8.9); the last column is b. The optimizer confirms it.
    nu_a = np.column_stack([nu, np.ones(N)])
    S_a = np.zeros((N, K + 1, K + 1))
    S_a[:, :K, :K] = S
    Cb = np.linalg.solve(S_a.mean(0) + nu_a.T @ nu_a / N, nu_a.T @ Y / N).T
    np.testing.assert_allclose(Cb[:, :K], C_opt, atol=1e-6)
    np.testing.assert_allclose(Cb[:, K], b_opt, atol=1e-6)
    C, b = Cb[:, :K], Cb[:, K]
    assert check.m_step(C, b)
    assert check.m_step(C.tolist(), b.tolist())
    y_bar, nu_bar = Y.mean(0), nu.mean(0)
    C_page = (Y.T @ nu / N) @ np.linalg.inv(S.mean(0) + nu.T @ nu / N)
    res = check.m_step(C_page, y_bar - C_page @ nu_bar)
    assert not res and "page's update" in str(res) and "page's offset-free C" in str(res)
    res = check.m_step(C, y_bar)
    assert not res and "mean of the data" in str(res)
    res = check.m_step(C, y_bar + C @ nu_bar)
    assert not res and "sign slip" in str(res)
    Yc, nuc = Y - y_bar, nu - nu_bar
    C_ls = (Yc.T @ nuc) @ np.linalg.inv(nuc.T @ nuc)
    res = check.m_step(C_ls, y_bar - C_ls @ nu_bar)
    assert not res and "Sigma" in str(res)
    C_half = (Yc.T @ nu / N) @ np.linalg.inv(S.mean(0) + nu.T @ nu / N)
    res = check.m_step(C_half, y_bar - C_half @ nu_bar)
    assert not res and "removed the mean of the data" in str(res) and "recheck C" in str(res)
    # a guess (the data centred, the page's update, b the data's mean) is told that C and b are wrong, not
    # which moment to centre nor what b must subtract
    res = check.m_step(C_half, y_bar)
    assert not res and "mean of the data" in str(res)
    assert "codes" not in str(res) and "second moment" not in str(res) and "zero" not in str(res)
    assert not check.m_step(None, None)


def test_m_step_the_pages_offset_free_update_does_not_pass():
    """The page states Eq. 8.9 without an offset; with data of mean far from zero its C is not the answer."""
    Y, nu, S = check.EX_MSTEP["Y"], check.EX_MSTEP["nu"], check.EX_MSTEP["Sigma"]
    N = len(Y)
    assert np.all(np.abs(Y.mean(0)) > 0.5)
    C_page = (Y.T @ nu / N) @ np.linalg.inv(S.mean(0) + nu.T @ nu / N)
    C_opt, _ = _m_step_by_optimizer()
    assert np.abs(C_page - C_opt).max() > 0.1
    assert not check.m_step(C_page, np.zeros(2))


# --- routes through one library call that the graded version refuses ---


# --- ex-8-1-em-function: one EM iteration given the E step's means -----------------------------------------------

def _em_notebook(Y, nu, C, lam, alpha, beta):
    """The notebook's solution: all data at once."""
    N, M = Y.shape
    curv = alpha * beta / np.cosh(beta * nu) ** 2
    P = lam * C.T @ C + curv[:, :, None] * np.eye(C.shape[1])
    Sigma = np.linalg.inv(P)
    A = Y.T @ nu / N
    B = Sigma.mean(axis=0) + nu.T @ nu / N
    C_new = np.linalg.solve(B, A.T).T
    resid = Y - nu @ C_new.T
    lam_new = M * N / (np.einsum("mk,nkj,mj->", C_new, Sigma, C_new) + np.sum(resid**2))
    return C_new, lam_new


def _em_loops(Y, nu, C, lam, alpha, beta, *, use_sigma=True, dim=None, old_c=False, trace=True):
    """Written independently, datum by datum: the precision from the second derivative of the surrogate
    (alpha / beta) log cosh(beta x), the moments summed in loops, the normal equations solved by lstsq. The flags
    switch on the slips the checker names."""
    N, M = Y.shape
    K = C.shape[1]
    Sigmas, S_yn, S_nn = [], np.zeros((M, K)), np.zeros((K, K))
    for n in range(N):
        h = np.array([alpha[k] * beta[k] * (1.0 - np.tanh(beta[k] * nu[n, k]) ** 2) for k in range(K)])
        Sig = np.linalg.solve(lam * C.T @ C + np.diag(h), np.eye(K))
        Sigmas.append(Sig)
        S_yn += np.outer(Y[n], nu[n])
        S_nn += (Sig if use_sigma else 0.0) + np.outer(nu[n], nu[n])
    C_new = np.linalg.lstsq(S_nn.T, S_yn.T, rcond=None)[0].T
    C_l = C if old_c else C_new
    total = 0.0
    for n in range(N):
        r = Y[n] - C_l @ nu[n]
        total += r @ r + (np.trace(C_l @ Sigmas[n] @ C_l.T) if trace else 0.0)
    return C_new, (M if dim is None else dim) * N / total


def test_em_step_function_accepts_the_solution_and_a_loop_over_data():
    assert check.em_step_function(_em_notebook)
    assert check.em_step_function(_em_loops)


def test_em_step_reference_minimizes_the_free_energy():
    """On every hidden case the reference (C_new, lam_new) is the minimizer of the library's free energy with the
    recognition distributions of Eq. 8.11 held fixed: random perturbations of C or lambda all raise it."""
    from pedagogy_lib.factor import sparse_coding as sc
    from pedagogy_lib.factor import sparse_coding_em as se

    rng = np.random.default_rng(0)
    for what, (Y, nu, C, lam, alpha, beta), (C_ref, lam_ref) in refs.em_cases():
        P = lam * C.T @ C + np.einsum("nk,kj->nkj", alpha * beta / np.cosh(beta * nu) ** 2, np.eye(C.shape[1]))
        Sigma = np.linalg.inv(P)
        rec = se.Recognition(nu, P, 0.5 * (Sigma + np.swapaxes(Sigma, 1, 2)))

        def F(Cm, lm):
            return se.free_energy(Y, sc.make_model(Cm, lm, alpha=alpha, beta=beta, prior="laplace"), rec)

        best = F(C_ref, lam_ref)
        for _ in range(10):
            assert F(C_ref + 1e-3 * rng.normal(size=C.shape), lam_ref) > best, what
            assert F(C_ref, lam_ref * np.exp(1e-3 * rng.normal())) > best, what


def test_em_step_cases_reach_the_edge_cases():
    cases = refs.em_cases()
    assert any(C.shape[1] > C.shape[0] for _, (Y, nu, C, *_), _ in cases)
    assert any(Y.shape[0] == 1 for _, (Y, *_), _ in cases)
    assert any(np.any(nu == 0) for _, (Y, nu, *_), _ in cases)
    # a source no datum uses: <nu nu^T> is singular there, and only the recognition covariances keep the
    # normal equations (see Eq. 8.9) solvable
    assert any(np.any(np.all(nu == 0, axis=0)) for _, (Y, nu, *_), _ in cases)
    assert all(np.ptp(alpha) > 0 for _, (Y, nu, C, lam, alpha, beta), _ in cases)


@pytest.mark.parametrize("wrong,fragment", [
    (lambda Y, nu, C, lam, a, b: _em_loops(Y, nu, C, lam, a, b, use_sigma=False), "recognition covariances"),
    (lambda Y, nu, C, lam, a, b: _em_loops(Y, nu, C, lam, a, b, dim=C.shape[1]), "divides by K"),
    (lambda *a: _em_loops(*a, old_c=True), "used the old C"),
    (lambda *a: _em_loops(*a, trace=False), "left out tr(C Sigma_n C^T)"),
    (lambda *a: None, "forget to return"),
    (lambda *a: 1 / 0, "raised ZeroDivisionError"),
    (lambda *a: _em_notebook(*a)[0], "should return the pair"),
])
def test_em_step_function_names_the_slips(wrong, fragment):
    res = check.em_step_function(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_em_step_function_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.em_step_function(np.eye(2)))
    res = check.em_step_function(None)
    assert not res and "is None" in str(res)

    def off(*a):
        C_new, lam_new = _em_notebook(*a)
        return 1.01 * C_new + 0.01, lam_new + 0.2

    msg = str(check.em_step_function(off))
    assert "test problem 1" in msg
    assert not re.search(r"[0-9]\.[0-9]", msg.replace("Eqs. 8.9, 8.11", "")), msg

