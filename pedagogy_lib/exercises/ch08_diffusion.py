r"""Checkers for the exercises of Section 8.3 (diffusion models) and the score-matching pages."""
from __future__ import annotations

import numpy as np

from ..diffusion.schedules import Schedule
from .checker import (FUNCTION_ANSWER, CheckResult, book_or_drawn, check_function, compare_array, compare_scalar,
                      problem_rng, result, tuple_problems)

__all__ = ["EX_ALPHA_BAR", "EX_LAM", "EX_DDPM_BETAS", "EX_S0", "EX_LAM_RANGE", "EX_LANGEVIN", "EX_DSM", "EX_TWEEDIE",
           "EX_GAUSS2", "EX_TWO_POINT", "EX_REVERSE_S", "EX_SHARED_S", "transition_coefficients", "ve_step_variances",
           "snr_crossing", "posterior_variance", "langevin_variance", "tweedie_force", "gaussian_limit",
           "step_weight", "mse_at_level", "dsm_slope", "n_levels", "noised_score"]


def _count(answer, what: str) -> tuple:
    """``answer`` as an int when it is a Python or NumPy integer (not a bool, float or string)."""
    if isinstance(answer, (bool, np.bool_)) or not isinstance(answer, (int, np.integer)):
        return None, [f"{what} should be an int (a Python or NumPy integer); got {type(answer).__name__}."]
    return int(answer), []


def _draw_alpha_bar(rng) -> np.ndarray:
    """A cosine schedule like EX_ALPHA_BAR: 11 values decreasing in (0, 1), own offset and span."""
    start = rng.uniform(0.02, 0.1)
    span = rng.uniform(0.75, 0.97 - start)
    return np.cos(0.5 * np.pi * (np.arange(11) / 10 * span + start)) ** 2


#: 8.3 (a): DDPM's alpha-bar at levels 0..10 (variance preserving).
EX_ALPHA_BAR = book_or_drawn(np.cos(0.5 * np.pi * (np.arange(11) / 10 * 0.9 + 0.05)) ** 2, _draw_alpha_bar,
                             seed=8301)


def _draw_s_off_one(rng) -> float:
    """A data sd in 0.3-0.8 or 1.3-2 (two decimals): away from 1, where the answer is that of unit-variance data."""
    lo, hi = ((0.3, 0.8), (1.3, 2.0))[int(rng.integers(2))]
    return float(np.round(rng.uniform(lo, hi), 2))


#: 8.3 (a): the sd s of the data N(0, s^2), noised to every level of EX_ALPHA_BAR with one draw.
EX_SHARED_S = book_or_drawn(1.5, _draw_s_off_one, seed=8309)


def _draw_ddpm_betas(rng) -> np.ndarray:
    """Four increasing, distinct per-step variances in 0.005-0.15 (three decimals)."""
    while True:
        b = np.sort(np.round(rng.uniform(0.005, 0.15, 4), 3))
        if np.all(np.diff(b) > 0):
            return b


#: 8.3 (b): DDPM's per-step variances beta_1..beta_4.
EX_DDPM_BETAS = book_or_drawn(np.array([0.01, 0.02, 0.05, 0.1]), _draw_ddpm_betas, seed=8302)


def _draw_lam(rng) -> np.ndarray:
    """A log-linear SNR schedule of 21 levels with no level within rounding of SNR 1."""
    while True:
        hi, lo = 10.0 ** rng.uniform(1.5, 2.5), 10.0 ** rng.uniform(-2.5, -1.5)
        lam = hi * np.exp(np.log(lo / hi) * np.arange(21) / 20)
        if np.min(np.abs(np.log(lam))) > 1e-3:
            return lam


#: 8.3.1: SNRs lambda_0..lambda_20 of a log-linear schedule (log10 lambda_l = 2.3 - 0.2 l).
EX_LAM = book_or_drawn(10.0 ** (2.3 - 0.2 * np.arange(21)), _draw_lam, seed=8303)


def _rounded(lo: float, hi: float):
    """A draw of one number between lo and hi, two decimals."""
    return lambda rng: float(np.round(rng.uniform(lo, hi), 2))


def _draw_lam_range(rng) -> tuple:
    """(lam_min, lam_max) for one student: lam_min between 0.005 and 0.05, lam_max between 50 and 500."""
    return float(np.round(rng.uniform(0.005, 0.05), 3)), float(np.round(rng.uniform(50.0, 500.0)))


def _draw_gauss2(rng) -> dict:
    """N(m, diag(s^2)) in 2-D: mean entries in [-2, 2], sds in [0.3, 1.5] at least 0.3 apart."""
    while True:
        s = np.round(rng.uniform(0.3, 1.5, 2), 1)
        if abs(s[0] - s[1]) >= 0.3:
            return {"m": np.round(rng.uniform(-2.0, 2.0, 2), 1) + 0.0, "s": s}


#: 8.3.1: data N(0, s0^2); EX_GAUSS2: 2-D data N(m, diag(s^2)); EX_LAM_RANGE: (lam_min, lam_max).
EX_S0 = book_or_drawn(0.6, _rounded(0.3, 1.5), seed=8304)
EX_GAUSS2 = book_or_drawn({"m": np.array([1.5, -0.5]), "s": np.array([0.4, 1.2])}, _draw_gauss2, seed=8310)
EX_LAM_RANGE = book_or_drawn((1e-2, 1e2), _draw_lam_range, seed=8305)


#: 8.3.1 (c): data equal to -a or +a with probability 1/2 each.
EX_TWO_POINT = book_or_drawn(0.8, _rounded(0.5, 1.5), seed=8321)


#: 8.3.2 (a): the sd s of the data N(0, s^2).
EX_REVERSE_S = book_or_drawn(0.5, _draw_s_off_one, seed=8322)


def _draw_langevin(rng) -> tuple:
    """(s^2, epsilon): a variance in [0.5, 4] and a step 5-30% of it (stable, visibly biased)."""
    s2 = float(np.round(rng.uniform(0.5, 4.0), 1))
    return s2, float(np.round(s2 * rng.uniform(0.05, 0.3), 2))


#: 8.3.2 (b): target variance s^2 and Langevin step epsilon.
EX_LANGEVIN = book_or_drawn((2.0, 0.2), _draw_langevin, seed=8306)


def _draw_tweedie(rng) -> dict:
    """A problem like EX_TWEEDIE: atoms at least 1 apart, unequal weights, both posteriors in (0.1, 0.9)."""
    from .references import ch08_diffusion as refs
    while True:
        v, rho = float(np.round(rng.uniform(0.3, 1.0), 2)), float(np.round(rng.uniform(0.5, 2.0), 2))
        atoms = np.round(rng.uniform(-1.5, 1.5, (2, 2)), 1) + 0.0
        w1 = float(np.round(rng.uniform(0.2, 0.8), 2))
        x = np.round(rng.uniform(-1.5, 1.5, 2), 1) + 0.0
        p = {"v": v, "rho": rho, "atoms": atoms, "w": np.array([w1, 1.0 - w1]), "x": x}
        if (np.linalg.norm(atoms[0] - atoms[1]) >= 1.0 and abs(w1 - 0.5) >= 0.1 and abs(v * rho - 1) > 0.1
                and 0.1 < refs.two_atom_posterior(p)[0] < 0.9):
            return p


#: 8.3.2 (c): two-point data in 2-D (atoms, weights w), a level's v and rho, and the point x.
EX_TWEEDIE = book_or_drawn({"v": 0.6, "rho": 1.2, "atoms": np.array([[1.0, -0.5], [-0.5, 1.0]]),
                            "w": np.array([0.7, 0.3]), "x": np.array([0.3, 0.9])}, _draw_tweedie, seed=8307)


def _draw_dsm(rng) -> tuple:
    """(m, s, sigma): a non-zero mean, a data sd in [0.3, 1.5], a noise sd in [0.1, 1]."""
    m = float(np.round(rng.choice([-1, 1]) * rng.uniform(0.5, 3.0), 1))
    return m, float(np.round(rng.uniform(0.3, 1.5), 2)), float(np.round(rng.uniform(0.1, 1.0), 2))


#: 8.3.3 (a): data mean m, data sd s, noise sd sigma.
EX_DSM = book_or_drawn((-1.5, 0.8, 0.6), _draw_dsm, seed=8308)


def transition_coefficients(answer) -> CheckResult:
    """8.3 (a), ``ex-8-3-transition``: your (c, tau^2) with p(x_7 | x_3) = N(c x_3, tau^2) for data N(0, s^2), s =
    :data:`EX_SHARED_S`, noised by :data:`EX_ALPHA_BAR` with one shared draw. Slips named: Step 1's chain, the datum
    fixed, unit variance, s as a variance, a draw per level, the conditioning reversed, tau for tau^2, the
    unconditioned variance."""
    ab, s2 = np.asarray(EX_ALPHA_BAR, dtype=float), float(EX_SHARED_S) ** 2
    sig, noise = np.sqrt(ab), np.sqrt(1.0 - ab)         # signal scale v rho and noise scale v per level

    def conditional(data_var, shared=True):
        """(c, tau^2) and (Var x_3, Var x_7, Cov) of the joint of x_3 and x_7."""
        var3 = sig[3] ** 2 * data_var + noise[3] ** 2
        var7 = sig[7] ** 2 * data_var + noise[7] ** 2
        cov = sig[3] * sig[7] * data_var + (noise[3] * noise[7] if shared else 0.0)
        return np.array([cov / var3, var7 - cov ** 2 / var3]), (var3, var7, cov)

    expected, (var3, var7, cov) = conditional(s2)
    beta = sig[7] / sig[3]
    hints = {
        "you gave the transition of the Markov chain of Step 1 (Eq. 8.37); these levels are not drawn "
        "by that chain": [beta, noise[7] ** 2 - beta ** 2 * noise[3] ** 2],
        "you held the datum fixed; here it is not known": [noise[7] / noise[3], 0.0],
        "you took the data to have unit variance": conditional(1.0)[0],
        "you read s as a variance; it is a standard deviation": conditional(float(EX_SHARED_S))[0],
        "you gave each level a noise draw of its own; here the levels share one": conditional(s2, False)[0],
        "you conditioned level 3 on level 7": [cov / var7, var3 - cov ** 2 / var7],
        "you gave the standard deviation tau where the variance tau^2 belongs":
            [expected[0], np.sqrt(expected[1])],
        "you gave the variance of x_7 before conditioning on x_3": [expected[0], var7],
    }
    return result("level 7 given level 3 with shared noise",
                  compare_array(answer, expected, "(c, tau^2)", rtol=1e-6, hints=hints))


def ve_step_variances(answer) -> CheckResult:
    """8.3 (b), ``ex-8-3-name-clash``: your gamma_1^2, ..., gamma_4^2 of the chain of DDPM variances
    :data:`EX_DDPM_BETAS` rescaled to the variance-exploding form, four numbers. Slips named: DDPM's values unchanged,
    the scales beta_l, and several slips in the rescaling."""
    b = np.asarray(EX_DDPM_BETAS, dtype=float)
    abar = np.cumprod(1.0 - b)
    prev = np.concatenate([[1.0], abar[:-1]])
    sig = np.sqrt((1.0 - abar) / abar)
    hints = {"you gave DDPM's variances unchanged: rescaling every level changes what each step adds": b,
             "you gave the book's beta_l of the chain before rescaling (a scale, not a variance)": np.sqrt(1 - b),
             "you rescaled each step by its own alpha only; level l is divided by the signal scale of the "
             "whole chain up to l": b / (1 - b),
             "you gave the total noise variance of each level, not the variance that one step adds":
                 (1.0 - abar) / abar,
             "you divided by the signal variance of the level the step starts from": b / prev,
             "you subtracted noise standard deviations; independent noises add as variances":
                 np.diff(np.concatenate([[0.0], sig])) ** 2}
    return result("one-step variances of the rescaled chain",
                  compare_array(answer, b / abar, "gamma_l^2", rtol=1e-8, hints=hints))


#: (lam_min, lam_max, L): symmetric and lopsided ranges, one step, levels exactly on SNR 1 (_CROSSING_TIES) and near
#: misses below it by 1e-4 to 5e-9 (_CROSSING_NEAR; the last one's level 50 is 5e-9 below, five times the
#: statement's 1e-9, where a tolerance taken on t instead of on the SNR calls it not below).
_CROSSING_CASES = [(1e-2, 1e2, 20), (1e-3, 1e3, 10), (1e-4, 1e2, 12), (0.05, 300.0, 25), (1e-3, 10.0, 1),
                   (0.02, 5.0, 7), (0.3, 800.0, 40), (1e-5, 1e3, 8), (0.1, 1e4, 5), (1e-4, 10.0, 5),
                   (0.04, 5.0, 9), (0.16, 2.5, 9), (0.09998, 10.0, 2), (1e-5, 999.99, 8), (1e-4, 9.999999, 5),
                   (0.0009999999900000003, 1000.0, 100)]
_CROSSING_TIES = {0, 1, 2, 7, 8, 9, 10, 11}
_CROSSING_NEAR = {12, 13, 14, 15}


def _integer_verdict(title, fn, signature, cases, where_fmt, reference, ties, near, messages):
    """The verdict on an integer-valued function run on ``cases``, with ``messages`` for misses only on ``ties``, only
    on ``ties`` and ``near``, and otherwise."""
    if not callable(fn):
        return result(title, [f"{signature} should be a function; got {type(fn).__name__}."])
    wrong = []
    for i, args in enumerate(cases):
        where = where_fmt.format(i + 1, "(" + ", ".join(str(a) for a in args) + ")")
        try:
            out = fn(*args)
        except Exception as exc:  # noqa: BLE001 - any student error is reported, not raised
            return result(title, [f"your function raised {type(exc).__name__}: {exc} (on {where})."])
        value, problems = _count(out, f"the output on {where}")
        if problems:
            return result(title, problems)
        if value != reference(*args):
            wrong.append((i, where))
    missed = {i for i, _ in wrong}
    close = [w for i, w in wrong if i in near]
    if wrong and missed <= ties:
        return result(title, [messages[0].format(wrong[0][1])])
    if close and missed <= ties | near:
        return result(title, [messages[1].format(close[0])])
    return result(title, [messages[2].format(wrong[0][1])] if wrong else [])


def snr_crossing(fn) -> CheckResult:
    """8.3 (c), ``ex-8-3-snr-crossing``: your function ``fn(lam_min, lam_max, L)`` returning, as an int, the first
    level with lambda_l < 1 (up to a relative 1e-9) on the log-linear schedule; levels on or just below SNR 1 are
    among the hidden cases."""
    from .references import ch08_diffusion as refs
    return _integer_verdict(
        "SNR crossing", fn, "my_first_noisy_level(lam_min, lam_max, L)", _CROSSING_CASES,
        "test schedule {}, (lam_min, lam_max, L) = {}", refs.first_noisy_level, _CROSSING_TIES, _CROSSING_NEAR,
        ["not the first level below SNR 1 on {}, where one level sits exactly on SNR 1: that level is not below 1, "
         "and floating point can put it on either side.",
         "not the first level below SNR 1 on {}, where one level's SNR is below 1 by a small relative amount, far "
         "more than 1e-9: your function counts it as not below 1.",
         "not the first level with rho_l^2 < 1 on {}: write log lambda_l as a function of l and solve for where it "
         "turns negative."])


def posterior_variance(answer) -> CheckResult:
    """8.3.2 (a), ``ex-8-3-2-posterior-variance``: your variance of the reverse transition from level 5 to level 4,
    the datum unknown, for data N(0, s^2), s = :data:`EX_REVERSE_S`, under :data:`EX_ALPHA_BAR`. Slips named: the
    known-datum variance, the forward variance, the prior for the posterior, an unsquared coefficient."""
    ab, s2 = EX_ALPHA_BAR, EX_REVERSE_S ** 2
    bt = 1 - ab[5] / ab[4]
    known = (1 - ab[4]) * bt / (1 - ab[5])             # Eq. 8.38: the datum given
    coef = np.sqrt(ab[4]) * bt / (1 - ab[5])           # the datum's coefficient in the reverse mean
    post = 1 / (1 / s2 + ab[5] / (1 - ab[5]))          # Var(datum | x_5)
    expected = known + coef ** 2 * post
    hints = {"you gave the variance of Eq. 8.38, which holds when the datum is known; here it is not": known,
             "you gave DDPM's beta_5, the forward step's variance": bt,
             "you used the datum's prior variance where its uncertainty given x_5 belongs":
                 known + coef ** 2 * s2,
             "you multiplied the datum's uncertainty by its coefficient in the reverse mean only once":
                 known + coef * post}
    return result("reverse variance with the datum unknown",
                  compare_scalar(answer, expected, "the variance", rtol=1e-6, hints=hints))


def langevin_variance(answer) -> CheckResult:
    """8.3.2 (b): your stationary variance of the unadjusted Langevin chain (Eq. 8.44) on the target of
    :data:`EX_LANGEVIN`. Slips named: the target's variance and two others."""
    s2, eps = EX_LANGEVIN
    expected = s2 / (1 - eps / (2 * s2))
    hints = {"you gave the target's variance: the unadjusted chain is biased": s2,
             "your chain takes half the step of Eq. 8.44, x + (eps/2) f(x) + sqrt(eps) z; the update of the "
             "statement is x + eps f(x) + sqrt(2 eps) z": s2 / (1 - eps / (4 * s2)),
             "the bias goes the other way: the chain over-disperses": s2 * (1 - eps / (2 * s2))}
    return result("Langevin stationary variance", compare_scalar(answer, expected, "the variance", rtol=1e-6,
                                                                 hints=hints))


def tweedie_force(answer) -> CheckResult:
    """8.3.2 (c), ``ex-8-3-2-tweedie``: your exact force of the noised two-point data of :data:`EX_TWEEDIE` at its
    ``x``, shape (2,). Slips named: the weights left out, the prior mean, the nearest atom, unscaled atoms, a unit
    noise variance, the scale v rho left out, a wrong power of v."""
    from .references import ch08_diffusion as refs
    p = EX_TWEEDIE
    v, rho, atoms, x = p["v"], p["rho"], p["atoms"], p["x"]

    def force(m, scale=v * rho, power=2):
        return (scale * m - x) / v ** power
    expected = force(refs.two_atom_posterior(p) @ atoms)
    nearest = atoms[int(np.argmin(np.sum((x - v * rho * atoms) ** 2, axis=1)))]
    hints = {"you left out the atoms' probabilities w": force(refs.two_atom_posterior(p, weights=[0.5, 0.5]) @ atoms),
             "you used the prior mean of the data as the prediction; the prediction depends on x_l":
                 force(p["w"] @ atoms),
             "you kept only the nearest atom": force(nearest),
             "your likelihood compares x_l with the atoms themselves; at level l the signal is scaled":
                 force(refs.two_atom_posterior(p, scale_likelihood=False) @ atoms),
             "your likelihood has the wrong noise variance": force(refs.two_atom_posterior(p, sd=1.0) @ atoms),
             "you forgot the scale v rho in front of the prediction": force(refs.two_atom_posterior(p) @ atoms, 1.0),
             "you divided by v instead of v^2": force(refs.two_atom_posterior(p) @ atoms, power=1)}
    return result("Tweedie's force for two-point data",
                  compare_array(answer, expected, "the force", rtol=1e-8, hints=hints))


def gaussian_limit(answer) -> CheckResult:
    """8.3.1 (a), ``ex-8-3-1-gaussian-limit``: your continuous-time loss for the data of :data:`EX_GAUSS2`, the
    optimal denoiser and the SNR range :data:`EX_LAM_RANGE`. Slips named: the draft's two slips, one shared sd, the
    mean folded into the variance, one coordinate alone, a dropped factor."""
    lo, hi = EX_LAM_RANGE
    m, s = EX_GAUSS2["m"], EX_GAUSS2["s"]

    def limit(var):
        p = 1 / np.asarray(var, dtype=float)
        return float(0.5 * np.sum(np.log((p + hi) / (p + lo))))
    expected = limit(s ** 2)
    hints = {"you kept the draft's 1/L: the scaled loss tends to zero": 0.0,
             "you kept the draft's +dh/du: the sign is wrong": -expected,
             "you folded the mean into the variance: the posterior variance does not depend on m":
                 limit(s ** 2 + m ** 2),
             "you used one standard deviation for both coordinates (the mean of the two)":
                 limit(np.full(2, np.mean(s) ** 2)),
             "you gave only one coordinate's loss: the posterior variances add up over coordinates":
                 limit(s[:1] ** 2),
             "you dropped the 1/2": 2 * expected}
    return result("continuous-time loss", compare_scalar(answer, expected, "L_infinity", rtol=1e-6, hints=hints))


def step_weight(answer) -> CheckResult:
    """8.3.1 (b), ``ex-8-3-1-step-weight``: your weight of the fifth summand of the loss for a velocity prediction,
    schedule :data:`EX_LAM`. Slips named: the clean-data and noise weights, the weight upside down, the signal's scale
    for the noise's, the wrong level, a dropped factor."""
    lam = EX_LAM
    w5 = 0.5 * (lam[4] - lam[5])
    expected = w5 / (1 + lam[5])
    hints = {"you gave the weight of the clean-data loss (Eq. 8.41)": w5,
             "you gave the weight of the noise loss": w5 / lam[5],
             "you turned the factor between the two errors upside down": w5 * (1 + lam[5]),
             "you used the signal's scale v_l rho_l where the noise's v_l belongs": w5 * lam[5] / (1 + lam[5]),
             "you used level 4's scales; the velocity target is defined at level 5": w5 / (1 + lam[4]),
             "you used the step from level 5 to 6": 0.5 * (lam[5] - lam[6]) / (1 + lam[6]),
             "you dropped the 1/2": 2 * expected}
    return result("step weight for a velocity prediction",
                  compare_scalar(answer, expected, "the weight", rtol=1e-8, hints=hints))


#: The statement asks for six significant digits: rounding to six moves a number by at most 5e-6 of itself.
_SIX_DIGITS = 5e-6


def mse_at_level(answer) -> CheckResult:
    """8.3.1 (c), ``ex-8-3-1-mse``: your MSE of the best denoiser at SNR 4 for data +-a with probability 1/2 each, a =
    :data:`EX_TWO_POINT`, to six significant digits (rtol 5e-6). Slips named: Gaussian data (the best linear
    denoiser), the prior and noise variances, a single observation, the SNR read as a noise variance."""
    from .references import ch08_diffusion as refs
    a = EX_TWO_POINT
    expected = refs.two_point_mse(a, 4.0)
    hints = {"you gave the error for Gaussian data of the same variance (that of the best linear "
             "denoiser); the best denoiser of these data is not linear": 1 / (1 / a ** 2 + 4.0),
             "you gave the prior variance: the denoiser sees the data": a ** 2,
             "you gave the noise variance of x_l / (v rho), 1 / lambda": 0.25,
             "you evaluated the posterior variance at one observation only; the MSE averages it over the "
             "noisy observations": a ** 2 / np.cosh(4.0 * a ** 2) ** 2,
             "you read the SNR 4 as a noise variance": refs.two_point_mse(a, 0.25)}
    return result("optimal MSE for two-point data",
                  compare_scalar(answer, expected, "the MSE", rtol=_SIX_DIGITS, hints=hints))


def dsm_slope(answer) -> CheckResult:
    """8.3.3 (a), ``ex-8-3-3-dsm-slope``: your (a, b) of the best linear score under denoising score matching for
    :data:`EX_DSM` = (m, s, sigma). Slips named: the clean score, the noise alone, sds added."""
    m, s, sig = EX_DSM
    a = -1 / (s ** 2 + sig ** 2)
    expected = [a, -a * m]
    hints = {"you matched the score of the clean data, not of the noised data": [-1 / s ** 2, m / s ** 2],
             "you used the noise variance alone": [-1 / sig ** 2, m / sig ** 2],
             "you added standard deviations instead of variances": [-1 / (s + sig) ** 2, m / (s + sig) ** 2]}
    return result("DSM-optimal linear score", compare_array(answer, expected, "(a, b)", rtol=1e-6, hints=hints))


#: (sigma_1, sigma_min, r): several lengths, one level, exact landings on sigma_min (_LADDER_BOUNDARY) and near misses
#: above it by 5e-4 to 5e-9 (_LADDER_NEAR; in the last one, 22 levels long, level 21 is 5e-9 above, five times the
#: statement's 1e-9, where an allowance taken on the ratio of logarithms instead of on sigma counts it as reaching).
_LADDER_CASES = [(10.0, 0.01, 0.5), (20.0, 0.007, 0.6), (5.0, 5.0, 0.5), (3.0, 2.0, 0.5), (50.0, 0.02, 0.75),
                 (1.0, 0.01, 0.1), (1.0, 1e-05, 0.1), (1.0, 0.008, 0.2), (2.0, 0.004, 0.5),
                 (1.0, 0.009995, 0.1), (1.0, 9.999e-07, 0.1), (2.0, 0.00390624, 0.5), (10.0, 0.009999999, 0.1),
                 (1.0, 9.99999995e-21, 0.1)]
_LADDER_BOUNDARY = {5, 6, 7}
_LADDER_NEAR = {9, 10, 11, 12, 13}


def n_levels(fn) -> CheckResult:
    """8.3.3 (b), ``ex-8-3-3-levels``: your function ``fn(sigma_1, sigma_min, r)`` returning, as an int, the number of
    levels of the geometric ladder down to the first at or below sigma_min (within a relative 1e-9); exact landings
    and near misses are among the hidden cases."""
    from .references import ch08_diffusion as refs
    return _integer_verdict(
        "number of levels", fn, "my_n_levels(sigma_1, sigma_min, r)", _LADDER_CASES,
        "test ladder {}, (sigma_1, sigma_min, r) = {}", refs.ladder_length, _LADDER_BOUNDARY, _LADDER_NEAR,
        ["not the number of levels on {}, where the last level lands exactly on sigma_min: compare with a "
         "tolerance, since floating point can put it just above or just below.",
         "not the number of levels on {}, where a level lies above sigma_min by a small relative amount, more than "
         "1e-9: your function counts it as reaching sigma_min (is your tolerance on sigma, or on a ratio of "
         "logarithms?).",
         "not the number of levels on {}: count every sigma from sigma_1 down to the first that reaches sigma_min, "
         "both ends included."])


def noised_score(answer) -> CheckResult:
    """8.3.3 (c), ``ex-8-3-3-noised-score``: your force of the noised mixture of the statement at x = 0.5. Slips
    named: the clean components' variance, the nearest component alone."""
    x, v = 0.5, 0.25 + 0.25
    w1, w2 = np.exp(-(x + 1) ** 2 / (2 * v)), np.exp(-(x - 1) ** 2 / (2 * v))
    expected = (w1 * (-1 - x) + w2 * (1 - x)) / (v * (w1 + w2))
    wc1, wc2 = np.exp(-(x + 1) ** 2 / 0.5), np.exp(-(x - 1) ** 2 / 0.5)
    hints = {"you used the clean components' variance: what does noising at level sigma do to each component?":
                 (wc1 * (-1 - x) + wc2 * (1 - x)) / (0.25 * (wc1 + wc2)),
             "you took only the nearest component": (1 - x) / v}
    return result("noised mixture force", compare_scalar(answer, expected, "the force", rtol=1e-6, hints=hints))


# --- Sections 8.3 and 8.3.1: implementation exercises ---

__all__ += ["chain_marginals_function", "mean_loss_function"]


def _chain_cases():
    """Hidden chains (B, Gamma, s0, v0), B and Gamma of shape (L, d, d): blurring, general, one step, scalar, long."""
    rng = problem_rng(8320)
    cases = []
    for kind, d, L in [("blur", 2, 5), ("general", 3, 4), ("general", 2, 1), ("scalar", 1, 6), ("blur", 3, 8)]:
        B, G = np.empty((L, d, d)), np.empty((L, d, d))
        for k in range(L):
            if kind == "blur":                    # mix each coordinate with its neighbour, then shrink
                c = rng.uniform(0.05, 0.3)
                M = (1 - c) * np.eye(d) + c * np.roll(np.eye(d), 1, axis=1)
                B[k] = rng.uniform(0.85, 0.99) * M
            else:
                B[k] = rng.uniform(0.7, 1.0) * np.eye(d) + rng.normal(0.0, 0.2, (d, d))
            A = rng.normal(0.0, 0.3, (d, d))
            G[k] = A @ A.T + rng.uniform(0.01, 0.1) * np.eye(d)
        cases.append((B, G, float(rng.uniform(0.8, 1.0)), float(rng.uniform(0.05, 0.3))))
    return cases




def chain_marginals_function(fn) -> CheckResult:
    """Section 8.3, ``ex-8-3-chain-marginals``: your function ``fn(B, Gamma, s0, v0)`` returning ``(S, C)`` (L + 1, d,
    d), the marginals N(S_l x, C_l) of a Gaussian chain whose step l multiplies by ``B[l - 1]`` and adds noise
    ``Gamma[l - 1]``, level 0 being N(s0 x, v0^2 I). Slips named: the clean start, v0 left out or unsquared, the wrong
    order, a transpose, B once or entrywise, covariances not propagated."""
    from .references import ch08_diffusion as refs
    def judge(out, where, B, G, s0, v0):
        S_ref, C_ref = refs.chain_run(B, G, s0, v0)
        problems = tuple_problems(out, 2, "the pair (S, C)", where)
        if problems:
            return problems
        hints_S, hints_C = refs.chain_slips(B, G, s0, v0)
        return (compare_array(out[0], S_ref, f"the mean matrices S_l on {where}", rtol=1e-8, atol=1e-12, hints=hints_S)
                + compare_array(out[1], C_ref, f"the covariances C_l on {where}", rtol=1e-8, atol=1e-12, hints=hints_C))

    cases = [(f"test problem {i + 1} (L = {case[0].shape[0]}, d = {case[0].shape[1]})", case)
             for i, case in enumerate(_chain_cases())]
    return check_function("recognition marginals of a Gaussian chain with matrix steps", fn, cases, judge,
                          name="my_chain_marginals", signature="(B, Gamma, s0, v0)")


def _snr_curve(hi: float, lo: float, L: int, family: str) -> np.ndarray:
    """SNRs lambda_0..lambda_L from hi down to lo along a log-linear or a cosine curve."""
    u = np.arange(L + 1) / L
    if family == "log":
        return hi * (lo / hi) ** u
    a, b = np.arctan(hi ** -0.5), np.arctan(lo ** -0.5)
    return np.tan(a + u * (b - a)) ** -2.0


def _loss_cases():
    """Hidden problems (schedule, l, x0, z, mu): VP and VE schedules, level L, level 1 in 1-D."""
    rng = problem_rng(8311)
    cases = []
    for L, kind, family, N, d, at in [(10, "vp", "cosine", 7, 2, None), (6, "vp", "log", 1, 3, "L"),
                                      (5, "vp", "cosine", 4, 1, 1), (12, "ve", "log", 9, 2, None)]:
        hi, lo = 10.0 ** rng.uniform(1.0, 2.5), 10.0 ** rng.uniform(-2.5, -1.0)
        lam = _snr_curve(hi, lo, L, family)
        rho = np.sqrt(lam)
        v = 1.0 / np.sqrt(1.0 + lam) if kind == "vp" else 1.0 / rho
        l = rng.integers(1, L + 1, N) if at is None else np.full(N, L if at == "L" else at)
        x0, z = rng.normal(0.0, 1.5, (N, d)), rng.standard_normal((N, d))
        mu = rng.normal(0.0, 1.0, (N, d))
        cases.append((Schedule(v, rho), l.astype(np.int64), x0, z, mu))
    return cases




def mean_loss_function(fn) -> CheckResult:
    """Section 8.3.1, ``ex-8-3-1-mean-loss``: your function ``fn(schedule, l, x0, z, mu)`` returning each sample's
    summand (N,) of the loss for a reverse-mean prediction (the draft's sigma_l^2), levels ``l`` in 1..L. Slips named:
    the forward variance, no 1/2, the constant kept, unscaled noise, rho for rho^2, the wrong level, a mean over
    coordinates."""
    from .references import ch08_diffusion as refs
    def judge(out, where, sched, l, x0, z, mu):
        args = (sched.v, sched.rho, l, x0, z, mu)
        return compare_array(out, refs.mean_loss(*args), f"the output on {where}", rtol=1e-8, atol=1e-12,
                             hints=refs.mean_loss_slips(*args))

    cases = [(f"test problem {i + 1} (L = {case[0].v.shape[0] - 1}, N = {case[2].shape[0]}, d = {case[2].shape[1]})",
              case) for i, case in enumerate(_loss_cases())]
    return check_function("summand of the diffusion loss for a mean prediction", fn, cases, judge, name="my_mean_loss",
                          signature="(schedule, l, x0, z, mu)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-8-3-chain-marginals": {"same_data": FUNCTION_ANSWER},
    "ex-8-3-1-mean-loss": {"same_data": FUNCTION_ANSWER},
    "ex-8-3-3-noised-score": {"same_data": "the statement spells out the numbers"},
    "ex-8-3-2-reverse-step": {"same_data": FUNCTION_ANSWER},
    "ex-8-3-3-annealed-langevin": {"same_data": FUNCTION_ANSWER},
    "ex-8-3-snr-crossing": {"same_data": FUNCTION_ANSWER},
    "ex-8-3-3-levels": {"same_data": FUNCTION_ANSWER},
}


# --- Sections 8.3.2 and 8.3.3: implementation exercises ---

__all__ += ["reverse_step_function", "annealed_langevin_function"]


def _drawn_schedule(rng, L: int, family: str, kind: str) -> Schedule:
    """A schedule of L steps, log-linear or cosine, VP, VE or with noise scales of its own."""
    lam_max, lam_min = 10.0 ** rng.uniform(1.0, 3.0), 10.0 ** rng.uniform(-2.5, -0.5)
    lam = _snr_curve(lam_max, lam_min, L, family)
    rho = np.sqrt(lam)
    if kind == "vp":
        v = np.sqrt(1.0 / (1.0 + lam))
    elif kind == "ve":
        v = 1.0 / rho
    else:                                         # a signal scale that shrinks faster than DDPM's
        v = np.sort(rng.uniform(0.4, 1.0, size=L + 1))[::-1] / np.sqrt(1.0 + lam)
    return Schedule(v, rho)


def _ddpm_drawn(rng, L: int) -> Schedule:
    """DDPM's kind of schedule: increasing per-step variances, level 0 a little above level 1."""
    betas = np.sort(rng.uniform(0.02, 0.3, size=L))
    abar = np.concatenate([[1.0 - 0.2 * betas[0]], np.cumprod(1.0 - betas)])
    return Schedule(np.sqrt(1.0 - abar), np.sqrt(abar / (1.0 - abar)))


def _reverse_step_cases():
    """Hidden problems (schedule, l, x_l, eps_hat, z): the top level, l = 1, a one-step chain."""
    rng = problem_rng(83201)
    cases = []
    for L, family, kind, pick, N, d in [(12, "log", "vp", "middle", 4, 2), (9, "cos", "free", "top", 3, 3),
                                         (15, "cos", "ve", "bottom", 5, 2), (6, "ddpm", "vp", "second", 1, 1),
                                         (20, "log", "free", "middle", 6, 1), (1, "log", "free", "bottom", 2, 2)]:
        sched = _ddpm_drawn(rng, L) if family == "ddpm" else _drawn_schedule(rng, L, family, kind)
        l = {"top": L, "bottom": 1, "second": 2}.get(pick) or int(rng.integers(2, L))
        x_l = sched.v[l] * rng.normal(0.0, 1.0, size=(N, d)) + sched.v[l] * sched.rho[l] * rng.normal(0.0, 1.5,
                                                                                                    size=(N, d))
        cases.append((sched, l, x_l, rng.normal(0.0, 1.0, size=(N, d)), rng.normal(0.0, 1.0, size=(N, d))))
    return cases




def reverse_step_function(fn) -> CheckResult:
    """Exercise ``ex-8-3-2-reverse-step``: your function ``fn(sched, l, x_l, eps_hat, z)`` returning the ancestral
    sampler's state at level l - 1 (N, d). Slips named: noise or the mean at l = 1, the forward variance, a variance
    for an sd, the prediction as a force, with the wrong sign or without v_l, DDPM's formulas on a schedule that is
    not variance preserving."""
    from .references import ch08_diffusion as refs
    def judge(out, where, sched, l, x, e, z):
        return compare_array(out, refs.reverse_step(sched, l, x, e, z), f"x_(l-1) on {where}", rtol=1e-8, atol=1e-10,
                             hints=refs.reverse_step_slips(sched, l, x, e, z))

    cases = [(f"test problem {i + 1} (L = {sched.L}, l = {l}, N = {x.shape[0]}, d = {x.shape[1]})",
              (sched, int(l), x, e, z)) for i, (sched, l, x, e, z) in enumerate(_reverse_step_cases())]
    return check_function("one step of ancestral sampling", fn, cases, judge, name="my_reverse_step",
                          signature="(sched, l, x_l, eps_hat, z)")


def _mixture_drawn(rng, K: int, d: int) -> tuple:
    """(weights, means, covariances) of a mixture with unequal weights and full covariances."""
    w = rng.dirichlet(np.full(K, 2.0))
    mu = rng.normal(0.0, 1.5, size=(K, d))
    A = rng.normal(0.0, 0.4, size=(K, d, d))
    return w, mu, A @ np.transpose(A, (0, 2, 1)) + 0.1 * np.eye(d)


def _langevin_cases():
    """Hidden problems (mixture, sigmas, y0, eps, Z): one level, one step per level, one chain."""
    rng = problem_rng(83301)
    cases = []
    for d, K, n_levels, n_steps, C in [(2, 2, 5, 3, 4), (1, 3, 4, 2, 6), (3, 2, 1, 4, 2), (2, 1, 3, 1, 1),
                                       (2, 3, 6, 2, 3)]:
        mix = _mixture_drawn(rng, K, d)
        top, bottom = rng.uniform(1.5, 4.0), rng.uniform(0.05, 0.3)
        sigmas = np.geomspace(top, bottom, n_levels) if n_levels > 1 else np.array([rng.uniform(0.3, 1.0)])
        y0 = sigmas[0] * rng.normal(size=(C, d))
        cases.append((mix, sigmas, y0, float(np.round(rng.uniform(0.02, 0.2), 3)),
                      rng.normal(size=(n_levels, n_steps, C, d))))
    return cases




def annealed_langevin_function(fn) -> CheckResult:
    """Exercise ``ex-8-3-3-annealed-langevin``: your function ``fn(eps_hat, sigmas, y0, eps, Z)`` returning the final
    state (C, d) of annealed Langevin dynamics, ``Z[i, t]`` the draw of step t at level i. Slips named: the score's
    sign or power of sigma, a constant or linear step, the slides' step, no noise, restarts from y0, the levels
    reversed, one step per level."""
    from .references import ch08_diffusion as refs
    def judge(out, where, eps_hat, sigmas, y0, eps, Z, mix):
        return compare_array(out, refs.langevin_run(mix, sigmas, y0, eps, Z), f"the final state on {where}", rtol=1e-7,
                             atol=1e-9, hints=refs.langevin_slips(mix, sigmas, y0, eps, Z))

    cases = []
    for i, (mix, sigmas, y0, eps, Z) in enumerate(_langevin_cases()):
        n_levels, n_steps, C, d = Z.shape
        where = (f"test problem {i + 1} ({n_levels} level{'s' if n_levels > 1 else ''}, {n_steps} "
                 f"step{'s' if n_steps > 1 else ''} each, C = {C}, d = {d})")
        cases.append((where, (refs.eps_hat_for(mix, sigmas.copy()), sigmas, y0, eps, Z), mix))
    return check_function("annealed Langevin dynamics from a noise predictor", fn, cases, judge,
                          name="my_annealed_langevin", signature="(eps_hat, sigmas, y0, eps, Z)")
