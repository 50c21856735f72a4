// Building the page from data: every value becomes a text node or an attribute, never HTML.
export const $ = (id) => document.getElementById(id);

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "className") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function showError(text) {
  $("error").textContent = text || "";
  $("error").hidden = !text;
}

export function absolute(iso) {
  if (!iso) return "";
  return new Date(iso).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

export function relative(iso, now = Date.now()) {
  if (!iso) return "";
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  const a = Math.abs(s);
  const [n, unit] = a < 60 ? [a, "s"] : a < 3600 ? [Math.round(a / 60), "min"]
    : a < 86400 ? [Math.round(a / 3600), "h"] : [Math.round(a / 86400), "d"];
  return s >= 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

// A time shown both ways: "5 min ago (2026-12-06 14:30:05 UTC)"; kept fresh by refreshTimes.
export function when(iso, label) {
  if (!iso) return null;
  const node = el("time", { datetime: iso, title: iso, className: "when" });
  node.dataset.label = label || "";
  fill(node);
  return node;
}

function fill(node) {
  const label = node.dataset.label ? node.dataset.label + " " : "";
  node.textContent = `${label}${relative(node.dateTime)} (${absolute(node.dateTime)})`;
}

export function refreshTimes() {
  for (const node of document.querySelectorAll("time.when")) fill(node);
}

// Links only to the web (http/https): a document's url is data.
export function safeUrl(url) {
  try {
    const parsed = new URL(url);
    return ["http:", "https:"].includes(parsed.protocol) ? parsed.href : null;
  } catch {
    return null;
  }
}

export const words = (name) => (name || "").replaceAll("_", " ");
