// Builds the front-end assets SafeStats serves into safestats/web/static/web/dist/:
// our Sass (with GOV.UK Frontend compiled in), GOV.UK Frontend's JavaScript and our own.
// Run by `make install` (npm run build). The output is not committed; the wheel carries it.
import { copyFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
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
for (const file of ["application.mjs", "js-enabled.js", "favicon.svg"]) {
  copyFileSync(join(root, "frontend", file), join(out, file));
}
console.log(`built front-end assets in ${out}`);
