"""Malformed targets, chain states and conjugate models end in a clear error naming the field (issue 29).

A container built by hand or edited with ``_replace`` must meet the rules of its constructor
before any kernel sees it; the calls that used to kill the interpreter run in a child process.
"""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from pedagogy_lib import samplers as S

RNG = np.random.default_rng(0)


def _gauss():
    return S.gaussian_target(np.zeros(2), np.array([[2.0, 0.5], [0.5, 1.0]]))


def _state(target=None):
    target = _gauss() if target is None else target
    return S.init_chains(target, np.zeros((4, S.check_target(target))))


def _run_child(code):
    """Run ``code`` in a fresh interpreter; return (returncode, stderr)."""
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    return r.returncode, r.stderr


def test_a_mismatched_gaussian_target_raises_instead_of_crashing():
    """The reproduction of issue 29: mu of length 3 with a 2 x 2 Lambda used to kill the process in
    init_chains, log_density_and_force, every step and sample."""
    rc, err = _run_child("""
        import numpy as np
        from pedagogy_lib.samplers import (GaussianTarget, gaussian_target, gibbs_step, hmc_step, init_chains,
                                           log_density_and_force, mala_step, rwmh_step, sample)
        bad = GaussianTarget(np.zeros(3), np.eye(2))
        rng = np.random.default_rng(0)
        st = init_chains(gaussian_target(np.zeros(3), np.eye(3)), np.zeros((4, 3)))
        calls = [lambda: init_chains(bad, np.zeros((4, 3))), lambda: log_density_and_force(bad, np.zeros((4, 3))),
                 lambda: rwmh_step(bad, st, 0.5, rng), lambda: mala_step(bad, st, 0.1, rng),
                 lambda: hmc_step(bad, st, 0.1, 3, rng), lambda: gibbs_step(bad, st, rng)]
        calls += [lambda m=m: sample(bad, st, 5, rng, method=m) for m in ("rwmh", "mala", "hmc", "gibbs")]
        for call in calls:
            try:
                call()
            except ValueError as e:
                assert "target.Lambda" in str(e), e
            else:
                raise SystemExit("no error")
    """)
    assert rc == 0, err


BAD_TARGETS = [
    ("mismatch", S.GaussianTarget(np.zeros(3), np.eye(2)), ValueError, "target.Lambda"),
    ("nan Lambda", S.GaussianTarget(np.zeros(2), np.array([[1.0, np.nan], [np.nan, 1.0]])), ValueError,
     "target.Lambda"),
    ("indefinite", S.GaussianTarget(np.zeros(2), -np.eye(2)), ValueError, "target.Lambda"),
    ("asymmetric", S.GaussianTarget(np.zeros(2), np.array([[1.0, 0.9], [0.0, 1.0]])), ValueError, "target.Lambda"),
    ("complex mu", S.GaussianTarget(np.zeros(2) + 0j, np.eye(2)), TypeError, "target.mu"),
    ("2-D mu", S.GaussianTarget(np.zeros((2, 1)), np.eye(2)), ValueError, "target.mu"),
    ("empty mu", S.GaussianTarget(np.zeros(0), np.eye(0)), ValueError, "target.mu"),
    ("inf mu", S.GaussianTarget(np.array([np.inf, 0.0]), np.eye(2)), ValueError, "target.mu"),
    ("banana nan b", S.Banana(np.nan, 1.0), ValueError, "target.b"),
    ("banana s = 0", S.Banana(1.0, 0.0), ValueError, "target.s"),
    ("banana s array", S.Banana(1.0, np.ones(2)), ValueError, "target.s"),
    ("banana s string", S.Banana(1.0, "1"), TypeError, "target.s"),
    ("python D = 0", S.PythonTarget(lambda x: (x[:, 0], x), 0), ValueError, "target.D"),
    ("python D float", S.PythonTarget(lambda x: (x[:, 0], x), 2.0), TypeError, "target.D"),
    ("python not callable", S.PythonTarget(3, 2), TypeError, "target.log_density_and_force"),
]


@pytest.mark.parametrize("label, target, err, field", BAD_TARGETS, ids=[b[0] for b in BAD_TARGETS])
@pytest.mark.parametrize("call", ["check_target", "log_density_and_force", "init_chains"])
def test_malformed_targets_are_refused_naming_the_field(label, target, err, field, call):
    x = np.zeros((3, 2))
    fn = {"check_target": lambda: S.check_target(target),
          "log_density_and_force": lambda: S.log_density_and_force(target, x),
          "init_chains": lambda: S.init_chains(target, x)}[call]
    with pytest.raises(err, match=field.replace(".", r"\.")):
        fn()


@pytest.mark.parametrize("method", ["rwmh", "mala", "hmc", "gibbs"])
def test_every_step_refuses_a_malformed_target(method):
    bad = _gauss()._replace(Lambda=np.eye(3))
    with pytest.raises(ValueError, match=r"target\.Lambda"):
        S.sample(bad, _state(), 2, RNG, method=method, step_size=0.1)


BAD_STATES = [
    ("x wrong D", dict(x=np.zeros((4, 3))), ValueError, "state.x"),
    ("x 1-D", dict(x=np.zeros(4)), ValueError, "state.x"),
    ("x empty", dict(x=np.zeros((0, 2))), ValueError, "state.x"),
    ("x nan", dict(x=np.full((4, 2), np.nan)), ValueError, "state.x"),
    ("x complex", dict(x=np.zeros((4, 2)) + 0j), TypeError, "state.x"),
    ("log_p short", dict(log_p=np.zeros(2)), ValueError, "state.log_p"),
    ("log_p nan", dict(log_p=np.full(4, np.nan)), ValueError, "state.log_p"),
    ("force wrong D", dict(force=np.zeros((4, 1))), ValueError, "state.force"),
    ("n_accept short", dict(n_accept=np.zeros(1)), ValueError, "state.n_accept"),
    ("n_accept negative", dict(n_accept=-np.ones(4)), ValueError, "state.n_accept"),
    ("n_steps float", dict(n_steps=1.5), TypeError, "state.n_steps"),
    ("n_steps negative", dict(n_steps=-1), ValueError, "state.n_steps"),
    ("log_p of another target", dict(log_p=np.ones(4)), ValueError, "state.log_p"),
]


@pytest.mark.parametrize("label, change, err, field", BAD_STATES, ids=[b[0] for b in BAD_STATES])
@pytest.mark.parametrize("step", ["rwmh_step", "mala_step", "hmc_step", "gibbs_step", "sample"])
def test_malformed_chain_states_are_refused_naming_the_field(label, change, err, field, step):
    t = _gauss()
    st = _state(t)._replace(**change)
    fn = {"rwmh_step": lambda: S.rwmh_step(t, st, 0.5, RNG),
          "mala_step": lambda: S.mala_step(t, st, 0.1, RNG),
          "hmc_step": lambda: S.hmc_step(t, st, 0.1, 2, RNG),
          "gibbs_step": lambda: S.gibbs_step(t, st, RNG),
          "sample": lambda: S.sample(t, st, 3, RNG)}[step]
    with pytest.raises(err, match=field.replace(".", r"\.")):
        fn()


def test_a_state_carried_to_another_target_is_refused():
    st = _state(S.banana(1.0, 1.0))
    with pytest.raises(ValueError, match=r"state\.log_p"):
        S.sample(_gauss(), st, 5, RNG)


def test_a_valid_state_rebuilt_by_hand_is_accepted_and_gives_the_same_chain():
    t = _gauss()
    st = _state(t)
    by_hand = S.ChainState(st.x.tolist(), list(st.log_p), st.force, st.n_accept.astype(int), 0)
    a = S.sample(t, st, 20, np.random.default_rng(3))
    b = S.sample(t, by_hand, 20, np.random.default_rng(3))
    np.testing.assert_array_equal(a.trace, b.trace)


def test_acceptance_rate_checks_the_state():
    with pytest.raises(TypeError, match=r"state\.n_steps"):
        S.acceptance_rate(_state()._replace(n_steps="a"))


def test_a_python_target_returning_the_wrong_shapes_is_refused():
    t = S.python_target(lambda x: (x[:, 0], x[:, :1]), 2)
    with pytest.raises(ValueError, match="log_density_and_force must return"):
        S.init_chains(t, np.zeros((3, 2)))


def test_leapfrog_and_mala_proposal_check_their_arguments():
    with pytest.raises(ValueError, match=r"target\.Lambda"):
        S.leapfrog(_gauss()._replace(Lambda=np.eye(3)), np.zeros((2, 2)), np.zeros((2, 2)), 0.1, 2)
    with pytest.raises(ValueError, match="x_from"):
        S.mala_log_proposal(np.zeros((2, 2)), np.zeros((2, 3)), np.zeros((2, 2)), 0.1)
    with pytest.raises(TypeError, match="force_from"):
        S.mala_log_proposal(np.zeros((2, 2)), np.zeros((2, 2)), "f", 0.1)


BAD_MODELS = [
    ("y 2-D", dict(y=np.zeros((3, 2))), ValueError, "model.y"),
    ("y nan", dict(y=np.array([1.0, np.nan])), ValueError, "model.y"),
    ("m0 array", dict(m0=np.zeros(2)), ValueError, "model.m0"),
    ("s0 negative", dict(s0=-1.0), ValueError, "model.s0"),
    ("a0 zero", dict(a0=0.0), ValueError, "model.a0"),
    ("b0 string", dict(b0="1"), TypeError, "model.b0"),
]


@pytest.mark.parametrize("label, change, err, field", BAD_MODELS, ids=[b[0] for b in BAD_MODELS])
def test_malformed_normal_gamma_models_are_refused_naming_the_field(label, change, err, field):
    model = S.normal_gamma_model(np.array([0.5, 1.0, 1.5]), 0.0, 1.0, 2.0, 2.0)._replace(**change)
    theta = np.array([[0.0, 1.0], [1.0, 2.0]])
    for call in (lambda: S.normal_gamma_log_joint(model, theta), lambda: S.gibbs_normal_gamma(model, theta, 2, RNG)):
        with pytest.raises(err, match=field.replace(".", r"\.")):
            call()


def test_a_target_whose_mu_and_Lambda_disagree_names_both():
    """mu of length 3 with a 2 x 2 Lambda: either may be the wrong one, so the message names both (it blamed
    Lambda alone)."""
    with pytest.raises(ValueError, match=r"^mu and Lambda disagree on the dimension: mu has shape \(3,\) "
                                         r"\(D = 3\) but Lambda has shape \(2, 2\)"):
        S.gaussian_target(np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match=r"^Lambda must have shape"):      # not square: Lambda alone is wrong
        S.gaussian_target(np.zeros(2), np.ones((2, 3)))
