// Dashboard: events over time per site or camera, camera read figures, busiest and repeat plates,
// devices needing attention. Every figure is one aggregate query on the server.
"use strict";

import { lineChart, shareBar } from "./charts.js";
import { $, api, apiJson, attentionText, download, el, fmtTime, number, percent, t } from "./core.js";
import { loadPlaces } from "./search.js";

const WINDOWS = { "24h": [24 * 3600e3, "hour"], "7d": [7 * 24 * 3600e3, "hour"], "30d": [30 * 24 * 3600e3, "day"] };

function bucketStarts(since, until, bucket) {
  const step = bucket === "hour" ? 3600e3 : 24 * 3600e3;
  const first = Math.floor(since.getTime() / step) * step;
  const out = [];
  for (let at = first; at < until.getTime(); at += step) out.push(new Date(at).toISOString());
  return out;
}

function bucketKey(iso) { return new Date(iso).toISOString(); }

function seriesName(point, split) {
  if (split === "camera") return `${point.device_id} / ${point.channel_id}`;
  if (split === "site") return point.site_id;
  return t("dash.split_total");
}

async function load() {
  $("#dash-error").textContent = "";
  const [span, bucket] = WINDOWS[$("#dash-window").value];
  const until = new Date();
  const since = new Date(until.getTime() - span);
  const split = $("#dash-split").value;
  const params = new URLSearchParams({ since: since.toISOString(), until: until.toISOString() });
  if ($("#dash-site").value) params.set("site", $("#dash-site").value);
  const repeatMin = Math.max(2, Number($("#dash-repeat").value) || 2);
  try {
    const [timeline, cameras, busiest, repeats, devices] = await Promise.all([
      apiJson(`/api/v1/stats/timeline?${params}&bucket=${bucket}&group_by=${split}`),
      apiJson(`/api/v1/stats/cameras?${params}`),
      apiJson(`/api/v1/stats/plates?${params}&limit=10`),
      apiJson(`/api/v1/stats/plates?${params}&limit=10&min_events=${repeatMin}`),
      apiJson("/api/v1/devices"),
    ]);
    drawTimeline(timeline, bucketStarts(since, until, bucket), bucket, split);
    fillCameras(cameras);
    fillPlates("#dash-busiest", busiest, (p) => [number(p.events), number(p.sites), fmtTime(p.last_seen)]);
    fillPlates("#dash-repeats", repeats, (p) => [number(p.events), fmtTime(p.first_seen), fmtTime(p.last_seen)]);
    fillAttention(devices);
  } catch (error) {
    $("#dash-error").textContent = error.message;
  }
}

function drawTimeline(points, buckets, bucket, split) {
  const bySeries = new Map();
  for (const point of points) {
    const name = seriesName(point, split);
    if (!bySeries.has(name)) bySeries.set(name, new Map());
    const counts = bySeries.get(name);
    const key = bucketKey(point.start);
    counts.set(key, (counts.get(key) || 0) + point.events);
  }
  const series = [...bySeries].map(([name, counts]) => ({ name, counts }));
  const label = (iso) => (bucket === "hour" ? fmtTime(iso).slice(5, 13) + ":00" : fmtTime(iso).slice(5, 10));
  const total = points.reduce((sum, p) => sum + p.events, 0);
  const chart = lineChart(buckets, series, label, { emptyText: t("dash.no_events") });
  chart.dataset.total = String(total);
  $("#dash-chart").replaceChildren(chart);
}

function fillCameras(rows) {
  const tbody = $("#dash-cameras tbody");
  tbody.replaceChildren(...rows.map((r) => el("tr", { "data-camera": `${r.device_id}/${r.channel_id}` },
    el("td", {}, `${r.site_id} / ${r.device_id} / ${r.channel_id}`),
    el("td", {}, number(r.events)),
    el("td", {}, number(r.events_per_hour, 1)),
    el("td", {}, shareBar(r.mean_confidence), number(r.mean_confidence, 2)),
    el("td", {}, percent(r.low_confidence_share)),
    el("td", {}, shareBar(r.valid_share), percent(r.valid_share)),
    el("td", {}, fmtTime(r.last_event_at)))));
  if (!rows.length) tbody.append(el("tr", {}, el("td", { colSpan: 7 }, t("dash.no_events"))));
}

function fillPlates(selector, rows, cells) {
  const tbody = $(`${selector} tbody`);
  tbody.replaceChildren(...rows.map((p) => {
    const link = el("a", { href: "#search", class: "plate" }, p.plate_text);
    link.addEventListener("click", () => { $("#plate").value = p.plate_norm; $("#match").value = "exact"; });
    return el("tr", { "data-plate": p.plate_norm }, el("td", {}, link), ...cells(p).map((c) => el("td", {}, c)));
  }));
  if (!rows.length) tbody.append(el("tr", {}, el("td", { colSpan: 4 }, t("dash.no_plates"))));
}

function fillAttention(devices) {
  const needing = devices.filter((d) => d.health.attention.length);
  const list = $("#dash-attention");
  list.replaceChildren(...needing.map((d) => el("li", { "data-device-id": d.device_id },
    el("a", { href: `#device/${encodeURIComponent(d.device_id)}` }, `${d.site_id} / ${d.device_id}`),
    el("span", { class: `state state-${d.health.state}` }, t(`state.${d.health.state}`)),
    el("span", { class: "muted" }, attentionText(d.health.attention.filter((r) => r.code !== d.health.state))))));
  if (!needing.length) list.append(el("li", { class: "ok-note" }, t("dash.all_fine")));
}

export async function open() {
  await loadPlaces($("#dash-site"), null);
  await load();
}

$("#dash-form").addEventListener("change", load);
$("#dash-form").addEventListener("submit", (event) => { event.preventDefault(); load(); });
$("#dash-geojson").addEventListener("click", async (event) => {
  event.preventDefault();
  try {
    download(await (await api("/api/v1/geo/cameras.geojson")).blob(), "anpr-cameras.geojson");
  } catch (error) {
    $("#dash-error").textContent = error.message;
  }
});
