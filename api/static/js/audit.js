// The auditor's page: find an incident, replay it event by event, see it (and the whole
// board) as it stood at any moment, why its van was chosen, its claim; export the record.

import { ApiError, loadConfig } from "./api.js";
import { vanStatus } from "./board.js";
import { $, download, h } from "./dom.js";
import { getLang, initLang, onLangChange, reasons, t } from "./i18n.js";
import { RescueMap } from "./map.js";
import { showScorecards } from "./scorecards.js";
import { photoItem, photoLabel, thumbnail } from "./photos.js";
import { signIn } from "./signin.js";
import { stamp } from "./timefmt.js";
import { incidentSpan, loadTrail, TrailLayer } from "./trail.js";
import { showPartsPlan } from "./partsplan.js";

const config = await loadConfig();
initLang();
const { api } = await signIn({ roles: ["auditor", "operator"], storageKey: "rescue.audit.token" });

const state = {
  incidentId: null,
  history: null, // the full history (events, state now)
  then: null, // the history as of the slider's moment
  board: null, // the board as of the slider's moment, if the server has /api/board
  boardAvailable: true,
  stations: null,
  claim: null,
  asOfMs: null,
};
let map = null;
let trailLayer = null;
window.rescueAudit = { state };

// -- search ------------------------------------------------------------------------------

function localDayIso(date, endOfDay) {
  if (!date) return null;
  const [y, m, d] = date.split("-").map(Number);
  const moment = endOfDay ? new Date(y, m - 1, d, 23, 59, 59, 999) : new Date(y, m - 1, d);
  return moment.toISOString();
}

$("#search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const error = $("#search-error");
  error.textContent = "";
  const id = form.elements.id.value.trim();
  if (id) {
    openIncident(id);
    return;
  }
  const query = new URLSearchParams();
  for (const name of ["vin", "plate", "station"]) {
    const value = form.elements[name].value.trim();
    if (value) query.set(name, value);
  }
  const from = localDayIso(form.elements.from.value, false);
  const to = localDayIso(form.elements.to.value, true);
  if (from) query.set("from", from);
  if (to) query.set("to", to);
  try {
    renderResults(await api.get(`/api/incidents/search?${query}`));
  } catch (failure) {
    error.textContent = failure instanceof ApiError ? `${failure.status}: ${failure.message}` : t("error.network");
  }
});

function renderResults(found) {
  $("#results").replaceChildren(...found.map((incident) => h("tr", {
    tabindex: "0", dataset: { incidentId: incident.incident_id },
    onclick: () => openIncident(incident.incident_id),
    onkeydown: (event) => { if (event.key === "Enter") openIncident(incident.incident_id); },
  },
  h("td", {}, stamp(incident.reported_at)),
  h("td", {}, t(`status.${incident.status}`)),
  h("td", {}, t(`fault.${incident.category}`)),
  h("td", { class: "mono" }, incident.vin || ""),
  h("td", {}, incident.plate || ""),
  h("td", { class: "mono" }, incident.van_id || ""),
  h("td", { class: "mono" }, incident.incident_id))));
  if (!found.length) $("#results").replaceChildren(h("tr", {}, h("td", { colspan: "7" }, t("audit.none"))));
}

$("#verify").addEventListener("click", async () => {
  const out = $("#verify-result");
  out.textContent = "…";
  try {
    const result = await api.get("/api/audit/verify");
    out.textContent = JSON.stringify(result);
    out.dataset.ok = String(Boolean(result.ok ?? result.intact ?? !result.first_bad));
  } catch (failure) {
    out.textContent = failure instanceof ApiError ? `${failure.status}: ${failure.message}` : t("error.network");
  }
});

// -- one incident ---------------------------------------------------------------------------

async function openIncident(incidentId) {
  let history;
  try {
    history = await api.get(`/api/incidents/${encodeURIComponent(incidentId)}/history`);
  } catch (failure) {
    $("#search-error").textContent = failure instanceof ApiError && failure.status === 404
      ? t("audit.not_found") : failure instanceof ApiError ? `${failure.status}: ${failure.message}` : t("error.network");
    return;
  }
  state.incidentId = incidentId;
  state.history = history;
  $("#incident").hidden = false;
  $("#incident").dataset.incidentId = incidentId;
  $("#incident-id").textContent = incidentId;
  const times = history.events.map((e) => Date.parse(e.at));
  const slider = $("#as-of");
  slider.min = String(Math.min(...times));
  slider.max = String(Math.max(Math.max(...times) + 1000, Date.now()));
  if (!map) {
    map = new RescueMap($("#audit-map"), { tileUrl: config.tile_url, label: t("audit.board"), lang: getLang });
  }
  const first = history.events[0]?.data?.location;
  if (first) map.centerOn(first.lat, first.lon, 8);
  drawTrail();
  renderTimeline();
  renderDecisions();
  loadClaim();
  setMoment(Number(slider.max));
}

// The trail of the van that took the job, from its acceptance to the end of the job.
async function drawTrail() {
  trailLayer ||= new TrailLayer(map);
  trailLayer.clear();
  const out = $("#trail-summary");
  out.textContent = "";
  const span = incidentSpan(state.history.events);
  if (!span) return;
  const incidentId = state.incidentId;
  try {
    const trail = await loadTrail(api, span.vanId, span.from, span.to);
    if (state.incidentId !== incidentId) return;
    out.textContent = trailLayer.draw(trail);
    out.dataset.vanId = span.vanId;
    out.dataset.fixes = String(trail.fixes);
  } catch (failure) {
    out.textContent = `${t("trail.error")}: ${failure.message}`;
  }
}

function eventMs(event) {
  // Event times have microseconds; the first millisecond after the event includes it.
  return Date.parse(event.at) + 1;
}

let momentTimer = null;
function setMoment(ms, { immediate = true } = {}) {
  const slider = $("#as-of");
  slider.value = String(ms);
  state.asOfMs = Number(slider.value);
  $("#as-of-label").textContent = stamp(new Date(state.asOfMs).toISOString());
  markTimeline();
  clearTimeout(momentTimer);
  momentTimer = setTimeout(loadMoment, immediate ? 0 : 250);
}

$("#as-of").addEventListener("input", (event) => setMoment(Number(event.target.value), { immediate: false }));
$("#prev-event").addEventListener("click", () => {
  const earlier = state.history.events.map(eventMs).filter((ms) => ms < state.asOfMs);
  if (earlier.length) setMoment(earlier[earlier.length - 1]);
});
$("#next-event").addEventListener("click", () => {
  const later = state.history.events.map(eventMs).filter((ms) => ms > state.asOfMs);
  if (later.length) setMoment(later[0]);
});
$("#latest").addEventListener("click", () => setMoment(Number($("#as-of").max)));

async function loadMoment() {
  const ms = state.asOfMs;
  const asOf = new Date(ms).toISOString();
  const incidentId = state.incidentId;
  try {
    const then = await api.get(`/api/incidents/${encodeURIComponent(incidentId)}/history?as_of=${encodeURIComponent(asOf)}`);
    if (state.asOfMs !== ms || state.incidentId !== incidentId) return;
    state.then = then;
    renderState();
  } catch (failure) {
    $("#state").replaceChildren(h("dd", {}, failure.message));
  }
  if (state.boardAvailable) loadBoard(ms, asOf);
}

async function loadBoard(ms, asOf) {
  try {
    if (!state.stations) state.stations = await api.get("/api/stations");
    const board = await api.get(`/api/board?as_of=${encodeURIComponent(asOf)}`);
    if (state.asOfMs !== ms) return;
    state.board = board;
    renderBoard();
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 404) {
      state.boardAvailable = false;
      $("#board-summary").textContent = t("audit.no_board");
    }
  }
}

// -- rendering ---------------------------------------------------------------------------------

function actorText(actor) {
  if (!actor) return "";
  return [t(`role.${actor.role}`), actor.name, actor.van_id].filter(Boolean).join(" · ");
}

function summary(event) {
  const d = event.data || {};
  switch (event.type) {
    case "Reported":
      return `${t(`fault.${d.fault?.category}`)} · ${d.vehicle?.model_series || ""} ${d.vehicle?.vin || ""} · ` +
        `${d.location?.description || ""} (${d.location?.lat}, ${d.location?.lon}) · P${d.priority}`;
    case "Offered":
      return `→ ${d.van_id} (${d.station_id}) · ${d.distance_km != null ? `${Number(d.distance_km).toFixed(1)} km` : ""}` +
        ` · ${t(`mode.${d.decision?.mode}`)}${d.decision?.reason ? ` · ${d.decision.reason}` : ""}`;
    case "Accepted":
      return `${t("rec.eta")} ${d.eta_min} min`;
    case "Declined":
      return `${d.van_id}: ${d.reason}`;
    case "Diagnosed":
      return `${d.cause}${d.findings?.length ? ` · ${d.findings.map((f) => t(`finding.${f}`)).join(", ")}` : ""}`;
    case "Resolved":
      return `${t(`outcome.${d.outcome}`)}${d.tow_station_id ? ` → ${d.tow_station_id}` : ""}`;
    case "Completed":
      return `${t(d.customer_signed ? "audit.signed" : "audit.not_signed")} · ${d.satisfaction ?? ""}`;
    case "Cancelled":
      return d.reason || "";
    case "MessageSent":
      return `“${d.text}”`;
    case "MessageRead":
      return d.message_id ? d.message_id.slice(0, 8) : "";
    case "PhotoAttached":
      return [photoLabel(d), `${d.content_type} ${d.bytes} B`, `SHA-256 ${d.sha256}`,
        d.taken_at ? `${t("photo.taken_at")} ${d.taken_at}` : "",
        d.gps ? `GPS ${d.gps.lat}, ${d.gps.lon}` : ""].filter(Boolean).join(" · ");
    default:
      return Object.entries(d).filter(([, v]) => typeof v !== "object").map(([k, v]) => `${k}: ${v}`).join(" · ");
  }
}

function renderTimeline() {
  $("#timeline").replaceChildren(...state.history.events.map((event) => h("li", {
    tabindex: "0", dataset: { type: event.type, atMs: String(eventMs(event)), version: String(event.version) },
    onclick: () => setMoment(eventMs(event)),
    onkeydown: (e) => { if (e.key === "Enter") setMoment(eventMs(event)); },
  },
  h("time", {}, stamp(event.at)),
  h("strong", {}, t(`event.${event.type}`)),
  h("span", { class: "actor" }, actorText(event.actor)),
  h("span", { class: "summary" }, summary(event)),
  event.type === "PhotoAttached" && event.data?.photo_id
    ? thumbnail(api, `/api/incidents/${encodeURIComponent(state.incidentId)}/photos/${event.data.photo_id}`,
      photoLabel(event.data))
    : null)));
}

function markTimeline() {
  for (const item of $("#timeline").children) {
    item.classList.toggle("future", Number(item.dataset.atMs) > state.asOfMs);
  }
}

function renderState() {
  const s = state.then?.state;
  const box = $("#state");
  box.dataset.status = s ? s.status : "none";
  box.dataset.vanId = s?.van_id || "";
  if (!s) {
    box.replaceChildren(h("dd", {}, t("audit.not_yet")));
    return;
  }
  const rows = [
    [t("board.status"), t(`status.${s.status}`), "status"],
    [t("board.van"), s.van_id || t("audit.no_van"), "van"],
    [t("audit.station"), s.station_id || "—", "station"],
    [t("board.priority"), `P${s.priority} ${reasons(s.priority_reasons)}`, "priority"],
    [t("board.fault"), `${t(`fault.${s.fault?.category}`)} ${s.fault?.description || ""}`, "fault"],
    [t("detail.vehicle"), `${s.vehicle?.model_series || ""} ${s.vehicle?.vin || ""} ${s.vehicle?.plate || ""} ${s.vehicle?.odometer_km ?? ""} km`, "vehicle"],
    [t("intake.location"), `${s.location?.description || ""} (${s.location?.lat}, ${s.location?.lon})`, "location"],
    [t("detail.caller"), s.caller ? `${s.caller.name} ${s.caller.phone}` : "", "caller"],
    [t("rec.eta"), s.eta_min != null ? `${Math.round(s.eta_min)} min` : "", "eta"],
    [t("tablet.diagnose"), s.diagnosis ? s.diagnosis.cause : "", "diagnosis"],
    [t("tablet.resolve"), s.resolution ? t(`outcome.${s.resolution.outcome}`) : "", "resolution"],
    [t("tablet.complete"), s.completion ? `${t(s.completion.customer_signed ? "audit.signed" : "audit.not_signed")} ${s.completion.satisfaction ?? ""}` : "", "completion"],
    [t("audit.cancel_reason"), s.cancel_reason || "", "cancel"],
  ];
  box.replaceChildren(...rows.filter(([, v]) => v).flatMap(([k, v, key]) =>
    [h("dt", {}, k), h("dd", { dataset: { field: key } }, v)]));
  if (s.last_dispatch) box.append(h("dt", {}, t("audit.decision_then")), h("dd", {}, decisionTable(s.last_dispatch)));
}

function renderBoard() {
  const board = state.board;
  if (!board || !map) return;
  const stations = new Map((state.stations || []).map((s) => [s.station_id, s]));
  if (!map.stationsDrawn) {
    map.setStations(stations.values());
    map.stationsDrawn = true;
  }
  map.clearVans();
  map.clearIncidents();
  for (const van of board.vans) {
    van.status ||= vanStatus(van);
    const home = stations.get(van.station_id);
    const point = van.lat != null ? { lat: van.lat, lon: van.lon, home: false }
      : home ? { lat: home.lat, lon: home.lon, home: true } : null;
    map.upsertVan(van, point);
  }
  for (const incident of board.incidents) map.upsertIncident(incident);
  map.highlight("incident", state.incidentId);
  const busy = board.vans.filter((v) => v.status === "busy" || v.status === "offered").length;
  $("#board-summary").textContent = t("audit.board_summary", {
    incidents: board.incidents.length, vans: board.vans.length, busy, at: stamp(board.as_of),
  });
  const mine = board.incidents.find((i) => i.incident_id === state.incidentId);
  $("#board-then-title").dataset.incidentStatus = mine ? mine.status : "";
}

function decisionTable(decision) {
  const candidates = decision.candidates || [];
  return h("div", { class: "decision" },
    h("p", {}, [
      `${t("audit.mode")}: ${t(`mode.${decision.mode}`)}`,
      decision.chosen_van_id ? ` · ${t("audit.chosen")}: ${decision.chosen_van_id}` : "",
      decision.reason ? ` · ${t("audit.reason")}: ${decision.reason}` : "",
      decision.capability ? ` · ${t(`capability.${decision.capability}`)}` : "",
      decision.decided_at ? ` · ${stamp(decision.decided_at)}` : "",
    ].join("")),
    decision.params ? h("p", { class: "hint" }, Object.entries(decision.params).map(([k, v]) => `${k}=${v}`).join(" · ")) : null,
    partsNote(decision.parts),
    candidates.length
      ? h("table", { class: "candidates" },
        h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, t("rec.van")), h("th", {}, t("rec.station")),
          h("th", {}, t("rec.distance")), h("th", {}, t("rec.eta")), h("th", {}, t("audit.origin")),
          decision.parts ? h("th", {}, t("audit.carries_parts")) : null)),
        h("tbody", {}, candidates.map((c, i) => h("tr", { class: c.van_id === decision.chosen_van_id ? "chosen" : "" },
          h("td", {}, String(i + 1)), h("td", { class: "mono" }, c.van_id), h("td", { class: "mono" }, c.station_id),
          h("td", {}, `${Number(c.distance_km).toFixed(2)} km`), h("td", {}, `${Number(c.eta_min).toFixed(0)} min`),
          h("td", {}, t(`origin.${c.origin}`)),
          decision.parts ? h("td", { class: "carries" }, c.carries_parts ? "✓" : "–") : null))))
      : h("p", {}, t("audit.no_candidates")));
}

// The parts side of a dispatch decision: the likely parts, the margin, and why a carrying
// van went ahead of a nearer one.
function partsNote(parts) {
  if (!parts || !parts.likely_parts?.length) return null;
  return h("p", { class: "parts-note" },
    `${t("audit.likely_parts")}: ${parts.likely_parts.join(", ")} · ${t("audit.parts_margin")}: ${parts.margin_min} min`,
    parts.why ? h("span", { class: "why" }, ` · ${parts.why}`) : null);
}

function renderDecisions() {
  const decided = state.history.events.filter((e) => e.data?.decision);
  $("#decisions").replaceChildren(...decided.map((event) => h("article", { dataset: { version: String(event.version) } },
    h("h4", {}, `${t(`event.${event.type}`)} · ${stamp(event.at)} · ${actorText(event.actor)}`),
    decisionTable({ ...event.data.decision, chosen_van_id: event.data.decision.chosen_van_id || event.data.van_id }))));
  if (!decided.length) $("#decisions").replaceChildren(h("p", {}, t("audit.no_decision")));
}

async function loadClaim() {
  const box = $("#claim");
  box.replaceChildren(h("p", {}, "…"));
  try {
    state.claim = await api.get(`/api/incidents/${encodeURIComponent(state.incidentId)}/claim`);
    renderClaim();
  } catch (failure) {
    state.claim = null;
    box.dataset.available = "false";
    box.replaceChildren(h("p", { class: "hint" },
      failure instanceof ApiError && (failure.status === 404 || failure.status === 405)
        ? t("audit.no_claim") : `${t("audit.claim_error")}: ${failure.message}`));
  }
}

function renderClaim() {
  const claim = state.claim;
  const box = $("#claim");
  box.dataset.available = "true";
  box.dataset.decision = claim.decision || "";
  const form = claim.form || {};
  box.replaceChildren(
    h("p", { class: `claim-decision decision-${claim.decision}` },
      `${t(`decision.${claim.decision}`)} · ${t("audit.claim_status")}: ${claim.status || ""}` +
      (claim.scope ? ` · ${t("audit.scope")}: ${typeof claim.scope === "string" ? claim.scope : JSON.stringify(claim.scope)}` : "") +
      (claim.months_in_service != null ? ` · ${t("audit.months")}: ${claim.months_in_service}` : "") +
      (claim.odometer_km != null ? ` · ${claim.odometer_km} km` : "")),
    h("ul", { class: "reasons" }, (claim.reasons || []).map((reason) => h("li", {},
      typeof reason === "string" ? reason : `[${reason.rule ?? ""}] ${reason.text ?? reason.message ?? JSON.stringify(reason)}`))),
    h("table", { class: "claim-form" }, h("tbody", {}, formRows(form, ""))),
    evidenceSection(claim.evidence));
}

// The job's photos with their hashes, and the replaced parts no photo shows yet.
function evidenceSection(evidence) {
  if (!evidence) return null;
  return h("section", { class: "evidence", dataset: { missing: String(evidence.parts_without_photo.length) } },
    h("h4", {}, t("photo.evidence")),
    evidence.requests.length
      ? h("p", { class: "photo-requests" }, t("photo.missing_parts", { parts: evidence.parts_without_photo.join(", ") }))
      : null,
    evidence.photos.length
      ? h("ul", { class: "evidence-photos" }, evidence.photos.map((photo) => photoItem(api, state.incidentId, photo)))
      : h("p", { class: "hint" }, t("photo.none")));
}

// Each field of the form is {value, source}; a section (vehicle, failure) holds fields.
function formRows(form, prefix) {
  return Object.entries(form).flatMap(([field, entry]) => {
    const name = `${prefix}${field}`;
    const leaf = entry === null || typeof entry !== "object" || "value" in entry;
    if (!leaf) return formRows(entry, `${name}.`);
    return [h("tr", { dataset: { field: name } },
      h("th", {}, name),
      h("td", {}, fieldValue(entry)),
      h("td", { class: "hint" }, sourceText(entry?.source)))];
  });
}

function sourceText(source) {
  if (!source) return "";
  if (source.event) return `${source.event} v${source.version} ${stamp(source.at)}`;
  if (source.rule) return `${source.rule} ← ${(source.inputs || []).map(sourceText).join(", ")}`;
  return JSON.stringify(source);
}

function fieldValue(entry) {
  const value = entry && typeof entry === "object" && "value" in entry ? entry.value : entry;
  if (value === null || value === undefined) return "—";
  if (typeof value !== "object") return String(value);
  if (Array.isArray(value)) return value.length ? JSON.stringify(value) : "—";
  return Object.entries(value).filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && !v.length))
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(" · ");
}

// -- export --------------------------------------------------------------------------------------

$("#export").addEventListener("click", async () => {
  try {
    download(`incident-${state.incidentId}.json`, await api.get(`/api/incidents/${encodeURIComponent(state.incidentId)}/export`));
  } catch {
    download(`incident-${state.incidentId}-history.json`, state.history);
  }
});
$("#export-history").addEventListener("click", () => download(`incident-${state.incidentId}-history.json`, state.history));

const scorecards = showScorecards(api, $("#scorecards"), { onIncident: (id) => openIncident(id) });

onLangChange(() => {
  scorecards.relabel();
  if (!state.history) return;
  if (trailLayer?.trail) $("#trail-summary").textContent = trailLayer.summary();
  map?.relabel();
  renderTimeline();
  markTimeline();
  renderDecisions();
  renderState();
  renderBoard();
  if (state.claim) renderClaim();
});

const wanted = new URLSearchParams(location.search).get("incident");
if (wanted) openIncident(wanted);
document.body.dataset.ready = "true";

// The spare-parts plan and the fault statistics, below the incident.
showPartsPlan(api);
