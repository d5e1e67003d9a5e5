"""The tests live in one folder per library family (``tests/lgssm``, ``tests/samplers``, ...), with
``tests/exercises`` for the checkers, ``tests/library`` for what holds across families,
``tests/project`` for the book, the courseware and the test command, and ``tests/browser`` for the
built site. The brute-force oracles shared across folders (``oracle_*.py``)
stay here, and this file puts this folder on the import path so that every test can import them.
"""
import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


@pytest.fixture(autouse=True)
def _auto_backend_compiles(monkeypatch):
    """``backend="auto"`` calls the compiled kernel in every test, as on a machine whose numba cache is warm,
    so that a test of a function's default path tests the kernel whatever state the cache is in.
    ``tests/core/test_jit.py`` checks the rule itself."""
    from pedagogy_lib.core import jit
    monkeypatch.setattr(jit, "COMPILE_AFTER_TWIN_SECONDS", 0.0)


#: The longest test files (several minutes each under the test command), handed out right after the
#: notebooks: the test command gives whole files to its two workers (pytest-xdist ``--dist loadfile``),
#: and a long file handed out last would leave one worker idle while the other finishes it. The
#: notebooks go first because the strict build waits for all of them, and the browser tests for the
#: build: they start the longest chain of the command, which then runs beside the other tests.
LONGEST_FIRST = ("project/test_grading.py", "project/test_honest_answers.py", "project/test_courseware.py",
                 "library/test_without_numba.py")
#: Files whose tests are independent of each other (no state shared between tests, only cheap module
#: fixtures) and long in sum: their tests are handed out one by one, not as one file, so that the two
#: workers share them (each grades notebooks in the sandbox for several minutes in all).
SPREAD = ("project/test_grading.py", "project/test_honest_answers.py")


#: Tests over about two and a half seconds each (the most any parametrization took, in seconds, on the
#: test command's run in an idle 2-core fresh clone of 2026-11-27), from the run of 2026-11-28 those over
#: four seconds, and from ``tasks.py check`` on an idle fresh clone of 2026-11-29 those over ten seconds
#: there (compiling included), that their files do not mark slow. They get the marker ``heavy``, and
#: ``python3 tasks.py check`` leaves them out with the slow ones. Keys: path under tests/ and function,
#: for every parametrization; ``tests/project/test_test_command.py`` checks that each exists. A test made
#: fast leaves this table; one marked slow in its file needs no entry.
HEAVY = {
    "assimilation/test_assimilation_filters.py::test_etkf_resolves_an_observation_far_more_precise_than_the_spread": 12.6,
    "core/test_jit.py::test_a_first_run_says_once_what_compiles_and_the_next_run_loads_it_silently": 8.3,
    "core/test_warmup.py::test_every_registered_module_warms_up_its_kernels": 18.9,
    "core/test_warmup.py::test_warmup_registry_lists_exactly_the_kernel_modules": 3.5,
    "deepgen/test_deepgen_gaussian_gradients.py::test_which_covariance_estimator_has_the_smaller_variance_depends_on_the_curvature": 4.0,
    "deepgen/test_deepgen_gumbel.py::test_concrete_density_integrates_to_one_for_k_2_and_3": 6.6,
    "display/test_display_helpers.py::test_a_book_build_shows_a_phone_rendering_on_a_narrow_screen": 4.0,
    "display/test_display_helpers.py::test_a_slow_default_legend_placement_puts_nothing_on_stderr": 11.4,
    "display/test_display_helpers.py::test_a_wide_player_and_slider_figure_get_phone_images_in_a_book_build": 4.1,
    "display/test_display_helpers.py::test_cheap_figures_get_more_positions_in_the_book_but_not_in_the_test_command": 4.6,
    "display/test_display_helpers.py::test_on_a_phone_legends_go_under_their_panel_and_long_titles_break_between_words": 8.5,
    "display/test_display_helpers.py::test_the_grid_depends_on_the_controls_not_on_the_clock": 3.0,
    "display/test_display_helpers.py::test_under_the_test_command_every_update_runs_but_few_frames_are_kept": 5.2,
    "exercises/test_exercises_appb_identities.py::test_every_slip_is_far_from_the_answer_and_from_the_others": 2.8,
    "exercises/test_exercises_appb_identities.py::test_the_pages_solve_does_not_give_the_diagonal": 2.6,
    "exercises/test_exercises_appb_identities.py::test_woodbury_log_determinant_slips": 4.5,
    "exercises/test_exercises_appb_identities.py::test_woodbury_page_copy_routes_fail": 4.9,
    "exercises/test_exercises_appc_graphical.py::test_d_separation_function_names_the_graph_not_the_query": 7.6,
    "exercises/test_exercises_ch02_particle.py::test_convergence_slope": 6.4,
    "exercises/test_exercises_ch04_objectives.py::test_gaussian_kl_correct_passes_against_quadrature": 6.9,
    "exercises/test_exercises_ch05_infomax.py::test_separable_sources_asks_for_the_constants": 8.5,
    "exercises/test_exercises_ch06_em.py::test_the_likeliest_code_is_not_always_the_posterior_mode": 4.2,
    "exercises/test_exercises_ch08_diffusion.py::test_langevin_statement_writes_out_the_update": 5.7,
    "exercises/test_exercises_ch10_infonce.py::test_problems_drawn_for_students_are_well_posed_and_graded_by_their_own_answer": 6.4,
    "exercises/test_exercises_ch10_infonce.py::test_the_standard_error_over_batches_matches_the_spread_of_repeated_estimates": 4.2,
    "exercises/test_exercises_ch10_rbm_learning.py::test_bas_model_hand_written_cd_clears_the_bar_and_the_verdict_follows_the_exact_likelihood": 10.0,
    "exercises/test_exercises_da_chaos.py::test_lyapunov_exponents": 3.5,
    "hmm/test_hmm.py::test_kernel_py_func_equals_compiled": 5.5,
    "lgssm/test_kalman.py::test_dimensions_that_reach_blas_match_the_dense_oracle": 16.7,
    "lgssm/test_kalman.py::test_information_form_equals_covariance_form_when_m_is_much_larger_than_n": 19.6,
    "lgssm/test_kalman.py::test_a_model_written_into_after_its_first_call_is_checked_again": 25.1,
    "library/test_fuzz_public_api.py::test_public_calls_give_a_result_or_a_clear_error": 3.7,
    "library/test_without_numba.py::test_kernel_results_match_with_and_without_numba": 4.2,
    "library/test_without_numba.py::test_numba_is_unimportable_and_the_library_falls_back": 4.7,
    "project/test_courseware.py::test_student_edition_has_no_solution_code": 2.7,
    "project/test_equation_index.py::test_every_link_of_the_generated_pages_resolves_in_the_checkout": 11.2,
    "project/test_grading.py::test_an_answer_that_fails_on_the_slice_is_graded_on_the_whole_page": 25.5,
    "project/test_grading.py::test_checkers_that_draw_their_data_grade_each_student_on_data_of_their_own": 4.2,
    "project/test_grading.py::test_every_reference_solution_passes_the_summative_grader": 21.1,
    "project/test_grading.py::test_the_grader_modifies_no_third_party_function": 4.2,
    "project/test_sandbox.py::test_a_fork_server_s_exercise_that_exhausts_a_resource_is_stopped_and_says_so": 5.3,
    "project/test_sandbox.py::test_a_submission_that_exhausts_a_resource_is_stopped_and_says_so": 3.4,
    "project/test_teaching_kit.py::test_no_deck_shows_raw_markup": 3.6,
}


#: Module fixtures that build a whole artifact before their first test (setup seconds on a busy 2-core
#: machine, 2026-11-29): every test that uses one is ``heavy``, since ``check`` would pay the build for
#: checks the test command makes anyway. Keys: path under tests/ and fixture name.
HEAVY_FIXTURES = {
    "project/test_courseware.py::editions": 19.9,           # every chapter's three editions
    "project/test_courseware.py::graded_course": 49.6,      # an nbgrader course, autograded
    "project/test_lite_site.py::lite_site": 22.2,           # the JupyterLite site
}

@pytest.hookimpl(optionalhook=True)            # a run without xdist (tests/library/test_without_numba.py) has no such hook
def pytest_xdist_make_scheduler(config, log):
    """Under ``--dist loadfile``, each file goes to one worker (a notebook's cells run in order in one
    kernel), except the tests of :data:`SPREAD`, each handed out on its own."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    # xdist hands out files by their number of tests, most first, unless ``--no-loadscope-reorder``: that
    # put the notebooks after test files of many small tests, and the spread tests (one each) last. The
    # order here is the collection's (see pytest_collection_modifyitems).
    config.option.loadscopereorder = False

    class SpreadLongFiles(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return nodeid if path.endswith(SPREAD) else path

    return SpreadLongFiles(config, log)


@pytest.hookimpl(tryfirst=True)                # before -m deselects by marker
def pytest_collection_modifyitems(session, config, items):
    for item in items:
        path, _, name = item.nodeid.partition("::")
        path = path.removeprefix("tests/")
        if (f"{path}::{name.partition('[')[0]}" in HEAVY
                or any(f"{path}::{f}" in HEAVY_FIXTURES for f in getattr(item, "fixturenames", ()))):
            item.add_marker(pytest.mark.heavy)

    def rank(item):
        path = str(item.path).replace("\\", "/")
        if path.endswith(".ipynb"):
            return 0
        return 1 + next((i for i, tail in enumerate(LONGEST_FIRST) if path.endswith("/tests/" + tail)),
                        len(LONGEST_FIRST))
    items.sort(key=rank)          # stable: every other item keeps its place
