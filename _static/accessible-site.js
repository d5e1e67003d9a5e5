/* A first visit, with nothing stored yet, starts in a valid colour mode (loaded in the page's head,
   before the theme's own script runs).

   The theme's head script copies the stored mode into <html data-mode> and <html data-theme>, or,
   with nothing stored, its default_mode setting, which this book leaves empty: the page then
   carried data-mode="" and data-theme="", and when the page had loaded the theme's script logged
   "Got invalid theme mode: . Resetting to auto." as a console error, on every page of a first
   visit. An empty or unknown mode is read here as "auto" (follow the system's preference), and
   the theme shown is the one that preference asks for, so the first frame already has the
   theme's colours. A stored choice is left as it is. */
(function () {
  "use strict";
  var root = document.documentElement;
  var modes = ["light", "dark", "auto"];
  if (modes.indexOf(root.dataset.mode) < 0) root.dataset.mode = "auto";
  if (root.dataset.theme !== "light" && root.dataset.theme !== "dark") {
    var dark = root.dataset.mode === "dark" || (root.dataset.mode === "auto" && window.matchMedia &&
               window.matchMedia("(prefers-color-scheme: dark)").matches);
    root.dataset.theme = dark ? "dark" : "light";
  }
})();

/* The article is shown once MathJax has typeset its formulas. Before that, each formula is its TeX
   source, whose width differs from the typeset formula's, so paragraphs and list items reflowed
   when MathJax finished and everything below them moved (a layout shift of 0.1 to 0.3 on pages
   whose first screen has formulas in running text). The article is laid out meanwhile, only not
   painted; it is shown when MathJax's first typesetting is done, fails, or after 8 s at most. Pages
   without MathJax and readers without JavaScript are not affected. */
(function () {
  "use strict";
  if (!document.querySelector('script[src*="mathjax/"]') || !window.Promise) return;
  var root = document.documentElement;
  root.classList.add("pg-math-pending");
  function show() { root.classList.remove("pg-math-pending"); }
  setTimeout(show, 8000);
  (function wait() {
    var mj = window.MathJax;
    if (mj && mj.startup && mj.startup.promise) mj.startup.promise.then(show, show);
    else setTimeout(wait, 30);
  })();
})();

/* The theme's skip link leads to <main>, whose first controls are the article's toolbar (the
   sidebar toggle, downloads, launch buttons, full screen, colour mode, search): a keyboard user who
   skipped the navigation still had to tab through them. It leads to the article itself here. */
(function () {
  "use strict";
  function retarget() {
    var link = document.querySelector("#pst-skip-link a, a.skip-link");
    var article = document.querySelector(".bd-article");
    if (!link || !article) return;
    if (!article.id) article.id = "pg-article";
    if (!article.hasAttribute("tabindex")) article.setAttribute("tabindex", "-1");
    link.setAttribute("href", "#" + article.id);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", retarget);
  else retarget();
})();

/* Search results quote a few lines of each page found, taken from the page's HTML, where a formula
   is still its TeX source ("\(\boldsymbol{\Upsilon}_{t|t-1}\)"): the snippets showed raw TeX.
   Here each formula of a fetched page becomes plain text first: the book's macros written out
   (window.pgTexMacros, put on the search page by _ext/accessible_site.py), Greek letters and
   common symbols as characters, other commands and braces dropped ("Υ_t|t-1"). */
(function () {
  "use strict";
  var SYMBOLS = {
    alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ε", varepsilon: "ε", zeta: "ζ", eta: "η",
    theta: "θ", iota: "ι", kappa: "κ", lambda: "λ", mu: "μ", nu: "ν", xi: "ξ", pi: "π", rho: "ρ",
    sigma: "σ", tau: "τ", upsilon: "υ", phi: "φ", varphi: "φ", chi: "χ", psi: "ψ", omega: "ω",
    Gamma: "Γ", Delta: "Δ", Theta: "Θ", Lambda: "Λ", Xi: "Ξ", Pi: "Π", Sigma: "Σ", Upsilon: "Υ",
    Phi: "Φ", Psi: "Ψ", Omega: "Ω", sum: "∑", prod: "∏", int: "∫", infty: "∞", partial: "∂",
    nabla: "∇", le: "≤", leq: "≤", ge: "≥", geq: "≥", ne: "≠", neq: "≠", approx: "≈", sim: "~",
    propto: "∝", times: "×", cdot: "·", to: "→", rightarrow: "→", leftarrow: "←", mid: "|", in: "∈",
    log: "log", exp: "exp", det: "det", tr: "tr", min: "min", max: "max", ldots: "…", dots: "…"
  };
  function texToText(tex) {
    var macros = window.pgTexMacros || {};
    var s = tex.trim().replace(/^(\\\(|\\\[|\$\$?)/, "").replace(/(\\\)|\\\]|\$\$?)$/, "");
    for (var pass = 0; pass < 4; pass++) {
      s = s.replace(/\\([A-Za-z]+)/g, function (m, name) {
        return Object.prototype.hasOwnProperty.call(macros, name) ? " " + macros[name] + " " : m;
      });
    }
    s = s.replace(/\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}/g, "($1)/($2)");
    s = s.replace(/\\([A-Za-z]+)/g, function (m, name) {
      return Object.prototype.hasOwnProperty.call(SYMBOLS, name) ? SYMBOLS[name] : "";
    });
    return s.replace(/\\[,;:! ]|\\\\|&/g, " ").replace(/[{}]/g, "").replace(/\s*([_^])\s*/g, "$1")
      .replace(/\s+/g, " ").trim();
  }
  window.pgTexToText = texToText;
  function patch() {
    if (typeof Search === "undefined" || !Search.htmlToText || Search.pgPlainMath) return;
    var original = Search.htmlToText;
    Search.htmlToText = function (html, anchor) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      doc.querySelectorAll(".math").forEach(function (el) { el.textContent = " " + texToText(el.textContent) + " "; });
      return original("<!DOCTYPE html>" + doc.documentElement.outerHTML, anchor);
    };
    Search.pgPlainMath = true;
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", patch);
  else patch();
})();

/* Accessible names for the book's solution toggles (loaded on every page by
   _ext/accessible_site.py, after sphinx-togglebutton's script).

   sphinx-togglebutton (0.4.5) gives every collapse button the same name, "Toggle hidden
   content", so a screen reader user hears a list of identical buttons and cannot tell which
   solution each one opens. Here each button is named after the title of the block it opens
   ("Solution to Exercise 2.2.1-a"), and the tooltip text it shows is kept in the name too, so
   the name contains the visible words (WCAG 2.5.3). The expanded/collapsed state stays in
   aria-expanded, which the theme script updates.

   Scrollable blocks revealed later get a tab stop. pydata-sphinx-theme makes each scrollable
   code block, table or output focusable when the page loads, so a keyboard user can scroll it
   (WCAG 2.1.1); a block inside a collapsed solution is not scrollable yet at that moment and was
   left without one. Opening a toggle (or any later resize) gives it one here. The same holds
   for a display formula wider than the column (MathJax's own tab stops on every formula are
   switched off, see _ext/accessible_site.py). */
(function () {
  "use strict";
  function nameToggles() {
    document.querySelectorAll("button.toggle-button[data-target]").forEach(function (button) {
      if (button.dataset.named) return;
      var block = document.getElementById(button.dataset.target);
      var title = block && block.querySelector(".admonition-title");
      var text = title ? title.textContent.replace(/\s+/g, " ").trim() : "";
      if (!text) return;
      button.setAttribute("aria-label", text);
      button.dataset.named = "1";
    });
  }
  function focusableScrollers() {
    document.querySelectorAll(".bd-article pre, .bd-article .pst-scrollable-table-container, " +
                              ".bd-article .cell_output .output, " +
                              ".bd-article mjx-container[display='true']").forEach(function (el) {
      // (pydata-sphinx-theme gives tabindex="-1" to a block that did not scroll at load time)
      var reachable = el.hasAttribute("tabindex") && el.getAttribute("tabindex") !== "-1";
      if (!reachable && el.scrollWidth > el.clientWidth + 1 &&
          el.getClientRects().length > 0) {
        el.setAttribute("tabindex", "0");
      }
    });
  }
  function soon() {   // after the toggle's own transition has laid the content out
    [50, 400, 1200].forEach(function (ms) { setTimeout(focusableScrollers, ms); });
  }
  document.addEventListener("click", soon);
  document.addEventListener("toggle", soon, true);
  window.addEventListener("resize", function () { setTimeout(focusableScrollers, 50); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setTimeout(nameToggles, 0); });
  } else {
    setTimeout(nameToggles, 0);
  }
  window.addEventListener("load", function () {
    nameToggles();
    focusableScrollers();
    // a display formula too wide for the column scrolls: once MathJax has typeset the page,
    // such a formula (and only such a one) gets a tab stop so it can be scrolled by keyboard
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(focusableScrollers);
    }
  });
})();
