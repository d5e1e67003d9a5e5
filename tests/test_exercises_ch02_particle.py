"""Checkers of notebook 2.2.3: correct answers pass, typical wrong answers fail with a useful message."""
import numpy as np
from scipy import stats

from pedagogy_lib.exercises import ch02_particle as check
from pedagogy_lib.smc.particle import ffbsm


def _lik():
    x, y, s = check.EX_WEIGHTS
    return np.exp(-0.5 * ((y - x) / s) ** 2) / (s * np.sqrt(2 * np.pi))


def test_weights():
    lik = _lik()
    assert check.weights(lik / lik.sum())
    res = check.weights(lik)
    assert not res and "forgot to normalize" in str(res)
    res = check.weights(np.full(6, 1 / 6))
    assert not res and "uniform" in str(res)
    res = check.weights(None)
    assert not res and "None" in str(res)
    res = check.weights(np.ones(5) / 5)
    assert not res and "shape" in str(res)


def test_ess():
    w = _lik() / _lik().sum()
    assert check.ess(1 / np.sum(w**2))
    res = check.ess(np.sum(w**2))
    assert not res and "reciprocal" in str(res)
    res = check.ess(1 / np.sum(w**2) / 6)
    assert not res and "divided the ESS by I" in str(res)
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


def test_backward_step():
    p = check.EX_BACKWARD
    good = _beta_prev_via_library()
    assert check.backward_step(good)
    res = check.backward_step(p.alpha_prev)
    assert not res and "unchanged" in str(res)
    M = stats.norm(loc=p.a * p.x_prev[None, :], scale=p.sigma_x).pdf(p.x_next[:, None])
    no_alpha = (p.beta_next[:, None] * M / M.sum(axis=1, keepdims=True)).sum(axis=0)
    res = check.backward_step(no_alpha)
    assert not res and "alpha_{t-1} out" in str(res)
    joint = p.alpha_prev * (p.beta_next @ M)
    res = check.backward_step(joint / joint.sum())
    assert not res and "normalized once" in str(res)
    assert not check.backward_step(None)


def test_convergence_slope():
    measured = np.array([0.986, 0.400, 0.204])       # one set of eight seeds on the page's growth model
    assert check.convergence_slope(measured)
    assert check.convergence_slope([0.793, 0.46, 0.22])
    res = check.convergence_slope(measured[::-1])
    assert not res and "swap" in str(res)
    res = check.convergence_slope(measured**2 * 1.1)
    assert not res and ("near -1" in str(res) or "size" in str(res))
    assert not check.convergence_slope(None)


def test_convergence_needs_a_measurement_not_the_theory():
    """The theoretical slope alone no longer passes, nor does any I^(-1/2) curve at a guessed level:
    the level of the errors comes only from running the filter."""
    res = check.convergence_slope(-0.5)
    assert not res and "not the slope" in str(res)
    grid = np.array(check.RATE_GRID, dtype=float)
    for c in (1.0, 3.0, 30.0):
        res = check.convergence_slope(c * grid**-0.5)
        assert not res and "size" in str(res), c
    assert "0.88" not in str(check.convergence_slope(30.0 * grid**-0.5))

def _three_figures(x):
    """Round every entry to three significant figures, as a hand computation would."""
    x = np.asarray(x, dtype=float)
    return np.array([float(f"{v:.3g}") for v in x.ravel()]).reshape(x.shape)


def test_hand_computations_accept_three_significant_figures():
    w = _lik() / _lik().sum()
    assert check.weights(_three_figures(w))
    assert check.ess(float(f"{1 / np.sum(w**2):.3g}"))
    assert not check.ess(1.1 / np.sum(w**2))


def test_the_library_routes_that_answer_in_one_call_are_forbidden_when_graded():
    """Each of these library functions answers its exercise (or does its work) in one call, so the
    graded version refuses it; the statement names it (tests/test_grading.py checks that)."""
    routes = {
        "ex-2-2-3-weights": [
            "pedagogy_lib.mixture.model.gmm_posterior",
            "pedagogy_lib.mixture.model.gmm_logits",
        ],
        "ex-2-2-3-ess": [
            "pedagogy_lib.smc.resampling.ess",
        ],
        "ex-2-2-3-backward-step": [
            "pedagogy_lib.recursions.generic.backward_smoother",
            "pedagogy_lib.recursions.generic.future_conditioning",
            "pedagogy_lib.recursions.generic.sequence_conditional",
        ],
    }
    for label, names in routes.items():
        missing = set(names) - set(check.SUMMATIVE[label]["forbidden"])
        assert not missing, (label, missing)


def test_weights_recognize_the_standard_deviation_where_the_variance_belongs():
    """help() promises the variance and the standard deviation confused: both directions are named,
    with and without the 1/2 of the exponent."""
    x, y, s = check.EX_WEIGHTS
    for log_w in (-((y - x) ** 2) / s, -0.5 * (y - x) ** 2 / s, -0.5 * (y - x) ** 2 / s**4):
        w = np.exp(log_w - log_w.max())
        r = check.weights(w / w.sum())
        assert not r and "standard deviation" in str(r) and "no single slip" not in str(r), str(r)


def test_ess_recognizes_the_weights_passed_as_log_weights():
    from pedagogy_lib.smc.resampling import ess

    x, y, s = check.EX_WEIGHTS
    lik = stats.norm(loc=x, scale=s).pdf(y)
    w = lik / lik.sum()
    assert check.ess(ess(np.log(w)))
    r = check.ess(ess(w))
    assert not r and "log weights" in str(r), str(r)


def test_the_page_does_not_write_out_the_backward_step_before_its_exercise():
    """ex-2-2-3-backward-step asks for Eq. 2.61 by hand: the page's own example takes the smoother from
    the library rather than coding the step (future conditioning, then the average over beta_t)."""
    import json
    from pathlib import Path

    page = Path(__file__).resolve().parent.parent / "chapters/ch02_directed_generative_models/2_2_3_particle_filter.ipynb"
    cells = json.loads(page.read_text())["cells"]
    first = next(i for i, c in enumerate(cells) if ":label: ex-2-2-3-backward-step" in "".join(c["source"]))
    code = "".join("".join(c["source"]) for c in cells[:first] if c["cell_type"] == "code")
    assert "log_M" not in code and "@ cond" not in code
