"""Tests for the checkers of notebook 2.1.3 (pedagogy_lib.exercises.ch02_sparse).

The correct answers here are written out independently of the library (closed forms), so these
tests also check the checkers' references.
"""
from pathlib import Path

import numpy as np

from pedagogy_lib.core.gradcheck import gradcheck
from pedagogy_lib.exercises import ch02_sparse as check

TAU = 2 * np.pi


# --- map_1d: soft thresholding with an elastic-net prior ------------------------------------------

def good_map_1d(y, c, lam, alpha, gamma):
    h = lam * c**2 + gamma
    z, t = lam * c * y / h, alpha / h
    return np.sign(z) * max(abs(z) - t, 0.0)


def test_map_1d_accepts_the_soft_threshold():
    assert check.map_1d(good_map_1d)


def test_map_1d_reference_is_the_minimizer_on_a_grid():
    # brute force: minimize lam/2 (y - c x)^2 + gamma/2 x^2 + alpha |x| over a fine grid
    grid = np.linspace(-20, 20, 400001)
    for y, c, lam, alpha, gamma in check.EX_MAP_1D.cases:
        E = 0.5 * lam * (y - c * grid) ** 2 + 0.5 * gamma * grid**2 + alpha * np.abs(grid)
        assert abs(grid[np.argmin(E)] - good_map_1d(y, c, lam, alpha, gamma)) < 2e-4


def test_map_1d_cases_cover_both_priors_and_zero_modes():
    cases = check.EX_MAP_1D.cases
    assert any(g == 0 for *_, g in cases) and sum(g > 0 for *_, g in cases) >= 5
    modes = [good_map_1d(*a) for a in cases]
    assert any(m == 0 for m in modes) and any(m > 0 for m in modes) and any(m < 0 for m in modes)


def test_the_pages_ista_without_the_gaussian_energy_is_named():
    """The page's ISTA cell, copied with a 1 x 1 basis (its soft threshold written out from Step 1), solves the
    Laplace prior's problem and leaves gamma out; the checker names that."""
    def ista(y, c, lam, alpha, gamma):
        C2 = np.array([[c]])
        t = 1 / (lam * np.linalg.norm(C2, 2) ** 2)
        x = np.array([0.0])
        for _ in range(200):
            z = x + t * lam * C2.T @ (np.array([y]) - C2 @ x)
            x = np.sign(z) * np.maximum(np.abs(z) - t * alpha, 0)
        return float(x[0])

    res = check.map_1d(ista)
    assert not res and "Gaussian part of the prior" in str(res), str(res)


def test_map_1d_recognizes_typical_mistakes():
    def soft(z, t):
        return float(np.sign(z) * max(abs(z) - t, 0.0))

    cases = {
        "Gaussian part of the prior": lambda y, c, lam, alpha, gamma: soft(y / c, alpha / (lam * c * c)),
        "in the threshold but not": lambda y, c, lam, alpha, gamma: soft(y / c, alpha / (lam * c * c + gamma)),
        "in the point that is thresholded but not": lambda y, c, lam, alpha, gamma:
            soft(lam * c * y / (lam * c * c + gamma), alpha / (lam * c * c)),
        "ridge solution": lambda y, c, lam, alpha, gamma: lam * c * y / (lam * c * c + gamma),
        "hard-thresholded": lambda y, c, lam, alpha, gamma:
            lam * c * y / (lam * c * c + gamma) if abs(lam * c * y) > alpha else 0.0,
        "dropped the sign": lambda y, c, lam, alpha, gamma: max(lam * c * y - alpha, 0.0) / (lam * c * c + gamma),
        "least-squares solution": lambda y, c, lam, alpha, gamma: y / c,
    }
    for phrase, fn in cases.items():
        res = check.map_1d(fn)
        assert not res
        assert phrase in str(res), (phrase, str(res))


def test_map_1d_reports_an_unrecognized_wrong_answer_by_its_input_and_handles_errors_and_none():
    res = check.map_1d(lambda y, c, lam, alpha, gamma: 0.0)
    assert not res and "y=2.0, c=1.0, lam=1.0, alpha=0.5, gamma=0.5" in str(res)
    res = check.map_1d(lambda y, c, lam, alpha, gamma: 1 / 0)
    assert not res and "ZeroDivisionError" in str(res)
    res = check.map_1d(lambda y, c, lam, alpha: 0.0)
    assert not res and "TypeError" in str(res)
    res = check.map_1d(None)
    assert not res and "None" in str(res)
    res = check.map_1d(3.0)
    assert not res and "should be a function" in str(res)


# --- hessian ----------------------------------------------------------------------------------------

def good_hessian():
    p = check.EX_HESSIAN
    x2, b2 = p.x**2, p.beta**2
    return p.lam * p.C.T @ p.C + np.diag(2 * (b2 - x2) / (b2 + x2) ** 2)


def test_hessian_accepts_the_correct_matrix():
    assert check.hessian(good_hessian())


def test_hessian_reference_matches_finite_differences_of_the_energy():
    p = check.EX_HESSIAN
    y = np.array([0.3, -1.0, 0.7])           # the Hessian does not depend on y

    def E(x):
        return np.sum(np.log(p.beta**2 + x**2)) + 0.5 * p.lam * np.sum((y - p.C @ x) ** 2)

    # the gradient checker applied twice: the Jacobian of the numerical gradient (fourth-order stencils)
    H = gradcheck(lambda x: gradcheck(E, x, h=1e-3, order=4).numeric, p.x, h=1e-3, order=4).numeric
    np.testing.assert_allclose(good_hessian(), H, rtol=1e-5)


def test_hessian_is_asked_for_the_cauchy_prior_whose_curvature_the_page_does_not_state():
    """The page codes the log-cosh Hessian (see Eq. 2.33); the exercise's prior is the Cauchy one, and one
    entry of x lies beyond beta, where its curvature is negative."""
    p = check.EX_HESSIAN
    assert "alpha" not in check.HessianProblem._fields
    assert np.any(np.abs(p.x) > p.beta) and np.any(np.abs(p.x) < p.beta)
    page = (Path(__file__).resolve().parents[2]
            / "chapters/ch02_directed_generative_models/2_1_3_sparse_coding.ipynb").read_text()
    assert "(beta**2 - x" not in page.split(":label: ex-2-1-3-hessian")[0]


def test_hessian_recognizes_typical_mistakes():
    p = check.EX_HESSIAN
    CtC = p.C.T @ p.C
    x2, b2 = p.x**2, p.beta**2
    curv = 2 * (b2 - x2) / (b2 + x2) ** 2
    wrong = {
        "factor lambda": CtC + np.diag(curv),
        "factor 2": p.lam * CtC + np.diag(curv / 2),
        "sign of the curvature": p.lam * CtC - np.diag(curv),
        "not squared": p.lam * CtC + np.diag(2 * (b2 - x2) / (b2 + x2)),
        "only once": p.lam * CtC + np.diag(2 * p.x / (b2 + x2)),
        "emission term": np.diag(curv),
        "prior's curvature": p.lam * CtC,
    }
    for phrase, answer in wrong.items():
        res = check.hessian(answer)
        assert not res and phrase in str(res), (phrase, str(res))
    res = check.hessian(p.C @ p.C.T)
    assert not res and "shape" in str(res)
    assert not check.hessian(None)


def test_a_cauchy_posterior_mode_can_have_a_singular_hessian():
    """Erratum before Eq. 2.30: a mode need not have a positive definite Hessian. One source, the
    exercise's Cauchy prior with beta = 1, lambda = 1/4 and y = 3 sqrt(3): the prior's curvature
    2(1 - x^2)/(1 + x^2)^2 has its minimum -1/4 at x = sqrt(3), so the energy is convex, its
    gradient vanishes at sqrt(3) and its Hessian there is 0, which the checker's reference confirms."""
    from pedagogy_lib.exercises.references import ch02_sparse as refs

    lam, y, x0 = 0.25, 3 * np.sqrt(3), np.sqrt(3)
    xs = np.linspace(-50.0, 50.0, 100001)
    curvature = 2 * (1 - xs**2) / (1 + xs**2) ** 2 + lam
    assert curvature.min() > -1e-12                      # convex: every stationary point is the mode
    assert abs(2 * x0 / (1 + x0**2) - lam * (y - x0)) < 1e-12
    problem = check.HessianProblem(C=np.ones((1, 1)), lam=lam, beta=1.0, x=np.array([x0]))
    H = refs.hessian_reference(problem)
    assert H.shape == (1, 1) and abs(H[0, 0]) < 1e-12
    energy = np.log(1 + xs**2) + 0.5 * lam * (y - xs) ** 2
    assert np.all(energy >= np.log(1 + x0**2) + 0.5 * lam * (y - x0) ** 2 - 1e-12)


def test_the_page_does_not_write_out_the_laplace_evidence_before_its_exercise():
    """ex-2-1-3-laplace-evidence asks for Laplace's corrected evidence by hand: the page's own example
    takes it from the library instead of coding it line by line. (A check of the page, not of the
    equation: the checker's tests check the equation.)"""
    import json

    page = Path(__file__).resolve().parents[2] / "chapters/ch02_directed_generative_models/2_1_3_sparse_coding.ipynb"
    cells = json.loads(page.read_text())["cells"]
    first = next(i for i, c in enumerate(cells) if ":label: ex-2-1-3-hessian" in "".join(c["source"]))
    code = "".join("".join(c["source"]) for c in cells[:first] if c["cell_type"] == "code")
    assert "slogdet(H1)" not in code and "by_hand" not in code


# --- laplace_log_evidence ------------------------------------------------------------------------------

def good_evidence():
    p = check.EX_EVIDENCE
    c = p.C[:, 0]
    # the mode: soft thresholding of the least-squares solution (K = 1)
    z, t = c @ p.y / (c @ c), p.alpha / (p.lam * c @ c)
    x0 = np.sign(z) * max(abs(z) - t, 0.0)
    H = p.lam * c @ c + p.alpha * p.beta / np.cosh(p.beta * x0) ** 2
    E0 = p.alpha * abs(x0) + 0.5 * p.lam * np.sum((p.y - c * x0) ** 2)
    log_Z_joint = np.log(2 / p.alpha) + 0.5 * len(p.y) * np.log(TAU / p.lam)
    return 0.5 * np.log(TAU) - log_Z_joint - E0 - 0.5 * np.log(H), x0, E0, H, log_Z_joint


def test_evidence_accepts_the_corrected_eq_2_34():
    assert check.laplace_log_evidence(good_evidence()[0])


def test_evidence_recognizes_the_draft_sign_and_other_mistakes():
    p = check.EX_EVIDENCE
    value, x0, E0, H, lZ = good_evidence()
    L = len(p.y)
    wrong = {
        "draft's sign": value + 2 * p.alpha * abs(x0),
        "normalizer Z_joint": value + lZ,
        "factor tau^{K/2}": value - 0.5 * np.log(TAU),
        "tau^{L/2}": value + 0.5 * (L - 1) * np.log(TAU),
        "determinant factor": value + 0.5 * np.log(H),
        "emission's normalizer": value + 0.5 * L * np.log(TAU / p.lam),
    }
    for phrase, answer in wrong.items():
        res = check.laplace_log_evidence(answer)
        assert not res and phrase in str(res), (phrase, str(res))
    res = check.laplace_log_evidence(value + 0.3)
    assert not res and "not within tolerance" in str(res)
    assert not check.laplace_log_evidence(None)
    assert "single number" in str(check.laplace_log_evidence([value, value]))
