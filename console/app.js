// hostca admin console: the router, the navigation and the session.
// Pages live in their own modules; each renders into <main id="page">.
"use strict";

import {currentSession, loadSession, onUnauthorized, signOut} from "./api.js";
import {clearError, closeDialog, initDialog, showError} from "./ui.js";
import {signInPage} from "./sign-in.js";
import {dashboardPage} from "./dashboard.js";
import {hostsPage} from "./hosts.js";
import {hostPage} from "./host.js";
import {tokensPage} from "./tokens.js";
import {auditPage} from "./audit.js";
import {crlsPage} from "./crls.js";

const pages = {
  "sign-in": {render: signInPage, title: "Sign in"},
  dashboard: {render: dashboardPage, title: "Dashboard", nav: "dashboard"},
  hosts: {render: hostsPage, title: "Hosts", nav: "hosts"},
  host: {render: hostPage, title: "Host", nav: "hosts"},
  tokens: {render: tokensPage, title: "Tokens", nav: "tokens"},
  audit: {render: auditPage, title: "Audit", nav: "audit"},
  crls: {render: crlsPage, title: "CRLs & CA", nav: "crls"},
};

const page = document.getElementById("page");
const nav = document.getElementById("nav");

let seq = 0;            // bumped by every navigation; stale renders check it
let leaveHandlers = [];
let lastName = null;
let pageState = {};     // kept while the route stays on the same page
let flash = "";         // a note for the sign-in page

function parseHash() {
  const raw = location.hash.replace(/^#/, "");
  const q = raw.indexOf("?");
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
  const parts = path.split("/").filter(Boolean);
  let name = parts[0] || "";
  let id = null;
  if (name === "hosts" && parts.length > 1) {
    name = "host";
    try {
      id = decodeURIComponent(parts.slice(1).join("/"));
    } catch (_) {
      id = parts.slice(1).join("/");
    }
  } else if (parts.length !== 1 || name === "host" || !(name in pages)) {
    name = null;
  }
  return {name, id, params};
}

function replaceHash(hash) {
  history.replaceState(null, "", hash);
}

// Goes to `hash`; #page loses data-loaded at once, so nobody reads the old page.
export function go(hash) {
  page.removeAttribute("data-loaded");
  if (location.hash === hash) {
    render();
  } else {
    location.hash = hash;
  }
}

function markNav(name) {
  const s = currentSession();
  nav.hidden = !s;
  document.getElementById("whoami").textContent = s ? "admin key " + s.key_id : "";
  const current = name && pages[name] ? pages[name].nav : null;
  for (const a of nav.querySelectorAll("a[data-nav]")) {
    if (a.dataset.nav === current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

async function render() {
  let route = parseHash();
  const session = currentSession();
  if (!route.name) {
    replaceHash(session ? "#/dashboard" : "#/sign-in");
    route = parseHash();
  }
  if (!session && route.name !== "sign-in") {
    replaceHash("#/sign-in");
    route = parseHash();
  }
  const my = ++seq;
  for (const fn of leaveHandlers) {
    try {
      fn();
    } catch (_) {
      // leaving must not fail
    }
  }
  leaveHandlers = [];
  if (route.name !== lastName) pageState = {};
  lastName = route.name;
  closeDialog();
  clearError();
  page.removeAttribute("data-loaded");
  page.dataset.page = route.name;
  page.replaceChildren();
  markNav(route.name);
  document.title = pages[route.name].title + " · hostca";

  const ctx = {
    id: route.id,
    params: route.params,
    state: pageState,
    current: () => my === seq,
    loading() {
      if (my !== seq) return;
      page.removeAttribute("data-loaded");
      clearError();
    },
    loaded() {
      if (my !== seq) return;
      page.dataset.loaded = "true";
      // A control that was removed by the re-render took the focus with it.
      const active = document.activeElement;
      if (!active || active === document.body) {
        const h1 = page.querySelector("h1");
        if (h1) h1.focus();
      }
    },
    onLeave(fn) {
      leaveHandlers.push(fn);
    },
    // Shows an error of a call in the error area (a 401 has gone to sign-in).
    fail(e) {
      if (my !== seq || (e && e.status === 401)) return;
      showError(e && e.message ? e.message : String(e));
    },
    // Runs `work` (a reload of part of the page) between loading() and
    // loaded(), showing its error if it fails.
    async run(work) {
      ctx.loading();
      try {
        await work();
      } catch (e) {
        ctx.fail(e);
      }
      ctx.loaded();
    },
    go,
    takeFlash() {
      const f = flash;
      flash = "";
      return f;
    },
  };

  let done;
  try {
    done = pages[route.name].render(page, ctx);
  } catch (e) {
    ctx.fail(e);
  }
  const h1 = page.querySelector("h1");
  if (h1) {
    h1.tabIndex = -1;
    h1.focus();
  }
  try {
    await done;
  } catch (e) {
    ctx.fail(e);
  }
  ctx.loaded();
}

onUnauthorized(() => {
  flash = "Your session has ended. Sign in again.";
  markNav(null);
  if (location.hash !== "#/sign-in") go("#/sign-in");
});

// A click on an in-app link: the old page is not "loaded" any more.
document.addEventListener("click", (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target instanceof Element ? ev.target.closest("a[href^='#/']") : null;
  if (a && a.getAttribute("href") !== location.hash) page.removeAttribute("data-loaded");
}, true);

document.getElementById("sign-out").addEventListener("click", async () => {
  try {
    await signOut();
    flash = "Signed out.";
  } catch (e) {
    if (e.status !== 401) flash = "Signing out failed: " + e.message;
  }
  go("#/sign-in");
});

async function boot() {
  initDialog();
  try {
    await loadSession();
  } catch (e) {
    showError(e.message);
  }
  window.addEventListener("hashchange", render);
  await render();
}

boot();
