// 办件详情: the decision and its reasons, what is asked of me, where the case is on its
// process diagram (bpmn-js NavigatedViewer, the current step marked: GET …/diagram), the
// steps and the history in plain words.
import { actions } from "./portal-actions.js";
import { date, dateTime, put, deadline, departmentName, matterName, matterNames, reasonList, resultTable, statusBadge } from "./portal-common.js";

const { api, el } = OneWindow;

const HAPPENED = {
  "application.submitted": "提交申请",
  "application.decided": "作出办理决定",
  "task.created": "进入办理环节",
  "task.claimed": "工作人员开始办理",
  "task.released": "转回部门待办",
  "task.delegated": "转交其他工作人员办理",
  "task.completed": "完成一个办理环节",
  "task.first_approval": "第一位审批人已同意，待第二位审批",
  "task.sent_back": "退回上一环节重新办理",
  "clock.paused": "暂停计时",
  "clock.resumed": "恢复计时",
  "materials.fetched": "从电子证照库调取材料（免提交）",
  "credit.checked": "查询信用信息",
  "credit.fast_lane": "信用良好，进入快速通道",
  "incident.opened": "转人工处理",
  "rating": "已评价",
  "application.withdrawn": "已撤回",
  "bundle.member_started": "一件事中的事项开始办理",
  "bundle.member_answered": "一件事中的事项已办结",
  "personal_data.viewed": "工作人员查看了完整个人信息（见“谁查看了我的信息”）",
};

export const showApplication = (reference) => OneWindow.page(() => show(reference));

async function show(reference) {
  const path = `/api/applications/${encodeURIComponent(reference)}`;
  const [detail, names, where] = await Promise.all([api(path), matterNames(), api(`${path}/diagram`)]);
  const name = matterName(detail, names);
  document.getElementById("content").hidden = false;  // someone else's or no such application: only the message
  document.title = `${name} · 办件详情 · 一网通办`;
  document.getElementById("matter-name").textContent = name;
  put(document.getElementById("summary"),
    el("p", { class: "line" }, statusBadge(detail), " ", deadline(detail)),
    el("dl", { class: "facts" },
      el("dt", {}, "办理部门"), el("dd", {}, departmentName(detail, names)),
      el("dt", {}, "办件编号"), el("dd", {}, detail.tracking_no),
      el("dt", {}, "申请时间"), el("dd", {}, dateTime(detail.created_at)),
      detail.completed_at ? [el("dt", {}, "办结时间"), el("dd", {}, dateTime(detail.completed_at))] : null),
    detail.notice ? el("p", {}, detail.notice) : null);
  decision(detail);
  const todo = actions(detail, () => show(reference));
  document.getElementById("actions").hidden = !todo;
  document.getElementById("actions").replaceChildren(...(todo ? [todo] : []));
  steps(detail);
  history(detail);
  await diagram(where, detail);
}

function decision(detail) {
  const reasons = reasonList(detail);
  const result = resultTable(detail);
  const decided = detail.outcome || detail.status === "completed";
  document.getElementById("decision").hidden = !(decided || reasons || result);
  put(document.getElementById("decision-body"),
    detail.outcome ? el("p", { class: detail.outcome === "reject" ? "bad" : "good" },
      detail.outcome === "reject" ? "不予批准" : detail.outcome === "approve" ? "准予（已批准）" : "") : null,
    result,
    reasons ? [el("h3", {}, "理由"), reasons] : null);
}

function steps(detail) {
  const list = (detail.steps || []).map((s) => el("li", { "data-status": s.status },
    el("strong", {}, s.title), ` ${s.status_label}`,
    s.completed_at ? el("span", { class: "muted" }, ` ${dateTime(s.completed_at)}`) : null));
  document.getElementById("steps").replaceChildren(
    ...(list.length ? list : [el("li", { class: "muted" }, "全程由系统自动办理，无需人工环节")]));
}

// A step's events name it by its task: the title comes from when the task was created.
const OF_STEP = { "task.created": (t) => `进入“${t}”`, "task.claimed": (t) => `工作人员开始办理“${t}”`,
                  "task.completed": (t) => `“${t}”已完成`, "task.sent_back": (t) => `“${t}”退回重新办理` };

function history(detail) {
  const titles = {};
  for (const e of detail.history || []) {
    if (e.kind === "task.created" && e.data && e.data.title) titles[e.data.task] = e.data.title;
  }
  const words = (e) => {
    const title = e.data && titles[e.data.task];
    return title && OF_STEP[e.kind] ? OF_STEP[e.kind](title) : HAPPENED[e.kind];
  };
  const rows = (detail.history || []).filter((e) => HAPPENED[e.kind]).map((e) => el("li", {},
    el("span", { class: "muted" }, dateTime(e.at)), " ", words(e)));
  document.getElementById("history").replaceChildren(...rows);
}

let viewer;

// The process files name their lanes by department code ("civil_affairs"): on the applicant's
// diagram each lane says who it is, in words.
const BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL";
const LANES = { applicant: "申请人", system: "系统自动办理", department: "承办部门" };

async function namedLanes(xml) {
  const departments = await api("/api/departments");
  const words = { ...LANES, ...Object.fromEntries(departments.map((d) => [d.code, d.name])) };
  const doc = new DOMParser().parseFromString(xml, "application/xml");
  if (doc.getElementsByTagName("parsererror").length) return xml;
  for (const lane of doc.getElementsByTagNameNS(BPMN, "lane")) {
    const name = lane.getAttribute("name");
    if (name && Object.hasOwn(words, name)) lane.setAttribute("name", words[name]);
  }
  return new XMLSerializer().serializeToString(doc);
}

async function diagram(where, detail) {
  viewer = viewer || new BpmnJS({ container: "#diagram" });
  await viewer.importXML(await namedLanes(where.bpmn));
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  canvas.zoom("fit-viewport");
  for (const id of where.done) if (registry.get(id)) canvas.addMarker(id, "done-marker");
  const now = where.current.filter((id) => registry.get(id));
  for (const id of now) canvas.addMarker(id, "current-marker");
  const titles = now.map((id) => registry.get(id).businessObject.name || id);
  if (now.length && canvas.zoom() < 0.6) {  // a phone: the current step at a readable size, the rest a pan away
    const shape = registry.get(now[0]);
    canvas.zoom(0.8);
    const { width, height } = canvas.viewbox();
    canvas.viewbox({ x: shape.x + shape.width / 2 - width / 2, y: shape.y + shape.height / 2 - height / 2, width, height });
  }
  document.getElementById("where").textContent = titles.length ? `当前环节：${titles.join("、")}`
    : detail.status === "completed" ? "已办结" : "系统处理中";
  document.body.dataset.current = now.join(" ");
}
