// Watchlists and gate decisions views. Uses app.js's helpers ($, el, api, utc, state); data only via textContent.
"use strict";

let currentList = null;

function validityText(v) {
  const parts = [];
  if (v.valid_from || v.valid_until) parts.push(`${v.valid_from || "…"} – ${v.valid_until || "…"}`);
  if (v.weekdays && v.weekdays.length) parts.push(`days ${v.weekdays.join(",")}`);
  if (v.hours) parts.push(v.hours);
  return parts.join("; ") || "always";
}

function assignmentText(list) {
  return list.assignments.map((a) => (a.gate_id ? `${a.site_id}/${a.gate_id}` : a.site_id)).join(", ");
}

async function loadWatchlists() {
  const canEdit = state.role === "operator" || state.role === "admin";
  for (const form of document.querySelectorAll("#view-watchlists .operator-only")) form.hidden = !canEdit;
  const lists = await (await api("/api/v1/watchlists")).json();
  const tbody = $("#wl-table tbody");
  tbody.replaceChildren();
  for (const list of lists) {
    const row = el("tr", { "data-list-id": list.list_id }, el("td", {}, list.list_id), el("td", {}, list.name),
      el("td", { class: `kind-${list.kind}` }, list.kind), el("td", {}, String(list.entries)),
      el("td", {}, assignmentText(list) || "—"));
    row.addEventListener("click", () => showList(list.list_id).catch((e) => { $("#wl-error").textContent = e.message; }));
    tbody.append(row);
  }
  if (currentList) await showList(currentList);
}

async function showList(listId) {
  currentList = listId;
  const list = await (await api(`/api/v1/watchlists/${encodeURIComponent(listId)}`)).json();
  $("#wl-title").textContent = `${list.name} (${list.kind}, ${list.entries} entries)`;
  $("#wl-assignments").value = assignmentText(list);
  const canEdit = state.role === "operator" || state.role === "admin";
  const tbody = $("#wl-entries tbody");
  tbody.replaceChildren();
  for (const item of list.items) {
    const remove = el("button", { type: "button" }, "Remove");
    remove.hidden = !canEdit;
    remove.addEventListener("click", async () => {
      await api(`/api/v1/watchlists/${encodeURIComponent(listId)}/entries/${item.id}`, { method: "DELETE" });
      await loadWatchlists();
    });
    tbody.append(el("tr", { "data-plate": item.entry.plate }, el("td", { class: "plate" }, item.entry.plate),
      el("td", {}, item.entry.match), el("td", {}, validityText(item.entry.validity)), el("td", {}, item.entry.note),
      el("td", {}, remove)));
  }
  $("#wl-detail").hidden = false;
}

async function guarded(action) {
  $("#wl-error").textContent = "";
  try { await action(); await loadWatchlists(); } catch (e) { $("#wl-error").textContent = e.message; }
}

const jsonHeaders = { "Content-Type": "application/json" };

$("#wl-create").addEventListener("submit", (event) => {
  event.preventDefault();
  guarded(async () => {
    const body = { list_id: $("#wl-id").value.trim(), name: $("#wl-name").value.trim(), kind: $("#wl-kind").value };
    await api("/api/v1/watchlists", { method: "POST", headers: jsonHeaders, body: JSON.stringify(body) });
    currentList = body.list_id;
  });
});

$("#wl-add").addEventListener("submit", (event) => {
  event.preventDefault();
  guarded(async () => {
    const body = { plate: $("#wl-plate").value, match: $("#wl-match").value, note: $("#wl-note").value };
    await api(`/api/v1/watchlists/${encodeURIComponent(currentList)}/entries`, { method: "POST", headers: jsonHeaders, body: JSON.stringify(body) });
    $("#wl-plate").value = "";
    $("#wl-note").value = "";
  });
});

$("#wl-assign").addEventListener("submit", (event) => {
  event.preventDefault();
  guarded(async () => {
    const body = $("#wl-assignments").value.split(",").map((s) => s.trim()).filter(Boolean).map((s) => {
      const [site, gate] = s.split("/");
      return gate ? { site_id: site, gate_id: gate } : { site_id: site };
    });
    await api(`/api/v1/watchlists/${encodeURIComponent(currentList)}/assignments`, { method: "PUT", headers: jsonHeaders, body: JSON.stringify(body) });
  });
});

$("#wl-import").addEventListener("submit", (event) => {
  event.preventDefault();
  guarded(async () => {
    const mode = $("#wl-mode").value;
    await api(`/api/v1/watchlists/${encodeURIComponent(currentList)}/entries.csv?mode=${mode}`,
      { method: "PUT", headers: { "Content-Type": "text/csv" }, body: $("#wl-csv").value });
    $("#wl-csv").value = "";
  });
});

$("#wl-export").addEventListener("click", () => guarded(async () => {
  const blob = await (await api(`/api/v1/watchlists/${encodeURIComponent(currentList)}/entries.csv`)).blob();
  const link = el("a", { href: URL.createObjectURL(blob), download: `${currentList}.csv` });
  link.click();
  URL.revokeObjectURL(link.href);
}));

async function loadDecisions() {
  const decisions = await (await api("/api/v1/decisions?limit=200")).json();
  const tbody = $("#decisions-table tbody");
  tbody.replaceChildren();
  for (const d of decisions) {
    const outputs = d.outputs.length ? (d.outputs_ok ? "ok" : "FAILED") : "—";
    const lists = d.matches.map((m) => m.list_name).join(", ") || "—";
    tbody.append(el("tr", { "data-decision-id": d.decision_id, class: d.alert ? "alert" : "" },
      el("td", {}, utc(d.decided_at)), el("td", {}, d.site_id), el("td", {}, d.gate_id),
      el("td", { class: "plate" }, d.plate_text ?? `manual (${d.requested_by || "?"})`),
      el("td", { class: d.action === "open" ? "online" : "offline" }, d.action),
      el("td", {}, d.rule), el("td", {}, lists), el("td", {}, outputs),
      el("td", {}, d.latency_ms == null ? "—" : `${Math.round(d.latency_ms)} ms`)));
  }
}
