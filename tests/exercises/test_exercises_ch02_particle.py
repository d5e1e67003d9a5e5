"""Checkers of notebook 2.2.3: correct answers pass, typical wrong answers fail with a useful message."""
import numpy as np
import pytest
from scipy import stats

from pedagogy_lib.exercises import ch02_particle as check
from pedagogy_lib.smc.particle import ffbsm


def _gauss(v, m, sd):
    return np.exp(-0.5 * ((v - m) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))


def _weights(w=None):
    """Importance weights, the densities written out: target p(y | x) p(x | x_prev) over proposal q(x)."""
    w = w or check.EX_WEIGHTS
    num = _gauss(w.y_t, w.x, w.sigma_y) * _gauss(w.x, w.a * w.x_prev, w.sigma_x)
    raw = num / _gauss(w.x, w.y_t, w.sigma_q)
    return raw / raw.sum()


def test_the_weight_formula_is_a_consistent_importance_sampler():
    """For one ancestor, many particles drawn from the proposal and weighted by the formula reproduce the
    mean of the exact (Gaussian) posterior of x_t given the ancestor and y_t."""
    w = check.EX_WEIGHTS
    x_anc = w.x_prev[3]
    rng = np.random.default_rng(0)
    xs = w.y_t + w.sigma_q * rng.standard_normal(400_000)
    raw = _gauss(w.y_t, xs, w.sigma_y) * _gauss(xs, w.a * x_anc, w.sigma_x) / _gauss(xs, w.y_t, w.sigma_q)
    prec = 1 / w.sigma_x**2 + 1 / w.sigma_y**2
    exact = (w.a * x_anc / w.sigma_x**2 + w.y_t / w.sigma_y**2) / prec
    assert abs(raw @ xs / raw.sum() - exact) < 5e-3


def test_weights():
    good = _weights()
    assert check.weights(good)
    w = check.EX_WEIGHTS
    lik, trans, prop = _gauss(w.y_t, w.x, w.sigma_y), _gauss(w.x, w.a * w.x_prev, w.sigma_x), _gauss(w.x, w.y_t, w.sigma_q)
    norm = lambda v: v / v.sum()  # noqa: E731
    cases = [(norm(lik), "bootstrap"), (norm(lik / prop), "transition density"), (norm(lik * trans), "left out the proposal"),
             (norm(lik * trans * prop), "multiplied by the proposal"), (norm(trans / prop), "left out the likelihood"),
             (lik * trans / prop, "forgot to normalize"), (np.full(6, 1 / 6), "uniform")]
    for answer, phrase in cases:
        res = check.weights(answer)
        assert not res and phrase in str(res), (phrase, str(res))
    res = check.weights(None)
    assert not res and "None" in str(res)
    res = check.weights(np.ones(5) / 5)
    assert not res and "shape" in str(res)


def test_weights_on_problems_drawn_for_students():
    import importlib

    from pedagogy_lib.exercises import checker

    try:
        for salt in range(6):
            with checker.drawn_for(salt):
                own = importlib.reload(check)
                good = _weights(own.EX_WEIGHTS)
                assert own.weights(good) and own.ess(1 / np.sum(good**2))
    finally:
        importlib.reload(check)


def test_ess():
    w = _weights()
    assert check.ess(1 / np.sum(w**2))
    res = check.ess(np.sum(w**2))
    assert not res and "reciprocal" in str(res)
    res = check.ess(1 / np.sum(w**2) / 6)
    assert not res and "divided the ESS by I" in str(res)
    e = check.EX_WEIGHTS
    boot = _gauss(e.y_t, e.x, e.sigma_y)
    res = check.ess(1 / np.sum((boot / boot.sum()) ** 2))
    assert not res and "bootstrap" in str(res)
    assert not check.ess(None)


def _beta_prev_via_library():
    # Independent route: the library's FFBSm on a two-step "filter result" built from the problem.
    p = check.EX_BACKWARD
    from pedagogy_lib.lgssm import LGSSMParams as P
    from pedagogy_lib.smc.particle import ParticleFilterResult
    params = P(np.zeros(1), np.eye(1), np.array([[p.a]]), None, np.zeros(1), np.array([[p.sigma_x**2]]),
               np.eye(1), np.zeros(1), np.eye(1))
    x = np.stack([p.x_prev, p.x_next])[:, :, None]
    log_alpha = np.log(np.stack([p.alpha_prev, p.beta_next]))        # beta_T = alpha_T at the last step
    pf = ParticleFilterResult(x, log_alpha, np.zeros((2, 4), dtype=np.int64), np.ones(2), np.zeros(2, bool),
                              np.zeros(2), 0.0)
    return ffbsm(params, pf)[0]


def _cross_by_loops():
    """The smoothed cross moment with explicit loops: pair (j, k) weighted by beta_t^(k) times Eq. 2.60."""
    p = check.EX_BACKWARD
    total = 0.0
    for k in range(4):
        m = [p.alpha_prev[j] * _gauss(p.x_next[k], p.a * p.x_prev[j], p.sigma_x) for j in range(4)]
        for j in range(4):
            total += p.beta_next[k] * m[j] / sum(m) * p.x_prev[j] * p.x_next[k]
    return total


def test_backward_step():
    p = check.EX_BACKWARD
    good = _beta_prev_via_library()
    cross = _cross_by_loops()
    assert check.backward_step(good, cross)
    res = check.backward_step(p.alpha_prev, cross)
    assert not res and "unchanged" in str(res)
    M = stats.norm(loc=p.a * p.x_prev[None, :], scale=p.sigma_x).pdf(p.x_next[:, None])
    no_alpha = (p.beta_next[:, None] * M / M.sum(axis=1, keepdims=True)).sum(axis=0)
    res = check.backward_step(no_alpha, cross)
    assert not res and "alpha_{t-1} out" in str(res)
    joint = p.alpha_prev * (p.beta_next @ M)
    res = check.backward_step(joint / joint.sum(), cross)
    assert not res and "normalized once" in str(res)
    res = check.backward_step(good, float(good @ p.x_prev) * float(p.beta_next @ p.x_next))
    assert not res and "two smoothed means" in str(res)
    pairs = p.beta_next[:, None] * M * p.alpha_prev[None, :]
    res = check.backward_step(good, float(p.x_next @ (pairs / pairs.sum()) @ p.x_prev))
    assert not res and "over all pairs at once" in str(res)
    assert not check.backward_step(None, None)
    # summing the pair weights over j gives back beta_t: the pairs are the joint smoother of (x_{t-1}, x_t)
    cond = p.alpha_prev * M / (M @ p.alpha_prev)[:, None]
    np.testing.assert_allclose((p.beta_next[:, None] * cond).sum(axis=1), p.beta_next, rtol=1e-12)


def _page_growth_problem():
    """The page's growth model and data, built by running the page's own cell (up to the filter run)."""
    import json
    from pathlib import Path

    from pedagogy_lib.smc import particle

    page = Path(__file__).resolve().parents[2] / "chapters/ch02_directed_generative_models/2_2_3_particle_filter.ipynb"
    cells = json.loads(page.read_text())["cells"]
    code = next("".join(c["source"]) for c in cells if c["cell_type"] == "code" and "growth = particle.StateSpaceModel"
                in "".join(c["source"]))
    namespace = {"np": np, "stats": stats, "particle": particle}
    exec(code[:code.index("pf_g = ")], namespace)
    return namespace["growth"], namespace["xg"], namespace["yg"]


_RUNS = {}


def _page_runs():
    """Filter means of the statement's runs, computed here as the solution does, on the page's model."""
    if not _RUNS:
        from pedagogy_lib.smc import particle

        growth, xg, yg = _page_growth_problem()

        def means(n, seed):
            run = particle.particle_filter(growth, yg, np.random.default_rng(seed), n)
            return np.array([np.exp(run.log_alpha[t]) @ run.x[t, :, 0] for t in range(len(yg))])

        _RUNS["ref"] = means(20_000, 0)
        _RUNS["x"] = xg
        _RUNS["runs"] = np.array([[means(n, s) for s in range(1, 9)] for n in (100, 400, 1600)])
    return _RUNS["ref"], _RUNS["x"], _RUNS["runs"]


def _slope(errors):
    rms = np.sqrt(np.mean(errors**2, axis=1))
    x = np.log([100.0, 400.0, 1600.0])
    return float(np.sum((x - x.mean()) * (np.log(rms) - np.log(rms).mean())) / np.sum((x - x.mean()) ** 2))


def test_convergence_slope():
    assert check.RATE_GRID == (100, 400, 1600) and check.RATE_SEEDS == tuple(range(1, 9))
    assert check.RATE_REFERENCE == (20_000, 0)
    ref, x, runs = _page_runs()
    errors = np.sqrt(np.mean((runs - ref) ** 2, axis=2))
    slope = _slope(errors)
    assert check.convergence_slope(errors, slope)
    assert check.convergence_slope(errors.tolist(), slope + 0.01)
    # the page's remark: Monte Carlo spread among the eight runs at each I
    cv = errors.std(axis=1) / errors.mean(axis=1)
    assert np.all((cv > 0.1) & (cv < 0.5)), cv
    cases = [((errors[::-1], slope), "reverse order"),
             ((errors**2, slope), "squared errors"),
             ((np.sqrt(np.mean((runs - x) ** 2, axis=2)), slope), "true states"),
             ((np.mean(np.abs(runs - ref), axis=2), slope), "absolute errors"),
             ((errors, -slope), "wrong sign"),
             ((errors, 1 / slope), "axes swapped"),
             ((errors, 2 * slope), "squared errors"),
             ((errors.T, slope), "shape (8, 3)"),
             ((np.sqrt(np.mean(errors**2, axis=1)), slope), "not the three errors aggregated")]
    if abs(slope + 0.5) > 0.02:
        cases.append(((errors, -0.5), "theory predicts"))
    for args, phrase in cases:
        r = check.convergence_slope(*args)
        assert not r and phrase in str(r), (phrase, str(r))
    assert not check.convergence_slope(None, None)


def test_convergence_tolerates_one_run_per_I_that_resampled_differently():
    """A run whose resampling flipped (another machine) gives another Monte Carlo error: one per I is allowed,
    two are not."""
    ref, _, runs = _page_runs()
    errors = np.sqrt(np.mean((runs - ref) ** 2, axis=2))
    one = errors.copy()
    one[:, 2] *= 1.3
    assert check.convergence_slope(one, _slope(one))
    two = one.copy()
    two[1, 5] *= 0.7
    assert not check.convergence_slope(two, _slope(two))
    assert check.convergence_slope(errors * 1.01, _slope(errors))        # well above rounding level


def test_convergence_needs_a_measurement_not_the_theory():
    """No I^(-1/2) curve at a guessed level passes, with or without made-up scatter among the seeds: each
    error must be the one its run gives."""
    grid = np.array(check.RATE_GRID, dtype=float)
    rng = np.random.default_rng(0)
    ref, _, runs = _page_runs()
    level = np.sqrt(np.mean((runs - ref) ** 2, axis=(1, 2)))            # even the right levels
    for c in (level[0] * 10, 3.0, 9.0, 30.0):
        guess = np.tile((c / np.sqrt(grid))[:, None], (1, 8))
        for errors in (guess, guess * rng.lognormal(0.0, 0.25, size=guess.shape)):
            r = check.convergence_slope(errors, -0.5)
            assert not r and "not those of the statement's runs" in str(r), c
    r = check.convergence_slope(-0.5, -0.5)
    assert not r and "shape" in str(r)
    assert "0.9" not in str(check.convergence_slope(np.ones((3, 8)), -0.5))


def _three_figures(x):
    """Round every entry to three significant figures, as a hand computation would."""
    x = np.asarray(x, dtype=float)
    return np.array([float(f"{v:.3g}") for v in x.ravel()]).reshape(x.shape)


def test_hand_computations_accept_three_significant_figures():
    w = _weights()
    assert check.weights(_three_figures(w))
    assert check.ess(float(f"{1 / np.sum(w**2):.3g}"))
    assert not check.ess(1.1 / np.sum(w**2))


def test_weights_recognize_the_standard_deviation_where_the_variance_belongs():
    """help() promises the standard deviation where the variance belongs in the likelihood: it is named."""
    w = check.EX_WEIGHTS
    log_w = (-0.5 * (w.y_t - w.x) ** 2 / w.sigma_y + np.log(_gauss(w.x, w.a * w.x_prev, w.sigma_x))
             - np.log(_gauss(w.x, w.y_t, w.sigma_q)))
    v = np.exp(log_w - log_w.max())
    r = check.weights(v / v.sum())
    assert not r and "standard deviation" in str(r) and "no single slip" not in str(r), str(r)


def test_ess_recognizes_the_weights_passed_as_log_weights():
    from pedagogy_lib.smc.resampling import ess

    w = _weights()
    assert check.ess(ess(np.log(w)))
    r = check.ess(ess(w))
    assert not r and "log weights" in str(r), str(r)


def test_the_page_does_not_write_out_the_backward_step_before_its_exercise():
    """ex-2-2-3-backward-step asks for Eq. 2.61 by hand: the page's own example takes the smoother from
    the library rather than coding the step (future conditioning, then the average over beta_t)."""
    import json
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "chapters/ch02_directed_generative_models/2_2_3_particle_filter.ipynb"
    cells = json.loads(page.read_text())["cells"]
    first = next(i for i, c in enumerate(cells) if ":label: ex-2-2-3-backward-step" in "".join(c["source"]))
    code = "".join("".join(c["source"]) for c in cells[:first] if c["cell_type"] == "code")
    assert "log_M" not in code and "@ cond" not in code


# --- ex-2-2-3-bootstrap-function: the whole bootstrap filter on given draws --------------------------------------

def _pf_notebook(params, y, eps, u):
    """The notebook's solution: scipy's Gaussian for the likelihoods, searchsorted for the ancestors."""
    from scipy.special import logsumexp

    T, I, n = eps.shape
    L1, Lx = np.linalg.cholesky(params.Sigma1), np.linalg.cholesky(params.Sigma_x)
    noise = stats.multivariate_normal(np.zeros(len(params.c)), params.Sigma_y_x)
    x, log_alpha, log_evidence = np.empty((T, I, n)), np.empty((T, I)), 0.0
    for t in range(T):
        if t == 0:
            x[0] = params.mu1 + eps[0] @ L1.T
        else:
            cum = np.cumsum(np.exp(log_alpha[t - 1]))
            parents = np.searchsorted(cum, u[t - 1] * cum[-1], side="right")
            x[t] = x[t - 1, parents] @ params.A.T + params.a + eps[t] @ Lx.T
        log_lik = noise.logpdf(y[t] - x[t] @ params.C.T - params.c).reshape(I)
        log_alpha[t] = log_lik - logsumexp(log_lik)
        log_evidence += logsumexp(log_lik) - np.log(I)
    return x, log_alpha, log_evidence


def _pf_loops(params, y, eps, u, *, resample=True, transposed=False, normalize=True, over_I=True):
    """Written independently, particle by particle: the Gaussian density by a solve, ancestors by walking the
    cumulative weights, weights kept as plain numbers rescaled by the largest log-likelihood. The flags switch
    on the slips the checker names."""
    T, I, n = eps.shape
    L1, Lx = np.linalg.cholesky(params.Sigma1), np.linalg.cholesky(params.Sigma_x)
    if transposed:
        L1, Lx = L1.T, Lx.T
    m = len(params.c)
    _, logdet = np.linalg.slogdet(params.Sigma_y_x)
    x = np.zeros((T, I, n))
    log_w = np.zeros((T, I))
    log_lik_all = np.zeros((T, I))
    log_evidence = 0.0
    for t in range(T):
        for k in range(I):
            if t == 0:
                x[0, k] = params.mu1 + L1 @ eps[0, k]
                continue
            j = k
            if resample:
                w = np.exp(log_w[t - 1] - log_w[t - 1].max())
                w = w / w.sum()
                j, acc = 0, w[0]
                while j < I - 1 and u[t - 1, k] >= acc:
                    j += 1
                    acc += w[j]
            x[t, k] = params.A @ x[t - 1, j] + params.a + Lx @ eps[t, k]
        for k in range(I):
            r = y[t] - params.C @ x[t, k] - params.c
            log_lik_all[t, k] = -0.5 * (r @ np.linalg.solve(params.Sigma_y_x, r) + logdet + m * np.log(2 * np.pi))
        top = log_lik_all[t].max()
        total = np.sum(np.exp(log_lik_all[t] - top))
        log_w[t] = log_lik_all[t] - top - np.log(total)
        log_evidence += top + np.log(total) - (np.log(I) if over_I else 0.0)
    return x, (log_w if normalize else log_lik_all), log_evidence


def test_bootstrap_filter_function_accepts_the_solution_and_an_independent_loop():
    assert check.bootstrap_filter_function(_pf_notebook)
    assert check.bootstrap_filter_function(_pf_loops)
    assert check.bootstrap_filter_function(lambda *a: list(_pf_notebook(*a)))        # a list of the three is fine


def test_bootstrap_filter_cases_are_the_librarys_runs_and_reach_every_edge_case():
    """The hidden references are the library's multinomial runs on the draws the student gets; the cases include
    a single step and a single particle, and resampling that actually changes the particles."""
    cases = check._bootstrap_cases()
    shapes = [args[2].shape for args, _ in cases]
    assert any(T == 1 for T, _, _ in shapes) and any(I == 1 for _, I, _ in shapes)
    for (params, y, eps, u), (x, log_alpha, log_evidence) in cases:
        assert params.B is None and np.any(params.a != 0) and np.any(params.c != 0)
        assert u.shape == (eps.shape[0] - 1, eps.shape[1]) and np.all(np.diff(u, axis=1) >= 0)
        mine = _pf_loops(params, y, eps, u)
        np.testing.assert_allclose(mine[0], x, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(mine[1], log_alpha, rtol=1e-10, atol=1e-12)
        assert abs(mine[2] - log_evidence) < 1e-9 * max(1.0, abs(log_evidence))
    # at least one case where resampling is not the identity, so that "never resampled" differs
    assert any(np.abs(_pf_loops(*args, resample=False)[0] - ref[0]).max() > 1e-3 for args, ref in cases)


@pytest.mark.parametrize("wrong,fragment", [
    (lambda *a: _pf_loops(*a, resample=False), "never resampled"),
    (lambda *a: _pf_loops(*a, transposed=True), "transposed Cholesky factor"),
    (lambda *a: _pf_loops(*a, normalize=False), "log weights are not normalized"),
    (lambda *a: _pf_loops(*a, over_I=False), "misses the 1/I"),
    (lambda *a: None, "forget to return"),
    (lambda *a: 1 / 0, "raised ZeroDivisionError"),
    (lambda *a: _pf_notebook(*a)[:2], "should return the triple"),
])
def test_bootstrap_filter_function_names_the_slips(wrong, fragment):
    res = check.bootstrap_filter_function(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_bootstrap_filter_function_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.bootstrap_filter_function(np.eye(2)))
    res = check.bootstrap_filter_function(None)
    assert not res and "is None" in str(res)

    def off(*a):
        x, la, ev = _pf_notebook(*a)
        return x + 0.01, la, ev + 0.3

    msg = str(check.bootstrap_filter_function(off))
    assert "test problem 1" in msg
    assert not re.search(r"[0-9]\.[0-9]", msg.replace("Eqs. 2.56-2.59, 2.40", "")), msg
