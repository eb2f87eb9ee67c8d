// The admin JSON API (/api/v1) with the console's session: the cookie goes
// by itself; every call that is not a GET carries the anti-CSRF token.
"use strict";

let session = null;
let unauthorized = () => {};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function onUnauthorized(fn) {
  unauthorized = fn;
}

export function currentSession() {
  return session;
}

export function forgetSession() {
  session = null;
}

// "?a=1&b=x" of the parameters that are set, in the order given.
export function query(params) {
  const parts = [];
  for (const [name, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === "" || value === false) continue;
    parts.push(encodeURIComponent(name) + "=" + encodeURIComponent(String(value)));
  }
  return parts.length ? "?" + parts.join("&") : "";
}

async function readError(res) {
  let code = "HTTP_" + res.status;
  let message = `${res.status} ${res.statusText}`.trim();
  try {
    const body = await res.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch (_) {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, code, message);
}

// api("GET", "/api/v1/hosts", {query: {...}}) -> the answer's JSON.
// A 401 sends the browser to sign-in (unless `signIn` is set) and throws.
export async function api(method, path, {query: params, body, signIn = false} = {}) {
  const headers = {Accept: "application/json"};
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    if (session && session.csrf_token) headers["X-CSRF-Token"] = session.csrf_token;
  }
  let res;
  try {
    res = await fetch(path + query(params), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, "UNAVAILABLE", "The server could not be reached (" + e.message + ").");
  }
  if (!res.ok) {
    const err = await readError(res);
    if (res.status === 401 && !signIn) {
      session = null;
      unauthorized(err);
    }
    throw err;
  }
  const text = await res.text();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch (_) {
    throw new ApiError(res.status, "INTERNAL", "The server's answer is not JSON.");
  }
}

// The session of the cookie, or null when there is none.
export async function loadSession() {
  try {
    session = await api("GET", "/api/v1/session", {signIn: true});
  } catch (e) {
    if (e.status === 401) {
      session = null;
    } else {
      throw e;
    }
  }
  return session;
}

export async function signIn(adminKey) {
  session = await api("POST", "/api/v1/session", {body: {admin_key: adminKey}, signIn: true});
  return session;
}

export async function signOut() {
  try {
    await api("DELETE", "/api/v1/session", {signIn: true});
  } finally {
    session = null;
  }
}

// ------------------------------------------------------------------ names

export const HOST_STATES = ["valid", "expiring", "expired", "revoked", "none"];

export const REVOCATION_REASONS = [
  [0, "unspecified"],
  [1, "keyCompromise"],
  [3, "affiliationChanged"],
  [4, "superseded"],
  [5, "cessationOfOperation"],
  [9, "privilegeWithdrawn"],
];

const ALL_REASONS = {
  0: "unspecified", 1: "keyCompromise", 2: "cACompromise", 3: "affiliationChanged",
  4: "superseded", 5: "cessationOfOperation", 6: "certificateHold", 8: "removeFromCRL",
  9: "privilegeWithdrawn", 10: "aACompromise",
};

export function reasonName(code) {
  const n = Number(code || 0);
  return ALL_REASONS[n] || `reason ${n}`;
}

export function crlPath(generation, shard) {
  const name = Number(shard) < 0 ? "ca" : String(shard);
  return `/api/v1/crls/g${encodeURIComponent(generation)}/${name}.crl`;
}
