// An SVG map that needs no internet: Web Mercator, China's provinces from the shipped
// basemap, the network's stations, vans coloured by status, incidents, a picked point.
// With a tile URL (RESCUE_TILE_URL) tiles are drawn underneath; by default there are none.
//
// Map units are Web Mercator pixels at zoom 0 (the world is 256 units wide); marker sizes
// follow the CSS variable --u (map units per screen pixel), so they keep their size on zoom.

const SVG = "http://www.w3.org/2000/svg";
const CHINA = { minLon: 73, maxLon: 135.5, minLat: 17.5, maxLat: 54 };

export function project(lat, lon) {
  const x = ((lon + 180) / 360) * 256;
  const s = Math.sin((Math.max(-85, Math.min(85, lat)) * Math.PI) / 180);
  const y = (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * 256;
  return [x, y];
}

export function unproject(x, y) {
  const lon = (x / 256) * 360 - 180;
  const n = Math.PI - (2 * Math.PI * y) / 256;
  const lat = (180 / Math.PI) * Math.atan(0.5 * (Math.exp(n) - Math.exp(-n)));
  return [lat, lon];
}

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

let basemapPromise = null;
function loadBasemap() {
  basemapPromise ||= fetch("/static/china-provinces.json").then((r) => r.json());
  return basemapPromise;
}

export class RescueMap {
  constructor(container, { tileUrl = null, label = "map", lang = () => "zh" } = {}) {
    this.container = container;
    this.tileUrl = tileUrl;
    this.lang = lang;
    this.listeners = { pick: [], select: [] };
    this.vanNodes = new Map();
    this.incidentNodes = new Map();
    this.stationNodes = new Map();
    container.classList.add("map-box");
    this.svg = el("svg", { class: "map", role: "img", "aria-label": label, tabindex: "0" });
    container.appendChild(this.svg);
    this.layers = {};
    for (const name of ["tiles", "land", "labels", "stations", "incidents", "vans", "pick"]) {
      this.layers[name] = el("g", { class: `layer-${name}` }, this.svg);
    }
    this.controls = document.createElement("div");
    this.controls.className = "map-controls";
    for (const [text, action, title] of [["+", () => this.zoom(1.6), "zoom in"],
                                         ["−", () => this.zoom(1 / 1.6), "zoom out"],
                                         ["⤢", () => this.fitChina(), "whole country"]]) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = text;
      button.title = title;
      button.addEventListener("click", action);
      this.controls.appendChild(button);
    }
    container.appendChild(this.controls);
    this.fitChina();
    this.bindPointer();
    new ResizeObserver(() => this.render()).observe(container);
    this.ready = loadBasemap().then((data) => this.drawBasemap(data)).catch(() => {});
  }

  on(event, handler) {
    this.listeners[event].push(handler);
  }

  emit(event, ...args) {
    for (const handler of this.listeners[event]) handler(...args);
  }

  // -- view -------------------------------------------------------------------

  fitBounds(minLat, minLon, maxLat, maxLon) {
    const [x0, y1] = project(minLat, minLon);
    const [x1, y0] = project(maxLat, maxLon);
    this.view = { x: x0, y: y0, w: Math.max(x1 - x0, 0.01), h: Math.max(y1 - y0, 0.01) };
    this.render();
  }

  fitChina() {
    this.fitBounds(CHINA.minLat, CHINA.minLon, CHINA.maxLat, CHINA.maxLon);
  }

  centerOn(lat, lon, spanDeg = 3) {
    this.fitBounds(lat - spanDeg / 2, lon - spanDeg / 2, lat + spanDeg / 2, lon + spanDeg / 2);
  }

  zoom(factor, cx = null, cy = null) {
    const v = this.view;
    const px = cx ?? v.x + v.w / 2;
    const py = cy ?? v.y + v.h / 2;
    const w = Math.min(Math.max(v.w / factor, 0.002), 256);
    const h = (v.h * w) / v.w;
    this.view = { x: px - ((px - v.x) * w) / v.w, y: py - ((py - v.y) * h) / v.h, w, h };
    this.render();
  }

  render() {
    const v = this.view;
    this.svg.setAttribute("viewBox", `${v.x} ${v.y} ${v.w} ${v.h}`);
    const box = this.svg.getBoundingClientRect();
    if (box.width > 0 && box.height > 0) {
      const unit = Math.max(v.w / box.width, v.h / box.height);
      this.unit = unit;
      this.svg.style.setProperty("--u", String(unit));
      this.svg.classList.toggle("zoomed", unit < 0.004);
    }
    if (this.tileUrl) this.drawTiles();
  }

  toMap(clientX, clientY) {
    const point = this.svg.createSVGPoint();
    point.x = clientX;
    point.y = clientY;
    const m = this.svg.getScreenCTM();
    if (!m) return [0, 0];
    const p = point.matrixTransform(m.inverse());
    return [p.x, p.y];
  }

  bindPointer() {
    let drag = null;
    this.svg.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      drag = { x: event.clientX, y: event.clientY, view: { ...this.view }, moved: false,
               target: event.target };
    });
    this.svg.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < 4) return;
      if (!drag.moved) this.svg.setPointerCapture(event.pointerId);
      drag.moved = true;
      this.view = { ...drag.view, x: drag.view.x - dx * this.unit, y: drag.view.y - dy * this.unit };
      this.render();
    });
    this.svg.addEventListener("pointerup", (event) => {
      const was = drag;
      drag = null;
      if (!was || was.moved) return;
      const marker = was.target.closest?.("[data-kind]");
      if (marker) {
        this.emit("select", marker.dataset.kind, marker.dataset.id);
        return;
      }
      const [x, y] = this.toMap(event.clientX, event.clientY);
      const [lat, lon] = unproject(x, y);
      this.emit("pick", Math.round(lat * 1e5) / 1e5, Math.round(lon * 1e5) / 1e5);
    });
    this.svg.addEventListener("wheel", (event) => {
      event.preventDefault();
      const [x, y] = this.toMap(event.clientX, event.clientY);
      this.zoom(event.deltaY < 0 ? 1.25 : 0.8, x, y);
    }, { passive: false });
    this.svg.addEventListener("keydown", (event) => {
      const step = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[event.key];
      if (step) {
        event.preventDefault();
        this.view = { ...this.view, x: this.view.x + step[0] * this.view.w * 0.1,
                      y: this.view.y + step[1] * this.view.h * 0.1 };
        this.render();
      } else if (event.key === "+" || event.key === "=") {
        this.zoom(1.6);
      } else if (event.key === "-") {
        this.zoom(1 / 1.6);
      } else if (event.key === "0") {
        this.fitChina();
      }
    });
  }

  // -- layers -----------------------------------------------------------------

  drawBasemap(data) {
    const land = this.layers.land;
    land.replaceChildren();
    this.labelNodes = [];
    for (const province of data.provinces) {
      let d = "";
      let best = null;
      for (const ring of province.rings) {
        let part = "";
        let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
        for (let i = 0; i < ring.length; i += 2) {
          const [x, y] = project(ring[i + 1], ring[i]);
          part += `${i === 0 ? "M" : "L"}${x.toFixed(4)},${y.toFixed(4)}`;
          minX = Math.min(minX, x); maxX = Math.max(maxX, x);
          minY = Math.min(minY, y); maxY = Math.max(maxY, y);
        }
        d += `${part}Z`;
        const area = (maxX - minX) * (maxY - minY);
        if (!best || area > best.area) best = { area, x: (minX + maxX) / 2, y: (minY + maxY) / 2 };
      }
      const path = el("path", { d, class: "province" }, land);
      el("title", {}, path).textContent = `${province.name_zh} ${province.name_en}`;
      if (best && best.area > 0.05) {
        const label = el("text", { x: best.x, y: best.y, class: "province-label" }, this.layers.labels);
        label.dataset.zh = province.name_zh;
        label.dataset.en = province.name_en;
        this.labelNodes.push(label);
      }
    }
    this.relabel();
  }

  relabel() {
    const lang = this.lang();
    for (const label of this.labelNodes || []) label.textContent = label.dataset[lang] || label.dataset.en;
  }

  drawTiles() {
    const v = this.view;
    const z = Math.max(0, Math.min(18, Math.round(Math.log2(1 / this.unit))));
    const span = 256 / 2 ** z;
    const max = 2 ** z - 1;
    const x0 = Math.max(0, Math.floor(v.x / span)), x1 = Math.min(max, Math.floor((v.x + v.w) / span));
    const y0 = Math.max(0, Math.floor(v.y / span)), y1 = Math.min(max, Math.floor((v.y + v.h) / span));
    const layer = this.layers.tiles;
    layer.replaceChildren();
    if ((x1 - x0 + 1) * (y1 - y0 + 1) > 80) return;
    for (let tx = x0; tx <= x1; tx++) {
      for (let ty = y0; ty <= y1; ty++) {
        const href = this.tileUrl.replace("{z}", z).replace("{x}", tx).replace("{y}", ty);
        el("image", { href, x: tx * span, y: ty * span, width: span, height: span }, layer);
      }
    }
  }

  setStations(stations) {
    const layer = this.layers.stations;
    layer.replaceChildren();
    this.stationNodes.clear();
    for (const s of stations) {
      const [x, y] = project(s.lat, s.lon);
      const node = el("rect", { x, y, class: `station tier-${s.tier}`, "data-kind": "station",
                                "data-id": s.station_id }, layer);
      el("title", {}, node).textContent = `${s.name} (${s.station_id})`;
      this.stationNodes.set(s.station_id, node);
    }
  }

  // point: {lat, lon, home}; status: available | offered | busy | off_duty
  upsertVan(van, point) {
    let node = this.vanNodes.get(van.van_id);
    if (!point) {
      if (node) node.remove();
      this.vanNodes.delete(van.van_id);
      return;
    }
    if (!node) {
      node = el("circle", { class: "van", "data-kind": "van", "data-id": van.van_id }, this.layers.vans);
      node.dataset.vanId = van.van_id;
      el("title", {}, node);
      this.vanNodes.set(van.van_id, node);
    }
    const [x, y] = project(point.lat, point.lon);
    node.setAttribute("cx", x);
    node.setAttribute("cy", y);
    node.dataset.lat = point.lat;
    node.dataset.lon = point.lon;
    node.dataset.status = van.status;
    node.dataset.home = point.home ? "true" : "false";
    node.setAttribute("class", `van van-${van.status}${point.home ? " at-home" : ""}`);
    node.firstChild.textContent = `${van.call_sign || ""} ${van.van_id} · ${van.status}`;
  }

  upsertIncident(incident, label = "") {
    let node = this.incidentNodes.get(incident.incident_id);
    if (!node) {
      node = el("circle", { class: "incident", "data-kind": "incident",
                            "data-id": incident.incident_id }, this.layers.incidents);
      el("title", {}, node);
      this.incidentNodes.set(incident.incident_id, node);
    }
    const [x, y] = project(incident.lat, incident.lon);
    node.setAttribute("cx", x);
    node.setAttribute("cy", y);
    node.dataset.status = incident.status;
    node.dataset.lat = incident.lat;
    node.dataset.lon = incident.lon;
    node.setAttribute("class", `incident incident-${incident.status} p${incident.priority}`);
    node.firstChild.textContent = label || `${incident.incident_id} · ${incident.status}`;
  }

  removeIncident(id) {
    const node = this.incidentNodes.get(id);
    if (node) node.remove();
    this.incidentNodes.delete(id);
  }

  clearIncidents() {
    for (const id of [...this.incidentNodes.keys()]) this.removeIncident(id);
  }

  clearVans() {
    this.layers.vans.replaceChildren();
    this.vanNodes.clear();
  }

  highlight(kind, id) {
    for (const node of this.svg.querySelectorAll("[data-highlight]")) delete node.dataset.highlight;
    const node = (kind === "van" ? this.vanNodes : this.incidentNodes).get(id);
    if (node) {
      node.dataset.highlight = "true";
      node.parentNode.appendChild(node);
    }
  }

  setPick(lat, lon) {
    const layer = this.layers.pick;
    layer.replaceChildren();
    if (lat === null || lon === null || Number.isNaN(lat) || Number.isNaN(lon)) return;
    const [x, y] = project(lat, lon);
    const node = el("circle", { cx: x, cy: y, class: "pick" }, layer);
    node.dataset.lat = lat;
    node.dataset.lon = lon;
  }
}
