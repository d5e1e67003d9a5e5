"""What three exercise statements promise about their hidden test problems holds for the problems the checkers
run: 7.3 ex-7-3-fa-em-function, 7.4 ex-7-4-m-step-function and 8.1 ex-8-1-em-function each describe the cases
the student's function meets, and a statement that names a case the checker never runs would be a false claim."""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib.exercises import ch07_fa_pca, ch07_lgssm_em
from pedagogy_lib.exercises.references import ch08_sparse_em as sparse_em_refs

# each builds a checker's hidden problems with their reference runs: several seconds apiece
pytestmark = pytest.mark.slow


def test_fa_em_function_cases_span_one_to_three_factors_and_zero_to_25_iterations():
    # "with one to three factors and from zero to 25 iterations"
    cases = ch07_fa_pca._em_cases()
    factors = {C.shape[1] for _, C, _, _ in cases}
    iterations = [n for _, _, _, n in cases]
    assert factors == {1, 2, 3}
    assert min(iterations) == 0 and max(iterations) == 25


def test_lgssm_m_step_cases_include_a_scalar_state_and_a_single_transition():
    # "one with a one-dimensional state and one of only two steps"
    cases = [args for args, _ in ch07_lgssm_em._m_step_cases()]
    assert any(mu.shape[1] == 1 for _, mu, _, _ in cases)
    assert any(y.shape[0] == 2 for y, _, _, _ in cases)


def test_sparse_em_function_cases_are_the_ones_the_statement_names():
    # "overcomplete dictionaries, a source whose mode is zero for every datum, rates that differ between
    # sources, and a single datum"
    cases = [args for _, args, _ in sparse_em_refs.em_cases()]
    overcomplete = [C.shape[1] > C.shape[0] for _, _, C, _, _, _ in cases]
    assert sum(overcomplete) >= 2                       # "dictionaries", plural
    assert any(np.any(np.all(nu == 0, axis=0)) for _, nu, _, _, _, _ in cases)
    assert all(np.ptp(alpha) > 0 for _, _, _, _, alpha, _ in cases)
    assert any(Y.shape[0] == 1 for Y, _, _, _, _, _ in cases)


def test_sparse_em_zero_source_is_not_a_borderline_mode():
    # the source whose mode is zero for every datum stays zero by a wide margin of the optimality condition
    # |lam c_k^T (y - C nu)| <= alpha_k, so no solver or BLAS kernel can make it active
    for _, (Y, nu, C, lam, alpha, _), _ in sparse_em_refs.em_cases():
        for k in np.flatnonzero(np.all(nu == 0, axis=0)):
            margin = np.abs(lam * (Y - nu @ C.T) @ C[:, k]).max() / alpha[k]
            assert margin < 0.8, (k, margin)
