"""Tests for the Section 8.4.1 exercise checkers (pedagogy_lib.exercises.ch08_mcmc): the reference
matrix is built from Barker's ratio form and checked against the statement's flows and for stationarity, the
ESS through simulation."""
import numpy as np
import pytest

from pedagogy_lib.discrete.markov_chain import stationary_distribution
from pedagogy_lib.exercises import ch08_mcmc as check
from pedagogy_lib.samplers import ess, mh_transition_matrix


def test_accept_prob():
    p, g = check.EX_MH
    a = min(1.0, (p[2] * g[1, 2]) / (p[1] * g[2, 1]))    # move 1 -> 2: g(1 | 2) is the reverse proposal
    assert 0 < a < 1
    assert check.accept_prob(a)
    r = check.accept_prob(min(1.0, p[2] / p[1]))
    assert not r and "Hastings" in str(r)
    assert not check.accept_prob(None)


def test_accept_prob_names_the_one_based_reading_and_merges_slips_that_coincide():
    p, g = check.EX_MH
    one_based = min(1.0, p[1] * g[0, 1] / (p[0] * g[1, 0]))      # the move 0 -> 1
    r = check.accept_prob(one_based)
    assert not r and "counted the states from 1" in str(r)
    inverted = min(1.0, p[2] * g[2, 1] / (p[1] * g[1, 2]))
    if np.isclose(inverted, one_based):                        # the book's data: both give 1.0
        assert "or you inverted the proposal ratio" in str(r)


def _barker_by_ratio(p, g):
    """Independently of the checker's flows: Barker's acceptance r / (1 + r) of the Metropolis-Hastings ratio
    r = p_i g(j | i) / (p_j g(i | j)), times the proposal, and the rest of each column on the diagonal."""
    n = len(p)
    T = np.zeros((n, n))
    for j in range(n):
        for i in range(n):
            if i != j:
                r = p[i] * g[j, i] / (p[j] * g[i, j])
                T[i, j] = g[i, j] * r / (1 + r)
        T[j, j] = 1 - sum(T[i, j] for i in range(n) if i != j)
    return T


def test_mh_matrix_with_the_harmonic_flow():
    p, g = check.EX_MH
    T = _barker_by_ratio(p, g)
    pn = p / p.sum()
    flows = T * pn[None, :]
    s = g * pn[None, :]
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_allclose(flows[off], (s * s.T / (s + s.T))[off], rtol=1e-12)   # the statement's flow
    np.testing.assert_allclose(stationary_distribution(T), pn, atol=1e-12)
    assert check.mh_matrix(T)
    r = check.mh_matrix(T.T)
    assert not r and "transpose" in str(r)
    assert not check.mh_matrix(np.eye(3))


def _stays(M):
    M = np.array(M, float)
    np.fill_diagonal(M, 0.0)
    M[np.diag_indices(3)] = 1 - M.sum(axis=0)
    return M


@pytest.mark.parametrize("wrong,fragment", [
    (lambda p, g: mh_transition_matrix(np.log(p), g), "Metropolis-Hastings matrix"),
    (lambda p, g: _stays(_barker_by_ratio(p, g) * p[None, :]), "flows"),
    (lambda p, g: _stays(_barker_by_ratio(p, g) / g), "without the proposal probability"),
    (lambda p, g: _stays(g * (g * p[None, :]) / (g * p[None, :] + (g * p[None, :]).T)), "exchanged"),
    (lambda p, g: _stays(g * p[:, None] / (p[:, None] + p[None, :])), "as if g were symmetric"),
    (lambda p, g: _barker_by_ratio(p, g) - np.diag(np.diag(_barker_by_ratio(p, g))) + np.diag(np.diag(g)),
     "self-moves"),
])
def test_mh_matrix_names_the_slips(wrong, fragment):
    p, g = check.EX_MH
    r = check.mh_matrix(wrong(p, g))
    assert not r and fragment in str(r), str(r)


def test_ar1_ess():
    phi, n = check.EX_AR1["phi"], check.EX_AR1["n"]
    rng = np.random.default_rng(0)
    C = 400
    x = np.empty((n, C))
    x[0] = rng.standard_normal(C) / np.sqrt(1 - phi ** 2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + rng.standard_normal(C)
    per_chain = ess(x) / C
    assert abs(per_chain / (n * (1 - phi) / (1 + phi)) - 1) < 0.05
    assert check.ar1_ess(n * (1 - phi) / (1 + phi))
    r = check.ar1_ess(n * (1 - phi))
    assert not r and "geometric sum" in str(r) and "(1 + phi) / (1 - phi)" not in str(r)


def _rw(x, d):
    return min(1.0, np.exp(-0.5 * ((x + d) ** 2 - x ** 2)))


def test_step_size_claim_asks_for_both_acceptances_together():
    x, small, large = (check.EX_STEPS[k] for k in ("x", "small", "large"))
    rng = np.random.default_rng(1)                     # the acceptance by simulation of the ratio's test
    u = rng.uniform(size=200_000)
    for d in (small, large):
        assert abs(np.mean(u < np.exp(-0.5 * ((x + d) ** 2 - x ** 2))) - _rw(x, d)) < 5e-3
    pair = (_rw(x, small), _rw(x, large))
    assert pair[0] > 0.9 and pair[1] < 0.01             # the post's claim is backwards
    assert check.step_size_claim(pair)
    for half_right in ((pair[0], 0.5), (0.5, pair[1])):
        r = check.step_size_claim(half_right)
        assert not r and "both are checked together" in str(r)
    for guess in (True, False, None):
        assert not check.step_size_claim(guess)


# --- ex-8-4-1-mala-function: one MALA transition on given draws ------------------------------------------------

def _mala_notebook(log_p_and_force, x, step_size, z, u):
    """The notebook's solution: vectorized over chains, the test in logs."""
    eps = step_size
    log_p, f = log_p_and_force(x)
    x_new = x + eps * f + np.sqrt(2 * eps) * z
    log_p_new, f_new = log_p_and_force(x_new)

    def log_g(to, frm, f_frm):
        return -np.sum((to - frm - eps * f_frm) ** 2, axis=1) / (4 * eps)

    log_ratio = (log_p_new + log_g(x, x_new, f_new)) - (log_p + log_g(x_new, x, f))
    return np.where((np.log(u) < log_ratio)[:, None], x_new, x)


def _mala_loops(log_p_and_force, x, step_size, z, u, *, hastings=True, old_force=False, reject=True, var=2.0,
                in_logs=True):
    """Written independently, chain by chain, with scipy's normalized Gaussian densities and the acceptance
    min(1, r) compared with u. The flags switch on the slips the checker names (and densities exponentiated
    before their ratio is taken, which underflows far out)."""
    from scipy import stats

    x = np.asarray(x, dtype=float)
    C, D = x.shape
    out = x.copy()
    log_p, f = log_p_and_force(x)
    prop = x + step_size * f + np.sqrt(var * step_size) * z
    log_p_new, f_new = log_p_and_force(prop)
    for c in range(C):
        cov = var * step_size * np.eye(D)
        fwd = stats.multivariate_normal(x[c] + step_size * f[c], cov).logpdf(prop[c])
        back_force = f[c] if old_force else f_new[c]
        rev = stats.multivariate_normal(prop[c] + step_size * back_force, cov).logpdf(x[c])
        if in_logs:
            log_r = log_p_new[c] - log_p[c] + ((rev - fwd) if hastings else 0.0)
            A = 1.0 if log_r >= 0 else np.exp(log_r)
        else:
            with np.errstate(all="ignore"):
                A = np.minimum(1.0, np.exp(log_p_new[c]) * np.exp(rev) / (np.exp(log_p[c]) * np.exp(fwd)))
        if not reject or u[c] < A:
            out[c] = prop[c]
    return out


def test_mala_step_function_accepts_the_solution_and_a_loop_over_chains():
    assert check.mala_step_function(_mala_notebook)
    assert check.mala_step_function(_mala_loops)


def test_mala_targets_have_their_forces_and_mix_accepts_with_rejections():
    """Each hidden target's force is the gradient of its log density (central differences); each step accepts
    some proposals and rejects others; and each named slip changes the outcome of at least one case."""
    cases = check._mala_cases()
    assert any(args[1].shape[1] == 1 for _, args, _ in cases)
    assert any(np.all(args[0](args[1])[0] < -900) for _, args, _ in cases)
    slips = [dict(hastings=False), dict(old_force=True), dict(reject=False), dict(var=1.0)]
    differs = [False] * len(slips)
    for what, (f, x, eps, z, u), ref in cases:
        lp, force = f(x)
        h = 1e-6
        for d in range(x.shape[1]):
            e = np.zeros(x.shape[1])
            e[d] = h
            np.testing.assert_allclose((f(x + e)[0] - f(x - e)[0]) / (2 * h), force[:, d], rtol=1e-5, atol=1e-6)
        moved = np.any(ref != x, axis=1).mean()
        assert 0.2 < moved < 1.0, (what, moved)
        for k, kw in enumerate(slips):
            differs[k] |= not np.allclose(_mala_loops(f, x, eps, z, u, **kw), ref, rtol=1e-7, atol=1e-9)
    assert all(differs), differs


@pytest.mark.parametrize("wrong,fragment", [
    (lambda *a: _mala_loops(*a, hastings=False), "left out the Hastings factor"),
    (lambda *a: _mala_loops(*a, old_force=True), "used the force at x"),
    (lambda *a: _mala_loops(*a, reject=False), "accepted every proposal"),
    (lambda *a: _mala_loops(*a, var=1.0), "sqrt(2 epsilon)"),
    (lambda *a: _mala_loops(*a, in_logs=False), "compare in logs"),
    (lambda *a: None, "is None"),
    (lambda *a: 1 / 0, "raised ZeroDivisionError"),
])
def test_mala_step_function_names_the_slips(wrong, fragment):
    res = check.mala_step_function(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_mala_step_function_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.mala_step_function(np.eye(2)))
    res = check.mala_step_function(None)
    assert not res and "is None" in str(res)
    msg = str(check.mala_step_function(lambda f, x, eps, z, u: _mala_notebook(f, x, eps, z, u) + 0.01))
    assert "test problem 1" in msg
    assert not re.search(r"[0-9]\.[0-9]", msg.replace("Eq. 8.44", "")), msg

