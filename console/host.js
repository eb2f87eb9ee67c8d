// #/hosts/<host_id>: one host, its names, certificates, failure report and
// audit events.
"use strict";

import {api, reasonName} from "./api.js";
import {askBulk, issuedTokens, reasonSelect, resultsSection, runBulk} from "./bulk.js";
import {AUDIT_COLUMNS, auditRow, scroll, section, stateBadge} from "./common.js";
import {clear, code, confirmDialog, emptyRow, field, h, isSet, table, td, timeEl} from "./ui.js";

function facts(pairs) {
  const dl = h("dl", {class: "facts"});
  for (const [k, v] of pairs) dl.append(h("dt", null, k), h("dd", null, v));
  return dl;
}

export async function hostPage(page, ctx) {
  const hostId = ctx.id;
  if (ctx.state.hostId !== hostId) {
    ctx.state.hostId = hostId;
    ctx.state.issued = {};
  }
  const title = h("h1", {id: "host-title"}, "Host");
  const results = h("div", {id: "results-slot"});
  const issued = issuedTokens(ctx.state.issued, ctx);
  const body = h("div");
  page.append(h("p", {class: "crumbs"}, h("a", {href: "#/hosts"}, "Hosts"), " / "),
    title, results, issued.element, body);

  let host = null;

  async function act(action) {
    const one = [{host_id: host.host_id, hostname: host.hostname}];
    const values = await askBulk(action, one);
    if (!values || !ctx.current()) return;
    ctx.loading();
    try {
      const res = await runBulk(action, one, values);
      if (!ctx.current()) return;
      issued.add(res);
      results.replaceChildren(resultsSection(action, res));
      await load();
    } catch (e) {
      ctx.fail(e);
    }
    ctx.loaded();
    const t = document.getElementById("action-results-title");
    if (t && ctx.current()) t.focus();
  }

  async function releaseName(name, isHostname) {
    const revoke = h("input", {type: "checkbox", id: "release-revoke"});
    const values = await confirmDialog({
      title: `Release the name ${name}`,
      ok: "Release name",
      danger: true,
      body: [
        h("p", null, "Take ", h("strong", null, name), ` from host ${host.hostname} (`, code(host.host_id),
          ") so that another host may have it.",
          isHostname ? " It is the host's name: the host needs a new name at its next reissue." : ""),
        h("div", {class: "field field-check"}, revoke,
          h("label", {for: "release-revoke"}, "Also revoke this host's valid certificates that carry the name " +
            "(otherwise such certificates refuse the release)")),
        field("release-reason", "Reason for those revocations", reasonSelect(5)),
      ],
    });
    if (!values || !ctx.current()) return;
    ctx.loading();
    try {
      const req = {host_id: host.host_id, name};
      if (values["release-revoke"]) {
        req.revoke_certificates = true;
        req.reason = Number(values["release-reason"] || 5);
      }
      const r = await api("POST", "/api/v1/name-releases", {body: req});
      const serials = r.revoked_serials_hex || [];
      await load();
      if (ctx.current()) {
        const done = h("p", {class: "notice", role: "status", id: "release-result", tabindex: "-1"},
          `Released ${name}.`, serials.length ? ` Revoked: ${serials.join(", ")}.` : "");
        results.replaceChildren(done);
        done.focus();
      }
    } catch (e) {
      ctx.fail(e);
    }
    ctx.loaded();
  }

  function render(answer, audit, auditError) {
    host = answer.host || {};
    const certs = answer.certificates || [];
    title.textContent = host.hostname || host.host_id || hostId;
    document.title = (host.hostname || "Host") + " · hostca";
    clear(body);

    // Summary and actions
    const cert = host.current_certificate;
    const actions = h("div", {class: "buttons"});
    for (const [action, label] of [["revoke", "Revoke certificates…"], ["reissue-tokens", "Create reissue token…"],
      ["auto-reissue", "Allow auto-reissue…"]]) {
      const b = h("button", {type: "button", class: action === "revoke" ? "danger" : "secondary",
        id: "host-action-" + action}, label);
      b.addEventListener("click", () => act(action));
      actions.appendChild(b);
    }
    body.append(facts([
      ["Host ID", code(host.host_id)],
      ["State", h("span", {id: "host-state"}, stateBadge(host.state))],
      ["Newest certificate ends", cert ? timeEl(cert.not_after) : "no certificate"],
      ["Created", timeEl(host.created_at)],
      ["Auto-reissue allowed until", timeEl(host.auto_reissue_until, "not allowed")],
    ]), actions);

    // Names
    const names = h("ul", {id: "host-names", class: "names"});
    const all = [[host.hostname, true], ...(host.aliases || []).map((a) => [a, false])];
    for (const [name, isHostname] of all) {
      if (!name) continue;
      const b = h("button", {type: "button", class: "release-name secondary small",
        "aria-label": "Release the name " + name, dataset: {name}}, "Release");
      b.addEventListener("click", () => releaseName(name, isHostname));
      names.appendChild(h("li", {dataset: {name}}, h("span", {class: "name"}, name), " ",
        h("span", {class: "muted"}, isHostname ? "(host name)" : "(alias)"), " ", b));
    }
    if (!names.children.length) names.appendChild(h("li", {class: "muted"}, "The host holds no name."));
    body.append(section("Names", names));

    // Failure
    const failure = h("div", {id: "host-failure"});
    if (isSet(host.certificate_failure_at)) {
      failure.classList.add("alert-box");
      const note = h("textarea", {rows: "3", maxlength: "1000", required: true});
      const form = h("form", {id: "host-ack", class: "stack"},
        field("host-ack-note", "Note (what you found or did)", note),
        h("div", {class: "buttons"}, h("button", {type: "submit", id: "host-ack-button"}, "Acknowledge")));
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        ctx.loading();
        try {
          await api("POST", "/api/v1/failure-acknowledgements", {body: {host_id: host.host_id, note: note.value}});
          await load();
          if (ctx.current()) {
            const done = h("p", {class: "notice", role: "status", tabindex: "-1"}, "Certificate failure acknowledged.");
            results.replaceChildren(done);
            done.focus();
          }
        } catch (e) {
          ctx.fail(e);
        }
        ctx.loaded();
      });
      failure.append(
        h("p", null, h("strong", null, "Certificate failure reported"), " at ", timeEl(host.certificate_failure_at),
          ", ", h("span", {class: "failure-verified"}, host.certificate_failure_verified
            ? "verified (sent with the host's own certificate)"
            : "unverified (anyone could have sent it)"), "."),
        h("p", null, "Detail: ", h("span", {class: "failure-detail"}, host.certificate_failure_detail || "—")),
        form);
    } else {
      failure.append(h("p", {class: "muted"}, "No certificate failure reported."));
    }
    body.append(section("Certificate failure", failure));

    // Certificates
    const ct = table("host-certificates", null, ["Serial", "Kind", "Not before", "Not after", "State",
      "Revoked", "Revocation reason"]);
    for (const c of certs) {
      ct.tbody.appendChild(h("tr", {dataset: {serial: c.serial_hex}, class: "cert-" + c.state},
        h("td", {class: "serial"}, code(c.serial_hex)), td(c.kind), td(timeEl(c.not_before)),
        td(timeEl(c.not_after)), h("td", {class: "cert-state"}, stateBadge(c.state)),
        td(c.revoked ? timeEl(c.revoked_at) : ""),
        h("td", {class: "cert-reason"}, c.revoked ? reasonName(c.revocation_reason) : "")));
    }
    if (!certs.length) emptyRow(ct, "No certificates.");
    body.append(section("Certificates", scroll(ct.table)));

    // Audit
    const at = table("host-audit", null, AUDIT_COLUMNS);
    for (const e of (audit && audit.events) || []) at.tbody.appendChild(auditRow(e));
    if (auditError) emptyRow(at, "The audit events could not be read: " + auditError.message);
    else if (!((audit && audit.events) || []).length) emptyRow(at, "No events.");
    body.append(section("Audit events", scroll(at.table),
      h("p", null, h("a", {href: "#/audit?subject=" + encodeURIComponent(host.host_id)},
        "These events in the audit log"), " (the first 100 are shown here, oldest first)")));
  }

  async function load() {
    const [answer, audit] = await Promise.allSettled([
      api("GET", "/api/v1/hosts/" + encodeURIComponent(hostId)),
      api("GET", "/api/v1/audit", {query: {subject: hostId, limit: 100}}),
    ]);
    if (!ctx.current()) return;
    if (answer.status === "rejected") {
      title.textContent = "Host " + hostId;
      clear(body);
      body.append(h("p", {class: "muted"}, "This host could not be shown."),
        h("p", null, h("a", {href: "#/hosts"}, "Back to the hosts")));
      throw answer.reason;
    }
    render(answer.value, audit.status === "fulfilled" ? audit.value : null,
      audit.status === "rejected" ? audit.reason : null);
  }

  await load();
}
