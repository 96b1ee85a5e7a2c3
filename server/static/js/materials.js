// The window's checklist: the one-time notice's list follows the ticks as the clerk makes them.
// The server computes the same list on submit (onewindow.materials.missing); this only shows it.
(function () {
  "use strict";
  function update() {
    var out = document.getElementById("owed-list");
    if (!out) { return; }
    var names = [];
    document.querySelectorAll("#materials li[data-owed]").forEach(function (item) {
      var box = item.querySelector("input[name=presented]");
      if (box && !box.checked) { names.push(item.getAttribute("data-name")); }
    });
    out.textContent = names.length ? names.join("、") : out.getAttribute("data-none");
  }
  document.addEventListener("change", function (event) {
    if (event.target && event.target.name === "presented") { update(); }
  });
  document.addEventListener("DOMContentLoaded", update);
})();
