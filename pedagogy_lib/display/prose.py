"""Sentences whose numbers come from the computation: a page's prose formatted from its own values.

A number that a page computes reaches its text through :func:`prose` (in a code cell tagged
``remove-input``), never typed by hand: ``prose(f"The bound falls by {d:.4f} nats.")``. The cell's
output is Markdown, which the book parses as MyST (``nb_render_markdown_format: myst`` in
``_config.yml``: dollar maths and roles work), and which Jupyter, Colab and JupyterLite render as
they render any Markdown, so the sentence reads the same everywhere and changes when the value does.
A claim of direction or size in such a sentence ("falls", "closer") gets a hidden ``assert`` on the
same values beside it.
"""
from __future__ import annotations

__all__ = ["prose"]


def prose(text: str) -> None:
    """Show ``text`` (Markdown, maths between dollar signs) as a paragraph of the page."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str of Markdown; got {type(text).__name__}")
    from IPython.display import Markdown, display

    display(Markdown(text))
