// The operator's console: call intake, recommendations and dispatch, the live board,
// the live map and the alerts.

import { ApiError, loadConfig, newKey } from "./api.js";
import { Board, BoardFeed, OPEN_STATUSES } from "./board.js";
import { Conversation } from "./chat.js";
import { $, $$, clearFieldErrors, h, showFieldErrors } from "./dom.js";
import { getLang, initLang, onLangChange, reasons, t, toggleLang } from "./i18n.js";
import { RescueMap } from "./map.js";
import { signIn } from "./signin.js";
import { clock, duration, since } from "./timefmt.js";
import { attachTrailPanel } from "./trail.js";
import { TrackingLinks } from "./tracking_panel.js";
import { attachCustomerRecord } from "./customer_record.js";
import { loadStock, renderStock } from "./vanstock.js";
import { showDueList } from "./maintenance.js";

const MAX_ALERTS = 100;

const config = await loadConfig();
initLang();
const { api } = await signIn({ roles: ["operator"], storageKey: "rescue.console.token" });

const board = new Board();
const trackingLinks = new TrackingLinks(api, () => renderDetail());
const map = new RescueMap($("#map"), { tileUrl: config.tile_url, label: t("map.title"), lang: getLang });
const form = $("#intake");
attachCustomerRecord(api, form, {
  faultWord: (category) => t(`fault.${category}`),
  statusWord: (status) => t(`status.${status}`),
});
const state = {
  current: null, // the incident just reported: {incident_id, recommendations, ...}
  intakeKey: newKey(),
  selected: null,
  alerts: [],
  warned: new Set(), // incidents already alerted for waiting too long unoffered
  rows: new Map(),
  chats: { incident: null, van: null }, // the open conversations with crews
};

// -- the feed ---------------------------------------------------------------------------

const feed = new BoardFeed({
  token: api.token,
  board,
  onState: (value) => {
    const badge = $("#feed-state");
    badge.dataset.state = value;
    badge.dataset.i18n = `feed.${value}`;
    badge.textContent = t(`feed.${value}`);
  },
  onSnapshot: (snapshot) => {
    // Alerts raised before this console opened are still on their incidents.
    if (!state.seenSnapshot) {
      state.seenSnapshot = true;
      for (const incident of board.openIncidents()) {
        for (const text of incident.alerts || []) addAlert("Alert", incident, text, snapshot.at || null);
      }
    }
    map.setStations(board.stations.values());
    map.clearVans();
    for (const van of board.vans.values()) map.upsertVan(van, board.vanPoint(van));
    map.clearIncidents();
    for (const incident of board.openIncidents()) map.upsertIncident(incident, incidentLabel(incident));
    renderBoard();
    renderVans();
    renderOverrideVans();
  },
  onChange: (message, doc) => {
    if (message.kind === "van") {
      map.upsertVan(doc, board.vanPoint(doc));
      if (message.event === "SosRaised") addSosAlert(message, doc);
      if (message.event === "MessageSent" || message.event === "MessageRead") onVanMessage(message, doc);
      scheduleVans();
    } else if (message.kind === "station") {
      map.setStations(board.stations.values());
    } else if (message.kind === "incident") {
      if (OPEN_STATUSES.has(doc.status)) map.upsertIncident(doc, incidentLabel(doc));
      else map.removeIncident(doc.incident_id);
      alertsFrom(message, doc);
      if (message.event === "MessageSent" || message.event === "MessageRead") onIncidentMessage(message, doc);
      if (state.current && state.current.incident_id === doc.incident_id) renderDispatchResult(doc);
      if (state.selected === doc.incident_id) renderDetail();
      scheduleBoard();
    }
  },
  onAuthFailed: () => {
    sessionStorage.removeItem("rescue.console.token");
    location.reload();
  },
});
feed.start();
window.rescueConsole = { board, feed, map, api };

let boardPending = false;
function scheduleBoard() {
  if (boardPending) return;
  boardPending = true;
  requestAnimationFrame(() => {
    boardPending = false;
    renderBoard();
  });
}

let vansPending = false;
function scheduleVans() {
  if (vansPending) return;
  vansPending = true;
  setTimeout(() => {
    vansPending = false;
    renderVans();
  }, 250);
}

// -- alerts -----------------------------------------------------------------------------

function alertsFrom(message, doc) {
  for (const text of message.changes.alerts || []) {
    addAlert(message.event, doc, text, message.at);
  }
  if (message.changes.status === "queued") addAlert("Queued", doc, t("alert.queued_text"), message.at);
}

function addAlert(kind, incident, text, at) {
  state.alerts.unshift({ kind, incident_id: incident.incident_id, text, at: at || new Date().toISOString() });
  state.alerts.length = Math.min(state.alerts.length, MAX_ALERTS);
  renderAlerts();
}

// An SOS from a van's tracker app: it names the van, and the van's job if it holds one.
function addSosAlert(message, van) {
  const sos = message.changes.sos || {};
  state.alerts.unshift({
    kind: "SosRaised", incident_id: van.incident_id || "", van_id: van.van_id,
    text: t("alert.sos_text", { van: van.call_sign || van.van_id }), at: sos.at || message.at,
  });
  state.alerts.length = Math.min(state.alerts.length, MAX_ALERTS);
  renderAlerts();
}

function renderAlerts() {
  const list = $("#alerts");
  list.replaceChildren(...state.alerts.map((alert, index) => h("li", {
    class: `alert alert-${alert.kind}`, dataset: { kind: alert.kind, incidentId: alert.incident_id },
  },
  h("time", {}, clock(alert.at)),
  h("strong", {}, t(`alert.${alert.kind}`)),
  h("span", { class: "alert-text" }, alert.text),
  alert.incident_id
    ? h("button", { type: "button", class: "link", onclick: () => select(alert.incident_id) },
      alert.incident_id.slice(0, 8))
    : h("span", { class: "alert-van" }, alert.van_id || ""),
  h("button", { type: "button", class: "dismiss", "aria-label": t("alerts.dismiss"),
                onclick: () => { state.alerts.splice(index, 1); renderAlerts(); } }, "×"))));
  $("#alert-count").textContent = String(state.alerts.length);
}

// -- the incident board ------------------------------------------------------------------

function incidentLabel(incident) {
  return `P${incident.priority} ${t(`fault.${incident.category}`)} · ${t(`status.${incident.status}`)}` +
    (incident.place ? ` · ${incident.place}` : "");
}

function vanName(vanId) {
  if (!vanId) return "";
  const van = board.vans.get(vanId);
  return van && van.call_sign ? `${van.call_sign} (${vanId})` : vanId;
}

function timers(incident, now) {
  const sla = config.sla || { unoffered_warn_s: 300, offer_warn_s: 20 };
  const sinceReport = since(incident.reported_at, now);
  const flags = [];
  let timer = "";
  if (incident.status === "reported" || incident.status === "queued") {
    timer = t("board.unoffered");
    if (sinceReport > sla.unoffered_warn_s * 1000) flags.push("warn-unoffered");
  } else if (incident.status === "offered" && incident.offer_expires_at) {
    const left = Date.parse(incident.offer_expires_at) - now;
    timer = `${t("board.offer_left")} ${duration(Math.max(left, 0))}`;
    if (left < sla.offer_warn_s * 1000) flags.push("warn-expiring");
    if (incident.offered_at) timer += ` (${duration(since(incident.offered_at, now))})`;
  } else if ((incident.status === "accepted" || incident.status === "en_route") && incident.accepted_at) {
    const due = Date.parse(incident.accepted_at) + (incident.eta_min || 0) * 60000;
    const left = due - now;
    timer = left >= 0 ? `${t("board.eta_in")} ${duration(left)}` : `${t("board.late")} ${duration(-left)}`;
    if (left < 0) flags.push("warn-late");
  } else if (incident.arrived_at) {
    timer = `${t("board.on_scene_for")} ${duration(since(incident.arrived_at, now))}`;
  }
  if ((incident.alerts || []).length) flags.push("has-alerts");
  return { sinceReport: duration(sinceReport ?? 0), timer, flags };
}

function renderBoard() {
  const now = Date.now();
  const open = board.openIncidents().sort((a, b) =>
    (a.priority - b.priority) || String(a.reported_at).localeCompare(String(b.reported_at)));
  const body = $("#incidents");
  const keep = new Set(open.map((i) => i.incident_id));
  for (const [id, row] of state.rows) {
    if (!keep.has(id)) {
      row.remove();
      state.rows.delete(id);
    }
  }
  let previous = null;
  for (const incident of open) {
    let row = state.rows.get(incident.incident_id);
    if (!row) {
      row = h("tr", { tabindex: "0", dataset: { incidentId: incident.incident_id },
                      onclick: () => select(incident.incident_id),
                      onkeydown: (event) => { if (event.key === "Enter") select(incident.incident_id); } },
      ...Array.from({ length: 7 }, () => h("td")));
      state.rows.set(incident.incident_id, row);
    }
    const { sinceReport, timer, flags } = timers(incident, now);
    const cells = row.children;
    cells[0].textContent = `P${incident.priority}`;
    cells[1].textContent = t(`status.${incident.status}`);
    cells[2].textContent = t(`fault.${incident.category}`);
    cells[3].textContent = incident.place || `${incident.lat?.toFixed(3)}, ${incident.lon?.toFixed(3)}`;
    cells[4].textContent = vanName(incident.van_id);
    cells[5].textContent = sinceReport;
    cells[6].textContent = timer;
    row.dataset.status = incident.status;
    row.className = [`p${incident.priority}`, ...flags,
      state.selected === incident.incident_id ? "selected" : ""].join(" ").trim();
    if (flags.includes("warn-unoffered") && !state.warned.has(incident.incident_id)) {
      state.warned.add(incident.incident_id);
      addAlert("Unoffered", incident, t("alert.unoffered_text"), null);
    }
    const expected = previous ? previous.nextSibling : body.firstChild;
    if (expected !== row) body.insertBefore(row, expected);
    previous = row;
  }
  $("#incident-count").textContent = String(open.length);
}
setInterval(renderBoard, 1000);

// -- the selected incident ---------------------------------------------------------------

async function select(incidentId) {
  state.selected = incidentId;
  map.highlight("incident", incidentId);
  const incident = board.incidents.get(incidentId);
  if (incident) map.centerOn(incident.lat, incident.lon, 4);
  renderBoard();
  renderDetail();
  try {
    state.selectedDetails = await api.get(`/api/incidents/${incidentId}`);
    if (state.selected === incidentId) renderDetail();
  } catch {
    // the board document is enough to show
  }
}

function renderDetail() {
  const box = $("#detail");
  const incident = board.incidents.get(state.selected);
  if (!incident) {
    box.hidden = true;
    return;
  }
  const details = state.selectedDetails?.incident_id === incident.incident_id ? state.selectedDetails : null;
  box.hidden = false;
  const rows = [
    [t("detail.id"), incident.incident_id],
    [t("board.status"), t(`status.${incident.status}`)],
    [t("board.priority"), `P${incident.priority} ${reasons(incident.priority_reasons)}`],
    [t("board.fault"), `${t(`fault.${incident.category}`)}${details?.fault?.description ? ` — ${details.fault.description}` : ""}`],
    [t("board.place"), `${incident.place || ""} (${incident.lat}, ${incident.lon})`],
    [t("detail.vehicle"), `${incident.model_series || ""} ${incident.vin || ""} ${incident.plate || ""}`],
    [t("detail.caller"), details?.caller ? `${details.caller.name} ${details.caller.phone}` : ""],
    [t("board.van"), vanName(incident.van_id)],
    [t("rec.eta"), incident.eta_min ? `${Math.round(incident.eta_min)} min` : ""],
    [t("alerts.title"), (incident.alerts || []).join("; ")],
  ];
  const actions = [];
  if (incident.status === "reported" || incident.status === "queued") {
    actions.push(h("button", { type: "button", class: "primary", onclick: () => dispatch(incident.incident_id) },
      t("rec.dispatch")));
  }
  if (OPEN_STATUSES.has(incident.status)) {
    const reason = h("input", { "aria-label": t("detail.cancel_reason"), placeholder: t("detail.cancel_reason") });
    actions.push(reason, h("button", { type: "button", onclick: async () => {
      try {
        await api.post(`/api/incidents/${incident.incident_id}/cancel`, { reason: reason.value.trim() }, { key: newKey() });
      } catch (error) {
        box.querySelector(".detail-error").textContent = errorText(error);
      }
    } }, t("detail.cancel")));
  }
  box.replaceChildren(
    h("h2", {}, t("detail.title")),
    h("dl", {}, rows.filter(([, v]) => v).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("div", { class: "actions" }, actions),
    trackingLinks.row(incident),
    h("p", { class: "detail-error", role: "alert" }),
    incidentConversation(incident.incident_id).element,
  );
  state.chats.incident?.markRead();
}

function errorText(error) {
  if (error instanceof ApiError) {
    if (error.fieldErrors.length) return error.fieldErrors.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ");
    return `${error.status}: ${error.message}`;
  }
  return t("error.network");
}

// -- the vans list ------------------------------------------------------------------------

function renderVans() {
  const filter = $("#van-filter").value.trim().toLowerCase();
  let vans = [...board.vans.values()];
  vans = filter
    ? vans.filter((v) => [v.van_id, v.call_sign, v.station_id, v.status, t(`van.${v.status}`)]
      .some((field) => String(field || "").toLowerCase().includes(filter)))
    : vans.filter((v) => v.status === "offered" || v.status === "busy" || v.lat !== null);
  vans.sort((a, b) => a.van_id.localeCompare(b.van_id));
  $("#van-list").replaceChildren(...vans.slice(0, 60).map((van) => {
    const point = board.vanPoint(van);
    return h("tr", { dataset: { vanId: van.van_id, status: van.status, lat: point?.lat ?? "", lon: point?.lon ?? "" },
                     tabindex: "0", onclick: () => focusVan(van.van_id),
                     onkeydown: (event) => { if (event.key === "Enter") focusVan(van.van_id); } },
    h("td", {}, h("i", { class: `dot van-${van.status}` })),
    h("td", {}, van.call_sign || ""),
    h("td", { class: "mono" }, van.van_id),
    h("td", {}, t(`van.${van.status}`)),
    h("td", { class: "mono" }, point && !point.home ? `${point.lat.toFixed(4)}, ${point.lon.toFixed(4)}` : t("vans.home")));
  }));
}
$("#van-filter").addEventListener("input", scheduleVans);

function focusVan(vanId) {
  openVanConversation(vanId);
  const van = board.vans.get(vanId);
  const point = van && board.vanPoint(van);
  if (point) map.centerOn(point.lat, point.lon, 2);
  map.highlight("van", vanId);
  trail.show(vanId);
}

const trail = attachTrailPanel({ api, map, container: $("#van-trail") });

map.on("select", (kind, id) => {
  if (kind === "incident") select(id);
  else if (kind === "van") {
    openVanConversation(id);
    $("#van-filter").value = id;
    renderVans();
    map.highlight("van", id);
    trail.show(id);
  } else if (kind === "station") {
    $("#van-filter").value = id;
    renderVans();
  }
});

// -- messages with the crews ------------------------------------------------------------------

function operatorConversation(path, title) {
  return new Conversation({
    api, path, side: "operator", title,
    send: (text) => api.post(path, { text }, { key: newKey() }),
  });
}

// The selected incident's conversation, kept while it stays selected (and its draft with it).
function incidentConversation(incidentId) {
  const path = `/api/incidents/${encodeURIComponent(incidentId)}/messages`;
  if (state.chats.incident?.path !== path) {
    state.chats.incident = operatorConversation(path, () => t("chat.title"));
    state.chats.incident.load();
  }
  return state.chats.incident;
}

function openVanConversation(vanId) {
  const path = `/api/vans/${encodeURIComponent(vanId)}/messages`;
  if (state.chats.van?.path !== path) {
    state.chats.van = operatorConversation(path, () => `${t("chat.van_title")} · ${vanName(vanId)}`);
    state.chats.van.load();
  }
  const box = $("#van-chat");
  box.hidden = false;
  box.replaceChildren(state.chats.van.element);
  state.chats.van.markRead();
}

function onIncidentMessage(message, doc) {
  const sent = message.changes.message;
  if (sent && sent.from === "crew") addAlert("Message", doc, `${vanName(sent.van_id)}: ${sent.text}`, message.at);
  if (state.chats.incident?.path === `/api/incidents/${encodeURIComponent(doc.incident_id)}/messages`) {
    state.chats.incident.receive(message.changes);
  }
}

function onVanMessage(message, van) {
  const sent = message.changes.message;
  if (sent && sent.from === "crew") {
    state.alerts.unshift({ kind: "Message", incident_id: "", van_id: van.van_id,
                           text: `${vanName(van.van_id)}: ${sent.text}`, at: message.at });
    state.alerts.length = Math.min(state.alerts.length, MAX_ALERTS);
    renderAlerts();
  }
  if (state.chats.van?.path === `/api/vans/${encodeURIComponent(van.van_id)}/messages`) {
    state.chats.van.receive(message.changes);
  }
}

// -- intake ---------------------------------------------------------------------------------

function value(name) {
  return form.elements[name].value.trim();
}

function number(name) {
  const text = value(name);
  return text === "" ? null : Number(text);
}

function intakeBody() {
  return {
    caller: { name: value("caller.name"), phone: value("caller.phone") },
    vehicle: {
      vin: value("vehicle.vin").toUpperCase(),
      plate: value("vehicle.plate") || null,
      model_series: value("vehicle.model_series"),
      odometer_km: number("vehicle.odometer_km"),
      sold_on: value("vehicle.sold_on") || null,
    },
    location: {
      lat: number("location.lat"),
      lon: number("location.lon"),
      description: value("location.description") || null,
    },
    fault: { category: value("fault.category"), description: value("fault.description") || null },
    safety: {
      on_expressway: form.elements["safety.on_expressway"].checked,
      at_night: form.elements["safety.at_night"].checked,
      passengers: number("safety.passengers") ?? 0,
      injury: form.elements["safety.injury"].checked,
      vulnerable: form.elements["safety.vulnerable"].checked,
    },
  };
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  clearFieldErrors(form);
  $("#intake-error").textContent = "";
  try {
    const reported = await api.post("/api/incidents", intakeBody(), { key: state.intakeKey });
    state.intakeKey = newKey();
    showRecommendations(reported);
  } catch (error) {
    if (error instanceof ApiError && error.status === 422) {
      showFieldErrors(form, error.fieldErrors, $("#intake-error"));
    } else {
      $("#intake-error").textContent = errorText(error);
    }
  } finally {
    submit.disabled = false;
  }
});

function resetIntake() {
  form.reset();
  clearFieldErrors(form);
  $("#intake-error").textContent = "";
  $("#recommendation").hidden = true;
  state.current = null;
  state.intakeKey = newKey();
  map.setPick(null, null);
  $("#place-results").replaceChildren();
  $("#caller-name").focus();
}
$("#intake-reset").addEventListener("click", resetIntake);

function showRecommendations(reported) {
  state.current = reported;
  const panel = $("#recommendation");
  panel.hidden = false;
  panel.dataset.incidentId = reported.incident_id;
  $(".rec-summary", panel).textContent = `${t("rec.incident")} ${reported.incident_id} · P${reported.priority}` +
    ` · ${t(`capability.${reported.capability}`)}` +
    (reported.priority_reasons?.length ? ` · ${reasons(reported.priority_reasons)}` : "");
  const recs = reported.recommendations || [];
  $(".recs tbody", panel).replaceChildren(...recs.map((rec, index) => {
    const station = board.stations.get(rec.station_id);
    return h("tr", { dataset: { vanId: rec.van_id } },
      h("td", {}, h("input", { type: "radio", name: "rec-choice", value: rec.van_id, checked: index === 0,
                               "aria-label": rec.van_id,
                               onchange: () => { $("#override-van").value = rec.van_id; } })),
      h("td", {}, vanName(rec.van_id)),
      h("td", {}, station ? station.name : rec.station_id),
      h("td", {}, `${rec.distance_km.toFixed(1)} km`),
      h("td", {}, `${Math.round(rec.eta_min)} min`),
      h("td", { class: "carries", title: (rec.likely_parts || []).join(", ") },
        rec.likely_parts?.length ? (rec.carries_parts ? "✓" : "–") : "",
        rec.maintenance_due ? h("span", { class: "service-due", title: t("upkeep.past_due") }, " ⚠") : null));
  }));
  $(".rec-none", panel).hidden = recs.length > 0;
  $(".dispatch-result", panel).textContent = "";
  $("#dispatch-nearest").disabled = false;
  clearFieldErrors(panel);
  $("#dispatch-nearest").focus();
}

function renderOverrideVans() {
  $("#override-vans").replaceChildren(...[...board.vans.values()]
    .filter((v) => v.status === "available")
    .slice(0, 500)
    .map((v) => h("option", { value: v.van_id }, `${v.call_sign || ""} ${v.station_id}`)));
}

async function dispatch(incidentId, vanId = null, reason = null) {
  const panel = $("#recommendation");
  clearFieldErrors(panel);
  const body = vanId ? { van_id: vanId, reason: reason || null } : {};
  try {
    const result = await api.post(`/api/incidents/${incidentId}/dispatch`, body, { key: newKey() });
    if (state.current && state.current.incident_id === incidentId) renderDispatchResult(result);
    return result;
  } catch (error) {
    if (error instanceof ApiError && error.status === 422) {
      showFieldErrors(panel, error.fieldErrors, $(".dispatch-result", panel));
    } else {
      $(".dispatch-result", panel).textContent = errorText(error);
      if (state.selected === incidentId) $("#detail .detail-error").textContent = errorText(error);
    }
    return null;
  }
}

function renderDispatchResult(incident) {
  const out = $("#recommendation .dispatch-result");
  out.dataset.status = incident.status;
  if (incident.status === "queued") out.textContent = t("rec.queued");
  else if (incident.van_id) {
    out.textContent = `${t(`status.${incident.status}`)} → ${vanName(incident.van_id)}` +
      (incident.eta_min ? ` · ${t("rec.eta")} ${Math.round(incident.eta_min)} min` : "");
  } else out.textContent = t(`status.${incident.status}`);
}

$("#dispatch-nearest").addEventListener("click", async (event) => {
  if (!state.current) return;
  event.target.disabled = true;
  const result = await dispatch(state.current.incident_id);
  if (!result) event.target.disabled = false;
});
$("#dispatch-override").addEventListener("click", () => {
  if (!state.current) return;
  dispatch(state.current.incident_id, $("#override-van").value.trim(), $("#override-reason").value.trim());
});

// -- location: map, coordinates, place search --------------------------------------------------

function setLocation(lat, lon, description = null) {
  form.elements["location.lat"].value = lat;
  form.elements["location.lon"].value = lon;
  if (description && !value("location.description")) form.elements["location.description"].value = description;
  map.setPick(lat, lon);
}

map.on("pick", (lat, lon) => setLocation(lat, lon));
for (const name of ["location.lat", "location.lon"]) {
  form.elements[name].addEventListener("change", () => map.setPick(number("location.lat"), number("location.lon")));
}

let placeTimer = null;
$("#place-q").addEventListener("input", () => {
  clearTimeout(placeTimer);
  placeTimer = setTimeout(searchPlaces, 200);
});
$("#place-q").addEventListener("keydown", (event) => {
  if (event.key === "Enter") {
    event.preventDefault(); // choose a place, don't submit the call
    const first = $("#place-results button");
    if (first) first.click();
    else searchPlaces();
  } else if (event.key === "ArrowDown") {
    const first = $("#place-results button");
    if (first) {
      event.preventDefault();
      first.focus();
    }
  }
});

async function searchPlaces() {
  const q = $("#place-q").value.trim();
  const list = $("#place-results");
  if (!q) {
    list.replaceChildren();
    return;
  }
  let places = [];
  try {
    places = await api.get(`/api/places?q=${encodeURIComponent(q)}&limit=8`);
  } catch {
    places = [];
  }
  list.replaceChildren(...places.map((place) => h("li", { role: "option" },
    h("button", { type: "button", class: "place", dataset: { lat: place.lat, lon: place.lon },
                  onclick: () => {
                    const name = getLang() === "zh" ? place.name_zh : place.name;
                    setLocation(place.lat, place.lon, name);
                    map.centerOn(place.lat, place.lon, 2);
                    list.replaceChildren();
                    form.elements["location.description"].focus();
                  },
                  onkeydown: (event) => {
                    const sibling = event.key === "ArrowDown" ? event.target.parentNode.nextSibling
                      : event.key === "ArrowUp" ? event.target.parentNode.previousSibling : null;
                    if (sibling) {
                      event.preventDefault();
                      sibling.firstChild.focus();
                    }
                  } },
    `${place.name_zh} ${place.name}`, h("small", {}, ` ${place.province} · ${place.lat.toFixed(3)}, ${place.lon.toFixed(3)}`)))));
}

// -- keyboard ------------------------------------------------------------------------------------

function toggleHelp(show) {
  const help = $("#help");
  help.hidden = show === undefined ? !help.hidden : !show;
  $("#help-button").setAttribute("aria-expanded", String(!help.hidden));
}
$("#help-button").addEventListener("click", () => toggleHelp());

document.addEventListener("keydown", (event) => {
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName);
  if (event.altKey && !event.ctrlKey && !event.metaKey) {
    const action = {
      KeyN: resetIntake,
      KeyD: () => {
        const id = state.current?.incident_id || state.selected;
        if (id) dispatch(id);
      },
      KeyO: () => {
        $("#override").open = true;
        $("#override-van").focus();
      },
      KeyP: () => $("#place-q").focus(),
      KeyB: () => ($("#incidents tr") || $("#incidents")).focus(),
      KeyM: () => map.svg.focus(),
      KeyA: () => ($("#alerts button") || $("#alerts")).focus(),
      KeyL: toggleLang,
    }[event.code];
    if (action) {
      event.preventDefault();
      action();
    }
    return;
  }
  if (event.key === "Escape") toggleHelp(false);
  else if (event.key === "?" && !typing) toggleHelp();
  else if (event.key === "Enter" && event.ctrlKey && typing && form.contains(event.target)) form.requestSubmit();
});

onLangChange(() => {
  map.relabel();
  trail.relabel();
  renderBoard();
  renderAlerts();
  renderVans();
  renderDetail();
});

document.body.dataset.ready = "true";

// -- a van's parts ------------------------------------------------------------------------
// Choosing a van in the list shows what it carries.
async function showVanStock(vanId) {
  $("#van-stock-panel").hidden = false;
  $("#van-stock-van").textContent = vanName(vanId);
  try {
    renderStock($("#van-stock"), await loadStock(api, vanId));
  } catch (error) {
    $("#van-stock").textContent = errorText(error);
  }
}
$("#van-list").addEventListener("click", (event) => {
  const row = event.target.closest("tr[data-van-id]");
  if (row) showVanStock(row.dataset.vanId);
});

// Vans due for their own service, refreshed every few minutes.
showDueList(api);
setInterval(() => showDueList(api), 300_000);
