// Gate decisions reported by the boxes, newest first.
"use strict";

import { $, apiJson, el, fmtTime, number, t } from "./core.js";

function outputsText(d) {
  if (!d.outputs.length) return "—";
  return t(d.outputs_ok ? "dec.outputs_ok" : "dec.outputs_failed");
}

export async function open() {
  const decisions = await apiJson("/api/v1/decisions?limit=200");
  const tbody = $("#decisions-table tbody");
  tbody.replaceChildren(...decisions.map((d) => el("tr", { "data-decision-id": d.decision_id, class: d.alert ? "alert" : "" },
    el("td", {}, fmtTime(d.decided_at)), el("td", {}, d.site_id), el("td", {}, d.gate_id),
    el("td", { class: "plate" }, d.plate_text ?? t("dec.manual", { user: d.requested_by || "?" })),
    el("td", {}, el("span", { class: d.action === "open" ? "state state-online" : "state state-offline" }, d.action)),
    el("td", {}, d.rule), el("td", {}, d.matches.map((m) => m.list_name).join(", ") || "—"),
    el("td", {}, outputsText(d)),
    el("td", {}, d.latency_ms == null ? "—" : t("dec.ms", { n: number(d.latency_ms) })))));
  if (!decisions.length) tbody.append(el("tr", {}, el("td", { colSpan: 9 }, t("dec.none"))));
}
