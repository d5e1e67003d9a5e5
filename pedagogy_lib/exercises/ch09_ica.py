r"""Checkers for the exercises of notebook 9.1 (ICA as maximum likelihood); one sample per row."""
from __future__ import annotations

import numpy as np
from scipy import special

from ..deepgen import ica as _ica
from . import checker

__all__ = ["EX_A", "EX_Y", "EX_THETAS", "EX_N_FIT", "EX_X", "logistic_kurtosis", "gaussian_rotation_loglik",
           "switching_signs", "extended_infomax_step"]


def _draw_a(rng):
    """A power in [0.6, 4] (one decimal), not 1 (the logistic density itself) and not the book's 2."""
    return round(float(rng.choice([a for a in np.arange(0.6, 4.05, 0.1)
                                   if abs(a - 1.0) > 0.05 and abs(a - 2.0) > 0.05])), 1)


#: Exercise 1: the power a of the prior p_a proportional to psi'(x)^a, psi the logistic function.
EX_A = checker.book_or_drawn(2.0, _draw_a, seed=9101)

_rng = checker.problem_rng(2024)
_C = np.array([[1.0, 0.5], [0.2, 0.8]])
#: Exercise 2: zero-mean mixtures of two Laplace sources, 400 rows, whitened with the first EX_N_FIT rows and
#: evaluated on the others.
EX_Y = _rng.laplace(scale=1 / np.sqrt(2), size=(400, 2)) @ _C.T
EX_Y = EX_Y - EX_Y.mean(axis=0)
#: Exercise 2: rotation angles (radians) at which to evaluate the likelihood.
EX_THETAS = np.linspace(0.0, np.pi / 2, 7)
#: Exercise 2: the number of leading rows of EX_Y that the whitening matrix is computed from.
EX_N_FIT = 200
# Exercise 3: the third column is bimodal with 2% of large outliers, of positive excess kurtosis, yet Step 4
# gives it the sub-Gaussian prior; a student's copy draws the three kinds in another order.
_core = np.sign(_rng.uniform(-1, 1, 3000)) + 0.2 * _rng.standard_normal(3000)
_third = np.where(_rng.uniform(size=3000) < 0.02, 6.0 * _rng.standard_normal(3000), _core)


def _draw_order(rng):
    """A column order of the three kinds that does not put the heavy-tailed column first."""
    orders = [(1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]
    return list(orders[int(rng.integers(len(orders)))])


#: Exercise 3: three outputs of an unmixing matrix, one per column, 3000 samples in rows.
EX_X = np.column_stack([_rng.laplace(size=3000), _rng.uniform(-1.7, 1.7, size=3000),
                        _third])[:, checker.book_or_drawn([0, 1, 2], _draw_order, seed=9103)]


def logistic_kurtosis(k):
    """Exercise 1, ``ex-9-1-logistic-kurtosis``: your excess kurtosis of the prior proportional to the logistic
    density raised to the power :data:`EX_A`. Slips named: the kurtosis without the excess, the variance, unnormalized
    moments, the power left out; nothing about the sign or size of a miss."""
    from .references import ch09_ica as refs
    a = float(EX_A)
    ref = refs.logit_beta_kurtosis(a)
    var = 2.0 * float(special.polygamma(1, a))
    # the normalizer Z = B(a, a) of psi'^a; moments left unnormalized give m4 / m2^2 = (ref + 3) / Z
    Z = float(np.exp(special.betaln(a, a)))
    hints = {
        "you gave the kurtosis, not the *excess* kurtosis": ref + 3.0,
        "you gave the variance of the prior, not its kurtosis": var,
        "you divided unnormalized moments: psi'(x)^a does not integrate to one": (ref + 3.0) / Z - 3.0,
        "you gave the excess kurtosis of the logistic density itself: the statement's prior is a power of it":
            refs.logit_beta_kurtosis(1.0),
    }
    problems = checker.compare_scalar(k, ref, "your excess kurtosis", rtol=1e-5, hints=hints)
    return checker.result("excess kurtosis of a power of the logistic prior", problems)


def _rot(t):
    c, s = np.cos(t), np.sin(t)
    return np.array([[c, -s], [s, c]])


def _sym_inv_sqrt(S):
    """The symmetric inverse square root of S."""
    w, V = np.linalg.eigh(S)
    return (V / np.sqrt(w)) @ V.T


def _gauss(x):
    return -0.5 * x * x - 0.5 * np.log(2 * np.pi)


def _logistic(x):
    a = np.abs(x)
    return -a - 2 * np.log1p(np.exp(-a))


def gaussian_rotation_loglik(values):
    """Exercise 2, ``ex-9-1-rotations``: your average log-likelihoods (2, 7) of Eq. 9.5 on the last rows of
    :data:`EX_Y` (whitened from the first :data:`EX_N_FIT`) at each angle of :data:`EX_THETAS`, Gaussian prior in row
    0, logistic in row 1. Slips named: no log-det, priors swapped, sums, the N - 1 covariance, no inverse root, the
    wrong rows, the Gaussian maximum."""
    fit, test = EX_Y[:EX_N_FIT], EX_Y[EX_N_FIT:]

    def table(W, Y=test, *, mean=True, logdet=True):
        Ds = [_rot(t) @ W for t in EX_THETAS]
        rows = []
        for logpdf in (_gauss, _logistic):
            vals = []
            for D in Ds:
                lp = logpdf(Y @ D.T).sum(axis=1)
                log_det = np.log(abs(np.linalg.det(D))) if logdet else 0.0
                vals.append((np.mean(lp) if mean else np.sum(lp)) + log_det)
            rows.append(vals)
        return np.array(rows)

    def cov(Y):
        return Y.T @ Y / len(Y)

    W = _sym_inv_sqrt(cov(fit))
    ref = table(W)
    closed = ref.copy()
    closed[0] = -(np.log(2 * np.pi) + 1) - 0.5 * np.linalg.slogdet(cov(test))[1]
    n = len(fit)
    hints = {
        "you left out the log-determinant term log|det D|": table(W, logdet=False),
        "you swapped the two priors' rows": ref[::-1],
        "you summed over samples instead of averaging": table(W, mean=False),
        "you whitened with the N - 1 covariance (np.cov): every value is shifted by the same constant, the "
        "log-determinant of the slightly different whitening": table(_sym_inv_sqrt(cov(fit) * n / (n - 1))),
        "you whitened with np.cov, which divides by N - 1 and subtracts the mean of the rows it is given; "
        "<YY^T> does neither (EX_Y has mean zero over all its rows, not over each part)":
            table(_sym_inv_sqrt(np.cov(fit.T))),
        "you used the covariance <YY^T> itself, not its inverse square root":
            table(np.linalg.inv(W) @ np.linalg.inv(W)),
        "you whitened with all the rows, not only the first EX_N_FIT": table(_sym_inv_sqrt(cov(EX_Y))),
        "you whitened with the rows you evaluate on, not the first EX_N_FIT": table(_sym_inv_sqrt(cov(test))),
        "you evaluated the likelihood on the first EX_N_FIT rows, the ones the whitening comes from":
            table(W, fit),
        "you evaluated the likelihood on all the rows": table(W, EX_Y),
        "your Gaussian row is the maximum of the Gaussian likelihood of the evaluated rows, reached by a D "
        "that whitens them; this D whitens other rows": closed,
    }
    problems = checker.compare_array(values, ref, "your table of log-likelihoods", rtol=1e-8, atol=1e-10,
                                     hints=hints)
    return checker.result("likelihood along rotations, Gaussian and logistic priors", problems)


def switching_signs(kappa):
    """Exercise 3, ``ex-9-1-switching``: extended InfoMax's kappa_k (+1 or -1) for each column of :data:`EX_X`, judged
    together."""
    X = EX_X
    t = np.tanh(X)
    crit = np.mean(1 - t * t, 0) * np.mean(X * X, 0) - np.mean(t * X, 0)
    ref = np.where(crit > 0, 1.0, -1.0)
    arr, problems = checker.as_numeric(kappa, "your signs")
    if not problems and arr.shape != ref.shape:
        problems = [f"your signs should have shape {ref.shape}; got {arr.shape}."]
    if not problems and not np.array_equal(arr, ref):
        problems = ["your signs are not all right (the three are judged together): compute Step 4's "
                    "criterion for each column."]
    return checker.result("extended InfoMax's choice of prior", problems)


def _step_cases():
    """Hidden problems ``(D, Y, kappa, lr)``: minibatches of mixed sources of both kinds, with unmixing matrices near
    and far from the answer and priors that do and do not suit the outputs; one output alone (K = 1) and a batch of
    a single sample among them."""
    r = checker.problem_rng(9104)
    cases = []
    for K, N, lr in [(2, 40, 0.05), (3, 100, 0.02), (4, 25, 0.1), (1, 30, 0.05), (3, 1, 0.01), (5, 60, 0.03)]:
        S = np.column_stack([r.laplace(size=N) if r.uniform() < 0.5 else r.uniform(-1.7, 1.7, size=N)
                             for _ in range(K)])
        C = np.eye(K) + 0.4 * r.normal(size=(K, K))
        D = np.linalg.inv(C) + 0.2 * r.normal(size=(K, K)) if K > 1 else np.array([[r.uniform(0.5, 2.0)]])
        kappa = r.choice([-1.0, 1.0], size=K)
        cases.append((D, S @ C.T, kappa, lr))
    return cases


def _step_slips(D, Y, kappa, lr) -> dict:
    """Named wrong updates on one problem."""
    K, N = D.shape[0], Y.shape[0]
    X = Y @ D.T
    T = np.tanh(X)
    score = -X - kappa * T                                     # g_kappa, column k with kappa_k
    nat = np.eye(K) + score.T @ X / N
    return {
        "you took a step along the plain gradient <g(X) Y^T> + D^{-T}, not the natural gradient (the plain "
        "gradient multiplied by D^T D on the right)": D + lr * (score.T @ Y / N + np.linalg.inv(D).T),
        "you used kappa with the wrong sign: the score is g(x) = -x - kappa tanh(x), so kappa = +1 (super-Gaussian) "
        "subtracts the tanh term": D + lr * (np.eye(K) + (-X + kappa * T).T @ X / N) @ D,
        "you multiplied D on the left, D (I + <g(X) X^T>), instead of on the right": D + lr * D @ nat,
        "you summed over the samples of the batch instead of averaging": D + lr * (np.eye(K) + score.T @ X) @ D,
    }


def extended_infomax_step(fn) -> checker.CheckResult:
    """``ex-9-1-ica-step``: your function ``fn(D, Y, kappa, lr)`` returning the unmixing matrix after one
    natural-gradient step of extended InfoMax on the minibatch ``Y`` (N, K), samples in rows, with the priors
    ``kappa`` (K,) of +1 and -1 held fixed. Slips named: the plain gradient, kappa's sign, D multiplied on the wrong
    side, a sum over the batch for the average."""
    def judge(out, where, D, Y, kappa, lr):
        ref = D + lr * _ica.natural_gradient(D, Y, kappa=kappa)
        return checker.compare_array(out, ref, f"your new D on {where}", rtol=1e-8, atol=1e-10,
                                     hints=_step_slips(D, Y, kappa, lr))

    cases = [(f"test problem {i + 1} (K = {D.shape[0]}, a batch of {len(Y)} sample{'s' if len(Y) > 1 else ''})",
              (D, Y, kappa, lr)) for i, (D, Y, kappa, lr) in enumerate(_step_cases())]
    return checker.check_function("one step of extended InfoMax", fn, cases, judge, name="my_ica_step",
                                  signature="(D, Y, kappa, lr)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-9-1-ica-step": {"same_data": checker.FUNCTION_ANSWER},
}
