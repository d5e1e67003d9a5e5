"""The shared checker machinery: right answers pass, wrong answers are diagnosed, nothing leaks."""
import numpy as np

from pedagogy_lib.exercises import checker


def test_correct_array_passes_and_is_truthy():
    res = checker.result("demo", checker.compare_array([1.0, 2.0], np.array([1.0, 2.0])))
    assert res and res.passed and "[pass]" in str(res) and "correct" in res._repr_html_()


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
    assert "your answer: entry 1" in msg and "0.987" not in msg and "0.9876" not in msg


def test_scalar_bool_and_non_numeric():
    assert checker.compare_scalar(0.5, 0.5) == []
    assert "single number" in checker.compare_scalar([1.0, 2.0], 0.5)[0]
    assert "numeric" in checker.compare_scalar("half", 0.5)[0]
    assert "NaN or inf" in checker.compare_scalar(np.nan, 0.5)[0]
    assert checker.compare_bool(True, True) == []
    assert "True or False" in checker.compare_bool("yes", True)[0]
    assert checker.compare_bool(False, True) != []


def test_function_checker_names_the_failing_input_and_exceptions():
    cases = [((1.0,), 2.0), ((3.0,), 6.0)]
    assert checker.compare_function(lambda x: 2 * x, cases) == []
    msg = checker.compare_function(lambda x: x + 1, cases, describe=lambda a: f"x = {a[0]}")[0]
    assert "x = 3.0" in msg and "6.0" not in msg and "rel" in msg
    assert "raised ZeroDivisionError" in checker.compare_function(lambda x: 1 / 0, cases)[0]
    assert "should be a function" in checker.compare_function(3, cases)[0]
