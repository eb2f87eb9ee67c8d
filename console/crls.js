// #/crls: the CA certificates (GET /api/v1/ca) and every CRL shard of one
// CA key (GET /api/v1/crl-shards), a page at a time.
"use strict";

import {api} from "./api.js";
import {CRL_SHARD_COLUMNS, crlShardRow, scroll, section, yesNo} from "./common.js";
import {clearRows, code, emptyRow, field, h, select, table, td, timeEl} from "./ui.js";

const PAGE_SIZE = 256;

function links(k) {
  const out = [];
  if (k.new_with_old_sha256) out.push(h("div", null, "new with old: ", code(k.new_with_old_sha256)));
  if (k.old_with_new_sha256) out.push(h("div", null, "old with new: ", code(k.old_with_new_sha256)));
  return out.length ? out : h("span", {class: "muted"}, "none");
}

export async function crlsPage(page, ctx) {
  page.append(h("h1", null, "CRLs and CA"));
  const ca = await api("GET", "/api/v1/ca");
  if (!ctx.current()) return;
  const keys = ca.keys || [];

  // -- CA
  const ct = table("ca-certificates", null, ["Generation", "State", "Not after", "SHA-256 fingerprint",
    "SPKI SHA-256", "Key algorithm", "Key held in", "Emergency", "CRLs published", "Hosts trusting", "Valid certificates", "Link certificates (SHA-256)"]);
  for (const k of keys) {
    ct.tbody.appendChild(h("tr", {dataset: {generation: String(k.generation)}, class: "ca-" + k.state},
      td(String(k.generation)), h("td", {class: "ca-state"}, k.state), td(timeEl(k.not_after)),
      h("td", {class: "fingerprint"}, code(k.sha256_fingerprint)),
      h("td", {class: "fingerprint"}, code(k.spki_sha256)),
      td(k.key_algorithm), h("td", {class: "key-held-in"}, k.held_in || "database"), td(yesNo(k.emergency)), td(yesNo(k.publishing)),
      td(String(k.hosts_trusting)), td(String(k.valid_certificates)),
      h("td", {class: "fingerprint"}, links(k))));
  }
  if (!keys.length) emptyRow(ct, "No CA keys.");
  const warning = h("p", {id: "ca-warning", class: "warning", role: "note"}, ca.warning || "");
  warning.hidden = !ca.warning;
  page.append(section("CA certificates",
    warning,
    h("dl", {class: "facts"},
      h("dt", null, "Rollover phase"), h("dd", null, h("span", {id: "rollover-phase"}, ca.phase || "none")),
      h("dt", null, "Hosts reporting their trusted keys"),
      h("dd", null, `${ca.hosts_reporting || "0"} of ${ca.hosts || "0"}`)),
    scroll(ct.table),
    h("p", null, h("a", {id: "download-ca-pem", class: "button-link secondary", href: "/api/v1/ca.pem",
      download: "hostca-ca.pem"}, "Download the CA certificates (PEM)"),
    " ", h("span", {class: "muted"}, "every CA certificate and link certificate"))));

  // -- CRL shards
  const publishing = keys.filter((k) => k.publishing);
  const choices = (publishing.length ? publishing : keys)
    .slice().sort((a, b) => Number(b.generation) - Number(a.generation));
  const active = keys.find((k) => k.state === "active");
  const generation = select(choices.map((k) => [String(k.generation), `g${k.generation} (${k.state})`]));
  if (ctx.state.generation && choices.some((k) => String(k.generation) === ctx.state.generation)) {
    generation.value = ctx.state.generation;
  } else if (active) {
    generation.value = String(active.generation);
  }
  const st = table("crl-shards-all", null, CRL_SHARD_COLUMNS);
  const first = h("button", {type: "button", id: "crl-first", class: "secondary"}, "First page");
  const next = h("button", {type: "button", id: "crl-next", class: "secondary"}, "Next page");
  const info = h("span", {class: "muted", role: "status"});
  page.append(section("CRL shards",
    h("div", {class: "toolbar"}, field("crl-generation", "CA key", generation)),
    h("p", {class: "muted"}, "A stale CRL is past its next update: relying parties that check CRLs refuse " +
      "the certificates of its shard."),
    scroll(st.table), h("div", {class: "pager"}, first, next, info)));

  let after = null;
  let nextAfter = null;

  async function load(afterShard) {
    const q = {ca_generation: generation.value || "", limit: PAGE_SIZE};
    if (afterShard !== null) q.after_shard = String(afterShard);
    const answer = await api("GET", "/api/v1/crl-shards", {query: q});
    if (!ctx.current()) return;
    after = afterShard;
    const shards = answer.shards || [];
    nextAfter = answer.next_after_shard === undefined || answer.next_after_shard === null
      ? null : answer.next_after_shard;
    clearRows(st);
    for (const s of shards) st.tbody.appendChild(crlShardRow(s));
    if (!shards.length) emptyRow(st, "No CRL shards.");
    const stale = shards.filter((s) => s.stale).length;
    next.disabled = nextAfter === null;
    first.disabled = after === null;
    info.textContent = `${shards.length} shown` + (stale ? `, ${stale} stale` : "") +
      (nextAfter === null ? " (the last page)" : "");
  }

  const reload = (from) => ctx.run(() => load(from));
  generation.addEventListener("change", () => {
    ctx.state.generation = generation.value;
    reload(null);
  });
  next.addEventListener("click", () => {
    if (nextAfter !== null) reload(nextAfter);
  });
  first.addEventListener("click", () => reload(null));

  await load(null);
}
