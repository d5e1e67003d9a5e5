"""Display helpers shared by every notebook: plotting style, the animation player and interactive figures.

* :mod:`~pedagogy_lib.display.plotting`: the book's colours and style, ellipses, ``show``.
* :mod:`~pedagogy_lib.display.animation`: :func:`animate` turns a frame-drawing function into a player.
* :mod:`~pedagogy_lib.display.widgets`: :func:`interactive_plot` puts sliders over a pure plotting function.
* :mod:`~pedagogy_lib.display.prose`: :func:`prose` shows a sentence formatted from the page's own values.

Only this package imports matplotlib and ipywidgets, and only when one of its modules is imported:
no computation in the library needs them.
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, ["plotting", "animation", "widgets", "prose"])
