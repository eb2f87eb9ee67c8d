// #/audit?action=..&actor=..&subject=..&since=..&until=..: the audit log,
// oldest first, 100 events a page; the same filters export as JSON lines.
"use strict";

import {api, query} from "./api.js";
import {AUDIT_COLUMNS, auditRow, scroll} from "./common.js";
import {clearRows, emptyRow, field, h, localInputToUtc, table, utcToLocalInput} from "./ui.js";

const PAGE_SIZE = 100;

const KNOWN_ACTIONS = ["admin.refused", "admin_key.create", "ca.init", "certificate.issue", "certificate.renew",
  "certificate.reissue", "certificate.revoke", "console.sign_in", "console.sign_out", "crl.publish",
  "host.allow_auto_reissue", "host.certificate_failure", "host.failure_acknowledged", "host.release_name",
  "token.create", "token.delete", "token.use", "token.refused", "token.rate_limited"];

function auditHash(f) {
  const parts = [];
  for (const k of ["action", "actor", "subject", "since", "until"]) {
    if (f[k]) parts.push(k + "=" + encodeURIComponent(f[k]));
  }
  return "#/audit" + (parts.length ? "?" + parts.join("&") : "");
}

export async function auditPage(page, ctx) {
  const filter = {};
  for (const k of ["action", "actor", "subject", "since", "until"]) filter[k] = ctx.params.get(k) || "";

  const action = h("input", {type: "text", value: filter.action, list: "audit-actions", autocomplete: "off",
    spellcheck: "false", placeholder: "token.create"});
  const actor = h("input", {type: "text", value: filter.actor, autocomplete: "off", spellcheck: "false",
    placeholder: "admin:<key ID>"});
  const subject = h("input", {type: "text", value: filter.subject, autocomplete: "off", spellcheck: "false",
    placeholder: "host ID, token ID, serial"});
  const since = h("input", {type: "datetime-local", value: utcToLocalInput(filter.since), step: "1"});
  const until = h("input", {type: "datetime-local", value: utcToLocalInput(filter.until), step: "1"});
  const datalist = h("datalist", {id: "audit-actions"}, KNOWN_ACTIONS.map((a) => h("option", {value: a})));
  const clearButton = h("button", {type: "button", id: "audit-clear", class: "secondary"}, "Clear");
  const form = h("form", {id: "audit-filter", class: "toolbar"},
    field("audit-action", "Action", action),
    field("audit-actor", "Actor", actor),
    field("audit-subject", "Subject", subject),
    field("audit-since", "Since (your time)", since),
    field("audit-until", "Until (your time)", until),
    h("div", {class: "field field-button"},
      h("button", {type: "submit", id: "audit-apply"}, "Apply"), " ", clearButton),
    datalist);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    ctx.go(auditHash({
      action: action.value.trim(), actor: actor.value.trim(), subject: subject.value.trim(),
      since: localInputToUtc(since.value), until: localInputToUtc(until.value),
    }));
  });
  clearButton.addEventListener("click", () => ctx.go("#/audit"));

  const exportQuery = query({action: filter.action, actor: filter.actor, subject: filter.subject,
    since: filter.since, until: filter.until});
  const exportLink = h("a", {id: "audit-export", class: "button-link secondary",
    href: "/api/v1/audit.jsonl?" + exportQuery.replace(/^\?/, ""), download: "audit.jsonl"},
  "Export as JSON lines");

  const t = table("audit", null, AUDIT_COLUMNS);
  const first = h("button", {type: "button", id: "audit-first", class: "secondary"}, "First page");
  const next = h("button", {type: "button", id: "audit-next", class: "secondary"}, "Next page");
  const info = h("span", {class: "muted", role: "status"});
  page.append(h("h1", null, "Audit log"), form,
    h("p", {class: "muted"}, "Oldest first. Filters are exact matches. The export gives up to 10,000 events " +
      "with the same filters.", " ", exportLink),
    scroll(t.table), h("div", {class: "pager"}, first, next, info));

  let after = "0";
  let last = "0";
  let full = false;

  async function load(afterSequence) {
    const answer = await api("GET", "/api/v1/audit", {query: {
      action: filter.action, actor: filter.actor, subject: filter.subject,
      since: filter.since, until: filter.until,
      after_sequence: afterSequence === "0" ? "" : afterSequence, limit: PAGE_SIZE}});
    if (!ctx.current()) return;
    const events = answer.events || [];
    after = afterSequence;
    clearRows(t);
    for (const e of events) t.tbody.appendChild(auditRow(e));
    if (!events.length) {
      emptyRow(t, after === "0" ? "No events match." : "No more events.");
    }
    full = events.length >= PAGE_SIZE;
    last = events.length ? String(events[events.length - 1].sequence) : after;
    next.disabled = !full;
    first.disabled = after === "0";
    info.textContent = events.length ? `${events.length} events` + (full ? "" : " (the last page)") : "";
  }

  const reload = (from) => ctx.run(() => load(from));
  next.addEventListener("click", () => {
    if (full) reload(last);
  });
  first.addEventListener("click", () => reload("0"));

  await load("0");
}
