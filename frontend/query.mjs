// The query pages' progressive enhancement. Every page works without JavaScript: the
// builder is a GET form and its results come with the page. With JavaScript, htmx (loaded
// before this file) swaps the results in without reloading the page, and Plotly draws each
// chart from the JSON in its <script type="application/json"> element. Suppressed cells are
// null there, so they are gaps in the chart, never numbers.
import { initAll } from "./govuk-frontend.min.js";

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif';
// GOV.UK colours, in an order that keeps neighbouring series apart.
const COLOURS = [
  "#1d70b8", "#d4351c", "#00703c", "#f47738", "#4c2c92", "#505a5f",
  "#912b88", "#28a197", "#b58840", "#003078", "#85994b", "#d53880",
];

function figure(data) {
  const layout = {
    font: { family: FONT, size: 14, color: "#0b0c0c" },
    margin: { l: 64, r: 24, t: 16, b: 64 },
    paper_bgcolor: "#ffffff",
    plot_bgcolor: "#ffffff",
    xaxis: { title: { text: data.x_title }, automargin: true, type: "category" },
    yaxis: { title: { text: data.value_title }, automargin: true, rangemode: "tozero" },
  };
  if (data.kind === "heatmap") {
    layout.plot_bgcolor = "#b1b4b6"; // suppressed cells (gaps) show as grey
    layout.yaxis = { title: { text: data.y_title }, automargin: true, autorange: "reversed", type: "category" };
    const trace = {
      type: "heatmap",
      x: data.x,
      y: data.y,
      z: data.z,
      hoverongaps: false,
      zmin: 0, // counts: the lightest shade is zero, even when every cell is zero
      zmax: Math.max(1, ...data.z.flat().filter((value) => value !== null)),
      colorscale: [[0, "#f3f8fc"], [1, "#003078"]],
      colorbar: { title: { text: data.value_title } },
    };
    return { traces: [trace], layout };
  }
  const traces = data.series.map((series, index) => {
    const colour = COLOURS[index % COLOURS.length];
    return data.kind === "line"
      ? { type: "scatter", mode: "lines+markers", name: series.name, x: data.x, y: series.values,
          connectgaps: false, line: { color: colour }, marker: { color: colour } }
      : { type: "bar", name: series.name, x: data.x, y: series.values, marker: { color: colour } };
  });
  layout.showlegend = traces.length > 1;
  layout.legend = { orientation: "h", y: -0.3 };
  if (data.kind === "bar") layout.barmode = "group";
  return { traces, layout };
}

function draw(scope) {
  if (!scope || !window.Plotly) return;
  for (const holder of scope.querySelectorAll("[data-chart]")) {
    const source = document.getElementById(holder.dataset.chart);
    if (!source) continue;
    const { traces, layout } = figure(JSON.parse(source.textContent));
    window.Plotly.newPlot(holder, traces, layout, { displayModeBar: false, responsive: true })
      .then(() => holder.classList.add("safestats-chart--drawn"))
      .catch((error) => console.error("The chart could not be drawn:", error));
  }
}

draw(document);

document.body.addEventListener("htmx:afterSettle", (event) => {
  const results = document.getElementById("results");
  const main = document.getElementById("main-content");
  const target = event.detail && event.detail.target;
  if (target && target.id === "main-content") {
    // The form came back with problems: the error summary takes the focus.
    initAll({ scope: main });
    draw(main);
    return;
  }
  if (!results) return;
  initAll({ scope: results });
  draw(results);
  const heading = document.getElementById("results-heading");
  if (heading) heading.focus();
});

// If the results cannot be swapped in (a refusal, an error), load the page in full, so
// that what the service said is shown as it would be without JavaScript.
for (const name of ["htmx:responseError", "htmx:sendError"]) {
  document.body.addEventListener(name, (event) => {
    const form = event.detail && event.detail.elt && event.detail.elt.closest("form");
    if (form) form.submit();
  });
}
