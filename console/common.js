// Rows and pieces more than one page shows.
"use strict";

import {crlPath} from "./api.js";
import {code, h, td, timeEl} from "./ui.js";

export function hostLink(hostId, text) {
  return h("a", {href: "#/hosts/" + encodeURIComponent(hostId)}, text || hostId);
}

export function stateBadge(state) {
  return h("span", {class: "badge state-" + (state || "none").replace(/[^a-z_]/g, "")}, state || "none");
}

export function yesNo(value) {
  return value ? "yes" : "no";
}

export function shardName(shard) {
  return Number(shard) < 0 ? "CA (−1)" : String(shard);
}

// Columns of a CRL shard row (dashboard #crl-shards, CRLs #crl-shards-all).
export const CRL_SHARD_COLUMNS = ["CA generation", "Shard", "Status", "CRL number",
  "This update", "Next update", "Download"];

export function crlShardRow(s) {
  const path = crlPath(s.ca_generation, s.shard);
  const file = `hostca-g${s.ca_generation}-${Number(s.shard) < 0 ? "ca" : s.shard}.crl`;
  return h("tr", {dataset: {shard: String(s.shard), generation: String(s.ca_generation)},
    class: s.stale ? "stale" : null},
  td(String(s.ca_generation)),
  td(shardName(s.shard)),
  h("td", {class: "crl-status"}, s.stale ? h("strong", null, "stale") : "current"),
  td(String(s.crl_number)),
  td(timeEl(s.this_update, "never")),
  td(timeEl(s.next_update, "never")),
  td(h("a", {href: path, download: file, class: "crl-download",
    "aria-label": `Download the CRL of generation ${s.ca_generation}, shard ${shardName(s.shard)}`}, "CRL")));
}

// An audit event as a table row (audit page, host page).
export const AUDIT_COLUMNS = ["Time", "Actor", "Action", "Subject", "Outcome", "Details"];

export function auditRow(e) {
  return h("tr", {dataset: {sequence: String(e.sequence)},
    class: e.outcome && e.outcome !== "ok" ? "refused" : null},
  td(timeEl(e.at)),
  h("td", {class: "audit-actor"}, e.actor),
  h("td", {class: "audit-action"}, e.action),
  h("td", {class: "audit-subject"}, e.subject),
  h("td", {class: "audit-outcome"}, e.outcome),
  h("td", {class: "audit-details"}, e.details_json && e.details_json !== "{}" ? code(e.details_json) : ""));
}

export function section(title, ...children) {
  return h("section", {class: "block"}, h("h2", null, title), ...children);
}

export function scroll(tableEl) {
  return h("div", {class: "table-scroll"}, tableEl);
}
