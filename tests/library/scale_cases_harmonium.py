"""Scale cases of the harmonium family (the method: tests/library/test_scales.py).

A harmonium's scale is its inverse temperature: every weight and bias times ``beta``, so that each
log-potential (an energy, a logit) is ``beta`` times one of ordinary size. Each case runs at two of them:
``beta = s`` itself (1e-150: near-uniform conditionals; 1e150: every conditional saturated) and
``beta = 0.5 + 2 |log10 s|`` (logits to about 300 nats, where ``exp(-logit)`` runs down the whole range
of float64). The references are written here from the definitions, in logs by ``np.logaddexp`` over every
state (or in mpmath where a difference of free energies cancels); they call nothing of the library.
The tolerances are relative, plus ``1e-12`` times the size ``beta * m`` of the terms summed (no float64
route resolves a log-quantity more finely than that).
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from scale_kit import case, close, quiet

#: This module's public functions without a case, with the reason.
NOT_SWEPT: dict = {}


def _betas(s):
    return (s, 0.5 + 2.0 * abs(np.log10(s)))


def _states(n):
    """All binary states of ``n`` units, unit 0 fastest (the library's order)."""
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))[:, ::-1].copy()


def _log_sig(a):
    """log sigmoid(a), stably."""
    return -np.logaddexp(0.0, -a)


def _sig(a):
    return np.exp(_log_sig(a))


def _lse(a, axis=None):
    return np.logaddexp.reduce(a, axis=axis)


def _log_bern(X, logits):
    """sum over units of log Bernoulli(X[a]; sigmoid(logits[b])), shape (A, B)."""
    return X @ _log_sig(logits).T + (1.0 - X) @ _log_sig(-logits).T


def _rbm(rng, K, M, beta):
    from pedagogy_lib.harmonium import model
    W, bx, by = rng.normal(size=(K, M)), rng.normal(size=K), rng.normal(size=M)
    size = float(np.abs(W).sum() + np.abs(bx).sum() + np.abs(by).sum())
    return model.EFHParams(W * beta, bx * beta, by * beta, "bernoulli", "bernoulli"), beta * size


# ================================================================================ model
@case("harmonium.model.hidden_natural", "harmonium.model.visible_natural", "harmonium.model.hidden_mean",
      "harmonium.model.visible_mean", "harmonium.model.energy", "harmonium.model.log_conditional_hidden")
def case_harmonium_conditionals(s, rng):
    """Natural parameters, means, energies and hidden log conditionals of a 2 x 3 Bernoulli-Bernoulli and a
    Bernoulli-Gaussian harmonium with weights and biases times ``beta``: the natural parameters and the
    Bernoulli energy are ``beta`` times those at ``beta = 1`` (the Gaussian energy keeps its ``-log k``),
    means and log conditionals against the logistic function in logs (``np.logaddexp``); a Poisson visible
    layer's means ``e^zeta`` where float64 holds them, refused naming ``params`` and the range beyond."""
    from pedagogy_lib.harmonium import model
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    yg = rng.normal(size=(3, 3))
    W, bx, by = rng.normal(size=(2, 3)), rng.normal(size=2), rng.normal(size=3)
    for beta in _betas(s):
        tol = 1e-12 * beta * float(np.abs(W).sum() + np.abs(bx).sum() + np.abs(by).sum() + 1.0)
        for visible, yy in (("bernoulli", y), ("gaussian", yg)):
            p1 = model.EFHParams(W, bx, by, "bernoulli", visible)
            pb = model.EFHParams(W * beta, bx * beta, by * beta, "bernoulli", visible)
            eta = beta * (yy @ W.T + bx)
            zeta = beta * (x @ W + by)
            close(quiet(model.hidden_natural, pb, yy), eta, rtol=1e-13, atol=tol, what=f"eta ({visible})")
            close(quiet(model.visible_natural, pb, x), zeta, rtol=1e-13, atol=tol, what=f"zeta ({visible})")
            close(quiet(model.hidden_mean, pb, yy), _sig(eta), rtol=1e-12, atol=1e-300, what=f"E[x | y] ({visible})")
            close(quiet(model.log_conditional_hidden, pb, x, yy),
                  np.sum(x * _log_sig(eta) + (1 - x) * _log_sig(-eta), axis=1), rtol=1e-12, atol=tol,
                  what=f"log p(x | y) ({visible})")
            log_k = 0.0 if visible == "bernoulli" else -0.5 * np.sum(yy ** 2, axis=1) - 1.5 * np.log(2 * np.pi)
            e1 = model.energy(p1, x, yy) + log_k                    # the part linear in the parameters
            close(quiet(model.energy, pb, x, yy), beta * e1 - log_k, rtol=1e-12, atol=tol,
                  what=f"energy ({visible})")
            mean_y = _sig(zeta) if visible == "bernoulli" else zeta
            close(quiet(model.visible_mean, pb, x), mean_y, rtol=1e-12, atol=1e-300 if visible == "bernoulli"
                  else tol, what=f"E[y | x] ({visible})")
        pp = model.EFHParams(W * beta, bx * beta, by * beta, "bernoulli", "poisson")
        zeta = beta * (x @ W + by)
        if zeta.max() <= np.log(np.finfo(float).max):
            close(quiet(model.visible_mean, pp, x), np.exp(zeta), rtol=1e-12, atol=1e-300, what="E[y | x] (poisson)")
        else:                                                       # e^zeta beyond float64: refused by name
            with pytest.raises(ValueError, match=r"params.*Poisson.*709\.78"):
                quiet(model.visible_mean, pp, x)


# ================================================================================ exact
@case("harmonium.exact.log_marginal_table", "harmonium.exact.average_log_likelihood", "harmonium.exact.mre",
      "harmonium.exact.model_moments", "harmonium.exact.data_moments", "harmonium.exact.visible_transition_matrix",
      "harmonium.exact.chain_distributions", "harmonium.gibbs.pseudo_log_likelihood")
def case_harmonium_exact_tables(s, rng):
    """A 2 x 3 Bernoulli harmonium with weights and biases times ``beta``, against its 32 joint states
    enumerated in logs: the marginal tables, the average log likelihood and MRE of four rows, the model and
    data moments, the visible Gibbs kernel and three steps of the chain; the pseudo-log-likelihood against
    mpmath (its free-energy differences cancel)."""
    import mpmath as mp

    from pedagogy_lib.harmonium import exact, gibbs
    K, M = 2, 3
    Sx, Sy = _states(K), _states(M)
    Y = Sy[[1, 5, 5, 6]]
    idx = [1, 5, 5, 6]
    for beta in _betas(s):
        p, size = _rbm(rng, K, M, beta)
        tol = 1e-12 * (size + 1.0)
        E = Sx @ p.W @ Sy.T + (Sx @ p.b_x)[:, None] + (Sy @ p.b_y)[None, :]        # log weights [x, y]
        log_Z = _lse(E)
        close(quiet(exact.log_marginal_table, p, "hidden"), _lse(E, axis=1), rtol=1e-12, atol=tol, what="hidden table")
        log_py = _lse(E, axis=0)
        close(quiet(exact.log_marginal_table, p, "visible"), log_py, rtol=1e-12, atol=tol, what="visible table")
        avg = float(np.mean(log_py[idx]) - log_Z)
        close(quiet(exact.average_log_likelihood, p, Y), avg, rtol=1e-12, atol=tol, what="average log likelihood")
        q = np.array([0.25, 0.5, 0.25])
        close(quiet(exact.mre, p, Y), float(q @ np.log(q)) - avg, rtol=1e-12, atol=tol, what="MRE")
        P = np.exp(E - log_Z)
        mom = quiet(exact.model_moments, p)
        close(mom.W, Sx.T @ P @ Sy, rtol=1e-12, atol=1e-14, what="E[x y^T]")
        close(mom.b_x, Sx.T @ P.sum(axis=1), rtol=1e-12, atol=1e-14, what="E[x]")
        close(mom.b_y, Sy.T @ P.sum(axis=0), rtol=1e-12, atol=1e-14, what="E[y]")
        Ex_y = _sig(Y @ p.W.T + p.b_x)
        dm = quiet(exact.data_moments, p, Y)
        close(dm.W, Ex_y.T @ Y / 4, rtol=1e-12, atol=1e-300, what="data E[x y^T]")
        close(dm.b_x, Ex_y.mean(axis=0), rtol=1e-12, atol=1e-300, what="data E[x]")
        log_x_y = _log_bern(Sx, Sy @ p.W.T + p.b_x)                                  # [x, y]: log p(x | y)
        log_y_x = _log_bern(Sy, Sx @ p.W + p.b_y)                                    # [y, x]: log p(y | x)
        T = np.exp(_lse(log_y_x[:, :, None] + log_x_y[None, :, :], axis=1))          # [y', y]
        close(quiet(exact.visible_transition_matrix, p), T, rtol=1e-11, atol=1e-15, what="Gibbs kernel")
        p0 = np.zeros(8)
        p0[[1, 5, 6]] = [0.25, 0.5, 0.25]
        chain = [p0]
        for _ in range(3):
            chain.append(T @ chain[-1])
        close(quiet(exact.chain_distributions, p, p0, 3), np.array(chain), rtol=1e-10, atol=1e-15, what="chain")
        with mp.workdps(40):
            W, bx, by = ([[mp.mpf(float(v)) for v in r] for r in p.W], [mp.mpf(float(v)) for v in p.b_x],
                         [mp.mpf(float(v)) for v in p.b_y])

            def free(yv):
                return -(mp.fsum(b * v for b, v in zip(by, yv))
                         + mp.fsum(mp.log1p(mp.exp(bx[k] + mp.fsum(W[k][j] * yv[j] for j in range(M))))
                                   for k in range(K)))
            F = [free([int(v) for v in row]) for row in Sy]                          # every visible state
            total = mp.fsum(-mp.log1p(mp.exp(-(F[i ^ (1 << j)] - F[i]))) for i in idx for j in range(M))
            pll = float(total / len(Y))
        close(quiet(gibbs.pseudo_log_likelihood, p, Y), pll, rtol=1e-12, atol=tol, what="pseudo-log-likelihood")


# ================================================================================ dbn
@case("harmonium.dbn.invert", "harmonium.dbn.directed_table", "harmonium.dbn.aggregated_posterior",
      "harmonium.dbn.up_pass", "harmonium.dbn.dbn_visible_log_probs", "harmonium.dbn.jre_bound")
def case_harmonium_dbn(s, rng):
    """A two-layer DBN (3 data units, 2 and 2 hidden) with every weight and bias times ``beta``, against its
    states enumerated in logs: the directed emissions, the aggregated posterior and up pass, the DBN's
    visible log probabilities (the top marginal pushed down in logs) and the joint relative entropy, which
    at ``rbm1 = invert(rbm0)`` is also the bottom harmonium's MRE."""
    from pedagogy_lib.harmonium import dbn
    K, M = 2, 3
    Sx, Sy = _states(K), _states(M)
    p_y = np.array([0.0, 0.25, 0.0, 0.0, 0.0, 0.5, 0.25, 0.0])
    data = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 1.0], [0.5, 0.25, 1.0]])
    for beta in _betas(s):
        r0, size0 = _rbm(rng, K, M, beta)
        r1, size1 = _rbm(rng, 2, K, beta)
        tol = 1e-12 * (size0 + size1 + 1.0)
        inv = quiet(dbn.invert, r0)
        assert np.array_equal(inv.W, r0.W.T) and np.array_equal(inv.b_x, r0.b_y) and np.array_equal(inv.b_y, r0.b_x)
        log_y_x = _log_bern(Sy, Sx @ r0.W + r0.b_y)                                  # [y, x]: log p(y | x)
        log_x_y = _log_bern(Sx, Sy @ r0.W.T + r0.b_x)                                # [x, y]: log q(x | y)
        close(quiet(dbn.directed_table, r0), np.exp(log_y_x), rtol=1e-12, atol=1e-300, what="p(y | x)")
        close(quiet(dbn.aggregated_posterior, r0, p_y), np.exp(log_x_y) @ p_y, rtol=1e-12, atol=1e-300,
              what="aggregated posterior")
        close(quiet(dbn.up_pass, r0, data), _sig(data @ r0.W.T + r0.b_x), rtol=1e-12, atol=1e-300, what="up pass")
        Sx1 = _states(2)
        E1 = Sx1 @ r1.W @ Sx.T + (Sx1 @ r1.b_x)[:, None] + (Sx @ r1.b_y)[None, :]    # top harmonium [x2, x1]
        log_top = _lse(E1, axis=0) - _lse(E1)                                        # log p(x1; theta_1)
        log_dbn = _lse(log_y_x + log_top[None, :], axis=1)
        close(quiet(dbn.dbn_visible_log_probs, [r0, r1]), log_dbn, rtol=1e-12, atol=tol, what="DBN log p(y)")
        on = p_y > 0
        log_joint_q = np.log(p_y[on])[:, None] + log_x_y[:, on].T                   # [y, x]
        jre = float(np.sum(np.exp(log_joint_q) * (log_joint_q - log_y_x[on] - log_top[None, :])))
        close(quiet(dbn.jre_bound, r0, r1, p_y), jre, rtol=1e-11, atol=tol, what="JRE")
        E0 = Sx @ r0.W @ Sy.T + (Sx @ r0.b_x)[:, None] + (Sy @ r0.b_y)[None, :]
        log_p0 = _lse(E0, axis=0) - _lse(E0)
        mre = float(p_y[on] @ (np.log(p_y[on]) - log_p0[on]))
        close(quiet(dbn.jre_bound, r0, dbn.invert(r0), p_y), mre, rtol=1e-11, atol=tol, what="JRE at the inverse")


# ================================================================================ helmholtz
@case("harmonium.helmholtz.helmholtz_log_likelihood", "harmonium.helmholtz.helmholtz_jre")
def case_helmholtz_machine(s, rng):
    """A Helmholtz machine with layers of 3, 2 and 1 units, every generative and recognition weight and
    bias times ``beta``, against its 8 latent states enumerated in logs: the average log likelihood of four
    rows (one repeated) and the joint relative entropy, ``E_q[log q - log p(x, y)]`` less the data entropy."""
    from pedagogy_lib.harmonium import helmholtz as hh
    sizes = (3, 2, 1)
    Y = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    X1, X2 = _states(2), _states(1)
    lat = [(a, b) for b in X2 for a in X1]                                           # (x1, x2), 8 states
    for beta in _betas(s):
        G = [rng.normal(size=(sizes[l], sizes[l + 1])) * beta for l in range(2)]
        g = [rng.normal(size=sizes[l]) * beta for l in range(2)]
        R = [rng.normal(size=(sizes[l + 1], sizes[l])) * beta for l in range(2)]
        r = [rng.normal(size=sizes[l + 1]) * beta for l in range(2)]
        b_top = rng.normal(size=1) * beta
        hm = hh.HelmholtzParams(G, g, b_top, R, r)
        size = sum(float(np.abs(a).sum()) for a in G + g + R + r + [b_top])
        tol = 1e-12 * (size + 1.0)

        def lb(v, a):
            return float(v @ _log_sig(a) + (1 - v) @ _log_sig(-a))
        log_joint = np.array([[lb(y, G[0] @ x1 + g[0]) + lb(x1, G[1] @ x2 + g[1]) + lb(x2, b_top) for x1, x2 in lat]
                              for y in Y])
        log_q = np.array([[lb(x1, R[0] @ y + r[0]) + lb(x2, R[1] @ x1 + r[1]) for x1, x2 in lat] for y in Y])
        close(quiet(hh.helmholtz_log_likelihood, hm, Y), float(np.mean(_lse(log_joint, axis=1))), rtol=1e-12,
              atol=tol, what="log likelihood")
        freq = np.array([0.5, 0.25, 0.25])
        jre = float(np.mean(np.sum(np.exp(log_q) * (log_q - log_joint), axis=1)) + freq @ np.log(freq))
        close(quiet(hh.helmholtz_jre, hm, Y), jre, rtol=1e-11, atol=tol, what="JRE")


# ================================================================================ recurrent
@case("harmonium.recurrent.recurrent_inputs", "harmonium.recurrent.refh_training_data",
      "harmonium.recurrent.predictive_log_probs", "harmonium.recurrent.static_log_probs")
def case_recurrent_efh(s, rng):
    """A recurrent EFH with 2 observed and 2 hidden units (4 visible), weights and biases times ``beta``, on
    two sequences of three steps: the recurrent inputs by the logistic recursion in logs, the training rows,
    and the one-step predictive log probabilities over the 4 observation states; a static 2 x 2 RBM's frame
    log probabilities against its 16 joint states."""
    from pedagogy_lib.harmonium import recurrent as rec
    K, M = 2, 2
    Y = np.array([[[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], [[0.0, 0.0], [1.0, 0.0], [1.0, 0.0]]])
    Sy, Sx = _states(M), _states(K)
    for beta in _betas(s):
        p, size = _rbm(rng, K, M + K, beta)
        tol = 1e-12 * (size + 1.0)
        Wy, Wr, by = p.W[:, :M], p.W[:, M:], p.b_y[:M]
        r = np.empty((2, 3, K))
        r[:, 0] = 0.5
        for t in range(2):
            r[:, t + 1] = _sig(p.b_x + Y[:, t] @ Wy.T + r[:, t] @ Wr.T)
        close(quiet(rec.recurrent_inputs, p, Y), r, rtol=1e-12, atol=1e-300, what="recurrent inputs")
        close(quiet(rec.refh_training_data, p, Y), np.concatenate([Y, r], axis=2).reshape(6, M + K), rtol=1e-12,
              atol=1e-300, what="training rows")
        want = np.empty((2, 3))
        for i, t in itertools.product(range(2), range(3)):
            c = p.b_x + Wr @ r[i, t]
            f = Sy @ by + np.logaddexp(0.0, c[None, :] + Sy @ Wy.T).sum(axis=1)
            want[i, t] = f[int(Y[i, t] @ [1, 2])] - _lse(f)
        close(quiet(rec.predictive_log_probs, p, Y), want, rtol=1e-12, atol=tol, what="predictive log p(y_t)")
        q, size_q = _rbm(rng, K, M, beta)
        E = Sx @ q.W @ Sy.T + (Sx @ q.b_x)[:, None] + (Sy @ q.b_y)[None, :]
        log_py = _lse(E, axis=0) - _lse(E)
        close(quiet(rec.static_log_probs, q, Y), log_py[(Y @ [1, 2]).astype(int)], rtol=1e-12,
              atol=1e-12 * (size_q + 1.0), what="static log p(y_t)")
