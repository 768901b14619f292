// Browser scenarios for the Fortify field app: `node tests/e2e/driver.mjs SCENARIO CONFIG.json`.
// Drives Debian's Chromium (headless, fake camera) through playwright-core; prints one
// `RESULT {"ok": true, ...}` line, saves screenshots under cfg.out, exits 1 on failure.

import { readFileSync } from "node:fs";
import path from "node:path";
import {
  check, checkA11y, checkWidth, configure, launch, liveCamera, noScriptErrors, phone,
  photosSettled, runScenario, searchWithCamera, shot, signIn,
} from "./helpers.mjs";

const [, , NAME, CONFIG] = process.argv;
const cfg = JSON.parse(readFileSync(CONFIG, "utf8"));
configure(cfg);

const SCENARIOS = {
  /** Sign in, live camera with guidance, capture, candidates shown; PWA basics. */
  async capture(browser) {
    const { page } = await phone(browser);
    await page.goto("/");
    await page.waitForSelector("#signin-token");
    const manifestHref = await page.getAttribute("link[rel=manifest]", "href");
    const manifest = await page.evaluate((h) => fetch(h).then((r) => r.json()), manifestHref);
    check(manifest.start_url && manifest.icons.some((i) => i.sizes === "512x512"), "manifest incomplete");
    await checkA11y(page, "sign-in");
    await shot(page, "01-signin");
    await signIn(page, cfg.tokens.officer, "#capture-h");
    const sw = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      return reg.active ? new URL(reg.active.scriptURL).pathname : null;
    });
    check(sw === "/sw.js", "service worker not active at /sw.js: " + sw);
    await page.waitForSelector(".chip");
    const chips = await page.$$eval(".chip", (b) => b.map((x) => x.textContent));
    check(chips.includes(cfg.officer_purpose), "recent purposes missing: " + chips.join(", "));
    const guidance = await liveCamera(page);
    await checkWidth(page, "capture");
    await checkA11y(page, "capture");
    await shot(page, "02-capture-live");
    await page.getByRole("button", { name: "Capture", exact: true }).click();
    await page.waitForSelector("[data-ref=still-wrap]:not([hidden])");
    await page.getByRole("button", { name: "Use purpose: " + cfg.officer_purpose }).click();
    check(await page.inputValue("#purpose") === cfg.officer_purpose, "recent purpose not used");
    await page.fill("#purpose", "E2E robbery inquiry");
    await page.fill("#capture-case", "E2E-1");
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/v1/searches") && r.request().method() === "POST", { timeout: 60000 }),
      page.getByRole("button", { name: "Search", exact: true }).click(),
    ]);
    const body = await response.json();
    await page.waitForSelector("[data-decision=candidates]", { timeout: 60000 });
    const banner = (await page.textContent(".banner")).toLowerCase();
    check(banner.includes("investigative lead, not an identification"), "banner missing");
    const first = await page.getAttribute(".cand", "data-reference");
    check(first === cfg.mated_reference, `top candidate ${first}, expected ${cfg.mated_reference}`);
    await page.waitForFunction(() => {
      const img = document.querySelector(".cand-photo img");
      return img && img.complete && img.naturalWidth > 0;
    });
    const card = await page.textContent(".cand");
    for (const want of ["SYNTHETIC RECORD", "Reference", "Score", "Source", "e2e-synthetic"]) {
      check(card.includes(want), `candidate card lacks "${want}"`);
    }
    const hasFpir = await page.evaluate(() => document.body.textContent.includes("Est. false-positive rate"));
    const apiFpir = body.candidates.some((c) => typeof c.estimated_fpir === "number");
    check(hasFpir === apiFpir, `estimated false-positive rate: API ${apiFpir}, shown ${hasFpir}`);
    await photosSettled(page);
    await checkWidth(page, "results");
    await checkA11y(page, "results");
    await shot(page, "03-results");
    const cached = await page.evaluate(async () => {
      const urls = [];
      for (const k of await caches.keys()) {
        for (const r of await (await caches.open(k)).keys()) urls.push(new URL(r.url).pathname);
      }
      return urls;
    });
    check(cached.includes("/") && cached.includes("/static/app.js"), "app shell not cached");
    check(!cached.some((u) => u.startsWith("/v1/")), "API responses were cached: " + cached.join(","));
    await noScriptErrors(page);
    return { guidance, top: first, fpir_shown: hasFpir, captures: body.captures || 1, cached: cached.length };
  },

  /** Live guidance names the problem: no face, several faces (each its own fake camera). */
  async guidance(browser) {
    const seen = {};
    for (const [name, file, want] of [
      ["no-face", cfg.y4m_no_face, "No face found"],
      ["two-faces", cfg.y4m_two_faces, "Several faces"],
    ]) {
      const b = await launch(file);
      try {
        const { page } = await phone(b);
        await signIn(page, cfg.tokens.officer, "#capture-h");
        await page.getByRole("button", { name: "Start camera" }).click();
        await page.waitForSelector(".guidance.warn", { timeout: 30000 });
        seen[name] = (await page.textContent(".guidance")).trim();
        check(seen[name].startsWith(want), `${name}: guidance "${seen[name]}"`);
        await checkA11y(page, "guidance " + name);
        await shot(page, `02b-guidance-${name}`);
        await noScriptErrors(page);
      } finally {
        await b.close();
      }
    }
    return { seen };
  },

  /** A search with no purpose is refused in the app and by the server. */
  async purpose(browser) {
    const { page } = await phone(browser);
    const posts = [];
    page.on("request", (r) => { if (r.method() === "POST" && r.url().endsWith("/v1/searches")) posts.push(r.url()); });
    await signIn(page, cfg.tokens.officer, "#capture-h");
    await page.setInputFiles("#capture-file", cfg.mated_photo);
    await page.waitForSelector("[data-ref=still-wrap]:not([hidden])");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.waitForSelector("#purpose-error-msg:not([hidden])");
    check(await page.getAttribute("#purpose", "aria-invalid") === "true", "purpose not marked invalid");
    const focused = await page.evaluate(() => document.activeElement.id);
    check(focused === "purpose", "focus not moved to the purpose field");
    await page.fill("#purpose", "ab");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.waitForTimeout(300);
    check(posts.length === 0, "the app sent a search without a purpose");
    await checkWidth(page, "purpose");
    await checkA11y(page, "purpose");
    await shot(page, "04-purpose-required");
    const server = await page.evaluate(async ([tok, photo]) => {
      const fd = new FormData();
      fd.append("image", new Blob([new Uint8Array([0xff, 0xd8, 0xff])], { type: "image/jpeg" }), "p.jpg");
      const r = await fetch("/v1/searches", { method: "POST", body: fd, headers: { Authorization: "Bearer " + tok } });
      return [r.status, (await r.json()).error.code];
    }, [cfg.tokens.officer, cfg.mated_photo]);
    check(server[0] === 422 && server[1] === "purpose_required", "server accepted: " + server);
    await noScriptErrors(page);
    return { server };
  },

  /** Someone not in the gallery: "No candidate" shown plainly. */
  async nocandidate(browser) {
    const { page } = await phone(browser);
    await signIn(page, cfg.tokens.officer, "#capture-h");
    await page.setInputFiles("#capture-file", cfg.nonmated_photo);
    await page.fill("#purpose", "E2E check, not enrolled");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.waitForSelector("[data-decision=no_candidate]", { timeout: 60000 });
    const text = await page.textContent(".no-candidate h2");
    check(text.trim() === "No candidate", "no-candidate heading: " + text);
    check(await page.$(".cand") === null, "candidates shown for a no-candidate search");
    await checkWidth(page, "no candidate");
    await checkA11y(page, "no candidate");
    await shot(page, "05-no-candidate");
    await noScriptErrors(page);
    return {};
  },

  /** Offline: the capture is queued encrypted, survives a reload, is sent when back online. */
  async offline(browser) {
    const { context, page } = await phone(browser);
    await signIn(page, cfg.tokens.officer, "#capture-h");
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 20000 });
    await liveCamera(page);
    await context.setOffline(true);
    await page.waitForSelector("#conn.off");
    await page.getByRole("button", { name: "Capture", exact: true }).click();
    await page.waitForSelector("[data-ref=still-wrap]:not([hidden])");
    await page.fill("#purpose", "E2E offline capture");
    await page.fill("#capture-case", "OFF-7");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.waitForSelector("#queue-h");
    await page.waitForSelector(".queue-item[data-state=queued]");
    check((await page.textContent(".queue-item")).includes("E2E offline capture"), "queued purpose not shown");
    const stored = await page.evaluate(() => new Promise((resolve, reject) => {
      const req = indexedDB.open("fortify-offline");
      req.onerror = () => reject(req.error);
      req.onsuccess = () => {
        const db = req.result;
        const t = db.transaction(["captures", "keys"]);
        const items = t.objectStore("captures").getAll();
        const key = t.objectStore("keys").get("capture-key");
        t.oncomplete = () => {
          const it = items.result[0];
          const plain = JSON.stringify(Object.fromEntries(Object.entries(it).filter(([k]) => !["image", "meta"].includes(k))));
          resolve({
            n: items.result.length,
            state: it.state,
            encrypted: it.image.data instanceof ArrayBuffer && it.meta.data instanceof ArrayBuffer && it.image.iv.length === 12,
            leaks: plain.includes("E2E offline") || plain.includes("OFF-7"),
            keyExtractable: key.result.extractable,
            keyAlg: key.result.algorithm.name,
          });
        };
      };
    }));
    check(stored.n === 1 && stored.encrypted && !stored.leaks, "capture not stored encrypted: " + JSON.stringify(stored));
    check(stored.keyExtractable === false && stored.keyAlg === "AES-GCM", "key is extractable or not AES-GCM");
    await checkWidth(page, "queue");
    await checkA11y(page, "queue");
    await shot(page, "06-queue-offline");
    await page.reload();
    await page.waitForSelector(".queue-item[data-state=queued]");
    await shot(page, "07-queue-offline-reloaded");
    await context.setOffline(false);
    await page.waitForSelector(".queue-item[data-state=sent]", { timeout: 60000 });
    await page.waitForSelector("#conn.on");
    await shot(page, "08-queue-sent");
    await page.getByRole("link", { name: "Open result" }).click();
    await page.waitForSelector("[data-decision=candidates]", { timeout: 30000 });
    const first = await page.getAttribute(".cand", "data-reference");
    check(first === cfg.mated_reference, "queued search found " + first);
    const left = await page.evaluate(() => new Promise((resolve) => {
      const req = indexedDB.open("fortify-offline");
      req.onsuccess = () => {
        const g = req.result.transaction("captures").objectStore("captures").getAll();
        g.onsuccess = () => resolve(g.result.map((i) => [i.state, "image" in i, "meta" in i]));
      };
    }));
    check(left.length === 1 && left[0][0] === "sent" && !left[0][1] && !left[0][2], "sent capture still on the device: " + JSON.stringify(left));
    await noScriptErrors(page);
    return { stored, left };
  },

  /** Two captures of one encounter; a different person as the second capture is flagged. */
  async second(browser) {
    const { page } = await phone(browser);
    await signIn(page, cfg.tokens.officer, "#capture-h");
    await searchWithCamera(page, "E2E two-capture check", "TWO-1");
    await page.waitForSelector("[data-decision=candidates]", { timeout: 60000 });
    await page.getByRole("button", { name: "Add second capture" }).click();
    await page.waitForSelector("#capture-h");
    check(await page.isHidden("#purpose"), "purpose asked again for a second capture");
    await page.setInputFiles("#capture-file", cfg.other_photo);
    await page.getByRole("button", { name: "Add to this search" }).click();
    await page.waitForSelector("#results-h");
    await page.waitForSelector(".alert.warn[role=alert]", { timeout: 60000 });
    const warning = await page.textContent(".alert.warn[role=alert]");
    check(warning.includes("Captures disagree"), "no disagreement warning: " + warning);
    await photosSettled(page);
    await checkWidth(page, "two captures");
    await shot(page, "09-two-captures-disagree");
    await noScriptErrors(page);
    return { warning };
  },

  /** Supervisor: every search, filters, chain status, CSV export. */
  async history(browser) {
    const { page } = await phone(browser);
    await signIn(page, cfg.tokens.supervisor, "#capture-h");
    await page.getByRole("link", { name: "History" }).click();
    await page.waitForSelector("#history-h");
    await page.waitForSelector(".hist-item");
    await page.waitForSelector("[data-chain=ok]");
    const all = await page.$$eval(".hist-item", (li) => li.map((x) => x.textContent));
    check(all.some((t) => t.includes(cfg.users.officer2)) && all.some((t) => t.includes(cfg.users.officer)),
      "supervisor does not see every operator's searches");
    await page.click(".filters summary");
    await page.fill("#history-operator", cfg.users.officer2);
    await page.selectOption("#history-decision", "candidates");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.waitForFunction((op) => {
      const items = [...document.querySelectorAll(".hist-item")];
      return items.length > 0 && items.every((i) => i.textContent.includes("Operator: " + op) && !i.textContent.includes("No candidate"));
    }, cfg.users.officer2);
    const filtered = await page.$$eval(".hist-item", (li) => li.length);
    await checkWidth(page, "history");
    await checkA11y(page, "history");
    await shot(page, "10-history-supervisor");
    await page.fill("#export-reason", "E2E oversight review");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export CSV" }).click(),
    ]);
    const file = path.join(cfg.downloads, "export.csv");
    await download.saveAs(file);
    const csv = readFileSync(file, "utf8").trim().split(/\r?\n/);
    check(csv[0].startsWith("search_id,created_at,operator,purpose"), "CSV header: " + csv[0]);
    check(csv.length - 1 === filtered, `CSV has ${csv.length - 1} rows, list shows ${filtered}`);
    check(csv.slice(1).every((l) => l.includes(cfg.users.officer2)), "CSV ignores the filters");
    await page.waitForSelector(".status.ok");
    await noScriptErrors(page);
    return { filtered, csv_rows: csv.length - 1 };
  },

  /** Auditor: the oversight dashboard with charts. */
  async oversight(browser) {
    const { page } = await phone(browser);
    await signIn(page, cfg.tokens.auditor, "#oversight-h");
    await page.waitForSelector(".chart svg rect.bar");
    await page.waitForSelector("[data-chain=ok]");
    const charts = await page.$$eval(".chart figcaption", (f) => f.map((x) => x.textContent));
    for (const want of ["Searches per day", "Searches per operator", "Stated purposes", "Retention purges"]) {
      check(charts.some((c) => c.startsWith(want)), "missing chart: " + want);
    }
    const tiles = await page.$$eval(".tile", (t) => t.map((x) => x.textContent));
    check(tiles.length === 4, "tiles: " + tiles.length);
    const purged = await page.$eval(".tile:nth-child(4) .tile-value", (e) => Number(e.textContent));
    check(purged >= 1, "no purge shown");
    check(await page.isHidden("#nav a[data-route=capture]"), "auditor sees the capture tab");
    await checkWidth(page, "oversight");
    await checkA11y(page, "oversight");
    await shot(page, "11-oversight-auditor");
    await page.selectOption("#oversight-days", "7");
    await page.waitForSelector(".chart svg rect.bar");
    await noScriptErrors(page);
    return { charts, tiles };
  },

  /** An officer cannot open the auditor's views; their history is their own. */
  async denied(browser) {
    const { page } = await phone(browser);
    await signIn(page, cfg.tokens.officer, "#capture-h");
    check(await page.isHidden("#nav a[data-route=oversight]"), "officer sees the Oversight tab");
    await page.goto("/#/oversight");
    await page.waitForSelector("#denied-h");
    check(await page.$(".chart") === null, "charts rendered for an officer");
    const api = await page.evaluate(async (tok) => {
      const r = await fetch("/v1/oversight/summary", { headers: { Authorization: "Bearer " + tok } });
      const e = await fetch("/v1/oversight/export.csv", { headers: { Authorization: "Bearer " + tok } });
      return [r.status, e.status];
    }, cfg.tokens.officer);
    check(api[0] === 403 && api[1] === 403, "officer API access: " + api);
    await checkA11y(page, "denied");
    await shot(page, "12-officer-denied");
    await page.goto("/#/history");
    await page.waitForSelector("#history-h");
    await page.waitForSelector(".hist-item");
    check((await page.textContent("#history-h")) === "My searches", "officer history title");
    check(await page.isHidden("#history-operator"), "officer can filter by operator");
    check(await page.isHidden("[data-ref=export]"), "officer sees CSV export");
    const items = await page.$$eval(".hist-item", (li) => li.map((x) => x.textContent));
    check(items.every((t) => !t.includes(cfg.users.officer2)), "officer sees another operator's searches");
    await checkWidth(page, "officer history");
    await shot(page, "13-history-officer");
    await noScriptErrors(page);
    return { api };
  },

  /** Document mode: a fake camera showing an ICAO specimen passport; fields and checks shown. */
  async document() {
    const b = await launch(cfg.y4m_document);
    try {
      const { page } = await phone(b);
      await signIn(page, cfg.tokens.officer, "#capture-h");
      await page.click("#nav a[data-route=document]");
      await page.waitForSelector("#doc-h");
      await page.click("[data-test=doc-cam]");
      await page.waitForFunction(() => {
        const g = document.querySelector(".guidance");
        return g && g.textContent.trim().length > 0;
      }, null, { timeout: 30000 });
      const guidance = (await page.textContent(".guidance")).trim();
      await shot(page, "20-document-live");
      await page.fill("#doc-purpose", "E2E document check");
      await page.click("[data-test=doc-scan]");
      await page.waitForSelector("[data-test=doc-result]", { timeout: 60000 });
      const result = await page.textContent("[data-test=doc-result]");
      const checks = await page.textContent("[data-test=doc-checks]");
      const text = await page.textContent("#view");
      check(text.includes("ERIKSSON"), "surname not shown");
      await checkWidth(page, "document result");
      await shot(page, "21-document-result");
      await noScriptErrors(page);
      return { guidance, result: result.trim(), checks };
    } finally {
      await b.close();
    }
  },

  /** Finger mode: a fake camera showing an FVC2002 print; guide, feedback, finger search. */
  async finger() {
    const refused = {};
    for (const [key, y4m] of [["empty", cfg.y4m_no_face], ["blurred", cfg.y4m_finger_blurred]]) {
      const nb = await launch(y4m);
      try {
        const { page } = await phone(nb);
        await signIn(page, cfg.tokens.officer, "#capture-h");
        await page.click("[data-test=mode-finger]");
        await page.click("[data-test=finger-cam]");
        await page.waitForFunction(() => {
          const g = document.querySelector("[data-test=finger-guidance]");
          return g && g.dataset.ok === "false";
        }, null, { timeout: 20000 });
        refused[key] = (await page.textContent("[data-test=finger-guidance]")).trim();
        if (key === "blurred") await shot(page, "33-finger-blurred");
      } finally {
        await nb.close();
      }
    }
    const b = await launch(cfg.y4m_finger);
    try {
      const { page } = await phone(b);
      await signIn(page, cfg.tokens.officer, "#capture-h");
      await page.click("[data-test=mode-finger]");
      await page.waitForSelector("#finger-h");
      await page.click("[data-test=finger-cam]");
      await page.waitForFunction(() => {
        const g = document.querySelector("[data-test=finger-guidance]");
        return g && g.dataset.ok === "true";
      }, null, { timeout: 20000 });
      const guidance = (await page.textContent("[data-test=finger-guidance]")).trim();
      const metrics = JSON.parse(await page.getAttribute("[data-test=finger-guidance]", "data-metrics"));
      await page.selectOption("#finger-position", "right-index");
      await checkWidth(page, "finger capture");
      await checkA11y(page, "finger capture");
      await shot(page, "30-finger-live");
      await page.fill("#finger-purpose", "E2E finger check");
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith("/v1/searches") && r.request().method() === "POST", { timeout: 60000 }),
        page.click("[data-test=finger-search]"),
      ]);
      const body = await response.json();
      check(response.status() === 200, "finger search failed: " + JSON.stringify(body).slice(0, 300));
      await page.waitForSelector(".cand", { timeout: 30000 });
      const first = await page.getAttribute(".cand", "data-reference");
      await checkWidth(page, "finger result");
      await shot(page, "31-finger-result");
      // The face of the same person as a second capture: one fused ranking.
      await page.getByRole("button", { name: "Add second capture" }).click();
      await page.waitForSelector("#capture-h");
      await page.setInputFiles("#capture-file", cfg.mated_photo);
      const [second] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith("/captures") && r.request().method() === "POST", { timeout: 60000 }),
        page.getByRole("button", { name: "Add to this search" }).click(),
      ]);
      const both = await second.json();
      check(second.status() === 200, "second capture failed: " + JSON.stringify(both).slice(0, 300));
      try {
        await page.waitForSelector("[data-test=fused] li", { timeout: 20000 });
      } catch (err) {
        await shot(page, "FAILED-finger-fused");
        throw err;
      }
      const fusedFirst = await page.getAttribute("[data-test=fused] li", "data-reference");
      await checkWidth(page, "fused result");
      await checkA11y(page, "fused result");
      await shot(page, "32-finger-face-fused");
      await noScriptErrors(page);
      return {
        refused, fused: both.fused, fusedFirst, agree: both.consistency.agree,
        guidance, metrics, first, modality: body.modality,
        finger_position: body.probe.finger_position, top: body.candidates.map((c) => c.reference),
      };
    } finally {
      await b.close();
    }
  },

  /** Four-finger mode: a fake camera showing four prints side by side; guide, search. */
  async fourFinger() {
    async function openFour(page) {
      await signIn(page, cfg.tokens.officer, "#capture-h");
      await page.click("[data-test=mode-finger]");
      await page.waitForSelector("#finger-h");
      await page.click("[data-test=finger-mode-four]");
      await page.selectOption("#finger-position", "right-four");
      await page.click("[data-test=finger-cam]");
    }
    const refused = {};
    const cases = [["three", cfg.y4m_four_three, "Spread", "36-four-finger-three"],
      ["blurred", cfg.y4m_four_blurred, "Hold still", "37-four-finger-blurred"]];
    for (const [key, y4m, want, name] of cases) {
      const nb = await launch(y4m);
      try {
        const { page } = await phone(nb);
        await openFour(page);
        await page.waitForFunction((w) => {
          const g = document.querySelector("[data-test=finger-guidance]");
          return g && g.dataset.ok === "false" && g.textContent.startsWith(w);
        }, want, { timeout: 20000 }).catch(() => null);
        refused[key] = (await page.textContent("[data-test=finger-guidance]")).trim();
        refused[key + "Metrics"] = JSON.parse(await page.getAttribute("[data-test=finger-guidance]", "data-metrics") || "{}");
        await shot(page, name);
      } finally {
        await nb.close();
      }
    }
    const b = await launch(cfg.y4m_four);
    try {
      const { page } = await phone(b);
      await openFour(page);
      await page.waitForFunction(() => {
        const g = document.querySelector("[data-test=finger-guidance]");
        return g && g.dataset.ok === "true";
      }, null, { timeout: 20000 }).catch(() => null);
      const guidance = (await page.textContent("[data-test=finger-guidance]")).trim();
      const metrics = JSON.parse(await page.getAttribute("[data-test=finger-guidance]", "data-metrics"));
      check(guidance.startsWith("Good"), "four-finger guide not green: " + guidance + " " + JSON.stringify(metrics));
      await checkWidth(page, "four-finger capture");
      await checkA11y(page, "four-finger capture");
      await shot(page, "34-four-finger-live");
      await page.fill("#finger-purpose", "E2E four-finger check");
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith("/v1/searches") && r.request().method() === "POST", { timeout: 90000 }),
        page.click("[data-test=finger-search]"),
      ]);
      const body = await response.json();
      check(response.status() === 200, "four-finger search failed: " + JSON.stringify(body).slice(0, 300));
      await page.waitForSelector("[data-test=per-finger] li", { timeout: 30000 });
      const first = await page.getAttribute(".cand", "data-reference");
      const fingers = await page.$$eval("[data-test=per-finger] li", (li) =>
        li.map((x) => ({ finger: Number(x.dataset.finger), agrees: x.dataset.agrees === "true", text: x.textContent })));
      await photosSettled(page);
      await checkWidth(page, "four-finger result");
      await checkA11y(page, "four-finger result");
      await shot(page, "35-four-finger-result");
      await noScriptErrors(page);
      return {
        refused, guidance, metrics, first, fingers, captures: body.captures, agree: body.consistency.agree,
        per_capture: body.consistency.per_capture, top: body.candidates.map((c) => c.reference),
      };
    } finally {
      await b.close();
    }
  },
};

runScenario(NAME, SCENARIOS, { ownBrowser: ["guidance", "fourFinger"] });
