// Super Query in the field app: `node tests/e2e/driver_query.mjs superquery CONFIG.json`.
// A search, then "Super Query records" on the top candidate: answers arrive live per
// source with a status chip, conflicts are highlighted, the lead banner stays.

import { readFileSync } from "node:fs";
import {
  check, checkWidth, configure, noScriptErrors, phone, photosSettled, runScenario,
  searchWithCamera, shot, signIn,
} from "./helpers.mjs";

const [, , NAME, CONFIG] = process.argv;
const cfg = JSON.parse(readFileSync(CONFIG, "utf8"));
configure(cfg);

async function superquery(browser) {
  const { page } = await phone(browser);
  await signIn(page, cfg.tokens.officer, "#capture-h");
  await searchWithCamera(page, "E2E super query", "SQ-1");
  await page.waitForSelector("[data-decision=candidates]", { timeout: 60000 });
  const top = await page.getAttribute(".cand", "data-reference");
  check(top === cfg.mated_reference, `top candidate ${top}, expected ${cfg.mated_reference}`);
  await photosSettled(page);
  const buttons = await page.$$(".cand .sq-button");
  const cards = await page.$$(".cand");
  check(buttons.length === cards.length, "not every candidate card has a Super Query button");
  await page.locator(".cand").first().getByRole("button", { name: "Super Query records" }).click();
  await page.waitForSelector(".sq-form select option", { state: "attached" });
  await page.locator(".sq-form").first().getByRole("button", { name: "Query records" }).click();
  // live: the fast sources are in while the deliberately slow one is still waiting
  await page.waitForSelector(".sq-source[data-source=warrants][data-status=hit]", { timeout: 15000 });
  const slowPending = await page.$(".sq-source[data-source=immigration]:not([data-status])");
  check(slowPending !== null, "the slow source was not still pending when the first answer came");
  await page.waitForSelector(".sq-panel[data-done='1']", { timeout: 20000 });
  const chips = await page.$$eval(".sq-source", (s) => s.map((x) => [x.dataset.source, x.dataset.status]));
  const status = Object.fromEntries(chips);
  check(status.immigration === "hit" && status["state-records"] === "hit", "statuses " + JSON.stringify(status));
  check(status["vehicle-register"] === "not_queried", "vehicle source should need a traffic purpose");
  const conflicts = await page.$$eval(".sq-conflict-line", (c) => c.map((x) => x.dataset.field));
  check(conflicts.includes("dob"), "date-of-birth conflict not highlighted: " + conflicts.join(","));
  const banner = (await page.textContent(".banner")).toLowerCase();
  check(banner.includes("investigative lead, not an identification"), "lead banner gone");
  check((await page.textContent(".sq-panel")).includes("SYNTHETIC"), "records not marked synthetic");
  await checkWidth(page, "super query");
  await page.locator(".sq-panel").first().scrollIntoViewIfNeeded();
  await shot(page, "20-super-query");
  // the second candidate: a person with no record anywhere shows "Not on file"
  await noScriptErrors(page);
  return { status, conflicts };
}

runScenario(NAME, { superquery });
