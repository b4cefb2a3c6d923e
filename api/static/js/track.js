// The customer's tracking page: where the van is, what is happening in plain words, the ETA
// counting down, and what to do while waiting. No sign-in: the code in the address is the key.
// Live over server-sent events; when those fail (a proxy, an old browser), it polls.

import { loadConfig } from "./api.js";
import { RescueMap } from "./map.js";

const WORDS = {
  zh: {
    title: "救援跟踪",
    other: "EN",
    loading: "正在读取…",
    "status.finding_van": "正在为您安排救援车",
    "status.on_the_way": "救援车正在赶来",
    "status.arrived": "救援人员已到达",
    "status.towing": "正在拖车",
    "status.towing_to": "正在拖往 {place}",
    "status.completed": "救援已完成，感谢您的耐心",
    "status.cancelled": "本次救援已取消",
    eta: "预计 {min} 分钟后到达",
    eta_soon: "即将到达",
    van: "救援车 {call_sign}",
    "feed.live": "实时更新",
    "feed.polling": "每 {s} 秒刷新",
    "feed.gone": "链接已失效",
    "advice.title": "等待时请注意",
    "advice.hazard_lights": "打开危险报警闪光灯。",
    "advice.expressway_behind_barrier": "所有人员立即从右侧下车，撤离到护栏外侧等候，不要留在车内。",
    "advice.warning_triangle_150m": "在车后 150 米以外放置三角警示牌。",
    "advice.call_122_if_in_lane": "如车辆停在行车道内，请立即拨打 122 报警。",
    "advice.warning_triangle_50m": "在车后 50 米以外放置三角警示牌。",
    "advice.wait_off_the_road": "在路边安全处等候，远离来往车辆。",
    "advice.night_reflective_vest": "夜间请穿反光衣或使用手电，让来车看见您。",
    "advice.injury_call_120": "有人受伤请立即拨打 120。",
    "advice.passengers_keep_together": "照看好同车的老人和孩子，大家待在一起。",
    "advice.battery_no_jump_strangers": "请勿让陌生车辆为您搭电，等待救援人员。",
    "advice.tire_no_change_on_traffic_side": "不要在靠近车流的一侧自行换胎。",
    "advice.fuel_do_not_walk_on_road": "不要沿公路步行去找加油站。",
    "advice.lockout_stay_near_vehicle": "请在车辆附近等候，注意随身物品。",
    "advice.engine_do_not_restart": "不要反复尝试启动发动机。",
    "advice.overheating_do_not_open_radiator": "不要打开发烫的水箱盖。",
    "advice.electrical_smoke_leave_vehicle": "如闻到焦味或看到冒烟，请立即远离车辆。",
    "advice.accident_do_not_move_injured": "不要随意移动伤者。",
    "advice.accident_photos_if_safe": "在安全的前提下拍照留存现场。",
  },
  en: {
    title: "Rescue tracking",
    other: "中文",
    loading: "Loading…",
    "status.finding_van": "Finding a rescue van for you",
    "status.on_the_way": "Help is on the way",
    "status.arrived": "The crew has arrived",
    "status.towing": "Towing your vehicle",
    "status.towing_to": "Towing to {place}",
    "status.completed": "All done. Thank you for your patience",
    "status.cancelled": "This rescue was cancelled",
    eta: "Arriving in about {min} min",
    eta_soon: "Arriving any moment",
    van: "Rescue van {call_sign}",
    "feed.live": "Live",
    "feed.polling": "Refreshing every {s} s",
    "feed.gone": "This link has expired",
    "advice.title": "While you wait",
    "advice.hazard_lights": "Turn on your hazard lights.",
    "advice.expressway_behind_barrier": "Everyone out on the right-hand side and wait behind the barrier, not in the car.",
    "advice.warning_triangle_150m": "Place the warning triangle at least 150 m behind the car.",
    "advice.call_122_if_in_lane": "If the car stands in a traffic lane, call 122 now.",
    "advice.warning_triangle_50m": "Place the warning triangle at least 50 m behind the car.",
    "advice.wait_off_the_road": "Wait somewhere safe off the road, away from traffic.",
    "advice.night_reflective_vest": "At night wear a reflective vest or use a torch so drivers see you.",
    "advice.injury_call_120": "If anyone is hurt, call 120 now.",
    "advice.passengers_keep_together": "Keep children and older passengers with you.",
    "advice.battery_no_jump_strangers": "Do not let strangers jump-start the car; wait for the crew.",
    "advice.tire_no_change_on_traffic_side": "Do not change a wheel on the traffic side yourself.",
    "advice.fuel_do_not_walk_on_road": "Do not walk along the road looking for fuel.",
    "advice.lockout_stay_near_vehicle": "Wait near the car and keep your belongings with you.",
    "advice.engine_do_not_restart": "Do not keep trying to start the engine.",
    "advice.overheating_do_not_open_radiator": "Do not open a hot radiator cap.",
    "advice.electrical_smoke_leave_vehicle": "If you smell burning or see smoke, move away from the car.",
    "advice.accident_do_not_move_injured": "Do not move anyone who is injured.",
    "advice.accident_photos_if_safe": "Take photos of the scene if it is safe to.",
  },
};
const POLL_S = 10;
const LANG_KEY = "rescue.track.lang";

let lang = localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh";
let last = null; // the latest status from the server
let receivedAt = 0; // when it came, by this phone's clock (the ETA counts down from here)
let feedState = "connecting";
let framed = false;

const base = location.pathname.replace(/\/+$/, "");
const $ = (id) => document.getElementById(id);

function t(key, params = {}) {
  const text = WORDS[lang][key] ?? WORDS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

const config = await loadConfig();
const map = new RescueMap($("map"), { tileUrl: config.tile_url, label: "map", lang: () => lang });

function statusWords(status) {
  if (status.status === "towing" && status.tow_to) return t("status.towing_to", { place: status.tow_to });
  return t(`status.${status.status}`);
}

function etaNow() {
  if (!last || last.eta_min === null || last.eta_min === undefined) return null;
  return Math.max(0, last.eta_min - (Date.now() - receivedAt) / 60000);
}

function drawEta() {
  const eta = etaNow();
  const node = $("eta");
  node.hidden = eta === null;
  if (eta !== null) node.textContent = eta < 1 ? t("eta_soon") : t("eta", { min: Math.ceil(eta) });
}

function drawFeed() {
  const node = $("feed");
  node.dataset.state = feedState;
  node.textContent = feedState === "live" ? t("feed.live")
    : feedState === "polling" ? t("feed.polling", { s: POLL_S })
    : feedState === "gone" ? t("feed.gone") : "";
}

function draw() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  $("lang").textContent = t("other");
  drawFeed();
  if (!last) {
    $("status-words").textContent = t("loading");
    return;
  }
  const words = $("status-words");
  words.dataset.status = last.status;
  words.textContent = statusWords(last);
  const vanLine = $("van-line");
  vanLine.hidden = !last.call_sign;
  vanLine.textContent = last.call_sign ? t("van", { call_sign: last.call_sign }) : "";
  drawEta();
  const list = $("advice");
  list.replaceChildren(...last.advice.map((key) => {
    const item = document.createElement("li");
    item.dataset.advice = key;
    item.textContent = t(`advice.${key}`);
    return item;
  }));
}

function drawMap(previous) {
  const site = last.site;
  map.upsertIncident({ incident_id: "site", lat: site.lat, lon: site.lon, status: "site", priority: "" },
                     t("title"));
  map.upsertVan({ van_id: "van", call_sign: last.call_sign || "", status: "busy" }, last.van);
  // Frame the site and the van once, and again when the van first appears.
  if (!framed || (last.van && !previous?.van)) {
    framed = true;
    if (last.van) {
      const pad = 0.01;
      map.fitBounds(Math.min(site.lat, last.van.lat) - pad, Math.min(site.lon, last.van.lon) - pad,
                    Math.max(site.lat, last.van.lat) + pad, Math.max(site.lon, last.van.lon) + pad);
    } else {
      map.centerOn(site.lat, site.lon, 0.2);
    }
  }
}

function show(status) {
  const previous = last;
  last = status;
  receivedAt = Date.now();
  draw();
  drawMap(previous);
}

function gone() {
  feedState = "gone";
  location.reload(); // the server answers the expired page
}

async function poll() {
  try {
    const response = await fetch(`${base}/status`, { cache: "no-store" });
    if (response.status === 410 || response.status === 404) return gone();
    if (response.ok) show(await response.json());
  } catch {
    // offline for a moment: the next poll tries again
  }
  setTimeout(poll, POLL_S * 1000);
}

function listen() {
  if (!("EventSource" in window)) {
    feedState = "polling";
    poll();
    return;
  }
  const source = new EventSource(`${base}/events`);
  let failures = 0;
  source.addEventListener("status", (event) => {
    failures = 0;
    feedState = "live";
    show(JSON.parse(event.data));
  });
  source.addEventListener("expired", () => {
    source.close();
    gone();
  });
  source.addEventListener("error", () => {
    failures += 1;
    // The browser retries by itself; after a few failures in a row, fall back to polling.
    if (failures >= 3 || source.readyState === EventSource.CLOSED) {
      source.close();
      feedState = "polling";
      drawFeed();
      poll();
    }
  });
}

$("lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh";
  localStorage.setItem(LANG_KEY, lang);
  draw();
});
setInterval(drawEta, 1000);
draw();
listen();
document.body.dataset.ready = "true";
