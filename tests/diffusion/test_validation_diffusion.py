"""Denoisers and schedules edited by hand end in a clear error naming the field (issue 29)."""
import numpy as np
import pytest

from pedagogy_lib import diffusion as df
from pedagogy_lib.nn.network import mlp

RNG = np.random.default_rng(0)


def _setup():
    S = df.make_schedule(10)
    model = df.denoiser(2, (8,), n_freq=2)
    return S, model, df.init_denoiser(model, RNG)


@pytest.mark.parametrize("change, err, match", [
    (dict(d=3), ValueError, r"model\.net"),
    (dict(d=0), ValueError, r"model\.d"),
    (dict(n_freq=-1), ValueError, r"model\.n_freq"),
    (dict(n_freq=1.0), TypeError, r"model\.n_freq"),
    (dict(param="score"), ValueError, r"model\.param"),
    (dict(net="net"), TypeError, r"model\.net"),
    (dict(net=mlp([6, 4, 3])), ValueError, r"model\.net"),
])
@pytest.mark.parametrize("call", ["predict", "denoiser_loss", "m_hat_from_model", "score_from_model"])
def test_malformed_denoisers_are_refused_naming_the_field(change, err, match, call):
    S, model, params = _setup()
    bad = model._replace(**change)
    x = np.zeros((3, 2))
    fn = {"predict": lambda: df.predict(bad, params, S, x, 1),
          "denoiser_loss": lambda: df.denoiser_loss(bad, params, S, x, np.array([1, 2, 3]), x),
          "m_hat_from_model": lambda: df.m_hat_from_model(bad, params, S),
          "score_from_model": lambda: df.score_from_model(bad, params, S, [1, 2])}[call]
    with pytest.raises(err, match=match):
        fn()


def test_samplers_from_a_model_check_params_and_schedule_when_built():
    S, model, params = _setup()
    with pytest.raises(ValueError, match="params"):
        df.m_hat_from_model(model, params[:1], S)
    with pytest.raises(ValueError, match=r"schedule\.rho"):
        df.m_hat_from_model(model, params, S._replace(rho=S.rho[:3]))
    with pytest.raises(ValueError, match=r"schedule\.v"):
        df.score_from_model(model, params, S._replace(v=np.full_like(S.v, np.nan)), [1])
    m_hat = df.m_hat_from_model(model, params, S)
    assert m_hat(np.zeros((3, 2)), np.array([1, 2, 3])).shape == (3, 2)
