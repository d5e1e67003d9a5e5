"""The built book works in a real browser: sliders move, players play, solutions wait, no script fails.

Each test opens pages of the built site in headless Chromium (fixtures in ``conftest.py``) with
every non-local request refused, and drives the controls the way a reader does, by keyboard.
Errors that a page logs while loading are the business of ``test_no_javascript_errors``; the
tests of the controls fail on errors logged while the controls are used.
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def scroll_through(page, step: int = 700) -> None:
    """Scroll to the bottom and back, so that every lazily loaded image is fetched."""
    height = page.evaluate("document.documentElement.scrollHeight")
    for y in range(0, height + step, step):
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(30)
    page.evaluate("window.scrollTo(0, 0)")


def image_state(img) -> dict:
    return img.evaluate("(el) => ({src: el.currentSrc || el.src, loaded: el.complete && el.naturalWidth > 0})")


def wait_for_new_image(page, img, old_src: str, what: str) -> dict:
    """Wait until ``img`` shows a different, fully loaded image; fail saying ``what`` did not change it."""
    try:
        page.wait_for_function("([el, old]) => (el.currentSrc || el.src) !== old && el.complete && el.naturalWidth > 0",
                               arg=[img, old_src], timeout=10_000)
    except Exception as exc:                       # noqa: BLE001 - reported as a test failure
        pytest.fail(f"{what} did not show a new, loaded image (still {old_src[-60:]}): {exc}")
    return image_state(img)


def _has_focus_ring(element) -> bool:
    return element.evaluate("(el) => { const s = getComputedStyle(el); "
                            "return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }")


def test_no_javascript_errors(open_page, book_page):
    page = open_page(book_page)
    scroll_through(page)
    page.wait_for_timeout(300)
    assert not page.js_errors, f"{book_page}: " + "\n".join(page.js_errors)
    assert not page.failed, f"{book_page}: failed requests: " + "\n".join(page.failed)


def test_every_player_advances_by_keyboard_and_by_play(open_page, book_page):
    page = open_page(book_page)
    players = page.query_selector_all("figure.pgw-player")
    if not players:
        pytest.skip(f"{book_page} has no animation player")
    errors_at_load = len(page.js_errors)
    for n, player in enumerate(players, 1):
        player.scroll_into_view_if_needed()
        img = player.query_selector("img.pgw-img")
        page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=img, timeout=10_000)
        first = image_state(img)["src"]
        # keyboard: focus "Next" and press Enter
        nxt = player.query_selector("button[data-act=next]")
        nxt.focus()
        page.keyboard.press("Enter")
        assert _has_focus_ring(nxt), f"player {n} on {book_page}: the focused button has no visible outline"
        second = wait_for_new_image(page, img, first, f"player {n} on {book_page}: Next")["src"]
        frame = player.query_selector("input[type=range]")
        assert frame.get_attribute("aria-valuetext").startswith("frame 2 of ")
        # the frame slider, by keyboard
        frame.focus()
        page.keyboard.press("ArrowRight")
        third = wait_for_new_image(page, img, second, f"player {n} on {book_page}: the frame slider")["src"]
        # Play advances on its own, and Pause stops it
        play = player.query_selector("button[data-act=play]")
        play.click()
        wait_for_new_image(page, img, third, f"player {n} on {book_page}: Play")
        assert "Pause" in play.inner_text()
        play.click()
        assert "Play" in play.inner_text()
    assert not page.js_errors[errors_at_load:], "\n".join(page.js_errors[errors_at_load:])


def _sliders_on(page):
    return page.query_selector_all("figure.pgw-sliders")


def test_every_static_slider_changes_the_figure(open_page, chapter_page):
    page = open_page(chapter_page)
    figures = _sliders_on(page)
    if not figures:
        pytest.skip(f"{chapter_page} has no interactive figure")
    moved, errors_at_load = 0, len(page.js_errors)
    for n, figure in enumerate(figures, 1):
        figure.scroll_into_view_if_needed()
        img = figure.query_selector("img.pgw-img")
        page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=img, timeout=10_000)
        for control in figure.query_selector_all("input[type=range][data-ctl]"):
            label = figure.query_selector(f"label[for='{control.get_attribute('id')}']")
            assert label and label.inner_text().strip(), f"figure {n} on {chapter_page}: a slider without a label"
            before = image_state(img)["src"]
            at_max = control.evaluate("(el) => el.value === el.max")
            control.focus()
            page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
            assert _has_focus_ring(control), f"figure {n} on {chapter_page}: the focused slider has no visible outline"
            wait_for_new_image(page, img, before, f"slider {label.inner_text()!r} of figure {n} on {chapter_page}")
            status = figure.query_selector(".pgw-status").inner_text()
            assert label.inner_text().strip() in status, status
            moved += 1
        for control in figure.query_selector_all("select[data-ctl], input[type=checkbox][data-ctl]"):
            before = image_state(img)["src"]
            control.focus()
            if control.evaluate("(el) => el.tagName") == "SELECT":
                page.keyboard.press("ArrowDown" if control.evaluate("(el) => el.selectedIndex < el.length - 1")
                                    else "ArrowUp")
            else:
                page.keyboard.press("Space")
            wait_for_new_image(page, img, before, f"control {control.get_attribute('id')} on {chapter_page}")
            moved += 1
        reset = figure.query_selector("button[data-act=reset]")
        before = image_state(img)["src"]
        reset.click()
        wait_for_new_image(page, img, before, f"the reset button of figure {n} on {chapter_page}")
    assert moved > 0, f"{chapter_page}: interactive figures without a single control"
    assert not page.js_errors[errors_at_load:], "\n".join(page.js_errors[errors_at_load:])


def _chapters_with_interactive_figures() -> dict[str, list[str]]:
    """Chapter folder -> notebooks that call interactive_plot (from the sources)."""
    found = defaultdict(list)
    for nb in sorted((ROOT / "chapters").glob("*/*.ipynb")):
        if "interactive_plot(" in nb.read_text(encoding="utf-8"):
            found[nb.parent.name].append(nb.stem)
    return found


@pytest.mark.parametrize("chapter", sorted(_chapters_with_interactive_figures()))
def test_each_chapter_with_interactive_figures_has_sliders_on_its_pages(site_root, chapter):
    """Every page whose notebook calls interactive_plot shows real controls (moved by the test above)."""
    missing = []
    for stem in _chapters_with_interactive_figures()[chapter]:
        path = site_root / "chapters" / chapter / f"{stem}.html"
        html = path.read_text(encoding="utf-8") if path.exists() else ""
        if not re.search(r'<figure class="pgw pgw-sliders"[^>]*>.*?data-ctl="0"', html, flags=re.S):
            missing.append(path.relative_to(site_root).as_posix() + ("" if html else " (not built)"))
    assert not missing, "pages whose notebook calls interactive_plot but show no sliders: " + ", ".join(missing)


def _solutions(page):
    return page.query_selector_all(".solution.admonition, details.solution, .solution.dropdown")


def test_solutions_are_collapsed_until_clicked(open_page, chapter_page):
    page = open_page(chapter_page)
    solutions = _solutions(page)
    if not solutions:
        pytest.skip(f"{chapter_page} has no solutions")
    errors_at_load = len(page.js_errors)
    for n, sol in enumerate(solutions, 1):
        body = sol.query_selector(":scope > :not(.admonition-title):not(summary)") or \
            sol.query_selector(":scope > section > :not(.admonition-title)")
        assert body is not None, f"solution {n} on {chapter_page} has no body"
        assert not body.is_visible(), f"solution {n} on {chapter_page} is open before it is clicked"
        trigger = sol.query_selector(":scope > summary") or sol.query_selector(":scope > .admonition-title")
        trigger.scroll_into_view_if_needed()
        trigger.click()
        page.wait_for_timeout(150)
        assert body.is_visible(), f"solution {n} on {chapter_page} did not open when its title was clicked"
    assert not page.js_errors[errors_at_load:], "\n".join(page.js_errors[errors_at_load:])


def test_images_are_files_not_inline_data(site_root, chapter_page):
    html = (site_root / chapter_page).read_text(encoding="utf-8")
    inline = re.findall(r"data:image/(?:png|webp|jpeg);base64,[A-Za-z0-9+/=]{3000,}", html)
    assert not inline, f"{chapter_page}: {len(inline)} large images are still inline in the HTML"
