// The JSON API as the page uses it. The API key lives in sessionStorage only (this tab, until
// it closes) and travels in the X-API-Key header, never in a URL.

const KEY = "scribe.apiKey";
const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

let unauthorized = () => {};

/** Called when the API refuses the key (401): the page signs out. */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

export const session = {
  get key() {
    return sessionStorage.getItem(KEY);
  },
  signIn(key) {
    sessionStorage.setItem(KEY, key);
  },
  signOut() {
    sessionStorage.removeItem(KEY);
  },
};

function headers(extra = {}) {
  const out = { ...extra };
  if (session.key) out["X-API-Key"] = session.key;
  return out;
}

async function failure(response) {
  let code = `http_${response.status}`;
  let message = response.statusText || `HTTP ${response.status}`;
  let details;
  try {
    const body = await response.json();
    if (body && body.error) {
      ({ code, message, details } = body.error);
    }
  } catch {
    // not JSON: keep the status text
  }
  if (response.status === 401) unauthorized(message);
  return new ApiError(response.status, code, message, details);
}

/** Call the API; resolves to the parsed JSON (or the Response with {raw: true}). */
export async function api(path, { method = "GET", json, signal, raw = false, key } = {}) {
  const init = { method, signal, headers: headers(json === undefined ? {} : { "Content-Type": "application/json" }) };
  if (key) init.headers["X-API-Key"] = key;
  if (json !== undefined) init.body = JSON.stringify(json);
  const response = await fetch(path.startsWith("/") ? path : `${API}/${path}`, init);
  if (!response.ok) throw await failure(response);
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

/**
 * Follow a Server-Sent Events stream with the key in a header (EventSource cannot send one).
 * Calls onEvent(name, data) for each event; resolves when the server closes the stream.
 */
export async function streamEvents(path, { signal, onEvent }) {
  const response = await fetch(`${API}/${path}`, {
    headers: headers({ Accept: "text/event-stream" }),
    signal,
    cache: "no-store",
  });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue; // a comment (keep-alive)
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = val;
        else if (field === "data") data.push(val);
      }
      if (data.length) {
        let parsed = data.join("\n");
        try {
          parsed = JSON.parse(parsed);
        } catch {
          // plain text data
        }
        onEvent(name, parsed);
      }
    }
  }
}

/** A URL the API gave for itself, made relative, so it works behind a proxy that rewrites the scheme. */
export function ownUrl(url) {
  const parsed = new URL(url, location.href);
  if (parsed.host === location.host) return parsed.pathname + parsed.search;
  return parsed.href;
}

/**
 * Send a body with XMLHttpRequest, the one browser API that reports upload progress.
 * onProgress(loaded, total) is called as it goes; resolves to the parsed JSON answer.
 */
export function send({ method, url, body, headers: extra = {}, withKey = true, onProgress, signal }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    const all = withKey ? headers(extra) : { ...extra };
    for (const [name, value] of Object.entries(all)) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable && onProgress) onProgress(e.loaded, e.total);
    });
    xhr.addEventListener("load", () => {
      let parsed = null;
      try {
        parsed = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        parsed = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(parsed);
        return;
      }
      const error = parsed && parsed.error ? parsed.error : {};
      if (xhr.status === 401 && withKey) unauthorized(error.message);
      reject(new ApiError(xhr.status, error.code || `http_${xhr.status}`, error.message || `HTTP ${xhr.status}`));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network_error", "The upload could not reach the server.")));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "aborted", "The upload was stopped.")));
    if (signal) signal.addEventListener("abort", () => xhr.abort());
    xhr.send(body);
  });
}

/** Fetch a file with the key and hand it to the browser as a download. */
export async function download(path, filename) {
  const response = await api(path, { raw: true });
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
