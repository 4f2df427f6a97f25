// Starts Swagger UI on /docs/try against this service's own /openapi.json.
// A file of its own, not an inline script: the page's Content-Security-Policy
// allows scripts from this origin only ('self'), never inline ones.
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  // Swagger UI would otherwise send the document to an online validator.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
