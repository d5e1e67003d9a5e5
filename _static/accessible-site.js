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
