"""One helper for interactive figures: live sliders in a kernel, precomputed sliders in the book.

:func:`interactive_plot` takes a *pure* plotting function (``plot(**values) -> Figure``: no
globals changed, no display calls) and one ipywidgets control per argument.

In a live kernel (JupyterLab, Notebook, Binder, Colab) it wraps ``ipywidgets.interactive`` around
the function: the sliders are continuous and every move redraws the figure. The displayed object
also carries an HTML image of the default figure, with alt text and a line naming the controls,
for front ends that cannot show widgets.

When the book is built (``PEDAGOGY_STATIC_WIDGETS=1``, set by ``python3 tasks.py``), there is no
kernel behind the page, so the figure is drawn in advance over a small grid of control values and
emitted as HTML with real, labelled controls (range sliders, drop-down lists, check boxes) whose
script swaps the image: a reader of the static page can move the sliders. The default view is the
same figure as in a kernel; a caption says which values were precomputed and that a live kernel
gives the continuous version. The controls are native HTML controls, so they work with the
keyboard and have accessible names; the images are fetched only when a control is first used.

How the grid is chosen
----------------------
The grid depends on the controls alone, never on how long a drawing takes or how busy the build
machine is, so every build of the same sources offers the same positions.

1. Each control gets its positions: a numeric slider about :data:`POSITIONS` positions on its own
   lattice (``min + k * step``, in the exponent for a ``FloatLogSlider``), or every lattice point
   when it has fewer, always with the default and both ends. The positions are evenly spaced, one
   stride through the default (:func:`_even_positions`): a stride that divides both sides of the
   default exactly when one gives close to that many positions, so that every step is the same,
   else the stride that gives that many, with only the two end steps different (longer by at most
   half a stride, or shorter). A default between two lattice points is offered beside them, with
   the stride through the minimum (a notebook that wants every step even puts its default on the
   lattice). A figure whose author passes ``cheap=True`` (a plotting function of a few dozen lines
   of closed-form maths, with no fitting or sampling loop: the author says so, the build never
   times it) gets about :data:`CHEAP_POSITIONS` instead, so that its sliders feel continuous. Under
   the test command (``PEDAGOGY_FAST=1``) the count is about :data:`FAST_POSITIONS` for every
   figure. A check box has two positions; a drop-down list or a selection slider its options (at
   most :data:`MAX_OPTIONS`, centred on the default).
2. One control moves at a time: the images are the default plus each control's positions with the
   other controls at their defaults (moving one puts the others back, and the caption says so).
   When the product of all the controls' positions is small (at most :data:`PRODUCT_LIMIT`
   images) the full product is drawn instead, and every combination can be reached.
3. The caption says how many positions each control has and over which range.

No dead or repeating positions
------------------------------
Every position of a control must draw a picture of its own: the build draws them all anyway, so it
compares the pictures along each control (the others at their defaults) and raises a
``ValueError`` naming the figure, the control and the positions when two of them, neighbours or
not (the two ends of an angle that has turned through a whole period, say), draw the same picture,
or when the control changes nothing. Two pictures count as the same when they have the same size
and at most :data:`SAME_PICTURE_PIXELS` pixels differ by more than :data:`PIXEL_TOLERANCE` (of 255)
in some colour channel, compared as drawn, before lossy compression. The rule is cheap (one array
comparison per pair of positions) and separates the two cases it must: a curve redrawn a tenth of
a pixel higher changes its anti-aliased edge pixels by at most about 26 levels, under the
tolerance (none counts), whereas the smallest change a reader can see, one digit of a number in
an 11-point title, changes about 35 pixels by nearly the full range, more than
:data:`SAME_PICTURE_PIXELS`. (Measured at 80 dpi; a quarter-pixel move already
changes hundreds of pixels past the tolerance.) A slider whose neighbouring
positions only differ by such sub-pixel redrawing is a repeat to the reader, and is reported.
The fix is in the notebook: a range, a step or a default that makes every position draw something
new.

The images are never part of the page's HTML: the book moves them into files that a control loads
on first use (see :mod:`pedagogy_lib.display.plotting`); they are lossy WebP at
:data:`~pedagogy_lib.display.plotting.SLIDER_QUALITY`. A wide figure is also drawn for a phone's
column at every position (:func:`~pedagogy_lib.display.plotting.phone_layout`), and a phone
loads and shows those.
"""
from __future__ import annotations

import hashlib
import html
import itertools
import math
from typing import NamedTuple

import ipywidgets
import numpy as np

from ..core.budget import fast
from .plotting import (SLIDER_QUALITY, EncodedImage, StaticFigure, check_alt, encode_figure, encode_figure_pixels,
                       phone_image, picture, static_build, widget_html)

__all__ = ["interactive_plot", "InteractivePlot", "POSITIONS", "CHEAP_POSITIONS", "FAST_POSITIONS", "MAX_OPTIONS",
           "PRODUCT_LIMIT", "PIXEL_TOLERANCE", "SAME_PICTURE_PIXELS", "positions", "same_picture"]

#: About this many positions of a numeric slider on the book's static page (the default and both
#: ends included; see :func:`_even_positions`), when its lattice has more points.
POSITIONS = 9
#: The same for a figure its author marks ``cheap=True`` (quick to draw: closed-form maths, no
#: fitting or sampling loop), so that its sliders feel continuous.
CHEAP_POSITIONS = 21
#: The same under the test command (``PEDAGOGY_FAST=1``, :mod:`pedagogy_lib.core.budget`), which
#: builds its own copy of the site, never published: fewer drawings, every control still moving
#: to both sides of its default. Cheap figures get no more here, so the test command is no slower.
FAST_POSITIONS = 5
#: A default within this fraction of a step of a lattice point takes that point's place; one further
#: from every lattice point is offered beside them (a slider's default need not lie on its lattice).
OFF_LATTICE_SNAP = 0.1
#: Options of a drop-down list or selection slider offered on the static page, at most.
MAX_OPTIONS = 8
#: Draw the full product of the controls' positions when it needs at most this many images.
PRODUCT_LIMIT = 16
#: Two drawn pictures are the same when at most :data:`SAME_PICTURE_PIXELS` of their pixels differ by
#: more than this in some colour channel (0-255); see "No dead or repeating positions" above.
PIXEL_TOLERANCE = 32
#: See :data:`PIXEL_TOLERANCE`.
SAME_PICTURE_PIXELS = 12


def positions(cheap: bool = False) -> int:
    """Positions of a numeric slider on the static page: :data:`POSITIONS` (:data:`CHEAP_POSITIONS`
    for a figure marked cheap), or :data:`FAST_POSITIONS` for every figure under the test command."""
    if fast():
        return FAST_POSITIONS
    return CHEAP_POSITIONS if cheap else POSITIONS


def same_picture(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two drawn pictures (RGB arrays) count as the same: equal sizes and at most
    :data:`SAME_PICTURE_PIXELS` pixels differing by more than :data:`PIXEL_TOLERANCE`."""
    if a.shape != b.shape:
        return False
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    changed = diff.max(axis=-1) > PIXEL_TOLERANCE if diff.ndim == 3 else diff > PIXEL_TOLERANCE
    return int(np.count_nonzero(changed)) <= SAME_PICTURE_PIXELS


def _even_positions(n_lattice: int, k0, n_positions: int) -> list:
    """About ``n_positions`` lattice indices of ``0 .. n_lattice - 1`` with one stride through the default
    ``k0`` (a lattice index, or a fraction for a default between two points), both ends included.

    Every lattice point when there are at most ``n_positions``. Otherwise, when a stride divides both
    sides of the default exactly (the whole range, for a default between lattice points; the grid then
    runs through the minimum) and gives from half of ``n_positions`` to a quarter more positions, the
    one giving the count nearest ``n_positions``: every step is the same. Otherwise the stride
    ``ceil((n_lattice - 1) / (n_positions - 1))`` outwards from the default, and at each end the
    outermost position moves onto the end when it lies within half a stride of it, else the end is
    added: only the two end steps differ from the stride, by at most half of it (a default itself
    closer than that to an end stays, beside the end).

    >>> _even_positions(11, 3, 9)             # 11 points: every one, at most a quarter more than 9
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    >>> _even_positions(41, 25, 9)            # stride 5 divides both sides, 25 and 15
    [0, 5, 10, 15, 20, 25, 30, 35, 40]
    >>> _even_positions(101, 37, 9)           # no exact stride: 13 from the default, the ends snapped
    [0, 11, 24, 37, 50, 63, 76, 89, 100]
    """
    last = n_lattice - 1
    on_lattice = isinstance(k0, int)
    if n_lattice <= n_positions or n_positions < 2:
        picked = set(range(n_lattice)) if n_lattice <= n_positions else {0, last}
        return sorted(picked | {k0})
    anchor = k0 if on_lattice else 0
    common = math.gcd(anchor, last - anchor)
    exact = [s for s in range(1, last + 1) if common % s == 0
             and math.ceil(n_positions / 2) <= last // s + 1 <= n_positions + max(1, (n_positions - 1) // 4)]
    if exact:
        stride = min(exact, key=lambda s: (abs(last // s + 1 - n_positions), -s))
        picked = set(range(anchor % stride, n_lattice, stride))
    else:
        stride = math.ceil(last / (n_positions - 1))
        picked = set(range(anchor % stride, n_lattice, stride))
        low, high = min(picked), max(picked)
        picked -= {low} if 2 * low <= stride else set()
        picked -= {high} if 2 * (last - high) <= stride else set()
        picked |= {0, last}
    return sorted(picked | {k0})


_COUNTER = itertools.count(1)


def _describe(name: str, widget) -> str:
    desc = widget.description or name
    if hasattr(widget, "min") and hasattr(widget, "max"):
        return f"{desc} ({widget.min:g} to {widget.max:g})"
    if hasattr(widget, "options"):
        return f"{desc} ({', '.join(str(o) for o in widget.options)})"
    return desc


class _Control:
    """The static-page version of one ipywidgets control: its lattice and the values chosen on it."""

    def __init__(self, name: str, widget):
        self.name, self.widget = name, widget
        self.label = widget.description or name
        self.kind = "fixed"
        self.n_lattice, self.k0 = 1, 0
        fmt = getattr(widget, "readout_format", None)
        if isinstance(widget, ipywidgets.Checkbox):
            self.kind = "checkbox"
            self._options = [False, True]
            self._labels = ["off", "on"]
            self.k0 = int(bool(widget.value))
        elif hasattr(widget, "_options_values") and len(widget._options_values) > 1:
            self.kind = "select"
            values, labels = list(widget._options_values), [str(lab) for lab in widget._options_labels]
            k0 = values.index(widget.value) if widget.value in values else 0
            lo = max(0, min(k0 - MAX_OPTIONS // 2, len(values) - MAX_OPTIONS))
            self._options, self._labels = values[lo:lo + MAX_OPTIONS], labels[lo:lo + MAX_OPTIONS]
            self.k0 = k0 - lo
        elif all(hasattr(widget, a) for a in ("min", "max", "step")) and widget.step and widget.max > widget.min:
            self.kind = "range"
            self.log_base = getattr(widget, "base", None)
            self.is_int = isinstance(widget.value, (int, np.integer)) and not isinstance(widget.value, bool)
            self.fmt = fmt or ("d" if self.is_int else ".3g")
            self.n_lattice = int(math.floor((widget.max - widget.min) / widget.step + 1e-9)) + 1
            position = (math.log(widget.value, self.log_base) if self.log_base else widget.value)
            exact = min(max((position - widget.min) / widget.step, 0.0), self.n_lattice - 1.0)
            # a default between two lattice points is a position of its own (``k0`` a fraction): taking
            # the nearest lattice point's place would drop that point, the minimum itself when it is nearest
            self.k0 = round(exact) if abs(exact - round(exact)) <= OFF_LATTICE_SNAP else exact
        if self.kind in ("checkbox", "select"):
            self.n_lattice = len(self._options)

    # -- the positions offered -------------------------------------------------------------------
    def choose(self, n_positions: int) -> None:
        """Take about ``n_positions`` evenly spaced positions of a numeric slider (see "How the grid is
        chosen" in the module docstring), or all its options, or both check-box states."""
        if self.kind in ("checkbox", "select"):
            self._indices = list(range(self.n_lattice))
        elif self.kind == "range":
            self._indices = _even_positions(self.n_lattice, self.k0, n_positions)
        else:
            self._indices = [self.k0]

    def lattice_indices(self) -> list:
        """The positions offered, as lattice indices (the default's may be a fraction), in order."""
        return getattr(self, "_indices", [self.k0])

    def value(self, k: int):
        if self.kind in ("checkbox", "select"):
            return self._options[k]
        if self.kind != "range" or k == self.k0:
            return self.widget.value
        w = self.widget
        position = w.min + k * w.step
        if self.log_base:
            return float(self.log_base ** position)
        if self.is_int:
            return int(round(position))
        return float(round(position, 12))

    def text(self, k: int) -> str:
        if self.kind in ("checkbox", "select"):
            return self._labels[k]
        value = self.value(k)
        try:
            return format(value, self.fmt)
        except (ValueError, TypeError):
            return str(value)


class InteractivePlot:
    """What :func:`interactive_plot` returns: the live widget, or the static page's HTML."""

    def __init__(self, widget, default: EncodedImage | str, alt: str, controls: str, static_html: str | None = None):
        self.widget, self.alt, self.controls, self.static_html = widget, alt, controls, static_html
        self.default = default if isinstance(default, EncodedImage) else None
        self.default_png = default if isinstance(default, str) else default.b64()
        self._figure = StaticFigure(default, alt)

    def _repr_mimebundle_(self, include=None, exclude=None):
        if self.static_html is not None:
            return {"text/html": self.static_html, "text/plain": f"[interactive figure: {self.alt}]"}
        bundle = {} if self.widget is None else dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        note = (f"<p><em>Interactive figure: run this notebook with a live kernel (Binder, Colab or locally) to "
                f"move the sliders: {html.escape(self.controls)}.</em></p>")
        bundle["text/html"] = self._figure.html() + note
        bundle["text/plain"] = f"[interactive figure: {self.alt}]"
        return bundle


class _Drawn(NamedTuple):
    image: EncodedImage
    pixels: np.ndarray
    phone: EncodedImage | None             # drawn for a phone's column (plotting.phone_layout), if it needs one


def _render(plot, values: dict) -> _Drawn:
    import matplotlib.pyplot as plt

    fig = plot(**values)
    try:
        return _Drawn(*encode_figure_pixels(fig, quality=SLIDER_QUALITY), phone_image(fig, quality=SLIDER_QUALITY))
    finally:
        plt.close(fig)


def _repeats(c: _Control, grid: list[int], pictures: list[np.ndarray]) -> list[str]:
    """What is wrong with one control's positions: the pictures drawn along it (the others at their
    defaults), in the order of ``grid``; an empty list when every position draws its own."""
    same = [(i, j) for i in range(len(pictures)) for j in range(i + 1, len(pictures))
            if same_picture(pictures[i], pictures[j])]
    if not same:
        return []
    if len(same) == len(pictures) * (len(pictures) - 1) // 2:
        return [f"control {c.label!r} draws the same picture at every position ({c.text(grid[0])} to "
                f"{c.text(grid[-1])}): it changes nothing"]
    pairs = ", ".join(f"{c.text(grid[i])} and {c.text(grid[j])}" for i, j in same)
    return [f"control {c.label!r} draws the same picture at positions {pairs}"]


class _Offer(NamedTuple):
    """What a static figure offers: the controls that move, their positions, how they combine, the pictures."""
    moving: list
    grids: list
    initial: list
    mode: str
    images: dict
    phone: dict
    axes: int


def _draw_positions(plot, alt: str, defaults: dict, default, controls: list) -> _Offer:
    """Draw the figure at every position the static page offers, and refuse a control whose positions
    repeat a picture (or change nothing): one axis at a time through the defaults, or every
    combination when there are few (``PRODUCT_LIMIT``)."""
    moving = [c for c in controls if len(c.lattice_indices()) > 1]
    grids = [c.lattice_indices() for c in moving]
    product = math.prod(len(g) for g in grids) if grids else 1
    axes = 1 + sum(len(g) - 1 for g in grids)
    mode = "product" if (len(moving) > 1 and product <= PRODUCT_LIMIT) else "axes"
    initial = [g.index(c.k0) for c, g in zip(moving, grids)]

    def along(i: int, j: int) -> tuple:
        """The combination with control ``i`` at its ``j``-th position, the others at their defaults."""
        return tuple(j if m == i else initial[m] for m in range(len(grids)))

    images, phone, pictures = {}, {}, {tuple(initial): default.pixels}
    problems = []

    def draw(combo: tuple) -> None:
        key = ",".join(map(str, combo))
        drawn = default
        if list(combo) != initial:
            values = dict(defaults)
            for c, g, j in zip(moving, grids, combo):
                values[c.name] = c.value(g[j])
            drawn = _render(plot, values)
        images[key] = drawn.image.data_uri()
        if drawn.phone is not None:
            phone[key] = drawn.phone.data_uri()
        if drawn is default:
            return
        if sum(j != i0 for j, i0 in zip(combo, initial)) == 1:     # on a line through the default
            pictures[combo] = drawn.pixels

    if mode == "product":
        for combo in itertools.product(*[range(len(g)) for g in grids]):
            draw(combo)
    else:
        draw(tuple(initial))
    for i, (c, g) in enumerate(zip(moving, grids)):
        if mode == "axes":
            for j in range(len(g)):
                if j != initial[i]:
                    draw(along(i, j))
        line = [pictures[along(i, j)] for j in range(len(g))]
        problems += _repeats(c, g, line)
        if mode == "axes":                       # one control's pictures at a time in memory
            for j in range(len(g)):
                if j != initial[i]:
                    del pictures[along(i, j)]
    if problems:
        name = getattr(plot, "__name__", "plot")
        raise ValueError(f"interactive figure {name} ({alt[:70]}{'...' if len(alt) > 70 else ''}): "
                         + "; ".join(problems) + ". Every position of a control must draw a picture of its own: "
                         "change the control's range, step or default.")
    return _Offer(moving, grids, initial, mode, images, phone, axes)


def _control_rows(uid: str, offer: _Offer) -> tuple[list[str], list[dict]]:
    """The HTML of each moving control (a labelled range, checkbox or select, keyboard-usable) and the
    data the page's script reads about it."""
    rows, data_controls = [], []
    for k, (c, g) in enumerate(zip(offer.moving, offer.grids)):
        labels = [c.text(i) for i in g]
        cid, label, at = f"{uid}-c{k}", html.escape(c.label), offer.initial[k]
        data_controls.append({"name": c.label, "labels": labels, "initial": at})
        if c.kind == "range":
            rows.append(f'<span class="pgw-ctl"><label for="{cid}">{label}</label>'
                        f'<input type="range" id="{cid}" data-ctl="{k}" min="0" max="{len(g) - 1}" step="1" '
                        f'value="{at}" aria-valuetext="{html.escape(labels[at])}" />'
                        f'<output for="{cid}" data-ctl-out="{k}" aria-hidden="true">'
                        f'{html.escape(labels[at])}</output></span>')
        elif c.kind == "checkbox":
            checked = " checked" if at == 1 else ""
            rows.append(f'<span class="pgw-ctl"><input type="checkbox" id="{cid}" data-ctl="{k}"{checked} />'
                        f'<label for="{cid}">{label}</label></span>')
        else:
            options = "".join(f'<option value="{j}"{" selected" if j == at else ""}>{html.escape(t)}</option>'
                              for j, t in enumerate(labels))
            rows.append(f'<span class="pgw-ctl"><label for="{cid}">{label}</label>'
                        f'<select id="{cid}" data-ctl="{k}">{options}</select></span>')
    if offer.moving:
        rows.append('<button type="button" data-act="reset">Reset to the defaults</button>')
    return rows, data_controls


def _caption(controls: list, offer: _Offer) -> str:
    """What the static page offers: each moving control's positions, how they combine, what is fixed."""
    def span(c, g):
        if c.kind == "range":
            return f"{c.label} ({len(g)} positions, {c.text(g[0])} to {c.text(g[-1])})"
        return f"{c.label} ({', '.join(c.text(i) for i in g)})"

    moving = offer.moving
    fixed = [c for c in controls if c not in moving]
    parts = []
    if moving:
        parts.append("Precomputed for this page: " + "; ".join(span(c, g) for c, g in zip(moving, offer.grids)) + ".")
        if len(moving) > 1:
            parts.append("Every combination of these positions is drawn." if offer.mode == "product" else
                         "One control moves at a time; the others return to their defaults.")
    if fixed:
        parts.append("Fixed at the default here: " + "; ".join(f"{c.label} = {c.text(c.k0)}" for c in fixed) + ".")
    parts.append("Run this notebook with a live kernel (Binder, Colab or locally) for continuous sliders.")
    return " ".join(parts)


def _static_page(plot, alt: str, named: dict, cheap: bool = False) -> tuple[EncodedImage, str]:
    """The static figure of a page: the default picture, the pictures of every position on offer, the
    controls that switch between them, and a caption saying what was offer."""
    defaults = {name: w.value for name, w in named.items()}
    default = _render(plot, defaults)
    controls = [_Control(name, w) for name, w in named.items()]
    for c in controls:
        c.choose(positions(cheap))
    offer = _draw_positions(plot, alt, defaults, default, controls)
    uid = f"pgw-s{hashlib.sha256(default.image.data + alt.encode()).hexdigest()[:8]}-{next(_COUNTER)}"
    rows, data_controls = _control_rows(uid, offer)
    caption = html.escape(_caption(controls, offer))
    now = ", ".join(f"{c.label} = {c.text(c.k0)}" for c in offer.moving)
    img = (f'<img class="pgw-img dark-light" src="{default.image.data_uri()}" alt="{html.escape(alt)}" '
           f'width="{default.image.width}" height="{default.image.height}" loading="lazy" decoding="async" />')
    small = default.phone
    body = img if small is None else picture(img, small.data_uri(), (small.width, small.height))
    if offer.moving:
        body += (f'<div class="pgw-controls" role="group" aria-label="Figure controls">{"".join(rows)}</div>'
                 f'<p class="pgw-status" aria-live="polite" style="color:#333">Showing the defaults: {html.escape(now)}.</p>')
    body += f'<figcaption class="pgw-caption" style="color:#333">{caption}</figcaption>'
    data = {"alt": alt, "mode": offer.mode, "controls": data_controls, "images": offer.images,
            "axes_images": offer.axes}
    if offer.phone:
        data["phone"] = offer.phone
    return default.image, widget_html("sliders", body, data)


def interactive_plot(plot, *, alt: str, cheap: bool = False, **controls) -> InteractivePlot:
    """Sliders over a pure plotting function: live in a kernel, precomputed in the book.

    Parameters
    ----------
    plot : callable
        ``plot(**values)`` returns a new ``matplotlib.figure.Figure`` for those control values.
    alt : str
        What the figure shows at the default values (alt text). Refused when empty or a mere
        label such as "figure 3".
    cheap : bool
        Set it when ``plot`` draws quickly (a few dozen lines of matplotlib over closed-form maths, no
        fitting or sampling loop): the book then offers :data:`CHEAP_POSITIONS` positions per numeric
        slider instead of :data:`POSITIONS` (the test command keeps :data:`FAST_POSITIONS`). It
        changes nothing in a live kernel.
    **controls : ipywidgets.ValueWidget
        One widget per keyword argument of ``plot`` (e.g. ``pi1=FloatSlider(...)``); their
        initial values are the defaults shown first. The description of each becomes its label.

    Returns
    -------
    InteractivePlot
        Display it (make it the last expression of a cell). In a book build
        (``PEDAGOGY_STATIC_WIDGETS=1``) it is the static page's sliders over precomputed images
        (the grid is explained in the module docstring); otherwise the live widget.

    Raises
    ------
    ValueError
        In a book build, when two positions of a control draw the same picture or a control changes
        nothing (see the module docstring), naming the figure and the control.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    alt = check_alt(alt)
    if not isinstance(cheap, bool):
        raise TypeError(f"cheap must be True or False; got {cheap!r}.")
    for name, w in controls.items():
        if not isinstance(w, ipywidgets.ValueWidget):
            raise TypeError(f"control {name!r} must be an ipywidgets widget with a value "
                            f"(e.g. FloatSlider); got {type(w).__name__}.")
    controls_text = "; ".join(_describe(n, w) for n, w in controls.items())
    if static_build():
        default, page = _static_page(plot, alt, controls, cheap=cheap)
        return InteractivePlot(None, default, alt, controls_text, static_html=page)
    first = {}

    def draw(**values):
        fig = plot(**values)
        image = encode_figure(fig, compact=False)
        plt.close(fig)
        if "image" not in first:       # the first drawing goes into the widget's state, below
            first["image"] = image
            return
        display(StaticFigure(image, alt))

    widget = ipywidgets.interactive(draw, **controls)
    if "image" not in first:           # older ipywidgets do not draw on construction
        widget.update()
    # The first figure is set as the output widget's state instead of displayed inside it. Output
    # displayed inside an output widget while a cell runs makes nbclient (which runs notebooks for
    # nbgrader, nbconvert and the book build) imitate a front end: it sends a message to the kernel
    # on the socket where it is waiting for the cell's reply, and now and then (about one such cell
    # in thirty on a busy machine) it misses that reply and waits out its whole cell timeout
    # (jupyter/nbclient#312). Set as state, the figure reaches a front end all the same, and nbclient
    # sends nothing.
    bundle = StaticFigure(first["image"], alt)._repr_mimebundle_()
    widget.out.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)
    return InteractivePlot(widget, first["image"], alt, controls_text)
