// The alert list: filters, pages from the alert history, live updates, and "alert me".
import { api, query } from "./api.js";
import { $, el, showError, when, words } from "./dom.js";

let next = null;
let filters = {};
let total = 0;

function count() {
  const shown = $("alerts").children.length;
  $("alert-count").textContent = `${shown} of ${total} alert${total === 1 ? "" : "s"}`;
}

export function currentFilters() {
  return {
    state: $("f-state").value, severity: $("f-severity").value, rule: $("f-rule").value,
    scope_kind: $("f-kind").value, q: $("f-text").value.trim(),
  };
}

export function reason(alert) {
  // Every rule says in one sentence why it fired; an alert stored before that says its shares.
  const share = Math.round((alert.current.negative_share || 0) * 100);
  const base = Math.round((alert.baseline.negative_share || 0) * 100);
  return (alert.verdict && alert.verdict.reason) || `${share}% negative (baseline ${base}%)`;
}

export const scopeName = (scope) => scope.kind + (scope.value ? ":" + scope.value : "");

function matches(alert) {
  const f = filters;
  if (f.state && alert.state !== f.state) return false;
  if (f.severity && alert.severity !== f.severity) return false;
  if (f.rule && alert.rule !== f.rule) return false;
  if (f.scope_kind && alert.scope.kind !== f.scope_kind) return false;
  if (f.q) {
    const hay = [scopeName(alert.scope), alert.rule, reason(alert),
      ...(alert.examples || []).map((e) => (e.title || "") + " " + e.text),
      ...(alert.activity || []).map((a) => a.text || "")].join(" ").toLowerCase();
    if (!f.q.toLowerCase().split(/\s+/).every((w) => hay.includes(w))) return false;
  }
  return true;
}

export function alertItem(alert) {
  const li = el("li", { className: `${alert.state} ${alert.severity}`, "data-id": alert.id });
  const rule = words(alert.rule || "negative_spike");
  li.append(
    el("a", { href: "#alert/" + alert.id, className: "title" },
      `${alert.severity} · ${rule} · ${scopeName(alert.scope)}`),
    el("span", {}, ` — ${alert.state}: ${reason(alert)}`),
    el("div", { className: "times" },
      when(alert.fired_at || alert.started_at, alert.fired_at ? "fired" : "started"),
      alert.resolved_at ? " · " : "", when(alert.resolved_at, "resolved")),
  );
  if (alert.incident && alert.incident !== alert.id) {
    li.append(el("div", { className: "incident" }, "part of the incident of ",
      el("a", { href: "#alert/" + alert.incident }, "alert " + alert.incident)));
  }
  if ((alert.related || []).length) {
    const names = alert.related.map((r) => `${words(r.rule)} on ${r.scope}`);
    li.append(el("div", { className: "incident" }, `+${names.length} related: ${names.join(", ")}`));
  }
  for (const ex of (alert.examples || []).slice(0, 3)) {
    li.append(el("div", { className: "ex" }, "“" + (ex.title || ex.text).slice(0, 160) + "”"));
  }
  if (alert.acked_by) {
    const held = alert.acked_severity && alert.acked_severity !== alert.severity ? " (escalated since)" : "";
    li.append(el("small", { className: "ack" }, `acknowledged by ${alert.acked_by}${held}`));
  }
  return li;
}

export function renderAlert(alert) {
  const old = document.querySelector(`#alerts li[data-id="${CSS.escape(alert.id)}"]`);
  if (!matches(alert)) {
    if (old) { old.remove(); total -= 1; count(); }
    return;
  }
  const li = alertItem(alert);
  if (old) old.replaceWith(li);
  else { $("alerts").prepend(li); total += 1; count(); }
}

export async function loadAlerts(more = false) {
  try {
    if (!more) filters = currentFilters();
    const params = Object.assign({ limit: 50 }, filters, more && next ? { cursor: next } : {});
    const page = await api("/api/alerts?" + query(params));
    if (!more) $("alerts").replaceChildren();
    for (const alert of page.items) $("alerts").append(alertItem(alert));
    next = page.next;
    $("more").hidden = !next;
    total = page.total;
    count();
    showError("");
  } catch (err) {
    showError(err.message);
  }
}

export function fillRuleChoices(rules) {
  for (const id of ["f-rule", "s-rule"]) {
    const select = $(id);
    const first = select.options[0];
    select.replaceChildren(first, ...rules.map((r) => el("option", { value: r.name, title: r.summary }, words(r.name))));
  }
}

// "Alert me": a desktop notification (when the browser allows it) and a short tone for each
// new or escalated alert that leads its incident.
let audio = null;
export function setupNotify() {
  const box = $("notify");
  box.checked = localStorage.getItem("undertow-notify") === "on";
  box.onchange = async () => {
    localStorage.setItem("undertow-notify", box.checked ? "on" : "off");
    if (box.checked && "Notification" in window && Notification.permission === "default") {
      await Notification.requestPermission();
    }
  };
}

export function announce(alert, event) {
  if (!$("notify").checked || !["fired", "escalated"].includes(event)) return;
  if (alert.incident && alert.incident !== alert.id && event !== "escalated") return;
  const title = `${alert.severity} ${words(alert.rule)} on ${scopeName(alert.scope)}`;
  if ("Notification" in window && Notification.permission === "granted") {
    new Notification(title, { body: reason(alert), tag: alert.id });
  }
  try {
    audio = audio || new AudioContext();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = alert.severity === "critical" ? 880 : 660;
    gain.gain.value = 0.05;
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.25);
  } catch {
    // no audio device: the desktop notification is enough
  }
  document.body.dataset.announced = String(Number(document.body.dataset.announced || 0) + 1);
}

export function setupAlerts() {
  $("filters").onsubmit = (event) => { event.preventDefault(); loadAlerts(); };
  for (const id of ["f-state", "f-severity", "f-rule", "f-kind"]) $(id).onchange = () => loadAlerts();
  $("f-clear").onclick = () => {
    for (const id of ["f-state", "f-severity", "f-rule", "f-kind", "f-text"]) $(id).value = "";
    loadAlerts();
  };
  $("more").onclick = () => loadAlerts(true);
  setupNotify();
}
