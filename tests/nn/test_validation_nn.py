"""Optimizer states edited by hand end in a clear error, never in NaN parameters (issue 29)."""
import numpy as np
import pytest

from pedagogy_lib.nn.optim import SGD, Adam


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("change, err, match", [
    (dict(t=-1), ValueError, r"state\.t"),
    (dict(t=1.5), TypeError, r"state\.t"),
    (dict(v=(-np.ones(3),)), ValueError, r"state\.v"),
    (dict(m=(np.full(3, np.nan),)), ValueError, r"state\.m"),
    (dict(m=(np.ones(2),)), ValueError, r"state\.m"),
    (dict(m=[np.ones(3), np.ones(3)]), ValueError, r"state\.m"),
])
def test_adam_refuses_malformed_states(backend, change, err, match):
    opt = Adam(0.1, backend=backend)
    params = (np.ones(3),)
    state = opt.init(params)._replace(**change)
    with pytest.raises(err, match=match):
        opt.step(params, (np.ones(3),), state)


def test_adam_names_an_overflow_instead_of_returning_nan():
    opt = Adam(1e308)
    params = (np.full(3, -1e308),)
    with pytest.raises(ValueError, match="not finite"):
        opt.step(params, (np.ones(3),), opt.init(params))


def test_valid_adam_and_sgd_steps_are_unchanged():
    params = (np.ones(3),)
    new, state = Adam(0.1).step(params, (np.ones(3),), Adam(0.1).init(params))
    np.testing.assert_allclose(new[0], 0.9, rtol=1e-8)
    assert state.t == 1
    new, _ = SGD(0.1, momentum=0.5).step(params, (np.ones(3),), SGD(0.1).init(params))
    np.testing.assert_allclose(new[0], 0.9)


def test_sgd_refuses_a_non_finite_velocity():
    opt = SGD(0.1, momentum=0.5)
    params = (np.ones(3),)
    with pytest.raises(ValueError, match=r"state\.velocity"):
        opt.step(params, (np.ones(3),), opt.init(params)._replace(velocity=(np.full(3, np.nan),)))
