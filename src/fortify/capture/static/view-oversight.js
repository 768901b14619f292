/* Oversight dashboard (auditor, admin): searches per day and per operator, the share
 * with no candidate, purposes, retention purges, and the audit-chain status. */

import { ApiError, describe, request } from "./api.js";
import { barList, columnChart } from "./charts.js";
import { el, fmtPercent, fmtTime, fromTemplate, replace, setStatus } from "./dom.js";
import { reasonedActions } from "./view-governance.js";

function tile(label, value, note) {
  return el("div", { className: "tile" }, [
    el("p", { className: "tile-value", text: value }),
    el("p", { className: "tile-label", text: label }),
    note ? el("p", { className: "tile-note", text: note }) : null,
  ]);
}

export function chainBox(a) {
  if (a.ok) {
    return el("p", { className: "alert ok", attrs: { "data-chain": "ok" } }, [
      el("strong", { text: "Audit chain intact. " }),
      a.entries + " entries verified.",
    ]);
  }
  return el("div", { className: "alert bad", attrs: { role: "alert", "data-chain": "broken" } }, [
    el("strong", { text: "Audit chain BROKEN" + (a.first_bad_seq ? " at entry " +
      a.first_bad_seq : "") + ". " }),
    a.reason || "",
  ]);
}

function showSummary(refs, s) {
  replace(refs.chain, chainBox(s.audit));
  replace(refs.tiles,
    tile("Searches", String(s.searches), "last " + s.days + " days"),
    tile("No candidate", s.no_candidate_share === null ? "–" : fmtPercent(s.no_candidate_share),
      s.no_candidate + " of " + s.searches),
    tile("Refused or failed", String(s.refused + s.failed),
      s.refused + " refused, " + s.failed + " failed"),
    tile("Probe photos purged", String(s.purged_total),
      s.purges.length + " purge run(s)"),
  );
  const labels = s.per_day.map((d) => d.date.slice(5));
  const purged = new Map(s.purges.map((p) => [p.date, p.purged]));
  replace(refs.charts,
    columnChart({
      title: "Searches per day",
      summary: s.searches + " searches in " + s.days + " days, " + s.no_candidate +
        " with no candidate.",
      labels,
      series: [
        { name: "With candidates", cls: "a",
          values: s.per_day.map((d) => d.searches - d.no_candidate) },
        { name: "No candidate", cls: "b", values: s.per_day.map((d) => d.no_candidate) },
      ],
    }),
    barList({
      title: "Searches per operator",
      summary: s.per_operator.length + " operators searched.",
      items: s.per_operator.map((o) => ({ label: o.operator, value: o.searches })),
      valueLabel: "Searches",
    }),
    barList({
      title: "Stated purposes",
      summary: s.purposes.length + " distinct purposes (top 20).",
      items: s.purposes.map((p) => ({ label: p.purpose, value: p.count })),
      cls: "c",
      valueLabel: "Searches",
    }),
    columnChart({
      title: "Retention purges (probe photos deleted)",
      summary: s.purged_total + " probe photos purged in " + s.days + " days.",
      labels,
      series: [{ name: "Purged", cls: "d", values: s.per_day.map((d) => purged.get(d.date) || 0) }],
    }),
    el("p", { className: "muted", text: "Generated " + fmtTime(s.generated_at) +
      ". Viewing this dashboard is recorded in the audit log." }),
  );
}

export function render(host, ctx) {
  const { root, refs } = fromTemplate("oversight");
  host.replaceChildren(root);
  async function load() {
    replace(refs.charts, el("p", { className: "muted", text: "Loading…" }));
    try {
      const s = await request("/v1/oversight/summary?days=" + encodeURIComponent(refs.days.value));
      if (refs.charts.isConnected) showSummary(refs, s);
    } catch (err) {
      replace(refs.charts, el("p", { className: "alert warn", text: describe(err) }));
      if (err instanceof ApiError && err.status === 401) ctx.signOut("Please sign in again.");
      else setStatus(describe(err), "error");
    }
  }
  refs.days.addEventListener("change", load);
  refs.form.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  load();
  reasonedActions(refs.governance);
  return null;
}
