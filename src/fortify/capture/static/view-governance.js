/*
 * Governance in the field app: the training status in the header, prior approvals
 * (officers ask, a different supervisor decides), the "verified, delete now" end of an
 * encounter, and the disputes/corrections shown on candidate cards.
 */

import { ApiError, describe, request, session } from "./api.js";
import { el, fmtTime, fromTemplate, replace, setStatus } from "./dom.js";

/** A JSON request body (the Blob's type becomes the Content-Type header). */
const json = (data) => new Blob([JSON.stringify(data)], { type: "application/json" });

/** Header badge: "Training valid to …" or "Training required" (searching is refused). */
export async function showTraining() {
  const badge = document.getElementById("training");
  if (!badge) return;
  if (!session.me || !session.can("search")) { badge.hidden = true; return; }
  try {
    const t = await request("/v1/training/me");
    badge.textContent = t.valid ? "Trained · to " + t.expires_on
      : "Training required" + (t.expires_on ? " (expired " + t.expires_on + ")" : "");
    badge.className = "training " + (t.valid ? "ok" : "bad");
    badge.dataset.valid = t.valid ? "yes" : "no";
    badge.hidden = false;
  } catch (err) {
    badge.hidden = true;
  }
}

/** Purpose categories of the use policy, for the capture form's select. */
export async function fillCategories(select) {
  if (!select) return;
  try {
    const p = await request("/v1/policy");
    const opts = p.categories.map((c) => el("option", {
      text: c.label + (c.requires_case_id ? " (case id)" : "") +
        (c.requires_approval ? " (approval)" : ""),
      attrs: { value: c.id, "data-approval": c.requires_approval ? "yes" : null },
    }));
    replace(select, ...opts);
    select.value = p.default_category;
  } catch (err) { /* offline: the server applies its default category */ }
}

/** The disputes and corrections recorded against a candidate's record. */
export function disputeNote(c) {
  const list = Array.isArray(c.disputes) ? c.disputes : [];
  if (!list.length) return null;
  return el("div", { className: "alert warn dispute", attrs: { role: "note" } }, [
    el("strong", { text: list.length === 1 ? "Disputed record: " : list.length + " disputes: " }),
    list.map((d) => (d.kind === "correction" ? "Correction: " : "Dispute: ") + d.text).join(" · "),
  ]);
}

const OUTCOMES = [
  ["verified_citizen", "Verified citizen"],
  ["verified_lawful_resident", "Verified lawful resident"],
  ["no_action", "No action taken"],
];

/** End of the encounter: the person is not a subject, so the probe is deleted now. */
export function endEncounter(host, d, ctx) {
  if (!host) return;
  const mine = session.me && d.operator === session.me.name;
  if (!session.can("search") || !mine || d.confirmed_identity_id) { replace(host); return; }
  const select = el("select", { attrs: { id: "outcome-select" } },
    OUTCOMES.map(([v, t]) => el("option", { text: t, attrs: { value: v } })));
  const button = el("button", { className: "danger", text: "Verified, delete now",
    attrs: { type: "button" } });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await request("/v1/searches/" + encodeURIComponent(d.search_id) + "/outcome", {
        method: "POST", body: json({ outcome: select.value }),
      });
      ctx.resultCache.delete(d.search_id);
      setStatus("The photo and results of this search were deleted. The audit log keeps only " +
        "that it happened.", "ok");
      ctx.navigate("#/capture");
    } catch (err) {
      button.disabled = false;
      setStatus(describe(err), "error");
    }
  });
  replace(host, el("section", { className: "encounter-end", attrs: { "aria-labelledby": "end-h" } }, [
    el("h2", { text: "End of encounter", attrs: { id: "end-h" } }),
    el("p", { className: "hint", text: "If the person is not a subject, their photo and this " +
      "result are deleted at once, not at the retention deadline." }),
    el("label", { text: "Outcome", attrs: { for: "outcome-select" } }),
    select,
    button,
  ]));
}

function approvalItem(a, decide, reload) {
  const rows = [
    el("p", { className: "appr-head" }, [
      el("strong", { text: a.category }),
      el("span", { className: "badge appr-" + a.status, text: a.status }),
    ]),
    el("p", { text: "Purpose: " + a.purpose + (a.case_id ? " · Case " + a.case_id : "") }),
    el("p", { className: "muted", text: "Requested by " + a.requester + ", " + fmtTime(a.created_at) +
      (a.decided_by ? " · decided by " + a.decided_by : "") +
      (a.expires_at ? " · valid to " + fmtTime(a.expires_at) : "") }),
  ];
  if (a.status === "approved" && session.me && a.requester === session.me.name) {
    rows.push(el("p", { className: "hint", text: "Approval id (used by your next search): " +
      a.approval_id }));
  }
  if (decide && a.status === "pending" && session.me && a.requester !== session.me.name) {
    const act = async (verb) => {
      try {
        await request("/v1/approvals/" + encodeURIComponent(a.approval_id) + "/" + verb, {
          method: "POST", body: json({}),
        });
        setStatus("Request " + (verb === "approve" ? "approved" : "denied") + ".", "ok");
        reload();
      } catch (err) { setStatus(describe(err), "error"); }
    };
    rows.push(el("div", { className: "row" }, [
      el("button", { className: "primary", text: "Approve", attrs: { type: "button" },
        on: { click: () => act("approve") } }),
      el("button", { text: "Deny", attrs: { type: "button" }, on: { click: () => act("deny") } }),
    ]));
  }
  return el("li", { className: "appr", attrs: { "data-status": a.status } }, rows);
}

/** #/approvals: the request form and the list (supervisors decide others' requests). */
export function render(host, ctx) {
  const { root, refs } = fromTemplate("approvals");
  host.replaceChildren(root);
  const decide = session.can("enroll");
  refs.title.textContent = decide ? "Approvals" : "My approval requests";
  fillApprovalCategories(refs.category);

  async function load() {
    try {
      const rows = await request("/v1/approvals");
      replace(refs.list, ...rows.map((a) => approvalItem(a, decide, load)));
      refs.count.textContent = rows.length ? rows.filter((a) => a.status === "pending").length +
        " pending" : "No requests.";
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) ctx.signOut("Please sign in again.");
      else setStatus(describe(err), "error");
    }
  }

  refs.form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await request("/v1/approvals", {
        method: "POST",
        body: json({ category: refs.category.value, purpose: refs.purpose.value.trim(),
          case_id: refs.case.value.trim() || null }),
      });
      refs.form.reset();
      setStatus("Request sent to a supervisor.", "ok");
      load();
    } catch (err) { setStatus(describe(err), "error"); }
  });
  load();
  return null;
}

async function fillApprovalCategories(select) {
  try {
    const p = await request("/v1/policy");
    replace(select, ...p.categories.filter((c) => c.requires_approval)
      .map((c) => el("option", { text: c.label, attrs: { value: c.id } })));
  } catch (err) { /* the list stays empty */ }
}

/** The operator's approved, unexpired approval of the selected category, if it needs one. */
export async function approvalFor(select) {
  const opt = select && select.selectedOptions && select.selectedOptions[0];
  if (!opt || opt.dataset.approval !== "yes") return null;
  const category = select.value;
  try {
    const rows = await request("/v1/approvals?status=approved");
    const now = Date.now();
    const ok = rows.find((a) => a.category === category && session.me &&
      a.requester === session.me.name && a.expires_at && Date.parse(a.expires_at) > now);
    return ok ? ok.approval_id : null;
  } catch (err) {
    return null;
  }
}

const ACTION_LABELS = {
  "identity.delete": "Record deleted",
  opt_out: "Opt-out",
  "identity.opt_out": "Opt-out",
  "searches.export": "Search history exported",
  "audit.export": "Audit log exported",
  "search.rapid_delete": "Deleted at once (not a subject)",
  "subject.report": "Subject access report",
  "dispute.record": "Dispute recorded",
  "search.confirm": "Match confirmed",
  "approval.decide": "Approval decided",
};

/** The auditor's list of deletions, opt-outs, exports, confirmations, with their reasons. */
export async function reasonedActions(host) {
  if (!host || !session.can("audit.read")) return;
  try {
    const { items } = await request("/v1/oversight/governance?limit=50");
    const rows = items.map((e) => {
      const d = e.details || {};
      const why = d.reason || d.outcome || d.note || d.status || d.kind || "";
      return el("li", { className: "gov-action", attrs: { "data-action": e.action } }, [
        el("strong", { text: ACTION_LABELS[e.action] || e.action }),
        " · " + e.actor + " · " + fmtTime(e.ts) + (why ? " · " + why : ""),
      ]);
    });
    replace(host, el("h2", { text: "Deletions, exports and decisions" }),
      rows.length ? el("ul", { className: "gov-actions" }, rows)
        : el("p", { className: "muted", text: "None recorded." }));
  } catch (err) {
    replace(host, el("p", { className: "alert warn", text: describe(err) }));
  }
}
