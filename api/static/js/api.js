// HTTP calls to the rescue API with the page's bearer token.

export class ApiError extends Error {
  constructor(status, body) {
    super(typeof body?.detail === "string" ? body.detail : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
  // FastAPI's 422 body: detail = [{loc: ["body", "caller", "phone"], msg, type}, ...]
  get fieldErrors() {
    const detail = this.body?.detail;
    return Array.isArray(detail) ? detail : [];
  }
}

// A fresh idempotency key; crypto.randomUUID only exists on secure origins.
export function newKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Api {
  constructor(token) {
    this.token = token;
  }

  // Resolves with the parsed body; rejects with ApiError for an HTTP error and
  // with TypeError when the network is down (the caller decides to retry).
  async request(method, path, { body, key, signal } = {}) {
    const headers = { Accept: "application/json" };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    // A FormData body (a photo) goes as multipart, its boundary set by the browser.
    const form = body instanceof FormData;
    if (body !== undefined && !form) headers["Content-Type"] = "application/json";
    if (key) headers["Idempotency-Key"] = key;
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined || form ? body : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { detail: text };
    }
    if (!response.ok) throw new ApiError(response.status, parsed);
    return parsed;
  }

  get(path, options) {
    return this.request("GET", path, options);
  }

  post(path, body, options = {}) {
    return this.request("POST", path, { ...options, body });
  }
}

export async function loadConfig() {
  try {
    const response = await fetch("/api/pages/config", { cache: "no-store" });
    if (response.ok) return await response.json();
  } catch {
    // offline: the defaults below
  }
  return { tile_url: null, position_interval_s: 10, offer_timeout_s: 90,
           sla: { unoffered_warn_s: 300, offer_warn_s: 20 } };
}
