// A van's spare parts: the list from GET /api/vans/{id}/stock, shared by the tablet (which
// picks parts from it for a diagnosis) and the console (which shows it per van).

import { h } from "./dom.js";
import { t } from "./i18n.js";

export async function loadStock(api, vanId) {
  return api.get(`/api/vans/${encodeURIComponent(vanId)}/stock`);
}

// Renders the stock into `container`; with `onPick`, each line gets a button that hands
// the part to the caller (the tablet adds it to the diagnosis as taken from the van).
export function renderStock(container, lines, { onPick = null } = {}) {
  if (!lines || lines.length === 0) {
    container.replaceChildren(h("p", { class: "muted" }, t("stock.empty")));
    return;
  }
  container.replaceChildren(h("table", { class: "stock" },
    h("thead", {}, h("tr", {},
      h("th", {}, t("part.no")), h("th", {}, t("part.name")), h("th", {}, t("stock.qty")),
      onPick ? h("th", {}) : null)),
    h("tbody", {}, lines.map((line) => h("tr", { dataset: { partNo: line.part_no } },
      h("td", { class: "mono" }, line.part_no), h("td", {}, line.name), h("td", {}, String(line.qty)),
      onPick ? h("td", {}, h("button", { type: "button", class: "pick-part", onclick: () => onPick(line) },
        t("stock.pick"))) : null)))));
}
