// Small progressive enhancements; every page works without them.
document.addEventListener("DOMContentLoaded", function () {
  // A select marked data-autosubmit submits its form on change; the fallback button is hidden.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    var form = select.form;
    var button = form && form.querySelector(".js-hide");
    if (button) { button.hidden = true; }
    select.addEventListener("change", function () { if (form) { form.submit(); } });
  });
  // Move focus to the error summary so keyboard and screen-reader users hear what to fix.
  var summary = document.querySelector(".error-summary");
  if (summary) { summary.focus(); }

  // A result page clears the answers kept for its questionnaire.
  document.querySelectorAll("[data-clear-saved]").forEach(function (el) {
    try { sessionStorage.removeItem("tenfour:answers:" + el.getAttribute("data-clear-saved")); } catch (e) { /* private mode */ }
  });

  document.querySelectorAll("form[data-autosave]").forEach(setUpQuestionnaire);
});

// Questionnaires: progress, skip logic, and answers kept in this tab (sessionStorage, never sent elsewhere)
// so a reload or a dropped connection loses nothing. Cleared when the result page loads.
function setUpQuestionnaire(form) {
  var key = "tenfour:answers:" + form.getAttribute("data-autosave");
  var items = Array.prototype.slice.call(form.querySelectorAll("fieldset[data-item]"));
  var hasServerValues = form.querySelector("input[type=radio]:checked") !== null;
  if (!hasServerValues) {
    try {
      var saved = JSON.parse(sessionStorage.getItem(key) || "{}");
      Object.keys(saved).forEach(function (name) {
        var input = form.querySelector('input[type=radio][name="' + name + '"][value="' + saved[name] + '"]');
        if (input) { input.checked = true; }
      });
    } catch (e) { /* storage unavailable: nothing to restore */ }
  }
  function value(name) {
    var checked = form.querySelector('input[type=radio][name="' + name + '"]:checked');
    return checked ? checked.value : null;
  }
  function refresh() {
    var answered = 0, asked = 0, saved = {};
    items.forEach(function (fieldset) {
      var rule = fieldset.getAttribute("data-asked-when");
      var show = true;
      if (rule) {
        var parts = rule.split(":");
        var parent = form.querySelector('fieldset[data-item="' + parts[0] + '"]');
        show = !(parent && parent.hidden) && value(parts[0]) === parts[1];
      }
      fieldset.hidden = !show;
      fieldset.querySelectorAll("input[type=radio]").forEach(function (input) {
        input.disabled = !show;
        if (!show) { input.checked = false; }
      });
      if (!show) { return; }
      asked += 1;
      var v = value(fieldset.getAttribute("data-item"));
      fieldset.classList.toggle("answered", v !== null);
      if (v !== null) { answered += 1; saved[fieldset.getAttribute("data-item")] = v; }
    });
    var counter = form.querySelector("[data-answered]");
    var bar = form.querySelector("[data-progress]");
    if (counter) { counter.textContent = answered; counter.nextSibling.textContent = " of " + asked + " answered"; }
    if (bar) { bar.max = asked; bar.value = answered; }
    try { sessionStorage.setItem(key, JSON.stringify(saved)); } catch (e) { /* storage full or disabled */ }
  }
  form.addEventListener("change", refresh);
  refresh();
}

// HTMX requests carry the CSRF token from the page's forms.
document.addEventListener("htmx:configRequest", function (event) {
  var token = document.querySelector("input[name=csrf_token]");
  if (token) { event.detail.headers["X-CSRF-Token"] = token.value; }
});
