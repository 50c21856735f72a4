// The threshold editor: a form per rule with a column per scope kind and a block per scope
// override (the JSON only as an advanced view), the backtest preview of the edited values
// against the current ones as a chart, and saving with a reason.
import { api } from "./api.js";
import { barChart } from "./charts.js";
import { $, el, showError, words } from "./dom.js";

const KINDS = ["all", "topic", "ticker", "source"];
// How much sooner than a current alert the edited values may fire and still catch it.
const EARLIER_MS = 3600e3;
let rules = [];
let tset = null;
let fields = [];
let operator = false;
let removed = new Set();

export function setOperator(value) { operator = value; }

function resolve(schema, prop) {
  if (prop.$ref) return schema.$defs[prop.$ref.split("/").pop()];
  if (prop.allOf && prop.allOf[0].$ref) return schema.$defs[prop.allOf[0].$ref.split("/").pop()];
  return prop;
}

// The rule's fields, nested objects flattened ("critical.ratio"), with their types.
function fieldsOf(rule) {
  const schema = rule.thresholds;
  const out = [];
  for (const [name, raw] of Object.entries(schema.properties)) {
    const prop = resolve(schema, raw);
    if (prop.type === "object" && prop.properties) {
      for (const [sub, subProp] of Object.entries(prop.properties)) out.push({ path: `${name}.${sub}`, type: subProp.type, enum: subProp.enum });
    } else {
      out.push({ path: name, type: prop.type, enum: prop.enum });
    }
  }
  return out;
}

const get = (obj, path) => path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);

function input(field, value, attrs) {
  const common = Object.assign({ "data-field": field.path, "aria-label": `${attrs["data-kind"] || attrs["data-scope"]} ${field.path}`, disabled: !operator }, attrs);
  if (field.type === "boolean") {
    const box = el("input", Object.assign({ type: "checkbox" }, common));
    box.checked = Boolean(value);
    return box;
  }
  if (field.enum) {
    return el("select", common, attrs.placeholder !== undefined ? el("option", { value: "" }, `(${attrs.placeholder})`) : null,
      field.enum.map((v) => el("option", { value: v, selected: v === value }, v)));
  }
  const numeric = field.type === "integer" || field.type === "number";
  return el("input", Object.assign({ type: numeric ? "number" : "text", step: numeric ? "any" : undefined, value: value ?? "" }, common));
}

function readValue(node, field) {
  if (node.type === "checkbox") return node.checked;
  if (node.value === "") return undefined;
  if (field.type === "integer") return parseInt(node.value, 10);
  if (field.type === "number") return parseFloat(node.value);
  return node.value;
}

function renderDefaults(values) {
  const table = $("t-defaults");
  table.replaceChildren(el("tr", {}, el("th", {}, "threshold"), KINDS.map((k) => el("th", {}, k))));
  for (const field of fields) {
    table.append(el("tr", {}, el("td", {}, words(field.path)),
      KINDS.map((kind) => el("td", {}, input(field, get(values[kind], field.path), { "data-kind": kind })))));
  }
}

function overrideBlock(scope, values) {
  const kind = scope.split(":")[0];
  const defaults = currentRule().defaults[kind] || {};
  const rows = fields.map((field) => el("tr", {}, el("td", {}, words(field.path)),
    el("td", {}, input(field, get(values, field.path), { "data-scope": scope, placeholder: String(get(defaults, field.path)) }))));
  return el("div", { className: "override", "data-scope": scope },
    el("h4", {}, scope, " ", el("button", { type: "button", className: "remove", disabled: !operator, onclick: () => {
      removed.add(scope);
      document.querySelector(`.override[data-scope="${CSS.escape(scope)}"]`).remove();
      syncJson();
    } }, "Remove override")),
    el("p", { className: "hint" }, "Empty fields follow the defaults of " + kind + " (shown greyed)."),
    el("table", { className: "form" }, rows));
}

function renderOverrides(overrides) {
  $("t-overrides").replaceChildren(...Object.entries(overrides).map(([scope, values]) => overrideBlock(scope, values)));
}

function currentRule() {
  return tset.rules[$("t-rule").value] || { defaults: {}, overrides: {} };
}

function assemble(flat, base) {
  // {"critical.ratio": 5} → {"critical": {...base.critical, ratio: 5}}
  const out = {};
  for (const [path, value] of Object.entries(flat)) {
    const [head, sub] = path.split(".");
    if (sub === undefined) out[head] = value;
    else out[head] = Object.assign({}, out[head] || (base && base[head]) || {}, { [sub]: value });
  }
  return out;
}

// What the form says: the defaults of each kind and every override, as full objects.
function formState() {
  const defaults = {};
  for (const kind of KINDS) {
    const flat = {};
    for (const node of document.querySelectorAll(`#t-defaults [data-kind="${kind}"]`)) {
      const field = fields.find((f) => f.path === node.dataset.field);
      const value = readValue(node, field);
      if (value !== undefined) flat[field.path] = value;
    }
    defaults[kind] = assemble(flat, currentRule().defaults[kind]);
  }
  const overrides = {};
  for (const block of document.querySelectorAll("#t-overrides .override")) {
    const scope = block.dataset.scope;
    const flat = {};
    for (const node of block.querySelectorAll("[data-field]")) {
      const field = fields.find((f) => f.path === node.dataset.field);
      const value = readValue(node, field);
      if (value !== undefined && !(field.type === "boolean" && value === get(defaults[scope.split(":")[0]], field.path))) flat[field.path] = value;
    }
    overrides[scope] = assemble(flat, defaults[scope.split(":")[0]]);
  }
  return { defaults, overrides };
}

// The change against the current set: only kinds and overrides that differ; null removes one.
function change() {
  const state = formState();
  const now = currentRule();
  const same = (a, b) => JSON.stringify(a, Object.keys(a || {}).sort()) === JSON.stringify(b, Object.keys(b || {}).sort());
  const defaults = {};
  for (const kind of KINDS) {
    const diff = {};
    for (const [name, value] of Object.entries(state.defaults[kind])) {
      if (JSON.stringify(value) !== JSON.stringify((now.defaults[kind] || {})[name])) diff[name] = value;
    }
    if (Object.keys(diff).length) defaults[kind] = diff;
  }
  const overrides = {};
  for (const scope of removed) if (!(scope in state.overrides) && scope in now.overrides) overrides[scope] = null;
  for (const [scope, values] of Object.entries(state.overrides)) {
    if (!Object.keys(values).length) { if (scope in now.overrides) overrides[scope] = null; continue; }
    if (!same(values, now.overrides[scope])) overrides[scope] = values;
  }
  return { defaults, overrides };
}

function syncJson() {
  $("t-json").value = JSON.stringify(formState(), null, 2);
}

export async function loadThresholds() {
  try {
    rules = await api("/api/rules");
    tset = await api("/api/thresholds");
    const chosen = $("t-rule").value || "negative_spike";
    $("t-rule").replaceChildren(...rules.map((r) => el("option", { value: r.name, title: r.summary, selected: r.name === chosen }, words(r.name))));
    renderRule();
    const history = await api("/api/thresholds/history?limit=10");
    $("t-history").replaceChildren(...history.items.map((h) => el("li", {}, `v${h.version} · ${h.at.slice(0, 19).replace("T", " ")} UTC · ${h.by} · ${h.reason}`)));
    for (const id of ["t-preview", "t-save", "t-add", "t-json-apply"]) $(id).disabled = !operator;
    $("t-json").readOnly = !operator;
    showError("");
  } catch (err) {
    showError(err.message);
  }
  return rules;
}

function renderRule() {
  const rule = rules.find((r) => r.name === $("t-rule").value) || rules[0];
  fields = fieldsOf(rule);
  removed = new Set();
  $("t-summary").textContent = rule.summary;
  $("tversion").textContent = "version " + tset.version;
  renderDefaults(currentRule().defaults);
  renderOverrides(currentRule().overrides);
  $("t-backtest").replaceChildren();
  syncJson();
}

function addOverride() {
  const scope = $("t-new-scope").value.trim();
  if (!/^(topic|ticker|source):.+/.test(scope)) {
    showError("an override is for one scope: topic:NAME, ticker:SYMBOL or source:NAME");
    return;
  }
  if (document.querySelector(`.override[data-scope="${CSS.escape(scope)}"]`)) return;
  removed.delete(scope);
  $("t-overrides").append(overrideBlock(scope, {}));
  $("t-new-scope").value = "";
  showError("");
}

function applyJson() {
  try {
    const given = JSON.parse($("t-json").value);
    renderDefaults(Object.assign({}, currentRule().defaults, given.defaults || {}));
    for (const scope of Object.keys(currentRule().overrides)) if (!(scope in (given.overrides || {}))) removed.add(scope);
    renderOverrides(given.overrides || {});
    showError("");
  } catch (err) {
    showError("the JSON cannot be read: " + err.message);
  }
}

function perDay(fired) {
  const days = {};
  for (const f of fired) days[f.fired_at.slice(0, 10)] = (days[f.fired_at.slice(0, 10)] || 0) + 1;
  return days;
}

async function preview() {
  try {
    $("t-backtest").replaceChildren(el("p", {}, "running the backtest…"));
    const since = $("t-since").value;
    const { defaults, overrides } = change();
    const report = await api("/api/backtest", { method: "POST", json: { since } });
    const current = report.configurations.given;
    // The current values' alerts as the events to compare with: what the edit still catches
    // (up to an hour sooner or until the alert resolved), how much later or sooner, and what
    // it fires that they do not. Both runs end at the same time, so their ticks coincide.
    const fired = (f) => new Date(f.fired_at).getTime();
    const events = current.fired.slice(0, 5000).map((f) => ({
      scope: f.scope, rule: f.rule, onset: new Date(fired(f) - EARLIER_MS).toISOString(),
      end: f.resolved_at || new Date(fired(f) + 3600e3).toISOString(),
    }));
    const edited = (await api("/api/backtest", { method: "POST", json: { since, until: report.until, rule: $("t-rule").value, defaults, overrides, events } })).configurations.given;
    const a = perDay(current.fired), b = perDay(edited.fired);
    const days = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    const chart = barChart(days.map((d) => ({ label: d.slice(5), values: [a[d] || 0, b[d] || 0] })),
      [{ name: "current", color: "#4a6fa5" }, { name: "edited", color: "#e09f3e" }], { label: "alerts per day, current and edited thresholds" });
    const shift = (s) => Math.round(s - EARLIER_MS / 1000);
    const delay = edited.detection_delay_s && { mean: shift(edited.detection_delay_s.mean), max: shift(edited.detection_delay_s.max) };
    const caught = edited.detected ?? 0;
    const summary = current.alerts
      ? `The edited values fire ${caught} of the current ${current.alerts} alerts` +
        (delay ? `, ${delay.mean >= 0 ? delay.mean + " s later" : -delay.mean + " s sooner"} on average (at most ${delay.max} s later)` : "") +
        `, and ${edited.false_alerts ?? edited.alerts} the current ones do not.`
      : `The current values fire nothing over ${since}; the edited ones fire ${edited.alerts}.`;
    const row = (cells, tag) => el("tr", {}, cells.map((c) => el(tag, {}, String(c))));
    const table = el("table", { id: "preview-table" },
      row(["thresholds", "alerts", "per day", "of the current caught", "delay vs current (mean / max s)"], "th"),
      row(["current", current.alerts, current.alerts_per_day, "–", "–"], "td"),
      row(["edited", edited.alerts, edited.alerts_per_day, current.alerts ? `${caught} of ${current.alerts}` : "–",
        delay ? `${delay.mean} / ${delay.max}` : "–"], "td"));
    $("t-backtest").replaceChildren(el("div", { id: "preview-chart" }, chart), el("p", { id: "preview-summary" }, summary), table);
    showError("");
  } catch (err) {
    $("t-backtest").replaceChildren();
    showError(err.message);
  }
}

async function save() {
  try {
    const reason = $("t-reason").value.trim();
    if (!reason) throw new Error("say why you change the thresholds (reason)");
    const { defaults, overrides } = change();
    await api("/api/thresholds", { method: "PUT", json: { rule: $("t-rule").value, defaults, overrides, reason } });
    $("t-reason").value = "";
    await loadThresholds();
    showError("");
  } catch (err) {
    showError(err.message);
  }
}

export function setupThresholds() {
  $("t-rule").onchange = renderRule;
  $("t-add").onclick = addOverride;
  $("t-json-apply").onclick = applyJson;
  $("t-preview").onclick = preview;
  $("t-save").onclick = save;
  $("view-thresholds").addEventListener("change", (event) => { if (event.target.dataset.field) syncJson(); });
  $("t-advanced").addEventListener("toggle", syncJson);
}
