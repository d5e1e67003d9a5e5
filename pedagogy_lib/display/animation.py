"""One helper that turns a frame-drawing function into a player for the static book page.

:func:`animate` draws every frame, encodes it as an image and returns an :class:`Animation`, which
displays as a small HTML player that needs no kernel: buttons (first, previous, play/pause, next,
last), a labelled frame slider and a choice of what happens at the end. The player is built from
native controls, so it works with the keyboard alone (Tab to a control, Enter or Space on a button,
the arrow keys on the slider), every control says what it does to a screen reader, and the frame
slider announces "frame 3 of 20". Nothing plays until asked.

Page weight: the first frame is an ``<img loading="lazy">``; the other frames are listed in the
player's data and fetched only when the player is first used. In the book they are WebP files
named by content hash (see :mod:`pedagogy_lib.display.plotting`); in a live kernel the player is
self-contained. The figure is closed afterwards, so the inline backend shows no stray last frame,
and the number of frames is capped so that pages and builds stay small. In the book a wide figure's
frames are also drawn for a phone's column (:func:`~pedagogy_lib.display.plotting.phone_layout`, in
the first frame's layout throughout), and the player shows those on a phone.

Under the test command (``PEDAGOGY_FAST=1``, see :mod:`pedagogy_lib.core.budget`) ``update`` still
runs for every frame, in order, but only :data:`FAST_FRAMES` of them, evenly spaced from the first
to the last, are drawn and kept: encoding the images is most of an animation's cost, and the test
run executes every notebook twice. The published book and a reader's kernel keep every frame.
"""
from __future__ import annotations

import hashlib
import html
import itertools

import matplotlib.pyplot as plt

from ..core.budget import fast
from ..core.checks import check_int
from .plotting import check_alt, encode_figure, phone_layout, picture, static_build, widget_html

__all__ = ["animate", "Animation", "MAX_FRAMES", "FAST_FRAMES"]

#: Upper limit on frames per animation.
MAX_FRAMES = 60
#: Frames kept per animation under the test command (see the module docstring).
FAST_FRAMES = 8

_COUNTER = itertools.count(1)


class Animation:
    """An animation ready for display: frame images (data URIs), alt text and the frame interval; in the
    book also the frames drawn for a phone's column (``phone``, of size ``phone_size``), which the player
    shows on a phone's screen."""

    def __init__(self, frames: list[str], alt: str, interval: int, size: tuple[int, int],
                 phone: list[str] | None = None, phone_size: tuple[int, int] | None = None):
        self.frames, self.alt, self.interval, self.size = list(frames), alt, int(interval), size
        self.phone, self.phone_size = (list(phone), phone_size) if phone else (None, None)
        digest = hashlib.sha256("".join(self.frames[:1]).encode() + alt.encode()).hexdigest()[:8]
        self.uid = f"pgw-a{digest}-{next(_COUNTER)}"

    @property
    def n_frames(self) -> int:
        return len(self.frames)

    def _repr_html_(self) -> str:
        n, uid = self.n_frames, self.uid
        width, height = self.size
        alt = html.escape(self.alt)
        buttons = "".join(
            f'<button type="button" data-act="{act}"><span class="pgw-icon" aria-hidden="true">{icon}</span> '
            f'<span class="pgw-word">{word}</span></button>'
            for act, icon, word in (("first", "&#xAB;", "First"), ("prev", "&#x2039;", "Previous"),
                                    ("play", "&#x25B6;", "Play"), ("next", "&#x203A;", "Next"),
                                    ("last", "&#xBB;", "Last")))
        img = (f'<img class="pgw-img dark-light" src="{self.frames[0]}" alt="{alt}" width="{width}" '
               f'height="{height}" loading="lazy" decoding="async" />')
        body = (
            (picture(img, self.phone[0], self.phone_size) if self.phone else img) +
            f'<div class="pgw-controls" role="group" aria-label="Animation controls">{buttons}'
            f'<span class="pgw-ctl"><label for="{uid}-frame">Frame</label>'
            f'<input type="range" id="{uid}-frame" min="0" max="{n - 1}" step="1" value="0" '
            f'aria-valuetext="frame 1 of {n}" />'
            f'<output for="{uid}-frame" aria-hidden="true">1 / {n}</output></span>'
            f'<span class="pgw-ctl"><label for="{uid}-end">At the end</label>'
            f'<select id="{uid}-end"><option value="loop" selected>start again</option>'
            '<option value="once">stop</option><option value="reflect">play backwards</option></select></span>'
            '</div>'
            f'<figcaption class="pgw-caption" id="{uid}-cap" style="color:#333">Animation player ({n} frames): play it, or step '
            'through it with the buttons or the frame slider.</figcaption>')
        data = {"frames": self.frames, "interval": self.interval}
        if self.phone:
            data["phone"] = self.phone
        return widget_html("player", body, data)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self._repr_html_(), "text/plain": f"[animation, {self.n_frames} frames: {self.alt}]"}


def animate(fig, update, frames: int, *, alt: str, interval: int = 200, max_frames: int = MAX_FRAMES) -> Animation:
    """Animate ``fig`` by calling ``update(i)`` for ``i = 0, ..., frames - 1``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure, fully laid out; ``update`` changes its artists in place.
    update : callable
        ``update(i)`` draws frame ``i``.
    frames : int
        Number of frames, at most ``max_frames``.
    alt : str
        What the animation shows, from start to end (the alt text of every frame; a screen reader
        user gets the whole story from it). Refused when empty or a mere label such as "figure 3".
    interval : int
        Milliseconds between frames when playing.
    max_frames : int
        Refuse longer animations (each frame is an image the reader may download).

    Returns
    -------
    Animation
        Display it (make it the last expression of a cell) to get the player. It holds every frame,
        or :data:`FAST_FRAMES` of them under the test command (see the module docstring).
    """
    frames = check_int(frames, "frames", minimum=1, maximum=max_frames)
    interval = check_int(interval, "interval", minimum=10, maximum=60_000)
    alt = check_alt(alt, "animation")
    kept = set(range(frames))
    if fast() and frames > FAST_FRAMES:
        kept = {round(k * (frames - 1) / (FAST_FRAMES - 1)) for k in range(FAST_FRAMES)}
    images, phone, layout = [], [], None
    try:
        dpi = fig.dpi
        for i in range(frames):
            update(i)
            if i in kept:
                images.append(encode_figure(fig, tight=False, dpi=dpi))
                if static_build():       # the first frame's phone layout holds for all (nothing jumps)
                    with phone_layout(fig, dpi, layout) as layout:
                        if layout is not None:
                            phone.append(encode_figure(fig, tight=False, dpi=dpi))
    finally:
        plt.close(fig)
    size = (images[0].width, images[0].height)
    phone_size = (phone[0].width, phone[0].height) if phone else None
    return Animation([im.data_uri() for im in images], alt, interval, size, [im.data_uri() for im in phone],
                     phone_size)
