"""Checkers of the data-assimilation notebook 2 (pedagogy_lib.exercises.da_filters)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import sqrtm

from pedagogy_lib.exercises import da_filters as check


def _points(L):
    p = check.EX_UT
    X = np.vstack([p.mean, p.mean + L.T, p.mean - L.T])
    w = np.array([1 / 3] + [1 / 6] * 4)
    return X, w


def test_sigma_points():
    p = check.EX_UT
    # two different square roots of (n + kappa) Sigma are both right
    assert check.sigma_points(*_points(np.linalg.cholesky(3 * p.cov)))
    assert check.sigma_points(*_points(np.real(sqrtm(3 * p.cov))))
    r = check.sigma_points(*_points(np.linalg.cholesky(p.cov)))
    assert not r and "constant factor" in str(r)
    X, w = _points(np.linalg.cholesky(3 * p.cov))
    assert not check.sigma_points(X, np.full(5, 0.2))
    assert not check.sigma_points(X[:4], w[:4])



def test_the_sigma_points_from_the_plotting_helpers_contour_are_refused_when_graded():
    """The plotting helper ellipse_points puts the contour at the mean plus a circle times the Cholesky factor's
    transpose, so five points at radius sqrt(n + lambda) = sqrt(3) are the four outer sigma points (the fifth
    repeats the first): the construction the exercise asks the student to write. Named by the statement and
    refused."""
    from graded_routes import assert_passes_then_refused

    imports = ("import numpy as np\nfrom pedagogy_lib.display.plotting import ellipse_points\n"
               "from pedagogy_lib.exercises import da_filters as check\n")
    code = ("m, P = check.EX_UT.mean, check.EX_UT.cov\n"
            "X = np.vstack([m, ellipse_points(m, P, np.sqrt(3), 5)[:4]])\n"
            "w = np.array([1 / 3] + [1 / 6] * 4)\n")
    assert_passes_then_refused(check, "ex-da-2-sigma", "sigma_points", ["X", "w"], imports, code)

def _euler_jacobian_by_differences(x, dt, h=0.1):
    """Independently of the checker: the Euler step's Jacobian by central differences of the library's
    Lorenz-63 vector field (exact for a quadratic field, up to rounding, so a wide step h is best)."""
    from pedagogy_lib import assimilation as da

    f = lambda z: da.vector_field(da.lorenz63(), z)
    step = lambda z: z + dt * f(z)
    return np.column_stack([(step(x + h * e) - step(x - h * e)) / (2 * h) for e in np.eye(3)])


def test_ekf_forecast_cov_needs_the_tangent_linear_matrix_of_an_euler_step():
    p = check.EX_FORECAST
    M = _euler_jacobian_by_differences(p.x, p.dt)
    ref = np.einsum("ij,jk,lk->il", M, p.P, M) + p.Q
    assert check.ekf_forecast_cov(ref)
    r = check.ekf_forecast_cov(ref - p.Q)
    assert not r and "model-error" in str(r)
    J = (M - np.eye(3)) / p.dt
    for wrong, fragment in [(J @ p.P @ J.T + p.Q, "vector field's Jacobian"),
                            ((np.eye(3) + J) @ p.P @ (np.eye(3) + J).T + p.Q, "leaves out the step dt"),
                            (M.T @ p.P @ M + p.Q, "M^T P M")]:
        r = check.ekf_forecast_cov(wrong)
        assert not r and fragment in str(r), str(r)


def test_ekf_forecast_variant_keeps_the_problems_shape():
    for seed in range(5):
        f = check.SUMMATIVE["ex-da-2-ekf-forecast"]["variant"](np.random.default_rng(seed))["EX_FORECAST"]
        assert f.x.shape == (3,) and f.P.shape == f.Q.shape == (3, 3) and f.dt > 0
        assert np.all(np.linalg.eigvalsh(f.P) > 0)


def test_linearization_bias_asks_for_the_cube_not_the_pages_square():
    m, P = check.CUBE["m"], check.CUBE["P"]
    rng = np.random.default_rng(0)
    x = m + np.sqrt(P) * rng.standard_normal(2_000_000)
    bias = 3 * m * P
    assert abs(np.mean(x ** 3) - m ** 3 - bias) < 0.02          # Monte Carlo agrees with the derivation
    assert check.linearization_bias(bias)
    for wrong, fragment in [(m ** 3 + bias, "E[x^3] itself"), (P, "page's case"), (3 * P, "left the mean m out"),
                            (2 * bias, "factor of 2"), (bias / 2, "factor of 1/2")]:
        r = check.linearization_bias(wrong)
        assert not r and fragment in str(r), str(r)


def test_linearization_bias_variant_keeps_the_mean_away_from_zero():
    for seed in range(50):
        cube = check.SUMMATIVE["ex-da-2-bias"]["variant"](np.random.default_rng(seed))["CUBE"]
        assert abs(cube["m"]) >= 0.5 and cube["P"] > 0


def test_sigma_point_hints_point_at_what_to_recheck_without_the_formula():
    p = check.EX_UT
    for L in (np.linalg.cholesky(p.cov), np.linalg.cholesky(3 * p.cov).T):
        msg = str(check.sigma_points(*_points(L)))
        assert "(n + kappa) Sigma" not in msg and "square root of (n + kappa)" not in msg, msg
    X, w = _points(np.linalg.cholesky(3 * p.cov))
    msg = str(check.sigma_points(X, np.array([0.2, 0.2, 0.2, 0.2, 0.2])))
    assert "kappa / (n + kappa)" not in msg and "1 / (2 (n + kappa))" not in msg, msg


_BIAS_BY_QUADRATURE = {
    "trapezoid": ("x = np.linspace(m - 12 * s, m + 12 * s, 4001)\n"
                  "bias = np.trapezoid(x ** 3 * pdf(x), x) - m ** 3\n"),
    "legendre": ("z, w = np.polynomial.legendre.leggauss(200)\n"
                 "x = m + 12 * s * z\n"
                 "bias = 12 * s * np.sum(w * x ** 3 * pdf(x)) - m ** 3\n"),
    "roots_legendre": ("from scipy.special import roots_legendre\n"
                       "z, w = roots_legendre(200)\n"
                       "x = m + 12 * s * z\n"
                       "bias = 12 * s * np.sum(w * x ** 3 * pdf(x)) - m ** 3\n"),
}


@pytest.mark.parametrize("how", sorted(_BIAS_BY_QUADRATURE))
def test_the_cube_bias_by_quadrature_is_refused_when_graded(how):
    """E[x^3] under N(m, P) by the trapezoid rule on a grid, or by a Gauss-Legendre rule on m +- 12 sd, gave the
    bias to the checker's tolerance without the Gaussian's moments (the Hermite rules were already ruled out).
    Named by the statement and refused."""
    from graded_routes import assert_refused_when_graded

    imports = "import numpy as np\nfrom pedagogy_lib.exercises import da_filters as check\n"
    code = ("m, P = check.CUBE['m'], check.CUBE['P']\n"
            "s = np.sqrt(P)\n"
            "pdf = lambda x: np.exp(-0.5 * (x - m) ** 2 / P) / np.sqrt(2 * np.pi * P)\n"
            + _BIAS_BY_QUADRATURE[how])
    assert_refused_when_graded(check, "ex-da-2-bias", "linearization_bias", "bias", imports, code)


#: He_3(z) = z^3 - 3 z under SciPy's other names: m^3 - s^3 He_3(m / s) is the bias 3 m P.
_HE3_IN_DISGUISE = {
    "parabolic cylinder": "sp.pbdv(3, z)[0] * np.exp(z ** 2 / 4)",
    "generalized Laguerre": "-2 * z * sp.eval_genlaguerre(1, 0.5, z ** 2 / 2)",
    "Chebyshev": "2 * sp.eval_chebyt(3, z / 2)",
    "Legendre class": "2 * np.sqrt(5) * sp.legendre(3)(z / np.sqrt(5))",
    "Tricomi": "np.sign(z) * 2 ** 1.5 * sp.hyperu(-1.5, 0.5, z ** 2 / 2)",
    "associated Laguerre": "-2 * z * sp.assoc_laguerre(z ** 2 / 2, 1, 0.5)",
    "parabolic cylinder sequence": "sp.pbdv_seq(3, z)[0][3] * np.exp(z ** 2 / 4)",
    "Legendre by lpmv": "2 * np.sqrt(5) * sp.lpmv(0, 3, z / np.sqrt(5))",
    "associated Legendre": "2 * np.sqrt(5) * sp.assoc_legendre_p(3, 0, z / np.sqrt(5))[0]",
    "associated Legendre, all degrees": "2 * np.sqrt(5) * sp.assoc_legendre_p_all(3, 0, z / np.sqrt(5))[0, 3, 0]",
    # NumPy's series of the same families
    "NumPy Chebyshev series": "np.polynomial.chebyshev.chebval(z / 2, [0, 0, 0, 2])",
    "NumPy Legendre class": "np.polynomial.Legendre([0, 0, 0, 2 * np.sqrt(5)])(z / np.sqrt(5))",
    # sph_legendre_p, sph_harm_y (at theta = arccos(z / sqrt 5), times sqrt(4 pi / 7)) and the spheroidal
    # pro_ang1 / obl_ang1 at c = 0 give the same He_3 when |z| < sqrt 5, which the book's data (z = 2.37) are not
}


@pytest.mark.parametrize("how", sorted(_HE3_IN_DISGUISE))
def test_the_cube_bias_by_a_hermite_polynomial_in_disguise_is_refused_when_graded(how):
    """SciPy holds the forbidden Hermite polynomial He_3 in its other polynomial families and special functions
    (D_3(z) = exp(-z^2 / 4) He_3(z), He_3(z) = -2 z L_1^(1/2)(z^2 / 2) = 2 T_3(z / 2), ...), and readers found them
    one at a time; the statement now rules out the whole family. Each route passes the checker ungraded, is
    named by the statement and is refused graded."""
    from graded_routes import assert_passes_then_refused

    imports = "import numpy as np\nimport scipy.special as sp\nfrom pedagogy_lib.exercises import da_filters as check\n"
    code = ("m, P = check.CUBE['m'], check.CUBE['P']\n"
            "s = np.sqrt(P)\n"
            "z = m / s\n"
            f"he3 = {_HE3_IN_DISGUISE[how]}\n"
            "bias = m ** 3 - s ** 3 * he3\n")
    assert_passes_then_refused(check, "ex-da-2-bias", "linearization_bias", ["bias"], imports, code)


#: E[x^3] = 3! [t^3] exp(m t + P t^2 / 2), the moment generating function's coefficient read off by a library call:
#: the matrix exponential of the nilpotent shift N (4 x 4) evaluated at m N + P N^2 / 2, the discrete Fourier
#: transform of the function's values at the 32nd roots of unity, or scipy.linalg.funm of N plus the fourth roots of
#: unity times 0.01 on the diagonal, whose corner entry is the function's divided difference at those nodes, its
#: coefficient of t^3 up to a term of order 1e-8.
_CUBE_FROM_THE_MGF = {
    "expm": "E = sl.expm(m * N + 0.5 * P * N @ N)\nbias = 6 * E[0, 3] - m ** 3\n",
    "expm_frechet": "E = sl.expm_frechet(m * N + 0.5 * P * N @ N, N)[0]\nbias = 6 * E[0, 3] - m ** 3\n",
    "fft": "c = np.fft.fft(np.exp(m * z + 0.5 * P * z ** 2)) / 32\nbias = 6 * c[3].real - m ** 3\n",
    "dft": "c = sl.dft(32) @ np.exp(m * z + 0.5 * P * z ** 2) / 32\nbias = 6 * c[3].real - m ** 3\n",
    "funm": ("E = sl.funm(N + np.diag(0.01 * 1j ** np.arange(4)), lambda t: np.exp(m * t + 0.5 * P * t ** 2))\n"
             "bias = 6 * E[0, 3].real - m ** 3\n"),
}


@pytest.mark.parametrize("how", sorted(_CUBE_FROM_THE_MGF))
def test_the_cube_bias_from_the_moment_generating_function_is_refused_when_graded(how):
    """The Gaussian's moment generating function holds E[x^3] as 3! times its coefficient of t^3; a matrix
    exponential of a nilpotent matrix, or a discrete Fourier transform on the unit circle, extracts that
    coefficient in one call, so the cube is never expanded against the Gaussian's moments. Each route passes
    the checker ungraded, is named by the statement and is refused graded."""
    from graded_routes import assert_passes_then_refused

    imports = ("import numpy as np\nimport scipy.linalg as sl\n"
               "from pedagogy_lib.exercises import da_filters as check\n")
    code = ("m, P = check.CUBE['m'], check.CUBE['P']\n"
            "N = np.eye(4, k=1)\n"
            "z = np.exp(2j * np.pi * np.arange(32) / 32)\n"
            + _CUBE_FROM_THE_MGF[how])
    assert_passes_then_refused(check, "ex-da-2-bias", "linearization_bias", ["bias"], imports, code)

def test_the_tangent_linear_matrix_by_numpy_gradient_is_refused_when_graded():
    """np.gradient over x - h e, x, x + h e of the Euler step, one column per unit vector, gave the tangent-linear
    matrix (central differences are exact for the quadratic field) without deriving it. Named by the statement and
    refused."""
    from graded_routes import assert_refused_when_graded

    imports = "import numpy as np\nfrom pedagogy_lib.exercises import da_filters as check\n"
    code = ("F = check.EX_FORECAST\n"
            "x, P, Q, dt = F.x, F.P, F.Q, F.dt\n"
            "f = lambda z: np.array([10 * (z[1] - z[0]), z[0] * (28 - z[2]) - z[1], z[0] * z[1] - 8 / 3 * z[2]])\n"
            "step = lambda z: z + dt * f(z)\n"
            "M = np.column_stack([np.gradient(np.array([step(x - 1e-4 * e), step(x), step(x + 1e-4 * e)]),\n"
            "                                 1e-4, axis=0)[1] for e in np.eye(3)])\n"
            "P_forecast = M @ P @ M.T + Q\n")
    assert_refused_when_graded(check, "ex-da-2-ekf-forecast", "ekf_forecast_cov", "P_forecast", imports, code)
