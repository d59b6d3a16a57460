// Entry point: sign-in, session upkeep, preferences (zone, language), hash routing between views.
"use strict";

import {
  $, $$, api, apiJson, browserZone, detailText, el, loadLanguage, sendJson, state, t, translatePage,
} from "./core.js";
import * as account from "./account.js";
import * as admin from "./admin.js";
import * as dashboard from "./dashboard.js";
import * as decisions from "./decisions.js";
import * as devices from "./devices.js";
import * as live from "./live.js";
import * as search from "./search.js";
import * as watchlists from "./watchlists.js";

const VIEWS = {
  dashboard, search, live, devices, device: devices.detailView, watchlists, decisions, admin, password: account,
};
const DEFAULT_VIEW = "dashboard";
// Refresh the session this long before it runs out; the server decides how long it lasts.
const REFRESH_MARGIN_MS = 60_000;
let current = null;
let refreshTimer = null;

function zoneLabels() {
  for (const node of $$(".zone-label")) node.textContent = `${t(node.dataset.label)} (${state.tz})`;
}

function fillZones() {
  const zones = [...new Set(["UTC", browserZone(), state.tz])];
  $("#tz").replaceChildren(...zones.map((zone) => el("option", { value: zone }, zone)));
  $("#tz").value = state.tz;
}

async function route() {
  if (!state.token) { showOnly("login"); return; }
  const [name, ...rest] = (location.hash.slice(1) || DEFAULT_VIEW).split("/");
  const view = VIEWS[name] ? name : DEFAULT_VIEW;
  if (view === "admin" && state.me?.role !== "admin") { location.hash = DEFAULT_VIEW; return; }
  if (current && current !== VIEWS[view] && current.close) current.close();
  current = VIEWS[view];
  showOnly(view);
  for (const link of $$("nav [data-view]")) link.classList.toggle("active", link.dataset.view === (view === "device" ? "devices" : view));
  try { await current.open(rest.map(decodeURIComponent)); } catch (error) { console.warn(error); }
}

function showOnly(view) {
  for (const section of $$(".view")) section.hidden = section.id !== `view-${view}`;
}

function signedOut() {
  state.token = null;
  state.me = null;
  sessionStorage.removeItem("anpr.token");
  clearTimeout(refreshTimer);
  if (current && current.close) current.close();
  current = null;
  $("#nav").hidden = true;
  $("#logout").hidden = true;
  $("#whoami").textContent = "";
  showOnly("login");
}
state.onSignedOut = signedOut;

function keepSessionAlive(expiresIn) {
  clearTimeout(refreshTimer);
  const wait = Math.max(5_000, expiresIn * 1000 - REFRESH_MARGIN_MS);
  refreshTimer = setTimeout(async () => {
    try {
      const fresh = await apiJson("/api/v1/auth/refresh", { method: "POST" });
      setToken(fresh.access_token);
      keepSessionAlive(fresh.expires_in);
    } catch (error) { console.warn(error); }
  }, wait);
}

account.onNewToken((issued) => { setToken(issued.access_token); keepSessionAlive(issued.expires_in); });

function setToken(token) {
  state.token = token;
  sessionStorage.setItem("anpr.token", token);
}

async function afterLogin(expiresIn) {
  state.me = await apiJson("/api/v1/auth/me");
  if (state.me.language && state.me.language !== state.lang) {
    await loadLanguage(state.me.language);
    $("#lang").value = state.lang;
    zoneLabels();
  }
  $("#whoami").textContent = `${state.me.username} (${state.me.role})`;
  $("#nav").hidden = false;
  $("#logout").hidden = false;
  $("#nav-admin").hidden = state.me.role !== "admin";
  if (expiresIn) keepSessionAlive(expiresIn);
  await route();
}

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#login-error").textContent = "";
  const body = new URLSearchParams({ username: $("#username").value, password: $("#password").value });
  const response = await fetch("/api/v1/auth/token", { method: "POST", body });
  if (!response.ok) {
    const detail = detailText((await response.json().catch(() => ({}))).detail);
    $("#login-error").textContent = response.status === 401 ? t("login.failed") : (detail || t("login.failed"));
    return;
  }
  const issued = await response.json();
  setToken(issued.access_token);
  $("#password").value = "";
  await afterLogin(issued.expires_in);
});

$("#logout").addEventListener("click", async () => {
  // The server revokes the token, so a copy of it left anywhere is useless from now on.
  try { await api("/api/v1/auth/logout", { method: "POST" }); } catch (error) { console.warn(error); }
  signedOut();
});

$("#tz").addEventListener("change", () => {
  state.tz = $("#tz").value;
  localStorage.setItem("anpr.tz", state.tz);
  zoneLabels();
  route();
});

$("#lang").addEventListener("change", async () => {
  await loadLanguage($("#lang").value);
  zoneLabels();
  if (state.token) {
    try { await sendJson("/api/v1/auth/me", "PATCH", { language: state.lang }); } catch (error) { console.warn(error); }
    route();
  }
});

window.addEventListener("hashchange", route);

async function start() {
  await loadLanguage(state.lang);
  $("#lang").value = state.lang;
  fillZones();
  zoneLabels();
  translatePage();
  if (state.token) {
    try { await afterLogin(null); keepSessionAlive(60); } catch (_) { signedOut(); }
  } else {
    signedOut();
  }
  document.body.dataset.ready = "true";
}

start();
