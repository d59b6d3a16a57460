// Administration (admins only; the server enforces it): users, audit log, dead letters.
"use strict";

import { $, $$, apiJson, el, fmtTime, number, sendJson, t, wallTimeToIso } from "./core.js";

const TABS = ["users", "audit", "dead-letters"];

function fail(error) { $("#admin-error").textContent = error.message; }

async function loadUsers() {
  const users = await apiJson("/api/v1/users");
  $("#users-table tbody").replaceChildren(...users.map(userRow));
}

function userRow(user) {
  const role = el("select", { "data-action": "role" }, ...["viewer", "operator", "admin"].map((r) => el("option", { value: r }, r)));
  role.value = user.role;
  role.addEventListener("change", () => change(user.username, { role: role.value }));
  const toggle = el("button", { type: "button", "data-action": "toggle" }, t(user.disabled ? "admin.enable" : "admin.disable"));
  toggle.addEventListener("click", () => change(user.username, { disabled: !user.disabled }));
  const reset = el("button", { type: "button", "data-action": "reset" }, t("admin.reset_password"));
  reset.addEventListener("click", async () => {
    try { showOneTime(user.username, await sendJson(`/api/v1/users/${encodeURIComponent(user.username)}/password-reset`, "POST", {})); } catch (error) { fail(error); }
  });
  return el("tr", { "data-username": user.username },
    el("td", {}, user.username), el("td", {}, role),
    el("td", {}, el("span", { class: user.disabled ? "state state-offline" : "state state-online" }, t(user.disabled ? "admin.disabled" : "admin.active"))),
    el("td", {}, fmtTime(user.created_at)), el("td", { class: "actions" }, toggle, reset));
}

function showOneTime(username, answer) {
  const note = $("#one-time");
  note.replaceChildren(t("admin.one_time", { user: username }), " ", el("code", { id: "one-time-password" }, answer.one_time_password));
  note.hidden = false;
}

async function change(username, body) {
  $("#admin-error").textContent = "";
  try { await sendJson(`/api/v1/users/${encodeURIComponent(username)}`, "PATCH", body); } catch (error) { fail(error); }
  await loadUsers();
}

async function loadAudit() {
  const params = new URLSearchParams({ limit: "200" });
  if ($("#audit-user").value.trim()) params.set("username", $("#audit-user").value.trim());
  if ($("#audit-action").value.trim()) params.set("action", $("#audit-action").value.trim());
  if ($("#audit-since").value) params.set("since", wallTimeToIso($("#audit-since").value));
  const entries = await apiJson(`/api/v1/audit?${params}`);
  $("#audit-table tbody").replaceChildren(...entries.map((e) => el("tr", { "data-action": e.action },
    el("td", {}, fmtTime(e.at)), el("td", {}, e.username), el("td", {}, e.action),
    el("td", { class: "detail" }, JSON.stringify(e.detail)), el("td", {}, e.client || "—"))));
}

async function loadDeadLetters() {
  const params = new URLSearchParams({ limit: "200" });
  if ($("#dead-kind").value.trim()) params.set("kind", $("#dead-kind").value.trim());
  if ($("#dead-topic").value.trim()) params.set("topic", $("#dead-topic").value.trim());
  const rows = await apiJson(`/api/v1/dead-letters?${params}`);
  $("#dead-table tbody").replaceChildren(...rows.map((d) => el("tr", { "data-kind": d.kind },
    el("td", {}, fmtTime(d.received_at)), el("td", {}, d.kind), el("td", {}, d.topic),
    el("td", {}, d.reason), el("td", {}, number(d.size)))));
}

const LOADERS = { users: loadUsers, audit: loadAudit, "dead-letters": loadDeadLetters };

export async function open([tab]) {
  const chosen = TABS.includes(tab) ? tab : "users";
  $("#admin-error").textContent = "";
  for (const name of TABS) $(`#admin-${name}`).hidden = name !== chosen;
  for (const link of $$(".tabs [data-tab]")) link.classList.toggle("active", link.dataset.tab === chosen);
  try { await LOADERS[chosen](); } catch (error) { fail(error); }
}

$("#user-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#admin-error").textContent = "";
  const username = $("#new-username").value.trim();
  try {
    showOneTime(username, await sendJson("/api/v1/users", "POST", { username, role: $("#new-role").value }));
    $("#new-username").value = "";
    await loadUsers();
  } catch (error) { fail(error); }
});
$("#audit-form").addEventListener("submit", (event) => { event.preventDefault(); loadAudit().catch(fail); });
$("#dead-form").addEventListener("submit", (event) => { event.preventDefault(); loadDeadLetters().catch(fail); });
