// #/dashboard: GET /api/v1/dashboard (GetDashboardResponse) in one call.
"use strict";

import {api} from "./api.js";
import {CRL_SHARD_COLUMNS, crlShardRow, scroll, section, yesNo} from "./common.js";
import {code, emptyRow, h, table, td, timeEl} from "./ui.js";

function stat(field, value, label, href, tone) {
  const n = String(value === undefined || value === null ? "0" : value);
  const warn = tone && n !== "0" ? " tone-" + tone : "";
  const inner = [h("span", {class: "stat-num", dataset: {count: field}}, n),
    h("span", {class: "stat-label"}, label)];
  return href
    ? h("a", {class: "stat" + warn, href}, inner)
    : h("div", {class: "stat" + warn}, inner);
}

// The dashboard's keys come without the per-key counts (each a scan of the
// fleet); the CRLs & CA page (GetCaStatus) shows them.
export function caKeysTable(keys) {
  const t = table("ca-keys", "CA keys", ["Generation", "State", "Not after", "SHA-256 fingerprint",
    "Key algorithm", "CRLs published"]);
  for (const k of keys || []) {
    t.tbody.appendChild(h("tr", {dataset: {generation: String(k.generation)}, class: "ca-" + k.state},
      td(String(k.generation)), td(k.state), td(timeEl(k.not_after)),
      h("td", {class: "fingerprint"}, code(k.sha256_fingerprint)),
      td(k.key_algorithm), td(yesNo(k.publishing))));
  }
  if (!(keys || []).length) emptyRow(t, "No CA keys.");
  return t.table;
}

export async function dashboardPage(page, ctx) {
  page.append(h("h1", null, "Dashboard"));
  const d = await api("GET", "/api/v1/dashboard");
  if (!ctx.current()) return;

  const hosts = d.hosts || {};
  const tokens = d.tokens || {};
  const days = d.expiring_within_days || 30;
  page.append(h("p", {class: "muted"}, "As of ", timeEl(d.as_of), "."));

  page.append(section("Hosts",
    h("div", {class: "stats"},
      stat("hosts", hosts.hosts, "hosts", "#/hosts"),
      stat("valid", hosts.valid, "valid", "#/hosts?state=valid"),
      stat("expiring", hosts.expiring, `expiring within ${days} days`, "#/hosts?state=expiring", "warn"),
      stat("expired", hosts.expired, "expired", "#/hosts?state=expired", "bad"),
      stat("revoked", hosts.revoked, "revoked", "#/hosts?state=revoked", "bad"),
      stat("none", hosts.none, "without a certificate", "#/hosts?state=none"),
      stat("failure_reported", hosts.failure_reported, "certificate failure reported",
        "#/hosts?state=failure", "bad"),
      stat("auto_reissue_allowed", hosts.auto_reissue_allowed, "may auto-reissue now", null, "warn"))));

  page.append(section("Tokens",
    h("div", {class: "stats"},
      stat("authorization_usable", tokens.authorization_usable, "usable authorization tokens", "#/tokens"),
      stat("authorization_uses_left", tokens.authorization_uses_left, "enrolments left on them", null),
      stat("reissue_usable", tokens.reissue_usable, "usable reissue tokens", "#/tokens"),
      stat("expiring_within_a_day", tokens.expiring_within_a_day, "expire within a day", null, "warn"))));

  // CRLs
  const summary = table("crl-summary", "CRLs per CA key", ["CA generation", "Shards", "Stale shards",
    "Status", "Soonest next update", "CRL numbers"]);
  for (const c of d.crl_summary || []) {
    const stale = Number(c.stale || 0) > 0;
    summary.tbody.appendChild(h("tr", {dataset: {generation: String(c.ca_generation)},
      class: stale ? "stale" : null},
    td(String(c.ca_generation)), td(String(c.shards)), td(String(c.stale)),
    h("td", {class: "crl-status"}, stale ? h("strong", null, `${c.stale} stale`) : "current"),
    td(timeEl(c.soonest_next_update, "never")),
    td(c.lowest_crl_number === c.highest_crl_number ? String(c.lowest_crl_number)
      : `${c.lowest_crl_number} – ${c.highest_crl_number}`)));
  }
  if (!(d.crl_summary || []).length) emptyRow(summary, "No CRLs published.");

  const shards = table("crl-shards", "The shards whose next update comes first", CRL_SHARD_COLUMNS);
  for (const s of d.crl_shards || []) shards.tbody.appendChild(crlShardRow(s));
  if (!(d.crl_shards || []).length) emptyRow(shards, "No CRL shards.");

  page.append(section("CRLs", scroll(summary.table), scroll(shards.table),
    h("p", null, h("a", {href: "#/crls"}, "All shards and the CA certificates"))));

  // CA
  const ca = d.ca || {};
  const warning = h("p", {id: "ca-warning", class: "warning", role: "note"}, ca.warning || "");
  warning.hidden = !ca.warning;
  page.append(section("CA",
    warning,
    h("dl", {class: "facts"},
      h("dt", null, "Rollover phase"), h("dd", null, h("span", {id: "rollover-phase"}, ca.phase || "none")),
      h("dt", null, "CRLs published for"),
      h("dd", null, (ca.keys || []).filter((k) => k.publishing).map((k) => "g" + k.generation).join(", ") || "—"),
      h("dt", null, "Emergency keys"),
      h("dd", null, yesNo((ca.keys || []).some((k) => k.emergency)))),
    scroll(caKeysTable(ca.keys)),
    h("p", null, h("a", {href: "#/crls"}, "Hosts trusting each key, and its valid certificates"))));

  // Recent events
  const list = h("ol", {id: "recent-events", class: "events"});
  for (const e of d.recent_events || []) {
    list.appendChild(h("li", {dataset: {sequence: String(e.sequence)},
      class: e.outcome && e.outcome !== "ok" ? "refused" : null},
    timeEl(e.at), " ",
    h("span", {class: "ev-action"}, e.action), " ",
    h("span", {class: "ev-subject"}, e.subject), " by ",
    h("span", {class: "ev-actor"}, e.actor), " ",
    h("span", {class: "ev-outcome"}, e.outcome)));
  }
  if (!(d.recent_events || []).length) list.appendChild(h("li", {class: "muted"}, "No events yet."));
  page.append(section("Recent events", list, h("p", null, h("a", {href: "#/audit"}, "The audit log"))));
}
