"""Dense oracle for the factor-analysis and PPCA log likelihood, shared by tests/factor.

log N(y; c, C C^T + diag(Lambda)) of given parameters in mpmath at ``dps`` digits, with no Woodbury identity
and no determinant lemma, and y - c formed exactly: a reference that shares no code with the library.
"""
from __future__ import annotations


def dense_log_lik(params, y, dps):
    """Sum over the rows of y of the log density, as a float."""
    import mpmath as mp
    C, c, Lam = params
    with mp.workdps(dps):
        Cm = mp.matrix(C.tolist())
        S = Cm * Cm.T
        for i, v in enumerate(Lam):
            S[i, i] += mp.mpf(float(v))
        Si = S ** -1
        logdet = mp.log(mp.det(S))
        total = mp.mpf(0)
        for row in y:
            r = mp.matrix([mp.mpf(float(a)) - mp.mpf(float(b)) for a, b in zip(row, c)])
            total += -(r.T * Si * r)[0] / 2
        total += -y.shape[0] * (logdet + len(Lam) * mp.log(2 * mp.pi)) / 2
        return float(total)
