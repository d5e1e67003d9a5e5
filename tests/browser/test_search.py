"""The site's search: results quote their pages with formulas as plain text, not TeX source.

Sphinx's search quotes a few lines of each page it finds, read from that page's HTML, where a
formula is still its TeX source; ``_static/accessible-site.js`` writes each formula as text first.
The query is a word of the Kalman page's running text next to its formulas.
"""
from __future__ import annotations

import re

TEX = re.compile(r"\\[()\[\]]|\\(?:mathbf|boldsymbol|hat|bar|frac|Upsilon|mathcal|operatorname)\b")


def test_search_snippets_show_no_tex(open_page):
    page = open_page("search.html?q=covariance")
    page.wait_for_function("() => document.querySelectorAll('#search-results li p.context').length >= 5",
                           timeout=60_000, polling=100)
    # Sphinx lists the results one by one and then says how many it found; each result's snippet
    # arrives when its page has been fetched (allowed 30 s more, else the check reads what is there)
    try:
        page.wait_for_function("""() => { const s = document.querySelector('#search-results .search-summary,'
            + ' #search-results > p'); return s && /found|did not match/i.test(s.textContent) &&
            [...document.querySelectorAll('#search-results li')].every(li => li.querySelector('p.context, span')); }""",
                               timeout=30_000, polling=100)
    except Exception:                             # noqa: BLE001 - the assertions below read what arrived
        pass
    snippets = page.eval_on_selector_all("#search-results li p.context", "els => els.map(e => e.textContent)")
    with_tex = [s for s in snippets if TEX.search(s)]
    assert not with_tex, f"{len(with_tex)} of {len(snippets)} snippets show TeX, e.g. {with_tex[0][:200]!r}"
    # the formulas are still there, as text: Greek letters written as characters
    assert any(ch in "".join(snippets) for ch in "ΣΥμσ"), "no formula of the snippets was written as text"


def test_tex_is_written_as_text_with_the_books_macros(open_page):
    page = open_page("search.html")
    out = page.evaluate(r"""() => { window.pgTexMacros = {Ups: '\\boldsymbol{\\Upsilon}', T: '\\mathsf{T}'};
        return [pgTexToText('\\(\\Ups_{t|t-1} = \\mathbf A \\Ups_{t-1|t-1} \\mathbf A^\\T + \\Sigma\\)'),
                pgTexToText('\\[\\frac{1}{2}\\sum_k \\log v_k^2\\]')]; }""")
    assert out == ["Υ_t|t-1 = A Υ_t-1|t-1 A^T + Σ", "(1)/(2)∑_k log v_k^2"], out
