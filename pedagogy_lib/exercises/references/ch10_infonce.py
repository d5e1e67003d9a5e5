"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch10_infonce`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np
from scipy.special import log_softmax


def block_mi(S) -> float:
    """The mutual information in nats between the first two and the last two coordinates of N(0, S)."""
    S = np.asarray(S, float)
    return 0.5 * float(np.log(np.linalg.det(S[:2, :2]) * np.linalg.det(S[2:, 2:]) / np.linalg.det(S)))


def steady_gain(a, c, q, r):
    """The steady-state Kalman gain of a scalar state-space model, by iterating the Riccati map."""
    P = q
    for _ in range(5000):                       # prior variance by iterating the Riccati map
        K = P * c / (c * c * P + r)
        P = a * a * (1 - K * c) * P + q
    return P * c / (c * c * P + r)


def ar2_model(a1, a2, c, q, *, both_noisy=False):
    """State (x_t, x_{t-1}): transition, observation row and state noise covariance."""
    A = np.array([[a1, a2], [1.0, 0.0]])
    return A, np.array([c, 0.0]), (q * np.eye(2) if both_noisy else np.diag([q, 0.0]))


def ar2_weights(a1, a2, c, q, r, s, L, *, row=None, both_noisy=False):
    """Weights on y_t, y_{t-1}, ... of row @ A^s m_t, m_t the steady-state filtered mean."""
    A, C, Q = ar2_model(a1, a2, c, q, both_noisy=both_noisy)
    P = Q.copy()
    for _ in range(5000):                       # prior covariance by iterating the Riccati map
        K = P @ C / (C @ P @ C + r)
        P = A @ (P - np.outer(K, C @ P)) @ A.T + Q
    K = P @ C / (C @ P @ C + r)
    M = (np.eye(2) - np.outer(K, C)) @ A        # m_t = M m_{t-1} + K y_t
    out = (C if row is None else np.asarray(row, float)) @ np.linalg.matrix_power(A, s)
    w = []
    v = K
    for _ in range(L):
        w.append(out @ v)
        v = M @ v
    return np.array(w)


def ar2_window_weights(a1, a2, c, q, r, s, L):
    """The regression of y_{t+s} on the last L observations, from the stationary autocovariance."""
    A, C, Q = ar2_model(a1, a2, c, q)
    S = Q.copy()
    for _ in range(5000):                       # stationary state covariance, S = A S A^T + Q
        S = A @ S @ A.T + Q

    def acov(k):
        return C @ np.linalg.matrix_power(A, abs(k)) @ S @ C + (r if k == 0 else 0.0)
    G = np.array([[acov(i - j) for j in range(L)] for i in range(L)])
    return np.linalg.solve(G, np.array([acov(s + j) for j in range(L)]))


def log_softmax_positive(F: np.ndarray, axis: int) -> np.ndarray:
    """Log-softmax at the diagonal, normalized along ``axis`` (2: candidates, 1: anchors)."""
    return np.diagonal(log_softmax(F, axis=axis), axis1=1, axis2=2)
