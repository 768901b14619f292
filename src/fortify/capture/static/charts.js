/* Small SVG charts (no library, no external requests), each with a data table for
 * screen readers and keyboard users. */

import { el } from "./dom.js";

const NS = "http://www.w3.org/2000/svg";
const W = 340;
let uid = 0;

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

/** A round axis top whose half is a whole number too (0, half, top are the gridlines). */
function niceMax(v) {
  if (v <= 2) return 2;
  const half = v / 2;
  if (half <= 10) return 2 * Math.ceil(half);
  const p = 10 ** Math.floor(Math.log10(half));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= half) return 2 * m * p;
  return 20 * p;
}

function dataTable(caption, head, rows) {
  return el("details", { className: "chart-data" }, [
    el("summary", { text: "Data table" }),
    el("table", {}, [
      el("caption", { text: caption }),
      el("thead", {}, [el("tr", {}, head.map((h) => el("th", { text: h, attrs: { scope: "col" } })))]),
      el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) => (i === 0
        ? el("th", { text: c, attrs: { scope: "row" } }) : el("td", { text: c })))))),
    ]),
  ]);
}

function frame(title, summary, node, legend, table) {
  const id = "chart-" + ++uid;
  node.setAttribute("role", "img");
  node.setAttribute("aria-labelledby", id + "-t " + id + "-d");
  node.prepend(svg("desc", { id: id + "-d" }, summary));
  node.prepend(svg("title", { id: id + "-t" }, title));
  return el("figure", { className: "chart" }, [
    el("figcaption", { text: title }),
    node,
    legend,
    table,
  ]);
}

function legendOf(series) {
  if (series.length < 2) return null;
  return el("ul", { className: "legend" }, series.map((s) => el("li", {}, [
    el("span", { className: "swatch " + s.cls, attrs: { "aria-hidden": "true" } }),
    s.name,
  ])));
}

/**
 * Stacked columns over categories (e.g. days).
 * series: [{name, values: number[], cls}] stacked bottom-up; labels: string[].
 */
export function columnChart({ title, labels, series, summary }) {
  const H = 170;
  const top = 10;
  const left = 30;
  const bottom = 28;
  const plotH = H - top - bottom;
  const plotW = W - left - 6;
  const totals = labels.map((_, i) => series.reduce((a, s) => a + (s.values[i] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const node = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg" });
  for (const f of [0, 0.5, 1]) {
    const y = top + plotH - f * plotH;
    node.append(svg("line", { x1: left, x2: W - 4, y1: y, y2: y, class: "grid" }));
    node.append(svg("text", { x: left - 4, y: y + 4, class: "axis", "text-anchor": "end" },
      Math.round(f * max)));
  }
  const step = plotW / Math.max(1, labels.length);
  const bw = Math.max(2, step * 0.7);
  const every = Math.ceil(labels.length / 5);
  labels.forEach((label, i) => {
    let y = top + plotH;
    const x = left + i * step + (step - bw) / 2;
    for (const s of series) {
      const v = s.values[i] || 0;
      if (!v) continue;
      const h = (v / max) * plotH;
      y -= h;
      const r = svg("rect", { x, y, width: bw, height: h, class: "bar " + s.cls });
      r.append(svg("title", {}, `${label}: ${s.name} ${v}`));
      node.append(r);
    }
    const last = labels.length - 1;
    if ((i % every === 0 && last - i >= every / 2) || i === last) {
      const anchor = i === 0 ? "start" : (i === labels.length - 1 ? "end" : "middle");
      const tx = anchor === "start" ? x : (anchor === "end" ? x + bw : x + bw / 2);
      node.append(svg("text", { x: tx, y: H - 10, class: "axis", "text-anchor": anchor }, label));
    }
  });
  const head = ["", ...series.map((s) => s.name)];
  const rows = labels.map((l, i) => [l, ...series.map((s) => String(s.values[i] || 0))]);
  return frame(title, summary, node, legendOf(series), dataTable(title, head, rows));
}

/** Horizontal bars with the label above each bar: fits a 360 px screen. */
export function barList({ title, items, cls = "a", summary, valueLabel = "Count" }) {
  const rowH = 34;
  const H = Math.max(1, items.length) * rowH + 6;
  const max = niceMax(Math.max(0, ...items.map((i) => i.value)));
  const node = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg" });
  if (!items.length) {
    node.append(svg("text", { x: 4, y: 20, class: "axis" }, "No data in this period."));
  }
  items.forEach((item, i) => {
    const y = i * rowH;
    const label = item.label.length > 44 ? item.label.slice(0, 43) + "…" : item.label;
    node.append(svg("text", { x: 2, y: y + 12, class: "label" }, label));
    const w = Math.max(2, (item.value / max) * (W - 50));
    const r = svg("rect", { x: 2, y: y + 16, width: w, height: 12, class: "bar " + cls });
    r.append(svg("title", {}, `${item.label}: ${item.value}`));
    node.append(r);
    node.append(svg("text", { x: w + 8, y: y + 27, class: "value" }, item.value));
  });
  const rows = items.map((i) => [i.label, String(i.value)]);
  return frame(title, summary, node, null, dataTable(title, ["", valueLabel], rows));
}
