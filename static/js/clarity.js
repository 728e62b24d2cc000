/* Live completeness and clarity check for the challenge form.
 * Posts the unsaved form to the JSON endpoint named in #clarity-panel[data-url] while the officer
 * types, and redraws the panel. Without JavaScript the panel is still rendered on every save. */
(function () {
  "use strict";
  var panel = document.getElementById("clarity-panel");
  var form = document.getElementById("challenge-form");
  if (!panel || !form || !panel.dataset.url || !window.fetch || !window.FormData) {
    return;
  }
  var url = panel.dataset.url;
  var scoreEl = panel.querySelector('[data-clarity="score"]');
  var meterEl = panel.querySelector('[data-clarity="meter"]');
  var summaryEl = panel.querySelector('[data-clarity="summary"]');
  var listEl = panel.querySelector('[data-clarity="list"]');
  var timer = null;
  var latest = 0;

  function csrfToken() {
    var input = form.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  }

  function render(data) {
    scoreEl.textContent = String(data.score);
    meterEl.setAttribute("aria-valuenow", String(data.score));
    meterEl.firstElementChild.style.width = data.score + "%";
    summaryEl.textContent = data.summary;
    while (listEl.firstChild) {
      listEl.removeChild(listEl.firstChild);
    }
    data.findings.forEach(function (finding) {
      var item = document.createElement("li");
      item.className = "check-" + finding.level;
      item.dataset.field = finding.field;
      item.dataset.level = finding.level;
      var link = document.createElement("a");
      link.href = "#" + finding.field;
      link.textContent = finding.label;
      var message = document.createElement("span");
      message.textContent = finding.message;
      item.appendChild(link);
      item.appendChild(document.createTextNode("："));
      item.appendChild(message);
      listEl.appendChild(item);
    });
  }

  function check() {
    var request = ++latest;
    fetch(url, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && request === latest) {
          render(data);
        }
      })
      .catch(function () { /* the panel keeps its last state; saving re-checks */ });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 400);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
})();
