/*
 * Document scan: passport / ID card / visa (MRZ) or US licence (PDF417 on the back).
 * Live camera with a guide frame and feedback (glare, hold still, move closer), or a photo
 * file; purpose (required) and case id; then POST /v1/documents and the result: parsed
 * fields, check digits, corrections, flags, the holder check and the portrait comparison.
 */

import { ApiError, describe, request } from "./api.js";
import { Camera, chosenOrSnapshot, liveFeedback } from "./camera.js";
import { defList, el, humanKey, replace, setStatus } from "./dom.js";

const MIN_PURPOSE = 3;
const REFUSALS = {
  no_document: "No document found. Fill the frame with the photo page or the card.",
  mrz_unreadable: "The machine-readable zone could not be read. Avoid glare and retake.",
  barcode_unreadable: "The barcode could not be decoded. Hold the card flat and retake.",
  not_aamva: "That barcode is not a driving licence barcode.",
  invalid_image: "That file could not be read as a photo.",
};

/** Simple live feedback from one preview frame (inside the guide frame). */
function frameFeedback(video, canvas) {
  const w = 160;
  const h = Math.max(1, Math.round((w * video.videoHeight) / Math.max(1, video.videoWidth)));
  canvas.width = w;
  canvas.height = h;
  const g = canvas.getContext("2d", { willReadFrequently: true });
  g.drawImage(video, 0, 0, w, h);
  const px = g.getImageData(0, 0, w, h).data;
  let bright = 0;
  let edges = 0;
  let prev = 0;
  const hist = new Uint32Array(256);
  for (let i = 0, n = 0; i < px.length; i += 4, n++) {
    const y = 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
    hist[Math.min(255, Math.round(y))]++;
    if (y > 250) bright++;
    if (n % w && Math.abs(y - prev) > 40) edges++;
    prev = y;
  }
  const total = px.length / 4;
  let acc = 0;
  let median = 0;
  while (median < 255 && acc + hist[median] < total / 2) acc += hist[median++];
  // Glare: a burnt-out patch on a document that is otherwise not white.
  if (bright / total > 0.04 && median < 200) return { text: "Glare: tilt the document away from the light.", ok: false };
  if (edges / total < 0.01) return { text: "Move closer: fill the frame with the document.", ok: false };
  if (edges / total < 0.03) return { text: "Hold still: the image is not sharp.", ok: false };
  return { text: "Good: the document fills the frame. Ready to scan.", ok: true };
}

function drawGuide(canvas, video) {
  const w = video.clientWidth || 320;
  const h = video.clientHeight || 240;
  canvas.width = w;
  canvas.height = h;
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, w, h);
  const fw = w * 0.86;
  const fh = Math.min(h * 0.86, fw / 1.42);
  const x = (w - fw) / 2;
  const y = (h - fh) / 2;
  g.strokeStyle = "#ffd200";
  g.lineWidth = 3;
  g.strokeRect(x, y, fw, fh);
  g.setLineDash([6, 4]);
  g.strokeRect(x + fw * 0.04, y + fh * 0.74, fw * 0.92, fh * 0.22); // MRZ band / barcode
}

function resultView(r) {
  const d = r.document;
  const box = el("section", { className: "card", attrs: { "aria-labelledby": "doc-result-h" } });
  const valid = d.valid ? "valid" : "NOT valid";
  box.append(el("h2", { text: (d.format || "Document") + ": " + valid,
    attrs: { id: "doc-result-h", "data-test": "doc-result" } }));
  box.append(el("p", { className: "note", text: r.notice }));
  if (r.flags && r.flags.length) {
    box.append(el("p", { className: "field-error", text: "Flags: " + r.flags.join(", "),
      attrs: { "data-test": "doc-flags" } }));
  }
  box.append(defList(Object.entries(d.fields || {}).map(([k, v]) => [humanKey(k), v === null ? "" : String(v)])));
  const checks = Object.values(d.checks || {});
  if (checks.length) {
    box.append(el("h3", { text: "Check digits" }));
    box.append(el("ul", { attrs: { "data-test": "doc-checks" } }, checks.map((c) =>
      el("li", { text: humanKey(c.name) + ": " + (c.ok ? "ok" : "FAILED (read " + c.digit + ", expected " + c.expected + ")") }))));
  }
  for (const c of d.corrections || []) {
    box.append(el("p", { className: "hint", text: "Corrected line " + (c.line + 1) + " position " +
      (c.pos + 1) + ": " + c.read + " → " + c.corrected + " (" + c.reason + ")" }));
  }
  box.append(el("h3", { text: "Holder check" }));
  const p = r.portrait || {};
  box.append(el("p", { text: p.compared
    ? "Portrait vs live face: " + String(p.decision).replace(/_/g, " ") + " (score " + p.score + ")"
    : "Portrait not compared: " + (p.reason || "no live face") }));
  if (p.compared && p.calibration) box.append(el("p", { className: "hint", text: "Calibration: " + p.calibration + "." }));
  const agreement = r.holder_agreement || {};
  if (agreement.agree === false) {
    box.append(el("p", { className: "alert warn", attrs: { role: "alert", "data-test": "doc-disagree" },
      text: (r.consistency && r.consistency.warning) || "The document holder and the face candidates differ." }));
  }
  if (!r.leads.length) box.append(el("p", { text: "No record matches the holder." }));
  for (const lead of r.leads) {
    box.append(el("p", { attrs: { "data-test": "doc-lead" }, text: "Lead " + lead.reference + " " +
      (lead.display_name || "") + (lead.synthetic ? " [SYNTHETIC]" : "") + ": matched by " +
      lead.matched_by.join(", ") + (lead.mismatch.length ? " — MISMATCH: " + lead.mismatch.join(", ") : "") }));
  }
  return box;
}

export function render(host) {
  const video = el("video", { attrs: { playsinline: true, muted: true, "aria-label": "Live camera preview" } });
  const overlay = el("canvas", { className: "overlay", attrs: { "aria-hidden": "true" } });
  const probe = document.createElement("canvas");
  const guidance = el("p", { className: "guidance", attrs: { role: "status", "aria-live": "polite" } });
  const camBox = el("div", { className: "camera", hidden: true }, [
    el("div", { className: "viewfinder" }, [video, overlay]), guidance]);
  const start = el("button", { text: "Start camera", attrs: { type: "button", "data-test": "doc-cam" } });
  const file = el("input", { attrs: { id: "doc-file", type: "file", accept: "image/*", capture: "environment" } });
  const purpose = el("input", { attrs: { id: "doc-purpose", type: "text", maxlength: "500", required: true, autocomplete: "off" } });
  const caseId = el("input", { attrs: { id: "doc-case", type: "text", maxlength: "100", autocomplete: "off" } });
  const submit = el("button", { className: "primary wide", text: "Scan document", attrs: { type: "submit", "data-test": "doc-scan" } });
  const out = el("div");
  const form = el("form", { attrs: { novalidate: true } }, [
    el("fieldset", {}, [el("legend", { text: "Photo page, ID card or licence back" }), camBox,
      el("div", { className: "row" }, [start]),
      el("label", { text: "Or choose a photo", attrs: { for: "doc-file" } }), file]),
    el("label", { text: "Purpose (required)", attrs: { for: "doc-purpose" } }), purpose,
    el("label", { text: "Case ID (optional)", attrs: { for: "doc-case" } }), caseId, submit]);
  host.replaceChildren(el("section", { className: "card", attrs: { "aria-labelledby": "doc-h" } }, [
    el("h1", { text: "Scan a document", attrs: { id: "doc-h", tabindex: "-1" } }), form]), out);

  const cam = new Camera(video);
  const cleanUp = liveFeedback(cam, start, camBox, () => {
    drawGuide(overlay, video);
    guidance.textContent = frameFeedback(video, probe).text;
  }, 500);

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (purpose.value.trim().length < MIN_PURPOSE) {
      setStatus("State the purpose of this scan (at least 3 characters).", "error");
      purpose.focus();
      return;
    }
    const blob = await chosenOrSnapshot(file, cam, 1920);
    if (!blob) { setStatus("Take or choose a photo of the document first.", "error"); return; }
    const body = new FormData();
    body.append("image", blob, "document.jpg");
    body.append("purpose", purpose.value.trim());
    if (caseId.value.trim()) body.append("case_id", caseId.value.trim());
    submit.disabled = true;
    setStatus("Reading the document…");
    try {
      const r = await request("/v1/documents", { method: "POST", body, timeout: 60000 });
      replace(out, resultView(r));
      setStatus("Document read. Results are leads, never identifications.", "ok");
    } catch (err) {
      const msg = err instanceof ApiError && REFUSALS[err.code] ? REFUSALS[err.code] : describe(err);
      setStatus(msg, "error");
    } finally {
      submit.disabled = false;
    }
  });

  return cleanUp;
}
