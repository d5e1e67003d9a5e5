"""The training-length switch: full for the book, fast under the test command."""
import pytest

from pedagogy_lib.core.budget import budget, fast


def test_full_setting_unless_the_test_command_asks_for_the_fast_one(monkeypatch):
    monkeypatch.delenv("PEDAGOGY_FAST", raising=False)
    assert not fast() and budget(2000, 200) == 2000
    monkeypatch.setenv("PEDAGOGY_FAST", "0")
    assert budget(2000, 200) == 2000
    monkeypatch.setenv("PEDAGOGY_FAST", "1")
    assert fast() and budget(2000, 200) == 200


@pytest.mark.parametrize("full, fast_value, name", [
    (0, 1, "full"), (10, -1, "fast_value"), (2.5, 1, "full"), (10, True, "fast_value"),
    (10, "3", "fast_value"), (5, 6, "fast_value must not exceed full"),
])
def test_bad_counts_are_named(full, fast_value, name):
    with pytest.raises(ValueError, match=name):
        budget(full, fast_value)
