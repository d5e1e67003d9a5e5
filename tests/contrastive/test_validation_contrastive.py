"""Window predictors edited by hand end in a clear error naming the field (issue 29)."""
import numpy as np
import pytest

from pedagogy_lib.contrastive import cpc as ct


def _predictor():
    params = ct.stationary_params(np.array([[0.8]]), np.array([[0.36]]), np.array([[1.0], [0.5]]), 0.1 * np.eye(2))
    return ct.kalman_window_predictor(params, 3)


@pytest.mark.parametrize("change, err, match", [
    (dict(beta=np.zeros(6)), ValueError, r"predictor\.beta"),
    (dict(beta=np.zeros((2, 5))), ValueError, r"predictor\.beta"),
    (dict(intercept=np.zeros(3)), ValueError, r"predictor\.intercept"),
    (dict(V=np.full((2, 2), np.nan)), ValueError, r"predictor\.V"),
    (dict(V=-np.eye(2)), ValueError, r"predictor\.V"),
    (dict(V0=np.eye(3)), ValueError, r"predictor\.V0"),
    (dict(V0=np.ones((2, 2))), ValueError, r"predictor\.V0"),
    (dict(beta="beta"), TypeError, r"predictor\.beta"),
])
def test_malformed_window_predictors_are_refused(change, err, match):
    with pytest.raises(err, match=match):
        ct.exact_cpc_critic(_predictor()._replace(**change))


def test_a_valid_predictor_still_gives_its_critic():
    crit = ct.exact_cpc_critic(_predictor())
    assert crit.W.shape == (6, 2) and crit.B.shape == (2, 2)
