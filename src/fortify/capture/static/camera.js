/*
 * Live camera with on-screen guidance. While the preview runs, a small frame is sent
 * to POST /v1/quality about every 1.5 s (detection and quality only; nothing is
 * stored and it is not a search); the answer becomes a plain-language hint and a
 * box drawn over the face.
 */

import { NetworkError, request } from "./api.js";
import { setStatus } from "./dom.js";

export const GUIDANCE = {
  no_face: "No face found: point the camera at the person's face.",
  multiple_faces: "Several faces: keep only one person in the frame.",
  face_too_small: "Face too small: move closer.",
  too_dark: "Too dark: find more light.",
  too_bright: "Too bright: move out of direct light.",
  blurred: "Blurred: hold the phone steady.",
  face_unrecognizable: "Face not usable: hold the phone upright, face the person, uncover the face.",
};
export const READY = "Good: one face, clear and well lit. Ready to capture.";
const INTERVAL_MS = 1500;

/** Plain-language hints for a quality answer. */
export function hints(q) {
  if (!q) return [];
  if (q.ready) return [READY];
  return (q.warnings || []).map((w) => GUIDANCE[w] || "Check the photo: " + w.replace(/_/g, " "));
}

export function cameraAvailable() {
  return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

export class Camera {
  constructor(video) {
    this.video = video;
    this.stream = null;
  }

  get active() {
    return Boolean(this.stream && this.video.videoWidth);
  }

  /** Start the back camera; `ideal` is the resolution asked for (the four-finger mode
   *  asks for more: four fingertips across one frame). */
  async start(ideal = this.ideal || { width: 1280, height: 960 }) {
    this.stop();
    this.ideal = ideal;
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: "environment" }, width: { ideal: ideal.width }, height: { ideal: ideal.height } },
    });
    this.video.srcObject = this.stream;
    await this.video.play();
    if (!this.video.videoWidth) {
      await new Promise((resolve) => this.video.addEventListener("loadedmetadata", resolve, { once: true }));
    }
  }

  stop() {
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
    this.video.srcObject = null;
  }

  /** The current frame as a JPEG Blob, scaled so its longer side is at most `maxSide`. */
  snapshot(maxSide = 1280, quality = 0.92) {
    const v = this.video;
    const scale = Math.min(1, maxSide / Math.max(v.videoWidth, v.videoHeight));
    const c = document.createElement("canvas");
    c.width = Math.round(v.videoWidth * scale);
    c.height = Math.round(v.videoHeight * scale);
    c.getContext("2d").drawImage(v, 0, 0, c.width, c.height);
    return new Promise((resolve, reject) => {
      c.toBlob((b) => (b ? resolve(b) : reject(new Error("could not capture a frame"))),
        "image/jpeg", quality);
    });
  }
}

/** Start `cam` when `button` is clicked, show `box`, and call `tick()` every `ms` while
 *  the camera runs (the live feedback of the document and finger modes). Returns the
 *  view's clean-up: it stops the loop and the camera. */
export function liveFeedback(cam, button, box, tick, ms, { hideButton = false } = {}) {
  let timer = null;
  if (!cameraAvailable()) button.hidden = true;
  button.addEventListener("click", async () => {
    try {
      await cam.start();
      box.hidden = false;
      if (hideButton) button.hidden = true;
      if (timer) clearInterval(timer);
      timer = setInterval(() => { if (cam.active) tick(); }, ms);
    } catch (err) {
      setStatus("Camera not available: " + (err && err.message), "error");
    }
  });
  return () => { if (timer) clearInterval(timer); cam.stop(); };
}

/** The image to send: the chosen file, else a frame of the running camera, else null. */
export async function chosenOrSnapshot(file, cam, maxSide, quality) {
  const chosen = file.files && file.files[0];
  if (chosen) return chosen;
  return cam.active ? cam.snapshot(maxSide, quality) : null;
}

/** Ask the server about one image (a preview frame or a still). */
export async function checkQuality(blob) {
  const fd = new FormData();
  fd.append("image", blob, "frame.jpg");
  return request("/v1/quality", { method: "POST", body: fd, timeout: 10000 });
}

/** Draw face boxes over the preview (green when ready, amber otherwise). */
export function drawBoxes(canvas, q) {
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, w, h);
  if (!q || !q.width) return;
  const sx = w / q.width;
  const sy = h / q.height;
  ctx.lineWidth = 3;
  ctx.strokeStyle = q.ready ? "#1fae4b" : "#ffb000";
  for (const [x, y, bw, bh] of q.boxes || []) ctx.strokeRect(x * sx, y * sy, bw * sx, bh * sy);
}

/** The guidance loop: runs while the camera is on; `onResult(q, error)` after each check. */
export class Guide {
  constructor(camera, onResult) {
    this.camera = camera;
    this.onResult = onResult;
    this.timer = null;
    this.running = false;
  }

  start() {
    this.stop();
    this.running = true;
    this.timer = setTimeout(() => this.tick(), 300);
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = null;
  }

  async tick() {
    if (!this.running) return;
    try {
      if (!navigator.onLine) throw new NetworkError("offline");
      if (this.camera.active) {
        const q = await checkQuality(await this.camera.snapshot(640, 0.8));
        if (this.running) this.onResult(q, null);
      }
    } catch (err) {
      if (this.running) this.onResult(null, err);
    }
    if (this.running) this.timer = setTimeout(() => this.tick(), INTERVAL_MS);
  }
}
