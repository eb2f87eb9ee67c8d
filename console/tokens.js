// #/tokens: authorization and reissue tokens; a new authorization token.
"use strict";

import {api} from "./api.js";
import {hostLink, scroll, section} from "./common.js";
import {blobUrl, clearRows, code, confirmDialog, copyText, emptyRow, field, h, hoursToDuration, table, td, timeEl}
  from "./ui.js";

export async function tokensPage(page, ctx) {
  // -- the form
  const name = h("input", {type: "text", maxlength: "200", autocomplete: "off", placeholder: "rack 7 backup clients"});
  const uses = h("input", {type: "number", value: "1", min: "1", step: "1", required: true, inputmode: "numeric"});
  const hours = h("input", {type: "number", value: "24", min: "1", max: "8760", step: "1", required: true,
    inputmode: "numeric"});
  const reason = h("input", {type: "text", maxlength: "500", autocomplete: "off"});
  const allowed = h("input", {type: "text", autocomplete: "off", spellcheck: "false",
    placeholder: "db01.example.com, *.lab.example.com"});
  const create = h("button", {type: "submit", id: "token-create-button"}, "Create token");
  const form = h("form", {id: "token-create", class: "grid-form"},
    field("token-name", "Name", name),
    field("token-uses", "Uses", uses),
    field("token-valid-hours", "Valid for (hours)", hours),
    field("token-reason", "Reason (optional)", reason),
    field("token-allowed-names", "Allowed names", allowed, "Comma separated; empty: any name the CA's policy allows."),
    h("div", {class: "field field-button"}, create));

  const created = h("div", {id: "created-token-slot"});
  const deleted = h("p", {class: "notice", role: "status", tabindex: "-1", id: "token-deleted", hidden: true});

  // -- the list
  const includeDeleted = h("input", {type: "checkbox", id: "tokens-include-deleted",
    checked: ctx.state.includeDeleted === true});
  const t = table("tokens", null, ["Name", "Kind", "State", "Uses", "Expires", "Created", "Reason",
    "Names / host", {text: "Actions", class: "col-actions"}]);

  page.append(h("h1", null, "Tokens"),
    section("New authorization token",
      h("p", {class: "muted"}, "A host enrols once per use with it. The value is shown once."),
      form, created),
    section("Tokens",
      h("div", {class: "field field-check"}, includeDeleted,
        h("label", {for: "tokens-include-deleted"}, "Show deleted tokens")),
      deleted,
      scroll(t.table)));

  let createdUrl = null;
  let busy = false;
  const dropUrl = () => {
    if (createdUrl) URL.revokeObjectURL(createdUrl);
    createdUrl = null;
  };
  ctx.onLeave(dropUrl);

  function showCreated(answer, tokenName) {
    dropUrl();
    createdUrl = blobUrl(answer.token + "\n");
    const value = h("code", {id: "created-token", class: "secret"}, answer.token);
    const status = h("span", {role: "status", class: "copy-status"});
    const copy = h("button", {type: "button", id: "copy-created-token"}, "Copy");
    copy.addEventListener("click", () => copyText(answer.token, status));
    const fileName = "authorization-token.txt";
    created.replaceChildren(h("div", {class: "secret-block", id: "created-token-box"},
      h("h3", {tabindex: "-1", id: "created-token-title"}, `Token created${tokenName ? ": " + tokenName : ""}`),
      h("p", {class: "warning"}, "Shown once: copy or download it now. The server keeps only its hash."),
      h("p", {class: "token-value"}, value),
      h("p", {class: "muted"}, "Token ID ", code(answer.token_id), ", usable until ", timeEl(answer.expires_at), "."),
      h("div", {class: "buttons"}, copy,
        h("a", {id: "download-created-token", class: "button-link", href: createdUrl, download: fileName},
          "Download " + fileName),
        status)));
  }

  async function load() {
    const answer = await api("GET", "/api/v1/tokens", {query: {include_deleted: includeDeleted.checked}});
    if (!ctx.current()) return;
    clearRows(t);
    const list = (answer.tokens || []).slice()
      .sort((a, b) => String(b.created_at || "").localeCompare(String(a.created_at || "")));
    for (const tok of list) {
      const names = tok.kind === "reissue"
        ? (tok.host_id ? ["host ", hostLink(tok.host_id)] : "")
        : ((tok.allowed_names || []).length ? tok.allowed_names.join(", ") : h("span", {class: "muted"}, "CA policy"));
      let actions = "";
      if (tok.state !== "deleted") {
        actions = h("button", {type: "button", class: "delete-token danger small",
          "aria-label": "Delete token " + (tok.name || tok.token_id)}, "Delete");
        actions.addEventListener("click", () => remove(tok));
      }
      t.tbody.appendChild(h("tr", {dataset: {tokenId: tok.token_id}, class: "token-" + tok.state},
        h("td", {class: "token-name"}, tok.name),
        h("td", {class: "token-kind"}, tok.kind),
        h("td", {class: "token-state"}, tok.state),
        h("td", {class: "token-uses"}, `${tok.uses} / ${tok.max_uses}`),
        td(timeEl(tok.state === "deleted" ? tok.deleted_at : tok.expires_at)),
        td(timeEl(tok.created_at)),
        h("td", {class: "token-reason"}, tok.reason),
        td(names),
        h("td", {class: "col-actions"}, actions)));
    }
    if (!(answer.tokens || []).length) emptyRow(t, "No tokens.");
  }

  async function reload(after) {
    ctx.loading();
    try {
      await load();
      if (after) after();
    } catch (e) {
      ctx.fail(e);
    }
    ctx.loaded();
  }

  async function remove(tok) {
    const ok = await confirmDialog({
      title: "Delete token " + (tok.name || tok.token_id),
      ok: "Delete token",
      danger: true,
      body: [h("p", null, "Delete the ", tok.kind, " token ", h("strong", null, tok.name || ""), " (",
        code(tok.token_id), ")? Nobody can use it after this; it stays in the list of deleted tokens.")],
    });
    if (!ok || !ctx.current()) return;
    ctx.loading();
    try {
      await api("DELETE", "/api/v1/tokens/" + encodeURIComponent(tok.token_id));
      await load();
      if (ctx.current()) {
        deleted.textContent = `Token ${tok.name || tok.token_id} deleted.`;
        deleted.hidden = false;
        deleted.focus();
      }
    } catch (e) {
      ctx.fail(e);
    }
    ctx.loaded();
  }

  includeDeleted.addEventListener("change", () => {
    ctx.state.includeDeleted = includeDeleted.checked;
    reload();
  });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {name: name.value.trim(), max_uses: Number(uses.value || 1),
      valid_for: hoursToDuration(hours.value || 24)};
    if (reason.value.trim()) body.reason = reason.value.trim();
    const patterns = allowed.value.split(",").map((s) => s.trim()).filter(Boolean);
    if (patterns.length) body.allowed_names = patterns;
    if (busy) return;
    busy = true;
    create.setAttribute("aria-busy", "true");
    ctx.loading();
    try {
      const answer = await api("POST", "/api/v1/tokens", {body});
      if (ctx.current()) {
        showCreated(answer, body.name);
        form.reset();
        await load();
        const title = document.getElementById("created-token-title");
        if (title) title.focus();
      }
    } catch (e) {
      ctx.fail(e);
    } finally {
      busy = false;
      create.removeAttribute("aria-busy");
    }
    ctx.loaded();
  });

  await load();
}
