/*
 * Search history. Officers see their own searches; supervisors, auditors and admins
 * see every search with operator, purpose, case, time and outcome, can filter, see
 * the audit-chain status and export CSV (the export is recorded in the audit log).
 */

import { ApiError, describe, fetchBlob, request, session } from "./api.js";
import { el, fmtScore, fmtTime, fromTemplate, replace, setStatus } from "./dom.js";
import { chainBox } from "./view-oversight.js";

const PAGE = 25;

function row(item, all) {
  const none = item.decision === "no_candidate";
  const facts = [
    el("span", { className: "pill " + (none ? "pill-none" : "pill-cand"),
      text: none ? "No candidate" : item.candidates + " candidate" + (item.candidates === 1 ? "" : "s") }),
  ];
  if (item.top_score !== null && item.top_score !== undefined) {
    facts.push(el("span", { className: "muted", text: "top " + fmtScore(item.top_score) }));
  }
  if (item.captures > 1) facts.push(el("span", { className: "muted", text: item.captures + " captures" }));
  if (item.consistency && item.consistency.agree === false) {
    facts.push(el("span", { className: "pill pill-warn", text: "Captures disagree" }));
  }
  return el("li", { className: "hist-item", attrs: { "data-search": item.search_id } }, [
    el("a", { className: "hist-link", attrs: { href: "#/results/" + encodeURIComponent(item.search_id) } }, [
      el("span", { className: "hist-time", text: fmtTime(item.created_at) }),
      el("span", { className: "hist-purpose", text: item.purpose }),
    ]),
    el("p", { className: "hist-facts" }, [
      all ? el("span", { text: "Operator: " + item.operator }) : null,
      item.case_id ? el("span", { text: "Case: " + item.case_id }) : null,
    ]),
    el("p", { className: "hist-facts" }, facts),
  ]);
}

export function render(host, ctx) {
  const { root, refs } = fromTemplate("history");
  host.replaceChildren(root);
  const all = session.can("searches.read_all");
  refs.title.textContent = all ? "All searches" : "My searches";
  refs["op-field"].hidden = !all;
  refs["export-row"].hidden = !all;
  let offset = 0;
  let alive = true;

  function params() {
    const p = new URLSearchParams();
    const add = (k, v) => { if (v && v.trim()) p.set(k, v.trim()); };
    if (all) add("operator", refs.operator.value);
    add("case_id", refs.case.value);
    add("decision", refs.decision.value);
    add("since", refs.since.value);
    add("until", refs.until.value);
    return p;
  }

  async function load(reset) {
    if (reset) { offset = 0; replace(refs.list); }
    const p = params();
    p.set("limit", String(PAGE));
    p.set("offset", String(offset));
    refs.more.hidden = true;
    try {
      const page = await request("/v1/history?" + p.toString());
      if (!alive) return;
      refs.list.append(...page.items.map((i) => row(i, all)));
      offset += page.items.length;
      refs.count.textContent = page.total === 0 ? "No searches match."
        : "Showing " + offset + " of " + page.total + (page.scope === "own" ? " (your searches)." : ".");
      refs.more.hidden = offset >= page.total;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) { ctx.signOut("Please sign in again."); return; }
      setStatus(describe(err), "error");
    }
  }

  async function loadChain() {
    try {
      const c = await request("/v1/oversight/chain");
      if (!alive) return;
      replace(refs.chain, chainBox(c));
      refs.chain.hidden = false;
    } catch (err) {
      replace(refs.chain, el("p", { className: "alert warn", text: "Audit chain status unavailable: " + describe(err) }));
      refs.chain.hidden = false;
    }
  }

  refs.filters.addEventListener("submit", (ev) => { ev.preventDefault(); load(true); });
  refs.filters.addEventListener("reset", () => setTimeout(() => load(true), 0));
  refs.more.addEventListener("click", () => load(false));
  refs.export.addEventListener("click", async () => {
    refs.export.disabled = true;
    try {
      const q = params();
      q.set("reason", refs["export-reason"].value.trim());
      const blob = await fetchBlob("/v1/oversight/export.csv?" + q.toString(), { timeout: 120000 });
      const url = URL.createObjectURL(blob);
      const a = el("a", { attrs: { href: url, download: "fortify-searches.csv" }, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      setStatus("CSV exported. The export is recorded in the audit log.", "ok");
    } catch (err) {
      setStatus(describe(err), "error");
    } finally {
      refs.export.disabled = false;
    }
  });

  if (all) loadChain();
  load(true);
  return () => { alive = false; };
}
