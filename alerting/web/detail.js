// One alert: why it fired, its trend against the baseline around it, its stories and evidence,
// its incident, and what analysts did (acknowledge, notes, silence its scope).
import { api, query } from "./api.js";
import { lineChart } from "./charts.js";
import { $, el, safeUrl, showError, when, words } from "./dom.js";
import { reason, renderAlert, scopeName } from "./alerts.js";

const HOUR = 3600 * 1000;
let role = "analyst";
export const setRole = (value) => { role = value; };

export async function showDetail(id) {
  $("detail").replaceChildren(el("p", {}, "loading…"));
  try {
    const alert = await api("/api/alerts/" + encodeURIComponent(id));
    renderDetail(alert);
    showError("");
  } catch (err) {
    $("detail").replaceChildren(el("p", {}, err.message));
  }
}

function figures(alert) {
  const rows = [["documents", "total"], ["negative", "negative"], ["negative share", "negative_share"], ["mean score", "mean_score"]];
  const fmt = (v, k) => v === undefined ? "–" : k === "negative_share" ? Math.round(v * 100) + "%" : k === "mean_score" ? Number(v).toFixed(2) : Math.round(v);
  const base = alert.baseline || {};
  const hours = base.seconds ? ` (${Math.round(base.seconds / 60)} min)` : "";
  return el("table", { className: "figures" },
    el("tr", {}, el("th", {}, ""), el("th", {}, "current window"), el("th", {}, "baseline" + hours)),
    rows.map(([label, k]) => el("tr", {}, el("td", {}, label), el("td", {}, fmt(alert.current[k], k)), el("td", {}, fmt(base[k], k)))));
}

async function trendAround(alert) {
  const box = el("div", { className: "trend" }, "loading the trend…");
  const fired = new Date(alert.fired_at || alert.started_at).getTime();
  const start = new Date(alert.started_at).getTime() - 2 * HOUR;
  const end = Math.min(Date.now(), alert.resolved_at ? new Date(alert.resolved_at).getTime() + HOUR / 2 : Date.now());
  const minutes = Math.max(60, Math.min(47 * 60, Math.ceil((end - start) / 60000)));
  try {
    const t = await api("/api/trends?" + query({ scope: scopeName(alert.scope), window: minutes + "m", end: new Date(end).toISOString() }));
    const series = t.series;
    if (!series.length) throw new Error("no documents");
    const bucket = series.length > 1 ? new Date(series[1].start) - new Date(series[0].start) : 60000;
    const at = (b) => new Date(b.start).getTime();
    const base = alert.baseline || {};
    const perBucket = (n) => base.seconds ? (n * bucket) / (base.seconds * 1000) : 0;
    const first = at(series[0]), last = at(series[series.length - 1]);
    const marks = [{ t: fired, label: "fired" }];
    if (alert.resolved_at) marks.push({ t: new Date(alert.resolved_at).getTime(), label: "resolved" });
    box.replaceChildren(lineChart([
      { name: "documents", color: "#4a6fa5", points: series.map((b) => [at(b), b.total]) },
      { name: "negative", color: "#c1121f", points: series.map((b) => [at(b), b.negative]) },
      { name: "baseline documents", color: "#4a6fa5", dashed: true, points: [[first, perBucket(base.total || 0)], [last, perBucket(base.total || 0)]] },
      { name: "baseline negative", color: "#c1121f", dashed: true, points: [[first, perBucket(base.negative || 0)], [last, perBucket(base.negative || 0)]] },
    ], { label: `documents per ${Math.round(bucket / 1000)} s bucket on ${scopeName(alert.scope)}, against the baseline`, marks }));
  } catch (err) {
    box.replaceChildren(el("p", { className: "hint" }, "No trend to show: the windows keep 48 h (" + err.message + ")."));
  }
  return box;
}

function evidence(alert) {
  const list = el("ul", { className: "evidence" });
  for (const ex of alert.examples || []) {
    const text = (ex.title || ex.text).slice(0, 300);
    const url = ex.url && safeUrl(ex.url);
    const story = ex.reposts ? `a story of ${ex.reposts + 1} documents (${ex.reposts} reposts)` : "a story of its own";
    list.append(el("li", {},
      url ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, text) : el("span", {}, text),
      el("div", { className: "meta" },
        el("span", { className: "tag " + (ex.sentiment || "") }, ex.sentiment || `score ${ex.score.toFixed(2)}`), " ",
        el("span", { className: "tag" }, ex.topic || "no topic"), " ",
        el("span", { className: "tag" }, ex.source || "?"), " · ", story, " · ",
        when(ex.published_at, "published"),
        el("button", { type: "button", className: "correct", onclick: (e) => toggleCorrection(e.target, ex) }, "Correct…")),
      el("div", { className: "correction" })));
  }
  if (!list.children.length) list.append(el("li", { className: "hint" }, "No example documents."));
  return list;
}

let labels = null;

// An analyst's correction of the model's answer for one evidence document (kept as training
// data); the labels come from the API, the current correction is shown when the form opens.
async function toggleCorrection(button, ex) {
  const box = button.closest("li").querySelector(".correction");
  if (box.children.length) { box.replaceChildren(); return; }
  try {
    labels = labels || await api("/api/labels");
    const view = await api("/api/documents/" + encodeURIComponent(ex.id));
    const current = view.correction;
    const choice = (name, values, now) => el("select", { className: "c-" + name, "aria-label": "correct " + name },
      el("option", { value: "" }, `${name}: as the model says (${name === "sentiment" ? ex.sentiment || "?" : ex.topic || "?"})`),
      values.map((v) => el("option", { value: v, selected: v === now }, v)));
    const sentiment = choice("sentiment", labels.sentiment, current?.sentiment);
    const topic = choice("topic", labels.topic, current?.topic);
    const note = el("input", { className: "c-note", placeholder: "why (optional)", "aria-label": "correction note" });
    const status = el("span", { className: "c-status hint" }, current ? corrected(current) : "");
    box.replaceChildren(el("form", { className: "row", onsubmit: (e) => {
      e.preventDefault(); saveCorrection(ex, sentiment.value, topic.value, note.value, status);
    } }, sentiment, topic, note, el("button", { type: "submit" }, "Save correction"), status));
  } catch (err) {
    showError(err.message);
  }
}

function corrected(c) {
  const what = [c.sentiment, c.topic].filter(Boolean).join(", ");
  return `corrected to ${what} by ${c.by}, ${new Date(c.at).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

async function saveCorrection(ex, sentiment, topic, note, status) {
  const body = {};
  if (sentiment) body.sentiment = sentiment;
  if (topic) body.topic = topic;
  if (note) body.note = note;
  try {
    const made = await api(`/api/documents/${encodeURIComponent(ex.id)}/label`, { method: "POST", json: body });
    status.textContent = corrected(made);
    showError("");
  } catch (err) {
    showError(err.message);
  }
}

function actions(alert) {
  const box = el("div", { className: "actions" });
  const ackButton = alert.acked_by && alert.acked_severity === alert.severity
    ? el("button", { type: "button", id: "unack", onclick: () => act(alert, "DELETE", "/ack") }, "Unacknowledge")
    : el("button", { type: "button", id: "ack", onclick: () => act(alert, "POST", "/ack") }, "Acknowledge");
  if (alert.state !== "resolved" || alert.acked_by) box.append(ackButton);
  const duration = el("select", { id: "d-silence-for", "aria-label": "silence for" },
    ["1h", "4h", "12h", "1d"].map((d) => el("option", { selected: d === "4h" }, d)));
  const why = el("input", { id: "d-silence-reason", placeholder: "why silence " + scopeName(alert.scope), "aria-label": "silence reason" });
  box.append(el("form", { className: "row", onsubmit: (e) => { e.preventDefault(); silence(alert, duration.value, why.value); } },
    el("button", { type: "submit" }, "Silence " + scopeName(alert.scope)), duration, why));
  if (alert.fired_at) {
    const current = alert.feedback;
    const judge = (verdict) => el("button", { type: "button", id: "d-" + verdict, className: current?.verdict === verdict ? "chosen" : "",
      onclick: () => judgeAlert(alert, verdict) }, verdict === "useful" ? "Useful" : "Noise");
    box.append(el("div", { className: "row feedback" }, "Was this alert worth it? ", judge("useful"), judge("noise"),
      el("span", { id: "d-feedback", className: "hint" }, current ? ` ${current.verdict}, said ${current.by}` : "")));
  }
  const note = el("textarea", { id: "d-note", rows: 2, placeholder: "add a note", "aria-label": "note" });
  box.append(el("form", { className: "note", onsubmit: (e) => { e.preventDefault(); addNote(alert, note.value); } },
    note, el("button", { type: "submit" }, "Add note")));
  return box;
}

function activity(alert) {
  const list = el("ul", { className: "activity", id: "d-activity" });
  for (const a of alert.activity || []) {
    list.append(el("li", {}, when(a.at), ` ${a.by} `, a.action === "note" ? "noted: " : a.action === "judged" ? "judged it " : a.action, a.text ? el("q", {}, a.text) : ""));
  }
  return list;
}

async function act(alert, method, path) {
  try {
    const changed = await api(`/api/alerts/${encodeURIComponent(alert.id)}${path}`, { method });
    renderDetail(changed);
    renderAlert(changed);
  } catch (err) {
    showError(err.message);
  }
}

async function judgeAlert(alert, verdict) {
  try {
    const changed = await api(`/api/alerts/${encodeURIComponent(alert.id)}/feedback`, { method: "POST", json: { verdict } });
    renderDetail(changed);
  } catch (err) {
    showError(err.message);
  }
}

async function addNote(alert, text) {
  try {
    const changed = await api(`/api/alerts/${encodeURIComponent(alert.id)}/notes`, { method: "POST", json: { text } });
    renderDetail(changed);
  } catch (err) {
    showError(err.message);
  }
}

async function silence(alert, duration, why) {
  try {
    const made = await api("/api/silences", { method: "POST", json: { scope: scopeName(alert.scope), duration, reason: why || "silenced from alert " + alert.id } });
    $("d-silenced").textContent = `silenced until ${new Date(made.endsAt).toISOString().slice(0, 16).replace("T", " ")} UTC`;
    showError("");
  } catch (err) {
    showError(err.message);
  }
}

export async function renderDetail(alert) {
  const related = (alert.related || []).map((r) => el("li", {}, el("a", { href: "#alert/" + r.id }, `${r.severity} ${words(r.rule)} on ${r.scope}`), " ", when(r.fired_at, "fired")));
  const kibana = alert.kibana_url && safeUrl(alert.kibana_url);
  const acked = alert.acked_by
    ? el("p", { className: "ack" }, `acknowledged by ${alert.acked_by} `, when(alert.acked_at),
      alert.acked_severity && alert.acked_severity !== alert.severity ? " — escalated since, re-notified again" : " — no re-notification until it escalates or resolves")
    : null;
  const root = el("article", { className: `alert-detail ${alert.state} ${alert.severity}`, "data-id": alert.id },
    el("h2", {}, `${alert.severity} ${words(alert.rule)} on ${scopeName(alert.scope)}`, el("small", {}, " " + alert.state)),
    el("p", { className: "why" }, reason(alert)),
    el("p", { className: "times" }, when(alert.started_at, "started"), alert.fired_at ? " · " : "", when(alert.fired_at, "fired"),
      alert.resolved_at ? " · " : "", when(alert.resolved_at, "resolved")),
    acked,
    el("p", { id: "d-silenced", className: "hint" }),
    actions(alert),
    el("h3", {}, "Trend around the alert"),
    el("div", { id: "d-trend" }),
    figures(alert),
    el("h3", {}, "Stories and evidence"),
    evidence(alert),
    kibana ? el("p", {}, el("a", { href: kibana, target: "_blank", rel: "noopener noreferrer" }, "All of the window's negative documents in Kibana")) : null,
    alert.incident && alert.incident !== alert.id ? el("p", { className: "incident" }, "Part of the incident of ", el("a", { href: "#alert/" + alert.incident }, "alert " + alert.incident)) : null,
    related.length ? el("div", {}, el("h3", {}, "Grouped in this incident"), el("ul", {}, related)) : null,
    el("h3", {}, "Activity"),
    activity(alert),
    el("p", { className: "hint" }, `thresholds version ${alert.thresholds_version}` + (alert.model_version ? ` · model ${alert.model_version}` : "") + ` · id ${alert.id}`),
  );
  $("detail").replaceChildren(root);
  $("d-trend").replaceChildren(await trendAround(alert));
}

export function isShowing(id) {
  const shown = document.querySelector("#detail article");
  return shown && shown.dataset.id === id && !$("view-alert").hidden;
}
