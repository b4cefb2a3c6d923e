// The spare-parts side of the audit page: the ABC classes, the (T, S) plan with the forecast
// against actual use in the held-out week, and the fault statistics as a chart.

import { $, h } from "./dom.js";
import { t } from "./i18n.js";

const pct = (share) => (share === null || share === undefined ? "–" : `${(share * 100).toFixed(1)}%`);

function abcTable(rows) {
  if (!rows.length) return h("p", { class: "muted" }, t("plan.no_use"));
  return h("table", { class: "abc" },
    h("thead", {}, h("tr", {}, ["plan.class", "part.no", "part.name", "part.qty", "plan.value", "plan.share"]
      .map((key) => h("th", {}, t(key))))),
    h("tbody", {}, rows.map((r) => h("tr", { dataset: { partNo: r.part_no, abcClass: r.class } },
      h("td", { class: `abc-${r.class}` }, r.class), h("td", { class: "mono" }, r.part_no), h("td", {}, r.name),
      h("td", {}, String(r.qty)), h("td", {}, r.consumption_value.toFixed(2)), h("td", {}, pct(r.share))))));
}

function planTable(rows) {
  if (!rows.length) return h("p", { class: "muted" }, t("plan.no_plan"));
  return h("table", { class: "replenishment" },
    h("thead", {}, h("tr", {}, ["rec.station", "part.no", "plan.class", "plan.on_hand", "plan.forecast",
      "plan.order_up_to", "plan.order_qty", "plan.heldout"].map((key) => h("th", {}, t(key))))),
    h("tbody", {}, rows.map((r) => h("tr", { dataset: { stationId: r.station_id, partNo: r.part_no } },
      h("td", { class: "mono" }, r.station_id), h("td", { class: "mono" }, r.part_no), h("td", {}, r.class),
      h("td", {}, String(r.on_hand)), h("td", {}, r.forecast.toFixed(1)), h("td", {}, String(r.order_up_to)),
      h("td", { class: "order" }, String(r.order_qty)),
      h("td", {}, r.holdout
        ? t("plan.heldout_value", { forecast: r.holdout.forecast_total.toFixed(1), actual: r.holdout.actual_total,
                                     mae: r.holdout.mae.toFixed(2), mean: r.holdout.mae_mean.toFixed(2) })
        : "–")))));
}

// Faults per group as horizontal bars, the warranty part of each bar shaded.
function faultChart(stats) {
  const totals = (stats.totals || []).slice(0, 12);
  if (!totals.length) return h("p", { class: "muted" }, t("plan.no_faults"));
  const most = Math.max(...totals.map((row) => row.faults));
  const rowH = 22;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 520 ${totals.length * rowH + 6}`);
  svg.setAttribute("class", "fault-chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("plan.faults_title"));
  const el = (tag, attrs, text) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    svg.append(node);
  };
  totals.forEach((row, i) => {
    const y = i * rowH + 4;
    const width = (row.faults / most) * 300;
    const covered = row.settled ? width * (row.warranty / row.faults) : 0;
    el("text", { x: 0, y: y + 14, class: "label" }, String(row[stats.by]));
    el("rect", { x: 130, y, width, height: rowH - 6, class: "bar" });
    el("rect", { x: 130, y, width: covered, height: rowH - 6, class: "bar warranty" });
    el("text", { x: 136 + width, y: y + 14, class: "value" }, `${row.faults} · ${pct(row.warranty_share)}`);
  });
  return svg;
}

export async function showPartsPlan(api) {
  const box = $("#parts-plan");
  if (!box) return;
  const by = $("#fault-by");
  async function loadFaults() {
    try {
      $("#fault-stats").replaceChildren(faultChart(await api.get(`/api/stats/faults?by=${by.value}`)));
    } catch (error) {
      $("#fault-stats").textContent = error.message || String(error);
    }
  }
  by.addEventListener("change", loadFaults);
  try {
    const [abc, plan] = await Promise.all([api.get("/api/parts/abc"), api.get("/api/parts/replenishment")]);
    $("#parts-abc").replaceChildren(abcTable(abc));
    $("#parts-replenishment").replaceChildren(planTable(plan));
  } catch (error) {
    $("#parts-abc").textContent = error.message || String(error);
  }
  await loadFaults();
  box.dataset.loaded = "true";
}
