// #/sign-in: the admin key for a session; the key is not kept by the page.
"use strict";

import {signIn} from "./api.js";
import {h} from "./ui.js";

export function signInPage(page, ctx) {
  const input = h("input", {type: "password", id: "admin-key", name: "admin-key",
    autocomplete: "off", spellcheck: "false", "aria-describedby": "admin-key-hint"});
  const error = h("p", {id: "sign-in-error", class: "form-error", role: "alert"});
  const button = h("button", {type: "submit", id: "sign-in-button"}, "Sign in");
  const form = h("form", {id: "sign-in", class: "card narrow"},
    h("div", {class: "field"},
      h("label", {for: "admin-key"}, "Admin key"),
      input,
      h("span", {class: "hint", id: "admin-key-hint"},
        "An admin key (hca_admin_…) from hostca-server init or hostca-admin. " +
        "The browser keeps only a session, never the key.")),
    error,
    h("div", {class: "buttons"}, button));
  const note = ctx.takeFlash();
  page.append(
    h("h1", null, "Sign in to hostca"),
    note ? h("p", {class: "notice", role: "status"}, note) : null,
    form);

  let busy = false;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    const key = input.value.trim();
    if (!key) {
      error.textContent = "Enter an admin key.";
      input.focus();
      return;
    }
    if (busy) return;
    busy = true;
    button.setAttribute("aria-busy", "true");
    try {
      await signIn(key);
      input.value = "";
      ctx.go("#/dashboard");
    } catch (e) {
      error.textContent = e.message || "Sign-in failed.";
      input.focus();
      input.select();
    } finally {
      busy = false;
      button.removeAttribute("aria-busy");
    }
  });
}
