// Chairside: the board refreshes itself every 30 s (times, vitals due, alerts) unless someone is typing in it;
// every page works without this script (the board has day links and each form posts normally).
(function () {
  "use strict";

  function boardIsIdle(board) {
    var active = document.activeElement;
    if (active && board.contains(active) && /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(active.tagName)) { return false; }
    var inputs = board.querySelectorAll("input[type=number], input[type=text]");
    for (var i = 0; i < inputs.length; i += 1) {
      if (inputs[i].value !== "") { return false; }
    }
    return true;
  }

  function startBoardRefresh() {
    var board = document.getElementById("board");
    if (!board || !board.getAttribute("data-refresh-url")) { return; }
    var url = board.getAttribute("data-refresh-url");
    var seconds = parseInt(board.getAttribute("data-refresh-seconds") || "30", 10);
    window.setInterval(function () {
      if (document.hidden || !boardIsIdle(board)) { return; }
      if (window.htmx) {
        window.htmx.ajax("GET", url, { target: "#board", swap: "innerHTML" });
      }
    }, seconds * 1000);
  }

  // A stop-level reading puts the focus on the form where the nurse records what was done.
  function focusFirstAction() {
    if (window.location.hash && window.location.hash.indexOf("#actions-") === 0) {
      var card = document.querySelector(window.location.hash + " input[type=checkbox]");
      if (card) { card.focus(); }
    }
  }

  // Buttons that end or abort something ask once more: a mis-tap at the chairside costs a patient's session.
  function confirmDangerous() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  }

  function printButtons() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    printButtons();
    startBoardRefresh();
    focusFirstAction();
    confirmDangerous();
  });
}());
