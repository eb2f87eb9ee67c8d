// Actions on ticked hosts (the hosts page) or on one host (the host page):
// a confirmation dialog, one call per host, and what happened to each.
"use strict";

import {REVOCATION_REASONS, api} from "./api.js";
import {hostLink} from "./common.js";
import {blobUrl, code, confirmDialog, copyText, field, h, hoursToDuration, select, timeEl} from "./ui.js";

export const ACTIONS = [
  ["revoke", "Revoke certificates"],
  ["reissue-tokens", "Create reissue tokens"],
  ["auto-reissue", "Allow auto-reissue"],
  ["acknowledge-failure", "Acknowledge certificate failure"],
];

export function actionLabel(action) {
  const a = ACTIONS.find(([v]) => v === action);
  return a ? a[1] : action;
}

function number(value, min, max) {
  return h("input", {type: "number", value: String(value), min: String(min), max: String(max),
    step: "1", required: true, inputmode: "numeric"});
}

function hostList(hosts) {
  const ul = h("ul", {class: "confirm-hosts"});
  for (const x of hosts) {
    ul.appendChild(h("li", null, h("strong", null, x.hostname || "(no name)"), " ",
      h("span", {class: "muted"}, x.host_id)));
  }
  return ul;
}

export function reasonSelect(value) {
  return select(REVOCATION_REASONS.map(([n, name]) => [String(n), `${name} (${n})`]), String(value));
}

function dialogBody(action, hosts) {
  const n = hosts.length;
  const which = n === 1 ? "this host" : `these ${n} hosts`;
  const parts = [];
  switch (action) {
    case "revoke":
      parts.push(h("p", null, `Revoke every valid certificate of ${which}. ` +
        "A revoked host cannot renew; it needs a reissue token or an auto-reissue window."),
      field("revoke-reason", "Reason (RFC 5280)", reasonSelect(0)));
      break;
    case "reissue-tokens":
      parts.push(h("p", null, `Create one single-use reissue token for each of ${which}. ` +
        "The tokens are shown once, on this page."),
      field("reissue-valid-hours", "Valid for (hours)", number(24, 1, 8760)),
      field("reissue-reason", "Reason (optional)", h("input", {type: "text", maxlength: "500"})));
      break;
    case "auto-reissue":
      parts.push(h("p", null, `Let ${which} reissue once without a token, keeping their names. ` +
        "Whoever presents the host ID in that window gets a certificate: keep it short."),
      field("auto-reissue-hours", "Window (hours, at most 48)", number(24, 1, 48)));
      break;
    case "acknowledge-failure":
      parts.push(h("p", null, `Clear the reported certificate failure of ${which}. ` +
        "The report and your note stay in the audit log."),
      field("ack-note", "Note (what you found or did)",
        h("textarea", {rows: "3", maxlength: "1000", required: true})));
      break;
    default:
      throw new Error("unknown action " + action);
  }
  parts.push(h("p", {class: "confirm-count"}, n === 1 ? "Host:" : `${n} hosts:`), hostList(hosts));
  return parts;
}

export function askBulk(action, hosts) {
  return confirmDialog({
    title: actionLabel(action) + (hosts.length === 1 ? "" : ` (${hosts.length} hosts)`),
    body: dialogBody(action, hosts),
    ok: actionLabel(action),
    danger: action === "revoke" || action === "auto-reissue",
  });
}

async function pool(items, width, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const k = next++;
      out[k] = await fn(items[k], k);
    }
  };
  await Promise.all(Array.from({length: Math.min(width, items.length)}, worker));
  return out;
}

function plural(n, one, many) {
  return n === 1 ? one : many;
}

// One call per host; resolves with [{host, ok, message: [nodes], token}].
export async function runBulk(action, hosts, values, progress) {
  let done = 0;
  let signedOut = false;
  const results = await pool(hosts, 4, async (host) => {
    if (signedOut) return {host, ok: false, message: ["not done: the session ended"]};
    try {
      let r;
      let message;
      let token = null;
      switch (action) {
        case "revoke": {
          r = await api("POST", "/api/v1/revocations",
            {body: {host_id: host.host_id, reason: Number(values["revoke-reason"] || 0)}});
          const serials = r.revoked_serials_hex || [];
          message = [`revoked ${serials.length} ${plural(serials.length, "certificate", "certificates")}`,
            serials.length ? ": " : "", serials.map((s, i) => [i ? ", " : "", code(s)])];
          break;
        }
        case "reissue-tokens": {
          const body = {host_id: host.host_id, valid_for: hoursToDuration(values["reissue-valid-hours"] || 24)};
          if (values["reissue-reason"]) body.reason = values["reissue-reason"];
          r = await api("POST", "/api/v1/reissue-tokens", {body});
          token = r.token;
          message = ["reissue token created, usable until ", timeEl(r.expires_at)];
          break;
        }
        case "auto-reissue":
          r = await api("POST", "/api/v1/auto-reissue",
            {body: {host_id: host.host_id, valid_for: hoursToDuration(values["auto-reissue-hours"] || 24)}});
          message = ["may reissue without a token until ", timeEl(r.until)];
          break;
        case "acknowledge-failure":
          await api("POST", "/api/v1/failure-acknowledgements",
            {body: {host_id: host.host_id, note: values["ack-note"] || ""}});
          message = ["certificate failure acknowledged"];
          break;
        default:
          throw new Error("unknown action " + action);
      }
      return {host, ok: true, message, token};
    } catch (e) {
      if (e.status === 401) signedOut = true;
      return {host, ok: false, message: ["failed: " + (e.code ? e.code + ": " : "") + e.message]};
    } finally {
      done++;
      if (progress) progress(done, hosts.length);
    }
  });
  return results;
}

// <section> with ul#action-results: one li per host, data-outcome ok|error.
export function resultsSection(action, results) {
  const ok = results.filter((r) => r.ok).length;
  const heading = h("h2", {tabindex: "-1", id: "action-results-title"},
    `${actionLabel(action)}: ${ok} of ${results.length} done`);
  const ul = h("ul", {id: "action-results", class: "results", dataset: {action}});
  for (const r of results) {
    ul.appendChild(h("li", {dataset: {hostId: r.host.host_id, outcome: r.ok ? "ok" : "error"},
      class: r.ok ? "ok" : "error"},
    h("span", {class: "outcome-mark", "aria-hidden": "true"}, r.ok ? "✓" : "✗"), " ",
    hostLink(r.host.host_id, r.host.hostname || r.host.host_id), ": ", r.message));
  }
  return h("section", {class: "block results-block", id: "action-results-section"}, heading, ul);
}

// section#issued-tokens: the reissue tokens made on this page, shown once.
// `state.lines` outlives a re-render of the same page; the Blob URL does not.
export function issuedTokens(state, ctx) {
  if (!state.lines) state.lines = [];
  const text = h("textarea", {id: "issued-tokens-text", readOnly: true, rows: "4",
    spellcheck: "false", autocomplete: "off", class: "secret"});
  const status = h("span", {role: "status", class: "copy-status"});
  const copy = h("button", {type: "button", id: "copy-tokens"}, "Copy");
  const download = h("a", {id: "download-tokens", class: "button-link", download: "reissue-tokens.txt",
    href: "#"}, "Download reissue-tokens.txt");
  const sec = h("section", {id: "issued-tokens", class: "block secret-block"},
    h("h2", null, "Reissue tokens"),
    h("p", {class: "warning"}, "Shown once: copy or download them now. The server keeps only their hashes, " +
      "and they are gone from this page when you leave it. Each line: host name, host ID, token."),
    h("label", {for: "issued-tokens-text"}, "Reissue tokens"),
    text,
    h("div", {class: "buttons"}, copy, download, status));
  let url = null;
  const dropUrl = () => {
    if (url) URL.revokeObjectURL(url);
    url = null;
  };
  const update = () => {
    sec.hidden = state.lines.length === 0;
    text.value = state.lines.join("\n");
    text.rows = String(Math.min(Math.max(state.lines.length, 2), 12));
    dropUrl();
    if (state.lines.length) {
      url = blobUrl(state.lines.join("\n") + "\n");
      download.href = url;
    } else {
      download.setAttribute("href", "#");
    }
  };
  copy.addEventListener("click", () => copyText(text.value, status, text));
  ctx.onLeave(dropUrl);
  update();
  return {
    element: sec,
    add(results) {
      for (const r of results) {
        if (r.ok && r.token) state.lines.push(`${r.host.hostname || "-"} ${r.host.host_id} ${r.token}`);
      }
      status.textContent = "";
      update();
    },
  };
}
