r"""Checkers for the exercises of Section 7.2 (Baum-Welch); ``A[i, j] = p(x_t = i | x_{t-1} = j)`` and ``xi_sum[i,
j]`` counts ``j -> i`` transitions."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..hmm import em as hmm_em
from ..hmm import inference as hmm
from .checker import FUNCTION_ANSWER, CheckResult, compare_array, result, problem_rng, check_function, tuple_problems

__all__ = ["TransitionCounts", "SequencesProblem", "PriorSequencesProblem", "PairwiseProblem", "GaussianPriorProblem",
           "EX_TRANS", "EX_PI", "EX_VISITS", "EX_MEANS", "m_step_A", "m_step_pi", "expected_visits", "m_step_mu",
           "m_step_function"]


class TransitionCounts(NamedTuple):
    r"""Expected statistics of one E step, summed over time and sequences: ``xi_sum`` (K, K) of ``j -> i``
    transitions, ``N_k`` (K,) visits over all steps, ``gamma_last`` (K,) the smoother at each sequence's last step."""

    xi_sum: np.ndarray
    N_k: np.ndarray
    gamma_last: np.ndarray


class SequencesProblem(NamedTuple):
    """An HMM (``pi``, column-stochastic ``A``) and ``log_liks``, one (T_n, K) array of per-state log-likelihoods per
    sequence."""

    pi: np.ndarray
    A: np.ndarray
    log_liks: list


class PriorSequencesProblem(NamedTuple):
    """A :class:`SequencesProblem` with ``alpha`` (K,), a Dirichlet prior on pi."""

    pi: np.ndarray
    A: np.ndarray
    log_liks: list
    alpha: np.ndarray


class PairwiseProblem(NamedTuple):
    """What an E step on one sequence leaves without its per-step marginals: ``xi_sum`` (K, K) and ``gamma_first``
    (K,), the smoother at the first step."""

    xi_sum: np.ndarray
    gamma_first: np.ndarray


class GaussianPriorProblem(NamedTuple):
    """Observations ``y`` (T, D), smoother marginals ``gamma`` (T, K), fixed emission covariances ``Sigma`` (K, D, D)
    and a prior N(``m0``, ``tau2`` I) on every state's mean."""

    y: np.ndarray
    gamma: np.ndarray
    Sigma: np.ndarray
    m0: np.ndarray
    tau2: float


def _model(K=3):
    A = np.array([[0.80, 0.10, 0.15], [0.15, 0.85, 0.05], [0.05, 0.05, 0.80]])        # columns sum to 1
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


#: Exercise (a): expected counts of an E step on three sequences.
EX_TRANS = _make_trans()

#: Exercise (b): twelve short sequences under a known model and a Dirichlet prior on pi.
EX_PI = PriorSequencesProblem(*_model(), _sequences(7202, [15] * 12), np.array([3.0, 2.0, 1.5]))

#: Exercise (c): one sequence of 80 steps, of which only the pairwise statistics and the first step's marginal are
#: given.
_VISITS_SEQUENCE = SequencesProblem(*_model(), _sequences(7203, [80], sep=1.0))
_VISITS_POST = _smooth(_VISITS_SEQUENCE.pi, _VISITS_SEQUENCE.A, _VISITS_SEQUENCE.log_liks[0])
EX_VISITS = PairwiseProblem(_VISITS_POST.xi_sum + 0.0, _VISITS_POST.gamma[0] + 0.0)


def _make_means() -> GaussianPriorProblem:
    rng = problem_rng(7204)
    T, K = 60, 3
    y = rng.standard_normal((T, 2)) + np.repeat(np.array([[0.0, 0.0], [2.0, 1.0], [-1.0, 2.0]]), T // K, axis=0)
    logits = rng.standard_normal((T, K)) + 2.0 * np.repeat(np.eye(K), T // K, axis=0)
    gamma = np.exp(logits - logits.max(axis=1, keepdims=True))
    # anisotropic, unequal covariances, so that the prior pulls each coordinate of each mean differently
    Sigma = np.array([[[0.8, 0.3], [0.3, 0.5]], [[1.5, -0.4], [-0.4, 0.6]], [[0.4, 0.0], [0.0, 2.0]]])
    return GaussianPriorProblem(y, gamma / gamma.sum(axis=1, keepdims=True), Sigma, np.array([1.0, -1.0]), 0.1)


#: Exercise (d): observations, smoother marginals, fixed covariances and a Gaussian prior on the means.
EX_MEANS = _make_means()


def m_step_A(answer) -> CheckResult:
    """Exercise (a), ``ex-7-2-m-step-A``: your M-step A (3, 3, column-stochastic) for :data:`EX_TRANS` when every
    state shares one stay probability and moves evenly elsewhere. Slips named: the page's untied update, one stay
    probability per state (alone or averaged), the wrong steps counted, columns not summing to one."""
    from .references import ch07_hmm_em as refs
    p = EX_TRANS
    K = p.xi_sum.shape[0]
    stay = np.trace(p.xi_sum) / p.xi_sum.sum()
    expected = refs.tied_A(stay, K)
    free = p.xi_sum / p.xi_sum.sum(axis=0, keepdims=True)
    own = np.diag(free)
    per_state = (1.0 - own)[None, :] / (K - 1) * (1.0 - np.eye(K)) + np.diag(own)
    hints = {
        "your A is the page's M step with a free entry for every pair of states; in this model the states "
        "share one stay probability and the moves are spread evenly": free,
        "each of your states has its own stay probability; the model ties them to one number": per_state,
        "you averaged the states' own stay probabilities: combining per-state estimates is not the M step "
        "of the tied model, which maximizes Q over the one shared p": refs.tied_A(own.mean(), K),
        "your stay probability divides by the visits at every step: check from which steps a transition can leave":
            refs.tied_A(np.trace(p.xi_sum) / p.N_k.sum(), K),
        "your columns do not sum to one: the probability of leaving is shared among the other states":
            expected + (1.0 - np.eye(K)) * (1.0 - stay) * (K - 2) / (K - 1),
    }
    return result("M step for the tied transition matrix of EX_TRANS",
                  compare_array(answer, expected, "A", rtol=1e-8, atol=1e-12, hints=hints))


def m_step_pi(answer) -> CheckResult:
    """Exercise (b), ``ex-7-2-m-step-pi``: your MAP re-estimate of pi (3,) for :data:`EX_PI` with the Dirichlet prior
    ``EX_PI.alpha``. Slips named: no prior, the posterior mean, the prior added to the average, the filter for the
    smoother."""
    p = EX_PI
    posts = [_smooth(p.pi, p.A, ll) for ll in p.log_liks]
    g = np.sum([q.gamma[0] for q in posts], axis=0)
    n, K = len(posts), g.size
    expected = (g + p.alpha - 1.0) / (n + p.alpha.sum() - K)
    g_filter = np.sum([q.filtered[0] for q in posts], axis=0)
    hints = {
        "you left the prior out: that is the maximum-likelihood M step of the page":
            g / n,
        "you took the posterior mean of pi under the Dirichlet; the M step of MAP-EM wants the maximum of "
        "Q plus the log prior": (g + p.alpha) / (n + p.alpha.sum()),
        "you added the prior's pseudo-counts to the average over sequences, which weighs the prior as "
        "heavily as all the sequences together": (g / n + p.alpha - 1.0) / (1.0 + p.alpha.sum() - K),
        "you used the filter p(x_1 | y_1) at the first step; the M step needs the smoother "
        "p(x_1 | y_1..y_T), which has seen the whole sequence (Section 7.2)":
            (g_filter + p.alpha - 1.0) / (n + p.alpha.sum() - K),
    }
    problems = compare_array(answer, expected, "pi", rtol=1e-8, atol=1e-12, hints=hints)
    return result("MAP re-estimate of pi from EX_PI", problems)


def expected_visits(answer) -> CheckResult:
    """Exercise (c), ``ex-7-2-expected-visits``: your expected visits to each state (3,) for the 80-step sequence
    whose pairwise statistics are :data:`EX_VISITS`. Slips named: departures or arrivals alone, a step counted twice."""
    p = EX_VISITS
    expected = _VISITS_POST.gamma.sum(axis=0)
    hints = {
        "you counted the steps a transition leaves from, which misses one step of the sequence":
            p.xi_sum.sum(axis=0),
        "you counted the steps a transition arrives at, which misses one step of the sequence":
            p.xi_sum.sum(axis=1),
        "this sum counts one step of the sequence twice and misses another": p.xi_sum.sum(axis=0) + p.gamma_first,
    }
    problems = compare_array(answer, expected, "N_k", rtol=1e-8, atol=1e-10, hints=hints)
    return result("expected visits for EX_VISITS", problems)


def m_step_mu(answer) -> CheckResult:
    """Exercise (d), ``ex-7-2-m-step-mu``: your MAP means (3, 2) for :data:`EX_MEANS` with ``EX_MEANS.Sigma`` fixed
    and the prior N(``m0``, ``tau2`` I). Slips named: no prior, no emission covariances, tau2 as a precision, hard
    assignments."""
    p = EX_MEANS
    K, D = p.gamma.shape[1], p.y.shape[1]
    N_k = p.gamma.sum(axis=0)
    s1 = p.gamma.T @ p.y
    P = np.linalg.inv(p.Sigma)
    eye = np.eye(D)

    def map_means(prior_prec, precisions, counts, sums):
        return np.stack([np.linalg.solve(prior_prec * eye + counts[k] * precisions[k],
                                         prior_prec * p.m0 + precisions[k] @ sums[k]) for k in range(K)])

    expected = map_means(1.0 / p.tau2, P, N_k, s1)
    hard = np.argmax(p.gamma, axis=1)
    onehot = np.eye(K)[hard]
    hints = {
        "you left the prior out: that is the maximum-likelihood M step of the page": s1 / N_k[:, None],
        "your means do not depend on the emission covariances; with a prior on the mean they do":
            map_means(1.0 / p.tau2, np.stack([eye] * K), N_k, s1),
        "you used the prior variance tau2 where its inverse belongs": map_means(p.tau2, P, N_k, s1),
        "you gave every point to its most probable state (K-means style); EM weights every point by "
        "gamma_t(k)": map_means(1.0 / p.tau2, P, onehot.sum(axis=0), onehot.T @ p.y),
    }
    return result("MAP means for EX_MEANS", compare_array(answer, expected, "mu", rtol=1e-8, atol=1e-10,
                                                           hints=hints))


def _m_step_cases():
    """Hidden problems: Gaussian HMM sequences and their E step, then one with no departures."""
    from .references import ch07_hmm_em as refs
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
        cases.append(((ys, gammas, xi_sum), refs.m_step_ref(ys, gammas, xi_sum)))
    cases.append(_no_departure_case(rng))
    return cases


def _no_departure_case(rng):
    """A problem in which no transition leaves the last state (column K - 1 of Xi is zero)."""
    from .references import ch07_hmm_em as refs
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
    return (ys, gammas, xi_sum), refs.m_step_ref(ys, gammas, xi_sum)


def _m_step_slips(ys, gammas, xi_sum):
    """Named wrong derivations of the M step on one problem, per parameter."""
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
                      second.sum(axis=0) / T_all,
                  "you averaged the states' own covariances: the shared covariance comes from maximizing "
                  "the emission term of Q over one Sigma, not from combining the states' estimates":
                      np.mean(centred / N_k[:, None, None], axis=0),
                  "you divided by the number of transitions, which leaves out the last step of each sequence":
                      centred.sum(axis=0) / xi_sum.sum()},
    }


def m_step_function(fn) -> CheckResult:
    """Exercise (e), ``ex-7-2-m-step-function``: your function ``fn(ys, gammas, xi_sum)`` returning ``(pi, A, mu,
    Sigma)`` of the M step of a Gaussian HMM with one shared covariance (``ys`` (T_n, D) arrays, ``gammas`` their
    (T_n, K) marginals). Slips named: occupancy or last step for pi, rows normalized, wrong denominators, an uncentred
    covariance, averaged covariances."""
    def judge(out, where, ys, gammas, xi_sum, ref):
        problems = tuple_problems(out, 4, "the four parameters (pi, A, mu, Sigma)", where)
        if problems:
            return problems
        with np.errstate(divide="ignore", invalid="ignore"):     # slips that divide by a zero column
            slips = _m_step_slips(ys, gammas, xi_sum)
        no_exit = xi_sum.sum(axis=0) == 0
        K = gammas[0].shape[1]
        if no_exit.any() and np.shape(out[1]) == (K, K):
            if not np.all(np.isfinite(np.asarray(out[1], dtype=float)[:, no_exit])):
                return [f"on {where} no transition leaves state {np.flatnonzero(no_exit).tolist()}, and your A has "
                        "NaN or inf in that column: see what the statement asks for there."]
        return [p for name, answer, expected in zip(("pi", "A", "mu", "Sigma"), out, ref)
                for p in compare_array(answer, expected, f"{name} on {where}", rtol=1e-7, atol=1e-10,
                                       hints=slips.get(name))]

    cases = []
    for i, (args, ref) in enumerate(_m_step_cases()):
        ys, gammas, _ = args
        n, lengths = len(ys), ", ".join(str(y.shape[0]) for y in ys)
        cases.append((f"test problem {i + 1} ({n} sequence{'s' if n > 1 else ''} of length{'s' if n > 1 else ''} "
                      f"{lengths}; K = {gammas[0].shape[1]}, D = {ys[0].shape[1]})", args, ref))
    return check_function("the M step of Baum-Welch", fn, cases, judge, name="my_m_step",
                          signature="(ys, gammas, xi_sum)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-7-2-m-step-function": {"same_data": FUNCTION_ANSWER},
}
