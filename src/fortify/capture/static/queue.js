/*
 * Offline queue: a capture taken with no connection is kept encrypted on the device
 * (see vault.js) and sent when the connection returns (the `online` event, a timer,
 * or the officer's Retry). States: queued -> sending -> sent | failed.
 * A sent capture's photo and purpose are erased from the device at once.
 */

import { ApiError, NetworkError, request, session } from "./api.js";
import * as vault from "./vault.js";

export const events = new EventTarget();
const SENT_KEEP_MS = 24 * 3600 * 1000;
let flushing = null;

function changed() {
  events.dispatchEvent(new Event("change"));
}

export const supported = vault.supported;

/** Keep a capture for later. Returns the stored item (ciphertext only). */
export async function enqueue({ blob, name, purpose, caseId, operator }) {
  const image = await vault.seal(await blob.arrayBuffer());
  const meta = await vault.sealJson({
    purpose, case_id: caseId || null, name: name || "capture.jpg", type: blob.type || "image/jpeg",
  });
  const item = {
    id: crypto.randomUUID(),
    created_at: new Date().toISOString(),
    operator,
    state: "queued",
    attempts: 0,
    error: null,
    search_id: null,
    decision: null,
    image,
    meta,
  };
  await vault.put(item);
  changed();
  return item;
}

/** Every item, newest first (for the queue view). */
export async function list() {
  return (await vault.all()).reverse();
}

/** Purpose and case of an item, decrypted for display (only while its operator is signed in). */
export async function details(item) {
  if (!item.meta) return null;
  return vault.unsealJson(item.meta);
}

export async function remove(id) {
  await vault.remove(id);
  changed();
}

/** Put a failed item back in line and try to send now. */
export async function retry(id) {
  const item = await vault.get(id);
  if (item && item.state === "failed") {
    item.state = "queued";
    item.error = null;
    await vault.put(item);
    changed();
  }
  return flush();
}

/** Counts by state for the signed-in operator. */
export async function counts() {
  const out = { queued: 0, sending: 0, sent: 0, failed: 0, others: 0 };
  const me = session.me && session.me.name;
  for (const item of await vault.all()) {
    if (item.operator !== me) out.others += 1;
    else out[item.state] = (out[item.state] || 0) + 1;
  }
  return out;
}

async function sendOne(item) {
  const meta = await vault.unsealJson(item.meta);
  const bytes = await vault.unseal(item.image);
  const fd = new FormData();
  fd.append("image", new Blob([bytes], { type: meta.type }), meta.name);
  fd.append("purpose", meta.purpose);
  if (meta.case_id) fd.append("case_id", meta.case_id);
  item.state = "sending";
  item.attempts += 1;
  await vault.put(item);
  changed();
  try {
    const result = await request("/v1/searches", { method: "POST", body: fd, timeout: 90000 });
    item.state = "sent";
    item.search_id = result.search_id;
    item.decision = result.decision;
    item.sent_at = new Date().toISOString();
    item.error = null;
    delete item.image;
    delete item.meta;
    return result;
  } catch (err) {
    if (err instanceof NetworkError) {
      item.state = "queued";
      item.error = "No connection: will be sent when it returns.";
    } else if (err instanceof ApiError && err.status === 401) {
      item.state = "queued";
      item.error = "Sign in again to send this capture.";
    } else {
      item.state = "failed";
      item.error = err instanceof ApiError ? err.message + " (" + err.code + ")" : String(err);
    }
    return null;
  } finally {
    await vault.put(item);
    changed();
  }
}

async function flushNow() {
  const me = session.me && session.me.name;
  if (!me || !session.token || !session.can("search")) return [];
  const results = [];
  const now = Date.now();
  for (const item of await vault.all()) {
    if (item.state === "sent" && now - Date.parse(item.sent_at || item.created_at) > SENT_KEEP_MS) {
      await vault.remove(item.id);
      continue;
    }
    if (item.operator !== me || item.state !== "queued") continue;
    if (!navigator.onLine) break;
    const r = await sendOne(item);
    if (r) results.push(r);
    else if (item.state === "queued") break; // still no connection: stop for now
  }
  return results;
}

/** Send every queued capture of the signed-in operator, one at a time (one flush at once). */
export function flush() {
  if (!supported()) return Promise.resolve([]);
  if (!flushing) {
    const run = () => flushNow();
    const p = navigator.locks ? navigator.locks.request("fortify-queue", run) : run();
    flushing = p.finally(() => { flushing = null; });
  }
  return flushing;
}

/** After a crash or a closed tab, an item left "sending" goes back in line. */
export async function recover() {
  if (!supported()) return;
  const run = async () => {
    for (const item of await vault.all()) {
      if (item.state === "sending") {
        item.state = "queued";
        await vault.put(item);
      }
    }
  };
  // Under the queue lock: an item another tab is sending right now is not touched.
  await (navigator.locks ? navigator.locks.request("fortify-queue", run) : run());
  changed();
}
