"""Learning harmoniums: the CD-k / PCD-k kernel against its twin, training on bars and stripes with
exact log-likelihoods, greedy DBN stacking (Eqs. 10.24-10.27, Fig. 10.2), the Helmholtz machine's
wake phase against the JRE gradient, and the recurrent EFH against a static RBM."""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib.core.gradcheck import gradcheck
from pedagogy_lib.harmonium import (EFHParams, aggregated_posterior, average_log_likelihood, bars_and_stripes,
                                    cd_epoch, dbn_sample, dbn_visible_log_probs, empirical_distribution,
                                    exact_gradient, greedy_fit, init_params, invert, jre_bound, log_partition,
                                    pseudo_log_likelihood, states, train_exact, train_rbm, visible_log_probs)
from pedagogy_lib.harmonium import helmholtz as hh
from pedagogy_lib.harmonium import recurrent as rec
from pedagogy_lib.harmonium.datasets import moving_bars


def _rbm(K, M, seed, scale=0.5):
    rng = np.random.default_rng(seed)
    return EFHParams(scale * rng.standard_normal((K, M)), 0.3 * rng.standard_normal(K), 0.3 * rng.standard_normal(M))


@pytest.mark.parametrize("batch_size", [3, 8])                # per-example loops; whole-batch products
@pytest.mark.parametrize("persistent, k, fraction", [(False, 1, False), (False, 3, True), (True, 1, False),
                                                     (True, 2, False)])
def test_cd_kernel_equals_twin(persistent, k, fraction, batch_size):
    rng = np.random.default_rng(0)
    Y = rng.random((37, 9))
    Y = Y if fraction else (Y < 0.4).astype(float)
    p = _rbm(6, 9, 1)
    a, ca = cd_epoch(p, Y, np.random.default_rng(5), k=k, batch_size=batch_size, persistent=persistent)
    b, cb = cd_epoch(p, Y, np.random.default_rng(5), k=k, batch_size=batch_size, persistent=persistent,
                     backend="numpy")
    for f in ("W", "b_x", "b_y"):
        np.testing.assert_allclose(getattr(a, f), getattr(b, f), rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(ca, cb)


def test_one_cd1_update_is_the_rule_of_eq_10_23_written_out():
    """Batch of one, k = 1: the update is lr (p0 y0^T - p1 y1^T), with y1 drawn from the uniforms."""
    p = _rbm(3, 4, 2)
    y0 = np.array([[1.0, 0.0, 1.0, 1.0]])
    rng = np.random.default_rng(9)
    new, _ = cd_epoch(p, y0, rng, lr=0.5, batch_size=1, shuffle=False)
    rng = np.random.default_rng(9)
    rng.permutation(1)                                    # the epoch's order (drawn first)
    u_x, u_y = rng.random((1, 1, 3)), rng.random((1, 1, 4))
    sig = lambda z: 1 / (1 + np.exp(-z))                  # noqa: E731
    p0 = sig(p.b_x + p.W @ y0[0])
    x0 = (u_x[0, 0] < p0).astype(float)
    y1 = (u_y[0, 0] < sig(p.b_y + p.W.T @ x0)).astype(float)
    p1 = sig(p.b_x + p.W @ y1)
    np.testing.assert_allclose(new.W, p.W + 0.5 * (np.outer(p0, y0[0]) - np.outer(p1, y1)), rtol=1e-12)
    np.testing.assert_allclose(new.b_y, p.b_y + 0.5 * (y0[0] - y1), rtol=1e-12)


def test_training_on_bars_and_stripes_raises_the_exact_log_likelihood():
    Y = bars_and_stripes(3)
    rng = np.random.default_rng(1)
    p = init_params(8, 9, rng, scale=0.1)
    ll = lambda e, q: average_log_likelihood(q, Y)        # noqa: E731
    cd = train_rbm(p, Y, np.random.default_rng(2), 300, k=5, lr=0.2, batch_size=2, callback=ll).history
    pcd = train_rbm(p, Y, np.random.default_rng(2), 300, k=1, lr=0.1, batch_size=2, method="pcd",
                    callback=ll).history
    uniform = -9 * np.log(2)
    assert abs(cd[0] - uniform) < 0.5                                           # ideal: -log 14 = -2.64
    assert cd[-1] > -3.9 and pcd[-1] > -4.6
    assert cd[-1] > cd[0] + 1.5 and pcd[-1] > pcd[0] + 1.5


def test_exact_training_matches_moments_at_convergence():
    Y = bars_and_stripes(3)
    p, hist = train_exact(init_params(6, 9, np.random.default_rng(0), scale=0.1), Y, 1500, lr=0.5,
                          callback=lambda s, q: average_log_likelihood(q, Y))
    assert np.all(np.diff(hist) > -1e-9)                   # small steps: the exact MRE never rises
    g = exact_gradient(p, Y)
    assert np.abs(g.b_y).max() < 0.005 and np.abs(g.W).max() < 0.01      # moments matched


def test_pseudo_likelihood_equals_sum_of_exact_conditionals():
    p = _rbm(4, 5, 3, 1.0)
    Y = (np.random.default_rng(0).random((7, 5)) < 0.5).astype(float)
    log_p = visible_log_probs(p)
    idx = lambda y: int((y.astype(int) << np.arange(5)).sum())  # noqa: E731
    ref = 0.0
    for y in Y:
        for j in range(5):
            f = y.copy()
            f[j] = 1 - f[j]
            ref += log_p[idx(y)] - np.logaddexp(log_p[idx(y)], log_p[idx(f)])
    assert abs(pseudo_log_likelihood(p, Y) - ref / len(Y)) < 1e-12


# ------------------------------------------------------------------------------------------ DBN
def test_unrolled_dbn_has_the_rbm_marginal_fig_10_2():
    p = _rbm(4, 6, 5, 1.5)
    np.testing.assert_allclose(dbn_visible_log_probs([p, invert(p)]), visible_log_probs(p), atol=1e-12)
    # three layers: unrolling twice changes nothing either
    np.testing.assert_allclose(dbn_visible_log_probs([p, invert(p), p]), visible_log_probs(p), atol=1e-12)


def test_dbn_log_probs_stay_finite_when_an_emission_saturates():
    """Couplings of some thousands of nats: a data state's probability is below float64's
    smallest, but its log is finite. Against mpmath summing every hidden state of both layers from the
    definition (log sigmoid written as -log(1 + e^-a))."""
    import itertools

    import mpmath as mp
    rng = np.random.default_rng(1)
    r0 = EFHParams(rng.normal(size=(2, 3)) * 1e3, rng.normal(size=2) * 1e3, rng.normal(size=3) * 1e3)
    r1 = EFHParams(rng.normal(size=(2, 2)) * 1e3, rng.normal(size=2) * 1e3, rng.normal(size=2) * 1e3)
    bits = lambda n: [tuple(reversed(b)) for b in itertools.product((0, 1), repeat=n)]    # noqa: E731
    m = lambda a: mp.mpf(float(a))                                                        # noqa: E731

    def log_bern(v, logits):
        return mp.fsum(-mp.log1p(mp.exp(-m(a))) if u else -mp.log1p(mp.exp(m(a))) for u, a in zip(v, logits))

    with mp.workdps(40):
        top = {x1: mp.log(mp.fsum(mp.exp(m(r1.b_y @ x1 + r1.b_x @ x2 + np.array(x2) @ r1.W @ np.array(x1)))
                                  for x2 in bits(2))) for x1 in bits(2)}
        log_Z1 = mp.log(mp.fsum(mp.exp(v) for v in top.values()))
        want = [float(mp.log(mp.fsum(mp.exp(log_bern(y, np.array(x1) @ r0.W + r0.b_y) + top[x1] - log_Z1)
                                     for x1 in bits(2)))) for y in bits(3)]
    got = dbn_visible_log_probs([r0, r1])
    assert np.all(np.isfinite(got)) and min(want) < -745          # at least one state's probability underflows
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)


def test_jre_is_tight_at_theta1_equal_theta0_and_greedy_training_never_raises_the_mre():
    """Eq. 10.25: JRE = MRE + PRE, PRE = 0 at the start; descending the JRE in theta_1 lowers it
    monotonically and the DBN's MRE never rises above the RBM's."""
    rng = np.random.default_rng(6)
    p0 = _rbm(4, 6, 6, 1.0)
    data = (rng.random((60, 6)) < np.array([0.9, 0.1, 0.8, 0.5, 0.2, 0.7])).astype(float)
    data[::3, :3] = 1 - data[::3, 3:]                       # correlations the small RBM misses
    py = empirical_distribution(data)
    kl = lambda logq: float(np.sum(py[py > 0] * (np.log(py[py > 0]) - logq[py > 0])))  # noqa: E731
    mre0 = kl(visible_log_probs(p0))
    p1 = invert(p0)
    assert abs(jre_bound(p0, p1, py) - mre0) < 1e-10
    agg = aggregated_posterior(p0, py)                    # Eq. 10.24 (Eq. 10.26 at m = 1), the second layer's data
    jre, mre = [jre_bound(p0, p1, py)], [mre0]
    for _ in range(60):                                   # the greedy update of Eq. 10.27 with the exact gradient
        g = exact_gradient(p1, states(4), agg)
        p1 = p1._replace(W=p1.W - 0.2 * g.W, b_x=p1.b_x - 0.2 * g.b_x, b_y=p1.b_y - 0.2 * g.b_y)
        jre.append(jre_bound(p0, p1, py))
        mre.append(kl(dbn_visible_log_probs([p0, p1])))
    assert np.all(np.diff(jre) <= 1e-12)
    assert max(mre) <= mre0 + 1e-12
    assert all(m <= j + 1e-12 for m, j in zip(mre, jre))   # the JRE bounds the MRE throughout
    assert jre[-1] < jre[0] - 1e-3


def test_greedy_fit_and_sampling_shapes_and_validation():
    Y = bars_and_stripes(3)
    rbms = greedy_fit(np.tile(Y, (5, 1)), [8, 6], np.random.default_rng(0), 5)
    assert [r.W.shape for r in rbms] == [(8, 9), (6, 8)]
    s = dbn_sample(rbms, 4, 10, np.random.default_rng(1))
    assert s.y.shape == (4, 9) and set(np.unique(s.y)) <= {0.0, 1.0} and np.all((s.prob >= 0) & (s.prob <= 1))
    with pytest.raises(ValueError, match="rbms\\[1\\] has M = 5"):
        dbn_visible_log_probs([rbms[0], _rbm(3, 5, 0)])


# ----------------------------------------------------------------------------------- Helmholtz
def test_expected_wake_update_is_minus_the_jre_gradient():
    rng = np.random.default_rng(3)
    hm = hh.init_helmholtz([5, 3, 2], rng, scale=0.8)
    hm = hm._replace(g=[rng.standard_normal(5), rng.standard_normal(3)], b_top=rng.standard_normal(2))
    Y = (rng.random((12, 5)) < 0.5).astype(float)
    dG, dg, db = hh.expected_wake_update(hm, Y)
    for l in range(2):
        def jre_G(G, l=l):
            Gs = list(hm.G)
            Gs[l] = G
            return hh.helmholtz_jre(hm._replace(G=Gs), Y)

        def jre_g(g, l=l):
            gs = list(hm.g)
            gs[l] = g
            return hh.helmholtz_jre(hm._replace(g=gs), Y)
        assert gradcheck(jre_G, hm.G[l], -dG[l], h=1e-5, rtol=1e-6, atol=1e-9).ok
        assert gradcheck(jre_g, hm.g[l], -dg[l], h=1e-5, rtol=1e-6, atol=1e-9).ok
    assert gradcheck(lambda b: hh.helmholtz_jre(hm._replace(b_top=b), Y), hm.b_top, -db, h=1e-5, rtol=1e-6,
                     atol=1e-9).ok


def test_jre_bounds_the_mre_for_the_helmholtz_machine():
    rng = np.random.default_rng(4)
    hm = hh.init_helmholtz([6, 3], rng, scale=1.0)
    Y = bars_and_stripes(2)[np.array([0, 1, 2, 3, 0, 1])]
    Y = np.hstack([Y, Y[:, :2]])
    _, inv = np.unique(Y, axis=0, return_inverse=True)
    freq = np.bincount(inv.ravel()) / len(Y)
    mre = float(np.sum(freq * np.log(freq))) - hh.helmholtz_log_likelihood(hm, Y)
    assert hh.helmholtz_jre(hm, Y) >= mre - 1e-12


def test_wake_sleep_raises_the_exact_likelihood_on_bars_and_stripes():
    Y = np.tile(bars_and_stripes(3), (10, 1))
    hm = hh.init_helmholtz([9, 6, 3], np.random.default_rng(0))
    trained, _ = hh.wake_sleep(hm, Y, np.random.default_rng(1), 100, lr=0.3)
    assert hh.helmholtz_log_likelihood(trained, Y) > hh.helmholtz_log_likelihood(hm, Y) + 1.5


# ----------------------------------------------------------------------------------- recurrent
def test_recurrent_efh_predicts_moving_bars_better_than_a_static_rbm():
    rng = np.random.default_rng(0)
    train = moving_bars(60, 25, 10, rng)
    test = moving_bars(30, 25, 10, np.random.default_rng(1))
    p = rec.train_refh(rec.init_refh(10, 14, rng), train, rng, 25, lr=0.05)
    frames = train.reshape(-1, 10)
    static = train_rbm(init_params(14, 10, rng, data=frames), frames, rng, 25, lr=0.05, batch_size=20).params
    lp_rec = rec.predictive_log_probs(p, test)[:, 2:]
    lp_static = rec.static_log_probs(static, test)[:, 2:]
    diff = (lp_rec - lp_static).mean(axis=1)               # per sequence: independent across sequences
    se = diff.std(ddof=1) / np.sqrt(diff.size)
    assert diff.mean() > 5 * se and diff.mean() > 0.3


def test_recurrent_predictive_probabilities_normalize():
    rng = np.random.default_rng(2)
    p = rec.init_refh(4, 3, rng, scale=1.0)
    Y = moving_bars(1, 3, 4, rng)
    r = rec.recurrent_inputs(p, Y)
    all_y = states(4)[None]                                     # one "sequence" per state at step 1
    total = 0.0
    for y in states(4):
        seq = Y.copy()
        seq[0, 1] = y
        total += np.exp(rec.predictive_log_probs(p, seq)[0, 1])
    assert abs(total - 1.0) < 1e-12 and all_y.shape == (1, 16, 4) and r.shape == (1, 3, 3)


# ----------------------------------------------------------------------------------- validation
def test_learning_routines_validate_their_inputs():
    p = _rbm(3, 4, 0)
    Y = np.zeros((5, 4))
    with pytest.raises(ValueError, match="k must be at least 1"):
        cd_epoch(p, Y, np.random.default_rng(0), k=0)
    with pytest.raises(ValueError, match="Y holds Bernoulli states"):
        cd_epoch(p, Y + 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="Bernoulli-Bernoulli"):
        cd_epoch(p._replace(visible="gaussian"), Y, np.random.default_rng(0))
    with pytest.raises(ValueError, match="chains must have shape"):
        cd_epoch(p, Y, np.random.default_rng(0), persistent=True, chains=np.zeros((3, 3)), batch_size=5)
    with pytest.raises(ValueError, match="method"):
        train_rbm(p, Y, np.random.default_rng(0), 1, method="gibbs")
    with pytest.raises(ValueError, match="Y must hold binary"):
        rec.predictive_log_probs(rec.init_refh(4, 3, np.random.default_rng(0)), np.full((1, 3, 4), 0.5))
    with pytest.raises(TypeError, match="rng"):
        cd_epoch(p, Y, 0)
    assert np.isfinite(log_partition(p))


def _dbn_posterior_pre(p0, p1, py):
    """E_p[KL(check p(x|y) || hat p(x|y; theta0, theta1))], the DBN's posterior from its exact tables."""
    from pedagogy_lib.harmonium import directed_table
    Sx, Sy = states(p0.K), states(p0.M)
    q = 1 / (1 + np.exp(-(Sy @ p0.W.T + p0.b_x)))
    rec = np.exp(np.log(q) @ Sx.T + np.log1p(-q) @ (1 - Sx).T)              # check p(x|y), [y, x]
    joint = directed_table(p0).T * np.exp(visible_log_probs(p1))[:, None]  # p(y|x) p(x; theta1), [x, y]
    post = (joint / joint.sum(axis=0, keepdims=True)).T                   # hat p(x|y; theta0, theta1), [y, x]
    return float(np.sum(py[:, None] * rec * (np.log(rec) - np.log(post))))


def test_eq_10_25_decomposes_with_the_stacked_models_marginal():
    """Eq. 10.25's second line must use the DBN's marginal p(y; theta0, theta1): JRE = MRE_dbn + PRE_dbn
    exactly, while with the RBM's own marginal p(y; theta0) the identity fails once theta1 moves."""
    rng = np.random.default_rng(8)
    p0 = _rbm(3, 5, 8, 1.2)
    py = rng.dirichlet(np.ones(32))
    p1 = invert(p0)
    p1 = p1._replace(W=p1.W + 0.5 * rng.standard_normal(p1.W.shape), b_x=p1.b_x + 0.3)
    kl = lambda logq: float(np.sum(py * (np.log(py) - logq)))               # noqa: E731
    jre = jre_bound(p0, p1, py)
    mre_dbn = kl(dbn_visible_log_probs([p0, p1]))
    pre = _dbn_posterior_pre(p0, p1, py)
    assert abs(jre - (mre_dbn + pre)) < 1e-12
    mre_rbm = kl(visible_log_probs(p0))
    assert abs(jre - (mre_rbm + pre)) > 1e-3                                 # the draft's version


def test_failure_mode_prior_matches_aggregated_posterior_but_model_misses_the_data():
    """Section 10.2.3, "Failure modes": if sum_y [p(y) - p_hat(y)] p(x|y) = 0 for every x, the aggregated
    posterior equals the RBM's prior although p_hat(y) != p(y), and a second layer started at
    theta1 = theta0 (inverted) has exactly zero gradient: stacking cannot help."""
    p0 = _rbm(2, 4, 9, 1.0)
    model_y = np.exp(visible_log_probs(p0))
    Sx, Sy = states(2), states(4)
    q = 1 / (1 + np.exp(-(Sy @ p0.W.T + p0.b_x)))
    post = np.exp(np.log(q) @ Sx.T + np.log1p(-q) @ (1 - Sx).T)              # p(x|y), [y, x]: 16 x 4
    # a direction delta with delta^T post = 0 (which also sums to zero, since the rows of post sum to one)
    _, _, vt = np.linalg.svd(post.T)
    delta = vt[-1]
    data_y = model_y + 0.5 * delta * (model_y.min() / np.abs(delta).max())
    assert np.all(data_y > 0) and abs(data_y.sum() - 1) < 1e-12
    agg = aggregated_posterior(p0, data_y)
    prior_x = np.exp(visible_log_probs(invert(p0)))                          # p(x; theta0), the RBM's prior
    np.testing.assert_allclose(agg, prior_x, atol=1e-12)
    assert np.sum(data_y * np.log(data_y / model_y)) > 1e-4                 # the RBM does not fit the data
    g = exact_gradient(invert(p0), states(2), agg)
    assert max(np.abs(g.W).max(), np.abs(g.b_x).max(), np.abs(g.b_y).max()) < 1e-12


def test_every_kernel_is_small_and_the_readable_modules_hold_none():
    """At most about 80 lines and 12 parameters per numba kernel of harmonium/kernels.py, public names,
    no parameter that chooses an algorithm by code (the family codes ``fam*`` choose the model, in two
    leaves only), and no numba code in the readable modules."""
    import ast
    from pathlib import Path
    from pedagogy_lib.harmonium import kernels
    folder = Path(kernels.__file__).parent
    tree = ast.parse((folder / "kernels.py").read_text())
    found = [n for n in tree.body if isinstance(n, ast.FunctionDef)
             and any(getattr(d, "id", "").startswith("njit") for d in n.decorator_list)]
    assert len(found) >= 20
    for k in found:
        names = [a.arg for a in k.args.args]
        assert k.end_lineno - k.lineno + 1 <= 80, k.name
        assert len(names) <= 12, k.name
        assert not {"method", "kind", "code"} & set(names), k.name
        assert not k.name.startswith("_") and not k.name.endswith(("_numba", "_kernel")), k.name
    family_leaves = {k.name for k in found for node in ast.walk(k) if isinstance(node, ast.Compare)
                     and isinstance(node.left, ast.Name) and node.left.id.startswith("fam")}
    assert family_leaves == {"sum_log_partition", "draw_unit"}
    for path in folder.glob("*.py"):
        if path.name != "kernels.py":
            text = path.read_text()
            assert "njit" not in text and "import numba" not in text and "from numba" not in text, path.name


def test_init_params_starts_the_visible_biases_at_the_data_log_odds():
    """The 10.2.1 page says so: at the data's log-odds where every unit is on in some rows and off in
    others, and finite where a unit is always off or always on (its mean moved a little inside)."""
    Y = np.array([[1, 0, 1, 0], [1, 0, 0, 0], [0, 0, 1, 0], [1, 0, 1, 0]], dtype=float)
    b_y = init_params(3, 4, np.random.default_rng(0), data=Y).b_y
    m = Y.mean(axis=0)
    np.testing.assert_allclose(b_y[[0, 2]], np.log(m[[0, 2]] / (1 - m[[0, 2]])), rtol=1e-12)
    assert np.all(np.isfinite(b_y)) and b_y[1] < -5
    b_on = init_params(3, 4, np.random.default_rng(0), data=1 - Y).b_y
    assert np.isfinite(b_on[1]) and b_on[1] > 5
