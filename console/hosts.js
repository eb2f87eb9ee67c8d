// #/hosts?state=..&search=..&sort=..: the hosts, a page of 100 at a time,
// and actions on the ticked ones.
"use strict";

import {HOST_STATES, api} from "./api.js";
import {ACTIONS, askBulk, issuedTokens, resultsSection, runBulk} from "./bulk.js";
import {hostLink, scroll, stateBadge} from "./common.js";
import {clearRows, code, emptyRow, field, h, isSet, select, showError, table, td, timeEl} from "./ui.js";

const PAGE_SIZE = 100;

export function hostsHash({state, search, sort}) {
  const parts = [];
  if (state) parts.push("state=" + encodeURIComponent(state));
  if (search) parts.push("search=" + encodeURIComponent(search));
  if (sort && sort !== "name") parts.push("sort=" + encodeURIComponent(sort));
  return "#/hosts" + (parts.length ? "?" + parts.join("&") : "");
}

export async function hostsPage(page, ctx) {
  const filter = {
    search: ctx.params.get("search") || "",
    state: ctx.params.get("state") || "",
    sort: ctx.params.get("sort") || "name",
  };
  if (![...HOST_STATES, "failure", ""].includes(filter.state)) filter.state = "";
  if (!["name", "expiry"].includes(filter.sort)) filter.sort = "name";
  if (!ctx.state.issued) ctx.state.issued = {};

  // -- filter form
  const search = h("input", {type: "search", value: filter.search, autocomplete: "off", spellcheck: "false",
    placeholder: "name, alias or host ID"});
  const state = select([["", "any"], ["valid", "valid"], ["expiring", "expiring"], ["expired", "expired"],
    ["revoked", "revoked"], ["none", "none (no certificate)"], ["failure", "failure reported"]], filter.state);
  const sort = select([["name", "name"], ["expiry", "expiry (soonest first)"]], filter.sort);
  const form = h("form", {id: "host-filter", class: "toolbar", role: "search"},
    field("host-search", "Search", search),
    field("host-state", "State", state),
    field("host-sort", "Sort", sort),
    h("div", {class: "field field-button"},
      h("button", {type: "submit", id: "host-filter-apply"}, "Apply")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    ctx.go(hostsHash({state: state.value, search: search.value.trim(), sort: sort.value}));
  });

  // -- bulk actions
  const action = select(ACTIONS);
  const apply = h("button", {type: "button", id: "bulk-apply"}, "Apply to ticked hosts…");
  const tickedCount = h("span", {class: "muted", id: "ticked-count", role: "status"}, "No host ticked.");
  const bulk = h("div", {class: "toolbar bulk"},
    field("bulk-action", "Action", action),
    h("div", {class: "field field-button"}, apply),
    h("div", {class: "field field-button"}, tickedCount));

  // -- table
  const tickAll = h("input", {type: "checkbox", id: "hosts-tick-all"});
  const t = table("hosts", null, [
    {label: [h("label", {for: "hosts-tick-all", class: "visually-hidden"}, "Select all hosts on this page"), tickAll],
      class: "col-tick"},
    "Host name", "Host ID", "State", "Certificate expires", "Failure"]);
  const first = h("button", {type: "button", id: "hosts-first", class: "secondary"}, "First page");
  const next = h("button", {type: "button", id: "hosts-next", class: "secondary"}, "Next page");
  const pageInfo = h("span", {class: "muted", role: "status"});
  const results = h("div", {id: "results-slot"});
  const issued = issuedTokens(ctx.state.issued, ctx);

  page.append(h("h1", null, "Hosts"), form, bulk, results, issued.element,
    scroll(t.table), h("div", {class: "pager"}, first, next, pageInfo));

  let rows = [];           // [{host, tick}]
  let pageToken = "";      // of the page shown
  let nextToken = "";
  let pageNumber = 1;

  const ticked = () => rows.filter((r) => r.tick.checked).map((r) => r.host);
  const updateTicks = () => {
    const n = ticked().length;
    tickedCount.textContent = n === 0 ? "No host ticked." : `${n} ${n === 1 ? "host" : "hosts"} ticked.`;
    tickAll.checked = rows.length > 0 && n === rows.length;
    tickAll.indeterminate = n > 0 && n < rows.length;
  };
  tickAll.addEventListener("change", () => {
    for (const r of rows) r.tick.checked = tickAll.checked;
    updateTicks();
  });

  async function load(token) {
    const answer = await api("GET", "/api/v1/hosts", {query: {
      limit: PAGE_SIZE, search: filter.search, state: filter.state,
      sort: filter.sort === "name" ? "" : filter.sort, page_token: token}});
    if (!ctx.current()) return;
    pageToken = token;
    nextToken = answer.next_page_token || "";
    clearRows(t);
    rows = [];
    for (const host of answer.hosts || []) {
      const tick = h("input", {type: "checkbox", class: "host-tick", "aria-label": "Select " + (host.hostname || host.host_id),
        value: host.host_id});
      tick.addEventListener("change", updateTicks);
      const cert = host.current_certificate;
      const failure = isSet(host.certificate_failure_at);
      const aliases = host.aliases || [];
      t.tbody.appendChild(h("tr", {dataset: {hostId: host.host_id}, class: failure ? "has-failure" : null},
        h("td", {class: "col-tick"}, tick),
        h("td", {class: "host-name"}, hostLink(host.host_id, host.hostname),
          aliases.length ? h("span", {class: "aliases muted"}, " also " + aliases.join(", ")) : null),
        h("td", {class: "host-id"}, code(host.host_id)),
        h("td", {class: "host-state"}, stateBadge(host.state)),
        h("td", {class: "host-expiry"}, cert ? timeEl(cert.not_after) : h("span", {class: "muted"}, "—")),
        h("td", {class: "host-failure",
          title: failure ? (host.certificate_failure_verified ? "verified report: " : "unverified report: ") +
            (host.certificate_failure_detail || "") : null},
        failure ? h("span", {class: "badge failure"}, "failure") : "")));
      rows.push({host, tick});
    }
    if (!rows.length) {
      emptyRow(t, filter.search || filter.state ? "No host matches." : "No hosts yet.");
    }
    next.disabled = !nextToken;
    first.disabled = !pageToken;
    const from = (pageNumber - 1) * PAGE_SIZE + 1;
    pageInfo.textContent = rows.length ? `Hosts ${from}–${from + rows.length - 1}` +
      (nextToken ? "" : " (last page)") : "";
    updateTicks();
  }

  const reload = (token, number) => ctx.run(() => {
    pageNumber = number;
    return load(token);
  });
  next.addEventListener("click", () => {
    if (nextToken) reload(nextToken, pageNumber + 1);
  });
  first.addEventListener("click", () => reload("", 1));

  apply.addEventListener("click", async () => {
    const hosts = ticked();
    if (!hosts.length) {
      showError("Tick at least one host first.");
      return;
    }
    const values = await askBulk(action.value, hosts);
    if (!values || !ctx.current()) return;
    ctx.loading();
    const which = action.value;
    tickedCount.textContent = `Working on ${hosts.length} ${hosts.length === 1 ? "host" : "hosts"}…`;
    try {
      const res = await runBulk(which, hosts, values, (done, all) => {
        tickedCount.textContent = `Working: ${done} of ${all}…`;
      });
      if (!ctx.current()) return;
      issued.add(res);
      results.replaceChildren(resultsSection(which, res));
      await load(pageToken);
    } catch (e) {
      ctx.fail(e);
    }
    ctx.loaded();
    const title = document.getElementById("action-results-title");
    if (title && ctx.current()) title.focus();
  });

  await load("");
}
