// A device's config on its detail page: the reported config (read-only for viewers; an editor for
// operators with the merge patch and a line diff as one types, a check by central that stores
// nothing, and the push), and the history of pushes with the device's acks.
"use strict";

import { el, fmtTime, sendJson, state, t } from "./core.js";
import { hunks, lineDiff, lineOf, mergePatch, patchChanges } from "./jsondiff.js";

const canPush = () => state.me?.role === "operator" || state.me?.role === "admin";
const pretty = (value) => JSON.stringify(value, null, 2);

/** The card with the reported config: an editor for operators, the JSON alone for viewers. */
export function configCard(deviceId, effective, reload) {
  if (!effective) {
    return el("div", { class: "card" }, el("h2", {}, t("device.config")),
      el("p", { class: "muted", id: "device-config" }, t("device.no_report")));
  }
  const reported = el("p", { class: "muted" }, t("device.config_reported", {
    version: effective.version, at: fmtTime(effective.reported_at), hash: effective.hash.slice(0, 12) }));
  if (!canPush()) {
    return el("div", { class: "card" }, el("h2", {}, t("device.config")), reported,
      el("pre", { id: "device-config" }, pretty(effective.config)));
  }
  return editorCard(deviceId, effective, reported, reload);
}

function editorCard(deviceId, effective, reported, reload) {
  const base = effective.config;
  const baseText = pretty(base);
  const path = `/api/v1/devices/${encodeURIComponent(deviceId)}/config`;
  const editor = el("textarea", { id: "config-editor", rows: 28, spellcheck: false, value: baseText, "aria-label": t("device.config_edit") });
  const checkButton = el("button", { type: "button", id: "config-check" }, t("device.check"));
  const pushButton = el("button", { type: "button", id: "config-push", class: "primary" }, t("device.push"));
  const discardButton = el("button", { type: "button", id: "config-discard" }, t("device.discard"));
  const status = el("p", { id: "config-status", role: "status" });
  const errors = el("ul", { id: "config-errors", class: "field-errors", role: "alert" });
  const patchView = el("pre", { id: "config-patch" });
  const diffView = el("pre", { id: "config-diff", class: "diff" });
  let patch = null; // the merge patch of the editor's text, null while the text is not a JSON object

  function say(text, kind = "muted") { status.className = kind; status.textContent = text; }

  function update() {
    errors.replaceChildren();
    say("");
    patch = null;
    let edited;
    try { edited = JSON.parse(editor.value); } catch (error) {
      errors.append(el("li", {}, t("device.json_invalid", { error: error.message })));
    }
    if (edited !== undefined && (edited === null || typeof edited !== "object" || Array.isArray(edited))) {
      errors.append(el("li", {}, t("device.json_not_object")));
      edited = undefined;
    }
    if (edited !== undefined) patch = mergePatch(base, edited);
    const changed = patch !== null && Object.keys(patch).length > 0;
    checkButton.disabled = pushButton.disabled = !changed;
    patchView.textContent = changed ? pretty(patch) : (patch === null ? "—" : t("device.no_changes"));
    const lines = changed ? hunks(lineDiff(baseText, pretty(edited))) : [];
    diffView.replaceChildren(...lines.map((line) => line === null
      ? el("span", { class: "diff-skip" }, "…")
      : el("span", { class: { "+": "diff-add", "-": "diff-del", " ": "diff-same" }[line.op] }, `${line.op} ${line.text}`)));
    if (!changed) diffView.textContent = "—";
  }

  function showRefusal(error) {
    if (!Array.isArray(error.detail)) { say(error.message, "error"); return; }
    say(t("device.refused"), "error");
    errors.replaceChildren(...error.detail.map((item) => {
      const field = (item.loc || []).slice(1);
      const line = field.length ? lineOf(editor.value, field) : null;
      return el("li", { "data-field": field.join(".") },
        el("code", {}, field.length ? field.join(".") : t("device.top_level")),
        line ? ` (${t("device.field_line", { line })})` : "", `: ${item.msg}`);
    }));
  }

  async function send(button, busy, call) {
    if (!patch) return;
    errors.replaceChildren();
    say(t(busy));
    button.disabled = true;
    try { await call(patch); } catch (error) { showRefusal(error); } finally { button.disabled = false; }
  }

  editor.addEventListener("input", update);
  discardButton.addEventListener("click", () => { editor.value = baseText; update(); });
  checkButton.addEventListener("click", () => send(checkButton, "device.checking", async (body) => {
    const checked = await sendJson(`${path}/check`, "POST", body);
    say(t("device.check_ok", { version: checked.version }), "ok-note");
  }));
  pushButton.addEventListener("click", () => send(pushButton, "device.pushing", async (body) => {
    const pushed = await sendJson(path, "PATCH", body);
    await reload(t("device.pushed_ok", { version: pushed.version }));
  }));
  update();
  return el("div", { class: "card" }, el("h2", {}, t("device.config_edit")), reported,
    el("p", { class: "muted" }, t("device.editor_hint")),
    el("div", { class: "editor-grid" },
      el("div", { class: "editor-pane" }, editor,
        el("div", { class: "editor-actions" }, checkButton, pushButton, discardButton), status, errors),
      el("div", { class: "editor-pane" }, el("h3", {}, t("device.changes")), patchView,
        el("h3", {}, t("device.diff")), diffView)));
}

function changeText(change) {
  if (change.change === "removed") return t("device.removed", { path: change.path });
  if (change.change === "list") return t("device.list_of", { path: change.path, n: change.value.length });
  return `${change.path} = ${JSON.stringify(change.value)}`;
}

function ackCell(version) {
  const cell = el("td", {}, el("span", { class: `ack ack-${version.ack}` }, t(`device.ack_${version.ack}`)));
  if (version.ack_reason) cell.append(": ", version.ack_reason);
  if (version.ack_applied_at) cell.append(` ${t("device.applied_at", { at: fmtTime(version.ack_applied_at) })}`);
  if (!version.published) cell.append(el("div", { class: "muted" }, t("device.not_published")));
  return cell;
}

/** The pushes central made to the device, newest first, with each one's ack. */
export function historyCard(history) {
  const rows = history.map((version) => el("tr", { "data-version": version.version, "data-ack": version.ack },
    el("td", {}, `v${version.version}`), el("td", {}, version.issued_by), el("td", {}, fmtTime(version.issued_at)),
    el("td", { class: "detail", title: pretty(version.patch) }, patchChanges(version.patch).map(changeText).join("; ") || "{}"),
    ackCell(version)));
  const head = ["device.h_version", "device.h_by", "device.h_at", "device.h_changes", "device.h_ack"]
    .map((key) => el("th", {}, key === "device.h_at" ? `${t(key)} (${state.tz})` : t(key)));
  return el("div", { class: "card" }, el("h2", {}, t("device.history")),
    history.length
      ? el("table", { id: "config-history" }, el("thead", {}, el("tr", {}, ...head)), el("tbody", {}, ...rows))
      : el("p", { class: "muted", id: "config-history" }, t("device.no_config")));
}
