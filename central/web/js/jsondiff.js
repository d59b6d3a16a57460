// Differences between two JSON documents for the config editor: the RFC 7396 merge patch that
// turns one into the other, and a line diff of their pretty-printed texts.
"use strict";

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

export function deepEqual(a, b) {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  if (!isObject(a) || !isObject(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]));
}

/**
 * The RFC 7396 merge patch that turns object `from` into object `to` ({} when they are equal):
 * changed keys with their new value, removed keys as null, objects patched key by key, lists
 * whole. A merge patch cannot set a value to null: a null in `to` removes the key.
 */
export function mergePatch(from, to) {
  const patch = {};
  for (const key of Object.keys(from)) if (!Object.hasOwn(to, key)) patch[key] = null;
  for (const [key, value] of Object.entries(to)) {
    if (!Object.hasOwn(from, key)) {
      if (value !== null) patch[key] = value;
    } else if (isObject(from[key]) && isObject(value)) {
      const inner = mergePatch(from[key], value);
      if (Object.keys(inner).length) patch[key] = inner;
    } else if (!deepEqual(from[key], value)) {
      patch[key] = value;
    }
  }
  return patch;
}

/** What a merge patch does, one entry per leaf: {path, change: "set"|"removed"|"list", value}. */
export function patchChanges(patch, prefix = "") {
  const changes = [];
  for (const [key, value] of Object.entries(patch)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (isObject(value) && Object.keys(value).length) changes.push(...patchChanges(value, path));
    else if (value === null) changes.push({ path, change: "removed" });
    else if (Array.isArray(value)) changes.push({ path, change: "list", value });
    else changes.push({ path, change: "set", value });
  }
  return changes;
}

/** The lines of `before` and `after` as [{op: " " | "-" | "+", text}], by longest common subsequence. */
export function lineDiff(before, after) {
  const a = before.split("\n");
  const b = after.split("\n");
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length; let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA -= 1; endB -= 1; }
  const x = a.slice(start, endA); const y = b.slice(start, endB);
  // common[i][j]: length of the longest common subsequence of x[i:] and y[j:].
  const common = Array.from({ length: x.length + 1 }, () => new Uint32Array(y.length + 1));
  for (let i = x.length - 1; i >= 0; i -= 1) {
    for (let j = y.length - 1; j >= 0; j -= 1) {
      common[i][j] = x[i] === y[j] ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1]);
    }
  }
  const lines = a.slice(0, start).map((text) => ({ op: " ", text }));
  let i = 0; let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) { lines.push({ op: " ", text: x[i] }); i += 1; j += 1; }
    else if (i < x.length && (j === y.length || common[i + 1][j] >= common[i][j + 1])) { lines.push({ op: "-", text: x[i] }); i += 1; }
    else { lines.push({ op: "+", text: y[j] }); j += 1; }
  }
  lines.push(...a.slice(endA).map((text) => ({ op: " ", text })));
  return lines;
}

/** The changed lines with `context` unchanged lines around each; null stands for skipped lines. */
export function hunks(lines, context = 2) {
  const keep = new Array(lines.length).fill(false);
  lines.forEach((line, index) => {
    if (line.op === " ") return;
    for (let k = Math.max(0, index - context); k <= Math.min(lines.length - 1, index + context); k += 1) keep[k] = true;
  });
  const out = [];
  lines.forEach((line, index) => {
    if (keep[index]) out.push(line);
    else if (out[out.length - 1] !== null) out.push(null);
  });
  return out;
}

/** Where key path `path` (e.g. ["reader", "beam_width"]) is in JSON text: its 1-based line, or null. */
export function lineOf(text, path) {
  let at = 0;
  let found = -1;
  for (const key of path) {
    if (/^\d+$/.test(String(key))) continue; // a list index: its element has no key of its own
    const next = text.indexOf(JSON.stringify(String(key)) + ":", at);
    if (next < 0) break;
    found = next; at = next + 1;
  }
  return found < 0 ? null : text.slice(0, found).split("\n").length;
}
