"""How long a notebook trains: the published book's setting, or the test run's fast one.

Notebooks that train (a network, a sampler, a long EM run) ask :func:`budget` for their number of
iterations, samples or epochs instead of writing one number. The test command
(``python3 tasks.py test``) sets ``PEDAGOGY_FAST=1``, so every notebook runs under nbval and in the
strict build within the test budget; the published book (``python3 tasks.py book``) and a reader's
kernel use the full setting. A notebook's assertions must hold with both values.
"""
from __future__ import annotations

import operator
import os

__all__ = ["budget", "fast"]


def fast() -> bool:
    """True when the environment variable ``PEDAGOGY_FAST`` is ``1`` (the test command sets it)."""
    return os.environ.get("PEDAGOGY_FAST") == "1"


def budget(full: int, fast_value: int) -> int:
    """``full`` for the published book and readers, ``fast_value`` under the test command.

    Parameters
    ----------
    full, fast_value : int
        Positive counts (iterations, epochs, samples); ``fast_value`` must not exceed ``full``.

    Returns
    -------
    int
        ``fast_value`` when :func:`fast` is true, else ``full``.
    """
    counts = {}
    for name, value in (("full", full), ("fast_value", fast_value)):
        try:
            counts[name] = operator.index(value)
        except TypeError:
            raise ValueError(f"{name} must be a positive integer; got {value!r}") from None
        if isinstance(value, bool) or counts[name] < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    full, fast_value = counts["full"], counts["fast_value"]
    if fast_value > full:
        raise ValueError(f"fast_value must not exceed full; got fast_value={fast_value}, full={full}")
    return fast_value if fast() else full
