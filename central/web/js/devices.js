// Devices: health per box and channel, and a detail page with the config the box reports (an editor
// for operators, js/config_editor.js) and the pushes central made to it.
"use strict";

import { configCard, historyCard } from "./config_editor.js";
import { $, apiJson, attentionText, bytes, el, fmtTime, number, t } from "./core.js";

function stateBadge(health) {
  return el("span", { class: `state state-${health.state}` }, t(`state.${health.state}`));
}

function diskFree(health) {
  if (health.disk_free_bytes === null || !health.disk_total_bytes) return "—";
  return `${bytes(health.disk_free_bytes)} (${number((100 * health.disk_free_bytes) / health.disk_total_bytes)} %)`;
}

export async function open() {
  const devices = await apiJson("/api/v1/devices");
  const tbody = $("#devices-table tbody");
  tbody.replaceChildren(...devices.map((d) => {
    const link = el("a", { href: `#device/${encodeURIComponent(d.device_id)}` }, d.device_id);
    const channels = d.channel_health.map((c) => `${c.channel_id}${c.fps === null ? "" : ` ${number(c.fps, 1)} ${t("device.fps")}`}`).join(", ");
    return el("tr", { "data-device-id": d.device_id, "data-state": d.health.state },
      el("td", {}, link), el("td", {}, d.site_id), el("td", {}, stateBadge(d.health)), el("td", {}, fmtTime(d.last_seen)),
      el("td", {}, d.health.agent_version || "—"), el("td", {}, number(d.health.outbox_pending)),
      el("td", {}, diskFree(d.health)), el("td", {}, channels || "—"),
      el("td", { class: "attention" }, attentionText(d.health.attention)));
  }));
  if (!devices.length) tbody.append(el("tr", {}, el("td", { colSpan: 9 }, t("devices.none"))));
}

function uptime(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 3600) return t("device.minutes", { n: number(seconds / 60) });
  if (seconds < 2 * 86400) return t("device.hours", { n: number(seconds / 3600, 1) });
  return t("device.days", { n: number(seconds / 86400, 1) });
}

function facts(pairs) {
  const list = el("dl", { class: "facts" });
  for (const [key, value] of pairs) list.append(el("dt", {}, t(key)), el("dd", {}, value));
  return list;
}

async function openDetail([deviceId], notice = null) {
  const root = $("#device-detail");
  root.replaceChildren(el("p", { class: "muted" }, "…"));
  const [device, config] = await Promise.all([
    apiJson(`/api/v1/devices/${encodeURIComponent(deviceId)}`),
    apiJson(`/api/v1/devices/${encodeURIComponent(deviceId)}/config`),
  ]);
  const h = device.health;
  const models = Object.entries(h.models).map(([name, version]) => `${name} ${version}`).join(", ");
  const summary = el("div", { class: "card" }, el("h2", {}, `${device.site_id} / ${device.device_id} `, stateBadge(h)),
    facts([
      ["col.last_seen", fmtTime(device.last_seen)], ["col.last_event", fmtTime(device.last_event_at)],
      ["col.version", h.agent_version || "—"], ["device.models", models || "—"],
      ["device.uptime", uptime(h.uptime_s)],
      ["col.outbox", number(h.outbox_pending)], ["col.disk", diskFree(h)],
      ["device.stats_at", fmtTime(h.stats_at)], ["device.config_running", device.config_version ? `v${device.config_version}` : "—"],
      ["device.certificate", h.certificate_expires_at ? fmtTime(h.certificate_expires_at) : t("device.unknown")],
      ["col.attention", attentionText(h.attention) || t("device.fine")],
    ]));
  const channelRows = device.channel_health.map((c) => el("tr", { "data-channel-id": c.channel_id },
    el("td", {}, c.channel_id),
    el("td", {}, c.delivering === null ? "—" : t(c.delivering ? "device.delivering" : "device.no_frames")),
    el("td", {}, number(c.fps, 1)), el("td", {}, number(c.frames)), el("td", {}, number(c.dropped)),
    el("td", {}, number(c.events)), el("td", {}, fmtTime(c.last_event_at))));
  const channels = el("div", { class: "card" }, el("h2", {}, t("col.channels")),
    el("table", { id: "device-channels" },
      el("thead", {}, el("tr", {}, ...["col.channel", "col.state", "device.fps", "device.frames", "device.dropped", "col.events", "col.last_event"]
        .map((key) => el("th", {}, t(key))))),
      el("tbody", {}, ...channelRows)));
  root.replaceChildren(summary, channels, configCard(deviceId, config.effective, (message) => openDetail([deviceId], message)),
    historyCard(config.history));
  if (notice) {
    const status = $("#config-status");
    if (status) { status.className = "ok-note"; status.textContent = notice; }
  }
}

export const detailView = { open: openDetail };
