/*
 * Results of one search: the "investigative lead" banner, capture agreement, probe
 * quality, then either a plain "No candidate" or the ranked candidates with photo,
 * reference, synthetic display fields, score, estimated false-positive rate and source.
 */

import { ApiError, describe, fetchBlob, request, session } from "./api.js";
import {
  defList, el, fmtRate, fmtScore, fmtTime, fromTemplate, humanKey, replace, setStatus,
} from "./dom.js";
import { GUIDANCE } from "./camera.js";
import { disputeNote, endEncounter } from "./view-governance.js";
import { attachSuperQuery } from "./view-query.js";
import { fusedView } from "./view-fusion.js";

function candidateCard(c, urls, search) {
  const name = c.display_name || c.reference;
  const photo = el("div", { className: "cand-photo", text: "Loading photo…" });
  if (typeof c.photo_url === "string" && c.photo_url.startsWith("/v1/")) {
    fetchBlob(c.photo_url).then((blob) => {
      const url = URL.createObjectURL(blob);
      urls.push(url);
      replace(photo, el("img", { attrs: { src: url, alt: "Gallery photo of " + name } }));
    }, () => { photo.textContent = "Photo unavailable"; });
  } else {
    photo.textContent = "No photo";
  }
  const rows = [];
  if (c.estimated_fpir !== undefined && c.estimated_fpir !== null) {
    rows.push(["Est. false-positive rate", fmtRate(c.estimated_fpir)]);
  }
  const sources = Array.isArray(c.sources) ? c.sources.join(", ") : c.source;
  rows.push(["Source", sources]);
  rows.push(["Samples compared", c.samples_compared]);
  for (const [k, v] of Object.entries(c.attributes || {})) {
    if (v !== null && typeof v !== "object") rows.push([humanKey(k), String(v)]);
  }
  const head = el("div", { className: "cand-head" }, [
    photo,
    el("div", { className: "cand-main" }, [
      el("p", { className: "cand-top" }, [
        el("span", { className: "rank", text: "#" + c.rank }),
        el("span", { className: "score", text: "Score " + fmtScore(c.score) }),
      ]),
      el("p", { className: "cand-name", text: name }),
      c.synthetic ? el("span", { className: "badge", text: "SYNTHETIC RECORD" }) : null,
      el("p", { className: "cand-ref" }, [
        el("span", { className: "muted", text: "Reference: " }),
        el("strong", { text: c.reference }),
      ]),
    ]),
  ]);
  const card = el("li", { className: "cand", attrs: { "data-reference": c.reference } },
    [head, disputeNote(c), defList(rows)]);
  attachSuperQuery(card, c, search);
  return card;
}

function alerts(d) {
  const out = [];
  const cons = d.consistency;
  if (cons && cons.agree === false) {
    out.push(el("div", { className: "alert warn", attrs: { role: "alert" } }, [
      el("strong", { text: "⚠ Captures disagree. " }),
      cons.warning || "The captures of this encounter do not point to the same candidates.",
    ]));
  } else if (cons && cons.agree === true && (d.captures || 1) > 1) {
    out.push(el("p", { className: "alert ok", text: "The " + d.captures +
      " captures of this encounter agree." }));
  }
  const warnings = (d.probe && d.probe.quality && d.probe.quality.warnings) || [];
  if (warnings.length) {
    out.push(el("div", { className: "alert warn" }, [
      el("strong", { text: "Photo quality: " }),
      warnings.map((w) => GUIDANCE[w] || w).join(" "),
    ]));
  }
  return out;
}

const FINGERS = ["", "Right thumb", "Right index", "Right middle", "Right ring", "Right little",
  "Left thumb", "Left index", "Left middle", "Left ring", "Left little"];

/** Several finger captures (a four-finger search): each finger's own top candidate. */
function perFinger(d) {
  const per = ((d.consistency && d.consistency.per_capture) || []).filter((p) => p.finger_position);
  if (per.length < 2) return null;
  const refs = new Map((d.candidates || []).map((c) => [c.identity_id, c]));
  const best = (d.candidates || [])[0];
  return el("section", { className: "per-finger", attrs: { "data-test": "per-finger" } }, [
    el("h2", { text: "Each finger on its own" }),
    el("ul", {}, per.map((p) => {
      const c = refs.get(p.top_identity_id);
      const who = !p.top_identity_id ? "no candidate above the threshold"
        : c ? `#${c.rank} ${c.reference} (score ${fmtScore(p.top_score)})`
          : "a record not in the list (score " + fmtScore(p.top_score) + ")";
      const same = best && p.top_identity_id === best.identity_id;
      return el("li", { attrs: { "data-finger": String(p.finger_position), "data-agrees": String(Boolean(same)) } }, [
        el("strong", { text: (FINGERS[p.finger_position] || "Finger " + p.finger_position) + ": " }),
        (same ? "✓ " : "") + who]);
    })),
  ]);
}

function body(d, urls) {
  const cands = d.candidates || [];
  if (d.decision !== "candidates" || !cands.length) {
    return el("div", { className: "no-candidate", attrs: { "data-decision": "no_candidate" } }, [
      el("h2", { text: "No candidate" }),
      el("p", { text: "No gallery record scored above the threshold (" + d.threshold + "). " +
        "This is not evidence that the person is not in the gallery." }),
    ]);
  }
  return el("div", { attrs: { "data-decision": "candidates" } }, [
    el("h2", { text: cands.length + (cands.length === 1 ? " candidate" : " candidates") +
      ", best first" }),
    el("ol", { className: "candidates" }, cands.map((c) => candidateCard(c, urls, d))),
  ]);
}

function meta(d) {
  return el("details", { className: "meta" }, [
    el("summary", { text: "Search details" }),
    defList([
      ["Search", d.search_id],
      ["Purpose", d.purpose],
      ["Case", d.case_id],
      ["Operator", d.operator],
      ["Time", fmtTime(d.created_at)],
      ["Captures", d.captures],
      ["Gallery size", d.gallery_size],
      ["Threshold", d.threshold],
      ["Model", d.model],
    ]),
    d.notice ? el("p", { className: "hint", text: d.notice }) : null,
  ]);
}

export function render(host, ctx, args) {
  const id = args[0];
  const { root, refs } = fromTemplate("results");
  host.replaceChildren(root);
  const urls = [];

  function show(d) {
    replace(refs.alerts, ...alerts(d));
    replace(refs.body, body(d, urls));
    const fingers = perFinger(d); // four-finger search: each finger's top candidate
    if (fingers) refs.body.prepend(fingers);
    const fused = fusedView(d); // face + finger: one ranking first (view-fusion.js)
    if (fused) refs.body.prepend(fused);
    replace(refs.meta, meta(d));
    endEncounter(refs.outcome, d, ctx);
    const mine = session.me && d.operator === session.me.name;
    refs.second.hidden = !(session.can("search") && mine);
    refs.second.textContent = (d.captures || 1) > 1 ? "Add another capture" : "Add second capture";
    refs.new.hidden = !session.can("search");
  }

  refs.second.addEventListener("click", () => {
    ctx.navigate("#/capture/second/" + encodeURIComponent(id));
  });

  if (!id) {
    replace(refs.body, el("p", { text: "No search selected." }));
  } else if (ctx.resultCache.has(id)) {
    show(ctx.resultCache.get(id));
  } else {
    request("/v1/searches/" + encodeURIComponent(id)).then((d) => {
      ctx.resultCache.set(id, d);
      if (refs.body.isConnected) show(d);
    }, (err) => {
      replace(refs.body, el("p", { className: "alert warn", text: describe(err) }));
      if (err instanceof ApiError && err.status === 401) ctx.signOut("Please sign in again.");
      else setStatus(describe(err), "error");
    });
  }
  return () => { for (const u of urls) URL.revokeObjectURL(u); };
}
