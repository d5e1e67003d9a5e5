"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch02_intro`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np

from ...discrete import categorical as discrete


def burglary_given_alarm_and_report(problem, r: int) -> float:
    """p(a = 1 | b = 1, r), summed over c term by term."""
    p_a, p_c, P_b_ac, P_r_c = problem
    weight = [sum(p_a[i] * p_c[k] * P_b_ac[1, i, k] * P_r_c[r, k] for k in (0, 1)) for i in (0, 1)]
    return weight[1] / (weight[0] + weight[1])


def burglary_given_alarm(problem, c=None) -> float:
    """p(a = 1 | b = 1), or p(a = 1 | b = 1, c) when ``c`` is given."""
    p_a, p_c, P_b_ac, _ = problem
    quakes = (0, 1) if c is None else (c,)
    weight = [sum(p_a[i] * p_c[k] * P_b_ac[1, i, k] for k in quakes) for i in (0, 1)]
    return weight[1] / (weight[0] + weight[1])


def shifted_table(problem) -> np.ndarray:
    """p_new(x | y): the clinic's table inverted back to p(y | x), then forward with the new prior."""
    pi_train, pi_new, P = problem
    p_y = np.linalg.solve(P, pi_train)                         # the clinic's p(y)
    out = np.empty((2, 2))
    for y in (0, 1):
        lik = [P[x, y] * p_y[y] / pi_train[x] for x in (0, 1)]   # p(y | x)
        evidence = lik[0] * pi_new[0] + lik[1] * pi_new[1]
        for x in (0, 1):
            out[x, y] = lik[x] * pi_new[x] / evidence
    return out


def screening_reference(P, q):
    """The prevalence the fraction of positives ``q`` implies for the test ``P``, and the posterior after a positive."""
    false_pos, sens = P[1, 0], P[1, 1]
    prevalence = (q - false_pos) / (sens - false_pos)      # q = prevalence * sens + (1 - prevalence) * false_pos
    prior = np.array([1.0 - prevalence, prevalence])
    return prevalence, discrete.invert(prior, P, 1).posterior


def reference_independences(network, statements) -> dict:
    """Which of ``statements`` hold in ``network`` for every choice of tables (d-separation)."""
    from pedagogy_lib.graphical.separation import d_separated

    # d-separated: independent for every choice of tables
    return {name: d_separated(network, x, y, list(given)) for name, (x, y, given) in statements.items()}


def reverse_cases():
    """Hidden problems: priors and column-stochastic emission tables of several shapes, square and not, one prior
    with a state of probability zero; (where, (pi, P_y_x), (p_y, P_x_y)) from the library."""
    from ..checker import problem_rng

    r = problem_rng(2005)
    cases = []
    for i, (K, L, impossible) in enumerate([(2, 2, False), (3, 5, False), (5, 2, False), (4, 4, True),
                                            (6, 3, False)]):
        pi = r.dirichlet(np.full(K, 2.0))
        if impossible:
            pi[int(r.integers(K))] = 0.0
            pi = pi / pi.sum()
        P_y_x = r.dirichlet(np.full(L, 1.5), size=K).T           # (L, K): column k is p(y | x = k)
        ref = discrete.reverse_arrow(pi, P_y_x)
        where = f"test problem {i + 1} (K = {K} source states, L = {L} observations" + (
            ", one source state of prior probability zero)" if impossible else ")")
        cases.append((where, (pi, P_y_x), (ref.p_y, ref.P_x_y)))
    return cases
