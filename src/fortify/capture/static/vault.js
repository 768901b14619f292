/*
 * On-device storage for the offline queue: IndexedDB, with every capture and its
 * purpose encrypted by AES-GCM (256-bit) under a key that is generated in the
 * browser as non-extractable and kept in IndexedDB: script can use it but never
 * read it out, and the stored records are ciphertext only.
 */

const DB_NAME = "fortify-offline";
const DB_VERSION = 1;
const KEYS = "keys";
const ITEMS = "captures";
const KEY_ID = "capture-key";

let dbPromise = null;
let keyPromise = null;

export function supported() {
  return Boolean(window.indexedDB && window.crypto && window.crypto.subtle && window.isSecureContext);
}

function promisify(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains(KEYS)) db.createObjectStore(KEYS);
        if (!db.objectStoreNames.contains(ITEMS)) db.createObjectStore(ITEMS, { keyPath: "id" });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error("offline storage is blocked by another tab"));
    });
    dbPromise.catch(() => { dbPromise = null; });
  }
  return dbPromise;
}

async function tx(store, mode, fn) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const t = db.transaction(store, mode);
    let result;
    Promise.resolve(fn(t.objectStore(store))).then((r) => { result = r; }, reject);
    t.oncomplete = () => resolve(result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error || new Error("storage transaction aborted"));
  });
}

async function loadKey() {
  const existing = await tx(KEYS, "readonly", (s) => promisify(s.get(KEY_ID)));
  if (existing) return existing;
  const key = await crypto.subtle.generateKey(
    { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  // A second tab may have stored one meanwhile: keep the first, so nothing becomes unreadable.
  return tx(KEYS, "readwrite", async (s) => {
    const again = await promisify(s.get(KEY_ID));
    if (again) return again;
    await promisify(s.put(key, KEY_ID));
    return key;
  });
}

function key() {
  if (!keyPromise) {
    keyPromise = loadKey();
    keyPromise.catch(() => { keyPromise = null; });
  }
  return keyPromise;
}

/** Encrypt bytes: {iv, data} (both ArrayBuffer-backed). */
export async function seal(bytes) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await key(), bytes);
  return { iv, data };
}

/** Decrypt what seal() made; throws if it was altered. */
export async function unseal(sealed) {
  return crypto.subtle.decrypt({ name: "AES-GCM", iv: sealed.iv }, await key(), sealed.data);
}

export async function sealJson(obj) {
  return seal(new TextEncoder().encode(JSON.stringify(obj)));
}

export async function unsealJson(sealed) {
  return JSON.parse(new TextDecoder().decode(await unseal(sealed)));
}

export function put(item) {
  return tx(ITEMS, "readwrite", (s) => promisify(s.put(item)));
}

export function get(id) {
  return tx(ITEMS, "readonly", (s) => promisify(s.get(id)));
}

export function remove(id) {
  return tx(ITEMS, "readwrite", (s) => promisify(s.delete(id)));
}

export async function all() {
  const items = await tx(ITEMS, "readonly", (s) => promisify(s.getAll()));
  return items.sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
}
