"""Tests for the Section 8.3 exercise checkers (pedagogy_lib.exercises.ch08_diffusion): references by
Monte Carlo, by iterating one-step transitions, by Gaussian conditioning, by quadrature, by least
squares and by finite differences, each with a typical wrong answer that must fail."""
import numpy as np

from pedagogy_lib.exercises import ch08_diffusion as check


def _shared_noise_conditional(ab, s):
    """Independently: every level as a linear map of (datum, shared noise), the covariance of all eleven
    levels as a matrix product, and level 7 given level 3 by the library's Gaussian conditioning of the
    (x_3, x_7) block (the full covariance has rank 2)."""
    from pedagogy_lib.gaussian.blocks import condition
    A = np.column_stack([np.sqrt(ab), np.sqrt(1 - ab)])
    block = (A @ np.diag([s ** 2, 1.0]) @ A.T)[np.ix_([3, 7], [3, 7])]
    g = condition(np.zeros(2), block, np.array([0]), np.array([1.0]))
    return np.array([g.mu[0], g.Sigma[0, 0]])


def test_transition_with_shared_noise_by_gaussian_conditioning_and_simulation():
    ab, s = check.EX_ALPHA_BAR, check.EX_SHARED_S
    expected = _shared_noise_conditional(ab, s)
    rng = np.random.default_rng(4)                   # regression of x_7 on x_3, 4 standard errors
    n = 400000
    x, z = s * rng.standard_normal(n), rng.standard_normal(n)
    x3, x7 = np.sqrt(ab[3]) * x + np.sqrt(1 - ab[3]) * z, np.sqrt(ab[7]) * x + np.sqrt(1 - ab[7]) * z
    slope = x3 @ x7 / (x3 @ x3)
    assert abs(slope - expected[0]) < 4 * np.sqrt(expected[1] / (x3 @ x3))
    assert abs(np.var(x7 - slope * x3) - expected[1]) < 4 * expected[1] * np.sqrt(2 / n)
    assert check.transition_coefficients(expected)
    assert check.transition_coefficients(list(expected))


def test_transition_with_shared_noise_names_each_slip():
    ab, s = check.EX_ALPHA_BAR, check.EX_SHARED_S
    c, tau2 = _shared_noise_conditional(ab, s)
    # the Markov chain's transition: iterate the one-step transitions from level 3 to level 7
    mean, var = 1.0, 0.0
    for k in range(4, 8):
        a = ab[k] / ab[k - 1]
        mean, var = np.sqrt(a) * mean, a * var + (1 - a)
    A = np.column_stack([np.sqrt(ab), np.sqrt(1 - ab)])
    full = A @ np.diag([s ** 2, 1.0]) @ A.T
    indep = np.diag([s ** 2, 1.0, 1.0])               # (datum, noise at 3, noise at 7)
    M = np.array([[np.sqrt(ab[3]), np.sqrt(1 - ab[3]), 0.0], [np.sqrt(ab[7]), 0.0, np.sqrt(1 - ab[7])]])
    ci = M @ indep @ M.T
    for wrong, fragment in [([mean, var], "Markov chain"),
                            ([np.sqrt((1 - ab[7]) / (1 - ab[3])), 0.0], "datum fixed"),
                            (_shared_noise_conditional(ab, 1.0), "unit variance"),
                            (_shared_noise_conditional(ab, np.sqrt(s)), "as a variance"),
                            ([ci[0, 1] / ci[0, 0], ci[1, 1] - ci[0, 1] ** 2 / ci[0, 0]], "noise draw of its own"),
                            ([full[3, 7] / full[7, 7], full[3, 3] - full[3, 7] ** 2 / full[7, 7]],
                             "level 3 on level 7"),
                            ([c, np.sqrt(tau2)], "standard deviation"),
                            ([c, full[7, 7]], "before conditioning"),
                            ([c, tau2 * 1.001], "not within tolerance")]:
        r = check.transition_coefficients(wrong)
        assert not r and fragment in str(r), str(r)
    assert not check.transition_coefficients(None)
    assert not check.transition_coefficients([c, tau2, 0.0])
    msg = str(check.transition_coefficients([mean, var]))  # the page's old answer: named, not revealed
    assert not re.search(r"[0-9]\.[0-9]{3}", msg), msg


def test_transition_problems_drawn_for_students_are_graded_by_their_own_answer():
    from courseware import grading as G

    for salt in range(4):
        fresh = G.own_copy(check, salt)
        ab, s = np.asarray(fresh.EX_ALPHA_BAR), float(fresh.EX_SHARED_S)
        assert 0.3 <= s <= 2.0 and abs(s - 1) >= 0.2 and np.all(np.diff(ab) < 0)
        assert fresh.transition_coefficients(_shared_noise_conditional(ab, s))
        assert not fresh.transition_coefficients(_shared_noise_conditional(ab, 1.0))


def _ve_variances_by_moments(b):
    """Independently: the DDPM chain from a fixed datum, its variances and the covariance of neighbouring
    levels iterated exactly, then the variance of the increment of the rescaled levels x_l / sqrt(abar_l)."""
    abar, var, out = 1.0, 0.0, []
    for bb in b:
        cov = np.sqrt(1 - bb) * var                  # Cov(x_l, x_(l-1))
        new_var = (1 - bb) * var + bb
        new_abar = abar * (1 - bb)
        out.append(new_var / new_abar + var / abar - 2 * cov / np.sqrt(new_abar * abar))
        abar, var = new_abar, new_var
    return np.array(out)


def test_ve_step_variances():
    b = check.EX_DDPM_BETAS
    g2 = _ve_variances_by_moments(b)
    rng = np.random.default_rng(0)                   # and by simulation, 4 standard errors
    x, y_prev, abar = np.zeros(200000), np.zeros(200000), 1.0
    for bb, g in zip(b, g2):
        x = np.sqrt(1 - bb) * x + np.sqrt(bb) * rng.standard_normal(x.size)
        abar *= 1 - bb
        inc = x / np.sqrt(abar) - y_prev
        assert abs(inc.var() - g) < 4 * g * np.sqrt(2 / x.size)
        y_prev = x / np.sqrt(abar)
    assert check.ve_step_variances(g2)
    abar = np.cumprod(1 - b)
    prev = np.concatenate([[1.0], abar[:-1]])
    sig = np.sqrt((1 - abar) / abar)
    for wrong, fragment in [(b, "unchanged"), (np.sqrt(1 - b), "before rescaling"),
                            (b / (1 - b), "its own alpha"), ((1 - abar) / abar, "total noise variance"),
                            (b / prev, "starts from"),
                            (np.diff(np.concatenate([[0.0], sig])) ** 2, "standard deviations"),
                            (g2 * [1, 1, 1, 1.01], "not within tolerance")]:
        r = check.ve_step_variances(wrong)
        assert not r and fragment in str(r), str(r)
    assert not check.ve_step_variances(np.sqrt(1 - b))      # the page's old answer
    assert not check.ve_step_variances(None)


def _crossing_by_building_the_schedule(lo, hi, L):
    """Build the schedule level by level and compare with 1, allowing for rounding at a tie."""
    lam = hi * (lo / hi) ** (np.arange(L + 1) / L)
    return int(np.argmax(lam < 1 - 1e-9))


def test_snr_crossing():
    """A function that builds the schedule and compares with a tolerance passes; the naive comparison
    fails on a schedule with a level on SNR 1 and is told about the tie; off-by-one and strings fail."""
    assert check.snr_crossing(_crossing_by_building_the_schedule)

    def naive(lo, hi, L):                         # counts a level on SNR 1 as below it
        lam = hi * (lo / hi) ** (np.arange(L + 1) / L)
        return int(np.argmax(lam <= 1))
    r = check.snr_crossing(naive)
    assert not r and "exactly on SNR 1" in str(r)
    r = check.snr_crossing(lambda lo, hi, L: _crossing_by_building_the_schedule(lo, hi, L) + 1)
    assert not r and "solve for" in str(r)
    assert not check.snr_crossing(lambda lo, hi, L: str(_crossing_by_building_the_schedule(lo, hi, L)))
    assert not check.snr_crossing(12)


def _crossing_in_high_precision(lo, hi, L):
    """Oracle: log lambda_l = ((L - l) log lam_max + l log lam_min) / L in 60-digit decimal arithmetic, below
    log(1 - 1e-9) (a level on SNR 1 comes out within 1e-55 of 0, a near miss at least 1e-8 below it)."""
    import decimal
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        a, b = decimal.Decimal(repr(hi)).ln(), decimal.Decimal(repr(lo)).ln()
        cut = (1 - decimal.Decimal("1e-9")).ln()
        return next(l for l in range(L + 1) if ((L - l) * a + l * b) / L < cut)


def test_snr_crossing_ties_and_near_misses():
    """The checker agrees with a high-precision oracle on every case. Each common float form with no
    tolerance fails on a level that sits on SNR 1 (the reader's schedules: (1e-5, 1e3, 8) has it at
    l = 3, (0.1, 1e4, 5) at l = 4, (1e-4, 10, 5) at l = 1), and tolerances far looser than the
    statement's relative 1e-9 fail on a level just below SNR 1."""
    import math
    assert check.snr_crossing(_crossing_in_high_precision)
    assert [_crossing_in_high_precision(*c) for c in [(1e-5, 1e3, 8), (0.1, 1e4, 5), (1e-4, 10.0, 5)]] == [4, 5, 2]
    assert _crossing_in_high_precision(math.exp(-1.001), math.e, 2) == 1

    def first(below):
        return lambda lo, hi, L: next(l for l in range(L + 1) if below(lo, hi, L, l))
    no_tolerance = [
        first(lambda lo, hi, L, l: math.log(hi) + (math.log(lo) - math.log(hi)) * l / L < 0),
        first(lambda lo, hi, L, l: math.exp(math.log(hi) + (math.log(lo) - math.log(hi)) * l / L) < 1),
        first(lambda lo, hi, L, l: (1 - l / L) * math.log(hi) + (l / L) * math.log(lo) < 0),
        first(lambda lo, hi, L, l: hi * (lo / hi) ** (l / L) < 1),
        first(lambda lo, hi, L, l: hi ** (1 - l / L) * lo ** (l / L) < 1),
        first(lambda lo, hi, L, l: math.log(hi) - l / L * math.log(hi / lo) < 0),
        lambda lo, hi, L: int(np.floor(L * np.log(hi) / (np.log(hi) - np.log(lo)))) + 1,
        lambda lo, hi, L: int(np.floor(L * np.log(hi) / np.log(hi / lo))) + 1,
        lambda lo, hi, L: int(np.floor(L * np.log10(hi) / (np.log10(hi) - np.log10(lo)))) + 1,
        lambda lo, hi, L: int(np.argmax(np.linspace(np.log(hi), np.log(lo), L + 1) < 0)),
        lambda lo, hi, L: int(np.argmax(np.logspace(np.log10(hi), np.log10(lo), L + 1) < 1)),
        lambda lo, hi, L: int(np.argmax(np.linspace(np.log10(hi), np.log10(lo), L + 1) < 0))]
    for fn in no_tolerance:
        r = check.snr_crossing(fn)
        assert not r and "exactly on SNR 1" in str(r), str(r)
    too_loose = [
        first(lambda lo, hi, L, l: math.log(hi) + (math.log(lo) - math.log(hi)) * l / L < -1e-3),
        first(lambda lo, hi, L, l: math.log(hi) + (math.log(lo) - math.log(hi)) * l / L < -1e-7),
        lambda lo, hi, L: int(np.floor(L * np.log(hi) / (np.log(hi) - np.log(lo)) * (1 + 1e-6))) + 1,
        first(lambda lo, hi, L, l: hi * (lo / hi) ** (l / L) < 1 - 1e-4)]
    for fn in too_loose:
        r = check.snr_crossing(fn)
        assert not r and "far more than 1e-9" in str(r), str(r)


def test_posterior_variance_by_gaussian_conditioning():
    """The datum N(0, s^2) integrated out: condition the joint Gaussian of (x_4, x_5)."""
    from pedagogy_lib.gaussian.blocks import condition
    ab, s2 = check.EX_ALPHA_BAR, check.EX_REVERSE_S ** 2
    v4 = ab[4] * s2 + 1 - ab[4]                  # Var x_4 (VP: scale^2 s^2 + noise variance)
    a = ab[5] / ab[4]                            # x_5 = sqrt(a) x_4 + sqrt(1 - a) z
    cov = np.array([[v4, np.sqrt(a) * v4], [np.sqrt(a) * v4, a * v4 + 1 - a]])
    g = condition(np.zeros(2), cov, np.array([1]), np.array([0.3]))
    assert check.posterior_variance(g.Sigma[0, 0])
    # the datum known: condition the three-dimensional Gaussian of (x_4, x_5, x) on x_5 and x
    S = np.array([[v4, np.sqrt(a) * v4, np.sqrt(ab[4]) * s2],
                  [np.sqrt(a) * v4, a * v4 + 1 - a, np.sqrt(ab[5]) * s2],
                  [np.sqrt(ab[4]) * s2, np.sqrt(ab[5]) * s2, s2]])
    known = condition(np.zeros(3), S, np.array([1, 2]), np.array([0.3, 0.1])).Sigma[0, 0]
    r = check.posterior_variance(known)
    assert not r and "datum is known" in str(r)
    r = check.posterior_variance(1 - a)
    assert not r and "forward" in str(r)
    coef2 = (g.Sigma[0, 0] - known) / (1 / (1 / s2 + ab[5] / (1 - ab[5])))
    r = check.posterior_variance(known + coef2 * s2)
    assert not r and "prior variance" in str(r)
    r = check.posterior_variance(known + np.sqrt(coef2) / (1 / s2 + ab[5] / (1 - ab[5])))
    assert not r and "only once" in str(r)
    assert not check.posterior_variance(g.Sigma[0, 0] * 1.001)


def test_langevin_variance_by_iterating_the_variance_recursion():
    s2, eps = check.EX_LANGEVIN
    v = 0.0
    for _ in range(5000):                      # x' = (1 - eps / s2) x + sqrt(2 eps) z
        v = (1 - eps / s2) ** 2 * v + 2 * eps
    assert check.langevin_variance(v)
    r = check.langevin_variance(s2)
    assert not r and "biased" in str(r)


def test_langevin_variance_names_the_half_step_in_the_statement_s_terms():
    """The statement writes Eq. 8.44 out and has no slides' alpha: the hint for a chain that takes half the step
    speaks of that update."""
    s2, eps = check.EX_LANGEVIN
    v = 0.0
    for _ in range(5000):                      # x' = (1 - eps / (2 s2)) x + sqrt(eps) z
        v = (1 - eps / (2 * s2)) ** 2 * v + eps
    msg = str(check.langevin_variance(v))
    assert "half the step of Eq. 8.44" in msg and "slides" not in msg and "alpha" not in msg


def _two_point_log_density(p, y):
    c = p["v"] * p["rho"] * p["atoms"]
    return np.log(np.sum(p["w"] * np.exp(-0.5 * np.sum((y - c) ** 2, axis=1) / p["v"] ** 2)))


def test_tweedie_force_by_finite_differences_of_the_noised_density():
    p = check.EX_TWEEDIE
    h = 1e-6
    fd = np.array([(_two_point_log_density(p, p["x"] + h * e) - _two_point_log_density(p, p["x"] - h * e))
                   / (2 * h) for e in np.eye(2)])
    assert check.tweedie_force(fd)
    v, rho, atoms, x = p["v"], p["rho"], p["atoms"], p["x"]

    def force_with(w, centres, var, scale=v * rho, power=2):
        logr = np.log(w) - 0.5 * np.sum((x - centres) ** 2, axis=1) / var
        r = np.exp(logr - logr.max())
        return (scale * (r / r.sum()) @ atoms - x) / v ** power
    c = v * rho * atoms
    nearest = atoms[np.argmin(np.sum((x - c) ** 2, axis=1))]
    for wrong, fragment in [(force_with([0.5, 0.5], c, v ** 2), "probabilities w"),
                            ((v * rho * p["w"] @ atoms - x) / v ** 2, "prior mean"),
                            ((v * rho * nearest - x) / v ** 2, "nearest atom"),
                            (force_with(p["w"], atoms, v ** 2), "atoms themselves"),
                            (force_with(p["w"], c, 1.0), "noise variance"),
                            (force_with(p["w"], c, v ** 2, scale=1.0), "scale v rho"),
                            (fd * v, "v^2"),
                            (fd * [1, 1.01], "not within tolerance")]:
        r = check.tweedie_force(wrong)
        assert not r and fragment in str(r), str(r)


def test_gaussian_limit_by_quadrature():
    """Two-dimensional data with a mean and unequal variances (the page's formula is for N(0, s0^2 I)): the
    optimal MSE as the trace of the posterior covariance by Gaussian conditioning, integrated by quadrature."""
    from scipy.integrate import quad

    from pedagogy_lib.gaussian.blocks import condition
    lo, hi = check.EX_LAM_RANGE
    m, s = check.EX_GAUSS2["m"], check.EX_GAUSS2["s"]

    def mse(lam):                                 # observe x + z / sqrt(lam) with x ~ N(m, diag(s^2))
        S = np.diag(s ** 2)
        joint = np.block([[S, S], [S, S + np.eye(2) / lam]])
        g = condition(np.concatenate([m, m]), joint, np.array([2, 3]), m + 0.3)
        return np.trace(g.Sigma)
    val = 0.5 * quad(mse, lo, hi, epsabs=1e-12, epsrel=1e-10, limit=200)[0]
    assert check.gaussian_limit(val)
    r = check.gaussian_limit(-val)
    assert not r and "dh/du" in str(r)
    p0 = 1 / check.EX_S0 ** 2                     # the page's one-dimensional answer is not this one
    assert not check.gaussian_limit(0.5 * np.log((p0 + hi) / (p0 + lo)))
    p = 1 / (s ** 2 + m ** 2)
    r = check.gaussian_limit(0.5 * np.sum(np.log((p + hi) / (p + lo))))
    assert not r and "mean" in str(r)


def test_step_weight_for_a_velocity_prediction():
    """Independently: on random draws, the clean-data summand w_5 |x - m_hat|^2 over |nu - nu_hat|^2, with
    m_hat obtained by solving the linear map (x, z) -> (x_l, nu) numerically."""
    lam = check.EX_LAM
    v, rho = 1 / np.sqrt(1 + lam), np.sqrt(lam)
    w5 = (lam[4] - lam[5]) / 2
    M = np.array([[v[5] * rho[5], v[5]], [-v[5], v[5] * rho[5]]])    # (x, z) -> (x_l, nu)
    rng = np.random.default_rng(3)
    ratios = []
    for _ in range(5):
        x, z, nu_hat = rng.normal(size=(3, 4))
        x_l, nu = M @ np.vstack([x, z])
        m_hat = np.linalg.solve(M, np.vstack([x_l, nu_hat]))[0]
        ratios.append(w5 * np.sum((x - m_hat) ** 2) / np.sum((nu - nu_hat) ** 2))
    assert np.ptp(ratios) < 1e-9 * ratios[0]
    assert check.step_weight(ratios[0])
    for wrong, fragment in [(w5, "clean-data"), (w5 / lam[5], "noise loss"), (w5 * (1 + lam[5]), "upside down"),
                            (w5 * lam[5] / (1 + lam[5]), "signal's scale"), (w5 / (1 + lam[4]), "level 4"),
                            (2 * ratios[0], "1/2"), (ratios[0] * 1.001, "not within tolerance")]:
        r = check.step_weight(wrong)
        assert not r and fragment in str(r), str(r)


def test_mse_at_level_for_two_point_data():
    """Independently: the posterior variance a^2 sech^2(a lam y) averaged over the density of the noisy
    observation y on a fine grid (Simpson), and a Monte Carlo check within 4 standard errors."""
    from scipy.integrate import simpson
    a, lam = check.EX_TWO_POINT, 4.0
    y = np.linspace(-a - 12 / np.sqrt(lam), a + 12 / np.sqrt(lam), 200001)
    dens = 0.5 * np.sqrt(lam / (2 * np.pi)) * (np.exp(-lam * (y - a) ** 2 / 2) + np.exp(-lam * (y + a) ** 2 / 2))
    mse = simpson(dens * a ** 2 / np.cosh(a * lam * y) ** 2, x=y)
    rng = np.random.default_rng(1)
    n = 400000
    x = a * rng.choice([-1.0, 1.0], n)
    yy = x + rng.standard_normal(n) / np.sqrt(lam)
    err = (x - a * np.tanh(a * lam * yy)) ** 2
    assert abs(err.mean() - mse) < 4 * err.std() / np.sqrt(n)
    assert check.mse_at_level(mse)
    for wrong, fragment in [(1 / (1 / a ** 2 + lam), "Gaussian data"), (a ** 2, "prior variance"),
                            (1 / lam, "noise variance"), (a ** 2 / np.cosh(a * a * lam) ** 2, "one observation"),
                            (mse * 1.001, "not within tolerance")]:
        r = check.mse_at_level(wrong)
        assert not r and fragment in str(r), str(r)


def test_dsm_slope_by_least_squares():
    rng = np.random.default_rng(2)
    m, s, sig = check.EX_DSM
    n = 400000
    x = rng.normal(m, s, n)
    xt = x + rng.normal(0, sig, n)
    a, b = np.polyfit(xt, -(xt - x) / sig ** 2, 1)
    assert abs(a + 1 / (s ** 2 + sig ** 2)) < 0.03 * abs(a)
    assert check.dsm_slope([-1 / (s ** 2 + sig ** 2), m / (s ** 2 + sig ** 2)])
    r = check.dsm_slope([-1 / s ** 2, m / s ** 2])
    assert not r and "clean data" in str(r)


def _levels_with_tolerance(hi, lo, r):
    sig, n = hi, 1
    while sig > lo * (1 + 1e-9):
        sig, n = sig * r, n + 1
    return n


def test_n_levels_function():
    """A counting loop with a tolerance passes; the ceiling of the log ratio and the loop without a
    tolerance both miss a ladder that lands exactly on sigma_min; strings and off-by-one counts fail."""
    assert check.n_levels(_levels_with_tolerance)
    r = check.n_levels(lambda hi, lo, ratio: int(np.ceil(np.log(lo / hi) / np.log(ratio))) + 1)
    assert not r and "lands exactly" in str(r)

    def loop_without_tolerance(hi, lo, ratio):
        sig, n = hi, 1
        while sig > lo:
            sig, n = sig * ratio, n + 1
        return n
    r = check.n_levels(loop_without_tolerance)
    assert not r and "tolerance" in str(r)
    r = check.n_levels(lambda hi, lo, ratio: _levels_with_tolerance(hi, lo, ratio) - 1)
    assert not r and "both ends" in str(r)
    assert not check.n_levels(lambda hi, lo, ratio: str(_levels_with_tolerance(hi, lo, ratio)))
    assert not check.n_levels(11)


def _levels_in_high_precision(hi, lo, r):
    """Oracle: multiply down the ladder in 60-digit decimal arithmetic (exact on these inputs) and stop at
    the first level within a relative 1e-9 of sigma_min or below it."""
    import decimal
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        s, floor, ratio, n = (decimal.Decimal(repr(hi)), decimal.Decimal(repr(lo)) * (1 + decimal.Decimal("1e-9")),
                              decimal.Decimal(repr(r)), 1)
        while s > floor:
            s, n = s * ratio, n + 1
        return n


def test_n_levels_near_misses():
    """The checker agrees with a high-precision oracle on every ladder. Tolerances far looser than the
    statement's relative 1e-9 fail on a ladder with a level just above sigma_min (the reader's ladders:
    (1, 0.9999e-6, 0.1) has 8 levels, where an absolute 1e-9 gives 7; (1, 0.9995e-2, 0.1) has 4, where
    a relative 1e-3 gives 3), and are told about the near miss."""
    assert check.n_levels(_levels_in_high_precision)
    assert _levels_in_high_precision(1.0, 0.9999e-6, 0.1) == 8
    assert _levels_in_high_precision(1.0, 0.9995e-2, 0.1) == 4

    def loop(stop):
        def count(hi, lo, ratio):
            sig, n = hi, 1
            while sig > stop(lo):
                sig, n = sig * ratio, n + 1
            return n
        return count
    too_loose = [loop(lambda lo: lo + 1e-9), loop(lambda lo: lo * (1 + 1e-3)), loop(lambda lo: lo * (1 + 1e-5)),
                 loop(lambda lo: lo * (1 + 1e-6)),
                 lambda hi, lo, ratio: max(int(np.ceil(np.log(lo / hi) / np.log(ratio) - 1e-6)), 0) + 1]
    for fn in too_loose:
        r = check.n_levels(fn)
        assert not r and "more than 1e-9" in str(r), str(r)


def test_n_levels_tolerance_is_on_sigma_not_on_the_log_ratio():
    """The statement's tolerance is a relative 1e-9 on sigma. An allowance of 1e-9 max(1, |k|) on
    k = log(sigma_min / sigma_1) / log r is about 1e-9 |k log r| on sigma: on (1, 9.99999995e-21, 0.1),
    whose level 1e-20 lies 5e-9 above sigma_min, it counts 21 levels where the statement has 22. The
    checker turns it down and says why; the loop of the published solution passes."""
    assert _levels_in_high_precision(1.0, 9.99999995e-21, 0.1) == 22

    def on_the_log_ratio(hi, lo, ratio):
        k = np.log(lo / hi) / np.log(ratio)
        return max(int(np.ceil(k - 1e-9 * max(1.0, abs(k)))), 0) + 1
    assert on_the_log_ratio(1.0, 9.99999995e-21, 0.1) == 21
    r = check.n_levels(on_the_log_ratio)
    assert not r and "more than 1e-9" in str(r) and "ratio of logarithms" in str(r), str(r)

    def published(sigma_1, sigma_min, r):
        floor = sigma_min * (1 + 1e-9)
        n, sig = 1, sigma_1
        while sig > floor:
            sig, n = sig * r, n + 1
        return n
    assert check.n_levels(published)

    def inside_the_logarithm(hi, lo, ratio):
        return max(int(np.ceil(np.log(lo * (1 + 1e-9) / hi) / np.log(ratio))), 0) + 1
    assert check.n_levels(inside_the_logarithm)


def test_noised_score_by_finite_differences():
    def logp(x):
        v = 0.5
        return np.log(np.exp(-(x + 1) ** 2 / (2 * v)) + np.exp(-(x - 1) ** 2 / (2 * v)))
    h = 1e-6
    fd = (logp(0.5 + h) - logp(0.5 - h)) / (2 * h)
    assert check.noised_score(fd)
    r = check.noised_score((1 - 0.5) / 0.5)
    assert not r and "nearest" in str(r)


# --- Sections 8.3 and 8.3.1: implementation exercises ---
import re  # noqa: E402

import pytest  # noqa: E402

from pedagogy_lib import diffusion as dif  # noqa: E402


def _chain_solution(B, Gamma, s0, v0):
    """The notebook's solution: the mean matrix and the covariance pushed through each step."""
    L, d, _ = B.shape
    S, C = np.empty((L + 1, d, d)), np.empty((L + 1, d, d))
    S[0], C[0] = s0 * np.eye(d), v0 ** 2 * np.eye(d)
    for l in range(1, L + 1):
        S[l] = B[l - 1] @ S[l - 1]
        C[l] = B[l - 1] @ C[l - 1] @ B[l - 1].T + Gamma[l - 1]
    return S, C


def _chain_closed_form(B, Gamma, s0, v0):
    """Independently: x_l is linear in the datum, level 0's noise and every step's noise, so its covariance is
    the sum over the noise sources of P C P^T, P the product of all the later steps."""
    L, d, _ = B.shape

    def later(l, k):                            # B_l ... B_(k+1)
        P = np.eye(d)
        for j in range(k, l):
            P = B[j] @ P
        return P
    S = np.array([s0 * later(l, 0) for l in range(L + 1)])
    C = np.array([v0 ** 2 * later(l, 0) @ later(l, 0).T
                  + sum((later(l, k) @ Gamma[k - 1] @ later(l, k).T for k in range(1, l + 1)), np.zeros((d, d)))
                  for l in range(L + 1)])
    return S, C


def test_chain_marginals_function_accepts_the_solution_and_agrees_with_the_library():
    assert check.chain_marginals_function(_chain_solution)
    assert check.chain_marginals_function(_chain_closed_form)
    assert check.chain_marginals_function(lambda *a: list(_chain_solution(*a)))
    # with B_l = beta_l I and Gamma_l = gamma_l^2 I the solution gives back the library's scalar chain
    for sched in (dif.make_schedule(15, "cosine"), dif.make_schedule(7, "log_snr", kind="ve")):
        beta, gamma2 = dif.consecutive_transitions(sched)
        S, C = _chain_solution(beta[:, None, None] * np.eye(2), gamma2[:, None, None] * np.eye(2), sched.scale[0],
                               sched.v[0])
        np.testing.assert_allclose(S[:, 0, 0], sched.scale, rtol=1e-10)
        np.testing.assert_allclose(C[:, 1, 1], sched.v ** 2, rtol=1e-10)
        np.testing.assert_allclose(C[:, 0, 1], 0.0, atol=1e-14)


def test_chain_marginals_by_simulation():
    """A blurring chain simulated: the sample covariance of the last level within 4 standard errors."""
    rng = np.random.default_rng(5)
    B = np.array([[[0.9, 0.1], [0.0, 0.95]], [[0.8, 0.0], [0.3, 0.9]], [[1.0, -0.2], [0.1, 0.7]]])
    G = np.array([[[0.05, 0.02], [0.02, 0.04]], [[0.1, 0.0], [0.0, 0.02]], [[0.03, -0.01], [-0.01, 0.06]]])
    n, x = 200000, np.array([1.0, -2.0])
    y = 0.9 * x + 0.2 * rng.standard_normal((n, 2))
    for b, g in zip(B, G):
        y = y @ b.T + rng.standard_normal((n, 2)) @ np.linalg.cholesky(g).T
    S, C = _chain_solution(B, G, 0.9, 0.2)
    np.testing.assert_allclose(y.mean(0), S[-1] @ x, atol=4 * np.sqrt(C[-1].diagonal().max() / n))
    emp = np.cov(y.T)
    assert np.all(np.abs(emp - C[-1]) < 4 * np.sqrt((C[-1] ** 2 + np.outer(C[-1].diagonal(), C[-1].diagonal())) / n))


def _chain_slip(clean=False, no_v0=False, v0_unsquared=False, order=False, var_step=None, added=False):
    def fn(B, Gamma, s0, v0):
        L, d, _ = B.shape
        s0, v0 = (1.0, 0.0) if clean else (s0, 0.0 if no_v0 else v0)
        S, C = [s0 * np.eye(d)], [(v0 if v0_unsquared else v0 ** 2) * np.eye(d)]
        for b, g in zip(B, Gamma):
            S.append(S[-1] @ b if order else b @ S[-1])
            C.append((C[0] if added else (var_step or (lambda b, C: b @ C @ b.T))(b, C[-1])) + g
                     if not added else C[-1] + g)
        return np.array(S), np.array(C)
    return fn


@pytest.mark.parametrize("wrong,fragment", [
    (_chain_slip(clean=True), "clean datum"),
    (_chain_slip(no_v0=True), "level 0's noise v0"),
    (_chain_slip(v0_unsquared=True), "v0 is a standard deviation"),
    (_chain_slip(order=True), "wrong order"),
    (_chain_slip(var_step=lambda b, C: b.T @ C @ b), "B^T on the left"),
    (_chain_slip(var_step=lambda b, C: b @ C @ b), "without transposing"),
    (_chain_slip(var_step=lambda b, C: b @ C), "once only"),
    (_chain_slip(var_step=lambda b, C: (b ** 2) @ C), "entry by entry"),
    (_chain_slip(added=True), "added the one-step covariances up"),
    (lambda B, G, s0, v0: None, "forget to return"),
    (lambda B, G, s0, v0: B[len(B)], "raised IndexError"),
    (lambda B, G, s0, v0: _chain_solution(B, G, s0, v0)[1], "should return the pair"),
])
def test_chain_marginals_function_names_the_slips(wrong, fragment):
    res = check.chain_marginals_function(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_chain_marginals_function_reaches_the_single_step_and_reveals_no_answer():
    assert "should be a function" in str(check.chain_marginals_function(np.ones(3)))
    msg = str(check.chain_marginals_function(lambda *a: (_chain_solution(*a)[0] * 1.001, _chain_solution(*a)[1])))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg), msg
    # right except on the single step (problem 3) or on the one-dimensional chain (problem 4)
    msg = str(check.chain_marginals_function(lambda *a: (a[0] * 0 + 1.0, None) if len(a[0]) == 1
                                             else _chain_solution(*a)))
    assert "test problem 3 (L = 1, d = 2)" in msg, msg
    msg = str(check.chain_marginals_function(lambda *a: _chain_solution(*a) if a[0].shape[1] > 1
                                             else (_chain_solution(*a)[0], 2 * _chain_solution(*a)[1])))
    assert "test problem 4 (L = 6, d = 1)" in msg, msg
    # the page's scalar composition, applied to the diagonals, is no shortcut
    assert not check.chain_marginals_function(
        lambda B, G, s0, v0: _chain_solution(np.einsum("lii->li", B)[..., None] * np.eye(B.shape[1]),
                                             np.einsum("lii->li", G)[..., None] * np.eye(B.shape[1]), s0, v0))


def _mean_loss_solution(schedule, l, x0, z, mu):
    """The notebook's solution: x_l by Eq. 8.43, the mean and variance of Eq. 8.38 at (l - 1, l)."""
    v, rho = schedule.v, schedule.rho
    lam = rho ** 2
    vl, rl = v[l][:, None], rho[l][:, None]
    vp, rp = v[l - 1][:, None], rho[l - 1][:, None]
    dlam = (lam[l - 1] - lam[l])[:, None]
    x_l = vl * (rl * x0 + z)
    mu_bar = vp / rp * (dlam * x0 + rl / vl * x_l)
    s2 = (vp ** 2 * dlam / rp ** 2)[:, 0]
    return np.sum((mu_bar - mu) ** 2, axis=1) / (2 * s2)


def _mean_loss_by_conditioning(schedule, l, x0, z, mu):
    """Independently of Eq. 8.38: condition the joint Gaussian of (x_(l-1), x_l) given the datum, one
    coordinate at a time, with the library's Gaussian blocks."""
    from pedagogy_lib.gaussian.blocks import condition
    v, rho = schedule.v, schedule.rho
    out = np.empty(x0.shape[0])
    for n, k in enumerate(l):
        a_p, a_l = v[k - 1] * rho[k - 1], v[k] * rho[k]
        b = a_l / a_p
        cov = np.array([[v[k - 1] ** 2, b * v[k - 1] ** 2], [b * v[k - 1] ** 2, v[k] ** 2]])
        x_l = a_l * x0[n] + v[k] * z[n]
        total, s2 = 0.0, None
        for j in range(x0.shape[1]):
            g = condition(np.array([a_p * x0[n, j], a_l * x0[n, j]]), cov, np.array([1]), np.array([x_l[j]]))
            total += (g.mu[0] - mu[n, j]) ** 2
            s2 = g.Sigma[0, 0]
        out[n] = total / (2 * s2)
    return out


def test_mean_loss_function_accepts_the_solution_and_the_library():
    assert check.mean_loss_function(_mean_loss_solution)
    assert check.mean_loss_function(_mean_loss_by_conditioning)
    assert check.mean_loss_function(lambda s, l, x0, z, mu: dif.loss_terms(s, l, x0, z, mu, "mean"))


def _mean_loss_slip(forward=False, half=True, trace=False, unscaled=False, rho=False, level=False, average=False):
    def fn(schedule, l, x0, z, mu):
        v, r = schedule.v, schedule.rho
        lam = r if rho else r ** 2
        k = l if level else l - 1
        x_l = v[l][:, None] * r[l][:, None] * x0 + (z if unscaled else v[l][:, None] * z)
        dlam = (lam[l - 1] - lam[l])[:, None]
        mu_bar = (v[k] / r[k])[:, None] * (dlam * x0 + (r[l] / v[l])[:, None] * x_l)
        s2 = v[l] ** 2 * (1 - r[l] ** 2 / r[l - 1] ** 2) if forward else v[k] ** 2 * dlam[:, 0] / r[k] ** 2
        sq = np.mean((mu_bar - mu) ** 2, axis=1) if average else np.sum((mu_bar - mu) ** 2, axis=1)
        return sq / ((2 if half else 1) * s2) + (0.5 * x0.shape[1] if trace else 0.0)
    return fn


@pytest.mark.parametrize("wrong,fragment", [
    (_mean_loss_slip(forward=True), "forward step's variance"),
    (_mean_loss_slip(half=False), "dropped the 1/2"),
    (_mean_loss_slip(trace=True), "trace term"),
    (_mean_loss_slip(unscaled=True), "has v_l z"),
    (_mean_loss_slip(rho=True), "rho where Eq. 8.38 has rho^2"),
    (_mean_loss_slip(level=True), "level l's v and rho"),
    (_mean_loss_slip(average=True), "averaged the squared error"),
    (lambda s, l, x0, z, mu: None, "forget to return"),
    (lambda s, l, x0, z, mu: s.sigma, "raised AttributeError"),
    (lambda s, l, x0, z, mu: _mean_loss_solution(s, l, x0, z, mu).sum(), "should have shape"),
])
def test_mean_loss_function_names_the_slips(wrong, fragment):
    res = check.mean_loss_function(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_mean_loss_function_reaches_the_edge_problems_and_reveals_no_answer():
    assert "should be a function" in str(check.mean_loss_function([1.0]))
    msg = str(check.mean_loss_function(lambda *a: _mean_loss_solution(*a) * 1.001 + 0.01))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg), msg
    # right except on a single sample (problem 2, at the last level) or at level 1 (problem 3)
    msg = str(check.mean_loss_function(lambda s, l, x0, z, mu: _mean_loss_solution(s, l, x0, z, mu)
                                       + (x0.shape[0] == 1)))
    assert "test problem 2 (L = 6, N = 1, d = 3)" in msg, msg
    msg = str(check.mean_loss_function(lambda s, l, x0, z, mu: _mean_loss_solution(s, l, x0, z, mu)
                                       + np.all(l == 1)))
    assert "test problem 3 (L = 5, N = 4, d = 1)" in msg, msg
# --- Sections 8.3.2 and 8.3.3: implementation exercises ---


def _reverse_step_solution(sched, l, x_l, eps_hat, z):
    """The notebook's solution: m_hat from the noise prediction, then the mean and variance of Step 1."""
    v, rho = sched.v, sched.rho
    m_hat = (x_l / v[l] - eps_hat) / rho[l]
    if l == 1:
        return m_hat
    dlam = rho[l - 1] ** 2 - rho[l] ** 2
    mu = v[l - 1] / rho[l - 1] * (dlam * m_hat + rho[l] / v[l] * x_l)
    return mu + v[l - 1] * np.sqrt(dlam) / rho[l - 1] * z


def _reverse_step_library(sched, l, x_l, eps_hat, z):
    m_hat = dif.m_hat_from_force(sched, l, x_l, dif.force_from_eps(sched, l, eps_hat))
    if l == 1:
        return m_hat
    return dif.mean_from_m_hat(sched, l, x_l, m_hat) + np.sqrt(dif.reverse_variances(sched)[l - 1]) * z


def _slip(checker, fn):
    r = checker(fn)
    assert not r
    return str(r)


def test_reverse_step_function_accepts_the_solution_and_the_library():
    assert check.reverse_step_function(_reverse_step_solution)
    assert check.reverse_step_function(_reverse_step_library)


def test_reverse_step_solution_run_as_a_loop_is_the_library_sampler():
    sched = dif.make_schedule(8, "cosine", lam_min=1e-2, lam_max=1e2)
    mu = np.array([[1.0, -0.5], [-1.0, 0.5]])

    def eps_of(x, l):                                   # any noise predictor will do
        return np.tanh(x + mu[l % 2])

    def m_hat(x, l):
        return dif.m_hat_from_force(sched, l, x, dif.force_from_eps(sched, l, eps_of(x, l)))

    Z = np.random.default_rng(3).standard_normal((sched.L + 1, 5, 2))
    x = sched.v[-1] * Z[-1]
    for l in range(sched.L, 0, -1):
        x = _reverse_step_solution(sched, l, x, eps_of(x, l), Z[l - 1])
    np.testing.assert_allclose(x, dif.ancestral_sample(sched, m_hat, np.random.default_rng(3), 5, 2), rtol=1e-10)


def test_reverse_step_function_names_the_slips():
    def variant(m_of=lambda v, rho, l, x, e: (x / v[l] - e) / rho[l], var_of=None, last="m", root=True):
        def fn(sched, l, x, e, z):
            v, rho = sched.v, sched.rho
            m = m_of(v, rho, l, x, e)
            dlam = rho[l - 1] ** 2 - rho[l] ** 2
            mu = v[l - 1] / rho[l - 1] * (dlam * m + rho[l] / v[l] * x)
            if l == 1 and last != "noise":
                return m if last == "m" else mu
            var = var_of(v, rho, l) if var_of else v[l - 1] ** 2 * dlam / rho[l - 1] ** 2
            return mu + (np.sqrt(var) if root else var) * z
        return fn

    def slip(fn):
        return _slip(check.reverse_step_function, fn)

    assert "noise at the last step" in slip(variant(last="noise"))
    assert "mean of the reverse transition" in slip(variant(last="mu"))
    assert "forward step's variance" in slip(variant(
        var_of=lambda v, rho, l: v[l] ** 2 * (1 - rho[l] ** 2 / rho[l - 1] ** 2)))
    assert "instead of the standard deviation" in slip(variant(root=False))
    # the noise prediction read as a force, then Eq. 8.47 inverted
    assert "as the force" in slip(variant(m_of=lambda v, rho, l, x, e: v[l] / rho[l] * e + x / (v[l] * rho[l])))
    assert "wrong sign" in slip(variant(m_of=lambda v, rho, l, x, e: (x / v[l] + e) / rho[l]))
    assert "left v_l out" in slip(variant(m_of=lambda v, rho, l, x, e: (x - e) / rho[l]))
    assert "DDPM's formulas" in slip(_ddpm_step)
    assert "forget to return" in slip(lambda s, l, x, e, z: None)
    assert "raised AttributeError" in slip(lambda s, l, x, e, z: s.alpha_bar)
    assert "should be a function" in str(check.reverse_step_function(np.zeros(3)))


def _ddpm_step(sched, l, x, e, z):
    """DDPM's sampler step, with alpha-bar read off the schedule as (v rho)^2."""
    abar = (sched.v * sched.rho) ** 2
    if l == 1:
        return (x - np.sqrt(1 - abar[1]) * e) / np.sqrt(abar[1])
    alpha = abar[l] / abar[l - 1]
    beta = 1 - alpha
    mean = (x - beta / np.sqrt(1 - abar[l]) * e) / np.sqrt(alpha)
    return mean + np.sqrt(beta * (1 - abar[l - 1]) / (1 - abar[l])) * z


def test_reverse_step_function_reveals_no_answer_and_reaches_the_edges():
    r = check.reverse_step_function(lambda s, l, x, e, z: _reverse_step_solution(s, l, x, e, z) + 1e-3)
    msg = str(r)
    assert not r and "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg), msg
    # wrong only at the top level l = L, only at the last step l = 1, only on a one-step chain (L = 1)
    msg = str(check.reverse_step_function(lambda s, l, x, e, z: _reverse_step_solution(s, l, x, e, z)
                                          + (1.0 if l == s.L else 0.0)))
    assert "test problem 2 (L = 9, l = 9, N = 3, d = 3)" in msg, msg
    msg = str(check.reverse_step_function(lambda s, l, x, e, z: _reverse_step_solution(s, l, x, e, z)
                                          + (1.0 if l == 1 else 0.0)))
    assert "test problem 3 (L = 15, l = 1, N = 5, d = 2)" in msg, msg
    msg = str(check.reverse_step_function(lambda s, l, x, e, z: _reverse_step_solution(s, l, x, e, z)
                                          + (1.0 if s.L == 1 else 0.0)))
    assert "test problem 6 (L = 1, l = 1, N = 2, d = 2)" in msg, msg


def _langevin_solution(eps_hat, sigmas, y0, eps, Z):
    """The notebook's solution: the score from the noise prediction, then Eq. 8.44 at each level."""
    y = y0.copy()
    for i, s in enumerate(sigmas):
        step = eps * s ** 2
        for t in range(Z.shape[1]):
            score = -eps_hat(y, i) / s
            y = y + step * score + np.sqrt(2 * step) * Z[i, t]
    return y


class _Replay(np.random.Generator):
    """A generator whose standard-normal draws are given arrays, in turn (to run the library on given Z)."""

    def __init__(self, blocks):
        super().__init__(np.random.PCG64(0))
        self.blocks = list(blocks)

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        block = self.blocks.pop(0)
        assert block.shape == tuple(np.atleast_1d(size))
        return block


def _langevin_library(eps_hat, sigmas, y0, eps, Z):
    return dif.annealed_langevin(lambda y, i: -eps_hat(y, i) / sigmas[i], sigmas, y0, Z.shape[1], eps,
                                 _Replay(list(Z)), backend="numpy").y


def test_annealed_langevin_function_accepts_the_solution_and_the_library():
    assert check.annealed_langevin_function(_langevin_solution)
    assert check.annealed_langevin_function(_langevin_library)


def test_annealed_langevin_function_names_the_slips():
    def variant(score=lambda e, y, i, s: -e(y, i) / s, step=lambda eps, s: eps * s ** 2, drift=1.0, root=2.0,
                restart=False, reverse=False, one=False):
        def fn(eps_hat, sigmas, y0, eps, Z):
            y = y0.copy()
            order = range(len(sigmas))[::-1] if reverse else range(len(sigmas))
            for i in order:
                if restart:
                    y = y0.copy()
                h = step(eps, sigmas[i])
                for t in range(1 if one else Z.shape[1]):
                    y = y + drift * h * score(eps_hat, y, i, sigmas[i]) + np.sqrt(root * h) * Z[i, t]
            return y
        return fn

    def slip(**kw):
        return _slip(check.annealed_langevin_function, variant(**kw))

    assert "wrong sign" in slip(score=lambda e, y, i, s: e(y, i) / s)
    assert "multiplied the noise prediction by sigma_i" in slip(score=lambda e, y, i, s: -e(y, i) * s)
    assert "by sigma_i^2" in slip(score=lambda e, y, i, s: -e(y, i) / s ** 2)
    assert "same step eps at every level" in slip(step=lambda eps, s: eps)
    assert "not with its square" in slip(step=lambda eps, s: eps * s)
    assert "square root of the step" in slip(root=1.0)
    assert "slides' step" in slip(drift=0.5, root=1.0)
    assert "left the noise out" in slip(root=0.0)
    assert "started again from y0" in slip(restart=True)
    assert "smallest sigma to the largest" in slip(reverse=True)
    assert "one step per level" in slip(one=True)
    assert "forget to return" in _slip(check.annealed_langevin_function, lambda e, s, y0, eps, Z: None)
    assert "raised ValueError" in _slip(check.annealed_langevin_function,
                                        lambda e, s, y0, eps, Z: e(y0, len(s)))
    assert "raised ZeroDivisionError" in _slip(check.annealed_langevin_function, lambda e, s, y0, eps, Z: 1 / 0)
    assert "should be a function" in str(check.annealed_langevin_function("y"))


def test_annealed_langevin_function_reveals_no_answer_and_reaches_the_edges():
    r = check.annealed_langevin_function(lambda *a: _langevin_solution(*a) * 1.001)
    msg = str(r)
    assert not r and "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg), msg
    msg = str(check.annealed_langevin_function(lambda e, s, y0, eps, Z: _langevin_solution(e, s, y0, eps, Z)
                                               + (1.0 if len(s) == 1 else 0.0)))
    assert "test problem 3 (1 level, 4 steps each, C = 2, d = 3)" in msg, msg
    msg = str(check.annealed_langevin_function(lambda e, s, y0, eps, Z: _langevin_solution(e, s, y0, eps, Z)
                                               + (1.0 if Z.shape[1] == 1 else 0.0)))
    assert "test problem 4 (3 levels, 1 step each, C = 1, d = 2)" in msg, msg


# --- routes through one library call that the graded version refuses ---


def test_langevin_statement_writes_out_the_update():
    """The answer depends on the convention of Eq. 8.44, so the statement writes the update out."""
    from courseware.editions import all_exercises

    ex = next(e for e in all_exercises() if e.label == "ex-8-3-2-langevin-bias")
    assert r"x' = x + \epsilon f(x) + \sqrt{2\epsilon}\,z" in ex.statement


def test_dsm_problem_is_not_on_the_page():
    """The score-matching page shows no DSM-optimal linear score in closed form and not the exercise's
    numbers (a hidden check visible in the student edition used to state both)."""
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parents[2] / "chapters" / "ch08_learning_non_invertible_models"
                     / "8_3_3_score_matching.ipynb").read_text())
    code = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "s^2 + sigma^2" not in code and "_s**2 + _sg**2" not in code
    assert tuple(check.EX_DSM) != (2.0, 0.5, 0.3)


# --- numerical differentiation and quadrature in place of Tweedie's formula and the noised components ---


# --- ex-8-3-1-mse asks for six significant digits; ex-8-3-1-mean-loss names the functions it is ---


def _two_point_mse_by_simpson(a, lam):
    """The posterior variance a^2 sech^2(a lam y) averaged over the density of y on a fine grid."""
    from scipy.integrate import simpson
    y = np.linspace(-a - 12 / np.sqrt(lam), a + 12 / np.sqrt(lam), 200001)
    dens = 0.5 * np.sqrt(lam / (2 * np.pi)) * (np.exp(-lam * (y - a) ** 2 / 2) + np.exp(-lam * (y + a) ** 2 / 2))
    return float(simpson(dens * a ** 2 / np.cosh(a * lam * y) ** 2, x=y))


def test_mse_at_level_takes_six_digits_for_every_drawn_a_and_refuses_the_nearest_slip(monkeypatch):
    """Every a the draw can give (0.50 to 1.50, two decimals): the answer rounded to the six significant
    digits the statement asks for passes, and the named slip nearest to the answer is refused, with its
    message. With a = 0.8, the six-digit 0.104096 used to be refused."""
    for a in np.round(np.arange(50, 151) / 100, 2):
        monkeypatch.setattr(check, "EX_TWO_POINT", float(a))
        mse = _two_point_mse_by_simpson(a, 4.0)
        assert check.mse_at_level(float(f"{mse:.6g}")), a
        slips = {"Gaussian data": 1 / (1 / a ** 2 + 4.0), "prior variance": a ** 2, "noise variance": 0.25,
                 "one observation": a ** 2 / np.cosh(4.0 * a ** 2) ** 2,
                 "as a noise variance": _two_point_mse_by_simpson(a, 0.25)}
        fragment, nearest = min(slips.items(), key=lambda kv: abs(kv[1] / mse - 1))
        r = check.mse_at_level(float(f"{nearest:.6g}"))
        assert not r and fragment in str(r), (a, str(r))
    monkeypatch.setattr(check, "EX_TWO_POINT", 0.8)
    assert check.mse_at_level(0.104096)


def test_mean_loss_statement_names_the_library_route_through_the_mean_and_its_weight():
    """Eq. 8.38's mean from the datum (mean_from_m_hat) times Eq. 8.39's weight (mean_weights) gives a
    passing answer without the posterior transition; the exercise names both, and loss_terms."""
    from pedagogy_lib.exercises import checker

    def route(schedule, l, x0, z, mu):
        x_l = dif.noise_data(schedule, x0, l, z)
        mu_bar = dif.mean_from_m_hat(schedule, l, x_l, x0)
        return dif.mean_weights(schedule)[l - 1] * np.sum((mu_bar - mu) ** 2, axis=1)

    assert check.mean_loss_function(route)            # outside a kernel only the names refuse it
    names = checker._not_allowed()["ch08_diffusion"]["mean_loss_function"]
    assert names == ["pedagogy_lib.diffusion.loss_terms", "pedagogy_lib.diffusion.mean_from_m_hat",
                     "pedagogy_lib.diffusion.mean_weights"]
    code = ("def my_mean_loss(schedule, l, x0, z, mu):\n"
            "    x_l = dif.noise_data(schedule, x0, l, z)\n"
            "    mu_bar = dif.mean_from_m_hat(schedule, l, x_l, x0)\n"
            "    return dif.mean_weights(schedule)[l - 1] * np.sum((mu_bar - mu) ** 2, axis=1)\n")
    imports = "import numpy as np\nfrom pedagogy_lib import diffusion as dif\n"
    assert len(checker.named_calls_in(code, names, [imports])) == 2
    assert checker.named_calls_in(code.replace("dif.mean_weights(schedule)", "0.5 / w"), names, [imports])


def test_no_slip_table_of_the_checkers_is_one_attribute_away():
    """The mean-loss table held the reference plus d/2 (its trace-term entry), the reverse-step table the
    reference itself at l > 1: both, and the other two, are built in references/ now."""
    from pedagogy_lib.exercises.references import ch08_diffusion as refs
    assert not [n for n in vars(check) if "slip" in n]
    sched, l, x0, z, mu = check._loss_cases()[0]
    table = refs.mean_loss_slips(sched.v, sched.rho, l, x0, z, mu)
    trace = next(v for k, v in table.items() if "trace term" in k)
    np.testing.assert_allclose(trace - 0.5 * x0.shape[1], _mean_loss_solution(sched, l, x0, z, mu), rtol=1e-10)


def test_shared_noise_transition_is_tighter_than_eq_8_37_for_every_s():
    """The solution of ex-8-3-transition: with one noise draw shared by all levels, tau^2 is below Eq. 8.37's
    gamma_73^2 (the library's transition on the same alpha-bar) for every data sd s, since the noise-to-signal
    ratio grows from level 3 to level 7; and both c and tau^2 move with s while Eq. 8.37's pair does not."""
    from courseware import grading as G

    copies = [check] + [G.own_copy(check, salt) for salt in range(4)]
    for mod in copies:
        ab = np.asarray(mod.EX_ALPHA_BAR, dtype=float)
        t = dif.transition(dif.schedule_from_snr(ab / (1 - ab)), 3, 7)
        np.testing.assert_allclose(t.beta, np.sqrt(ab[7] / ab[3]), rtol=1e-12)
        pairs = [_shared_noise_conditional(ab, s) for s in [float(mod.EX_SHARED_S), 0.05, 0.3, 1.0, 2.0, 20.0]]
        assert all(tau2 < t.gamma2 for _, tau2 in pairs), (pairs, t)
        (c_lo, tau2_lo), (c_hi, tau2_hi) = pairs[2], pairs[4]
        assert abs(c_lo - c_hi) > 0.01 and abs(tau2_lo - tau2_hi) > 0.01


def test_a_blur_correlates_the_noise_even_with_isotropic_steps():
    """The solution of ex-8-3-chain-marginals: a blurring step (as in the checker's blur chains) with
    Gamma_l = gamma^2 I and a lightly noised level 0 gives level L a covariance with off-diagonal entries,
    so not the v^2 I of Eq. 8.36; with B_l = beta I the same chain keeps it isotropic."""
    rng = np.random.default_rng(8)
    for d, L in [(2, 5), (3, 8)]:
        B = np.empty((L, d, d))
        for k in range(L):
            c = rng.uniform(0.05, 0.3)
            B[k] = rng.uniform(0.85, 0.99) * ((1 - c) * np.eye(d) + c * np.roll(np.eye(d), 1, axis=1))
        G = 0.05 * np.broadcast_to(np.eye(d), (L, d, d))
        C = _chain_solution(B, G, 0.9, 0.2)[1][-1]
        off = C[~np.eye(d, dtype=bool)]
        assert np.abs(off).min() > 1e-3 * C.diagonal().max(), C
        beta = np.einsum("kii->k", B)[:, None, None] / d * np.eye(d)
        C_scalar = _chain_solution(beta, G, 0.9, 0.2)[1][-1]
        np.testing.assert_allclose(C_scalar, C_scalar[0, 0] * np.eye(d), rtol=1e-12, atol=1e-15)
