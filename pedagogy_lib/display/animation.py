"""One helper that turns a frame-drawing function into a player for the static book page.

:func:`animate` renders every frame with matplotlib's ``FuncAnimation`` and embeds them with
``to_jshtml``, so the animation plays from the HTML alone (no kernel). The figure is closed so
that the inline backend does not show a stray last frame, and the number of frames is capped
so that pages stay small and CI stays fast.
"""
from __future__ import annotations

import html

import matplotlib.pyplot as plt
from matplotlib.animation import FuncAnimation

from ..core.checks import check_int

__all__ = ["animate", "MAX_FRAMES"]

#: Upper limit on frames per animation (each frame is one embedded PNG).
MAX_FRAMES = 60


class Animation:
    """An embedded animation; displays as HTML with a labelled player."""

    def __init__(self, player_html: str, alt: str, n_frames: int):
        self.player_html, self.alt, self.n_frames = player_html, alt, n_frames

    def _repr_html_(self) -> str:
        label = html.escape(self.alt)
        body = self.player_html.replace("<img id=", f'<img alt="{label}" id=', 1)
        return f'<div role="figure" aria-label="{label}" style="background:white;">{body}</div>'


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
        A description of what the animation shows (used as alt text).
    interval : int
        Milliseconds between frames in the player.
    max_frames : int
        Refuse longer animations (embedded frames make pages heavy).

    Returns
    -------
    Animation
        Display it (make it the last expression of a cell) to get the player.
    """
    frames = check_int(frames, "frames", minimum=1, maximum=max_frames)
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError("alt must be a non-empty description of the animation.")
    anim = FuncAnimation(fig, update, frames=frames, interval=interval, blit=False, repeat=True)
    try:
        player = anim.to_jshtml(default_mode="loop")
    finally:
        plt.close(fig)
    return Animation(player, alt, frames)
