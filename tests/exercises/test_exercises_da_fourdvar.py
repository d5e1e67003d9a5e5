"""Checkers of the data-assimilation notebook 4 (pedagogy_lib.exercises.da_fourdvar).

The right answers come from the library's RTS smoother and its exact strong-constraint 4DVar,
which are tested against dense oracles in tests/assimilation/test_assimilation_fourdvar.py.
"""
from __future__ import annotations

import numpy as np

from pedagogy_lib import assimilation as da
from pedagogy_lib.exercises import da_fourdvar as check
from pedagogy_lib.lgssm import LGSSMParams, kalman_smoother


def _params():
    p = check.EX_WINDOW
    return LGSSMParams(p.mu1, p.Sigma1, p.A, None, np.zeros(2), p.Q, p.C, np.zeros(1), p.R)


def _library_grads(x1, a):
    """Independently of the checker: the x1-gradient from the library's adjoint, the a-gradient by central
    differences of the library's cost (exact for a quadratic cost, up to rounding)."""
    p = check.EX_WINDOW
    y = p.y
    cost = lambda off: da.strong_cost_grad(da.from_lgssm(_params()._replace(a=off)), x1, y)[0]
    g1 = da.strong_cost_grad(da.from_lgssm(_params()._replace(a=a)), x1, y)[1]
    ga = np.array([(cost(a + 0.1 * e) - cost(a - 0.1 * e)) / 0.2 for e in np.eye(2)])
    return g1, ga


def _adjoint_sweep(x1, a, from_first=False):
    p = check.EX_WINDOW
    T = p.y.shape[0]
    xs = [x1]
    for _ in range(T - 1):
        xs.append(p.A @ xs[-1] + a)
    lam, g_a = np.zeros(2), np.zeros(2)
    for t in range(T - 1, -1, -1):
        if t < T - 1:
            lam = p.A.T @ lam
        lam = lam - p.C.T @ np.linalg.solve(p.R, p.y[t] - p.C @ xs[t])
        if t > 0 or from_first:
            g_a = g_a + lam
    return np.linalg.solve(p.Sigma1, x1 - p.mu1) + lam, g_a


def test_strong_gradient_wants_both_gradients_and_agrees_with_the_library():
    x1, a = np.array([1.0, -1.0]), np.array([0.3, -0.2])
    ref = _library_grads(x1, a)
    mine = _adjoint_sweep(x1, a)
    assert np.allclose(mine[0], ref[0], rtol=1e-8) and np.allclose(mine[1], ref[1], rtol=1e-6)
    assert check.strong_gradient(_adjoint_sweep)
    assert check.strong_gradient(lambda x1, a: _library_grads(x1, a))
    r = check.strong_gradient(lambda x1, a: _adjoint_sweep(x1, a, from_first=True))
    assert not r and "from the first time on" in str(r), str(r)
    r = check.strong_gradient(lambda x1, a: tuple(-g for g in _adjoint_sweep(x1, a)))
    assert not r and "sign is flipped" in str(r), str(r)
    r = check.strong_gradient(lambda x1, a: _adjoint_sweep(x1, a)[0])           # the old one-gradient answer
    assert not r
    assert not check.strong_gradient(None)


def test_weak_minimizer():
    ks = kalman_smoother(_params(), check.EX_WINDOW.y)
    assert check.weak_minimizer(ks.mu_smooth)
    strong = da.strong_4dvar(da.from_lgssm(_params())._replace(Sigma_x=np.zeros((2, 2))), check.EX_WINDOW.y,
                             method="exact")
    r = check.weak_minimizer(strong.mean)
    assert not r and "strong-constraint" in str(r)
    assert not check.weak_minimizer(ks.mu_filt)


def test_the_window_has_a_model_noise_that_is_not_a_multiple_of_the_identity():
    Q, A = check.EX_WINDOW.Q, check.EX_WINDOW.A
    Qi = np.linalg.inv(Q)
    assert np.abs(Qi @ A - A @ Qi).max() > 1e-2


def _weak_normal_equations(order=False, transpose=False):
    """The solution's normal equations, with the off-diagonal blocks A Q^-1 (an order slip) or A^T for A."""
    p = check.EX_WINDOW
    T, n = p.y.shape[0], 2
    A = p.A.T if transpose else p.A
    Qi, Ri, Bi = np.linalg.inv(p.Q), np.linalg.inv(p.R), np.linalg.inv(p.Sigma1)
    H, b = np.zeros((T * n, T * n)), np.zeros(T * n)
    for t in range(T):
        s = slice(t * n, (t + 1) * n)
        H[s, s] += p.C.T @ Ri @ p.C + (Bi if t == 0 else Qi)
        b[s] += p.C.T @ Ri @ p.y[t] + (Bi @ p.mu1 if t == 0 else 0)
        if t < T - 1:
            nxt = slice((t + 1) * n, (t + 2) * n)
            H[s, s] += A.T @ Qi @ A
            H[nxt, s] = -(A @ Qi if order else Qi @ A)
            H[s, nxt] = H[nxt, s].T
    return np.linalg.solve(H, b).reshape(T, n)


def test_weak_minimizer_names_the_order_slip_and_the_transpose():
    assert check.weak_minimizer(_weak_normal_equations())
    r = check.weak_minimizer(_weak_normal_equations(order=True))
    assert not r and "wrong order" in str(r), str(r)
    r = check.weak_minimizer(_weak_normal_equations(transpose=True))
    assert not r and "a transpose" in str(r) and "not explained" not in str(r), str(r)


def test_strong_minus_smoother_asks_for_a_number_not_a_bool():
    p = _params()
    strong = da.strong_4dvar(da.from_lgssm(p)._replace(Sigma_x=np.zeros((2, 2))), check.EX_WINDOW.y,
                             method="exact").mean[0]
    smooth = kalman_smoother(p, check.EX_WINDOW.y).mu_smooth[0]
    assert np.abs(strong - smooth).max() > 1e-2
    assert check.strong_minus_smoother(strong - smooth)
    for guess in (True, False):
        assert not check.strong_minus_smoother(guess)
    for wrong, fragment in [(smooth - strong, "other way round"), (np.zeros(2), "gave zero"),
                            (strong, "strong-constraint estimate alone"), (smooth, "smoother's mean alone")]:
        r = check.strong_minus_smoother(wrong)
        assert not r and fragment in str(r), str(r)
