"""Checkers of the data-assimilation notebook 4 (pedagogy_lib.exercises.da_fourdvar).

The right answers come from the library's RTS smoother and its exact strong-constraint 4DVar,
which are tested against dense oracles in tests/test_assimilation_fourdvar.py.
"""
from __future__ import annotations

import numpy as np

from pedagogy_lib import assimilation as da
from pedagogy_lib.exercises import da_fourdvar as check
from pedagogy_lib.lgssm import LGSSMParams, kalman_smoother


def _params():
    p = check.EX_WINDOW
    return LGSSMParams(p.mu1, p.Sigma1, p.A, None, np.zeros(2), p.Q, p.C, np.zeros(1), p.R)


def test_strong_gradient():
    mod = da.from_lgssm(_params())
    y = check.EX_WINDOW.y
    assert check.strong_gradient(lambda x1: da.strong_cost_grad(mod, x1, y)[1])
    assert not check.strong_gradient(lambda x1: -da.strong_cost_grad(mod, x1, y)[1])
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
