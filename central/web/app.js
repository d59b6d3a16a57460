// anpr central operator UI: plain JS, no build. Data goes into the page only via textContent.
"use strict";

const state = { token: sessionStorage.getItem("anpr.token"), cursor: null, query: null, socket: null, objectUrls: [] };

const $ = (selector) => document.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  return node;
}

// An error body's detail: a string, or FastAPI's list of {loc, msg} for a 422.
function detailText(detail) {
  if (Array.isArray(detail)) return detail.map((item) => `${(item.loc || []).slice(1).join(".")}: ${item.msg}`).join("; ");
  return typeof detail === "string" ? detail : "";
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {}, { Authorization: `Bearer ${state.token}` });
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) { logout(); throw new Error("session expired: sign in again"); }
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = detailText((await response.json()).detail) || detail; } catch (_) { /* not JSON */ }
    throw new Error(detail);
  }
  return response;
}

async function cropImage(url, alt) {
  const img = el("img", { alt });
  if (!url) return el("span", {}, "—");
  try {
    const blob = await (await api(url)).blob();
    const objectUrl = URL.createObjectURL(blob);
    state.objectUrls.push(objectUrl);
    img.src = objectUrl;
  } catch (_) { return el("span", {}, "—"); }
  return img;
}

function utc(iso) { return iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace("+00:00", "").replace("Z", "") : "—"; }

function show(view) {
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${view}`;
  for (const button of document.querySelectorAll("nav [data-view]")) button.classList.toggle("active", button.dataset.view === view);
  if (view === "devices") loadDevices().catch((e) => console.error(e));
  if (view === "watchlists") loadWatchlists().catch((e) => { $("#wl-error").textContent = e.message; });
  if (view === "decisions") loadDecisions().catch((e) => console.error(e));
}

function logout() {
  state.token = null;
  sessionStorage.removeItem("anpr.token");
  if (state.socket) state.socket.close();
  $("#nav").hidden = true;
  show("login");
}

async function afterLogin() {
  const me = await (await api("/api/v1/auth/me")).json();
  $("#whoami").textContent = `${me.username} (${me.role})`;
  state.role = me.role;
  $("#nav").hidden = false;
  show("search");
}

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#login-error").textContent = "";
  const body = new URLSearchParams({ username: $("#username").value, password: $("#password").value });
  const response = await fetch("/api/v1/auth/token", { method: "POST", body });
  if (!response.ok) {
    const detail = detailText((await response.json().catch(() => ({}))).detail);
    $("#login-error").textContent = detail || "sign-in failed";
    return;
  }
  state.token = (await response.json()).access_token;
  sessionStorage.setItem("anpr.token", state.token);
  $("#password").value = "";
  await afterLogin();
});

$("#logout").addEventListener("click", logout);
for (const button of document.querySelectorAll("nav [data-view]")) button.addEventListener("click", () => show(button.dataset.view));

function searchParams() {
  const params = new URLSearchParams();
  const fields = { plate: "#plate", match: "#match", site: "#f-site", device: "#f-device", channel: "#f-channel", country: "#f-country" };
  for (const [name, selector] of Object.entries(fields)) {
    const value = $(selector).value.trim();
    if (value) params.set(name, value);
  }
  for (const [name, selector] of [["since", "#f-since"], ["until", "#f-until"]]) {
    const value = $(selector).value;
    if (value) params.set(name, new Date(value).toISOString());
  }
  return params;
}

async function runSearch(append) {
  $("#search-error").textContent = "";
  const params = new URLSearchParams(state.query);
  if (append && state.cursor) params.set("cursor", state.cursor);
  const tbody = $("#results tbody");
  if (!append) {
    tbody.replaceChildren();
    for (const url of state.objectUrls.splice(0)) URL.revokeObjectURL(url);
  }
  try {
    const page = await (await api(`/api/v1/events?${params}`)).json();
    for (const ev of page.events) tbody.append(await resultRow(ev));
    state.cursor = page.next_cursor;
    $("#more").hidden = !page.next_cursor;
    if (!append && page.events.length === 0) tbody.append(el("tr", {}, el("td", { colSpan: 6 }, "No events match.")));
  } catch (error) {
    $("#search-error").textContent = error.message;
  }
}

async function resultRow(ev) {
  const row = el("tr", { "data-event-id": ev.event_id },
    el("td", {}, await cropImage(ev.crop_url, ev.plate_text)),
    el("td", { class: "plate" }, ev.plate_text),
    el("td", {}, utc(ev.captured_at)),
    el("td", {}, `${ev.site_id} / ${ev.device_id} / ${ev.channel_id}`),
    el("td", {}, ev.country || "—"),
    el("td", {}, ev.confidence.toFixed(2)));
  row.addEventListener("click", () => showDetail(ev.event_id));
  return row;
}

async function showDetail(eventId) {
  const panel = $("#detail");
  try {
    const ev = await (await api(`/api/v1/events/${encodeURIComponent(eventId)}`)).json();
    const fields = [
      ["Plate", ev.plate_text], ["Latin", ev.plate_latin], ["Country", ev.country || "—"], ["Region", ev.region || "—"],
      ["Format", ev.plate_format || "—"], ["Captured", utc(ev.captured_at)], ["First seen", utc(ev.first_seen)],
      ["Last seen", utc(ev.last_seen)], ["Site", ev.site_id], ["Device", ev.device_id], ["Channel", ev.channel_id],
      ["Confidence", ev.confidence.toFixed(3)], ["Frames", String(ev.frames)], ["Box", ev.box.join(", ")],
      ["Models", `${ev.detector_model} / ${ev.reader_model}`], ["Event id", ev.event_id],
    ];
    const list = el("dl");
    for (const [name, value] of fields) list.append(el("dt", {}, name), el("dd", {}, value));
    panel.replaceChildren(el("h2", { class: "plate" }, ev.plate_text), await cropImage(ev.crop_url, ev.plate_text), list);
    panel.hidden = false;
  } catch (error) {
    $("#search-error").textContent = error.message;
  }
}

$("#search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.query = searchParams().toString();
  state.cursor = null;
  $("#detail").hidden = true;
  runSearch(false);
});
$("#more").addEventListener("click", () => runSearch(true));

$("#live-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (state.socket) state.socket.close();
  const params = new URLSearchParams();
  if ($("#live-site").value.trim()) params.set("site", $("#live-site").value.trim());
  if ($("#live-plate").value.trim()) params.set("plate", $("#live-plate").value.trim());
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  // The token goes in the first message, not the URL, so it stays out of access logs.
  const socket = new WebSocket(`${scheme}://${location.host}/ws/events?${params}`);
  state.socket = socket;
  socket.addEventListener("open", () => socket.send(JSON.stringify({ token: state.token })));
  socket.addEventListener("message", (message) => {
    const data = JSON.parse(message.data);
    if (data.type === "ready") $("#live-state").textContent = "following";
    else if (data.type === "error") $("#live-state").textContent = data.detail;
    else if (data.type === "event") addLive(data.event);
  });
  socket.addEventListener("close", () => { if (state.socket === socket) $("#live-state").textContent = "disconnected"; });
});

function addLive(ev) {
  const item = el("li", { "data-event-id": ev.event_id },
    el("span", { class: "plate" }, ev.plate_text), el("span", {}, utc(ev.captured_at)),
    el("span", {}, `${ev.site_id} / ${ev.device_id} / ${ev.channel_id}`), el("span", {}, ev.confidence.toFixed(2)));
  item.addEventListener("click", () => { show("search"); showDetail(ev.event_id); });
  const list = $("#live-list");
  list.prepend(item);
  while (list.children.length > 200) list.lastChild.remove();
}

async function loadDevices() {
  const devices = await (await api("/api/v1/devices")).json();
  const tbody = $("#devices-table tbody");
  tbody.replaceChildren();
  for (const d of devices) {
    const stateCell = el("td", { class: d.online ? "online" : "offline" }, d.online ? "online" : (d.status || "unknown"));
    const channels = d.channels.map((c) => c.channel_id).join(", ") || "—";
    tbody.append(el("tr", { "data-device-id": d.device_id }, el("td", {}, d.device_id), el("td", {}, d.site_id), stateCell,
      el("td", {}, utc(d.last_seen)), el("td", {}, channels), el("td", {}, d.config_version ? `v${d.config_version}` : "—")));
  }
}

if (state.token) afterLogin().catch(() => logout()); else show("login");
