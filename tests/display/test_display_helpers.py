"""The shared plotting, animation and widget helpers used by every notebook."""
import base64
import html
import io
import json
import math
import re

import ipywidgets as W
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.legend  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from pedagogy_lib.display import animation, plotting, widgets  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_use_style_makes_backgrounds_opaque_white():
    plotting.use_style()
    assert matplotlib.rcParams["savefig.transparent"] is False
    assert matplotlib.colors.to_hex(matplotlib.rcParams["figure.facecolor"]) == "#ffffff"
    assert matplotlib.colors.to_hex(matplotlib.rcParams["savefig.facecolor"]) == "#ffffff"


def test_ellipse_points_lie_on_the_mahalanobis_contour():
    Sigma = np.array([[2.0, 0.6], [0.6, 0.5]])
    mu = np.array([1.0, -1.0])
    pts = plotting.ellipse_points(mu, Sigma, n_std=2.0, n_points=50)
    d = pts - mu
    m2 = np.einsum("ni,ij,nj->n", d, np.linalg.inv(Sigma), d)
    np.testing.assert_allclose(m2, 4.0, rtol=1e-10)
    np.testing.assert_allclose(pts[0], pts[-1], atol=1e-12)          # closed curve


def test_draw_dag_draws_one_circle_per_node_one_arrow_per_edge_and_shades_the_observed():
    fig, ax = plt.subplots()
    plotting.draw_dag(ax, {"X": (0, 0), "Y": (1, 0), "Z": (2, 0)}, [("X", "Y"), ("Y", "Z")],
                      observed=("Y",), labels={"X": "$x$"}, edge_labels={("X", "Y"): "C"})
    circles = [p for p in ax.patches if isinstance(p, matplotlib.patches.Circle)]
    assert len(circles) == 3
    shaded = [c for c in circles if c.get_facecolor()[:3] != (1.0, 1.0, 1.0)]
    assert [tuple(c.center) for c in shaded] == [(1.0, 0.0)]
    arrows = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == 2
    assert {t.get_text() for t in ax.texts} >= {"$x$", "Y", "Z", "C"}
    with pytest.raises(ValueError, match="W"):
        plotting.draw_dag(ax, {"X": (0, 0)}, [("X", "W")])
    plt.close(fig)


def test_ellipse_rejects_bad_covariance():
    with pytest.raises(ValueError, match="Sigma is not symmetric positive definite"):
        plotting.ellipse_points([0, 0], [[1, 0], [0, -1]])
    with pytest.raises(ValueError, match=r"mu must have shape \(2,\)"):
        plotting.ellipse_points([0, 0, 0], np.eye(2))


def test_show_closes_the_figure_and_emits_png_with_alt_text(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    n_open = len(plt.get_fignums())
    plotting.show(fig, alt="A rising line & a <test>.")
    assert len(plt.get_fignums()) == n_open - 1
    bundle = shown[0]._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]).startswith(PNG_MAGIC)
    assert 'alt="A rising line &amp; a &lt;test&gt;."' in bundle["text/html"]


def test_show_requires_alt_text():
    fig = plt.figure()
    with pytest.raises(ValueError, match="alt must be a non-empty description"):
        plotting.show(fig, alt="  ")
    plt.close(fig)


def _player_data(html_text):
    return json.loads(re.search(r'<script type="application/json" class="pgw-data">(.*?)</script>', html_text).group(1))


def test_animate_embeds_every_frame_and_closes_the_figure():
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    (line,) = ax.plot([], [])
    ax.set(xlim=(0, 1), ylim=(0, 4))
    calls = []

    def update(i):
        calls.append(i)
        line.set_data([0, 1], [0, i])

    anim = animation.animate(fig, update, 4, alt="A line tilting up.")
    assert not plt.fignum_exists(fig.number)
    assert calls == [0, 1, 2, 3]
    html = anim._repr_html_()
    frames = _player_data(html)["frames"]
    assert len(frames) == 4 and len(set(frames)) == 4                     # every frame, all different
    assert all(base64.b64decode(f.split(",", 1)[1]).startswith(PNG_MAGIC) for f in frames)   # live kernel: PNG
    assert html.count('alt="A line tilting up."') == 1                    # described once, not twice
    assert 'aria-label="A line tilting up."' not in html


def test_under_the_test_command_every_update_runs_but_few_frames_are_kept(monkeypatch):
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    calls, n = [], 30

    def update(i):
        calls.append(i)
        ax.set_title(str(i))

    monkeypatch.setenv("PEDAGOGY_FAST", "1")
    anim = animation.animate(fig, update, n, alt="A title counting to thirty.")
    assert calls == list(range(n))                      # the drawing function saw every frame, in order
    assert anim.n_frames == animation.FAST_FRAMES < n
    monkeypatch.setenv("PEDAGOGY_FAST", "0")
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    full = animation.animate(fig, lambda i: ax.set_title(str(i)), n, alt="A title counting to thirty.")
    assert full.n_frames == n
    # the kept frames are the full run's first, last and evenly spaced ones between
    assert anim.frames[0] == full.frames[0] and anim.frames[-1] == full.frames[-1]
    assert set(anim.frames) <= set(full.frames)


def test_the_player_has_named_keyboard_controls_and_loads_frames_lazily():
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    anim = animation.animate(fig, lambda i: ax.set_title(str(i)), 3, alt="A title counting to three.")
    html = anim._repr_html_()
    for word in ("First", "Previous", "Play", "Next", "Last"):
        assert re.search(rf'<button type="button" data-act="\w+">.*?<span class="pgw-word">{word}</span></button>', html)
    slider = re.search(r'<input type="range" id="([\w-]+)"[^>]*>', html)
    assert slider and f'<label for="{slider.group(1)}">Frame</label>' in html   # the frame slider has a label
    assert 'aria-valuetext="frame 1 of 3"' in slider.group(0)
    select = re.search(r'<select id="([\w-]+)"', html)
    assert f'<label for="{select.group(1)}">At the end</label>' in html
    assert 'type="radio"' not in html
    assert ":focus-visible" in html                                      # a visible focus
    # only the first frame is an <img> (lazy); the others wait in the data for the first use
    assert len(re.findall(r"<img ", html)) == 1 and 'loading="lazy"' in html
    assert html.index(_player_data(html)["frames"][1]) > html.index('class="pgw-data"')


def test_animation_frames_are_webp_in_a_book_build(monkeypatch):
    monkeypatch.setenv("PEDAGOGY_STATIC_WIDGETS", "1")
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    anim = animation.animate(fig, lambda i: ax.set_title(str(i)), 2, alt="A title counting to two.")
    raw = base64.b64decode(anim.frames[0].split(",", 1)[1])
    assert anim.frames[0].startswith("data:image/webp;base64,") and raw[:4] == b"RIFF" and raw[8:12] == b"WEBP"


def test_animate_caps_frames_and_requires_alt():
    fig = plt.figure()
    with pytest.raises(ValueError, match=r"frames must be at most 60; got 61"):
        animation.animate(fig, lambda i: None, 61, alt="A line that never moves.")
    with pytest.raises(ValueError, match="alt must be a non-empty description"):
        animation.animate(fig, lambda i: None, 3, alt="")
    with pytest.raises(ValueError, match="alt must describe what the animation shows"):
        animation.animate(fig, lambda i: None, 3, alt="Figure 3")
    plt.close(fig)


def _plot(slope=1.0):
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    ax.plot([0, 1], [0, slope])
    ax.set_ylim(-1.5, 8.5)                 # fixed axes: the slope shows in the line, not in tick labels
    return fig


def test_interactive_plot_has_a_static_default_figure_and_a_live_widget():
    n_open = len(plt.get_fignums())
    out = widgets.interactive_plot(_plot, alt="A line with the chosen slope.",
                                   slope=W.FloatSlider(value=0.5, min=-1, max=1, description="slope"))
    bundle = out._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle          # sliders in a live kernel
    assert 'alt="A line with the chosen slope."' in bundle["text/html"]  # a figure in the book
    assert "slope (-1 to 1)" in bundle["text/html"]
    assert len(plt.get_fignums()) == n_open                             # no figure left open
    # moving the slider re-runs the pure plotting function with the new value
    seen = []
    out2 = widgets.interactive_plot(lambda slope: (seen.append(slope), _plot(slope))[1], alt="A sloped line.",
                                    slope=W.FloatSlider(value=0.0, min=-1, max=1))
    out2.widget.children[0].value = 0.75
    assert seen[0] == 0.0 and seen[-1] == 0.75


def test_interactive_plot_validates_controls():
    with pytest.raises(TypeError, match=r"control 'slope' must be an ipywidgets widget"):
        widgets.interactive_plot(_plot, alt="A sloped line.", slope=(0.0, 1.0))
    with pytest.raises(ValueError, match="alt must be a non-empty description"):
        widgets.interactive_plot(_plot, alt="", slope=W.FloatSlider())


def _sliders(bundle):
    return _player_data(bundle["text/html"])


def test_book_build_precomputes_a_grid_around_the_default_and_offers_real_controls(monkeypatch):
    monkeypatch.setenv("PEDAGOGY_STATIC_WIDGETS", "1")
    seen = []
    n_open = len(plt.get_fignums())

    def plot(slope=0.25, shared=False):
        seen.append((slope, shared))
        return _plot(slope + (3.0 if shared else 0.0))

    out = widgets.interactive_plot(plot, alt="A line.",
                                   slope=W.FloatSlider(value=0.25, min=-1, max=1, step=0.05, description="slope"),
                                   shared=W.Checkbox(value=False, description="shared"))
    bundle = out._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" not in bundle
    assert seen[0] == (0.25, False)                                      # the default is drawn first
    data = _sliders(bundle)
    slope, shared = data["controls"]
    assert slope["labels"][slope["initial"]] == "0.25" and shared["labels"] == ["off", "on"]
    # the slope's values: the default and some on each side, on the slider's lattice, within its range
    values = sorted({s for s, _ in seen})
    assert min(values) < 0.25 < max(values) and -1 <= min(values) and max(values) <= 1
    assert all(abs(v / 0.05 - round(v / 0.05)) < 1e-9 for v in values)
    assert 3 <= len(slope["labels"]) <= widgets.positions() + 3
    # one control at a time (or every combination): an image for each reachable setting
    if data["mode"] == "axes":
        assert all((s == 0.25) or (not sh) for s, sh in seen)
        assert len(data["images"]) == len(slope["labels"]) + 1
    else:
        assert len(data["images"]) == len(slope["labels"]) * 2
    assert len(set(data["images"].values())) == len(data["images"])      # the figure changes with the controls
    html_text = bundle["text/html"]
    for k, name in enumerate(("slope", "shared")):
        control = re.search(rf'<(input|select)[^>]*id="([\w-]+)" data-ctl="{k}"', html_text) or \
            re.search(rf'<(input|select) type="\w+" id="([\w-]+)" data-ctl="{k}"', html_text)
        assert control and f'<label for="{control.group(2)}">{name}</label>' in html_text
    assert 'type="range"' in html_text and 'type="checkbox"' in html_text
    caption = re.search(r'<figcaption class="pgw-caption"[^>]*>(.*?)</figcaption>', html_text).group(1)
    assert "Precomputed" in caption and "live kernel" in caption and "continuous" in caption
    assert 'alt="A line."' in html_text
    assert len(plt.get_fignums()) == n_open                             # every drawn figure was closed


def test_the_grid_depends_on_the_controls_not_on_the_clock(monkeypatch):
    """The same positions whether a drawing takes a millisecond or a minute (issue: green on any machine)."""
    import time as real_time

    monkeypatch.setenv("PEDAGOGY_STATIC_WIDGETS", "1")
    grids = []
    for delay in (0.0, 0.02):
        seen = []

        def plot(slope, offset, shared):
            real_time.sleep(delay)                     # a slow figure, as on a busy machine
            seen.append((slope, offset, shared))
            return _plot(slope + offset + (3.0 if shared else 0.0))

        out = widgets.interactive_plot(plot, alt="A line.",
                                       slope=W.FloatSlider(value=0.25, min=-1, max=1, description="slope"),
                                       offset=W.FloatSlider(value=0.0, min=-1, max=1, description="offset"),
                                       shared=W.Checkbox(value=False, description="shared"))
        data = _sliders(out._repr_mimebundle_())
        grids.append(([c["labels"] for c in data["controls"]], sorted(data["images"]), seen))
    assert grids[0] == grids[1]
    labels, _, seen = grids[0]
    assert all(3 <= len(x) <= widgets.positions() + 3 for x in labels[:2]) and len(labels[2]) == 2
    assert seen[0] == (0.25, 0.0, False) and len(seen) == len(set(seen))   # no position drawn twice
    assert "seconds" not in _sliders(out._repr_mimebundle_())          # nothing on the page measures time


@pytest.mark.parametrize("n_lattice, k0", [(41, 20), (41, 0), (41, 40), (41, 1), (41, 39), (3, 1), (2, 0), (9, 4),
                                           (100, 97), (11, 3), (101, 37), (36, 6), (33, 0), (41, 25)])
@pytest.mark.parametrize("n_positions", [3, 5, 9, 21])
def test_a_numeric_slider_gets_evenly_spaced_positions_through_its_default(n_lattice, k0, n_positions):
    control = widgets._Control("n", W.IntSlider(value=k0, min=0, max=n_lattice - 1))
    control.choose(n_positions)
    idx = control.lattice_indices()
    assert k0 in idx and idx == sorted(set(idx)) and idx[0] == 0 and idx[-1] == n_lattice - 1
    if n_lattice <= n_positions:
        assert idx == list(range(n_lattice))                           # every lattice point
        return
    assert math.ceil(n_positions / 2) <= len(idx) <= n_positions + max(1, (n_positions - 1) // 4) + 1
    steps = np.diff(idx)
    # when some stride divides both sides of the default into about n_positions positions, every step is equal
    exact = [s for s in range(1, n_lattice) if k0 % s == 0 and (n_lattice - 1 - k0) % s == 0
             and math.ceil(n_positions / 2) <= (n_lattice - 1) // s + 1 <= n_positions + max(1, (n_positions - 1) // 4)]
    if exact:
        assert len(set(steps)) == 1, idx
        return
    stride = math.ceil((n_lattice - 1) / (n_positions - 1))
    assert set(steps[1:-1]) <= {stride}, idx                         # one stride between the ends ...
    assert 0 < steps[0] <= 1.5 * stride and 0 < steps[-1] <= 1.5 * stride, idx   # ... longer by at most half


@pytest.mark.parametrize("n_lattice, k0, n_positions, expected", [
    (11, 3, 9, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),     # 8.3's level: every point rather than 0, 8, 12, ...
    (41, 25, 9, [0, 5, 10, 15, 20, 25, 30, 35, 40]),
    (11, 3, 5, [0, 3, 6, 10]),
    (101, 37, 9, [0, 11, 24, 37, 50, 63, 76, 89, 100]),
])
def test_even_positions_by_hand(n_lattice, k0, n_positions, expected):
    assert widgets._even_positions(n_lattice, k0, n_positions) == expected


def test_the_book_offers_more_positions_than_the_test_command(monkeypatch):
    monkeypatch.setenv("PEDAGOGY_FAST", "0")
    assert widgets.positions() == widgets.POSITIONS >= 9
    monkeypatch.setenv("PEDAGOGY_FAST", "1")
    assert widgets.positions() == widgets.FAST_POSITIONS >= 3


def test_grid_on_a_log_slider_and_a_default_at_the_end():
    log = widgets._Control("lam", W.FloatLogSlider(value=10.0, base=10, min=-1, max=2, step=0.5))
    log.choose(3)
    assert [log.value(k) for k in log.lattice_indices()] == pytest.approx([0.1, 1.0, 10.0, 100.0])
    edge = widgets._Control("n", W.IntSlider(value=0, min=0, max=10))
    edge.choose(4)                                                      # stride 5 divides the one side
    assert [edge.value(k) for k in edge.lattice_indices()] == [0, 5, 10]
    assert all(isinstance(edge.value(k), int) for k in edge.lattice_indices())


@pytest.mark.parametrize("widget, expected", [
    # the minimum (1) is the lattice point nearest the default (8): it must stay
    (W.IntSlider(value=8, min=1, max=64, step=21), [1, 8, 22, 43, 64]),
    (W.FloatSlider(value=-1.6, min=-2.0, max=2.0, step=0.8), [-2.0, -1.6, -1.2, -0.4, 0.4, 1.2, 2.0]),
    (W.FloatSlider(value=3.0, min=0.5, max=4.5, step=1.0), [0.5, 1.5, 2.5, 3.0, 3.5, 4.5]),
])
def test_a_default_between_lattice_points_is_offered_beside_them(widget, expected):
    control = widgets._Control("x", widget)
    control.choose(9)
    assert [control.value(k) for k in control.lattice_indices()] == pytest.approx(expected)


def test_a_default_a_rounding_away_from_a_lattice_point_takes_its_place():
    # log10(0.5) lies 0.01 of a step below the lattice point 10 ** -0.3: one position, the default
    control = widgets._Control("s", W.FloatLogSlider(value=0.5, base=10, min=-1.3, max=0.7, step=1.0))
    control.choose(9)
    assert [control.value(k) for k in control.lattice_indices()] == pytest.approx([10 ** -1.3, 0.5, 10 ** 0.7])


def test_alt_text_must_describe_the_figure():
    for bad in ("", "   ", "figure 3", "Plot", "animation 2.1"):
        with pytest.raises(ValueError, match="alt must"):
            plotting.check_alt(bad)
    assert plotting.check_alt("  A rising line.  ") == "A rising line."


def test_static_figures_are_lazy_images_of_the_right_size():
    fig, ax = plt.subplots(figsize=(2, 1), dpi=50)
    image = plotting.encode_figure(fig, tight=False, dpi=50, compact=False)
    plt.close(fig)
    html_text = plotting.StaticFigure(image, "A blank plot.").html()
    assert (image.width, image.height) == (100, 50)
    assert 'width="100" height="50"' in html_text and 'loading="lazy"' in html_text


def _luminance(hex_colour):
    rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a, b):
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_checker_verdicts_paint_their_own_colours_with_aa_contrast_and_words():
    from pedagogy_lib.exercises.checker import result

    for res, word in ((result("the posterior", []), "Correct:"), (result("the posterior", ["it is off"]), "Not yet:")):
        html_text = res._repr_html_()
        bg = re.search(r"background:(#[0-9a-f]{6})", html_text).group(1)
        colours = set(re.findall(r"(?<![-\w])color:(#[0-9a-f]{6})", html_text))
        assert colours, html_text
        # the box sets its own background, so the theme's light or dark panel behind it does not matter
        assert all(_contrast(c, bg) >= 4.5 for c in colours), (colours, bg)
        assert word in html_text and 'aria-hidden="true"' in html_text        # said in words, icon hidden


def test_an_untouched_stub_shows_no_verdict_in_the_book_but_does_in_a_kernel(monkeypatch):
    from pedagogy_lib.exercises.checker import result

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    stub = result("the posterior", ["your answer is None: did the cell forget to return a value?"])
    wrong = result("the posterior", ["your answer is None", "the evidence is off"])
    assert stub.unanswered and not wrong.unanswered and not result("x", []).unanswered
    assert result("roles", ["the answer should be a dict; got NoneType."]).unanswered
    stub._ipython_display_()
    assert len(shown) == 1 and "Not yet:" in shown[0]["text/html"]      # a live kernel says what to fill in
    monkeypatch.setenv("PEDAGOGY_STATIC_WIDGETS", "1")
    stub._ipython_display_()
    wrong._ipython_display_()
    assert len(shown) == 2 and "the evidence is off" in shown[1]["text/html"]


def test_the_book_moves_embedded_images_into_hashed_files(tmp_path):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "pedagogy_figures", Path(__file__).resolve().parents[2] / "_ext" / "pedagogy_figures.py")
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    big = base64.b64encode(PNG_MAGIC + bytes(range(256)) * 20).decode()
    tiny = base64.b64encode(PNG_MAGIC).decode()
    body = (f'<img src="data:image/png;base64,{big}"><script>{{"f":["data:image/png;base64,{big}"]}}</script>'
            f'<img src="data:image/png;base64,{tiny}">')
    out = ext.externalize(body, tmp_path, lambda p: "../../" + p)
    files = list((tmp_path / "_figures").iterdir())
    assert len(files) == 1 and files[0].read_bytes() == base64.b64decode(big)   # stored once, byte for byte
    assert out.count(f"../../_figures/{files[0].name}") == 2 and big not in out
    assert tiny in out                                                    # icons stay inline


def test_an_option_list_is_offered_whole(monkeypatch):
    """A selection slider is offered with every option (up to MAX_OPTIONS), whatever the positions."""
    monkeypatch.setenv("PEDAGOGY_STATIC_WIDGETS", "1")
    seen = []

    def plot(window):
        seen.append(window)
        return _plot(window)

    out = widgets.interactive_plot(plot, alt="A line.", window=W.SelectionSlider(
        options=[0.5, 1.0, 2.0, 4.0, 6.0, 8.0], value=1.0, description="window"))
    html_text = out._repr_mimebundle_()["text/html"]
    assert sorted(seen) == [0.5, 1.0, 2.0, 4.0, 6.0, 8.0]
    assert "Fixed at the default" not in html_text and 'data-ctl="0"' in html_text


def _savefig_rgb(fig, **options):
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="white", transparent=False, dpi=90, **options)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), dtype=int)


@pytest.mark.parametrize("outside", [False, True])
def test_one_drawing_gives_savefigs_picture(outside):
    """encode_figure draws once and crops; the picture is savefig's own: the same pixels uncropped,
    the same size and at most a sub-pixel shift cropped, and savefig itself when an artist lies
    outside the figure (the crop could not include it)."""
    from PIL import Image

    plotting.use_style()
    fig, ax = plt.subplots(figsize=(4, 2.5), dpi=75)
    ax.plot(np.sin(np.linspace(0, 6, 50)))
    ax.set(title="a sine", xlabel="x")
    fig.tight_layout()
    if outside:             # after the layout, so that it stays beyond the figure's right edge
        ax.text(1.3, 0.5, "far right", transform=ax.transAxes)
    for tight in (False, True):
        mine = np.asarray(Image.open(io.BytesIO(plotting.encode_figure(fig, tight=tight, compact=False).data))
                          .convert("RGB"), dtype=int)
        theirs = _savefig_rgb(fig, **({"bbox_inches": "tight"} if tight else {}))
        assert mine.shape == theirs.shape, (tight, mine.shape, theirs.shape)
        if not tight or outside:
            assert np.array_equal(mine, theirs), tight
        else:   # the same picture placed to the nearest pixel: ink in the same places, to anti-aliasing
            ink_mine, ink_theirs = mine.min(axis=2) < 128, theirs.min(axis=2) < 128
            assert abs(mine.mean() - theirs.mean()) < 1.0
            assert np.mean(ink_mine != ink_theirs) < 0.02
    plt.close(fig)


def _diameter(angle=0.0, other=1.0):
    """A diameter of the unit circle at ``angle`` degrees: the same picture at angle and angle + 180;
    ``other`` is drawn nowhere."""
    fig, ax = plt.subplots(figsize=(2, 2), dpi=50)
    t = np.deg2rad(angle)
    ax.plot([-np.cos(t), np.cos(t)], [-np.sin(t), np.sin(t)], color="k", lw=2)
    ax.set(xlim=(-1.1, 1.1), ylim=(-1.1, 1.1), aspect="equal", xticks=[], yticks=[])
    return fig


def test_a_control_that_changes_nothing_fails_the_book_build(monkeypatch):
    monkeypatch.setenv("PEDAGOGY_STATIC_WIDGETS", "1")
    n_open = len(plt.get_fignums())
    with pytest.raises(ValueError, match=r"_diameter .*control 'other' draws the same picture at every position"):
        widgets.interactive_plot(_diameter, alt="A diameter of the unit circle.",
                                 angle=W.FloatSlider(value=30.0, min=0.0, max=175.0, step=5.0, description="angle"),
                                 other=W.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.5, description="other"))
    assert len(plt.get_fignums()) == n_open                             # every drawn figure was closed


def test_an_angle_over_a_whole_period_repeats_its_ends_and_fails_the_book_build(monkeypatch):
    """A diameter turned from -90 to 90 degrees draws the same picture at both ends."""
    monkeypatch.setenv("PEDAGOGY_STATIC_WIDGETS", "1")
    with pytest.raises(ValueError, match=r"control 'angle' draws the same picture at positions -90.00 and 90.00"):
        widgets.interactive_plot(_diameter, alt="A diameter of the unit circle.",
                                 angle=W.FloatSlider(value=0.0, min=-90.0, max=90.0, step=5.0, description="angle"))
    # one period, open at one end: every position is a new picture
    out = widgets.interactive_plot(_diameter, alt="A diameter of the unit circle.",
                                   angle=W.FloatSlider(value=0.0, min=-90.0, max=85.0, step=5.0, description="angle"))
    data = _sliders(out._repr_mimebundle_())
    assert len(set(data["images"].values())) == len(data["images"]) == len(data["controls"][0]["labels"]) >= 3


def test_positions_that_round_to_one_value_fail_the_book_build(monkeypatch):
    """Neighbouring positions that the plotting function maps to one value draw the same picture."""
    monkeypatch.setenv("PEDAGOGY_STATIC_WIDGETS", "1")
    monkeypatch.setenv("PEDAGOGY_FAST", "0")                         # 9 positions over 0 to 160
    with pytest.raises(ValueError, match=r"control 'angle' draws the same picture at positions [\d.]+ and [\d.]+"):
        widgets.interactive_plot(lambda angle: _diameter(45.0 * round(angle / 45.0)), alt="A diameter.",
                                 angle=W.FloatSlider(value=0.0, min=0.0, max=160.0, step=5.0, description="angle"))


def test_pictures_that_differ_by_a_few_faint_pixels_count_as_the_same():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
    faint = np.clip(a.astype(int) + rng.integers(-widgets.PIXEL_TOLERANCE, widgets.PIXEL_TOLERANCE + 1, a.shape),
                    0, 255).astype(np.uint8)
    assert widgets.same_picture(a, faint)                               # every pixel within the tolerance
    few, many = a.copy(), a.copy()
    few.reshape(-1, 3)[:widgets.SAME_PICTURE_PIXELS] ^= 0x80           # a few pixels changed a lot
    many.reshape(-1, 3)[:widgets.SAME_PICTURE_PIXELS + 1] ^= 0x80       # one more: a new picture
    assert widgets.same_picture(a, few) and not widgets.same_picture(a, many)
    assert not widgets.same_picture(a, a[:, :-1])                       # another size is another picture


def test_a_changed_digit_in_a_title_is_a_new_picture():
    """The smallest change a reader sees (one digit of a printed number) is above the tolerance."""
    drawn = []
    for value in ("0.31", "0.32"):
        fig, ax = plt.subplots(figsize=(3, 2), dpi=72)
        ax.set_title(f"mean {value}")
        drawn.append(plotting.encode_figure_pixels(fig, compact=False)[1])
        plt.close(fig)
    assert not widgets.same_picture(*drawn)


def test_cheap_figures_get_more_positions_in_the_book_but_not_in_the_test_command(monkeypatch):
    monkeypatch.setenv("PEDAGOGY_STATIC_WIDGETS", "1")
    counts = {}
    for fast in ("0", "1"):
        monkeypatch.setenv("PEDAGOGY_FAST", fast)
        for cheap in (False, True):
            out = widgets.interactive_plot(_diameter, alt="A diameter of the unit circle.", cheap=cheap,
                                           angle=W.FloatSlider(value=30.0, min=0.0, max=175.0, step=5.0,
                                                               description="angle"))
            data = _sliders(out._repr_mimebundle_())
            counts[fast, cheap] = len(data["controls"][0]["labels"])
            caption = re.search(r'<figcaption class="pgw-caption"[^>]*>(.*?)</figcaption>',
                                out._repr_mimebundle_()["text/html"]).group(1)
            assert f"angle ({counts[fast, cheap]} positions, 0.00 to 175.00)" in caption
    # 36 lattice points, default at the 7th: no stride divides both sides, so about that many positions
    assert counts[("0", False)] in (widgets.POSITIONS - 1, widgets.POSITIONS, widgets.POSITIONS + 1)
    assert counts[("0", True)] >= widgets.CHEAP_POSITIONS - 3
    assert counts[("1", False)] == counts[("1", True)] <= widgets.FAST_POSITIONS + 1
    assert widgets.CHEAP_POSITIONS >= 21 > widgets.POSITIONS >= 9
    with pytest.raises(TypeError, match="cheap must be True or False"):
        widgets.interactive_plot(_diameter, alt="A diameter.", cheap="yes", angle=W.FloatSlider())


def test_the_caption_says_when_one_control_moves_at_a_time(monkeypatch):
    monkeypatch.setenv("PEDAGOGY_STATIC_WIDGETS", "1")
    sliders = dict(angle=W.FloatSlider(value=40.0, min=0.0, max=160.0, step=5.0, description="angle"),
                   other=W.Checkbox(value=False, description="thick"))

    def plot(angle, other):
        fig = _diameter(angle)
        if other:
            fig.axes[0].lines[0].set_linewidth(5)
        return fig

    captions = {}
    for fast in ("0", "1"):                      # 9 x 2 > PRODUCT_LIMIT: one at a time; 5 x 2: every combination
        monkeypatch.setenv("PEDAGOGY_FAST", fast)
        html_text = widgets.interactive_plot(plot, alt="A diameter.", **sliders)._repr_mimebundle_()["text/html"]
        captions[_player_data(html_text)["mode"]] = html.unescape(
            re.search(r'<figcaption class="pgw-caption"[^>]*>(.*?)</figcaption>', html_text).group(1))
    assert "One control moves at a time; the others return to their defaults." in captions["axes"]
    assert "One control moves at a time" not in captions["product"]
    assert "Every combination of these positions is drawn." in captions["product"]


def test_slider_images_are_lossy_webp_unless_lossless_is_lighter(monkeypatch):
    monkeypatch.setenv("PEDAGOGY_STATIC_WIDGETS", "1")
    fig, ax = plt.subplots(figsize=(3, 2), dpi=72)
    ax.imshow(np.random.default_rng(1).random((30, 40)), interpolation="bilinear")   # smooth shades: lossy is lighter
    image = plotting.encode_figure(fig, quality=plotting.SLIDER_QUALITY)
    plt.close(fig)
    assert image.data[:4] == b"RIFF" and image.data[12:16] == b"VP8 "   # lossy WebP ("VP8L" is lossless)


_SLOW_LEGEND = """
import warnings
{setup}
# the message matplotlib's legend placement gives when finding the "best" place took over a second
warnings.warn('Creating legend with loc="best" can be slow with large amounts of data.', UserWarning)
"""


@pytest.mark.parametrize("setup, warned", [("", True), ("import pedagogy_lib.display.plotting", False)])
def test_a_slow_default_legend_placement_puts_nothing_on_stderr(setup, warned):
    """matplotlib warns when placing a legend at its default "best" location takes over a second of wall
    time, which on a loaded machine put a line on a page's stderr (and failed the strict build). In a fresh
    process the warning is printed; with the display helpers imported, it is not."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _SLOW_LEGEND.format(setup=setup)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert ('Creating legend with loc="best" can be slow' in out.stderr) is warned, out.stderr


def test_a_book_build_keeps_each_static_figure_as_svg_for_the_figure_pack(monkeypatch):
    """Published build: ``show`` leaves the figure as gzipped SVG in the output's metadata (the figure
    packs take it from there; no page renders it), the same bytes each time; the test command's fast
    build and a live kernel do not pay for it."""
    import gzip

    def draw():
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        ax.set_title("a line")
        return fig

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, metadata=None: shown.append(metadata))
    monkeypatch.setenv("PEDAGOGY_STATIC_WIDGETS", "1")
    monkeypatch.delenv("PEDAGOGY_FAST", raising=False)
    plotting.show(draw(), alt="A rising line.")
    plotting.show(draw(), alt="A rising line.")
    svg = gzip.decompress(base64.b64decode(shown[0][plotting.SVG_METADATA_KEY])).decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "<dc:date>" not in svg
    assert shown[0] == shown[1], "the same figure gave different SVG bytes"
    monkeypatch.setenv("PEDAGOGY_FAST", "1")
    plotting.show(draw(), alt="A rising line.")
    assert shown[2] is None


def _three_panels():
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
    for k, ax in enumerate(axes):
        ax.plot([0, 1, 2], [k, 1, 2 - k])
        ax.set_title(f"panel {k}")
        ax.set_xlabel("x")
    fig.colorbar(axes[2].imshow(np.arange(4.0).reshape(2, 2)), ax=axes[2])
    fig.tight_layout()
    return fig, axes


def test_a_wide_figure_is_stacked_for_a_phone_and_then_restored():
    """Inside ``phone_layout`` the three panels sit one under the other in a phone-wide image, the
    panels that hid their shared y tick labels show them, and afterwards the figure draws exactly as
    before."""
    fig, axes = _three_panels()
    before = plotting.encode_figure(fig, compact=False)
    with plotting.phone_layout(fig, 90.0) as changed:
        phone = plotting.encode_figure(fig, compact=False, dpi=90.0)
        boxes = [ax.get_position() for ax in axes]
        labels = [ax.yaxis.get_tick_params()["labelleft"] for ax in axes]
    after = plotting.encode_figure(fig, compact=False)
    plt.close(fig)
    assert changed is not None and before.width > 2 * plotting.PHONE_WIDTH_PX
    assert phone.width <= plotting.PHONE_WIDTH_PX and phone.height > 2 * phone.width
    assert all(a.y0 > b.y1 for a, b in zip(boxes, boxes[1:])), "the panels are not stacked top to bottom"
    assert labels == [True, True, True]
    assert after.data == before.data, "the figure was not restored"


def test_on_a_phone_legends_go_under_their_panel_and_long_titles_break_between_words():
    """A legend inside a panel would cover its data in a column 300 px wide: inside ``phone_layout`` a copy
    sits under the panel's x label and the original is hidden; a title too long for the column breaks into
    lines, a formula kept whole; afterwards the figure draws exactly as before."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax in axes:
        ax.plot([0, 1, 2], [0, 2, 1], label="a rising then falling line")
        ax.scatter([0, 1, 2], [1, 1, 1], label="three points")
        ax.set_xlabel("x")
        ax.legend()
    title = r"a title far longer than a phone's column allows, with $\hat p(y \mid \mathbf{x})$ at its end"
    axes[0].set_title(title)
    fig.tight_layout()
    before = plotting.encode_figure(fig, compact=False)
    with plotting.phone_layout(fig, 90.0):
        phone = plotting.encode_figure(fig, compact=False, dpi=90.0)
        fig.canvas.draw()                                   # measured at the figure's own resolution
        renderer = fig.canvas.get_renderer()
        for ax in axes:
            copy = [a for a in ax.artists if isinstance(a, matplotlib.legend.Legend)]
            assert not ax.get_legend().get_visible() and len(copy) == 1
            assert copy[0].get_window_extent(renderer).y1 <= ax.xaxis.label.get_window_extent(renderer).y0 + 1
            assert [t.get_text() for t in copy[0].get_texts()] == ["a rising then falling line", "three points"]
        broken = axes[0].get_title()
        assert "\n" in broken and broken.replace("\n", " ") == title and r"$\hat p(y \mid \mathbf{x})$" in broken
        assert axes[0].title.get_window_extent(renderer).width <= 0.75 * fig.bbox.width
    after = plotting.encode_figure(fig, compact=False)
    plt.close(fig)
    assert phone.width <= plotting.PHONE_WIDTH_PX
    assert after.data == before.data, "the figure was not restored"


def test_a_figure_that_fits_a_phone_is_left_as_it_is():
    fig, ax = plt.subplots(figsize=(3.0, 2.5))
    ax.plot([0, 1], [0, 1])
    before = plotting.encode_figure(fig, compact=False, dpi=90.0)
    with plotting.phone_layout(fig, 90.0) as changed:
        inside = plotting.encode_figure(fig, compact=False, dpi=90.0)
    plt.close(fig)
    assert changed is None and inside.data == before.data


def test_a_book_build_shows_a_phone_rendering_on_a_narrow_screen(monkeypatch):
    """In the book a wide figure is a ``<picture>`` whose phone source is chosen by the style sheet's phone
    width; a narrow figure, and any figure in a live kernel, is a plain image."""
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, metadata=None: shown.append(obj.html()))
    monkeypatch.setenv("PEDAGOGY_STATIC_WIDGETS", "1")
    plotting.show(_three_panels()[0], alt="Three panels.")
    small, ax = plt.subplots(figsize=(3.0, 2.5))
    plotting.show(small, alt="A small figure.")
    monkeypatch.delenv("PEDAGOGY_STATIC_WIDGETS")
    plotting.show(_three_panels()[0], alt="Three panels.")
    match = re.fullmatch(r'<picture><source media="([^"]+)" srcset="data:image/\w+;base64,[^"]+" width="(\d+)" '
                         r'height="(\d+)" /><img src="data:image/[^"]+" alt="Three panels\." [^>]*/></picture>',
                         shown[0])
    assert match and match.group(1) == plotting.PHONE_MEDIA
    assert int(match.group(2)) <= plotting.PHONE_WIDTH_PX < int(match.group(3))
    assert shown[1].startswith("<img ") and shown[2].startswith("<img ")


def test_a_figure_may_bring_its_own_phone_drawing_which_must_fit_the_column(monkeypatch):
    """``show(fig, alt, phone=...)``: the given drawing is the phone source (not a stacked copy of ``fig``);
    one wider than the column, or not a figure, is refused with the limit named; both figures are closed."""
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, metadata=None: shown.append(obj.html()))
    monkeypatch.setenv("PEDAGOGY_STATIC_WIDGETS", "1")
    dpi = 90.0
    monkeypatch.setitem(matplotlib.rcParams, "savefig.dpi", dpi)
    tall, too_wide = plt.figure(figsize=(220 / dpi, 500 / dpi)), plt.figure(figsize=(400 / dpi, 200 / dpi))
    for drawing in (tall, too_wide):                       # drawn to its edges, so the tight crop keeps its size
        drawing.patch.set_edgecolor("black")
        drawing.patch.set_linewidth(2)
    wide = _three_panels()[0]
    plotting.show(wide, alt="Three panels, drawn tall on a phone.", phone=tall)
    width, height = (int(v) for v in re.search(r'<source [^>]*width="(\d+)" height="(\d+)"', shown[0]).groups())
    assert width <= 250 and height > 1.9 * width          # the tall drawing, not the three panels stacked
    assert not plt.fignum_exists(wide.number) and not plt.fignum_exists(tall.number)
    refused = _three_panels()[0]
    with pytest.raises(ValueError, match=f"phone must be a figure at most {plotting.PHONE_WIDTH_PX} px wide"):
        plotting.show(refused, alt="Three panels.", phone=too_wide)
    assert not plt.fignum_exists(refused.number) and not plt.fignum_exists(too_wide.number)
    with pytest.raises(TypeError, match="phone must be a matplotlib Figure or None; got str"):
        plotting.show(_three_panels()[0], alt="Three panels.", phone="tall.png")
    plt.close("all")


def _two_panels(shift=0.0):
    fig, axes = plt.subplots(1, 2, figsize=(9, 3), dpi=90)
    for k, ax in enumerate(axes):
        ax.plot([0, 1], [0, k + shift])
        ax.set_ylim(-1, 5)
        ax.set_title(f"panel {k}")
    fig.tight_layout()
    return fig, axes


def test_a_wide_player_and_slider_figure_get_phone_images_in_a_book_build(monkeypatch):
    """In the book the player holds a phone frame for every frame, all of one size (its first frame's
    layout), and a slider figure a phone image for every position; the page's picture starts from the
    first of them. A narrow figure gets none."""
    monkeypatch.setenv("PEDAGOGY_STATIC_WIDGETS", "1")
    fig, axes = _two_panels()
    (line,) = axes[1].plot([], [])
    anim = animation.animate(fig, lambda i: line.set_data([0, 1], [1, i]), 4, alt="A line tilting up.")
    page = anim._repr_html_()
    data = _player_data(page)
    sizes = {Image.open(io.BytesIO(base64.b64decode(f.split(",", 1)[1]))).size for f in data["phone"]}
    assert len(data["phone"]) == len(data["frames"]) == 4 and len(set(data["phone"])) == 4
    assert len(sizes) == 1 and next(iter(sizes))[0] <= plotting.PHONE_WIDTH_PX < next(iter(sizes))[1] * 2
    assert f'<source media="{plotting.PHONE_MEDIA}" srcset="{data["phone"][0]}"' in page

    out = widgets.interactive_plot(lambda shift=0.0: _two_panels(shift)[0], alt="Two panels.",
                                   shift=W.FloatSlider(value=0.0, min=0.0, max=3.0, step=1.0, description="shift"))
    data = _sliders(out._repr_mimebundle_())
    assert data["phone"].keys() == data["images"].keys() and len(set(data["phone"].values())) == len(data["phone"])
    narrow = widgets.interactive_plot(_plot, alt="A line.",
                                      slope=W.FloatSlider(value=1.0, min=0.0, max=3.0, step=1.0, description="slope"))
    bundle = narrow._repr_mimebundle_()
    assert "phone" not in _sliders(bundle) and "<picture>" not in bundle["text/html"]

