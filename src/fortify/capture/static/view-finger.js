/*
 * Finger search: one finger (a contact print on a scanner glass or paper, or a fingertip
 * held to the camera) or the four fingers of one hand (a slap, finger-four.js). Live
 * camera with a guide and feedback computed here in the browser (size in the guide,
 * ridge sharpness; four fingers: how many outlines hold one), the finger position or
 * hand, purpose (required) and case id; then POST /v1/searches with modality=finger
 * (four fingers: finger_position right-four / left-four, each finger one capture).
 */

import { ApiError, describe, request } from "./api.js";
import { Camera, chosenOrSnapshot, liveFeedback } from "./camera.js";
import { el, setStatus } from "./dom.js";
import { approvalFor, fillCategories } from "./view-governance.js";
import { BLOCK, drawFourGuide, fourFingerFeedback, textureBlocks } from "./finger-four.js";

const MIN_PURPOSE = 3;
const POSITIONS = [
  ["right-index", "Right index"], ["right-thumb", "Right thumb"], ["right-middle", "Right middle"],
  ["right-ring", "Right ring"], ["right-little", "Right little"], ["left-index", "Left index"],
  ["left-thumb", "Left thumb"], ["left-middle", "Left middle"], ["left-ring", "Left ring"],
  ["left-little", "Left little"], ["unknown", "Not known"],
];
const HANDS = [["right-four", "Right hand, four fingers"], ["left-four", "Left hand, four fingers"]];
const REFUSALS = {
  no_finger: "No finger found. Place one fingertip inside the frame and retake.",
  no_fingers: "Fewer than two fingers found. Place four fingertips in the outlines, spread, and retake.",
  quality_too_low: "The ridges are not clear enough. Clean the glass, hold still and retake.",
  invalid_image: "That file could not be read as an image.",
};
/** The guide (one finger, upright) as fractions of the frame. */
const GUIDE = { w: 0.42, h: 0.86 };

/** The guide rectangle in a frame of w x h pixels. */
export function guideRect(w, h) {
  const gw = w * GUIDE.w;
  const gh = h * GUIDE.h;
  return { x: (w - gw) / 2, y: (h - gh) / 2, w: gw, h: gh };
}

/**
 * Feedback from grey levels ``y`` (w x h). Blocks with some texture are "finger" (an
 * empty wall or a plain background has none); size is the finger's width against the
 * guide's; sharpness is the mean |Laplacian| of the finger blocks relative to their
 * contrast, and the share of them that still show ridge contrast (blur flattens ridges
 * long before it hides the finger).
 */
export function fingerFeedback(y, w, h) {
  const g = guideRect(w, h);
  let blocks = 0;
  let present = 0;
  let ridged = 0;
  let lap = 0;
  let minX = w;
  let maxX = -1;
  for (const b of textureBlocks(y, w, h)) {
    const inGuide = b.cx >= g.x && b.cx <= g.x + g.w && b.cy >= g.y && b.cy <= g.y + g.h;
    if (inGuide) blocks++;
    if (b.sd < 4) continue;
    if (b.cy >= g.y && b.cy <= g.y + g.h) { minX = Math.min(minX, b.x); maxX = Math.max(maxX, b.x + BLOCK); }
    if (!inGuide) continue;
    present++;
    if (b.sd >= 18) ridged++;
    lap += b.lap;
  }
  const cover = blocks ? present / blocks : 0;
  const width = maxX > minX ? (maxX - minX) / g.w : 0;
  const sharp = present ? lap / present : 0;
  const ridges = present ? ridged / present : 0;
  const m = { cover: +cover.toFixed(3), width: +width.toFixed(3), sharpness: +sharp.toFixed(3), ridges: +ridges.toFixed(3) };
  if (cover < 0.2 || width < 0.45) return { ...m, ok: false, text: "Move closer: place one fingertip inside the frame." };
  if (width > 1.2) return { ...m, ok: false, text: "Move back: only one finger, inside the frame." };
  if (sharp < 0.9 || ridges < 0.5) return { ...m, ok: false, text: "Hold still: the ridges are not sharp." };
  return { ...m, ok: true, text: "Good: one finger, sharp ridges. Ready to search." };
}

function frameFeedback(video, canvas, hand) {
  const w = hand ? 640 : 320; // four fingers: twice the pixels across
  const h = Math.max(BLOCK, Math.round((w * video.videoHeight) / Math.max(1, video.videoWidth)));
  canvas.width = w;
  canvas.height = h;
  const g = canvas.getContext("2d", { willReadFrequently: true });
  g.drawImage(video, 0, 0, w, h);
  const px = g.getImageData(0, 0, w, h).data;
  const y = new Float32Array(w * h);
  for (let i = 0, n = 0; i < px.length; i += 4, n++) {
    y[n] = 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
  }
  return hand ? fourFingerFeedback(y, w, h, hand) : fingerFeedback(y, w, h);
}

function drawGuide(canvas, video, fb, hand) {
  const w = video.clientWidth || 320;
  const h = video.clientHeight || 240;
  canvas.width = w;
  canvas.height = h;
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, w, h);
  if (hand) { drawFourGuide(g, w, h, hand, fb); return; }
  const ok = fb.ok;
  const r = guideRect(w, h);
  const rad = r.w / 2;
  g.strokeStyle = ok ? "#3ad17a" : "#ffd200";
  g.lineWidth = 3;
  g.beginPath(); // a fingertip: rounded top, straight sides
  g.moveTo(r.x, r.y + r.h);
  g.lineTo(r.x, r.y + rad);
  g.arc(r.x + rad, r.y + rad, rad, Math.PI, 0);
  g.lineTo(r.x + r.w, r.y + r.h);
  g.stroke();
}

export function render(host, ctx) {
  const video = el("video", { attrs: { playsinline: true, muted: true, "aria-label": "Live camera preview" } });
  const overlay = el("canvas", { className: "overlay", attrs: { "aria-hidden": "true" } });
  const probe = document.createElement("canvas");
  const guidance = el("p", { className: "guidance", attrs: { role: "status", "aria-live": "polite", "data-test": "finger-guidance" } });
  const camBox = el("div", { className: "camera", hidden: true }, [
    el("div", { className: "viewfinder" }, [video, overlay]), guidance]);
  const start = el("button", { text: "Start camera", attrs: { type: "button", "data-test": "finger-cam" } });
  const file = el("input", { attrs: { id: "finger-file", type: "file", accept: "image/*", capture: "environment" } });
  const position = el("select", { attrs: { id: "finger-position", name: "finger_position" } });
  const modeInput = (value, text) => el("label", { className: "choice" }, [
    el("input", { attrs: { type: "radio", name: "finger-count", value, "data-test": "finger-mode-" + value } }), text]);
  const modes = el("fieldset", { className: "choices" }, [el("legend", { text: "Fingers" }),
    modeInput("one", "One finger"), modeInput("four", "Four fingers")]);
  const legend = el("legend", { text: "One finger" });
  const positionLabel = el("label", { text: "Finger", attrs: { for: "finger-position" } });
  let four = false;
  const cam = new Camera(video);
  const hand = () => (four ? (position.value === "left-four" ? "left" : "right") : null);
  function setMode(isFour) {
    four = isFour;
    modes.querySelector(`[value=${four ? "four" : "one"}]`).checked = true;
    position.replaceChildren(...(four ? HANDS : POSITIONS).map(([v, t]) => el("option", { text: t, attrs: { value: v } })));
    legend.textContent = four ? "Four fingers (one hand)" : "One finger";
    positionLabel.textContent = four ? "Hand" : "Finger";
    guidance.textContent = "";
    cam.ideal = four ? { width: 2560, height: 1920 } : { width: 1280, height: 960 };
    if (cam.active) cam.start().catch((err) => setStatus("Camera not available: " + err.message, "error"));
  }
  modes.addEventListener("change", (ev) => setMode(ev.target.value === "four"));
  const purpose = el("input", { attrs: { id: "finger-purpose", type: "text", maxlength: "500", required: true, autocomplete: "off" } });
  const caseId = el("input", { attrs: { id: "finger-case", type: "text", maxlength: "100", autocomplete: "off" } });
  const category = el("select", { attrs: { id: "finger-category", name: "category" } });
  const submit = el("button", { className: "primary wide", text: "Search finger", attrs: { type: "submit", "data-test": "finger-search" } });
  const form = el("form", { attrs: { novalidate: true } }, [
    modes,
    el("fieldset", {}, [legend, camBox,
      el("div", { className: "row" }, [start]),
      el("label", { text: "Or choose an image (print or photo)", attrs: { for: "finger-file" } }), file]),
    positionLabel, position,
    el("label", { text: "Purpose (required)", attrs: { for: "finger-purpose" } }), purpose,
    el("label", { text: "Case ID (optional)", attrs: { for: "finger-case" } }), caseId,
    el("label", { text: "Purpose category", attrs: { for: "finger-category" } }), category, submit]);
  host.replaceChildren(el("section", { className: "card", attrs: { "aria-labelledby": "finger-h" } }, [
    el("h1", { text: "Finger search", attrs: { id: "finger-h", tabindex: "-1" } }),
    el("p", { className: "hint" }, [el("a", { text: "Search by face instead", attrs: { href: "#/capture" } })]),
    form]));
  fillCategories(category);
  setMode(false);

  const cleanUp = liveFeedback(cam, start, camBox, () => {
    if (!video.videoWidth) return;
    const fb = frameFeedback(video, probe, hand());
    drawGuide(overlay, video, fb, hand());
    guidance.textContent = fb.text;
    guidance.dataset.ok = String(fb.ok);
    guidance.dataset.metrics = JSON.stringify({
      frame: [video.videoWidth, video.videoHeight], fingers: fb.fingers, cover: fb.cover, width: fb.width, sharpness: fb.sharpness, ridges: fb.ridges,
    });
  }, 400, { hideButton: true });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (purpose.value.trim().length < MIN_PURPOSE) {
      setStatus("State the purpose of this search (at least 3 characters).", "error");
      purpose.focus();
      return;
    }
    const blob = await chosenOrSnapshot(file, cam, four ? 2048 : 1280, 0.95); // four: keep the scale
    if (!blob) { setStatus("Take or choose an image of the finger first.", "error"); return; }
    const body = new FormData();
    body.append("image", blob, "finger.jpg");
    body.append("purpose", purpose.value.trim());
    body.append("modality", "finger");
    body.append("finger_position", position.value);
    if (caseId.value.trim()) body.append("case_id", caseId.value.trim());
    submit.disabled = true;
    try {
      if (category.value) {
        body.append("category", category.value);
        const approval = await approvalFor(category);
        if (approval) body.append("approval_id", approval);
      }
      setStatus(four ? "Searching the four fingers…" : "Searching the finger…");
      const r = await request("/v1/searches", { method: "POST", body, timeout: 90000 });
      ctx.resultCache.set(r.search_id, r);
      setStatus("Search done. Results are leads, never identifications.", "ok");
      ctx.navigate("#/results/" + encodeURIComponent(r.search_id));
    } catch (err) {
      const code = err instanceof ApiError && four && err.code === "no_finger" ? "no_fingers" : err && err.code;
      const msg = err instanceof ApiError && REFUSALS[code] ? REFUSALS[code] : describe(err);
      setStatus(msg, "error");
    } finally {
      submit.disabled = false;
    }
  });

  return cleanUp;
}
