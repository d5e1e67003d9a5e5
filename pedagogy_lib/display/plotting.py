r"""Plotting style and helpers shared by every notebook.

* :func:`use_style` sets one look for the book: white, opaque backgrounds (the rendered page may
  use a dark theme), readable fonts, and a modest resolution so pages stay light.
* :data:`COLORS` gives every role one colour across chapters: the prior is always blue, the
  likelihood orange, the posterior green, the filter red, the smoother purple.
* :func:`ellipse_points` and :func:`gaussian_ellipse` draw :math:`n`-standard-deviation contours
  of a 2-D Gaussian; :func:`show` displays a finished figure with alt text and closes it.
* :func:`encode_figure` turns a figure into an image; :data:`WIDGET_ASSETS` is the style sheet and
  script shared by the animation player and the static sliders.

Images in the book and in a live kernel
---------------------------------------
Every helper emits its images as ``data:`` URIs, so an output is self-contained wherever it is
shown (JupyterLab, Binder, Colab, the execution cache). In a live kernel they are PNG. When the
book is built (``PEDAGOGY_STATIC_WIDGETS=1``, set by ``python3 tasks.py``), they are WebP. A
figure or an animation frame is lossless when that costs at most half again the size of a lossy
encoding at quality 90 (line art, text), lossy otherwise (heat maps, scatter clouds, where the loss
is invisible). The images a static slider swaps in, many per figure, are lossy at quality
:data:`SLIDER_QUALITY` (Pillow's 0-100 scale), unless the lossless encoding is no larger (then it
is exact and lighter both). On a sample of the site's slider images that averages about 10.5 kB
against 12.9 kB for the rule above (17.6 kB all lossless); text stays legible at that quality. The book's Sphinx
extension ``_ext/pedagogy_figures.py`` then moves each image out of the page into a file named by
its content hash, so a page's HTML stays small and images are cached across visits. A figure wider
than a phone's column is drawn a second time for it (:func:`phone_layout`), and the page shows that
drawing on a screen up to 40rem wide (a ``<picture>``). Static figures
and the first frame of a player carry ``loading="lazy"`` (fetched when scrolled into view); the
other frames are fetched by the script when the player is first used, and a slider's images when
that control is first used (all of them at once when every combination is drawn).
"""
from __future__ import annotations

import base64
import html
import io
import os
import re
import textwrap
import warnings
from contextlib import contextmanager
from typing import NamedTuple

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..core.budget import fast
from ..core.checks import as_array, check_spd

__all__ = ["COLORS", "CLASS_COLORS", "use_style", "ellipse_points", "gaussian_ellipse", "show", "figure_png",
           "static_build", "EncodedImage", "encode_figure", "StaticFigure", "check_alt", "WIDGET_ASSETS",
           "widget_html", "encode_figure_pixels", "SLIDER_QUALITY", "draw_dag", "phone_layout",
           "PHONE_MEDIA", "PHONE_WIDTH_PX", "picture", "phone_image"]

# matplotlib warns when placing a legend at its default location ("best") takes more than a second of
# wall time. That says how busy the machine is, not anything about the figure: on a loaded machine it
# put a line on a page's stderr, which a strict book build turns into a failure. Only that message is
# silenced, and only the default placement can raise it.
warnings.filterwarnings("ignore", message='Creating legend with loc="best" can be slow', category=UserWarning)

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

#: Quality (Pillow's 0-100 scale) of the lossy WebP images a static slider swaps in.
SLIDER_QUALITY = 80

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
    check_spd(Sigma, "Sigma")                # refuses, with its message, what is not a covariance
    # The contour's points at angles 0 and pi/2 are the columns of the Cholesky factor, so the factor is
    # taken from NumPy's own routine, not from the validator's compiled one: a graded exercise that rules
    # the triangular factorizations out (a Gaussian conditional's coefficient and variance sit in them)
    # then rules this plotting helper out with them, instead of it handing the factor over.
    L = np.linalg.cholesky(Sigma)
    angle = np.linspace(0.0, 2.0 * np.pi, n_points)
    circle = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return mu + n_std * circle @ L.T


def gaussian_ellipse(ax, mu, Sigma, n_std: float = 2.0, **line_kwargs):
    """Draw the ``n_std`` contour of a 2-D Gaussian on ``ax``; return the ``Line2D``."""
    pts = ellipse_points(mu, Sigma, n_std)
    (line,) = ax.plot(pts[:, 0], pts[:, 1], **line_kwargs)
    return line


def draw_dag(ax, pos, edges, *, observed=(), labels=None, edge_labels=None, r: float = 0.22,
             title: str | None = None):
    """Draw a directed graphical model on ``ax``: circles for nodes, arrows for edges.

    Parameters
    ----------
    ax : matplotlib Axes
    pos : dict
        Node name -> ``(x, y)`` position.
    edges : iterable of (str, str)
        ``(parent, child)`` pairs; both must be nodes of ``pos``.
    observed : iterable of str
        Nodes drawn shaded (observed variables), the usual convention.
    labels : dict, optional
        Node name -> text drawn in its circle (default: the name).
    edge_labels : dict, optional
        ``(parent, child)`` -> text written beside the middle of that arrow.
    r : float
        Circle radius, in data units.
    title : str, optional

    Returns
    -------
    ax
    """
    pos = {name: np.asarray(xy, dtype=float) for name, xy in pos.items()}
    edges = list(edges)
    missing = sorted({n for e in edges for n in e} - set(pos))
    if missing:
        raise ValueError(f"edges name nodes that pos does not place: {missing}")
    for u, v in edges:
        p, q = pos[u], pos[v]
        unit = (q - p) / np.linalg.norm(q - p)
        ax.annotate("", xy=q - r * unit, xytext=p + r * unit,
                    arrowprops=dict(arrowstyle="-|>", lw=1.5, color="black", shrinkA=0, shrinkB=0,
                                    mutation_scale=14))
        if edge_labels and (u, v) in edge_labels:
            mid, normal = (p + q) / 2, np.array([-unit[1], unit[0]])
            ax.text(*(mid + 0.18 * normal), edge_labels[(u, v)], ha="center", va="center")
    observed = set(observed)
    for name, (x0, y0) in pos.items():
        face = "#c8c8c8" if name in observed else "white"
        ax.add_patch(plt.Circle((x0, y0), r, facecolor=face, edgecolor="black", lw=1.5, zorder=3))
        ax.text(x0, y0, (labels or {}).get(name, name), ha="center", va="center", fontsize=12,
                zorder=4)
    xs, ys = zip(*pos.values())
    ax.set(xlim=(min(xs) - 0.5, max(xs) + 0.5), ylim=(min(ys) - 0.5, max(ys) + 0.5), aspect="equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def static_build() -> bool:
    """True while the book is being built (``PEDAGOGY_STATIC_WIDGETS=1``; ``python3 tasks.py`` sets it)."""
    return os.environ.get("PEDAGOGY_STATIC_WIDGETS") == "1"


class EncodedImage(NamedTuple):
    """An encoded figure: MIME type, bytes and size in pixels (shown at one pixel per CSS pixel)."""

    mime: str
    data: bytes
    width: int
    height: int

    def b64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")

    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{self.b64()}"


def _webp_available() -> bool:
    try:
        from PIL import features
    except ImportError:                    # matplotlib needs Pillow, so this is only defensive
        return False
    return bool(features.check("webp"))


def _drawn_once(fig, tight: bool, dpi: float):
    """``fig`` drawn once at ``dpi`` on its Agg canvas, as an RGB Pillow image cropped to the drawn
    artists plus ``savefig.pad_inches`` when ``tight``; ``None`` when :func:`encode_figure` must use
    ``savefig`` instead.

    ``savefig(bbox_inches="tight")`` draws the figure twice (once to measure the artists, once to
    render the cropped canvas); here the one drawing is measured and cropped, which is about three
    times faster for the same picture (up to sub-pixel placement). Only the common case is taken:
    an Agg canvas (the inline backend's and the book's), an opaque white figure background (the
    book's style) and, when cropping, artists inside the figure. Otherwise ``savefig``, which can
    grow the canvas and repaint the background, does the work.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_rgba
    from PIL import Image

    if not isinstance(fig.canvas, FigureCanvasAgg) or to_rgba(fig.get_facecolor()) != (1.0, 1.0, 1.0, 1.0):
        return None
    old_dpi = fig.dpi
    try:
        fig.dpi = dpi
        fig.canvas.draw()
        width, height = fig.canvas.get_width_height(physical=True)
        rgba = Image.frombuffer("RGBA", (width, height), fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        box = (0, 0, width, height)
        if tight:
            inches = fig.get_tightbbox(fig.canvas.get_renderer()).padded(mpl.rcParams["savefig.pad_inches"])
            w_in, h_in = fig.get_size_inches()
            if inches.x0 < 0 or inches.y0 < 0 or inches.x1 > w_in or inches.y1 > h_in:
                return None                # artists outside the figure: savefig grows the canvas
            # the size savefig gives the cropped canvas (whole pixels, truncated), from the nearest
            # pixel to the box's corner
            left, top = round(inches.x0 * dpi), round((h_in - inches.y1) * dpi)
            box = (left, top, min(width, left + int(inches.width * dpi)), min(height, top + int(inches.height * dpi)))
        return rgba.crop(box).convert("RGB")
    finally:
        fig.dpi = old_dpi


def encode_figure(fig, *, tight: bool = True, dpi: float | None = None, compact: bool | None = None,
                  quality: int | None = None) -> EncodedImage:
    """Render ``fig`` on an opaque white background.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    tight : bool
        Crop to the drawn artists (as ``bbox_inches="tight"``). Animation frames use ``False`` so
        that every frame has the same size.
    dpi : float, optional
        Resolution; matplotlib's ``savefig.dpi`` when omitted.
    compact : bool, optional
        WebP (lossless or lossy, whichever the module docstring's rule picks) instead of PNG.
        Defaults to :func:`static_build`. Falls back to PNG when Pillow cannot write WebP.
    quality : int, optional
        With ``compact``: lossy WebP at this quality (Pillow's 0-100 scale), unless the lossless
        encoding is no larger (then it is both exact and lighter). The slider images use
        :data:`SLIDER_QUALITY`.
    """
    return encode_figure_pixels(fig, tight=tight, dpi=dpi, compact=compact, quality=quality, pixels=False)[0]


def encode_figure_pixels(fig, *, tight: bool = True, dpi: float | None = None, compact: bool | None = None,
                         quality: int | None = None, pixels: bool = True):
    """:func:`encode_figure`, also returning the rendered RGB pixels (``uint8``, height x width x 3)
    as drawn, before any lossy compression (``None`` when ``pixels`` is false)."""
    from PIL import Image

    if compact is None:
        compact = static_build()
    compact = bool(compact) and _webp_available()
    dpi = _savefig_dpi(fig) if dpi is None else float(dpi)
    rgb = _drawn_once(fig, tight, dpi)
    if rgb is None:
        options = {"format": "png", "facecolor": "white", "transparent": False, "dpi": dpi}
        if tight:
            options["bbox_inches"] = "tight"
        buf = io.BytesIO()
        fig.savefig(buf, **options)
        with Image.open(io.BytesIO(buf.getvalue())) as im:
            rgb = im.convert("RGB")
    width, height = rgb.size
    raster = np.asarray(rgb) if pixels else None
    if not compact:
        png = io.BytesIO()
        rgb.save(png, "PNG", compress_level=6)
        return EncodedImage("image/png", png.getvalue(), width, height), raster
    lossless, lossy = io.BytesIO(), io.BytesIO()
    rgb.save(lossless, "WEBP", lossless=True, quality=50, method=1)
    rgb.save(lossy, "WEBP", quality=90 if quality is None else int(quality), method=4)
    if quality is None:
        best = lossless if lossless.tell() <= 1.5 * lossy.tell() else lossy
    else:
        best = lossless if lossless.tell() <= lossy.tell() else lossy
    return EncodedImage("image/webp", best.getvalue(), width, height), raster


#: The media query under which a page shows a figure's phone drawing: screens up to 640 px wide.
PHONE_MEDIA = "(max-width: 40rem)"
#: Width (CSS px) of a figure drawn for a phone: a 375 px screen leaves the book's column 315 px.
PHONE_WIDTH_PX = 300


def _grid_cells(fig):
    """The figure's axes by the cell of its one top-level grid where each starts: ``(grid, {ax: (row, col)})``,
    or ``None`` when an axes is placed by hand, spans rows, or sits on a second grid."""
    grid, cells = None, {}
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        if spec is None:
            return None
        top = spec.get_topmost_subplotspec()
        if grid is None:
            grid = top.get_gridspec()
        if top.get_gridspec() is not grid or len(top.rowspan) != 1:
            return None
        cells[ax] = (top.rowspan.start, top.colspan.start)
    return (grid, cells) if cells else None


def _subplot_pars(fig) -> dict:
    return {k: getattr(fig.subplotpars, k) for k in ("left", "right", "bottom", "top", "wspace", "hspace")}


def _break_lines(fig, texts, height: float) -> None:
    """Break each of ``texts`` into lines between words where it is longer than the figure allows: 0.9 of its
    width for the figure's own texts, 0.75 for an axes' title or x label (centred on the axes, which sit right
    of the figure's centre), 0.9 of ``height`` pixels for a y label. Explicit breaks rather than matplotlib's
    ``wrap``, which it applies only when drawing: ``tight_layout`` then sees the lines and makes room."""
    renderer = fig.canvas.get_renderer()
    for t in texts:
        text = t.get_text()
        if not text.strip():
            continue
        extent = t.get_window_extent(renderer)
        if t.get_rotation() % 180 == 90:
            size, limit = extent.height, 0.9 * height
        else:
            size, limit = extent.width, (0.9 if t in fig.texts else 0.75) * fig.bbox.width
        columns = max(len(line) for line in text.split("\n"))
        while size > limit and columns > 8:           # narrower until it fits (a character's width varies)
            columns = max(min(int(limit / size * columns), columns - 1), 8)
            t.set_text(_broken(text, columns))
            extent = t.get_window_extent(renderer)
            size = extent.height if t.get_rotation() % 180 == 90 else extent.width


def _broken(text: str, columns: int) -> str:
    """``text`` broken between words into lines of at most about ``columns`` characters; a formula between
    dollar signs stays whole, on one line."""
    shielded = re.sub(r"\$[^$]*\$", lambda m: m.group().replace(" ", "\0"), text)
    lines = (textwrap.fill(line, columns, break_long_words=False, break_on_hyphens=False)
             for line in shielded.split("\n"))
    return "\n".join(lines).replace("\0", " ")


def _legends_below(fig, axes) -> list:
    """Hide each visible legend of ``axes`` and draw a copy of it in one column under its axes' tick labels
    and x label, centred on the figure, unless the copy would take more than 0.95 of the figure's width.
    Returns ``(legend, copy)`` pairs."""
    from matplotlib.legend import Legend
    from matplotlib.transforms import ScaledTranslation, blended_transform_factory

    renderer = fig.canvas.get_renderer()
    moved = []
    for ax in axes:
        legend = ax.get_legend()
        if legend is None or not legend.get_visible() or not legend.get_texts():
            continue
        legend.set_visible(False)
        bottom = ax.get_tightbbox(renderer).y0      # (which applies a fixed aspect ratio to the axes first)
        below = (ax.bbox.y0 - bottom) / fig.dpi + 0.05    # inches under the axes taken by tick labels and x label
        copy = Legend(ax, legend.legend_handles, [t.get_text() for t in legend.get_texts()], loc="upper center",
                      bbox_to_anchor=(0.5, 0.0),
                      bbox_transform=blended_transform_factory(fig.transFigure, ax.transAxes)
                      + ScaledTranslation(0.0, -below, fig.dpi_scale_trans),
                      fontsize=legend.get_texts()[0].get_fontsize(), frameon=legend.get_frame_on(),
                      title=legend.get_title().get_text() or None)
        ax.add_artist(copy)
        copy.set_clip_on(False)                      # add_artist clips to the axes, and the copy is outside them
        if copy.get_window_extent(renderer).width > 0.95 * fig.bbox.width:
            copy.remove()
            legend.set_visible(True)
            continue
        moved.append((legend, copy))
    return moved


def _panels_rect(fig) -> tuple:
    """The part of ``fig`` (in figure fractions) its panels may take: below its own texts and legends near its
    top (a suptitle), above those near its bottom (a legend for all panels), which ``tight_layout`` ignores."""
    renderer = fig.canvas.get_renderer()
    height, bottom, top = fig.bbox.height, 0.0, 1.0
    for artist in [*fig.legends, *fig.texts]:
        box = artist.get_window_extent(renderer)
        if not artist.get_visible() or box.height == 0:
            continue
        middle = (box.y0 + box.y1) / 2 / height
        if middle < 0.25:
            bottom = max(bottom, box.y1 / height)
        elif middle > 0.75:
            top = min(top, box.y0 / height)
    return 0.0, bottom, 1.0, top


def _adjustable(fig) -> bool:
    """Whether ``fig``'s subplot parameters place its axes (no layout engine, or one that lets them)."""
    engine = fig.get_layout_engine()
    return engine is None or engine.adjust_compatible


@contextmanager
def phone_layout(fig, dpi: float, pars: dict | None = None):
    """Inside the block, ``fig`` is laid out for a phone's column; afterwards it is as it was.

    The figure becomes :data:`PHONE_WIDTH_PX` pixels wide at ``dpi`` with its fonts unchanged, so its
    text keeps the size it has on a desktop screen. The panels of a grid of subplots are stacked in one
    column in reading order (a colour bar stays with its panel; a panel across several columns takes one
    place), each between three quarters of its width and its width high; a panel that hid its shared y
    tick labels shows them, a title or axis label longer than the column breaks into lines, and a legend
    moves under its panel's x label, in one column (unless it would be too wide there). Then
    ``tight_layout`` places them in the room the figure's own title and legends leave, or the subplot
    parameters ``pars`` do (an animation's later frames
    take its first frame's, so that nothing moves from frame to frame); a figure with a layout engine
    of its own (constrained layout) is left to it. A figure no wider than a phone's column, or with
    several axes that are not the cells of one grid (placed by hand, or spanning rows), is left as it is.

    Yields ``None`` when the figure is left as it is, else the subplot parameters it now has (a dict,
    empty under a layout engine).
    """
    from matplotlib.gridspec import GridSpec, GridSpecFromSubplotSpec

    width, height = fig.get_size_inches()
    phone = PHONE_WIDTH_PX / dpi
    found = _grid_cells(fig)
    if width <= 1.1 * phone or (found is None and len(fig.axes) > 1):
        yield None
        return
    grid, cells = found if found is not None else (None, {})
    n_rows, n_cols = grid.get_geometry() if grid is not None else (1, 1)
    texts = [*fig.texts, *(x for ax in fig.axes for x in (ax.title, ax.xaxis.label, ax.yaxis.label))]   # may break
    saved = {"size": (width, height), "specs": {ax: ax.get_subplotspec() for ax in cells}, "pars": _subplot_pars(fig),
             "texts": [t.get_text() for t in texts],
             "labels": {ax: ax.yaxis.get_tick_params()["labelleft"] for ax in cells}}
    order = sorted(set(cells.values()))
    row_height = min(max(height / n_rows * phone / (width / n_cols), 0.75 * phone), phone)
    moved = []
    try:
        if n_cols > 1:
            stack = GridSpec(len(order), 1, figure=fig)
            place = {cell: stack[k, 0] for k, cell in enumerate(order)}
            subgrids = {}
            for ax, cell in cells.items():
                spec = ax.get_subplotspec()
                if spec.get_topmost_subplotspec() is spec:
                    ax.set_subplotspec(place[cell])
                else:                  # a cell split in a grid of its own (a colour bar, images): split the new one
                    old = spec.get_gridspec()
                    if old not in subgrids:
                        gaps = old.get_subplot_params(fig)
                        subgrids[old] = GridSpecFromSubplotSpec(
                            *old.get_geometry(), subplot_spec=place[cell], wspace=gaps.wspace, hspace=gaps.hspace,
                            width_ratios=old.get_width_ratios(), height_ratios=old.get_height_ratios())
                    rows, cols = spec.rowspan, spec.colspan
                    ax.set_subplotspec(subgrids[old][rows.start:rows.stop, cols.start:cols.stop])
                if cell[1] > 0 and len(ax.get_shared_y_axes().get_siblings(ax)) > 1:
                    ax.tick_params(axis="y", labelleft=True)
        fig.set_size_inches(phone, row_height * max(len(order), 1), forward=False)
        _break_lines(fig, texts, row_height * fig.dpi)
        moved = _legends_below(fig, cells)
        extra = sum(copy.get_window_extent().height for _, copy in moved) / fig.dpi
        fig.set_size_inches(phone, row_height * max(len(order), 1) + extra, forward=False)
        if not _adjustable(fig):           # laid out by an engine of its own (constrained layout)
            yield {}
            return
        if pars is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for _ in range(2):          # twice: a panel of fixed aspect moves its title and legend as it shrinks
                    # the whole figure as None: matplotlib then measures the panels once, not twice
                    rect = _panels_rect(fig)
                    fig.tight_layout(rect=None if rect == (0.0, 0.0, 1.0, 1.0) else rect)
        else:
            fig.subplots_adjust(**pars)
        yield _subplot_pars(fig)
    finally:
        for legend, copy in moved:
            copy.remove()
            legend.set_visible(True)
        for t, text in zip(texts, saved["texts"]):
            t.set_text(text)
        fig.set_size_inches(*saved["size"], forward=False)
        for ax, spec in saved["specs"].items():
            ax.set_subplotspec(spec)
            ax.tick_params(axis="y", labelleft=saved["labels"][ax])
        if _adjustable(fig):
            fig.subplots_adjust(**saved["pars"])


def phone_image(fig, quality: int | None = None) -> EncodedImage | None:
    """``fig`` drawn for a phone (:func:`phone_layout`) and encoded as :func:`encode_figure` does, or ``None``
    when it needs no phone drawing."""
    with phone_layout(fig, _savefig_dpi(fig)) as changed:
        return None if changed is None else encode_figure(fig, quality=quality)


def _savefig_dpi(fig) -> float:
    """The resolution :func:`encode_figure` draws ``fig`` at when given none: matplotlib's ``savefig.dpi``."""
    dpi = mpl.rcParams["savefig.dpi"]
    return float(fig.dpi if dpi == "figure" else dpi)


def figure_png(fig) -> str:
    """Return the figure as a base64-encoded PNG with an opaque white background."""
    return encode_figure(fig, compact=False).b64()


_PLACEHOLDER_ALT = re.compile(r"(figure|fig\.?|image|picture|plot|chart|graph|animation|widget)?\s*[\d.]*",
                              re.IGNORECASE)


def check_alt(alt, what: str = "figure") -> str:
    """Validate alt text: a non-empty description, not a placeholder such as "figure 3".

    Returns the stripped text; raises ``ValueError`` otherwise.
    """
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError(f"alt must be a non-empty description of the {what}; got {alt!r}.")
    if _PLACEHOLDER_ALT.fullmatch(alt.strip()):
        raise ValueError(f"alt must describe what the {what} shows, not only name it; got {alt!r}.")
    return alt.strip()


def picture(img: str, phone: str, phone_size: tuple[int, int]) -> str:
    """A ``<picture>`` that shows the image at the URI ``phone`` (of ``phone_size`` pixels) on a screen
    narrower than :data:`PHONE_MEDIA` and the HTML ``img`` on any other."""
    return (f'<picture><source media="{PHONE_MEDIA}" srcset="{phone}" width="{phone_size[0]}" '
            f'height="{phone_size[1]}" />{img}</picture>')


class StaticFigure:
    """A displayed figure: an ``<img>`` with alt text for HTML, a PNG for other front ends; with a
    ``phone`` rendering (see :func:`phone_layout`), the HTML is a ``<picture>`` that shows it on a
    phone's screen."""

    def __init__(self, image: EncodedImage, alt: str, phone: EncodedImage | None = None):
        if isinstance(image, str):                     # a base64 PNG, as figure_png returns
            image = EncodedImage("image/png", base64.b64decode(image), 0, 0)
        self.image, self.alt, self.phone = image, alt, phone

    def html(self) -> str:
        size = f'width="{self.image.width}" height="{self.image.height}" ' if self.image.width else ""
        img = (f'<img src="{self.image.data_uri()}" alt="{html.escape(self.alt)}" {size}loading="lazy" '
               'decoding="async" style="max-width:100%; height:auto; background:white;" />')
        if self.phone is None:
            return img
        return picture(img, self.phone.data_uri(), (self.phone.width, self.phone.height))

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/html": self.html(), "text/plain": f"[figure: {self.alt}]"}
        if self.image.mime == "image/png":
            bundle["image/png"] = self.image.b64()
        return bundle


def show(fig, alt: str, phone=None) -> None:
    """Display ``fig`` with alt text (for screen readers and the rendered book) and close it.

    Every notebook figure goes through here, so each has a description and none is left open
    to be displayed a second time by the inline backend. In the book, a figure wider than a phone's
    column is drawn again for it by :func:`phone_layout`; a figure that stacking cannot make readable (a
    diagram read from left to right, say) passes its own phone drawing as ``phone``, a figure at most
    :data:`PHONE_WIDTH_PX` pixels wide (closed too; its text is described by the same ``alt``).
    """
    from IPython.display import display

    alt = check_alt(alt)
    if phone is not None and not isinstance(phone, Figure):
        plt.close(fig)
        raise TypeError(f"phone must be a matplotlib Figure or None; got {type(phone).__name__}.")
    if phone is not None:
        phone_fig, phone = phone, encode_figure(phone)
        plt.close(phone_fig)
        if phone.width > PHONE_WIDTH_PX:
            plt.close(fig)
            raise ValueError(f"phone must be a figure at most {PHONE_WIDTH_PX} px wide as drawn; got one "
                             f"{phone.width} px wide.")
    image = encode_figure(fig)
    # the SVG costs about as much as the image again, so the test command's fast build skips it
    vector = figure_svgz(fig) if static_build() and not fast() else None
    if not static_build():
        phone = None
    elif phone is None:
        phone = phone_image(fig)
    plt.close(fig)
    if vector is None:
        display(StaticFigure(image, alt, phone))
    else:
        # the book's figure pack (_ext/teaching_kit.py) takes the SVG from the output's metadata;
        # no front end renders metadata, so the page is as light as before
        display(StaticFigure(image, alt, phone), metadata={SVG_METADATA_KEY: vector})


#: Output-metadata key under which :func:`show` leaves a book build's figure as gzipped SVG (base64).
SVG_METADATA_KEY = "pedagogy_svgz"
#: Largest SVG (uncompressed bytes) kept for the figure pack; a denser drawing (a cloud of many
#: thousand points) is offered as PNG only.
SVG_MAX_BYTES = 3_000_000


def figure_svgz(fig) -> str | None:
    """``fig`` as SVG, gzipped and base64-encoded, with text as paths (no font needed to open it) and
    no date or random ids (the same figure gives the same bytes); ``None`` when it is larger than
    :data:`SVG_MAX_BYTES` or matplotlib cannot write it."""
    import gzip

    buf = io.BytesIO()
    try:
        with mpl.rc_context({"svg.fonttype": "path", "svg.hashsalt": "pedagogy"}):
            fig.savefig(buf, format="svg", bbox_inches="tight", facecolor="white", transparent=False,
                        metadata={"Date": None})
    except Exception:  # noqa: BLE001 - a figure matplotlib cannot vectorize is offered as PNG only
        return None
    if buf.tell() > SVG_MAX_BYTES:
        return None
    return base64.b64encode(gzip.compress(buf.getvalue(), compresslevel=6, mtime=0)).decode("ascii")


# ---------------------------------------------------------------------------------------------
# Style and script shared by the animation player and the static sliders.
#
# Both widgets paint their own background and text colours, so their contrast does not depend on
# the theme's light or dark mode; every control is a native HTML control (button, range, select,
# checkbox) with a visible label, so it works with the keyboard and has an accessible name; focus
# is drawn with a thick outline. The script is included after each widget's markup (and runs once
# per page): it initializes every widget not yet initialized, so it also works in JupyterLab.

WIDGET_STYLE = """<style>
.pgw{background:#fff;color:#1b1b1b;border:1px solid #767676;border-radius:6px;padding:.6rem .8rem;
margin:1rem 0;max-width:100%;box-sizing:border-box;font-size:.95rem;line-height:1.4}
.pgw img.pgw-img{display:block;max-width:100%;height:auto;background:#fff;margin:0 auto}
.pgw picture{display:block}
.pgw .pgw-controls{display:flex;flex-wrap:wrap;gap:.45rem .9rem;align-items:center;margin:.5rem 0 0}
.pgw .pgw-ctl{display:inline-flex;align-items:center;gap:.4rem}
.pgw button,.pgw select{font:inherit;color:#1b1b1b;background:#efefef;border:1px solid #595959;
border-radius:4px;padding:.15rem .55rem;margin:0;cursor:pointer}
.pgw button:hover,.pgw select:hover{background:#dcdcdc}
.pgw input[type=range]{accent-color:#0b5cad;width:12rem;max-width:55vw;margin:0}
.pgw input[type=checkbox]{accent-color:#0b5cad;width:1.1rem;height:1.1rem;margin:0}
.pgw button:focus-visible,.pgw select:focus-visible,.pgw input:focus-visible{outline:3px solid #0b5cad;
outline-offset:2px;box-shadow:0 0 0 5px #fff}
.pgw label{font-weight:600;color:#1b1b1b}
.pgw output{font-variant-numeric:tabular-nums;min-width:4ch;color:#1b1b1b}
.pgw .pgw-caption,.pgw .pgw-status{display:block;font-size:.88rem;color:#333;margin:.45rem 0 0;text-align:left}
</style>"""

WIDGET_SCRIPT = r"""<script>
(function () {
  "use strict";
  if (window.pedagogyWidgets) { window.pedagogyWidgets.scan(); return; }
  function config(root) { return JSON.parse(root.querySelector("script.pgw-data").textContent); }
  function preload(urls) { urls.forEach(function (u) { var im = new Image(); im.src = u; }); }
  // a widget's picture shows its phone images on a narrow screen: those are the ones to fetch there
  function phone(source) { return !!source && !!window.matchMedia && window.matchMedia(source.media).matches; }
  function player(root) {
    var d = config(root), n = d.frames.length, i = 0, dir = 1, timer = null, warm = false;
    var img = root.querySelector("img.pgw-img"), range = root.querySelector("input[type=range]");
    var out = root.querySelector("output"), play = root.querySelector("button[data-act=play]");
    var mode = root.querySelector("select"), source = root.querySelector("picture source");
    function use() { if (!warm) { warm = true; preload(phone(source) ? d.phone : d.frames); } }
    function show(k) {
      i = Math.max(0, Math.min(n - 1, k));
      img.src = d.frames[i];
      if (source) { source.srcset = d.phone[i]; }
      range.value = String(i);
      range.setAttribute("aria-valuetext", "frame " + (i + 1) + " of " + n);
      out.textContent = (i + 1) + " / " + n;
    }
    function label(playing) {
      play.querySelector(".pgw-icon").textContent = playing ? "||" : "\u25B6";
      play.querySelector(".pgw-word").textContent = playing ? "Pause" : "Play";
    }
    function stop() { if (timer) { clearInterval(timer); timer = null; } label(false); }
    function tick() {
      var k = i + dir;
      if (k >= n || k < 0) {
        if (mode.value === "loop") { k = dir > 0 ? 0 : n - 1; }
        else if (mode.value === "reflect") { dir = -dir; k = i + dir; }
        else { stop(); return; }
      }
      show(k);
    }
    function start() {
      use();
      if (mode.value === "once" && i === n - 1) { show(0); }
      timer = setInterval(tick, d.interval);
      label(true);
    }
    root.addEventListener("click", function (e) {
      var b = e.target.closest("button[data-act]");
      if (!b || !root.contains(b)) { return; }
      var act = b.getAttribute("data-act");
      use();
      if (act === "play") { if (timer) { stop(); } else { start(); } return; }
      stop(); dir = 1;
      if (act === "first") { show(0); } else if (act === "prev") { show(i - 1); }
      else if (act === "next") { show(i + 1); } else if (act === "last") { show(n - 1); }
    });
    range.addEventListener("input", function () { use(); stop(); show(parseInt(range.value, 10)); });
  }
  function sliders(root) {
    var d = config(root), img = root.querySelector("img.pgw-img"), status = root.querySelector(".pgw-status");
    var source = root.querySelector("picture source"), warm = {};
    var els = d.controls.map(function (c, k) { return root.querySelector("[data-ctl='" + k + "']"); });
    var idx = d.controls.map(function (c) { return c.initial; });
    function read(k) {
      var el = els[k];
      return el.type === "checkbox" ? (el.checked ? 1 : 0) : parseInt(el.value, 10);
    }
    function write(k) {
      var el = els[k], c = d.controls[k];
      if (el.type === "checkbox") { el.checked = idx[k] === 1; } else { el.value = String(idx[k]); }
      if (el.type === "range") {
        el.setAttribute("aria-valuetext", c.labels[idx[k]]);
        var o = root.querySelector("output[data-ctl-out='" + k + "']");
        if (o) { o.textContent = c.labels[idx[k]]; }
      }
    }
    function describe() {
      return d.controls.map(function (c, k) { return c.name + " = " + c.labels[idx[k]]; }).join(", ");
    }
    function use(k) {
      var all = d.mode !== "axes", slot = all ? "all" : String(k);
      if (warm[slot]) { return; }
      warm[slot] = true;
      var set = phone(source) ? d.phone : d.images;
      preload(Object.keys(set).filter(function (key) {
        return all || key.split(",").every(function (v, m) { return m === k || +v === d.controls[m].initial; });
      }).map(function (key) { return set[key]; }));
    }
    function update(changed) {
      var reset = [];
      if (d.mode === "axes") {
        d.controls.forEach(function (c, k) {
          if (k !== changed && idx[k] !== c.initial) { idx[k] = c.initial; write(k); reset.push(c.name); }
        });
      }
      var url = d.images[idx.join(",")];
      if (!url) { return; }
      img.src = url;
      if (source) { source.srcset = d.phone[idx.join(",")] || url; }
      var now = describe();
      var atDefault = idx.every(function (v, k) { return v === d.controls[k].initial; });
      img.alt = atDefault ? d.alt : d.alt + " (This describes the default settings; the figure now shows " + now + ".)";
      status.textContent = "Showing " + now + "." +
        (reset.length ? " Back at its default (one control moves at a time here): " + reset.join(", ") + "." : "");
    }
    els.forEach(function (el, k) {
      var ev = (el.tagName === "SELECT" || el.type === "checkbox") ? "change" : "input";
      el.addEventListener(ev, function () { use(k); idx[k] = read(k); write(k); update(k); });
    });
    var again = root.querySelector("button[data-act=reset]");
    if (again) {
      again.addEventListener("click", function () {
        idx = d.controls.map(function (c) { return c.initial; });
        idx.forEach(function (v, k) { write(k); });
        update(-1);
      });
    }
  }
  function scan() {
    var roots = document.querySelectorAll(".pgw[data-pgw-kind]:not([data-pgw-ready])");
    Array.prototype.forEach.call(roots, function (root) {
      root.setAttribute("data-pgw-ready", "1");
      if (root.getAttribute("data-pgw-kind") === "player") { player(root); } else { sliders(root); }
    });
  }
  window.pedagogyWidgets = { scan: scan };
  scan();
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", scan); }
})();
</script>"""

#: Style sheet and script together (the script must follow the widgets' markup).
WIDGET_ASSETS = WIDGET_STYLE + WIDGET_SCRIPT


def widget_html(kind: str, body: str, data: dict) -> str:
    """Wrap a widget's markup: ``<figure class="pgw">`` with its JSON data, then the shared assets."""
    import json

    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return (f'{WIDGET_STYLE}<figure class="pgw pgw-{kind}" data-pgw-kind="{kind}">{body}'
            f'<script type="application/json" class="pgw-data">{payload}</script></figure>{WIDGET_SCRIPT}')
