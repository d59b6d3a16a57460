// Plain SVG charts, no library: a line per series over time buckets, with axes and a legend.
"use strict";

import { el } from "./core.js";

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#1f6feb", "#d97706", "#1a7f37", "#cf222e", "#8250df", "#0a7ea4", "#bf3989", "#57606a"];

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

const TICKS = 4;

/** A whole-number step so that TICKS steps reach at least `value`: 1, 2, 5, 10, 20, 50 ... */
function tickStep(value) {
  const rough = Math.max(1, value / TICKS);
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= rough) return step * magnitude;
  return 10 * magnitude;
}

/**
 * buckets: ordered bucket keys (ISO starts); series: [{name, counts: Map(bucket -> n)}];
 * label(bucket): the axis text. Returns a <figure> with the SVG and a legend.
 */
export function lineChart(buckets, series, label, { width = 1000, height = 240, emptyText = "" } = {}) {
  const pad = { left: 44, right: 40, top: 10, bottom: 34 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const step = tickStep(Math.max(0, ...series.flatMap((s) => buckets.map((b) => s.counts.get(b) || 0))));
  const max = step * TICKS;
  const x = (i) => pad.left + (buckets.length <= 1 ? plotW / 2 : (i * plotW) / (buckets.length - 1));
  const y = (v) => pad.top + plotH - (v / max) * plotH;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img" });
  for (let i = 0; i <= TICKS; i += 1) {
    const value = step * i;
    chart.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value), class: "grid-line" }));
    chart.append(svg("text", { x: pad.left - 6, y: y(value) + 4, "text-anchor": "end", class: "axis" }, value));
  }
  const every = Math.max(1, Math.ceil(buckets.length / 8));
  buckets.forEach((bucket, i) => {
    if (i % every === 0) chart.append(svg("text", { x: x(i), y: height - 12, "text-anchor": "middle", class: "axis" }, label(bucket)));
  });
  series.forEach((s, index) => {
    const colour = PALETTE[index % PALETTE.length];
    const points = buckets.map((b, i) => `${x(i).toFixed(1)},${y(s.counts.get(b) || 0).toFixed(1)}`).join(" ");
    chart.append(svg("polyline", { points, fill: "none", stroke: colour, "stroke-width": 2, "data-series": s.name }));
    buckets.forEach((b, i) => {
      const n = s.counts.get(b) || 0;
      if (n) chart.append(svg("circle", { cx: x(i), cy: y(n), r: 2.5, fill: colour }, svg("title", {}, `${s.name} ${label(b)}: ${n}`)));
    });
  });
  if (!series.length && emptyText) chart.append(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "axis" }, emptyText));
  const legend = el("ul", { class: "legend" }, ...series.map((s, index) => {
    const swatch = el("span", { class: "swatch" });
    swatch.style.background = PALETTE[index % PALETTE.length];
    return el("li", {}, swatch, s.name);
  }));
  return el("figure", { class: "chart-figure" }, chart, legend);
}

/** A small horizontal bar for a share in [0, 1], shown beside its figure in a table cell. */
export function shareBar(share) {
  const bar = el("span", { class: "bar" });
  const fill = el("span", { class: "bar-fill" });
  fill.style.width = `${Math.round(Math.max(0, Math.min(1, share || 0)) * 100)}%`;
  bar.append(fill);
  return bar;
}
