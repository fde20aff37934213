// Builds the front-end assets SafeStats serves into safestats/web/static/web/dist/:
// our Sass (with GOV.UK Frontend compiled in), GOV.UK Frontend's JavaScript and our own,
// and for the query pages htmx and Plotly (cartesian charts), served from here: no CDN.
// Run by `make install` (npm run build). The output is not committed; the wheel carries it.
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runInNewContext } from "node:vm";
import * as sass from "sass";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "safestats", "web", "static", "web", "dist");
const govuk = join(root, "node_modules", "govuk-frontend", "dist", "govuk");

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const css = sass.compile(join(root, "frontend", "application.scss"), {
  loadPaths: [join(root, "node_modules")],
  style: "compressed",
  quietDeps: true,
  silenceDeprecations: ["import"],
});
writeFileSync(join(out, "application.css"), css.css);

// The compiled CSS refers to GOV.UK Frontend images (e.g. the crest in its header styles).
cpSync(join(govuk, "assets", "images"), join(out, "images"), { recursive: true });
copyFileSync(join(govuk, "govuk-frontend.min.js"), join(out, "govuk-frontend.min.js"));
for (const file of ["application.mjs", "js-enabled.js", "favicon.svg", "query.mjs"]) {
  copyFileSync(join(root, "frontend", file), join(out, file));
}

// The query pages: htmx swaps the results in without a reload; Plotly draws the charts.
copyFileSync(join(root, "node_modules", "htmx.org", "dist", "htmx.min.js"), join(out, "htmx.min.js"));
const plotly = join(root, "node_modules", "plotly.js-cartesian-dist-min", "plotly-cartesian.min.js");
copyFileSync(plotly, join(out, "plotly-cartesian.min.js"));
writeFileSync(join(out, "plotly.css"), plotlyRules(readFileSync(plotly, "utf8")));

// Plotly adds its own style rules as an inline <style> element, which the Content Security
// Policy forbids. The same rules, as a file: the page links it with id "plotly.js-style-global"
// and class "no-inline-styles", which tells Plotly not to add them. Read from the bundle so
// they always match its version; the build fails if they cannot be found.
function plotlyRules(bundle) {
  const start = bundle.indexOf('{"X,X div"');
  if (start < 0) throw new Error("Plotly's style rules were not found in its bundle");
  let depth = 0;
  let end = start;
  for (; end < bundle.length; end++) {
    if (bundle[end] === "{") depth++;
    else if (bundle[end] === "}" && --depth === 0) break;
  }
  // An object literal of string literals (not JSON: some strings are single-quoted).
  const rules = runInNewContext(`(${bundle.slice(start, end + 1)})`, {});
  let css = "/* Plotly.js style rules (MIT licence), extracted from its bundle at build time. */\n";
  for (const [selector, rule] of Object.entries(rules)) {
    const full = selector
      .replace(/^,/, " ,")
      .replace(/X/g, ".js-plotly-plot .plotly")
      .replace(/Y/g, ".plotly-notifier");
    css += `${full}{${rule}}\n`;
  }
  return css;
}
console.log(`built front-end assets in ${out}`);
