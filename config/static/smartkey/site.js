// What the templates did in inline event handlers (onchange, onclick), which the
// Content-Security-Policy refuses: it runs scripts from this site's files only.
"use strict";

// the language switch: choosing a language submits its form
for (const select of document.querySelectorAll("select[data-submit-on-change]")) {
  select.addEventListener("change", () => select.form.submit());
}

// the invoice document's print button
for (const button of document.querySelectorAll("button[data-print]")) {
  button.addEventListener("click", () => window.print());
}
