// Live feed: events as they arrive over a WebSocket, with their crops.
"use strict";

import { $, apiJson, cropImage, el, fillSelect, fmtTime, number, state, t } from "./core.js";
import { showDetail } from "./search.js";

const MAX_ITEMS = 200;
let socket = null;

function setState(key, detail) {
  $("#live-state").dataset.state = key;
  $("#live-state").textContent = detail || t(`live.${key}`);
}

function follow() {
  if (socket) socket.close();
  const params = new URLSearchParams();
  if ($("#live-site").value) params.set("site", $("#live-site").value);
  if ($("#live-plate").value.trim()) params.set("plate", $("#live-plate").value.trim());
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  // The token goes in the first message, not the URL, so it stays out of access logs.
  const ws = new WebSocket(`${scheme}://${location.host}/ws/events?${params}`);
  socket = ws;
  ws.addEventListener("open", () => ws.send(JSON.stringify({ token: state.token })));
  ws.addEventListener("message", (message) => {
    const data = JSON.parse(message.data);
    if (data.type === "ready") setState("following");
    else if (data.type === "error") setState("error", data.detail);
    else if (data.type === "event") addLive(data.event);
  });
  ws.addEventListener("close", () => { if (socket === ws) setState("disconnected"); });
}

async function addLive(ev) {
  const item = el("li", { "data-event-id": ev.event_id },
    await cropImage(ev.crop_url, ev.plate_text),
    el("span", { class: "plate" }, ev.plate_text), el("span", {}, fmtTime(ev.captured_at)),
    el("span", {}, `${ev.site_id} / ${ev.device_id} / ${ev.channel_id}`), el("span", {}, number(ev.confidence, 2)));
  item.addEventListener("click", () => { location.hash = "search"; showDetail(ev.event_id); });
  const list = $("#live-list");
  list.prepend(item);
  while (list.children.length > MAX_ITEMS) list.lastChild.remove();
}

export async function open() {
  const sites = await apiJson("/api/v1/sites");
  fillSelect($("#live-site"), sites.map((s) => [s.site_id, s.site_id]), t("filter.any_site"));
  if (!socket) setState("idle");
}

export function close() {
  if (socket) { const ws = socket; socket = null; ws.close(); }
}

$("#live-form").addEventListener("submit", (event) => { event.preventDefault(); follow(); });
