/*
 * Super Query from a candidate card: ask every permitted record system at once.
 * Answers arrive live (server-sent events over a streaming POST, so the bearer token
 * stays in a header), one section per source with a status chip; records of one person
 * are grouped and conflicting fields (date of birth, status) are highlighted.
 * Every text from a record system is set with textContent: nothing is parsed as HTML.
 */

import { describe, request, session } from "./api.js";
import { defList, el, humanKey, replace } from "./dom.js";

const STATUS_TEXT = {
  hit: "Hit",
  not_on_file: "Not on file",
  temporarily_unavailable: "Unavailable",
  timeout: "No answer (timeout)",
  error: "Error",
  refused: "Refused",
  pending: "Waiting…",
};
let sourcesInfo = null;

function chip(status) {
  return el("span", {
    className: "sq-chip sq-" + status,
    text: STATUS_TEXT[status] || status,
    attrs: { "data-status": status },
  });
}

async function loadSources() {
  if (!sourcesInfo) sourcesInfo = await request("/v1/queries/sources");
  return sourcesInfo;
}

/** Parse "event: x\ndata: {...}\n\n" blocks from a fetch stream; calls onEvent(name, data). */
async function readEvents(res, onEvent) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let name = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      try { onEvent(name, JSON.parse(data)); } catch (e) { /* a broken event is skipped */ }
    }
  }
}

function recordItem(r) {
  const rows = Object.entries(r.data || {}).map(([k, v]) => [humanKey(k), String(v)]);
  const subj = r.subject || {};
  const who = [subj.name, subj.dob].filter(Boolean).join(", ");
  return el("li", { className: "sq-record", attrs: { "data-kind": r.kind } }, [
    el("p", { className: "sq-record-head" }, [
      el("strong", { text: humanKey(r.kind) }),
      " " + (r.provenance ? r.provenance.source_record_id : ""),
      r.synthetic ? el("span", { className: "badge", text: "SYNTHETIC" }) : null,
    ]),
    who ? el("p", { className: "muted", text: who }) : null,
    defList(rows),
  ]);
}

function sourceSection(name) {
  const status = el("span", {}, [chip("pending")]);
  const reason = el("p", { className: "muted sq-reason" });
  const list = el("ul", { className: "sq-records" });
  const box = el("section", { className: "sq-source", attrs: { "data-source": name } }, [
    el("h4", {}, [el("span", { text: name }), " ", status]),
    reason, list,
  ]);
  return {
    box,
    set(a) {
      replace(status, chip(a.status));
      box.dataset.status = a.status;
      reason.textContent = a.reason + " · " + Math.round(a.elapsed_ms) + " ms";
      replace(list, ...(a.records || []).map(recordItem));
    },
  };
}

function groupsView(groups) {
  if (!groups.length) return null;
  return el("div", { className: "sq-groups" }, groups.map((g) => {
    const agree = Object.entries(g.agree).map(([k, v]) => humanKey(k) + ": " + v).join(" · ");
    return el("div", { className: "sq-group" + (g.conflicts.length ? " sq-conflict" : "") }, [
      el("p", {}, [
        el("strong", { text: "Person in " + g.sources.length + " source(s): " }),
        g.sources.join(", "),
      ]),
      agree ? el("p", { className: "muted", text: "Agree — " + agree }) : null,
      g.name_only_link ? el("p", { className: "alert warn", text: "Linked by name only: verify." })
        : null,
      ...g.conflicts.map((c) => el("p", {
        className: "alert warn sq-conflict-line", attrs: { role: "alert", "data-field": c.field },
      }, [
        el("strong", { text: "⚠ Conflict — " + humanKey(c.field) + ": " }),
        Object.entries(c.values).map(([v, s]) => v + " (" + s.join(", ") + ")").join(" vs "),
      ])),
    ]);
  }));
}

function openPanel(panel, c, search) {
  const form = el("form", { className: "sq-form", attrs: { novalidate: true } });
  const code = el("select", { attrs: { id: "sq-code-" + c.rank, "aria-label": "Purpose code" } });
  const purpose = el("input", { attrs: { type: "text", maxlength: 500, value: search.purpose || "",
    "aria-label": "Purpose" } });
  const caseId = el("input", { attrs: { type: "text", maxlength: 100, value: search.case_id || "",
    "aria-label": "Case ID" } });
  const go = el("button", { className: "primary", text: "Query records", attrs: { type: "submit" } });
  const out = el("div", { className: "sq-out", attrs: { "aria-live": "polite" } });
  form.append(
    el("label", { text: "Purpose code", attrs: { for: "sq-code-" + c.rank } }), code,
    el("label", { text: "Purpose" }, [purpose]),
    el("label", { text: "Case ID" }, [caseId]), go,
  );
  replace(panel, form, out);
  loadSources().then((info) => {
    replace(code, ...info.purpose_codes.map((p) =>
      el("option", { text: p.code + " — " + p.label, attrs: { value: p.code } })));
  }, (err) => replace(out, el("p", { className: "alert warn", text: describe(err) })));

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    go.disabled = true;
    const sections = new Map();
    const srcBox = el("div", { className: "sq-sources" });
    const summary = el("p", { className: "sq-summary", attrs: { role: "status" } });
    replace(out, summary, srcBox);
    try {
      const res = await fetch("/v1/queries", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream",
          Authorization: "Bearer " + session.token },
        body: JSON.stringify({ reference: c.reference, purpose: purpose.value,
          purpose_code: code.value, case_id: caseId.value, search_id: search.search_id }),
      });
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        const e = body.error || {};
        throw new Error((e.code ? e.code + ": " : "") + (e.message || "HTTP " + res.status));
      }
      await readEvents(res, (name, d) => {
        if (name === "query") {
          summary.textContent = "Asking " + d.sources.length + " source(s), deadline " +
            d.deadline_ms / 1000 + " s. " + d.notice;
          for (const s of d.sources) {
            const sec = sourceSection(s);
            sections.set(s, sec);
            srcBox.append(sec.box);
          }
          for (const n of d.not_queried) {
            srcBox.append(el("section", { className: "sq-source sq-skipped",
              attrs: { "data-source": n.source, "data-status": "not_queried" } }, [
              el("h4", {}, [el("span", { text: n.source }), " ",
                el("span", { className: "sq-chip sq-skip", text: "Not queried" })]),
              el("p", { className: "muted", text: n.reason }),
            ]));
          }
        } else if (name === "answer" && sections.has(d.source)) {
          sections.get(d.source).set(d);
        } else if (name === "done") {
          const missing = d.not_answered.map((n) => n.source);
          summary.textContent = "Done in " + Math.round(d.elapsed_ms) + " ms." +
            (missing.length ? " Did not answer: " + missing.join(", ") + "." : "");
          panel.dataset.done = "1";
          if (d.groups.some((g) => g.records.some((r) => r.synthetic))) {
            out.insertBefore(el("p", { className: "note", text: "SYNTHETIC demo records: " +
              "generated for the demonstration, they say nothing about the person pictured." }),
            srcBox);
          }
          const gv = groupsView(d.groups);
          if (gv) out.insertBefore(gv, srcBox);
        }
      });
    } catch (err) {
      replace(out, el("p", { className: "alert warn", attrs: { role: "alert" },
        text: err instanceof Error ? err.message : String(err) }));
    } finally {
      go.disabled = false;
    }
  });
}

/** Hook for view-results.js: a "Super Query" button under a candidate card. */
export function attachSuperQuery(card, c, search) {
  if (!session.can("search")) return;
  const panel = el("div", { className: "sq-panel", hidden: true });
  const btn = el("button", {
    className: "sq-button", text: "Super Query records",
    attrs: { type: "button", "aria-expanded": "false" },
  });
  btn.addEventListener("click", () => {
    const open = panel.hidden;
    panel.hidden = !open;
    btn.setAttribute("aria-expanded", String(open));
    if (open && !panel.firstChild) openPanel(panel, c, search);
  });
  card.append(btn, panel);
}
