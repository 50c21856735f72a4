// The undertow web page: the alert desk (live list with filters, detail, acknowledge, notes),
// silences, thresholds with a backtest preview, trends. No external scripts: works offline.
import { api, follow, hasKey, setKey, query } from "./api.js";
import { lineChart } from "./charts.js";
import { $, el, refreshTimes, showError } from "./dom.js";
import { announce, fillRuleChoices, loadAlerts, renderAlert, setupAlerts } from "./alerts.js";
import { isShowing, renderDetail, setRole, showDetail } from "./detail.js";
import { loadSilences, setupSilences } from "./silences.js";
import { loadThresholds, setOperator, setupThresholds } from "./thresholds.js";

let stream = null;

function route() {
  const hash = location.hash.replace(/^#/, "") || "alerts";
  const [view, id] = hash.split("/");
  const name = ["alerts", "alert", "silences", "thresholds", "trends"].includes(view) ? view : "alerts";
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.dataset.view !== name;
  for (const link of document.querySelectorAll("#nav a")) link.classList.toggle("current", link.dataset.view === name || (name === "alert" && link.dataset.view === "alerts"));
  if (name === "alert" && id) showDetail(decodeURIComponent(id));
  if (name === "silences") loadSilences();
  if (name === "thresholds") loadThresholds();
  if (name === "trends") loadTrend();
}

async function loadTrend(event) {
  if (event) event.preventDefault();
  try {
    const t = await api("/api/trends?" + query({ scope: $("scope").value, window: $("window").value }));
    const at = (b) => new Date(b.start).getTime();
    const chart = t.series.length
      ? lineChart([
        { name: "all", color: "#4a6fa5", points: t.series.map((b) => [at(b), b.total]) },
        { name: "negative", color: "#c1121f", points: t.series.map((b) => [at(b), b.negative]) },
      ], { label: "documents and negative documents per bucket" })
      : el("p", { className: "hint" }, "no documents");
    $("trend").replaceChildren(chart, el("p", {}, `${t.total} documents, ${Math.round(t.negative_share * 100)}% negative, mean score ${t.mean_score.toFixed(2)}`));
    showError("");
  } catch (err) {
    showError(err.message);
  }
}

function onEvent(event) {
  renderAlert(event.alert);
  if (isShowing(event.alert.id)) renderDetail(event.alert);
  announce(event.alert, event.event);
}

async function signIn(event) {
  if (event) event.preventDefault();
  if ($("key").value.trim()) setKey($("key").value.trim());
  let me;
  try {
    me = await api("/api/me");
  } catch (err) {
    showError(err.status === 401 ? "unknown API key" : err.message);
    if (err.status === 401) setKey("");
    return;
  }
  $("key").value = "";
  $("who").textContent = "signed in as " + me.role;
  setRole(me.role);
  setOperator(me.role === "operator");
  for (const id of ["login"]) $(id).hidden = true;
  for (const id of ["logout", "app", "nav", "notify-label"]) $(id).hidden = false;
  showError("");
  const rules = await api("/api/rules");
  fillRuleChoices(rules);
  await loadAlerts();
  route();
  if (stream) stream.stop();
  stream = follow({
    onEvent,
    onReset: () => loadAlerts(),
    onStatus: (text) => { $("live").textContent = text; },
  });
}

$("login").onsubmit = signIn;
$("logout").onclick = () => { setKey(""); location.reload(); };
$("trend-form").onsubmit = loadTrend;
window.addEventListener("hashchange", route);
setupAlerts();
setupSilences();
setupThresholds();
setInterval(refreshTimes, 30000);
if (hasKey()) signIn();
