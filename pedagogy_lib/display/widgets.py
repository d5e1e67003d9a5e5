"""One helper for interactive figures: sliders in a live kernel, a default figure in the book.

:func:`interactive_plot` wraps ``ipywidgets.interactive`` around a *pure* plotting function
(``plot(**values) -> Figure``: no globals changed, no display calls). The displayed object
carries two representations:

* the widget (``application/vnd.jupyter.widget-view+json``), which JupyterLab, Notebook, Binder
  and Colab render as live sliders that redraw the figure;
* an HTML image of the figure at the default slider values, with alt text and a line listing the
  sliders. The book's HTML build is configured (``nb_mime_priority_overrides`` in ``_config.yml``)
  to use this one, so the rendered page always shows a figure, never an empty widget box.

When the environment variable ``PEDAGOGY_STATIC_WIDGETS=1`` is set (``python3 tasks.py`` sets it
for book builds), only the static figure is produced: the HTML page would not show the live widget
anyway, and skipping it keeps the notebook runner from tracking an output widget it cannot display.
"""
from __future__ import annotations

import html
import os

import ipywidgets

from .plotting import StaticFigure, figure_png

__all__ = ["interactive_plot"]


def _describe(name: str, widget) -> str:
    desc = widget.description or name
    if hasattr(widget, "min") and hasattr(widget, "max"):
        return f"{desc} ({widget.min:g} to {widget.max:g})"
    if hasattr(widget, "options"):
        return f"{desc} ({', '.join(str(o) for o in widget.options)})"
    return desc


class InteractivePlot:
    """The widget plus a static rendering of its default figure."""

    def __init__(self, widget, default_png: str, alt: str, controls: str):
        self.widget, self.default_png, self.alt, self.controls = widget, default_png, alt, controls

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {} if self.widget is None else dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        static = StaticFigure(self.default_png, self.alt).html()
        note = (f"<p><em>Interactive figure: run this notebook (Binder, Colab or locally) to move the "
                f"sliders: {html.escape(self.controls)}.</em></p>")
        bundle["text/html"] = static + note
        bundle["text/plain"] = f"[interactive figure: {self.alt}]"
        return bundle


def interactive_plot(plot, *, alt: str, **controls) -> InteractivePlot:
    """Sliders over a pure plotting function, with a static default figure for the book.

    Parameters
    ----------
    plot : callable
        ``plot(**values)`` returns a new ``matplotlib.figure.Figure`` for those control values.
    alt : str
        A description of the figure (alt text of the static rendering).
    **controls : ipywidgets.ValueWidget
        One widget per keyword argument of ``plot`` (e.g. ``pi1=FloatSlider(...)``); their
        initial values are the defaults shown in the book.

    Returns
    -------
    InteractivePlot
        Display it (make it the last expression of a cell).
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    if not isinstance(alt, str) or not alt.strip():
        raise ValueError("alt must be a non-empty description of the figure.")
    for name, w in controls.items():
        if not isinstance(w, ipywidgets.ValueWidget):
            raise TypeError(f"control {name!r} must be an ipywidgets widget with a value "
                            f"(e.g. FloatSlider); got {type(w).__name__}.")
    controls_text = "; ".join(_describe(n, w) for n, w in controls.items())
    if os.environ.get("PEDAGOGY_STATIC_WIDGETS") == "1":
        fig = plot(**{name: w.value for name, w in controls.items()})
        png = figure_png(fig)
        plt.close(fig)
        return InteractivePlot(None, png, alt, controls_text)
    first = {}

    def draw(**values):
        fig = plot(**values)
        png = figure_png(fig)
        plt.close(fig)
        first.setdefault("png", png)
        display(StaticFigure(png, alt))

    widget = ipywidgets.interactive(draw, **controls)
    if "png" not in first:           # older ipywidgets do not draw on construction
        widget.update()
    return InteractivePlot(widget, first["png"], alt, controls_text)
