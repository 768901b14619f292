/*
 * Capture: live camera with guidance (or a photo file), purpose (required, with the
 * officer's recent purposes to pick from) and case id, then the search. With no
 * connection the capture goes to the encrypted offline queue. "#/capture/second/ID"
 * adds a second capture to search ID (same encounter).
 */

import { ApiError, NetworkError, describe, request, session } from "./api.js";
import { Camera, Guide, cameraAvailable, checkQuality, drawBoxes, hints } from "./camera.js";
import { el, fromTemplate, replace, setStatus } from "./dom.js";
import * as queue from "./queue.js";
import { approvalFor, fillCategories } from "./view-governance.js";

const MIN_PURPOSE = 3;
const REFUSALS = {
  no_face: "No face found in the photo. Retake it with the face in view.",
  multiple_faces: "Several faces in the photo. Retake it with only one person.",
  quality_too_low: "The face is too small or unclear. Move closer and retake.",
  invalid_image: "That file could not be read as a photo.",
  image_too_large: "That photo is too large.",
  payload_too_large: "That photo is too large.",
};

async function recentPurposes() {
  const me = session.me;
  const q = new URLSearchParams({ operator: me.name, limit: "50" });
  const page = await request("/v1/history?" + q.toString(), { timeout: 8000 });
  const seen = new Set();
  const out = [];
  for (const item of page.items || []) {
    const p = String(item.purpose || "").trim();
    const k = p.toLowerCase();
    if (p && !seen.has(k)) { seen.add(k); out.push(p); }
    if (out.length === 5) break;
  }
  return out;
}

export function render(host, ctx, args) {
  const secondOf = args[0] === "second" && args[1] ? args[1] : null;
  const { root, refs } = fromTemplate("capture");
  host.replaceChildren(root);
  const cam = new Camera(refs.video);
  let image = null;
  let stillUrl = null;
  let lastHint = "";
  let busy = false;
  fillCategories(refs.category);

  if (secondOf) {
    refs.title.textContent = "Second capture";
    refs["second-note"].textContent = "Adds another photo to search " + secondOf.slice(0, 8) +
      "… (same encounter, same purpose). If the two captures disagree you will see a warning.";
    refs["second-note"].hidden = false;
    refs.details.hidden = true;
    refs.submit.textContent = "Add to this search";
  }
  if (!cameraAvailable()) refs["cam-start"].hidden = true;

  function setGuidance(text, kind) {
    if (text === lastHint) return;
    lastHint = text;
    refs.guidance.textContent = text;
    refs.guidance.className = "guidance " + kind;
  }

  const guide = new Guide(cam, (q, err) => {
    if (err) {
      drawBoxes(refs.overlay, null);
      if (err instanceof NetworkError) {
        setGuidance("Offline: no live guidance. You can still capture; the search will be queued.",
          "warn");
      } else if (err instanceof ApiError && err.status === 401) {
        guide.stop();
        ctx.signOut("Your session has ended. Please sign in again.");
      } else {
        setGuidance("Guidance unavailable: " + describe(err), "warn");
      }
      return;
    }
    drawBoxes(refs.overlay, q);
    setGuidance(hints(q).join(" "), q.ready ? "ok" : "warn");
  });

  function showCameraControls(on) {
    refs.camera.hidden = !on;
    refs.shoot.hidden = !on;
    refs["cam-stop"].hidden = !on;
    refs["cam-start"].hidden = on || !cameraAvailable();
  }

  function stopCamera() {
    guide.stop();
    cam.stop();
    showCameraControls(false);
  }

  async function showStillCheck(blob) {
    refs["still-check"].hidden = true;
    if (!navigator.onLine) return;
    try {
      const q = await checkQuality(blob);
      if (image && image.blob !== blob) return;
      const items = q.ready ? [] : hints(q);
      replace(refs["still-check"], ...items.map((t) => el("li", { text: t })));
      refs["still-check"].hidden = !items.length;
    } catch (e) { /* advisory only: the search itself decides */ }
  }

  function setImage(blob, name) {
    image = { blob, name };
    if (stillUrl) URL.revokeObjectURL(stillUrl);
    stillUrl = URL.createObjectURL(blob);
    refs.still.src = stillUrl;
    refs["still-caption"].textContent = name + " · " + Math.round(blob.size / 1024) + " KB";
    refs["still-wrap"].hidden = false;
    refs.retake.hidden = !cameraAvailable();
    showStillCheck(blob);
  }

  function clearImage() {
    image = null;
    if (stillUrl) URL.revokeObjectURL(stillUrl);
    stillUrl = null;
    refs.still.removeAttribute("src");
    refs["still-wrap"].hidden = true;
    refs["still-check"].hidden = true;
    refs.retake.hidden = true;
  }

  async function startCamera() {
    setStatus("Starting the camera…");
    clearImage();
    try {
      await cam.start();
      showCameraControls(true);
      lastHint = "";
      setGuidance("Checking the picture…", "");
      guide.start();
      setStatus("");
      refs.shoot.focus();
    } catch (err) {
      stopCamera();
      setStatus("Camera unavailable (" + (err && err.message ? err.message : err) +
        "). Choose a photo instead.", "error");
      refs.file.focus();
    }
  }

  refs["cam-start"].addEventListener("click", startCamera);
  refs.retake.addEventListener("click", startCamera);
  refs["cam-stop"].addEventListener("click", () => { stopCamera(); refs["cam-start"].focus(); });
  refs.shoot.addEventListener("click", async () => {
    if (!cam.active) { setStatus("The camera is not ready yet.", "error"); return; }
    try {
      const blob = await cam.snapshot(1280, 0.92);
      stopCamera();
      setImage(blob, "camera.jpg");
      setStatus("Photo captured.", "ok");
      (secondOf ? refs.submit : refs.purpose).focus();
    } catch (err) {
      setStatus("Could not capture the photo: " + err.message, "error");
    }
  });
  refs.file.addEventListener("change", () => {
    const f = refs.file.files && refs.file.files[0];
    if (!f) return;
    if (f.type && !f.type.startsWith("image/")) {
      refs.file.value = "";
      setStatus("That file is not an image.", "error");
      return;
    }
    stopCamera();
    setImage(f, f.name || "photo.jpg");
    setStatus("Photo selected.", "ok");
  });

  function purposeError(text) {
    refs["purpose-error"].textContent = text;
    refs["purpose-error"].hidden = !text;
    if (text) refs.purpose.setAttribute("aria-invalid", "true");
    else refs.purpose.removeAttribute("aria-invalid");
  }
  refs.purpose.addEventListener("input", () => {
    if (refs.purpose.value.trim().length >= MIN_PURPOSE) purposeError("");
  });

  if (!secondOf && navigator.onLine) {
    recentPurposes().then((list) => {
      if (!list.length || !refs.recent.isConnected) return;
      const chips = list.map((p) => el("button", {
        className: "chip", text: p, attrs: { type: "button", "aria-label": "Use purpose: " + p },
        on: { click: () => { refs.purpose.value = p; purposeError(""); refs.case.focus(); } },
      }));
      replace(refs.recent, el("span", { className: "chips-label", text: "Recent:" }), ...chips);
      refs.recent.hidden = false;
    }, () => {});
  }

  function setBusy(b, label) {
    busy = b;
    refs.submit.disabled = b;
    refs.submit.textContent = b ? label : (secondOf ? "Add to this search" : "Search");
    refs.form.setAttribute("aria-busy", b ? "true" : "false");
  }

  async function keepOffline(purpose, caseId) {
    if (!queue.supported()) {
      setStatus("No connection, and this browser cannot keep captures offline. " +
        "Try again when connected.", "error");
      return;
    }
    await queue.enqueue({
      blob: image.blob, name: image.name, purpose, caseId, operator: session.me.name,
    });
    setStatus("No connection: the capture is saved encrypted on this device and will be sent " +
      "when the connection returns.", "warn");
    ctx.navigate("#/queue");
  }

  async function submitSecond() {
    const fd = new FormData();
    fd.append("image", image.blob, image.name);
    setBusy(true, "Adding…");
    try {
      const path = "/v1/searches/" + encodeURIComponent(secondOf) + "/captures";
      const result = await request(path, { method: "POST", body: fd, timeout: 90000 });
      ctx.resultCache.set(result.search_id, result);
      setStatus("Second capture added.", "ok");
      ctx.navigate("#/results/" + encodeURIComponent(result.search_id));
    } catch (err) {
      if (err instanceof ApiError && (err.status === 405 || err.message === "Not Found")) {
        setStatus("This server does not support a second capture.", "error");
      } else if (err instanceof NetworkError) {
        setStatus("A second capture needs a connection. Try again when connected.", "error");
      } else if (err instanceof ApiError && REFUSALS[err.code]) {
        setStatus(REFUSALS[err.code], "error");
      } else {
        setStatus(describe(err), "error");
      }
    } finally {
      setBusy(false);
    }
  }

  refs.form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (busy) return;
    if (!image) {
      setStatus("Take or choose a photo first.", "error");
      (refs["cam-start"].hidden ? refs.file : refs["cam-start"]).focus();
      return;
    }
    if (secondOf) { await submitSecond(); return; }
    const purpose = refs.purpose.value.trim();
    if (purpose.length < MIN_PURPOSE) {
      purposeError("State the purpose of this search (at least " + MIN_PURPOSE + " characters).");
      setStatus("A purpose is required for every search.", "error");
      refs.purpose.focus();
      return;
    }
    purposeError("");
    const caseId = refs.case.value.trim();
    if (!navigator.onLine) { await keepOffline(purpose, caseId); return; }
    const fd = new FormData();
    fd.append("image", image.blob, image.name);
    fd.append("purpose", purpose);
    if (caseId) fd.append("case_id", caseId);
    if (refs.category && refs.category.value) {
      fd.append("category", refs.category.value);
      const approval = await approvalFor(refs.category);
      if (approval) fd.append("approval_id", approval);
    }
    setBusy(true, "Searching…");
    setStatus("Searching the gallery…");
    try {
      const result = await request("/v1/searches", { method: "POST", body: fd, timeout: 90000 });
      ctx.resultCache.set(result.search_id, result);
      setStatus("");
      ctx.navigate("#/results/" + encodeURIComponent(result.search_id));
    } catch (err) {
      if (err instanceof NetworkError && !err.timedOut) {
        await keepOffline(purpose, caseId);
      } else if (err instanceof ApiError && err.status === 401) {
        ctx.signOut("Your session has ended. Please sign in again.");
      } else if (err instanceof ApiError && err.code === "purpose_required") {
        purposeError(err.message);
        setStatus(err.message, "error");
        refs.purpose.focus();
      } else if (err instanceof ApiError && REFUSALS[err.code]) {
        setStatus(REFUSALS[err.code] + " (" + err.code + ")", "error");
      } else {
        setStatus(describe(err), "error");
      }
    } finally {
      if (refs.submit.isConnected) setBusy(false);
    }
  });

  const onHide = () => stopCamera();
  window.addEventListener("pagehide", onHide);
  return () => {
    window.removeEventListener("pagehide", onHide);
    stopCamera();
    if (stillUrl) URL.revokeObjectURL(stillUrl);
  };
}
