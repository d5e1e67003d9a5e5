"""Architectures built by hand or edited with ``_replace`` are held to their constructors' rules (issue 29)."""
import numpy as np
import pytest

from pedagogy_lib.deepgen import gumbel, nice, vae
from pedagogy_lib.nn.network import mlp
from pedagogy_lib.samplers import gaussian_target

RNG = np.random.default_rng(0)

VAE_EDITS = [
    ("K", dict(K=3), ValueError, r"model\.encoder"),
    ("K float", dict(K=2.0), TypeError, r"model\.K"),
    ("M zero", dict(M=0), ValueError, r"model\.M"),
    ("likelihood", dict(likelihood="poisson"), ValueError, r"model\.likelihood"),
    ("alpha nan", dict(alpha=np.nan), ValueError, r"model\.alpha"),
    ("alpha negative", dict(alpha=-1.0), ValueError, r"model\.alpha"),
    ("encoder type", dict(encoder="net"), TypeError, r"model\.encoder"),
    ("decoder widths", dict(decoder=mlp([2, 5])), ValueError, r"model\.decoder"),
]


@pytest.mark.parametrize("label, change, err, match", VAE_EDITS, ids=[e[0] for e in VAE_EDITS])
def test_malformed_vaes_are_refused_naming_the_field(label, change, err, match):
    model = vae.vae(4, 2, hidden=3)
    params = vae.init_params(model, RNG)
    Y = (RNG.random((5, 4)) < 0.5).astype(float)
    bad = model._replace(**change)
    for call in (lambda: vae.init_params(bad, RNG), lambda: vae.elbo_terms(bad, params, Y, RNG.standard_normal((5, 2)))):
        with pytest.raises(err, match=match):
            call()


DVAE_EDITS = [
    ("G", dict(G=3), ValueError, r"model\.encoder"),
    ("C one", dict(C=1), ValueError, r"model\.C"),
    ("M string", dict(M="4"), TypeError, r"model\.M"),
    ("decoder type", dict(decoder=None), TypeError, r"model\.decoder"),
]


@pytest.mark.parametrize("label, change, err, match", DVAE_EDITS, ids=[e[0] for e in DVAE_EDITS])
def test_malformed_discrete_vaes_are_refused_naming_the_field(label, change, err, match):
    model = gumbel.discrete_vae(4, 2, 3, hidden=5)
    with pytest.raises(err, match=match):
        gumbel.init_discrete_params(model._replace(**change), RNG)


def test_malformed_nice_architectures_are_refused_naming_the_field():
    model = nice.make_nice(4, 2, (3,))
    with pytest.raises(ValueError, match=r"model\.masks\[0\]"):
        nice.nice_init(model._replace(K=5), RNG)
    with pytest.raises(ValueError, match=r"model\.nets"):
        nice.nice_init(model._replace(masks=model.masks[:1]), RNG)
    with pytest.raises(TypeError, match=r"model\.nets\[1\]"):
        nice.nice_init(model._replace(nets=(model.nets[0], "net")), RNG)
    odd = nice.make_nice(5, 2, (3,))
    with pytest.raises(ValueError, match=r"model\.nets\[0\]"):
        nice.nice_init(odd._replace(nets=odd.nets[::-1]), RNG)       # widths 2 -> 3 and 3 -> 2 swapped
    params = nice.nice_init(model, RNG)
    with pytest.raises(ValueError, match=r"params\.log_scale"):
        nice.forward(model, params._replace(log_scale=np.zeros(3)), np.zeros((2, 4)))


def test_nice_leapfrog_checks_its_target():
    with pytest.raises(ValueError, match=r"target\.Lambda"):
        nice.leapfrog_couplings(gaussian_target(np.zeros(2), np.eye(2))._replace(Lambda=np.eye(3)),
                                np.zeros((2, 2)), np.zeros((2, 2)), 0.1, 2)
