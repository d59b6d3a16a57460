// Watchlists: lists with their entries, CSV import and export, site/gate assignment.
// Operators and admins edit (the server enforces it); viewers see the lists without edit controls.
"use strict";

import { $, $$, api, apiJson, download, el, number, sendJson, state, t } from "./core.js";

let currentList = null;
// Loads can overlap (the view opening while an edit reloads): only the latest one's answer is shown,
// so an answer from before an edit never replaces the one from after it.
let listsLoad = 0;
let listLoad = 0;

function canEdit() { return state.me?.role === "operator" || state.me?.role === "admin"; }

function fail(error) { $("#wl-error").textContent = error.message; }

function validityText(v) {
  const parts = [];
  if (v.valid_from || v.valid_until) parts.push(`${v.valid_from || "…"} – ${v.valid_until || "…"}`);
  if (v.weekdays && v.weekdays.length) parts.push(t("wl.days", { days: v.weekdays.join(",") }));
  if (v.hours) parts.push(v.hours);
  return parts.join("; ") || t("wl.always");
}

function assignmentText(list) {
  return list.assignments.map((a) => (a.gate_id ? `${a.site_id}/${a.gate_id}` : a.site_id)).join(", ");
}

async function loadLists() {
  for (const node of $$("#view-watchlists .operator-only")) node.hidden = !canEdit();
  const load = ++listsLoad;
  const lists = await apiJson("/api/v1/watchlists");
  if (load !== listsLoad) return;
  $("#wl-table tbody").replaceChildren(...lists.map((list) => {
    const row = el("tr", { "data-list-id": list.list_id }, el("td", {}, list.list_id), el("td", {}, list.name),
      el("td", { class: `kind-${list.kind}` }, t(`wl.kind_${list.kind}`)), el("td", {}, number(list.entries)),
      el("td", {}, assignmentText(list) || "—"));
    row.addEventListener("click", () => showList(list.list_id).catch(fail));
    return row;
  }));
  if (!lists.length) $("#wl-table tbody").append(el("tr", {}, el("td", { colSpan: 5 }, t("wl.none"))));
  if (currentList && lists.some((list) => list.list_id === currentList)) await showList(currentList);
  else { currentList = null; $("#wl-detail").hidden = true; }
}

async function showList(listId) {
  currentList = listId;
  const load = ++listLoad;
  const list = await apiJson(`/api/v1/watchlists/${encodeURIComponent(listId)}`);
  if (load !== listLoad) return;
  $("#wl-title").textContent = t("wl.title", { name: list.name, kind: t(`wl.kind_${list.kind}`), n: number(list.entries) });
  $("#wl-assignments").value = assignmentText(list);
  $("#wl-entries tbody").replaceChildren(...list.items.map((item) => {
    const remove = el("button", { type: "button", "data-action": "remove" }, t("wl.remove"));
    remove.hidden = !canEdit();
    remove.addEventListener("click", () => guarded(() => api(
      `/api/v1/watchlists/${encodeURIComponent(listId)}/entries/${item.id}`, { method: "DELETE" })));
    return el("tr", { "data-plate": item.entry.plate }, el("td", { class: "plate" }, item.entry.plate),
      el("td", {}, t(`wl.match_${item.entry.match}`)), el("td", {}, validityText(item.entry.validity)),
      el("td", {}, item.entry.note), el("td", {}, remove));
  }));
  $("#wl-detail").hidden = false;
}

/** Run an edit, then show the lists as they now are; a refusal is shown, not thrown. */
async function guarded(action) {
  $("#wl-error").textContent = "";
  try { await action(); await loadLists(); } catch (error) { fail(error); }
}

export async function open() {
  $("#wl-error").textContent = "";
  await loadLists();
}

$("#wl-create").addEventListener("submit", (event) => {
  event.preventDefault();
  guarded(async () => {
    const body = { list_id: $("#wl-id").value.trim(), name: $("#wl-name").value.trim(), kind: $("#wl-kind").value };
    await sendJson("/api/v1/watchlists", "POST", body);
    currentList = body.list_id;
    $("#wl-id").value = "";
    $("#wl-name").value = "";
  });
});

$("#wl-add").addEventListener("submit", (event) => {
  event.preventDefault();
  guarded(async () => {
    const body = { plate: $("#wl-plate").value, match: $("#wl-match").value, note: $("#wl-note").value };
    await sendJson(`/api/v1/watchlists/${encodeURIComponent(currentList)}/entries`, "POST", body);
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
    await sendJson(`/api/v1/watchlists/${encodeURIComponent(currentList)}/assignments`, "PUT", body);
  });
});

$("#wl-import").addEventListener("submit", (event) => {
  event.preventDefault();
  guarded(async () => {
    const mode = encodeURIComponent($("#wl-mode").value);
    await api(`/api/v1/watchlists/${encodeURIComponent(currentList)}/entries.csv?mode=${mode}`,
      { method: "PUT", headers: { "Content-Type": "text/csv" }, body: $("#wl-csv").value });
    $("#wl-csv").value = "";
  });
});

$("#wl-export").addEventListener("click", async () => {
  $("#wl-error").textContent = "";
  try {
    const blob = await (await api(`/api/v1/watchlists/${encodeURIComponent(currentList)}/entries.csv`)).blob();
    download(blob, `${currentList}.csv`);
  } catch (error) { fail(error); }
});
