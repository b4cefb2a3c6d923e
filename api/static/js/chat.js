// A conversation between the operator and a van's crew: about one incident
// (`/api/incidents/{id}/messages`) or the van's own (`/api/vans/{id}/messages`).
//
// The list comes from the REST route once; new messages and read receipts arrive as
// changes of the incident's or van's document on the page's feed (`receive`). A
// message from the other side is marked read when it is shown. Sending goes through
// `send(text)` given by the page: the console posts at once, the tablet queues it in
// its outbox (kept while offline, sent once and in order).

import { addWords, t } from "./i18n.js";
import { h } from "./dom.js";
import { clock } from "./timefmt.js";

addWords({
  zh: {
    "chat.title": "消息", "chat.van_title": "车辆消息", "chat.placeholder": "输入消息…", "chat.send": "发送",
    "chat.read": "已读", "chat.unread": "未读", "chat.pending": "待发送", "chat.empty": "暂无消息",
    "chat.from_operator": "调度", "chat.from_crew": "车组",
    "chat.quick.late": "路况拥堵，晚到约10分钟", "chat.quick.not_there": "客户不在现场",
    "chat.quick.tow": "需要拖车", "chat.quick.arrived": "已到达，正在检查",
    "alert.Message": "消息",
  },
  en: {
    "chat.title": "Messages", "chat.van_title": "Van messages", "chat.placeholder": "Write a message…",
    "chat.send": "Send", "chat.read": "read", "chat.unread": "unread", "chat.pending": "queued",
    "chat.empty": "No messages yet", "chat.from_operator": "Operator", "chat.from_crew": "Crew",
    "chat.quick.late": "traffic, 10 min late", "chat.quick.not_there": "customer not at the location",
    "chat.quick.tow": "need a tow", "chat.quick.arrived": "on site, checking the vehicle",
    "alert.Message": "Message",
  },
});

// The crew's common replies, one tap each (sent in the crew's language).
export const QUICK_REPLIES = ["chat.quick.late", "chat.quick.not_there", "chat.quick.tow", "chat.quick.arrived"];

export class Conversation {
  constructor({ api, path, side, title, send, quick = [], pending = () => [] }) {
    this.api = api;
    this.path = path;
    this.side = side; // "operator" or "crew": who this page writes for
    this.title = title;
    this.sendText = send;
    this.quick = quick;
    this.pending = pending; // texts queued but not sent yet (the tablet's outbox)
    this.messages = [];
    this.reading = new Set();
    this.error = "";
    this.input = h("input", { class: "chat-input", maxlength: "500", placeholder: t("chat.placeholder"),
                              "aria-label": t("chat.placeholder"),
                              onkeydown: (event) => { if (event.key === "Enter") this.submit(); } });
    this.element = h("section", { class: "chat", dataset: { path } });
    this.render();
  }

  async load() {
    try {
      this.messages = await this.api.get(this.path);
      this.error = "";
    } catch (error) {
      this.error = String(error.message || error);
    }
    this.render();
  }

  // A change of the document this conversation belongs to, from the page's feed.
  receive(changes) {
    const message = changes.message;
    if (message && !this.messages.some((m) => m.message_id === message.message_id)) {
      this.messages.push({ ...message, read_at: null, read_by: null });
    }
    const read = changes.message_read;
    if (read) {
      const known = this.messages.find((m) => m.message_id === read.message_id);
      if (known) Object.assign(known, { read_at: read.read_at, read_by: read.read_by });
    }
    if (message || read) this.render();
  }

  async submit(text = this.input.value) {
    const words = text.trim();
    if (!words) return;
    try {
      const sent = await this.sendText(words);
      if (text === this.input.value) this.input.value = "";
      this.error = "";
      if (sent && sent.message_id) this.receive({ message: sent });
    } catch (error) {
      const detail = error.fieldErrors?.length ? error.fieldErrors.map((e) => e.msg).join("; ") : error.message;
      this.error = `${error.status || ""} ${detail || error}`.trim();
    }
    this.render();
  }

  // Messages from the other side are read once they are on screen.
  markRead() {
    if (!this.element.isConnected || this.element.closest("[hidden]")) return;
    for (const message of this.messages) {
      if (message.from === this.side || message.read_at || this.reading.has(message.message_id)) continue;
      this.reading.add(message.message_id);
      this.api.post(`${this.path}/${message.message_id}/read`, undefined)
        .then((read) => Object.assign(message, { read_at: read.read_at, read_by: read.read_by }))
        .catch(() => this.reading.delete(message.message_id))
        .finally(() => this.render(false));
    }
  }

  get unread() {
    return this.messages.filter((m) => m.from !== this.side && !m.read_at).length;
  }

  render(read = true) {
    const rows = this.messages.map((m) => h("li", {
      class: `chat-message from-${m.from}`, dataset: { messageId: m.message_id, from: m.from, read: m.read_at ? "true" : "false" },
    },
    h("time", {}, clock(m.sent_at)), " ",
    h("strong", {}, t(`chat.from_${m.from}`)), " ",
    h("span", { class: "chat-text" }, m.text), " ",
    m.from === this.side ? h("small", { class: "chat-receipt" },
      m.read_at ? `${t("chat.read")} ${clock(m.read_at)}` : t("chat.unread")) : null));
    const queued = this.pending().map((text) => h("li", { class: "chat-message chat-pending", dataset: { from: this.side } },
      h("strong", {}, t(`chat.from_${this.side}`)), " ", h("span", { class: "chat-text" }, text), " ",
      h("small", { class: "chat-receipt" }, t("chat.pending"))));
    const list = rows.length || queued.length ? h("ol", { class: "chat-list" }, rows, queued)
      : h("p", { class: "hint" }, t("chat.empty"));
    this.input.placeholder = t("chat.placeholder");
    this.element.replaceChildren(...[
      h("h3", {}, this.title(), this.unread ? h("span", { class: "count" }, ` ${this.unread}`) : null),
      list,
      this.quick.length ? h("div", { class: "chat-quick" }, this.quick.map((key) =>
        h("button", { type: "button", dataset: { quick: key }, onclick: () => this.submit(t(key)) }, t(key)))) : null,
      h("div", { class: "chat-compose" }, this.input,
        h("button", { type: "button", class: "chat-send", onclick: () => this.submit() }, t("chat.send"))),
      this.error ? h("p", { class: "chat-error", role: "alert" }, this.error) : null,
    ].filter(Boolean));
    if (read) this.markRead();
  }
}
