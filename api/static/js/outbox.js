// The tablet's outbox: steps, messages, photos and GPS positions kept in localStorage, each with an
// idempotency key, sent in order when the network is there.
//
// - A network failure or a 5xx/408/429 answer keeps the item at the head and retries
//   later: nothing is lost, and the idempotency key makes a resend of something the
//   server already stored (but whose answer was lost) record nothing new.
// - Any other 4xx answer (409: the job changed meanwhile, e.g. cancelled; 403: the job
//   went to another van; 422) drops the item and reports it: it would never succeed.
// - Consecutive positions at the head are merged into one batch before sending; the
//   batch is stored with its own key first, so a resend sends exactly the same body.

import { ApiError, newKey } from "./api.js";

const MAX_POSITIONS = 2000;
const BATCH = 500;

export class Outbox {
  constructor({ api, vanId, storageKey, onChange = () => {}, onRefused = () => {}, onSent = () => {},
                blobs = null, uploadPhoto = null }) {
    this.api = api;
    this.blobs = blobs; // where queued photos' bytes wait (IndexedDB), by item key
    this.uploadPhoto = uploadPhoto;
    this.vanId = vanId;
    this.storageKey = storageKey;
    this.onChange = onChange;
    this.onRefused = onRefused;
    this.onSent = onSent;
    this.items = this.load();
    this.flushing = false;
    this.retryTimer = null;
    this.retryDelay = 1000;
    this.lastError = null;
  }

  load() {
    try {
      const items = JSON.parse(localStorage.getItem(this.storageKey) || "[]");
      return Array.isArray(items) ? items : [];
    } catch {
      return [];
    }
  }

  save() {
    localStorage.setItem(this.storageKey, JSON.stringify(this.items));
    this.onChange(this.items);
  }

  get steps() {
    return this.items.filter((item) => item.type === "step");
  }

  addStep(incidentId, action, data) {
    const item = { type: "step", key: newKey(), incident_id: incidentId, action, data: data || {},
                   created_at: new Date().toISOString(), attempts: 0 };
    this.items.push(item);
    this.save();
    this.flush();
    return item;
  }

  // A message to the desk: `path` is its conversation's route; sent once, in order with the steps.
  addMessage(path, text) {
    const item = { type: "message", key: newKey(), path, text, created_at: new Date().toISOString(), attempts: 0 };
    this.items.push(item);
    this.save();
    this.flush();
    return item;
  }

  // A photo of the job: its bytes wait in `blobs` under the item's key until uploaded.
  async addPhoto(incidentId, blob, kind, partNo) {
    const item = { type: "photo", key: newKey(), incident_id: incidentId, kind, part_no: partNo || null,
                   name: blob.name || "photo.jpg", size: blob.size, created_at: new Date().toISOString(), attempts: 0 };
    await this.blobs.put(item.key, blob);
    this.items.push(item);
    this.save();
    this.flush();
    return item;
  }

  addPosition(report) {
    this.items.push({ type: "positions", key: newKey(), reports: [report],
                      created_at: new Date().toISOString(), attempts: 0 });
    this.trimPositions();
    this.save();
    this.flush();
  }

  // Offline for hours: keep the newest positions and every step.
  trimPositions() {
    let count = this.items.reduce((n, item) => n + (item.type === "positions" ? item.reports.length : 0), 0);
    while (count > MAX_POSITIONS) {
      const index = this.items.findIndex((item) => item.type === "positions" && item.attempts === 0);
      if (index < 0) break;
      count -= this.items[index].reports.length;
      this.items.splice(index, 1);
    }
  }

  // Merges the positions at the head into one batch (never one that was sent already).
  batchHead() {
    const head = this.items[0];
    if (head.type !== "positions" || head.attempts > 0) return;
    let end = 1;
    let reports = head.reports.slice();
    while (end < this.items.length && this.items[end].type === "positions" && this.items[end].attempts === 0
           && reports.length + this.items[end].reports.length <= BATCH) {
      reports = reports.concat(this.items[end].reports);
      end += 1;
    }
    if (end > 1) {
      this.items.splice(0, end, { type: "positions", key: newKey(), reports,
                                  created_at: head.created_at, attempts: 0 });
    }
  }

  async send(item) {
    if (item.type === "message") return this.api.post(item.path, { text: item.text }, { key: item.key });
    if (item.type === "photo") {
      const blob = await this.blobs.get(item.key);
      // Gone from the tablet (storage cleared): it can never be sent, like a refused item.
      if (!blob) throw new ApiError(410, { detail: "the photo is no longer on this tablet" });
      return this.uploadPhoto(this.api, item, blob);
    }
    if (item.type === "positions") {
      return this.api.post(`/api/vans/${encodeURIComponent(this.vanId)}/positions`, item.reports, { key: item.key });
    }
    return this.api.post(`/api/incidents/${encodeURIComponent(item.incident_id)}/${item.action}`, item.data,
      { key: item.key });
  }

  scheduleRetry() {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.flush(), this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, 15000);
  }

  async flush() {
    if (this.flushing) return;
    if (navigator.onLine === false) {
      this.scheduleRetry();
      return;
    }
    this.flushing = true;
    clearTimeout(this.retryTimer);
    try {
      while (this.items.length) {
        this.batchHead();
        const item = this.items[0];
        item.attempts += 1;
        this.save();
        let result;
        try {
          result = await this.send(item);
        } catch (error) {
          const retry = !(error instanceof ApiError) || error.status >= 500 || error.status === 408
            || error.status === 429;
          if (retry) {
            this.lastError = error;
            this.onChange(this.items);
            this.scheduleRetry();
            return;
          }
          this.items.shift();
          this.save();
          if (item.type === "photo") this.blobs?.delete(item.key).catch(() => {});
          this.onRefused(item, error);
          continue;
        }
        this.items.shift();
        if (item.type === "photo") this.blobs?.delete(item.key).catch(() => {});
        this.lastError = null;
        this.retryDelay = 1000;
        this.save();
        this.onSent(item, result);
      }
    } finally {
      this.flushing = false;
    }
  }
}
