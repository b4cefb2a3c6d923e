// The van crew's tablet: the current job from /ws/crew, a big button for each step the
// job allows, GPS sharing, and an outbox that keeps steps and positions while offline.

import { ApiError, loadConfig } from "./api.js";
import { Conversation, QUICK_REPLIES } from "./chat.js";
import { $, $$, clearFieldErrors, h } from "./dom.js";
import { initLang, onLangChange, reasons, t } from "./i18n.js";
import { Outbox } from "./outbox.js";
import { PhotoBlobs, photoItem, photoLabel, uploadPhoto } from "./photos.js";
import { signIn } from "./signin.js";
import { clock, duration } from "./timefmt.js";
import { loadStock, renderStock } from "./vanstock.js";

const FINDINGS = [
  "missed_maintenance", "modified", "accident", "manual_maintenance", "wear_consumable", "misuse",
  "wrong_fluid", "non_original_part", "delayed_report", "environmental", "unauthorized_repair",
  "appearance_ageing", "odometer_altered", "indirect_loss", "long_storage", "undetermined",
];
// How far along a job is; a pending step moves the job on before the server has it.
const RANK = { offered: 0, accepted: 1, en_route: 2, on_scene: 3, towing: 4, completed: 5 };
const AFTER_STEP = { accept: "accepted", depart: "en_route", arrive: "on_scene", complete: "completed" };

const config = await loadConfig();
initLang();
const { api, principal } = await signIn({ roles: ["crew"], storageKey: "rescue.tablet.token", offlineOk: true });
const vanId = principal.van_id;

const state = {
  van: null,
  job: null, // the incident as the server last told us (with caller)
  stations: [],
  notices: [],
  fix: null, // the latest geolocation position
  queuedFixAt: 0,
  photos: [], // the job's photos as the server lists them
};

// -- outbox ------------------------------------------------------------------------------

const outbox = new Outbox({
  api,
  vanId,
  blobs: new PhotoBlobs(),
  uploadPhoto,
  storageKey: `rescue.tablet.outbox.${vanId}`,
  onChange: () => {
    renderOutbox();
    renderJob();
    renderChats();
    renderPhotos();
  },
  onSent: (item, result) => {
    if (item.type === "step" && item.action === "diagnose") refreshStock();
    if (item.type === "photo" && item.incident_id === state.job?.incident_id) loadPhotos();
    if (item.type === "step" && result && state.job && result.incident_id === state.job.incident_id) {
      Object.assign(state.job, result);
      if (item.action === "decline" || result.status === "completed") state.job = null;
      renderJob();
      renderPhotos();
    }
  },
  onRefused: (item, error) => {
    if (item.type === "step") {
      notice("refused", t("notice.refused", { step: t(`step.${item.action}`), reason: refusalText(error) }),
        { key: item.key, status: error.status });
      refreshJob(item.incident_id);
    } else if (item.type === "photo") {
      notice("refused", t("notice.refused", { step: photoLabel(item), reason: refusalText(error) }),
        { key: item.key, status: error.status });
    } else if (item.type === "message") {
      notice("refused", t("notice.refused", { step: `“${item.text}”`, reason: refusalText(error) }),
        { key: item.key, status: error.status });
    } else {
      notice("refused", t("notice.positions_refused", { reason: refusalText(error) }));
    }
  },
});
window.rescueTablet = { outbox, state };

function refusalText(error) {
  if (error instanceof ApiError) {
    if (error.fieldErrors.length) return error.fieldErrors.map((e) => e.msg).join("; ");
    return `${error.status} ${error.message}`;
  }
  return String(error);
}

function outboxLabel(item) {
  if (item.type === "step") return t(`step.${item.action}`);
  if (item.type === "message") return `${t("chat.title")}: ${item.text}`;
  if (item.type === "photo") return `${t("photo.title")}: ${photoLabel(item)}`;
  return t("outbox.positions", { n: item.reports.length });
}

function renderOutbox() {
  const items = outbox.items;
  $("#pending-count").textContent = String(items.length);
  $("#pending").replaceChildren(...items.map((item) => h("li", {
    dataset: { type: item.type, action: item.action || "", key: item.key },
  },
  outboxLabel(item),
  h("time", {}, ` ${clock(item.created_at)}`),
  item.attempts > 0 ? h("small", {}, ` · ${t("outbox.attempts", { n: item.attempts })}`) : null)));
  document.body.dataset.pending = String(items.length);
}

// -- notices: refused steps, cancelled or withdrawn jobs ------------------------------------

function notice(kind, text, extra = {}) {
  state.notices.unshift({ kind, text, at: new Date().toISOString(), ...extra });
  renderNotices();
}

function renderNotices() {
  $("#notices").replaceChildren(...state.notices.map((n, index) => h("div", {
    class: `notice notice-${n.kind}`, role: "alert", dataset: { kind: n.kind, status: n.status ?? "" },
  },
  h("time", {}, clock(n.at)), " ", h("span", {}, n.text),
  h("button", { type: "button", class: "dismiss", "aria-label": t("alerts.dismiss"),
                onclick: () => { state.notices.splice(index, 1); renderNotices(); } }, "×"))));
}

// -- the job -------------------------------------------------------------------------------

// The status the crew works from: the server's, moved on by steps still in the outbox.
function effectiveStatus() {
  const job = state.job;
  if (!job) return null;
  let status = job.status;
  for (const item of outbox.steps) {
    if (item.incident_id !== job.incident_id) continue;
    let next = AFTER_STEP[item.action];
    if (item.action === "resolve" && item.data.outcome === "towed") next = "towing";
    if (item.action === "decline") return "declined";
    if (next && (RANK[next] ?? -1) > (RANK[status] ?? -1)) status = next;
  }
  return status;
}

function pendingStep(action) {
  return outbox.steps.some((item) => item.incident_id === state.job?.incident_id && item.action === action);
}

function renderJob() {
  const job = state.job;
  const status = effectiveStatus();
  const card = $("#job-card");
  const showJob = job && status && !["declined", "completed", "cancelled", "closed"].includes(status);
  card.hidden = !showJob;
  $("#no-job").hidden = Boolean(showJob);
  if (!showJob) return;
  card.dataset.status = status;
  card.dataset.serverStatus = job.status;
  card.dataset.incidentId = job.incident_id;
  $("#job-status").textContent = t(`status.${status}`);
  $("#job-status").dataset.status = status;
  $("#job-title").textContent = `P${job.priority} · ${t(`fault.${job.fault?.category}`)}`;
  const caller = job.caller || {};
  $("#job-customer").replaceChildren(caller.name || "", " ",
    caller.phone ? h("a", { href: `tel:${caller.phone}`, class: "tel" }, caller.phone) : "");
  const v = job.vehicle || {};
  $("#job-vehicle").textContent = [v.model_series, v.plate, v.vin, v.odometer_km != null ? `${v.odometer_km} km` : null,
    v.sold_on ? `${t("intake.sold_on")} ${v.sold_on}` : null].filter(Boolean).join(" · ");
  const loc = job.location || {};
  $("#job-location").replaceChildren(
    loc.description ? `${loc.description} ` : "",
    h("a", { href: `geo:${loc.lat},${loc.lon}`, class: "geo", id: "nav-link" },
      `${t("tablet.navigate")} (${Number(loc.lat).toFixed(5)}, ${Number(loc.lon).toFixed(5)})`));
  const notes = [job.fault?.description, loc.description, reasons(job.priority_reasons)].filter(Boolean);
  $("#job-notes").textContent = notes.join(" · ");
  for (const step of $$(".step")) {
    const wanted = step.dataset.for;
    const resolved = job.resolution || pendingStep("resolve");
    step.hidden = !(wanted === status || (wanted === "complete" && (status === "towing" || (status === "on_scene" && resolved))));
  }
  $("#diagnosed-note").hidden = !(job.diagnosis || pendingStep("diagnose"));
  $("#resolved-note").hidden = !(job.resolution || pendingStep("resolve"));
  const eta = $("#accept-eta");
  if (status === "offered" && !eta.value && job.eta_min != null) eta.value = String(Math.max(1, Math.round(job.eta_min)));
  $("#tow-station").closest("label").hidden = $("#resolve-form").elements.outcome.value !== "towed";
  renderTimer();
}

function renderTimer() {
  const job = state.job;
  const out = $("#job-timer");
  if (!job) return;
  if (effectiveStatus() === "offered" && job.offer_expires_at) {
    const left = Date.parse(job.offer_expires_at) - Date.now();
    out.textContent = `${t("board.offer_left")} ${duration(Math.max(0, left))}`;
    out.classList.toggle("urgent", left < 20000);
  } else {
    out.textContent = job.eta_min ? `${t("rec.eta")} ${Math.round(job.eta_min)} min` : "";
    out.classList.remove("urgent");
  }
}
setInterval(renderTimer, 1000);

function setJob(job) {
  state.job = job;
  openJobChat(job);
  state.photos = [];
  renderPhotos();
  if (job) loadPhotos();
  $("#accept-eta").value = "";
  renderJob();
  if (job) fillTowStations(job);
}

async function refreshJob(incidentId) {
  try {
    const job = await api.get(`/api/incidents/${encodeURIComponent(incidentId)}`);
    if (job.van_id !== vanId || ["cancelled", "closed", "completed"].includes(job.status)) {
      if (state.job?.incident_id === incidentId) setJob(null);
    } else {
      setJob(job);
    }
  } catch (error) {
    if (error instanceof ApiError && (error.status === 403 || error.status === 404)) {
      if (state.job?.incident_id === incidentId) setJob(null);
    }
  }
}

// -- messages with the desk: about the job, and the van's own ------------------------------

function crewConversation(path, title, quick) {
  return new Conversation({
    api, path, side: "crew", title, quick,
    send: (text) => { outbox.addMessage(path, text); },
    pending: () => outbox.items.filter((item) => item.type === "message" && item.path === path).map((item) => item.text),
  });
}

const chats = {
  van: crewConversation(`/api/vans/${encodeURIComponent(vanId)}/messages`, () => t("chat.van_title"), []),
  job: null,
};
$("#van-chat").replaceChildren(chats.van.element);
chats.van.load();

function openJobChat(job) {
  const path = job ? `/api/incidents/${encodeURIComponent(job.incident_id)}/messages` : null;
  if (chats.job?.path === path) return;
  chats.job = path ? crewConversation(path, () => t("chat.title"), QUICK_REPLIES) : null;
  $("#job-chat").replaceChildren(chats.job ? chats.job.element : "");
  chats.job?.load();
}

function renderChats() {
  chats.van.render();
  chats.job?.render();
}

// -- photos of the job ----------------------------------------------------------------------------

async function loadPhotos() {
  const incidentId = state.job?.incident_id;
  if (!incidentId) return;
  try {
    const photos = await api.get(`/api/incidents/${encodeURIComponent(incidentId)}/photos`);
    if (state.job?.incident_id === incidentId) state.photos = photos;
  } catch {
    // offline: the list comes back with the network
  }
  renderPhotos();
}

function renderPhotos() {
  const job = state.job;
  if (!job) return;
  const queued = outbox.items.filter((item) => item.type === "photo" && item.incident_id === job.incident_id);
  $("#photo-list").replaceChildren(
    ...(state.photos || []).map((photo) => photoItem(api, job.incident_id, photo)),
    ...queued.map((item) => h("li", { class: "photo photo-pending", dataset: { kind: item.kind, key: item.key } },
      h("span", {}, photoLabel(item)), " ", h("small", {}, t("photo.pending")))));
  // Parts replaced (as diagnosed) that no photo shows yet: the claim will want one.
  const shown = new Set([...(state.photos || []), ...queued].filter((p) => p.kind === "part").map((p) => p.part_no));
  const missing = (job.diagnosis?.parts || []).map((part) => part.part_no).filter((no) => no && !shown.has(no));
  const requests = $("#photo-requests");
  requests.hidden = missing.length === 0;
  requests.textContent = missing.length ? t("photo.missing_parts", { parts: missing.join(", ") }) : "";
  $("#photo-part-field").hidden = $("#photo-kind").value !== "part";
}

$("#photo-kind").addEventListener("change", renderPhotos);
$("#photo-file").addEventListener("change", async (event) => {
  const input = event.target;
  const file = input.files?.[0];
  if (!file || !state.job) return;
  const kind = $("#photo-kind").value;
  const partNo = $("#photo-part").value.trim();
  const slot = $('[data-error-for="photo-part"]');
  slot.textContent = "";
  if (kind === "part" && !partNo) {
    slot.textContent = t("photo.part_needed");
    $("#photo-part").focus();
    input.value = "";
    return;
  }
  await outbox.addPhoto(state.job.incident_id, file, kind, partNo);
  input.value = "";
  renderPhotos();
});

// -- the crew feed -----------------------------------------------------------------------------

let socket = null;
let socketDelay = 500;
function setFeedState(value) {
  const badge = $("#feed-state");
  badge.dataset.state = value;
  badge.dataset.i18n = `feed.${value}`;
  badge.textContent = t(`feed.${value}`);
}

function connect() {
  if (socket) return;
  setFeedState("connecting");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws/crew`);
  socket = ws;
  ws.addEventListener("open", () => ws.send(JSON.stringify({ token: api.token })));
  ws.addEventListener("message", (event) => {
    socketDelay = 500;
    setFeedState("live");
    const message = JSON.parse(event.data);
    // A batch carries the changes that queued up while the previous frame was sent.
    for (const one of message.type === "batch" ? message.changes : [message]) onCrewMessage(one);
  });
  ws.addEventListener("close", (event) => {
    if (socket === ws) socket = null;
    if (event.code === 4401 || event.code === 4403) {
      setFeedState("refused");
      sessionStorage.removeItem("rescue.tablet.token");
      return;
    }
    setFeedState(navigator.onLine === false ? "offline" : "reconnecting");
    setTimeout(connect, socketDelay);
    socketDelay = Math.min(socketDelay * 2, 8000);
  });
}

function onCrewMessage(message) {
  if (message.type === "snapshot") {
    state.van = message.van;
    setJob(message.job);
    // Messages sent while the feed was down are not replayed: read the conversations again.
    chats.van.load();
    chats.job?.load();
    return;
  }
  if (message.type !== "change") return;
  const changes = message.changes || {};
  if (message.kind === "van" && message.id === vanId) {
    chats.van.receive(changes);
    state.van = { ...(state.van || {}), ...changes };
    if (changes.incident_id && changes.incident_id !== state.job?.incident_id) refreshJob(changes.incident_id);
    return;
  }
  if (message.kind !== "incident") return;
  const job = state.job;
  if (!job || job.incident_id !== message.id) {
    if (message.event === "Offered" && changes.van_id === vanId) refreshJob(message.id);
    return;
  }
  chats.job?.receive(changes);
  for (const field of ["status", "van_id", "eta_min", "offer_expires_at"]) {
    if (field in changes) job[field] = changes[field];
  }
  if ("outcome" in changes) job.resolution = { outcome: changes.outcome, tow_station_id: changes.tow_station_id };
  if ("cause" in changes) job.diagnosis = { ...(job.diagnosis || {}), cause: changes.cause };
  if (changes.status === "cancelled") {
    notice("cancelled", t("notice.cancelled"));
    setJob(null);
  } else if ("van_id" in changes && changes.van_id !== vanId) {
    notice("withdrawn", t(message.event === "OfferExpired" ? "notice.expired" : "notice.withdrawn"));
    setJob(null);
  } else {
    renderJob();
  }
}

// -- steps --------------------------------------------------------------------------------------

function step(action, data = {}) {
  if (!state.job) return;
  outbox.addStep(state.job.incident_id, action, data);
  renderJob();
}

$("#do-accept").addEventListener("click", () => {
  const eta = Number($("#accept-eta").value);
  if (!(eta > 0)) {
    $("#accept-eta").setAttribute("aria-invalid", "true");
    $("#accept-eta").focus();
    return;
  }
  $("#accept-eta").removeAttribute("aria-invalid");
  step("accept", { eta_min: eta });
});
$("#do-decline").addEventListener("click", () => {
  const reason = [$("#decline-reason").value, $("#decline-text").value.trim()].filter(Boolean).join(": ");
  if (!reason) {
    $("#decline-reason").setAttribute("aria-invalid", "true");
    $("#decline-reason").focus();
    return;
  }
  step("decline", { reason });
});
$("#do-depart").addEventListener("click", () => step("depart"));
$("#do-arrive").addEventListener("click", () => step("arrive"));

function addPart(picked = null) {
  const row = h("tr", {},
    h("td", {}, h("input", { name: "part_no", class: "mono", "aria-label": t("part.no"), value: picked?.part_no })),
    h("td", {}, h("input", { name: "name", "aria-label": t("part.name"), value: picked?.name })),
    h("td", {}, h("select", { name: "system", "aria-label": t("part.system") },
      h("option", { value: "engine" }, t("part.engine")), h("option", { value: "other" }, t("part.other")))),
    h("td", {}, h("input", { name: "qty", type: "number", min: "1", value: "1", class: "short", "aria-label": t("part.qty") })),
    h("td", {}, h("input", { name: "original", type: "checkbox", checked: true, "aria-label": t("part.original") })),
    h("td", {}, h("input", { name: "from_van", type: "checkbox", checked: Boolean(picked), "aria-label": t("part.from_van") })),
    h("td", {}, h("button", { type: "button", class: "dismiss", "aria-label": t("part.remove"),
                              onclick: () => row.remove() }, "×")));
  $("#parts").appendChild(row);
}
$("#add-part").addEventListener("click", () => addPart());

// The van's own stock, to pick fitted parts from; fetched again after each diagnosis.
async function refreshStock() {
  try {
    renderStock($("#van-stock"), await loadStock(api, vanId), { onPick: (line) => addPart(line) });
  } catch {
    // offline: the list shown last stays
  }
}
refreshStock();

function renderFindings() {
  const checked = new Set($$("#findings input:checked").map((input) => input.value));
  $("#findings").replaceChildren(...FINDINGS.map((code) => h("label", {},
    h("input", { type: "checkbox", value: code, checked: checked.has(code) }), " ", t(`finding.${code}`))));
}

$("#diagnose-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  clearFieldErrors(form);
  const cause = form.elements.cause.value.trim();
  if (!cause) {
    form.querySelector('[data-error-for="cause"]').textContent = t("tablet.cause_needed");
    form.elements.cause.focus();
    return;
  }
  const parts = $$("#parts tr").map((row) => ({
    part_no: row.querySelector("[name=part_no]").value.trim(),
    name: row.querySelector("[name=name]").value.trim(),
    system: row.querySelector("[name=system]").value,
    qty: Number(row.querySelector("[name=qty]").value || 1),
    original: row.querySelector("[name=original]").checked,
    from_van: row.querySelector("[name=from_van]").checked,
  })).filter((part) => part.part_no || part.name);
  const findings = $$("#findings input:checked").map((input) => input.value);
  step("diagnose", { cause, parts, findings });
});

$("#resolve-form").addEventListener("change", renderJob);
$("#resolve-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  const outcome = form.elements.outcome.value;
  const data = { outcome };
  if (outcome === "towed") data.tow_station_id = form.elements.tow_station_id.value;
  step("resolve", data);
});

$("#complete-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  const satisfaction = form.elements.satisfaction.value;
  step("complete", { customer_signed: form.elements.customer_signed.checked,
                     satisfaction: satisfaction ? Number(satisfaction) : null });
});

async function fillTowStations(job) {
  if (!state.stations.length) {
    try {
      state.stations = await api.get("/api/stations");
    } catch {
      return;
    }
  }
  const lat = job.location?.lat ?? 0;
  const lon = job.location?.lon ?? 0;
  const near = state.stations
    .map((s) => ({ s, d: Math.hypot(s.lat - lat, (s.lon - lon) * Math.cos((lat * Math.PI) / 180)) * 111 }))
    .filter(({ s }) => s.capabilities.includes("repair") || s.tier !== "town_station")
    .sort((a, b) => a.d - b.d)
    .slice(0, 15);
  $("#tow-station").replaceChildren(...near.map(({ s, d }) =>
    h("option", { value: s.station_id }, `${s.name} (${s.station_id}) · ${d.toFixed(0)} km`)));
}

// -- GPS ------------------------------------------------------------------------------------------

const params = new URLSearchParams(location.search);
const rateInput = $("#gps-rate");
rateInput.value = params.get("rate") || localStorage.getItem("rescue.tablet.rate") || String(config.position_interval_s);
rateInput.addEventListener("change", () => {
  localStorage.setItem("rescue.tablet.rate", rateInput.value);
  restartGpsTimer();
});

function gpsState(text, kind = "") {
  const out = $("#gps-state");
  out.textContent = text;
  out.dataset.kind = kind;
}

function report(position) {
  const c = position.coords;
  const speed = c.speed === null || Number.isNaN(c.speed) ? null : Math.min(400, c.speed * 3.6);
  const heading = c.heading === null || Number.isNaN(c.heading) ? null : c.heading % 360;
  return {
    lat: Math.round(c.latitude * 1e6) / 1e6,
    lon: Math.round(c.longitude * 1e6) / 1e6,
    recorded_at: new Date(position.timestamp).toISOString(),
    speed_kmh: speed,
    heading,
    accuracy_m: c.accuracy === null || Number.isNaN(c.accuracy) ? null : Math.min(100000, c.accuracy),
  };
}

function queueFix() {
  if (!$("#gps-on").checked || !state.fix) return;
  if (state.fix.timestamp <= state.queuedFixAt) return;
  state.queuedFixAt = state.fix.timestamp;
  outbox.addPosition(report(state.fix));
}

let gpsTimer = null;
function restartGpsTimer() {
  clearInterval(gpsTimer);
  const seconds = Math.max(1, Number(rateInput.value) || 10);
  gpsTimer = setInterval(() => {
    queueFix();
    // A fix that has not changed for a while: ask for a fresh one, so the server
    // keeps a recent position (dispatch trusts a fix only for so long).
    if (state.fix && Date.now() - state.fix.timestamp > 60000 && navigator.geolocation) {
      navigator.geolocation.getCurrentPosition(onFix, () => {}, { maximumAge: 0, timeout: 20000 });
    }
  }, seconds * 1000);
}

function onFix(position) {
  const first = state.fix === null;
  state.fix = position;
  const c = position.coords;
  gpsState(`${c.latitude.toFixed(5)}, ${c.longitude.toFixed(5)} ±${Math.round(c.accuracy || 0)} m · ${clock(new Date(position.timestamp).toISOString())}`, "fix");
  if (first) queueFix();
}

if (!navigator.geolocation) {
  gpsState(t(window.isSecureContext ? "gps.unavailable" : "gps.needs_https"), "error");
} else {
  navigator.geolocation.watchPosition(onFix, (error) => gpsState(`${t("gps.error")}: ${error.message}`, "error"),
    { enableHighAccuracy: true, maximumAge: 0 });
  restartGpsTimer();
}

// -- network ---------------------------------------------------------------------------------------

function renderNet() {
  const online = navigator.onLine !== false;
  const badge = $("#net-state");
  badge.dataset.state = online ? "online" : "offline";
  badge.dataset.i18n = online ? "net.online" : "net.offline";
  badge.textContent = t(badge.dataset.i18n);
}
window.addEventListener("online", () => {
  renderNet();
  outbox.flush();
  if (!socket) connect();
});
window.addEventListener("offline", renderNet);
$("#send-now").addEventListener("click", () => outbox.flush());

renderNet();
renderFindings();
renderOutbox();
renderJob();
connect();
outbox.flush();

onLangChange(() => {
  renderChats();
  renderPhotos();
  renderFindings();
  renderOutbox();
  renderNotices();
  renderJob();
  renderNet();
});

document.body.dataset.ready = "true";
