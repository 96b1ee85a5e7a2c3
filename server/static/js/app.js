/* Redwall pages: keyboard shortcuts, CSRF for htmx, small progressive enhancements.
   No business rule lives here: every action is a plain form or link that works without it. */
(function () {
  "use strict";

  var csrf = document.querySelector('meta[name="csrf-token"]');

  // htmx sends the session's CSRF token with every request it makes.
  document.addEventListener("htmx:configRequest", function (event) {
    if (csrf) { event.detail.headers["X-CSRFToken"] = csrf.content; }
  });

  // Never lose focus after a swap: move it to what the swap brought (an error summary, the
  // claimed row, the first row "more" added), else back to the selected row.
  var rowsBefore = 0;
  document.addEventListener("htmx:beforeRequest", function () { rowsBefore = rows().length; });
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    var auto = target && target.querySelector ? target.querySelector("[data-autofocus]") : null;
    if (target && target.matches && target.matches("[data-autofocus]")) { auto = target; }
    if (auto) { auto.focus(); return; }
    var swapped = event.detail.elt && event.detail.elt.id ? document.getElementById(event.detail.elt.id) : null;
    if (swapped && swapped.id.indexOf("task-") === 0) { focusRow(swapped); return; }
    var all = rows();
    var lost = document.activeElement === document.body || !document.contains(document.activeElement);
    if (lost && all.length > rowsBefore && rowsBefore > 0) { focusRow(all[rowsBefore]); return; }
    if (lost) {
      var row = document.querySelector("tr.selected");
      if (row) { focusRow(row); }
    }
  });

  function typing(event) {
    var t = event.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  // -- the inbox as a keyboard list ------------------------------------------------------------
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-keyboard-list] tbody tr[data-href]")); }
  function selectRow(row) {
    rows().forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-selected"); });
    row.classList.add("selected");
    row.setAttribute("aria-selected", "true");
  }
  function focusRow(row) {
    selectRow(row);
    var link = row.querySelector("a");
    if (link) { link.focus(); }
    row.scrollIntoView({ block: "nearest" });
  }
  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var current = all.indexOf(document.querySelector("tr.selected"));
    var next = current < 0 ? 0 : Math.max(0, Math.min(all.length - 1, current + step));
    focusRow(all[next]);
  }

  // -- global shortcuts -----------------------------------------------------------------------
  var pendingG = false;
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var form = document.querySelector("form[data-submit-shortcut]");
      if (form) { event.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (typing(event) || event.altKey || event.ctrlKey || event.metaKey) { return; }
    var key = event.key;
    if (pendingG) {
      pendingG = false;
      var link = document.querySelector('.mainnav a[data-key="g ' + key + '"]');
      if (link) { event.preventDefault(); window.location.href = link.href; }
      return;
    }
    if (key === "g") { pendingG = true; window.setTimeout(function () { pendingG = false; }, 1500); return; }
    if (key === "?") { event.preventDefault(); showShortcuts(); return; }
    if (key === "/") {
      var search = document.querySelector("[data-shortcut='/']");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
      return;
    }
    if (key === "j") { event.preventDefault(); move(1); return; }
    if (key === "k") { event.preventDefault(); move(-1); return; }
    var selected = document.querySelector("tr.selected[data-href]");
    if ((key === "o" || key === "Enter") && selected) { event.preventDefault(); window.location.href = selected.dataset.href; return; }
    if (key === "c" && selected && selected.dataset.claim) {
      event.preventDefault();
      var button = selected.querySelector("button[hx-post]");
      if (button) { button.click(); }
      return;
    }
    var shortcutForm = document.querySelector('form[data-shortcut-form="' + key + '"]');
    if (shortcutForm) { event.preventDefault(); shortcutForm.requestSubmit(); }
  });

  function showShortcuts() {
    var dialog = document.getElementById("shortcuts");
    if (dialog && dialog.showModal && !dialog.open) { dialog.showModal(); }
  }

  document.addEventListener("click", function (event) {
    var action = event.target.closest ? event.target.closest("[data-action]") : null;
    if (!action) { return; }
    if (action.dataset.action === "show-shortcuts") { showShortcuts(); }
    if (action.dataset.action === "print") { window.print(); }
  });

  // -- radios that reveal their part of a form (refusal reason, missing materials) -------------
  function reveal() {
    document.querySelectorAll("input[type=radio][data-reveal]").forEach(function (radio) {
      var target = radio.dataset.reveal ? document.querySelector(radio.dataset.reveal) : null;
      if (target) { target.hidden = !radio.checked; }
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input[type=radio][data-reveal]")) {
      reveal();
      var box = event.target.dataset.reveal ? document.querySelector(event.target.dataset.reveal) : null;
      var first = box ? box.querySelector("input, textarea") : null;
      if (first) { first.focus(); }
    }
  });

  // -- filtering a list as one types (the service catalogue); Enter opens the first match ------
  function applyFilter(input) {
    var box = document.querySelector(input.dataset.filter);
    if (!box) { return; }
    var words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    var first = null;
    box.querySelectorAll("[data-filter-item]").forEach(function (item) {
      var text = (item.dataset.filterText || item.textContent).toLowerCase();
      var shown = words.every(function (w) { return text.indexOf(w) >= 0; });
      item.hidden = !shown;
      item.classList.remove("first-match");
      if (shown && !first) { first = item; }
    });
    box.querySelectorAll("[data-filter-group]").forEach(function (group) {
      group.hidden = !group.querySelector("[data-filter-item]:not([hidden])");
    });
    if (first && words.length) { first.classList.add("first-match"); }
    return first;
  }
  document.addEventListener("input", function (event) {
    if (event.target.dataset && event.target.dataset.filter) { applyFilter(event.target); }
  });
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.key === "Enter" && input.dataset && input.dataset.filter) {
      var first = applyFilter(input);
      var link = first ? first.querySelector("a") : null;
      if (link) { event.preventDefault(); window.location.href = link.href; }
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    reveal();
    var auto = document.querySelector("[data-autofocus]");
    if (auto) { auto.focus(); }
    var firstRow = rows()[0];
    if (firstRow && !document.querySelector("[autofocus]")) { selectRow(firstRow); }
  });
})();
