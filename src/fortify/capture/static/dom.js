/* DOM helpers: elements from templates, text via textContent only, status messages. */

/**
 * Make an element. `props`: className, text, attrs {name: value}, on {event: fn}, hidden.
 * Children may be nodes or strings (strings become text nodes).
 */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined && props.text !== null) node.textContent = String(props.text);
  if (props.hidden) node.hidden = true;
  for (const [k, v] of Object.entries(props.attrs || {})) {
    if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const [k, fn] of Object.entries(props.on || {})) node.addEventListener(k, fn);
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return node;
}

/** Clone `<template id="tpl-NAME">`; returns the fragment's first element and its data-ref map. */
export function fromTemplate(name) {
  const tpl = document.getElementById("tpl-" + name);
  const root = tpl.content.firstElementChild.cloneNode(true);
  const refs = {};
  for (const node of root.querySelectorAll("[data-ref]")) refs[node.dataset.ref] = node;
  return { root, refs };
}

/** Replace a node's children. */
export function replace(node, ...children) {
  node.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false));
}

let statusTimer = null;

/** The page status line (role=status). kind: "", "ok", "warn", "error". */
export function setStatus(text, kind = "") {
  const box = document.getElementById("status");
  clearTimeout(statusTimer);
  box.className = "status" + (kind ? " " + kind : "");
  if (!text) { box.replaceChildren(); return; }
  const p = el("p", { text });
  if (kind === "error") p.setAttribute("role", "alert");
  box.replaceChildren(p);
  if (kind === "ok") statusTimer = setTimeout(() => box.replaceChildren(), 8000);
}

export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  });
}

export function fmtScore(s) {
  const n = Number(s);
  return Number.isFinite(n) ? n.toFixed(3) : "–";
}

export function fmtPercent(x, digits = 1) {
  const n = Number(x);
  return Number.isFinite(n) ? (n * 100).toFixed(digits) + "%" : "–";
}

/** An estimated false-positive identification rate as "0.80% (about 1 in 125 searches)". */
export function fmtRate(rate) {
  const r = Number(rate);
  if (!Number.isFinite(r) || r < 0) return "–";
  if (r === 0) return "below measurable (0)";
  const digits = r < 0.001 ? 3 : 2;
  const oneIn = Math.round(1 / r);
  return (r * 100).toFixed(digits) + "% (about 1 in " + oneIn.toLocaleString() + " searches)";
}

/** A short label for a key like "demo_record_no" -> "Demo record no". */
export function humanKey(key) {
  const s = String(key).replace(/[_-]+/g, " ").trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** A `<dl>` of [label, value] rows, skipping empty values. */
export function defList(rows, className = "facts") {
  const dl = el("dl", { className });
  for (const [label, value] of rows) {
    if (value === undefined || value === null || value === "") continue;
    dl.append(el("div", {}, [el("dt", { text: label }), el("dd", { text: value })]));
  }
  return dl;
}
