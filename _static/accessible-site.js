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

/* phone width (H2): figures keep their drawn size on a narrow screen.

   Every image of a cell output (a static figure, an animation player's frame, a slider figure's
   image) is put in a div.pg-figure-scroll. Below 40rem the style sheet keeps the image at its
   natural size and lets that box scroll sideways (accessible-site.css says why). While a box is
   narrower than its image, it is a tab stop (the arrow keys then scroll it) and a region named
   "figure N, scroll sideways" (N counts the output images of the page, so each region's name is
   its own); when the image fits again (a wider window), the box is a plain box, neither a tab stop
   nor a region. A player's or a slider figure's script keeps working: it holds its image itself,
   wherever the image sits. */
(function () {
  "use strict";
  var boxes = [];
  function wrap() {
    document.querySelectorAll(".bd-article .cell_output img").forEach(function (img) {
      if (img.parentElement && img.parentElement.classList.contains("pg-figure-scroll")) return;
      var box = document.createElement("div");
      box.className = "pg-figure-scroll";
      img.parentNode.insertBefore(box, img);
      box.appendChild(img);
      boxes.push(box);
      box.dataset.figure = String(boxes.length);
      img.addEventListener("load", update);
    });
  }
  function update() {
    boxes.forEach(function (box) {
      var scrolls = box.getClientRects().length > 0 && getComputedStyle(box).overflowX === "auto" &&
        box.scrollWidth > box.clientWidth + 1;
      if (scrolls && box.getAttribute("tabindex") !== "0") {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", "figure " + box.dataset.figure + ", scroll sideways");
      } else if (!scrolls && box.hasAttribute("tabindex")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }
  function later() { setTimeout(update, 50); }
  function start() {
    wrap();
    update();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  window.addEventListener("load", update);
  window.addEventListener("resize", later);
  // an output inside a solution or a hidden cell is laid out only when it is opened
  document.addEventListener("toggle", later, true);
  document.addEventListener("click", function () { [50, 400, 1200].forEach(function (ms) { setTimeout(update, ms); }); });
})();
