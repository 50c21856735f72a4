// The undertow web page: live alerts (SSE over fetch, so the key stays in a header), trends,
// and the threshold editor with a backtest preview. No external scripts: works offline.
"use strict";
const $ = (id) => document.getElementById(id);
let key = sessionStorage.getItem("undertow-key") || "";
let role = null;
let streamAbort = null;

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + key }, options.headers || {});
  const resp = await fetch(path, Object.assign({}, options, { headers }));
  const body = resp.headers.get("content-type")?.includes("json") ? await resp.json() : await resp.text();
  if (!resp.ok) {
    const detail = Array.isArray(body.detail)
      ? body.detail.map((d) => d.loc.join(".") + ": " + d.msg).join("; ")
      : body.detail || resp.statusText;
    const error = new Error(resp.status + " " + detail);
    error.status = resp.status;
    throw error;
  }
  return body;
}

function text(tag, content, cls) {
  const el = document.createElement(tag);
  el.textContent = content;
  if (cls) el.className = cls;
  return el;
}

function renderAlert(alert) {
  let li = document.querySelector(`#alerts li[data-id="${alert.id}"]`);
  if (!li) {
    li = document.createElement("li");
    li.dataset.id = alert.id;
    $("alerts").prepend(li);
  }
  li.className = alert.state + " " + alert.severity;
  li.replaceChildren();
  const share = Math.round((alert.current.negative_share || 0) * 100);
  const base = Math.round((alert.baseline.negative_share || 0) * 100);
  // Every rule says in one sentence why it fired; an alert stored before that says its shares.
  const why = (alert.verdict && alert.verdict.reason) || `${share}% negative (baseline ${base}%)`;
  const rule = (alert.rule || "negative_spike").replaceAll("_", " ");
  li.append(text("strong", `${alert.severity} · ${rule} · ${alert.scope.kind}${alert.scope.value ? ": " + alert.scope.value : ""}`));
  li.append(text("span", ` — ${alert.state}: ${why}`));
  if (alert.incident && alert.incident !== alert.id) {
    li.append(text("div", "part of the incident of alert " + alert.incident, "incident"));
  }
  if ((alert.related || []).length) {
    const names = alert.related.map((r) => `${r.rule.replaceAll("_", " ")} on ${r.scope}`);
    li.append(text("div", `+${names.length} related: ${names.join(", ")}`, "incident"));
  }
  for (const ex of alert.examples || []) li.append(text("div", "“" + (ex.title || ex.text).slice(0, 160) + "”", "ex"));
  if (alert.kibana_url) {
    const a = text("a", " Open in Kibana");
    a.href = alert.kibana_url;
    a.target = "_blank";
    li.append(a);
  }
  if (!alert.acked_by) {
    const b = text("button", "Acknowledge");
    b.onclick = async () => renderAlert(await api(`/api/alerts/${alert.id}/ack`, { method: "POST" }));
    li.append(" ", b);
  } else {
    li.append(text("small", ` acknowledged by ${alert.acked_by}`));
  }
}

async function loadAlerts() {
  const page = await api("/api/alerts?limit=50");
  $("alerts").replaceChildren();
  for (const alert of page.items.reverse()) renderAlert(alert);
}

async function follow() {
  if (streamAbort) streamAbort.abort();
  streamAbort = new AbortController();
  try {
    const resp = await fetch("/api/alerts/stream", { headers: { Authorization: "Bearer " + key }, signal: streamAbort.signal });
    if (!resp.ok) throw new Error("stream " + resp.status);
    $("live").textContent = "live";
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const chunk = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = chunk.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("");
        if (data) renderAlert(JSON.parse(data).alert);
      }
    }
  } catch (err) {
    if (err.name === "AbortError") return;
  }
  $("live").textContent = "reconnecting…";
  setTimeout(follow, 2000);
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

function chart(series) {
  const w = 600, h = 160, n = series.length;
  const max = Math.max(1, ...series.map((b) => Number(b.total) || 0));
  const x = (i) => (i / Math.max(1, n - 1)) * w;
  const line = (f) => series.map((b, i) => `${x(i)},${h - ((Number(f(b)) || 0) / max) * (h - 10)}`).join(" ");
  const root = svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img",
    "aria-label": "documents and negative documents per bucket" });
  root.append(
    svg("polyline", { fill: "none", stroke: "#4a6fa5", "stroke-width": 2, points: line((b) => b.total) }),
    svg("polyline", { fill: "none", stroke: "#c1121f", "stroke-width": 2, points: line((b) => b.negative) }),
  );
  return root;
}

async function loadTrend(event) {
  if (event) event.preventDefault();
  try {
    const t = await api(`/api/trends?scope=${encodeURIComponent($("scope").value)}&window=${$("window").value}`);
    $("trend").replaceChildren(chart(t.series));
    $("trend").append(text("p", `${t.total} documents, ${Math.round(t.negative_share * 100)}% negative, mean score ${t.mean_score.toFixed(2)} (blue: all, red: negative)`));
    showError("");
  } catch (err) {
    showError(err.message);
  }
}

function selectedRule() {
  return $("rule").value || "negative_spike";
}

async function loadRules() {
  const rules = await api("/api/rules");
  const chosen = $("rule").value;
  $("rule").replaceChildren(...rules.map((r) => {
    const option = text("option", r.name);
    option.value = r.name;
    option.title = r.summary;
    return option;
  }));
  if (rules.some((r) => r.name === chosen)) $("rule").value = chosen;
  const rule = rules.find((r) => r.name === selectedRule());
  $("rule-summary").textContent = rule ? rule.summary : "";
}

async function loadThresholds() {
  await loadRules();
  const t = await api("/api/thresholds");
  const rule = t.rules[selectedRule()] || { defaults: {} };
  $("tversion").textContent = "version " + t.version;
  $("defaults").value = JSON.stringify(rule.defaults, null, 2);
  const history = await api("/api/thresholds/history?limit=10");
  $("history").replaceChildren(...history.items.map((h) => text("li", `v${h.version} · ${h.at.slice(0, 19)} · ${h.by} · ${h.reason}`)));
  const operator = role === "operator";
  for (const id of ["preview", "save"]) $(id).disabled = !operator;
  $("defaults").readOnly = !operator;
}

function edited() {
  try {
    return JSON.parse($("defaults").value);
  } catch (err) {
    throw new Error("the thresholds are not valid JSON: " + err.message);
  }
}

async function preview() {
  try {
    $("backtest").textContent = "running the backtest…";
    const since = $("since").value;
    const [current, candidate] = await Promise.all([
      api("/api/backtest", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ since }) }),
      api("/api/backtest", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ since, rule: selectedRule(), defaults: edited() }) }),
    ]);
    // Scope names come from documents: text nodes only, never HTML.
    const row = (cells, tag) => {
      const tr = document.createElement("tr");
      tr.append(...cells.map((c) => text(tag, String(c))));
      return tr;
    };
    const result = (name, r) => row([name, r.alerts, r.alerts_per_day, r.fired.slice(-5).map((f) => `${f.rule} ${f.scope}`).join(", ")], "td");
    const table = document.createElement("table");
    table.id = "preview-table";
    table.append(row(["thresholds", "alerts", "per day", "latest alerts"], "th"), result("current", current.configurations.given), result("edited", candidate.configurations.given));
    $("backtest").replaceChildren(table);
    showError("");
  } catch (err) {
    $("backtest").textContent = "";
    showError(err.message);
  }
}

async function save() {
  try {
    const reason = $("reason").value.trim();
    if (!reason) throw new Error("say why you change the thresholds (reason)");
    const saved = await api("/api/thresholds", { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ rule: selectedRule(), defaults: edited(), reason }) });
    $("reason").value = "";
    await loadThresholds();
    showError("");
    return saved;
  } catch (err) {
    showError(err.message);
  }
}

async function signIn(event) {
  if (event) event.preventDefault();
  key = $("key").value.trim() || key;
  try {
    await api("/api/thresholds");
    // An analyst key gets 403 from the backtest; an operator key a 422 for the empty sweep body.
    const probe = await fetch("/api/backtest", { method: "POST", headers: { Authorization: "Bearer " + key, "content-type": "application/json" }, body: "{\"since\": \"0d\"}" });
    role = probe.status === 403 ? "analyst" : "operator";
  } catch (err) {
    showError(err.status === 401 ? "unknown API key" : err.message);
    return;
  }
  sessionStorage.setItem("undertow-key", key);
  $("key").value = "";
  $("who").textContent = "signed in as " + role;
  $("login").hidden = true;
  $("logout").hidden = false;
  $("app").hidden = false;
  showError("");
  await Promise.all([loadAlerts(), loadTrend(), loadThresholds()]);
  follow();
}

$("login").onsubmit = signIn;
$("logout").onclick = () => { sessionStorage.removeItem("undertow-key"); location.reload(); };
$("trend-form").onsubmit = loadTrend;
$("preview").onclick = preview;
$("save").onclick = save;
$("rule").onchange = () => loadThresholds().catch((err) => showError(err.message));
if (key) signIn();
