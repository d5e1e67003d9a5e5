"""The shared checker machinery: right answers pass, wrong answers are diagnosed, nothing leaks."""
import re

import numpy as np

from pedagogy_lib.exercises import checker


def test_correct_array_passes_and_is_truthy():
    res = checker.result("demo", checker.compare_array([1.0, 2.0], np.array([1.0, 2.0])))
    assert res and res.passed and "[pass]" in str(res) and "correct" in res._repr_html_().lower()


def test_none_is_reported_not_raised():
    res = checker.result("demo", checker.compare_array(None, np.ones(2)))
    assert not res and "None" in str(res)


def test_shape_transpose_sign_and_factor_are_diagnosed():
    E = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert "transpose" in checker.compare_array(E.T, E)[0]
    assert "should have shape (2, 3); got (3,)" in checker.compare_array(np.ones(3), E)[0]
    assert "wrong sign" in checker.compare_array(-E, E)[0]
    msg = checker.compare_array(2 * E, E)[0]
    assert "scaled by a constant" in msg and "2." not in msg.split("factor")[0]
    S = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert "transpose of the correct matrix" in checker.compare_array(S.T, S)[0]


def test_hints_name_a_known_wrong_derivation():
    E = np.array([1.0, 2.0])
    msg = checker.compare_array([3.0, 1.0], E, hints={"you forgot the prior": np.array([3.0, 1.0])})
    assert msg == ["your answer is what you get if you forgot the prior."]


def test_tolerance_message_does_not_reveal_the_answer():
    expected = np.array([0.123456789, 0.987654321])
    msg = checker.compare_array([0.123456789, 0.5], expected)[0]
    assert "not within tolerance" in msg and "entry" not in msg and "0.987" not in msg and "0.9876" not in msg


def test_scalar_bool_and_non_numeric():
    assert checker.compare_scalar(0.5, 0.5) == []
    assert "single number" in checker.compare_scalar([1.0, 2.0], 0.5)[0]
    assert "numeric" in checker.compare_scalar("half", 0.5)[0]
    assert "NaN or inf" in checker.compare_scalar(np.nan, 0.5)[0]
    assert checker.compare_bool(True, True) == []
    assert "True or False" in checker.compare_bool("maybe", True)[0]
    assert "True or False" in checker.compare_bool(None, True)[0]
    assert checker.compare_bool(False, True) != []


def test_function_checker_names_the_failing_input_and_exceptions():
    cases = [((1.0,), 2.0), ((3.0,), 6.0)]
    assert checker.compare_function(lambda x: 2 * x, cases) == []
    msg = checker.compare_function(lambda x: x + 1, cases, describe=lambda a: f"x = {a[0]}")[0]
    assert "x = 3.0" in msg and "6.0" not in msg and "not within tolerance" in msg
    assert "raised ZeroDivisionError" in checker.compare_function(lambda x: 1 / 0, cases)[0]
    assert "should be a function" in checker.compare_function(3, cases)[0]


def test_equivalent_forms_of_a_number_are_accepted_alike():
    for form in (2, 2.0, np.int64(2), np.float32(2.0), "2", " 2.0 ", [2.0], np.array([[2.0]]), 2 + 0j):
        assert checker.compare_scalar(form, 2.0) == [], form
    assert checker.compare_array(["1", "2"], np.array([1.0, 2.0])) == []
    assert checker.compare_array((1, 2), np.array([1.0, 2.0])) == []
    assert "complex" in checker.compare_scalar(2 + 1j, 2.0)[0]
    assert "True/False" in checker.compare_scalar(True, 1.0)[0]
    assert "uneven" in checker.compare_array([1.0, [2.0, 3.0]], np.ones(2))[0]


def test_integer_and_boolean_answers_in_every_usual_form():
    for form in (3, 3.0, np.int32(3), "3", [3]):
        assert checker.as_integer(form, "k") == (3, []), form
    assert "whole number" in checker.as_integer(2.5, "k")[1][0]
    assert "True/False" in checker.as_integer(True, "k")[1][0]
    for form, value in ((True, True), (np.False_, False), (1, True), (0, False), ("yes", True),
                        ("False", False), (np.array(True), True)):
        assert checker.as_bool(form, "b") == (value, []), form
    assert checker.as_bool(2, "b")[0] is None


def test_scalar_misses_give_no_size_or_direction_so_guessing_cannot_recover_the_answer():
    expected = 0.7316
    messages = {checker.compare_scalar(guess, expected)[0]
                for guess in (0.70, 0.74, 0.7317, 0.5, 1.0, 0.2, 3.0, 0.01, 50.0, -0.2)}
    assert len(messages) == 1, messages           # every unnamed miss reads the same: no band to bisect
    (msg,) = messages
    assert "0.73" not in msg and not re.search(r"too (large|small)|close|within \d|factor between", msg)
    assert "wrong sign" in checker.compare_scalar(-expected, expected)[0]
    assert "zero" in checker.compare_scalar(0.0, expected)[0]


def test_array_misses_name_neither_the_entries_nor_their_number():
    expected = np.array([0.123456789, 0.987654321, 0.5])
    one_off = checker.compare_array([0.123456789, 0.95, 0.5], expected)[0]
    two_off = checker.compare_array([0.2, 0.95, 0.5], expected)[0]
    assert one_off.replace("your answer", "") == two_off.replace("your answer", "")
    assert "entry" not in one_off and "of 3" not in one_off and "0.98" not in one_off


def test_hand_precision_accepts_three_significant_figures():
    expected = 1.23456
    assert checker.compare_scalar(1.23, expected, rtol=checker.HAND_RTOL) == []
    assert checker.compare_scalar(1.25, expected, rtol=checker.HAND_RTOL) != []
