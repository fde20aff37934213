// Loaded as the first thing in <body> (not inline, so the Content Security Policy
// can forbid inline script): tells the GOV.UK Frontend styles that JavaScript runs.
document.body.className +=
  " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
