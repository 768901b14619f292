/*
 * Fortify service worker: keeps the app shell (HTML, CSS, JS, icons) so the app opens
 * with no connection. It never caches API answers or photos: anything outside the
 * shell list (all of /v1/, /docs, ...) goes straight to the network, untouched.
 */

const VERSION = "fortify-shell-v1";
const SHELL = [
  "/",
  "/manifest.webmanifest",
  "/static/style.css",
  "/static/app.js",
  "/static/api.js",
  "/static/dom.js",
  "/static/camera.js",
  "/static/charts.js",
  "/static/queue.js",
  "/static/vault.js",
  "/static/view-capture.js",
  "/static/view-governance.js",
  "/static/view-document.js",
  "/static/view-finger.js",
  "/static/finger-four.js",
  "/static/view-fusion.js",
  "/static/view-history.js",
  "/static/view-oversight.js",
  "/static/view-queue.js",
  "/static/view-results.js",
  "/static/view-signin.js",
  "/static/view-query.js",
  "/static/query.css",
  "/static/icon.svg",
  "/static/icon-192.png",
  "/static/icon-512.png",
];
const SHELL_SET = new Set(SHELL);

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(VERSION)
      .then((cache) => cache.addAll(SHELL.map((p) => new Request(p, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys
        .filter((k) => k.startsWith("fortify-shell-") && k !== VERSION)
        .map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

/** Network first (the shell stays current), the cached copy when there is no network. */
async function shell(request, path) {
  const cache = await caches.open(VERSION);
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic") await cache.put(path, response.clone());
    return response;
  } catch (err) {
    const hit = await cache.match(path);
    if (hit) return hit;
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (!SHELL_SET.has(url.pathname)) return; // API, photos, docs: never cached
  event.respondWith(shell(request, url.pathname));
});
