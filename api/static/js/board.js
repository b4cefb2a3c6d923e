// The live board: documents from /ws/board (snapshot + changes), merged with the
// rule of projections/changes.py, and a socket that resumes with ?after=N.

// Same as projections.changes.van_status.
export function vanStatus(doc) {
  if (doc.incident_id !== null && doc.incident_id !== undefined) {
    return doc.engaged ? "busy" : "offered";
  }
  return doc.on_duty ? "available" : "off_duty";
}

// Same as projections.changes.merge: a GPS fix older than the kept one changes nothing.
// ISO-8601 strings of one offset compare in time order, as on the server.
export function merge(doc, fields) {
  if ("position_at" in fields && doc.position_at !== null && doc.position_at !== undefined) {
    if (fields.position_at === null || fields.position_at <= doc.position_at) return false;
  }
  Object.assign(doc, fields);
  return true;
}

export const OPEN_STATUSES = new Set([
  "reported", "queued", "offered", "accepted", "en_route", "on_scene", "towing",
]);

export class Board {
  constructor() {
    this.stations = new Map();
    this.vans = new Map();
    this.incidents = new Map();
    this.position = 0;
  }

  load(snapshot) {
    this.stations = new Map((snapshot.stations || []).map((s) => [s.station_id, s]));
    this.vans = new Map((snapshot.vans || []).map((v) => [v.van_id, v]));
    this.incidents = new Map((snapshot.incidents || []).map((i) => [i.incident_id, i]));
    for (const van of this.vans.values()) van.status = vanStatus(van);
    this.position = snapshot.log_position || 0;
  }

  // Applies one change message; answers the document it changed.
  apply(message) {
    const docs = { station: this.stations, van: this.vans, incident: this.incidents }[message.kind];
    if (!docs) return null;
    let doc = docs.get(message.id);
    if (!doc) {
      doc = {};
      docs.set(message.id, doc);
    }
    merge(doc, message.changes || {});
    if (message.kind === "van") doc.status = vanStatus(doc);
    if (message.log_position > this.position) this.position = message.log_position;
    return doc;
  }

  openIncidents() {
    return [...this.incidents.values()].filter((i) => OPEN_STATUSES.has(i.status));
  }

  // Where a van is drawn: its latest fix, else its home station.
  vanPoint(van) {
    if (van.lat !== null && van.lat !== undefined) return { lat: van.lat, lon: van.lon, home: false };
    const station = this.stations.get(van.station_id);
    return station ? { lat: station.lat, lon: station.lon, home: true } : null;
  }
}

// A board socket that reconnects after a drop with ?after=<last log_position>:
// the server replays what was missed, without a gap or a repeat.
export class BoardFeed {
  constructor({ token, board, onSnapshot, onChange, onState, onAuthFailed }) {
    this.token = token;
    this.board = board;
    this.onSnapshot = onSnapshot || (() => {});
    this.onChange = onChange || (() => {});
    this.onState = onState || (() => {});
    this.onAuthFailed = onAuthFailed || (() => {});
    this.ws = null;
    this.stopped = false;
    this.loaded = false;
    this.delay = 500;
    this.lastMessageAt = 0;
    this.watchdog = null;
    this.reconnects = 0;
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const after = this.loaded ? `?after=${this.board.position}` : "";
    return `${scheme}://${location.host}/ws/board${after}`;
  }

  start() {
    this.stopped = false;
    this.connect();
    // Heartbeats come every 15 s: a silent socket for 40 s is a dead one.
    this.watchdog = setInterval(() => {
      if (this.ws && this.ws.readyState === WebSocket.OPEN && Date.now() - this.lastMessageAt > 40000) {
        this.ws.close();
      }
    }, 5000);
  }

  stop() {
    this.stopped = true;
    clearInterval(this.watchdog);
    if (this.ws) this.ws.close();
  }

  // For tests and the "reconnect" button: drop the socket as a network would.
  drop() {
    if (this.ws) this.ws.close();
  }

  connect() {
    this.onState("connecting");
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify({ token: this.token }));
      this.lastMessageAt = Date.now();
    });
    ws.addEventListener("message", (event) => {
      this.lastMessageAt = Date.now();
      this.delay = 500;
      const message = JSON.parse(event.data);
      if (message.type === "snapshot") {
        this.board.load(message);
        this.loaded = true;
        this.onState("live");
        this.onSnapshot(message);
      } else if (message.type === "change" || message.type === "batch") {
        this.onState("live");
        // A batch carries the changes that queued up while the previous frame was sent.
        for (const change of message.type === "batch" ? message.changes : [message]) {
          if (change.log_position < this.board.position) continue;
          const doc = this.board.apply(change);
          if (doc) this.onChange(change, doc);
        }
      } else if (message.type === "heartbeat") {
        this.onState("live");
      }
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (event.code === 4401 || event.code === 4403) {
        this.onState("refused");
        this.onAuthFailed(event.code);
        return;
      }
      if (this.stopped) {
        this.onState("closed");
        return;
      }
      this.onState("reconnecting");
      this.reconnects += 1;
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 8000);
    });
  }
}
