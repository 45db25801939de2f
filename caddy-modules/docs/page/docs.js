// Renders /api/v1/openapi.json with the vendored Swagger UI. It lives in a
// file of its own because the page's Content-Security-Policy allows no
// inline script.
"use strict";

window.ui = SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
  // The default sends the document to validator.swagger.io for a badge:
  // nothing leaves this origin.
  validatorUrl: null,
  displayRequestDuration: true,
  defaultModelsExpandDepth: 0,
});
