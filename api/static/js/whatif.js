// A what-if result on the audit page: the whatif.json that `rescue whatif` writes, picked from
// disk (nothing is sent to the server), shown as a map of the stations coloured by how many
// more or fewer calls each reached within 30 minutes, and tables per province and per station.

import { $, h } from "./dom.js";
import { addWords, getLang, onLangChange, t } from "./i18n.js";
import { RescueMap } from "./map.js";

addWords({
  zh: {
    "wi.title": "规划：假设分析（rescue whatif）", "wi.pick": "选择 whatif.json",
    "wi.hint": "用 rescue whatif 生成的 whatif.json：记录的呼叫按改变后的网点重放。文件只在本页读取。",
    "wi.period": "{from} 至 {to}：{calls} 个呼叫；站点 {s0} → {s1}，车辆 {v0} → {v1}",
    "wi.province": "省份", "wi.calls": "呼叫", "wi.median": "接警→到场 中位数（分）", "wi.p90": "P90（分）",
    "wi.within30": "30 分钟内到场", "wi.within60": "60 分钟内到场", "wi.queued": "排队",
    "wi.overall": "合计", "wi.rec_rep": "记录 → 重放",
    "wi.stations_title": "得失最多的站点（30 分钟内到场的呼叫数）", "wi.station": "站点", "wi.name": "名称",
    "wi.change": "变化", "wi.reach": "30 分钟内到场", "wi.reach_change": "增减",
    "wi.change.kept": "保留", "wi.change.closed": "关闭", "wi.change.added": "新增",
    "wi.none_moved": "没有站点的到场数变化", "wi.bad_file": "不是 whatif.json：{why}",
    "wi.legend.gain": "多到达", "wi.legend.loss": "少到达", "wi.legend.same": "不变",
  },
  en: {
    "wi.title": "Planning: what-if (rescue whatif)", "wi.pick": "Pick whatif.json",
    "wi.hint": "A whatif.json written by rescue whatif: the recorded calls replayed against a changed network. The file is read in this page only.",
    "wi.period": "{from} to {to}: {calls} calls; stations {s0} → {s1}, vans {v0} → {v1}",
    "wi.province": "Province", "wi.calls": "Calls", "wi.median": "Answer→arrival median (min)", "wi.p90": "p90 (min)",
    "wi.within30": "Reached within 30 min", "wi.within60": "Reached within 60 min", "wi.queued": "Queued",
    "wi.overall": "All", "wi.rec_rep": "recorded → replayed",
    "wi.stations_title": "Stations that gained or lost most (calls reached within 30 min)", "wi.station": "Station",
    "wi.name": "Name", "wi.change": "Change", "wi.reach": "Reached within 30 min", "wi.reach_change": "Gain / loss",
    "wi.change.kept": "kept", "wi.change.closed": "closed", "wi.change.added": "added",
    "wi.none_moved": "No station reached more or fewer calls", "wi.bad_file": "Not a whatif.json: {why}",
    "wi.legend.gain": "reaches more", "wi.legend.loss": "reaches fewer", "wi.legend.same": "unchanged",
  },
});

const dash = "–";
const minutes = (value) => (value === null || value === undefined ? dash : Number(value).toFixed(1));
const share = (value) => (value === null || value === undefined ? dash : `${(value * 100).toFixed(1)}%`);
const pair = (before, after, show) => `${show(before)} → ${show(after)}`;
const signed = (n) => (n > 0 ? `+${n}` : String(n));

// The station's colour class: what the map and the station table agree on.
export function reachClass(station) {
  if (station.reach_change > 0) return "reach-gain";
  if (station.reach_change < 0) return "reach-loss";
  return "reach-same";
}

// Refuses anything without the parts this page draws, with the first missing part named.
function check(document_) {
  if (!document_ || typeof document_ !== "object" || Array.isArray(document_)) throw new Error("not an object");
  for (const key of ["overall", "provinces", "stations", "network"]) {
    if (!(key in document_)) throw new Error(`no "${key}"`);
  }
  if (!Array.isArray(document_.stations)) throw new Error('"stations" is not a list');
  for (const s of document_.stations) {
    if (typeof s.lat !== "number" || typeof s.lon !== "number" || typeof s.reach_change !== "number") {
      throw new Error(`station ${s.station_id ?? "?"} has no position or reach_change`);
    }
  }
  return document_;
}

function figuresRow(label, compared, attrs) {
  const { recorded: r, replayed: p } = compared;
  return h("tr", attrs,
    h("th", { scope: "row" }, label),
    h("td", {}, String(r.calls)),
    h("td", { class: "median" }, pair(r.answer_to_arrival_median_min, p.answer_to_arrival_median_min, minutes)),
    h("td", { class: "p90" }, pair(r.answer_to_arrival_p90_min, p.answer_to_arrival_p90_min, minutes)),
    h("td", { class: "within30" }, pair(r.within_30_min, p.within_30_min, share)),
    h("td", { class: "within60" }, pair(r.within_60_min, p.within_60_min, share)),
    h("td", { class: "queued" }, pair(r.queued, p.queued, String)));
}

function provinceTable(result) {
  const heads = ["wi.province", "wi.calls", "wi.median", "wi.p90", "wi.within30", "wi.within60", "wi.queued"];
  return h("table", { class: "whatif-provinces" },
    h("caption", {}, t("wi.rec_rep")),
    h("thead", {}, h("tr", {}, heads.map((key) => h("th", {}, t(key))))),
    h("tbody", {}, Object.entries(result.provinces).map(([name, compared]) =>
      figuresRow(name, compared, { dataset: { province: name } }))),
    h("tfoot", {}, figuresRow(t("wi.overall"), result.overall, { class: "overall" })));
}

function stationTable(result) {
  const moved = [...(result.stations_lost_most || []), ...(result.stations_gained_most || [])];
  if (!moved.length) return h("p", { class: "muted" }, t("wi.none_moved"));
  const heads = ["wi.station", "wi.name", "wi.province", "wi.change", "wi.reach", "wi.reach_change"];
  return h("table", { class: "whatif-stations" },
    h("thead", {}, h("tr", {}, heads.map((key) => h("th", {}, t(key))))),
    h("tbody", {}, moved.map((s) => h("tr", { class: reachClass(s), dataset: { stationId: s.station_id } },
      h("td", { class: "mono" }, s.station_id), h("td", {}, s.name), h("td", {}, s.province ?? dash),
      h("td", {}, t(`wi.change.${s.change}`)),
      h("td", {}, pair(s.reached_30_recorded, s.reached_30_replayed, String)),
      h("td", { class: "reach-change" }, signed(s.reach_change))))));
}

function legend() {
  return h("p", { class: "whatif-legend" }, ["gain", "loss", "same"].map((kind) =>
    h("span", { class: `swatch reach-${kind}` }, t(`wi.legend.${kind}`))));
}

export function showWhatIf(box) {
  if (!box) return;
  let result = null;
  let map = null;
  const input = h("input", { type: "file", id: "whatif-file", accept: ".json,application/json" });
  const error = h("p", { class: "form-error", role: "alert", id: "whatif-error" });
  const summary = h("p", { class: "hint", id: "whatif-summary" });
  const mapBox = h("div", { id: "whatif-map", hidden: true });
  const tables = h("div", { id: "whatif-tables" });

  function frame() {
    box.replaceChildren(
      h("h2", { id: "whatif-title" }, t("wi.title")),
      h("p", { class: "hint" }, t("wi.hint")),
      h("label", { class: "whatif-pick" }, h("span", {}, t("wi.pick")), input),
      error, summary, mapBox, tables);
  }

  function drawMap() {
    mapBox.hidden = false;
    map ||= new RescueMap(mapBox, { label: t("wi.title"), lang: getLang });
    map.setStations(result.stations);
    for (const s of result.stations) {
      const node = map.stationNodes.get(s.station_id);
      node.classList.add("whatif", reachClass(s), `change-${s.change}`);
      node.dataset.reachChange = String(s.reach_change);
      node.querySelector("title").textContent =
        `${s.name} (${s.station_id}) · ${t(`wi.change.${s.change}`)} · ${signed(s.reach_change)}`;
    }
    const lats = result.stations.map((s) => s.lat), lons = result.stations.map((s) => s.lon);
    if (lats.length) {
      const pad = 0.1 + 0.1 * Math.max(Math.max(...lats) - Math.min(...lats), Math.max(...lons) - Math.min(...lons));
      map.fitBounds(Math.min(...lats) - pad, Math.min(...lons) - pad, Math.max(...lats) + pad, Math.max(...lons) + pad);
    }
  }

  function render() {
    if (!result) return;
    const net = result.network;
    summary.textContent = t("wi.period", {
      from: result.from ?? dash, to: result.to ?? dash, calls: result.overall.recorded.calls,
      s0: net.stations_recorded, s1: net.stations_replayed, v0: net.vans_recorded, v1: net.vans_replayed,
    });
    tables.replaceChildren(provinceTable(result), legend(),
      h("h3", {}, t("wi.stations_title")), stationTable(result));
    drawMap();
    box.dataset.loaded = "true";
  }

  input.addEventListener("change", async () => {
    const file = input.files?.[0];
    if (!file) return;
    error.textContent = "";
    delete box.dataset.loaded;
    try {
      result = check(JSON.parse(await file.text()));
    } catch (problem) {
      result = null;
      error.textContent = t("wi.bad_file", { why: problem.message || String(problem) });
      tables.replaceChildren();
      summary.textContent = "";
      mapBox.hidden = true;
      return;
    }
    render();
  });

  frame();
  onLangChange(() => {
    // The file input keeps its file: only the words around it are redrawn.
    box.querySelector("#whatif-title").textContent = t("wi.title");
    box.querySelector(".hint").textContent = t("wi.hint");
    box.querySelector(".whatif-pick span").textContent = t("wi.pick");
    render();
  });
}

showWhatIf($("#whatif"));
