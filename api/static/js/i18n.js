// The pages' words in Chinese (the default) and English; the choice is kept in localStorage.
// Static text is marked in the HTML with data-i18n (text), data-i18n-placeholder and
// data-i18n-title; code calls t(key, {params}). A key missing from a language falls back
// to English, then to the key itself, and is listed in window.rescueMissingWords.

const STORAGE_KEY = "rescue.lang";

const FAULTS_ZH = {
  battery: "电瓶亏电", flat_tire: "爆胎 / 缺气", out_of_fuel: "燃油耗尽", lockout: "钥匙锁车内",
  engine_failure: "发动机故障", overheating: "发动机过热", transmission: "变速器故障",
  electrical: "电气故障", accident: "事故", other: "其他",
};
const FAULTS_EN = {
  battery: "Flat battery", flat_tire: "Flat tyre", out_of_fuel: "Out of fuel", lockout: "Locked out",
  engine_failure: "Engine failure", overheating: "Overheating", transmission: "Transmission",
  electrical: "Electrical", accident: "Accident", other: "Other",
};
const STATUS_ZH = {
  reported: "已登记", queued: "排队中", offered: "已派单", accepted: "已接单", en_route: "途中",
  on_scene: "已到场", towing: "拖车中", completed: "已完工", closed: "已关闭", cancelled: "已取消",
  declined: "已拒单", none: "—",
};
const STATUS_EN = {
  reported: "reported", queued: "queued", offered: "offered", accepted: "accepted", en_route: "en route",
  on_scene: "on scene", towing: "towing", completed: "completed", closed: "closed", cancelled: "cancelled",
  declined: "declined", none: "—",
};
const FINDINGS_ZH = {
  missed_maintenance: "未按期保养 (a)", modified: "改装 (b)", accident: "事故 (b, e)",
  manual_maintenance: "手册规定的保养项目 (c)", wear_consumable: "易损件 / 消耗品 (d)", misuse: "使用不当 (e)",
  wrong_fluid: "油液不当 (f)", non_original_part: "非原厂件 (g)", delayed_report: "未及时报修 (h)",
  environmental: "环境因素 (i)", unauthorized_repair: "非授权维修 (j)", appearance_ageing: "外观件自然老化 (k)",
  odometer_altered: "里程表被改动 (l)", indirect_loss: "间接损失 (m)", long_storage: "长期停放 (n)",
  undetermined: "原因难以确定",
};
const FINDINGS_EN = {
  missed_maintenance: "Missed maintenance (a)", modified: "Modified (b)", accident: "Accident (b, e)",
  manual_maintenance: "Manual maintenance item (c)", wear_consumable: "Wear part / consumable (d)",
  misuse: "Misuse (e)", wrong_fluid: "Wrong fluid (f)", non_original_part: "Non-original part (g)",
  delayed_report: "Reported late (h)", environmental: "Environmental (i)",
  unauthorized_repair: "Unauthorised repair (j)", appearance_ageing: "Appearance ageing (k)",
  odometer_altered: "Odometer altered (l)", indirect_loss: "Indirect loss (m)", long_storage: "Long storage (n)",
  undetermined: "Cause undetermined",
};
const EVENTS_ZH = {
  Reported: "登记", Offered: "派单", Queued: "排队", Declined: "拒单", OfferExpired: "派单超时",
  Accepted: "接单", Departed: "出发", Arrived: "到场", ArrivalOverdue: "到达超时", Diagnosed: "诊断",
  Resolved: "处理结果", Completed: "完工", Cancelled: "取消", Closed: "关闭",
  MessageSent: "消息", MessageRead: "已读回执", PhotoAttached: "照片",
};
const EVENTS_EN = {
  Reported: "Reported", Offered: "Offered", Queued: "Queued", Declined: "Declined",
  OfferExpired: "Offer expired", Accepted: "Accepted", Departed: "Departed", Arrived: "Arrived",
  ArrivalOverdue: "Arrival overdue", Diagnosed: "Diagnosed", Resolved: "Resolved", Completed: "Completed",
  Cancelled: "Cancelled", Closed: "Closed",
  MessageSent: "Message", MessageRead: "Read receipt", PhotoAttached: "Photo",
};

function prefixed(prefix, table) {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [`${prefix}.${k}`, v]));
}

const DICT = {
  zh: {
    ...prefixed("fault", FAULTS_ZH),
    ...prefixed("status", STATUS_ZH),
    ...prefixed("finding", FINDINGS_ZH),
    ...prefixed("event", EVENTS_ZH),
    "lang.other": "English",
    "console.title": "救援调度台",
    "console.shortcuts": "快捷键",
    "feed.connecting": "连接中", "feed.live": "实时", "feed.reconnecting": "重连中", "feed.refused": "令牌无效",
    "feed.closed": "已断开", "feed.offline": "离线",
    "net.online": "在线", "net.offline": "离线",
    "signin.operator": "调度员登录", "signin.crew": "车组登录", "signin.auditor": "审计员登录",
    "signin.token": "访问令牌", "signin.submit": "登录", "signin.signout": "退出",
    "signin.empty": "请输入令牌", "signin.bad_token": "令牌无效或已被吊销",
    "signin.offline": "无法连接服务器", "signin.wrong_role": "此页面不适用于 {role} 角色",
    "keys.new": "新来电（清空表单）", "keys.enter": "提交来电；推荐面板中一键派车",
    "keys.dispatch": "派最近车辆", "keys.override": "指定车辆（改派）", "keys.place": "搜索地点",
    "keys.board": "跳到事件看板", "keys.map": "跳到地图（方向键平移，+/− 缩放，0 全国）",
    "keys.alerts": "跳到告警", "keys.lang": "切换语言", "keys.help": "显示 / 隐藏本帮助",
    "intake.title": "来电登记", "intake.caller": "报修人", "intake.caller_name": "姓名",
    "intake.caller_phone": "回拨电话", "intake.vehicle": "车辆", "intake.plate": "车牌", "intake.model": "车系",
    "intake.odometer": "里程 (km)", "intake.sold_on": "销售日期", "intake.location": "位置",
    "intake.place_search": "搜索城市", "intake.place_hint": "如 郑州 / Zhengzhou", "intake.lat": "纬度",
    "intake.lon": "经度", "intake.map_hint": "或在地图上点击选择位置", "intake.location_desc": "位置说明",
    "intake.fault": "故障", "intake.category": "类别", "intake.fault_desc": "故障描述",
    "intake.submit": "登记并推荐车辆 (Enter)", "intake.reset": "新来电 (Alt+N)",
    "model.PALADIN": "帕拉丁 PALADIN", "model.D22": "D22 皮卡", "model.RICH": "锐骐 RICH", "model.NV200": "NV200",
    "safety.on_expressway": "高速公路上", "safety.at_night": "夜间", "safety.injury": "有人受伤",
    "safety.vulnerable": "老人 / 儿童 / 孕妇", "safety.passengers": "乘客人数",
    "rec.title": "推荐车辆", "rec.van": "车辆", "rec.station": "站点", "rec.distance": "距离", "rec.eta": "预计到达",
    "rec.none": "附近没有可派的车辆：派车后将排队等候。", "rec.dispatch": "一键派车（最近）",
    "rec.override": "指定其他车辆…", "rec.override_van": "车辆编号", "rec.override_reason": "改派原因（必填）",
    "rec.override_go": "派给指定车辆", "rec.incident": "事件", "rec.queued": "暂无空闲车辆，已排队",
    "capability.tow": "需拖车", "capability.battery": "需电瓶搭电", "capability.tire": "需补胎换胎",
    "capability.fuel": "需送油", "capability.lockout": "需开锁", "capability.repair": "需维修",
    "map.title": "地图", "map.incident": "事件", "map.station": "站点",
    "van.available": "空闲", "van.offered": "已派单待接", "van.busy": "执行任务", "van.off_duty": "下班",
    "alerts.title": "告警", "alerts.dismiss": "忽略",
    "alert.Declined": "拒单", "alert.OfferExpired": "派单超时", "alert.ArrivalOverdue": "到达超时",
    "alert.Queued": "排队", "alert.Unoffered": "久未派单", "alert.Alert": "告警",
    "alert.SosRaised": "求救", "alert.sos_text": "{van} 按下了求救按钮",
    "alert.queued_text": "暂无具备能力的空闲车辆", "alert.unoffered_text": "登记超过 5 分钟仍未派出",
    "board.title": "未结事件", "board.priority": "级", "board.status": "状态", "board.fault": "故障",
    "board.place": "地点", "board.van": "车辆", "board.since_report": "报修后", "board.offer": "派单 / 到达",
    "board.unoffered": "未派单", "board.offer_left": "派单剩余", "board.eta_in": "预计到达还有",
    "board.late": "已超时", "board.on_scene_for": "到场已",
    "detail.title": "事件", "detail.id": "事件编号", "detail.vehicle": "车辆", "detail.caller": "报修人",
    "detail.cancel": "取消事件", "detail.cancel_reason": "取消原因",
    "vans.title": "车辆", "vans.filter": "车号 / 站点 / 状态", "vans.home": "在站",
    "error.network": "网络不可用，请重试",
    "tablet.title": "救援车平板", "tablet.no_job": "暂无任务", "tablet.waiting": "等待调度派单…",
    "tablet.customer": "客户", "tablet.notes": "调度备注", "tablet.eta": "预计到达（分钟）",
    "tablet.decline_reason": "拒单原因", "tablet.decline_more": "补充说明", "tablet.diagnose": "故障诊断",
    "tablet.cause": "故障原因", "tablet.cause_needed": "请填写故障原因", "tablet.parts": "更换配件",
    "tablet.add_part": "添加配件", "tablet.findings": "保修相关发现", "tablet.diagnosed": "已记录诊断",
    "tablet.resolve": "处理结果", "tablet.tow_station": "拖往站点", "tablet.complete": "完工确认",
    "tablet.signed": "客户已签字确认", "tablet.satisfaction": "客户满意度", "tablet.navigate": "导航",
    "reason.choose": "请选择…", "reason.busy": "正在服务其他客户", "reason.no_parts": "缺少所需配件",
    "reason.van_fault": "服务车故障", "reason.too_far": "距离太远 / 道路封闭", "reason.other": "其他",
    "step.accept": "接单", "step.decline": "拒单", "step.depart": "出发", "step.arrive": "到达现场",
    "step.diagnose": "记录诊断", "step.resolve": "确认处理结果", "step.complete": "完工",
    "part.no": "零件号", "part.name": "名称", "part.system": "系统", "part.qty": "数量", "part.original": "原厂件",
    "part.engine": "发动机", "part.other": "其他系统", "part.remove": "删除",
    "part.from_van": "车载备件", "stock.title": "车载备件库存", "stock.empty": "车上没有备件", "stock.qty": "库存", "stock.pick": "选用",
    "outcome.repaired_on_site": "现场修复", "outcome.towed": "拖车至服务站",
    "outbox.title": "待发送", "outbox.hint": "离线时操作会保存在本机，网络恢复后按顺序自动发送。",
    "outbox.send_now": "立即发送", "outbox.positions": "位置 ×{n}", "outbox.attempts": "已尝试 {n} 次",
    "notice.refused": "「{step}」未被接受，已从待发送中移除：{reason}",
    "notice.positions_refused": "位置上报被拒绝：{reason}",
    "notice.cancelled": "调度已取消此任务", "notice.withdrawn": "此派单已改派给其他车辆",
    "notice.expired": "派单已超时，转派其他车辆",
    "gps.title": "定位共享", "gps.waiting": "等待定位…", "gps.rate": "上报间隔（秒）", "gps.share": "共享位置",
    "gps.error": "定位失败", "gps.unavailable": "此设备不支持定位", "gps.needs_https": "定位需要 HTTPS 访问",
    "audit.title": "审计回放", "audit.search": "查找事件", "audit.station": "站点", "audit.from": "从",
    "audit.to": "到", "audit.find": "查找", "audit.reported": "报修时间", "audit.verify": "校验日志哈希链",
    "audit.export": "导出记录 (JSON)", "audit.export_history": "导出历史 (JSON)", "audit.as_of": "回放时刻",
    "audit.prev": "上一事件", "audit.next": "下一事件", "audit.latest": "最新", "audit.state": "当时状态",
    "audit.board": "当时的看板与地图", "audit.timeline": "事件时间线", "audit.decisions": "派车决策",
    "audit.claim": "保修索赔", "audit.none": "没有符合条件的事件", "audit.not_found": "没有这个事件",
    "audit.not_yet": "此时尚未登记", "audit.no_van": "无（未派车）", "audit.cancel_reason": "取消原因",
    "audit.decision_then": "当时的派车决策", "audit.no_board": "服务器不提供历史看板",
    "audit.board_summary": "{at}：未结事件 {incidents} 起，车辆 {vans} 辆（忙碌 {busy} 辆）",
    "audit.mode": "方式", "audit.chosen": "选中", "audit.reason": "原因", "audit.origin": "距离起点",
    "audit.no_candidates": "没有候选车辆", "audit.no_decision": "尚无派车决策",
    "rec.carries_parts": "备件", "audit.carries_parts": "带有配件", "audit.likely_parts": "可能需要的配件", "audit.parts_margin": "配件优先容差",
    "upkeep.title": "车辆保养到期", "upkeep.since": "上次保养后里程", "upkeep.interval": "保养间隔", "upkeep.due_in": "距到期", "upkeep.past_due": "已过保养期", "upkeep.none_due": "近期没有需要保养的车辆",
    "plan.title": "备件：ABC 分类与补货计划", "plan.abc_title": "ABC 分类（按消耗金额）", "plan.plan_title": "(T, S) 补货计划",
    "plan.faults_title": "故障统计", "plan.by_series": "按车型", "plan.by_category": "按故障类别", "plan.by_part": "按零件号",
    "plan.class": "类别", "plan.value": "消耗金额", "plan.share": "占比", "plan.on_hand": "现有库存", "plan.forecast": "预测需求",
    "plan.order_up_to": "订货上限 S", "plan.order_qty": "订货量", "plan.heldout": "留出周：预测 / 实际（误差）",
    "plan.heldout_value": "{forecast} / {actual}（MAE {mae}，均值法 {mean}）",
    "plan.no_use": "尚无从车上取用的备件", "plan.no_plan": "车上没有备件，也没有消耗", "plan.no_faults": "尚无故障记录",
    "audit.no_claim": "无索赔记录", "audit.claim_error": "无法读取索赔", "audit.claim_status": "索赔状态",
    "audit.scope": "范围", "audit.months": "使用月数", "audit.signed": "客户已签字", "audit.not_signed": "客户未签字",
    "why.injury": "有人受伤", "why.accident": "事故", "why.breakdown": "车辆故障", "why.minor_fault": "小故障",
    "why.expressway": "高速公路", "why.night": "夜间", "why.passengers": "有乘客", "why.vulnerable": "弱势人员",
    "tablet.resolved": "已记录处理结果",
    "mode.nearest": "最近车辆", "mode.override": "人工指定", "mode.reoffer": "自动转派", "mode.queue": "排队后派单",
    "mode.undefined": "—",
    "origin.position": "GPS 位置", "origin.home": "所属站点",
    "role.operator": "调度员", "role.crew": "车组", "role.auditor": "审计员", "role.admin": "管理员",
    "role.system": "系统",
    "decision.covered": "保修范围内", "decision.not_covered": "不予保修", "decision.needs_approval": "需审批",
    "decision.undefined": "—",
  },
  en: {
    ...prefixed("fault", FAULTS_EN),
    ...prefixed("status", STATUS_EN),
    ...prefixed("finding", FINDINGS_EN),
    ...prefixed("event", EVENTS_EN),
    "lang.other": "中文",
    "console.title": "Rescue console",
    "console.shortcuts": "Shortcuts",
    "feed.connecting": "connecting", "feed.live": "live", "feed.reconnecting": "reconnecting",
    "feed.refused": "token refused", "feed.closed": "closed", "feed.offline": "offline",
    "net.online": "online", "net.offline": "offline",
    "signin.operator": "Operator sign-in", "signin.crew": "Crew sign-in", "signin.auditor": "Auditor sign-in",
    "signin.token": "Access token", "signin.submit": "Sign in", "signin.signout": "Sign out",
    "signin.empty": "Enter a token", "signin.bad_token": "Token not recognised or revoked",
    "signin.offline": "Cannot reach the server", "signin.wrong_role": "This page is not for the {role} role",
    "keys.new": "New call (clears the form)", "keys.enter": "Submit the call; in recommendations, dispatch",
    "keys.dispatch": "Dispatch the nearest van", "keys.override": "Choose a van (override)",
    "keys.place": "Search a place", "keys.board": "Go to the incident board",
    "keys.map": "Go to the map (arrows pan, +/− zoom, 0 whole country)", "keys.alerts": "Go to the alerts",
    "keys.lang": "Switch language", "keys.help": "Show / hide this help",
    "intake.title": "Call intake", "intake.caller": "Caller", "intake.caller_name": "Name",
    "intake.caller_phone": "Callback number", "intake.vehicle": "Vehicle", "intake.plate": "Plate",
    "intake.model": "Model series", "intake.odometer": "Odometer (km)", "intake.sold_on": "Sale date",
    "intake.location": "Location", "intake.place_search": "Search a city",
    "intake.place_hint": "e.g. Zhengzhou / 郑州", "intake.lat": "Latitude", "intake.lon": "Longitude",
    "intake.map_hint": "or click the map", "intake.location_desc": "Location notes", "intake.fault": "Fault",
    "intake.category": "Category", "intake.fault_desc": "Fault description",
    "intake.submit": "Record and recommend (Enter)", "intake.reset": "New call (Alt+N)",
    "model.PALADIN": "PALADIN", "model.D22": "D22 pickup", "model.RICH": "RICH pickup", "model.NV200": "NV200",
    "safety.on_expressway": "On an expressway", "safety.at_night": "At night", "safety.injury": "Someone injured",
    "safety.vulnerable": "Elderly / children / pregnant", "safety.passengers": "Passengers",
    "rec.title": "Recommended vans", "rec.van": "Van", "rec.station": "Station", "rec.distance": "Distance",
    "rec.eta": "ETA", "rec.none": "No capable van free nearby: dispatching will queue the call.",
    "rec.dispatch": "Dispatch nearest", "rec.override": "Choose another van…", "rec.override_van": "Van id",
    "rec.override_reason": "Reason (required)", "rec.override_go": "Dispatch to this van",
    "rec.incident": "Incident", "rec.queued": "No van free: queued",
    "capability.tow": "needs a tow", "capability.battery": "needs a battery kit", "capability.tire": "needs a tyre kit",
    "capability.fuel": "needs fuel", "capability.lockout": "needs lockout tools", "capability.repair": "needs a repair kit",
    "map.title": "Map", "map.incident": "Incident", "map.station": "Station",
    "van.available": "available", "van.offered": "offered", "van.busy": "busy", "van.off_duty": "off duty",
    "alerts.title": "Alerts", "alerts.dismiss": "Dismiss",
    "alert.Declined": "Declined", "alert.OfferExpired": "Offer expired", "alert.ArrivalOverdue": "Late arrival",
    "alert.Queued": "Queued", "alert.Unoffered": "Waiting", "alert.Alert": "Alert",
    "alert.SosRaised": "SOS", "alert.sos_text": "{van} pressed SOS",
    "alert.queued_text": "no capable van free", "alert.unoffered_text": "not offered 5 minutes after the call",
    "board.title": "Open incidents", "board.priority": "P", "board.status": "Status", "board.fault": "Fault",
    "board.place": "Place", "board.van": "Van", "board.since_report": "Since call", "board.offer": "Offer / arrival",
    "board.unoffered": "not offered", "board.offer_left": "offer ends in", "board.eta_in": "due in",
    "board.late": "late by", "board.on_scene_for": "on scene for",
    "detail.title": "Incident", "detail.id": "Incident id", "detail.vehicle": "Vehicle", "detail.caller": "Caller",
    "detail.cancel": "Cancel incident", "detail.cancel_reason": "Reason to cancel",
    "vans.title": "Vans", "vans.filter": "van / station / status", "vans.home": "at station",
    "error.network": "Network unavailable, try again",
    "tablet.title": "Rescue tablet", "tablet.no_job": "No job", "tablet.waiting": "Waiting for an offer…",
    "tablet.customer": "Customer", "tablet.notes": "Operator notes", "tablet.eta": "ETA (minutes)",
    "tablet.decline_reason": "Reason to decline", "tablet.decline_more": "Details", "tablet.diagnose": "Diagnosis",
    "tablet.cause": "Cause", "tablet.cause_needed": "Describe the cause", "tablet.parts": "Parts replaced",
    "tablet.add_part": "Add a part", "tablet.findings": "Warranty findings", "tablet.diagnosed": "Diagnosis recorded",
    "tablet.resolve": "Outcome", "tablet.tow_station": "Tow to station", "tablet.complete": "Sign-off",
    "tablet.signed": "Customer signed", "tablet.satisfaction": "Customer satisfaction", "tablet.navigate": "Navigate",
    "reason.choose": "Choose…", "reason.busy": "Busy with another customer", "reason.no_parts": "No parts for this fault",
    "reason.van_fault": "Service van fault", "reason.too_far": "Too far / road closed", "reason.other": "Other",
    "step.accept": "Accept", "step.decline": "Decline", "step.depart": "Depart", "step.arrive": "Arrived",
    "step.diagnose": "Record diagnosis", "step.resolve": "Record outcome", "step.complete": "Complete",
    "part.no": "Part no.", "part.name": "Name", "part.system": "System", "part.qty": "Qty", "part.original": "Original",
    "part.engine": "Engine", "part.other": "Other system", "part.remove": "Remove",
    "part.from_van": "From van", "stock.title": "Parts on this van", "stock.empty": "No parts on this van", "stock.qty": "On hand", "stock.pick": "Use",
    "outcome.repaired_on_site": "Repaired on site", "outcome.towed": "Towed to a station",
    "outbox.title": "Waiting to send", "outbox.hint": "Offline, steps are kept on this tablet and sent in order when the network is back.",
    "outbox.send_now": "Send now", "outbox.positions": "positions ×{n}", "outbox.attempts": "{n} attempts",
    "notice.refused": "“{step}” was refused and removed from the queue: {reason}",
    "notice.positions_refused": "Positions refused: {reason}",
    "notice.cancelled": "The operator cancelled this job", "notice.withdrawn": "This offer went to another van",
    "notice.expired": "The offer expired and went to another van",
    "gps.title": "Location sharing", "gps.waiting": "Waiting for GPS…", "gps.rate": "Send every (s)",
    "gps.share": "Share location", "gps.error": "GPS error", "gps.unavailable": "No GPS on this device",
    "gps.needs_https": "GPS needs the page over HTTPS",
    "audit.title": "Audit replay", "audit.search": "Find incidents", "audit.station": "Station", "audit.from": "From",
    "audit.to": "To", "audit.find": "Find", "audit.reported": "Reported", "audit.verify": "Verify the log's hash chain",
    "audit.export": "Export record (JSON)", "audit.export_history": "Export history (JSON)", "audit.as_of": "As of",
    "audit.prev": "Previous event", "audit.next": "Next event", "audit.latest": "Latest", "audit.state": "State then",
    "audit.board": "Board and map then", "audit.timeline": "Timeline", "audit.decisions": "Dispatch decisions",
    "audit.claim": "Warranty claim", "audit.none": "No incident matches", "audit.not_found": "No such incident",
    "audit.not_yet": "Not reported yet at this moment", "audit.no_van": "none (not dispatched)",
    "audit.cancel_reason": "Cancel reason", "audit.decision_then": "Dispatch decision then",
    "audit.no_board": "This server has no past board",
    "audit.board_summary": "{at}: {incidents} open incidents, {vans} vans ({busy} busy)",
    "audit.mode": "Mode", "audit.chosen": "chosen", "audit.reason": "reason", "audit.origin": "Measured from",
    "audit.no_candidates": "No candidates", "audit.no_decision": "No dispatch decision yet",
    "rec.carries_parts": "Parts", "audit.carries_parts": "Carries parts", "audit.likely_parts": "Likely parts", "audit.parts_margin": "Parts margin",
    "upkeep.title": "Vans due for service", "upkeep.since": "Since service", "upkeep.interval": "Interval", "upkeep.due_in": "Due in", "upkeep.past_due": "Past due", "upkeep.none_due": "No van due for service soon",
    "plan.title": "Spare parts: ABC classes and replenishment", "plan.abc_title": "ABC classes by consumption value", "plan.plan_title": "(T, S) replenishment plan",
    "plan.faults_title": "Fault statistics", "plan.by_series": "by model series", "plan.by_category": "by fault category", "plan.by_part": "by part number",
    "plan.class": "Class", "plan.value": "Value", "plan.share": "Share", "plan.on_hand": "On hand", "plan.forecast": "Forecast",
    "plan.order_up_to": "Order up to S", "plan.order_qty": "Order", "plan.heldout": "Held-out week: forecast / actual (error)",
    "plan.heldout_value": "{forecast} / {actual} (MAE {mae}, mean {mean})",
    "plan.no_use": "No parts fitted from vans yet", "plan.no_plan": "No parts on the vans and none used", "plan.no_faults": "No faults recorded yet",
    "audit.no_claim": "No claim recorded", "audit.claim_error": "Cannot read the claim", "audit.claim_status": "claim status",
    "audit.scope": "scope", "audit.months": "months in service", "audit.signed": "customer signed",
    "audit.not_signed": "not signed",
    "why.injury": "injury", "why.accident": "accident", "why.breakdown": "breakdown",
    "why.minor_fault": "minor fault", "why.expressway": "expressway", "why.night": "night",
    "why.passengers": "passengers", "why.vulnerable": "vulnerable people",
    "tablet.resolved": "Outcome recorded",
    "mode.nearest": "nearest", "mode.override": "operator's choice", "mode.reoffer": "automatic re-offer",
    "mode.queue": "from the queue", "mode.undefined": "—",
    "origin.position": "GPS fix", "origin.home": "home station",
    "role.operator": "operator", "role.crew": "crew", "role.auditor": "auditor", "role.admin": "admin",
    "role.system": "system",
    "decision.covered": "covered", "decision.not_covered": "not covered", "decision.needs_approval": "needs approval",
    "decision.undefined": "—",
  },
};

const missing = new Set();
window.rescueMissingWords = missing;
const listeners = [];
let lang = "zh";

export function getLang() {
  return lang;
}

export function t(key, params = {}) {
  let text = DICT[lang][key];
  if (text === undefined) {
    missing.add(`${lang}:${key}`);
    text = DICT.en[key] ?? key;
  }
  return text.replace(/\{(\w+)\}/g, (_, name) => (params[name] === undefined ? `{${name}}` : String(params[name])));
}

export function translate(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of root.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
  for (const node of root.querySelectorAll("[data-lang-switch]")) node.textContent = t("lang.other");
}

// Priority reason codes of rescue.priority, in words.
export function reasons(codes) {
  return (codes || []).map((code) => t(`why.${code}`)).join(", ");
}

export function setLang(value) {
  lang = value in DICT ? value : "zh";
  localStorage.setItem(STORAGE_KEY, lang);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  translate();
  for (const listener of listeners) listener(lang);
}

export function toggleLang() {
  setLang(lang === "zh" ? "en" : "zh");
}

export function onLangChange(listener) {
  listeners.push(listener);
}

// Applies the remembered language (default Chinese) and wires the switch buttons.
export function initLang() {
  const stored = localStorage.getItem(STORAGE_KEY);
  setLang(stored === "en" ? "en" : "zh");
  for (const button of document.querySelectorAll("[data-lang-switch]")) {
    button.addEventListener("click", toggleLang);
  }
}

// Words of a module of its own (e.g. the conversations), added when it loads: { zh: {...}, en: {...} }.
export function addWords(words) {
  for (const [language, table] of Object.entries(words)) Object.assign(DICT[language] ?? {}, table);
}
