"""Tests for the checkers of notebook 8.1 (pedagogy_lib.exercises.ch08_sparse_em).

References: a scalar optimizer for the mode, finite differences for the log-determinant gradient,
and the library's exact M step (checked against a numerical optimizer in tests/test_sparse_coding_em.py).
"""
from __future__ import annotations

import numpy as np
from scipy import optimize

from pedagogy_lib.core.gradcheck import gradcheck
from pedagogy_lib.exercises import ch08_sparse_em as check
from pedagogy_lib.factor import sparse_coding as sc
from pedagogy_lib.factor import sparse_coding_em as se


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


def test_m_step_passes_and_fails():
    Y, nu, S = check.EX_MSTEP["Y"], check.EX_MSTEP["nu"], check.EX_MSTEP["Sigma"]
    rec = se.Recognition(nu, np.linalg.inv(S), S)
    model = sc.make_model(np.ones((2, 3)), 1.0, alpha=1.0, beta=5.0, prior="laplace")
    C = se.m_step(Y, rec, model, update_lam=False).C
    assert check.m_step(C)
    res = check.m_step(Y.T @ nu @ np.linalg.inv(nu.T @ nu))
    assert not res and "Sigma" in str(res)


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
