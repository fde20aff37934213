// Starts the GOV.UK Frontend components (menus, error summaries, ...) once the page has loaded.
// Every page works without this file: it only adds progressive enhancement.
import { initAll } from "./govuk-frontend.min.js";

initAll();
