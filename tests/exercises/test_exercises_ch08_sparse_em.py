"""Tests for the checkers of notebook 8.1 (pedagogy_lib.exercises.ch08_sparse_em).

References: a scalar optimizer for the mode, finite differences for the log-determinant gradient,
and, for the M step with an emission offset, the normal equations of augmented codes checked against
a numerical optimizer of the free energy.
"""
from __future__ import annotations

import numpy as np
from scipy import optimize

from pedagogy_lib.core.gradcheck import gradcheck
from pedagogy_lib.exercises import ch08_sparse_em as check


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


def test_logdet_gradient_passes_and_fails():
    C, lam, d = check.EX_LOGDET["C"], check.EX_LOGDET["lam"], check.EX_LOGDET["d"]
    # the gradient in d, which the page does not state, by finite differences of the log determinant
    G = gradcheck(lambda d_: np.linalg.slogdet(lam * C.T @ C + np.diag(d_))[1], d).numeric
    assert G.shape == (4,)
    assert check.logdet_gradient(G)
    res = check.logdet_gradient(1 / d)
    assert not res and "not diagonal" in str(res)
    G_C = gradcheck(lambda C_: np.linalg.slogdet(lam * C_.T @ C_ + np.diag(d))[1], C).numeric
    res = check.logdet_gradient(G_C)                     # the page's gradient in C is not the answer
    assert not res and "shape of C" in str(res)
    res = check.logdet_gradient(2 * G)
    assert not res and "factor 2" in str(res)


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
    assert not res and "uncentred second moment" in str(res) and "recheck C" in str(res)
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


import pytest  # noqa: E402
from graded_routes import assert_refused_when_graded

# --- routes through one library call that the graded version refuses ---

_ROUTE_IMPORTS = 'from pedagogy_lib.exercises import ch08_sparse_em as check\nimport numpy as np\nfrom pedagogy_lib.factor import sparse_coding as sc\nfrom pedagogy_lib.factor import sparse_coding_em as se\n'
_ONE_CALL_ROUTES = {
    'ex-8-1-scalar-mode': ('scalar_mode', 'nu', "m = sc.make_model(np.array([[0.8]]), 4.0, alpha=2.0, beta=10.0, prior='laplace')\nnu = sc.map_estimate(np.array([1.3]), m, method='lbfgs').x0[0]\n"),
}


@pytest.mark.parametrize("label", sorted(_ONE_CALL_ROUTES))
def test_one_call_routes_are_refused_when_graded(label):
    """Each route that hands back this exercise's answer in one or two library calls is named by the
    statement and raises in the graded student process."""
    checker_name, name, code = _ONE_CALL_ROUTES[label]
    assert_refused_when_graded(check, label, checker_name, name, _ROUTE_IMPORTS, code)
