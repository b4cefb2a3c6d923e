// The customer's record at intake: as the operator types the caller's phone or the VIN, the
// earlier incidents of that caller or vehicle and the warranty standing appear under the form.
// The phone goes in a POST body, never in a URL.

import { h } from "./dom.js";
import { getLang } from "./i18n.js";

const WORDS = {
  zh: {
    title: "历史记录", none: "无历史救援记录", repeat: "{n} 次历史救援", complaint: "有未结投诉",
    score: "回访评分 {n}", warranty: "保修", covered: "在保", expired: "已过保",
    left: "剩余 {months} 个月 / {km} 公里", until: "至 {date}",
    scope_whole_vehicle: "整车", scope_engine: "发动机", scope_other: "其他部分",
  },
  en: {
    title: "Earlier incidents", none: "no earlier incidents", repeat: "{n} earlier incidents", complaint: "open complaint",
    score: "follow-up score {n}", warranty: "Warranty", covered: "covered", expired: "expired",
    left: "{months} months / {km} km left", until: "until {date}",
    scope_whole_vehicle: "whole vehicle", scope_engine: "engine", scope_other: "other parts",
  },
};
const WAIT_MS = 400; // after the last keystroke

function word(key, params = {}) {
  const text = WORDS[getLang()]?.[key] ?? WORDS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

function digits(text) {
  return text.replace(/[^0-9]/g, "");
}

export function attachCustomerRecord(api, form, { faultWord = (c) => c, statusWord = (s) => s } = {}) {
  const panel = h("section", { id: "customer-record", class: "customer-record", hidden: true, "aria-live": "polite" });
  form.querySelector("fieldset:nth-of-type(2)")?.after(panel) ?? form.append(panel);
  let timer = null;
  let asked = "";

  async function look() {
    const phone = form.elements["caller.phone"].value.trim();
    const vin = form.elements["vehicle.vin"].value.trim();
    const body = {};
    if (digits(phone).length >= 7) body.phone = phone;
    if (vin.length >= 8) body.vin = vin;
    const key = JSON.stringify(body);
    if (key === asked) return;
    asked = key;
    if (!body.phone && !body.vin) {
      panel.hidden = true;
      return;
    }
    try {
      const record = await api.post("/api/customers/lookup", body);
      if (asked === key) show(record);
    } catch {
      panel.hidden = true; // a half-typed number: nothing to show yet
    }
  }

  function show(record) {
    const items = record.incidents.map((i) => h("li", { "data-incident-id": i.incident_id },
      `${(i.reported_at || "").slice(0, 10)} · ${faultWord(i.category)} · ${statusWord(i.status)}`,
      i.outcome ? ` · ${i.outcome}` : "",
      i.complaint_open ? h("strong", { class: "complaint-open" }, ` · ${word("complaint")}`) : "",
      i.followup_score !== null && i.followup_score !== undefined ? ` · ${word("score", { n: i.followup_score })}` : ""));
    const warranty = record.warranty ? h("p", { class: "warranty" }, `${word("warranty")} ${record.warranty.series}: `,
      record.warranty.scopes.map((s) => h("span", { class: s.covered ? "covered" : "not-covered", "data-scope": s.scope },
        `${word(`scope_${s.scope}`)} ${s.covered ? word("covered") : word("expired")} `,
        s.covered ? `(${word("left", { months: s.months_left, km: s.km_left ?? "?" })}) ` : `(${word("until", { date: s.until })}) `))) : "";
    panel.replaceChildren(
      h("h3", {}, word("title")),
      h("p", { class: "hint" }, record.incidents.length ? word("repeat", { n: record.incidents.length }) : word("none")),
      h("ul", {}, items),
      warranty,
    );
    panel.dataset.count = String(record.incidents.length);
    panel.hidden = false;
  }

  for (const name of ["caller.phone", "vehicle.vin"]) {
    form.elements[name].addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(look, WAIT_MS);
    });
  }
  form.addEventListener("reset", () => {
    asked = "";
    panel.hidden = true;
  });
}
