/*
 * The fused ranking of an encounter with captures of several modalities (face + finger):
 * one ranking, one estimated false-positive rate per candidate, the assumption it rests on.
 */

import { el, fmtRate, fmtScore } from "./dom.js";

/** A section for ``d.fused`` (null when the search has one modality). */
export function fusedView(d) {
  const f = d && d.fused;
  if (!f || !Array.isArray(f.candidates)) return null;
  const names = (f.modalities || []).join(" + ");
  const box = el("section", { className: "fused", attrs: { "data-test": "fused", "aria-labelledby": "fused-h" } });
  box.append(el("h2", { text: "Fused ranking (" + names + ")", attrs: { id: "fused-h" } }));
  if (f.decision === "not_calibrated") {
    box.append(el("p", { className: "note", text: "No fused ranking: no calibration for " +
      (f.not_calibrated || []).join(", ") + "." }));
    return box;
  }
  if (!f.candidates.length) {
    box.append(el("p", { text: "No candidate in any modality." }));
    return box;
  }
  box.append(el("ol", { className: "fused-list" }, f.candidates.map((c) => {
    const parts = Object.entries(c.by_modality || {}).map(([m, v]) => m + " " + fmtScore(v.score));
    const missing = (f.modalities || []).filter((m) => !(c.by_modality || {})[m]);
    return el("li", { attrs: { "data-reference": c.reference } }, [
      el("strong", { text: c.display_name || c.reference }),
      c.synthetic ? el("span", { className: "badge", text: "SYNTHETIC RECORD" }) : null,
      el("span", { text: " · Reference " + c.reference }),
      el("br"),
      el("span", { text: "Est. false-positive rate " + fmtRate(c.estimated_fpir) }),
      el("br"),
      el("span", { className: "muted", text: "Matched by " + parts.join(", ") +
        (missing.length ? "; no match by " + missing.join(", ") : "") }),
    ]);
  })));
  box.append(el("p", { className: "hint", text: f.assumption || "" }));
  return box;
}
