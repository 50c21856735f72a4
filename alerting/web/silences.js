// Silences (through Alertmanager): list, create, expire.
import { api } from "./api.js";
import { $, el, showError, when } from "./dom.js";

export async function loadSilences() {
  try {
    const page = await api("/api/silences");
    const list = $("silences");
    list.replaceChildren();
    for (const s of page.items) {
      const matches = s.matchers.filter((m) => m.name !== "namespace")
        .map((m) => `${m.name}${m.isRegex ? "=~" : "="}${m.value}`).join(", ");
      list.append(el("li", { "data-id": s.id, className: s.status.state },
        el("strong", {}, matches), ` — ${s.status.state}, `, when(s.endsAt, "ends"),
        el("div", { className: "hint" }, `by ${s.createdBy}: ${s.comment}`),
        el("button", { type: "button", className: "expire", onclick: () => expire(s.id) }, "Expire")));
    }
    if (!page.items.length) list.append(el("li", { className: "hint" }, "No silence in force."));
    showError("");
  } catch (err) {
    $("silences").replaceChildren(el("li", { className: "hint" }, err.message));
  }
}

async function expire(id) {
  try {
    await api("/api/silences/" + encodeURIComponent(id), { method: "DELETE" });
    await loadSilences();
  } catch (err) {
    showError(err.message);
  }
}

export function setupSilences() {
  $("silence-form").onsubmit = async (event) => {
    event.preventDefault();
    try {
      const body = { scope: $("s-scope").value.trim(), duration: $("s-for").value, reason: $("s-reason").value.trim() };
      if ($("s-rule").value) body.rule = $("s-rule").value;
      await api("/api/silences", { method: "POST", json: body });
      $("s-reason").value = "";
      await loadSilences();
    } catch (err) {
      showError(err.message);
    }
  };
}
