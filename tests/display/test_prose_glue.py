"""``display.prose.glue``: a formatted number stored for ``{glue:text}`` roles, or nothing without MyST-NB."""
import sys

import pytest

from pedagogy_lib.display import prose


def test_glue_hands_the_text_to_myst_nb_without_displaying_it(monkeypatch):
    myst_nb = pytest.importorskip("myst_nb")
    calls = []
    monkeypatch.setattr(myst_nb, "glue", lambda *args, **kwargs: calls.append((args, kwargs)))
    prose.glue("ex_gain", "0.4")
    assert calls == [(("ex_gain", "0.4"), {"display": False})]


def test_glue_does_nothing_where_myst_nb_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "myst_nb", None)     # import myst_nb now raises ImportError
    assert prose.glue("ex_gain", "0.4") is None


@pytest.mark.parametrize("name, text, error, words", [
    (3, "0.4", TypeError, "name must be a str; got int"),
    ("ex-gain", "0.4", ValueError, "name must be a Python identifier"),
    ("ex_gain", 0.4, TypeError, "text must be a str .*; got float"),
])
def test_glue_names_the_bad_argument(name, text, error, words):
    with pytest.raises(error, match=words):
        prose.glue(name, text)
