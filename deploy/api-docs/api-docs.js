// The API documentation page (/api/docs/, served by Nginx): Swagger UI
// showing the app's own description.  A file of its own, not an inline
// script: the Content-Security-Policy allows scripts from 'self' only.
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // Every route is a GET without credentials: "Try it out" works as is.
    supportedSubmitMethods: ["get", "head"],
  });
});
