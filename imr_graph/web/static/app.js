// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // "/" focuses the search box (unless the user is typing in a field).
  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var box = document.getElementById("request") || document.getElementById("q");
    if (box) { e.preventDefault(); box.focus(); box.select(); }
  });
  // A "copy" button beside each citation line.
  function addCopyButtons(root) {
    root.querySelectorAll(".citation").forEach(function (p) {
      if (p.querySelector("button.copy")) return;
      var text = p.querySelector(".cite-text");
      if (!text || !navigator.clipboard) return;
      var b = document.createElement("button");
      b.type = "button"; b.className = "copy"; b.textContent = "Copy citation";
      b.addEventListener("click", function () {
        navigator.clipboard.writeText(text.textContent.trim()).then(function () {
          b.textContent = "Copied";
          setTimeout(function () { b.textContent = "Copy citation"; }, 1500);
        });
      });
      p.appendChild(b);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { addCopyButtons(document); });
  document.addEventListener("htmx:afterSettle", function () { addCopyButtons(document); });
})();
