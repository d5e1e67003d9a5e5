"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch10_rbm_learning`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import itertools

import numpy as np
from scipy.special import expit as _sig

from ...harmonium.model import EFHParams


def binary_states(n):
    """All 2**n binary states of n units, one per row."""
    return np.array(list(itertools.product((0.0, 1.0), repeat=n)))


def tables(p: EFHParams):
    """Joint p(x, y) over all states (rows x, columns y), and the state lists."""
    X, Y = binary_states(p.W.shape[0]), binary_states(p.W.shape[1])
    negE = (X @ p.b_x)[:, None] + (Y @ p.b_y)[None, :] + X @ p.W @ Y.T
    P = np.exp(negE - negE.max())
    return P / P.sum(), X, Y


def hidden_sum(p: EFHParams, *, normalize=True, free_energy=True):
    """Hidden states, p(x) from the free energy (or a slip's) and E[y | x]."""
    X = binary_states(p.W.shape[0])
    zeta = p.b_y + X @ p.W
    log_px = X @ p.b_x + (np.logaddexp(0.0, zeta).sum(axis=1) if free_energy else 0.0)
    px = np.exp(log_px - log_px.max()) if normalize else np.exp(log_px)
    if normalize:
        px /= px.sum()
    return X, px, _sig(zeta)


def data_dist(p: EFHParams, Yd):
    """The empirical distribution of the rows Yd over the visible states of p."""
    return np.array([np.mean(np.all(Yd == y, axis=1)) for y in tables(p)[2]])


def posterior_means(p: EFHParams, Yrows):
    """E[x | y] for every row y of Yrows."""
    return _sig(Yrows @ p.W.T + p.b_x)


def transition(p: EFHParams):
    """T[y', y] = sum_x p(y'|x) p(x|y), from the joint table."""
    P, X, Y = tables(p)
    p_x_given_y = P / P.sum(axis=0, keepdims=True)            # [x, y]
    p_y_given_x = (P / P.sum(axis=1, keepdims=True)).T        # [y, x]
    return p_y_given_x @ p_x_given_y


def gradient_variant(p: EFHParams, Yd, *, slip: str = ""):
    """(dW, db_x, db_y) of Eq. 10.19, or what the named ``slip`` gives (None if unlistable)."""
    small = sum(p.W.shape) <= 12
    if slip == "visible bias":                                     # weights over visible states, softplus left out
        if p.W.shape[1] > 12:
            return None
        Y = binary_states(p.W.shape[1])
        q = np.exp(Y @ p.b_y - np.max(Y @ p.b_y))
        q /= q.sum()
        mu_all = posterior_means(p, Y)
        model = ((mu_all * q[:, None]).T @ Y, q @ mu_all, q @ Y)
    elif slip == "hidden bias":
        X = binary_states(p.W.shape[0])
        q = np.exp(X @ p.b_x - np.max(X @ p.b_x))
        q /= q.sum()
        mean_y = _sig(p.b_y + X @ p.W)
        model = ((X * q[:, None]).T @ mean_y, q @ X, q @ mean_y)
    elif slip == "no Z":
        X, u, mean_y = hidden_sum(p, normalize=False)
        model = ((u[:, None] * X).T @ mean_y, u @ X, u @ mean_y)
    else:
        if small:
            P, X, Y = tables(p)
            model = (X.T @ P @ Y, P.sum(axis=1) @ X, P.sum(axis=0) @ Y)
        else:
            X, px, mean_y = hidden_sum(p)
            model = ((px[:, None] * X).T @ mean_y, px @ X, px @ mean_y)
        if slip == "marginals":
            model = (np.outer(model[1], model[2]),) + model[1:]
    N = Yd.shape[0]
    mu = np.tile(_sig(p.b_x), (N, 1)) if slip == "biases only" else posterior_means(p, Yd)
    data = (mu.T @ Yd / N, mu.mean(axis=0), Yd.mean(axis=0))
    if slip == "no hidden":
        data = (np.zeros_like(data[0]), np.zeros_like(data[1]), data[2])
    if slip == "summed":
        data = tuple(N * d for d in data)
    if slip == "sign":
        return tuple(d - m for m, d in zip(model, data))
    grad = tuple(m - d for m, d in zip(model, data))
    if slip == "transposed":
        grad = (grad[0].T,) + grad[1:]
    return grad


def data_moment(prob):
    """<E[x | y] y^T> averaged over the rows of the data."""
    return posterior_means(prob.params, prob.Y).T @ prob.Y / prob.Y.shape[0]


def model_phase_moment(prob, ref=None):
    """E[x y^T] under the model's joint, by listing every joint state."""
    P, X, Y = tables(prob.params)
    return X.T @ P @ Y


def model_moment(p: EFHParams):
    """E[x y^T] of a harmonium with few hidden units, summing the visible units out."""
    X, px, mean_y = hidden_sum(p)
    return (px[:, None] * X).T @ mean_y


def model_moment_slips(p: EFHParams, ref=None) -> dict:
    """What named wrong derivations give for E[x y^T]."""
    X, px, mean_y = hidden_sum(p)
    _, u, _ = hidden_sum(p, normalize=False)
    _, q, _ = hidden_sum(p, free_energy=False)
    return {
        "you did not divide by the normalizer Z": (u[:, None] * X).T @ mean_y,
        "you weighted each hidden state by its bias term alone: its free energy also has a term for each "
        "visible unit, summed out": (q[:, None] * X).T @ mean_y,
        "you multiplied the marginal means E[x] E[y]^T: x and y are not independent under the joint":
            np.outer(px @ X, px @ mean_y),
    }


def stationary_biases(prob):
    """The log-odds of the data's visible means."""
    m = prob.Y.mean(axis=0)
    return np.log(m) - np.log1p(-m)


def cd_update(p: EFHParams, Y0, X0, Yk, *, slip: str = ""):
    """(dW, db_x, db_y) of Eq. 10.23 averaged over the batch, with hidden probabilities in both phases, or what the
    named ``slip`` of the exercise gives."""
    B = Y0.shape[0]
    m0 = X0 if slip == "samples" else posterior_means(p, Y0)
    mk = posterior_means(p, Y0 if slip == "k-probs" else Yk)
    sign = 1.0 if slip == "plus" else -1.0
    out = [m0.T @ Y0 + sign * (mk.T @ Yk), m0.sum(axis=0) + sign * mk.sum(axis=0),
           Y0.sum(axis=0) + sign * Yk.sum(axis=0)]
    out = [o if slip == "summed" else o / B for o in out]
    if slip == "sign":
        out = [-o for o in out]
    if slip == "no biases":
        out = [out[0], np.zeros_like(out[1]), np.zeros_like(out[2])]
    return tuple(out)
