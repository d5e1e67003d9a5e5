"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.da_fourdvar`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np


def strong_grads(p, x1, a, *, from_first=False, no_offset_forward=False):
    """The strong-constraint cost's gradients in x1 and the offset a for the window p, without an adjoint; named slips
    as options."""
    n = x1.shape[0]
    g1 = np.linalg.solve(p.Sigma1, x1 - p.mu1)
    ga = np.zeros(n)
    Ak, Bk = np.eye(n), np.zeros((n, n))                        # A^{t-1} and B_t at t = 1
    for t in range(p.y.shape[0]):
        x = Ak @ x1 + (0.0 if no_offset_forward else Bk @ a)
        r = p.C.T @ np.linalg.solve(p.R, p.C @ x - p.y[t])      # d/dx_t of the observation term
        g1 = g1 + Ak.T @ r
        ga = ga + (Bk + Ak if from_first else Bk).T @ r
        Bk = p.A @ Bk + np.eye(n)
        Ak = p.A @ Ak
    return g1, ga


def smoother_means(p, Q):
    """The smoother's means of the window p with model-error covariance Q, by conditioning the joint."""
    T, n = p.y.shape[0], 2
    Phi = np.zeros((T * n, T * n))           # x = m + Phi eps, eps = (x1 - mu1, w_2, ..., w_T)
    mean = np.zeros(T * n)
    powers = [np.eye(n)]
    for _ in range(T):
        powers.append(p.A @ powers[-1])
    for t in range(T):
        mean[t * n:(t + 1) * n] = powers[t] @ p.mu1
        for s in range(t + 1):
            Phi[t * n:(t + 1) * n, s * n:(s + 1) * n] = powers[t - s]
    noise = np.zeros((T * n, T * n))
    noise[:n, :n] = p.Sigma1
    for t in range(1, T):
        noise[t * n:(t + 1) * n, t * n:(t + 1) * n] = Q
    Sxx = Phi @ noise @ Phi.T
    H = np.kron(np.eye(T), p.C)
    Syy = H @ Sxx @ H.T + np.kron(np.eye(T), p.R)
    post = mean + Sxx @ H.T @ np.linalg.solve(Syy, p.y.ravel() - H @ mean)
    return post.reshape(T, n)


def weak_by_normal_equations(p, *, order=False, swap=False, transpose=False):
    """The weak-constraint minimizer of the window p from the normal equations, one named slip on."""
    T, n = p.y.shape[0], 2
    A = p.A.T if transpose else p.A
    Qi, Ri, Bi = np.linalg.inv(p.Q), np.linalg.inv(p.R), np.linalg.inv(p.Sigma1)
    H, b = np.zeros((T * n, T * n)), np.zeros(T * n)
    for t in range(T):
        s = slice(t * n, (t + 1) * n)
        H[s, s] += p.C.T @ Ri @ p.C + (Bi if t == 0 else Qi)
        b[s] += p.C.T @ Ri @ p.y[t] + (Bi @ p.mu1 if t == 0 else 0.0)
        if t < T - 1:
            nxt = slice((t + 1) * n, (t + 2) * n)
            H[s, s] += A.T @ Qi @ A
            low = A @ Qi if order else Qi @ A                   # the block below the diagonal
            if swap:
                low = low.T
            H[nxt, s], H[s, nxt] = -low, -low.T
    return np.linalg.solve(H, b).reshape(T, n)


def weak_reference(p):
    """The weak-constraint minimizer: the smoother's means with the model's own Q."""
    return smoother_means(p, p.Q)


def strong_minus_smoother(p):
    """The strong-constraint x1 (no model noise) minus the smoother's mean of x1."""
    return smoother_means(p, np.zeros((2, 2)))[0] - smoother_means(p, p.Q)[0]


def smoothed_x1(p, ref=None):
    return smoother_means(p, p.Q)[0]
