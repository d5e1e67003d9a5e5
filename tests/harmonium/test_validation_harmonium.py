"""Harmonium parameters and Helmholtz machines edited by hand end in a clear error (issue 29).

The Gibbs and Gray-code kernels trust their arrays; these edits must be refused before them, so
the kernel calls run in a child process.
"""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from pedagogy_lib.harmonium import exact, helmholtz, model

RNG = np.random.default_rng(0)


def test_mismatched_harmonium_fields_never_reach_the_kernels():
    code = """
        import numpy as np
        from pedagogy_lib.harmonium import exact, gibbs, model
        rng = np.random.default_rng(0)
        p = model.init_params(3, 4, rng)
        Y = (rng.random((6, 4)) < 0.5).astype(float)
        edits = [dict(b_x=np.zeros(5)), dict(b_y=np.zeros(2)), dict(W=np.zeros((3, 6))), dict(W=np.zeros(4)),
                 dict(hidden="poisson", visible="gaussian"), dict(W=np.full((3, 4), np.nan))]
        for e in edits:
            bad = p._replace(**e)
            for call in (lambda: gibbs.gibbs_sample(bad, Y[:2], 3, rng), lambda: gibbs.cd_epoch(bad, Y, rng),
                         lambda: exact.log_partition(bad), lambda: gibbs.pseudo_log_likelihood(bad, Y)):
                try:
                    call()
                except (ValueError, TypeError):
                    pass
                else:
                    raise SystemExit(f"accepted {sorted(e)}")
    """
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr + r.stdout


@pytest.mark.parametrize("change, err, match", [
    (dict(b_x=np.zeros(5)), ValueError, "b_x"),
    (dict(b_y=np.zeros(2)), ValueError, "b_y"),
    (dict(W=np.zeros(4)), ValueError, "W"),
    (dict(W=np.zeros((3, 4)) + 0j), TypeError, "W"),
    (dict(hidden="gamma"), ValueError, "hidden"),
])
def test_malformed_harmonium_parameters_name_the_field(change, err, match):
    p = model.init_params(3, 4, RNG)._replace(**change)
    with pytest.raises(err, match=match):
        exact.log_partition(p)


def test_wake_update_checks_the_machine_and_the_layers():
    hm = helmholtz.init_helmholtz([4, 3, 2], RNG)
    layers = [(RNG.random((5, n)) < 0.5).astype(float) for n in (4, 3, 2)]
    dG, dg, db = helmholtz.wake_update(hm, layers)
    assert [d.shape for d in dG] == [(4, 3), (3, 2)]
    with pytest.raises(ValueError, match="b_top"):
        helmholtz.wake_update(hm._replace(b_top=np.zeros(3)), layers)
    with pytest.raises(ValueError, match="b_top"):
        helmholtz.wake_update(hm._replace(b_top=np.array([np.nan, 0.0])), layers)
    with pytest.raises(TypeError, match="hm"):
        helmholtz.wake_update(tuple(hm), layers)
    with pytest.raises(ValueError, match=r"layers\[1\]"):
        helmholtz.wake_update(hm, [layers[0], layers[1][:, :2], layers[2]])
    with pytest.raises(ValueError, match=r"layers\[2\]"):
        helmholtz.wake_update(hm, [layers[0], layers[1], layers[2][:3]])
    with pytest.raises(ValueError, match="layers must hold 3"):
        helmholtz.wake_update(hm, layers[:2])
    with pytest.raises(ValueError, match=r"layers\[0\]"):
        helmholtz.wake_update(hm, [layers[0] * 0.5 + 0.2, layers[1], layers[2]])
