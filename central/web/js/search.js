// Search: filters with site and camera pick-lists, result count, detail panel, auto-refresh, export.
"use strict";

import {
  $, api, apiJson, cropImage, download, el, fillSelect, fmtTime, number, releaseImages, t, wallTimeToIso,
} from "./core.js";

const AUTO_REFRESH_MS = 10_000;
const page = { cursor: null, query: "", timer: null, cameras: [] };

export async function loadPlaces(siteSelect, cameraSelect) {
  const [sites, cameras] = await Promise.all([apiJson("/api/v1/sites"), apiJson("/api/v1/cameras")]);
  fillSelect(siteSelect, sites.map((s) => [s.site_id, s.site_id]), t("filter.any_site"));
  page.cameras = cameras;
  if (cameraSelect) fillCameras(siteSelect, cameraSelect);
}

function fillCameras(siteSelect, cameraSelect) {
  const site = siteSelect.value;
  const cameras = page.cameras.filter((c) => !site || c.site_id === site);
  fillSelect(cameraSelect, cameras.map((c) => [`${c.device_id}/${c.channel_id}`, `${c.device_id} / ${c.channel_id}`]), t("filter.any_camera"));
}

export function searchParams() {
  const params = new URLSearchParams();
  const plate = $("#plate").value.trim();
  if (plate) { params.set("plate", plate); params.set("match", $("#match").value); }
  if ($("#f-site").value) params.set("site", $("#f-site").value);
  if ($("#f-camera").value) {
    const [device, channel] = $("#f-camera").value.split("/");
    params.set("device", device);
    params.set("channel", channel);
  }
  const country = $("#f-country").value.trim().toUpperCase();
  if (country) params.set("country", country);
  for (const [name, selector] of [["since", "#f-since"], ["until", "#f-until"]]) {
    const value = $(selector).value;
    if (value) params.set(name, wallTimeToIso(value));
  }
  return params;
}

async function run(append) {
  $("#search-error").textContent = "";
  const params = new URLSearchParams(page.query);
  if (append && page.cursor) params.set("cursor", page.cursor);
  else params.set("count", "true");
  try {
    const result = await apiJson(`/api/v1/events?${params}`);
    const rows = await Promise.all(result.events.map(resultRow));
    const tbody = $("#results tbody");
    if (!append) { releaseImages(); tbody.replaceChildren(); }
    tbody.append(...rows);
    page.cursor = result.next_cursor;
    $("#more").hidden = !result.next_cursor;
    if (!append) {
      if (result.events.length === 0) tbody.append(el("tr", {}, el("td", { colSpan: 6 }, t("search.none"))));
      const total = result.total_capped ? `${number(result.total)}+` : number(result.total);
      $("#result-count").textContent = t("search.count", { total });
      $("#result-count").dataset.total = String(result.total);
    }
  } catch (error) {
    $("#search-error").textContent = error.message;
  }
}

async function resultRow(ev) {
  const row = el("tr", { "data-event-id": ev.event_id },
    el("td", {}, await cropImage(ev.crop_url, ev.plate_text)),
    el("td", { class: "plate" }, ev.plate_text),
    el("td", {}, fmtTime(ev.captured_at)),
    el("td", {}, `${ev.site_id} / ${ev.device_id} / ${ev.channel_id}`),
    el("td", {}, ev.country || "—"),
    el("td", {}, number(ev.confidence, 2)));
  row.addEventListener("click", () => showDetail(ev.event_id));
  return row;
}

export async function showDetail(eventId) {
  const panel = $("#detail");
  try {
    const ev = await apiJson(`/api/v1/events/${encodeURIComponent(eventId)}`);
    const fields = [
      ["detail.plate", ev.plate_text], ["detail.latin", ev.plate_latin], ["col.country", ev.country || "—"],
      ["detail.region", ev.region || "—"], ["detail.format", ev.plate_format || "—"],
      ["detail.captured", fmtTime(ev.captured_at)], ["col.first_seen", fmtTime(ev.first_seen)],
      ["col.last_seen", fmtTime(ev.last_seen)], ["col.site", ev.site_id], ["col.device", ev.device_id],
      ["col.channel", ev.channel_id], ["col.confidence", number(ev.confidence, 3)],
      ["detail.frames", String(ev.frames)], ["detail.box", ev.box.join(", ")],
      ["detail.models", `${ev.detector_model} / ${ev.reader_model}`], ["detail.event_id", ev.event_id],
    ];
    const list = el("dl");
    for (const [key, value] of fields) list.append(el("dt", {}, t(key)), el("dd", {}, value));
    panel.replaceChildren(el("h2", { class: "plate" }, ev.plate_text), await cropImage(ev.crop_url, ev.plate_text), list);
    panel.hidden = false;
  } catch (error) {
    $("#search-error").textContent = error.message;
  }
}

async function exportAs(kind) {
  $("#search-error").textContent = "";
  try {
    const response = await api(`/api/v1/events/export.${kind}?${searchParams()}`);
    download(await response.blob(), `anpr-events.${kind}`);
  } catch (error) {
    $("#search-error").textContent = error.message;
  }
}

function submit() {
  page.query = searchParams().toString();
  page.cursor = null;
  $("#detail").hidden = true;
  return run(false);
}

function setAutoRefresh() {
  clearInterval(page.timer);
  page.timer = $("#auto-refresh").checked ? setInterval(() => { if (!document.hidden) run(false); }, AUTO_REFRESH_MS) : null;
}

export async function open() {
  await loadPlaces($("#f-site"), $("#f-camera"));
  await submit(); // the newest events show as soon as the page opens, no button press needed
  setAutoRefresh();
}

export function close() { clearInterval(page.timer); page.timer = null; }

$("#search-form").addEventListener("submit", (event) => { event.preventDefault(); submit(); });
$("#more").addEventListener("click", () => run(true));
$("#f-site").addEventListener("change", () => fillCameras($("#f-site"), $("#f-camera")));
$("#auto-refresh").addEventListener("change", setAutoRefresh);
$("#export-csv").addEventListener("click", () => exportAs("csv"));
$("#export-zip").addEventListener("click", () => exportAs("zip"));
