/* The offline queue: each capture's state (queued, sending, sent, failed) and actions. */

import { session } from "./api.js";
import { el, fmtTime, replace, fromTemplate, setStatus } from "./dom.js";
import * as queue from "./queue.js";

const LABELS = { queued: "Queued", sending: "Sending…", sent: "Sent", failed: "Failed" };

async function itemRow(item, ctx, refresh) {
  const mine = session.me && item.operator === session.me.name;
  const state = el("span", {
    className: "state state-" + item.state, text: LABELS[item.state] || item.state,
  });
  const lines = [el("p", { className: "queue-top" }, [state, " ", fmtTime(item.created_at)])];
  if (mine && item.meta) {
    try {
      const d = await queue.details(item);
      lines.push(el("p", { className: "queue-purpose", text: d.purpose }));
      if (d.case_id) lines.push(el("p", { className: "muted", text: "Case " + d.case_id }));
    } catch (e) {
      lines.push(el("p", { className: "muted", text: "Details cannot be decrypted here." }));
    }
  } else if (!mine) {
    lines.push(el("p", { className: "muted", text: "Held for " + item.operator + "." }));
  }
  if (item.error) lines.push(el("p", { className: "queue-error", text: item.error }));
  if (item.attempts) {
    lines.push(el("p", { className: "muted", text: "Attempts: " + item.attempts }));
  }
  const actions = el("div", { className: "row" });
  if (mine && item.state === "sent" && item.search_id) {
    actions.append(el("a", {
      className: "button primary", text: "Open result",
      attrs: { href: "#/results/" + encodeURIComponent(item.search_id) },
    }));
    lines.push(el("p", {
      className: "muted",
      text: item.decision === "no_candidate" ? "Outcome: no candidate." : "Outcome: candidates.",
    }));
  }
  if (mine && (item.state === "failed" || item.state === "queued")) {
    actions.append(el("button", {
      className: item.state === "failed" ? "primary" : "", text: "Retry",
      attrs: { type: "button" },
      on: {
        click: async () => {
          setStatus("Sending…");
          const sent = await queue.retry(item.id);
          setStatus(sent.length ? "Sent." : "Not sent yet.", sent.length ? "ok" : "warn");
          refresh();
        },
      },
    }));
  }
  if (mine && item.state !== "sending") {
    actions.append(el("button", {
      text: item.state === "sent" ? "Remove" : "Delete", attrs: { type: "button" },
      on: {
        click: async () => {
          await queue.remove(item.id);
          setStatus(item.state === "sent" ? "Removed." : "Capture deleted from this device.", "ok");
          refresh();
        },
      },
    }));
  }
  return el("li", {
    className: "queue-item", attrs: { "data-state": item.state, "data-id": item.id },
  }, [...lines, actions]);
}

export function render(host, ctx) {
  const { root, refs } = fromTemplate("queue");
  host.replaceChildren(root);
  if (!queue.supported()) {
    refs.unsupported.hidden = false;
    refs.send.hidden = true;
    refs.clear.hidden = true;
    return null;
  }
  let pending = false;
  let again = false;

  async function refresh() {
    if (!refs.list.isConnected) return;
    if (pending) { again = true; return; }
    pending = true;
    try {
      const items = await queue.list();
      const rows = [];
      for (const item of items) rows.push(await itemRow(item, ctx, refresh));
      replace(refs.list, ...rows);
      const n = await queue.counts();
      const parts = [];
      for (const k of ["queued", "sending", "failed", "sent"]) if (n[k]) parts.push(n[k] + " " + k);
      if (n.others) parts.push(n.others + " for other operators");
      refs.summary.textContent = parts.length ? parts.join(", ") + "." : "Nothing waiting.";
      refs.clear.hidden = !n.sent;
      refs.send.disabled = !n.queued;
    } finally {
      pending = false;
      if (again) { again = false; refresh(); }
    }
  }

  refs.send.addEventListener("click", async () => {
    if (!navigator.onLine) { setStatus("Still offline: the captures will wait.", "warn"); return; }
    const sent = await queue.flush();
    setStatus(sent.length ? sent.length + " sent." : "Nothing was sent.", sent.length ? "ok" : "warn");
  });
  refs.clear.addEventListener("click", async () => {
    for (const item of await queue.list()) {
      if (item.state === "sent" && session.me && item.operator === session.me.name) {
        await queue.remove(item.id);
      }
    }
  });
  const onChange = () => refresh();
  queue.events.addEventListener("change", onChange);
  refresh();
  return () => queue.events.removeEventListener("change", onChange);
}
