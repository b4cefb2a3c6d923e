// The vans' own maintenance on the console: vans due for service soon or past due, with the
// distance their GPS tracks have driven since the last service.

import { $, h } from "./dom.js";
import { t } from "./i18n.js";

export async function showDueList(api) {
  const box = $("#vans-due");
  if (!box) return;
  try {
    const rows = await api.get("/api/maintenance/vans");
    box.replaceChildren(rows.length
      ? h("table", { class: "due-list" },
        h("thead", {}, h("tr", {}, ["rec.van", "upkeep.since", "upkeep.interval", "upkeep.due_in"]
          .map((key) => h("th", {}, t(key))))),
        h("tbody", {}, rows.map((r) => h("tr", { dataset: { vanId: r.van_id, pastDue: String(r.past_due) },
                                               class: r.past_due ? "past-due" : "" },
          h("td", { class: "mono" }, r.van_id), h("td", {}, `${r.km_since_service} km`),
          h("td", {}, `${r.interval_km} km`),
          h("td", {}, r.past_due ? t("upkeep.past_due") : `${r.due_in_km} km`)))))
      : h("p", { class: "muted" }, t("upkeep.none_due")));
  } catch (error) {
    box.textContent = error.message || String(error);
  }
  box.dataset.loaded = "true";
}
