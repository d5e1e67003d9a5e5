/* The footer's "Report a problem with this page" link (_templates/author.html) opens a new issue in
   the book's repository with the page's title and address filled in. The build writes the page's
   path into the link (it does not know where the site is published); here the address becomes the
   one the reader sees, without the query and the fragment. Without JavaScript the link still
   works, with the path. */
(function () {
  "use strict";
  function update() {
    var links = document.querySelectorAll("a.report-problem[data-issue-body]");
    Array.prototype.forEach.call(links, function (a) {
      var address = location.href.split("#")[0].split("?")[0];
      var body = a.getAttribute("data-issue-body").replace("{address}", address);
      var url = new URL(a.getAttribute("href"), location.href);
      url.searchParams.set("body", body);
      a.setAttribute("href", url.toString());
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", update); }
  else { update(); }
})();
