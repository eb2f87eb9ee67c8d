// DOM helpers. Everything that came from the server goes in as text:
// createElement, textContent and setAttribute only, never innerHTML.
"use strict";

// h("a", {href: "#/x", class: "c", dataset: {id: "1"}}, "text", child, [more])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") el.className = value;
      else if (name === "dataset") Object.assign(el.dataset, value);
      else if (name === "text") el.textContent = value;
      else if (name === "for") el.htmlFor = value;
      else if (name === "value") {
        if (tag === "input") el.setAttribute("value", String(value));  // the default too, for form.reset()
        else el.value = value;
      }
      else if (name === "checked" || name === "disabled" || name === "hidden" ||
               name === "required" || name === "readOnly" || name === "selected") el[name] = !!value;
      else if (name.startsWith("on")) throw new Error("no event attributes: use addEventListener");
      else el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

// ------------------------------------------------------------------ times

// A Timestamp of the API: an RFC 3339 string; absent, empty or the epoch
// when unset.
export function parseTime(value) {
  if (!value || typeof value !== "string") return null;
  const d = new Date(value);
  if (Number.isNaN(d.getTime()) || d.getTime() === 0) return null;
  return d;
}

export function utcText(d) {
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "").replace(/Z$/, "") + " UTC";
}

// <time datetime="<RFC 3339 UTC>" title="<UTC text>">local text</time>
export function timeEl(value, empty = "—") {
  const d = parseTime(value);
  if (!d) return h("span", {class: "muted"}, empty);
  const iso = /Z$/.test(value) ? value : d.toISOString();
  return h("time", {datetime: iso, title: utcText(d)}, d.toLocaleString());
}

export function isSet(value) {
  return parseTime(value) !== null;
}

// "2026-12-03T10:00" (datetime-local, the browser's zone) <-> RFC 3339 UTC
export function localInputToUtc(value) {
  if (!value) return "";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return "";
  return d.toISOString().replace(/\.000Z$/, "Z");
}

export function utcToLocalInput(value) {
  const d = parseTime(value);
  if (!d) return "";
  const p = (n) => String(n).padStart(2, "0");
  let s = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  if (d.getSeconds()) s += `:${p(d.getSeconds())}`;
  return s;
}

export function hoursToDuration(hours) {
  return `${Math.round(Number(hours) * 3600)}s`;
}

// ------------------------------------------------------------------ tables

// columns: header texts; a column may be {text, class}.
export function table(id, caption, columns) {
  const headRow = h("tr", null, columns.map((c) => {
    const col = typeof c === "string" ? {text: c} : c;
    return h("th", {scope: "col", class: col.class}, col.label || col.text);
  }));
  const tbody = h("tbody");
  const tfoot = h("tfoot");
  const t = h("table", {id, class: "data"},
    caption ? h("caption", null, caption) : null,
    h("thead", null, headRow), tbody, tfoot);
  return {table: t, tbody, tfoot, columns: columns.length};
}

// Empties the table's rows and its note.
export function clearRows(t) {
  t.tbody.replaceChildren();
  t.tfoot.replaceChildren();
}

// A note in the table's foot ("No hosts."), so that tbody holds data rows only.
export function emptyRow(t, text) {
  t.tfoot.replaceChildren(h("tr", {class: "empty"}, h("td", {colspan: t.columns}, text)));
}

export function td(...children) {
  return h("td", null, ...children);
}

export function code(text) {
  return h("code", null, text);
}

// ------------------------------------------------------------------ forms

export function field(id, labelText, control, hint) {
  control.id = id;
  if (hint) control.setAttribute("aria-describedby", id + "-hint");
  return h("div", {class: "field"},
    h("label", {for: id}, labelText), control,
    hint ? h("span", {class: "hint", id: id + "-hint"}, hint) : null);
}

export function select(options, value) {
  const s = h("select");
  for (const [v, text] of options) s.appendChild(h("option", {value: v}, text));
  if (value !== undefined) s.value = value;
  return s;
}

// ------------------------------------------------------------------ errors

export function showError(message) {
  const area = document.getElementById("error");
  area.textContent = message;
  area.hidden = false;
  const top = area.getBoundingClientRect().top;
  if (top < 0 || top > window.innerHeight) area.scrollIntoView({block: "center"});
}

export function clearError() {
  const area = document.getElementById("error");
  area.textContent = "";
  area.hidden = true;
}

// ------------------------------------------------------------------ copy and download

// Copies text; says so in `status` (an element with role=status).
export async function copyText(text, status, fallbackField) {
  try {
    if (!navigator.clipboard) throw new Error("no clipboard");
    await navigator.clipboard.writeText(text);
    status.textContent = "Copied.";
  } catch (e) {
    if (fallbackField) {
      fallbackField.focus();
      fallbackField.select();
      let ok = false;
      try { ok = document.execCommand("copy"); } catch (_) { ok = false; }
      status.textContent = ok ? "Copied." : "Select the text and copy it yourself (Ctrl+C).";
    } else {
      status.textContent = "The browser refused to copy: select the text and copy it yourself.";
    }
  }
}

// A Blob URL for text, revoked by `drop` (called when the page is left).
export function blobUrl(text, type = "text/plain") {
  return URL.createObjectURL(new Blob([text], {type: type + ";charset=utf-8"}));
}

// ------------------------------------------------------------------ confirmation dialog

let pending = null;

function settle(value) {
  const p = pending;
  pending = null;
  if (p) p(value);
}

export function initDialog() {
  const dialog = document.getElementById("confirm");
  const form = document.getElementById("confirm-form");
  document.getElementById("confirm-cancel").addEventListener("click", () => {
    dialog.close("cancel");
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const values = readForm(document.getElementById("confirm-body"));
    dialog.close("ok");
    settle(values);
  });
  // A close queued by an earlier close() must not answer a dialog opened since.
  dialog.addEventListener("close", () => {
    if (!dialog.open) settle(null);
  });
}

function readForm(root) {
  const values = {};
  for (const el of root.querySelectorAll("input, select, textarea")) {
    if (!el.id) continue;
    values[el.id] = el.type === "checkbox" ? el.checked : el.value;
  }
  return values;
}

// Opens <dialog id="confirm">; resolves with {id: value} of its fields on
// OK, null on cancel or Escape.
export function confirmDialog({title, body, ok = "OK", danger = false}) {
  const dialog = document.getElementById("confirm");
  if (dialog.open) {
    settle(null);
    dialog.close("cancel");
  }
  document.getElementById("confirm-title").textContent = title;
  const okButton = document.getElementById("confirm-ok");
  okButton.textContent = ok;
  okButton.classList.toggle("danger", danger);
  append(clear(document.getElementById("confirm-body")), [body]);
  return new Promise((resolve) => {
    pending = resolve;
    dialog.showModal();
  });
}

export function closeDialog() {
  const dialog = document.getElementById("confirm");
  if (dialog.open) dialog.close("cancel");
}
