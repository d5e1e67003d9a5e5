"""Sentences whose numbers come from the computation: a page's prose formatted from its own values.

A number that a page computes reaches its text through :func:`prose` (in a code cell tagged
``remove-input``), never typed by hand: ``prose(f"The bound falls by {d:.4f} nats.")``. The cell's
output is Markdown, which the book parses as MyST (``nb_render_markdown_format: myst`` in
``_config.yml``: dollar maths and roles work), and which Jupyter, Colab and JupyterLite render as
they render any Markdown, so the sentence reads the same everywhere and changes when the value does.
A claim of direction or size in such a sentence ("falls", "closer") gets a hidden ``assert`` on the
same values beside it.

Inside a directive, a solution dropdown for instance, no cell output can stand; there a number
reaches the text through MyST-NB's glue: a hidden cell calls :func:`glue` with the formatted
value, and the Markdown writes ``{glue:text}`name```, which the book build replaces by the value.
"""
from __future__ import annotations

__all__ = ["prose", "glue"]


def prose(text: str) -> None:
    """Show ``text`` (Markdown, maths between dollar signs) as a paragraph of the page."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str of Markdown; got {type(text).__name__}")
    from IPython.display import Markdown, display

    display(Markdown(text))


def glue(name: str, text: str) -> None:
    """Store ``text`` (a number already formatted) under ``name`` for ``{glue:text}`name``` in the
    page's Markdown. Where MyST-NB is not installed (Colab, JupyterLite) nothing is stored: there
    the Markdown shows the role as written, and no book is built from the run."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str; got {type(name).__name__}")
    if not name.isidentifier():
        raise ValueError(f"name must be a Python identifier (letters, digits, _); got {name!r}")
    if not isinstance(text, str):
        raise TypeError(f"text must be a str (format the number first); got {type(text).__name__}")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, text, display=False)
