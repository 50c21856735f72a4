// Talking to the API: the key travels in the Authorization header only (never in a URL), and
// the live feed is read with fetch (EventSource cannot send headers), resuming after a
// reconnect from the last event id it saw (Last-Event-ID).
let key = sessionStorage.getItem("undertow-key") || "";

export const hasKey = () => Boolean(key);
export function setKey(value) {
  key = value;
  if (value) sessionStorage.setItem("undertow-key", value);
  else sessionStorage.removeItem("undertow-key");
}

export async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + key }, options.headers || {});
  if (options.json !== undefined) {
    headers["content-type"] = "application/json";
    options = Object.assign({}, options, { body: JSON.stringify(options.json) });
  }
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

export function query(params) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== "" && value != null) q.set(name, value);
  return q.toString();
}

// Follows the live feed until stop(); onEvent(event) for each alert event, onReset() when the
// events missed during a disconnection are no longer kept (reload), onStatus(text).
export function follow({ onEvent, onReset, onStatus }) {
  let lastId = null;
  let abort = null;
  let stopped = false;
  async function connect() {
    abort = new AbortController();
    const headers = { Authorization: "Bearer " + key };
    if (lastId) headers["Last-Event-ID"] = lastId;
    try {
      const resp = await fetch("/api/alerts/stream", { headers, signal: abort.signal });
      if (!resp.ok) throw new Error("stream " + resp.status);
      onStatus("live");
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
          handle(chunk);
        }
      }
    } catch (err) {
      if (err.name === "AbortError" || stopped) return;
    }
    if (stopped) return;
    onStatus("reconnecting…");
    setTimeout(connect, 2000);
  }
  function handle(chunk) {
    let id = null, type = "message", data = "";
    for (const line of chunk.split("\n")) {
      if (line.startsWith("id: ")) id = line.slice(4);
      else if (line.startsWith("event: ")) type = line.slice(7);
      else if (line.startsWith("data: ")) data += line.slice(6);
    }
    if (type === "reset") onReset();
    if (type === "alert" && data) onEvent(JSON.parse(data));
    if (id) lastId = id;
  }
  connect();
  return { stop() { stopped = true; if (abort) abort.abort(); } };
}
