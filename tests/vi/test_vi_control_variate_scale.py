"""The control-variate coefficient Cov(g, h) / Var(h) is scale-covariant at every scale: with h of size
1e-300 (whose squares underflow to 0) or 1e300 (whose squares overflow) the coefficient is the one at
size 1 divided by the scale, and g - a h does not change; a coefficient beyond float64 is refused."""
import numpy as np
import pytest

from pedagogy_lib.vi import bbvi


def _gh():
    rng = np.random.default_rng(3)
    h = rng.standard_normal((40, 2))
    return rng.standard_normal((40, 2)) + np.array([0.7, -0.4]) * h, h


@pytest.mark.parametrize("s", [1e-300, 1e-200, 1e-150, 1e150, 1e200, 1e300])
def test_coefficient_follows_the_scale_of_h(s):
    g, h = _gh()
    g_cv, a = bbvi.control_variate(g, h)
    g_cv_s, a_s = bbvi.control_variate(g, s * h)
    np.testing.assert_allclose(a_s * s, a, rtol=1e-13)
    np.testing.assert_allclose(g_cv_s, g_cv, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("s", [1e-300, 1e300])
def test_coefficient_follows_the_scale_of_g(s):
    g, h = _gh()
    g_cv, a = bbvi.control_variate(g, h)
    g_cv_s, a_s = bbvi.control_variate(s * g, h)
    np.testing.assert_allclose(a_s, s * a, rtol=1e-13)
    np.testing.assert_allclose(g_cv_s, s * g_cv, rtol=1e-12, atol=1e-14 * s)


def test_a_coefficient_beyond_float64_is_refused_naming_g_and_h():
    g, h = _gh()
    with pytest.raises(ValueError, match=r"\(g, h\).*overflows"):
        bbvi.control_variate(1e200 * g, 1e-200 * h)
