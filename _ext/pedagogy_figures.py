"""Sphinx extension: images embedded in notebook outputs become files of the built site.

The display helpers (``pedagogy_lib.display``) emit figures, animation frames and slider images
as ``data:`` URIs, so a notebook's output is self-contained in every live front end (JupyterLab,
Binder, Colab) and in the execution cache. Left inside a page, those URIs make it heavy (every
frame of every player is downloaded with the HTML, and nothing is cached between visits).

When Sphinx writes an HTML page, this extension moves each embedded image into
``_figures/<content hash>.<ext>`` of the output directory and replaces the URI with a relative
URL. Because the images are taken from the page being written, the files always match the
outputs the page shows: a fresh clone, a build from the execution cache and an incremental build
all produce them, and identical images (a frame repeated, a figure shown twice) are stored once.
The names depend only on the content, so a server may let browsers cache them forever.

The display helpers' players and sliders load the files lazily (see
``pedagogy_lib/display/plotting.py``); this extension only moves bytes.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from pathlib import Path

#: Embedded images worth moving out (SVG is text and stays inline).
_DATA_URI = re.compile(r"data:image/(png|webp|jpeg|gif);base64,([A-Za-z0-9+/]+={0,2})")
_EXT = {"png": "png", "webp": "webp", "jpeg": "jpg", "gif": "gif"}
#: Tiny images (icons) cost less inline than as a request.
_MIN_BYTES = 2048
FOLDER = "_figures"


def _store(outdir: Path, kind: str, payload: str) -> str | None:
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) < _MIN_BYTES:
        return None
    name = f"{hashlib.sha256(raw).hexdigest()[:24]}.{_EXT[kind]}"
    target = outdir / FOLDER / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{name}.{os.getpid()}.tmp")
        tmp.write_bytes(raw)
        os.replace(tmp, target)              # atomic: parallel writers never see half a file
    return f"{FOLDER}/{name}"


def externalize(body: str, outdir: Path, relative) -> str:
    """``body`` with every large embedded image replaced by ``relative(<path in the site>)``."""
    if "data:image/" not in body:
        return body

    def replace(match: re.Match) -> str:
        path = _store(outdir, match.group(1), match.group(2))
        return match.group(0) if path is None else relative(path)

    return _DATA_URI.sub(replace, body)


def _on_page_context(app, pagename, templatename, context, doctree):
    if app.builder.format != "html" or not isinstance(context.get("body"), str):
        return
    pathto = context["pathto"]
    context["body"] = externalize(context["body"], Path(app.outdir), lambda p: pathto(p, 1))


def setup(app):
    app.connect("html-page-context", _on_page_context)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
