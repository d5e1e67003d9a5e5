r"""Plotting style and helpers shared by every notebook.

* :func:`use_style` sets one look for the book: white, opaque backgrounds (the rendered page may
  use a dark theme), readable fonts, and a modest resolution so pages stay light.
* :data:`COLORS` gives every role one colour across chapters: the prior is always blue, the
  likelihood orange, the posterior green, the filter red, the smoother purple.
* :func:`ellipse_points` and :func:`gaussian_ellipse` draw :math:`n`-standard-deviation contours
  of a 2-D Gaussian; :func:`show` displays a finished figure with alt text and closes it.
"""
from __future__ import annotations

import base64
import html
import io

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from ..core.checks import as_array, check_spd

__all__ = ["COLORS", "CLASS_COLORS", "use_style", "ellipse_points", "gaussian_ellipse", "show", "figure_png"]

#: One colour per role, the same in every chapter.
COLORS = {
    "prior": "#1f77b4",
    "likelihood": "#ff7f0e",
    "posterior": "#2ca02c",
    "data": "#7f7f7f",
    "truth": "#000000",
    "filter": "#d62728",
    "predict": "#e377c2",
    "smoother": "#9467bd",
    "particles": "#8c564b",
    "boundary": "#000000",
}

#: Colours for classes, mixture components and HMM states, in order.
CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

_STYLE = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    "figure.dpi": 90,
    "savefig.dpi": 90,
    "figure.figsize": (6.4, 4.0),
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "legend.frameon": False,
    "image.cmap": "viridis",
    "animation.embed_limit": 40.0,   # MB; animations are kept far below this
}


def use_style() -> None:
    """Apply the book's matplotlib style (opaque white backgrounds, consistent sizes)."""
    mpl.rcParams.update(_STYLE)


def ellipse_points(mu, Sigma, n_std: float = 2.0, n_points: int = 100) -> np.ndarray:
    r"""Points on the contour :math:`(\mathbf x-\boldsymbol\mu)^T\boldsymbol\Sigma^{-1}(\mathbf x-\boldsymbol\mu) = n_\mathrm{std}^2`.

    Parameters
    ----------
    mu : array_like, shape (2,)
    Sigma : array_like, shape (2, 2)
        Symmetric positive definite.
    n_std : float
        Mahalanobis radius of the contour.
    n_points : int
        Points on the closed curve (the first equals the last).

    Returns
    -------
    ndarray, shape (n_points, 2)
    """
    mu = as_array(mu, "mu", shape=(2,), dims="(2,)")
    Sigma = as_array(Sigma, "Sigma", shape=(2, 2), dims="(2, 2)")
    L = check_spd(Sigma, "Sigma")
    angle = np.linspace(0.0, 2.0 * np.pi, n_points)
    circle = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return mu + n_std * circle @ L.T


def gaussian_ellipse(ax, mu, Sigma, n_std: float = 2.0, **line_kwargs):
    """Draw the ``n_std`` contour of a 2-D Gaussian on ``ax``; return the ``Line2D``."""
    pts = ellipse_points(mu, Sigma, n_std)
    (line,) = ax.plot(pts[:, 0], pts[:, 1], **line_kwargs)
    return line


def figure_png(fig) -> str:
    """Return the figure as a base64-encoded PNG with an opaque white background."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="white", transparent=False, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


class StaticFigure:
    """A displayed figure: an ``<img>`` with alt text for HTML, a PNG for other front ends."""

    def __init__(self, png_b64: str, alt: str):
        self.png_b64, self.alt = png_b64, alt

    def html(self) -> str:
        return (f'<img src="data:image/png;base64,{self.png_b64}" alt="{html.escape(self.alt)}" '
                'style="max-width:100%; background:white;" />')

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.html(), "image/png": self.png_b64, "text/plain": f"[figure: {self.alt}]"}


def show(fig, alt: str) -> None:
    """Display ``fig`` with alt text (for screen readers and the rendered book) and close it.

    Every notebook figure goes through here, so each has a description and none is left open
    to be displayed a second time by the inline backend.
    """
    from IPython.display import display

    if not isinstance(alt, str) or not alt.strip():
        raise ValueError("alt must be a non-empty description of the figure.")
    png = figure_png(fig)
    plt.close(fig)
    display(StaticFigure(png, alt))
