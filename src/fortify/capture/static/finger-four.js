/*
 * Four-finger (slap) mode of the finger search: the guide (four fingertip outlines of
 * one hand, upright) and its live feedback, computed here in the browser from the
 * preview's grey levels like the one-finger feedback: which of the four outlines hold
 * a finger (texture blocks), its width against the outline, ridge sharpness.
 *
 * Finger order follows prints (a slap card or scanner, as the server reads the image,
 * modalities/finger/slap.py): right hand index, middle, ring, little from left to
 * right; the left hand the mirror. The middle finger's outline is the tallest, the
 * little finger's the shortest.
 */

/** Side of the texture blocks (px of the 320/640 px analysis frame). */
export const BLOCK = 8;
/** Each finger's outline: centre x, top y, width (fractions of the frame), print order. */
const RIGHT = [
  { name: "index", cx: 0.125, top: 0.1 },
  { name: "middle", cx: 0.375, top: 0.04 },
  { name: "ring", cx: 0.625, top: 0.08 },
  { name: "little", cx: 0.875, top: 0.2 },
];
const SLOT_W = 0.2;
const COLUMN = 0.25; // each finger's column of the frame (outline centres are 0.25 apart)
const BOTTOM = 0.96;
const PRESENT = 0.3; // share of an outline's blocks with texture for "a finger is there"

/** The four outlines in a frame of w x h pixels for `hand` ("right" or "left"). */
export function fourSlots(w, h, hand) {
  const slots = RIGHT.map((s) => ({
    name: s.name,
    x: (s.cx - SLOT_W / 2) * w,
    y: s.top * h,
    w: SLOT_W * w,
    h: (BOTTOM - s.top) * h,
  }));
  if (hand === "left") {
    for (const s of slots) s.x = w - s.x - s.w;
    slots.reverse(); // still left to right
  }
  return slots;
}

/**
 * Per 8x8 block: left x, centre, grey-level spread and mean |Laplacian| / spread (0 for
 * blocks without texture, spread < 4). Shared by the one- and four-finger feedback.
 */
export function textureBlocks(y, w, h) {
  const out = [];
  for (let by = 0; by + BLOCK <= h; by += BLOCK) {
    for (let bx = 0; bx + BLOCK <= w; bx += BLOCK) {
      let s = 0;
      let s2 = 0;
      for (let j = 0; j < BLOCK; j++) {
        for (let i = 0; i < BLOCK; i++) {
          const v = y[(by + j) * w + bx + i];
          s += v;
          s2 += v * v;
        }
      }
      const n = BLOCK * BLOCK;
      const sd = Math.sqrt(Math.max(0, s2 / n - (s / n) * (s / n)));
      let lap = 0;
      if (sd >= 4) {
        for (let j = 1; j < BLOCK - 1; j++) {
          for (let i = 1; i < BLOCK - 1; i++) {
            const p = (by + j) * w + bx + i;
            lap += Math.abs(4 * y[p] - y[p - 1] - y[p + 1] - y[p - w] - y[p + w]);
          }
        }
        lap = lap / ((BLOCK - 2) * (BLOCK - 2)) / sd;
      }
      out.push({ x: bx, cx: bx + BLOCK / 2, cy: by + BLOCK / 2, sd, lap });
    }
  }
  return out;
}

/**
 * Feedback for a four-finger frame ``y`` (grey, w x h) and ``hand``: per outline the
 * share of texture blocks (a finger there or not) and the finger's width against the
 * outline; over all fingers the sharpness (mean |Laplacian| / contrast) and the share
 * of blocks with ridge contrast.
 */
export function fourFingerFeedback(y, w, h, hand) {
  const slots = fourSlots(w, h, hand).map((s) => ({ ...s, blocks: 0, present: 0, minX: w, maxX: -1 }));
  let present = 0;
  let ridged = 0;
  let lap = 0;
  for (const b of textureBlocks(y, w, h)) {
    for (const s of slots) {
      if (b.cy < s.y || b.cy > s.y + s.h) continue;
      const inside = b.cx >= s.x && b.cx <= s.x + s.w;
      // the finger's extent: its textured blocks in the outline's rows and column
      const col = COLUMN * w;
      if (b.sd >= 4 && Math.abs(b.cx - (s.x + s.w / 2)) <= col / 2) {
        s.minX = Math.min(s.minX, b.x);
        s.maxX = Math.max(s.maxX, b.x + BLOCK);
      }
      if (!inside) continue;
      s.blocks++;
      if (b.sd < 4) continue;
      s.present++;
      present++;
      if (b.sd >= 18) ridged++;
      lap += b.lap;
    }
  }
  const cover = slots.map((s) => (s.blocks ? s.present / s.blocks : 0));
  const held = slots.filter((s, i) => cover[i] >= PRESENT);
  const widths = held.map((s) => (s.maxX > s.minX ? (s.maxX - s.minX) / s.w : 0));
  const width = widths.length ? widths.reduce((a, b) => a + b, 0) / widths.length : 0;
  const sharp = present ? lap / present : 0;
  const ridges = present ? ridged / present : 0;
  const m = {
    fingers: held.length, slots: slots.map((s, i) => ({ name: s.name, held: cover[i] >= PRESENT })),
    cover: cover.map((c) => +c.toFixed(3)), width: +width.toFixed(3),
    sharpness: +sharp.toFixed(3), ridges: +ridges.toFixed(3),
  };
  if (held.length < 2 || width < 0.45) {
    return { ...m, ok: false, text: "Move closer: place four fingertips inside the four outlines." };
  }
  if (held.length < 4) {
    return { ...m, ok: false, text: `Spread the fingers: ${held.length} of 4 fingers in the guide.` };
  }
  if (widths.some((x) => x > 1.2)) {
    return { ...m, ok: false, text: "Move back: keep each finger inside its own outline." };
  }
  if (sharp < 0.9 || ridges < 0.5) return { ...m, ok: false, text: "Hold still: the ridges are not sharp." };
  return { ...m, ok: true, text: "Good: four fingers, sharp ridges. Ready to search." };
}

/** Draw the four outlines (green when the frame is good, each outline amber until held). */
export function drawFourGuide(g, w, h, hand, fb) {
  const held = (fb && fb.slots) || [];
  g.lineWidth = 3;
  fourSlots(w, h, hand).forEach((r, i) => {
    const ok = fb && (fb.ok || (held[i] && held[i].held));
    g.strokeStyle = fb && fb.ok ? "#3ad17a" : ok ? "#8fd14f" : "#ffd200";
    const rad = r.w / 2;
    g.beginPath(); // a fingertip: rounded top, straight sides
    g.moveTo(r.x, r.y + r.h);
    g.lineTo(r.x, r.y + rad);
    g.arc(r.x + rad, r.y + rad, rad, Math.PI, 0);
    g.lineTo(r.x + r.w, r.y + r.h);
    g.stroke();
  });
}
