/* Fortify field app: session, hash routes, role-gated navigation, service worker. */

import { ApiError, NetworkError, describe, request, session } from "./api.js";
import { fromTemplate, setStatus } from "./dom.js";
import * as queue from "./queue.js";
import * as capture from "./view-capture.js";
import * as governance from "./view-governance.js";
import * as documentView from "./view-document.js";
import * as fingerView from "./view-finger.js";
import * as history from "./view-history.js";
import * as oversight from "./view-oversight.js";
import * as queueView from "./view-queue.js";
import * as results from "./view-results.js";
import * as signin from "./view-signin.js";

const $ = (id) => document.getElementById(id);

/** Route table: hash "#/name/arg" -> view module and the permission it needs. */
const ROUTES = {
  signin: { view: signin, public: true },
  capture: { view: capture, perm: "search", need: "an officer, supervisor or admin role" },
  results: { view: results },
  queue: { view: queueView, perm: "search", need: "an officer, supervisor or admin role" },
  history: { view: history },
  oversight: { view: oversight, perm: "audit.read", need: "the auditor or admin role" },
  approvals: { view: governance, perm: "search", need: "an officer, supervisor or admin role" },
  document: { view: documentView, perm: "search", need: "an officer, supervisor or admin role" },
  finger: { view: fingerView, perm: "search", need: "an officer, supervisor or admin role" },
};

let cleanup = null;
/** Search results this page already holds (no second fetch, no extra audit entry). */
const resultCache = new Map();

function homeRoute() {
  if (!session.me) return "signin";
  if (session.can("search")) return "capture";
  if (session.can("audit.read")) return "oversight";
  return "history";
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function parseHash() {
  const raw = location.hash || "";
  if (raw && !raw.startsWith("#/")) return null; // in-page anchors (the skip link)
  const parts = raw.slice(2).split("/").filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] || "", args: parts.slice(1) };
}

function showDenied(text) {
  const { root, refs } = fromTemplate("denied");
  refs.text.textContent = text;
  return root;
}

function route() {
  const parsed = parseHash();
  if (!parsed) return;
  let { name } = parsed;
  if (!name) name = homeRoute();
  if (!session.me && name !== "signin") name = "signin";
  if (session.me && name === "signin") name = homeRoute();
  const spec = ROUTES[name];
  const host = $("view");
  if (cleanup) { try { cleanup(); } catch (e) { /* view already gone */ } }
  cleanup = null;
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.route === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (!spec) {
    host.replaceChildren(showDenied("There is no page at this address."));
  } else if (spec.perm && !session.can(spec.perm)) {
    host.replaceChildren(showDenied(
      "This view needs " + spec.need + ". You are signed in as " +
      session.me.name + " (" + session.me.role + ")."));
  } else {
    const ctx = { navigate, resultCache, signedIn, signOut, refreshQueue };
    cleanup = spec.view.render(host, ctx, parsed.args) || null;
  }
  const heading = host.querySelector("h1");
  if (heading) heading.focus({ preventScroll: false });
  document.title = (heading ? heading.textContent + " – " : "") + "Fortify";
}

function showSession() {
  const me = session.me;
  $("who").hidden = !me;
  $("nav").hidden = !me;
  $("who-name").textContent = me ? me.name + " · " + me.role : "";
  for (const a of document.querySelectorAll("#nav a")) {
    a.hidden = Boolean(a.dataset.perm) && !session.can(a.dataset.perm);
  }
  governance.showTraining();
}

/** After a successful sign-in. */
function signedIn(token, me) {
  session.set(token, me);
  showSession();
  refreshQueue();
  queue.flush().then(reportSent, () => {});
  navigate("#/" + homeRoute());
}

function signOut(message) {
  session.clear();
  resultCache.clear();
  showSession();
  navigate("#/signin");
  setStatus(message || "Signed out. Queued captures stay encrypted on this device.",
    message ? "error" : "ok");
}

function updateConnection() {
  const online = navigator.onLine;
  const c = $("conn");
  c.textContent = online ? "Online" : "Offline";
  c.className = "conn " + (online ? "on" : "off");
}

async function refreshQueue() {
  const badge = $("queue-count");
  if (!queue.supported() || !session.me) { badge.hidden = true; return; }
  try {
    const n = await queue.counts();
    const waiting = n.queued + n.sending + n.failed;
    badge.textContent = waiting ? String(waiting) : "";
    badge.hidden = !waiting;
    badge.setAttribute("aria-label", waiting + " waiting");
  } catch (e) {
    badge.hidden = true;
  }
}

function reportSent(sent) {
  if (sent && sent.length) {
    setStatus(sent.length + " queued capture(s) sent. Their results are in the queue.", "ok");
  }
}

function flushSoon() {
  if (navigator.onLine && session.me) queue.flush().then(reportSent, () => {});
}

async function restore() {
  if (!session.token) return;
  try {
    const me = await request("/v1/me");
    session.set(session.token, me);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      session.clear();
      setStatus("Your session has ended. Please sign in again.", "error");
    } else if (!(err instanceof NetworkError)) {
      setStatus(describe(err), "error");
    } // offline: keep the stored session, captures will queue
  }
}

async function registerWorker() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
  try {
    await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  } catch (err) {
    // The app works without it; it just cannot open with no connection.
    console.warn("service worker not registered:", err && err.message);
  }
}

async function boot() {
  updateConnection();
  window.addEventListener("online", () => { updateConnection(); flushSoon(); });
  window.addEventListener("offline", updateConnection);
  $("signout").addEventListener("click", () => signOut());
  queue.events.addEventListener("change", refreshQueue);
  registerWorker();
  await restore();
  showSession();
  window.addEventListener("hashchange", route);
  route();
  if (queue.supported()) {
    await queue.recover().catch(() => {});
    refreshQueue();
    flushSoon();
    setInterval(flushSoon, 30000);
  }
}

boot();
