"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.appb_identities`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import math

import numpy as np


def solve_update(a, U, C, V, b):
    """x with (diag(a) + U C V) x = b by block elimination, one step of refinement; O(n)."""
    def once(r):
        Ar, AU = r / a, U / a[:, None]
        y = np.linalg.solve(np.eye(len(C)) + C @ (V @ AU), C @ (V @ Ar))
        return (r - U @ y) / a
    x = once(b)
    return x + once(b - (a * x + U @ (C @ (V @ x))))


def diag_change(a, U, C, V):
    """diag((A + U C V)^{-1}) - diag(A^{-1}) in O(n) from Eq. B.14, row by row."""
    AU, VA = U / a[:, None], V / a[None, :]
    left = AU @ np.linalg.solve(np.eye(len(C)) + C @ (V @ AU), C)         # n x k
    return -np.einsum("ik,ki->i", left, VA)


def sm_diag_chain(a, u, v, *, sign=-1.0, one=1.0, den=1.0, from_A=False, same_side=False, which=(0, 1)):
    """The change of the inverse's diagonal by Eq. B.15, update by update, named slips as options."""
    def update(apply, ui, vi):
        Mu = apply(ui)
        d = one + den * (vi @ Mu)
        return lambda w: apply(w) + sign * Mu * (vi @ apply(w)) / d

    def base(w):
        return w / a

    apply, apply_t, change = base, base, np.zeros_like(a)
    for i in which:
        p = apply(u[i])
        q = apply(v[i]) if same_side else apply_t(v[i])
        change = change + sign * p * q / (one + den * (v[i] @ p))
        if not from_A:
            apply, apply_t = update(apply, u[i], v[i]), update(apply_t, v[i], u[i])
    return change


def wb_slip(a, U, C, V, b, *, inner):
    """A^{-1} b - A^{-1} U inner(C, V A^{-1} U) V A^{-1} b."""
    Ab, AU = b / a, U / a[:, None]
    return Ab - AU @ (inner(C, V @ AU) @ (V @ Ab))


def logdet(a, U, C, V):
    """log|det(diag(a) + U C V)| in O(n), from the block matrix [[A, U], [-V, C^{-1}]]."""
    small = np.eye(len(C)) + C @ (V @ (U / a[:, None]))
    return math.fsum(np.log(a)) + np.linalg.slogdet(small)[1]


def ridge_path(Phi, y, lam):
    """Independently of Eq. B.15: each prefix's ridge weights solved afresh, and the final inverse."""
    T, d = Phi.shape
    W = np.array([np.linalg.solve(Phi[:t + 1].T @ Phi[:t + 1] + lam * np.eye(d), Phi[:t + 1].T @ y[:t + 1])
                  for t in range(T)])
    return W, np.linalg.inv(Phi.T @ Phi + lam * np.eye(d))


def rls_variant(Phi, y, lam, *, one=1.0, sign=-1.0, start_lam=False, old_gain=False, lag=False, gain_form=False):
    """Recursive least squares with one named slip switched on: the weights as P_inv X^T y (the page's route) or, with
    ``gain_form``, by the correction w + P_inv phi (y - phi^T w)."""
    T, d = Phi.shape
    P = lam * np.eye(d) if start_lam else np.eye(d) / lam
    w, Xty, W = np.zeros(d), np.zeros(d), np.zeros((T, d))
    for t in range(T):
        phi = Phi[t]
        Pphi = P @ phi
        P_new = P + sign * np.outer(Pphi, Pphi) / (one + phi @ Pphi)
        Xty = Xty + phi * y[t]
        if gain_form:
            w_new = w + (P if old_gain else P_new) @ phi * (y[t] - phi @ w)
        else:
            w_new = P_new @ Xty
        W[t] = w if lag else w_new
        P, w = P_new, w_new
    return W, P


# --- slip tables: what named wrong derivations give on one hidden problem (some entries are one step
# from the reference, so they live here, out of the checker module's reach) ---

def rls_slips(Phi, y, lam) -> tuple[dict, dict]:
    """(hints for W, hints for P_inv) of named wrong versions."""
    no_one = "you divided by phi^T P_inv phi without the 1 + of Eq. B.15"
    plus = "you added the correction of Eq. B.15; it is subtracted"
    start = "you started from lambda I; before any data the inverse is (lambda I)^{-1}"
    W_hints, P_hints = {}, {}
    with np.errstate(all="ignore"):          # a slip may divide by (nearly) zero; its numbers are only compared
        for text, kw in ((no_one, {"one": 0.0}), (plus, {"sign": 1.0}), (start, {"start_lam": True})):
            W_hints[text], P_hints[text] = rls_variant(Phi, y, lam, **kw)
            W_hints[text + " (seen in your weights)"] = rls_variant(Phi, y, lam, gain_form=True, **kw)[0]
        W_hints["row t of your W holds the weights before observation t is used; it should hold them after (row 0 "
                "is already fitted to the first observation)"] = rls_variant(Phi, y, lam, lag=True)[0]
        W_hints["your correction of the weights uses the inverse from before the update; the gain is the updated "
                "P_inv phi"] = rls_variant(Phi, y, lam, gain_form=True, old_gain=True)[0]
    return W_hints, P_hints
