// A van's recorded trail on a RescueMap: the line it drove, its fixes coloured by the
// recorded speed, and the stops longer than a few minutes, from GET /api/vans/{id}/track.

import { addWords, t } from "./i18n.js";
import { project } from "./map.js";
import { clock, duration, stamp } from "./timefmt.js";

const SVG = "http://www.w3.org/2000/svg";

addWords({
  zh: {
    "trail.title": "行驶轨迹", "trail.none": "该时段没有记录的 GPS 点",
    "trail.summary": "{van}：{shown} / {fixes} 个点{thinned}，{stops} 次停留",
    "trail.thinned": "（已抽稀）", "trail.stop": "停留 {duration}（{from}–{to}）",
    "trail.speed": "{speed} km/h", "trail.no_speed": "无速度", "trail.show": "显示轨迹",
    "trail.clear": "清除轨迹", "trail.period": "时段",
    "trail.h1": "最近 1 小时", "trail.h4": "最近 4 小时", "trail.h12": "最近 12 小时", "trail.h24": "最近 24 小时",
    "trail.error": "无法读取轨迹",
  },
  en: {
    "trail.title": "Trail", "trail.none": "No GPS fixes recorded in this period",
    "trail.summary": "{van}: {shown} of {fixes} fixes{thinned}, {stops} stops",
    "trail.thinned": " (thinned)", "trail.stop": "Stopped {duration} ({from}–{to})",
    "trail.speed": "{speed} km/h", "trail.no_speed": "no speed", "trail.show": "Show trail",
    "trail.clear": "Clear trail", "trail.period": "Period",
    "trail.h1": "last hour", "trail.h4": "last 4 hours", "trail.h12": "last 12 hours", "trail.h24": "last 24 hours",
    "trail.error": "Could not read the trail",
  },
});

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  parent.appendChild(node);
  return node;
}

// Speed bands for the fixes' colour: standing, town, road, expressway.
export function speedBand(kmh) {
  if (kmh === null || kmh === undefined) return "unknown";
  if (kmh < 5) return "stand";
  if (kmh < 40) return "slow";
  if (kmh < 80) return "road";
  return "fast";
}

export class TrailLayer {
  constructor(map) {
    this.map = map;
    // Under the vans and incidents, over the land.
    this.layer = document.createElementNS(SVG, "g");
    this.layer.setAttribute("class", "layer-trail");
    map.svg.insertBefore(this.layer, map.layers.stations);
    this.trail = null;
  }

  clear() {
    this.layer.replaceChildren();
    this.trail = null;
  }

  // Draws a FeatureCollection from the track route; `fit` frames the map on it.
  draw(trail, { fit = true } = {}) {
    this.clear();
    this.trail = trail;
    this.layer.dataset.vanId = trail.van_id;
    const features = trail.features || [];
    const line = features.find((f) => f.properties.kind === "trail");
    if (line) {
      const d = line.geometry.coordinates.map(([lon, lat], i) => {
        const [x, y] = project(lat, lon);
        return `${i ? "L" : "M"}${x.toFixed(5)},${y.toFixed(5)}`;
      }).join("");
      el("path", { d, class: "trail-line" }, this.layer);
    }
    for (const fix of features.filter((f) => f.properties.kind === "fix")) {
      const [lon, lat] = fix.geometry.coordinates;
      const [x, y] = project(lat, lon);
      const p = fix.properties;
      const node = el("circle", { cx: x, cy: y, class: `trail-fix speed-${speedBand(p.speed_kmh)}` }, this.layer);
      node.dataset.at = p.at;
      node.dataset.speed = p.speed_kmh ?? "";
      el("title", {}, node).textContent = `${stamp(p.at)} · ${p.speed_kmh != null
        ? t("trail.speed", { speed: Math.round(p.speed_kmh) }) : t("trail.no_speed")}`;
    }
    for (const stop of features.filter((f) => f.properties.kind === "stop")) {
      const [lon, lat] = stop.geometry.coordinates;
      const [x, y] = project(lat, lon);
      const p = stop.properties;
      const node = el("circle", { cx: x, cy: y, class: "trail-stop" }, this.layer);
      node.dataset.from = p.from;
      node.dataset.durationS = String(p.duration_s);
      el("title", {}, node).textContent = t("trail.stop", {
        duration: duration(p.duration_s * 1000), from: clock(p.from), to: clock(p.to),
      });
    }
    if (fit && features.length) {
      const points = features.filter((f) => f.geometry.type === "Point").map((f) => f.geometry.coordinates);
      const lats = points.map(([, lat]) => lat);
      const lons = points.map(([lon]) => lon);
      const pad = 0.01;
      this.map.fitBounds(Math.min(...lats) - pad, Math.min(...lons) - pad, Math.max(...lats) + pad, Math.max(...lons) + pad);
    }
    return this.summary();
  }

  summary() {
    const trail = this.trail;
    if (!trail) return "";
    if (!trail.fixes) return `${trail.van_id}: ${t("trail.none")}`;
    return t("trail.summary", {
      van: trail.van_id, shown: trail.shown, fixes: trail.fixes, stops: trail.stops,
      thinned: trail.thinned ? t("trail.thinned") : "",
    });
  }
}

export async function loadTrail(api, vanId, from, to) {
  const query = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
  return api.get(`/api/vans/${encodeURIComponent(vanId)}/track?${query}`);
}

// The console's control: pick a van (list or map), pick a period, see its trail.
export function attachTrailPanel({ api, map, container }) {
  const layer = new TrailLayer(map);
  let vanId = null;
  const hours = [1, 4, 12, 24];
  const select = document.createElement("select");
  select.name = "trail-hours";
  const title = document.createElement("strong");
  const show = document.createElement("button");
  show.type = "button";
  show.className = "trail-show";
  const clearButton = document.createElement("button");
  clearButton.type = "button";
  clearButton.className = "trail-clear";
  const out = document.createElement("span");
  out.className = "trail-summary hint";
  out.setAttribute("role", "status");
  container.replaceChildren(title, select, show, clearButton, out);

  function words() {
    title.textContent = `${t("trail.title")} ${vanId || ""}`;
    select.replaceChildren(...hours.map((h) => {
      const option = document.createElement("option");
      option.value = String(h);
      option.textContent = t(`trail.h${h}`);
      return option;
    }));
    select.value = String(container.dataset.hours || 1);
    select.setAttribute("aria-label", t("trail.period"));
    show.textContent = t("trail.show");
    clearButton.textContent = t("trail.clear");
    out.textContent = layer.summary();
  }

  async function draw() {
    if (!vanId) return;
    container.dataset.state = "loading";
    const to = new Date();
    const from = new Date(to.getTime() - Number(select.value) * 3600 * 1000);
    try {
      const trail = await loadTrail(api, vanId, from, to);
      if (trail.van_id !== vanId) return;
      out.textContent = layer.draw(trail);
      container.dataset.state = "drawn";
      container.dataset.fixes = String(trail.fixes);
    } catch (failure) {
      container.dataset.state = "error";
      out.textContent = `${t("trail.error")}: ${failure.message}`;
    }
  }

  select.addEventListener("change", () => {
    container.dataset.hours = select.value;
    draw();
  });
  show.addEventListener("click", draw);
  clearButton.addEventListener("click", () => {
    layer.clear();
    out.textContent = "";
    container.dataset.state = "cleared";
  });
  words();
  return {
    show(id) {
      vanId = id;
      container.hidden = false;
      container.dataset.vanId = id;
      words();
      return draw();
    },
    relabel: words,
  };
}

// From an incident's history: the van that accepted the job and the span from its
// acceptance to the job's end (or now, for a job still open); null if no van accepted.
export function incidentSpan(events, now = new Date()) {
  let offeredTo = null;
  let span = null;
  for (const event of events) {
    if (event.type === "Offered") offeredTo = event.data?.van_id || null;
    else if (event.type === "Accepted" && offeredTo) span = { vanId: offeredTo, from: new Date(event.at), to: null };
    else if (span && !span.to && ["Completed", "Cancelled", "Closed"].includes(event.type)) span.to = new Date(event.at);
  }
  if (!span) return null;
  span.to ||= now;
  // The route serves at most a week at once.
  const week = 7 * 24 * 3600 * 1000;
  if (span.to - span.from > week) span.to = new Date(span.from.getTime() + week);
  if (span.to <= span.from) span.to = new Date(span.from.getTime() + 1000);
  return span;
}
