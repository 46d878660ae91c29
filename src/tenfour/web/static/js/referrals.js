// Referral form: a character counter under the free-text box. The form works without it.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-counter-for]").forEach(function (counter) {
    var box = document.getElementById(counter.getAttribute("data-counter-for"));
    if (!box) { return; }
    var max = parseInt(box.getAttribute("maxlength"), 10) || 0;
    function update() { counter.textContent = box.value.length + " of " + max + " characters"; }
    box.addEventListener("input", update);
    update();
  });
});
