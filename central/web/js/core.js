// Shared pieces of the operator UI: API calls, DOM building, translations, time zones.
// Data reaches the page only through textContent and attributes, never innerHTML.
"use strict";

export const state = {
  token: sessionStorage.getItem("anpr.token"),
  me: null,
  tz: localStorage.getItem("anpr.tz") || "UTC",
  lang: localStorage.getItem("anpr.lang") || "en",
  dict: {},
  objectUrls: [],
  onSignedOut: null,
};

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("data-") || key.startsWith("aria-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children.flat()) node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  return node;
}

// ---- translations -------------------------------------------------------------------------
export const LANGUAGES = ["en", "ru"];

export async function loadLanguage(lang) {
  const chosen = LANGUAGES.includes(lang) ? lang : "en";
  const response = await fetch(`/i18n/${chosen}.json`);
  state.dict = await response.json();
  state.lang = chosen;
  localStorage.setItem("anpr.lang", chosen);
  document.documentElement.lang = chosen;
  translatePage();
}

/** The UI string `key` in the chosen language, `{name}` filled from `vars`. */
export function t(key, vars = {}) {
  const text = state.dict[key];
  if (text === undefined) { console.warn(`missing translation: ${key}`); return key; }
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

export function translatePage(root = document) {
  for (const node of $$("[data-i18n]", root)) node.textContent = t(node.dataset.i18n);
  for (const node of $$("[data-i18n-placeholder]", root)) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of $$("[data-i18n-title]", root)) node.title = t(node.dataset.i18nTitle);
  document.title = t("app.title");
}

/** A device's reasons for attention ({code, params}) in the chosen language. */
export function attentionText(reasons) {
  return reasons.map((r) => t(`attention.${r.code}`, r.params)).join("; ");
}

export function number(value, digits = 0) {
  if (value === null || value === undefined) return "—";
  return Number(value).toLocaleString(state.lang, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function percent(share) {
  return share === null || share === undefined ? "—" : `${number(share * 100, 1)} %`;
}

export function bytes(value) {
  if (value === null || value === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let size = value; let unit = 0;
  while (size >= 1024 && unit < units.length - 1) { size /= 1024; unit += 1; }
  return `${number(size, unit ? 1 : 0)} ${units[unit]}`;
}

// ---- time zones: the table and the From/To fields use one explicitly chosen zone -------------
export function browserZone() { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; }

function zoneParts(date, zone) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(date);
  return Object.fromEntries(parts.filter((p) => p.type !== "literal").map((p) => [p.type, p.value]));
}

/** ISO instant -> "YYYY-MM-DD HH:MM:SS" in the chosen zone. */
export function fmtTime(iso, zone = state.tz) {
  if (!iso) return "—";
  const p = zoneParts(new Date(iso), zone);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

function offsetMs(instant, zone) {
  const p = zoneParts(new Date(instant), zone);
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - Math.floor(instant / 1000) * 1000;
}

/** A datetime-local value ("YYYY-MM-DDTHH:MM") read as wall time in the chosen zone -> ISO UTC. */
export function wallTimeToIso(value, zone = state.tz) {
  const [datePart, timePart] = value.split("T");
  const [y, mo, d] = datePart.split("-").map(Number);
  const [h, mi, s] = (timePart || "00:00").split(":").map(Number);
  const wall = Date.UTC(y, mo - 1, d, h, mi, s || 0);
  let instant = wall - offsetMs(wall, zone);
  instant = wall - offsetMs(instant, zone); // second pass settles instants next to a DST change
  return new Date(instant).toISOString();
}

/** An instant -> datetime-local value in the chosen zone. */
export function isoToWallTime(iso, zone = state.tz) {
  const p = zoneParts(new Date(iso), zone);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

// ---- API -----------------------------------------------------------------------------------
/** An error body's detail: a string, or FastAPI's list of {loc, msg} for a 422. */
export function detailText(detail) {
  if (Array.isArray(detail)) return detail.map((item) => `${(item.loc || []).slice(1).join(".")}: ${item.msg}`).join("; ");
  return typeof detail === "string" ? detail : "";
}

export async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {}, { Authorization: `Bearer ${state.token}` });
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) {
    if (state.onSignedOut) state.onSignedOut();
    throw new Error(t("error.session_expired"));
  }
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch (_) { /* not JSON */ }
    const error = new Error((body && detailText(body.detail)) || response.statusText);
    error.status = response.status;
    error.detail = body ? body.detail : null; // a 422's list names each field in `loc`
    throw error;
  }
  return response;
}

export async function apiJson(path, options = {}) { return (await api(path, options)).json(); }

export async function sendJson(path, method, body) {
  return apiJson(path, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

/** A crop fetched with the token (an <img src> cannot send it) and shown from a blob URL. */
export async function cropImage(url, alt) {
  if (!url) return el("span", { class: "muted" }, "—");
  try {
    const blob = await (await api(url)).blob();
    const objectUrl = URL.createObjectURL(blob);
    state.objectUrls.push(objectUrl);
    return el("img", { alt, src: objectUrl });
  } catch (_) { return el("span", { class: "muted" }, "—"); }
}

export function releaseImages() {
  for (const url of state.objectUrls.splice(0)) URL.revokeObjectURL(url);
}

/** Fill a <select> with options [value, label], keeping the current choice when it still exists. */
export function fillSelect(select, options, emptyLabel) {
  const current = select.value;
  select.replaceChildren(el("option", { value: "" }, emptyLabel), ...options.map(([value, label]) => el("option", { value }, label)));
  if (options.some(([value]) => value === current)) select.value = current;
}

export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
