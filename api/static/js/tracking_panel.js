// The customer's tracking link on the console's incident detail: the link to read out or
// copy, when it expires, and a button that asks for it to be texted again.

import { newKey } from "./api.js";
import { h } from "./dom.js";
import { getLang } from "./i18n.js";

const WORDS = {
  zh: { title: "客户跟踪链接", resend: "重新发送", sent: "已请求重发 ({n})", none: "派车后生成", expires: "失效于 {at}", expired: "已失效" },
  en: { title: "Customer link", resend: "Resend", sent: "resend requested ({n})", none: "made when a van is offered", expires: "expires {at}", expired: "expired" },
};
// Statuses before any van was offered: no link yet.
const BEFORE_OFFER = new Set(["reported", "queued"]);

function word(key, params = {}) {
  const text = WORDS[getLang()]?.[key] ?? WORDS.en[key];
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

export class TrackingLinks {
  constructor(api, onChange) {
    this.api = api;
    this.onChange = onChange;
    this.links = new Map(); // incident id -> {url, expires_at, expired, resends} or "loading"
  }

  // Fetched once per incident and status: the link appears with the offer, expires after the end.
  load(incident) {
    const key = `${incident.incident_id}:${incident.status}`;
    if (BEFORE_OFFER.has(incident.status) || this.links.has(key)) return this.links.get(key);
    this.links.set(key, "loading");
    this.api.get(`/api/incidents/${incident.incident_id}/tracking`)
      .then((link) => this.links.set(key, link))
      .catch(() => this.links.delete(key))
      .finally(() => this.onChange());
    return "loading";
  }

  // One row of the detail: the link and its resend button, or why there is none.
  row(incident) {
    const link = this.load(incident);
    const box = h("div", { class: "tracking-link", "data-incident-id": incident.incident_id },
      h("strong", {}, `${word("title")}: `));
    if (!link || link === "loading") {
      box.append(h("span", { class: "hint" }, BEFORE_OFFER.has(incident.status) ? word("none") : "…"));
      return box;
    }
    const status = h("span", { class: "hint tracking-state" },
      link.expired ? word("expired") : link.expires_at ? word("expires", { at: new Date(link.expires_at).toLocaleString() }) : "");
    const anchor = h("a", { href: link.url, target: "_blank", rel: "noopener noreferrer", class: "mono tracking-url" }, link.url);
    const resend = h("button", { type: "button", class: "tracking-resend", disabled: link.expired }, word("resend"));
    const sent = h("span", { class: "hint tracking-sent" }, link.resends ? word("sent", { n: link.resends }) : "");
    resend.addEventListener("click", async () => {
      resend.disabled = true;
      try {
        const result = await this.api.post(`/api/incidents/${incident.incident_id}/tracking/resend`, {}, { key: newKey() });
        link.resends = result.resends;
        sent.textContent = word("sent", { n: result.resends });
        this.onChange(); // the detail may have been drawn again meanwhile
      } finally {
        resend.disabled = false;
      }
    });
    box.append(anchor, " ", status, " ", resend, " ", sent);
    return box;
  }
}
