// The studio works without this script; it only adds conveniences:
// - the rule form is checked while it is written (problems, and conflicts with other rules),
// - destructive buttons ask for confirmation.
(function () {
  "use strict";

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });

  var form = document.querySelector("form.rule-form");
  var region = document.getElementById("live-check");
  if (!form || !region || form.querySelector("fieldset[disabled]")) return;
  var url = region.getAttribute("data-check-url");
  var timer = null;
  var sequence = 0;

  function check() {
    var mine = ++sequence;
    var body = new FormData(form);
    fetch(url, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null && mine === sequence) region.innerHTML = html;
      })
      .catch(function () { /* the Check button still works */ });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 500);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
