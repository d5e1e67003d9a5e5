r"""Checkers for the exercises of Section 7.2 (Baum-Welch: EM for the hidden Markov model).

Use in the notebook as::

    from pedagogy_lib.exercises import ch07_hmm_em as check
    check.EX_TRANS                       # the problem data
    check.m_step_A(my_A)                 # says what is wrong, never the answer

The book's transition matrix is column-stochastic, ``A[i, j] = p(x_t = i | x_{t-1} = j)``, and
expected transition counts are indexed the same way, ``xi_sum[i, j]`` = expected number of
``j -> i`` transitions. Reference answers are computed when a checker runs; the M-step function
of the last exercise is run on test problems made here, which the notebook never shows.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..hmm import em as hmm_em
from ..hmm import inference as hmm
from .checker import CheckResult, compare_array, result, problem_rng

__all__ = [
    "TransitionCounts", "SequencesProblem", "PairwiseProblem", "GaussianProblem",
    "EX_TRANS", "EX_PI", "EX_VISITS", "EX_MEANS",
    "m_step_A", "m_step_pi", "expected_visits", "m_step_mu", "m_step_function",
]


class TransitionCounts(NamedTuple):
    r"""Expected statistics of one E step (sums over time and sequences).

    ``xi_sum`` (K, K): expected number of transitions ``j -> i`` (next state first);
    ``N_k`` (K,): expected number of visits to each state over *all* steps;
    ``gamma_last`` (K,): the smoother at the last step of each sequence, summed over sequences.
    """

    xi_sum: np.ndarray
    N_k: np.ndarray
    gamma_last: np.ndarray


class SequencesProblem(NamedTuple):
    """An HMM (``pi`` (K,), column-stochastic ``A`` (K, K)) and a list ``log_liks`` of (T_n, K) arrays,
    the log-likelihood of each observation under each state, one array per independent sequence."""

    pi: np.ndarray
    A: np.ndarray
    log_liks: list


class PairwiseProblem(NamedTuple):
    """What an E step on one sequence leaves once the per-step marginals are thrown away: ``xi_sum`` (K, K),
    the expected number of transitions ``j -> i`` summed over the sequence (next state first), and
    ``gamma_first`` (K,), the smoother at the first step."""

    xi_sum: np.ndarray
    gamma_first: np.ndarray


class GaussianProblem(NamedTuple):
    """Observations ``y`` (T, D) and smoother marginals ``gamma`` (T, K) for them."""

    y: np.ndarray
    gamma: np.ndarray


def _model(K=3):
    A = np.array([[0.80, 0.10, 0.15],
                  [0.15, 0.85, 0.05],
                  [0.05, 0.05, 0.80]])        # columns sum to 1
    return np.array([0.5, 0.3, 0.2]), A


def _sequences(seed, lengths, sep=1.2):
    """Log-likelihoods of noisy regimes with means -sep, 0, sep (1-D, unit variance)."""
    rng = problem_rng(seed)
    pi, A = _model()
    mu = np.array([-sep, 0.0, sep])
    out = []
    for T in lengths:
        x = hmm.sample_states(rng, pi, A, T)
        y = mu[x] + rng.standard_normal(T)
        out.append(-0.5 * (y[:, None] - mu[None, :]) ** 2 - 0.5 * np.log(2 * np.pi))
    return out


def _smooth(pi, A, ll):
    return hmm.hmm_smoother(pi, A, ll, return_pairwise="sum", backend="numpy")


def _make_trans() -> TransitionCounts:
    pi, A = _model()
    xi_sum, N_k, last = np.zeros((3, 3)), np.zeros(3), np.zeros(3)
    for ll in _sequences(7201, [40, 60, 25]):
        post = _smooth(pi, A, ll)
        xi_sum += post.xi_sum
        N_k += post.gamma.sum(axis=0)
        last += post.gamma[-1]
    return TransitionCounts(xi_sum, N_k, last)


#: Exercise (a): expected counts from an E step on three sequences; find the re-estimated A.
EX_TRANS = _make_trans()

#: Exercise (b): twelve short sequences under a known model; estimate pi by one M step.
EX_PI = SequencesProblem(*_model(), _sequences(7202, [15] * 12))

#: Exercise (c): one sequence of 80 steps, of which only the pairwise statistics and the first step's
#: marginal are given; the expected number of visits to each state.
_VISITS_SEQUENCE = SequencesProblem(*_model(), _sequences(7203, [80], sep=1.0))
_VISITS_POST = _smooth(_VISITS_SEQUENCE.pi, _VISITS_SEQUENCE.A, _VISITS_SEQUENCE.log_liks[0])
EX_VISITS = PairwiseProblem(_VISITS_POST.xi_sum + 0.0, _VISITS_POST.gamma[0] + 0.0)


def _make_means() -> GaussianProblem:
    rng = problem_rng(7204)
    T, K = 60, 3
    y = rng.standard_normal((T, 2)) + np.repeat(np.array([[0.0, 0.0], [2.0, 1.0], [-1.0, 2.0]]), T // K, axis=0)
    logits = rng.standard_normal((T, K)) + 2.0 * np.repeat(np.eye(K), T // K, axis=0)
    gamma = np.exp(logits - logits.max(axis=1, keepdims=True))
    return GaussianProblem(y, gamma / gamma.sum(axis=1, keepdims=True))


#: Exercise (d): observations and given smoother marginals; find the new emission means.
EX_MEANS = _make_means()


def m_step_A(answer) -> CheckResult:
    """Exercise (a), ``ex-7-2-m-step-A``: your re-estimated transition matrix from :data:`EX_TRANS`.

    Pass a (K, K) array in the book's column-stochastic convention. The checker recognizes the
    row-stochastic convention and the wrong denominators.
    """
    p = EX_TRANS
    expected = p.xi_sum / p.xi_sum.sum(axis=0, keepdims=True)
    hints = {
        "your rows sum to one (the row-stochastic convention of hmmlearn); the book's A is column-stochastic":
            p.xi_sum / p.xi_sum.sum(axis=1, keepdims=True),
        "your denominator counts the visits at every step: check from which steps a transition can leave":
            p.xi_sum / p.N_k[None, :],
        "your denominator belongs to the destination state i, not the source state j":
            p.xi_sum / (p.N_k - p.gamma_last)[:, None],
    }
    return result("re-estimated A from EX_TRANS", compare_array(answer, expected, "A", rtol=1e-8, atol=1e-12,
                                                                  hints=hints))


def m_step_pi(answer) -> CheckResult:
    """Exercise (b), ``ex-7-2-m-step-pi``: your re-estimated initial distribution for the sequences of :data:`EX_PI`.

    Pass an array of shape (K,) = (3,). The checker recognizes the filter used in place of the
    smoother, an average over all time steps, and hard assignments.
    """
    p = EX_PI
    posts = [_smooth(p.pi, p.A, ll) for ll in p.log_liks]
    expected = np.mean([q.gamma[0] for q in posts], axis=0)
    hints = {
        "you used the filter p(x_1 | y_1) at the first step; the M step needs the smoother "
        "p(x_1 | y_1..y_T), which has seen the whole sequence (Section 7.2)":
            np.mean([q.filtered[0] for q in posts], axis=0),
        "you averaged gamma over all time steps (the state occupancy); pi is about the first step only":
            np.mean(np.concatenate([q.gamma for q in posts]), axis=0),
        "you averaged the one-hot most probable first states (hard assignments) instead of the probabilities":
            np.mean([np.eye(3)[np.argmax(q.gamma[0])] for q in posts], axis=0),
    }
    problems = compare_array(answer, expected, "pi", rtol=1e-8, atol=1e-12, hints=hints)
    return result("re-estimated pi from EX_PI", problems)


def expected_visits(answer) -> CheckResult:
    """Exercise (c), ``ex-7-2-expected-visits``: your expected number of visits to each state for the
    80-step sequence whose pairwise statistics are :data:`EX_VISITS`.

    Pass an array of shape (K,) = (3,). It is compared with a value computed here from the sequence
    itself, which the notebook does not show. The checker recognizes the departures or the arrivals
    alone, and the first step's marginal added to the wrong count.
    """
    p = EX_VISITS
    expected = _VISITS_POST.gamma.sum(axis=0)
    hints = {
        "you counted the steps a transition leaves from, which misses one step of the sequence":
            p.xi_sum.sum(axis=0),
        "you counted the steps a transition arrives at, which misses one step of the sequence":
            p.xi_sum.sum(axis=1),
        "the first step's marginal is added to the wrong count: ask which step of the sequence the count you "
        "added it to misses": p.xi_sum.sum(axis=0) + p.gamma_first,
    }
    problems = compare_array(answer, expected, "N_k", rtol=1e-8, atol=1e-10, hints=hints)
    return result("expected visits for EX_VISITS", problems)


def m_step_mu(answer) -> CheckResult:
    """Exercise (d), ``ex-7-2-m-step-mu``: your new emission means for :data:`EX_MEANS`.

    Pass a (K, D) = (3, 2) array, one row per state. The checker recognizes a missing or wrong
    normalization and hard assignments.
    """
    p = EX_MEANS
    N_k = p.gamma.sum(axis=0)
    expected = (p.gamma.T @ p.y) / N_k[:, None]
    hard = np.argmax(p.gamma, axis=1)
    hints = {
        "you forgot to divide by N_k = sum_t gamma_t(k)": p.gamma.T @ p.y,
        "you divided by T instead of by N_k = sum_t gamma_t(k)": (p.gamma.T @ p.y) / p.y.shape[0],
        "you averaged the points assigned to their most probable state (K-means style); EM weights every point "
        "by gamma_t(k)": np.stack([p.y[hard == k].mean(axis=0) for k in range(p.gamma.shape[1])]),
    }
    return result("new means for EX_MEANS", compare_array(answer, expected, "mu", rtol=1e-8, atol=1e-10,
                                                           hints=hints))


def _m_step_cases():
    """Problems the student's function has not seen: Gaussian HMM sequences (some short, one of a single
    step), the smoother marginals and summed pairwise marginals of an E step under parameters other than
    the ones that drew them, and the M step's new parameters written out here."""
    rng = problem_rng(7205)
    cases = []
    for K, D, lengths in [(3, 2, [30, 45, 20]), (2, 1, [60]), (4, 3, [25, 1, 40, 12]), (3, 2, [8] * 10)]:
        def draw():
            A = rng.dirichlet(np.ones(K), size=K).T + 4.0 * np.eye(K)
            L = 0.5 * rng.standard_normal((K, D, D))
            return hmm_em.GaussianHMMParams(pi=rng.dirichlet(2.0 * np.ones(K)), A=A / A.sum(axis=0),
                                            mu=2.0 * rng.standard_normal((K, D)),
                                            Sigma=L @ L.transpose(0, 2, 1) + 0.5 * np.eye(D))
        true, current = draw(), draw()
        ys = [hmm_em.hmm_sample(rng, true, T)[1] + 0.0 for T in lengths]
        posts = hmm_em.hmm_posterior(current, ys, return_pairwise="sum")
        gammas = [q.gamma for q in posts]
        xi_sum = sum(q.xi_sum for q in posts)
        Y, G = np.concatenate(ys), np.concatenate(gammas)
        N_k = G.sum(axis=0)
        mu = (G.T @ Y) / N_k[:, None]
        Sigma = np.stack([((Y - mu[k]) * G[:, k:k + 1]).T @ (Y - mu[k]) / N_k[k] for k in range(K)])
        ref = (np.mean([g[0] for g in gammas], axis=0), _a_update(xi_sum), mu, Sigma)
        cases.append(((ys, gammas, xi_sum), ref))
    cases.append(_no_departure_case(rng))
    return cases


def _a_update(xi_sum):
    """Column j of Xi over its sum, the expected departures from j; the uniform column 1/K where no
    transition leaves j (the statement's convention)."""
    K = xi_sum.shape[0]
    col = xi_sum.sum(axis=0)
    return np.where(col[None, :] > 0, xi_sum / np.where(col > 0, col, 1.0)[None, :], 1.0 / K)


def _no_departure_case(rng):
    """A problem in which the last state is occupied only at the last step of each sequence (one of them a
    single step), so that no transition leaves it and column K - 1 of Xi is zero. Pairwise marginals are
    the outer products of consecutive marginals, which have the right margins."""
    K, D = 3, 2
    ys, gammas, xi_sum = [], [], np.zeros((K, K))
    for T in (1, 6, 5):
        g = np.zeros((T, K))
        g[:-1, :2] = rng.dirichlet(np.ones(2), size=T - 1)
        g[-1] = rng.dirichlet(np.ones(K))
        for t in range(T - 1):
            xi_sum += np.outer(g[t + 1], g[t])
        ys.append(rng.standard_normal((T, D)) + 0.0)
        gammas.append(g)
    Y, G = np.concatenate(ys), np.concatenate(gammas)
    N_k = G.sum(axis=0)
    mu = (G.T @ Y) / N_k[:, None]
    Sigma = np.stack([((Y - mu[k]) * G[:, k:k + 1]).T @ (Y - mu[k]) / N_k[k] for k in range(K)])
    ref = (np.mean([g[0] for g in gammas], axis=0), _a_update(xi_sum), mu, Sigma)
    return (ys, gammas, xi_sum), ref


def _m_step_slips(ys, gammas, xi_sum):
    """What named wrong derivations of the M step return on one problem, per parameter."""
    Y, G = np.concatenate(ys), np.concatenate(gammas)
    N_k, T_all = G.sum(axis=0), Y.shape[0]
    mu = (G.T @ Y) / N_k[:, None]
    second = np.einsum("tk,ti,tj->kij", G, Y, Y)
    centred = second - N_k[:, None, None] * np.einsum("ki,kj->kij", mu, mu)
    return {
        "pi": {"you averaged gamma over all time steps (the state occupancy); pi is about the first step only":
                   N_k / T_all,
               "you used the smoother at the last step of each sequence instead of the first":
                   np.mean([g[-1] for g in gammas], axis=0)},
        "A": {"you normalized the rows (the row-stochastic convention of hmmlearn); the book's A is "
              "column-stochastic": xi_sum / xi_sum.sum(axis=1, keepdims=True),
              "you divided by N_k, the expected visits over all steps; no transition leaves the last step of a "
              "sequence": xi_sum / N_k[None, :],
              "you divided by the visits to the destination state i instead of the source state j":
                  xi_sum / xi_sum.sum(axis=0)[:, None]},
        "mu": {"you divided by the number of time steps instead of by N_k": (G.T @ Y) / T_all},
        "Sigma": {"you kept the weighted second moment of y and did not subtract the mean's outer product":
                      second / N_k[:, None, None],
                  "you divided by the number of time steps instead of by N_k": centred / T_all,
                  "you divided by the departures from each state (the denominator of the A update) instead of by "
                  "N_k": centred / xi_sum.sum(axis=0)[:, None, None]},
    }


def m_step_function(fn) -> CheckResult:
    """Exercise (e), ``ex-7-2-m-step-function``: your function ``fn(ys, gammas, xi_sum)`` returning the
    new parameters ``(pi, A, mu, Sigma)`` of the M step.

    ``ys`` is a list of N arrays of shape (T_n, D), one per independent sequence; ``gammas`` a list of
    the matching smoother marginals, shape (T_n, K); ``xi_sum`` (K, K) the expected number of ``j -> i``
    transitions, summed over time and sequences. Return ``pi`` (K,), the column-stochastic ``A`` (K, K),
    ``mu`` (K, D) with one row per state and ``Sigma`` (K, D, D). It is run on problems made here with
    several or single sequences of unequal lengths, one of them a single step. The checker recognizes
    the occupancy or the last step used for the first state, the row-stochastic convention, the wrong
    denominators, and an uncentred covariance.
    """
    title = "the M step of Baum-Welch"
    if not callable(fn):
        return result(title, [f"my_m_step should be a function of (ys, gammas, xi_sum); got {type(fn).__name__}."])
    problems: list[str] = []
    for i, (args, ref) in enumerate(_m_step_cases()):
        ys, gammas, _ = args
        K, D = gammas[0].shape[1], ys[0].shape[1]
        lengths = ", ".join(str(y.shape[0]) for y in ys)
        where = (f"test problem {i + 1} ({len(ys)} sequence{'s' if len(ys) > 1 else ''} of "
                 f"length{'s' if len(ys) > 1 else ''} {lengths}; K = {K}, D = {D})")
        try:
            out = fn([y.copy() for y in ys], [g.copy() for g in gammas], args[2].copy())
        except Exception as exc:  # noqa: BLE001 - any student error is reported, not raised
            problems = [f"your function raised {type(exc).__name__}: {exc} (on {where})."]
            break
        if out is None:
            problems = compare_array(None, ref[0], f"the output on {where}")
            break
        if not isinstance(out, (tuple, list)) or len(out) != 4:
            problems = [f"on {where} your function should return the four parameters (pi, A, mu, Sigma); got "
                        f"{type(out).__name__}" + (f" of length {len(out)}." if isinstance(out, (tuple, list))
                                                   else ".")]
            break
        with np.errstate(divide="ignore", invalid="ignore"):     # slips that divide by a zero column
            slips = _m_step_slips(*args)
        no_exit = args[2].sum(axis=0) == 0
        if no_exit.any():
            A_out = np.asarray(out[1], dtype=float) if np.shape(out[1]) == (K, K) else None
            if A_out is not None and not np.all(np.isfinite(A_out[:, no_exit])):
                problems = [f"on {where} no transition leaves state {np.flatnonzero(no_exit).tolist()}, and your "
                            "A has NaN or inf in that column: see what the statement asks for there."]
                break
        for name, answer, expected in zip(("pi", "A", "mu", "Sigma"), out, ref):
            problems += compare_array(answer, expected, f"{name} on {where}", rtol=1e-7, atol=1e-10,
                                      hints=slips.get(name))
        if problems:
            break
    return result(title, problems)


#: For the graded (nbgrader) version: the functions each statement rules out, and why an exercise gives every
#: student the same problem data (courseware/grading.py).
SUMMATIVE = {
    "ex-7-2-m-step-function": {"forbidden": ["pedagogy_lib.hmm.em.hmm_m_step", "pedagogy_lib.mixture.em.gmm_m_step",
                                             "pedagogy_lib.mixture.em.gmm_stats_from_responsibilities"],
                               "same_data": "the answer is a function, which the grader calls on test problems of "
                                            "the checker's own"},
}
