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
});
// HTMX requests carry the CSRF token from the page's forms.
document.addEventListener("htmx:configRequest", function (event) {
  var token = document.querySelector("input[name=csrf_token]");
  if (token) { event.detail.headers["X-CSRF-Token"] = token.value; }
});
