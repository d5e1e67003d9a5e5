"""Tests for the checkers of notebook 6.1-6.3 (pedagogy_lib.exercises.ch06_em).

References are written out here with NumPy (Gaussian densities by hand, enumeration over the
latent classes), not taken from the checkers or from pedagogy_lib.em.
"""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib.exercises import ch06_em as check

LN2 = np.log(2.0)


def _log_joint(theta, y):
    """log(1/2 N(y; +theta, 1)) and log(1/2 N(y; -theta, 1)), written out."""
    y = np.asarray(y, float)[:, None]
    return np.log(0.5) - 0.5 * np.log(2 * np.pi) - 0.5 * (y - np.array([theta, -theta])) ** 2


def _mixture_log_joint(theta, pi, sigma, y):
    """log(pi N(y; +theta, sigma^2)) and log((1 - pi) N(y; -theta, sigma^2)), written out."""
    y = np.asarray(y, float)[:, None]
    return (np.log([pi, 1.0 - pi]) - 0.5 * np.log(2 * np.pi * sigma**2)
            - 0.5 * (y - np.array([theta, -theta])) ** 2 / sigma**2)


def _post(lj):
    m = lj.max(axis=1, keepdims=True)
    e = np.exp(lj - m)
    return e / e.sum(axis=1, keepdims=True)


def test_problem_data_are_valid():
    y, theta, pi, sigma, q = check.EX_FREE_ENERGY
    assert q.shape == (len(y), 2) and np.allclose(q.sum(1), 1) and np.all(q > 0)
    assert abs(pi - 0.5) > 0.1 and abs(sigma - 1.0) > 0.1          # not the page's symmetric mixture
    np.testing.assert_allclose(check.toy_log_joint(theta, y), _log_joint(theta, y), rtol=1e-12)
    pi, A, B, yy, q2, Q1 = check.EX_BITS
    assert np.isclose(pi.sum(), 1) and np.allclose(A.sum(1), 1) and np.allclose(B.sum(1), 1)
    assert np.isclose(q2.sum(), 1) and np.allclose(Q1.sum(1), 1)
    pi, m, s, m_p, s_p = check.EX_HARD
    assert np.isclose(pi.sum(), 1) and np.all(np.diff(m) > 0) and s > 0 and s_p > 0


# ---------------------------------------------------------------- exercise 1: free energy
def _fe_parts(theta=None, pi=None, sigma=None):
    y, th, p, sg, q = check.EX_FREE_ENERGY
    lj = _mixture_log_joint(th if theta is None else theta, p if pi is None else pi,
                            sg if sigma is None else sigma, y)
    post = _post(lj)
    F = np.mean(np.sum(q * (np.log(q) - lj), axis=1))
    kl = np.mean(np.sum(q * np.log(q / post), axis=1))
    nll = -np.mean(np.log(np.exp(lj).sum(1)))
    return F, kl, nll, q, lj, post, len(y)


def test_free_energy_correct_passes_and_identity_holds():
    F, kl, nll, *_ = _fe_parts()
    np.testing.assert_allclose(F, nll + kl, rtol=1e-12)        # Eq. 6.6, sample version
    res = check.free_energy(F, kl)
    assert res and "correct" in str(res)


def test_free_energy_minus_kl_is_the_nll_from_scipy_densities():
    """Eq. 6.6 against the mixture density written with scipy's normal pdf: F - KL is the average NLL."""
    from scipy import stats

    y, theta, pi, sigma, q = check.EX_FREE_ENERGY
    dens = pi * stats.norm.pdf(y, theta, sigma) + (1 - pi) * stats.norm.pdf(y, -theta, sigma)
    F, kl, *_ = _fe_parts()
    np.testing.assert_allclose(F - kl, -np.mean(np.log(dens)), rtol=1e-12)


@pytest.mark.parametrize("which,fragment", [
    ("elbo", "ELBo"),
    ("cross", "left out the entropy of q"),
    ("nll", "negative log likelihood"),
    ("sum", "summed over the data"),
    ("bits", "bits"),
    ("plus_entropy", "added the entropy"),
    ("no_log_sigma", "normalizer lacks sigma"),
])
def test_free_energy_wrong_F_is_diagnosed(which, fragment):
    F, kl, nll, q, lj, post, N = _fe_parts()
    sigma = check.EX_FREE_ENERGY.sigma
    wrong = {"elbo": -F, "cross": np.mean(-np.sum(q * lj, 1)), "nll": nll, "sum": F * N, "bits": F / LN2,
             "plus_entropy": np.mean(-np.sum(q * lj, 1) - np.sum(q * np.log(q), 1)),
             "no_log_sigma": F - np.log(sigma)}[which]
    res = check.free_energy(wrong, kl)
    assert not res and fragment in str(res)


@pytest.mark.parametrize("model,fragment", [
    (dict(pi=0.5, sigma=1.0), "symmetric mixture"),
    (dict(pi=0.5), "weights 1/2"),
    (dict(sigma=1.0), "unit variance"),
    (dict(pi=1.0 - check.EX_FREE_ENERGY.pi), "weight pi to the component with mean -theta"),
    (dict(sigma=np.sqrt(check.EX_FREE_ENERGY.sigma)), "sigma as the variance"),
    (dict(sigma=check.EX_FREE_ENERGY.sigma ** 2), "squared sigma in the variance twice"),
])
def test_free_energy_the_wrong_model_is_named(model, fragment):
    """The page's symmetric mixture (weights 1/2, unit variance) and other models are not the statement's:
    F and KL computed for them fail, and each says which model it is."""
    F, kl, *_ = _fe_parts(**model)
    res = check.free_energy(F, kl)
    assert not res and fragment in str(res) and "your average KL" in str(res), str(res)


def test_free_energy_the_pages_toy_log_joint_does_not_pass():
    y, theta, pi, sigma, q = check.EX_FREE_ENERGY
    lj = check.toy_log_joint(theta, y)
    post = _post(lj)
    res = check.free_energy(np.mean(np.sum(q * (np.log(q) - lj), 1)), np.mean(np.sum(q * np.log(q / post), 1)))
    assert not res and "symmetric mixture" in str(res)


def test_free_energy_wrong_kl_order_is_diagnosed():
    F, kl, nll, q, lj, post, N = _fe_parts()
    res = check.free_energy(F, np.mean(np.sum(post * np.log(post / q), 1)))
    assert not res and "order" in str(res)


def test_free_energy_none_fails_gracefully():
    res = check.free_energy(None, None)
    assert not res and "None" in str(res)


# ---------------------------------------------------------------- exercise 2: one EM step
def _two_sigma_log_joint(theta, y, w, sp, sm):
    """log(w N(y; +theta, sp^2)) and log((1 - w) N(y; -theta, sm^2)), written out."""
    y = np.asarray(y, float)[:, None]
    s = np.array([sp, sm])
    return (np.log([w, 1.0 - w]) - 0.5 * np.log(2 * np.pi * s**2)
            - 0.5 * (y - np.array([theta, -theta])) ** 2 / s**2)


def _ll(theta, y, w, sp, sm):
    return float(np.sum(np.log(np.exp(_two_sigma_log_joint(theta, y, w, sp, sm)).sum(1))))


def em_step_correct(theta, y, w, sp, sm):
    q1 = 1.0 / (1.0 + np.exp(-(np.log(w / (1 - w)) - np.log(sp / sm)
                               - (y - theta) ** 2 / (2 * sp**2) + (y + theta) ** 2 / (2 * sm**2))))
    a, b = q1 / sp**2, (1 - q1) / sm**2
    return np.sum((a - b) * y) / np.sum(a + b)


def test_em_step_correct_passes():
    assert check.em_step(em_step_correct)


def test_em_step_reference_is_the_maximizer_of_the_bound():
    """Independent oracle: the M step maximizes the expected complete-data log likelihood at the posterior
    of theta; find that maximizer on a fine grid and refine it by a derivative-free search, and compare."""
    from scipy.optimize import minimize_scalar
    for theta, y, w, sp, sm in check.EX_EM_CASES:
        lj = _two_sigma_log_joint(theta, y, w, sp, sm)
        q = _post(lj)
        bound = lambda t: -np.sum(q * _two_sigma_log_joint(t, y, w, sp, sm))   # noqa: E731
        grid = np.linspace(-6, 6, 12001)
        t0 = grid[np.argmin([bound(t) for t in grid])]
        t_star = minimize_scalar(bound, bracket=(t0 - 1e-3, t0, t0 + 1e-3), tol=1e-12).x
        assert em_step_correct(theta, y, w, sp, sm) == pytest.approx(t_star, abs=1e-6)
        # and EM never decreases the likelihood
        assert _ll(em_step_correct(theta, y, w, sp, sm), y, w, sp, sm) >= _ll(theta, y, w, sp, sm) - 1e-12


def test_the_cases_are_not_the_pages_model_and_the_page_code_fails():
    """Every case has unequal weights and unequal standard deviations, so the page's E step (weights 1/2,
    unit variance) and its vertex mean((q1 - q2) y) both miss, alone or together."""
    for theta, y, w, sp, sm in check.EX_EM_CASES:
        assert w != 0.5 and sp != sm
    page = lambda t, y, w, sp, sm: (lambda q1: np.mean((2 * q1 - 1) * y))(   # noqa: E731
        1 / (1 + np.exp(-2 * t * y)))
    res = check.em_step(page)
    assert not res and "symmetric mixture" in str(res)
    right_e_page_m = lambda t, y, w, sp, sm: (lambda q: np.mean((q[:, 0] - q[:, 1]) * y))(   # noqa: E731
        _post(_two_sigma_log_joint(t, y, w, sp, sm)))
    res = check.em_step(right_e_page_m)
    assert not res and "equal variances" in str(res)


def _vertex(q, y, sp, sm):
    a, b = q[:, 0] / sp**2, q[:, 1] / sm**2
    return np.sum((a - b) * y) / np.sum(a + b)


def _q(t, y, w, sp, sm):
    return _post(_two_sigma_log_joint(t, y, w, sp, sm))


@pytest.mark.parametrize("fn,fragment", [
    (lambda t, y, w, sp, sm: _vertex(np.eye(2)[np.argmax(_q(t, y, w, sp, sm), 1)], y, sp, sm),
     "hard assignments"),
    (lambda t, y, w, sp, sm: (lambda q: np.sum(q[:, 0] * y) / np.sum(q[:, 0]))(_q(t, y, w, sp, sm)),
     "q_n1 alone"),
    (lambda t, y, w, sp, sm: (lambda q: np.sum(q[:, 0] / sp**2 * (y - t) - q[:, 1] / sm**2 * (y + t))
                              / len(y))(_q(t, y, w, sp, sm)), "average log likelihood"),
    (lambda t, y, w, sp, sm: _vertex(np.tile([w, 1 - w], (len(y), 1)), y, sp, sm), "prior"),
    (lambda t, y, w, sp, sm: _vertex(_q(t, y, 0.5, sp, sm), y, sp, sm), "weights w and 1 - w out"),
    (lambda t, y, w, sp, sm: _vertex(_q(t, y, w, 1.0, 1.0), y, sp, sm), "as if both were one"),
    (lambda t, y, w, sp, sm: _vertex(_post(np.log([w, 1 - w]) - 0.5 * (y[:, None] - [t, -t]) ** 2
                                           / np.array([sp, sm]) ** 2), y, sp, sm), "normalizers"),
    (lambda t, y, w, sp, sm: t, "not within tolerance"),
    (lambda t, y, w, sp, sm: [1.0, 2.0], "should have shape ()"),
])
def test_em_step_wrong_answers_fail(fn, fragment):
    res = check.em_step(fn)
    assert not res and fragment in str(res)


def test_em_step_none_and_errors_fail_gracefully():
    res = check.em_step(lambda t, y, w, sp, sm: None)
    assert not res and "None" in str(res)
    res = check.em_step(lambda t, y, w, sp, sm: 1 / 0)
    assert not res and "ZeroDivisionError" in str(res)
    res = check.em_step(lambda t, y: t)
    assert not res and "TypeError" in str(res)
    res = check.em_step(None)
    assert not res and "function" in str(res)


# ---------------------------------------------------------------- exercise 3: bits back
def _bits():
    """Gross and net cost by enumeration over the (x1, x2) pairs, in natural logs converted to bits."""
    pi, A, B, y, q2, Q1 = check.EX_BITS
    gross = ent = p_y = 0.0
    q = np.zeros((2, 3))
    for x2 in range(3):
        for x1 in range(2):
            w = q2[x2] * Q1[x2, x1]
            q[x1, x2] = w
            gross += w * -(np.log(pi[x1]) + np.log(A[x1, x2]) + np.log(B[x2, y])) / LN2
            ent -= w * np.log(w) / LN2
            p_y += pi[x1] * A[x1, x2] * B[x2, y]
    post = pi[:, None] * A * B[:, y][None, :] / p_y
    return gross, gross - ent, ent, p_y, post, q


def test_bits_back_correct_passes_and_excess_is_kl():
    gross, net, ent, py, post, q = _bits()
    np.testing.assert_allclose(net + np.log2(py), np.sum(q * np.log2(q / post)), rtol=1e-12)
    assert check.bits_back(gross, net)


def test_bits_back_simulated_game_agrees_with_the_accounting():
    """The game played 200000 times: draw x2, then x1, pay the three code lengths, get the bits of both draws
    back. The averages agree with the enumeration within 5 standard errors."""
    pi, A, B, y, q2, Q1 = check.EX_BITS
    gross, net, *_ = _bits()
    rng = np.random.default_rng(63)
    n = 200_000
    x2 = rng.choice(3, size=n, p=q2)
    x1 = (rng.uniform(size=n) > Q1[x2, 0]).astype(int)
    paid = -np.log2(pi[x1]) - np.log2(A[x1, x2]) - np.log2(B[x2, y])
    back = -np.log2(q2[x2]) - np.log2(Q1[x2, x1])
    assert abs(paid.mean() - gross) < 5 * paid.std() / np.sqrt(n)
    assert abs((paid - back).mean() - net) < 5 * (paid - back).std() / np.sqrt(n)


@pytest.mark.parametrize("which,fragment", [
    ("no_refund", "forgot the refund"),
    ("refund_x2", "middle code x2 only"),
    ("refund_x1", "top code x1 only"),
    ("plus_refund", "added the refund"),
    ("nats", "nats"),
    ("marginal", "only when the recognition distribution is the posterior"),
])
def test_bits_back_wrong_net(which, fragment):
    gross, net, ent, py, post, q = _bits()
    q2 = check.EX_BITS.q2
    H2 = -np.sum(q2 * np.log2(q2))
    wrong = {"no_refund": gross, "refund_x2": gross - H2, "refund_x1": gross - (ent - H2),
             "plus_refund": gross + ent, "nats": net * LN2, "marginal": -np.log2(py)}[which]
    res = check.bits_back(gross, wrong)
    assert not res and fragment in str(res)


def test_bits_back_wrong_gross():
    gross, net, ent, py, post, q = _bits()
    pi, A, B, y, q2, Q1 = check.EX_BITS
    top, mid, rec = -np.log2(pi)[:, None], -np.log2(A), -np.log2(B[:, y])[None, :]
    for wrong, fragment in [(np.sum(q * (mid + rec)), "top code x1"), (np.sum(q * (top + rec)), "middle code x2"),
                            (np.sum(q * (top + mid)), "reconstruction"),
                            (np.sum(q * (top - np.log2(pi @ A)[None, :] + rec)), "with its marginal"),
                            (np.sum(np.outer(q.sum(1), q2) * (top + mid + rec)), "independent"),
                            (gross * LN2, "nats")]:
        res = check.bits_back(wrong, net)
        assert not res and fragment in str(res), (fragment, str(res))


def test_bits_back_the_pages_one_layer_accounting_does_not_pass():
    """The page's one-layer formula with the middle code alone (its prior the marginal of the chain) is a
    different scheme: it does not pass."""
    gross, net, ent, py, post, q = _bits()
    pi, A, B, y, q2, Q1 = check.EX_BITS
    one = np.sum(q2 * (-np.log2(pi @ A) - np.log2(B[:, y])))
    res = check.bits_back(one, one + np.sum(q2 * np.log2(q2)))
    assert not res


def test_bits_back_none_fails_gracefully():
    res = check.bits_back(None, None)
    assert not res and "None" in str(res)


# ---------------------------------------------------------------- exercise 4: hard excess
def _hard(problem=None, delta=2e-3):
    """The statement's scheme by the worked example's accounting, on recorded values: y rounded to bins of
    width ``delta`` (the precision of the statement), each bin a symbol with probability density x delta
    under the model and under p. Each symbol is sent with the code of largest likelihood and costs
    -log2 p_hat(x) - log2 p_hat(y | x); both surcharges are taken against H_p of the recorded values.
    Returns the excess and, per bin, the log joint (nats, with delta), the data probabilities and the
    sender's codes."""
    pi, m, s, m_p, s_p = check.EX_HARD if problem is None else problem
    y = np.arange(m_p - 12 * s_p, m_p + 12 * s_p, delta)
    log_lik = -0.5 * ((y[:, None] - m) / s) ** 2 - np.log(np.sqrt(2 * np.pi) * s) + np.log(delta)
    lj = np.log(pi) + log_lik                                            # log p_hat(x, recorded y)
    p_y = np.exp(-0.5 * ((y - m_p) / s_p) ** 2)
    p_y /= p_y.sum()
    keep = p_y > 0
    y, lj, log_lik, p_y = y[keep], lj[keep], log_lik[keep], p_y[keep]
    top = lj.max(axis=1, keepdims=True)
    log_marg = (top + np.log(np.exp(lj - top).sum(axis=1, keepdims=True)))[:, 0]
    H_p = -np.sum(p_y * np.log2(p_y))
    x_ml = log_lik.argmax(axis=1)
    rows = np.arange(len(y))
    S_marg = np.sum(p_y * -log_marg) / LN2 - H_p                                    # Eq. 6.10
    S_ml = np.sum(p_y * (-np.log(pi)[x_ml] - log_lik[rows, x_ml])) / LN2 - H_p
    return S_ml - S_marg, lj, log_marg, p_y, x_ml


def test_hard_excess_correct_passes():
    ref, *_ = _hard()
    assert ref > 0
    assert check.hard_excess(ref)
    assert check.hard_excess(ref * (1 + 1e-3)) and not check.hard_excess(ref * (1 + 5e-3))


def test_the_recording_precision_cancels():
    """The statement says delta does not enter: two precisions give the same excess."""
    a, *_ = _hard(delta=2e-3)
    b, *_ = _hard(delta=1e-3)
    assert abs(a - b) < 1e-4


def test_the_likeliest_code_is_not_always_the_posterior_mode():
    """Otherwise the page's scheme would answer the exercise; drawn problems keep the property too."""
    import importlib

    from pedagogy_lib.exercises.checker import drawn_for

    def mode_excess(lj, log_marg, p_y):
        return np.sum(p_y * (log_marg - lj.max(axis=1))) / LN2

    ref, lj, log_marg, p_y, x_ml = _hard()
    differ = x_ml != lj.argmax(axis=1)
    assert p_y[differ].sum() > 0.01                     # the two schemes differ where data lie
    assert abs(ref - mode_excess(lj, log_marg, p_y)) > 1e-2
    try:
        for salt in range(5):
            with drawn_for(salt):
                mod = importlib.reload(check)
                drawn_ref, lj, log_marg, p_y, x_ml = _hard(mod.EX_HARD)
                assert np.all(np.diff(mod.EX_HARD.m) > 0)
                assert p_y[x_ml != lj.argmax(axis=1)].sum() > 1e-3
                assert abs(drawn_ref - mode_excess(lj, log_marg, p_y)) > 0.02 * drawn_ref
                assert mod.hard_excess(drawn_ref)
    finally:
        importlib.reload(check)


@pytest.mark.parametrize("which,fragment", [
    ("mode", "posterior mode"),
    ("nats", "nats"),
    ("model_marginal", "model marginal"),
    ("entropy", "posterior entropy"),
    ("total", "code length"),
    ("no_code_cost", "code cost"),
])
def test_hard_excess_wrong(which, fragment):
    ref, lj, log_marg, p_y, x_ml = _hard(delta=1e-3)
    delta = 1e-3
    rows = np.arange(len(p_y))
    log_post = lj - log_marg[:, None]
    marg = np.exp(log_marg)
    marg /= marg.sum()
    pi = check.EX_HARD.pi
    wrong = {"mode": np.sum(p_y * -log_post.max(axis=1)) / LN2,
             "nats": ref * LN2,
             "model_marginal": np.sum(marg * -log_post[rows, x_ml]) / LN2,
             "entropy": np.sum(p_y * -np.sum(np.exp(log_post) * log_post, axis=1)) / LN2,
             # the code length of the densities: -log2 delta taken off
             "total": np.sum(p_y * -lj[rows, x_ml]) / LN2 + np.log2(delta),
             "no_code_cost": ref + np.sum(p_y * np.log2(pi[x_ml]))}[which]
    res = check.hard_excess(wrong)
    assert not res and fragment in str(res)
    assert "p_hat(x | y)" not in str(res) and "argmax" not in str(res)      # no formula in the message


def test_hard_excess_none_fails_gracefully():
    res = check.hard_excess(None)
    assert not res and "None" in str(res)


def test_hard_excess_has_data_of_its_own_not_the_worked_example():
    """The page's worked example prints the excess surcharge of PAGE_HARD, so that number must not
    answer the exercise; and the exercise's symbol is continuous, so the worked example's enumeration
    over a table of symbols (its cells with new numbers) has nothing to run on."""
    import json
    from pathlib import Path

    ref, *_ = _hard()
    pi, B, p_y = check.PAGE_HARD
    joint = pi[:, None] * B
    page_excess = np.sum(p_y * -np.log2((joint / joint.sum(0)).max(0)))
    assert abs(ref - page_excess) > 1e-3
    assert not check.hard_excess(page_excess)
    assert not hasattr(check.EX_HARD, "B") and not hasattr(check.EX_HARD, "p_y")
    nb = json.loads(Path("chapters/ch06_latent_variable_models/6_3_expectation_maximization.ipynb").read_text())
    code = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "check.EX_HARD" not in code.split("check.hard_excess(value)")[0]
    # the page teaches the hard-EM excess in words and checks it through the KL of any recognition distribution
    # (the loop over q in the bits-back check); no code cell prints or asserts the excess as a formula
    assert "post_b.max(axis=0)" not in code and "<-log2 p(x*|y)>" not in code


def test_the_page_never_rebinds_the_data_y_of_the_em_exercise():
    """ex-6-3-em-step runs EM on the notebook's data ``y``: no code cell after the one that draws it
    may assign ``y`` at the top level (a figure's ``for x, y, text in ...`` once did)."""
    import ast
    import json
    from pathlib import Path

    nb = json.loads(Path("chapters/ch06_latent_variable_models/6_3_expectation_maximization.ipynb").read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    first = next(i for i, s in enumerate(cells) if "y = rng.choice([-1.0, 1.0], N)" in s)
    for i, s in enumerate(cells[first + 1:], first + 1):
        tree = ast.parse(s)
        top = [n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        stores = {t.id for stmt in top for t in ast.walk(stmt)
                  if isinstance(t, ast.Name) and isinstance(t.ctx, ast.Store)}
        assert "y" not in stores, f"code cell {i} rebinds y:\n{s[:300]}"
