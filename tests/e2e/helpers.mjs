// Shared helpers of the browser scenarios (driver.mjs): launching Chromium with the fake
// camera, a 360 px phone page, keyboard sign-in, screenshots and layout/accessibility checks.

import { mkdir } from "node:fs/promises";
import path from "node:path";
import { chromium } from "playwright-core";

let cfg = null;
const t0 = Date.now();
export const log = (...a) => console.error(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);

/** The scenario config (base_url, chromium, y4m, out, tokens, ...). */
export function configure(config) {
  cfg = config;
}

export class Failure extends Error {}
export function check(cond, message) {
  if (!cond) throw new Failure(message);
}

export async function launch(y4m = cfg.y4m) {
  return chromium.launch({
    executablePath: cfg.chromium,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream",
      `--use-file-for-fake-video-capture=${y4m}`,
    ],
  });
}

/** A 360 px wide phone-sized page that records script errors. */
export async function phone(browser) {
  const context = await browser.newContext({
    baseURL: cfg.base_url,
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 1,
    isMobile: true,
    hasTouch: true,
    permissions: ["camera"],
    acceptDownloads: true,
  });
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
      page.errors.push("console: " + m.text());
    }
  });
  page.setDefaultTimeout(20000);
  return { context, page };
}

export const shots = [];
export async function shot(page, name) {
  await mkdir(cfg.out, { recursive: true });
  const file = path.join(cfg.out, name + ".png");
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file, fullPage: true });
  shots.push(file);
  log("screenshot", file);
}

/** Sign in with the keyboard only: Tab to the token field, type, Enter. */
export async function signIn(page, token, expectHeading) {
  await page.goto("/");
  await page.waitForSelector("#signin-token");
  let focused = "";
  for (let i = 0; i < 6 && focused !== "signin-token"; i += 1) {
    await page.keyboard.press("Tab");
    focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
  }
  check(focused === "signin-token", "the token field cannot be reached with Tab");
  await page.keyboard.type(token);
  await page.keyboard.press("Enter");
  await page.waitForSelector("#nav:not([hidden])");
  if (expectHeading) await page.waitForSelector(expectHeading);
}

/** No sideways scrolling at 360 px. */
export async function checkWidth(page, where) {
  const w = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  check(w[0] <= w[1] + 1, `${where}: page is ${w[0]} px wide on a ${w[1]} px screen`);
}

/** Labels, accessible names, alt text and text contrast (WCAG AA) of what is on screen. */
export async function checkA11y(page, where) {
  const issues = await page.evaluate(() => {
    const out = [];
    const visible = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
    for (const e of document.querySelectorAll("input, select, textarea")) {
      if (e.type === "hidden" || !visible(e)) continue;
      if (!(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby")) {
        out.push("no label: " + (e.id || e.name || e.outerHTML.slice(0, 60)));
      }
    }
    for (const e of document.querySelectorAll("button, a[href]")) {
      if (!visible(e)) continue;
      if (!(e.textContent.trim() || e.getAttribute("aria-label"))) out.push("no name: " + e.outerHTML.slice(0, 80));
    }
    for (const e of document.querySelectorAll("img")) {
      if (!e.hasAttribute("alt")) out.push("no alt: " + e.outerHTML.slice(0, 80));
    }
    const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (e) => {
      for (let n = e; n; n = n.parentElement) {
        const c = rgb(getComputedStyle(n).backgroundColor);
        if (c.length >= 3 && (c.length === 3 || c[3] > 0.5)) return c;
      }
      return [255, 255, 255];
    };
    for (const e of document.querySelectorAll("body *")) {
      if (e.closest("svg") || !visible(e) || e.disabled) continue;
      const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!own) continue;
      const st = getComputedStyle(e);
      const fg = rgb(st.color);
      const l1 = lum(fg); const l2 = lum(background(e));
      const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
      const size = parseFloat(st.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) out.push(`contrast ${ratio.toFixed(2)}: "${e.textContent.trim().slice(0, 40)}"`);
    }
    return out;
  });
  check(issues.length === 0, `${where}: accessibility issues:\n  ` + issues.join("\n  "));
}

/** Every candidate photo has loaded (or failed visibly). */
export async function photosSettled(page) {
  await page.waitForFunction(() => [...document.querySelectorAll(".cand-photo")]
    .every((p) => !p.textContent.includes("Loading") &&
      [...p.querySelectorAll("img")].every((i) => i.complete)));
}

export async function noScriptErrors(page) {
  check(page.errors.length === 0, "script errors: " + page.errors.join(" | "));
}

/** Start the camera and wait until the guidance says the frame is usable. */
export async function liveCamera(page) {
  await page.getByRole("button", { name: "Start camera" }).click();
  await page.waitForSelector(".guidance.ok", { timeout: 30000 });
  return page.textContent(".guidance");
}

export async function searchWithCamera(page, purpose, caseId) {
  await liveCamera(page);
  await page.getByRole("button", { name: "Capture", exact: true }).click();
  await page.waitForSelector("[data-ref=still-wrap]:not([hidden])");
  await page.fill("#purpose", purpose);
  if (caseId) await page.fill("#capture-case", caseId);
  await page.getByRole("button", { name: "Search", exact: true }).click();
}

/** Run one named scenario and print its RESULT line (the drivers' shared main).
 *  `ownBrowser` names scenarios that launch their own browser (e.g. another camera). */
export async function runScenario(name, scenarios, { ownBrowser = [] } = {}) {
  const fn = scenarios[name];
  if (!fn) {
    console.log("RESULT " + JSON.stringify({ ok: false, error: "unknown scenario " + name }));
    process.exit(2);
  }
  const browser = ownBrowser.includes(name) ? null : await launch();
  try {
    const out = await fn(browser);
    console.log("RESULT " + JSON.stringify({ ok: true, scenario: name, shots, ...out }));
  } catch (err) {
    log(err.stack || String(err));
    for (const ctx of browser ? browser.contexts() : []) {
      for (const p of ctx.pages()) {
        try { await shot(p, `FAILED-${name}`); } catch (e) { /* page gone */ }
      }
    }
    console.log("RESULT " + JSON.stringify({ ok: false, scenario: name, error: String(err.message || err) }));
    process.exitCode = 1;
  } finally {
    if (browser) await browser.close();
  }
}
