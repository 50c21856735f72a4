// Small SVG charts built node by node (no HTML from data, no external library).
const SVG = "http://www.w3.org/2000/svg";

export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

// Lines over time: series = [{name, color, points: [[t_ms, y], ...], dashed}], marks = [{t, label}].
export function lineChart(series, { label, marks = [], height = 180 } = {}) {
  const w = 640, h = height, pad = 28;
  const all = series.flatMap((s) => s.points);
  const t0 = Math.min(...all.map((p) => p[0])), t1 = Math.max(...all.map((p) => p[0]));
  const ymax = Math.max(1e-9, ...all.map((p) => p[1]));
  const x = (t) => pad + ((t - t0) / Math.max(1, t1 - t0)) * (w - 2 * pad);
  const y = (v) => h - pad - (v / ymax) * (h - 2 * pad);
  const root = svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": label || "chart", class: "chart" });
  root.append(svg("line", { x1: pad, y1: h - pad, x2: w - pad, y2: h - pad, stroke: "#999" }));
  root.append(svg("text", { x: 2, y: pad - 8, "font-size": 11, fill: "#556" }, ymax >= 10 ? Math.round(ymax) : ymax.toFixed(2)));
  for (const mark of marks) {
    if (mark.t < t0 || mark.t > t1) continue;
    root.append(svg("line", { x1: x(mark.t), y1: pad - 4, x2: x(mark.t), y2: h - pad, stroke: "#6a4c93", "stroke-dasharray": "3 3" }));
    root.append(svg("text", { x: x(mark.t) + 3, y: pad, "font-size": 11, fill: "#6a4c93" }, mark.label));
  }
  let legend = pad;
  for (const s of series) {
    const points = s.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ");
    const attrs = { fill: "none", stroke: s.color, "stroke-width": 2, points, class: "series" };
    if (s.dashed) attrs["stroke-dasharray"] = "6 4";
    root.append(svg("polyline", attrs));
    root.append(svg("text", { x: legend, y: h - 8, "font-size": 11, fill: s.color }, s.name));
    legend += 12 + 7 * s.name.length;
  }
  return root;
}

// Grouped bars: groups = [{label, values: [v per series]}], series = [{name, color}].
export function barChart(groups, series, { label, height = 180 } = {}) {
  const w = 640, h = height, pad = 28;
  const max = Math.max(1, ...groups.flatMap((g) => g.values));
  const slot = (w - 2 * pad) / Math.max(1, groups.length);
  const bar = Math.max(2, (slot - 6) / series.length);
  const root = svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": label || "chart", class: "chart" });
  root.append(svg("line", { x1: pad, y1: h - pad, x2: w - pad, y2: h - pad, stroke: "#999" }));
  root.append(svg("text", { x: 2, y: pad - 8, "font-size": 11, fill: "#556" }, String(max)));
  groups.forEach((g, i) => {
    g.values.forEach((v, j) => {
      const bh = (v / max) * (h - 2 * pad);
      const rect = svg("rect", { x: pad + i * slot + 3 + j * bar, y: h - pad - bh, width: bar - 1, height: bh, fill: series[j].color, class: "bar" });
      rect.append(svg("title", {}, `${g.label}: ${series[j].name} ${v}`));
      root.append(rect);
    });
    if (groups.length <= 31) root.append(svg("text", { x: pad + i * slot + 2, y: h - pad + 12, "font-size": 9, fill: "#556" }, g.label));
  });
  let legend = pad;
  for (const s of series) {
    root.append(svg("text", { x: legend, y: h - 4, "font-size": 11, fill: s.color }, s.name));
    legend += 12 + 7 * s.name.length;
  }
  return root;
}
