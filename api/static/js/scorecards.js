// Scorecards per station or van over a period (GET /api/scorecards): a sortable table with
// small bar charts; a click on any figure lists the incidents behind it
// (GET /api/scorecards/incidents), and a click on one of those opens it.

import { ApiError } from "./api.js";
import { h } from "./dom.js";
import { addWords, t } from "./i18n.js";
import { stamp } from "./timefmt.js";

addWords({
  zh: {
    "sc.title": "服务记分卡", "sc.by": "按", "sc.by.station": "站点", "sc.by.van": "车辆",
    "sc.from": "从", "sc.to": "到", "sc.show": "统计", "sc.key.station": "站点", "sc.key.van": "车辆",
    "sc.incidents": "事件", "sc.offers_made": "派单", "sc.offers_accepted": "接单",
    "sc.offers_declined": "拒单", "sc.offers_expired": "超时未应答", "sc.offers_withdrawn": "改派撤回",
    "sc.offers_cancelled": "取消时待接",
    "sc.answer_to_dispatch_s": "接警→派单", "sc.dispatch_to_accept_s": "派单→接单",
    "sc.dispatch_to_arrival_s": "派单→到场", "sc.arrival_within_eta": "按承诺时间到场",
    "sc.repaired_on_site": "现场修复", "sc.satisfaction": "满意度", "sc.complaints": "投诉",
    "sc.median_p90": "中位数 / P90", "sc.none": "没有数据", "sc.behind": "{figure} · {key}：{n} 条",
    "sc.value": "值", "sc.reported": "报修时间", "sc.incident": "事件", "sc.reasons": "拒单原因",
    "sc.close": "关闭", "sc.error": "无法读取记分卡",
    "sc.outcome.accepted": "接单", "sc.outcome.declined": "拒单", "sc.outcome.expired": "超时",
    "sc.outcome.withdrawn": "撤回", "sc.outcome.cancelled": "取消", "sc.outcome.open": "待接",
    "sc.yes": "是", "sc.no": "否", "sc.all": "含无记录的",
  },
  en: {
    "sc.title": "Scorecards", "sc.by": "By", "sc.by.station": "station", "sc.by.van": "van",
    "sc.from": "From", "sc.to": "To", "sc.show": "Show", "sc.key.station": "Station", "sc.key.van": "Van",
    "sc.incidents": "Incidents", "sc.offers_made": "Offers", "sc.offers_accepted": "Accepted",
    "sc.offers_declined": "Declined", "sc.offers_expired": "Expired", "sc.offers_withdrawn": "Withdrawn",
    "sc.offers_cancelled": "Cancelled while offered",
    "sc.answer_to_dispatch_s": "Answer→dispatch", "sc.dispatch_to_accept_s": "Dispatch→accept",
    "sc.dispatch_to_arrival_s": "Dispatch→arrival", "sc.arrival_within_eta": "Within promised ETA",
    "sc.repaired_on_site": "Repaired on site", "sc.satisfaction": "Satisfaction", "sc.complaints": "Complaints",
    "sc.median_p90": "median / p90", "sc.none": "No data", "sc.behind": "{figure} · {key}: {n}",
    "sc.value": "Value", "sc.reported": "Reported", "sc.incident": "Incident", "sc.reasons": "Reasons declined",
    "sc.close": "Close", "sc.error": "Could not read the scorecards",
    "sc.outcome.accepted": "accepted", "sc.outcome.declined": "declined", "sc.outcome.expired": "expired",
    "sc.outcome.withdrawn": "withdrawn", "sc.outcome.cancelled": "cancelled", "sc.outcome.open": "open",
    "sc.yes": "yes", "sc.no": "no", "sc.all": "include those without calls",
  },
});

const SVG = "http://www.w3.org/2000/svg";
const DURATIONS = ["answer_to_dispatch_s", "dispatch_to_accept_s", "dispatch_to_arrival_s"];
const RATES = ["arrival_within_eta", "repaired_on_site"];
const OFFER_PARTS = ["offers_accepted", "offers_declined", "offers_expired", "offers_withdrawn", "offers_cancelled"];

function svg(name, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const child of children) node.append(child);
  return node;
}

function seconds(value) {
  if (value === null || value === undefined) return "—";
  if (value < 120) return `${Math.round(value)} s`;
  return `${(value / 60).toFixed(1)} min`;
}

function percent(rate) {
  return rate === null || rate === undefined ? "—" : `${Math.round(rate * 100)}%`;
}

// The columns: what a cell shows, what it sorts by, its small chart (scaled to the table).
function columns(by) {
  const key = {
    id: "key", label: t(`sc.key.${by}`), sort: (r) => r.key,
    text: (r) => [r.key, r.name || r.call_sign || "", by === "van" && r.station_id ? `(${r.station_id})` : ""].filter(Boolean).join(" "),
  };
  const counts = ["incidents", "offers_made", "offers_accepted", "offers_declined", "offers_expired", "offers_withdrawn"]
    .map((figure) => ({ id: figure, figure, label: t(`sc.${figure}`), sort: (r) => r[figure], text: (r) => String(r[figure]) }));
  counts[1].chart = offersChart;
  counts[2].text = (r) => `${r.offers_accepted}${r.acceptance_rate != null ? ` (${percent(r.acceptance_rate)})` : ""}`;
  counts[3].title = (r) => Object.entries(r.declined_reasons || {}).map(([k, v]) => `${k}: ${v}`).join("\n");
  const durations = DURATIONS.map((figure) => ({
    id: figure, figure, label: t(`sc.${figure}`), hint: t("sc.median_p90"),
    sort: (r) => r[figure].median, text: (r) => `${seconds(r[figure].median)} / ${seconds(r[figure].p90)}`,
    chart: durationChart(figure),
  }));
  const rates = RATES.map((figure) => ({
    id: figure, figure, label: t(`sc.${figure}`), sort: (r) => r[figure].rate,
    text: (r) => `${percent(r[figure].rate)} (${r[figure].count}/${r[figure].n})`, chart: rateChart(figure),
  }));
  return [key, ...counts, ...durations, ...rates,
    { id: "satisfaction", figure: "satisfaction", label: t("sc.satisfaction"), sort: (r) => r.satisfaction.mean,
      text: (r) => (r.satisfaction.mean != null ? `${r.satisfaction.mean.toFixed(1)} (${r.satisfaction.n})` : "—") },
    { id: "complaints", figure: "complaints", label: t("sc.complaints"), sort: (r) => r.complaints, text: (r) => String(r.complaints) }];
}

function offersChart(row, rows) {
  const most = Math.max(1, ...rows.map((r) => r.offers_made));
  let x = 0;
  const bars = OFFER_PARTS.map((part) => {
    const width = (row[part] / most) * 60;
    const bar = svg("rect", { x, y: 0, width, height: 8, class: `bar ${part}` }, svg("title", {}, `${t(`sc.${part}`)}: ${row[part]}`));
    x += width;
    return bar;
  });
  return svg("svg", { class: "spark", width: 60, height: 8, viewBox: "0 0 60 8" }, ...bars);
}

function durationChart(figure) {
  return (row, rows) => {
    const most = Math.max(1, ...rows.map((r) => r[figure].p90 || 0));
    const { median, p90 } = row[figure];
    if (median === null) return null;
    return svg("svg", { class: "spark", width: 60, height: 8, viewBox: "0 0 60 8" },
      svg("rect", { x: 0, y: 1, width: (median / most) * 60, height: 6, class: "bar median" }),
      svg("rect", { x: Math.max(0, (p90 / most) * 60 - 1), y: 0, width: 1.5, height: 8, class: "bar p90" }));
  };
}

function rateChart(figure) {
  return (row) => {
    const { rate } = row[figure];
    if (rate === null) return null;
    return svg("svg", { class: "spark", width: 40, height: 8, viewBox: "0 0 40 8" },
      svg("rect", { x: 0, y: 0, width: 40, height: 8, class: "bar track" }),
      svg("rect", { x: 0, y: 0, width: rate * 40, height: 8, class: "bar rate" }));
  };
}

function valueText(figure, value) {
  if (value === null || value === undefined) return "";
  if (DURATIONS.includes(figure)) return seconds(value);
  if (figure === "offers_made") return t(`sc.outcome.${value}`);
  if (typeof value === "boolean") return t(value ? "sc.yes" : "sc.no");
  return String(value);
}

function localDay(date, endOfDay) {
  if (!date) return null;
  const [y, m, d] = date.split("-").map(Number);
  return endOfDay ? new Date(y, m - 1, d + 1) : new Date(y, m - 1, d);
}

export function showScorecards(api, container, { onIncident }) {
  const state = {
    by: "station", rows: [], sort: { id: "key", desc: false }, period: {}, behind: null, all: false, serial: 0,
  };
  const form = h("form", { class: "scorecard-form" });
  const table = h("table", { class: "scorecards" });
  const behind = h("section", { class: "scorecard-behind", hidden: true, "aria-live": "polite" });
  const error = h("p", { class: "form-error", role: "alert" });
  const title = h("h2", { id: `${container.id}-title` });

  function renderForm() {
    title.textContent = t("sc.title");
    form.replaceChildren(
      h("label", {}, h("span", {}, t("sc.by")),
        h("select", { name: "by", onchange: () => load() },
          h("option", { value: "station" }, t("sc.by.station")), h("option", { value: "van" }, t("sc.by.van")))),
      h("label", {}, h("span", {}, t("sc.from")), h("input", { name: "from", type: "date" })),
      h("label", {}, h("span", {}, t("sc.to")), h("input", { name: "to", type: "date" })),
      h("label", { class: "inline" }, h("input", {
        type: "checkbox", name: "all", checked: state.all,
        onchange: (event) => { state.all = event.target.checked; renderTable(); },
      }), ` ${t("sc.all")}`),
      h("button", { type: "submit", class: "primary" }, t("sc.show")));
    form.elements.by.value = state.by;
    if (state.period.fromDay) form.elements.from.value = state.period.fromDay;
    if (state.period.toDay) form.elements.to.value = state.period.toDay;
  }

  function query() {
    const params = new URLSearchParams({ by: state.by });
    if (state.period.from) params.set("from", state.period.from.toISOString());
    if (state.period.to) params.set("to", state.period.to.toISOString());
    return params;
  }

  async function load() {
    state.by = form.elements.by.value;
    state.period = {
      fromDay: form.elements.from.value, toDay: form.elements.to.value,
      from: localDay(form.elements.from.value, false), to: localDay(form.elements.to.value, true),
    };
    error.textContent = "";
    container.dataset.state = "loading";
    // Only the latest request's answer is shown, whichever arrives last.
    const serial = ++state.serial;
    try {
      const answer = await api.get(`/api/scorecards?${query()}`);
      if (serial !== state.serial) return;
      state.rows = answer.rows;
      container.dataset.by = answer.by;
      container.dataset.state = "shown";
      behind.hidden = true;
      renderTable();
    } catch (failure) {
      if (serial !== state.serial) return;
      container.dataset.state = "error";
      error.textContent = `${t("sc.error")}: ${failure instanceof ApiError ? `${failure.status} ${failure.message}` : failure.message}`;
    }
  }

  // Stations and vans without a call in the period are left out unless asked for.
  function shown() {
    return state.all ? [...state.rows] : state.rows.filter((r) => r.incidents > 0 || r.offers_made > 0);
  }

  function sorted(cols) {
    const col = cols.find((c) => c.id === state.sort.id) || cols[0];
    const sign = state.sort.desc ? -1 : 1;
    return shown().sort((a, b) => {
      const x = col.sort(a), y = col.sort(b);
      if (x === y) return a.key.localeCompare(b.key);
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * sign;
    });
  }

  function renderTable() {
    const cols = columns(state.by);
    const rows = sorted(cols);
    const head = h("tr", {}, cols.map((col) => h("th", {
      dataset: { col: col.id, sort: state.sort.id === col.id ? (state.sort.desc ? "desc" : "asc") : "" },
      "aria-sort": state.sort.id === col.id ? (state.sort.desc ? "descending" : "ascending") : "none",
    }, h("button", {
      type: "button", class: "link sort",
      onclick: () => {
        state.sort = { id: col.id, desc: state.sort.id === col.id ? !state.sort.desc : col.id !== "key" };
        renderTable();
      },
    }, col.label), col.hint ? h("small", { class: "hint" }, ` ${col.hint}`) : null)));
    const body = rows.map((row) => h("tr", { dataset: { key: row.key } }, cols.map((col) => {
      if (!col.figure) return h("th", { scope: "row" }, col.text(row));
      const chart = col.chart ? col.chart(row, rows) : null;
      return h("td", { dataset: { figure: col.figure } },
        h("button", {
          type: "button", class: "link figure", title: col.title ? col.title(row) : "",
          onclick: () => showBehind(row.key, col.figure),
        }, col.text(row)),
        chart ? h("div", {}, chart) : null);
    })));
    table.replaceChildren(h("thead", {}, head),
      h("tbody", {}, body.length ? body : h("tr", {}, h("td", { colspan: String(cols.length) }, t("sc.none")))));
  }

  async function showBehind(key, figure) {
    behind.hidden = false;
    behind.dataset.key = key;
    behind.dataset.figure = figure;
    behind.dataset.state = "loading";
    const params = query();
    params.set("key", key);
    params.set("figure", figure);
    try {
      const answer = await api.get(`/api/scorecards/incidents?${params}`);
      state.behind = answer;
      renderBehind();
    } catch (failure) {
      behind.dataset.state = "error";
      behind.replaceChildren(h("p", { class: "form-error" }, failure.message));
    }
  }

  function renderBehind() {
    const answer = state.behind;
    if (!answer) return;
    behind.dataset.state = "shown";
    behind.replaceChildren(
      h("h3", {}, t("sc.behind", { figure: t(`sc.${answer.figure}`), key: answer.key, n: answer.incidents.length }),
        h("button", { type: "button", class: "dismiss", title: t("sc.close"), onclick: () => { behind.hidden = true; } }, "×")),
      h("table", { class: "behind" },
        h("thead", {}, h("tr", {}, h("th", {}, t("sc.reported")), h("th", {}, t("sc.incident")), h("th", {}, t("sc.value")))),
        h("tbody", {}, answer.incidents.map((item) => h("tr", { dataset: { incidentId: item.incident_id } },
          h("td", {}, stamp(item.reported_at)),
          h("td", { class: "mono" }, h("button", { type: "button", class: "link", onclick: () => onIncident(item.incident_id) }, item.incident_id)),
          h("td", {}, valueText(answer.figure, item.value)))))));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  container.replaceChildren(title, form, error, h("div", { class: "scorecards-scroll" }, table), behind);
  renderForm();
  load();
  return {
    relabel() {
      renderForm();
      renderTable();
      renderBehind();
    },
    reload: load,
  };
}
