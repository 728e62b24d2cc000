// The interactive API documentation (/api/docs): Swagger UI, vendored in static/vendor/swagger-ui,
// rendering the app's own OpenAPI document. No inline script (the site's CSP has none), no
// request to any other origin (validatorUrl off), so it works inside LGWAN.
(function () {
  "use strict";
  function start() {
    var node = document.getElementById("swagger-ui");
    if (!node || typeof window.SwaggerUIBundle !== "function") {
      return;
    }
    window.SwaggerUIBundle({
      url: node.getAttribute("data-openapi-url"),
      domNode: node,
      deepLinking: true,
      validatorUrl: null,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      defaultModelsExpandDepth: 0,
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
