// 办件详情: the decision and its reasons, what is asked of me, where the case is on its
// process diagram (bpmn-js NavigatedViewer, the current step marked: GET …/diagram), the
// steps and the history in plain words.
import { actions } from "./portal-actions.js";
import { date, dateTime, put, deadline, departmentName, matterName, matterNames, reasonList, resultTable, statusBadge } from "./portal-common.js";

const { api, el } = OneWindow;

// The events an applicant's history shows (the rest are the staff's and the engine's own);
// each in the API's words (its ``label``, engine/events.py).
const SHOWN = new Set(["application.submitted", "application.decided", "task.created", "task.claimed",
  "task.released", "task.delegated", "task.completed", "task.first_approval", "task.sent_back", "clock.paused",
  "clock.resumed", "materials.fetched", "credit.checked", "credit.fast_lane", "incident.opened", "rating",
  "application.withdrawn", "bundle.member_started", "bundle.member_answered", "personal_data.viewed"]);

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
    return title && OF_STEP[e.kind] ? OF_STEP[e.kind](title) : e.label;
  };
  const rows = (detail.history || []).filter((e) => SHOWN.has(e.kind) && e.label).map((e) => el("li", {},
    el("span", { class: "muted" }, dateTime(e.at)), " ", words(e)));
  document.getElementById("history").replaceChildren(...rows);
}

let viewer;

async function diagram(where, detail) {
  viewer = viewer || new BpmnJS({ container: "#diagram" });
  await viewer.importXML(where.bpmn);  // its lanes named for people (engine/whereabouts.py)
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
