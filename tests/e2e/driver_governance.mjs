// Governance scenarios of the field app: `node tests/e2e/driver_governance.mjs governance CFG`.
// Training status in the header, an approval asked by an officer and decided by a
// supervisor, a disputed record on a candidate card, and "verified, delete now".

import { readFileSync } from "node:fs";
import {
  check, checkA11y, checkWidth, configure, noScriptErrors, phone, photosSettled,
  runScenario, shot, signIn,
} from "./helpers.mjs";

const [, , NAME, CONFIG] = process.argv;
const cfg = JSON.parse(readFileSync(CONFIG, "utf8"));
configure(cfg);

async function api(page, path, token, method = "GET", body = undefined) {
  return page.evaluate(async ([p, t, m, b]) => {
    const r = await fetch(p, {
      method: m, body: b === undefined ? undefined : JSON.stringify(b),
      headers: { Authorization: "Bearer " + t, "Content-Type": "application/json" },
    });
    return [r.status, await r.text()];
  }, [path, token, method, body]);
}

const SCENARIOS = {
  async governance(browser) {
    // 1. an untrained officer: the header says so, and a search is refused
    const u = await phone(browser);
    await signIn(u.page, cfg.tokens.untrained, "#capture-h");
    await u.page.waitForSelector("#training[data-valid=no]");
    check((await u.page.textContent("#training")).includes("Training required"), "untrained badge");
    await checkWidth(u.page, "untrained header");
    await checkA11y(u.page, "untrained header");
    await shot(u.page, "20-training-required-header");

    // 2. the officer (trained) asks for approval of an intelligence-lead search
    const { page } = await phone(browser);
    await signIn(page, cfg.tokens.officer, "#capture-h");
    await page.waitForSelector("#training[data-valid=yes]");
    check((await page.textContent("#training")).startsWith("Trained"), "trained badge");
    await page.getByRole("link", { name: "Approvals" }).click();
    await page.waitForSelector("#approvals-h");
    await page.click("#approvals-h ~ details summary");
    await page.waitForSelector("#approval-category option", { state: "attached" });
    await page.fill("#approval-purpose", "E2E lead from informant");
    await page.fill("#approval-case", "INT-7");
    await page.getByRole("button", { name: "Send request" }).click();
    await page.waitForSelector(".appr[data-status=pending]");
    check((await page.$$(".appr button")).length === 0, "officer can decide own request");
    await checkWidth(page, "approvals officer");
    await checkA11y(page, "approvals officer");
    await shot(page, "21-approval-requested");

    // 3. a supervisor approves it
    const s = await phone(browser);
    await signIn(s.page, cfg.tokens.supervisor, "#capture-h");
    await s.page.getByRole("link", { name: "Approvals" }).click();
    await s.page.waitForSelector(".appr[data-status=pending] button");
    await checkA11y(s.page, "approvals supervisor");
    await shot(s.page, "22-approvals-supervisor");
    await s.page.getByRole("button", { name: "Approve" }).first().click();
    await s.page.waitForSelector(".appr[data-status=approved]");
    await shot(s.page, "23-approval-approved");
    await noScriptErrors(s.page);

    // 4. the officer searches a disputed record's photo; the card shows the dispute
    await page.goto("/#/capture");
    await page.waitForSelector("#capture-category option", { state: "attached" });
    await page.setInputFiles("#capture-file", cfg.other_photo);
    await page.waitForSelector("[data-ref=still-wrap]:not([hidden])");
    await page.fill("#purpose", "E2E governance stop");
    await page.fill("#capture-case", "INT-7");
    await page.selectOption("#capture-category", "intelligence-lead"); // uses the approval
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/v1/searches") && r.request().method() === "POST", { timeout: 60000 }),
      page.getByRole("button", { name: "Search", exact: true }).click(),
    ]);
    const result = await response.json();
    check(response.status() === 200, "search failed: " + JSON.stringify(result).slice(0, 300));
    check(result.purpose_category === "intelligence-lead", "category " + result.purpose_category);
    await page.waitForSelector("[data-decision=candidates]", { timeout: 60000 });
    await photosSettled(page);
    const note = await page.textContent(`.cand[data-reference="${cfg.other_reference}"] .dispute`);
    check(note.includes("disputed"), "dispute note: " + note);
    await page.waitForSelector(".encounter-end");
    await checkWidth(page, "results with end of encounter");
    await checkA11y(page, "results with end of encounter");
    await shot(page, "24-dispute-and-end-of-encounter");

    // 5. "verified, delete now": the search is gone at once
    await page.selectOption("#outcome-select", "verified_citizen");
    await page.getByRole("button", { name: "Verified, delete now" }).click();
    await page.waitForSelector("#capture-h");
    await page.waitForSelector(".status.ok");
    const [gone] = await api(page, "/v1/searches/" + result.search_id, cfg.tokens.officer);
    check(gone === 404, "search still there: " + gone);
    await shot(page, "25-deleted-now");
    await noScriptErrors(page);
    await noScriptErrors(u.page);

    // 6. the auditor sees the deletion, the approval and the export reasons
    const a = await phone(browser);
    await signIn(a.page, cfg.tokens.auditor, "#oversight-h");
    await a.page.waitForSelector(".gov-action[data-action='search.rapid_delete']");
    const rapid = await a.page.textContent(".gov-action[data-action='search.rapid_delete']");
    check(rapid.includes("verified_citizen"), "rapid deletion entry: " + rapid);
    await a.page.waitForSelector(".gov-action[data-action='approval.decide']");
    await checkWidth(a.page, "oversight governance");
    await checkA11y(a.page, "oversight governance");
    await a.page.$eval(".governance", (e) => e.scrollIntoView());
    await a.page.screenshot({ path: cfg.out + "/26-oversight-reasoned-actions.png" });
    await noScriptErrors(a.page);
    return { search_id: result.search_id };
  },
};

runScenario(NAME, SCENARIOS);
