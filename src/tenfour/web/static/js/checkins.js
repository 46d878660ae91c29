// Check-in form: progress, the C-SSRS shown only when PHQ-9 question 9 is above 0, its skip logic, and answers kept
// in this tab (sessionStorage, never sent elsewhere) so a call-out mid check-in loses nothing. Works without it.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-clear-checkin]").forEach(function (el) {
    try { sessionStorage.removeItem("tenfour:checkin:" + el.getAttribute("data-clear-checkin")); } catch (e) { /* off */ }
  });
  var form = document.querySelector("form[data-checkin-form]");
  if (!form) { return; }
  var key = "tenfour:checkin:" + form.getAttribute("data-checkin-form");
  var section = form.querySelector("[data-cssrs-section]");
  var hint = form.querySelector("[data-nojs-hint]");
  if (hint) { hint.hidden = true; }
  var items = Array.prototype.slice.call(form.querySelectorAll("fieldset[data-item]"));
  if (!form.querySelector("input[type=radio]:checked")) {
    try {
      var saved = JSON.parse(sessionStorage.getItem(key) || "{}");
      Object.keys(saved).forEach(function (name) {
        var input = form.querySelector('input[type=radio][name="' + name + '"][value="' + saved[name] + '"]');
        if (input) { input.checked = true; }
      });
    } catch (e) { /* storage unavailable */ }
  }
  function value(name) {
    var checked = form.querySelector('input[type=radio][name="' + name + '"]:checked');
    return checked ? checked.value : null;
  }
  function refresh() {
    var item9 = value("phq9-q9");
    var safety = item9 !== null && item9 !== "0";
    if (section) { section.hidden = !safety; }
    var answered = 0, asked = 0, saved = {};
    items.forEach(function (fieldset) {
      var name = fieldset.getAttribute("data-item");
      var show = true;
      if (fieldset.closest("[data-cssrs-section]")) { show = safety; }
      var rule = fieldset.getAttribute("data-asked-when");
      if (show && rule) {
        var parts = rule.split(":");
        show = value(parts[0]) === parts[1];
      }
      fieldset.hidden = !show;
      fieldset.querySelectorAll("input[type=radio]").forEach(function (input) {
        input.disabled = !show;
        if (!show) { input.checked = false; }
      });
      if (!show) { return; }
      asked += 1;
      var v = value(name);
      fieldset.classList.toggle("answered", v !== null);
      if (v !== null) { answered += 1; saved[name] = v; }
    });
    var counter = form.querySelector("[data-answered]");
    var of = form.querySelector("[data-of]");
    var bar = form.querySelector("[data-progress]");
    if (counter) { counter.textContent = answered; }
    if (of) { of.textContent = " of " + asked + " answered"; }
    if (bar) { bar.max = asked; bar.value = answered; }
    try { sessionStorage.setItem(key, JSON.stringify(saved)); } catch (e) { /* storage full or disabled */ }
  }
  form.addEventListener("change", refresh);
  refresh();
});
