"""The shared plotting, animation and widget helpers used by every notebook."""
import base64

import ipywidgets as W
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

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


def test_animate_embeds_every_frame_and_closes_the_figure():
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    (line,) = ax.plot([], [])
    calls = []

    def update(i):
        calls.append(i)
        line.set_data([0, 1], [0, i])

    anim = animation.animate(fig, update, 4, alt="A line tilting up.")
    assert not plt.fignum_exists(fig.number)
    assert set(range(4)) <= set(calls)
    html = anim._repr_html_()
    assert html.count("data:image/png;base64") == 4
    assert 'aria-label="A line tilting up."' in html and '<img alt="A line tilting up."' in html


def test_animate_caps_frames_and_requires_alt():
    fig = plt.figure()
    with pytest.raises(ValueError, match=r"frames must be at most 60; got 61"):
        animation.animate(fig, lambda i: None, 61, alt="x")
    with pytest.raises(ValueError, match="alt must be a non-empty description"):
        animation.animate(fig, lambda i: None, 3, alt="")
    plt.close(fig)


def _plot(slope=1.0):
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    ax.plot([0, 1], [0, slope])
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
    out2 = widgets.interactive_plot(lambda slope: (seen.append(slope), _plot(slope))[1], alt="x",
                                    slope=W.FloatSlider(value=0.0, min=-1, max=1))
    out2.widget.children[0].value = 0.75
    assert seen[0] == 0.0 and seen[-1] == 0.75


def test_interactive_plot_validates_controls():
    with pytest.raises(TypeError, match=r"control 'slope' must be an ipywidgets widget"):
        widgets.interactive_plot(_plot, alt="x", slope=(0.0, 1.0))
    with pytest.raises(ValueError, match="alt must be a non-empty description"):
        widgets.interactive_plot(_plot, alt="", slope=W.FloatSlider())


def test_static_mode_renders_the_default_figure_without_a_widget(monkeypatch):
    monkeypatch.setenv("PEDAGOGY_STATIC_WIDGETS", "1")
    seen = []
    out = widgets.interactive_plot(lambda slope: (seen.append(slope), _plot(slope))[1], alt="A line.",
                                   slope=W.FloatSlider(value=0.25, min=-1, max=1, description="slope"))
    bundle = out._repr_mimebundle_()
    assert seen == [0.25]                                               # drawn once, at the default
    assert "application/vnd.jupyter.widget-view+json" not in bundle
    assert 'alt="A line."' in bundle["text/html"] and "slope (-1 to 1)" in bundle["text/html"]
