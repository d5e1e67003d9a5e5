/* The lecture slides' start-up (_ext/teaching_kit.py): reveal.js with its speaker-notes plugin and
   the options the build wrote into #deck-config, then every slide fitted to the deck's size. A slide
   whose content is taller or wider than the slide (a long derivation, a long exercise) gets a
   smaller font, step by step, down to half size; its formulas shrink with it (MathJax sizes them in
   em). The fitting is done when a slide is shown and again once MathJax has typeset the deck.
   Speaker notes: MathJax does not typeset them in the deck (they are hidden, and the speaker view
   shows a note's HTML in a window without MathJax), so once MathJax has started, each formula of a
   note (a span.deck-math holding \(...\) or \[...\], written by the build) becomes MathML,
   made by MathJax's TeX input with the book's macros; the browser draws MathML itself, in the deck
   and in the speaker view. */
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

  function notesToMathML(mj) {
    /* one formula after the other, each through tex2mmlPromise, which waits for a TeX extension
       that MathJax loads on demand (\\boldsymbol, say): the plain tex2mml fails on those */
    var spans = Array.prototype.slice.call(document.querySelectorAll(".reveal aside.notes .deck-math"));
    var convert = function (tex, options) {
      return mj.tex2mmlPromise ? mj.tex2mmlPromise(tex, options) : Promise.resolve(mj.tex2mml(tex, options));
    };
    return spans.reduce(function (done, span) {
      return done.then(function () {
        var tex = span.textContent.trim().replace(/^\\[(\[]/, "").replace(/\\[)\]]$/, "");
        return Promise.resolve().then(function () {
          return convert(tex, {display: span.classList.contains("deck-display")});
        }).then(function (mml) {
          span.innerHTML = mml;
          span.classList.add("deck-mathml");
        }).catch(function () {
          span.classList.add("deck-math-error");      /* the TeX stays as written */
        });
      });
    }, Promise.resolve());
  }

  config.plugins = [RevealNotes];
  Reveal.initialize(config).then(function () {
    fitCurrent();
    Reveal.on("slidechanged", fitCurrent);
    var mj = window.MathJax;
    var typeset = function () {
      if (mj && mj.startup && mj.startup.promise) {
        mj.startup.promise.then(function () {
          return mj.tex2mml ? notesToMathML(mj) : null;
        }).then(function () {
          document.documentElement.setAttribute("data-math", "typeset");
          fitCurrent();
        });
      }
    };
    if (mj && mj.startup && mj.startup.promise) { typeset(); }
    else { window.addEventListener("load", function () { mj = window.MathJax; typeset(); }); }
  });
})();
