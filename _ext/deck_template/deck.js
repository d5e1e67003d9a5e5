/* The lecture slides' start-up (_ext/teaching_kit.py): reveal.js with its speaker-notes plugin and
   the options the build wrote into #deck-config, then every slide fitted to the deck's size. A slide
   whose content is taller or wider than the slide (a long derivation, a long exercise) gets a
   smaller font, step by step, down to half size; its formulas shrink with it (MathJax sizes them in
   em). The fitting is done when a slide is shown and again once MathJax has typeset the deck. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("deck-config").textContent);
  var W = config.width, H = config.height;

  function fits(slide) {
    return slide.scrollHeight <= H && slide.scrollWidth <= W;
  }

  function fit(slide) {
    if (!slide) { return; }
    slide.style.fontSize = "";
    var k = 1;
    while (!fits(slide) && k > 0.5) {
      k = Math.round((k - 0.05) * 100) / 100;
      slide.style.fontSize = k + "em";
    }
    slide.setAttribute("data-fit", String(k));
  }

  function fitCurrent() {
    fit(Reveal.getCurrentSlide());
    Reveal.layout();
  }

  config.plugins = [RevealNotes];
  Reveal.initialize(config).then(function () {
    fitCurrent();
    Reveal.on("slidechanged", fitCurrent);
    var mj = window.MathJax;
    var typeset = function () {
      if (mj && mj.startup && mj.startup.promise) {
        mj.startup.promise.then(function () {
          document.documentElement.setAttribute("data-math", "typeset");
          fitCurrent();
        });
      }
    };
    if (mj && mj.startup && mj.startup.promise) { typeset(); }
    else { window.addEventListener("load", function () { mj = window.MathJax; typeset(); }); }
  });
})();
