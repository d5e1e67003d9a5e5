"""Tests for the Section 10.2.1 and 10.2.2 exercise checkers (pedagogy_lib.exercises.ch10_rbm_learning).

References come from the library's exact routines (Gray-code enumeration, transition matrices,
expected CD gradients), a different route from the checkers' full joint tables and hidden-layer sums, and
for the 40-unit RBM of the model moment from central differences of log Z; the gradient function's
solution is also run with the other layer, and with both, enumerated.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pedagogy_lib.exercises import ch10_rbm_learning as check
from pedagogy_lib.harmonium import (bars_and_stripes, chain_distributions, data_moments, empirical_distribution,
                                    exact_gradient, expected_cd_gradient, init_params, kl_divergence, model_moments,
                                    train_exact, visible_log_probs)


def test_data_moments():
    p, Y = check.EX_LEARN
    ref = data_moments(p, Y).W
    assert check.data_moments(ref)
    r = check.data_moments(ref * len(Y))
    assert not r and "summed" in str(r)
    assert not check.data_moments(ref.T)
    assert not check.data_moments(None)


def _log_z_wide(W, p):
    """log Z of an RBM with the weights W and the biases of p: logsumexp over the hidden states of the
    free energy (the visible layer summed out unit by unit)."""
    from scipy.special import logsumexp

    X = np.array([[(i >> k) & 1 for k in range(W.shape[0])] for i in range(2 ** W.shape[0])], dtype=float)
    return logsumexp(X @ p.b_x + np.logaddexp(0, p.b_y + X @ W).sum(axis=1))


def test_model_moments():
    p = check.EX_WIDE
    assert p.W.shape == (3, 40)
    ref = model_moments(p).W
    # independent oracle: E[x y^T] = d log Z / dW, by central differences of log Z
    h = 1e-5
    fd = np.zeros_like(p.W)
    for k in range(3):
        for j in range(40):
            E = np.zeros_like(p.W)
            E[k, j] = h
            fd[k, j] = (_log_z_wide(p.W + E, p) - _log_z_wide(p.W - E, p)) / (2 * h)
    np.testing.assert_allclose(ref, fd, rtol=1e-6, atol=1e-8)
    assert check.model_moments(ref)
    r = check.model_moments(ref.T)
    assert not r and "transpose" in str(r)
    assert not check.model_moments(None)


def test_model_moments_names_the_slips():
    from pedagogy_lib.harmonium import states

    p = check.EX_WIDE
    Sx = states(3)
    zeta = p.b_y + Sx @ p.W
    mean_y = 1 / (1 + np.exp(-zeta))
    u = np.exp(Sx @ p.b_x + np.logaddexp(0, zeta).sum(axis=1))
    r = check.model_moments((u[:, None] * Sx).T @ mean_y)
    assert not r and "normalizer Z" in str(r)
    q = np.exp(Sx @ p.b_x)
    r = check.model_moments(((q / q.sum())[:, None] * Sx).T @ mean_y)
    assert not r and "bias term alone" in str(r)
    m = model_moments(p)
    r = check.model_moments(np.outer(m.b_x, m.b_y))
    assert not r and "marginal means" in str(r)
    r = check.model_moments(model_moments(check.EX_LEARN.params).W)
    assert not r and "EX_WIDE" in str(r)


def test_the_pages_joint_table_cell_cannot_answer_the_model_moment():
    """The page's check cell enumerates both layers: 2**43 joint states here, and hm.states refuses 40 units."""
    from pedagogy_lib.harmonium import states

    K, M = check.EX_WIDE.W.shape
    assert 2 ** (K + M) > 1e12 and 2 ** M > 1e12
    with pytest.raises(ValueError):
        states(M)


def _zero_weight_stationary_biases(Y):
    """The visible biases at which every block of the library's exact gradient (Eq. 10.19) vanishes for a
    harmonium with W = 0, found by Newton's method on the b_y block alone with W held at zero (the
    library's enumeration for the model phase): an oracle independent of the checker's closed form."""
    from pedagogy_lib.harmonium import EFHParams

    K, M = 3, Y.shape[1]
    b_x, b_y = np.array([0.4, -0.7, 1.1]), np.zeros(M)
    for _ in range(60):
        g = exact_gradient(EFHParams(np.zeros((K, M)), b_x, b_y), Y).b_y
        m = model_moments(EFHParams(np.zeros((K, M)), b_x, b_y)).b_y
        b_y = b_y - g / (m * (1 - m))                          # the diagonal Hessian of the b_y block
    return b_y, b_x


def test_stationary_visible_biases():
    from pedagogy_lib.harmonium import EFHParams

    p, Y = check.EX_LEARN
    ref, b_x = _zero_weight_stationary_biases(Y)
    g = exact_gradient(EFHParams(np.zeros((3, 5)), b_x, ref), Y)
    for block in g:                                            # a stationary point in all three blocks
        assert np.abs(block).max() < 1e-12
    assert check.stationary_visible_biases(ref)
    assert not check.stationary_visible_biases(None)
    for wrong, fragment in [(Y.mean(axis=0), "data's visible means"), (p.b_y, "EX_LEARN.params"),
                            (np.zeros(5), "zero biases"), (-ref, "wrong sign"), (np.log(Y.mean(axis=0)), "logarithm")]:
        r = check.stationary_visible_biases(wrong)
        assert not r and fragment in str(r), str(r)


def test_drawn_data_always_have_a_zero_weight_stationary_point():
    """Every visible unit of a drawn data set is on in some rows and off in others (the module draws again
    until it is), so the log-odds of the means are finite; the book's data keep their first draw."""
    import types

    from pedagogy_lib.exercises import checker

    source = Path(check.__file__).read_text(encoding="utf-8")
    for salt in range(60):
        fresh = types.ModuleType(check.__name__)
        fresh.__package__ = check.__package__
        with checker.drawn_for(salt):
            exec(compile(source, check.__file__, "exec"), vars(fresh))
        m = fresh.EX_LEARN.Y.mean(axis=0)
        assert fresh.EX_LEARN.Y.shape == (12, 5) and np.all((m > 0) & (m < 1)), (salt, m)
        if salt < 3:
            assert fresh.stationary_visible_biases(_zero_weight_stationary_biases(fresh.EX_LEARN.Y)[0])
    first = np.random.default_rng(1022)
    first.standard_normal(15 + 3 + 5)
    np.testing.assert_array_equal(check.EX_LEARN.Y, (first.random((12, 5)) < [0.8, 0.2, 0.6, 0.5, 0.3]) * 1.0)


def test_the_page_does_not_state_the_zero_weight_stationary_point():
    """The page says that moments match at a stationary point; the biases of the zero-weight one, the
    log-odds of the data's means, are not on it."""
    import json

    nb = json.loads((Path(__file__).resolve().parents[2] / "chapters" / "ch10_learning_energy_based_models"
                     / "10_2_1_learning_harmoniums.ipynb").read_text())
    page = "".join("".join(c["source"]) for c in nb["cells"] if "{solution}" not in "".join(c["source"]))
    assert "log-odds" not in page and "init_params(" in page
    # a student who reads the help of init_params (which starts there) must not find it either
    from pedagogy_lib.harmonium.model import init_params
    from pedagogy_lib.harmonium import ais
    for doc in (init_params.__doc__, ais.__doc__, *(f.__doc__ or "" for f in vars(ais).values() if callable(f))):
        assert "log-odds" not in doc and "log odds" not in doc


def test_kl_after_two_steps():
    p, Y = check.EX_LEARN
    d = chain_distributions(p, empirical_distribution(Y), 2)
    p_inf = np.exp(visible_log_probs(p))
    assert check.kl_after_two_steps(kl_divergence(d[2], p_inf))
    r = check.kl_after_two_steps(kl_divergence(d[1], p_inf))
    assert not r and "one step" in str(r)


def test_cd1_cosine():
    p, Y = check.EX_LEARN
    flat = lambda g: np.concatenate([g.W.ravel(), g.b_x, g.b_y])  # noqa: E731
    cd, ex = flat(expected_cd_gradient(p, empirical_distribution(Y), 1)), flat(exact_gradient(p, Y))
    cos = cd @ ex / np.linalg.norm(cd) / np.linalg.norm(ex)
    assert check.cd1_cosine(cos)
    r = check.cd1_cosine(np.arccos(cos))
    assert not r and "radians" in str(r)


def _bas_log_lik(params, Y):
    """Exact average log-likelihood by enumerating the 2^9 visible states, the hidden layer summed out in
    closed form (independent of the checker's tables)."""
    S = ((np.arange(512)[:, None] >> np.arange(9)) & 1).astype(float)
    log_u = lambda V: V @ params.b_y + np.logaddexp(0, V @ params.W.T + params.b_x).sum(axis=1)   # noqa: E731
    lu = log_u(S)
    log_Z = lu.max() + np.log(np.exp(lu - lu.max()).sum())
    return float(np.mean(log_u(Y)) - log_Z)


def _cd_numpy(seeds, n_epochs, lr0=0.3, k=10, B=2, checkpoints=()):
    """The statement's route (the published solution of ex-10-2-bas): CD-k of Eq. 10.23 in NumPy, learning rate
    falling linearly to zero, one run per seed, all seeds stepped together.

    Each seed keeps its own generator and draws from it what the solution draws, in the same order: the epoch's
    permutation, then per mini-batch B K uniforms for the hidden sample and k times B M + B K for the Gibbs
    steps, here in one call per epoch (consecutive calls of ``Generator.random`` read one stream). The seeds'
    products go to one batched ``matmul``: per seed the same BLAS calls on the same numbers, so each run is
    the solution's run to the bit, in a third of the Python calls. Returns per seed the final model and the
    models at ``checkpoints`` (epochs)."""
    from scipy.special import expit

    from pedagogy_lib.harmonium import EFHParams

    Y = bars_and_stripes(3)
    rngs = [np.random.default_rng(seed) for seed in seeds]
    p0 = [init_params(10, 9, rng, scale=0.1) for rng in rngs]
    W = np.stack([p.W for p in p0])                       # (S, K, M)
    b_x = np.stack([p.b_x for p in p0])[:, None]          # (S, 1, K)
    b_y = np.stack([p.b_y for p in p0])[:, None]          # (S, 1, M)
    S, K, M = W.shape
    n_batches = len(Y) // B
    saved = []
    for epoch in range(n_epochs):
        lr = lr0 * (1 - epoch / n_epochs)
        order = np.stack([rng.permutation(len(Y)) for rng in rngs]).reshape(S, n_batches, B)
        U = np.stack([rng.random(n_batches * (B * K + k * B * (M + K))) for rng in rngs]).reshape(
            S, n_batches, -1)
        U_x0 = U[:, :, :B * K].reshape(S, n_batches, B, K)
        U_steps = U[:, :, B * K:].reshape(S, n_batches, k, B * (M + K))
        U_y = U_steps[..., :B * M].reshape(S, n_batches, k, B, M)
        U_x = U_steps[..., B * M:].reshape(S, n_batches, k, B, K)
        for j in range(n_batches):
            W_T = W.transpose(0, 2, 1)
            y0 = Y[order[:, j]]                             # (S, B, M)
            m0 = expit(y0 @ W_T + b_x)
            x = (U_x0[:, j] < m0) * 1.0
            for i in range(k):
                y = (U_y[:, j, i] < expit(x @ W + b_y)) * 1.0
                mk = expit(y @ W_T + b_x)
                x = (U_x[:, j, i] < mk) * 1.0
            W += lr * (m0.transpose(0, 2, 1) @ y0 - mk.transpose(0, 2, 1) @ y) / B
            b_x += lr * (m0 - mk).mean(axis=1, keepdims=True)
            b_y += lr * (y0 - y).mean(axis=1, keepdims=True)
        if epoch + 1 in checkpoints:
            saved.append([EFHParams(W[s].copy(), b_x[s, 0].copy(), b_y[s, 0].copy()) for s in range(S)])
    return [(EFHParams(W[s], b_x[s, 0], b_y[s, 0]), [q[s] for q in saved]) for s in range(S)]


def _cd_one_seed(seed, n_epochs, lr0=0.3, k=10, B=2):
    """The published solution as written, for one seed (to check :func:`_cd_numpy` against)."""
    from scipy.special import expit

    from pedagogy_lib.harmonium import EFHParams

    Y = bars_and_stripes(3)
    rng = np.random.default_rng(seed)
    p0 = init_params(10, 9, rng, scale=0.1)
    W, b_x, b_y = p0.W.copy(), p0.b_x.copy(), p0.b_y.copy()
    for epoch in range(n_epochs):
        lr = lr0 * (1 - epoch / n_epochs)
        for batch in np.split(rng.permutation(14), 14 // B):
            y0 = Y[batch]
            m0 = expit(y0 @ W.T + b_x)
            x = (rng.random(m0.shape) < m0) * 1.0
            for _ in range(k):
                y = (rng.random(y0.shape) < expit(x @ W + b_y)) * 1.0
                mk = expit(y @ W.T + b_x)
                x = (rng.random(mk.shape) < mk) * 1.0
            W += lr * (m0.T @ y0 - mk.T @ y) / B
            b_x += lr * (m0 - mk).mean(axis=0)
            b_y += lr * (y0 - y).mean(axis=0)
    return EFHParams(W, b_x, b_y)


def test_bas_model():
    Y = bars_and_stripes(3)
    good, _ = train_exact(init_params(8, 9, np.random.default_rng(0), scale=0.1), Y, 1500, lr=0.5)
    assert check.bas_model(good)
    r = check.bas_model(init_params(8, 9, np.random.default_rng(0)))
    assert not r and "train longer" in str(r)
    assert not check.bas_model(init_params(12, 9, np.random.default_rng(0)))


def test_the_seeds_stepped_together_are_the_published_solution_to_the_bit():
    """:func:`_cd_numpy` runs the published solution: after 20 epochs each seed's model equals, bit for bit, the
    one the solution's own loop gives for that seed."""
    together = _cd_numpy((0, 1), 20)
    for seed, (params, _) in zip((0, 1), together):
        alone = _cd_one_seed(seed, 20)
        for name in ("W", "b_x", "b_y"):
            np.testing.assert_array_equal(getattr(params, name), getattr(alone, name), err_msg=(seed, name))


def test_bas_model_hand_written_cd_clears_the_bar_and_the_verdict_follows_the_exact_likelihood():
    """The reference's CD-10 in NumPy clears -3.1 with a margin for two seeds, and on the checkpoints of a
    run the checker's verdict is exactly "enumerated log-likelihood > -3.1"."""
    Y = bars_and_stripes(3)
    for seed, (final, saved) in zip((0, 1), _cd_numpy((0, 1), 3000, checkpoints=(100, 300, 1000, 2000))):
        ll = _bas_log_lik(final, Y)
        assert ll > -3.0, (seed, ll)
        assert check.bas_model(final)
        for q in saved:
            assert bool(check.bas_model(q)) == (_bas_log_lik(q, Y) > -3.1)
        assert not check.bas_model(saved[0])     # after 100 epochs it is not there yet


def _gradient_numpy(params, Y):
    """The notebook's solution: data phase from the posterior means, model phase by enumerating the hidden layer."""
    from pedagogy_lib.harmonium import states

    W, b_x, b_y = params.W, params.b_x, params.b_y
    mean_x = 1 / (1 + np.exp(-(Y @ W.T + b_x)))
    data = (mean_x.T @ Y / len(Y), mean_x.mean(axis=0), Y.mean(axis=0))
    Sx = states(W.shape[0])
    zeta = b_y + Sx @ W
    log_px = Sx @ b_x + np.logaddexp(0, zeta).sum(axis=1)
    px = np.exp(log_px - log_px.max())
    px /= px.sum()
    mean_y = 1 / (1 + np.exp(-zeta))
    model = ((px[:, None] * Sx).T @ mean_y, px @ Sx, px @ mean_y)
    return tuple(m - d for m, d in zip(model, data))


def _gradient_visible_enumeration(params, Y):
    """The same gradient with the visible layer enumerated instead (the other route of Step 2)."""
    from pedagogy_lib.harmonium import states

    W, b_x, b_y = params.W, params.b_x, params.b_y
    Sy = states(W.shape[1])
    eta = b_x + Sy @ W.T
    log_py = Sy @ b_y + np.logaddexp(0, eta).sum(axis=1)
    py = np.exp(log_py - log_py.max())
    py /= py.sum()
    mean_x_all = 1 / (1 + np.exp(-eta))
    model = ((mean_x_all * py[:, None]).T @ Sy, py @ mean_x_all, py @ Sy)
    mean_x = 1 / (1 + np.exp(-(Y @ W.T + b_x)))
    data = (mean_x.T @ Y / len(Y), mean_x.mean(axis=0), Y.mean(axis=0))
    return [m - d for m, d in zip(model, data)]


def _gradient_joint_table(params, Y):
    """The page's check cell after "Watching the moments meet" turned into a gradient: the full joint table."""
    from pedagogy_lib.harmonium import states

    W, b_x, b_y = params.W, params.b_x, params.b_y
    Sx, Sy = states(W.shape[0]), states(W.shape[1])
    negE = (Sx @ b_x)[:, None] + (Sy @ b_y)[None] + Sx @ W @ Sy.T
    P = np.exp(negE - negE.max())
    P /= P.sum()
    model = (Sx.T @ P @ Sy, P.sum(axis=1) @ Sx, P.sum(axis=0) @ Sy)
    mean_x = 1 / (1 + np.exp(-(Y @ W.T + b_x)))
    data = (mean_x.T @ Y / len(Y), mean_x.mean(axis=0), Y.mean(axis=0))
    return [m - d for m, d in zip(model, data)]


def test_exact_gradient_function_accepts_the_solution_and_the_library():
    assert check.exact_gradient_function(_gradient_numpy)
    assert check.exact_gradient_function(exact_gradient)                         # an EFHGrad is a triple


def test_enumerating_the_visible_layer_or_both_fails_only_on_the_wide_problem():
    """Correct on every small problem (so its numbers agree with the checker's), but neither the visible layer
    nor the joint table of the 40 visible units can be listed."""
    for fn in (_gradient_visible_enumeration, _gradient_joint_table):
        msg = str(check.exact_gradient_function(fn))
        assert "test problem 6 (K = 4 hidden, M = 40 visible units" in msg and "raised" in msg, msg


def _grad_slip(slip):
    """A student's function with one slip written into it."""
    from pedagogy_lib.harmonium import states

    def fn(params, Y):
        W, b_x, b_y = params.W, params.b_x, params.b_y
        N = len(Y)
        mean_x = 1 / (1 + np.exp(-(Y @ W.T + b_x)))
        if slip == "biases only":
            mean_x = np.tile(1 / (1 + np.exp(-b_x)), (N, 1))
        scale = 1.0 if slip == "summed" else 1.0 / N
        data = [scale * mean_x.T @ Y, scale * mean_x.sum(axis=0), scale * Y.sum(axis=0)]
        if slip == "no hidden":
            data[0], data[1] = 0 * data[0], 0 * data[1]
        Sx = states(W.shape[0])
        zeta = b_y + Sx @ W
        log_px = Sx @ b_x + (0 if slip == "hidden bias" else np.logaddexp(0, zeta).sum(axis=1))
        px = np.exp(log_px) if slip == "no Z" else np.exp(log_px - log_px.max()) / np.exp(log_px - log_px.max()).sum()
        mean_y = 1 / (1 + np.exp(-zeta))
        model = [(px[:, None] * Sx).T @ mean_y, px @ Sx, px @ mean_y]
        if slip == "marginals":
            model[0] = np.outer(model[1], model[2])
        grad = [d - m for m, d in zip(model, data)] if slip == "sign" else [m - d for m, d in zip(model, data)]
        if slip == "transposed":
            grad[0] = grad[0].T
        return grad
    return fn


def _visible_bias_slip(params, Y):
    """The model phase over visible states, each weighted by exp(b_y . y) alone."""
    from pedagogy_lib.harmonium import states

    Sy = states(params.W.shape[1])
    q = np.exp(Sy @ params.b_y)
    q /= q.sum()
    mx_all = 1 / (1 + np.exp(-(params.b_x + Sy @ params.W.T)))
    model = ((mx_all * q[:, None]).T @ Sy, q @ mx_all, q @ Sy)
    mx = 1 / (1 + np.exp(-(Y @ params.W.T + params.b_x)))
    data = (mx.T @ Y / len(Y), mx.mean(axis=0), Y.mean(axis=0))
    return [m - d for m, d in zip(model, data)]


@pytest.mark.parametrize("wrong,fragment", [
    (_grad_slip("sign"), "gradient of the average log-likelihood"),
    (_grad_slip("no hidden"), "left the hidden units out of the data phase"),
    (_grad_slip("biases only"), "from the hidden biases alone"),
    (_grad_slip("hidden bias"), "weighted each hidden state by its bias term alone"),
    (_visible_bias_slip, "weighted each visible state by its bias term alone"),
    (_grad_slip("no Z"), "normalizer Z"),
    (_grad_slip("marginals"), "marginal means"),
    (_grad_slip("summed"), "summed the data phase"),
    (_grad_slip("transposed"), "it is the transpose"),
    (lambda p, Y: None, "forget to return"),
    (lambda p, Y: 1 / 0, "raised ZeroDivisionError"),
    (lambda p, Y: _gradient_numpy(p, Y)[:2], "should return the triple"),
])
def test_exact_gradient_function_names_the_slips(wrong, fragment):
    res = check.exact_gradient_function(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_exact_gradient_function_names_a_transposed_square_weight_gradient():
    """Where K = M the transpose has the right shape; the named slip is still recognized there."""
    def fn(params, Y):
        dW, db_x, db_y = _gradient_numpy(params, Y)
        return (dW.T if dW.shape[0] == dW.shape[1] else dW), db_x, db_y

    res = check.exact_gradient_function(fn)
    assert not res and "test problem 4" in str(res) and "visible by hidden" in str(res), str(res)


def test_exact_gradient_function_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.exact_gradient_function(np.eye(2)))
    msg = str(check.exact_gradient_function(lambda p, Y: (_gradient_numpy(p, Y)[0] + 1e-3,) + _gradient_numpy(p, Y)[1:]))
    assert "test problem 1" in msg and "dW" in msg
    assert not re.search(r"[0-9]\.[0-9]", msg.replace("Eq. 10.19", "")), msg


def test_exact_gradient_function_reaches_the_single_row_and_the_wide_hidden_layer():
    def wrong_when(cond):
        def fn(params, Y):
            g = _gradient_numpy(params, Y)
            return (g[0], g[1] + 0.1, g[2]) if cond(params, Y) else g
        return fn

    msg = str(check.exact_gradient_function(wrong_when(lambda p, Y: len(Y) == 1)))
    assert "test problem 2 (K = 2 hidden, M = 4 visible units, 1 row of data)" in msg, msg
    msg = str(check.exact_gradient_function(wrong_when(lambda p, Y: p.W.shape[0] > p.W.shape[1])))
    assert "test problem 3 (K = 5 hidden, M = 3 visible units" in msg, msg
    msg = str(check.exact_gradient_function(wrong_when(lambda p, Y: p.W.shape[1] > 6)))
    assert "test problem 6 (K = 4 hidden, M = 40 visible units" in msg, msg


# --- ex-10-2-cd-update: the student's CD update on chains supplied to it --------------------------------------


def _cd_loops(params, Y0, X0, Yk):
    """Eq. 10.23 row by row and unit by unit, the hidden probabilities from the logistic function: an oracle
    written apart from the reference's matrix products."""
    K, M = params.W.shape
    B = Y0.shape[0]
    dW, db_x, db_y = np.zeros((K, M)), np.zeros(K), np.zeros(M)
    for n in range(B):
        for i in range(K):
            p0 = 1 / (1 + np.exp(-(params.b_x[i] + sum(params.W[i, j] * Y0[n, j] for j in range(M)))))
            pk = 1 / (1 + np.exp(-(params.b_x[i] + sum(params.W[i, j] * Yk[n, j] for j in range(M)))))
            db_x[i] += (p0 - pk) / B
            for j in range(M):
                dW[i, j] += (p0 * Y0[n, j] - pk * Yk[n, j]) / B
        db_y += (Y0[n] - Yk[n]) / B
    return dW, db_x, db_y


def test_cd_update_accepts_a_loop_oracle_and_it_is_the_reference():
    from pedagogy_lib.exercises.references import ch10_rbm_learning as refs
    assert check.cd_update_function(_cd_loops)
    for _, args in check._cd_cases():
        for a, b in zip(_cd_loops(*args), refs.cd_update(*args)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_cd_update_averaged_over_chains_is_minus_the_expected_cd_gradient():
    """Over many CD-1 chains from rows of EX_LEARN, the update's mean is minus the library's expected CD-1 update
    (a loss gradient, from exact transition matrices), within 4 standard errors of the mean per entry."""
    from scipy.special import expit
    p, Y = check.EX_LEARN
    rng = np.random.default_rng(1)
    n = 20000
    Y0 = Y[rng.integers(0, len(Y), n)]
    X0 = (rng.random((n, 3)) < expit(Y0 @ p.W.T + p.b_x)) * 1.0
    Y1 = (rng.random((n, 5)) < expit(X0 @ p.W + p.b_y)) * 1.0
    m0, m1 = expit(Y0 @ p.W.T + p.b_x), expit(Y1 @ p.W.T + p.b_x)
    per_row = np.hstack([(m0[:, :, None] * Y0[:, None, :] - m1[:, :, None] * Y1[:, None, :]).reshape(n, -1),
                         m0 - m1, Y0 - Y1])
    g = expected_cd_gradient(p, empirical_distribution(Y), 1)
    want = -np.concatenate([g.W.ravel(), g.b_x, g.b_y])
    se = per_row.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(per_row.mean(axis=0) - want) < 4 * se)
    mean_update = _cd_loops(p, Y0[:200], X0[:200], Y1[:200])
    np.testing.assert_allclose(np.concatenate([np.ravel(a) for a in mean_update]), per_row[:200].mean(axis=0),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("wrong, fragment", [
    (lambda p, Y0, X0, Yk: tuple(-a for a in _cd_loops(p, Y0, X0, Yk)), "other way"),
    (lambda p, Y0, X0, Yk: (_cd_loops(p, Y0, X0, Yk)[0], np.zeros(p.W.shape[0]), np.zeros(p.W.shape[1])),
     "hidden biases out"),
    (lambda p, Y0, X0, Yk: tuple(len(Y0) * a for a in _cd_loops(p, Y0, X0, Yk)), "summed"),
    (lambda p, Y0, X0, Yk: _cd_loops(p, Y0, X0, Yk)[0].T, "3-tuple"),
])
def test_cd_update_names_the_slips(wrong, fragment):
    r = check.cd_update_function(wrong)
    assert not r and fragment in str(r)


def test_cd_update_names_sampled_hidden_states_in_the_positive_phase():
    def sampled(p, Y0, X0, Yk):
        dW, db_x, db_y = _cd_loops(p, Y0, X0, Yk)
        m0 = 1 / (1 + np.exp(-(Y0 @ p.W.T + p.b_x)))
        return dW + (X0 - m0).T @ Y0 / len(Y0), db_x + (X0 - m0).mean(axis=0), db_y
    r = check.cd_update_function(sampled)
    assert not r and "sampled hidden states X0" in str(r)


def test_cd_update_rejects_a_stub_and_its_cases_reach_one_row_and_forty_units():
    assert not check.cd_update_function(lambda p, Y0, X0, Yk: None)
    assert not check.cd_update_function(None)
    shapes = [(args[0].W.shape, args[1].shape[0]) for _, args in check._cd_cases()]
    assert ((4, 4), 10) == shapes[0] and any(B == 1 for _, B in shapes) and any(M == 40 for (_, M), _ in shapes)
    assert any(K > M for (K, M), _ in shapes) and any(K == 1 for (K, _), _ in shapes)
