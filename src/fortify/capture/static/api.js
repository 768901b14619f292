/* Fortify API client: bearer token, JSON errors, network failures told apart. */

const TOKEN_KEY = "fortify.token";
const ME_KEY = "fortify.me";

/** The server answered with an error: {error: {code, message, details}, request_id}. */
export class ApiError extends Error {
  constructor(status, code, message, requestId, details) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.requestId = requestId || null;
    this.details = details || {};
  }
}

/** No answer at all: offline, server down, or timed out. */
export class NetworkError extends Error {
  constructor(message, timedOut) {
    super(message);
    this.name = "NetworkError";
    this.timedOut = Boolean(timedOut);
  }
}

function readStored(key) {
  try { return sessionStorage.getItem(key); } catch (e) { return null; }
}

function writeStored(key, value) {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  } catch (e) { /* storage disabled: the session lasts until the page closes */ }
}

/** The signed-in operator. The token lives in sessionStorage only (gone when the tab closes). */
export const session = {
  token: readStored(TOKEN_KEY),
  me: (() => {
    try { return JSON.parse(readStored(ME_KEY) || "null"); } catch (e) { return null; }
  })(),
  can(permission) {
    return Boolean(this.me && Array.isArray(this.me.permissions) &&
      this.me.permissions.includes(permission));
  },
  set(token, me) {
    this.token = token;
    this.me = me;
    writeStored(TOKEN_KEY, token);
    writeStored(ME_KEY, JSON.stringify(me));
  },
  clear() {
    this.token = null;
    this.me = null;
    writeStored(TOKEN_KEY, null);
    writeStored(ME_KEY, null);
  },
};

function sameOrigin(path) {
  return typeof path === "string" && path.startsWith("/") && !path.startsWith("//");
}

/**
 * Call the API. Resolves to the parsed JSON body (or the Response when `raw`);
 * rejects with ApiError (the server said no) or NetworkError (no answer).
 */
export async function request(path, options = {}) {
  if (!sameOrigin(path)) throw new Error("refusing a request outside this server: " + path);
  const { method = "GET", body = undefined, timeout = 30000, raw = false } = options;
  const token = options.token || session.token;
  const headers = { Accept: raw ? "*/*" : "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeout);
  let res;
  try {
    res = await fetch(path, {
      method, headers, body, cache: "no-store", credentials: "same-origin",
      referrerPolicy: "no-referrer", signal: ctrl.signal,
    });
  } catch (err) {
    if (err && err.name === "AbortError") {
      throw new NetworkError("The server did not answer in time.", true);
    }
    throw new NetworkError("No connection to the server.");
  } finally {
    clearTimeout(timer);
  }
  if (!res.ok) {
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    const e = (data && data.error) || {};
    throw new ApiError(res.status, e.code || "http_" + res.status,
      e.message || "The server answered " + res.status + ".",
      data && data.request_id, e.details);
  }
  if (raw) return res;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/** A same-origin binary (a photo, a CSV) as a Blob, with the bearer token. */
export async function fetchBlob(path, options = {}) {
  const res = await request(path, { ...options, raw: true });
  return res.blob();
}

/** One-line description of an error for the status area. */
export function describe(err) {
  if (err instanceof ApiError) {
    let msg = err.message + " (" + err.code + ")";
    if (err.requestId) msg += " — request " + err.requestId;
    return msg;
  }
  if (err instanceof NetworkError) return err.message;
  return "Unexpected error: " + (err && err.message ? err.message : String(err));
}
